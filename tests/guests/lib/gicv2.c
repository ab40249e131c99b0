/*
 * GICv2 helpers (Arm IHI 0048B): the distributor, which banks each CPU's
 * SGIs and PPIs at its own addresses (4.3), and the CPU interface by MMIO
 * (4.4). Every interrupt is Group 0, as Linux keeps them on a GIC without
 * Security Extensions: GICC_IAR acknowledges Group 0 with no AckCtl, and it
 * is signalled as IRQ while GICC_CTLR.FIQEn is 0 (4.4.1).
 */
#include "gic.h"

#define SGIR_TARGETS_SHIFT 16

/* Each CPU's interface bit, and the source of each SGI it acknowledged last. */
static u8 cpu_target[MAX_CPUS];
static u8 sgi_source[MAX_CPUS][16];

/* ITARGETSR0-7 read as the reading CPU's own interface bit (4.3.12). */
static void learn_target(void)
{
    cpu_target[smp_id()] = readb(machine.gicd_base + GICD_ITARGETSR);
}

/*
 * A CPU that has not come up yet has not read its bit: Keel, like QEMU and
 * the GIC-400 wiring of most boards, numbers interfaces in DT order.
 */
static u8 target_bit(unsigned int cpu)
{
    return cpu < MAX_CPUS && cpu_target[cpu] ? cpu_target[cpu] : (u8)BIT(cpu);
}

u8 gic_cpu_target(unsigned int cpu)
{
    return gic_v2() ? target_bit(cpu) : 0;
}

unsigned int gic_sgi_source(u32 intid)
{
    return intid < 16 ? sgi_source[smp_id()][intid] : 0;
}

static void v2_dist_init(void)
{
    u64 d = machine.gicd_base;
    unsigned int n = gic_nr_irqs();
    u32 to_cpu0;

    writel(d + GICD_CTLR, 0);
    learn_target();
    to_cpu0 = cpu_target[0] * 0x01010101U;
    for (unsigned int i = 32; i < n; i += 32) {
        writel(d + GICD_IGROUPR + i / 8, 0);
        writel(d + GICD_ICENABLER + i / 8, ~0U);
        writel(d + GICD_ICPENDR + i / 8, ~0U);
        writel(d + GICD_ICACTIVER + i / 8, ~0U);
    }
    for (unsigned int i = 32; i < n; i += 4) {
        writel(d + GICD_IPRIORITYR + i, DEFAULT_PRIO * 0x01010101U);
        writel(d + GICD_ITARGETSR + i, to_cpu0);
    }
    writel(d + GICD_CTLR, GICD_CTLR_ENABLE_G0);
}

static void v2_cpu_init(void)
{
    u64 d = machine.gicd_base, c = machine.gicc_base;

    learn_target();
    writel(d + GICD_IGROUPR, 0);
    writel(d + GICD_ICENABLER, ~0U);
    writel(d + GICD_ICPENDR, ~0U);
    for (unsigned int i = 0; i < 16; i += 4)
        writel(d + GICD_CPENDSGIR + i, ~0U);
    writel(d + GICD_ICACTIVER, ~0U);
    for (unsigned int i = 0; i < 32; i += 4)
        writel(d + GICD_IPRIORITYR + i, DEFAULT_PRIO * 0x01010101U);
    writel(d + GICD_ISENABLER, BIT(GIC_WAKE_SGI));
    writel(c + GICC_PMR, 0xff);
    writel(c + GICC_BPR, 0);
    writel(c + GICC_CTLR, GICC_CTLR_ENABLE_G0);
    dsb(sy);
}

static u64 v2_private_frame(unsigned int cpu)
{
    return machine.gicd_base;
}

static void v2_spi_route(u32 intid, unsigned int cpu)
{
    writeb(machine.gicd_base + GICD_ITARGETSR + intid, target_bit(cpu));
    dsb(sy);
}

/* ---- SGIs: GICD_SGIR (4.3.15) ---- */
static void sgir_write(u32 v)
{
    dsb(ishst); /* memory writes before the SGI reach its receiver first */
    writel(machine.gicd_base + GICD_SGIR, v);
    dsb(sy);
}

static void v2_send_sgi_mask(u64 cpumask, u32 intid)
{
    u32 list = 0;

    for (unsigned int i = 0; i < machine.nr_cpus; i++)
        if (cpumask & BIT(i))
            list |= target_bit(i);
    if (list)
        sgir_write(GICD_SGIR_FILTER_LIST | list << SGIR_TARGETS_SHIFT | (intid & 0xf));
}

static void v2_send_sgi_others(u32 intid)
{
    sgir_write(GICD_SGIR_FILTER_OTHERS | (intid & 0xf));
}

/* One byte per SGI, one bit per source CPU (4.3.16, 4.3.17): this CPU's banked copy. */
void gicv2_sgi_pending(u32 intid, bool set, unsigned int source)
{
    u64 reg = machine.gicd_base + (set ? GICD_SPENDSGIR : GICD_CPENDSGIR) + intid;

    writeb(reg, set ? target_bit(source) : 0xff);
    dsb(sy);
}

/* ---- the CPU interface: GICC_* (4.4) ---- */
static u32 v2_ack(void)
{
    u32 iar = readl(machine.gicc_base + GICC_IAR), intid = GICC_IAR_INTID(iar);

    if (intid < 16)
        sgi_source[smp_id()][intid] = (u8)GICC_IAR_CPUID(iar);
    return intid;
}

/* EOIR and DIR want the IAR value back, an SGI's CPUID included (4.4.5, 4.4.15). */
static u32 iar_value(u32 intid)
{
    return intid < 16 ? intid | (u32)sgi_source[smp_id()][intid] << 10 : intid;
}

static void gicc_write(u32 off, u32 v)
{
    writel(machine.gicc_base + off, v);
    dsb(sy); /* landed before a trapped GICD access makes Keel read the list registers */
}

static void v2_eoi(u32 intid) { gicc_write(GICC_EOIR, iar_value(intid)); }
static void v2_dir(u32 intid) { gicc_write(GICC_DIR, iar_value(intid)); }
static void v2_set_pmr(u8 p) { gicc_write(GICC_PMR, p); }
static u8 v2_pmr(void) { return (u8)readl(machine.gicc_base + GICC_PMR); }
static u8 v2_rpr(void) { return (u8)readl(machine.gicc_base + GICC_RPR); }
static u32 v2_hppir(void) { return GICC_IAR_INTID(readl(machine.gicc_base + GICC_HPPIR)); }
static bool v2_eoimode(void) { return readl(machine.gicc_base + GICC_CTLR) & GICC_CTLR_EOIMODE; }

static void v2_set_eoimode(bool split)
{
    u32 v = readl(machine.gicc_base + GICC_CTLR);

    gicc_write(GICC_CTLR, split ? v | GICC_CTLR_EOIMODE : v & ~GICC_CTLR_EOIMODE);
}

const struct gic_ops gicv2_ops = {
    .dist_init = v2_dist_init,
    .cpu_init = v2_cpu_init,
    .private_frame = v2_private_frame,
    .spi_route = v2_spi_route,
    .send_sgi_mask = v2_send_sgi_mask,
    .send_sgi_others = v2_send_sgi_others,
    .ack = v2_ack,
    .eoi = v2_eoi,
    .dir = v2_dir,
    .set_pmr = v2_set_pmr,
    .pmr = v2_pmr,
    .rpr = v2_rpr,
    .hppir = v2_hppir,
    .set_eoimode = v2_set_eoimode,
    .eoimode = v2_eoimode,
};
