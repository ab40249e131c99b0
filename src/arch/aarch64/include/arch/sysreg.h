/*
 * System register access and the field encodings Keel uses, named as the
 * Arm ARM (DDI 0487) spells them.
 */
#ifndef ARCH_SYSREG_H
#define ARCH_SYSREG_H

#include <keel/types.h>
#include <arch/asm.h>

#define read_sysreg(r) ({ u64 __v; __asm__ volatile("mrs %0, " #r : "=r"(__v)); __v; })
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %x0" : : "rZ"((u64)(v)))
/* For a register named by a macro (its S<op0>_<op1>_C<n>_C<m>_<op2> encoding). */
#define read_sysreg_enc(r) read_sysreg(r)
#define write_sysreg_enc(r, v) write_sysreg(r, v)
#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt ::: "memory")
#define wfi() __asm__ volatile("wfi" ::: "memory")
#define wfe() __asm__ volatile("wfe" ::: "memory")
#define sev() __asm__ volatile("sev" ::: "memory")

/* D13.2.36 CurrentEL */
#define CURRENTEL_EL2 (2 << 2)

/* D13.2.47 HCR_EL2 */
#define HCR_EL2_VM BIT(0)
#define HCR_EL2_SWIO BIT(1)
#define HCR_EL2_PTW BIT(2)
#define HCR_EL2_FMO BIT(3)
#define HCR_EL2_IMO BIT(4)
#define HCR_EL2_AMO BIT(5)
#define HCR_EL2_VF BIT(6)
#define HCR_EL2_VI BIT(7)
#define HCR_EL2_VSE BIT(8)
#define HCR_EL2_FB BIT(9)
#define HCR_EL2_BSU_IS (1UL << 10)
#define HCR_EL2_DC BIT(12)
#define HCR_EL2_TWI BIT(13)
#define HCR_EL2_TWE BIT(14)
#define HCR_EL2_TID0 BIT(15)
#define HCR_EL2_TID1 BIT(16)
#define HCR_EL2_TID2 BIT(17)
#define HCR_EL2_TID3 BIT(18)
#define HCR_EL2_TSC BIT(19)
#define HCR_EL2_TIDCP BIT(20)
#define HCR_EL2_TACR BIT(21)
#define HCR_EL2_TSW BIT(22)
#define HCR_EL2_TPCP BIT(23)
#define HCR_EL2_TPU BIT(24)
#define HCR_EL2_TTLB BIT(25)
#define HCR_EL2_TVM BIT(26)
#define HCR_EL2_TGE BIT(27)
#define HCR_EL2_TDZ BIT(28)
#define HCR_EL2_HCD BIT(29)
#define HCR_EL2_TRVM BIT(30)
#define HCR_EL2_RW BIT(31)
#define HCR_EL2_E2H BIT(34)
#define HCR_EL2_TLOR BIT(35)
#define HCR_EL2_TERR BIT(36)
#define HCR_EL2_APK BIT(40)
#define HCR_EL2_API BIT(41)
#define HCR_EL2_ATA BIT(56)
#define HCR_EL2_TID4 BIT(49)
#define HCR_EL2_FWB BIT(46)

/* D13.2.113 SCTLR_EL2 (E2H == 0): the bits boot.S needs live in arch/asm.h */
#define SCTLR_EL2_TCF_MASK (3UL << 40) /* tag check faults at EL2: 0, none */
#define SCTLR_EL2_ATA BIT(43)          /* Allocation Tag access at EL2 */

/* D13.2.121 TCR_EL2 (E2H == 0) */
#define TCR_EL2_RES1 (BIT(31) | BIT(23))
#define TCR_EL2_T0SZ(n) ((u64)(n))
#define TCR_EL2_IRGN0_WBWA (1UL << 8)
#define TCR_EL2_ORGN0_WBWA (1UL << 10)
#define TCR_EL2_SH0_INNER (3UL << 12)
#define TCR_EL2_TG0_4K (0UL << 14)
#define TCR_EL2_PS_SHIFT 16

/* D13.2.151 VTCR_EL2 */
#define VTCR_EL2_RES1 BIT(31)
#define VTCR_EL2_T0SZ(n) ((u64)(n))
#define VTCR_EL2_SL0_SHIFT 6
#define VTCR_EL2_IRGN0_WBWA (1UL << 8)
#define VTCR_EL2_ORGN0_WBWA (1UL << 10)
#define VTCR_EL2_SH0_INNER (3UL << 12)
#define VTCR_EL2_TG0_4K (0UL << 14)
#define VTCR_EL2_PS_SHIFT 16
#define VTCR_EL2_VS BIT(19)

/* D13.2.64 ID_AA64MMFR0_EL1 */
#define ID_AA64MMFR0_EL1_PARANGE_MASK 0xfUL
#define ID_AA64MMFR0_EL1_FGT_SHIFT 56
#define ID_AA64MMFR0_EL1_ECV_SHIFT 60
#define ID_AA64MMFR1_EL1_VMIDBITS_SHIFT 4
#define ID_AA64MMFR1_EL1_LO_SHIFT 16
#define ID_AA64MMFR1_EL1_HCX_SHIFT 40
#define ID_AA64PFR0_EL1_RAS_SHIFT 28
#define ID_AA64PFR1_EL1_MTE_SHIFT 8
#define ID_FIELD(v, shift) (((v) >> (shift)) & 0xf)

/*
 * EL2 controls of newer features, by encoding (older assemblers lack the
 * names): HCRX_EL2 (FEAT_HCX) and the fine-grained trap registers (FEAT_FGT).
 */
#define HCRX_EL2 S3_4_C1_C2_2
#define HFGRTR_EL2 S3_4_C1_C1_4
#define HFGWTR_EL2 S3_4_C1_C1_5
#define HFGITR_EL2 S3_4_C1_C1_6
#define HDFGRTR_EL2 S3_4_C3_C1_4
#define HDFGWTR_EL2 S3_4_C3_C1_5
#define HDFGxTR_EL2_DBGCLAIM BIT(5) /* DBGCLAIMSET/CLR_EL1 trap (D24.2.67, D24.2.69) */

/* MAIR attribute indexes used by Keel's EL2 tables */
#define MAIR_IDX_DEVICE 0 /* Device-nGnRE */
#define MAIR_IDX_NORMAL 1 /* Normal, inner/outer write-back, read/write-allocate */
#define MAIR_IDX_NORMAL_NC 2
#define MAIR_ATTR_NORMAL_TAGGED 0xf0UL /* FEAT_MTE2: Tagged Normal, inner/outer write-back */
#define MAIR_EL2_VALUE ((0x04UL << (8 * MAIR_IDX_DEVICE)) | (0xffUL << (8 * MAIR_IDX_NORMAL)) | \
                        (0x44UL << (8 * MAIR_IDX_NORMAL_NC)))

/* D13.2.19 CNTHCTL_EL2 (E2H == 0) */
/* CNTP_CTL_EL0 and CNTV_CTL_EL0 (Arm ARM D13.8): the same three bits in both timers. */
#define CNT_CTL_ENABLE BIT(0)
#define CNT_CTL_IMASK BIT(1)
#define CNT_CTL_ISTATUS BIT(2)

#define CNTHCTL_EL2_EL1PCTEN BIT(0)
#define CNTHCTL_EL2_EL1PCEN BIT(1)
#define CNTHCTL_EL2_EL1TVT BIT(13) /* FEAT_ECV: EL1 virtual timer accesses trap */
/* A guest's: the counters readable, the EL1 physical timer trapped (ptimer.c) */
#define CNTHCTL_GUEST CNTHCTL_EL2_EL1PCTEN

/* D13.2.125 SPSR_EL2 */
#define PSR_MODE_EL1h 0x5UL
#define PSR_MODE_EL2h 0x9UL
#define PSR_F BIT(6)
#define PSR_I BIT(7)
#define PSR_A BIT(8)
#define PSR_D BIT(9)
#define PSR_PAN BIT(22)
#define PSR_NZCV GENMASK(31, 28)
#define PSR_DIT BIT(24)     /* at bit 24 in both the AArch64 and the AArch32 SPSR format */
#define PSR_SSBS BIT(12)    /* AArch64 format */
#define PSR_ALLINT BIT(13)
#define PSR_TCO BIT(25)     /* FEAT_MTE: tag checks override */
#define PSR_MODE32 BIT(4)   /* M[4]: taken from AArch32 */
#define PSR_BTYPE GENMASK(11, 10) /* AArch64 format, FEAT_BTI */
#define PSR_SS BIT(21)      /* software step, at bit 21 in both SPSR formats (D2.12) */
/* C5.2.18 SPSR_EL2 when taken from AArch32: T, IT[1:0] at 26:25 and IT[7:2] at 15:10 */
#define PSR_AA32_T BIT(5)
#define PSR_AA32_IT_LO GENMASK(26, 25)
#define PSR_AA32_IT_HI GENMASK(15, 10)

/* D13.2.118 SCTLR_EL1: bits read on exception entry to EL1 */
#define SCTLR_EL1_SPAN BIT(23)
#define SCTLR_EL1_DSSBS BIT(44)
#define SCTLR_EL1_SPINTMASK BIT(45)

/* CPTR_EL2 (E2H == 0), D13.2.31 */
#define CPTR_EL2_RES1 0x32ffUL /* bits 13:12, 9, 7:0 */
#define CPTR_EL2_TFP BIT(10)
#define CPTR_EL2_TZ BIT(8)
#define CPTR_EL2_TTA BIT(20)
#define CPTR_EL2_TAM BIT(30)
#define CPTR_EL2_TCPAC BIT(31)

/* MDCR_EL2, D13.3.7 */
#define MDCR_EL2_HPMN_MASK 0x1fUL
#define MDCR_EL2_TPMCR BIT(5)
#define MDCR_EL2_TPM BIT(6)
#define MDCR_EL2_TDE BIT(8)
#define MDCR_EL2_TDA BIT(9)
#define MDCR_EL2_TDOSA BIT(10)
#define MDCR_EL2_TDRA BIT(11)
#define MDCR_EL2_TPMS BIT(14)
#define MDCR_EL2_HPMD BIT(17) /* FEAT_PMUv3p1 */
#define MDCR_EL2_TTRF BIT(19)
#define MDCR_EL2_HCCD BIT(23) /* FEAT_PMUv3p5 */
#define MDCR_EL2_TDCC BIT(27) /* FEAT_FGT */

/* D13.3 (debug registers): the fields Keel reads or sets */
#define ID_AA64DFR0_EL1_BRPS_SHIFT 12
#define ID_AA64DFR0_EL1_WRPS_SHIFT 20
#define ID_AA64DFR0_EL1_DOUBLELOCK_SHIFT 36
#define MDSCR_EL1_SS BIT(0)
#define MDSCR_EL1_KDE BIT(13)
#define MDSCR_EL1_MDE BIT(15)
#define OSLSR_EL1_OSLM_IMPLEMENTED BIT(3) /* OSLM 0b10: the OS lock is implemented */
#define OSLSR_EL1_OSLK BIT(1)

/* D13.2, ID_AA64DFR0_EL1.PMUVer and ID_DFR0_EL1.PerfMon: one encoding from PMUv3p1 on */
#define ID_AA64DFR0_EL1_PMUVER_SHIFT 8
#define ID_DFR0_EL1_PERFMON_SHIFT 24
#define ID_PMUVER_PMUV3P1 4
#define ID_PMUVER_PMUV3P5 6
#define ID_PMUVER_IMPDEF 0xf

/* D13.4 Performance Monitors registers: PMCR_EL0 */
#define PMCR_EL0_E BIT(0)
#define PMCR_EL0_P BIT(1)
#define PMCR_EL0_C BIT(2)
#define PMCR_EL0_D BIT(3)
#define PMCR_EL0_X BIT(4)
#define PMCR_EL0_DP BIT(5)
#define PMCR_EL0_LC BIT(6)
#define PMCR_EL0_LP BIT(7)  /* FEAT_PMUv3p5 */
#define PMCR_EL0_FZO BIT(9) /* FEAT_PMUv3p7 */
#define PMCR_EL0_N(v) (((v) >> 11) & 0x1f)
/* PMSELR_EL0.SEL of the cycle counter: PMXEVTYPER_EL0 then reaches PMCCFILTR_EL0 */
#define PMSELR_EL0_SEL_CYCLE 31

#endif
