/*
 * The vPLIC as the core sees it (keel/irqchip.h): one emulated PLIC per VM
 * at QEMU virt's address, with QEMU's context numbering (M-mode context 2i,
 * S-mode 2i+1 for vCPU i) so guests that hard-code it work too. The M-mode
 * contexts are wired only where guests have an M-mode (Keel in M-mode:
 * GUEST_VPLIC_LAYOUT). A context's output reaches its vCPU through the arch
 * (hvip.VSEIP); a passed-through source completes the host's claim when
 * the guest completes it. Line N is source N.
 */
#include <libfdt.h>
#include <keel/guest_dt.h>
#include <keel/panic.h>
#include <keel/irqchip.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

#ifndef GUEST_VPLIC_LAYOUT
#define GUEST_VPLIC_LAYOUT VPLIC_M_AND_S /* guests in VS-mode have no M-mode */
#endif

/* QEMU virt's riscv,ndev: sources 1..95 (passthrough keeps host numbers, doorbells 80+). */
#define VPLIC_NDEV 95
/* The harts' local interrupt numbers of external interrupts (privileged spec 3.1.9). */
#define IRQ_S_EXT_LINE 9
#define IRQ_M_EXT_LINE 11

static void vplic_notify(void *opaque, unsigned int context, bool level)
{
    struct vm *vm = opaque;
    unsigned int cpu;

    if (vplic_context_vcpu(&vm->plic.model, context, &cpu) && vm->vcpus[cpu])
        arch_vcpu_virq_output(vm->vcpus[cpu], IRQ_S_EXT_LINE, level);
    else if (vplic_context_vcpu_m(&vm->plic.model, context, &cpu) && vm->vcpus[cpu])
        arch_vcpu_virq_output(vm->vcpus[cpu], IRQ_M_EXT_LINE, level);
}

static void vplic_hw_complete(void *opaque, u32 source)
{
    irqchip_clear_active(source);
}

static int vplic_mmio_read(struct vcpu *v, u64 off, unsigned int size, u64 *val)
{
    struct vm *vm = v->vm;
    int ret;

    spin_lock(&vm->plic.lock);
    ret = vplic_read(&vm->plic.model, off, size, val);
    spin_unlock(&vm->plic.lock);
    return ret;
}

static int vplic_mmio_write(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = v->vm;
    int ret;

    spin_lock(&vm->plic.lock);
    ret = vplic_write(&vm->plic.model, off, size, val);
    spin_unlock(&vm->plic.lock);
    return ret;
}

static void vplic_create_vm(struct vm *vm)
{
    struct vplic_config cfg = {
        .ndev = VPLIC_NDEV, .nr_vcpus = vm->cfg.nr_vcpus, .layout = GUEST_VPLIC_LAYOUT,
        .notify = vplic_notify, .hw_complete = vplic_hw_complete, .opaque = vm,
        .no_level_refire = vm->cfg.qemu_compat,
    };

    vm->plic.lock = (spinlock_t)SPINLOCK_INIT;
    CHECK(vplic_init(&vm->plic.model, &cfg) == 0); /* vm_config bounds the vCPUs */
    vm_add_mmio(vm, GUEST_EMUL_BASE, vplic_size(&vm->plic.model), vplic_mmio_read,
                vplic_mmio_write);
#ifdef GUEST_CLINT_BASE
    vclint_create_vm(vm);
#endif
}

static void vplic_reset_vm(struct vm *vm)
{
    spin_lock(&vm->plic.lock);
    vplic_reset(&vm->plic.model);
#ifdef GUEST_CLINT_BASE
    vclint_reset(&vm->plic.clint);
#endif
    spin_unlock(&vm->plic.lock);
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        if (vm->vcpus[i])
            arch_vcpu_virq_output_clear(vm->vcpus[i]);
}

static int vplic_map(struct vm *vm)
{
    return 0; /* all emulated */
}

static void vplic_line_level(struct vm *vm, u32 line, bool level)
{
    spin_lock(&vm->plic.lock);
    vplic_set_level(&vm->plic.model, line, level);
    spin_unlock(&vm->plic.lock);
}

static void vplic_line_edge(struct vm *vm, u32 line)
{
    spin_lock(&vm->plic.lock);
    vplic_pulse(&vm->plic.model, line);
    spin_unlock(&vm->plic.lock);
}

/* Keel claimed @hwirq on the host; the guest's completion completes it there (hw_complete). */
static void vplic_forward(struct vm *vm, u32 line, u32 hwirq)
{
    spin_lock(&vm->plic.lock);
    vplic_set_hw(&vm->plic.model, line, true);
    if (!vplic_pulse(&vm->plic.model, line))
        irqchip_clear_active(hwirq);
    spin_unlock(&vm->plic.lock);
}

static void vplic_nothing(struct vcpu *v)
{
}

/* riscv,plic0 binding (interrupt-controller/sifive,plic-1.0.0.yaml), as QEMU's virt writes it. */
static int vplic_dt_node(void *fdt, unsigned int ncpus, u32 phandle)
{
    static const char compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    fdt32_t ie[4 * GUEST_DT_MAX_HARTS];
    fdt64_t reg[2] = { cpu_to_fdt64(GUEST_EMUL_BASE), cpu_to_fdt64(VPLIC_SIZE(2 * ncpus)) };

    if (ncpus > GUEST_DT_MAX_HARTS)
        return -FDT_ERR_BADVALUE;
    for (unsigned int i = 0; i < ncpus; i++) {
        ie[4 * i] = cpu_to_fdt32(GUEST_DT_PHANDLE_HART_INTC(i));
        ie[4 * i + 1] = cpu_to_fdt32(IRQ_M_EXT_LINE);
        ie[4 * i + 2] = cpu_to_fdt32(GUEST_DT_PHANDLE_HART_INTC(i));
        ie[4 * i + 3] = cpu_to_fdt32(IRQ_S_EXT_LINE);
    }
#ifdef GUEST_CLINT_BASE
    int err = vclint_dt_node(fdt, ncpus); /* the harts' other controller, beside the PLIC */

    if (err)
        return err;
#endif
    return guest_dt_begin_node_at(fdt, "plic", GUEST_EMUL_BASE) ?:
           guest_dt_prop_strings(fdt, "compatible", compat) ?:
           fdt_property(fdt, "reg", reg, sizeof(reg)) ?:
           fdt_property_u32(fdt, "#interrupt-cells", 1) ?:
           fdt_property_u32(fdt, "#address-cells", 0) ?:
           fdt_property(fdt, "interrupt-controller", NULL, 0) ?:
           fdt_property_u32(fdt, "riscv,ndev", VPLIC_NDEV) ?:
           fdt_property(fdt, "interrupts-extended", ie, (int)(4 * ncpus * sizeof(ie[0]))) ?:
           fdt_property_u32(fdt, "phandle", phandle) ?:
           fdt_end_node(fdt);
}

static unsigned int vplic_dt_spec(u32 *cells, u32 line, unsigned int flags)
{
    if (!line || line > VPLIC_NDEV)
        return 0;
    cells[0] = line;
    return 1;
}

/* A PLIC has no per-CPU interrupts: timers and IPIs are the harts' own. */
static unsigned int vplic_dt_spec_private(u32 *cells, unsigned int ncpus, u32 hwirq,
                                          unsigned int flags)
{
    return 0;
}

const struct virqchip_ops vplic_ops = {
    .name = "vPLIC",
    .nr_lines = VPLIC_NDEV + 1,
    .create_vm = vplic_create_vm,
    .reset_vm = vplic_reset_vm,
    .map = vplic_map,
    .set_level = vplic_line_level,
    .inject_edge = vplic_line_edge,
    .forward_hw = vplic_forward,
    .flush = vplic_nothing,
    .sync = vplic_nothing,
    .dt_node = vplic_dt_node,
    .dt_spec = vplic_dt_spec,
    .dt_spec_private = vplic_dt_spec_private,
};

const struct virqchip_ops *virqchip_for_host(void)
{
    return irqchip ? &vplic_ops : NULL;
}
