/*
 * The PMU guests see: the CPU's own PMUv3, its registers accessed without a
 * trap, every event counter the guest's (MDCR_EL2.HPMN = PMCR_EL0.N), and
 * Keel's EL2 kept out of all of them whatever the guest's filters say
 * (PMEVTYPER<n>_EL0.NSH, PMCCFILTR_EL0.NSH): MDCR_EL2.HPMD (FEAT_PMUv3p1)
 * prohibits event counting at EL2, and MDCR_EL2.HCCD (FEAT_PMUv3p5) stops
 * the cycle counter there (Arm ARM D13.3.7 MDCR_EL2, and the Performance
 * Monitors Extension chapter on prohibited counting). Without HCCD the
 * cycle counter stops in a prohibited region only while PMCR_EL0.DP is 1,
 * so PMCR_EL0 alone traps (MDCR_EL2.TPMCR) and Keel keeps DP set beneath
 * the value the guest sees. Without HPMD (the PMUv3 of Armv8.0) nothing
 * stops a guest from counting Keel's instructions, and the PMU stays
 * hidden as before. Keel never counts anything itself.
 * docs/design-notes.md ("Guest PMU") has the why.
 */
#include <arch/pmu.h>
#include <arch/sysreg.h>
#include <drivers/gic.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/platform.h>
#include <keel/vcpu.h>

/* See the pad at the end of struct vcpu_arch. */
_Static_assert(__builtin_offsetof(struct vcpu, vgic) % 32 == 0, "struct vcpu's vgic off a multiple of 32");

enum pmu_mode {
    PMU_NONE,      /* no PMUv3: its registers do not exist, Keel touches none */
    PMU_HIDDEN,    /* a PMUv3 guests are not given: it traps (TPM), RAZ/WI */
    PMU_TRAP_PMCR, /* direct, but PMCR_EL0 traps to keep DP set (no HCCD) */
    PMU_DIRECT,    /* direct, nothing traps */
};

static enum pmu_mode mode;
static const char *hidden_why;
unsigned int pmu_guest_ver;
/*
 * PMCR_EL0.DP as the guest on each core wrote it, where the hardware's
 * stays set (PMU_TRAP_PMCR): part of the core's PMU state, as the rest of
 * it lives in the core's registers (pmu_vcpu_save/load switch it with
 * them, inside the PMCR_EL0 they keep), and out of the hot part of struct
 * vcpu, whose layout the exit paths' offsets feel.
 */
static bool guest_pmcr_dp[PLAT_MAX_CPUS];

static unsigned int cpu_pmuver(void)
{
    return ID_FIELD(read_sysreg(id_aa64dfr0_el1), ID_AA64DFR0_EL1_PMUVER_SHIFT);
}

/* Why guests cannot have the PMU of a CPU with PMUv3 version @ver, or NULL. */
static const char *pmu_refusal(unsigned int ver)
{
    if (ver < ID_PMUVER_PMUV3P1)
        return "PMUv3 without FEAT_PMUv3p1: no MDCR_EL2.HPMD to keep EL2 out of its counters";
    if (!platform.pmu_irq)
        return "no arm,armv8-pmuv3 node with an interrupt in the host DT";
    if (platform.pmu_irq < 16 || platform.pmu_irq >= GIC_NR_PRIVATE)
        return "its interrupt is not a PPI";
    /* MDCR_EL2.HPMN = 0 is CONSTRAINED UNPREDICTABLE without FEAT_HPMN0 */
    if (!PMCR_EL0_N(read_sysreg(pmcr_el0)))
        return "no event counters";
    return NULL;
}

void pmu_init(void)
{
    unsigned int ver = cpu_pmuver();

    if (ver == 0 || ver == ID_PMUVER_IMPDEF) {
        mode = PMU_NONE;
        platform.pmu_irq = 0;
        return;
    }
    hidden_why = pmu_refusal(ver);
    if (hidden_why) {
        mode = PMU_HIDDEN;
        platform.pmu_irq = 0;
        return;
    }
    mode = ver >= ID_PMUVER_PMUV3P5 ? PMU_DIRECT : PMU_TRAP_PMCR;
    pmu_guest_ver = MIN(ver, ID_PMUVER_PMUV3P5);
}

void pmu_describe(void)
{
    if (mode == PMU_NONE)
        console_printf("  PMU:     none\n");
    else if (mode == PMU_HIDDEN)
        console_printf("  PMU:     hidden from guests: %s\n", hidden_why);
    else
        console_printf("  PMU:     PMUVer %u, %lu event counters, PPI %u; guests see PMUVer %u%s\n",
                       cpu_pmuver(), PMCR_EL0_N(read_sysreg(pmcr_el0)), platform.pmu_irq,
                       pmu_guest_ver, mode == PMU_TRAP_PMCR ? ", PMCR_EL0 trapped" : "");
}

/* All event counters to the guest; read on each CPU, in case their PMUs differ. */
static u64 pmu_hpmn(void)
{
    return PMCR_EL0_N(read_sysreg(pmcr_el0)) & MDCR_EL2_HPMN_MASK;
}

u64 pmu_mdcr(void)
{
    switch (mode) {
    case PMU_DIRECT:
        return pmu_hpmn() | MDCR_EL2_HPMD | MDCR_EL2_HCCD;
    case PMU_TRAP_PMCR:
        return pmu_hpmn() | MDCR_EL2_HPMD | MDCR_EL2_TPMCR;
    case PMU_HIDDEN:
        return pmu_hpmn() | MDCR_EL2_TPM | MDCR_EL2_TPMCR;
    default:
        return 0; /* TPM and TPMCR are RES0 without a PMU; its registers are UNDEFINED anyway */
    }
}

/*
 * The Arm ARM's CheckForPMUOverflow(): a counter's overflow requests the
 * interrupt while its PMINTENSET_EL1 and PMOVSSET_EL0 bits are set and it
 * is enabled by PMCR_EL0.E, which every counter is, all below HPMN.
 */
bool pmu_line_high(void)
{
    return (read_sysreg(pmcr_el0) & PMCR_EL0_E) &&
           (read_sysreg(pmintenset_el1) & read_sysreg(pmovsset_el0));
}

bool pmu_pmcr_trapped(void)
{
    return mode == PMU_TRAP_PMCR;
}

/* PMCR_EL0 as the hardware holds it for a guest's @val: with DP where DP stands in for HCCD. */
static u64 pmcr_hw(u64 val)
{
    return mode == PMU_TRAP_PMCR ? val | PMCR_EL0_DP : val;
}

/*
 * DP is invisible to the guest but for reading it back: a guest at EL1 or
 * EL0 in Non-secure state is never in a prohibited region.
 */
u64 pmu_pmcr_read(void)
{
    bool dp = guest_pmcr_dp[cpu_this()->id];

    return (read_sysreg(pmcr_el0) & ~PMCR_EL0_DP) | (dp ? PMCR_EL0_DP : 0);
}

void pmu_pmcr_write(u64 val)
{
    guest_pmcr_dp[cpu_this()->id] = val & PMCR_EL0_DP;
    write_sysreg(pmcr_el0, pmcr_hw(val));
}

/* Nothing counts, no overflow is flagged, none may interrupt. */
static void pmu_stop(void)
{
    write_sysreg(pmcntenclr_el0, GENMASK(31, 0));
    write_sysreg(pmintenclr_el1, GENMASK(31, 0));
    write_sysreg(pmovsclr_el0, GENMASK(31, 0));
}

/*
 * PMEVTYPER<n>_EL0 for every counter and PMCCFILTR_EL0, through PMSELR_EL0
 * (the registers' own encodings name n in the instruction).
 */
static void pmu_zero_filters(void)
{
    unsigned int n = (unsigned int)PMCR_EL0_N(read_sysreg(pmcr_el0));

    for (unsigned int i = 0; i < n; i++) {
        write_sysreg(pmselr_el0, i);
        isb();
        write_sysreg(pmxevtyper_el0, 0);
    }
    write_sysreg(pmselr_el0, PMSELR_EL0_SEL_CYCLE);
    isb();
    write_sysreg(pmxevtyper_el0, 0);
    write_sysreg(pmselr_el0, 0);
}

/*
 * PMCR_EL0.LC is RES1 where no EL can be AArch32 (D13.4, PMCR_EL0), and
 * EL0 is the first to be: ID_AA64PFR0_EL1.EL0 [3:0] = 2 says it can.
 */
static u64 pmcr_reset_lc(void)
{
    return (read_sysreg(id_aa64pfr0_el1) & 0xf) == 2 ? 0 : PMCR_EL0_LC;
}

/*
 * The hardware's reset values are mostly UNKNOWN; these are the definite
 * ones a guest can rely on, and they leave nothing of the previous run on
 * this core: counters stopped and zeroed (PMCR_EL0.P and C, E clear), no
 * overflow or interrupt enabled, every filter 0, EL0 access off. Done with
 * the PMU hidden too: PMUSERENR_EL0 decides what the guest's EL0 reaches
 * before MDCR_EL2.TPM does.
 */
void pmu_vcpu_reset(void)
{
    if (mode == PMU_NONE)
        return;
    pmu_stop();
    guest_pmcr_dp[cpu_this()->id] = false;
    write_sysreg(pmcr_el0, pmcr_hw(PMCR_EL0_P | PMCR_EL0_C | pmcr_reset_lc()));
    write_sysreg(pmuserenr_el0, 0);
    pmu_zero_filters();
    isb();
}

void pmu_quiesce(void)
{
    if (mode == PMU_NONE)
        return;
    pmu_stop();
    isb();
}

/*
 * Switching a vCPU's PMU, for vCPUs sharing a core. The registers are the
 * guest's whole PMU state in the DIRECT and TRAP_PMCR modes (Arm ARM D13.4,
 * the Performance Monitors registers): PMCR_EL0, PMSELR_EL0, PMUSERENR_EL0,
 * the enable, interrupt-enable and overflow bits (each a SET/CLR pair over
 * one state), the cycle counter and its filter, and each event counter and
 * its type below the guest's N. HIDDEN and NONE give a guest nothing to
 * keep: its PMU reads as zero, and PMUSERENR_EL0 stays as pmu_vcpu_reset()
 * left it (the guest's EL1 cannot write it: MDCR_EL2.TPM). MDCR_EL2.HPMN
 * is nothing to save either: it is this core's N (pmu_mdcr()), the same
 * for every vCPU on it.
 */

/* Whether guests have this core's PMU, and so state in it to switch. */
static bool pmu_guest_owned(void)
{
    return mode == PMU_DIRECT || mode == PMU_TRAP_PMCR;
}

/*
 * PMCR_EL0's fields a guest writes and reads back (D13.4, PMCR_EL0): E, D,
 * X, DP, LC, and LP and FZO where implemented (RES0 otherwise, so
 * restoring them is harmless). Not P and C, which act when written 1 and
 * read 0 (a 1 restored would zero counters), nor the read-only N, IDCODE
 * and IMP, nor FZS, which is SPE's, and guests have no SPE.
 */
#define PMCR_EL0_SAVED (PMCR_EL0_E | PMCR_EL0_D | PMCR_EL0_X | PMCR_EL0_DP | PMCR_EL0_LC | \
                        PMCR_EL0_LP | PMCR_EL0_FZO)

/* The bits of PMCNTENSET_EL0, PMINTENSET_EL1, PMOVSSET_EL0 the guest has: P<n> below N, and C. */
static u64 pmu_guest_counters(unsigned int n)
{
    return GENMASK(n - 1, 0) | BIT(31);
}

/*
 * PMEVTYPER<n>_EL0 and PMEVCNTR<n>_EL0 by name, n in the instruction: no
 * PMSELR_EL0 (whose value is the guest's) and no ISB between counters. A
 * switch on the count enters a run of accesses that falls through to
 * counter 0, so each register costs its MRS or MSR and a load or store.
 */
#define FALLTHROUGH __attribute__((fallthrough))
#define FROM_30_DOWN(op) op(30) op(29) op(28) op(27) op(26) op(25) op(24) op(23) op(22) op(21) \
    op(20) op(19) op(18) op(17) op(16) op(15) op(14) op(13) op(12) op(11) op(10) op(9) op(8) \
    op(7) op(6) op(5) op(4) op(3) op(2) op(1) op(0)
#define PMEV_SAVE(n) case n + 1: p->pmevtyper[n] = read_sysreg(pmevtyper##n##_el0); \
    p->pmevcntr[n] = read_sysreg(pmevcntr##n##_el0); FALLTHROUGH;
#define PMEV_LOAD(n) case n + 1: write_sysreg(pmevtyper##n##_el0, p->pmevtyper[n]); \
    write_sysreg(pmevcntr##n##_el0, p->pmevcntr[n]); FALLTHROUGH;

/* Event counters 0 to @n - 1 and their types, then the cycle counter and its filter. */
static void pmu_counters_save(struct vcpu_pmu *p, unsigned int n)
{
    switch (n) {
    FROM_30_DOWN(PMEV_SAVE)
    default:
        break;
    }
    p->pmccfiltr = read_sysreg(pmccfiltr_el0);
    p->pmccntr = read_sysreg(pmccntr_el0);
}

static void pmu_counters_load(const struct vcpu_pmu *p, unsigned int n)
{
    switch (n) {
    FROM_30_DOWN(PMEV_LOAD)
    default:
        break;
    }
    write_sysreg(pmccfiltr_el0, p->pmccfiltr);
    write_sysreg(pmccntr_el0, p->pmccntr);
}

/*
 * The enables are read first; then PMCR_EL0.E is cleared, which stops every
 * counter of the guest's at once (all are below HPMN, so all obey E), and
 * the interrupt enables, which drops the overflow interrupt request: after
 * this the core's PPI stays low, whatever vCPU comes next, and
 * pmu_line_high() says so. E alone gates the request architecturally
 * (CheckForPMUOverflow()), but QEMU (10.0) re-evaluates its line only when
 * PMINTENSET/CLR or PMOVSSET/CLR are written or a counter overflows, not
 * when E changes. MDCR_EL2.HPMD and HCCD (or DP) already keep Keel's EL2
 * out of the counts; the stop makes the values read below one snapshot,
 * with nothing counting in between. The ISB makes the stop take effect
 * before they are read (a write's effect on the counters is indirect).
 * P and C read as 0, so writing the value back resets nothing.
 */
void pmu_vcpu_save(struct vcpu *v)
{
    struct vcpu_pmu *p = &v->arch.pmu;
    unsigned int n;
    u64 hw, mask;

    if (!pmu_guest_owned())
        return;
    hw = read_sysreg(pmcr_el0);
    n = (unsigned int)pmu_hpmn();
    mask = pmu_guest_counters(n);
    p->pmcr = (mode == PMU_TRAP_PMCR ? pmu_pmcr_read() : hw) & PMCR_EL0_SAVED;
    p->pmcntenset = read_sysreg(pmcntenset_el0) & mask;
    p->pmintenset = read_sysreg(pmintenset_el1) & mask;
    write_sysreg(pmcr_el0, hw & ~PMCR_EL0_E);
    write_sysreg(pmintenclr_el1, GENMASK(31, 0));
    isb();
    p->pmovsset = read_sysreg(pmovsset_el0) & mask;
    p->pmselr = read_sysreg(pmselr_el0);
    p->pmuserenr = read_sysreg(pmuserenr_el0);
    pmu_counters_save(p, n);
}

/*
 * The reverse, in the opposite order: PMCR_EL0 first with E clear (so
 * nothing counts while the counters are written, and LC, LP and, where it
 * is kept beneath the guest's, DP are in place), the counters and filters,
 * the overflow flags, the counter enables and E, and the interrupt enables
 * last. A saved overflow whose interrupt is enabled raises the PPI again by
 * itself: the request is a level, PMCR_EL0.E && (PMINTENSET_EL1 &
 * PMOVSSET_EL0) (CheckForPMUOverflow()), so it rises with the last write,
 * as on the real core; and QEMU, which computes its line from those same
 * registers but only when PMINTENSET/CLR or PMOVSSET/CLR is written, sees
 * the PMINTENSET_EL1 write with E already set. Between the two writes
 * nothing can overflow: Keel's EL2 is not counted. The ISB makes the
 * loaded state, the line with it, take effect before the caller's vGIC
 * restore samples it (pmu_line_high()).
 */
void pmu_vcpu_load(const struct vcpu *v)
{
    const struct vcpu_pmu *p = &v->arch.pmu;

    if (!pmu_guest_owned())
        return;
    pmu_pmcr_write(p->pmcr & ~PMCR_EL0_E);
    pmu_counters_load(p, (unsigned int)pmu_hpmn());
    write_sysreg(pmselr_el0, p->pmselr);
    write_sysreg(pmuserenr_el0, p->pmuserenr);
    write_sysreg(pmovsclr_el0, GENMASK(31, 0));
    write_sysreg(pmovsset_el0, p->pmovsset);
    write_sysreg(pmcntenclr_el0, GENMASK(31, 0));
    write_sysreg(pmcntenset_el0, p->pmcntenset);
    pmu_pmcr_write(p->pmcr);
    write_sysreg(pmintenclr_el1, GENMASK(31, 0));
    write_sysreg(pmintenset_el1, p->pmintenset);
    isb();
}

/* Counting, or an overflow signalled: then it must be in the CPU while the vCPU runs. */
static bool pmu_vcpu_active(const struct vcpu_pmu *p)
{
    return (p->pmcr & PMCR_EL0_E) && (p->pmcntenset || (p->pmintenset & p->pmovsset));
}

/*
 * Lazily: the CPU's PMU stays as the last vCPU's save left it, stopped
 * (PMCR_EL0.E and the interrupt enables clear), which is what an idle
 * PMU shows of itself; only its values are another's, and those trap
 * (MDCR_EL2.TPM) until pmu_go_live() loads this vCPU's. Most guests count
 * nothing between switches, and the PMU was the largest part of one.
 */
void pmu_vcpu_switch_in(struct vcpu *v)
{
    struct vcpu_pmu *p = &v->arch.pmu;

    p->hw = !pmu_guest_owned() || pmu_vcpu_active(p);
    if (p->hw)
        pmu_vcpu_load(v);
}

void pmu_vcpu_switch_out(struct vcpu *v)
{
    if (v->arch.pmu.hw)
        pmu_vcpu_save(v);
}

u64 pmu_mdcr_vcpu(const struct vcpu *v)
{
    return pmu_mdcr() | (v->arch.pmu.hw ? 0 : MDCR_EL2_TPM);
}

bool pmu_go_live(struct vcpu *v)
{
    if (v->arch.pmu.hw)
        return false;
    pmu_vcpu_load(v);
    v->arch.pmu.hw = true;
    write_sysreg(mdcr_el2, read_sysreg(mdcr_el2) & ~MDCR_EL2_TPM);
    return true;
}
