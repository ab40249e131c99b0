/*
 * The AArch64 part of a vCPU: its general registers and the EL1 state Keel
 * switches, and the exit reasons it counts. Included by keel/vcpu.h.
 */
#ifndef ARCH_VCPU_STATE_H
#define ARCH_VCPU_STATE_H

#include <keel/types.h>

/* While the guest runs, SP_EL2 points just past these: vectors.S saves them in place. */
struct vcpu_regs {
    u64 x[31];
    u64 xzr_sink; /* where an emulated load into XZR (register 31) goes: never read */
};

/* EL1 state Keel switches when a vCPU (re)starts on a physical CPU. */
struct vcpu_el1 {
    u64 sctlr, cpacr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr;
    u64 tpidr_el0, tpidrro_el0, tpidr_el1, sp_el0, sp_el1, elr_el1, spsr_el1;
    u64 esr, far, afsr0, afsr1, par, csselr, cntkctl;
    u64 cntv_ctl, cntv_cval;
    u64 cntp_ctl, cntp_cval; /* the EL1 physical timer, emulated (ptimer.c) */
    /* pointer authentication keys, Lo/Hi pairs: APIA, APIB, APDA, APDB, APGA (where the CPU has them) */
    u64 apkey[10];
};

/*
 * The guest's self-hosted debug registers (debug.c). While its OS lock is
 * clear they live in the CPU, passed through, and this copy is stale; while
 * the lock is set they trap and live here. The lock state itself is always
 * here: the OS and double lock are emulated.
 */
#define DEBUG_MAX_BPS 16 /* breakpoints and watchpoints EL1 can reach with MDCR_EL2.EBWE clear */
struct vcpu_debug {
    u64 dbgbvr[DEBUG_MAX_BPS], dbgbcr[DEBUG_MAX_BPS];
    u64 dbgwvr[DEBUG_MAX_BPS], dbgwcr[DEBUG_MAX_BPS];
    u64 mdscr;
    u8 claim;       /* the DBGCLAIM tags set */
    bool oslk;      /* OSLSR_EL1.OSLK */
    bool dlk;       /* OSDLR_EL1.DLK */
    bool corenpdrq; /* DBGPRCR_EL1.CORENPDRQ */
};

struct vcpu_arch {
    u64 vmpidr;         /* MPIDR the guest reads (VMPIDR_EL2) */
    u64 elr, spsr;
    struct vcpu_el1 el1;
    struct vcpu_debug debug;
};

#define MPIDR_AFF_BITS 0xff00ffffffUL /* Aff3, Aff2, Aff1, Aff0 */

/* vectors.S counts the fast ones by index: EXIT_HVC first (arch/asm.h). */
enum exit_reason {
    EXIT_HVC, EXIT_SMC, EXIT_DABT, EXIT_SYSREG, EXIT_IRQ, EXIT_WFX, EXIT_OTHER, EXIT_REASONS
};
#define EXIT_REASON_NAMES { "hvc", "smc", "mmio", "sysreg", "irq", "wfx", "other" }

/* Guest-visible register access, where register 31 is XZR. */
static inline u64 vcpu_regs_get(const struct vcpu_regs *r, unsigned int n)
{
    return n == 31 ? 0 : r->x[n];
}
static inline void vcpu_regs_set(struct vcpu_regs *r, unsigned int n, u64 val)
{
    if (n != 31)
        r->x[n] = val;
}

#endif
