/*
 * Trapped system register accesses (EC 0x18, Arm ARM D13.2.39 "ISS encoding
 * for an exception from MSR, MRS, or System instruction execution").
 * Returns 0 when emulated (the caller steps over the instruction), or -1
 * after injecting an exception.
 */
#include <arch/debug.h>
#include <arch/mte.h>
#include <arch/esr.h>
#include <arch/pmu.h>
#include <arch/sysreg.h>
#include <keel/log.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

#define SYS_ICC_SGI1R_EL1 SYS_REG(3, 0, 12, 11, 5)
#define SYS_ICC_ASGI1R_EL1 SYS_REG(3, 0, 12, 11, 6)
#define SYS_ICC_SGI0R_EL1 SYS_REG(3, 0, 12, 11, 7)
#define SYS_ICC_DIR_EL1 SYS_REG(3, 0, 12, 11, 1)
#define SYS_PMCR_EL0 SYS_REG(3, 3, 9, 12, 0)
/*
 * What guests see of the ID registers (op0 3, op1 0, CRn 0, CRm 1-7, each
 * described in the Arm ARM's D13.2, "General system control registers").
 * Every register is sixteen 4-bit fields; its entry below holds, per field,
 * the highest value a guest may read, and the guest reads
 * min(hardware, cap). A field without an entry reads 0: a feature a newer
 * CPU adds stays hidden until Keel is taught to handle it. The few signed
 * fields (FP, AdvSIMD, TGran4, TGran64, DoubleLock: 0xF means absent) are
 * only ever passed whole. docs/cpu-features.md gives each field's reason.
 */
#define ALL(lo) (0xfUL << (lo))
#define CAP(lo, max) ((u64)(max) << (lo))
#define IDX(crm, op2) (((crm) - 1) * 8 + (op2))
#define NR_ID_REGS IDX(8, 0)

static const u64 id_caps[NR_ID_REGS] = {
    /* AArch32, for 32-bit EL0: its instruction sets and memory model pass whole */
    [IDX(1, 0)] = ALL(0) | ALL(4) | ALL(8) | ALL(12) | CAP(16, 1) | ALL(24),  /* ID_PFR0 */
    [IDX(1, 1)] = ALL(0) | ALL(16) | CAP(28, 1),                              /* ID_PFR1 */
    [IDX(1, 2)] = CAP(0, 6) | ALL(4) | ALL(8) | ALL(20),      /* ID_DFR0; PerfMon: id_pmu_field() */
    [IDX(1, 4)] = ~0UL, [IDX(1, 5)] = ~0UL, [IDX(1, 6)] = ~0UL, [IDX(1, 7)] = ~0UL, /* ID_MMFR0-3 */
    [IDX(2, 0)] = ~0UL, [IDX(2, 1)] = ~0UL, [IDX(2, 2)] = ~0UL, [IDX(2, 3)] = ~0UL, /* ID_ISAR0-3 */
    [IDX(2, 4)] = ~0UL, [IDX(2, 5)] = ~0UL, [IDX(2, 6)] = ~0UL, [IDX(2, 7)] = ~0UL, /* ISAR4-5, MMFR4, ISAR6 */
    [IDX(3, 0)] = ~0UL, [IDX(3, 1)] = ~0UL, [IDX(3, 2)] = ~0UL,               /* MVFR0-2 */
    [IDX(3, 4)] = ALL(0) | ALL(4),                                            /* ID_PFR2 */
    [IDX(3, 6)] = ~0UL,                                                       /* ID_MMFR5 */
    /* ID_AA64PFR0: EL0, EL1 AArch64 only, EL3, FP, AdvSIMD, GICv3, DIT, CSV2 without SCXTNUM, CSV3 */
    [IDX(4, 0)] = ALL(0) | CAP(4, 1) | ALL(12) | ALL(16) | ALL(20) | CAP(24, 1) | ALL(48) |
                  CAP(56, 1) | ALL(60),
    /* ID_AA64PFR1: BT, SSBS, CSV2_frac without SCXTNUM */
    [IDX(4, 1)] = ALL(0) | ALL(4) | CAP(32, 1),
    /*
     * ID_AA64DFR0: the Armv8.0 debug architecture, its breakpoints and
     * watchpoints, DoubleLock; PMUVer is id_pmu_field()'s
     */
    [IDX(5, 0)] = CAP(0, 6) | ALL(12) | ALL(20) | ALL(28) | ALL(36),
    /* ID_AA64ISAR0: every field but TME */
    [IDX(6, 0)] = ~0UL & ~ALL(0) & ~ALL(24),
    /* ID_AA64ISAR1: DPB, APA, API, JSCVT, FCMA, LRCPC, GPA, GPI, FRINTTS, SB, SPECRES, BF16, DGH, I8MM, XS */
    [IDX(6, 1)] = ALL(0) | ALL(4) | ALL(8) | ALL(12) | ALL(16) | ALL(20) | ALL(24) | ALL(28) |
                  ALL(32) | ALL(36) | ALL(40) | ALL(44) | ALL(48) | ALL(52) | ALL(56),
    /* ID_AA64ISAR2: WFxT, RPRES, GPA3, APA3, BC, PAC_frac, CLRBHB, RPRFM, CSSC */
    [IDX(6, 2)] = ALL(0) | ALL(4) | ALL(8) | ALL(12) | ALL(20) | ALL(24) | ALL(28) | ALL(48) |
                  ALL(52),
    /* ID_AA64MMFR0: PARange up to 40 bits, ASIDBits, SNSMem, the stage-1 granules, ExS, ECV level 1 */
    [IDX(7, 0)] = CAP(0, 2) | ALL(4) | ALL(12) | ALL(20) | ALL(24) | ALL(28) | ALL(44) | CAP(60, 1),
    /* ID_AA64MMFR1: HAFDBS up to dirty state, HPDS, PAN, SpecSEI, ETS, AFP, nTLBPA, TIDCP1, CMOW, ECBHB */
    [IDX(7, 1)] = CAP(0, 2) | ALL(12) | ALL(20) | ALL(24) | ALL(36) | ALL(44) | ALL(48) | ALL(52) |
                  ALL(56) | ALL(60),
    /* ID_AA64MMFR2: all but NV, FWB and EVT (EL2's) */
    [IDX(7, 2)] = ~0UL & ~ALL(24) & ~ALL(40) & ~ALL(56),
};

static u64 id_sanitise(unsigned int idx, u64 hw)
{
    u64 caps = id_caps[idx], v = 0;

    for (unsigned int lo = 0; lo < 64; lo += 4) {
        u64 field = (hw >> lo) & 0xf, cap = (caps >> lo) & 0xf;
        v |= (field < cap ? field : cap) << lo;
    }
    return v;
}

/*
 * A VM with a vGICv2 has no GIC system-register interface, whatever the
 * host CPU has: ID_AA64PFR0_EL1.GIC [27:24] and ID_PFR1_EL1.GIC [31:28] read 0.
 */
static u64 id_for_vm(const struct vcpu *v, unsigned int idx, u64 val)
{
    if (idx == IDX(4, 1))
        val = mte_id_pfr1(v->vm, val);
    if (!v->vm->vgic.v2)
        return val;
    if (idx == IDX(4, 0))
        return val & ~ALL(24);
    if (idx == IDX(1, 1))
        return val & ~ALL(28);
    return val;
}

/*
 * ID_AA64DFR0_EL1.PMUVer [11:8] and ID_DFR0_EL1.PerfMon [27:24]: the
 * version pmu.c gives guests (0: none), never above the hardware's field,
 * where 0xF is an IMPLEMENTATION DEFINED PMU rather than a version. Both
 * registers use one encoding from PMUv3p1 on, the only versions given.
 */
static u64 id_pmu_field(unsigned int idx, u64 hw)
{
    unsigned int lo;
    u64 f;

    if (idx == IDX(5, 0))
        lo = ID_AA64DFR0_EL1_PMUVER_SHIFT;
    else if (idx == IDX(1, 2))
        lo = ID_DFR0_EL1_PERFMON_SHIFT;
    else
        return 0;
    f = ID_FIELD(hw, lo);
    return f == ID_PMUVER_IMPDEF ? 0 : (u64)MIN(f, pmu_guest_ver) << lo;
}

static u64 id_read(const struct vcpu *v, unsigned int idx, u64 hw)
{
    return id_for_vm(v, idx, id_sanitise(idx, hw)) | id_pmu_field(idx, hw);
}

/* The ID register space (op0 3, op1 0, CRn 0, CRm 1-7): reserved encodings read as zero. */
#define ID_CASE(crm, op2) \
    case SYS_REG(3, 0, 0, crm, op2): return read_sysreg(S3_0_C0_C##crm##_##op2);
#define ID_ROW(crm) ID_CASE(crm, 0) ID_CASE(crm, 1) ID_CASE(crm, 2) ID_CASE(crm, 3) \
                    ID_CASE(crm, 4) ID_CASE(crm, 5) ID_CASE(crm, 6) ID_CASE(crm, 7)

static u64 id_read_hw(u32 reg)
{
    switch (reg) {
    ID_ROW(1) ID_ROW(2) ID_ROW(3) ID_ROW(4) ID_ROW(5) ID_ROW(6) ID_ROW(7)
    }
    return 0;
}

static bool is_id_reg(u32 op0, u32 op1, u32 crn, u32 crm)
{
    return op0 == 3 && op1 == 0 && crn == 0 && crm >= 1 && crm <= 7;
}

/*
 * The PMU's registers (CRn 9, CRm 12-14, and CRn 14's event registers),
 * which trap only while it is hidden from guests, and ACTLR_EL1.
 */
/* PMCR_EL0 ... PMUSERENR_EL0, PMINTEN*_EL1, PMMIR_EL1; PMEVCNTR/PMEVTYPER<n>, PMCCFILTR_EL0. */
static bool is_pmu_reg(u32 op0, u32 op1, u32 crn, u32 crm)
{
    return op0 == 3 && ((crn == 9 && crm >= 12) || (op1 == 3 && crn == 14 && crm >= 8));
}

static bool is_raz_wi(u32 op0, u32 op1, u32 crn, u32 crm, u32 op2)
{
    if (is_pmu_reg(op0, op1, crn, crm)) /* a hidden PMU */
        return true;
    if (op0 == 3 && op1 == 0 && crn == 1 && crm == 0 && op2 == 1) /* ACTLR_EL1 */
        return true;
    return false;
}

static int __attribute__((noinline)) sysreg_handle_other(struct vcpu *v, u64 esr)
{
    u32 iss = (u32)ESR_ELx_ISS(esr);
    u32 reg = iss & ESR_ELx_SYS64_ISS_SYS_MASK;
    unsigned int rt = (iss >> ESR_ELx_SYS64_ISS_RT_SHIFT) & ESR_ELx_SYS64_ISS_RT_MASK;
    bool read = iss & ESR_ELx_SYS64_ISS_DIR_READ;
    u32 op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7;
    u32 crn = (iss >> 10) & 0xf, crm = (iss >> 1) & 0xf;

    if (!read && reg == SYS_ICC_DIR_EL1) {
        /* trapped (ICH_HCR_EL2.TDIR) only while list registers overflowed */
        vgic_dir(v, vcpu_get_reg(v, rt));
        return 0;
    }
    if (is_id_reg(op0, op1, crn, crm)) {
        if (!read)
            goto undef; /* ID registers are read-only */
        vcpu_set_reg(v, rt, id_read(v, IDX(crm, op2), id_read_hw(reg)));
        return 0;
    }
    if (is_pmu_reg(op0, op1, crn, crm) && pmu_go_live(v))
        return 1; /* switched in lazily, loaded now: the guest runs it again, untrapped */
    if (reg == SYS_PMCR_EL0 && pmu_pmcr_trapped()) {
        if (read)
            vcpu_set_reg(v, rt, pmu_pmcr_read());
        else
            pmu_pmcr_write(vcpu_get_reg(v, rt));
        return 0;
    }
    if (op0 == 3 && op1 == 3 && crn == 14 && crm == 2 && op2 <= 2) {
        /* CNTP_TVAL_EL0 (op2 0), CNTP_CTL_EL0 (1), CNTP_CVAL_EL0 (2) */
        static const unsigned int which[] = { PTIMER_TVAL, PTIMER_CTL, PTIMER_CVAL };
        if (read)
            vcpu_set_reg(v, rt, ptimer_read(v, which[op2]));
        else
            ptimer_write(v, which[op2], vcpu_get_reg(v, rt));
        return 0;
    }
    if (op0 == 3 && op1 == 3 && crn == 14 && crm == 3 && op2 <= 2) {
        /* CNTV_TVAL/CTL/CVAL_EL0, trapped by CNTHCTL_EL2.EL1TVT while armed (vtimer.c) */
        if (read)
            vcpu_set_reg(v, rt, vtimer_trapped_read(v, op2));
        else
            vtimer_trapped_write(v, op2, vcpu_get_reg(v, rt));
        return 0;
    }
    if (op0 == 2) { /* debug: breakpoints, watchpoints, OS lock, claim tags, DCC */
        u64 val = read ? 0 : vcpu_get_reg(v, rt);
        int r = debug_sysreg_access(v, op1, crn, crm, op2, read, &val);

        if (r > 0)
            return 1; /* not skipped: the guest runs it again, now untrapped */
        if (r < 0)
            goto undef;
        if (read)
            vcpu_set_reg(v, rt, val);
        return 0;
    }
    if (is_raz_wi(op0, op1, crn, crm, op2)) {
        if (read)
            vcpu_set_reg(v, rt, 0);
        return 0;
    }
undef:
    VM_WARN(v->vm, "vm %s vcpu %u: %s S%u_%u_C%u_C%u_%u (x%u) at PC %#lx not emulated; UNDEFINED injected",
         v->vm->cfg.name, v->id, read ? "MRS" : "MSR", op0, op1, crn, crm, op2, rt,
         arch_vcpu_pc());
    arch_vcpu_inject_undef(v);
    return -1;
}

/*
 * A guest's SGI traps here on every send (ICC_SGI1R_EL1 and its two
 * siblings): tested first, in a function that decodes nothing else and
 * keeps no registers; every other register out of line.
 */
int sysreg_handle(struct vcpu *v, u64 esr)
{
    u32 iss = (u32)ESR_ELx_ISS(esr);
    u32 reg = iss & ESR_ELx_SYS64_ISS_SYS_MASK;
    unsigned int rt = (iss >> ESR_ELx_SYS64_ISS_RT_SHIFT) & ESR_ELx_SYS64_ISS_RT_MASK;

    if (!(iss & ESR_ELx_SYS64_ISS_DIR_READ) &&
        (reg == SYS_ICC_SGI1R_EL1 || reg == SYS_ICC_ASGI1R_EL1 || reg == SYS_ICC_SGI0R_EL1)) {
        vgic_send_sgi(v, vcpu_get_reg(v, rt));
        return 0;
    }
    return sysreg_handle_other(v, esr);
}
