/*
 * Shadow paging of the M-mode port (src/arch/riscv64m/shadow.c) on the
 * host, every test for Sv39 and Sv48: the guest walk over small tables in a
 * fake guest RAM, rule by rule of the privileged spec 1.12 (4.3.2, formats
 * 4.4 and 4.5); the shadow tree, walked as the hart would walk it (gpt_walk
 * over host memory, at U, without SUM or MXR); and a randomized cross-check
 * of the two. A leaked table page fails the teardown, and ASan's leak check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arch/csr.h>
#include <arch/pgtable.h>
#include <arch/shadow.h>

#define RWX (PTE_R | PTE_W | PTE_X)
#define AD (PTE_A | PTE_D)
#define DATA BIT(40)            /* a guest page the leaves name: aligned at every level, not RAM */
#define DATA2 (BIT(40) + BIT(39))
#define LVL_SIZE(l) (1UL << (12 + 9 * (l)))

static const int pf[] = { [GPT_FETCH] = EXC_INST_PAGE_FAULT, [GPT_LOAD] = EXC_LOAD_PAGE_FAULT,
                          [GPT_STORE] = EXC_STORE_PAGE_FAULT };
static const int af[] = { [GPT_FETCH] = EXC_INST_ACCESS, [GPT_LOAD] = EXC_LOAD_ACCESS,
                          [GPT_STORE] = EXC_STORE_ACCESS };
static const u64 acc_perm[] = { [GPT_FETCH] = PTE_X, [GPT_LOAD] = PTE_R, [GPT_STORE] = PTE_W };

/* ---- the fake guest RAM: the tables live here, PTEs read and swapped through the callbacks ---- */

#define RAM_BASE 0x80000000UL
#define RAM_SIZE (8UL << 20)

static u64 ram[RAM_SIZE / 8] __aligned(4096);
static unsigned int ram_next; /* pages handed out by gpage() */

static struct {
    unsigned int reads, cas_calls;
    bool cas_fail;      /* cas64 cannot reach memory */
    bool dry;           /* cas64 reports a swap but stores nothing: a walk that changes no PTE */
    void (*hook)(void); /* run once, by the next cas64, before it compares: another hart's store */
} gm;

static bool in_ram(u64 gpa)
{
    return gpa >= RAM_BASE && gpa < RAM_BASE + RAM_SIZE;
}

static u64 *ram_at(u64 gpa)
{
    assert_true(in_ram(gpa) && IS_ALIGNED(gpa, 8));
    return &ram[(gpa - RAM_BASE) / 8];
}

static int g_read64(void *ctx, u64 gpa, u64 *val)
{
    assert_ptr_equal(ctx, &gm);
    assert_true(IS_ALIGNED(gpa, 8));
    gm.reads++;
    if (!in_ram(gpa))
        return -1;
    *val = *ram_at(gpa);
    return 0;
}

static int g_cas64(void *ctx, u64 gpa, u64 old, u64 new_val, u64 *seen)
{
    assert_ptr_equal(ctx, &gm);
    gm.cas_calls++;
    if (gm.cas_fail || !in_ram(gpa))
        return -1;
    if (gm.hook) {
        void (*hook)(void) = gm.hook;
        gm.hook = NULL;
        hook();
    }
    *seen = *ram_at(gpa);
    if (*seen == old && !gm.dry)
        *ram_at(gpa) = new_val;
    return 0;
}

static const struct gpt_mem gmem = { .ctx = &gm, .read64 = g_read64, .cas64 = g_cas64 };

/* ---- host pages for the shadow, and the hart's view of them (identity, no A/D update) ---- */

#define MAX_PAGES 4096

static struct {
    void *page[MAX_PAGES];
    unsigned int live, allocs, limit;
} hp;

static void *h_alloc(void *ctx)
{
    void *p;

    assert_ptr_equal(ctx, &hp);
    if (hp.allocs >= hp.limit)
        return NULL;
    assert_true(hp.live < MAX_PAGES);
    p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
    assert_non_null(p);
    memset(p, 0, PAGE_SIZE);
    hp.page[hp.live++] = p;
    hp.allocs++;
    return p;
}

static int h_index(const void *p)
{
    for (unsigned int i = 0; i < hp.live; i++)
        if (hp.page[i] == p)
            return (int)i;
    return -1;
}

static void h_free(void *ctx, void *p)
{
    int i = h_index(p);

    assert_ptr_equal(ctx, &hp);
    assert_true(i >= 0); /* ours, and not freed twice */
    hp.page[i] = hp.page[--hp.live];
    free(p);
}

/* The hart reads the shadow only where a live table page is: a dangling pointer fails the walk. */
static int h_read64(void *ctx, u64 pa, u64 *val)
{
    if (h_index((void *)(uintptr_t)ALIGN_DOWN(pa, PAGE_SIZE)) < 0)
        return -1;
    *val = *(const u64 *)(uintptr_t)pa;
    return 0;
}

static int h_cas64(void *ctx, u64 pa, u64 old, u64 new_val, u64 *seen)
{
    fail_msg("the shadow needed an A/D update at %#lx", (unsigned long)pa);
    return -1;
}

static const struct gpt_mem hmem = { .read64 = h_read64, .cas64 = h_cas64 };

/* ---- fixture: one guest table root, one shadow, of the test's levels ---- */

static unsigned int sv39 = 3, sv48 = 4;
static unsigned int levels;
static u64 root, satp, satp_mode;
static struct shadow sh;
static struct gpt_result res;

static u64 gpage(void)
{
    assert_true(ram_next < RAM_SIZE / PAGE_SIZE);
    return RAM_BASE + PAGE_SIZE * ram_next++;
}

static int setup(void **state)
{
    levels = *(unsigned int *)*state;
    memset(ram, 0, sizeof(ram));
    ram_next = 0;
    memset(&gm, 0, sizeof(gm));
    root = gpage();
    satp_mode = levels == 4 ? SATP_MODE_SV48 : SATP_MODE_SV39;
    satp = satp_mode << SATP_MODE_SHIFT | root >> PAGE_SHIFT;
    memset(&hp, 0, sizeof(hp));
    hp.limit = ~0U;
    sh = (struct shadow){ .alloc_page = h_alloc, .free_page = h_free, .ctx = &hp };
    assert_int_equal(shadow_init(&sh, levels), 0);
    return 0;
}

static int teardown(void **state)
{
    shadow_destroy(&sh);
    assert_null(sh.root);
    assert_int_equal(hp.live, 0);
    return 0;
}

static u64 pte(u64 pa, u64 flags)
{
    return (pa >> PAGE_SHIFT) << PTE_PPN_SHIFT | flags;
}

static u64 pte_pa(u64 pte)
{
    return ((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT) << PAGE_SHIFT;
}

static unsigned int vpn(u64 va, unsigned int level)
{
    return (va >> (12 + 9 * level)) & 511;
}

/* @va sign-extended from the top bit of the test's VA width */
static u64 canon(u64 va)
{
    unsigned int unused = 64 - (12 + 9 * levels);

    return (u64)((s64)(va << unused) >> unused);
}

/* A canonical VA with a non-zero index at every level, @top at the root (>= 256: upper half). */
static u64 tva(unsigned int top)
{
    u64 va = 0x123 | 0x45UL << 12 | 0x67UL << 21 | 0x89UL << 30 | 0xabUL << 39;
    unsigned int shift = 12 + 9 * (levels - 1);

    va &= BIT(shift) - 1;
    return canon(va | (u64)top << shift);
}

static bool is_pointer(u64 e)
{
    return (e & (PTE_V | RWX | PTE_U | AD | GENMASK(63, 54))) == PTE_V && in_ram(pte_pa(e));
}

/* The guest PTE slot for @va at @level, pointer tables made on the way; NULL if a leaf or junk is in the way. */
static u64 *gslot(u64 va, unsigned int level)
{
    u64 table = root;

    for (unsigned int l = levels - 1; l > level; l--) {
        u64 *e = ram_at(table + vpn(va, l) * 8);
        if (!*e)
            *e = pte(gpage(), PTE_V);
        if (!is_pointer(*e))
            return NULL;
        table = pte_pa(*e);
    }
    return ram_at(table + vpn(va, level) * 8);
}

static u64 *gmap(u64 va, unsigned int level, u64 pa, u64 flags)
{
    u64 *slot = gslot(va, level);

    assert_non_null(slot);
    *slot = pte(pa, flags);
    return slot;
}

static int walk(u64 va, enum gpt_access acc, enum vpriv priv, bool sum, bool mxr)
{
    memset(&res, 0xa5, sizeof(res));
    return gpt_walk(&gmem, satp, va, acc, priv, sum, mxr, &res);
}

/* Every access at @va page-faults, whatever the privilege, SUM and MXR, and no PTE is swapped. */
static void assert_all_pf(u64 va)
{
    unsigned int cas_calls = gm.cas_calls;

    for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++)
        for (int ctx = 0; ctx < 8; ctx++)
            assert_int_equal(walk(va, acc, ctx & 1 ? VPRIV_S : VPRIV_U, ctx & 2, ctx & 4), pf[acc]);
    assert_int_equal(gm.cas_calls, cas_calls);
}

/* Every access at @va as S (U=0 leaves) reaches @gpa. */
static void assert_all_ok(u64 va, u64 gpa)
{
    for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
        assert_int_equal(walk(va, acc, VPRIV_S, false, false), 0);
        assert_int_equal(res.gpa, gpa);
    }
}

/* ---- the guest walk ---- */

static void test_4k_leaf(void **state)
{
    u64 va = tva(3), hi = tva(300);
    u64 *slot = gmap(va, 0, DATA, PTE_V | RWX | AD);

    for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
        assert_int_equal(walk(va, acc, VPRIV_S, false, false), 0);
        assert_int_equal(res.gpa, DATA | 0x123);
        assert_int_equal(res.level, 0);
        assert_int_equal(res.pte, *slot);
    }
    assert_int_equal(walk(va + 0xedc, GPT_LOAD, VPRIV_S, false, false), 0);
    assert_int_equal(res.gpa, DATA | 0xfff);
    /* the upper half, distinct tables */
    assert_true(hi >> 63);
    gmap(hi, 0, DATA2, PTE_V | PTE_R | AD);
    assert_int_equal(walk(hi, GPT_LOAD, VPRIV_S, false, false), 0);
    assert_int_equal(res.gpa, DATA2 | 0x123);
    assert_int_equal(gm.cas_calls, 0);
}

/* 2 MiB, 1 GiB (and 512 GiB for Sv48) leaves: the VA's low bits pass through; misaligned PPNs fault. */
static void test_superpages(void **state)
{
    for (unsigned int l = 1; l < levels; l++) {
        u64 size = LVL_SIZE(l), gpa = 3 * size;
        u64 base = tva(10 + l) & ~(size - 1), va = base + size - 0x1238;
        u64 *slot = gmap(base, l, gpa, PTE_V | RWX | AD);

        for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
            assert_int_equal(walk(va, acc, VPRIV_S, false, false), 0);
            assert_int_equal(res.gpa, gpa + size - 0x1238);
            assert_int_equal(res.level, l);
            assert_int_equal(res.pte, *slot);
        }
        assert_int_equal(walk(base, GPT_LOAD, VPRIV_S, false, false), 0);
        assert_int_equal(res.gpa, gpa);
        /* the lowest and the highest bit of PPN[l-1:0] (4.3.2 step 6); A clear: not set either */
        for (unsigned int bit = 0; bit < 9 * l; bit += 9 * l - 1) {
            u64 bad = pte(gpa + (PAGE_SIZE << bit), PTE_V | RWX);
            *slot = bad;
            assert_all_pf(va);
            assert_int_equal(*slot, bad);
        }
        /* the next bit up is an aligned address */
        *slot = pte(gpa + size, PTE_V | RWX | AD);
        assert_all_ok(base, gpa + size);
    }
}

static void test_noncanonical(void **state)
{
    unsigned int vabits = 12 + 9 * levels;
    const u64 bad[] = {
        BIT(vabits - 1), BIT(vabits), BIT(63), ~0UL ^ BIT(vabits - 1),
        BIT(63) | (BIT(vabits - 1) - 1), canon(tva(5)) ^ BIT(60), 0x00007ffffffff000,
    };
    u64 top = ~0UL & ~(PAGE_SIZE - 1);

    gmap(0, 0, DATA, PTE_V | RWX | AD);
    gmap(top, 0, DATA2, PTE_V | RWX | AD);
    gmap(tva(5), 0, DATA, PTE_V | RWX | AD);
    assert_all_ok(0, DATA);
    assert_all_ok(top | 0xfff, DATA2 | 0xfff);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        if (levels == 4 && bad[i] == 0x00007ffffffff000)
            continue; /* Sv48's: below */
        gm.reads = 0;
        assert_all_pf(bad[i]);
        assert_int_equal(gm.reads, 0); /* refused before any PTE is read */
    }
    if (levels == 4) {
        gmap(0x00007ffffffff000, 0, DATA, PTE_V | RWX | AD);
        assert_all_ok(0x00007ffffffff008, DATA | 8);
    }
}

/* V=0, and W without R (with or without X), at every level (4.3.2 step 3) */
static void test_invalid_pte(void **state)
{
    u64 va = tva(5);

    for (int l = (int)levels - 1; l >= 0; l--) {
        u64 *slot = gslot(va, l);
        const u64 bad[] = {
            0, pte(DATA, RWX | AD | PTE_U), pte(DATA, PTE_V | PTE_W | AD),
            pte(DATA, PTE_V | PTE_W | PTE_X | AD), pte(DATA, PTE_V | PTE_W | PTE_U | AD),
            pte(gpage(), 0), /* a pointer without V */
        };
        for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
            *slot = bad[i];
            assert_all_pf(va);
        }
        *slot = pte(DATA, PTE_V | RWX | AD); /* the same slot valid: reached */
        assert_all_ok(va, DATA | (va & (LVL_SIZE(l) - 1)));
        *slot = 0;
    }
}

/* Bits 63:54 in any PTE (4.4.1); D, A, U in a pointer (4.3.1); both 4.3.2 step 3. G and RSW are fine. */
static void test_reserved_bits(void **state)
{
    u64 va = tva(6), good = pte(DATA, PTE_V | RWX | AD);
    u64 *leaf = gmap(va, 0, DATA, PTE_V | RWX | AD);
    const u64 fine[] = { PTE_G, BIT(8), BIT(9) };

    for (unsigned int b = 54; b < 64; b++) {
        *leaf = good | BIT(b);
        assert_all_pf(va);
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(fine); i++) {
        *leaf = good | fine[i];
        assert_all_ok(va, DATA | 0x123);
    }
    *leaf = good;
    for (unsigned int l = 1; l < levels; l++) {
        u64 *ptr = gslot(va, l), was = *ptr;
        const u64 rsvd[] = { PTE_A, PTE_D, PTE_U, PTE_A | PTE_D };

        for (unsigned int b = 54; b < 64; b++) {
            *ptr = was | BIT(b);
            assert_all_pf(va);
        }
        for (unsigned int i = 0; i < ARRAY_SIZE(rsvd); i++) {
            *ptr = was | rsvd[i];
            assert_all_pf(va);
        }
        for (unsigned int i = 0; i < ARRAY_SIZE(fine); i++) {
            *ptr = was | fine[i];
            assert_all_ok(va, DATA | 0x123);
        }
        *ptr = was;
    }
}

/* A pointer where only a leaf can be (4.3.2 step 4, i < 0) */
static void test_pointer_at_level0(void **state)
{
    u64 va = tva(7);
    u64 *slot = gmap(va, 0, gpage(), PTE_V);

    assert_all_pf(va);
    *slot |= PTE_G;
    assert_all_pf(va);
}

/* A PTE outside guest RAM, or an A/D update that cannot be stored: access faults (4.3.2 steps 2, 7). */
static void test_access_faults(void **state)
{
    u64 va = tva(8), saved = satp;
    const u64 outside[] = { 0x1000, RAM_BASE - PAGE_SIZE, RAM_BASE + RAM_SIZE, BIT(55) };
    u64 *leaf = gmap(va, 0, DATA, PTE_V | RWX | AD);

    for (unsigned int i = 0; i < ARRAY_SIZE(outside); i++) {
        satp = satp_mode << SATP_MODE_SHIFT | outside[i] >> PAGE_SHIFT;
        for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
            assert_int_equal(walk(va, acc, VPRIV_S, false, false), af[acc]);
            assert_int_equal(walk(va, acc, VPRIV_U, true, true), af[acc]);
        }
    }
    satp = saved;
    for (unsigned int l = 1; l < levels; l++) {
        u64 *ptr = gslot(va, l), was = *ptr;
        for (unsigned int i = 0; i < ARRAY_SIZE(outside); i++) {
            *ptr = pte(outside[i], PTE_V);
            for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++)
                assert_int_equal(walk(va, acc, VPRIV_S, false, false), af[acc]);
        }
        *ptr = was;
    }
    /* the leaf's own page outside RAM is no concern of the walk (DATA is not RAM) */
    assert_all_ok(va, DATA | 0x123);
    gm.cas_fail = true;
    *leaf = pte(DATA, PTE_V | RWX);
    for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++)
        assert_int_equal(walk(va, acc, VPRIV_S, false, false), af[acc]);
    assert_int_equal(*leaf, pte(DATA, PTE_V | RWX));
    /* with A set only a store has to update (D) */
    *leaf = pte(DATA, PTE_V | RWX | PTE_A);
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, false, false), 0);
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_S, false, false), 0);
    assert_int_equal(walk(va, GPT_STORE, VPRIV_S, false, false), EXC_STORE_ACCESS);
}

static void test_fetch_needs_x(void **state)
{
    u64 va = tva(9);
    u64 *leaf = gmap(va, 0, DATA, PTE_V | PTE_R | AD);

    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, true, true), EXC_INST_PAGE_FAULT);
    *leaf = pte(DATA, PTE_V | PTE_R | PTE_W | AD);
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, true, true), EXC_INST_PAGE_FAULT);
    *leaf = pte(DATA, PTE_V | PTE_R | PTE_W | PTE_U | AD);
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_U, false, true), EXC_INST_PAGE_FAULT);
    *leaf = pte(DATA, PTE_V | PTE_X | AD);
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, false, false), 0);
    *leaf = pte(DATA, PTE_V | PTE_X | PTE_U | AD);
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_U, false, false), 0);
}

static void test_load_needs_r_or_mxr(void **state)
{
    u64 va = tva(9);
    u64 *leaf = gmap(va, 0, DATA, PTE_V | PTE_X | AD);

    assert_int_equal(walk(va, GPT_LOAD, VPRIV_S, false, false), EXC_LOAD_PAGE_FAULT);
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_S, false, true), 0);
    /* MXR makes X readable, not writable */
    assert_int_equal(walk(va, GPT_STORE, VPRIV_S, false, true), EXC_STORE_PAGE_FAULT);
    *leaf = pte(DATA, PTE_V | PTE_X | PTE_U | AD);
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_U, false, false), EXC_LOAD_PAGE_FAULT);
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_U, false, true), 0);
    *leaf = pte(DATA, PTE_V | PTE_R | AD);
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_S, false, false), 0);
    /* MXR gives nothing to a non-executable page's fetches */
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, false, true), EXC_INST_PAGE_FAULT);
}

static void test_store_needs_w(void **state)
{
    u64 va = tva(9);
    const u64 no[] = { PTE_R, PTE_R | PTE_X, PTE_X }, yes[] = { PTE_R | PTE_W, RWX };

    for (unsigned int i = 0; i < ARRAY_SIZE(no); i++) {
        gmap(va, 0, DATA, PTE_V | no[i] | AD);
        assert_int_equal(walk(va, GPT_STORE, VPRIV_S, true, true), EXC_STORE_PAGE_FAULT);
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(yes); i++) {
        gmap(va, 0, DATA, PTE_V | yes[i] | AD);
        assert_int_equal(walk(va, GPT_STORE, VPRIV_S, false, false), 0);
    }
}

/* U=1: U-mode's; S only for data and only with SUM. U=0: never U-mode's, whatever SUM (4.3.1, 4.1.1.2). */
static void test_u_bit(void **state)
{
    u64 va = tva(9);
    u64 *leaf = gmap(va, 0, DATA, PTE_V | RWX | PTE_U | AD);

    for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
        assert_int_equal(walk(va, acc, VPRIV_U, false, false), 0);
        assert_int_equal(walk(va, acc, VPRIV_S, false, false), pf[acc]);
        assert_int_equal(walk(va, acc, VPRIV_S, true, acc != GPT_FETCH), acc == GPT_FETCH ? pf[acc] : 0);
    }
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, true, true), EXC_INST_PAGE_FAULT);
    *leaf = pte(DATA, PTE_V | RWX | AD);
    for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
        assert_int_equal(walk(va, acc, VPRIV_U, true, true), pf[acc]);
        assert_int_equal(walk(va, acc, VPRIV_S, false, false), 0);
        assert_int_equal(walk(va, acc, VPRIV_S, true, false), 0);
    }
}

/* The spec's sentences on R/W/X/U, SUM and MXR, one each, to compare against. */
static bool spec_allows(u64 pte, enum gpt_access acc, enum vpriv priv, bool sum, bool mxr)
{
    bool r = pte & PTE_R, w = pte & PTE_W, x = pte & PTE_X, u = pte & PTE_U;

    if ((!r && w) || (!r && !x))
        return false; /* W without R: reserved; neither R nor X: a pointer, at level 0 */
    if (priv == VPRIV_U && !u)
        return false; /* "U-mode software may only access the page when U=1" */
    if (priv == VPRIV_S && u && acc == GPT_FETCH)
        return false; /* "Irrespective of SUM, the supervisor may not execute code on pages with U=1" */
    if (priv == VPRIV_S && u && !sum)
        return false; /* SUM=0: S accesses to U pages fault */
    if (acc == GPT_FETCH)
        return x;
    if (acc == GPT_STORE)
        return w;
    return r || (mxr && x); /* MXR: loads from R=1 or X=1 pages */
}

/*
 * Every X/W/R/U/privilege/SUM/MXR/access combination against the spec, and
 * shadow_perms agreeing with the walk (W only once D is set).
 */
static void test_perm_matrix(void **state)
{
    u64 va = tva(9);
    u64 *leaf = gslot(va, 0);

    for (unsigned int bits = 0; bits < 64; bits++) {
        u64 flags = (bits & 7) << 1 | (bits & 8 ? PTE_U : 0);
        enum vpriv priv = bits & 16 ? VPRIV_S : VPRIV_U;
        bool sum = bits & 32;
        for (int mxr = 0; mxr < 2; mxr++) {
            for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
                bool ok = spec_allows(flags, acc, priv, sum, mxr);
                struct gpt_result clean = { .pte = pte(DATA, PTE_V | PTE_A | flags) };
                *leaf = pte(DATA, PTE_V | AD | flags);
                assert_int_equal(walk(va, acc, priv, sum, mxr), ok ? 0 : pf[acc]);
                if ((flags & (PTE_R | PTE_W)) == PTE_W || !(flags & RWX))
                    continue; /* not a leaf: no result to give shadow_perms */
                assert_int_equal(!!(shadow_perms(&clean, priv, sum, mxr) & acc_perm[acc]),
                                 ok && acc != GPT_STORE);
                clean.pte |= PTE_D;
                assert_int_equal(!!(shadow_perms(&clean, priv, sum, mxr) & acc_perm[acc]), ok);
            }
        }
    }
}

/* A and D set as a hart with hardware update sets them: A on any access, D on a store, nothing on a fault. */
static void test_accessed_dirty(void **state)
{
    u64 va = tva(10);
    u64 *leaf = gslot(va, 0);
    const struct { u64 before; enum gpt_access acc; u64 after; unsigned int cas_calls; } t[] = {
        { PTE_V | RWX, GPT_LOAD, PTE_V | RWX | PTE_A, 1 },
        { PTE_V | RWX, GPT_FETCH, PTE_V | RWX | PTE_A, 1 },
        { PTE_V | RWX, GPT_STORE, PTE_V | RWX | AD, 1 },
        { PTE_V | RWX | PTE_A, GPT_STORE, PTE_V | RWX | AD, 1 },
        { PTE_V | RWX | PTE_A, GPT_LOAD, PTE_V | RWX | PTE_A, 0 },
        { PTE_V | RWX | PTE_D, GPT_LOAD, PTE_V | RWX | AD, 1 },
        { PTE_V | RWX | AD, GPT_STORE, PTE_V | RWX | AD, 0 },
        { PTE_V | RWX | PTE_G | BIT(9), GPT_LOAD, PTE_V | RWX | PTE_G | BIT(9) | PTE_A, 1 },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
        gm.cas_calls = 0;
        *leaf = pte(DATA, t[i].before);
        assert_int_equal(walk(va, t[i].acc, VPRIV_S, false, false), 0);
        assert_int_equal(*leaf, pte(DATA, t[i].after));
        assert_int_equal(res.pte, *leaf); /* as now in memory */
        assert_int_equal(gm.cas_calls, t[i].cas_calls);
    }
    /* a faulting access sets nothing */
    *leaf = pte(DATA, PTE_V | PTE_R);
    assert_int_equal(walk(va, GPT_STORE, VPRIV_S, false, false), EXC_STORE_PAGE_FAULT);
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, false, false), EXC_INST_PAGE_FAULT);
    *leaf = pte(DATA, PTE_V | PTE_R | PTE_U);
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_S, false, false), EXC_LOAD_PAGE_FAULT);
    assert_int_equal(*leaf, pte(DATA, PTE_V | PTE_R | PTE_U));
    /* a superpage's own PTE gets them; the pointers above never do */
    for (unsigned int l = 1; l < levels; l++) {
        u64 base = tva(20 + l) & ~(LVL_SIZE(l) - 1);
        u64 *sp = gmap(base, l, DATA, PTE_V | RWX);
        assert_int_equal(walk(base + 0x5008, GPT_STORE, VPRIV_S, false, false), 0);
        assert_int_equal(*sp, pte(DATA, PTE_V | RWX | AD));
        for (unsigned int p = l + 1; p < levels; p++)
            assert_int_equal(*gslot(base, p) & 0x3ff, PTE_V);
    }
}

static struct { u64 *slot, val; } hook_w[2];

static void hook_write(void)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(hook_w); i++)
        if (hook_w[i].slot)
            *hook_w[i].slot = hook_w[i].val;
}

static void set_hook(u64 *s0, u64 v0, u64 *s1, u64 v1)
{
    hook_w[0].slot = s0;
    hook_w[0].val = v0;
    hook_w[1].slot = s1;
    hook_w[1].val = v1;
    gm.hook = hook_write;
    gm.cas_calls = 0;
}

/* Another hart stores to the PTE between the walk's read and its A/D update (4.3.2 step 7). */
static void test_cas_retry(void **state)
{
    u64 va = tva(11);
    u64 *leaf = gmap(va, 0, DATA, PTE_V | RWX);
    u64 *top = gslot(va, levels - 1), old_ptr = *top, new_ptr;

    /* remapped: the retry translates with the new PPN, and updates that */
    set_hook(leaf, pte(DATA2, PTE_V | RWX), NULL, 0);
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_S, false, false), 0);
    assert_int_equal(res.gpa, DATA2 | 0x123);
    assert_int_equal(*leaf, pte(DATA2, PTE_V | RWX | PTE_A));
    assert_int_equal(gm.cas_calls, 2);
    /* made invalid: the retry faults */
    *leaf = pte(DATA, PTE_V | RWX);
    set_hook(leaf, 0, NULL, 0);
    assert_int_equal(walk(va, GPT_FETCH, VPRIV_S, false, false), EXC_INST_PAGE_FAULT);
    assert_int_equal(*leaf, 0);
    assert_int_equal(gm.cas_calls, 1);
    /* write-protected: the retry checks the permission again, D stays clear */
    *leaf = pte(DATA, PTE_V | RWX);
    set_hook(leaf, pte(DATA, PTE_V | PTE_R | PTE_X), NULL, 0);
    assert_int_equal(walk(va, GPT_STORE, VPRIV_S, false, false), EXC_STORE_PAGE_FAULT);
    assert_int_equal(*leaf, pte(DATA, PTE_V | PTE_R | PTE_X));
    /*
     * The root's entry moved to another table as well: the retry starts at
     * the root and finds the new leaf (A set: no second update); the old
     * leaf, changed under the first update, is left as the other hart left it.
     */
    *leaf = pte(DATA, PTE_V | RWX);
    *top = 0;
    gmap(va, 0, DATA2, PTE_V | RWX | PTE_A);
    new_ptr = *top;
    *top = old_ptr;
    set_hook(top, new_ptr, leaf, pte(DATA, PTE_V | RWX | PTE_G));
    assert_int_equal(walk(va, GPT_LOAD, VPRIV_S, false, false), 0);
    assert_int_equal(res.gpa, DATA2 | 0x123);
    assert_int_equal(gm.cas_calls, 1);
    assert_int_equal(*leaf, pte(DATA, PTE_V | RWX | PTE_G));
}

/* Only MODE Sv39/Sv48 walks; the ASID takes no part in the walk (4.1.11). */
static void test_satp(void **state)
{
    u64 va = tva(12), saved = satp;
    const u64 modes[] = { SATP_MODE_BARE, 1, 7, 10, 11, 15, levels == 4 ? SATP_MODE_SV39 : SATP_MODE_SV48 };

    gmap(va, 0, DATA, PTE_V | RWX | AD);
    for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++) {
        satp = modes[i] << SATP_MODE_SHIFT | root >> PAGE_SHIFT;
        if (modes[i] == SATP_MODE_SV39 || modes[i] == SATP_MODE_SV48) {
            /* the other mode reads the same root with other indices: never this leaf */
            assert_true(walk(va, GPT_LOAD, VPRIV_S, false, false) != 0 || res.gpa != (DATA | 0x123));
            continue;
        }
        gm.reads = 0;
        assert_all_pf(va);
        assert_int_equal(gm.reads, 0);
    }
    satp = saved | SATP_ASID;
    assert_all_ok(va, DATA | 0x123);
}

/* The PPN is bits 53:10, all 44 of them (4.4.1, 4.5.1): 56-bit guest-physical addresses. */
static void test_ppn_width(void **state)
{
    u64 va = tva(13), ppn = GENMASK(43, 0);

    *gslot(va, 0) = ppn << PTE_PPN_SHIFT | PTE_V | RWX | AD;
    assert_all_ok(va, ppn << PAGE_SHIFT | 0x123);
    assert_int_equal(res.gpa, BIT(56) - PAGE_SIZE + 0x123);
}

/* ---- the shadow tree ---- */

/* The hart's walk of the shadow: U-mode, no SUM, no MXR, as the guest always runs. */
static int swalk(u64 va, enum gpt_access acc, struct gpt_result *r)
{
    return gpt_walk(&hmem, shadow_satp(&sh), va, acc, VPRIV_U, false, false, r);
}

static void assert_smap(u64 va, u64 hpa, u64 perms)
{
    struct gpt_result r;

    for (int acc = GPT_FETCH; acc <= GPT_STORE; acc++) {
        if (!(perms & acc_perm[acc])) {
            assert_int_equal(swalk(va, acc, &r), pf[acc]);
            continue;
        }
        assert_int_equal(swalk(va, acc, &r), 0);
        assert_int_equal(r.gpa, hpa | (va & (PAGE_SIZE - 1)));
        assert_int_equal(r.level, 0);
        assert_int_equal(r.pte, pte(hpa, perms | PTE_V | PTE_U | AD));
    }
}

static void test_shadow_init_satp(void **state)
{
    struct shadow s = { .alloc_page = h_alloc, .free_page = h_free, .ctx = &hp };
    u64 v = shadow_satp(&sh);

    assert_int_equal(v >> SATP_MODE_SHIFT, satp_mode);
    assert_int_equal(v & SATP_ASID, 0);
    assert_int_equal((v & SATP_PPN) << PAGE_SHIFT, (u64)(uintptr_t)sh.root);
    assert_int_equal(sh.levels, levels);
    assert_int_equal(hp.live, 1);
    for (unsigned int i = 0; i < PT_ENTRIES; i++)
        assert_int_equal(sh.root[i], 0);
    assert_int_equal(swalk(0, GPT_LOAD, &res), EXC_LOAD_PAGE_FAULT);
    /* no other depth; no page */
    assert_int_equal(shadow_init(&s, 2), -1);
    assert_int_equal(shadow_init(&s, 5), -1);
    assert_int_equal(hp.allocs, 1);
    hp.limit = hp.allocs;
    assert_int_equal(shadow_init(&s, levels), -1);
}

static void test_shadow_map(void **state)
{
    const u64 hpa = 0x123456789000, hpa2 = 0xabc000;
    u64 va = tva(3), hi = tva(400);
    unsigned int allocs = hp.allocs;

    assert_int_equal(shadow_map(&sh, va & ~0xfffUL, hpa, RWX), 0);
    assert_int_equal(hp.allocs - allocs, levels - 1); /* one table per level below the root */
    assert_smap(va, hpa, RWX);
    /* pointers are V only (a walk would fault on U/A/D there, 4.3.1) */
    assert_int_equal(sh.root[vpn(va, levels - 1)] & 0x3ff, PTE_V);
    /* the next page shares every table */
    assert_int_equal(shadow_map(&sh, (va & ~0xfffUL) + PAGE_SIZE, hpa2, PTE_R), 0);
    assert_int_equal(hp.allocs - allocs, levels - 1);
    assert_smap(va + PAGE_SIZE, hpa2, PTE_R);
    assert_smap(va, hpa, RWX);
    /* the upper half: its own tables */
    assert_int_equal(shadow_map(&sh, hi & ~0xfffUL, hpa2, PTE_R | PTE_X), 0);
    assert_int_equal(hp.allocs - allocs, 2 * (levels - 1));
    assert_smap(hi, hpa2, PTE_R | PTE_X);
    /* execute-only: the real MXR is clear, so loads fault */
    assert_int_equal(shadow_map(&sh, 0, hpa, PTE_X), 0);
    assert_smap(0x10, hpa, PTE_X);
    /* every page-aligned canonical extreme */
    assert_int_equal(shadow_map(&sh, ~0UL & ~0xfffUL, hpa, PTE_R | PTE_W), 0);
    assert_smap(~0UL, hpa, PTE_R | PTE_W);
    assert_int_equal(shadow_map(&sh, BIT(11 + 9 * levels) - PAGE_SIZE, BIT(56) - PAGE_SIZE, PTE_R), 0);
    assert_smap(BIT(11 + 9 * levels) - 1, BIT(56) - PAGE_SIZE, PTE_R);
    assert_int_equal(shadow_map(&sh, canon(BIT(11 + 9 * levels)), 0, PTE_R), 0);
    assert_smap(canon(BIT(11 + 9 * levels)), 0, PTE_R);
}

static void test_shadow_replace(void **state)
{
    u64 va = tva(4) & ~0xfffUL;
    unsigned int allocs;

    assert_int_equal(shadow_map(&sh, va, 0x1000, PTE_R | PTE_W), 0);
    allocs = hp.allocs;
    assert_int_equal(shadow_map(&sh, va, 0x2000, PTE_R), 0);
    assert_int_equal(hp.allocs, allocs);
    assert_smap(va, 0x2000, PTE_R);
    assert_int_equal(shadow_map(&sh, va, 0x3000, RWX), 0);
    assert_smap(va + 0x777, 0x3000, RWX);
}

static void test_shadow_unmap(void **state)
{
    u64 a = tva(5) & ~0xfffUL, b = a + PAGE_SIZE;
    unsigned int allocs, live;

    assert_int_equal(shadow_map(&sh, a, 0x1000, RWX), 0);
    assert_int_equal(shadow_map(&sh, b, 0x2000, RWX), 0);
    allocs = hp.allocs;
    live = hp.live;
    shadow_unmap(&sh, a + 0x10); /* any address in the page */
    assert_smap(a, 0, 0);
    assert_smap(b, 0x2000, RWX);
    shadow_unmap(&sh, a);
    shadow_unmap(&sh, tva(300));     /* nothing there: nothing made */
    shadow_unmap(&sh, BIT(63));      /* not canonical: ignored */
    assert_int_equal(hp.allocs, allocs);
    assert_int_equal(hp.live, live); /* tables are kept until shadow_clear */
    assert_smap(b, 0x2000, RWX);
    assert_int_equal(shadow_map(&sh, a, 0x3000, PTE_R), 0);
    assert_smap(a, 0x3000, PTE_R);
}

/*
 * shadow_unmap_block: every leaf of the aligned block around the address
 * goes and the tables below it are freed; leaves outside it stay. What
 * sfence.vma with an address needs when the guest's leaf was a superpage.
 */
static void test_shadow_unmap_block(void **state)
{
    const u64 mb2 = BIT(21), gb = BIT(30);
    u64 base = tva(7) & ~(mb2 - 1), next = base + mb2;
    u64 g = tva(8) & ~(gb - 1), gnext = g + gb;
    unsigned int live, allocs;

    assert_int_equal(shadow_map(&sh, base, 0x1000, RWX), 0);
    assert_int_equal(shadow_map(&sh, base + mb2 - PAGE_SIZE, 0x2000, PTE_R), 0);
    assert_int_equal(shadow_map(&sh, next, 0x3000, PTE_R), 0);
    live = hp.live;
    shadow_unmap_block(&sh, base + 0x12345, 1); /* any address in the 2 MiB */
    assert_smap(base, 0, 0);
    assert_smap(base + mb2 - PAGE_SIZE, 0, 0);
    assert_smap(next, 0x3000, PTE_R);
    assert_int_equal(hp.live, live - 1); /* the block's level-0 table */
    shadow_unmap_block(&sh, base, 1);    /* gone already: nothing */
    assert_int_equal(hp.live, live - 1);
    assert_int_equal(shadow_map(&sh, base + PAGE_SIZE, 0x4000, PTE_R), 0); /* maps again */
    assert_smap(base + PAGE_SIZE, 0x4000, PTE_R);
    /* level 0 is shadow_unmap */
    shadow_unmap_block(&sh, next + 0x10, 0);
    assert_smap(next, 0, 0);
    /* 1 GiB: two 2 MiB stretches in it (a level-1 and two level-0 tables), one beyond */
    assert_int_equal(shadow_map(&sh, g, 0x5000, PTE_R), 0);
    assert_int_equal(shadow_map(&sh, g + 3 * mb2, 0x6000, PTE_R), 0);
    assert_int_equal(shadow_map(&sh, gnext, 0x7000, PTE_R), 0);
    live = hp.live;
    shadow_unmap_block(&sh, g + gb - 1, 2);
    assert_smap(g, 0, 0);
    assert_smap(g + 3 * mb2, 0, 0);
    assert_smap(gnext, 0x7000, PTE_R);
    assert_int_equal(hp.live, live - 3);
    /* 512 GiB: only Sv48 has it; past the tree's levels, or not canonical: ignored */
    allocs = hp.allocs;
    live = hp.live;
    shadow_unmap_block(&sh, gnext, levels);
    shadow_unmap_block(&sh, BIT(63), 1);
    assert_smap(gnext, 0x7000, PTE_R);
    assert_int_equal(hp.live, live);
    if (levels == 4) { /* tva(8)'s root slot, not tva(7)'s */
        shadow_unmap_block(&sh, gnext, 3);
        assert_smap(gnext, 0, 0);
        assert_smap(base + PAGE_SIZE, 0x4000, PTE_R);
        assert_int_equal(hp.live, live - 3); /* its level-2, level-1 and level-0 tables */
    }
    assert_int_equal(hp.allocs, allocs); /* nothing allocated on the way */
}

static void test_shadow_clear_destroy(void **state)
{
    for (unsigned int i = 0; i < 64; i++)
        assert_int_equal(shadow_map(&sh, canon((u64)i * 0x9d3b5f1000UL * (levels == 4 ? 513 : 1)),
                                    (u64)i << PAGE_SHIFT, PTE_R), 0);
    assert_true(hp.live > 64 / 8);
    shadow_clear(&sh);
    assert_int_equal(hp.live, 1);
    for (unsigned int i = 0; i < PT_ENTRIES; i++)
        assert_int_equal(sh.root[i], 0);
    assert_int_equal(swalk(0, GPT_LOAD, &res), EXC_LOAD_PAGE_FAULT);
    shadow_clear(&sh); /* empty: nothing to do */
    assert_int_equal(shadow_map(&sh, 0x5000, 0x6000, PTE_R), 0);
    assert_smap(0x5000, 0x6000, PTE_R);
    shadow_destroy(&sh);
    assert_null(sh.root);
    assert_int_equal(hp.live, 0);
    shadow_destroy(&sh); /* twice: harmless (and the teardown does it again) */
}

/* Arguments no leaf can be made of: refused before anything is allocated or changed. */
static void test_shadow_refusals(void **state)
{
    u64 va = tva(6) & ~0xfffUL;
    const u64 perms[] = { 0, PTE_W, PTE_W | PTE_X, PTE_R | PTE_U, PTE_R | PTE_V, PTE_R | PTE_A, PTE_R | BIT(10) };
    const u64 hpas[] = { 0x1008, 0x1800, BIT(56), ~0UL & ~0xfffUL };
    unsigned int vabits = 12 + 9 * levels;
    const u64 vas[] = { BIT(vabits - 1), BIT(63), ~0UL ^ BIT(vabits - 1) };

    for (unsigned int i = 0; i < ARRAY_SIZE(perms); i++)
        assert_int_equal(shadow_map(&sh, va, 0x1000, perms[i]), -1);
    for (unsigned int i = 0; i < ARRAY_SIZE(hpas); i++)
        assert_int_equal(shadow_map(&sh, va, hpas[i], PTE_R), -1);
    for (unsigned int i = 0; i < ARRAY_SIZE(vas); i++)
        assert_int_equal(shadow_map(&sh, vas[i], 0x1000, PTE_R), -1);
    assert_int_equal(hp.allocs, 1);
    /* a leaf already there stays as it was */
    assert_int_equal(shadow_map(&sh, va, 0x1000, PTE_R), 0);
    assert_int_equal(shadow_map(&sh, va, 0x2000, PTE_W), -1);
    assert_smap(va, 0x1000, PTE_R);
}

/* Out of pages part way down: -1, what was allocated stays linked (no leak), a later map uses it. */
static void test_shadow_no_page(void **state)
{
    u64 va = tva(7) & ~0xfffUL;

    hp.limit = hp.allocs + 1;
    assert_int_equal(shadow_map(&sh, va, 0x1000, PTE_R), -1);
    assert_int_equal(hp.live, 2);
    assert_int_equal(swalk(va, GPT_LOAD, &res), EXC_LOAD_PAGE_FAULT);
    hp.limit = ~0U;
    assert_int_equal(shadow_map(&sh, va, 0x1000, PTE_R), 0);
    assert_int_equal(hp.live, levels);
    assert_smap(va, 0x1000, PTE_R);
}

static void test_shadow_perms(void **state)
{
    const u64 d = PTE_V | AD;
    const struct { u64 pte; enum vpriv priv; bool sum, mxr; u64 perms; } t[] = {
        { d | RWX, VPRIV_S, false, false, RWX },
        { PTE_V | PTE_A | RWX, VPRIV_S, false, false, PTE_R | PTE_X }, /* clean: no W yet */
        { PTE_V | PTE_D | RWX, VPRIV_S, false, false, 0 },             /* not accessed: nothing */
        { AD | RWX, VPRIV_S, false, false, 0 },                        /* not valid */
        { d | RWX | PTE_U, VPRIV_U, false, false, RWX },
        { d | RWX | PTE_U, VPRIV_S, false, false, 0 },                 /* SUM clear */
        { d | RWX | PTE_U, VPRIV_S, true, false, PTE_R | PTE_W },      /* never X at S */
        { d | RWX, VPRIV_U, true, true, 0 },                           /* U=0 never at U */
        { d | PTE_X, VPRIV_S, false, false, PTE_X },
        { d | PTE_X, VPRIV_S, false, true, PTE_R | PTE_X },            /* MXR */
        { d | PTE_X | PTE_U, VPRIV_S, true, true, PTE_R },
        { d | PTE_R, VPRIV_S, false, true, PTE_R },
        { d | PTE_R | PTE_W, VPRIV_S, false, false, PTE_R | PTE_W },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
        struct gpt_result r = { .gpa = DATA, .pte = pte(DATA, t[i].pte) };
        assert_int_equal(shadow_perms(&r, t[i].priv, t[i].sum, t[i].mxr), t[i].perms);
    }
}

/* ---- randomized: guest tables, the shadow filled from their walks, and what the hart then finds ---- */

static u64 rng;

static u64 rnd64(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dUL;
}

static u64 rnd(u64 n)
{
    return rnd64() % n;
}

#define G2H(gpa) ((gpa) + BIT(52)) /* where the host keeps guest-physical @gpa */
#define NR_LEAVES 300
#define NR_ITER 6000

static struct { u64 va; unsigned int level; } leaves[NR_LEAVES];
static unsigned int nr_leaves;

/* Mostly good leaf flags; one in eight is broken in one of the ways the walk must refuse. */
static u64 rand_leaf(unsigned int level)
{
    static const u64 xwr[] = { PTE_R, PTE_R | PTE_W, PTE_X, PTE_R | PTE_X, RWX };
    u64 size = LVL_SIZE(level), gpa = rnd(BIT(50)) & ~(size - 1);
    u64 f = PTE_V | xwr[rnd(ARRAY_SIZE(xwr))];

    f |= (rnd(2) ? PTE_U : 0) | (rnd(4) ? PTE_A : 0) | (rnd(2) ? PTE_D : 0) | (rnd(4) ? 0 : PTE_G);
    switch (rnd(32)) {
    case 0: case 1: f &= ~PTE_V; break;
    case 2: f = (f & ~PTE_R) | PTE_W; break;
    case 3: f |= BIT(54 + rnd(10)); break;
    case 4: gpa |= level ? PAGE_SIZE << rnd(9 * level) : 0; break;
    }
    return pte(gpa, f);
}

/*
 * Random leaves at random levels (one in four a superpage) under a few root
 * slots, in both halves, and a few entries below them, so tables are
 * shared; the largest leaves get root slots of their own. Then a few
 * pointers broken.
 */
static void rand_guest(void)
{
    static const u64 tables[] = { 0, 1, 2, 255, 256, 511 }, tops[] = { 3, 4, 300, 400 };
    unsigned int top = 12 + 9 * (levels - 1), next = top - 9;

    nr_leaves = 0;
    for (unsigned int i = 0; i < NR_LEAVES; i++) {
        unsigned int level = rnd(4) ? 0 : rnd(levels);
        u64 va = rnd64() & GENMASK(top - 1, 0), *slot;

        if (level == levels - 1)
            va |= tops[rnd(ARRAY_SIZE(tops))] << top;
        else
            va |= tables[rnd(ARRAY_SIZE(tables))] << top;
        if (level < levels - 2)
            va = (va & ~(GENMASK(8, 0) << next)) | rnd(4) << next;
        va = canon(va & ~(LVL_SIZE(level) - 1));
        slot = gslot(va, level);
        if (!slot || *slot)
            continue; /* a leaf above, or taken */
        *slot = rand_leaf(level);
        leaves[nr_leaves].va = va;
        leaves[nr_leaves++].level = level;
    }
    for (unsigned int i = 0; i < 4; i++) {
        unsigned int l = 1 + rnd(levels - 1);
        u64 *ptr = gslot(leaves[rnd(nr_leaves)].va, l);
        if (ptr && is_pointer(*ptr)) {
            const u64 junk[] = { PTE_A, PTE_D, PTE_U, BIT(60) };
            *ptr = rnd(2) ? pte(RAM_BASE + RAM_SIZE + PAGE_SIZE * rnd(64), PTE_V) : *ptr | junk[rnd(4)];
        }
    }
}

static u64 rand_va(void)
{
    if (rnd(5)) {
        unsigned int i = rnd(nr_leaves);
        return leaves[i].va + rnd(LVL_SIZE(leaves[i].level));
    }
    return rnd(8) ? canon(rnd64()) : rnd64();
}

/*
 * One guest access: if the guest walk lets it through, the shadow leaf made
 * from it (shadow_perms) lets it through too (no endless refault), and for
 * each access type the hart's walk of the shadow allows exactly what
 * shadow_perms gave, at the host page of the same guest-physical address,
 * and only what the guest's own walk allows without an A/D update.
 */
static bool rand_access(u64 va, enum gpt_access acc, enum vpriv priv, bool sum, bool mxr, unsigned int *level)
{
    struct gpt_result s;
    u64 gpa, perms;
    int ret = walk(va, acc, priv, sum, mxr);

    if (ret) {
        assert_true(ret == pf[acc] || ret == af[acc]);
        return false;
    }
    gpa = res.gpa;
    *level = res.level;
    perms = shadow_perms(&res, priv, sum, mxr);
    assert_true(perms & acc_perm[acc]);
    assert_int_equal(shadow_map(&sh, va & ~0xfffUL, G2H(gpa & ~0xfffUL), perms), 0);
    for (int a = GPT_FETCH; a <= GPT_STORE; a++) {
        ret = swalk(va, a, &s);
        assert_int_equal(ret, perms & acc_perm[a] ? 0 : pf[a]);
        if (ret)
            continue;
        assert_int_equal(s.gpa, G2H(gpa));
        gm.dry = true;
        gm.cas_calls = 0;
        assert_int_equal(walk(va, a, priv, sum, mxr), 0);
        assert_int_equal(res.gpa, gpa);
        assert_int_equal(gm.cas_calls, 0);
        gm.dry = false;
    }
    return true;
}

static void test_randomized(void **state)
{
    const char *seed = getenv("SHADOW_SEED");
    unsigned int ok[3] = { 0 }, at_level[4] = { 0 };

    rng = seed ? strtoull(seed, NULL, 0) : 0x5eed0000UL + levels;
    print_message("seed %#lx (SHADOW_SEED to repeat)\n", (unsigned long)rng);
    rand_guest();
    for (unsigned int i = 0; i < NR_ITER; i++) {
        enum gpt_access acc = rnd(3);
        unsigned int level;
        if (rand_access(rand_va(), acc, rnd(2) ? VPRIV_S : VPRIV_U, rnd(2), rnd(2), &level)) {
            ok[acc]++;
            at_level[level]++;
        }
        if (i % 500 == 499) { /* a guest sfence.vma of everything */
            shadow_clear(&sh);
            assert_int_equal(hp.live, 1);
        }
    }
    /* it tested something: every access type and every leaf size got through */
    for (int a = GPT_FETCH; a <= GPT_STORE; a++)
        assert_true(ok[a] > NR_ITER / 30);
    for (unsigned int l = 0; l < levels; l++)
        assert_true(at_level[l] > 0);
}

#define BOTH(f) \
    { .name = #f " sv39", .test_func = f, .setup_func = setup, .teardown_func = teardown, .initial_state = &sv39 }, \
    { .name = #f " sv48", .test_func = f, .setup_func = setup, .teardown_func = teardown, .initial_state = &sv48 }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_4k_leaf),
        BOTH(test_superpages),
        BOTH(test_noncanonical),
        BOTH(test_invalid_pte),
        BOTH(test_reserved_bits),
        BOTH(test_pointer_at_level0),
        BOTH(test_access_faults),
        BOTH(test_fetch_needs_x),
        BOTH(test_load_needs_r_or_mxr),
        BOTH(test_store_needs_w),
        BOTH(test_u_bit),
        BOTH(test_perm_matrix),
        BOTH(test_accessed_dirty),
        BOTH(test_cas_retry),
        BOTH(test_satp),
        BOTH(test_ppn_width),
        BOTH(test_shadow_init_satp),
        BOTH(test_shadow_map),
        BOTH(test_shadow_replace),
        BOTH(test_shadow_unmap),
        BOTH(test_shadow_unmap_block),
        BOTH(test_shadow_clear_destroy),
        BOTH(test_shadow_refusals),
        BOTH(test_shadow_no_page),
        BOTH(test_shadow_perms),
        BOTH(test_randomized),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
