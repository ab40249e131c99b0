/*
 * Generates the device tree a guest boots with, following the Linux DT
 * bindings arm/psci.yaml, arm/cpus.yaml, timer/arm,arch_timer.yaml,
 * clock/fixed-clock.yaml and serial/pl011.yaml. The interrupt controller's
 * node and every interrupt specifier come from the VM's virqchip.
 *
 * libfdt's sequential-write API emits the blob in one pass into the
 * caller's buffer, with no allocation. It cannot patch a reference in later,
 * so phandles are fixed constants: the root's interrupt-parent is written
 * before the interrupt controller's node exists.
 *
 * Every libfdt call returns 0 or a negative error; the emitters chain them
 * with GNU `a ?: b`, which stops at the first error and returns it.
 * Pure logic: unit-tested on the host (tests/unit/guest_dt/).
 */
#include <libfdt.h>
#include <limits.h>
#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/printf.h>
#include <keel/psci.h>
#include <keel/string.h>

#define GUEST_DT_PHANDLE_CLK 2


#define GUEST_DT_UART_SIZE 0x1000
#define GUEST_DT_APB_PCLK_HZ 24000000

/*
 * With /cpus #address-cells = <1> a cpu's reg is MPIDR bits [23:0]
 * (Aff2..Aff0); an Aff3 would need two cells (arm/cpus.yaml).
 */
#define GUEST_DT_CPU_REG_MASK 0xffffffUL

/* "<prefix>@<up to 16 hex digits>" */
#define GUEST_DT_NAME_LEN 32

/* Compatible lists: NUL-separated strings, the property length is sizeof. */
#define guest_dt_prop_strings(fdt, name, list) fdt_property(fdt, name, list, sizeof(list))

/* Node "<prefix>@<addr>": unit addresses are lower-case hex without leading zeros. */
static int guest_dt_begin_node_at(void *fdt, const char *prefix, u64 addr)
{
    char name[GUEST_DT_NAME_LEN];

    snprintf(name, sizeof(name), "%s@%llx", prefix, (unsigned long long)addr);
    return fdt_begin_node(fdt, name);
}

/* One <address size> pair for a parent with #address-cells = #size-cells = <2>. */
static int guest_dt_prop_reg(void *fdt, u64 base, u64 size)
{
    fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

/* An "interrupts" property from specifiers the virqchip wrote (@n cells in all). */
static int guest_dt_prop_irqs(void *fdt, const u32 *cells, unsigned int n)
{
    fdt32_t be[16];

    if (!n || n > ARRAY_SIZE(be))
        return -FDT_ERR_BADVALUE;
    for (unsigned int i = 0; i < n; i++)
        be[i] = cpu_to_fdt32(cells[i]);
    return fdt_property(fdt, "interrupts", be, (int)(n * sizeof(be[0])));
}

int guest_dt_prop_line(void *fdt, const struct virqchip_ops *virq, u32 line, unsigned int flags)
{
    u32 cells[4];

    return guest_dt_prop_irqs(fdt, cells, virq->dt_spec(cells, line, flags));
}

static bool guest_dt_mpidrs_valid(const u64 *mpidr, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        if (mpidr[i] & ~GUEST_DT_CPU_REG_MASK)
            return false;
        /* Equal MPIDRs would give two nodes the same name and PSCI target. */
        for (unsigned int j = 0; j < i; j++)
            if (mpidr[i] == mpidr[j])
                return false;
    }
    return true;
}

/*
 * Rejects what cannot be described, so a bad VM configuration fails here
 * with an error rather than in the guest's early boot with no console.
 */
static bool guest_dt_params_valid(const struct guest_dt_params *p)
{
    u32 cells[4];

    if (!p->name || !p->ncpus || !p->mpidr || !p->timer_ppis || !p->mem_size || !p->virq)
        return false;
    for (int i = 0; i < 4; i++)
        if (!p->virq->dt_spec_private(cells, p->ncpus, p->timer_ppis[i], VIRQ_LEVEL_HIGH))
            return false;
    if (p->uart && !p->virq->dt_spec(cells, p->uart_line, VIRQ_LEVEL_HIGH))
        return false;
    return guest_dt_mpidrs_valid(p->mpidr, p->ncpus);
}

/* model = "keel,<name>", written in place so the name's length is not limited. */
static int guest_dt_prop_model(void *fdt, const char *name)
{
    static const char prefix[] = "keel,";
    size_t len = strlen(name);
    void *val;
    int err;

    if (len > INT_MAX - sizeof(prefix))
        return -FDT_ERR_BADVALUE;
    err = fdt_property_placeholder(fdt, "model", (int)(sizeof(prefix) + len), &val);
    if (err)
        return err;
    memcpy(val, prefix, sizeof(prefix) - 1);
    memcpy((char *)val + sizeof(prefix) - 1, name, len + 1);
    return 0;
}

static int guest_dt_add_root_props(void *fdt, const struct guest_dt_params *p)
{
    return fdt_property_u32(fdt, "#address-cells", 2) ?:
           fdt_property_u32(fdt, "#size-cells", 2) ?:
           fdt_property_string(fdt, "compatible", "linux,dummy-virt") ?:
           guest_dt_prop_model(fdt, p->name) ?:
           fdt_property_u32(fdt, "interrupt-parent", GUEST_DT_PHANDLE_INTC);
}

/*
 * PSCI 1.0 through Keel's HVC handler. "arm,psci" (PSCI 0.1) stays last for
 * old guests; its binding requires the function IDs, so they are given as
 * the standard PSCI 0.2 ones, which newer guests use anyway.
 */
static int guest_dt_add_psci(void *fdt)
{
    static const char compat[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";

    return fdt_begin_node(fdt, "psci") ?:
           guest_dt_prop_strings(fdt, "compatible", compat) ?:
           fdt_property_string(fdt, "method", "hvc") ?:
           fdt_property_u32(fdt, "cpu_suspend", PSCI_FN64(PSCI_CPU_SUSPEND)) ?:
           fdt_property_u32(fdt, "cpu_off", PSCI_CPU_OFF) ?:
           fdt_property_u32(fdt, "cpu_on", PSCI_FN64(PSCI_CPU_ON)) ?:
           fdt_property_u32(fdt, "migrate", PSCI_FN64(PSCI_MIGRATE)) ?:
           fdt_end_node(fdt);
}

/* The unit address is the reg, i.e. the MPIDR: cpu@N only when Aff0 = N. */
static int guest_dt_add_cpu(void *fdt, u64 mpidr)
{
    return guest_dt_begin_node_at(fdt, "cpu", mpidr) ?:
           fdt_property_string(fdt, "device_type", "cpu") ?:
           fdt_property_string(fdt, "compatible", "arm,armv8") ?:
           fdt_property_u32(fdt, "reg", (u32)mpidr) ?:
           fdt_property_string(fdt, "enable-method", "psci") ?:
           fdt_end_node(fdt);
}

static int guest_dt_add_cpus(void *fdt, const struct guest_dt_params *p)
{
    int err = fdt_begin_node(fdt, "cpus") ?:
              fdt_property_u32(fdt, "#address-cells", 1) ?:
              fdt_property_u32(fdt, "#size-cells", 0);

    for (unsigned int i = 0; i < p->ncpus && !err; i++)
        err = guest_dt_add_cpu(fdt, p->mpidr[i]);
    return err ?: fdt_end_node(fdt);
}

static int guest_dt_add_memory(void *fdt, const struct guest_dt_params *p)
{
    return guest_dt_begin_node_at(fdt, "memory", p->mem_base) ?:
           fdt_property_string(fdt, "device_type", "memory") ?:
           guest_dt_prop_reg(fdt, p->mem_base, p->mem_size) ?:
           fdt_end_node(fdt);
}

/* Binding order: secure phys, non-secure phys, virtual, hypervisor phys. */
static int guest_dt_add_timer(void *fdt, const struct guest_dt_params *p)
{
    u32 cells[4 * 4];
    unsigned int n = 0;

    /* Level-high, as the architecture's timers are (and Keel's emulation of them). */
    for (int i = 0; i < 4; i++)
        n += p->virq->dt_spec_private(&cells[n], p->ncpus, p->timer_ppis[i], VIRQ_LEVEL_HIGH);
    return fdt_begin_node(fdt, "timer") ?:
           fdt_property_string(fdt, "compatible", "arm,armv8-timer") ?:
           guest_dt_prop_irqs(fdt, cells, n) ?:
           fdt_end_node(fdt);
}

/*
 * The PL011's clocks. Linux's AMBA bus enables "apb_pclk" before it reads
 * the PrimeCell ID registers, so the UART does not probe without it.
 */
static int guest_dt_add_clock(void *fdt)
{
    return fdt_begin_node(fdt, "apb-pclk") ?:
           fdt_property_string(fdt, "compatible", "fixed-clock") ?:
           fdt_property_u32(fdt, "#clock-cells", 0) ?:
           fdt_property_u32(fdt, "clock-frequency", GUEST_DT_APB_PCLK_HZ) ?:
           fdt_property_string(fdt, "clock-output-names", "clk24mhz") ?:
           fdt_property_u32(fdt, "phandle", GUEST_DT_PHANDLE_CLK) ?:
           fdt_end_node(fdt);
}

static int guest_dt_add_uart(void *fdt, const struct guest_dt_params *p)
{
    static const char compat[] = "arm,pl011\0arm,primecell";
    static const char clock_names[] = "uartclk\0apb_pclk";
    fdt32_t clocks[2] = { cpu_to_fdt32(GUEST_DT_PHANDLE_CLK), cpu_to_fdt32(GUEST_DT_PHANDLE_CLK) };
    return guest_dt_begin_node_at(fdt, "pl011", p->uart_base) ?:
           guest_dt_prop_strings(fdt, "compatible", compat) ?:
           guest_dt_prop_reg(fdt, p->uart_base, GUEST_DT_UART_SIZE) ?:
           guest_dt_prop_line(fdt, p->virq, p->uart_line, VIRQ_LEVEL_HIGH) ?:
           fdt_property(fdt, "clocks", clocks, sizeof(clocks)) ?:
           guest_dt_prop_strings(fdt, "clock-names", clock_names) ?:
           fdt_end_node(fdt);
}

/* /aliases and /chosen; the UART's path is both serial0 and stdout-path. */
static int guest_dt_add_chosen(void *fdt, const struct guest_dt_params *p)
{
    char uart_path[GUEST_DT_NAME_LEN + 1];
    int err = 0;

    snprintf(uart_path, sizeof(uart_path), "/pl011@%llx", (unsigned long long)p->uart_base);
    if (p->uart)
        err = fdt_begin_node(fdt, "aliases") ?:
              fdt_property_string(fdt, "serial0", uart_path) ?:
              fdt_end_node(fdt);
    err = err ?: fdt_begin_node(fdt, "chosen");
    if (!err && p->uart)
        err = fdt_property_string(fdt, "stdout-path", uart_path);
    if (!err && p->bootargs)
        err = fdt_property_string(fdt, "bootargs", p->bootargs);
    if (!err && p->initrd_end > p->initrd_start)
        err = fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start) ?:
              fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end);
    return err ?: fdt_end_node(fdt);
}

static int guest_dt_add_nodes(void *fdt, const struct guest_dt_params *p)
{
    return guest_dt_add_psci(fdt) ?:
           guest_dt_add_cpus(fdt, p) ?:
           guest_dt_add_memory(fdt, p) ?:
           p->virq->dt_node(fdt, p->ncpus, GUEST_DT_PHANDLE_INTC) ?:
           guest_dt_add_timer(fdt, p) ?:
           guest_dt_add_clock(fdt) ?:
           (p->uart ? guest_dt_add_uart(fdt, p) : 0) ?:
           (p->extra ? p->extra(fdt, p->extra_ctx) : 0) ?:
           guest_dt_add_chosen(fdt, p);
}

int guest_dt_build(void *buf, size_t size, const struct guest_dt_params *p)
{
    /* fdt_create takes an int; a DT never comes near INT_MAX bytes. */
    int bufsize = size > INT_MAX ? INT_MAX : (int)size;

    if (!guest_dt_params_valid(p))
        return -FDT_ERR_BADVALUE;
    /* Nothing to reserve: Linux reserves its DTB and initrd itself. */
    return fdt_create(buf, bufsize) ?:
           fdt_finish_reservemap(buf) ?:
           fdt_begin_node(buf, "") ?:
           guest_dt_add_root_props(buf, p) ?:
           guest_dt_add_nodes(buf, p) ?:
           fdt_end_node(buf) ?:
           fdt_finish(buf);
}

/*
 * Copies a host node (a passed-through device) into the guest DT being
 * written: every property except phandles, with interrupts re-parented to
 * the guest's interrupt controller (host and guest controllers share a
 * binding). Subnodes are copied too.
 */
int guest_dt_copy_node(void *fdt, const void *host, int node)
{
    int prop, sub, err;
    bool has_irqs = fdt_getprop(host, node, "interrupts", NULL) != NULL;

    err = fdt_begin_node(fdt, fdt_get_name(host, node, NULL));
    fdt_for_each_property_offset(prop, host, node) {
        const char *name;
        int len;
        const void *val = fdt_getprop_by_offset(host, prop, &name, &len);
        if (err || !val)
            break;
        if (!strcmp(name, "phandle") || !strcmp(name, "linux,phandle") ||
            !strcmp(name, "interrupt-parent"))
            continue;
        err = fdt_property(fdt, name, val, len);
    }
    if (!err && has_irqs)
        err = fdt_property_u32(fdt, "interrupt-parent", GUEST_DT_PHANDLE_INTC);
    fdt_for_each_subnode(sub, host, node)
        if (!err)
            err = guest_dt_copy_node(fdt, host, sub);
    return err ?: fdt_end_node(fdt);
}
