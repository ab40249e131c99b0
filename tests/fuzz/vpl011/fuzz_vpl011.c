/*
 * The emulated PL011 (src/vdev/vpl011.c) driven by random register accesses
 * of every width, console input and resets, with a reference receive queue
 * kept here to compare what the guest reads.
 *
 * After every step:
 *  - the FIFO bookkeeping is in range (count <= VPL011_FIFO, head < it);
 *  - the interrupt line the device last reported through its callback is
 *    (UARTRIS & UARTIMSC) != 0, and the callback fired only on changes;
 *  - no reserved bit is set in any register;
 *  - an access is refused exactly when its size is not 1, 2 or 4, it is
 *    misaligned, or it is outside the 4 KiB window; a read returns no bits
 *    beyond its width; UARTFR agrees with the queue (RXFE, RXFF, TXFE set,
 *    TXFF and BUSY clear);
 *  - console input is refused exactly when the FIFO is full at its current
 *    depth, and vpl011_rx_has_room() predicted that;
 *  - a UARTDR read returns the oldest byte of the reference queue; bytes
 *    written with loopback off reach the transmit callback in order.
 */
#include <string.h>

#include <keel/vpl011.h>

#include "fuzz_input.h"

#define DR 0x000
#define RSR 0x004
#define FR 0x018
#define LCR_H 0x02c
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03c
#define MIS 0x040
#define ICR 0x044
#define FEN (1u << 4)
#define LBE (1u << 7)

static const u16 regs[] = { 0x000, 0x004, 0x018, 0x020, 0x024, 0x028, 0x02c, 0x030,
                            0x034, 0x038, 0x03c, 0x040, 0x044, 0x048, 0xfe0, 0xfe4,
                            0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc };

/* Reserved bits are zero: the writable masks documented in vpl011.c. */
struct reg_mask {
    u16 off;
    u32 mask;
};
static const struct reg_mask masks[] = {
    { RSR, 0x8 }, { 0x020, 0xff }, { 0x024, 0xffff }, { 0x028, 0x3f }, { LCR_H, 0xff },
    { CR, 0xff87 }, { IFLS, 0x3f }, { IMSC, 0x7ff }, { RIS, 0x7ff }, { MIS, 0x7ff },
    { 0x048, 0x7 }, { FR, 0x1ff },
};

static struct vpl011 uart;
static int line_seen;           /* level from the irq callback, -1 before the first call */
static u8 txq[4096];
static unsigned int txq_len;

/* The reference receive queue: data bytes only, oldest first. */
static u8 refq[VPL011_FIFO];
static unsigned int ref_head, ref_count;

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

static unsigned int depth(void)
{
    return (uart.lcr_h & FEN) ? VPL011_FIFO : 1;
}

static void ref_push(u8 c)
{
    refq[(ref_head + ref_count) % VPL011_FIFO] = c;
    ref_count++;
}

static void reset(void)
{
    vpl011_init(&uart, on_tx, on_irq, NULL);
    line_seen = 0; /* init never calls irq(): the line starts low */
    txq_len = 0;
    ref_head = ref_count = 0;
}

static void check_state(void)
{
    FUZZ_CHECK(uart.rx_count <= VPL011_FIFO && uart.rx_head < VPL011_FIFO,
               "FIFO count %u head %u", uart.rx_count, uart.rx_head);
    FUZZ_CHECK(uart.rx_count == ref_count, "FIFO holds %u, reference %u", uart.rx_count,
               ref_count);
    FUZZ_CHECK(uart.line == ((uart.ris & uart.imsc) != 0), "line %d with RIS %#x IMSC %#x",
               uart.line, uart.ris, uart.imsc);
    FUZZ_CHECK(line_seen == (int)uart.line, "callback said %d, device holds %d", line_seen,
               uart.line);
    FUZZ_CHECK(!(uart.ris & ~0x7ffu) && !(uart.imsc & ~0x7ffu) && !(uart.cr & ~0xff87u) &&
                   !(uart.lcr_h & ~0xffu) && !(uart.ifls & ~0x3fu) && !(uart.dmacr & ~7u) &&
                   !(uart.rsr & ~8u) && !(uart.ilpr & ~0xffu) && !(uart.ibrd & ~0xffffu) &&
                   !(uart.fbrd & ~0x3fu),
               "reserved register bits set");
    FUZZ_CHECK(vpl011_rx_has_room(&uart) == (uart.rx_count < depth()), "has_room wrong");
}

static bool access_allowed(u64 off, unsigned int size)
{
    return (size == 1 || size == 2 || size == 4) && off % size == 0 && off < VPL011_SIZE;
}

static u32 reg_mask_of(u64 word)
{
    for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
        if (masks[i].off == word)
            return masks[i].mask;
    if (word == DR)
        return 0xfff; /* data and the error flags */
    if (word >= 0xfe0 && word <= 0xffc)
        return 0xff;
    return 0; /* reserved, test registers and the write-only UARTICR read as zero */
}

static void do_read(u64 off, unsigned int size)
{
    u64 val = 0xdeadbeefcafef00dULL;
    unsigned int count = uart.rx_count;
    int rc = vpl011_read(&uart, off, size, &val);

    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "read %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    if (rc)
        return;
    FUZZ_CHECK(size == 8 || !(val >> (8 * size)), "read %#llx/%u returned %#llx",
               (unsigned long long)off, size, (unsigned long long)val);
    u64 word = off & ~3ULL;
    unsigned int shift = (off & 3) * 8;
    FUZZ_CHECK(!((val << shift) & ~(u64)reg_mask_of(word)),
               "read %#llx/%u: %#llx has undefined bits", (unsigned long long)off, size,
               (unsigned long long)val);
    if (word == FR) {
        u32 fr = (u32)(val << shift);
        u32 lanes = (u32)(((1ULL << (8 * size)) - 1) << shift);
        u32 expect = 0x80 | (count ? 0 : 0x10) | (count >= depth() ? 0x40 : 0);
        FUZZ_CHECK((fr & lanes & 0xf8) == (expect & lanes & 0xf8), "UARTFR %#x, count %u",
                   fr, count);
    }
    if (word == DR) {
        /* Any read of UARTDR pops, whatever the lanes. */
        if (ref_count) {
            u8 want = refq[ref_head];
            ref_head = (ref_head + 1) % VPL011_FIFO;
            ref_count--;
            if (shift == 0)
                FUZZ_CHECK((val & 0xff) == want, "UARTDR gave %#llx, expected %#x",
                           (unsigned long long)(val & 0xff), want);
        } else {
            FUZZ_CHECK(val == 0, "UARTDR read %#llx from an empty FIFO",
                       (unsigned long long)val);
        }
    }
}

static void do_write(u64 off, unsigned int size, u64 val)
{
    unsigned int tx_before = txq_len;
    bool loop = uart.cr & LBE;
    bool room = uart.rx_count < depth();
    int rc = vpl011_write(&uart, off, size, val);

    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "write %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    if (rc || (off & ~3ULL) != DR || (off & 3) != 0)
        return;
    /* A UARTDR write covering bits 7:0: out on the line, or into the FIFO in loopback. */
    if (loop) {
        FUZZ_CHECK(txq_len == tx_before, "loopback byte transmitted");
        if (room)
            ref_push((u8)val);
    } else {
        FUZZ_CHECK(txq_len == tx_before + 1 && txq[tx_before] == (u8)val,
                   "byte %#x not transmitted", (u8)val);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    static const unsigned int sizes[] = { 1, 2, 4, 4, 4, 8, 0, 3 };

    reset();
    check_state();
    while (!fin_done(&in)) {
        unsigned int op = fin_u8(&in);
        u64 off;
        unsigned int sz = fin_pick(&in, sizes);

        /* Offsets: mostly a register plus a byte lane, sometimes anything near the window. */
        if (op & 0x80)
            off = fin_u16(&in) % 0x1400;
        else
            off = (u64)fin_pick(&in, regs) + (fin_u8(&in) & 3);
        switch (op % 8) {
        case 0:
        case 1:
            do_read(off, sz);
            break;
        case 2:
        case 3:
            do_write(off, sz, fin_u64(&in));
            break;
        case 4: { /* the registers that shape the FIFO and the interrupt, written whole */
            static const u16 ctl[] = { LCR_H, CR, IFLS, IMSC, ICR, RSR };
            do_write(fin_pick(&in, ctl), 4, fin_u32(&in));
            break;
        }
        case 5:
        case 6: { /* console input, a burst at a time */
            unsigned int n = fin_u8(&in) % 40 + 1;
            for (unsigned int i = 0; i < n; i++) {
                u8 c = fin_u8(&in);
                bool room = vpl011_rx_has_room(&uart);
                u64 dropped = uart.rx_dropped;
                bool ok = vpl011_rx_push(&uart, (char)c);
                FUZZ_CHECK(ok == room, "rx_push %d with room %d", ok, room);
                FUZZ_CHECK(uart.rx_dropped == dropped + !ok, "drop not counted");
                if (ok)
                    ref_push(c);
                else
                    FUZZ_CHECK((uart.ris & (1u << 10)) && (uart.rsr & 8), "overrun not flagged");
                check_state();
            }
            break;
        }
        case 7:
            if ((op >> 3) == 0)
                reset();
            else
                do_read(DR, 4);
            break;
        }
        check_state();
    }
    return 0;
}
