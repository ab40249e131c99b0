/*
 * The forwarding table of one named virtual network: an IEEE 802.1D
 * learning bridge between up to VSWITCH_MAX_PORTS ports (one per VM's
 * virtio-net device, keel/virtio_net.h). For each Ethernet frame a port
 * sends, vswitch_forward() learns where its source address lives and says
 * which ports the frame goes to, as a bit mask; moving the frame there
 * (and queueing it, keel/netq.h) is the caller's.
 *
 * A pure state machine, with the contract of the device models
 * (keel/vpl011.h): it knows nothing of VMs, devices or frames in flight,
 * and nothing here locks: the caller serialises every call on one switch
 * (a lock per network).
 *
 * Forwarding (802.1D-2004, 7.7 and 7.8):
 *  - a destination with the Individual/Group bit set (broadcast and
 *    multicast) is flooded to every attached port but the one it came from;
 *  - an individual destination the table knows goes to that one port, or
 *    nowhere if that is the port it came from (a frame is never sent back
 *    where it came from, 7.7.1), counted as filtered;
 *  - an individual destination the table does not know is flooded, as
 *    above;
 *  - the reserved group addresses 01-80-C2-00-00-00 to -0F (7.12.6, Table
 *    7-10: spanning tree, pause frames, LACP, LLDP ...) are not relayed:
 *    they are for the link, and this network has none to talk to. Filtered.
 * Refused, with a negative VSWITCH_ERR_* and an empty mask, counted:
 *  - a port that is not attached (VSWITCH_ERR_PORT);
 *  - a frame shorter than an Ethernet header or longer than ETH_FRAME_MAX
 *    (VSWITCH_ERR_LEN; keel/ether.h);
 *  - a group source address (VSWITCH_ERR_SRC): a station's address is
 *    individual (IEEE 802, 8.2.2), so a frame from a group address is
 *    invalid and not relayed; the all-zeros address likewise, as Linux's
 *    bridge does, since no station may use it;
 *  - a source address pinned to another port (VSWITCH_ERR_SPOOF), below.
 * Neither a refused frame's source nor its destination is learned.
 *
 * Learning (7.8). The source address of every frame relayed or filtered is
 * learned on the port it came from. Two things keep one port from taking
 * over the others' traffic:
 *  - pinned addresses: a port may be given its VM's MAC address when it is
 *    added (the one its virtio-net device reports, VIRTIO_NET_F_MAC). That
 *    address always belongs to that port: it is never learned elsewhere,
 *    and a frame from another port with it as source is refused as spoofed.
 *    A guest that changes its address gets the new one learned like any
 *    other.
 *  - quotas: every port learns at most VSWITCH_PORT_MACS addresses, in
 *    entries of its own; to learn another it forgets its own least
 *    recently seen one (LRU, by a counter of frames), never another
 *    port's. A port sending from thousands of made-up addresses (a MAC
 *    flood, which turns a learning switch into a hub for everyone) only
 *    churns its own entries.
 *  A learned (not pinned) address seen on another port moves there, as
 *  802.1D asks (a guest brought up on another port, or an address that
 *  changed hands): a port can take over another's learned address, but
 *  only until the rightful owner sends again. There is no aging by time (a
 *  pure model has no clock): an entry lasts until its port forgets it for a
 *  newer one, the address moves, or the port is removed.
 *
 * Costs: every lookup scans at most VSWITCH_MAX_PORTS * (1 +
 * VSWITCH_PORT_MACS) entries (72); no call loops more than that twice.
 */
#ifndef KEEL_VSWITCH_H
#define KEEL_VSWITCH_H

#include <keel/ether.h>
#include <keel/types.h>

#define VSWITCH_MAX_PORTS 8  /* ports of one network: bits 0-7 of a mask */
#define VSWITCH_PORT_MACS 8  /* addresses one port may have learned at once */
#define VSWITCH_NAME_MAX 16  /* bytes of a network's name, its NUL included */

/* What vswitch_forward() returns, negated: the frame goes nowhere. */
enum vswitch_err {
    VSWITCH_ERR_PORT = 1, /* the port is not attached */
    VSWITCH_ERR_LEN,      /* shorter than ETH_HLEN or longer than ETH_FRAME_MAX */
    VSWITCH_ERR_SRC,      /* a group or all-zeros source address */
    VSWITCH_ERR_SPOOF,    /* the source address is pinned to another port */
    VSWITCH_ERR_COUNT
};

/* A learned address. */
struct vswitch_fdb_entry {
    u8 mac[ETH_ALEN];
    bool valid;
    u64 seen; /* the switch's clock when it was last a source here */
};

/* Per-port counters since the port was added. */
struct vswitch_port_stats {
    u64 rx_frames; /* frames the port sent into the switch, refused ones included */
    u64 tx_frames; /* frames the switch sent to the port (its bit in an out mask) */
    u64 dropped;   /* of the port's frames, those refused */
};

struct vswitch_port {
    bool attached;
    bool pinned;          /* mac is the port's own (see above) */
    u8 mac[ETH_ALEN];
    struct vswitch_fdb_entry fdb[VSWITCH_PORT_MACS];
    struct vswitch_port_stats stats;
};

/* Counters since vswitch_init(), for the shell. */
struct vswitch_stats {
    u64 frames;   /* vswitch_forward() calls */
    u64 unicast;  /* frames sent to the one port that has their destination */
    u64 flooded;  /* group and unknown destinations sent to every other port */
    u64 filtered; /* frames sent nowhere: destination on their own port, or reserved */
    u64 dropped;  /* frames refused (VSWITCH_ERR_*) */
    u64 learned;  /* addresses learned on a port: new ones, and ones that moved */
    u64 moved;    /* of those, addresses learned on another port before */
    u64 evicted;  /* learned addresses a port forgot to make room for a newer one */
};

struct vswitch {
    char name[VSWITCH_NAME_MAX];
    u64 clock; /* frames seen: orders the entries for LRU */
    struct vswitch_port port[VSWITCH_MAX_PORTS];
    struct vswitch_stats stats;
};

/*
 * An empty network called @name (copied). 0, or -1 if the name is empty or
 * does not fit in VSWITCH_NAME_MAX bytes with its NUL (refused rather than
 * cut, so two long names cannot end up the same network).
 */
int vswitch_init(struct vswitch *sw, const char *name);

/*
 * Attaches a new port, the lowest free index: returns it, or -1 if the
 * network is full or @mac is not NULL and cannot be pinned (not a station
 * address, or pinned to another port already). With @mac, that address is
 * pinned to the port, and forgotten wherever it was learned before.
 */
int vswitch_port_add(struct vswitch *sw, const u8 *mac);

/*
 * Detaches @port (its VM is gone): every address it had is forgotten, its
 * counters cleared, and it is in no mask from now on. Nothing if it was not
 * attached.
 */
void vswitch_port_del(struct vswitch *sw, unsigned int port);

/* The attached ports, as a mask. */
u32 vswitch_ports(const struct vswitch *sw);

/*
 * The frame of @len bytes at @frame came from @in_port (only its first
 * ETH_HLEN bytes are read): learns its source and puts in *out_mask the
 * ports it goes to (bit n: port n; never @in_port, never a detached port;
 * 0 if filtered). 0, or a negative VSWITCH_ERR_* with *out_mask 0, the
 * frame refused (see above). Counts everything.
 */
int vswitch_forward(struct vswitch *sw, unsigned int in_port, const u8 *frame, u32 len,
                    u32 *out_mask);

/* The port an individual address is pinned to or learned on, or -1. Learns nothing. */
int vswitch_lookup(const struct vswitch *sw, const u8 *mac);

/* A word or two for a log line: what the (negative or positive) error code means. */
const char *vswitch_strerror(int err);

#endif
