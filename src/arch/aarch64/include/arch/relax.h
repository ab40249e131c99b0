/*
 * One iteration of a spin-wait (spinlocks). YIELD hints that this PE does
 * nothing useful (DDI 0487, C6.2: "a hint instruction ... that the
 * current thread of execution is performing a task ... that could be
 * swapped out"); QEMU ends the vCPU's turn on it, so under -icount, where
 * vCPUs take turns, a waiter no longer burns its whole turn while the
 * holder cannot run. Host builds (unit tests) get a compiler barrier.
 */
#ifndef ARCH_RELAX_H
#define ARCH_RELAX_H

static inline void arch_cpu_relax(void)
{
#ifdef __aarch64__
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

#endif
