/*
 * The invariants every vGIC version keeps, checked after each step by the
 * vgic (vGICv3) and vgicv2 harnesses: the want bits, Keel's LR bookkeeping
 * against the fake LR file (fake_lr.c), and nothing lost (the list is in
 * fuzz_vgic.c's header comment).
 */
#ifndef FUZZ_VGIC_CHECK_H
#define FUZZ_VGIC_CHECK_H

#include <keel/vm.h>

/* Aborts (FUZZ_CHECK) on the first invariant @vm breaks. */
void vgic_check_all(struct vm *vm);

/* Where each interrupt sits in the fake LR file, as the last vgic_check_all() found it. */
struct vgic_check_lr {
    u8 count, holder, lr;
};
const struct vgic_check_lr *vgic_check_lr_of(const struct vgic_irq *irq, const struct vcpu *owner);

#endif
