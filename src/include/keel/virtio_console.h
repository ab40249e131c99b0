/*
 * An emulated virtio console (virtio 1.2, section 5.3) behind the
 * virtio-mmio transport (keel/virtio_mmio.h): one port, its bytes going to
 * and coming from callbacks, so that the console multiplexer (or a test)
 * can sit behind it.
 *
 * A pure state machine, with the contract of the other device models
 * (keel/vpl011.h): the transport calls it through virtio_console_ops,
 * inside virtio_mmio_read()/write() and under the caller's lock; the
 * caller calls virtio_console_receive() with that same lock held. It
 * reaches guest memory only through the queues' struct virtq_mem. Nothing
 * here locks. Every chain is served to completion inside the call that
 * took it, so nothing is ever in flight.
 *
 * What it offers (5.3.2, 5.3.3): port 0 only, no VIRTIO_CONSOLE_F_MULTIPORT,
 * so no control queues: receiveq0 (queue VIRTIO_CONSOLE_RXQ, device to
 * driver) and transmitq0 (VIRTIO_CONSOLE_TXQ, driver to device), each of
 * VIRTIO_CONSOLE_QUEUE_SIZE entries. VIRTIO_CONSOLE_F_EMERG_WRITE; the
 * transport adds VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC and
 * VIRTIO_F_EVENT_IDX.
 *
 * VIRTIO_CONSOLE_F_SIZE is not offered. Keel's console is one serial line
 * shared by every VM: it does not know the size of the terminal at the
 * other end, and a made-up one (80x25) would be worse than none, since
 * Linux would set the tty's window size to it and full-screen programs
 * would lay out for a screen that is not there. Without it, as on the
 * emulated UARTs, the tty's size is 0x0 and programs keep their defaults
 * or ask the terminal.
 *
 * The configuration space (5.3.4) is struct virtio_console_config, 12
 * bytes: cols and rows (0: not valid without VIRTIO_CONSOLE_F_SIZE),
 * max_nr_ports (0: not valid without VIRTIO_CONSOLE_F_MULTIPORT) and
 * emerg_wr, which reads 0. A write that covers byte 0 of emerg_wr (8, 16
 * or 32 bits at its offset: the transport only passes aligned accesses)
 * outputs that byte, its low byte, through write() (5.3.4: the driver can
 * "output a single character without initializing virtio queues, or even
 * acknowledging the feature"; 5.3.5: it "can be written at any time"): at
 * any device status, DEVICE_NEEDS_RESET included, since it is meant for
 * catastrophic failures such as a corrupted ring. Writes anywhere else
 * are ignored (5.3.4.1: the driver writes no field but emerg_wr).
 *
 * Output (5.3.6): when the driver notifies transmitq0, each available
 * chain is taken in order; its bytes go to write() in pieces of at most
 * VIRTIO_CONSOLE_BOUNCE bytes, through a buffer in the device (write()
 * never sees guest memory), and the chain is handed back with a used
 * length of 0 (nothing was written into it). A chain with a
 * device-writable buffer, even an empty one, breaks 5.3.6.1 ("The driver
 * MUST NOT put a device-writable buffer in a transmitq"): nothing of it is
 * output, the queue is broken (VIRTQ_ERR_FRAMING) and the transport sets
 * DEVICE_NEEDS_RESET, as for any chain the walker refuses (keel/virtq.h).
 *
 * Input (5.3.6): virtio_console_receive() fills the chains the driver made
 * available on receiveq0, in order, each as full as the input allows, and
 * hands each back with the bytes written. A chain with a device-readable
 * buffer (5.3.6.1: "The driver MUST NOT put a device-readable in a
 * receiveq") or one the walker refuses breaks the queue the same way.
 * When the driver notifies receiveq0 (it made buffers available: after
 * the device found the ring empty with VIRTIO_F_EVENT_IDX, at every
 * addition without it) and when it sets DRIVER_OK, rx_ready() tells the
 * caller, who can then pass the input it kept.
 */
#ifndef KEEL_VIRTIO_CONSOLE_H
#define KEEL_VIRTIO_CONSOLE_H

#include <keel/types.h>
#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

#define VIRTIO_ID_CONSOLE 3 /* 5.3.1 */

/* Feature bits (5.3.3). */
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Queues of port 0 (5.3.2). */
#define VIRTIO_CONSOLE_RXQ 0 /* receiveq0: device to driver */
#define VIRTIO_CONSOLE_TXQ 1 /* transmitq0: driver to device */

/* struct virtio_console_config (5.3.4): byte offsets, and its size. */
#define VIRTIO_CONSOLE_CFG_COLS 0
#define VIRTIO_CONSOLE_CFG_ROWS 2
#define VIRTIO_CONSOLE_CFG_MAX_NR_PORTS 4
#define VIRTIO_CONSOLE_CFG_EMERG_WR 8
#define VIRTIO_CONSOLE_CONFIG_SIZE 12

#define VIRTIO_CONSOLE_QUEUE_SIZE 128 /* QueueNumMax of both queues, as QEMU's virtio-serial */
#define VIRTIO_CONSOLE_BOUNCE 256     /* bytes per write() call at most */

/*
 * Where the port's bytes go and where the caller hears of receive buffers.
 * Both run inside the device's calls (transport calls, and
 * virtio_console_receive()), under the caller's lock.
 *  - write(): @len (1 .. VIRTIO_CONSOLE_BOUNCE) bytes the driver output, in
 *    the order it output them. It must not call back into the device or its
 *    transport. May be NULL: the output is discarded (and counted as
 *    dropped).
 *  - rx_ready(): the driver notified receiveq0, or set DRIVER_OK: there may
 *    be buffers for input now. It may call virtio_console_receive() on this
 *    device and its transport, which is what it is for, and nothing else of
 *    them: not virtio_mmio_read(), virtio_mmio_write() or
 *    virtio_mmio_reset(), which it is running inside of; and it must not
 *    take the lock its caller holds around the transport. May be NULL.
 * The device copies the struct; ctx must outlive it.
 */
struct virtio_console_io {
    void (*write)(void *ctx, const u8 *buf, u32 len);
    void (*rx_ready)(void *ctx);
    void *ctx;
};

/* Counters since the device was set up (a reset keeps them), for the shell's `dev`. */
struct virtio_console_stats {
    u64 rx_bytes;   /* input bytes written into receive buffers and handed back */
    u64 tx_bytes;   /* output bytes passed to write(), emerg_wr included */
    u64 dropped;    /* output bytes that reached no write(): none is set, or their chain broke */
    u64 bad_chains; /* chains that broke a queue: the device needed a reset */
};

struct virtio_console {
    struct virtio_console_io io;
    struct virtio_console_stats stats;
    struct virtq_chain chain; /* the chain being served */
    u8 bounce[VIRTIO_CONSOLE_BOUNCE];
};

/* The transport's view of the device: pass it with the struct virtio_console to virtio_mmio_init(). */
extern const struct virtio_dev_ops virtio_console_ops;

/* Sets the device up with @io (copied; NULL: no callbacks), counters at 0. */
void virtio_console_init(struct virtio_console *c, const struct virtio_console_io *io);

/*
 * Input for the driver: fills the chains available on receiveq0 of @c,
 * whose transport is @t, with up to @len bytes of @buf, in order, hands
 * each back with what it got, and sends the used buffer notification if
 * the driver wants one (virtio_mmio_used()). Returns the bytes taken, from
 * the start of @buf: @len, or less when the driver has not made enough
 * room; 0 when the device is not live (before DRIVER_OK, or in
 * DEVICE_NEEDS_RESET), receiveq0 is not enabled, or it has no buffer. What
 * was not taken is the caller's to keep, and to pass again after
 * rx_ready(). A chain that breaks the queue stops it there: the bytes
 * given to the chains before it count, that chain's do not.
 * Call it under the lock that serialises @t's calls.
 */
u32 virtio_console_receive(struct virtio_console *c, struct virtio_mmio *t, const u8 *buf,
                           u32 len);

#endif
