/*
 * A list-register half for the vGIC fuzzer: what src/arch/aarch64/vgic_lr.c
 * does with ICH_LR<n>_EL2, done on a fake LR file per vCPU, plus the guest's
 * side of the CPU interface (acknowledge, EOI/deactivate) so interrupts go
 * through their whole life. src/vdev/vgic.c links against this instead of
 * the real half, as in the unit suite (tests/unit/vgic).
 *
 * The fake follows the contract vgic.h states for the real half; where the
 * real one is being rewritten it does what that contract asks, not what the
 * current code happens to do (see tests/fuzz/README.md).
 */
#ifndef FUZZ_VGIC_FAKE_LR_H
#define FUZZ_VGIC_FAKE_LR_H

#include <keel/vm.h>
#include <keel/vgic_vm.h>

struct fake_lr {
    bool pending, active;
    bool hw;      /* forwarded: the guest's deactivation reaches pintid */
    u16 intid, pintid;
    u8 source;    /* vGICv2 SGIs: the one source CPU this LR delivers (GICH_LR.CPUID) */
};

struct fake_lr_state {
    struct fake_lr lr[VM_MAX_VCPUS][VGIC_MAX_LRS]; /* by vCPU index */
    unsigned int nr_lrs;                           /* ICH_VTR_EL2.ListRegs + 1 */
    struct vcpu *current;                          /* cpu_this()->vcpu: whose LRs are "here" */
    unsigned int kicks[VM_MAX_VCPUS];
    unsigned int deactivations;                    /* physical deactivations of HW interrupts */
    /*
     * FUZZ_VGIC_LR=old: fold LRs back as vgic_lr.c did before the two bugs
     * this harness found were fixed (a re-routed SPI's want bit stayed on its
     * old target, and it was queued again whatever its group's enable), to
     * show the regression inputs catch them. Default: as vgic.h's contract
     * asks, which is what vgic_lr.c does now (its unit tests check it).
     */
    bool like_current;
};

extern struct fake_lr_state fake_lr;

void fake_lr_reset(unsigned int nr_lrs);
/* vgic_flush(): the vCPU is about to enter the guest. */
void fake_lr_flush(struct vcpu *v);
/* The guest reads ICC_IAR1_EL1 (LR @n: pending -> active) or writes ICC_EOIR1/DIR. */
void fake_lr_guest_ack(struct vcpu *v, unsigned int n);
void fake_lr_guest_eoi(struct vcpu *v, unsigned int n);
/* The LR of the vCPU running here that holds @intid, or -1. */
int fake_lr_find(struct vcpu *v, u32 intid);

#endif
