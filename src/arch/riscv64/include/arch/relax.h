/*
 * One iteration of a spin-wait (spinlocks). PAUSE (Zihintpause, encoded as
 * FENCE w,0 with fm 0: a no-op on harts without the extension) hints that
 * the hart is spinning; QEMU ends the vCPU's turn on it, so under -icount a
 * waiter no longer burns its whole turn while the holder cannot run. Host
 * builds (unit tests) get a compiler barrier.
 */
#ifndef ARCH_RELAX_H
#define ARCH_RELAX_H

static inline void arch_cpu_relax(void)
{
#ifdef __riscv
    __asm__ volatile(".insn i 0x0f, 0, x0, x0, 0x010" ::: "memory"); /* pause */
#else
    __asm__ volatile("" ::: "memory");
#endif
}

#endif
