/*
 * Emulated NS16550A UART (National Semiconductor PC16550D datasheet, June
 * 1995), one per VM, where QEMU's RISC-V virt board has its UART: 0x10000000,
 * byte registers one byte apart (DT reg-shift 0, reg-io-width 1). Guests
 * find it through the compatible "ns16550a": Linux's 8250 driver (ttyS0,
 * earlycon uart8250,mmio,0x10000000), U-Boot's ns16550, xv6's uart.c.
 *
 * A pure state machine, with the contract of the vPL011 (keel/vpl011.h): it
 * knows nothing of VMs, the interrupt controller or the physical console.
 * The MMIO trap path calls vns16550_read()/vns16550_write(), the console
 * multiplexer calls vns16550_rx_push(), and what the device does in return
 * leaves through two callbacks. Neither callback may call back into the same
 * struct vns16550. Nothing here locks: the caller serialises every call on
 * one device, and the callbacks run inside those calls, under its lock.
 *
 * The model, and why:
 *  - Transmission is instantaneous. THR and the transmitter are always empty
 *    (LSR.THRE = LSR.TEMT = 1): a byte written to THR goes to the tx callback
 *    at once, so a driver polling THRE or TEMT never waits. With MCR.LOOP set
 *    it goes into the receiver instead, and the modem outputs drive the modem
 *    inputs (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD), as the datasheet's
 *    loopback does; Linux's probe checks exactly that mapping. Otherwise the
 *    inputs read as a connected line: CTS, DSR and DCD asserted, RI not, so a
 *    tty opened without CLOCAL does not wait for a carrier.
 *  - Receiver: VNS16550_FIFO (16) entries in FIFO mode (FCR.FIFO_ENABLE = 1),
 *    one (the receiver buffer register) in 16450 mode, which is the reset
 *    state. A byte arriving when it is full is an overrun, as the datasheet
 *    defines it for each mode: in FIFO mode the FIFO keeps its contents and
 *    the new byte is lost; in 16450 mode the new byte replaces the unread
 *    one. Either way LSR.OE is set (cleared by reading LSR), one byte is
 *    lost and counted, and rx_push() returns false. Switching FIFO mode on or
 *    off empties the receiver, as the datasheet says it does.
 *  - Line settings (divisor latch, word length, parity, stop bits, break)
 *    are stored and read back but change nothing: there is no wire. The
 *    divisor latch resets to 0 (the datasheet leaves it undefined).
 *  - No errors but overrun ever happen: LSR.PE, FE, BI and bit 7 (error in
 *    RCVR FIFO) stay 0.
 *  - MCR.OUT2 does not gate the interrupt output. That gate is a PC board
 *    wiring, not part of the chip; QEMU does not model it either, and a
 *    guest that never sets OUT2 (U-Boot, xv6) still gets its interrupts.
 *
 * Interrupts, by the datasheet's IIR priority; the line is "some source is
 * enabled in IER and active", i.e. IIR bit 0 = 0, and irq() is called only
 * when it changes:
 *  1. Receiver line status (IER.ELSI): LSR.OE is set -> LSR is read.
 *  2. Received data available (IER.ERBFI): the receiver holds at least the
 *     FCR trigger level (1, 4, 8 or 14 bytes; 1 in 16450 mode) -> it drops
 *     below it.
 *     Character timeout, same enable and priority, FIFO mode only: the
 *     timeout is taken to expire as soon as a byte is in the FIFO (a pure
 *     state machine has no clock), as the vPL011 does with its receive
 *     timeout. So it is reported whenever the FIFO holds bytes below the
 *     trigger level -> the FIFO is empty, or reaches the trigger level (then
 *     it is "data available"). That is what lets a driver with trigger level
 *     8 see one typed character at once.
 *  3. THR empty (IER.ETBEI), exactly as the datasheet's IIR table says: the
 *     condition is raised when THR becomes empty, which here is right after
 *     every THR write, and when ETBEI goes from 0 to 1 (THR being always
 *     empty); it is cleared by a THR write (and raised again at once, the
 *     byte having left) and by an IIR read that reports it. A masked
 *     condition stays latched. Linux relies on both raises: its startup test
 *     toggles ETBEI and expects IIR to show THRI each time, or it falls back
 *     to a polling timer (UART_BUG_THRE); its console write restores ETBEI
 *     after polling and needs the interrupt that brings.
 *  4. Modem status (IER.EDSSI): any of MSR's delta bits is set -> MSR is
 *     read. Only loopback can change the modem inputs.
 * IIR bits 7:6 read 11 in FIFO mode, 00 otherwise, bits 5:4 always 0: what
 * Linux's autoconfig takes as a working 16550A.
 *
 * Accesses are of 1 byte only, at offsets 0-7; offsets 8 to VNS16550_SIZE-1
 * read as zero and ignore writes. QEMU's virt board describes its UART with
 * reg-io-width 1 and rejects other widths (the guest takes an access fault);
 * every driver above uses byte accesses. Any other size, and offsets outside
 * the window, fail, so the caller can inject an access fault.
 */
#ifndef KEEL_VNS16550_H
#define KEEL_VNS16550_H

#include <keel/types.h>

#define VNS16550_FIFO 16   /* the 16550A's receive FIFO depth */
#define VNS16550_SIZE 0x100 /* the register window, as QEMU virt's DT gives it */

struct vns16550;
typedef void (*vns16550_tx_fn)(void *ctx, char c);      /* a byte the guest wrote */
typedef void (*vns16550_irq_fn)(void *ctx, bool level); /* interrupt line changed */

struct vns16550 {
    /* Receiver: a ring of data bytes; one entry in 16450 mode. */
    u8 rx_fifo[VNS16550_FIFO];
    unsigned int rx_head;  /* oldest entry */
    unsigned int rx_count; /* entries held */
    u64 rx_dropped;        /* bytes lost to overruns since the last reset */

    /* Registers as the guest last wrote them (reserved bits read as zero). */
    u8 ier;       /* IER bits 3:0 */
    u8 fcr;       /* what FCR keeps: FIFO enable, DMA mode, trigger level */
    u8 lcr;
    u8 mcr;       /* MCR bits 4:0 */
    u8 scr;
    u8 dll, dlm;  /* divisor latch */
    u8 lsr_oe;    /* LSR.OE as latched: set by an overrun, cleared by an LSR read */
    u8 msr_delta; /* MSR bits 3:0 (DCTS, DDSR, TERI, DDCD), cleared by an MSR read */
    bool thre_int; /* the THR empty interrupt condition, latched (masked by ETBEI) */

    vns16550_tx_fn tx;   /* may be NULL: output is discarded */
    vns16550_irq_fn irq; /* may be NULL */
    void *ctx;           /* passed to both */
    bool line;           /* interrupt line level last reported through irq() */
    u32 line_id;         /* the IIR source behind it when last reported */
};

/*
 * Puts the device in its reset state (datasheet reset values: IER, FCR, LCR,
 * MCR 0, IIR 0x01, LSR 0x60, no MSR delta; divisor latch and SCR 0; receiver
 * empty, line low) and sets the callbacks. Also the way to reset it. It
 * never calls irq(): at VM creation the interrupt controller has not seen
 * the line yet, and on a VM reset it must be reset too (or told the line is
 * low) by the caller.
 */
void vns16550_init(struct vns16550 *u, vns16550_tx_fn tx, vns16550_irq_fn irq, void *ctx);

/*
 * 0 on success, -1 if the access is not allowed (size other than 1, offset
 * outside the window): the caller injects an access fault. A read stores
 * the register's byte in *value, zero-extended.
 */
int vns16550_read(struct vns16550 *u, u64 offset, unsigned int size, u64 *value);
int vns16550_write(struct vns16550 *u, u64 offset, unsigned int size, u64 value);

/*
 * Input from the console. False if the receiver was full: one byte was lost
 * (the pushed one in FIFO mode, the unread one in 16450 mode), counted and
 * reported to the guest as an overrun.
 */
bool vns16550_rx_push(struct vns16550 *u, char c);
/* Whether vns16550_rx_push() would take a byte without an overrun; lets the console hold input back. */
bool vns16550_rx_has_room(const struct vns16550 *u);

#endif
