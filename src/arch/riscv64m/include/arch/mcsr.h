/*
 * Machine-mode CSRs and the fields Keel-in-M-mode needs (RISC-V privileged
 * spec 1.12, chapter 3; satp from 4.1.11). The supervisor CSR numbers,
 * sstatus bits, exception codes and S-level interrupt numbers come from
 * the H port's <arch/csr.h>, included here: one name for one thing.
 */
#ifndef ARCH_MCSR_H
#define ARCH_MCSR_H

#include <keel/types.h>
#include <arch/csr.h>

/* Machine information registers (3.1.1-3.1.5, 3.1.17), read-only */
#define CSR_MVENDORID 0xf11
#define CSR_MARCHID 0xf12
#define CSR_MIMPID 0xf13
#define CSR_MHARTID 0xf14
#define CSR_MCONFIGPTR 0xf15

/* Machine trap setup and handling (3.1.6-3.1.10, 3.1.12-3.1.16, 3.1.18) */
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

/*
 * Counters (3.1.10, 3.1.12; the unprivileged spec's Zicntr and Zihpm):
 * mcycle, minstret and mhpmcounter3-31 at 0xb00 + n, the unprivileged
 * views cycle, time, instret and hpmcounter3-31 at 0xc00 + n (CSR_TIME is
 * <arch/csr.h>'s), mhpmevent3-31 at 0x320 + n with mcountinhibit at 0x320.
 * 0xb01, 0x321 and 0x322 are no CSR: time has no M-mode counter here, and
 * the fixed counters no event selector.
 */
#define CSR_MCYCLE 0xb00
#define CSR_MINSTRET 0xb02
#define CSR_MHPMCOUNTER3 0xb03
#define CSR_MHPMCOUNTER31 0xb1f
#define CSR_MCOUNTINHIBIT 0x320
#define CSR_MHPMEVENT3 0x323
#define CSR_MHPMEVENT31 0x33f
#define CSR_CYCLE 0xc00
#define CSR_INSTRET 0xc02
#define CSR_HPMCOUNTER31 0xc1f

/* Physical memory protection (3.7.1): on RV64 only the even pmpcfg exist */
#define CSR_PMPCFG0 0x3a0
#define CSR_PMPCFG2 0x3a2
#define CSR_PMPCFG15 0x3af
#define CSR_PMPADDR0 0x3b0
#define CSR_PMPADDR63 0x3ef

/* mstatus (3.1.6), RV64 layout */
#define MSTATUS_SIE BIT(1)
#define MSTATUS_MIE BIT(3)
#define MSTATUS_SPIE BIT(5)
#define MSTATUS_UBE BIT(6)
#define MSTATUS_MPIE BIT(7)
#define MSTATUS_SPP BIT(8)
#define MSTATUS_VS (3UL << 9)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP (3UL << MSTATUS_MPP_SHIFT)
#define MSTATUS_FS (3UL << 13)
#define MSTATUS_XS (3UL << 15)
#define MSTATUS_MPRV BIT(17)
#define MSTATUS_SUM BIT(18)
#define MSTATUS_MXR BIT(19)
#define MSTATUS_TVM BIT(20)
#define MSTATUS_TW BIT(21)
#define MSTATUS_TSR BIT(22)
#define MSTATUS_UXL (3UL << 32)
#define MSTATUS_SXL (3UL << 34)
#define MSTATUS_SBE BIT(36)
#define MSTATUS_MBE BIT(37)
#define MSTATUS_SD BIT(63)
#define MSTATUS_UXL_64 (2UL << 32) /* XLEN encoding 2 = 64 bits (3.1.6.2) */
#define MSTATUS_SXL_64 (2UL << 34)

/* misa (3.1.1): MXL in bits 63:62, extension letters A-Z in bits 25:0 */
#define MISA_MXL_64 (2UL << 62)
#define MISA_EXT(letter) BIT((letter) - 'A')

/* mtvec and stvec (3.1.7, 4.1.2): MODE in bits 1:0, BASE above */
#define MTVEC_MODE 3UL
#define MTVEC_MODE_DIRECT 0
#define MTVEC_MODE_VECTORED 1

/* mcounteren and scounteren (3.1.11, 4.1.5): the bits of cycle, time, instret */
#define MCOUNTEREN_CY BIT(0)
#define MCOUNTEREN_TM BIT(1)
#define MCOUNTEREN_IR BIT(2)
/* mcountinhibit (3.1.12): the same bit per counter; bit 1 (time) is read-only 0 */
#define MCOUNTINHIBIT_CY BIT(0)
#define MCOUNTINHIBIT_IR BIT(2)

/* menvcfg and senvcfg (3.1.18, 4.1.10) */
#define MENVCFG_FIOM BIT(0)
#define SENVCFG_FIOM BIT(0)

/* mcause (3.1.15): the interrupt bit; the M-level interrupt and exception codes */
#define MCAUSE_INTERRUPT BIT(63)
#define IRQ_M_SOFT 3
#define IRQ_M_TIMER 7
#define EXC_ECALL_S 9
#define EXC_ECALL_M 11

/* satp (4.1.11), RV64: MODE 63:60, ASID 59:44, PPN 43:0 */
#define SATP_MODE_SHIFT 60
#define SATP_MODE_BARE 0UL
#define SATP_MODE_SV39 8UL
#define SATP_MODE_SV48 9UL
#define SATP_ASID_SHIFT 44
#define SATP_ASID GENMASK(59, 44)
#define SATP_PPN GENMASK(43, 0)

/* A pmpcfg entry byte (3.7.1, Figure 3.34) */
#define PMP_R BIT(0)
#define PMP_W BIT(1)
#define PMP_X BIT(2)
#define PMP_A (3UL << 3)
#define PMP_A_OFF (0UL << 3)
#define PMP_A_TOR (1UL << 3)
#define PMP_A_NA4 (2UL << 3)
#define PMP_A_NAPOT (3UL << 3)
#define PMP_L BIT(7)
/* pmpaddr on RV64: bits 55:2 of the address, in bits 53:0 (3.7.1) */
#define PMPADDR_MASK GENMASK(53, 0)

#endif
