/*
 * Scheduler benchmarks, run by bench/run.py's sched section natively and
 * under Keel with -icount shift=0,sleep=off. The counter then advances one
 * tick (at QEMU 10's 1 GHz) per instruction executed anywhere on the board,
 * any CPU, any exception level, and a board with every CPU idle jumps straight
 * to its next timer instead of following the host's clock: every figure is a
 * count of instructions and repeats run after run.
 *
 * One image for every VM of a run: the mode and its parameters come from the
 * command line (/chosen/bootargs, "mode=<mode> key=<n> ..."):
 *
 *   switch   vCPUs 0 and 1 hand the CPU to each other, an SGI and a WFI
 *            each in turn: instructions per switch (iters=, warmup=)
 *   latency  the virtual timer armed period_us= ahead and waited for in WFI:
 *            its deadline to the handler's counter read (samples=, warmup=,
 *            settle_us=: one wait that long first)
 *   spin     a busy loop: the latency run's neighbour (until_ms=: stop then)
 *   fair     a busy loop counting its iterations from start_ms= to
 *            start_ms= + window_ms= of the counter, the same absolute window
 *            in every VM of the run (gap_us=: a longer step was time away)
 *
 * Prints "BENCH <name> <value>" lines, as bench.c does, and the latency
 * samples as "SAMPLES <name> <value>..." lines.
 */
#include "../../tests/guests/lib/libguest.h"

#define NS_PER_S 1000000000UL
#define MAX_SAMPLES 1000
#define SAMPLES_PER_LINE 16

/* ---- output ---- */

/*
 * Counter ticks as ns, which under icount are instructions. Whole seconds
 * and the rest are converted apart: ticks * 10^9 overflows past 18 s at 1 GHz.
 */
static u64 ticks_to_ns(u64 ticks)
{
    u64 freq = cnt_freq();

    return ticks / freq * NS_PER_S + ticks % freq * NS_PER_S / freq;
}

/* Tenths of an instruction per operation. */
static u64 insns_x10(u64 ticks, u64 ops)
{
    return ticks_to_ns(ticks) * 10 / ops;
}

static void print_x10(const char *name, u64 x10)
{
    printf("BENCH %s %lu.%lu\n", name, x10 / 10, x10 % 10);
}

static void print_count(const char *name, u64 n)
{
    printf("BENCH %s %lu\n", name, n);
}

/* ---- switch: two vCPUs of this VM hand the CPU to each other ---- */

/*
 * Each vCPU sends the other an SGI and waits for the reply in WFI. On a
 * shared CPU the WFI blocks the sender and the SGI has made the other
 * runnable, so every wait is one switch. (A WFE ping-pong would be cheaper
 * to wake, but QEMU never traps WFE, whatever HCR_EL2.TWE says: it only ends
 * the CPU's turn.) Natively each CPU halts in its WFI until the other's SGI,
 * so the same guest instructions run in the same order, and the native
 * figure is the guest's own share of a switch.
 */
#define PING_SGI 3

struct pingpong {
    u32 warm, iters;    /* iterations before the timed ones, and in all */
    u32 steps[2];       /* iterations each vCPU has begun */
    u32 misses;         /* vCPU 0's turns on which vCPU 1 did not take exactly one step */
    u32 others;         /* INTIDs acknowledged other than PING_SGI */
    u64 polls[2];       /* spurious acknowledges, each followed by a WFI */
    u64 send_ticks[2];  /* the timed iterations' SGI sends, per vCPU */
    bool done;
};

/* Interrupts masked: the SGI wakes the WFI and is acknowledged by polling. */
static void ping_wait(struct pingpong *p, unsigned int me)
{
    u32 intid;

    while ((intid = gic_ack()) == GIC_SPURIOUS) {
        p->polls[me]++;
        wfi();
    }
    gic_eoi(intid);
    if (intid != PING_SGI)
        p->others++;
}

static void ping_send(struct pingpong *p, unsigned int me, bool timed)
{
    u64 t = cntvct();

    gic_send_sgi(1 - me, PING_SGI);
    if (timed)
        p->send_ticks[me] += cntvct() - t;
}

/*
 * vCPU 0 sends, then waits; vCPU 1 waits, then sends. vCPU 0 checks after
 * each wait that vCPU 1 took exactly one step meanwhile.
 */
static void pingpong_steps(struct pingpong *p, unsigned int me, u32 from, u32 to, u32 timed_from)
{
    for (u32 i = from; i < to; i++) {
        if (me == 1)
            ping_wait(p, me);
        WRITE_ONCE(p->steps[me], i + 1);
        ping_send(p, me, i >= timed_from);
        if (me == 0) {
            ping_wait(p, me);
            p->misses += READ_ONCE(p->steps[1]) != i + 1;
        }
    }
}

static void pingpong_partner(void *arg)
{
    struct pingpong *p = arg;

    local_irq_disable();
    gic_irq_enable(PING_SGI);
    ping_send(p, 1, false); /* ready: vCPU 0 may send */
    pingpong_steps(p, 1, 0, p->iters, p->warm);
    p->done = true;
}

static bool partner_start(struct pingpong *p)
{
    if (machine.nr_cpus < 2) {
        printf("FAIL: schedbench: switch needs 2 vCPUs, the DT has %u\n", machine.nr_cpus);
        return false;
    }
    if (smp_boot(1) != PSCI_RET_SUCCESS) {
        printf("FAIL: schedbench: CPU_ON of vCPU 1 failed\n");
        return false;
    }
    on_cpu_async(1, pingpong_partner, p);
    ping_wait(p, 0);
    return true;
}

static void pingpong_report(const struct pingpong *p, u32 n, u64 ticks)
{
    u64 switches = 2 * (u64)n;

    if (p->misses || p->others)
        printf("FAIL: schedbench: vCPU 1 did not take exactly one step in %u of %u turns; "
               "%u other interrupts\n", p->misses, p->iters, p->others);
    printf("schedbench: switch: %u timed iterations, %lu switches, %lu ticks; "
           "WFIs (warm-up included): vCPU 0 %lu, vCPU 1 %lu\n",
           n, switches, ticks, p->polls[0], p->polls[1]);
    print_x10("vcpu_switch", insns_x10(ticks, switches));
    print_x10("vcpu_switch_sgi_send", insns_x10(p->send_ticks[0] + p->send_ticks[1], switches));
}

static void bench_switch(void)
{
    static struct pingpong p;
    u32 warm = (u32)bootarg_num("warmup", 16), n = (u32)bootarg_num("iters", 2000);
    u64 t0, t1;

    p.warm = warm;
    p.iters = warm + n;
    local_irq_disable();
    gic_irq_enable(PING_SGI);
    if (!n || !partner_start(&p))
        return;
    pingpong_steps(&p, 0, 0, warm, warm);
    t0 = cntvct();
    pingpong_steps(&p, 0, warm, warm + n, warm);
    t1 = cntvct();
    if (!wait_until(READ_ONCE(p.done), 1000000))
        printf("FAIL: schedbench: vCPU 1 did not finish its steps\n");
    pingpong_report(&p, n, t1 - t0);
}

/* ---- latency: the virtual timer, waited for in WFI ---- */

static volatile u64 timer_seen_at;

/* The counter first: what comes after is not the wake-up's. */
static void vtimer_irq(u32 intid, struct ex_frame *f)
{
    u64 now = cntvct();

    vtimer_set_ctl(0); /* the line drops before the EOI */
    timer_seen_at = now;
}

/*
 * One deadline @period ticks ahead. WFI runs with interrupts masked, so the
 * interrupt cannot come between the check and the WFI; it wakes the WFI all
 * the same and is taken once they are unmasked.
 */
static u64 vtimer_wake(u64 period)
{
    u64 deadline = cntvct() + period;

    timer_seen_at = 0;
    vtimer_set_cval(deadline);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    while (!timer_seen_at) {
        wfi();
        local_irq_enable();
        isb();
        local_irq_disable();
    }
    return timer_seen_at - deadline;
}

struct spread {
    u64 min, max, sum;
};

static struct spread spread_of(const u64 *v, unsigned int n)
{
    struct spread s = { ~0UL, 0, 0 };

    for (unsigned int i = 0; i < n; i++) {
        s.min = v[i] < s.min ? v[i] : s.min;
        s.max = v[i] > s.max ? v[i] : s.max;
        s.sum += v[i];
    }
    return s;
}

/* Each sample in instructions, for the JSON, a line at a time. */
static void print_samples(const char *name, const u64 *v, unsigned int n)
{
    char line[SAMPLES_PER_LINE * 12 + 64];

    for (unsigned int i = 0; i < n; i += SAMPLES_PER_LINE) {
        int len = snprintf(line, sizeof(line), "SAMPLES %s", name);

        for (unsigned int k = i; k < n && k < i + SAMPLES_PER_LINE; k++)
            len += snprintf(line + len, sizeof(line) - (size_t)len, " %lu", ticks_to_ns(v[k]));
        printf("%s\n", line);
    }
}

static void bench_latency(void)
{
    static u64 samples[MAX_SAMPLES];
    u32 ppi = machine.timer_ppi[2];
    unsigned int n = (unsigned int)bootarg_num("samples", 200), warm = (unsigned int)bootarg_num("warmup", 4);
    u64 period = us_to_ticks(bootarg_num("period_us", 100));
    struct spread s;

    if (!n || n > MAX_SAMPLES) {
        printf("FAIL: schedbench: samples=%u is not 1..%u\n", n, MAX_SAMPLES);
        return;
    }
    irq_set_handler(ppi, vtimer_irq);
    local_irq_disable();
    gic_irq_enable(ppi);
    /* a neighbour booting would make the first samples differ: let it reach its loop */
    (void)vtimer_wake(us_to_ticks(bootarg_num("settle_us", 10000)));
    for (unsigned int i = 0; i < warm; i++)
        (void)vtimer_wake(period);
    for (unsigned int i = 0; i < n; i++)
        samples[i] = vtimer_wake(period);
    gic_irq_disable(ppi);
    s = spread_of(samples, n);
    print_samples("vtimer_wake", samples, n);
    print_x10("vtimer_wake_min", insns_x10(s.min, 1));
    print_x10("vtimer_wake_avg", insns_x10(s.sum, n));
    print_x10("vtimer_wake_max", insns_x10(s.max, 1));
}

/* ---- spin: busy for ever, or until until_ms= of the counter ---- */

/* A bounded spin lets a traced run (bench/exit_trace.py) end by itself. */
static void spin(void)
{
    u64 until = bootarg_num("until_ms", 0) * cnt_freq() / 1000;
    static volatile u64 spins;

    printf("schedbench: spinning\n");
    while (!until || cntvct() < until)
        spins++;
}

/* ---- fair: iterations of a busy loop over one absolute counter window ---- */

struct share {
    u64 iters;     /* loop iterations in the window */
    u64 on_cpu;    /* ticks between consecutive reads closer than the gap */
    u64 away;      /* longer steps: the vCPU was off its CPU */
};

static struct share busy_window(u64 start, u64 end, u64 gap)
{
    struct share s = { 0, 0, 0 };
    u64 prev, now;

    while ((prev = cntvct()) < start)
        ;
    while ((now = cntvct()) < end) {
        if (now - prev < gap)
            s.on_cpu += now - prev;
        else
            s.away++;
        prev = now;
        s.iters++;
    }
    return s;
}

static void bench_fair(void)
{
    u64 freq = cnt_freq();
    u64 start = bootarg_num("start_ms", 200) * freq / 1000;
    u64 end = start + bootarg_num("window_ms", 1000) * freq / 1000;
    u64 now = cntvct();
    struct share s;

    if (now >= start) {
        printf("FAIL: schedbench: the window starts at %lu ticks, the counter is at %lu already\n",
               start, now);
        return;
    }
    s = busy_window(start, end, us_to_ticks(bootarg_num("gap_us", 20)));
    printf("schedbench: fair: window %lu..%lu ticks\n", start, end);
    print_count("fair_iterations", s.iters);
    print_count("fair_on_cpu", ticks_to_ns(s.on_cpu));
    print_count("fair_window", ticks_to_ns(end - start));
    print_count("fair_times_away", s.away);
}

void guest_main(void)
{
    const char *mode = bootarg("mode");

    printf("schedbench: mode=%s, counter %lu Hz\n", mode ? mode : "?", cnt_freq());
    if (bootarg_is("mode", "switch"))
        bench_switch();
    else if (bootarg_is("mode", "latency"))
        bench_latency();
    else if (bootarg_is("mode", "spin"))
        spin();
    else if (bootarg_is("mode", "fair"))
        bench_fair();
    else
        printf("FAIL: schedbench: no mode=switch|latency|spin|fair on the command line\n");
}
