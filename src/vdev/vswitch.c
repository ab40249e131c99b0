/*
 * The forwarding table of a virtual network: an 802.1D learning bridge
 * with pinned addresses and per-port quotas. The model and its choices are
 * described in keel/vswitch.h.
 */
#include <keel/string.h>
#include <keel/vswitch.h>

/* 802.1D-2004, 7.12.6: 01-80-C2-00-00-00 .. 01-80-C2-00-00-0F are not relayed. */
static bool vswitch_reserved(const u8 *mac)
{
    return mac[0] == 0x01 && mac[1] == 0x80 && mac[2] == 0xc2 && mac[3] == 0 && mac[4] == 0 &&
           (mac[5] & 0xf0) == 0;
}

int vswitch_init(struct vswitch *sw, const char *name)
{
    size_t len;

    memset(sw, 0, sizeof(*sw));
    len = name ? strnlen(name, VSWITCH_NAME_MAX) : 0;
    if (!len || len == VSWITCH_NAME_MAX)
        return -1;
    memcpy(sw->name, name, len);
    return 0;
}

u32 vswitch_ports(const struct vswitch *sw)
{
    u32 mask = 0;

    for (unsigned int i = 0; i < VSWITCH_MAX_PORTS; i++)
        if (sw->port[i].attached)
            mask |= BIT(i);
    return mask;
}

/* ---- the table ---- */

/* The attached port @mac is pinned to, or -1. */
static int vswitch_pinned_port(const struct vswitch *sw, const u8 *mac)
{
    for (unsigned int i = 0; i < VSWITCH_MAX_PORTS; i++) {
        const struct vswitch_port *p = &sw->port[i];

        if (p->attached && p->pinned && eth_equal(p->mac, mac))
            return (int)i;
    }
    return -1;
}

/*
 * Where @mac was learned: true with its port and entry in *port and *slot.
 * An address is learned on one port at most, in one entry.
 */
static bool vswitch_learned(const struct vswitch *sw, const u8 *mac, unsigned int *port,
                            unsigned int *slot)
{
    for (unsigned int i = 0; i < VSWITCH_MAX_PORTS; i++) {
        const struct vswitch_port *p = &sw->port[i];

        if (!p->attached)
            continue;
        for (unsigned int j = 0; j < VSWITCH_PORT_MACS; j++)
            if (p->fdb[j].valid && eth_equal(p->fdb[j].mac, mac)) {
                *port = i;
                *slot = j;
                return true;
            }
    }
    return false;
}

int vswitch_lookup(const struct vswitch *sw, const u8 *mac)
{
    int pinned = vswitch_pinned_port(sw, mac);
    unsigned int port, slot;

    if (pinned >= 0)
        return pinned;
    if (vswitch_learned(sw, mac, &port, &slot))
        return (int)port;
    return -1;
}

/* Forgets where @mac was learned, if anywhere. */
static void vswitch_forget(struct vswitch *sw, const u8 *mac)
{
    unsigned int port, slot;

    if (vswitch_learned(sw, mac, &port, &slot))
        sw->port[port].fdb[slot].valid = false;
}

/* A free entry of @p, or its least recently seen one, forgotten (the quota). */
static struct vswitch_fdb_entry *vswitch_free_entry(struct vswitch *sw, struct vswitch_port *p)
{
    struct vswitch_fdb_entry *oldest = &p->fdb[0];

    for (unsigned int j = 0; j < VSWITCH_PORT_MACS; j++) {
        if (!p->fdb[j].valid)
            return &p->fdb[j];
        if (p->fdb[j].seen < oldest->seen)
            oldest = &p->fdb[j];
    }
    sw->stats.evicted++;
    oldest->valid = false;
    return oldest;
}

/* 7.8: @src (a station address, not pinned elsewhere) lives on port @in. */
static void vswitch_learn(struct vswitch *sw, unsigned int in, const u8 *src)
{
    struct vswitch_port *p = &sw->port[in];
    struct vswitch_fdb_entry *e;
    unsigned int owner, slot;

    if (p->pinned && eth_equal(p->mac, src))
        return; /* its own address: known for good */
    if (vswitch_learned(sw, src, &owner, &slot)) {
        if (owner == in) {
            p->fdb[slot].seen = sw->clock;
            return;
        }
        sw->port[owner].fdb[slot].valid = false; /* it moved */
        sw->stats.moved++;
    }
    e = vswitch_free_entry(sw, p);
    memcpy(e->mac, src, ETH_ALEN);
    e->valid = true;
    e->seen = sw->clock;
    sw->stats.learned++;
}

/* ---- ports ---- */

int vswitch_port_add(struct vswitch *sw, const u8 *mac)
{
    if (mac && (!eth_is_station(mac) || vswitch_pinned_port(sw, mac) >= 0))
        return -1;
    for (unsigned int i = 0; i < VSWITCH_MAX_PORTS; i++) {
        struct vswitch_port *p = &sw->port[i];

        if (p->attached)
            continue;
        memset(p, 0, sizeof(*p));
        if (mac) {
            vswitch_forget(sw, mac); /* the pin wins over what someone else sent */
            memcpy(p->mac, mac, ETH_ALEN);
            p->pinned = true;
        }
        p->attached = true;
        return (int)i;
    }
    return -1;
}

void vswitch_port_del(struct vswitch *sw, unsigned int port)
{
    if (port < VSWITCH_MAX_PORTS)
        memset(&sw->port[port], 0, sizeof(sw->port[port]));
}

/* ---- forwarding ---- */

/* Checks and learns the frame's source: 0, or the negative VSWITCH_ERR_* refusing it. */
static int vswitch_admit(struct vswitch *sw, unsigned int in, const u8 *frame, u32 len)
{
    const u8 *src = frame + ETH_SOURCE;
    int pinned;

    if (len < ETH_HLEN || len > ETH_FRAME_MAX)
        return -VSWITCH_ERR_LEN;
    if (!eth_is_station(src))
        return -VSWITCH_ERR_SRC;
    pinned = vswitch_pinned_port(sw, src);
    if (pinned >= 0 && (unsigned int)pinned != in)
        return -VSWITCH_ERR_SPOOF;
    vswitch_learn(sw, in, src);
    return 0;
}

/* Where a frame from @in to @dst goes, counted. */
static u32 vswitch_decide(struct vswitch *sw, unsigned int in, const u8 *dst)
{
    int port;

    if (vswitch_reserved(dst)) {
        sw->stats.filtered++;
        return 0;
    }
    port = eth_is_group(dst) ? -1 : vswitch_lookup(sw, dst);
    if (port < 0) {
        sw->stats.flooded++;
        return vswitch_ports(sw) & ~(u32)BIT(in);
    }
    if ((unsigned int)port == in) {
        sw->stats.filtered++;
        return 0;
    }
    sw->stats.unicast++;
    return (u32)BIT(port);
}

int vswitch_forward(struct vswitch *sw, unsigned int in_port, const u8 *frame, u32 len,
                    u32 *out_mask)
{
    struct vswitch_port *in;
    u32 mask;
    int err;

    *out_mask = 0;
    sw->stats.frames++;
    sw->clock++;
    if (in_port >= VSWITCH_MAX_PORTS || !sw->port[in_port].attached) {
        sw->stats.dropped++;
        return -VSWITCH_ERR_PORT;
    }
    in = &sw->port[in_port];
    in->stats.rx_frames++;
    err = vswitch_admit(sw, in_port, frame, len);
    if (err) {
        in->stats.dropped++;
        sw->stats.dropped++;
        return err;
    }
    mask = vswitch_decide(sw, in_port, frame + ETH_DEST);
    for (unsigned int i = 0; i < VSWITCH_MAX_PORTS; i++)
        if (mask & BIT(i))
            sw->port[i].stats.tx_frames++;
    *out_mask = mask;
    return 0;
}

static const char *const vswitch_errors[VSWITCH_ERR_COUNT] = {
    [0] = "ok",
    [VSWITCH_ERR_PORT] = "no such port",
    [VSWITCH_ERR_LEN] = "bad frame length",
    [VSWITCH_ERR_SRC] = "group or zero source address",
    [VSWITCH_ERR_SPOOF] = "source address pinned to another port",
};

const char *vswitch_strerror(int err)
{
    unsigned int e = err < 0 ? 0U - (unsigned int)err : (unsigned int)err;

    return e < VSWITCH_ERR_COUNT ? vswitch_errors[e] : "unknown error";
}
