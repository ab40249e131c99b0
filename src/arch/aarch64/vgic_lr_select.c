/*
 * The list-register back-end of this host: vgic_lr.c built for GICv3
 * (*_gicv3, ICH_*_EL2) or for GICv2 (*_gicv2, the GICH frame). One test of
 * gic_gich per call instead of one per register access: that cost the
 * self-SGI and virtual-timer paths 20 instructions each.
 */
#include <drivers/gic.h>
#include <keel/vcpu.h>
#include <keel/vgic.h>
#include <keel/vm.h>

#define VGIC_LR_BOTH(ret, name, params, args)                                        \
    ret name##_gicv3 params;                                                         \
    ret name##_gicv2 params;                                                         \
    ret name params                                                                  \
    {                                                                                \
        if (__builtin_expect(gic_gich != 0, 0))                                      \
            return name##_gicv2 args;                                                \
        return name##_gicv3 args;                                                    \
    }

VGIC_LR_BOTH(void, vgic_flush, (struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_inject_here, (struct vcpu *v, u32 intid, u32 pintid), (v, intid, pintid))
VGIC_LR_BOTH(void, vgic_sync, (struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_maintenance, (struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_vcpu_reset_hw, (struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_vcpu_release_hw, (struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_vcpu_put, (struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_vcpu_load, (struct vcpu *v), (v))
VGIC_LR_BOTH(bool, vgic_saved_pending, (const struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_dir, (struct vcpu *v, u64 val), (v, val))
VGIC_LR_BOTH(void, vgic_lr_refresh, (struct vcpu *v), (v))
VGIC_LR_BOTH(void, vgic_lr_changed, (struct vm *vm, struct vgic_irq *irq), (vm, irq))
VGIC_LR_BOTH(bool, vgic_lr_state, (struct vgic_irq *irq, bool *pending, bool *active),
             (irq, pending, active))
VGIC_LR_BOTH(bool, vgic_lr_set_state, (struct vgic_irq *irq, int pending, int active),
             (irq, pending, active))
VGIC_LR_BOTH(void, vgic_hw_unpend, (struct vcpu *owner, struct vgic_irq *irq), (owner, irq))
VGIC_LR_BOTH(int, vgic_lr_sgi_source, (struct vgic_irq *irq), (irq))
VGIC_LR_BOTH(bool, vgic_hw_resample_locked, (struct vcpu *v), (v))
VGIC_LR_BOTH(bool, vgic_hw_resample, (struct vcpu *v), (v))
