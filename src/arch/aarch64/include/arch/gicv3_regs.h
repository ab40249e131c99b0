/*
 * GICv3 system registers by encoding (Arm IHI 0069, chapter 12), so the
 * assembler needs no GIC-specific names.
 */
#ifndef ARCH_GICV3_REGS_H
#define ARCH_GICV3_REGS_H

#define ICC_PMR_EL1 S3_0_C4_C6_0
#define ICC_IAR1_EL1 S3_0_C12_C12_0
#define ICC_EOIR1_EL1 S3_0_C12_C12_1
#define ICC_BPR1_EL1 S3_0_C12_C12_3
#define ICC_CTLR_EL1 S3_0_C12_C12_4
#define ICC_SRE_EL1 S3_0_C12_C12_5
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define ICC_DIR_EL1 S3_0_C12_C11_1
#define ICC_SGI1R_EL1 S3_0_C12_C11_5
#define ICC_SRE_EL2 S3_4_C12_C9_5

#define ICH_AP0R0_EL2 S3_4_C12_C8_0
#define ICH_AP1R0_EL2 S3_4_C12_C9_0
#define ICH_HCR_EL2 S3_4_C12_C11_0
#define ICH_VTR_EL2 S3_4_C12_C11_1
#define ICH_MISR_EL2 S3_4_C12_C11_2
#define ICH_EISR_EL2 S3_4_C12_C11_3
#define ICH_ELRSR_EL2 S3_4_C12_C11_5
#define ICH_VMCR_EL2 S3_4_C12_C11_7

#define ICC_SRE_EL2_SRE (1UL << 0)
#define ICC_SRE_EL2_DFB (1UL << 1)
#define ICC_SRE_EL2_DIB (1UL << 2)
#define ICC_SRE_EL2_Enable (1UL << 3)
#define ICC_CTLR_EL1_EOImode (1UL << 1)

/* IHI 0069 12.4.5 ICH_HCR_EL2 */
#define ICH_HCR_EL2_En (1UL << 0)
#define ICH_HCR_EL2_UIE (1UL << 1)
#define ICH_HCR_EL2_LRENPIE (1UL << 2)
#define ICH_HCR_EL2_NPIE (1UL << 3)
#define ICH_HCR_EL2_TDIR (1UL << 14)
#define ICH_HCR_EL2_EOIcount_SHIFT 27
#define ICH_HCR_EL2_EOIcount (0x1fUL << ICH_HCR_EL2_EOIcount_SHIFT)
/* IHI 0069 12.4.7 ICH_MISR_EL2 */
#define ICH_MISR_EL2_EOI (1UL << 0)
#define ICH_MISR_EL2_U (1UL << 1)
#define ICH_MISR_EL2_LRENP (1UL << 2)
#define ICH_MISR_EL2_NP (1UL << 3)
/* IHI 0069 12.4.8 ICH_VMCR_EL2 */
#define ICH_VMCR_EL2_VEOIM (1UL << 9)
#define ICH_VMCR_EL2_VPMR_SHIFT 24
/* IHI 0069 12.4.9 ICH_VTR_EL2 */
#define ICH_VTR_EL2_ListRegs(v) (((v) & 0x1f) + 1)
#define ICH_VTR_EL2_TDS (1UL << 19)

/* IHI 0069 12.4.6 ICH_LR<n>_EL2 */
#define ICH_LR_VINTID_MASK 0xffffffffUL
#define ICH_LR_PINTID_SHIFT 32
#define ICH_LR_PINTID_MASK 0x1fffUL /* pINTID[44:32], shifted down */
#define ICH_LR_EOI (1UL << 41)
#define ICH_LR_PRIORITY_SHIFT 48
#define ICH_LR_PRIORITY_MASK (0xffUL << ICH_LR_PRIORITY_SHIFT)
#define ICH_LR_GROUP (1UL << 60)
#define ICH_LR_HW (1UL << 61)
#define ICH_LR_STATE_PENDING (1UL << 62)
#define ICH_LR_STATE_ACTIVE (1UL << 63)
#define ICH_LR_STATE (ICH_LR_STATE_PENDING | ICH_LR_STATE_ACTIVE)

#endif
