/*
 * Generates the device tree a guest boots with, following the Linux DT
 * bindings clock/fixed-clock.yaml, serial/pl011.yaml and serial/8250.yaml. The CPUs, firmware
 * and timer nodes come from the architecture (arch_guest_dt_cpu_nodes), the
 * interrupt controller's node and every interrupt specifier from the VM's
 * virqchip.
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
#include <keel/string.h>
#include <arch/guest_layout.h>

#define GUEST_DT_PHANDLE_CLK 2


#define GUEST_DT_UART_SIZE 0x1000
#define GUEST_DT_APB_PCLK_HZ 24000000
#define GUEST_DT_NS16550A_SIZE 0x100
#define GUEST_DT_NS16550A_CLOCK_HZ 3686400

/* "<prefix>@<up to 16 hex digits>" */
#define GUEST_DT_NAME_LEN 32

/* Node "<prefix>@<addr>": unit addresses are lower-case hex without leading zeros. */
int guest_dt_begin_node_at(void *fdt, const char *prefix, u64 addr)
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
int guest_dt_prop_irqs(void *fdt, const u32 *cells, unsigned int n)
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

/*
 * Rejects what cannot be described, so a bad VM configuration fails here
 * with an error rather than in the guest's early boot with no console.
 */
static bool guest_dt_params_valid(const struct guest_dt_params *p)
{
    u32 cells[4];

    if (!p->name || !p->ncpus || !p->cpu_ids || !p->mem_size || !p->virq)
        return false;
    if (p->uart && !p->virq->dt_spec(cells, p->uart_line, VIRQ_LEVEL_HIGH))
        return false;
    return arch_guest_dt_params_valid(p);
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
           (GUEST_DT_ROOT_INTERRUPT_PARENT
                ? fdt_property_u32(fdt, "interrupt-parent", GUEST_DT_PHANDLE_INTC) : 0);
}

static int guest_dt_add_memory(void *fdt, const struct guest_dt_params *p)
{
    return guest_dt_begin_node_at(fdt, "memory", p->mem_base) ?:
           fdt_property_string(fdt, "device_type", "memory") ?:
           guest_dt_prop_reg(fdt, p->mem_base, p->mem_size) ?:
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

/*
 * An NS16550A as on QEMU's RISC-V virt board (serial/8250.yaml): byte-wide
 * registers, and the 1.8432 MHz x 2 input clock the board declares (only
 * divisor arithmetic depends on it: there is no wire).
 */
static int guest_dt_add_ns16550a(void *fdt, const struct guest_dt_params *p)
{
    return guest_dt_begin_node_at(fdt, "serial", p->uart_base) ?:
           fdt_property_string(fdt, "compatible", "ns16550a") ?:
           guest_dt_prop_reg(fdt, p->uart_base, GUEST_DT_NS16550A_SIZE) ?:
           fdt_property_u32(fdt, "interrupt-parent", GUEST_DT_PHANDLE_INTC) ?:
           guest_dt_prop_line(fdt, p->virq, p->uart_line, VIRQ_LEVEL_HIGH) ?:
           fdt_property_u32(fdt, "clock-frequency", GUEST_DT_NS16550A_CLOCK_HZ) ?:
           fdt_end_node(fdt);
}

static int guest_dt_add_uart(void *fdt, const struct guest_dt_params *p)
{
    if (p->uart_ns16550a)
        return guest_dt_add_ns16550a(fdt, p);

    static const char compat[] = "arm,pl011\0arm,primecell";
    static const char clock_names[] = "uartclk\0apb_pclk";
    fdt32_t clocks[2] = { cpu_to_fdt32(GUEST_DT_PHANDLE_CLK), cpu_to_fdt32(GUEST_DT_PHANDLE_CLK) };
    return guest_dt_add_clock(fdt) ?:
           guest_dt_begin_node_at(fdt, "pl011", p->uart_base) ?:
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

    snprintf(uart_path, sizeof(uart_path), "/%s@%llx", p->uart_ns16550a ? "serial" : "pl011",
             (unsigned long long)p->uart_base);
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
    return arch_guest_dt_cpu_nodes(fdt, p) ?:
           guest_dt_add_memory(fdt, p) ?:
           p->virq->dt_node(fdt, p->ncpus, GUEST_DT_PHANDLE_INTC) ?:
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
