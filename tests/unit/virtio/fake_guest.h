/*
 * A fake guest for the virtio device models, shared by the unit tests
 * (tests/unit/virtio) and the fuzz harness (tests/fuzz/virtq):
 *
 *  - struct fake_mem: guest memory made of a few discontiguous chunks,
 *    each its own host allocation, so a copy that crosses from one chunk
 *    to the next (adjacent in guest-physical space, not in host memory)
 *    must be split, and one that reaches a hole must be refused. It is the
 *    struct virtq_mem the device gets, and it counts what the device asks:
 *    requests for bytes outside the VM, accesses that crossed a chunk
 *    boundary, device writes into ranges the test marked forbidden (the
 *    driver's own areas).
 *  - struct fake_drv: a driver that negotiates and lays out a split
 *    virtqueue as Linux's virtio_mmio and virtio_ring do (descriptor
 *    table, then the available ring, then the used ring on the next 4 KiB
 *    boundary; a free list of descriptors; indirect tables for chains of
 *    more than one buffer when negotiated; kicks decided by the flags or
 *    avail_event; used_event advanced as buffers are reaped), plus
 *    virtio-blk requests on top.
 *
 * No cmocka here: misuse of the fake itself aborts with a message.
 */
#ifndef FAKE_GUEST_H
#define FAKE_GUEST_H

#include <keel/types.h>
#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

/* virtio-mmio registers (4.2.2), spelled again so a typo in virtio_mmio.c shows. */
#define R_MagicValue 0x000
#define R_Version 0x004
#define R_DeviceID 0x008
#define R_VendorID 0x00c
#define R_DeviceFeatures 0x010
#define R_DeviceFeaturesSel 0x014
#define R_DriverFeatures 0x020
#define R_DriverFeaturesSel 0x024
#define R_QueueSel 0x030
#define R_QueueNumMax 0x034
#define R_QueueNum 0x038
#define R_QueueReady 0x044
#define R_QueueNotify 0x050
#define R_InterruptStatus 0x060
#define R_InterruptACK 0x064
#define R_Status 0x070
#define R_QueueDescLow 0x080
#define R_QueueDescHigh 0x084
#define R_QueueDriverLow 0x090
#define R_QueueDriverHigh 0x094
#define R_QueueDeviceLow 0x0a0
#define R_QueueDeviceHigh 0x0a4
#define R_SHMSel 0x0ac
#define R_SHMLenLow 0x0b0
#define R_SHMLenHigh 0x0b4
#define R_SHMBaseLow 0x0b8
#define R_SHMBaseHigh 0x0bc
#define R_QueueReset 0x0c0
#define R_ConfigGeneration 0x0fc
#define R_Config 0x100

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_DEVICE_NEEDS_RESET 64
#define S_FAILED 128

#define F_INDIRECT_DESC (1ULL << 28)
#define F_EVENT_IDX (1ULL << 29)
#define F_VERSION_1 (1ULL << 32)

/* ---- memory ---- */

#define FAKE_MAX_CHUNKS 4
#define FAKE_MAX_FORBID 8

struct fake_chunk {
    u64 gpa, size;
    u8 *host;
};

struct fake_mem {
    struct fake_chunk chunk[FAKE_MAX_CHUNKS];
    unsigned int nchunks;
    struct virtq_mem ops; /* what the device gets; ctx is this */

    /* What the device asked through ops. */
    u64 checks, reads, writes;
    u64 read_bytes, write_bytes;
    u64 refused;    /* reads and writes of bytes outside the VM (refused, nothing touched) */
    u64 crossings;  /* reads and writes that crossed a chunk boundary */
    u64 torn;       /* aligned 2- and 4-byte accesses split across chunks: never allowed */
    struct { u64 gpa, len; } forbid[FAKE_MAX_FORBID];
    unsigned int nforbid;
    u64 forbidden_writes; /* device writes touching a forbidden range */
};

/*
 * The standard layout: chunk 0 at 0x40000000 and chunk 1 right after it
 * (256 KiB each: contiguous guest-physical memory in two host buffers),
 * chunk 2 at 0x50000000 (1 MiB) after a hole.
 */
#define FAKE_RAM0 0x40000000ULL
#define FAKE_RAM1 0x40040000ULL
#define FAKE_RAM2 0x50000000ULL
#define FAKE_RAM01_END 0x40080000ULL
#define FAKE_RAM2_END 0x50100000ULL

void fake_mem_init(struct fake_mem *m);
void fake_mem_init_empty(struct fake_mem *m); /* no chunk: the caller adds its own layout */
void fake_mem_add(struct fake_mem *m, u64 gpa, u64 size); /* another chunk, zeroed */
void fake_mem_free(struct fake_mem *m);
bool fake_mem_contains(const struct fake_mem *m, u64 gpa, u64 len);
void fake_mem_forbid(struct fake_mem *m, u64 gpa, u64 len); /* device writes there are counted */
void fake_mem_clear_counts(struct fake_mem *m);

/* The driver's own accesses: not counted; abort if outside the VM. */
void guest_read(struct fake_mem *m, u64 gpa, void *buf, size_t len);
void guest_write(struct fake_mem *m, u64 gpa, const void *buf, size_t len);
void guest_fill(struct fake_mem *m, u64 gpa, u8 byte, size_t len);
u16 guest_r16(struct fake_mem *m, u64 gpa);
u32 guest_r32(struct fake_mem *m, u64 gpa);
void guest_w16(struct fake_mem *m, u64 gpa, u16 v);
void guest_w32(struct fake_mem *m, u64 gpa, u32 v);
void guest_w64(struct fake_mem *m, u64 gpa, u64 v);

/* ---- MMIO ---- */

/* A 32-bit register access that must succeed. */
u32 mmio_r32(struct virtio_mmio *t, u64 off);
void mmio_w32(struct virtio_mmio *t, u64 off, u32 v);
/* Both words of DeviceFeatures (high, then low). */
u64 mmio_features_offered(struct virtio_mmio *t);
/* Both words of DriverFeatures (low, then high), whatever the device offers. */
void mmio_set_features(struct virtio_mmio *t, u64 v);

/* ---- the driver ---- */

struct fake_sg {
    u64 gpa;
    u32 len;
};

struct fake_drv {
    struct virtio_mmio *t;
    struct fake_mem *m;
    unsigned int q; /* the queue it drives */
    u32 num;
    u64 desc, avail, used;
    u64 features; /* negotiated */
    bool event_idx, indirect, use_indirect;

    u16 avail_idx, last_used, kicked_at;
    u16 free_head;
    u32 num_free;
    u16 *next;   /* the free list and chains, by descriptor */
    u16 *count;  /* descriptors a head's chain took */

    u64 heap_lo, heap_hi, heap; /* bump allocator for buffers and tables */
    u64 kicks;                  /* QueueNotify writes */
};

/*
 * Linux's probe: reset (and wait for Status to read 0), ACKNOWLEDGE, DRIVER,
 * read both feature words, accept @want & offered, FEATURES_OK and read it
 * back. True if the device kept FEATURES_OK. @d is zeroed first.
 */
bool fake_drv_negotiate(struct fake_drv *d, struct virtio_mmio *t, struct fake_mem *m, u64 want);
/*
 * The same for a device with two queues, a driver each (@a and @b, freed
 * first): both take the negotiated state, neither has a queue yet.
 */
bool fake_drv_negotiate_pair(struct fake_drv *a, struct fake_drv *b, struct virtio_mmio *t,
                             struct fake_mem *m, u64 want);

/*
 * Sets up queue @q with @num entries as Linux does, the descriptor table at
 * @base (16-aligned), the available ring right after it and the used ring
 * on the next 4 KiB boundary; the heap for buffers is [heap_lo, heap_hi).
 * Writes QueueReady 1. The descriptor table and available ring are marked
 * forbidden for the device (replacing whatever was marked before: one
 * queue is watched at a time). False if QueueNumMax is 0 or smaller than @num.
 */
bool fake_drv_setup_queue(struct fake_drv *d, unsigned int q, u32 num, u64 base, u64 heap_lo,
                          u64 heap_hi);
/*
 * The same layout in memory only, for tests of struct virtq without a
 * transport: zeroes the areas, marks them, starts the free list and heap,
 * takes @features as negotiated. d->t stays as it was.
 */
void fake_drv_layout(struct fake_drv *d, struct fake_mem *m, u32 num, u64 base, u64 heap_lo,
                     u64 heap_hi, u64 features);
/* Adds @d's descriptor table and available ring to the ranges forbidden for the device. */
void fake_drv_watch(const struct fake_drv *d);
void fake_drv_driver_ok(struct fake_drv *d);
void fake_drv_free(struct fake_drv *d);

u64 fake_drv_alloc(struct fake_drv *d, u64 size, u64 align); /* guest memory from the heap */
void fake_drv_heap_reset(struct fake_drv *d);

/*
 * Makes a chain of @nout device-readable then @nin device-writable buffers
 * available (indirect when negotiated, d->use_indirect and more than one
 * buffer, as Linux does). Returns its head; the kick decision is
 * fake_drv_kick_needed(). Aborts if descriptors run out.
 */
u16 fake_drv_add(struct fake_drv *d, const struct fake_sg *sg, unsigned int nout,
                 unsigned int nin);
/* Raw access for hostile chains: descriptor @i of the table at @table; a head into the ring. */
void fake_drv_desc(struct fake_drv *d, u64 table, u32 i, u64 addr, u32 len, u16 flags, u16 next);
void fake_drv_publish(struct fake_drv *d, u16 head);
/* Linux's virtqueue_kick_prepare_split() for what was added since the last kick decision. */
bool fake_drv_kick_needed(struct fake_drv *d);
void fake_drv_kick(struct fake_drv *d); /* QueueNotify */
bool fake_drv_kick_if_needed(struct fake_drv *d); /* both: whether it kicked */
/* Linux's virtqueue_get_buf(): the next used element, if any; frees its descriptors. */
bool fake_drv_get_used(struct fake_drv *d, u16 *id, u32 *len);
/* Interrupt handler: read InterruptStatus, ACK it, return it. */
u32 fake_drv_interrupt(struct fake_drv *d);

/* ---- virtio-blk requests ---- */

struct fake_blk_result {
    bool completed;
    u8 status;
    u32 used_len;
    u16 head;
};

/*
 * A virtio-blk request as Linux builds it: header (16 bytes), the data cut
 * into @nseg buffers (0 for no data) at scattered guest addresses, a
 * 1-byte status; submitted, kicked if needed, reaped. For IN and GET_ID
 * @data receives what the device wrote; for OUT it is what is written.
 */
struct fake_blk_result fake_blk_rw(struct fake_drv *d, u32 type, u64 sector, void *data,
                                   u32 len, unsigned int nseg);

#endif
