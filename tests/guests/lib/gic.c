/*
 * The GIC API of libguest.h over either version (gicv3.c, gicv2.c): the
 * per-interrupt registers both distributors share, and the dispatch to the
 * version the DT named.
 */
#include "gic.h"

static const struct gic_ops *ops;

bool gic_select(void)
{
    if (machine.gic_version == 3 && machine.gicd_base && machine.gicr_base)
        ops = &gicv3_ops;
    else if (machine.gic_version == 2 && machine.gicd_base && machine.gicc_base)
        ops = &gicv2_ops;
    return ops != NULL;
}

unsigned int gic_nr_irqs(void)
{
    unsigned int n = 32 * ((readl(machine.gicd_base + GICD_TYPER) & 0x1f) + 1);

    return n > 1020 ? 1020 : n;
}

void gic_dist_init(void) { ops->dist_init(); }
void gic_cpu_init(void) { ops->cpu_init(); }

/* ---- per-interrupt registers ---- */
enum gic_op { OP_BIT_WRITE, OP_BIT_READ, OP_PRIO_WRITE, OP_PRIO_READ };

struct gic_access {
    enum gic_op op;
    unsigned int cpu, caller;
    u32 intid, reg;
    u8 prio;
    u32 result;
};

/* Register @reg's word or byte holding @intid: @cpu's banked copy for a private one. */
static u64 irq_reg(unsigned int cpu, u32 intid, u32 reg, bool bytes)
{
    u64 frame = intid < 32 ? ops->private_frame(cpu) : machine.gicd_base;

    return frame + reg + (bytes ? intid : (intid / 32) * 4);
}

/* ISPENDR0/ICPENDR0 ignore SGI bits on GICv2 (IHI 0048B 4.3.7, 4.3.8). */
static bool v2_sgi_pend(const struct gic_access *a)
{
    return gic_v2() && a->intid < 16 && (a->reg == GICD_ISPENDR || a->reg == GICD_ICPENDR);
}

static void access_here(void *arg)
{
    struct gic_access *a = arg;
    u32 bit = 1U << (a->intid % 32);

    switch (a->op) {
    case OP_BIT_WRITE:
        if (v2_sgi_pend(a))
            gicv2_sgi_pending(a->intid, a->reg == GICD_ISPENDR, a->caller);
        else
            writel(irq_reg(a->cpu, a->intid, a->reg, false), bit);
        break;
    case OP_BIT_READ: a->result = !!(readl(irq_reg(a->cpu, a->intid, a->reg, false)) & bit); break;
    case OP_PRIO_WRITE: writeb(irq_reg(a->cpu, a->intid, a->reg, true), a->prio); break;
    case OP_PRIO_READ: a->result = readb(irq_reg(a->cpu, a->intid, a->reg, true)); break;
    }
    dsb(sy);
}

/* A GICv2 banks another CPU's private interrupts where only that CPU sees them: go there. */
static u32 gic_access(struct gic_access *a)
{
    a->caller = smp_id();
    if (a->intid >= 32 || !gic_v2() || a->cpu == smp_id()) {
        access_here(a);
        return a->result;
    }
    if (!cpu_online(a->cpu))
        guest_abort("GICv2: cpu %u is offline: its banked INTID %u is out of reach", a->cpu, a->intid);
    on_cpu(a->cpu, access_here, a);
    return a->result;
}

static void bit_write(unsigned int cpu, u32 intid, u32 reg)
{
    gic_access(&(struct gic_access){ .op = OP_BIT_WRITE, .cpu = cpu, .intid = intid, .reg = reg });
}

static bool bit_read(unsigned int cpu, u32 intid, u32 reg)
{
    return gic_access(&(struct gic_access){ .op = OP_BIT_READ, .cpu = cpu, .intid = intid, .reg = reg });
}

void gic_irq_enable_on(unsigned int cpu, u32 intid) { bit_write(cpu, intid, GICD_ISENABLER); }
void gic_irq_disable_on(unsigned int cpu, u32 intid) { bit_write(cpu, intid, GICD_ICENABLER); }
void gic_irq_set_pending_on(unsigned int cpu, u32 intid) { bit_write(cpu, intid, GICD_ISPENDR); }
void gic_irq_clear_pending_on(unsigned int cpu, u32 intid) { bit_write(cpu, intid, GICD_ICPENDR); }
void gic_irq_set_active_on(unsigned int cpu, u32 intid) { bit_write(cpu, intid, GICD_ISACTIVER); }
void gic_irq_clear_active_on(unsigned int cpu, u32 intid) { bit_write(cpu, intid, GICD_ICACTIVER); }
bool gic_irq_pending_on(unsigned int cpu, u32 intid) { return bit_read(cpu, intid, GICD_ISPENDR); }
bool gic_irq_active_on(unsigned int cpu, u32 intid) { return bit_read(cpu, intid, GICD_ISACTIVER); }
bool gic_irq_enabled_on(unsigned int cpu, u32 intid) { return bit_read(cpu, intid, GICD_ISENABLER); }

void gic_irq_set_priority_on(unsigned int cpu, u32 intid, u8 prio)
{
    gic_access(&(struct gic_access){ .op = OP_PRIO_WRITE, .cpu = cpu, .intid = intid,
                                     .reg = GICD_IPRIORITYR, .prio = prio });
}

u8 gic_irq_priority_on(unsigned int cpu, u32 intid)
{
    return (u8)gic_access(&(struct gic_access){ .op = OP_PRIO_READ, .cpu = cpu, .intid = intid,
                                                .reg = GICD_IPRIORITYR });
}

void gic_spi_set_edge(u32 intid, bool edge)
{
    u64 reg = machine.gicd_base + GICD_ICFGR + (intid / 16) * 4;
    u32 bit = 2U << (2 * (intid % 16));
    u32 v = readl(reg);

    writel(reg, edge ? v | bit : v & ~bit);
    dsb(sy);
}

void gic_spi_route(u32 intid, unsigned int cpu) { ops->spi_route(intid, cpu); }

/* ---- SGIs ---- */
void gic_send_sgi_mask(u64 cpumask, u32 intid) { ops->send_sgi_mask(cpumask, intid); }
void gic_send_sgi(unsigned int cpu, u32 intid) { ops->send_sgi_mask(BIT(cpu), intid); }
void gic_send_sgi_others(u32 intid) { ops->send_sgi_others(intid); }

/* ---- the CPU interface ---- */
u32 gic_ack(void) { return ops->ack(); }
void gic_eoi(u32 intid) { ops->eoi(intid); }
void gic_dir(u32 intid) { ops->dir(intid); }
void gic_set_pmr(u8 p) { ops->set_pmr(p); }
u8 gic_pmr(void) { return ops->pmr(); }
u8 gic_rpr(void) { return ops->rpr(); }
u32 gic_hppir(void) { return ops->hppir(); }
void gic_set_eoimode(bool split) { ops->set_eoimode(split); }
bool gic_eoimode(void) { return ops->eoimode(); }

u32 gic_wait_ack(u64 timeout_us)
{
    u64 end = cntvct() + us_to_ticks(timeout_us);

    do {
        u32 iar = gic_ack();
        if (iar != GIC_SPURIOUS)
            return iar;
    } while (cntvct() < end);
    return GIC_SPURIOUS;
}
