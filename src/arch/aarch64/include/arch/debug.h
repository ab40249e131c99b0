/* Self-hosted debug for guests: breakpoints, watchpoints, software step (debug.c). */
#ifndef ARCH_DEBUG_H
#define ARCH_DEBUG_H

#include <keel/types.h>

struct vcpu;

/* Power-on state: everything disabled, MDSCR_EL1 0, the OS lock set. */
void debug_vcpu_reset(struct vcpu *v);
/* The MDCR_EL2 debug trap bits this vCPU runs with (TDA while its OS lock is set). */
u64 debug_mdcr_traps(const struct vcpu *v);
/*
 * At EL2 on @v's core, @v not running: puts @v's debug registers into this
 * CPU (at every start, and when it is switched in), or takes them back
 * into @v (the CPU is then free for another vCPU). A pair for switching:
 * load(save(x)) gives the CPU what x's guest had. MDCR_EL2 is not theirs:
 * write it from debug_mdcr_traps() for the vCPU loaded.
 */
void debug_vcpu_load(struct vcpu *v);
void debug_vcpu_save(struct vcpu *v);
/* A switch onto a shared CPU: before MDCR_EL2 is computed (it may trap the registers). */
void debug_vcpu_switch_in(struct vcpu *v);
/* A trapped access to the debug register space (op0 2): 0, or -1 for UNDEFINED. */
int debug_sysreg_access(struct vcpu *v, u32 op1, u32 crn, u32 crm, u32 op2, bool read, u64 *val);

#endif
