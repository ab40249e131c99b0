/*
 * Host unit tests for src/core/dt.c (dt_parse_platform) against:
 *  - DTBs QEMU's virt machine dumps (GICv2/v3, 1 to 12 CPUs), made by unit.mk
 *    in build/unit/dtb;
 *  - DTBs dtc builds from the .dts files in tests/unit/dts;
 *  - small blobs built here with libfdt's sequential-write API, for limits
 *    and odd cases.
 * Also early_uart_for_board (src/core/early_uart.c) on the same DTBs.
 * The DTB directory is compiled in (UNIT_DTB_DIR) and can be overridden with
 * the first argument.
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

#include <keel/early_uart.h>
#include <keel/log.h>
#include <keel/platform.h>

#include "fake_arch.h"

#ifndef UNIT_DTB_DIR
#define UNIT_DTB_DIR "build/unit/dtb"
#endif

static const char *dtb_dir = UNIT_DTB_DIR;

#define SZ_M(n) ((u64)(n) << 20)
#define SZ_G(n) ((u64)(n) << 30)

/* Blobs of the running test, freed by its teardown even when an assertion fails. */
static void *blobs[4];

static void *track(void *p)
{
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
        if (!blobs[i])
            return blobs[i] = p;
    fail_msg("too many blobs");
    return NULL;
}

static int free_blobs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
        free(blobs[i]);
        blobs[i] = NULL;
    }
    log_current_level = LOG_TRACE;
    return 0;
}

/* Reads a whole DTB into a buffer of exactly its size (ASan guards the end). */
static void *load_dtb(const char *name, size_t *size_out)
{
    char path[512];
    FILE *f;
    long size;
    void *buf;

    snprintf(path, sizeof(path), "%s/%s", dtb_dir, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run the tests through 'make unit')", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    buf = track(malloc((size_t)size));
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    assert_int_equal(fdt_totalsize(buf), (u32)size);
    if (size_out)
        *size_out = (size_t)size;
    return buf;
}

/* Parses into a platform prefilled with garbage: every field must be set. */
static int parse(const void *fdt, struct platform *plat)
{
    memset(plat, 0x5a, sizeof(*plat));
    fake_log_reset();
    return dt_parse_platform(fdt, plat);
}

static void assert_range(const struct mem_range *r, u64 base, u64 size)
{
    if (pa_addr(r->base) != base || r->size != size)
        print_error("range %#lx+%#lx, expected %#lx+%#lx\n", (unsigned long)pa_addr(r->base),
                    (unsigned long)r->size, (unsigned long)base, (unsigned long)size);
    assert_int_equal(pa_addr(r->base), base);
    assert_int_equal(r->size, size);
}

static void assert_no_range(const struct mem_range *r)
{
    assert_range(r, 0, 0);
}

/* ---- QEMU virt ---- */

struct virt_config {
    const char *dtb;
    unsigned int gic, cpus;
    u64 mem;
};

/* Must match UNIT_VIRT_CONFIGS in unit.mk. */
static const struct virt_config virt_configs[] = {
    { "virt-gicv2-smp1.dtb", 2, 1, SZ_M(256) },
    { "virt-gicv2-smp4.dtb", 2, 4, SZ_M(512) },
    { "virt-gicv2-smp8.dtb", 2, 8, SZ_G(1) },
    { "virt-gicv3-smp1.dtb", 3, 1, SZ_M(256) },
    { "virt-gicv3-smp4.dtb", 3, 4, SZ_M(512) },
    { "virt-gicv3-smp8.dtb", 3, 8, SZ_G(1) },
    { "virt-gicv3-smp12.dtb", 3, 12, SZ_G(5) },
};

static void test_qemu_virt(void **state)
{
    const struct virt_config *cfg = *state;
    void *fdt = load_dtb(cfg->dtb, NULL);
    struct platform plat;
    unsigned int cpus = cfg->cpus < PLAT_MAX_CPUS ? cfg->cpus : PLAT_MAX_CPUS;

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(fake_log_count, 0);

    /* RAM */
    assert_int_equal(plat.mem_count, 1);
    assert_range(&plat.mem[0], 0x40000000, cfg->mem);
    assert_int_equal(plat.reserved_count, 0);

    /* CPUs: MPIDR Aff0 = index while a cluster holds them all */
    assert_int_equal(plat.cpu_count, cpus);
    assert_int_equal(plat.cpus_ignored, cfg->cpus - cpus);
    for (unsigned int i = 0; i < cpus; i++) {
        assert_int_equal(plat.cpu_hwid[i], i);
        assert_int_equal(plat.cpu_enable[i], CPU_ENABLE_PSCI);
        assert_int_equal(plat.cpu_release_addr[i], 0);
    }

    /* GIC */
    assert_int_equal(plat.gic_version, cfg->gic);
    assert_range(&plat.gicd, 0x08000000, 0x10000);
    if (cfg->gic == 3) {
        assert_int_equal(pa_addr(plat.gicr.base), 0x080a0000);
        assert_true(plat.gicr.size >= cfg->cpus * 0x20000UL); /* 128 KiB per CPU */
        assert_no_range(&plat.gicc);
        assert_no_range(&plat.gich);
        assert_no_range(&plat.gicv);
    } else {
        assert_no_range(&plat.gicr);
        assert_range(&plat.gicc, 0x08010000, 0x10000);
        assert_range(&plat.gich, 0x08030000, 0x10000);
        assert_range(&plat.gicv, 0x08040000, 0x10000);
    }
    assert_int_equal(plat.gic_maint_irq, 25); /* PPI 9 */

    /* generic timer: secure phys 29, non-secure phys 30, virt 27, hyp 26 */
    assert_true(plat.timer_found);
    assert_int_equal(plat.timer_irq[0], 29);
    assert_int_equal(plat.timer_irq[1], 30);
    assert_int_equal(plat.timer_irq[2], 27);
    assert_int_equal(plat.timer_irq[3], 26);
    assert_int_equal(plat.pmu_irq, 23); /* arm,armv8-pmuv3: PPI 7 */

    /* console from /chosen/stdout-path */
    assert_range(&plat.uart, 0x09000000, 0x1000);
    assert_int_equal(plat.uart_irq, 33); /* SPI 1 */
    assert_string_equal(plat.uart_path, "/pl011@9000000");
    /* and the same PL011 known by the board's compatible, "linux,dummy-virt" */
    assert_int_equal(early_uart_for_board(fdt), 0x09000000);

    /* PSCI through SMC: QEMU emulates EL3 firmware when EL2 is on */
    assert_int_equal(plat.psci, PSCI_CONDUIT_SMC);
    assert_string_equal(psci_conduit_name(plat.psci), "smc");

    assert_null(plat.bootargs);
    assert_int_equal(plat.module_count, 0);
}

/* ---- hand-written DTS ---- */

static void test_platform_dts(void **state)
{
    (void)state;
    void *fdt = load_dtb("platform.dtb", NULL);
    struct platform plat;

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(fake_log_count, 0);

    /* two banks from one node; the zero-sized one and the untyped node ignored */
    assert_int_equal(plat.mem_count, 2);
    assert_range(&plat.mem[0], 0x40000000, 0x20000000);
    assert_range(&plat.mem[1], 0x100000000, 0x100000000);

    /* /memreserve/ first, then /reserved-memory (its own #size-cells = 1) */
    assert_int_equal(plat.reserved_count, 3);
    assert_range(&plat.reserved[0], 0x48000000, 0x100000);
    assert_range(&plat.reserved[1], 0x4c000000, 0x2000);
    assert_range(&plat.reserved[2], 0x4e000000, 0x10000);

    /* 2-cell MPIDRs, cpu-map and the cache node skipped */
    assert_int_equal(plat.cpu_count, 4);
    assert_int_equal(plat.cpus_ignored, 0);
    assert_int_equal(plat.cpu_hwid[0], 0x0);
    assert_int_equal(plat.cpu_hwid[1], 0x1);
    assert_int_equal(plat.cpu_hwid[2], 0x100);
    assert_int_equal(plat.cpu_hwid[3], 0x100000000);

    assert_int_equal(plat.gic_version, 2);
    assert_range(&plat.gicd, 0x2f000000, 0x1000);
    assert_range(&plat.gicc, 0x2c000000, 0x2000);
    assert_range(&plat.gich, 0x2c010000, 0x2000);
    assert_range(&plat.gicv, 0x2c02f000, 0x2000);
    assert_no_range(&plat.gicr);
    assert_int_equal(plat.gic_maint_irq, 25);

    assert_true(plat.timer_found);
    assert_int_equal(plat.timer_irq[0], 29);
    assert_int_equal(plat.timer_irq[1], 30);
    assert_int_equal(plat.timer_irq[2], 27);
    assert_int_equal(plat.timer_irq[3], 26);
    assert_int_equal(plat.pmu_irq, 0); /* no PMU node */

    /* "path:options", the second UART, inside a 1-cell bus */
    assert_string_equal(plat.uart_path, "/soc@0/serial@1c0a0000");
    assert_range(&plat.uart, 0x1c0a0000, 0x1000);
    assert_int_equal(plat.uart_irq, 38);

    assert_int_equal(plat.psci, PSCI_CONDUIT_HVC);
    assert_string_equal(psci_conduit_name(plat.psci), "hvc");

    assert_non_null(plat.bootargs);
    assert_string_equal(plat.bootargs, "log=debug vms=2");
    /* it points into the blob */
    assert_true((const char *)plat.bootargs > (const char *)fdt &&
                (const char *)plat.bootargs < (const char *)fdt + fdt_totalsize(fdt));

    /* modules of both VMs, in tree order, each VM with its own cell sizes */
    assert_int_equal(plat.module_count, 4);
    assert_string_equal(plat.modules[0].kind, "kernel");
    assert_string_equal(plat.modules[0].path, "/chosen/vm@0/kernel@48200000");
    assert_range(&plat.modules[0].range, 0x48200000, 0x1400000);
    assert_string_equal(plat.modules[1].kind, "ramdisk");
    assert_string_equal(plat.modules[1].path, "/chosen/vm@0/ramdisk@49600000");
    assert_range(&plat.modules[1].range, 0x49600000, 0x800000);
    assert_string_equal(plat.modules[2].kind, "device-tree");
    assert_string_equal(plat.modules[2].path, "/chosen/vm@1/fdt@4a000000");
    assert_range(&plat.modules[2].range, 0x4a000000, 0x10000);
    assert_string_equal(plat.modules[3].kind, "module");
    assert_string_equal(plat.modules[3].path, "/chosen/vm@1/blob@4a100000");
    assert_range(&plat.modules[3].range, 0x4a100000, 0x2000);
}

static void test_alias_dts(void **state)
{
    (void)state;
    void *fdt = load_dtb("alias.dtb", NULL);
    struct platform plat;

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(plat.mem_count, 1);
    assert_range(&plat.mem[0], 0x80000000, 0x40000000);
    assert_int_equal(plat.reserved_count, 0);
    assert_int_equal(plat.cpu_count, 1);
    assert_int_equal(plat.cpu_hwid[0], 0);

    assert_int_equal(plat.gic_version, 3);
    assert_range(&plat.gicd, 0x2f000000, 0x10000);
    assert_range(&plat.gicr, 0x2f100000, 0x200000);
    assert_int_equal(plat.gic_maint_irq, 25);

    /* no timer node */
    assert_false(plat.timer_found);
    for (int i = 0; i < 4; i++)
        assert_int_equal(plat.timer_irq[i], 0);

    /* "serial0:115200n8" resolved through /aliases */
    assert_string_equal(plat.uart_path, "/uart@1c090000");
    assert_range(&plat.uart, 0x1c090000, 0x1000);
    assert_int_equal(plat.uart_irq, 37);

    /* the original "arm,psci" binding */
    assert_int_equal(plat.psci, PSCI_CONDUIT_SMC);
    assert_null(plat.bootargs);
    assert_int_equal(plat.module_count, 0);
}

/* ---- invalid blobs ---- */

static void test_invalid_blob(void **state)
{
    (void)state;
    struct platform plat;
    u8 *zeros = track(calloc(1, 4096));

    log_current_level = LOG_ERROR;
    assert_int_equal(parse(zeros, &plat), -1);
    /* reported, and the platform left empty rather than half-filled */
    assert_int_equal(fake_log_count, 1);
    assert_int_equal(fake_log_last_level, LOG_ERROR);
    assert_non_null(strstr(fake_log_last, "not valid"));
    const u8 *bytes = (const u8 *)&plat;
    for (size_t i = 0; i < sizeof(plat); i++)
        assert_int_equal(bytes[i], 0);

    /* a real DTB with a damaged header */
    size_t size;
    u8 *fdt = load_dtb("virt-gicv3-smp4.dtb", &size);
    fdt[0] ^= 0xff; /* magic */
    assert_int_equal(parse(fdt, &plat), -1);
    assert_int_equal(fake_log_count, 1);
    fdt[0] ^= 0xff;
    assert_int_equal(parse(fdt, &plat), 0);
    fdt_set_version(fdt, 1); /* older than libfdt can read */
    assert_int_equal(parse(fdt, &plat), -1);
}

/* ---- blobs built here ---- */

#define SW(call) assert_int_equal((call), 0)

static void *sw_begin(size_t size)
{
    void *fdt = track(malloc(size));

    assert_non_null(fdt);
    SW(fdt_create(fdt, (int)size));
    return fdt;
}

static void sw_reg(void *fdt, const u64 *vals, int n, int ac, int sc)
{
    fdt32_t cells[64];
    int c = 0;

    assert_true(n / 2 * (ac + sc) <= 64);
    for (int i = 0; i < n; i += 2) {
        if (ac == 2)
            cells[c++] = cpu_to_fdt32((u32)(vals[i] >> 32));
        cells[c++] = cpu_to_fdt32((u32)vals[i]);
        if (sc == 2)
            cells[c++] = cpu_to_fdt32((u32)(vals[i + 1] >> 32));
        if (sc >= 1)
            cells[c++] = cpu_to_fdt32((u32)vals[i + 1]);
    }
    SW(fdt_property(fdt, "reg", cells, c * 4));
}

static void sw_cells(void *fdt, int ac, int sc)
{
    SW(fdt_property_cell(fdt, "#address-cells", (u32)ac));
    SW(fdt_property_cell(fdt, "#size-cells", (u32)sc));
}

static void sw_module(void *fdt, const char *name, const char *compat, size_t compat_len, u64 base,
                      u64 size)
{
    u64 reg[2] = { base, size };

    SW(fdt_begin_node(fdt, name));
    SW(fdt_property(fdt, "compatible", compat, (int)compat_len));
    sw_reg(fdt, reg, 2, 2, 2);
    SW(fdt_end_node(fdt));
}

static void *sw_end(void *fdt)
{
    SW(fdt_end_node(fdt)); /* root */
    SW(fdt_finish(fdt));
    SW(fdt_check_header(fdt));
    return fdt;
}

static const char module_compat[] = "multiboot,module";

static void test_limits(void **state)
{
    (void)state;
    void *fdt = sw_begin(16384);
    struct platform plat;
    char name[32];

    for (u64 i = 0; i < 20; i++)
        SW(fdt_add_reservemap_entry(fdt, 0x50000000 + i * 0x10000, 0x1000));
    SW(fdt_finish_reservemap(fdt));
    SW(fdt_begin_node(fdt, ""));
    sw_cells(fdt, 2, 2);
    for (u64 i = 0; i < 10; i++) {
        u64 reg[2] = { (i + 1) << 32, SZ_M(64) };
        snprintf(name, sizeof(name), "memory@%lx", (unsigned long)reg[0]);
        SW(fdt_begin_node(fdt, name));
        SW(fdt_property_string(fdt, "device_type", "memory"));
        sw_reg(fdt, reg, 2, 2, 2);
        SW(fdt_end_node(fdt));
    }
    SW(fdt_begin_node(fdt, "chosen"));
    sw_cells(fdt, 2, 2);
    for (u64 i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "module@%lx", (unsigned long)(0x60000000 + i * SZ_M(1)));
        sw_module(fdt, name, module_compat, sizeof(module_compat), 0x60000000 + i * SZ_M(1),
                  SZ_M(1));
    }
    SW(fdt_end_node(fdt));
    fdt = sw_end(fdt);

    assert_int_equal(parse(fdt, &plat), 0);
    /* everything up to the array sizes, in order, and nothing past them */
    assert_int_equal(plat.reserved_count, PLAT_MAX_RESERVED);
    for (u64 i = 0; i < PLAT_MAX_RESERVED; i++)
        assert_range(&plat.reserved[i], 0x50000000 + i * 0x10000, 0x1000);
    assert_int_equal(plat.mem_count, PLAT_MAX_MEM);
    for (u64 i = 0; i < PLAT_MAX_MEM; i++)
        assert_range(&plat.mem[i], (i + 1) << 32, SZ_M(64));
    assert_int_equal(plat.module_count, PLAT_MAX_MODULES);
    for (u64 i = 0; i < PLAT_MAX_MODULES; i++) {
        assert_range(&plat.modules[i].range, 0x60000000 + i * SZ_M(1), SZ_M(1));
        assert_string_equal(plat.modules[i].kind, "module");
    }
    /* the rest of /chosen is still read */
    assert_int_equal(plat.cpu_count, 0);
    assert_int_equal(plat.gic_version, 0);
    assert_int_equal(plat.psci, PSCI_CONDUIT_NONE);
    assert_string_equal(psci_conduit_name(plat.psci), "none");
}

static void test_minimal(void **state)
{
    (void)state;
    void *fdt = sw_begin(4096);
    struct platform plat;
    u64 reg[2] = { 0x80000000, SZ_G(2) };

    SW(fdt_finish_reservemap(fdt));
    SW(fdt_begin_node(fdt, ""));
    sw_cells(fdt, 2, 2);
    SW(fdt_begin_node(fdt, "memory"));
    SW(fdt_property_string(fdt, "device_type", "memory"));
    sw_reg(fdt, reg, 2, 2, 2);
    SW(fdt_end_node(fdt));
    fdt = sw_end(fdt);

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(plat.mem_count, 1);
    assert_range(&plat.mem[0], 0x80000000, SZ_G(2));
    assert_int_equal(plat.reserved_count, 0);
    assert_int_equal(plat.cpu_count, 0);
    assert_int_equal(plat.gic_version, 0);
    assert_false(plat.timer_found);
    assert_no_range(&plat.uart);
    assert_string_equal(plat.uart_path, "");
    assert_int_equal(plat.psci, PSCI_CONDUIT_NONE);
    assert_null(plat.bootargs);
    assert_int_equal(plat.module_count, 0);
}

/* stdout-path naming nothing, a PSCI node with an unknown method, modules
 * without reg, and too many CPUs. */
static void test_odd_nodes(void **state)
{
    (void)state;
    void *fdt = sw_begin(8192);
    struct platform plat;
    char name[32];

    SW(fdt_finish_reservemap(fdt));
    SW(fdt_begin_node(fdt, ""));
    sw_cells(fdt, 2, 2);
    SW(fdt_begin_node(fdt, "cpus"));
    sw_cells(fdt, 1, 0);
    for (u32 i = 0; i < 11; i++) {
        snprintf(name, sizeof(name), "cpu@%x", i << 8);
        SW(fdt_begin_node(fdt, name));
        SW(fdt_property_string(fdt, "device_type", "cpu"));
        SW(fdt_property_cell(fdt, "reg", i << 8));
        SW(fdt_end_node(fdt));
    }
    SW(fdt_begin_node(fdt, "cpu@ffff")); /* no reg: skipped, not counted */
    SW(fdt_property_string(fdt, "device_type", "cpu"));
    SW(fdt_end_node(fdt));
    SW(fdt_end_node(fdt));
    SW(fdt_begin_node(fdt, "psci"));
    SW(fdt_property_string(fdt, "compatible", "arm,psci-1.0"));
    SW(fdt_property_string(fdt, "method", "svc"));
    SW(fdt_end_node(fdt));
    SW(fdt_begin_node(fdt, "chosen"));
    SW(fdt_property_string(fdt, "stdout-path", "/nonexistent@0:115200"));
    SW(fdt_property_string(fdt, "bootargs", ""));
    sw_cells(fdt, 2, 2);
    SW(fdt_begin_node(fdt, "noreg"));
    SW(fdt_property(fdt, "compatible", module_compat, sizeof(module_compat)));
    SW(fdt_end_node(fdt));
    sw_module(fdt, "good", module_compat, sizeof(module_compat), 0x1000, 0x2000);
    SW(fdt_end_node(fdt));
    fdt = sw_end(fdt);

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(plat.cpu_count, PLAT_MAX_CPUS);
    assert_int_equal(plat.cpus_ignored, 11 - PLAT_MAX_CPUS);
    for (u32 i = 0; i < PLAT_MAX_CPUS; i++)
        assert_int_equal(plat.cpu_hwid[i], i << 8);
    assert_int_equal(plat.psci, PSCI_CONDUIT_NONE);
    assert_no_range(&plat.uart);
    assert_int_equal(plat.uart_irq, 0);
    assert_string_equal(plat.uart_path, "");
    assert_non_null(plat.bootargs);
    assert_string_equal(plat.bootargs, "");
    assert_int_equal(plat.module_count, 1);
    assert_string_equal(plat.modules[0].path, "/chosen/good");
    assert_range(&plat.modules[0].range, 0x1000, 0x2000);
}

/* A /reserved-memory child may list several regions: all are reserved. */
static void test_reserved_memory_multiple_regs(void **state)
{
    (void)state;
    void *fdt = sw_begin(4096);
    struct platform plat;
    u64 reg[6] = { 0x48000000, 0x1000, 0x49000000, 0x2000, 0x4a000000, 0x3000 };

    SW(fdt_finish_reservemap(fdt));
    SW(fdt_begin_node(fdt, ""));
    sw_cells(fdt, 2, 2);
    SW(fdt_begin_node(fdt, "reserved-memory"));
    sw_cells(fdt, 2, 2);
    SW(fdt_property(fdt, "ranges", NULL, 0));
    SW(fdt_begin_node(fdt, "firmware@48000000"));
    sw_reg(fdt, reg, 6, 2, 2);
    SW(fdt_property(fdt, "no-map", NULL, 0));
    SW(fdt_end_node(fdt));
    SW(fdt_end_node(fdt));
    fdt = sw_end(fdt);

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(plat.reserved_count, 3);
    assert_range(&plat.reserved[0], 0x48000000, 0x1000);
    assert_range(&plat.reserved[1], 0x49000000, 0x2000);
    assert_range(&plat.reserved[2], 0x4a000000, 0x3000);
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n <= t && strcmp(tail + t - n, s) == 0;
}

/* Paths longer than the platform's buffers still leave terminated strings. */
static void test_long_paths(void **state)
{
    (void)state;
    /* "/chosen/" + 55 characters + "/" fills a 64-byte buffer exactly */
    const char *vm = "vm-with-a-name-long-enough-to-fill-the-module-path-buf0";
    const char *uart = "serial-with-a-name-long-enough-that-its-path-does-not-fit@1000";
    char full[256];
    void *fdt = sw_begin(4096);
    struct platform plat;
    u64 reg[2] = { 0x1000, 0x1000 };

    assert_int_equal(strlen(vm), 55);
    SW(fdt_finish_reservemap(fdt));
    SW(fdt_begin_node(fdt, ""));
    sw_cells(fdt, 2, 2);
    SW(fdt_begin_node(fdt, "bus"));
    sw_cells(fdt, 2, 2);
    SW(fdt_begin_node(fdt, uart));
    SW(fdt_property_string(fdt, "compatible", "arm,pl011")); /* only a PL011 is a console */
    sw_reg(fdt, reg, 2, 2, 2);
    SW(fdt_end_node(fdt));
    SW(fdt_end_node(fdt));
    SW(fdt_begin_node(fdt, "chosen"));
    snprintf(full, sizeof(full), "/bus/%s:115200", uart);
    SW(fdt_property_string(fdt, "stdout-path", full));
    SW(fdt_begin_node(fdt, vm));
    sw_cells(fdt, 2, 2);
    sw_module(fdt, "kernel", module_compat, sizeof(module_compat), 0x40000000, 0x1000);
    SW(fdt_end_node(fdt));
    SW(fdt_end_node(fdt));
    fdt = sw_end(fdt);

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(plat.module_count, 1);
    assert_range(&plat.modules[0].range, 0x40000000, 0x1000);
    assert_true(terminated(plat.modules[0].path, sizeof(plat.modules[0].path)));
    assert_true(strlen(plat.modules[0].path) > 0);
    snprintf(full, sizeof(full), "/chosen/%s/kernel", vm);
    assert_true(ends_with(plat.modules[0].path, full));

    assert_range(&plat.uart, 0x1000, 0x1000);
    assert_true(terminated(plat.uart_path, sizeof(plat.uart_path)));
    assert_true(strlen(plat.uart_path) > 0);
    snprintf(full, sizeof(full), "/bus/%s", uart);
    assert_true(ends_with(plat.uart_path, full));
}

/* ---- Raspberry Pi 4, bus addresses, enable-methods ---- */

/* A copy of @fdt with room to change properties. */
static void *open_copy(const void *fdt)
{
    int size = (int)fdt_totalsize(fdt) + 1024;
    void *copy = track(malloc((size_t)size));

    assert_non_null(copy);
    SW(fdt_open_into(fdt, copy, size));
    return copy;
}

static void test_rpi4_dts(void **state)
{
    (void)state;
    void *fdt = load_dtb("rpi4.dtb", NULL);
    struct platform plat;

    assert_int_equal(parse(fdt, &plat), 0);
    /* the firmware (or QEMU) fills in the memory node; until then there is none */
    assert_int_equal(plat.mem_count, 0);
    /* the release words 0xd8..0xf0 lie in the /memreserve/d page: nothing added */
    assert_int_equal(plat.reserved_count, 1);
    assert_range(&plat.reserved[0], 0, 0x1000);
    assert_int_equal(plat.cpu_count, 4);
    for (unsigned int i = 0; i < 4; i++) {
        assert_int_equal(plat.cpu_hwid[i], i);
        assert_int_equal(plat.cpu_enable[i], CPU_ENABLE_SPIN_TABLE);
        assert_int_equal(plat.cpu_release_addr[i], 0xd8 + 8 * i);
    }
    assert_string_equal(cpu_enable_method_name(plat.cpu_enable[0]), "spin-table");
    assert_int_equal(plat.psci, PSCI_CONDUIT_NONE);
    /* the GIC-400's frames are VideoCore-side 0x4004x000 under /soc: the CPU's 0xff84x000 */
    assert_int_equal(plat.gic_version, 2);
    assert_range(&plat.gicd, 0xff841000, 0x1000);
    assert_range(&plat.gicc, 0xff842000, 0x2000);
    assert_range(&plat.gich, 0xff844000, 0x2000);
    assert_range(&plat.gicv, 0xff846000, 0x2000);
    assert_int_equal(plat.gic_maint_irq, 25);
    /* serial1 is the mini UART: no console from stdout-path, the board's PL011 instead */
    assert_no_range(&plat.uart);
    assert_string_equal(plat.uart_path, "");
    assert_int_equal(early_uart_for_board(fdt), 0xfe201000);

    /* without the /memreserve/, the release words' page is reserved once */
    fdt = open_copy(fdt);
    SW(fdt_del_mem_rsv(fdt, 0));
    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(plat.reserved_count, 1);
    assert_range(&plat.reserved[0], 0, 0x1000);

    /* serial0, the PL011: its bus address goes through /soc's ranges */
    SW(fdt_setprop_string(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", "serial0:115200n8"));
    assert_int_equal(parse(fdt, &plat), 0);
    assert_range(&plat.uart, 0xfe201000, 0x200);
    assert_string_equal(plat.uart_path, "/soc/serial@7e201000");
    assert_int_equal(plat.uart_irq, 153);
}

/* Bus addresses outside every "ranges" entry cannot be reached: no console. */
static void test_translate_outside_ranges(void **state)
{
    (void)state;
    void *fdt = open_copy(load_dtb("rpi4.dtb", NULL));
    int uart = fdt_path_offset(fdt, "/soc/serial@7e201000");
    u64 addr = 0x7e201000;
    fdt32_t reg[2] = { cpu_to_fdt32(0x10000000), cpu_to_fdt32(0x200) };
    struct platform plat;

    assert_true(dt_translate(fdt, uart, &addr));
    assert_int_equal(addr, 0xfe201000);
    addr = 0x40041000; /* the third range: the GIC */
    assert_true(dt_translate(fdt, uart, &addr));
    assert_int_equal(addr, 0xff841000);
    addr = 0x10000000;
    assert_false(dt_translate(fdt, uart, &addr));

    SW(fdt_setprop(fdt, uart, "reg", reg, sizeof(reg)));
    SW(fdt_setprop_string(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", "serial0"));
    assert_int_equal(parse(fdt, &plat), 0);
    assert_no_range(&plat.uart);
}

/* early_uart_for_board reads an untrusted blob before anything checked it. */
static void test_early_uart_unknown_or_broken(void **state)
{
    (void)state;
    void *fdt = open_copy(load_dtb("rpi4.dtb", NULL));
    u8 *zeros = track(calloc(1, 256));
    static const char truncated[] = "brcm,bcm27";

    assert_int_equal(early_uart_for_board(NULL), 0);
    assert_int_equal(early_uart_for_board(zeros), 0);
    assert_int_equal(early_uart_for_board(load_dtb("platform.dtb", NULL)), 0);
    /* a prefix of a known compatible is not that board */
    SW(fdt_setprop(fdt, 0, "compatible", truncated, sizeof(truncated) - 1));
    assert_int_equal(early_uart_for_board(fdt), 0);
    /* a header whose offsets point past its size */
    fdt_set_totalsize(fdt, 64);
    assert_int_equal(early_uart_for_board(fdt), 0);
}

/* enable-method per CPU: psci, missing (taken as psci), spin-table with a
 * good, a 32-bit or no cpu-release-addr, and one Keel does not know. */
static void test_cpu_enable_methods(void **state)
{
    (void)state;
    void *fdt = sw_begin(4096);
    struct platform plat;
    fdt32_t rel64[2] = { cpu_to_fdt32(0x1), cpu_to_fdt32(0x8000fff8) };

    SW(fdt_finish_reservemap(fdt));
    SW(fdt_begin_node(fdt, ""));
    sw_cells(fdt, 2, 2);
    SW(fdt_begin_node(fdt, "cpus"));
    sw_cells(fdt, 1, 0);
    for (u32 i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "cpu@%x", i);
        SW(fdt_begin_node(fdt, name));
        SW(fdt_property_string(fdt, "device_type", "cpu"));
        SW(fdt_property_cell(fdt, "reg", i));
        if (i == 0)
            SW(fdt_property_string(fdt, "enable-method", "psci"));
        else if (i >= 2 && i <= 4)
            SW(fdt_property_string(fdt, "enable-method", "spin-table"));
        else if (i == 5)
            SW(fdt_property_string(fdt, "enable-method", "brcm,bcm2836-smp"));
        if (i == 2)
            SW(fdt_property(fdt, "cpu-release-addr", rel64, sizeof(rel64)));
        if (i == 3)
            SW(fdt_property_cell(fdt, "cpu-release-addr", 0xd8));
        SW(fdt_end_node(fdt));
    }
    SW(fdt_end_node(fdt));
    fdt = sw_end(fdt);

    assert_int_equal(parse(fdt, &plat), 0);
    assert_int_equal(plat.cpu_count, 6);
    assert_int_equal(plat.cpu_enable[0], CPU_ENABLE_PSCI);
    assert_int_equal(plat.cpu_enable[1], CPU_ENABLE_PSCI);
    assert_int_equal(plat.cpu_enable[2], CPU_ENABLE_SPIN_TABLE);
    assert_int_equal(plat.cpu_release_addr[2], 0x18000fff8);
    /* the binding's value is 64-bit: a single cell is no release address */
    assert_int_equal(plat.cpu_enable[3], CPU_ENABLE_SPIN_TABLE);
    assert_int_equal(plat.cpu_release_addr[3], 0);
    assert_int_equal(plat.cpu_release_addr[4], 0);
    assert_int_equal(plat.cpu_enable[5], CPU_ENABLE_OTHER);
    /* the release word's page is kept from the allocator, once */
    assert_int_equal(plat.reserved_count, 1);
    assert_range(&plat.reserved[0], 0x18000f000, 0x1000);
    assert_string_equal(cpu_enable_method_name(plat.cpu_enable[5]), "unknown");
    for (unsigned int i = 0; i < 6; i++)
        if (i != 2)
            assert_int_equal(plat.cpu_release_addr[i], 0);
}

/* The boot-time index answers as libfdt's own walks, for every node and phandle. */
static void check_index(const char *name)
{
    void *fdt = load_dtb(name, NULL);
    int depth = 0, phandles = 0;

    dt_index_build(fdt);
    for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, &depth)) {
        u32 ph = fdt_get_phandle(fdt, node);
        assert_int_equal(dt_parent(fdt, node), fdt_parent_offset(fdt, node));
        if (ph) {
            assert_int_equal(dt_node_by_phandle(fdt, ph), node);
            phandles++;
        }
    }
    assert_true(phandles > 0);
    assert_int_equal(dt_node_by_phandle(fdt, 0x7fffffff), -FDT_ERR_NOTFOUND);
    assert_int_equal(dt_node_by_phandle(fdt, 0), -FDT_ERR_BADPHANDLE);
    dt_index_drop();
}

static void test_index_matches_libfdt(void **state)
{
    (void)state;
    check_index("virt-gicv3-smp4.dtb");
    check_index("rpi4.dtb");
    check_index("platform.dtb");
}

#define VIRT(i) \
    cmocka_unit_test_prestate_setup_teardown(test_qemu_virt, NULL, free_blobs, \
                                             (void *)&virt_configs[i])
#define T(fn) cmocka_unit_test_teardown(fn, free_blobs)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        VIRT(0), VIRT(1), VIRT(2), VIRT(3), VIRT(4), VIRT(5), VIRT(6),
        T(test_platform_dts),
        T(test_alias_dts),
        T(test_rpi4_dts),
        T(test_translate_outside_ranges),
        T(test_early_uart_unknown_or_broken),
        T(test_cpu_enable_methods),
        T(test_invalid_blob),
        T(test_limits),
        T(test_minimal),
        T(test_odd_nodes),
        T(test_reserved_memory_multiple_regs),
        T(test_long_paths),
        T(test_index_matches_libfdt),
    };
    _Static_assert(sizeof(virt_configs) / sizeof(virt_configs[0]) == 7, "one VIRT() per config");

    if (argc > 1)
        dtb_dir = argv[1];
    return cmocka_run_group_tests_name("dt", tests, NULL, NULL);
}
