/*
 * irq: interrupts of a hart with M, S and U (privileged spec 1.12, 3.1.6.1,
 * 3.1.7, 3.1.9, 3.2.1, 3.3.3, 4.1.3) with the CLINT of QEMU virt:
 *  - the timebase from the DT's /cpus timebase-frequency; every duration
 *    derived from it
 *  - the M timer: mip.MTIP follows mtime >= mtimecmp (64-bit and 32-bit
 *    halves); one interrupt (mcause 0x8000000000000007) at the deadline,
 *    not early, cleared by writing mtimecmp forward; held off by mie.MTIE
 *    and by mstatus.MIE in M, never below M
 *  - xv6's pattern: the M timer handler raises SSIP (through mip and
 *    through sip) and S takes the supervisor software interrupt
 *  - mip.STIP set by M: taken in S when delegated (from S with SIE, from U
 *    always), in M when not (from S whatever MIE says)
 *  - the priority among pending interrupts for M: MSI, MTI, SSI, STI
 *  - vectored mtvec/stvec: interrupts at BASE + 4 * cause, exceptions at BASE
 *  - WFI with the global enables off woken by a pending enabled interrupt
 *    (no trap); an interrupt that ends a WFI has epc = WFI + 4
 *  - the CLINT's msip: read back, bit 0 only; IPIs from hart to hart with
 *    2 and 3 harts, one interrupt (mcause ...03) per IPI, none lost; a
 *    hart's timer set by another hart
 */
#include "mguest.h"

#define IRQ(n) (CAUSE_INTERRUPT | (n))
#define LATE_US 250000       /* generous: the host may be busy with other emulators */

static u64 ms(u64 n)
{
    return us_to_ticks(n * 1000);
}

static void mtimecmp_set(unsigned long h, u64 v)
{
    writeq(CLINT_MTIMECMP(h), v);
}

/* ---- the M timer ---- */
static volatile unsigned int mti_count[MAX_HARTS];
static volatile u64 mti_at[MAX_HARTS], mti_mip[MAX_HARTS], mti_mip_after[MAX_HARTS];
static volatile u64 mti_epc[MAX_HARTS], mti_status[MAX_HARTS];
/*
 * A WFI at wfi_insn_irq meant to be ended by the timer: should the
 * interrupt come before the WFI (on its way there, the host being slower
 * than the deadline is far), the hook arms one more, 1 ms on, so the WFI
 * still ends; the early one's time is kept.
 */
static volatile bool mti_rearm[MAX_HARTS];
static volatile u64 mti_early_at[MAX_HARTS];
static volatile unsigned int mti_early[MAX_HARTS];
extern char wfi_insn_irq[];

static bool mti_hook(struct trap_frame *f)
{
    unsigned long h = hart_id();

    if (f->cause != IRQ(IRQ_M_TIMER) || f->mode != PRIV_M)
        return false;
    mti_at[h] = rdtime();
    mti_mip[h] = csr_read(mip);
    mti_epc[h] = f->epc;
    mti_status[h] = f->status;
    if (mti_rearm[h] && f->epc != (u64)wfi_insn_irq + 4) {
        mti_early[h]++;
        mti_early_at[h] = mti_at[h];
        mtimecmp_set(h, rdtime() + ms(1));
    } else {
        mtimecmp_set(h, ~0UL);
    }
    mti_mip_after[h] = csr_read(mip);
    mti_count[h]++;
    return true;
}

static void test_mtip_level(void)
{
    unsigned long h = hart_id();
    u64 now = rdtime();

    report_prefix_push("mtimecmp");
    mtimecmp_set(h, now - 1);
    report(csr_read(mip) & MIP_MTIP, "mtimecmp in the past: mip.MTIP set");
    mtimecmp_set(h, ~0UL);
    report(!(csr_read(mip) & MIP_MTIP), "mtimecmp all ones: MTIP clear");
    mtimecmp_set(h, 0);
    report(csr_read(mip) & MIP_MTIP, "mtimecmp 0: MTIP set");
    mtimecmp_set(h, now + ms(1000));
    report(!(csr_read(mip) & MIP_MTIP) && readq(CLINT_MTIMECMP(h)) == now + ms(1000),
           "mtimecmp a second ahead: MTIP clear, reads back");
    /* 32-bit halves, high first so that no moment falls in the past */
    writel(CLINT_MTIMECMP(h) + 4, 0xffffffff);
    writel(CLINT_MTIMECMP(h), 0x12345678);
    report(readq(CLINT_MTIMECMP(h)) == 0xffffffff12345678UL && readl(CLINT_MTIMECMP(h) + 4) == 0xffffffff,
           "mtimecmp by 32-bit halves: %#lx", (unsigned long)readq(CLINT_MTIMECMP(h)));
    mtimecmp_set(h, ~0UL);
    {
        u64 a = readq(CLINT_MTIME), b;
        udelay(1000);
        b = readq(CLINT_MTIME);
        report(b - a >= ms(1) && b - a < ms(1000), "mtime advances with time (%lu ticks over 1 ms)",
               (unsigned long)(b - a));
    }
    report_prefix_pop();
}

static void test_mtimer(void)
{
    unsigned long h = hart_id();
    u64 deadline;
    unsigned int n0;

    report_prefix_push("M timer");
    trap_hook_set(mti_hook);
    n0 = mti_count[h];
    deadline = rdtime() + ms(10);
    mtimecmp_set(h, deadline);
    csr_set(mie, MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);
    bool got = wait_until(mti_count[h] != n0, 1000000);
    csr_clear(mstatus, MSTATUS_MIE);
    report(got && mti_count[h] == n0 + 1, "one M timer interrupt for a deadline 10 ms ahead");
    report(got && mti_at[h] >= deadline, "not before the deadline (%ld us after)",
           (long)ticks_to_us(mti_at[h] - deadline));
    report(got && mti_at[h] < deadline + us_to_ticks(LATE_US), "within %u ms of it", LATE_US / 1000);
    report(got && (mti_mip[h] & MIP_MTIP), "mip.MTIP set in the handler");
    report(got && !(mti_mip_after[h] & MIP_MTIP), "mtimecmp written forward: MTIP clear");
    report(got && (mti_status[h] & MSTATUS_MPIE) && (mti_status[h] & MSTATUS_MPP) == MPP(PRIV_M),
           "taken in M from M: MPIE 1, MPP M");
    udelay(20000);
    report(mti_count[h] == n0 + 1, "and only one");

    /* held off by mie.MTIE, then by MIE; taken as soon as both allow */
    n0 = mti_count[h];
    csr_clear(mie, MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);
    mtimecmp_set(h, rdtime() - 1);
    udelay(5000);
    report(mti_count[h] == n0 && (csr_read(mip) & MIP_MTIP), "MTIP pending, mie.MTIE 0: not taken");
    csr_clear(mstatus, MSTATUS_MIE);
    csr_set(mie, MIP_MTIP);
    udelay(5000);
    report(mti_count[h] == n0, "mie.MTIE 1, mstatus.MIE 0 in M: not taken");
    csr_set(mstatus, MSTATUS_MIE);
    barrier();
    report(mti_count[h] == n0 + 1, "mstatus.MIE 1: taken at once");
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mie, MIP_MTIP);
    report_prefix_pop();
}

/* Below M an M interrupt is always enabled (3.1.6.1): S and U spin until the handler ran. */
static u64 spin_for_count(u64 addr, u64 want)
{
    u64 end = rdtime() + ms(1000);

    while (*(volatile unsigned int *)addr < want && rdtime() < end)
        ;
    return *(volatile unsigned int *)addr;
}

static void test_mtimer_below_m(void)
{
    unsigned long h = hart_id();

    report_prefix_push("M timer below M");
    trap_hook_set(mti_hook);
    for (unsigned int p = 0; p < 2; p++) {
        unsigned int priv = p ? PRIV_S : PRIV_U;
        unsigned int n0 = mti_count[h];

        csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
        csr_set(mie, MIP_MTIP);
        mtimecmp_set(h, rdtime() + ms(5));
        run_in(priv, spin_for_count, (u64)&mti_count[h], n0 + 1);
        csr_clear(mie, MIP_MTIP);
        report(mti_count[h] == n0 + 1 && (mti_status[h] & MSTATUS_MPP) == MPP(priv),
               "taken from %s with mstatus.MIE 0 (MPP %lu)", priv_name(priv),
               (unsigned long)((mti_status[h] & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT));
    }
    report_prefix_pop();
}

/* ---- xv6: the M timer handler raises SSIP, S takes it ---- */
static volatile unsigned int xv6_m, xv6_s;
static volatile u64 xv6_scause, xv6_interval;
static volatile bool xv6_bad;

static bool xv6_hook(struct trap_frame *f)
{
    unsigned long h = hart_id();

    if (f->mode == PRIV_M && f->cause == IRQ(IRQ_M_TIMER)) {
        mtimecmp_set(h, readq(CLINT_MTIMECMP(h)) + xv6_interval);
        if (xv6_m++ & 1)
            csr_set(sip, MIP_SSIP); /* as xv6's timervec does */
        else
            csr_set(mip, MIP_SSIP);
        return true;
    }
    if (f->mode == PRIV_S && f->cause == IRQ(IRQ_S_SOFT)) {
        xv6_scause = f->cause;
        if (!(csr_read(sip) & MIP_SSIP))
            xv6_bad = true;
        csr_clear(sip, MIP_SSIP);
        xv6_s++;
        return true;
    }
    return false;
}

static u64 s_ticks(u64 want, u64 timeout)
{
    u64 end = rdtime() + timeout;

    csr_set(sstatus, MSTATUS_SIE);
    while (xv6_s < want && rdtime() < end)
        ;
    csr_clear(sstatus, MSTATUS_SIE);
    return xv6_s;
}

static void test_xv6(void)
{
    unsigned long h = hart_id();
    u64 t0;

    report_prefix_push("xv6 timer");
    trap_hook_set(xv6_hook);
    xv6_m = xv6_s = 0;
    xv6_interval = ms(10);
    csr_write(mideleg, MIP_SSIP);
    csr_write(mie, MIP_MTIP | MIP_SSIP);
    t0 = rdtime();
    mtimecmp_set(h, t0 + xv6_interval);
    run_in(PRIV_S, s_ticks, 6, ms(2000));
    mtimecmp_set(h, ~0UL);
    csr_write(mie, 0);
    csr_write(mideleg, 0);
    csr_clear(mip, MIP_SSIP);
    /* SSIP is one bit: raises before S ran coalesce (a tick handled late finds the next one due) */
    report(xv6_s >= 6 && xv6_s <= xv6_m, "6 ticks: M took %u timer interrupts, S %u software ones",
           xv6_m, xv6_s);
    report(xv6_scause == IRQ(IRQ_S_SOFT) && !xv6_bad, "scause %#lx, sip.SSIP set in S's handler",
           (unsigned long)xv6_scause);
    report(ticks_to_us(rdtime() - t0) >= 6 * 10000, "6 ticks of 10 ms took %lu us",
           (unsigned long)ticks_to_us(rdtime() - t0));
    report_prefix_pop();
}

/* ---- STIP set by M ---- */
static volatile unsigned int sti_count;
static volatile struct { u64 cause, mode, from, sip; } sti_seen;

static bool sti_hook(struct trap_frame *f)
{
    if (f->cause != IRQ(IRQ_S_TIMER))
        return false;
    sti_seen.cause = f->cause;
    sti_seen.mode = f->mode;
    sti_seen.from = f->mode == PRIV_M ? (f->status & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT
                                      : !!(f->status & MSTATUS_SPP);
    sti_seen.sip = f->mode == PRIV_S ? csr_read(sip) : csr_read(mip);
    sti_count++;
    if (f->mode == PRIV_S)
        csr_clear(sie, MIP_STIP); /* STIP is M's to clear */
    else
        csr_clear(mip, MIP_STIP);
    return true;
}

static u64 s_sie_spin(u64 sie_on, u64 unused)
{
    u64 end = rdtime() + ms(200);

    if (sie_on)
        csr_set(sstatus, MSTATUS_SIE);
    while (!sti_count && rdtime() < end)
        ;
    csr_clear(sstatus, MSTATUS_SIE);
    return sti_count;
}

static void test_stip(void)
{
    report_prefix_push("STIP");
    trap_hook_set(sti_hook);
    /* delegated, from S: held off by SIE 0, taken with SIE 1 */
    csr_write(mideleg, MIP_STIP);
    csr_write(mie, MIP_STIP);
    csr_set(mip, MIP_STIP);
    sti_count = 0;
    run_in(PRIV_S, s_sie_spin, 0, 0);
    report(sti_count == 0, "delegated, in S with SIE 0: not taken");
    run_in(PRIV_S, s_sie_spin, 1, 0);
    report(sti_count == 1 && sti_seen.mode == PRIV_S && sti_seen.from == PRIV_S &&
           (sti_seen.sip & MIP_STIP), "delegated, in S with SIE 1: taken in S (scause %#lx, sip %#lx)",
           (unsigned long)sti_seen.cause, (unsigned long)sti_seen.sip);
    /* from U: always enabled below S */
    csr_write(mie, MIP_STIP);
    sti_count = 0;
    run_in(PRIV_U, spin_for_count, (u64)&sti_count, 1);
    report(sti_count == 1 && sti_seen.mode == PRIV_S && sti_seen.from == PRIV_U,
           "delegated, in U (SIE 0): taken in S from U");
    /* in M a delegated interrupt is never taken */
    csr_write(mie, MIP_STIP);
    sti_count = 0;
    csr_set(mstatus, MSTATUS_MIE);
    udelay(2000);
    csr_clear(mstatus, MSTATUS_MIE);
    report(sti_count == 0, "delegated, in M with MIE 1: not taken");
    csr_clear(mip, MIP_STIP);
    /* not delegated: M takes it from S whatever MIE is */
    csr_write(mideleg, 0);
    csr_write(mie, MIP_STIP);
    csr_set(mip, MIP_STIP);
    csr_clear(mstatus, MSTATUS_MIE);
    sti_count = 0;
    run_in(PRIV_S, s_sie_spin, 0, 0);
    report(sti_count == 1 && sti_seen.mode == PRIV_M && sti_seen.from == PRIV_S,
           "not delegated, in S: taken in M from S (mcause %#lx)", (unsigned long)sti_seen.cause);
    csr_write(mie, 0);
    csr_clear(mip, MIP_STIP);
    report_prefix_pop();
}

/* ---- priority for M: MEI, MSI, MTI, SEI, SSI, STI (3.1.9) ---- */
static volatile unsigned int order[8], order_n;

static bool order_hook(struct trap_frame *f)
{
    unsigned long h = hart_id(), code = f->cause & ~CAUSE_INTERRUPT;

    if (!(f->cause & CAUSE_INTERRUPT))
        return false;
    if (order_n < ARRAY_SIZE(order))
        order[order_n++] = (unsigned int)code;
    switch (code) {
    case IRQ_M_SOFT: writel(CLINT_MSIP(h), 0); break;
    case IRQ_M_TIMER: mtimecmp_set(h, ~0UL); break;
    case IRQ_S_SOFT: csr_clear(mip, MIP_SSIP); break;
    case IRQ_S_TIMER: csr_clear(mip, MIP_STIP); break;
    default: csr_clear(mie, BIT(code));
    }
    return true;
}

static void test_priority(void)
{
    unsigned long h = hart_id();

    report_prefix_push("priority");
    trap_hook_set(order_hook);
    order_n = 0;
    csr_write(mideleg, 0);
    writel(CLINT_MSIP(h), 1);
    mtimecmp_set(h, 0);
    csr_set(mip, MIP_SSIP | MIP_STIP);
    csr_write(mie, MIP_MSIP | MIP_MTIP | MIP_SSIP | MIP_STIP);
    while (!(csr_read(mip) & MIP_MSIP) || !(csr_read(mip) & MIP_MTIP))
        ;
    csr_set(mstatus, MSTATUS_MIE);
    udelay(1000);
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    report_or_known(order_n == 4 && order[0] == IRQ_M_SOFT && order[1] == IRQ_M_TIMER && order[2] == IRQ_S_SOFT &&
           order[3] == IRQ_S_TIMER, "QEMU without AIA takes the lowest-numbered pending interrupt first",
           "all four pending for M: taken as MSI, MTI, SSI, STI (%u: %u %u %u %u)",
           order_n, order[0], order[1], order[2], order[3]);
    report_prefix_pop();
}

/* ---- vectored mode ---- */
void mvec_table(void);
void svec_table(void);
extern volatile u32 vec_seen;
__asm__(
    ".pushsection .text\n"
    ".option push\n.option norvc\n"
    /* 16 slots at BASE + 4 * n, each to a stub that records n, then the usual vector */
    ".balign 64\n"
    ".global mvec_table\n"
    "mvec_table:\n"
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n j mvec_\\n\n .endr\n"
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "mvec_\\n: addi sp, sp, -16\n sd t0, 0(sp)\n sd t1, 8(sp)\n la t0, vec_seen\n li t1, \\n\n"
    " sw t1, 0(t0)\n ld t1, 8(sp)\n ld t0, 0(sp)\n addi sp, sp, 16\n j mtrap_entry\n"
    ".endr\n"
    ".balign 64\n"
    ".global svec_table\n"
    "svec_table:\n"
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n j svec_\\n\n .endr\n"
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "svec_\\n: addi sp, sp, -16\n sd t0, 0(sp)\n sd t1, 8(sp)\n la t0, vec_seen\n li t1, 0x100 + \\n\n"
    " sw t1, 0(t0)\n ld t1, 8(sp)\n ld t0, 0(sp)\n addi sp, sp, 16\n j strap_entry\n"
    ".endr\n"
    ".option pop\n"
    ".pushsection .data\n .balign 4\n .global vec_seen\nvec_seen: .word 0xffff\n .popsection\n"
    ".popsection\n");
extern char mtrap_entry[], strap_entry[];
u64 vec_ecall(u64 a0, u64 a1);
__asm__(".pushsection .text\n.global vec_ecall\nvec_ecall: li a7, 0\n ecall\n ret\n.popsection\n");

static bool vec_hook(struct trap_frame *f)
{
    if (f->cause == IRQ(IRQ_M_TIMER)) {
        mtimecmp_set(hart_id(), ~0UL);
        return true;
    }
    if (f->cause == IRQ(IRQ_S_SOFT)) {
        csr_clear(sip, MIP_SSIP);
        return true;
    }
    return false;
}

static u64 s_vec(u64 a0, u64 a1)
{
    csr_set(sstatus, MSTATUS_SIE);
    csr_clear(sstatus, MSTATUS_SIE);
    return vec_seen;
}

static void test_vectored(void)
{
    struct trap t;
    bool taken;

    report_prefix_push("vectored");
    trap_hook_set(vec_hook);
    csr_write(mtvec, (u64)mvec_table | 1);
    if ((csr_read(mtvec) & 3) != 1) {
        csr_write(mtvec, (u64)mtrap_entry);
        report_skip("mtvec takes no Vectored mode");
        report_prefix_pop();
        return;
    }
    vec_seen = 0xffff;
    csr_write(mie, MIP_MTIP);
    mtimecmp_set(hart_id(), 0);
    csr_set(mstatus, MSTATUS_MIE);
    barrier();
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    report(vec_seen == IRQ_M_TIMER, "M timer interrupt at mtvec BASE + 4 * 7 (slot %u)", vec_seen);
    vec_seen = 0xffff;
    expect_trap();
    vec_ecall(0, 0);
    taken = trap_taken(&t);
    report(taken && t.cause == CAUSE_MACHINE_ECALL && vec_seen == 0, "an exception at BASE (slot %u)", vec_seen);
    csr_write(mtvec, (u64)mtrap_entry);
    /* stvec: a delegated SSIP taken in S */
    csr_write(stvec, (u64)svec_table | 1);
    csr_write(mideleg, MIP_SSIP);
    csr_write(mie, MIP_SSIP);
    csr_set(mip, MIP_SSIP);
    vec_seen = 0xffff;
    run_in(PRIV_S, s_vec, 0, 0);
    csr_write(mie, 0);
    csr_write(mideleg, 0);
    csr_write(stvec, (u64)strap_entry);
    report(vec_seen == 0x100 + IRQ_S_SOFT, "S software interrupt at stvec BASE + 4 * 1 (slot %#x)", vec_seen);
    report_prefix_pop();
}

/* ---- WFI ---- */
u64 wfi_at(u64 a0, u64 a1);
__asm__(".pushsection .text\n.option push\n.option norvc\n.global wfi_at, wfi_insn_irq\n"
        "wfi_at:\nwfi_insn_irq: wfi\n ret\n.option pop\n.popsection\n");

static void test_wfi(void)
{
    unsigned long h = hart_id();
    u64 deadline, woke;
    unsigned int n0;

    report_prefix_push("wfi");
    trap_hook_set(mti_hook);
    /* M, MIE 0: woken by MTIP pending and enabled in mie, no trap */
    n0 = mti_count[h];
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, MIP_MTIP);
    deadline = rdtime() + ms(20);
    mtimecmp_set(h, deadline);
    do {
        wfi();
    } while (!(csr_read(mip) & MIP_MTIP) && rdtime() < deadline + ms(2000));
    woke = rdtime();
    mtimecmp_set(h, ~0UL);
    csr_write(mie, 0);
    report(woke >= deadline && woke < deadline + us_to_ticks(LATE_US) && mti_count[h] == n0,
           "M, MIE 0: WFI until the timer is due (%ld us after), no trap",
           (long)ticks_to_us(woke - deadline));
    /* S (TW 0): the M timer ends the WFI; mepc is the instruction after it */
    mti_early[h] = 0;
    mti_rearm[h] = true;
    csr_write(mie, MIP_MTIP);
    deadline = rdtime() + ms(10);
    mtimecmp_set(h, deadline);
    run_in(PRIV_S, wfi_at, 0, 0);
    csr_write(mie, 0);
    report(mti_count[h] == n0 + 1 + mti_early[h] && mti_epc[h] == (u64)wfi_insn_irq + 4 &&
               mti_at[h] >= deadline && (!mti_early[h] || mti_early_at[h] >= deadline),
           "S: WFI ended by the M timer at its deadline, mepc = WFI + 4 (%#lx, WFI at %#lx%s)",
           (unsigned long)mti_epc[h], (unsigned long)wfi_insn_irq,
           mti_early[h] ? "; the first interrupt came before the WFI" : "");
    /* M, MIE 1: the interrupt is taken after the WFI, mepc = WFI + 4 */
    n0 = mti_count[h];
    mti_early[h] = 0;
    csr_write(mie, MIP_MTIP);
    deadline = rdtime() + ms(10);
    mtimecmp_set(h, deadline);
    csr_set(mstatus, MSTATUS_MIE);
    wfi_at(0, 0);
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    mti_rearm[h] = false;
    report(mti_count[h] == n0 + 1 + mti_early[h] && mti_epc[h] == (u64)wfi_insn_irq + 4 &&
               (!mti_early[h] || mti_early_at[h] >= deadline),
           "M, MIE 1: WFI, then the interrupt with mepc = WFI + 4 (%#lx%s)", (unsigned long)mti_epc[h],
           mti_early[h] ? "; the first interrupt came before the WFI" : "");
    report_prefix_pop();
}

/* ---- msip and IPIs ---- */
static volatile unsigned int msi_count[MAX_HARTS];
static volatile u64 msi_cause[MAX_HARTS];
static volatile unsigned long ring_next[MAX_HARTS];
static volatile bool stop_wait[MAX_HARTS], ready[MAX_HARTS];
static volatile unsigned int ring_laps;

static bool msi_hook(struct trap_frame *f)
{
    unsigned long h = hart_id();

    if (f->cause == IRQ(IRQ_M_SOFT)) {
        writel(CLINT_MSIP(h), 0);
        while (csr_read(mip) & MIP_MSIP)
            ;
        msi_cause[h] = f->cause;
        msi_count[h]++;
        if (ring_next[h] != ~0UL)
            writel(CLINT_MSIP(ring_next[h]), 1);
        return true;
    }
    return mti_hook(f);
}

/* On a secondary: take M software (and timer) interrupts until told to stop. */
static void take_ipis(void *arg)
{
    unsigned long h = hart_id();

    trap_hook_set(msi_hook);
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);
    ready[h] = true;
    while (!stop_wait[h])
        wfi();
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    ready[h] = false;
    trap_hook_set(NULL);
}

static void test_msip_register(void)
{
    unsigned long h = hart_id();

    report_prefix_push("msip");
    csr_write(mie, 0);
    writel(CLINT_MSIP(h), 1);
    report(readl(CLINT_MSIP(h)) == 1 && (csr_read(mip) & MIP_MSIP), "msip 1: reads 1, mip.MSIP set");
    writel(CLINT_MSIP(h), 0);
    report(readl(CLINT_MSIP(h)) == 0 && !(csr_read(mip) & MIP_MSIP), "msip 0: reads 0, mip.MSIP clear");
    writel(CLINT_MSIP(h), 0xfffffffe);
    report(readl(CLINT_MSIP(h)) == 0 && !(csr_read(mip) & MIP_MSIP), "msip bits 31:1 read 0, bit 0 alone counts");
    writel(CLINT_MSIP(h), 0xffffffff);
    report(readl(CLINT_MSIP(h)) == 1, "msip all ones: reads 1");
    writel(CLINT_MSIP(h), 0);
    report_prefix_pop();
}

static void start_takers(unsigned int n)
{
    for (unsigned long i = 1; i < n; i++) {
        stop_wait[i] = false;
        ring_next[i] = ~0UL;
        on_hart_async(i, take_ipis, NULL);
        if (!wait_until(ready[i], 2000000))
            report(false, "hart %lu ready for IPIs", i);
    }
}

static void stop_takers(unsigned int n)
{
    for (unsigned long i = 1; i < n; i++) {
        stop_wait[i] = true;
        mb();
        writel(CLINT_MSIP(i), 1); /* wakes it; its handler counts it */
        hart_wait_idle(i, 2000000);
    }
}

static void test_ipis(void)
{
    unsigned int n = machine.nr_harts;

    report_prefix_push("IPI");
    if (n < 2) {
        report_skip("one hart: no IPIs between harts");
        report_prefix_pop();
        return;
    }
    for (unsigned long i = 0; i < n; i++)
        ring_next[i] = ~0UL;
    start_takers(n);
    /* one by one, to each */
    for (unsigned long i = 1; i < n; i++) {
        unsigned int bad = 0, n0 = msi_count[i];

        for (unsigned int k = 0; k < 20; k++) {
            writel(CLINT_MSIP(i), 1);
            if (!wait_until(msi_count[i] == n0 + k + 1, 1000000))
                bad++;
        }
        report(!bad && msi_count[i] == n0 + 20 && msi_cause[i] == IRQ(IRQ_M_SOFT),
               "hart 0 -> hart %lu: 20 IPIs, 20 M software interrupts (%u)", i, msi_count[i] - n0);
    }
    /* a ring 0 -> 1 -> ... -> 0, each hart passing it on from its handler */
    trap_hook_set(msi_hook);
    csr_write(mie, MIP_MSIP);
    csr_set(mstatus, MSTATUS_MIE);
    {
        unsigned int n0 = msi_count[0], laps = 10;

        for (unsigned long i = 0; i < n; i++)
            ring_next[i] = (i + 1) % n;
        mb();
        ring_next[0] = ~0UL; /* hart 0 starts each lap itself */
        for (unsigned int k = 0; k < laps; k++) {
            writel(CLINT_MSIP(1), 1);
            if (!wait_until(msi_count[0] == n0 + k + 1, 1000000))
                break;
        }
        report(msi_count[0] == n0 + laps, "%u laps of a ring through %u harts", msi_count[0] - n0, n);
        for (unsigned long i = 0; i < n; i++)
            ring_next[i] = ~0UL;
    }
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    /* another hart's timer */
    {
        unsigned long t = n - 1;
        unsigned int n0 = mti_count[t], m0 = mti_count[0];
        u64 deadline = rdtime() + ms(10);

        mtimecmp_set(t, deadline);
        bool got = wait_until(mti_count[t] == n0 + 1, 1000000);
        report(got && mti_at[t] >= deadline && mti_count[0] == m0,
               "hart 0 sets hart %lu's mtimecmp: that hart takes the timer, at its deadline", t);
    }
    stop_takers(n);
    report_prefix_pop();
}

/* A hart in WFI with MIE 0 and mie.MSIE woken by an IPI, without a trap. */
static volatile u64 wfi_woke_at;
static volatile unsigned int wfi_traps;

static void wfi_for_ipi(void *arg)
{
    unsigned long h = hart_id();
    unsigned int n0 = msi_count[h];

    trap_hook_set(msi_hook);
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, MIP_MSIP);
    ready[h] = true;
    while (!(csr_read(mip) & MIP_MSIP))
        wfi();
    wfi_woke_at = rdtime();
    writel(CLINT_MSIP(h), 0);
    wfi_traps = msi_count[h] - n0;
    csr_write(mie, 0);
    ready[h] = false;
    trap_hook_set(NULL);
}

static void test_wfi_ipi(void)
{
    u64 sent;

    report_prefix_push("wfi");
    if (machine.nr_harts < 2) {
        report_skip("one hart: no IPI to wake a WFI");
        report_prefix_pop();
        return;
    }
    ready[1] = false;
    on_hart_async(1, wfi_for_ipi, NULL);
    wait_until(ready[1], 2000000);
    udelay(20000);
    sent = rdtime();
    writel(CLINT_MSIP(1), 1);
    report(hart_wait_idle(1, 2000000) && wfi_woke_at >= sent && wfi_traps == 0,
           "hart 1 in WFI, MIE 0: woken by hart 0's IPI (%lu us later), no trap",
           (unsigned long)ticks_to_us(wfi_woke_at - sent));
    report_prefix_pop();
}

void guest_main(void)
{
    report(machine.timebase_from_dt, "timebase-frequency in /cpus: %lu Hz", (unsigned long)machine.timebase);
    test_mtip_level();
    test_mtimer();
    test_mtimer_below_m();
    test_xv6();
    test_stip();
    test_priority();
    test_vectored();
    test_wfi();
    test_msip_register();
    test_ipis();
    test_wfi_ipi();
    trap_hook_set(NULL);
}
