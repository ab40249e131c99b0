/*
 * Host unit tests for src/arch/aarch64/pgtable.c. Table pages come from the
 * host heap; descriptors hold their host addresses as the "physical" output
 * address, which fits PTE_ADDR_MASK (bits 47:12) on x86-64 user space. The
 * addresses being mapped are just numbers and are never dereferenced.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <arch/pgtable.h>

static unsigned int n_alloc, n_free;
static int fail_after = -1; /* allocations left before alloc_page fails; -1: never */

static void *alloc_page(void)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p & ~PTE_ADDR_MASK, 0);
    memset(p, 0, PAGE_SIZE);
    n_alloc++;
    return p;
}

static void free_page(void *p)
{
    assert_true(IS_ALIGNED((uintptr_t)p, PAGE_SIZE));
    n_free++;
    free(p);
}

static unsigned int live_tables(void)
{
    return n_alloc - n_free;
}

static struct pgtable pt;

static int setup_level(void **state, unsigned int start_level, unsigned int max_block_level)
{
    (void)state;
    n_alloc = n_free = 0;
    fail_after = -1;
    pt = (struct pgtable){ .start_level = start_level, .max_block_level = max_block_level,
                           .alloc_page = alloc_page, .free_page = free_page };
    pt.root = alloc_page();
    return pt.root ? 0 : -1;
}

static int setup(void **state)
{
    return setup_level(state, 1, 1);
}

static int setup_l0(void **state)
{
    return setup_level(state, 0, 1);
}

static int setup_no_1g(void **state)
{
    return setup_level(state, 1, 2);
}

/* Every table must be accounted for: free_tables frees all but the root and
 * leaves no table descriptor behind in it. */
static int teardown(void **state)
{
    (void)state;
    int ret = 0;

    fail_after = -1;
    pgtable_free_tables(&pt);
    for (unsigned int i = 0; i < PT_ENTRIES; i++)
        if ((pt.root[i] & PTE_TYPE_MASK) == PTE_TYPE_TABLE)
            ret = -1;
    free_page(pt.root);
    if (n_alloc != n_free) {
        print_error("%u table pages allocated, %u freed\n", n_alloc, n_free);
        ret = -1;
    }
    return ret;
}

#define S2_RAM (S2AP_R | S2AP_W | S2_MEMATTR_NORMAL_WB | PTE_SH_INNER | PTE_AF)
#define S2_DEV (S2AP_R | S2AP_W | S2_MEMATTR_DEVICE_nGnRE | PTE_AF | S2_XN)
#define ATTRS(desc) ((desc) & ~PTE_ADDR_MASK & ~PTE_TYPE_MASK)

/* @va must translate to @pa through a leaf at @level with @attrs. */
static void check_map_at(int line, u64 va, u64 pa, unsigned int level, u64 attrs)
{
    unsigned int l = 99;
    u64 desc = pgtable_walk(&pt, va, &l);

    if (!desc)
        print_error("va %#lx is not mapped\n", (unsigned long)va);
    _assert_true(desc != 0, "mapped", __FILE__, line);
    _assert_int_equal(l, level, __FILE__, line);
    _assert_int_equal(desc & PTE_TYPE_MASK, level == 3 ? PTE_TYPE_PAGE : PTE_TYPE_BLOCK,
                      __FILE__, line);
    /* the leaf's output address plus the offset within it */
    _assert_int_equal((desc & PTE_ADDR_MASK & ~(PT_LEVEL_SIZE(level) - 1)) |
                          (va & (PT_LEVEL_SIZE(level) - 1)),
                      pa, __FILE__, line);
    _assert_int_equal(ATTRS(desc), attrs, __FILE__, line);
}

static void check_unmapped_at(int line, u64 va)
{
    unsigned int l = 99;
    u64 desc = pgtable_walk(&pt, va, &l);

    if (desc)
        print_error("va %#lx is mapped: %#lx\n", (unsigned long)va, (unsigned long)desc);
    _assert_int_equal(desc, 0, __FILE__, line);
    _assert_int_equal(l, 99, __FILE__, line); /* level untouched */
}

#define check_map(...) check_map_at(__LINE__, __VA_ARGS__)
#define check_unmapped(va) check_unmapped_at(__LINE__, va)

static void test_empty(void **state)
{
    (void)state;
    check_unmapped(0);
    check_unmapped(0x40000000);
    check_unmapped(0x7fffffffff);
    assert_int_equal(pgtable_walk(&pt, 0x1234, NULL), 0);
    assert_int_equal(live_tables(), 1);
}

static void test_block_2m(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40200000, 0x80200000, SZ_2M, S2_RAM), 0);
    check_map(0x40200000, 0x80200000, 2, S2_RAM);
    check_map(0x40200000 + 0x1000, 0x80200000 + 0x1000, 2, S2_RAM);
    check_map(0x40200000 + SZ_2M - 1, 0x80200000 + SZ_2M - 1, 2, S2_RAM);
    check_unmapped(0x40200000 + SZ_2M);
    check_unmapped(0x40200000 - 1);
    /* root + one level-2 table, no level 3 */
    assert_int_equal(live_tables(), 2);
    /* several blocks in a row */
    assert_int_equal(pgtable_map(&pt, 0x80000000, 0x100000000, 4 * SZ_2M, S2_DEV), 0);
    for (u64 off = 0; off < 4 * SZ_2M; off += SZ_2M / 2)
        check_map(0x80000000 + off, 0x100000000 + off, 2, S2_DEV);
    assert_int_equal(live_tables(), 3);
}

static void test_block_1g(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, SZ_1G, S2_RAM), 0);
    check_map(0x40000000, 0x40000000, 1, S2_RAM);
    check_map(0x40000000 + 0x12345678, 0x40000000 + 0x12345678, 1, S2_RAM);
    check_unmapped(0x80000000);
    assert_int_equal(live_tables(), 1); /* the root holds it */
    assert_int_equal(pgtable_map(&pt, 0x100000000, 0x7c0000000, 3 * SZ_1G, S2_RAM), 0);
    check_map(0x100000000, 0x7c0000000, 1, S2_RAM);
    check_map(0x100000000 + 2 * SZ_1G + 5, 0x7c0000000 + 2 * SZ_1G + 5, 1, S2_RAM);
    assert_int_equal(live_tables(), 1);
}

static void test_block_needs_pa_alignment(void **state)
{
    (void)state;
    /* the VA is 1 GiB aligned but the PA only 2 MiB: 2 MiB blocks */
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x80200000, SZ_1G, S2_RAM), 0);
    check_map(0x40000000, 0x80200000, 2, S2_RAM);
    check_map(0x40000000 + SZ_1G - PAGE_SIZE, 0x80200000 + SZ_1G - PAGE_SIZE, 2, S2_RAM);
    assert_int_equal(live_tables(), 2);
    /* 2 MiB aligned VA, 4 KiB aligned PA: pages */
    assert_int_equal(pgtable_map(&pt, 0xc0000000, 0x1000, SZ_2M, S2_RAM), 0);
    check_map(0xc0000000, 0x1000, 3, S2_RAM);
    check_map(0xc0000000 + SZ_2M - PAGE_SIZE, 0x1000 + SZ_2M - PAGE_SIZE, 3, S2_RAM);
}

static void test_pages(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x90005000, 3 * PAGE_SIZE, S2_DEV), 0);
    check_unmapped(0x40000000);
    check_map(0x40001000, 0x90005000, 3, S2_DEV);
    check_map(0x40002000, 0x90006000, 3, S2_DEV);
    check_map(0x40003fff, 0x90007fff, 3, S2_DEV);
    check_unmapped(0x40004000);
    /* root, level 2, level 3 */
    assert_int_equal(live_tables(), 3);
    /* a 2 MiB aligned range that is shorter than 2 MiB is pages too */
    assert_int_equal(pgtable_map(&pt, 0x40200000, 0x40200000, SZ_2M - PAGE_SIZE, S2_RAM), 0);
    check_map(0x40200000, 0x40200000, 3, S2_RAM);
    check_map(0x40200000 + SZ_2M - 2 * PAGE_SIZE, 0x40200000 + SZ_2M - 2 * PAGE_SIZE, 3, S2_RAM);
    check_unmapped(0x40200000 + SZ_2M - PAGE_SIZE);
    assert_int_equal(live_tables(), 4);
}

static void check_range_at(int line, u64 va, u64 pa, u64 size, u64 attrs)
{
    for (u64 off = 0; off < size; off += PAGE_SIZE) {
        u64 v = va + off;
        /* the biggest level the code may use for this page */
        unsigned int level = 3;
        for (unsigned int l = 1; l <= 2; l++) {
            u64 bs = PT_LEVEL_SIZE(l), start = ALIGN_DOWN(v, bs);
            if (start >= va && start + bs <= va + size && IS_ALIGNED(va ^ pa, bs)) {
                level = l;
                break;
            }
        }
        check_map_at(line, v, pa + off, level, attrs);
    }
}
#define check_range(...) check_range_at(__LINE__, __VA_ARGS__)

static void test_mixed_range(void **state)
{
    (void)state;
    /* 0x40001000 .. 0x40402000: pages, one 2 MiB block, pages */
    const u64 va = 0x40000000 + PAGE_SIZE, size = 4 * SZ_2M / 2 + PAGE_SIZE;

    assert_int_equal(pgtable_map(&pt, va, va + 0x100000000, size, S2_RAM), 0);
    check_map(va, va + 0x100000000, 3, S2_RAM);
    check_map(0x401ff000, 0x1401ff000, 3, S2_RAM);
    check_map(0x40200000, 0x140200000, 2, S2_RAM);
    check_map(0x403ff000, 0x1403ff000, 2, S2_RAM);
    check_map(0x40400000, 0x140400000, 3, S2_RAM);
    check_map(0x40401000, 0x140401000, 3, S2_RAM);
    check_unmapped(0x40402000);
    check_unmapped(0x40000000);
    check_range(va, va + 0x100000000, size, S2_RAM);
    /* root, one level 2, two level 3 */
    assert_int_equal(live_tables(), 4);
}

static void test_mixed_range_1g(void **state)
{
    (void)state;
    /* [1G - 2M - 4K, 3G + 2M + 4K): pages, 2M, 1G, 1G, 2M, pages */
    const u64 va = SZ_1G - SZ_2M - PAGE_SIZE, size = 2 * SZ_1G + 2 * SZ_2M + 2 * PAGE_SIZE;

    assert_int_equal(pgtable_map(&pt, va, va, size, S2_RAM), 0);
    check_map(va, va, 3, S2_RAM);
    check_map(SZ_1G - SZ_2M, SZ_1G - SZ_2M, 2, S2_RAM);
    check_map(SZ_1G, SZ_1G, 1, S2_RAM);
    check_map(2 * SZ_1G + 77, 2 * SZ_1G + 77, 1, S2_RAM);
    check_map(3 * SZ_1G, 3 * SZ_1G, 2, S2_RAM);
    check_map(3 * SZ_1G + SZ_2M, 3 * SZ_1G + SZ_2M, 3, S2_RAM);
    check_unmapped(va + size);
    check_unmapped(va - PAGE_SIZE);
    check_range(va, va, size, S2_RAM);
}

static void test_attributes(void **state)
{
    (void)state;
    static const u64 attrs[] = {
        S2_RAM,
        S2_DEV,
        S2AP_R | S2_MEMATTR_NORMAL_WB | PTE_AF,
        PTE_ATTRINDX(2) | PTE_AP_RO | PTE_SH_INNER | PTE_AF | PTE_PXN | PTE_UXN,
        0,
        PTE_AF | BIT(55) | BIT(58) | BIT(63), /* software and upper bits pass through */
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(attrs); i++) {
        u64 base = (u64)(i + 1) * 4 * SZ_1G;
        assert_int_equal(pgtable_map(&pt, base, base, SZ_1G, attrs[i]), 0);
        assert_int_equal(pgtable_map(&pt, base + SZ_1G, base + SZ_1G, SZ_2M, attrs[i]), 0);
        assert_int_equal(pgtable_map(&pt, base + 2 * SZ_1G, base, PAGE_SIZE, attrs[i]), 0);
        check_map(base, base, 1, attrs[i]);
        check_map(base + SZ_1G, base + SZ_1G, 2, attrs[i]);
        check_map(base + 2 * SZ_1G, base, 3, attrs[i]);
    }
}

static void test_remap_changes_attrs(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, SZ_2M, S2_RAM), 0);
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x50000000, SZ_2M, S2_DEV), 0);
    check_map(0x40000000, 0x50000000, 2, S2_DEV);
    assert_int_equal(live_tables(), 2);
}

static void test_map_page_into_block(void **state)
{
    (void)state;
    /* remapping one page of a 1 GiB block splits it down to that page only */
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, SZ_1G, S2_RAM), 0);
    assert_int_equal(pgtable_map(&pt, 0x40203000, 0x9000000, PAGE_SIZE, S2_DEV), 0);
    assert_int_equal(live_tables(), 3);
    check_map(0x40203000, 0x9000000, 3, S2_DEV);
    check_map(0x40202000, 0x40202000, 3, S2_RAM);
    check_map(0x40204000, 0x40204000, 3, S2_RAM);
    check_map(0x40000000, 0x40000000, 2, S2_RAM);
    check_map(0x40400000, 0x40400000, 2, S2_RAM);
    check_range(0x40200000, 0x40200000, 0x3000, S2_RAM);
    check_range(0x40204000, 0x40204000, SZ_2M - 0x4000, S2_RAM);
}

static void test_unmap_page_in_2m_block(void **state)
{
    (void)state;
    const u64 va = 0x40200000, pa = 0x80400000;

    assert_int_equal(pgtable_map(&pt, va, pa, SZ_2M, S2_RAM), 0);
    assert_int_equal(live_tables(), 2);
    assert_int_equal(pgtable_unmap(&pt, va + 0x5000, PAGE_SIZE), 0);
    assert_int_equal(live_tables(), 3); /* the block became a level 3 table */
    check_unmapped(va + 0x5000);
    check_unmapped(va + 0x5fff);
    check_map(va, pa, 3, S2_RAM);
    check_map(va + 0x4000, pa + 0x4000, 3, S2_RAM);
    check_map(va + 0x6000, pa + 0x6000, 3, S2_RAM);
    check_map(va + SZ_2M - PAGE_SIZE, pa + SZ_2M - PAGE_SIZE, 3, S2_RAM);
    for (u64 off = 0; off < SZ_2M; off += PAGE_SIZE)
        if (off != 0x5000)
            check_map(va + off, pa + off, 3, S2_RAM);
}

static void test_unmap_2m_in_1g_block(void **state)
{
    (void)state;
    const u64 va = 0x80000000, pa = 0x40000000;

    assert_int_equal(pgtable_map(&pt, va, pa, SZ_1G, S2_DEV), 0);
    assert_int_equal(pgtable_unmap(&pt, va + 2 * SZ_2M, SZ_2M), 0);
    assert_int_equal(live_tables(), 2); /* split into 2 MiB blocks only */
    check_unmapped(va + 2 * SZ_2M);
    check_unmapped(va + 3 * SZ_2M - 1);
    check_map(va, pa, 2, S2_DEV);
    check_map(va + 3 * SZ_2M, pa + 3 * SZ_2M, 2, S2_DEV);
    check_map(va + SZ_1G - 1, pa + SZ_1G - 1, 2, S2_DEV);
    /* and a single page out of one of the remaining 2 MiB blocks */
    assert_int_equal(pgtable_unmap(&pt, va + SZ_2M + 0x1000, PAGE_SIZE), 0);
    assert_int_equal(live_tables(), 3);
    check_unmapped(va + SZ_2M + 0x1000);
    check_map(va + SZ_2M, pa + SZ_2M, 3, S2_DEV);
    check_map(va + SZ_2M + 0x2000, pa + SZ_2M + 0x2000, 3, S2_DEV);
    check_map(va, pa, 2, S2_DEV);
}

static void test_unmap_page_in_1g_block(void **state)
{
    (void)state;
    const u64 va = 0x40000000;

    assert_int_equal(pgtable_map(&pt, va, va, SZ_1G, S2_RAM), 0);
    assert_int_equal(pgtable_unmap(&pt, va + 0x10000000, PAGE_SIZE), 0);
    assert_int_equal(live_tables(), 3);
    check_unmapped(va + 0x10000000);
    check_map(va + 0x10001000, va + 0x10001000, 3, S2_RAM);
    check_map(va + 0x10000000 - PAGE_SIZE, va + 0x10000000 - PAGE_SIZE, 2, S2_RAM);
    check_map(va + 0x10000000 + SZ_2M, va + 0x10000000 + SZ_2M, 2, S2_RAM);
    check_map(va, va, 2, S2_RAM);
}

static void test_unmap_whole(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, SZ_1G, S2_RAM), 0);
    assert_int_equal(pgtable_unmap(&pt, 0x40000000, SZ_1G), 0);
    check_unmapped(0x40000000);
    assert_int_equal(live_tables(), 1);
    assert_int_equal(n_alloc, 1);
    /* unmapping what is not mapped is a no-op that allocates nothing */
    assert_int_equal(pgtable_unmap(&pt, 0x1000, 5 * SZ_1G), 0);
    assert_int_equal(n_alloc, 1);
}

static void test_unmap_frees_covered_tables(void **state)
{
    (void)state;
    /* 2 MiB mapped as pages, then unmapped as a whole: the level 3 table goes */
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x1000, SZ_2M, S2_RAM), 0);
    assert_int_equal(live_tables(), 3);
    assert_int_equal(pgtable_unmap(&pt, 0x40000000, SZ_2M), 0);
    assert_int_equal(live_tables(), 2);
    /* a whole 1 GiB with tables below it */
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x1000, 0x3000, S2_RAM), 0);
    assert_int_equal(live_tables(), 3);
    assert_int_equal(pgtable_unmap(&pt, 0x40000000, SZ_1G), 0);
    assert_int_equal(live_tables(), 1);
    check_unmapped(0x40001000);
}

/* Unmapping whole blocks from a range that starts off a block boundary must
 * not split them first (it would cost a table each, and can fail for want of
 * memory while only removing mappings). */
static void test_unmap_blocks_from_unaligned_start(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x1000, PAGE_SIZE, S2_RAM), 0);
    assert_int_equal(pgtable_map(&pt, 0x40200000, 0x80200000, 2 * SZ_2M, S2_RAM), 0);
    assert_int_equal(live_tables(), 3);
    assert_int_equal(pgtable_unmap(&pt, 0x40001000, 0x40600000 - 0x40001000), 0);
    check_unmapped(0x40001000);
    check_unmapped(0x40200000);
    check_unmapped(0x40400000);
    assert_int_equal(live_tables(), 3);
    /* so it works with no memory at all */
    assert_int_equal(pgtable_map(&pt, 0x40200000, 0x80200000, 2 * SZ_2M, S2_RAM), 0);
    fail_after = 0;
    assert_int_equal(pgtable_unmap(&pt, 0x40001000, 0x40600000 - 0x40001000), 0);
    check_unmapped(0x40200000);
    check_unmapped(0x40400000);
}

static void test_map_block_over_table(void **state)
{
    (void)state;
    /* pages first, then the whole 2 MiB as a block: the level 3 table is freed */
    assert_int_equal(pgtable_map(&pt, 0x40200000, 0x40200000, 16 * PAGE_SIZE, S2_DEV), 0);
    assert_int_equal(live_tables(), 3);
    assert_int_equal(pgtable_map(&pt, 0x40200000, 0x80200000, SZ_2M, S2_RAM), 0);
    assert_int_equal(live_tables(), 2);
    assert_int_equal(n_free, 1);
    check_map(0x40200000, 0x80200000, 2, S2_RAM);
    /* and a 1 GiB block over a level 2 table holding level 3 tables */
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x1000, PAGE_SIZE, S2_DEV), 0);
    assert_int_equal(live_tables(), 3);
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, SZ_1G, S2_RAM), 0);
    assert_int_equal(live_tables(), 1);
    check_map(0x40001000, 0x40001000, 1, S2_RAM);
    check_map(0x40200000, 0x40200000, 1, S2_RAM);
}

static void test_free_tables(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x0, 0x0, SZ_1G, S2_RAM), 0);
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x1000, 5 * SZ_2M, S2_RAM), 0);
    assert_int_equal(pgtable_map(&pt, 0x7000000000, 0x1000, PAGE_SIZE, S2_DEV), 0);
    assert_int_equal(pgtable_map(&pt, 0x8000000, 0x8000000, 0x10000, S2_DEV), 0);
    assert_int_equal(pgtable_unmap(&pt, 0x40005000, 0x3000), 0);
    unsigned int allocated = n_alloc;
    assert_true(allocated > 5);
    pgtable_free_tables(&pt);
    assert_int_equal(n_free, allocated - 1); /* everything but the root */
    for (unsigned int i = 0; i < PT_ENTRIES; i++)
        if (pt.root[i] & PTE_VALID)
            assert_int_equal(pt.root[i] & PTE_TYPE_MASK, PTE_TYPE_BLOCK); /* blocks stay */
    /* the tables can be rebuilt afterwards */
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x1000, PAGE_SIZE, S2_RAM), 0);
    check_map(0x40001000, 0x1000, 3, S2_RAM);
}

static void test_free_tables_empty(void **state)
{
    (void)state;
    pgtable_free_tables(&pt);
    assert_int_equal(n_free, 0);
}

static void test_misaligned(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40000800, 0x40000000, PAGE_SIZE, S2_RAM), -1);
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000004, PAGE_SIZE, S2_RAM), -1);
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, PAGE_SIZE + 1, S2_RAM), -1);
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, 0xfff, S2_RAM), -1);
    assert_int_equal(pgtable_unmap(&pt, 0x40000001, PAGE_SIZE), -1);
    assert_int_equal(pgtable_unmap(&pt, 0x40000000, 0x10), -1);
    assert_int_equal(n_alloc, 1); /* nothing was touched */
    check_unmapped(0x40000000);
    /* size 0 is a no-op */
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, 0, S2_RAM), 0);
    assert_int_equal(pgtable_unmap(&pt, 0x40000000, 0), 0);
    assert_int_equal(n_alloc, 1);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    fail_after = 0;
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x1000, PAGE_SIZE, S2_RAM), -1);
    check_unmapped(0x40001000);
    /* the level 2 table can be had but not the level 3 one */
    fail_after = 1;
    assert_int_equal(pgtable_map(&pt, 0x40001000, 0x1000, PAGE_SIZE, S2_RAM), -1);
    check_unmapped(0x40001000);
    /* splitting a block needs a table too */
    fail_after = -1;
    assert_int_equal(pgtable_map(&pt, 0x80000000, 0x80000000, SZ_1G, S2_RAM), 0);
    fail_after = 0;
    assert_int_equal(pgtable_unmap(&pt, 0x80000000, PAGE_SIZE), -1);
    check_map(0x80000000, 0x80000000, 1, S2_RAM);
    /* blocks need no tables at all */
    assert_int_equal(pgtable_map(&pt, 0xc0000000, 0xc0000000, SZ_1G, S2_RAM), 0);
    check_map(0xc0000000, 0xc0000000, 1, S2_RAM);
}

static void test_start_level_0(void **state)
{
    (void)state;
    const u64 high = 0x8000000000; /* 512 GiB: root index 1 at level 0 */

    assert_int_equal(pgtable_map(&pt, high, 0x40000000, SZ_1G, S2_RAM), 0);
    check_map(high, 0x40000000, 1, S2_RAM);
    assert_int_equal(pgtable_map(&pt, 0x1000, 0x1000, PAGE_SIZE, S2_RAM), 0);
    check_map(0x1000, 0x1000, 3, S2_RAM);
    check_unmapped(high + SZ_1G);
    /* never a level 0 block, even for a 512 GiB aligned range */
    assert_int_equal(pgtable_map(&pt, 0, 0, 512 * SZ_1G, S2_RAM), 0);
    check_map(0, 0, 1, S2_RAM);
    check_map(511 * SZ_1G, 511 * SZ_1G, 1, S2_RAM);
    /* 1 + level 1 for index 0 + level 1 for index 1 (the pages' tables were freed) */
    assert_int_equal(live_tables(), 3);
}

static void test_max_block_level_2(void **state)
{
    (void)state;
    assert_int_equal(pgtable_map(&pt, 0x40000000, 0x40000000, SZ_1G, S2_RAM), 0);
    check_map(0x40000000, 0x40000000, 2, S2_RAM);
    check_map(0x40000000 + SZ_1G - 1, 0x40000000 + SZ_1G - 1, 2, S2_RAM);
    assert_int_equal(live_tables(), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty),
        T(test_block_2m),
        T(test_block_1g),
        T(test_block_needs_pa_alignment),
        T(test_pages),
        T(test_mixed_range),
        T(test_mixed_range_1g),
        T(test_attributes),
        T(test_remap_changes_attrs),
        T(test_map_page_into_block),
        T(test_unmap_page_in_2m_block),
        T(test_unmap_2m_in_1g_block),
        T(test_unmap_page_in_1g_block),
        T(test_unmap_whole),
        T(test_unmap_frees_covered_tables),
        T(test_unmap_blocks_from_unaligned_start),
        T(test_map_block_over_table),
        T(test_free_tables),
        T(test_free_tables_empty),
        T(test_misaligned),
        T(test_alloc_failure),
        cmocka_unit_test_setup_teardown(test_start_level_0, setup_l0, teardown),
        cmocka_unit_test_setup_teardown(test_max_block_level_2, setup_no_1g, teardown),
    };

    return cmocka_run_group_tests_name("pgtable", tests, NULL, NULL);
}
