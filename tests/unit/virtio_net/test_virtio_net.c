/*
 * Host unit tests of the virtual network models: virtio-net
 * (src/vdev/virtio_net.c) behind the virtio-mmio transport, driven by
 * tests/unit/virtio's Linux-like fake driver over discontiguous fake guest
 * memory; the frame FIFO (src/vdev/netq.c); the L2 table
 * (src/vdev/vswitch.c); and the three together as an integrator would wire
 * them, two VMs on one network. Frames are checked byte for byte, and the
 * device never asks for a byte outside the VM nor writes the driver's own
 * areas.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <keel/ether.h>
#include <keel/netq.h>
#include <keel/virtio_mmio.h>
#include <keel/virtio_net.h>
#include <keel/virtq.h>
#include <keel/vswitch.h>

#include "virtio_test_util.h"

/*
 * Guest memory (fake_guest.h's standard layout): the rings in chunk 2, the
 * receive heap in chunk 0, the transmit heap across the end of chunk 1,
 * and a scratch page on each side of the chunk 0/1 boundary for buffers
 * that straddle it. A second VM's device (the network tests) has all its
 * areas in chunk 2.
 */
#define RX_RING FAKE_RAM2
#define TX_RING (FAKE_RAM2 + 0x10000)
#define RX_HEAP_LO FAKE_RAM0
#define RX_HEAP_HI (FAKE_RAM0 + 0x30000)
#define TX_HEAP_LO (FAKE_RAM1 + 0x1000)
#define TX_HEAP_HI FAKE_RAM01_END
#define STRADDLE (FAKE_RAM1 - 0x20) /* 0x20 bytes in chunk 0, the rest in chunk 1 */
#define HOLE FAKE_RAM01_END
#define QNUM 64

/* Feature bits, as the spec numbers them. */
#define NET_F_CSUM (1ULL << 0)
#define NET_F_GUEST_CSUM (1ULL << 1)
#define NET_F_CTRL_GUEST_OFFLOADS (1ULL << 2)
#define NET_F_MTU (1ULL << 3)
#define NET_F_MAC (1ULL << 5)
#define NET_F_GUEST_TSO4 (1ULL << 7)
#define NET_F_GUEST_TSO6 (1ULL << 8)
#define NET_F_HOST_TSO4 (1ULL << 11)
#define NET_F_HOST_TSO6 (1ULL << 12)
#define NET_F_MRG_RXBUF (1ULL << 15)
#define NET_F_STATUS (1ULL << 16)
#define NET_F_CTRL_VQ (1ULL << 17)
#define NET_F_CTRL_RX (1ULL << 18)
#define NET_F_CTRL_VLAN (1ULL << 19)
#define NET_F_GUEST_ANNOUNCE (1ULL << 21)
#define NET_F_MQ (1ULL << 22)
#define NET_F_CTRL_MAC_ADDR (1ULL << 23)
#define NET_OFFERED                                                                             \
    (F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | NET_F_MTU | NET_F_MAC | NET_F_STATUS)
/* What Linux's virtio_net asks for (a subset of its feature table). */
#define LINUX_NET_FEATURES                                                                      \
    (F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | NET_F_CSUM | NET_F_GUEST_CSUM |              \
     NET_F_CTRL_GUEST_OFFLOADS | NET_F_MTU | NET_F_MAC | NET_F_GUEST_TSO4 | NET_F_GUEST_TSO6 |  \
     NET_F_HOST_TSO4 | NET_F_HOST_TSO6 | NET_F_MRG_RXBUF | NET_F_STATUS | NET_F_CTRL_VQ |       \
     NET_F_CTRL_RX | NET_F_CTRL_VLAN | NET_F_GUEST_ANNOUNCE | NET_F_MQ | NET_F_CTRL_MAC_ADDR)

#define HDR 12
#define MAX_SENT 16

static const u8 mac_a[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const u8 mac_b[ETH_ALEN] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
static const u8 mac_c[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c };
static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct fixture {
    struct fake_mem m;
    struct fake_drv rx, tx; /* the driver's two queues */
    struct virtio_mmio t;
    struct virtio_net net;

    u8 sent[MAX_SENT][ETH_FRAME_MAX]; /* what tx() got */
    u32 sent_len[MAX_SENT];
    unsigned int nsent;
    unsigned int rx_ready_calls;
    struct netq *pending; /* rx_ready() drains it into the device, if set */

    struct mmio_events ev;
};

/* ---- fixture ---- */

static void rec_tx(void *ctx, const u8 *frame, u32 len)
{
    struct fixture *f = ctx;

    assert_true(f->nsent < MAX_SENT);
    assert_in_range(len, ETH_HLEN, ETH_FRAME_MAX);
    assert_ptr_equal(frame, f->net.bounce); /* never guest memory */
    memcpy(f->sent[f->nsent], frame, len);
    f->sent_len[f->nsent++] = len;
}

static void rec_rx_ready(void *ctx)
{
    struct fixture *f = ctx;
    const u8 *frame;
    u32 len;

    f->rx_ready_calls++;
    /* Allowed here: delivering to this very device, from inside the transport's call. */
    while (f->pending && (frame = netq_peek(f->pending, &len)) &&
           virtio_net_deliver(&f->net, &f->t, frame, len))
        netq_pop(f->pending);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    fake_mem_init(&f->m);
    assert_int_equal(virtio_net_init(&f->net, mac_a, rec_tx, rec_rx_ready, f), 0);
    assert_int_equal(virtio_mmio_init(&f->t, &virtio_net_ops, &f->net, &f->m.ops,
                                      mmio_events_irq, mmio_events_err, &f->ev),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fake_drv_free(&f->rx);
    fake_drv_free(&f->tx);
    fake_mem_free(&f->m);
    free(f);
    return 0;
}

/* Linux's probe with @want, up to FEATURES_OK: both queues' drivers share the negotiation. */
static void net_negotiate(struct fixture *f, u64 want)
{
    assert_true(fake_drv_negotiate_pair(&f->rx, &f->tx, &f->t, &f->m, want));
}

/* Both queues, both watched (fake_drv_setup_queue() watches only its own). */
static void net_queues(struct fixture *f)
{
    assert_true(fake_drv_setup_queue(&f->rx, VIRTIO_NET_RX_QUEUE, QNUM, RX_RING, RX_HEAP_LO,
                                     RX_HEAP_HI));
    assert_true(fake_drv_setup_queue(&f->tx, VIRTIO_NET_TX_QUEUE, QNUM, TX_RING, TX_HEAP_LO,
                                     TX_HEAP_HI));
    f->m.nforbid = 0;
    fake_drv_watch(&f->rx);
    fake_drv_watch(&f->tx);
}

/* Probe with @want, both queues, DRIVER_OK. */
static void net_up(struct fixture *f, u64 want)
{
    net_negotiate(f, want);
    net_queues(f);
    fake_drv_driver_ok(&f->rx);
    assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

static void expect_clean(struct fixture *f)
{
    assert_int_equal(f->m.refused, 0);
    assert_int_equal(f->m.forbidden_writes, 0);
    assert_int_equal(f->m.torn, 0);
}

static void expect_needs_reset(struct fixture *f, unsigned int queue, int err)
{
    expect_mmio_needs_reset(&f->t, &f->ev, &f->m, err);
    assert_int_equal(f->ev.last_err_queue, queue);
    assert_true(rd(f, R_InterruptStatus) & VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(f->m.torn, 0);
}

/* ---- frames ---- */

/* An Ethernet frame of @len bytes: dst, src, EtherType, then a payload that says where each byte is. */
static void make_frame(u8 *p, u32 len, const u8 *dst, const u8 *src, u16 type, u8 seed)
{
    memcpy(p + ETH_DEST, dst, ETH_ALEN);
    memcpy(p + ETH_SOURCE, src, ETH_ALEN);
    p[ETH_TYPE] = (u8)(type >> 8);
    p[ETH_TYPE + 1] = (u8)type;
    for (u32 i = ETH_HLEN; i < len; i++)
        p[i] = (u8)(i * 13 + seed + i / 256);
}

/* A transmit header as Linux writes it without offloads: all zeros. */
static void tx_hdr(u8 *h, u8 flags, u8 gso_type, u16 num_buffers)
{
    memset(h, 0, HDR);
    h[0] = flags;
    h[1] = gso_type;
    h[10] = (u8)num_buffers;
    h[11] = (u8)(num_buffers >> 8);
}

/* ---- the driver's side ---- */

/*
 * Makes @total bytes at @bytes available on the transmit queue as one chain
 * of device-readable buffers of the lengths in @cut (summing to @total),
 * each at its own place in the transmit heap. Returns the head.
 */
static u16 tx_add(struct fixture *f, const u8 *bytes, u32 total, const u32 *cut,
                  unsigned int ncut)
{
    struct fake_sg sg[VIRTQ_MAX_SEGS];
    u32 off = 0;

    assert_true(ncut <= VIRTQ_MAX_SEGS);
    for (unsigned int i = 0; i < ncut; i++) {
        sg[i].gpa = fake_drv_alloc(&f->tx, cut[i] ? cut[i] : 1, 8);
        sg[i].len = cut[i];
        fake_drv_alloc(&f->tx, 24 + 8 * (i % 3), 8); /* a gap after each */
        guest_write(&f->m, sg[i].gpa, bytes + off, cut[i]);
        off += cut[i];
    }
    assert_int_equal(off, total);
    return fake_drv_add(&f->tx, sg, ncut, 0);
}

/* Kicks the transmit queue and reaps @n chains, each with a used length of 0. */
static void tx_kick_reap(struct fixture *f, unsigned int n)
{
    u16 id;
    u32 len;

    fake_drv_kick(&f->tx);
    for (unsigned int i = 0; i < n; i++) {
        assert_true(fake_drv_get_used(&f->tx, &id, &len));
        assert_int_equal(len, 0); /* 5.1.6.2: nothing written */
    }
    assert_false(fake_drv_get_used(&f->tx, &id, &len));
    fake_drv_heap_reset(&f->tx);
}

/* Transmits header + frame cut as @cut: one chain, kicked, reaped. */
static void tx_send_cut(struct fixture *f, const u8 *hdr, const u8 *frame, u32 len,
                        const u32 *cut, unsigned int ncut)
{
    u8 bytes[HDR + 2048];

    assert_true(len <= sizeof(bytes) - HDR);
    memcpy(bytes, hdr, HDR);
    memcpy(bytes + HDR, frame, len);
    tx_add(f, bytes, HDR + len, cut, ncut);
    tx_kick_reap(f, 1);
}

/* Transmits a frame as Linux does with a pushed header: one buffer, header in front. */
static void tx_send(struct fixture *f, const u8 *frame, u32 len)
{
    u8 h[HDR];

    tx_hdr(h, 0, 0, 0);
    tx_send_cut(f, h, frame, len, (u32[]){ HDR + len }, 1);
}

static void expect_sent(struct fixture *f, unsigned int i, const u8 *frame, u32 len)
{
    assert_true(i < f->nsent);
    assert_int_equal(f->sent_len[i], len);
    assert_memory_equal(f->sent[i], frame, len);
}

/*
 * Makes a receive chain of device-writable buffers of the lengths in @cut
 * available (filled with 0xee), their addresses in @gpa; kicks if the
 * device asked to be told.
 */
static u16 rx_post_cut(struct fixture *f, const u32 *cut, unsigned int ncut, u64 *gpa)
{
    struct fake_sg sg[VIRTQ_MAX_SEGS];
    u16 head;

    for (unsigned int i = 0; i < ncut; i++) {
        sg[i].gpa = fake_drv_alloc(&f->rx, cut[i] ? cut[i] : 1, 8);
        sg[i].len = cut[i];
        fake_drv_alloc(&f->rx, 16, 8);
        guest_fill(&f->m, sg[i].gpa, 0xee, cut[i]);
        gpa[i] = sg[i].gpa;
    }
    head = fake_drv_add(&f->rx, sg, 0, ncut);
    fake_drv_kick_if_needed(&f->rx);
    return head;
}

static u64 rx_post(struct fixture *f, u32 size)
{
    u64 gpa;

    rx_post_cut(f, &size, 1, &gpa);
    return gpa;
}

/* The next used receive chain's length (false if none). */
static bool rx_reap(struct fixture *f, u32 *len)
{
    u16 id;

    return fake_drv_get_used(&f->rx, &id, len);
}

/* Gathers @n bytes from the buffers of a chain cut as @cut at @gpa. */
static void rx_gather(struct fixture *f, const u64 *gpa, const u32 *cut, unsigned int ncut,
                      u8 *out, u32 n)
{
    u32 off = 0;

    for (unsigned int i = 0; i < ncut && off < n; i++) {
        u32 k = MIN(cut[i], n - off);

        guest_read(&f->m, gpa[i], out + off, k);
        off += k;
    }
    assert_int_equal(off, n);
}

/* The header every received frame gets without MRG_RXBUF: zeros, num_buffers 1. */
static const u8 rx_hdr_expected[HDR] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

/* ---- identity, configuration, features ---- */

static void test_net_identity(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, R_MagicValue), 0x74726976);
    assert_int_equal(rd(f, R_Version), 2);
    assert_int_equal(rd(f, R_DeviceID), 1);
    assert_int_equal(rd(f, R_VendorID), 0x4c45454b);
    for (u32 q = 0; q < VIRTIO_MMIO_MAX_QUEUES + 1; q++) {
        wr(f, R_QueueSel, q);
        assert_int_equal(rd(f, R_QueueNumMax), q < 2 ? 256 : 0); /* receiveq1, transmitq1 */
    }
    assert_int_equal(mmio_features_offered(&f->t), NET_OFFERED);
    assert_int_equal(f->ev.nirq + f->ev.nerr, 0);
}

/* 5.1.4: mac, status, max_virtqueue_pairs, mtu; readable before FEATURES_OK (2.5.2). */
static void test_net_config(void **state)
{
    struct fixture *f = *state;
    static const u8 want[16] = {
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* mac */
        0x01, 0x00,                         /* status: VIRTIO_NET_S_LINK_UP */
        0x01, 0x00,                         /* max_virtqueue_pairs */
        0xdc, 0x05,                         /* mtu 1500 */
        0, 0, 0, 0,                         /* past the space: 0 */
    };

    for (unsigned int i = 0; i < sizeof(want); i++)
        assert_int_equal(cfg_rd(f, i, 1), want[i]);
    assert_int_equal(cfg_rd(f, 0, 4), 0x12005452);
    assert_int_equal(cfg_rd(f, 4, 2), 0x5634);
    assert_int_equal(cfg_rd(f, 6, 2), 1);
    assert_int_equal(cfg_rd(f, 8, 2), 1);
    assert_int_equal(cfg_rd(f, 10, 2), 1500);
    assert_int_equal(cfg_rd(f, 8, 4), 0x05dc0001);
    assert_int_equal(cfg_rd(f, 0xfc, 4), 0);
    /* nothing is writable */
    for (unsigned int i = 0; i < 12; i++)
        assert_int_equal(virtio_mmio_write(&f->t, R_Config + i, 1, 0xa5), 0);
    assert_int_equal(virtio_mmio_write(&f->t, R_Config, 4, 0), 0);
    for (unsigned int i = 0; i < sizeof(want); i++)
        assert_int_equal(cfg_rd(f, i, 1), want[i]);
    /* the same after a probe, and DRIVER_OK */
    net_up(f, LINUX_NET_FEATURES);
    for (unsigned int i = 0; i < sizeof(want); i++)
        assert_int_equal(cfg_rd(f, i, 1), want[i]);
    assert_int_equal(rd(f, R_ConfigGeneration), 0);
}

static void test_net_feature_negotiation(void **state)
{
    struct fixture *f = *state;

    /* Linux asks for much more: it gets what is offered, no offload, no MRG_RXBUF */
    net_negotiate(f, LINUX_NET_FEATURES);
    assert_int_equal(f->rx.features, NET_OFFERED);
    assert_int_equal(virtio_mmio_features(&f->t), NET_OFFERED);
    /* a minimal driver: VERSION_1 and MAC */
    net_negotiate(f, F_VERSION_1 | NET_F_MAC);
    assert_int_equal(virtio_mmio_features(&f->t), F_VERSION_1 | NET_F_MAC);
    /* accepting what is not offered (2.2.2), or no VERSION_1: FEATURES_OK refused */
    static const u64 bad[] = {
        F_VERSION_1 | NET_F_MRG_RXBUF, F_VERSION_1 | NET_F_CSUM, F_VERSION_1 | NET_F_CTRL_VQ,
        F_VERSION_1 | NET_F_MQ,        NET_F_MAC | NET_F_STATUS,
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        wr(f, R_Status, 0);
        wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER);
        mmio_set_features(&f->t, bad[i]);
        wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
        assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER);
    }
}

static void test_net_init_refuses(void **state)
{
    struct fixture *f = *state;
    struct virtio_net n;
    static const u8 group[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    static const u8 zero[ETH_ALEN] = { 0 };

    assert_int_equal(virtio_net_init(&n, mac_a, NULL, rec_rx_ready, f), -1);
    assert_int_equal(virtio_net_init(&n, NULL, rec_tx, rec_rx_ready, f), -1);
    assert_int_equal(virtio_net_init(&n, group, rec_tx, rec_rx_ready, f), -1);
    assert_int_equal(virtio_net_init(&n, bcast, rec_tx, rec_rx_ready, f), -1);
    assert_int_equal(virtio_net_init(&n, zero, rec_tx, rec_rx_ready, f), -1);
    assert_int_equal(virtio_net_init(&n, mac_c, rec_tx, NULL, NULL), 0); /* rx_ready optional */
    assert_memory_equal(n.mac, mac_c, ETH_ALEN);
    assert_memory_equal(n.config, mac_c, ETH_ALEN);
    assert_int_equal(n.stats.tx_packets + n.stats.rx_packets, 0);
}

/* ---- transmission ---- */

static void test_net_tx_one_buffer(void **state)
{
    struct fixture *f = *state;
    u8 frame[ETH_FRAME_MAX], arp[42];

    net_up(f, LINUX_NET_FEATURES);
    make_frame(frame, 60, mac_b, mac_a, 0x0800, 1);
    fake_mem_clear_counts(&f->m);
    tx_send(f, frame, 60);
    assert_int_equal(f->nsent, 1);
    expect_sent(f, 0, frame, 60);
    assert_int_equal(f->net.stats.tx_packets, 1);
    assert_int_equal(f->net.stats.tx_bytes, 60);
    assert_int_equal(f->net.stats.tx_dropped, 0);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(f->m.write_bytes, 8 + 2 + 2); /* the used element, used idx, avail_event */
    expect_clean(f);
    /* an ARP-sized frame, without padding, and a full one */
    make_frame(arp, sizeof(arp), bcast, mac_a, 0x0806, 2);
    tx_send(f, arp, sizeof(arp));
    make_frame(frame, 1514, mac_b, mac_a, 0x86dd, 3);
    tx_send(f, frame, 1514);
    assert_int_equal(f->nsent, 3);
    expect_sent(f, 1, arp, sizeof(arp));
    expect_sent(f, 2, frame, 1514);
    assert_int_equal(f->net.stats.tx_bytes, 60 + 42 + 1514);
    assert_int_equal(rd(f, R_Status) & S_DEVICE_NEEDS_RESET, 0);
}

/* 2.7.4.1: header and frame cut any way across buffers, direct or indirect. */
static void test_net_tx_any_layout(void **state)
{
    struct fixture *f = *state;
    static const struct {
        unsigned int n;
        u32 cut[8];
    } layouts[] = {
        { 2, { HDR, 300 } },                   /* Linux without a pushed header */
        { 3, { 5, 7, 300 } },                  /* the header in two */
        { 2, { HDR + 20, 280 } },              /* header and the frame's start together */
        { 5, { HDR, 100, 0, 100, 100 } },      /* a zero-length buffer in the middle */
        { 8, { 1, 1, 1, 9, 1, 13, 1, 285 } },  /* a buffer per byte, nearly */
        { 4, { 3, HDR - 3 + 1, 150, 149 } },   /* header end and frame start share one */
    };
    u8 frame[300], h[HDR];

    net_up(f, LINUX_NET_FEATURES);
    tx_hdr(h, 0, 0, 0);
    for (unsigned int indirect = 0; indirect < 2; indirect++) {
        f->tx.use_indirect = indirect;
        for (unsigned int i = 0; i < ARRAY_SIZE(layouts); i++) {
            unsigned int k = f->nsent;

            make_frame(frame, sizeof(frame), mac_b, mac_a, 0x0800, (u8)(16 * indirect + i));
            tx_send_cut(f, h, frame, sizeof(frame), layouts[i].cut, layouts[i].n);
            expect_sent(f, k, frame, sizeof(frame));
            if (f->nsent == MAX_SENT)
                f->nsent = 0;
        }
    }
    assert_int_equal(f->net.stats.tx_packets, 2 * ARRAY_SIZE(layouts));
    assert_int_equal(f->net.stats.tx_dropped, 0);
    expect_clean(f);
}

/* A buffer straddling two chunks of guest memory: the copy is split, the bytes whole. */
static void test_net_tx_across_chunks(void **state)
{
    struct fixture *f = *state;
    u8 bytes[HDR + 200];
    u16 head;

    net_up(f, LINUX_NET_FEATURES);
    tx_hdr(bytes, 0, 0, 0);
    make_frame(bytes + HDR, 200, mac_b, mac_a, 0x0800, 9);
    guest_write(&f->m, STRADDLE, bytes, sizeof(bytes));
    fake_mem_clear_counts(&f->m);
    head = fake_drv_add(&f->tx, (struct fake_sg[]){ { STRADDLE, sizeof(bytes) } }, 1, 0);
    (void)head;
    tx_kick_reap(f, 1);
    expect_sent(f, 0, bytes + HDR, 200);
    assert_true(f->m.crossings > 0);
    expect_clean(f);
}

/* Frames the network does not carry, headers that ask for what was not negotiated: dropped. */
static void test_net_tx_bad_frames(void **state)
{
    struct fixture *f = *state;
    static const struct {
        u32 len;
        u16 type;
        u8 flags, gso_type;
        u16 num_buffers;
        bool passed;
    } cases[] = {
        { 13, 0x0800, 0, 0, 0, false },      /* shorter than an Ethernet header */
        { 14, 0x0800, 0, 0, 0, true },       /* just a header */
        { 0, 0x0800, 0, 0, 0, false },       /* a virtio header and nothing else */
        { 1514, 0x0800, 0, 0, 0, true },     /* MTU 1500 */
        { 1515, 0x0800, 0, 0, 0, false },
        { 1518, 0x0800, 0, 0, 0, false },    /* 1518 only behind an 802.1Q tag */
        { 1518, 0x8100, 0, 0, 0, true },
        { 1516, 0x8100, 0, 0, 0, true },
        { 1519, 0x8100, 0, 0, 0, false },
        { 1600, 0x8100, 0, 0, 0, false },
        { 100, 0x0800, 1, 0, 0, false },     /* NEEDS_CSUM without VIRTIO_NET_F_CSUM */
        { 100, 0x0800, 3, 0, 0, false },
        { 100, 0x0800, 2, 0, 0, true },      /* other flag bits: ignored (5.1.6.2.2) */
        { 100, 0x0800, 0xfe, 0, 0, true },
        { 100, 0x0800, 0, 1, 0, false },     /* GSO_TCPV4 without HOST_TSO4 */
        { 100, 0x0800, 0, 0x80, 0, false },  /* GSO_ECN alone */
        { 100, 0x0800, 0, 0, 7, true },      /* num_buffers: unused on transmit */
    };
    u8 frame[1600], h[HDR];
    u32 dropped = 0;

    net_up(f, LINUX_NET_FEATURES);
    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        u32 len = cases[i].len;

        f->nsent = 0;
        memset(frame, 0, sizeof(frame));
        if (len >= ETH_HLEN)
            make_frame(frame, len, mac_b, mac_a, cases[i].type, (u8)i);
        tx_hdr(h, cases[i].flags, cases[i].gso_type, cases[i].num_buffers);
        tx_send_cut(f, h, frame, len, (u32[]){ HDR, len }, len ? 2 : 1);
        if (cases[i].passed) {
            assert_int_equal(f->nsent, 1);
            expect_sent(f, 0, frame, len);
        } else {
            assert_int_equal(f->nsent, 0);
            dropped++;
        }
        assert_int_equal(f->net.stats.tx_dropped, dropped);
    }
    /* a chain shorter than the header */
    f->nsent = 0;
    tx_hdr(h, 0, 0, 0);
    tx_add(f, h, 8, (u32[]){ 8 }, 1);
    tx_kick_reap(f, 1);
    assert_int_equal(f->nsent, 0);
    assert_int_equal(f->net.stats.tx_dropped, dropped + 1);
    /* none of it is a reason for a reset */
    assert_int_equal(rd(f, R_Status) & S_DEVICE_NEEDS_RESET, 0);
    assert_int_equal(f->net.stats.bad_chains, 0);
    assert_int_equal(f->ev.nerr, 0);
    expect_clean(f);
}

/* Several chains behind one notification: all sent, in order; EVENT_IDX: one interrupt. */
static void test_net_tx_batch(void **state)
{
    struct fixture *f = *state;
    u8 bytes[6][HDR + 100];
    u16 id;
    u32 len;

    net_up(f, LINUX_NET_FEATURES);
    fake_drv_interrupt(&f->rx);
    f->ev.nirq = 0;
    for (unsigned int i = 0; i < 6; i++) {
        tx_hdr(bytes[i], 0, 0, 0);
        make_frame(bytes[i] + HDR, 100, mac_b, mac_a, 0x0800, (u8)(40 + i));
        tx_add(f, bytes[i], sizeof(bytes[i]), (u32[]){ HDR, 60, 40 }, 3);
    }
    assert_int_equal(f->nsent, 0);
    assert_true(fake_drv_kick_needed(&f->tx));
    fake_drv_kick(&f->tx);
    assert_int_equal(f->nsent, 6);
    for (unsigned int i = 0; i < 6; i++)
        expect_sent(f, i, bytes[i] + HDR, 100);
    for (unsigned int i = 0; i < 6; i++) {
        assert_true(fake_drv_get_used(&f->tx, &id, &len));
        assert_int_equal(len, 0);
    }
    assert_int_equal(f->ev.nirq, 1); /* raised once, never lowered: InterruptStatus not acked */
    expect_clean(f);
}

/* A device-writable buffer on the transmit queue breaks it; nothing is sent. */
static void test_net_tx_writable_breaks(void **state)
{
    struct fixture *f = *state;
    u8 frame[100];
    struct fake_sg sg[2];
    u16 id;
    u32 len;

    net_up(f, LINUX_NET_FEATURES);
    make_frame(frame, sizeof(frame), mac_b, mac_a, 0x0800, 0);
    tx_send(f, frame, sizeof(frame)); /* one good frame first */
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->tx, HDR + 100, 8), HDR + 100 };
    sg[1] = (struct fake_sg){ fake_drv_alloc(&f->tx, 64, 8), 64 };
    fake_drv_add(&f->tx, sg, 1, 1);
    fake_drv_kick(&f->tx);
    assert_int_equal(f->nsent, 1);
    expect_needs_reset(f, VIRTIO_NET_TX_QUEUE, VIRTQ_ERR_FRAMING);
    assert_int_equal(f->net.stats.bad_chains, 1);
    assert_false(fake_drv_get_used(&f->tx, &id, &len));
    /* the device stays quiet until the driver resets it */
    tx_add(f, frame, sizeof(frame), (u32[]){ sizeof(frame) }, 1);
    fake_drv_kick(&f->tx);
    assert_int_equal(f->nsent, 1);
    /* a reset and a new probe bring it back; the counters stay */
    net_up(f, LINUX_NET_FEATURES);
    tx_send(f, frame, sizeof(frame));
    assert_int_equal(f->nsent, 2);
    assert_int_equal(f->net.stats.bad_chains, 1);
    assert_int_equal(f->net.stats.tx_packets, 2);
}

/* A transmit buffer outside the VM: the queue breaks before a byte is read. */
static void test_net_tx_outside(void **state)
{
    struct fixture *f = *state;
    static const u64 targets[] = { HOLE, FAKE_RAM0 - 0x1000, 0, FAKE_RAM2_END - 20,
                                   0xffffffffffffff00ULL };

    for (unsigned int i = 0; i < ARRAY_SIZE(targets); i++) {
        struct fake_sg sg[2];

        f->ev.nerr = 0;
        net_up(f, LINUX_NET_FEATURES);
        f->tx.use_indirect = i & 1;
        fake_mem_clear_counts(&f->m);
        sg[0] = (struct fake_sg){ fake_drv_alloc(&f->tx, HDR, 8), HDR };
        sg[1] = (struct fake_sg){ targets[i], 100 };
        fake_drv_add(&f->tx, sg, 2, 0);
        fake_drv_kick(&f->tx);
        expect_needs_reset(f, VIRTIO_NET_TX_QUEUE, VIRTQ_ERR_MEM);
        assert_int_equal(f->nsent, 0);
        fake_drv_heap_reset(&f->tx);
    }
}

/* ---- reception ---- */

static void test_net_rx_deliver(void **state)
{
    struct fixture *f = *state;
    u8 frame[ETH_FRAME_MAX], got[VIRTIO_NET_RX_BUF_MIN + 8];
    u64 gpa;
    u32 len;

    net_up(f, LINUX_NET_FEATURES);
    gpa = rx_post(f, VIRTIO_NET_RX_BUF_MIN);
    fake_drv_interrupt(&f->rx);
    make_frame(frame, 98, mac_a, mac_b, 0x0800, 5);
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 98));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, HDR + 98);
    guest_read(&f->m, gpa, got, VIRTIO_NET_RX_BUF_MIN);
    assert_memory_equal(got, rx_hdr_expected, HDR); /* num_buffers 1, the rest 0 */
    assert_memory_equal(got + HDR, frame, 98);
    for (u32 i = HDR + 98; i < VIRTIO_NET_RX_BUF_MIN; i++)
        assert_int_equal(got[i], 0xee); /* nothing past the frame */
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
    assert_true(f->ev.line);
    assert_int_equal(f->net.stats.rx_packets, 1);
    assert_int_equal(f->net.stats.rx_bytes, 98);
    assert_int_equal(f->net.stats.rx_dropped + f->net.stats.rx_no_buffer, 0);
    expect_clean(f);
    /* the largest frames: untagged and tagged */
    gpa = rx_post(f, VIRTIO_NET_RX_BUF_MIN);
    make_frame(frame, 1514, mac_a, mac_b, 0x0800, 6);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 1514));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, HDR + 1514);
    guest_read(&f->m, gpa, got, HDR + 1514);
    assert_memory_equal(got, rx_hdr_expected, HDR);
    assert_memory_equal(got + HDR, frame, 1514);
    gpa = rx_post(f, VIRTIO_NET_RX_BUF_MIN);
    make_frame(frame, 1518, mac_a, mac_b, 0x8100, 7);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 1518));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, VIRTIO_NET_RX_BUF_MIN);
    guest_read(&f->m, gpa, got, VIRTIO_NET_RX_BUF_MIN);
    assert_memory_equal(got + HDR, frame, 1518);
    assert_int_equal(f->net.stats.rx_packets, 3);
    assert_int_equal(f->net.stats.rx_bytes, 98 + 1514 + 1518);
}

/* Receive chains cut any way: the header and frame flow across the buffers. */
static void test_net_rx_layouts(void **state)
{
    struct fixture *f = *state;
    static const struct {
        unsigned int n;
        u32 cut[6];
    } layouts[] = {
        { 2, { HDR, 1518 } },               /* Linux's "big packets" style: header apart */
        { 3, { 5, 7, 1518 } },
        { 4, { 1, 600, 1, 928 } },
        { 6, { 12, 0, 500, 500, 500, 18 } }, /* zero-length buffer, exact fit */
    };
    u8 frame[600], got[HDR + 600];
    u64 gpa[6];
    u32 len;

    net_up(f, LINUX_NET_FEATURES);
    for (unsigned int indirect = 0; indirect < 2; indirect++) {
        f->rx.use_indirect = indirect;
        for (unsigned int i = 0; i < ARRAY_SIZE(layouts); i++) {
            rx_post_cut(f, layouts[i].cut, layouts[i].n, gpa);
            make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, (u8)(i + 10 * indirect));
            assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
            assert_true(rx_reap(f, &len));
            assert_int_equal(len, HDR + sizeof(frame));
            rx_gather(f, gpa, layouts[i].cut, layouts[i].n, got, sizeof(got));
            assert_memory_equal(got, rx_hdr_expected, HDR);
            assert_memory_equal(got + HDR, frame, sizeof(frame));
            fake_drv_heap_reset(&f->rx);
        }
    }
    /* straddling two chunks */
    fake_mem_clear_counts(&f->m);
    fake_drv_add(&f->rx, (struct fake_sg[]){ { STRADDLE, HDR + 600 } }, 0, 1);
    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 99);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_true(rx_reap(f, &len));
    guest_read(&f->m, STRADDLE, got, sizeof(got));
    assert_memory_equal(got, rx_hdr_expected, HDR);
    assert_memory_equal(got + HDR, frame, sizeof(frame));
    assert_true(f->m.crossings > 0);
    assert_int_equal(f->net.stats.rx_packets, 2 * ARRAY_SIZE(layouts) + 1);
    expect_clean(f);
}

/* No buffer: false, the frame stays the caller's; EVENT_IDX asks the driver to say when. */
static void test_net_rx_no_buffer(void **state)
{
    struct fixture *f = *state;
    u8 frame[64], got[HDR + 64];
    u64 gpa;
    u32 len;
    unsigned int calls;

    net_up(f, LINUX_NET_FEATURES);
    assert_int_equal(f->rx_ready_calls, 1); /* DRIVER_OK looked at the ready queues */
    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 1);
    fake_mem_clear_counts(&f->m);
    assert_false(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_no_buffer, 1);
    assert_int_equal(f->net.stats.rx_dropped, 0);
    assert_int_equal(f->m.forbidden_writes, 0);
    /* avail_event (after the used ring) now says "tell me at the next entry" */
    assert_int_equal(guest_r16(&f->m, f->rx.used + 4 + 8 * QNUM), 0);
    assert_false(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_no_buffer, 2);
    /* the driver adds a buffer, sees it must notify: rx_ready() runs */
    calls = f->rx_ready_calls;
    gpa = rx_post(f, 1530);
    assert_int_equal(f->rx.kicks, 1);
    assert_int_equal(f->rx_ready_calls, calls + 1);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, HDR + sizeof(frame));
    guest_read(&f->m, gpa, got, sizeof(got));
    assert_memory_equal(got + HDR, frame, sizeof(frame));
    expect_clean(f);
    /* without EVENT_IDX the driver always notifies (the device never sets NO_NOTIFY) */
    net_up(f, F_VERSION_1 | NET_F_MAC);
    calls = f->rx_ready_calls;
    assert_false(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    rx_post(f, 1530);
    rx_post(f, 1530);
    assert_int_equal(f->rx_ready_calls, calls + 2);
}

/* rx_ready() drains the caller's queue into the device from inside the transport's call. */
static void test_net_rx_ready_drains(void **state)
{
    struct fixture *f = *state;
    struct netq *q = malloc(sizeof(*q));
    u8 frame[3][200], got[HDR + 200];
    u64 gpa[3];
    u32 len;

    assert_non_null(q);
    netq_init(q);
    f->pending = q;
    net_up(f, LINUX_NET_FEATURES);
    for (unsigned int i = 0; i < 3; i++) {
        make_frame(frame[i], 200, mac_a, mac_b, 0x0800, (u8)(70 + i));
        if (!virtio_net_deliver(&f->net, &f->t, frame[i], 200))
            assert_true(netq_push(q, frame[i], 200));
    }
    assert_int_equal(netq_count(q), 3);
    fake_drv_interrupt(&f->rx);
    /* two buffers, one notification: two frames delivered, in order, one left */
    gpa[0] = fake_drv_alloc(&f->rx, 1530, 8);
    gpa[1] = fake_drv_alloc(&f->rx, 1530, 8);
    fake_drv_add(&f->rx, (struct fake_sg[]){ { gpa[0], 1530 } }, 0, 1);
    fake_drv_add(&f->rx, (struct fake_sg[]){ { gpa[1], 1530 } }, 0, 1);
    assert_true(fake_drv_kick_needed(&f->rx));
    fake_drv_kick(&f->rx);
    assert_int_equal(netq_count(q), 1);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
    for (unsigned int i = 0; i < 2; i++) {
        assert_true(rx_reap(f, &len));
        assert_int_equal(len, HDR + 200);
        guest_read(&f->m, gpa[i], got, sizeof(got));
        assert_memory_equal(got, rx_hdr_expected, HDR);
        assert_memory_equal(got + HDR, frame[i], 200);
    }
    /* the last buffer: the last frame */
    gpa[2] = rx_post(f, 1530);
    assert_int_equal(netq_count(q), 0);
    assert_true(rx_reap(f, &len));
    guest_read(&f->m, gpa[2], got, sizeof(got));
    assert_memory_equal(got + HDR, frame[2], 200);
    assert_int_equal(f->net.stats.rx_packets, 3);
    assert_int_equal(f->net.stats.rx_dropped, 0);
    expect_clean(f);
    f->pending = NULL;
    free(q);
}

/* A chain too small for header + frame: handed back unused, the frame dropped; no reset. */
static void test_net_rx_small_buffer(void **state)
{
    struct fixture *f = *state;
    u8 frame[300], got[400], big_frame[1518];
    u64 small, exact, big;
    u32 len;

    net_up(f, LINUX_NET_FEATURES);
    small = rx_post(f, 200);
    make_frame(frame, 300, mac_a, mac_b, 0x0800, 3);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 300));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, 0);
    guest_read(&f->m, small, got, 200);
    for (unsigned int i = 0; i < 200; i++)
        assert_int_equal(got[i], 0xee); /* untouched */
    assert_int_equal(f->net.stats.rx_short, 1);
    assert_int_equal(f->net.stats.rx_dropped, 1);
    assert_int_equal(f->net.stats.rx_packets, 0);
    /* one byte short, then an exact fit */
    rx_post(f, HDR + 299);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 300));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, 0);
    exact = rx_post(f, HDR + 300);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 300));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, HDR + 300);
    guest_read(&f->m, exact, got, HDR + 300);
    assert_memory_equal(got + HDR, frame, 300);
    /* smaller than the header itself */
    rx_post(f, 11);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, ETH_HLEN));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, 0);
    /* 5.1.6.3.1's 1526 bytes hold every untagged frame, not a tagged full one */
    rx_post(f, 1526);
    make_frame(big_frame, 1518, mac_a, mac_b, 0x8100, 4);
    assert_true(virtio_net_deliver(&f->net, &f->t, big_frame, 1518));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, 0);
    big = rx_post(f, 1526);
    make_frame(big_frame, 1514, mac_a, mac_b, 0x0800, 5);
    assert_true(virtio_net_deliver(&f->net, &f->t, big_frame, 1514));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, 1526);
    guest_read(&f->m, big, got, HDR + 100);
    assert_memory_equal(got, rx_hdr_expected, HDR);
    assert_memory_equal(got + HDR, big_frame, 100);
    assert_int_equal(f->net.stats.rx_short, 4);
    assert_int_equal(f->net.stats.rx_dropped, 4);
    assert_int_equal(f->net.stats.rx_packets, 2);
    assert_int_equal(rd(f, R_Status) & S_DEVICE_NEEDS_RESET, 0);
    assert_int_equal(f->net.stats.bad_chains, 0);
    expect_clean(f);
}

/* Not live (before DRIVER_OK, in DEVICE_NEEDS_RESET, after a reset): dropped, nothing touched. */
static void test_net_rx_not_live(void **state)
{
    struct fixture *f = *state;
    u8 frame[100];
    u32 len;
    u64 dropped = 0;

    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 0);
    /* never probed */
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_dropped, ++dropped);
    /* queues ready, buffers posted, no DRIVER_OK yet */
    net_negotiate(f, LINUX_NET_FEATURES);
    net_queues(f);
    fake_drv_add(&f->rx, (struct fake_sg[]){ { fake_drv_alloc(&f->rx, 1530, 8), 1530 } }, 0, 1);
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_dropped, ++dropped);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    /* DRIVER_OK: the buffer made available before it is used */
    fake_drv_driver_ok(&f->rx);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, HDR + sizeof(frame));
    /* the driver resets the device */
    rx_post(f, 1530);
    wr(f, R_Status, 0);
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_dropped, ++dropped);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    /* the VM is reset */
    net_up(f, LINUX_NET_FEATURES);
    rx_post(f, 1530);
    virtio_mmio_reset(&f->t);
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_dropped, ++dropped);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    /* live, but only the transmit queue set up */
    net_negotiate(f, LINUX_NET_FEATURES);
    assert_true(fake_drv_setup_queue(&f->tx, VIRTIO_NET_TX_QUEUE, QNUM, TX_RING, TX_HEAP_LO,
                                     TX_HEAP_HI));
    fake_drv_driver_ok(&f->tx);
    assert_true(virtio_mmio_live(&f->t));
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_dropped, ++dropped);
    assert_int_equal(f->net.stats.rx_no_buffer, 0);
    assert_int_equal(f->net.stats.rx_packets, 1);
}

/* The wrong transport: another device's, or an empty slot. Dropped, nothing touched. */
static void test_net_rx_wrong_transport(void **state)
{
    struct fixture *f = *state;
    struct virtio_net other;
    struct virtio_mmio *t2 = malloc(sizeof(*t2));
    u8 frame[100];

    assert_non_null(t2);
    net_up(f, LINUX_NET_FEATURES);
    rx_post(f, 1530);
    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 0);
    assert_int_equal(virtio_net_init(&other, mac_b, rec_tx, NULL, NULL), 0);
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&other, &f->t, frame, sizeof(frame)));
    assert_int_equal(other.stats.rx_dropped, 1);
    assert_int_equal(virtio_mmio_init(t2, NULL, NULL, NULL, NULL, NULL, NULL), 0);
    assert_true(virtio_net_deliver(&f->net, t2, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_dropped, 1);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    /* the right one still works */
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->net.stats.rx_packets, 1);
    free(t2);
}

/* Frames the network does not carry are not delivered, and take no buffer. */
static void test_net_rx_bad_frames(void **state)
{
    struct fixture *f = *state;
    u8 frame[1600];
    u32 len;

    net_up(f, LINUX_NET_FEATURES);
    rx_post(f, 2048);
    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 0);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 13));
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 0));
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 1515)); /* untagged, over the MTU */
    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x8100, 0);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 1519));
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 1600));
    assert_int_equal(f->net.stats.rx_dropped, 5);
    assert_false(rx_reap(f, &len)); /* the buffer is still the driver's */
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, 1518));
    assert_true(rx_reap(f, &len));
    assert_int_equal(len, HDR + 1518);
}

/* A device-readable buffer on the receive queue breaks it; deliver() still takes the frame. */
static void test_net_rx_readable_breaks(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[2];
    u8 frame[100];
    u32 len;

    net_up(f, LINUX_NET_FEATURES);
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->rx, 16, 8), 16 };
    sg[1] = (struct fake_sg){ fake_drv_alloc(&f->rx, 1530, 8), 1530 };
    fake_drv_add(&f->rx, sg, 1, 1);
    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 0);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    expect_needs_reset(f, VIRTIO_NET_RX_QUEUE, VIRTQ_ERR_FRAMING);
    assert_int_equal(f->net.stats.bad_chains, 1);
    assert_int_equal(f->net.stats.rx_dropped, 1);
    assert_false(rx_reap(f, &len));
    /* and from now on the device drops without looking */
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(f->m.reads + f->m.writes, 0);
    assert_int_equal(f->net.stats.rx_dropped, 2);
    assert_int_equal(f->ev.nerr, 1);
}

/* A receive buffer outside the VM: the queue breaks, nothing written anywhere. */
static void test_net_rx_outside(void **state)
{
    struct fixture *f = *state;
    u8 frame[100];

    net_up(f, LINUX_NET_FEATURES);
    fake_drv_add(&f->rx, (struct fake_sg[]){ { HOLE - 8, 1530 } }, 0, 1);
    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 0);
    fake_mem_clear_counts(&f->m);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    expect_needs_reset(f, VIRTIO_NET_RX_QUEUE, VIRTQ_ERR_MEM);
    assert_int_equal(f->m.writes, 0);
}

/* The driver's suppression: VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX; used_event with it. */
static void test_net_rx_interrupts(void **state)
{
    struct fixture *f = *state;
    u8 frame[100];
    u32 len;

    make_frame(frame, sizeof(frame), mac_a, mac_b, 0x0800, 0);
    net_up(f, F_VERSION_1 | NET_F_MAC);
    guest_w16(&f->m, f->rx.avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
    rx_post(f, 1530);
    fake_drv_interrupt(&f->rx);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    guest_w16(&f->m, f->rx.avail, 0);
    rx_post(f, 1530);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
    /* EVENT_IDX: a driver that has not reaped (used_event stays 0) hears once */
    net_up(f, LINUX_NET_FEATURES);
    fake_drv_interrupt(&f->rx);
    rx_post(f, 1530);
    rx_post(f, 1530);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(fake_drv_interrupt(&f->rx), VIRTIO_MMIO_INT_VRING);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_true(rx_reap(f, &len)); /* used_event moves on: the next one is heard */
    assert_true(rx_reap(f, &len));
    rx_post(f, 1530);
    assert_true(virtio_net_deliver(&f->net, &f->t, frame, sizeof(frame)));
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
}

/* ---- the frame FIFO ---- */

static void test_netq_fifo(void **state)
{
    struct netq *q = malloc(sizeof(*q));
    u8 a[60], b[1518], c[14];
    const u8 *p;
    u32 len = 0;

    (void)state;
    assert_non_null(q);
    netq_init(q);
    assert_null(netq_peek(q, &len));
    assert_false(netq_pop(q));
    make_frame(a, sizeof(a), mac_a, mac_b, 0x0800, 1);
    make_frame(b, sizeof(b), mac_a, mac_b, 0x8100, 2);
    make_frame(c, sizeof(c), mac_a, mac_b, 0x0806, 3);
    assert_true(netq_push(q, a, sizeof(a)));
    assert_true(netq_push(q, b, sizeof(b)));
    assert_true(netq_push(q, c, sizeof(c)));
    assert_int_equal(netq_count(q), 3);
    p = netq_peek(q, &len);
    assert_int_equal(len, sizeof(a));
    assert_memory_equal(p, a, sizeof(a));
    assert_ptr_equal(netq_peek(q, &len), p); /* peeking takes nothing */
    assert_true(netq_pop(q));
    p = netq_peek(q, &len);
    assert_int_equal(len, sizeof(b));
    assert_memory_equal(p, b, sizeof(b));
    /* a push does not move the frame being looked at */
    assert_true(netq_push(q, a, sizeof(a)));
    assert_memory_equal(p, b, sizeof(b));
    assert_true(netq_pop(q));
    p = netq_peek(q, &len);
    assert_int_equal(len, sizeof(c));
    assert_memory_equal(p, c, sizeof(c));
    assert_true(netq_pop(q));
    p = netq_peek(q, &len);
    assert_memory_equal(p, a, sizeof(a));
    assert_true(netq_pop(q));
    assert_null(netq_peek(q, &len));
    assert_int_equal(q->stats.queued, 4);
    assert_int_equal(q->stats.dropped, 0);
    free(q);
}

/* Full: the new frame is dropped and counted; what is queued keeps its order, across wraps. */
static void test_netq_full(void **state)
{
    struct netq *q = malloc(sizeof(*q));
    u8 f[100];
    u32 len;
    unsigned int next_in = 0, next_out = 0;

    (void)state;
    assert_non_null(q);
    netq_init(q);
    for (unsigned int i = 0; i < NETQ_LEN; i++) {
        memset(f, (u8)next_in, sizeof(f));
        assert_true(netq_push(q, f, 20 + next_in % 80));
        next_in++;
    }
    assert_int_equal(netq_count(q), NETQ_LEN);
    assert_false(netq_push(q, f, 50));
    assert_false(netq_push(q, f, 50));
    assert_int_equal(q->stats.dropped, 2);
    assert_int_equal(netq_count(q), NETQ_LEN);
    /* 1000 more through it, three out for every two in */
    for (unsigned int round = 0; round < 1000; round++) {
        if (round % 3 != 2 && netq_count(q) < NETQ_LEN) {
            memset(f, (u8)next_in, sizeof(f));
            assert_true(netq_push(q, f, 20 + next_in % 80));
            next_in++;
        } else if (netq_count(q)) {
            const u8 *p = netq_peek(q, &len);

            assert_int_equal(len, 20 + next_out % 80);
            for (u32 k = 0; k < len; k++)
                assert_int_equal(p[k], (u8)next_out);
            assert_true(netq_pop(q));
            next_out++;
        }
    }
    assert_int_equal(netq_count(q), next_in - next_out);
    assert_int_equal(q->stats.queued, next_in);
    free(q);
}

static void test_netq_lengths_and_clear(void **state)
{
    struct netq *q = malloc(sizeof(*q));
    u8 f[NETQ_FRAME_MAX + 1] = { 0 };
    u32 len;

    (void)state;
    assert_non_null(q);
    netq_init(q);
    assert_false(netq_push(q, f, 0));
    assert_false(netq_push(q, f, NETQ_FRAME_MAX + 1));
    assert_int_equal(q->stats.dropped, 2);
    assert_true(netq_push(q, f, NETQ_FRAME_MAX));
    assert_true(netq_push(q, f, 1));
    assert_non_null(netq_peek(q, &len));
    assert_int_equal(len, NETQ_FRAME_MAX);
    netq_clear(q);
    assert_int_equal(netq_count(q), 0);
    assert_null(netq_peek(q, &len));
    assert_int_equal(q->stats.dropped, 4);
    assert_int_equal(q->stats.queued, 2);
    free(q);
}

/* ---- the L2 table ---- */

/* A MAC address numbered @n (locally administered, individual). */
static const u8 *mac_n(unsigned int n)
{
    static u8 m[4][ETH_ALEN];
    static unsigned int k;
    u8 *p = m[k++ % 4];

    p[0] = 0x02;
    p[1] = 0x4b;
    p[2] = (u8)(n >> 24);
    p[3] = (u8)(n >> 16);
    p[4] = (u8)(n >> 8);
    p[5] = (u8)n;
    return p;
}

/* Forwards a 60-byte frame from @in, @src to @dst: the mask, after checking the return code. */
static u32 fwd(struct vswitch *sw, unsigned int in, const u8 *dst, const u8 *src, int want_rc)
{
    u8 frame[60];
    u32 mask = 0xdeadbeef;

    make_frame(frame, sizeof(frame), dst, src, 0x0800, 0);
    assert_int_equal(vswitch_forward(sw, in, frame, sizeof(frame), &mask), want_rc);
    if (want_rc)
        assert_int_equal(mask, 0);
    assert_int_equal(mask & ~vswitch_ports(sw), 0); /* never a detached port */
    if (in < VSWITCH_MAX_PORTS)
        assert_int_equal(mask & BIT(in), 0); /* never back */
    return mask;
}

static void test_vswitch_init(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, NULL), -1);
    assert_int_equal(vswitch_init(&sw, ""), -1);
    assert_int_equal(vswitch_init(&sw, "0123456789abcdef"), -1); /* 16 + NUL */
    assert_int_equal(vswitch_init(&sw, "0123456789abcde"), 0);
    assert_string_equal(sw.name, "0123456789abcde");
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    assert_string_equal(sw.name, "lan");
    assert_int_equal(vswitch_ports(&sw), 0);
}

static void test_vswitch_ports(void **state)
{
    struct vswitch sw;
    static const u8 group[ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };
    static const u8 zero[ETH_ALEN] = { 0 };

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    assert_int_equal(vswitch_port_add(&sw, mac_a), 0);
    assert_int_equal(vswitch_port_add(&sw, mac_a), -1); /* pinned to port 0 already */
    assert_int_equal(vswitch_port_add(&sw, group), -1);
    assert_int_equal(vswitch_port_add(&sw, zero), -1);
    assert_int_equal(vswitch_port_add(&sw, bcast), -1);
    for (int i = 1; i < VSWITCH_MAX_PORTS; i++)
        assert_int_equal(vswitch_port_add(&sw, i & 1 ? NULL : mac_n(i)), i);
    assert_int_equal(vswitch_port_add(&sw, NULL), -1); /* full */
    assert_int_equal(vswitch_ports(&sw), 0xff);
    vswitch_port_del(&sw, 3);
    vswitch_port_del(&sw, 3);
    vswitch_port_del(&sw, VSWITCH_MAX_PORTS); /* ignored */
    assert_int_equal(vswitch_ports(&sw), 0xf7);
    assert_int_equal(vswitch_port_add(&sw, mac_b), 3);
    assert_int_equal(vswitch_lookup(&sw, mac_b), 3);
    assert_int_equal(vswitch_lookup(&sw, mac_a), 0);
    assert_int_equal(vswitch_lookup(&sw, mac_n(2)), 2);
    assert_int_equal(vswitch_lookup(&sw, mac_c), -1);
}

/* Broadcast, multicast and unknown unicast: every other attached port, and only those. */
static void test_vswitch_flood(void **state)
{
    struct vswitch sw;
    static const u8 v4mcast[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
    static const u8 v6mcast[ETH_ALEN] = { 0x33, 0x33, 0xff, 0x12, 0x34, 0x56 };

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(vswitch_port_add(&sw, NULL), i);
    vswitch_port_del(&sw, 1);
    vswitch_port_del(&sw, 4); /* attached: 0, 2, 3, 5 */
    assert_int_equal(fwd(&sw, 0, bcast, mac_a, 0), 0x2c);
    assert_int_equal(fwd(&sw, 2, v4mcast, mac_b, 0), 0x29);
    assert_int_equal(fwd(&sw, 3, v6mcast, mac_c, 0), 0x25);
    assert_int_equal(fwd(&sw, 5, mac_n(77), mac_n(5), 0), 0x0d); /* unknown */
    assert_int_equal(sw.stats.flooded, 4);
    /* a group destination is flooded even when some port sent from its unicast twin */
    assert_int_equal(fwd(&sw, 0, bcast, mac_a, 0), 0x2c);
    assert_int_equal(sw.port[0].stats.tx_frames, 3);
    assert_int_equal(sw.port[5].stats.tx_frames, 4);
    assert_int_equal(sw.port[0].stats.rx_frames, 2);
}

/* Learning from sources: a known destination goes to its port alone. */
static void test_vswitch_learning(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(vswitch_port_add(&sw, NULL), i);
    assert_int_equal(fwd(&sw, 1, bcast, mac_b, 0), 0xd); /* B asks (ARP) */
    assert_int_equal(vswitch_lookup(&sw, mac_b), 1);
    assert_int_equal(fwd(&sw, 2, mac_b, mac_c, 0), 0x2); /* C answers B: port 1 only */
    assert_int_equal(vswitch_lookup(&sw, mac_c), 2);
    assert_int_equal(fwd(&sw, 1, mac_c, mac_b, 0), 0x4);
    assert_int_equal(sw.stats.unicast, 2);
    assert_int_equal(sw.stats.learned, 2);
    assert_int_equal(sw.port[3].stats.tx_frames, 1); /* only the broadcast */
    /* the same source again learns nothing new */
    fwd(&sw, 1, mac_c, mac_b, 0);
    assert_int_equal(sw.stats.learned, 2);
    assert_int_equal(sw.stats.evicted + sw.stats.moved, 0);
}

/* 802.1D 7.7.1: never back to the port it came from. */
static void test_vswitch_no_reflection(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    assert_int_equal(vswitch_port_add(&sw, mac_a), 0);
    assert_int_equal(vswitch_port_add(&sw, NULL), 1);
    assert_int_equal(fwd(&sw, 0, mac_a, mac_a, 0), 0);   /* to its own pinned address */
    fwd(&sw, 1, bcast, mac_b, 0);
    fwd(&sw, 1, bcast, mac_c, 0);
    assert_int_equal(fwd(&sw, 1, mac_c, mac_b, 0), 0);   /* both behind port 1 */
    assert_int_equal(sw.stats.filtered, 2);
    assert_int_equal(fwd(&sw, 1, bcast, mac_b, 0), 0x1); /* a broadcast: everyone else */
    assert_int_equal(fwd(&sw, 0, bcast, mac_a, 0), 0x2);
}

/* Group (and all-zeros) sources are invalid: refused, not learned, counted. */
static void test_vswitch_bad_source(void **state)
{
    struct vswitch sw;
    static const u8 group[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa };
    static const u8 zero[ETH_ALEN] = { 0 };

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    assert_int_equal(vswitch_port_add(&sw, NULL), 0);
    assert_int_equal(vswitch_port_add(&sw, NULL), 1);
    fwd(&sw, 0, bcast, group, -VSWITCH_ERR_SRC);
    fwd(&sw, 0, mac_b, bcast, -VSWITCH_ERR_SRC);
    fwd(&sw, 0, bcast, zero, -VSWITCH_ERR_SRC);
    assert_int_equal(vswitch_lookup(&sw, group), -1);
    assert_int_equal(vswitch_lookup(&sw, bcast), -1);
    assert_int_equal(vswitch_lookup(&sw, zero), -1);
    assert_int_equal(sw.stats.dropped, 3);
    assert_int_equal(sw.port[0].stats.dropped, 3);
    assert_int_equal(sw.port[0].stats.rx_frames, 3);
    assert_int_equal(sw.stats.learned, 0);
    assert_int_equal(sw.port[1].stats.tx_frames, 0);
}

static void test_vswitch_bad_frames(void **state)
{
    struct vswitch sw;
    u8 frame[1600];
    u32 mask;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    assert_int_equal(vswitch_port_add(&sw, NULL), 0);
    assert_int_equal(vswitch_port_add(&sw, NULL), 1);
    make_frame(frame, sizeof(frame), mac_b, mac_a, 0x0800, 0);
    assert_int_equal(vswitch_forward(&sw, 0, frame, 13, &mask), -VSWITCH_ERR_LEN);
    assert_int_equal(mask, 0);
    assert_int_equal(vswitch_forward(&sw, 0, frame, 0, &mask), -VSWITCH_ERR_LEN);
    assert_int_equal(vswitch_forward(&sw, 0, frame, ETH_FRAME_MAX + 1, &mask), -VSWITCH_ERR_LEN);
    assert_int_equal(vswitch_lookup(&sw, mac_a), -1); /* not learned from a refused frame */
    assert_int_equal(vswitch_forward(&sw, 0, frame, ETH_HLEN, &mask), 0);
    assert_int_equal(mask, 0x2);
    assert_int_equal(vswitch_forward(&sw, 0, frame, ETH_FRAME_MAX, &mask), 0);
    /* ports that are not attached, or do not exist */
    assert_int_equal(vswitch_forward(&sw, 2, frame, 60, &mask), -VSWITCH_ERR_PORT);
    assert_int_equal(mask, 0);
    assert_int_equal(vswitch_forward(&sw, VSWITCH_MAX_PORTS, frame, 60, &mask), -VSWITCH_ERR_PORT);
    assert_int_equal(vswitch_forward(&sw, ~0U, frame, 60, &mask), -VSWITCH_ERR_PORT);
    assert_int_equal(sw.stats.dropped, 6);
    assert_int_equal(sw.stats.frames, 8);
}

/* 802.1D 7.12.6: 01-80-C2-00-00-0x is not relayed (but the source is learned). */
static void test_vswitch_reserved(void **state)
{
    struct vswitch sw;
    u8 dst[ETH_ALEN] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x00 };

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vswitch_port_add(&sw, NULL), i);
    for (unsigned int last = 0; last < 0x10; last++) {
        dst[5] = (u8)last;
        assert_int_equal(fwd(&sw, 0, dst, mac_a, 0), 0);
    }
    assert_int_equal(sw.stats.filtered, 16);
    assert_int_equal(vswitch_lookup(&sw, mac_a), 0);
    dst[5] = 0x10; /* past the block: an ordinary group address */
    assert_int_equal(fwd(&sw, 0, dst, mac_a, 0), 0x6);
    dst[5] = 0x00;
    dst[4] = 0x01;
    assert_int_equal(fwd(&sw, 0, dst, mac_a, 0), 0x6);
}

/* A pinned address cannot be taken: spoofed frames are refused, traffic keeps going home. */
static void test_vswitch_pinned(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    assert_int_equal(vswitch_port_add(&sw, mac_a), 0);
    assert_int_equal(vswitch_port_add(&sw, mac_b), 1);
    assert_int_equal(vswitch_port_add(&sw, NULL), 2);
    /* known from the start: no flooding, even before A sent anything */
    assert_int_equal(fwd(&sw, 2, mac_a, mac_c, 0), 0x1);
    fwd(&sw, 2, bcast, mac_a, -VSWITCH_ERR_SPOOF);
    fwd(&sw, 1, mac_c, mac_a, -VSWITCH_ERR_SPOOF);
    assert_int_equal(vswitch_lookup(&sw, mac_a), 0);
    assert_int_equal(fwd(&sw, 1, mac_a, mac_b, 0), 0x1);
    assert_int_equal(sw.port[2].stats.dropped, 1);
    assert_int_equal(sw.port[1].stats.dropped, 1);
    /* port 0 sending from its own address learns nothing (it is known for good) */
    fwd(&sw, 0, bcast, mac_a, 0);
    for (unsigned int j = 0; j < VSWITCH_PORT_MACS; j++)
        assert_false(sw.port[0].fdb[j].valid);
    /* a guest that changes its address gets the new one learned */
    fwd(&sw, 0, bcast, mac_n(1234), 0);
    assert_int_equal(fwd(&sw, 2, mac_n(1234), mac_c, 0), 0x1);
    /* pinning an address someone learned takes it from them */
    assert_int_equal(vswitch_lookup(&sw, mac_c), 2);
    vswitch_port_del(&sw, 1);
    assert_int_equal(vswitch_port_add(&sw, mac_c), 1);
    assert_int_equal(vswitch_lookup(&sw, mac_c), 1);
    fwd(&sw, 2, bcast, mac_c, -VSWITCH_ERR_SPOOF);
    for (unsigned int j = 0; j < VSWITCH_PORT_MACS; j++)
        assert_false(sw.port[2].fdb[j].valid && eth_equal(sw.port[2].fdb[j].mac, mac_c));
}

/* A learned address seen on another port moves there (until the owner sends again). */
static void test_vswitch_move(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vswitch_port_add(&sw, NULL), i);
    fwd(&sw, 1, bcast, mac_c, 0);
    assert_int_equal(fwd(&sw, 0, mac_c, mac_a, 0), 0x2);
    fwd(&sw, 2, bcast, mac_c, 0);
    assert_int_equal(sw.stats.moved, 1);
    assert_int_equal(vswitch_lookup(&sw, mac_c), 2);
    assert_int_equal(fwd(&sw, 0, mac_c, mac_a, 0), 0x4);
    fwd(&sw, 1, bcast, mac_c, 0);
    assert_int_equal(fwd(&sw, 0, mac_c, mac_a, 0), 0x2);
    assert_int_equal(sw.stats.moved, 2);
    /* one entry for the address, wherever it went */
    for (unsigned int j = 0; j < VSWITCH_PORT_MACS; j++)
        assert_false(sw.port[2].fdb[j].valid && eth_equal(sw.port[2].fdb[j].mac, mac_c));
}

/* A port flooding made-up sources churns only its own entries (quota). */
static void test_vswitch_quota(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vswitch_port_add(&sw, NULL), i);
    fwd(&sw, 0, bcast, mac_a, 0);
    fwd(&sw, 2, bcast, mac_c, 0);
    for (unsigned int i = 0; i < 1000; i++)
        fwd(&sw, 1, bcast, mac_n(i), 0);
    assert_int_equal(vswitch_lookup(&sw, mac_a), 0);
    assert_int_equal(vswitch_lookup(&sw, mac_c), 2);
    assert_int_equal(fwd(&sw, 2, mac_a, mac_c, 0), 0x1); /* unicast still, not flooded */
    for (unsigned int i = 0; i < 1000; i++)
        assert_int_equal(vswitch_lookup(&sw, mac_n(i)), i >= 1000 - VSWITCH_PORT_MACS ? 1 : -1);
    assert_int_equal(sw.stats.evicted, 1000 - VSWITCH_PORT_MACS);
    assert_int_equal(sw.stats.learned, 1002);
}

/* Within a port, the least recently seen address goes first. */
static void test_vswitch_lru(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    assert_int_equal(vswitch_port_add(&sw, NULL), 0);
    assert_int_equal(vswitch_port_add(&sw, NULL), 1);
    for (unsigned int i = 0; i < VSWITCH_PORT_MACS; i++)
        fwd(&sw, 1, bcast, mac_n(i), 0);
    fwd(&sw, 1, bcast, mac_n(0), 0); /* 0 seen again: 1 is the oldest now */
    fwd(&sw, 1, bcast, mac_n(100), 0);
    assert_int_equal(vswitch_lookup(&sw, mac_n(0)), 1);
    assert_int_equal(vswitch_lookup(&sw, mac_n(1)), -1);
    assert_int_equal(vswitch_lookup(&sw, mac_n(2)), 1);
    assert_int_equal(vswitch_lookup(&sw, mac_n(100)), 1);
    fwd(&sw, 1, bcast, mac_n(101), 0);
    assert_int_equal(vswitch_lookup(&sw, mac_n(2)), -1);
    assert_int_equal(sw.stats.evicted, 2);
}

/* A port removed: its addresses forgotten, in no mask, its frames refused; re-added clean. */
static void test_vswitch_port_del(void **state)
{
    struct vswitch sw;

    (void)state;
    assert_int_equal(vswitch_init(&sw, "lan"), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vswitch_port_add(&sw, i == 1 ? mac_b : NULL), i);
    fwd(&sw, 1, bcast, mac_n(5), 0);
    assert_int_equal(fwd(&sw, 0, mac_n(5), mac_a, 0), 0x2);
    vswitch_port_del(&sw, 1);
    assert_int_equal(vswitch_lookup(&sw, mac_n(5)), -1);
    assert_int_equal(vswitch_lookup(&sw, mac_b), -1);
    assert_int_equal(fwd(&sw, 0, mac_n(5), mac_a, 0), 0x4);
    assert_int_equal(fwd(&sw, 0, mac_b, mac_a, 0), 0x4);
    fwd(&sw, 1, bcast, mac_b, -VSWITCH_ERR_PORT);
    assert_int_equal(vswitch_port_add(&sw, NULL), 1);
    assert_int_equal(sw.port[1].stats.rx_frames + sw.port[1].stats.tx_frames, 0);
    fwd(&sw, 2, bcast, mac_b, 0); /* no longer pinned: anyone may use it */
    assert_int_equal(vswitch_lookup(&sw, mac_b), 2);
}

/* Two networks share nothing; a unicast reaches one port and no other. */
static void test_vswitch_isolation(void **state)
{
    struct vswitch *lan = malloc(sizeof(*lan)), *dmz = malloc(sizeof(*dmz));

    (void)state;
    assert_non_null(lan);
    assert_non_null(dmz);
    assert_int_equal(vswitch_init(lan, "lan"), 0);
    assert_int_equal(vswitch_init(dmz, "dmz"), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vswitch_port_add(lan, NULL), i);
        assert_int_equal(vswitch_port_add(dmz, NULL), i);
    }
    fwd(lan, 1, bcast, mac_b, 0);
    fwd(lan, 2, bcast, mac_c, 0);
    assert_int_equal(vswitch_lookup(dmz, mac_b), -1);
    assert_int_equal(fwd(dmz, 0, mac_b, mac_a, 0), 0xe); /* unknown there: flooded there */
    assert_int_equal(vswitch_lookup(lan, mac_a), -1);
    assert_int_equal(fwd(lan, 2, mac_b, mac_c, 0), 0x2);
    assert_int_equal(lan->port[0].stats.tx_frames, 2); /* the two broadcasts, nothing else */
    assert_int_equal(lan->port[3].stats.tx_frames, 2);
    assert_int_equal(lan->port[1].stats.tx_frames, 2);
    assert_int_equal(dmz->stats.frames, 1);
    free(lan);
    free(dmz);
}

static void test_vswitch_strerror(void **state)
{
    (void)state;
    assert_string_equal(vswitch_strerror(0), "ok");
    assert_string_equal(vswitch_strerror(-VSWITCH_ERR_SPOOF), "source address pinned to another port");
    assert_string_equal(vswitch_strerror(VSWITCH_ERR_LEN), "bad frame length");
    assert_string_equal(vswitch_strerror(-VSWITCH_ERR_COUNT), "unknown error");
    assert_string_equal(vswitch_strerror(-2147483647 - 1), "unknown error");
    for (int e = 1; e < VSWITCH_ERR_COUNT; e++)
        assert_non_null(vswitch_strerror(-e));
}

/* ---- two VMs on one network, wired as keel/virtio_net.h and keel/vswitch.h suggest ---- */

/*
 * One network lock serialises both transports, the switch and the queues
 * (the single-threaded test stands in for it), so tx() may deliver to the
 * other port directly. A frame that finds no receive buffer waits in the
 * port's netq until rx_ready().
 */
struct vm_port {
    struct net_world *w;
    struct virtio_net net;
    struct virtio_mmio t;
    struct fake_drv rx, tx;
    struct netq q;
    int port;
};

struct net_world {
    struct fake_mem m;
    struct vswitch sw;
    struct vm_port vm[2];
};

static void world_deliver(struct vm_port *p, const u8 *frame, u32 len)
{
    if (netq_count(&p->q) || !virtio_net_deliver(&p->net, &p->t, frame, len))
        netq_push(&p->q, frame, len);
}

static void world_tx(void *ctx, const u8 *frame, u32 len)
{
    struct vm_port *p = ctx;
    u32 mask;

    if (vswitch_forward(&p->w->sw, (unsigned int)p->port, frame, len, &mask))
        return;
    for (unsigned int i = 0; i < 2; i++)
        if (mask & BIT(p->w->vm[i].port))
            world_deliver(&p->w->vm[i], frame, len);
}

static void world_rx_ready(void *ctx)
{
    struct vm_port *p = ctx;
    const u8 *frame;
    u32 len;

    while ((frame = netq_peek(&p->q, &len)) && virtio_net_deliver(&p->net, &p->t, frame, len))
        netq_pop(&p->q);
}

static void world_vm_up(struct net_world *w, unsigned int i, const u8 *mac)
{
    struct vm_port *p = &w->vm[i];
    u64 base = FAKE_RAM2 + 0x40000 * (u64)i;

    p->w = w;
    netq_init(&p->q);
    assert_int_equal(virtio_net_init(&p->net, mac, world_tx, world_rx_ready, p), 0);
    assert_int_equal(virtio_mmio_init(&p->t, &virtio_net_ops, &p->net, &w->m.ops, NULL, NULL,
                                      NULL),
                     0);
    p->port = vswitch_port_add(&w->sw, mac);
    assert_int_equal(p->port, (int)i);
    assert_true(fake_drv_negotiate_pair(&p->rx, &p->tx, &p->t, &w->m, LINUX_NET_FEATURES));
    assert_true(fake_drv_setup_queue(&p->rx, 0, 16, base, base + 0x10000, base + 0x20000));
    assert_true(fake_drv_setup_queue(&p->tx, 1, 16, base + 0x8000, base + 0x20000,
                                     base + 0x40000));
    fake_drv_driver_ok(&p->rx);
}

static void world_send(struct vm_port *p, const u8 *frame, u32 len)
{
    u8 bytes[HDR + ETH_FRAME_MAX] = { 0 };
    u64 gpa = fake_drv_alloc(&p->tx, HDR + len, 8);
    u16 id;
    u32 used;

    memcpy(bytes + HDR, frame, len);
    guest_write(p->rx.m, gpa, bytes, HDR + len);
    fake_drv_add(&p->tx, (struct fake_sg[]){ { gpa, HDR + len } }, 1, 0);
    fake_drv_kick(&p->tx);
    assert_true(fake_drv_get_used(&p->tx, &id, &used));
    fake_drv_heap_reset(&p->tx);
}

/* What @p's driver received next: its length, the frame in @out. */
static u32 world_recv(struct vm_port *p, u64 *gpa, unsigned int *next, u8 *out)
{
    u16 id;
    u32 len;

    if (!fake_drv_get_used(&p->rx, &id, &len))
        return 0;
    assert_true(len >= HDR);
    guest_read(p->rx.m, gpa[(*next)++], out, len);
    memmove(out, out + HDR, len - HDR);
    return len - HDR;
}

static void test_net_two_vms(void **state)
{
    struct net_world *w = calloc(1, sizeof(*w));
    u8 arp[42], reply[42], big[1514], got[HDR + ETH_FRAME_MAX];
    u64 gpa_b[8];
    unsigned int next_b = 0, next_a = 0;
    u64 gpa_a[8];

    (void)state;
    assert_non_null(w);
    fake_mem_init(&w->m);
    assert_int_equal(vswitch_init(&w->sw, "lan"), 0);
    world_vm_up(w, 0, mac_a);
    world_vm_up(w, 1, mac_b);
    /* B has posted 2 receive buffers, A none yet */
    for (unsigned int i = 0; i < 2; i++) {
        gpa_b[i] = fake_drv_alloc(&w->vm[1].rx, 1530, 8);
        fake_drv_add(&w->vm[1].rx, (struct fake_sg[]){ { gpa_b[i], 1530 } }, 0, 1);
        fake_drv_kick_if_needed(&w->vm[1].rx);
    }
    /* A broadcasts an ARP request: B gets it */
    make_frame(arp, sizeof(arp), bcast, mac_a, 0x0806, 1);
    world_send(&w->vm[0], arp, sizeof(arp));
    assert_int_equal(world_recv(&w->vm[1], gpa_b, &next_b, got), sizeof(arp));
    assert_memory_equal(got, arp, sizeof(arp));
    /* B answers A, who has no buffer: queued at A's port, delivered when A posts one */
    make_frame(reply, sizeof(reply), mac_a, mac_b, 0x0806, 2);
    world_send(&w->vm[1], reply, sizeof(reply));
    assert_int_equal(netq_count(&w->vm[0].q), 1);
    assert_int_equal(w->vm[0].net.stats.rx_no_buffer, 1);
    gpa_a[0] = fake_drv_alloc(&w->vm[0].rx, 1530, 8);
    fake_drv_add(&w->vm[0].rx, (struct fake_sg[]){ { gpa_a[0], 1530 } }, 0, 1);
    assert_true(fake_drv_kick_needed(&w->vm[0].rx));
    fake_drv_kick(&w->vm[0].rx);
    assert_int_equal(netq_count(&w->vm[0].q), 0);
    assert_int_equal(world_recv(&w->vm[0], gpa_a, &next_a, got), sizeof(reply));
    assert_memory_equal(got, reply, sizeof(reply));
    /* a full-sized unicast from A to B: learned, not flooded */
    make_frame(big, sizeof(big), mac_b, mac_a, 0x0800, 3);
    world_send(&w->vm[0], big, sizeof(big));
    assert_int_equal(world_recv(&w->vm[1], gpa_b, &next_b, got), sizeof(big));
    assert_memory_equal(got, big, sizeof(big));
    assert_int_equal(w->sw.stats.unicast, 2);
    assert_int_equal(w->sw.stats.flooded, 1);
    /* B spoofing A's address gets nowhere */
    make_frame(reply, sizeof(reply), bcast, mac_a, 0x0806, 4);
    world_send(&w->vm[1], reply, sizeof(reply));
    assert_int_equal(w->sw.stats.dropped, 1);
    assert_int_equal(netq_count(&w->vm[0].q), 0);
    assert_int_equal(w->vm[0].net.stats.rx_packets, 1);
    assert_int_equal(w->vm[1].net.stats.rx_packets, 2);
    assert_int_equal(w->m.refused, 0);
    for (unsigned int i = 0; i < 2; i++) {
        fake_drv_free(&w->vm[i].rx);
        fake_drv_free(&w->vm[i].tx);
    }
    fake_mem_free(&w->m);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_net_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_feature_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_init_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_tx_one_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_tx_any_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_tx_across_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_tx_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_tx_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_tx_writable_breaks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_tx_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_no_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_ready_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_small_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_not_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_wrong_transport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_readable_breaks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_rx_interrupts, setup, teardown),
        cmocka_unit_test(test_netq_fifo),
        cmocka_unit_test(test_netq_full),
        cmocka_unit_test(test_netq_lengths_and_clear),
        cmocka_unit_test(test_vswitch_init),
        cmocka_unit_test(test_vswitch_ports),
        cmocka_unit_test(test_vswitch_flood),
        cmocka_unit_test(test_vswitch_learning),
        cmocka_unit_test(test_vswitch_no_reflection),
        cmocka_unit_test(test_vswitch_bad_source),
        cmocka_unit_test(test_vswitch_bad_frames),
        cmocka_unit_test(test_vswitch_reserved),
        cmocka_unit_test(test_vswitch_pinned),
        cmocka_unit_test(test_vswitch_move),
        cmocka_unit_test(test_vswitch_quota),
        cmocka_unit_test(test_vswitch_lru),
        cmocka_unit_test(test_vswitch_port_del),
        cmocka_unit_test(test_vswitch_isolation),
        cmocka_unit_test(test_vswitch_strerror),
        cmocka_unit_test(test_net_two_vms),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
