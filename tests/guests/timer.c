/*
 * timer: the generic timer as a Keel guest sees it.
 *  - the virtual timer fires at CVAL and after TVAL, not before; IMASK holds
 *    it back; ISTATUS; the interrupt pending while disabled at the GIC and
 *    cleared there; WFI woken by it; one timer per vCPU
 *  - the virtual counter never goes backwards, on one vCPU or across vCPUs
 *  - the EL1 physical timer, which Keel emulates (its registers trap): CVAL
 *    and TVAL read back, ISTATUS, its PPI (30) fires at the deadline as a
 *    level interrupt, IMASK and disabling lower it; CNTPCT_EL0 is readable
 *    and, with CNTVOFF_EL2 = 0, equals the virtual count.
 *  - both timers' PPIs are levels: a timer that fired and is then disabled,
 *    masked or reprogrammed later is no longer pending at the GIC, and no
 *    interrupt is taken, whether the guest reads GICR_ISPENDR0 first or
 *    goes straight on (issue 14), on every vCPU.
 */
#include "libguest.h"

#define SHORT_US 20000
#define LONG_US 3000000
#define LATE_US 500000 /* how late an interrupt may be (QEMU TCG, loaded host) */

static u32 vppi, pppi;

static void timer_off(void)
{
    vtimer_set_ctl(0);
}

/* Waits for the virtual timer interrupt; returns the counter when acknowledged (0: none). */
static u64 wait_vtimer(u64 timeout_us, u32 *iar_out)
{
    u32 iar = gic_wait_ack(timeout_us);
    u64 now = cntvct();

    *iar_out = iar;
    if (iar == GIC_SPURIOUS)
        return 0;
    timer_off(); /* the line is level: lower it before EOI */
    gic_eoi(iar);
    return now;
}

static void test_counter(void)
{
    u64 f = cnt_freq(), prev = cntvct(), bad = 0, t0, t1;

    report_prefix_push("counter");
    report(f >= 1000000 && f <= 1000000000, "CNTFRQ_EL0 %lu Hz", f);
    for (int i = 0; i < 10000; i++) {
        u64 now = cntvct();
        bad += now < prev;
        prev = now;
    }
    report(bad == 0, "CNTVCT_EL0 monotonic over 10000 reads (%lu backwards)", bad);
    t0 = cntvct();
    udelay(10000);
    t1 = cntvct();
    report(t1 - t0 >= us_to_ticks(10000), "CNTVCT_EL0 advances (%lu ticks in 10 ms)", t1 - t0);
    {
        u64 v1 = cntvct(), p = cntpct(), v2 = cntvct();
        report(v1 <= p && p <= v2, "CNTPCT_EL0 readable, between two CNTVCT reads: CNTVOFF is 0 "
               "(%lu <= %lu <= %lu)", v1, p, v2);
    }
    report_prefix_pop();
}

static void test_vtimer(void)
{
    u64 t, cval, start, ticks = us_to_ticks(10000);
    u32 iar;
    s32 tval;

    report_prefix_push("vtimer");
    local_irq_disable();
    gic_irq_enable(vppi);
    report(vppi == 27, "DT: virtual timer PPI is INTID 27 (%u)", vppi);

    /* CVAL */
    cval = cntvct() + ticks;
    vtimer_set_cval(cval);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    report(vtimer_cval() == cval, "CVAL reads back");
    {
        bool istatus = vtimer_ctl() & CNT_CTL_ISTATUS;
        u64 now = cntvct();
        /* (a loaded host may have let CVAL pass already: then ISTATUS is set) */
        report(!istatus || now >= cval, "ISTATUS clear before CVAL (%s, %ld ticks to go)",
               istatus ? "set" : "clear", (s64)(cval - now));
    }
    t = wait_vtimer(LONG_US, &iar);
    report(iar == vppi, "interrupt at CVAL (IAR %u)", iar);
    report(t >= cval, "not before CVAL (%ld ticks after)", (s64)(t - cval));
    report(t < cval + us_to_ticks(LATE_US), "within %u ms of CVAL (%lu us late)", LATE_US / 1000,
           ticks_to_us(t - cval));
    iar = gic_wait_ack(SHORT_US);
    report(iar == GIC_SPURIOUS, "once, after the timer is disabled (IAR %u)", iar);

    /* TVAL */
    start = cntvct();
    vtimer_set_tval((s32)ticks);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    tval = vtimer_tval();
    report(tval > 0 && (u64)tval <= ticks, "TVAL counts down (%d of %lu)", tval, ticks);
    report(vtimer_cval() >= start + ticks && vtimer_cval() <= cntvct() + ticks,
           "TVAL write sets CVAL = now + TVAL");
    cval = vtimer_cval();
    t = wait_vtimer(LONG_US, &iar);
    report(iar == vppi && t >= cval, "interrupt after TVAL, not before (%ld ticks after)", (s64)(t - cval));
    vtimer_set_ctl(CNT_CTL_ENABLE | CNT_CTL_IMASK);
    tval = vtimer_tval();
    report(tval < 0, "TVAL negative once expired (%d)", tval);
    cval = cntvct() + us_to_ticks(LONG_US);
    vtimer_set_cval(cval);
    start = cntvct();
    tval = vtimer_tval();
    t = cntvct();
    report(tval_matches(cval, start, tval, t), "TVAL with the deadline %u ms ahead: (s32)(CVAL - CNT) (%d)",
           LONG_US / 1000, tval);
    timer_off();

    /* IMASK */
    vtimer_set_cval(cntvct() - 1);
    vtimer_set_ctl(CNT_CTL_ENABLE | CNT_CTL_IMASK);
    report(vtimer_ctl() & CNT_CTL_ISTATUS, "ISTATUS set once CVAL has passed");
    iar = gic_wait_ack(SHORT_US);
    report(iar == GIC_SPURIOUS && !gic_irq_pending(vppi), "IMASK: no interrupt, not pending (IAR %u)", iar);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    t = wait_vtimer(LONG_US, &iar);
    report(iar == vppi, "IMASK cleared: interrupt (IAR %u)", iar);

    /* pending at the GIC while the PPI is disabled there */
    gic_irq_disable(vppi);
    vtimer_set_cval(cntvct() - 1);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    udelay(SHORT_US);
    iar = gic_ack();
    report(iar == GIC_SPURIOUS && gic_irq_pending(vppi), "PPI disabled: timer interrupt pending, not taken");
    gic_irq_enable(vppi);
    t = wait_vtimer(LONG_US, &iar);
    report(iar == vppi, "PPI enabled: delivered (IAR %u)", iar);

    /* cleared at the GIC while disabled: the timer must still work afterwards */
    gic_irq_disable(vppi);
    vtimer_set_cval(cntvct() - 1);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    udelay(SHORT_US);
    timer_off();
    gic_irq_clear_pending(vppi);
    report(!gic_irq_pending(vppi), "ICPENDR clears the timer's pending state");
    gic_irq_enable(vppi);
    iar = gic_wait_ack(SHORT_US);
    report(iar == GIC_SPURIOUS, "nothing delivered once enabled (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    cval = cntvct() + ticks;
    vtimer_set_cval(cval);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    t = wait_vtimer(LONG_US, &iar);
    /* WFI with interrupts masked wakes on the pending timer (only tried if it works at all) */
    if (report(iar == vppi && t >= cval, "the timer fires again afterwards (IAR %u)", iar)) {
        vtimer_set_tval((s32)us_to_ticks(5000));
        vtimer_set_ctl(CNT_CTL_ENABLE);
        start = cntvct();
        wfi();
        t = wait_vtimer(LONG_US, &iar);
        report(iar == vppi, "WFI woken by the timer (IAR %u, %lu us)", iar, ticks_to_us(t - start));
    }

    /* state kept across an exit to Keel */
    vtimer_set_cval(0x123456789UL);
    vtimer_set_ctl(CNT_CTL_IMASK);
    psci_call(PSCI_VERSION, 0, 0, 0);
    report(vtimer_cval() == 0x123456789UL && (vtimer_ctl() & 3) == CNT_CTL_IMASK,
           "CNTV_CVAL/CTL unchanged across a hypercall");
    timer_off();
    write_sysreg(cntkctl_el1, 0x3);
    psci_call(PSCI_VERSION, 0, 0, 0);
    report((read_sysreg(cntkctl_el1) & 0x3ff) == 0x3, "CNTKCTL_EL1 written and kept");
    local_irq_enable();
    report_prefix_pop();
}

/*
 * Deadlines this far ahead, in ticks: near, LONG_US (past 2^31 ticks at
 * 1 GHz), and just past 2^31 and 2^32 ticks whatever the frequency, where
 * TVAL reads negative and small positive although the deadline is ahead.
 */
static u64 tval_distance(unsigned int i)
{
    const u64 d[] = { us_to_ticks(SHORT_US), us_to_ticks(LONG_US),
                      (1UL << 31) + us_to_ticks(SHORT_US), (1UL << 32) + us_to_ticks(SHORT_US) };

    return i < ARRAY_SIZE(d) ? d[i] : 0;
}

/*
 * CNTP_TVAL_EL0 as Keel emulates it, for deadlines near and beyond TVAL's
 * 32-bit range; masked meanwhile (TVAL reads need ENABLE only), and the
 * caller's CVAL and CTL put back.
 */
static void check_ptimer_tval(void)
{
    u64 cval0 = read_sysreg(cntp_cval_el0), ctl0 = read_sysreg(cntp_ctl_el0), d, t0, t1, cval;
    s32 tval;

    write_sysreg(cntp_ctl_el0, CNT_CTL_ENABLE | CNT_CTL_IMASK);
    for (unsigned int i = 0; (d = tval_distance(i)); i++) {
        cval = cntpct() + d;
        write_sysreg(cntp_cval_el0, cval);
        t0 = cntpct();
        tval = (s32)read_sysreg(cntp_tval_el0);
        t1 = cntpct();
        report(tval_matches(cval, t0, tval, t1), "CNTP_TVAL_EL0 with the deadline %lu ticks ahead: "
               "(s32)(CVAL - CNT) (%d)", d, tval);
    }
    d = tval_distance(0);
    write_sysreg(cntp_tval_el0, d);
    isb();
    tval = (s32)read_sysreg(cntp_tval_el0);
    report(tval > 0 && (u64)tval <= d, "CNTP_TVAL_EL0 counts down from what was written (%d of %lu)",
           tval, d);
    write_sysreg(cntp_cval_el0, cval0);
    write_sysreg(cntp_ctl_el0, ctl0 & (CNT_CTL_ENABLE | CNT_CTL_IMASK));
    isb();
}

/* CNTP_*: emulated by Keel (trapped), backed by its EL2 physical timer. */
static void test_ptimer(void)
{
    u64 deadline, now;
    u32 iar;

    report_prefix_push("ptimer");
    report(pppi == 30, "DT: physical timer PPI is INTID 30 (%u)", pppi);
    local_irq_disable();
    gic_irq_enable(pppi);

    /* registers read back; TVAL counts down to CVAL */
    deadline = cntpct() + us_to_ticks(LONG_US);
    write_sysreg(cntp_cval_el0, deadline);
    write_sysreg(cntp_ctl_el0, CNT_CTL_ENABLE);
    isb();
    report(read_sysreg(cntp_cval_el0) == deadline, "CNTP_CVAL_EL0 reads back");
    report((read_sysreg(cntp_ctl_el0) & 7) == CNT_CTL_ENABLE, "CNTP_CTL_EL0: enabled, not expired");
    check_ptimer_tval();

    /* fires at the deadline set through TVAL, not before */
    write_sysreg(cntp_tval_el0, us_to_ticks(SHORT_US));
    isb();
    deadline = read_sysreg(cntp_cval_el0);
    iar = gic_wait_ack(SHORT_US + LATE_US);
    now = cntpct();
    report(iar == pppi, "the physical timer interrupt arrives (IAR %u)", iar);
    report(now >= deadline, "not before its deadline");
    report(read_sysreg(cntp_ctl_el0) & CNT_CTL_ISTATUS, "CNTP_CTL_EL0.ISTATUS once expired");
    /* level-sensitive: masking the timer lowers the line before the EOI */
    write_sysreg(cntp_ctl_el0, CNT_CTL_ENABLE | CNT_CTL_IMASK);
    isb();
    if (iar == pppi)
        gic_eoi(iar);
    iar = gic_wait_ack(SHORT_US);
    report(iar == GIC_SPURIOUS, "IMASK holds it back (IAR %u)", iar);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    /* unmasked while still expired: the level is back */
    write_sysreg(cntp_ctl_el0, CNT_CTL_ENABLE);
    isb();
    iar = gic_wait_ack(SHORT_US);
    report(iar == pppi, "unmasking an expired timer raises it again (IAR %u)", iar);
    write_sysreg(cntp_ctl_el0, 0);
    isb();
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    report(gic_wait_ack(SHORT_US) == GIC_SPURIOUS && !gic_irq_pending(pppi),
           "disabled: quiet");
    gic_irq_disable(pppi);
    local_irq_enable();
    report_prefix_pop();
}

/* ---- the timers' PPIs as level-sensitive lines ---- */

struct timer_ops {
    const char *name;
    const u32 *ppi;
    void (*set_ctl)(u64 ctl);
    void (*set_cval)(u64 cval);
};

static void ptimer_set_ctl(u64 ctl) { write_sysreg(cntp_ctl_el0, ctl); isb(); }
static void ptimer_set_cval(u64 cval) { write_sysreg(cntp_cval_el0, cval); isb(); }

static const struct timer_ops vtimer_ops = { "vtimer", &vppi, vtimer_set_ctl, vtimer_set_cval };
static const struct timer_ops ptimer_ops = { "ptimer", &pppi, ptimer_set_ctl, ptimer_set_cval };

enum lower_how { LOWER_DISABLE, LOWER_MASK, LOWER_LATER, NR_LOWER };
static const char *const lower_name[] = { "disabled", "masked", "reprogrammed later" };

/*
 * Without FEAT_ECV (a guest sees ID_AA64MMFR0_EL1.ECV as the host has it,
 * capped at 1) Keel cannot see a virtual timer being lowered until the
 * guest's next exit: then only the reads-first order is checked for it.
 */
static bool host_has_ecv(void)
{
    return read_sysreg(id_aa64mmfr0_el1) >> 60;
}

/* Expires @t (interrupts masked) and waits for its PPI to show pending at the GIC. */
static bool timer_expire(const struct timer_ops *t)
{
    t->set_cval(cntvct() - 1); /* CNTPCT = CNTVCT here: CNTVOFF_EL2 is 0 */
    t->set_ctl(CNT_CTL_ENABLE);
    return wait_until(gic_irq_pending(*t->ppi), LATE_US);
}

static void timer_lower(const struct timer_ops *t, enum lower_how how)
{
    if (how == LOWER_DISABLE)
        t->set_ctl(0);
    else if (how == LOWER_MASK)
        t->set_ctl(CNT_CTL_ENABLE | CNT_CTL_IMASK);
    else
        t->set_cval(cntvct() + us_to_ticks(LONG_US));
}

/*
 * Fires @t, lowers it as @how says, then (@read_first) reads its pending
 * state before waiting for an interrupt, or waits first. True if it was
 * neither pending, active nor taken. Interrupts masked by the caller.
 */
static bool timer_lowered_quiet(const struct timer_ops *t, enum lower_how how, bool read_first,
                                u32 *iar_out)
{
    bool pending = true, active;
    u32 iar;

    *iar_out = GIC_SPURIOUS;
    if (!timer_expire(t)) {
        report_info("%s: pending never showed after it expired", t->name);
        t->set_ctl(0);
        return false;
    }
    timer_lower(t, how);
    if (read_first)
        pending = gic_irq_pending(*t->ppi);
    iar = gic_wait_ack(SHORT_US);
    if (!read_first)
        pending = gic_irq_pending(*t->ppi);
    active = gic_irq_active(*t->ppi);
    t->set_ctl(0);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    *iar_out = iar;
    return !pending && !active && iar == GIC_SPURIOUS;
}

static void check_level(const struct timer_ops *t)
{
    bool ecv = t == &ptimer_ops || host_has_ecv();
    u32 iar;

    gic_irq_enable(*t->ppi);
    for (unsigned int how = 0; how < NR_LOWER; how++) {
        for (int read_first = 1; read_first >= 0; read_first--) {
            if (!read_first && !ecv) {
                report_info("%s %s, no pending read first: not checked without FEAT_ECV", t->name,
                            lower_name[how]);
                continue;
            }
            report(timer_lowered_quiet(t, (enum lower_how)how, read_first, &iar),
                   "%s fired, then %s%s: not pending, not active, no interrupt (IAR %u)", t->name,
                   lower_name[how], read_first ? ", ISPENDR0 read first" : "", iar);
        }
    }
    /* the physical side was not left active: it fires again */
    t->set_cval(cntvct() - 1);
    t->set_ctl(CNT_CTL_ENABLE);
    iar = gic_wait_ack(LATE_US);
    t->set_ctl(0);
    if (iar != GIC_SPURIOUS)
        gic_eoi(iar);
    report(iar == *t->ppi, "%s fires again afterwards (IAR %u)", t->name, iar);
    gic_irq_disable(*t->ppi);
}

static void test_level(void)
{
    report_prefix_push("level");
    local_irq_disable();
    check_level(&vtimer_ops);
    check_level(&ptimer_ops);
    local_irq_enable();
    report_prefix_pop();
}

/* ---- every vCPU: its own timer; the counter across vCPUs ---- */
static volatile u64 fired_at[MAX_CPUS], deadline[MAX_CPUS];

static void vtimer_handler(u32 intid, struct ex_frame *f)
{
    fired_at[smp_id()] = cntvct();
    timer_off();
}

static void percpu_timer(void *arg)
{
    unsigned int cpu = smp_id();

    fired_at[cpu] = 0;
    gic_irq_enable(vppi);
    deadline[cpu] = cntvct() + us_to_ticks(5000 + 3000 * cpu);
    vtimer_set_cval(deadline[cpu]);
    vtimer_set_ctl(CNT_CTL_ENABLE);
    wait_until(fired_at[cpu] != 0, LONG_US);
    gic_irq_disable(vppi);
}

static volatile bool level_ok[MAX_CPUS];

/* Each vCPU: its virtual timer fired, then disabled, is neither pending nor taken. */
static void percpu_level(void *arg)
{
    u64 flags = local_irq_save();
    u32 iar;

    gic_irq_enable(vppi);
    level_ok[smp_id()] = timer_lowered_quiet(&vtimer_ops, LOWER_DISABLE, !host_has_ecv(), &iar);
    gic_irq_disable(vppi);
    local_irq_restore(flags);
}

static spinlock_t mono_lock = SPINLOCK_INIT;
static u64 mono_last, mono_bad, mono_reads[MAX_CPUS];

static void mono_fn(void *arg)
{
    u64 end = cntvct() + us_to_ticks(200000);
    unsigned int cpu = smp_id();

    while (cntvct() < end) {
        spin_lock(&mono_lock);
        u64 now = cntvct();
        if (now < mono_last)
            mono_bad++;
        mono_last = now;
        mono_reads[cpu]++;
        spin_unlock(&mono_lock);
    }
}

static void test_smp(void)
{
    unsigned int n = machine.nr_cpus;
    bool ok = true;

    report_prefix_push("smp");
    smp_boot_all();
    irq_set_handler(vppi, vtimer_handler);
    on_cpus(percpu_timer, NULL);
    for (unsigned int c = 0; c < n; c++) {
        ok &= fired_at[c] >= deadline[c] && fired_at[c] != 0;
        if (!fired_at[c] || fired_at[c] < deadline[c])
            report_info("cpu %u: fired at %lu, deadline %lu", c, fired_at[c], deadline[c]);
    }
    report(ok, "each of %u vCPUs got its own timer interrupt, not before its deadline", n);
    irq_set_handler(vppi, NULL);

    on_cpus(percpu_level, NULL);
    ok = true;
    for (unsigned int c = 0; c < n; c++)
        ok &= level_ok[c];
    report(ok, "on each of %u vCPUs, its virtual timer fired then disabled is not pending, not taken", n);

    on_cpus(mono_fn, NULL);
    {
        u64 total = 0;
        bool all = true;
        for (unsigned int c = 0; c < n; c++) {
            total += mono_reads[c];
            all &= mono_reads[c] > 0;
        }
        report(mono_bad == 0 && all, "counter monotonic across %u vCPUs: %lu ordered reads, %lu backwards",
               n, total, mono_bad);
    }
    report_prefix_pop();
}

void guest_main(void)
{
    vppi = machine.timer_ppi[2];
    pppi = machine.timer_ppi[1];
    report_prefix_push("timer");
    report_info("%u vCPU(s), CNTFRQ %lu Hz", machine.nr_cpus, cnt_freq());
    test_counter();
    test_vtimer();
    test_ptimer();
    test_level();
    test_smp();
    report_prefix_pop();
}
