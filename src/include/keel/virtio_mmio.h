/*
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2): the
 * register window through which a guest finds, negotiates with and drives
 * one emulated virtio device. Legacy devices (version 1, 4.2.4) are not
 * offered. The device behind it (virtio-blk, keel/virtio_blk.h) is a
 * struct virtio_dev_ops; with none the window is an empty slot.
 *
 * A pure state machine, with the contract of the other device models
 * (keel/vpl011.h): it knows nothing of VMs, their memory layout or the
 * interrupt controller. The MMIO trap path calls virtio_mmio_read() and
 * virtio_mmio_write(); the device model runs inside those calls (through
 * its ops) and may call back into the transport only through the
 * virtio_mmio_* functions its ops are allowed (below). What the transport
 * does in return leaves through two callbacks: irq() when the interrupt
 * line changes, error() when the device enters DEVICE_NEEDS_RESET. Neither
 * may call back into the transport. Nothing here locks: the caller
 * serialises every call on one transport (and its device), and the
 * callbacks and device ops run inside those calls, under its lock.
 *
 * The registers (4.2.2; names as the spec spells them):
 *  - MagicValue 0x74726976 ("virt"), Version 2, DeviceID from the ops (0 for
 *    an empty slot), VendorID vendor_id: VIRTIO_MMIO_VENDOR ("KEEL" read as
 *    little-endian bytes: 0x4c45454b), or QEMU's where the VM's
 *    configuration asks (keel,qemu-compat: xv6 insists on it). The
 *    spec gives the field no meaning a driver may depend on.
 *  - DeviceFeatures: word DeviceFeaturesSel (0 or 1; 0 above) of what the
 *    device offers: its own bits (ops->features) plus the transport's:
 *    VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX.
 *  - DriverFeatures/DriverFeaturesSel: what the driver accepts, word by
 *    word. Ignored once FEATURES_OK is set: features change only by a reset
 *    (2.2: "The only way to renegotiate is to reset the device").
 *  - QueueSel selects the queue the Queue* registers apply to; a queue the
 *    device lacks reads QueueNumMax 0 (4.2.3.2: "not available") and
 *    ignores writes. QueueNum resets to QueueNumMax, so a driver that never
 *    writes it gets the largest queue.
 *  - QueueNum, QueueDescLow/High, QueueDriverLow/High, QueueDeviceLow/High:
 *    stored, and ignored while the queue is ready (4.2.2.2: the driver
 *    "MUST NOT access" them then), so a live queue never moves.
 *  - QueueReady = 1 enables the queue (virtq_init()): accepted once
 *    FEATURES_OK is set, as 3.1.1's order has it (before, the write is
 *    ignored and QueueReady reads 0). A queue the spec forbids (QueueNum not
 *    a power of 2 from 1 to QueueNumMax, 2.7; an area misaligned, outside
 *    the VM or overlapping another) stays disabled and puts the device in
 *    DEVICE_NEEDS_RESET. QueueReady = 0 disables it.
 *  - QueueNotify with a queue index (VIRTIO_F_NOTIFICATION_DATA is not
 *    offered): if the device is live (DRIVER_OK, not DEVICE_NEEDS_RESET)
 *    and the queue ready, the device's queue_notify() runs, then a used
 *    buffer notification is sent if virtq_needs_notify() says so. Anything
 *    else is ignored (2.1.2: "The device MUST NOT consume buffers or notify
 *    the driver before DRIVER_OK"), so a storm of notifications costs one
 *    read of the available idx each at most.
 *  - InterruptStatus: bit 0 used buffer notification, bit 1 configuration
 *    change; InterruptACK clears the bits written. The interrupt line is
 *    InterruptStatus != 0 (4.2.3.4); irq() is called only when it changes.
 *  - Status, the device status state machine (2.1, 3.1.1):
 *      writing 0 resets the device: Status, features, selectors,
 *      InterruptStatus and every queue go back to their reset values
 *      (4.2.2.1: "Upon reset, the device MUST clear all bits in
 *      InterruptStatus and ready bits in the QueueReady register"), the
 *      device's reset() runs, and the line drops;
 *      otherwise bits are only ever added (2.1.1: the driver "MUST NOT
 *      clear a device status bit"; a write that clears some keeps them);
 *      FEATURES_OK is refused (stays clear, 2.2.2: the device "MUST fail to
 *      set the FEATURES_OK device status bit") if the driver accepted a
 *      feature never offered, or not VIRTIO_F_VERSION_1 (6.1: a device "MAY
 *      fail to operate further if VIRTIO_F_VERSION_1 is not accepted"; this
 *      one has no legacy interface to fall back to; version_1_optional lets
 *      such a driver through, as QEMU's transports do: what it then drives
 *      is this version 2 device, which is what xv6 expects), or the device's
 *      features_ok() refuses the set;
 *      DRIVER_OK is refused without FEATURES_OK; when it is set, every
 *      ready queue is looked at once, as if notified, in case the driver
 *      made buffers available before (a spurious notification at worst,
 *      which 2.7.10.2 says a device "MUST handle");
 *      DEVICE_NEEDS_RESET is the device's: written by the driver it is
 *      ignored. The device sets it when a queue breaks (a VIRTQ_ERR_*
 *      from the virtqueue or the device model) or a queue cannot be
 *      enabled, then stops using its queues; if DRIVER_OK is set it raises
 *      the configuration change interrupt too (2.1.2).
 *  - QueueReset reads 0 (VIRTIO_F_RING_RESET is not offered); SHMSel is
 *    stored, SHMLenLow/High and SHMBaseLow/High read 0xffffffff: no shared
 *    memory regions (4.2.2: "results in a length of -1").
 *  - ConfigGeneration: changed by virtio_mmio_config_changed().
 *  - Config (0x100 on): the device's configuration space, config_size
 *    bytes, through its config_read()/config_write(); bytes past it read 0
 *    and ignore writes. Configuration is readable before FEATURES_OK (2.5.2).
 *  - Registers the spec marks write-only, and offsets below 0x100 no
 *    register occupies, read as 0; writes to read-only registers and to
 *    such offsets are ignored.
 *
 * Accesses. Below 0x100: 32-bit, aligned (4.2.2.2: "The driver MUST only
 * use 32 bit wide and aligned reads and writes to access the control
 * registers"). The configuration space: 8, 16 and 32-bit accesses aligned
 * to their size (4.2.2.2). Anything else, and offsets at or past
 * VIRTIO_MMIO_SIZE, fail, so the caller can inject an abort, as for the
 * emulated UARTs.
 *
 * An empty slot (no ops) reads MagicValue, Version and VendorID as above and
 * 0 everywhere else, and ignores writes, as QEMU's unused virtio-mmio
 * transports do: Linux finds DeviceID 0 and skips the slot quietly, as
 * 4.2.2.2 asks ("The driver MUST ignore a device with DeviceID 0x0, but
 * MUST NOT report any error").
 */
#ifndef KEEL_VIRTIO_MMIO_H
#define KEEL_VIRTIO_MMIO_H

#include <keel/types.h>
#include <keel/virtq.h>

#define VIRTIO_MMIO_SIZE 0x200        /* the window: as QEMU's virt board spaces its transports */
#define VIRTIO_MMIO_CONFIG 0x100      /* the device-specific configuration space starts here */
#define VIRTIO_MMIO_CONFIG_MAX (VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)
#define VIRTIO_MMIO_MAX_QUEUES 8
#define VIRTIO_MMIO_MAGIC 0x74726976  /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR 0x4c45454b /* "KEEL" */
#define VIRTIO_MMIO_VENDOR_QEMU 0x554d4551 /* "QEMU" */

/* Reserved feature bit (virtio 1.2, chapter 6): a device compliant with version 1 or later. */
#define VIRTIO_F_VERSION_1 32

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* InterruptStatus bits (4.2.2). */
#define VIRTIO_MMIO_INT_VRING 1  /* Used Buffer Notification */
#define VIRTIO_MMIO_INT_CONFIG 2 /* Configuration Change Notification */

struct virtio_mmio;

/*
 * A device model behind the transport. The fields are constant; @dev (the
 * device's own state, given to virtio_mmio_init()) is passed to each
 * function. The functions run inside virtio_mmio_read()/write() (and the
 * virtio_mmio_* calls below), under the caller's lock.
 */
struct virtio_dev_ops {
    u32 device_id;           /* 5 Device Types: 2 is a block device; never 0 */
    unsigned int num_queues; /* 1 .. VIRTIO_MMIO_MAX_QUEUES */
    u32 queue_num_max;       /* QueueNumMax of every queue: a power of 2 up to VIRTQ_MAX_SIZE */
    u32 config_size;         /* bytes of configuration space, up to VIRTIO_MMIO_CONFIG_MAX */

    /*
     * The device type's feature bits it offers (0-23, and 50 and up; the
     * transport adds its own, see above). Called at every DeviceFeatures
     * read and FEATURES_OK check, so it must not change between resets.
     */
    u64 (*features)(void *dev);
    /* May refuse a set of features the driver accepted (all offered). May be NULL: accept. */
    bool (*features_ok)(void *dev, u64 features);
    /*
     * @len (1, 2 or 4) bytes at @offset of the configuration space, offset +
     * len <= config_size, in the space's byte order (little-endian fields).
     * config_write may be NULL: nothing is writable.
     */
    void (*config_read)(void *dev, u32 offset, void *buf, unsigned int len);
    void (*config_write)(void *dev, u32 offset, const void *buf, unsigned int len);
    /*
     * The driver notified queue @q (ready, device live). Take what it made
     * available: virtio_mmio_queue(t, q) is the queue. 0, or a negative
     * VIRTQ_ERR_* if the queue is broken (the transport then sets
     * DEVICE_NEEDS_RESET). The transport sends the used buffer notification
     * afterwards; the device need not.
     */
    int (*queue_notify)(void *dev, struct virtio_mmio *t, unsigned int q);
    /* The device is reset (driver wrote 0 to Status, or virtio_mmio_reset()). */
    void (*reset)(void *dev);
};

typedef void (*virtio_mmio_irq_fn)(void *ctx, bool level); /* interrupt line changed */
/*
 * The device entered DEVICE_NEEDS_RESET: @err is the negative VIRTQ_ERR_*
 * (virtq_strerror() names it), @queue the queue. For a rate-limited log line.
 */
typedef void (*virtio_mmio_error_fn)(void *ctx, unsigned int queue, int err);

struct virtio_mmio_queue {
    struct virtq vq;
    u32 num;                  /* QueueNum as written */
    u64 desc, driver, device; /* QueueDesc, QueueDriver, QueueDevice as written */
};

struct virtio_mmio {
    const struct virtio_dev_ops *ops; /* NULL: an empty slot */
    void *dev;
    const struct virtq_mem *mem;

    u32 vendor_id;                 /* VendorID: VIRTIO_MMIO_VENDOR after init; the owner may set it */
    bool version_1_optional;       /* FEATURES_OK without VIRTIO_F_VERSION_1 (false after init) */
    u32 status;                    /* Status, DEVICE_NEEDS_RESET included */
    u32 device_features_sel;       /* DeviceFeaturesSel */
    u32 driver_features_sel;       /* DriverFeaturesSel */
    u64 driver_features;           /* DriverFeatures words 0 and 1 */
    bool driver_features_beyond;   /* a bit was accepted in a word above 1: none is offered */
    u32 queue_sel;                 /* QueueSel */
    u32 shm_sel;                   /* SHMSel */
    u32 interrupt_status;          /* InterruptStatus */
    u32 config_generation;         /* ConfigGeneration */
    struct virtio_mmio_queue queue[VIRTIO_MMIO_MAX_QUEUES];

    virtio_mmio_irq_fn irq;        /* may be NULL */
    virtio_mmio_error_fn error;    /* may be NULL */
    void *ctx;                     /* passed to both */
    bool line;                     /* interrupt line level last reported through irq() */
};

/*
 * Puts the transport in its reset state (every register at its reset value,
 * queues disabled, line low) in front of device @dev driven by @ops (NULL:
 * an empty slot), with guest memory @mem (which must outlive it) and the
 * callbacks. Calls neither callback nor the device's reset(): at VM
 * creation the device is new, and the caller tells the interrupt
 * controller the line is low.
 * -1, and the transport left as an empty slot, if @ops is out of range
 * (device_id 0, no queue or too many, queue_num_max not a power of 2 up
 * to 32768, configuration space too large, a function missing).
 */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
                     const struct virtq_mem *mem, virtio_mmio_irq_fn irq,
                     virtio_mmio_error_fn error, void *ctx);

/*
 * A reset from outside the guest (the VM is reset): as if the driver wrote
 * 0 to Status, the device's reset() included, but irq() is not called; the
 * caller resets the interrupt controller.
 */
void virtio_mmio_reset(struct virtio_mmio *t);

/* 0 on success, -1 if the access is not allowed (size, alignment, window): the caller injects an abort */
int virtio_mmio_read(struct virtio_mmio *t, u64 offset, unsigned int size, u64 *value);
int virtio_mmio_write(struct virtio_mmio *t, u64 offset, unsigned int size, u64 value);
/*
 * An empty slot with no struct virtio_mmio behind it: the same answers as a
 * transport without ops, from no state, so every empty slot of every VM
 * shares them without a lock.
 */
int virtio_mmio_empty_read(u64 offset, unsigned int size, u64 *value);
int virtio_mmio_empty_write(u64 offset, unsigned int size);

/*
 * For the device model (from its ops, or from outside with the caller's
 * lock held):
 *  - virtio_mmio_queue(): queue @q's virtqueue (NULL if the device has no
 *    such queue); use it only while virtio_mmio_live() and virtq_ready();
 *  - virtio_mmio_live(): DRIVER_OK is set and DEVICE_NEEDS_RESET is not:
 *    the device may consume buffers and notify;
 *  - virtio_mmio_features(): the features negotiated (valid once
 *    FEATURES_OK is set);
 *  - virtio_mmio_used(): buffers were pushed on queue @q outside
 *    queue_notify() (a completion that came later): send the used buffer
 *    notification if the driver wants one;
 *  - virtio_mmio_config_changed(): the configuration space changed (e.g. a
 *    capacity): new ConfigGeneration, configuration change interrupt once
 *    DRIVER_OK is set (2.5, 4.2.2.1);
 *  - virtio_mmio_device_error(): the device cannot go on (@err a negative
 *    VIRTQ_ERR_*, on @queue): DEVICE_NEEDS_RESET as described above.
 */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned int q);
bool virtio_mmio_live(const struct virtio_mmio *t);
u64 virtio_mmio_features(const struct virtio_mmio *t);
void virtio_mmio_used(struct virtio_mmio *t, unsigned int q);
void virtio_mmio_config_changed(struct virtio_mmio *t);
void virtio_mmio_device_error(struct virtio_mmio *t, unsigned int queue, int err);

#endif
