/*
 * Keel's own accesses to a device it drives (not a guest's, which go
 * through arch_device_read/write): 32-bit register loads and stores, and
 * the barriers that order them against the memory the device reads and
 * writes by DMA. Generic drivers (src/drivers/virtio_blk_drv.c) use only
 * these, so they build unchanged for each ISA and for host unit tests.
 *
 * Arm (DDI 0487, B2.3): Keel's RAM is Normal Inner Shareable write-back;
 * a DMA master observes it at the Outer Shareable domain, so the barriers
 * are DMBs of that domain, as Linux's dma_wmb()/dma_rmb() on arm64.
 * Registers are Device-nGnRE (mmu.c maps them so): single-copy atomic, in
 * program order among themselves, but not ordered against Normal stores
 * without a barrier.
 */
#ifndef ARCH_IO_H
#define ARCH_IO_H

#include <keel/types.h>

static inline u32 io_read32(u64 addr)
{
    return *(volatile u32 *)addr;
}

static inline void io_write32(u64 addr, u32 v)
{
    *(volatile u32 *)addr = v;
}

/* Stores to DMA memory before later stores to DMA memory (a ring entry before its idx). */
static inline void io_dma_wmb(void)
{
    __asm__ volatile("dmb oshst" ::: "memory");
}

/* Loads from DMA memory before later loads from it (the used idx before the entry it covers). */
static inline void io_dma_rmb(void)
{
    __asm__ volatile("dmb oshld" ::: "memory");
}

/* Stores to DMA memory before a later register store (the ring before the doorbell). */
static inline void io_wmb_before_write(void)
{
    __asm__ volatile("dmb oshst" ::: "memory");
}

/* A spin-wait iteration on memory a device writes. */
static inline void io_relax(void)
{
    __asm__ volatile("yield" ::: "memory");
}

#endif
