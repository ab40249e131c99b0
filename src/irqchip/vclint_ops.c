/*
 * The emulated CLINT of a VM whose guests have an M-mode (Keel in M-mode):
 * the model (vdev/vclint.c) at QEMU virt's address, under the vPLIC's lock,
 * its lines reaching the vCPUs through the arch (arch_vcpu_local_line,
 * arch_vcpu_timecmp). Built with the vPLIC (vplic_ops.c).
 */
#include <keel/arch.h>
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

void vclint_create_vm(struct vm *vm)
{
    CHECK(vclint_init(&vm->plic.clint, vm->cfg.nr_vcpus, &clint_ops, vm) == 0);
    vm_add_mmio(vm, GUEST_CLINT_BASE, VCLINT_SIZE, clint_mmio_read, clint_mmio_write);
}
