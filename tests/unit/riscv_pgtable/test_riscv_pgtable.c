/*
 * Sv39x4 G-stage tables (src/arch/riscv64/pgtable.c) on the host: which
 * leaf sizes a mapping gets, what a walk finds, refusals, and that freeing
 * gives back every table page it took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arch/pgtable.h>

#define LEAF (PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)

static int pages_live;

static void *alloc_page(void)
{
    void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

    assert_non_null(p);
    memset(p, 0, PAGE_SIZE);
    pages_live++;
    return p;
}

static void free_page(void *p)
{
    pages_live--;
    free(p);
}

static struct pgtable pt;

static int setup(void **state)
{
    pt = (struct pgtable){ .alloc_page = alloc_page, .free_page = free_page };
    pt.root = aligned_alloc(PAGE_SIZE << PT_ROOT_ORDER, PAGE_SIZE << PT_ROOT_ORDER);
    memset(pt.root, 0, PAGE_SIZE << PT_ROOT_ORDER);
    pages_live = 0;
    return 0;
}

static int teardown(void **state)
{
    pgtable_free_tables(&pt);
    /* Every table page back, no entry pointing at one; root leaves stay (arch_s2_clear zeroes the root). */
    assert_int_equal(pages_live, 0);
    for (unsigned int i = 0; i < PT_ROOT_ENTRIES; i++)
        assert_true(!pt.root[i] || (pt.root[i] & (PTE_R | PTE_W | PTE_X)));
    free(pt.root);
    return 0;
}

static u64 leaf_pa(u64 pte)
{
    return ((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT) << 12;
}

static void check_walk(u64 gpa, u64 want_pa, unsigned int want_level)
{
    unsigned int level;
    u64 pte = pgtable_walk(&pt, gpa, &level);

    assert_true(pte & PTE_V);
    assert_int_equal(level, want_level);
    assert_int_equal(pte & (LEAF | PTE_V), LEAF | PTE_V);
    assert_int_equal(leaf_pa(pte) + (gpa & (PT_LEVEL_SIZE(level) - 1)), want_pa);
}

/* 1 GiB aligned both sides: one root leaf, no table page. */
static void test_gigabyte_leaf(void **state)
{
    assert_int_equal(pgtable_map(&pt, 0x80000000, 0x1c0000000, SZ_1G, LEAF), 0);
    assert_int_equal(pages_live, 0);
    check_walk(0x80000000, 0x1c0000000, 2);
    check_walk(0xbffff123, 0x1fffff123, 2);
}

/* Above 512 GiB: the root's two extra index bits (x4) are used. */
static void test_root_is_x4(void **state)
{
    u64 gpa = 0x1c000000000UL; /* 1.75 TiB, under the 2 TiB of Sv39x4 */

    assert_int_equal(pgtable_map(&pt, gpa, 0x40000000, SZ_1G, LEAF), 0);
    check_walk(gpa, 0x40000000, 2);
    assert_int_equal(pgtable_map(&pt, 1UL << 41, 0x40000000, SZ_1G, LEAF), -1);
}

/* 2 MiB aligned only: 2 MiB leaves under one table. */
static void test_megabyte_leaves(void **state)
{
    assert_int_equal(pgtable_map(&pt, 0x80200000, 0x90400000, 3 * SZ_2M, LEAF), 0);
    assert_int_equal(pages_live, 1);
    check_walk(0x80200000, 0x90400000, 1);
    check_walk(0x80600010, 0x90800010, 1);
}

/* Page-aligned only: 4 KiB leaves, two table pages. */
static void test_page_leaves(void **state)
{
    assert_int_equal(pgtable_map(&pt, 0x0c000000, 0x0c001000, 5 * PAGE_SIZE, PTE_R | PTE_W | PTE_U |
                                 PTE_A | PTE_D), 0);
    assert_int_equal(pages_live, 2);
    unsigned int level;
    u64 pte = pgtable_walk(&pt, 0x0c004000, &level);
    assert_int_equal(level, 0);
    assert_int_equal(leaf_pa(pte), 0x0c005000);
    assert_false(pte & PTE_X);
    assert_int_equal(pgtable_walk(&pt, 0x0c005000, &level), 0);
}

/* Mixed: pages up to 2 MiB, then a 2 MiB leaf, then pages. */
static void test_mixed_sizes(void **state)
{
    assert_int_equal(pgtable_map(&pt, 0x801ff000, 0x901ff000, PAGE_SIZE + SZ_2M + PAGE_SIZE, LEAF), 0);
    check_walk(0x801ff000, 0x901ff000, 0);
    check_walk(0x80200000, 0x90200000, 1);
    check_walk(0x80400000, 0x90400000, 0);
}

static void test_refusals(void **state)
{
    assert_int_equal(pgtable_map(&pt, 0x80000800, 0x90000000, PAGE_SIZE, LEAF), -1);
    assert_int_equal(pgtable_map(&pt, 0x80000000, 0x90000000, 0x800, LEAF), -1);
    assert_int_equal(pgtable_map(&pt, ~0UL - PAGE_SIZE + 1, 0, 2 * PAGE_SIZE, LEAF), -1);
    assert_int_equal(pgtable_map(&pt, 0x80000000, 0x90000000, SZ_2M, LEAF), 0);
    /* overlapping an existing leaf, at either size */
    assert_int_equal(pgtable_map(&pt, 0x80001000, 0x91000000, PAGE_SIZE, LEAF), -1);
    assert_int_equal(pgtable_map(&pt, 0x80000000, 0x92000000, SZ_2M, LEAF), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gigabyte_leaf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_is_x4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_megabyte_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
