/*
 * Host unit tests of the virtio console (src/vdev/virtio_console.c) behind
 * the virtio-mmio transport, against tests/unit/virtio's fake guest: its
 * discontiguous memory and its Linux-like driver, one struct fake_drv per
 * queue (receiveq0 and transmitq0). What the device outputs is recorded
 * byte for byte through write(), and what it receives is read back from
 * the driver's buffers, so every check is on exact bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <keel/virtio_console.h>
#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

#include "virtio_test_util.h"

/* Feature bits as the spec numbers them (5.3.3). */
#define CON_F_SIZE (1ULL << 0)
#define CON_F_MULTIPORT (1ULL << 1)
#define CON_F_EMERG_WRITE (1ULL << 2)
#define LINUX_CON_FEATURES \
    (F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | CON_F_SIZE | CON_F_MULTIPORT | CON_F_EMERG_WRITE)

#define RXQ 0
#define TXQ 1
#define QNUM 16
/*
 * Guest memory: each queue's rings in chunk 2, each driver's heap in chunk
 * 0, and the page on either side of the chunk 0/1 boundary kept for
 * buffers placed by hand across it.
 */
#define TX_RING FAKE_RAM2
#define RX_RING (FAKE_RAM2 + 0x10000)
#define TX_HEAP FAKE_RAM0
#define RX_HEAP (FAKE_RAM0 + 0x20000)
#define HEAPS_END (FAKE_RAM0 + 0x38000)
#define ACROSS (FAKE_RAM1 - 0x1000) /* 8 KiB from here: 4 in chunk 0, 4 in chunk 1 */
#define HOLE FAKE_RAM01_END

#define MAX_OUT 16384

struct fixture {
    struct fake_mem m;
    struct fake_drv rx, tx;
    struct virtio_mmio t;
    struct virtio_console con;

    u8 out[MAX_OUT]; /* what write() got, end to end */
    u32 out_len;
    unsigned int pieces; /* write() calls */
    u32 max_piece;

    struct mmio_events ev;

    unsigned int rx_ready_calls;
    const u8 *held; /* input rx_ready() passes on, as a console multiplexer would */
    u32 held_len, held_taken;
};

/* ---- fixture ---- */

static void rec_write(void *ctx, const u8 *buf, u32 len)
{
    struct fixture *f = ctx;

    assert_true(len >= 1 && len <= VIRTIO_CONSOLE_BOUNCE);
    assert_true(f->out_len + len <= MAX_OUT);
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
    f->pieces++;
    if (len > f->max_piece)
        f->max_piece = len;
}

static void rec_rx_ready(void *ctx)
{
    struct fixture *f = ctx;

    f->rx_ready_calls++;
    if (f->held_taken < f->held_len)
        f->held_taken += virtio_console_receive(&f->con, &f->t, f->held + f->held_taken,
                                                f->held_len - f->held_taken);
}

static void make_console(struct fixture *f, bool with_write)
{
    struct virtio_console_io io = { with_write ? rec_write : NULL, rec_rx_ready, f };

    virtio_console_init(&f->con, &io);
    assert_int_equal(virtio_mmio_init(&f->t, &virtio_console_ops, &f->con, &f->m.ops,
                                      mmio_events_irq, mmio_events_err, &f->ev),
                     0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    fake_mem_init(&f->m);
    make_console(f, true);
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

/*
 * Linux's probe: negotiate @want, set up transmitq0 then receiveq0 (or only
 * transmitq0 without @rx_queue), and set DRIVER_OK unless @driver_ok is
 * false. Both queues' driver areas are watched for device writes.
 */
static void con_setup(struct fixture *f, u64 want, bool rx_queue, bool driver_ok)
{
    assert_true(fake_drv_negotiate_pair(&f->rx, &f->tx, &f->t, &f->m, want));
    assert_true(fake_drv_setup_queue(&f->tx, TXQ, QNUM, TX_RING, TX_HEAP, RX_HEAP));
    if (rx_queue) {
        assert_true(fake_drv_setup_queue(&f->rx, RXQ, QNUM, RX_RING, RX_HEAP, HEAPS_END));
        fake_drv_watch(&f->tx);
    }
    if (driver_ok)
        fake_drv_driver_ok(&f->tx);
}

static void con_up(struct fixture *f, u64 want)
{
    con_setup(f, want, true, true);
    assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

static void expect_output(struct fixture *f, const void *want, u32 len)
{
    assert_int_equal(f->out_len, len);
    assert_memory_equal(f->out, want, len);
}

static void expect_needs_reset(struct fixture *f, int err, unsigned int queue)
{
    expect_mmio_needs_reset(&f->t, &f->ev, &f->m, err);
    assert_int_equal(f->ev.last_err_queue, queue);
    assert_true(rd(f, R_InterruptStatus) & VIRTIO_MMIO_INT_CONFIG);
}

static void fill_pattern(u8 *p, u32 len, unsigned int seed)
{
    for (u32 i = 0; i < len; i++)
        p[i] = (u8)(' ' + (i * 7 + seed * 13 + i / 95) % 95);
}

/* Lays @len bytes of @data out in the guest as the buffers @sg describe (lengths set, addresses too). */
static void guest_scatter(struct fixture *f, const struct fake_sg *sg, unsigned int n,
                          const u8 *data)
{
    u32 off = 0;

    for (unsigned int i = 0; i < n; off += sg[i].len, i++)
        if (sg[i].len)
            guest_write(&f->m, sg[i].gpa, data + off, sg[i].len);
}

/* Transmits one chain of device-readable buffers @sg; returns its used length. */
static u32 tx_chain(struct fixture *f, const struct fake_sg *sg, unsigned int n)
{
    u16 head, id;
    u32 len;

    head = fake_drv_add(&f->tx, sg, n, 0);
    fake_drv_kick_if_needed(&f->tx);
    assert_true(fake_drv_get_used(&f->tx, &id, &len));
    assert_int_equal(id, head);
    return len;
}

/*
 * Makes a receive chain of @n device-writable buffers of @lens bytes from
 * the heap, filled with 0xee, available; their addresses go to @gpa.
 */
static u16 rx_post(struct fixture *f, const u32 *lens, unsigned int n, u64 *gpa)
{
    struct fake_sg sg[8];

    assert_true(n <= ARRAY_SIZE(sg));
    for (unsigned int i = 0; i < n; i++) {
        sg[i] = (struct fake_sg){ fake_drv_alloc(&f->rx, lens[i] ? lens[i] : 1, 8), lens[i] };
        guest_fill(&f->m, sg[i].gpa, 0xee, lens[i]);
        gpa[i] = sg[i].gpa;
    }
    return fake_drv_add(&f->rx, sg, 0, n);
}

/* The next used element of receiveq0: must be @head with @len bytes. */
static void expect_rx_used(struct fixture *f, u16 head, u32 len)
{
    u16 id;
    u32 got;

    assert_true(fake_drv_get_used(&f->rx, &id, &got));
    assert_int_equal(id, head);
    assert_int_equal(got, len);
}

/* @len bytes at @gpa are @want, and the @rest after them still 0xee. */
static void expect_guest(struct fixture *f, u64 gpa, const void *want, u32 len, u32 rest)
{
    u8 buf[256];

    assert_true(len + rest <= sizeof(buf));
    guest_read(&f->m, gpa, buf, len + rest);
    assert_memory_equal(buf, want, len);
    for (u32 i = 0; i < rest; i++)
        assert_int_equal(buf[len + i], 0xee);
}

/* ---- identity, features, configuration ---- */

static void test_identity(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, R_MagicValue), VIRTIO_MMIO_MAGIC);
    assert_int_equal(rd(f, R_Version), 2);
    assert_int_equal(rd(f, R_DeviceID), 3);
    assert_int_equal(rd(f, R_VendorID), VIRTIO_MMIO_VENDOR);
    /* port 0's two queues and nothing else: no control queues without MULTIPORT (5.3.2) */
    for (u32 q = 0; q < VIRTIO_MMIO_MAX_QUEUES + 2; q++) {
        wr(f, R_QueueSel, q);
        assert_int_equal(rd(f, R_QueueNumMax), q < 2 ? 128 : 0);
    }
}

static void test_features(void **state)
{
    struct fixture *f = *state;

    wr(f, R_DeviceFeaturesSel, 0);
    assert_int_equal(rd(f, R_DeviceFeatures), (1U << 2) | (1U << 28) | (1U << 29));
    wr(f, R_DeviceFeaturesSel, 1);
    assert_int_equal(rd(f, R_DeviceFeatures), 1); /* VIRTIO_F_VERSION_1 */

    /* what Linux asks: it gets EMERG_WRITE and the transport's, not SIZE or MULTIPORT */
    con_up(f, LINUX_CON_FEATURES);
    assert_int_equal(f->rx.features, F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | CON_F_EMERG_WRITE);
    assert_int_equal(virtio_mmio_features(&f->t), f->rx.features);

    /* a driver that accepts what was not offered does not get FEATURES_OK (2.2.2) */
    static const u64 refused[] = { F_VERSION_1 | CON_F_SIZE, F_VERSION_1 | CON_F_MULTIPORT,
                                   CON_F_EMERG_WRITE /* no VERSION_1 */ };
    for (unsigned int i = 0; i < ARRAY_SIZE(refused); i++) {
        wr(f, R_Status, 0);
        wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER);
        wr(f, R_DriverFeaturesSel, 0);
        wr(f, R_DriverFeatures, (u32)refused[i]);
        wr(f, R_DriverFeaturesSel, 1);
        wr(f, R_DriverFeatures, (u32)(refused[i] >> 32));
        wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
        assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER);
    }
    /* the bare minimum works too */
    con_up(f, F_VERSION_1);
    assert_int_equal(f->rx.features, F_VERSION_1);
}

/* struct virtio_console_config through the transport: 12 bytes of 0, at every width. */
static void test_config_bytes(void **state)
{
    struct fixture *f = *state;

    for (u64 off = 0; off < VIRTIO_MMIO_CONFIG_MAX; off++) {
        assert_int_equal(cfg_rd(f, off, 1), 0);
        if (off % 2 == 0)
            assert_int_equal(cfg_rd(f, off, 2), 0);
        if (off % 4 == 0)
            assert_int_equal(cfg_rd(f, off, 4), 0);
    }
    /* the driver must not write cols, rows or max_nr_ports (5.3.4.1): ignored, nothing output */
    cfg_wr(f, VIRTIO_CONSOLE_CFG_COLS, 2, 80);
    cfg_wr(f, VIRTIO_CONSOLE_CFG_ROWS, 2, 25);
    cfg_wr(f, VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, 4, 0x41414141);
    cfg_wr(f, VIRTIO_CONSOLE_CONFIG_SIZE, 4, 0x42); /* past the space */
    assert_int_equal(cfg_rd(f, 0, 4), 0);
    assert_int_equal(cfg_rd(f, 4, 4), 0);
    assert_int_equal(f->out_len, 0);
    assert_int_equal(rd(f, R_ConfigGeneration), 0);
    /* still so once the driver runs */
    con_up(f, LINUX_CON_FEATURES);
    assert_int_equal(cfg_rd(f, 0, 2), 0); /* cols: no VIRTIO_CONSOLE_F_SIZE */
    assert_int_equal(cfg_rd(f, 2, 2), 0); /* rows */
    assert_int_equal(cfg_rd(f, 8, 4), 0); /* emerg_wr reads 0 */
}

/* emerg_wr: its low byte out, at any time (5.3.4, 5.3.5), whatever the access width. */
static void test_emerg_wr(void **state)
{
    struct fixture *f = *state;
    u64 v;

    /* Status 0: nothing negotiated, no queue */
    cfg_wr(f, 8, 4, 'H');
    cfg_wr(f, 8, 4, 0xabcdef00 | 'i'); /* only the low byte */
    cfg_wr(f, 8, 1, ' ');
    cfg_wr(f, 8, 2, 0x4100 | 'e');
    /* accesses that miss byte 0 of emerg_wr output nothing */
    cfg_wr(f, 9, 1, 'X');
    cfg_wr(f, 10, 1, 'X');
    cfg_wr(f, 10, 2, 'X');
    cfg_wr(f, 11, 1, 'X');
    assert_int_equal(virtio_mmio_write(&f->t, R_Config + 9, 4, 'X'), -1); /* misaligned */
    assert_int_equal(virtio_mmio_read(&f->t, R_Config + 9, 2, &v), -1);
    expect_output(f, "Hi e", 4);
    assert_int_equal(f->pieces, 4);
    assert_int_equal(f->con.stats.tx_bytes, 4);

    /* running, and with the device broken: still goes out */
    con_up(f, LINUX_CON_FEATURES);
    cfg_wr(f, 8, 4, 'm');
    virtio_mmio_device_error(&f->t, TXQ, -VIRTQ_ERR_LOOP);
    cfg_wr(f, 8, 1, 'e');
    cfg_wr(f, 8, 4, 'r');
    wr(f, R_Status, 0);
    cfg_wr(f, 8, 4, 'g');
    expect_output(f, "Hi emerg", 8);
    assert_int_equal(f->con.stats.tx_bytes, 8);
    assert_int_equal(f->con.stats.dropped, 0);
    /* no used buffer notification for it: only the broken device's configuration change */
    assert_int_equal(f->ev.nirq, 2);
}

/* ---- transmitq0 ---- */

/* 1000 bytes cut into uneven buffers, one of them empty and one across two host chunks. */
static void test_tx_cut_buffers(void **state)
{
    struct fixture *f = *state;
    static u8 msg[1000];
    static const u32 cut[] = { 1, 7, 300, 0, 250, 186, 256 };
    struct fake_sg sg[ARRAY_SIZE(cut)];

    fill_pattern(msg, sizeof(msg), 1);
    con_up(f, F_VERSION_1 | CON_F_EMERG_WRITE);
    for (unsigned int i = 0; i < ARRAY_SIZE(cut); i++)
        sg[i] = (struct fake_sg){ fake_drv_alloc(&f->tx, cut[i] + 1, 1), cut[i] };
    sg[4].gpa = FAKE_RAM1 - 100; /* 100 bytes in chunk 0, 150 in chunk 1 */
    guest_scatter(f, sg, ARRAY_SIZE(sg), msg);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(tx_chain(f, sg, ARRAY_SIZE(sg)), 0);
    expect_output(f, msg, sizeof(msg));
    /* a bounce buffer at a time: 256, 256, 256, 232, whatever the cut */
    assert_int_equal(f->pieces, 4);
    assert_int_equal(f->max_piece, VIRTIO_CONSOLE_BOUNCE);
    assert_true(f->m.crossings >= 1);
    assert_int_equal(f->con.stats.tx_bytes, sizeof(msg));
    assert_int_equal(f->con.stats.bad_chains, 0);
    assert_int_equal(fake_drv_interrupt(&f->tx), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(f->m.forbidden_writes, 0);
    assert_int_equal(f->m.refused, 0);
}

/* Indirect descriptors, several chains per notification, in order. */
static void test_tx_indirect(void **state)
{
    struct fixture *f = *state;
    static u8 msg[3][600];
    static const u32 cut[] = { 100, 1, 299, 64, 136 };
    struct fake_sg sg[3][ARRAY_SIZE(cut)];
    u16 id;
    u32 len;

    con_up(f, LINUX_CON_FEATURES);
    assert_true(f->tx.indirect && f->tx.use_indirect);
    for (unsigned int c = 0; c < 3; c++) {
        fill_pattern(msg[c], sizeof(msg[c]), 10 + c);
        for (unsigned int i = 0; i < ARRAY_SIZE(cut); i++)
            sg[c][i] = (struct fake_sg){ fake_drv_alloc(&f->tx, cut[i], 1), cut[i] };
        guest_scatter(f, sg[c], ARRAY_SIZE(cut), msg[c]);
        fake_drv_add(&f->tx, sg[c], ARRAY_SIZE(cut), 0);
    }
    /* each chain is one indirect descriptor in the ring */
    assert_int_equal(f->tx.num_free, QNUM - 3);
    fake_drv_kick_if_needed(&f->tx);
    assert_int_equal(f->tx.kicks, 1);
    for (unsigned int c = 0; c < 3; c++) {
        assert_true(fake_drv_get_used(&f->tx, &id, &len));
        assert_int_equal(len, 0);
    }
    assert_int_equal(f->out_len, 3 * 600);
    for (unsigned int c = 0; c < 3; c++)
        assert_memory_equal(f->out + 600 * c, msg[c], 600);
    assert_int_equal(f->pieces, 3 * 3); /* 256 + 256 + 88 per chain */
    assert_int_equal(f->con.stats.tx_bytes, 1800);
}

/* A long chain, many buffers, one notification with VIRTIO_F_EVENT_IDX for a batch. */
static void test_tx_long_chain(void **state)
{
    struct fixture *f = *state;
    static u8 msg[8000];
    struct fake_sg sg[VIRTQ_MAX_SEGS];
    u32 off = 0;

    fill_pattern(msg, sizeof(msg), 3);
    con_up(f, LINUX_CON_FEATURES);
    f->tx.use_indirect = true;
    for (unsigned int i = 0; i < ARRAY_SIZE(sg); i++) {
        u32 n = i + 1 < ARRAY_SIZE(sg) ? 1 + (i * 37) % 200 : (u32)sizeof(msg) - off;

        sg[i] = (struct fake_sg){ fake_drv_alloc(&f->tx, n, 4), n };
        off += n;
    }
    assert_true(off == sizeof(msg));
    guest_scatter(f, sg, ARRAY_SIZE(sg), msg);
    assert_int_equal(tx_chain(f, sg, ARRAY_SIZE(sg)), 0);
    expect_output(f, msg, sizeof(msg));
    assert_int_equal(f->pieces, (sizeof(msg) + VIRTIO_CONSOLE_BOUNCE - 1) / VIRTIO_CONSOLE_BOUNCE);
}

/* A device-writable buffer on transmitq0 (5.3.6.1), even an empty one: nothing out, reset needed. */
static void test_tx_writable_buffer(void **state)
{
    struct fixture *f = *state;
    static const u32 writable_len[] = { 16, 0 };

    for (unsigned int i = 0; i < ARRAY_SIZE(writable_len); i++) {
        struct fake_sg sg[2];

        f->ev.nerr = 0;
        con_up(f, F_VERSION_1);
        sg[0] = (struct fake_sg){ fake_drv_alloc(&f->tx, 3, 1), 3 };
        guest_write(&f->m, sg[0].gpa, "abc", 3);
        sg[1] = (struct fake_sg){ fake_drv_alloc(&f->tx, 16, 1), writable_len[i] };
        guest_fill(&f->m, sg[1].gpa, 0xee, 16);
        fake_drv_add(&f->tx, sg, 1, 1);
        fake_drv_kick(&f->tx);
        expect_needs_reset(f, VIRTQ_ERR_FRAMING, TXQ);
        assert_false(fake_drv_get_used(&f->tx, &(u16){ 0 }, &(u32){ 0 }));
        assert_int_equal(f->out_len, 0);
        assert_int_equal(f->con.stats.bad_chains, i + 1);
        expect_guest(f, sg[1].gpa, "", 0, 16); /* never written */
    }
}

/* Chains the walker refuses; and what was sent before a bad chain still goes out. */
static void test_tx_bad_chains(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[2];

    /* a buffer outside the VM */
    con_up(f, F_VERSION_1);
    sg[0] = (struct fake_sg){ HOLE, 64 };
    fake_drv_add(&f->tx, sg, 1, 0);
    fake_drv_kick(&f->tx);
    expect_needs_reset(f, VIRTQ_ERR_MEM, TXQ);
    assert_int_equal(f->out_len, 0);
    assert_int_equal(f->con.stats.bad_chains, 1);

    /* a good chain, then a head outside the table, in one notification */
    f->ev.nerr = 0;
    con_up(f, F_VERSION_1);
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->tx, 5, 1), 5 };
    guest_write(&f->m, sg[0].gpa, "first", 5);
    fake_drv_add(&f->tx, sg, 1, 0);
    fake_drv_publish(&f->tx, QNUM + 3);
    fake_drv_kick(&f->tx);
    expect_output(f, "first", 5);
    assert_true(fake_drv_get_used(&f->tx, &(u16){ 0 }, &(u32){ 0 }));
    assert_true(rd(f, R_InterruptStatus) & VIRTIO_MMIO_INT_VRING);
    expect_needs_reset(f, VIRTQ_ERR_HEAD, TXQ);
    assert_int_equal(f->con.stats.bad_chains, 2);

    /* a loop of descriptors */
    f->ev.nerr = 0;
    con_up(f, F_VERSION_1);
    fake_drv_desc(&f->tx, f->tx.desc, 0, fake_drv_alloc(&f->tx, 8, 1), 8, VIRTQ_DESC_F_NEXT, 1);
    fake_drv_desc(&f->tx, f->tx.desc, 1, fake_drv_alloc(&f->tx, 8, 1), 8, VIRTQ_DESC_F_NEXT, 0);
    fake_drv_publish(&f->tx, 0);
    fake_drv_kick(&f->tx);
    expect_needs_reset(f, VIRTQ_ERR_LOOP, TXQ);
    assert_int_equal(f->out_len, 5);
    assert_int_equal(f->con.stats.bad_chains, 3);
    /* once broken, notifications touch nothing */
    fake_mem_clear_counts(&f->m);
    fake_drv_kick(&f->tx);
    fake_drv_kick(&f->rx);
    assert_int_equal(f->m.reads + f->m.writes, 0);
}

/* No write(): output is counted as dropped, chains still handed back. */
static void test_tx_without_write(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[1];

    make_console(f, false);
    con_up(f, LINUX_CON_FEATURES);
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->tx, 300, 1), 300 };
    guest_fill(&f->m, sg[0].gpa, 'x', 300);
    assert_int_equal(tx_chain(f, sg, 1), 0);
    cfg_wr(f, 8, 4, 'y');
    assert_int_equal(f->con.stats.dropped, 301);
    assert_int_equal(f->con.stats.tx_bytes, 0);
    assert_int_equal(f->ev.nerr, 0);
}

/* ---- receiveq0 ---- */

/* Input spread over three chains of 8, 2 + 3 and 16 bytes, each handed back with what it got. */
static void test_rx_fills_several_chains(void **state)
{
    struct fixture *f = *state;
    static const char in[] = "0123456789abcdefghij";
    static const u32 a_len[] = { 8 }, b_len[] = { 2, 3 }, c_len[] = { 16 };
    u64 a[1], b[2], c[1];
    u16 ha, hb, hc;

    for (int indirect = 0; indirect < 2; indirect++) {
        memset(&f->con.stats, 0, sizeof(f->con.stats));
        con_up(f, LINUX_CON_FEATURES);
        f->rx.use_indirect = indirect;
        ha = rx_post(f, a_len, 1, a);
        hb = rx_post(f, b_len, 2, b);
        hc = rx_post(f, c_len, 1, c);
        fake_drv_kick_if_needed(&f->rx);
        fake_drv_interrupt(&f->rx);
        fake_mem_clear_counts(&f->m);
        assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)in, 20), 20);
        expect_rx_used(f, ha, 8);
        expect_rx_used(f, hb, 5);
        expect_rx_used(f, hc, 7);
        assert_false(fake_drv_get_used(&f->rx, &(u16){ 0 }, &(u32){ 0 }));
        expect_guest(f, a[0], "01234567", 8, 0);
        expect_guest(f, b[0], "89", 2, 0);
        expect_guest(f, b[1], "abc", 3, 0);
        expect_guest(f, c[0], "defghij", 7, 9);
        assert_int_equal(fake_drv_interrupt(&f->rx), VIRTIO_MMIO_INT_VRING);
        assert_int_equal(f->con.stats.rx_bytes, 20);
        assert_int_equal(f->m.forbidden_writes, 0);
        assert_int_equal(f->m.refused, 0);
        /* every buffer used: more input is the caller's to keep */
        assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"klm", 3), 0);
        assert_int_equal(f->con.stats.rx_bytes, 20);
    }
}

/* More input than room: exactly the room is taken, the rest left to the caller. */
static void test_rx_more_than_room(void **state)
{
    struct fixture *f = *state;
    static u8 in[100];
    static const u32 lens[] = { 10 };
    u64 g[2][1];
    u16 h[2];

    fill_pattern(in, sizeof(in), 5);
    con_up(f, F_VERSION_1);
    h[0] = rx_post(f, lens, 1, g[0]);
    h[1] = rx_post(f, lens, 1, g[1]);
    fake_drv_kick_if_needed(&f->rx);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, in, sizeof(in)), 20);
    expect_rx_used(f, h[0], 10);
    expect_rx_used(f, h[1], 10);
    expect_guest(f, g[0][0], in, 10, 0);
    expect_guest(f, g[1][0], in + 10, 10, 0);
    /* the caller passes the rest once the driver has made room */
    h[0] = rx_post(f, lens, 1, g[0]);
    fake_drv_kick_if_needed(&f->rx);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, in + 20, sizeof(in) - 20), 10);
    expect_rx_used(f, h[0], 10);
    expect_guest(f, g[0][0], in + 20, 10, 0);
}

/* No buffer, or no receive queue: 0 taken, nothing touched. */
static void test_rx_no_buffer(void **state)
{
    struct fixture *f = *state;

    con_up(f, LINUX_CON_FEATURES);
    fake_drv_interrupt(&f->rx);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"a", 1), 0);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, NULL, 0), 0);
    assert_int_equal(f->con.stats.rx_bytes, 0);
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_int_equal(f->m.forbidden_writes, 0);

    /* a driver that never enabled receiveq0 */
    con_setup(f, F_VERSION_1, false, true);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"a", 1), 0);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    assert_int_equal(f->ev.nerr, 0);
}

/* Not live: before DRIVER_OK, with DEVICE_NEEDS_RESET, after a reset. Buffers stay the driver's. */
static void test_rx_not_live(void **state)
{
    struct fixture *f = *state;
    static const u32 lens[] = { 4 };
    u64 g[1];
    u16 h;

    con_setup(f, F_VERSION_1, true, false);
    h = rx_post(f, lens, 1, g);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"wxyz", 4), 0);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    /* DRIVER_OK: now it takes the input, into the buffer made available before */
    fake_drv_driver_ok(&f->rx);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"wxyz", 4), 4);
    expect_rx_used(f, h, 4);
    expect_guest(f, g[0], "wxyz", 4, 0);

    /* broken */
    rx_post(f, lens, 1, g);
    virtio_mmio_device_error(&f->t, TXQ, -VIRTQ_ERR_LOOP);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"wxyz", 4), 0);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    /* reset by the driver, and from outside */
    wr(f, R_Status, 0);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"wxyz", 4), 0);
    con_up(f, F_VERSION_1);
    rx_post(f, lens, 1, g);
    virtio_mmio_reset(&f->t);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"wxyz", 4), 0);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    assert_int_equal(f->con.stats.rx_bytes, 4);
}

/* A device-readable buffer on receiveq0 (5.3.6.1), or one outside the VM: reset needed. */
static void test_rx_bad_chains(void **state)
{
    struct fixture *f = *state;
    static const u32 lens[] = { 6 };
    struct fake_sg sg[2];
    u64 g[1];
    u16 h;

    /* a good chain, then one with a device-readable buffer */
    con_up(f, F_VERSION_1);
    h = rx_post(f, lens, 1, g);
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->rx, 8, 1), 8 };
    sg[1] = (struct fake_sg){ fake_drv_alloc(&f->rx, 8, 1), 8 };
    guest_fill(&f->m, sg[0].gpa, 0xee, 8);
    guest_fill(&f->m, sg[1].gpa, 0xee, 8);
    fake_drv_add(&f->rx, sg, 1, 1);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"input!more", 10), 6);
    expect_rx_used(f, h, 6);
    expect_guest(f, g[0], "input!", 6, 0);
    expect_guest(f, sg[1].gpa, "", 0, 8); /* not written */
    assert_false(fake_drv_get_used(&f->rx, &(u16){ 0 }, &(u32){ 0 }));
    assert_true(rd(f, R_InterruptStatus) & VIRTIO_MMIO_INT_VRING);
    expect_needs_reset(f, VIRTQ_ERR_FRAMING, RXQ);
    assert_int_equal(f->con.stats.rx_bytes, 6);
    assert_int_equal(f->con.stats.bad_chains, 1);

    /* a buffer outside the VM */
    f->ev.nerr = 0;
    con_up(f, F_VERSION_1);
    sg[0] = (struct fake_sg){ FAKE_RAM2_END - 4, 8 };
    fake_drv_add(&f->rx, sg, 0, 1);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"input", 5), 0);
    expect_needs_reset(f, VIRTQ_ERR_MEM, RXQ);
    assert_int_equal(f->con.stats.bad_chains, 2);
    assert_int_equal(fake_drv_interrupt(&f->rx), VIRTIO_MMIO_INT_CONFIG);
}

/* A receive buffer across two host chunks, and a chain of empty buffers. */
static void test_rx_across_chunks(void **state)
{
    struct fixture *f = *state;
    static u8 in[300];
    struct fake_sg sg[2] = { { ACROSS + 0x1000 - 120, 200 }, { FAKE_RAM0 + 0x39000, 0 } };
    u16 empty, h;

    fill_pattern(in, sizeof(in), 7);
    con_up(f, F_VERSION_1);
    guest_fill(&f->m, sg[0].gpa, 0xee, 210);
    empty = fake_drv_add(&f->rx, sg + 1, 0, 1); /* holds nothing: handed back empty */
    h = fake_drv_add(&f->rx, sg, 0, 1);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, in, sizeof(in)), 200);
    expect_rx_used(f, empty, 0);
    expect_rx_used(f, h, 200);
    expect_guest(f, sg[0].gpa, in, 200, 10);
    assert_true(f->m.crossings >= 1);
}

/* rx_ready(): at DRIVER_OK and at each receiveq0 notification; input passed from inside it. */
static void test_rx_ready(void **state)
{
    struct fixture *f = *state;
    static const u32 lens[] = { 32 };
    u64 g[1];
    u16 h;

    f->held = (const u8 *)"typed before the driver was up";
    f->held_len = (u32)strlen((const char *)f->held);
    con_setup(f, F_VERSION_1, true, false);
    h = rx_post(f, lens, 1, g);
    fake_drv_kick_if_needed(&f->rx); /* not live yet: ignored */
    assert_int_equal(f->rx_ready_calls, 0);
    fake_drv_driver_ok(&f->rx);
    assert_int_equal(f->rx_ready_calls, 1);
    assert_int_equal(f->held_taken, f->held_len);
    expect_rx_used(f, h, f->held_len);
    expect_guest(f, g[0], f->held, f->held_len, 32 - f->held_len);
    assert_int_equal(fake_drv_interrupt(&f->rx), VIRTIO_MMIO_INT_VRING);

    /* a TX notification is not one */
    fake_drv_kick(&f->tx);
    assert_int_equal(f->rx_ready_calls, 1);
    /* more input than room: the rest waits for the driver's next buffer */
    f->held = (const u8 *)"0123456789";
    f->held_len = 10;
    f->held_taken = 0;
    rec_rx_ready(f);
    assert_int_equal(f->held_taken, 0);
    h = rx_post(f, (const u32[]){ 4 }, 1, g);
    fake_drv_kick_if_needed(&f->rx);
    assert_int_equal(f->held_taken, 4);
    expect_rx_used(f, h, 4);
    h = rx_post(f, (const u32[]){ 16 }, 1, g);
    fake_drv_kick_if_needed(&f->rx);
    assert_int_equal(f->held_taken, 10);
    expect_rx_used(f, h, 6);
    expect_guest(f, g[0], "456789", 6, 10);
}

/*
 * VIRTIO_F_EVENT_IDX: while the device leaves buffers in the ring the
 * driver need not notify; once input found it empty, the next buffer is
 * notified, so rx_ready() is never missed.
 */
static void test_rx_event_idx(void **state)
{
    struct fixture *f = *state;
    static const u32 lens[] = { 2 };
    u64 g[1];
    u16 h[3];

    con_up(f, LINUX_CON_FEATURES);
    assert_true(f->rx.event_idx);
    h[0] = rx_post(f, lens, 1, g);
    h[1] = rx_post(f, lens, 1, g);
    fake_drv_kick_if_needed(&f->rx);
    /* 4 bytes fill both and find the ring empty: the driver is asked for the next one */
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"abcdef", 6), 4);
    expect_rx_used(f, h[0], 2);
    expect_rx_used(f, h[1], 2);
    unsigned int calls = f->rx_ready_calls;
    h[2] = rx_post(f, lens, 1, g);
    assert_true(fake_drv_kick_needed(&f->rx));
    fake_drv_kick(&f->rx);
    assert_int_equal(f->rx_ready_calls, calls + 1);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"ef", 2), 2);
    expect_rx_used(f, h[2], 2);
    expect_guest(f, g[0], "ef", 2, 0);
}

/* A reset keeps the counters and loses nothing in flight; the device works again after it. */
static void test_reset(void **state)
{
    struct fixture *f = *state;
    static const u32 lens[] = { 3 };
    struct fake_sg sg[1];
    u64 g[1];
    u16 h;

    con_up(f, LINUX_CON_FEATURES);
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->tx, 2, 1), 2 };
    guest_write(&f->m, sg[0].gpa, "ok", 2);
    assert_int_equal(tx_chain(f, sg, 1), 0);
    wr(f, R_Status, 0);
    assert_int_equal(f->ev.line, false);
    con_up(f, LINUX_CON_FEATURES);
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->tx, 1, 1), 1 };
    guest_write(&f->m, sg[0].gpa, "!", 1);
    assert_int_equal(tx_chain(f, sg, 1), 0);
    h = rx_post(f, lens, 1, g);
    fake_drv_kick_if_needed(&f->rx);
    assert_int_equal(virtio_console_receive(&f->con, &f->t, (const u8 *)"abc", 3), 3);
    expect_rx_used(f, h, 3);
    expect_output(f, "ok!", 3);
    assert_int_equal(f->con.stats.tx_bytes, 3);
    assert_int_equal(f->con.stats.rx_bytes, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emerg_wr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_cut_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_indirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_long_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_writable_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_bad_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_without_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_fills_several_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_more_than_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_no_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_not_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_bad_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_across_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_event_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
    };

    return cmocka_run_group_tests_name("virtio_console", tests, NULL, NULL);
}
