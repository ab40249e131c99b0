/*
 * timer: the time CSR and the supervisor timer, from inside.
 *  - timebase-frequency in /cpus; rdtime advancing, never going backwards
 *    on a hart or from one hart to another (ping-pong through memory)
 *  - Sstc: present in the DT exactly when stimecmp can be accessed (else an
 *    illegal-instruction exception)
 *  - for each way to program the timer (SBI set_timer, and stimecmp where
 *    Sstc is): one S-timer interrupt at the deadline, not early, not very
 *    late, once; sip.STIP following the deadline (past: pending, future or
 *    -1: clear) and read-only; masked by sie.STIE and by sstatus.SIE and
 *    taken as soon as both allow; WFI woken by it with sstatus.SIE clear
 *    and with it set; one timer per hart at its own deadline
 * Durations come from timebase-frequency (10 MHz on QEMU virt).
 */
#include "libguest.h"

#define DEADLINE_US 20000
#define LATE_US 250000  /* generous: the host may be running other emulators */
#define SETTLE_US 20000
#define ARRIVE_US 1000000
#define PING_ROUNDS 200

struct timer_path {
    const char *name;
    void (*set)(u64 deadline);
};

static void set_sbi(u64 t) { sbi_set_timer(t); }
static void set_stimecmp(u64 t) { csr_write(CSR_STIMECMP, t); }

static const struct timer_path sbi_path = { "sbi_set_timer", set_sbi };
static const struct timer_path sstc_path = { "stimecmp", set_stimecmp };
static const struct timer_path *path = &sbi_path; /* the one the handler disarms */

static volatile unsigned int timer_irqs[MAX_HARTS];
static volatile u64 timer_at[MAX_HARTS];
static volatile unsigned long timer_scause[MAX_HARTS];

static void timer_handler(struct trap_frame *f)
{
    unsigned long h = hart_id();

    timer_at[h] = rdtime();
    timer_scause[h] = f->scause;
    timer_irqs[h]++;
    path->set(~0UL);
}

static bool stip(void)
{
    return csr_read(sip) & SIP_STIP;
}

/* ---- the time CSR ---- */
static void test_time_csr(void)
{
    u64 t0 = rdtime(), prev = t0, back = 0;
    bool moved = false;

    report(machine.timebase > 0, "timebase-frequency in /cpus: %lu Hz", (unsigned long)machine.timebase);
    for (unsigned long i = 0; i < 10000000 && !moved; i++)
        moved = rdtime() != t0;
    report(moved, "rdtime advances");
    for (unsigned int i = 0; i < 100000; i++) {
        u64 t = rdtime();
        back += t < prev;
        prev = t;
    }
    report(!back, "rdtime never goes backwards on hart %lu (100000 reads, %lu backwards)", hart_id(),
           (unsigned long)back);
}

static volatile u64 ping_stamp;
static volatile unsigned int ping_seq;
static volatile unsigned int pong_back;

/* The other side: each time it is its turn, its time must not be before the stamp it found. */
static void pong(void *arg)
{
    for (unsigned int i = 0; i < PING_ROUNDS; i++) {
        u64 t;
        while (__atomic_load_n(&ping_seq, __ATOMIC_ACQUIRE) != 2 * i + 1)
            cpu_relax();
        t = rdtime();
        pong_back += t < ping_stamp;
        ping_stamp = t;
        __atomic_store_n(&ping_seq, 2 * i + 2, __ATOMIC_RELEASE);
    }
}

static void test_time_across(unsigned long h)
{
    unsigned int back = 0;

    ping_seq = 0;
    pong_back = 0;
    mb();
    on_hart_async(h, pong, NULL);
    for (unsigned int i = 0; i < PING_ROUNDS; i++) {
        ping_stamp = rdtime();
        __atomic_store_n(&ping_seq, 2 * i + 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&ping_seq, __ATOMIC_ACQUIRE) != 2 * i + 2)
            cpu_relax();
        back += rdtime() < ping_stamp;
    }
    hart_idle_wait(h, ARRIVE_US);
    report(!back && !pong_back, "time never goes backwards between hart %lu and hart %lu (%u round trips, "
           "%u + %u backwards)", hart_id(), h, PING_ROUNDS, back, pong_back);
}

/* ---- Sstc ---- */
static bool probe_sstc(void)
{
    bool dt = dt_hart_has_ext(hart_id(), "sstc"), trapped;
    struct fault f;

    fault_expect();
    (void)csr_read(CSR_STIMECMP);
    trapped = fault_taken(&f);
    if (!trapped) {
        fault_expect();
        csr_write(CSR_STIMECMP, ~0UL);
        trapped = fault_taken(&f);
    }
    report(dt == !trapped && (!trapped || f.scause == CAUSE_ILLEGAL_INSTRUCTION),
           "Sstc: the DT %s it, stimecmp %s", dt ? "lists" : "does not list",
           trapped ? (f.scause == CAUSE_ILLEGAL_INSTRUCTION ? "raises illegal instruction" : "traps (not as an "
                      "illegal instruction)") : "is accessible");
    return !trapped;
}

/* ---- one programming path ---- */
/* sstatus.SIE goes off first: nothing may slip in between the two writes. */
static void timer_enable(bool sie_stie, bool sstatus_sie)
{
    local_irq_disable();
    if (sie_stie)
        csr_set(sie, SIE_STIE);
    else
        csr_clear(sie, SIE_STIE);
    if (sstatus_sie)
        local_irq_enable();
}

static void report_fired(const struct timer_path *p, const char *what, u64 deadline)
{
    unsigned long h = hart_id();
    s64 late = (s64)(timer_at[h] - deadline);

    report(timer_irqs[h] == 1 && timer_scause[h] == (CAUSE_INTERRUPT | IRQ_S_TIMER) && late >= 0 &&
               ticks_to_us((u64)late) < LATE_US,
           "%s: %s: one S-timer interrupt (scause %#lx), at the deadline: %u taken, %ld us late", p->name,
           what, timer_scause[h], timer_irqs[h], late < 0 ? -(long)ticks_to_us((u64)-late)
                                                           : (long)ticks_to_us((u64)late));
}

static void test_fires(const struct timer_path *p)
{
    unsigned long h = hart_id();
    u64 deadline = rdtime() + us_to_ticks(DEADLINE_US);

    timer_irqs[h] = 0;
    p->set(deadline);
    timer_enable(true, true);
    wait_until(timer_irqs[h], ARRIVE_US);
    udelay(SETTLE_US);
    timer_enable(false, false);
    report_fired(p, "deadline 20 ms ahead", deadline);
}

/* sip.STIP: pending once time >= the deadline, clear before; S-mode cannot write it. */
static void test_stip(const struct timer_path *p)
{
    bool past, never, future, back, ro_set, ro_clear;

    timer_enable(false, false);
    p->set(0);
    past = wait_until(stip(), ARRIVE_US);
    csr_clear(sip, SIP_STIP);
    ro_clear = stip();
    p->set(~0UL);
    never = wait_until(!stip(), ARRIVE_US);
    csr_set(sip, SIP_STIP);
    ro_set = !stip();
    p->set(rdtime() + us_to_ticks(ARRIVE_US));
    future = !stip();
    p->set(rdtime() - 1);
    back = wait_until(stip(), ARRIVE_US);
    p->set(~0UL);
    report(past && never && future && back, "%s: sip.STIP set by deadlines 0 and now - 1, clear for -1 and "
           "a second ahead (%d %d %d %d)", p->name, past, back, never, future);
    report(ro_clear && ro_set, "%s: sip.STIP read-only for S-mode (csrc kept it set: %d, csrs kept it clear: "
           "%d)", p->name, ro_clear, ro_set);
}

/* Pending but masked by sie.STIE, then by sstatus.SIE: taken as soon as both allow. */
static void test_masking(const struct timer_path *p)
{
    unsigned long h = hart_id();
    unsigned int by_stie, by_sie;

    timer_enable(false, false);
    timer_irqs[h] = 0;
    p->set(0);
    timer_enable(false, true);
    udelay(SETTLE_US);
    by_stie = timer_irqs[h];
    timer_enable(true, true);
    report(!by_stie && wait_until(timer_irqs[h] == 1, SETTLE_US),
           "%s: pending timer held off by sie.STIE = 0, taken once it is set (%u, then %u)", p->name, by_stie,
           timer_irqs[h]);
    timer_enable(true, false);
    timer_irqs[h] = 0;
    p->set(0);
    udelay(SETTLE_US);
    by_sie = timer_irqs[h];
    timer_enable(true, true);
    report(!by_sie && wait_until(timer_irqs[h] == 1, SETTLE_US),
           "%s: pending timer held off by sstatus.SIE = 0, taken once it is set (%u, then %u)", p->name,
           by_sie, timer_irqs[h]);
    timer_enable(false, false);
    p->set(~0UL);
}

/* WFI with sstatus.SIE clear, then open it: an interrupt between the check and WFI is not lost. */
static void wait_for_timer(unsigned long h)
{
    timer_enable(true, false);
    while (!timer_irqs[h]) {
        wfi();
        local_irq_enable();
        local_irq_disable();
    }
}

/*
 * WFI resumes when an interrupt enabled in sie is pending, whatever
 * sstatus.SIE says (privileged spec, WFI): with SIE clear nothing is taken
 * and the loop watches sip; with it set the handler runs.
 */
static void test_wfi(const struct timer_path *p)
{
    unsigned long h = hart_id(), wakes = 0;
    u64 deadline = rdtime() + us_to_ticks(DEADLINE_US);
    bool woke;

    p->set(deadline);
    timer_enable(true, false);
    while (!stip()) {
        wfi();
        wakes++;
    }
    woke = rdtime() >= deadline;
    p->set(~0UL);
    report(woke, "%s: WFI with sstatus.SIE = 0 woken by the pending timer, after the deadline (%lu WFIs)",
           p->name, wakes);

    timer_irqs[h] = 0;
    deadline = rdtime() + us_to_ticks(DEADLINE_US);
    p->set(deadline);
    wait_for_timer(h);
    timer_enable(false, false);
    report_fired(p, "WFI, then sstatus.SIE = 1", deadline);
}

/* ---- one timer per hart, each at its own deadline ---- */
static u64 per_hart_deadline[MAX_HARTS];

static void per_hart_timer(void *arg)
{
    unsigned long h = hart_id();

    timer_irqs[h] = 0;
    path->set(per_hart_deadline[h]);
    wait_for_timer(h);
    udelay(SETTLE_US);
    timer_enable(false, false);
}

static void test_per_hart(const struct timer_path *p)
{
    u64 base = rdtime() + us_to_ticks(DEADLINE_US);
    bool ok = true;

    if (machine.nr_harts == 1)
        return;
    for (unsigned int i = 0; i < machine.nr_harts; i++) {
        per_hart_deadline[machine.hartid[i]] = base + (i + 1) * us_to_ticks(10000);
        timer_irqs[machine.hartid[i]] = 0;
    }
    on_harts(per_hart_timer, NULL);
    for (unsigned int i = 0; i < machine.nr_harts; i++) {
        unsigned long h = machine.hartid[i];
        s64 late = (s64)(timer_at[h] - per_hart_deadline[h]);
        bool good = timer_irqs[h] == 1 && late >= 0 && ticks_to_us((u64)late) < LATE_US;
        if (!good)
            report_info("hart %lu: %u interrupts, %ld ticks after its deadline", h, timer_irqs[h], (long)late);
        ok &= good;
    }
    report(ok, "%s: one timer per hart (%u), each taken once on its own hart at its own deadline", p->name,
           machine.nr_harts);
}

static void test_path(const struct timer_path *p)
{
    path = p;
    test_fires(p);
    test_stip(p);
    test_masking(p);
    test_wfi(p);
    test_per_hart(p);
}

void guest_main(void)
{
    report_prefix_push("timer");
    irq_set_handler(IRQ_S_TIMER, timer_handler);
    test_time_csr();
    hart_boot_all();
    for (unsigned int i = 0; i < machine.nr_harts; i++)
        if (machine.hartid[i] != hart_id())
            test_time_across(machine.hartid[i]);
    if (probe_sstc()) {
        test_path(&sstc_path);
        sbi_set_timer(~0UL);
    } else {
        report_skip("stimecmp: no Sstc");
    }
    test_path(&sbi_path);
    report_prefix_pop();
}
