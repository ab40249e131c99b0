/*
 * The host's RISC-V PLIC (riscv-plic-spec 1.0.0) as Keel's irqchip: each
 * hart claims and completes on its own context, found through the DT's
 * interrupts-extended: the entry naming the hart's intc with IRQ 9 (S-mode
 * external, Keel under OpenSBI) or 11 (M-mode external, Keel as the
 * firmware): ARCH_PLIC_CONTEXT_IRQ. Keel's IPIs are software interrupts
 * (SBI IPIs or the CLINT's msip): the PLIC never sees them.
 */
#include <libfdt.h>
#include <arch/arch_info.h>
#include <keel/cpu.h>
#include <keel/irqchip.h>
#include <keel/log.h>
#include <keel/platform.h>

#define PLIC_PRIORITY(src) (4UL * (src))
#define PLIC_ENABLE(ctx) (0x2000UL + 0x80UL * (ctx))
#define PLIC_THRESHOLD(ctx) (0x200000UL + 0x1000UL * (ctx))
#define PLIC_CLAIM(ctx) (0x200004UL + 0x1000UL * (ctx))
#define PLIC_MAX_SOURCES 1024
#define PLIC_MAX_CTX 64
/* The external interrupt of the mode Keel runs in: 9 (S) under OpenSBI, 11 (M) as firmware. */
#ifndef ARCH_PLIC_CONTEXT_IRQ
#define ARCH_PLIC_CONTEXT_IRQ 9
#endif

void riscv_send_ipi(unsigned int cpu);

const struct irqchip_ops *irqchip;
static volatile u32 *plic;
static u32 ndev;
/* Per context: the hart whose context it is for Keel (~0: another mode's, or unused). */
static u64 ctx_hart[PLIC_MAX_CTX];
static unsigned int nr_ctx;
static u8 route[PLIC_MAX_SOURCES]; /* the Keel CPU each enabled source goes to */

static volatile u32 *reg(u64 off)
{
    return (volatile u32 *)((u64)plic + off);
}

static int ctx_of_hart(u64 hart)
{
    for (unsigned int i = 0; i < nr_ctx; i++)
        if (ctx_hart[i] == hart)
            return (int)i;
    return -1;
}

static int ctx_of_cpu(unsigned int cpu)
{
    return ctx_of_hart(platform.cpu_hwid[cpu]);
}

static void enable_bit(int ctx, u32 src, bool on)
{
    volatile u32 *w = reg(PLIC_ENABLE(ctx) + 4 * (src / 32));

    *w = on ? *w | BIT(src % 32) : *w & ~(u32)BIT(src % 32);
}

static int plic_init(void)
{
    for (u32 src = 1; src <= ndev; src++) {
        *reg(PLIC_PRIORITY(src)) = 0;
        for (unsigned int c = 0; c < nr_ctx; c++)
            if (ctx_hart[c] != ~0UL)
                enable_bit((int)c, src, false);
    }
    return 0;
}

static int plic_cpu_init(void)
{
    int ctx = ctx_of_hart(cpu_this()->hwid);

    if (ctx < 0) {
        ERROR("PLIC: no context of its own for hart %#lx", cpu_this()->hwid);
        return -1;
    }
    *reg(PLIC_THRESHOLD(ctx)) = 0;
    return 0;
}

static u32 plic_ack(void)
{
    int ctx = ctx_of_hart(cpu_this()->hwid);
    u32 src = ctx < 0 ? 0 : *reg(PLIC_CLAIM(ctx));

    return src ? src : IRQCHIP_NONE;
}

/* Completion ends the claim: the PLIC has no separate priority drop. */
static void plic_eoi(u32 hwirq)
{
}

static void plic_complete_on(int ctx, u32 hwirq)
{
    if (ctx >= 0)
        *reg(PLIC_CLAIM(ctx)) = hwirq;
}

static void plic_deactivate(u32 hwirq)
{
    plic_complete_on(ctx_of_hart(cpu_this()->hwid), hwirq);
}

/* A completion for a source the context has enabled counts from any hart (spec, "Interrupt Completion"). */
static void plic_clear_active(u32 hwirq)
{
    if (hwirq && hwirq <= ndev)
        plic_complete_on(ctx_of_cpu(route[hwirq]), hwirq);
}

static void plic_enable(u32 hwirq, unsigned int cpu)
{
    int ctx = ctx_of_cpu(cpu);

    if (!hwirq || hwirq > ndev || ctx < 0)
        return;
    route[hwirq] = (u8)cpu;
    *reg(PLIC_PRIORITY(hwirq)) = 1;
    enable_bit(ctx, hwirq, true);
}

static void plic_disable(u32 hwirq)
{
    if (!hwirq || hwirq > ndev)
        return;
    for (unsigned int c = 0; c < nr_ctx; c++)
        if (ctx_hart[c] != ~0UL)
            enable_bit((int)c, hwirq, false);
}

static bool plic_dt_xlate(const u32 *cells, unsigned int ncells, u32 *hwirq)
{
    if (ncells < 1 || !cells[0] || cells[0] > ndev)
        return false;
    *hwirq = cells[0];
    return true;
}

/* A passed-through source keeps its number in the VM's PLIC. */
static bool plic_hwirq_to_line(u32 hwirq, u32 *line)
{
    *line = hwirq;
    return hwirq && hwirq <= ndev;
}

static void plic_describe(void)
{
    console_printf("  IRQs:    PLIC at %#lx, %u sources, %u contexts\n", pa_addr(platform.plic.base),
                   ndev, nr_ctx);
}

static const struct irqchip_ops plic_irqchip = {
    .name = "PLIC",
    .init = plic_init, .cpu_init = plic_cpu_init,
    .ack = plic_ack, .eoi = plic_eoi, .deactivate = plic_deactivate,
    .send_ipi = riscv_send_ipi,
    .enable = plic_enable, .disable = plic_disable, .clear_active = plic_clear_active,
    .dt_xlate = plic_dt_xlate, .hwirq_to_line = plic_hwirq_to_line,
    .describe = plic_describe,
    .ipi_hwirq = IRQCHIP_NONE, .dt_cells = 1,
};

/* interrupts-extended: <intc-phandle irq> per context, the intc a child of its cpu node. */
static void probe_contexts(const void *fdt, int node)
{
    int len;
    const fdt32_t *ie = fdt_getprop(fdt, node, "interrupts-extended", &len);

    nr_ctx = 0;
    for (int i = 0; ie && i + 1 < len / 4 && nr_ctx < PLIC_MAX_CTX; i += 2) {
        int intc = dt_node_by_phandle(fdt, fdt32_to_cpu(ie[i]));
        int cpu = intc >= 0 ? dt_parent(fdt, intc) : -1;
        u64 hart, size;
        ctx_hart[nr_ctx] = ~0UL;
        if (cpu >= 0 && fdt32_to_cpu(ie[i + 1]) == ARCH_PLIC_CONTEXT_IRQ && dt_read_reg(fdt, cpu, 0, &hart, &size))
            ctx_hart[nr_ctx] = hart;
        nr_ctx++;
    }
}

int irqchip_probe(const void *fdt, struct platform *plat)
{
    static const char *const compat[] = { "riscv,plic0", "sifive,plic-1.0.0" };
    const fdt32_t *nd;
    int node = -1, len;
    u64 base, size;

    irqchip = NULL;
    for (unsigned int i = 0; i < ARRAY_SIZE(compat) && node < 0; i++)
        node = fdt_node_offset_by_compatible(fdt, -1, compat[i]);
    if (node < 0 || !dt_read_reg(fdt, node, 0, &base, &size))
        return -1;
    nd = fdt_getprop(fdt, node, "riscv,ndev", &len);
    ndev = nd && len == 4 ? fdt32_to_cpu(*nd) : 0;
    if (ndev >= PLIC_MAX_SOURCES)
        ndev = PLIC_MAX_SOURCES - 1;
    plat->plic = (struct mem_range){ pa_init(base), size };
    plic = (volatile u32 *)base;
    probe_contexts(fdt, node);
    irqchip = &plic_irqchip;
    return 0;
}
