/*
 * A model of the GICv3 virtual CPU interface for the host tests of
 * src/arch/aarch64/vgic_lr.c: per physical CPU, the list registers and
 * ICH_HCR/VMCR/VTR_EL2 that vgic_lr.c drives through arch/vgic_hw.h
 * (VGIC_HW_FAKE), the guest's side of them (ICV_IAR1/EOIR1/DIR_EL1 as the
 * hardware executes them, IHI 0069 chapter 6 and the ICH_* descriptions in
 * 12.4, the way QEMU's hw/intc/arm_gicv3_cpuif.c implements them), the
 * maintenance interrupt (ICH_MISR_EL2), and the physical side of forwarded
 * (HW) interrupts. Also the link-time fakes vgic_lr.c and vgic.c need:
 * cpu_this(), vcpu_kick(), irqchip->deactivate, gic_nr_lrs() and platform.
 *
 * Priorities have 5 bits (VGIC_PRIO_BITS) and so do preemption levels: the
 * group priority is the priority itself, one ICH_AP1R0_EL2 bit per level.
 * Interrupt groups are not modelled (everything is taken as Group 1).
 */
#ifndef UNIT_VGIC_LR_FAKE_ICH_H
#define UNIT_VGIC_LR_FAKE_ICH_H

#include <keel/vcpu.h>
#include <keel/vgic.h>

#define FAKE_NR_PCPUS 4
#define FAKE_MAX_LOG 64

struct fake_ich {
    unsigned int nr_lrs;
    u64 lr[VGIC_MAX_LRS];
    u64 hcr, vmcr, vtr;
    u32 ap1r;                           /* active priorities: bit = priority >> 3 */
    /* physical INTIDs active, and deactivations of each: PPIs of this CPU; SPIs in CPU 0's */
    bool phys_active[VGIC_NR_IRQS];
    unsigned int phys_deact[VGIC_NR_IRQS];
    unsigned int dir_traps;             /* ICC_DIR_EL1 writes that trapped (TDIR) */
    unsigned int maint;                 /* maintenance interrupts taken */
    bool line_low[VGIC_NR_IRQS];        /* physical sources gone low (arch_hw_line_high) */
};

extern struct fake_ich fake_ichs[FAKE_NR_PCPUS];
extern unsigned int fake_kicks;

/* Every CPU: @nr_lrs list registers, TDIR implemented (ICH_VTR_EL2.TDS). */
void fake_ich_reset(unsigned int nr_lrs);
/* Makes @v the vCPU running on its physical CPU (v->pcpu) and that CPU current. */
void fake_run(struct vcpu *v);
/* The current CPU's model. */
struct fake_ich *fake_ich(void);

/* ---- the guest's CPU interface (ICV_*), on the current CPU ---- */
void guest_cpu_init(void);            /* ICC_PMR_EL1 0xff, EOImode 0 */
void guest_set_eoimode(bool split);   /* ICC_CTLR_EL1.EOImode */
void guest_set_pmr(u8 pmr);
u32 guest_ack(void);                  /* ICC_IAR1_EL1: INTID or 1023 */
void guest_eoi(u32 intid);            /* ICC_EOIR1_EL1 */
void guest_dir(u32 intid);            /* ICC_DIR_EL1; traps to vgic_dir() with TDIR */
u8 guest_rpr(void);                   /* ICC_RPR_EL1 */

/* ---- the hypervisor's side ---- */
u32 fake_misr(void);                  /* ICH_MISR_EL2 */
bool fake_maint_asserted(void);
/*
 * An exit and the way back in, as Keel does it: the maintenance interrupt
 * if asserted (vgic_maintenance), then vgic_flush if anything is wanted.
 */
void fake_exit(void);
/* Exits while the maintenance interrupt stays asserted; false if it never stops (a storm). */
bool fake_settle(void);
/* A physical interrupt forwarded to @v with the HW bit (acknowledged, priority-dropped). */
void fake_phys_fire(struct vcpu *v, u32 intid);
/* LR index holding vINTID @intid on the current CPU, or -1. */
int fake_lr_of(u32 intid);

#endif
