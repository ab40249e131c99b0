/*
 * Host unit tests for src/core/guest_dt.c: build guest DTs for several VM
 * shapes, read each back with libfdt and check every node and property the
 * Linux bindings need. Run with --write-dtb DIR to dump sample blobs for dtc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>
#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/vgic.h>

#define DT_BUF_SIZE 16384

/* QEMU virt's layout, which the generated DT mirrors. */
#define VIRT_GICD_BASE 0x08000000ULL
#define VIRT_GICD_SIZE 0x10000ULL
#define VIRT_GICR_BASE 0x080a0000ULL
#define VIRT_GICR_SIZE 0x20000ULL
#define VIRT_UART_BASE 0x09000000ULL
#define VIRT_UART_SPI 1
#define VIRT_MEM_BASE 0x40000000ULL

/* The vGICv3's DT side (src/irqchip/vgic_dt.c), all guest_dt.c asks of a virqchip. */
static const struct virqchip_ops vgicv3_dt = {
    .name = "vGICv3", .dt_node = vgicv3_dt_node, .dt_spec = vgic_dt_spec,
    .dt_spec_private = vgicv3_dt_spec_private,
};

static const u32 virt_timer_ppis[4] = { 29, 30, 27, 26 };
static const u64 mpidr_linear[4] = { 0, 1, 2, 3 };
/* Hex letters in unit addresses catch upper-case formatting. */
static const u64 mpidr_clusters[4] = { 0x0, 0x1, 0x100, 0xf0a0b };

struct dt_case {
    unsigned int ncpus;
    const u64 *mpidr;
    bool uart;
    const char *bootargs;
    u64 initrd_start, initrd_end;
    u64 mem_base, mem_size;
    u64 uart_base;
    u32 pmu_ppi;
};

static struct guest_dt_params case_params(const struct dt_case *c)
{
    return (struct guest_dt_params){
        .name = "linux0",
        .mem_base = c->mem_base ? c->mem_base : VIRT_MEM_BASE,
        .mem_size = c->mem_size ? c->mem_size : 256ULL << 20,
        .ncpus = c->ncpus,
        .cpu_ids = c->mpidr ? c->mpidr : mpidr_linear,
        .virq = &vgicv3_dt,
        .uart = c->uart, .uart_base = c->uart_base ? c->uart_base : VIRT_UART_BASE,
        .uart_line = VIRT_UART_SPI,
        .bootargs = c->bootargs,
        .initrd_start = c->initrd_start, .initrd_end = c->initrd_end,
        .timer_ppis = virt_timer_ppis,
        .pmu_ppi = c->pmu_ppi,
    };
}

/* ---- property helpers: each fails the test if the property is malformed ---- */

static int node_at(const void *fdt, const char *path)
{
    int node = fdt_path_offset(fdt, path);

    if (node < 0)
        fail_msg("no node %s: %s", path, fdt_strerror(node));
    return node;
}

static const void *prop_len(const void *fdt, int node, const char *name, int expect_len)
{
    int len;
    const void *val = fdt_getprop(fdt, node, name, &len);

    if (!val)
        fail_msg("%s: no property %s", fdt_get_name(fdt, node, NULL), name);
    assert_int_equal(len, expect_len);
    return val;
}

static u32 prop_u32(const void *fdt, int node, const char *name)
{
    return fdt32_ld(prop_len(fdt, node, name, 4));
}

static u64 prop_u64(const void *fdt, int node, const char *name)
{
    return fdt64_ld(prop_len(fdt, node, name, 8));
}

/* @expect holds NUL-separated strings; @size includes the final NUL. */
static void assert_prop_bytes(const void *fdt, int node, const char *name, const void *expect,
                              int size)
{
    assert_memory_equal(prop_len(fdt, node, name, size), expect, size);
}

static void assert_prop_str(const void *fdt, int node, const char *name, const char *expect)
{
    assert_prop_bytes(fdt, node, name, expect, (int)strlen(expect) + 1);
}

static void assert_prop_cells(const void *fdt, int node, const char *name, const u32 *cells, int n)
{
    const fdt32_t *val = prop_len(fdt, node, name, n * 4);

    for (int i = 0; i < n; i++)
        assert_int_equal(fdt32_ld(&val[i]), cells[i]);
}

static void assert_no_prop(const void *fdt, int node, const char *name)
{
    assert_null(fdt_getprop(fdt, node, name, NULL));
}

/* reg/addresses with #address-cells = #size-cells = <2>. */
static void assert_prop_u64s(const void *fdt, int node, const char *name, const u64 *v, int n)
{
    const fdt64_t *val = prop_len(fdt, node, name, n * 8);

    for (int i = 0; i < n; i++)
        assert_int_equal(fdt64_ld(&val[i]), v[i]);
}

static int phandle_target(const void *fdt, u32 phandle)
{
    int node = fdt_node_offset_by_phandle(fdt, phandle);

    if (node < 0)
        fail_msg("phandle %u does not resolve", phandle);
    return node;
}

static void build(void *buf, const struct guest_dt_params *p)
{
    int err = guest_dt_build(buf, DT_BUF_SIZE, p);

    if (err)
        fail_msg("guest_dt_build: %s", fdt_strerror(err));
    assert_int_equal(fdt_check_header(buf), 0);
    assert_int_equal(fdt_check_full(buf, DT_BUF_SIZE), 0);
    assert_true(fdt_totalsize(buf) <= DT_BUF_SIZE);
}

/* ---- per-node checks ---- */

static int gic_node(const void *fdt)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");

    assert_true(node >= 0);
    assert_int_equal(node, node_at(fdt, "/intc@8000000"));
    /* Exactly one. */
    assert_true(fdt_node_offset_by_compatible(fdt, node, "arm,gic-v3") < 0);
    return node;
}

static void check_root(const void *fdt)
{
    assert_int_equal(prop_u32(fdt, 0, "#address-cells"), 2);
    assert_int_equal(prop_u32(fdt, 0, "#size-cells"), 2);
    assert_prop_str(fdt, 0, "compatible", "linux,dummy-virt");
    assert_prop_str(fdt, 0, "model", "keel,linux0");
    assert_int_equal(phandle_target(fdt, prop_u32(fdt, 0, "interrupt-parent")), gic_node(fdt));
}

static void check_psci(const void *fdt)
{
    static const char compat[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";
    int node = node_at(fdt, "/psci");

    assert_prop_bytes(fdt, node, "compatible", compat, sizeof(compat));
    assert_int_equal(fdt_node_offset_by_compatible(fdt, -1, "arm,psci-1.0"), node);
    assert_prop_str(fdt, node, "method", "hvc");
    /* PSCI 0.1 IDs, required by the binding next to "arm,psci": the 0.2 standard ones. */
    assert_int_equal(prop_u32(fdt, node, "cpu_suspend"), 0xc4000001);
    assert_int_equal(prop_u32(fdt, node, "cpu_off"), 0x84000002);
    assert_int_equal(prop_u32(fdt, node, "cpu_on"), 0xc4000003);
    assert_int_equal(prop_u32(fdt, node, "migrate"), 0xc4000005);
}

static void check_cpus(const void *fdt, const struct guest_dt_params *p)
{
    int cpus = node_at(fdt, "/cpus"), node, count = 0;
    char path[64];

    assert_int_equal(prop_u32(fdt, cpus, "#address-cells"), 1);
    assert_int_equal(prop_u32(fdt, cpus, "#size-cells"), 0);
    fdt_for_each_subnode(node, fdt, cpus)
        count++;
    assert_int_equal(count, p->ncpus);
    for (unsigned int i = 0; i < p->ncpus; i++) {
        snprintf(path, sizeof(path), "/cpus/cpu@%llx", (unsigned long long)p->cpu_ids[i]);
        node = node_at(fdt, path);
        assert_prop_str(fdt, node, "device_type", "cpu");
        assert_prop_str(fdt, node, "compatible", "arm,armv8");
        assert_int_equal(prop_u32(fdt, node, "reg"), p->cpu_ids[i]);
        assert_prop_str(fdt, node, "enable-method", "psci");
    }
}

static void check_memory(const void *fdt, const struct guest_dt_params *p)
{
    u64 reg[2] = { p->mem_base, p->mem_size };
    char path[64];
    int node, count = 0;

    snprintf(path, sizeof(path), "/memory@%llx", (unsigned long long)p->mem_base);
    node = node_at(fdt, path);
    assert_prop_str(fdt, node, "device_type", "memory");
    assert_prop_u64s(fdt, node, "reg", reg, 2);
    fdt_for_each_subnode(node, fdt, 0) {
        const char *type = fdt_getprop(fdt, node, "device_type", NULL);
        count += type && !strcmp(type, "memory");
    }
    assert_int_equal(count, 1);
}

static void check_gic(const void *fdt, const struct guest_dt_params *p)
{
    u64 reg[4] = { VIRT_GICD_BASE, VIRT_GICD_SIZE, VIRT_GICR_BASE, VIRT_GICR_SIZE * p->ncpus };
    int node = gic_node(fdt);

    assert_prop_str(fdt, node, "compatible", "arm,gic-v3");
    assert_int_equal(prop_u32(fdt, node, "#interrupt-cells"), 3);
    assert_int_equal(prop_u32(fdt, node, "#address-cells"), 2);
    assert_int_equal(prop_u32(fdt, node, "#size-cells"), 2);
    prop_len(fdt, node, "ranges", 0);
    prop_len(fdt, node, "interrupt-controller", 0);
    assert_int_equal(prop_u32(fdt, node, "#redistributor-regions"), 1);
    assert_prop_u64s(fdt, node, "reg", reg, 4);
    assert_int_equal(phandle_target(fdt, prop_u32(fdt, node, "phandle")), node);
    assert_no_prop(fdt, node, "interrupts"); /* no maintenance interrupt */
}

static void check_timer(const void *fdt)
{
    static const u32 irqs[] = { 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4 };
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");

    assert_int_equal(node, node_at(fdt, "/timer"));
    assert_prop_str(fdt, node, "compatible", "arm,armv8-timer");
    assert_prop_cells(fdt, node, "interrupts", irqs, 12);
    assert_no_prop(fdt, node, "always-on");
}

/* QEMU virt's PMU: PPI 7 (INTID 23), level-high; no node without one. */
static void check_pmu(const void *fdt, const struct guest_dt_params *p)
{
    static const u32 irqs[] = { 1, 7, 4 };
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-pmuv3");

    if (!p->pmu_ppi) {
        assert_int_equal(node, -FDT_ERR_NOTFOUND);
        return;
    }
    assert_int_equal(node, node_at(fdt, "/pmu"));
    assert_prop_str(fdt, node, "compatible", "arm,armv8-pmuv3");
    assert_prop_cells(fdt, node, "interrupts", irqs, 3);
}

static int clock_node(const void *fdt)
{
    int node = node_at(fdt, "/apb-pclk");

    assert_prop_str(fdt, node, "compatible", "fixed-clock");
    assert_int_equal(prop_u32(fdt, node, "#clock-cells"), 0);
    assert_int_equal(prop_u32(fdt, node, "clock-frequency"), 24000000);
    assert_prop_str(fdt, node, "clock-output-names", "clk24mhz");
    assert_int_equal(phandle_target(fdt, prop_u32(fdt, node, "phandle")), node);
    return node;
}

static void uart_path(char *buf, size_t size, const struct guest_dt_params *p)
{
    snprintf(buf, size, "/pl011@%llx", (unsigned long long)p->uart_base);
}

static void check_uart(const void *fdt, const struct guest_dt_params *p)
{
    static const char compat[] = "arm,pl011\0arm,primecell";
    static const char clock_names[] = "uartclk\0apb_pclk";
    static const u32 irq[] = { 0, VIRT_UART_SPI, 4 };
    u64 reg[2] = { p->uart_base, 0x1000 };
    int clk, node = fdt_node_offset_by_compatible(fdt, -1, "arm,pl011");
    char path[64];

    if (!p->uart) {
        assert_true(node < 0);
        assert_true(fdt_path_offset(fdt, "/aliases") < 0);
        return;
    }
    clk = clock_node(fdt);
    uart_path(path, sizeof(path), p);
    assert_int_equal(node, node_at(fdt, path));
    assert_prop_bytes(fdt, node, "compatible", compat, sizeof(compat));
    assert_prop_u64s(fdt, node, "reg", reg, 2);
    assert_prop_cells(fdt, node, "interrupts", irq, 3);
    const fdt32_t *clocks = prop_len(fdt, node, "clocks", 8);
    assert_int_equal(phandle_target(fdt, fdt32_ld(&clocks[0])), clk);
    assert_int_equal(phandle_target(fdt, fdt32_ld(&clocks[1])), clk);
    assert_prop_bytes(fdt, node, "clock-names", clock_names, sizeof(clock_names));
    assert_prop_str(fdt, node_at(fdt, "/aliases"), "serial0", path);
    assert_int_equal(fdt_path_offset(fdt, "serial0"), node); /* the alias resolves */
}

static void check_chosen(const void *fdt, const struct guest_dt_params *p)
{
    int node = node_at(fdt, "/chosen");
    char path[64];

    if (p->uart) {
        uart_path(path, sizeof(path), p);
        assert_prop_str(fdt, node, "stdout-path", path);
        assert_int_equal(node_at(fdt, fdt_getprop(fdt, node, "stdout-path", NULL)),
                         fdt_node_offset_by_compatible(fdt, -1, "arm,pl011"));
    } else {
        assert_no_prop(fdt, node, "stdout-path");
    }
    if (p->bootargs)
        assert_prop_str(fdt, node, "bootargs", p->bootargs);
    else
        assert_no_prop(fdt, node, "bootargs");
    if (p->initrd_end > p->initrd_start) {
        assert_int_equal(prop_u64(fdt, node, "linux,initrd-start"), p->initrd_start);
        assert_int_equal(prop_u64(fdt, node, "linux,initrd-end"), p->initrd_end);
    } else {
        assert_no_prop(fdt, node, "linux,initrd-start");
        assert_no_prop(fdt, node, "linux,initrd-end");
    }
}

/* ---- whole-tree checks ---- */

static u64 reg_address(const void *fdt, int node, const fdt32_t *reg)
{
    int ac = fdt_address_cells(fdt, fdt_parent_offset(fdt, node));
    u64 addr = 0;

    for (int i = 0; i < ac; i++)
        addr = addr << 32 | fdt32_ld(&reg[i]);
    return addr;
}

/* Unit addresses: lower-case hex, no leading zero, equal to the first reg address. */
static void check_unit_addresses(const void *fdt)
{
    for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, NULL)) {
        const char *name = fdt_get_name(fdt, node, NULL), *at = strchr(name, '@');
        const fdt32_t *reg = fdt_getprop(fdt, node, "reg", NULL);

        /* dtc's unit_address_vs_reg: one without the other is a warning. */
        assert_int_equal(at != NULL, reg != NULL);
        if (!at)
            continue;
        const char *hex = at + 1;
        assert_true(hex[0] && strspn(hex, "0123456789abcdef") == strlen(hex));
        assert_true(hex[0] != '0' || hex[1] == '\0');
        assert_int_equal(strtoull(hex, NULL, 16), reg_address(fdt, node, reg));
    }
}

/* Every "interrupts" resolves, through interrupt-parent up the tree, to the GIC. */
static void check_interrupts(const void *fdt)
{
    int gic = gic_node(fdt), count = 0, len;

    for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, NULL)) {
        const fdt32_t *parent;
        int up = node;

        if (!fdt_getprop(fdt, node, "interrupts", &len))
            continue;
        assert_int_equal(len % (3 * 4), 0); /* #interrupt-cells = <3> */
        while (!(parent = fdt_getprop(fdt, up, "interrupt-parent", NULL))) {
            up = fdt_parent_offset(fdt, up);
            assert_true(up >= 0);
        }
        assert_int_equal(phandle_target(fdt, fdt32_ld(parent)), gic);
        count++;
    }
    assert_true(count >= 1);
}

/* Unique phandles: the GIC, and the clock when there is a PL011 (only it needs one). */
static void check_phandles(const void *fdt, const struct guest_dt_params *p)
{
    u32 max;

    assert_int_equal(fdt_find_max_phandle(fdt, &max), 0);
    assert_int_equal(max, p->uart ? 2 : 1);
    assert_int_equal(phandle_target(fdt, 1), gic_node(fdt));
    if (p->uart)
        assert_int_equal(phandle_target(fdt, 2), node_at(fdt, "/apb-pclk"));
    else
        assert_int_equal(fdt_path_offset(fdt, "/apb-pclk"), -FDT_ERR_NOTFOUND);
}

/* ---- tests ---- */

enum {
    CASE_1CPU_BARE, CASE_1CPU_FULL, CASE_2CPU_UART_INITRD, CASE_2CPU_EMPTY_BOOTARGS,
    CASE_2CPU_HIGH_MEM, CASE_4CPU_FULL, CASE_4CPU_CLUSTERS, CASE_4CPU_EMPTY_INITRD,
};

#define INITRD_IPA 0x48000000ULL
#define BOOTARGS "console=ttyAMA0 earlycon rdinit=/sbin/init"
#define VIRT_PMU_PPI 23

static const struct dt_case cases[] = {
    [CASE_1CPU_BARE] = { .ncpus = 1 },
    [CASE_1CPU_FULL] = { .ncpus = 1, .uart = true, .bootargs = BOOTARGS,
                         .initrd_start = INITRD_IPA, .initrd_end = INITRD_IPA + 0x1234567,
                         .pmu_ppi = VIRT_PMU_PPI },
    [CASE_2CPU_UART_INITRD] = { .ncpus = 2, .uart = true,
                                .initrd_start = INITRD_IPA, .initrd_end = INITRD_IPA + 0x200000 },
    [CASE_2CPU_EMPTY_BOOTARGS] = { .ncpus = 2, .bootargs = "" },
    /*
     * RAM and initrd above 4 GiB: both halves of every 64-bit value matter.
     * The UART moves to FVP's address: unit addresses with hex letters.
     */
    [CASE_2CPU_HIGH_MEM] = { .ncpus = 2, .uart = true, .uart_base = 0x1c090000ULL,
                             .mem_base = 0xa0000000ULL,
                             .mem_size = 0x100000000ULL, .initrd_start = 0x17f000000ULL,
                             .initrd_end = 0x17f800000ULL },
    [CASE_4CPU_FULL] = { .ncpus = 4, .uart = true, .bootargs = BOOTARGS,
                         .initrd_start = INITRD_IPA, .initrd_end = INITRD_IPA + 0x400000,
                         .pmu_ppi = VIRT_PMU_PPI },
    [CASE_4CPU_CLUSTERS] = { .ncpus = 4, .mpidr = mpidr_clusters, .uart = true,
                             .bootargs = BOOTARGS, .pmu_ppi = VIRT_PMU_PPI },
    [CASE_4CPU_EMPTY_INITRD] = { .ncpus = 4, .uart = true,
                                 .initrd_start = INITRD_IPA, .initrd_end = INITRD_IPA },
};

static u64 dt_buf[DT_BUF_SIZE / 8]; /* 8-byte aligned, as guest_dt_build asks */

static void test_case(void **state)
{
    struct guest_dt_params p = case_params(*state);

    build(dt_buf, &p);
    check_root(dt_buf);
    check_psci(dt_buf);
    check_cpus(dt_buf, &p);
    check_memory(dt_buf, &p);
    check_gic(dt_buf, &p);
    check_timer(dt_buf);
    check_pmu(dt_buf, &p);
    check_uart(dt_buf, &p);
    check_chosen(dt_buf, &p);
    check_unit_addresses(dt_buf);
    check_interrupts(dt_buf);
    check_phandles(dt_buf, &p);
}

/* Every size below the blob's fails cleanly; ASan sees any write past the heap block. */
static void test_nospace(void **state)
{
    struct guest_dt_params p = case_params(&cases[CASE_4CPU_FULL]);
    size_t need;
    void *buf;

    build(dt_buf, &p);
    need = fdt_totalsize(dt_buf);
    for (size_t size = 0; size < need; size++) {
        buf = malloc(size);
        assert_int_equal(guest_dt_build(buf, size, &p), -FDT_ERR_NOSPACE);
        free(buf);
    }
    buf = malloc(need);
    assert_int_equal(guest_dt_build(buf, need, &p), 0);
    assert_memory_equal(buf, dt_buf, need);
    free(buf);
}

static void expect_bad(const struct guest_dt_params *p)
{
    assert_int_equal(guest_dt_build(dt_buf, sizeof(dt_buf), p), -FDT_ERR_BADVALUE);
}

static void test_bad_params(void **state)
{
    static const u64 dup[4] = { 0, 1, 1, 2 }, aff3[4] = { 0, 1, 2, 1ULL << 32 };
    static const u32 spi_ppi[4] = { 29, 30, 27, 32 }, sgi_ppi[4] = { 15, 30, 27, 26 };
    const struct guest_dt_params good = case_params(&cases[CASE_4CPU_FULL]);
    struct guest_dt_params p;

#define BAD(change) do { p = good; change; expect_bad(&p); } while (0)
    BAD(p.name = NULL);
    BAD(p.ncpus = 0);
    BAD(p.cpu_ids = NULL);
    BAD(p.cpu_ids = dup);
    BAD(p.cpu_ids = aff3);
    BAD(p.mem_size = 0);
    BAD(p.virq = NULL);
    BAD(p.timer_ppis = NULL);
    BAD(p.timer_ppis = spi_ppi);
    BAD(p.timer_ppis = sgi_ppi);
    BAD(p.pmu_ppi = 32); /* an SPI: one per CPU is not describable as one PPI */
    BAD(p.pmu_ppi = 7);  /* an SGI */
    BAD(p.uart_line = 988);
#undef BAD
    /* The highest SPI is fine; a bad one is ignored when there is no UART. */
    p = good;
    p.uart_line = 987;
    assert_int_equal(guest_dt_build(dt_buf, sizeof(dt_buf), &p), 0);
    p.uart = false;
    p.uart_line = 5000;
    assert_int_equal(guest_dt_build(dt_buf, sizeof(dt_buf), &p), 0);
}

static void test_long_name(void **state)
{
    struct guest_dt_params p = case_params(&cases[CASE_1CPU_BARE]);
    char name[301], model[sizeof(name) + 5];

    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(model, sizeof(model), "keel,%s", name);
    p.name = name;
    build(dt_buf, &p);
    assert_prop_str(dt_buf, 0, "model", model);
}

/* Same input, same bytes, whatever the buffer held or its size. */
static void test_deterministic(void **state)
{
    struct guest_dt_params p = case_params(&cases[CASE_4CPU_CLUSTERS]);
    static u64 other[DT_BUF_SIZE / 8 / 2];

    build(dt_buf, &p);
    memset(other, 0xa5, sizeof(other));
    assert_int_equal(guest_dt_build(other, sizeof(other), &p), 0);
    assert_int_equal(fdt_totalsize(other), fdt_totalsize(dt_buf));
    assert_memory_equal(other, dt_buf, fdt_totalsize(dt_buf));
    assert_int_equal(fdt_num_mem_rsv(dt_buf), 0);
}

/* The header's size estimate holds for a small VM with long bootargs. */
static void test_fits_page(void **state)
{
    static const u64 mpidr8[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    struct guest_dt_params p = case_params(&cases[CASE_4CPU_FULL]);
    char bootargs[1024];

    memset(bootargs, 'a', sizeof(bootargs) - 1);
    bootargs[sizeof(bootargs) - 1] = '\0';
    p.ncpus = 8;
    p.cpu_ids = mpidr8;
    p.bootargs = bootargs;
    assert_int_equal(guest_dt_build(dt_buf, 4096, &p), 0);
    print_message("8 vCPUs, 1 KiB bootargs: %u bytes\n", fdt_totalsize(dt_buf));
}

/* --write-dtb DIR: sample blobs for the make target to run dtc on. */
static int write_dtb(const char *dir, const char *file, const struct dt_case *c)
{
    struct guest_dt_params p = case_params(c);
    char path[512];
    FILE *f;
    int err = guest_dt_build(dt_buf, sizeof(dt_buf), &p);

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (err || !(f = fopen(path, "wb"))) {
        fprintf(stderr, "%s: %s\n", path, err ? fdt_strerror(err) : "cannot open");
        return 1;
    }
    err = fwrite(dt_buf, fdt_totalsize(dt_buf), 1, f) != 1;
    return fclose(f) || err;
}

#define CASE_TEST(id, label) { label, test_case, NULL, NULL, (void *)&cases[id] }

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        CASE_TEST(CASE_1CPU_BARE, "1 vCPU, no uart/bootargs/initrd"),
        CASE_TEST(CASE_1CPU_FULL, "1 vCPU, uart + bootargs + initrd"),
        CASE_TEST(CASE_2CPU_UART_INITRD, "2 vCPUs, uart + initrd"),
        CASE_TEST(CASE_2CPU_EMPTY_BOOTARGS, "2 vCPUs, empty bootargs"),
        CASE_TEST(CASE_2CPU_HIGH_MEM, "2 vCPUs, RAM and initrd above 4 GiB"),
        CASE_TEST(CASE_4CPU_FULL, "4 vCPUs, uart + bootargs + initrd"),
        CASE_TEST(CASE_4CPU_CLUSTERS, "4 vCPUs, multi-cluster MPIDRs"),
        CASE_TEST(CASE_4CPU_EMPTY_INITRD, "4 vCPUs, empty initrd range"),
        cmocka_unit_test(test_nospace),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_fits_page),
    };

    if (argc == 3 && !strcmp(argv[1], "--write-dtb"))
        return write_dtb(argv[2], "sample.dtb", &cases[CASE_4CPU_FULL]) ||
               write_dtb(argv[2], "sample-min.dtb", &cases[CASE_1CPU_BARE]);
    return cmocka_run_group_tests_name("guest_dt", tests, NULL, NULL);
}
