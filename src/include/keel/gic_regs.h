/*
 * GICv3 distributor and redistributor register offsets and fields (Arm IHI
 * 0069, chapter 12), shared by the physical driver (src/drivers/gicv3.c) and
 * the emulation guests see (src/vdev/vgic.c).
 */
#ifndef KEEL_GIC_REGS_H
#define KEEL_GIC_REGS_H

#include <keel/types.h>

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_TYPER2 0x000c
#define GICD_STATUSR 0x0010
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_ICPENDR 0x0280
#define GICD_ISACTIVER 0x0300
#define GICD_ICACTIVER 0x0380
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0c00
#define GICD_IROUTER 0x6000
#define GICD_PIDR2 0xffe8

/* GICD_CTLR with one security state (DS = 1), as guests see it */
#define GICD_CTLR_EnableGrp0 BIT(0)
#define GICD_CTLR_EnableGrp1 BIT(1)
#define GICD_CTLR_ARE BIT(4)
#define GICD_CTLR_DS BIT(6)
/* GICD_CTLR, Non-secure view with two security states (DS = 0) */
#define GICD_CTLR_EnableGrp1NS BIT(0)
#define GICD_CTLR_EnableGrp1A BIT(1)
#define GICD_CTLR_ARE_NS BIT(4)
#define GICD_CTLR_RWP BIT(31)

/* Redistributor: RD_base frame, then SGI_base 64 KiB above it */
#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_STATUSR 0x0010
#define GICR_WAKER 0x0014
#define GICR_PROPBASER 0x0070
#define GICR_PENDBASER 0x0078
#define GICR_PIDR2 0xffe8
#define GICR_SGI_BASE 0x10000
#define GICR_FRAME_SIZE 0x20000 /* RD_base + SGI_base, without VLPIs */
#define GICR_WAKER_ProcessorSleep BIT(1)
#define GICR_WAKER_ChildrenAsleep BIT(2)
#define GICR_TYPER_Last BIT(4)

#define GIC_PIDR2_ARCH_GICv3 0x3b

#endif
