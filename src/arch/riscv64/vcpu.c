/*
 * Putting a vCPU on its hart and taking it off. A vCPU owns its hart while
 * it runs, so its VS-level CSRs live in the hardware between exits: Keel
 * sets them at a (re)start and otherwise touches only what an exit changes.
 */
#include <arch/csr.h>
#include <arch/sbi.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/irqchip.h>
#include <keel/panic.h>
#include <keel/sched.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

extern bool riscv_has_sstc;
void __noreturn riscv_guest_enter(struct vcpu *v);
void __noreturn riscv_idle_on_fresh_stack(void);
void riscv_send_ipi(unsigned int cpu);
void riscv_vcpu_prepare_entry(struct vcpu *v);

/* Secondary harts wait for SBI HSM hart_start. */
bool arch_vm_boots_all_vcpus(void)
{
    return false;
}

/* The G-stage alone confines a VM here: nothing more to check or set up per build. */
int arch_vm_built(struct vm *vm)
{
    return 0;
}

void arch_vcpu_create(struct vcpu *v)
{
}

/* SBI's entry state for a hart (HSM hart_start, 9.1): a0 = hart id, a1 = opaque, satp 0, SIE 0. */
void arch_vcpu_reset(struct vcpu *v, u64 entry, u64 a1)
{
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.x[10] = v->id;
    v->regs.x[11] = a1;
    v->arch.sepc = entry;
    v->arch.spp = true;
    v->arch.seip = false;
    v->arch.vstimecmp = ~0UL; /* no timer interrupt until the guest asks for one */
    __atomic_store_n(&v->arch.hvip_pending, 0, __ATOMIC_RELAXED);
    v->arch.fence_done = __atomic_load_n(&v->arch.fence_req, __ATOMIC_ACQUIRE);
}

static void vs_csrs_reset(struct vcpu *v)
{
    csr_write(CSR_VSSTATUS, 0);
    csr_write(CSR_VSIE, 0);
    csr_write(CSR_VSTVEC, 0);
    csr_write(CSR_VSSCRATCH, 0);
    csr_write(CSR_VSEPC, 0);
    csr_write(CSR_VSCAUSE, 0);
    csr_write(CSR_VSTVAL, 0);
    csr_write(CSR_VSATP, 0);
    csr_write(CSR_HVIP, 0);
    csr_write(CSR_HTIMEDELTA, 0);
    if (riscv_has_sstc)
        csr_write(CSR_VSTIMECMP, v->arch.vstimecmp);
    else
        sbi_ecall(SBI_EXT_TIME, SBI_EXT_TIME_SET_TIMER, ~0UL, 0, 0, 0);
}

void __noreturn arch_vcpu_enter(struct vcpu *v)
{
    cpu_this()->vcpu = v;
    csr_write(CSR_HGATP, v->vm->s2_base);
    /* A new VMID or a rebuilt VM: drop stale translations and instructions. */
    asm volatile(HFENCE_GVMA_ALL HFENCE_VVMA_ALL "fence.i" ::: "memory");
    vs_csrs_reset(v);
    riscv_vcpu_prepare_entry(v);
    riscv_guest_enter(v);
}

/* Stops the guest's timer and interrupt state on this hart once its vCPU is gone. */
void arch_vcpu_quiesce(struct vcpu *v)
{
    csr_write(CSR_HVIP, 0);
    if (riscv_has_sstc)
        csr_write(CSR_VSTIMECMP, ~0UL);
    else
        sbi_ecall(SBI_EXT_TIME, SBI_EXT_TIME_SET_TIMER, ~0UL, 0, 0, 0);
    csr_write(CSR_HGATP, 0);
}

void arch_vcpu_resume(struct vcpu_regs *regs)
{
    riscv_guest_enter(vcpu_of_regs(regs));
}

void vcpu_kick(struct vcpu *v)
{
    if (v->pcpu != cpu_this()->id)
        riscv_send_ipi(v->pcpu);
}

void __noreturn arch_idle_from_exit(void)
{
    riscv_idle_on_fresh_stack();
}

extern u32 riscv_cboz_block;

/*
 * CBO.ZERO zeroes a whole cache block per instruction (Zicboz; Keel's
 * permission comes from menvcfg.CBZE, which OpenSBI sets); guest memory is
 * 2 MiB aligned, so whole blocks. Without Zicboz, plain stores.
 */
void arch_zero_memory(void *p, u64 size)
{
    u64 a = (u64)p, end = a + size, b = riscv_cboz_block;

    if (!b || (a | size) & (b - 1)) {
        memset(p, 0, size);
        return;
    }
    for (; a < end; a += b)
        asm volatile(".insn i 0x0f, 2, x0, %0, 4" :: "r"(a) : "memory"); /* cbo.zero (a) */
}

/* Only S-mode contexts are wired under H (vplic_ops.c): @irq is 9. */
void arch_vcpu_virq_output(struct vcpu *v, unsigned int irq, bool level)
{
    __atomic_store_n(&v->arch.seip, level, __ATOMIC_RELEASE);
    vcpu_kick(v);
}

void arch_vcpu_virq_output_clear(struct vcpu *v)
{
    arch_vcpu_virq_output(v, 9, false);
}
