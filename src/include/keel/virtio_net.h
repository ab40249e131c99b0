/*
 * An emulated virtio network device (virtio 1.2, section 5.1) behind the
 * virtio-mmio transport (keel/virtio_mmio.h): one port of a virtual
 * network between VMs. Frames the driver transmits leave through a
 * callback; frames for the VM come in through virtio_net_deliver(). Where
 * they go in between (keel/vswitch.h, keel/netq.h) is the caller's.
 *
 * A pure state machine, with the contract of the other device models
 * (keel/vpl011.h): the transport calls it through virtio_net_ops, inside
 * virtio_mmio_read()/write() and under the caller's lock; it reaches guest
 * memory only through the queues' struct virtq_mem; it knows nothing of
 * VMs, the interrupt controller or the other ports.
 *
 * What it offers: receiveq1 (queue 0) and transmitq1 (queue 1) of
 * VIRTIO_NET_QUEUE_SIZE entries each (5.1.2), no control queue, no
 * multiqueue; VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS and VIRTIO_NET_F_MTU
 * (5.1.3), and from the transport VIRTIO_F_VERSION_1,
 * VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX. No checksum or
 * segmentation offload and no VIRTIO_NET_F_MRG_RXBUF: every frame is a
 * whole, checksummed Ethernet frame (keel/ether.h) of at most
 * ETH_FRAME_MAX bytes, each in one chain. The configuration space (5.1.4)
 * is struct virtio_net_config up to mtu: mac as given at init, status
 * VIRTIO_NET_S_LINK_UP (the link is always up), max_virtqueue_pairs 1, mtu
 * ETH_MTU (1500); nothing in it is writable (the driver may not write mac
 * without the legacy interface, 5.1.4.3).
 *
 * The header. VIRTIO_F_VERSION_1 is always negotiated (the transport
 * refuses FEATURES_OK without it), so every frame, in either direction, is
 * preceded by the 12-byte struct virtio_net_hdr with num_buffers (5.1.6:
 * only legacy drivers without VIRTIO_NET_F_MRG_RXBUF omit it). Header and
 * frame may be cut across buffers any way (2.7.4.1: "The device MUST NOT
 * make assumptions about the particular arrangement of descriptors").
 *
 * Transmission (5.1.6.2). When the driver notifies transmitq1, every chain
 * made available is taken, in order: the header and the frame after it
 * (the chain's device-readable bytes, to their end) are copied into the
 * device's bounce buffer and handed to tx(), then the chain goes back with
 * a used length of 0, as the device writes nothing into transmit buffers.
 * A frame is dropped (counted in tx_dropped, the chain still handed back)
 * if:
 *  - the chain is shorter than the header, or the frame shorter than an
 *    Ethernet header or longer than ETH_MTU plus its header (4 more behind
 *    an 802.1Q tag; keel/ether.h);
 *  - the header asks for what was not negotiated: VIRTIO_NET_HDR_F_NEEDS_CSUM
 *    (5.1.6.2.1: without VIRTIO_NET_F_CSUM the driver "MUST set flags to
 *    zero"; the device cannot finish a partial checksum), or a gso_type
 *    other than VIRTIO_NET_HDR_GSO_NONE (no HOST_TSO/UFO/USO offered).
 *    Other flag bits are ignored (5.1.6.2.2: the device "MUST ignore flag
 *    bits that it does not recognize"), and so are hdr_len, gso_size,
 *    csum_start and csum_offset, which mean nothing without those features,
 *    and num_buffers, which is unused on transmit.
 * A chain with a device-writable buffer on the transmit queue breaks it
 * (VIRTQ_ERR_FRAMING): transmit buffers are device-readable (5.1.6.2), and
 * a driver mixing them up has lost track of its queues. That, and any
 * VIRTQ_ERR_* from the virtqueue, puts the device in DEVICE_NEEDS_RESET
 * through the transport, as keel/virtq.h describes; what was transmitted
 * before stays transmitted.
 *
 * Reception (5.1.6.3, 5.1.6.4): virtio_net_deliver(), from outside the
 * transport's calls (or from rx_ready(), below). Without
 * VIRTIO_NET_F_MRG_RXBUF a frame goes into exactly one chain (5.1.6.3.2:
 * "The device MUST use only a single descriptor if VIRTIO_NET_F_MRG_RXBUF
 * was not negotiated"), preceded by a header of zeros (flags 0 and gso_type
 * VIRTIO_NET_HDR_GSO_NONE: no GUEST_CSUM or GUEST_TSO, 5.1.6.4.1) but
 * num_buffers 1 (5.1.6.4.1: "If VIRTIO_NET_F_MRG_RXBUF has not been
 * negotiated, the device MUST set num_buffers to 1"); the used length is
 * the header plus the frame. A chain whose device-writable part cannot
 * hold both is too small: 5.1.6.3.1 asks the driver for buffers of at least
 * 1526 bytes without MRG_RXBUF, but as a SHOULD, so a smaller one is not a
 * protocol error worth a reset. It goes back unused, with a used length of
 * 0 (a driver sees a length below its header and drops it as a length
 * error: Linux counts it in rx_length_errors and reuses the buffer), and
 * the frame is dropped and counted: trying it in the next chain instead
 * would let one oversized frame eat every buffer of a driver that posts
 * small ones. A chain with a device-readable buffer on the receive queue
 * breaks it (VIRTQ_ERR_FRAMING), as the opposite case does on transmit.
 *
 * Stats are counted since virtio_net_init(); a reset keeps them.
 *
 * Wiring it (for the caller, who owns the locks). tx() runs under the
 * sending port's transport lock, and virtio_net_deliver() needs the
 * receiving port's, so a tx() that delivers straight to another port takes
 * a second transport lock inside the first: with a lock per transport, two
 * VMs sending to each other at once deadlock. Either:
 *  - one lock per network serialises every transport of the network (and
 *    its switch and queues): tx() may then call vswitch_forward() and
 *    virtio_net_deliver() on the other ports directly; or
 *  - a lock per transport, and tx() only queues: it forwards (keel/
 *    vswitch.h) and pushes the frame into each destination's netq under
 *    the network's lock, which is taken inside transport locks and never
 *    the other way round; after the sending transport's lock is released
 *    (the MMIO exit is done), each destination is drained under its own
 *    transport lock (peek, deliver, pop), as rx_ready() does.
 * Either way virtio_net_deliver() may call the receiving transport's irq()
 * (the used buffer notification) and error() callbacks, from whichever CPU
 * delivers. Frames a port queued before its VM was reset are delivered
 * after the driver comes back unless the caller clears the queue
 * (netq_clear()) when it resets the transport.
 *
 * Transmitted frames pass through a bounce buffer in the device
 * (VIRTIO_NET_BOUNCE bytes): tx() never sees guest memory, and a guest
 * changing a buffer while it is copied changes only its own frame.
 */
#ifndef KEEL_VIRTIO_NET_H
#define KEEL_VIRTIO_NET_H

#include <keel/ether.h>
#include <keel/types.h>
#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

#define VIRTIO_ID_NET 1 /* 5.1.1 */

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_CTRL_VLAN 19
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

/* status in the configuration space (5.1.4). */
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

/* struct virtio_net_hdr (5.1.6): flags and gso_type. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO 4
#define VIRTIO_NET_HDR_GSO_NONE 0

/* Queues (5.1.2): receiveq1 and transmitq1 only. */
#define VIRTIO_NET_RX_QUEUE 0
#define VIRTIO_NET_TX_QUEUE 1
#define VIRTIO_NET_NUM_QUEUES 2

#define VIRTIO_NET_HDR_SIZE 12     /* struct virtio_net_hdr up to num_buffers */
#define VIRTIO_NET_QUEUE_SIZE 256  /* QueueNumMax of both queues, as QEMU's virtio-net */
#define VIRTIO_NET_CONFIG_SIZE 12  /* struct virtio_net_config up to mtu */
#define VIRTIO_NET_BOUNCE ETH_FRAME_MAX
/*
 * A receive chain that holds any frame: the header and a tagged full frame,
 * 1530 bytes, as Linux posts. 5.1.6.3.1's 1526 holds every untagged frame;
 * a tagged one longer than 1514 bytes does not fit and is dropped.
 */
#define VIRTIO_NET_RX_BUF_MIN (VIRTIO_NET_HDR_SIZE + ETH_FRAME_MAX)

/*
 * A frame the driver transmitted: @len bytes (ETH_HLEN .. ETH_FRAME_MAX,
 * keel/ether.h's length rule met) at @frame, the device's bounce buffer,
 * valid until tx() returns. Runs inside the transport's call (a QueueNotify
 * write, or the Status write that sets DRIVER_OK), under the caller's lock
 * for this transport. It must not call into this device or its transport.
 */
typedef void (*virtio_net_tx_fn)(void *ctx, const u8 *frame, u32 len);

/*
 * The driver notified the receive queue: it has probably made receive
 * buffers available (spurious calls happen: nothing says a buffer was
 * added). For the caller to deliver frames it kept because
 * virtio_net_deliver() returned false. Runs inside the transport's call
 * (QueueNotify, or setting DRIVER_OK), under the caller's lock for this
 * transport. It may call virtio_net_deliver() on this device and
 * transport, as often as it likes, and nothing else of them.
 */
typedef void (*virtio_net_rx_ready_fn)(void *ctx);

/* Counters since virtio_net_init() (a reset keeps them), for the shell's `dev`. */
struct virtio_net_stats {
    u64 rx_packets;   /* frames written into the driver's receive buffers */
    u64 rx_bytes;     /* their bytes, Ethernet header included, virtio_net_hdr not */
    u64 rx_dropped;   /* frames virtio_net_deliver() took but did not deliver: see there */
    u64 rx_no_buffer; /* virtio_net_deliver() calls that found no receive buffer (false) */
    u64 rx_short;     /* receive chains handed back unused, too small (their frames in rx_dropped) */
    u64 tx_packets;   /* frames passed to tx() */
    u64 tx_bytes;     /* their bytes */
    u64 tx_dropped;   /* transmit chains whose frame was malformed: not passed on */
    u64 bad_chains;   /* chains that broke a queue: the device needed a reset */
};

struct virtio_net {
    u8 mac[ETH_ALEN];
    u8 config[VIRTIO_NET_CONFIG_SIZE]; /* the configuration space, little-endian */
    virtio_net_tx_fn tx;
    virtio_net_rx_ready_fn rx_ready;
    void *ctx;
    struct virtio_net_stats stats;
    struct virtq_chain tx_chain; /* the transmit chain being read */
    struct virtq_chain rx_chain; /* the receive chain being filled */
    u8 bounce[VIRTIO_NET_BOUNCE] __aligned(16);
};

/* The transport's view of the device: pass it with the struct virtio_net to virtio_mmio_init(). */
extern const struct virtio_dev_ops virtio_net_ops;

/*
 * Sets the device up with MAC address @mac (6 bytes, copied), transmitting
 * through @tx; @rx_ready may be NULL; @ctx is passed to both. 0, or -1 if
 * @tx is NULL or @mac is not a station address (a group or all-zeros
 * address could never be a frame's source, keel/vswitch.h).
 */
int virtio_net_init(struct virtio_net *n, const u8 *mac, virtio_net_tx_fn tx,
                    virtio_net_rx_ready_fn rx_ready, void *ctx);

/*
 * Hands the VM a frame of @len bytes at @frame (copied before the call
 * returns), through transport @t, the one virtio_mmio_init() was given
 * this device with. Called with the caller's lock for @t held, from
 * outside the transport's calls or from rx_ready(); never from tx().
 *
 * False: the device is live, its receive queue ready, but the driver has
 * no receive buffer available. Nothing was counted but rx_no_buffer; the
 * frame is still the caller's, to keep (keel/netq.h) and deliver again
 * after rx_ready(), or to drop. With VIRTIO_F_EVENT_IDX the device has
 * asked the driver to notify when it adds the next buffer (keel/virtq.h),
 * so rx_ready() follows.
 *
 * True: the device is done with the frame:
 *  - written into a receive chain and handed back, and the used buffer
 *    notification sent if the driver wants one (rx_packets, rx_bytes);
 *  - dropped (rx_dropped): the device is not live (before DRIVER_OK,
 *    after a reset or in DEVICE_NEEDS_RESET: a NIC whose driver has not
 *    opened it drops what arrives), the receive queue is not ready, @t is
 *    not this device's transport, the frame breaks keel/ether.h's length
 *    rule (5.1.4.1: a device "MUST NOT pass received packets that exceed
 *    mtu" plus the Ethernet header), the chain taken was too small (also
 *    rx_short, see above), or the receive queue broke (also bad_chains;
 *    the device is now in DEVICE_NEEDS_RESET).
 */
bool virtio_net_deliver(struct virtio_net *n, struct virtio_mmio *t, const u8 *frame, u32 len);

#endif
