/* How the banner and logs name this architecture and its CPUs. */
#ifndef ARCH_ARCH_INFO_H
#define ARCH_ARCH_INFO_H

#define ARCH_BANNER "ARMv8-A, running at EL2"
#define ARCH_CPU_HWID "MPIDR" /* what struct cpu.hwid and platform.cpu_hwid hold */

#endif
