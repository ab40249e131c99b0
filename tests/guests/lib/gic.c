/*
 * GICv3 helpers (Arm IHI 0069): distributor and redistributor registers by
 * MMIO, the CPU interface through the ICC_* system registers. All interrupts
 * are Group 1 (a GIC with one security state, as Keel emulates).
 */
#include "libguest.h"

#define ICC_SGI1R_EL1 S3_0_C12_C11_5
#define ICC_SRE_EL1 S3_0_C12_C12_5
#define ICC_BPR1_EL1 S3_0_C12_C12_3
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define DEFAULT_PRIO 0xa0

static u64 gicr_cache[MAX_CPUS];

u64 gicr_base(unsigned int cpu)
{
    u64 aff, m;

    if (cpu >= machine.nr_cpus)
        return 0;
    if (gicr_cache[cpu])
        return gicr_cache[cpu];
    m = machine.mpidr[cpu];
    aff = (m & 0xffffff) | ((m >> 32) & 0xff) << 24;
    for (u64 off = 0; off + GICR_STRIDE <= machine.gicr_size; off += GICR_STRIDE) {
        u64 typer = readq(machine.gicr_base + off + GICR_TYPER);

        if ((typer >> 32) == aff)
            return gicr_cache[cpu] = machine.gicr_base + off;
        if (typer & GICR_TYPER_LAST)
            break;
    }
    return 0;
}

static void gicd_wait_rwp(void)
{
    wait_until(!(readl(machine.gicd_base + GICD_CTLR) & GICD_CTLR_RWP), 100000);
}

unsigned int gic_nr_irqs(void);

unsigned int gic_nr_irqs(void)
{
    unsigned int n = 32 * ((readl(machine.gicd_base + GICD_TYPER) & 0x1f) + 1);

    return n > 1020 ? 1020 : n;
}

void gic_dist_init(void)
{
    u64 d = machine.gicd_base;
    unsigned int n = gic_nr_irqs();

    writel(d + GICD_CTLR, 0);
    gicd_wait_rwp();
    for (unsigned int i = 32; i < n; i += 32) {
        writel(d + GICD_IGROUPR + i / 8, ~0U);
        writel(d + GICD_ICENABLER + i / 8, ~0U);
        writel(d + GICD_ICPENDR + i / 8, ~0U);
        writel(d + GICD_ICACTIVER + i / 8, ~0U);
    }
    for (unsigned int i = 32; i < n; i += 4)
        writel(d + GICD_IPRIORITYR + i, DEFAULT_PRIO * 0x01010101U);
    for (unsigned int i = 32; i < n; i++)
        writeq(d + GICD_IROUTER + 8 * i, mpidr_aff(machine.mpidr[0]));
    writel(d + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1);
    gicd_wait_rwp();
}

void gic_cpu_init(void)
{
    u64 rd = gicr_base(smp_id()), sgi;

    if (!rd)
        guest_abort("cpu %u: no redistributor for MPIDR %#lx", smp_id(), machine.mpidr[smp_id()]);
    sgi = rd + GICR_SGI;
    writel(rd + GICR_WAKER, readl(rd + GICR_WAKER) & ~GICR_WAKER_PROCESSOR_SLEEP);
    wait_until(!(readl(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP), 100000);
    writel(sgi + GICD_IGROUPR, ~0U);
    writel(sgi + GICD_ICENABLER, ~0U);
    writel(sgi + GICD_ICPENDR, ~0U);
    writel(sgi + GICD_ICACTIVER, ~0U);
    for (unsigned int i = 0; i < 32; i += 4)
        writel(sgi + GICD_IPRIORITYR + i, DEFAULT_PRIO * 0x01010101U);
    writel(sgi + GICD_ISENABLER, BIT(GIC_WAKE_SGI));

    write_sysreg(ICC_SRE_EL1, read_sysreg(ICC_SRE_EL1) | 1);
    isb();
    gic_set_pmr(0xff);
    write_sysreg(ICC_BPR1_EL1, 0);
    gic_set_icc_ctlr(gic_icc_ctlr() & ~ICC_CTLR_EOIMODE);
    write_sysreg(ICC_IGRPEN1_EL1, 1);
    isb();
}

/* Frame holding @intid's registers: the CPU's SGI_base, or the distributor. */
static u64 irq_frame(unsigned int cpu, u32 intid)
{
    return intid < 32 ? gicr_base(cpu) + GICR_SGI : machine.gicd_base;
}

static void bit_write(unsigned int cpu, u32 intid, u32 reg)
{
    writel(irq_frame(cpu, intid) + reg + (intid / 32) * 4, 1U << (intid % 32));
    dsb(sy);
}

static bool bit_read(unsigned int cpu, u32 intid, u32 reg)
{
    return readl(irq_frame(cpu, intid) + reg + (intid / 32) * 4) & (1U << (intid % 32));
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
    writeb(irq_frame(cpu, intid) + GICD_IPRIORITYR + intid, prio);
    dsb(sy);
}

u8 gic_irq_priority_on(unsigned int cpu, u32 intid)
{
    return readb(irq_frame(cpu, intid) + GICD_IPRIORITYR + intid);
}

void gic_spi_set_edge(u32 intid, bool edge)
{
    u64 reg = machine.gicd_base + GICD_ICFGR + (intid / 16) * 4;
    u32 bit = 2U << (2 * (intid % 16));
    u32 v = readl(reg);

    writel(reg, edge ? v | bit : v & ~bit);
    dsb(sy);
}

void gic_spi_route(u32 intid, unsigned int cpu)
{
    writeq(machine.gicd_base + GICD_IROUTER + 8 * intid, mpidr_aff(machine.mpidr[cpu]));
    dsb(sy);
}

/* ---- SGIs ---- */
static u64 sgi1r_cluster(u64 mpidr)
{
    return ((mpidr >> 8) & 0xff) << 16 | ((mpidr >> 16) & 0xff) << 32 |
           ((mpidr >> 32) & 0xff) << 48 | (((mpidr & 0xff) / 16) << 44);
}

static void sgi1r_write(u64 v)
{
    dsb(ishst); /* memory writes before the SGI reach its receiver first */
    write_sysreg(ICC_SGI1R_EL1, v);
    isb();
}

void gic_send_sgi_mask(u64 cpumask, u32 intid)
{
    u64 done = 0;

    for (unsigned int i = 0; i < machine.nr_cpus; i++) {
        u64 cluster, targets = 0;

        if (!(cpumask & BIT(i)) || (done & BIT(i)))
            continue;
        cluster = sgi1r_cluster(machine.mpidr[i]);
        for (unsigned int j = i; j < machine.nr_cpus; j++) {
            if ((cpumask & BIT(j)) && sgi1r_cluster(machine.mpidr[j]) == cluster) {
                targets |= BIT(machine.mpidr[j] & 0xf);
                done |= BIT(j);
            }
        }
        sgi1r_write(cluster | targets | (u64)(intid & 0xf) << 24);
    }
}

void gic_send_sgi(unsigned int cpu, u32 intid)
{
    gic_send_sgi_mask(BIT(cpu), intid);
}

void gic_send_sgi_others(u32 intid)
{
    sgi1r_write(BIT(40) | (u64)(intid & 0xf) << 24);
}

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
