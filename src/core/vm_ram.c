/*
 * Guest RAM: buddy blocks mapped back to back from the VM's RAM base, zeroed
 * on first touch.
 *
 * A VM's RAM may have belonged to another VM, so no guest may see it before
 * it is zeroed. Zeroing all of it before the VM starts made the start (and
 * every restart) cost time in proportion to the VM's size: 512 MiB took 66 M
 * instructions, a second of wall-clock on QEMU, most of it for memory the
 * guest would not touch for a long time, if ever. So RAM is zeroed and
 * mapped in Stage-2 one 2 MiB block at a time, when something first needs
 * that block:
 *  - the guest: a Stage-2 translation fault in RAM (vm_ram_fault(), from the
 *    arch's abort and guest-page-fault handlers) zeroes and maps the block,
 *    and the access is retried;
 *  - Keel: every host address Keel derives from a guest address comes from
 *    vm_ipa_span() or vm_ipa_to_hva(), which do the same for the blocks
 *    they return (loading images, virtqueues, console calls).
 * A bit per block (ram_ready) says which blocks are done; it is set, under
 * ram_lock, only after the zeroes and the mapping are visible, and read
 * without the lock. Identity-mapped VMs (keel,identity) are the exception:
 * their devices may DMA into RAM the CPU never touched, where a later
 * first-touch zeroing would wipe the data, so they are zeroed and mapped
 * whole at build, as before.
 */
#include <keel/arch.h>
#include <keel/buddy.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

#define RAM_BLOCK_SHIFT 21 /* 2 MiB: a Stage-2 block on both architectures */
#define RAM_BLOCK_SIZE (1UL << RAM_BLOCK_SHIFT)

static u64 *ready_word(struct vm *vm, u64 block)
{
    return &vm->ram_ready[block / 64];
}

static bool block_ready(struct vm *vm, u64 block)
{
    return __atomic_load_n(ready_word(vm, block), __ATOMIC_ACQUIRE) & BIT(block % 64);
}

/* The host address of RAM offset @off (inside RAM) and the bytes to the end of its chunk. */
static void *chunk_span(struct vm *vm, u64 off, u64 *avail)
{
    for (unsigned int i = 0; i < vm->nr_chunks; i++) {
        if (off < vm->chunks[i].size) {
            *avail = vm->chunks[i].size - off;
            return (void *)(pa_addr(vm->chunks[i].base) + off);
        }
        off -= vm->chunks[i].size;
    }
    return NULL;
}

static void zero_clean(u8 *p, u64 n)
{
    if (n) {
        memset(p, 0, n);
        arch_clean_dcache_range((u64)p, n);
    }
}

/*
 * Zeroes block @block but for [@keep, @keep + @keep_len) (RAM offsets, an
 * image about to be copied there: see vm_copy_to_guest()) and maps it.
 * The zeroes are cleaned to the point of coherency: a guest with its MMU
 * off reads memory, not Keel's cache lines. ram_lock held.
 */
static int block_fill(struct vm *vm, u64 block, u64 keep, u64 keep_len)
{
    u64 off = block << RAM_BLOCK_SHIFT, avail = 0;
    u8 *p = chunk_span(vm, off, &avail);
    u64 head = keep > off ? MIN(keep - off, RAM_BLOCK_SIZE) : 0;
    u64 tail_from = MAX(MIN(keep + keep_len - off, RAM_BLOCK_SIZE), head);

    if (vm->cfg.mem_tagging) /* the image's part too: its copy writes data, not tags */
        arch_zero_tags(p, RAM_BLOCK_SIZE);
    if (!keep_len) {
        arch_zero_memory(p, RAM_BLOCK_SIZE);
        arch_clean_dcache_range((u64)p, RAM_BLOCK_SIZE);
    } else {
        zero_clean(p, head);
        zero_clean(p + tail_from, RAM_BLOCK_SIZE - tail_from);
    }
    if (arch_s2_map(vm, ipa_init(vm->cfg.ram_ipa + off), pa_init((u64)p), RAM_BLOCK_SIZE,
                    S2_KIND_RAM))
        return -1;
    arch_s2_sync_mapped(vm);
    vm->ram_blocks_filled++;
    __atomic_store_n(ready_word(vm, block), *ready_word(vm, block) | BIT(block % 64),
                     __ATOMIC_RELEASE);
    return 0;
}

/*
 * Makes the block holding RAM offset @off ready (@keep_len: see
 * block_fill()); -1 if Stage-2 ran out of memory.
 */
static int block_populate(struct vm *vm, u64 off, u64 keep, u64 keep_len)
{
    u64 block = off >> RAM_BLOCK_SHIFT;
    int err = 0;

    if (likely(block_ready(vm, block)))
        return 0;
    spin_lock(&vm->ram_lock);
    if (!block_ready(vm, block))
        err = block_fill(vm, block, keep, keep_len);
    spin_unlock(&vm->ram_lock);
    if (err)
        ERROR("vm %s: no memory for the Stage-2 tables of IPA %#lx", vm->cfg.name,
              vm->cfg.ram_ipa + (block << RAM_BLOCK_SHIFT));
    return err;
}

bool vm_ram_fault(struct vm *vm, ipaddr_t ipa)
{
    u64 off = ipa_addr(ipa) - vm->cfg.ram_ipa;

    if (ipa_addr(ipa) < vm->cfg.ram_ipa || off >= vm->cfg.mem_size)
        return false;
    if (block_populate(vm, off, 0, 0)) {
        vm_stop(vm, VM_CRASHED);
        return true;
    }
    /* filled by another CPU, or just now: this CPU may hold the old invalid entry */
    arch_s2_sync_mapped(vm);
    return true;
}

void *vm_ipa_span(struct vm *vm, u64 ipa, u64 *avail)
{
    u64 off = ipa - vm->cfg.ram_ipa;
    void *p;

    if (ipa < vm->cfg.ram_ipa || off >= vm->cfg.mem_size || block_populate(vm, off, 0, 0))
        return NULL;
    p = chunk_span(vm, off, avail);
    /* only up to the end of this block: the next one may not be zeroed yet */
    *avail = MIN(*avail, RAM_BLOCK_SIZE - (off & (RAM_BLOCK_SIZE - 1)));
    return p;
}

void *vm_ipa_to_hva(struct vm *vm, ipaddr_t ipa, u64 size)
{
    u64 avail;
    void *p = vm_ipa_span(vm, ipa_addr(ipa), &avail);

    return p && size <= avail ? p : NULL;
}

/*
 * Only while the VM is built (no vCPU runs): a block the copy fills is
 * zeroed only where the copy does not write, and marked ready before the
 * copy is done. A 2 MiB span at a time, one lookup each.
 */
int vm_copy_to_guest(struct vm *vm, ipaddr_t ipa, const void *src, u64 len)
{
    u64 off = ipa_addr(ipa) - vm->cfg.ram_ipa;

    if (!vm_ipa_range_is_ram(vm, ipa_addr(ipa), len))
        return -1;
    while (len) {
        u64 avail = 0;
        u8 *dst;
        if (block_populate(vm, off, off, len))
            return -1;
        dst = chunk_span(vm, off, &avail);
        avail = MIN(MIN(avail, len), RAM_BLOCK_SIZE - (off & (RAM_BLOCK_SIZE - 1)));
        memcpy(dst, src, avail);
        /* the guest starts with its MMU and caches off: push the bytes to memory */
        arch_clean_dcache_range((u64)dst, avail);
        off += avail;
        src = (const u8 *)src + avail;
        len -= avail;
    }
    return 0;
}

void vm_ram_free(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->nr_chunks; i++)
        page_free((void *)pa_addr(vm->chunks[i].base));
    vm->nr_chunks = 0;
    vm->ram_blocks_filled = 0;
    if (vm->ram_ready)
        memset(vm->ram_ready, 0, vm_ram_ready_bytes(vm));
}

/*
 * Identity-mapped RAM must be physically contiguous: one buddy block, of
 * which the VM gets the first mem_size bytes (the rest idles until the VM
 * is destroyed). Zeroed and mapped whole: see the header comment.
 */
static int ram_alloc_identity(struct vm *vm)
{
    unsigned int order = MAX(order_for_size(vm->cfg.mem_size), 9U);
    void *p = order <= BUDDY_MAX_ORDER ? page_alloc(order) : NULL;

    if (!p)
        return -1;
    arch_zero_memory(p, vm->cfg.mem_size);
    if (vm->cfg.mem_tagging)
        arch_zero_tags(p, vm->cfg.mem_size);
    vm->chunks[vm->nr_chunks++] = (struct mem_range){ pa_init((u64)p), vm->cfg.mem_size };
    vm->cfg.ram_ipa = (u64)p;
    memset(vm->ram_ready, 0xff, vm_ram_ready_bytes(vm));
    vm->ram_blocks_filled = vm->cfg.mem_size >> RAM_BLOCK_SHIFT;
    return arch_s2_map(vm, ipa_init((u64)p), pa_init((u64)p), vm->cfg.mem_size, S2_KIND_RAM);
}

/*
 * Guest RAM in as few naturally aligned buddy blocks as possible, each at
 * least 2 MiB, so a RAM block never straddles two of them. Nothing is
 * zeroed or mapped here (but identity RAM).
 */
int vm_ram_alloc(struct vm *vm)
{
    u64 left = vm->cfg.mem_size;

    if (!vm->ram_ready) {
        vm->ram_ready = obj_alloc(vm_ram_ready_bytes(vm));
        if (!vm->ram_ready)
            return -1;
        memset(vm->ram_ready, 0, vm_ram_ready_bytes(vm));
        vm->ram_lock = (spinlock_t)SPINLOCK_INIT;
    }
    if (page_free_count() < (vm->cfg.mem_size >> PAGE_SHIFT))
        return -1; /* fail before taking blocks we cannot use */
    if (vm->cfg.identity)
        return ram_alloc_identity(vm);
    while (left) {
        unsigned int order = BUDDY_MAX_ORDER;
        void *p = NULL;
        while ((PAGE_SIZE << order) > left)
            order--;
        for (; order >= 9 && !(p = page_alloc(order)); order--)
            ;
        if (!p || vm->nr_chunks == VM_MAX_CHUNKS) {
            if (p)
                page_free(p);
            vm_ram_free(vm);
            return -1;
        }
        vm->chunks[vm->nr_chunks++] = (struct mem_range){ pa_init((u64)p), PAGE_SIZE << order };
        left -= PAGE_SIZE << order;
    }
    return 0;
}

void vm_ram_destroy(struct vm *vm)
{
    vm_ram_free(vm);
    obj_free(vm->ram_ready);
    vm->ram_ready = NULL;
}
