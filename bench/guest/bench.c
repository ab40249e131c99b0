/*
 * Exit-cost micro-benchmarks, run by bench/run.py natively (QEMU at EL1,
 * no EL2) and under Keel, both with -icount shift=0: the virtual counter
 * then advances with executed instructions (1 ns each), so "ns per
 * operation" reads as instructions per operation and the difference between
 * the two runs is exactly what Keel executes on that path.
 *
 * Prints "BENCH <name> <value>" lines, value with one decimal.
 */
#include "../../tests/guests/lib/libguest.h"

#define ITERS 2000
#define TIMER_ROUNDS 50

/* A function ID from the SiP service (OEN 2), which Keel does not implement. */
#define SMCCC_SIP_NULL 0x82000000U
#define PSCI_VERSION_FN 0x84000000U
#define GICD_IIDR_OFF 0x0008
#define UARTFR_OFF 0x018
#define BENCH_SGI 3

/*
 * Elapsed counter ticks as tenths of a nanosecond per operation. Whole ticks
 * per operation and the remainder are scaled apart: ticks * 10^10 alone
 * overflows past 1.8e9 ticks, 1.8 s at QEMU 10's 1 GHz counter.
 */
static u64 per_op_x10(u64 ticks, u64 ops)
{
    u64 whole = ticks / ops, rest = ticks % ops;

    return (whole * 10000000000UL + rest * 10000000000UL / ops) / cnt_freq();
}

static void print_result(const char *name, u64 x10)
{
    printf("BENCH %s %lu.%lu\n", name, x10 / 10, x10 % 10);
}

static void bench_loop_overhead(void)
{
    u64 t0 = cntvct();
    for (unsigned int i = 0; i < ITERS; i++)
        __asm__ volatile("" ::: "memory");
    print_result("empty_loop", per_op_x10(cntvct() - t0, ITERS));
}

static void bench_hvc(const char *name, u32 fn)
{
    u64 t0 = cntvct();
    for (unsigned int i = 0; i < ITERS; i++)
        smccc_hvc(fn, 0, 0, 0);
    print_result(name, per_op_x10(cntvct() - t0, ITERS));
}

static void bench_read(const char *name, u64 addr)
{
    u64 t0 = cntvct();
    for (unsigned int i = 0; i < ITERS; i++)
        (void)readl(addr);
    print_result(name, per_op_x10(cntvct() - t0, ITERS));
}

/*
 * SGI to this CPU, polled: the trapped ICC_SGI1R_EL1 write, the injection,
 * the acknowledge and the EOI (both handled by the virtual CPU interface).
 */
static void bench_sgi_self(void)
{
    u64 send = 0, eoi = 0, t0, t1;
    unsigned int got = 0;

    local_irq_disable();
    gic_irq_enable(BENCH_SGI);
    for (unsigned int i = 0; i < ITERS; i++) {
        t0 = cntvct();
        gic_send_sgi(smp_id(), BENCH_SGI);
        u32 intid = gic_ack();
        t1 = cntvct();
        send += t1 - t0;
        gic_eoi(intid);
        eoi += cntvct() - t1;
        got += intid == BENCH_SGI;
    }
    if (got != ITERS)
        printf("FAIL: bench: %u of %u SGIs acknowledged\n", got, ITERS);
    print_result("sgi_self_send_to_ack", per_op_x10(send, ITERS));
    print_result("eoi", per_op_x10(eoi, ITERS));
}

/* Virtual timer: from the programmed deadline to the acknowledge, polled. */
static void bench_timer_latency(void)
{
    u32 ppi = machine.timer_ppi[2];
    u64 total = 0;
    unsigned int got = 0;

    local_irq_disable();
    gic_irq_enable(ppi);
    for (unsigned int i = 0; i < TIMER_ROUNDS; i++) {
        u64 deadline = cntvct() + us_to_ticks(50);
        vtimer_set_cval(deadline);
        vtimer_set_ctl(CNT_CTL_ENABLE);
        u32 intid;
        while ((intid = gic_ack()) == 1023)
            ;
        total += cntvct() - deadline;
        vtimer_set_ctl(0);
        gic_eoi(intid);
        got += intid == ppi;
    }
    gic_irq_disable(ppi);
    if (got != TIMER_ROUNDS)
        printf("FAIL: bench: %u of %u timer interrupts\n", got, TIMER_ROUNDS);
    print_result("vtimer_latency", per_op_x10(total, TIMER_ROUNDS));
}

void guest_main(void)
{
    printf("bench: %u iterations per figure, counter %lu Hz\n", ITERS, cnt_freq());
    bench_loop_overhead();
    bench_hvc("hvc_null", SMCCC_SIP_NULL);
    bench_hvc("hvc_psci_version", PSCI_VERSION_FN);
    bench_read("mmio_gicd_iidr", machine.gicd_base + GICD_IIDR_OFF);
    bench_read("mmio_uart_fr", machine.uart_base + UARTFR_OFF);
    bench_sgi_self();
    bench_timer_latency();
}
