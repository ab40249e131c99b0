/* How the banner and logs name this architecture and its CPUs. */
#ifndef ARCH_ARCH_INFO_H
#define ARCH_ARCH_INFO_H

#define ARCH_BANNER "RISC-V without H, running in M-mode (trap-and-emulate)"
#define ARCH_CPU_HWID "hart" /* what struct cpu.hwid and platform.cpu_hwid hold */
/* The mode Keel runs in and its trap CSRs (riscv64/fault.c): mcause, mtval, mie. */
#define ARCH_MODE_NAME "M-mode"
#define ARCH_CSR_CAUSE 0x342
#define ARCH_CSR_TVAL 0x343
#define ARCH_CSR_IE 0x304
/* Keel claims on each hart's M-mode PLIC context (drivers/plic.c). */
#define ARCH_PLIC_CONTEXT_IRQ 11

#endif
