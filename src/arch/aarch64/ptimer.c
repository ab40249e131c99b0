/*
 * The EL1 physical timer, emulated. Guests' CNTP_CTL_EL0, CNTP_CVAL_EL0 and
 * CNTP_TVAL_EL0 accesses trap (CNTHCTL_EL2.EL1PCEN = 0) and land here; the
 * deadline is armed on the home CPU's timer queue (keel/timerq.h, on the EL2
 * physical timer, CNTHP_*), and its expiry raises the guest's physical-timer
 * PPI as a level: high while the timer condition holds and IMASK is clear (Arm ARM
 * D11.2.4), low as soon as the guest reprograms, disables or masks it.
 * CNTVOFF_EL2 is 0, so the physical and virtual counts agree.
 */
#include <arch/sysreg.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/platform.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vgic.h>

static bool ptimer_istatus(const struct vcpu *v)
{
    return (v->arch.el1.cntp_ctl & CNT_CTL_ENABLE) && arch_counter_read() >= v->arch.el1.cntp_cval;
}

static void ptimer_fire(struct timer_event *ev)
{
    ptimer_sync(container_of(ev, struct vcpu, arch.ptimer_ev));
}

/*
 * Re-evaluates the interrupt line and arms the next deadline on the home
 * CPU's timer queue, from the vCPU's exit or from that deadline, the vCPU
 * on the CPU or not (core/timerq.c; both run on the home CPU).
 */
void ptimer_sync(struct vcpu *v)
{
    struct timerq *q = &cpus[v->pcpu].timers;
    u64 ctl = v->arch.el1.cntp_ctl;
    bool istatus = ptimer_istatus(v);

    vgic_set_private_level(v, platform.timer_irq[1], istatus && !(ctl & CNT_CTL_IMASK));
    if ((ctl & CNT_CTL_ENABLE) && !(ctl & CNT_CTL_IMASK) && !istatus) {
        v->arch.ptimer_ev.fn = ptimer_fire;
        timerq_arm(q, &v->arch.ptimer_ev, v->arch.el1.cntp_cval);
    } else {
        timerq_cancel(q, &v->arch.ptimer_ev);
    }
}

/* The vCPU stopped: its deadline goes with it. */
void ptimer_stop(struct vcpu *v)
{
    timerq_cancel(&cpus[v->pcpu].timers, &v->arch.ptimer_ev);
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

/* The timer queue's hardware: the EL2 physical timer (CNTHP_*), Keel's alone. */
void arch_timer_program(u64 deadline)
{
    if (deadline == ~0UL) {
        write_sysreg(cnthp_ctl_el2, 0);
    } else {
        write_sysreg(cnthp_cval_el2, deadline);
        write_sysreg(cnthp_ctl_el2, CNT_CTL_ENABLE);
    }
    isb();
}
