/*
 * Emulated Arm PrimeCell UART (PL011 r1p5, Arm DDI 0183), one per VM, at the
 * guest-physical address where QEMU's virt board has its UART.
 *
 * A pure state machine: it knows nothing of VMs, the vGIC or the physical
 * console. The MMIO trap path calls vpl011_read()/vpl011_write(), the console
 * multiplexer calls vpl011_rx_push(), and what the device does in return
 * leaves through two callbacks. Neither callback may call back into the same
 * struct vpl011. Nothing here locks: the caller serialises every call on one
 * device, and the callbacks run inside those calls, under the caller's lock.
 *
 * The model, and why:
 *  - Transmission is instantaneous. The transmit FIFO is always empty
 *    (UARTFR.TXFE = 1, TXFF = BUSY = 0); a byte written to UARTDR goes to the
 *    tx callback at once. It goes out whatever UARTCR.UARTEN and TXE say, as
 *    on QEMU: Linux sets both before each console write anyway, and a
 *    bare-metal guest that forgot them still gets its output seen.
 *  - With UARTCR.LBE set, written bytes loop back into the receive FIFO
 *    instead, and the modem outputs are looped to the modem inputs (RTS->CTS,
 *    DTR->DSR, Out1->DCD, Out2->RI), as the TRM describes loopback.
 *    Otherwise the modem inputs read as a connected line: CTS, DSR and DCD
 *    asserted, RI not, so a tty opened without CLOCAL does not wait for a
 *    carrier.
 *  - Receive FIFO: VPL011_FIFO entries with UARTLCR_H.FEN = 1, one (the
 *    holding register) with FEN = 0, which is the reset state. Bytes are
 *    accepted whatever UARTEN and RXE say, like transmission. A byte pushed
 *    into a full FIFO is lost and counted; the guest sees it as an overrun
 *    (UARTRSR.OE, UARTRIS.OERIS, and UARTDR.OE on the next byte received).
 *    Changing FEN keeps what was received: the FIFO just reads as full until
 *    the guest has drained it below the new depth.
 *  - Line settings (baud rate, word length, parity, stop bits, break, IrDA,
 *    DMA enables) are stored and read back but change nothing: there is no
 *    wire. In particular a reset UARTLCR_H selects 5-bit words, and honouring
 *    that would mangle the output of guests that never program it.
 *
 * Interrupts (UARTRIS bit, set -> cleared; every bit is also cleared by
 * UARTICR):
 *  - RXRIS: the RX FIFO fill level rises to the UARTIFLS trigger level (one
 *    entry with FEN = 0) -> reads take it back below the trigger level. Only
 *    the crossing raises it, as on hardware; Linux drains the FIFO when it
 *    enables interrupts because of exactly that.
 *  - RTRIS: the receive timeout. A pure state machine has no clock, so the
 *    timeout is taken to expire as soon as a byte arrives: any byte received
 *    raises it -> the FIFO becomes empty. This is what lets Linux, which
 *    unmasks RXIM and RTIM and reads until RXFE, see a single typed
 *    character without waiting for the trigger level.
 *  - TXRIS: the transmit FIFO is at or below its trigger level, which is
 *    always true here, so the bit is raised by every event after which
 *    hardware would raise it: each UARTDR write (the byte drains at once) and
 *    UARTIMSC.TXIM going from 0 to 1 (the guest asks to hear when it can
 *    transmit, and it always can). It is clear at reset, per the TRM reset
 *    value of UARTRIS. Current Linux never waits for it: it writes while
 *    TXFF is clear, which empties its buffer, and then masks TXIM. Linux
 *    before its 2015 TX rework unmasks TXIM and writes from the handler,
 *    after provoking TXRIS with a loopback write at startup; FreeBSD writes
 *    a batch, then unmasks TXIM and waits. Both get their interrupt. A driver
 *    that never clears TXRIS keeps getting it while TXIM is unmasked, as on
 *    hardware with an empty FIFO, so its handler runs until it masks TXIM.
 *  - Modem status (RIRMIS, CTSRMIS, DCDRMIS, DSRRMIS): the input changed,
 *    which only loopback can make happen.
 *  - OERIS: a received byte was lost. FERIS, PERIS, BERIS never happen.
 * The interrupt line is (UARTRIS & UARTIMSC) != 0; irq() is called only when
 * it changes.
 *
 * Accesses of 8, 16 or 32 bits are allowed at any offset aligned to their
 * size, as Linux uses 16-bit (or 32-bit) accesses and earlycon 8-bit writes
 * to UARTDR. A read returns the addressed bytes of the 32-bit register (and
 * has the register's side effect: any read of UARTDR pops the FIFO); a write
 * changes only the addressed bytes, and a UARTDR write transmits only if it
 * covers bits 7:0. Offsets no register occupies read as zero and ignore
 * writes. 64-bit accesses, misaligned ones and offsets outside the 4 KiB
 * window fail, so the caller can inject an abort.
 */
#ifndef KEEL_VPL011_H
#define KEEL_VPL011_H

#include <keel/types.h>

/*
 * Receive FIFO depth. 32 as on PL011 r1p5, the revision UARTPeriphID2
 * reports, so the guest and the model agree: Linux takes the FIFO size from
 * that revision field (16 entries before r1p5) and writes half of it per TX
 * interrupt.
 */
#define VPL011_FIFO 32
#define VPL011_SIZE 0x1000 /* the register window: one 4 KiB page */

struct vpl011;
typedef void (*vpl011_tx_fn)(void *ctx, char c);      /* a byte the guest wrote */
typedef void (*vpl011_irq_fn)(void *ctx, bool level); /* interrupt line changed */

struct vpl011 {
    /* Receive FIFO: a ring of UARTDR values (data in 7:0, error flags in 11:8). */
    u16 rx_fifo[VPL011_FIFO];
    unsigned int rx_head;  /* oldest entry */
    unsigned int rx_count; /* entries held; may exceed the depth just after FEN is cleared */
    bool rx_overrun;       /* a byte was lost: flag the next one received with UARTDR.OE */
    u64 rx_dropped;        /* bytes lost to a full FIFO since the last reset */

    /* Registers as the guest last wrote them (reserved bits read as zero). */
    u32 rsr;   /* UARTRSR: only OE is ever set */
    u32 ilpr;  /* UARTILPR */
    u32 ibrd;  /* UARTIBRD */
    u32 fbrd;  /* UARTFBRD */
    u32 lcr_h; /* UARTLCR_H */
    u32 cr;    /* UARTCR */
    u32 ifls;  /* UARTIFLS */
    u32 imsc;  /* UARTIMSC */
    u32 ris;   /* UARTRIS */
    u32 dmacr; /* UARTDMACR */

    vpl011_tx_fn tx;   /* may be NULL: output is discarded */
    vpl011_irq_fn irq; /* may be NULL */
    void *ctx;         /* passed to both */
    bool line;         /* interrupt line level last reported through irq() */
};

/*
 * Puts the device in its reset state (TRM reset values: UARTCR 0x300,
 * UARTIFLS 0x12, everything else 0, FIFO empty, line low) and sets the
 * callbacks. Also the way to reset it. It never calls irq(): at VM creation
 * the interrupt controller has not seen the line yet, and on a VM reset it
 * must be reset too (or told the line is low) by the caller.
 */
void vpl011_init(struct vpl011 *u, vpl011_tx_fn tx, vpl011_irq_fn irq, void *ctx);

/* 0 on success, -1 if the access is not allowed (bad offset alignment / size): caller injects an abort */
int vpl011_read(struct vpl011 *u, u64 offset, unsigned int size, u64 *value);
int vpl011_write(struct vpl011 *u, u64 offset, unsigned int size, u64 value);

/* Input from the console; returns false if the RX FIFO is full (byte dropped, counted) */
bool vpl011_rx_push(struct vpl011 *u, char c);
/* Whether vpl011_rx_push() would accept a byte now; lets the console hold input back instead. */
bool vpl011_rx_has_room(const struct vpl011 *u);

#endif
