/*
 * The version-independent vGIC invariants (see vgic_check.h), moved out of
 * fuzz_vgic.c so the vGICv2 harness checks the same ones.
 */
#include <string.h>

#include <keel/gic_regs.h>

#include "fake_lr.h"
#include "fuzz_input.h"
#include "vgic_check.h"

static struct vgic_check_lr lr_spi[VGIC_NR_IRQS], lr_priv[VM_MAX_VCPUS][VGIC_NR_PRIVATE];

static bool pending_now(const struct vgic_irq *irq)
{
    return irq->pending || (!irq->edge && irq->level);
}

static bool group_on(const struct vm *vm, const struct vgic_irq *irq)
{
    return vm->vgic.ctlr & (irq->group1 ? GICD_CTLR_EnableGrp1 : GICD_CTLR_EnableGrp0);
}

static bool wanted(const struct vcpu *v, u32 intid)
{
    return v->vgic.want[intid / 64] & BIT(intid % 64);
}

const struct vgic_check_lr *vgic_check_lr_of(const struct vgic_irq *irq, const struct vcpu *owner)
{
    return owner ? &lr_priv[owner->id][irq->intid] : &lr_spi[irq->intid];
}

/* SPIs may be in any vCPU's LRs, private ones only in their owner's. */
static void gather_lrs(struct vm *vm)
{
    memset(lr_spi, 0, sizeof(lr_spi));
    memset(lr_priv, 0, sizeof(lr_priv));
    for (unsigned int v = 0; v < vm->cfg.nr_vcpus; v++) {
        for (unsigned int n = 0; n < fake_lr.nr_lrs; n++) {
            if (!(vm->vcpus[v]->vgic.used_lrs & BIT(n)))
                continue;
            u16 intid = vm->vcpus[v]->vgic.lr_intid[n];
            FUZZ_CHECK(intid < VGIC_NR_IRQS, "vCPU %u LR %u holds INTID %u", v, n, intid);
            struct vgic_check_lr *e = intid < VGIC_NR_PRIVATE ? &lr_priv[v][intid] : &lr_spi[intid];
            e->count++;
            e->holder = (u8)v;
            e->lr = (u8)n;
        }
    }
}

static void check_irq(struct vm *vm, struct vgic_irq *irq, struct vcpu *owner)
{
    struct vcpu *t = owner;
    const struct vgic_check_lr *e = vgic_check_lr_of(irq, owner);

    if (!owner) {
        FUZZ_CHECK(irq->target < vm->cfg.nr_vcpus || irq->target == 0xff,
                   "SPI %u has target %u", irq->intid, irq->target);
        t = irq->target < vm->cfg.nr_vcpus ? vm->vcpus[irq->target] : NULL;
    }
    if (t && !irq->in_lr && irq->enabled && pending_now(irq) && group_on(vm, irq))
        FUZZ_CHECK(wanted(t, irq->intid), "INTID %u pending and enabled but not queued on vCPU %u",
                   irq->intid, t->id);
    if (irq->in_lr) {
        FUZZ_CHECK(e->count == 1, "INTID %u (owner %d) in_lr but in %u LRs", irq->intid,
                   owner ? (int)owner->id : -1, e->count);
        FUZZ_CHECK(e->lr == irq->lr, "INTID %u in LR %u, irq->lr says %u", irq->intid, e->lr,
                   irq->lr);
        FUZZ_CHECK(!t || e->holder == t->id, "INTID %u in an LR of vCPU %u, target %u",
                   irq->intid, e->holder, t->id);
    } else {
        FUZZ_CHECK(e->count == 0, "INTID %u not in_lr but in an LR of vCPU %u", irq->intid,
                   e->holder);
    }
}

/* Every want bit: on the interrupt's target only, and for a deliverable interrupt only. */
static void check_wants(struct vm *vm, struct vcpu *v)
{
    for (unsigned int w = 0; w < VGIC_NR_IRQS / 64; w++) {
        FUZZ_CHECK(!(v->want_words & BIT(w)) == !v->vgic.want[w],
                   "vCPU %u: want_words %#x, want[%u] %#llx", v->id, v->want_words, w,
                   (unsigned long long)v->vgic.want[w]);
        for (u64 bits = v->vgic.want[w]; bits; bits &= bits - 1) {
            u32 intid = w * 64 + (u32)__builtin_ctzll(bits);
            struct vgic_irq *irq = vgic_get_irq(vm, v, intid);
            FUZZ_CHECK(irq, "vCPU %u wants INTID %u", v->id, intid);
            FUZZ_CHECK(intid < VGIC_NR_PRIVATE || irq->target == v->id,
                       "SPI %u queued on vCPU %u, its target is %u", intid, v->id, irq->target);
            FUZZ_CHECK(irq->enabled && pending_now(irq) && group_on(vm, irq),
                       "INTID %u queued on vCPU %u: enabled %d pending %d level %d edge %d "
                       "group%d on %d", intid, v->id, irq->enabled, irq->pending, irq->level,
                       irq->edge, irq->group1, group_on(vm, irq));
        }
    }
}

/* Used LRs within the file, unused ones empty, used ones pointing back at their interrupt. */
static void check_lr_file(struct vm *vm, struct vcpu *v)
{
    struct vgic_cpu *c = &v->vgic;

    FUZZ_CHECK(!(c->used_lrs >> fake_lr.nr_lrs), "vCPU %u uses LRs %#x of %u", v->id, c->used_lrs,
               fake_lr.nr_lrs);
    for (unsigned int n = 0; n < fake_lr.nr_lrs; n++) {
        const struct fake_lr *l = &fake_lr.lr[v->id][n];
        if (!(c->used_lrs & BIT(n))) {
            FUZZ_CHECK(!l->pending && !l->active, "vCPU %u: unused LR %u live", v->id, n);
            continue;
        }
        struct vgic_irq *irq = vgic_get_irq(vm, v, c->lr_intid[n]);
        FUZZ_CHECK(irq && irq->in_lr && irq->lr == n && l->intid == c->lr_intid[n],
                   "vCPU %u LR %u: INTID %u does not point back", v->id, n, c->lr_intid[n]);
    }
}

void vgic_check_all(struct vm *vm)
{
    gather_lrs(vm);
    for (u32 i = VGIC_NR_PRIVATE; i < VGIC_NR_IRQS; i++)
        check_irq(vm, &vm->vgic.spis[i - VGIC_NR_PRIVATE], NULL);
    for (unsigned int v = 0; v < vm->cfg.nr_vcpus; v++) {
        struct vcpu *vc = vm->vcpus[v];
        check_wants(vm, vc);
        for (u32 i = 0; i < VGIC_NR_PRIVATE; i++)
            check_irq(vm, &vc->vgic.private_irqs[i], vc);
        check_lr_file(vm, vc);
    }
}
