/*
 * keel,disk modules (core/vdisk.c has the devices): their configuration,
 * the virtio-mmio slot each gets, and their guest DT nodes. Apart from
 * vdisk.c so the configuration parser's host tests and fuzzer link it
 * without the devices.
 *
 * Slots: the highest free one first, as QEMU fills its transports (the
 * first disk at 0x0a003e00 on Arm, 0x10008000 on RISC-V); a slot a
 * passed-through device occupies (keel,passthrough of a host virtio-mmio
 * transport, identity-mapped at the same address) is skipped, not refused.
 */
#include <libfdt.h>
#include <keel/buddy.h>
#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/virtio_blk.h>
#include <keel/vm.h>

static u64 slot_base(unsigned int slot)
{
    return GUEST_VIRTIO_BASE + slot * GUEST_VIRTIO_STRIDE;
}

const char *vdisk_parse_module(const void *fdt, int mod, const struct mem_range *r,
                               struct vm_config *c)
{
    if (c->nr_disks == VM_MAX_DISKS)
        return "more keel,disk modules than a VM may have (4)";
    if (r->size < VIRTIO_BLK_SECTOR)
        return "a keel,disk module is smaller than one 512-byte sector";
    /* the copy is one buddy block: the backing wants contiguous memory */
    if (r->size > (PAGE_SIZE << BUDDY_MAX_ORDER))
        return "a keel,disk module is larger than 1 GiB";
    c->disks[c->nr_disks++] = (struct vm_disk_cfg){
        .image = *r, .read_only = fdt_getprop(fdt, mod, "keel,read-only", NULL) != NULL };
    return NULL;
}

static bool slot_passed_through(const struct vm_config *c, unsigned int slot)
{
    u64 base = slot_base(slot);

    for (unsigned int i = 0; i < c->nr_pt; i++)
        for (unsigned int r = 0; r < c->pt[i].nr_regs; r++) {
            u64 b = pa_addr(c->pt[i].regs[r].base), s = c->pt[i].regs[r].size;
            if (b < base + GUEST_VIRTIO_STRIDE && base < b + s)
                return true;
        }
    return false;
}

static bool line_passed_through(const struct vm_config *c, u32 line)
{
    for (unsigned int i = 0; i < c->nr_pt; i++)
        for (unsigned int q = 0; q < c->pt[i].nr_irqs; q++)
            if (c->pt[i].lines[q] == line)
                return true;
    return false;
}

/* After pt_parse: highest free slot first, skipping passed-through ones. */
const char *vdisk_assign_slots(struct vm_config *c)
{
    int slot = GUEST_VIRTIO_COUNT - 1;

    for (unsigned int d = 0; d < c->nr_disks; d++, slot--) {
        while (slot >= 0 && slot_passed_through(c, (unsigned int)slot))
            slot--;
        if (slot < 0)
            return "no virtio-mmio slot left for a keel,disk module (passthrough takes them)";
        if (line_passed_through(c, GUEST_VIRTIO_LINE((u32)slot)))
            return "a passed-through interrupt is the line of a keel,disk's virtio-mmio slot";
        c->disks[d].slot = (unsigned int)slot;
    }
    return NULL;
}

/* As QEMU writes its transports' nodes; in disk order, so Linux names the first vda. */
int vdisk_dt_nodes(void *fdt, struct vm *vm)
{
    int err = 0;

    for (unsigned int i = 0; i < vm->cfg.nr_disks && !err; i++) {
        u64 base = slot_base(vm->cfg.disks[i].slot);
        fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(GUEST_VIRTIO_STRIDE) };
        err = guest_dt_begin_node_at(fdt, "virtio_mmio", base) ?:
              fdt_property_string(fdt, "compatible", "virtio,mmio") ?:
              fdt_property(fdt, "reg", reg, sizeof(reg)) ?:
              guest_dt_prop_line(fdt, vm->virq, GUEST_VIRTIO_LINE(vm->cfg.disks[i].slot),
                                 VIRQ_LEVEL_HIGH) ?:
              fdt_property_u32(fdt, "interrupt-parent", GUEST_DT_PHANDLE_INTC) ?:
              (GUEST_VIRTIO_DMA_COHERENT ? fdt_property(fdt, "dma-coherent", NULL, 0) : 0) ?:
              fdt_end_node(fdt);
    }
    return err;
}
