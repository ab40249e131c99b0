/*
 * Per physical CPU state. TPIDR_EL2 (tp on RISC-V) points at this CPU's
 * struct cpu, so the exception entry finds the stack and running vCPU in one
 * load.
 */
#ifndef KEEL_CPU_H
#define KEEL_CPU_H

#include <keel/platform.h>
#include <keel/types.h>

struct vcpu;

struct cpu {
    struct vcpu *vcpu;  /* running vCPU; offset CPU_VCPU (arch/asm.h) */
    u64 stack_top;      /* offset CPU_STACK_TOP */
    u64 scratch;        /* offset CPU_SCRATCH (RISC-V): the trap entry's spill slot */
    unsigned int id;
    u64 hwid;           /* MPIDR (affinity fields) or hart id */
    volatile bool online;
    struct vcpu *assigned; /* the vCPU pinned to this CPU, if any */
};

extern struct cpu cpus[PLAT_MAX_CPUS];

struct cpu *cpu_this(void);
unsigned int cpu_online_count(void);

#endif
