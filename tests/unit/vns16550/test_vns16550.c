/*
 * Host unit tests for src/vdev/vns16550.c, the emulated NS16550A: registers
 * as the PC16550D datasheet defines them, the receiver in 16450 and FIFO
 * modes, the interrupt model described in keel/vns16550.h, and the register
 * sequences of the guests that must work on it: Linux's 8250 driver (its
 * autoconfig probe, startup tests, interrupt handler, console and earlycon),
 * U-Boot's ns16550 and xv6's uart.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <keel/vns16550.h>

/* Register offsets and bits, spelled out again so a typo in vns16550.c shows. */
#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI 0x04
#define IER_EDSSI 0x08
#define IER_UUE 0x40 /* XScale's UART unit enable: must not stick on a 16550A */

#define IIR_NO_INT 0x01
#define IIR_ID 0x0f
#define IIR_MS 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_CTI 0x0c
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define FCR_CLEAR_XMIT 0x04
#define FCR_DMA 0x08
#define FCR_64BYTE 0x20 /* TI16750's 64-byte FIFO enable: must have no effect */
#define FCR_TRIG_1 0x00
#define FCR_TRIG_4 0x40
#define FCR_TRIG_8 0x80
#define FCR_TRIG_14 0xc0

#define LCR_WLEN8 0x03
#define LCR_DLAB 0x80
#define LCR_CONF_MODE_B 0xbf /* Linux's EFR access key */

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_BOTH_EMPTY (LSR_THRE | LSR_TEMT)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_LINE (MSR_CTS | MSR_DSR | MSR_DCD) /* the connected line outside loopback */

/* ---- fixture: a device whose callbacks record what they were given ---- */

struct fixture {
    struct vns16550 u;
    char tx[1024];
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
    vns16550_init(&f.u, record_tx, record_irq, &f);
    *state = &f;
    return 0;
}

static u8 rd(struct fixture *f, u64 off)
{
    u64 v = ~0ULL;

    assert_int_equal(vns16550_read(&f->u, off, 1, &v), 0);
    assert_true(v <= 0xff);
    return (u8)v;
}

static void wr(struct fixture *f, u64 off, u8 v)
{
    assert_int_equal(vns16550_write(&f->u, off, 1, v), 0);
}

static void push(struct fixture *f, const char *s)
{
    while (*s)
        assert_true(vns16550_rx_push(&f->u, *s++));
}

/* The last level reported through irq(), or false if it was never called. */
static bool last_irq(const struct fixture *f)
{
    return f->nirq ? f->irq[f->nirq - 1] : false;
}

/* ---- reset ---- */

static void check_reset_state(struct fixture *f)
{
    assert_int_equal(rd(f, IER), 0);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    assert_int_equal(rd(f, LCR), 0);
    assert_int_equal(rd(f, MCR), 0);
    assert_int_equal(rd(f, LSR), LSR_THRE | LSR_TEMT);
    assert_int_equal(rd(f, MSR), MSR_LINE);
    assert_int_equal(rd(f, SCR), 0);
    assert_int_equal(rd(f, RBR), 0);
    wr(f, LCR, LCR_DLAB);
    assert_int_equal(rd(f, DLL), 0);
    assert_int_equal(rd(f, DLM), 0);
    wr(f, LCR, 0);
    assert_false(f->u.line);
    assert_int_equal(f->u.rx_dropped, 0);
    assert_true(vns16550_rx_has_room(&f->u));
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

    wr(f, FCR, FCR_ENABLE | FCR_TRIG_14);
    wr(f, MCR, 0x1f);
    wr(f, SCR, 0x42);
    wr(f, LCR, LCR_DLAB | 0x1f);
    wr(f, DLL, 12);
    wr(f, DLM, 1);
    wr(f, LCR, 0x1f);
    wr(f, IER, 0x0f);
    for (int i = 0; i < 20; i++)
        vns16550_rx_push(&f->u, 'x');
    assert_true(f->u.line);
    calls = f->nirq;
    vns16550_init(&f->u, record_tx, record_irq, f);
    assert_int_equal(f->nirq, calls); /* init never calls irq() */
    check_reset_state(f);
    assert_int_equal(f->nirq, calls);
}

/* ---- plain registers ---- */

/* Linux autoconfig_8250() and U-Boot: SCR holds any byte. */
static void test_scratch_register(void **state)
{
    struct fixture *f = *state;

    for (int v = 0; v < 256; v++) {
        wr(f, SCR, (u8)v);
        assert_int_equal(rd(f, SCR), v);
    }
    /* SCR is not banked by DLAB */
    wr(f, SCR, 0xa5);
    wr(f, LCR, LCR_DLAB);
    assert_int_equal(rd(f, SCR), 0xa5);
    wr(f, SCR, 0x5a);
    wr(f, LCR, 0);
    assert_int_equal(rd(f, SCR), 0x5a);
    assert_false(f->u.line);
}

static void test_lcr_mcr_ier_storage(void **state)
{
    struct fixture *f = *state;

    for (int v = 0; v < 256; v++) {
        wr(f, LCR, (u8)v);
        assert_int_equal(rd(f, LCR), v);
    }
    wr(f, LCR, 0);
    /* MCR bits 7:5 and IER bits 7:4 do not exist on a 16550A */
    wr(f, MCR, 0xff);
    assert_int_equal(rd(f, MCR), 0x1f);
    wr(f, MCR, 0);
    assert_int_equal(rd(f, MCR), 0);
    assert_int_equal(rd(f, MSR), MSR_LINE | MSR_TERI); /* RI rose and fell in loopback */
    wr(f, IER, 0xff);
    assert_int_equal(rd(f, IER), 0x0f);
    wr(f, IER, 0);
    assert_int_equal(rd(f, IER), 0);
    /* LSR and MSR ignore writes */
    wr(f, LSR, 0xff);
    wr(f, MSR, 0xff);
    assert_int_equal(rd(f, LSR), LSR_THRE | LSR_TEMT);
    assert_int_equal(rd(f, MSR), MSR_LINE);
}

static void test_divisor_latch(void **state)
{
    struct fixture *f = *state;

    wr(f, IER, IER_ERBFI);
    push(f, "r");
    f->nirq = 0;
    /* With DLAB set, offsets 0 and 1 are DLL and DLM: no transmit, no pop, IER untouched */
    wr(f, LCR, LCR_DLAB | LCR_WLEN8);
    wr(f, DLL, 0x34);
    wr(f, DLM, 0x12);
    assert_int_equal(rd(f, DLL), 0x34);
    assert_int_equal(rd(f, DLM), 0x12);
    assert_int_equal(f->ntx, 0);
    assert_int_equal(rd(f, LSR) & LSR_DR, LSR_DR);
    /* IIR and LSR are reachable whatever DLAB says */
    assert_int_equal(rd(f, IIR) & IIR_ID, IIR_RDA);
    wr(f, LCR, LCR_WLEN8);
    assert_int_equal(rd(f, IER), IER_ERBFI);
    assert_int_equal(rd(f, RBR), 'r');
    wr(f, THR, 't');
    assert_int_equal(f->ntx, 1);
    /* ... and the latch kept its value */
    wr(f, LCR, LCR_DLAB);
    assert_int_equal(rd(f, DLL), 0x34);
    assert_int_equal(rd(f, DLM), 0x12);
}

/* ---- transmit ---- */

static void test_thr_write_transmits(void **state)
{
    struct fixture *f = *state;

    for (int c = 0; c < 256; c++) {
        wr(f, THR, (u8)c);
        /* Instantaneous: THR and the transmitter are empty again at once */
        assert_int_equal(rd(f, LSR) & LSR_BOTH_EMPTY, LSR_BOTH_EMPTY);
    }
    assert_int_equal(f->ntx, 256);
    for (int c = 0; c < 256; c++)
        assert_int_equal((u8)f->tx[c], c);
    /* Writing THR does not feed the receiver */
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    assert_int_equal(f->nirq, 0); /* nothing enabled */
}

/* Linux earlycon uart8250,mmio with a baud rate: init_port(), then serial_putc() per byte. */
static void test_linux_earlycon(void **state)
{
    struct fixture *f = *state;
    const char *msg = "[    0.000000] Linux version 6.12\n";
    u8 lcr;

    wr(f, LCR, LCR_WLEN8);
    wr(f, IER, 0);
    wr(f, FCR, 0);
    wr(f, MCR, MCR_DTR | MCR_RTS);
    lcr = rd(f, LCR);
    wr(f, LCR, lcr | LCR_DLAB);
    wr(f, DLL, 2); /* 3.6864 MHz / (16 * 115200) */
    wr(f, DLM, 0);
    wr(f, LCR, lcr & ~LCR_DLAB);
    for (const char *p = msg; *p; p++) {
        int spins = 0;

        while ((rd(f, LSR) & LSR_BOTH_EMPTY) != LSR_BOTH_EMPTY)
            assert_true(++spins < 2);
        wr(f, THR, (u8)*p);
    }
    assert_int_equal(f->ntx, strlen(msg));
    assert_memory_equal(f->tx, msg, strlen(msg));
    assert_int_equal(f->nirq, 0);
    /* earlycon without a baud rate only masks interrupts, keeping IER_UUE */
    wr(f, IER, rd(f, IER) & IER_UUE);
    assert_int_equal(rd(f, IER), 0);
}

/* ---- receiver ---- */

static void test_rx_16450_mode(void **state)
{
    struct fixture *f = *state;

    /* Reset state: FIFO off, one holding register */
    assert_true(vns16550_rx_push(&f->u, 'a'));
    assert_false(vns16550_rx_has_room(&f->u));
    assert_int_equal(rd(f, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
    assert_int_equal(rd(f, RBR), 'a');
    assert_int_equal(rd(f, LSR), LSR_THRE | LSR_TEMT);
    assert_int_equal(rd(f, RBR), 0); /* empty reads as zero */
    /* Overrun: the unread byte is destroyed by the new one (datasheet, LSR1) */
    assert_true(vns16550_rx_push(&f->u, 'b'));
    assert_false(vns16550_rx_push(&f->u, 'c'));
    assert_int_equal(f->u.rx_dropped, 1);
    assert_int_equal(rd(f, LSR), LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
    assert_int_equal(rd(f, LSR), LSR_DR | LSR_THRE | LSR_TEMT); /* OE cleared by the read */
    assert_int_equal(rd(f, RBR), 'c');
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    /* All 256 byte values pass unchanged */
    for (int c = 0; c < 256; c++) {
        assert_true(vns16550_rx_push(&f->u, (char)c));
        assert_int_equal(rd(f, RBR), c);
    }
}

static void test_rx_fifo_mode(void **state)
{
    struct fixture *f = *state;

    wr(f, FCR, FCR_ENABLE);
    for (int i = 0; i < VNS16550_FIFO; i++) {
        assert_true(vns16550_rx_has_room(&f->u));
        assert_true(vns16550_rx_push(&f->u, (char)('A' + i)));
    }
    assert_false(vns16550_rx_has_room(&f->u));
    /* Overrun: the FIFO keeps its contents, the new byte is lost */
    assert_false(vns16550_rx_push(&f->u, '!'));
    assert_false(vns16550_rx_push(&f->u, '!'));
    assert_int_equal(f->u.rx_dropped, 2);
    assert_int_equal(rd(f, LSR) & (LSR_OE | LSR_DR), LSR_OE | LSR_DR);
    assert_int_equal(rd(f, LSR) & LSR_OE, 0);
    assert_int_equal(rd(f, RBR), 'A');
    assert_true(vns16550_rx_push(&f->u, '#'));
    for (int i = 1; i < VNS16550_FIFO; i++)
        assert_int_equal(rd(f, RBR), 'A' + i);
    assert_int_equal(rd(f, RBR), '#');
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    /* The ring wraps: several rounds through it stay in order */
    for (int round = 0; round < 7; round++) {
        for (int i = 0; i < 11; i++)
            assert_true(vns16550_rx_push(&f->u, (char)(round * 11 + i)));
        for (int i = 0; i < 11; i++)
            assert_int_equal(rd(f, RBR), (u8)(round * 11 + i));
    }
    assert_int_equal(f->u.rx_dropped, 2);
}

static void test_fcr_fifo_enable_and_resets(void **state)
{
    struct fixture *f = *state;

    /* IIR bits 7:6 follow FCR bit 0 */
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    wr(f, FCR, FCR_ENABLE);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NO_INT);
    /* RCVR FIFO reset empties the receiver; XMIT reset changes nothing visible */
    push(f, "abc");
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_XMIT);
    assert_int_equal(rd(f, LSR) & (LSR_DR | LSR_BOTH_EMPTY), LSR_DR | LSR_BOTH_EMPTY);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR);
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    assert_true(vns16550_rx_has_room(&f->u));
    /* Leaving FIFO mode empties the receiver */
    push(f, "de");
    wr(f, FCR, 0);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    /* ... and so does entering it */
    push(f, "f");
    wr(f, FCR, FCR_ENABLE);
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    /* Rewriting the same mode keeps the data */
    push(f, "gh");
    wr(f, FCR, FCR_ENABLE | FCR_TRIG_4 | FCR_DMA);
    assert_int_equal(rd(f, RBR), 'g');
    /* The reset bits self-clear: a later write without them keeps the data */
    wr(f, FCR, FCR_ENABLE);
    assert_int_equal(rd(f, RBR), 'h');
    /* 16450 mode: a reset without FCR bit 0 is not programmed (nor the trigger) */
    wr(f, FCR, 0);
    push(f, "i");
    wr(f, FCR, FCR_CLEAR_RCVR | FCR_TRIG_14);
    assert_int_equal(rd(f, IIR) & IIR_FIFO, 0);
    assert_int_equal(rd(f, RBR), 'i');
    assert_int_equal(f->u.rx_dropped, 0);
}

/* FCR bits 7:6: data available at 1, 4, 8, 14 bytes; below it, the (immediate) timeout. */
static void test_rx_trigger_levels(void **state)
{
    struct fixture *f = *state;
    static const struct {
        u8 fcr;
        unsigned int level;
    } trig[] = { { FCR_TRIG_1, 1 }, { FCR_TRIG_4, 4 }, { FCR_TRIG_8, 8 }, { FCR_TRIG_14, 14 } };

    wr(f, IER, IER_ERBFI);
    for (size_t t = 0; t < sizeof(trig) / sizeof(trig[0]); t++) {
        wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR | trig[t].fcr);
        assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NO_INT);
        for (unsigned int n = 1; n <= VNS16550_FIFO; n++) {
            assert_true(vns16550_rx_push(&f->u, (char)n));
            assert_true(f->u.line);
            assert_int_equal(rd(f, IIR), IIR_FIFO | (n >= trig[t].level ? IIR_RDA : IIR_CTI));
        }
        /* Draining: data available until below the trigger, then the timeout until empty */
        for (unsigned int n = VNS16550_FIFO; n > 0; n--) {
            assert_int_equal(rd(f, IIR), IIR_FIFO | (n >= trig[t].level ? IIR_RDA : IIR_CTI));
            rd(f, RBR);
        }
        assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NO_INT);
        assert_false(f->u.line);
    }
    /* 16450 mode: one byte is data available, never a timeout */
    wr(f, FCR, 0);
    push(f, "z");
    assert_int_equal(rd(f, IIR), IIR_RDA);
    rd(f, RBR);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
}

/* ---- interrupts ---- */

static void test_iir_priority(void **state)
{
    struct fixture *f = *state;

    wr(f, FCR, FCR_ENABLE | FCR_TRIG_1);
    /* Make every source active: overrun, data, THRE, modem status (loopback changes inputs) */
    wr(f, MCR, MCR_LOOP);
    wr(f, MCR, 0);
    for (int i = 0; i <= VNS16550_FIFO; i++)
        vns16550_rx_push(&f->u, 'x');
    wr(f, THR, 'y');
    assert_int_equal(f->nirq, 0); /* all masked */
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NO_INT);
    wr(f, IER, IER_ERBFI | IER_ETBEI | IER_ELSI | IER_EDSSI);
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    /* 1: receiver line status, until LSR is read */
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_RLS);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_RLS);
    assert_int_equal(rd(f, LSR) & LSR_OE, LSR_OE);
    /* 2: received data, until the FIFO is empty */
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_RDA);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR);
    /* 3: THRE; reading IIR that reports it clears it */
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_THRE);
    /* 4: modem status, until MSR is read */
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_MS);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_MS);
    assert_true(f->u.line);
    assert_int_equal(rd(f, MSR) & 0x0f, MSR_DCTS | MSR_DDSR | MSR_DDCD);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NO_INT);
    assert_false(f->u.line);
    assert_int_equal(f->nirq, 2);
}

/* A masked source is not reported, and each enable bit unmasks only its own. */
static void test_ier_masks_each_source(void **state)
{
    struct fixture *f = *state;

    wr(f, MCR, MCR_LOOP); /* modem status */
    push(f, "a");
    vns16550_rx_push(&f->u, 'b'); /* overrun */
    wr(f, IER, IER_EDSSI);
    assert_int_equal(rd(f, IIR), IIR_MS);
    wr(f, IER, IER_ERBFI);
    assert_int_equal(rd(f, IIR), IIR_RDA);
    wr(f, IER, IER_ELSI);
    assert_int_equal(rd(f, IIR), IIR_RLS);
    wr(f, IER, 0);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    assert_false(f->u.line);
}

static void test_rls_interrupt(void **state)
{
    struct fixture *f = *state;

    wr(f, IER, IER_ELSI);
    push(f, "a");
    assert_int_equal(f->nirq, 0);
    assert_false(vns16550_rx_push(&f->u, 'b'));
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    assert_int_equal(rd(f, IIR), IIR_RLS);
    rd(f, LSR);
    assert_int_equal(f->nirq, 2);
    assert_false(f->irq[1]);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    assert_int_equal(rd(f, RBR), 'b');
}

static void test_thre_interrupt(void **state)
{
    struct fixture *f = *state;

    /* Reset: THR is empty but no THRE interrupt has been raised yet */
    wr(f, IER, IER_ERBFI);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    /* ETBEI 0 -> 1 with THR empty raises it */
    wr(f, IER, IER_ERBFI | IER_ETBEI);
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    /* Reading IIR that reports it clears it */
    assert_int_equal(rd(f, IIR), IIR_THRE);
    assert_int_equal(f->nirq, 2);
    assert_false(f->irq[1]);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    /* ETBEI written 1 again while already 1: not a 0 -> 1 change, nothing raised */
    wr(f, IER, IER_ETBEI);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    assert_int_equal(f->nirq, 2);
    /* Each THR write empties THR again at once: raised */
    wr(f, THR, 'a');
    assert_int_equal(f->nirq, 3);
    assert_true(f->irq[2]);
    /* A THR write clears it and the byte leaving raises it again: the line stays up */
    wr(f, THR, 'b');
    assert_int_equal(f->nirq, 3);
    assert_true(f->u.line);
    /* An IIR read reporting a higher-priority source leaves THRE pending */
    wr(f, IER, IER_ETBEI | IER_ERBFI);
    push(f, "r");
    assert_int_equal(rd(f, IIR), IIR_RDA);
    assert_int_equal(rd(f, RBR), 'r');
    assert_int_equal(rd(f, IIR), IIR_THRE);
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    assert_false(f->u.line);
    /* Masked, the condition stays latched; unmasking (0 -> 1) shows it */
    wr(f, IER, 0);
    wr(f, THR, 'c');
    assert_false(f->u.line);
    assert_int_equal(rd(f, IIR), IIR_NO_INT); /* not reported, so not cleared */
    wr(f, IER, IER_ETBEI);
    assert_true(f->u.line);
    assert_int_equal(rd(f, IIR), IIR_THRE);
    assert_false(f->u.line);
    assert_memory_equal(f->tx, "abc", 3);
}

static void test_modem_status_interrupt(void **state)
{
    struct fixture *f = *state;

    wr(f, IER, IER_EDSSI);
    wr(f, MCR, MCR_LOOP | MCR_RTS | MCR_DTR | MCR_OUT2); /* CTS, DSR, DCD stay asserted */
    assert_int_equal(f->nirq, 0);
    assert_int_equal(rd(f, MSR), MSR_CTS | MSR_DSR | MSR_DCD);
    wr(f, MCR, MCR_LOOP | MCR_DTR | MCR_OUT2); /* CTS drops */
    assert_int_equal(f->nirq, 1);
    assert_true(f->irq[0]);
    assert_int_equal(rd(f, IIR), IIR_MS);
    assert_int_equal(rd(f, MSR), MSR_DSR | MSR_DCD | MSR_DCTS);
    assert_int_equal(f->nirq, 2);
    assert_false(f->irq[1]);
    assert_int_equal(rd(f, MSR), MSR_DSR | MSR_DCD); /* deltas cleared by the read */
}

/* ---- loopback ---- */

static void test_loopback(void **state)
{
    struct fixture *f = *state;

    wr(f, FCR, FCR_ENABLE);
    wr(f, IER, IER_ERBFI);
    /* Entering loopback with every output off drops CTS, DSR, DCD */
    wr(f, MCR, MCR_LOOP);
    assert_int_equal(rd(f, MSR), MSR_DCTS | MSR_DDSR | MSR_DDCD);
    /* Outputs feed the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
    wr(f, MCR, MCR_LOOP | MCR_RTS);
    assert_int_equal(rd(f, MSR), MSR_CTS | MSR_DCTS);
    wr(f, MCR, MCR_LOOP | MCR_DTR);
    assert_int_equal(rd(f, MSR), MSR_DSR | MSR_DCTS | MSR_DDSR);
    wr(f, MCR, MCR_LOOP | MCR_OUT1);
    assert_int_equal(rd(f, MSR), MSR_RI | MSR_DDSR); /* RI rising: no TERI */
    wr(f, MCR, MCR_LOOP | MCR_OUT2);
    assert_int_equal(rd(f, MSR), MSR_DCD | MSR_TERI | MSR_DDCD); /* RI trailing edge */
    wr(f, MCR, MCR_LOOP | MCR_OUT1 | MCR_OUT2 | MCR_RTS | MCR_DTR);
    assert_int_equal(rd(f, MSR), 0xf0 | MSR_DCTS | MSR_DDSR);
    assert_int_equal(rd(f, MSR), 0xf0);
    /* Written bytes come back, not out, and raise the receive interrupt */
    wr(f, THR, 'L');
    wr(f, THR, 'B');
    assert_int_equal(f->ntx, 0);
    assert_true(f->u.line);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_RDA); /* trigger level 1 */
    assert_int_equal(rd(f, RBR), 'L');
    assert_int_equal(rd(f, RBR), 'B');
    assert_false(f->u.line);
    /* Loopback overrun: 16 kept, the rest lost and flagged */
    for (int i = 0; i < 20; i++)
        wr(f, THR, (u8)i);
    assert_int_equal(f->u.rx_dropped, 4);
    assert_int_equal(rd(f, LSR) & LSR_OE, LSR_OE);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR);
    /* Leaving loopback: output reaches tx() again, the line inputs come back */
    wr(f, MCR, MCR_OUT2);
    assert_int_equal(rd(f, MSR), MSR_LINE | MSR_TERI); /* only RI changed */
    wr(f, THR, 'T');
    assert_int_equal(f->ntx, 1);
    assert_int_equal(f->tx[0], 'T');
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
}

/* ---- what Linux's 8250 driver does ---- */

enum linux_type { T_NONE, T_8250, T_16450, T_16550, T_16550A, T_OTHER };

/* size_fifo(): loopback at the fastest rate, write 256 bytes, count what comes back. */
static int linux_size_fifo(struct fixture *f)
{
    u8 old_lcr, old_fcr, old_mcr, old_dll, old_dlm;
    int count;

    old_lcr = rd(f, LCR);
    wr(f, LCR, 0);
    old_fcr = rd(f, IIR); /* Linux reads "FCR", which is IIR */
    old_mcr = rd(f, MCR);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    wr(f, MCR, MCR_LOOP);
    wr(f, LCR, LCR_DLAB);
    old_dll = rd(f, DLL);
    old_dlm = rd(f, DLM);
    wr(f, DLL, 1);
    wr(f, DLM, 0);
    wr(f, LCR, LCR_WLEN8);
    for (count = 0; count < 256; count++)
        wr(f, THR, (u8)count);
    for (count = 0; (rd(f, LSR) & LSR_DR) && count < 256; count++)
        rd(f, RBR);
    wr(f, FCR, old_fcr);
    wr(f, MCR, old_mcr);
    wr(f, LCR, LCR_DLAB);
    wr(f, DLL, old_dll);
    wr(f, DLM, old_dlm);
    wr(f, LCR, old_lcr);
    return count;
}

/* autoconfig_16550a() on a kernel that probes the variants. */
static enum linux_type linux_autoconfig_16550a(struct fixture *f)
{
    u8 status1, status2, iersave;

    /* ST16C650V1: EFR readable with LCR = 0x80 (reads IIR here, never 0) */
    wr(f, LCR, LCR_DLAB);
    if (rd(f, IIR) == 0)
        return T_OTHER;
    /* EFRv2: with LCR = 0xbf */
    wr(f, LCR, LCR_CONF_MODE_B);
    if (rd(f, IIR) == 0)
        return T_OTHER;
    /* National SuperIO: EXCR1 at offset 2 in bank 2 (LCR = 0xe0) mirroring MCR.LOOP */
    wr(f, LCR, 0);
    status1 = rd(f, MCR);
    wr(f, LCR, 0xe0);
    status2 = rd(f, IIR);
    if (!((status2 ^ status1) & MCR_LOOP)) {
        wr(f, LCR, 0);
        wr(f, MCR, status1 ^ MCR_LOOP);
        wr(f, LCR, 0xe0);
        status2 = rd(f, IIR);
        wr(f, LCR, 0);
        wr(f, MCR, status1);
        if ((status2 ^ status1) & MCR_LOOP)
            return T_OTHER;
    }
    /* TI16750: IIR bit 5 follows FCR bit 5 */
    wr(f, LCR, 0);
    wr(f, FCR, FCR_ENABLE | FCR_64BYTE);
    status1 = rd(f, IIR) >> 5;
    wr(f, FCR, FCR_ENABLE);
    wr(f, LCR, LCR_DLAB);
    wr(f, FCR, FCR_ENABLE | FCR_64BYTE);
    status2 = rd(f, IIR) >> 5;
    wr(f, FCR, FCR_ENABLE);
    wr(f, LCR, 0);
    if (status1 == 6 && status2 == 7)
        return T_OTHER;
    /* XScale: IER bit 6 (UUE) writable */
    iersave = rd(f, IER);
    wr(f, IER, iersave & ~IER_UUE);
    if (!(rd(f, IER) & IER_UUE)) {
        wr(f, IER, iersave | IER_UUE);
        if (rd(f, IER) & IER_UUE)
            return T_OTHER;
    }
    wr(f, IER, iersave);
    /* U6 16550A: a 64-byte FIFO */
    return linux_size_fifo(f) == 64 ? T_OTHER : T_16550A;
}

/* autoconfig(): existence, loopback, then the FIFO bits of IIR. */
static enum linux_type linux_autoconfig(struct fixture *f)
{
    u8 scratch, scratch2, scratch3, save_mcr, save_lcr, status1;
    enum linux_type type = T_NONE;

    scratch = rd(f, IER);
    wr(f, IER, 0);
    scratch2 = rd(f, IER) & 0x0f;
    wr(f, IER, 0x0f);
    scratch3 = rd(f, IER) & 0x0f;
    wr(f, IER, scratch);
    if (scratch2 != 0 || scratch3 != 0x0f)
        return T_NONE;
    save_mcr = rd(f, MCR);
    save_lcr = rd(f, LCR);
    wr(f, MCR, MCR_LOOP | MCR_RTS | MCR_OUT2);
    status1 = rd(f, MSR) & 0xf0;
    wr(f, MCR, save_mcr);
    if (status1 != (MSR_DCD | MSR_CTS))
        return T_NONE;
    wr(f, LCR, LCR_CONF_MODE_B);
    wr(f, FCR, 0); /* EFR on the chips that have one; FCR here */
    wr(f, LCR, 0);
    wr(f, FCR, FCR_ENABLE);
    switch (rd(f, IIR) >> 6) {
    case 0: /* autoconfig_8250(): is there a scratch register? */
        wr(f, SCR, 0xa5);
        type = rd(f, SCR) == 0xa5 ? T_16450 : T_8250;
        break;
    case 1:
        type = T_OTHER;
        break;
    case 2:
        type = T_16550;
        break;
    case 3:
        type = linux_autoconfig_16550a(f);
        break;
    }
    wr(f, LCR, save_lcr);
    /* Reset the UART: MCR back, FIFOs cleared and off, RX drained, IER cleared */
    wr(f, MCR, save_mcr);
    wr(f, FCR, FCR_ENABLE);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    wr(f, FCR, 0);
    rd(f, RBR);
    wr(f, IER, 0);
    return type;
}

static void test_linux_autoconfig_16550a(void **state)
{
    struct fixture *f = *state;

    /* A byte typed before the probe, and earlycon output */
    push(f, "?");
    wr(f, THR, '[');
    assert_int_equal(linux_autoconfig(f), T_16550A);
    /* The probe leaves no trace: FIFOs off, nothing received, interrupts off */
    assert_int_equal(rd(f, IIR), IIR_NO_INT);
    assert_int_equal(rd(f, IER), 0);
    assert_int_equal(rd(f, MCR), 0);
    assert_int_equal(rd(f, LCR), 0);
    assert_int_equal(rd(f, LSR) & (LSR_DR | LSR_OE), 0);
    assert_false(f->u.line);
    /* Only the earlycon byte went out: size_fifo() looped its 256 bytes back */
    assert_int_equal(f->ntx, 1);
    /* size_fifo() alone counts 16 */
    assert_int_equal(linux_size_fifo(f), VNS16550_FIFO);
}

/* Linux's driver state: its IER shadow and the bytes it has to send and got. */
struct linux_port {
    u8 ier;
    const char *xmit;
    char rx[256];
    size_t nrx;
    bool bug_thre, bug_txen;
};

/* serial8250_do_startup() up to the enabled receive interrupts. */
static void linux_startup(struct fixture *f, struct linux_port *p)
{
    u8 iir1, iir, lsr;

    wr(f, FCR, FCR_ENABLE);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    wr(f, FCR, 0);
    rd(f, LSR);
    rd(f, RBR);
    rd(f, IIR);
    rd(f, MSR);
    assert_int_not_equal(rd(f, LSR), 0xff); /* the "LSR safety check" */
    wr(f, LCR, LCR_WLEN8);
    /* The THRE test: THRE must be reasserted each time ETBEI is enabled */
    while (!(rd(f, LSR) & LSR_THRE))
        ;
    wr(f, IER, IER_ETBEI);
    iir1 = rd(f, IIR);
    wr(f, IER, 0);
    wr(f, IER, IER_ETBEI);
    iir = rd(f, IIR);
    wr(f, IER, 0);
    p->bug_thre = !(iir1 & IIR_NO_INT) && (iir & IIR_NO_INT);
    /* set_mctrl(): DTR, RTS, OUT2 */
    wr(f, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    /* The TX enable test: an interrupt when enabling the TX irq */
    wr(f, IER, IER_ETBEI);
    lsr = rd(f, LSR);
    iir = rd(f, IIR);
    wr(f, IER, 0);
    p->bug_txen = (lsr & LSR_TEMT) && (iir & IIR_NO_INT);
    p->ier = IER_ELSI | IER_ERBFI;
    wr(f, IER, p->ier);
    rd(f, LSR);
    rd(f, RBR);
    rd(f, IIR);
    rd(f, MSR);
}

/* serial8250_do_set_termios(): 115200 8N1, FIFO on with trigger 8. */
static void linux_set_termios(struct fixture *f, struct linux_port *p)
{
    wr(f, IER, p->ier);
    wr(f, LCR, LCR_WLEN8 | LCR_DLAB);
    wr(f, DLL, 2);
    wr(f, DLM, 0);
    wr(f, LCR, LCR_WLEN8);
    wr(f, FCR, FCR_ENABLE);
    wr(f, FCR, FCR_ENABLE | FCR_TRIG_8);
}

/* serial8250_handle_irq(): true if the port had an interrupt. */
static bool linux_handle_irq(struct fixture *f, struct linux_port *p)
{
    u8 iir = rd(f, IIR), lsr;

    if (iir & IIR_NO_INT)
        return false;
    lsr = rd(f, LSR);
    for (int max = 256; (lsr & LSR_DR) && max; max--) {
        assert_true(p->nrx < sizeof(p->rx));
        p->rx[p->nrx++] = (char)rd(f, RBR);
        lsr = rd(f, LSR);
    }
    rd(f, MSR);
    if ((lsr & LSR_THRE) && (p->ier & IER_ETBEI)) {
        for (int count = VNS16550_FIFO; count && *p->xmit; count--)
            wr(f, THR, (u8)*p->xmit++);
        if (!*p->xmit) { /* __stop_tx() */
            p->ier &= ~IER_ETBEI;
            wr(f, IER, p->ier);
        }
    }
    return true;
}

/* serial8250_interrupt(): handle until the port has nothing, as the PLIC would re-raise. */
static void linux_interrupt(struct fixture *f, struct linux_port *p)
{
    int pass = 0;

    assert_true(f->u.line);
    while (linux_handle_irq(f, p))
        assert_true(++pass < 64);
    assert_false(f->u.line);
}

/* serial8250_console_write(): IER off, poll each byte out, IER restored. */
static void linux_console_write(struct fixture *f, const char *s)
{
    u8 ier = rd(f, IER);

    wr(f, IER, 0);
    for (; *s; s++) {
        while ((rd(f, LSR) & LSR_BOTH_EMPTY) != LSR_BOTH_EMPTY)
            ;
        wr(f, THR, (u8)*s);
    }
    while ((rd(f, LSR) & LSR_BOTH_EMPTY) != LSR_BOTH_EMPTY)
        ;
    wr(f, IER, ier);
}

static void test_linux_startup_tests(void **state)
{
    struct fixture *f = *state;
    struct linux_port p = { 0 };

    linux_startup(f, &p);
    /* A real 16550 passes both: no polling timer, no TX workarounds */
    assert_false(p.bug_thre);
    assert_false(p.bug_txen);
    assert_int_equal(rd(f, IER), IER_ELSI | IER_ERBFI);
    assert_false(f->u.line);
    assert_int_equal(f->ntx, 0);
}

static void test_linux_io(void **state)
{
    struct fixture *f = *state;
    struct linux_port p = { .xmit = "" };
    const char *line = "a line longer than one FIFO load of sixteen bytes\r\n";

    linux_startup(f, &p);
    linux_set_termios(f, &p);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NO_INT);

    /* One typed byte, below trigger level 8: the timeout reports it at once */
    push(f, "r");
    assert_true(last_irq(f));
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_CTI);
    linux_interrupt(f, &p);
    assert_int_equal(p.nrx, 1);
    /* A burst past the trigger level */
    push(f, "oot\rpassword\r");
    linux_interrupt(f, &p);
    assert_int_equal(p.nrx, 14);
    assert_memory_equal(p.rx, "root\rpassword\r", 14);

    /* start_tx(): ETBEI 0 -> 1 brings the interrupt that starts the transfer */
    p.xmit = line;
    p.ier |= IER_ETBEI;
    wr(f, IER, p.ier);
    linux_interrupt(f, &p);
    assert_int_equal(*p.xmit, '\0');
    assert_int_equal(f->ntx, strlen(line));
    assert_memory_equal(f->tx, line, strlen(line));
    assert_false(p.ier & IER_ETBEI);

    /* A printk while a transfer is running: IER restored, THRE raised again */
    p.xmit = "more";
    p.ier |= IER_ETBEI;
    wr(f, IER, p.ier);
    linux_console_write(f, "[ 1.0] hello\n");
    linux_interrupt(f, &p);
    assert_int_equal(f->ntx, strlen(line) + 13 + 4);
    assert_memory_equal(f->tx + strlen(line), "[ 1.0] hello\nmore", 17);

    /* A printk with TX idle moves no line */
    linux_console_write(f, "x");
    assert_false(f->u.line);

    /* An overrun is reported through the line status interrupt and cleared by LSR */
    for (int i = 0; i <= VNS16550_FIFO; i++)
        vns16550_rx_push(&f->u, 'o');
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_RLS);
    linux_interrupt(f, &p);
    assert_int_equal(p.nrx, 14 + VNS16550_FIFO);
}

/* ---- U-Boot's ns16550 ---- */

static void test_uboot_ns16550(void **state)
{
    struct fixture *f = *state;
    const char *msg = "U-Boot 2024.01\n";
    char got[8];
    u8 lcr;

    /* NS16550_init(): wait TEMT, IER 0, MCR DTR|RTS, FCR enable+resets, 8N1, divisor */
    while (!(rd(f, LSR) & LSR_TEMT))
        ;
    wr(f, IER, 0);
    wr(f, MCR, MCR_DTR | MCR_RTS);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    wr(f, LCR, LCR_WLEN8);
    lcr = rd(f, LCR) & ~0x40;
    wr(f, LCR, lcr | LCR_DLAB);
    wr(f, DLL, 2);
    wr(f, DLM, 0);
    wr(f, LCR, lcr);
    /* putc(): poll THRE */
    for (const char *p = msg; *p; p++) {
        while (!(rd(f, LSR) & LSR_THRE))
            ;
        wr(f, THR, (u8)*p);
    }
    assert_memory_equal(f->tx, msg, strlen(msg));
    /* tstc() and getc() */
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    push(f, "boot\r");
    for (int i = 0; i < 5; i++) {
        assert_true(rd(f, LSR) & LSR_DR);
        got[i] = (char)rd(f, RBR);
    }
    assert_memory_equal(got, "boot\r", 5);
    assert_int_equal(rd(f, LSR) & LSR_DR, 0);
    assert_int_equal(f->nirq, 0);
}

/* ---- xv6's uart.c ---- */

static void test_xv6_uart(void **state)
{
    struct fixture *f = *state;
    const char *s = "$ ";
    int tx_busy = 0, intr = 0;
    char got[4];
    int ngot = 0;

    /* uartinit() */
    wr(f, IER, 0);
    wr(f, LCR, LCR_DLAB);
    wr(f, 0, 0x03);
    wr(f, 1, 0x00);
    wr(f, LCR, LCR_WLEN8);
    wr(f, FCR, FCR_ENABLE | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    wr(f, IER, IER_ETBEI | IER_ERBFI);
    /* Enabling TX raised THRE: the first uartintr() acknowledges it by reading ISR */
    assert_true(f->u.line);
    rd(f, IIR);
    assert_false(f->u.line);
    /* uartputc_sync() (kernel printf, interrupts off): polls LSR, writes THR */
    while (!(rd(f, LSR) & LSR_THRE))
        ;
    wr(f, THR, 'x');
    /* uartwrite(): one byte per transmit-complete interrupt */
    rd(f, IIR); /* the interrupt that uartputc_sync() left pending, taken later */
    for (const char *p = s; *p; p++) {
        while (tx_busy) {
            /* uartintr() */
            assert_true(f->u.line);
            rd(f, IIR);
            if (rd(f, LSR) & LSR_THRE)
                tx_busy = 0;
            while (rd(f, LSR) & LSR_DR)
                got[ngot++] = (char)rd(f, RBR);
            assert_true(++intr < 8);
        }
        wr(f, THR, (u8)*p);
        tx_busy = 1;
    }
    assert_memory_equal(f->tx, "x$ ", 3);
    /* Input while the last THRE is still pending: both in one uartintr() */
    push(f, "ls");
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_RDA); /* xv6 leaves the trigger at 1 */
    while (rd(f, LSR) & LSR_DR)
        got[ngot++] = (char)rd(f, RBR);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_THRE);
    assert_false(f->u.line);
    assert_int_equal(ngot, 2);
    assert_memory_equal(got, "ls", 2);
}

/* ---- accesses ---- */

static void test_bad_accesses(void **state)
{
    struct fixture *f = *state;
    u64 v = 0x5a5a;

    wr(f, FCR, FCR_ENABLE);
    push(f, "q");
    wr(f, IER, IER_ERBFI);
    f->nirq = 0;
    /* Only byte accesses: reg-io-width 1 */
    static const unsigned int sizes[] = { 0, 2, 3, 4, 8, 16 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(vns16550_read(&f->u, RBR, sizes[i], &v), -1);
        assert_int_equal(vns16550_read(&f->u, LSR, sizes[i], &v), -1);
        assert_int_equal(vns16550_write(&f->u, THR, sizes[i], 'x'), -1);
        assert_int_equal(vns16550_write(&f->u, FCR, sizes[i], FCR_CLEAR_RCVR | FCR_ENABLE), -1);
    }
    /* Outside the window */
    assert_int_equal(vns16550_read(&f->u, VNS16550_SIZE, 1, &v), -1);
    assert_int_equal(vns16550_write(&f->u, VNS16550_SIZE, 1, 0), -1);
    assert_int_equal(vns16550_write(&f->u, 0x10000000ULL, 1, 'x'), -1);
    assert_int_equal(vns16550_read(&f->u, ~0ULL, 1, &v), -1);
    /* None of them had an effect */
    assert_int_equal(v, 0x5a5a);
    assert_int_equal(f->ntx, 0);
    assert_int_equal(f->nirq, 0);
    assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_RDA);
    assert_int_equal(rd(f, RBR), 'q');
}

static void test_holes_read_zero(void **state)
{
    struct fixture *f = *state;

    for (u64 off = 8; off < VNS16550_SIZE; off++) {
        wr(f, off, 0xff);
        assert_int_equal(rd(f, off), 0);
    }
    check_reset_state(f);
    assert_int_equal(f->ntx, 0);
}

static void test_value_bits_above_byte_ignored(void **state)
{
    struct fixture *f = *state;
    u64 v;

    assert_int_equal(vns16550_write(&f->u, SCR, 1, 0xffffffffffff1234ULL), 0);
    assert_int_equal(vns16550_read(&f->u, SCR, 1, &v), 0);
    assert_int_equal(v, 0x34);
    assert_int_equal(vns16550_write(&f->u, THR, 1, 0x141), 0);
    assert_int_equal(f->tx[0], 'A');
}

static void test_null_callbacks(void **state)
{
    struct fixture *f = *state;

    vns16550_init(&f->u, NULL, NULL, NULL);
    wr(f, IER, 0x0f);
    wr(f, THR, 'x');
    assert_true(vns16550_rx_push(&f->u, 'y'));
    assert_true(f->u.line);
    assert_int_equal(rd(f, RBR), 'y');
    rd(f, IIR);
    assert_false(f->u.line);
}

/* The line the model should report, from its state (reading IIR would change it). */
static bool expected_line(const struct vns16550 *u)
{
    return ((u->ier & IER_ELSI) && u->lsr_oe) || ((u->ier & IER_ERBFI) && u->rx_count) ||
           ((u->ier & IER_ETBEI) && u->thre_int) || ((u->ier & IER_EDSSI) && u->msr_delta);
}

/*
 * Random register traffic: after every step the reported line must be
 * "some enabled source active", and irq() must have been called exactly
 * when it changed.
 */
/* IIR's priority order, as the model ranks a source that joins a line already high. */
static unsigned int iir_rank(u32 id)
{
    return id == IIR_RLS ? 4 : id == IIR_RDA || id == IIR_CTI ? 3 : id == IIR_THRE ? 2
                         : id == IIR_MS ? 1 : 0;
}

/*
 * The line is reported on each change, and again (low, then high) when a
 * source that outranks the one behind it becomes active while it is high:
 * a PLIC that forwards only on a device's signal must see that one.
 */
static void test_irq_only_on_transitions(void **state)
{
    struct fixture *f = *state;
    u32 seed = 4242;
    bool level = false;
    size_t calls = 0;
    unsigned int resignals = 0;

    for (int step = 0; step < 30000; step++) {
        u32 r, before = f->u.line_id;
        bool now, again;

        seed = seed * 1103515245 + 12345;
        r = seed >> 8;
        switch (r % 8) {
        case 0:
        case 1:
            vns16550_rx_push(&f->u, (char)(r >> 4));
            break;
        case 2:
        case 3:
            rd(f, (r >> 4) % 8);
            break;
        case 4:
            wr(f, (r >> 4) % 8, (u8)(r >> 8));
            break;
        case 5:
            wr(f, IER, (u8)(r >> 4));
            break;
        case 6:
            wr(f, FCR, (u8)(r >> 4));
            break;
        case 7:
            wr(f, MCR, (u8)(r >> 4));
            break;
        }
        now = expected_line(&f->u);
        again = now && level && iir_rank(f->u.line_id) > iir_rank(before);
        assert_int_equal(f->u.line, now);
        assert_int_equal(f->nirq, calls + (now != level) + 2 * again);
        if (now != level || again)
            assert_int_equal(f->irq[f->nirq - 1], now);
        if (again)
            assert_false(f->irq[f->nirq - 2]);
        resignals += again;
        level = now;
        assert_true(f->u.rx_count <= VNS16550_FIFO && f->u.rx_head < VNS16550_FIFO);
        if (f->nirq >= 256)
            f->nirq = 0;
        if (f->ntx >= 512)
            f->ntx = 0;
        calls = f->nirq;
    }
    assert_true(resignals > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_values, setup),
        cmocka_unit_test_setup(test_init_resets, setup),
        cmocka_unit_test_setup(test_scratch_register, setup),
        cmocka_unit_test_setup(test_lcr_mcr_ier_storage, setup),
        cmocka_unit_test_setup(test_divisor_latch, setup),
        cmocka_unit_test_setup(test_thr_write_transmits, setup),
        cmocka_unit_test_setup(test_linux_earlycon, setup),
        cmocka_unit_test_setup(test_rx_16450_mode, setup),
        cmocka_unit_test_setup(test_rx_fifo_mode, setup),
        cmocka_unit_test_setup(test_fcr_fifo_enable_and_resets, setup),
        cmocka_unit_test_setup(test_rx_trigger_levels, setup),
        cmocka_unit_test_setup(test_iir_priority, setup),
        cmocka_unit_test_setup(test_ier_masks_each_source, setup),
        cmocka_unit_test_setup(test_rls_interrupt, setup),
        cmocka_unit_test_setup(test_thre_interrupt, setup),
        cmocka_unit_test_setup(test_modem_status_interrupt, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_linux_autoconfig_16550a, setup),
        cmocka_unit_test_setup(test_linux_startup_tests, setup),
        cmocka_unit_test_setup(test_linux_io, setup),
        cmocka_unit_test_setup(test_uboot_ns16550, setup),
        cmocka_unit_test_setup(test_xv6_uart, setup),
        cmocka_unit_test_setup(test_bad_accesses, setup),
        cmocka_unit_test_setup(test_holes_read_zero, setup),
        cmocka_unit_test_setup(test_value_bits_above_byte_ignored, setup),
        cmocka_unit_test_setup(test_null_callbacks, setup),
        cmocka_unit_test_setup(test_irq_only_on_transitions, setup),
    };

    return cmocka_run_group_tests_name("vns16550", tests, NULL, NULL);
}
