/*
 * Finding the host's GIC in its device tree and choosing the driver. The
 * register frames go into struct platform so the rest of Keel can keep them
 * out of every VM (passthrough checks) and print them.
 */
#include <libfdt.h>
#include <drivers/gic.h>
#include <keel/log.h>
#include <keel/platform.h>

const struct irqchip_ops *irqchip;
static unsigned int nr_lrs; /* the same on every CPU */
u32 gic_lr_mask;
u64 gic_gich;
bool gic_cpuif_sysreg;
u64 gic_kick_sgir[PLAT_MAX_CPUS];

void gic_set_nr_lrs(unsigned int n)
{
    nr_lrs = n;
    gic_lr_mask = (u32)((1UL << n) - 1);
}

unsigned int gic_nr_lrs(void)
{
    return nr_lrs;
}

bool gic_dt_xlate(const u32 *cells, unsigned int ncells, u32 *intid)
{
    u32 base = cells[0] == 1 ? 16 : GIC_NR_PRIVATE;

    /* compared before adding: SPI 0xffffffe0 and up would wrap to an SGI or PPI */
    if (ncells < 2 || cells[0] > 1 || cells[1] > GIC_MAX_SPI_INTID - base ||
        (cells[0] == 1 && cells[1] > 15))
        return false;
    *intid = cells[1] + base;
    return true;
}

bool gic_hwirq_to_line(u32 intid, u32 *line)
{
    if (intid < GIC_NR_PRIVATE || intid > GIC_MAX_SPI_INTID)
        return false;
    *line = intid - GIC_NR_PRIVATE;
    return true;
}

/* reg holds bus addresses: the Raspberry Pi 4's GIC-400 is at 0x40041000 on /soc, 0xff841000 for the CPU. */
static bool read_range(const void *fdt, int node, int idx, struct mem_range *r)
{
    u64 base, size;

    if (!dt_read_reg(fdt, node, idx, &base, &size) || !dt_translate(fdt, node, &base))
        return false;
    r->base = pa_init(base);
    r->size = size;
    return true;
}

/* GICv2 binding: reg = GICD, GICC, GICH, GICV (the last two with virtualization). */
static int probe_v2(const void *fdt, struct platform *plat)
{
    static const char *const compat[] = { "arm,gic-400", "arm,cortex-a15-gic",
                                          "arm,cortex-a9-gic" };
    int node = -1;

    for (unsigned int i = 0; i < ARRAY_SIZE(compat) && node < 0; i++)
        node = fdt_node_offset_by_compatible(fdt, -1, compat[i]);
    if (node < 0)
        return -1;
    plat->gic_version = 2;
    read_range(fdt, node, 0, &plat->gicd);
    read_range(fdt, node, 1, &plat->gicc);
    read_range(fdt, node, 2, &plat->gich);
    read_range(fdt, node, 3, &plat->gicv);
    irqchip = &gicv2_irqchip;
    dt_read_irq(fdt, node, 0, &plat->gic_maint_irq); /* in the binding irqchip now names */
    return 0;
}

int irqchip_probe(const void *fdt, struct platform *plat)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");

    irqchip = NULL;
    if (node < 0)
        return probe_v2(fdt, plat);
    plat->gic_version = 3;
    read_range(fdt, node, 0, &plat->gicd);
    read_range(fdt, node, 1, &plat->gicr);
    irqchip = &gicv3_irqchip;
    dt_read_irq(fdt, node, 0, &plat->gic_maint_irq); /* in the binding irqchip now names */
    return 0;
}
