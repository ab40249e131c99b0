/*
 * Trapped system register accesses (EC 0x18, Arm ARM D13.2.39 "ISS encoding
 * for an exception from MSR, MRS, or System instruction execution").
 * Returns 0 when emulated (the caller steps over the instruction), or -1
 * after injecting an exception.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <keel/log.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

#define SYS_ICC_SGI1R_EL1 SYS_REG(3, 0, 12, 11, 5)
#define SYS_ICC_ASGI1R_EL1 SYS_REG(3, 0, 12, 11, 6)
#define SYS_ICC_SGI0R_EL1 SYS_REG(3, 0, 12, 11, 7)
#define SYS_ICC_DIR_EL1 SYS_REG(3, 0, 12, 11, 1)
#define SYS_MDSCR_EL1 SYS_REG(2, 0, 0, 2, 2)
#define SYS_OSLAR_EL1 SYS_REG(2, 0, 1, 0, 4)
#define SYS_OSLSR_EL1 SYS_REG(2, 0, 1, 1, 4)
#define SYS_ID_AA64PFR0_EL1 SYS_REG(3, 0, 0, 4, 0)
#define SYS_ID_AA64PFR1_EL1 SYS_REG(3, 0, 0, 4, 1)
#define SYS_ID_AA64ZFR0_EL1 SYS_REG(3, 0, 0, 4, 4)
#define SYS_ID_AA64SMFR0_EL1 SYS_REG(3, 0, 0, 4, 5)
#define SYS_ID_AA64DFR0_EL1 SYS_REG(3, 0, 0, 5, 0)
#define SYS_ID_AA64DFR1_EL1 SYS_REG(3, 0, 0, 5, 1)
#define SYS_ID_DFR0_EL1 SYS_REG(3, 0, 0, 1, 2)
#define SYS_ID_AA64MMFR1_EL1 SYS_REG(3, 0, 0, 7, 1)

#define FIELD(hi, lo) GENMASK(hi, lo)

/*
 * Fields Keel zeroes so guests do not use what it does not virtualise:
 * SVE, SME, MTE, AMU, MPAM, RAS, nested virtualisation (EL2), secure EL2,
 * PMU, SPE, trace and BRBE.
 */
static u64 id_sanitise(u32 reg, u64 v)
{
    switch (reg) {
    case SYS_ID_AA64PFR0_EL1:
        /* EL2[11:8], RAS[31:28], SVE[35:32], SEL2[39:36], MPAM[43:40], AMU[47:44] */
        return v & ~(FIELD(11, 8) | FIELD(31, 28) | FIELD(35, 32) | FIELD(39, 36) |
                     FIELD(43, 40) | FIELD(47, 44));
    case SYS_ID_AA64PFR1_EL1:
        /* MTE[11:8], RAS_frac[15:12], MPAM_frac[19:16], SME[27:24] */
        return v & ~(FIELD(11, 8) | FIELD(15, 12) | FIELD(19, 16) | FIELD(27, 24));
    case SYS_ID_AA64ZFR0_EL1:
    case SYS_ID_AA64SMFR0_EL1:
    case SYS_ID_AA64DFR1_EL1:
        return 0;
    case SYS_ID_AA64DFR0_EL1:
        /* TraceVer[7:4], PMUVer[11:8], PMSVer[35:32], TraceFilt[43:40],
           TraceBuffer[47:44], MTPMU[51:48], BRBE[55:52] */
        return v & ~(FIELD(7, 4) | FIELD(11, 8) | FIELD(35, 32) | FIELD(43, 40) |
                     FIELD(47, 44) | FIELD(51, 48) | FIELD(55, 52));
    case SYS_ID_DFR0_EL1:
        /* CopTrc[15:12], MMapTrc[19:16], PerfMon[27:24], TraceFilt[31:28] */
        return v & ~(FIELD(15, 12) | FIELD(19, 16) | FIELD(27, 24) | FIELD(31, 28));
    }
    return v;
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

/* PMU (CRn 9, CRm 12-14 and CRn 14 event registers) and physical timer. */
static bool is_raz_wi(u32 op0, u32 op1, u32 crn, u32 crm, u32 op2)
{
    if (op0 == 2) /* debug: breakpoints, watchpoints, OS lock, claim tags */
        return true;
    if (op0 == 3 && crn == 9 && crm >= 12) /* PMU */
        return true;
    if (op0 == 3 && op1 == 3 && crn == 14 && crm >= 8) /* PMEVCNTR/PMEVTYPER */
        return true;
    if (op0 == 3 && op1 == 0 && crn == 1 && crm == 0 && op2 == 1) /* ACTLR_EL1 */
        return true;
    return false;
}

int sysreg_handle(struct vcpu *v, u64 esr)
{
    u32 iss = (u32)ESR_ELx_ISS(esr);
    u32 reg = iss & ESR_ELx_SYS64_ISS_SYS_MASK;
    unsigned int rt = (iss >> ESR_ELx_SYS64_ISS_RT_SHIFT) & ESR_ELx_SYS64_ISS_RT_MASK;
    bool read = iss & ESR_ELx_SYS64_ISS_DIR_READ;
    u32 op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7;
    u32 crn = (iss >> 10) & 0xf, crm = (iss >> 1) & 0xf;

    if (!read && (reg == SYS_ICC_SGI1R_EL1 || reg == SYS_ICC_ASGI1R_EL1 || reg == SYS_ICC_SGI0R_EL1)) {
        vgic_send_sgi(v, vcpu_get_reg(v, rt));
        return 0;
    }
    if (!read && reg == SYS_ICC_DIR_EL1) {
        /* trapped (ICH_HCR_EL2.TDIR) only while list registers overflowed */
        vgic_dir(v, vcpu_get_reg(v, rt));
        return 0;
    }
    if (is_id_reg(op0, op1, crn, crm)) {
        if (!read)
            goto undef; /* ID registers are read-only */
        vcpu_set_reg(v, rt, id_sanitise(reg, id_read_hw(reg)));
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
    if (reg == SYS_MDSCR_EL1) {
        if (read)
            vcpu_set_reg(v, rt, v->el1.mdscr);
        else
            v->el1.mdscr = vcpu_get_reg(v, rt);
        return 0;
    }
    if (reg == SYS_OSLSR_EL1 && read) {
        vcpu_set_reg(v, rt, 1UL << 3); /* OSLM = 0b10: OS lock implemented, unlocked */
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
