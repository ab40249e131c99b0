/*
 * Guest exits, entered from vectors.S with the guest's general registers
 * saved in its struct vcpu. Each handler returns the registers to resume,
 * or never returns when the vCPU stops. Nothing here logs on a path a
 * well-behaved guest takes at run time.
 */
#include <arch/esr.h>
#include <arch/pmu.h>
#include <arch/sysreg.h>
#include <drivers/gic.h>
#include <keel/arch.h>
#include <keel/console.h>
#include <keel/console_mux.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/platform.h>
#include <keel/sched.h>
#include <keel/smccc.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

int sysreg_handle(struct vcpu *v, u64 esr);
int cp15_32_handle(struct vcpu *v, u64 esr);
int cp15_64_handle(struct vcpu *v, u64 esr);
u64 aarch32_it_advance(u64 spsr);

u64 arch_vcpu_pc(void)
{
    return read_sysreg(elr_el2);
}

/*
 * Steps over the trapped instruction: 2 or 4 bytes as ESR_EL2.IL says (a
 * 16-bit T32 load from 32-bit userspace traps too), and through an IT
 * block as the hardware would have.
 */
static void __attribute__((noinline, cold)) skip_instr32(u64 esr, u64 spsr)
{
    write_sysreg(elr_el2, read_sysreg(elr_el2) + ((esr & ESR_ELx_IL) ? 4 : 2));
    write_sysreg(spsr_el2, aarch32_it_advance(spsr) & ~PSR_SS);
}

/*
 * Only AArch32 has 16-bit instructions: AArch64 keeps to one test and +4.
 * The emulated instruction has now executed, so the guest's software step
 * state machine advances as the CPU's own would have (Arm ARM D2.12, and
 * SSAdvance() in its pseudocode): a trapped instruction left SPSR_EL2.SS
 * at 1 (active-not-pending, nothing executed yet); clearing it makes the
 * ERET enter active-pending, so a guest stepping through an MMIO access,
 * a trapped MRS/MSR, SMC or WFx takes its Software Step exception right
 * after it, with ELR at the next instruction, and not one instruction late.
 * An HVC needs nothing: it is not skipped, it completed and advanced the
 * state machine before its exit. BTYPE is cleared, as by any instruction
 * that is not a branch. Two single-bit tests: their mask is not an
 * immediate, and a constant to load would cost more.
 */
static inline void skip_instr(u64 esr)
{
    u64 spsr = read_sysreg(spsr_el2);

    if (unlikely(spsr & PSR_MODE32)) {
        skip_instr32(esr, spsr);
    } else {
        write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
        if (unlikely(spsr & PSR_BTYPE) || unlikely(spsr & PSR_SS))
            write_sysreg(spsr_el2, spsr & ~(PSR_BTYPE | PSR_SS));
    }
}

/* D13.2.54 HPFAR_EL2: FIPA holds IPA[47:12] for stage-2 faults. */
static u64 fault_ipa(void)
{
    return ((read_sysreg(hpfar_el2) & GENMASK(43, 4)) << 8) | (read_sysreg(far_el2) & 0xfff);
}

static u64 sign_extend(u64 v, unsigned int bits)
{
    u64 m = 1UL << (bits - 1);
    return (v ^ m) - m;
}

/* DFSC/IFSC: a translation fault at any level (D13.2.39) */
static bool is_translation_fault(u64 esr)
{
    return (esr & ESR_ELx_FSC_TYPE_MASK) == ESR_ELx_FSC_TRANS;
}

/* The failure paths stay out of line so the emulation path keeps few registers. */
static void __attribute__((noinline, cold)) dabt_unhandled(struct vcpu *v, u64 esr, u64 ipa,
                                                            const struct mmio_region *r)
{
    bool write = esr & ESR_ELx_WNR;

    if (!r && is_translation_fault(esr) && vm_ram_fault(v->vm, ipa_init(ipa)))
        return; /* RAM not touched before: now zeroed and mapped, the access retries */
    VM_WARN(v->vm, "vm %s vcpu %u: %s at IPA %#lx (VA %#lx, PC %#lx): %s; abort injected",
            v->vm->cfg.name, v->id, write ? "write" : "read", ipa, read_sysreg(far_el2),
            read_sysreg(elr_el2),
            !r ? "nothing mapped there" : (esr & ESR_ELx_S1PTW) ? "page-table walk into a device"
                                                               : "instruction not decodable (no ISV)");
    arch_vcpu_inject_dabt(v, read_sysreg(far_el2), write);
}

/*
 * The device call is over, so the IPA is read again rather than kept in a
 * register across it: the exit's HPFAR_EL2 and FAR_EL2 still hold it (a
 * forwarded access that faulted put them back, devaccess.c).
 */
static void __attribute__((noinline, cold)) dabt_refused(struct vcpu *v, u64 esr)
{
    struct esr_dabt d = esr_decode_dabt(esr);
    u64 ipa = fault_ipa();

    VM_WARN(v->vm, "vm %s vcpu %u: bad %u-byte %s of device register at IPA %#lx (PC %#lx); "
            "abort injected", v->vm->cfg.name, v->id, d.size, d.write ? "write" : "read", ipa,
            read_sysreg(elr_el2));
    arch_vcpu_inject_dabt(v, read_sysreg(far_el2), d.write);
}

/*
 * The syndrome of a data abort with ISS.ISV set (D13.2.39, ISS encoding for
 * an exception from a Data Abort): SAS is log2 of the access size, SRT the
 * register, WnR the direction; SSE and SF say how a load extends into it.
 * Read straight from the ESR rather than through esr_decode_dabt(): the
 * exit keeps one register live across the device call instead of five.
 */
static inline unsigned int dabt_size(u64 esr)
{
    return 1U << ((esr >> ESR_ELx_SAS_SHIFT) & ESR_ELx_SAS_MASK);
}

/* SRT 31 is XZR: it names regs.xzr_sink, so a load into XZR needs no test. */
static inline u64 *dabt_reg(struct vcpu *v, u64 esr)
{
    return &v->regs.x[(esr >> ESR_ELx_SRT_SHIFT) & ESR_ELx_SRT_MASK];
}

static int __attribute__((noinline)) mmio_write(struct vcpu *v, struct mmio_region *r, u64 off,
                                                u64 esr)
{
    unsigned int size = dabt_size(esr);
    u64 val = vcpu_get_reg(v, (esr >> ESR_ELx_SRT_SHIFT) & ESR_ELx_SRT_MASK);

    if (size < 8)
        val &= (1UL << (8 * size)) - 1;
    return r->write(v, off, size, val);
}

/* A sign-extending load (LDRSB, LDRSH, LDRSW): to 64 bits, or to 32 and zero above (SF). */
static u64 __attribute__((noinline, cold)) dabt_sign_extend(u64 val, u64 esr)
{
    unsigned int size = dabt_size(esr);

    if (size < 8)
        val = sign_extend(val, 8 * size);
    return (esr & ESR_ELx_SF) ? val : (val & 0xffffffffUL);
}

/* A load from an emulated or forwarded device, @off into @r; 0, or -1 if the device refused it. */
static inline int mmio_read(struct vcpu *v, struct mmio_region *r, u64 off, u64 esr)
{
    u64 val;

    if (r->read(v, off, dabt_size(esr), &val))
        return -1;
    if (unlikely(esr & ESR_ELx_SSE))
        val = dabt_sign_extend(val, esr);
    else if (!(esr & ESR_ELx_SF))
        val &= 0xffffffffUL; /* a W register: the upper half is zeroed */
    *dabt_reg(v, esr) = val;
    return 0;
}

/*
 * vcpu_find_mmio(), keeping the offset into the region that the hint's
 * test computes: the compiler does not carry it across the two ways out.
 */
static inline struct mmio_region *find_mmio(struct vcpu *v, u64 ipa, u64 *off)
{
    struct mmio_region *r = v->mmio_hint;

    *off = ipa - r->base;
    if (likely(*off < r->size))
        return r;
    r = vcpu_find_mmio(v, ipa);
    if (r)
        *off = ipa - r->base;
    return r;
}

/* Inlined into both of its callers: the exclusive CPUs' path paid a call for sharing one. */
static inline __attribute__((always_inline)) void handle_dabt(struct vcpu *v, u64 esr)
{
    u64 ipa = fault_ipa(), off;
    struct mmio_region *r = find_mmio(v, ipa, &off);

    /* Three tests, each a single bit test: combined, GCC builds a mask compare of five. */
    if (unlikely(!r))
        dabt_unhandled(v, esr, ipa, r);
    else if (unlikely(!(esr & ESR_ELx_ISV)))
        dabt_unhandled(v, esr, ipa, r);
    else if (unlikely(esr & ESR_ELx_S1PTW))
        dabt_unhandled(v, esr, ipa, r);
    else if (unlikely((esr & ESR_ELx_WNR) ? mmio_write(v, r, off, esr)
                                          : mmio_read(v, r, off, esr)))
        dabt_refused(v, esr);
    else
        skip_instr(esr);
}

static void handle_unknown(struct vcpu *v, u64 esr)
{
    unsigned int ec = ESR_ELx_EC(esr);

    VM_WARN(v->vm, "vm %s vcpu %u: unhandled exit EC %#x (%s), ESR %#lx at PC %#lx; UNDEFINED injected",
         v->vm->cfg.name, v->id, ec, esr_ec_name(ec), esr, read_sysreg(elr_el2));
    arch_vcpu_inject_undef(v);
}

/*
 * After any exit: the vCPU may have been stopped from elsewhere (or its
 * CPU's mode changed: sched.c), and IRQs may wait; one load of
 * v->exit_work tells whether any is so.
 */
static struct vcpu_regs *exit_return(struct vcpu *v)
{
    /* a volatile load, not __atomic: GCC folds the offset into the LDR only for the former */
    if (*(volatile u64 *)&v->exit_work) {
        if (unlikely(v->slow_work)) /* stopping, or the scheduler's resched */
            sched_exit_slow(v);
        vgic_flush(v); /* it tests want_words again: nothing to do if only slow_work was set */
    }
    return &v->regs;
}

/* Data aborts come straight from the vector (the MMIO path, kept short). */
struct vcpu_regs *vcpu_handle_dabt(struct vcpu_regs *regs)
{
    struct vcpu *v = vcpu_of_regs(regs);

    v->exits[EXIT_DABT]++;
    handle_dabt(v, read_sysreg(esr_el2));
    return exit_return(v);
}

struct vcpu_regs *vcpu_handle_sync(struct vcpu_regs *regs)
{
    struct vcpu *v = vcpu_of_regs(regs);
    u64 esr = read_sysreg(esr_el2);

    switch (ESR_ELx_EC(esr)) {
    case ESR_ELx_EC_HVC64:
        v->exits[EXIT_HVC]++;
        if (ESR_ELx_ISS(esr) & 0xffff)
            v->regs.x[0] = (u64)SMCCC_RET_NOT_SUPPORTED; /* only HVC #0 is SMCCC */
        else
            smccc_handle(v);
        break;
    case ESR_ELx_EC_SMC64:
        v->exits[EXIT_SMC]++;
        skip_instr(esr); /* trapped SMC: ELR points at the SMC itself */
        smccc_handle(v);
        break;
    case ESR_ELx_EC_SYS64:
        v->exits[EXIT_SYSREG]++;
        if (sysreg_handle(v, esr) == 0)
            skip_instr(esr);
        break;
    case ESR_ELx_EC_CP15_32:
        v->exits[EXIT_SYSREG]++;
        if (cp15_32_handle(v, esr) == 0)
            skip_instr(esr);
        break;
    case ESR_ELx_EC_CP15_64:
        v->exits[EXIT_SYSREG]++;
        if (cp15_64_handle(v, esr) == 0)
            skip_instr(esr);
        break;
    case ESR_ELx_EC_IABT_LOW:
        v->exits[EXIT_OTHER]++;
        if (is_translation_fault(esr) && vm_ram_fault(v->vm, ipa_init(fault_ipa())))
            break; /* first fetch from a RAM block: now zeroed and mapped */
        VM_WARN(v->vm, "vm %s vcpu %u: instruction fetch from IPA %#lx (PC %#lx) outside its memory; abort injected",
             v->vm->cfg.name, v->id, fault_ipa(), read_sysreg(elr_el2));
        arch_vcpu_inject_iabt(v, read_sysreg(far_el2));
        break;
    case ESR_ELx_EC_WFx: /* trapped on shared CPUs only (HCR_EL2.TWI/TWE) */
        v->exits[EXIT_WFX]++;
        skip_instr(esr);
        /* ISS.TI (D13.2.40): 0b00 WFI; WFE and the timed WFIT/WFET only yield */
        if ((esr & 3) == 0)
            sched_block(v);
        else
            sched_yield(v);
        break;
    default:
        v->exits[EXIT_OTHER]++;
        handle_unknown(v, esr);
        break;
    }
    return exit_return(v);
}

static bool irq_handle_other(struct vcpu *v, u32 intid);

/*
 * The virtual timer's physical PPI, for @v running here: latched, queued and
 * flushed at once (skipping exit_return's flush), and, with FEAT_ECV, its
 * CNTV_* accesses trapped while it waits in the LR (vtimer.c).
 */
static inline void vtimer_forward(struct vcpu *v, u32 intid)
{
    vgic_inject_here(v, intid, intid);
    if (vtimer_trap_cnthctl)
        write_sysreg(cnthctl_el2, vtimer_trap_cnthctl);
}

/*
 * From a guest exit, one interrupt per exit: another one still pending
 * takes the guest straight back here, so the common case does not pay for
 * a second acknowledge. The two a guest's CPU takes most are tested first,
 * inline: the virtual timer, forwarded with the HW bit to the vCPU running
 * here, and Keel's kick, another CPU having queued something for it
 * (exit_return flushes it). The rest is irq_handle_other().
 */
struct vcpu_regs *vcpu_handle_irq(struct vcpu_regs *regs)
{
    struct vcpu *v = vcpu_of_regs(regs);
    u32 intid;

    v->exits[EXIT_IRQ]++;
    intid = gic_ack_eoi();
    if (intid == platform.timer_irq[2]) {
        vtimer_forward(v, intid);
    } else if (intid == GIC_SGI_KICK) {
        if (unlikely(v->vgic.lr_stale))
            vgic_lr_refresh(v);
        gic_deactivate(intid);
    } else if (intid != IRQCHIP_NONE) {
        irq_handle_other(v, intid);
    }
    return exit_return(v);
}

/* A shared CPU's synchronous exits (vectors.S el2_vectors_shared) take both paths from C. */
struct vcpu_regs *vcpu_handle_sync_any(struct vcpu_regs *regs)
{
    if (ESR_ELx_EC(read_sysreg(esr_el2)) == ESR_ELx_EC_DABT_LOW)
        return vcpu_handle_dabt(regs);
    return vcpu_handle_sync(regs);
}

struct vcpu_regs *vcpu_handle_fiq(struct vcpu_regs *regs)
{
    return vcpu_handle_irq(regs); /* Keel uses Group 1 only: treat alike */
}

struct vcpu_regs *vcpu_handle_serror(struct vcpu_regs *regs)
{
    struct vcpu *v = vcpu_of_regs(regs);

    ERROR("vm %s vcpu %u: SError (ESR %#lx) at PC %#lx; stopping the VM", v->vm->cfg.name, v->id,
          read_sysreg(esr_el2), read_sysreg(elr_el2));
    vm_stop(v->vm, VM_CRASHED);
    return exit_return(v);
}

/*
 * Physical interrupts: the virtual timer and the PMU's overflow are
 * forwarded with the HW bit (the guest's deactivation deactivates them),
 * everything Keel handles itself is dropped and deactivated here.
 */
/* Everything but the virtual timer, out of line: @intid acknowledged and priority-dropped. */
static bool __attribute__((noinline)) irq_handle_other(struct vcpu *v, u32 intid)
{
    if (intid == GIC_SGI_KICK) { /* another CPU queued something for this one: exit_return flushes */
        if (v && v->vgic.lr_stale)
            vgic_lr_refresh(v);
    } else if (intid == platform.pmu_irq) { /* 0 without one: the kick, taken above */
        if (v) {
            vgic_inject_here(v, intid, intid);
            return true; /* deactivated by the guest, through the HW bit */
        }
        pmu_quiesce(); /* an overflow that outlived its vCPU: lower the line */
    } else if (pt_handle_irq(intid)) {
        return true; /* deactivated by the guest, through the HW bit */
    } else if (intid == platform.timer_irq[3]) { /* CNTHP: this CPU's timer queue */
        timerq_expire(&cpu_this()->timers, arch_counter_read());
    } else if (intid == platform.gic_maint_irq && v) {
        vgic_maintenance(v);
    } else if (intid == platform.uart_irq) {
        console_rx_irq();
    }
    gic_deactivate(intid);
    return true;
}

/*
 * Handles one acknowledged interrupt; false if there was none. The
 * virtual timer, the interrupt a guest's CPU takes most, is tested first
 * and keeps this function small; the rest is irq_handle_other().
 */
static bool irq_handle_one(struct vcpu *v)
{
    u32 intid = gic_ack();

    if (intid == IRQCHIP_NONE)
        return false;
    gic_eoi(intid);
    if (intid == platform.timer_irq[2] && v) {
        vtimer_forward(v, intid);
        return true;
    }
    return irq_handle_other(v, intid);
}

/* The idle loop (no vCPU) drains them all; a guest exit takes one (vcpu_handle_irq). */
void arch_irq_handle_pending(struct vcpu *v)
{
    if (v) {
        irq_handle_one(v);
        return;
    }
    while (irq_handle_one(NULL))
        ;
}
