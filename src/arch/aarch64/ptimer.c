/*
 * The EL1 physical timer, emulated. Guests' CNTP_CTL_EL0, CNTP_CVAL_EL0 and
 * CNTP_TVAL_EL0 accesses trap (CNTHCTL_EL2.EL1PCEN = 0) and land here; the
 * deadline is armed on the EL2 physical timer (CNTHP_*, which Keel does not
 * otherwise use), and its interrupt raises the guest's physical-timer PPI as
 * a level: high while the timer condition holds and IMASK is clear (Arm ARM
 * D11.2.4), low as soon as the guest reprograms, disables or masks it.
 * CNTVOFF_EL2 is 0, so the physical and virtual counts agree.
 */
#include <arch/sysreg.h>
#include <keel/arch.h>
#include <keel/platform.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vgic.h>

#define CNT_CTL_ENABLE BIT(0)
#define CNT_CTL_IMASK BIT(1)
#define CNT_CTL_ISTATUS BIT(2)

static bool ptimer_istatus(const struct vcpu *v)
{
    return (v->arch.el1.cntp_ctl & CNT_CTL_ENABLE) && arch_counter_read() >= v->arch.el1.cntp_cval;
}

/* Re-evaluates the interrupt line and re-arms CNTHP for the next deadline. */
void ptimer_sync(struct vcpu *v)
{
    u64 ctl = v->arch.el1.cntp_ctl;
    bool istatus = ptimer_istatus(v);

    vgic_set_private_level(v, platform.timer_irq[1], istatus && !(ctl & CNT_CTL_IMASK));
    if ((ctl & CNT_CTL_ENABLE) && !(ctl & CNT_CTL_IMASK) && !istatus) {
        write_sysreg(cnthp_cval_el2, v->arch.el1.cntp_cval);
        write_sysreg(cnthp_ctl_el2, CNT_CTL_ENABLE);
    } else {
        write_sysreg(cnthp_ctl_el2, 0);
    }
    isb();
}

u64 ptimer_read(struct vcpu *v, unsigned int reg)
{
    switch (reg) {
    case PTIMER_CTL:
        return v->arch.el1.cntp_ctl | (ptimer_istatus(v) ? CNT_CTL_ISTATUS : 0);
    case PTIMER_CVAL:
        return v->arch.el1.cntp_cval;
    default: /* TVAL: the signed 32-bit distance to the deadline */
        return (u32)(v->arch.el1.cntp_cval - arch_counter_read());
    }
}

void ptimer_write(struct vcpu *v, unsigned int reg, u64 val)
{
    switch (reg) {
    case PTIMER_CTL:
        v->arch.el1.cntp_ctl = val & (CNT_CTL_ENABLE | CNT_CTL_IMASK);
        break;
    case PTIMER_CVAL:
        v->arch.el1.cntp_cval = val;
        break;
    default:
        v->arch.el1.cntp_cval = arch_counter_read() + (u64)(s64)(s32)val;
        break;
    }
    ptimer_sync(v);
}

/* The CNTHP interrupt on a CPU without a vCPU: nothing to deliver it to. */
void ptimer_idle(void)
{
    write_sysreg(cnthp_ctl_el2, 0);
    isb();
}
