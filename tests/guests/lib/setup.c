/*
 * libguest boot, device tree, console, reporting and exceptions.
 */
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include "libguest.h"
#include "gic.h"

struct machine machine;
struct cpu_entry_state cpu_entry[MAX_CPUS];
volatile unsigned int irq_unhandled[MAX_CPUS];
volatile u32 irq_last_unhandled[MAX_CPUS];

char stacks[MAX_CPUS][STACK_SIZE] __aligned(16);

void smp_secondary_loop(void);
void smp_mark_online(unsigned int cpu);

/* ---- console: PL011 UARTDR / UARTFR ---- */
#define UARTDR 0x00
#define UARTFR 0x18
#define UARTFR_TXFF BIT(5)

static spinlock_t print_lock = SPINLOCK_INIT;

static void uart_putc(char c)
{
    if (!machine.uart_base)
        return;
    while (readl(machine.uart_base + UARTFR) & UARTFR_TXFF)
        ;
    writel(machine.uart_base + UARTDR, (u8)c);
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
    u64 flags = spin_lock_irqsave(&print_lock);

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
static volatile bool exiting;
#define PREFIX_DEPTH 4
static const char *prefixes[MAX_CPUS][PREFIX_DEPTH];
static unsigned int prefix_depth[MAX_CPUS];

void report_prefix_push(const char *p)
{
    unsigned int c = smp_id();

    if (prefix_depth[c] < PREFIX_DEPTH)
        prefixes[c][prefix_depth[c]] = p;
    prefix_depth[c]++;
}

void report_prefix_pop(void)
{
    unsigned int c = smp_id();

    if (prefix_depth[c])
        prefix_depth[c]--;
}

static void report_line(const char *tag, const char *fmt, va_list ap)
{
    char buf[400];
    size_t n = 0;
    unsigned int c = smp_id();

    n = (size_t)snprintf(buf, sizeof(buf), "%s: ", tag);
    for (unsigned int i = 0; i < prefix_depth[c] && i < PREFIX_DEPTH && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s: ", prefixes[c][i]);
    if (n < sizeof(buf))
        vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    printf("%s\n", buf);
}

bool report(bool cond, const char *fmt, ...)
{
    va_list ap;
    u64 flags = spin_lock_irqsave(&report_lock);

    if (cond)
        nr_pass++;
    else
        nr_fail++;
    spin_unlock_irqrestore(&report_lock, flags);
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
    u64 flags = spin_lock_irqsave(&report_lock);

    nr_skip++;
    spin_unlock_irqrestore(&report_lock, flags);
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
    if (!__atomic_exchange_n(&exiting, true, __ATOMIC_ACQ_REL)) {
        if (nr_skip)
            printf("SUMMARY: %u passed, %u failed, %u skipped\n", nr_pass, nr_fail, nr_skip);
        else
            printf("SUMMARY: %u passed, %u failed\n", nr_pass, nr_fail);
        psci_system_off();
    }
    for (;;)
        wfi();
}

void __noreturn guest_abort(const char *fmt, ...)
{
    va_list ap;
    u64 flags = spin_lock_irqsave(&report_lock);

    nr_fail++;
    spin_unlock_irqrestore(&report_lock, flags);
    va_start(ap, fmt);
    report_line("FAIL", fmt, ap);
    va_end(ap);
    guest_exit();
}

/* ---- device tree ---- */
static bool dt_reg(const void *fdt, int node, int idx, u64 *base, u64 *size)
{
    int parent = fdt_parent_offset(fdt, node);
    int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "reg", &len);

    if (!p || ac < 1 || ac > 2 || sc < 0 || sc > 2 || len < (idx + 1) * (ac + sc) * 4)
        return false;
    p += idx * (ac + sc);
    *base = 0;
    for (int i = 0; i < ac; i++)
        *base = (*base << 32) | fdt32_to_cpu(p[i]);
    *size = 0;
    for (int i = 0; i < sc; i++)
        *size = (*size << 32) | fdt32_to_cpu(p[ac + i]);
    return true;
}

/* INTID of a 3-cell GIC interrupt specifier (type, number, flags). */
static u32 dt_intid(const fdt32_t *p)
{
    u32 type = fdt32_to_cpu(p[0]), num = fdt32_to_cpu(p[1]);

    return type == 1 ? 16 + num : 32 + num;
}

/* A GICv3's second region is its redistributors, a GICv2's its CPU interface. */
static void dt_parse_gic(const void *fdt)
{
    static const char *const v2[] = { "arm,gic-400", "arm,cortex-a15-gic" };
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
    u64 size;

    if (node >= 0) {
        machine.gic_version = 3;
        dt_reg(fdt, node, 0, &machine.gicd_base, &size);
        dt_reg(fdt, node, 1, &machine.gicr_base, &machine.gicr_size);
        return;
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(v2); i++) {
        node = fdt_node_offset_by_compatible(fdt, -1, v2[i]);
        if (node >= 0) {
            machine.gic_version = 2;
            dt_reg(fdt, node, 0, &machine.gicd_base, &size);
            dt_reg(fdt, node, 1, &machine.gicc_base, &machine.gicc_size);
            return;
        }
    }
}

static void dt_parse(const void *fdt)
{
    int node, len;
    u64 size;
    const char *s;

    if (fdt_check_header(fdt))
        return; /* no console either: the guest can only power off */
    node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", sizeof("memory"));
    if (node >= 0)
        dt_reg(fdt, node, 0, &machine.ram_base, &machine.ram_size);

    node = fdt_path_offset(fdt, "/chosen");
    s = node >= 0 ? fdt_getprop(fdt, node, "stdout-path", &len) : NULL;
    if (s) {
        const char *colon = memchr(s, ':', (size_t)len);
        int uart = fdt_path_offset_namelen(fdt, s, colon ? (int)(colon - s) : (int)strlen(s));
        const fdt32_t *irq = uart >= 0 ? fdt_getprop(fdt, uart, "interrupts", &len) : NULL;

        if (uart >= 0)
            dt_reg(fdt, uart, 0, &machine.uart_base, &size);
        if (irq && len >= 12)
            machine.uart_intid = dt_intid(irq);
    }

    dt_parse_gic(fdt);

    node = fdt_path_offset(fdt, "/cpus");
    if (node >= 0) {
        int cpu;
        fdt_for_each_subnode(cpu, fdt, node) {
            const char *t = fdt_getprop(fdt, cpu, "device_type", NULL);
            const fdt32_t *reg = fdt_getprop(fdt, cpu, "reg", &len);
            if (!t || strcmp(t, "cpu") || !reg || machine.nr_cpus == MAX_CPUS)
                continue;
            machine.mpidr[machine.nr_cpus++] =
                len >= 8 ? ((u64)fdt32_to_cpu(reg[0]) << 32 | fdt32_to_cpu(reg[1]))
                         : fdt32_to_cpu(reg[0]);
        }
    }

    node = fdt_node_offset_by_compatible(fdt, -1, "arm,psci-0.2");
    if (node < 0)
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,psci");
    s = node >= 0 ? fdt_getprop(fdt, node, "method", NULL) : NULL;
    machine.psci_smc = s && !strcmp(s, "smc");

    node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");
    if (node >= 0) {
        const fdt32_t *irqs = fdt_getprop(fdt, node, "interrupts", &len);
        for (int i = 0; irqs && i < 4 && len >= (i + 1) * 12; i++)
            machine.timer_ppi[i] = dt_intid(irqs + 3 * i);
    }

    node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-pmuv3");
    if (node >= 0) {
        const fdt32_t *irq = fdt_getprop(fdt, node, "interrupts", &len);
        if (irq && len >= 12) {
            machine.pmu_intid = dt_intid(irq);
            machine.pmu_irq_flags = fdt32_to_cpu(irq[2]);
        }
    }
}

int cpu_by_mpidr(u64 mpidr)
{
    for (unsigned int i = 0; i < machine.nr_cpus; i++)
        if (mpidr_aff(machine.mpidr[i]) == mpidr_aff(mpidr))
            return (int)i;
    return -1;
}

/* ---- exceptions ---- */
struct fault_slot {
    volatile bool armed, taken;
    struct fault f;
};
static struct fault_slot faults[MAX_CPUS];

void fault_expect(void)
{
    struct fault_slot *s = &faults[smp_id()];

    s->taken = false;
    s->armed = true;
    barrier();
}

bool fault_taken(struct fault *f)
{
    struct fault_slot *s = &faults[smp_id()];
    bool t;

    barrier();
    s->armed = false;
    t = s->taken;
    if (f)
        *f = t ? s->f : (struct fault){ 0, 0, 0 };
    s->taken = false;
    return t;
}

static irq_handler_t irq_handlers[1024];

void irq_set_handler(u32 intid, irq_handler_t h)
{
    if (intid < ARRAY_SIZE(irq_handlers))
        irq_handlers[intid] = h;
    dsb(ish);
}

static void irq_dispatch(struct ex_frame *f)
{
    unsigned int cpu = smp_id();

    for (;;) {
        u32 intid = gic_ack();
        irq_handler_t h;

        if (intid >= 1020)
            return;
        h = irq_handlers[intid];
        if (h) {
            h(intid, f);
        } else if (intid != GIC_WAKE_SGI) {
            irq_unhandled[cpu]++;
            irq_last_unhandled[cpu] = intid;
        }
        gic_eoi(intid);
    }
}

static const char *const kind_names[] = {
    "sync (SP_EL0)", "IRQ (SP_EL0)", "FIQ (SP_EL0)", "SError (SP_EL0)",
    "sync", "IRQ", "FIQ", "SError",
    "sync (lower EL)", "IRQ (lower EL)", "FIQ (lower EL)", "SError (lower EL)",
    "sync (AArch32)", "IRQ (AArch32)", "FIQ (AArch32)", "SError (AArch32)",
};

void exception_dispatch(u64 kind, struct ex_frame *f);

static sync_hook_t sync_hook;

void sync_set_hook(sync_hook_t h)
{
    sync_hook = h;
    dsb(ish);
}

void exception_dispatch(u64 kind, struct ex_frame *f)
{
    unsigned int cpu = smp_id();
    struct fault_slot *s = &faults[cpu < MAX_CPUS ? cpu : 0];

    if (kind == 5) {
        irq_dispatch(f);
        return;
    }
    if (kind == 4 && s->armed) {
        s->armed = false;
        s->taken = true;
        s->f = (struct fault){ f->esr, f->far, f->elr };
        if (ESR_EC(f->esr) == EC_IABT_CUR || ESR_EC(f->esr) == 0x20)
            f->elr = f->x[30]; /* a branch to nowhere: return to its caller */
        else
            f->elr += 4;
        return;
    }
    if ((kind == 4 || kind == 8 || kind == 12) && sync_hook && sync_hook(kind, f))
        return;
    printf("FAIL: cpu %u: unexpected %s exception: ESR %#lx (EC %#lx) ELR %#lx FAR %#lx "
           "SPSR %#lx LR %#lx\n", cpu, kind < 16 ? kind_names[kind] : "?", f->esr,
           ESR_EC(f->esr), f->elr, f->far, f->spsr, f->x[30]);
    __atomic_fetch_add(&nr_fail, 1, __ATOMIC_RELAXED);
    guest_exit();
}

/* ---- boot ---- */
void __noreturn libguest_boot(u64 dtb);
void __noreturn libguest_secondary(u64 context, u64 sctlr, u64 daif, u64 currentel, u64 spsel);

void __noreturn libguest_boot(u64 dtb)
{
    machine.dtb = dtb;
    dt_parse((const void *)dtb);
    if (!machine.nr_cpus) {
        machine.nr_cpus = 1;
        machine.mpidr[0] = mpidr_aff(read_sysreg(mpidr_el1));
    }
    cpu_entry[0].boots = 1;
    if (!gic_select())
        guest_abort("no GICv3 or GICv2 in the device tree");
    gic_dist_init();
    gic_cpu_init();
    smp_mark_online(0);
    guest_main();
    guest_exit();
}

void __noreturn libguest_secondary(u64 context, u64 sctlr, u64 daif, u64 currentel, u64 spsel)
{
    unsigned int cpu = smp_id();
    struct cpu_entry_state *e = &cpu_entry[cpu];

    e->context = context;
    e->sctlr = sctlr;
    e->daif = daif;
    e->currentel = currentel;
    e->spsel = spsel;
    e->boots++;
    prefix_depth[cpu] = 0;
    gic_cpu_init();
    smp_mark_online(cpu);
    smp_secondary_loop();
    guest_exit();
}

void udelay(u64 us)
{
    u64 end = cntvct() + us_to_ticks(us);

    while (cntvct() < end)
        cpu_relax();
}

/* ---- the command line ---- */
static const char *bootargs(void)
{
    const void *fdt = (const void *)machine.dtb;
    int chosen;

    if (!fdt || fdt_check_header(fdt))
        return NULL;
    chosen = fdt_path_offset(fdt, "/chosen");
    return chosen >= 0 ? fdt_getprop(fdt, chosen, "bootargs", NULL) : NULL;
}

const char *bootarg(const char *key)
{
    size_t kl = strlen(key);
    const char *p = bootargs();

    while (p && *p) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (!strncmp(p, key, kl) && p[kl] == '=')
            return p + kl + 1;
        p = strchr(p, ' ');
    }
    return NULL;
}

u64 bootarg_num(const char *key, u64 def)
{
    const char *v = bootarg(key);

    return v ? strtoul(v, NULL, 0) : def;
}

bool bootarg_is(const char *key, const char *word)
{
    const char *v = bootarg(key);
    size_t n = strlen(word);

    return v && !strncmp(v, word, n) && (v[n] == ' ' || !v[n]);
}

/* Debian's libfdt.a is built with -fstack-protector-strong. */
u64 __stack_chk_guard = 0x6c6962677565737aUL;
void __noreturn __stack_chk_fail(void);

void __noreturn __stack_chk_fail(void)
{
    guest_abort("stack smashing detected (in libfdt)");
}
