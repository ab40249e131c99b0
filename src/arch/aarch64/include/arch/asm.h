/* Constants shared by assembly and C. */
#ifndef ARCH_ASM_H
#define ARCH_ASM_H

#define KEEL_STACK_SIZE 0x4000
#define KEEL_TEXT_OFFSET 0x80000
/* Same as PLAT_MAX_CPUS (checked in arch/aarch64/cpu.c) */
#define KEEL_MAX_CPUS 8

/* MPIDR_EL1 affinity fields Aff3 [39:32] and Aff2..Aff0 [23:0] (D13.2.86) */
#define MPIDR_AFF_MASK 0xff00ffffff

/* ELF for the Arm 64-bit Architecture (AAELF64), 5.7.11: dynamic relocation types */
#define R_AARCH64_NONE 0
#define R_AARCH64_RELATIVE 1027

#define SCTLR_EL2_M (1 << 0)
#define SCTLR_EL2_C (1 << 2)
#define SCTLR_EL2_SA (1 << 3)
#define SCTLR_EL2_I (1 << 12)
#define SCTLR_EL2_WXN (1 << 19)
/* RES1 bits of SCTLR_EL2 with E2H == 0; everything else off */
#define SCTLR_EL2_BOOT 0x30c50830

/* struct cpu field offsets (checked by static asserts in arch/aarch64/cpu.c) */
#define CPU_VCPU 0
#define CPU_STACK_TOP 8

/* struct vcpu_regs layout: x0..x30 and a sink word for XZR (checked in arch/aarch64/vcpu.c) */
#define VCPU_REGS_SIZE (32 * 8)
#define VCPU_EXITS VCPU_REGS_SIZE /* struct vcpu.exits[], EXIT_HVC first */

/* struct vcpu_fp (arch/vcpu_state.h): Q0-Q31 from offset 0, then FPSR and FPCR */
#define VCPU_FP_FPSR (32 * 16)
#define VCPU_FP_FPCR (VCPU_FP_FPSR + 8)

#endif
