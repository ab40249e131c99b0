/*
 * A bounded FIFO of Ethernet frames (keel/ether.h): what one port of the
 * virtual network holds for its VM while the VM's driver has no receive
 * buffer free (virtio_net_deliver() returned false, keel/virtio_net.h), so
 * that a burst from the other VMs is absorbed instead of lost, and a guest
 * that stops reading costs at most NETQ_LEN frames of memory.
 *
 * Pure, like the device models: no VMs, no allocation, no locks. The caller
 * serialises every call on one queue. Nothing waits: a push into a full
 * queue drops the new frame and counts it (tail drop, as a NIC's receive
 * FIFO overruns); what is queued keeps its order.
 *
 * Use, to drain into a device:
 *     while ((f = netq_peek(q, &len)) && virtio_net_deliver(n, t, f, len))
 *         netq_pop(q);
 * The frame netq_peek() returns stays valid, and in place, until the next
 * netq_pop() or netq_clear(); a push never moves it.
 *
 * struct netq holds every frame inline: about NETQ_LEN * 1.5 KiB (96 KiB).
 */
#ifndef KEEL_NETQ_H
#define KEEL_NETQ_H

#include <keel/ether.h>
#include <keel/types.h>

#define NETQ_LEN 64                  /* frames a queue holds */
#define NETQ_FRAME_MAX ETH_FRAME_MAX /* bytes of the longest */

struct netq_frame {
    u32 len;
    u8 data[NETQ_FRAME_MAX];
};

/* Counters since netq_init(). */
struct netq_stats {
    u64 queued;  /* frames pushed and kept */
    u64 dropped; /* frames not kept: the queue full, a length of 0 or over NETQ_FRAME_MAX, or cleared */
};

struct netq {
    unsigned int head;  /* the oldest frame */
    unsigned int count; /* frames queued, 0 .. NETQ_LEN */
    struct netq_stats stats;
    struct netq_frame frame[NETQ_LEN];
};

/* An empty queue, counters at 0. */
void netq_init(struct netq *q);

/*
 * Copies @len bytes at @frame to the tail. False, with the frame counted as
 * dropped, if the queue is full or @len is 0 or more than NETQ_FRAME_MAX
 * (the queue does not look at what the frame says; keel/ether.h does).
 */
bool netq_push(struct netq *q, const u8 *frame, u32 len);

/* The oldest frame and its length in *len, or NULL if the queue is empty. */
const u8 *netq_peek(const struct netq *q, u32 *len);

/* Forgets the oldest frame (after it was delivered). False if the queue was empty. */
bool netq_pop(struct netq *q);

/* Forgets every frame, counting them as dropped (the port's VM went away or was reset). */
void netq_clear(struct netq *q);

static inline unsigned int netq_count(const struct netq *q)
{
    return q->count;
}

#endif
