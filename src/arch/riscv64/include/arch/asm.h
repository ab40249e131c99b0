/* Constants shared by assembly and C. */
#ifndef ARCH_ASM_H
#define ARCH_ASM_H

#define KEEL_STACK_SIZE 0x4000
/* Linux's RV64 load offset from a 2 MiB aligned base (boot-image-header.rst) */
#define KEEL_TEXT_OFFSET 0x200000
/* Same as PLAT_MAX_CPUS (checked in arch/riscv64/setup.c) */
#define KEEL_MAX_CPUS 8

/* struct cpu field offsets (checked by static asserts in setup.c) */
#define CPU_VCPU 0
#define CPU_STACK_TOP 8
#define CPU_SCRATCH 16

/* RISC-V ELF psABI: dynamic relocation types */
#define R_RISCV_NONE 0
#define R_RISCV_RELATIVE 3

#endif
