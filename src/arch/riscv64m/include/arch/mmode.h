/*
 * What Keel itself uses of M-mode on the real hart (privileged spec 1.12,
 * chapter 3): the trap CSRs, mstatus fields for entering U-mode, PMP, and
 * the CLINT (SiFive's layout, as QEMU virt's ACLINT keeps it: msip at +0,
 * mtimecmp at +0x4000, mtime at +0xbff8, 4/8/8 bytes per hart).
 */
#ifndef ARCH_MMODE_H
#define ARCH_MMODE_H

#include <keel/types.h>

#define CSR_MSTATUS 0x300
#define CSR_MISA 0x301
#define CSR_MEDELEG 0x302
#define CSR_MIDELEG 0x303
#define CSR_MIE 0x304
#define CSR_MTVEC 0x305
#define CSR_MCOUNTEREN 0x306
#define CSR_MENVCFG 0x30a
#define CSR_MSCRATCH 0x340
#define CSR_MEPC 0x341
#define CSR_MCAUSE 0x342
#define CSR_MTVAL 0x343
#define CSR_MIP 0x344
#define CSR_PMPCFG0 0x3a0
#define CSR_PMPADDR0 0x3b0
#define CSR_MHARTID 0xf14

/* mstatus (3.1.6) */
#define MSTATUS_MIE BIT(3)
#define MSTATUS_MPIE BIT(7)
#define MSTATUS_MPP (3UL << 11)
#define MSTATUS_FS (3UL << 13)
#define MSTATUS_MPRV BIT(17)
#define MSTATUS_SUM BIT(18)
#define MSTATUS_MXR BIT(19)

/* mie/mip bits (3.1.9): interrupt numbers */
#define IRQ_M_SOFT 3
#define IRQ_M_TIMER 7
#define MIE_MSIE BIT(3)
#define MIE_MTIE BIT(7)
#define MIE_MEIE BIT(11)

#define MCAUSE_INTERRUPT BIT(63)
#define EXC_ECALL_S 9
#define EXC_ECALL_M 11

/* PMP (3.7): pmpcfg byte fields and the NAPOT/TOR address encodings */
#define PMP_R BIT(0)
#define PMP_W BIT(1)
#define PMP_X BIT(2)
#define PMP_A_TOR (1U << 3)
#define PMP_A_NAPOT (3U << 3)

/* satp (4.1.11) */
#define SATP_MODE_SV39 (8UL << 60)
#define SATP_MODE_SV48 (9UL << 60)
#define SATP_MODE_MASK (0xfUL << 60)
#define SATP_PPN_MASK GENMASK(43, 0)

/* CLINT offsets */
#define CLINT_MSIP(hart) (4UL * (hart))
#define CLINT_MTIMECMP(hart) (0x4000UL + 8UL * (hart))
#define CLINT_MTIME 0xbff8UL
#define CLINT_SIZE 0x10000UL

#endif
