/*
 * virtio-net (src/vdev/virtio_net.c) behind the virtio-mmio transport over
 * split virtqueues, one port of a network whose forwarding table
 * (src/vdev/vswitch.c) and port queue (src/vdev/netq.c) are the real
 * ones, in a fake VM of three memory chunks (two adjacent, one past a
 * hole: tests/unit/virtio's fake_guest). The other three ports of the
 * network are played by the harness. Driven by:
 *  - register reads and writes of every width, at real registers, the
 *    configuration space and anywhere near the window;
 *  - a Linux-like driver (probe with random features, both queues at
 *    random sizes and places, DRIVER_OK), then: frames transmitted with
 *    every length around the limits, headers clean or asking for offloads,
 *    cut into 1-62 buffers, direct or indirect, alone or four behind one
 *    notification; receive chains of every size around 1526/1530, cut
 *    into 1-4 buffers; now and then a chain of the wrong direction;
 *  - frames for the VM, delivered at once or queued (netq) and drained by
 *    rx_ready() from inside the transport's call, straight or through the
 *    switch from the other ports (sources and destinations from a small
 *    pool of addresses, pinned or not, group, zero, reserved), and bursts
 *    from made-up sources past a port's quota;
 *  - hostile steps: chains written by hand into either queue (any address,
 *    length, flags, next, head, available idx), bytes scribbled over the
 *    rings;
 *  - interrupt acknowledgements, guest and VM resets, ports of the switch
 *    removed and added.
 *
 * After every step:
 *  - the device never asked for a byte outside the VM, never split an
 *    aligned ring access across chunks; Status holds only the spec's bits,
 *    FEATURES_OK only for a subset of the offer with VIRTIO_F_VERSION_1;
 *    the line irq() reported is InterruptStatus != 0;
 *  - DEVICE_NEEDS_RESET was reported through error() once, and while it
 *    stays set the device touches no guest memory and transmits nothing;
 *  - tx() got only frames keel/ether.h allows, from the bounce buffer, as
 *    many as tx_packets says;
 *  - the configuration space reads as 5.1.4 says, written again here;
 *  - the switch: an address is learned on one port at most, never one
 *    pinned to an attached port, never on a detached port; a forward's
 *    mask never holds its own port or a detached one, and a refused frame
 *    has none; a burst from one port never moves another port's address.
 * And while only the well-formed driver has acted since its probe
 * ("clean"): each transmitted frame reaches tx() byte for byte exactly
 * when the header and length rules say it may, and every chain comes back
 * with a used length of 0; each frame delivered lands in the next receive
 * chain with the header of zeros and num_buffers 1, byte for byte, with
 * the used length header + frame, or comes back unused from a chain too
 * small, or waits (false) when none is posted, or is dropped when the
 * device is not live, exactly as keel/virtio_net.h says, with a used
 * buffer notification for each chain; a chain of the wrong direction (a
 * device-writable buffer to transmit, a device-readable one to receive
 * into) breaks its queue with VIRTQ_ERR_FRAMING; otherwise the device
 * never writes the descriptor tables or available rings and never needs
 * a reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel/ether.h>
#include <keel/netq.h>
#include <keel/virtio_mmio.h>
#include <keel/virtio_net.h>
#include <keel/virtq.h>
#include <keel/vswitch.h>

#include "fuzz_virtio.h"

/* The fake VM: A and B adjacent (the heaps), C past a hole (the rings). */
#define RAM_A 0x40000000ULL
#define RAM_B 0x40008000ULL
#define RAM_HOLE 0x40010000ULL
#define RAM_C 0x40020000ULL
#define RAM_END 0x40028000ULL
#define RX_HEAP_LO RAM_A
#define RX_HEAP_HI (RAM_A + 0x9000) /* across the A/B boundary */
#define TX_HEAP_LO RX_HEAP_HI
#define TX_HEAP_HI RAM_HOLE
#define RX_RING RAM_C
#define TX_RING (RAM_C + 0x4000)
#define QMAX VIRTIO_NET_QUEUE_SIZE
#define HDR VIRTIO_NET_HDR_SIZE
#define PEERS 4       /* switch ports: 0 is the device, 1-3 the harness */
#define POOL 8        /* station addresses; pool[0] is the device's */
#define MAX_POSTED 16 /* receive chains outstanding */

static struct fake_mem mem;
static struct fake_drv rxd, txd;
static struct virtio_mmio t;
static struct virtio_net net;
static struct vswitch sw;
static struct netq pending; /* frames for port 0 waiting for a receive buffer */

static bool line;      /* what irq() last said */
static bool reported;  /* error() said so since DEVICE_NEEDS_RESET was last clear */
static int last_err;   /* and with what, on which queue */
static unsigned int last_err_queue;
static bool clean;     /* only the well-formed driver since its probe: predictions hold */
static bool driver_up; /* the fake driver has both queues live */
static u64 tx_calls;
static u8 sent[4][ETH_FRAME_MAX]; /* the last frames tx() got, for a batch */
static u32 sent_len[4];
static u8 pool[POOL][ETH_ALEN];
static const u32 hostile_lens[] = { 0, 1, 11, 12, 13, 26, 1526, 1530, 1531, 4096, 0xffffffff };
static const struct vfuzz_vm vm = {
    &mem, RAM_A, RAM_B, RAM_HOLE, RAM_C, RAM_END, hostile_lens, ARRAY_SIZE(hostile_lens),
};

/* Receive chains the fake driver made available, oldest first. */
struct posted {
    u16 head;
    unsigned int n;
    u64 gpa[4];
    u32 len[4];
    u32 total;
};
static struct posted posted[MAX_POSTED];
static unsigned int p_head, p_count;

/* keel/ether.h's length rule, written again: 14 to 1514 bytes, 1518 behind an 802.1Q tag. */
static bool carried(const u8 *frame, u32 len)
{
    if (len < 14 || len > 1518)
        return false;
    return len <= 1514 || (frame[12] == 0x81 && frame[13] == 0x00);
}

/* ---- callbacks ---- */

static void on_error(void *ctx, unsigned int queue, int err)
{
    FUZZ_CHECK(err < 0 && err > -VIRTQ_ERR_COUNT, "error() with code %d", err);
    FUZZ_CHECK(queue < VIRTIO_NET_NUM_QUEUES, "error() for queue %u", queue);
    FUZZ_CHECK(t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "error() without DEVICE_NEEDS_RESET");
    FUZZ_CHECK(!reported, "error() twice for one DEVICE_NEEDS_RESET");
    reported = true;
    last_err = err;
    last_err_queue = queue;
}

static void check_forward(unsigned int in, int rc, u32 mask)
{
    FUZZ_CHECK(rc <= 0 && rc > -VSWITCH_ERR_COUNT, "vswitch_forward() returned %d", rc);
    FUZZ_CHECK(!(mask & BIT(in)), "mask %#x holds its own port %u", mask, in);
    FUZZ_CHECK(!(mask & ~vswitch_ports(&sw)), "mask %#x holds a detached port", mask);
    FUZZ_CHECK(!rc || !mask, "refused (%d) with mask %#x", rc, mask);
}

/* The VM transmitted: into the network as port 0 (the other ports are played here). */
static void on_tx(void *ctx, const u8 *frame, u32 len)
{
    u32 mask;
    int rc;

    FUZZ_CHECK(frame == net.bounce, "tx() not from the bounce buffer");
    FUZZ_CHECK(carried(frame, len), "tx() with a frame of %u bytes", len);
    memcpy(sent[tx_calls % 4], frame, len);
    sent_len[tx_calls % 4] = len;
    tx_calls++;
    rc = vswitch_forward(&sw, 0, frame, len, &mask);
    check_forward(0, rc, mask);
}

/* ---- receiving, predicted ---- */

static bool rx_queue_ready(void)
{
    return virtio_mmio_live(&t) && virtq_ready(&t.queue[VIRTIO_NET_RX_QUEUE].vq);
}

/* The next receive chain came back with @used bytes: check it against the frame. */
static void check_received(const struct posted *p, const u8 *frame, u32 len, u32 used)
{
    static const u8 hdr[HDR] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    static u8 got[HDR + ETH_FRAME_MAX];
    u32 off = 0;
    u16 id;
    u32 ulen;

    FUZZ_CHECK(fake_drv_get_used(&rxd, &id, &ulen), "no used receive chain");
    FUZZ_CHECK(id == p->head && ulen == used, "receive chain %u used %u, want %u used %u", id,
               ulen, p->head, used);
    FUZZ_CHECK(t.interrupt_status & VIRTIO_MMIO_INT_VRING, "no used buffer notification");
    if (!used)
        return;
    for (unsigned int i = 0; i < p->n && off < used; i++) {
        u32 k = MIN(p->len[i], used - off);

        guest_read(&mem, p->gpa[i], got + off, k);
        off += k;
    }
    FUZZ_CHECK(!memcmp(got, hdr, HDR) && !memcmp(got + HDR, frame, len),
               "received frame of %u bytes differs", len);
}

/*
 * virtio_net_deliver(), and while clean, what keel/virtio_net.h says it
 * does: dropped when not live or the frame is not carried; false when no
 * chain is posted; else the oldest chain, filled or handed back unused.
 */
static bool deliver_checked(const u8 *frame, u32 len)
{
    struct virtio_net_stats before = net.stats;
    bool ok_len = carried(frame, len), ready = rx_queue_ready(), r;
    const struct posted *p = p_count ? &posted[p_head] : NULL;

    r = virtio_net_deliver(&net, &t, frame, len);
    if (!clean)
        return r;
    if (!ready || !ok_len) {
        FUZZ_CHECK(r && net.stats.rx_dropped == before.rx_dropped + 1,
                   "frame of %u bytes not dropped (ready %d)", len, ready);
        return r;
    }
    if (!p) {
        FUZZ_CHECK(!r && net.stats.rx_no_buffer == before.rx_no_buffer + 1,
                   "no buffer, but deliver() said %d", r);
        return r;
    }
    FUZZ_CHECK(r, "a chain posted, but deliver() said false");
    if (p->total < HDR + len) {
        FUZZ_CHECK(net.stats.rx_short == before.rx_short + 1, "short chain not counted");
        check_received(p, frame, len, 0);
    } else {
        FUZZ_CHECK(net.stats.rx_packets == before.rx_packets + 1, "delivery not counted");
        check_received(p, frame, len, HDR + len);
    }
    p_head = (p_head + 1) % MAX_POSTED;
    if (!--p_count)
        fake_drv_heap_reset(&rxd);
    return r;
}

/* A frame for port 0: behind the ones waiting, or to the device at once. */
static void port0_receive(const u8 *frame, u32 len)
{
    if (netq_count(&pending) || !deliver_checked(frame, len))
        netq_push(&pending, frame, len);
}

/* The driver notified receiveq1: drain what waits for it, from inside the transport's call. */
static void on_rx_ready(void *ctx)
{
    const u8 *frame;
    u32 len;

    while ((frame = netq_peek(&pending, &len)) && deliver_checked(frame, len))
        netq_pop(&pending);
}

/* ---- what the spec says, written again ---- */

static u64 offered(void)
{
    return (1ULL << 32) | (1ULL << 28) | (1ULL << 29) | (1ULL << 3) | (1ULL << 5) | (1ULL << 16);
}

/* struct virtio_net_config (5.1.4): mac, status 1, max_virtqueue_pairs 1, mtu 1500. */
static u8 config_byte(u64 off)
{
    static const u8 tail[6] = { 1, 0, 1, 0, 0xdc, 0x05 };

    if (off < 6)
        return pool[0][off];
    return off < 12 ? tail[off - 6] : 0;
}

/* The value a register read must give, or false if it is state checked elsewhere. */
static bool expected_reg(u64 off, u32 *v)
{
    switch (off) {
    case 0x000:
        *v = 0x74726976;
        return true;
    case 0x004:
        *v = 2;
        return true;
    case 0x008:
        *v = 1;
        return true;
    case 0x00c:
        *v = 0x4c45454b;
        return true;
    case 0x010:
        *v = t.device_features_sel > 1 ? 0 : (u32)(offered() >> (32 * t.device_features_sel));
        return true;
    case 0x034:
        *v = t.queue_sel < 2 ? QMAX : 0;
        return true;
    case 0x044:
        *v = t.queue_sel < 2 && t.queue[t.queue_sel].vq.size;
        return true;
    case 0x060:
    case 0x070:
    case 0x0fc:
    case 0x0b0:
    case 0x0b4:
    case 0x0b8:
    case 0x0bc:
        return false;
    }
    *v = 0; /* write-only registers, QueueReset, offsets no register occupies */
    return true;
}

/* ---- invariants ---- */

static void check_switch(void)
{
    for (unsigned int i = 0; i < VSWITCH_MAX_PORTS; i++) {
        const struct vswitch_port *p = &sw.port[i];

        for (unsigned int j = 0; j < VSWITCH_PORT_MACS; j++) {
            const struct vswitch_fdb_entry *e = &p->fdb[j];

            if (!e->valid)
                continue;
            FUZZ_CHECK(p->attached, "port %u detached with an entry", i);
            FUZZ_CHECK(eth_is_station(e->mac), "a group or zero address learned");
            FUZZ_CHECK(vswitch_lookup(&sw, e->mac) == (int)i, "address learned twice or pinned");
            for (unsigned int k = 0; k < VSWITCH_MAX_PORTS; k++)
                FUZZ_CHECK(!sw.port[k].attached || !sw.port[k].pinned ||
                               !eth_equal(sw.port[k].mac, e->mac),
                           "a pinned address learned on port %u", i);
            for (unsigned int k = j + 1; k < VSWITCH_PORT_MACS; k++)
                FUZZ_CHECK(!p->fdb[k].valid || !eth_equal(p->fdb[k].mac, e->mac),
                           "an address twice on port %u", i);
        }
    }
}

static void check_state(void)
{
    vfuzz_check_transport(&t, &mem, offered(), line, &reported, clean);
    FUZZ_CHECK(net.stats.tx_packets == tx_calls, "tx_packets %llu, tx() called %llu times",
               (unsigned long long)net.stats.tx_packets, (unsigned long long)tx_calls);
    FUZZ_CHECK(netq_count(&pending) <= NETQ_LEN, "netq holds %u", netq_count(&pending));
    check_switch();
}

/* ---- registers ---- */

static const u64 regs[] = {
    0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044,
    0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0,
    0x0b4, 0x0b8, 0x0bc, 0x0c0, 0x0fc, 0x070, 0x050, 0x050, 0x030, 0x044,
};
static const unsigned int sizes[] = { 4, 4, 4, 4, 1, 2, 8, 0, 3 };

static u64 pick_offset(struct fuzz_in *in)
{
    return vfuzz_pick_offset(in, regs, ARRAY_SIZE(regs), 0x18);
}

static u32 pick_value(struct fuzz_in *in)
{
    static const u32 status[] = { 0, 1, 3, 0xb, 0xf, 0x4, 0x7, 0x8, 0x40, 0x80, 0xcf, 0xff };
    unsigned int k = fin_u8(in) % 8;
    u64 v;

    switch (k) {
    case 0:
        return fin_u8(in) % 4; /* queue indices, mostly */
    case 1:
        return 1U << (fin_u8(in) % 32);
    case 2:
        return fin_pick(in, status);
    case 3:
        v = RAM_A + (fin_u16(in) % 0x290) * 0x100;
        return (u32)v;
    case 4:
        v = offered() >> (fin_bool(in) ? 32 : 0);
        return (u32)v & fin_u32(in);
    case 5:
        return 0xffffffff;
    }
    return fin_u32(in);
}

static void do_read(u64 off, unsigned int size)
{
    vfuzz_read(&t, off, size, config_byte, expected_reg);
}

static void do_write(u64 off, unsigned int size, u32 v)
{
    if (!vfuzz_write(&t, off, size, v))
        clean = driver_up = false;
}

/* ---- frames ---- */

static u8 frame_buf[2100];

static void pick_addr(struct fuzz_in *in, u8 *mac, unsigned int k)
{
    static const u8 odd[4][ETH_ALEN] = {
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
        { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e }, { 0 },
    };
    static const u8 more[ETH_ALEN] = { 0x02, 0x4b, 0x00, 0x00, 0x00, 0x00 };

    if (k < POOL)
        memcpy(mac, pool[k], ETH_ALEN);
    else if (k < POOL + 4)
        memcpy(mac, odd[k - POOL], ETH_ALEN);
    else {
        memcpy(mac, more, ETH_ALEN);
        mac[5] = fin_u8(in);
    }
}

/*
 * A frame: a length around the limits, addresses from the pool (or group,
 * zero, reserved, or one of 256 more, to overflow a port's quota).
 */
static u32 pick_frame(struct fuzz_in *in)
{
    static const u32 lens[] = { 0, 6, 13, 14, 42, 60, 64, 590, 1514, 1515, 1516, 1518, 1519, 2000 };
    u32 len = fin_u8(in) < 200 ? fin_pick(in, lens) : fin_u16(in) % sizeof(frame_buf);
    unsigned int d = fin_u8(in) % (POOL + 5), s = fin_u8(in) % (POOL + 5);
    bool tagged = fin_bool(in);
    u8 seed = fin_u8(in);

    memset(frame_buf, 0, ETH_HLEN);
    pick_addr(in, frame_buf + ETH_DEST, d);
    pick_addr(in, frame_buf + ETH_SOURCE, s);
    frame_buf[ETH_TYPE] = tagged ? 0x81 : 0x08;
    frame_buf[ETH_TYPE + 1] = 0;
    for (u32 i = ETH_HLEN; i < sizeof(frame_buf); i++)
        frame_buf[i] = (u8)(i * 7 + seed);
    return len;
}

/* Cuts @total bytes into @n pieces (some may be 0 bytes) at random points. */
static void pick_cuts(struct fuzz_in *in, u32 total, unsigned int n, u32 *cut)
{
    u32 left = total;

    for (unsigned int i = 0; i + 1 < n; i++) {
        u32 small;

        cut[i] = left ? fin_u16(in) % (left + 1) : 0;
        if (fin_u8(in) < 64) {
            small = fin_u8(in) % 16; /* small ones, around the header (MIN reads twice) */
            cut[i] = MIN(left, small);
        }
        left -= cut[i];
    }
    cut[n - 1] = left;
}

static bool descs_for(const struct fake_drv *d, unsigned int n)
{
    return d->num_free >= (d->use_indirect && d->indirect && n > 1 ? 1 : n);
}

/* ---- the well-formed driver ---- */

static void do_probe(struct fuzz_in *in)
{
    static const u64 wants[] = {
        (1ULL << 32) | (1ULL << 28) | (1ULL << 29) | (1ULL << 3) | (1ULL << 5) | (1ULL << 16) |
            0xffffULL,
        (1ULL << 32) | (1ULL << 5), (1ULL << 32), (1ULL << 32) | (1ULL << 29),
        (1ULL << 32) | (1ULL << 28), ~0ULL, 0, (1ULL << 15) | (1ULL << 5),
    };
    u64 want = fin_u8(in) < 220 ? fin_pick(in, wants) : fin_u64(in);
    u32 rnum = 1U << (fin_u8(in) % 9), tnum = 1U << (fin_u8(in) % 9);
    u64 rbase = RX_RING + 16 * (u64)(fin_u8(in) % 32), tbase = TX_RING + 16 * (u64)(fin_u8(in) % 32);
    bool ok;

    ok = fake_drv_negotiate_pair(&rxd, &txd, &t, &mem, want);
    FUZZ_CHECK(ok == !!(want & offered() & (1ULL << 32)), "FEATURES_OK %d for %#llx", ok,
               (unsigned long long)want);
    clean = driver_up = false;
    p_head = p_count = 0;
    if (!ok)
        return;
    FUZZ_CHECK(fake_drv_setup_queue(&rxd, VIRTIO_NET_RX_QUEUE, rnum, rbase, RX_HEAP_LO, RX_HEAP_HI),
               "receiveq1");
    FUZZ_CHECK(fake_drv_setup_queue(&txd, VIRTIO_NET_TX_QUEUE, tnum, tbase, TX_HEAP_LO, TX_HEAP_HI),
               "transmitq1");
    mem.nforbid = 0;
    fake_drv_watch(&rxd);
    fake_drv_watch(&txd);
    fake_mem_clear_counts(&mem);
    clean = driver_up = true;
    fake_drv_driver_ok(&rxd); /* rx_ready() runs: waiting frames find no chain */
}

struct tx_req {
    u8 bytes[HDR + sizeof(frame_buf)];
    u32 total;
    bool pass;
};

/* A transmit chain's bytes and whether tx() must get its frame (keel/virtio_net.h). */
static void pick_tx(struct fuzz_in *in, struct tx_req *r)
{
    u32 len = pick_frame(in);
    u8 *h = r->bytes;
    bool hdr_ok;

    memset(h, 0, HDR);
    if (fin_u8(in) >= 200) {
        h[0] = fin_u8(in);                       /* flags */
        h[1] = fin_u8(in) < 128 ? 0 : fin_u8(in); /* gso_type */
        h[10] = fin_u8(in);                      /* num_buffers: ignored */
    }
    hdr_ok = !(h[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) && h[1] == VIRTIO_NET_HDR_GSO_NONE;
    memcpy(r->bytes + HDR, frame_buf, len);
    r->total = HDR + len;
    if (fin_u8(in) < 8)
        r->total = fin_u8(in) % HDR; /* not even a header */
    r->pass = r->total >= HDR && hdr_ok && carried(frame_buf, len);
}

/* Adds @r's bytes as one chain cut into @n buffers on the transmit heap; false if no room. */
static bool add_tx(struct fuzz_in *in, const struct tx_req *r, unsigned int n)
{
    struct fake_sg sg[VIRTQ_MAX_SEGS];
    u32 cut[VIRTQ_MAX_SEGS], off = 0;

    if (!descs_for(&txd, n) || txd.heap_hi - txd.heap < r->total + 80 * (u64)n + 64)
        return false;
    pick_cuts(in, r->total, n, cut);
    for (unsigned int i = 0; i < n; i++) {
        sg[i].gpa = fake_drv_alloc(&txd, cut[i] ? cut[i] : 1, 8);
        sg[i].len = cut[i];
        fake_drv_alloc(&txd, 8 * (i % 4), 8);
        guest_write(&mem, sg[i].gpa, r->bytes + off, cut[i]);
        off += cut[i];
    }
    fake_drv_add(&txd, sg, n, 0);
    return true;
}

/* Up to @max chains behind one notification: each reaches tx() exactly when it may. */
static void do_transmit(struct fuzz_in *in, unsigned int max)
{
    static struct tx_req r[4];
    unsigned int n = 1 + fin_u8(in) % max, added = 0, many = fin_bool(in) ? 62 : 4;
    u64 calls = tx_calls, dropped = net.stats.tx_dropped, want_calls = 0;
    u16 id;
    u32 len;

    txd.use_indirect = fin_bool(in);
    for (unsigned int i = 0; i < n; i++) {
        pick_tx(in, &r[added]);
        if (add_tx(in, &r[added], 1 + fin_u8(in) % many))
            added++;
    }
    if (!added)
        return;
    FUZZ_CHECK(fake_drv_kick_needed(&txd), "the device did not ask for a notification");
    fake_drv_kick(&txd);
    for (unsigned int i = 0; i < added; i++) {
        FUZZ_CHECK(fake_drv_get_used(&txd, &id, &len), "transmit chain %u not used", i);
        FUZZ_CHECK(len == 0, "transmit chain used with %u bytes", len);
        if (!r[i].pass)
            continue;
        FUZZ_CHECK(sent_len[(calls + want_calls) % 4] == r[i].total - HDR &&
                       !memcmp(sent[(calls + want_calls) % 4], r[i].bytes + HDR, r[i].total - HDR),
                   "frame %u of the batch differs", i);
        want_calls++;
    }
    FUZZ_CHECK(!fake_drv_get_used(&txd, &id, &len), "more used than made available");
    FUZZ_CHECK(tx_calls == calls + want_calls, "tx() %llu times, want %llu",
               (unsigned long long)(tx_calls - calls), (unsigned long long)want_calls);
    FUZZ_CHECK(net.stats.tx_dropped == dropped + added - want_calls, "tx_dropped off");
    FUZZ_CHECK(t.interrupt_status & VIRTIO_MMIO_INT_VRING, "no used buffer notification");
    fake_drv_heap_reset(&txd);
}

/* Receive chains made available (sizes around 1526/1530), then a notification if asked for. */
static void do_post(struct fuzz_in *in)
{
    static const u32 sizes_rx[] = { 1530, 1530, 1526, 1518, 2048, 612, 100, 26, 12, 11, 1 };
    unsigned int n = 1 + fin_u8(in) % 4;

    rxd.use_indirect = fin_bool(in);
    for (unsigned int i = 0; i < n && p_count < MAX_POSTED; i++) {
        struct posted *p = &posted[(p_head + p_count) % MAX_POSTED];
        struct fake_sg sg[4];
        u32 total = fin_u8(in) < 220 ? fin_pick(in, sizes_rx) : 1 + fin_u16(in) % 2100;

        p->n = 1 + fin_u8(in) % 4;
        if (!descs_for(&rxd, p->n) || rxd.heap_hi - rxd.heap < total + 32 * (u64)p->n + 64)
            break;
        pick_cuts(in, total, p->n, p->len);
        p->total = total;
        for (unsigned int k = 0; k < p->n; k++) {
            p->gpa[k] = fake_drv_alloc(&rxd, p->len[k] ? p->len[k] : 1, 8);
            fake_drv_alloc(&rxd, 8, 8);
            guest_fill(&mem, p->gpa[k], 0xee, p->len[k]);
            sg[k] = (struct fake_sg){ p->gpa[k], p->len[k] };
        }
        p->head = fake_drv_add(&rxd, sg, 0, p->n);
        p_count++;
    }
    fake_drv_kick_if_needed(&rxd); /* rx_ready(): what waits is delivered now */
}

/*
 * A well-formed ring, but a chain of the wrong direction: a device-writable
 * buffer on transmitq1, or a device-readable one on receiveq1. Either
 * breaks its queue (VIRTQ_ERR_FRAMING), and nothing reaches tx().
 */
static void do_misframed(struct fuzz_in *in)
{
    bool on_tx = fin_bool(in);
    struct fake_drv *d = on_tx ? &txd : &rxd;
    struct fake_sg sg[2];
    u64 calls = tx_calls;
    u32 len;

    d->use_indirect = fin_bool(in);
    if (!descs_for(d, 2) || d->heap_hi - d->heap < 2 * 1600 + 64 ||
        (!on_tx && (p_count || netq_count(&pending))))
        return;
    len = pick_frame(in);
    sg[0] = (struct fake_sg){ fake_drv_alloc(d, HDR + 1518, 8), HDR + 1518 };
    sg[1] = (struct fake_sg){ fake_drv_alloc(d, 1530, 8), 1530 };
    guest_write(&mem, sg[0].gpa, frame_buf, HDR + 1518);
    fake_drv_add(d, sg, 1, 1);
    if (on_tx) {
        fake_drv_kick(d);
    } else {
        if (!carried(frame_buf, len))
            len = 60;
        FUZZ_CHECK(virtio_net_deliver(&net, &t, frame_buf, len), "deliver() said false");
    }
    FUZZ_CHECK((t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && last_err == -VIRTQ_ERR_FRAMING &&
                   last_err_queue == (on_tx ? VIRTIO_NET_TX_QUEUE : VIRTIO_NET_RX_QUEUE),
               "misframed chain on queue %u: Status %#x, error %d on %u", on_tx, t.status,
               last_err, last_err_queue);
    FUZZ_CHECK(tx_calls == calls, "a misframed chain was transmitted");
    clean = driver_up = false;
}

/* ---- the network ---- */

/* A frame from one of the harness's ports through the switch; port 0's share goes to the VM. */
static void do_peer_frame(struct fuzz_in *in)
{
    unsigned int from = 1 + fin_u8(in) % (PEERS - 1);
    u32 len = pick_frame(in), mask = 0;
    int rc = vswitch_forward(&sw, from, frame_buf, len, &mask);

    check_forward(from, rc, mask);
    FUZZ_CHECK(sw.port[from].attached || rc == -VSWITCH_ERR_PORT, "frame from a detached port: %d",
               rc);
    if (mask & 1)
        port0_receive(frame_buf, len);
}

/*
 * A burst of frames from one port with made-up sources, more than its quota
 * holds (a MAC flood): every other port's entries must stay.
 */
static void do_peer_burst(struct fuzz_in *in)
{
    unsigned int from = 1 + fin_u8(in) % (PEERS - 1), n = 1 + fin_u8(in) % 32;
    u8 base = fin_u8(in);
    int before[POOL];
    u32 mask;
    int rc;

    for (unsigned int i = 0; i < POOL; i++)
        before[i] = vswitch_lookup(&sw, pool[i]);
    for (unsigned int i = 0; i < n; i++) {
        static const u8 src[ETH_ALEN] = { 0x02, 0x4b, 0x00, 0x00, 0x01, 0x00 };
        static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

        memset(frame_buf, 0, 60);
        memcpy(frame_buf + ETH_DEST, i & 1 ? pool[0] : bcast, ETH_ALEN);
        memcpy(frame_buf + ETH_SOURCE, src, ETH_ALEN);
        frame_buf[ETH_SOURCE + 5] = (u8)(base + i);
        frame_buf[ETH_TYPE] = 0x08;
        rc = vswitch_forward(&sw, from, frame_buf, 60, &mask);
        check_forward(from, rc, mask);
        if (mask & 1)
            port0_receive(frame_buf, 60);
    }
    for (unsigned int i = 0; i < POOL; i++)
        FUZZ_CHECK(before[i] < 0 || before[i] == (int)from ||
                       vswitch_lookup(&sw, pool[i]) == before[i],
                   "a flood from port %u took address %u from port %d", from, i, before[i]);
}

/* The lowest port index free, or -1. */
static int free_port(void)
{
    for (unsigned int i = 0; i < VSWITCH_MAX_PORTS; i++)
        if (!sw.port[i].attached)
            return (int)i;
    return -1;
}

/* A peer port removed, then (with a pinned address or none) attached again, or left out. */
static void do_port_churn(struct fuzz_in *in)
{
    unsigned int port = 1 + fin_u8(in) % (PEERS - 1), k = fin_u8(in) % (POOL + 2);
    const u8 *mac = k < POOL ? pool[k] : NULL;
    int owner, expect, got;

    vswitch_port_del(&sw, port);
    for (unsigned int i = 0; i < POOL; i++)
        FUZZ_CHECK(vswitch_lookup(&sw, pool[i]) != (int)port, "port %u remembered", port);
    if (k == POOL + 1)
        return; /* left detached: its frames are refused */
    owner = mac ? vswitch_lookup(&sw, mac) : -1;
    expect = owner >= 0 && sw.port[owner].pinned && eth_equal(sw.port[owner].mac, mac) ? -1 :
                                                                                        free_port();
    got = vswitch_port_add(&sw, mac);
    FUZZ_CHECK(got == expect, "vswitch_port_add() gave %d, want %d", got, expect);
    if (got >= 0)
        FUZZ_CHECK(!mac || vswitch_lookup(&sw, mac) == got, "pin not taken");
}

/* ---- hostile steps ---- */

/* A chain written by hand into either queue's table (or an indirect table), made available. */
static void do_hostile_chain(struct fuzz_in *in)
{
    unsigned int q = fin_u8(in) & 1, n = 1 + fin_u8(in) % 6;
    const struct virtq *vq = &t.queue[q].vq;
    u64 table = RAM_A + 16 * (u64)(fin_u8(in) % 64);
    struct fake_drv *d = q ? &txd : &rxd;

    if (!vq->size)
        return;
    vfuzz_hostile_chain(in, &vm, d, vq, table, n);
    clean = driver_up = false;
    do_write(0x050, 4, q);
}

/* Bytes scribbled over a queue's areas or anywhere in the VM. */
static void do_scribble(struct fuzz_in *in)
{
    vfuzz_scribble(in, &vm, &t.queue[fin_u8(in) & 1].vq);
    clean = driver_up = false;
    if (fin_bool(in))
        do_write(0x050, 4, fin_u8(in) & 1);
}

/* ---- the program ---- */

static void start(struct fuzz_in *in)
{
    unsigned int flags = fin_u8(in);

    vfuzz_mem_reset(&vm);
    fake_drv_free(&rxd);
    fake_drv_free(&txd);
    memset(&rxd, 0, sizeof(rxd));
    memset(&txd, 0, sizeof(txd));
    for (unsigned int i = 0; i < POOL; i++) {
        static const u8 base[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x00 };

        memcpy(pool[i], base, ETH_ALEN);
        pool[i][5] = (u8)(i + 1);
    }
    FUZZ_CHECK(!virtio_net_init(&net, pool[0], on_tx, on_rx_ready, NULL), "virtio_net_init");
    FUZZ_CHECK(!virtio_mmio_init(&t, &virtio_net_ops, &net, &mem.ops, vfuzz_on_irq, on_error,
                                 &line),
               "virtio_mmio_init");
    netq_init(&pending);
    FUZZ_CHECK(!vswitch_init(&sw, "fuzz"), "vswitch_init");
    FUZZ_CHECK(vswitch_port_add(&sw, pool[0]) == 0, "port 0");
    for (unsigned int i = 1; i < PEERS; i++) /* flags: which peers have a pinned address */
        FUZZ_CHECK(vswitch_port_add(&sw, flags & BIT(i) ? pool[i] : NULL) == (int)i, "port %u", i);
    line = reported = clean = driver_up = false;
    last_err = 0;
    last_err_queue = 0;
    tx_calls = 0;
    p_head = p_count = 0;
}

static void step(struct fuzz_in *in, unsigned int op)
{
    u64 off;

    switch (op % 16) {
    case 0:
    case 1:
        off = pick_offset(in);
        do_read(off, fin_pick(in, sizes));
        break;
    case 2:
        off = pick_offset(in);
        do_write(off, fin_pick(in, sizes), pick_value(in));
        break;
    case 3:
        do_probe(in);
        break;
    case 4:
        if (clean && driver_up)
            do_transmit(in, 1);
        break;
    case 5:
        if (clean && driver_up)
            do_misframed(in);
        break;
    case 6:
        if (clean && driver_up)
            do_transmit(in, 4);
        break;
    case 7:
        if (clean && driver_up)
            do_post(in);
        break;
    case 8:
    case 9:
        port0_receive(frame_buf, pick_frame(in));
        break;
    case 10:
        if (op & 0x80)
            do_peer_burst(in);
        else
            do_peer_frame(in);
        break;
    case 11:
        do_hostile_chain(in);
        break;
    case 12:
        do_scribble(in);
        break;
    case 13: /* the interrupt handler */
        do_read(0x060, 4);
        do_write(0x064, 4, fin_bool(in) ? t.interrupt_status : fin_u32(in));
        break;
    case 14:
        if (op & 0x80) {
            virtio_mmio_reset(&t); /* the VM's reset: irq() is not called */
            netq_clear(&pending);  /* and what waited for it is gone */
            FUZZ_CHECK(!netq_peek(&pending, &(u32){ 0 }), "netq not empty after a clear");
            line = false;
        } else {
            do_write(0x070, 4, 0);
        }
        clean = driver_up = false;
        break;
    case 15:
        do_port_churn(in);
        break;
    }
}

/* With FUZZ_VERBOSE=1, a line per step: what an input does. */
static void trace(unsigned int op)
{
    if (!vfuzz_verbose())
        return;
    fprintf(stderr,
            "op %2u: Status %#04x int %u clean %d up %d posted %u waiting %u | tx %llu drop %llu "
            "rx %llu drop %llu short %llu nobuf %llu bad %llu\n",
            op % 16, t.status, t.interrupt_status, clean, driver_up, p_count,
            netq_count(&pending), (unsigned long long)net.stats.tx_packets,
            (unsigned long long)net.stats.tx_dropped, (unsigned long long)net.stats.rx_packets,
            (unsigned long long)net.stats.rx_dropped, (unsigned long long)net.stats.rx_short,
            (unsigned long long)net.stats.rx_no_buffer, (unsigned long long)net.stats.bad_chains);
}

static const struct vfuzz_program program = {
    &vm, &t, start, step, check_state, trace, &tx_calls, 16,
};

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    return vfuzz_run(&program, bytes, size);
}
