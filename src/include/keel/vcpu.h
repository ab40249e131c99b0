/*
 * A virtual CPU. The general registers come first: while the guest runs,
 * SP_EL2 points just past them so the exception entry (vectors.S) saves
 * them in place.
 */
#ifndef KEEL_VCPU_H
#define KEEL_VCPU_H

#include <keel/types.h>
#include <keel/vgic.h>

struct vm;

struct vcpu_regs {
    u64 x[31];
    u64 pad;
};

/* EL1 state Keel switches when a vCPU (re)starts on a physical CPU. */
struct vcpu_el1 {
    u64 sctlr, cpacr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr;
    u64 tpidr_el0, tpidrro_el0, tpidr_el1, sp_el0, sp_el1, elr_el1, spsr_el1;
    u64 esr, far, afsr0, afsr1, par, csselr, cntkctl, mdscr;
    u64 cntv_ctl, cntv_cval;
    u64 cntp_ctl, cntp_cval; /* the EL1 physical timer, emulated (ptimer.c) */
};

#define MPIDR_AFF_BITS 0xff00ffffffUL /* Aff3, Aff2, Aff1, Aff0 */

enum vcpu_power { VCPU_OFF, VCPU_ON_PENDING, VCPU_ON };

enum exit_reason {
    EXIT_HVC, EXIT_SMC, EXIT_DABT, EXIT_SYSREG, EXIT_IRQ, EXIT_WFX, EXIT_OTHER, EXIT_REASONS
};

struct vcpu {
    struct vcpu_regs regs;
    u64 exits[EXIT_REASONS]; /* right after regs: vectors.S counts fast exits */
    struct vm *vm;
    unsigned int id;    /* index in the VM */
    unsigned int pcpu;  /* physical CPU it is pinned to */
    u64 vmpidr;         /* MPIDR the guest reads (VMPIDR_EL2) */
    volatile enum vcpu_power power;
    volatile bool running; /* on its physical CPU, in guest or exit handling */
    u64 entry, context; /* PSCI CPU_ON arguments, consumed at start */
    u64 elr, spsr;
    struct vcpu_el1 el1;
    struct vgic_cpu vgic;
    u64 irqs_injected;
};

static inline struct vcpu *vcpu_of_regs(struct vcpu_regs *regs)
{
    return (struct vcpu *)regs;
}

/* Starts running @vcpu on this physical CPU; returns only if it cannot run. */
void vcpu_run(struct vcpu *vcpu);
/* Guest-visible register access, where register 31 is XZR. */
static inline u64 vcpu_get_reg(struct vcpu *v, unsigned int r) { return r == 31 ? 0 : v->regs.x[r]; }
static inline void vcpu_set_reg(struct vcpu *v, unsigned int r, u64 val) { if (r != 31) v->regs.x[r] = val; }

/* Sends a physical IPI so the vCPU's CPU notices new work (IRQs, CPU_ON). */
void vcpu_kick(struct vcpu *vcpu);
/* The running vCPU leaves its physical CPU, which goes idle. */
void __noreturn vcpu_stop_self(struct vcpu *vcpu);
/* PSCI CPU_OFF. */
void __noreturn vcpu_power_off_self(struct vcpu *vcpu);

#endif
