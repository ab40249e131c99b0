/*
 * The M-mode port's part of a vCPU: its general registers, the virtual hart
 * it believes it is (vhart.h), the shadow page tables it runs on
 * (shadow.h), and the exit reasons it counts. Included by keel/vcpu.h.
 */
#ifndef ARCH_VCPU_STATE_H
#define ARCH_VCPU_STATE_H

#include <keel/types.h>
#include <arch/pmp.h>
#include <arch/shadow.h>
#include <arch/vhart.h>

/* x0..x31; x[0] is never read (x0 is zero) and trap.S saves x1..x31 in place. */
struct vcpu_regs {
    u64 x[32];
};

struct vcpu_arch {
    struct vhart h;
    /* the shadows it runs on, one per guest satp and view (exit.c: satp_pick) */
    struct shadow_cache sc;
    struct shadow_pool pool; /* their tables' pages, one block (exit.c) */
    u64 reclaims;       /* times the pool ran out and every shadow was emptied */
    bool reclaimed;     /* emptied for room, and no leaf filled since */
    struct pmp_set *pmp; /* Keel's PMP on its hart while it runs (hartpmp.c; first build on) */
    u64 fgen_flushed;   /* the VM's track_done it has dropped writable leaves for (exit.c) */
    u64 fgen_own;       /* track_done after its own last tracking, if no other came between */
    u64 satp;           /* the real satp while the guest runs (exit.c: satp_pick) */
    u64 mtimecmp;       /* the emulated CLINT's compare for this vhart (atomic) */
    u64 lines;          /* MIP_MSIP, MEIP, SEIP as the vCLINT and vPLIC drive them (atomic) */
    bool suspended;     /* in wfi, for the shell */
    u64 fills, flushes; /* shadow leaves installed, shadows emptied */
};

enum exit_reason {
    EXIT_INSN, EXIT_FILL, EXIT_PTW, EXIT_MMIO, EXIT_MPRV, EXIT_TRAP, EXIT_IRQ, EXIT_OTHER,
    EXIT_REASONS
};
/*
 * ptw: a store to the guest's own page tables, emulated (exit.c: pt_store);
 * mprv: a load or store of the guest's M-mode translated by mstatus.MPRV,
 * emulated (exit.c: mprv_access)
 */
#define EXIT_REASON_NAMES { "insn", "fill", "ptw", "mmio", "mprv", "trap", "irq", "other" }

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
