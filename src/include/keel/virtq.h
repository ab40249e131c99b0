/*
 * The device side of a split virtqueue (virtio 1.2, section 2.7): the
 * descriptor table, the available ring and the used ring a driver lays out
 * in guest memory, with VIRTIO_F_INDIRECT_DESC (2.7.5.3) and
 * VIRTIO_F_EVENT_IDX (2.7.7, 2.7.10). Every device model (virtio-blk now,
 * net and console later) and every transport use it the same way.
 *
 * A pure state machine, with the contract of the other device models
 * (keel/vpl011.h): it knows nothing of VMs, their memory layout or the
 * transport. Guest memory is reached only through struct virtq_mem, three
 * callbacks the caller supplies; never through a pointer. Nothing here
 * locks: the caller serialises every call on one queue (the transport's
 * lock), and the callbacks run inside those calls.
 *
 * Use:
 *   virtq_init()   when the driver enables the queue (QueueReady = 1): checks
 *                  the size and the three areas, starts both indices at 0;
 *   virtq_pop()    takes the next chain the driver made available, walked
 *                  and checked, as segments (guest-physical address, length,
 *                  device-writable or not);
 *   virtq_chain_read()/virtq_chain_write()
 *                  copy from the chain's device-readable bytes, or into its
 *                  device-writable bytes, at an offset, across segments;
 *   virtq_push()   hands a chain back through the used ring;
 *   virtq_needs_notify()
 *                  after one or more pushes: whether the driver wants a used
 *                  buffer notification now (the flags or used_event rules);
 *   virtq_reset()  when the queue is disabled or the device reset.
 *
 * What a hostile driver gets. Every check below is on guest-controlled data
 * and ends in a negative VIRTQ_ERR_* code; the queue is then broken (every
 * later pop and push returns the same code) and the transport sets
 * DEVICE_NEEDS_RESET (2.1.2): "the device SHOULD set DEVICE_NEEDS_RESET
 * when it enters an error state that a reset is needed". The device never
 * reads or writes a byte the memory callbacks have not confirmed, every
 * loop is bounded, and no guest value can make it wait:
 *  - a size that is not a power of 2 from 1 to 32768 (2.7: "Queue Size value
 *    is always a power of 2. The maximum Queue Size value is 32768"), an
 *    area not aligned as 2.7's table says (descriptors 16, available ring 2,
 *    used ring 4), not wholly inside the VM, or overlapping another (each
 *    area has one writer, 2.7: "each part is write-able by either the
 *    driver or the device, but not both"): virtq_init() refuses it;
 *  - the available idx more than the queue size ahead of the device
 *    (2.7.13: it cannot be, as the ring has only that many entries);
 *  - a head or a next index outside the table it indexes;
 *  - a chain that loops: more descriptors than the table holds (2.7.5.2:
 *    "loops in the descriptor chain are forbidden", 2.7.5.3.1: no chain
 *    longer than the Queue Size);
 *  - more than VIRTQ_MAX_SEGS buffers in one chain (2.7.4.1: "The device MAY
 *    have a reasonable limit of descriptors it will allow in a chain";
 *    devices advertise it, e.g. virtio-blk's seg_max). 256, as many as
 *    QEMU's virtio-blk takes (its seg_max is its queue size less 2): Linux
 *    then makes a 1 MiB block one request, not four;
 *  - a buffer that is not wholly inside the VM, or whose end wraps past
 *    2^64; a chain of 2^32 bytes or more (2.7.5.2: "Drivers MUST NOT add a
 *    descriptor chain longer than 2^32 bytes in total"; exactly 2^32 is
 *    refused too, as the used ring's 32-bit len could not count it);
 *  - a device-readable buffer after a device-writable one (2.7.4.2: "The
 *    driver MUST place any device-writable descriptor elements after any
 *    device-readable descriptor elements");
 *  - VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC negotiated, with
 *    VIRTQ_DESC_F_NEXT, inside an indirect table, or on a table whose length
 *    is 0 or not a multiple of 16 (2.7.5.3.1).
 * An indirect descriptor may end a chain of ordinary ones (2.7.5.3.2: "The
 * device MUST handle the case of zero or more normal chained descriptors
 * followed by a single descriptor with VIRTQ_DESC_F_INDIRECT"); its
 * VIRTQ_DESC_F_WRITE is ignored, as that section also asks. An indirect
 * table is bounded by its own length, not the queue size: Linux fills
 * tables longer than the ring when it has indirect descriptors. Zero-length
 * buffers are kept as segments, whatever their address.
 *
 * Memory ordering. The driver runs on other CPUs while the device works.
 * The available idx is read, then an acquire fence orders the reads of the
 * ring entry and descriptors after it (2.7.13.3: the driver wrote them
 * before the idx); a used ring entry is written, then a release fence
 * orders it (and the data written into the buffers) before the used idx
 * (2.7.8.2: "The device MUST set len prior to updating the used idx"); a
 * full fence separates writing the used idx (or avail_event) from reading
 * the driver's suppression fields, as 2.7.13.4's driver side does.
 */
#ifndef KEEL_VIRTQ_H
#define KEEL_VIRTQ_H

#include <keel/types.h>

/* Reserved feature bits of the virtqueue (virtio 1.2, chapter 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29

#define VIRTQ_MAX_SIZE 32768 /* 2.7: the largest Queue Size */
#define VIRTQ_MAX_SEGS 256   /* buffers in one chain: see above */

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
/* Available ring flags (2.7.6) and used ring flags (2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/*
 * Errors: what virtq_init(), virtq_pop() and virtq_push() return, negated.
 * Each breaks the queue (except from virtq_init(), which leaves it disabled).
 */
enum virtq_err {
    VIRTQ_ERR_NOT_READY = 1, /* the queue is not enabled */
    VIRTQ_ERR_SIZE,          /* size not a power of 2 from 1 to 32768 */
    VIRTQ_ERR_ALIGN,         /* an area misaligned (2.7's table) */
    VIRTQ_ERR_MEM,           /* an area, table or buffer outside the VM, or wrapping past 2^64 */
    VIRTQ_ERR_OVERLAP,       /* two of the three areas overlap */
    VIRTQ_ERR_AVAIL_IDX,     /* the available idx moved more than the size ahead */
    VIRTQ_ERR_HEAD,          /* a head index outside the descriptor table */
    VIRTQ_ERR_NEXT,          /* a next index outside the table it indexes */
    VIRTQ_ERR_LOOP,          /* more descriptors than the table holds: a loop */
    VIRTQ_ERR_TOO_MANY,      /* more than VIRTQ_MAX_SEGS buffers */
    VIRTQ_ERR_LEN,           /* 2^32 bytes or more in one chain */
    VIRTQ_ERR_ORDER,         /* a device-readable buffer after a device-writable one */
    VIRTQ_ERR_INDIRECT,      /* an indirect descriptor that breaks 2.7.5.3.1 */
    VIRTQ_ERR_FRAMING,       /* a device model's own: the chain lacks what its requests need */
    VIRTQ_ERR_COUNT
};

/*
 * Guest memory, as the caller (the VM) supplies it. gpa is a guest-physical
 * address; a range may cross any boundary of the VM's memory layout (two
 * RAM regions side by side), and the callbacks split it.
 *  - check(): whether every byte of [gpa, gpa + len) is memory of this VM
 *    that its devices may reach (always len >= 1 and gpa + len < 2^64);
 *  - read()/write(): copy len bytes from/to guest memory. False, having
 *    copied nothing or part, if any byte is outside the VM. A read or write
 *    of 2 or 4 bytes at an address aligned to its size must be a single
 *    access of that size (single-copy atomic): the ring indices and flags
 *    are read and written that way while the driver runs on another CPU,
 *    and a torn available idx would expose ring entries not yet written.
 * Called only from inside virtq calls; they must not call back into the
 * queue.
 */
struct virtq_mem {
    bool (*check)(void *ctx, u64 gpa, u64 len);
    bool (*read)(void *ctx, u64 gpa, void *buf, size_t len);
    bool (*write)(void *ctx, u64 gpa, const void *buf, size_t len);
    void *ctx;
};

/* One buffer of a chain: guest-physical, inside the VM (checked when popped). */
struct virtq_seg {
    u64 gpa;
    u32 len;
    bool write; /* device-writable; the device-readable ones come first */
};

/*
 * Where the last copy in one part of a chain (its readable or its writable
 * bytes) ended: a segment of that part, counted from the part's first, and
 * the part's bytes before it. The next copy at or past @base starts its
 * search there instead of at the part's first segment, so copying a chain
 * front to back in steps costs each segment once, not once per step.
 */
struct virtq_cursor {
    u32 base;
    u16 seg;
};

/*
 * A chain the driver made available, as virtq_pop() walked it: seg[0 ..
 * nread - 1] are device-readable, seg[nread .. nseg - 1] device-writable.
 * It refers to guest memory through the queue's callbacks, so it is valid
 * until the queue is reset. Only virtq_pop() fills one (the cursors are
 * virtq_chain_read()'s and virtq_chain_write()'s, set by it).
 */
struct virtq_chain {
    const struct virtq_mem *mem;
    u16 head;      /* what virtq_push() hands back */
    u16 nseg;      /* 0 .. VIRTQ_MAX_SEGS */
    u16 nread;     /* device-readable segments, first */
    u32 read_len;  /* bytes in the device-readable segments */
    u32 write_len; /* bytes in the device-writable segments */
    struct virtq_cursor cursor[2]; /* [0] the readable part's, [1] the writable part's */
    struct virtq_seg seg[VIRTQ_MAX_SEGS]; /* 4 KiB: chains live in device structs, never on a stack */
};

struct virtq {
    const struct virtq_mem *mem;
    u64 desc;   /* Descriptor Area: the descriptor table */
    u64 avail;  /* Driver Area: the available ring */
    u64 used;   /* Device Area: the used ring */
    u32 size;   /* Queue Size: 0 while not enabled */
    bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
    int broken;     /* 0, or the negative error that broke the queue */

    u16 last_avail;     /* the next available ring entry the device takes */
    u16 used_idx;       /* the used idx as the device last wrote it */
    u16 signalled_used; /* used_idx when virtq_needs_notify() last ran */
    u16 avail_event;    /* what the device last wrote to avail_event */
    bool avail_event_set; /* avail_event was written since virtq_init() */
};

/*
 * Enables the queue over the areas the driver gave (guest-physical: desc,
 * driver, device) with @size entries, after @features were negotiated
 * (VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX are looked at). Both
 * indices start at 0, as the driver's zeroed rings say (4.2.3.2). 0, or
 * -VIRTQ_ERR_SIZE, -VIRTQ_ERR_ALIGN, -VIRTQ_ERR_MEM or -VIRTQ_ERR_OVERLAP
 * with the queue left disabled. Reads and writes nothing in guest memory.
 */
int virtq_init(struct virtq *q, const struct virtq_mem *mem, u64 desc, u64 driver, u64 device,
               u32 size, u64 features);

/* Disables the queue (also its state after zeroing). Touches no guest memory. */
void virtq_reset(struct virtq *q);

/* Whether the queue is enabled (and not broken). */
bool virtq_ready(const struct virtq *q);

/*
 * Takes the next available chain into @c: 1, or 0 if the driver has made
 * none available, or a negative VIRTQ_ERR_* (the queue is broken). With
 * VIRTIO_F_EVENT_IDX, finding the ring empty also writes avail_event, so
 * the driver notifies again when it adds the next chain (2.7.10); while
 * chains are waiting it is left behind, so a driver adding more to a queue
 * the device has not drained does not notify. A device that stops popping
 * before the ring is empty is therefore not notified until it pops again.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/*
 * Puts @head in the used ring with @written bytes (2.7.8: how many bytes,
 * from the start of the chain's device-writable part, the device wrote; an
 * underestimate is allowed, an overestimate is not). 0, or a negative
 * VIRTQ_ERR_* (head outside the table, used ring outside the VM).
 */
int virtq_push(struct virtq *q, u16 head, u32 written);

/*
 * Whether to send a used buffer notification for what was pushed since the
 * last call (2.7.7): without VIRTIO_F_EVENT_IDX, when the driver's flags
 * are 0; with it, when used idx passed used_event. False if nothing was
 * pushed since. If the driver's field cannot be read, true (spurious
 * notifications are allowed, lost ones are not).
 */
bool virtq_needs_notify(struct virtq *q);

/*
 * Copy @len bytes at @offset in the chain's device-readable bytes into
 * @buf (read), or @buf into its device-writable bytes (write), crossing
 * segments as needed. False if the range goes past what the chain has, or
 * guest memory refused a copy (then part of it may have been done). Any
 * offset, in any order; copies at or after the end of the part's previous
 * one (front to back, as devices mostly do) find their first segment
 * without walking the part from its start (struct virtq_cursor).
 */
bool virtq_chain_read(struct virtq_chain *c, u64 offset, void *buf, size_t len);
bool virtq_chain_write(struct virtq_chain *c, u64 offset, const void *buf, size_t len);

/* A word or two for a log line: what the (negative or positive) error code means. */
const char *virtq_strerror(int err);

#endif
