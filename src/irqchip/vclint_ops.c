/*
 * The emulated CLINT of a VM whose guests have an M-mode (Keel in M-mode):
 * the model (vdev/vclint.c) at QEMU virt's address, under the vPLIC's lock,
 * its lines reaching the vCPUs through the arch (arch_vcpu_local_line,
 * arch_vcpu_timecmp). Built with the vPLIC (vplic_ops.c).
 */
#include <libfdt.h>
#include <keel/arch.h>
#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/panic.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

static u64 clint_mtime(void *opaque)
{
    return arch_counter_read();
}

static void clint_msip(void *opaque, unsigned int hart, bool level)
{
    struct vm *vm = opaque;

    if (vm->vcpus[hart])
        arch_vcpu_local_line(vm->vcpus[hart], VCLINT_LINE_MSIP, level);
}

static void clint_mtimecmp(void *opaque, unsigned int hart, u64 cmp)
{
    struct vm *vm = opaque;

    if (vm->vcpus[hart])
        arch_vcpu_timecmp(vm->vcpus[hart], cmp);
}

static const struct vclint_ops clint_ops = {
    .mtime = clint_mtime, .msip = clint_msip, .mtimecmp = clint_mtimecmp,
};

static int clint_mmio_read(struct vcpu *v, u64 off, unsigned int size, u64 *val)
{
    struct vm *vm = v->vm;
    int ret;

    spin_lock(&vm->plic.lock);
    ret = vclint_read(&vm->plic.clint, off, size, val);
    spin_unlock(&vm->plic.lock);
    return ret;
}

static int clint_mmio_write(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = v->vm;
    int ret;

    spin_lock(&vm->plic.lock);
    ret = vclint_write(&vm->plic.clint, off, size, val);
    spin_unlock(&vm->plic.lock);
    return ret;
}

/*
 * QEMU virt's node (riscv/sifive,clint0.yaml): each hart's software (3) and
 * timer (7) interrupts. Firmware finds its timer and IPIs through it
 * (U-Boot's M-mode build stops without it).
 */
int vclint_dt_node(void *fdt, unsigned int ncpus)
{
    static const char compat[] = "sifive,clint0\0riscv,clint0";
    fdt32_t ie[4 * GUEST_DT_MAX_HARTS];
    fdt64_t reg[2] = { cpu_to_fdt64(GUEST_CLINT_BASE), cpu_to_fdt64(VCLINT_SIZE) };

    if (ncpus > GUEST_DT_MAX_HARTS)
        return -FDT_ERR_BADVALUE;
    for (unsigned int i = 0; i < ncpus; i++) {
        ie[4 * i] = cpu_to_fdt32(GUEST_DT_PHANDLE_HART_INTC(i));
        ie[4 * i + 1] = cpu_to_fdt32(3);
        ie[4 * i + 2] = cpu_to_fdt32(GUEST_DT_PHANDLE_HART_INTC(i));
        ie[4 * i + 3] = cpu_to_fdt32(7);
    }
    return guest_dt_begin_node_at(fdt, "clint", GUEST_CLINT_BASE) ?:
           guest_dt_prop_strings(fdt, "compatible", compat) ?:
           fdt_property(fdt, "reg", reg, sizeof(reg)) ?:
           fdt_property(fdt, "interrupts-extended", ie, (int)(4 * ncpus * sizeof(ie[0]))) ?:
           fdt_end_node(fdt);
}

void vclint_create_vm(struct vm *vm)
{
    CHECK(vclint_init(&vm->plic.clint, vm->cfg.nr_vcpus, &clint_ops, vm) == 0);
    vm_add_mmio(vm, GUEST_CLINT_BASE, VCLINT_SIZE, clint_mmio_read, clint_mmio_write);
}
