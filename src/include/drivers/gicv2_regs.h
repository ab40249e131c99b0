/*
 * GICv2 register offsets and fields (Arm IHI 0048B): the CPU interface
 * (4.3), the virtual interface control (5.3) and the distributor registers
 * that differ from GICv3's (keel/gic_regs.h has the shared ones).
 */
#ifndef DRIVERS_GICV2_REGS_H
#define DRIVERS_GICV2_REGS_H

#include <keel/types.h>

/* Distributor (4.3): beyond the block GICv3 shares */
#define GICD_ITARGETSR 0x0800
#define GICD_SGIR 0x0f00
#define GICD_CPENDSGIR 0x0f10
#define GICD_SPENDSGIR 0x0f20
#define GICD_TYPER_CPUNumber(t) (((t) >> 5) & 0x7)
#define GICD_TYPER_SecurityExtn BIT(10)
#define GICD_SGIR_TargetListFilter(v) (((v) >> 24) & 0x3)
#define GICD_SGIR_CPUTargetList(v) (((v) >> 16) & 0xff)
#define GICD_SGIR_SGIINTID(v) ((v) & 0xf)
#define GICD_ICPIDR2_V2 0x0fe8
#define GIC_PIDR2_ARCH_GICv2 0x2b /* ArchRev 2 in bits [7:4] */

/* CPU interface (4.4) */
#define GICC_CTLR 0x0000
#define GICC_PMR 0x0004
#define GICC_BPR 0x0008
#define GICC_IAR 0x000c
#define GICC_EOIR 0x0010
#define GICC_DIR 0x1000
#define GICC_CTLR_EnableGrp0 BIT(0)
#define GICC_CTLR_EnableGrp1 BIT(1)
#define GICC_CTLR_EOImodeS BIT(9)  /* Non-secure view: EOImodeNS */
#define GICC_CTLR_EOImodeNS BIT(10)
#define GICC_IAR_INTID(v) ((v) & 0x3ff)
#define GICC_IAR_CPUID(v) (((v) >> 10) & 0x7)

/* Virtual interface control (5.3) */
#define GICH_HCR 0x0000
#define GICH_VTR 0x0004
#define GICH_VMCR 0x0008
#define GICH_MISR 0x0010
#define GICH_EISR0 0x0020
#define GICH_ELRSR0 0x0030
#define GICH_APR 0x00f0
#define GICH_LR(n) (0x0100 + 4 * (n))
#define GICH_VTR_ListRegs(v) (((v) & 0x3f) + 1)

/* GICH_LR<n> (5.3.12) */
#define GICH_LR_VirtualID(v) ((v) & 0x3ff)
#define GICH_LR_PhysicalID_SHIFT 10 /* HW = 1 */
#define GICH_LR_CPUID_SHIFT 10      /* HW = 0, SGIs: the source CPU */
#define GICH_LR_EOI BIT(19)         /* HW = 0: maintenance interrupt on EOI */
#define GICH_LR_Priority_SHIFT 23   /* 5 bits: priority[7:3] */
#define GICH_LR_State_SHIFT 28
#define GICH_LR_Grp1 BIT(30)
#define GICH_LR_HW BIT(31)

#endif
