/*
 * The virtio-mmio transport, version 2. Register offsets and names from
 * virtio 1.2, 4.2.2 "MMIO Device Register Layout"; the model and its
 * choices are described in keel/virtio_mmio.h.
 */
#include <keel/string.h>
#include <keel/virtio_mmio.h>

#define MagicValue 0x000
#define Version 0x004
#define DeviceID 0x008
#define VendorID 0x00c
#define DeviceFeatures 0x010
#define DeviceFeaturesSel 0x014
#define DriverFeatures 0x020
#define DriverFeaturesSel 0x024
#define QueueSel 0x030
#define QueueNumMax 0x034
#define QueueNum 0x038
#define QueueReady 0x044
#define QueueNotify 0x050
#define InterruptStatus 0x060
#define InterruptACK 0x064
#define Status 0x070
#define QueueDescLow 0x080
#define QueueDescHigh 0x084
#define QueueDriverLow 0x090
#define QueueDriverHigh 0x094
#define QueueDeviceLow 0x0a0
#define QueueDeviceHigh 0x0a4
#define SHMSel 0x0ac
#define SHMLenLow 0x0b0
#define SHMLenHigh 0x0b4
#define SHMBaseLow 0x0b8
#define SHMBaseHigh 0x0bc
#define QueueReset 0x0c0
#define ConfigGeneration 0x0fc

/* Status bits a driver sets (2.1); DEVICE_NEEDS_RESET is the device's. */
#define VIRTIO_STATUS_DRIVER_BITS                                                              \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |              \
     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)

/*
 * Feature bits 24 to 49 belong to the queue and negotiation mechanisms
 * (chapter 6), i.e. to the transport: a device's own never land there.
 */
#define VIRTIO_TRANSPORT_FEATURE_BITS GENMASK(49, 24)
#define VIRTIO_MMIO_FEATURES                                                                   \
    (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_F_EVENT_IDX))

/* ---- state ---- */

static bool virtio_mmio_ops_ok(const struct virtio_dev_ops *ops, const struct virtq_mem *mem)
{
    u32 max = ops->queue_num_max;

    return ops->device_id && ops->num_queues >= 1 &&
           ops->num_queues <= VIRTIO_MMIO_MAX_QUEUES && max >= 1 && max <= VIRTQ_MAX_SIZE &&
           !(max & (max - 1)) && ops->config_size <= VIRTIO_MMIO_CONFIG_MAX && ops->features &&
           ops->config_read && ops->queue_notify && ops->reset && mem && mem->check &&
           mem->read && mem->write;
}

/* Every register back to its reset value; ConfigGeneration keeps counting. */
static void virtio_mmio_reset_state(struct virtio_mmio *t)
{
    t->status = 0;
    t->device_features_sel = 0;
    t->driver_features_sel = 0;
    t->driver_features = 0;
    t->driver_features_beyond = false;
    t->queue_sel = 0;
    t->shm_sel = 0;
    t->interrupt_status = 0;
    for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
        struct virtio_mmio_queue *qs = &t->queue[i];

        virtq_reset(&qs->vq);
        qs->num = t->ops ? t->ops->queue_num_max : 0;
        qs->desc = qs->driver = qs->device = 0;
    }
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
                     const struct virtq_mem *mem, virtio_mmio_irq_fn irq,
                     virtio_mmio_error_fn error, void *ctx)
{
    bool ok = !ops || virtio_mmio_ops_ok(ops, mem);

    memset(t, 0, sizeof(*t));
    t->ops = ok ? ops : NULL;
    t->dev = dev;
    t->mem = mem;
    t->irq = irq;
    t->error = error;
    t->ctx = ctx;
    t->vendor_id = VIRTIO_MMIO_VENDOR;
    virtio_mmio_reset_state(t);
    return ok ? 0 : -1;
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
    virtio_mmio_reset_state(t);
    t->line = false;
    if (t->ops)
        t->ops->reset(t->dev);
}

static void virtio_mmio_update_irq(struct virtio_mmio *t)
{
    bool level = t->interrupt_status != 0;

    if (level == t->line)
        return;
    t->line = level;
    if (t->irq)
        t->irq(t->ctx, level);
}

static void virtio_mmio_raise(struct virtio_mmio *t, u32 bits)
{
    t->interrupt_status |= bits;
    virtio_mmio_update_irq(t);
}

/* ---- for the device model ---- */

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned int q)
{
    if (!t->ops || q >= t->ops->num_queues)
        return NULL;
    return &t->queue[q].vq;
}

bool virtio_mmio_live(const struct virtio_mmio *t)
{
    return t->ops && (t->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

u64 virtio_mmio_features(const struct virtio_mmio *t)
{
    return t->driver_features;
}

void virtio_mmio_used(struct virtio_mmio *t, unsigned int q)
{
    struct virtq *vq = virtio_mmio_queue(t, q);

    if (vq && virtio_mmio_live(t) && virtq_needs_notify(vq))
        virtio_mmio_raise(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
    if (!t->ops)
        return;
    t->config_generation++;
    if (t->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_mmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

/* 2.1.2: DEVICE_NEEDS_RESET, and a configuration change notification once DRIVER_OK is set. */
void virtio_mmio_device_error(struct virtio_mmio *t, unsigned int queue, int err)
{
    if (!t->ops || (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        return;
    t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (t->error)
        t->error(t->ctx, queue, err);
    if (t->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_mmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

/* ---- features and status ---- */

static u64 virtio_mmio_offered(const struct virtio_mmio *t)
{
    return (t->ops->features(t->dev) & ~VIRTIO_TRANSPORT_FEATURE_BITS) | VIRTIO_MMIO_FEATURES;
}

static u32 virtio_mmio_feature_word(u64 features, u32 sel)
{
    if (sel > 1)
        return 0;
    return (u32)(features >> (32 * sel));
}

static void virtio_mmio_write_driver_features(struct virtio_mmio *t, u32 v)
{
    u32 sel = t->driver_features_sel;

    if (t->status & VIRTIO_STATUS_FEATURES_OK)
        return;
    if (sel > 1) {
        t->driver_features_beyond |= v != 0;
        return;
    }
    t->driver_features &= ~((u64)0xffffffffU << (32 * sel));
    t->driver_features |= (u64)v << (32 * sel);
}

/* 2.2.2, 6.1: FEATURES_OK only for a subset of the offer that includes VIRTIO_F_VERSION_1. */
static bool virtio_mmio_features_acceptable(struct virtio_mmio *t)
{
    u64 f = t->driver_features;

    if (t->driver_features_beyond || (f & ~virtio_mmio_offered(t)) ||
        (!(f & BIT(VIRTIO_F_VERSION_1)) && !t->version_1_optional))
        return false;
    return !t->ops->features_ok || t->ops->features_ok(t->dev, f);
}

static void virtio_mmio_notify(struct virtio_mmio *t, u32 q);

/* The driver wrote 0 to Status (2.4, 4.2.2): everything back to reset values, the line drops. */
static void virtio_mmio_guest_reset(struct virtio_mmio *t)
{
    virtio_mmio_reset_state(t);
    t->ops->reset(t->dev);
    virtio_mmio_update_irq(t);
}

static void virtio_mmio_write_status(struct virtio_mmio *t, u32 v)
{
    u32 add;

    if (!v) {
        virtio_mmio_guest_reset(t);
        return;
    }
    add = v & VIRTIO_STATUS_DRIVER_BITS & ~t->status;
    if ((add & VIRTIO_STATUS_FEATURES_OK) && !virtio_mmio_features_acceptable(t))
        add &= ~VIRTIO_STATUS_FEATURES_OK;
    if (!((t->status | add) & VIRTIO_STATUS_FEATURES_OK))
        add &= ~VIRTIO_STATUS_DRIVER_OK;
    t->status |= add;
    if (!(add & VIRTIO_STATUS_DRIVER_OK))
        return;
    /* Buffers made available before DRIVER_OK are looked at now. */
    for (unsigned int q = 0; q < t->ops->num_queues; q++)
        virtio_mmio_notify(t, q);
}

/* ---- queues ---- */

/* The queue QueueSel selects, NULL if the device has none there. */
static struct virtio_mmio_queue *virtio_mmio_sel(struct virtio_mmio *t)
{
    if (t->queue_sel >= t->ops->num_queues)
        return NULL;
    return &t->queue[t->queue_sel];
}

static void virtio_mmio_set_half(u64 *r, bool high, u32 v)
{
    if (high)
        *r = (*r & 0xffffffffULL) | (u64)v << 32;
    else
        *r = (*r & ~0xffffffffULL) | v;
}

/* QueueNum and the area addresses: ignored while the queue is ready (4.2.2.2). */
static void virtio_mmio_write_queue_reg(struct virtio_mmio *t, u64 reg, u32 v)
{
    struct virtio_mmio_queue *qs = virtio_mmio_sel(t);

    if (!qs || qs->vq.size)
        return;
    switch (reg) {
    case QueueNum:
        qs->num = v;
        break;
    case QueueDescLow:
    case QueueDescHigh:
        virtio_mmio_set_half(&qs->desc, reg == QueueDescHigh, v);
        break;
    case QueueDriverLow:
    case QueueDriverHigh:
        virtio_mmio_set_half(&qs->driver, reg == QueueDriverHigh, v);
        break;
    case QueueDeviceLow:
    case QueueDeviceHigh:
        virtio_mmio_set_half(&qs->device, reg == QueueDeviceHigh, v);
        break;
    }
}

/* QueueReady: enable after FEATURES_OK, with a queue 2.7 allows, or break the device. */
static void virtio_mmio_write_queue_ready(struct virtio_mmio *t, u32 v)
{
    struct virtio_mmio_queue *qs = virtio_mmio_sel(t);
    int err;

    if (!qs)
        return;
    if (!v) {
        virtq_reset(&qs->vq);
        return;
    }
    if (qs->vq.size || !(t->status & VIRTIO_STATUS_FEATURES_OK))
        return;
    if (qs->num > t->ops->queue_num_max)
        err = -VIRTQ_ERR_SIZE;
    else
        err = virtq_init(&qs->vq, t->mem, qs->desc, qs->driver, qs->device, qs->num,
                         t->driver_features);
    if (err)
        virtio_mmio_device_error(t, t->queue_sel, err);
}

/* QueueNotify: the device takes what is available, then the driver hears if it wants to. */
static void virtio_mmio_notify(struct virtio_mmio *t, u32 q)
{
    struct virtq *vq = virtio_mmio_queue(t, q);
    int err;

    if (!vq || !virtio_mmio_live(t) || !virtq_ready(vq))
        return;
    err = t->ops->queue_notify(t->dev, t, q);
    virtio_mmio_used(t, q); /* what completed before an error is still delivered */
    if (err < 0)
        virtio_mmio_device_error(t, q, err);
}

/* ---- registers ---- */

static u32 virtio_mmio_reg_read(struct virtio_mmio *t, u64 reg)
{
    struct virtio_mmio_queue *qs = virtio_mmio_sel(t);

    switch (reg) {
    case MagicValue:
        return VIRTIO_MMIO_MAGIC;
    case Version:
        return VIRTIO_MMIO_VERSION;
    case DeviceID:
        return t->ops->device_id;
    case VendorID:
        return t->vendor_id;
    case DeviceFeatures:
        return virtio_mmio_feature_word(virtio_mmio_offered(t), t->device_features_sel);
    case QueueNumMax:
        return qs ? t->ops->queue_num_max : 0;
    case QueueReady:
        return qs && qs->vq.size;
    case InterruptStatus:
        return t->interrupt_status;
    case Status:
        return t->status;
    case SHMLenLow:
    case SHMLenHigh:
    case SHMBaseLow:
    case SHMBaseHigh:
        return 0xffffffffU; /* no shared memory region: a length of -1 */
    case ConfigGeneration:
        return t->config_generation;
    }
    return 0; /* write-only registers, QueueReset, offsets no register occupies */
}

/* An empty slot (4.2.2, QEMU's unused transports): only what identifies a virtio-mmio window. */
static u32 virtio_mmio_empty_reg(u64 reg)
{
    switch (reg) {
    case MagicValue:
        return VIRTIO_MMIO_MAGIC;
    case Version:
        return VIRTIO_MMIO_VERSION;
    case VendorID:
        return VIRTIO_MMIO_VENDOR;
    }
    return 0;
}

static void virtio_mmio_reg_write(struct virtio_mmio *t, u64 reg, u32 v)
{
    switch (reg) {
    case DeviceFeaturesSel:
        t->device_features_sel = v;
        break;
    case DriverFeatures:
        virtio_mmio_write_driver_features(t, v);
        break;
    case DriverFeaturesSel:
        t->driver_features_sel = v;
        break;
    case QueueSel:
        t->queue_sel = v;
        break;
    case QueueNum:
    case QueueDescLow:
    case QueueDescHigh:
    case QueueDriverLow:
    case QueueDriverHigh:
    case QueueDeviceLow:
    case QueueDeviceHigh:
        virtio_mmio_write_queue_reg(t, reg, v);
        break;
    case QueueReady:
        virtio_mmio_write_queue_ready(t, v);
        break;
    case QueueNotify:
        virtio_mmio_notify(t, v);
        break;
    case InterruptACK:
        t->interrupt_status &= ~v;
        virtio_mmio_update_irq(t);
        break;
    case Status:
        virtio_mmio_write_status(t, v);
        break;
    case SHMSel:
        t->shm_sel = v;
        break;
    }
}

/* ---- the configuration space ---- */

/* Bytes of an access at @off (into the space) that fall inside it. */
static unsigned int virtio_mmio_config_bytes(const struct virtio_mmio *t, u64 off,
                                             unsigned int size)
{
    if (!t->ops || off >= t->ops->config_size)
        return 0;
    return (unsigned int)MIN((u64)size, t->ops->config_size - off);
}

static u64 virtio_mmio_config_read(struct virtio_mmio *t, u64 off, unsigned int size)
{
    unsigned int n = virtio_mmio_config_bytes(t, off, size);
    u8 b[4] = { 0 };
    u64 v = 0;

    if (n)
        t->ops->config_read(t->dev, (u32)off, b, n);
    for (unsigned int i = 0; i < size; i++)
        v |= (u64)b[i] << (8 * i);
    return v;
}

static void virtio_mmio_config_write(struct virtio_mmio *t, u64 off, unsigned int size, u64 v)
{
    unsigned int n = virtio_mmio_config_bytes(t, off, size);
    u8 b[4];

    if (!n || !t->ops->config_write)
        return;
    for (unsigned int i = 0; i < size; i++)
        b[i] = (u8)(v >> (8 * i));
    t->ops->config_write(t->dev, (u32)off, b, n);
}

/* ---- accesses ---- */

/* 4.2.2.2: registers 32-bit aligned; the configuration space 8, 16 or 32-bit, aligned. */
static bool virtio_mmio_access_ok(u64 off, unsigned int size)
{
    if (off >= VIRTIO_MMIO_SIZE)
        return false;
    if (off < VIRTIO_MMIO_CONFIG)
        return size == 4 && IS_ALIGNED(off, 4);
    return (size == 1 || size == 2 || size == 4) && IS_ALIGNED(off, size);
}

int virtio_mmio_read(struct virtio_mmio *t, u64 offset, unsigned int size, u64 *value)
{
    if (!t->ops)
        return virtio_mmio_empty_read(offset, size, value);
    if (!virtio_mmio_access_ok(offset, size))
        return -1;
    if (offset >= VIRTIO_MMIO_CONFIG)
        *value = virtio_mmio_config_read(t, offset - VIRTIO_MMIO_CONFIG, size);
    else
        *value = virtio_mmio_reg_read(t, offset);
    return 0;
}

int virtio_mmio_write(struct virtio_mmio *t, u64 offset, unsigned int size, u64 value)
{
    if (!t->ops)
        return virtio_mmio_empty_write(offset, size);
    if (!virtio_mmio_access_ok(offset, size))
        return -1;
    if (offset >= VIRTIO_MMIO_CONFIG)
        virtio_mmio_config_write(t, offset - VIRTIO_MMIO_CONFIG, size, value);
    else
        virtio_mmio_reg_write(t, offset, (u32)value);
    return 0;
}

/* No configuration space: 0 there, as everywhere but the identifying registers. */
int virtio_mmio_empty_read(u64 offset, unsigned int size, u64 *value)
{
    if (!virtio_mmio_access_ok(offset, size))
        return -1;
    *value = offset < VIRTIO_MMIO_CONFIG ? virtio_mmio_empty_reg(offset) : 0;
    return 0;
}

int virtio_mmio_empty_write(u64 offset, unsigned int size)
{
    return virtio_mmio_access_ok(offset, size) ? 0 : -1;
}
