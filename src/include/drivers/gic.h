/*
 * What the GICv2 and GICv3 drivers share: finding the GIC in the host DT
 * (src/drivers/gic.c, host-testable) and the binding's interrupt specifier.
 */
#ifndef DRIVERS_GIC_H
#define DRIVERS_GIC_H

#include <keel/irqchip.h>

#define GIC_SGI_KICK 0          /* Keel's IPI: new virtual IRQs or a vCPU to start */
#define GIC_INTID_SPURIOUS 1020 /* 1020..1023 */
#define GIC_NR_PRIVATE 32       /* SGIs 0-15, PPIs 16-31 */
#define GIC_MAX_SPI_INTID 1019

/* The drivers' ops (src/drivers/gicv3.c, gicv2.c). */
extern const struct irqchip_ops gicv3_irqchip, gicv2_irqchip;

/*
 * arm,gic-v3.yaml / arm,gic.yaml: <type number flags>, type 0 = SPI (INTID
 * number + 32), 1 = PPI (number + 16).
 */
bool gic_dt_xlate(const u32 *cells, unsigned int ncells, u32 *intid);
/* SPI INTIDs appear to a VM as the same SPI: line = INTID - 32. */
bool gic_hwirq_to_line(u32 intid, u32 *line);

/* GICv2: this CPU's view of the GICH frame (banked, one address); 0 on GICv3. */
extern u64 gic_gich;

/*
 * The exit path's acknowledge, priority drop and deactivation: GICv3's CPU
 * interface is system registers, reached inline here; a GICv2 goes through
 * the ops (MMIO, and SGIs carry a source). Saves three indirect calls on
 * every interrupt a guest's CPU takes.
 */
extern bool gic_cpuif_sysreg; /* set by the GICv3 driver */
/*
 * GICv3: per CPU, the ICC_SGI1R_EL1 value that sends it Keel's kick, set
 * as it comes up (never 0 then: TargetList has a bit). 0 on GICv2.
 */
extern u64 gic_kick_sgir[PLAT_MAX_CPUS];

#ifndef VGIC_HW_FAKE
#include <arch/gicv3_regs.h>
#include <arch/sysreg.h>

static inline u32 gic_ack(void)
{
    if (__builtin_expect(!gic_cpuif_sysreg, 0))
        return irqchip_ack();
    u32 intid = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;

    dsb(sy);
    return intid >= GIC_INTID_SPURIOUS ? IRQCHIP_NONE : intid;
}

static inline void gic_eoi(u32 intid)
{
    if (__builtin_expect(!gic_cpuif_sysreg, 0))
        return irqchip_eoi(intid);
    write_sysreg(ICC_EOIR1_EL1, intid);
    isb();
}

/* Keel's kick to @cpu: on every cross-CPU injection, so no call through the ops on GICv3. */
static inline void gic_send_kick(unsigned int cpu)
{
    u64 sgir = gic_kick_sgir[cpu];

    if (__builtin_expect(!sgir, 0))
        return irqchip_send_ipi(cpu);
    dsb(ishst);
    write_sysreg(ICC_SGI1R_EL1, sgir);
    isb();
}

/* gic_ack() and, if there was one, gic_eoi(): one test of the CPU interface for both. */
static inline u32 gic_ack_eoi(void)
{
    u32 intid;

    if (__builtin_expect(!gic_cpuif_sysreg, 0)) {
        intid = irqchip_ack();
        if (intid != IRQCHIP_NONE)
            irqchip_eoi(intid);
        return intid;
    }
    intid = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;
    dsb(sy);
    if (intid >= GIC_INTID_SPURIOUS)
        return IRQCHIP_NONE;
    write_sysreg(ICC_EOIR1_EL1, intid);
    isb();
    return intid;
}

static inline void gic_deactivate(u32 intid)
{
    if (__builtin_expect(!gic_cpuif_sysreg, 0))
        return irqchip_deactivate(intid);
    write_sysreg(ICC_DIR_EL1, intid);
    isb();
}
#endif

/*
 * The per-CPU interrupts Keel takes (its IPI, maintenance, the timers, the
 * PMU's overflow when guests have the PMU), through the driver's @enable.
 */
static inline void gic_enable_percpu(void (*enable)(u32 intid, unsigned int cpu), unsigned int cpu)
{
    enable(GIC_SGI_KICK, cpu);
    if (platform.gic_maint_irq)
        enable(platform.gic_maint_irq, cpu);
    enable(platform.timer_irq[2], cpu); /* virtual timer */
    enable(platform.timer_irq[3], cpu); /* EL2 physical timer: guests' CNTP_* */
    if (platform.pmu_irq)
        enable(platform.pmu_irq, cpu); /* forwarded to the vCPU running here */
}

/* Number of list registers of this CPU's virtual interface (both versions). */
unsigned int gic_nr_lrs(void);
void gic_set_nr_lrs(unsigned int n); /* by the driver, from its VTR */
/* One bit per list register: the flush asks on every exit, so a load, not a call. */
extern u32 gic_lr_mask;

#endif
