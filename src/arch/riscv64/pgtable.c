/*
 * Sv39x4 G-stage tables (see arch/pgtable.h). Mappings never overlap (guest
 * RAM, devices and shared memory are disjoint, checked by the config), so a
 * map never has to split a leaf: it refuses instead.
 */
#include <arch/pgtable.h>

static unsigned int pt_index(u64 gpa, unsigned int level)
{
    u64 idx = gpa >> PT_LEVEL_SHIFT(level);

    return (unsigned int)(level == PT_LEVELS - 1 ? idx & (PT_ROOT_ENTRIES - 1)
                                                 : idx & (PT_ENTRIES - 1));
}

static bool pte_is_table(u64 pte)
{
    return (pte & PTE_V) && !(pte & (PTE_R | PTE_W | PTE_X));
}

static u64 *pte_table(u64 pte)
{
    return (u64 *)(((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT) << 12);
}

static u64 pte_make(u64 pa, u64 bits)
{
    return ((pa >> 12) << PTE_PPN_SHIFT) | bits | PTE_V;
}

/* The table below @slot, allocated if empty; NULL if a leaf is there or memory ran out. */
static u64 *pt_next(struct pgtable *pt, u64 *slot)
{
    if (!*slot) {
        u64 *t = pt->alloc_page();
        if (!t)
            return NULL;
        /* the table's zeroes before its link: another hart may walk it now (RAM filled on first touch) */
        __atomic_thread_fence(__ATOMIC_RELEASE); /* fence rw, w */
        *slot = pte_make((u64)t, 0);
    }
    return pte_is_table(*slot) ? pte_table(*slot) : NULL;
}

static int pt_map_one(struct pgtable *pt, u64 gpa, u64 pa, u64 left, u64 attrs, u64 *mapped)
{
    u64 *table = pt->root;

    for (unsigned int level = PT_LEVELS - 1;; level--) {
        u64 *slot = &table[pt_index(gpa, level)];
        u64 size = PT_LEVEL_SIZE(level);
        if (level == 0 || (IS_ALIGNED(gpa | pa, size) && left >= size)) {
            if (*slot)
                return -1; /* already mapped */
            *slot = pte_make(pa, attrs);
            *mapped = size;
            return 0;
        }
        table = pt_next(pt, slot);
        if (!table)
            return -1;
    }
}

int pgtable_map(struct pgtable *pt, u64 gpa, u64 pa, u64 size, u64 attrs)
{
    if (!IS_ALIGNED(gpa | pa | size, PT_LEVEL_SIZE(0)) || gpa + size < gpa ||
        gpa + size > PT_LEVEL_SIZE(PT_LEVELS - 1) * PT_ROOT_ENTRIES)
        return -1;
    while (size) {
        u64 done;
        if (pt_map_one(pt, gpa, pa, size, attrs, &done))
            return -1;
        gpa += done;
        pa += done;
        size -= done;
    }
    return 0;
}

u64 pgtable_walk(const struct pgtable *pt, u64 gpa, unsigned int *level)
{
    const u64 *table = pt->root;

    for (unsigned int l = PT_LEVELS - 1;; l--) {
        u64 pte = table[pt_index(gpa, l)];
        if (!pte_is_table(pte) || l == 0) {
            *level = l;
            return pte & PTE_V ? pte : 0;
        }
        table = pte_table(pte);
    }
}

static void pt_free_below(struct pgtable *pt, u64 *table, unsigned int level, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        if (!pte_is_table(table[i]))
            continue;
        if (level > 1)
            pt_free_below(pt, pte_table(table[i]), level - 1, PT_ENTRIES);
        pt->free_page(pte_table(table[i]));
        table[i] = 0;
    }
}

void pgtable_free_tables(struct pgtable *pt)
{
    pt_free_below(pt, pt->root, PT_LEVELS - 1, PT_ROOT_ENTRIES);
}
