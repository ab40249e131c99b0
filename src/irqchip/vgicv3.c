/*
 * vGICv3 (Arm IHI 0069, chapter 12, "Programmers' model"): the distributor
 * and redistributor register maps, and SGIs from ICC_SGI1R_EL1. The guest
 * sees a GIC with one security state (GICD_CTLR.DS = 1), affinity routing
 * always on, no LPIs and no ITS. Interrupt state is vgic.c's.
 */
#include <keel/gic_regs.h>
#include <keel/string.h>
#include "vgic_internal.h"

/* Byte accesses are allowed to IPRIORITYR only; everything else is 32-bit (IROUTER 64). */
/*
 * IHI 0069 12.1.3: registers are 32-bit; IPRIORITYR also takes byte (and
 * here halfword) accesses; the 64-bit registers (GICD_IROUTER<n>, GICR_TYPER,
 * GICR_PROPBASER/PENDBASER) also take 64-bit ones.
 */
static bool access_ok(u64 off, unsigned int size, bool prio_range, bool is64)
{
    if (!IS_ALIGNED(off, size))
        return false;
    if (prio_range)
        return size != 8;
    return size == 4 || (size == 8 && is64);
}

static bool gicd_is_irouter(u64 off)
{
    return off >= GICD_IROUTER && off < GICD_IROUTER + 8 * 1020;
}

/*
 * Byte-accessible besides IPRIORITYR: GICD_ITARGETSR<n>, CPENDSGIR<n> and
 * SPENDSGIR<n>, which read as zero and ignore writes with affinity routing.
 */
static bool gicd_is_byte_reg(u64 off)
{
    return (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 0x400) ||
           (off >= 0x0800 && off < 0x0c00) || (off >= 0x0f10 && off < 0x0f30);
}

/* ---- distributor ---- */

static u64 gicd_typer(struct vm *vm)
{
    return (VGIC_NR_IRQS / 32 - 1) | (9U << 19) /* IDbits: 10 */ | BIT(25) /* No1N */;
}

static u64 gicd_read_locked(struct vcpu *vcpu, u64 off, unsigned int size)
{
    struct vm *vm = vcpu->vm;
    u64 val = 0;

    if (vgic_irq_regs_read(vm, vcpu, off, size, &val, VGIC_NR_PRIVATE, VGIC_NR_IRQS))
        return val;
    if (off >= GICD_IROUTER + 8 * 32 && off < GICD_IROUTER + 8 * VGIC_NR_IRQS) {
        struct vgic_irq *irq = vgic_get_irq(vm, NULL, (u32)(off - GICD_IROUTER) / 8);
        val = irq->irouter;
        if (size == 8)
            return val;
        return (off & 4) ? val >> 32 : val & 0xffffffffUL;
    }
    switch (off) {
    case GICD_CTLR: return vm->vgic.ctlr;
    case GICD_TYPER: return gicd_typer(vm);
    case GICD_IIDR: return KEEL_GIC_IIDR;
    case GICD_PIDR2: return GIC_PIDR2_ARCH_GICv3;
    }
    return 0; /* reserved and unimplemented registers: RAZ */
}

static int __attribute__((noinline)) vgicd_read_state(struct vcpu *vcpu, u64 off,
                                                      unsigned int size, u64 *val)
{
    struct vm *vm = vcpu->vm;

    if (!access_ok(off, size, gicd_is_byte_reg(off), gicd_is_irouter(off)))
        return -1;
    vgic_sync(vcpu); /* fold back finished LRs: their state and routes are current again */
    spin_lock(&vm->vgic.lock);
    *val = gicd_read_locked(vcpu, off, size);
    spin_unlock(&vm->vgic.lock);
    return 0;
}

int vgicd_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val)
{
    /*
     * Identification registers hold no state: answered here, in a leaf
     * function with no lock and no stack frame, the rest out of line.
     */
    if (size == 4) {
        switch (off) {
        case GICD_TYPER: *val = gicd_typer(vcpu->vm); return 0;
        case GICD_IIDR: *val = KEEL_GIC_IIDR; return 0;
        case GICD_PIDR2: *val = GIC_PIDR2_ARCH_GICv3; return 0;
        }
    }
    return vgicd_read_state(vcpu, off, size, val);
}

static void gicd_write_irouter(struct vm *vm, u64 off, unsigned int size, u64 val)
{
    struct vgic_irq *irq = vgic_get_irq(vm, NULL, (u32)(off - GICD_IROUTER) / 8);

    if (size == 8)
        irq->irouter = val;
    else if (off & 4)
        irq->irouter = (irq->irouter & 0xffffffffUL) | (val << 32);
    else
        irq->irouter = (irq->irouter & ~0xffffffffUL) | (val & 0xffffffffUL);
    irq->irouter &= MPIDR_AFF_BITS; /* IRM is RAZ/WI: GICD_TYPER.No1N = 1 */
    /* An affinity that names no vCPU leaves the interrupt unrouted (never delivered). */
    vgic_reroute(vm, irq);
}

int vgicd_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = vcpu->vm;

    if (!access_ok(off, size, gicd_is_byte_reg(off), gicd_is_irouter(off)))
        return -1;
    vgic_sync(vcpu); /* fold back finished LRs: their state and routes are current again */
    spin_lock(&vm->vgic.lock);
    if (vgic_irq_regs_write(vm, vcpu, off, size, val, VGIC_NR_PRIVATE, VGIC_NR_IRQS))
        ;
    else if (off >= GICD_IROUTER + 8 * 32 && off < GICD_IROUTER + 8 * VGIC_NR_IRQS)
        gicd_write_irouter(vm, off, size, val);
    else if (off == GICD_CTLR)
        vgic_write_ctlr(vm, (u32)val);
    /* everything else is read-only or reserved: writes ignored */
    spin_unlock(&vm->vgic.lock);
    return 0;
}

/* ---- redistributors: one 128 KiB pair of frames per vCPU ---- */

static u64 gicr_typer(struct vcpu *t)
{
    u64 aff = t->arch.vmpidr;
    u64 aff_value = (aff & 0xffffff) | ((aff >> 32) & 0xff) << 24;
    bool last = t->id == t->vm->cfg.nr_vcpus - 1;

    return (aff_value << 32) | ((u64)t->id << 8) | (last ? GICR_TYPER_Last : 0);
}

static u64 gicr_rd_read(struct vcpu *t, u64 off, unsigned int size)
{
    switch (off) {
    case GICR_CTLR: return t->vgic.gicr_ctlr;
    case GICR_IIDR: return KEEL_GIC_IIDR;
    case GICR_TYPER: return size == 8 ? gicr_typer(t) : gicr_typer(t) & 0xffffffff;
    case GICR_TYPER + 4: return gicr_typer(t) >> 32;
    case GICR_WAKER:
        return t->vgic.sleeping ? (GICR_WAKER_ProcessorSleep | GICR_WAKER_ChildrenAsleep) : 0;
    case GICR_PIDR2: return GIC_PIDR2_ARCH_GICv3;
    }
    return 0;
}

static struct vcpu *gicr_frame_vcpu(struct vcpu *vcpu, u64 *off)
{
    struct vm *vm = vcpu->vm;
    u64 idx = *off / VGICV3_GICR_STRIDE;

    *off %= VGICV3_GICR_STRIDE;
    return idx < vm->cfg.nr_vcpus ? vm->vcpus[idx] : NULL;
}

/*
 * Splits a redistributor-region offset into the vCPU it belongs to (@t,
 * NULL past the last frame) and the offset in its frames. -1 for an access
 * size the register does not allow.
 */
static int gicr_decode(struct vcpu *vcpu, u64 *off, unsigned int size, struct vcpu **t)
{
    u64 o, sgi_off;
    bool prio, is64;

    *t = gicr_frame_vcpu(vcpu, off);
    o = *off;
    sgi_off = o - GICR_SGI_BASE;
    prio = o >= GICR_SGI_BASE && sgi_off >= GICD_IPRIORITYR && sgi_off < GICD_IPRIORITYR + 0x20;
    is64 = o == GICR_TYPER || o == GICR_PROPBASER || o == GICR_PENDBASER;
    return access_ok(o, size, prio, is64) ? 0 : -1;
}

int vgicr_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val)
{
    struct vm *vm = vcpu->vm;
    struct vcpu *t;

    if (gicr_decode(vcpu, &off, size, &t))
        return -1;
    *val = 0;
    if (!t)
        return 0;
    vgic_sync(vcpu); /* as in vgicd_read() */
    spin_lock(&vm->vgic.lock);
    if (off < GICR_SGI_BASE)
        *val = gicr_rd_read(t, off, size);
    else
        vgic_irq_regs_read(vm, t, off - GICR_SGI_BASE, size, val, 0, VGIC_NR_PRIVATE);
    spin_unlock(&vm->vgic.lock);
    return 0;
}

int vgicr_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = vcpu->vm;
    struct vcpu *t;

    if (gicr_decode(vcpu, &off, size, &t))
        return -1;
    if (!t)
        return 0;
    vgic_sync(vcpu); /* as in vgicd_read() */
    spin_lock(&vm->vgic.lock);
    if (off == GICR_WAKER)
        t->vgic.sleeping = val & GICR_WAKER_ProcessorSleep;
    else if (off >= GICR_SGI_BASE)
        vgic_irq_regs_write(vm, t, off - GICR_SGI_BASE, size, val, 0, VGIC_NR_PRIVATE);
    spin_unlock(&vm->vgic.lock);
    return 0;
}


/* ICC_SGI1R_EL1's Aff1 [23:16], Aff2 [39:32], RS [47:44] and Aff3 [55:48]. */
#define SGIR_AFF_RS (GENMASK(23, 16) | GENMASK(39, 32) | GENMASK(55, 44))

/* The vCPUs an SGI names when their MPIDRs are not vCPU i = Aff0 i (vgic.aff0_is_index). */
static u32 __attribute__((noinline)) sgi_targets_by_mpidr(struct vcpu *vcpu, u64 sgir)
{
    struct vm *vm = vcpu->vm;
    /* a target's Aff3.Aff2.Aff1 and Aff0[7:4] must be these; Aff0[3:0] picks a TargetList bit */
    u64 match = ((sgir >> 16) & 0xff) << 8 | ((sgir >> 32) & 0xff) << 16 |
                ((sgir >> 48) & 0xffUL) << 32 | ((sgir >> 44) & 0xf) << 4;
    u16 targets = sgir & 0xffff;
    u32 hit = 0;

    if ((vcpu->arch.vmpidr & 0xff00fffff0UL) == match && targets == BIT(vcpu->arch.vmpidr & 0xf))
        return BIT(vcpu->id); /* to itself alone: affinities are unique, no other vCPU matches */
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        u64 mpidr = vm->vcpus[i]->arch.vmpidr;

        if ((mpidr & 0xff00fffff0UL) == match && (targets & BIT(mpidr & 0xf)))
            hit |= BIT(i);
    }
    return hit;
}

/*
 * ICC_SGI1R_EL1 (IHI 0069 12.2.22): the vCPUs named by affinity and target
 * list, or all but the sender (IRM).
 */
void vgic_send_sgi(struct vcpu *vcpu, u64 sgir)
{
    struct vm *vm = vcpu->vm;
    u32 all = (u32)(BIT(vm->cfg.nr_vcpus) - 1);
    u32 intid = (sgir >> 24) & 0xf;
    u32 hit;

    /* the targets first, then one lock for all of them (vgic_pend_sgi) */
    if (sgir & BIT(40)) /* IRM: every vCPU but the sender */
        hit = all & ~(u32)BIT(vcpu->id);
    else if (!vm->vgic.aff0_is_index)
        hit = sgi_targets_by_mpidr(vcpu, sgir);
    else if (sgir & SGIR_AFF_RS) /* vCPU i is Aff0 i: no vCPU above Aff0 15 */
        hit = 0;
    else
        hit = (u32)sgir & 0xffff & all; /* TargetList bit i is vCPU i */
    if (hit == BIT(vcpu->id)) /* to itself: it runs here, and flushes as it pends */
        vgic_inject_here(vcpu, intid, 0);
    else if (hit)
        vgic_pend_sgi(vm, hit, intid);
}

/* Reset state (IHI 0069 12.9.4: GICD_CTLR.ARE and DS as this vGIC fixes them). Lock held. */
void vgicv3_reset(struct vm *vm)
{
    vgic_init_vm(vm);
    vm->vgic.ctlr = GICD_CTLR_ARE | GICD_CTLR_DS;
    vm->vgic.aff0_is_index = vm->cfg.nr_vcpus <= 16;
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        vgic_init_vcpu(vm->vcpus[i]);
        if ((vm->vcpus[i]->arch.vmpidr & MPIDR_AFF_BITS) != i)
            vm->vgic.aff0_is_index = false;
    }
}
