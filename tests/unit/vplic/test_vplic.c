/*
 * Host unit tests for src/irqchip/vplic.c, the emulated RISC-V PLIC: the
 * registers of riscv-plic-spec 1.0.0 (priorities, pending bits, enables,
 * thresholds, claim/complete), the gateways (level and edge), the output
 * notifications, hardware-backed sources, the two context layouts, and what
 * Linux's irq-sifive-plic driver and xv6 do with it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <keel/vplic.h>

/* The memory map, spelled out again so a typo in vplic.c shows. */
#define PRIO(src) (0x000000 + 4 * (u64)(src))
#define PENDING(word) (0x001000 + 4 * (u64)(word))
#define ENABLE(ctx, word) (0x002000 + 0x80 * (u64)(ctx) + 4 * (u64)(word))
#define THRESHOLD(ctx) (0x200000 + 0x1000 * (u64)(ctx))
#define CLAIM(ctx) (0x200004 + 0x1000 * (u64)(ctx))

#define NDEV 95 /* QEMU virt's riscv,ndev */

/* ---- fixture: a controller whose callbacks record what they were given ---- */

struct event {
    unsigned int ctx;
    bool level;
};

struct fixture {
    struct vplic p;
    struct event ev[1024]; /* notify() calls, in order */
    size_t nev;
    u32 done[256]; /* hw_complete() calls, in order */
    size_t ndone;
};

static void record_notify(void *opaque, unsigned int ctx, bool level)
{
    struct fixture *f = opaque;

    assert_true(f->nev < sizeof(f->ev) / sizeof(f->ev[0]));
    f->ev[f->nev++] = (struct event){ ctx, level };
}

static void record_complete(void *opaque, u32 source)
{
    struct fixture *f = opaque;

    assert_true(f->ndone < sizeof(f->done) / sizeof(f->done[0]));
    f->done[f->ndone++] = source;
}

static struct fixture fix;

static void make(struct fixture *f, u32 ndev, unsigned int nr_vcpus, enum vplic_layout layout)
{
    struct vplic_config cfg = {
        .ndev = ndev,
        .nr_vcpus = nr_vcpus,
        .layout = layout,
        .notify = record_notify,
        .hw_complete = record_complete,
        .opaque = f,
    };

    memset(&f->p, 0xa5, sizeof(f->p)); /* init must not depend on prior contents */
    f->nev = f->ndone = 0;
    assert_int_equal(vplic_init(&f->p, &cfg), 0);
}

/* Four vCPUs, S-mode contexts only: what Keel gives a VM. */
static int setup(void **state)
{
    make(&fix, NDEV, 4, VPLIC_S_ONLY);
    *state = &fix;
    return 0;
}

static u32 rd(struct fixture *f, u64 off)
{
    u64 v = ~0ULL;

    assert_int_equal(vplic_read(&f->p, off, 4, &v), 0);
    assert_true(v <= 0xffffffffULL);
    return (u32)v;
}

static void wr(struct fixture *f, u64 off, u32 v)
{
    assert_int_equal(vplic_write(&f->p, off, 4, v), 0);
}

static void enable(struct fixture *f, unsigned int ctx, u32 src, bool on)
{
    u32 v = rd(f, ENABLE(ctx, src / 32));

    v = on ? v | 1U << (src % 32) : v & ~(1U << (src % 32));
    wr(f, ENABLE(ctx, src / 32), v);
}

static bool pending(struct fixture *f, u32 src)
{
    return rd(f, PENDING(src / 32)) & 1U << (src % 32);
}

static u32 claim(struct fixture *f, unsigned int ctx)
{
    return rd(f, CLAIM(ctx));
}

static void complete(struct fixture *f, unsigned int ctx, u32 src)
{
    wr(f, CLAIM(ctx), src);
}

/* Source @src at priority @prio, enabled for @ctx. */
static void route(struct fixture *f, u32 src, u32 prio, unsigned int ctx)
{
    wr(f, PRIO(src), prio);
    enable(f, ctx, src, true);
}

static void expect_event(struct fixture *f, size_t i, unsigned int ctx, bool level)
{
    assert_true(i < f->nev);
    assert_int_equal(f->ev[i].ctx, ctx);
    assert_int_equal(f->ev[i].level, level);
}

/* ---- configuration ---- */

static void test_init_limits(void **state)
{
    struct fixture *f = *state;
    static const struct {
        u32 ndev;
        unsigned int vcpus;
        enum vplic_layout layout;
        int rc;
        unsigned int contexts;
    } cases[] = {
        { 0, 1, VPLIC_S_ONLY, -1, 0 },
        { 1024, 1, VPLIC_S_ONLY, -1, 0 },
        { 95, 0, VPLIC_S_ONLY, -1, 0 },
        { 95, 33, VPLIC_S_ONLY, -1, 0 },
        { 95, 17, VPLIC_M_AND_S, -1, 0 },
        { 95, 1, (enum vplic_layout)3, -1, 0 },
        { 95, 16, VPLIC_M_AND_S_WIRED, 0, 32 },
        { 1, 1, VPLIC_S_ONLY, 0, 1 },
        { 1023, 1, VPLIC_S_ONLY, 0, 1 },
        { 95, 32, VPLIC_S_ONLY, 0, 32 },
        { 95, 16, VPLIC_M_AND_S, 0, 32 },
        { 31, 8, VPLIC_M_AND_S, 0, 16 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vplic_config cfg = { .ndev = cases[i].ndev, .nr_vcpus = cases[i].vcpus,
                                    .layout = cases[i].layout };

        static struct vplic before;

        memset(&f->p, 0x5a, sizeof(f->p));
        memcpy(&before, &f->p, sizeof(f->p));
        assert_int_equal(vplic_init(&f->p, &cfg), cases[i].rc);
        if (cases[i].rc) {
            assert_memory_equal(&before, &f->p, sizeof(f->p)); /* refused: untouched */
            continue;
        }
        assert_int_equal(f->p.nr_contexts, cases[i].contexts);
        assert_int_equal(vplic_size(&f->p), 0x200000 + 0x1000 * (u64)cases[i].contexts);
    }
}

static void test_context_layouts(void **state)
{
    struct fixture *f = *state;
    unsigned int vcpu = 99;

    /* S only: context i is vCPU i */
    for (unsigned int c = 0; c < 4; c++) {
        assert_true(vplic_context_vcpu(&f->p, c, &vcpu));
        assert_int_equal(vcpu, c);
        assert_int_equal(vplic_vcpu_context(&f->p, c), c);
    }
    assert_false(vplic_context_vcpu(&f->p, 4, &vcpu));
    /* QEMU's numbering: 2i is M-mode (no vCPU output), 2i + 1 is S-mode */
    make(f, NDEV, 3, VPLIC_M_AND_S);
    for (unsigned int v = 0; v < 3; v++) {
        assert_false(vplic_context_vcpu(&f->p, 2 * v, &vcpu));
        assert_true(vplic_context_vcpu(&f->p, 2 * v + 1, &vcpu));
        assert_int_equal(vcpu, v);
        assert_int_equal(vplic_vcpu_context(&f->p, v), 2 * v + 1);
    }
    assert_false(vplic_context_vcpu(&f->p, 6, &vcpu));
    assert_false(vplic_context_vcpu(&f->p, 7, &vcpu));
    assert_int_equal(vplic_size(&f->p), 0x206000);
    for (unsigned int c = 0; c < 6; c++)
        assert_false(vplic_context_vcpu_m(&f->p, c, &vcpu));
    /* The same numbering with the M-mode contexts wired (guests of Keel in M-mode) */
    make(f, NDEV, 3, VPLIC_M_AND_S_WIRED);
    for (unsigned int v = 0; v < 3; v++) {
        vcpu = 99;
        assert_true(vplic_context_vcpu_m(&f->p, 2 * v, &vcpu));
        assert_int_equal(vcpu, v);
        assert_false(vplic_context_vcpu_m(&f->p, 2 * v + 1, &vcpu));
        assert_true(vplic_context_vcpu(&f->p, 2 * v + 1, &vcpu));
        assert_int_equal(vcpu, v);
    }
    assert_false(vplic_context_vcpu_m(&f->p, 6, &vcpu));
}

static void check_reset_state(struct fixture *f)
{
    for (u32 s = 0; s <= NDEV + 1; s++)
        assert_int_equal(rd(f, PRIO(s)), 0);
    for (unsigned int w = 0; w < 32; w++)
        assert_int_equal(rd(f, PENDING(w)), 0);
    for (unsigned int c = 0; c < f->p.nr_contexts; c++) {
        for (unsigned int w = 0; w < 32; w++)
            assert_int_equal(rd(f, ENABLE(c, w)), 0);
        assert_int_equal(rd(f, THRESHOLD(c)), 0);
        assert_int_equal(claim(f, c), 0);
        assert_false(vplic_eip(&f->p, c));
    }
}

static void test_reset_values(void **state)
{
    struct fixture *f = *state;

    check_reset_state(f);
    assert_int_equal(f->nev, 0);
    assert_int_equal(f->ndone, 0);
}

/* ---- priorities, thresholds, enables, pending ---- */

static void test_priority_warl(void **state)
{
    struct fixture *f = *state;

    /* 3 bits: all-ones reads back 7, which tells software how many there are */
    wr(f, PRIO(1), 0xffffffff);
    assert_int_equal(rd(f, PRIO(1)), 7);
    /* Writes keep their low 3 bits */
    for (u32 v = 0; v < 64; v++) {
        wr(f, PRIO(10), v);
        assert_int_equal(rd(f, PRIO(10)), v & 7);
    }
    wr(f, PRIO(10), 0x80000005);
    assert_int_equal(rd(f, PRIO(10)), 5);
    /* Each source has its own */
    for (u32 s = 1; s <= NDEV; s++)
        wr(f, PRIO(s), s);
    for (u32 s = 1; s <= NDEV; s++)
        assert_int_equal(rd(f, PRIO(s)), s & 7);
    /* Source 0 and sources above ndev: reserved, zero */
    wr(f, PRIO(0), 7);
    assert_int_equal(rd(f, PRIO(0)), 0);
    for (u32 s = NDEV + 1; s < 1024; s++) {
        wr(f, PRIO(s), 7);
        assert_int_equal(rd(f, PRIO(s)), 0);
    }
    assert_int_equal(f->nev, 0);
}

static void test_threshold_warl(void **state)
{
    struct fixture *f = *state;

    for (unsigned int c = 0; c < 4; c++) {
        wr(f, THRESHOLD(c), 0xffffffff);
        assert_int_equal(rd(f, THRESHOLD(c)), 7);
    }
    wr(f, THRESHOLD(2), 0x13);
    assert_int_equal(rd(f, THRESHOLD(2)), 3);
    assert_int_equal(rd(f, THRESHOLD(1)), 7);
    /* The rest of a context's page is reserved */
    for (u64 off = 8; off < 0x1000; off += 4) {
        wr(f, THRESHOLD(1) + off, 0xffffffff);
        assert_int_equal(rd(f, THRESHOLD(1) + off), 0);
    }
}

static void test_enable_bits(void **state)
{
    struct fixture *f = *state;

    /* Source 0's bit is hardwired to 0, so are those above ndev (95: word 2, bits 0-31) */
    wr(f, ENABLE(0, 0), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(0, 0)), 0xfffffffe);
    wr(f, ENABLE(0, 2), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(0, 2)), 0xffffffff);
    wr(f, ENABLE(0, 3), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(0, 3)), 0);
    wr(f, ENABLE(0, 31), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(0, 31)), 0);
    /* Each context has its own */
    wr(f, ENABLE(1, 1), 0x12345678);
    assert_int_equal(rd(f, ENABLE(1, 1)), 0x12345678);
    assert_int_equal(rd(f, ENABLE(0, 1)), 0);
    assert_int_equal(rd(f, ENABLE(2, 1)), 0);
    /* Contexts that do not exist: zero, whatever is written */
    for (unsigned int c = 4; c < 64; c++) {
        wr(f, ENABLE(c, 0), 0xffffffff);
        assert_int_equal(rd(f, ENABLE(c, 0)), 0);
    }
    wr(f, 0x1f1ffc, 0xffffffff); /* context 15871's last word */
    assert_int_equal(rd(f, 0x1f1ffc), 0);
    wr(f, 0x1ffffc, 0xffffffff); /* reserved up to the thresholds */
    assert_int_equal(rd(f, 0x1ffffc), 0);

    /* ndev not a multiple of 32: the last word keeps bits 0..ndev % 32 */
    make(f, 40, 1, VPLIC_S_ONLY);
    wr(f, ENABLE(0, 1), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(0, 1)), 0x1ff);
    wr(f, ENABLE(0, 2), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(0, 2)), 0);
    /* ... and at the largest ndev, source 1023 is the top bit of word 31 */
    make(f, 1023, 1, VPLIC_S_ONLY);
    wr(f, ENABLE(0, 31), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(0, 31)), 0xffffffff);
    wr(f, PRIO(1023), 3);
    assert_int_equal(rd(f, PRIO(1023)), 3);
}

static void test_pending_read_only(void **state)
{
    struct fixture *f = *state;

    assert_true(vplic_set_level(&f->p, 5, true));
    assert_true(vplic_pulse(&f->p, 33));
    assert_true(vplic_pulse(&f->p, NDEV));
    assert_int_equal(rd(f, PENDING(0)), 1U << 5);
    assert_int_equal(rd(f, PENDING(1)), 1U << 1);
    assert_int_equal(rd(f, PENDING(2)), 1U << 31);
    /* Writes change nothing: a claim is the way to clear a pending bit */
    for (unsigned int w = 0; w < 32; w++)
        wr(f, PENDING(w), w < 3 ? 0 : 0xffffffff);
    assert_int_equal(rd(f, PENDING(0)), 1U << 5);
    assert_int_equal(rd(f, PENDING(1)), 1U << 1);
    assert_int_equal(rd(f, PENDING(2)), 1U << 31);
    for (unsigned int w = 3; w < 32; w++)
        assert_int_equal(rd(f, PENDING(w)), 0);
    /* Between the pending words and the enables: reserved */
    wr(f, 0x1080, 0xffffffff);
    assert_int_equal(rd(f, 0x1080), 0);
    wr(f, 0x1ffc, 0xffffffff);
    assert_int_equal(rd(f, 0x1ffc), 0);
    /* Sources that do not exist cannot be raised */
    assert_false(vplic_set_level(&f->p, 0, true));
    assert_false(vplic_pulse(&f->p, 0));
    assert_false(vplic_pulse(&f->p, NDEV + 1));
    assert_false(vplic_set_level(&f->p, 1024, true));
    assert_false(vplic_set_hw(&f->p, 0, true));
    assert_false(vplic_set_hw(&f->p, 5000, true));
    assert_int_equal(rd(f, PENDING(0)) & 1, 0);
    assert_int_equal(rd(f, PENDING(3)), 0);
}

/* ---- claim ---- */

static void test_claim_order(void **state)
{
    struct fixture *f = *state;

    route(f, 3, 2, 0);
    route(f, 7, 5, 0);
    route(f, 9, 5, 0);
    route(f, 40, 7, 0);
    route(f, 41, 1, 0);
    route(f, 50, 0, 0); /* priority 0: never interrupts */
    route(f, 60, 6, 1); /* enabled for another context only */
    for (u32 s = 60; s >= 40; s -= 10)
        vplic_pulse(&f->p, s);
    vplic_pulse(&f->p, 41);
    vplic_pulse(&f->p, 9);
    vplic_pulse(&f->p, 7);
    vplic_pulse(&f->p, 3);
    /* Highest priority first, the lowest ID among equals */
    assert_int_equal(claim(f, 0), 40);
    assert_int_equal(claim(f, 0), 7);
    assert_int_equal(claim(f, 0), 9);
    assert_int_equal(claim(f, 0), 3);
    assert_int_equal(claim(f, 0), 41);
    assert_int_equal(claim(f, 0), 0); /* 50 has priority 0, 60 is not enabled here */
    assert_true(pending(f, 50));
    assert_true(pending(f, 60));
    /* A claim clears the pending bit */
    assert_false(pending(f, 40));
    assert_false(pending(f, 3));
    /* Raising the priority of 50 makes it claimable */
    wr(f, PRIO(50), 1);
    assert_int_equal(claim(f, 0), 50);
    assert_int_equal(claim(f, 1), 60);
    assert_int_equal(claim(f, 1), 0);
    assert_int_equal(rd(f, PENDING(1)), 0);
}

/* A source pending for several contexts goes to the first that claims it. */
static void test_claim_multicast(void **state)
{
    struct fixture *f = *state;

    for (unsigned int c = 0; c < 4; c++)
        route(f, 12, 3, c);
    vplic_pulse(&f->p, 12);
    for (unsigned int c = 0; c < 4; c++)
        assert_true(vplic_eip(&f->p, c));
    assert_int_equal(f->nev, 4);
    assert_int_equal(claim(f, 2), 12);
    /* Everyone's output falls; the late claimers find nothing */
    for (unsigned int c = 0; c < 4; c++)
        assert_false(vplic_eip(&f->p, c));
    assert_int_equal(f->nev, 8);
    assert_int_equal(claim(f, 0), 0);
    assert_int_equal(claim(f, 3), 0);
}

/* The spec: the threshold masks notifications, not claims. */
static void test_threshold_and_claim(void **state)
{
    struct fixture *f = *state;

    route(f, 4, 3, 0);
    wr(f, THRESHOLD(0), 3);
    vplic_pulse(&f->p, 4);
    assert_false(vplic_eip(&f->p, 0)); /* 3 is not above 3 */
    assert_int_equal(f->nev, 0);
    wr(f, THRESHOLD(0), 2);
    assert_true(vplic_eip(&f->p, 0));
    wr(f, THRESHOLD(0), 7); /* Linux's PLIC_DISABLE_THRESHOLD */
    assert_false(vplic_eip(&f->p, 0));
    assert_int_equal(f->nev, 2);
    /* Polling with the threshold at its maximum still claims */
    assert_int_equal(claim(f, 0), 4);
    complete(f, 0, 4);
    /* Priority 7 is above every threshold but 7 */
    wr(f, PRIO(4), 7);
    vplic_pulse(&f->p, 4);
    assert_false(vplic_eip(&f->p, 0));
    wr(f, THRESHOLD(0), 6);
    assert_true(vplic_eip(&f->p, 0));
}

/* ---- completion ---- */

static void test_complete_rules(void **state)
{
    struct fixture *f = *state;

    route(f, 8, 1, 0);
    route(f, 8, 1, 1);
    vplic_set_level(&f->p, 8, true);
    assert_int_equal(claim(f, 0), 8);
    /* In service: the line is high, but no new request until completion */
    assert_false(pending(f, 8));
    /* Completion of a source not enabled for the completing context: ignored */
    complete(f, 2, 8);
    assert_false(pending(f, 8));
    assert_int_equal(claim(f, 0), 0);
    /* IDs that are not sources: ignored */
    complete(f, 0, 0);
    complete(f, 0, NDEV + 1);
    complete(f, 0, 0xffffffff);
    assert_false(pending(f, 8));
    /* Another context the source is enabled for may complete it: the claimer is not checked */
    complete(f, 1, 8);
    assert_true(pending(f, 8)); /* the line is still high: a new request */
    assert_int_equal(claim(f, 1), 8);
    /* Completing it twice, or a source not in service, changes nothing */
    vplic_set_level(&f->p, 8, false);
    complete(f, 1, 8);
    complete(f, 1, 8);
    assert_false(pending(f, 8));
    assert_int_equal(claim(f, 0), 0);
}

/* Linux's plic_irq_eoi() for a disabled interrupt: enable, complete, disable again. */
static void test_linux_eoi_of_disabled(void **state)
{
    struct fixture *f = *state;

    route(f, 10, 1, 0);
    vplic_set_level(&f->p, 10, true);
    assert_int_equal(claim(f, 0), 10);
    vplic_set_level(&f->p, 10, false);
    /* disable_irq() in the handler: the source is disabled before the EOI */
    enable(f, 0, 10, false);
    complete(f, 0, 10);
    assert_true(f->p.claimed[0] & 1U << 10); /* ignored: still in service */
    enable(f, 0, 10, true);
    complete(f, 0, 10);
    enable(f, 0, 10, false);
    assert_false(f->p.claimed[0] & 1U << 10);
    /* The gateway forwards again */
    vplic_set_level(&f->p, 10, true);
    assert_true(pending(f, 10));
}

/* ---- gateways ---- */

static void test_level_gateway(void **state)
{
    struct fixture *f = *state;

    route(f, 20, 4, 3);
    vplic_set_level(&f->p, 20, true);
    assert_true(pending(f, 20));
    vplic_set_level(&f->p, 20, true); /* still high: not a new request */
    assert_int_equal(claim(f, 3), 20);
    assert_int_equal(claim(f, 3), 0);
    /* Completed while high: pending again */
    complete(f, 3, 20);
    assert_true(pending(f, 20));
    assert_int_equal(claim(f, 3), 20);
    /* Dropped during service: completion makes nothing pending */
    vplic_set_level(&f->p, 20, false);
    complete(f, 3, 20);
    assert_false(pending(f, 20));
    /* Raised and lowered before the claim: the request stays (no retraction) */
    vplic_set_level(&f->p, 20, true);
    vplic_set_level(&f->p, 20, false);
    assert_true(pending(f, 20));
    assert_int_equal(claim(f, 3), 20);
    complete(f, 3, 20);
    assert_false(pending(f, 20));
    /* Lowered and raised again during service: one request, at completion */
    vplic_set_level(&f->p, 20, true);
    assert_int_equal(claim(f, 3), 20);
    vplic_set_level(&f->p, 20, false);
    vplic_set_level(&f->p, 20, true);
    assert_false(pending(f, 20));
    complete(f, 3, 20);
    assert_true(pending(f, 20));
    /* A disabled source still latches its request, claimable once enabled */
    enable(f, 3, 21, false);
    wr(f, PRIO(21), 1);
    vplic_set_level(&f->p, 21, true);
    assert_true(pending(f, 21));
    assert_int_equal(claim(f, 3), 20);
    assert_int_equal(claim(f, 3), 0);
    enable(f, 3, 21, true);
    assert_int_equal(claim(f, 3), 21);
}

static void test_edge_gateway(void **state)
{
    struct fixture *f = *state;

    route(f, 30, 2, 0);
    vplic_pulse(&f->p, 30);
    vplic_pulse(&f->p, 30); /* merges with the pending request */
    assert_int_equal(claim(f, 0), 30);
    assert_int_equal(claim(f, 0), 0);
    /* Edges during service: one remembered, forwarded at completion */
    vplic_pulse(&f->p, 30);
    vplic_pulse(&f->p, 30);
    vplic_pulse(&f->p, 30);
    assert_false(pending(f, 30));
    complete(f, 0, 30);
    assert_true(pending(f, 30));
    assert_int_equal(claim(f, 0), 30);
    complete(f, 0, 30);
    assert_false(pending(f, 30));
    assert_int_equal(claim(f, 0), 0);
}

/* ---- notifications ---- */

static void test_notify_transitions(void **state)
{
    struct fixture *f = *state;

    /* Pending but not enabled, priority 0: nothing */
    vplic_pulse(&f->p, 2);
    enable(f, 1, 2, true);
    assert_int_equal(f->nev, 0);
    /* Priority 1 > threshold 0: up */
    wr(f, PRIO(2), 1);
    expect_event(f, 0, 1, true);
    /* Changes that keep it up report nothing */
    wr(f, PRIO(2), 3);
    vplic_pulse(&f->p, 2);
    route(f, 5, 1, 1);
    vplic_pulse(&f->p, 5);
    assert_int_equal(f->nev, 1);
    /* Threshold 3 hides 2 (priority 3) and 5 (priority 1) */
    wr(f, THRESHOLD(1), 3);
    expect_event(f, 1, 1, false);
    wr(f, THRESHOLD(1), 0);
    expect_event(f, 2, 1, true);
    /* Claiming 2 leaves 5: stays up; claiming 5 brings it down */
    assert_int_equal(claim(f, 1), 2);
    assert_int_equal(f->nev, 3);
    assert_int_equal(claim(f, 1), 5);
    expect_event(f, 3, 1, false);
    /* Disabling and enabling a pending source */
    vplic_pulse(&f->p, 2); /* in service: held */
    assert_int_equal(f->nev, 4);
    complete(f, 1, 2);
    expect_event(f, 4, 1, true);
    enable(f, 1, 2, false);
    expect_event(f, 5, 1, false);
    enable(f, 1, 2, true);
    expect_event(f, 6, 1, true);
    /* Masking by priority 0, as Linux does */
    wr(f, PRIO(2), 0);
    expect_event(f, 7, 1, false);
    assert_int_equal(f->nev, 8);
    /* The other contexts never moved */
    for (size_t i = 0; i < f->nev; i++)
        assert_int_equal(f->ev[i].ctx, 1);
}

static void test_many_contexts(void **state)
{
    struct fixture *f = *state;

    make(f, 1023, 32, VPLIC_S_ONLY);
    /* Context c gets source 32 * c + 31 at priority c % 7 + 1, threshold c % 7 */
    for (unsigned int c = 0; c < 32; c++) {
        route(f, 32 * c + 31, c % 7 + 1, c);
        wr(f, THRESHOLD(c), c % 7);
    }
    for (unsigned int c = 0; c < 32; c++) {
        vplic_pulse(&f->p, 32 * c + 31);
        expect_event(f, c, c, true);
        for (unsigned int d = 0; d < 32; d++)
            assert_int_equal(vplic_eip(&f->p, d), d <= c);
    }
    /* Each claims its own, in reverse, each output falling alone */
    for (unsigned int c = 32; c-- > 0;) {
        assert_int_equal(claim(f, c), 32 * c + 31);
        expect_event(f, 32 + (31 - c), c, false);
    }
    assert_int_equal(f->nev, 64);
    /* The last context's page is the last of the window */
    assert_int_equal(vplic_size(&f->p), THRESHOLD(32));
    assert_int_equal(rd(f, THRESHOLD(31)), 31 % 7);
    /* One source enabled everywhere: 32 notifications up, 32 down at the claim */
    for (unsigned int c = 0; c < 32; c++) {
        route(f, 1000, 7, c);
        wr(f, THRESHOLD(c), 0);
    }
    f->nev = 0;
    vplic_pulse(&f->p, 1000);
    assert_int_equal(f->nev, 32);
    assert_int_equal(claim(f, 17), 1000);
    assert_int_equal(f->nev, 64);
    for (unsigned int c = 0; c < 32; c++)
        assert_false(vplic_eip(&f->p, c));
}

/* ---- QEMU's layout and xv6 ---- */

static void test_m_and_s_layout_xv6(void **state)
{
    struct fixture *f = *state;
    const u32 uart = 10, virtio = 1;

    make(f, NDEV, 2, VPLIC_M_AND_S);
    /* plicinit(): priorities */
    wr(f, PRIO(uart), 1);
    wr(f, PRIO(virtio), 1);
    /* plicinithart() on hart 1: SENABLE = 0x2080 + hart * 0x100, SPRIORITY = 0x201000 + hart * 0x2000 */
    wr(f, 0x2080 + 1 * 0x100, 1U << uart | 1U << virtio);
    wr(f, 0x201000 + 1 * 0x2000, 0);
    assert_int_equal(rd(f, ENABLE(3, 0)), 1U << uart | 1U << virtio);
    /* The UART's line: hart 1's S-mode context (3) is notified */
    vplic_set_level(&f->p, uart, true);
    assert_int_equal(f->nev, 1);
    expect_event(f, 0, 3, true);
    /* plic_claim() / plic_complete() at 0x201004 + hart * 0x2000 */
    assert_int_equal(rd(f, 0x201004 + 1 * 0x2000), uart);
    expect_event(f, 1, 3, false);
    vplic_set_level(&f->p, uart, false);
    wr(f, 0x201004 + 1 * 0x2000, uart);
    assert_false(pending(f, uart));
    /* M-mode contexts work as registers but are wired to nothing: never notified */
    route(f, virtio, 1, 2);
    vplic_pulse(&f->p, virtio);
    assert_true(vplic_eip(&f->p, 2));
    expect_event(f, 2, 3, true); /* hart 1's S context has it enabled too */
    assert_int_equal(f->nev, 3);
    assert_int_equal(claim(f, 2), virtio);
    assert_false(vplic_eip(&f->p, 2));
    expect_event(f, 3, 3, false);
    assert_int_equal(f->nev, 4);
}

/* Keel in M-mode: the M-mode contexts drive the vCPUs' M-external line too */
static void test_m_contexts_wired(void **state)
{
    struct fixture *f = *state;

    make(f, NDEV, 2, VPLIC_M_AND_S_WIRED);
    route(f, 5, 1, 2); /* hart 1's M-mode context */
    vplic_pulse(&f->p, 5);
    assert_int_equal(f->nev, 1);
    expect_event(f, 0, 2, true);
    assert_int_equal(claim(f, 2), 5);
    expect_event(f, 1, 2, false);
}

/*
 * keel,qemu-compat's gateway (no_level_refire), as QEMU's PLIC behaves: a
 * completion does not look at the line again, each assertion is a request
 * (held while the source is in service).
 */
static void test_no_level_refire(void **state)
{
    struct fixture *f = *state;

    make(f, NDEV, 1, VPLIC_S_ONLY);
    f->p.no_level_refire = true;
    route(f, 10, 1, 0);
    vplic_set_level(&f->p, 10, true);
    assert_int_equal(claim(f, 0), 10);
    wr(f, CLAIM(0), 10); /* completed with the line still high: no new request */
    assert_false(pending(f, 10));
    assert_int_equal(claim(f, 0), 0);
    /* low, high while in service: one request, forwarded at the completion */
    vplic_set_level(&f->p, 10, false);
    vplic_set_level(&f->p, 10, true);
    assert_int_equal(claim(f, 0), 10);
    vplic_set_level(&f->p, 10, false);
    vplic_set_level(&f->p, 10, true);
    assert_false(pending(f, 10));
    wr(f, CLAIM(0), 10);
    assert_true(pending(f, 10));
    assert_int_equal(claim(f, 0), 10);
}

/* ---- what Linux's irq-sifive-plic driver does ---- */

static void test_linux_driver(void **state)
{
    struct fixture *f = *state;
    u32 handled[8];
    unsigned int nh = 0;

    /* plic_probe(): every context disabled (threshold 7), every source off, priority 1 */
    for (unsigned int c = 0; c < 4; c++) {
        wr(f, THRESHOLD(c), 7);
        for (u32 s = 1; s <= NDEV; s++) {
            enable(f, c, s, false);
            wr(f, PRIO(s), 1);
        }
    }
    /* plic_starting_cpu() on each CPU: threshold 0 */
    for (unsigned int c = 0; c < 4; c++)
        wr(f, THRESHOLD(c), 0);
    /* request_irq() of the UART (10) routed to CPU 2, the RTC (11) to CPU 0 */
    enable(f, 2, 10, true);
    enable(f, 0, 11, true);
    assert_int_equal(f->nev, 0);
    /* Two interrupts at once on CPU 2's source... */
    vplic_set_level(&f->p, 10, true);
    expect_event(f, 0, 2, true);
    /* plic_handle_irq(): claim until 0, each handled then EOId */
    for (u32 hw; (hw = claim(f, 2)) != 0;) {
        assert_true(nh < 8);
        handled[nh++] = hw;
        vplic_set_level(&f->p, hw, false); /* the device handler quiets it */
        complete(f, 2, hw);
    }
    assert_int_equal(nh, 1);
    assert_int_equal(handled[0], 10);
    expect_event(f, 1, 2, false);
    /* disable_irq() masks through priority 0; the device raising its line is not signalled */
    wr(f, PRIO(10), 0);
    vplic_set_level(&f->p, 10, true);
    assert_int_equal(f->nev, 2);
    assert_int_equal(claim(f, 2), 0);
    /* enable_irq(): priority 1 again, and the held request arrives */
    wr(f, PRIO(10), 1);
    expect_event(f, 2, 2, true);
    assert_int_equal(claim(f, 2), 10);
    /* irq affinity moved to CPU 1 while in service: disable on 2, enable on 1, EOI from 1 */
    enable(f, 2, 10, false);
    enable(f, 1, 10, true);
    vplic_set_level(&f->p, 10, false);
    complete(f, 1, 10);
    assert_int_equal(f->p.claimed[0], 0);
    vplic_set_level(&f->p, 10, true);
    expect_event(f, 4, 1, true);
}

/* ---- hardware-backed sources ---- */

static void test_hw_complete(void **state)
{
    struct fixture *f = *state;

    assert_true(vplic_set_hw(&f->p, 33, true));
    route(f, 33, 2, 0);
    route(f, 34, 2, 0);
    /* A host claim injected as an edge; the guest's completion ends it */
    vplic_pulse(&f->p, 33);
    assert_int_equal(claim(f, 0), 33);
    assert_int_equal(f->ndone, 0);
    complete(f, 0, 33);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0], 33);
    /* An ignored completion (not enabled for the context) does not end it */
    vplic_pulse(&f->p, 33);
    assert_int_equal(claim(f, 0), 33);
    complete(f, 1, 33);
    assert_int_equal(f->ndone, 1);
    /* Nor does a second completion */
    complete(f, 0, 33);
    complete(f, 0, 33);
    assert_int_equal(f->ndone, 2);
    /* Emulated sources never call it */
    vplic_pulse(&f->p, 34);
    assert_int_equal(claim(f, 0), 34);
    complete(f, 0, 34);
    assert_int_equal(f->ndone, 2);
    /* Unmarked, it is emulated again */
    assert_true(vplic_set_hw(&f->p, 33, false));
    vplic_pulse(&f->p, 33);
    assert_int_equal(claim(f, 0), 33);
    complete(f, 0, 33);
    assert_int_equal(f->ndone, 2);
}

static void test_reset(void **state)
{
    struct fixture *f = *state;

    vplic_set_hw(&f->p, 40, true);
    vplic_set_hw(&f->p, 41, true);
    vplic_set_hw(&f->p, 42, true);
    for (u32 s = 40; s <= 43; s++)
        route(f, s, 3, 1);
    wr(f, THRESHOLD(1), 1);
    vplic_pulse(&f->p, 40);                 /* in service, with an edge held */
    assert_int_equal(claim(f, 1), 40);
    vplic_pulse(&f->p, 40);
    vplic_pulse(&f->p, 41);                 /* pending */
    vplic_set_level(&f->p, 43, true);       /* emulated, pending */
    assert_true(vplic_eip(&f->p, 1));       /* 42: hw but idle */
    f->nev = 0;
    vplic_reset(&f->p);
    /* Every outstanding host claim is ended: 40 twice (in service, held), 41 once */
    assert_int_equal(f->ndone, 3);
    assert_int_equal(f->done[0], 40);
    assert_int_equal(f->done[1], 40);
    assert_int_equal(f->done[2], 41);
    assert_int_equal(f->nev, 0); /* never notify() */
    check_reset_state(f);
    /* The configuration and the hw marks stay; input lines are low */
    assert_int_equal(f->p.nr_contexts, 4);
    route(f, 42, 1, 0);
    vplic_pulse(&f->p, 42);
    assert_int_equal(claim(f, 0), 42);
    complete(f, 0, 42);
    assert_int_equal(f->ndone, 4);
    route(f, 43, 1, 0);
    assert_false(pending(f, 43));
    vplic_set_level(&f->p, 43, true); /* a rising edge again after the reset */
    assert_true(pending(f, 43));
}

/* ---- accesses ---- */

static void test_bad_accesses(void **state)
{
    struct fixture *f = *state;
    static const u64 offs[] = { PRIO(1), PENDING(0), ENABLE(0, 0), THRESHOLD(0), CLAIM(0) };
    static const unsigned int sizes[] = { 0, 1, 2, 3, 8, 16 };
    u64 v = 0x5a5a;

    route(f, 6, 1, 0);
    vplic_pulse(&f->p, 6);
    f->nev = 0;
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        /* Only 32-bit accesses */
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            assert_int_equal(vplic_read(&f->p, offs[i], sizes[s], &v), -1);
            assert_int_equal(vplic_write(&f->p, offs[i], sizes[s], 6), -1);
        }
        /* ... aligned */
        for (u64 b = 1; b < 4; b++) {
            assert_int_equal(vplic_read(&f->p, offs[i] + b, 4, &v), -1);
            assert_int_equal(vplic_write(&f->p, offs[i] + b, 4, 6), -1);
        }
    }
    /* Outside the window: the page of a fifth context, the spec's full map, beyond */
    assert_int_equal(vplic_read(&f->p, CLAIM(4), 4, &v), -1);
    assert_int_equal(vplic_write(&f->p, THRESHOLD(4), 4, 1), -1);
    assert_int_equal(vplic_read(&f->p, 0x3fff004, 4, &v), -1);
    assert_int_equal(vplic_read(&f->p, ~0ULL - 3, 4, &v), -1);
    /* None had an effect: the claim was not taken, nothing moved */
    assert_int_equal(v, 0x5a5a);
    assert_int_equal(f->nev, 0);
    assert_true(vplic_eip(&f->p, 0));
    assert_int_equal(claim(f, 0), 6);
    /* The last valid word */
    assert_int_equal(vplic_read(&f->p, vplic_size(&f->p) - 4, 4, &v), 0);
    assert_int_equal(v, 0);
    /* Value bits above 31 are not part of a 32-bit store */
    assert_int_equal(vplic_write(&f->p, PRIO(6), 4, 0x100000003ULL), 0);
    assert_int_equal(rd(f, PRIO(6)), 3);
}

static void test_null_callbacks(void **state)
{
    struct fixture *f = *state;
    struct vplic_config cfg = { .ndev = NDEV, .nr_vcpus = 2, .layout = VPLIC_S_ONLY };

    assert_int_equal(vplic_init(&f->p, &cfg), 0);
    vplic_set_hw(&f->p, 3, true);
    route(f, 3, 1, 1);
    vplic_pulse(&f->p, 3);
    assert_true(vplic_eip(&f->p, 1));
    assert_int_equal(claim(f, 1), 3);
    complete(f, 1, 3);
    vplic_pulse(&f->p, 3);
    vplic_reset(&f->p);
    assert_false(vplic_eip(&f->p, 1));
}

/* ---- random traffic against the definition of the output ---- */

/* EIP as the spec defines it: pending, enabled, priority above threshold. */
static bool expected_eip(const struct vplic *p, unsigned int c)
{
    for (u32 s = 1; s <= p->ndev; s++) {
        bool pend = p->pending[s / 32] & 1U << (s % 32);
        bool en = p->enable[c][s / 32] & 1U << (s % 32);

        if (pend && en && p->priority[s] > p->threshold[c])
            return true;
    }
    return false;
}

static void test_random_outputs(void **state)
{
    struct fixture *f = *state;
    bool seen[VPLIC_MAX_CONTEXTS] = { false };
    u32 seed = 777;

    make(f, 70, 3, VPLIC_M_AND_S);
    for (int step = 0; step < 20000; step++) {
        u32 r, src, ctx;
        size_t before = f->nev;

        seed = seed * 1103515245 + 12345;
        r = seed >> 4;
        src = r % 72; /* includes 0 and 71, which do not exist */
        ctx = (r >> 8) % 6;
        switch ((r >> 12) % 9) {
        case 0:
            vplic_set_level(&f->p, src, (r >> 16) & 1);
            break;
        case 1:
            vplic_pulse(&f->p, src);
            break;
        case 2:
            wr(f, PRIO(src), r >> 16);
            break;
        case 3:
            wr(f, ENABLE(ctx, src / 32), r >> 3);
            break;
        case 4:
            wr(f, THRESHOLD(ctx), (r >> 16) % 8);
            break;
        case 5:
        case 6:
            src = claim(f, ctx);
            if (src && ((r >> 20) & 3))
                complete(f, ctx, src);
            break;
        case 7:
            complete(f, ctx, src);
            break;
        case 8:
            vplic_set_hw(&f->p, src, (r >> 16) & 1);
            break;
        }
        for (unsigned int c = 0; c < 6; c++) {
            bool want = expected_eip(&f->p, c);
            unsigned int vcpu;

            assert_int_equal(vplic_eip(&f->p, c), want);
            /* Claimed sources are never pending too */
            assert_int_equal(f->p.pending[c % 3] & f->p.claimed[c % 3], 0);
            if (!vplic_context_vcpu(&f->p, c, &vcpu))
                continue;
            /*
             * notify() only on changes (each call flips the level; a claim
             * then a completion may make two), and the last one says the
             * output as it is now.
             */
            for (size_t i = before; i < f->nev; i++) {
                if (f->ev[i].ctx == c) {
                    assert_int_not_equal(f->ev[i].level, seen[c]);
                    seen[c] = f->ev[i].level;
                }
            }
            assert_int_equal(seen[c], want);
        }
        for (size_t i = before; i < f->nev; i++)
            assert_true(f->ev[i].ctx % 2 == 1); /* only S-mode contexts are notified */
        if (f->nev > 900)
            f->nev = 0;
        if (f->ndone > 200)
            f->ndone = 0;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_limits, setup),
        cmocka_unit_test_setup(test_context_layouts, setup),
        cmocka_unit_test_setup(test_m_contexts_wired, setup),
        cmocka_unit_test_setup(test_no_level_refire, setup),
        cmocka_unit_test_setup(test_reset_values, setup),
        cmocka_unit_test_setup(test_priority_warl, setup),
        cmocka_unit_test_setup(test_threshold_warl, setup),
        cmocka_unit_test_setup(test_enable_bits, setup),
        cmocka_unit_test_setup(test_pending_read_only, setup),
        cmocka_unit_test_setup(test_claim_order, setup),
        cmocka_unit_test_setup(test_claim_multicast, setup),
        cmocka_unit_test_setup(test_threshold_and_claim, setup),
        cmocka_unit_test_setup(test_complete_rules, setup),
        cmocka_unit_test_setup(test_linux_eoi_of_disabled, setup),
        cmocka_unit_test_setup(test_level_gateway, setup),
        cmocka_unit_test_setup(test_edge_gateway, setup),
        cmocka_unit_test_setup(test_notify_transitions, setup),
        cmocka_unit_test_setup(test_many_contexts, setup),
        cmocka_unit_test_setup(test_m_and_s_layout_xv6, setup),
        cmocka_unit_test_setup(test_linux_driver, setup),
        cmocka_unit_test_setup(test_hw_complete, setup),
        cmocka_unit_test_setup(test_reset, setup),
        cmocka_unit_test_setup(test_bad_accesses, setup),
        cmocka_unit_test_setup(test_null_callbacks, setup),
        cmocka_unit_test_setup(test_random_outputs, setup),
    };

    return cmocka_run_group_tests_name("vplic", tests, NULL, NULL);
}
