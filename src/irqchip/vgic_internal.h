/*
 * What the vGIC versions share (src/irqchip/vgic.c): interrupt state,
 * queueing for list registers, the register block GICD and GICR_SGI_base
 * (v3) or the banked GICD (v2) have in common. Every function here runs
 * with the VM's vgic lock held unless it says otherwise.
 */
#ifndef IRQCHIP_VGIC_INTERNAL_H
#define IRQCHIP_VGIC_INTERNAL_H

#include <keel/irqchip.h>
#include <keel/vgic.h>
#include <keel/vm.h>
#include <keel/vgic_vm.h>

/* ProductID 'k', Arm's JEP106 code as KVM does: guests key errata off IIDR. */
#define KEEL_GIC_IIDR ((0x6bU << 24) | 0x43b)

bool vgic_irq_pending(const struct vgic_irq *irq);
/* After any change to @irq: queue it for an LR on its target, or unqueue it. */
void vgic_update(struct vm *vm, struct vcpu *owner, struct vgic_irq *irq);
/*
 * IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, IPRIORITYR and ICFGR at
 * GICD offsets; interrupts outside [@lo, @hi) read as zero and ignore
 * writes. False if @off is none of these.
 */
bool vgic_irq_regs_read(struct vm *vm, struct vcpu *owner, u64 off, unsigned int size, u64 *val,
                        u32 lo, u32 hi);
bool vgic_irq_regs_write(struct vm *vm, struct vcpu *owner, u64 off, unsigned int size, u64 val,
                         u32 lo, u32 hi);
/* Latches @intid pending (forwarded from physical @pintid when non-zero). Takes the lock. */
void vgic_pend(struct vm *vm, struct vcpu *target, u32 intid, u32 pintid);
/* SGI @intid (0-15) pending on each vCPU whose index is set in @vcpus. Takes the lock. */
void vgic_pend_sgi(struct vm *vm, u32 vcpus, u32 intid);
/* An SPI's route (IROUTER, ITARGETSR) was written: it follows it (vgic_spi_route). */
void vgic_reroute(struct vm *vm, struct vgic_irq *irq);
/* GICD_CTLR's group enables (both versions, one security state). */
void vgic_write_ctlr(struct vm *vm, u32 enables);

void vgicv2_add_mmio(struct vm *vm);

/* The virqchip ops both versions share (vgic.c). */
void vgic_create_vm(struct vm *vm);
void vgic_set_line(struct vm *vm, u32 line, bool level);
void vgic_inject_line(struct vm *vm, u32 line);
void vgic_forward_line(struct vm *vm, u32 line, u32 hwirq);

#endif
