/*
 * The PMUv3 guests count with (src/arch/aarch64/pmu.c): the hardware's own,
 * accessed directly, with Keel's EL2 kept out of its counters.
 */
#ifndef ARCH_PMU_H
#define ARCH_PMU_H

#include <keel/types.h>

struct vcpu;

/*
 * The PMU version guests read in ID_AA64DFR0_EL1.PMUVer (and, AArch32,
 * ID_DFR0_EL1.PerfMon): 0 when they have none. Set by pmu_init().
 */
extern unsigned int pmu_guest_ver;

/*
 * Boot CPU, once the host DT is parsed and before the GIC is set up:
 * decides whether guests get the PMU (clearing platform.pmu_irq if not).
 */
void pmu_init(void);
/* The banner's PMU line. */
void pmu_describe(void);
/* MDCR_EL2's PMU controls for a guest on this CPU. */
u64 pmu_mdcr(void);
/* A vCPU (re)starting on this CPU: the PMU as after a reset, nothing of a previous run. */
void pmu_vcpu_reset(void);
/* No vCPU on this CPU any more: nothing counts, the overflow line is low. */
void pmu_quiesce(void);
/*
 * At EL2 on @v's core, @v not running: the guest's PMU from the CPU into
 * v->arch.pmu, counting stopped first and the overflow line left low; or
 * from v->arch.pmu into the CPU, counting and the line resuming last.
 * Nothing while the PMU is not the guests' (hidden, or none).
 */
void pmu_vcpu_save(struct vcpu *v);
void pmu_vcpu_load(const struct vcpu *v);
/*
 * A shared CPU's switch (lazy): in, a vCPU whose PMU neither counts nor
 * signals keeps it in memory, its registers trapped (pmu_mdcr_vcpu()) until
 * its first access (pmu_go_live(): true, the access is to be retried); out,
 * only a PMU in the CPU is saved. A vCPU's start has it in the CPU.
 */
void pmu_vcpu_switch_in(struct vcpu *v);
void pmu_vcpu_switch_out(struct vcpu *v);
u64 pmu_mdcr_vcpu(const struct vcpu *v);
bool pmu_go_live(struct vcpu *v);
/*
 * The overflow interrupt request as the guest's PMU drives it now (guests
 * have the PMU): from the live registers, so low after pmu_vcpu_save().
 */
bool pmu_line_high(void);
/* Whether PMCR_EL0 traps (MDCR_EL2.TPMCR) with the PMU given to guests. */
bool pmu_pmcr_trapped(void);
/* The guest's PMCR_EL0 on this CPU, and a write to it: trapped accesses only. */
u64 pmu_pmcr_read(void);
void pmu_pmcr_write(u64 val);

#endif
