/*
 * The vGIC versions as the core sees them (keel/irqchip.h): the ops tables,
 * and which one a VM gets on this host. Kept apart from the register
 * emulation so the host tests of that need none of the VM plumbing.
 */
#include <keel/gic_regs.h>
#include "vgic_internal.h"

static void vgicv3_reset_vm(struct vm *vm)
{
    spin_lock(&vm->vgic.lock);
    vgicv3_reset(vm);
    spin_unlock(&vm->vgic.lock);
}

static int vgicv3_map(struct vm *vm)
{
    return 0; /* all emulated: the CPU interface is the ICV system registers */
}

static void vgicv3_create_vm(struct vm *vm)
{
    vgic_create_vm(vm);
    vm_add_mmio(vm, VGICV3_GICD_BASE, VGICV3_GICD_SIZE, vgicd_read, vgicd_write);
    vm_add_mmio(vm, VGICV3_GICR_BASE, VGICV3_GICR_STRIDE * vm->cfg.nr_vcpus, vgicr_read,
                vgicr_write);
}

const struct virqchip_ops vgicv3_ops = {
    .name = "vGICv3",
    .nr_lines = VGIC_NR_SPIS,
    .create_vm = vgicv3_create_vm,
    .reset_vm = vgicv3_reset_vm,
    .map = vgicv3_map,
    .set_level = vgic_set_line,
    .inject_edge = vgic_inject_line,
    .forward_hw = vgic_forward_line,
    .flush = vgic_flush,
    .sync = vgic_sync,
    .dt_node = vgicv3_dt_node,
    .dt_spec = vgic_dt_spec,
    .dt_spec_private = vgicv3_dt_spec_private,
};

const struct virqchip_ops *virqchip_for_host(void)
{
    if (platform.gic_version == 3)
        return &vgicv3_ops;
    return NULL;
}
