/*
 * M-mode libguest: boot, device tree, console, reporting, traps, running
 * below M, CSR access by number, other harts. See mguest.h.
 */
#include <string.h>
#include "mguest.h"

struct machine machine;
struct lower_exit lower_exit[MAX_HARTS];
volatile unsigned int irq_unhandled[MAX_HARTS][16];

u64 run_in_asm(unsigned int priv, lower_fn fn, u64 a0, u64 a1, unsigned int how);
void __noreturn lower_resume(u64 ret);
void trap_dispatch(struct trap_frame *f);
void __noreturn libguest_boot(unsigned long hartid, u64 dtb);
void __noreturn libguest_secondary(unsigned long hartid, u64 dtb);
extern char mtrap_entry[], strap_entry[];

const char *priv_name(unsigned int p)
{
    static const char *const names[] = { "U", "S", "?", "M" };

    return names[p & 3];
}

/* ---- console: NS16550A at QEMU virt's address, polled ---- */
#define UART_THR 0
#define UART_IER 1
#define UART_LSR 5
#define UART_LSR_THRE BIT(5)
#define UART_LSR_TEMT BIT(6)

static spinlock_t print_lock = SPINLOCK_INIT;

void spin_lock(spinlock_t *l)
{
    for (;;) {
        u32 old;
        __asm__ volatile("amoswap.w.aq %0, %1, (%2)" : "=r"(old) : "r"(1), "r"(&l->locked) : "memory");
        if (!old)
            return;
        while (READ_ONCE(l->locked))
            cpu_relax();
    }
}

void spin_unlock(spinlock_t *l)
{
    __asm__ volatile("amoswap.w.rl zero, zero, (%0)" :: "r"(&l->locked) : "memory");
}

static void uart_putc(char c)
{
    while (!(readb(UART_BASE + UART_LSR) & UART_LSR_THRE))
        ;
    writeb(UART_BASE + UART_THR, (u8)c);
}

static void uart_wait_idle(void)
{
    while (!(readb(UART_BASE + UART_LSR) & UART_LSR_TEMT))
        ;
}

void puts_raw(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            uart_putc('\r');
        uart_putc(*s);
    }
}

int vprintf(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);

    spin_lock(&print_lock);
    puts_raw(buf);
    spin_unlock(&print_lock);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

/* ---- reporting ---- */
static spinlock_t report_lock = SPINLOCK_INIT;
static volatile unsigned int nr_pass, nr_fail, nr_skip;
static volatile u32 exiting;
#define PREFIX_DEPTH 4
static const char *prefixes[MAX_HARTS][PREFIX_DEPTH];
static unsigned int prefix_depth[MAX_HARTS];

void report_prefix_push(const char *p)
{
    unsigned long h = hart_id();

    if (prefix_depth[h] < PREFIX_DEPTH)
        prefixes[h][prefix_depth[h]] = p;
    prefix_depth[h]++;
}

void report_prefix_pop(void)
{
    unsigned long h = hart_id();

    if (prefix_depth[h])
        prefix_depth[h]--;
}

static void report_line(const char *tag, const char *fmt, va_list ap)
{
    char buf[448];
    size_t n;
    unsigned long h = hart_id();

    n = (size_t)snprintf(buf, sizeof(buf), "%s: ", tag);
    for (unsigned int i = 0; i < prefix_depth[h] && i < PREFIX_DEPTH && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s: ", prefixes[h][i]);
    if (n < sizeof(buf))
        vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    printf("%s\n", buf);
}

static void count(volatile unsigned int *c)
{
    spin_lock(&report_lock);
    ++*c;
    spin_unlock(&report_lock);
}

bool report(bool cond, const char *fmt, ...)
{
    va_list ap;

    count(cond ? &nr_pass : &nr_fail);
    va_start(ap, fmt);
    report_line(cond ? "PASS" : "FAIL", fmt, ap);
    va_end(ap);
    return cond;
}

void report_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_line("INFO", fmt, ap);
    va_end(ap);
}

void report_skip(const char *fmt, ...)
{
    va_list ap;

    count(&nr_skip);
    va_start(ap, fmt);
    report_line("SKIP", fmt, ap);
    va_end(ap);
}

bool native_qemu(void)
{
    return dt_is_compatible(dt_path("/"), "riscv-virtio");
}

bool report_or_known(bool cond, const char *why, const char *fmt, ...)
{
    va_list ap;
    char buf[320];

    if (cond || !native_qemu()) {
        count(cond ? &nr_pass : &nr_fail);
        va_start(ap, fmt);
        report_line(cond ? "PASS" : "FAIL", fmt, ap);
        va_end(ap);
        return cond;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    report_skip("%s: natively not so: %s", buf, why);
    return cond;
}

unsigned int report_failures(void)
{
    return READ_ONCE(nr_fail);
}

/*
 * The summary, then QEMU's test device (sifive,test0: 0x5555 = pass,
 * power off). Under Keel there is no such device: the store faults (the
 * expected trap swallows it) and the hart waits in WFI with nothing
 * enabled, for good: the summary line is the end.
 */
void __noreturn guest_exit(void)
{
    if (!__atomic_exchange_n(&exiting, 1, __ATOMIC_ACQ_REL)) {
        unsigned int fails = READ_ONCE(nr_fail);

        if (nr_skip)
            printf("SUMMARY: %u passed, %u failed, %u skipped\n", nr_pass, fails, nr_skip);
        else
            printf("SUMMARY: %u passed, %u failed\n", nr_pass, fails);
        if (fails)
            printf("riscv64m-%s: %u FAILED\n", guest_name, fails);
        else
            printf("riscv64m-%s: ALL PASSED\n", guest_name);
        uart_wait_idle();
        expect_trap();
        writel(TEST_DEVICE, 0x5555);
        trap_taken(NULL);
    }
    csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE);
    csr_write(mie, 0);
    for (;;)
        wfi();
}

void __noreturn guest_abort(const char *fmt, ...)
{
    va_list ap;

    count(&nr_fail);
    va_start(ap, fmt);
    report_line("FAIL", fmt, ap);
    va_end(ap);
    guest_exit();
}

/* ---- device tree ---- */
static void dt_parse(u64 dtb)
{
    int cpus, cpu = -1, mem;
    u64 base, size;

    machine.dtb = dtb;
    machine.ram_base = RAM_BASE;
    if (!dt_init((const void *)dtb))
        return;
    cpus = dt_path("/cpus");
    machine.timebase = dt_u32(cpus, "timebase-frequency", 0);
    while ((cpu = dt_subnode(cpus, cpu)) >= 0) {
        const char *t = dt_prop(cpu, "device_type", NULL), *s = dt_prop(cpu, "status", NULL);

        if (!t || strcmp(t, "cpu") || (s && strcmp(s, "okay")))
            continue;
        if (!machine.timebase)
            machine.timebase = dt_u32(cpu, "timebase-frequency", 0);
        if (machine.nr_harts < MAX_HARTS)
            machine.nr_harts++;
    }
    machine.timebase_from_dt = machine.timebase != 0;
    mem = dt_path("/memory");
    if (dt_reg(mem, 0, &base, &size)) {
        machine.ram_base = base;
        machine.ram_size = size;
    }
}

/* ---- traps ---- */
struct trap_slot {
    volatile bool armed, taken;
    int len;            /* bytes to skip; 0: back to ra; -1: from the instruction */
    struct trap t;
};
static struct trap_slot slots[MAX_HARTS];
static trap_hook_t hooks[MAX_HARTS];
static volatile bool lower_active[MAX_HARTS];
/* run_in's ECALL taken in S, passed on to M with the hart's own msip */
static volatile bool fwd_pending[MAX_HARTS];
static volatile u64 fwd_ret[MAX_HARTS], fwd_status[MAX_HARTS], fwd_cause[MAX_HARTS];
static volatile bool dying[MAX_HARTS];

static void arm(int len)
{
    struct trap_slot *s = &slots[hart_id()];

    s->taken = false;
    s->len = len;
    barrier();
    s->armed = true;
    barrier();
}

void expect_trap_len(unsigned int len)
{
    arm((int)len);
}

void expect_trap(void)
{
    arm(-1);
}

bool trap_taken(struct trap *t)
{
    struct trap_slot *s = &slots[hart_id()];
    bool taken;

    barrier();
    s->armed = false;
    taken = s->taken;
    if (t)
        *t = taken ? s->t : (struct trap){ 0 };
    s->taken = false;
    return taken;
}

void trap_hook_set(trap_hook_t h)
{
    hooks[hart_id()] = h;
    mb();
}

/* The length of the instruction at @epc: in S read with SUM and MXR, so U and execute-only pages read too. */
static unsigned int insn_len(const struct trap_frame *f)
{
    u16 lo;

    if (f->mode == PRIV_S) {
        u64 old = csr_read(sstatus);
        csr_set(sstatus, MSTATUS_SUM | MSTATUS_MXR);
        lo = *(const volatile u16 *)f->epc;
        csr_write(sstatus, old);
    } else {
        lo = *(const volatile u16 *)f->epc;
    }
    return (lo & 3) == 3 ? 4 : 2;
}

static void skip(struct trap_frame *f, int len)
{
    unsigned long code = f->cause;

    if (len == 0 || (len < 0 && (code == CAUSE_MISALIGNED_FETCH || code == CAUSE_FETCH_ACCESS ||
                                 code == CAUSE_FETCH_PAGE_FAULT)))
        f->epc = f->x[1];
    else
        f->epc += len > 0 ? (unsigned int)len : insn_len(f);
}

static unsigned int trap_from(const struct trap_frame *f)
{
    if (f->mode == PRIV_M)
        return (f->status & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT;
    return f->status & MSTATUS_SPP ? PRIV_S : PRIV_U;
}

static void __noreturn lower_return(unsigned long h, u64 ret, u64 mstatus)
{
    lower_active[h] = false;
    lower_exit[h].mstatus = mstatus;
    lower_resume(ret);
}

static void __noreturn fatal_trap(struct trap_frame *f, unsigned long h)
{
    if (dying[h]) {
        for (;;)
            wfi();
    }
    dying[h] = true;
    printf("FAIL: hart %lu: unexpected %s in %s-mode (from %s): cause %#lx epc %#lx tval %#lx "
           "status %#lx ra %#lx\n", h, f->cause & CAUSE_INTERRUPT ? "interrupt" : "exception",
           priv_name((unsigned int)f->mode), priv_name(trap_from(f)), f->cause, f->epc, f->tval,
           f->status, f->x[1]);
    __atomic_fetch_add(&nr_fail, 1, __ATOMIC_RELAXED);
    guest_exit();
}

void trap_dispatch(struct trap_frame *f)
{
    unsigned long h = hart_id();
    bool irq = f->cause & CAUSE_INTERRUPT;
    unsigned long code = f->cause & ~CAUSE_INTERRUPT;
    struct trap_slot *s = &slots[h];

    if (h >= MAX_HARTS) {
        for (;;)
            wfi();
    }
    /* run_in's function has returned */
    if (!irq && (code == CAUSE_USER_ECALL || code == CAUSE_SUPERVISOR_ECALL ||
                 code == CAUSE_MACHINE_ECALL) && f->x[17] == LOWER_RETURN_MAGIC && lower_active[h]) {
        if (f->mode == PRIV_M) {
            lower_exit[h] = (struct lower_exit){ .mode = PRIV_M, .status = f->status, .cause = code };
            lower_return(h, f->x[10], f->status);
        }
        /* delegated to S: S cannot reach M but by a trap M keeps, its msip */
        fwd_ret[h] = f->x[10];
        fwd_status[h] = f->status;
        fwd_cause[h] = code;
        mb();
        fwd_pending[h] = true;
        mb();
        writel(CLINT_MSIP(h), 1);
        for (;;)
            wfi();
    }
    if (irq && code == IRQ_M_SOFT && f->mode == PRIV_M && fwd_pending[h]) {
        writel(CLINT_MSIP(h), 0);
        while (csr_read(mip) & MIP_MSIP)
            ;
        fwd_pending[h] = false;
        lower_exit[h] = (struct lower_exit){ .mode = PRIV_S, .status = fwd_status[h],
                                             .cause = fwd_cause[h] };
        lower_return(h, fwd_ret[h], f->status);
    }
    if (hooks[h] && hooks[h](f))
        return;
    if (irq) {
        if (code < 16)
            irq_unhandled[h][code]++;
        if (f->mode == PRIV_M)
            csr_clear(mie, BIT(code));
        else
            csr_clear(sie, BIT(code));
        return;
    }
    if (s->armed) {
        s->armed = false;
        s->t = (struct trap){ .mode = (unsigned int)f->mode, .from = trap_from(f), .cause = f->cause,
                              .tval = f->tval, .epc = f->epc, .status = f->status };
        s->taken = true;
        skip(f, s->len);
        return;
    }
    fatal_trap(f, h);
}

u64 run_in_how(unsigned int priv, lower_fn fn, u64 a0, u64 a1, unsigned int how)
{
    unsigned long h = hart_id();
    u64 ret;

    lower_active[h] = true;
    mb();
    ret = run_in_asm(priv, fn, a0, a1, how);
    lower_active[h] = false;
    return ret;
}

/* ---- CSR access by number: csrrX a0, csr, a1; ret ---- */
static u32 csr_code[MAX_HARTS][4] __aligned(16);

/* Zicsr: funct3 1-3 = CSRRW/CSRRS/CSRRC; rd a0 (x10); rs1 a1 (x11) or x0 for CSR_READ */
u32 csr_op_insn(enum csr_op op, unsigned int csr)
{
    unsigned int rs1 = op == CSR_READ ? 0 : 11;

    return (u32)csr << 20 | rs1 << 15 | (u32)(op & 3) << 12 | 10U << 7 | 0x73;
}

u64 csr_code_addr(void)
{
    return (u64)csr_code[hart_id()];
}

u64 csr_op(enum csr_op op, unsigned int csr, u64 val)
{
    u32 *code = csr_code[hart_id()];
    lower_fn fn = (lower_fn)(uintptr_t)code;

    code[0] = csr_op_insn(op, csr);
    code[1] = 0x00008067; /* ret */
    fence_i();
    return fn(0, val);
}

static u64 csr_op_lower(u64 opcsr, u64 val)
{
    return csr_op((enum csr_op)(opcsr >> 12), (unsigned int)(opcsr & 0xfff), val);
}

bool csr_try(unsigned int priv, enum csr_op op, unsigned int csr, u64 val, u64 *old, struct trap *t)
{
    struct trap dummy;
    u64 v;

    if (!t)
        t = &dummy;
    expect_trap();
    if (priv == PRIV_M)
        v = csr_op(op, csr, val);
    else
        v = run_in(priv, csr_op_lower, (u64)op << 12 | csr, val);
    if (trap_taken(t))
        return false;
    if (old)
        *old = v;
    return true;
}

/* ---- time ---- */
void udelay(u64 us)
{
    u64 end = rdtime() + us_to_ticks(us);

    while (rdtime() < end)
        cpu_relax();
}

/* ---- harts ---- */
struct mailbox {
    hart_fn volatile fn;
    void *volatile arg;
    volatile bool online;
};
static struct mailbox mbox[MAX_HARTS];

#define PMP_NAPOT_RWX 0x1fUL

void hart_defaults(void)
{
    csr_write(mie, 0);
    csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR |
              MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR);
    csr_write(mtvec, (u64)mtrap_entry);
    csr_write(stvec, (u64)strap_entry);
    csr_write(medeleg, 0);
    csr_write(mideleg, 0);
    csr_write(mcounteren, CNT_CY | CNT_TM | CNT_IR);
    csr_write(scounteren, CNT_CY | CNT_TM | CNT_IR);
    csr_write(satp, 0);
    /* no timer interrupt until a test asks for one (QEMU's mtimecmp resets to 0) */
    writeq(CLINT_MTIMECMP(hart_id()), ~0UL);
    /* entry 15, the last one looked at: NAPOT over everything, RWX */
    csr_write(pmpaddr15, GENMASK(53, 0));
    csr_write(pmpcfg2, PMP_NAPOT_RWX << 56);
    sfence_vma();
}

bool hart_online(unsigned long h)
{
    return h < MAX_HARTS && mbox[h].online;
}

void on_hart_async(unsigned long h, hart_fn fn, void *arg)
{
    while (READ_ONCE(mbox[h].fn))
        cpu_relax();
    mbox[h].arg = arg;
    mb();
    mbox[h].fn = fn;
    mb();
    writel(CLINT_MSIP(h), 1);
}

bool hart_wait_idle(unsigned long h, u64 timeout_us)
{
    return wait_until(!READ_ONCE(mbox[h].fn), timeout_us);
}

bool on_hart(unsigned long h, hart_fn fn, void *arg)
{
    on_hart_async(h, fn, arg);
    if (hart_wait_idle(h, 10000000))
        return true;
    report(false, "hart %lu did not finish its work within 10 s", h);
    return false;
}

/* An idle hart: WFI with mie.MSIE and mstatus.MIE 0, woken by its msip; work comes in mbox. */
void __noreturn libguest_secondary(unsigned long h, u64 dtb)
{
    hart_defaults();
    mb();
    mbox[h].online = true;
    for (;;) {
        hart_fn fn;

        csr_write(mie, MIP_MSIP);
        while (!(fn = READ_ONCE(mbox[h].fn))) {
            wfi();
            if (csr_read(mip) & MIP_MSIP) {
                writel(CLINT_MSIP(h), 0);
                mb();
            }
        }
        writel(CLINT_MSIP(h), 0);
        mb();
        fn(mbox[h].arg);
        csr_write(mie, 0);
        csr_clear(mstatus, MSTATUS_MIE);
        mb();
        mbox[h].fn = NULL;
    }
}

/* ---- boot ---- */
static bool satp_mode_sticks(u64 mode)
{
    u64 want = SATP(mode, 0, __image_start), got;

    csr_write(satp, want);
    got = csr_read(satp);
    csr_write(satp, 0);
    return got == want;
}

void __noreturn libguest_boot(unsigned long hartid, u64 dtb)
{
    writeb(UART_BASE + UART_IER, 0);
    hart_defaults();
    dt_parse(dtb);
    if (!machine.timebase)
        machine.timebase = 10000000; /* QEMU virt's, said in an INFO line */
    if (!machine.nr_harts)
        machine.nr_harts = 1;
    machine.sv48 = satp_mode_sticks(SATP_SV48);
    machine.sv57 = satp_mode_sticks(SATP_SV57);
    mbox[hartid].online = true;
    printf("riscv64m-%s: hart %lu, %u hart(s), RAM %#lx+%#lx, timebase %lu Hz%s, DTB %#lx, "
           "misa %#lx, Sv48 %s\n", guest_name, hartid, machine.nr_harts,
           (unsigned long)machine.ram_base, (unsigned long)machine.ram_size,
           (unsigned long)machine.timebase, machine.timebase_from_dt ? "" : " (assumed: not in the DT)",
           (unsigned long)dtb, csr_read(misa), machine.sv48 ? "yes" : "no");
    /* the other harts listed come online by themselves: give them a moment */
    for (unsigned int i = 1; i < machine.nr_harts; i++)
        if (!wait_until(hart_online(i), 2000000))
            report_info("hart %u not online", i);
    guest_main();
    guest_exit();
}
