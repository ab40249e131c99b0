/*
 * G-stage translation tables, Sv39x4 (RISC-V privileged spec 1.12, 9.5.1
 * and 4.4): 41-bit guest-physical addresses, a 16 KiB root of 2048 entries,
 * leaves of 1 GiB, 2 MiB or 4 KiB. Keel itself runs untranslated (satp Bare)
 * and has no stage-1 tables. Pure logic, unit-tested on the host.
 */
#ifndef ARCH_PGTABLE_H
#define ARCH_PGTABLE_H

#include <keel/types.h>

/* Sv39 PTE bits (4.4.1) */
#define PTE_V BIT(0)
#define PTE_R BIT(1)
#define PTE_W BIT(2)
#define PTE_X BIT(3)
#define PTE_U BIT(4) /* G-stage leaves must have it: guest accesses are U-mode to this stage (9.5.1) */
#define PTE_G BIT(5)
#define PTE_A BIT(6)
#define PTE_D BIT(7)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK GENMASK(53, 10)

#define PT_ENTRIES 512
#define PT_ROOT_ENTRIES 2048           /* the x4: two more address bits at the root */
#define PT_ROOT_ORDER 2                /* 16 KiB, 16 KiB aligned */
#define PT_LEVELS 3                    /* level 2 (root, 1 GiB) .. level 0 (4 KiB) */
#define PT_LEVEL_SHIFT(l) (12 + 9 * (l))
#define PT_LEVEL_SIZE(l) (1UL << PT_LEVEL_SHIFT(l))

struct pgtable {
    u64 *root;                     /* PT_ROOT_ENTRIES entries */
    void *(*alloc_page)(void);     /* zeroed 4 KiB page */
    void (*free_page)(void *page);
};

/* Maps [gpa, gpa+size) to [pa, ...) with leaf bits @attrs (RWX, U, A, D). */
int pgtable_map(struct pgtable *pt, u64 gpa, u64 pa, u64 size, u64 attrs);
/* The leaf PTE for @gpa (0 if unmapped) and its level. */
u64 pgtable_walk(const struct pgtable *pt, u64 gpa, unsigned int *level);
/* Frees every table page below the root (not the root). */
void pgtable_free_tables(struct pgtable *pt);

#endif
