/*
 * Emulated PL011 UART: register offsets and bit names from the PL011 TRM
 * (Arm DDI 0183G), chapter 3 "Programmers Model". The model and its choices
 * are described in keel/vpl011.h.
 */
#include <keel/vpl011.h>

#define UARTDR 0x000
#define UARTDR_DATA GENMASK(7, 0)
#define UARTDR_OE BIT(11)
#define UARTRSR 0x004 /* UARTECR when written */
#define UARTRSR_OE BIT(3)
#define UARTFR 0x018
#define UARTFR_CTS BIT(0)
#define UARTFR_DSR BIT(1)
#define UARTFR_DCD BIT(2)
#define UARTFR_BUSY BIT(3)
#define UARTFR_RXFE BIT(4)
#define UARTFR_TXFF BIT(5)
#define UARTFR_RXFF BIT(6)
#define UARTFR_TXFE BIT(7)
#define UARTFR_RI BIT(8)
#define UARTILPR 0x020
#define UARTIBRD 0x024
#define UARTFBRD 0x028
#define UARTLCR_H 0x02c
#define UARTLCR_H_FEN BIT(4)
#define UARTCR 0x030
#define UARTCR_LBE BIT(7)
#define UARTCR_TXE BIT(8)
#define UARTCR_RXE BIT(9)
#define UARTCR_DTR BIT(10)
#define UARTCR_RTS BIT(11)
#define UARTCR_Out1 BIT(12)
#define UARTCR_Out2 BIT(13)
#define UARTIFLS 0x034
#define UARTIFLS_RXIFLSEL(v) (((v) >> 3) & 7)
#define UARTIMSC 0x038
#define UARTRIS 0x03c
#define UARTMIS 0x040
#define UARTICR 0x044
#define UARTDMACR 0x048
#define UARTPeriphID0 0xfe0
#define UARTPCellID3 0xffc

/* Interrupt bits, named as in UARTRIS; UARTIMSC, UARTMIS and UARTICR use the same positions. */
#define UARTRIS_RIRMIS BIT(0)
#define UARTRIS_CTSRMIS BIT(1)
#define UARTRIS_DCDRMIS BIT(2)
#define UARTRIS_DSRRMIS BIT(3)
#define UARTRIS_RXRIS BIT(4)
#define UARTRIS_TXRIS BIT(5)
#define UARTRIS_RTRIS BIT(6)
#define UARTRIS_OERIS BIT(10)

/* Writable bits of each register: the rest are reserved and read as zero. */
#define UARTILPR_MASK 0xffU
#define UARTIBRD_MASK 0xffffU
#define UARTFBRD_MASK 0x3fU
#define UARTLCR_H_MASK 0xffU
#define UARTCR_MASK 0xff87U /* bits 6:3 are reserved */
#define UARTIFLS_MASK 0x3fU
#define UARTINT_MASK 0x7ffU
#define UARTDMACR_MASK 0x7U

#define UARTCR_RESET (UARTCR_RXE | UARTCR_TXE)
#define UARTIFLS_RESET 0x12U /* both trigger levels at 1/2 */

/*
 * UARTPeriphID0-3 then UARTPCellID0-3. Part 0x011, designer 0x41 (Arm),
 * revision 3 (r1p5: 32-entry FIFOs). The AMBA bus matches on these.
 */
static const u8 vpl011_id[8] = { 0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

/* Receive interrupt trigger levels in entries, by UARTIFLS.RXIFLSEL: 1/8 to 7/8 full. */
static const u8 vpl011_rx_trigger_levels[8] = {
    VPL011_FIFO / 8, VPL011_FIFO / 4, VPL011_FIFO / 2, VPL011_FIFO * 3 / 4, VPL011_FIFO * 7 / 8,
    /* reserved encodings: use the reset level */
    VPL011_FIFO / 2, VPL011_FIFO / 2, VPL011_FIFO / 2,
};

static bool vpl011_fifo_enabled(const struct vpl011 *u)
{
    return u->lcr_h & UARTLCR_H_FEN;
}

static unsigned int vpl011_rx_depth(const struct vpl011 *u)
{
    return vpl011_fifo_enabled(u) ? VPL011_FIFO : 1;
}

/* Fill level at which RXRIS rises: with the FIFO disabled, the one holding register. */
static unsigned int vpl011_rx_trigger(const struct vpl011 *u)
{
    if (!vpl011_fifo_enabled(u))
        return 1;
    return vpl011_rx_trigger_levels[UARTIFLS_RXIFLSEL(u->ifls)];
}

static void vpl011_update_irq(struct vpl011 *u)
{
    bool level = (u->ris & u->imsc) != 0;

    if (level == u->line)
        return;
    u->line = level;
    if (u->irq)
        u->irq(u->ctx, level);
}

/* A byte arrives on the receive line (from the console, or looped back). */
static bool vpl011_receive(struct vpl011 *u, u8 c)
{
    unsigned int trigger = vpl011_rx_trigger(u);
    unsigned int old = u->rx_count;

    if (old >= vpl011_rx_depth(u)) {
        /* The FIFO keeps its contents; the byte in the shift register is lost. */
        u->rx_dropped++;
        u->rx_overrun = true;
        u->rsr |= UARTRSR_OE;
        u->ris |= UARTRIS_OERIS;
        vpl011_update_irq(u);
        return false;
    }
    u->rx_fifo[(u->rx_head + old) % VPL011_FIFO] = c | (u->rx_overrun ? UARTDR_OE : 0);
    u->rx_overrun = false;
    u->rx_count = old + 1;
    if (old < trigger && u->rx_count >= trigger)
        u->ris |= UARTRIS_RXRIS;
    u->ris |= UARTRIS_RTRIS; /* the timeout expires at once: see vpl011.h */
    vpl011_update_irq(u);
    return true;
}

/* UARTDR read: the oldest entry, or 0 if there is none. */
static u32 vpl011_rx_pop(struct vpl011 *u)
{
    u32 v;

    if (!u->rx_count)
        return 0;
    v = u->rx_fifo[u->rx_head];
    u->rx_head = (u->rx_head + 1) % VPL011_FIFO;
    u->rx_count--;
    if (u->rx_count < vpl011_rx_trigger(u))
        u->ris &= ~UARTRIS_RXRIS;
    if (!u->rx_count)
        u->ris &= ~UARTRIS_RTRIS;
    vpl011_update_irq(u);
    return v;
}

/* UARTDR write: the byte leaves at once, so the TX FIFO drains through its trigger level. */
static void vpl011_transmit(struct vpl011 *u, u8 c)
{
    if (u->cr & UARTCR_LBE)
        vpl011_receive(u, c);
    else if (u->tx)
        u->tx(u->ctx, (char)c);
    u->ris |= UARTRIS_TXRIS;
    vpl011_update_irq(u);
}

/* Modem status inputs in loopback: the outputs, as UARTFR bits. */
static inline u32 vpl011_looped_inputs(const struct vpl011 *u)
{
    u32 fr = 0;

    if (u->cr & UARTCR_RTS)
        fr |= UARTFR_CTS;
    if (u->cr & UARTCR_DTR)
        fr |= UARTFR_DSR;
    if (u->cr & UARTCR_Out1)
        fr |= UARTFR_DCD;
    if (u->cr & UARTCR_Out2)
        fr |= UARTFR_RI;
    return fr;
}

/*
 * Modem status inputs as UARTFR bits: a connected line, or the outputs in
 * loopback. Inline, with the loopback case apart, so a UARTFR read (what a
 * guest polls) stays a leaf with no stack frame.
 */
static inline u32 vpl011_modem_inputs(const struct vpl011 *u)
{
    if (!(u->cr & UARTCR_LBE))
        return UARTFR_CTS | UARTFR_DSR | UARTFR_DCD;
    return vpl011_looped_inputs(u);
}

/* Raises the modem status interrupt of each input that differs between @old and @new. */
static void vpl011_modem_changed(struct vpl011 *u, u32 old, u32 new)
{
    u32 changed = old ^ new;

    if (changed & UARTFR_RI)
        u->ris |= UARTRIS_RIRMIS;
    if (changed & UARTFR_CTS)
        u->ris |= UARTRIS_CTSRMIS;
    if (changed & UARTFR_DCD)
        u->ris |= UARTRIS_DCDRMIS;
    if (changed & UARTFR_DSR)
        u->ris |= UARTRIS_DSRRMIS;
}

/* UARTFR: transmission is instantaneous, so TXFF and BUSY are never set. */
static inline u32 vpl011_fr(const struct vpl011 *u)
{
    u32 fr = UARTFR_TXFE | vpl011_modem_inputs(u);

    if (!u->rx_count)
        fr |= UARTFR_RXFE;
    if (u->rx_count >= vpl011_rx_depth(u))
        fr |= UARTFR_RXFF;
    return fr;
}

void vpl011_init(struct vpl011 *u, vpl011_tx_fn tx, vpl011_irq_fn irq, void *ctx)
{
    *u = (struct vpl011){
        .cr = UARTCR_RESET,
        .ifls = UARTIFLS_RESET,
        .tx = tx,
        .irq = irq,
        .ctx = ctx,
    };
}

/* Registers whose read has no side effect: all but UARTDR. */
static u32 vpl011_reg_read(const struct vpl011 *u, u64 reg)
{
    switch (reg) {
    case UARTRSR:
        return u->rsr;
    case UARTFR:
        return vpl011_fr(u); /* vpl011_read() asks first; kept for completeness */
    case UARTILPR:
        return u->ilpr;
    case UARTIBRD:
        return u->ibrd;
    case UARTFBRD:
        return u->fbrd;
    case UARTLCR_H:
        return u->lcr_h;
    case UARTCR:
        return u->cr;
    case UARTIFLS:
        return u->ifls;
    case UARTIMSC:
        return u->imsc;
    case UARTRIS:
        return u->ris;
    case UARTMIS:
        return u->ris & u->imsc;
    case UARTDMACR:
        return u->dmacr;
    }
    if (reg >= UARTPeriphID0 && reg <= UARTPCellID3)
        return vpl011_id[(reg - UARTPeriphID0) / 4];
    return 0; /* UARTICR is write-only; the rest is reserved or test registers */
}

/* Stores the bytes of @v selected by @mask into @r, keeping only its @valid bits. */
static void vpl011_merge(u32 *r, u32 v, u32 mask, u32 valid)
{
    *r = ((*r & ~mask) | (v & mask)) & valid;
}

static void vpl011_write_cr(struct vpl011 *u, u32 v, u32 mask)
{
    u32 old = vpl011_modem_inputs(u);

    vpl011_merge(&u->cr, v, mask, UARTCR_MASK);
    vpl011_modem_changed(u, old, vpl011_modem_inputs(u));
    vpl011_update_irq(u);
}

static void vpl011_write_imsc(struct vpl011 *u, u32 v, u32 mask)
{
    u32 old = u->imsc;

    vpl011_merge(&u->imsc, v, mask, UARTINT_MASK);
    /* Unmasking TXIM asks when transmission is possible: it always is. */
    if (!(old & UARTRIS_TXRIS) && (u->imsc & UARTRIS_TXRIS))
        u->ris |= UARTRIS_TXRIS;
    vpl011_update_irq(u);
}

/* @v holds the written bytes in their register positions; @mask says which bytes were written. */
static void vpl011_reg_write(struct vpl011 *u, u64 reg, u32 v, u32 mask)
{
    switch (reg) {
    case UARTDR:
        if (mask & UARTDR_DATA)
            vpl011_transmit(u, v & UARTDR_DATA);
        break;
    case UARTRSR: /* UARTECR: any write clears the error flags */
        u->rsr = 0;
        break;
    case UARTILPR:
        vpl011_merge(&u->ilpr, v, mask, UARTILPR_MASK);
        break;
    case UARTIBRD:
        vpl011_merge(&u->ibrd, v, mask, UARTIBRD_MASK);
        break;
    case UARTFBRD:
        vpl011_merge(&u->fbrd, v, mask, UARTFBRD_MASK);
        break;
    case UARTLCR_H:
        vpl011_merge(&u->lcr_h, v, mask, UARTLCR_H_MASK);
        break;
    case UARTCR:
        vpl011_write_cr(u, v, mask);
        break;
    case UARTIFLS:
        vpl011_merge(&u->ifls, v, mask, UARTIFLS_MASK);
        break;
    case UARTIMSC:
        vpl011_write_imsc(u, v, mask);
        break;
    case UARTICR:
        u->ris &= ~(v & mask);
        vpl011_update_irq(u);
        break;
    case UARTDMACR:
        vpl011_merge(&u->dmacr, v, mask, UARTDMACR_MASK);
        break;
    default: /* UARTFR, UARTRIS, UARTMIS, the ID registers: read-only; the rest reserved */
        break;
    }
}

/* Bits of an access of @size bytes, at the bottom of a word. */
static u32 vpl011_size_mask(unsigned int size)
{
    return (u32)((1ULL << (size * 8)) - 1);
}

static bool vpl011_access_ok(u64 offset, unsigned int size)
{
    return (size == 1 || size == 2 || size == 4) && IS_ALIGNED(offset, size) &&
           offset < VPL011_SIZE;
}

/* Byte lanes: an access reads or writes the addressed bytes of the register's word. */
static unsigned int vpl011_shift(u64 offset)
{
    return (offset & 3) * 8;
}

/* The addressed bytes of a register's value @v. */
static u64 vpl011_read_lanes(u32 v, u64 offset, unsigned int size)
{
    return (v >> vpl011_shift(offset)) & vpl011_size_mask(size);
}

/* A UARTDR read pops the FIFO, which may change the interrupt line: out of line. */
static int __attribute__((noinline)) vpl011_read_dr(struct vpl011 *u, u64 offset,
                                                     unsigned int size, u64 *value)
{
    *value = vpl011_read_lanes(vpl011_rx_pop(u), offset, size);
    return 0;
}

/*
 * Every other register is read without a call, so this stays a leaf with
 * no stack frame; UARTFR, what a guest polls while it writes or waits for
 * input, is tested ahead of the rest.
 */
int vpl011_read(struct vpl011 *u, u64 offset, unsigned int size, u64 *value)
{
    u64 reg = ALIGN_DOWN(offset, 4);

    /* a whole-word UARTFR read (a polling guest's) is valid and all lanes: no checks */
    if (offset == UARTFR && size == 4) {
        *value = vpl011_fr(u);
        return 0;
    }
    if (!vpl011_access_ok(offset, size))
        return -1;
    if (reg == UARTDR)
        return vpl011_read_dr(u, offset, size, value);
    *value = vpl011_read_lanes(reg == UARTFR ? vpl011_fr(u) : vpl011_reg_read(u, reg), offset,
                               size);
    return 0;
}

int vpl011_write(struct vpl011 *u, u64 offset, unsigned int size, u64 value)
{
    u32 mask;

    if (!vpl011_access_ok(offset, size))
        return -1;
    mask = vpl011_size_mask(size) << vpl011_shift(offset);
    vpl011_reg_write(u, ALIGN_DOWN(offset, 4), ((u32)value << vpl011_shift(offset)) & mask, mask);
    return 0;
}

bool vpl011_rx_push(struct vpl011 *u, char c)
{
    return vpl011_receive(u, (u8)c);
}

bool vpl011_rx_has_room(const struct vpl011 *u)
{
    return u->rx_count < vpl011_rx_depth(u);
}
