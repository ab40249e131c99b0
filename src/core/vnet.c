/*
 * Virtual networks (keel,net): each VM with keel,net = "name" gets a
 * virtio-net device (vdev/virtio_net.c) in one of its virtio-mmio slots
 * (core/vdev.c), a port on the named network's L2 switch (vdev/vswitch.c).
 * Networks exist as long as a VM names them; frames never cross from one
 * to another.
 *
 * A frame's way: the sending VM's vCPU, in its QueueNotify exit and under
 * its device's lock, gets each frame from the model (tx), asks the switch
 * where it goes, and copies it into each destination port's inbound queue
 * (a bounded netq: when the destination does not keep up, frames are
 * dropped and counted there, and the sender never waits for it). Once the
 * sender's lock is dropped, the same vCPU delivers what it queued: it takes
 * each destination's device lock in turn and moves frames from the queue
 * into that VM's receive buffers, raising its interrupt. So a frame reaches
 * the peer in the sender's exit, with no tick in between, and no two device
 * locks are ever held together. Frames that find no receive buffer wait in
 * the queue until the peer's driver adds buffers (rx_ready, in the peer's
 * own exit).
 *
 * Fairness: each sender may hold at most its share of a destination's
 * queue (NETQ_LEN divided among the other ports of the network), so a VM
 * that floods a peer fills only its own share and the peer still gets
 * what the other VMs send it; the flooder's frames past its share are
 * dropped and counted at the destination.
 *
 * Locking (after keel/vdev.h's device lock, never before it):
 *   network.lock   the switch table; held for one forwarding decision;
 *   port.in_lock   a port's inbound queue; taken by any sender (under the
 *                  sender's device lock) and by the port's own deliveries
 *                  (under its device lock, and then the virqchip's lock as
 *                  the model raises the line).
 * The two are never held together.
 */
#include <keel/console.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/netq.h>
#include <keel/string.h>
#include <keel/vdev.h>
#include <keel/virtio_net.h>
#include <keel/vm.h>
#include <keel/vswitch.h>

struct vnet_network;

struct vnet_port {
    struct vdev dev;              /* first: the vdev is the port */
    struct virtio_net net;
    struct vnet_network *nw;
    unsigned int port;            /* its index on the switch */
    u32 kick;                     /* ports this one queued frames for: atomics only */
    spinlock_t in_lock;           /* guards in, in_src, in_held */
    struct netq in;               /* frames for this VM, waiting for receive buffers */
    u8 in_src[NETQ_LEN];          /* the sending port of each frame in @in, oldest at in_head */
    unsigned int in_head;
    u8 in_held[VSWITCH_MAX_PORTS];/* frames each sender has in @in */
};

struct vnet_network {
    spinlock_t lock;
    struct vswitch sw;
    struct vnet_port *port[VSWITCH_MAX_PORTS];
    unsigned int users;
};

static struct vnet_network networks[VM_MAX];
static spinlock_t networks_lock = SPINLOCK_INIT; /* finding or making a network, at VM creation */

/* ---- a frame's way ---- */

/* Into @dst's queue, if sender @src has not used up its share of it (see above). */
static void vnet_queue(struct vnet_port *dst, unsigned int src, u32 ports, const u8 *frame,
                       u32 len)
{
    unsigned int others = 0;

    for (u32 m = ports & ~BIT(src); m; m &= m - 1) /* no popcount: Keel has no libgcc */
        others++;
    others = MAX(others, 1u);

    spin_lock(&dst->in_lock);
    if (dst->in_held[src] >= NETQ_LEN / others) {
        dst->in.stats.dropped++;
    } else if (netq_push(&dst->in, frame, len)) {
        dst->in_src[(dst->in_head + netq_count(&dst->in) - 1) % NETQ_LEN] = (u8)src;
        dst->in_held[src]++;
    }
    spin_unlock(&dst->in_lock);
}

/* The oldest queued frame is gone (delivered or cleared). in_lock held. */
static void vnet_unqueue(struct vnet_port *p)
{
    p->in_held[p->in_src[p->in_head]]--;
    p->in_head = (p->in_head + 1) % NETQ_LEN;
}

/* From the model, under the sender's device lock: into each destination's queue. */
static void vnet_tx(void *ctx, const u8 *frame, u32 len)
{
    struct vnet_port *p = ctx;
    struct vnet_network *nw = p->nw;
    struct vnet_port *to[VSWITCH_MAX_PORTS];
    u32 out = 0;

    spin_lock(&nw->lock);
    vswitch_forward(&nw->sw, p->port, frame, len, &out); /* refused: out is 0, counted */
    memcpy(to, nw->port, sizeof(to)); /* a port in @out is attached, so not NULL */
    spin_unlock(&nw->lock);
    for (u32 m = out; m; m &= m - 1)
        vnet_queue(to[__builtin_ctz(m)], p->port, vswitch_ports(&nw->sw), frame, len);
    if (out)
        __atomic_fetch_or(&p->kick, out, __ATOMIC_RELAXED);
}

/* Under the port's device lock: its queued frames into its receive buffers, while there are some. */
static void vnet_deliver_queued(struct vnet_port *p)
{
    const u8 *frame;
    u32 len;

    spin_lock(&p->in_lock);
    while ((frame = netq_peek(&p->in, &len)) && virtio_net_deliver(&p->net, &p->dev.t, frame, len)) {
        netq_pop(&p->in);
        vnet_unqueue(p);
    }
    spin_unlock(&p->in_lock);
}

/* The driver added receive buffers (in its own exit, under its lock). */
static void vnet_rx_ready(void *ctx)
{
    vnet_deliver_queued(ctx);
}

/* After the sender's exit dropped its lock: deliver what it queued for others. */
static void vnet_after_unlock(struct vdev *dev)
{
    struct vnet_port *p = (struct vnet_port *)dev;
    u32 kick;

    if (!__atomic_load_n(&p->kick, __ATOMIC_RELAXED))
        return;
    kick = __atomic_exchange_n(&p->kick, 0, __ATOMIC_RELAXED);
    for (; kick; kick &= kick - 1) {
        struct vnet_port *dst = __atomic_load_n(&p->nw->port[__builtin_ctz(kick)],
                                                __ATOMIC_RELAXED);
        if (!dst)
            continue; /* detached meanwhile: the frame waits in memory that stays, unread */
        vdev_lock(&dst->dev);
        vnet_deliver_queued(dst);
        vdev_unlock(&dst->dev);
    }
}

/* ---- lifetime ---- */

/* A new boot of the VM: what was queued for the previous one goes. */
static int vnet_build(struct vdev *dev)
{
    struct vnet_port *p = (struct vnet_port *)dev;

    spin_lock(&p->in_lock);
    netq_clear(&p->in);
    p->in_head = 0;
    memset(p->in_held, 0, sizeof(p->in_held));
    spin_unlock(&p->in_lock);
    return 0;
}

/*
 * The VM goes (only when its creation failed, at boot). The port leaves the
 * switch, but its memory stays: a sender on another CPU may have picked it
 * as a destination just before, and finds it there, not live, and drops
 * the frame. A hundred KiB lost per failed VM, against a use after free.
 */
static void vnet_destroy(struct vdev *dev)
{
    struct vnet_port *p = (struct vnet_port *)dev;
    struct vnet_network *nw = p->nw;

    spin_lock(&networks_lock);
    spin_lock(&nw->lock);
    vswitch_port_del(&nw->sw, p->port);
    nw->port[p->port] = NULL;
    nw->users--;
    spin_unlock(&nw->lock);
    spin_unlock(&networks_lock);
}

static void vnet_print(const struct vdev *dev)
{
    const struct vnet_port *p = (const struct vnet_port *)dev;
    const struct virtio_net_stats *s = &p->net.stats;
    const u8 *m = p->net.mac;

    console_printf("net=%s mac=%02x:%02x:%02x:%02x:%02x:%02x rx=%lu rx_bytes=%lu tx=%lu "
                   "tx_bytes=%lu dropped=%lu errors=%lu resets=%lu", p->nw->sw.name, m[0], m[1],
                   m[2], m[3], m[4], m[5], vdev_stat(&s->rx_packets), vdev_stat(&s->rx_bytes),
                   vdev_stat(&s->tx_packets), vdev_stat(&s->tx_bytes),
                   vdev_stat(&p->in.stats.dropped) + vdev_stat(&s->rx_dropped),
                   vdev_stat(&s->tx_dropped) + vdev_stat(&p->nw->sw.port[p->port].stats.dropped),
                   vdev_stat(&s->bad_chains));
}

static const struct vdev_type vnet_type = {
    .name = "virtio-net",
    .build = vnet_build,
    .destroy = vnet_destroy,
    .after_unlock = vnet_after_unlock,
    .print = vnet_print,
};

/* The network called @name, made if no VM named it yet. networks_lock held. */
static struct vnet_network *vnet_find_network(const char *name)
{
    struct vnet_network *free = NULL;

    for (unsigned int i = 0; i < VM_MAX; i++) {
        if (networks[i].users && !strcmp(networks[i].sw.name, name))
            return &networks[i];
        if (!networks[i].users && !free)
            free = &networks[i];
    }
    if (!free || vswitch_init(&free->sw, name))
        return NULL;
    free->lock = (spinlock_t)SPINLOCK_INIT;
    memset(free->port, 0, sizeof(free->port));
    return free;
}

/* Its port on the network, with its MAC pinned; -1 if the network is full or the MAC taken. */
static int vnet_join(struct vnet_port *p, const char *name)
{
    struct vnet_network *nw;
    int port = -1;

    spin_lock(&networks_lock);
    nw = vnet_find_network(name);
    if (nw) {
        spin_lock(&nw->lock);
        port = vswitch_port_add(&nw->sw, p->net.mac);
        if (port >= 0) {
            nw->port[port] = p;
            nw->users++;
            p->nw = nw;
            p->port = (unsigned int)port;
        }
        spin_unlock(&nw->lock);
    }
    spin_unlock(&networks_lock);
    return port < 0 ? -1 : 0;
}

int vnet_create(struct vm *vm)
{
    const struct vm_net_cfg *c = &vm->cfg.net;
    struct vnet_port *p;
    u8 mac[6] = { 0x02, 0x4b, 0x45, 0x4c, 0x00, (u8)(vm->id + 1) }; /* local, "KEL", the VM */

    if (!c->enabled)
        return 0;
    p = obj_alloc(sizeof(*p));
    if (!p)
        return -1;
    p->in_lock = (spinlock_t)SPINLOCK_INIT;
    netq_init(&p->in);
    if (virtio_net_init(&p->net, c->mac_set ? c->mac : mac, vnet_tx, vnet_rx_ready, p) ||
        vnet_join(p, c->network)) {
        ERROR("vm %s: cannot join network %s (at most %u ports, or its MAC is another port's)",
              vm->cfg.name, c->network, VSWITCH_MAX_PORTS);
        obj_free(p);
        return -1;
    }
    if (vdev_attach(vm, &p->dev, &vnet_type, c->slot, 0, &virtio_net_ops, &p->net)) {
        vnet_destroy(&p->dev);
        return -1;
    }
    return 0;
}
