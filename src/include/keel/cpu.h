/*
 * Per physical CPU state. TPIDR_EL2 (tp on RISC-V) points at this CPU's
 * struct cpu, so the exception entry finds the stack and running vCPU in one
 * load.
 */
#ifndef KEEL_CPU_H
#define KEEL_CPU_H

#include <keel/platform.h>
#include <keel/spinlock.h>
#include <keel/timerq.h>
#include <keel/types.h>

struct vcpu;

#define SCHED_MAX_HOMED 16 /* vCPUs one CPU can be home to */

struct cpu {
    struct vcpu *vcpu;  /* running vCPU; offset CPU_VCPU (arch/asm.h) */
    u64 stack_top;      /* offset CPU_STACK_TOP */
    u64 scratch;        /* offset CPU_SCRATCH (RISC-V): the trap entry's spill slot */
    unsigned int id;
    u64 hwid;           /* MPIDR (affinity fields) or hart id */
    volatile bool online;
    /*
     * The vCPUs this CPU is home to (core/sched.c). One: exclusive, run as
     * if pinned (no WFI trap, no slice). Several: shared, scheduled.
     * sched_lock guards homed/nr_homed (boot adds, the shell reads) and
     * the homed vCPUs' sched.prio; lock order: before the console lock.
     * The rest is this CPU's own, touched with interrupts masked.
     */
    spinlock_t sched_lock;
    struct vcpu *homed[SCHED_MAX_HOMED];
    unsigned int nr_homed;
    bool shared;
    struct timerq timers;
    struct timer_event slice_end; /* the running vCPU's time slice, when others wait */
    u64 switches, idle_entries;
    bool move_asked;    /* a homed vCPU's move_to was set (shell `affinity`) */
};

extern struct cpu cpus[PLAT_MAX_CPUS];

struct cpu *cpu_this(void);
unsigned int cpu_online_count(void);

#endif
