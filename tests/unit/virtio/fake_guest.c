/*
 * The fake guest of fake_guest.h: discontiguous guest memory, and a driver
 * that behaves like Linux's virtio_mmio + virtio_ring (split) + virtio_blk.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel/virtio_blk.h>

#include "fake_guest.h"

static void __attribute__((noreturn, format(printf, 1, 2))) fake_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "fake_guest: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* ---- memory ---- */

static const struct fake_chunk *fake_find(const struct fake_mem *m, u64 gpa)
{
    for (unsigned int i = 0; i < m->nchunks; i++)
        if (gpa >= m->chunk[i].gpa && gpa - m->chunk[i].gpa < m->chunk[i].size)
            return &m->chunk[i];
    return NULL;
}

bool fake_mem_contains(const struct fake_mem *m, u64 gpa, u64 len)
{
    while (len) {
        const struct fake_chunk *c = fake_find(m, gpa);
        u64 n;

        if (!c)
            return false;
        n = MIN(len, c->gpa + c->size - gpa);
        gpa += n;
        len -= n;
    }
    return true;
}

/* Copies to (@to_guest) or from guest memory, chunk by chunk: the number of pieces. */
static unsigned int fake_copy(struct fake_mem *m, u64 gpa, u8 *buf, size_t len, bool to_guest)
{
    unsigned int pieces = 0;

    while (len) {
        const struct fake_chunk *c = fake_find(m, gpa);
        u64 n;

        if (!c)
            fake_die("copy at %#llx outside the VM", (unsigned long long)gpa);
        n = MIN((u64)len, c->gpa + c->size - gpa);
        if (to_guest)
            memcpy(c->host + (gpa - c->gpa), buf, n);
        else
            memcpy(buf, c->host + (gpa - c->gpa), n);
        gpa += n;
        buf += n;
        len -= n;
        pieces++;
    }
    return pieces;
}

static bool fake_ops_check(void *ctx, u64 gpa, u64 len)
{
    struct fake_mem *m = ctx;

    m->checks++;
    if (!len || gpa + len <= gpa)
        fake_die("check(%#llx, %#llx) breaks the contract", (unsigned long long)gpa,
                 (unsigned long long)len);
    return fake_mem_contains(m, gpa, len);
}

/* Bookkeeping common to the device's reads and writes; false if refused. */
static bool fake_ops_access(struct fake_mem *m, u64 gpa, size_t len)
{
    if (!fake_mem_contains(m, gpa, len)) {
        m->refused++;
        return false;
    }
    if ((len == 2 || len == 4) && gpa % len == 0 && fake_find(m, gpa) != fake_find(m, gpa + len - 1))
        m->torn++;
    return true;
}

static bool fake_ops_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    struct fake_mem *m = ctx;

    m->reads++;
    if (!fake_ops_access(m, gpa, len))
        return false;
    m->read_bytes += len;
    if (fake_copy(m, gpa, buf, len, false) > 1)
        m->crossings++;
    return true;
}

static bool fake_ops_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    struct fake_mem *m = ctx;

    m->writes++;
    if (!fake_ops_access(m, gpa, len))
        return false;
    for (unsigned int i = 0; i < m->nforbid; i++)
        if (gpa < m->forbid[i].gpa + m->forbid[i].len && m->forbid[i].gpa < gpa + len)
            m->forbidden_writes++;
    m->write_bytes += len;
    if (fake_copy(m, gpa, (u8 *)buf, len, true) > 1)
        m->crossings++;
    return true;
}

void fake_mem_add(struct fake_mem *m, u64 gpa, u64 size)
{
    struct fake_chunk *c;

    if (m->nchunks == FAKE_MAX_CHUNKS)
        fake_die("too many chunks");
    c = &m->chunk[m->nchunks++];
    c->gpa = gpa;
    c->size = size;
    c->host = calloc(1, size);
    if (!c->host)
        fake_die("out of host memory");
}

void fake_mem_init_empty(struct fake_mem *m)
{
    memset(m, 0, sizeof(*m));
    m->ops = (struct virtq_mem){ fake_ops_check, fake_ops_read, fake_ops_write, m };
}

void fake_mem_init(struct fake_mem *m)
{
    fake_mem_init_empty(m);
    fake_mem_add(m, FAKE_RAM0, FAKE_RAM1 - FAKE_RAM0);
    fake_mem_add(m, FAKE_RAM1, FAKE_RAM01_END - FAKE_RAM1);
    fake_mem_add(m, FAKE_RAM2, FAKE_RAM2_END - FAKE_RAM2);
}

void fake_mem_free(struct fake_mem *m)
{
    for (unsigned int i = 0; i < m->nchunks; i++)
        free(m->chunk[i].host);
    m->nchunks = 0;
}

void fake_mem_forbid(struct fake_mem *m, u64 gpa, u64 len)
{
    if (m->nforbid == FAKE_MAX_FORBID)
        fake_die("too many forbidden ranges");
    m->forbid[m->nforbid].gpa = gpa;
    m->forbid[m->nforbid++].len = len;
}

void fake_mem_clear_counts(struct fake_mem *m)
{
    m->checks = m->reads = m->writes = m->read_bytes = m->write_bytes = 0;
    m->refused = m->crossings = m->torn = m->forbidden_writes = 0;
}

void guest_read(struct fake_mem *m, u64 gpa, void *buf, size_t len)
{
    fake_copy(m, gpa, buf, len, false);
}

void guest_write(struct fake_mem *m, u64 gpa, const void *buf, size_t len)
{
    fake_copy(m, gpa, (u8 *)buf, len, true);
}

void guest_fill(struct fake_mem *m, u64 gpa, u8 byte, size_t len)
{
    u8 buf[256];

    memset(buf, byte, sizeof(buf));
    while (len) {
        size_t n = MIN(len, sizeof(buf));

        guest_write(m, gpa, buf, n);
        gpa += n;
        len -= n;
    }
}

/* Little-endian accessors: the rings' byte order whatever the host's. */
static u64 get_le(const u8 *b, unsigned int n)
{
    u64 v = 0;

    for (unsigned int i = 0; i < n; i++)
        v |= (u64)b[i] << (8 * i);
    return v;
}

static void put_le(u8 *b, u64 v, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        b[i] = (u8)(v >> (8 * i));
}

u16 guest_r16(struct fake_mem *m, u64 gpa)
{
    u8 b[2];

    guest_read(m, gpa, b, 2);
    return (u16)get_le(b, 2);
}

u32 guest_r32(struct fake_mem *m, u64 gpa)
{
    u8 b[4];

    guest_read(m, gpa, b, 4);
    return (u32)get_le(b, 4);
}

void guest_w16(struct fake_mem *m, u64 gpa, u16 v)
{
    u8 b[2];

    put_le(b, v, 2);
    guest_write(m, gpa, b, 2);
}

void guest_w32(struct fake_mem *m, u64 gpa, u32 v)
{
    u8 b[4];

    put_le(b, v, 4);
    guest_write(m, gpa, b, 4);
}

void guest_w64(struct fake_mem *m, u64 gpa, u64 v)
{
    u8 b[8];

    put_le(b, v, 8);
    guest_write(m, gpa, b, 8);
}

/* ---- MMIO ---- */

u32 mmio_r32(struct virtio_mmio *t, u64 off)
{
    u64 v = ~0ULL;

    if (virtio_mmio_read(t, off, 4, &v) || v > 0xffffffffULL)
        fake_die("read of %#llx refused or wider than 32 bits", (unsigned long long)off);
    return (u32)v;
}

void mmio_w32(struct virtio_mmio *t, u64 off, u32 v)
{
    if (virtio_mmio_write(t, off, 4, v))
        fake_die("write of %#llx refused", (unsigned long long)off);
}

u64 mmio_features_offered(struct virtio_mmio *t)
{
    u64 v;

    mmio_w32(t, R_DeviceFeaturesSel, 1);
    v = (u64)mmio_r32(t, R_DeviceFeatures) << 32;
    mmio_w32(t, R_DeviceFeaturesSel, 0);
    return v | mmio_r32(t, R_DeviceFeatures);
}

void mmio_set_features(struct virtio_mmio *t, u64 v)
{
    mmio_w32(t, R_DriverFeaturesSel, 0);
    mmio_w32(t, R_DriverFeatures, (u32)v);
    mmio_w32(t, R_DriverFeaturesSel, 1);
    mmio_w32(t, R_DriverFeatures, (u32)(v >> 32));
}

/* ---- the driver: negotiation and queue setup ---- */

static void fake_drv_add_status(struct fake_drv *d, u32 bits)
{
    mmio_w32(d->t, R_Status, mmio_r32(d->t, R_Status) | bits);
}

bool fake_drv_negotiate(struct fake_drv *d, struct virtio_mmio *t, struct fake_mem *m, u64 want)
{
    u64 offered, accept;

    memset(d, 0, sizeof(*d));
    d->t = t;
    d->m = m;
    mmio_w32(t, R_Status, 0);
    if (mmio_r32(t, R_Status))
        fake_die("Status is not 0 right after a reset");
    fake_drv_add_status(d, S_ACKNOWLEDGE);
    fake_drv_add_status(d, S_DRIVER);
    offered = mmio_features_offered(t);
    accept = want & offered;
    mmio_w32(t, R_DriverFeaturesSel, 1);
    mmio_w32(t, R_DriverFeatures, (u32)(accept >> 32));
    mmio_w32(t, R_DriverFeaturesSel, 0);
    mmio_w32(t, R_DriverFeatures, (u32)accept);
    fake_drv_add_status(d, S_FEATURES_OK);
    if (!(mmio_r32(t, R_Status) & S_FEATURES_OK))
        return false;
    d->features = accept;
    d->event_idx = accept & F_EVENT_IDX;
    d->indirect = accept & F_INDIRECT_DESC;
    d->use_indirect = d->indirect;
    return true;
}

bool fake_drv_negotiate_pair(struct fake_drv *a, struct fake_drv *b, struct virtio_mmio *t,
                             struct fake_mem *m, u64 want)
{
    fake_drv_free(a);
    fake_drv_free(b);
    if (!fake_drv_negotiate(a, t, m, want))
        return false;
    *b = *a;
    return true;
}

static void fake_drv_w64(struct virtio_mmio *t, u64 low_reg, u64 v)
{
    mmio_w32(t, low_reg, (u32)v);
    mmio_w32(t, low_reg + 4, (u32)(v >> 32));
}

static void fake_drv_init_free_list(struct fake_drv *d)
{
    free(d->next);
    free(d->count);
    d->next = calloc(d->num, sizeof(*d->next));
    d->count = calloc(d->num, sizeof(*d->count));
    if (!d->next || !d->count)
        fake_die("out of host memory");
    for (u32 i = 0; i < d->num; i++)
        d->next[i] = (u16)(i + 1);
    d->free_head = 0;
    d->num_free = d->num;
}

void fake_drv_layout(struct fake_drv *d, struct fake_mem *m, u32 num, u64 base, u64 heap_lo,
                     u64 heap_hi, u64 features)
{
    d->m = m;
    d->num = num;
    d->desc = base;
    d->avail = base + 16 * (u64)num;
    d->used = ALIGN_UP(d->avail + 6 + 2 * (u64)num, 4096);
    d->features = features;
    d->avail_idx = d->last_used = d->kicked_at = 0;
    d->event_idx = features & F_EVENT_IDX;
    d->indirect = features & F_INDIRECT_DESC;
    d->use_indirect = d->indirect;
    guest_fill(m, d->desc, 0, 16 * (size_t)num);
    guest_fill(m, d->avail, 0, 6 + 2 * (size_t)num);
    guest_fill(m, d->used, 0, 6 + 8 * (size_t)num);
    m->nforbid = 0;
    fake_drv_watch(d);
    fake_drv_init_free_list(d);
    d->heap = d->heap_lo = heap_lo;
    d->heap_hi = heap_hi;
}

bool fake_drv_setup_queue(struct fake_drv *d, unsigned int q, u32 num, u64 base, u64 heap_lo,
                          u64 heap_hi)
{
    u32 max;

    mmio_w32(d->t, R_QueueSel, q);
    if (mmio_r32(d->t, R_QueueReady))
        fake_die("queue %u already ready", q);
    max = mmio_r32(d->t, R_QueueNumMax);
    if (!max || max < num)
        return false;
    d->q = q;
    fake_drv_layout(d, d->m, num, base, heap_lo, heap_hi, d->features);
    mmio_w32(d->t, R_QueueNum, num);
    fake_drv_w64(d->t, R_QueueDescLow, d->desc);
    fake_drv_w64(d->t, R_QueueDriverLow, d->avail);
    fake_drv_w64(d->t, R_QueueDeviceLow, d->used);
    mmio_w32(d->t, R_QueueReady, 1);
    return true;
}

void fake_drv_watch(const struct fake_drv *d)
{
    fake_mem_forbid(d->m, d->desc, 16 * (u64)d->num);
    fake_mem_forbid(d->m, d->avail, 6 + 2 * (u64)d->num);
}

void fake_drv_driver_ok(struct fake_drv *d)
{
    fake_drv_add_status(d, S_DRIVER_OK);
}

void fake_drv_free(struct fake_drv *d)
{
    free(d->next);
    free(d->count);
    d->next = d->count = NULL;
}

u64 fake_drv_alloc(struct fake_drv *d, u64 size, u64 align)
{
    u64 at = ALIGN_UP(d->heap, align);

    if (at + size > d->heap_hi)
        fake_die("guest heap exhausted");
    d->heap = at + size;
    return at;
}

void fake_drv_heap_reset(struct fake_drv *d)
{
    d->heap = d->heap_lo;
}

/* ---- the driver: the rings ---- */

void fake_drv_desc(struct fake_drv *d, u64 table, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
    u64 at = table + 16 * (u64)i;

    guest_w64(d->m, at, addr);
    guest_w32(d->m, at + 8, len);
    guest_w16(d->m, at + 12, flags);
    guest_w16(d->m, at + 14, next);
}

static u16 fake_drv_take(struct fake_drv *d)
{
    u16 i = d->free_head;

    if (!d->num_free)
        fake_die("out of descriptors");
    d->free_head = d->next[i];
    d->num_free--;
    return i;
}

/* One table entry of an indirect chain or a ring chain: WRITE after nout, NEXT but the last. */
static u16 fake_drv_flags(unsigned int i, unsigned int nout, unsigned int total)
{
    return (u16)((i >= nout ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < total ? VIRTQ_DESC_F_NEXT : 0));
}

static u16 fake_drv_add_indirect(struct fake_drv *d, const struct fake_sg *sg, unsigned int nout,
                                 unsigned int total)
{
    u64 table = fake_drv_alloc(d, 16 * (u64)total, 16);
    u16 head;

    for (unsigned int i = 0; i < total; i++)
        fake_drv_desc(d, table, i, sg[i].gpa, sg[i].len, fake_drv_flags(i, nout, total),
                            (u16)(i + 1 < total ? i + 1 : 0));
    head = fake_drv_take(d);
    fake_drv_desc(d, d->desc, head, table, 16 * total, VIRTQ_DESC_F_INDIRECT, 0);
    d->count[head] = 1;
    return head;
}

static u16 fake_drv_add_direct(struct fake_drv *d, const struct fake_sg *sg, unsigned int nout,
                               unsigned int total)
{
    u16 head = fake_drv_take(d), cur = head;

    for (unsigned int i = 0; i < total; i++) {
        u16 nxt = i + 1 < total ? fake_drv_take(d) : 0;

        fake_drv_desc(d, d->desc, cur, sg[i].gpa, sg[i].len,
                            fake_drv_flags(i, nout, total), nxt);
        d->next[cur] = nxt;
        cur = nxt;
    }
    d->count[head] = (u16)total;
    return head;
}

u16 fake_drv_add(struct fake_drv *d, const struct fake_sg *sg, unsigned int nout,
                 unsigned int nin)
{
    unsigned int total = nout + nin;
    u16 head;

    if (!total)
        fake_die("empty chain");
    if (d->use_indirect && d->indirect && total > 1)
        head = fake_drv_add_indirect(d, sg, nout, total);
    else
        head = fake_drv_add_direct(d, sg, nout, total);
    fake_drv_publish(d, head);
    return head;
}

void fake_drv_publish(struct fake_drv *d, u16 head)
{
    guest_w16(d->m, d->avail + 4 + 2 * (u64)(d->avail_idx % d->num), head);
    d->avail_idx++;
    guest_w16(d->m, d->avail + 2, d->avail_idx);
}

bool fake_drv_kick_needed(struct fake_drv *d)
{
    u16 old = d->kicked_at, new = d->avail_idx;

    d->kicked_at = new;
    if (d->event_idx) {
        u16 ev = guest_r16(d->m, d->used + 4 + 8 * (u64)d->num);

        return (u16)(new - ev - 1) < (u16)(new - old);
    }
    return !(guest_r16(d->m, d->used) & VIRTQ_USED_F_NO_NOTIFY);
}

void fake_drv_kick(struct fake_drv *d)
{
    d->kicks++;
    mmio_w32(d->t, R_QueueNotify, d->q);
}

bool fake_drv_kick_if_needed(struct fake_drv *d)
{
    if (!fake_drv_kick_needed(d))
        return false;
    fake_drv_kick(d);
    return true;
}

static void fake_drv_release(struct fake_drv *d, u16 head)
{
    u16 last = head;

    for (unsigned int i = 1; i < d->count[head]; i++)
        last = d->next[last];
    d->next[last] = d->free_head;
    d->free_head = head;
    d->num_free += d->count[head];
    d->count[head] = 0;
}

bool fake_drv_get_used(struct fake_drv *d, u16 *id, u32 *len)
{
    u64 e;

    if (d->last_used == guest_r16(d->m, d->used + 2))
        return false;
    e = d->used + 4 + 8 * (u64)(d->last_used % d->num);
    *id = (u16)guest_r32(d->m, e);
    *len = guest_r32(d->m, e + 4);
    if (guest_r32(d->m, e) >= d->num || !d->count[*id])
        fake_die("the device used %u, which is not an outstanding head", guest_r32(d->m, e));
    fake_drv_release(d, *id);
    d->last_used++;
    if (d->event_idx)
        guest_w16(d->m, d->avail + 4 + 2 * (u64)d->num, d->last_used);
    return true;
}

u32 fake_drv_interrupt(struct fake_drv *d)
{
    u32 s = mmio_r32(d->t, R_InterruptStatus);

    if (s)
        mmio_w32(d->t, R_InterruptACK, s);
    return s;
}

/* ---- virtio-blk ---- */

/* Cuts @len bytes into @nseg buffers scattered over the heap (a gap after each). */
static unsigned int fake_blk_data(struct fake_drv *d, struct fake_sg *sg, u32 len,
                                  unsigned int nseg)
{
    u32 done = 0;

    for (unsigned int i = 0; i < nseg; i++) {
        u32 n = i + 1 < nseg ? len / nseg : len - done;

        sg[i].len = n;
        sg[i].gpa = fake_drv_alloc(d, n, 8);
        fake_drv_alloc(d, 24 + 8 * (i % 3), 8);
        done += n;
    }
    return nseg;
}

struct fake_blk_result fake_blk_rw(struct fake_drv *d, u32 type, u64 sector, void *data,
                                   u32 len, unsigned int nseg)
{
    struct fake_sg sg[VIRTQ_MAX_SEGS + 8];
    struct fake_blk_result r = { 0 };
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    u64 mark = d->heap, hdr, status;
    unsigned int n;
    u8 *p = data;

    if (len && !nseg)
        nseg = 1;
    if (nseg > VIRTQ_MAX_SEGS + 6 || (!len && nseg))
        fake_die("bad request shape");
    hdr = fake_drv_alloc(d, 16, 16);
    guest_w32(d->m, hdr, type);
    guest_w32(d->m, hdr + 4, 0);
    guest_w64(d->m, hdr + 8, sector);
    sg[0] = (struct fake_sg){ hdr, 16 };
    n = 1 + fake_blk_data(d, sg + 1, len, nseg);
    for (unsigned int i = 1, off = 0; i < n; off += sg[i].len, i++) {
        if (in)
            guest_fill(d->m, sg[i].gpa, 0xee, sg[i].len);
        else
            guest_write(d->m, sg[i].gpa, p + off, sg[i].len);
    }
    status = fake_drv_alloc(d, 1, 1);
    guest_fill(d->m, status, 0xff, 1);
    sg[n++] = (struct fake_sg){ status, 1 };
    r.head = fake_drv_add(d, sg, in ? 1 : n - 1, in ? n - 1 : 1);
    fake_drv_kick_if_needed(d);
    if (fake_drv_get_used(d, &(u16){ 0 }, &r.used_len)) {
        r.completed = true;
        guest_read(d->m, status, &r.status, 1);
        for (unsigned int i = 1, off = 0; in && i < n - 1; off += sg[i].len, i++)
            guest_read(d->m, sg[i].gpa, p + off, sg[i].len);
    }
    d->heap = mark;
    return r;
}
