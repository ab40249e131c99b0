/*
 * The hardware half of the vGIC: list registers (ICH_LR<n>_EL2, Arm IHI 0069
 * 12.4.6) and the virtual CPU interface state. Runs on the physical CPU the
 * vCPU is pinned to; only that CPU touches its list registers.
 */
#include <arch/gicv3_regs.h>
#include <arch/sysreg.h>
#include <drivers/gicv3.h>
#include <keel/cpu.h>
#include <keel/vcpu.h>
#include <keel/vgic.h>
#include <keel/vm.h>

/* mrs/msr need the register number in the instruction: one case per LR. */
#define LR_CASES(op)                                                            \
    op(0, S3_4_C12_C12_0) op(1, S3_4_C12_C12_1) op(2, S3_4_C12_C12_2)           \
    op(3, S3_4_C12_C12_3) op(4, S3_4_C12_C12_4) op(5, S3_4_C12_C12_5)           \
    op(6, S3_4_C12_C12_6) op(7, S3_4_C12_C12_7) op(8, S3_4_C12_C13_0)           \
    op(9, S3_4_C12_C13_1) op(10, S3_4_C12_C13_2) op(11, S3_4_C12_C13_3)         \
    op(12, S3_4_C12_C13_4) op(13, S3_4_C12_C13_5) op(14, S3_4_C12_C13_6)        \
    op(15, S3_4_C12_C13_7)

static u64 lr_read(unsigned int n)
{
#define LR_READ(i, reg) case i: return read_sysreg(reg);
    switch (n) {
    LR_CASES(LR_READ)
    }
#undef LR_READ
    return 0;
}

static void lr_write(unsigned int n, u64 v)
{
#define LR_WRITE(i, reg) case i: write_sysreg(reg, v); break;
    switch (n) {
    LR_CASES(LR_WRITE)
    }
#undef LR_WRITE
}

static u64 lr_build(const struct vgic_irq *irq)
{
    u64 lr = irq->intid | ((u64)irq->priority << ICH_LR_PRIORITY_SHIFT) | ICH_LR_STATE_PENDING;

    /*
     * Set active by the guest (GICD/GICR_ISACTIVER): active and pending, so
     * it is not taken until deactivated (found by tests/guests/gic.c).
     */
    if (irq->active)
        lr |= ICH_LR_STATE_ACTIVE;

    if (irq->group1)
        lr |= ICH_LR_GROUP;
    if (irq->hw_intid)
        lr |= ICH_LR_HW | ((u64)irq->hw_intid << ICH_LR_PINTID_SHIFT);
    else if (!irq->edge)
        lr |= ICH_LR_EOI; /* ask for a maintenance IRQ to re-sample the line */
    return lr;
}

/*
 * The vCPU an SPI's GICD_IROUTER names, or NULL. gicd_write_irouter() does
 * not move an SPI that sits in an LR; it follows its new route here, once
 * that LR is folded back (found by tests/guests/gic.c: a route written after
 * a delivery was otherwise ignored for good).
 */
/* Folds back LRs the guest has finished with (state now invalid). Lock held. */
static void vgic_reclaim(struct vcpu *vcpu, u32 done)
{
    struct vgic_cpu *c = &vcpu->vgic;

    while (done) {
        unsigned int n = __builtin_ctz(done);
        struct vgic_irq *irq = vgic_get_irq(vcpu->vm, vcpu, c->lr_intid[n]);
        struct vcpu *t = vcpu;

        done &= done - 1;
        lr_write(n, 0);
        c->used_lrs &= ~BIT(n);
        irq->in_lr = false;
        irq->active = false;
        if (irq->intid >= VGIC_NR_PRIVATE) {
            t = vm_vcpu_by_mpidr(vcpu->vm, irq->irouter);
            irq->target = t ? (u8)t->id : 0xff;
        }
        /* still pending (a new edge, or a level line still high)? queue it again */
        if (t && (irq->pending || (!irq->edge && irq->level)) && irq->enabled) {
            t->vgic.want[irq->intid / 64] |= BIT(irq->intid % 64);
            if (t != vcpu)
                vcpu_kick(t);
        }
    }
}

/*
 * LRs the guest has finished: ELRSR lists empty LRs, except those whose EOI
 * bit still owes a maintenance interrupt; EISR lists exactly those.
 */
static u32 lrs_done(u32 used)
{
    return used & (u32)(read_sysreg(ICH_ELRSR_EL2) | read_sysreg(ICH_EISR_EL2));
}

void vgic_sync(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    u32 done;

    if (!c->used_lrs)
        return;
    done = lrs_done(c->used_lrs);
    if (!done)
        return;
    spin_lock(&vcpu->vm->vgic.lock);
    vgic_reclaim(vcpu, done);
    spin_unlock(&vcpu->vm->vgic.lock);
}

/* Highest-priority (lowest value) wanted interrupt, or -1. */
static int want_pick(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    int best = -1;
    u8 best_prio = 0xff;

    for (unsigned int w = 0; w < ARRAY_SIZE(c->want); w++) {
        for (u64 bits = c->want[w]; bits; bits &= bits - 1) {
            u32 intid = w * 64 + __builtin_ctzl(bits);
            struct vgic_irq *irq = vgic_get_irq(vcpu->vm, vcpu, intid);
            if (best < 0 || irq->priority < best_prio) {
                best = (int)intid;
                best_prio = irq->priority;
            }
        }
    }
    return best;
}

/* Puts one wanted interrupt in an LR; false if no LR is free. Lock held. */
static bool vgic_flush_one(struct vcpu *vcpu, u32 intid, u32 all_lrs)
{
    struct vgic_cpu *c = &vcpu->vgic;
    struct vgic_irq *irq = vgic_get_irq(vcpu->vm, vcpu, intid);
    u32 free_lrs = all_lrs & ~c->used_lrs;

    if (irq->in_lr) {
        /* Already in an LR (active): add the pending state to it. */
        lr_write(irq->lr, lr_read(irq->lr) | ICH_LR_STATE_PENDING);
    } else {
        if (!free_lrs) {
            vgic_reclaim(vcpu, lrs_done(c->used_lrs));
            free_lrs = all_lrs & ~c->used_lrs;
            if (!free_lrs)
                return false;
        }
        unsigned int n = __builtin_ctz(free_lrs);
        lr_write(n, lr_build(irq));
        c->used_lrs |= BIT(n);
        c->lr_intid[n] = (u16)intid;
        irq->in_lr = true;
        irq->lr = (u8)n;
    }
    irq->pending = false; /* the latch now lives in the LR */
    c->want[intid / 64] &= ~BIT(intid % 64);
    vcpu->irqs_injected++;
    return true;
}

void vgic_flush(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;
    u32 all_lrs = (u32)(BIT(gic_nr_lrs()) - 1);
    u64 hcr = ICH_HCR_EL2_En;
    int intid;

    if (!vgic_wants_flush(c))
        return;
    spin_lock(&vcpu->vm->vgic.lock);
    /*
     * Fold back finished LRs first: an LR left behind by an edge interrupt
     * (no maintenance IRQ) would otherwise be re-pended as it was, with a
     * stale priority and route.
     */
    if (c->used_lrs)
        vgic_reclaim(vcpu, lrs_done(c->used_lrs));
    while (vgic_wants_flush(c) && (intid = want_pick(vcpu)) >= 0) {
        if (!vgic_flush_one(vcpu, (u32)intid, all_lrs)) {
            /* more pending than LRs: get a maintenance IRQ when LRs drain */
            hcr |= ICH_HCR_EL2_UIE;
            break;
        }
    }
    spin_unlock(&vcpu->vm->vgic.lock);
    write_sysreg(ICH_HCR_EL2, hcr);
}

void vgic_maintenance(struct vcpu *vcpu)
{
    write_sysreg(ICH_HCR_EL2, ICH_HCR_EL2_En); /* UIE off; flush sets it again if needed */
    vgic_sync(vcpu);
}

/* A vCPU (re)starting on this CPU: empty virtual interface, nothing active. */
void vgic_vcpu_reset_hw(struct vcpu *vcpu)
{
    for (unsigned int n = 0; n < gic_nr_lrs(); n++)
        lr_write(n, 0);
    write_sysreg(ICH_AP1R0_EL2, 0);
    write_sysreg(ICH_AP0R0_EL2, 0);
    write_sysreg(ICH_VMCR_EL2, 0);
    write_sysreg(ICH_HCR_EL2, ICH_HCR_EL2_En);
    /* a timer interrupt forwarded to the previous run may still be active */
    gic_deactivate(platform.timer_irq[2]);
    isb();
}

/*
 * The state of an interrupt held in a list register, for the distributor
 * and redistributor emulation (GICx_ISPENDR/ISACTIVER reads, ICPENDR/
 * ICACTIVER/ISACTIVER writes): while an interrupt sits in an LR, the LR is
 * authoritative. Only the LRs of the vCPU running on this CPU can be read
 * (Keel's MMIO handlers run on the accessing vCPU's own CPU); another vCPU's
 * LRs are out of reach, and its interrupts show their software state.
 * Found by tests/guests/gic.c: ISACTIVER read 0 for an interrupt being
 * handled, ISPENDR 0 for one pending in an LR, and ICACTIVER did not end an
 * active state held in an LR. Called with the vgic lock held.
 */
#define LR_STATE (ICH_LR_STATE_PENDING | ICH_LR_STATE_ACTIVE)

static int vgic_lr_here(struct vgic_irq *irq)
{
    struct vcpu *self = cpu_this()->vcpu;

    if (!self || !irq->in_lr || !(self->vgic.used_lrs & BIT(irq->lr)) ||
        vgic_get_irq(self->vm, self, self->vgic.lr_intid[irq->lr]) != irq)
        return -1;
    return irq->lr;
}

bool vgic_lr_state(struct vgic_irq *irq, bool *pending, bool *active)
{
    int n = vgic_lr_here(irq);
    u64 lr;

    if (n < 0)
        return false;
    lr = lr_read((unsigned int)n);
    *pending = lr & ICH_LR_STATE_PENDING;
    *active = lr & ICH_LR_STATE_ACTIVE;
    return true;
}

/* @pending/@active: 1 set, 0 clear, -1 leave. False if @irq is in no LR here. */
bool vgic_lr_set_state(struct vgic_irq *irq, int pending, int active)
{
    int n = vgic_lr_here(irq);
    u64 lr, old;

    if (n < 0)
        return false;
    old = lr = lr_read((unsigned int)n);
    if (pending >= 0)
        lr = pending ? lr | ICH_LR_STATE_PENDING : lr & ~ICH_LR_STATE_PENDING;
    if (active >= 0)
        lr = active ? lr | ICH_LR_STATE_ACTIVE : lr & ~ICH_LR_STATE_ACTIVE;
    lr_write((unsigned int)n, lr);
    /*
     * A forwarded (HW) interrupt whose LR empties here: the guest will never
     * deactivate it through the CPU interface, so do it for the physical one.
     */
    if ((old & ICH_LR_HW) && (old & LR_STATE) && !(lr & LR_STATE))
        gic_deactivate((u32)((old >> ICH_LR_PINTID_SHIFT) & 0x1fff));
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
    gic_deactivate(irq->hw_intid);
}
