/*
 * The RISC-V part of a vCPU: its general registers and the VS-level state
 * Keel keeps for it, and the exit reasons it counts. Included by keel/vcpu.h.
 */
#ifndef ARCH_VCPU_STATE_H
#define ARCH_VCPU_STATE_H

#include <keel/types.h>

/* x0..x31; x[0] is never read (x0 is zero) and trap.S saves x1..x31 in place. */
struct vcpu_regs {
    u64 x[32];
};

struct vcpu_arch {
    u64 sepc;           /* where the guest resumes */
    bool spp;           /* it resumes in VS-mode (true) or VU-mode */
    u32 hvip_pending;   /* hvip bits other harts ask for (atomic OR; VSSIP) */
    bool seip;          /* the vPLIC's S-context output: hvip.VSEIP at next entry */
    bool suspended;     /* in SBI HSM suspend (exit.c), for other harts' hart_get_status */
    u64 fence_req;      /* remote fences asked of this vCPU (sbi.c), atomic */
    u64 fence_done;     /* ... and carried out */
    u64 vstimecmp;      /* the timer deadline (Sstc), kept across a reset */
};

/* trap.S counts nothing by itself: exit.c does. */
enum exit_reason {
    EXIT_SBI, EXIT_MMIO, EXIT_VINSN, EXIT_IRQ, EXIT_OTHER, EXIT_REASONS
};
#define EXIT_REASON_NAMES { "sbi", "mmio", "vinsn", "irq", "other" }

static inline u64 vcpu_regs_get(const struct vcpu_regs *r, unsigned int n)
{
    return n ? r->x[n] : 0;
}
static inline void vcpu_regs_set(struct vcpu_regs *r, unsigned int n, u64 val)
{
    if (n)
        r->x[n] = val;
}

#endif
