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

void arch_vm_init_stage2_regs(void)
{
}

void arch_vcpu_create(struct vcpu *v)
{
}

/* The guest's hart ids are its vCPU indexes. */
u64 arch_vcpu_dt_id(const struct vcpu *v)
{
    return v->id;
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

/*
 * A RISC-V hart runs one vCPU: the configuration refuses to share one
 * (arch_vcpu_can_share), so the scheduler never switches here and none of
 * these can be reached. They stop Keel loudly rather than pretend.
 */
void arch_vcpu_put(struct vcpu *v)
{
    panic("vm %s vcpu %u: switched off a RISC-V hart, which Keel does not share", v->vm->cfg.name,
          v->id);
}

void arch_vcpu_load(struct vcpu *v)
{
    panic("vm %s vcpu %u: switched onto a RISC-V hart, which Keel does not share",
          v->vm->cfg.name, v->id);
}

void arch_vcpu_remode(struct vcpu *v, bool full_save)
{
    (void)full_save;
    panic("vm %s vcpu %u: a RISC-V hart changed mode, but Keel does not share one",
          v->vm->cfg.name, v->id);
}

void arch_vcpu_migrate_out(struct vcpu *v)
{
    panic("vm %s vcpu %u: moved off a RISC-V hart, which Keel does not do", v->vm->cfg.name, v->id);
}

void arch_vcpu_migrated(struct vcpu *v)
{
    arch_vcpu_migrate_out(v);
}

bool arch_vcpu_has_work(struct vcpu *v)
{
    (void)v;
    return true;
}

u64 arch_vcpu_vtimer_deadline(const struct vcpu *v)
{
    (void)v;
    return ~0UL;
}

void arch_vcpu_resume(struct vcpu_regs *regs)
{
    riscv_guest_enter(vcpu_of_regs(regs));
}

/* Nothing arms a timer queue on RISC-V yet: its timers are the guests' own (Sstc, SBI). */
void arch_timer_program(u64 deadline)
{
    if (deadline != ~0UL)
        panic("a timer queue deadline on RISC-V, which has none");
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

/* No memory tagging on RISC-V: keel,mte is refused at configuration. */
bool arch_mem_tagging_supported(void)
{
    return false;
}

void arch_zero_tags(void *p, u64 size)
{
}
