/*
 * What a RISC-V hart is to Keel whichever mode Keel runs in (HS under
 * OpenSBI: cpu.c; M as the firmware: riscv64m/cpu.c): tp holds this hart's
 * struct cpu while Keel runs, Keel is untranslated, harts are coherent.
 */
#include <arch/asm.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/panic.h>
#include <keel/sched.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

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

/*
 * A RISC-V hart runs one vCPU: the configuration refuses to share one
 * (arch_vcpu_can_share), so the scheduler never switches here and none of
 * these can be reached. They stop Keel loudly rather than pretend.
 */
void arch_vcpu_put(struct vcpu *v)
{
    panic("vm %s vcpu %u: switched off a RISC-V hart, which Keel does not share", v->vm->cfg.name,
          v->id);
}

void arch_vcpu_load(struct vcpu *v)
{
    panic("vm %s vcpu %u: switched onto a RISC-V hart, which Keel does not share",
          v->vm->cfg.name, v->id);
}

void arch_vcpu_remode(struct vcpu *v, bool full_save)
{
    (void)full_save;
    panic("vm %s vcpu %u: a RISC-V hart changed mode, but Keel does not share one",
          v->vm->cfg.name, v->id);
}

void arch_vcpu_migrate_out(struct vcpu *v)
{
    panic("vm %s vcpu %u: moved off a RISC-V hart, which Keel does not do", v->vm->cfg.name, v->id);
}

void arch_vcpu_migrated(struct vcpu *v)
{
    arch_vcpu_migrate_out(v);
}

bool arch_vcpu_has_work(struct vcpu *v)
{
    (void)v;
    return true;
}

u64 arch_vcpu_vtimer_deadline(const struct vcpu *v)
{
    (void)v;
    return ~0UL;
}

/* Nothing arms a timer queue on RISC-V yet: its timers are the guests' own (Sstc, SBI). */
void arch_timer_program(u64 deadline)
{
    if (deadline != ~0UL)
        panic("a timer queue deadline on RISC-V, which has none");
}

/* No memory tagging on RISC-V: keel,mte is refused at configuration. */
bool arch_mem_tagging_supported(void)
{
    return false;
}

void arch_zero_tags(void *p, u64 size)
{
}
void arch_vm_init_stage2_regs(void)
{
}

/* The guest's hart ids are its vCPU indexes. */
u64 arch_vcpu_dt_id(const struct vcpu *v)
{
    return v->id;
}
