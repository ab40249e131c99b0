/*
 * C side of boot for aarch64: called from boot.S with the MMU off (boot CPU)
 * or on (secondaries). Brings up translation, the per-CPU pointer, the
 * console and EL2 controls, then hands over to the generic keel_main().
 */
#include <libfdt.h>
#include <arch/mte.h>
#include <arch/asm.h>
#include <arch/mmu.h>
#include <arch/pauth.h>
#include <arch/pmu.h>
#include <arch/psci_fw.h>
#include <arch/sysreg.h>
#include <drivers/pl011.h>
#include <keel/vcpu_arch.h>
#include <keel/arch.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/early_uart.h>
#include <keel/init.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/panic.h>
#include <keel/platform.h>

void mops_init(void);

u8 keel_stacks[PLAT_MAX_CPUS][KEEL_STACK_SIZE] __aligned(16);
/*
 * The MPIDR of each Keel CPU index, for spin_table_entry (boot.S): a CPU
 * released from a spin table is told nothing else. ~0 never matches.
 */
u64 spin_table_mpidr[KEEL_MAX_CPUS];
extern char _start[], _end[];

_Static_assert(KEEL_MAX_CPUS == PLAT_MAX_CPUS, "asm.h KEEL_MAX_CPUS");

struct platform platform;

static void cpu_setup_el2(unsigned int id)
{
    struct cpu *c = &cpus[id];

    c->id = id;
    c->stack_top = (u64)keel_stacks[id] + KEEL_STACK_SIZE;
    write_sysreg(tpidr_el2, c);
    /* No guest yet: EL1 is AArch64, nothing trapped. VM entry sets the rest. */
    write_sysreg(hcr_el2, HCR_EL2_RW);
    /* FP/SIMD not trapped: libfdt uses SIMD registers at EL2. */
    write_sysreg(cptr_el2, CPTR_EL2_RES1);
    write_sysreg(cnthctl_el2, CNTHCTL_EL2_EL1PCTEN | CNTHCTL_EL2_EL1PCEN);
    write_sysreg(cntvoff_el2, 0);
    isb();
    mte_cpu_setup();
    c->hwid = read_sysreg(mpidr_el1) & MPIDR_AFF_MASK;
}

static void map_platform_devices(void)
{
    const struct mem_range *dev[] = { &platform.gicd, &platform.gicr, &platform.gicc,
                                      &platform.gich, &platform.gicv };

    for (unsigned int i = 0; i < ARRAY_SIZE(dev); i++)
        if (dev[i]->size)
            mmu_map_device(pa_addr(dev[i]->base), dev[i]->size);
    for (unsigned int i = 0; i < platform.mem_count; i++)
        mmu_map_ram(pa_addr(platform.mem[i].base), platform.mem[i].size);
    mmu_tlb_flush();
}

/* The PL011 stdout-path names, else the known board's; with neither Keel stays silent. */
static void console_setup(const void *dtb)
{
    u64 base = early_uart_for_board(dtb);

    if (!platform.uart.size && base)
        platform.uart = (struct mem_range){ pa_init(base), PAGE_SIZE };
    if (!platform.uart.size)
        return;
    mmu_map_device(pa_addr(platform.uart.base), platform.uart.size);
    mmu_tlb_flush();
    pl011_init(pa_addr(platform.uart.base));
}

void arch_describe_timer(void)
{
    if (platform.timer_found)
        console_printf("  Timer:   %lu Hz, PPIs: phys %u, virt %u, hyp %u\n", arch_counter_freq(),
                       platform.timer_irq[1], platform.timer_irq[2], platform.timer_irq[3]);
    pmu_describe(); /* the other per-CPU device whose PPI a guest gets */
}

void arch_describe_firmware(void)
{
    console_printf("  PSCI:    %s\n", psci_conduit_name(platform.psci));
}

void __noreturn boot_primary(u64 dtb)
{
    struct mem_boot_info info;
    int dt_err;

    mmu_init(dtb);
    cpu_setup_el2(0);
    mops_init(); /* before the first large memcpy */
    dt_index_build((const void *)dtb); /* the host DT does not change: see dt_index.c */
    dt_err = dt_parse_platform((const void *)dtb, &platform);
    console_setup((const void *)dtb);
    if (dt_err)
        panic("cannot continue without a valid device tree (x0 = %#lx)", dtb);

    map_platform_devices();
    psci_fw_init(platform.psci);
    vtimer_init();
    pmu_init(); /* before any CPU enables its PPIs */
    pauth_init(); /* before the secondaries start and any vCPU with them */

    info.image_start = (u64)_start;
    info.image_end = (u64)_end;
    info.dtb = dtb;
    info.dtb_size = fdt_totalsize((const void *)dtb);
    keel_main((const void *)dtb, &info);
}

void __noreturn boot_secondary(unsigned int id)
{
    cpu_setup_el2(id);
    keel_secondary_main();
}

void arch_prepare_secondaries(void)
{
    for (unsigned int i = 1; i < platform.cpu_count; i++)
        cpus[i].stack_top = (u64)keel_stacks[i] + KEEL_STACK_SIZE;
    /* Index 0 is the boot CPU, running already. */
    for (unsigned int i = 0; i < KEEL_MAX_CPUS; i++)
        spin_table_mpidr[i] = i && i < platform.cpu_count ? platform.cpu_hwid[i] : ~0UL;
    /* Read with the MMU and caches off. */
    arch_clean_dcache_range((u64)spin_table_mpidr, sizeof(spin_table_mpidr));
    mmu_publish_for_secondaries();
}
