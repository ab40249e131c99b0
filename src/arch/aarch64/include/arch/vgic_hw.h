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
u64 ich_aprs_read(void);
void ich_aprs_write(u64 v);
void ich_sync(void);
unsigned int gic_nr_lrs(void);
/* The faked number of LRs changes from test to test. */
static inline u32 ich_lrs_all(void) { return (u32)((1UL << gic_nr_lrs()) - 1); }

#else

#include <arch/sysreg.h>
#include <drivers/gic.h>
#include <drivers/gicv2_regs.h>

/*
 * GICv2 (GIC-400): the same registers as MMIO in the GICH frame (IHI 0048B
 * 5.3), banked per CPU. vgic_lr.c speaks ICH_LR<n>_EL2's layout; these
 * convert. On a GICv2 the guest's GICC_DIR always traps (its page is not
 * mapped, src/irqchip/vgicv2.c), which is what TDIR gives on GICv3: VTR
 * reports TDS and TDIR is not written.
 */
#ifdef VGIC_LR_GICV2
#define VGIC_HW_GICH 1
#else
#define VGIC_HW_GICH 0
#endif

static inline volatile u32 *gich_reg(u64 off)
{
    return (volatile u32 *)(gic_gich + off);
}

/* ICH_LR layout -> GICH_LR. HW = 0: an SGI's source CPU rides in bits [34:32]. */
static inline u32 gich_lr_from_ich(u64 v)
{
    u32 lr = (u32)(v & 0x3ff) | (u32)((v >> ICH_LR_PRIORITY_SHIFT) >> 3 & 0x1f) << GICH_LR_Priority_SHIFT |
             (u32)(v >> 62) << GICH_LR_State_SHIFT | ((v & ICH_LR_GROUP) ? GICH_LR_Grp1 : 0);

    if (v & ICH_LR_HW)
        return lr | GICH_LR_HW | (u32)((v >> ICH_LR_PINTID_SHIFT) & 0x3ff) << GICH_LR_PhysicalID_SHIFT;
    return lr | ((v & ICH_LR_EOI) ? GICH_LR_EOI : 0) |
           (u32)((v >> ICH_LR_PINTID_SHIFT) & 0x7) << GICH_LR_CPUID_SHIFT;
}

static inline u64 gich_lr_to_ich(u32 lr)
{
    u64 v = GICH_LR_VirtualID(lr) | (u64)((lr >> GICH_LR_Priority_SHIFT) & 0x1f) << (ICH_LR_PRIORITY_SHIFT + 3) |
            (u64)((lr >> GICH_LR_State_SHIFT) & 3) << 62 | ((lr & GICH_LR_Grp1) ? ICH_LR_GROUP : 0);

    if (lr & GICH_LR_HW)
        return v | ICH_LR_HW | (u64)((lr >> GICH_LR_PhysicalID_SHIFT) & 0x3ff) << ICH_LR_PINTID_SHIFT;
    return v | ((lr & GICH_LR_EOI) ? ICH_LR_EOI : 0) |
           (u64)((lr >> GICH_LR_CPUID_SHIFT) & 0x7) << ICH_LR_PINTID_SHIFT;
}

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
    if (VGIC_HW_GICH)
        return gich_lr_to_ich(*gich_reg(GICH_LR(n)));
#define ICH_LR_READ(i, reg) case i: return read_sysreg(reg);
    switch (n) {
    ICH_LR_CASES(ICH_LR_READ)
    }
#undef ICH_LR_READ
    return 0;
}

/*
 * A write is on every flush: rather than a switch (a bounds test, a table
 * load, then the branch), a branch straight into a run of "msr; b" pairs,
 * pair @n (< 16, ICH_VTR_EL2.ListRegs) writing ICH_LR<n>_EL2. Keel builds
 * no BTI landing pads, so an indirect branch may land anywhere.
 */
static inline void ich_lr_write(unsigned int n, u64 v)
{
    u64 at;

    if (VGIC_HW_GICH) {
        *gich_reg(GICH_LR(n)) = gich_lr_from_ich(v);
        return;
    }
#define ICH_LR_WRITE(i, reg) "msr " #reg ", %x[v]\n\tb 2f\n\t"
    __asm__ volatile("adr %[at], 1f\n\t"
                     "add %[at], %[at], %x[n], lsl #3\n\t"
                     "br %[at]\n"
                     "1:\n\t" ICH_LR_CASES(ICH_LR_WRITE) "2:"
                     : [at] "=&r"(at)
                     : [n] "r"((u64)n), [v] "rZ"(v));
#undef ICH_LR_WRITE
}

/* GICH_HCR has ICH_HCR_EL2's En/UIE/LRENPIE/NPIE and EOICount where GICv3 has them. */
static inline u64 ich_hcr_read(void)
{
    return VGIC_HW_GICH ? *gich_reg(GICH_HCR) : read_sysreg(ICH_HCR_EL2);
}

static inline void ich_hcr_write(u64 v)
{
    if (VGIC_HW_GICH)
        *gich_reg(GICH_HCR) = (u32)(v & ~ICH_HCR_EL2_TDIR);
    else
        write_sysreg(ICH_HCR_EL2, v);
}

/* GICH_VMCR's fields sit where ICH_VMCR_EL2's do; its 5-bit priority mask is VPMR[7:3]. */
static inline u64 ich_vmcr_read(void)
{
    return VGIC_HW_GICH ? *gich_reg(GICH_VMCR) : read_sysreg(ICH_VMCR_EL2);
}

static inline void ich_vmcr_write(u64 v)
{
    if (VGIC_HW_GICH)
        *gich_reg(GICH_VMCR) = (u32)v;
    else
        write_sysreg(ICH_VMCR_EL2, v);
}

static inline u64 ich_vtr_read(void)
{
    return VGIC_HW_GICH ? (*gich_reg(GICH_VTR) | ICH_VTR_EL2_TDS) : read_sysreg(ICH_VTR_EL2);
}

static inline u32 ich_elrsr_read(void)
{
    return VGIC_HW_GICH ? *gich_reg(GICH_ELRSR0) : (u32)read_sysreg(ICH_ELRSR_EL2);
}

static inline u32 ich_eisr_read(void)
{
    return VGIC_HW_GICH ? *gich_reg(GICH_EISR0) : (u32)read_sysreg(ICH_EISR_EL2);
}

/* Every list register of this CPU's interface, one bit each. */
static inline u32 ich_lrs_all(void)
{
    return gic_lr_mask;
}

/* No active priorities: the vCPU starts with nothing being handled. */
static inline void ich_aprs_clear(void)
{
    if (VGIC_HW_GICH) {
        *gich_reg(GICH_APR) = 0;
        return;
    }
    write_sysreg(ICH_AP1R0_EL2, 0);
    write_sysreg(ICH_AP0R0_EL2, 0);
}

/*
 * The active priorities, saved and restored whole when a vCPU switches:
 * AP1R0 high, AP0R0 low (Keel's 5 priority bits need one of each, IHI
 * 0069 12.4.1); GICv2's one GICH_APR.
 */
static inline u64 ich_aprs_read(void)
{
    if (VGIC_HW_GICH)
        return *gich_reg(GICH_APR);
    return read_sysreg(ICH_AP1R0_EL2) << 32 | (u32)read_sysreg(ICH_AP0R0_EL2);
}

static inline void ich_aprs_write(u64 v)
{
    if (VGIC_HW_GICH) {
        *gich_reg(GICH_APR) = (u32)v;
        return;
    }
    write_sysreg(ICH_AP1R0_EL2, v >> 32);
    write_sysreg(ICH_AP0R0_EL2, (u32)v);
}

/* MMIO writes to GICH must land before the guest runs; system registers need only isb. */
static inline void ich_sync(void)
{
    if (VGIC_HW_GICH)
        dsb(sy);
    isb();
}

#endif /* VGIC_HW_FAKE */
#endif
