/*
 * A VM's G-stage translation (privileged spec 1.12, 8.2.10 and 9.5): Sv39x4
 * from a 16 KiB root, the VMID (id + 1: VMID 0 is never a guest's) in hgatp.
 * Leaves are user (required at this stage), accessed and dirty (Keel does
 * not track either, so no fault ever asks it to set them).
 */
#include <arch/csr.h>
#include <keel/buddy.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

static const u64 s2_attrs[] = {
    [S2_KIND_RAM] = PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D,
    /* Cacheability comes from the platform's PMAs: device and RAM differ only in X. */
    [S2_KIND_DEVICE] = PTE_R | PTE_W | PTE_U | PTE_A | PTE_D,
    [S2_KIND_SHMEM] = PTE_R | PTE_W | PTE_U | PTE_A | PTE_D,
};

static void *s2_alloc_page(void)
{
    return page_alloc_zeroed(0);
}

int arch_s2_create(struct vm *vm)
{
    vm->s2 = (struct pgtable){ .alloc_page = s2_alloc_page, .free_page = page_free };
    vm->s2.root = page_alloc_zeroed(PT_ROOT_ORDER);
    if (!vm->s2.root)
        return -1;
    vm->s2_base = HGATP_MODE_SV39X4 | ((u64)(vm->id + 1) << HGATP_VMID_SHIFT) |
                  ((u64)vm->s2.root >> 12);
    return 0;
}

int arch_s2_map(struct vm *vm, ipaddr_t ipa, paddr_t pa, u64 size, enum s2_kind kind)
{
    return pgtable_map(&vm->s2, ipa_addr(ipa), pa_addr(pa), size, s2_attrs[kind]);
}

/*
 * A hart may cache invalid G-stage entries, and its implicit walks need a
 * fence to see PTE stores (privileged spec 1.12, 8.3.2 and 4.2.1): a local
 * HFENCE.GVMA for the VM's VMID.
 */
void arch_s2_sync_mapped(struct vm *vm)
{
    u64 vmid = vm->id + 1;

    __asm__ volatile(".insn r 0x73, 0, 0x31, x0, x0, %0" :: "r"(vmid) : "memory"); /* hfence.gvma x0, vmid */
}

void arch_s2_clear(struct vm *vm)
{
    if (!vm->s2.root)
        return;
    pgtable_free_tables(&vm->s2);
    memset(vm->s2.root, 0, PAGE_SIZE << PT_ROOT_ORDER);
}

void arch_s2_destroy(struct vm *vm)
{
    arch_s2_clear(vm);
    if (vm->s2.root)
        page_free(vm->s2.root);
    vm->s2.root = NULL;
}
