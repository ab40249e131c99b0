/*
 * A driver for one virtio block device on a virtio-mmio transport (virtio
 * 1.2, sections 4.2 and 5.2): the disk Keel drives itself and slices out
 * to VMs (core/hdisk.c). ISA-free: registers through <arch/io.h>, DMA
 * ordering through its barriers, so one file serves Arm and RISC-V (and a
 * host unit test, tests/unit/hdisk, against Keel's own device model).
 *
 * What it does:
 *  - only the modern interface (transport Version 2, VIRTIO_F_VERSION_1
 *    negotiated: a device that does not offer it is refused with a log
 *    line), and of the block features only VIRTIO_BLK_F_FLUSH,
 *    VIRTIO_BLK_F_BLK_SIZE and VIRTIO_BLK_F_RO; a blk_size other than 512
 *    is refused (requests come from 512-byte sectors as guests make them);
 *  - one split virtqueue of VIRTIO_BLK_DRV_QUEUE_SIZE entries in memory
 *    the caller gives (VIRTIO_BLK_DRV_DMA_SIZE bytes of Keel RAM, page
 *    aligned), with the request header, the status byte and a bounce
 *    buffer for the data: the device never sees any other memory, and
 *    never a guest's;
 *  - one request at a time, synchronous and polled: made available, the
 *    device notified, then the used ring read until the request comes back
 *    or VIRTIO_BLK_DRV_TIMEOUT_S pass. Used buffer notifications are
 *    suppressed (VIRTQ_AVAIL_F_NO_INTERRUPT): Keel takes no interrupt for
 *    the disk. A request that times out leaves the device possibly still
 *    working on Keel's buffers: the driver logs it, resets the device and
 *    fails every later request ("broken");
 *  - DMA addresses are physical addresses of the caller's memory: Keel is
 *    identity-mapped (keel/buddy.h) and the transports QEMU's virt boards
 *    have sit behind no IOMMU. The device must be cache-coherent (QEMU's
 *    are; on Arm the host DT says dma-coherent): no cache maintenance;
 *  - flush: VIRTIO_BLK_T_FLUSH when VIRTIO_BLK_F_FLUSH was negotiated,
 *    completed when the device answers it; without the feature the device
 *    has no write-back cache to flush (5.2.5: a driver "MAY deduce the
 *    presence of a writethrough cache"), so a flush does nothing.
 *
 * Every call takes the driver's lock (a leaf: nothing is taken inside it
 * but the console's, for a log line): several VMs' vCPUs on several CPUs
 * reach one disk.
 */
#ifndef DRIVERS_VIRTIO_BLK_DRV_H
#define DRIVERS_VIRTIO_BLK_DRV_H

#include <keel/spinlock.h>
#include <keel/types.h>

#define VIRTIO_BLK_DRV_QUEUE_SIZE 4   /* one request of three buffers at a time */
#define VIRTIO_BLK_DRV_BOUNCE 4096    /* data bytes per request */
#define VIRTIO_BLK_DRV_DMA_SIZE 8192  /* the caller's DMA memory: rings and header, then the bounce */
#define VIRTIO_BLK_DRV_TIMEOUT_S 10   /* a request unanswered this long breaks the driver */

struct virtio_blk_drv_stats {
    u64 requests;    /* requests the device answered */
    u64 read_bytes;
    u64 write_bytes;
    u64 flushes;     /* VIRTIO_BLK_T_FLUSH requests */
    u64 errors;      /* answered with a status other than VIRTIO_BLK_S_OK */
};

struct virtio_blk_drv {
    u64 base;         /* the transport's registers, mapped */
    void *dma;        /* VIRTIO_BLK_DRV_DMA_SIZE bytes, page aligned, identity-mapped */
    u64 capacity;     /* 512-byte sectors */
    u64 features;     /* negotiated */
    u16 next_avail;   /* the available idx the next request gets */
    u16 next_used;    /* the used idx its answer brings */
    bool broken;      /* a request timed out: the device was reset, nothing more is sent */
    spinlock_t lock;
    struct virtio_blk_drv_stats stats;
};

/*
 * Takes the device at @base (registers mapped) through initialisation
 * (3.1.1) with @dma as its queue's memory. 0, or -1 with a log line saying
 * why (no device, not a block device, legacy, no VIRTIO_F_VERSION_1, ...);
 * the device is then left with FAILED set where it got that far.
 */
int virtio_blk_drv_init(struct virtio_blk_drv *d, u64 base, void *dma);

/* @count sectors from @sector on, through the bounce buffer; false on any error. */
bool virtio_blk_drv_read(struct virtio_blk_drv *d, u64 sector, void *buf, u32 count);
bool virtio_blk_drv_write(struct virtio_blk_drv *d, u64 sector, const void *buf, u32 count);
/* Returns once every completed write is stable; false on an error. */
bool virtio_blk_drv_flush(struct virtio_blk_drv *d);

bool virtio_blk_drv_has_flush(const struct virtio_blk_drv *d);
bool virtio_blk_drv_read_only(const struct virtio_blk_drv *d);

#endif
