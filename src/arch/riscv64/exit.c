/*
 * Guest exits on RISC-V (privileged spec 1.12, chapter 8): trap.S saved the
 * registers and calls riscv_guest_trap(); what it returns is entered again.
 * Keel's exits: SBI calls (ecall from VS-mode), guest-page faults on
 * emulated devices, virtual-instruction exceptions and Keel's own
 * interrupts. Everything VS-mode can handle itself is delegated (setup.c).
 */
#include <arch/csr.h>
#include <arch/insn.h>
#include <arch/sbi.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/irqchip.h>
#include <keel/log.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

struct vcpu *riscv_guest_trap(struct vcpu *v);
void riscv_vcpu_prepare_entry(struct vcpu *v);
void riscv_sbi_call(struct vcpu *v);
void riscv_fences_run(struct vcpu *v);
void console_rx_irq(void);

/* What the trap left in the CSRs, read once before anything else can trap. */
struct trap_info {
    u64 cause, tval, htval, htinst;
};

/*
 * Takes a trap to the guest's VS-mode as the hart would have (privileged
 * spec 4.1.1, 8.6.4): vsepc/vscause/vstval, vsstatus.SPP from the mode it
 * was in, SPIE from SIE and SIE off, resuming at vstvec's base
 * (synchronous exceptions never use the vectored offsets).
 */
void riscv_vcpu_inject(struct vcpu *v, u64 cause, u64 tval)
{
    u64 vsstatus = csr_read(CSR_VSSTATUS);

    vsstatus &= ~(SSTATUS_SPP | SSTATUS_SPIE);
    if (v->arch.spp)
        vsstatus |= SSTATUS_SPP;
    if (vsstatus & SSTATUS_SIE)
        vsstatus |= SSTATUS_SPIE;
    vsstatus &= ~SSTATUS_SIE;
    csr_write(CSR_VSSTATUS, vsstatus);
    csr_write(CSR_VSEPC, v->arch.sepc);
    csr_write(CSR_VSCAUSE, cause);
    csr_write(CSR_VSTVAL, tval);
    v->arch.sepc = csr_read(CSR_VSTVEC) & ~3UL;
    v->arch.spp = true;
}

/*
 * The trapping instruction, read as the guest sees it (HLVX.HU: execute
 * permission, the VS-stage translation, the privilege in hstatus.SPVP). A
 * fault on the way (the guest unmapped its own code meanwhile) gives -1.
 */
static long read_guest_insn(u64 pc, u32 *insn)
{
    long err = 0;
    u64 lo = 0, hi = 0;

#define HLVX_GUARDED(dst, addr)                                                          \
    asm volatile("1: .insn r 0x73, 0x4, 0x32, %1, %2, x3\n" /* hlvx.hu dst, (addr) */    \
                 "2:\n.pushsection .ex_fixup, \"a\"\n.balign 8\n.dword 1b, 3f\n.popsection\n" \
                 ".pushsection .text.fixup, \"ax\"\n3: li %0, -1\nj 2b\n.popsection\n"    \
                 : "+r"(err), "=&r"(dst) : "r"(addr) : "memory")
    HLVX_GUARDED(lo, pc);
    if (!err && (lo & 3) == 3)
        HLVX_GUARDED(hi, pc + 2);
#undef HLVX_GUARDED
    *insn = (u32)(lo | hi << 16);
    return err;
}

static bool decode_access(const struct trap_info *t, struct vcpu *v, struct mmio_insn *d)
{
    u32 insn;

    switch (insn_decode_htinst(t->htinst, d)) {
    case INSN_HTINST_DECODED:
        return true;
    case INSN_HTINST_PSEUDO:
        return false; /* the guest's own page-table walk: not a device access */
    default:
        return !read_guest_insn(v->arch.sepc, &insn) && insn_decode_mmio(insn, d);
    }
}

static int mmio_emulate(struct vcpu *v, struct mmio_region *r, u64 gpa, const struct mmio_insn *d)
{
    u64 val;

    if (d->write)
        return r->write(v, gpa - r->base, d->size, insn_store_value(d, vcpu_get_reg(v, d->reg)));
    if (r->read(v, gpa - r->base, d->size, &val))
        return -1;
    vcpu_set_reg(v, d->reg, insn_load_value(d, val));
    return 0;
}

/* The access fault the guest would see on real hardware with nothing there. */
static void __attribute__((noinline, cold)) access_fault(struct vcpu *v, const struct trap_info *t,
                                                         u64 gpa, const char *why)
{
    u64 cause = t->cause == EXC_INST_GUEST_PAGE_FAULT ? EXC_INST_ACCESS
              : t->cause == EXC_LOAD_GUEST_PAGE_FAULT ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;

    VM_WARN(v->vm, "vm %s vcpu %u: %s at guest-physical %#lx (address %#lx, pc %#lx): %s; "
            "access fault injected", v->vm->cfg.name, v->id,
            cause == EXC_INST_ACCESS ? "fetch" : cause == EXC_LOAD_ACCESS ? "read" : "write", gpa,
            t->tval, v->arch.sepc, why);
    riscv_vcpu_inject(v, cause, t->tval);
}

/* htval holds the guest-physical address shifted right by 2 (8.2.11); stval's low bits complete it. */
static void handle_guest_page_fault(struct vcpu *v, const struct trap_info *t)
{
    u64 gpa = (t->htval << 2) | (t->tval & 3);
    struct mmio_region *r = vcpu_find_mmio(v, gpa);
    struct mmio_insn d;

    if (unlikely(!r) && vm_ram_fault(v->vm, ipa_init(gpa)))
        return; /* RAM not touched before: now zeroed and mapped, the access retries */
    if (unlikely(!r || t->cause == EXC_INST_GUEST_PAGE_FAULT))
        access_fault(v, t, gpa, "nothing mapped there");
    else if (unlikely(!decode_access(t, v, &d) ||
                      d.write != (t->cause == EXC_STORE_GUEST_PAGE_FAULT)))
        access_fault(v, t, gpa, "not a load or store Keel can emulate");
    else if (unlikely(mmio_emulate(v, r, gpa, &d)))
        access_fault(v, t, gpa, "refused by the device");
    else
        v->arch.sepc += d.len;
}

/*
 * A virtual-instruction exception (8.6.1): something VS-mode may not do
 * under Keel's settings. Nothing is expected here: to the guest it is an
 * illegal instruction, as on a hart without the feature.
 */
static void handle_virtual_inst(struct vcpu *v, const struct trap_info *t)
{
    VM_INFO(v->vm, "vm %s vcpu %u: virtual instruction %#lx at pc %#lx; illegal instruction "
            "injected", v->vm->cfg.name, v->id, t->tval, v->arch.sepc);
    riscv_vcpu_inject(v, EXC_ILLEGAL_INST, t->tval);
}

static void handle_other(struct vcpu *v, const struct trap_info *t)
{
    VM_WARN(v->vm, "vm %s vcpu %u: unexpected trap scause %#lx stval %#lx at pc %#lx; injected",
            v->vm->cfg.name, v->id, t->cause, t->tval, v->arch.sepc);
    riscv_vcpu_inject(v, t->cause, t->tval);
}

/* One claimed host interrupt; false if there was none. */
static bool irq_handle_one(void)
{
    u32 hwirq = irqchip_ack();

    if (hwirq == IRQCHIP_NONE)
        return false;
    if (pt_handle_irq(hwirq))
        return true; /* completed when the guest completes it */
    if (hwirq == platform.uart_irq)
        console_rx_irq();
    irqchip_deactivate(hwirq);
    return true;
}

/*
 * Keel's timer, armed only for a guest on a hart without Sstc (sbi.c): it
 * fired, so the guest's deadline passed. Disarmed until the guest asks again.
 */
static void timer_fired(struct vcpu *v)
{
    sbi_ecall(SBI_EXT_TIME, SBI_EXT_TIME_SET_TIMER, ~0UL, 0, 0, 0);
    if (v) {
        csr_set(CSR_HVIP, HVIP_VSTIP);
        v->irqs_injected++;
    }
}

void arch_irq_handle_pending(struct vcpu *v)
{
    u64 sip = csr_read(CSR_SIP);

    if (sip & SIP_STIP)
        timer_fired(v);

    if (sip & SIP_SSIP)
        csr_clear(CSR_SIP, SIP_SSIP); /* a kick: the entry path looks at what changed */
    if (sip & SIP_SEIP)
        while (irq_handle_one())
            ;
}

static void handle_exception(struct vcpu *v, const struct trap_info *t)
{
    switch (t->cause) {
    case EXC_ECALL_VS:
        v->exits[EXIT_SBI]++;
        v->arch.sepc += 4;
        riscv_sbi_call(v);
        break;
    case EXC_INST_GUEST_PAGE_FAULT:
    case EXC_LOAD_GUEST_PAGE_FAULT:
    case EXC_STORE_GUEST_PAGE_FAULT:
        v->exits[EXIT_MMIO]++;
        handle_guest_page_fault(v, t);
        break;
    case EXC_VIRTUAL_INST:
        v->exits[EXIT_VINSN]++;
        handle_virtual_inst(v, t);
        break;
    default:
        v->exits[EXIT_OTHER]++;
        handle_other(v, t);
    }
}

struct vcpu *riscv_guest_trap(struct vcpu *v)
{
    struct trap_info t = {
        .cause = csr_read(CSR_SCAUSE), .tval = csr_read(CSR_STVAL),
        .htval = csr_read(CSR_HTVAL), .htinst = csr_read(CSR_HTINST),
    };

    v->arch.sepc = csr_read(CSR_SEPC);
    v->arch.spp = csr_read(CSR_SSTATUS) & SSTATUS_SPP;
    if (t.cause & SCAUSE_INTERRUPT) {
        v->exits[EXIT_IRQ]++;
        arch_irq_handle_pending(v);
    } else {
        handle_exception(v, &t);
    }
    riscv_vcpu_prepare_entry(v);
    return v;
}

/*
 * Everything other harts asked of this vCPU since it last entered, then the
 * CSRs sret needs: back to VS-mode (hstatus.SPV) or VU-mode (sstatus.SPP).
 */
/*
 * Interrupts other harts raised for @v, and the vPLIC's output, into this
 * hart's hvip. Each bit that goes from clear to set is an interrupt injected
 * (the shell's stat), as a list register written is on Arm; one still
 * pending is not counted again.
 */
void riscv_vcpu_sync_irqs(struct vcpu *v)
{
    u32 set = __atomic_exchange_n(&v->arch.hvip_pending, 0, __ATOMIC_ACQUIRE);
    u64 was = csr_read(CSR_HVIP);

    if (__atomic_load_n(&v->arch.seip, __ATOMIC_ACQUIRE))
        set |= HVIP_VSEIP;
    else
        csr_clear(CSR_HVIP, HVIP_VSEIP);
    if (set & ~was)
        csr_set(CSR_HVIP, set);
    for (u64 rose = set & ~was; rose; rose &= rose - 1) /* no popcount without libgcc */
        v->irqs_injected++;
}

static bool vcpu_stopping(struct vcpu *v)
{
    return v->stopping; /* the VM not RUNNING or the vCPU not ON (vm_lifecycle.c) */
}

/*
 * SBI HSM suspend: the hart sleeps until an interrupt the guest has enabled
 * (hie's VS bits are the guest's vsie) is pending, whatever vsstatus.SIE
 * says (9.4). WFI here wakes on those too: they are enabled in mie, though
 * never taken while V = 0. Other harts see the vCPU SUSPENDED meanwhile.
 */
void riscv_vcpu_wait_interrupt(struct vcpu *v)
{
    const u64 vs = HVIP_VSSIP | HVIP_VSTIP | HVIP_VSEIP;

    __atomic_store_n(&v->arch.suspended, true, __ATOMIC_RELEASE);
    riscv_vcpu_sync_irqs(v);
    while (!(csr_read(CSR_HIP) & csr_read(CSR_HIE) & vs) && !vcpu_stopping(v)) {
        asm volatile("wfi" ::: "memory");
        arch_irq_handle_pending(v);
        riscv_vcpu_sync_irqs(v);
        if (v->arch.fence_done != __atomic_load_n(&v->arch.fence_req, __ATOMIC_ACQUIRE))
            riscv_fences_run(v);
    }
    __atomic_store_n(&v->arch.suspended, false, __ATOMIC_RELEASE);
}

void riscv_vcpu_prepare_entry(struct vcpu *v)
{
    if (unlikely(vcpu_stopping(v)))
        vcpu_stop_self(v);
    riscv_vcpu_sync_irqs(v);
    if (v->arch.fence_done != __atomic_load_n(&v->arch.fence_req, __ATOMIC_ACQUIRE))
        riscv_fences_run(v);
    csr_write(CSR_SEPC, v->arch.sepc);
    csr_write(CSR_HSTATUS, HSTATUS_VSXL_64 | HSTATUS_SPV | (v->arch.spp ? HSTATUS_SPVP : 0));
    if (v->arch.spp)
        csr_set(CSR_SSTATUS, SSTATUS_SPP);
    else
        csr_clear(CSR_SSTATUS, SSTATUS_SPP);
}
