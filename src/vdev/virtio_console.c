/*
 * Emulated virtio console, port 0 only (virtio 1.2, section 5.3). The
 * model, its queues and its answers to bad chains are described in
 * keel/virtio_console.h.
 */
#include <keel/string.h>
#include <keel/virtio_console.h>

void virtio_console_init(struct virtio_console *c, const struct virtio_console_io *io)
{
    memset(c, 0, sizeof(*c));
    if (io)
        c->io = *io;
}

/* @len output bytes of the driver's: to write(), or counted as dropped without one. */
static void virtio_console_output(struct virtio_console *c, const u8 *buf, u32 len)
{
    if (!c->io.write) {
        c->stats.dropped += len;
        return;
    }
    c->io.write(c->io.ctx, buf, len);
    c->stats.tx_bytes += len;
}

/* ---- transmitq0 ---- */

/*
 * The chain in c->chain, all device-readable, to write() a bounce buffer
 * at a time. 0, or -VIRTQ_ERR_MEM if guest memory refused part of it (the
 * rest is dropped).
 */
static int virtio_console_tx_chain(struct virtio_console *c)
{
    struct virtq_chain *ch = &c->chain;
    u32 done = 0;

    while (done < ch->read_len) {
        u32 n = MIN(ch->read_len - done, (u32)VIRTIO_CONSOLE_BOUNCE);

        if (!virtq_chain_read(ch, done, c->bounce, n)) {
            c->stats.dropped += ch->read_len - done;
            return -VIRTQ_ERR_MEM;
        }
        virtio_console_output(c, c->bounce, n);
        done += n;
    }
    return 0;
}

/* Every chain available on transmitq0, in order; 0, or the VIRTQ_ERR_* that broke the queue. */
static int virtio_console_tx(struct virtio_console *c, struct virtq *vq)
{
    int n, err;

    while ((n = virtq_pop(vq, &c->chain)) > 0) {
        /* 5.3.6.1: no device-writable buffer in a transmitq, not even an empty one. */
        if (c->chain.nseg != c->chain.nread)
            err = -VIRTQ_ERR_FRAMING;
        else
            err = virtio_console_tx_chain(c);
        if (!err)
            err = virtq_push(vq, c->chain.head, 0);
        if (err) {
            c->stats.bad_chains++;
            return err;
        }
    }
    if (n < 0)
        c->stats.bad_chains++;
    return n;
}

/* ---- receiveq0 ---- */

/*
 * Fills the chain in c->chain with up to @len bytes of @buf and hands it
 * back: the bytes it took (>= 0), or a negative VIRTQ_ERR_* (nothing taken).
 */
static s64 virtio_console_rx_chain(struct virtio_console *c, struct virtq *vq, const u8 *buf,
                                   u32 len)
{
    struct virtq_chain *ch = &c->chain;
    u32 n = MIN(len, ch->write_len);
    int err;

    /* 5.3.6.1: no device-readable buffer in a receiveq. */
    if (ch->nread)
        return -VIRTQ_ERR_FRAMING;
    if (n && !virtq_chain_write(ch, 0, buf, n))
        return -VIRTQ_ERR_MEM;
    err = virtq_push(vq, ch->head, n);
    return err ? err : (s64)n;
}

u32 virtio_console_receive(struct virtio_console *c, struct virtio_mmio *t, const u8 *buf,
                           u32 len)
{
    struct virtq *vq = virtio_mmio_queue(t, VIRTIO_CONSOLE_RXQ);
    u32 done = 0;
    s64 got = 0;
    int n = 0;

    if (!len || !vq || !virtio_mmio_live(t) || !virtq_ready(vq))
        return 0;
    while (done < len && (n = virtq_pop(vq, &c->chain)) > 0) {
        got = virtio_console_rx_chain(c, vq, buf + done, len - done);
        if (got < 0)
            break;
        done += (u32)got;
        c->stats.rx_bytes += (u64)got;
    }
    /* What was handed back before an error still reaches the driver, as in the transport. */
    if (done)
        virtio_mmio_used(t, VIRTIO_CONSOLE_RXQ);
    if (n < 0 || got < 0) {
        c->stats.bad_chains++;
        virtio_mmio_device_error(t, VIRTIO_CONSOLE_RXQ, n < 0 ? n : (int)got);
    }
    return done;
}

/* ---- the transport's side ---- */

static int virtio_console_queue_notify(void *dev, struct virtio_mmio *t, unsigned int q)
{
    struct virtio_console *c = dev;

    if (q == VIRTIO_CONSOLE_TXQ)
        return virtio_console_tx(c, virtio_mmio_queue(t, q));
    /* receiveq0: new buffers, perhaps; the caller has the input. */
    if (c->io.rx_ready)
        c->io.rx_ready(c->io.ctx);
    return 0;
}

static u64 virtio_console_features(void *dev)
{
    (void)dev;
    return BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
}

/* cols, rows and max_nr_ports are not valid without their features, and emerg_wr is write-only. */
static void virtio_console_config_read(void *dev, u32 offset, void *buf, unsigned int len)
{
    (void)dev;
    (void)offset;
    memset(buf, 0, len);
}

/*
 * 5.3.4: the low byte of emerg_wr goes out. Accesses are aligned to their
 * size (the transport checks), so one that holds that byte starts at it.
 */
static void virtio_console_config_write(void *dev, u32 offset, const void *buf, unsigned int len)
{
    struct virtio_console *c = dev;

    (void)len;
    if (offset == VIRTIO_CONSOLE_CFG_EMERG_WR)
        virtio_console_output(c, buf, 1);
}

/* Chains are served to completion inside each call: nothing is in flight. */
static void virtio_console_reset(void *dev)
{
    (void)dev;
}

const struct virtio_dev_ops virtio_console_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_num_max = VIRTIO_CONSOLE_QUEUE_SIZE,
    .config_size = VIRTIO_CONSOLE_CONFIG_SIZE,
    .features = virtio_console_features,
    .config_read = virtio_console_config_read,
    .config_write = virtio_console_config_write,
    .queue_notify = virtio_console_queue_notify,
    .reset = virtio_console_reset,
};
