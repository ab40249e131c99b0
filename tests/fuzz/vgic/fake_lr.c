/*
 * The fake list-register half (see fake_lr.h). Keel's own bookkeeping of
 * its LRs (vgic_cpu.used_lrs, lr_intid, vgic_irq.in_lr and .lr) is kept as
 * the real half keeps it, so the harness can check it against the fake LR
 * contents.
 */
#include <stdlib.h>
#include <string.h>

#include <keel/gic_regs.h>

#include "fake_lr.h"
#include "fuzz_input.h"

struct fake_lr_state fake_lr;

void fake_lr_reset(unsigned int nr_lrs)
{
    static int like_current = -1;

    if (like_current < 0) {
        const char *e = getenv("FUZZ_VGIC_LR");
        like_current = e && !strcmp(e, "old");
    }
    memset(&fake_lr, 0, sizeof(fake_lr));
    fake_lr.nr_lrs = nr_lrs;
    fake_lr.like_current = like_current;
}

void vcpu_kick(struct vcpu *v)
{
    fake_lr.kicks[v->id]++;
}

static struct fake_lr *lr_of(struct vcpu *v, unsigned int n)
{
    return &fake_lr.lr[v->id][n];
}

static bool lr_empty(const struct fake_lr *l)
{
    return !l->pending && !l->active;
}

static bool group_enabled(struct vm *vm, const struct vgic_irq *irq)
{
    return vm->vgic.ctlr & (irq->group1 ? GICD_CTLR_EnableGrp1 : GICD_CTLR_EnableGrp0);
}

/*
 * Folds back the LRs the guest has finished with. An SPI follows the route
 * its IROUTER (v2: ITARGETSR) names now (the distributor leaves an active
 * one in an LR where it is); one still pending is queued again on its
 * target, and only there.
 */
/* Empties LR @n of @v; its interrupt follows its route now and is queued there if still due. */
static void fold_back(struct vcpu *v, unsigned int n)
{
    struct vgic_cpu *c = &v->vgic;
    struct vm *vm = v->vm;
    struct vgic_irq *irq = vgic_get_irq(vm, v, c->lr_intid[n]);
    struct vcpu *t = v;

    FUZZ_CHECK(irq, "LR %u of vCPU %u holds INTID %u, which does not exist", n, v->id,
               c->lr_intid[n]);
    memset(lr_of(v, n), 0, sizeof(struct fake_lr));
    c->used_lrs &= ~BIT(n);
    irq->in_lr = false;
    irq->active = false;
    if (irq->intid >= VGIC_NR_PRIVATE) {
        t = vgic_spi_route(vm, irq);
        if (irq->target < vm->cfg.nr_vcpus && !fake_lr.like_current)
            vgic_want_clear(&vm->vcpus[irq->target]->vgic, irq->intid);
        irq->target = t ? (u8)t->id : 0xff;
    }
    if (t && (irq->pending || (!irq->edge && irq->level)) && irq->enabled &&
        (fake_lr.like_current || group_enabled(vm, irq))) {
        vgic_want_set(&t->vgic, irq->intid);
        if (t != v)
            vcpu_kick(t);
    }
}

static void reclaim(struct vcpu *v)
{
    for (unsigned int n = 0; n < fake_lr.nr_lrs; n++)
        if ((v->vgic.used_lrs & BIT(n)) && lr_empty(lr_of(v, n)))
            fold_back(v, n);
}

void vgic_sync(struct vcpu *v)
{
    if (v->vgic.used_lrs)
        reclaim(v);
}

static int want_pick(struct vcpu *v)
{
    int best = -1;
    u8 best_prio = 0xff;

    for (unsigned int i = 0; i < VGIC_NR_IRQS; i++) {
        if (!(v->vgic.want[i / 64] & BIT(i % 64)))
            continue;
        struct vgic_irq *irq = vgic_get_irq(v->vm, v, i);
        FUZZ_CHECK(irq, "vCPU %u wants INTID %u, which does not exist", v->id, i);
        if (best < 0 || irq->priority < best_prio) {
            best = (int)i;
            best_prio = irq->priority;
        }
    }
    return best;
}

/* vGICv2 SGIs: the lowest source waiting leaves the set for the LR, as vgic_lr.c does. */
static u8 take_source(struct vgic_irq *irq)
{
    u8 src;

    if (!irq->sgi_sources)
        return 0;
    src = (u8)__builtin_ctz(irq->sgi_sources);
    irq->sgi_sources &= (u8)~BIT(src);
    return src;
}

void fake_lr_flush(struct vcpu *v)
{
    struct vgic_cpu *c = &v->vgic;
    u32 all = (u32)(BIT(fake_lr.nr_lrs) - 1);
    int intid;

    if (!vgic_wants_flush(c))
        return;
    reclaim(v);
    while ((intid = want_pick(v)) >= 0) {
        struct vgic_irq *irq = vgic_get_irq(v->vm, v, (u32)intid);
        if (irq->in_lr) {
            /* Already in an LR (active): it must be one of this vCPU's. */
            FUZZ_CHECK((c->used_lrs & BIT(irq->lr)) && c->lr_intid[irq->lr] == intid,
                       "INTID %d queued on vCPU %u while in another vCPU's LR %u", intid, v->id,
                       irq->lr);
            /* v2: another source's SGI waits for this LR to be done, not in it */
            if (!irq->sgi_sources)
                lr_of(v, irq->lr)->pending = true;
        } else {
            u32 free = all & ~c->used_lrs;
            if (!free)
                break; /* the real half asks for an underflow maintenance IRQ */
            unsigned int n = __builtin_ctz(free);
            *lr_of(v, n) = (struct fake_lr){ .pending = true, .active = irq->active,
                                             .hw = irq->hw_intid != 0, .intid = (u16)intid,
                                             .pintid = irq->hw_intid, .source = take_source(irq) };
            c->used_lrs |= BIT(n);
            c->lr_intid[n] = (u16)intid;
            irq->in_lr = true;
            irq->lr = (u8)n;
        }
        irq->pending = irq->sgi_sources != 0;
        vgic_want_clear(c, intid);
    }
}

void fake_lr_guest_ack(struct vcpu *v, unsigned int n)
{
    struct fake_lr *l = lr_of(v, n % fake_lr.nr_lrs);

    if (l->pending && !l->active) {
        l->pending = false;
        l->active = true;
    }
}

void fake_lr_guest_eoi(struct vcpu *v, unsigned int n)
{
    struct fake_lr *l = lr_of(v, n % fake_lr.nr_lrs);

    if (l->active) {
        l->active = false;
        if (l->hw)
            fake_lr.deactivations++;
    }
}

int fake_lr_find(struct vcpu *v, u32 intid)
{
    for (unsigned int n = 0; n < fake_lr.nr_lrs; n++)
        if ((v->vgic.used_lrs & BIT(n)) && v->vgic.lr_intid[n] == intid)
            return (int)n;
    return -1;
}

/*
 * GICC_DIR (vGICv2's trapped page): the INTID alone reaches here, the
 * CPUID of an SGI's source masked off; its LR on this vCPU, if active,
 * is deactivated as the guest's EOI does it.
 */
void vgic_dir(struct vcpu *v, u64 val)
{
    int n;

    FUZZ_CHECK(val < 1024, "vgic_dir(%#llx): more than an INTID", (unsigned long long)val);
    n = fake_lr_find(v, (u32)val);
    if (n >= 0)
        fake_lr_guest_eoi(v, (unsigned int)n);
}

/* The LR holding @irq on the vCPU running here, as vgic_lr.c finds it, or -1. */
static int lr_here(struct vgic_irq *irq)
{
    struct vcpu *self = fake_lr.current;

    if (!self || !irq->in_lr || !(self->vgic.used_lrs & BIT(irq->lr)) ||
        vgic_get_irq(self->vm, self, self->vgic.lr_intid[irq->lr]) != irq)
        return -1;
    return irq->lr;
}

bool vgic_lr_state(struct vgic_irq *irq, bool *pending, bool *active)
{
    int n = lr_here(irq);

    if (n < 0)
        return false;
    *pending = lr_of(fake_lr.current, (unsigned int)n)->pending;
    *active = lr_of(fake_lr.current, (unsigned int)n)->active;
    return true;
}

bool vgic_lr_set_state(struct vgic_irq *irq, int pending, int active)
{
    int n = lr_here(irq);

    if (n < 0)
        return false;
    struct fake_lr *l = lr_of(fake_lr.current, (unsigned int)n);
    bool was = !lr_empty(l);
    if (pending >= 0)
        l->pending = pending;
    if (active >= 0)
        l->active = active;
    if (l->hw && was && lr_empty(l))
        fake_lr.deactivations++;
    return true;
}

void vgic_hw_unpend(struct vcpu *owner, struct vgic_irq *irq)
{
    if (irq->hw_intid && (irq->intid >= VGIC_NR_PRIVATE || owner == fake_lr.current))
        fake_lr.deactivations++;
}

/* The vCPU whose LR file holds SPI @irq, and the LR, or NULL. */
static struct vcpu *spi_holder(struct vm *vm, const struct vgic_irq *irq, unsigned int *n)
{
    for (unsigned int v = 0; v < vm->cfg.nr_vcpus; v++) {
        int i = fake_lr_find(vm->vcpus[v], irq->intid);
        if (i >= 0) {
            *n = (unsigned int)i;
            return vm->vcpus[v];
        }
    }
    return NULL;
}

/*
 * A priority, group or route change of an interrupt held in an LR. The fake
 * keeps neither priority nor group in its LRs; an SPI only pending there
 * and routed elsewhere now is given back and moves (vgic.h's contract; the
 * real half does it on the holder's CPU after a kick, here at once). What
 * is checked is that vgic.c only asks for interrupts really in an LR.
 */
void vgic_lr_changed(struct vm *vm, struct vgic_irq *irq)
{
    struct vcpu *holder;
    unsigned int n;

    FUZZ_CHECK(irq->in_lr, "vgic_lr_changed for INTID %u, which is in no LR", irq->intid);
    if (irq->intid < VGIC_NR_PRIVATE || !(holder = spi_holder(vm, irq, &n)))
        return;
    if (lr_of(holder, n)->active || vgic_spi_route(vm, irq) == holder)
        return;
    if (irq->edge || irq->hw_intid || !irq->level)
        irq->pending = true; /* the LR's pending state, back in the latch */
    fold_back(holder, n);
}

/* v2 SGIs: the source of @irq pending in an LR of the vCPU running here, or -1. */
int vgic_lr_sgi_source(struct vgic_irq *irq)
{
    int n = lr_here(irq);

    return n >= 0 && lr_of(fake_lr.current, (unsigned int)n)->pending ?
           lr_of(fake_lr.current, (unsigned int)n)->source : -1;
}

/* Pends, then the flush the real one does under the same lock (fake_lr_flush). */
void vgic_inject_here(struct vcpu *v, u32 intid, u32 pintid)
{
    spin_lock(&v->vm->vgic.lock);
    if (vgic_pend_here(v, intid, pintid))
        fake_lr_flush(v);
    spin_unlock(&v->vm->vgic.lock);
}

/* The fake LRs hold no physical line to sample: forwarded PPIs keep what they have. */
bool vgic_hw_resample_locked(struct vcpu *vcpu)
{
    (void)vcpu;
    return false;
}
