/*
 * Self-hosted debug for guests (Arm ARM D2, "AArch64 Self-hosted Debug"):
 * hardware breakpoints, watchpoints and software step.
 *
 * The registers pass through. MDCR_EL2.TDE is clear, so debug exceptions
 * from the guest's EL1 and EL0 are taken to its EL1 with the hardware's
 * own syndromes, and none is ever generated at EL2 (debug exceptions are
 * disabled at any EL above the debug target, D2.4); with MDCR_EL2.TDA
 * clear the guest programs DBGBCR/DBGBVR/DBGWCR/DBGWVR<n>_EL1 and MDSCR_EL1
 * itself, at no exit (the claim tags are Keel's copy: debug_ctl_access).
 * Keel uses no debug of its own: there is nothing of Keel's to hide, only
 * a vCPU's registers to load when it starts or is switched in
 * (debug_vcpu_load) and to take back when it is switched out
 * (debug_vcpu_save).
 *
 * The OS lock and the OS double lock are emulated (MDCR_EL2.TDOSA): their
 * state is the vCPU's, not the core's, and QEMU does not honour OSLK in
 * its debug exception checks. While the guest holds either lock, the
 * registers trap too (TDA) and live in struct vcpu_debug, and the CPU runs
 * with MDSCR_EL1.MDE, KDE and SS clear: no breakpoint, watchpoint or step
 * exception is generated, as OSLK = 1 requires (D2.5). The physical locks
 * are kept clear while a guest runs.
 *
 * Trapped whatever the lock: MDRAR_EL1 (TDRA; it would give a host
 * physical address) and, where FEAT_FGT gives MDCR_EL2.TDCC, the Debug
 * Communications Channel; both read as zero.
 */
#include <arch/debug.h>
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <keel/string.h>
#include <keel/vcpu.h>

#define SYS_MDSCR_EL1 SYS_REG(2, 0, 0, 2, 2)
#define SYS_OSLAR_EL1 SYS_REG(2, 0, 1, 0, 4)
#define SYS_OSLSR_EL1 SYS_REG(2, 0, 1, 1, 4)
#define SYS_OSDLR_EL1 SYS_REG(2, 0, 1, 3, 4)
#define SYS_DBGPRCR_EL1 SYS_REG(2, 0, 1, 4, 4)
#define SYS_DBGCLAIMSET_EL1 SYS_REG(2, 0, 7, 8, 6)
#define SYS_DBGCLAIMCLR_EL1 SYS_REG(2, 0, 7, 9, 6)
#define SYS_DBGAUTHSTATUS_EL1 SYS_REG(2, 0, 7, 14, 6)

/*
 * The Armv8.0 fields of DBGBCR<n>_EL1 (E, PMC, BAS, HMC, SSC, LBN, BT) and
 * DBGWCR<n>_EL1 (E, PAC, LSC, BAS, HMC, SSC, LBN, WT, MASK), D13.3.2 and
 * D13.3.11: what DebugVer 6 promises. The value registers' bits [1:0] are
 * RES0. The CPU masks its own; these mask what a locked guest writes here.
 */
#define DBGBCR_V80_FIELDS 0x00ffe1e7UL
#define DBGWCR_V80_FIELDS 0x1f1fffffUL
#define DBGxVR_RES0 0x3UL
#define DBGCLAIM_TAGS 0xffUL
#define MDSCR_EL1_DEBUG_ENABLES (MDSCR_EL1_MDE | MDSCR_EL1_KDE | MDSCR_EL1_SS)

/*
 * The breakpoint and watchpoint registers, n in the instruction's encoding
 * (DBGBVR<n>_EL1 and the others: op0 2, op1 0, CRn 0, CRm n, op2 4-7). A
 * switch on the implemented count enters a run of accesses that falls
 * through to register 0: each costs its MRS or MSR and a load or store,
 * not a call and a jump table of its own.
 */
#define FALLTHROUGH __attribute__((fallthrough))
#define FROM_15_DOWN(op) op(15) op(14) op(13) op(12) op(11) op(10) op(9) op(8) op(7) op(6) \
    op(5) op(4) op(3) op(2) op(1) op(0)
#define BP_FROM_HW(n) case n + 1: d->dbgbvr[n] = read_sysreg(dbgbvr##n##_el1); \
    d->dbgbcr[n] = read_sysreg(dbgbcr##n##_el1); FALLTHROUGH;
#define BP_TO_HW(n) case n + 1: write_sysreg(dbgbvr##n##_el1, d->dbgbvr[n]); \
    write_sysreg(dbgbcr##n##_el1, d->dbgbcr[n]); FALLTHROUGH;
#define WP_FROM_HW(n) case n + 1: d->dbgwvr[n] = read_sysreg(dbgwvr##n##_el1); \
    d->dbgwcr[n] = read_sysreg(dbgwcr##n##_el1); FALLTHROUGH;
#define WP_TO_HW(n) case n + 1: write_sysreg(dbgwvr##n##_el1, d->dbgwvr[n]); \
    write_sysreg(dbgwcr##n##_el1, d->dbgwcr[n]); FALLTHROUGH;

/* Breakpoints 0 to @count - 1 from the CPU into @d; @count at most DEBUG_MAX_BPS. */
static void debug_bps_from_hw(struct vcpu_debug *d, unsigned int count)
{
    switch (count) {
    FROM_15_DOWN(BP_FROM_HW)
    default:
        break;
    }
}

static void debug_bps_to_hw(const struct vcpu_debug *d, unsigned int count)
{
    switch (count) {
    FROM_15_DOWN(BP_TO_HW)
    default:
        break;
    }
}

static void debug_wps_from_hw(struct vcpu_debug *d, unsigned int count)
{
    switch (count) {
    FROM_15_DOWN(WP_FROM_HW)
    default:
        break;
    }
}

static void debug_wps_to_hw(const struct vcpu_debug *d, unsigned int count)
{
    switch (count) {
    FROM_15_DOWN(WP_TO_HW)
    default:
        break;
    }
}

/* ID_AA64DFR0_EL1.BRPs and WRPs hold the count minus one; guests read them unchanged. */
static unsigned int debug_nr_bps(void)
{
    return ID_FIELD(read_sysreg(id_aa64dfr0_el1), ID_AA64DFR0_EL1_BRPS_SHIFT) + 1;
}

static unsigned int debug_nr_wps(void)
{
    return ID_FIELD(read_sysreg(id_aa64dfr0_el1), ID_AA64DFR0_EL1_WRPS_SHIFT) + 1;
}

/* ID_AA64DFR0_EL1.DoubleLock, a signed field: 0xF means OSDLR_EL1 is RAZ/WI. */
static bool debug_has_double_lock(void)
{
    return ID_FIELD(read_sysreg(id_aa64dfr0_el1), ID_AA64DFR0_EL1_DOUBLELOCK_SHIFT) != 0xf;
}

static bool debug_has_fgt(void)
{
    return ID_FIELD(read_sysreg(id_aa64mmfr0_el1), ID_AA64MMFR0_EL1_FGT_SHIFT) != 0;
}

/* D2.5: either lock disables every debug exception but BRK; DoubleLockStatus() in the pseudocode. */
static bool debug_locked(const struct vcpu_debug *d)
{
    return d->oslk || (d->dlk && !d->corenpdrq);
}

/* What the CPU's MDSCR_EL1 holds: the guest's, without its enables while it is locked. */
static u64 debug_mdscr_effective(const struct vcpu_debug *d)
{
    return debug_locked(d) ? d->mdscr & ~MDSCR_EL1_DEBUG_ENABLES : d->mdscr;
}

void debug_vcpu_reset(struct vcpu *v)
{
    struct vcpu_debug *d = &v->arch.debug;

    /*
     * A vCPU's power-on is a Cold reset of its PE: the OS lock comes up set
     * (OSLSR_EL1.OSLK resets to 1 on a Cold reset) and the OS clears it
     * when it is ready for debug, as Linux does on every CPU it brings up.
     * The rest is UNKNOWN at reset; zero disables every breakpoint and
     * watchpoint and leaves nothing of a previous run.
     */
    memset(d, 0, sizeof(*d));
    d->oslk = true;
}

u64 debug_mdcr_traps(const struct vcpu *v)
{
    u64 traps = MDCR_EL2_TDOSA | MDCR_EL2_TDRA;

    if (!v->arch.debug.hw) /* locked, or not loaded yet (debug_vcpu_switch_in) */
        traps |= MDCR_EL2_TDA;
    if (debug_has_fgt())
        traps |= MDCR_EL2_TDCC;
    return traps;
}

static void debug_regs_to_hw(const struct vcpu_debug *d)
{
    debug_bps_to_hw(d, debug_nr_bps());
    debug_wps_to_hw(d, debug_nr_wps());
    write_sysreg(mdscr_el1, debug_mdscr_effective(d));
}

static void debug_regs_from_hw(struct vcpu_debug *d)
{
    debug_bps_from_hw(d, debug_nr_bps());
    debug_wps_from_hw(d, debug_nr_wps());
    d->mdscr = read_sysreg(mdscr_el1);
}

/*
 * The CPU's share of a vCPU's debug state, both ways (a start, or a switch
 * between vCPUs sharing the core): every implemented breakpoint and
 * watchpoint (value and control), MDSCR_EL1 and MDCCINT_EL1. What is not
 * here is not the CPU's: the OS lock, double lock and DBGPRCR_EL1 are
 * emulated (MDCR_EL2.TDOSA) and live in struct vcpu_debug, as do the claim
 * tags where FEAT_FGT traps them; MDCR_EL2 itself is the caller's to write
 * from debug_mdcr_traps() for the vCPU it loads (its TDA is per vCPU).
 */
void debug_vcpu_load(struct vcpu *v)
{
    /*
     * The core's own OS and double locks would stop the guest's debug
     * exceptions whatever the guest's emulated locks say: a cold-reset
     * core comes up with OSLK set, and nothing else in Keel clears it.
     * MDCCINT_EL1 passes through where the DCC does (no FEAT_FGT); a
     * vCPU starts with its DCC interrupts disabled (0 after the reset).
     */
    write_sysreg(oslar_el1, 0);
    if (debug_has_double_lock())
        write_sysreg(osdlr_el1, 0);
    write_sysreg(mdccint_el1, v->arch.debug.mdccint);
    debug_regs_to_hw(&v->arch.debug);
    v->arch.debug.hw = !debug_locked(&v->arch.debug);
}

/* Everything of *d that the CPU holds, into it: the registers live there from now on. */
static void debug_hw_load(struct vcpu_debug *d)
{
    write_sysreg(mdccint_el1, d->mdccint);
    debug_regs_to_hw(d);
    d->hw = true;
}

/*
 * Lazily, where the vCPU has no debug event enabled (MDSCR_EL1's MDE, KDE
 * and SS clear, or a lock held): its breakpoint and watchpoint registers
 * cannot raise anything then, so they stay in *d and trap (TDA) until the
 * guest touches one (debug_go_live). The CPU's MDSCR_EL1 becomes the
 * vCPU's at once: the previous vCPU's enables must not act on stale
 * registers. A vCPU using hardware debug loads everything, as before. Most
 * guests never use it, and its ~160 instructions were a tenth of a switch.
 */
void debug_vcpu_switch_in(struct vcpu *v)
{
    struct vcpu_debug *d = &v->arch.debug;

    if (debug_mdscr_effective(d) & MDSCR_EL1_DEBUG_ENABLES) {
        debug_hw_load(d);
        return;
    }
    write_sysreg(mdscr_el1, debug_mdscr_effective(d));
    d->hw = false;
}

/* The first trapped access of a lazily switched-in vCPU: its registers into the CPU, retried there. */
static void debug_go_live(struct vcpu *v)
{
    debug_hw_load(&v->arch.debug);
    write_sysreg(mdcr_el2, read_sysreg(mdcr_el2) & ~MDCR_EL2_TDA);
}

/*
 * The reverse of debug_vcpu_load(). The breakpoints and MDSCR_EL1 are
 * read only while the guest's locks are clear: locked, its accesses
 * trapped into *d, which is newer than the CPU (the CPU holds MDSCR_EL1
 * without its enables then). MDCCINT_EL1 (Arm ARM D13.3, the DCC's
 * interrupt enables, RW at EL1 whenever TDA and TDCC let it through) is
 * read always: no access of the guest's ever reaches Keel's copy (trapped,
 * it reads 0 and ignores writes: debug_sysreg_access), so the CPU's is
 * the only one.
 */
void debug_vcpu_save(struct vcpu *v)
{
    struct vcpu_debug *d = &v->arch.debug;

    if (!d->hw)
        return; /* locked or never loaded: *d is newer than the CPU */
    debug_regs_from_hw(d);
    d->mdccint = read_sysreg(mdccint_el1);
}

/*
 * After a write to OSLAR_EL1, OSDLR_EL1 or DBGPRCR_EL1: on locking, the
 * registers the guest programmed in the CPU come back here and trap from
 * now on, and the CPU's MDSCR_EL1 loses its enables; on unlocking, the
 * reverse. The ERET back to the guest synchronises the change.
 */
static void debug_lock_update(struct vcpu *v, bool was_locked)
{
    struct vcpu_debug *d = &v->arch.debug;

    if (debug_locked(d) == was_locked)
        return;
    if (was_locked) {
        debug_go_live(v);
    } else {
        if (d->hw)
            debug_regs_from_hw(d);
        d->hw = false;
        write_sysreg(mdscr_el1, debug_mdscr_effective(d));
        write_sysreg(mdcr_el2, read_sysreg(mdcr_el2) | MDCR_EL2_TDA);
    }
}

/* DBGBVR, DBGBCR, DBGWVR, DBGWCR<n>_EL1 (op2 4-7), trapped while the guest holds a lock. */
static int debug_bp_access(struct vcpu_debug *d, unsigned int n, u32 op2, bool read, u64 *val)
{
    static const u64 fields[4] = { ~DBGxVR_RES0, DBGBCR_V80_FIELDS, ~DBGxVR_RES0, DBGWCR_V80_FIELDS };
    u64 *regs[4] = { d->dbgbvr, d->dbgbcr, d->dbgwvr, d->dbgwcr };

    if (n >= (op2 <= 5 ? debug_nr_bps() : debug_nr_wps()))
        return -1; /* not implemented: the encoding is UNDEFINED */
    if (read)
        *val = regs[op2 - 4][n];
    else
        regs[op2 - 4][n] = *val & fields[op2 - 4];
    return 0;
}

/* The OS lock, the double lock and DBGPRCR_EL1 (always trapped: TDOSA). */
static int debug_lock_access(struct vcpu *v, u32 reg, bool read, u64 *val)
{
    struct vcpu_debug *d = &v->arch.debug;
    bool was_locked = debug_locked(d);

    switch (reg) {
    case SYS_OSLAR_EL1: /* write-only */
        if (read)
            return -1;
        d->oslk = *val & 1;
        break;
    case SYS_OSLSR_EL1: /* read-only */
        if (!read)
            return -1;
        *val = OSLSR_EL1_OSLM_IMPLEMENTED | (d->oslk ? OSLSR_EL1_OSLK : 0);
        break;
    case SYS_OSDLR_EL1:
        if (read)
            *val = d->dlk;
        else if (debug_has_double_lock())
            d->dlk = *val & 1;
        break;
    default: /* DBGPRCR_EL1 */
        if (read)
            *val = d->corenpdrq;
        else
            d->corenpdrq = *val & 1;
        break;
    }
    debug_lock_update(v, was_locked);
    return 0;
}

/*
 * MDSCR_EL1, the claim tags and DBGAUTHSTATUS_EL1, trapped while the guest
 * holds a lock (TDA). The claim tags are only ever Keel's copy: with
 * FEAT_FGT they trap always (HDFGxTR_EL2.DBGCLAIM, vcpu.c), so a vCPU start
 * clears them without Keel touching the core's, which QEMU 7.2 does not
 * implement (an MSR to DBGCLAIMCLR_EL1 there is UNDEFINED even at EL2).
 * Without FEAT_FGT, unlocked, the guest reaches the core's own: their 8
 * bits (no data, only "claimed by" flags) are not cleared between runs.
 */
static int debug_ctl_access(struct vcpu_debug *d, u32 reg, bool read, u64 *val)
{
    switch (reg) {
    case SYS_MDSCR_EL1:
        if (read) {
            *val = d->mdscr;
        } else {
            d->mdscr = *val;
            write_sysreg(mdscr_el1, debug_mdscr_effective(d));
        }
        return 0;
    case SYS_DBGCLAIMSET_EL1: /* reads the tags implemented: all 8 */
        if (read)
            *val = DBGCLAIM_TAGS;
        else
            d->claim |= (u8)*val;
        return 0;
    case SYS_DBGCLAIMCLR_EL1:
        if (read)
            *val = d->claim;
        else
            d->claim &= (u8)~*val;
        return 0;
    default: /* DBGAUTHSTATUS_EL1, read-only: the CPU's own authentication signals */
        if (!read)
            return -1;
        *val = read_sysreg(dbgauthstatus_el1);
        return 0;
    }
}

static bool debug_is_lock_reg(u32 reg)
{
    return reg == SYS_OSLAR_EL1 || reg == SYS_OSLSR_EL1 || reg == SYS_OSDLR_EL1 ||
           reg == SYS_DBGPRCR_EL1;
}

/* 1: retry the instruction (the registers just went live); 0 done; -1 UNDEFINED. */
int debug_sysreg_access(struct vcpu *v, u32 op1, u32 crn, u32 crm, u32 op2, bool read, u64 *val)
{
    u32 reg = SYS_REG(2, op1, crn, crm, op2);

    if (!v->arch.debug.hw && !debug_locked(&v->arch.debug) && !debug_is_lock_reg(reg)) {
        debug_go_live(v);
        return 1;
    }
    if (op1 == 0 && crn == 0 && op2 >= 4)
        return debug_bp_access(&v->arch.debug, crm, op2, read, val);
    switch (reg) {
    case SYS_OSLAR_EL1:
    case SYS_OSLSR_EL1:
    case SYS_OSDLR_EL1:
    case SYS_DBGPRCR_EL1:
        return debug_lock_access(v, reg, read, val);
    case SYS_MDSCR_EL1:
    case SYS_DBGCLAIMSET_EL1:
    case SYS_DBGCLAIMCLR_EL1:
    case SYS_DBGAUTHSTATUS_EL1:
        return debug_ctl_access(&v->arch.debug, reg, read, val);
    }
    /*
     * MDRAR_EL1 (ROMADDR not valid), the Debug Communications Channel
     * (MDCCSR_EL0, MDCCINT_EL1, DBGDTR*_EL0, OSDTR*_EL1), OSECCR_EL1: no
     * external debugger reaches a guest. Whatever else of op0 2 traps
     * (trace, hidden) reads as zero as before.
     */
    if (read)
        *val = 0;
    return 0;
}
