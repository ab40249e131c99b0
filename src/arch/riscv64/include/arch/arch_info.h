/* How the banner and logs name this architecture and its CPUs. */
#ifndef ARCH_ARCH_INFO_H
#define ARCH_ARCH_INFO_H

#define ARCH_BANNER "RISC-V, running in HS-mode"
#define ARCH_CPU_HWID "hart" /* what struct cpu.hwid and platform.cpu_hwid hold */
/* The mode Keel runs in and its trap CSRs (fault.c): scause, stval, sie. */
#define ARCH_MODE_NAME "HS-mode"
#define ARCH_CSR_CAUSE 0x142
#define ARCH_CSR_TVAL 0x143
#define ARCH_CSR_IE 0x104

#endif
