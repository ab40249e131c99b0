/*
 * Host unit tests for src/vdev/vpl011.c, the emulated PL011: registers as the
 * TRM (Arm DDI 0183) defines them, the receive FIFO, the interrupt model
 * described in keel/vpl011.h, and the register sequences Linux's
 * amba-pl011 driver and earlycon perform.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <keel/vpl011.h>

/* Register offsets and bits, spelled out again so a typo in vpl011.c shows. */
#define DR 0x000
#define RSR 0x004
#define FR 0x018
#define ILPR 0x020
#define IBRD 0x024
#define FBRD 0x028
#define LCR_H 0x02c
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03c
#define MIS 0x040
#define ICR 0x044
#define DMACR 0x048

#define FR_CTS 0x001
#define FR_DSR 0x002
#define FR_DCD 0x004
#define FR_BUSY 0x008
#define FR_RXFE 0x010
#define FR_TXFF 0x020
#define FR_RXFF 0x040
#define FR_TXFE 0x080
#define FR_RI 0x100
#define FR_MODEM (FR_CTS | FR_DSR | FR_DCD | FR_RI)

#define LCR_H_FEN 0x10
#define LCR_H_WLEN_8 0x60

#define CR_UARTEN 0x001
#define CR_LBE 0x080
#define CR_TXE 0x100
#define CR_RXE 0x200
#define CR_DTR 0x400
#define CR_RTS 0x800
#define CR_OUT1 0x1000
#define CR_OUT2 0x2000

#define INT_RI 0x001
#define INT_CTS 0x002
#define INT_DCD 0x004
#define INT_DSR 0x008
#define INT_RX 0x010
#define INT_TX 0x020
#define INT_RT 0x040
#define INT_FE 0x080
#define INT_PE 0x100
#define INT_BE 0x200
#define INT_OE 0x400
#define INT_ALL 0x7ff

#define DR_OE 0x800
#define RSR_OE 0x8

/* ---- fixture: a device whose callbacks record what they were given ---- */

struct fixture {
    struct vpl011 u;
    char tx[512];
    size_t ntx;
    bool irq[512]; /* levels passed to irq(), in order */
    size_t nirq;
};

static void record_tx(void *ctx, char c)
{
    struct fixture *f = ctx;

    assert_true(f->ntx < sizeof(f->tx));
    f->tx[f->ntx++] = c;
}

static void record_irq(void *ctx, bool level)
{
    struct fixture *f = ctx;

    assert_true(f->nirq < sizeof(f->irq));
    f->irq[f->nirq++] = level;
}

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0xa5, sizeof(f)); /* init must not depend on prior contents */
    f.ntx = f.nirq = 0;
    vpl011_init(&f.u, record_tx, record_irq, &f);
    *state = &f;
    return 0;
}

static u32 rd(struct fixture *f, u64 off)
{
    u64 v = ~0ULL;

    assert_int_equal(vpl011_read(&f->u, off, 4, &v), 0);
    assert_true(v <= 0xffffffffULL);
    return (u32)v;
}

static void wr(struct fixture *f, u64 off, u32 v)
{
    assert_int_equal(vpl011_write(&f->u, off, 4, v), 0);
}

static void push(struct fixture *f, const char *s)
{
    while (*s)
        assert_true(vpl011_rx_push(&f->u, *s++));
}

static void enable_fifo(struct fixture *f)
{
    wr(f, LCR_H, LCR_H_WLEN_8 | LCR_H_FEN);
}

/* The last level reported through irq(), or false if it was never called. */
static bool last_irq(const struct fixture *f)
{
    return f->nirq ? f->irq[f->nirq - 1] : false;
}

/* ---- identification and reset ---- */

static void test_id_registers(void **state)
{
    struct fixture *f = *state;
    static const u32 id[8] = { 0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
    u32 pid = 0, cid = 0;
    u64 v;

    for (unsigned int i = 0; i < 8; i++)
        assert_int_equal(rd(f, 0xfe0 + 4 * i), id[i]);
    /* What Linux's AMBA bus computes from them (drivers/amba/bus.c) */
    for (unsigned int i = 0; i < 4; i++) {
        pid |= (rd(f, 0xfe0 + 4 * i) & 0xff) << (8 * i);
        cid |= (rd(f, 0xff0 + 4 * i) & 0xff) << (8 * i);
    }
    assert_int_equal(cid, 0xb105f00d);                /* AMBA_CID */
    assert_int_equal(pid & 0x000fffff, 0x00041011);   /* Arm, PL011 */
    assert_int_equal((pid >> 20) & 0xf, 3);           /* r1p5: Linux sizes the FIFO at 32 */
    /* Narrow reads of them work too */
    assert_int_equal(vpl011_read(&f->u, 0xff0, 1, &v), 0);
    assert_int_equal(v, 0x0d);
    assert_int_equal(vpl011_read(&f->u, 0xffc, 2, &v), 0);
    assert_int_equal(v, 0xb1);
    /* ... and they are read-only */
    wr(f, 0xfe0, 0);
    assert_int_equal(rd(f, 0xfe0), 0x11);
}

static void check_reset_state(struct fixture *f)
{
    assert_int_equal(rd(f, CR), 0x300);
    assert_int_equal(rd(f, IFLS), 0x12);
    assert_int_equal(rd(f, FR), FR_TXFE | FR_RXFE | FR_CTS | FR_DSR | FR_DCD);
    assert_int_equal(rd(f, RSR), 0);
    assert_int_equal(rd(f, ILPR), 0);
    assert_int_equal(rd(f, IBRD), 0);
    assert_int_equal(rd(f, FBRD), 0);
    assert_int_equal(rd(f, LCR_H), 0);
    assert_int_equal(rd(f, IMSC), 0);
    assert_int_equal(rd(f, RIS), 0);
    assert_int_equal(rd(f, MIS), 0);
    assert_int_equal(rd(f, DMACR), 0);
    assert_int_equal(rd(f, DR), 0);
    assert_false(f->u.line);
    assert_int_equal(f->u.rx_dropped, 0);
    assert_true(vpl011_rx_has_room(&f->u));
}

static void test_reset_values(void **state)
{
    struct fixture *f = *state;

    check_reset_state(f);
    assert_int_equal(f->ntx, 0);
    assert_int_equal(f->nirq, 0);
}

static void test_init_resets(void **state)
{
    struct fixture *f = *state;
    size_t calls;

    /* Dirty everything, then reset */
    enable_fifo(f);
    wr(f, CR, 0xffff);
    wr(f, IBRD, 13);
    wr(f, FBRD, 1);
    wr(f, ILPR, 7);
    wr(f, IFLS, 0x3f);
    wr(f, DMACR, 7);
    wr(f, IMSC, INT_ALL);
    for (int i = 0; i < 40; i++)
        vpl011_rx_push(&f->u, 'x');
    assert_true(f->u.line);
    calls = f->nirq;
    vpl011_init(&f->u, record_tx, record_irq, f);
    assert_int_equal(f->nirq, calls); /* init never calls irq() */
    check_reset_state(f);
    assert_int_equal(f->nirq, calls);
}

/* ---- transmit ---- */

static void test_dr_write_transmits(void **state)
{
    struct fixture *f = *state;
    u64 v;

    /* UARTEN is clear after reset: the byte goes out anyway */
    wr(f, DR, 'H');
    assert_int_equal(vpl011_write(&f->u, DR, 2, 'i'), 0);
    assert_int_equal(vpl011_write(&f->u, DR, 1, '!'), 0); /* earlycon's writeb */
    wr(f, DR, 0xf00 | '\n');                              /* bits above 7:0 are not data */
    wr(f, CR, CR_UARTEN | CR_TXE | CR_RXE);
    wr(f, DR, 0x80);
    assert_int_equal(f->ntx, 5);
    assert_memory_equal(f->tx, "Hi!\n\x80", 5);
    /* A write that misses bits 7:0 sends nothing */
    assert_int_equal(vpl011_write(&f->u, DR + 1, 1, 'x'), 0);
    assert_int_equal(vpl011_write(&f->u, DR + 2, 2, 'x'), 0);
    assert_int_equal(f->ntx, 5);
    /* Transmission is instantaneous */
    assert_int_equal(rd(f, FR) & (FR_TXFE | FR_TXFF | FR_BUSY), FR_TXFE);
    /* Writing DR does not feed the receiver */
    assert_int_equal(vpl011_read(&f->u, FR, 4, &v), 0);
    assert_true(v & FR_RXFE);
}

/* earlycon's pl011_putc(): poll TXFF, writeb DR, poll BUSY (readl) */
static void test_earlycon_sequence(void **state)
{
    struct fixture *f = *state;
    const char *msg = "Booting Linux on physical CPU 0x0\n";
    u64 v;

    for (const char *p = msg; *p; p++) {
        int spins = 0;
        do {
            assert_int_equal(vpl011_read(&f->u, FR, 4, &v), 0);
            assert_true(++spins < 2);
        } while (v & FR_TXFF);
        assert_int_equal(vpl011_write(&f->u, DR, 1, (u8)*p), 0);
        assert_int_equal(vpl011_read(&f->u, FR, 4, &v), 0);
        assert_false(v & FR_BUSY);
    }
    assert_int_equal(f->ntx, strlen(msg));
    assert_memory_equal(f->tx, msg, strlen(msg));
    assert_int_equal(f->nirq, 0); /* nothing unmasked */
}

/* ---- receive FIFO ---- */

static void test_fr_rx_flags(void **state)
{
    struct fixture *f = *state;

    enable_fifo(f);
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFE);
    push(f, "abcde");
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), 0);
    for (int i = 5; i < VPL011_FIFO; i++)
        assert_true(vpl011_rx_push(&f->u, 'z'));
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
    /* TX side is unaffected by the state of RX */
    assert_int_equal(rd(f, FR) & (FR_TXFE | FR_TXFF | FR_BUSY), FR_TXFE);
    rd(f, DR);
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), 0);
}

static void test_rx_push_until_full(void **state)
{
    struct fixture *f = *state;

    enable_fifo(f);
    for (int i = 0; i < VPL011_FIFO; i++) {
        assert_true(vpl011_rx_has_room(&f->u));
        assert_true(vpl011_rx_push(&f->u, (char)('A' + i)));
    }
    assert_false(vpl011_rx_has_room(&f->u));
    assert_false(vpl011_rx_push(&f->u, '!'));
    assert_false(vpl011_rx_push(&f->u, '!'));
    assert_false(vpl011_rx_push(&f->u, '!'));
    assert_int_equal(f->u.rx_dropped, 3);
    /* The FIFO kept what it had, in order; nothing of the dropped bytes */
    assert_int_equal(rd(f, DR) & 0xff, 'A');
    assert_true(vpl011_rx_has_room(&f->u));
    assert_true(vpl011_rx_push(&f->u, '#'));
    for (int i = 1; i < VPL011_FIFO; i++)
        assert_int_equal(rd(f, DR) & 0xff, 'A' + i);
    assert_int_equal(rd(f, DR) & 0xff, '#');
    assert_true(rd(f, FR) & FR_RXFE);
    assert_int_equal(f->u.rx_dropped, 3);
}

static void test_dr_read_pops_in_order(void **state)
{
    struct fixture *f = *state;
    u64 v;

    enable_fifo(f);
    push(f, "abc");
    assert_int_equal(rd(f, DR), 'a');
    assert_int_equal(vpl011_read(&f->u, DR, 2, &v), 0); /* Linux's readw */
    assert_int_equal(v, 'b');
    assert_int_equal(vpl011_read(&f->u, DR, 1, &v), 0);
    assert_int_equal(v, 'c');
    assert_true(rd(f, FR) & FR_RXFE);
    assert_int_equal(rd(f, DR), 0); /* empty reads as zero */
    /* The ring wraps: several rounds through it stay in order */
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 20; i++)
            assert_true(vpl011_rx_push(&f->u, (char)(round * 20 + i)));
        for (int i = 0; i < 20; i++)
            assert_int_equal(rd(f, DR), (u8)(round * 20 + i));
    }
    /* All 256 byte values pass unchanged, bit 7 included */
    for (int c = 0; c < 256; c++) {
        assert_true(vpl011_rx_push(&f->u, (char)c));
        assert_int_equal(rd(f, DR), c);
    }
}

static void test_dr_read_any_lane_pops(void **state)
{
    struct fixture *f = *state;
    u64 v;

    enable_fifo(f);
    push(f, "xy");
    /* Reading the error-flag byte of UARTDR is still a read of UARTDR */
    assert_int_equal(vpl011_read(&f->u, DR + 1, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rd(f, DR), 'y');
}

static void test_overrun_reported(void **state)
{
    struct fixture *f = *state;

    /* FEN = 0: one holding register */
    assert_true(vpl011_rx_push(&f->u, 'a'));
    assert_false(vpl011_rx_push(&f->u, 'b'));
    assert_int_equal(rd(f, RSR), RSR_OE);
    assert_true(rd(f, RIS) & INT_OE);
    assert_int_equal(rd(f, DR), 'a'); /* received before the loss: clean */
    assert_true(vpl011_rx_push(&f->u, 'c'));
    assert_int_equal(rd(f, DR), DR_OE | 'c'); /* first byte after the loss carries OE */
    assert_true(vpl011_rx_push(&f->u, 'd'));
    assert_int_equal(rd(f, DR), 'd');
    /* UARTECR: any write clears UARTRSR */
    assert_int_equal(rd(f, RSR), RSR_OE);
    wr(f, RSR, 0);
    assert_int_equal(rd(f, RSR), 0);
    /* OERIS stays until UARTICR clears it */
    assert_true(rd(f, RIS) & INT_OE);
    wr(f, ICR, INT_OE);
    assert_false(rd(f, RIS) & INT_OE);
    assert_int_equal(f->u.rx_dropped, 1);
}

static void test_fen_disabled_one_entry(void **state)
{
    struct fixture *f = *state;

    /* Reset state: FEN = 0 */
    assert_false(rd(f, LCR_H) & LCR_H_FEN);
    wr(f, IMSC, INT_RX);
    assert_true(vpl011_rx_push(&f->u, 'a'));
    /* One entry is full, and is the trigger level */
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
    assert_false(vpl011_rx_has_room(&f->u));
    assert_true(rd(f, RIS) & INT_RX);
    assert_true(f->u.line);
    assert_false(vpl011_rx_push(&f->u, 'b'));
    assert_int_equal(f->u.rx_dropped, 1);
    assert_int_equal(rd(f, DR) & 0xff, 'a');
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFE);
    assert_false(rd(f, RIS) & INT_RX);
    assert_false(f->u.line);
    assert_true(vpl011_rx_has_room(&f->u));
    /* Every byte raises RXRIS with the FIFO disabled */
    assert_true(vpl011_rx_push(&f->u, 'c'));
    assert_true(f->u.line);
    assert_int_equal(rd(f, DR) & 0xff, 'c');
    assert_false(f->u.line);
}

static void test_fen_change_keeps_data(void **state)
{
    struct fixture *f = *state;

    /* Enabling the FIFO keeps the held byte and makes room */
    assert_true(vpl011_rx_push(&f->u, 'a'));
    enable_fifo(f);
    assert_true(vpl011_rx_has_room(&f->u));
    push(f, "bc");
    /* Disabling it with three bytes held: full until drained */
    wr(f, LCR_H, LCR_H_WLEN_8);
    assert_false(vpl011_rx_has_room(&f->u));
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
    assert_false(vpl011_rx_push(&f->u, 'x'));
    assert_int_equal(rd(f, DR) & 0xff, 'a');
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
    assert_int_equal(rd(f, DR) & 0xff, 'b');
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
    assert_int_equal(rd(f, DR), 'c');
    assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFE);
    assert_true(vpl011_rx_has_room(&f->u));
    assert_true(vpl011_rx_push(&f->u, 'y'));
    assert_int_equal(rd(f, DR), DR_OE | 'y'); /* 'x' was lost before it */
}

/* ---- interrupt registers ---- */

static void test_imsc_ris_mis_icr(void **state)
{
    struct fixture *f = *state;
    u64 v;

    enable_fifo(f);
    push(f, "a");                  /* RTRIS */
    wr(f, DR, 'z');                /* TXRIS */
    assert_int_equal(rd(f, RIS), INT_RT | INT_TX);
    assert_int_equal(rd(f, MIS), 0);
    /* UARTRIS and UARTMIS are read-only */
    wr(f, RIS, 0);
    wr(f, MIS, 0);
    assert_int_equal(rd(f, RIS), INT_RT | INT_TX);
    /* UARTMIS = UARTRIS & UARTIMSC */
    wr(f, IMSC, INT_RT | INT_OE);
    assert_int_equal(rd(f, IMSC), INT_RT | INT_OE);
    assert_int_equal(rd(f, MIS), INT_RT);
    /* UARTICR clears exactly the bits written as 1, and reads as zero */
    wr(f, ICR, INT_TX);
    assert_int_equal(rd(f, RIS), INT_RT);
    assert_int_equal(rd(f, ICR), 0);
    wr(f, ICR, 0);
    assert_int_equal(rd(f, RIS), INT_RT);
    /* A cleared RTRIS is raised again by the next byte */
    wr(f, ICR, INT_ALL);
    assert_int_equal(rd(f, RIS), 0);
    assert_int_equal(rd(f, MIS), 0);
    push(f, "b");
    assert_int_equal(rd(f, MIS), INT_RT);
    /* 16-bit UARTICR write, as Linux's writew */
    assert_int_equal(vpl011_write(&f->u, ICR, 2, INT_RT), 0);
    assert_int_equal(rd(f, RIS), 0);
    /* Narrow write to the upper byte of UARTIMSC touches only bits 15:8 */
    wr(f, IMSC, INT_RX);
    assert_int_equal(vpl011_write(&f->u, IMSC + 1, 1, INT_OE >> 8), 0);
    assert_int_equal(rd(f, IMSC), INT_RX | INT_OE);
    assert_int_equal(vpl011_read(&f->u, IMSC + 1, 1, &v), 0);
    assert_int_equal(v, INT_OE >> 8);
}

static void test_irq_rx_transitions(void **state)
{
    struct fixture *f = *state;

    enable_fifo(f);
    wr(f, IMSC, INT_RX | INT_RT);
    assert_int_equal(f->nirq, 0);
    push(f, "x");
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    push(f, "yz");
    assert_int_equal(f->nirq, 1); /* still high: no call */
    assert_int_equal(rd(f, DR), 'x');
    assert_int_equal(rd(f, DR), 'y');
    assert_int_equal(f->nirq, 1); /* data left */
    assert_int_equal(rd(f, DR), 'z');
    assert_int_equal(f->nirq, 2);
    assert_false(f->irq[1]);
    assert_int_equal(rd(f, DR), 0); /* reading an empty FIFO changes nothing */
    assert_int_equal(f->nirq, 2);
    /* Masking and unmasking with data waiting moves the line */
    push(f, "q");
    assert_int_equal(f->nirq, 3);
    wr(f, IMSC, 0);
    assert_int_equal(f->nirq, 4);
    assert_false(f->irq[3]);
    wr(f, IMSC, INT_RT);
    assert_int_equal(f->nirq, 5);
    assert_true(f->irq[4]);
    /* Clearing via UARTICR lowers it too */
    wr(f, ICR, INT_RT);
    assert_int_equal(f->nirq, 6);
    assert_false(f->irq[5]);
    /* The context pointer reached the callbacks */
    assert_ptr_equal(f->u.ctx, f);
}

static void test_rx_trigger_level(void **state)
{
    struct fixture *f = *state;

    enable_fifo(f); /* IFLS reset value: RX trigger at 1/2 = 16 */
    wr(f, IMSC, INT_RX);
    for (int i = 1; i < VPL011_FIFO / 2; i++) {
        assert_true(vpl011_rx_push(&f->u, 'a'));
        assert_false(rd(f, RIS) & INT_RX);
        assert_true(rd(f, RIS) & INT_RT);
    }
    assert_int_equal(f->nirq, 0);
    assert_true(vpl011_rx_push(&f->u, 'a'));
    assert_true(rd(f, RIS) & INT_RX);
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    /* Filling further keeps it; reading below the trigger clears it */
    assert_true(vpl011_rx_push(&f->u, 'a'));
    rd(f, DR);
    assert_true(rd(f, RIS) & INT_RX);
    rd(f, DR);
    assert_false(rd(f, RIS) & INT_RX);
    assert_int_equal(f->nirq, 2);
    assert_false(f->irq[1]);
    /* Only the crossing raises it: cleared at or above the level, it stays clear */
    push(f, "ab");
    assert_true(rd(f, RIS) & INT_RX);
    wr(f, ICR, INT_RX);
    push(f, "c");
    assert_false(rd(f, RIS) & INT_RX);
}

static void test_ifls_levels(void **state)
{
    struct fixture *f = *state;
    static const int level[8] = { 4, 8, 16, 24, 28, 16, 16, 16 };

    for (u32 sel = 0; sel < 8; sel++) {
        int n = 0;

        vpl011_init(&f->u, record_tx, record_irq, f);
        enable_fifo(f);
        wr(f, IFLS, sel << 3 | 7); /* TX level is irrelevant */
        while (!(rd(f, RIS) & INT_RX)) {
            assert_true(vpl011_rx_push(&f->u, 'a'));
            n++;
        }
        assert_int_equal(n, level[sel]);
    }
}

static void test_rt_single_char(void **state)
{
    struct fixture *f = *state;

    enable_fifo(f);
    wr(f, IMSC, INT_RT);
    push(f, "k");
    assert_true(f->u.line);
    assert_int_equal(rd(f, MIS), INT_RT);
    assert_int_equal(rd(f, DR), 'k');
    assert_false(f->u.line);
    assert_int_equal(rd(f, RIS) & INT_RT, 0);
    assert_int_equal(f->nirq, 2);
}

static void test_tx_interrupt(void **state)
{
    struct fixture *f = *state;

    /* Clear at reset, like all of UARTRIS */
    assert_false(rd(f, RIS) & INT_TX);
    /* Unmasking TXIM: transmission is possible, so TXRIS rises */
    wr(f, IMSC, INT_TX);
    assert_true(rd(f, RIS) & INT_TX);
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    /* Writing data does not clear it: the byte is gone at once */
    wr(f, DR, 'a');
    assert_true(rd(f, RIS) & INT_TX);
    assert_int_equal(f->nirq, 1);
    /* UARTICR clears it until the next write */
    wr(f, ICR, INT_TX);
    assert_false(rd(f, RIS) & INT_TX);
    assert_int_equal(f->nirq, 2);
    assert_false(f->irq[1]);
    /* Rewriting IMSC with TXIM already set is no new request */
    wr(f, IMSC, INT_TX);
    assert_false(rd(f, RIS) & INT_TX);
    assert_int_equal(f->nirq, 2);
    wr(f, DR, 'b');
    assert_int_equal(f->nirq, 3);
    assert_true(f->irq[2]);
    /* Masking TXIM lowers the line; TXRIS stays raw-pending */
    wr(f, IMSC, 0);
    assert_int_equal(f->nirq, 4);
    assert_false(f->irq[3]);
    assert_true(rd(f, RIS) & INT_TX);
    /* Writes with TXIM masked move no line */
    wr(f, DR, 'c');
    assert_int_equal(f->nirq, 4);
    /* Clear, then unmask: 0 -> 1 raises it again */
    wr(f, ICR, INT_TX);
    wr(f, IMSC, INT_TX);
    assert_int_equal(f->nirq, 5);
    assert_true(f->irq[4]);
    assert_memory_equal(f->tx, "abc", 3);
}

/* ---- what Linux's amba-pl011 driver does ---- */

/* The TX interrupt handler path: pl011_int() -> pl011_tx_chars(uap, true). */
static void linux_irq_handler(struct fixture *f, u32 im, const char **xmit, char *rx, size_t *nrx)
{
    u32 status = rd(f, RIS) & im;
    int pass = 256;

    while (status) {
        wr(f, ICR, status & ~(u32)(INT_TX | INT_RT | INT_RX));
        if (status & (INT_RT | INT_RX)) {
            for (int taken = 0; taken < 256 && !(rd(f, FR) & FR_RXFE); taken++)
                rx[(*nrx)++] = (char)rd(f, DR);
        }
        if (status & INT_TX) {
            for (int count = VPL011_FIFO / 2; count && **xmit; count--)
                wr(f, DR, (u8)*(*xmit)++);
            if (!**xmit) {
                im &= ~(u32)INT_TX; /* pl011_stop_tx() */
                wr(f, IMSC, im);
            }
        }
        assert_true(pass-- > 0);
        status = rd(f, RIS) & im;
    }
}

static void test_linux_startup_and_io(void **state)
{
    struct fixture *f = *state;
    const char *xmit;
    char rx[64];
    size_t nrx = 0;
    u32 im, cr;

    /* Earlier output via earlycon, and a byte typed before the driver started */
    wr(f, DR, '[');
    push(f, "?");
    /* pl011_hwinit() */
    wr(f, ICR, INT_OE | INT_BE | INT_PE | INT_FE | INT_RT | INT_RX);
    im = rd(f, IMSC);
    wr(f, IMSC, INT_RT | INT_RX);
    /* pl011_allocate_irq() */
    wr(f, IMSC, im);
    /* pl011_startup() */
    wr(f, IFLS, 0x12);
    cr = rd(f, CR) & (CR_RTS | CR_DTR);
    wr(f, CR, cr | CR_UARTEN | CR_RXE | CR_TXE);
    /* pl011_enable_interrupts() */
    wr(f, ICR, INT_RT | INT_RX);
    for (int i = 0; i < VPL011_FIFO * 2 && !(rd(f, FR) & FR_RXFE); i++)
        rd(f, DR);
    im = INT_RT | INT_RX;
    wr(f, IMSC, im);
    assert_false(f->u.line);
    /* pl011_set_termios(): 115200 8N1 with FIFOs at 24 MHz */
    cr = rd(f, CR);
    wr(f, FBRD, 1);
    wr(f, IBRD, 13);
    wr(f, LCR_H, LCR_H_WLEN_8 | LCR_H_FEN);
    wr(f, CR, cr | CR_RXE);
    assert_int_equal(rd(f, IBRD), 13);
    assert_int_equal(rd(f, FBRD), 1);

    /* pl011_start_tx_pio(): polled writes while TXFF is clear; all go out */
    xmit = "login: ";
    while (*xmit && !(rd(f, FR) & FR_TXFF))
        wr(f, DR, (u8)*xmit++);
    assert_int_equal(*xmit, '\0'); /* nothing left, so TXIM stays masked */
    assert_false(f->u.line);

    /* A single typed character raises the line through RTIM */
    push(f, "r");
    assert_true(last_irq(f));
    linux_irq_handler(f, im, &xmit, rx, &nrx);
    assert_false(last_irq(f));
    assert_int_equal(nrx, 1);
    assert_int_equal(rx[0], 'r');

    /* A burst beyond the trigger level: RXIM and RTIM both, one handler run */
    push(f, "oot\rpassword-is-long\r");
    linux_irq_handler(f, im, &xmit, rx, &nrx);
    assert_int_equal(nrx, 1 + strlen("oot\rpassword-is-long\r"));
    assert_memory_equal(rx, "root\rpassword-is-long\r", nrx);
    assert_false(f->u.line);

    /* Pre-4.6 pl011_start_tx(): just unmask TXIM and send from the handler */
    xmit = "a long line that takes more than one handler pass of sixteen bytes\n";
    im |= INT_TX;
    wr(f, IMSC, im);
    assert_true(last_irq(f));
    linux_irq_handler(f, im, &xmit, rx, &nrx);
    assert_int_equal(*xmit, '\0');
    assert_false(f->u.line);
    im &= ~(u32)INT_TX;

    /* pl011_shutdown(): mask and clear all, disable, FIFOs off */
    wr(f, IMSC, 0);
    wr(f, ICR, 0xffff);
    assert_int_equal(rd(f, RIS), 0);
    wr(f, CR, (rd(f, CR) & (CR_RTS | CR_DTR)) | CR_UARTEN | CR_TXE);
    wr(f, LCR_H, rd(f, LCR_H) & ~(u32)LCR_H_FEN);
    assert_false(f->u.line);

    assert_int_equal(f->ntx, 1 + strlen("login: ") + strlen("a long line that takes more than one handler pass of sixteen bytes\n"));
    assert_memory_equal(f->tx, "[login: a long line", 19);
}

/* Pre-4.6 pl011_startup() provoked TXIS with a loopback write of a NUL. */
static void test_linux_old_tx_kick(void **state)
{
    struct fixture *f = *state;

    wr(f, CR, CR_UARTEN | CR_TXE | CR_LBE);
    wr(f, FBRD, 0);
    wr(f, IBRD, 1);
    wr(f, LCR_H, 0);
    wr(f, DR, 0);
    while (rd(f, FR) & FR_BUSY)
        ;
    assert_int_equal(f->ntx, 0); /* looped back, not sent */
    assert_true(rd(f, RIS) & INT_TX);
    assert_false(rd(f, FR) & FR_RXFE);
    assert_int_equal(rd(f, DR), 0);
    assert_true(rd(f, FR) & FR_RXFE);
}

/* FreeBSD: write a batch with TXIM masked, then unmask it and wait for TX idle. */
static void test_freebsd_tx_batch(void **state)
{
    struct fixture *f = *state;

    wr(f, CR, CR_UARTEN | CR_TXE | CR_RXE);
    enable_fifo(f);
    wr(f, ICR, INT_ALL);
    for (const char *p = "batch"; *p; p++)
        wr(f, DR, (u8)*p);
    assert_int_equal(f->nirq, 0);
    wr(f, IMSC, INT_TX);
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    /* Its handler clears and masks TX, then the next batch starts over */
    wr(f, ICR, INT_TX);
    wr(f, IMSC, 0);
    assert_int_equal(f->nirq, 2);
    wr(f, DR, '!');
    wr(f, IMSC, INT_TX);
    assert_int_equal(f->nirq, 3);
    assert_true(f->irq[2]);
    assert_memory_equal(f->tx, "batch!", 6);
}

/* ---- loopback and modem status ---- */

static void test_loopback(void **state)
{
    struct fixture *f = *state;

    enable_fifo(f);
    assert_int_equal(rd(f, FR) & FR_MODEM, FR_CTS | FR_DSR | FR_DCD);
    wr(f, IMSC, INT_RT);
    /* Entering loopback with every modem output off drops CTS, DSR, DCD */
    wr(f, CR, CR_UARTEN | CR_TXE | CR_RXE | CR_LBE);
    assert_int_equal(rd(f, FR) & FR_MODEM, 0);
    assert_int_equal(rd(f, RIS), INT_CTS | INT_DSR | INT_DCD);
    wr(f, ICR, INT_ALL);
    /* Outputs feed the inputs: RTS->CTS, DTR->DSR, Out1->DCD, Out2->RI */
    wr(f, CR, CR_UARTEN | CR_TXE | CR_RXE | CR_LBE | CR_RTS);
    assert_int_equal(rd(f, FR) & FR_MODEM, FR_CTS);
    assert_int_equal(rd(f, RIS), INT_CTS);
    wr(f, CR, CR_UARTEN | CR_TXE | CR_RXE | CR_LBE | CR_DTR | CR_OUT1 | CR_OUT2);
    assert_int_equal(rd(f, FR) & FR_MODEM, FR_DSR | FR_DCD | FR_RI);
    assert_int_equal(rd(f, RIS), INT_CTS | INT_DSR | INT_DCD | INT_RI);
    wr(f, ICR, INT_ALL);
    assert_int_equal(f->nirq, 0); /* modem interrupts are masked */
    /* Data written comes back, raising the receive interrupts */
    wr(f, DR, 'L');
    wr(f, DR, 'B');
    assert_int_equal(f->ntx, 0);
    assert_true(f->u.line);
    assert_int_equal(rd(f, DR), 'L');
    assert_int_equal(rd(f, DR), 'B');
    assert_false(f->u.line);
    /* Leaving loopback: output reaches tx() again */
    wr(f, CR, CR_UARTEN | CR_TXE | CR_RXE);
    assert_int_equal(rd(f, FR) & FR_MODEM, FR_CTS | FR_DSR | FR_DCD);
    wr(f, DR, 'T');
    assert_int_equal(f->ntx, 1);
    assert_int_equal(f->tx[0], 'T');
    assert_true(rd(f, FR) & FR_RXFE);
}

static void test_modem_interrupt_line(void **state)
{
    struct fixture *f = *state;

    wr(f, IMSC, INT_CTS);
    assert_int_equal(f->nirq, 0);
    wr(f, CR, CR_LBE | CR_RTS); /* CTS stays asserted: no change */
    assert_int_equal(f->nirq, 0);
    wr(f, CR, CR_LBE); /* CTS drops */
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    wr(f, ICR, INT_CTS);
    assert_int_equal(f->nirq, 2);
    assert_false(f->irq[1]);
}

/* ---- register storage and accesses ---- */

static void test_register_masks(void **state)
{
    struct fixture *f = *state;
    static const struct {
        u64 off;
        u32 valid;
    } regs[] = {
        { ILPR, 0xff }, { IBRD, 0xffff }, { FBRD, 0x3f }, { LCR_H, 0xff },
        { CR, 0xff87 }, { IFLS, 0x3f }, { IMSC, 0x7ff }, { DMACR, 0x7 },
    };

    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        wr(f, regs[i].off, 0xffffffff);
        assert_int_equal(rd(f, regs[i].off), regs[i].valid);
        wr(f, regs[i].off, 0);
        assert_int_equal(rd(f, regs[i].off), 0);
    }
    /* UARTFR is read-only */
    wr(f, FR, 0);
    assert_int_equal(rd(f, FR), FR_TXFE | FR_RXFE | FR_CTS | FR_DSR | FR_DCD);
}

static void test_subword_accesses(void **state)
{
    struct fixture *f = *state;
    u64 v;

    /* Linux's default iotype is UPIO_MEM: 16-bit accesses */
    assert_int_equal(vpl011_write(&f->u, CR, 2, 0x0301), 0);
    assert_int_equal(vpl011_read(&f->u, CR, 2, &v), 0);
    assert_int_equal(v, 0x0301);
    /* A byte write changes only its byte */
    assert_int_equal(vpl011_write(&f->u, CR + 1, 1, 0x0b), 0);
    assert_int_equal(rd(f, CR), 0x0b01);
    assert_int_equal(vpl011_write(&f->u, CR, 1, 0x80), 0);
    assert_int_equal(rd(f, CR), 0x0b80);
    assert_int_equal(vpl011_read(&f->u, CR + 1, 1, &v), 0);
    assert_int_equal(v, 0x0b);
    /* Upper halves of the 16-bit registers read as zero and ignore writes */
    assert_int_equal(vpl011_write(&f->u, CR + 2, 2, 0xffff), 0);
    assert_int_equal(rd(f, CR), 0x0b80);
    assert_int_equal(vpl011_read(&f->u, FR + 2, 2, &v), 0);
    assert_int_equal(v, 0);
    /* Value bits beyond the access size are ignored */
    assert_int_equal(vpl011_write(&f->u, IBRD, 1, 0x1234), 0);
    assert_int_equal(rd(f, IBRD), 0x34);
    assert_int_equal(vpl011_write(&f->u, IBRD, 4, 0xffff00000005ULL), 0);
    assert_int_equal(rd(f, IBRD), 0x5);
}

static void test_bad_accesses(void **state)
{
    struct fixture *f = *state;
    u64 v = 0x5a5a;

    enable_fifo(f);
    push(f, "q");
    wr(f, IMSC, INT_RT);
    f->nirq = 0;
    /* 64-bit and odd sizes */
    assert_int_equal(vpl011_read(&f->u, DR, 8, &v), -1);
    assert_int_equal(vpl011_write(&f->u, DR, 8, 'x'), -1);
    assert_int_equal(vpl011_read(&f->u, DR, 3, &v), -1);
    assert_int_equal(vpl011_read(&f->u, DR, 0, &v), -1);
    assert_int_equal(vpl011_write(&f->u, DR, 16, 'x'), -1);
    /* Misaligned for their size */
    assert_int_equal(vpl011_read(&f->u, FR + 2, 4, &v), -1);
    assert_int_equal(vpl011_read(&f->u, DR + 1, 2, &v), -1);
    assert_int_equal(vpl011_write(&f->u, DR + 3, 2, 'x'), -1);
    assert_int_equal(vpl011_write(&f->u, ICR + 1, 4, INT_ALL), -1);
    /* Outside the 4 KiB window */
    assert_int_equal(vpl011_read(&f->u, VPL011_SIZE, 4, &v), -1);
    assert_int_equal(vpl011_write(&f->u, 0x10000000ULL, 4, 0), -1);
    assert_int_equal(vpl011_read(&f->u, ~0ULL - 3, 4, &v), -1);
    /* None of them had an effect */
    assert_int_equal(v, 0x5a5a);
    assert_int_equal(f->ntx, 0);
    assert_int_equal(f->nirq, 0);
    assert_int_equal(rd(f, RIS), INT_RT);
    assert_int_equal(rd(f, DR), 'q');
}

static void test_unknown_offsets(void **state)
{
    struct fixture *f = *state;
    static const u64 holes[] = { 0x008, 0x00c, 0x014, 0x01c, 0x04c, 0x080, 0x800, 0xfdc };

    for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
        wr(f, holes[i], 0xffffffff);
        assert_int_equal(rd(f, holes[i]), 0);
    }
    check_reset_state(f);
    assert_int_equal(f->ntx, 0);
}

static void test_null_callbacks(void **state)
{
    struct fixture *f = *state;

    vpl011_init(&f->u, NULL, NULL, NULL);
    wr(f, IMSC, INT_ALL);
    wr(f, DR, 'x');
    assert_true(vpl011_rx_push(&f->u, 'y'));
    assert_true(f->u.line);
    assert_int_equal(rd(f, DR), 'y');
    wr(f, ICR, INT_ALL);
    assert_false(f->u.line);
}

/*
 * Random register traffic: after every step the reported line must equal
 * UARTMIS != 0, and irq() must have been called exactly when it changed.
 */
static void test_irq_only_on_transitions(void **state)
{
    struct fixture *f = *state;
    u32 seed = 12345;
    bool level = false;
    size_t calls = 0;

    for (int step = 0; step < 20000; step++) {
        u32 r, op;
        bool now;

        seed = seed * 1103515245 + 12345;
        r = seed >> 8;
        op = r % 9;
        r >>= 4;
        switch (op) {
        case 0:
        case 1:
            vpl011_rx_push(&f->u, (char)r);
            break;
        case 2:
            rd(f, DR);
            break;
        case 3:
            wr(f, DR, r & 0xff);
            break;
        case 4:
            wr(f, IMSC, r & INT_ALL);
            break;
        case 5:
            wr(f, ICR, r & INT_ALL);
            break;
        case 6:
            wr(f, LCR_H, r & 0xff);
            break;
        case 7:
            wr(f, IFLS, r & 0x3f);
            break;
        case 8:
            wr(f, CR, r & 0xffff);
            break;
        }
        now = rd(f, MIS) != 0;
        assert_int_equal(f->u.line, now);
        assert_int_equal(f->nirq, calls + (now != level));
        if (now != level)
            assert_int_equal(f->irq[f->nirq - 1], now);
        level = now;
        assert_true(f->u.rx_count <= VPL011_FIFO);
        /* keep the records from overflowing */
        if (f->nirq >= 256)
            f->nirq = 0;
        if (f->ntx >= 256)
            f->ntx = 0;
        calls = f->nirq;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_id_registers, setup),
        cmocka_unit_test_setup(test_reset_values, setup),
        cmocka_unit_test_setup(test_init_resets, setup),
        cmocka_unit_test_setup(test_dr_write_transmits, setup),
        cmocka_unit_test_setup(test_earlycon_sequence, setup),
        cmocka_unit_test_setup(test_fr_rx_flags, setup),
        cmocka_unit_test_setup(test_rx_push_until_full, setup),
        cmocka_unit_test_setup(test_dr_read_pops_in_order, setup),
        cmocka_unit_test_setup(test_dr_read_any_lane_pops, setup),
        cmocka_unit_test_setup(test_overrun_reported, setup),
        cmocka_unit_test_setup(test_fen_disabled_one_entry, setup),
        cmocka_unit_test_setup(test_fen_change_keeps_data, setup),
        cmocka_unit_test_setup(test_imsc_ris_mis_icr, setup),
        cmocka_unit_test_setup(test_irq_rx_transitions, setup),
        cmocka_unit_test_setup(test_rx_trigger_level, setup),
        cmocka_unit_test_setup(test_ifls_levels, setup),
        cmocka_unit_test_setup(test_rt_single_char, setup),
        cmocka_unit_test_setup(test_tx_interrupt, setup),
        cmocka_unit_test_setup(test_linux_startup_and_io, setup),
        cmocka_unit_test_setup(test_linux_old_tx_kick, setup),
        cmocka_unit_test_setup(test_freebsd_tx_batch, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_modem_interrupt_line, setup),
        cmocka_unit_test_setup(test_register_masks, setup),
        cmocka_unit_test_setup(test_subword_accesses, setup),
        cmocka_unit_test_setup(test_bad_accesses, setup),
        cmocka_unit_test_setup(test_unknown_offsets, setup),
        cmocka_unit_test_setup(test_null_callbacks, setup),
        cmocka_unit_test_setup(test_irq_only_on_transitions, setup),
    };

    return cmocka_run_group_tests_name("vpl011", tests, NULL, NULL);
}
