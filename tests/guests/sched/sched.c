/*
 * sched: loads and probes for Keel's vCPU scheduler (issue 9), driven by
 * tests/system/test_sched.py. It measures and prints machine-readable
 * lines; the test compares VMs with one another, since only it sees them
 * all. What must hold whatever the scheduler does (no timer interrupt
 * before its deadline, the counter never going back) is a PASS/FAIL.
 *
 * Seconds and windows are absolute counter time (count / CNTFRQ), not time
 * since boot: Keel runs every VM with CNTVOFF_EL2 = 0, so second 42 of one
 * VM is second 42 of the others and the test can line their figures up.
 *
 * Bootargs (keel-run bootargs=, or -append natively):
 *   sched.mode=spin|latency|duty|idle   what to do (spin)
 *   sched.seconds=S   spin/duty: whole seconds to run (5); 0: spin forever
 *   sched.window=W    spin: ms per window, a divisor of 1000 (10)
 *   sched.duty=D      duty: ms busy then ms idle, a divisor of 1000 (50)
 *   sched.phase=0|1   duty: busy in even (0) or odd (1) windows (0)
 *   sched.count=N     latency: samples, at most 4096 (200)
 *   sched.period=P    latency: ms from arming to the deadline (5)
 *   sched.timer=virt|phys  latency: the virtual or the EL1 physical timer
 *   sched.outlier=US  latency: print each sample later than this (0: none)
 *   sched.delay=MS    idle (WFI) this long before starting (0)
 *   sched.quiet=1     spin: no per-second lines
 *   sched.gap=US      spin: print each stretch longer than this between two
 *                     batches, time it was not running (0: none)
 *   sched.stay=1      when done, stay up (and listen) instead of SYSTEM_OFF
 *
 * While spinning or staying up, vCPU 0 reads its console between windows:
 *   p  print every vCPU's progress       o  PSCI SYSTEM_OFF
 *   c  crash: every vCPU's exception vector faults, so Keel stops them
 *   h  hang: every vCPU spins with interrupts masked, as a panicked kernel
 */
#include "libguest.h"

#define SPIN_BATCH 1024
#define MAX_SAMPLES 4096
#define STAY_POLL_MS 20
#define UARTDR 0x00
#define UARTFR 0x18
#define UARTFR_RXFE BIT(4)
/* No stage-2 mapping there under Keel (the traps guest uses it too). */
#define UNMAPPED_IPA 0x09fff000UL

struct cfg {
    u64 seconds, window_ms, duty_ms, phase, count, period_ms, delay_ms, outlier_us, gap_us;
    bool phys, quiet, stay;
};
static struct cfg cfg;
static u64 freq;
static u32 vppi, pppi;

/* ---- time ---- */
static u64 ms_ticks(u64 ms)
{
    return ms * freq / 1000;
}

static u64 ticks_ns(u64 t)
{
    return t * 1000000000UL / freq;
}

/* The interrupt only wakes WFI; the level must drop before the EOI. */
static void vtimer_quiet(u32 intid, struct ex_frame *f)
{
    vtimer_set_ctl(0);
}

/* Masked while checking, so a deadline passing just before WFI still wakes it. */
static void sleep_until(u64 t)
{
    local_irq_disable();
    vtimer_set_cval(t);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    while (cntvct() < t) {
        wfi();
        local_irq_enable();
        isb();
        local_irq_disable();
    }
    vtimer_set_ctl(0);
    local_irq_enable();
}

/* Work the compiler cannot drop or shorten: @n trips round a loop. */
static void burn(u64 n)
{
    __asm__ volatile("1: subs %0, %0, #1\n b.ne 1b" : "+r"(n) : : "cc");
}

/* The first whole second from now (counter time). */
static u64 next_second(void)
{
    return cntvct() / freq + 1;
}

/* ---- console commands ---- */
enum crash { CRASH_NONE, CRASH_FAULT, CRASH_HANG };
static volatile enum crash crash_kind;
static volatile bool spinning;

static int uart_getc(void)
{
    if (!machine.uart_base || (readl(machine.uart_base + UARTFR) & UARTFR_RXFE))
        return -1;
    return (int)(readl(machine.uart_base + UARTDR) & 0xff);
}

/*
 * With the MMU off, a load with no stage-2 mapping makes Keel inject an
 * abort to VBAR_EL1 (0) + 0x200, whose fetch aborts at the vector itself:
 * Keel stops the vCPU. With the MMU on it would be a stage-1 loop that
 * never leaves the guest.
 */
static void __noreturn crash_fault(void)
{
    __asm__ volatile("msr vbar_el1, xzr\n"
                     "mrs x1, sctlr_el1\n"
                     "bic x1, x1, #1\n"
                     "msr sctlr_el1, x1\n"
                     "isb\n"
                     "ldr x1, [%0]\n"
                     : : "r"(UNMAPPED_IPA) : "x1", "memory");
    for (;;)
        barrier();
}

static void __noreturn crash_self(void)
{
    if (crash_kind == CRASH_FAULT)
        crash_fault();
    local_irq_disable();
    for (;;)
        barrier();
}

static void crash_work(void *arg)
{
    crash_self();
}

/* Spinning vCPUs see crash_kind between batches; idle ones need waking. */
static void __noreturn crash_all(enum crash k)
{
    printf("SCHED-CRASH %s\n", k == CRASH_FAULT ? "fault" : "hang");
    WRITE_ONCE(crash_kind, k);
    dsb(ish);
    for (unsigned int c = 1; !spinning && c < machine.nr_cpus; c++)
        if (cpu_online(c))
            on_cpu_async(c, crash_work, NULL);
    crash_self();
}

static void print_progress(void);

static void poll_console(void)
{
    int ch = uart_getc();

    if (ch == 'p')
        print_progress();
    else if (ch == 'o')
        psci_system_off();
    else if (ch == 'c')
        crash_all(CRASH_FAULT);
    else if (ch == 'h')
        crash_all(CRASH_HANG);
}

/* ---- spin ---- */
struct spin_cpu {
    u64 total;              /* iterations since the start */
    u64 sec, iters, win[2]; /* the current second: all, even and odd windows */
    u64 backwards;          /* counter reads lower than the one before */
};
static struct spin_cpu spin[MAX_CPUS];
static u64 spin_begin, spin_end; /* seconds; spin_end 0: forever */

static void print_progress(void)
{
    u64 now = cntvct();

    for (unsigned int c = 0; c < machine.nr_cpus; c++)
        printf("SCHED-PROGRESS cpu=%u total=%lu t=%lu\n", c, READ_ONCE(spin[c].total), now);
}

static void spin_second_done(unsigned int cpu, struct spin_cpu *s)
{
    if (!cfg.quiet)
        printf("SCHED-SEC s=%lu cpu=%u iters=%lu even=%lu odd=%lu\n", s->sec, cpu, s->iters,
               s->win[0], s->win[1]);
    s->iters = s->win[0] = s->win[1] = 0;
}

/* Whether it was off the CPU when another VM's wake-up came late, or running. */
static void spin_gap(unsigned int cpu, u64 prev, u64 now)
{
    if (cfg.gap_us && now > prev + us_to_ticks(cfg.gap_us))
        printf("SCHED-GAP cpu=%u from=%lu.%09lu ns=%lu\n", cpu, prev / freq,
               ticks_ns(prev % freq), ticks_ns(now - prev));
}

/*
 * One batch, counted in the second and window the counter shows after it;
 * not at all once past @end (0: never), so every second printed is whole.
 */
static u64 spin_batch(unsigned int cpu, struct spin_cpu *s, u64 prev, u64 wticks, u64 end)
{
    u64 now;

    burn(SPIN_BATCH);
    now = cntvct();
    s->backwards += now < prev;
    spin_gap(cpu, prev, now);
    if (end && now >= end)
        return now;
    if (now / freq != s->sec) {
        spin_second_done(cpu, s);
        s->sec = now / freq;
    }
    s->iters += SPIN_BATCH;
    s->win[(now / wticks) & 1] += SPIN_BATCH;
    WRITE_ONCE(s->total, s->total + SPIN_BATCH);
    return now;
}

static void spin_work(void *arg)
{
    unsigned int cpu = smp_id();
    struct spin_cpu *s = &spin[cpu];
    u64 wticks = ms_ticks(cfg.window_ms), end = spin_end * freq, now, win;

    sleep_until(spin_begin * freq);
    s->sec = spin_begin;
    now = cntvct();
    win = now / wticks;
    while (!spin_end || now < end) {
        if (crash_kind)
            crash_self();
        now = spin_batch(cpu, s, now, wticks, end);
        if (cpu == 0 && now / wticks != win) {
            win = now / wticks;
            poll_console();
        }
    }
    spin_second_done(cpu, s);
}

static void run_spin(void)
{
    u64 sum = 0, backwards = 0;

    spin_begin = next_second();
    spin_end = cfg.seconds ? spin_begin + cfg.seconds : 0;
    printf("SCHED-SPIN-BEGIN begin=%lu end=%lu vcpus=%u window_ms=%lu freq=%lu\n", spin_begin,
           spin_end, machine.nr_cpus, cfg.window_ms, freq);
    spinning = true;
    on_cpus(spin_work, NULL);
    spinning = false;
    for (unsigned int c = 0; c < machine.nr_cpus; c++) {
        printf("SCHED-SPIN-CPU cpu=%u total=%lu\n", c, spin[c].total);
        sum += spin[c].total;
        backwards += spin[c].backwards;
    }
    report(backwards == 0, "spin: the counter never went back (%lu times)", backwards);
    printf("SCHED-SPIN total=%lu vcpus=%u begin=%lu end=%lu\n", sum, machine.nr_cpus, spin_begin,
           spin_end);
}

/* ---- latency ---- */
struct timer {
    u32 *ppi;
    u64 (*count)(void);
    void (*set_cval)(u64 v);
    u64 (*cval)(void);
    void (*set_ctl)(u64 v);
};

static void ptimer_set_cval(u64 v) { write_sysreg(cntp_cval_el0, v); isb(); }
static u64 ptimer_cval(void) { return read_sysreg(cntp_cval_el0); }
static void ptimer_set_ctl(u64 v) { write_sysreg(cntp_ctl_el0, v); isb(); }

static const struct timer vtimer = { &vppi, cntvct, vtimer_set_cval, vtimer_cval, vtimer_set_ctl };
static const struct timer ptimer = { &pppi, cntpct, ptimer_set_cval, ptimer_cval, ptimer_set_ctl };
static const struct timer *lat_timer;
static u64 samples[MAX_SAMPLES];
static volatile s64 lat_sample;
static volatile bool lat_fired;

/* Reads the counter first: everything after it is not the wake-up's latency. */
static void lat_irq(u32 intid, struct ex_frame *f)
{
    u64 now = lat_timer->count();

    lat_sample = (s64)(now - lat_timer->cval());
    lat_timer->set_ctl(0);
    lat_fired = true;
}

/* When and how late: to line a late one up with Keel's log and the other VMs' lines. */
static void lat_outlier(u64 i, s64 late, u64 cval)
{
    if (cfg.outlier_us && late > (s64)us_to_ticks(cfg.outlier_us))
        printf("SCHED-LAT-OUTLIER i=%lu late_ns=%lu deadline=%lu.%09lu\n", i, ticks_ns((u64)late),
               cval / freq, ticks_ns(cval % freq));
}

static s64 lat_one(u64 i, u64 period)
{
    const struct timer *t = lat_timer;
    u64 cval = t->count() + period;

    lat_fired = false;
    local_irq_disable();
    t->set_cval(cval);
    t->set_ctl(CNT_CTL_ENABLE);
    while (!lat_fired) {
        wfi();
        local_irq_enable();
        isb();
        local_irq_disable();
    }
    local_irq_enable();
    lat_outlier(i, lat_sample, cval);
    return lat_sample;
}

static void sort(u64 *a, u64 n)
{
    for (u64 gap = n / 2; gap; gap /= 2)
        for (u64 i = gap; i < n; i++)
            for (u64 j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
                u64 x = a[j];
                a[j] = a[j - gap];
                a[j - gap] = x;
            }
}

static void lat_report(u64 n, u64 t0, u64 t1)
{
    u64 sum = 0, avg, p50, p90, p99;

    sort(samples, n);
    for (u64 i = 0; i < n; i++)
        sum += samples[i];
    avg = sum / n;
    p50 = samples[n / 2];
    p90 = samples[(n * 9) / 10];
    p99 = samples[(n * 99) / 100];
    printf("SCHED-LAT n=%lu min=%lu avg=%lu p50=%lu p90=%lu p99=%lu max=%lu (ticks) min_ns=%lu "
           "avg_ns=%lu p50_ns=%lu p90_ns=%lu p99_ns=%lu max_ns=%lu timer=%s period_ms=%lu "
           "begin=%lu end=%lu freq=%lu\n", n, samples[0], avg, p50, p90, p99, samples[n - 1],
           ticks_ns(samples[0]), ticks_ns(avg), ticks_ns(p50), ticks_ns(p90), ticks_ns(p99),
           ticks_ns(samples[n - 1]), cfg.phys ? "phys" : "virt", cfg.period_ms, t0 / freq,
           t1 / freq, freq);
}

static void run_latency(void)
{
    u64 n = cfg.count < MAX_SAMPLES ? cfg.count : MAX_SAMPLES, early = 0, t0;

    if (!n)
        guest_abort("latency: sched.count=0");
    lat_timer = cfg.phys ? &ptimer : &vtimer;
    irq_set_handler(*lat_timer->ppi, lat_irq);
    gic_irq_enable(*lat_timer->ppi);
    t0 = cntvct();
    for (u64 i = 0; i < n; i++) {
        s64 d = lat_one(i, ms_ticks(cfg.period_ms));

        early += d < 0;
        samples[i] = d < 0 ? 0 : (u64)d;
    }
    gic_irq_disable(*lat_timer->ppi);
    irq_set_handler(*lat_timer->ppi, vtimer_quiet);
    report(early == 0, "latency: no interrupt before its deadline (%lu early of %lu)", early, n);
    lat_report(n, t0, cntvct());
}

/* ---- duty ---- */
struct duty_cpu {
    u64 busy;                 /* iterations in busy windows */
    u64 wake_sum, wake_max;   /* how late each busy window started */
    u64 windows;
};
static struct duty_cpu duty[MAX_CPUS];
static u64 duty_begin, duty_end;

static void duty_busy(struct duty_cpu *d, u64 until)
{
    u64 late = cntvct() - (until - ms_ticks(cfg.duty_ms));

    d->wake_sum += late;
    d->wake_max = late > d->wake_max ? late : d->wake_max;
    d->windows++;
    while (cntvct() < until) {
        burn(SPIN_BATCH);
        d->busy += SPIN_BATCH;
    }
}

static void duty_work(void *arg)
{
    struct duty_cpu *d = &duty[smp_id()];
    u64 dticks = ms_ticks(cfg.duty_ms), end = duty_end * freq, now;

    sleep_until(duty_begin * freq);
    while ((now = cntvct()) < end) {
        u64 k = now / dticks, until = (k + 1) * dticks;

        if ((k & 1) == cfg.phase)
            duty_busy(d, until);
        else
            sleep_until(until);
    }
}

static void run_duty(void)
{
    duty_begin = next_second();
    duty_end = duty_begin + (cfg.seconds ? cfg.seconds : 1);
    printf("SCHED-DUTY-BEGIN begin=%lu end=%lu vcpus=%u duty_ms=%lu phase=%lu freq=%lu\n",
           duty_begin, duty_end, machine.nr_cpus, cfg.duty_ms, cfg.phase, freq);
    on_cpus(duty_work, NULL);
    for (unsigned int c = 0; c < machine.nr_cpus; c++) {
        struct duty_cpu *d = &duty[c];
        u64 avg = d->windows ? d->wake_sum / d->windows : 0;

        printf("SCHED-DUTY cpu=%u busy=%lu windows=%lu wake_avg_ns=%lu wake_max_ns=%lu\n", c,
               d->busy, d->windows, ticks_ns(avg), ticks_ns(d->wake_max));
    }
}

/* ---- setup ---- */
static bool divides_second(u64 ms)
{
    return ms && 1000 % ms == 0;
}

static void configure(void)
{
    cfg.seconds = bootarg_num("sched.seconds", 5);
    cfg.window_ms = bootarg_num("sched.window", 10);
    cfg.duty_ms = bootarg_num("sched.duty", 50);
    cfg.phase = bootarg_num("sched.phase", 0) & 1;
    cfg.count = bootarg_num("sched.count", 200);
    cfg.period_ms = bootarg_num("sched.period", 5);
    cfg.delay_ms = bootarg_num("sched.delay", 0);
    cfg.outlier_us = bootarg_num("sched.outlier", 0);
    cfg.gap_us = bootarg_num("sched.gap", 0);
    cfg.phys = bootarg_is("sched.timer", "phys");
    cfg.quiet = bootarg_num("sched.quiet", 0);
    cfg.stay = bootarg_num("sched.stay", 0);
    if (!divides_second(cfg.window_ms) || !divides_second(cfg.duty_ms))
        guest_abort("sched.window and sched.duty must divide 1000 ms (%lu, %lu)", cfg.window_ms,
                    cfg.duty_ms);
}

static void timers_on_every_cpu(void *arg)
{
    gic_irq_enable(vppi);
}

static void __noreturn stay_up(void)
{
    printf("SCHED-STAY\n");
    for (;;) {
        sleep_until(cntvct() + ms_ticks(STAY_POLL_MS));
        poll_console();
    }
}

static const struct {
    const char *name;
    void (*run)(void);
} modes[] = { { "spin", run_spin }, { "latency", run_latency }, { "duty", run_duty },
              { "idle", NULL } };

static unsigned int mode_index(void)
{
    if (!bootarg("sched.mode"))
        return 0;
    for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++)
        if (bootarg_is("sched.mode", modes[i].name))
            return i;
    guest_abort("unknown sched.mode");
}

void guest_main(void)
{
    unsigned int mode;

    freq = cnt_freq();
    vppi = machine.timer_ppi[2];
    pppi = machine.timer_ppi[1];
    configure();
    mode = mode_index();
    irq_set_handler(vppi, vtimer_quiet);
    smp_boot_all();
    on_cpus(timers_on_every_cpu, NULL);
    if (cfg.delay_ms)
        sleep_until(cntvct() + ms_ticks(cfg.delay_ms));
    printf("SCHED-START mode=%s vcpus=%u freq=%lu\n", modes[mode].name, machine.nr_cpus, freq);
    if (modes[mode].run)
        modes[mode].run();
    if (cfg.stay || !modes[mode].run)
        stay_up();
}
