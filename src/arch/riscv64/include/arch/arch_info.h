/* How the banner and logs name this architecture and its CPUs. */
#ifndef ARCH_ARCH_INFO_H
#define ARCH_ARCH_INFO_H

#define ARCH_BANNER "RISC-V, running in HS-mode"
#define ARCH_CPU_HWID "hart" /* what struct cpu.hwid and platform.cpu_hwid hold */

#endif
