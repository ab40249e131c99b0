/*
 * The driver side of virtio-blk over virtio-mmio, for the disk Keel drives
 * itself. What it does and does not do: drivers/virtio_blk_drv.h.
 * Register offsets from virtio 1.2, 4.2.2 "MMIO Device Register Layout";
 * the virtqueue layout from 2.7 "Split Virtqueues".
 */
#include <arch/io.h>
#include <drivers/virtio_blk_drv.h>
#include <keel/arch.h>
#include <keel/log.h>
#include <keel/string.h>
#include <keel/virtio_blk.h>
#include <keel/virtio_mmio.h>

/* virtio is little-endian (1.4); so are Keel's CPUs: ring fields are stored as they are. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio rings are little-endian");

#define REG_MagicValue 0x000
#define REG_Version 0x004
#define REG_DeviceID 0x008
#define REG_DeviceFeatures 0x010
#define REG_DeviceFeaturesSel 0x014
#define REG_DriverFeatures 0x020
#define REG_DriverFeaturesSel 0x024
#define REG_QueueSel 0x030
#define REG_QueueNumMax 0x034
#define REG_QueueNum 0x038
#define REG_QueueReady 0x044
#define REG_QueueNotify 0x050
#define REG_Status 0x070
#define REG_QueueDescLow 0x080
#define REG_QueueDescHigh 0x084
#define REG_QueueDriverLow 0x090
#define REG_QueueDriverHigh 0x094
#define REG_QueueDeviceLow 0x0a0
#define REG_QueueDeviceHigh 0x0a4
#define REG_ConfigGeneration 0x0fc
#define REG_Config 0x100

/* struct virtio_blk_config (5.2.4): the fields read here. */
#define CFG_capacity 0
#define CFG_blk_size 20

#define Q VIRTIO_BLK_DRV_QUEUE_SIZE
#define STATUS_UNTOUCHED 0xff /* no VIRTIO_BLK_S_* value: the device never wrote it */
#define DRV_FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_FLUSH) |                      \
                      BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_RO))
#define DRV_LOGGED_ERRORS 16  /* device errors logged one by one; after that only counted */
#define STR_(x) #x
#define STR(x) STR_(x)

/* 2.7.5 */
struct vq_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

/* 2.7.6 */
struct vq_avail {
    u16 flags;
    u16 idx;
    u16 ring[Q];
    u16 used_event;
};

/* 2.7.8 */
struct vq_used_elem {
    u32 id;
    u32 len;
};

struct vq_used {
    u16 flags;
    u16 idx;
    struct vq_used_elem ring[Q];
    u16 avail_event;
};

/*
 * The caller's DMA memory. 2.7's alignments (descriptors 16, available
 * ring 2, used ring 4) hold with room to spare; the device writes only the
 * used ring, the status byte and, for a read, the bounce buffer.
 */
struct drv_dma {
    struct vq_desc desc[Q];
    struct vq_avail avail __aligned(16);
    struct vq_used used __aligned(16);
    u8 hdr[VIRTIO_BLK_HDR_SIZE] __aligned(16);
    u8 status;
    u8 bounce[VIRTIO_BLK_DRV_BOUNCE] __aligned(4096);
};
_Static_assert(sizeof(struct drv_dma) == VIRTIO_BLK_DRV_DMA_SIZE, "DMA layout");

static u32 drv_read(const struct virtio_blk_drv *d, u32 reg)
{
    return io_read32(d->base + reg);
}

static void drv_write(const struct virtio_blk_drv *d, u32 reg, u32 v)
{
    io_write32(d->base + reg, v);
}

/* Keel is identity-mapped: the address of its RAM is what the device uses (no IOMMU). */
static u64 drv_dma_addr(const void *p)
{
    return (u64)p;
}

static struct drv_dma *drv_mem(const struct virtio_blk_drv *d)
{
    return d->dma;
}

/* ---- initialisation (3.1.1) ---- */

static int drv_refuse(struct virtio_blk_drv *d, const char *why, u64 detail)
{
    ERROR("virtio-blk host disk at %#lx: %s (%#lx); not used", d->base, why, detail);
    return -1;
}

/* Once the driver has touched Status: FAILED says it gave up (3.1.1). */
static int drv_fail(struct virtio_blk_drv *d, const char *why, u64 detail)
{
    drv_write(d, REG_Status, drv_read(d, REG_Status) | VIRTIO_STATUS_FAILED);
    return drv_refuse(d, why, detail);
}

/* 2.4.2: after writing 0, wait for Status to read 0 before initialising again. */
static bool drv_reset(struct virtio_blk_drv *d)
{
    u64 start = arch_counter_read(), limit = arch_counter_freq();

    drv_write(d, REG_Status, 0);
    while (drv_read(d, REG_Status)) {
        if (arch_counter_read() - start > limit)
            return false;
        io_relax();
    }
    return true;
}

static void drv_add_status(struct virtio_blk_drv *d, u32 bits)
{
    drv_write(d, REG_Status, drv_read(d, REG_Status) | bits);
}

/* 4.2.2: MagicValue, Version 2 (1 is the legacy interface, 4.2.4), DeviceID 2. */
static int drv_identify(struct virtio_blk_drv *d)
{
    u32 magic = drv_read(d, REG_MagicValue), version = drv_read(d, REG_Version);
    u32 id = drv_read(d, REG_DeviceID);

    if (magic != VIRTIO_MMIO_MAGIC)
        return drv_refuse(d, "no virtio-mmio transport there: MagicValue", magic);
    if (version != VIRTIO_MMIO_VERSION)
        return drv_refuse(d, "legacy or unknown virtio-mmio interface: Version", version);
    if (id == 0)
        return drv_refuse(d, "no device behind the transport: DeviceID", id);
    if (id != VIRTIO_ID_BLOCK)
        return drv_refuse(d, "not a block device: DeviceID", id);
    return 0;
}

static u64 drv_device_features(struct virtio_blk_drv *d)
{
    u64 f;

    drv_write(d, REG_DeviceFeaturesSel, 1);
    f = (u64)drv_read(d, REG_DeviceFeatures) << 32;
    drv_write(d, REG_DeviceFeaturesSel, 0);
    return f | drv_read(d, REG_DeviceFeatures);
}

/* 3.1.1 steps 4-6: a subset of what is offered; VIRTIO_F_VERSION_1 is required. */
static int drv_negotiate(struct virtio_blk_drv *d)
{
    u64 offered = drv_device_features(d);

    if (!(offered & BIT(VIRTIO_F_VERSION_1)))
        return drv_fail(d, "the device does not offer VIRTIO_F_VERSION_1 (legacy only); "
                        "features", offered);
    d->features = offered & DRV_FEATURES;
    drv_write(d, REG_DriverFeaturesSel, 1);
    drv_write(d, REG_DriverFeatures, (u32)(d->features >> 32));
    drv_write(d, REG_DriverFeaturesSel, 0);
    drv_write(d, REG_DriverFeatures, (u32)d->features);
    drv_add_status(d, VIRTIO_STATUS_FEATURES_OK);
    if (!(drv_read(d, REG_Status) & VIRTIO_STATUS_FEATURES_OK))
        return drv_fail(d, "the device refused the features Keel accepted", d->features);
    return 0;
}

static u32 drv_config32(struct virtio_blk_drv *d, u32 off)
{
    return drv_read(d, REG_Config + off);
}

/*
 * 2.5.1: a field wider than 32 bits is not read atomically; read it
 * between two equal ConfigGeneration values. Bounded: a device whose
 * configuration keeps changing is refused.
 */
static bool drv_read_capacity(struct virtio_blk_drv *d)
{
    for (unsigned int tries = 0; tries < 16; tries++) {
        u32 gen = drv_read(d, REG_ConfigGeneration);
        u64 cap = drv_config32(d, CFG_capacity) |
                  (u64)drv_config32(d, CFG_capacity + 4) << 32;
        if (drv_read(d, REG_ConfigGeneration) == gen) {
            d->capacity = cap;
            return true;
        }
    }
    return false;
}

static int drv_read_config(struct virtio_blk_drv *d)
{
    u32 blk_size;

    if (!drv_read_capacity(d))
        return drv_fail(d, "its configuration keeps changing: ConfigGeneration",
                        drv_read(d, REG_ConfigGeneration));
    if (!d->capacity)
        return drv_fail(d, "the disk is empty: capacity", 0);
    /* 5.2.4: blk_size is only "for performance"; Keel cuts requests by 512-byte sectors */
    blk_size = d->features & BIT(VIRTIO_BLK_F_BLK_SIZE) ? drv_config32(d, CFG_blk_size)
                                                         : VIRTIO_BLK_SECTOR;
    if (blk_size != VIRTIO_BLK_SECTOR)
        return drv_fail(d, "its logical blocks are not 512 bytes: blk_size", blk_size);
    return 0;
}

/* 4.2.3.2: queue 0 with Q entries in the caller's memory. */
static int drv_setup_queue(struct virtio_blk_drv *d)
{
    struct drv_dma *m = drv_mem(d);
    u64 desc = drv_dma_addr(m->desc), avail = drv_dma_addr(&m->avail);
    u64 used = drv_dma_addr(&m->used);
    u32 max;

    drv_write(d, REG_QueueSel, 0);
    if (drv_read(d, REG_QueueReady))
        return drv_fail(d, "queue 0 is in use after a reset: QueueReady", 1);
    max = drv_read(d, REG_QueueNumMax);
    if (max < Q)
        return drv_fail(d, "queue 0 is missing or smaller than Keel's: QueueNumMax", max);
    memset(m, 0, sizeof(*m));
    /* 2.7.7: Keel polls the used ring and takes no interrupt for it */
    m->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    d->next_avail = d->next_used = 0;
    drv_write(d, REG_QueueNum, Q);
    drv_write(d, REG_QueueDescLow, (u32)desc);
    drv_write(d, REG_QueueDescHigh, (u32)(desc >> 32));
    drv_write(d, REG_QueueDriverLow, (u32)avail);
    drv_write(d, REG_QueueDriverHigh, (u32)(avail >> 32));
    drv_write(d, REG_QueueDeviceLow, (u32)used);
    drv_write(d, REG_QueueDeviceHigh, (u32)(used >> 32));
    io_wmb_before_write(); /* the zeroed rings before the device may look at them */
    drv_write(d, REG_QueueReady, 1);
    return 0;
}

static void drv_describe(const struct virtio_blk_drv *d)
{
    INFO("virtio-blk host disk at %#lx: %lu sectors (%lu MiB), %s%s", d->base, d->capacity,
         d->capacity >> 11, virtio_blk_drv_has_flush(d) ? "flush" : "write-through (no flush)",
         virtio_blk_drv_read_only(d) ? ", read-only" : "");
}

int virtio_blk_drv_init(struct virtio_blk_drv *d, u64 base, void *dma)
{
    memset(d, 0, sizeof(*d));
    d->base = base;
    d->dma = dma;
    d->lock = (spinlock_t)SPINLOCK_INIT;
    if (drv_identify(d))
        return -1;
    if (!drv_reset(d))
        return drv_refuse(d, "the device does not finish its reset: Status",
                          drv_read(d, REG_Status));
    drv_add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
    drv_add_status(d, VIRTIO_STATUS_DRIVER);
    if (drv_negotiate(d) || drv_read_config(d) || drv_setup_queue(d))
        return -1;
    drv_add_status(d, VIRTIO_STATUS_DRIVER_OK);
    if (drv_read(d, REG_Status) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return drv_fail(d, "the device needs a reset right after its setup: Status",
                        drv_read(d, REG_Status));
    drv_describe(d);
    return 0;
}

bool virtio_blk_drv_has_flush(const struct virtio_blk_drv *d)
{
    return d->features & BIT(VIRTIO_BLK_F_FLUSH);
}

bool virtio_blk_drv_read_only(const struct virtio_blk_drv *d)
{
    return d->features & BIT(VIRTIO_BLK_F_RO);
}

/* ---- requests ---- */

static const char *drv_type_name(u32 type)
{
    return type == VIRTIO_BLK_T_IN ? "read" : type == VIRTIO_BLK_T_OUT ? "write" : "flush";
}

/* 5.2.6: header, then @len data bytes in the bounce buffer (if any), then the status. */
static void drv_fill_chain(struct virtio_blk_drv *d, u32 type, u64 sector, u32 len)
{
    struct drv_dma *m = drv_mem(d);
    u16 status_desc = len ? 2 : 1;

    memset(m->hdr, 0, sizeof(m->hdr));
    memcpy(m->hdr, &type, sizeof(type));  /* le32 type, le32 reserved, le64 sector */
    memcpy(m->hdr + 8, &sector, sizeof(sector));
    m->status = STATUS_UNTOUCHED;
    m->desc[0] = (struct vq_desc){ drv_dma_addr(m->hdr), VIRTIO_BLK_HDR_SIZE, VIRTQ_DESC_F_NEXT, 1 };
    if (len)
        m->desc[1] = (struct vq_desc){ drv_dma_addr(m->bounce), len, VIRTQ_DESC_F_NEXT |
                                       (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0),
                                       status_desc };
    else
        m->desc[0].next = status_desc;
    m->desc[status_desc] = (struct vq_desc){ drv_dma_addr(&m->status), 1, VIRTQ_DESC_F_WRITE, 0 };
}

/* 2.7.13: the chain at head 0 into the available ring, then the notification. */
static void drv_submit(struct virtio_blk_drv *d)
{
    struct drv_dma *m = drv_mem(d);

    m->avail.ring[d->next_avail % Q] = 0;
    d->next_avail++;
    /* 2.7.13.3: descriptors and ring entry before the idx the device reads them by */
    io_dma_wmb();
    __atomic_store_n(&m->avail.idx, d->next_avail, __ATOMIC_RELAXED);
    /*
     * 2.7.13.4: the idx before the notification. The device is told every
     * time, whatever VIRTQ_USED_F_NO_NOTIFY says (a SHOULD NOT, 2.7.10):
     * with one request at a time nothing else would wake it.
     */
    io_wmb_before_write();
    drv_write(d, REG_QueueNotify, 0);
}

/*
 * The device never answered, or answered what was never asked: it may
 * still be working on Keel's buffers, so it is reset and not used again.
 */
static void drv_break(struct virtio_blk_drv *d, const char *what, u32 type, u64 sector, u32 len)
{
    u32 status = drv_read(d, REG_Status);

    ERROR("virtio-blk host disk at %#lx: %s a %s of %u bytes at sector %lu (device status %#x); "
          "the disk is given up: every later request fails", d->base, what,
          drv_type_name(type), len, sector, status);
    d->broken = true;
    drv_reset(d);
}

/* 2.7.14: polls the used idx, bounded; true once the request came back. */
static bool drv_wait(struct virtio_blk_drv *d)
{
    struct drv_dma *m = drv_mem(d);
    u64 start = arch_counter_read(), limit = arch_counter_freq() * VIRTIO_BLK_DRV_TIMEOUT_S;

    while (__atomic_load_n(&m->used.idx, __ATOMIC_RELAXED) == d->next_used) {
        if (arch_counter_read() - start > limit)
            return false;
        io_relax();
    }
    /* the idx before the used entry and the status and data it covers */
    io_dma_rmb();
    return true;
}

/*
 * The answer's status. 2.7.8.2: nothing past the used length may be
 * trusted, so a request whose used length does not cover its status byte
 * (and, for a read, the data before it) counts as failed whatever it says.
 */
static int drv_answer(struct virtio_blk_drv *d, const struct vq_used_elem *e, u32 type,
                      u64 sector, u32 len)
{
    u32 need = (type == VIRTIO_BLK_T_IN ? len : 0) + 1;
    int status = e->len >= need ? drv_mem(d)->status : VIRTIO_BLK_S_IOERR;

    d->stats.requests++;
    if (status != VIRTIO_BLK_S_OK && ++d->stats.errors <= DRV_LOGGED_ERRORS)
        WARN("virtio-blk host disk at %#lx: %s of %u bytes at sector %lu: status %u, %u of %u "
             "bytes written%s", d->base, drv_type_name(type), len, sector, drv_mem(d)->status,
             e->len, need, d->stats.errors == DRV_LOGGED_ERRORS
                           ? " (further errors are only counted)" : "");
    return status;
}

/* One request of @len bytes (0 for a flush) in the bounce buffer; its status, or -1. */
static int drv_request(struct virtio_blk_drv *d, u32 type, u64 sector, u32 len)
{
    struct drv_dma *m = drv_mem(d);
    struct vq_used_elem e;

    if (d->broken)
        return -1;
    drv_fill_chain(d, type, sector, len);
    drv_submit(d);
    if (!drv_wait(d)) {
        drv_break(d, "no answer in " STR(VIRTIO_BLK_DRV_TIMEOUT_S) " s to", type, sector, len);
        return -1;
    }
    e = m->used.ring[d->next_used % Q];
    d->next_used++;
    /* only head 0 was ever made available, once: anything else is a broken device */
    if (e.id != 0 || __atomic_load_n(&m->used.idx, __ATOMIC_RELAXED) != d->next_used) {
        drv_break(d, "an answer never asked for (used id or idx) to", type, sector, len);
        return -1;
    }
    return drv_answer(d, &e, type, sector, len);
}

static bool drv_in_range(const struct virtio_blk_drv *d, u64 sector, u32 count)
{
    return sector <= d->capacity && count <= d->capacity - sector;
}

/* Whole requests of up to VIRTIO_BLK_DRV_BOUNCE bytes, in order; stops at the first error. */
static bool drv_transfer(struct virtio_blk_drv *d, u32 type, u64 sector, u8 *buf, u32 count)
{
    struct drv_dma *m = drv_mem(d);
    bool ok = drv_in_range(d, sector, count) && !(type == VIRTIO_BLK_T_OUT &&
                                                  virtio_blk_drv_read_only(d));

    spin_lock(&d->lock);
    while (ok && count) {
        u32 n = MIN(count, (u32)(VIRTIO_BLK_DRV_BOUNCE / VIRTIO_BLK_SECTOR));
        u32 len = n * VIRTIO_BLK_SECTOR;

        if (type == VIRTIO_BLK_T_OUT)
            memcpy(m->bounce, buf, len);
        ok = drv_request(d, type, sector, len) == VIRTIO_BLK_S_OK;
        if (ok && type == VIRTIO_BLK_T_IN)
            memcpy(buf, m->bounce, len);
        if (ok)
            *(type == VIRTIO_BLK_T_IN ? &d->stats.read_bytes : &d->stats.write_bytes) += len;
        sector += n;
        buf += len;
        count -= n;
    }
    spin_unlock(&d->lock);
    return ok;
}

bool virtio_blk_drv_read(struct virtio_blk_drv *d, u64 sector, void *buf, u32 count)
{
    return drv_transfer(d, VIRTIO_BLK_T_IN, sector, buf, count);
}

bool virtio_blk_drv_write(struct virtio_blk_drv *d, u64 sector, const void *buf, u32 count)
{
    return drv_transfer(d, VIRTIO_BLK_T_OUT, sector, (u8 *)buf, count);
}

bool virtio_blk_drv_flush(struct virtio_blk_drv *d)
{
    bool ok;

    if (!virtio_blk_drv_has_flush(d))
        return !d->broken; /* write-through: every completed write is stable already */
    spin_lock(&d->lock);
    d->stats.flushes++;
    ok = drv_request(d, VIRTIO_BLK_T_FLUSH, 0, 0) == VIRTIO_BLK_S_OK;
    spin_unlock(&d->lock);
    return ok;
}
