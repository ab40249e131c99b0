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
#include <keel/vcpu.h>
#include <keel/string.h>

/* ProductID 'k', Arm's JEP106 code as KVM does: guests key errata off IIDR */
#define KEEL_GIC_IIDR ((0x6bU << 24) | 0x43b)

static struct vm *vm_of(struct vcpu *v)
{
    return v->vm;
}

static struct vcpu *irq_target(struct vm *vm, struct vcpu *owner, struct vgic_irq *irq)
{
    if (irq->intid < VGIC_NR_PRIVATE)
        return owner;
    return irq->target < vm->cfg.nr_vcpus ? vm->vcpus[irq->target] : NULL;
}

static bool irq_is_pending(const struct vgic_irq *irq)
{
    return irq->pending || (!irq->edge && irq->level);
}

/*
 * Called with the vgic lock held after any change to @irq. Queues it for an
 * LR on its target when it can be signalled, and wakes that target.
 */
static void vgic_update(struct vm *vm, struct vcpu *owner, struct vgic_irq *irq)
{
    struct vcpu *t = irq_target(vm, owner, irq);

    if (!t)
        return;
    if (vgic_irq_signalable(&vm->vgic, irq)) {
        u64 *w = &t->vgic.want[irq->intid / 64], bit = BIT(irq->intid % 64);
        /*
         * Kick only on the 0 -> 1 transition: if the bit was set already, the
         * target was kicked for it and has not flushed yet, so a guest ringing
         * a doorbell in a loop costs its peer one exit, not one per ring.
         */
        if (!(*w & bit)) {
            *w |= bit;
            vcpu_kick(t);
        }
    } else {
        t->vgic.want[irq->intid / 64] &= ~BIT(irq->intid % 64);
    }
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
    vm->vgic.ctlr = GICD_CTLR_ARE | GICD_CTLR_DS;
    vm->vgic.nr_vcpus = vm->cfg.nr_vcpus;
    for (u32 i = 0; i < VGIC_NR_SPIS; i++)
        vgic_irq_defaults(&vm->vgic.spis[i], i + VGIC_NR_PRIVATE);
}

void vgic_init_vcpu(struct vcpu *vcpu)
{
    struct vgic_cpu *c = &vcpu->vgic;

    memset(c, 0, sizeof(*c));
    for (u32 i = 0; i < VGIC_NR_PRIVATE; i++)
        vgic_irq_defaults(&c->private_irqs[i], i);
    c->sleeping = true;
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
    case R_CPEND: return irq_is_pending(irq) || lr_pending;
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
static bool irq_regs_read(struct vm *vm, struct vcpu *owner, u64 off, unsigned int size, u64 *val,
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

static bool irq_regs_write(struct vm *vm, struct vcpu *owner, u64 off, unsigned int size, u64 val,
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
    struct vm *vm = vm_of(vcpu);
    u64 val = 0;

    if (irq_regs_read(vm, vcpu, off, size, &val, VGIC_NR_PRIVATE, VGIC_NR_IRQS))
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
    struct vm *vm = vm_of(vcpu);

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
        case GICD_TYPER: *val = gicd_typer(vm_of(vcpu)); return 0;
        case GICD_IIDR: *val = KEEL_GIC_IIDR; return 0;
        case GICD_PIDR2: *val = GIC_PIDR2_ARCH_GICv3; return 0;
        }
    }
    return vgicd_read_state(vcpu, off, size, val);
}

static void gicd_write_ctlr(struct vm *vm, u64 val)
{
    vm->vgic.ctlr = (val & (GICD_CTLR_EnableGrp0 | GICD_CTLR_EnableGrp1)) | GICD_CTLR_ARE |
                    GICD_CTLR_DS;
    for (u32 i = 0; i < VGIC_NR_SPIS; i++)
        vgic_update(vm, NULL, &vm->vgic.spis[i]);
    for (unsigned int c = 0; c < vm->cfg.nr_vcpus; c++)
        for (u32 i = 0; i < VGIC_NR_PRIVATE; i++)
            vgic_update(vm, vm->vcpus[c], &vm->vcpus[c]->vgic.private_irqs[i]);
}

static void gicd_write_irouter(struct vm *vm, u64 off, unsigned int size, u64 val)
{
    struct vgic_irq *irq = vgic_get_irq(vm, NULL, (u32)(off - GICD_IROUTER) / 8);
    struct vcpu *t;

    if (size == 8)
        irq->irouter = val;
    else if (off & 4)
        irq->irouter = (irq->irouter & 0xffffffffUL) | (val << 32);
    else
        irq->irouter = (irq->irouter & ~0xffffffffUL) | (val & 0xffffffffUL);
    irq->irouter &= MPIDR_AFF_BITS; /* IRM is RAZ/WI: GICD_TYPER.No1N = 1 */
    t = vm_vcpu_by_mpidr(vm, irq->irouter);
    /* An affinity that names no vCPU leaves the interrupt unrouted (never delivered). */
    if (irq->in_lr && t && t->id != irq->target)
        return; /* moves once the current delivery completes */
    if (irq->target < vm->cfg.nr_vcpus) /* no longer queued where it was going */
        vm->vcpus[irq->target]->vgic.want[irq->intid / 64] &= ~BIT(irq->intid % 64);
    irq->target = t ? t->id : 0xff;
    vgic_update(vm, NULL, irq);
}

int vgicd_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = vm_of(vcpu);

    if (!access_ok(off, size, gicd_is_byte_reg(off), gicd_is_irouter(off)))
        return -1;
    vgic_sync(vcpu); /* fold back finished LRs: their state and routes are current again */
    spin_lock(&vm->vgic.lock);
    if (irq_regs_write(vm, vcpu, off, size, val, VGIC_NR_PRIVATE, VGIC_NR_IRQS))
        ;
    else if (off >= GICD_IROUTER + 8 * 32 && off < GICD_IROUTER + 8 * VGIC_NR_IRQS)
        gicd_write_irouter(vm, off, size, val);
    else if (off == GICD_CTLR)
        gicd_write_ctlr(vm, val);
    /* everything else is read-only or reserved: writes ignored */
    spin_unlock(&vm->vgic.lock);
    return 0;
}

/* ---- redistributors: one 128 KiB pair of frames per vCPU ---- */

static u64 gicr_typer(struct vcpu *t)
{
    u64 aff = t->vmpidr;
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
    struct vm *vm = vm_of(vcpu);
    u64 idx = *off / GUEST_GICR_STRIDE;

    *off %= GUEST_GICR_STRIDE;
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
    struct vm *vm = vm_of(vcpu);
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
        irq_regs_read(vm, t, off - GICR_SGI_BASE, size, val, 0, VGIC_NR_PRIVATE);
    spin_unlock(&vm->vgic.lock);
    return 0;
}

int vgicr_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = vm_of(vcpu);
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
        irq_regs_write(vm, t, off - GICR_SGI_BASE, size, val, 0, VGIC_NR_PRIVATE);
    spin_unlock(&vm->vgic.lock);
    return 0;
}

/* ---- injection ---- */

/* Latches @intid pending (forwarded from physical @pintid when non-zero). */
static void vgic_pend(struct vm *vm, struct vcpu *target, u32 intid, u32 pintid)
{
    struct vgic_irq *irq;

    spin_lock(&vm->vgic.lock);
    irq = vgic_get_irq(vm, target, intid);
    if (irq) {
        if (pintid)
            irq->hw_intid = (u16)pintid;
        irq->pending = true;
        vgic_update(vm, target, irq);
    }
    spin_unlock(&vm->vgic.lock);
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
    vgic_line(vm_of(vcpu), vcpu, intid, level);
}

/* The virtual timer, forwarded with the HW bit to the vCPU it belongs to. */
void vgic_inject_hw(struct vcpu *vcpu, u32 intid, u32 pintid)
{
    vgic_pend(vm_of(vcpu), vcpu, intid, pintid);
}

/* A physical SPI forwarded with the HW bit: the guest's deactivation ends it. */
void vgic_inject_hw_spi(struct vm *vm, u32 intid, u32 pintid)
{
    vgic_pend(vm, NULL, intid, pintid);
}

void vgic_send_sgi(struct vcpu *vcpu, u64 sgir)
{
    struct vm *vm = vm_of(vcpu);
    u32 intid = (sgir >> 24) & 0xf;
    bool irm = sgir & BIT(40);
    u64 aff321 = ((sgir >> 16) & 0xff) << 8 | ((sgir >> 32) & 0xff) << 16 | ((sgir >> 48) & 0xffUL) << 32;
    unsigned int rs = (sgir >> 44) & 0xf;
    u16 targets = sgir & 0xffff;

    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *t = vm->vcpus[i];
        u64 mpidr = t->vmpidr;
        bool hit;

        if (irm) {
            hit = t != vcpu;
        } else {
            unsigned int aff0 = mpidr & 0xff;
            hit = (mpidr & 0xff00ffff00UL) == aff321 && aff0 / 16 == rs &&
                  (targets & BIT(aff0 % 16));
        }
        if (hit)
            vgic_inject(vm, t, intid);
    }
}
