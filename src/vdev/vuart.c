/* The console UART models behind struct vuart_ops (keel/vuart.h). */
#include <keel/vuart.h>

static void pl011_reset(union vuart *u, vuart_tx_fn tx, vuart_irq_fn irq, void *ctx)
{
    vpl011_init(&u->pl011, tx, irq, ctx);
}

static int pl011_read(union vuart *u, u64 off, unsigned int size, u64 *val)
{
    return vpl011_read(&u->pl011, off, size, val);
}

static int pl011_write(union vuart *u, u64 off, unsigned int size, u64 val)
{
    return vpl011_write(&u->pl011, off, size, val);
}

static bool pl011_rx_has_room(const union vuart *u)
{
    return vpl011_rx_has_room(&u->pl011);
}

static bool pl011_rx_push(union vuart *u, char c)
{
    return vpl011_rx_push(&u->pl011, c);
}

/* UARTFR.RXFE (bit 4) clear: UARTDR holds a byte; reading it pops the FIFO (vpl011.h). */
static int pl011_rx_pop(union vuart *u)
{
    u64 fr, dr;

    if (vpl011_read(&u->pl011, 0x18, 4, &fr) || (fr & 0x10) || vpl011_read(&u->pl011, 0, 4, &dr))
        return -1;
    return (int)(dr & 0xff);
}

const struct vuart_ops vuart_pl011 = {
    .name = "pl011", .size = VPL011_SIZE,
    .reset = pl011_reset, .read = pl011_read, .write = pl011_write,
    .rx_has_room = pl011_rx_has_room, .rx_push = pl011_rx_push, .rx_pop = pl011_rx_pop,
};

static void ns16550_reset(union vuart *u, vuart_tx_fn tx, vuart_irq_fn irq, void *ctx)
{
    vns16550_init(&u->ns16550, tx, irq, ctx);
}

static int ns16550_read(union vuart *u, u64 off, unsigned int size, u64 *val)
{
    return vns16550_read(&u->ns16550, off, size, val);
}

static int ns16550_write(union vuart *u, u64 off, unsigned int size, u64 val)
{
    return vns16550_write(&u->ns16550, off, size, val);
}

static bool ns16550_rx_has_room(const union vuart *u)
{
    return vns16550_rx_has_room(&u->ns16550);
}

static bool ns16550_rx_push(union vuart *u, char c)
{
    return vns16550_rx_push(&u->ns16550, c);
}

/*
 * RBR pops the FIFO as a guest read would; LSR is not read for DR (that
 * read would clear LSR.OE under the guest). With LCR.DLAB set, offset 0 is
 * the divisor latch: the byte stays.
 */
static int ns16550_rx_pop(union vuart *u)
{
    u64 rbr;

    if (!u->ns16550.rx_count || (u->ns16550.lcr & 0x80) || vns16550_read(&u->ns16550, 0, 1, &rbr))
        return -1;
    return (int)rbr;
}

const struct vuart_ops vuart_ns16550 = {
    .name = "ns16550a", .size = VNS16550_SIZE, .ns16550a = true,
    .reset = ns16550_reset, .read = ns16550_read, .write = ns16550_write,
    .rx_has_room = ns16550_rx_has_room, .rx_push = ns16550_rx_push, .rx_pop = ns16550_rx_pop,
};
