/*
 * Entering a guest: the EL2 controls that define what traps, the EL1 state
 * the guest owns, and synthesised exceptions injected into EL1.
 */
#include <arch/debug.h>
#include <arch/fpsimd.h>
#include <arch/mte.h>
#include <arch/pauth.h>
#include <arch/esr.h>
#include <arch/pmu.h>
#include <arch/sysreg.h>
#include <drivers/gic.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/sched.h>
#include <keel/string.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

/*
 * Guests run natively except for: stage-2 (VM), physical interrupts to EL2
 * (IMO/FMO/AMO), SMC (TSC: PSCI may use either conduit), ID registers so
 * Keel can hide what it does not virtualise (TID3), implementation-defined
 * registers (TIDCP) and ACTLR (TACR). WFI/WFE run natively: each vCPU has
 * its core. Pointer authentication, where the CPU has it, is the guest's
 * (API/APK set, its keys reset at every vCPU start: pauth_keys_load). MTE
 * is a tagged VM's only (ATA: mte.c), hidden too are SCXTNUM (EnSCXT clear), and, where the CPU
 * has them, LORegions (TLOR) and the RAS error records (TERR). See
 * docs/cpu-features.md.
 */
#define HCR_GUEST (HCR_EL2_VM | HCR_EL2_SWIO | HCR_EL2_PTW | HCR_EL2_FMO | HCR_EL2_IMO |    \
                   HCR_EL2_AMO | HCR_EL2_FB | HCR_EL2_BSU_IS | HCR_EL2_TSC | HCR_EL2_TID3 | \
                   HCR_EL2_TIDCP | HCR_EL2_TACR | HCR_EL2_RW)

/* SVE, AMU and trace are hidden from guests: trap them (CPTR_EL2, E2H = 0). */
#define CPTR_GUEST (CPTR_EL2_RES1 | CPTR_EL2_TZ | CPTR_EL2_TAM | CPTR_EL2_TTA)

/*
 * SPE and trace registers trap and read as zero (sysreg.c); the debug
 * traps depend on the vCPU's OS lock (debug_mdcr_traps, debug.c), and the
 * PMU's controls are pmu_mdcr()'s (direct access, or hidden: pmu.c).
 * TDE stays clear: the guest's debug exceptions go to its own EL1. Every
 * other bit is written 0, so the enables of newer debug features (EBWE's
 * breakpoints past 16, EnSTEPOP, EnSPM) stay off.
 */
#define MDCR_GUEST (MDCR_EL2_TTRF | MDCR_EL2_TPMS)

#define SCTLR_EL1_RES1 0x30d00800UL
#define SPSR_EL1H_MASKED (PSR_MODE_EL1h | PSR_D | PSR_A | PSR_I | PSR_F)

_Static_assert(__builtin_offsetof(struct vcpu, exits) == VCPU_EXITS, "asm.h VCPU_EXITS");
_Static_assert(EXIT_HVC == 0, "vectors.S counts HVC exits in exits[0]");
_Static_assert(sizeof(struct vcpu_regs) == VCPU_REGS_SIZE, "asm.h VCPU_REGS_SIZE");

static u64 vtcr_value;
/* HCR_EL2.TLOR and TERR where the CPU has LORegions and RAS (RES0 without): read once. */
static u64 hcr_feature_traps;
extern char el2_vectors[], el2_vectors_shared[];
/* Per CPU, per VM: its vCPU whose stage-1 TLB entries this CPU may hold (tlb_sync_vcpu). */
static struct vcpu *last_ran[PLAT_MAX_CPUS][VM_MAX];

void arch_vm_init_stage2_regs(void)
{
    if (ID_FIELD(read_sysreg(id_aa64mmfr1_el1), ID_AA64MMFR1_EL1_LO_SHIFT))
        hcr_feature_traps |= HCR_EL2_TLOR;
    if (ID_FIELD(read_sysreg(id_aa64pfr0_el1), ID_AA64PFR0_EL1_RAS_SHIFT))
        hcr_feature_traps |= HCR_EL2_TERR;
    u64 parange = read_sysreg(id_aa64mmfr0_el1) & ID_AA64MMFR0_EL1_PARANGE_MASK;

    if (parange > 5)
        parange = 5;
    /* 39-bit IPA space, walk starts at level 1 (SL0 = 1), 4 KiB granule */
    vtcr_value = VTCR_EL2_RES1 | VTCR_EL2_T0SZ(64 - GUEST_IPA_BITS) |
                 (1UL << VTCR_EL2_SL0_SHIFT) | VTCR_EL2_IRGN0_WBWA | VTCR_EL2_ORGN0_WBWA |
                 VTCR_EL2_SH0_INNER | VTCR_EL2_TG0_4K | (parange << VTCR_EL2_PS_SHIFT);
}

/*
 * TLOR and TERR are RES0 without their features: set only where the CPU
 * has them. API and APK let the guest's PAC instructions and key registers
 * run untrapped: Keel itself signs nothing, so the keys are the guest's alone.
 */
static u64 hcr_guest(const struct vm *vm)
{
    u64 hcr = HCR_GUEST;

    if (vm->cfg.mem_tagging)
        hcr |= HCR_EL2_ATA;

    if (cpu_has_pauth())
        hcr |= HCR_EL2_API | HCR_EL2_APK;

    return hcr | hcr_feature_traps;
}

/*
 * The controls of newer features, all zero: HCRX_EL2 then enables none of
 * them at EL1 (TCR2, SCTLR2, GCS, FPMR, MOPS, LS64 trap or are UNDEFINED),
 * and the fine-grained traps catch the registers of the hidden ones whose
 * trap bits are "n" (PIR, POR, TPIDR2, SMPRI, GCS, ACCDATA, BRBE): the
 * guest meets exactly what its ID registers say. Their reset values are
 * UNKNOWN, so they are set rather than assumed. Like Linux, Keel relies on
 * firmware having set SCR_EL3.HXEn and FGTEn where these features exist.
 */
static void feature_traps_load(void)
{
    u64 mmfr0 = read_sysreg(id_aa64mmfr0_el1), mmfr1 = read_sysreg(id_aa64mmfr1_el1);

    if (ID_FIELD(mmfr1, ID_AA64MMFR1_EL1_HCX_SHIFT))
        write_sysreg_enc(HCRX_EL2, 0);
    if (ID_FIELD(mmfr0, ID_AA64MMFR0_EL1_FGT_SHIFT)) {
        write_sysreg_enc(HFGRTR_EL2, 0);
        write_sysreg_enc(HFGWTR_EL2, 0);
        write_sysreg_enc(HFGITR_EL2, 0);
        /* DBGCLAIM [5]: the claim tags are Keel's copy (debug.c) */
        write_sysreg_enc(HDFGRTR_EL2, HDFGxTR_EL2_DBGCLAIM);
        write_sysreg_enc(HDFGWTR_EL2, HDFGxTR_EL2_DBGCLAIM);
    }
}

/* Secondary vCPUs wait for PSCI CPU_ON (or a spin-table release). */
bool arch_vm_boots_all_vcpus(void)
{
    return false;
}

/* Stage 2 alone confines a VM here: nothing more to check or set up per build. */
int arch_vm_built(struct vm *vm)
{
    return 0;
}

void arch_vcpu_create(struct vcpu *v)
{
    v->arch.vmpidr = BIT(31) | v->id; /* MPIDR_EL1 bit 31 is RES1; Aff0 = vCPU index */
}

u64 arch_vcpu_dt_id(const struct vcpu *v)
{
    return v->arch.vmpidr & MPIDR_AFF_BITS;
}

void arch_vcpu_reset(struct vcpu *v, u64 entry, u64 x0)
{
    memset(&v->regs, 0, sizeof(v->regs));
    memset(&v->arch.el1, 0, sizeof(v->arch.el1));
    v->regs.x[0] = x0;
    v->arch.elr = entry;
    v->arch.spsr = SPSR_EL1H_MASKED;
    v->arch.el1.sctlr = SCTLR_EL1_RES1;
    debug_vcpu_reset(v);
}

static void el1_save(struct vcpu_el1 *e)
{
    e->sctlr = read_sysreg(sctlr_el1);
    e->cpacr = read_sysreg(cpacr_el1);
    e->ttbr0 = read_sysreg(ttbr0_el1);
    e->ttbr1 = read_sysreg(ttbr1_el1);
    e->tcr = read_sysreg(tcr_el1);
    e->mair = read_sysreg(mair_el1);
    e->amair = read_sysreg(amair_el1);
    e->vbar = read_sysreg(vbar_el1);
    e->contextidr = read_sysreg(contextidr_el1);
    e->tpidr_el0 = read_sysreg(tpidr_el0);
    e->tpidrro_el0 = read_sysreg(tpidrro_el0);
    e->tpidr_el1 = read_sysreg(tpidr_el1);
    e->sp_el0 = read_sysreg(sp_el0);
    e->sp_el1 = read_sysreg(sp_el1);
    e->elr_el1 = read_sysreg(elr_el1);
    e->spsr_el1 = read_sysreg(spsr_el1);
    e->esr = read_sysreg(esr_el1);
    e->far = read_sysreg(far_el1);
    e->afsr0 = read_sysreg(afsr0_el1);
    e->afsr1 = read_sysreg(afsr1_el1);
    e->par = read_sysreg(par_el1);
    e->csselr = read_sysreg(csselr_el1);
    e->cntkctl = read_sysreg(cntkctl_el1);
    e->cntv_cval = read_sysreg(cntv_cval_el0);
    e->cntv_ctl = read_sysreg(cntv_ctl_el0);
}

static void el1_load(const struct vcpu_el1 *e)
{
    write_sysreg(sctlr_el1, e->sctlr);
    write_sysreg(cpacr_el1, e->cpacr);
    write_sysreg(ttbr0_el1, e->ttbr0);
    write_sysreg(ttbr1_el1, e->ttbr1);
    write_sysreg(tcr_el1, e->tcr);
    write_sysreg(mair_el1, e->mair);
    write_sysreg(amair_el1, e->amair);
    write_sysreg(vbar_el1, e->vbar);
    write_sysreg(contextidr_el1, e->contextidr);
    write_sysreg(tpidr_el0, e->tpidr_el0);
    write_sysreg(tpidrro_el0, e->tpidrro_el0);
    write_sysreg(tpidr_el1, e->tpidr_el1);
    write_sysreg(sp_el0, e->sp_el0);
    write_sysreg(sp_el1, e->sp_el1);
    write_sysreg(elr_el1, e->elr_el1);
    write_sysreg(spsr_el1, e->spsr_el1);
    write_sysreg(esr_el1, e->esr);
    write_sysreg(far_el1, e->far);
    write_sysreg(afsr0_el1, e->afsr0);
    write_sysreg(afsr1_el1, e->afsr1);
    write_sysreg(par_el1, e->par);
    write_sysreg(csselr_el1, e->csselr);
    write_sysreg(cntkctl_el1, e->cntkctl);
    write_sysreg(cntv_cval_el0, e->cntv_cval);
    write_sysreg(cntv_ctl_el0, e->cntv_ctl);
}

/*
 * Stops the guest's timer, PMU and interrupt state on this CPU once its
 * vCPU is gone; its list registers are given back now, not at its next
 * start, for on a shared CPU other vCPUs use them meanwhile.
 */
void arch_vcpu_quiesce(struct vcpu *v)
{
    write_sysreg(cntv_ctl_el0, 0);
    pmu_quiesce();
    ptimer_stop(v);
    vgic_vcpu_release_hw(v);
    write_sysreg(hcr_el2, HCR_EL2_RW);
    isb();
}

/*
 * The EL2 controls that make @v's VM what it is on this CPU: Stage-2 and
 * its VMID, the identity registers, the traps. A shared CPU also traps WFI
 * and WFE (they block or yield: core/sched.c) and takes exits through the
 * vectors that save every register, so that an exit can switch vCPUs.
 */
/* The traps and vectors of a shared CPU (@shared), or of a vCPU that must exit through them. */
static void mode_load(struct vcpu *v, bool shared, bool full_save)
{
    write_sysreg(hcr_el2, hcr_guest(v->vm) | (shared ? HCR_EL2_TWI | HCR_EL2_TWE : 0));
    write_sysreg(vbar_el2, full_save ? (u64)el2_vectors_shared : (u64)el2_vectors);
    isb();
}

/* This CPU's stage-1 entries of the VMID in VTTBR_EL2. */
static inline void tlb_flush_vmid_local(void)
{
    __asm__ volatile("tlbi vmalle1\n dsb nsh\n ic iallu\n dsb nsh\n isb" ::: "memory");
}

void arch_vcpu_remode(struct vcpu *v, bool full_save)
{
    mode_load(v, cpu_this()->shared, full_save);
    if (full_save)
        gic_send_kick(cpu_this()->id); /* the guest exits again at once, through them */
}

void arch_vcpu_migrate_out(struct vcpu *v)
{
    ptimer_stop(v);
}

/*
 * Just moved here and loaded: its own entries on this CPU from before it
 * left may predate invalidations it made elsewhere (flushed again even if
 * the load's tlb_sync_vcpu did: a move is rare, a load is not); its
 * timer's deadline joins this CPU's queue.
 */
void arch_vcpu_migrated(struct vcpu *v)
{
    last_ran[cpu_this()->id][v->vm->id] = v;
    tlb_flush_vmid_local();
    ptimer_sync(v);
}

static void el2_controls_load(struct vcpu *v, u64 cnthctl)
{
    struct vm *vm = v->vm;
    bool shared = cpu_this()->shared;

    write_sysreg(vtcr_el2, vtcr_value);
    write_sysreg(vttbr_el2, vm->s2_base);
    write_sysreg(vmpidr_el2, v->arch.vmpidr);
    write_sysreg(vpidr_el2, read_sysreg(midr_el1));
    write_sysreg(cptr_el2, CPTR_GUEST);
    write_sysreg(mdcr_el2, MDCR_GUEST | debug_mdcr_traps(v) | pmu_mdcr_vcpu(v));
    write_sysreg(cnthctl_el2, cnthctl);
    write_sysreg(cntvoff_el2, 0);
    feature_traps_load();
    mode_load(v, shared, shared);
}

void __noreturn arch_vcpu_enter(struct vcpu *v)
{
    cpu_this()->vcpu = v;
    v->arch.pmu.hw = true; /* its reset state goes into the CPU below: no lazy trap */
    el2_controls_load(v, CNTHCTL_GUEST); /* EL1 physical timer traps (ptimer.c) */
    /* A new VMID or a rebuilt VM: drop stale stage-1+2 translations of this VMID. */
    __asm__ volatile("tlbi vmalls12e1\n dsb nsh\n ic iallu\n dsb nsh\n isb" ::: "memory");
    last_ran[cpu_this()->id][v->vm->id] = v;
    el1_load(&v->arch.el1);
    pauth_keys_load(&v->arch.el1);
    mte_vcpu_reset();
    debug_vcpu_load(v);
    arch_fpsimd_zero(); /* nothing of Keel's boot-time libfdt use or a previous run leaks */
    pmu_vcpu_reset(); /* before the vGIC reset deactivates its PPI: the line is low by then */
    vgic_vcpu_reset_hw(v);
    write_sysreg(elr_el2, v->arch.elr);
    write_sysreg(spsr_el2, v->arch.spsr);
    vgic_flush(v);
    arch_vcpu_resume(&v->regs);
}

/* The PPIs Keel forwards with the HW bit: their active state belongs to the vCPU on the CPU. */
static u32 forwarded_ppis(void)
{
    return BIT(platform.timer_irq[2]) | (platform.pmu_irq ? BIT(platform.pmu_irq) : 0);
}

void arch_vcpu_put(struct vcpu *v)
{
    v->arch.elr = read_sysreg(elr_el2);
    v->arch.spsr = read_sysreg(spsr_el2);
    el1_save(&v->arch.el1);
    write_sysreg(cntv_ctl_el0, 0); /* its line drops: the next vCPU's timer is its own */
    v->arch.cnthctl = read_sysreg(cnthctl_el2);
    pauth_keys_save(&v->arch.el1);
    fpsimd_save(&v->arch.fp);
    mte_vcpu_save(v);
    debug_vcpu_save(v);
    pmu_vcpu_switch_out(v); /* its counters stopped, its overflow line low */
    vgic_vcpu_put(v);
    /* after the lines dropped: an active PPI would otherwise block the next vCPU's */
    v->arch.ppi_active = irqchip_private_active() & forwarded_ppis();
    if (v->arch.ppi_active)
        irqchip_private_set_active(v->arch.ppi_active, false);
    isb();
}

/*
 * TLB entries are tagged with the VMID, not the vCPU: a vCPU coming onto
 * a CPU where another vCPU of its VM ran last would see that one's
 * stage-1 entries (a guest may reuse ASIDs per CPU) and miss its own local
 * invalidations made elsewhere, so this CPU's entries of the VMID go.
 */
static void tlb_sync_vcpu(struct vcpu *v)
{
    struct vcpu **last = &last_ran[cpu_this()->id][v->vm->id];

    if (*last == v)
        return;
    *last = v;
    tlb_flush_vmid_local();
}

void arch_vcpu_load(struct vcpu *v)
{
    /* first: whether their registers trap is in MDCR_EL2 */
    debug_vcpu_switch_in(v);
    pmu_vcpu_switch_in(v);
    el2_controls_load(v, v->arch.cnthctl);
    tlb_sync_vcpu(v);
    el1_load(&v->arch.el1);
    pauth_keys_load(&v->arch.el1);
    fpsimd_load(&v->arch.fp);
    mte_vcpu_load(v);
    write_sysreg(elr_el2, v->arch.elr);
    write_sysreg(spsr_el2, v->arch.spsr);
    /* before the LRs: a guest's deactivation through a HW LR must find it active */
    if (v->arch.ppi_active)
        irqchip_private_set_active(v->arch.ppi_active, true);
    vgic_vcpu_load(v);
    vtimer_load_due(v);
    vgic_flush(v);
}


/* The deadline of @v's saved timer, if it can raise its interrupt (in this file: has_work inlines it). */
u64 arch_vcpu_vtimer_deadline(const struct vcpu *v)
{
    u64 ctl = v->arch.el1.cntv_ctl;

    return (ctl & CNT_CTL_ENABLE) && !(ctl & CNT_CTL_IMASK) ? v->arch.el1.cntv_cval : ~0UL;
}

bool arch_vcpu_has_work(struct vcpu *v)
{
    return v->want_words || v->vgic.lr_stale || vgic_saved_pending(v) ||
           arch_vcpu_vtimer_deadline(v) <= arch_counter_read();
}

/*
 * PSTATE on taking an exception to EL1, as the Arm ARM's
 * AArch64.TakeException() builds it: NZCV and DIT carry over (both SPSR
 * formats hold them at the same bits), D, A, I, F set, EL1h, and IL, SS,
 * UAO and BTYPE clear; PAN set when SCTLR_EL1.SPAN is 0, SSBS from
 * SCTLR_EL1.DSSBS, ALLINT from NOT SCTLR_EL1.SPINTMASK and TCO set, each
 * where the CPU implements it (FEAT_PAN, FEAT_SSBS, FEAT_NMI, FEAT_MTE: the
 * CPU sets TCO on the exceptions it delivers itself, tagged VM or not).
 */
static u64 exception_pstate(u64 spsr)
{
    u64 sctlr = read_sysreg(sctlr_el1), pfr1 = read_sysreg(id_aa64pfr1_el1);
    bool has_pan = (read_sysreg(id_aa64mmfr1_el1) >> 20) & 0xf;
    u64 p = (spsr & (PSR_NZCV | PSR_DIT)) | SPSR_EL1H_MASKED;

    if (has_pan && !(sctlr & SCTLR_EL1_SPAN))
        p |= PSR_PAN;
    else
        p |= spsr & PSR_PAN;
    if (((pfr1 >> 4) & 0xf) && (sctlr & SCTLR_EL1_DSSBS)) /* ID_AA64PFR1_EL1.SSBS */
        p |= PSR_SSBS;
    if (((pfr1 >> 36) & 0xf) && !(sctlr & SCTLR_EL1_SPINTMASK)) /* ID_AA64PFR1_EL1.NMI */
        p |= PSR_ALLINT;
    if (ID_FIELD(pfr1, ID_AA64PFR1_EL1_MTE_SHIFT))
        p |= PSR_TCO;
    return p;
}

/*
 * A guest whose exception vector itself faults (VBAR_EL1 left at 0, or
 * pointing outside its RAM) would take the same exception forever, each
 * one an exit: stop that vCPU instead, once, with a message.
 */
static void __attribute__((noinline, cold)) vector_faults(struct vcpu *v, u64 vector)
{
    VM_WARN(v->vm, "vm %s vcpu %u: its exception vector at %#lx (VBAR_EL1 %#lx) faults itself; "
            "vCPU stopped", v->vm->cfg.name, v->id, vector, read_sysreg(vbar_el1));
    vcpu_power_off_self(v);
}

/*
 * Delivers a synchronous exception to the guest's EL1 as the hardware would
 * (Arm ARM D1.10: vector offset by source EL and stack, PSTATE as on entry).
 * SPSR_EL1 is the trapped PSTATE whole: its SS is the step state the
 * instruction left (1, it did not execute), so the guest's handler returns
 * to a step of that instruction, and PSTATE.SS enters 0, as
 * AArch64.TakeException() saves and clears it.
 */
void arch_vcpu_inject_sync(struct vcpu *v, u64 esr, u64 far)
{
    u64 spsr = read_sysreg(spsr_el2);
    u64 mode = spsr & 0x1f;
    u64 offset, vector;

    if (mode == PSR_MODE_EL1h)
        offset = 0x200;
    else if (mode == 0x4) /* EL1t */
        offset = 0x000;
    else if (spsr & PSR_MODE32) /* AArch32 EL0 */
        offset = 0x600;
    else
        offset = 0x400;
    vector = read_sysreg(vbar_el1) + offset;
    if (unlikely(read_sysreg(elr_el2) == vector))
        vector_faults(v, vector);
    write_sysreg(esr_el1, esr);
    write_sysreg(far_el1, far);
    write_sysreg(elr_el1, read_sysreg(elr_el2));
    write_sysreg(spsr_el1, spsr);
    write_sysreg(elr_el2, vector);
    write_sysreg(spsr_el2, exception_pstate(spsr));
}

static bool from_el1(void)
{
    return (read_sysreg(spsr_el2) & 0xc) == 0x4;
}

void arch_vcpu_inject_dabt(struct vcpu *v, u64 far, bool write)
{
    u64 ec = from_el1() ? ESR_ELx_EC_DABT_CUR : ESR_ELx_EC_DABT_LOW;
    /* synchronous external abort, not on a translation table walk */
    u64 esr = (ec << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | (write ? ESR_ELx_WNR : 0) | 0x10;

    arch_vcpu_inject_sync(v, esr, far);
}

void arch_vcpu_inject_iabt(struct vcpu *v, u64 far)
{
    u64 ec = from_el1() ? ESR_ELx_EC_IABT_CUR : ESR_ELx_EC_IABT_LOW;

    arch_vcpu_inject_sync(v, (ec << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | 0x10, far);
}

void arch_vcpu_inject_undef(struct vcpu *v)
{
    arch_vcpu_inject_sync(v, ((u64)ESR_ELx_EC_UNKNOWN << ESR_ELx_EC_SHIFT) | ESR_ELx_IL, 0);
}

void vcpu_kick(struct vcpu *v)
{
    /* TPIDR_EL2 read inline: this runs on every injection */
    if (v->pcpu != ((struct cpu *)read_sysreg(tpidr_el2))->id)
        gic_send_kick(v->pcpu);
}
