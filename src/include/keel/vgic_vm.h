/*
 * vGIC lookups that need the whole struct vm: for the vGIC (src/irqchip),
 * the GIC list-register code and PSCI (src/arch/aarch64).
 */
#ifndef KEEL_VGIC_VM_H
#define KEEL_VGIC_VM_H

#include <keel/vm.h>

/* An interrupt's state: private ones are per vCPU, SPIs per VM. */
static inline struct vgic_irq *vgic_get_irq(struct vm *vm, struct vcpu *vcpu, u32 intid)
{
    if (intid < VGIC_NR_PRIVATE)
        return vcpu ? &vcpu->vgic.private_irqs[intid] : NULL;
    if (intid < VGIC_NR_IRQS)
        return &vm->vgic.spis[intid - VGIC_NR_PRIVATE];
    return NULL;
}

/* The vCPU whose MPIDR affinity (Aff3..Aff0) matches @mpidr, or NULL. */
static inline struct vcpu *vm_vcpu_by_mpidr(struct vm *vm, u64 mpidr)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        if (vm->vcpus[i] && (vm->vcpus[i]->arch.vmpidr & MPIDR_AFF_BITS) == (mpidr & MPIDR_AFF_BITS))
            return vm->vcpus[i];
    return NULL;
}

/* Where an SPI is routed now: IROUTER's affinity (v3), the lowest ITARGETSR bit (v2). */
static inline struct vcpu *vgic_spi_route(struct vm *vm, const struct vgic_irq *irq)
{
    if (!vm->vgic.v2)
        return vm_vcpu_by_mpidr(vm, irq->irouter);
    if (vm->cfg.nr_vcpus == 1) /* a uniprocessor GIC: ITARGETSR is RAZ/WI (IHI 0048B 4.3.12) */
        return vm->vcpus[0];
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus && i < 8; i++)
        if (irq->targets & BIT(i))
            return vm->vcpus[i];
    return NULL;
}

#endif
