/*
 * The GIC drivers' ops tables for host tests that parse device trees
 * (src/drivers/gic.c chooses one): only the DT side is real; nothing here
 * touches hardware, and a test that reached a hardware op would crash on
 * its NULL pointer rather than pass silently.
 */
#include <drivers/gic.h>

const struct irqchip_ops gicv3_irqchip = {
    .name = "GICv3", .dt_xlate = gic_dt_xlate, .hwirq_to_line = gic_hwirq_to_line,
    .ipi_hwirq = GIC_SGI_KICK, .dt_cells = 3,
};

const struct irqchip_ops gicv2_irqchip = {
    .name = "GICv2", .dt_xlate = gic_dt_xlate, .hwirq_to_line = gic_hwirq_to_line,
    .ipi_hwirq = GIC_SGI_KICK, .dt_cells = 3,
};
