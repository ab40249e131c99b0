/*
 * An emulated virtio block device (virtio 1.2, section 5.2) behind the
 * virtio-mmio transport (keel/virtio_mmio.h), over a backing given as
 * callbacks, so that a disk image in RAM and, later, a slice of a real disk
 * can sit behind it alike.
 *
 * A pure state machine, with the contract of the other device models
 * (keel/vpl011.h): the transport calls it through virtio_blk_ops, inside
 * virtio_mmio_read()/write() and under the caller's lock; it reaches guest
 * memory only through the queue's struct virtq_mem, and the disk only
 * through the backing's callbacks, which run inside those calls and must
 * not call back into the device or its transport. Requests are served
 * synchronously, in the order the driver made them available, each
 * completed before the next is taken.
 *
 * What it offers: one request queue of VIRTIO_BLK_QUEUE_SIZE entries;
 * VIRTIO_BLK_F_SEG_MAX (seg_max = VIRTQ_MAX_SEGS - 2 = 254, as QEMU's: a
 * request's header and status take the other two buffers),
 * VIRTIO_BLK_F_BLK_SIZE (512), VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO for a
 * read-only backing; the
 * transport adds VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC and
 * VIRTIO_F_EVENT_IDX. The configuration space (5.2.4) is struct
 * virtio_blk_config up to unused1: capacity, seg_max, blk_size and
 * num_queues 1, the rest 0; nothing in it is writable (no
 * VIRTIO_BLK_F_CONFIG_WCE).
 *
 * Requests (5.2.6, struct virtio_blk_req: a 16-byte header the device
 * reads, the data, a status byte the device writes). The header is the
 * first 16 device-readable bytes and the status the last device-writable
 * byte, however the buffers are cut (2.7.4.1: "The device MUST NOT make
 * assumptions about the particular arrangement of descriptors"); the data
 * is what lies between, device-readable for OUT, device-writable for IN and
 * GET_ID.
 *  - VIRTIO_BLK_T_IN: reads sectors into the data;
 *  - VIRTIO_BLK_T_OUT: writes the data to the disk; if the driver did not
 *    negotiate VIRTIO_BLK_F_FLUSH, the backing is flushed before the write
 *    completes (5.2.6.2: the write must then be stable at completion);
 *  - VIRTIO_BLK_T_FLUSH: the backing's flush, completed when it returns;
 *  - VIRTIO_BLK_T_GET_ID: the backing's id, NUL-padded to 20 bytes, as
 *    much of it as the data holds;
 *  - any other type: VIRTIO_BLK_S_UNSUPP (DISCARD, WRITE_ZEROES and the
 *    rest are not offered).
 * Status VIRTIO_BLK_S_IOERR ("for device or driver error", 5.2.6) for: a
 * write to a read-only disk, with nothing written (5.2.6.2: "A device MUST
 * set the status byte to VIRTIO_BLK_S_IOERR for a write request if the
 * VIRTIO_BLK_F_RO feature if offered, and MUST NOT write any data"); IN or
 * OUT data that is not a whole number of sectors (5.2.6.1: "The length of
 * data MUST be a multiple of 512 bytes") or goes past the capacity (5.2.6.1:
 * the driver "MUST NOT submit a request which would cause a read or write
 * beyond capacity"); a header shorter than 16 bytes; a backing that fails.
 * A chain with no device-writable byte cannot be answered at all: the
 * queue is broken (VIRTQ_ERR_FRAMING) and the transport sets
 * DEVICE_NEEDS_RESET, as for any malformed chain (keel/virtq.h).
 *
 * The used length (2.7.8.2: at least that many bytes were written from the
 * start of the device-writable part, an underestimate is allowed) is the
 * data written from the start, plus the status byte when the two meet:
 * all of the writable part for a successful IN, 1 for the usual OUT or
 * FLUSH with its one-byte status buffer, and for an IN that failed, or a
 * GET_ID with more than 20 bytes of data, only what was written before the
 * first gap.
 *
 * Data moves one of two ways, and the statuses and used lengths above are
 * the same either way (except after a copy from or to guest memory fails:
 * see below). The backing never sees guest memory, and guest memory is
 * reached only through the queue's callbacks.
 *  - A backing with map() (a disk image in host memory) is copied to and
 *    from directly: for each IN or OUT in range the device asks map() for
 *    the host address of all the request's sectors, once, and copies the
 *    whole data between there and the chain.
 *  - Any other backing (a slice of the host disk) is read or written
 *    through a VIRTIO_BLK_BOUNCE-byte buffer in the device, a whole number
 *    of sectors at a time, so that its driver never holds guest memory.
 * If guest memory refuses a copy midway (the chain was checked when it was
 * popped, so only a VM whose memory changed since can see this), the
 * request ends VIRTIO_BLK_S_IOERR having written part of the data: the
 * used length then counts the bounce path's whole steps before the failed
 * one, and nothing on the direct path.
 */
#ifndef KEEL_VIRTIO_BLK_H
#define KEEL_VIRTIO_BLK_H

#include <keel/types.h>
#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

#define VIRTIO_ID_BLOCK 2 /* 5.2.1 */

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and statuses (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_GET_LIFETIME 10
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR 512      /* the protocol's unit, whatever blk_size says (5.2.5) */
#define VIRTIO_BLK_ID_BYTES 20     /* GET_ID's data (5.2.6) */
#define VIRTIO_BLK_HDR_SIZE 16     /* type, reserved, sector */
#define VIRTIO_BLK_QUEUE_SIZE 256  /* QueueNumMax, as QEMU's virtio-blk */
#define VIRTIO_BLK_CONFIG_SIZE 60  /* struct virtio_blk_config up to unused1 */
#define VIRTIO_BLK_BOUNCE 4096     /* bytes per backing call */

/*
 * The disk. capacity is in 512-byte sectors. read() and write() move
 * @count whole sectors from @sector on (the device checks sector + count
 * <= capacity before it calls them); flush() returns once every completed
 * write is stable (may be NULL: nothing to flush, as for a RAM image).
 * Each returns false on an error, which the request reports as
 * VIRTIO_BLK_S_IOERR. write may be NULL for a read-only disk. id is the
 * device ID string GET_ID returns (up to 20 bytes are used; may be NULL).
 * map may be NULL; if it is not, the device uses it instead of read() and
 * write() (which must still be given, as above): the host address of
 * @count (>= 1) sectors from @sector on, contiguous, which the device then
 * reads, or writes if @write; NULL, which the request reports as
 * VIRTIO_BLK_S_IOERR, if the range is not the disk's or @write on a
 * read-only disk. The device copies the struct; ctx and id must outlive it,
 * and an address map() gave only the call into the device that asked.
 */
struct virtio_blk_backing {
    u64 capacity;
    bool read_only;
    const char *id;
    bool (*read)(void *ctx, u64 sector, void *buf, u32 count);
    bool (*write)(void *ctx, u64 sector, const void *buf, u32 count);
    bool (*flush)(void *ctx);
    void *(*map)(void *ctx, u64 sector, u32 count, bool write);
    void *ctx;
};

/* Counters since the device was created (a reset keeps them), for the shell's `dev`. */
struct virtio_blk_stats {
    u64 requests;    /* requests answered, whatever their status */
    u64 read_bytes;  /* bytes read from the disk for the guest */
    u64 write_bytes; /* bytes written to the disk */
    u64 flushes;     /* FLUSH requests, and flushes after writes without VIRTIO_BLK_F_FLUSH */
    u64 errors;      /* requests answered VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP */
    u64 bad_chains;  /* chains that broke the queue: the device needed a reset */
};

struct virtio_blk {
    struct virtio_blk_backing backing;
    u8 config[VIRTIO_BLK_CONFIG_SIZE]; /* the configuration space, little-endian */
    struct virtio_blk_stats stats;
    struct virtq_chain chain; /* the request being served */
    u32 data_written;         /* its data bytes written so far, from the start */
    u8 bounce[VIRTIO_BLK_BOUNCE] __aligned(16); /* for a backing without map() */
};

/* The transport's view of the device: pass it with the struct virtio_blk to virtio_mmio_init(). */
extern const struct virtio_dev_ops virtio_blk_ops;

/*
 * Sets the device up over @backing (copied). 0, or -1 if the backing is
 * unusable (no read(), or no write() on a writable disk).
 */
int virtio_blk_init(struct virtio_blk *b, const struct virtio_blk_backing *backing);

/* A disk image in host memory, behind virtio_blk_ram_backing(). */
struct virtio_blk_ram {
    u8 *base;
    u64 sectors;
    bool read_only;
};

/*
 * A backing over @size bytes of host memory at @buf (a trailing part sector
 * is not used), for tests and for images loaded like the kernel: fills @b,
 * with @ram (which must outlive the device) as its ctx. It has map(), so
 * the device copies straight between the image and guest memory; its
 * read(), write() and map() check the range themselves too (and map() that
 * a write is to a writable disk with an image); it has no flush().
 */
void virtio_blk_ram_backing(struct virtio_blk_backing *b, struct virtio_blk_ram *ram, void *buf,
                            u64 size, bool read_only, const char *id);

#endif
