/*
 * Emulated NS16550A UART: register offsets and bit names from the PC16550D
 * datasheet (National Semiconductor, June 1995), section 8 "Registers" and
 * its register summary table. The model and its choices are described in
 * keel/vns16550.h.
 */
#include <keel/vns16550.h>

/* Register offsets (reg-shift 0). Offsets 0 and 1 are the divisor latch while LCR.DLAB = 1. */
#define RBR 0 /* read */
#define THR 0 /* write */
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2 /* read */
#define FCR 2 /* write, whatever DLAB says */
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_ERBFI BIT(0) /* received data available (and character timeout) */
#define IER_ETBEI BIT(1) /* transmitter holding register empty */
#define IER_ELSI BIT(2)  /* receiver line status */
#define IER_EDSSI BIT(3) /* modem status */
#define IER_MASK 0x0fU   /* bits 7:4 are 0 on a 16550A (Linux tells an XScale by bit 6) */

/*
 * IIR: bit 0 is 0 while an interrupt is pending, bits 3:1 identify the
 * highest-priority one (datasheet's interrupt identification table), bits
 * 7:6 are set in FIFO mode.
 */
#define IIR_NO_INT 0x01U
#define IIR_RLS 0x06U  /* receiver line status */
#define IIR_RDA 0x04U  /* received data available */
#define IIR_CTI 0x0cU  /* character timeout indication */
#define IIR_THRE 0x02U /* transmitter holding register empty */
#define IIR_MS 0x00U   /* modem status */
#define IIR_FIFOS_ENABLED 0xc0U

#define FCR_FIFO_ENABLE BIT(0)
#define FCR_RCVR_FIFO_RESET BIT(1)
#define FCR_XMIT_FIFO_RESET BIT(2)
#define FCR_DMA_MODE BIT(3)
#define FCR_RCVR_TRIGGER(v) (((v) >> 6) & 3)
#define FCR_KEPT 0xc9U /* enable, DMA mode, trigger level; bits 2:1 self-clear, 5:4 reserved */

#define LCR_DLAB BIT(7)

#define MCR_DTR BIT(0)
#define MCR_RTS BIT(1)
#define MCR_OUT1 BIT(2)
#define MCR_OUT2 BIT(3)
#define MCR_LOOP BIT(4)
#define MCR_MASK 0x1fU /* bits 7:5 are 0 */

#define LSR_DR BIT(0)
#define LSR_OE BIT(1)
#define LSR_THRE BIT(5)
#define LSR_TEMT BIT(6)

#define MSR_DCTS BIT(0)
#define MSR_DDSR BIT(1)
#define MSR_TERI BIT(2)
#define MSR_DDCD BIT(3)
#define MSR_CTS BIT(4)
#define MSR_DSR BIT(5)
#define MSR_RI BIT(6)
#define MSR_DCD BIT(7)

/* Receive trigger levels by FCR bits 7:6 (FCR section of the datasheet). */
static const u8 vns16550_rx_trigger_levels[4] = { 1, 4, 8, 14 };

static bool vns16550_fifo_mode(const struct vns16550 *u)
{
    return u->fcr & FCR_FIFO_ENABLE;
}

static unsigned int vns16550_rx_depth(const struct vns16550 *u)
{
    return vns16550_fifo_mode(u) ? VNS16550_FIFO : 1;
}

static unsigned int vns16550_rx_trigger(const struct vns16550 *u)
{
    if (!vns16550_fifo_mode(u))
        return 1;
    return vns16550_rx_trigger_levels[FCR_RCVR_TRIGGER(u->fcr)];
}

/* The receive interrupt source, enabled or not: RDA, CTI or none. */
static u32 vns16550_rx_source(const struct vns16550 *u)
{
    if (!u->rx_count)
        return IIR_NO_INT;
    if (u->rx_count >= vns16550_rx_trigger(u))
        return IIR_RDA;
    return IIR_CTI; /* FIFO mode below the trigger: the timeout has expired, see vns16550.h */
}

/* IIR bits 3:0: the highest-priority source that is active and enabled. */
static u32 vns16550_iir_id(const struct vns16550 *u)
{
    if ((u->ier & IER_ELSI) && u->lsr_oe)
        return IIR_RLS;
    if ((u->ier & IER_ERBFI) && u->rx_count)
        return vns16550_rx_source(u);
    if ((u->ier & IER_ETBEI) && u->thre_int)
        return IIR_THRE;
    if ((u->ier & IER_EDSSI) && u->msr_delta)
        return IIR_MS;
    return IIR_NO_INT;
}

/* Where @id stands in IIR's priority order (RLS, then RDA/CTI, THRE, MS). */
static unsigned int vns16550_iir_rank(u32 id)
{
    switch (id) {
    case IIR_RLS:
        return 4;
    case IIR_RDA:
    case IIR_CTI:
        return 3;
    case IIR_THRE:
        return 2;
    case IIR_MS:
        return 1;
    }
    return 0;
}

/*
 * The line follows "some enabled source is active". A source that outranks
 * the one behind a line already high (data arriving while THRE is pending)
 * is reported again, as a low-high pair: a level-sensitive PLIC cannot tell, one that forwards only
 * when a device signals (QEMU's, keel,qemu-compat) needs it, or the data
 * would wait behind a THRE interrupt its driver never acknowledges (xv6).
 */
static void vns16550_update_irq(struct vns16550 *u)
{
    u32 id = vns16550_iir_id(u);
    bool level = id != IIR_NO_INT;

    if (level == u->line && (!level || vns16550_iir_rank(id) <= vns16550_iir_rank(u->line_id))) {
        u->line_id = id;
        return;
    }
    if (u->irq && level && u->line)
        u->irq(u->ctx, false);
    u->line = level;
    u->line_id = id;
    if (u->irq)
        u->irq(u->ctx, level);
}

static void vns16550_rx_clear(struct vns16550 *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

/* A byte arrives on the receive line (from the console, or looped back). */
static bool vns16550_receive(struct vns16550 *u, u8 c)
{
    bool room = u->rx_count < vns16550_rx_depth(u);

    if (!room) {
        u->rx_dropped++;
        u->lsr_oe = LSR_OE;
        if (!vns16550_fifo_mode(u))
            u->rx_fifo[u->rx_head] = c; /* 16450 mode: the unread byte is destroyed */
    } else {
        u->rx_fifo[(u->rx_head + u->rx_count) % VNS16550_FIFO] = c;
        u->rx_count++;
    }
    vns16550_update_irq(u);
    return room;
}

/* RBR read: the oldest byte, or 0 if there is none. */
static u8 vns16550_rx_pop(struct vns16550 *u)
{
    u8 c;

    if (!u->rx_count)
        return 0;
    c = u->rx_fifo[u->rx_head];
    u->rx_head = (u->rx_head + 1) % VNS16550_FIFO;
    u->rx_count--;
    vns16550_update_irq(u);
    return c;
}

/* THR write: the write clears the THRE interrupt, and the byte leaving at once raises it again. */
static void vns16550_transmit(struct vns16550 *u, u8 c)
{
    if (u->mcr & MCR_LOOP)
        vns16550_receive(u, c);
    else if (u->tx)
        u->tx(u->ctx, (char)c);
    u->thre_int = true;
    vns16550_update_irq(u);
}

/* MSR bits 7:4: a connected line, or the modem outputs in loopback (MCR section). */
static u8 vns16550_modem_inputs(const struct vns16550 *u)
{
    u8 msr = 0;

    if (!(u->mcr & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD;
    if (u->mcr & MCR_RTS)
        msr |= MSR_CTS;
    if (u->mcr & MCR_DTR)
        msr |= MSR_DSR;
    if (u->mcr & MCR_OUT1)
        msr |= MSR_RI;
    if (u->mcr & MCR_OUT2)
        msr |= MSR_DCD;
    return msr;
}

/*
 * MSR bits 3:0 for inputs going from @old to @new: DCTS, DDSR, DDCD on any
 * change; TERI only on the trailing edge of RI (MSR.RI 1 -> 0, the RI pin
 * going back high).
 */
static void vns16550_modem_changed(struct vns16550 *u, u8 old, u8 new)
{
    u8 changed = old ^ new;

    if (changed & MSR_CTS)
        u->msr_delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        u->msr_delta |= MSR_DDSR;
    if (changed & MSR_DCD)
        u->msr_delta |= MSR_DDCD;
    if ((old & MSR_RI) && !(new & MSR_RI))
        u->msr_delta |= MSR_TERI;
}

void vns16550_init(struct vns16550 *u, vns16550_tx_fn tx, vns16550_irq_fn irq, void *ctx)
{
    *u = (struct vns16550){
        .tx = tx,
        .irq = irq,
        .ctx = ctx,
    };
}

/* IIR read: reading it is what acknowledges a THRE interrupt it reports. */
static u8 vns16550_read_iir(struct vns16550 *u)
{
    u32 id = vns16550_iir_id(u);

    if (id == IIR_THRE) {
        u->thre_int = false;
        vns16550_update_irq(u);
    }
    return id | (vns16550_fifo_mode(u) ? IIR_FIFOS_ENABLED : 0);
}

/* LSR read: transmission is instantaneous, so THRE and TEMT are always set; OE clears. */
static u8 vns16550_read_lsr(struct vns16550 *u)
{
    u8 lsr = LSR_THRE | LSR_TEMT | u->lsr_oe;

    if (u->rx_count)
        lsr |= LSR_DR;
    u->lsr_oe = 0;
    vns16550_update_irq(u);
    return lsr;
}

static u8 vns16550_read_msr(struct vns16550 *u)
{
    u8 msr = vns16550_modem_inputs(u) | u->msr_delta;

    u->msr_delta = 0;
    vns16550_update_irq(u);
    return msr;
}

static u8 vns16550_reg_read(struct vns16550 *u, u64 reg)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (reg) {
    case RBR:
        return dlab ? u->dll : vns16550_rx_pop(u);
    case IER:
        return dlab ? u->dlm : u->ier;
    case IIR:
        return vns16550_read_iir(u);
    case LCR:
        return u->lcr;
    case MCR:
        return u->mcr;
    case LSR:
        return vns16550_read_lsr(u);
    case MSR:
        return vns16550_read_msr(u);
    case SCR:
        return u->scr;
    }
    return 0; /* offsets 8 and up: nothing there */
}

/* IER write: ETBEI going 0 -> 1 with THR empty (always) raises the THRE interrupt. */
static void vns16550_write_ier(struct vns16550 *u, u8 v)
{
    u8 old = u->ier;

    u->ier = v & IER_MASK;
    if (!(old & IER_ETBEI) && (u->ier & IER_ETBEI))
        u->thre_int = true;
    vns16550_update_irq(u);
}

/*
 * FCR write (FCR section): FIFO mode follows bit 0, and changing it empties
 * the receiver. The other bits are programmed only when bit 0 is 1 in the
 * same write; in 16450 mode they mean nothing, and the write that enables
 * the FIFO programs them again, so 16450 mode just keeps none. The
 * transmitter reset does nothing: THR is always empty.
 */
static void vns16550_write_fcr(struct vns16550 *u, u8 v)
{
    bool was_fifo = vns16550_fifo_mode(u);

    if (!(v & FCR_FIFO_ENABLE)) {
        u->fcr = 0;
    } else {
        u->fcr = v & FCR_KEPT;
        if (v & FCR_RCVR_FIFO_RESET)
            vns16550_rx_clear(u);
    }
    if (was_fifo != vns16550_fifo_mode(u))
        vns16550_rx_clear(u);
    vns16550_update_irq(u);
}

static void vns16550_write_mcr(struct vns16550 *u, u8 v)
{
    u8 old = vns16550_modem_inputs(u);

    u->mcr = v & MCR_MASK;
    vns16550_modem_changed(u, old, vns16550_modem_inputs(u));
    vns16550_update_irq(u);
}

static void vns16550_reg_write(struct vns16550 *u, u64 reg, u8 v)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (reg) {
    case THR:
        if (dlab)
            u->dll = v;
        else
            vns16550_transmit(u, v);
        break;
    case IER:
        if (dlab)
            u->dlm = v;
        else
            vns16550_write_ier(u, v);
        break;
    case FCR:
        vns16550_write_fcr(u, v);
        break;
    case LCR:
        u->lcr = v;
        break;
    case MCR:
        vns16550_write_mcr(u, v);
        break;
    case SCR:
        u->scr = v;
        break;
    default: /* LSR (factory test), MSR: read-only; 8 and up: nothing there */
        break;
    }
}

static bool vns16550_access_ok(u64 offset, unsigned int size)
{
    return size == 1 && offset < VNS16550_SIZE;
}

int vns16550_read(struct vns16550 *u, u64 offset, unsigned int size, u64 *value)
{
    if (!vns16550_access_ok(offset, size))
        return -1;
    *value = vns16550_reg_read(u, offset);
    return 0;
}

int vns16550_write(struct vns16550 *u, u64 offset, unsigned int size, u64 value)
{
    if (!vns16550_access_ok(offset, size))
        return -1;
    vns16550_reg_write(u, offset, (u8)value);
    return 0;
}

bool vns16550_rx_push(struct vns16550 *u, char c)
{
    return vns16550_receive(u, (u8)c);
}

bool vns16550_rx_has_room(const struct vns16550 *u)
{
    return u->rx_count < vns16550_rx_depth(u);
}
