/*
 * pmu: the PMUv3 a Keel guest counts with, checked on every vCPU (each has
 * its own), one vCPU at a time while the others wait in WFI:
 *  - ID_AA64DFR0_EL1.PMUVer (PMUv3p1 to PMUv3p5) and ID_DFR0_EL1.PerfMon
 *    agree; PMCR_EL0.N counters; the DT's arm,armv8-pmuv3 node names a PPI,
 *    level-high
 *  - a vCPU starts with the PMU reset (counters stopped and zeroed, no
 *    overflow, interrupt or filter, EL0 access off), also after CPU_OFF and
 *    CPU_ON with its PMU left dirty; PMCR_EL0.DP reads back what was written
 *  - the cycle counter counts and stops; INST_RETIRED (0x08) counts a loop
 *    to within a few instructions (where PMCEID0_EL0 has it: QEMU only
 *    under -icount); SW_INCR through PMSWINC_EL0, only while enabled
 *  - overflow: PMOVSSET_EL0 at 32 bits, at 64 with PMCR_EL0.LP (PMUv3p5);
 *    CHAIN (0x1E) where implemented (QEMU has not)
 *  - the overflow interrupt on the PMU's PPI, as a level: taken, shown in
 *    PMOVSSET_EL0, taken again after an EOI while the overflow stays,
 *    quiet once PMOVSCLR_EL0 clears it; none with PMINTENCLR; the cycle
 *    counter's too
 *  - filters: P excludes EL1, U excludes EL0 (a loop at each level)
 *  - EL2: Keel's execution is never counted, not even with NSH set in
 *    PMEVTYPER<n>_EL0 or PMCCFILTR_EL0 (MDCR_EL2.HPMD, HCCD): counters
 *    filtered to EL2 alone stay at 0 across HVCs, and INST_RETIRED across
 *    an HVC adds only the guest's own few instructions
 *  - EL0 access as PMUSERENR_EL0 says, from AArch64 and AArch32 (CP15
 *    PMCCNTR and PMCR reads and a PMCR write)
 */
#include "libguest.h"

#define PMCR_E BIT(0)
#define PMCR_P BIT(1)
#define PMCR_C BIT(2)
#define PMCR_DP BIT(5)
#define PMCR_LC BIT(6)
#define PMCR_LP BIT(7)
#define PMCR_N(v) FIELD_GET(v, 15, 11)
/* PMEVTYPER<n>_EL0 and PMCCFILTR_EL0 filters */
#define EVT_P BIT(31)
#define EVT_U BIT(30)
#define EVT_NSH BIT(27)
#define CYCLE BIT(31) /* the cycle counter's bit in PMCNTENSET, PMINTENSET, PMOVSSET */
#define PMUSERENR_EN BIT(0)

#define EV_SW_INCR 0x00
#define EV_INST_RETIRED 0x08
#define EV_CPU_CYCLES 0x11
#define EV_CHAIN 0x1e

#define PMUV3P1 4
#define PMUV3P5 6

#define SHORT_US 20000
#define LATE_US 500000
#define LOOP_ITERS 1000000UL
#define HVC_CALLS 200UL
/* EL2-only counts allowed per HVC: boundary cycles a real CPU may attribute; QEMU gives 0 */
#define EL2_SLACK_PER_CALL 10
#define EC_SVC64 0x15
#define EC_CP15_32 0x03

static unsigned int pmuver, nctr;
static u64 ceid0;
static u32 ppi;

static bool implemented(unsigned int ev)
{
    return ev < 32 && (ceid0 & BIT(ev));
}

/* ---- register helpers ---- */
static u64 pmcr(void) { return read_sysreg(pmcr_el0); }
static void pmcr_set(u64 v) { write_sysreg(pmcr_el0, v); isb(); }
static void sel(unsigned int n) { write_sysreg(pmselr_el0, n); isb(); }
static void evtype_set(unsigned int n, u64 t) { sel(n); write_sysreg(pmxevtyper_el0, t); isb(); }
static u64 evtype(unsigned int n) { sel(n); return read_sysreg(pmxevtyper_el0); }
static void evcnt_set(unsigned int n, u64 v) { sel(n); write_sysreg(pmxevcntr_el0, v); isb(); }
static u64 evcnt(unsigned int n) { sel(n); return read_sysreg(pmxevcntr_el0); }
static void swinc(u64 mask) { write_sysreg(pmswinc_el0, mask); isb(); }
static void enable(u64 mask) { write_sysreg(pmcntenset_el0, mask); isb(); }
static void disable(u64 mask) { write_sysreg(pmcntenclr_el0, mask); isb(); }

/* Everything stopped and zeroed, as each check starts: LC (64-bit cycle counter) unless it says otherwise. */
static void pmu_quiet(void)
{
    write_sysreg(pmcntenclr_el0, 0xffffffffUL);
    write_sysreg(pmintenclr_el1, 0xffffffffUL);
    write_sysreg(pmovsclr_el0, 0xffffffffUL);
    pmcr_set(PMCR_LC | PMCR_P | PMCR_C);
    for (unsigned int i = 0; i < nctr; i++)
        evtype_set(i, 0);
    write_sysreg(pmccfiltr_el0, 0);
    write_sysreg(pmuserenr_el0, 0);
    sel(0);
}

/* @iters turns of a two-instruction loop, between enabling and disabling the counters in @mask. */
static void count_loop(u64 mask, u64 iters)
{
    __asm__ volatile("msr pmcntenset_el0, %[m]\n"
                     "isb\n"
                     "1: subs %[i], %[i], #1\n"
                     "b.ne 1b\n"
                     "msr pmcntenclr_el0, %[m]\n"
                     "isb\n"
                     : [i] "+r"(iters) : [m] "r"(mask) : "cc", "memory");
}

/* @calls PSCI_VERSION HVCs to Keel (four guest instructions each), counters @mask enabled around them. */
static void count_hvcs(u64 mask, u64 calls)
{
    __asm__ volatile("msr pmcntenset_el0, %[m]\n"
                     "isb\n"
                     "1: mov w0, %w[fn]\n"
                     "hvc #0\n"
                     "subs %[n], %[n], #1\n"
                     "b.ne 1b\n"
                     "msr pmcntenclr_el0, %[m]\n"
                     "isb\n"
                     : [n] "+r"(calls) : [m] "r"(mask), [fn] "r"(PSCI_VERSION)
                     : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
                       "x12", "x13", "x14", "x15", "x16", "x17", "cc", "memory");
}

/* ---- EL0: AArch64 and AArch32 (T32, hand-encoded) ---- */

/* Runs @entry at EL0 (AArch64, DAIF masked) with x0 = @arg; returns its x0 at its SVC. */
u64 run_el0(u64 arg, u64 entry);
__asm__(".text\n"
        ".global run_el0\n"
        "run_el0:\n"
        "  msr elr_el1, x1\n"
        "  mov x9, #0x3c0\n" /* EL0t, D A I F */
        "  msr spsr_el1, x9\n"
        "  eret\n"
        ".global run_el0_return\n"
        "run_el0_return:\n" /* registers as EL0 left them; x30 is still the caller's */
        "  ret\n");
extern char run_el0_return[];

void el0_loop(void);
void el0_read_ccntr(void);
__asm__(".text\n"
        ".global el0_loop\n"
        "el0_loop:\n"
        "1: subs x0, x0, #1\n"
        "  b.ne 1b\n"
        "  svc #0\n"
        ".global el0_read_ccntr\n"
        "el0_read_ccntr:\n"
        "  mrs x0, pmccntr_el0\n"
        "  svc #0\n");


static const u16 t32_pmu[] __aligned(4) = {
    0xee19, 0x0f1d, /* mrc p15, 0, r0, c9, c13, 0   r0 = PMCCNTR */
    0xee19, 0x1f1c, /* mrc p15, 0, r1, c9, c12, 0   r1 = PMCR */
    0xee09, 0x2f1c, /* mcr p15, 0, r2, c9, c12, 0   PMCR = r2 */
    0xdf00,         /* svc #0 */
};

/* Per vCPU: the ECs of the exceptions EL0 took to EL1 other than its final SVC. */
static volatile u64 el0_trap_ec[MAX_CPUS];

static bool sync_hook(u64 kind, struct ex_frame *f)
{
    u64 ec = ESR_EC(f->esr);

    if (kind != 8 && kind != 12)
        return false;
    if (ec == EC_SVC64 || ec == 0x11 /* SVC from AArch32 */) {
        f->elr = kind == 8 ? (u64)run_el0_return : (u64)run_a32_return;
        f->spsr = 0x3c5; /* EL1h, DAIF masked */
        return true;
    }
    el0_trap_ec[smp_id()] = ec;
    f->elr += 4; /* the trapped access: skipped, its register left as it was */
    return true;
}

/* ---- checks, each on the vCPU it runs on ---- */

static void check_reset_state(const char *when)
{
    u64 nz = read_sysreg(pmcntenset_el0) | read_sysreg(pmintenset_el1) |
             read_sysreg(pmovsset_el0) | read_sysreg(pmuserenr_el0) | read_sysreg(pmselr_el0) |
             read_sysreg(pmccfiltr_el0) | read_sysreg(pmccntr_el0);

    for (unsigned int i = 0; i < nctr; i++)
        nz |= evtype(i) | evcnt(i);
    sel(0);
    report(nz == 0, "%s: counters stopped and zeroed, no overflow, interrupt or filter, EL0 "
           "access off (OR of all: %#lx)", when, nz);
    report(!(pmcr() & (PMCR_E | PMCR_DP)), "%s: PMCR_EL0.E and DP clear (%#lx)", when, pmcr());
}

/* A PMU left running, overflowing and filtered, for the next run to find reset. */
static void pmu_dirty(void)
{
    for (unsigned int i = 0; i < nctr; i++) {
        evtype_set(i, EVT_U | EV_CPU_CYCLES);
        evcnt_set(i, 0x1234);
    }
    write_sysreg(pmccfiltr_el0, EVT_NSH);
    write_sysreg(pmuserenr_el0, PMUSERENR_EN);
    write_sysreg(pmovsset_el0, BIT(0));
    write_sysreg(pmintenset_el1, CYCLE); /* not counter 0's: no interrupt left pending */
    pmcr_set(PMCR_E | PMCR_DP);
    enable(CYCLE | BIT(0));
}

static void check_pmcr(void)
{
    pmu_quiet();
    pmcr_set(PMCR_LC | PMCR_DP);
    report(pmcr() & PMCR_DP, "PMCR_EL0.DP reads back 1 once written 1");
    pmcr_set(PMCR_LC);
    report(!(pmcr() & PMCR_DP), "PMCR_EL0.DP reads back 0 once written 0");
    report(PMCR_N(pmcr()) == nctr, "PMCR_EL0.N stays %u", nctr);
}

static void check_cycle_counter(void)
{
    u64 c0, c1, c2;

    pmu_quiet();
    pmcr_set(PMCR_LC | PMCR_E);
    enable(CYCLE);
    c0 = read_sysreg(pmccntr_el0);
    udelay(1000);
    c1 = read_sysreg(pmccntr_el0);
    report(c1 > c0 + 1000, "PMCCNTR_EL0 counts (%lu in 1 ms)", c1 - c0);
    disable(CYCLE);
    c1 = read_sysreg(pmccntr_el0);
    udelay(1000);
    c2 = read_sysreg(pmccntr_el0);
    report(c1 == c2, "and stops once disabled (%lu, %lu)", c1, c2);
}

static void check_inst_retired(void)
{
    u64 n;

    if (!implemented(EV_INST_RETIRED)) {
        report_skip("INST_RETIRED: not in PMCEID0_EL0 (QEMU counts instructions only under -icount)");
        return;
    }
    pmu_quiet();
    evtype_set(0, EV_INST_RETIRED);
    pmcr_set(PMCR_LC | PMCR_E);
    count_loop(BIT(0), LOOP_ITERS);
    n = evcnt(0);
    report(n >= 2 * LOOP_ITERS && n <= 2 * LOOP_ITERS + 32,
           "INST_RETIRED: a loop of %lu instructions counts %lu", 2 * LOOP_ITERS, n);
}

static void check_swinc(void)
{
    unsigned int n = nctr - 1;

    pmu_quiet();
    evtype_set(n, EV_SW_INCR);
    pmcr_set(PMCR_LC | PMCR_E);
    enable(BIT(n));
    for (int i = 0; i < 5; i++)
        swinc(BIT(n));
    report(evcnt(n) == 5, "SW_INCR: five PMSWINC_EL0 writes count 5 on counter %u (%lu)", n,
           evcnt(n));
    disable(BIT(n));
    swinc(BIT(n));
    report(evcnt(n) == 5, "and none once the counter is disabled (%lu)", evcnt(n));
    enable(BIT(n));
    pmcr_set(PMCR_LC);
    swinc(BIT(n));
    report(evcnt(n) == 5, "nor with PMCR_EL0.E clear (%lu)", evcnt(n));
}

static void check_overflow_flags(void)
{
    pmu_quiet();
    evtype_set(0, EV_SW_INCR);
    evcnt_set(0, 0xffffffffUL);
    pmcr_set(PMCR_LC | PMCR_E);
    enable(BIT(0));
    swinc(BIT(0));
    /* from PMUv3p5 the counter is 64 bits whatever LP says: LP moves only its overflow */
    report(evcnt(0) == (pmuver >= PMUV3P5 ? 0x100000000UL : 0) &&
               (read_sysreg(pmovsset_el0) & BIT(0)),
           "PMCR_EL0.LP clear: bits [31:0] wrap to 0 and set PMOVSSET_EL0 (%#lx, %#lx)", evcnt(0),
           read_sysreg(pmovsset_el0));
    write_sysreg(pmovsclr_el0, BIT(0));
    isb();
    report(!(read_sysreg(pmovsset_el0) & BIT(0)), "PMOVSCLR_EL0 clears it");
    if (pmuver < PMUV3P5) {
        report_skip("64-bit event counters: PMUv3p5 only");
        return;
    }
    pmcr_set(PMCR_LC | PMCR_LP | PMCR_E);
    evcnt_set(0, 0xffffffffUL);
    swinc(BIT(0));
    report(evcnt(0) == 0x100000000UL && !read_sysreg(pmovsset_el0),
           "PMCR_EL0.LP: the counter goes on past 32 bits, no overflow (%#lx)", evcnt(0));
    evcnt_set(0, ~0UL);
    swinc(BIT(0));
    report(evcnt(0) == 0 && (read_sysreg(pmovsset_el0) & BIT(0)),
           "and overflows at 64 bits (%#lx, PMOVSSET_EL0 %#lx)", evcnt(0),
           read_sysreg(pmovsset_el0));
}

static void check_chain(void)
{
    if (!implemented(EV_CHAIN) || nctr < 2) {
        report_skip("CHAIN: not in PMCEID0_EL0 (QEMU does not implement it)");
        return;
    }
    pmu_quiet();
    evtype_set(0, EV_SW_INCR);
    evtype_set(1, EV_CHAIN);
    evcnt_set(0, 0xffffffffUL);
    pmcr_set(PMCR_LC | PMCR_E);
    enable(BIT(0) | BIT(1));
    swinc(BIT(0));
    report(evcnt(0) == 0 && evcnt(1) == 1,
           "CHAIN: the odd counter counts the even one's overflow (%lu, %lu)", evcnt(0), evcnt(1));
}

/* Waits for the PMU's PPI (IRQs masked): true if it came. */
static bool wait_pmu_irq(u64 us)
{
    u32 iar = gic_wait_ack(us);

    if (iar == GIC_SPURIOUS)
        return false;
    if (iar != ppi) {
        report_info("unexpected interrupt %u", iar);
        gic_eoi(iar);
        return false;
    }
    return true;
}

static void check_overflow_irq(void)
{
    unsigned int n = nctr - 1;
    u64 flags = local_irq_save(), ovs;
    bool got;

    gic_irq_enable(ppi);
    pmu_quiet();
    evtype_set(n, EV_SW_INCR);
    evcnt_set(n, 0xffffffffUL);
    pmcr_set(PMCR_LC | PMCR_E);
    enable(BIT(n));
    swinc(BIT(n));
    report(!wait_pmu_irq(SHORT_US), "an overflow without PMINTENSET_EL1 interrupts nothing");
    write_sysreg(pmintenset_el1, BIT(n));
    isb();
    got = wait_pmu_irq(LATE_US);
    ovs = read_sysreg(pmovsset_el0);
    report(got, "PMINTENSET_EL1 set with the overflow flagged: the PPI (%u) is taken", ppi);
    report(ovs & BIT(n), "PMOVSSET_EL0 shows counter %u (%#lx)", n, ovs);
    if (got && gic_v2()) {
        /*
         * QEMU's GICv2 model re-evaluates the physical CPU interface only at
         * its next physical event after a guest's EOI deactivates a HW-linked
         * interrupt (hw/intc/arm_gic.c, gic_complete_irq: the virtual one
         * alone), so a level still high is not re-signalled there.
         */
        report_skip("a level taken again after the EOI: not on QEMU's GICv2 model");
    } else if (got) {
        gic_eoi(ppi);
        got = wait_pmu_irq(LATE_US);
        report(got, "a level: taken again after the EOI while the overflow stays");
    }
    write_sysreg(pmovsclr_el0, BIT(n));
    isb();
    if (got)
        gic_eoi(ppi);
    report(!wait_pmu_irq(SHORT_US) && !gic_irq_pending(ppi),
           "PMOVSCLR_EL0 lowers it: nothing after the EOI");

    /* the cycle counter, 2^16 cycles before it wraps at 32 bits (or 64 where LC is RES1) */
    pmu_quiet();
    pmcr_set(PMCR_E);
    write_sysreg(pmccntr_el0, ((pmcr() & PMCR_LC) ? ~0UL : 0xffffffffUL) - 0x10000);
    write_sysreg(pmintenset_el1, CYCLE);
    enable(CYCLE);
    got = wait_pmu_irq(LATE_US);
    ovs = read_sysreg(pmovsset_el0);
    write_sysreg(pmovsclr_el0, CYCLE);
    isb();
    if (got)
        gic_eoi(ppi);
    report(got && (ovs & CYCLE), "the cycle counter's overflow interrupts too (PMOVSSET_EL0 %#lx)",
           ovs);
    pmu_quiet();
    gic_irq_disable(ppi);
    local_irq_restore(flags);
}

/*
 * A try of the filters may be retried: where the counted event is
 * CPU_CYCLES and the counter runs on wall-clock time (QEMU without icount),
 * the host descheduling QEMU for one of its slices while the guest is at
 * EL1, between the enable and the ERET to EL0, puts milliseconds into the
 * no-EL0 counter. A filter that does not work fails every try.
 */
#define FILTER_TRIES 3

/* Counters 0-2 on @ev: unfiltered, P (no EL1), U (no EL0). */
static void filters_arm(unsigned int ev)
{
    pmu_quiet();
    evtype_set(0, ev);
    evtype_set(1, EVT_P | ev);
    evtype_set(2, EVT_U | ev);
    pmcr_set(PMCR_LC | PMCR_E);
}

static bool filters_at_el1(unsigned int ev, u64 c[3])
{
    filters_arm(ev);
    count_loop(7, LOOP_ITERS);
    c[0] = evcnt(0), c[1] = evcnt(1), c[2] = evcnt(2);
    return c[0] > 1000 && c[1] <= c[0] / 64 && c[2] >= c[0] - c[0] / 8 && c[2] <= c[0] + c[0] / 8;
}

static bool filters_at_el0(unsigned int ev, u64 c[3])
{
    u64 flags;

    filters_arm(ev);
    flags = local_irq_save();
    run_el0(1000, (u64)el0_loop); /* warm up: its first exception takes longest */
    enable(7);
    run_el0(LOOP_ITERS, (u64)el0_loop);
    disable(7);
    local_irq_restore(flags);
    c[0] = evcnt(0), c[1] = evcnt(1), c[2] = evcnt(2);
    return c[0] > 1000 && c[2] <= c[0] / 8 && c[1] >= c[0] - c[0] / 8;
}

/* A loop at EL1, then at EL0, each counted unfiltered, without EL1 and without EL0. */
static void check_filters_on(unsigned int ev, const char *name)
{
    unsigned int t = 1;
    bool ok;
    u64 c[3];

    while (!(ok = filters_at_el1(ev, c)) && t < FILTER_TRIES)
        t++;
    report(ok, "%s, a loop at EL1: unfiltered %lu, P (no EL1) %lu, U (no EL0) %lu (try %u)", name,
           c[0], c[1], c[2], t);
    t = 1;
    while (!(ok = filters_at_el0(ev, c)) && t < FILTER_TRIES)
        t++;
    report(ok, "%s, a loop at EL0: unfiltered %lu, P (no EL1) %lu, U (no EL0) %lu (try %u)", name,
           c[0], c[1], c[2], t);
}

static void check_filters(void)
{
    if (nctr < 3) {
        report_skip("filters: needs 3 event counters (%u)", nctr);
        return;
    }
    check_filters_on(EV_CPU_CYCLES, "CPU_CYCLES");
    if (implemented(EV_INST_RETIRED))
        check_filters_on(EV_INST_RETIRED, "INST_RETIRED");
}

/*
 * Keel's EL2: counters asked to count EL2 alone (P, U and NSH set) must
 * count nothing across HVCs, and one counting every level with NSH only
 * the guest's own instructions.
 */
static void check_el2_excluded(void)
{
    u64 cyc, ccnt, live, inst;

    pmu_quiet();
    evtype_set(0, EVT_P | EVT_U | EVT_NSH | EV_CPU_CYCLES);
    evtype_set(1, EVT_NSH | EV_CPU_CYCLES);
    write_sysreg(pmccfiltr_el0, EVT_P | EVT_U | EVT_NSH);
    pmcr_set(PMCR_LC | PMCR_E); /* DP clear: no help from the guest */
    count_hvcs(BIT(0) | BIT(1) | CYCLE, HVC_CALLS);
    cyc = evcnt(0), live = evcnt(1), ccnt = read_sysreg(pmccntr_el0);
    report(live > 0, "CPU_CYCLES with NSH counts across %lu HVCs (%lu)", HVC_CALLS, live);
    report(cyc <= EL2_SLACK_PER_CALL * HVC_CALLS,
           "CPU_CYCLES filtered to EL2 alone (P, U, NSH): %lu across %lu HVCs", cyc, HVC_CALLS);
    report(ccnt <= EL2_SLACK_PER_CALL * HVC_CALLS,
           "PMCCNTR_EL0 filtered to EL2 alone (PMCCFILTR_EL0 P, U, NSH): %lu", ccnt);
    if (!implemented(EV_INST_RETIRED)) {
        report_skip("INST_RETIRED across HVCs: not implemented here");
        return;
    }
    pmu_quiet();
    evtype_set(0, EVT_NSH | EV_INST_RETIRED);
    evtype_set(1, EVT_P | EVT_U | EVT_NSH | EV_INST_RETIRED);
    pmcr_set(PMCR_LC | PMCR_E);
    count_hvcs(BIT(0) | BIT(1), HVC_CALLS);
    inst = evcnt(0);
    report(inst >= 4 * HVC_CALLS && inst <= 8 * HVC_CALLS,
           "INST_RETIRED with NSH: %lu per HVC (the guest's own 4, none of Keel's)",
           inst / HVC_CALLS);
    report(evcnt(1) == 0, "INST_RETIRED filtered to EL2 alone: %lu", evcnt(1));
}

/* PMUSERENR_EL0.EN: EL0's PMU access traps to EL1 without it, reads the counter with it. */
static void check_el0_access(void)
{
    unsigned int cpu = smp_id();
    u64 flags = local_irq_save(), v;

    pmu_quiet();
    pmcr_set(PMCR_LC | PMCR_E);
    enable(CYCLE);
    el0_trap_ec[cpu] = 0;
    v = run_el0(0x55, (u64)el0_read_ccntr);
    report(el0_trap_ec[cpu] == 0x18 && v == 0x55,
           "PMUSERENR_EL0.EN clear: EL0's MRS PMCCNTR_EL0 traps to EL1 (EC %#lx)", el0_trap_ec[cpu]);
    write_sysreg(pmuserenr_el0, PMUSERENR_EN);
    isb();
    el0_trap_ec[cpu] = 0;
    v = run_el0(0, (u64)el0_read_ccntr);
    report(el0_trap_ec[cpu] == 0 && v > 0, "PMUSERENR_EL0.EN set: EL0 reads PMCCNTR_EL0 (%lu)", v);
    pmu_quiet();
    local_irq_restore(flags);
}

static void check_aarch32(void)
{
    unsigned int cpu = smp_id();
    u64 flags, el1_pmcr;
    u32 r[15] = { 0 };

    if (FIELD_GET(read_sysreg(id_aa64pfr0_el1), 3, 0) < 2) {
        report_skip("AArch32 EL0: not implemented");
        return;
    }
    flags = local_irq_save();
    pmu_quiet();
    pmcr_set(PMCR_LC | PMCR_E);
    enable(CYCLE);
    write_sysreg(pmuserenr_el0, PMUSERENR_EN);
    isb();
    el1_pmcr = pmcr();
    r[0] = 0, r[1] = 0, r[2] = (u32)el1_pmcr | PMCR_DP;
    el0_trap_ec[cpu] = 0;
    run_a32((u64)t32_pmu, r);
    report(el0_trap_ec[cpu] == 0 && r[0] > 0, "AArch32 EL0: MRC PMCCNTR reads the counter (%u)",
           r[0]);
    report(r[1] == (u32)el1_pmcr, "MRC PMCR reads what EL1 reads (%#x, %#lx)", r[1], el1_pmcr);
    report(pmcr() == (el1_pmcr | PMCR_DP), "MCR PMCR sets DP as EL1 then reads it (%#lx)", pmcr());

    write_sysreg(pmuserenr_el0, 0);
    isb();
    r[0] = 0x55, r[1] = 0x55, r[2] = (u32)el1_pmcr;
    run_a32((u64)t32_pmu, r);
    report(el0_trap_ec[cpu] == EC_CP15_32 && r[0] == 0x55 && pmcr() == (el1_pmcr | PMCR_DP),
           "PMUSERENR_EL0.EN clear: its CP15 accesses trap to EL1 (EC %#lx)", el0_trap_ec[cpu]);
    pmu_quiet();
    local_irq_restore(flags);
}

/* Registers the guest set keep their values across an exit to Keel. */
static void check_kept_across_exit(void)
{
    pmu_quiet();
    evtype_set(0, EVT_U | EV_CPU_CYCLES);
    evcnt_set(0, 0xabcd);
    write_sysreg(pmintenset_el1, BIT(0));
    write_sysreg(pmuserenr_el0, PMUSERENR_EN);
    sel(nctr - 1);
    psci_call(PSCI_VERSION, 0, 0, 0);
    report(read_sysreg(pmselr_el0) == nctr - 1 && evtype(0) == (EVT_U | EV_CPU_CYCLES) &&
               evcnt(0) == 0xabcd && read_sysreg(pmintenset_el1) == BIT(0) &&
               read_sysreg(pmuserenr_el0) == PMUSERENR_EN,
           "PMSELR, PMEVTYPER0, PMEVCNTR0, PMINTENSET and PMUSERENR kept across a hypercall");
    pmu_quiet();
}

static char cpu_prefix[MAX_CPUS][8];

static void pmu_checks(void *arg)
{
    unsigned int cpu = smp_id();

    report_prefix_push("pmu");
    report_prefix_push(cpu_prefix[cpu]);
    check_reset_state("at entry");
    check_pmcr();
    check_cycle_counter();
    check_inst_retired();
    check_swinc();
    check_overflow_flags();
    check_chain();
    check_overflow_irq();
    check_filters();
    check_el2_excluded();
    check_el0_access();
    check_aarch32();
    check_kept_across_exit();
    pmu_quiet();
    report_prefix_pop();
    report_prefix_pop();
}

/* ---- one vCPU at a time, vCPU 0 in WFI meanwhile (QEMU counts every CPU's instructions) ---- */
static volatile bool work_done[MAX_CPUS];
static cpu_fn work_fn;

static void work_then_wake(void *arg)
{
    work_fn(arg);
    WRITE_ONCE(work_done[smp_id()], true);
    dsb(ish);
    gic_send_sgi(0, GIC_WAKE_SGI);
}

static void run_on(unsigned int cpu, cpu_fn fn)
{
    u64 flags;

    if (cpu == 0) {
        fn(NULL);
        return;
    }
    work_fn = fn;
    work_done[cpu] = false;
    flags = local_irq_save(); /* WFI still wakes on the SGI; nothing runs here meanwhile */
    on_cpu_async(cpu, work_then_wake, NULL);
    while (!READ_ONCE(work_done[cpu]))
        wfi();
    local_irq_restore(flags);
    cpu_idle_wait(cpu, 1000000);
}

static void check_reset_after_restart(void *arg)
{
    report_prefix_push("pmu");
    report_prefix_push(cpu_prefix[smp_id()]);
    check_reset_state("after CPU_OFF and CPU_ON");
    report_prefix_pop();
    report_prefix_pop();
}

static void pmu_make_dirty_and_off(void *arg)
{
    pmu_dirty();
    cpu_off_self();
}

/* A vCPU's PMU left dirty by its CPU_OFF is reset when it is started again. */
static void check_reset_after_cpu_off(void)
{
    unsigned int cpu = machine.nr_cpus - 1;
    bool off;

    if (cpu == 0) {
        report_skip("reset after CPU_OFF: needs a second vCPU");
        return;
    }
    on_cpu_async(cpu, pmu_make_dirty_and_off, NULL);
    off = wait_until(psci_affinity_info(machine.mpidr[cpu], 0) == PSCI_AFF_OFF, 2000000);
    report(off, "cpu %u: OFF after CPU_OFF with its PMU running", cpu);
    report(smp_boot(cpu) == PSCI_RET_SUCCESS, "cpu %u: started again", cpu);
    run_on(cpu, check_reset_after_restart);
}

static bool check_ids(void)
{
    u64 dfr0 = read_sysreg(id_aa64dfr0_el1), dfr0_32 = read_sysreg(id_dfr0_el1);
    unsigned int perfmon = (unsigned int)FIELD_GET(dfr0_32, 27, 24);

    pmuver = (unsigned int)FIELD_GET(dfr0, 11, 8);
    report_prefix_push("ID");
    report(pmuver >= PMUV3P1 && pmuver <= PMUV3P5,
           "ID_AA64DFR0_EL1.PMUVer: PMUv3p1 to PMUv3p5 (%u)", pmuver);
    if (FIELD_GET(read_sysreg(id_aa64pfr0_el1), 3, 0) >= 2)
        report(perfmon == pmuver, "ID_DFR0_EL1.PerfMon agrees (%u)", perfmon);
    report_prefix_pop();
    return pmuver >= PMUV3P1 && pmuver != 0xf;
}

static void check_dt(void)
{
    u32 type = machine.pmu_irq_flags & 0xf, cpus = (machine.pmu_irq_flags >> 8) & 0xff;

    report_prefix_push("DT");
    report(machine.pmu_intid >= 16 && machine.pmu_intid < 32,
           "arm,armv8-pmuv3 node with a PPI (INTID %u)", machine.pmu_intid);
    report(type == 4, "level-high (flags %#x)", machine.pmu_irq_flags);
    if (gic_v2())
        report(cpus == (1U << machine.nr_cpus) - 1, "GICv2: every vCPU in its CPU mask (%#x)", cpus);
    report_prefix_pop();
}

void guest_main(void)
{
    report_prefix_push("pmu");
    if (!check_ids()) {
        report_prefix_pop();
        return;
    }
    nctr = (unsigned int)PMCR_N(pmcr());
    ceid0 = read_sysreg(pmceid0_el0);
    ppi = machine.pmu_intid;
    report(nctr >= 1, "PMCR_EL0.N: %u event counters", nctr);
    report_info("PMCEID0_EL0 %#lx: INST_RETIRED %s, CHAIN %s", ceid0,
                implemented(EV_INST_RETIRED) ? "yes" : "no", implemented(EV_CHAIN) ? "yes" : "no");
    check_dt();
    if (!nctr || !ppi) {
        report_prefix_pop();
        return;
    }
    for (unsigned int c = 0; c < machine.nr_cpus; c++)
        snprintf(cpu_prefix[c], sizeof(cpu_prefix[c]), "cpu %u", c);
    report_prefix_pop();
    sync_set_hook(sync_hook);
    pmu_checks(NULL);
    smp_boot_all();
    for (unsigned int c = 1; c < machine.nr_cpus; c++)
        run_on(c, pmu_checks);
    report_prefix_push("pmu");
    check_reset_after_cpu_off();
    report_prefix_pop();
    sync_set_hook(NULL);
}
