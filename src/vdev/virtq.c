/*
 * Split virtqueues, the device side (virtio 1.2, section 2.7). The model,
 * what a hostile driver gets and the memory ordering are described in
 * keel/virtq.h.
 */
#include <keel/string.h>
#include <keel/virtq.h>

/*
 * Layouts, all fields little-endian (2.7.5 struct virtq_desc, 2.7.6 struct
 * virtq_avail, 2.7.8 struct virtq_used): byte offsets inside each area.
 */
#define DESC_SIZE 16                       /* addr le64, len le32, flags le16, next le16 */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING(i) (4 + 2 * (u64)(i))   /* le16 heads; used_event at AVAIL_RING(size) */
#define USED_IDX 2
#define USED_RING(i) (4 + 8 * (u64)(i))    /* id le32, len le32; avail_event at USED_RING(size) */
#define USED_ELEM_SIZE 8

/* Area sizes and alignments from 2.7's table. */
#define DESC_ALIGN 16
#define AVAIL_ALIGN 2
#define USED_ALIGN 4
#define AVAIL_AREA(size) (6 + 2 * (u64)(size))
#define USED_AREA(size) (6 + 8 * (u64)(size))

/* See "Memory ordering" in keel/virtq.h. */
#define virtq_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virtq_release() __atomic_thread_fence(__ATOMIC_RELEASE)
#define virtq_full_fence() __atomic_thread_fence(__ATOMIC_SEQ_CST)

struct virtq_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

static u16 get_le16(const u8 *b)
{
    return (u16)(b[0] | b[1] << 8);
}

static u32 get_le32(const u8 *b)
{
    return get_le16(b) | (u32)get_le16(b + 2) << 16;
}

static u64 get_le64(const u8 *b)
{
    return get_le32(b) | (u64)get_le32(b + 4) << 32;
}

static void put_le16(u8 *b, u16 v)
{
    b[0] = (u8)v;
    b[1] = (u8)(v >> 8);
}

static void put_le32(u8 *b, u32 v)
{
    put_le16(b, (u16)v);
    put_le16(b + 2, (u16)(v >> 16));
}

/* A ring index or flags field: one aligned 16-bit access (keel/virtq.h, struct virtq_mem). */
static bool virtq_read16(const struct virtq *q, u64 gpa, u16 *v)
{
    u16 raw;

    if (!q->mem->read(q->mem->ctx, gpa, &raw, sizeof(raw)))
        return false;
    *v = get_le16((const u8 *)&raw);
    return true;
}

static bool virtq_write16(const struct virtq *q, u64 gpa, u16 v)
{
    u16 raw;

    put_le16((u8 *)&raw, v);
    return q->mem->write(q->mem->ctx, gpa, &raw, sizeof(raw));
}

/* Whether [gpa, gpa + len) is inside the VM; empty ranges always are, wrapping ones never. */
static bool virtq_in_vm(const struct virtq_mem *m, u64 gpa, u64 len)
{
    if (!len)
        return true;
    if (gpa + len <= gpa)
        return false;
    return m->check(m->ctx, gpa, len);
}

static bool virtq_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
    return a < b + blen && b < a + alen;
}

/* The queue is broken by @err (positive): it stays so until reset. */
static int virtq_break(struct virtq *q, int err)
{
    q->broken = -err;
    return -err;
}

void virtq_reset(struct virtq *q)
{
    memset(q, 0, sizeof(*q));
}

bool virtq_ready(const struct virtq *q)
{
    return q->size && !q->broken;
}

/* The three areas: aligned as 2.7's table says, inside the VM, apart (each has one writer). */
static int virtq_check_areas(const struct virtq_mem *mem, u64 desc, u64 avail, u64 used, u32 size)
{
    u64 dlen = DESC_SIZE * (u64)size, alen = AVAIL_AREA(size), ulen = USED_AREA(size);

    if (!IS_ALIGNED(desc, DESC_ALIGN) || !IS_ALIGNED(avail, AVAIL_ALIGN) ||
        !IS_ALIGNED(used, USED_ALIGN))
        return VIRTQ_ERR_ALIGN;
    if (!virtq_in_vm(mem, desc, dlen) || !virtq_in_vm(mem, avail, alen) ||
        !virtq_in_vm(mem, used, ulen))
        return VIRTQ_ERR_MEM;
    if (virtq_overlap(desc, dlen, avail, alen) || virtq_overlap(desc, dlen, used, ulen) ||
        virtq_overlap(avail, alen, used, ulen))
        return VIRTQ_ERR_OVERLAP;
    return 0;
}

int virtq_init(struct virtq *q, const struct virtq_mem *mem, u64 desc, u64 driver, u64 device,
               u32 size, u64 features)
{
    int err;

    virtq_reset(q);
    if (!size || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
        return -VIRTQ_ERR_SIZE;
    err = virtq_check_areas(mem, desc, driver, device, size);
    if (err)
        return -err;
    q->mem = mem;
    q->desc = desc;
    q->avail = driver;
    q->used = device;
    q->size = size;
    q->event_idx = features & BIT(VIRTIO_F_EVENT_IDX);
    q->indirect = features & BIT(VIRTIO_F_INDIRECT_DESC);
    return 0;
}

/* ---- walking a chain ---- */

/*
 * Descriptors of an indirect table read at once: Linux lays a request out
 * in one, an entry after the other, and a call into guest memory per
 * descriptor cost as much as the rest of the walk.
 */
#define VIRTQ_READ_AHEAD 16

/*
 * Where a walk is: the queue's descriptor table, then perhaps one indirect
 * table, and what was read ahead from the latter: entries [ahead_first,
 * ahead_first + ahead_n) in ahead[].
 */
struct virtq_walk {
    u64 table;
    u32 entries; /* descriptors in the table */
    u32 steps;   /* descriptors read from it so far */
    bool indirect;
    u32 ahead_first, ahead_n;
    u8 ahead[VIRTQ_READ_AHEAD * DESC_SIZE] __aligned(8);
};

/*
 * Entry @i (< entries) of the walk's table: from what was read ahead, or,
 * in an indirect table, with up to VIRTQ_READ_AHEAD - 1 entries after it
 * (never past the table's end, which virtq_enter_indirect() found inside
 * the VM); in the queue's table, alone (a chain there is rarely in order).
 */
static bool virtq_read_desc(const struct virtq *q, struct virtq_walk *w, u32 i,
                            struct virtq_desc *d)
{
    const u8 *b;

    if (i - w->ahead_first >= w->ahead_n) {
        u32 n = w->indirect ? MIN(w->entries - i, (u32)VIRTQ_READ_AHEAD) : 1;

        w->ahead_n = 0; /* nothing valid if the read fails */
        if (!q->mem->read(q->mem->ctx, w->table + (u64)i * DESC_SIZE, w->ahead, n * DESC_SIZE))
            return false;
        w->ahead_first = i;
        w->ahead_n = n;
    }
    b = w->ahead + (i - w->ahead_first) * DESC_SIZE;
    d->addr = get_le64(b);
    d->len = get_le32(b + 8);
    d->flags = get_le16(b + 12);
    d->next = get_le16(b + 14);
    return true;
}

/* @d refers to an indirect table (2.7.5.3): continue the walk at its first entry. */
static int virtq_enter_indirect(const struct virtq *q, struct virtq_walk *w,
                                const struct virtq_desc *d)
{
    if (!q->indirect || w->indirect || (d->flags & VIRTQ_DESC_F_NEXT) || !d->len ||
        d->len % DESC_SIZE)
        return VIRTQ_ERR_INDIRECT;
    if (!virtq_in_vm(q->mem, d->addr, d->len))
        return VIRTQ_ERR_MEM;
    w->table = d->addr;
    w->entries = d->len / DESC_SIZE;
    w->steps = 0;
    w->indirect = true;
    w->ahead_n = 0; /* what was read ahead was the queue's table */
    return 0;
}

/* Appends the buffer @d describes to the chain. */
static int virtq_add_seg(struct virtq_chain *c, const struct virtq_desc *d)
{
    bool write = d->flags & VIRTQ_DESC_F_WRITE;

    if (c->nseg == VIRTQ_MAX_SEGS)
        return VIRTQ_ERR_TOO_MANY;
    if (!write && c->nseg > c->nread)
        return VIRTQ_ERR_ORDER;
    if ((u64)c->read_len + c->write_len + d->len > 0xffffffffULL)
        return VIRTQ_ERR_LEN;
    if (!virtq_in_vm(c->mem, d->addr, d->len))
        return VIRTQ_ERR_MEM;
    c->seg[c->nseg++] = (struct virtq_seg){ .gpa = d->addr, .len = d->len, .write = write };
    if (write) {
        c->write_len += d->len;
    } else {
        c->read_len += d->len;
        c->nread++;
    }
    return 0;
}

/*
 * Follows the chain from @head (< size) into @c. Bounded: every descriptor
 * read either adds a segment (at most VIRTQ_MAX_SEGS) or is the one
 * indirect descriptor; and no table is walked for more steps than it has
 * entries.
 */
static int virtq_walk(const struct virtq *q, u16 head, struct virtq_chain *c)
{
    struct virtq_walk w; /* not zeroed as a whole: ahead[] is only read once filled */
    struct virtq_desc d;
    u32 i = head;
    int err;

    w.table = q->desc;
    w.entries = q->size;
    w.steps = w.ahead_first = w.ahead_n = 0;
    w.indirect = false;

    c->mem = q->mem;
    c->head = head;
    c->nseg = c->nread = 0;
    c->read_len = c->write_len = 0;
    c->cursor[0] = c->cursor[1] = (struct virtq_cursor){ 0, 0 };
    for (;;) {
        if (++w.steps > w.entries)
            return VIRTQ_ERR_LOOP;
        if (!virtq_read_desc(q, &w, i, &d))
            return VIRTQ_ERR_MEM;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            err = virtq_enter_indirect(q, &w, &d);
            if (err)
                return err;
            i = 0;
            continue;
        }
        err = virtq_add_seg(c, &d);
        if (err)
            return err;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        i = d.next;
        if (i >= w.entries)
            return VIRTQ_ERR_NEXT;
    }
}

/* ---- the available ring ---- */

/* Chains available and not taken yet, 0 .. size, or a negative error. */
static int virtq_pending(const struct virtq *q)
{
    u16 idx, n;

    if (!virtq_read16(q, q->avail + AVAIL_IDX, &idx))
        return -VIRTQ_ERR_MEM;
    n = (u16)(idx - q->last_avail);
    if (n > q->size)
        return -VIRTQ_ERR_AVAIL_IDX;
    return n;
}

/*
 * The ring looked empty. With VIRTIO_F_EVENT_IDX, ask to be notified when
 * the driver makes the next entry available (avail_event = last_avail,
 * 2.7.10), then look again: the driver may have added one before it could
 * see the new avail_event. Nothing to write if it already says so (it is
 * written the first time whatever it holds: the used ring is the device's).
 */
static int virtq_arm(struct virtq *q)
{
    if (!q->event_idx || (q->avail_event_set && q->avail_event == q->last_avail))
        return 0;
    q->avail_event = q->last_avail;
    q->avail_event_set = true;
    if (!virtq_write16(q, q->used + USED_RING(q->size), q->avail_event))
        return -VIRTQ_ERR_MEM;
    virtq_full_fence();
    return virtq_pending(q);
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
    u16 head;
    int n, err;

    if (!q->size)
        return -VIRTQ_ERR_NOT_READY;
    if (q->broken)
        return q->broken;
    n = virtq_pending(q);
    if (n == 0)
        n = virtq_arm(q);
    if (n <= 0)
        return n < 0 ? virtq_break(q, -n) : 0;
    virtq_acquire(); /* the ring entry and descriptors were written before idx */
    if (!virtq_read16(q, q->avail + AVAIL_RING(q->last_avail % q->size), &head))
        return virtq_break(q, VIRTQ_ERR_MEM);
    if (head >= q->size)
        return virtq_break(q, VIRTQ_ERR_HEAD);
    err = virtq_walk(q, head, c);
    if (err)
        return virtq_break(q, err);
    q->last_avail++;
    return 1;
}

/* ---- the used ring ---- */

int virtq_push(struct virtq *q, u16 head, u32 written)
{
    u8 elem[USED_ELEM_SIZE];

    if (!q->size)
        return -VIRTQ_ERR_NOT_READY;
    if (q->broken)
        return q->broken;
    if (head >= q->size)
        return virtq_break(q, VIRTQ_ERR_HEAD);
    put_le32(elem, head);
    put_le32(elem + 4, written);
    if (!q->mem->write(q->mem->ctx, q->used + USED_RING(q->used_idx % q->size), elem,
                       sizeof(elem)))
        return virtq_break(q, VIRTQ_ERR_MEM);
    virtq_release(); /* the element (and the data in the buffers) before idx: 2.7.8.2 */
    q->used_idx++;
    if (!virtq_write16(q, q->used + USED_IDX, q->used_idx))
        return virtq_break(q, VIRTQ_ERR_MEM);
    return 0;
}

/* 2.7.7: notify if used idx went past used_event since the last notification decision. */
static bool virtq_event_passed(u16 event, u16 new, u16 old)
{
    return (u16)(new - event - 1) < (u16)(new - old);
}

bool virtq_needs_notify(struct virtq *q)
{
    u16 old = q->signalled_used, new = q->used_idx, v;

    if (!q->size || old == new)
        return false;
    q->signalled_used = new;
    virtq_full_fence(); /* used idx visible before the driver's field is read */
    if (q->event_idx) {
        if (!virtq_read16(q, q->avail + AVAIL_RING(q->size), &v))
            return true;
        return virtq_event_passed(v, new, old);
    }
    if (!virtq_read16(q, q->avail + AVAIL_FLAGS, &v))
        return true;
    return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* ---- copying ---- */

/*
 * Copies between @buf and [offset, offset + len) of the chain's readable or
 * writable bytes. The part's cursor says where its previous copy ended (a
 * segment, and the part's bytes before it): a copy from there on starts
 * its search at that segment, one before it from the part's first. The
 * cursor always names a segment of the part (or the part's end) and the
 * bytes before it, so a search from it finds what one from the start does.
 */
static bool virtq_chain_copy(struct virtq_chain *c, bool to_guest, u64 offset, u8 *buf,
                             size_t len)
{
    unsigned int first = to_guest ? c->nread : 0;
    u64 total = to_guest ? c->write_len : c->read_len;
    struct virtq_cursor *cur = &c->cursor[to_guest];
    const struct virtq_mem *m = c->mem;
    unsigned int i = first;
    u64 base = 0; /* the part's bytes before seg[i] */

    if (offset > total || len > total - offset)
        return false;
    if (!len)
        return true;
    if (offset >= cur->base) {
        i = first + cur->seg;
        base = cur->base;
    }
    /* offset < total, so a segment of the part holds it: the search ends inside the part */
    while (offset - base >= c->seg[i].len)
        base += c->seg[i++].len;
    for (;;) {
        const struct virtq_seg *s = &c->seg[i];
        u64 at = offset - base;
        size_t n = MIN(s->len - at, len);
        bool ok = to_guest ? m->write(m->ctx, s->gpa + at, buf, n)
                           : m->read(m->ctx, s->gpa + at, buf, n);

        if (!ok)
            break;
        buf += n;
        len -= n;
        offset += n;
        if (!len)
            break;
        /* s is done and bytes remain: they are in the part's next non-empty segment */
        base += s->len;
        while (!c->seg[++i].len)
            ;
    }
    cur->seg = (u16)(i - first);
    cur->base = (u32)base;
    return !len;
}

bool virtq_chain_read(struct virtq_chain *c, u64 offset, void *buf, size_t len)
{
    return virtq_chain_copy(c, false, offset, buf, len);
}

bool virtq_chain_write(struct virtq_chain *c, u64 offset, const void *buf, size_t len)
{
    return virtq_chain_copy(c, true, offset, (u8 *)buf, len);
}

static const char *const virtq_errors[VIRTQ_ERR_COUNT] = {
    [0] = "no error",
    [VIRTQ_ERR_NOT_READY] = "queue not enabled",
    [VIRTQ_ERR_SIZE] = "queue size not a power of 2 up to 32768",
    [VIRTQ_ERR_ALIGN] = "queue area misaligned",
    [VIRTQ_ERR_MEM] = "outside the VM's memory",
    [VIRTQ_ERR_OVERLAP] = "queue areas overlap",
    [VIRTQ_ERR_AVAIL_IDX] = "available idx beyond the queue size",
    [VIRTQ_ERR_HEAD] = "head index outside the descriptor table",
    [VIRTQ_ERR_NEXT] = "next index outside the table",
    [VIRTQ_ERR_LOOP] = "descriptor chain loops",
    [VIRTQ_ERR_TOO_MANY] = "too many buffers in a chain",
    [VIRTQ_ERR_LEN] = "chain of 4 GiB or more",
    [VIRTQ_ERR_ORDER] = "device-readable buffer after a device-writable one",
    [VIRTQ_ERR_INDIRECT] = "bad indirect descriptor",
    [VIRTQ_ERR_FRAMING] = "chain does not frame a request",
};

const char *virtq_strerror(int err)
{
    if (err < 0)
        err = -err;
    if (err >= VIRTQ_ERR_COUNT)
        return "unknown error";
    return virtq_errors[err];
}
