/*
 * FEAT_MTE2 for VMs that ask for it (keel,mte): Allocation Tags on their
 * RAM, the tag-check registers their own. Everything else about Keel is
 * unchanged by it:
 *  - Keel's EL2 maps RAM as Tagged Normal memory (MAIR 0xF0 instead of 0xFF
 *    where the CPU has FEAT_MTE2) with SCTLR_EL2.ATA set and SCTLR_EL2.TCF
 *    0: it may set tags (DC GVA) but its own accesses are never checked;
 *  - a tagged VM's RAM has its tags zeroed with its data when a block is
 *    first touched (vm_ram.c), so no tag of a previous owner shows through;
 *  - HCR_EL2.ATA lets the VM's EL1/EL0 reach tags and GCR_EL1, RGSR_EL1,
 *    TFSR_EL1, TFSRE0_EL1; other VMs keep it clear and see no MTE;
 *  - stage 2 maps RAM Normal write-back, which leaves the stage-1 Tagged
 *    attribute in force (Arm ARM D10.5, "Allocation Tags" and stage 2).
 * docs/cpu-features.md, "Memory tagging".
 */
#include <arch/mte.h>
#include <arch/sysreg.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

/* ID_AA64PFR1_EL1.MTE [11:8]: 2 is FEAT_MTE2 (tag memory), 3 FEAT_MTE3 (asymmetric checks) */
static unsigned int mte_level(void)
{
    return ID_FIELD(read_sysreg(id_aa64pfr1_el1), ID_AA64PFR1_EL1_MTE_SHIFT);
}

bool arch_mem_tagging_supported(void)
{
    return mte_level() >= 2;
}

/* The MAIR_EL2 value: Keel's Normal attribute Tagged where VMs may use tags. */
u64 mte_mair_el2(void)
{
    u64 mair = MAIR_EL2_VALUE;

    if (!arch_mem_tagging_supported())
        return mair;
    mair &= ~(0xffUL << (8 * MAIR_IDX_NORMAL));
    return mair | (MAIR_ATTR_NORMAL_TAGGED << (8 * MAIR_IDX_NORMAL));
}

/* Each CPU: tag instructions allowed at EL2 (DC GVA), tag checks off there. */
void mte_cpu_setup(void)
{
    if (!arch_mem_tagging_supported())
        return;
    write_sysreg(sctlr_el2, (read_sysreg(sctlr_el2) | SCTLR_EL2_ATA) & ~SCTLR_EL2_TCF_MASK);
    isb();
}

/* The EL1 tag-check registers by encoding, for assemblers without FEAT_MTE (Arm ARM D17.2). */
#define GCR_EL1 S3_0_C1_C0_6
#define RGSR_EL1 S3_0_C1_C0_5
#define TFSR_EL1 S3_0_C5_C6_0
#define TFSRE0_EL1 S3_0_C5_C6_1

/*
 * A vCPU's tag-check state at its start: GCR_EL1, RGSR_EL1, TFSR_EL1,
 * TFSRE0_EL1 all 0; written whatever the VM, so nothing of a tagged VM's
 * carries over.
 */
void mte_vcpu_reset(void)
{
    if (!arch_mem_tagging_supported())
        return;
    write_sysreg_enc(GCR_EL1, 0);
    write_sysreg_enc(RGSR_EL1, 0);
    write_sysreg_enc(TFSR_EL1, 0);
    write_sysreg_enc(TFSRE0_EL1, 0);
}

/*
 * The switch saves and loads the four registers for a tagged VM only. A
 * plain VM runs with HCR_EL2.ATA clear: its EL1 accesses to them trap to
 * Keel (and are UNDEFINED to it), IRG ignores GCR_EL1 and RGSR_EL1 and
 * yields tag 0, and no access is Tag Checked, so nothing writes
 * TFSR_EL1/TFSRE0_EL1 (Arm ARM D10, "Allocation Tag access" and
 * AArch64.AccessIsTagChecked()). It can neither read nor change what the
 * last tagged vCPU on the core left there, and that one's load rewrites
 * them; so a plain vCPU costs nothing here. Keel's own TFSR_EL2 and
 * SCTLR_EL2.TCF never change (see the top of this file).
 */
void mte_vcpu_save(struct vcpu *v)
{
    struct vcpu_mte *m = &v->arch.mte;

    if (!v->vm->cfg.mem_tagging)
        return;
    /*
     * An asynchronous Tag Check Fault of the guest's last accesses may not
     * be in TFSR_EL1/TFSRE0_EL1 yet: a DSB completes those accesses, and
     * the ISB orders the reads after it, so no fault is lost here or
     * charged to the next vCPU (D10, "Tag Check Faults"; SCTLR_EL1.ITFSB
     * would do it only on an exception entry to EL1, not on this exit).
     */
    dsb(nsh);
    isb();
    m->gcr = read_sysreg_enc(GCR_EL1);
    m->rgsr = read_sysreg_enc(RGSR_EL1);
    m->tfsr = read_sysreg_enc(TFSR_EL1);
    m->tfsre0 = read_sysreg_enc(TFSRE0_EL1);
}

/* No ISB: only the guest uses these, and the ERET into it synchronises them. */
void mte_vcpu_load(const struct vcpu *v)
{
    const struct vcpu_mte *m = &v->arch.mte;

    if (!v->vm->cfg.mem_tagging)
        return;
    write_sysreg_enc(GCR_EL1, m->gcr);
    write_sysreg_enc(RGSR_EL1, m->rgsr);
    write_sysreg_enc(TFSR_EL1, m->tfsr);
    write_sysreg_enc(TFSRE0_EL1, m->tfsre0);
}

/* ID_AA64PFR1_EL1.MTE for @vm: the host's level for a tagged VM, else hidden (0). */
u64 mte_id_pfr1(const struct vm *vm, u64 val)
{
    if (!vm->cfg.mem_tagging)
        return val;
    return val | ((u64)mte_level() << ID_AA64PFR1_EL1_MTE_SHIFT);
}
