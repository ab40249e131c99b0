/* FEAT_MTE2 for tagged VMs (mte.c): what the rest of the Arm code asks of it. */
#ifndef ARCH_MTE_H
#define ARCH_MTE_H

#include <keel/types.h>

struct vcpu;
struct vm;

/* MAIR_EL2 with Keel's Normal attribute Tagged where the CPU has FEAT_MTE2. */
u64 mte_mair_el2(void);
/* Each CPU: EL2 may set tags (SCTLR_EL2.ATA), never checks them (TCF 0). */
void mte_cpu_setup(void);
/* A vCPU starting on this CPU: GCR_EL1, RGSR_EL1, TFSR_EL1, TFSRE0_EL1 zeroed. */
void mte_vcpu_reset(void);
/*
 * At EL2 on @v's core, @v not running: those four registers from the CPU
 * into v->arch.mte, or back, for a VM with cfg.mem_tagging; nothing for
 * any other VM (its EL1 cannot reach them: mte.c).
 */
void mte_vcpu_save(struct vcpu *v);
void mte_vcpu_load(const struct vcpu *v);
/* ID_AA64PFR1_EL1 as @vm sees it: the host's MTE level for a tagged VM. */
u64 mte_id_pfr1(const struct vm *vm, u64 val);

#endif
