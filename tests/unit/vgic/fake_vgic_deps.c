/*
 * Fakes for the functions src/irqchip/vgic.c links against (see
 * fake_vgic_deps.h). `nm -u` on vgic.o lists them: vgic_sync,
 * vgic_lr_state, vgic_lr_set_state, vgic_lr_changed, vgic_hw_unpend and vcpu_kick;
 * vgicv3.o adds vgic_inject_here; vgicv2.o (tests/unit/vgicv2) adds vgic_lr_sgi_source.
 */
#include <string.h>

#include <keel/vm.h>

#include "fake_vgic_deps.h"

struct fake_vgic_log fake_vgic;

void fake_vgic_reset(void)
{
    memset(&fake_vgic, 0, sizeof(fake_vgic));
}

unsigned int fake_kicks_of(const struct vcpu *v)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < fake_vgic.kicks && i < FAKE_MAX_KICKS; i++)
        if (fake_vgic.kicked[i] == v)
            n++;
    return n;
}

void vcpu_kick(struct vcpu *vcpu)
{
    if (fake_vgic.kicks < FAKE_MAX_KICKS)
        fake_vgic.kicked[fake_vgic.kicks] = vcpu;
    fake_vgic.kicks++;
}

void vgic_sync(struct vcpu *vcpu)
{
    (void)vcpu;
    fake_vgic.syncs++;
}

/* Not in a list register: the software state is authoritative. */
bool vgic_lr_state(struct vgic_irq *irq, bool *pending, bool *active)
{
    (void)irq;
    (void)pending;
    (void)active;
    fake_vgic.lr_state_calls++;
    return false;
}

bool vgic_lr_set_state(struct vgic_irq *irq, int pending, int active)
{
    (void)irq;
    (void)pending;
    (void)active;
    fake_vgic.lr_set_state_calls++;
    return false;
}

/* No SGI source waits in a list register. */
int vgic_lr_sgi_source(struct vgic_irq *irq)
{
    (void)irq;
    return -1;
}

void vgic_hw_unpend(struct vcpu *owner, struct vgic_irq *irq)
{
    (void)owner;
    fake_vgic.hw_unpends++;
    fake_vgic.last_hw_unpend = irq;
}

void vgic_lr_changed(struct vm *vm, struct vgic_irq *irq)
{
    (void)vm;
    (void)irq;
    fake_vgic.lr_changed_calls++;
}

/* The pending half only: the tests look at the want bits a flush would take. */
void vgic_inject_here(struct vcpu *vcpu, u32 intid, u32 pintid)
{
    spin_lock(&vcpu->vm->vgic.lock);
    vgic_pend_here(vcpu, intid, pintid);
    spin_unlock(&vcpu->vm->vgic.lock);
    fake_vgic.injects_here++;
    fake_vgic.injected_here = vcpu;
}

/* No forwarded PPI here: nothing to resample. */
bool vgic_hw_resample_locked(struct vcpu *vcpu)
{
    (void)vcpu;
    return false;
}
