/* SMC Calling Convention (Arm DEN 0028) as Keel's guests see it. */
#ifndef KEEL_SMCCC_H
#define KEEL_SMCCC_H

#include <keel/vcpu.h>

#define SMCCC_VERSION 0x80000000U
#define SMCCC_ARCH_FEATURES 0x80000001U
#define SMCCC_ARCH_SOC_ID 0x80000002U
#define SMCCC_ARCH_WORKAROUND_1 0x80008000U
#define SMCCC_ARCH_WORKAROUND_2 0x80007fffU
#define SMCCC_ARCH_WORKAROUND_3 0x80003fffU
#define SMCCC_VERSION_1_1 0x10001U

#define SMCCC_RET_SUCCESS 0
#define SMCCC_RET_NOT_SUPPORTED (-1)
#define SMCCC_RET_NOT_REQUIRED (-2)
#define SMCCC_RET_INVALID_PARAMETER (-3)
#define SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED 1

/*
 * Keel's own calls: SMCCC vendor-specific hypervisor service range (OEN 6),
 * 64-bit fast calls only (docs/hypercalls.md).
 */
#define KEEL_HC_BASE 0xc6000000U
#define KEEL_HC_VERSION (KEEL_HC_BASE + 0x0)
#define KEEL_HC_DOORBELL (KEEL_HC_BASE + 0x1)
#define KEEL_HC_CONSOLE_WRITE (KEEL_HC_BASE + 0x2)      /* x1 = buffer IPA, x2 = length */
#define KEEL_HC_CONSOLE_READ_BYTE (KEEL_HC_BASE + 0x3)  /* the byte, or -1: none waiting */
#define KEEL_HC_CONSOLE_WRITE_BYTE (KEEL_HC_BASE + 0x4) /* x1 bits [7:0] = the byte */

void smccc_handle(struct vcpu *v);

#endif
