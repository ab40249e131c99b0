#include <arch/sysreg.h>
#include <arch/psci_fw.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/platform.h>

struct cpu cpus[PLAT_MAX_CPUS];

_Static_assert(__builtin_offsetof(struct cpu, vcpu) == CPU_VCPU, "asm.h CPU_VCPU");
_Static_assert(__builtin_offsetof(struct cpu, stack_top) == CPU_STACK_TOP, "asm.h CPU_STACK_TOP");

struct cpu *cpu_this(void)
{
    return (struct cpu *)read_sysreg(tpidr_el2);
}

unsigned int arch_cpu_id(void)
{
    struct cpu *c = cpu_this();
    return c ? c->id : 0;
}

u64 arch_counter_read(void)
{
    isb();
    return read_sysreg(cntpct_el0);
}

u64 arch_counter_freq(void)
{
    return read_sysreg(cntfrq_el0);
}

void arch_cpu_idle(void)
{
    dsb(sy);
    wfi();
}

static bool in_ram(u64 addr)
{
    for (unsigned int i = 0; i < platform.mem_count; i++)
        if (addr >= pa_addr(platform.mem[i].base) &&
            addr - pa_addr(platform.mem[i].base) < platform.mem[i].size)
            return true;
    return false;
}

/*
 * booting.rst, "spin-table": the CPU polls a naturally aligned, zeroed
 * 64-bit word with WFE; when it reads non-zero it jumps there. Keel's RAM
 * map covers the word (every RAM bank is mapped); firmware has reserved it.
 */
static int spin_table_release(unsigned int cpu)
{
    extern char spin_table_entry[];
    u64 addr = platform.cpu_release_addr[cpu];

    if (!addr || (addr & 7) || !in_ram(addr)) {
        WARN("cpu%u: spin-table without a usable cpu-release-addr (%#lx): not started", cpu, addr);
        return -1;
    }
    *(volatile u64 *)addr = (u64)spin_table_entry;
    /* The waiting CPU reads with its MMU and caches off; the clean ends with a DSB. */
    arch_clean_dcache_range(addr, sizeof(u64));
    sev();
    return 0;
}

static int psci_start(unsigned int cpu)
{
    extern char secondary_entry[];
    int err;

    /* An HVC from EL2 is taken by EL2, that is by Keel: only SMC reaches firmware. */
    if (platform.psci != PSCI_CONDUIT_SMC) {
        WARN("cpu%u: PSCI conduit is %s, not smc: not started", cpu,
             psci_conduit_name(platform.psci));
        return -1;
    }
    err = psci_fw_cpu_on(platform.cpu_hwid[cpu], (u64)secondary_entry, cpu);
    if (err)
        WARN("cpu%u (MPIDR %#lx): PSCI CPU_ON failed: %d", cpu, platform.cpu_hwid[cpu], err);
    return err;
}

const char *arch_cpu_start_method(unsigned int cpu)
{
    return cpu_enable_method_name(platform.cpu_enable[cpu]);
}

/* Starts CPU @cpu by its DT enable-method; 0 if it was started (it comes online on its own). */
int arch_cpu_start(unsigned int cpu)
{
    switch (platform.cpu_enable[cpu]) {
    case CPU_ENABLE_PSCI:
        return psci_start(cpu);
    case CPU_ENABLE_SPIN_TABLE:
        return spin_table_release(cpu);
    default:
        WARN("cpu%u: unknown enable-method: not started", cpu);
        return -1;
    }
}

void arch_system_off(void)
{
    psci_fw_system_off();
}

/* ID_AA64PFR0_EL1.CSV2 [59:56]: branch targets cannot be steered across contexts. */
bool arch_cpu_spectre_v2_safe(void)
{
    return ((read_sysreg(id_aa64pfr0_el1) >> 56) & 0xf) >= 1;
}

/* CSV2 >= 3 or ID_AA64MMFR1_EL1.ECBHB [63:60]: branch history is not shared either. */
bool arch_cpu_spectre_bhb_safe(void)
{
    return ((read_sysreg(id_aa64pfr0_el1) >> 56) & 0xf) >= 3 ||
           ((read_sysreg(id_aa64mmfr1_el1) >> 60) & 0xf) >= 1;
}

/* ID_AA64PFR1_EL1.SSBS [7:4]: the guest controls speculative store bypass itself. */
bool arch_cpu_ssb_safe(void)
{
    return ((read_sysreg(id_aa64pfr1_el1) >> 4) & 0xf) >= 1;
}

bool arch_vcpu_can_share(void) { return true; }
