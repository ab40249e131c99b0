/*
 * lrprio: interrupts queued in list registers keep the priority they had
 * when queued. Found by the hostile guest (its end-of-run check: SGIs still
 * pending 50 ms after everything that gates delivery was made permissive,
 * ICC_HPPIR1 naming one, ICC_IAR1 returning 1023).
 *
 * On one vCPU: SGIs 0-3 made pending at the lowest priority (0xf8 with 5
 * priority bits), which the highest PMR (0xf8) still masks, fill the
 * virtual CPU interface's four list registers. The guest then raises their
 * priority, after which the architecture lets them be taken; and sends SGI
 * 5 at priority 0xa0. Natively all three checks pass. Under Keel the list
 * registers keep priority 0xf8, so nothing in them is ever taken, and no
 * list register ever drains for SGI 5 (or the timer, or anything else).
 *
 * Kept here, not in tests/guests/, so test_guests.py does not run it;
 * tests/system/test_hostile.py runs it as an expected failure until the
 * vGIC handles it.
 */
#include "libguest.h"

static volatile unsigned int taken[16];

static void on_sgi(u32 intid, struct ex_frame *f)
{
    taken[intid]++;
}

void guest_main(void)
{
    u64 sgi = gicr_base(0) + GICR_SGI;

    for (u32 i = 0; i < 16; i++) {
        irq_set_handler(i, on_sgi);
        gic_irq_enable(i);
    }
    gic_set_pmr(0xff); /* only the implemented bits stick: 0xf8 */
    local_irq_disable();
    for (u32 i = 0; i < 4; i++) {
        writeb(sgi + GICD_IPRIORITYR + i, 0xf8);
        gic_send_sgi(0, i);
    }
    (void)readl(machine.gicd_base + GICD_TYPER); /* an exit, on which they go into LRs */
    local_irq_enable();
    udelay(10000);
    report(!taken[0] && !taken[1] && !taken[2] && !taken[3],
           "SGIs 0-3 at the lowest priority are masked by PMR %#x", gic_pmr());

    writel(sgi + GICD_IPRIORITYR, 0xa0a0a0a0);
    udelay(10000);
    report(taken[0] == 1 && taken[1] == 1 && taken[2] == 1 && taken[3] == 1,
           "SGIs 0-3 are taken once raised to priority 0xa0 (taken %u %u %u %u)", taken[0],
           taken[1], taken[2], taken[3]);

    gic_irq_set_priority(5, 0xa0);
    gic_send_sgi(0, 5);
    udelay(10000);
    report(taken[5] == 1, "SGI 5 at priority 0xa0 is taken (taken %u)", taken[5]);
    report_info("ICC_HPPIR1 %u, GICR_ISPENDR0 %#x", gic_hppir(), readl(sgi + GICD_ISPENDR));
}
