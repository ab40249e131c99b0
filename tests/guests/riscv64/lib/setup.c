/*
 * libguest boot, device tree, console, reporting and traps.
 */
#include <string.h>
#include "libguest.h"

struct machine machine;
volatile unsigned int irq_unhandled[MAX_HARTS];

void smp_mark_online(unsigned long hartid);
void report_prefix_clear(void);

/* ---- console: NS16550A THR / LSR ---- */
static spinlock_t print_lock = SPINLOCK_INIT;

static void uart_putc(char c)
{
    while (!(readb(uart_reg(UART_LSR)) & UART_LSR_THRE))
        ;
    writeb(uart_reg(UART_THR), (u8)c);
}

void uart_wait_idle(void)
{
    while (!(readb(uart_reg(UART_LSR)) & UART_LSR_TEMT))
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
    unsigned long flags = spin_lock_irqsave(&print_lock);

    puts_raw(buf);
    spin_unlock_irqrestore(&print_lock, flags);
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
static unsigned int nr_pass, nr_fail, nr_skip;
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

void report_prefix_clear(void)
{
    prefix_depth[hart_id()] = 0;
}

void report_prefix_pop(void)
{
    unsigned long h = hart_id();

    if (prefix_depth[h])
        prefix_depth[h]--;
}

static void report_line(const char *tag, const char *fmt, va_list ap)
{
    char buf[400];
    size_t n;
    unsigned long h = hart_id();

    n = (size_t)snprintf(buf, sizeof(buf), "%s: ", tag);
    for (unsigned int i = 0; i < prefix_depth[h] && i < PREFIX_DEPTH && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s: ", prefixes[h][i]);
    if (n < sizeof(buf))
        vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    printf("%s\n", buf);
}

static void count(unsigned int *c)
{
    unsigned long flags = spin_lock_irqsave(&report_lock);

    ++*c;
    spin_unlock_irqrestore(&report_lock, flags);
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

bool native_opensbi(void)
{
    return sbi_call0(SBI_EXT_BASE, SBI_GET_IMPL_ID).value == SBI_IMPL_OPENSBI;
}

bool report_or_known(bool cond, const char *why, const char *fmt, ...)
{
    va_list ap;
    char buf[300];

    if (cond || !native_opensbi()) {
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

unsigned int report_failures(void)
{
    return READ_ONCE(nr_fail);
}

void __noreturn guest_exit(void)
{
    if (!__atomic_exchange_n(&exiting, 1, __ATOMIC_ACQ_REL)) {
        if (nr_skip)
            printf("SUMMARY: %u passed, %u failed, %u skipped\n", nr_pass, nr_fail, nr_skip);
        else
            printf("SUMMARY: %u passed, %u failed\n", nr_pass, nr_fail);
        uart_wait_idle();
        sbi_system_reset(SBI_SRST_RESET_TYPE_SHUTDOWN, SBI_SRST_RESET_REASON_NONE);
        sbi_legacy(SBI_LEGACY_SHUTDOWN, 0); /* an SBI without SRST */
        puts_raw("FAIL: SBI shutdown returned\n");
    }
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
static bool hart_enabled(int cpu)
{
    const char *t = dt_prop(cpu, "device_type", NULL), *s = dt_prop(cpu, "status", NULL);

    return t && !strcmp(t, "cpu") && (!s || !strcmp(s, "okay"));
}

static int hart_node(unsigned long hartid)
{
    int cpus = dt_path("/cpus"), cpu = -1;

    while ((cpu = dt_subnode(cpus, cpu)) >= 0) {
        u64 id, size;
        if (hart_enabled(cpu) && dt_reg(cpu, 0, &id, &size) && id == hartid)
            return cpu;
    }
    return -1;
}

bool dt_hart_has_ext(unsigned long hartid, const char *ext)
{
    int cpu = hart_node(hartid), len;
    const char *isa;
    size_t n = strlen(ext);

    if (dt_prop(cpu, "riscv,isa-extensions", NULL))
        return dt_strlist_has(cpu, "riscv,isa-extensions", ext);
    /* "rv64imafdc_zicsr_sstc": single letters after rv64, the others between underscores */
    isa = dt_prop(cpu, "riscv,isa", &len);
    if (!isa || strncmp(isa, "rv64", 4))
        return false;
    if (n == 1) {
        for (const char *p = isa + 4; *p && *p != '_'; p++)
            if (*p == ext[0])
                return true;
        return false;
    }
    for (const char *p = strchr(isa, '_'); p; p = strchr(p + 1, '_'))
        if (!strncmp(p + 1, ext, n) && (p[1 + n] == '_' || p[1 + n] == 0))
            return true;
    return false;
}

unsigned long missing_hartid(void)
{
    unsigned long id = 0;

    for (bool again = true; again;) {
        again = false;
        for (unsigned int i = 0; i < machine.nr_harts; i++)
            if (machine.hartid[i] == id) {
                id++;
                again = true;
            }
    }
    return id;
}

static void dt_parse_cpus(void)
{
    int cpus = dt_path("/cpus"), cpu = -1;

    machine.timebase = dt_u32(cpus, "timebase-frequency", 0);
    while ((cpu = dt_subnode(cpus, cpu)) >= 0) {
        u64 id, size;
        if (!machine.timebase)
            machine.timebase = dt_u32(cpu, "timebase-frequency", 0);
        if (!hart_enabled(cpu) || !dt_reg(cpu, 0, &id, &size) || machine.nr_harts == MAX_HARTS)
            continue;
        if (id >= MAX_HARTS)
            guest_abort("hart id %lu in the DT: libguest takes hart ids below %u", (unsigned long)id,
                        MAX_HARTS);
        machine.hartid[machine.nr_harts++] = id;
    }
}

static void dt_parse_uart(void)
{
    int chosen = dt_path("/chosen"), len, uart = -1;
    const char *s = dt_prop(chosen, "stdout-path", &len);
    u64 size;

    if (s) {
        char path[128];
        size_t n = strnlen(s, (size_t)len);
        const char *colon = memchr(s, ':', n);

        if (colon)
            n = (size_t)(colon - s);
        if (n < sizeof(path)) {
            memcpy(path, s, n);
            path[n] = 0;
            if (path[0] != '/') /* an alias */
                s = dt_prop(dt_path("/aliases"), path, NULL);
            uart = dt_path(path[0] == '/' ? path : s ? s : "");
        }
    }
    if (uart < 0 || !dt_is_compatible(uart, "ns16550a"))
        uart = dt_find_compatible(-1, "ns16550a");
    if (uart < 0 || !dt_reg(uart, 0, &machine.uart_base, &size))
        machine.uart_base = 0x10000000;
    machine.uart_shift = dt_u32(uart, "reg-shift", 0);
    machine.uart_irq = dt_u32(uart, "interrupts", 0);
}

/*
 * interrupts-extended lists (cpu intc phandle, irq) per context: the
 * context whose entry is IRQ 9 (S-mode external) of hart h's intc is h's.
 */
static void dt_parse_plic(void)
{
    int plic = dt_find_compatible(-1, "riscv,plic0"), len;
    const u8 *p;

    if (plic < 0)
        plic = dt_find_compatible(-1, "sifive,plic-1.0.0");
    if (plic < 0 || !dt_reg(plic, 0, &machine.plic_base, &machine.plic_size))
        return;
    machine.plic_ndev = dt_u32(plic, "riscv,ndev", 0);
    p = dt_prop(plic, "interrupts-extended", &len);
    for (int off = 0, ctx = 0; p && off + 8 <= len; ctx++) {
        int intc = dt_find_phandle(dt_be32(p + off)), cells = (int)dt_u32(intc, "#interrupt-cells", 1);
        int cpu = dt_parent(intc);
        u64 id, size;

        if (cells >= 1 && dt_be32(p + off + 4) == IRQ_S_EXT && dt_reg(cpu, 0, &id, &size) &&
            id < MAX_HARTS)
            machine.plic_context[id] = ctx;
        off += 4 * (1 + cells);
    }
}

static void dt_parse(u64 dtb)
{
    int mem;
    u64 base, size;

    machine.dtb = dtb;
    for (unsigned int i = 0; i < MAX_HARTS; i++)
        machine.plic_context[i] = -1;
    machine.uart_base = 0x10000000;
    if (!dt_init((const void *)dtb))
        return; /* fixed UART only: enough to say so */
    dt_parse_uart();
    dt_parse_cpus();
    dt_parse_plic();
    mem = dt_path("/memory");
    if (dt_reg(mem, 0, &base, &size)) {
        machine.ram_base = base;
        machine.ram_size = size;
    }
}

/* ---- traps ---- */
struct fault_slot {
    volatile bool armed, taken;
    struct fault f;
};
static struct fault_slot faults[MAX_HARTS];
static irq_handler_t irq_handlers[16];

void fault_expect(void)
{
    struct fault_slot *s = &faults[hart_id()];

    s->taken = false;
    s->armed = true;
    barrier();
}

bool fault_taken(struct fault *f)
{
    struct fault_slot *s = &faults[hart_id()];
    bool t;

    barrier();
    s->armed = false;
    t = s->taken;
    if (f)
        *f = t ? s->f : (struct fault){ 0, 0, 0 };
    s->taken = false;
    return t;
}

void irq_set_handler(unsigned int irq, irq_handler_t h)
{
    if (irq < ARRAY_SIZE(irq_handlers))
        irq_handlers[irq] = h;
    mb();
}

/* Length of the instruction at @pc from its low bits (16-bit halves: pc may be 2-aligned). */
static unsigned int insn_len(unsigned long pc)
{
    return (*(const volatile u16 *)pc & 3) == 3 ? 4 : 2;
}

static void skip_faulting(struct trap_frame *f)
{
    switch (f->scause) {
    case CAUSE_MISALIGNED_FETCH:
    case CAUSE_FETCH_ACCESS:
    case CAUSE_FETCH_PAGE_FAULT:
        f->sepc = f->x[1]; /* a call to nowhere: back to its caller */
        break;
    default:
        f->sepc += insn_len(f->sepc);
    }
}

void trap_dispatch(struct trap_frame *f);

void trap_dispatch(struct trap_frame *f)
{
    unsigned long h = hart_id();
    struct fault_slot *s = &faults[h < MAX_HARTS ? h : 0];

    if (f->scause & CAUSE_INTERRUPT) {
        unsigned long irq = f->scause & ~CAUSE_INTERRUPT;
        irq_handler_t handler = irq < ARRAY_SIZE(irq_handlers) ? irq_handlers[irq] : NULL;

        if (handler) {
            handler(f);
        } else {
            /* masked, or a level interrupt nobody serves would never let go */
            irq_unhandled[h]++;
            csr_clear(sie, BIT(irq));
        }
        return;
    }
    if (s->armed) {
        s->armed = false;
        s->taken = true;
        s->f = (struct fault){ f->scause, f->stval, f->sepc };
        skip_faulting(f);
        return;
    }
    printf("FAIL: hart %lu: unexpected exception: scause %#lx sepc %#lx stval %#lx sstatus %#lx "
           "ra %#lx\n", h, f->scause, f->sepc, f->stval, f->sstatus, f->x[1]);
    __atomic_fetch_add(&nr_fail, 1, __ATOMIC_RELAXED);
    guest_exit();
}

/* ---- boot ---- */
void __noreturn libguest_boot(unsigned long hartid, u64 dtb);

#ifdef LIBGUEST_BOOT_HART
/*
 * Verification aid (make BOOT_HART=n): natively OpenSBI's lottery nearly
 * always boots hart 0, so hand the boot to hart n through HSM and stop
 * this one, to run every guest from a boot hart that is not 0.
 */
static void hand_over_boot(unsigned long hartid)
{
    bool listed = false;

    for (unsigned int i = 0; i < machine.nr_harts; i++)
        listed |= machine.hartid[i] == LIBGUEST_BOOT_HART;
    if (hartid == LIBGUEST_BOOT_HART || !listed)
        return;
    machine.boot_hartid = hartid; /* the new boot hart waits until this one is STOPPED */
    mb();
    if (!sbi_hart_start(LIBGUEST_BOOT_HART, (unsigned long)secondary_entry, HART_HANDOVER).error)
        sbi_hart_stop();
}
#endif

void __noreturn libguest_boot(unsigned long hartid, u64 dtb)
{
    unsigned long previous = machine.boot_hartid;

    machine = (struct machine){ 0 }; /* a handed-over boot parses again */
    dt_parse(dtb);
#ifdef LIBGUEST_BOOT_HART
    if (hartid != LIBGUEST_BOOT_HART)
        hand_over_boot(hartid);
    else if (previous != hartid) /* guests expect the other harts STOPPED */
        while (sbi_hart_get_status(previous).value != SBI_HSM_STATE_STOPPED)
            cpu_relax();
#endif
    (void)previous;
    machine.boot_hartid = hartid;
    writeb(uart_reg(UART_IER), 0);
    if (!machine.nr_harts) {
        machine.nr_harts = 1;
        machine.hartid[0] = hartid;
    }
    if (!machine.timebase)
        guest_abort("no timebase-frequency in /cpus");
    smp_mark_online(hartid);
    guest_main();
    guest_exit();
}

void udelay(u64 us)
{
    u64 end = rdtime() + us_to_ticks(us);

    while (rdtime() < end)
        cpu_relax();
}
