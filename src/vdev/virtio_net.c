/*
 * Emulated virtio-net (virtio 1.2, section 5.1). The model, what it
 * offers, and its answers to bad chains are described in keel/virtio_net.h.
 */
#include <keel/string.h>
#include <keel/virtio_net.h>

/* struct virtio_net_config (5.1.4): byte offsets of the fields Keel fills. */
#define CFG_mac 0
#define CFG_status 6
#define CFG_max_virtqueue_pairs 8
#define CFG_mtu 10

/* struct virtio_net_hdr (5.1.6): the fields the device reads or writes. */
#define HDR_flags 0
#define HDR_gso_type 1
#define HDR_num_buffers 10

static void put_le16(u8 *b, u16 v)
{
    b[0] = (u8)v;
    b[1] = (u8)(v >> 8);
}

static void virtio_net_fill_config(struct virtio_net *n)
{
    memset(n->config, 0, sizeof(n->config));
    memcpy(n->config + CFG_mac, n->mac, ETH_ALEN);
    put_le16(n->config + CFG_status, VIRTIO_NET_S_LINK_UP);
    put_le16(n->config + CFG_max_virtqueue_pairs, 1);
    put_le16(n->config + CFG_mtu, ETH_MTU);
}

int virtio_net_init(struct virtio_net *n, const u8 *mac, virtio_net_tx_fn tx,
                    virtio_net_rx_ready_fn rx_ready, void *ctx)
{
    if (!tx || !mac || !eth_is_station(mac))
        return -1;
    memset(n, 0, sizeof(*n));
    memcpy(n->mac, mac, ETH_ALEN);
    n->tx = tx;
    n->rx_ready = rx_ready;
    n->ctx = ctx;
    virtio_net_fill_config(n);
    return 0;
}

/* ---- transmission ---- */

/* 5.1.6.2.1: nothing the device would have to do for the frame (no checksum, no segmentation). */
static bool virtio_net_tx_hdr_ok(const u8 *hdr)
{
    return !(hdr[HDR_flags] & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
           hdr[HDR_gso_type] == VIRTIO_NET_HDR_GSO_NONE;
}

static int virtio_net_tx_drop(struct virtio_net *n)
{
    n->stats.tx_dropped++;
    return 0;
}

/*
 * The chain in n->tx_chain: its frame passed to tx(), or dropped and
 * counted (0), or a negative VIRTQ_ERR_* if the chain breaks the queue.
 */
static int virtio_net_tx_one(struct virtio_net *n)
{
    struct virtq_chain *c = &n->tx_chain;
    u8 hdr[VIRTIO_NET_HDR_SIZE];
    u32 len;

    if (c->nread != c->nseg)
        return -VIRTQ_ERR_FRAMING; /* a device-writable buffer on the transmit queue */
    if (c->read_len < VIRTIO_NET_HDR_SIZE)
        return virtio_net_tx_drop(n);
    len = c->read_len - VIRTIO_NET_HDR_SIZE;
    if (len < ETH_HLEN || len > VIRTIO_NET_BOUNCE)
        return virtio_net_tx_drop(n);
    if (!virtq_chain_read(c, 0, hdr, sizeof(hdr)))
        return -VIRTQ_ERR_MEM;
    if (!virtio_net_tx_hdr_ok(hdr))
        return virtio_net_tx_drop(n);
    if (!virtq_chain_read(c, VIRTIO_NET_HDR_SIZE, n->bounce, len))
        return -VIRTQ_ERR_MEM;
    if (!eth_frame_len_ok(n->bounce, len))
        return virtio_net_tx_drop(n); /* over 1514 bytes without an 802.1Q tag */
    n->stats.tx_packets++;
    n->stats.tx_bytes += len;
    n->tx(n->ctx, n->bounce, len);
    return 0;
}

/* transmitq1 was notified: every chain available, in order, each handed back with len 0. */
static int virtio_net_transmit(struct virtio_net *n, struct virtq *vq)
{
    int rc, err;

    while ((rc = virtq_pop(vq, &n->tx_chain)) > 0) {
        err = virtio_net_tx_one(n);
        if (!err)
            err = virtq_push(vq, n->tx_chain.head, 0); /* 5.1.6.2: nothing written */
        if (err) {
            n->stats.bad_chains++;
            return err;
        }
    }
    if (rc < 0)
        n->stats.bad_chains++;
    return rc;
}

/* ---- reception ---- */

/*
 * Fills the chain in n->rx_chain with the frame, or hands it back unused
 * if too small; either way pushes it. 0, or a negative VIRTQ_ERR_*.
 */
static int virtio_net_rx_one(struct virtio_net *n, struct virtq *vq, const u8 *frame, u32 len)
{
    struct virtq_chain *c = &n->rx_chain;
    u8 hdr[VIRTIO_NET_HDR_SIZE] = { 0 };
    int err;

    if (c->nread)
        return -VIRTQ_ERR_FRAMING; /* a device-readable buffer on the receive queue */
    if (c->write_len < VIRTIO_NET_HDR_SIZE || c->write_len - VIRTIO_NET_HDR_SIZE < len) {
        n->stats.rx_short++;
        n->stats.rx_dropped++;
        return virtq_push(vq, c->head, 0);
    }
    put_le16(hdr + HDR_num_buffers, 1); /* 5.1.6.4.1, without VIRTIO_NET_F_MRG_RXBUF */
    if (!virtq_chain_write(c, 0, hdr, sizeof(hdr)) ||
        !virtq_chain_write(c, VIRTIO_NET_HDR_SIZE, frame, len))
        return -VIRTQ_ERR_MEM;
    err = virtq_push(vq, c->head, VIRTIO_NET_HDR_SIZE + len);
    if (err)
        return err;
    n->stats.rx_packets++;
    n->stats.rx_bytes += len;
    return 0;
}

/* receiveq1, if @t is this device's transport and it may take frames now; else NULL. */
static struct virtq *virtio_net_rx_queue(struct virtio_net *n, struct virtio_mmio *t)
{
    struct virtq *vq;

    if (t->ops != &virtio_net_ops || t->dev != n || !virtio_mmio_live(t))
        return NULL;
    vq = virtio_mmio_queue(t, VIRTIO_NET_RX_QUEUE);
    return vq && virtq_ready(vq) ? vq : NULL;
}

bool virtio_net_deliver(struct virtio_net *n, struct virtio_mmio *t, const u8 *frame, u32 len)
{
    struct virtq *vq = virtio_net_rx_queue(n, t);
    int rc;

    if (!vq || !eth_frame_len_ok(frame, len)) {
        n->stats.rx_dropped++;
        return true;
    }
    rc = virtq_pop(vq, &n->rx_chain);
    if (rc == 0) {
        n->stats.rx_no_buffer++;
        return false;
    }
    if (rc > 0)
        rc = virtio_net_rx_one(n, vq, frame, len);
    if (rc < 0) {
        n->stats.bad_chains++;
        n->stats.rx_dropped++;
        virtio_mmio_device_error(t, VIRTIO_NET_RX_QUEUE, rc);
        return true;
    }
    virtio_mmio_used(t, VIRTIO_NET_RX_QUEUE);
    return true;
}

/* ---- the transport's side ---- */

static int virtio_net_queue_notify(void *dev, struct virtio_mmio *t, unsigned int q)
{
    struct virtio_net *n = dev;

    if (q == VIRTIO_NET_TX_QUEUE)
        return virtio_net_transmit(n, virtio_mmio_queue(t, q));
    /* receiveq1: buffers to fill, probably; the caller has the frames. */
    if (n->rx_ready)
        n->rx_ready(n->ctx);
    return 0;
}

static u64 virtio_net_features(void *dev)
{
    (void)dev;
    return BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MTU);
}

static void virtio_net_config_read(void *dev, u32 offset, void *buf, unsigned int len)
{
    const struct virtio_net *n = dev;

    memcpy(buf, n->config + offset, len);
}

/* Frames are handled to completion inside each call: nothing is in flight. */
static void virtio_net_reset(void *dev)
{
    (void)dev;
}

const struct virtio_dev_ops virtio_net_ops = {
    .device_id = VIRTIO_ID_NET,
    .num_queues = VIRTIO_NET_NUM_QUEUES,
    .queue_num_max = VIRTIO_NET_QUEUE_SIZE,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .features = virtio_net_features,
    .config_read = virtio_net_config_read,
    .queue_notify = virtio_net_queue_notify,
    .reset = virtio_net_reset,
};
