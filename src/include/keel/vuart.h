/*
 * The console UART models a VM can get, behind one table so the console
 * multiplexer and the MMIO path need not know which: the PL011 (Arm's virt
 * board) and the NS16550A (RISC-V's). Each model keeps its own contract
 * (keel/vpl011.h); these are thin adapters. Which one a VM gets is the
 * architecture's board layout (GUEST_VUART in arch/guest_layout.h).
 */
#ifndef KEEL_VUART_H
#define KEEL_VUART_H

#include <keel/types.h>
#include <keel/vns16550.h>
#include <keel/vpl011.h>

typedef void (*vuart_tx_fn)(void *ctx, char c);      /* a byte the guest wrote */
typedef void (*vuart_irq_fn)(void *ctx, bool level); /* interrupt line changed */

/* The device state, whichever the model. */
union vuart {
    struct vpl011 pl011;
    struct vns16550 ns16550;
};

struct vuart_ops {
    const char *name;
    u64 size;                         /* the register window */
    bool ns16550a;                    /* its guest DT node: 8250-compatible, not a PL011 */
    /* Reset state and callbacks; never calls irq() (see each model). */
    void (*reset)(union vuart *u, vuart_tx_fn tx, vuart_irq_fn irq, void *ctx);
    /* 0, or -1 for an access the model refuses: the caller injects a fault. */
    int (*read)(union vuart *u, u64 off, unsigned int size, u64 *val);
    int (*write)(union vuart *u, u64 off, unsigned int size, u64 val);
    bool (*rx_has_room)(const union vuart *u);
    bool (*rx_push)(union vuart *u, char c);
    /* Takes the oldest received byte as a guest read of the data register would; -1 if none. */
    int (*rx_pop)(union vuart *u);
};

extern const struct vuart_ops vuart_pl011, vuart_ns16550;

#endif
