/*
 * PMP entries as data (src/arch/riscv64m/pmp.c) on the host: the layout
 * Keel in M-mode gives a VM's harts (its RAM, its devices, its shadow
 * tables), checked against encodings worked out by hand from the
 * privileged spec 1.12, 3.7.1 (Table 3.10), and against the matching of
 * the entries it produced: every region's first and last byte with its
 * permissions, the bytes around it with none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arch/pmp.h>

#define RWX PMP_RWX
#define MiB (1UL << 20)

static struct pmp_set set;

static int layout(const struct pmp_region *r, unsigned int nr, unsigned int grain)
{
    memset(&set, 0x5a, sizeof(set));
    return pmp_layout(r, nr, grain, &set);
}

/* Every region reaches exactly its bytes: first and last with its permissions, neighbours none. */
static void assert_gives(const struct pmp_region *r, unsigned int nr)
{
    for (unsigned int i = 0; i < nr; i++) {
        u64 end = r[i].base + r[i].size;

        assert_int_equal(pmp_set_perms(&set, r[i].base, 4), r[i].perms);
        assert_int_equal(pmp_set_perms(&set, end - 4, 4), r[i].perms);
        assert_int_equal(pmp_set_perms(&set, r[i].base, r[i].size), r[i].perms);
        for (unsigned int j = 0; j < nr; j++) /* a neighbour's bytes are its own */
            if (r[j].base == end || r[j].base + r[j].size == r[i].base)
                goto next;
        if (r[i].base)
            assert_int_equal(pmp_set_perms(&set, r[i].base - 4, 4), 0);
        assert_int_equal(pmp_set_perms(&set, end, 4), 0);
next:;
    }
}

static void assert_entry(unsigned int i, u8 cfg, u64 addr)
{
    assert_int_equal(set.cfg[i], cfg);
    assert_int_equal(set.addr[i], addr);
}

static void test_one_napot(void **state)
{
    /* 128 MiB of RAM at 0x80000000: pmpaddr = 0x20000000 with the low 24 bits set */
    const struct pmp_region r[] = { { 0x80000000, 128 * MiB, RWX } };

    assert_int_equal(layout(r, 1, 0), 1);
    assert_int_equal(set.n, 1);
    assert_entry(0, PMP_A_NAPOT | RWX, 0x20ffffff);
    assert_int_equal(set.cfg[1], 0); /* the rest off */
    assert_gives(r, 1);
}

static void test_ram_and_pool(void **state)
{
    /* a VM's RAM and a vCPU's shadow pool below it, read-only: sorted by base */
    const struct pmp_region r[] = {
        { 0x88000000, 128 * MiB, RWX },
        { 0x87e00000, 2 * MiB, PMP_R },
    };

    assert_int_equal(layout(r, 2, 0), 2);
    assert_entry(0, PMP_A_NAPOT | PMP_R, 0x21f80000 | 0x3ffff);
    assert_entry(1, PMP_A_NAPOT | RWX, 0x22000000 | 0xffffff);
    assert_gives(r, 2);
    /* the pool's write and fetch are not given */
    assert_int_equal(pmp_set_perms(&set, 0x87e00000, 8) & (PMP_W | PMP_X), 0);
}

static void test_tor(void **state)
{
    /* identity RAM of 96 MiB: not a power of two, an OFF entry then TOR */
    const struct pmp_region r[] = { { 0x80000000, 96 * MiB, RWX } };

    assert_int_equal(layout(r, 1, 0), 2);
    assert_entry(0, PMP_A_OFF, 0x20000000);
    assert_entry(1, PMP_A_TOR | RWX, 0x21800000);
    assert_gives(r, 1);
}

static void test_tor_from_zero(void **state)
{
    /* entry 0's TOR starts at address 0: no OFF entry needed */
    const struct pmp_region r[] = { { 0, 0x3000, PMP_R | PMP_W } };

    assert_int_equal(layout(r, 1, 0), 1);
    assert_entry(0, PMP_A_TOR | PMP_R | PMP_W, 0xc00);
    assert_gives(r, 1);
}

static void test_tor_chain(void **state)
{
    /* two TOR regions end to end: the second's bottom is the first's top */
    const struct pmp_region r[] = {
        { 0x80100000, 2 * MiB, RWX },       /* not 2 MiB aligned */
        { 0x80300000, 3 * MiB, PMP_R },
        { 0x90000000, 1 * MiB, PMP_R | PMP_W },
    };

    assert_int_equal(layout(r, 3, 0), 4);
    assert_entry(0, PMP_A_OFF, 0x80100000 >> 2);
    assert_entry(1, PMP_A_TOR | RWX, 0x80300000 >> 2);
    assert_entry(2, PMP_A_TOR | PMP_R, 0x80600000 >> 2);
    assert_entry(3, PMP_A_NAPOT | PMP_R | PMP_W, 0x90000000 >> 2 | 0x1ffff);
    assert_gives(r, 3);
}

static void test_merge(void **state)
{
    /* RAM in two buddy blocks that happen to be adjacent: one NAPOT entry */
    const struct pmp_region r[] = {
        { 0x84000000, 64 * MiB, RWX },
        { 0x80000000, 64 * MiB, RWX },
    };
    /* adjacent but with other permissions: kept apart */
    const struct pmp_region r2[] = {
        { 0x80000000, 64 * MiB, RWX },
        { 0x84000000, 64 * MiB, PMP_R },
    };

    assert_int_equal(layout(r, 2, 0), 1);
    assert_entry(0, PMP_A_NAPOT | RWX, 0x20000000 | 0xffffff);
    assert_gives(r, 2);
    assert_int_equal(layout(r2, 2, 0), 2);
    assert_gives(r2, 2);
}

static void test_na4_and_granularity(void **state)
{
    const struct pmp_region na4[] = { { 0x10000000, 4, PMP_R | PMP_W } };
    const struct pmp_region page[] = { { 0x10001000, 0x1000, PMP_R | PMP_W } };
    const struct pmp_region half[] = { { 0x10001000, 0x800, PMP_R | PMP_W } };

    assert_int_equal(layout(na4, 1, 0), 1);
    assert_entry(0, PMP_A_NA4 | PMP_R | PMP_W, 0x4000000);
    assert_gives(na4, 1);
    /* a granularity of 4 KiB (G = 10): no NA4, nothing below 4 KiB */
    assert_int_equal(layout(na4, 1, 10), -1);
    assert_int_equal(layout(half, 1, 10), -1);
    assert_int_equal(layout(page, 1, 10), 1);
    assert_entry(0, PMP_A_NAPOT | PMP_R | PMP_W, 0x10001000 >> 2 | 0x1ff);
    assert_gives(page, 1);
}

static void test_refused(void **state)
{
    const struct pmp_region overlap[] = {
        { 0x80000000, 2 * MiB, RWX },
        { 0x80100000, 2 * MiB, PMP_R },
    };
    const struct pmp_region empty[] = { { 0x80000000, 0, RWX } };
    const struct pmp_region far[] = { { 1UL << 56, 0x1000, RWX } };
    const struct pmp_region odd[] = { { 0x80000002, 0x1000, RWX } };

    assert_int_equal(layout(overlap, 2, 0), -1);
    assert_int_equal(layout(empty, 1, 0), -1);
    assert_int_equal(layout(far, 1, 0), -1);
    assert_int_equal(layout(odd, 1, 0), -1);
}

static void test_everything(void **state)
{
    /* the whole 56-bit space: NAPOT with 53 ones */
    const struct pmp_region r[] = { { 0, 1UL << 56, RWX } };

    assert_int_equal(layout(r, 1, 0), 1);
    assert_entry(0, PMP_A_NAPOT | RWX, (1UL << 53) - 1);
    assert_int_equal(pmp_set_perms(&set, PMP_ADDR_LAST - 7, 8), RWX);
}

static void test_counts_past_the_hart(void **state)
{
    /* 40 regions that each need an OFF and a TOR entry: 80, only 64 written */
    struct pmp_region r[40];

    for (unsigned int i = 0; i < 40; i++)
        r[i] = (struct pmp_region){ 0x80000000 + i * 4 * MiB + 0x1000, 0x3000, PMP_R };
    assert_int_equal(layout(r, 40, 0), 80);
    assert_int_equal(set.n, PMP_MAX_ENTRIES);
    /* 16 scattered RAM blocks and a pool: one more than a 16-entry hart has */
    for (unsigned int i = 0; i < 16; i++)
        r[i] = (struct pmp_region){ 0x80000000 + i * 8 * MiB, 2 * MiB, RWX };
    r[16] = (struct pmp_region){ 0x90000000, 1 * MiB, PMP_R };
    assert_int_equal(layout(r, 17, 0), 17);
    assert_gives(r, 17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_napot),
        cmocka_unit_test(test_ram_and_pool),
        cmocka_unit_test(test_tor),
        cmocka_unit_test(test_tor_from_zero),
        cmocka_unit_test(test_tor_chain),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_na4_and_granularity),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_counts_past_the_hart),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
