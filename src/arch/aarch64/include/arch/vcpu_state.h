/*
 * The AArch64 part of a vCPU: its general registers and the EL1 state Keel
 * switches, and the exit reasons it counts. Included by keel/vcpu.h.
 */
#ifndef ARCH_VCPU_STATE_H
#define ARCH_VCPU_STATE_H

#include <keel/timerq.h>
#include <keel/types.h>
#include <arch/asm.h>

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
    u64 mdccint;    /* MDCCINT_EL1: the guest's where the DCC passes through (no FEAT_FGT) */
    bool hw;        /* the registers above live in the CPU (unlocked, loaded): debug.c */
};

/*
 * The FP/SIMD registers (fpsimd.S): V0-V31 as Q registers, each the low
 * doubleword first as STR Qn stores it, then FPSR and FPCR. 16-byte aligned
 * for STP/LDP of Q pairs; the offsets are fpsimd.S's (arch/asm.h).
 */
struct vcpu_fp {
    u64 q[32][2];
    u64 fpsr, fpcr;
} __attribute__((aligned(16)));
_Static_assert(__builtin_offsetof(struct vcpu_fp, fpsr) == VCPU_FP_FPSR, "asm.h VCPU_FP_FPSR");
_Static_assert(__builtin_offsetof(struct vcpu_fp, fpcr) == VCPU_FP_FPCR, "asm.h VCPU_FP_FPCR");

/* A tagged VM's tag-check registers (mte.c): GCR_EL1, RGSR_EL1, TFSR_EL1, TFSRE0_EL1. */
struct vcpu_mte {
    u64 gcr, rgsr, tfsr, tfsre0;
};

/*
 * The guest's PMU while its vCPU is off its core (pmu.c). The set and clear
 * register pairs are one state each, kept as the SET view; pmcr holds the
 * guest's view of PMCR_EL0 (its own DP) and only its read/write fields.
 */
#define PMU_MAX_EVCNT 31 /* PMCR_EL0.N is at most 31 */
struct vcpu_pmu {
    u64 pmcr, pmselr, pmcntenset, pmintenset, pmovsset, pmuserenr;
    u64 pmccntr, pmccfiltr;
    u64 pmevcntr[PMU_MAX_EVCNT], pmevtyper[PMU_MAX_EVCNT];
    bool hw;        /* the registers above live in the CPU (pmu_vcpu_switch_in) */
};

struct vcpu_arch {
    u64 vmpidr;         /* MPIDR the guest reads (VMPIDR_EL2) */
    u64 elr, spsr;
    struct vcpu_el1 el1;
    struct vcpu_debug debug;
    /* Switched only when vCPUs share a core (the scheduler): fpsimd.S, mte.c, pmu.c. */
    struct vcpu_fp fp;
    struct vcpu_mte mte;
    struct vcpu_pmu pmu;
    /*
     * Keeps struct vcpu's vgic at a multiple of 64 bytes, where it was: an
     * offset off 32 cost GICv2's self-SGI an instruction (design notes,
     * "Guest PMU"; asserted in pmu.c).
     */
    struct timer_event ptimer_ev; /* the emulated EL1 physical timer's deadline (ptimer.c) */
    u64 cnthctl;        /* CNTHCTL_EL2 while off its CPU: the ECV trap may be armed (vtimer.c) */
    u32 ppi_active;     /* forwarded PPIs active while off its CPU (vgic_lr.c) */
    u64 pad[3];
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
