/*
 * A bounded FIFO of Ethernet frames: a ring of NETQ_LEN slots, each big
 * enough for the longest frame, so a push is one copy and a pop moves
 * nothing. The model is described in keel/netq.h.
 */
#include <keel/netq.h>
#include <keel/string.h>

void netq_init(struct netq *q)
{
    q->head = 0;
    q->count = 0;
    q->stats = (struct netq_stats){ 0 };
}

bool netq_push(struct netq *q, const u8 *frame, u32 len)
{
    struct netq_frame *f;

    if (q->count == NETQ_LEN || !len || len > NETQ_FRAME_MAX) {
        q->stats.dropped++;
        return false;
    }
    f = &q->frame[(q->head + q->count) % NETQ_LEN];
    memcpy(f->data, frame, len);
    f->len = len;
    q->count++;
    q->stats.queued++;
    return true;
}

const u8 *netq_peek(const struct netq *q, u32 *len)
{
    const struct netq_frame *f = &q->frame[q->head];

    if (!q->count)
        return NULL;
    *len = f->len;
    return f->data;
}

bool netq_pop(struct netq *q)
{
    if (!q->count)
        return false;
    q->head = (q->head + 1) % NETQ_LEN;
    q->count--;
    return true;
}

void netq_clear(struct netq *q)
{
    q->stats.dropped += q->count;
    q->head = 0;
    q->count = 0;
}
