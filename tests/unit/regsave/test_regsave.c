/*
 * Host tests of the vCPU switch's save/load pairs (pauth.c, mte.c, debug.c,
 * pmu.c) against a model of the registers (fake_sysreg.c): two vCPUs
 * alternate on one core, each must get back exactly what its guest left,
 * nothing of the other's, and no register the CPU does not implement may
 * be touched. The PMU's also check the order the switch needs: counting
 * stopped before anything is read, counters written before the enables,
 * the overflow line low after a save and back after a load. fpsimd.S is
 * assembly: it is checked on the target (tests/el2/switchprobe.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arch/debug.h>
#include <arch/mte.h>
#include <arch/pauth.h>
#include <arch/pmu.h>
#include <keel/cpu.h>
#include <keel/vcpu.h>
#include <keel/vm.h>

#include "fake_sysreg.h"
#include "fake_sysreg_model.h"

/* ---- what the code under test links against ---- */

struct platform platform;
struct cpu cpus[PLAT_MAX_CPUS];
static unsigned int this_cpu;

struct cpu *cpu_this(void)
{
    return &cpus[this_cpu];
}

void console_printf(const char *fmt, ...)
{
    (void)fmt;
}

/* Two vCPUs, of one VM or of two, sharing core 0. */
static struct vm vm_a, vm_b;
static struct vcpu va, vb;

static void vcpus_init(bool tag_a, bool tag_b)
{
    memset(&vm_a, 0, sizeof(vm_a));
    memset(&vm_b, 0, sizeof(vm_b));
    memset(&va, 0, sizeof(va));
    memset(&vb, 0, sizeof(vb));
    vm_a.cfg.mem_tagging = tag_a;
    vm_b.cfg.mem_tagging = tag_b;
    va.vm = &vm_a;
    vb.vm = &vm_b;
    this_cpu = 0;
    for (unsigned int i = 0; i < PLAT_MAX_CPUS; i++)
        cpus[i].id = i;
}

/* ======== pointer authentication ======== */

static const char *const pauth_regs[10] = {
    "S3_0_C2_C1_0", "S3_0_C2_C1_1", "S3_0_C2_C1_2", "S3_0_C2_C1_3", /* APIAKey, APIBKey Lo/Hi */
    "S3_0_C2_C2_0", "S3_0_C2_C2_1", "S3_0_C2_C2_2", "S3_0_C2_C2_3", /* APDAKey, APDBKey */
    "S3_0_C2_C3_0", "S3_0_C2_C3_1",                                 /* APGAKey */
};

static void pauth_cpu(u64 isar1, u64 isar2, bool keys)
{
    fake_reset();
    fake_reg("id_aa64isar1_el1", isar1);
    fake_reg("S3_0_C0_C6_2", isar2);
    if (keys)
        for (unsigned int i = 0; i < 10; i++)
            fake_reg(pauth_regs[i], 0);
    pauth_init();
    fake_log_clear();
}

static void test_pauth_absent_touches_nothing(void **state)
{
    struct vcpu_el1 e = { 0 };

    (void)state;
    pauth_cpu(0, 0, false); /* no key registers: any access fails */
    assert_false(cpu_has_pauth());
    pauth_keys_save(&e);
    pauth_keys_load(&e);
    assert_int_equal(fake_log_len, 0);
}

/* Each form FEAT_PAuth takes in the ID registers brings the keys. */
static void test_pauth_detected_in_any_form(void **state)
{
    static const struct { u64 isar1, isar2; } forms[] = {
        { 1UL << 4, 0 },  /* APA */
        { 1UL << 8, 0 },  /* API */
        { 1UL << 24, 0 }, /* GPA */
        { 1UL << 28, 0 }, /* GPI */
        { 0, 1UL << 8 },  /* GPA3 */
        { 0, 1UL << 12 }, /* APA3 */
    };

    (void)state;
    for (unsigned int i = 0; i < 6; i++) {
        pauth_cpu(forms[i].isar1, forms[i].isar2, true);
        assert_true(cpu_has_pauth());
    }
}

static void test_pauth_switch_keeps_each_vcpus_keys(void **state)
{
    struct vcpu_el1 a = { 0 }, b = { 0 };

    (void)state;
    pauth_cpu(1UL << 8, 0, true);
    pauth_keys_load(&a); /* A starts: keys 0 */
    for (unsigned int i = 0; i < 10; i++) {
        assert_int_equal(fake_peek(pauth_regs[i]), 0);
        fake_poke(pauth_regs[i], 0xa0a0000000000000UL + i); /* A's guest sets its keys */
    }
    pauth_keys_save(&a);
    pauth_keys_load(&b); /* B starts */
    for (unsigned int i = 0; i < 10; i++) {
        assert_int_equal(fake_peek(pauth_regs[i]), 0);
        fake_poke(pauth_regs[i], 0xb0b0000000000000UL + i);
    }
    pauth_keys_save(&b);
    fake_log_clear();
    pauth_keys_load(&a);
    assert_int_equal(fake_log_len, 10);
    for (unsigned int i = 0; i < 10; i++) {
        assert_int_equal(a.apkey[i], 0xa0a0000000000000UL + i);
        assert_int_equal(fake_peek(pauth_regs[i]), 0xa0a0000000000000UL + i);
    }
    pauth_keys_load(&b);
    for (unsigned int i = 0; i < 10; i++)
        assert_int_equal(fake_peek(pauth_regs[i]), 0xb0b0000000000000UL + i);
}

/* ======== MTE ======== */

#define GCR "S3_0_C1_C0_6"
#define RGSR "S3_0_C1_C0_5"
#define TFSR "S3_0_C5_C6_0"
#define TFSRE0 "S3_0_C5_C6_1"

static void mte_cpu(unsigned int level)
{
    fake_reset();
    fake_reg("id_aa64pfr1_el1", (u64)level << 8);
    if (level >= 2) {
        fake_reg(GCR, 0x5555);
        fake_reg(RGSR, 0x5555);
        fake_reg(TFSR, 0x5555);
        fake_reg(TFSRE0, 0x5555);
    }
}

static void mte_guest_sets(u64 base)
{
    fake_poke(GCR, base + 1);
    fake_poke(RGSR, base + 2);
    fake_poke(TFSR, base + 3);
    fake_poke(TFSRE0, base + 4);
}

static void mte_expect(u64 base)
{
    assert_int_equal(fake_peek(GCR), base + 1);
    assert_int_equal(fake_peek(RGSR), base + 2);
    assert_int_equal(fake_peek(TFSR), base + 3);
    assert_int_equal(fake_peek(TFSRE0), base + 4);
}

static void test_mte_tagged_vcpus_switch(void **state)
{
    (void)state;
    mte_cpu(2);
    vcpus_init(true, true);
    mte_vcpu_reset(); /* A starts */
    mte_guest_sets(0xa00);
    fake_log_clear();
    mte_vcpu_save(&va);
    /* the guest's asynchronous tag check faults are in TFSR before it is read */
    assert_int_equal(fake_find(0, 'B', "dsb nsh"), 0);
    assert_int_equal(fake_find(0, 'B', "isb"), 1);
    assert_true(fake_find(0, 'R', TFSR) > 1);
    mte_vcpu_reset(); /* B starts */
    mte_guest_sets(0xb00);
    mte_vcpu_save(&vb);
    mte_vcpu_load(&va);
    mte_expect(0xa00);
    mte_vcpu_save(&va);
    mte_vcpu_load(&vb);
    mte_expect(0xb00);
}

/* A plain VM's vCPU costs nothing, and leaves the registers as the last tagged one did. */
static void test_mte_plain_vcpu_touches_nothing(void **state)
{
    (void)state;
    mte_cpu(2);
    vcpus_init(true, false);
    mte_vcpu_reset();
    mte_guest_sets(0xa00);
    mte_vcpu_save(&va);
    fake_log_clear();
    mte_vcpu_load(&vb);
    mte_vcpu_save(&vb);
    assert_int_equal(fake_log_len, 0);
    mte_vcpu_load(&va);
    mte_expect(0xa00);
}

static void test_mte_without_feature(void **state)
{
    (void)state;
    mte_cpu(0); /* the registers do not exist: any access fails */
    vcpus_init(false, false);
    mte_vcpu_reset();
    mte_vcpu_save(&va);
    mte_vcpu_load(&va);
    assert_int_equal(fake_find(0, 'W', GCR), -1);
}

/* ======== debug ======== */

#define NBPS 6
#define NWPS 4

static char bpreg[64][16]; /* "dbgbvr<n>_el1" and the others, by n * 4 + op2 - 4 */

static const char *bp(unsigned int n, unsigned int op2)
{
    return bpreg[n * 4 + op2 - 4];
}

/* 6 breakpoints, 4 watchpoints, a double lock; FEAT_FGT as asked. */
static void debug_cpu(bool fgt)
{
    static const char *const names[4] = { "bvr", "bcr", "wvr", "wcr" };

    fake_reset();
    fake_reg("id_aa64dfr0_el1", (u64)(NBPS - 1) << 12 | (u64)(NWPS - 1) << 20 | 6);
    fake_reg("id_aa64mmfr0_el1", fgt ? 1UL << 56 : 0);
    for (unsigned int n = 0; n < 16; n++)
        for (unsigned int op2 = 4; op2 <= 7; op2++) {
            snprintf(bpreg[n * 4 + op2 - 4], 16, "dbg%s%u_el1", names[op2 - 4], n);
            if (n < (op2 <= 5 ? NBPS : NWPS))
                fake_reg(bp(n, op2), 0xdead);
        }
    fake_reg("mdscr_el1", 0xdead);
    fake_reg("oslar_el1", 0);
    fake_reg("osdlr_el1", 1);
    fake_reg("mdccint_el1", 0xdead);
    fake_reg("mdcr_el2", 0);
}

/* The guest writes OSLAR_EL1 (trapped: TDOSA). */
static void debug_guest_oslock(struct vcpu *v, bool lock)
{
    u64 val = lock;

    assert_int_equal(debug_sysreg_access(v, 0, 1, 0, 4, false, &val), 0);
}

/* An unlocked guest programs the CPU itself: every register, MDSCR_EL1 with its enables. */
static void debug_guest_programs(u64 base)
{
    for (unsigned int n = 0; n < NBPS; n++) {
        fake_poke(bp(n, 4), base + n * 16);
        fake_poke(bp(n, 5), base + n * 16 + 1);
    }
    for (unsigned int n = 0; n < NWPS; n++) {
        fake_poke(bp(n, 6), base + n * 16 + 2);
        fake_poke(bp(n, 7), base + n * 16 + 3);
    }
    fake_poke("mdscr_el1", MDSCR_EL1_MDE | MDSCR_EL1_KDE | (base & 0xf000UL) << 16);
    fake_poke("mdccint_el1", base & BIT(29));
}

static void debug_expect(u64 base, bool enables)
{
    u64 mdscr = (enables ? MDSCR_EL1_MDE | MDSCR_EL1_KDE : 0) | (base & 0xf000UL) << 16;

    for (unsigned int n = 0; n < NBPS; n++) {
        assert_int_equal(fake_peek(bp(n, 4)), base + n * 16);
        assert_int_equal(fake_peek(bp(n, 5)), base + n * 16 + 1);
    }
    for (unsigned int n = 0; n < NWPS; n++) {
        assert_int_equal(fake_peek(bp(n, 6)), base + n * 16 + 2);
        assert_int_equal(fake_peek(bp(n, 7)), base + n * 16 + 3);
    }
    assert_int_equal(fake_peek("mdscr_el1"), mdscr);
    assert_int_equal(fake_peek("mdccint_el1"), base & BIT(29));
}

/* A vCPU's start: every breakpoint and watchpoint 0, MDSCR_EL1 and MDCCINT_EL1 0. */
static void debug_expect_reset(void)
{
    for (unsigned int n = 0; n < NBPS; n++)
        assert_int_equal(fake_peek(bp(n, 4)) | fake_peek(bp(n, 5)), 0);
    for (unsigned int n = 0; n < NWPS; n++)
        assert_int_equal(fake_peek(bp(n, 6)) | fake_peek(bp(n, 7)), 0);
    assert_int_equal(fake_peek("mdscr_el1"), 0);
    assert_int_equal(fake_peek("mdccint_el1"), 0);
}

/* Both vCPUs started, unlocked by their guests, their registers programmed and saved. */
static void debug_two_running(void)
{
    debug_vcpu_reset(&va);
    debug_vcpu_reset(&vb);
    debug_vcpu_load(&va);
    debug_guest_oslock(&va, false);
    debug_guest_programs(0xa000a000UL);
    debug_vcpu_save(&va);
    debug_vcpu_load(&vb);
    debug_expect_reset(); /* nothing of A's: B starts all zero, its OS lock set */
    assert_int_equal(fake_peek("oslar_el1"), 0); /* the core's own lock clear */
    debug_guest_oslock(&vb, false);
    debug_guest_programs(0xb000b000UL | BIT(29));
    debug_vcpu_save(&vb);
}

static void test_debug_switch_unlocked(void **state)
{
    (void)state;
    debug_cpu(false);
    vcpus_init(false, false);
    debug_two_running();
    debug_vcpu_load(&va);
    debug_expect(0xa000a000UL, true);
    debug_vcpu_save(&va);
    debug_vcpu_load(&vb);
    debug_expect(0xb000b000UL | BIT(29), true);
    assert_int_equal(vb.arch.debug.mdccint, BIT(29));
}

/*
 * Locked, the guest's accesses trap into struct vcpu_debug, which is newer
 * than the CPU: save must not overwrite it, load must put it back with
 * MDSCR_EL1's enables off, and unlocking must bring them back.
 */
static void test_debug_switch_locked(void **state)
{
    u64 val = 0x1230;

    (void)state;
    debug_cpu(false);
    vcpus_init(false, false);
    debug_two_running();
    debug_vcpu_load(&va);
    debug_guest_oslock(&va, true);
    assert_int_equal(fake_peek("mdscr_el1") & MDSCR_EL1_MDE, 0);
    assert_int_equal(debug_sysreg_access(&va, 0, 0, 2, 4, false, &val), 0); /* DBGBVR2_EL1 */
    fake_poke(bp(2, 4), 0x9999); /* what the CPU holds no longer matters */
    debug_vcpu_save(&va);
    assert_int_equal(va.arch.debug.dbgbvr[2], 0x1230);
    debug_vcpu_load(&vb);
    debug_expect(0xb000b000UL | BIT(29), true);
    debug_vcpu_save(&vb);
    debug_vcpu_load(&va);
    assert_int_equal(fake_peek(bp(2, 4)), 0x1230);
    assert_int_equal(fake_peek(bp(3, 4)), 0xa000a000UL + 3 * 16);
    assert_int_equal(fake_peek("mdscr_el1") & (MDSCR_EL1_MDE | MDSCR_EL1_KDE), 0);
    debug_guest_oslock(&va, false);
    assert_int_equal(fake_peek("mdscr_el1") & (MDSCR_EL1_MDE | MDSCR_EL1_KDE),
                     MDSCR_EL1_MDE | MDSCR_EL1_KDE);
}

/* The lock state is the vCPU's, so what MDCR_EL2 must be follows it. */
static void test_debug_mdcr_traps_follow_the_vcpu(void **state)
{
    (void)state;
    debug_cpu(true);
    vcpus_init(false, false);
    debug_vcpu_reset(&va);
    debug_vcpu_reset(&vb);
    debug_guest_oslock(&vb, false);
    assert_true(debug_mdcr_traps(&va) & MDCR_EL2_TDA);
    assert_false(debug_mdcr_traps(&vb) & MDCR_EL2_TDA);
    assert_true(debug_mdcr_traps(&vb) & MDCR_EL2_TDCC);
}

/* ======== PMU ======== */

#define NCNT 6

static const char *evcnt(unsigned int n)
{
    static char s[2][24];

    snprintf(s[0], sizeof(s[0]), "pmevcntr%u_el0", n);
    return s[0];
}

static const char *evtyper(unsigned int n)
{
    static char s[24];

    snprintf(s, sizeof(s), "pmevtyper%u_el0", n);
    return s;
}

/* A core whose PMUv3 has PMUVer @ver and NCNT counters; PMU given to guests when it can be. */
static void pmu_cpu(unsigned int ver)
{
    fake_reset();
    fake_reg("id_aa64dfr0_el1", (u64)ver << 8);
    fake_reg("id_aa64pfr0_el1", 1); /* EL0 AArch64 only: LC RES1 */
    if (ver)
        fake_pmu(NCNT);
    platform.pmu_irq = 23;
    pmu_init();
    vcpus_init(false, false);
    fake_log_clear();
}

struct guest_pmu {
    u64 pmcr, cnten, inten, ovs, selr, userenr, ccfiltr;
};

/* A guest programs its PMU directly (TRAP_PMCR: PMCR_EL0 through the trap). */
static void pmu_guest_programs(const struct guest_pmu *g, u64 base)
{
    for (unsigned int i = 0; i < NCNT; i++) {
        fake_poke(evtyper(i), base + 0x10 + i);
        fake_poke(evcnt(i), base + 0x1000 * i);
    }
    fake_poke("pmccfiltr_el0", g->ccfiltr);
    fake_poke("pmccntr_el0", base << 8);
    fake_poke("pmselr_el0", g->selr);
    fake_poke("pmuserenr_el0", g->userenr);
    fake_poke("pmcntenset_el0", g->cnten);
    fake_poke("pmintenset_el1", g->inten);
    fake_poke("pmovsset_el0", g->ovs);
    if (pmu_pmcr_trapped())
        pmu_pmcr_write(g->pmcr);
    else
        fake_poke("pmcr_el0", g->pmcr);
}

/* The CPU holds @g's PMU, its counters advanced by @ticks where enabled. */
static void pmu_expect(const struct guest_pmu *g, u64 base, u64 ticks)
{
    u64 pmcr = pmu_pmcr_trapped() ? pmu_pmcr_read() : fake_peek("pmcr_el0");

    for (unsigned int i = 0; i < NCNT; i++) {
        assert_int_equal(fake_peek(evtyper(i)), base + 0x10 + i);
        assert_int_equal(fake_peek(evcnt(i)), base + 0x1000 * i + (g->cnten & BIT(i) ? ticks : 0));
    }
    assert_int_equal(fake_peek("pmccfiltr_el0"), g->ccfiltr);
    assert_int_equal(fake_peek("pmccntr_el0"), (base << 8) + (g->cnten & BIT(31) ? ticks : 0));
    assert_int_equal(fake_peek("pmselr_el0"), g->selr);
    assert_int_equal(fake_peek("pmuserenr_el0"), g->userenr);
    assert_int_equal(fake_peek("pmcntenset_el0"), g->cnten);
    assert_int_equal(fake_peek("pmintenset_el1"), g->inten);
    assert_int_equal(fake_peek("pmovsset_el0"), g->ovs);
    assert_int_equal(pmcr & 0x7ff, g->pmcr); /* below N [15:11] */
}

static const struct guest_pmu guest_a = {
    .pmcr = PMCR_EL0_E | PMCR_EL0_LC | PMCR_EL0_X, .cnten = BIT(0) | BIT(2) | BIT(31),
    .inten = BIT(2), .ovs = BIT(5), .selr = 3, .userenr = 0xd, .ccfiltr = BIT(27),
};
static const struct guest_pmu guest_b = {
    .pmcr = PMCR_EL0_E | PMCR_EL0_LC | PMCR_EL0_DP, .cnten = BIT(1) | BIT(5),
    .inten = BIT(1) | BIT(31), .ovs = 0, .selr = 31, .userenr = 0x1, .ccfiltr = BIT(31),
};

/* A vCPU's start (pmu_vcpu_reset): filters, enables, flags, PMUSERENR_EL0 0; LC set. */
static void pmu_expect_reset(void)
{
    for (unsigned int i = 0; i < NCNT; i++)
        assert_int_equal(fake_peek(evtyper(i)) | fake_peek(evcnt(i)), 0);
    assert_int_equal(fake_peek("pmccfiltr_el0") | fake_peek("pmccntr_el0"), 0);
    assert_int_equal(fake_peek("pmcntenset_el0") | fake_peek("pmintenset_el1"), 0);
    assert_int_equal(fake_peek("pmovsset_el0") | fake_peek("pmuserenr_el0"), 0);
    assert_int_equal(fake_peek("pmcr_el0") & 0x7ff & ~PMCR_EL0_DP, PMCR_EL0_LC);
}

/* A and B started and counting in turn on this core, each saved; @ticks while each ran. */
static void pmu_two_running(u64 ticks)
{
    pmu_vcpu_reset();
    pmu_guest_programs(&guest_a, 0xa0000);
    fake_pmu_tick(ticks);
    pmu_vcpu_save(&va);
    pmu_vcpu_reset();
    pmu_expect_reset();
    pmu_guest_programs(&guest_b, 0xb0000);
    fake_pmu_tick(ticks);
    pmu_vcpu_save(&vb);
}

static void test_pmu_switch_roundtrip(void **state)
{
    (void)state;
    pmu_cpu(ID_PMUVER_PMUV3P5);
    pmu_two_running(7);
    pmu_vcpu_load(&va);
    pmu_expect(&guest_a, 0xa0000, 7);
    fake_pmu_tick(3); /* A counts on, from where it was */
    pmu_vcpu_save(&va);
    pmu_vcpu_load(&vb);
    pmu_expect(&guest_b, 0xb0000, 7);
    pmu_vcpu_save(&vb);
    pmu_vcpu_load(&va);
    pmu_expect(&guest_a, 0xa0000, 10);
}

/* Saved, nothing counts: not Keel, not whatever runs before the next load. */
static void test_pmu_save_stops_counting_first(void **state)
{
    int enables, stop, sync;

    (void)state;
    pmu_cpu(ID_PMUVER_PMUV3P5);
    pmu_vcpu_reset();
    pmu_guest_programs(&guest_a, 0xa0000);
    fake_log_clear();
    pmu_vcpu_save(&va);
    enables = fake_find(0, 'R', "pmcntenset_el0");
    stop = fake_find(0, 'W', "pmcr_el0");
    sync = fake_find(stop < 0 ? 0 : (unsigned int)stop, 'B', "isb");
    assert_true(enables >= 0 && enables < stop && stop < sync);
    assert_int_equal(fake_log[stop].val & (PMCR_EL0_E | PMCR_EL0_P | PMCR_EL0_C), 0);
    assert_true(fake_log[stop].val & PMCR_EL0_LC); /* the rest of PMCR_EL0 kept */
    for (unsigned int i = 0; i < (unsigned int)sync; i++)
        assert_true(strncmp(fake_log[i].name, "pmevcntr", 8) && strcmp(fake_log[i].name, "pmccntr_el0") &&
                    strcmp(fake_log[i].name, "pmovsset_el0"));
    assert_int_equal(fake_count_prefix("pmevcntr"), NCNT);
    assert_int_equal(fake_count_prefix("pmevtyper"), NCNT);
    fake_pmu_tick(100);
    assert_int_equal(fake_peek(evcnt(0)), 0xa0000);
    assert_int_equal(va.arch.pmu.pmcr, guest_a.pmcr);
    assert_int_equal(va.arch.pmu.pmcntenset, guest_a.cnten);
}

/* Loaded, the counters are in place before anything may count, and E comes last. */
static void test_pmu_load_enables_last(void **state)
{
    int first_pmcr, cnten, last_pmcr, last_counter = -1;

    (void)state;
    pmu_cpu(ID_PMUVER_PMUV3P5);
    pmu_two_running(1);
    fake_log_clear();
    pmu_vcpu_load(&va);
    first_pmcr = fake_find(0, 'W', "pmcr_el0");
    cnten = fake_find_last('W', "pmcntenset_el0");
    last_pmcr = fake_find_last('W', "pmcr_el0");
    for (unsigned int i = 0; i < fake_log_len; i++)
        if (fake_log[i].op == 'W' && (!strncmp(fake_log[i].name, "pmev", 4) ||
                                      !strncmp(fake_log[i].name, "pmcc", 4)))
            last_counter = (int)i;
    assert_int_equal(first_pmcr, 0);
    assert_int_equal(fake_log[first_pmcr].val & PMCR_EL0_E, 0);
    assert_true(last_counter > first_pmcr && cnten > last_counter && last_pmcr > cnten);
    assert_true(fake_log[last_pmcr].val & PMCR_EL0_E);
    for (unsigned int i = 0; i < fake_log_len; i++)
        if (fake_log[i].op == 'W' && !strcmp(fake_log[i].name, "pmcr_el0"))
            assert_int_equal(fake_log[i].val & (PMCR_EL0_P | PMCR_EL0_C), 0);
    assert_int_equal(fake_log[fake_log_len - 1].op, 'B'); /* an ISB ends it */
}

/*
 * The overflow line: low once saved, raised again by the load of a pending,
 * enabled overflow; both as the architecture has it and as QEMU drives it.
 */
static void test_pmu_overflow_line_follows_the_vcpu(void **state)
{
    struct guest_pmu g = guest_a;

    (void)state;
    g.inten = g.ovs = BIT(2);
    pmu_cpu(ID_PMUVER_PMUV3P5);
    pmu_vcpu_reset();
    pmu_guest_programs(&g, 0xa0000);
    fake_poke("pmovsset_el0", BIT(2)); /* the overflow happens with E set */
    assert_true(fake_pmu_line());
    assert_true(pmu_line_high());
    assert_true(fake_pmu_qemu_line());
    pmu_vcpu_save(&va);
    assert_false(fake_pmu_line());
    assert_false(fake_pmu_qemu_line());
    assert_false(pmu_line_high());
    pmu_vcpu_reset();
    pmu_guest_programs(&guest_b, 0xb0000); /* B: interrupts enabled, no overflow */
    pmu_vcpu_save(&vb);
    pmu_vcpu_load(&vb);
    assert_false(fake_pmu_line());
    pmu_vcpu_save(&vb);
    pmu_vcpu_load(&va);
    assert_true(fake_pmu_line());
    assert_true(fake_pmu_qemu_line());
    assert_true(pmu_line_high());
}

/* Without HCCD: the hardware keeps DP set, each guest's own DP travels with its vCPU. */
static void test_pmu_trap_pmcr_dp_per_vcpu(void **state)
{
    (void)state;
    pmu_cpu(ID_PMUVER_PMUV3P1);
    assert_true(pmu_pmcr_trapped());
    pmu_two_running(2); /* A wrote DP 0, B DP 1 */
    assert_int_equal(va.arch.pmu.pmcr & PMCR_EL0_DP, 0);
    assert_int_equal(vb.arch.pmu.pmcr & PMCR_EL0_DP, PMCR_EL0_DP);
    pmu_vcpu_load(&va);
    assert_true(fake_peek("pmcr_el0") & PMCR_EL0_DP);
    pmu_expect(&guest_a, 0xa0000, 2);
    pmu_vcpu_save(&va);
    pmu_vcpu_load(&vb);
    assert_true(fake_peek("pmcr_el0") & PMCR_EL0_DP);
    pmu_expect(&guest_b, 0xb0000, 2);
}

/* Hidden (Armv8.0's PMUv3) or absent: no guest state in the PMU, nothing touched. */
static void test_pmu_hidden_or_none_touches_nothing(void **state)
{
    static const unsigned int vers[] = { 1, 0 };

    (void)state;
    for (unsigned int i = 0; i < 2; i++) {
        pmu_cpu(vers[i]);
        pmu_vcpu_save(&va);
        pmu_vcpu_load(&va);
        assert_int_equal(fake_log_len, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pauth_absent_touches_nothing),
        cmocka_unit_test(test_pauth_detected_in_any_form),
        cmocka_unit_test(test_pauth_switch_keeps_each_vcpus_keys),
        cmocka_unit_test(test_mte_tagged_vcpus_switch),
        cmocka_unit_test(test_mte_plain_vcpu_touches_nothing),
        cmocka_unit_test(test_mte_without_feature),
        cmocka_unit_test(test_debug_switch_unlocked),
        cmocka_unit_test(test_debug_switch_locked),
        cmocka_unit_test(test_debug_mdcr_traps_follow_the_vcpu),
        cmocka_unit_test(test_pmu_switch_roundtrip),
        cmocka_unit_test(test_pmu_save_stops_counting_first),
        cmocka_unit_test(test_pmu_load_enables_last),
        cmocka_unit_test(test_pmu_overflow_line_follows_the_vcpu),
        cmocka_unit_test(test_pmu_trap_pmcr_dp_per_vcpu),
        cmocka_unit_test(test_pmu_hidden_or_none_touches_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
