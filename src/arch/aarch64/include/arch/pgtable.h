/*
 * VMSAv8-64 translation tables with the 4 KiB granule (Arm ARM D8.3), shared
 * by Keel's own EL2 stage-1 map and every VM's stage-2 map: the descriptor
 * format is the same, only the attribute bits differ and the caller passes
 * those in. Pure logic, unit-tested on the host.
 */
#ifndef ARCH_PGTABLE_H
#define ARCH_PGTABLE_H

#include <keel/types.h>

#define PT_ENTRIES 512
#define PT_LEVEL_SHIFT(l) (12 + 9 * (3 - (l)))
#define PT_LEVEL_SIZE(l) (1UL << PT_LEVEL_SHIFT(l))

/* D8.3.1 descriptor type bits */
#define PTE_VALID BIT(0)
#define PTE_TABLE BIT(1) /* levels 0-2: table; level 3: page */
#define PTE_TYPE_MASK 3UL
#define PTE_TYPE_BLOCK 1UL
#define PTE_TYPE_TABLE 3UL
#define PTE_TYPE_PAGE 3UL
#define PTE_ADDR_MASK GENMASK(47, 12)

/* Stage-1 attributes (D8.3.2) */
#define PTE_ATTRINDX(i) ((u64)(i) << 2)
#define PTE_AP_RO BIT(7)
#define PTE_SH_INNER (3UL << 8)
#define PTE_AF BIT(10)
#define PTE_PXN BIT(53)
#define PTE_UXN BIT(54) /* XN at EL2 with E2H == 0 */

/* Stage-2 attributes (D8.3.2, D8.5.5) */
#define S2_MEMATTR_DEVICE_nGnRE (0x1UL << 2)
#define S2_MEMATTR_NORMAL_WB (0xfUL << 2)
#define S2AP_R BIT(6)
#define S2AP_W BIT(7)
#define S2_XN BIT(54)

struct pgtable {
    u64 *root;
    unsigned int start_level;      /* 0 or 1 */
    unsigned int max_block_level;  /* smallest level number allowed to hold a block: 1 */
    void *(*alloc_page)(void);     /* zeroed, identity-mapped 4 KiB page */
    void (*free_page)(void *page);
};

/* Maps [va, va+size) to [pa, ...). Uses blocks where va, pa and size allow. */
int pgtable_map(struct pgtable *pt, u64 va, u64 pa, u64 size, u64 attrs);
/* Removes the mapping of [va, va+size), splitting blocks as needed. */
int pgtable_unmap(struct pgtable *pt, u64 va, u64 size);
/* Walks to @va; returns the leaf descriptor (0 if unmapped) and its level. */
u64 pgtable_walk(const struct pgtable *pt, u64 va, unsigned int *level);
/* Frees every table page below the root (not the root). */
void pgtable_free_tables(struct pgtable *pt);

#endif
