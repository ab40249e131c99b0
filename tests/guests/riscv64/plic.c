/*
 * plic: the platform-level interrupt controller (RISC-V PLIC spec 1.0.0)
 * as S-mode sees it, driven by a real device: the NS16550A's THR-empty
 * interrupt (IER.ETBEI with an idle transmitter raises its line until
 * ETBEI is cleared).
 *  - the DT: the PLIC ("riscv,plic0" or "sifive,plic-1.0.0"), riscv,ndev,
 *    one S-mode context per hart (interrupts-extended naming IRQ 9 of that
 *    hart's cpu intc), the UART's source
 *  - priority and threshold registers WARL: all ones reads back the
 *    maximum, every value up to it reads back as written; enable bits per
 *    context
 *  - polled: the UART pends its source whatever the enables say; claim
 *    returns it (and clears its pending bit, sip.SEIP with it) and then 0
 *    while it is in flight; after completion with the line low nothing is
 *    left; with the line still high (level) it pends again
 *  - as an interrupt: scause 0x8000000000000009 once, claim gives the
 *    UART's source; held off by threshold >= priority, by priority 0, by
 *    its enable bit, and taken as soon as that is lifted; routed to exactly
 *    the hart whose context enables it, for each hart
 *  - with a second source (the goldfish RTC's alarm, where the DT has
 *    one): claim order by priority, ties to the lower ID
 */
#include "libguest.h"

#define SETTLE_US 20000
#define ARRIVE_US 1000000

/*
 * QEMU's sifive_plic (what the guest drives natively) falls short of the
 * PLIC spec twice: an enable write does not re-evaluate the contexts'
 * outputs (the next claim, threshold or priority write does), and its
 * gateway does not forward a level source still high at completion
 * again (pending follows the device's line changes only).
 */
#define QEMU_ENABLE "QEMU's PLIC updates its outputs on enable writes only at the next other event"
#define QEMU_LEVEL "QEMU's PLIC does not re-sample a level source at completion"

static u32 uart_src;

static u32 plic_read(u64 off) { return readl(machine.plic_base + off); }
static void plic_write(u64 off, u32 v) { writel(machine.plic_base + off, v); }
static int my_ctx(void) { return machine.plic_context[hart_id()]; }
static u32 plic_claim(int ctx) { return plic_read(PLIC_CLAIM(ctx)); }
static void plic_complete(int ctx, u32 src) { plic_write(PLIC_CLAIM(ctx), src); }
static void plic_set_priority(u32 src, u32 p) { plic_write(PLIC_PRIORITY(src), p); }
static void plic_set_threshold(int ctx, u32 t) { plic_write(PLIC_THRESHOLD(ctx), t); }

static bool plic_pending(u32 src)
{
    return plic_read(PLIC_PENDING(src)) & BIT(src % 32);
}

static bool plic_enabled(int ctx, u32 src)
{
    return plic_read(PLIC_ENABLE(ctx, src)) & BIT(src % 32);
}

static void plic_enable(int ctx, u32 src, bool on)
{
    u32 v = plic_read(PLIC_ENABLE(ctx, src));

    plic_write(PLIC_ENABLE(ctx, src), on ? v | (u32)BIT(src % 32) : v & ~(u32)BIT(src % 32));
}

/* Enabled in @ctx alone among the harts' S contexts. */
static void plic_route(u32 src, int ctx)
{
    for (unsigned int i = 0; i < machine.nr_harts; i++) {
        int c = machine.plic_context[machine.hartid[i]];
        if (c >= 0)
            plic_enable(c, src, c == ctx);
    }
}

static bool seip(void)
{
    return csr_read(sip) & SIP_SEIP;
}

/* The UART's interrupt line: OUT2 too, which gates it on PC-style 16550s. */
static void uart_line(bool on)
{
    u8 mcr = readb(uart_reg(UART_MCR));

    if (on) {
        uart_wait_idle(); /* THR empty: the line rises as soon as ETBEI is set */
        writeb(uart_reg(UART_MCR), mcr | UART_MCR_OUT2);
    }
    writeb(uart_reg(UART_IER), on ? UART_IER_ETBEI : 0);
}

/* ---- the goldfish RTC's alarm: a second source, where the DT has one ---- */
#define RTC_ALARM_LOW 0x08
#define RTC_ALARM_HIGH 0x0c
#define RTC_IRQ_ENABLED 0x10
#define RTC_CLEAR_INTERRUPT 0x1c

static u64 rtc_base;
static u32 rtc_src;

/* An alarm in the past fires at once and holds the line until CLEAR_INTERRUPT. */
static void rtc_line(bool on)
{
    if (!rtc_base)
        return;
    if (on) {
        writel(rtc_base + RTC_IRQ_ENABLED, 1);
        writel(rtc_base + RTC_ALARM_HIGH, 0);
        writel(rtc_base + RTC_ALARM_LOW, 0);
    } else {
        writel(rtc_base + RTC_CLEAR_INTERRUPT, 1);
        writel(rtc_base + RTC_IRQ_ENABLED, 0);
    }
}

/* Lines low, and whatever a real PLIC's gateway still holds claimed and completed away. */
static void quiesce(void)
{
    int ctx = my_ctx();
    bool uart_was = plic_enabled(ctx, uart_src), rtc_was = rtc_src && plic_enabled(ctx, rtc_src);
    u32 src;

    uart_line(false);
    rtc_line(false);
    plic_set_threshold(ctx, 0);
    plic_enable(ctx, uart_src, true);
    if (rtc_src)
        plic_enable(ctx, rtc_src, true);
    for (unsigned int i = 0; i < 8 && (src = plic_claim(ctx)); i++)
        plic_complete(ctx, src);
    plic_enable(ctx, uart_src, uart_was);
    if (rtc_src)
        plic_enable(ctx, rtc_src, rtc_was);
}

/* ---- the DT ---- */
static bool test_dt(void)
{
    bool all = true;
    int rtc = dt_find_compatible(-1, "google,goldfish-rtc");
    u64 size;

    report(machine.plic_base && machine.plic_ndev, "PLIC in the DT at %#lx, riscv,ndev %u",
           (unsigned long)machine.plic_base, machine.plic_ndev);
    if (!machine.plic_base)
        return false;
    for (unsigned int i = 0; i < machine.nr_harts; i++) {
        report_info("hart %lu: S-mode context %d", machine.hartid[i], machine.plic_context[machine.hartid[i]]);
        all &= machine.plic_context[machine.hartid[i]] >= 0;
    }
    report(all, "an S-mode context (interrupts-extended, IRQ 9 of its intc) for each of the %u harts",
           machine.nr_harts);
    uart_src = machine.uart_irq;
    report(uart_src > 0 && uart_src <= machine.plic_ndev, "the console UART's PLIC source: %u", uart_src);
    if (rtc >= 0 && dt_reg(rtc, 0, &rtc_base, &size)) {
        rtc_src = dt_u32(rtc, "interrupts", 0);
        report_info("second source: goldfish RTC at %#lx, source %u", (unsigned long)rtc_base, rtc_src);
    }
    return all && uart_src > 0 && uart_src <= machine.plic_ndev;
}

/* ---- WARL registers ---- */
/* All ones reads back the largest value; every value up to it (or 31) reads back as written. */
static u32 warl_max(const char *what, u64 off)
{
    u32 old = plic_read(off), max, v;
    bool same = true;

    plic_write(off, 0xffffffff);
    max = plic_read(off);
    for (v = 0; v <= max && v < 32; v++) {
        plic_write(off, v);
        same &= plic_read(off) == v;
    }
    plic_write(off, old);
    report(max >= 1 && same, "%s: all ones reads back %u, 0..%u read back as written", what, max,
           max < 32 ? max : 31);
    return max;
}

static void test_warl(void)
{
    int ctx = my_ctx(), other = -1;
    char buf[48];
    u32 en_other = 0;

    snprintf(buf, sizeof(buf), "priority of source %u", uart_src);
    warl_max(buf, PLIC_PRIORITY(uart_src));
    warl_max("priority of source 1", PLIC_PRIORITY(1));
    snprintf(buf, sizeof(buf), "priority of source %u (the last)", machine.plic_ndev);
    warl_max(buf, PLIC_PRIORITY(machine.plic_ndev));
    snprintf(buf, sizeof(buf), "threshold of context %d", ctx);
    warl_max(buf, PLIC_THRESHOLD(ctx));

    for (unsigned int i = 0; i < machine.nr_harts; i++)
        if (machine.plic_context[machine.hartid[i]] != ctx && other < 0)
            other = machine.plic_context[machine.hartid[i]];
    if (other >= 0)
        en_other = plic_read(PLIC_ENABLE(other, uart_src));
    plic_enable(ctx, uart_src, true);
    report(plic_enabled(ctx, uart_src) && (other < 0 || plic_read(PLIC_ENABLE(other, uart_src)) == en_other),
           "enable bit of source %u in context %d reads back set%s", uart_src, ctx,
           other >= 0 ? ", another hart's context unchanged" : "");
    plic_enable(ctx, uart_src, false);
    report(!plic_enabled(ctx, uart_src), "enable bit of source %u in context %d reads back clear", uart_src,
           ctx);
}

/* ---- polled ---- */
static void test_polled(void)
{
    int ctx = my_ctx();
    bool pend_disabled, eip_disabled, eip, cleared, eip_gone, refire, after_low;
    u32 nothing, first, second, third;

    local_irq_disable();
    csr_clear(sie, SIE_SEIE);
    plic_set_priority(uart_src, 1);
    plic_route(uart_src, -1);
    quiesce();
    nothing = plic_claim(ctx);
    uart_line(true);
    pend_disabled = wait_until(plic_pending(uart_src), ARRIVE_US);
    eip_disabled = seip();
    plic_enable(ctx, uart_src, true);
    eip = wait_until(seip(), ARRIVE_US);
    first = plic_claim(ctx);
    cleared = !plic_pending(uart_src);
    second = plic_claim(ctx);
    eip_gone = wait_until(!seip(), ARRIVE_US);
    plic_complete(ctx, first); /* the line is still high */
    refire = wait_until(plic_pending(uart_src), SETTLE_US);
    third = plic_claim(ctx);
    uart_line(false);
    plic_complete(ctx, third);
    udelay(SETTLE_US);
    after_low = !plic_pending(uart_src) && !plic_claim(ctx);
    quiesce();

    report(!nothing, "claim with nothing pending: 0 (%u)", nothing);
    report(pend_disabled && !eip_disabled, "UART THR-empty: source %u pending while disabled in every "
           "context, sip.SEIP clear", uart_src);
    report_or_known(eip, QEMU_ENABLE, "enabled in context %d while pending: sip.SEIP set", ctx);
    report(first == uart_src, "claim in context %d gives %u (%u)", ctx, uart_src, first);
    report(cleared && !second && eip_gone, "after the claim: pending bit clear, claim again 0 (%u), sip.SEIP "
           "clear", second);
    report_or_known(refire && third == uart_src, QEMU_LEVEL, "completed with the line still high (level): "
                    "pending again, claim gives %u (%u)", uart_src, third);
    report(after_low, "completed with the line low: nothing pending, claim 0");
}

/* ---- as an interrupt ---- */
static volatile unsigned int ext_irqs[MAX_HARTS];
static volatile u32 ext_claimed[MAX_HARTS];
static volatile unsigned long ext_scause[MAX_HARTS];

static void ext_handler(struct trap_frame *f)
{
    unsigned long h = hart_id();
    int ctx = my_ctx();
    u32 src = plic_claim(ctx);

    ext_scause[h] = f->scause;
    ext_claimed[h] = src;
    ext_irqs[h]++;
    if (src == uart_src)
        writeb(uart_reg(UART_IER), 0); /* the line low before completion: once only */
    if (src)
        plic_complete(ctx, src);
}

static void ext_open(bool open)
{
    local_irq_disable();
    if (open) {
        csr_set(sie, SIE_SEIE);
        local_irq_enable();
    } else {
        csr_clear(sie, SIE_SEIE);
    }
}

/* The UART line raised on this hart: how many interrupts it took. */
static unsigned int take_uart(void)
{
    unsigned long h = hart_id();

    ext_irqs[h] = 0;
    ext_claimed[h] = ~0U;
    ext_open(true);
    uart_line(true);
    wait_until(ext_irqs[h], ARRIVE_US);
    udelay(SETTLE_US);
    ext_open(false);
    uart_line(false);
    return ext_irqs[h];
}

static void setup_uart(void)
{
    int ctx = my_ctx();

    quiesce();
    plic_set_priority(uart_src, 1);
    plic_set_threshold(ctx, 0);
    plic_route(uart_src, ctx);
}

static void test_taken(void)
{
    unsigned long h = hart_id();
    unsigned int n;

    setup_uart();
    n = take_uart();
    quiesce();
    report(n == 1 && ext_scause[h] == (CAUSE_INTERRUPT | IRQ_S_EXT) && ext_claimed[h] == uart_src,
           "UART interrupt: one S-external interrupt (scause %#lx), claim gives %u (%u taken, claimed %u)",
           ext_scause[h], uart_src, n, ext_claimed[h]);
}

/* ---- held off, then let through ---- */
static u32 max_priority;

static void by_threshold_eq(bool on) { plic_set_threshold(my_ctx(), on ? 1 : 0); }
static void by_threshold_max(bool on) { plic_set_threshold(my_ctx(), on ? max_priority : 0); }
static void by_priority_0(bool on) { plic_set_priority(uart_src, on ? 0 : 1); }
static void by_enable(bool on) { plic_enable(my_ctx(), uart_src, !on); }
static void by_seie(bool on) { if (on) csr_clear(sie, SIE_SEIE); else csr_set(sie, SIE_SEIE); }

static const struct blocker {
    const char *what;
    void (*block)(bool on);
    bool eip;          /* whether sip.SEIP shows it meanwhile */
    const char *known; /* why QEMU's PLIC fails it natively, if it does */
} blockers[] = {
    { "threshold 1 = priority 1", by_threshold_eq, false, NULL },
    { "threshold at its maximum", by_threshold_max, false, NULL },
    { "priority 0", by_priority_0, false, NULL },
    { "its enable bit clear", by_enable, false, QEMU_ENABLE },
    { "sie.SEIE clear", by_seie, true, NULL },
};

static void test_held_off(const struct blocker *b)
{
    unsigned long h = hart_id();
    unsigned int before;
    bool eip, taken;

    setup_uart();
    ext_irqs[h] = 0;
    ext_claimed[h] = ~0U;
    ext_open(true);
    b->block(true);
    uart_line(true);
    udelay(SETTLE_US);
    before = ext_irqs[h];
    eip = seip();
    b->block(false);
    taken = wait_until(ext_irqs[h], ARRIVE_US);
    udelay(SETTLE_US);
    ext_open(false);
    quiesce();
    report_or_known(!before && eip == b->eip && taken && ext_irqs[h] == 1 && ext_claimed[h] == uart_src,
                    b->known, "%s: no interrupt and sip.SEIP %s meanwhile, taken once lifted (%u, then %u, "
                    "claimed %u)", b->what, b->eip ? "set" : "clear", before, ext_irqs[h], ext_claimed[h]);
}

/* ---- routing: each hart's context in turn ---- */
static void take_here(void *arg)
{
    take_uart();
}

static void test_routing(void)
{
    unsigned long self = hart_id();

    for (unsigned int i = 0; i < machine.nr_harts; i++) {
        unsigned long h = machine.hartid[i];
        int ctx = machine.plic_context[h];
        bool ok;

        quiesce();
        for (unsigned int j = 0; j < machine.nr_harts; j++)
            ext_irqs[machine.hartid[j]] = 0;
        plic_set_priority(uart_src, 1);
        plic_set_threshold(ctx, 0);
        plic_route(uart_src, ctx);
        if (h == self) {
            take_uart();
        } else {
            ext_open(true); /* would take it, were it routed here */
            on_hart(h, take_here, NULL);
            ext_open(false);
        }
        ok = ext_irqs[h] == 1 && ext_claimed[h] == uart_src;
        for (unsigned int j = 0; j < machine.nr_harts; j++)
            ok &= machine.hartid[j] == h || !ext_irqs[machine.hartid[j]];
        report(ok, "enabled in hart %lu's context %d alone: taken there once, nowhere else", h, ctx);
    }
    plic_route(uart_src, -1);
}

/* ---- claim order: priority, then the lower ID ---- */
static void test_order(void)
{
    static const struct { u32 uart, rtc; } prios[] = { { 1, 2 }, { 3, 2 }, { 2, 2 } };
    int ctx = my_ctx();

    if (!rtc_src) {
        report_skip("claim order: no second source in the DT (a goldfish RTC)");
        return;
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(prios); i++) {
        bool uart_first = prios[i].uart > prios[i].rtc || (prios[i].uart == prios[i].rtc && uart_src < rtc_src);
        u32 want1 = uart_first ? uart_src : rtc_src, want2 = uart_first ? rtc_src : uart_src, got1, got2;
        bool both;

        quiesce();
        plic_route(uart_src, ctx);
        plic_route(rtc_src, ctx);
        plic_set_priority(uart_src, prios[i].uart);
        plic_set_priority(rtc_src, prios[i].rtc);
        uart_line(true);
        rtc_line(true);
        both = wait_until(plic_pending(uart_src) && plic_pending(rtc_src), ARRIVE_US);
        got1 = plic_claim(ctx);
        got2 = plic_claim(ctx);
        uart_line(false);
        rtc_line(false);
        plic_complete(ctx, got1);
        plic_complete(ctx, got2);
        quiesce();
        report(both && got1 == want1 && got2 == want2, "source %u at priority %u, source %u at %u: claim gives "
               "%u, then %u (%u, %u)", uart_src, prios[i].uart, rtc_src, prios[i].rtc, want1, want2, got1, got2);
    }
    plic_route(rtc_src, -1);
    plic_set_priority(rtc_src, 1);
}

void guest_main(void)
{
    report_prefix_push("plic");
    if (!test_dt())
        return;
    hart_boot_all();
    irq_set_handler(IRQ_S_EXT, ext_handler);
    for (unsigned int i = 0; i < machine.nr_harts; i++)
        plic_set_threshold(machine.plic_context[machine.hartid[i]], 0);
    plic_route(uart_src, -1);
    if (rtc_src)
        plic_route(rtc_src, -1);
    quiesce();
    test_warl();
    plic_write(PLIC_PRIORITY(uart_src), 0xffffffff);
    max_priority = plic_read(PLIC_PRIORITY(uart_src));
    test_polled();
    test_taken();
    for (unsigned int i = 0; i < ARRAY_SIZE(blockers); i++)
        test_held_off(&blockers[i]);
    test_routing();
    test_order();
    plic_set_priority(uart_src, 1);
    report_prefix_pop();
}
