/*
 * The hardware half of the vGIC: list registers (ICH_LR<n>_EL2, Arm IHI 0069
 * 12.4.6) and the virtual CPU interface state. Runs on the physical CPU the
 * vCPU is pinned to; only that CPU touches its list registers.
 *
 * More interrupts than LRs (docs/vgic-lr-overflow.md): when no LR is free,
 * vgic_flush() evicts an active, not pending, entry ("spills" it: it stays
 * active in Keel's state, in vgic_cpu.spilled) or a lower-priority pending
 * one, so the LRs hold the interrupts the guest can take. The guest's
 * deactivation of a spilled interrupt is followed through ICH_HCR_EL2.TDIR
 * (DIR traps, vgic_dir) and ICH_HCR_EL2.EOIcount (EOIs with EOImode 0,
 * vgic_fold_eoicount), both on while anything is spilled.
 */
#include <arch/vgic_hw.h>
#include <drivers/gic.h>
#include <keel/cpu.h>
#include <keel/vcpu.h>
#include <keel/vgic.h>
#include <keel/vm.h>
#include <keel/vgic_vm.h>

/*
 * Built twice (Makefile): once for the ICH_*_EL2 system
 * registers (GICv3), once for the GICH frame (GICv2, -DVGIC_LR_GICV2), so
 * no register access asks which GIC this is; vgic_lr_select.c picks one
 * per call. The host tests build it once, with the fake hardware.
 */
#ifndef VGIC_HW_FAKE
#ifdef VGIC_LR_GICV2
#define VGIC_LR_FN(name) name##_gicv2
#else
#define VGIC_LR_FN(name) name##_gicv3
#endif
#define vgic_flush VGIC_LR_FN(vgic_flush)
#define vgic_inject_here VGIC_LR_FN(vgic_inject_here)
#define vgic_lr_changed VGIC_LR_FN(vgic_lr_changed)
#define vgic_lr_refresh VGIC_LR_FN(vgic_lr_refresh)
#define vgic_lr_state VGIC_LR_FN(vgic_lr_state)
#define vgic_lr_set_state VGIC_LR_FN(vgic_lr_set_state)
#define vgic_hw_unpend VGIC_LR_FN(vgic_hw_unpend)
#define vgic_hw_resample_locked VGIC_LR_FN(vgic_hw_resample_locked)
#define vgic_hw_resample VGIC_LR_FN(vgic_hw_resample)
#define vgic_lr_sgi_source VGIC_LR_FN(vgic_lr_sgi_source)
#define vgic_sync VGIC_LR_FN(vgic_sync)
#define vgic_maintenance VGIC_LR_FN(vgic_maintenance)
#define vgic_dir VGIC_LR_FN(vgic_dir)
#define vgic_vcpu_reset_hw VGIC_LR_FN(vgic_vcpu_reset_hw)
#define vgic_vcpu_release_hw VGIC_LR_FN(vgic_vcpu_release_hw)
#define vgic_vcpu_put VGIC_LR_FN(vgic_vcpu_put)
#define vgic_vcpu_load VGIC_LR_FN(vgic_vcpu_load)
#define vgic_saved_pending VGIC_LR_FN(vgic_saved_pending)
#endif

#define LR_PRIORITY(lr) ((u8)((lr) >> ICH_LR_PRIORITY_SHIFT))
#define LR_PINTID(lr) ((u32)(((lr) >> ICH_LR_PINTID_SHIFT) & ICH_LR_PINTID_MASK))
/* ICH_HCR_EL2 bits kept while interrupts are spilled: see the header comment */
#define SPILL_TRAPS (ICH_HCR_EL2_TDIR | ICH_HCR_EL2_LRENPIE)

/* The fields of an LR the guest may change while it is queued: priority and group. */
static u64 lr_prio_group(const struct vgic_irq *irq)
{
    return ((u64)irq->priority << ICH_LR_PRIORITY_SHIFT) | (irq->group1 ? ICH_LR_GROUP : 0);
}

static u64 lr_build(const struct vgic_irq *irq)
{
    /* never active here: vgic_flush_one() keeps an active one out until deactivated */
    u64 lr = irq->intid | lr_prio_group(irq) | ICH_LR_STATE_PENDING;

    if (irq->hw_intid)
        lr |= ICH_LR_HW | ((u64)irq->hw_intid << ICH_LR_PINTID_SHIFT);
    else if (!irq->edge)
        lr |= ICH_LR_EOI; /* ask for a maintenance IRQ to re-sample the line */
    return lr;
}

/*
 * GICv2 SGIs: the lowest pending source goes into the LR (vgic_hw.h carries
 * it to GICH_LR.CPUID) and leaves the set; with more sources waiting, the
 * EOI maintenance interrupt brings the next. Only vGICv2s have sources, and
 * only a GICv2 host runs them: the GICv3 build leaves this out.
 */
#if defined(VGIC_LR_GICV2) || defined(VGIC_HW_FAKE)
#define VGIC_SGI_SOURCES 1
static u64 lr_sgi_source(struct vgic_irq *irq)
{
    unsigned int src;

    if (!irq->sgi_sources)
        return 0;
    src = (unsigned int)__builtin_ctz(irq->sgi_sources);
    irq->sgi_sources &= (u8)~BIT(src);
    return (u64)src << ICH_LR_PINTID_SHIFT | (irq->sgi_sources ? ICH_LR_EOI : 0);
}
#else
#define VGIC_SGI_SOURCES 0
static u64 lr_sgi_source(struct vgic_irq *irq) { return 0; }
#endif

static bool spilled_any(const struct vgic_cpu *c)
{
    return c->nr_spilled != 0;
}

/*
 * Queues @irq again if it is still pending (a new edge, a latch, or a level
 * line still high), on the vCPU its route names now: gicd_write_irouter()
 * does not move an SPI a vCPU holds, it follows its new route here (found by
 * tests/guests/gic.c: a route written after a delivery was otherwise ignored
 * for good). @self runs on this CPU and owns @irq if it is private. Lock held.
 */
static void vgic_requeue(struct vcpu *self, struct vgic_irq *irq)
{
    struct vm *vm = self->vm;
    struct vcpu *t = self;

    if (irq->intid >= VGIC_NR_PRIVATE) {
        /*
         * An edge that came while it sat in the LR was queued on the old
         * route: take that back, or the old target's flush would deliver it
         * too (found by the vGIC fuzzer: one SPI in LRs of two vCPUs).
         */
        if (irq->target < vm->cfg.nr_vcpus)
            vgic_want_clear(&vm->vcpus[irq->target]->vgic, irq->intid);
        t = vgic_spi_route(vm, irq);
        irq->target = t ? (u8)t->id : 0xff;
    }
    /* the distributor's own test, group enable included (the fuzzer again) */
    if (t && vgic_irq_signalable(&vm->vgic, irq)) {
        vgic_want_set(&t->vgic, irq->intid);
        if (t != self)
            vcpu_kick(t);
    }
}

/* Empties LR @n; its interrupt is no longer in an LR. Lock held. */
static struct vgic_irq *lr_release(struct vcpu *vcpu, unsigned int n)
{
    struct vgic_cpu *c = &vcpu->vgic;
    struct vgic_irq *irq = vgic_get_irq(vcpu->vm, vcpu, c->lr_intid[n]);

    ich_lr_write(n, 0);
    c->used_lrs &= ~BIT(n);
    irq->in_lr = false;
    return irq;
}

/* Folds back LRs the guest has finished with (state now invalid). Lock held. */
static void vgic_reclaim(struct vcpu *vcpu, u32 done)
{
    while (done) {
        struct vgic_irq *irq = lr_release(vcpu, __builtin_ctz(done));

        done &= done - 1;
        irq->active = false;
        vgic_requeue(vcpu, irq);
    }
}

/*
 * LRs the guest has finished: ELRSR lists empty LRs, except those whose EOI
 * bit still owes a maintenance interrupt; EISR lists exactly those.
 */
static u32 lrs_done(u32 used)
{
    return used & (ich_elrsr_read() | ich_eisr_read());
}

/* ---- spilled interrupts: active, out of the LRs ---- */

/* Evicts LR @n, active and not pending: its interrupt stays active, spilled. Lock held. */
static void lr_spill(struct vcpu *vcpu, unsigned int n)
{
    bool pending = ich_lr_read(n) & ICH_LR_STATE_PENDING;
    struct vgic_irq *irq = lr_release(vcpu, n);

    /* pending and active: the pending part waits in the latch for the deactivation */
    if (pending && (irq->edge || irq->hw_intid || !irq->level))
        irq->pending = true;

    /* a forwarded (HW) one keeps its physical interrupt active until then */
    irq->active = true;
    irq->spilled = true;
    irq->spilled_on = (u8)vcpu->id;
    vcpu->vgic.spilled[irq->intid / 64] |= BIT(irq->intid % 64);
    vcpu->vgic.nr_spilled++;
}

/*
 * The guest deactivated spilled @irq (DIR, an EOI in EOIcount, ICACTIVER):
 * it leaves the spilled set and, forwarded, its physical interrupt is
 * deactivated as the HW bit would have done; a PPI only from its own vCPU's
 * CPU, where it is banked (from elsewhere it would stay active: a limitation,
 * see docs/vgic-lr-overflow.md). Lock held.
 */
static void spill_end(struct vm *vm, struct vgic_irq *irq)
{
    struct vcpu *owner = vm->vcpus[irq->spilled_on];

    owner->vgic.spilled[irq->intid / 64] &= ~BIT(irq->intid % 64);
    owner->vgic.nr_spilled--;
    irq->spilled = false;
    irq->active = false;
    if (irq->hw_intid && (irq->intid >= VGIC_NR_PRIVATE || owner == cpu_this()->vcpu))
        irqchip_deactivate(irq->hw_intid);
}

/* The highest-priority (lowest value) spilled interrupt of @vcpu, which has one. */
static struct vgic_irq *spilled_highest(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    struct vgic_irq *best = NULL;

    for (unsigned int w = 0; w < ARRAY_SIZE(c->spilled); w++) {
        for (u64 bits = c->spilled[w]; bits; bits &= bits - 1) {
            struct vgic_irq *irq = vgic_get_irq(vcpu->vm, vcpu, w * 64 + __builtin_ctzl(bits));

            if (!best || irq->priority < best->priority)
                best = irq;
        }
    }
    return best;
}

/* Ends the highest-priority spilled interrupt and queues it again if pending. Lock held. */
static void spill_end_highest(struct vcpu *vcpu)
{
    struct vgic_irq *irq = spilled_highest(vcpu);

    spill_end(vcpu->vm, irq);
    vgic_requeue(vcpu, irq);
}

/*
 * EOIs the virtual interface found no LR for (ICH_HCR_EL2.EOIcount, IHI 0069
 * 12.4.5). With EOImode 0 each one deactivated a spilled interrupt: EOIs come
 * in nesting order, so it was the most recently activated, the highest
 * priority of those spilled. With EOImode 1 an EOI only drops the priority
 * (QEMU counts it all the same) and DIR traps: nothing to do. Lock held.
 */
static void vgic_fold_eoicount(struct vcpu *vcpu)
{
    u64 hcr = ich_hcr_read();
    unsigned int count = (unsigned int)((hcr & ICH_HCR_EL2_EOIcount) >> ICH_HCR_EL2_EOIcount_SHIFT);

    if (!count)
        return;
    ich_hcr_write(hcr & ~ICH_HCR_EL2_EOIcount);
    if (ich_vmcr_read() & ICH_VMCR_EL2_VEOIM)
        return;
    while (count-- && spilled_any(&vcpu->vgic))
        spill_end_highest(vcpu);
}

/* Every spilled interrupt ends (the vCPU restarts: nothing is active). Lock held. */
static void spill_drop_all(struct vcpu *vcpu)
{
    while (spilled_any(&vcpu->vgic))
        spill_end_highest(vcpu);
}

/* ---- flush: wanted interrupts into LRs ---- */

/*
 * Evicts LR @n, pending only, for a higher-priority interrupt: its pending
 * state goes back to the software latch (a level line still high needs
 * none) and it waits for an LR again. Lock held.
 */
static void lr_unqueue(struct vcpu *vcpu, unsigned int n)
{
    unsigned int src = VGIC_SGI_SOURCES ? LR_PINTID(ich_lr_read(n)) & 7 : 0;
    struct vgic_irq *irq = lr_release(vcpu, n);

    if (VGIC_SGI_SOURCES && vcpu->vm->vgic.v2 && irq->intid < 16) /* its source waits again */
        irq->sgi_sources |= (u8)BIT(src);

    if (irq->edge || irq->hw_intid || !irq->level)
        irq->pending = true;
    vgic_requeue(vcpu, irq);
}

/*
 * The LR to give up for a wanted interrupt of priority @prio, or -1. Active
 * entries first (pending and active ones too), whatever their priority: they only wait for their
 * deactivation, which Keel can follow outside the LRs (@can_spill), and a
 * pending interrupt must reach the guest even below them: after EOImode 1
 * priority drops nothing is running. The lowest priority of them, so with
 * EOImode 0 the spilled ones are the deepest in the nesting. Failing that, a
 * pending entry of lower priority than @prio, the lowest, so the LRs hold the
 * highest-priority pending interrupts.
 * @any_pending: whether any LR is pending only.
 */
static int lr_victim(struct vcpu *vcpu, u8 prio, bool can_spill, bool *any_pending)
{
    int victim = -1;
    bool victim_active = false;
    u8 victim_prio = 0;

    *any_pending = false;
    for (u32 used = vcpu->vgic.used_lrs; used; used &= used - 1) {
        unsigned int n = __builtin_ctz(used);
        u64 lr = ich_lr_read(n), state = lr & ICH_LR_STATE;
        u8 p = LR_PRIORITY(lr);

        *any_pending |= state == ICH_LR_STATE_PENDING;
        /*
         * Pending and active counts as active: its pending part cannot be
         * taken before the deactivation either, and a guest that never
         * deactivates (its APRs cleared) must not hold every LR for good
         * (the hostile guest: 6 PPIs left pending and active, 16 SGIs never taken).
         */
        if ((state & ICH_LR_STATE_ACTIVE) && can_spill) {
            if (!victim_active || p >= victim_prio) {
                victim = (int)n;
                victim_prio = p;
                victim_active = true;
            }
        } else if (state == ICH_LR_STATE_PENDING && !victim_active && p > prio &&
                   (victim < 0 || p >= victim_prio)) {
            victim = (int)n;
            victim_prio = p;
        }
    }
    return victim;
}

/*
 * No LR is free for @irq: frees one (lr_victim), or else asks for a
 * maintenance interrupt in @hcr for when one may free up and returns false.
 * Without ICH_VTR_EL2.TDS (no TDIR) a DIR with EOImode 1 of an interrupt in
 * no LR only counts in EOIcount, with no INTID and in no order: then active
 * entries are not spilled. Lock held.
 */
static bool lr_make_room(struct vcpu *vcpu, const struct vgic_irq *irq, u64 *hcr)
{
    bool can_spill = (ich_vtr_read() & ICH_VTR_EL2_TDS) || !(ich_vmcr_read() & ICH_VMCR_EL2_VEOIM);
    bool any_pending;
    int n = lr_victim(vcpu, irq->priority, can_spill, &any_pending);

    if (n >= 0) {
        if (ich_lr_read((unsigned int)n) & ICH_LR_STATE_ACTIVE)
            lr_spill(vcpu, (unsigned int)n);
        else
            lr_unqueue(vcpu, (unsigned int)n);
        return true;
    }
    /*
     * Every LR is pending at @irq's priority or above, or pending and active.
     * NPIE: once none is pending (IHI 0069 12.4.7, NP), which lets @irq be
     * taken; but NP ignores pending-and-active LRs, so with no LR pending
     * only it would fire at once and for ever: then UIE (one LR valid at most).
     */
    *hcr |= any_pending ? ICH_HCR_EL2_NPIE : ICH_HCR_EL2_UIE;
    return false;
}

/* Highest-priority (lowest value) wanted interrupt, or NULL if none is. */
static struct vgic_irq *want_pick(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    struct vgic_irq *best = NULL;
    unsigned int best_prio = 0x100; /* above any priority: the first one wins */

    for (unsigned int w = 0; w < ARRAY_SIZE(c->want); w++) {
        for (u64 bits = c->want[w]; bits; bits &= bits - 1) {
            struct vgic_irq *irq = vgic_get_irq(vcpu->vm, vcpu, w * 64 + __builtin_ctzl(bits));

            if (irq->priority < best_prio) {
                best = irq;
                best_prio = irq->priority;
            }
        }
    }
    return best;
}

/* Puts one wanted interrupt in an LR; false if no LR can take it. Lock held. */
static bool vgic_flush_one(struct vcpu *vcpu, struct vgic_irq *irq, u32 all_lrs, u64 *hcr)
{
    struct vgic_cpu *c = &vcpu->vgic;
    u32 intid = irq->intid;
    u32 free_lrs = all_lrs & ~c->used_lrs;

    if (VGIC_SGI_SOURCES && irq->in_lr && irq->sgi_sources) {
        /*
         * GICv2: an LR holds one source of an SGI (GICH_LR.CPUID). The same
         * source again while that one is still pending is the same pending
         * state (IHI 0048B 4.3.15); another source goes in when this one is
         * done: ask for the maintenance interrupt.
         */
        u64 lr = ich_lr_read(irq->lr);
        u8 same = (lr & ICH_LR_STATE_PENDING) ? (u8)BIT(LR_PINTID(lr) & 7) : 0;

        irq->sgi_sources &= (u8)~same;
        irq->pending = irq->sgi_sources != 0;
        if (irq->sgi_sources)
            ich_lr_write(irq->lr, lr | ICH_LR_EOI);
        vgic_want_clear(c, intid);
        return true;
    } else if (irq->in_lr) {
        /* Already in an LR (active): add the pending state to it. */
        ich_lr_write(irq->lr, ich_lr_read(irq->lr) | ICH_LR_STATE_PENDING);
    } else if (irq->active) {
        /*
         * Active outside the LRs (spilled, or set by ISACTIVER): it cannot be
         * taken before its deactivation, which queues it again.
         */
        vgic_want_clear(c, intid);
        return true;
    } else {
        if (!free_lrs) {
            vgic_reclaim(vcpu, lrs_done(c->used_lrs));
            if (!(all_lrs & ~c->used_lrs) && !lr_make_room(vcpu, irq, hcr))
                return false;
            free_lrs = all_lrs & ~c->used_lrs;
        }
        unsigned int n = __builtin_ctz(free_lrs);
        ich_lr_write(n, lr_build(irq) | lr_sgi_source(irq));
        c->used_lrs |= BIT(n);
        c->lr_intid[n] = (u16)intid;
        irq->in_lr = true;
        irq->lr = (u8)n;
    }
    /* the latch now lives in the LR (but other sources' do not) */
    irq->lr_latch = irq->pending;
    irq->pending = VGIC_SGI_SOURCES && irq->sgi_sources != 0;
    vgic_want_clear(c, intid);
    vcpu->irqs_injected++;
    return true;
}

/*
 * LR @n, which the guest has finished, at the start of a flush. A private
 * interrupt pending again by now (the next SGI, the next timer period) goes
 * straight back into it, built afresh (current priority, group, source),
 * instead of being folded back, queued and picked again: any free LR may
 * take any wanted interrupt, and this one is free. Anything else is folded
 * back as vgic_reclaim() does (an SPI follows its route there). Lock held.
 */
static inline __attribute__((always_inline)) void lr_done_refill(struct vcpu *vcpu, unsigned int n)
{
    struct vgic_cpu *c = &vcpu->vgic;
    u32 intid = c->lr_intid[n];
    struct vgic_irq *irq;

    if (intid >= VGIC_NR_PRIVATE) {
        vgic_reclaim(vcpu, BIT(n));
        return;
    }
    irq = &c->private_irqs[intid];
    irq->active = false;
    if (!vgic_irq_signalable(&vcpu->vm->vgic, irq)) {
        lr_release(vcpu, n);
        return;
    }
    ich_lr_write(n, lr_build(irq) | lr_sgi_source(irq));
    /* the latch now lives in the LR (but other sources' do not) */
    irq->lr_latch = irq->pending;
    irq->pending = VGIC_SGI_SOURCES && irq->sgi_sources != 0;
    vgic_want_clear(c, intid);
    vcpu->irqs_injected++;
}

/*
 * What is still wanted after the refills, highest priority first, into
 * free LRs or room made for it; maintenance requests go into @hcr. Out of
 * line: an exit whose interrupt was refilled in place needs none of it.
 */
static u64 __attribute__((noinline)) vgic_flush_wanted(struct vcpu *vcpu, u64 hcr)
{
    u32 all_lrs = ich_lrs_all();
    struct vgic_irq *irq;

    while (vgic_wants_flush(&vcpu->vgic) && (irq = want_pick(vcpu)) &&
           vgic_flush_one(vcpu, irq, all_lrs, &hcr))
        ;
    return hcr;
}

/* vgic_flush() with the lock held: the ICH_HCR_EL2 value to write once it is dropped. */
static inline __attribute__((always_inline)) u64 vgic_flush_locked(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    u64 hcr = ICH_HCR_EL2_En;

    /* EOIcount first: the HCR write below would lose it */
    if (spilled_any(c))
        vgic_fold_eoicount(vcpu);
    /*
     * Finished LRs first: an LR left behind by an edge interrupt (no
     * maintenance IRQ) would otherwise be re-pended as it was, with a stale
     * priority and route.
     */
    if (c->used_lrs) {
        for (u32 done = lrs_done(c->used_lrs); done; done &= done - 1)
            lr_done_refill(vcpu, __builtin_ctz(done));
    }
    if (vgic_wants_flush(c))
        hcr = vgic_flush_wanted(vcpu, hcr);
    if (spilled_any(c))
        hcr |= SPILL_TRAPS;
    return hcr;
}

void vgic_flush(struct vcpu *vcpu)
{
    u64 hcr;

    if (!vgic_wants_flush(&vcpu->vgic))
        return;
    spin_lock(&vcpu->vm->vgic.lock);
    hcr = vgic_flush_locked(vcpu);
    spin_unlock(&vcpu->vm->vgic.lock);
    ich_hcr_write(hcr);
}

/*
 * A private interrupt of @vcpu, which runs on this CPU and would flush on
 * its way back in (the virtual timer, an SGI to itself): vgic_pend() and
 * vgic_flush() under one lock, and no kick, the vCPU being right here.
 * Latched and queued as vgic_pend() does it (vgic_pend_here), then flushed.
 */
void vgic_inject_here(struct vcpu *vcpu, u32 intid, u32 pintid)
{
    u64 hcr;

    spin_lock(&vcpu->vm->vgic.lock);
    if (!vgic_pend_here(vcpu, intid, pintid)) {
        spin_unlock(&vcpu->vm->vgic.lock);
        return;
    }
    hcr = vgic_flush_locked(vcpu);
    spin_unlock(&vcpu->vm->vgic.lock);
    ich_hcr_write(hcr);
}

/* ---- the distributor's view of LR and spilled state ---- */

/*
 * The state of an interrupt held in a list register, for the distributor
 * and redistributor emulation (GICx_ISPENDR/ISACTIVER reads, ICPENDR/
 * ICACTIVER/ISACTIVER writes): while an interrupt sits in an LR, the LR is
 * authoritative. Only the LRs of the vCPU running on this CPU can be read
 * (Keel's MMIO handlers run on the accessing vCPU's own CPU); another vCPU's
 * LRs are out of reach, and its interrupts show their software state.
 * Found by tests/guests/gic.c: ISACTIVER read 0 for an interrupt being
 * handled, ISPENDR 0 for one pending in an LR, and ICACTIVER did not end an
 * active state held in an LR. Called with the vgic lock held. A spilled
 * interrupt's state is all in software (irq->active), from any vCPU.
 */
/* Whether LR irq->lr of @v holds @irq. */
static bool lr_holds(struct vcpu *v, const struct vgic_irq *irq)
{
    return irq->in_lr && (v->vgic.used_lrs & BIT(irq->lr)) &&
           vgic_get_irq(v->vm, v, v->vgic.lr_intid[irq->lr]) == irq;
}

static int vgic_lr_here(struct vgic_irq *irq)
{
    struct vcpu *self = cpu_this()->vcpu;

    return self && lr_holds(self, irq) ? irq->lr : -1;
}

/*
 * A level-sensitive interrupt pending in an LR for its line alone (no
 * latch: no edge, no ISPENDR write), whose line has gone low since: on
 * hardware it is no longer pending (IHI 0069 4.1.2, level-sensitive
 * interrupts), so the LR must not deliver it. Forwarded (HW) ones are
 * vgic_hw_resample()'s: their line is the physical one.
 */
static bool lr_line_dropped(const struct vgic_irq *irq, u64 lr)
{
    return (lr & ICH_LR_STATE_PENDING) && !(lr & ICH_LR_HW) && !irq->edge && !irq->level &&
           !irq->lr_latch;
}

/*
 * LR @n of @vcpu in step with @irq: its current priority and group, state
 * kept; or, pending only and routed to another vCPU now, given back so it
 * moves there (IHI 0048B 4.3.12: a retargeted pending SPI leaves the CPU
 * interfaces it no longer targets; IHI 0069 12.9.22 likewise). An active
 * one finishes where it is and moves on its deactivation (vgic_requeue).
 * A level line that dropped takes its pending state out (lr_line_dropped).
 */
static void lr_refresh_one(struct vcpu *vcpu, unsigned int n, struct vgic_irq *irq)
{
    u64 lr = ich_lr_read(n);

    if (irq->intid >= VGIC_NR_PRIVATE && (lr & ICH_LR_STATE) == ICH_LR_STATE_PENDING &&
        vgic_spi_route(vcpu->vm, irq) != vcpu) {
        lr_unqueue(vcpu, n);
        return;
    }
    if (lr_line_dropped(irq, lr)) {
        lr &= ~ICH_LR_STATE_PENDING;
        if (!(lr & ICH_LR_STATE)) {
            lr_release(vcpu, n);
            return;
        }
    }
    ich_lr_write(n, (lr & ~(ICH_LR_PRIORITY_MASK | ICH_LR_GROUP)) | lr_prio_group(irq));
}

/* The vCPU whose LR holds @irq (not necessarily its current route). */
static struct vcpu *lr_holder(struct vm *vm, const struct vgic_irq *irq)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        if (vm->vcpus[i] && lr_holds(vm->vcpus[i], irq))
            return vm->vcpus[i];
    return NULL;
}

void vgic_lr_changed(struct vm *vm, struct vgic_irq *irq)
{
    int n = vgic_lr_here(irq);
    struct vcpu *holder;

    if (n >= 0) {
        lr_refresh_one(cpu_this()->vcpu, (unsigned int)n, irq);
        return;
    }
    holder = lr_holder(vm, irq);
    if (holder && !holder->vgic.lr_stale) {
        holder->vgic.lr_stale = true;
        vcpu_kick(holder);
    }
}

/* On the holder's CPU, after a kick: every LR in step with its interrupt again. */
void vgic_lr_refresh(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;

    spin_lock(&vcpu->vm->vgic.lock);
    c->lr_stale = false;
    for (u32 used = c->used_lrs; used; used &= used - 1) {
        unsigned int n = __builtin_ctz(used);
        lr_refresh_one(vcpu, n, vgic_get_irq(vcpu->vm, vcpu, c->lr_intid[n]));
    }
    spin_unlock(&vcpu->vm->vgic.lock);
}

/*
 * The saved list register holding @irq, of a vCPU of the accessing vCPU's
 * VM that is off its CPU (vgic_vcpu_put): its LRs are in memory, under the
 * vgic lock, so its state is exact there too. NULL otherwise.
 */
static u64 *lr_saved(struct vgic_irq *irq)
{
    struct vcpu *self = cpu_this()->vcpu, *holder;

    if (!self || !irq->in_lr)
        return NULL;
    holder = lr_holder(self->vm, irq);
    return holder && holder->vgic.lrs_saved ? &holder->vgic.saved_lr[irq->lr] : NULL;
}

/* The LR value of @irq here or saved; false if neither. */
static bool lr_value(struct vgic_irq *irq, u64 *lr)
{
    int n = vgic_lr_here(irq);
    u64 *saved;

    if (n >= 0) {
        *lr = ich_lr_read((unsigned int)n);
        return true;
    }
    saved = lr_saved(irq);
    if (saved)
        *lr = *saved;
    return saved != NULL;
}

bool vgic_lr_state(struct vgic_irq *irq, bool *pending, bool *active)
{
    u64 lr;

    if (!lr_value(irq, &lr))
        return false;
    *pending = lr & ICH_LR_STATE_PENDING;
    *active = lr & ICH_LR_STATE_ACTIVE;
    return true;
}

int vgic_lr_sgi_source(struct vgic_irq *irq)
{
    u64 lr;

    if (!lr_value(irq, &lr))
        return -1;
    return (lr & ICH_LR_STATE_PENDING) ? (int)(LR_PINTID(lr) & 7) : -1;
}

/* A spilled interrupt: ICACTIVER ends its active state; its pending latch is vgic.c's. */
static bool spilled_set_state(struct vgic_irq *irq, int active)
{
    struct vcpu *self = cpu_this()->vcpu;

    if (!irq->spilled || !self)
        return false;
    if (active == 0)
        spill_end(self->vm, irq); /* vgic.c's vgic_update() queues it if pending */
    return true;
}

/* @pending/@active: 1 set, 0 clear, -1 leave. False if @irq is in no LR here. */
/*
 * A saved LR changes in memory, the vCPU being off its CPU; a forwarded
 * one is left to the software state (its physical half is its CPU's).
 */
static bool lr_saved_set_state(u64 *lr, int pending, int active)
{
    if (*lr & ICH_LR_HW)
        return false;
    if (pending >= 0)
        *lr = pending ? *lr | ICH_LR_STATE_PENDING : *lr & ~ICH_LR_STATE_PENDING;
    if (active >= 0)
        *lr = active ? *lr | ICH_LR_STATE_ACTIVE : *lr & ~ICH_LR_STATE_ACTIVE;
    return true;
}

bool vgic_lr_set_state(struct vgic_irq *irq, int pending, int active)
{
    int n = vgic_lr_here(irq);
    u64 lr, old, *saved;

    if (n < 0) {
        saved = lr_saved(irq);
        return saved ? lr_saved_set_state(saved, pending, active)
                     : spilled_set_state(irq, active);
    }
    old = lr = ich_lr_read((unsigned int)n);
    if (pending >= 0)
        lr = pending ? lr | ICH_LR_STATE_PENDING : lr & ~ICH_LR_STATE_PENDING;
    if (active >= 0)
        lr = active ? lr | ICH_LR_STATE_ACTIVE : lr & ~ICH_LR_STATE_ACTIVE;
    ich_lr_write((unsigned int)n, lr);
    /*
     * A forwarded (HW) interrupt whose LR empties here: the guest will never
     * deactivate it through the CPU interface, so do it for the physical one.
     */
    if ((old & ICH_LR_HW) && (old & ICH_LR_STATE) && !(lr & ICH_LR_STATE))
        irqchip_deactivate(LR_PINTID(old));
    return true;
}

/*
 * A forwarded (HW) interrupt whose pending state the guest cleared
 * (ICPENDR) before it reached an LR: the physical interrupt, acknowledged by
 * Keel and waiting for the guest's deactivation, would stay active for good
 * (found by tests/guests/timer.c: the virtual timer never fired again).
 * Deactivate it here; a PPI only from its own vCPU's CPU, as PPIs are per CPU.
 */
void vgic_hw_unpend(struct vcpu *owner, struct vgic_irq *irq)
{
    if (!irq->hw_intid || (irq->intid < VGIC_NR_PRIVATE && owner != cpu_this()->vcpu))
        return;
    irqchip_deactivate(irq->hw_intid);
}

/*
 * A forwarded private interrupt, latched and in no LR or active state, whose
 * line is low: unpended as ICPENDR would, its physical half ending with it.
 */
static void hw_latch_drop(struct vcpu *vcpu, struct vgic_irq *irq)
{
    irq->pending = false;
    vgic_want_clear(&vcpu->vgic, irq->intid);
    vgic_hw_unpend(vcpu, irq);
}

bool vgic_hw_resample_locked(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    bool still = false;

    if (vcpu != cpu_this()->vcpu) /* private lines are banked: only readable from their CPU */
        return false;
    for (u32 used = c->used_lrs; used; used &= used - 1) {
        unsigned int n = __builtin_ctz(used);
        u64 lr = ich_lr_read(n);

        if (c->lr_intid[n] >= VGIC_NR_PRIVATE ||
            (lr & (ICH_LR_HW | ICH_LR_STATE)) != (ICH_LR_HW | ICH_LR_STATE_PENDING))
            continue;
        if (arch_hw_line_high(LR_PINTID(lr))) {
            still = true;
            continue;
        }
        lr_release(vcpu, n);
        irqchip_deactivate(LR_PINTID(lr));
    }
    for (u32 i = 16; i < VGIC_NR_PRIVATE; i++) { /* PPIs */
        struct vgic_irq *irq = &c->private_irqs[i];

        if (irq->hw_intid && irq->pending && !irq->in_lr && !irq->active &&
            !arch_hw_line_high(irq->hw_intid))
            hw_latch_drop(vcpu, irq);
    }
    return still;
}

bool vgic_hw_resample(struct vcpu *vcpu)
{
    bool still;

    spin_lock(&vcpu->vm->vgic.lock);
    still = vgic_hw_resample_locked(vcpu);
    spin_unlock(&vcpu->vm->vgic.lock);
    return still;
}

/* ---- exits: maintenance, DIR, reset ---- */

void vgic_sync(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    bool spilled = spilled_any(c);
    u32 done = c->used_lrs ? lrs_done(c->used_lrs) : 0;

    /* only this CPU adds to c->spilled: a stale "none" cannot be read here */
    if (!done && !spilled)
        return;
    spin_lock(&vcpu->vm->vgic.lock);
    if (spilled)
        vgic_fold_eoicount(vcpu);
    vgic_reclaim(vcpu, done);
    spin_unlock(&vcpu->vm->vgic.lock);
}

void vgic_maintenance(struct vcpu *vcpu)
{
    vgic_sync(vcpu);
    /* UIE and NPIE off (their conditions last): vgic_flush sets them again if needed */
    ich_hcr_write(ICH_HCR_EL2_En | (spilled_any(&vcpu->vgic) ? SPILL_TRAPS : 0));
}

/* The guest's DIR of the interrupt in LR @n, as the virtual interface does it. Lock held. */
static void lr_deactivate(struct vcpu *vcpu, unsigned int n)
{
    u64 lr = ich_lr_read(n);

    if (!(lr & ICH_LR_STATE_ACTIVE))
        return;
    lr &= ~ICH_LR_STATE_ACTIVE;
    ich_lr_write(n, lr);
    if (lr & ICH_LR_HW)
        irqchip_deactivate(LR_PINTID(lr));
    if (!(lr & ICH_LR_STATE))
        vgic_reclaim(vcpu, BIT(n)); /* at once: a level line is re-sampled without the EOI round trip */
}

/*
 * ICC_DIR_EL1 written with TDIR set (ESR EC 0x18): deactivates INTID[23:0]
 * (IHI 0069, ICC_DIR_EL1) in its LR or in the spilled set. With EOImode 0 a DIR
 * has no effect, as on the virtual interface.
 */
void vgic_dir(struct vcpu *vcpu, u64 val)
{
    struct vgic_irq *irq = vgic_get_irq(vcpu->vm, vcpu, (u32)(val & 0xffffff));
    int n;

    if (!irq || !(ich_vmcr_read() & ICH_VMCR_EL2_VEOIM))
        return;
    spin_lock(&vcpu->vm->vgic.lock);
    n = vgic_lr_here(irq);
    if (n >= 0) {
        lr_deactivate(vcpu, (unsigned int)n);
    } else if (irq->spilled) {
        spill_end(vcpu->vm, irq);
        vgic_requeue(vcpu, irq);
    }
    /* the last one gone: DIR and EOIs run untrapped again */
    if (!spilled_any(&vcpu->vgic))
        ich_hcr_write(ich_hcr_read() & ~SPILL_TRAPS);
    spin_unlock(&vcpu->vm->vgic.lock);
}

/*
 * The LRs a vCPU held when it stopped (PSCI CPU_OFF, then CPU_ON: the same
 * VM, its interrupt state kept) go back into Keel's state before the
 * hardware ones are cleared: a pending interrupt stays pending, as the
 * distributor keeps it while the PE is off; an active one ends, as the
 * spilled ones do. Without this the bookkeeping still named LRs the
 * hardware no longer had: a pending SGI was lost, and ICPENDR/ISACTIVER on
 * it wrote state into an empty LR (INTID 0, group 0), where every later
 * SGI queued behind it (the hostile guest: 16 SGIs pending, none taken).
 */
static void lr_release_all(struct vcpu *vcpu)
{
    spin_lock(&vcpu->vm->vgic.lock);
    for (u32 used = vcpu->vgic.used_lrs; used; used &= used - 1) {
        unsigned int n = __builtin_ctz(used);
        u64 lr = ich_lr_read(n);
        struct vgic_irq *irq = lr_release(vcpu, n);

        if ((lr & ICH_LR_STATE_PENDING) && (irq->edge || irq->hw_intid || !irq->level))
            irq->pending = true;
        if ((lr & ICH_LR_STATE_ACTIVE) && (lr & ICH_LR_HW))
            irqchip_deactivate(LR_PINTID(lr));
        irq->active = false;
        vgic_requeue(vcpu, irq);
    }
    vcpu->vgic.lr_stale = false;
    spin_unlock(&vcpu->vm->vgic.lock);
}

/* A vCPU stopping on this CPU: its interrupts back to the distributor, the LRs empty. */
void vgic_vcpu_release_hw(struct vcpu *vcpu)
{
    if (vcpu->vgic.used_lrs)
        lr_release_all(vcpu);
    for (unsigned int n = 0; n < gic_nr_lrs(); n++)
        ich_lr_write(n, 0);
    ich_hcr_write(0);
    ich_sync();
}

/* A vCPU (re)starting on this CPU: empty virtual interface, nothing active. */
void vgic_vcpu_reset_hw(struct vcpu *vcpu)
{
    vgic_vcpu_release_hw(vcpu);
    ich_aprs_clear();
    ich_vmcr_write(0);
    ich_hcr_write(ICH_HCR_EL2_En);
    if (spilled_any(&vcpu->vgic)) {
        spin_lock(&vcpu->vm->vgic.lock);
        spill_drop_all(vcpu);
        spin_unlock(&vcpu->vm->vgic.lock);
    }
    /* a timer or PMU interrupt forwarded to the previous run may still be active */
    irqchip_deactivate(platform.timer_irq[2]);
    if (platform.pmu_irq)
        irqchip_deactivate(platform.pmu_irq);
    ich_sync();
}

/*
 * The scheduler takes the vCPU off this CPU: its list registers are kept
 * verbatim, with the active priorities, VMCR and HCR, so the bookkeeping
 * that names an LR (irq->in_lr, irq->lr, used_lrs) stays true while it is
 * away. Under the vgic lock, flagged lrs_saved: the distributor then reads
 * and changes them in memory (lr_saved()), exact for a vCPU that is not
 * running; a refresh asked meanwhile (lr_stale and a kick) is applied at
 * load. The interface is left disabled: no maintenance
 * interrupt for LRs that are not here.
 */
void vgic_vcpu_put(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;

    spin_lock(&vcpu->vm->vgic.lock);
    for (u32 used = c->used_lrs; used; used &= used - 1)
        c->saved_lr[__builtin_ctz(used)] = ich_lr_read(__builtin_ctz(used));
    c->lrs_saved = true;
    spin_unlock(&vcpu->vm->vgic.lock);
    c->saved_aprs = ich_aprs_read();
    c->saved_vmcr = ich_vmcr_read();
    c->saved_hcr = ich_hcr_read();
    ich_hcr_write(0);
    ich_sync();
}

void vgic_vcpu_load(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;

    unsigned int nr = gic_nr_lrs(); /* once: a call, not inlined */

    spin_lock(&vcpu->vm->vgic.lock);
    for (unsigned int n = 0; n < nr; n++)
        ich_lr_write(n, (c->used_lrs & BIT(n)) ? c->saved_lr[n] : 0);
    c->lrs_saved = false;
    spin_unlock(&vcpu->vm->vgic.lock);
    ich_aprs_write(c->saved_aprs);
    ich_vmcr_write(c->saved_vmcr);
    ich_hcr_write(c->saved_hcr);
    ich_sync();
    if (c->lr_stale)
        vgic_lr_refresh(vcpu);
}

bool vgic_saved_pending(const struct vcpu *vcpu)
{
    const struct vgic_cpu *c = &vcpu->vgic;

    for (u32 used = c->used_lrs; used; used &= used - 1)
        if (c->saved_lr[__builtin_ctz(used)] & ICH_LR_STATE_PENDING)
            return true;
    return false;
}
