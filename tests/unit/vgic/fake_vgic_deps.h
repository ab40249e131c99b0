/*
 * Host stand-ins for what src/irqchip/vgic.c calls outside itself: the list
 * register half (src/arch/aarch64/vgic_lr.c) and vcpu_kick(). Nothing is
 * ever in a list register here; the fakes record how they were called.
 */
#ifndef UNIT_VGIC_FAKE_VGIC_DEPS_H
#define UNIT_VGIC_FAKE_VGIC_DEPS_H

#include <keel/vcpu.h>
#include <keel/vgic.h>

#define FAKE_MAX_KICKS 256

struct fake_vgic_log {
    unsigned int lr_changed_calls;          /* vgic_lr_changed() calls */
    unsigned int kicks;                     /* vcpu_kick() calls */
    struct vcpu *kicked[FAKE_MAX_KICKS];    /* in order (the first FAKE_MAX_KICKS) */
    unsigned int syncs;                     /* vgic_sync() calls */
    unsigned int lr_state_calls, lr_set_state_calls;
    unsigned int hw_unpends;                /* vgic_hw_unpend() calls */
    unsigned int injects_here;              /* vgic_inject_here() calls */
    struct vcpu *injected_here;             /* the last one's vCPU */
    struct vgic_irq *last_hw_unpend;
};

extern struct fake_vgic_log fake_vgic;

void fake_vgic_reset(void);
/* How many times vcpu_kick(@v) was called since the last reset. */
unsigned int fake_kicks_of(const struct vcpu *v);

#endif
