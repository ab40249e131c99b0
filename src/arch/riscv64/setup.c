/*
 * C side of boot for RISC-V: called from boot.S in HS-mode, untranslated.
 * Checks the hart has the H extension, puts the boot hart first in Keel's
 * CPU list, brings up the console and the hypervisor CSRs, then hands over
 * to the generic keel_main().
 */
#include <libfdt.h>
#include <arch/asm.h>
#include <arch/csr.h>
#include <arch/sbi.h>
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
bool riscv_has_sstc;
/* The boot hart's "riscv,isa" and "mmu-type": what guests' CPU nodes are built from. */
char riscv_isa[1024];
char riscv_mmu_type[16];
/* Zicbom/Zicboz block sizes (riscv/cpus.yaml), 0 without the extension. */
u32 riscv_cbom_block, riscv_cboz_block;

void __noreturn boot_primary(u64 hartid, u64 dtb);
void __noreturn boot_secondary(unsigned int id);

_Static_assert(KEEL_MAX_CPUS == PLAT_MAX_CPUS, "asm.h KEEL_MAX_CPUS");

struct platform platform;

/*
 * VS-mode's own traps go straight to the guest; interrupts for it are
 * delegated, Keel injects them through hvip (privileged spec 8.2.2).
 */
#define HEDELEG_GUEST (BIT(EXC_INST_MISALIGNED) | BIT(EXC_ILLEGAL_INST) | BIT(EXC_BREAKPOINT) | \
                       BIT(EXC_LOAD_MISALIGNED) | BIT(EXC_STORE_MISALIGNED) |                   \
                       BIT(EXC_ECALL_U) | BIT(EXC_INST_PAGE_FAULT) |                            \
                       BIT(EXC_LOAD_PAGE_FAULT) | BIT(EXC_STORE_PAGE_FAULT))
#define HIDELEG_GUEST (HVIP_VSSIP | HVIP_VSTIP | HVIP_VSEIP)

static void cpu_setup_hs(unsigned int id, u64 hartid)
{
    struct cpu *c = &cpus[id];

    c->id = id;
    c->hwid = hartid;
    c->stack_top = (u64)keel_stacks[id] + KEEL_STACK_SIZE;
    asm volatile("mv tp, %0" :: "r"(c));
    csr_write(CSR_HEDELEG, HEDELEG_GUEST);
    csr_write(CSR_HIDELEG, HIDELEG_GUEST);
    csr_write(CSR_HCOUNTEREN, HCOUNTEREN_CY | HCOUNTEREN_TM | HCOUNTEREN_IR);
    csr_write(CSR_HENVCFG, (riscv_has_sstc ? HENVCFG_STCE : 0) |
                           (riscv_cboz_block ? HENVCFG_CBZE : 0) |
                           (riscv_cbom_block ? HENVCFG_CBCFE | HENVCFG_CBIE_FLUSH : 0));
    csr_write(CSR_HVIP, 0);
    csr_write(CSR_HGATP, 0);
    /* Guests' floating point needs sstatus.FS on as well as their own vsstatus.FS. */
    csr_set(CSR_SSTATUS, SSTATUS_FS_INITIAL);
    /* Without Sstc the guests' timer is Keel's: its interrupt stands for theirs (sbi.c). */
    csr_write(CSR_SIE, SIP_SSIP | SIP_SEIP | (riscv_has_sstc ? 0 : SIP_STIP));
}

/* "rv64imafdch_zicsr_..._sstc": single letters after "rv64", then '_'-separated names. */
static bool isa_has(const char *isa, const char *ext)
{
    size_t n = strlen(ext);

    if (strncmp(isa, "rv64", 4))
        return false;
    if (n == 1) {
        for (const char *p = isa + 4; *p && *p != '_'; p++)
            if (*p == ext[0])
                return true;
        return false;
    }
    for (const char *p = strchr(isa, '_'); p; p = strchr(p + 1, '_'))
        if (!strncmp(p + 1, ext, n) && (p[1 + n] == '_' || !p[1 + n]))
            return true;
    return false;
}

static u32 dt_u32(const void *fdt, int node, const char *name)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

    return p && len == 4 ? fdt32_to_cpu(*p) : 0;
}

/* The boot hart's cpu node: its ISA, MMU, cache-block sizes and the timebase of /cpus. */
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
        riscv_cbom_block = dt_u32(fdt, node, "riscv,cbom-block-size");
        riscv_cboz_block = dt_u32(fdt, node, "riscv,cboz-block-size");
    }
    riscv_has_sstc = isa_has(riscv_isa, "sstc");
    if (!isa_has(riscv_isa, "zicbom"))
        riscv_cbom_block = 0;
    if (!isa_has(riscv_isa, "zicboz"))
        riscv_cboz_block = 0;
}

/* OpenSBI boots whichever hart wins its lottery: make it Keel's CPU 0. */
static void boot_hart_first(u64 hartid)
{
    for (unsigned int i = 1; i < platform.cpu_count; i++) {
        if (platform.cpu_hwid[i] == hartid) {
            platform.cpu_hwid[i] = platform.cpu_hwid[0];
            platform.cpu_hwid[0] = hartid;
        }
    }
}

static void console_setup(void)
{
    if (platform.uart.size && platform.uart_ns16550)
        ns16550_init(pa_addr(platform.uart.base), platform.uart_reg_shift);
}

void arch_describe_timer(void)
{
    console_printf("  Timer:   %lu Hz (time CSR), guests' timer: %s\n", riscv_timebase_hz,
                   riscv_has_sstc ? "Sstc (vstimecmp)" : "SBI set_timer");
}

void arch_describe_firmware(void)
{
    struct sbiret v = sbi_ecall(SBI_EXT_BASE, SBI_EXT_BASE_GET_SPEC_VERSION, 0, 0, 0, 0);
    struct sbiret id = sbi_ecall(SBI_EXT_BASE, SBI_EXT_BASE_GET_IMP_ID, 0, 0, 0, 0);

    console_printf("  SBI:     v%lu.%lu, implementation %ld\n", (v.value >> 24) & 0x7f,
                   v.value & 0xffffff, id.value);
    /* The base letters only: the full string runs to hundreds of characters. */
    const char *ext = strchr(riscv_isa, '_');
    console_printf("  ISA:     %.*s%s\n", ext ? (int)(ext - riscv_isa) : (int)strlen(riscv_isa),
                   riscv_isa, ext ? " + multi-letter extensions" : "");
}

void __noreturn boot_primary(u64 hartid, u64 dtb)
{
    struct mem_boot_info info;
    int dt_err;

    asm volatile("mv tp, zero");
    dt_index_build((const void *)dtb); /* the host DT does not change: see dt_index.c */
    dt_err = dt_parse_platform((const void *)dtb, &platform);
    if (!dt_err) {
        boot_hart_first(hartid);
        parse_cpu((const void *)dtb, hartid);
    }
    cpu_setup_hs(0, hartid);
    console_setup();
    if (dt_err)
        panic("cannot continue without a valid device tree (a1 = %#lx)", dtb);
    if (!isa_has(riscv_isa, "h"))
        panic("hart %#lx has no H extension (riscv,isa \"%s\"): Keel needs HS-mode", hartid,
              riscv_isa);
    if (!riscv_timebase_hz)
        panic("no /cpus timebase-frequency in the device tree");
    info.image_start = (u64)_start;
    info.image_end = (u64)_end;
    info.dtb = dtb;
    info.dtb_size = fdt_totalsize((const void *)dtb);
    keel_main((const void *)dtb, &info);
}

void __noreturn boot_secondary(unsigned int id)
{
    cpu_setup_hs(id, platform.cpu_hwid[id]);
    keel_secondary_main();
}

void arch_prepare_secondaries(void)
{
}
