/*
 * The vGIC's part of a guest device tree: its node and its interrupt
 * specifiers (Linux bindings interrupt-controller/arm,gic-v3.yaml and
 * arm,gic.yaml, both <type number flags>: type 0 SPI, 1 PPI). Pure logic,
 * built into the host unit tests of guest_dt.c.
 */
#include <libfdt.h>
#include <keel/irqchip.h>
#include <keel/printf.h>
#include <keel/vgic.h>

#define GIC_DT_SPI 0
#define GIC_DT_PPI 1
#define GIC_PPI_INTID_BASE 16
#define GIC_SPI_INTID_BASE 32
#define GIC_SPI_INTID_MAX 1019

static unsigned int spec(u32 *cells, u32 type, u32 number, unsigned int flags)
{
    cells[0] = type;
    cells[1] = number;
    cells[2] = flags;
    return 3;
}

unsigned int vgic_dt_spec(u32 *cells, u32 line, unsigned int flags)
{
    if (line > GIC_SPI_INTID_MAX - GIC_SPI_INTID_BASE)
        return 0;
    return spec(cells, GIC_DT_SPI, line, flags);
}

unsigned int vgicv3_dt_spec_private(u32 *cells, unsigned int ncpus, u32 intid, unsigned int flags)
{
    if (intid < GIC_PPI_INTID_BASE || intid >= GIC_SPI_INTID_BASE)
        return 0;
    return spec(cells, GIC_DT_PPI, intid - GIC_PPI_INTID_BASE, flags);
}

/* GICv2 PPIs name the CPUs that have them in flags[15:8] (arm,gic.yaml). */
unsigned int vgicv2_dt_spec_private(u32 *cells, unsigned int ncpus, u32 intid, unsigned int flags)
{
    if (ncpus > 8)
        return 0;
    return vgicv3_dt_spec_private(cells, ncpus, intid, flags | ((BIT(ncpus) - 1) << 8));
}

static int begin_intc(void *fdt, u64 base)
{
    char name[32];

    snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)base);
    return fdt_begin_node(fdt, name) ?:
           fdt_property_u32(fdt, "#interrupt-cells", 3) ?:
           fdt_property(fdt, "interrupt-controller", NULL, 0);
}

/*
 * One redistributor region sized for the VM's vCPUs: Linux walks the region
 * until GICR_TYPER.Last, and must not touch frames nobody emulates.
 * No maintenance interrupt: guests get no virtualization of their own. The
 * empty ranges and cell sizes are where ITS children would go.
 */
int vgicv3_dt_node(void *fdt, unsigned int ncpus, u32 phandle)
{
    fdt64_t reg[4] = { cpu_to_fdt64(VGICV3_GICD_BASE), cpu_to_fdt64(VGICV3_GICD_SIZE),
                       cpu_to_fdt64(VGICV3_GICR_BASE),
                       cpu_to_fdt64(VGICV3_GICR_STRIDE * (u64)ncpus) };

    return begin_intc(fdt, VGICV3_GICD_BASE) ?:
           fdt_property_string(fdt, "compatible", "arm,gic-v3") ?:
           fdt_property_u32(fdt, "#address-cells", 2) ?:
           fdt_property_u32(fdt, "#size-cells", 2) ?:
           fdt_property(fdt, "ranges", NULL, 0) ?:
           fdt_property_u32(fdt, "#redistributor-regions", 1) ?:
           fdt_property(fdt, "reg", reg, sizeof(reg)) ?:
           fdt_property_u32(fdt, "phandle", phandle) ?:
           fdt_end_node(fdt);
}

/*
 * GICD and the CPU interface where QEMU's virt board has them with
 * gic-version=2; no GICH/GICV (guests get no virtualization of their own).
 * "arm,cortex-a15-gic" is what older kernels match.
 */
int vgicv2_dt_node(void *fdt, unsigned int ncpus, u32 phandle)
{
    static const char compat[] = "arm,gic-400\0arm,cortex-a15-gic";
    fdt64_t reg[4] = { cpu_to_fdt64(VGICV2_GICD_BASE), cpu_to_fdt64(VGICV2_GICD_SIZE),
                       cpu_to_fdt64(VGICV2_GICC_BASE), cpu_to_fdt64(VGICV2_GICC_SIZE) };

    if (ncpus > 8)
        return -FDT_ERR_BADVALUE;
    return begin_intc(fdt, VGICV2_GICD_BASE) ?:
           fdt_property(fdt, "compatible", compat, sizeof(compat)) ?:
           fdt_property(fdt, "reg", reg, sizeof(reg)) ?:
           fdt_property_u32(fdt, "phandle", phandle) ?:
           fdt_end_node(fdt);
}
