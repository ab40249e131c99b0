/*
 * Physical GICv3 (Arm IHI 0069): Keel owns the distributor and the CPU
 * interface. Everything is Group 1 (non-secure). EOImode = 1 splits priority
 * drop from deactivation, so an interrupt forwarded to a guest with the HW
 * bit stays active until the guest deactivates it.
 */
#include <arch/gicv3_regs.h>
#include <arch/sysreg.h>
#include <drivers/gic.h>
#include <keel/console.h>
#include <keel/gic_regs.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/platform.h>

#define GIC_PRIO_DEFAULT 0xa0

static u64 gicd;
static u64 gicr_this[PLAT_MAX_CPUS];

static inline volatile u32 *reg32(u64 base, u64 off)
{
    return (volatile u32 *)(base + off);
}

static bool wait_clear(volatile u32 *r, u32 bits)
{
    for (int i = 0; i < 1000000; i++)
        if (!(*r & bits))
            return true;
    return false;
}

static void gicv3_enable(u32 intid, unsigned int cpu);

static int gicv3_init(void)
{
    u32 lines;

    gicd = pa_addr(platform.gicd.base);
    *reg32(gicd, GICD_CTLR) = 0;
    if (!wait_clear(reg32(gicd, GICD_CTLR), GICD_CTLR_RWP))
        WARN("GICD_CTLR.RWP stuck");
    lines = ((*reg32(gicd, GICD_TYPER) & 0x1f) + 1) * 32;
    for (u32 i = 32; i < lines && i < 1020; i += 32) {
        *reg32(gicd, GICD_ICENABLER + i / 8) = ~0U;
        *reg32(gicd, GICD_ICPENDR + i / 8) = ~0U;
        *reg32(gicd, GICD_ICACTIVER + i / 8) = ~0U;
        *reg32(gicd, GICD_IGROUPR + i / 8) = ~0U;
    }
    for (u32 i = 32; i < lines && i < 1020; i += 4)
        *reg32(gicd, GICD_IPRIORITYR + i) = GIC_PRIO_DEFAULT * 0x01010101U;
    *reg32(gicd, GICD_CTLR) = GICD_CTLR_ARE_NS | GICD_CTLR_EnableGrp1A | GICD_CTLR_EnableGrp1NS;
    wait_clear(reg32(gicd, GICD_CTLR), GICD_CTLR_RWP);
    return 0;
}

/* Finds this CPU's redistributor by its affinity in GICR_TYPER. */
static u64 gicr_find(u64 mpidr)
{
    u64 base = pa_addr(platform.gicr.base), end = base + platform.gicr.size;
    u64 aff = (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24;

    for (; base < end; base += GICR_FRAME_SIZE) {
        u64 typer = *(volatile u64 *)(base + GICR_TYPER);
        if ((typer >> 32) == aff)
            return base;
        if (typer & GICR_TYPER_Last)
            break;
    }
    return 0;
}

/* ICC_SGI1R_EL1 (IHI 0069 12.2.22) sending Keel's kick to the CPU with MPIDR @mpidr. */
static u64 kick_sgir(u64 mpidr)
{
    const u64 sgi = GIC_SGI_KICK;

    return ((mpidr >> 8) & 0xff) << 16 | ((mpidr >> 16) & 0xff) << 32 |
           ((mpidr >> 32) & 0xffUL) << 48 | (u64)sgi << 24 |
           ((mpidr & 0xff) / 16) << 44 | BIT(mpidr & 0xf);
}

static int gicv3_cpu_init(void)
{
    struct cpu *c = cpu_this();
    u64 rd = gicr_find(c->hwid), sgi;

    if (!rd) {
        ERROR("no GICv3 redistributor for MPIDR %#lx", c->hwid);
        return -1;
    }
    gicr_this[c->id] = rd;
    gic_kick_sgir[c->id] = kick_sgir(c->hwid);
    sgi = rd + GICR_SGI_BASE;
    *reg32(rd, GICR_WAKER) &= ~GICR_WAKER_ProcessorSleep;
    if (!wait_clear(reg32(rd, GICR_WAKER), GICR_WAKER_ChildrenAsleep))
        WARN("GICR_WAKER.ChildrenAsleep stuck");
    *reg32(sgi, GICD_ICENABLER) = ~0U;
    *reg32(sgi, GICD_ICPENDR) = ~0U;
    *reg32(sgi, GICD_ICACTIVER) = ~0U;
    *reg32(sgi, GICD_IGROUPR) = ~0U;
    for (u32 i = 0; i < 32; i += 4)
        *reg32(sgi, GICD_IPRIORITYR + i) = GIC_PRIO_DEFAULT * 0x01010101U;

    write_sysreg(ICC_SRE_EL2, ICC_SRE_EL2_SRE | ICC_SRE_EL2_Enable | ICC_SRE_EL2_DFB |
                                  ICC_SRE_EL2_DIB);
    isb();
    write_sysreg(ICC_PMR_EL1, 0xff);
    write_sysreg(ICC_BPR1_EL1, 0);
    write_sysreg(ICC_CTLR_EL1, ICC_CTLR_EL1_EOImode);
    write_sysreg(ICC_IGRPEN1_EL1, 1);
    isb();
    gic_set_nr_lrs(ICH_VTR_EL2_ListRegs(read_sysreg(ICH_VTR_EL2)));
    gic_cpuif_sysreg = true;

    gic_enable_percpu(gicv3_enable, c->id);
    return 0;
}

static u32 gicv3_ack(void)
{
    u32 intid = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;

    dsb(sy);
    return intid >= GIC_INTID_SPURIOUS ? IRQCHIP_NONE : intid;
}

static void gicv3_eoi(u32 intid)
{
    write_sysreg(ICC_EOIR1_EL1, intid);
    isb();
}

static void gicv3_deactivate(u32 intid)
{
    write_sysreg(ICC_DIR_EL1, intid);
    isb();
}

static void gicv3_send_ipi(unsigned int cpu)
{
    /* gic_send_kick() sends it inline once @cpu is up (gic_kick_sgir) */
    u64 v = kick_sgir(cpus[cpu].hwid);

    dsb(ishst);
    write_sysreg(ICC_SGI1R_EL1, v);
    isb();
}

static void gicv3_enable(u32 intid, unsigned int cpu)
{
    if (intid < 32) {
        u64 sgi = gicr_this[cpu] + GICR_SGI_BASE;
        *reg32(sgi, GICD_ISENABLER) = BIT(intid);
        return;
    }
    u64 mpidr = cpus[cpu].hwid;
    *(volatile u64 *)(gicd + GICD_IROUTER + 8UL * intid) = mpidr & MPIDR_AFF_MASK;
    *reg32(gicd, GICD_ISENABLER + (intid / 32) * 4) = BIT(intid % 32);
}

/* Ends an SPI's active state from any CPU (a VM went away mid-interrupt). */
static void gicv3_clear_active(u32 intid)
{
    if (intid >= 32)
        *reg32(gicd, GICD_ICACTIVER + (intid / 32) * 4) = BIT(intid % 32);
}

/* The redistributor's copies of ISACTIVER0/ICACTIVER0 (IHI 0069 12.11) are this CPU's. */
static u32 gicv3_private_active(void)
{
    return *reg32(gicr_this[cpu_this()->id] + GICR_SGI_BASE, GICD_ISACTIVER);
}

static void gicv3_private_set_active(u32 mask, bool active)
{
    u64 sgi = gicr_this[cpu_this()->id] + GICR_SGI_BASE;

    *reg32(sgi, active ? GICD_ISACTIVER : GICD_ICACTIVER) = mask;
    dsb(sy);
}

static void gicv3_disable(u32 intid)
{
    if (intid >= 32)
        *reg32(gicd, GICD_ICENABLER + (intid / 32) * 4) = BIT(intid % 32);
}

static void gicv3_describe(void)
{
    console_printf("  GIC:     v3, GICD %#lx, GICR %#lx (%lu KiB)\n", pa_addr(platform.gicd.base),
                   pa_addr(platform.gicr.base), platform.gicr.size >> 10);
}

const struct irqchip_ops gicv3_irqchip = {
    .name = "GICv3",
    .init = gicv3_init,
    .cpu_init = gicv3_cpu_init,
    .ack = gicv3_ack,
    .eoi = gicv3_eoi,
    .deactivate = gicv3_deactivate,
    .send_ipi = gicv3_send_ipi,
    .enable = gicv3_enable,
    .disable = gicv3_disable,
    .clear_active = gicv3_clear_active,
    .private_active = gicv3_private_active,
    .private_set_active = gicv3_private_set_active,
    .dt_xlate = gic_dt_xlate,
    .hwirq_to_line = gic_hwirq_to_line,
    .describe = gicv3_describe,
    .ipi_hwirq = GIC_SGI_KICK,
    .dt_cells = 3,
};
