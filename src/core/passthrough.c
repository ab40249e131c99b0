/*
 * Device passthrough (keel,passthrough = "/path", ...): the device's
 * registers appear in the VM at their host addresses (IPA == PA), its SPIs
 * are forwarded to the VM's vGIC with the HW bit so the guest's deactivation
 * reaches the physical GIC, and its DT node is copied into the guest DT.
 *
 * Registers that fill whole pages are mapped into Stage-2. A register block
 * smaller than a page (QEMU's virtio-mmio slots are 512 bytes, eight to a
 * page) cannot be mapped without handing over its neighbours too, so Keel
 * traps those accesses and replays each one on the device itself.
 */
#include <libfdt.h>
#include <keel/vcpu_arch.h>
#include <keel/arch.h>
#include <keel/guest_dt.h>
#include <keel/hdisk.h>
#include <keel/irqchip.h>
#include <keel/log.h>
#include <keel/platform.h>
#include <keel/string.h>
#include <keel/vm.h>

#define PT_MAX_HWIRQ 1024

/* Per physical interrupt: the VM it is forwarded to, as which line. Written at boot, read in exits. */
static struct vm *irq_owner[PT_MAX_HWIRQ];
static u32 irq_line[PT_MAX_HWIRQ];

/*
 * By node, not by path: an alias names the same node as its path, and a path
 * longer than pt_dev.path is kept truncated.
 */
static const char *claimed_by(int node)
{
    for (unsigned int i = 0; i < nr_vms; i++)
        for (unsigned int d = 0; d < vms[i]->cfg.nr_pt; d++)
            if (vms[i]->cfg.pt[d].node == node)
                return vms[i]->cfg.name;
    return NULL;
}

static bool overlaps(u64 base, u64 size, const struct mem_range *r)
{
    return r->size && base < pa_addr(r->base) + r->size && pa_addr(r->base) < base + size;
}

/* Keel's own devices and RAM are never handed out. */
static bool reserved_for_keel(u64 base, u64 size)
{
    const struct mem_range *keel[] = { &platform.uart, &platform.gicd, &platform.gicr,
                                       &platform.gicc, &platform.gich, &platform.gicv,
                                       &platform.plic };

    for (unsigned int i = 0; i < ARRAY_SIZE(keel); i++)
        if (overlaps(base, size, keel[i]))
            return true;
    for (unsigned int i = 0; i < platform.mem_count; i++)
        if (overlaps(base, size, &platform.mem[i]))
            return true;
    return false;
}

/*
 * The device's interrupts, in the binding of the host's interrupt controller
 * (which translates them): each must be a device line the VM's virtual
 * controller has, and appears there as the same line.
 */
static const char *pt_parse_irqs(const void *fdt, struct pt_dev *d)
{
    const struct virqchip_ops *virq = virqchip_for_host();
    u32 hwirq, line;
    int got;

    for (int i = 0; d->nr_irqs < PT_MAX_IRQS && (got = dt_read_irq(fdt, d->node, i, &hwirq)); i++) {
        if (got < 0)
            return "a passed-through device's interrupt specifier is not a valid one";
        if (!irqchip->hwirq_to_line(hwirq, &line))
            return "only device interrupts (SPIs) can be passed through";
        if (!virq || line >= virq->nr_lines || hwirq >= PT_MAX_HWIRQ)
            return "a passed-through interrupt is beyond the virtual controller's range";
        d->irqs[d->nr_irqs] = hwirq;
        d->lines[d->nr_irqs++] = line;
    }
    return NULL;
}

static const char *pt_parse_dev(const void *fdt, const char *path, struct pt_dev *d)
{
    int len;

    str_copy(d->path, path, sizeof(d->path));
    d->node = fdt_path_offset(fdt, path);
    if (d->node < 0)
        return "keel,passthrough names a node that does not exist";
    if (claimed_by(d->node))
        return "keel,passthrough names a device another VM already owns";
    for (u64 base, size; d->nr_regs < PT_MAX_REGS &&
                         dt_read_reg(fdt, d->node, (int)d->nr_regs, &base, &size);) {
        /*
         * The guest DT gets the node as it is, at the root: a reg that only means
         * something through a bus's ranges (the Pi's /soc) would point it elsewhere.
         */
        u64 cpu_addr = base;
        if (!dt_translate(fdt, d->node, &cpu_addr) || cpu_addr != base)
            return "a passed-through device sits behind a bus that translates addresses "
                   "(not supported yet)";
        /* IPA == PA: the registers must fit the VM's address space; a wrapping end would
           also slip past the overlap checks below. */
        if (!size || base + size < base || base + size > BIT(GUEST_IPA_BITS))
            return "a passed-through device has an empty reg or one past the 39-bit address space";
        if (reserved_for_keel(base, size))
            return "a passed-through device overlaps Keel's own UART, GIC or RAM";
        if (hdisk_dt_overlaps(fdt, base, size))
            return "a passed-through device is the host disk Keel drives itself (keel,host-disk)";
        if (base < GUEST_UART_BASE + GUEST_UART_SIZE && base + size > GUEST_EMUL_BASE)
            return "a passed-through device overlaps the VM's virtual GIC or UART";
        d->regs[d->nr_regs++] = (struct mem_range){ pa_init(base), size };
    }
    if (!d->nr_regs)
        return "a passed-through device has no usable reg";
    /*
     * The access sizes Keel replays on a forwarded (sub-page) device: the
     * standard reg-io-width property where the node has one, else 1, 2 and
     * 4 bytes. Never 8 unless the node says so: a 64-bit access on a 32-bit
     * register bus is the classic way to make a device abort.
     */
    const fdt32_t *w = fdt_getprop(fdt, d->node, "reg-io-width", &len);
    u32 width = w && len == 4 ? fdt32_to_cpu(*w) : 0;
    if (w && width != 1 && width != 2 && width != 4 && width != 8)
        return "a passed-through device's reg-io-width is not 1, 2, 4 or 8";
    d->widths = width ? (u8)width : 1 | 2 | 4;
    return pt_parse_irqs(fdt, d);
}

/*
 * Registers at IPA == PA inside the VM's RAM window (keel,ipa-base moves it)
 * would replace RAM in Stage-2. With keel,identity the RAM is host RAM,
 * which no passed-through device may overlap anyway.
 */
static bool overlaps_vm_ram(const struct vm_config *c, const struct pt_dev *d)
{
    struct mem_range ram = { pa_init(c->ram_ipa), c->mem_size };

    for (unsigned int r = 0; r < d->nr_regs && !c->identity; r++)
        if (overlaps(pa_addr(d->regs[r].base), d->regs[r].size, &ram))
            return true;
    return false;
}

/*
 * A physical SPI reaches one VM (irq_owner): two devices sharing a line
 * cannot go to two VMs, or the first would never hear its device again.
 */
static bool spi_forwarded(const struct pt_dev *d)
{
    for (unsigned int q = 0; q < d->nr_irqs; q++)
        for (unsigned int i = 0; i < nr_vms; i++)
            for (unsigned int k = 0; k < vms[i]->cfg.nr_pt; k++)
                for (unsigned int r = 0; r < vms[i]->cfg.pt[k].nr_irqs; r++)
                    if (vms[i]->cfg.pt[k].irqs[r] == d->irqs[q])
                        return true;
    return false;
}

/* Runs after the memory map is parsed: ram_ipa and mem_size are known. */
const char *pt_parse(const void *fdt, int vm_node, struct vm_config *c)
{
    int len, off = 0;
    const char *list = fdt_getprop(fdt, vm_node, "keel,passthrough", &len);

    while (list && off < len && c->nr_pt < VM_MAX_PT) {
        const char *why = pt_parse_dev(fdt, list + off, &c->pt[c->nr_pt]);
        if (why)
            return why;
        if (overlaps_vm_ram(c, &c->pt[c->nr_pt]))
            return "a passed-through device overlaps the VM's RAM";
        if (spi_forwarded(&c->pt[c->nr_pt]))
            return "a passed-through SPI is already forwarded to another VM";
        for (unsigned int q = 0; c->console && q < c->pt[c->nr_pt].nr_irqs; q++)
            if (c->pt[c->nr_pt].lines[q] == GUEST_UART_LINE)
                return "a passed-through SPI is the one of the VM's virtual UART";
        for (unsigned int i = 0; i < c->nr_pt; i++)
            if (c->pt[i].node == c->pt[c->nr_pt].node)
                return "keel,passthrough lists a device twice";
        c->nr_pt++;
        off += (int)strlen(list + off) + 1;
    }
    return NULL;
}

int vm_map_device(struct vm *vm, u64 ipa, paddr_t pa, u64 size)
{
    return arch_s2_map(vm, ipa_init(ipa), pa, size, S2_KIND_DEVICE);
}

/*
 * A forwarded region's accessors (struct mmio_region), so an MMIO exit
 * calls every region alike: the exit has just found the region, which
 * vcpu_find_mmio() leaves in v->mmio_hint.
 */
static int pt_forward_read(struct vcpu *v, u64 off, unsigned int size, u64 *val)
{
    const struct mmio_region *r = v->mmio_hint;

    return pt_forward(v, r, r->base + off, size, val, false);
}

static int pt_forward_write(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    const struct mmio_region *r = v->mmio_hint;

    return pt_forward(v, r, r->base + off, size, &val, true);
}

static int pt_map_regs(struct vm *vm, const struct pt_dev *d)
{
    for (unsigned int r = 0; r < d->nr_regs; r++) {
        u64 base = pa_addr(d->regs[r].base), size = d->regs[r].size;
        if (arch_map_device(base, size))
            return -1;
        if (IS_ALIGNED(base | size, PAGE_SIZE)) {
            if (arch_s2_map(vm, ipa_init(base), pa_init(base), size, S2_KIND_DEVICE))
                return -1;
        } else if (!vm_find_mmio(vm, base)) {
            if (vm->nr_mmio == VM_MAX_MMIO)
                return -1;
            vm->mmio[vm->nr_mmio++] = (struct mmio_region){ .base = base, .size = size,
                                                            .widths = d->widths,
                                                            .read = pt_forward_read,
                                                            .write = pt_forward_write };
        }
    }
    return 0;
}

int vm_map_passthrough(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_pt; i++) {
        const struct pt_dev *d = &vm->cfg.pt[i];
        if (pt_map_regs(vm, d)) {
            ERROR("vm %s: cannot map passed-through %s", vm->cfg.name, d->path);
            return -1;
        }
        for (unsigned int q = 0; q < d->nr_irqs; q++) {
            irq_owner[d->irqs[q]] = vm;
            irq_line[d->irqs[q]] = d->lines[q];
            irqchip_clear_active(d->irqs[q]);
            irqchip_enable(d->irqs[q], vm->vcpus[0]->pcpu);
        }
    }
    return 0;
}

void pt_release(struct vm *vm)
{
    for (unsigned int i = 0; i < PT_MAX_HWIRQ; i++) {
        if (irq_owner[i] == vm) {
            irqchip_disable(i);
            irq_owner[i] = NULL;
        }
    }
}

/* A physical interrupt of a passed-through device: hand it to its VM. */
bool pt_handle_irq(u32 hwirq)
{
    struct vm *vm = hwirq < PT_MAX_HWIRQ ? irq_owner[hwirq] : NULL;

    if (!vm)
        return false;
    if (vm->state == VM_RUNNING)
        vm->virq->forward_hw(vm, irq_line[hwirq], hwirq);
    else
        irqchip_deactivate(hwirq); /* the VM is down: drop it, the device re-asserts later */
    return true;
}

/*
 * Replays a trapped access on the device (sub-page passthrough regions):
 * only at a width the device takes, and an abort from the device comes
 * back as -1 (the guest gets the abort) instead of taking Keel down.
 */
int pt_forward(struct vcpu *v, const struct mmio_region *r, u64 ipa, unsigned int size,
               u64 *val, bool write)
{
    if (!(r->widths & size) || !IS_ALIGNED(ipa, size))
        return -1;
    if (write ? arch_device_write(ipa, size, *val) : arch_device_read(ipa, size, val)) {
        VM_WARN(v->vm, "vm %s vcpu %u: device at %#lx aborted a %u-byte %s", v->vm->cfg.name,
                v->id, ipa, size, write ? "write" : "read");
        return -1;
    }
    return 0;
}

/* Guest DT nodes beyond the standard set: passed-through devices, shared memory, disks. */
int vm_dt_extra_nodes(void *fdt, void *ctx)
{
    struct vm *vm = ctx;
    int err = 0;

    for (unsigned int i = 0; i < vm->cfg.nr_pt && !err; i++)
        err = guest_dt_copy_node(fdt, host_fdt, vm->cfg.pt[i].node);
    return err ?: shmem_dt_nodes(fdt, vm) ?: vdev_dt_nodes(fdt, vm);
}
