/*
 * A VM's Stage-2 translation (Arm ARM D8.2): 39-bit IPAs from a level-1
 * root of one page (VTCR_EL2 as set in arch_vm_init_stage2_regs), blocks
 * down to 1 GiB, and the VMID (id + 1: VMID 0 is never a guest's) in
 * VTTBR_EL2. Core code asks for a kind of mapping; the attributes are here.
 */
#include <keel/buddy.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

/* Stage-2 descriptor attributes per kind of mapping (D8.5.5). */
static const u64 s2_attrs[] = {
    /* guest RAM: normal write-back, RW, executable */
    [S2_KIND_RAM] = S2_MEMATTR_NORMAL_WB | S2AP_R | S2AP_W | PTE_AF | PTE_SH_INNER,
    [S2_KIND_DEVICE] = S2_MEMATTR_DEVICE_nGnRE | S2AP_R | S2AP_W | PTE_AF | S2_XN,
    [S2_KIND_SHMEM] = S2_MEMATTR_NORMAL_WB | S2AP_R | S2AP_W | PTE_AF | PTE_SH_INNER | S2_XN,
};

static void *s2_alloc_page(void)
{
    return page_alloc_zeroed(0);
}

int arch_s2_create(struct vm *vm)
{
    vm->s2 = (struct pgtable){ .start_level = 1, .max_block_level = 1,
                               .alloc_page = s2_alloc_page, .free_page = page_free };
    vm->s2.root = page_alloc_zeroed(0);
    if (!vm->s2.root)
        return -1;
    vm->s2_base = ((u64)(vm->id + 1) << 48) | (u64)vm->s2.root;
    return 0;
}

int arch_s2_map(struct vm *vm, ipaddr_t ipa, paddr_t pa, u64 size, enum s2_kind kind)
{
    return pgtable_map(&vm->s2, ipa_addr(ipa), pa_addr(pa), size, s2_attrs[kind]);
}

/*
 * An entry that was invalid is never held in a TLB (Arm ARM D8.16.1), so
 * completing the descriptor store is enough; the exception return that
 * follows is the context synchronization.
 */
void arch_s2_sync_mapped(struct vm *vm)
{
    (void)vm;
    __asm__ volatile("dsb ish" ::: "memory");
}

void arch_s2_clear(struct vm *vm)
{
    if (!vm->s2.root)
        return;
    pgtable_free_tables(&vm->s2);
    memset(vm->s2.root, 0, PAGE_SIZE);
}

void arch_s2_destroy(struct vm *vm)
{
    arch_s2_clear(vm);
    if (vm->s2.root)
        page_free(vm->s2.root);
    vm->s2.root = NULL;
}
