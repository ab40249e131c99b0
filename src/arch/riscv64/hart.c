/*
 * What a RISC-V hart is to Keel whichever mode Keel runs in (HS under
 * OpenSBI: cpu.c; M as the firmware: riscv64m/cpu.c): tp holds this hart's
 * struct cpu while Keel runs, Keel is untranslated, harts are coherent.
 */
#include <arch/asm.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/vcpu_arch.h>

struct cpu cpus[PLAT_MAX_CPUS];
u64 riscv_timebase_hz; /* /cpus timebase-frequency (setup.c) */

_Static_assert(__builtin_offsetof(struct cpu, vcpu) == CPU_VCPU, "asm.h CPU_VCPU");
_Static_assert(__builtin_offsetof(struct cpu, stack_top) == CPU_STACK_TOP, "asm.h CPU_STACK_TOP");
_Static_assert(__builtin_offsetof(struct cpu, scratch) == CPU_SCRATCH, "asm.h CPU_SCRATCH");

struct cpu *cpu_this(void)
{
    struct cpu *c;

    asm("mv %0, tp" : "=r"(c));
    return c;
}

unsigned int arch_cpu_id(void)
{
    struct cpu *c = cpu_this();
    return c ? c->id : 0;
}

u64 arch_counter_freq(void)
{
    return riscv_timebase_hz;
}

/* Interrupts stay globally disabled in Keel's mode: WFI wakes on any pending one it enables. */
void arch_cpu_idle(void)
{
    asm volatile("wfi" ::: "memory");
}

/* Keel runs untranslated: devices are reachable as they are. */
int arch_map_device(u64 base, u64 size)
{
    return 0;
}

/* Harts are coherent with memory and with each other's data caches. */
void arch_clean_dcache_range(u64 start, u64 size)
{
}

void arch_clean_inval_dcache_range(u64 start, u64 size)
{
}

/* Neither RISC-V port switches vCPUs on a hart yet (docs/scheduling.md). */
bool arch_vcpu_can_share(void) { return false; }
