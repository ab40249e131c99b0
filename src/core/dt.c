/*
 * Reads the host device tree (the one firmware or QEMU hands Keel in x0)
 * into struct platform. Uses libfdt only: this file also builds on the host
 * for unit tests against DTBs that QEMU dumps.
 */
#include <libfdt.h>
#include <keel/log.h>
#include <keel/irqchip.h>
#include <keel/platform.h>
#include <keel/string.h>

/* Reads entry @idx of a "reg" property using the parent's cell sizes. */
bool dt_read_reg(const void *fdt, int node, int idx, u64 *base, u64 *size)
{
    int parent = dt_parent(fdt, node);
    int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
    int len;
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

    if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2 || len < (idx + 1) * (ac + sc) * 4)
        return false;
    reg += idx * (ac + sc);
    *base = fdt32_to_cpu(reg[0]);
    if (ac == 2)
        *base = (*base << 32) | fdt32_to_cpu(reg[1]);
    *size = 0;
    for (int i = 0; i < sc; i++)
        *size = (*size << 32) | fdt32_to_cpu(reg[ac + i]);
    return true;
}

/* @n (1 or 2) big-endian cells as one number. */
static u64 dt_cells(const fdt32_t *c, int n)
{
    return n == 2 ? (u64)fdt32_to_cpu(c[0]) << 32 | fdt32_to_cpu(c[1]) : fdt32_to_cpu(c[0]);
}

/*
 * One step up: @bus's "ranges" entries are (child address, parent address,
 * size) triples (Devicetree Specification v0.4, 2.3.8). An empty "ranges"
 * is the identity; so, leniently, is a missing one (Linux would refuse).
 */
static bool dt_translate_step(const void *fdt, int bus, u64 *addr)
{
    int len, ca = fdt_address_cells(fdt, bus), sc = fdt_size_cells(fdt, bus);
    int pa = fdt_address_cells(fdt, dt_parent(fdt, bus));
    const fdt32_t *r = fdt_getprop(fdt, bus, "ranges", &len);

    if (!r || !len)
        return true;
    if (ca < 1 || ca > 2 || pa < 1 || pa > 2 || sc < 1 || sc > 2)
        return false;
    for (int e = 0; (e + 1) * (ca + pa + sc) * 4 <= len; e++, r += ca + pa + sc) {
        u64 child = dt_cells(r, ca), size = dt_cells(r + ca + pa, sc);
        if (*addr >= child && *addr - child < size) {
            *addr = *addr - child + dt_cells(r + ca, pa);
            return true;
        }
    }
    return false;
}

bool dt_translate(const void *fdt, int node, u64 *addr)
{
    for (int bus = dt_parent(fdt, node); bus > 0; bus = dt_parent(fdt, bus))
        if (!dt_translate_step(fdt, bus, addr))
            return false;
    return true;
}

static bool dt_read_range(const void *fdt, int node, int idx, struct mem_range *r)
{
    u64 base, size;

    if (!dt_read_reg(fdt, node, idx, &base, &size))
        return false;
    r->base = pa_init(base);
    r->size = size;
    return true;
}

int dt_read_irq(const void *fdt, int node, int idx, u32 *hwirq)
{
    unsigned int n = irqchip ? irqchip->dt_cells : 0;
    u32 cells[4];
    int len;
    const fdt32_t *irq = fdt_getprop(fdt, node, "interrupts", &len);

    if (!irq || !n || len < (idx + 1) * (int)(n * 4))
        return 0;
    if (n > ARRAY_SIZE(cells))
        return -1;
    for (unsigned int i = 0; i < n; i++)
        cells[i] = fdt32_to_cpu(irq[idx * n + i]);
    return irqchip->dt_xlate(cells, n, hwirq) ? 1 : -1;
}

static void dt_parse_memory(const void *fdt, struct platform *plat)
{
    int node;

    fdt_for_each_subnode(node, fdt, 0) {
        const char *type = fdt_getprop(fdt, node, "device_type", NULL);
        if (!type || strcmp(type, "memory"))
            continue;
        for (int i = 0; plat->mem_count < PLAT_MAX_MEM; i++)
            if (!dt_read_range(fdt, node, i, &plat->mem[plat->mem_count]))
                break;
            else if (plat->mem[plat->mem_count].size)
                plat->mem_count++;
    }
}

static void dt_add_reserved(struct platform *plat, u64 base, u64 size)
{
    if (plat->reserved_count < PLAT_MAX_RESERVED && size)
        plat->reserved[plat->reserved_count++] = (struct mem_range){ pa_init(base), size };
}

/*
 * The page holding @addr, unless a reservation covers it already: a CPU
 * waiting in a spin table reads its release word until Keel writes it, so
 * nothing may be allocated there even if firmware forgot to reserve it.
 */
static void dt_reserve_page(struct platform *plat, u64 addr)
{
    for (unsigned int i = 0; i < plat->reserved_count; i++)
        if (addr >= pa_addr(plat->reserved[i].base) &&
            addr - pa_addr(plat->reserved[i].base) < plat->reserved[i].size)
            return;
    dt_add_reserved(plat, ALIGN_DOWN(addr, PAGE_SIZE), PAGE_SIZE);
}

static void dt_parse_reserved(const void *fdt, struct platform *plat)
{
    int n = fdt_num_mem_rsv(fdt), node, child;
    u64 base, size;

    for (int i = 0; i < n; i++)
        if (!fdt_get_mem_rsv(fdt, i, &base, &size))
            dt_add_reserved(plat, base, size);
    node = fdt_path_offset(fdt, "/reserved-memory");
    if (node < 0)
        return;
    fdt_for_each_subnode(child, fdt, node) {
        /* A node may reserve several regions. */
        for (int i = 0; dt_read_reg(fdt, child, i, &base, &size); i++)
            dt_add_reserved(plat, base, size);
    }
}

/* The full path of @node, or only its name if the path does not fit. */
static void dt_node_path(const void *fdt, int node, char *buf, size_t size)
{
    if (fdt_get_path(fdt, node, buf, (int)size) < 0) {
        const char *name = fdt_get_name(fdt, node, NULL);
        str_copy(buf, name ? name : "?", size);
    }
}

/*
 * How CPU @i is started (Linux's Documentation/devicetree/bindings/arm/cpus.yaml):
 * "spin-table" CPUs wait for an entry address at cpu-release-addr, a
 * 64-bit value (two cells) whatever the parent's #address-cells.
 */
static void dt_parse_cpu_enable(const void *fdt, int node, struct platform *plat, unsigned int i)
{
    const char *method = fdt_getprop(fdt, node, "enable-method", NULL);
    int len;
    const fdt32_t *rel = fdt_getprop(fdt, node, "cpu-release-addr", &len);

    plat->cpu_release_addr[i] = 0;
    if (!method || !strcmp(method, "psci")) {
        plat->cpu_enable[i] = CPU_ENABLE_PSCI;
    } else if (!strcmp(method, "spin-table")) {
        plat->cpu_enable[i] = CPU_ENABLE_SPIN_TABLE;
        if (rel && len == 8) {
            plat->cpu_release_addr[i] = dt_cells(rel, 2);
            dt_reserve_page(plat, plat->cpu_release_addr[i]);
        }
    } else {
        plat->cpu_enable[i] = CPU_ENABLE_OTHER;
    }
}

static void dt_parse_cpus(const void *fdt, struct platform *plat)
{
    int cpus = fdt_path_offset(fdt, "/cpus"), node;
    u64 mpidr, unused;

    if (cpus < 0)
        return;
    fdt_for_each_subnode(node, fdt, cpus) {
        const char *type = fdt_getprop(fdt, node, "device_type", NULL);
        if (!type || strcmp(type, "cpu") || !dt_read_reg(fdt, node, 0, &mpidr, &unused))
            continue;
        if (plat->cpu_count < PLAT_MAX_CPUS) {
            dt_parse_cpu_enable(fdt, node, plat, plat->cpu_count);
            plat->cpu_hwid[plat->cpu_count++] = mpidr;
        } else
            plat->cpus_ignored++;
    }
}

static void dt_parse_timer(const void *fdt, struct platform *plat)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");

    if (node < 0)
        return;
    plat->timer_found = true;
    for (int i = 0; i < 4; i++)
        dt_read_irq(fdt, node, i, &plat->timer_irq[i]);
}

/* The first interrupt: one PPI for every CPU, or (some SoCs) an SPI per CPU, which Keel does not forward. */
static void dt_parse_pmu(const void *fdt, struct platform *plat)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-pmuv3");

    if (node >= 0)
        dt_read_irq(fdt, node, 0, &plat->pmu_irq);
}

/*
 * /chosen/stdout-path is a path or an alias, optionally followed by
 * ":options". Its reg is a bus address on boards like the Raspberry Pi 4
 * (0x7e201000 on the VideoCore bus is 0xfe201000 for the CPU).
 */
static void dt_parse_uart(const void *fdt, struct platform *plat)
{
    int chosen = fdt_path_offset(fdt, "/chosen"), len, node;
    const char *path = chosen >= 0 ? fdt_getprop(fdt, chosen, "stdout-path", &len) : NULL;
    u64 base, size;

    if (!path)
        return;
    const char *colon = strchr(path, ':');
    int plen = colon ? (int)(colon - path) : (int)strlen(path);
    node = fdt_path_offset_namelen(fdt, path, plen);
    /* Keel drives a PL011 or an NS16550: anything else is left to early_uart.c. */
    if (node < 0)
        return;
    if (!fdt_node_check_compatible(fdt, node, "ns16550a") ||
        !fdt_node_check_compatible(fdt, node, "ns16550")) {
        const fdt32_t *shift = fdt_getprop(fdt, node, "reg-shift", &len);
        plat->uart_ns16550 = true;
        plat->uart_reg_shift = shift && len == 4 ? fdt32_to_cpu(*shift) : 0;
    } else if (fdt_node_check_compatible(fdt, node, "arm,pl011")) {
        return;
    }
    if (!dt_read_reg(fdt, node, 0, &base, &size) || !dt_translate(fdt, node, &base))
        return;
    plat->uart = (struct mem_range){ pa_init(base), size };
    dt_node_path(fdt, node, plat->uart_path, sizeof(plat->uart_path));
    dt_read_irq(fdt, node, 0, &plat->uart_irq);
}

static void dt_parse_psci(const void *fdt, struct platform *plat)
{
    static const char *const compat[] = { "arm,psci-1.0", "arm,psci-0.2", "arm,psci" };
    int node = -1;

    for (unsigned int i = 0; i < ARRAY_SIZE(compat) && node < 0; i++)
        node = fdt_node_offset_by_compatible(fdt, -1, compat[i]);
    const char *method = node >= 0 ? fdt_getprop(fdt, node, "method", NULL) : NULL;
    if (!method)
        plat->psci = PSCI_CONDUIT_NONE;
    else if (!strcmp(method, "smc"))
        plat->psci = PSCI_CONDUIT_SMC;
    else if (!strcmp(method, "hvc"))
        plat->psci = PSCI_CONDUIT_HVC;
}

static void dt_module_kind(const void *fdt, int node, char *kind, size_t size)
{
    static const char *const kinds[] = { "multiboot,kernel", "multiboot,ramdisk",
                                         "multiboot,device-tree", "keel,disk" };

    for (unsigned int i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (fdt_node_check_compatible(fdt, node, kinds[i]) == 0) {
            str_copy(kind, strchr(kinds[i], ',') + 1, size);
            return;
        }
    }
    str_copy(kind, "module", size);
}

/* Every multiboot,module below @parent, at any depth (VM nodes hold theirs). */
static void dt_parse_modules_under(const void *fdt, int parent, struct platform *plat)
{
    int node;

    fdt_for_each_subnode(node, fdt, parent) {
        if (fdt_node_check_compatible(fdt, node, "multiboot,module") == 0) {
            if (plat->module_count >= PLAT_MAX_MODULES)
                return;
            struct boot_module *m = &plat->modules[plat->module_count];
            if (!dt_read_range(fdt, node, 0, &m->range))
                continue;
            dt_module_kind(fdt, node, m->kind, sizeof(m->kind));
            dt_node_path(fdt, node, m->path, sizeof(m->path));
            plat->module_count++;
        } else {
            dt_parse_modules_under(fdt, node, plat);
        }
    }
}

int dt_parse_platform(const void *fdt, struct platform *plat)
{
    int err = fdt_check_header(fdt), chosen;

    memset(plat, 0, sizeof(*plat));
    if (err) {
        ERROR("device tree at %p is not valid: %s", fdt, fdt_strerror(err));
        return -1;
    }
    dt_parse_memory(fdt, plat);
    dt_parse_reserved(fdt, plat);
    dt_parse_cpus(fdt, plat);
    irqchip_probe(fdt, plat); /* before anything with interrupts */
    dt_parse_timer(fdt, plat);
    dt_parse_pmu(fdt, plat);
    dt_parse_uart(fdt, plat);
    dt_parse_psci(fdt, plat);
    chosen = fdt_path_offset(fdt, "/chosen");
    if (chosen >= 0) {
        plat->bootargs = fdt_getprop(fdt, chosen, "bootargs", NULL);
        dt_parse_modules_under(fdt, chosen, plat);
    }
    return 0;
}

const char *cpu_enable_method_name(enum cpu_enable_method m)
{
    return m == CPU_ENABLE_PSCI ? "psci" : m == CPU_ENABLE_SPIN_TABLE ? "spin-table" : "unknown";
}

const char *psci_conduit_name(enum psci_conduit c)
{
    return c == PSCI_CONDUIT_SMC ? "smc" : c == PSCI_CONDUIT_HVC ? "hvc" : "none";
}
