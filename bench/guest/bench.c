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
#define IPI_WARMUP 16

/* A function ID from the SiP service (OEN 2), which Keel does not implement. */
#define SMCCC_SIP_NULL 0x82000000U
#define PSCI_VERSION_FN 0x84000000U
#define GICD_IIDR_OFF 0x0008
#define UARTFR_OFF 0x018
/* QEMU virt's first virtio-mmio slot: natively QEMU's empty transport, under Keel its own. */
#define VIRTIO_SLOT0_MAGIC 0x0a000000UL
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

/*
 * Cross-CPU IPI, CPU 0 to CPU 1, as round trips. CPU 0 sends BENCH_SGI and
 * polls a counter in memory; CPU 1 polls its acknowledge register with
 * interrupts masked, EOIs the SGI and bumps the counter. Both polling loops
 * run cpu_relax() (YIELD) each time round.
 *
 * What the figure counts: under -icount QEMU runs the CPUs round robin on
 * one thread, and the virtual counter advances with the instructions of
 * every CPU, so the counter CPU 0 reads around the rounds counts what both
 * CPUs executed meanwhile. Outside parallel TCG, YIELD ends the CPU's turn,
 * so each side polls exactly once per round before the other runs: CPU 0
 * sends and polls, CPU 1 acknowledges, EOIs, bumps the counter and polls
 * (spurious), CPU 0 sees the counter. Natively the figure is those guest
 * instructions of both CPUs; under Keel the same ones plus everything Keel
 * runs on both physical CPUs (the trapped send, the physical IPI, the
 * injection, and anything it makes the guest poll in addition). No CPU ever
 * idles (no WFI), which would let the clock follow the host's.
 *
 * The polls are counted, so the log shows whether Keel changed them.
 */
struct ipi_ping {
    unsigned int rounds;     /* warm-up included */
    bool ready;              /* CPU 1 polls with interrupts masked */
    u32 acked;               /* rounds CPU 1 has acknowledged */
    u32 others;              /* other INTIDs CPU 1 acknowledged */
    u64 polls;               /* CPU 1's spurious acknowledges */
};

static void ipi_responder(void *arg)
{
    struct ipi_ping *p = arg;
    u64 polls = 0;

    local_irq_disable();
    gic_irq_enable(BENCH_SGI);
    __atomic_store_n(&p->ready, true, __ATOMIC_RELEASE);
    while (READ_ONCE(p->acked) < p->rounds) {
        u32 intid = gic_ack();

        if (intid == GIC_SPURIOUS) {
            polls++;
            cpu_relax();
            continue;
        }
        gic_eoi(intid);
        if (intid == BENCH_SGI)
            __atomic_store_n(&p->acked, p->acked + 1, __ATOMIC_RELEASE);
        else
            p->others++;
    }
    gic_irq_disable(BENCH_SGI);
    p->polls = polls;
}

/* Rounds @from to @to - 1: send, then wait for CPU 1 to count it. Returns CPU 0's polls. */
static u64 ipi_rounds(struct ipi_ping *p, u32 from, u32 to)
{
    u64 polls = 0;

    for (u32 n = from; n < to; n++) {
        gic_send_sgi(1, BENCH_SGI);
        while (__atomic_load_n(&p->acked, __ATOMIC_ACQUIRE) != n + 1) {
            polls++;
            cpu_relax();
        }
    }
    return polls;
}

static void bench_ipi(void)
{
    static struct ipi_ping ping = { .rounds = IPI_WARMUP + ITERS };
    u64 t0, t1, polls;

    if (machine.nr_cpus < 2)
        return;
    if (smp_boot(1) != PSCI_RET_SUCCESS) {
        printf("FAIL: bench: CPU_ON of CPU 1 failed\n");
        return;
    }
    local_irq_disable();
    on_cpu_async(1, ipi_responder, &ping);
    /* Before it is ready, CPU 1's idle loop would take the SGI as an interrupt. */
    if (!wait_until(READ_ONCE(ping.ready), 1000000)) {
        printf("FAIL: bench: CPU 1 did not start answering IPIs\n");
        return;
    }
    /* The warm-up brings both CPUs into step; then the timed rounds. */
    ipi_rounds(&ping, 0, IPI_WARMUP);
    t0 = cntvct();
    polls = ipi_rounds(&ping, IPI_WARMUP, ping.rounds);
    t1 = cntvct();
    if (!cpu_idle_wait(1, 10000000))
        printf("FAIL: bench: CPU 1 still busy after the IPI rounds\n");
    if (ping.others)
        printf("FAIL: bench: CPU 1 acknowledged %u other interrupts\n", ping.others);
    printf("bench: ipi: %u rounds, CPU 0 polled %lu times, CPU 1 %lu (warm-up included)\n",
           ITERS, polls, ping.polls);
    print_result("ipi_cpu0_to_cpu1_round_trip", per_op_x10(t1 - t0, ITERS));
}

void guest_main(void)
{
    printf("bench: %u iterations per figure, counter %lu Hz\n", ITERS, cnt_freq());
    bench_loop_overhead();
    bench_hvc("hvc_null", SMCCC_SIP_NULL);
    bench_hvc("hvc_psci_version", PSCI_VERSION_FN);
    bench_read("mmio_gicd_iidr", machine.gicd_base + GICD_IIDR_OFF);
    bench_read("mmio_uart_fr", machine.uart_base + UARTFR_OFF);
    bench_read("mmio_virtio_magic", VIRTIO_SLOT0_MAGIC);
    bench_sgi_self();
    bench_timer_latency();
    bench_ipi();
}
