/*
 * vGICv2 (Arm IHI 0048B, chapter 4, "Programmers' model"): the distributor
 * register map of a GIC-400 without Security Extensions, sized for the VM.
 * Private interrupts are banked per vCPU in the distributor itself; SPIs go
 * where GICD_ITARGETSR<n> says; SGIs come from GICD_SGIR and stay pending
 * per source CPU (GICD_SPENDSGIR/CPENDSGIR). The CPU interface is the
 * host's GICV frame mapped at the guest's GICC (vgic_ops.c) except its
 * second page, GICC_DIR, which traps here. Interrupt state is vgic.c's.
 */
#include <drivers/gicv2_regs.h>
#include <keel/gic_regs.h>
#include "vgic_internal.h"

static bool in(u64 off, u64 base, u64 size)
{
    return off - base < size;
}

/*
 * IHI 0048B 4.1.4: every register takes word accesses; IPRIORITYR,
 * ITARGETSR, CPENDSGIR and SPENDSGIR take byte accesses too. Nothing else.
 */
static bool access_ok(u64 off, unsigned int size)
{
    bool bytes = in(off, GICD_IPRIORITYR, 0x400) || in(off, GICD_ITARGETSR, 0x400) ||
                 in(off, GICD_CPENDSGIR, 0x20);

    return IS_ALIGNED(off, size) && (size == 4 || (size == 1 && bytes));
}

static u8 cpu_bits(const struct vm *vm)
{
    return (u8)(BIT(vm->cfg.nr_vcpus) - 1);
}

static u32 gicd_typer(const struct vm *vm)
{
    return (VGIC_NR_IRQS / 32 - 1) | (vm->cfg.nr_vcpus - 1) << 5;
}

/*
 * ITARGETSR0-7 read as the reading CPU's own bit (4.3.12); SPIs as written.
 * With one vCPU the GIC is a uniprocessor one: every ITARGETSR is RAZ/WI and
 * every interrupt targets vCPU 0 (vgic_spi_route).
 */
static u64 targets_read(struct vcpu *v, u32 first, unsigned int size)
{
    u64 val = 0;

    if (v->vm->cfg.nr_vcpus == 1)
        return 0;

    for (unsigned int i = 0; i < size; i++) {
        u32 intid = first + i;
        u8 t = intid < VGIC_NR_PRIVATE ? (u8)BIT(v->id) :
               intid < VGIC_NR_IRQS ? vgic_get_irq(v->vm, NULL, intid)->targets : 0;
        val |= (u64)t << (8 * i);
    }
    return val;
}

/* A new target set moves an SPI, out of the list register of a vCPU holding it pending. */
static void targets_write(struct vm *vm, u32 first, unsigned int size, u64 val)
{
    if (vm->cfg.nr_vcpus == 1)
        return;
    for (unsigned int i = 0; i < size; i++) {
        u32 intid = first + i;
        struct vgic_irq *irq = intid >= VGIC_NR_PRIVATE ? vgic_get_irq(vm, NULL, intid) : NULL;

        if (!irq)
            continue;
        irq->targets = (u8)(val >> (8 * i)) & cpu_bits(vm);
        vgic_reroute(vm, irq);
    }
}

/*
 * CPENDSGIR/SPENDSGIR (4.3.16, 4.3.17): one byte per SGI of the accessing
 * vCPU, one bit per source pending, the source waiting in Keel's set or
 * the one its list register holds pending (the accessing vCPU runs here).
 */
static u8 sgi_pending_sources(struct vgic_irq *irq)
{
    int lr_src = vgic_lr_sgi_source(irq);

    return irq->sgi_sources | (lr_src >= 0 ? (u8)BIT(lr_src) : 0);
}

static u64 sgi_sources_read(struct vcpu *v, u32 first, unsigned int size)
{
    u64 val = 0;

    for (unsigned int i = 0; i < size; i++)
        val |= (u64)sgi_pending_sources(&v->vgic.private_irqs[first + i]) << (8 * i);
    return val;
}

static void sgi_sources_write(struct vcpu *v, u32 first, unsigned int size, u64 val, bool set)
{
    for (unsigned int i = 0; i < size; i++) {
        struct vgic_irq *irq = &v->vgic.private_irqs[first + i];
        u8 bits = (u8)(val >> (8 * i)) & cpu_bits(v->vm);
        int lr_src = vgic_lr_sgi_source(irq);

        if (set) {
            irq->sgi_sources |= bits & (u8)~(lr_src >= 0 ? BIT(lr_src) : 0);
        } else {
            irq->sgi_sources &= (u8)~bits;
            if (lr_src >= 0 && (bits & BIT(lr_src)))
                vgic_lr_set_state(irq, 0, -1); /* the source in the LR is no longer pending */
        }
        irq->pending = irq->sgi_sources != 0;
        vgic_update(v->vm, v, irq);
    }
}

static u64 gicd_read_locked(struct vcpu *v, u64 off, unsigned int size)
{
    struct vm *vm = v->vm;
    u64 val = 0;

    if (vgic_irq_regs_read(vm, v, off, size, &val, 0, VGIC_NR_IRQS))
        return val;
    if (in(off, GICD_ITARGETSR, 0x400))
        return targets_read(v, (u32)(off - GICD_ITARGETSR), size);
    if (in(off, GICD_CPENDSGIR, 0x10))
        return sgi_sources_read(v, (u32)(off - GICD_CPENDSGIR), size);
    if (in(off, GICD_SPENDSGIR, 0x10))
        return sgi_sources_read(v, (u32)(off - GICD_SPENDSGIR), size);
    switch (off) {
    case GICD_CTLR: return vm->vgic.ctlr;
    case GICD_TYPER: return gicd_typer(vm);
    case GICD_IIDR: return KEEL_GIC_IIDR;
    case GICD_ICPIDR2_V2: return GIC_PIDR2_ARCH_GICv2;
    }
    return 0; /* reserved and unimplemented registers: RAZ */
}

static int __attribute__((noinline)) gicd_read_state(struct vcpu *v, u64 off, unsigned int size,
                                                     u64 *val)
{
    if (!access_ok(off, size))
        return -1;
    vgic_sync(v); /* fold back finished LRs: their state is current again */
    spin_lock(&v->vm->vgic.lock);
    *val = gicd_read_locked(v, off, size);
    spin_unlock(&v->vm->vgic.lock);
    return 0;
}

static int vgicv2_gicd_read(struct vcpu *v, u64 off, unsigned int size, u64 *val)
{
    /*
     * Identification registers hold no state: answered here, in a leaf
     * function with no lock and no stack frame, the rest out of line.
     */
    if (size == 4) {
        switch (off) {
        case GICD_TYPER: *val = gicd_typer(v->vm); return 0;
        case GICD_IIDR: *val = KEEL_GIC_IIDR; return 0;
        case GICD_ICPIDR2_V2: *val = GIC_PIDR2_ARCH_GICv2; return 0;
        }
    }
    return gicd_read_state(v, off, size, val);
}

/* GICD_SGIR (4.3.15): TargetListFilter 0 = the list, 1 = all but me, 2 = me. */
static void gicd_write_sgir(struct vcpu *v, u32 val)
{
    struct vm *vm = v->vm;
    u32 filter = GICD_SGIR_TargetListFilter(val);
    u8 list = (u8)GICD_SGIR_CPUTargetList(val);

    if (filter == 1)
        list = cpu_bits(vm) & (u8)~BIT(v->id);
    else if (filter == 2)
        list = (u8)BIT(v->id);
    else if (filter == 3)
        return; /* reserved */
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        if (list & BIT(i))
            vgic_inject_sgi_from(vm, vm->vcpus[i], GICD_SGIR_SGIINTID(val), v->id);
}

static void gicd_write_locked(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = v->vm;

    /* SGIs' pending state is per source: only CPENDSGIR/SPENDSGIR change it (4.3.7, 4.3.8) */
    if (off == GICD_ISPENDR || off == GICD_ICPENDR)
        val &= ~0xffffUL;
    if (vgic_irq_regs_write(vm, v, off, size, val, 0, VGIC_NR_IRQS))
        return;
    if (in(off, GICD_ITARGETSR, 0x400))
        targets_write(vm, (u32)(off - GICD_ITARGETSR), size, val);
    else if (in(off, GICD_CPENDSGIR, 0x10))
        sgi_sources_write(v, (u32)(off - GICD_CPENDSGIR), size, val, false);
    else if (in(off, GICD_SPENDSGIR, 0x10))
        sgi_sources_write(v, (u32)(off - GICD_SPENDSGIR), size, val, true);
    else if (off == GICD_CTLR)
        vgic_write_ctlr(vm, (u32)val);
    /* everything else is read-only or reserved: writes ignored */
}

static int vgicv2_gicd_write(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    if (!access_ok(off, size))
        return -1;
    if (off == GICD_SGIR) {
        gicd_write_sgir(v, (u32)val);
        return 0;
    }
    vgic_sync(v);
    spin_lock(&v->vm->vgic.lock);
    gicd_write_locked(v, off, size, val);
    spin_unlock(&v->vm->vgic.lock);
    return 0;
}

/* The GICC page holding GICC_DIR (offset 0x1000): deactivation, as vgic_dir() follows it. */
static int vgicv2_dir_read(struct vcpu *v, u64 off, unsigned int size, u64 *val)
{
    *val = 0; /* write-only (4.4.15) */
    return size == 4 && IS_ALIGNED(off, 4) ? 0 : -1;
}

static int vgicv2_dir_write(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    if (size != 4 || !IS_ALIGNED(off, 4))
        return -1;
    if (off == 0)
        vgic_dir(v, GICC_IAR_INTID(val));
    return 0;
}

void vgicv2_reset(struct vm *vm)
{
    vgic_init_vm(vm);
    vm->vgic.v2 = true;
    for (u32 i = 0; i < VGIC_NR_SPIS; i++) /* ITARGETSR resets to no CPU, but a uniprocessor's */
        vm->vgic.spis[i].target = vm->cfg.nr_vcpus == 1 ? 0 : 0xff;
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        vgic_init_vcpu(vm->vcpus[i]);
}

void vgicv2_add_mmio(struct vm *vm)
{
    vm_add_mmio(vm, VGICV2_GICD_BASE, VGICV2_GICD_SIZE, vgicv2_gicd_read, vgicv2_gicd_write);
    vm_add_mmio(vm, VGICV2_GICC_BASE + GICC_DIR, VGICV2_GICC_SIZE - GICC_DIR, vgicv2_dir_read,
                vgicv2_dir_write);
}
