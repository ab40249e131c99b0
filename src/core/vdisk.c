/*
 * RAM disks (keel,disk modules): each VM gets, per module, a virtio-blk
 * device (vdev/virtio_blk.c) behind a virtio-mmio transport
 * (vdev/virtio_mmio.c) in one of the slots QEMU's virt board has
 * (GUEST_VIRTIO_*, arch/guest_layout.h), over a private copy of the image
 * made at every (re)build, so the guest's writes last until the VM is
 * powered off or restarted and never reach the pristine module.
 *
 * Disks take the highest free slots first, as QEMU fills its transports
 * (the first disk at 0x0a003e00 on Arm, 0x10008000 on RISC-V). A slot a
 * passed-through device occupies is skipped, so a host virtio disk and RAM
 * disks can share a VM. A VM with at least one disk gets the whole slot
 * window as one MMIO region: empty slots read DeviceID 0, as on QEMU. A VM
 * without disks has no window, so accesses there abort as before.
 *
 * The configuration and the guest DT nodes are in core/vdisk_config.c.
 *
 * Locking: a lock per transport (the empty slots share one) serialises
 * every call into it, as keel/virtio_mmio.h asks; the interrupt line is set
 * under it (transport lock, then the virqchip's). Nothing is logged under
 * it: a broken queue is noted and logged after the unlock.
 */
#include <keel/buddy.h>
#include <keel/console.h>
#include <keel/hdisk.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/printf.h>
#include <keel/string.h>
#include <keel/virtio_blk.h>
#include <keel/virtio_mmio.h>
#include <keel/vm.h>

#define VDISK_WINDOW (GUEST_VIRTIO_STRIDE * GUEST_VIRTIO_COUNT)

struct vdisk {
    struct virtio_mmio t;
    struct virtio_blk blk;
    struct virtio_blk_ram ram;
    struct hdisk_slice slice; /* a keel,disk-slice's backing (keel/hdisk.h) */
    spinlock_t lock;
    struct vm *vm;
    unsigned int index, slot;
    void *copy;          /* this boot's image, page_alloc'd; NULL between builds */
    unsigned int order;
    int err;             /* a queue broke inside a call: logged after the unlock */
    unsigned int err_queue;
    char id[VIRTIO_BLK_ID_BYTES + 1];
};

struct vm_virtio {
    struct virtq_mem mem;
    struct virtio_mmio empty; /* every slot without a disk: stateless, but calls are serialised */
    spinlock_t empty_lock;
    struct vdisk *disk[VM_MAX_DISKS];
    unsigned int nr;
    bool window;              /* the MMIO region is in vm->mmio (it stays across rebuilds) */
};

static u64 slot_base(unsigned int slot)
{
    return GUEST_VIRTIO_BASE + slot * GUEST_VIRTIO_STRIDE;
}
/* ---- guest memory for the queues: the VM's RAM chunks ---- */

static bool vdisk_mem_check(void *ctx, u64 gpa, u64 len)
{
    u64 avail;

    while (vm_ipa_span(ctx, gpa, &avail)) {
        if (avail >= len)
            return true;
        gpa += avail; /* the next chunk: gpa + len < 2^64, so no wrap */
        len -= avail;
    }
    return false;
}

/*
 * Ring indices and flags: one load or store of their size (virtq_mem's
 * rule; memcpy would go bytewise on an unaligned @buf). Chunks are 2 MiB
 * aligned in the IPA space, so an aligned 2- or 4-byte field never
 * straddles two.
 */
static bool vdisk_mem_single(struct vm *vm, u64 gpa, void *buf, size_t len, bool write)
{
    u64 avail;
    void *p = vm_ipa_span(vm, gpa, &avail);
    u32 v = 0;

    if (!p || avail < len)
        return false;
    if (write) {
        memcpy(&v, buf, len);
        if (len == 2)
            __atomic_store_n((u16 *)p, (u16)v, __ATOMIC_RELAXED);
        else
            __atomic_store_n((u32 *)p, v, __ATOMIC_RELAXED);
    } else {
        v = len == 2 ? __atomic_load_n((u16 *)p, __ATOMIC_RELAXED)
                     : __atomic_load_n((u32 *)p, __ATOMIC_RELAXED);
        memcpy(buf, &v, len);
    }
    return true;
}

static bool vdisk_mem_copy(void *ctx, u64 gpa, void *buf, size_t len, bool write)
{
    u8 *b = buf;
    u64 avail;

    if ((len == 2 || len == 4) && IS_ALIGNED(gpa, len))
        return vdisk_mem_single(ctx, gpa, buf, len, write);
    while (len) {
        void *p = vm_ipa_span(ctx, gpa, &avail);
        size_t n = MIN(len, avail);
        if (!p)
            return false;
        write ? memcpy(p, b, n) : memcpy(b, p, n);
        gpa += n;
        b += n;
        len -= n;
    }
    return true;
}

static bool vdisk_mem_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    return vdisk_mem_copy(ctx, gpa, buf, len, false);
}

static bool vdisk_mem_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    return vdisk_mem_copy(ctx, gpa, (void *)buf, len, true);
}

/* ---- the transports ---- */

static void vdisk_irq(void *ctx, bool level)
{
    struct vdisk *d = ctx;

    d->vm->virq->set_level(d->vm, GUEST_VIRTIO_LINE(d->slot), level);
}

static void vdisk_error(void *ctx, unsigned int queue, int err)
{
    struct vdisk *d = ctx;

    d->err = err;
    d->err_queue = queue;
}

static struct vdisk *vdisk_in_slot(struct vm_virtio *v, unsigned int slot)
{
    for (unsigned int i = 0; i < v->nr; i++)
        if (v->disk[i]->slot == slot)
            return v->disk[i];
    return NULL;
}

static void vdisk_report(struct vdisk *d, int err, unsigned int queue)
{
    VM_WARN(d->vm, "vm %s: virtio-blk %u (slot %u at %#lx): queue %u broken (%s); the device "
            "needs a reset", d->vm->cfg.name, d->index, d->slot, slot_base(d->slot), queue,
            virtq_strerror(err));
}

/* The whole window: the slot picks the transport, the offset in it the register. */
static int vdisk_access(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val, bool write)
{
    struct vm_virtio *v = vcpu->vm->virtio;
    struct vdisk *d = vdisk_in_slot(v, (unsigned int)(off / GUEST_VIRTIO_STRIDE));
    struct virtio_mmio *t = d ? &d->t : &v->empty;
    spinlock_t *lock = d ? &d->lock : &v->empty_lock;
    u64 reg = off % GUEST_VIRTIO_STRIDE;
    int ret, err = 0;

    spin_lock(lock);
    ret = write ? virtio_mmio_write(t, reg, size, *val) : virtio_mmio_read(t, reg, size, val);
    if (d) {
        err = d->err;
        d->err = 0;
    }
    spin_unlock(lock);
    if (err)
        vdisk_report(d, err, d->err_queue);
    return ret;
}

static int vdisk_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val)
{
    return vdisk_access(vcpu, off, size, val, false);
}

static int vdisk_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    return vdisk_access(vcpu, off, size, &val, true);
}

/* ---- lifetime ---- */

static int vdisk_create_one(struct vm *vm, unsigned int i)
{
    const struct vm_disk_cfg *c = &vm->cfg.disks[i];
    struct vdisk *d = obj_alloc(sizeof(*d));
    struct virtio_blk_backing b;

    if (!d)
        return -1;
    vm->virtio->disk[vm->virtio->nr++] = d;
    d->vm = vm;
    d->index = i;
    d->slot = c->slot;
    d->lock = (spinlock_t)SPINLOCK_INIT;
    snprintf(d->id, sizeof(d->id), "keel-disk%u", i);
    if (c->slice)
        hdisk_slice_backing(&b, &d->slice, c, d->id);
    else /* the image copy comes at each build (vdisk_build sets ram.base) */
        virtio_blk_ram_backing(&b, &d->ram, NULL, c->image.size, c->read_only, d->id);
    if (virtio_blk_init(&d->blk, &b))
        return -1;
    return virtio_mmio_init(&d->t, &virtio_blk_ops, &d->blk, &vm->virtio->mem, vdisk_irq,
                            vdisk_error, d);
}

int vdisk_create(struct vm *vm)
{
    struct vm_virtio *v;

    if (!vm->cfg.nr_disks)
        return 0;
    v = vm->virtio = obj_alloc(sizeof(*v));
    if (!v)
        return -1;
    v->mem = (struct virtq_mem){ vdisk_mem_check, vdisk_mem_read, vdisk_mem_write, vm };
    v->empty_lock = (spinlock_t)SPINLOCK_INIT;
    virtio_mmio_init(&v->empty, NULL, NULL, &v->mem, NULL, NULL, NULL);
    for (unsigned int i = 0; i < vm->cfg.nr_disks; i++)
        if (vdisk_create_one(vm, i)) {
            ERROR("vm %s: cannot set up its disk %u", vm->cfg.name, i);
            return -1;
        }
    return 0;
}

/*
 * Every build: a fresh copy of each pristine image, the transports reset
 * (the virqchip's reset_vm drops their lines). After vm_map_passthrough,
 * so forwarded slots precede the window in vm->mmio and win the lookup.
 */
int vdisk_build(struct vm *vm)
{
    struct vm_virtio *v = vm->virtio;

    if (!v)
        return 0;
    if (!v->window) {
        if (vm->nr_mmio == VM_MAX_MMIO)
            return -1;
        vm_add_mmio(vm, GUEST_VIRTIO_BASE, VDISK_WINDOW, vdisk_read, vdisk_write);
        v->window = true;
    }
    for (unsigned int i = 0; i < v->nr; i++) {
        struct vdisk *d = v->disk[i];
        const struct mem_range *img = &vm->cfg.disks[i].image;
        if (!vm->cfg.disks[i].slice) { /* a slice is the host disk's sectors: nothing to copy */
            d->order = order_for_size(img->size);
            d->copy = page_alloc(d->order);
            if (!d->copy) {
                ERROR("vm %s: not enough free memory for a copy of its disk %u (%lu KiB)",
                      vm->cfg.name, i, img->size >> 10);
                return -1;
            }
            memcpy(d->copy, (const void *)pa_addr(img->base), img->size);
        }
        spin_lock(&d->lock);
        d->ram.base = d->copy;
        virtio_mmio_reset(&d->t);
        d->err = 0;
        spin_unlock(&d->lock);
    }
    return 0;
}

void vdisk_free_images(struct vm *vm)
{
    for (unsigned int i = 0; vm->virtio && i < vm->virtio->nr; i++) {
        struct vdisk *d = vm->virtio->disk[i];
        if (d->copy)
            page_free(d->copy);
        d->copy = NULL;
        d->ram.base = NULL;
    }
}

void vdisk_destroy(struct vm *vm)
{
    for (unsigned int i = 0; vm->virtio && i < vm->virtio->nr; i++)
        obj_free(vm->virtio->disk[i]);
    obj_free(vm->virtio);
    vm->virtio = NULL;
}

/* ---- shell ---- */

static u64 stat_load(const u64 *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED); /* counters move under the disk's lock */
}

/* What a disk is over: "ram", or "host <first>-<last>" (sectors of the host disk). */
static void vdisk_backing_name(const struct vm_disk_cfg *c, char *buf, size_t size)
{
    if (c->slice)
        snprintf(buf, size, "host %lu-%lu", c->first, c->first + c->sectors - 1);
    else
        snprintf(buf, size, "ram");
}

/* The shell's `dev`: lock-free, so a busy disk never holds up the console. */
void vdisk_print(struct vm *vm)
{
    char backing[48];
    bool slices = false;

    if (!vm->virtio) {
        console_printf("vm %s: no emulated devices\n", vm->cfg.name);
        return;
    }
    console_printf("%-4s %-10s %-5s %-11s %9s %3s %10s %12s %12s %8s %7s %5s %s\n", "dev", "type",
                   "slot", "address", "size", "ro", "requests", "read", "written", "flushes",
                   "errors", "reset", "backing");
    for (unsigned int i = 0; i < vm->virtio->nr; i++) {
        const struct vdisk *d = vm->virtio->disk[i];
        const struct vm_disk_cfg *c = &vm->cfg.disks[i];
        const struct virtio_blk_stats *s = &d->blk.stats;
        vdisk_backing_name(c, backing, sizeof(backing));
        slices |= c->slice;
        console_printf("%-4u %-10s %-5u %#-11lx %5lu KiB %3s %10lu %12lu %12lu %8lu %7lu %5lu %s\n",
                       i, "virtio-blk", d->slot, slot_base(d->slot),
                       (c->slice ? c->sectors * VIRTIO_BLK_SECTOR : c->image.size) >> 10,
                       c->read_only ? "yes" : "no", stat_load(&s->requests),
                       stat_load(&s->read_bytes), stat_load(&s->write_bytes),
                       stat_load(&s->flushes), stat_load(&s->errors), stat_load(&s->bad_chains),
                       backing);
    }
    if (slices)
        hdisk_print();
}
