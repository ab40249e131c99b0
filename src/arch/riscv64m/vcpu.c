/*
 * Putting a vCPU on its hart under Keel in M-mode. The vCPU's whole
 * privileged state is the virtual hart (vhart.c); the real hart holds only
 * what U-mode execution needs (mepc, satp, FS, the counter enables), set at
 * every entry (exit.c: rvm_prepare_entry), and its PMP, set when the vCPU
 * is placed on it (hartpmp.c). Other harts reach a vCPU
 * through atomics and a kick: its interrupt lines from the vPLIC and the
 * vCLINT, and its timer compare.
 */
#include <arch/csr.h>
#include <arch/io.h>
#include <arch/mmode.h>
#include <arch/physmap.h>
#include <keel/arch.h>
#include <keel/buddy.h>
#include <keel/cpu.h>
#include <keel/panic.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

void __noreturn rvm_guest_enter(struct vcpu *v);
void __noreturn rvm_idle_on_fresh_stack(void);
void riscv_send_ipi(unsigned int cpu);
void rvm_prepare_entry(struct vcpu *v);
void rvm_shadows_init(struct vcpu *v);
void rvm_shadows_reset(struct vcpu *v);
void rvm_vcpu_quiet(struct vcpu *v);
void rvm_timer_stop(void);
void rvm_satp_write(u64 satp);

/* The guest is the firmware: its harts all leave reset at the entry, as QEMU virt's do. */
bool arch_vm_boots_all_vcpus(void)
{
    return true;
}

void arch_vcpu_create(struct vcpu *v)
{
    rvm_shadows_init(v);
}

/*
 * QEMU virt's reset state with no firmware, which is what the guest's M-mode
 * expects: every hart at @entry in M-mode, a0 = its hart id, a1 = the DTB.
 */
void arch_vcpu_reset(struct vcpu *v, u64 entry, u64 a1)
{
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.x[10] = v->id;
    v->regs.x[11] = a1;
    vhart_reset(&v->arch.h, v->id, csr_read(CSR_MISA), entry);
    __atomic_store_n(&v->arch.lines, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&v->arch.mtimecmp, ~0UL, __ATOMIC_RELAXED);
    v->arch.suspended = false;
    rvm_shadows_reset(v);
}

void __noreturn arch_vcpu_enter(struct vcpu *v)
{
    cpu_this()->vcpu = v;
    /* A rebuilt VM: the physical map changed, and instructions with it. */
    asm volatile("sfence.vma\n\tfence.i" ::: "memory");
    if (!rvm_pmp_enter(v))
        vm_stop(v->vm, VM_CRASHED); /* rvm_prepare_entry stops this vCPU */
    rvm_prepare_entry(v);
    rvm_guest_enter(v);
}

/* The guest's timer leaves this hart with it. */
void arch_vcpu_quiesce(struct vcpu *v)
{
    rvm_timer_stop();
    rvm_vcpu_quiet(v);
    rvm_satp_write(0);
    rvm_pmp_load(NULL); /* no U-mode on this hart until a vCPU is placed again */
}

void arch_vcpu_resume(struct vcpu_regs *regs)
{
    rvm_guest_enter(vcpu_of_regs(regs));
}

void vcpu_kick(struct vcpu *v)
{
    if (v->pcpu != cpu_this()->id)
        riscv_send_ipi(v->pcpu);
}

void __noreturn arch_idle_from_exit(void)
{
    rvm_idle_on_fresh_stack();
}

void arch_zero_memory(void *p, u64 size)
{
    memset(p, 0, size);
}

static void line_set(struct vcpu *v, u64 bit, bool level)
{
    if (level)
        __atomic_fetch_or(&v->arch.lines, bit, __ATOMIC_RELEASE);
    else
        __atomic_fetch_and(&v->arch.lines, ~bit, __ATOMIC_RELEASE);
    vcpu_kick(v);
}

/* The vPLIC's M (11) and S (9) contexts of this vCPU: its mip.MEIP and SEIP lines. */
void arch_vcpu_virq_output(struct vcpu *v, unsigned int irq, bool level)
{
    line_set(v, irq == 11 ? MIP_MEIP : MIP_SEIP, level);
}

void arch_vcpu_virq_output_clear(struct vcpu *v)
{
    __atomic_fetch_and(&v->arch.lines, ~(MIP_MEIP | MIP_SEIP), __ATOMIC_RELEASE);
}

void arch_vcpu_local_line(struct vcpu *v, u64 mip_bit, bool level)
{
    line_set(v, mip_bit, level);
}

void arch_vcpu_timecmp(struct vcpu *v, u64 cmp)
{
    __atomic_store_n(&v->arch.mtimecmp, cmp, __ATOMIC_RELEASE);
    vcpu_kick(v);
}
