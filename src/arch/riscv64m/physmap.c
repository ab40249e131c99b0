/*
 * A VM's guest-physical map under Keel in M-mode: the same tables as the
 * HS port's G-stage (riscv64/pgtable.c, Sv39x4 leaves with U, A and D set)
 * with no hardware to read them as such. The shadow fill composes the
 * guest's own translation with it in software (exit.c); the real hart
 * never walks it (a guest that runs untranslated runs on a shadow of it).
 * The host ranges mapped besides RAM (passed-through devices, shared
 * memory) are kept for Keel's PMP (hartpmp.c), which must open them too.
 */
#include <arch/csr.h>
#include <arch/mmode.h>
#include <arch/physmap.h>
#include <keel/buddy.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

static const u64 physmap_attrs[] = {
    [S2_KIND_RAM] = PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D,
    [S2_KIND_DEVICE] = PTE_R | PTE_W | PTE_U | PTE_A | PTE_D,
    [S2_KIND_SHMEM] = PTE_R | PTE_W | PTE_U | PTE_A | PTE_D,
};

/* Per VM: what arch_s2_map mapped besides RAM, host ranges with PMP permissions. */
#define MAPPED_MAX (VM_MAX_PT * PT_MAX_REGS + VM_MAX_SHMEM)
static struct mapped {
    struct pmp_region r[MAPPED_MAX];
    unsigned int n;
} mapped[VM_MAX];

/* A device or shared-memory range, merged with one it continues. -1 if no slot is left. */
static int mapped_note(struct vm *vm, u64 pa, u64 size)
{
    struct mapped *m = &mapped[vm->id];

    for (unsigned int i = 0; i < m->n; i++) {
        if (m->r[i].base + m->r[i].size == pa) {
            m->r[i].size += size;
            return 0;
        }
    }
    if (m->n == MAPPED_MAX)
        return -1;
    m->r[m->n++] = (struct pmp_region){ .base = pa, .size = size, .perms = PMP_R | PMP_W };
    return 0;
}

unsigned int rvm_mapped_regions(const struct vm *vm, const struct pmp_region **out)
{
    *out = mapped[vm->id].r;
    return mapped[vm->id].n;
}

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
    mapped[vm->id].n = 0;
    return 0;
}

int arch_s2_map(struct vm *vm, ipaddr_t ipa, paddr_t pa, u64 size, enum s2_kind kind)
{
    if (kind != S2_KIND_RAM && mapped_note(vm, pa_addr(pa), size))
        return -1;
    return pgtable_map(&vm->s2, ipa_addr(ipa), pa_addr(pa), size, physmap_attrs[kind]);
}

/* A hart may hold a failed translation of it (4.2.1): this one's goes. */
void arch_s2_sync_mapped(struct vm *vm)
{
    asm volatile("sfence.vma" ::: "memory");
}

void arch_s2_clear(struct vm *vm)
{
    mapped[vm->id].n = 0;
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
