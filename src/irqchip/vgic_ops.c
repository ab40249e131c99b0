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

static void vgicv2_reset_vm(struct vm *vm)
{
    spin_lock(&vm->vgic.lock);
    vgicv2_reset(vm);
    spin_unlock(&vm->vgic.lock);
}

/*
 * The guest's GICC is the host's GICV, first page only: GICC_DIR in the
 * second traps (vgicv2.c), so Keel follows deactivations the LRs cannot show.
 */
static int vgicv2_map(struct vm *vm)
{
    return vm_map_device(vm, VGICV2_GICC_BASE, platform.gicv.base, PAGE_SIZE);
}

static void vgicv2_create_vm(struct vm *vm)
{
    vgic_create_vm(vm);
    vgicv2_add_mmio(vm);
}

const struct virqchip_ops vgicv2_ops = {
    .name = "vGICv2",
    .nr_lines = VGIC_NR_SPIS,
    .create_vm = vgicv2_create_vm,
    .reset_vm = vgicv2_reset_vm,
    .map = vgicv2_map,
    .set_level = vgic_set_line,
    .inject_edge = vgic_inject_line,
    .forward_hw = vgic_forward_line,
    .flush = vgic_flush,
    .sync = vgic_sync,
    .dt_node = vgicv2_dt_node,
    .dt_spec = vgic_dt_spec,
    .dt_spec_private = vgicv2_dt_spec_private,
};

/* A GICv2 host needs its virtualization extensions (GICH, GICV) for VMs. */
const struct virqchip_ops *virqchip_for_host(void)
{
    if (platform.gic_version == 3)
        return &vgicv3_ops;
    if (platform.gic_version == 2 && platform.gich.size && platform.gicv.size >= PAGE_SIZE)
        return &vgicv2_ops;
    return NULL;
}
