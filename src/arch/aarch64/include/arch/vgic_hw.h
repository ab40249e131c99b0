/*
 * The hardware src/arch/aarch64/vgic_lr.c drives: this physical CPU's
 * virtual interface control registers (ICH_*_EL2, Arm IHI 0069 12.4).
 * Inline system register accesses in Keel. The host unit tests
 * (tests/unit/vgic_lr/) build vgic_lr.c with VGIC_HW_FAKE and link a model of
 * the hardware in their place, so the list-register policy runs on the host;
 * irqchip->deactivate and gic_nr_lrs() (drivers/gic.h) are faked at link time.
 */
#ifndef ARCH_VGIC_HW_H
#define ARCH_VGIC_HW_H

#include <keel/types.h>
#include <arch/gicv3_regs.h>

#ifdef VGIC_HW_FAKE

u64 ich_lr_read(unsigned int n);
void ich_lr_write(unsigned int n, u64 v);
u64 ich_hcr_read(void);
void ich_hcr_write(u64 v);
u64 ich_vmcr_read(void);
void ich_vmcr_write(u64 v);
u64 ich_vtr_read(void);
u32 ich_elrsr_read(void);
u32 ich_eisr_read(void);
void ich_aprs_clear(void);
void ich_sync(void);

#else

#include <arch/sysreg.h>

/* mrs/msr need the register number in the instruction: one case per LR. */
#define ICH_LR_CASES(op)                                                        \
    op(0, S3_4_C12_C12_0) op(1, S3_4_C12_C12_1) op(2, S3_4_C12_C12_2)           \
    op(3, S3_4_C12_C12_3) op(4, S3_4_C12_C12_4) op(5, S3_4_C12_C12_5)           \
    op(6, S3_4_C12_C12_6) op(7, S3_4_C12_C12_7) op(8, S3_4_C12_C13_0)           \
    op(9, S3_4_C12_C13_1) op(10, S3_4_C12_C13_2) op(11, S3_4_C12_C13_3)         \
    op(12, S3_4_C12_C13_4) op(13, S3_4_C12_C13_5) op(14, S3_4_C12_C13_6)        \
    op(15, S3_4_C12_C13_7)

static inline u64 ich_lr_read(unsigned int n)
{
#define ICH_LR_READ(i, reg) case i: return read_sysreg(reg);
    switch (n) {
    ICH_LR_CASES(ICH_LR_READ)
    }
#undef ICH_LR_READ
    return 0;
}

static inline void ich_lr_write(unsigned int n, u64 v)
{
#define ICH_LR_WRITE(i, reg) case i: write_sysreg(reg, v); break;
    switch (n) {
    ICH_LR_CASES(ICH_LR_WRITE)
    }
#undef ICH_LR_WRITE
}

static inline u64 ich_hcr_read(void) { return read_sysreg(ICH_HCR_EL2); }
static inline void ich_hcr_write(u64 v) { write_sysreg(ICH_HCR_EL2, v); }
static inline u64 ich_vmcr_read(void) { return read_sysreg(ICH_VMCR_EL2); }
static inline void ich_vmcr_write(u64 v) { write_sysreg(ICH_VMCR_EL2, v); }
static inline u64 ich_vtr_read(void) { return read_sysreg(ICH_VTR_EL2); }
static inline u32 ich_elrsr_read(void) { return (u32)read_sysreg(ICH_ELRSR_EL2); }
static inline u32 ich_eisr_read(void) { return (u32)read_sysreg(ICH_EISR_EL2); }

/* No active priorities: the vCPU starts with nothing being handled. */
static inline void ich_aprs_clear(void)
{
    write_sysreg(ICH_AP1R0_EL2, 0);
    write_sysreg(ICH_AP0R0_EL2, 0);
}

static inline void ich_sync(void) { isb(); }

#endif /* VGIC_HW_FAKE */
#endif
