#include <arch/pgtable.h>

static inline u64 *table_of(u64 desc)
{
    return (u64 *)(uintptr_t)(desc & PTE_ADDR_MASK);
}

static inline unsigned int index_at(u64 va, unsigned int level)
{
    return (va >> PT_LEVEL_SHIFT(level)) & (PT_ENTRIES - 1);
}

static bool is_table(u64 desc, unsigned int level)
{
    return level < 3 && (desc & PTE_TYPE_MASK) == PTE_TYPE_TABLE;
}

/*
 * Replaces a block descriptor with a table of the next level holding the same
 * mapping, so part of the block can be changed.
 */
static u64 *split_block(struct pgtable *pt, u64 *entry, unsigned int level)
{
    u64 *table = pt->alloc_page();
    u64 desc = *entry;

    if (!table)
        return NULL;
    if (desc & PTE_VALID) {
        u64 attrs = desc & ~PTE_ADDR_MASK & ~PTE_TYPE_MASK;
        u64 pa = desc & PTE_ADDR_MASK;
        u64 type = (level + 1 == 3) ? PTE_TYPE_PAGE : PTE_TYPE_BLOCK;
        for (unsigned int i = 0; i < PT_ENTRIES; i++)
            table[i] = (pa + i * PT_LEVEL_SIZE(level + 1)) | attrs | type;
    }
    /* the table's contents before its link: another CPU may walk it now (RAM filled on first touch) */
    __atomic_thread_fence(__ATOMIC_RELEASE); /* dmb ish */
    *entry = (u64)(uintptr_t)table | PTE_TYPE_TABLE;
    return table;
}

static u64 *next_table(struct pgtable *pt, u64 *entry, unsigned int level)
{
    if (is_table(*entry, level))
        return table_of(*entry);
    return split_block(pt, entry, level);
}

static bool can_block(const struct pgtable *pt, unsigned int level, u64 va, u64 pa, u64 size)
{
    u64 bs = PT_LEVEL_SIZE(level);

    if (level == 3)
        return true;
    return level >= pt->max_block_level && IS_ALIGNED(va | pa, bs) && size >= bs;
}

static int map_level(struct pgtable *pt, u64 *table, unsigned int level, u64 va, u64 pa, u64 size,
                     u64 attrs, bool unmap)
{
    while (size) {
        u64 bs = PT_LEVEL_SIZE(level);
        u64 chunk = MIN(size, bs - (va & (bs - 1)));
        u64 *entry = &table[index_at(va, level)];

        if (can_block(pt, level, va, pa, chunk)) {
            bool free_sub = is_table(*entry, level);
            u64 *old = table_of(*entry);
            if (unmap)
                *entry = 0;
            else
                *entry = pa | attrs | (level == 3 ? PTE_TYPE_PAGE : PTE_TYPE_BLOCK);
            if (free_sub) {
                struct pgtable sub = *pt;
                sub.root = old;
                sub.start_level = level + 1;
                pgtable_free_tables(&sub);
                pt->free_page(old);
            }
        } else {
            if (unmap && !(*entry & PTE_VALID)) {
                /* nothing mapped here */
            } else {
                u64 *next = next_table(pt, entry, level);
                if (!next)
                    return -1;
                if (map_level(pt, next, level + 1, va, pa, chunk, attrs, unmap))
                    return -1;
            }
        }
        va += chunk;
        pa += chunk;
        size -= chunk;
    }
    return 0;
}

int pgtable_map(struct pgtable *pt, u64 va, u64 pa, u64 size, u64 attrs)
{
    if (!IS_ALIGNED(va | pa | size, PAGE_SIZE))
        return -1;
    return map_level(pt, pt->root, pt->start_level, va, pa, size, attrs, false);
}

int pgtable_unmap(struct pgtable *pt, u64 va, u64 size)
{
    if (!IS_ALIGNED(va | size, PAGE_SIZE))
        return -1;
    /* No output address, but can_block() checks its alignment: pass va so a
     * whole block is removed outright instead of being split first. */
    return map_level(pt, pt->root, pt->start_level, va, va, size, 0, true);
}

u64 pgtable_walk(const struct pgtable *pt, u64 va, unsigned int *level)
{
    const u64 *table = pt->root;

    for (unsigned int l = pt->start_level; l <= 3; l++) {
        u64 desc = table[index_at(va, l)];
        if (!(desc & PTE_VALID))
            return 0;
        if (!is_table(desc, l)) {
            if (level)
                *level = l;
            return desc;
        }
        table = table_of(desc);
    }
    return 0;
}

static void free_level(struct pgtable *pt, u64 *table, unsigned int level)
{
    for (unsigned int i = 0; i < PT_ENTRIES; i++) {
        if (is_table(table[i], level)) {
            u64 *sub = table_of(table[i]);
            if (level + 1 < 3)
                free_level(pt, sub, level + 1);
            pt->free_page(sub);
            table[i] = 0;
        }
    }
}

void pgtable_free_tables(struct pgtable *pt)
{
    free_level(pt, pt->root, pt->start_level);
}
