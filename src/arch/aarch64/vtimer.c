/*
 * The EL1 virtual timer: the guest programs it natively and its interrupt
 * (PPI 27) reaches the guest forwarded with the HW bit (exit.c). The line
 * is a level (Arm ARM D11.2.4: asserted while ISTATUS is 1 and IMASK is 0),
 * but once Keel has put it in a list register the LR, not the line, says
 * pending: a guest that disables, masks or pushes back its timer without an
 * exit would still take the interrupt. Two things keep the LR in step with
 * the line:
 *  - every guest read of the private pending state (GICR_ISPENDR0 and
 *    ICPENDR0, a vGICv2's banked GICD ones) samples it first
 *    (vgic_hw_resample);
 *  - with FEAT_ECV, CNTHCTL_EL2.EL1TVT traps the guest's CNTV_CTL_EL0,
 *    CNTV_CVAL_EL0 and CNTV_TVAL_EL0 accesses from the moment an interrupt
 *    is injected until the guest touches the timer with the interrupt no
 *    longer pending in an LR (taken or gone): a write that lowers the line
 *    retracts it at once. One trap per timer interrupt, after its
 *    acknowledge; docs/design-notes.md ("The virtual timer as a level").
 * Without FEAT_ECV (QEMU 7.2, Cortex-A72) only the first applies.
 */
#include <arch/pmu.h>
#include <arch/sysreg.h>
#include <keel/irqchip.h>
#include <keel/platform.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vgic.h>

/* CNTHCTL_EL2 while the trap is armed; 0 without FEAT_ECV (vtimer_init). */
u64 vtimer_trap_cnthctl;

void vtimer_init(void)
{
    u64 ecv = ID_FIELD(read_sysreg(id_aa64mmfr0_el1), ID_AA64MMFR0_EL1_ECV_SHIFT);

    vtimer_trap_cnthctl = ecv ? CNTHCTL_GUEST | CNTHCTL_EL2_EL1TVT : 0;
}

/* The timer's output as the GIC would sample it, read from the guest's live registers. */
static bool vtimer_line_high(void)
{
    u64 ctl = read_sysreg(cntv_ctl_el0);

    return (ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS)) ==
           (CNT_CTL_ENABLE | CNT_CTL_ISTATUS);
}

/* The forwarded private lines: this timer's, and the PMU's overflow (pmu.c). */
bool arch_hw_line_high(u32 pintid)
{
    if (pintid == platform.timer_irq[2])
        return vtimer_line_high();
    return pintid != platform.pmu_irq || pmu_line_high();
}

static u64 vtimer_reg_read(unsigned int op2)
{
    switch (op2) {
    case 0: return read_sysreg(cntv_tval_el0);
    case 1: return read_sysreg(cntv_ctl_el0);
    default: return read_sysreg(cntv_cval_el0);
    }
}

static void vtimer_reg_write(unsigned int op2, u64 val)
{
    switch (op2) {
    case 0: write_sysreg(cntv_tval_el0, val); break;
    case 1: write_sysreg(cntv_ctl_el0, val); break;
    default: write_sysreg(cntv_cval_el0, val); break;
    }
    isb(); /* ISTATUS reflects the new condition before it is sampled */
}

/*
 * After a trapped access: the line sampled, and the trap kept only while
 * the interrupt still waits in an LR.
 */
static void vtimer_trap_update(struct vcpu *v)
{
    if (!vgic_hw_resample(v))
        write_sysreg(cnthctl_el2, CNTHCTL_GUEST);
}

/*
 * A trapped CNTV_TVAL (@reg 0), CNTV_CTL (1) or CNTV_CVAL (2) access, from
 * AArch64 or AArch32, done on the guest's behalf: at EL2 with E2H 0 these
 * names are the EL1 virtual timer's own registers.
 */
u64 vtimer_trapped_read(struct vcpu *v, unsigned int reg)
{
    u64 val = vtimer_reg_read(reg);

    vtimer_trap_update(v);
    return val;
}

void vtimer_trapped_write(struct vcpu *v, unsigned int reg, u64 val)
{
    vtimer_reg_write(reg, val);
    vtimer_trap_update(v);
}

/*
 * @v just loaded on a shared CPU (sched.c) with its timer's deadline passed
 * while it was away, which is what woke it: its interrupt is injected now,
 * the physical PPI made active as Keel's acknowledge would have left it,
 * rather than after one more exit to take the line that its restored
 * CNTV_CTL_EL0 raises. A PPI still active from before it left is in an LR
 * already, or being handled: nothing to add then.
 */
void vtimer_load_due(struct vcpu *v)
{
    u32 ppi = platform.timer_irq[2];

    if (!vtimer_line_high() || (v->arch.ppi_active & BIT(ppi)))
        return;
    irqchip_private_set_active(BIT(ppi), true);
    vgic_inject_here(v, ppi, ppi);
    if (vtimer_trap_cnthctl)
        write_sysreg(cnthctl_el2, vtimer_trap_cnthctl);
}
