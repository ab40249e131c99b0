/*
 * The virtio-mmio transport and virtio-blk over split virtqueues
 * (src/vdev/virtio_mmio.c, virtq.c, virtio_blk.c) in a fake VM of three
 * memory chunks (two adjacent, one past a hole: tests/unit/virtio's
 * fake_guest), over a RAM disk of 0, 1, 63 or 64 sectors, writable or
 * read-only (or an empty slot), driven by:
 *  - register reads and writes of every width, at real registers, the
 *    configuration space and anywhere near the window, with values biased
 *    to what matters (status bit combinations, queue sizes, addresses in
 *    and around guest memory, feature words);
 *  - a Linux-like driver (probe, queue setup at random sizes and places,
 *    DRIVER_OK), then well-formed virtio-blk requests of every type, at
 *    every sector edge, cut into 0-62 buffers, direct or indirect, alone
 *    or in batches behind one notification;
 *  - hostile steps: bytes scribbled over the rings, descriptor chains
 *    written by hand with any address, length, flags and next, available
 *    indices moved anywhere;
 *  - notification storms, interrupt acknowledgements, guest and VM resets.
 *
 * After every step:
 *  - the device never asked for a byte outside the VM (the fake memory
 *    counts such requests; it also refuses them), never called check()
 *    against its contract, never split an aligned 2- or 4-byte ring access
 *    across chunks;
 *  - Status holds only the spec's bits (2.1); DRIVER_OK only with
 *    FEATURES_OK; FEATURES_OK only for a subset of the offer with
 *    VIRTIO_F_VERSION_1; InterruptStatus only bits 0 and 1; the line
 *    irq() last reported is InterruptStatus != 0, and irq() fired only on
 *    changes;
 *  - an enabled queue has a power-of-2 size up to QueueNumMax, areas
 *    aligned as 2.7 says, inside the VM and apart, was enabled after
 *    FEATURES_OK, and follows the negotiated EVENT_IDX;
 *  - DEVICE_NEEDS_RESET was reported through error() (once, with a valid
 *    code), and while it stays set the device touches neither guest memory
 *    nor the disk;
 *  - the disk is called only inside its capacity, and never written when
 *    read-only;
 *  - register reads give the spec's values (MagicValue, Version, DeviceID,
 *    VendorID, QueueNumMax, SHM*, write-only registers, an empty slot's),
 *    the configuration space the 5.2.4 layout written again here, and an
 *    access is refused exactly when 4.2.2.2 does not allow it.
 * And while only the well-formed driver has acted since its probe
 * ("clean"): every request completes with the status 5.2.6 gives, the used
 * length the device model promises, and the data of a shadow disk kept
 * here, and raises the used buffer notification the driver asked for; the
 * device never writes the descriptor table or the available ring, never
 * needs a reset, and a notification storm costs it one read of the
 * available idx per notification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel/virtio_blk.h>
#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

#include "fuzz_virtio.h"

/* The fake VM: A and B adjacent (the heap), C past a hole (the rings). */
#define RAM_A 0x40000000ULL
#define RAM_B 0x40004000ULL
#define RAM_HOLE 0x40008000ULL
#define RAM_C 0x40010000ULL
#define RAM_END 0x40018000ULL
#define MAX_SECTORS 64
#define QMAX VIRTIO_BLK_QUEUE_SIZE

static struct fake_mem mem;
static struct fake_drv drv;
static struct virtio_mmio t;
static struct virtio_blk blk;
static struct virtio_blk_ram ram;
static struct virtio_blk_backing inner;
static u8 disk[MAX_SECTORS * 512], shadow[MAX_SECTORS * 512];
static u8 data[8192], back[8192];
static const u32 hostile_lens[] = { 0, 1, 16, 17, 32, 512, 513, 4096, 0x80000000, 0xffffffff };
static const struct vfuzz_vm vm = {
    &mem, RAM_A, RAM_B, RAM_HOLE, RAM_C, RAM_END, hostile_lens, ARRAY_SIZE(hostile_lens),
};

static u64 capacity;
static bool read_only, empty;
static bool line;           /* what irq() last said */
static bool reported;       /* error() said so since DEVICE_NEEDS_RESET was last clear */
static bool clean;          /* only the well-formed driver since its probe: predictions hold */
static bool driver_up;      /* the fake driver has queue 0 live */
static u64 backing_calls;

/* ---- callbacks ---- */

static void on_error(void *ctx, unsigned int queue, int err)
{
    FUZZ_CHECK(err < 0 && err > -VIRTQ_ERR_COUNT, "error() with code %d", err);
    FUZZ_CHECK(queue == 0, "error() for queue %u", queue);
    FUZZ_CHECK(t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "error() without DEVICE_NEEDS_RESET");
    FUZZ_CHECK(!reported, "error() twice for one DEVICE_NEEDS_RESET");
    reported = true;
}

static void check_range(u64 sector, u32 count)
{
    FUZZ_CHECK(count && sector <= capacity && count <= capacity - sector,
               "disk access at %llu, %u sectors, capacity %llu", (unsigned long long)sector,
               count, (unsigned long long)capacity);
}

static bool b_read(void *ctx, u64 sector, void *buf, u32 count)
{
    check_range(sector, count);
    backing_calls++;
    return inner.read(inner.ctx, sector, buf, count);
}

static bool b_write(void *ctx, u64 sector, const void *buf, u32 count)
{
    FUZZ_CHECK(!read_only, "write to a read-only disk");
    check_range(sector, count);
    backing_calls++;
    return inner.write(inner.ctx, sector, buf, count);
}

static bool b_flush(void *ctx)
{
    backing_calls++;
    return true;
}

/* ---- what the spec says, written again ---- */

static u64 offered(void)
{
    u64 f = (1ULL << 32) | (1ULL << 28) | (1ULL << 29) | (1ULL << 2) | (1ULL << 6) | (1ULL << 9);

    return read_only ? f | (1ULL << 5) : f;
}

/*
 * struct virtio_blk_config (5.2.4): capacity, seg_max 62, blk_size 512,
 * num_queues 1. An empty slot's reads 0.
 */
static u8 config_byte(u64 off)
{
    if (empty)
        return 0;
    if (off < 8)
        return (u8)(capacity >> (8 * off));
    if (off == 12)
        return VIRTQ_MAX_SEGS - 2;
    if (off == 21)
        return 2; /* 512 = 0x200 */
    if (off == 34)
        return 1;
    return 0;
}

/* The value a register read must give, or false if it depends on more than this knows. */
static bool expected_reg(u64 off, u32 *v)
{
    static const u64 write_only[] = { 0x014, 0x020, 0x024, 0x030, 0x038, 0x050, 0x064,
                                      0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac };

    if (off == 0x000 || off == 0x004 || off == 0x00c) {
        *v = off == 0 ? 0x74726976 : off == 4 ? 2 : 0x4c45454b;
        return true;
    }
    if (empty) {
        *v = 0;
        return true;
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(write_only); i++)
        if (off == write_only[i]) {
            *v = 0;
            return true;
        }
    switch (off) {
    case 0x008:
        *v = 2;
        return true;
    case 0x010:
        *v = t.device_features_sel > 1 ? 0 : (u32)(offered() >> (32 * t.device_features_sel));
        return true;
    case 0x034:
        *v = t.queue_sel == 0 ? QMAX : 0;
        return true;
    case 0x044:
        *v = t.queue_sel == 0 && t.queue[0].vq.size;
        return true;
    case 0x0b0: case 0x0b4: case 0x0b8: case 0x0bc:
        *v = 0xffffffff;
        return true;
    case 0x060: /* InterruptStatus, Status, ConfigGeneration: state, checked elsewhere */
    case 0x070:
    case 0x0fc:
        return false;
    }
    *v = 0; /* QueueReset, and offsets no register occupies */
    return true;
}

/* ---- invariants ---- */

static bool overlap(u64 a, u64 alen, u64 b, u64 blen)
{
    return a < b + blen && b < a + alen;
}

static void check_queue(unsigned int q)
{
    const struct virtq *vq = &t.queue[q].vq;
    u64 dlen = 16 * (u64)vq->size, alen = 6 + 2 * (u64)vq->size, ulen = 6 + 8 * (u64)vq->size;

    if (!vq->size)
        return;
    FUZZ_CHECK(q == 0 && !empty, "queue %u enabled", q);
    FUZZ_CHECK(!(vq->size & (vq->size - 1)) && vq->size <= QMAX, "queue size %u", vq->size);
    FUZZ_CHECK(vq->desc % 16 == 0 && vq->avail % 2 == 0 && vq->used % 4 == 0,
               "areas %#llx %#llx %#llx", (unsigned long long)vq->desc,
               (unsigned long long)vq->avail, (unsigned long long)vq->used);
    FUZZ_CHECK(fake_mem_contains(&mem, vq->desc, dlen) && fake_mem_contains(&mem, vq->avail, alen) &&
                   fake_mem_contains(&mem, vq->used, ulen),
               "queue areas outside the VM");
    FUZZ_CHECK(!overlap(vq->desc, dlen, vq->avail, alen) && !overlap(vq->desc, dlen, vq->used, ulen) &&
                   !overlap(vq->avail, alen, vq->used, ulen),
               "queue areas overlap");
    FUZZ_CHECK(t.status & VIRTIO_STATUS_FEATURES_OK, "queue enabled without FEATURES_OK");
    FUZZ_CHECK(vq->event_idx == !!(t.driver_features & (1ULL << 29)), "EVENT_IDX not as negotiated");
    FUZZ_CHECK(vq->indirect == !!(t.driver_features & (1ULL << 28)), "INDIRECT not as negotiated");
}

static void check_state(void)
{
    vfuzz_check_transport(&t, &mem, offered(), line, &reported, clean);
    if (empty)
        FUZZ_CHECK(!mem.reads && !mem.writes && !mem.checks && !t.status,
                   "an empty slot did something");
    for (unsigned int q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
        check_queue(q);
}

/* ---- registers ---- */

static const u64 regs[] = {
    0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044,
    0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0,
    0x0b4, 0x0b8, 0x0bc, 0x0c0, 0x0fc, 0x070, 0x070, 0x044, 0x050, 0x038,
};

static u64 pick_offset(struct fuzz_in *in)
{
    return vfuzz_pick_offset(in, regs, ARRAY_SIZE(regs), 0x48);
}

static u32 pick_value(struct fuzz_in *in)
{
    static const u32 status[] = { 0, 1, 3, 0xb, 0xf, 0x4, 0x7, 0x8, 0x40, 0x80, 0xcf, 0xff };
    unsigned int k = fin_u8(in) % 9;
    u64 v;

    /* Every input byte is read in its own statement: evaluation order is unspecified. */
    switch (k) {
    case 0:
        return fin_u8(in) % 16;
    case 1:
        return 1U << (fin_u8(in) % 32);
    case 2:
        return fin_pick(in, status);
    case 3: /* an address low half in and around the VM */
        v = RAM_A + (fin_u16(in) % 0x1a0) * 0x100;
        return (u32)(v + (fin_u8(in) % 4) * 2);
    case 4:
        v = offered() >> (fin_bool(in) ? 32 : 0);
        return (u32)v & fin_u32(in);
    case 5:
        return (u32)offered() | (fin_bool(in) ? 0 : 1U << (fin_u8(in) % 32));
    case 6:
        return 0xffffffff;
    }
    return fin_u32(in);
}

static void do_read(u64 off, unsigned int size)
{
    vfuzz_read(&t, off, size, config_byte, expected_reg);
}

static void do_write(u64 off, unsigned int size, u32 v)
{
    if (!vfuzz_write(&t, off, size, v))
        clean = driver_up = false;
}

/* ---- the well-formed driver ---- */

static void resync(void)
{
    memcpy(shadow, disk, sizeof(shadow));
    fake_mem_clear_counts(&mem);
}

static void do_probe(struct fuzz_in *in)
{
    static const u64 wants[] = {
        (1ULL << 32) | (1ULL << 28) | (1ULL << 29) | (1ULL << 2) | (1ULL << 5) | (1ULL << 6) |
            (1ULL << 9),
        (1ULL << 32), (1ULL << 32) | (1ULL << 29), (1ULL << 32) | (1ULL << 28), ~0ULL, 0,
        (1ULL << 28) | (1ULL << 29) | (1ULL << 9),
    };
    u64 want = fin_u8(in) < 220 ? fin_pick(in, wants) : fin_u64(in);
    u32 num = 1U << (fin_u8(in) % 9);
    u64 base = RAM_C + 16 * (u64)(fin_u8(in) % 32);
    bool ok;

    fake_drv_free(&drv);
    ok = fake_drv_negotiate(&drv, &t, &mem, want);
    FUZZ_CHECK(ok == (!empty && (want & offered() & (1ULL << 32))),
               "FEATURES_OK %d for %#llx", ok, (unsigned long long)want);
    clean = driver_up = false;
    if (!ok)
        return;
    FUZZ_CHECK(fake_drv_setup_queue(&drv, 0, num, base, RAM_A, RAM_HOLE), "QueueNumMax");
    FUZZ_CHECK(t.queue[0].vq.size == num, "queue %u not enabled", num);
    fake_drv_driver_ok(&drv);
    clean = driver_up = true;
    resync();
}

struct req {
    u32 type;
    u64 sector;
    u32 len;
};

/* What 5.2.6 and keel/virtio_blk.h say a request gets: status, used length. */
static u8 predict(const struct req *r, u32 *used)
{
    bool whole = r->len % 512 == 0 && r->sector <= capacity && r->len / 512 <= capacity - r->sector;

    switch (r->type) {
    case VIRTIO_BLK_T_IN:
        *used = whole ? r->len + 1 : r->len == 0;
        return whole ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    case VIRTIO_BLK_T_OUT:
        *used = 1;
        return whole && !read_only ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    case VIRTIO_BLK_T_FLUSH:
        *used = 1;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID:
        *used = r->len <= 20 ? r->len + 1 : 20;
        return VIRTIO_BLK_S_OK;
    }
    *used = 1;
    return VIRTIO_BLK_S_UNSUPP;
}

static struct req pick_req(struct fuzz_in *in, u32 max_len)
{
    static const u32 types[] = { 0, 0, 0, 1, 1, 1, 4, 8, 8, 11, 13, 2, 0xffffffff };
    struct req r = { .type = fin_pick(in, types) };
    unsigned int k = fin_u8(in);

    r.sector = k < 100 ? fin_u8(in) % (capacity + 2) : k < 200 ? capacity - fin_u8(in) % 3 :
               k < 240 ? fin_u64(in) : ~0ULL - fin_u8(in);
    k = fin_u8(in);
    r.len = k < 160 ? 512 * (fin_u8(in) % 17) : k < 200 ? fin_u8(in) % 40 : fin_u16(in);
    if (r.len > max_len)
        r.len %= max_len + 1;
    return r;
}

/*
 * The data a request carries or receives, checked, and the shadow disk kept,
 * in the order the device served them (the order they were made available).
 */
static void settle(const struct req *r, u8 status, const u8 *got)
{
    static const char id[20] = "fuzz-disk";

    if (status != VIRTIO_BLK_S_OK)
        return;
    if (r->type == VIRTIO_BLK_T_IN)
        FUZZ_CHECK(!memcmp(got, shadow + r->sector * 512, r->len), "IN data differ");
    if (r->type == VIRTIO_BLK_T_OUT)
        memcpy(shadow + r->sector * 512, data, r->len);
    if (r->type == VIRTIO_BLK_T_GET_ID)
        FUZZ_CHECK(!memcmp(got, id, MIN(r->len, 20U)), "GET_ID data differ");
}

static void check_disk(void)
{
    FUZZ_CHECK(!memcmp(disk, shadow, capacity * 512), "disk and shadow differ");
}

static void do_request(struct fuzz_in *in)
{
    struct req r = pick_req(in, sizeof(data));
    unsigned int many = fin_bool(in) ? 62 : 4;
    unsigned int nseg = r.len ? 1 + fin_u8(in) % many : 0;
    struct fake_blk_result res;
    u32 used;
    u8 want;

    drv.use_indirect = fin_bool(in);
    if (!(drv.use_indirect && drv.indirect && nseg + 2 > 1) && nseg + 2 > drv.num_free)
        return; /* not enough descriptors for this shape */
    memset(data, fin_u8(in), r.len);
    want = predict(&r, &used);
    res = fake_blk_rw(&drv, r.type, r.sector, r.type == VIRTIO_BLK_T_OUT ? data : back, r.len,
                      nseg);
    FUZZ_CHECK(res.completed, "request %u not completed", r.type);
    FUZZ_CHECK(res.status == want && res.used_len == used,
               "type %u sector %llu len %u: status %u used %u, want %u used %u", r.type,
               (unsigned long long)r.sector, r.len, res.status, res.used_len, want, used);
    settle(&r, res.status, back);
    check_disk();
    /* The fake driver reaps as it goes (used_event follows) and its flags are 0: always told. */
    FUZZ_CHECK(t.interrupt_status & VIRTIO_MMIO_INT_VRING, "no used buffer notification");
}

/* Up to four requests made available, one notification, then reaped in order. */
static void do_batch(struct fuzz_in *in)
{
    struct req r[4];
    u64 status[4], dgpa[4];
    unsigned int n = 1 + fin_u8(in) % 4, added = 0;
    u16 id;
    u32 used, len;

    for (unsigned int i = 0; i < n && drv.num_free >= 3; i++, added++) {
        struct fake_sg sg[3];
        bool in_dir;

        r[i] = pick_req(in, 1024);
        in_dir = r[i].type == VIRTIO_BLK_T_IN || r[i].type == VIRTIO_BLK_T_GET_ID;
        sg[0] = (struct fake_sg){ fake_drv_alloc(&drv, 16, 16), 16 };
        guest_w32(&mem, sg[0].gpa, r[i].type);
        guest_w32(&mem, sg[0].gpa + 4, 0);
        guest_w64(&mem, sg[0].gpa + 8, r[i].sector);
        dgpa[i] = fake_drv_alloc(&drv, r[i].len, 8);
        sg[1] = (struct fake_sg){ dgpa[i], r[i].len };
        if (!in_dir)
            guest_fill(&mem, dgpa[i], (u8)(i + 1), r[i].len);
        status[i] = fake_drv_alloc(&drv, 1, 1);
        sg[2] = (struct fake_sg){ status[i], 1 };
        if (r[i].len)
            fake_drv_add(&drv, sg, in_dir ? 1 : 2, in_dir ? 2 : 1);
        else
            fake_drv_add(&drv, (struct fake_sg[]){ sg[0], sg[2] }, 1, 1);
    }
    fake_drv_kick_if_needed(&drv);
    for (unsigned int i = 0; i < added; i++) {
        u8 st, want = predict(&r[i], &used);

        FUZZ_CHECK(fake_drv_get_used(&drv, &id, &len), "batch request %u not completed", i);
        guest_read(&mem, status[i], &st, 1);
        FUZZ_CHECK(st == want && len == used, "batch %u: status %u used %u, want %u used %u", i,
                   st, len, want, used);
        guest_read(&mem, dgpa[i], back, r[i].len);
        memset(data, i + 1, r[i].len);
        settle(&r[i], st, back);
    }
    FUZZ_CHECK(!fake_drv_get_used(&drv, &id, &len), "more used than made available");
    FUZZ_CHECK(!added || (t.interrupt_status & VIRTIO_MMIO_INT_VRING), "no used buffer notification");
    check_disk();
    fake_drv_heap_reset(&drv);
}

/* ---- hostile steps ---- */

/* A chain written by hand into queue 0's table (or an indirect table), made available, notified. */
static void do_hostile_chain(struct fuzz_in *in)
{
    const struct virtq *vq = &t.queue[0].vq;
    unsigned int n = 1 + fin_u8(in) % 6;
    u64 table = RAM_A + 16 * (u64)(fin_u8(in) % 64);

    if (empty || !vq->size)
        return;
    vfuzz_hostile_chain(in, &vm, &drv, vq, table, n);
    clean = driver_up = false;
    do_write(0x050, 4, 0);
}

/* Bytes scribbled over queue 0's areas or anywhere in the VM. */
static void do_scribble(struct fuzz_in *in)
{
    vfuzz_scribble(in, &vm, &t.queue[0].vq);
    clean = driver_up = false;
    if (fin_bool(in))
        do_write(0x050, 4, 0);
}

/* ---- the program ---- */

static void start(struct fuzz_in *in)
{
    static const u64 caps[] = { MAX_SECTORS, MAX_SECTORS - 1, 1, 0 };
    unsigned int flags = fin_u8(in), seed = fin_u8(in);
    struct virtio_blk_backing b;

    vfuzz_mem_reset(&vm);
    fake_drv_free(&drv);
    memset(&drv, 0, sizeof(drv));
    read_only = flags & 1;
    capacity = caps[(flags >> 1) & 3];
    empty = (flags & 0x38) == 0x38;
    for (unsigned int i = 0; i < sizeof(disk); i++)
        disk[i] = (u8)(i * 3 + seed + i / 512);
    virtio_blk_ram_backing(&inner, &ram, disk, capacity * 512, read_only, "fuzz-disk");
    b = inner;
    b.read = b_read;
    b.write = read_only ? NULL : b_write;
    b.flush = b_flush;
    FUZZ_CHECK(!virtio_blk_init(&blk, &b), "virtio_blk_init");
    FUZZ_CHECK(!virtio_mmio_init(&t, empty ? NULL : &virtio_blk_ops, &blk, &mem.ops,
                                 vfuzz_on_irq, on_error, &line),
               "virtio_mmio_init");
    line = reported = clean = driver_up = false;
    backing_calls = 0;
}

static void step(struct fuzz_in *in, unsigned int op)
{
    static const unsigned int sizes[] = { 4, 4, 4, 4, 1, 2, 8, 0, 3 };
    u64 off, reads;
    unsigned int sz, n;

    switch (op % 14) {
    case 0:
    case 1:
        off = pick_offset(in);
        do_read(off, fin_pick(in, sizes));
        break;
    case 2:
    case 3:
        off = pick_offset(in);
        sz = fin_pick(in, sizes);
        do_write(off, sz, pick_value(in));
        break;
    case 4:
        do_probe(in);
        break;
    case 5:
    case 6:
        if (clean && driver_up)
            do_request(in);
        break;
    case 7:
        if (clean && driver_up)
            do_batch(in);
        break;
    case 8:
        do_hostile_chain(in);
        break;
    case 9:
        do_scribble(in);
        break;
    case 10: /* a storm of notifications, spurious or not: a read of the available idx each at most */
        n = fin_u8(in) % 64;
        reads = mem.reads;
        for (unsigned int i = 0; i < n; i++)
            do_write(0x050, 4, fin_u8(in) < 200 ? 0 : fin_u32(in));
        if (clean)
            FUZZ_CHECK(mem.reads - reads <= n + 1, "%llu reads for %u notifications",
                       (unsigned long long)(mem.reads - reads), n);
        break;
    case 11: /* the interrupt handler */
        do_read(0x060, 4);
        do_write(0x064, 4, fin_bool(in) ? t.interrupt_status : fin_u32(in));
        break;
    case 12:
        if (op & 0x80) {
            virtio_mmio_reset(&t); /* the VM's reset: irq() is not called */
            line = false;
            clean = driver_up = false;
        } else {
            do_write(0x070, 4, 0);
        }
        break;
    case 13:
        off = 0x100 + fin_u8(in) % 0x40;
        do_read(off, fin_pick(in, sizes));
        break;
    }
}

/* With FUZZ_VERBOSE=1, a line per step: what an input does. */
static void trace(unsigned int op)
{
    if (!vfuzz_verbose())
        return;
    fprintf(stderr, "op %2u: Status %#04x int %u q0 %u clean %d up %d | reqs %llu err %llu bad %llu\n",
            op % 14, t.status, t.interrupt_status, t.queue[0].vq.size, clean, driver_up,
            (unsigned long long)blk.stats.requests, (unsigned long long)blk.stats.errors,
            (unsigned long long)blk.stats.bad_chains);
}

static const struct vfuzz_program program = {
    &vm, &t, start, step, check_state, trace, &backing_calls, 14,
};

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    return vfuzz_run(&program, bytes, size);
}
