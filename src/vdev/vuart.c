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

const struct vuart_ops vuart_pl011 = {
    .name = "pl011", .size = VPL011_SIZE,
    .reset = pl011_reset, .read = pl011_read, .write = pl011_write,
    .rx_has_room = pl011_rx_has_room, .rx_push = pl011_rx_push,
};
