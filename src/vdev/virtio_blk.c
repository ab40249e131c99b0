/*
 * Emulated virtio-blk (virtio 1.2, section 5.2). The model, the requests
 * and the answers to bad ones are described in keel/virtio_blk.h.
 */
#include <keel/string.h>
#include <keel/virtio_blk.h>

/* struct virtio_blk_config (5.2.4): byte offsets of the fields Keel fills. */
#define CFG_capacity 0
#define CFG_seg_max 12
#define CFG_blk_size 20
#define CFG_num_queues 34

/* struct virtio_blk_req (5.2.6): the header's fields. */
#define REQ_type 0
#define REQ_sector 8

static void put_le(u8 *b, u64 v, unsigned int bytes)
{
    for (unsigned int i = 0; i < bytes; i++)
        b[i] = (u8)(v >> (8 * i));
}

static u64 get_le(const u8 *b, unsigned int bytes)
{
    u64 v = 0;

    for (unsigned int i = 0; i < bytes; i++)
        v |= (u64)b[i] << (8 * i);
    return v;
}

static void virtio_blk_fill_config(struct virtio_blk *b)
{
    memset(b->config, 0, sizeof(b->config));
    put_le(b->config + CFG_capacity, b->backing.capacity, 8);
    put_le(b->config + CFG_seg_max, VIRTQ_MAX_SEGS - 2, 4);
    put_le(b->config + CFG_blk_size, VIRTIO_BLK_SECTOR, 4);
    put_le(b->config + CFG_num_queues, 1, 2);
}

int virtio_blk_init(struct virtio_blk *b, const struct virtio_blk_backing *backing)
{
    if (!backing->read || (!backing->read_only && !backing->write))
        return -1;
    memset(b, 0, sizeof(*b));
    b->backing = *backing;
    virtio_blk_fill_config(b);
    return 0;
}

/* ---- the disk ---- */

/* 5.2.6.1: whole sectors, inside the capacity. */
static bool virtio_blk_range_ok(const struct virtio_blk *b, u64 sector, u64 len)
{
    u64 cap = b->backing.capacity;

    return len % VIRTIO_BLK_SECTOR == 0 && sector <= cap && len / VIRTIO_BLK_SECTOR <= cap - sector;
}

static bool virtio_blk_flush_backing(struct virtio_blk *b)
{
    b->stats.flushes++;
    return !b->backing.flush || b->backing.flush(b->backing.ctx);
}

/*
 * A backing with map(): @len bytes straight from the disk into the chain's
 * writable bytes (IN), or from its readable bytes after the header onto
 * the disk (OUT), in one copy.
 */
static bool virtio_blk_move_direct(struct virtio_blk *b, u64 sector, u64 len, bool out)
{
    struct virtq_chain *c = &b->chain;
    u8 *p = b->backing.map(b->backing.ctx, sector, (u32)(len / VIRTIO_BLK_SECTOR), out);

    if (!p)
        return false;
    if (out) {
        if (!virtq_chain_read(c, VIRTIO_BLK_HDR_SIZE, p, len))
            return false;
        b->stats.write_bytes += len;
    } else {
        if (!virtq_chain_write(c, 0, p, len))
            return false;
        b->data_written = (u32)len;
        b->stats.read_bytes += len;
    }
    return true;
}

/* Any other backing: the same through the bounce buffer, VIRTIO_BLK_BOUNCE bytes at a time. */
static bool virtio_blk_move_bounce(struct virtio_blk *b, u64 sector, u64 len, bool out)
{
    struct virtq_chain *c = &b->chain;
    const struct virtio_blk_backing *k = &b->backing;

    for (u64 done = 0; done < len;) {
        u32 n = (u32)MIN(len - done, (u64)VIRTIO_BLK_BOUNCE);
        u64 at = sector + done / VIRTIO_BLK_SECTOR;

        if (out) {
            if (!virtq_chain_read(c, VIRTIO_BLK_HDR_SIZE + done, b->bounce, n) ||
                !k->write(k->ctx, at, b->bounce, n / VIRTIO_BLK_SECTOR))
                return false;
            b->stats.write_bytes += n;
        } else {
            if (!k->read(k->ctx, at, b->bounce, n / VIRTIO_BLK_SECTOR) ||
                !virtq_chain_write(c, done, b->bounce, n))
                return false;
            b->data_written = (u32)(done + n);
            b->stats.read_bytes += n;
        }
        done += n;
    }
    return true;
}

/* @len data bytes (whole sectors, inside the capacity) between the disk and the chain. */
static bool virtio_blk_move(struct virtio_blk *b, u64 sector, u64 len, bool out)
{
    if (!len)
        return true; /* the backing is not called */
    if (b->backing.map)
        return virtio_blk_move_direct(b, sector, len, out);
    return virtio_blk_move_bounce(b, sector, len, out);
}

/* VIRTIO_BLK_T_IN: sectors into the device-writable bytes before the status. */
static u8 virtio_blk_in(struct virtio_blk *b, u64 sector)
{
    u64 len = b->chain.write_len - 1;

    if (!virtio_blk_range_ok(b, sector, len) || !virtio_blk_move(b, sector, len, false))
        return VIRTIO_BLK_S_IOERR;
    return VIRTIO_BLK_S_OK;
}

/* VIRTIO_BLK_T_OUT: the device-readable bytes after the header onto the disk. */
static u8 virtio_blk_out(struct virtio_blk *b, u64 sector, u64 features)
{
    u64 len = b->chain.read_len - VIRTIO_BLK_HDR_SIZE;

    /* 5.2.6.2: on a read-only disk, nothing written */
    if (b->backing.read_only || !virtio_blk_range_ok(b, sector, len) ||
        !virtio_blk_move(b, sector, len, true))
        return VIRTIO_BLK_S_IOERR;
    /* 5.2.6.2: without VIRTIO_BLK_F_FLUSH negotiated, a completed write is stable. */
    if (!(features & BIT(VIRTIO_BLK_F_FLUSH)) && !virtio_blk_flush_backing(b))
        return VIRTIO_BLK_S_IOERR;
    return VIRTIO_BLK_S_OK;
}

/* VIRTIO_BLK_T_GET_ID: the id string, NUL-padded to 20 bytes, as much as fits. */
static u8 virtio_blk_get_id(struct virtio_blk *b)
{
    struct virtq_chain *c = &b->chain;
    u8 id[VIRTIO_BLK_ID_BYTES] = { 0 };
    u32 n = MIN(c->write_len - 1, (u32)VIRTIO_BLK_ID_BYTES);

    if (b->backing.id)
        memcpy(id, b->backing.id, strnlen(b->backing.id, VIRTIO_BLK_ID_BYTES));
    if (!virtq_chain_write(c, 0, id, n))
        return VIRTIO_BLK_S_IOERR;
    b->data_written = n;
    return VIRTIO_BLK_S_OK;
}

/* The request in b->chain, header read: its status. */
static u8 virtio_blk_execute(struct virtio_blk *b, const u8 *hdr, u64 features)
{
    u64 sector = get_le(hdr + REQ_sector, 8);

    switch (get_le(hdr + REQ_type, 4)) {
    case VIRTIO_BLK_T_IN:
        return virtio_blk_in(b, sector);
    case VIRTIO_BLK_T_OUT:
        return virtio_blk_out(b, sector, features);
    case VIRTIO_BLK_T_FLUSH:
        return virtio_blk_flush_backing(b) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    case VIRTIO_BLK_T_GET_ID:
        return virtio_blk_get_id(b);
    }
    return VIRTIO_BLK_S_UNSUPP;
}

/*
 * Serves the chain in b->chain: 0 with *written the used length (see
 * keel/virtio_blk.h), or a negative VIRTQ_ERR_* if it cannot be answered.
 */
static int virtio_blk_request(struct virtio_blk *b, u64 features, u32 *written)
{
    struct virtq_chain *c = &b->chain;
    u8 hdr[VIRTIO_BLK_HDR_SIZE], status;

    if (!c->write_len)
        return -VIRTQ_ERR_FRAMING; /* nowhere to put the status */
    b->data_written = 0;
    if (c->read_len < VIRTIO_BLK_HDR_SIZE || !virtq_chain_read(c, 0, hdr, sizeof(hdr)))
        status = VIRTIO_BLK_S_IOERR;
    else
        status = virtio_blk_execute(b, hdr, features);
    if (!virtq_chain_write(c, c->write_len - 1, &status, 1))
        return -VIRTQ_ERR_MEM;
    b->stats.requests++;
    if (status != VIRTIO_BLK_S_OK)
        b->stats.errors++;
    *written = b->data_written + (b->data_written == c->write_len - 1);
    return 0;
}

/* ---- the transport's side ---- */

static int virtio_blk_queue_notify(void *dev, struct virtio_mmio *t, unsigned int q)
{
    struct virtio_blk *b = dev;
    struct virtq *vq = virtio_mmio_queue(t, q);
    u64 features = virtio_mmio_features(t);
    u32 written;
    int n, err;

    while ((n = virtq_pop(vq, &b->chain)) > 0) {
        err = virtio_blk_request(b, features, &written);
        if (!err)
            err = virtq_push(vq, b->chain.head, written);
        if (err) {
            b->stats.bad_chains++;
            return err;
        }
    }
    if (n < 0)
        b->stats.bad_chains++;
    return n;
}

static u64 virtio_blk_features(void *dev)
{
    const struct virtio_blk *b = dev;
    u64 f = BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH);

    if (b->backing.read_only)
        f |= BIT(VIRTIO_BLK_F_RO);
    return f;
}

static void virtio_blk_config_read(void *dev, u32 offset, void *buf, unsigned int len)
{
    const struct virtio_blk *b = dev;

    memcpy(buf, b->config + offset, len);
}

/* Requests are served to completion inside each notification: nothing is in flight. */
static void virtio_blk_reset(void *dev)
{
    (void)dev;
}

const struct virtio_dev_ops virtio_blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_num_max = VIRTIO_BLK_QUEUE_SIZE,
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .features = virtio_blk_features,
    .config_read = virtio_blk_config_read,
    .queue_notify = virtio_blk_queue_notify,
    .reset = virtio_blk_reset,
};

/* ---- a disk image in host memory ---- */

static bool virtio_blk_ram_in_range(const struct virtio_blk_ram *r, u64 sector, u32 count)
{
    return sector <= r->sectors && count <= r->sectors - sector;
}

static bool virtio_blk_ram_read(void *ctx, u64 sector, void *buf, u32 count)
{
    const struct virtio_blk_ram *r = ctx;

    if (!virtio_blk_ram_in_range(r, sector, count))
        return false;
    memcpy(buf, r->base + sector * VIRTIO_BLK_SECTOR, (size_t)count * VIRTIO_BLK_SECTOR);
    return true;
}

static bool virtio_blk_ram_write(void *ctx, u64 sector, const void *buf, u32 count)
{
    struct virtio_blk_ram *r = ctx;

    if (!virtio_blk_ram_in_range(r, sector, count))
        return false;
    memcpy(r->base + sector * VIRTIO_BLK_SECTOR, buf, (size_t)count * VIRTIO_BLK_SECTOR);
    return true;
}

/* Straight at the image: the device copies between it and guest memory (keel/virtio_blk.h). */
static void *virtio_blk_ram_map(void *ctx, u64 sector, u32 count, bool write)
{
    struct virtio_blk_ram *r = ctx;

    if (!r->base || !virtio_blk_ram_in_range(r, sector, count) || (write && r->read_only))
        return NULL;
    return r->base + sector * VIRTIO_BLK_SECTOR;
}

void virtio_blk_ram_backing(struct virtio_blk_backing *b, struct virtio_blk_ram *ram, void *buf,
                            u64 size, bool read_only, const char *id)
{
    ram->base = buf;
    ram->sectors = size / VIRTIO_BLK_SECTOR;
    ram->read_only = read_only;
    *b = (struct virtio_blk_backing){
        .capacity = ram->sectors,
        .read_only = read_only,
        .id = id,
        .read = virtio_blk_ram_read,
        .write = read_only ? NULL : virtio_blk_ram_write,
        .map = virtio_blk_ram_map,
        .ctx = ram,
    };
}
