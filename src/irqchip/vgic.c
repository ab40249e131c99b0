/*
 * vGICv3 distributor and redistributor emulation (Arm IHI 0069, chapter 12,
 * "Programmers' model"). The guest sees a GIC with one security state
 * (GICD_CTLR.DS = 1), affinity routing always on, no LPIs and no ITS.
 * Interrupt state changes go through vgic_update(), which queues the
 * interrupt for a list register on its target vCPU.
 */
#include <keel/gic_regs.h>
#include <keel/vgic.h>
#include <keel/vm.h>
#include <keel/vgic_vm.h>
#include <keel/vcpu.h>
#include <keel/string.h>
#include "vgic_internal.h"

static struct vcpu *irq_target(struct vm *vm, struct vcpu *owner, struct vgic_irq *irq)
{
    if (irq->intid < VGIC_NR_PRIVATE)
        return owner;
    return irq->target < vm->cfg.nr_vcpus ? vm->vcpus[irq->target] : NULL;
}

bool vgic_irq_pending(const struct vgic_irq *irq)
{
    return irq->pending || (!irq->edge && irq->level);
}

/*
 * Called with the vgic lock held after any change to @irq. Queues it for an
 * LR on its target when it can be signalled, and wakes that target. Inline
 * for the injection paths (vgic_pend, vgic_pend_sgi), which run on every
 * SGI and timer interrupt; vgic_update() for the rest.
 */
static inline void vgic_update_irq(struct vm *vm, struct vcpu *owner, struct vgic_irq *irq)
{
    struct vcpu *t = irq_target(vm, owner, irq);

    if (!t)
        return;
    if (vgic_irq_signalable(&vm->vgic, irq)) {
        /*
         * Kick only on the 0 -> 1 transition: if the bit was set already, the
         * target was kicked for it and has not flushed yet, so a guest ringing
         * a doorbell in a loop costs its peer one exit, not one per ring.
         */
        if (!vgic_wanted(&t->vgic, irq->intid)) {
            vgic_want_set(&t->vgic, irq->intid);
            vcpu_kick(t);
        }
    } else {
        vgic_want_clear(&t->vgic, irq->intid);
    }
}

void vgic_update(struct vm *vm, struct vcpu *owner, struct vgic_irq *irq)
{
    vgic_update_irq(vm, owner, irq);
}

static void vgic_irq_defaults(struct vgic_irq *irq, u32 intid)
{
    memset(irq, 0, sizeof(*irq));
    irq->intid = intid;
    irq->edge = intid < 16; /* SGIs are always edge; PPIs and SPIs reset to level */
    irq->group1 = false;
}

void vgic_init_vm(struct vm *vm)
{
    vm->vgic.ctlr = 0;
    vm->vgic.nr_vcpus = vm->cfg.nr_vcpus;
    for (u32 i = 0; i < VGIC_NR_SPIS; i++)
        vgic_irq_defaults(&vm->vgic.spis[i], i + VGIC_NR_PRIVATE);
}

void vgic_init_vcpu(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;

    memset(c, 0, sizeof(*c));
    vcpu->want_words = 0; /* the summary of c->want, kept in the vCPU (keel/vcpu.h) */
    for (u32 i = 0; i < VGIC_NR_PRIVATE; i++)
        vgic_irq_defaults(&c->private_irqs[i], i);
    c->sleeping = true;
}

void vgic_create_vm(struct vm *vm)
{
    vm->vgic.lock = (spinlock_t)SPINLOCK_INIT;
}

void vgic_reroute(struct vm *vm, struct vgic_irq *irq)
{
    struct vcpu *t = vgic_spi_route(vm, irq);

    if (irq->in_lr && (!t || t->id != irq->target)) {
        /* its holder gives it back if it is only pending; an active one moves when it ends */
        vgic_lr_changed(vm, irq);
        return;
    }
    if (irq->target < vm->cfg.nr_vcpus) /* no longer queued where it was going */
        vgic_want_clear(&vm->vcpus[irq->target]->vgic, irq->intid);
    irq->target = t ? (u8)t->id : 0xff;
    vgic_update(vm, NULL, irq);
}

void vgic_write_ctlr(struct vm *vm, u32 enables)
{
    vm->vgic.ctlr = (vm->vgic.ctlr & ~(GICD_CTLR_EnableGrp0 | GICD_CTLR_EnableGrp1)) |
                    (enables & (GICD_CTLR_EnableGrp0 | GICD_CTLR_EnableGrp1));
    for (u32 i = 0; i < VGIC_NR_SPIS; i++)
        vgic_update(vm, NULL, &vm->vgic.spis[i]);
    for (unsigned int c = 0; c < vm->cfg.nr_vcpus; c++)
        for (u32 i = 0; i < VGIC_NR_PRIVATE; i++)
            vgic_update(vm, vm->vcpus[c], &vm->vcpus[c]->vgic.private_irqs[i]);
}

/* ---- bitmap registers: one bit per interrupt ---- */

enum bit_reg { R_GROUP, R_SENABLE, R_CENABLE, R_SPEND, R_CPEND, R_SACTIVE, R_CACTIVE };

static bool irq_bit(struct vgic_irq *irq, enum bit_reg r)
{
    bool lr_pending = false, lr_active = false;

    /* In an LR of this vCPU, the LR holds the pending latch and the active state. */
    vgic_lr_state(irq, &lr_pending, &lr_active);
    switch (r) {
    case R_GROUP: return irq->group1;
    case R_SENABLE:
    case R_CENABLE: return irq->enabled;
    case R_SPEND:
    case R_CPEND: return vgic_irq_pending(irq) || lr_pending;
    default: return irq->active || lr_active;
    }
}

static void irq_bit_write(struct vm *vm, struct vcpu *owner, struct vgic_irq *irq, enum bit_reg r,
                          bool bit)
{
    switch (r) {
    case R_GROUP:
        if (irq->group1 != bit) {
            irq->group1 = bit;
            if (irq->in_lr)
                vgic_lr_changed(vm, irq);
        }
        break;
    case R_SENABLE: if (bit) irq->enabled = true; break;
    case R_CENABLE: if (bit) irq->enabled = false; break;
    case R_SPEND: if (bit) irq->pending = true; break;
    /* ... and the LR too, when the interrupt sits in one of this vCPU's */
    case R_CPEND:
        if (bit) {
            bool latched = irq->pending;
            irq->pending = false;
            if (!vgic_lr_set_state(irq, 0, -1) && latched)
                vgic_hw_unpend(owner, irq); /* a forwarded IRQ's physical half ends too */
        }
        break;
    case R_SACTIVE: if (bit) { irq->active = true; vgic_lr_set_state(irq, -1, 1); } break;
    case R_CACTIVE: if (bit) { irq->active = false; vgic_lr_set_state(irq, -1, 0); } break;
    }
    vgic_update(vm, owner, irq);
}

/* @first: INTID of bit 0 of the 32-bit register; private INTIDs use @owner. */
static u64 bits_read(struct vm *vm, struct vcpu *owner, u32 first, enum bit_reg r)
{
    u64 v = 0;

    /* a forwarded PPI's pending state follows its physical line, which may have dropped */
    if (first < VGIC_NR_PRIVATE && (r == R_SPEND || r == R_CPEND))
        vgic_hw_resample_locked(owner);

    for (u32 i = 0; i < 32; i++) {
        struct vgic_irq *irq = vgic_get_irq(vm, owner, first + i);
        if (irq && irq_bit(irq, r))
            v |= BIT(i);
    }
    return v;
}

static void bits_write(struct vm *vm, struct vcpu *owner, u32 first, enum bit_reg r, u64 val)
{
    bool set_clear = r != R_GROUP;

    for (u32 i = 0; i < 32; i++) {
        struct vgic_irq *irq = vgic_get_irq(vm, owner, first + i);
        if (!irq || (set_clear && !(val & BIT(i))))
            continue;
        /* SGIs are always enabled for group changes; nothing special here */
        irq_bit_write(vm, owner, irq, r, val & BIT(i));
    }
}

static const u32 bit_reg_base[] = { GICD_IGROUPR, GICD_ISENABLER, GICD_ICENABLER, GICD_ISPENDR,
                                    GICD_ICPENDR, GICD_ISACTIVER, GICD_ICACTIVER };

/* Decodes the bitmap register range shared by GICD and GICR_SGI_base. */
static bool bit_reg_decode(u64 off, enum bit_reg *r, u32 *first)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(bit_reg_base); i++) {
        if (off >= bit_reg_base[i] && off < bit_reg_base[i] + 0x80) {
            *r = (enum bit_reg)i;
            *first = (u32)(off - bit_reg_base[i]) * 8;
            return true;
        }
    }
    return false;
}

/* ---- byte and 2-bit registers ---- */

static u64 prio_read(struct vm *vm, struct vcpu *owner, u32 first, unsigned int size)
{
    u64 v = 0;

    for (unsigned int i = 0; i < size; i++) {
        struct vgic_irq *irq = vgic_get_irq(vm, owner, first + i);
        if (irq)
            v |= (u64)irq->priority << (8 * i);
    }
    return v;
}

static void prio_write(struct vm *vm, struct vcpu *owner, u32 first, unsigned int size, u64 val)
{
    for (unsigned int i = 0; i < size; i++) {
        struct vgic_irq *irq = vgic_get_irq(vm, owner, first + i);
        /* Only the implemented priority bits stick, as on hardware. */
        u8 prio = (u8)(val >> (8 * i)) & (u8)(0xff << (8 - VGIC_PRIO_BITS));
        if (irq && irq->priority != prio) {
            irq->priority = prio;
            if (irq->in_lr)
                vgic_lr_changed(vm, irq);
        }
    }
}

static u64 cfg_read(struct vm *vm, struct vcpu *owner, u32 first)
{
    u64 v = 0;

    for (u32 i = 0; i < 16; i++) {
        struct vgic_irq *irq = vgic_get_irq(vm, owner, first + i);
        if (irq && irq->edge)
            v |= 2UL << (2 * i);
    }
    return v;
}

static void cfg_write(struct vm *vm, struct vcpu *owner, u32 first, u64 val)
{
    for (u32 i = 0; i < 16; i++) {
        struct vgic_irq *irq = vgic_get_irq(vm, owner, first + i);
        if (!irq || first + i < 16) /* SGI configuration is read-only */
            continue;
        irq->edge = val & (2UL << (2 * i));
        vgic_update(vm, owner, irq);
    }
}

/* Register block shared by GICD (SPIs) and GICR_SGI_base (private IRQs). */
bool vgic_irq_regs_read(struct vm *vm, struct vcpu *owner, u64 off, unsigned int size, u64 *val,
                          u32 lo, u32 hi)
{
    enum bit_reg r;
    u32 first;

    if (bit_reg_decode(off, &r, &first)) {
        *val = (first >= lo && first < hi && size == 4) ? bits_read(vm, owner, first, r) : 0;
        return true;
    }
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 0x400) {
        first = (u32)(off - GICD_IPRIORITYR);
        *val = (first >= lo && first < hi) ? prio_read(vm, owner, first, size) : 0;
        return true;
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100) {
        first = (u32)(off - GICD_ICFGR) * 4;
        *val = (first >= lo && first < hi && size == 4) ? cfg_read(vm, owner, first) : 0;
        return true;
    }
    return false;
}

bool vgic_irq_regs_write(struct vm *vm, struct vcpu *owner, u64 off, unsigned int size, u64 val,
                           u32 lo, u32 hi)
{
    enum bit_reg r;
    u32 first;

    if (bit_reg_decode(off, &r, &first)) {
        if (first >= lo && first < hi && size == 4)
            bits_write(vm, owner, first, r, val);
        return true;
    }
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 0x400) {
        first = (u32)(off - GICD_IPRIORITYR);
        if (first >= lo && first < hi)
            prio_write(vm, owner, first, size, val);
        return true;
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100) {
        first = (u32)(off - GICD_ICFGR) * 4;
        if (first >= lo && first < hi && size == 4)
            cfg_write(vm, owner, first, val);
        return true;
    }
    return false;
}

/* ---- injection ---- */

/* Latches @intid pending (forwarded from physical @pintid when non-zero). */
void vgic_pend(struct vm *vm, struct vcpu *target, u32 intid, u32 pintid)
{
    struct vgic_irq *irq;

    spin_lock(&vm->vgic.lock);
    irq = vgic_get_irq(vm, target, intid);
    if (irq) {
        if (pintid)
            irq->hw_intid = (u16)pintid;
        irq->pending = true;
        vgic_update_irq(vm, target, irq);
    }
    spin_unlock(&vm->vgic.lock);
}

/*
 * SGI @intid pending on every vCPU whose index is set in @vcpus: one lock
 * for them all, and the kicks after it (none of them needs it held), so
 * the loop under the lock calls nothing.
 */
void vgic_pend_sgi(struct vm *vm, u32 vcpus, u32 intid)
{
    u64 bit = BIT(intid);
    u32 kick = 0;

    spin_lock(&vm->vgic.lock);
    for (u32 left = vcpus; left; left &= left - 1) {
        struct vcpu *t = vm->vcpus[__builtin_ctz(left)];
        struct vgic_irq *irq = &t->vgic.private_irqs[intid];

        /*
         * vgic_update_irq() for an SGI: always edge, so pending is all it
         * needs besides its enables; a want bit already set was kicked for.
         */
        irq->pending = true;
        if (vgic_irq_signalable(&vm->vgic, irq) && !(t->vgic.want[0] & bit)) {
            vgic_want_set(&t->vgic, intid);
            kick |= left & -left;
        }
    }
    spin_unlock(&vm->vgic.lock);
    for (; kick; kick &= kick - 1)
        vcpu_kick(vm->vcpus[__builtin_ctz(kick)]);
}

/* The virtual timer, forwarded with the HW bit to the vCPU it belongs to. */
void vgic_inject_hw(struct vcpu *vcpu, u32 intid, u32 pintid)
{
    struct vm *vm = vcpu->vm;
    struct vgic_irq *irq = &vcpu->vgic.private_irqs[intid];

    /* vgic_pend() for a private interrupt of the running vCPU: no lookup */
    if (intid >= VGIC_NR_PRIVATE)
        return;
    spin_lock(&vm->vgic.lock);
    irq->hw_intid = (u16)pintid;
    irq->pending = true;
    vgic_update_irq(vm, vcpu, irq);
    spin_unlock(&vm->vgic.lock);
}

bool vgic_pend_here(struct vcpu *vcpu, u32 intid, u32 pintid)
{
    struct vgic_irq *irq = &vcpu->vgic.private_irqs[intid];

    if (pintid)
        irq->hw_intid = (u16)pintid;
    irq->pending = true;
    /* vgic_update_irq() for its own vCPU, without the kick */
    if (vgic_irq_signalable(&vcpu->vm->vgic, irq))
        vgic_want_set(&vcpu->vgic, intid);
    else
        vgic_want_clear(&vcpu->vgic, intid);
    return vgic_wants_flush(&vcpu->vgic);
}

void vgic_inject(struct vm *vm, struct vcpu *target, u32 intid)
{
    vgic_pend(vm, target, intid, 0);
}

/* An interrupt line; @owner is NULL for SPIs, the vCPU for its private ones. */
static void vgic_line(struct vm *vm, struct vcpu *owner, u32 intid, bool level)
{
    struct vgic_irq *irq;

    spin_lock(&vm->vgic.lock);
    irq = vgic_get_irq(vm, owner, intid);
    if (irq && irq->level != level) {
        irq->level = level;
        if (irq->edge && level)
            irq->pending = true; /* a rising edge on an edge-configured line */
        else if (!level && !irq->edge && irq->in_lr)
            vgic_lr_changed(vm, irq); /* a pending-only LR of it goes (lr_line_dropped) */
        vgic_update(vm, owner, irq);
    }
    spin_unlock(&vm->vgic.lock);
}

void vgic_set_level(struct vm *vm, u32 intid, bool level)
{
    vgic_line(vm, NULL, intid, level);
}

/* The line of a private interrupt of @vcpu (an emulated per-CPU device). */
void vgic_set_private_level(struct vcpu *vcpu, u32 intid, bool level)
{
    vgic_line(vcpu->vm, vcpu, intid, level);
}


/* A physical SPI forwarded with the HW bit: the guest's deactivation ends it. */
void vgic_inject_hw_spi(struct vm *vm, u32 intid, u32 pintid)
{
    vgic_pend(vm, NULL, intid, pintid);
}


/* Lines are SPIs: line N is INTID 32 + N. */
void vgic_set_line(struct vm *vm, u32 line, bool level)
{
    if (line < VGIC_NR_SPIS)
        vgic_set_level(vm, VGIC_NR_PRIVATE + line, level);
}

void vgic_inject_line(struct vm *vm, u32 line)
{
    if (line < VGIC_NR_SPIS)
        vgic_inject(vm, NULL, VGIC_NR_PRIVATE + line);
}

void vgic_forward_line(struct vm *vm, u32 line, u32 hwirq)
{
    if (line < VGIC_NR_SPIS)
        vgic_inject_hw_spi(vm, VGIC_NR_PRIVATE + line, hwirq);
}

void vgic_inject_sgi_from(struct vm *vm, struct vcpu *target, u32 sgi, unsigned int src)
{
    struct vgic_irq *irq;

    spin_lock(&vm->vgic.lock);
    irq = vgic_get_irq(vm, target, sgi & 0xf);
    irq->sgi_sources |= (u8)BIT(src);
    irq->pending = true;
    vgic_update(vm, target, irq);
    spin_unlock(&vm->vgic.lock);
}
