/* What core code asks of the architecture for vCPUs and VMs. */
#ifndef KEEL_VCPU_ARCH_H
#define KEEL_VCPU_ARCH_H

#include <keel/vcpu.h>

void arch_vm_init_stage2_regs(void);

struct vm;
/* What a guest-physical range is backed by; the architecture picks the attributes. */
enum s2_kind { S2_KIND_RAM, S2_KIND_DEVICE, S2_KIND_SHMEM };
/* The VM's empty Stage-2 (G-stage) map and the register value naming it, with its VMID. */
int arch_s2_create(struct vm *vm);
int arch_s2_map(struct vm *vm, ipaddr_t ipa, paddr_t pa, u64 size, enum s2_kind kind);
/*
 * After a mapping was added while the VM may run (RAM filled on first
 * touch): makes it visible to this CPU's translations of the VM. Other CPUs
 * that still fault on it come through here too.
 */
void arch_s2_sync_mapped(struct vm *vm);
/*
 * After each build of a VM (RAM allocated, devices and shared memory
 * mapped, before its images load): what the architecture derives from the
 * map (Keel in M-mode: each hart's PMP entries). 0, or -1 with the reason
 * logged: the build fails.
 */
int arch_vm_built(struct vm *vm);
/* Unmaps everything (a rebuild); the root stays. */
void arch_s2_clear(struct vm *vm);
void arch_s2_destroy(struct vm *vm);
/*
 * Whether every vCPU of a VM starts at its entry when it boots (RISC-V
 * harts out of reset, for guests that have their own M-mode) rather than
 * vCPU 0 alone, the others waiting for a firmware call (PSCI, SBI HSM).
 */
bool arch_vm_boots_all_vcpus(void);
/* A new vCPU's identity (v->vm and v->id are set): its MPIDR or hart id. */
void arch_vcpu_create(struct vcpu *v);
/* The reg of its node in the guest's /cpus. */
u64 arch_vcpu_dt_id(const struct vcpu *v);
void arch_vcpu_reset(struct vcpu *v, u64 entry, u64 x0);
void __noreturn arch_vcpu_enter(struct vcpu *v);
/* The emulated EL1 physical timer (ptimer.c). */
enum { PTIMER_CTL, PTIMER_CVAL, PTIMER_TVAL };
u64 ptimer_read(struct vcpu *v, unsigned int reg);
void ptimer_write(struct vcpu *v, unsigned int reg, u64 val);
void ptimer_sync(struct vcpu *v);
void ptimer_stop(struct vcpu *v);
/* The virtual timer's level (vtimer.c): CNTHCTL_EL2 with its trap armed, 0 if it has none. */
extern u64 vtimer_trap_cnthctl;
void vtimer_init(void);
/* Trapped CNTV_TVAL (@reg 0), CNTV_CTL (1), CNTV_CVAL (2) accesses. */
u64 vtimer_trapped_read(struct vcpu *v, unsigned int reg);
void vtimer_trapped_write(struct vcpu *v, unsigned int reg, u64 val);
/* After a shared CPU's load: a deadline that passed while it was away, injected at once. */
void vtimer_load_due(struct vcpu *v);

/* Zeroes the FP/SIMD registers, FPSR and FPCR (boot.S). */
void arch_fpsimd_zero(void);
/* @v stopped on this CPU: its timers, PMU and interrupt state leave the CPU. */
void arch_vcpu_quiesce(struct vcpu *v);
void arch_vcpu_inject_dabt(struct vcpu *v, u64 far, bool write);
void arch_vcpu_inject_iabt(struct vcpu *v, u64 far);
void arch_vcpu_inject_undef(struct vcpu *v);
u64 arch_vcpu_pc(void);
/* Handles the physical interrupts pending on this CPU; @vcpu may be NULL (idle). */
void arch_irq_handle_pending(struct vcpu *vcpu);

/*
 * The VM's interrupt controller's output to @v changed; any CPU. @irq: the
 * hart's local interrupt it drives (RISC-V: 9 S-external, hvip.VSEIP under
 * H; 11 M-external, for guests that have an M-mode).
 */
void arch_vcpu_virq_output(struct vcpu *v, unsigned int irq, bool level);
/* Every such output to @v low (a reset). */
void arch_vcpu_virq_output_clear(struct vcpu *v);
/*
 * A guest with an M-mode (Keel in M-mode): the emulated CLINT's lines to
 * @v, any CPU. @mip_bit: the hart's mip bit the line drives (MSIP); @cmp:
 * its timer compare, whose line the arch derives from the counter.
 */
void arch_vcpu_local_line(struct vcpu *v, u64 mip_bit, bool level);
void arch_vcpu_timecmp(struct vcpu *v, u64 cmp);

/* Zeroes guest memory fast (DC ZVA where allowed). */
void arch_zero_memory(void *p, u64 size);
/* Memory tagging (Arm FEAT_MTE2) for VMs that ask for it (cfg.mem_tagging). */
bool arch_mem_tagging_supported(void);
/* Sets the allocation tags of [p, p + size) to 0, data untouched; size a multiple of 64 KiB. */
void arch_zero_tags(void *p, u64 size);

/*
 * Whether a physical core may be home to more than one vCPU: the
 * configuration refuses placements that need it where the architecture's
 * vCPU switch cannot do it yet.
 */
bool arch_vcpu_can_share(void);

/* From an exit handler: drop the exit's stack and go to the idle loop. */
void __noreturn arch_idle_from_exit(void);

#endif
