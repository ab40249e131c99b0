/*
 * The emulated NS16550A (src/vdev/vns16550.c) driven by random byte
 * accesses (and accesses of every other width, which must fail), console
 * input and resets, against a shadow UART kept here: the register model of
 * keel/vns16550.h written a second time, event by event.
 *
 * After every step:
 *  - the receiver bookkeeping is in range (count <= VNS16550_FIFO, head
 *    below it) and holds what the shadow holds;
 *  - the interrupt line the device last reported through its callback is
 *    the shadow's "some source enabled in IER and active", and the callback
 *    fired only on changes;
 *  - no reserved bit is set in IER, MCR or FCR's kept bits;
 *  - an access is refused exactly when its size is not 1 or it is outside
 *    the window; a read returns exactly the shadow's byte (RBR the oldest
 *    received byte, IIR the highest-priority enabled source with the FIFO
 *    bits, LSR and MSR with their read-clear side effects);
 *  - console input is refused exactly when the receiver is full at its
 *    current depth, vns16550_rx_has_room() predicted that, and the loss is
 *    counted and flagged as an overrun;
 *  - bytes written to THR reach the transmit callback in order, or the
 *    receiver in loopback.
 */
#include <string.h>

#include <keel/vns16550.h>

#include "fuzz_input.h"

/* The shadow: a 16550A as the datasheet describes it, one event at a time. */
struct shadow {
    u8 q[VNS16550_FIFO];
    unsigned int head, count;
    bool fifo;
    unsigned int trig;
    u8 ier, lcr, mcr, scr, dll, dlm;
    bool oe, thre;
    u8 delta;
};

static struct vns16550 uart;
static struct shadow sh;
static int line_seen; /* level from the irq callback */
static u8 txq[4096];
static unsigned int txq_len;
static u64 dropped;

static void on_tx(void *ctx, char c)
{
    (void)ctx;
    if (txq_len < sizeof(txq))
        txq[txq_len++] = (u8)c;
}

static void on_irq(void *ctx, bool level)
{
    (void)ctx;
    FUZZ_CHECK(line_seen != (int)level, "irq callback repeated level %d", level);
    line_seen = level;
}

static void reset(void)
{
    vns16550_init(&uart, on_tx, on_irq, NULL);
    memset(&sh, 0, sizeof(sh));
    sh.trig = 1;
    line_seen = 0; /* init never calls irq(): the line starts low */
    txq_len = 0;
    dropped = 0;
}

static unsigned int sh_depth(void)
{
    return sh.fifo ? VNS16550_FIFO : 1;
}

static void sh_receive(u8 c)
{
    if (sh.count < sh_depth()) {
        sh.q[(sh.head + sh.count) % VNS16550_FIFO] = c;
        sh.count++;
        return;
    }
    sh.oe = true;
    dropped++;
    if (!sh.fifo)
        sh.q[sh.head] = c;
}

/* MSR 7:4: DCD, RI, DSR, CTS, from the outputs in loopback. */
static u8 sh_inputs(void)
{
    if (!(sh.mcr & 0x10))
        return 0xb0;
    return (u8)((sh.mcr & 2 ? 0x10 : 0) | (sh.mcr & 1 ? 0x20 : 0) | (sh.mcr & 4 ? 0x40 : 0) |
                (sh.mcr & 8 ? 0x80 : 0));
}

static u8 sh_iir_id(void)
{
    if ((sh.ier & 4) && sh.oe)
        return 0x06;
    if ((sh.ier & 1) && sh.count)
        return sh.count >= (sh.fifo ? sh.trig : 1) ? 0x04 : 0x0c;
    if ((sh.ier & 2) && sh.thre)
        return 0x02;
    if ((sh.ier & 8) && sh.delta)
        return 0x00;
    return 0x01;
}

static void check_state(void)
{
    bool line = sh_iir_id() != 0x01;

    FUZZ_CHECK(uart.rx_count <= VNS16550_FIFO && uart.rx_head < VNS16550_FIFO,
               "receiver count %u head %u", uart.rx_count, uart.rx_head);
    FUZZ_CHECK(uart.rx_count == sh.count, "receiver holds %u, shadow %u", uart.rx_count,
               sh.count);
    for (unsigned int i = 0; i < sh.count; i++)
        FUZZ_CHECK(uart.rx_fifo[(uart.rx_head + i) % VNS16550_FIFO] ==
                       sh.q[(sh.head + i) % VNS16550_FIFO],
                   "receiver entry %u differs", i);
    FUZZ_CHECK(uart.line == line, "line %d, shadow %d", uart.line, line);
    FUZZ_CHECK(line_seen == (int)uart.line, "callback said %d, device holds %d", line_seen,
               uart.line);
    FUZZ_CHECK(!(uart.ier & ~0x0fu) && !(uart.mcr & ~0x1fu) && !(uart.fcr & ~0xc9u),
               "reserved bits: IER %#x MCR %#x FCR %#x", uart.ier, uart.mcr, uart.fcr);
    FUZZ_CHECK(uart.rx_dropped == dropped, "dropped %llu, shadow %llu",
               (unsigned long long)uart.rx_dropped, (unsigned long long)dropped);
    FUZZ_CHECK(vns16550_rx_has_room(&uart) == (sh.count < sh_depth()), "has_room wrong");
}

static bool access_allowed(u64 off, unsigned int size)
{
    return size == 1 && off < VNS16550_SIZE;
}

/* What a read of @off returns, with its side effects on the shadow. */
static u8 sh_read(u64 off)
{
    bool dlab = sh.lcr & 0x80;
    u8 v;

    switch (off) {
    case 0:
        if (dlab)
            return sh.dll;
        if (!sh.count)
            return 0;
        v = sh.q[sh.head];
        sh.head = (sh.head + 1) % VNS16550_FIFO;
        sh.count--;
        return v;
    case 1:
        return dlab ? sh.dlm : sh.ier;
    case 2:
        v = sh_iir_id();
        if (v == 0x02)
            sh.thre = false;
        return v | (sh.fifo ? 0xc0 : 0);
    case 3:
        return sh.lcr;
    case 4:
        return sh.mcr;
    case 5:
        v = 0x60 | (sh.oe ? 2 : 0) | (sh.count ? 1 : 0);
        sh.oe = false;
        return v;
    case 6:
        v = sh_inputs() | sh.delta;
        sh.delta = 0;
        return v;
    case 7:
        return sh.scr;
    }
    return 0;
}

static void sh_write_fcr(u8 v)
{
    static const unsigned int levels[4] = { 1, 4, 8, 14 };
    bool fifo = v & 1;

    if (fifo != sh.fifo || (fifo && (v & 2)))
        sh.head = sh.count = 0;
    sh.fifo = fifo;
    if (fifo)
        sh.trig = levels[v >> 6];
}

static void sh_write_mcr(u8 v)
{
    u8 old = sh_inputs(), now;

    sh.mcr = v & 0x1f;
    now = sh_inputs();
    if ((old ^ now) & 0x10)
        sh.delta |= 1;
    if ((old ^ now) & 0x20)
        sh.delta |= 2;
    if ((old & 0x40) && !(now & 0x40))
        sh.delta |= 4;
    if ((old ^ now) & 0x80)
        sh.delta |= 8;
}

/* A write of @v at @off on the shadow (do_write() checks where a THR byte went). */
static void sh_write(u64 off, u8 v)
{
    bool dlab = sh.lcr & 0x80;

    if (off == 0 && dlab) {
        sh.dll = v;
    } else if (off == 0) {
        if (sh.mcr & 0x10)
            sh_receive(v);
        sh.thre = true;
        return;
    } else if (off == 1 && dlab) {
        sh.dlm = v;
    } else if (off == 1) {
        if (!(sh.ier & 2) && (v & 2))
            sh.thre = true;
        sh.ier = v & 0x0f;
    } else if (off == 2) {
        sh_write_fcr(v);
    } else if (off == 3) {
        sh.lcr = v;
    } else if (off == 4) {
        sh_write_mcr(v);
    } else if (off == 7) {
        sh.scr = v;
    }
}

static void do_read(u64 off, unsigned int size)
{
    u64 val = 0xdeadbeefcafef00dULL;
    int rc = vns16550_read(&uart, off, size, &val);

    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "read %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    if (rc) {
        FUZZ_CHECK(val == 0xdeadbeefcafef00dULL, "refused read wrote its value");
        return;
    }
    u8 want = sh_read(off);
    FUZZ_CHECK(val == want, "read %#llx gave %#llx, shadow %#x", (unsigned long long)off,
               (unsigned long long)val, want);
}

static void do_write(u64 off, unsigned int size, u64 val)
{
    unsigned int tx_before = txq_len;
    bool to_tx = off == 0 && !(sh.lcr & 0x80) && !(sh.mcr & 0x10);
    int rc = vns16550_write(&uart, off, size, val);

    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "write %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    if (rc) {
        FUZZ_CHECK(txq_len == tx_before, "refused write transmitted");
        return;
    }
    sh_write(off, (u8)val);
    if (to_tx)
        FUZZ_CHECK(txq_len == tx_before + 1 && txq[tx_before] == (u8)val,
                   "byte %#x not transmitted", (u8)val);
    else if (txq_len < sizeof(txq))
        FUZZ_CHECK(txq_len == tx_before, "write %#llx transmitted", (unsigned long long)off);
}

static void do_push(u8 c)
{
    bool room = vns16550_rx_has_room(&uart);
    bool ok = vns16550_rx_push(&uart, (char)c);

    FUZZ_CHECK(ok == (sh.count < sh_depth()), "rx_push %d with shadow count %u", ok, sh.count);
    FUZZ_CHECK(ok == room, "rx_push %d, has_room said %d", ok, room);
    sh_receive(c);
    check_state();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    static const unsigned int sizes[] = { 1, 1, 1, 1, 1, 2, 4, 8, 0 };

    reset();
    check_state();
    while (!fin_done(&in)) {
        unsigned int op = fin_u8(&in);
        /* Offsets: mostly a register, sometimes anything in and past the window. */
        u64 off = (op & 0x80) ? fin_u16(&in) % 0x140 : fin_u8(&in) % 8;

        unsigned int sz;
        u64 val;

        /* Every input byte is read in its own statement: argument order is unspecified. */
        switch (op % 8) {
        case 0:
        case 1:
            do_read(off, fin_pick(&in, sizes));
            break;
        case 2:
        case 3:
            sz = fin_pick(&in, sizes);
            val = fin_u8(&in);
            val |= (u64)fin_u8(&in) << 56; /* bits above the byte must not matter */
            do_write(off, sz, val);
            break;
        case 4: { /* the registers that shape the receiver and interrupts, byte values */
            static const u8 ctl[] = { 1, 2, 3, 4, 1, 2 };
            do_write(fin_pick(&in, ctl), 1, fin_u8(&in));
            break;
        }
        case 5:
        case 6: { /* console input, a burst at a time */
            unsigned int n = fin_u8(&in) % 24 + 1;
            for (unsigned int i = 0; i < n; i++)
                do_push(fin_u8(&in));
            break;
        }
        case 7:
            if ((op >> 3) == 0)
                reset();
            else
                do_read(op & 0x40 ? 2 : 0, 1);
            break;
        }
        check_state();
    }
    return 0;
}
