#include <arch/sysreg.h>
#include <arch/psci_fw.h>
#include <keel/arch.h>
#include <keel/cpu.h>

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

int arch_cpu_start(unsigned int cpu)
{
    extern char secondary_entry[];
    return psci_fw_cpu_on(platform.cpu_mpidr[cpu], (u64)secondary_entry, cpu);
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
