/*
 * The device tree a RISC-V guest boots with (core/guest_dt.c, the RISC-V
 * CPU nodes, the vPLIC's node), on the host: what Linux's riscv-intc, PLIC
 * and 8250 drivers look for, and the ISA cut to what Keel allows. The blobs
 * go to the directory given as argv[1] for dtc (riscv_guest_dt.mk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libfdt.h>

#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/vm.h>

/* What setup.c learns from the host DT; QEMU 10's rv64 hart. */
char riscv_isa[1024] = "rv64imafdch_zicbom_zicboz_zicntr_zicsr_zifencei_zihintntl_zihintpause_"
                       "zihpm_zawrs_zfa_zca_zcd_zba_zbb_zbc_zbs_sstc_svadu_svvptc";
char riscv_mmu_type[16] = "riscv,sv57";
u64 riscv_timebase_hz = 10000000;
u32 riscv_cbom_block = 64, riscv_cboz_block = 64;

/* What vplic_ops.c calls that this test does not exercise. */
const struct irqchip_ops *irqchip;
void vm_add_mmio(struct vm *vm, u64 base, u64 size,
                 int (*rd)(struct vcpu *, u64, unsigned int, u64 *),
                 int (*wr)(struct vcpu *, u64, unsigned int, u64)) {}
void arch_vcpu_virq_output(struct vcpu *v, unsigned int irq, bool level) {}
void arch_vcpu_virq_output_clear(struct vcpu *v) {}
void panic(const char *fmt, ...) { abort(); }

extern const struct virqchip_ops vplic_ops;
static u8 dt[16384] __attribute__((aligned(8)));
static const char *out_dir;

static struct guest_dt_params params(unsigned int ncpus, const u64 *ids)
{
    return (struct guest_dt_params){
        .name = "rv", .mem_base = 0x80000000, .mem_size = 512UL << 20, .ncpus = ncpus,
        .cpu_ids = ids, .virq = &vplic_ops, .uart = true, .uart_ns16550a = true,
        .uart_base = 0x10000000, .uart_line = 10, .bootargs = "console=ttyS0",
    };
}

static u32 prop_u32(int node, const char *name)
{
    int len;
    const fdt32_t *p = fdt_getprop(dt, node, name, &len);

    assert_non_null(p);
    assert_int_equal(len, 4);
    return fdt32_to_cpu(*p);
}

static void check_cpus(unsigned int n)
{
    int cpus = fdt_path_offset(dt, "/cpus");
    char path[32];

    assert_true(cpus >= 0);
    assert_int_equal(prop_u32(cpus, "timebase-frequency"), 10000000);
    for (unsigned int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
        int cpu = fdt_path_offset(dt, path), intc;
        assert_true(cpu >= 0);
        assert_int_equal(prop_u32(cpu, "reg"), i);
        const char *isa = fdt_getprop(dt, cpu, "riscv,isa", NULL);
        /* no H, no Svadu, no Zihpm; Zicboz with its block size; Sstc kept */
        assert_string_equal(isa, "rv64imafdc_zicbom_zicboz_zicntr_zicsr_zifencei_zihintntl_"
                                 "zihintpause_zawrs_zfa_zca_zcd_zba_zbb_zbc_zbs_sstc_svvptc");
        assert_int_equal(prop_u32(cpu, "riscv,cboz-block-size"), 64);
        intc = fdt_subnode_offset(dt, cpu, "interrupt-controller");
        assert_true(intc >= 0);
        assert_int_equal(fdt_node_check_compatible(dt, intc, "riscv,cpu-intc"), 0);
        assert_int_equal(prop_u32(intc, "phandle"), GUEST_DT_PHANDLE_HART_INTC(i));
    }
}

/* QEMU's layout: <&intc 11 &intc 9> per hart, so context 2i + 1 is hart i's S-mode. */
static void check_plic(unsigned int n)
{
    int plic = fdt_node_offset_by_compatible(dt, -1, "riscv,plic0"), len;
    const fdt32_t *ie = fdt_getprop(dt, plic, "interrupts-extended", &len);

    assert_true(plic >= 0);
    assert_int_equal(prop_u32(plic, "phandle"), GUEST_DT_PHANDLE_INTC);
    assert_int_equal(prop_u32(plic, "riscv,ndev"), 95);
    assert_non_null(ie);
    assert_int_equal(len, (int)(16 * n));
    for (unsigned int i = 0; i < n; i++) {
        assert_int_equal(fdt32_to_cpu(ie[4 * i]), GUEST_DT_PHANDLE_HART_INTC(i));
        assert_int_equal(fdt32_to_cpu(ie[4 * i + 1]), 11);
        assert_int_equal(fdt32_to_cpu(ie[4 * i + 2]), GUEST_DT_PHANDLE_HART_INTC(i));
        assert_int_equal(fdt32_to_cpu(ie[4 * i + 3]), 9);
    }
}

static void check_uart_and_root(void)
{
    int uart = fdt_path_offset(dt, "/serial@10000000");

    assert_true(uart >= 0);
    assert_int_equal(fdt_node_check_compatible(dt, uart, "ns16550a"), 0);
    assert_int_equal(prop_u32(uart, "interrupts"), 10);
    assert_int_equal(prop_u32(uart, "interrupt-parent"), GUEST_DT_PHANDLE_INTC);
    assert_string_equal(fdt_getprop(dt, fdt_path_offset(dt, "/chosen"), "stdout-path", NULL),
                        "/serial@10000000");
    /* the harts' controllers must be roots for Linux's of_irq_init */
    assert_null(fdt_getprop(dt, 0, "interrupt-parent", NULL));
}

static void build_and_check(unsigned int n)
{
    static const u64 ids[4] = { 0, 1, 2, 3 };
    struct guest_dt_params p = params(n, ids);
    char path[256];
    FILE *f;

    assert_int_equal(guest_dt_build(dt, sizeof(dt), &p), 0);
    check_cpus(n);
    check_plic(n);
    check_uart_and_root();
    snprintf(path, sizeof(path), "%s/guest-%ucpu.dtb", out_dir, n);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(dt, 1, fdt_totalsize(dt), f), fdt_totalsize(dt));
    fclose(f);
}

static void test_one_hart(void **state) { build_and_check(1); }
static void test_four_harts(void **state) { build_and_check(4); }

/* Hart ids are the vCPU indexes: anything else cannot be described. */
static void test_refuses_other_hart_ids(void **state)
{
    static const u64 ids[2] = { 0, 5 };
    struct guest_dt_params p = params(2, ids);

    assert_int_equal(guest_dt_build(dt, sizeof(dt), &p), -FDT_ERR_BADVALUE);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_hart),
        cmocka_unit_test(test_four_harts),
        cmocka_unit_test(test_refuses_other_hart_ids),
    };

    out_dir = argc > 1 ? argv[1] : ".";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
