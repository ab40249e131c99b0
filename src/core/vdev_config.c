/*
 * The configuration of a VM's emulated virtio devices (core/vdev.c and the
 * device types have the devices): keel,disk modules, keel,net and
 * keel,mac-address, keel,virtio-console; the virtio-mmio slot each gets;
 * their guest DT nodes. Apart from the devices so the configuration
 * parser's host tests and fuzzer link it alone.
 *
 * Slots: the highest free one first, as QEMU fills its transports (the
 * first disk at 0x0a003e00 on Arm, 0x10008000 on RISC-V), in the order
 * disks, network port, console port; a slot a passed-through device
 * occupies (keel,passthrough of a host virtio-mmio transport,
 * identity-mapped at the same address) is skipped, not refused.
 */
#include <libfdt.h>
#include <keel/buddy.h>
#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/virtio_blk.h>
#include <keel/string.h>
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

/*
 * keel,net = "name" (with an optional keel,mac-address), keel,virtio-console
 * and keel,qemu-compat.
 */
const char *vdev_parse_vm(const void *fdt, int vm_node, struct vm_config *c)
{
    int len;
    const char *net = fdt_getprop(fdt, vm_node, "keel,net", &len);
    const u8 *mac;

    c->vconsole.enabled = fdt_getprop(fdt, vm_node, "keel,virtio-console", NULL) != NULL;
    c->qemu_compat = fdt_getprop(fdt, vm_node, "keel,qemu-compat", NULL) != NULL;
    net = fdt_getprop(fdt, vm_node, "keel,net", &len);
    if (!net)
        return NULL;
    if (len < 2 || len > VM_NET_NAME_MAX || net[len - 1] || strlen(net) != (size_t)len - 1)
        return "keel,net must be a network name of 1 to 15 characters";
    c->net.enabled = true;
    memcpy(c->net.network, net, (size_t)len);
    mac = fdt_getprop(fdt, vm_node, "keel,mac-address", &len);
    if (!mac)
        return NULL;
    if (len != 6)
        return "keel,mac-address must be 6 bytes";
    if (mac[0] & 1)
        return "keel,mac-address is a multicast address";
    if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
        return "keel,mac-address is all zeroes";
    memcpy(c->net.mac, mac, 6);
    c->net.mac_set = true;
    return NULL;
}

/* Each configured device's slot, in the order slots are given. */
static unsigned int vdev_slots(struct vm_config *c, unsigned int *slot[])
{
    unsigned int n = 0;

    for (unsigned int d = 0; d < c->nr_disks; d++)
        slot[n++] = &c->disks[d].slot;
    if (c->net.enabled)
        slot[n++] = &c->net.slot;
    if (c->vconsole.enabled)
        slot[n++] = &c->vconsole.slot;
    return n;
}

/*
 * After pt_parse: highest free slot first, as QEMU fills its transports,
 * skipping passed-through ones; lowest first with keel,qemu-compat
 * (for guests that hard-code the first transport, as xv6 does).
 */
const char *vdev_assign_slots(struct vm_config *c)
{
    unsigned int *slots[VM_MAX_DISKS + 2];
    unsigned int n = vdev_slots(c, slots);
    int step = c->qemu_compat ? 1 : -1;
    int slot = c->qemu_compat ? 0 : GUEST_VIRTIO_COUNT - 1;

    for (unsigned int d = 0; d < n; d++, slot += step) {
        while (slot >= 0 && slot < GUEST_VIRTIO_COUNT && slot_passed_through(c, (unsigned int)slot))
            slot += step;
        if (slot < 0 || slot >= GUEST_VIRTIO_COUNT)
            return "no virtio-mmio slot left for its virtio devices (passthrough takes them)";
        if (line_passed_through(c, GUEST_VIRTIO_LINE((u32)slot)))
            return "a passed-through interrupt is the line of one of its virtio-mmio slots";
        *slots[d] = (unsigned int)slot;
    }
    return NULL;
}

static int vdev_dt_node(void *fdt, struct vm *vm, unsigned int slot)
{
    u64 base = GUEST_VIRTIO_BASE + slot * GUEST_VIRTIO_STRIDE;
    fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(GUEST_VIRTIO_STRIDE) };

    return guest_dt_begin_node_at(fdt, "virtio_mmio", base) ?:
           fdt_property_string(fdt, "compatible", "virtio,mmio") ?:
           fdt_property(fdt, "reg", reg, sizeof(reg)) ?:
           guest_dt_prop_line(fdt, vm->virq, GUEST_VIRTIO_LINE(slot), VIRQ_LEVEL_HIGH) ?:
           fdt_property_u32(fdt, "interrupt-parent", GUEST_DT_PHANDLE_INTC) ?:
           (GUEST_VIRTIO_DMA_COHERENT ? fdt_property(fdt, "dma-coherent", NULL, 0) : 0) ?:
           fdt_end_node(fdt);
}

/* As QEMU writes its transports' nodes; in slot-giving order, so Linux names the first disk vda. */
int vdev_dt_nodes(void *fdt, struct vm *vm)
{
    unsigned int *slots[VM_MAX_DISKS + 2];
    unsigned int n = vdev_slots(&vm->cfg, slots);
    int err = 0;

    for (unsigned int d = 0; d < n && !err; d++)
        err = vdev_dt_node(fdt, vm, *slots[d]);
    return err;
}
