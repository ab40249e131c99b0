/*
 * C side of boot for Keel as M-mode firmware: called from boot.S on the
 * hart that won the lottery, untranslated. Finds the CLINT and the boot
 * hart's ISA in the DT QEMU passed, brings up the console, then hands over
 * to the generic keel_main(). No H extension is needed (or used).
 */
#include <libfdt.h>
#include <arch/asm.h>
#include <arch/csr.h>
#include <arch/io.h>
#include <arch/mmode.h>
#include <arch/physmap.h>
#include <drivers/ns16550.h>
#include <keel/arch.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/init.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/panic.h>
#include <keel/platform.h>
#include <keel/string.h>

u8 keel_stacks[PLAT_MAX_CPUS][KEEL_STACK_SIZE] __aligned(16);
extern char _start[], _end[];
extern u64 riscv_timebase_hz;
/* The boot hart's "riscv,isa" and "mmu-type": what guests' CPU nodes are built from. */
char riscv_isa[1024];
char riscv_mmu_type[16];
/* No cache-block operations for guests: U-mode would need menvcfg/senvcfg emulated for them. */
u32 riscv_cbom_block, riscv_cboz_block;
u64 rvm_clint;       /* the CLINT's base */
u64 rvm_poweroff[3]; /* syscon-poweroff: register address, value, 0 if none */

void __noreturn boot_primary(u64 hartid, u64 dtb);
void __noreturn boot_secondary(unsigned int id);
void rvm_probe_time_csr(void);

_Static_assert(KEEL_MAX_CPUS == PLAT_MAX_CPUS, "asm.h KEEL_MAX_CPUS");

struct platform platform;

/*
 * Every trap comes to Keel (nothing delegated: S-mode is never used on the
 * real hart); its own interrupts are the CLINT's timer and software ones
 * and the PLIC's M context. FS on: guests' FP registers stay live in the
 * hardware while Keel (soft-float) runs.
 */
static void cpu_setup_m(unsigned int id, u64 hartid)
{
    struct cpu *c = &cpus[id];

    c->id = id;
    c->hwid = hartid;
    c->stack_top = (u64)keel_stacks[id] + KEEL_STACK_SIZE;
    asm volatile("mv tp, %0" :: "r"(c));
    csr_write(CSR_MEDELEG, 0);
    csr_write(CSR_MIDELEG, 0);
    csr_write(CSR_MCOUNTEREN, 0);
    csr_write(CSR_SATP, 0);
    csr_set(CSR_MSTATUS, MSTATUS_FS);
    if (!id)
        rvm_pmp_probe();
    rvm_pmp_load(NULL); /* U and S reach nothing until a vCPU is placed (hartpmp.c) */
    if (rvm_clint)
        io_write32(rvm_clint + CLINT_MSIP(hartid), 0); /* the release's wake-up */
    csr_write(CSR_MIE, MIE_MSIE | MIE_MTIE | MIE_MEIE);
}

static void parse_cpu(const void *fdt, u64 hartid)
{
    int cpus = fdt_path_offset(fdt, "/cpus"), node, len;
    const fdt32_t *tb = cpus >= 0 ? fdt_getprop(fdt, cpus, "timebase-frequency", &len) : NULL;

    riscv_timebase_hz = tb && len == 4 ? fdt32_to_cpu(*tb) : 0;
    fdt_for_each_subnode(node, fdt, cpus) {
        u64 reg, size;
        const char *isa = fdt_getprop(fdt, node, "riscv,isa", NULL);
        const char *mmu = fdt_getprop(fdt, node, "mmu-type", NULL);
        if (!dt_read_reg(fdt, node, 0, &reg, &size) || reg != hartid)
            continue;
        str_copy(riscv_isa, isa ? isa : "", sizeof(riscv_isa));
        str_copy(riscv_mmu_type, mmu ? mmu : "riscv,sv39", sizeof(riscv_mmu_type));
    }
}

/*
 * Extensions of the hart a guest in U-mode cannot use as the ISA string
 * promises: Sstc's stimecmp is an S-mode CSR Keel does not emulate, and the
 * cache-block operations need menvcfg/senvcfg enables it does not give. They
 * go from the string the guests' CPU nodes are built from.
 */
static bool isa_dropped(const char *name, size_t len)
{
    static const char *const drop[] = { "sstc", "zicbom", "zicboz" };

    for (unsigned int i = 0; i < ARRAY_SIZE(drop); i++)
        if (strlen(drop[i]) == len && !strncmp(drop[i], name, len))
            return true;
    return false;
}

/* "rv64imafdc_zicsr_sstc_...": the multi-letter names after each '_', compacted in place. */
static void isa_drop_unvirtualized(void)
{
    char *out = strchr(riscv_isa, '_');

    for (const char *p = out; p && *p;) {
        const char *end = strchr(p + 1, '_');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (!isa_dropped(p + 1, len - 1)) {
            memmove(out, p, len);
            out += len;
        }
        p = end;
    }
    if (out)
        *out = '\0';
}

static void parse_clint(const void *fdt)
{
    static const char *const compat[] = { "riscv,clint0", "sifive,clint0" };
    u64 base, size;
    int node = -1;

    for (unsigned int i = 0; i < ARRAY_SIZE(compat) && node < 0; i++)
        node = fdt_node_offset_by_compatible(fdt, -1, compat[i]);
    if (node >= 0 && dt_read_reg(fdt, node, 0, &base, &size) && size >= CLINT_SIZE)
        rvm_clint = base;
}

/* QEMU virt's /poweroff: a syscon-poweroff naming the test device by phandle. */
static void parse_poweroff(const void *fdt)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "syscon-poweroff"), len;
    const fdt32_t *map = node >= 0 ? fdt_getprop(fdt, node, "regmap", &len) : NULL;
    const fdt32_t *off = node >= 0 ? fdt_getprop(fdt, node, "offset", NULL) : NULL;
    const fdt32_t *val = node >= 0 ? fdt_getprop(fdt, node, "value", NULL) : NULL;
    int dev = map && len == 4 ? dt_node_by_phandle(fdt, fdt32_to_cpu(*map)) : -1;
    u64 base, size;

    if (dev >= 0 && off && val && dt_read_reg(fdt, dev, 0, &base, &size)) {
        rvm_poweroff[0] = base + fdt32_to_cpu(*off);
        rvm_poweroff[1] = fdt32_to_cpu(*val);
    }
}

/* Whichever hart won the lottery is Keel's CPU 0. */
static void boot_hart_first(u64 hartid)
{
    for (unsigned int i = 1; i < platform.cpu_count; i++) {
        if (platform.cpu_hwid[i] == hartid) {
            platform.cpu_hwid[i] = platform.cpu_hwid[0];
            platform.cpu_hwid[0] = hartid;
        }
    }
}

void arch_describe_timer(void)
{
    console_printf("  Timer:   %lu Hz (CLINT mtime at %#lx), guests' timer: emulated CLINT\n",
                   riscv_timebase_hz, rvm_clint);
}

void arch_describe_firmware(void)
{
    const char *ext = strchr(riscv_isa, '_');

    console_printf("  Firmware: none below Keel (M-mode); guests run in U-mode, trap-and-emulate\n");
    console_printf("  ISA:     %.*s%s\n", ext ? (int)(ext - riscv_isa) : (int)strlen(riscv_isa),
                   riscv_isa, ext ? " + multi-letter extensions" : "");
    if (rvm_pmp_entries)
        console_printf("  PMP:     %u entries a hart (granularity %lu bytes), set for the vCPU "
                       "it runs\n", rvm_pmp_entries, 4UL << rvm_pmp_grain);
    else
        console_printf("  PMP:     none: guests are confined by their shadow tables alone\n");
}

void __noreturn boot_primary(u64 hartid, u64 dtb)
{
    const void *fdt = (const void *)dtb;
    struct mem_boot_info info;
    int dt_err;

    asm volatile("mv tp, zero");
    dt_index_build(fdt);
    dt_err = dt_parse_platform(fdt, &platform);
    if (!dt_err) {
        boot_hart_first(hartid);
        parse_cpu(fdt, hartid);
        isa_drop_unvirtualized();
        parse_clint(fdt);
        parse_poweroff(fdt);
    }
    cpu_setup_m(0, hartid);
    if (platform.uart.size && platform.uart_ns16550)
        ns16550_init(pa_addr(platform.uart.base), platform.uart_reg_shift);
    if (dt_err)
        panic("cannot continue without a valid device tree (a1 = %#lx)", dtb);
    if (!rvm_clint)
        panic("no CLINT (riscv,clint0) in the device tree: Keel needs its timer and IPIs");
    if (!riscv_timebase_hz)
        panic("no /cpus timebase-frequency in the device tree");
    rvm_probe_time_csr();
    info.image_start = (u64)_start;
    info.image_end = (u64)_end;
    info.dtb = dtb;
    info.dtb_size = fdt_totalsize(fdt);
    keel_main(fdt, &info);
}

void __noreturn boot_secondary(unsigned int id)
{
    cpu_setup_m(id, platform.cpu_hwid[id]);
    keel_secondary_main();
}

void arch_prepare_secondaries(void)
{
}
