/*
 * Keel's console on an NS16550A-compatible UART (the RISC-V virt board's).
 * Firmware has set the line up already (baud rate, 8N1): Keel only
 * enables the FIFOs and uses the holding registers. Register names as in
 * the National Semiconductor PC16550D datasheet.
 */
#include <drivers/ns16550.h>
#include <keel/console.h>

#define UART_RBR 0 /* read */
#define UART_THR 0 /* write */
#define UART_IER 1
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_LSR 5

#define IER_ERBFI 0x01 /* received data available interrupt */
#define FCR_FIFOE 0x01
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20

static volatile u8 *uart_base;
static unsigned int uart_shift;

static u8 reg_read(unsigned int reg)
{
    return uart_base[reg << uart_shift];
}

static void reg_write(unsigned int reg, u8 val)
{
    uart_base[reg << uart_shift] = val;
}

static void ns16550_putc(char c)
{
    while (!(reg_read(UART_LSR) & LSR_THRE))
        ;
    reg_write(UART_THR, (u8)c);
}

static int ns16550_getc(void)
{
    return reg_read(UART_LSR) & LSR_DR ? reg_read(UART_RBR) : -1;
}

static void ns16550_enable_rx_irq(void)
{
    reg_write(UART_IER, IER_ERBFI);
}

static const struct console_ops ns16550_console = {
    .putc = ns16550_putc,
    .getc = ns16550_getc,
    .enable_rx_irq = ns16550_enable_rx_irq,
};

void ns16550_init(u64 base, unsigned int reg_shift)
{
    uart_base = (volatile u8 *)base;
    uart_shift = reg_shift;
    reg_write(UART_LCR, reg_read(UART_LCR) & ~LCR_DLAB);
    reg_write(UART_IER, 0);
    reg_write(UART_FCR, FCR_FIFOE);
    console_register(&ns16550_console);
}
