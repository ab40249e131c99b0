/*
 * Arm PrimeCell UART (PL011) driver, polled. Register offsets from the PL011
 * TRM (DDI 0183). Keel only needs transmit and non-blocking receive; line
 * settings are left as firmware or QEMU configured them.
 */
#include <keel/console.h>
#include <drivers/pl011.h>

#define UARTDR 0x000
#define UARTFR 0x018
#define UARTFR_TXFF BIT(5)
#define UARTFR_RXFE BIT(4)
#define UARTCR 0x030
#define UARTCR_UARTEN BIT(0)
#define UARTCR_TXE BIT(8)
#define UARTCR_RXE BIT(9)
#define UARTIMSC 0x038

static volatile u32 *pl011_base;

static inline u32 pl011_read(u32 off)
{
    return pl011_base[off / 4];
}

static inline void pl011_write(u32 off, u32 v)
{
    pl011_base[off / 4] = v;
}

void pl011_putc(char c)
{
    if (!pl011_base)
        return;
    if (c == '\n')
        pl011_putc('\r');
    while (pl011_read(UARTFR) & UARTFR_TXFF)
        ;
    pl011_write(UARTDR, (u8)c);
}

int pl011_getc(void)
{
    if (!pl011_base || (pl011_read(UARTFR) & UARTFR_RXFE))
        return -1;
    return pl011_read(UARTDR) & 0xff;
}

#define UARTIMSC_RXIM BIT(4)
#define UARTIMSC_RTIM BIT(6)

/* Receive and receive-timeout interrupts: a single typed byte raises RTIM. */
static void pl011_enable_rx_irq(void)
{
    pl011_write(UARTIMSC, UARTIMSC_RXIM | UARTIMSC_RTIM);
}

static const struct console_ops pl011_console_ops = {
    .putc = pl011_putc,
    .getc = pl011_getc,
    .enable_rx_irq = pl011_enable_rx_irq,
};

void pl011_init(u64 base)
{
    pl011_base = (volatile u32 *)base;
    pl011_write(UARTIMSC, 0);
    pl011_write(UARTCR, pl011_read(UARTCR) | UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE);
    console_register(&pl011_console_ops);
}
