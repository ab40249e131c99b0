/*
 * A virtual RISC-V hart with M, S and U modes, for Keel in M-mode on a hart
 * without the H extension (trap-and-emulate). The guest always runs in the
 * real hart's U-mode; this is the state it believes it has: its privilege,
 * its machine and supervisor CSRs, its interrupt lines. Every privileged
 * instruction and CSR access traps to Keel (illegal instruction) and comes
 * here. Pure logic: no real CSR is touched, so it builds and is unit-tested
 * on the host (tests/unit/vhart).
 *
 * Spec: RISC-V privileged architecture 1.12 (20211203), chapters 3 (machine),
 * 4 (supervisor), 3.7 (PMP); WARL behaviour as described there for RV64 with
 * S and U modes, no H, no N.
 */
#ifndef ARCH_VHART_H
#define ARCH_VHART_H

#include <keel/types.h>
#include <arch/mcsr.h>

enum vpriv { VPRIV_U = 0, VPRIV_S = 1, VPRIV_M = 3 };

#define VHART_NR_PMP 16

/*
 * mcycle or minstret as the guest sees it (3.1.10): the real hart's counter
 * plus @delta while it counts, @frozen while mcountinhibit stops it
 * (3.1.12). Both 0 at reset: the real counter's value, read natively.
 */
struct vcounter {
    u64 delta;
    u64 frozen;
};

struct vhart_csrs {
    /*
     * The one status register; sstatus is a view of it. SD is not stored:
     * it is computed from FS on every read. A caller that finds the real
     * mstatus.FS Dirty after the guest ran sets FS to Dirty here.
     */
    u64 mstatus;
    u64 misa;           /* fixed at vhart_reset: rv64 + the real hart's IMAFDC + S + U */
    u64 medeleg, mideleg;
    u64 mie;
    u64 mip;            /* software-writable bits (SSIP, STIP, SEIP) as written */
    u64 mtvec, mscratch, mepc, mcause, mtval;
    u64 mcounteren, menvcfg;   /* mcounteren: all 32 bits writable (hpmcounter3-31 read 0) */
    u64 mcountinhibit;         /* CY and IR; the hpm counters are read-only 0, never counting */
    struct vcounter mcycle, minstret;
    u64 stvec, sscratch, sepc, scause, stval;
    u64 satp;           /* as the guest wrote it (WARL: Bare, Sv39, Sv48 accepted; ASIDLEN 16) */
    u64 scounteren, senvcfg;
    u8 pmpcfg[VHART_NR_PMP];   /* with their WARL and lock rules; vhart_pmp_perms reads them */
    u64 pmpaddr[VHART_NR_PMP];
};

struct vhart {
    struct vhart_csrs csr;
    enum vpriv priv;
    u64 pc;
    u64 hartid;
    /*
     * Lines driven from outside (emulated CLINT, vPLIC): MIP_MSIP, MIP_MTIP,
     * MIP_MEIP, MIP_SEIP. The guest reads mip as csr.mip | lines (SEIP: the
     * OR of its own bit and the line, privileged spec 3.1.9).
     */
    u64 lines;
    /*
     * MCOUNTEREN_TM, and CY and IR while mcycle and minstret are the real
     * counters (never written, never stopped): kept by every write that
     * changes that, so that vhart_counteren(), which every emulated
     * instruction's effects look at, stays a few instructions.
     */
    u32 ctr_native;
    /*
     * The PMP where it treats every address alike (pmp_flat): its lowest
     * entry that matches anything matches everything, or none matches
     * anything. Then S and U get pmp_flat_su and M pmp_flat_m everywhere,
     * and vhart_pmp_perms answers without looking at the entries (xv6's
     * one entry RWX over everything). Kept by every PMP write.
     */
    bool pmp_flat;
    u8 pmp_flat_su, pmp_flat_m;
};

/* The mip/mie bits (3.1.9) */
#define MIP_SSIP BIT(1)
#define MIP_MSIP BIT(3)
#define MIP_STIP BIT(5)
#define MIP_MTIP BIT(7)
#define MIP_SEIP BIT(9)
#define MIP_MEIP BIT(11)

/*
 * What an emulated instruction asks of the caller (vhart_emulate). Several
 * may be or-ed: VH_MODE with VH_IRQ after an sret, for example. Each bit
 * says a value changed, not that it was written: a write of what a CSR
 * already holds (satp included) reports nothing.
 */
enum {
    VH_DONE = 0,          /* pc advanced; nothing else changed that the caller keeps */
    VH_TRAP = BIT(0),     /* an exception was delivered to the guest: pc, priv changed */
    VH_MODE = BIT(1),     /* priv, or mstatus.SUM/MXR/MPRV/MPP changed: pick another shadow */
    VH_SATP = BIT(2),     /* satp changed: the shadow's root is stale */
    VH_SFENCE = BIT(3),   /* sfence.vma: *fence_va / *fence_asid say what (see below) */
    VH_WFI = BIT(4),      /* wfi: the caller may idle until an interrupt is pending */
    VH_IRQ = BIT(5),      /* mie/mip/mstatus.MIE/SIE/mideleg or priv changed: re-check interrupts */
    VH_FS = BIT(6),       /* mstatus.FS changed: the real one follows (vhart_real_fs) */
    VH_COUNTEREN = BIT(7),/* vhart_counteren() changed: counteren, a counter, mcountinhibit, priv */
    VH_PMP = BIT(8),      /* a PMP entry changed: what was mapped under the old ones must go */
};

/* sfence.vma's operands: all ones means "every address" / "every ASID". */
#define VH_FENCE_ALL (~0UL)

/*
 * misa as the real hart reports it (letters A-Z in bits 0-25): the guest
 * gets its I, M, A, F, D, C, plus S and U (no H, nor anything else). All
 * else is 0, the lines too: the caller drives them again.
 */
void vhart_reset(struct vhart *h, u64 hartid, u64 real_misa, u64 entry);

/*
 * A CSR access from the guest's current privilege (3.1, 2.1 "CSR address
 * mapping conventions": bits 9:8 the lowest privilege, 11:10 = 11 read-only).
 * 0, or -1: the access raises an illegal-instruction exception (the caller
 * delivers it with vhart_trap). @effects (VH_*,
 * 0 on failure) may be NULL. A read-modify-write of mip or sip must start
 * from csr.mip, not from the value read, so as not to latch the SEIP line
 * (3.1.9); vhart_emulate does.
 *
 * The counters: mcycle and minstret count with the real hart's (Keel's own
 * instructions and cycles while the guest is out included: a hypervisor's
 * time is the guest's too), writable, stopped by mcountinhibit.CY/IR;
 * mhpmcounter3-31 and mhpmevent3-31 are read-only 0 (3.1.10 allows it).
 * cycle, time, instret and hpmcounter3-31 come here only when the real
 * hart cannot serve them (vhart_counteren): read at M, at S by mcounteren,
 * at U by both (3.1.11, 4.1.5), else illegal.
 */
int vhart_csr_read(struct vhart *h, unsigned int csr, u64 *val);
int vhart_csr_write(struct vhart *h, unsigned int csr, u64 val, unsigned int *effects);

/*
 * Emulates one trapped instruction @insn (32-bit encoding) at h->pc with
 * the guest's integer registers @x (x[0] reads 0 and is never written):
 * CSRRW/CSRRS/CSRRC and their immediate forms, MRET, SRET, WFI, SFENCE.VMA.
 * Anything else, or one the current privilege may not execute (mstatus.TVM,
 * TSR, TW honoured), delivers an illegal-instruction exception with
 * mtval/stval = @insn. TW makes wfi in S trap at once (the spec's bounded
 * wait is zero here); wfi in U always traps. Returns the VH_* effects; pc
 * is advanced by 4 or set by the return or the trap. @fence_va and
 * @fence_asid are written only with VH_SFENCE.
 */
unsigned int vhart_emulate(struct vhart *h, u64 x[32], u32 insn, u64 *fence_va, u64 *fence_asid);

/*
 * Delivers a synchronous exception (@cause < 64) or interrupt (@cause with
 * bit 63) taken at h->pc: to M, or to S when delegated and the current
 * privilege is not M (3.1.8), updating the previous-privilege and
 * interrupt-enable stack, epc, cause, tval, and pc from mtvec/stvec
 * (vectored mode for interrupts). Returns VH_TRAP | VH_MODE, with VH_IRQ
 * and VH_COUNTEREN when those changed.
 */
unsigned int vhart_trap(struct vhart *h, u64 cause, u64 tval);

/*
 * The interrupt the guest takes now (its number, without bit 63), or -1:
 * pending (mip | lines) and enabled (mie), at a privilege that is globally
 * enabled (3.1.6.1, 3.1.9: M-level ones above the current privilege or at
 * M with MIE; S-level ones delegated, at S with SIE or below S), in the
 * priority order MEI, MSI, MTI, SEI, SSI, STI, those bound for M before
 * those bound for S.
 */
int vhart_pending_irq(const struct vhart *h);

/* Whether a wfi should end: some interrupt pending and enabled in mie, whatever the global enables. */
bool vhart_wfi_wakes(const struct vhart *h);

/*
 * Sets or clears line bits (MIP_MSIP/MTIP/MEIP/SEIP; others are ignored).
 * Returns true if mip as the guest reads it changed.
 */
bool vhart_set_line(struct vhart *h, u64 bit, bool level);

/*
 * What the real hart should hold while the guest runs: mstatus.FS (the
 * guest's own FS, so a guest with FP off takes its illegal instruction),
 * and the counter-enable mask (bits CY, TM, IR) for the real mcounteren
 * and scounteren: the counters the guest may read at its privilege (M:
 * all; S: mcounteren; U: mcounteren & scounteren) whose value is the real
 * one (time always; cycle and instret while never written nor stopped).
 * Reads outside the mask trap and come to vhart_csr_read.
 */
u64 vhart_real_fs(const struct vhart *h);
u32 vhart_counteren(const struct vhart *h);

/*
 * The real hart's counter now: CSR_CYCLE, CSR_TIME (the machine's mtime)
 * or CSR_INSTRET. The caller provides it (Keel reads the real CSRs, the
 * unit tests a fake clock); vhart.c asks only while it emulates a counter
 * access.
 */
u64 vhart_real_counter(unsigned int csr);

/*
 * The privilege and the SUM/MXR bits data accesses are checked with now
 * (mstatus.MPRV at M uses MPP's privilege, 3.1.6.3): what the shadow for
 * loads and stores must enforce. Instruction fetches always use h->priv.
 */
static inline enum vpriv vhart_data_priv(const struct vhart *h)
{
    if (h->priv == VPRIV_M && (h->csr.mstatus & MSTATUS_MPRV))
        return (enum vpriv)((h->csr.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
    return h->priv;
}

/* vhart_pmp_perms: the lowest entry matching some of the bytes does not match them all */
#define VHART_PMP_SPLIT 0x80

/*
 * What the guest's own PMP (3.7.1) lets an access of @len bytes at
 * guest-physical @addr do at @priv: PMP_R/W/X, or VHART_PMP_SPLIT when the
 * entry that decides does not match every byte (an access then fails; a
 * page then holds addresses the entries treat differently). With no entry
 * matching, M may do anything and S and U nothing (16 entries exist). An
 * entry decides for M only if locked (L); for S and U always. Page-table
 * walks are S accesses (3.7.1).
 */
unsigned int vhart_pmp_decide(const struct vhart *h, u64 addr, u64 len, enum vpriv priv);

/* vhart_pmp_decide, answered inline while the PMP is flat: every fill and walk asks. */
static inline unsigned int vhart_pmp_perms(const struct vhart *h, u64 addr, u64 len,
                                           enum vpriv priv)
{
    if (__builtin_expect(h->pmp_flat, 1))
        return priv == VPRIV_M ? h->pmp_flat_m : h->pmp_flat_su;
    return vhart_pmp_decide(h, addr, len, priv);
}

/* Whether M and S/U see the same PMP everywhere (pmp_flat, and M's the same as S/U's). */
static inline bool vhart_pmp_one_view(const struct vhart *h)
{
    return h->pmp_flat && h->pmp_flat_m == h->pmp_flat_su;
}

#endif
