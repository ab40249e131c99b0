/*
 * RISC-V exit-cost micro-benchmarks, run by bench/run.py natively (QEMU's
 * virt board: OpenSBI in M-mode, this guest in S-mode) and under Keel (the
 * guest in VS-mode), both with -icount shift=0.
 *
 * What counts: rdinstret. Under -icount QEMU's instret is its raw
 * instruction count, every instruction the hart retires in any mode: the
 * guest's, OpenSBI's (M-mode) and Keel's (HS-mode). So the difference of
 * two reads is exactly what ran in between, wherever it ran, and the
 * native-to-Keel difference is what Keel adds on that path. The time CSR
 * cannot count instructions: it follows the virtual clock at the 10 MHz
 * timebase, one tick per 100 instructions. rdcycle is the virtual clock in
 * ns (instructions, plus any time the hart slept); the timer benchmarks use
 * it, as the deadline is a point on that clock.
 *
 * Prints "BENCH <name> <instructions per operation>" lines (two decimals),
 * "FAIL: ..." when something did not happen as it must, then powers off.
 */
#include "libguest.h"

#define ITERS 1000        /* per figure: every iteration costs the same under icount */
#define CPU_OPS 100
#define CPU_STEPS 10000   /* xorshift steps per cpu_loop operation */
#define TIMER_AHEAD 50    /* ticks from arming to the deadline: longer than any SBI path */
#define NOP_SLED 128      /* the longest delay nops() makes; more than a tick's instructions */

static inline u64 rdinstret(void)
{
    u64 v;

    __asm__ volatile("rdinstret %0" : "=r"(v) :: "memory");
    return v;
}

static inline u64 rdcycle(void)
{
    u64 v;

    __asm__ volatile("rdcycle %0" : "=r"(v) :: "memory");
    return v;
}

/* ---- results: value * 100, printed with two decimals ---- */
static void print_x100(const char *name, s64 v)
{
    u64 a = v < 0 ? (u64)-v : (u64)v;

    printf("BENCH %s %s%lu.%02lu\n", name, v < 0 ? "-" : "", a / 100, a % 100);
}

static void print_per_op(const char *name, u64 total, u64 ops)
{
    print_x100(name, (s64)(total * 100 / ops));
}

/*
 * The interrupt benchmarks' trap vector: it stamps instret and cycle as
 * early as it can, records scause, masks that interrupt in sie (the
 * benchmark clears its source and unmasks it for the next round) and
 * returns. sscratch points at `stamp`; t0-t2 are saved there. Exceptions
 * go on to libguest's vector, which reports them.
 */
struct stamp {
    u64 t1, t2, instret, cycle, cause;
};
static volatile struct stamp stamp;
extern char bench_vector[], trap_entry[];

__asm__(".pushsection .text\n"
        ".balign 4\n"
        "bench_vector:\n"
        "    csrrw t0, sscratch, t0\n"
        "    sd t1, 0(t0)\n"
        "    rdinstret t1\n"
        "    sd t1, 16(t0)\n"
        "    rdcycle t1\n"
        "    sd t1, 24(t0)\n"
        "    csrr t1, scause\n"
        "    bgez t1, 1f\n"
        "    sd t2, 8(t0)\n"
        "    li t2, 1\n"
        "    sll t2, t2, t1\n"    /* sll takes the low 6 bits: the interrupt's number */
        "    csrc sie, t2\n"
        "    ld t2, 8(t0)\n"
        "    sd t1, 32(t0)\n"
        "    ld t1, 0(t0)\n"
        "    csrrw t0, sscratch, t0\n"
        "    sret\n"
        "1:  ld t1, 0(t0)\n"
        "    csrrw t0, sscratch, t0\n"
        "    j trap_entry\n"
        ".popsection\n");

static void vector_install(void)
{
    csr_write(sscratch, (unsigned long)&stamp);
    csr_write(stvec, (unsigned long)bench_vector);
}

/* ---- straight-line paths: the loop, the CPU, SBI calls, MMIO reads ---- */
static void bench_empty_loop(void)
{
    u64 i0 = rdinstret();

    for (unsigned int i = 0; i < ITERS; i++)
        barrier();
    print_per_op("empty_loop", rdinstret() - i0, ITERS);
}

static u64 xorshift(u64 x, unsigned int steps)
{
    for (unsigned int i = 0; i < steps; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/* Work that never leaves the guest: Keel must add nothing to it. */
static void bench_cpu_loop(void)
{
    u64 x = 88172645463325252UL, i0 = rdinstret();

    for (unsigned int i = 0; i < CPU_OPS; i++)
        x = xorshift(x, CPU_STEPS);
    print_per_op("cpu_loop", rdinstret() - i0, CPU_OPS);
    __asm__ volatile("" :: "r"(x)); /* the result is used: the loop stays */
}

static void bench_sbi(const char *name, unsigned long eid, unsigned long fid, unsigned long arg)
{
    u64 i0 = rdinstret();

    for (unsigned int i = 0; i < ITERS; i++)
        sbi_ecall(eid, fid, arg, 0, 0, 0, 0, 0);
    print_per_op(name, rdinstret() - i0, ITERS);
}

static void bench_read32(const char *name, u64 addr)
{
    u64 i0 = rdinstret();

    for (unsigned int i = 0; i < ITERS; i++)
        (void)readl(addr);
    print_per_op(name, rdinstret() - i0, ITERS);
}

static void bench_read8(const char *name, u64 addr)
{
    u64 i0 = rdinstret();

    for (unsigned int i = 0; i < ITERS; i++)
        (void)readb(addr);
    print_per_op(name, rdinstret() - i0, ITERS);
}

/* ---- IPI to itself ---- */
/*
 * SBI send_ipi to this hart with interrupts on: the S-software interrupt
 * is taken as the call returns. Two figures: from the call to the
 * vector's stamp, and from the call to the instruction after it (the
 * handler included).
 */
static void bench_ipi_self(void)
{
    u64 to_handler = 0, round_trip = 0;
    unsigned int got = 0;

    csr_clear(sip, SIP_SSIP);
    local_irq_enable();
    for (unsigned int i = 0; i < ITERS; i++) {
        stamp.cause = 0;
        csr_set(sie, SIE_SSIE);
        u64 i0 = rdinstret();
        sbi_send_ipi(1, hart_id());
        u64 i1 = rdinstret();
        got += stamp.cause == (CAUSE_INTERRUPT | IRQ_S_SOFT);
        to_handler += stamp.instret - i0;
        round_trip += i1 - i0;
        csr_clear(sip, SIP_SSIP);
    }
    local_irq_disable();
    csr_clear(sie, SIE_SSIE);
    if (got != ITERS)
        printf("FAIL: bench: %u of %u self-IPIs taken before send_ipi returned\n", got, ITERS);
    print_per_op("ipi_self_send_to_handler", to_handler, ITERS);
    print_per_op("ipi_self_round_trip", round_trip, ITERS);
}

/* ---- timer: from the deadline to the handler ---- */
/* @n nops (n < NOP_SLED) and a constant number of other instructions: a jump into a sled. */
static void nops(unsigned long n)
{
    __asm__ volatile(".option push\n.option norvc\n"
                     "    la t0, 2f\n"
                     "    slli t1, %0, 2\n"
                     "    sub t0, t0, t1\n"
                     "    jr t0\n"
                     "    .rept " __stringify(NOP_SLED) "\n    nop\n    .endr\n"
                     "2:\n.option pop\n"
                     :: "r"(n) : "t0", "t1", "memory");
}

/*
 * Waits until the virtual clock (rdcycle, ns) is at @phase within a tick
 * of @tick_ns, give or take a constant: the code has no branch, so its
 * length does not depend on where in the tick it started.
 */
static void align_phase(u64 phase, u64 tick_ns)
{
    u64 c = rdcycle();

    nops((phase + tick_ns - c % tick_ns) % tick_ns);
}

/* The guest's time minus the virtual clock's ticks (Keel's htimedelta; 0 natively), read at a tick's edge. */
static s64 time_offset(u64 tick_ns)
{
    u64 t0 = rdtime(), t;

    while ((t = rdtime()) == t0)
        ;
    return (s64)(t - rdcycle() / tick_ns);
}

struct timer_path {
    const char *name;
    void (*set)(u64 deadline);
};

static void set_stimecmp(u64 t) { csr_write(CSR_STIMECMP, t); }
static void set_sbi(u64 t) { sbi_set_timer(t); }

/*
 * One deadline TIMER_AHEAD ticks ahead, armed at @phase within a tick:
 * the virtual-clock ns from the tick the deadline names to the vector's
 * stamp. QEMU fires the timer at that tick plus the phase (ns modulo a
 * tick) of the instruction that armed it, wherever that ran (the guest's
 * csrw, or OpenSBI's or Keel's for SBI set_timer).
 */
static s64 timer_round(const struct timer_path *p, u64 phase, u64 tick_ns, s64 offset, bool *ok)
{
    u64 deadline;

    stamp.cause = 0;
    csr_set(sie, SIE_STIE);
    align_phase(phase, tick_ns);
    deadline = rdtime() + TIMER_AHEAD;
    p->set(deadline);
    while (!stamp.cause)
        ;
    p->set(~0UL);
    *ok = stamp.cause == (CAUSE_INTERRUPT | IRQ_S_TIMER);
    return (s64)stamp.cycle - (s64)(deadline - offset) * (s64)tick_ns;
}

/*
 * Armed once at each phase of a tick (twice over): the arming instruction's
 * phase then takes every value 0 .. tick_ns - 1 equally often, whatever
 * the path's length, so QEMU's rounding adds exactly (tick_ns - 1) / 2 on
 * average, which is taken off. What is left is the deadline-to-handler
 * latency, exact.
 */
static void bench_timer(const struct timer_path *p, u64 tick_ns)
{
    char name[64];
    unsigned int rounds = 2 * tick_ns, good = 0;
    s64 offset = time_offset(tick_ns), sum = 0;
    bool ok;

    local_irq_enable();
    for (unsigned int r = 0; r < rounds; r++) {
        sum += timer_round(p, r % tick_ns, tick_ns, offset, &ok);
        good += ok;
    }
    local_irq_disable();
    csr_clear(sie, SIE_STIE);
    if (good != rounds)
        printf("FAIL: bench: %s: %u of %u deadlines gave an S-timer interrupt\n", p->name, good,
               rounds);
    snprintf(name, sizeof(name), "timer_%s_deadline_to_handler", p->name);
    print_x100(name, sum * 100 / (s64)rounds - (s64)(tick_ns - 1) * 50);
}

static void bench_timers(void)
{
    static const struct timer_path stimecmp = { "stimecmp", set_stimecmp };
    static const struct timer_path sbi = { "sbi", set_sbi };
    u64 tick_ns = machine.timebase ? 1000000000UL / machine.timebase : 0;

    if (!tick_ns || tick_ns * machine.timebase != 1000000000UL || tick_ns >= NOP_SLED) {
        printf("FAIL: bench: timebase %lu Hz: not a whole number of ns per tick below %u; "
               "no timer figures\n", (unsigned long)machine.timebase, NOP_SLED);
        return;
    }
    /* Whatever the firmware left armed must not fire into the first round. */
    if (dt_hart_has_ext(hart_id(), "sstc"))
        set_stimecmp(~0UL);
    set_sbi(~0UL);
    if (dt_hart_has_ext(hart_id(), "sstc"))
        bench_timer(&stimecmp, tick_ns);
    else
        printf("FAIL: bench: no Sstc in the DT: no stimecmp figure\n");
    bench_timer(&sbi, tick_ns);
}

void guest_main(void)
{
    printf("bench: %u iterations per figure, instret under -icount, timebase %lu Hz\n", ITERS,
           (unsigned long)machine.timebase);
    vector_install();
    bench_empty_loop();
    bench_cpu_loop();
    bench_sbi("sbi_get_spec_version", SBI_EXT_BASE, SBI_GET_SPEC_VERSION, 0);
    bench_sbi("sbi_set_timer", SBI_EXT_TIME, SBI_SET_TIMER, ~0UL);
    if (machine.plic_base)
        bench_read32("mmio_plic_priority", machine.plic_base + PLIC_PRIORITY(1));
    else
        printf("FAIL: bench: no PLIC in the DT\n");
    bench_read8("mmio_uart_lsr", uart_reg(UART_LSR));
    bench_ipi_self();
    bench_timers();
    csr_write(stvec, (unsigned long)trap_entry);
}
