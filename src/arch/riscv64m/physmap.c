/*
 * A VM's guest-physical map under Keel in M-mode: the same tables as the
 * HS port's G-stage (riscv64/pgtable.c, Sv39x4 leaves with U, A and D set)
 * with no hardware to read them as such. Two things use it: the shadow
 * fill, which composes the guest's own translation with it in software
 * (exit.c), and the real hart itself while the guest runs untranslated (its
 * M-mode, or satp Bare): the first 4 KiB of an Sv39x4 root are an Sv39 root
 * for addresses below 256 GiB, and its leaves are U-mode ones, which is what
 * the guest is on the real hart. s2_base is that satp value.
 */
#include <arch/csr.h>
#include <arch/mmode.h>
#include <keel/buddy.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

static const u64 physmap_attrs[] = {
    [S2_KIND_RAM] = PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D,
    [S2_KIND_DEVICE] = PTE_R | PTE_W | PTE_U | PTE_A | PTE_D,
    [S2_KIND_SHMEM] = PTE_R | PTE_W | PTE_U | PTE_A | PTE_D,
};

static void *physmap_alloc_page(void)
{
    return page_alloc_zeroed(0);
}

int arch_s2_create(struct vm *vm)
{
    vm->s2 = (struct pgtable){ .alloc_page = physmap_alloc_page, .free_page = page_free };
    vm->s2.root = page_alloc_zeroed(PT_ROOT_ORDER);
    if (!vm->s2.root)
        return -1;
    vm->s2_base = SATP_SV39 | ((u64)vm->s2.root >> 12);
    return 0;
}

int arch_s2_map(struct vm *vm, ipaddr_t ipa, paddr_t pa, u64 size, enum s2_kind kind)
{
    return pgtable_map(&vm->s2, ipa_addr(ipa), pa_addr(pa), size, physmap_attrs[kind]);
}

/* A hart may hold a failed translation of it (4.2.1): this one's goes. */
void arch_s2_sync_mapped(struct vm *vm)
{
    asm volatile("sfence.vma" ::: "memory");
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
