/*
 * Ethernet frames as Keel's virtual network carries them between VMs: an
 * IEEE 802.3 MAC frame from the destination address to the end of the
 * payload, without preamble, padding rules or FCS, which is what a
 * virtio-net driver hands over and expects (virtio 1.2, 5.1.6: "the packet
 * itself" follows the header). Shared by the virtio-net device model
 * (keel/virtio_net.h), the frame FIFO (keel/netq.h) and the L2 switch
 * (keel/vswitch.h), so that all three agree on what a valid frame is.
 *
 * The network's MTU is ETH_MTU, so a frame is ETH_HLEN + ETH_MTU bytes at
 * most, or 4 more behind an IEEE 802.1Q tag (TPID 0x8100 where the
 * EtherType would be): a guest's VLAN interface over a 1500-byte link
 * sends full-sized 1500-byte payloads that way. There is no lower bound
 * beyond the header: drivers do not pad to 60 bytes (the FCS and the
 * padding belong to a wire, and there is none).
 */
#ifndef KEEL_ETHER_H
#define KEEL_ETHER_H

#include <keel/types.h>

#define ETH_ALEN 6        /* bytes of a MAC address */
#define ETH_HLEN 14       /* destination, source, EtherType */
#define ETH_VLAN_HLEN 4   /* an IEEE 802.1Q tag, between the source and the EtherType */
#define ETH_MTU 1500      /* the payload of every port of the network */
#define ETH_FRAME_MAX (ETH_HLEN + ETH_VLAN_HLEN + ETH_MTU) /* 1518: a tagged full frame */
#define ETH_P_8021Q 0x8100

/* Offsets in a frame. */
#define ETH_DEST 0
#define ETH_SOURCE 6
#define ETH_TYPE 12

/* The Individual/Group bit (IEEE 802, 8.2.2): the first bit on the wire, bit 0 of byte 0. */
static inline bool eth_is_group(const u8 *mac)
{
    return mac[0] & 1;
}

static inline bool eth_is_zero(const u8 *mac)
{
    return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/* An address a station may use as its own (a source): individual, not all zeros. */
static inline bool eth_is_station(const u8 *mac)
{
    return !eth_is_group(mac) && !eth_is_zero(mac);
}

static inline bool eth_equal(const u8 *a, const u8 *b)
{
    return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
             (a[5] ^ b[5]));
}

/*
 * Whether the network carries a frame of @len bytes at @frame: a whole
 * header, and at most ETH_MTU bytes after it, or ETH_MTU + 4 when the
 * EtherType field holds the 802.1Q TPID. Reads the frame only past the
 * header's length check.
 */
static inline bool eth_frame_len_ok(const u8 *frame, u32 len)
{
    if (len < ETH_HLEN || len > ETH_FRAME_MAX)
        return false;
    if (len <= ETH_HLEN + ETH_MTU)
        return true;
    return frame[ETH_TYPE] == (ETH_P_8021Q >> 8) && frame[ETH_TYPE + 1] == (ETH_P_8021Q & 0xff);
}

#endif
