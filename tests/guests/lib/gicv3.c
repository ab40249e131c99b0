/*
 * GICv3 helpers (Arm IHI 0069): distributor and redistributor registers by
 * MMIO, the CPU interface through the ICC_* system registers. All interrupts
 * are Group 1 (a GIC with one security state, as Keel emulates).
 */
#include "gic.h"

#define ICC_SGI1R_EL1 S3_0_C12_C11_5
#define ICC_SRE_EL1 S3_0_C12_C12_5
#define ICC_BPR1_EL1 S3_0_C12_C12_3
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7

static u64 gicr_cache[MAX_CPUS];

u64 gicr_base(unsigned int cpu)
{
    u64 aff, m;

    if (cpu >= machine.nr_cpus || !machine.gicr_base)
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

static void v3_dist_init(void)
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

static void v3_cpu_init(void)
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

static u64 v3_private_frame(unsigned int cpu)
{
    return gicr_base(cpu) + GICR_SGI;
}

static void v3_spi_route(u32 intid, unsigned int cpu)
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

static void v3_send_sgi_mask(u64 cpumask, u32 intid)
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

static void v3_send_sgi_others(u32 intid)
{
    sgi1r_write(BIT(40) | (u64)(intid & 0xf) << 24);
}

/* ---- the CPU interface: ICC_*_EL1, Group 1 ---- */
static u32 v3_ack(void)
{
    u32 v = (u32)read_sysreg(S3_0_C12_C12_0); /* IAR1 */

    dsb(sy);
    return v & 0xffffff;
}

static void v3_eoi(u32 intid) { write_sysreg(S3_0_C12_C12_1, intid); isb(); }  /* EOIR1 */
static void v3_dir(u32 intid) { write_sysreg(S3_0_C12_C11_1, intid); isb(); }  /* DIR */
static void v3_set_pmr(u8 p) { write_sysreg(S3_0_C4_C6_0, p); isb(); }
static u8 v3_pmr(void) { return (u8)read_sysreg(S3_0_C4_C6_0); }
static u8 v3_rpr(void) { return (u8)read_sysreg(S3_0_C12_C11_3); }
static u32 v3_hppir(void) { return (u32)read_sysreg(S3_0_C12_C12_2) & 0xffffff; } /* HPPIR1 */
static bool v3_eoimode(void) { return gic_icc_ctlr() & ICC_CTLR_EOIMODE; }

static void v3_set_eoimode(bool split)
{
    u64 v = gic_icc_ctlr();

    gic_set_icc_ctlr(split ? v | ICC_CTLR_EOIMODE : v & ~ICC_CTLR_EOIMODE);
}

const struct gic_ops gicv3_ops = {
    .dist_init = v3_dist_init,
    .cpu_init = v3_cpu_init,
    .private_frame = v3_private_frame,
    .spi_route = v3_spi_route,
    .send_sgi_mask = v3_send_sgi_mask,
    .send_sgi_others = v3_send_sgi_others,
    .ack = v3_ack,
    .eoi = v3_eoi,
    .dir = v3_dir,
    .set_pmr = v3_set_pmr,
    .pmr = v3_pmr,
    .rpr = v3_rpr,
    .hppir = v3_hppir,
    .set_eoimode = v3_set_eoimode,
    .eoimode = v3_eoimode,
};
