/*
 * gic: the virtual GIC from inside the guest, GICv3 (Arm IHI 0069) or GICv2
 * (Arm IHI 0048B), whichever the DT names.
 * Both:
 *  - SGIs and PPIs on this CPU: several at once in priority order, software
 *    pending, pending while disabled
 *  - priorities: implemented bits, PMR masking, preemption, running priority,
 *    the binary point, HPPIR, EOImode 1 (priority drop apart from deactivation)
 *  - active state: ISACTIVER while handled, set by software, blocks delivery
 *  - more active interrupts than the hypervisor has list registers: EOImode 1
 *    (acknowledged, priority-dropped, deactivated one by one) and EOImode 0
 *    (five nested, EOIs in reverse order)
 *  - SPIs: level vs edge with the vPL011's TX interrupt (loopback mode, so
 *    nothing reaches the console)
 * GICv3:
 *  - distributor and redistributor ID/config registers: TYPER sized for this
 *    VM, IIDR, PIDR2, read-only registers ignore writes, ARE/DS RAO/WI
 *  - SGIs to one CPU, to a target list of all, to all others (IRM = 1)
 *  - SPI routing (IROUTER), GICD_CTLR group enable
 * GICv2:
 *  - TYPER (CPUNumber), CTLR, IIDR, ICPIDR2; SGI/PPI registers banked per CPU,
 *    ITARGETSR0-7 reading each CPU's own bit; which accesses are word-only
 *  - GICD_SGIR: target lists and filters 0, 1, 2, the source in GICC_IAR
 *  - SGIs pending per source: SPENDSGIR/CPENDSGIR, two senders, one SGI
 *  - SPIs: pending while disabled, ITARGETSR routing (none, one, two CPUs, a
 *    pending SPI moved), Group 0 enable; EOImode 1 with the trapped GICC_DIR
 * Most checks poll the acknowledge register with PSTATE.I set; the targeting
 * checks take the interrupts through the vectors on every CPU.
 */
#include "libguest.h"

#define SHORT_US 20000   /* how long "nothing arrives" is watched */
#define LONG_US 3000000  /* how long something may take to arrive (a loaded host) */

/* vPL011 registers */
#define UARTDR 0x000
#define UARTFR 0x018
#define UARTFR_RXFE BIT(4)
#define UARTCR 0x030
#define UARTCR_LBE BIT(7)
#define UARTIMSC 0x038
#define UARTRIS 0x03c
#define UARTICR 0x044
#define UART_TXI BIT(5)

static u64 gicd;
static unsigned int nr_irqs;
static u8 prio_mask;

/* ---- interrupts counted by the handler, per CPU and INTID ---- */
static volatile unsigned int hits[MAX_CPUS][64];

static void count_irq(u32 intid, struct ex_frame *f)
{
    hits[smp_id()][intid]++;
}

static void clear_hits(void)
{
    for (unsigned int c = 0; c < MAX_CPUS; c++)
        for (unsigned int i = 0; i < 64; i++)
            hits[c][i] = 0;
    dsb(ish);
}

/* Acknowledges within @us and EOIs; returns the INTID (1023: none). */
static u32 ack_eoi(u64 us)
{
    u32 iar = gic_wait_ack(us);

    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    return iar;
}

static unsigned int popcount8(u8 v)
{
    unsigned int n = 0;

    for (; v; v &= (u8)(v - 1))
        n++;
    return n;
}

static bool isr_irq(void)
{
    return read_sysreg(isr_el1) & BIT(7);
}

/* Where this CPU's SGI and PPI registers are: its redistributor, or banked in GICD. */
static u64 private_regs(void)
{
    return gic_v2() ? gicd : gicr_base(smp_id()) + GICR_SGI;
}

/* The binary point of the group libguest uses: ICC_BPR1_EL1, or GICC_BPR for Group 0. */
static void set_bpr(u8 v)
{
    if (gic_v2()) {
        writel(machine.gicc_base + GICC_BPR, v);
    } else {
        write_sysreg(S3_0_C12_C12_3, v);
        isb();
    }
}

static u8 bpr(void)
{
    return gic_v2() ? (u8)readl(machine.gicc_base + GICC_BPR) : (u8)read_sysreg(S3_0_C12_C12_3);
}

/* ---- registers both distributors have ---- */
static void check_itlines(u32 typer)
{
    nr_irqs = 32 * (FIELD_GET(typer, 4, 0) + 1);
    if (nr_irqs > 1020)
        nr_irqs = 1020;
    report(nr_irqs >= 64 && machine.uart_intid < nr_irqs,
           "TYPER.ITLinesNumber %lu: %u INTIDs, the UART's INTID %u among them",
           FIELD_GET(typer, 4, 0), nr_irqs, machine.uart_intid);
}

/* The last implemented SPI works; the registers beyond are RAZ/WI. */
static void check_spi_range(void)
{
    u32 last = nr_irqs - 1;
    bool on;

    gic_irq_enable(last);
    on = gic_irq_enabled(last);
    gic_irq_disable(last);
    report(on && !gic_irq_enabled(last), "ISENABLER/ICENABLER of the last SPI (%u)", last);
    if (nr_irqs <= 988) {
        writel(gicd + GICD_ISENABLER + nr_irqs / 8, ~0U);
        writeb(gicd + GICD_IPRIORITYR + nr_irqs, 0x80);
        report(readl(gicd + GICD_ISENABLER + nr_irqs / 8) == 0 &&
                   readb(gicd + GICD_IPRIORITYR + nr_irqs) == 0,
               "ISENABLER/IPRIORITYR beyond ITLinesNumber are RAZ/WI");
    }
}

/* Only the implemented high-order priority bits stick. */
static void check_priority_bits(void)
{
    u64 word = gicd + GICD_IPRIORITYR + (machine.uart_intid & ~3U);
    u32 v;

    writeb(gicd + GICD_IPRIORITYR + machine.uart_intid, 0xff);
    prio_mask = readb(gicd + GICD_IPRIORITYR + machine.uart_intid);
    report((prio_mask & 0xf0) == 0xf0 && (u8)(prio_mask | (prio_mask - 1)) == 0xff,
           "IPRIORITYR: %d implemented priority bits (%#x)", popcount8(prio_mask), prio_mask);
    writel(word, 0x12345678);
    v = readl(word);
    report(v == (0x12345678 & (prio_mask * 0x01010101U)), "IPRIORITYR: word write, masked (%#x)", v);
    writel(word, 0xa0a0a0a0);
}

/* ICFGR: an SPI's trigger is configurable. */
static void check_icfgr(void)
{
    u64 reg = gicd + GICD_ICFGR + machine.uart_intid / 16 * 4;
    unsigned int shift = 2 * (machine.uart_intid % 16);
    u32 v;

    gic_spi_set_edge(machine.uart_intid, true);
    v = readl(reg) >> shift;
    gic_spi_set_edge(machine.uart_intid, false);
    report((v & 2) && !((readl(reg) >> shift) & 2), "ICFGR: an SPI switches between edge and level");
}

/* ---- GICv3 registers ---- */
static void test_gicd_regs(void)
{
    u32 typer = readl(gicd + GICD_TYPER), ctlr, v, iidr, pidr2;
    unsigned int idbits = FIELD_GET(typer, 23, 19) + 1;

    report_prefix_push("GICD");
    check_itlines(typer);
    report((1UL << idbits) >= nr_irqs, "TYPER.IDbits %u covers %u INTIDs", idbits, nr_irqs);
    report(!(typer & (BIT(16) | BIT(17))), "TYPER: no LPIs, no MBIs (%#x)", typer);
    report(!(typer & BIT(10)), "TYPER.SecurityExtn = 0: one security state");
    /* CPUNumber counts PEs for ARE = 0; "If the implementation does not
       support ARE being zero, this field is 0b000". ARE is RAO here. */
    report(FIELD_GET(typer, 7, 5) == 0, "TYPER.CPUNumber = 0 (affinity routing only)");
    report(!(typer & BIT(26)), "TYPER.RSS = 0: SGI targets Aff0 0-15");

    ctlr = readl(gicd + GICD_CTLR);
    report((ctlr & (GICD_CTLR_ARE | GICD_CTLR_DS)) == (GICD_CTLR_ARE | GICD_CTLR_DS),
           "CTLR: ARE and DS set (%#x)", ctlr);
    writel(gicd + GICD_CTLR, ctlr & ~(GICD_CTLR_ARE | GICD_CTLR_DS));
    v = readl(gicd + GICD_CTLR);
    report((v & (GICD_CTLR_ARE | GICD_CTLR_DS)) == (GICD_CTLR_ARE | GICD_CTLR_DS),
           "CTLR: ARE and DS are RAO/WI (%#x)", v);
    writel(gicd + GICD_CTLR, ctlr);
    report(readl(gicd + GICD_CTLR) == ctlr, "CTLR: EnableGrp1 written back (%#x)", ctlr);

    iidr = readl(gicd + GICD_IIDR);
    report(iidr != 0 && (iidr & 0xfff) == 0x43b, "IIDR %#x: implementer Arm (0x43b)", iidr);
    pidr2 = readl(gicd + GICD_PIDR2);
    report(FIELD_GET(pidr2, 7, 4) == 3, "PIDR2.ArchRev = 3: GICv3 (%#x)", pidr2);

    writel(gicd + GICD_TYPER, ~typer);
    writel(gicd + GICD_IIDR, ~iidr);
    writel(gicd + GICD_PIDR2, ~pidr2);
    report(readl(gicd + GICD_TYPER) == typer && readl(gicd + GICD_IIDR) == iidr &&
               readl(gicd + GICD_PIDR2) == pidr2,
           "writes to TYPER, IIDR and PIDR2 are ignored");

    check_spi_range();
    /* SGI/PPI registers live in the redistributors: the GICD copies are RAZ/WI. */
    writel(gicd + GICD_ISENABLER, ~0U);
    report(readl(gicd + GICD_ISENABLER) == 0, "GICD_ISENABLER0 (private INTIDs) is RAZ/WI");

    check_priority_bits();
    {
        u64 icc = gic_icc_ctlr();
        unsigned int pribits = FIELD_GET(icc, 10, 8) + 1;
        report(pribits == (unsigned int)popcount8(prio_mask),
               "the CPU interface has the distributor's %u priority bits (ICC_CTLR %#lx)", pribits, icc);
        report((read_sysreg(S3_0_C12_C12_5) & 1), "ICC_SRE_EL1.SRE = 1");
    }

    check_icfgr();

    /* IROUTER: affinity sticks; IRM is RAZ/WI when 1-of-N is not supported (No1N) */
    {
        u64 last = machine.mpidr[machine.nr_cpus - 1], r;
        u64 reg = gicd + GICD_IROUTER + 8 * machine.uart_intid;
        writeq(reg, mpidr_aff(last) | BIT(31));
        r = readq(reg);
        if (typer & BIT(25))
            report(r == mpidr_aff(last), "IROUTER: affinity kept, IRM RAZ/WI since TYPER.No1N (%#lx)", r);
        else
            report(mpidr_aff(r) == mpidr_aff(last), "IROUTER: affinity kept (%#lx)", r);
        writel(reg + 4, 0);
        writel(reg, 0);
        report(readq(reg) == 0, "IROUTER: 32-bit halves written separately");
        gic_spi_route(machine.uart_intid, 0);
    }
    report_prefix_pop();
}

static void test_gicr_regs(void)
{
    unsigned int n = machine.nr_cpus;
    u32 iidr = readl(gicd + GICD_IIDR);

    report_prefix_push("GICR");
    report(machine.gicr_size == (u64)n * GICR_STRIDE, "the DT's redistributor region holds %u frames "
           "for %u vCPUs (%#lx bytes)", (unsigned int)(machine.gicr_size / GICR_STRIDE), n,
           machine.gicr_size);
    for (unsigned int i = 0; i < n; i++) {
        u64 rd = machine.gicr_base + i * GICR_STRIDE;
        u64 typer = readq(rd + GICR_TYPER);
        u64 lo = readl(rd + GICR_TYPER), hi = readl(rd + GICR_TYPER + 4);
        u64 m = machine.mpidr[i];
        u64 aff = (m & 0xffffff) | ((m >> 32) & 0xff) << 24;

        report((typer >> 32) == aff && FIELD_GET(typer, 23, 8) == i &&
                   !!(typer & GICR_TYPER_LAST) == (i == n - 1) && !(typer & 1),
               "frame %u: TYPER %#lx: affinity of vCPU %u, Processor_Number %u, Last %s, no LPIs",
               i, typer, i, i, i == n - 1 ? "set" : "clear");
        report((lo | hi << 32) == typer, "frame %u: TYPER read as two words agrees", i);
        report(readl(rd + GICR_IIDR) == iidr && FIELD_GET(readl(rd + GICR_PIDR2), 7, 4) == 3,
               "frame %u: IIDR as the distributor's, PIDR2.ArchRev 3", i);
        writel(rd + GICR_TYPER, ~(u32)typer);
        writel(rd + GICR_TYPER + 4, 0);
        writel(rd + GICR_IIDR, 0);
        report(readq(rd + GICR_TYPER) == typer && readl(rd + GICR_IIDR) == iidr,
               "frame %u: writes to TYPER and IIDR are ignored", i);
        /* SGIs are edge, their configuration read-only */
        writel(rd + GICR_SGI + GICD_ICFGR, 0);
        report(readl(rd + GICR_SGI + GICD_ICFGR) == 0xaaaaaaaa, "frame %u: ICFGR0: SGIs edge, read-only", i);
    }
    {
        u64 rd = gicr_base(0);
        u32 w = readl(rd + GICR_WAKER);
        report(!(w & (GICR_WAKER_PROCESSOR_SLEEP | GICR_WAKER_CHILDREN_ASLEEP)),
               "own WAKER: awake (%#x)", w);
    }
    report_prefix_pop();
}

/* ---- SGIs and PPIs on this CPU, polled ---- */
static void test_local_sgi_ppi(void)
{
    u32 iar;

    report_prefix_push("local");
    local_irq_disable();
    gic_irq_enable(1);
    gic_send_sgi(smp_id(), 1);
    iar = ack_eoi(LONG_US);
    report(iar == 1, "SGI 1 to self: acknowledged (IAR %u)", iar);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS, "then nothing pending (IAR %u)", iar);

    /* three SGIs at once come in priority order */
    gic_irq_enable(2);
    gic_irq_enable(3);
    gic_irq_set_priority(1, 0x80);
    gic_irq_set_priority(2, 0x60);
    gic_irq_set_priority(3, 0x40);
    gic_send_sgi(smp_id(), 1);
    gic_send_sgi(smp_id(), 2);
    gic_send_sgi(smp_id(), 3);
    {
        u32 a = ack_eoi(LONG_US), b = ack_eoi(LONG_US), c = ack_eoi(LONG_US);
        report(a == 3 && b == 2 && c == 1, "SGIs 1, 2, 3 (priorities 0x80, 0x60, 0x40) taken "
               "as 3, 2, 1 (%u, %u, %u)", a, b, c);
    }

    /* pending while disabled */
    gic_irq_disable(4);
    gic_send_sgi(smp_id(), 4);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS && gic_irq_pending(4), "disabled SGI 4: not delivered, ISPENDR shows it");
    report(!isr_irq(), "disabled SGI 4: ISR_EL1.I clear");
    gic_irq_enable(4);
    iar = ack_eoi(LONG_US);
    report(iar == 4, "SGI 4 delivered once enabled (IAR %u)", iar);
    report(!gic_irq_pending(4), "SGI 4 no longer pending");
    gic_irq_disable(4);
    gic_send_sgi(smp_id(), 4);
    gic_irq_clear_pending(4);
    report(!gic_irq_pending(4), "ICPENDR clears a pending, disabled SGI");
    gic_irq_enable(4);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS, "cleared SGI 4 not delivered once enabled (IAR %u)", iar);

    /* software-pended SGI and PPIs */
    gic_irq_set_pending(4);
    iar = ack_eoi(LONG_US);
    report(iar == 4, "SGI 4 pended through ISPENDR0 (IAR %u)", iar);
    gic_irq_enable(16);
    gic_irq_set_pending(16);
    iar = ack_eoi(LONG_US);
    report(iar == 16, "PPI 16 pended through ISPENDR0 (IAR %u)", iar);
    report(!gic_irq_pending(16) && !gic_irq_active(16), "PPI 16: neither pending nor active after EOI");
    gic_irq_disable(17);
    gic_irq_set_pending(17);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS && gic_irq_pending(17), "disabled PPI 17: pending, not delivered");
    gic_irq_enable(17);
    iar = ack_eoi(LONG_US);
    report(iar == 17, "PPI 17 delivered once enabled (IAR %u)", iar);
    gic_irq_disable(18);
    gic_irq_set_pending(18);
    gic_irq_clear_pending(18);
    gic_irq_enable(18);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS && !gic_irq_pending(18), "PPI 18 pended then cleared: never delivered");
    for (u32 i = 1; i <= 4; i++)
        gic_irq_set_priority(i, 0xa0);
    local_irq_enable();
    report_prefix_pop();
}

static void test_priority(void)
{
    u32 iar;
    u8 pmr;

    report_prefix_push("priority");
    local_irq_disable();
    gic_set_pmr(0xff);
    pmr = gic_pmr();
    report(pmr == prio_mask, "PMR 0xff reads back %#x (the implemented bits)", pmr);

    gic_irq_enable(5);
    gic_irq_set_priority(5, 0x80);
    gic_set_pmr(0x80);
    gic_send_sgi(smp_id(), 5);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS, "priority 0x80 masked by PMR 0x80 (IAR %u)", iar);
    report(gic_irq_pending(5) && !isr_irq(), "masked SGI 5: pending, ISR_EL1.I clear");
    gic_set_pmr(0x90);
    iar = ack_eoi(LONG_US);
    report(iar == 5, "delivered once PMR is 0x90 (IAR %u)", iar);
    gic_set_pmr(0xff);

    /* preemption and the running priority */
    gic_irq_enable(6);
    gic_irq_enable(7);
    gic_irq_set_priority(6, 0xa0);
    gic_irq_set_priority(7, 0x40);
    report(gic_rpr() == 0xff, "RPR idle: 0xff (%#x)", gic_rpr());
    gic_send_sgi(smp_id(), 5);
    iar = gic_wait_ack(LONG_US);
    report(iar == 5 && gic_rpr() == 0x80, "SGI 5 acknowledged: RPR 0x80 (IAR %u, RPR %#x)", iar, gic_rpr());
    report(gic_irq_active(5), "SGI 5 active in ISACTIVER0 while being handled");
    gic_send_sgi(smp_id(), 6);
    udelay(SHORT_US);
    iar = gic_ack();
    report(iar == GIC_SPURIOUS, "lower priority SGI 6 does not preempt (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    report(gic_irq_pending(6), "SGI 6 pending meanwhile");
    gic_send_sgi(smp_id(), 7);
    iar = gic_wait_ack(LONG_US);
    report(iar == 7 && gic_rpr() == 0x40, "higher priority SGI 7 preempts: RPR 0x40 (IAR %u, RPR %#x)",
           iar, gic_rpr());
    if (iar == 7)
        gic_eoi(7);
    report(gic_rpr() == 0x80, "EOI of SGI 7: RPR back to 0x80 (%#x)", gic_rpr());
    iar = gic_ack();
    report(iar == GIC_SPURIOUS, "SGI 6 still held back (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    gic_eoi(5);
    report(gic_rpr() == 0xff, "EOI of SGI 5: RPR idle (%#x)", gic_rpr());
    report(!gic_irq_active(5), "SGI 5 no longer active");
    iar = ack_eoi(LONG_US);
    report(iar == 6, "SGI 6 delivered at last (IAR %u)", iar);

    /*
     * Binary point 7: priorities 0x60 and 0x40 share a group and do not
     * preempt. GICv3 Group 1: the group priority is bits [7:BPR1]; GICv2
     * Group 0: bits [7:BPR + 1], none at 7 (IHI 0048B 4.4.3, GICC_BPR).
     */
    gic_irq_set_priority(5, 0x60);
    set_bpr(7);
    report(bpr() == 7, "%s reads back 7", gic_v2() ? "GICC_BPR" : "BPR1");
    gic_send_sgi(smp_id(), 5);
    iar = gic_wait_ack(LONG_US);
    gic_send_sgi(smp_id(), 7);
    udelay(SHORT_US);
    {
        u32 iar2 = gic_ack();
        report(iar == 5 && iar2 == GIC_SPURIOUS, "BPR 7: SGI 7 does not preempt SGI 5 (%u, %u)", iar, iar2);
        if (iar2 != GIC_SPURIOUS)
            gic_eoi(iar2);
    }
    if (iar == 5)
        gic_eoi(5);
    iar = ack_eoi(LONG_US);
    report(iar == 7, "SGI 7 delivered after SGI 5's EOI (IAR %u)", iar);
    set_bpr(0);

    /* EOImode 1: EOIR drops the priority, DIR deactivates */
    gic_set_eoimode(true);
    gic_send_sgi(smp_id(), 5);
    iar = gic_wait_ack(LONG_US);
    gic_eoi(iar);
    report(iar == 5 && gic_rpr() == 0xff, "EOImode 1: EOIR drops the running priority (RPR %#x)", gic_rpr());
    report(gic_irq_active(5), "EOImode 1: SGI 5 still active after EOIR");
    gic_send_sgi(smp_id(), 5);
    udelay(SHORT_US);
    iar = gic_ack();
    report(iar == GIC_SPURIOUS, "EOImode 1: SGI 5 sent again is not taken while active (IAR %u)", iar);
    gic_dir(5);
    iar = gic_wait_ack(LONG_US);
    report(iar == 5, "EOImode 1: taken again after DIR (IAR %u)", iar);
    if (iar != GIC_SPURIOUS) {
        gic_eoi(iar);
        gic_dir(iar);
    }
    report(!gic_irq_active(5) && !gic_irq_pending(5), "EOImode 1: neither pending nor active after DIR");
    gic_set_eoimode(false);

    for (u32 i = 5; i <= 7; i++)
        gic_irq_set_priority(i, 0xa0);
    local_irq_enable();
    report_prefix_pop();
}

static void test_active(void)
{
    u32 iar;

    report_prefix_push("active");
    local_irq_disable();
    gic_irq_enable(8);
    gic_irq_set_active(8);
    report(gic_irq_active(8), "ISACTIVER0 sets SGI 8 active");
    gic_send_sgi(smp_id(), 8);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS, "an active SGI sent again is not delivered (IAR %u)", iar);
    report(gic_irq_pending(8) && gic_irq_active(8), "SGI 8 is active and pending");
    gic_irq_clear_active(8);
    iar = ack_eoi(LONG_US);
    report(iar == 8, "delivered once ICACTIVER0 deactivates it (IAR %u)", iar);
    report(!gic_irq_active(8) && !gic_irq_pending(8), "SGI 8 idle again");

    /* an SPI set active by software, on the distributor */
    gic_irq_set_active(machine.uart_intid);
    report(gic_irq_active(machine.uart_intid), "ISACTIVER sets SPI %u active", machine.uart_intid);
    gic_irq_clear_active(machine.uart_intid);
    report(!gic_irq_active(machine.uart_intid), "ICACTIVER clears it");
    local_irq_enable();
    report_prefix_pop();
}

/*
 * ---- more active interrupts than list registers ----
 * A hypervisor holds the interrupts it hands to a vCPU in a few list
 * registers (QEMU has 4). Active ones count as much as pending ones there,
 * yet the architecture bounds neither how many may be active nor when the
 * guest deactivates them: a pending interrupt must still be taken when the
 * running priority allows it (IHI 0069 4.8, "Preemption"; 12.4 ICH_LR<n>_EL2).
 */
static u32 isactiver0(void)
{
    return readl(private_regs() + GICD_ISACTIVER);
}

/* ISACTIVER0/ISPENDR0 bits of SGIs 1..@last (1..7 here). */
#define SGI_BITS(last) ((u32)(BIT((last) + 1) - 2))

/* Takes, ends and deactivates whatever is left of SGIs 1-7, so a failure does not leak on. */
static void lr_overflow_cleanup(void)
{
    u32 iar;

    while ((iar = gic_ack()) != GIC_SPURIOUS) {
        gic_eoi(iar);
        gic_dir(iar);
    }
    for (u32 i = 1; i <= 7; i++) {
        gic_irq_clear_pending(i);
        gic_irq_clear_active(i);
        gic_irq_set_priority(i, 0xa0);
    }
    gic_set_eoimode(false);
}

/* EOImode 1: SGIs 1-4 taken and priority-dropped stay active, then more arrive. */
static void lr_overflow_eoimode1(void)
{
    u32 iar, n = 0, act;

    gic_set_eoimode(true);
    for (u32 i = 1; i <= 4; i++) {
        gic_send_sgi(smp_id(), i);
        iar = gic_wait_ack(LONG_US);
        n += iar == i;
        if (iar != GIC_SPURIOUS)
            gic_eoi(iar);
    }
    act = isactiver0();
    report(n == 4 && gic_rpr() == 0xff && (act & SGI_BITS(7)) == SGI_BITS(4),
           "EOImode 1: SGIs 1-4 taken, priority dropped, active (ISACTIVER0 %#x)", act);
    gic_send_sgi(smp_id(), 6);
    iar = gic_wait_ack(LONG_US);
    report(iar == 6, "EOImode 1: higher-priority SGI 6 taken with SGIs 1-4 active (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    gic_send_sgi(smp_id(), 7);
    iar = gic_wait_ack(LONG_US);
    report(iar == 7, "EOImode 1: lower-priority SGI 7 taken too, nothing running (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    act = isactiver0();
    report((act & SGI_BITS(7)) == (SGI_BITS(4) | BIT(6) | BIT(7)),
           "EOImode 1: SGIs 1-4, 6 and 7 all active (ISACTIVER0 %#x)", act);

    /* each one sent again while active: held back until its DIR, then taken once */
    for (u32 i = 1; i <= 4; i++)
        gic_send_sgi(smp_id(), i);
    udelay(SHORT_US);
    iar = gic_ack();
    report(iar == GIC_SPURIOUS, "EOImode 1: SGIs 1-4 sent again while active are held back (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    n = 0;
    for (u32 i = 1; i <= 4; i++) {
        bool gone;

        gic_dir(i);
        gone = !(isactiver0() & BIT(i));
        iar = gic_wait_ack(LONG_US);
        if (iar != GIC_SPURIOUS) {
            gic_eoi(iar);
            gic_dir(iar);
        }
        n += gone && iar == i && !(isactiver0() & BIT(i)) && !gic_irq_pending(i);
    }
    report(n == 4, "EOImode 1: DIR of each of SGIs 1-4 deactivates it, then its second one is taken "
           "and deactivated (%u of 4)", n);
    gic_dir(6);
    gic_dir(7);
    act = isactiver0();
    iar = gic_ack();
    report((act & SGI_BITS(7)) == 0 && iar == GIC_SPURIOUS && !(readl(private_regs() +
           GICD_ISPENDR) & SGI_BITS(7)), "EOImode 1: all inactive after DIR, nothing pending or lost "
           "(ISACTIVER0 %#x, IAR %u)", act, iar);
    gic_set_eoimode(false);
}

/* EOImode 0: five nested SGIs, each preempting the last, then their EOIs in reverse. */
static void lr_overflow_eoimode0(void)
{
    static const u8 prio[6] = { 0, 0xc0, 0xb0, 0xa0, 0x90, 0x80 };
    u32 iar, n = 0, act;

    for (u32 i = 1; i <= 5; i++)
        gic_irq_set_priority(i, prio[i]);
    gic_irq_set_priority(7, 0xd0);
    for (u32 i = 1; i <= 5; i++) {
        gic_send_sgi(smp_id(), i);
        iar = gic_wait_ack(LONG_US);
        n += iar == i && gic_rpr() == prio[i];
        if (iar != GIC_SPURIOUS && iar != i)
            gic_eoi(iar);
    }
    act = isactiver0();
    report(n == 5 && (act & SGI_BITS(7)) == SGI_BITS(5),
           "EOImode 0: SGIs 1-5 nested, each preempting the last (%u of 5, ISACTIVER0 %#x)", n, act);
    /* a lower-priority one meanwhile: pending, not taken below the running priority */
    gic_send_sgi(smp_id(), 7);
    udelay(SHORT_US);
    iar = gic_ack();
    report(iar == GIC_SPURIOUS && gic_irq_pending(7), "EOImode 0: lower-priority SGI 7 waits (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    n = 0;
    for (u32 i = 5; i >= 1; i--) {
        gic_eoi(i);
        n += !(isactiver0() & BIT(i)) && gic_rpr() == (i > 1 ? prio[i - 1] : 0xff);
    }
    act = isactiver0();
    report(n == 5 && (act & SGI_BITS(7)) == 0, "EOImode 0: EOIs in reverse order deactivate each "
           "(%u of 5, ISACTIVER0 %#x, RPR %#x)", n, act, gic_rpr());
    iar = ack_eoi(LONG_US);
    report(iar == 7, "EOImode 0: SGI 7 taken after the last EOI (IAR %u)", iar);
    gic_send_sgi(smp_id(), 6);
    iar = ack_eoi(LONG_US);
    act = isactiver0();
    report(iar == 6 && (act & SGI_BITS(7)) == 0, "EOImode 0: a later SGI 6 delivered, all inactive "
           "(IAR %u, ISACTIVER0 %#x)", iar, act);
}

static void test_lr_overflow(void)
{
    report_prefix_push("LR overflow");
    local_irq_disable();
    for (u32 i = 1; i <= 7; i++) {
        gic_irq_enable(i);
        gic_irq_set_priority(i, 0xa0);
    }
    gic_irq_set_priority(6, 0x80);
    gic_irq_set_priority(7, 0xc0);
    lr_overflow_eoimode1();
    lr_overflow_cleanup();
    lr_overflow_eoimode0();
    lr_overflow_cleanup();
    local_irq_enable();
    report_prefix_pop();
}

/* ---- SGI targeting through the vectors on all CPUs ---- */
static bool wait_hits(unsigned int cpu, u32 intid, unsigned int want)
{
    return wait_until(hits[cpu][intid] >= want, LONG_US);
}

/* After the wanted ones arrived: exactly @mask CPUs got exactly one @intid. */
static bool hits_match(u64 mask, u32 intid, char *buf, size_t len)
{
    bool ok = true;
    size_t n = 0;

    udelay(SHORT_US);
    buf[0] = 0;
    for (unsigned int c = 0; c < machine.nr_cpus; c++) {
        unsigned int want = (mask & BIT(c)) ? 1 : 0;
        ok &= hits[c][intid] == want;
        n += (size_t)snprintf(buf + n, len - n, "%s%u", c ? "," : "", hits[c][intid]);
    }
    return ok;
}

static void test_sgi_targets(void)
{
    unsigned int n = machine.nr_cpus, self = smp_id();
    u64 all = BIT(n) - 1;
    char buf[64];

    report_prefix_push("SGI targets");
    for (u32 i = 9; i <= 12; i++) {
        irq_set_handler(i, count_irq);
        for (unsigned int c = 0; c < n; c++)
            gic_irq_enable_on(c, i);
    }
    local_irq_enable();
    for (unsigned int t = 0; t < n; t++) {
        clear_hits();
        gic_send_sgi(t, 9);
        wait_hits(t, 9, 1);
        report(hits_match(BIT(t), 9, buf, sizeof(buf)), "SGI 9 to cpu %u only (hits %s)", t, buf);
    }
    clear_hits();
    gic_send_sgi_mask(all, 10);
    for (unsigned int c = 0; c < n; c++)
        wait_hits(c, 10, 1);
    report(hits_match(all, 10, buf, sizeof(buf)), "SGI 10 to a target list of all %u CPUs (hits %s)", n, buf);
    clear_hits();
    gic_send_sgi_others(11);
    for (unsigned int c = 0; c < n; c++)
        if (c != self)
            wait_hits(c, 11, 1);
    report(hits_match(all & ~BIT(self), 11, buf, sizeof(buf)),
           "SGI 11 with IRM = 1: every CPU but the sender (hits %s)", buf);
    if (n < 16) {
        /* a target list naming Aff0 = n: no such vCPU */
        clear_hits();
        write_sysreg(S3_0_C12_C11_5, (u64)12 << 24 | BIT(n));
        isb();
        report(hits_match(0, 12, buf, sizeof(buf)), "SGI 12 to a missing Aff0 %u: nobody (hits %s)", n, buf);
    }
    if (n > 1) {
        /* pending on another CPU's disabled SGI, then enabled from here */
        unsigned int t = n - 1;
        clear_hits();
        gic_irq_disable_on(t, 12);
        gic_send_sgi(t, 12);
        udelay(SHORT_US);
        report(hits[t][12] == 0 && gic_irq_pending_on(t, 12),
               "cpu %u: disabled SGI 12 pending in its redistributor, not delivered", t);
        gic_irq_enable_on(t, 12);
        report(wait_hits(t, 12, 1) && hits_match(BIT(t), 12, buf, sizeof(buf)),
               "cpu %u: SGI 12 delivered once enabled from cpu %u (hits %s)", t, self, buf);
        /* a PPI pended in another CPU's redistributor */
        irq_set_handler(19, count_irq);
        gic_irq_enable_on(t, 19);
        clear_hits();
        gic_irq_set_pending_on(t, 19);
        report(wait_hits(t, 19, 1) && hits_match(BIT(t), 19, buf, sizeof(buf)),
               "PPI 19 pended in cpu %u's redistributor reaches cpu %u only (hits %s)", t, t, buf);
        gic_irq_disable_on(t, 19);
    }
    for (u32 i = 9; i <= 12; i++)
        for (unsigned int c = 0; c < n; c++)
            gic_irq_disable_on(c, i);
    report_prefix_pop();
}

/* ---- SPIs: the vPL011's TX interrupt, level and edge ---- */
static u64 uart;

static void uart_line(bool high)
{
    if (high)
        writel(uart + UARTDR, 0x55); /* loopback: TXRIS rises, the byte comes back in RX */
    else
        writel(uart + UARTICR, UART_TXI);
    dsb(sy);
}

static void uart_drain_rx(void)
{
    for (unsigned int i = 0; i < 64 && !(readl(uart + UARTFR) & UARTFR_RXFE); i++)
        readl(uart + UARTDR);
}

struct spi_results {
    u32 level_first, level_again, level_after_clear, level_dropped;
    bool level_pending_disabled, level_cleared_by_line;
    u32 edge_first, edge_held_high, edge_new, edge_latched;
    bool edge_pending_disabled, edge_pending_after_drop;
};

/* No printing between loopback on and off: it would loop back. */
static void spi_level_edge(struct spi_results *r)
{
    u32 irq = machine.uart_intid;
    u32 cr = readl(uart + UARTCR), imsc = readl(uart + UARTIMSC);

    gic_irq_disable(irq);
    gic_spi_route(irq, smp_id());
    gic_irq_set_priority(irq, 0x80);
    writel(uart + UARTCR, cr | UARTCR_LBE);
    writel(uart + UARTICR, 0x7ff);
    writel(uart + UARTIMSC, UART_TXI);
    gic_irq_clear_pending(irq);

    /* level: pending follows the line */
    gic_spi_set_edge(irq, false);
    uart_line(true);
    r->level_pending_disabled = gic_irq_pending(irq);
    uart_line(false);
    r->level_cleared_by_line = !gic_irq_pending(irq);
    gic_irq_enable(irq);
    r->level_dropped = ack_eoi(SHORT_US);
    uart_line(true);
    r->level_first = gic_wait_ack(LONG_US);
    gic_eoi(r->level_first);            /* line still high: comes back */
    r->level_again = gic_wait_ack(LONG_US);
    uart_line(false);
    gic_eoi(r->level_again);
    r->level_after_clear = ack_eoi(SHORT_US);
    gic_irq_disable(irq);
    uart_drain_rx();

    /* edge: one interrupt per rising edge, latched */
    gic_spi_set_edge(irq, true);
    gic_irq_enable(irq);
    uart_line(true);
    r->edge_first = ack_eoi(LONG_US);
    writel(uart + UARTDR, 0x55);         /* line stays high: no new edge */
    r->edge_held_high = ack_eoi(SHORT_US);
    uart_line(false);
    uart_line(true);
    r->edge_new = ack_eoi(LONG_US);
    uart_line(false);
    gic_irq_disable(irq);
    uart_line(true);
    r->edge_pending_disabled = gic_irq_pending(irq);
    uart_line(false);
    r->edge_pending_after_drop = gic_irq_pending(irq);
    gic_irq_enable(irq);
    r->edge_latched = ack_eoi(LONG_US);
    gic_irq_disable(irq);

    gic_spi_set_edge(irq, false);
    gic_irq_clear_pending(irq);
    writel(uart + UARTIMSC, imsc);
    writel(uart + UARTICR, 0x7ff);
    uart_drain_rx();
    writel(uart + UARTCR, cr);
    gic_irq_set_priority(irq, 0xa0);
}

static void test_spi_level_edge(void)
{
    struct spi_results r;
    u32 irq = machine.uart_intid;

    report_prefix_push("SPI");
    if (!uart || irq < 32) {
        report_skip("no UART interrupt in the DT");
        report_prefix_pop();
        return;
    }
    local_irq_disable();
    spi_level_edge(&r);
    local_irq_enable();
    report(r.level_pending_disabled, "level SPI %u: line high while disabled: ISPENDR set", irq);
    report(r.level_cleared_by_line, "level: line low again: ISPENDR clear");
    report(r.level_dropped == GIC_SPURIOUS, "level: a dropped line is not delivered when enabled (IAR %u)",
           r.level_dropped);
    report(r.level_first == irq, "level: line high: delivered (IAR %u)", r.level_first);
    report(r.level_again == irq, "level: EOI with the line still high: delivered again (IAR %u)",
           r.level_again);
    report(r.level_after_clear == GIC_SPURIOUS, "level: EOI after the line dropped: quiet (IAR %u)",
           r.level_after_clear);
    report(r.edge_first == irq, "edge: rising edge delivered (IAR %u)", r.edge_first);
    report(r.edge_held_high == GIC_SPURIOUS, "edge: line held high: not again (IAR %u)", r.edge_held_high);
    report(r.edge_new == irq, "edge: a new rising edge: delivered (IAR %u)", r.edge_new);
    report(r.edge_pending_disabled && r.edge_pending_after_drop,
           "edge: latched pending while disabled, even after the line dropped");
    report(r.edge_latched == irq, "edge: the latched edge is delivered once enabled (IAR %u)",
           r.edge_latched);
    report_prefix_pop();
}

/* SPI routing to each CPU, unrouted SPIs, and the distributor's group enable. */
static void test_spi_routing(void)
{
    u32 irq = machine.uart_intid;
    unsigned int n = machine.nr_cpus;
    char buf[64];

    report_prefix_push("SPI routing");
    irq_set_handler(irq, count_irq);
    local_irq_enable();
    for (unsigned int t = 0; t < n; t++) {
        clear_hits();
        gic_spi_route(irq, t);
        gic_irq_enable(irq);
        gic_irq_set_pending(irq);
        wait_hits(t, irq, 1);
        report(hits_match(BIT(t), irq, buf, sizeof(buf)), "SPI %u routed to cpu %u (hits %s)", irq, t, buf);
    }
    /* routed to an affinity with no vCPU: held pending */
    clear_hits();
    writeq(gicd + GICD_IROUTER + 8 * irq, 0xff00fe);
    gic_irq_set_pending(irq);
    report(hits_match(0, irq, buf, sizeof(buf)) && gic_irq_pending(irq),
           "SPI routed to no vCPU: pending, not delivered (hits %s)", buf);
    gic_spi_route(irq, 0);
    report(wait_hits(0, irq, 1) && hits_match(BIT(0), irq, buf, sizeof(buf)),
           "re-routed to cpu 0: delivered (hits %s)", buf);

    /* GICD_CTLR.EnableGrp1 off: held pending */
    clear_hits();
    writel(gicd + GICD_CTLR, GICD_CTLR_ARE);
    gic_irq_set_pending(irq);
    report(hits_match(0, irq, buf, sizeof(buf)), "EnableGrp1 = 0: pending SPI not delivered (hits %s)", buf);
    writel(gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1);
    report(wait_hits(0, irq, 1) && hits_match(BIT(0), irq, buf, sizeof(buf)),
           "EnableGrp1 = 1 again: delivered (hits %s)", buf);
    gic_irq_disable(irq);
    irq_set_handler(irq, NULL);
    report_prefix_pop();
}

/*
 * ==== GICv2 (Arm IHI 0048B) ====
 * What differs from GICv3: SGIs, PPIs and their registers banked per CPU in
 * the distributor itself, SGIs from GICD_SGIR with a target list or filter
 * and pending per source CPU, SPIs routed by ITARGETSR, the CPU interface
 * as GICC MMIO (Keel traps its second page, GICC_DIR), only word accesses
 * but for the byte-wide registers.
 */
#define SPARE_SPI 63 /* no device drives it: only ISPENDR makes it pending */

static u8 tgt(unsigned int cpu)
{
    return gic_cpu_target(cpu);
}

/* Every vCPU's CPU interface bit. */
static u8 all_tgts(void)
{
    u8 m = 0;

    for (unsigned int c = 0; c < machine.nr_cpus; c++)
        m |= tgt(c);
    return m;
}

static void sgir(u32 v)
{
    writel(gicd + GICD_SGIR, v);
    dsb(sy);
}

static void v2_typer_ids(void)
{
    u32 typer = readl(gicd + GICD_TYPER), iidr = readl(gicd + GICD_IIDR);
    u32 pidr2 = readl(gicd + GICD_ICPIDR2);

    check_itlines(typer);
    report(FIELD_GET(typer, 7, 5) == machine.nr_cpus - 1, "TYPER.CPUNumber %lu: %u CPU interfaces "
           "(4.3.2)", FIELD_GET(typer, 7, 5), machine.nr_cpus);
    report(!(typer & BIT(10)), "TYPER.SecurityExtn = 0: no Security Extensions (%#x)", typer);
    report((iidr & 0xfff) == 0x43b, "IIDR %#x: implementer Arm (0x43b)", iidr);
    report(FIELD_GET(pidr2, 7, 4) == 2, "ICPIDR2.ArchRev = 2: GICv2 (%#x)", pidr2);
    writel(gicd + GICD_TYPER, ~typer);
    writel(gicd + GICD_IIDR, ~iidr);
    writel(gicd + GICD_ICPIDR2, ~pidr2);
    report(readl(gicd + GICD_TYPER) == typer && readl(gicd + GICD_IIDR) == iidr &&
               readl(gicd + GICD_ICPIDR2) == pidr2,
           "writes to TYPER, IIDR and ICPIDR2 are ignored");
}

/* Without Security Extensions GICD_CTLR holds EnableGrp0 and EnableGrp1 (4.3.1). */
static void v2_ctlr(void)
{
    u32 ctlr = readl(gicd + GICD_CTLR), v;

    report(ctlr == GICD_CTLR_ENABLE_G0, "CTLR: EnableGrp0, as libguest left it (%#x)", ctlr);
    writel(gicd + GICD_CTLR, ~0U);
    v = readl(gicd + GICD_CTLR);
    writel(gicd + GICD_CTLR, ctlr);
    report(v == (GICD_CTLR_ENABLE_G0 | GICD_CTLR_ENABLE_G1),
           "CTLR: EnableGrp0 and EnableGrp1 writable, the rest RAZ/WI (%#x)", v);
    report(readl(gicd + GICD_CTLR) == ctlr, "CTLR written back (%#x)", readl(gicd + GICD_CTLR));
}

static void v2_regs(void)
{
    u32 v;

    report_prefix_push("GICD");
    v2_typer_ids();
    v2_ctlr();
    check_spi_range();
    check_priority_bits();
    check_icfgr();
    writel(gicd + GICD_ICFGR, 0);
    v = readl(gicd + GICD_ICFGR);
    report(v == 0xaaaaaaaa, "ICFGR0: SGIs edge-triggered, read-only (%#x, 4.3.13)", v);
    if (machine.nr_cpus > 1) {
        writeb(gicd + GICD_ITARGETSR + SPARE_SPI, 0xff);
        v = readb(gicd + GICD_ITARGETSR + SPARE_SPI);
        writeb(gicd + GICD_ITARGETSR + SPARE_SPI, tgt(0));
        report(v == all_tgts(), "ITARGETSR: the bits of CPU interfaces with no vCPU are RAZ/WI "
               "(%#x, 4.3.12)", v);
    }
    report_prefix_pop();
}

/* ---- banked registers ---- */
struct banked_view {
    u32 words[8]; /* ITARGETSR0-7 */
    u32 after_write;
};
static struct banked_view banked[MAX_CPUS];

static void read_banked(void *arg)
{
    struct banked_view *b = &banked[smp_id()];

    for (unsigned int i = 0; i < 8; i++)
        b->words[i] = readl(gicd + GICD_ITARGETSR + 4 * i);
    writel(gicd + GICD_ITARGETSR, 0);
    writel(gicd + GICD_ITARGETSR + 28, ~0U);
    b->after_write = readl(gicd + GICD_ITARGETSR) & readl(gicd + GICD_ITARGETSR + 28);
}

/* ITARGETSR0-7 (INTIDs 0-31) read as the reading CPU's own bit, and ignore writes (4.3.12). */
static void v2_own_targets(void)
{
    unsigned int n = machine.nr_cpus, good = 0;
    u8 seen = 0;

    on_cpus(read_banked, NULL);
    for (unsigned int c = 0; c < n; c++) {
        u32 want = tgt(c) * 0x01010101U;
        bool same = true;

        for (unsigned int i = 0; i < 8; i++)
            same &= banked[c].words[i] == want;
        good += same && popcount8(tgt(c)) == 1 && !(seen & tgt(c)) && banked[c].after_write == want;
        seen |= tgt(c);
        report_info("cpu %u: CPU interface bit %#x", c, tgt(c));
    }
    report(good == n, "ITARGETSR0-7 read as each CPU's own bit, one bit each, distinct, read-only "
           "(%u of %u CPUs)", good, n);
}

/*
 * One CPU interface (TYPER.CPUNumber 0): "In a uniprocessor implementation,
 * all interrupts target the one processor, and the GICD_ITARGETSRs are
 * RAZ/WI" (4.3.12). So a guest written for one CPU may leave them alone.
 */
static void v2_uniprocessor(void)
{
    u64 spi = gicd + GICD_ITARGETSR + SPARE_SPI;
    u32 own = readl(gicd + GICD_ITARGETSR), iar;
    u8 t;

    writeb(spi, 1);
    t = readb(spi);
    report(own == 0 && t == 0, "one CPU interface: ITARGETSR0 and SPI %u's ITARGETSR are RAZ/WI "
           "(%#x, %#x)", SPARE_SPI, own, t);
    local_irq_disable();
    writeb(spi, 0);
    gic_irq_enable(SPARE_SPI);
    gic_irq_set_pending(SPARE_SPI);
    iar = ack_eoi(LONG_US);
    report(iar == SPARE_SPI, "one CPU interface: SPI %u, its ITARGETSR written 0, still reaches the "
           "one CPU (IAR %u)", SPARE_SPI, iar);
    gic_irq_disable(SPARE_SPI);
    gic_irq_clear_pending(SPARE_SPI);
    writeb(spi, tgt(0));
    local_irq_enable();
}

static void v2_banked(void)
{
    unsigned int n = machine.nr_cpus, last = n - 1, good = 0;

    report_prefix_push("banked");
    if (n < 2) {
        v2_uniprocessor();
        report_skip("one vCPU: no other bank to compare with");
        report_prefix_pop();
        return;
    }
    v2_own_targets();
    for (unsigned int c = 0; c < n; c++)
        gic_irq_set_priority_on(c, 20, (u8)(0x20 + 0x10 * c));
    for (unsigned int c = 0; c < n; c++)
        good += gic_irq_priority_on(c, 20) == (u8)(0x20 + 0x10 * c);
    report(good == n, "IPRIORITYR of PPI 20: one copy per CPU (%u of %u kept their own)", good, n);
    for (unsigned int c = 0; c < n; c++)
        gic_irq_set_priority_on(c, 20, 0xa0);
    gic_irq_enable_on(last, 13);
    report(!gic_irq_enabled(13) && gic_irq_enabled_on(last, 13),
           "ISENABLER0: SGI 13 enabled on cpu %u only", last);
    gic_irq_disable_on(last, 13);
    report_prefix_pop();
}

/* ---- access sizes: words everywhere, bytes where the registers are byte-wide (4.1.4) ---- */
static bool aborts(u64 a, unsigned int size, bool write)
{
    struct fault f;

    fault_expect();
    switch (size * 2 + write) {
    case 2: (void)readb(a); break;
    case 3: writeb(a, 0); break;
    case 4: (void)readw(a); break;
    case 5: writew(a, 0); break;
    case 16: (void)readq(a); break;
    default: writeq(a, 0); break;
    }
    return fault_taken(&f) && ESR_EC(f.esr) == EC_DABT_CUR && ESR_FSC(f.esr) == FSC_SEA &&
           f.far == a && !!(f.esr & ESR_DABT_WNR) == write;
}

static void v2_byte_access(void)
{
    u64 prio = gicd + GICD_IPRIORITYR + SPARE_SPI, targets = gicd + GICD_ITARGETSR + SPARE_SPI;
    u8 p, t, spend, cpend;
    bool faulted;

    fault_expect();
    writeb(prio, 0x48);
    p = readb(prio);
    writeb(targets, tgt(machine.nr_cpus - 1));
    t = readb(targets);
    writeb(gicd + GICD_CPENDSGIR + 9, 0xff);
    cpend = readb(gicd + GICD_CPENDSGIR + 9);
    spend = readb(gicd + GICD_SPENDSGIR + 9);
    faulted = fault_taken(NULL);
    writeb(prio, 0xa0);
    writeb(targets, tgt(0));
    /* one CPU interface: ITARGETSR is RAZ/WI, v2_uniprocessor() checks that */
    if (machine.nr_cpus == 1)
        t = tgt(0);
    report(!faulted && p == (0x48 & prio_mask) && t == tgt(machine.nr_cpus - 1) && !cpend && !spend,
           "byte loads and stores of IPRIORITYR, ITARGETSR, CPENDSGIR, SPENDSGIR work "
           "(%#x, %#x, %#x, %#x)", p, t, cpend, spend);
}

static void v2_refused_access(void)
{
    /* aligned: an unaligned halfword to Device memory is an alignment fault before the GIC sees it */
    u64 prio = gicd + GICD_IPRIORITYR + (SPARE_SPI & ~1U);
    u64 targets = gicd + GICD_ITARGETSR + (SPARE_SPI & ~1U);
    u32 ctlr = readl(gicd + GICD_CTLR), pw = readl(prio & ~3UL), tw = readl(targets & ~3UL);

    report(aborts(prio, 2, false) && aborts(prio, 2, true), "halfword load and store of "
           "IPRIORITYR: external abort");
    report(aborts(targets, 2, false) && aborts(targets, 2, true), "halfword load and store of "
           "ITARGETSR: external abort");
    report(aborts(gicd + GICD_CTLR, 2, false) && aborts(gicd + GICD_CTLR, 2, true),
           "halfword load and store of CTLR: external abort");
    report(aborts(gicd + GICD_TYPER, 1, false) && aborts(gicd + GICD_ICENABLER + 4, 1, true) &&
               aborts(gicd + GICD_ICFGR + 8, 1, false) && aborts(gicd + GICD_SGIR, 1, true),
           "byte accesses to word-only TYPER, ICENABLER1, ICFGR2, SGIR: external abort");
    report(aborts(gicd + GICD_IPRIORITYR + 32, 8, false) && aborts(gicd + GICD_IPRIORITYR + 32, 8, true),
           "doubleword load and store of IPRIORITYR: external abort");
    report(readl(gicd + GICD_CTLR) == ctlr && readl(prio & ~3UL) == pw && readl(targets & ~3UL) == tw,
           "the refused stores changed nothing");
    report(aborts(machine.gicc_base + GICC_DIR, 1, true), "byte store to GICC_DIR: external abort");
}

static void v2_access_sizes(void)
{
    report_prefix_push("access size");
    v2_byte_access();
    v2_refused_access();
    report_prefix_pop();
}

/* ---- SGIs: GICD_SGIR's target list and filters (4.3.15), through the vectors ---- */
static volatile u8 sgi_srcs[MAX_CPUS][16]; /* bit per source CPU interface number */

static void count_sgi(u32 intid, struct ex_frame *f)
{
    hits[smp_id()][intid]++;
    sgi_srcs[smp_id()][intid] |= (u8)BIT(gic_sgi_source(intid));
}

static void clear_sgi_hits(void)
{
    for (unsigned int c = 0; c < MAX_CPUS; c++)
        for (unsigned int i = 0; i < 16; i++)
            sgi_srcs[c][i] = 0;
    clear_hits();
}

/* Exactly the CPUs of @mask got one @intid, each from @from's CPU interface. */
static bool sgi_match(u64 mask, u32 intid, unsigned int from, char *buf, size_t len)
{
    bool ok = hits_match(mask, intid, buf, len);

    for (unsigned int c = 0; c < machine.nr_cpus; c++)
        ok &= !(mask & BIT(c)) || sgi_srcs[c][intid] == tgt(from);
    return ok;
}

static void wait_sgi(u64 mask, u32 intid)
{
    for (unsigned int c = 0; c < machine.nr_cpus; c++)
        if (mask & BIT(c))
            wait_hits(c, intid, 1);
}

/* GICD_SGIR written on @cpu (here, or through on_cpu()). */
static void sgir_on_fn(void *arg)
{
    sgir(*(u32 *)arg);
}

static void sgir_on(unsigned int cpu, u32 v)
{
    on_cpu(cpu, sgir_on_fn, &v);
}

static void v2_sgi_list(void)
{
    unsigned int n = machine.nr_cpus;
    u64 all = BIT(n) - 1;
    char buf[64];

    for (unsigned int t = 0; t < n; t++) {
        clear_sgi_hits();
        sgir(GICD_SGIR_FILTER_LIST | (u32)tgt(t) << 16 | 9);
        wait_sgi(BIT(t), 9);
        report(sgi_match(BIT(t), 9, 0, buf, sizeof(buf)), "filter 0, list of cpu %u: it alone, "
               "from cpu 0's interface (hits %s)", t, buf);
    }
    clear_sgi_hits();
    sgir(GICD_SGIR_FILTER_LIST | (u32)all_tgts() << 16 | 10);
    wait_sgi(all, 10);
    report(sgi_match(all, 10, 0, buf, sizeof(buf)), "filter 0, list of all %u CPUs (hits %s)", n, buf);
    if (n < 8) {
        clear_sgi_hits();
        sgir(GICD_SGIR_FILTER_LIST | (u32)BIT(n) << 16 | 10);
        report(hits_match(0, 10, buf, sizeof(buf)), "filter 0, a list naming only CPU interface %u, "
               "which has no vCPU: nobody (hits %s)", n, buf);
    }
}

static void v2_sgi_filters(void)
{
    unsigned int n = machine.nr_cpus, last = n - 1;
    u64 all = BIT(n) - 1;
    char buf[64];

    clear_sgi_hits();
    sgir(GICD_SGIR_FILTER_OTHERS | (u32)all_tgts() << 16 | 11);
    wait_sgi(all & ~BIT(0), 11);
    report(sgi_match(all & ~BIT(0), 11, 0, buf, sizeof(buf)), "filter 1 from cpu 0, its list "
           "ignored: every CPU but the sender (hits %s)", buf);
    if (n > 1) {
        clear_sgi_hits();
        sgir_on(last, GICD_SGIR_FILTER_OTHERS | 11);
        wait_sgi(all & ~BIT(last), 11);
        report(sgi_match(all & ~BIT(last), 11, last, buf, sizeof(buf)), "filter 1 from cpu %u: "
               "every CPU but the sender, from its interface (hits %s)", last, buf);
    }
    for (unsigned int c = 0; c < n; c++) {
        clear_sgi_hits();
        sgir_on(c, GICD_SGIR_FILTER_SELF | (u32)all_tgts() << 16 | 12);
        wait_sgi(BIT(c), 12);
        report(sgi_match(BIT(c), 12, c, buf, sizeof(buf)), "filter 2 from cpu %u, its list ignored: "
               "the sender alone (hits %s)", c, buf);
    }
}

static void v2_sgi_targets(void)
{
    unsigned int n = machine.nr_cpus;

    report_prefix_push("SGIR");
    for (u32 i = 9; i <= 12; i++) {
        irq_set_handler(i, count_sgi);
        for (unsigned int c = 0; c < n; c++)
            gic_irq_enable_on(c, i);
    }
    local_irq_enable();
    v2_sgi_list();
    v2_sgi_filters();
    for (u32 i = 9; i <= 12; i++) {
        for (unsigned int c = 0; c < n; c++)
            gic_irq_disable_on(c, i);
        irq_set_handler(i, NULL);
    }
    report_prefix_pop();
}

/* ---- SGIs pending per source (4.3.16, 4.3.17), polled on cpu 0 ---- */

/* Acknowledges @intid until none is left: how many, and the sources' bits. */
static unsigned int take_all(u32 intid, u8 *srcs)
{
    unsigned int n = 0;
    u32 iar;

    *srcs = 0;
    while ((iar = gic_wait_ack(n ? SHORT_US : LONG_US)) != GIC_SPURIOUS) {
        if (iar == intid) {
            n++;
            *srcs |= (u8)BIT(gic_sgi_source(intid));
        }
        gic_eoi(iar);
        if (n > 8)
            break;
    }
    return n;
}

static void send_sgi6_to_cpu0(void *arg)
{
    gic_send_sgi(0, 6);
}

/* The same SGI from two vCPUs: pending once per source, taken once per source. */
static void v2_sgi_two_sources(void)
{
    unsigned int n = machine.nr_cpus, a = 1, b = n >= 3 ? 2 : 0;
    u8 want = tgt(a) | tgt(b), spend, srcs;
    unsigned int taken;

    gic_irq_enable(6);
    on_cpu(a, send_sgi6_to_cpu0, NULL);
    on_cpu(b, send_sgi6_to_cpu0, NULL);
    wait_until(gic_irq_pending(6), LONG_US);
    spend = readb(gicd + GICD_SPENDSGIR + 6);
    report(spend == want, "SGI 6 from cpus %u and %u to cpu 0: SPENDSGIR shows both sources, the "
           "one already handed to the CPU interface too (%#x, want %#x)", a, b, spend, want);
    taken = take_all(6, &srcs);
    report(taken == 2 && srcs == want, "taken once per source: %u times, GICC_IAR.CPUID bits %#x "
           "(want 2, %#x)", taken, srcs, want);
    report(!gic_irq_pending(6) && !readb(gicd + GICD_SPENDSGIR + 6), "none left pending");
    gic_irq_disable(6);
}

/* SPENDSGIR/CPENDSGIR on a disabled SGI: set and clear per source. */
static void v2_spendsgir(void)
{
    u8 all = all_tgts(), v, srcs, rest = machine.nr_cpus > 1 ? all & (u8)~tgt(0) : all;
    unsigned int taken;

    gic_irq_disable(7);
    writeb(gicd + GICD_SPENDSGIR + 7, 0xff);
    v = readb(gicd + GICD_SPENDSGIR + 7);
    report(v == all, "SPENDSGIR: a byte of 0xff pends SGI 7 from every CPU interface there is "
           "(%#x)", v);
    report(gic_irq_pending(7) && readb(gicd + GICD_CPENDSGIR + 7) == all,
           "ISPENDR0 and CPENDSGIR show it pending");
    writel(gicd + GICD_ICPENDR, BIT(7));
    report(readb(gicd + GICD_SPENDSGIR + 7) == all, "ICPENDR0 ignores SGI bits (4.3.8)");
    if (rest != all) {
        writeb(gicd + GICD_CPENDSGIR + 7, tgt(0));
        v = readb(gicd + GICD_SPENDSGIR + 7);
        report(v == rest, "CPENDSGIR clears cpu 0's, the other sources stay (%#x)", v);
    }
    gic_irq_enable(7);
    taken = take_all(7, &srcs);
    report(taken == (unsigned int)popcount8(rest) && srcs == rest, "enabled: taken once per "
           "remaining source (%u times, CPUID bits %#x)", taken, srcs);
    gic_irq_disable(7);
}

/* Word accesses, ISPENDR0 writes ignored for SGIs. */
static void v2_sgi_pend_words(void)
{
    u32 w = tgt(0) * 0x01010101U, v;

    for (u32 i = 8; i <= 11; i++)
        gic_irq_disable(i);
    writel(gicd + GICD_ISPENDR, BIT(8));
    report(!gic_irq_pending(8), "ISPENDR0 ignores SGI bits (4.3.7)");
    writel(gicd + GICD_SPENDSGIR + 8, w);
    v = readl(gicd + GICD_SPENDSGIR + 8);
    writel(gicd + GICD_CPENDSGIR + 8, ~0U);
    report(v == w && !readl(gicd + GICD_SPENDSGIR + 8), "SPENDSGIR2/CPENDSGIR2 words: SGIs 8-11 "
           "pended and cleared at once (%#x)", v);
}

/* An SGI already in the CPU interface, not yet acknowledged, is still pending (4.3.16). */
static void v2_sgi_cpendsgir_queued(void)
{
    u8 spend;
    u32 iar;

    gic_irq_enable(6);
    on_cpu(1, send_sgi6_to_cpu0, NULL);
    wait_until(gic_irq_pending(6), LONG_US);
    udelay(SHORT_US);
    spend = readb(gicd + GICD_SPENDSGIR + 6);
    report(spend == tgt(1), "SGI 6 from cpu 1, pending at cpu 0's interface: SPENDSGIR shows it "
           "(%#x)", spend);
    writeb(gicd + GICD_CPENDSGIR + 6, tgt(1));
    iar = gic_wait_ack(SHORT_US);
    report(iar == GIC_SPURIOUS && !gic_irq_pending(6), "CPENDSGIR clears it: not pending, not "
           "acknowledged (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    gic_irq_disable(6);
}

static void v2_sgi_sources(void)
{
    report_prefix_push("SGI sources");
    local_irq_disable();
    v2_spendsgir();
    v2_sgi_pend_words();
    if (machine.nr_cpus > 1) {
        v2_sgi_two_sources();
        v2_sgi_cpendsgir_queued();
    } else {
        report_skip("one vCPU: an SGI has one possible source");
    }
    local_irq_enable();
    report_prefix_pop();
}

/* ---- SPIs: pending while disabled, ITARGETSR routing (4.3.12) ---- */
static void v2_spi_pending_disabled(void)
{
    u32 irq = SPARE_SPI, iar;

    report_prefix_push("SPI pending");
    local_irq_disable();
    gic_spi_route(irq, smp_id());
    gic_irq_disable(irq);
    gic_irq_set_pending(irq);
    iar = gic_wait_ack(SHORT_US);
    report(iar == GIC_SPURIOUS && gic_irq_pending(irq) && !isr_irq(), "SPI %u pended by ISPENDR "
           "while disabled: pending, not signalled (IAR %u)", irq, iar);
    gic_irq_enable(irq);
    iar = ack_eoi(LONG_US);
    report(iar == irq, "delivered once enabled (IAR %u)", iar);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS && !gic_irq_pending(irq), "once only (IAR %u)", iar);
    gic_irq_disable(irq);
    gic_irq_set_pending(irq);
    gic_irq_clear_pending(irq);
    gic_irq_enable(irq);
    iar = ack_eoi(SHORT_US);
    report(iar == GIC_SPURIOUS && !gic_irq_pending(irq), "pended then cleared by ICPENDR while "
           "disabled: never delivered (IAR %u)", iar);
    gic_irq_disable(irq);
    local_irq_enable();
    report_prefix_pop();
}

static void spi_targets(u8 t)
{
    writeb(gicd + GICD_ITARGETSR + SPARE_SPI, t);
    dsb(sy);
}

static void v2_spi_each_cpu(void)
{
    u32 irq = SPARE_SPI;
    char buf[64];

    for (unsigned int t = 0; t < machine.nr_cpus; t++) {
        clear_hits();
        spi_targets(tgt(t));
        gic_irq_set_pending(irq);
        wait_hits(t, irq, 1);
        report(hits_match(BIT(t), irq, buf, sizeof(buf)), "SPI %u, ITARGETSR byte %#x: cpu %u "
               "alone (hits %s)", irq, tgt(t), t, buf);
    }
    if (machine.nr_cpus == 1)
        return; /* ITARGETSR is RAZ/WI there: v2_uniprocessor() */
    clear_hits();
    spi_targets(0);
    gic_irq_set_pending(irq);
    report(hits_match(0, irq, buf, sizeof(buf)) && gic_irq_pending(irq), "ITARGETSR 0: pending, "
           "delivered nowhere (hits %s)", buf);
    spi_targets(tgt(0));
    wait_hits(0, irq, 1);
    report(hits_match(BIT(0), irq, buf, sizeof(buf)), "cpu 0 added to the targets of the pending "
           "SPI: it takes it (hits %s)", buf);
}

/* Several targets: one of them takes it, once (1-N). */
static void v2_spi_two_targets(void)
{
    unsigned int last = machine.nr_cpus - 1, total = 0;
    u32 irq = SPARE_SPI;

    clear_hits();
    spi_targets(tgt(0) | tgt(last));
    gic_irq_set_pending(irq);
    wait_until(hits[0][irq] + hits[last][irq] >= 1, LONG_US);
    udelay(SHORT_US);
    for (unsigned int c = 0; c < machine.nr_cpus; c++)
        total += hits[c][irq];
    report(total == 1 && hits[0][irq] + hits[last][irq] == 1, "targets cpus 0 and %u: taken once, "
           "by one of them (%u, %u of %u)", last, hits[0][irq], hits[last][irq], total);
}

static volatile bool hold_go, hold_started;

/* A CPU with interrupts masked, so whatever is pending for it stays pending. */
static void hold_masked(void *arg)
{
    local_irq_disable();
    WRITE_ONCE(hold_started, true);
    while (!READ_ONCE(hold_go))
        cpu_relax();
    local_irq_enable();
    isb();
}

/*
 * Removing a CPU from a pending SPI's targets removes it from that CPU
 * interface; adding one makes it pending there (4.3.12): the SPI moves
 * even once handed to a CPU that has interrupts masked.
 */
static void v2_spi_move_pending(void)
{
    unsigned int a = machine.nr_cpus - 1;
    u32 irq = SPARE_SPI;
    char buf[64];
    bool at0;

    clear_hits();
    WRITE_ONCE(hold_go, false);
    WRITE_ONCE(hold_started, false);
    on_cpu_async(a, hold_masked, NULL);
    wait_until(READ_ONCE(hold_started), LONG_US);
    spi_targets(tgt(a));
    gic_irq_set_pending(irq);
    udelay(SHORT_US);
    report(hits[a][irq] == 0, "SPI %u targets cpu %u, which has interrupts masked: not taken", irq, a);
    report(gic_irq_pending(irq), "ISPENDR read on cpu 0 shows it pending (4.3.7), though cpu %u's "
           "interface holds it", a);
    spi_targets(tgt(0));
    at0 = wait_hits(0, irq, 1);
    WRITE_ONCE(hold_go, true);
    cpu_idle_wait(a, LONG_US);
    report(hits_match(BIT(0), irq, buf, sizeof(buf)) && at0, "retargeted to cpu 0: taken there%s, "
           "and not by cpu %u once it unmasks (hits %s)", at0 ? "" : " (not at once)", a, buf);
}

/* The distributor's Group 0 enable holds a pending SPI back (4.3.1). */
static void v2_spi_group_enable(void)
{
    u32 irq = SPARE_SPI;
    char buf[64];

    clear_hits();
    spi_targets(tgt(0));
    writel(gicd + GICD_CTLR, 0);
    gic_irq_set_pending(irq);
    report(hits_match(0, irq, buf, sizeof(buf)), "EnableGrp0 = 0: pending SPI not delivered "
           "(hits %s)", buf);
    writel(gicd + GICD_CTLR, GICD_CTLR_ENABLE_G0);
    wait_hits(0, irq, 1);
    report(hits_match(BIT(0), irq, buf, sizeof(buf)), "EnableGrp0 = 1 again: delivered (hits %s)", buf);
}

static void v2_spi_targets(void)
{
    report_prefix_push("ITARGETSR");
    irq_set_handler(SPARE_SPI, count_irq);
    gic_irq_enable(SPARE_SPI);
    local_irq_enable();
    v2_spi_each_cpu();
    if (machine.nr_cpus > 1) {
        v2_spi_two_targets();
        v2_spi_move_pending();
    } else {
        report_skip("one vCPU: no other target to move an SPI to");
    }
    v2_spi_group_enable();
    gic_irq_disable(SPARE_SPI);
    spi_targets(tgt(0));
    irq_set_handler(SPARE_SPI, NULL);
    report_prefix_pop();
}

/* ---- EOImode 1: the priority drop by GICC_EOIR, the deactivation by GICC_DIR (4.4.15) ---- */
static void v2_dir_spi(void)
{
    u32 irq = SPARE_SPI, iar;

    gic_spi_route(irq, smp_id());
    gic_irq_enable(irq);
    gic_irq_set_pending(irq);
    iar = gic_wait_ack(LONG_US);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    report(iar == irq && gic_rpr() == 0xff && gic_irq_active(irq), "SPI %u after EOIR: priority "
           "dropped (RPR %#x), still active", irq, gic_rpr());
    gic_irq_set_pending(irq);
    iar = gic_wait_ack(SHORT_US);
    report(iar == GIC_SPURIOUS, "pended again: held back while active (IAR %u)", iar);
    gic_dir(irq);
    iar = gic_wait_ack(LONG_US);
    report(iar == irq, "GICC_DIR deactivates it: taken again (IAR %u)", iar);
    if (iar != GIC_SPURIOUS) {
        gic_eoi(iar);
        gic_dir(iar);
    }
    report(!gic_irq_active(irq) && !gic_irq_pending(irq), "neither active nor pending after DIR");
    gic_irq_disable(irq);
}

/* An SGI from another CPU: DIR carries its CPUID, as EOIR does. */
static void v2_dir_sgi(void)
{
    u32 iar;

    gic_irq_enable(6);
    on_cpu(1, send_sgi6_to_cpu0, NULL);
    iar = gic_wait_ack(LONG_US);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    report(iar == 6 && gic_sgi_source(6) == (unsigned int)__builtin_ctz(tgt(1)) &&
               gic_irq_active(6), "SGI 6 from cpu 1 (CPUID %u) after EOIR: still active",
           gic_sgi_source(6));
    gic_dir(6);
    report(!gic_irq_active(6), "GICC_DIR with its CPUID deactivates it");
    gic_irq_disable(6);
}

static void v2_eoimode1(void)
{
    u32 ctlr;

    report_prefix_push("EOImode 1");
    local_irq_disable();
    gic_set_eoimode(true);
    ctlr = readl(machine.gicc_base + GICC_CTLR);
    report(ctlr & GICC_CTLR_EOIMODE, "GICC_CTLR.EOImode set (%#x)", ctlr);
    v2_dir_spi();
    if (machine.nr_cpus > 1)
        v2_dir_sgi();
    gic_set_eoimode(false);
    local_irq_enable();
    report_prefix_pop();
}

static void v2_skips(void)
{
    report_skip("GICv3 only: redistributors (GICR_TYPER, GICR_WAKER): GICv2 banks SGIs and PPIs "
                "in the distributor");
    report_skip("GICv3 only: ARE, IROUTER and affinity routing: GICv2 routes SPIs by ITARGETSR");
    report_skip("GICv3 only: ICC_* system registers (SRE, ICC_CTLR.PRIbits): GICv2's CPU "
                "interface is GICC MMIO");
    report_skip("GICv3 only: SGIs by affinity (ICC_SGI1R_EL1, IRM, a missing Aff0): GICv2 has "
                "GICD_SGIR target lists and filters");
}

/* HPPIR names the highest-priority pending interrupt without acknowledging it. */
static void test_hppir(void)
{
    u32 h, iar;

    report_prefix_push("HPPIR");
    local_irq_disable();
    gic_irq_enable(5);
    gic_irq_enable(6);
    gic_irq_set_priority(6, 0x80);
    gic_send_sgi(smp_id(), 5);
    gic_send_sgi(smp_id(), 6);
    wait_until(gic_hppir() == 6, LONG_US);
    h = gic_hppir();
    iar = ack_eoi(LONG_US);
    report(h == 6 && iar == 6, "SGIs 5 (0xa0) and 6 (0x80) pending: HPPIR %u, then IAR %u", h, iar);
    h = gic_hppir();
    iar = ack_eoi(LONG_US);
    report(h == 5 && iar == 5, "then SGI 5: HPPIR %u, IAR %u", h, iar);
    gic_irq_set_priority(6, 0xa0);
    local_irq_enable();
    report_prefix_pop();
}

static void unexpected_irqs(void)
{
    unsigned int u = 0;

    for (unsigned int c = 0; c < machine.nr_cpus; c++)
        u += irq_unhandled[c];
    report(u == 0, "no unexpected interrupts (%u; last INTID %u)", u, irq_last_unhandled[0]);
}

/* What the two versions share, with their CPU interfaces and distributors apart. */
static void test_common(void)
{
    test_local_sgi_ppi();
    test_priority();
    test_hppir();
    test_active();
    test_lr_overflow();
}

static void gicv3_main(void)
{
    test_gicd_regs();
    test_gicr_regs();
    smp_boot_all();
    test_common();
    test_sgi_targets();
    test_spi_level_edge();
    test_spi_routing();
}

static void gicv2_main(void)
{
    v2_skips();
    v2_regs();
    smp_boot_all();
    v2_banked();
    v2_access_sizes();
    test_common();
    v2_eoimode1();
    v2_sgi_targets();
    v2_sgi_sources();
    test_spi_level_edge();
    v2_spi_pending_disabled();
    v2_spi_targets();
}

void guest_main(void)
{
    gicd = machine.gicd_base;
    uart = machine.uart_base;
    report_prefix_push("gic");
    report_info("GICv%u, %u vCPU(s)", machine.gic_version, machine.nr_cpus);
    if (gic_v2())
        gicv2_main();
    else
        gicv3_main();
    unexpected_irqs();
    report_prefix_pop();
}
