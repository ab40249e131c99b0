/*
 * Traps from AArch32 EL0 (a guest's 32-bit userspace): the condition check
 * a trapped conditional instruction still owes, the IT-block state a
 * skipped T32 instruction must advance, the CP15 generic-timer accesses
 * that reach EL2 because the EL1 physical timer is emulated
 * (CNTHCTL_EL2.EL1PCEN = 0; ptimer.c), and PMCR where it traps (pmu.c).
 * Only EL0 can be AArch32 here (HCR_EL2.RW = 1), so Rt names the
 * user-mode register R<t> = X<t>.
 */
#include <arch/esr.h>
#include <arch/pmu.h>
#include <arch/sysreg.h>
#include <keel/log.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

/* ITSTATE<7:0> from an AArch32 SPSR (IT[7:2] at 15:10, IT[1:0] at 26:25). */
static u32 it_state(u64 spsr)
{
    return (u32)(((spsr >> 25) & 0x3) | ((spsr >> 8) & 0xfc));
}

/*
 * Arm ARM, ITAdvance(): after a T32 instruction inside an IT block the next
 * condition shifts in, and the block ends after its last instruction.
 */
u64 aarch32_it_advance(u64 spsr)
{
    u32 it = it_state(spsr);

    if (!(spsr & PSR_AA32_T) || !it)
        return spsr;
    it = (it & 0x7) ? ((it & 0xe0) | ((it << 1) & 0x1f)) : 0;
    spsr &= ~(PSR_AA32_IT_LO | PSR_AA32_IT_HI);
    return spsr | ((u64)(it & 0x3) << 25) | ((u64)(it >> 2) << 10);
}

/*
 * Arm ARM D13.2.39 (ISS for EC 0x03/0x04): a conditional instruction that
 * fails its condition may still trap; CV = 0 means COND is not given and
 * comes from ITSTATE (AL outside an IT block). ConditionHolds() on NZCV.
 */
static bool aarch32_cond_passed(u64 esr, u64 spsr)
{
    u32 cond = (esr & ESR_ELx_CV) ? (u32)(esr >> ESR_ELx_COND_SHIFT) & 0xf
                                   : (it_state(spsr) ? it_state(spsr) >> 4 : 0xe);
    bool n = spsr & BIT(31), z = spsr & BIT(30), c = spsr & BIT(29), v = spsr & BIT(28);
    bool r;

    switch (cond >> 1) {
    case 0: r = z; break;
    case 1: r = c; break;
    case 2: r = n; break;
    case 3: r = v; break;
    case 4: r = c && !z; break;
    case 5: r = n == v; break;
    case 6: r = n == v && !z; break;
    default: return true; /* AL, and 0b1111 which is AL too */
    }
    return (cond & 1) ? !r : r;
}

static void undef32(struct vcpu *v, u64 esr, const char *what)
{
    VM_WARN(v->vm, "vm %s vcpu %u: AArch32 %s (ESR %#lx) at PC %#lx not emulated; UNDEFINED "
            "injected", v->vm->cfg.name, v->id, what, esr, arch_vcpu_pc());
    arch_vcpu_inject_undef(v);
}

/* PMCR (opc1 0, c9, c12, opc2 0), the AArch32 view of PMCR_EL0's low half. */
static bool is_pmcr(u32 opc1, u32 crn, u32 crm, u32 opc2)
{
    return opc1 == 0 && crn == 9 && crm == 12 && opc2 == 0;
}

static void cp15_pmcr(struct vcpu *v, unsigned int rt, bool read)
{
    if (read)
        vcpu_set_reg(v, rt, (u32)pmu_pmcr_read());
    else
        pmu_pmcr_write((u32)vcpu_get_reg(v, rt));
}

/*
 * MRC/MCR p15 (EC 0x03): CNTP_TVAL (opc1 0, c14, c2, opc2 0) and CNTP_CTL
 * (opc2 1), always trapped; CNTV_TVAL and CNTV_CTL (c14, c3), trapped while
 * vtimer.c follows the virtual timer's line; PMCR when the PMU is the
 * guest's but PMCR traps (pmu.c). ISS: Opc2[19:17] Opc1[16:14] CRn[13:10]
 * Rt[9:5] CRm[4:1] Direction[0] (1: read). 0: emulated or skipped
 * (condition failed); -1: UNDEFINED injected.
 */
int cp15_32_handle(struct vcpu *v, u64 esr)
{
    u32 iss = (u32)ESR_ELx_ISS(esr);
    u32 opc2 = (iss >> 17) & 7, opc1 = (iss >> 14) & 7, crn = (iss >> 10) & 0xf;
    u32 rt = (iss >> 5) & 0x1f, crm = (iss >> 1) & 0xf;
    bool read = iss & 1;
    unsigned int reg;

    if (!aarch32_cond_passed(esr, read_sysreg(spsr_el2)))
        return 0;
    /* the PMU (c9 c12-c14, c14 c8-c15) of a vCPU switched in lazily: loaded, then retried */
    if (opc1 == 0 && ((crn == 9 && crm >= 12) || (crn == 14 && crm >= 8)) && pmu_go_live(v))
        return 1;
    if (is_pmcr(opc1, crn, crm, opc2) && pmu_pmcr_trapped() && rt <= 14) {
        cp15_pmcr(v, rt, read);
        return 0;
    }
    if (opc1 != 0 || crn != 14 || (crm != 2 && crm != 3) || opc2 > 1 || rt > 14) {
        undef32(v, esr, read ? "MRC p15" : "MCR p15");
        return -1;
    }
    if (crm == 3) { /* CNTV_TVAL (opc2 0), CNTV_CTL (1): vtimer.c's numbering */
        if (read)
            vcpu_set_reg(v, rt, (u32)vtimer_trapped_read(v, opc2));
        else
            vtimer_trapped_write(v, opc2, (u32)vcpu_get_reg(v, rt));
        return 0;
    }
    reg = opc2 ? PTIMER_CTL : PTIMER_TVAL;
    if (read)
        vcpu_set_reg(v, rt, (u32)ptimer_read(v, reg));
    else
        ptimer_write(v, reg, (u32)vcpu_get_reg(v, rt));
    return 0;
}

/*
 * MRRC/MCRR p15 (EC 0x04): CNTP_CVAL (opc1 2, c14), and CNTV_CVAL (opc1 3)
 * while trapped. ISS: Opc1[19:16] Rt2[14:10] Rt[9:5] CRm[4:1] Direction[0].
 */
static u64 cval32_read(struct vcpu *v, bool virt)
{
    return virt ? vtimer_trapped_read(v, 2) : ptimer_read(v, PTIMER_CVAL);
}

static void cval32_write(struct vcpu *v, bool virt, u64 val)
{
    if (virt)
        vtimer_trapped_write(v, 2, val);
    else
        ptimer_write(v, PTIMER_CVAL, val);
}

int cp15_64_handle(struct vcpu *v, u64 esr)
{
    u32 iss = (u32)ESR_ELx_ISS(esr);
    u32 opc1 = (iss >> 16) & 0xf, rt2 = (iss >> 10) & 0x1f, rt = (iss >> 5) & 0x1f;
    u32 crm = (iss >> 1) & 0xf;
    bool read = iss & 1;

    if (!aarch32_cond_passed(esr, read_sysreg(spsr_el2)))
        return 0;
    if (opc1 == 0 && crm == 9 && pmu_go_live(v)) /* PMCCNTR, lazily switched in: see above */
        return 1;
    if ((opc1 != 2 && opc1 != 3) || crm != 14 || rt > 14 || rt2 > 14) {
        undef32(v, esr, read ? "MRRC p15" : "MCRR p15");
        return -1;
    }
    if (read) {
        u64 cval = cval32_read(v, opc1 == 3);
        vcpu_set_reg(v, rt, (u32)cval);
        vcpu_set_reg(v, rt2, cval >> 32);
    } else {
        cval32_write(v, opc1 == 3, (u32)vcpu_get_reg(v, rt) | (vcpu_get_reg(v, rt2) << 32));
    }
    return 0;
}
