/*
 * Physical GICv2 with the virtualization extensions (GIC-400; Arm IHI
 * 0048B): Keel owns the distributor and the CPU interface, as with GICv3.
 * Keel's interrupts are in the group its GICC_IAR reads acknowledge (see
 * group_bits). EOImode = 1 splits priority
 * drop from deactivation, so an interrupt forwarded with the HW bit stays
 * active until the guest deactivates it.
 */
#include <drivers/gic.h>
#include <arch/sysreg.h>
#include <drivers/gicv2_regs.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/gic_regs.h>
#include <keel/log.h>
#include <keel/platform.h>

#define GIC_PRIO_DEFAULT 0xa0

static u64 gicd, gicc;
/*
 * IGROUPR for Keel's interrupts. Without Security Extensions (QEMU virt)
 * Group 0: a Group 1 interrupt would read from GICC_IAR as 1022 unless
 * AckCtl, which IHI 0048B deprecates. With them Keel runs Non-secure and
 * sees Group 1 only (the firmware put everything there): all ones.
 */
static u32 group_bits;
static u8 cpu_mask[PLAT_MAX_CPUS]; /* each CPU's interface bit (ITARGETSR, SGIR) */
static u8 sgi_source[PLAT_MAX_CPUS]; /* of the SGI being handled: EOIR and DIR need it */

static inline volatile u32 *reg32(u64 base, u64 off)
{
    return (volatile u32 *)(base + off);
}

static inline volatile u8 *reg8(u64 base, u64 off)
{
    return (volatile u8 *)(base + off);
}

static void gicv2_enable(u32 intid, unsigned int cpu);

static int gicv2_init(void)
{
    u32 lines;

    gicd = pa_addr(platform.gicd.base);
    gicc = pa_addr(platform.gicc.base);
    if (!platform.gich.size || !platform.gicv.size)
        WARN("GICv2 without GICH/GICV in the DT: no virtualization extensions, VMs cannot run");
    *reg32(gicd, GICD_CTLR) = 0;
    group_bits = (*reg32(gicd, GICD_TYPER) & GICD_TYPER_SecurityExtn) ? ~0U : 0;
    lines = ((*reg32(gicd, GICD_TYPER) & 0x1f) + 1) * 32;
    for (u32 i = 32; i < lines && i < 1020; i += 32) {
        *reg32(gicd, GICD_ICENABLER + i / 8) = ~0U;
        *reg32(gicd, GICD_ICPENDR + i / 8) = ~0U;
        *reg32(gicd, GICD_ICACTIVER + i / 8) = ~0U;
        *reg32(gicd, GICD_IGROUPR + i / 8) = group_bits;
    }
    for (u32 i = 32; i < lines && i < 1020; i += 4)
        *reg32(gicd, GICD_IPRIORITYR + i) = GIC_PRIO_DEFAULT * 0x01010101U;
    *reg32(gicd, GICD_CTLR) = GICD_CTLR_EnableGrp0 | GICD_CTLR_EnableGrp1;
    return 0;
}

/*
 * IHI 0048B 4.3.12: ITARGETSR0..7 are banked and read as this CPU's own
 * interface bit, the only way to learn it.
 */
static u8 this_cpu_mask(void)
{
    u32 v = *reg32(gicd, GICD_ITARGETSR);

    return (u8)(v | v >> 8 | v >> 16 | v >> 24);
}

static int gicv2_cpu_init(void)
{
    struct cpu *c = cpu_this();

    cpu_mask[c->id] = this_cpu_mask();
    *reg32(gicd, GICD_ICENABLER) = ~0U;
    *reg32(gicd, GICD_ICPENDR) = ~0U;
    *reg32(gicd, GICD_ICACTIVER) = ~0U;
    *reg32(gicd, GICD_IGROUPR) = group_bits;
    for (u32 i = 0; i < 32; i += 4)
        *reg32(gicd, GICD_IPRIORITYR + i) = GIC_PRIO_DEFAULT * 0x01010101U;
    *reg32(gicc, GICC_PMR) = 0xff;
    *reg32(gicc, GICC_BPR) = 0;
    /* Both layouts (4.4.1): with one security state, or the Non-secure view, where bit 9 is EOImodeNS. */
    *reg32(gicc, GICC_CTLR) = GICC_CTLR_EnableGrp0 | GICC_CTLR_EnableGrp1 | GICC_CTLR_EOImodeS |
                              GICC_CTLR_EOImodeNS;
    if (platform.gich.size) {
        gic_gich = pa_addr(platform.gich.base);
        gic_set_nr_lrs(GICH_VTR_ListRegs(*reg32(gic_gich, GICH_VTR)));
    }
    gic_enable_percpu(gicv2_enable, c->id);
    return 0;
}

static u32 gicv2_ack(void)
{
    u32 iar = *reg32(gicc, GICC_IAR), intid = GICC_IAR_INTID(iar);

    if (intid >= GIC_INTID_SPURIOUS)
        return IRQCHIP_NONE;
    if (intid < 16)
        sgi_source[cpu_this()->id] = (u8)GICC_IAR_CPUID(iar);
    return intid;
}

/* EOIR and DIR take the IAR value back, source CPU included for SGIs (4.4.5). */
static u32 iar_value(u32 intid)
{
    return intid < 16 ? intid | (u32)sgi_source[cpu_this()->id] << 10 : intid;
}

static void gicv2_eoi(u32 intid)
{
    *reg32(gicc, GICC_EOIR) = iar_value(intid);
}

static void gicv2_deactivate(u32 intid)
{
    *reg32(gicc, GICC_DIR) = iar_value(intid);
}

static void gicv2_send_ipi(unsigned int cpu)
{
    dsb(ishst);
    *reg32(gicd, GICD_SGIR) = (u32)cpu_mask[cpu] << 16 | GIC_SGI_KICK;
}

/* Private interrupts are banked: @cpu must be the calling CPU for those. */
static void gicv2_enable(u32 intid, unsigned int cpu)
{
    if (intid >= 32)
        *reg8(gicd, GICD_ITARGETSR + intid) = cpu_mask[cpu];
    *reg32(gicd, GICD_ISENABLER + (intid / 32) * 4) = BIT(intid % 32);
}

static void gicv2_disable(u32 intid)
{
    if (intid >= 32)
        *reg32(gicd, GICD_ICENABLER + (intid / 32) * 4) = BIT(intid % 32);
}

static void gicv2_clear_active(u32 intid)
{
    if (intid >= 32)
        *reg32(gicd, GICD_ICACTIVER + (intid / 32) * 4) = BIT(intid % 32);
}

/* ISACTIVER0/ICACTIVER0 are banked per CPU (IHI 0048B 4.3.2): the caller's own. */
static u32 gicv2_private_active(void)
{
    return *reg32(gicd, GICD_ISACTIVER);
}

static void gicv2_private_set_active(u32 mask, bool active)
{
    *reg32(gicd, active ? GICD_ISACTIVER : GICD_ICACTIVER) = mask;
    dsb(sy);
}

static void gicv2_describe(void)
{
    console_printf("  GIC:     v2, GICD %#lx, GICC %#lx, GICH %#lx, GICV %#lx\n",
                   pa_addr(platform.gicd.base), pa_addr(platform.gicc.base),
                   pa_addr(platform.gich.base), pa_addr(platform.gicv.base));
}

const struct irqchip_ops gicv2_irqchip = {
    .name = "GICv2",
    .init = gicv2_init,
    .cpu_init = gicv2_cpu_init,
    .ack = gicv2_ack,
    .eoi = gicv2_eoi,
    .deactivate = gicv2_deactivate,
    .send_ipi = gicv2_send_ipi,
    .enable = gicv2_enable,
    .disable = gicv2_disable,
    .clear_active = gicv2_clear_active,
    .private_active = gicv2_private_active,
    .private_set_active = gicv2_private_set_active,
    .dt_xlate = gic_dt_xlate,
    .hwirq_to_line = gic_hwirq_to_line,
    .describe = gicv2_describe,
    .ipi_hwirq = GIC_SGI_KICK,
    .dt_cells = 3,
};
