/*
 * The policy half of the M-mode port's shadow paging (src/arch/riscv64m/
 * shadow.c) on the host: which guest frames are tracked as page tables
 * (pt_*), the shadow cache's keys, selection, fences and refresh
 * (sc_*), the pool shadow tables come from, for Sv39 and Sv48. A leaked
 * table page fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arch/csr.h>
#include <arch/pgtable.h>
#include <arch/shadow.h>

static unsigned int live; /* table pages out */

static void *t_alloc(void *ctx)
{
    void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

    assert_non_null(p);
    memset(p, 0, PAGE_SIZE);
    live++;
    return p;
}

static void t_free(void *ctx, void *p)
{
    live--;
    free(p);
}

/* The leaf of @s at @va, 0 if none: the tree walked as the hart would, 4 KiB leaves only. */
static u64 leaf(const struct shadow *s, u64 va)
{
    const u64 *t = s->root;

    for (int l = (int)s->levels - 1; l >= 0; l--) {
        u64 e = t[(va >> (12 + 9 * l)) & 511];
        if (!e)
            return 0;
        if (!l)
            return e;
        t = (const u64 *)(uintptr_t)(((e & PTE_PPN_MASK) >> PTE_PPN_SHIFT) << PAGE_SHIFT);
    }
    return 0;
}

#define GIB (1UL << 30)
#define MIB2 (1UL << 21)

static unsigned int sv39 = 3, sv48 = 4;
static unsigned int levels;
static struct shadow_cache sc;
static struct sc_dep deps[SHADOW_CACHE][SC_DEPS];

static int setup(void **state)
{
    levels = *(unsigned int *)*state;
    memset(&sc, 0, sizeof(sc));
    live = 0;
    for (unsigned int i = 0; i < SHADOW_CACHE; i++) {
        struct sc_entry *e = &sc.e[i];
        e->tree = (struct shadow){ .alloc_page = t_alloc, .free_page = t_free };
        assert_int_equal(shadow_init(&e->tree, levels), 0);
        e->deps = deps[i];
    }
    return 0;
}

static int teardown(void **state)
{
    for (unsigned int i = 0; i < SHADOW_CACHE; i++)
        shadow_destroy(&sc.e[i].tree);
    assert_int_equal(live, 0);
    return 0;
}

static void map(struct shadow *s, u64 va)
{
    assert_int_equal(shadow_map(s, va, 0x1000, PTE_R), 0);
}

/* ---- keys ---- */

static void test_key(void **state)
{
    const u64 satp = SATP_MODE_SV39 << SATP_MODE_SHIFT | 0x80123;
    u64 k = shadow_key(satp, VPRIV_S, false, false);

    assert_int_not_equal(k, 0);
    assert_int_not_equal(k, SHADOW_KEY_PHYS);
    /* the ASID does not matter: the tree is the tables' */
    assert_int_equal(shadow_key(satp | 0x55UL << SATP_ASID_SHIFT, VPRIV_S, false, false), k);
    assert_int_not_equal(shadow_key(satp, VPRIV_U, false, false), k);
    assert_int_not_equal(shadow_key(satp, VPRIV_S, true, false), k);
    assert_int_not_equal(shadow_key(satp, VPRIV_S, false, true), k);
    assert_int_not_equal(shadow_key(satp + 1, VPRIV_S, false, false), k);
    assert_int_not_equal(shadow_key(satp ^ (SATP_MODE_SV48 ^ SATP_MODE_SV39) << SATP_MODE_SHIFT,
                                    VPRIV_S, false, false), k);
}

/* ---- selection ---- */

/* Selects @key at @wgen as satp_pick does, refreshing as asked; the entry's index. */
static unsigned int pick(u64 key, u64 wgen, bool trusted, bool want_refresh)
{
    static const u64 stamp[1];
    unsigned int i;

    assert_int_equal(sc_select(&sc, key, wgen, trusted, &i), want_refresh);
    if (want_refresh)
        sc_refresh(&sc.e[i], stamp, 0, wgen, trusted);
    return i;
}

static void test_select(void **state)
{
    unsigned int k1, k2, i;

    k1 = pick(11, 1, true, true);        /* a new key: emptied first */
    map(&sc.e[k1].tree, 0x1000);
    assert_int_equal(pick(11, 5, true, false), k1); /* it serves on while the key stays... */
    k2 = pick(22, 5, true, true);
    assert_int_not_equal(k2, k1);
    /* ...but at a switch back, a write since it was built (gen 1, wgen 5) refreshes it */
    assert_int_equal(pick(11, 5, true, true), k1);
    assert_int_equal(pick(22, 5, true, false), k2); /* fresh at 5: kept */
    assert_int_equal(pick(11, 5, false, true), k1); /* not trusted: refreshed */
    /* the least recently used goes: fill the cache, 11 was used last but one */
    for (u64 k = 100; k < 100 + SHADOW_CACHE - 2; k++)
        pick(k, 5, true, true);
    pick(11, 5, true, false);
    i = pick(999, 5, true, true);
    assert_int_equal(i, k2);
    assert_int_equal(sc.e[i].key, 999);
}

static void test_fences(void **state)
{
    unsigned int a = pick(1, 1, true, true), b = pick(2, 1, true, true);

    /* every address, nothing written: nothing to do */
    sc_fence_all(&sc, 1, true);
    assert_int_equal(pick(2, 1, true, false), b);
    assert_false(sc_fence_one(&sc, a, 1, true));
    /* written: the one serving is refreshed at the next entry, the other at its switch */
    sc_fence_all(&sc, 2, true);
    assert_int_equal(pick(2, 2, true, true), b);
    assert_true(sc.e[a].fence);
    assert_int_equal(pick(1, 2, true, true), a);
    /* an address: only the entries not fresh drop its leaf */
    assert_false(sc_fence_one(&sc, a, 2, true));
    assert_true(sc_fence_one(&sc, a, 3, true));
    assert_true(sc_fence_one(&sc, a, 2, false));
    /* a flush: everything emptied, also what serves on under the same key */
    sc_empty_all(&sc);
    assert_false(sc_fence_one(&sc, a, 3, true)); /* emptied anyway */
    assert_int_equal(pick(1, 2, true, true), a);
}

/* ---- dependencies and refresh ---- */

static void test_deps(void **state)
{
    struct sc_entry *e = &sc.e[0];

    sc_dep_add(e, 7, 0, 0x1000);
    sc_dep_add(e, 7, 0, MIB2 - 1);          /* the same span */
    assert_int_equal(e->ndeps, 1);
    sc_dep_add(e, 7, 0, MIB2);               /* the same table serving another span */
    sc_dep_add(e, 7, 1, 0x1000);             /* or at another level */
    sc_dep_add(e, 8, 0, 0x1000);
    assert_int_equal(e->ndeps, 4);
    for (u64 i = 0; e->ndeps <= SC_DEPS; i++)
        sc_dep_add(e, 100 + i, 0, 0);
    assert_int_equal(e->ndeps, SC_DEPS + 1); /* overflowed: stays so */
    sc_dep_add(e, 5000, 0, 0);
    assert_int_equal(e->ndeps, SC_DEPS + 1);
}

static void test_refresh(void **state)
{
    struct sc_entry *e = &sc.e[0];
    struct shadow *s = &e->tree;
    u64 stamp[16] = { 0 };
    const u64 a = GIB + 0x3000, b = GIB + MIB2, c = 3 * GIB;

    e->gen = 10;
    map(s, a), map(s, b), map(s, c);
    sc_dep_add(e, 1, levels - 1, a); /* the root */
    sc_dep_add(e, 2, 1, a);          /* the level-1 table over a and b */
    sc_dep_add(e, 3, 0, a);          /* a's level-0 table */
    sc_dep_add(e, 4, 0, b);
    sc_dep_add(e, 5, 0, c);
    /* nothing written since: nothing goes */
    stamp[3] = 10;
    assert_false(sc_refresh(e, stamp, 0, 12, true));
    assert_int_equal(e->gen, 12);
    assert_true(leaf(s, a) && leaf(s, b) && leaf(s, c));
    /* a's level-0 table written: a's 2 MiB go, only */
    stamp[3] = 13;
    assert_true(sc_refresh(e, stamp, 0, 14, true));
    assert_true(!leaf(s, a) && leaf(s, b) && leaf(s, c));
    /* the level-1 table: its 1 GiB */
    stamp[2] = 15;
    assert_true(sc_refresh(e, stamp, 0, 15, true));
    assert_true(!leaf(s, b) && leaf(s, c));
    assert_int_equal(e->ndeps, 5);   /* still read through them */
    /* the root: everything */
    stamp[1] = 16;
    map(s, a);
    assert_true(sc_refresh(e, stamp, 0, 16, true));
    assert_true(!leaf(s, a) && !leaf(s, c));
}

static void test_refresh_empties(void **state)
{
    struct sc_entry *e = &sc.e[0];
    u64 stamp[4] = { 0 };

    for (int why = 0; why < 4; why++) {
        e->gen = 10;
        e->empty = why == 0;
        e->span = 1;
        map(&e->tree, 0x5000);
        sc_dep_add(e, 1, 0, 0x5000);
        if (why == 3)
            e->ndeps = SC_DEPS + 1;
        /* marked, not trusted, a write no frame tells, too many tables to tell */
        assert_true(sc_refresh(e, stamp, why == 2 ? 11 : 0, 12, why != 1));
        assert_int_equal(leaf(&e->tree, 0x5000), 0);
        assert_int_equal(e->ndeps, 0);
        assert_int_equal(e->span, 0); /* no superpage's leaves in it now */
        assert_false(e->empty || e->fence);
        assert_int_equal(e->gen, 12);
    }
}

/* ---- page-table frames ---- */

static void test_track(void **state)
{
    u64 bits[2] = { 0 };
    u8 writes[100] = { 0 };
    struct pt_track t = { .base = 0x80000000, .frames = 100, .bits = bits, .writes = writes };
    const u64 f = t.base + 70 * PAGE_SIZE + 0x18;

    assert_false(pt_trackable(&t, t.base - 8));
    assert_false(pt_trackable(&t, t.base + 100 * PAGE_SIZE));
    assert_true(pt_trackable(&t, t.base + 99 * PAGE_SIZE + 0xff8));
    assert_int_equal(pt_frame(&t, f), 70);
    assert_false(pt_tracked(&t, f));
    assert_true(pt_walked(&t, f));    /* newly */
    assert_false(pt_walked(&t, f));
    assert_true(pt_tracked(&t, t.base + 70 * PAGE_SIZE));
    assert_false(pt_tracked(&t, t.base + 71 * PAGE_SIZE));
    /* stores with no walk between: untracked at the PT_UNTRACK_WRITES-th */
    for (int i = 1; i < PT_UNTRACK_WRITES; i++)
        assert_false(pt_stored(&t, f, 8));
    pt_walked(&t, f);                 /* a walk through it: it is a table after all */
    for (int i = 1; i < PT_UNTRACK_WRITES; i++)
        assert_false(pt_stored(&t, f, 8));
    assert_true(pt_stored(&t, f, 8));
    assert_false(pt_tracked(&t, f));
    assert_true(pt_walked(&t, f));
    pt_untrack(&t, f);
    assert_false(pt_tracked(&t, f));
    /* narrower than a PTE: not a page table's store, untracked at once */
    pt_walked(&t, f);
    assert_true(pt_stored(&t, f, 4));
    assert_false(pt_tracked(&t, f));
    /* no tracker (no bitmap): nothing trackable */
    t.bits = NULL;
    assert_false(pt_trackable(&t, f));
    assert_false(pt_tracked(&t, f));
}

/* ---- the pool shadow tables come from ---- */

#define POOL_PAGES 16
static u64 pool_mem[POOL_PAGES * PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));

static void *p_alloc(void *ctx)
{
    return shadow_pool_alloc(ctx);
}

static void p_free(void *ctx, void *p)
{
    shadow_pool_free(ctx, p);
}

/* Whether every table below @t (at @level) is a page of [lo, hi). */
static bool tables_in(const u64 *t, unsigned int level, u64 lo, u64 hi)
{
    for (unsigned int i = 0; level && i < 512; i++) {
        u64 pa = ((t[i] & PTE_PPN_MASK) >> PTE_PPN_SHIFT) << PAGE_SHIFT;
        const u64 *next = (const u64 *)(uintptr_t)pa;

        if (t[i] && (pa < lo || pa >= hi || !tables_in(next, level - 1, lo, hi)))
            return false;
    }
    return true;
}

static void test_pool(void **state)
{
    struct shadow_pool pool;
    struct shadow s = { .alloc_page = p_alloc, .free_page = p_free, .ctx = &pool };
    u64 base = (u64)(uintptr_t)pool_mem, va = 0;
    unsigned int maps = 0;

    memset(pool_mem, 0xa5, sizeof(pool_mem));
    shadow_pool_init(&pool, pool_mem, POOL_PAGES);
    assert_int_equal(shadow_init(&s, levels), 0);
    /* pages in address order, zeroed, inside the pool */
    assert_ptr_equal(s.root, pool_mem);
    assert_int_equal(s.root[511], 0);
    /* 2 MiB apart, each leaf needs its own level-0 table (and more above): until none is left */
    for (;; va += MIB2 * (maps % 2 ? 1 : 600)) {
        if (shadow_map(&s, va, 0x1000, PTE_R))
            break;
        maps++;
        assert_int_equal(leaf(&s, va), shadow_leaf(&s, va));
        assert_true(shadow_leaf(&s, va) & PTE_V);
    }
    assert_true(maps >= 3);
    assert_int_equal(pool.used, POOL_PAGES);
    assert_int_equal(pool.peak, POOL_PAGES);
    assert_null(shadow_pool_alloc(&pool));
    assert_true(tables_in(s.root, levels - 1, base, base + sizeof(pool_mem)));
    /* emptied: everything back but the root, and reused, zeroed again */
    shadow_clear(&s);
    assert_int_equal(pool.used, 1);
    assert_int_equal(shadow_leaf(&s, 0), 0);
    assert_int_equal(shadow_map(&s, 5 * GIB, 0x2000, PTE_R | PTE_W), 0);
    assert_int_equal(shadow_leaf(&s, 5 * GIB) & ~0x3ffUL, 0x2000UL >> 2);
    assert_int_equal(shadow_leaf(&s, 5 * GIB + PAGE_SIZE), 0);
    assert_int_equal(pool.peak, POOL_PAGES);
    shadow_destroy(&s);
    assert_int_equal(pool.used, 0);
    /* a non-canonical address has no leaf */
    assert_int_equal(shadow_init(&s, levels), 0);
    assert_int_equal(shadow_leaf(&s, 1UL << 62), 0);
    shadow_destroy(&s);
}

#define BOTH(f) \
    { .name = #f " sv39", .test_func = f, .setup_func = setup, .teardown_func = teardown, .initial_state = &sv39 }, \
    { .name = #f " sv48", .test_func = f, .setup_func = setup, .teardown_func = teardown, .initial_state = &sv48 }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_key),
        BOTH(test_select),
        BOTH(test_fences),
        BOTH(test_deps),
        BOTH(test_refresh),
        BOTH(test_refresh_empties),
        BOTH(test_track),
        BOTH(test_pool),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
