/*
 * gic: the virtual GICv3 (Arm IHI 0069) from inside the guest.
 *  - distributor and redistributor ID/config registers: TYPER sized for this
 *    VM, IIDR, PIDR2, read-only registers ignore writes, ARE/DS RAO/WI
 *  - SGIs to one CPU, to a target list of all, to all others (IRM = 1)
 *  - PPIs: software pending, per-CPU, pending while disabled
 *  - priorities: implemented bits, PMR masking, preemption, running priority,
 *    the binary point, EOImode 1 (priority drop apart from deactivation)
 *  - active state: ISACTIVER while handled, set by software, blocks delivery
 *  - more active interrupts than the hypervisor has list registers: EOImode 1
 *    (acknowledged, priority-dropped, deactivated one by one) and EOImode 0
 *    (five nested, EOIs in reverse order)
 *  - SPIs: routing (IROUTER), level vs edge with the vPL011's TX interrupt
 *    (loopback mode, so nothing reaches the console), GICD_CTLR group enable
 * Most checks poll ICC_IAR1_EL1 with PSTATE.I set; the targeting checks take
 * the interrupts through the vectors on every CPU.
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

/* ---- registers ---- */
static void test_gicd_regs(void)
{
    u32 typer = readl(gicd + GICD_TYPER), ctlr, v, iidr, pidr2;
    unsigned int idbits = FIELD_GET(typer, 23, 19) + 1;

    report_prefix_push("GICD");
    nr_irqs = 32 * (FIELD_GET(typer, 4, 0) + 1);
    if (nr_irqs > 1020)
        nr_irqs = 1020;
    report(nr_irqs >= 64 && machine.uart_intid < nr_irqs,
           "TYPER.ITLinesNumber %lu: %u INTIDs, the UART's INTID %u among them",
           FIELD_GET(typer, 4, 0), nr_irqs, machine.uart_intid);
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

    /* The last implemented SPI works; the registers beyond are RAZ/WI. */
    {
        u32 last = nr_irqs - 1;
        gic_irq_enable(last);
        bool on = gic_irq_enabled(last);
        gic_irq_disable(last);
        report(on && !gic_irq_enabled(last), "ISENABLER/ICENABLER of the last SPI (%u)", last);
    }
    if (nr_irqs <= 988) {
        writel(gicd + GICD_ISENABLER + nr_irqs / 8, ~0U);
        writeb(gicd + GICD_IPRIORITYR + nr_irqs, 0x80);
        report(readl(gicd + GICD_ISENABLER + nr_irqs / 8) == 0 &&
                   readb(gicd + GICD_IPRIORITYR + nr_irqs) == 0,
               "ISENABLER/IPRIORITYR beyond ITLinesNumber are RAZ/WI");
    }
    /* SGI/PPI registers live in the redistributors: the GICD copies are RAZ/WI. */
    writel(gicd + GICD_ISENABLER, ~0U);
    report(readl(gicd + GICD_ISENABLER) == 0, "GICD_ISENABLER0 (private INTIDs) is RAZ/WI");

    /* priorities: only the implemented high-order bits stick */
    writeb(gicd + GICD_IPRIORITYR + machine.uart_intid, 0xff);
    prio_mask = readb(gicd + GICD_IPRIORITYR + machine.uart_intid);
    report((prio_mask & 0xf0) == 0xf0 && (u8)(prio_mask | (prio_mask - 1)) == 0xff,
           "IPRIORITYR: %d implemented priority bits (%#x)", popcount8(prio_mask), prio_mask);
    writel(gicd + GICD_IPRIORITYR + (machine.uart_intid & ~3U), 0x12345678);
    v = readl(gicd + GICD_IPRIORITYR + (machine.uart_intid & ~3U));
    report(v == (0x12345678 & (prio_mask * 0x01010101U)), "IPRIORITYR: word write, masked (%#x)", v);
    writel(gicd + GICD_IPRIORITYR + (machine.uart_intid & ~3U), 0xa0a0a0a0);
    {
        u64 icc = gic_icc_ctlr();
        unsigned int pribits = FIELD_GET(icc, 10, 8) + 1;
        report(pribits == (unsigned int)popcount8(prio_mask),
               "the CPU interface has the distributor's %u priority bits (ICC_CTLR %#lx)", pribits, icc);
        report((read_sysreg(S3_0_C12_C12_5) & 1), "ICC_SRE_EL1.SRE = 1");
    }

    /* ICFGR: SPIs configurable */
    gic_spi_set_edge(machine.uart_intid, true);
    v = readl(gicd + GICD_ICFGR + machine.uart_intid / 16 * 4) >> (2 * (machine.uart_intid % 16));
    gic_spi_set_edge(machine.uart_intid, false);
    report((v & 2) && !(readl(gicd + GICD_ICFGR + machine.uart_intid / 16 * 4) >>
                        (2 * (machine.uart_intid % 16)) & 2),
           "ICFGR: an SPI switches between edge and level");

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
     * Binary point: for Group 1 the group priority is bits [7:BPR1], so with
     * BPR1 = 7 priorities 0x60 and 0x40 share a group and do not preempt.
     */
    gic_irq_set_priority(5, 0x60);
    write_sysreg(S3_0_C12_C12_3, 7);
    isb();
    report(read_sysreg(S3_0_C12_C12_3) == 7, "BPR1 reads back 7");
    gic_send_sgi(smp_id(), 5);
    iar = gic_wait_ack(LONG_US);
    gic_send_sgi(smp_id(), 7);
    udelay(SHORT_US);
    {
        u32 iar2 = gic_ack();
        report(iar == 5 && iar2 == GIC_SPURIOUS, "BPR1 7: SGI 7 does not preempt SGI 5 (%u, %u)", iar, iar2);
        if (iar2 != GIC_SPURIOUS)
            gic_eoi(iar2);
    }
    if (iar == 5)
        gic_eoi(5);
    iar = ack_eoi(LONG_US);
    report(iar == 7, "SGI 7 delivered after SGI 5's EOI (IAR %u)", iar);
    write_sysreg(S3_0_C12_C12_3, 0);
    isb();

    /* EOImode 1: EOIR drops the priority, DIR deactivates */
    gic_set_icc_ctlr(gic_icc_ctlr() | ICC_CTLR_EOIMODE);
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
    gic_set_icc_ctlr(gic_icc_ctlr() & ~ICC_CTLR_EOIMODE);

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
    return readl(gicr_base(smp_id()) + GICR_SGI + GICD_ISACTIVER);
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
    gic_set_icc_ctlr(gic_icc_ctlr() & ~ICC_CTLR_EOIMODE);
}

/* EOImode 1: SGIs 1-4 taken and priority-dropped stay active, then more arrive. */
static void lr_overflow_eoimode1(void)
{
    u32 iar, n = 0, act;

    gic_set_icc_ctlr(gic_icc_ctlr() | ICC_CTLR_EOIMODE);
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
    report((act & SGI_BITS(7)) == 0 && iar == GIC_SPURIOUS && !(readl(gicr_base(smp_id()) + GICR_SGI +
           GICD_ISPENDR) & SGI_BITS(7)), "EOImode 1: all inactive after DIR, nothing pending or lost "
           "(ISACTIVER0 %#x, IAR %u)", act, iar);
    gic_set_icc_ctlr(gic_icc_ctlr() & ~ICC_CTLR_EOIMODE);
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

void guest_main(void)
{
    gicd = machine.gicd_base;
    uart = machine.uart_base;
    report_prefix_push("gic");
    report_info("%u vCPU(s)", machine.nr_cpus);
    test_gicd_regs();
    test_gicr_regs();
    smp_boot_all();
    test_local_sgi_ppi();
    test_priority();
    test_active();
    test_lr_overflow();
    test_sgi_targets();
    test_spi_level_edge();
    test_spi_routing();
    {
        unsigned int u = 0;
        for (unsigned int c = 0; c < machine.nr_cpus; c++)
            u += irq_unhandled[c];
        report(u == 0, "no unexpected interrupts (%u; last INTID %u)", u, irq_last_unhandled[0]);
    }
    report_prefix_pop();
}
