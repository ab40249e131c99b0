/*
 * The unit tests' <arch/io.h> (tests/unit/hdisk): register accesses go to
 * the fake bus of test_hdisk.c, where Keel's own virtio-mmio transport and
 * virtio-blk model answer them; the barriers are full fences.
 */
#ifndef ARCH_IO_H
#define ARCH_IO_H

#include <keel/types.h>

u32 fake_io_read32(u64 addr);
void fake_io_write32(u64 addr, u32 v);

static inline u32 io_read32(u64 addr)
{
    return fake_io_read32(addr);
}

static inline void io_write32(u64 addr, u32 v)
{
    fake_io_write32(addr, v);
}

static inline void io_dma_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void io_dma_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void io_wmb_before_write(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void io_relax(void)
{
}

#endif
