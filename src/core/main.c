/*
 * Generic boot: parse Keel's command line, bring up the allocator, print the
 * banner, start the other CPUs, then build the VMs the device tree describes.
 */
#include <keel/arch.h>
#include <keel/console_mux.h>
#include <keel/vcpu_arch.h>
#include <keel/cmdline.h>
#include <keel/cpu.h>
#include <keel/hdisk.h>
#include <keel/init.h>
#include <keel/irqchip.h>
#include <keel/log.h>
#include <keel/panic.h>
#include <keel/platform.h>
#include <keel/buddy.h>
#include <keel/string.h>
#include <keel/version.h>

struct keel_options keel_options;

/* How the other CPUs are started (their DT enable-method), if all alike. */
static const char *secondaries_method(const struct platform *p)
{
    for (unsigned int i = 2; i < p->cpu_count; i++)
        if (strcmp(arch_cpu_start_method(i), arch_cpu_start_method(1)))
            return "mixed enable-methods";
    return arch_cpu_start_method(1);
}

static void print_banner(void)
{
    const struct platform *p = &platform;
    u64 total = 0;

    for (unsigned int i = 0; i < p->mem_count; i++)
        total += p->mem[i].size;
    console_printf("\nKeel %s - type-1 hypervisor for " ARCH_BANNER "\n", KEEL_VERSION);
    console_printf("  CPUs:    %u", p->cpu_count);
    for (unsigned int i = 0; i < p->cpu_count; i++)
        console_printf("%s%#lx", i ? " " : " (" ARCH_CPU_HWID " ", p->cpu_hwid[i]);
    console_printf("%s", p->cpu_count ? ")" : "");
    if (p->cpu_count > 1)
        console_printf(", started by %s", secondaries_method(p));
    console_printf("\n");
    if (p->cpus_ignored)
        console_printf("  warning: %u more CPUs in the DT are not used (limit %u)\n",
                       p->cpus_ignored, PLAT_MAX_CPUS);
    console_printf("  Memory:  %lu MiB in %u bank%s", total >> 20, p->mem_count,
                   p->mem_count == 1 ? "" : "s");
    for (unsigned int i = 0; i < p->mem_count; i++)
        console_printf(" %#lx-%#lx", pa_addr(p->mem[i].base),
                       pa_addr(p->mem[i].base) + p->mem[i].size - 1);
    console_printf(", %lu MiB free for VMs\n", (page_free_count() * PAGE_SIZE) >> 20);
    if (irqchip)
        irqchip->describe();
    else
        console_printf("  IRQs:    no interrupt controller Keel drives was found\n");
    arch_describe_timer();
    console_printf("  UART:    %s at %#lx\n", p->uart_path[0] ? p->uart_path : "(default)",
                   pa_addr(p->uart.base));
    arch_describe_firmware();
    console_printf("  Modules: %u\n", p->module_count);
    for (unsigned int i = 0; i < p->module_count; i++)
        console_printf("    %-8s %#lx-%#lx %s\n", p->modules[i].kind,
                       pa_addr(p->modules[i].range.base),
                       pa_addr(p->modules[i].range.base) + p->modules[i].range.size - 1,
                       p->modules[i].path);
    console_printf("  Command line: %s\n", p->bootargs ? p->bootargs : "");
}

/* Each CPU by its DT enable-method (arch_cpu_start), which says why one could not be. */
static void start_secondaries(void)
{
    unsigned int started = 1;
    u64 timeout;

    arch_prepare_secondaries();
    for (unsigned int i = 1; i < platform.cpu_count; i++)
        started += arch_cpu_start(i) == 0;
    timeout = arch_counter_read() + arch_counter_freq(); /* one second */
    while (cpu_online_count() < started && arch_counter_read() < timeout)
        ;
    if (cpu_online_count() < platform.cpu_count)
        WARN("only %u of %u CPUs came online", cpu_online_count(), platform.cpu_count);
}

unsigned int cpu_online_count(void)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < platform.cpu_count; i++)
        n += cpus[i].online;
    return n;
}

void __noreturn keel_main(const void *fdt, const struct mem_boot_info *info)
{
    struct cpu *self = cpu_this();

    cmdline_parse(platform.bootargs, &keel_options);
    mem_init(info);
    print_banner();
    self->online = true;
    INFO("cpu0 online (" ARCH_CPU_HWID " %#lx)", self->hwid);
    if (irqchip && irqchip->init() == 0 && irqchip->cpu_init() == 0)
        console_mux_init();
    arch_vm_init_stage2_regs();
    start_secondaries();
    INFO("%u CPUs online", cpu_online_count());
    if (keel_options.test[0])
        selftest_run(keel_options.test);
    hdisk_boot(fdt); /* before the VMs: their slices are checked against it */
    vms_boot(fdt);
    keel_idle();
}

void __noreturn keel_secondary_main(void)
{
    struct cpu *self = cpu_this();

    if (irqchip)
        irqchip->cpu_init();
    __atomic_store_n(&self->online, true, __ATOMIC_RELEASE);
    INFO("cpu%u online (" ARCH_CPU_HWID " %#lx)", self->id, self->hwid);
    keel_idle();
}
