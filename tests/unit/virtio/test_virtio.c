/*
 * Host unit tests of the virtio device models: the split virtqueue walker
 * (src/vdev/virtq.c), the virtio-mmio transport (src/vdev/virtio_mmio.c)
 * and virtio-blk (src/vdev/virtio_blk.c), against fake_guest.c's
 * discontiguous guest memory and Linux-like driver. Each hostile input of
 * issue 11's "Bad input" list gets the answer virtio 1.2 gives: an error
 * status, or DEVICE_NEEDS_RESET for a broken queue; and the device never
 * asks for a byte outside the VM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <keel/virtio_blk.h>
#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

#include "virtio_test_util.h"

#define DISK_SECTORS 2048 /* 1 MiB */
#define DISK_ID "keel-test-disk"
#define RINGS FAKE_RAM2   /* where the queues go by default: the heap is chunks 0 and 1 */
#define HOLE FAKE_RAM01_END /* no memory from here to FAKE_RAM2 */

/* Bits of the features word, as the spec numbers them. */
#define BLK_F_SEG_MAX (1ULL << 2)
#define BLK_F_RO (1ULL << 5)
#define BLK_F_BLK_SIZE (1ULL << 6)
#define BLK_F_FLUSH (1ULL << 9)
#define LINUX_BLK_FEATURES                                                                      \
    (F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | BLK_F_SEG_MAX | BLK_F_RO | BLK_F_BLK_SIZE | \
     BLK_F_FLUSH)

struct fixture {
    struct fake_mem m;
    struct fake_drv d;
    struct virtq q;
    struct virtq_chain c;

    struct virtio_mmio t;
    struct virtio_blk blk;
    struct virtio_blk_ram ram;
    struct virtio_blk_backing inner; /* the RAM backing the counting one wraps */
    u8 *disk;

    bool irq[4096]; /* levels passed to irq(), in order: ev.nirq of them */
    struct mmio_events ev;
    unsigned int backing_reads, backing_writes, backing_flushes;
    unsigned int backing_maps; /* map() calls, also counted as reads or writes */
    bool fail_read, fail_write, fail_flush;
    bool direct; /* the backing has map(): the device copies without its bounce buffer */
};

/* ---- fixture ---- */

/* The transport's irq(), its ctx &f->ev: every level, whether it changed or not. */
static void rec_irq(void *ctx, bool level)
{
    struct fixture *f = container_of(ctx, struct fixture, ev);

    assert_true(f->ev.nirq < ARRAY_SIZE(f->irq));
    f->irq[f->ev.nirq++] = level;
}

static bool count_read(void *ctx, u64 sector, void *buf, u32 count)
{
    struct fixture *f = ctx;

    f->backing_reads++;
    return !f->fail_read && f->inner.read(f->inner.ctx, sector, buf, count);
}

static bool count_write(void *ctx, u64 sector, const void *buf, u32 count)
{
    struct fixture *f = ctx;

    f->backing_writes++;
    return !f->fail_write && f->inner.write(f->inner.ctx, sector, buf, count);
}

/* map() stands for a read or a write: counted and failed as one. */
static void *count_map(void *ctx, u64 sector, u32 count, bool write)
{
    struct fixture *f = ctx;

    f->backing_maps++;
    if (write)
        f->backing_writes++;
    else
        f->backing_reads++;
    if (write ? f->fail_write : f->fail_read)
        return NULL;
    return f->inner.map(f->inner.ctx, sector, count, write);
}

static bool count_flush(void *ctx)
{
    struct fixture *f = ctx;

    f->backing_flushes++;
    return !f->fail_flush;
}

/* The disk's initial contents: every byte says where it is. */
static u8 disk_byte(u64 off)
{
    return (u8)(off * 7 + off / 512);
}

/* (Re)creates the block device over the fixture's disk, read-only or not. */
static void make_blk(struct fixture *f, bool read_only)
{
    struct virtio_blk_backing b;

    virtio_blk_ram_backing(&f->inner, &f->ram, f->disk, DISK_SECTORS * 512, read_only, DISK_ID);
    b = f->inner;
    b.read = count_read;
    b.write = read_only ? NULL : count_write;
    b.flush = count_flush;
    b.map = f->direct ? count_map : NULL;
    b.ctx = f;
    assert_int_equal(virtio_blk_init(&f->blk, &b), 0);
    assert_int_equal(virtio_mmio_init(&f->t, &virtio_blk_ops, &f->blk, &f->m.ops, rec_irq,
                                      mmio_events_err, &f->ev),
                     0);
}

static int setup_as(void **state, bool direct)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->direct = direct;
    fake_mem_init(&f->m);
    f->disk = malloc(DISK_SECTORS * 512);
    assert_non_null(f->disk);
    for (u64 i = 0; i < DISK_SECTORS * 512; i++)
        f->disk[i] = disk_byte(i);
    make_blk(f, false);
    *state = f;
    return 0;
}

/* The bounce path: a backing without map(), as the host disk's slices. */
static int setup(void **state)
{
    return setup_as(state, false);
}

/* The direct path: the same RAM disk with map(), as Keel's RAM disks. */
static int setup_direct(void **state)
{
    return setup_as(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fake_drv_free(&f->d);
    fake_mem_free(&f->m);
    free(f->disk);
    free(f);
    return 0;
}

/* ---- virtqueue helpers: a queue without a transport ---- */

static void vq_up_at(struct fixture *f, u32 num, u64 base, u64 features)
{
    fake_drv_layout(&f->d, &f->m, num, base, FAKE_RAM0, FAKE_RAM01_END, features);
    assert_int_equal(virtq_init(&f->q, &f->m.ops, f->d.desc, f->d.avail, f->d.used, num,
                                features),
                     0);
}

static void vq_up(struct fixture *f, u32 num, u64 features)
{
    vq_up_at(f, num, RINGS, features);
}

static u64 buf(struct fixture *f, u32 len)
{
    return fake_drv_alloc(&f->d, len, 8);
}

/* A hostile chain written by hand: descriptors in the queue's own table. */
static void desc(struct fixture *f, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
    fake_drv_desc(&f->d, f->d.desc, i, addr, len, flags, next);
}

static void expect_broken(struct fixture *f, int err)
{
    assert_int_equal(virtq_pop(&f->q, &f->c), -err);
    assert_false(virtq_ready(&f->q));
    /* The queue stays broken: pops and pushes give the same answer. */
    assert_int_equal(virtq_pop(&f->q, &f->c), -err);
    assert_int_equal(virtq_push(&f->q, 0, 0), -err);
    /* And the device never asked for a byte outside the VM. */
    assert_int_equal(f->m.refused, 0);
    assert_int_equal(f->m.forbidden_writes, 0);
}

/* ---- virtqueue: setup ---- */

static void test_virtq_init_checks(void **state)
{
    struct fixture *f = *state;
    struct virtq *q = &f->q;
    const struct virtq_mem *m = &f->m.ops;
    u64 r = RINGS;

    /* 2.7: power-of-2 sizes, 1 to 32768 */
    assert_int_equal(virtq_init(q, m, r, r + 0x1000, r + 0x2000, 0, 0), -VIRTQ_ERR_SIZE);
    assert_int_equal(virtq_init(q, m, r, r + 0x1000, r + 0x2000, 3, 0), -VIRTQ_ERR_SIZE);
    assert_int_equal(virtq_init(q, m, r, r + 0x1000, r + 0x2000, 96, 0), -VIRTQ_ERR_SIZE);
    assert_int_equal(virtq_init(q, m, r, r + 0x80000, r + 0x90000, 65536, 0), -VIRTQ_ERR_SIZE);
    assert_int_equal(virtq_init(q, m, r, r + 0x80000, r + 0xa0000, 32768, 0), 0);
    assert_true(virtq_ready(q));
    assert_int_equal(virtq_init(q, m, r, r + 0x10, r + 0x20, 1, 0), 0);
    /* 2.7's alignments: 16, 2, 4 */
    assert_int_equal(virtq_init(q, m, r + 8, r + 0x1000, r + 0x2000, 8, 0), -VIRTQ_ERR_ALIGN);
    assert_int_equal(virtq_init(q, m, r, r + 0x1001, r + 0x2000, 8, 0), -VIRTQ_ERR_ALIGN);
    assert_int_equal(virtq_init(q, m, r, r + 0x1000, r + 0x2002, 8, 0), -VIRTQ_ERR_ALIGN);
    assert_false(virtq_ready(q));
    /* outside the VM, into the hole, or wrapping */
    assert_int_equal(virtq_init(q, m, HOLE, r + 0x1000, r + 0x2000, 8, 0), -VIRTQ_ERR_MEM);
    assert_int_equal(virtq_init(q, m, HOLE - 0x40, r + 0x1000, r + 0x2000, 8, 0),
                     -VIRTQ_ERR_MEM);
    assert_int_equal(virtq_init(q, m, r, FAKE_RAM2_END - 4, r + 0x2000, 8, 0), -VIRTQ_ERR_MEM);
    assert_int_equal(virtq_init(q, m, r, r + 0x1000, 0xfffffffffffffff0ULL, 8, 0),
                     -VIRTQ_ERR_MEM);
    assert_int_equal(virtq_init(q, m, 0, r + 0x1000, r + 0x2000, 8, 0), -VIRTQ_ERR_MEM);
    /* overlapping areas: each has one writer */
    assert_int_equal(virtq_init(q, m, r, r + 0x40, r + 0x1000, 8, 0), -VIRTQ_ERR_OVERLAP);
    assert_int_equal(virtq_init(q, m, r, r + 0x1000, r + 0x1010, 8, 0), -VIRTQ_ERR_OVERLAP);
    assert_int_equal(virtq_init(q, m, r, r + 0x1000, r + 0x70, 8, 0), -VIRTQ_ERR_OVERLAP);
    assert_int_equal(virtq_init(q, m, r, r + 0x80, r + 0x98, 8, 0), 0); /* just apart */
    /* None of it read or wrote guest memory. */
    assert_int_equal(f->m.reads + f->m.writes + f->m.refused, 0);
    virtq_reset(q);
    assert_false(virtq_ready(q));
    assert_int_equal(virtq_pop(q, &f->c), -VIRTQ_ERR_NOT_READY);
    assert_int_equal(virtq_push(q, 0, 0), -VIRTQ_ERR_NOT_READY);
    assert_false(virtq_needs_notify(q));
}

/* ---- virtqueue: chains ---- */

static void test_virtq_pop_push(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[3];
    u16 head, id;
    u32 len;

    vq_up(f, 16, 0);
    assert_int_equal(virtq_pop(&f->q, &f->c), 0);
    sg[0] = (struct fake_sg){ buf(f, 16), 16 };
    sg[1] = (struct fake_sg){ buf(f, 100), 100 };
    sg[2] = (struct fake_sg){ buf(f, 1), 1 };
    head = fake_drv_add(&f->d, sg, 2, 1);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(f->c.head, head);
    assert_int_equal(f->c.nseg, 3);
    assert_int_equal(f->c.nread, 2);
    assert_int_equal(f->c.read_len, 116);
    assert_int_equal(f->c.write_len, 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f->c.seg[i].gpa, sg[i].gpa);
        assert_int_equal(f->c.seg[i].len, sg[i].len);
        assert_int_equal(f->c.seg[i].write, i == 2);
    }
    assert_int_equal(virtq_pop(&f->q, &f->c), 0);
    assert_false(virtq_needs_notify(&f->q)); /* nothing pushed yet */
    assert_int_equal(virtq_push(&f->q, head, 1), 0);
    assert_true(fake_drv_get_used(&f->d, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(len, 1);
    assert_true(virtq_needs_notify(&f->q)); /* avail flags 0 */
    assert_false(virtq_needs_notify(&f->q));
    assert_int_equal(virtq_push(&f->q, 16, 0), -VIRTQ_ERR_HEAD); /* outside the table */
    assert_int_equal(f->m.forbidden_writes + f->m.refused + f->m.torn, 0);
}

/* Chains cut every way, copies crossing segments and the chunk 0 / chunk 1 boundary. */
static void test_virtq_chain_copy(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[4];
    u8 in[300], out[300];

    vq_up(f, 8, 0);
    f->d.heap = FAKE_RAM1 - 150; /* the first buffer straddles the two host buffers */
    for (int i = 0; i < 300; i++)
        in[i] = (u8)(i * 13 + 1);
    sg[0] = (struct fake_sg){ buf(f, 200), 200 };
    sg[1] = (struct fake_sg){ buf(f, 100), 100 };
    sg[2] = (struct fake_sg){ buf(f, 0), 0 }; /* empty buffers are kept, harmless */
    sg[3] = (struct fake_sg){ buf(f, 300), 300 };
    guest_write(&f->m, sg[0].gpa, in, 200);
    guest_write(&f->m, sg[1].gpa, in + 200, 100);
    fake_drv_add(&f->d, sg, 2, 2);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(f->c.nseg, 4);
    assert_int_equal(f->c.nread, 2);
    memset(out, 0, sizeof(out));
    assert_true(virtq_chain_read(&f->c, 0, out, 300));
    assert_memory_equal(out, in, 300);
    assert_true(f->m.crossings > 0);
    assert_true(virtq_chain_read(&f->c, 190, out, 20)); /* across the two segments */
    assert_memory_equal(out, in + 190, 20);
    assert_true(virtq_chain_read(&f->c, 300, out, 0));
    assert_false(virtq_chain_read(&f->c, 290, out, 11)); /* past the readable bytes */
    assert_false(virtq_chain_read(&f->c, ~0ULL, out, 2));
    assert_true(virtq_chain_write(&f->c, 0, in, 300));
    guest_read(&f->m, sg[3].gpa, out, 300);
    assert_memory_equal(out, in, 300);
    assert_false(virtq_chain_write(&f->c, 1, in, 300));
    assert_int_equal(f->m.refused + f->m.torn + f->m.forbidden_writes, 0);
}

/* The cursor of one part of f->c names a segment of the part and the part's bytes before it. */
static void check_cursor(const struct virtq_chain *c, bool writable)
{
    const struct virtq_cursor *cur = &c->cursor[writable];
    unsigned int first = writable ? c->nread : 0, n = writable ? c->nseg - c->nread : c->nread;
    u64 base = 0;

    assert_true(cur->seg <= n);
    for (unsigned int i = 0; i < cur->seg; i++)
        base += c->seg[first + i].len;
    assert_int_equal(cur->base, base);
}

/* Front to back in steps: each copy starts where the cursor is, and leaves it where it ended. */
static void test_virtq_chain_cursor(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[6];
    u8 in[400], out[400];
    u16 id;
    u32 len;

    vq_up(f, 8, 0);
    for (int i = 0; i < 400; i++)
        in[i] = (u8)(i * 13 + 5);
    sg[0] = (struct fake_sg){ buf(f, 100), 100 };
    sg[1] = (struct fake_sg){ buf(f, 0), 0 };
    sg[2] = (struct fake_sg){ buf(f, 300), 300 };
    sg[3] = (struct fake_sg){ buf(f, 50), 50 };
    sg[4] = (struct fake_sg){ buf(f, 0), 0 };
    sg[5] = (struct fake_sg){ buf(f, 150), 150 };
    guest_write(&f->m, sg[0].gpa, in, 100);
    guest_write(&f->m, sg[2].gpa, in + 100, 300);
    fake_drv_add(&f->d, sg, 3, 3);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(f->c.cursor[0].seg + f->c.cursor[0].base, 0); /* popped: at the start */
    assert_int_equal(f->c.cursor[1].seg + f->c.cursor[1].base, 0);
    for (unsigned int off = 0, step = 1; off < 400; off += step, step = step * 3 + 1) {
        u32 n = MIN(step, 400 - off);

        assert_true(virtq_chain_read(&f->c, off, out + off, n));
        check_cursor(&f->c, false);
    }
    assert_memory_equal(out, in, 400);
    assert_int_equal(f->c.cursor[0].seg, 2); /* the copy ended in the third segment */
    assert_int_equal(f->c.cursor[0].base, 100);
    /* backwards: from the part's start again */
    assert_true(virtq_chain_read(&f->c, 50, out, 100));
    assert_memory_equal(out, in + 50, 100);
    assert_int_equal(f->c.cursor[0].seg, 2);
    assert_true(virtq_chain_read(&f->c, 10, out, 10));
    assert_memory_equal(out, in + 10, 10);
    assert_int_equal(f->c.cursor[0].seg, 0);
    /* the writable part has its own; a copy ending on a segment's end leaves it there */
    assert_true(virtq_chain_write(&f->c, 0, in, 50));
    assert_int_equal(f->c.cursor[1].seg, 0);
    assert_true(virtq_chain_write(&f->c, 50, in + 50, 150));
    assert_int_equal(f->c.cursor[1].seg, 2); /* past the empty one */
    assert_int_equal(f->c.cursor[1].base, 50);
    check_cursor(&f->c, true);
    guest_read(&f->m, sg[3].gpa, out, 50);
    guest_read(&f->m, sg[5].gpa, out + 50, 150);
    assert_memory_equal(out, in, 200);
    assert_int_equal(f->c.cursor[0].seg, 0); /* untouched by writes */
    /* a copy refused midway leaves a cursor that still holds: the next copies are right */
    f->c.seg[2].gpa = HOLE;
    assert_false(virtq_chain_read(&f->c, 20, out, 200));
    check_cursor(&f->c, false);
    f->c.seg[2].gpa = sg[2].gpa;
    assert_true(virtq_chain_read(&f->c, 390, out, 10));
    assert_memory_equal(out, in + 390, 10);
    assert_true(virtq_chain_read(&f->c, 0, out, 400));
    assert_memory_equal(out, in, 400);
    /* past the end: refused, as before */
    assert_false(virtq_chain_read(&f->c, 399, out, 2));
    assert_false(virtq_chain_write(&f->c, 200, out, 1));
    assert_true(virtq_chain_write(&f->c, 200, out, 0));
    assert_int_equal(virtq_push(&f->q, f->c.head, 0), 0);
    assert_true(fake_drv_get_used(&f->d, &id, &len));
    assert_int_equal(f->m.refused, 1); /* the hole, once */
    assert_int_equal(f->m.torn + f->m.forbidden_writes, 0);
}

/*
 * Copies of random lengths at random offsets, in any order (mostly on from
 * where the last one ended, as devices copy), over chains of 1 to
 * VIRTQ_MAX_SEGS segments of random lengths, empty ones too: each reads or
 * writes exactly what a flat model of the two parts says.
 */
static void test_virtq_chain_random_copies(void **state)
{
    struct fixture *f = *state;
    static struct fake_sg sg[VIRTQ_MAX_SEGS];
    static u8 model[2][VIRTQ_MAX_SEGS * 120], got[VIRTQ_MAX_SEGS * 120];
    u16 id;
    u32 len;

    srand(20261202);
    vq_up(f, 256, 0);
    for (int round = 0; round < 300; round++) {
        unsigned int nseg = 1 + rand() % VIRTQ_MAX_SEGS, nout = rand() % (nseg + 1);
        u64 part[2] = { 0, 0 }, end[2] = { 0, 0 };

        fake_drv_heap_reset(&f->d);
        for (unsigned int i = 0; i < nseg; i++) {
            bool w = i >= nout;
            u32 n = rand() % 4 ? (u32)(rand() % 120) : 0;

            sg[i] = (struct fake_sg){ buf(f, n), n };
            for (u32 k = 0; k < n; k++)
                model[w][part[w] + k] = (u8)rand();
            guest_write(&f->m, sg[i].gpa, model[w] + part[w], n);
            part[w] += n;
        }
        fake_drv_add(&f->d, sg, nout, nseg - nout);
        assert_int_equal(virtq_pop(&f->q, &f->c), 1);
        for (int op = 0; op < 60; op++) {
            int w = rand() % 2;
            u64 off = rand() % 3 ? end[w] : (u64)(rand() % (part[w] + 1));
            u64 room = part[w] - MIN(off, part[w]);
            u64 n = rand() % 8 ? (u64)(rand() % (room + 1)) : room + 1 + rand() % 3;
            bool fits = off + n <= part[w];

            if (w) {
                for (u64 k = 0; k < n && k < sizeof(got); k++)
                    got[k] = (u8)rand();
                assert_int_equal(virtq_chain_write(&f->c, off, got, n), fits);
                if (fits)
                    memcpy(model[1] + off, got, n);
            } else {
                assert_int_equal(virtq_chain_read(&f->c, off, got, n), fits);
                if (fits)
                    assert_memory_equal(got, model[0] + off, n);
            }
            if (fits)
                end[w] = off + n;
            check_cursor(&f->c, w);
        }
        for (unsigned int i = nout, at = 0; i < nseg; at += sg[i].len, i++) {
            guest_read(&f->m, sg[i].gpa, got, sg[i].len);
            assert_memory_equal(got, model[1] + at, sg[i].len);
        }
        assert_int_equal(virtq_push(&f->q, f->c.head, 0), 0);
        assert_true(fake_drv_get_used(&f->d, &id, &len));
    }
    assert_int_equal(f->m.refused + f->m.torn + f->m.forbidden_writes, 0);
}

/* A ring whose descriptor table straddles two chunks: still whole accesses, never torn. */
static void test_virtq_ring_across_chunks(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[2];
    u16 id;
    u32 len;

    vq_up_at(f, 256, FAKE_RAM1 - 0x800, F_EVENT_IDX);
    f->d.heap_lo = f->d.heap = FAKE_RAM2;
    f->d.heap_hi = FAKE_RAM2_END;
    for (int i = 0; i < 600; i++) {
        sg[0] = (struct fake_sg){ buf(f, 8), 8 };
        sg[1] = (struct fake_sg){ buf(f, 8), 8 };
        fake_drv_add(&f->d, sg, 1, 1);
        assert_int_equal(virtq_pop(&f->q, &f->c), 1);
        assert_int_equal(virtq_push(&f->q, f->c.head, 8), 0);
        assert_true(fake_drv_get_used(&f->d, &id, &len));
        fake_drv_heap_reset(&f->d);
    }
    assert_true(f->m.crossings == 0); /* descriptors never straddle a 4 KiB boundary */
    assert_int_equal(f->m.torn, 0);
    assert_int_equal(f->m.refused + f->m.forbidden_writes, 0);
}

/* 70000 chains through a queue of 4: both indices wrap at 65536. */
static void test_virtq_index_wrap(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg = { 0 };
    u16 id;
    u32 len;

    vq_up(f, 4, 0);
    sg = (struct fake_sg){ buf(f, 4), 4 };
    for (u32 i = 0; i < 70000; i++) {
        u16 head = fake_drv_add(&f->d, &sg, 0, 1);

        assert_int_equal(virtq_pop(&f->q, &f->c), 1);
        assert_int_equal(f->c.head, head);
        assert_int_equal(virtq_push(&f->q, head, i & 3), 0);
        assert_true(fake_drv_get_used(&f->d, &id, &len));
        assert_int_equal(id, head);
        assert_int_equal(len, i & 3);
    }
    assert_int_equal(f->q.last_avail, (u16)70000);
    assert_int_equal(guest_r16(&f->m, f->d.used + 2), (u16)70000);
}

/* A full ring (idx exactly size ahead) is fine; more than size ahead is not (2.7.13). */
static void test_virtq_avail_idx(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg;

    vq_up(f, 8, 0);
    sg = (struct fake_sg){ buf(f, 4), 4 };
    for (int i = 0; i < 8; i++)
        fake_drv_add(&f->d, &sg, 0, 1);
    for (int i = 0; i < 8; i++)
        assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(virtq_pop(&f->q, &f->c), 0);
    guest_w16(&f->m, f->d.avail + 2, 8 + 9); /* nine more than the ring holds */
    expect_broken(f, VIRTQ_ERR_AVAIL_IDX);
}

static void test_virtq_bad_head_and_next(void **state)
{
    struct fixture *f = *state;

    vq_up(f, 8, 0);
    fake_drv_publish(&f->d, 8); /* head outside the table */
    expect_broken(f, VIRTQ_ERR_HEAD);

    virtq_reset(&f->q);
    vq_up(f, 8, 0);
    desc(f, 3, buf(f, 4), 4, VIRTQ_DESC_F_NEXT, 8); /* next outside the table */
    fake_drv_publish(&f->d, 3);
    expect_broken(f, VIRTQ_ERR_NEXT);

    virtq_reset(&f->q);
    vq_up(f, 8, 0);
    desc(f, 3, buf(f, 4), 4, VIRTQ_DESC_F_NEXT, 0xffff);
    fake_drv_publish(&f->d, 3);
    expect_broken(f, VIRTQ_ERR_NEXT);
}

/* Loops: more descriptors than the table holds, in the ring's table and an indirect one. */
static void test_virtq_loops(void **state)
{
    struct fixture *f = *state;
    u64 b = 0, table;

    vq_up(f, 4, 0);
    b = buf(f, 4);
    desc(f, 0, b, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(f, 1, b, 4, VIRTQ_DESC_F_NEXT, 0);
    fake_drv_publish(&f->d, 0);
    expect_broken(f, VIRTQ_ERR_LOOP);

    virtq_reset(&f->q);
    vq_up(f, 4, 0);
    desc(f, 2, b, 4, VIRTQ_DESC_F_NEXT, 2); /* a descriptor that is its own next */
    fake_drv_publish(&f->d, 2);
    expect_broken(f, VIRTQ_ERR_LOOP);

    virtq_reset(&f->q);
    vq_up(f, 4, F_INDIRECT_DESC);
    table = fake_drv_alloc(&f->d, 32, 16);
    fake_drv_desc(&f->d, table, 0, b, 4, VIRTQ_DESC_F_NEXT, 1);
    fake_drv_desc(&f->d, table, 1, b, 4, VIRTQ_DESC_F_NEXT, 0);
    desc(f, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
    fake_drv_publish(&f->d, 0);
    expect_broken(f, VIRTQ_ERR_LOOP);

    /* In a big queue a loop runs into the segment limit first: still broken, still bounded. */
    virtq_reset(&f->q);
    vq_up(f, 1024, 0);
    for (u32 i = 0; i < 1024; i++)
        desc(f, i, b, 4, VIRTQ_DESC_F_NEXT, (u16)((i + 1) % 1024));
    fake_drv_publish(&f->d, 5);
    fake_mem_clear_counts(&f->m);
    expect_broken(f, VIRTQ_ERR_TOO_MANY);
    /* the idx, the ring entry, VIRTQ_MAX_SEGS + 1 descriptors */
    assert_true(f->m.reads <= VIRTQ_MAX_SEGS + 4);
}

/* VIRTQ_MAX_SEGS buffers are fine, one more is not (2.7.4.1's "reasonable limit"). */
static void test_virtq_segment_limit(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[VIRTQ_MAX_SEGS + 1];

    vq_up(f, 1024, 0); /* room for both chains: the first is not handed back */
    for (int i = 0; i <= VIRTQ_MAX_SEGS; i++)
        sg[i] = (struct fake_sg){ buf(f, 8), 8 };
    fake_drv_add(&f->d, sg, 10, VIRTQ_MAX_SEGS - 10);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(f->c.nseg, VIRTQ_MAX_SEGS);
    fake_drv_add(&f->d, sg, 10, VIRTQ_MAX_SEGS + 1 - 10);
    expect_broken(f, VIRTQ_ERR_TOO_MANY);
}

/* Buffers outside the VM: in the hole, past the end of RAM, into "another VM", wrapping. */
static void test_virtq_buffers_outside(void **state)
{
    struct fixture *f = *state;
    static const struct {
        u64 addr;
        u32 len;
    } bad[] = {
        { HOLE, 16 },                  /* the hole between chunk 1 and chunk 2 */
        { HOLE - 8, 16 },              /* starts inside, ends in the hole */
        { FAKE_RAM2_END - 1, 2 },      /* past the end of RAM */
        { 0x60000000, 4096 },          /* where another VM's RAM might be */
        { 0, 1 },                      /* physical 0 */
        { 0xfffffffffffffff0ULL, 32 }, /* wraps past 2^64 */
        { 0xffffffffffffffffULL, 1 },  /* ends exactly at 2^64 */
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        virtq_reset(&f->q);
        vq_up(f, 8, 0);
        desc(f, 0, buf(f, 16), 16, VIRTQ_DESC_F_NEXT, 1);
        desc(f, 1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
        fake_drv_publish(&f->d, 0);
        expect_broken(f, VIRTQ_ERR_MEM);
    }
    /* A zero-length buffer touches nothing, wherever it points. */
    virtq_reset(&f->q);
    vq_up(f, 8, 0);
    desc(f, 0, 0xffffffffffffffffULL, 0, VIRTQ_DESC_F_WRITE, 0);
    fake_drv_publish(&f->d, 0);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(f->c.write_len, 0);
}

static bool check_everything(void *ctx, u64 gpa, u64 len)
{
    return true;
}

/* 2.7.5.2: a chain of 2^32 bytes or more (a VM of 2^64 bytes, to get past the memory check). */
static void test_virtq_length_overflow(void **state)
{
    struct fixture *f = *state;
    struct virtq_mem big = f->m.ops;

    big.check = check_everything;
    fake_drv_layout(&f->d, &f->m, 8, RINGS, FAKE_RAM0, FAKE_RAM01_END, 0);
    assert_int_equal(virtq_init(&f->q, &big, f->d.desc, f->d.avail, f->d.used, 8, 0), 0);
    desc(f, 0, 0x100000000ULL, 0xffffffffU, VIRTQ_DESC_F_NEXT, 1);
    desc(f, 1, 0x200000000ULL, 0, VIRTQ_DESC_F_WRITE, 0);
    fake_drv_publish(&f->d, 0);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1); /* 2^32 - 1 bytes: the most a chain may have */
    assert_int_equal(f->c.read_len, 0xffffffffU);
    desc(f, 0, 0x100000000ULL, 0x80000000U, VIRTQ_DESC_F_NEXT, 1);
    desc(f, 1, 0x200000000ULL, 0x80000000U, VIRTQ_DESC_F_WRITE, 0);
    fake_drv_publish(&f->d, 0);
    assert_int_equal(virtq_pop(&f->q, &f->c), -VIRTQ_ERR_LEN);
    assert_false(virtq_ready(&f->q));
}

/* 2.7.4.2: device-writable buffers come after the device-readable ones. */
static void test_virtq_order(void **state)
{
    struct fixture *f = *state;
    u64 b;
    u64 table;

    vq_up(f, 8, F_INDIRECT_DESC);
    b = buf(f, 8);
    desc(f, 0, b, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(f, 1, b, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(f, 2, b, 8, 0, 0);
    fake_drv_publish(&f->d, 0);
    expect_broken(f, VIRTQ_ERR_ORDER);

    virtq_reset(&f->q);
    vq_up(f, 8, F_INDIRECT_DESC);
    table = fake_drv_alloc(&f->d, 32, 16);
    fake_drv_desc(&f->d, table, 0, b, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    fake_drv_desc(&f->d, table, 1, b, 8, 0, 0);
    desc(f, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
    fake_drv_publish(&f->d, 0);
    expect_broken(f, VIRTQ_ERR_ORDER);
}

/* ---- virtqueue: indirect descriptors (2.7.5.3) ---- */

static void test_virtq_indirect(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[5];
    u64 table, b;

    vq_up(f, 8, F_INDIRECT_DESC);
    for (int i = 0; i < 5; i++)
        sg[i] = (struct fake_sg){ buf(f, 32 + i), 32 + i };
    fake_drv_add(&f->d, sg, 2, 3); /* Linux's way: one indirect table */
    assert_int_equal(f->d.num_free, 7);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(f->c.nseg, 5);
    assert_int_equal(f->c.nread, 2);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(f->c.seg[i].gpa, sg[i].gpa);
        assert_int_equal(f->c.seg[i].len, sg[i].len);
        assert_int_equal(f->c.seg[i].write, i >= 2);
    }
    /*
     * 2.7.5.3.2: ordinary descriptors, then one indirect at the end of the
     * chain; its WRITE flag is ignored.
     */
    b = buf(f, 16);
    table = fake_drv_alloc(&f->d, 48, 16);
    fake_drv_desc(&f->d, table, 0, b, 5, VIRTQ_DESC_F_NEXT, 2); /* next in table order any */
    fake_drv_desc(&f->d, table, 1, b + 8, 7, VIRTQ_DESC_F_WRITE, 0);
    fake_drv_desc(&f->d, table, 2, b, 6, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    desc(f, 4, b, 16, VIRTQ_DESC_F_NEXT, 6);
    desc(f, 6, table, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    fake_drv_publish(&f->d, 4);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(f->c.head, 4);
    assert_int_equal(f->c.nseg, 4);
    assert_int_equal(f->c.nread, 2);
    assert_int_equal(f->c.read_len, 16 + 5);
    assert_int_equal(f->c.write_len, 6 + 7);
    /* An indirect table longer than the queue: bounded by its own length (as Linux fills them). */
    {
        struct fake_sg many[20];

        for (int i = 0; i < 20; i++)
            many[i] = (struct fake_sg){ b, 1 };
        fake_drv_add(&f->d, many, 20, 0);
        assert_int_equal(virtq_pop(&f->q, &f->c), 1);
        assert_int_equal(f->c.nseg, 20);
    }
}

/*
 * An indirect table is read VIRTQ_READ_AHEAD (16) entries at a time: never
 * past its end (here the end of the VM's RAM, or the hole), across the two
 * host buffers of contiguous guest memory, and right whatever order its
 * next fields take.
 */
static void test_virtq_indirect_read_ahead(void **state)
{
    struct fixture *f = *state;
    static const struct {
        u64 end;     /* where the table ends */
        u32 entries;
    } tables[] = {
        { FAKE_RAM2_END, 37 }, { HOLE, 16 }, { HOLE, 1 }, { FAKE_RAM1 + 16 * 9, 40 },
        { FAKE_RAM2_END, VIRTQ_MAX_SEGS },
    };
    u64 b;

    vq_up(f, 8, F_INDIRECT_DESC);
    b = buf(f, 512);
    for (unsigned int t = 0; t < ARRAY_SIZE(tables); t++) {
        u32 n = tables[t].entries;
        u64 table = tables[t].end - 16 * (u64)n;
        u16 head = t & 1 ? 3 : 0; /* entry 0 of the queue's table is not entry 0 of this one */

        /* in table order, each buffer a byte longer than the last */
        for (u32 i = 0; i < n; i++)
            fake_drv_desc(&f->d, table, i, b + i, 1 + i, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
                          (u16)(i + 1));
        desc(f, head, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
        fake_drv_publish(&f->d, head);
        fake_mem_clear_counts(&f->m);
        assert_int_equal(virtq_pop(&f->q, &f->c), 1);
        assert_int_equal(f->c.nseg, n);
        for (u32 i = 0; i < n; i++) {
            assert_int_equal(f->c.seg[i].gpa, b + i);
            assert_int_equal(f->c.seg[i].len, 1 + i);
        }
        /* the idx, the ring entry, the queue's descriptor, the table in 16s */
        assert_int_equal(f->m.reads, 3 + (n + 15) / 16);
        assert_int_equal(f->m.refused + f->m.torn, 0);
        assert_int_equal(virtq_push(&f->q, head, 0), 0);
    }
    /* any order: entry 0 (2.7.5.3.2), backwards every other one from the end, then the odd ones */
    {
        u32 n = 40, order[40], k = 0;
        u64 table = fake_drv_alloc(&f->d, 16 * n, 16);

        order[k++] = 0;
        for (u32 i = n - 2; i >= 2; i -= 2)
            order[k++] = i;
        for (u32 i = 1; i < n; i += 2)
            order[k++] = i;
        for (u32 j = 0; j < n; j++)
            fake_drv_desc(&f->d, table, order[j], b + j, 1 + j,
                          j + 1 < n ? VIRTQ_DESC_F_NEXT : 0, j + 1 < n ? (u16)order[j + 1] : 0);
        desc(f, 5, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
        fake_drv_publish(&f->d, 5);
        assert_int_equal(virtq_pop(&f->q, &f->c), 1);
        assert_int_equal(f->c.nseg, n);
        for (u32 j = 0; j < n; j++) {
            assert_int_equal(f->c.seg[j].gpa, b + j);
            assert_int_equal(f->c.seg[j].len, 1 + j);
        }
        /* ... and a loop in it is still a loop */
        fake_drv_desc(&f->d, table, order[n - 1], b, 1, VIRTQ_DESC_F_NEXT, (u16)order[0]);
        fake_drv_publish(&f->d, 5);
        expect_broken(f, VIRTQ_ERR_LOOP);
    }
}

static void indirect_case(struct fixture *f, u64 features, u16 flags, u64 addr, u32 len, int err)
{
    virtq_reset(&f->q);
    vq_up(f, 8, features);
    desc(f, 1, addr, len, flags, 2);
    desc(f, 2, buf(f, 8), 8, 0, 0);
    fake_drv_publish(&f->d, 1);
    expect_broken(f, err);
}

static void test_virtq_indirect_errors(void **state)
{
    struct fixture *f = *state;
    u64 table, b;

    vq_up(f, 8, F_INDIRECT_DESC);
    table = fake_drv_alloc(&f->d, 64, 16);
    b = buf(f, 8);
    fake_drv_desc(&f->d, table, 0, b, 8, 0, 0);
    /* 2.7.5.3.1: not negotiated; with NEXT; a table length of 0 or not a multiple of 16 */
    indirect_case(f, 0, VIRTQ_DESC_F_INDIRECT, table, 16, VIRTQ_ERR_INDIRECT);
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, table, 16,
                  VIRTQ_ERR_INDIRECT);
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT, table, 0, VIRTQ_ERR_INDIRECT);
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT, table, 24, VIRTQ_ERR_INDIRECT);
    /* a table outside the VM, or running off its end */
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT, HOLE, 16, VIRTQ_ERR_MEM);
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT, HOLE - 16, 32, VIRTQ_ERR_MEM);
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT, 0xfffffffffffffff0ULL, 32,
                  VIRTQ_ERR_MEM);
    /* nested: an indirect descriptor inside a table */
    fake_drv_desc(&f->d, table, 0, table + 32, 16, VIRTQ_DESC_F_INDIRECT, 0);
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT, table, 16, VIRTQ_ERR_INDIRECT);
    /* a next past the table's end */
    fake_drv_desc(&f->d, table, 0, b, 8, VIRTQ_DESC_F_NEXT, 2);
    indirect_case(f, F_INDIRECT_DESC, VIRTQ_DESC_F_INDIRECT, table, 32, VIRTQ_ERR_NEXT);
}

/* ---- virtqueue: notification suppression (2.7.7, 2.7.10) ---- */

static void push_one(struct fixture *f)
{
    struct fake_sg sg = { FAKE_RAM0, 4 };
    u16 id;
    u32 len;

    fake_drv_add(&f->d, &sg, 0, 1);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(virtq_push(&f->q, f->c.head, 4), 0);
    assert_true(fake_drv_get_used(&f->d, &id, &len));
}

/* Without VIRTIO_F_EVENT_IDX: the available ring's flags (2.7.7.2). */
static void test_virtq_flags_suppression(void **state)
{
    struct fixture *f = *state;

    vq_up(f, 8, 0);
    push_one(f);
    assert_true(virtq_needs_notify(&f->q)); /* flags 0: MUST notify */
    guest_w16(&f->m, f->d.avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
    push_one(f);
    assert_false(virtq_needs_notify(&f->q)); /* flags 1: SHOULD NOT */
    guest_w16(&f->m, f->d.avail, 0);
    assert_false(virtq_needs_notify(&f->q)); /* nothing pushed since */
    push_one(f);
    push_one(f);
    assert_true(virtq_needs_notify(&f->q));
    /* The device never suppresses the driver's notifications without EVENT_IDX. */
    assert_int_equal(guest_r16(&f->m, f->d.used), 0);
    assert_int_equal(guest_r16(&f->m, f->d.used + 4 + 8 * 8), 0); /* avail_event untouched */
}

/* With it: used_event, and the flags' low bit ignored (2.7.7.2). */
static void test_virtq_used_event(void **state)
{
    struct fixture *f = *state;
    u64 used_event;

    vq_up(f, 16, F_EVENT_IDX);
    f->d.event_idx = false; /* the test writes used_event itself */
    used_event = f->d.avail + 4 + 2 * 16;
    guest_w16(&f->m, used_event, 3);
    guest_w16(&f->m, f->d.avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
    for (int i = 0; i < 3; i++) {
        push_one(f);
        assert_false(virtq_needs_notify(&f->q)); /* used idx 1, 2, 3 */
    }
    push_one(f);
    assert_true(virtq_needs_notify(&f->q)); /* entry 3 written: idx was used_event */
    guest_w16(&f->m, used_event, 5);
    push_one(f);
    push_one(f);
    assert_true(virtq_needs_notify(&f->q)); /* a batch across used_event */
    guest_w16(&f->m, used_event, 100);
    push_one(f);
    assert_false(virtq_needs_notify(&f->q));
    /* 65536 entries later used_event comes round again (the spec's note) */
    guest_w16(&f->m, used_event, 0);
    while (f->q.used_idx != 0) {
        push_one(f);
        assert_int_equal(virtq_needs_notify(&f->q), f->q.used_idx == 1);
    }
    push_one(f);
    assert_true(virtq_needs_notify(&f->q));
}

/* The device's side: avail_event follows what it has taken, once the ring is empty. */
static void test_virtq_avail_event(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg;
    u64 avail_event;

    vq_up(f, 16, F_EVENT_IDX);
    avail_event = f->d.used + 4 + 8 * 16;
    sg = (struct fake_sg){ buf(f, 4), 4 };
    fake_drv_add(&f->d, &sg, 0, 1);
    assert_true(fake_drv_kick_needed(&f->d));
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(virtq_pop(&f->q, &f->c), 0);
    assert_int_equal(guest_r16(&f->m, avail_event), 1);
    fake_drv_add(&f->d, &sg, 0, 1);
    assert_true(fake_drv_kick_needed(&f->d)); /* idx reached avail_event */
    fake_drv_add(&f->d, &sg, 0, 1);
    assert_false(fake_drv_kick_needed(&f->d)); /* the device has not caught up: no kick */
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(virtq_pop(&f->q, &f->c), 0);
    assert_int_equal(guest_r16(&f->m, avail_event), 3);
    assert_int_equal(f->m.writes, 1);
    fake_mem_clear_counts(&f->m);
    assert_int_equal(virtq_pop(&f->q, &f->c), 0); /* already says so: no write */
    assert_int_equal(f->m.writes, 0);
    assert_int_equal(f->m.reads, 1);
    assert_int_equal(guest_r16(&f->m, f->d.used), 0); /* flags stay 0 (2.7.10.2) */
}

/*
 * The race avail_event guards against: the driver adds a chain after the
 * device saw an empty ring but before it could see the new avail_event, so
 * the driver does not kick. The device looks again after writing it.
 */
static struct fixture *race_fixture;
static bool race_armed;

static bool racing_write(void *ctx, u64 gpa, const void *b, size_t len)
{
    struct fixture *f = race_fixture;
    struct fake_sg sg = { FAKE_RAM0, 4 };

    if (race_armed && gpa == f->d.used + 4 + 8 * (u64)f->d.num) {
        race_armed = false;
        fake_drv_add(&f->d, &sg, 0, 1); /* the other CPU, just before the store lands */
        assert_false(fake_drv_kick_needed(&f->d));
    }
    return f->m.ops.write(ctx, gpa, b, len);
}

static void test_virtq_avail_event_race(void **state)
{
    struct fixture *f = *state;
    struct virtq_mem racing = f->m.ops;
    struct fake_sg sg = { FAKE_RAM0, 4 };

    racing.write = racing_write;
    race_fixture = f;
    fake_drv_layout(&f->d, &f->m, 8, RINGS, FAKE_RAM0 + 64, FAKE_RAM01_END, F_EVENT_IDX);
    assert_int_equal(virtq_init(&f->q, &racing, f->d.desc, f->d.avail, f->d.used, 8,
                                F_EVENT_IDX),
                     0);
    fake_drv_add(&f->d, &sg, 0, 1);
    assert_true(fake_drv_kick_needed(&f->d));
    assert_int_equal(virtq_pop(&f->q, &f->c), 1);
    race_armed = true;
    assert_int_equal(virtq_pop(&f->q, &f->c), 1); /* found on the second look */
    assert_false(race_armed);
    assert_int_equal(virtq_pop(&f->q, &f->c), 0);
    assert_int_equal(guest_r16(&f->m, f->d.used + 4 + 8 * 8), 2);
}

static void test_virtq_strerror(void **state)
{
    (void)state;
    for (int e = 0; e < VIRTQ_ERR_COUNT; e++) {
        assert_non_null(virtq_strerror(e));
        assert_non_null(virtq_strerror(-e));
        assert_true(strlen(virtq_strerror(-e)) > 0);
    }
    assert_string_equal(virtq_strerror(-VIRTQ_ERR_LOOP), "descriptor chain loops");
    assert_string_equal(virtq_strerror(VIRTQ_ERR_COUNT), "unknown error");
    assert_string_equal(virtq_strerror(-1000), "unknown error");
}

/* ---- the transport ---- */

/* Linux's probe with @want, queue 0 of @num entries at RINGS, DRIVER_OK. */
static void blk_up(struct fixture *f, u64 want, u32 num)
{
    assert_true(fake_drv_negotiate(&f->d, &f->t, &f->m, want));
    assert_true(fake_drv_setup_queue(&f->d, 0, num, RINGS, FAKE_RAM0, FAKE_RAM01_END));
    assert_int_equal(rd(f, R_QueueReady), 1);
    fake_drv_driver_ok(&f->d);
    assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

static void expect_needs_reset(struct fixture *f, int err)
{
    expect_mmio_needs_reset(&f->t, &f->ev, &f->m, err);
}

static void test_mmio_identity(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, R_MagicValue), 0x74726976);
    assert_int_equal(rd(f, R_Version), 2);
    assert_int_equal(rd(f, R_DeviceID), 2);
    assert_int_equal(rd(f, R_VendorID), 0x4c45454b);
    assert_memory_equal(&(u32){ rd(f, R_VendorID) }, "KEEL", 4); /* on a little-endian host */
    assert_int_equal(rd(f, R_QueueNumMax), VIRTIO_BLK_QUEUE_SIZE);
    assert_int_equal(rd(f, R_QueueReady), 0);
    assert_int_equal(rd(f, R_Status), 0);
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_int_equal(rd(f, R_ConfigGeneration), 0);
    /* 4.2.2: no shared memory region: length -1, base all ones */
    wr(f, R_SHMSel, 0);
    assert_int_equal(rd(f, R_SHMLenLow), 0xffffffff);
    assert_int_equal(rd(f, R_SHMLenHigh), 0xffffffff);
    assert_int_equal(rd(f, R_SHMBaseLow), 0xffffffff);
    assert_int_equal(rd(f, R_SHMBaseHigh), 0xffffffff);
    assert_int_equal(rd(f, R_QueueReset), 0);
    /* write-only registers read as 0; read-only ones ignore writes */
    wr(f, R_DeviceFeaturesSel, 1);
    wr(f, R_QueueSel, 0);
    wr(f, R_QueueNum, 16);
    assert_int_equal(rd(f, R_DeviceFeaturesSel), 0);
    assert_int_equal(rd(f, R_QueueNum), 0);
    assert_int_equal(rd(f, R_QueueNotify), 0);
    assert_int_equal(rd(f, R_InterruptACK), 0);
    wr(f, R_MagicValue, 0);
    wr(f, R_DeviceID, 7);
    wr(f, R_QueueNumMax, 7);
    wr(f, R_InterruptStatus, 3);
    wr(f, R_ConfigGeneration, 9);
    assert_int_equal(rd(f, R_MagicValue), 0x74726976);
    assert_int_equal(rd(f, R_DeviceID), 2);
    assert_int_equal(rd(f, R_QueueNumMax), VIRTIO_BLK_QUEUE_SIZE);
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_int_equal(rd(f, R_ConfigGeneration), 0);
    /* offsets no register occupies */
    for (u64 off = 0x0c4; off < 0x0fc; off += 4)
        assert_int_equal(rd(f, off), 0);
    assert_int_equal(f->ev.nirq, 0);
}

/* An unused slot, as QEMU's: magic, version and vendor; DeviceID 0, so Linux skips it. */
static void test_mmio_empty_slot(void **state)
{
    struct fixture *f = *state;
    u64 v;

    assert_int_equal(
        virtio_mmio_init(&f->t, NULL, NULL, NULL, rec_irq, mmio_events_err, &f->ev), 0);
    for (u64 off = 0; off < VIRTIO_MMIO_SIZE; off += 4) {
        u32 want = off == R_MagicValue ? 0x74726976 : off == R_Version ? 2 :
                   off == R_VendorID ? 0x4c45454b : 0;

        wr(f, off, 0xffffffff);
        assert_int_equal(rd(f, off), want);
        /* the stateless empty slot a VM's window uses answers the same */
        assert_int_equal(virtio_mmio_empty_write(off, 4), 0);
        assert_int_equal(virtio_mmio_empty_read(off, 4, &v), 0);
        assert_int_equal(v, want);
    }
    assert_int_equal(virtio_mmio_empty_read(R_Config + 3, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(virtio_mmio_empty_read(R_MagicValue, 1, &v), -1);
    assert_int_equal(virtio_mmio_empty_write(R_Status, 8), -1);
    assert_int_equal(virtio_mmio_empty_read(VIRTIO_MMIO_SIZE, 4, &v), -1);
    assert_int_equal(virtio_mmio_read(&f->t, R_Config + 3, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(virtio_mmio_read(&f->t, R_Status, 2, &v), -1); /* the same access rules */
    assert_int_equal(virtio_mmio_read(&f->t, VIRTIO_MMIO_SIZE, 4, &v), -1);
    assert_null(virtio_mmio_queue(&f->t, 0));
    assert_false(virtio_mmio_live(&f->t));
    virtio_mmio_config_changed(&f->t);
    virtio_mmio_device_error(&f->t, 0, -VIRTQ_ERR_MEM);
    virtio_mmio_used(&f->t, 0);
    virtio_mmio_reset(&f->t);
    assert_int_equal(rd(f, R_Status), 0);
    assert_int_equal(rd(f, R_ConfigGeneration), 0);
    assert_int_equal(f->ev.nirq + f->ev.nerr, 0);
    assert_int_equal(f->m.reads + f->m.writes + f->m.checks, 0);
}

static u64 fake_features(void *dev)
{
    return 0;
}

static void test_mmio_init_refuses(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev_ops ops;
    static const struct {
        size_t off;
        u32 value;
    } bad[] = {
        { offsetof(struct virtio_dev_ops, device_id), 0 },
        { offsetof(struct virtio_dev_ops, num_queues), 0 },
        { offsetof(struct virtio_dev_ops, num_queues), VIRTIO_MMIO_MAX_QUEUES + 1 },
        { offsetof(struct virtio_dev_ops, queue_num_max), 0 },
        { offsetof(struct virtio_dev_ops, queue_num_max), 3 },
        { offsetof(struct virtio_dev_ops, queue_num_max), 65536 },
        { offsetof(struct virtio_dev_ops, config_size), VIRTIO_MMIO_CONFIG_MAX + 1 },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        ops = virtio_blk_ops;
        if (bad[i].off == offsetof(struct virtio_dev_ops, num_queues))
            ops.num_queues = bad[i].value;
        else
            memcpy((u8 *)&ops + bad[i].off, &bad[i].value, sizeof(u32));
        assert_int_equal(virtio_mmio_init(&f->t, &ops, &f->blk, &f->m.ops, rec_irq,
                                          mmio_events_err, &f->ev),
                         -1);
        assert_null(f->t.ops); /* left an empty slot */
        assert_int_equal(rd(f, R_DeviceID), 0);
    }
    ops = virtio_blk_ops;
    ops.features = NULL;
    assert_int_equal(virtio_mmio_init(&f->t, &ops, &f->blk, &f->m.ops, NULL, NULL, NULL), -1);
    assert_int_equal(virtio_mmio_init(&f->t, &virtio_blk_ops, &f->blk, NULL, NULL, NULL, NULL),
                     -1);
    ops = virtio_blk_ops;
    ops.features = fake_features;
    ops.queue_num_max = 1;
    ops.config_size = VIRTIO_MMIO_CONFIG_MAX;
    ops.num_queues = VIRTIO_MMIO_MAX_QUEUES;
    assert_int_equal(virtio_mmio_init(&f->t, &ops, &f->blk, &f->m.ops, NULL, NULL, NULL), 0);
    assert_int_equal(mmio_features_offered(&f->t), F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX);
    wr(f, R_QueueSel, VIRTIO_MMIO_MAX_QUEUES - 1);
    assert_int_equal(rd(f, R_QueueNumMax), 1);
    wr(f, R_QueueSel, VIRTIO_MMIO_MAX_QUEUES);
    assert_int_equal(rd(f, R_QueueNumMax), 0);
}

/* 4.2.2.2: registers 32-bit aligned; the configuration space 8/16/32-bit aligned. */
static void test_mmio_access_rules(void **state)
{
    struct fixture *f = *state;
    static const struct {
        u64 off;
        unsigned int size;
        bool ok;
    } cases[] = {
        { R_Status, 4, true },          { R_Status, 1, false },         { R_Status, 2, false },
        { R_Status, 8, false },         { R_Status + 1, 4, false },     { R_Status + 2, 4, false },
        { 0, 0, false },                { 0, 3, false },                { 0xfc, 4, true },
        { R_Config, 1, true },          { R_Config + 1, 1, true },      { R_Config + 2, 2, true },
        { R_Config + 1, 2, false },     { R_Config + 4, 4, true },      { R_Config + 2, 4, false },
        { R_Config, 8, false },         { R_Config + 0xff, 1, true },   { R_Config + 0xfc, 4, true },
        { VIRTIO_MMIO_SIZE, 1, false }, { VIRTIO_MMIO_SIZE, 4, false }, { ~0ULL, 1, false },
        { 0x1000, 4, false },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        u64 v = 0x5a5a5a5a5a5a5a5aULL;
        int rc = virtio_mmio_read(&f->t, cases[i].off, cases[i].size, &v);

        assert_int_equal(rc, cases[i].ok ? 0 : -1);
        if (rc)
            assert_true(v == 0x5a5a5a5a5a5a5a5aULL); /* a refused read writes nothing */
        else
            assert_true(v < (1ULL << (8 * cases[i].size)));
        assert_int_equal(virtio_mmio_write(&f->t, cases[i].off, cases[i].size, 0),
                         cases[i].ok ? 0 : -1);
    }
}

static void test_mmio_features(void **state)
{
    struct fixture *f = *state;
    u64 base = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | BLK_F_SEG_MAX | BLK_F_BLK_SIZE |
               BLK_F_FLUSH;

    assert_int_equal(mmio_features_offered(&f->t), base);
    wr(f, R_DeviceFeaturesSel, 2);
    assert_int_equal(rd(f, R_DeviceFeatures), 0);
    wr(f, R_DeviceFeaturesSel, 0xffffffff);
    assert_int_equal(rd(f, R_DeviceFeatures), 0);
    make_blk(f, true);
    assert_int_equal(mmio_features_offered(&f->t), base | BLK_F_RO);
}

/* FEATURES_OK only for a subset of the offer with VERSION_1 (2.2.2, 6.1); bits only ever added. */
static void test_mmio_feature_negotiation(void **state)
{
    struct fixture *f = *state;
    static const u64 refused[] = {
        F_INDIRECT_DESC | BLK_F_FLUSH,     /* no VIRTIO_F_VERSION_1: a legacy driver */
        F_VERSION_1 | 1,                   /* bit 0, VIRTIO_BLK_F_BARRIER: never offered */
        F_VERSION_1 | BLK_F_RO,            /* the disk is writable: F_RO not offered */
        F_VERSION_1 | (1ULL << 34),        /* VIRTIO_F_RING_PACKED */
        F_VERSION_1 | (1ULL << 40),        /* VIRTIO_F_RING_RESET */
        F_VERSION_1 | (1ULL << 63),
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(refused); i++) {
        wr(f, R_Status, 0);
        wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER);
        mmio_set_features(&f->t, refused[i]);
        wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
        assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER);
        wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
        assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER); /* no DRIVER_OK either */
    }
    /* A word above 1 with a bit set: nothing is offered there (sticky until reset). */
    wr(f, R_Status, 0);
    mmio_set_features(&f->t, F_VERSION_1);
    wr(f, R_DriverFeaturesSel, 2);
    wr(f, R_DriverFeatures, 1);
    wr(f, R_DriverFeatures, 0);
    wr(f, R_Status, S_FEATURES_OK);
    assert_int_equal(rd(f, R_Status), 0);
    /* A valid subset: accepted, then frozen (2.2: renegotiation only by reset). */
    wr(f, R_Status, 0);
    mmio_set_features(&f->t, F_VERSION_1 | F_EVENT_IDX | BLK_F_FLUSH);
    wr(f, R_Status, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    mmio_set_features(&f->t, F_VERSION_1);
    assert_int_equal(virtio_mmio_features(&f->t), F_VERSION_1 | F_EVENT_IDX | BLK_F_FLUSH);
    /* The driver cannot clear bits, nor set DEVICE_NEEDS_RESET; FAILED it can. */
    wr(f, R_Status, S_ACKNOWLEDGE);
    assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    wr(f, R_Status, S_DEVICE_NEEDS_RESET | 0x30);
    assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    wr(f, R_Status, S_FAILED);
    assert_int_equal(rd(f, R_Status), S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_FAILED);
    /* 0 resets everything (2.4, 4.2.2.1). */
    wr(f, R_QueueSel, 0);
    wr(f, R_Status, 0);
    assert_int_equal(rd(f, R_Status), 0);
    assert_int_equal(virtio_mmio_features(&f->t), 0);
    assert_int_equal(f->t.queue_sel, 0);
    assert_int_equal(f->ev.nerr, 0);
}

static void test_mmio_queue_setup(void **state)
{
    struct fixture *f = *state;

    /* QueueReady before FEATURES_OK: ignored, 3.1.1's order. */
    wr(f, R_QueueSel, 0);
    wr(f, R_QueueNum, 8);
    wr(f, R_QueueDescLow, (u32)RINGS);
    wr(f, R_QueueDriverLow, (u32)RINGS + 0x1000);
    wr(f, R_QueueDeviceLow, (u32)RINGS + 0x2000);
    wr(f, R_QueueReady, 1);
    assert_int_equal(rd(f, R_QueueReady), 0);
    assert_int_equal(f->ev.nerr, 0);
    /* Linux's way */
    blk_up(f, LINUX_BLK_FEATURES, 128);
    assert_int_equal(f->t.queue[0].num, 128);
    assert_int_equal(f->t.queue[0].desc, RINGS);
    assert_int_equal(f->t.queue[0].driver, RINGS + 16 * 128);
    assert_int_equal(f->t.queue[0].device, RINGS + 0x1000);
    assert_true(virtq_ready(virtio_mmio_queue(&f->t, 0)));
    /* 4.2.2.2: no QueueNum or area writes while ready; they are ignored */
    wr(f, R_QueueNum, 4);
    wr(f, R_QueueDescLow, 0);
    wr(f, R_QueueDeviceHigh, 1);
    assert_int_equal(f->t.queue[0].num, 128);
    assert_int_equal(f->t.queue[0].desc, RINGS);
    assert_int_equal(f->t.queue[0].device, RINGS + 0x1000);
    wr(f, R_QueueReady, 1); /* again: nothing changes */
    assert_int_equal(rd(f, R_QueueReady), 1);
    /* a queue the device lacks */
    wr(f, R_QueueSel, 1);
    assert_int_equal(rd(f, R_QueueNumMax), 0);
    assert_int_equal(rd(f, R_QueueReady), 0);
    wr(f, R_QueueReady, 1);
    wr(f, R_QueueNum, 8);
    assert_int_equal(rd(f, R_QueueReady), 0);
    wr(f, R_QueueSel, 0xffffffff);
    assert_int_equal(rd(f, R_QueueNumMax), 0);
    /* QueueReady 0 stops the queue, and reads back 0 (4.2.2.2) */
    wr(f, R_QueueSel, 0);
    wr(f, R_QueueReady, 0);
    assert_int_equal(rd(f, R_QueueReady), 0);
    assert_false(virtq_ready(virtio_mmio_queue(&f->t, 0)));
    /* a driver that never writes QueueNum gets QueueNumMax */
    wr(f, R_Status, 0);
    assert_int_equal(f->t.queue[0].num, VIRTIO_BLK_QUEUE_SIZE);
    assert_int_equal(f->ev.nerr, 0);
}

struct bad_queue {
    u32 num;
    u64 desc, driver, device;
    int err;
};

/* "Unaligned or oversized queues": the queue stays off, the device needs a reset. */
static void test_mmio_bad_queues(void **state)
{
    struct fixture *f = *state;
    static const struct bad_queue cases[] = {
        { 0, RINGS, RINGS + 0x1000, RINGS + 0x2000, VIRTQ_ERR_SIZE },
        { 100, RINGS, RINGS + 0x1000, RINGS + 0x2000, VIRTQ_ERR_SIZE },
        { 512, RINGS, RINGS + 0x2000, RINGS + 0x4000, VIRTQ_ERR_SIZE }, /* > QueueNumMax */
        { 65536, RINGS, RINGS + 0x2000, RINGS + 0x4000, VIRTQ_ERR_SIZE },
        { 0x80000000U, RINGS, RINGS + 0x2000, RINGS + 0x4000, VIRTQ_ERR_SIZE },
        { 8, RINGS + 8, RINGS + 0x1000, RINGS + 0x2000, VIRTQ_ERR_ALIGN },
        { 8, RINGS, RINGS + 0x1001, RINGS + 0x2000, VIRTQ_ERR_ALIGN },
        { 8, RINGS, RINGS + 0x1000, RINGS + 0x2002, VIRTQ_ERR_ALIGN },
        { 8, HOLE, RINGS + 0x1000, RINGS + 0x2000, VIRTQ_ERR_MEM },
        { 8, RINGS, 0x1000000000ULL, RINGS + 0x2000, VIRTQ_ERR_MEM },
        { 8, RINGS, RINGS + 0x1000, FAKE_RAM2_END - 8, VIRTQ_ERR_MEM },
        { 8, RINGS, RINGS, RINGS + 0x2000, VIRTQ_ERR_OVERLAP },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct bad_queue *c = &cases[i];

        f->ev.nerr = 0;
        assert_true(fake_drv_negotiate(&f->d, &f->t, &f->m, LINUX_BLK_FEATURES));
        wr(f, R_QueueSel, 0);
        wr(f, R_QueueNum, c->num);
        wr(f, R_QueueDescLow, (u32)c->desc);
        wr(f, R_QueueDescHigh, (u32)(c->desc >> 32));
        wr(f, R_QueueDriverLow, (u32)c->driver);
        wr(f, R_QueueDriverHigh, (u32)(c->driver >> 32));
        wr(f, R_QueueDeviceLow, (u32)c->device);
        wr(f, R_QueueDeviceHigh, (u32)(c->device >> 32));
        wr(f, R_QueueReady, 1);
        assert_int_equal(rd(f, R_QueueReady), 0);
        expect_needs_reset(f, c->err);
        assert_int_equal(f->ev.last_err_queue, 0);
        assert_int_equal(rd(f, R_InterruptStatus), 0); /* no notification before DRIVER_OK */
        fake_drv_driver_ok(&f->d);
        assert_false(virtio_mmio_live(&f->t));
        wr(f, R_QueueNotify, 0);
        assert_int_equal(f->m.reads + f->m.writes, 0); /* never touched the queue */
    }
    assert_int_equal(f->ev.nirq, 0);
}

/* A broken chain once running: DEVICE_NEEDS_RESET and a configuration change interrupt (2.1.2). */
static void test_mmio_needs_reset_interrupt(void **state)
{
    struct fixture *f = *state;
    u8 data[512];

    blk_up(f, LINUX_BLK_FEATURES, 16);
    fake_drv_desc(&f->d, f->d.desc, 0, FAKE_RAM0, 16, VIRTQ_DESC_F_NEXT, 0); /* loops */
    fake_drv_publish(&f->d, 0);
    fake_drv_kick(&f->d);
    expect_needs_reset(f, VIRTQ_ERR_LOOP);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(f->ev.nirq, 1);
    assert_true(f->irq[0]);
    /* the device stops: further notifications are ignored, nothing touched */
    fake_mem_clear_counts(&f->m);
    for (int i = 0; i < 100; i++)
        fake_drv_kick(&f->d);
    assert_int_equal(f->m.reads + f->m.writes, 0);
    virtio_mmio_device_error(&f->t, 0, -VIRTQ_ERR_MEM); /* already: reported once */
    assert_int_equal(f->ev.nerr, 1);
    /* the driver's way out: reset and probe again */
    fake_drv_interrupt(&f->d);
    assert_int_equal(f->ev.nirq, 2);
    assert_false(f->irq[1]);
    fake_drv_free(&f->d);
    blk_up(f, LINUX_BLK_FEATURES, 16);
    assert_true(fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, sizeof(data), 1).completed);
    assert_memory_equal(data, f->disk, sizeof(data));
}

static void test_mmio_interrupt_line(void **state)
{
    struct fixture *f = *state;
    u8 data[512];

    blk_up(f, F_VERSION_1, 16);
    assert_int_equal(fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, 512, 1).status,
                     VIRTIO_BLK_S_OK);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(f->ev.nirq, 1);
    assert_true(f->irq[0]);
    wr(f, R_InterruptACK, VIRTIO_MMIO_INT_CONFIG | 0xfc); /* not the pending bit: no change */
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(f->ev.nirq, 1);
    fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, 512, 1); /* again: already high, no call */
    assert_int_equal(f->ev.nirq, 1);
    wr(f, R_InterruptACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_int_equal(f->ev.nirq, 2);
    assert_false(f->irq[1]);
    /* a guest reset with the line high drops it through irq() */
    fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, 512, 1);
    assert_int_equal(f->ev.nirq, 3);
    wr(f, R_Status, 0);
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_int_equal(f->ev.nirq, 4);
    assert_false(f->irq[3]);
    /* virtio_mmio_reset() (the VM's reset) does not call irq() */
    fake_drv_free(&f->d);
    blk_up(f, F_VERSION_1, 16);
    fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, 512, 1);
    assert_int_equal(f->ev.nirq, 5);
    virtio_mmio_reset(&f->t);
    assert_int_equal(f->ev.nirq, 5);
    assert_int_equal(rd(f, R_Status), 0);
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_false(f->t.line);
}

/* 2.1.2: nothing consumed before DRIVER_OK; what was made available is taken at DRIVER_OK. */
static void test_mmio_notify_before_driver_ok(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[3];
    u16 id;
    u32 len;

    assert_true(fake_drv_negotiate(&f->d, &f->t, &f->m, LINUX_BLK_FEATURES));
    assert_true(fake_drv_setup_queue(&f->d, 0, 16, RINGS, FAKE_RAM0, FAKE_RAM01_END));
    sg[0] = (struct fake_sg){ fake_drv_alloc(&f->d, 16, 16), 16 };
    sg[1] = (struct fake_sg){ fake_drv_alloc(&f->d, 512, 8), 512 };
    sg[2] = (struct fake_sg){ fake_drv_alloc(&f->d, 1, 1), 1 };
    guest_w32(&f->m, sg[0].gpa, VIRTIO_BLK_T_IN);
    fake_drv_add(&f->d, sg, 1, 2);
    fake_drv_kick(&f->d);
    assert_int_equal(f->backing_reads, 0);
    assert_false(fake_drv_get_used(&f->d, &id, &len));
    fake_drv_driver_ok(&f->d);
    assert_int_equal(f->backing_reads, 1);
    assert_true(fake_drv_get_used(&f->d, &id, &len));
    assert_int_equal(len, 513);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
}

/*
 * A driver that did not zero the used ring: avail_event holds garbage that
 * would keep it from ever notifying. The device writes it when it first
 * finds the ring empty, which DRIVER_OK makes happen before any request.
 */
static void test_mmio_unzeroed_used_ring(void **state)
{
    struct fixture *f = *state;
    u8 data[512];

    assert_true(fake_drv_negotiate(&f->d, &f->t, &f->m, LINUX_BLK_FEATURES));
    assert_true(fake_drv_setup_queue(&f->d, 0, 16, RINGS, FAKE_RAM0, FAKE_RAM01_END));
    guest_w16(&f->m, f->d.used + 4 + 8 * 16, 0x1234);
    fake_drv_driver_ok(&f->d);
    assert_int_equal(guest_r16(&f->m, f->d.used + 4 + 8 * 16), 0);
    assert_int_equal(fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 1, data, 512, 1).status,
                     VIRTIO_BLK_S_OK);
    assert_int_equal(f->d.kicks, 1);
}

/* "Notifications in a storm": each costs one read of the available idx, nothing more. */
static void test_mmio_notification_storm(void **state)
{
    struct fixture *f = *state;
    u8 data[512];

    blk_up(f, LINUX_BLK_FEATURES, 256);
    fake_mem_clear_counts(&f->m);
    for (int i = 0; i < 100000; i++)
        wr(f, R_QueueNotify, 0);
    assert_int_equal(f->m.reads, 100000);
    assert_int_equal(f->m.writes, 0);
    for (u32 q = 1; q < 1000; q++)
        wr(f, R_QueueNotify, q * 4099); /* no such queue: nothing at all */
    assert_int_equal(f->m.reads, 100000);
    assert_int_equal(rd(f, R_InterruptStatus), 0);
    assert_int_equal(f->ev.nirq + f->ev.nerr, 0);
    assert_int_equal(fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 3, data, 512, 1).status,
                     VIRTIO_BLK_S_OK);
    assert_memory_equal(data, f->disk + 3 * 512, 512);
}

static void test_mmio_config_changed(void **state)
{
    struct fixture *f = *state;

    virtio_mmio_config_changed(&f->t);
    assert_int_equal(rd(f, R_ConfigGeneration), 1);
    assert_int_equal(rd(f, R_InterruptStatus), 0); /* not before DRIVER_OK */
    blk_up(f, LINUX_BLK_FEATURES, 16);
    virtio_mmio_config_changed(&f->t);
    assert_int_equal(rd(f, R_ConfigGeneration), 2);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(fake_drv_interrupt(&f->d), VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(f->ev.nirq, 2);
}

/* ---- virtio-blk ---- */

/* 5.2.4, read with the widths 4.2.2.2 prescribes, before FEATURES_OK (2.5.2). */
static void test_blk_config(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(cfg_rd(f, 0, 4), DISK_SECTORS);        /* capacity, low half */
    assert_int_equal(cfg_rd(f, 4, 4), 0);                   /* capacity, high half */
    assert_int_equal(cfg_rd(f, 12, 4), VIRTQ_MAX_SEGS - 2); /* seg_max */
    assert_int_equal(cfg_rd(f, 20, 4), 512);                /* blk_size */
    assert_int_equal(cfg_rd(f, 34, 2), 1);                  /* num_queues */
    assert_int_equal(cfg_rd(f, 1, 1), DISK_SECTORS >> 8);
    assert_int_equal(cfg_rd(f, 0, 2), DISK_SECTORS & 0xffff);
    assert_int_equal(cfg_rd(f, 8, 4), 0);  /* size_max: F_SIZE_MAX not offered */
    assert_int_equal(cfg_rd(f, 32, 1), 0); /* writeback */
    /* unused0 (5.2.5.2: the device MUST initialize it to 0) */
    assert_int_equal(cfg_rd(f, 33, 1), 0);
    assert_int_equal(cfg_rd(f, 56, 4), 0); /* write_zeroes_may_unmap, unused1 */
    for (u64 off = VIRTIO_BLK_CONFIG_SIZE; off < VIRTIO_MMIO_CONFIG_MAX; off += 4)
        assert_int_equal(cfg_rd(f, off, 4), 0); /* past the space */
    /* nothing is writable */
    assert_int_equal(virtio_mmio_write(&f->t, R_Config, 4, 7), 0);
    assert_int_equal(virtio_mmio_write(&f->t, R_Config + 32, 1, 1), 0);
    assert_int_equal(cfg_rd(f, 0, 4), DISK_SECTORS);
    assert_int_equal(cfg_rd(f, 32, 1), 0);
    assert_int_equal(rd(f, R_ConfigGeneration), 0);
}

static void fill_pattern(u8 *p, size_t len, unsigned int seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (u8)(i * 31 + seed * 17 + (i >> 9));
}

/* IN and OUT round trips, data cut in 1 to seg_max buffers, direct and indirect, across chunks. */
static void test_blk_read_write(void **state)
{
    struct fixture *f = *state;
    static u8 data[254 * 512], back[254 * 512];
    struct fake_blk_result r;
    static const struct {
        u64 sector;
        u32 len;
        unsigned int nseg;
    } cases[] = {
        { 0, 512, 1 },    { 1, 1024, 2 },    { 10, 4096, 1 },    { 17, 4096 + 512, 3 },
        { 100, 31744, 62 }, { 200, 65536, 62 }, { 2047, 512, 1 }, { 1900, 65536, 7 },
        { 300, 65536, 128 }, { 1000, 254 * 512, 254 }, { 1794, 254 * 512, 127 },
    };

    blk_up(f, LINUX_BLK_FEATURES, 256);
    for (int indirect = 0; indirect < 2; indirect++) {
        f->d.use_indirect = indirect;
        for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
            u64 sector = cases[i].sector;
            u32 len = cases[i].len;

            f->d.heap = f->d.heap_lo = FAKE_RAM1 - 1000 - 333 * i; /* data crosses chunks */
            r = fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, sector, back, len, cases[i].nseg);
            assert_true(r.completed);
            assert_int_equal(r.status, VIRTIO_BLK_S_OK);
            assert_int_equal(r.used_len, len + 1);
            assert_memory_equal(back, f->disk + sector * 512, len);
            fill_pattern(data, len, i + 10 * indirect);
            r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, sector, data, len, cases[i].nseg);
            assert_int_equal(r.status, VIRTIO_BLK_S_OK);
            assert_int_equal(r.used_len, 1);
            assert_memory_equal(f->disk + sector * 512, data, len);
            r = fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, sector, back, len, cases[i].nseg);
            assert_memory_equal(back, data, len);
        }
    }
    assert_true(f->m.crossings > 0);
    assert_int_equal(f->m.refused + f->m.torn + f->m.forbidden_writes, 0);
    assert_int_equal(f->blk.stats.requests, 3 * 2 * ARRAY_SIZE(cases));
    assert_int_equal(f->blk.stats.errors + f->blk.stats.bad_chains, 0);
    assert_int_equal(f->backing_flushes, 0); /* F_FLUSH negotiated: writes are not flushed */
}

static void test_blk_counters(void **state)
{
    struct fixture *f = *state;
    u8 data[4096];

    blk_up(f, LINUX_BLK_FEATURES, 16);
    fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, 4096, 2);
    fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, 8, data, 1024, 1);
    fake_blk_rw(&f->d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
    fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, DISK_SECTORS, data, 512, 1);   /* IOERR */
    fake_blk_rw(&f->d, VIRTIO_BLK_T_DISCARD, 0, data, 16, 1);          /* UNSUPP */
    fake_blk_rw(&f->d, VIRTIO_BLK_T_GET_ID, 0, data, 20, 1);
    assert_int_equal(f->blk.stats.requests, 6);
    assert_int_equal(f->blk.stats.read_bytes, 4096);
    assert_int_equal(f->blk.stats.write_bytes, 1024);
    assert_int_equal(f->blk.stats.flushes, 1);
    assert_int_equal(f->blk.stats.errors, 2);
    assert_int_equal(f->blk.stats.bad_chains, 0);
    /* a reset keeps them: they are the device's life, for the shell */
    wr(f, R_Status, 0);
    assert_int_equal(f->blk.stats.requests, 6);
}

static void test_blk_flush(void **state)
{
    struct fixture *f = *state;
    struct fake_blk_result r;

    blk_up(f, LINUX_BLK_FEATURES, 16);
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.used_len, 1);
    assert_int_equal(f->backing_flushes, 1);
    f->fail_flush = true;
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(f->blk.stats.errors, 1);
}

/* 5.2.6.2: F_FLUSH offered but not negotiated: each write is stable when it completes. */
static void test_blk_write_through_without_flush(void **state)
{
    struct fixture *f = *state;
    u8 data[1024] = { 1, 2, 3 };
    struct fake_blk_result r;

    blk_up(f, F_VERSION_1 | F_INDIRECT_DESC, 16);
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, 5, data, sizeof(data), 2);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(f->backing_writes, 1);
    assert_int_equal(f->backing_flushes, 1);
    f->fail_flush = true;
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, 5, data, sizeof(data), 2);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    /* reads are not flushed */
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 5, data, sizeof(data), 2);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(f->backing_flushes, 2);
}

static void test_blk_get_id(void **state)
{
    struct fixture *f = *state;
    u8 id[32];
    struct fake_blk_result r;
    u8 want[20] = DISK_ID;

    blk_up(f, LINUX_BLK_FEATURES, 16);
    memset(id, 0xaa, sizeof(id));
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_GET_ID, 0, id, 20, 1);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.used_len, 21);
    assert_memory_equal(id, want, 20); /* NUL-padded */
    /* a shorter buffer gets what fits */
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_GET_ID, 0, id, 8, 1);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.used_len, 9);
    assert_memory_equal(id, DISK_ID, 8);
    /* a longer one: 20 bytes, and the used length stops at the gap before the status */
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_GET_ID, 0, id, 32, 2);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.used_len, 20);
    assert_memory_equal(id, want, 20);
    assert_int_equal(id[20], 0xee); /* untouched */
    /* an id of exactly 20 characters has no terminator */
    f->blk.backing.id = "0123456789abcdefghijKLMN";
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_GET_ID, 0, id, 20, 1);
    assert_memory_equal(id, "0123456789abcdefghij", 20);
    f->blk.backing.id = NULL;
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_GET_ID, 0, id, 20, 1);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    memset(want, 0, sizeof(want));
    assert_memory_equal(id, want, 20);
}

static void test_blk_unsupported(void **state)
{
    struct fixture *f = *state;
    static const u32 types[] = {
        2, 3, 5, /* legacy SCSI and FLUSH_OUT */
        VIRTIO_BLK_T_GET_LIFETIME, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
        VIRTIO_BLK_T_SECURE_ERASE, 15, 16, 0x80000000U, 0xffffffffU,
    };
    u8 data[512];

    blk_up(f, LINUX_BLK_FEATURES, 16);
    for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
        struct fake_blk_result r = fake_blk_rw(&f->d, types[i], 0, data, sizeof(data), 1);

        assert_int_equal(r.status, VIRTIO_BLK_S_UNSUPP);
        assert_int_equal(r.used_len, 1); /* data device-readable: the status is all */
        r = fake_blk_rw(&f->d, types[i], 0, NULL, 0, 0);
        assert_int_equal(r.status, VIRTIO_BLK_S_UNSUPP);
        assert_int_equal(r.used_len, 1);
    }
    /* with device-writable data (GET_LIFETIME's shape): the status is written, not the data */
    {
        struct fake_sg sg[3];
        u8 got[64];
        u64 d;

        sg[0] = (struct fake_sg){ fake_drv_alloc(&f->d, 16, 16), 16 };
        guest_w32(&f->m, sg[0].gpa, VIRTIO_BLK_T_GET_LIFETIME);
        d = fake_drv_alloc(&f->d, 64, 8);
        guest_fill(&f->m, d, 0xee, 64);
        sg[1] = (struct fake_sg){ d, 64 };
        sg[2] = (struct fake_sg){ fake_drv_alloc(&f->d, 1, 1), 1 };
        fake_drv_add(&f->d, sg, 1, 2);
        fake_drv_kick(&f->d);
        assert_true(fake_drv_get_used(&f->d, &(u16){ 0 }, &(u32){ 0 }));
        assert_int_equal(f->m.chunk[0].host[sg[2].gpa - FAKE_RAM0], VIRTIO_BLK_S_UNSUPP);
        guest_read(&f->m, d, got, 64);
        for (int i = 0; i < 64; i++)
            assert_int_equal(got[i], 0xee);
    }
    assert_int_equal(f->backing_reads + f->backing_writes + f->backing_flushes, 0);
}

/* 5.2.6.1: whole sectors inside the capacity, or VIRTIO_BLK_S_IOERR. */
static void test_blk_out_of_range(void **state)
{
    struct fixture *f = *state;
    static u8 data[2048];
    static const struct {
        u64 sector;
        u32 len;
        u8 status;
    } cases[] = {
        { DISK_SECTORS, 512, VIRTIO_BLK_S_IOERR },
        { DISK_SECTORS - 1, 1024, VIRTIO_BLK_S_IOERR },
        { DISK_SECTORS - 1, 512, VIRTIO_BLK_S_OK },
        { DISK_SECTORS - 4, 2048, VIRTIO_BLK_S_OK },
        { ~0ULL, 512, VIRTIO_BLK_S_IOERR },        /* sector + count wraps */
        { 1ULL << 55, 512, VIRTIO_BLK_S_IOERR },   /* sector * 512 wraps */
        { 0, 100, VIRTIO_BLK_S_IOERR },            /* not whole sectors */
        { 0, 513, VIRTIO_BLK_S_IOERR },
        { DISK_SECTORS, 0, VIRTIO_BLK_S_OK },      /* nothing, at the end: fine */
    };

    blk_up(f, LINUX_BLK_FEATURES, 16);
    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        struct fake_blk_result r;

        r = fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, cases[i].sector, data, cases[i].len,
                        cases[i].len ? 1 : 0);
        assert_int_equal(r.status, cases[i].status);
        assert_int_equal(r.used_len, r.status ? 0 : cases[i].len + 1);
        if (!cases[i].len)
            assert_int_equal(r.used_len, 1);
        r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, cases[i].sector, data, cases[i].len,
                        cases[i].len ? 1 : 0);
        assert_int_equal(r.status, cases[i].status);
        assert_int_equal(r.used_len, 1);
    }
    /* the backing saw only the requests that were in range */
    assert_int_equal(f->backing_reads, 2);
    assert_int_equal(f->backing_writes, 2);
}

/* 5.2.6.2: a read-only disk answers writes with IOERR and writes nothing. */
static void test_blk_read_only(void **state)
{
    struct fixture *f = *state;
    u8 data[4096];
    u8 *copy = malloc(DISK_SECTORS * 512);
    struct fake_blk_result r;

    assert_non_null(copy);
    make_blk(f, true);
    memcpy(copy, f->disk, DISK_SECTORS * 512);
    blk_up(f, LINUX_BLK_FEATURES, 16);
    assert_true(virtio_mmio_features(&f->t) & BLK_F_RO);
    memset(data, 0x77, sizeof(data));
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, 0, data, sizeof(data), 4);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(r.used_len, 1);
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, DISK_SECTORS + 5, data, 512, 1);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(f->backing_writes, 0);
    assert_memory_equal(f->disk, copy, DISK_SECTORS * 512);
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, sizeof(data), 4);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_memory_equal(data, copy, sizeof(data));
    assert_int_equal(fake_blk_rw(&f->d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0).status,
                     VIRTIO_BLK_S_OK);
    /* a driver that does not accept F_RO gets the same answers */
    fake_drv_free(&f->d);
    blk_up(f, F_VERSION_1, 16);
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, 0, data, 512, 1);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_memory_equal(f->disk, copy, DISK_SECTORS * 512);
    free(copy);
}

static void test_blk_backing_errors(void **state)
{
    struct fixture *f = *state;
    u8 data[8192];
    struct fake_blk_result r;

    blk_up(f, LINUX_BLK_FEATURES, 16);
    f->fail_read = true;
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, data, sizeof(data), 3);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(r.used_len, 0);
    f->fail_read = false;
    f->fail_write = true;
    r = fake_blk_rw(&f->d, VIRTIO_BLK_T_OUT, 0, data, sizeof(data), 3);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(f->blk.stats.errors, 2);
    assert_false(rd(f, R_Status) & S_DEVICE_NEEDS_RESET);
}

/* One request laid out by hand; kicks and reaps it. */
static struct fake_blk_result blk_raw(struct fixture *f, const struct fake_sg *sg,
                                      unsigned int nout, unsigned int nin, u64 status)
{
    struct fake_blk_result r = { 0 };
    u16 id;

    guest_fill(&f->m, status, 0xff, 1);
    r.head = fake_drv_add(&f->d, sg, nout, nin);
    fake_drv_kick(&f->d);
    if (fake_drv_get_used(&f->d, &id, &r.used_len)) {
        r.completed = true;
        guest_read(&f->m, status, &r.status, 1);
    }
    return r;
}

static u64 blk_hdr(struct fixture *f, u32 type, u64 sector)
{
    u64 h = fake_drv_alloc(&f->d, 16, 16);

    guest_w32(&f->m, h, type);
    guest_w32(&f->m, h + 4, 0);
    guest_w64(&f->m, h + 8, sector);
    return h;
}

/* Chains framed any way: 2.7.4.1, "MUST NOT make assumptions about the particular arrangement". */
static void test_blk_any_layout(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[5];
    struct fake_blk_result r;
    u8 got[600];
    u64 h, d, st;

    blk_up(f, LINUX_BLK_FEATURES, 16);
    f->d.use_indirect = false;
    /* the header in three pieces */
    h = blk_hdr(f, VIRTIO_BLK_T_IN, 2);
    d = fake_drv_alloc(&f->d, 512, 8);
    st = fake_drv_alloc(&f->d, 1, 1);
    sg[0] = (struct fake_sg){ h, 5 };
    sg[1] = (struct fake_sg){ h + 5, 5 };
    sg[2] = (struct fake_sg){ h + 10, 6 };
    sg[3] = (struct fake_sg){ d, 512 };
    sg[4] = (struct fake_sg){ st, 1 };
    r = blk_raw(f, sg, 3, 2, st);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    guest_read(&f->m, d, got, 512);
    assert_memory_equal(got, f->disk + 1024, 512);
    /* data and status in one writable buffer */
    h = blk_hdr(f, VIRTIO_BLK_T_IN, 3);
    d = fake_drv_alloc(&f->d, 513, 8);
    sg[0] = (struct fake_sg){ h, 16 };
    sg[1] = (struct fake_sg){ d, 513 };
    r = blk_raw(f, sg, 1, 1, d + 512);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(r.used_len, 513);
    guest_read(&f->m, d, got, 512);
    assert_memory_equal(got, f->disk + 1536, 512);
    /* header and data in one readable buffer (OUT) */
    h = fake_drv_alloc(&f->d, 16 + 512, 16);
    guest_w32(&f->m, h, VIRTIO_BLK_T_OUT);
    guest_w64(&f->m, h + 8, 9);
    guest_fill(&f->m, h + 16, 0x42, 512);
    st = fake_drv_alloc(&f->d, 1, 1);
    sg[0] = (struct fake_sg){ h, 16 + 512 };
    sg[1] = (struct fake_sg){ st, 1 };
    r = blk_raw(f, sg, 1, 1, st);
    assert_int_equal(r.status, VIRTIO_BLK_S_OK);
    assert_int_equal(f->disk[9 * 512], 0x42);
    assert_int_equal(f->disk[10 * 512 - 1], 0x42);
    assert_int_equal(f->blk.stats.bad_chains, 0);
}

/* Malformed requests: a short header is a driver error (IOERR); no status byte breaks the queue. */
static void test_blk_malformed(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[3];
    struct fake_blk_result r;
    u64 h, st;

    blk_up(f, LINUX_BLK_FEATURES, 16);
    h = blk_hdr(f, VIRTIO_BLK_T_OUT, 0);
    st = fake_drv_alloc(&f->d, 1, 1);
    sg[0] = (struct fake_sg){ h, 8 }; /* half a header */
    sg[1] = (struct fake_sg){ st, 1 };
    r = blk_raw(f, sg, 1, 1, st);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(r.used_len, 1);
    sg[0] = (struct fake_sg){ st, 1 }; /* nothing but a status */
    r = blk_raw(f, sg, 0, 1, st);
    assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(f->backing_writes, 0);
    assert_int_equal(f->ev.nerr, 0);
    /* no device-writable byte: the request cannot be answered */
    fake_drv_interrupt(&f->d);
    sg[0] = (struct fake_sg){ h, 16 };
    sg[1] = (struct fake_sg){ fake_drv_alloc(&f->d, 512, 8), 512 };
    r = blk_raw(f, sg, 2, 0, st);
    assert_false(r.completed);
    expect_needs_reset(f, VIRTQ_ERR_FRAMING);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(f->backing_writes, 0);
    assert_int_equal(f->blk.stats.bad_chains, 1);
}

/* "Descriptors pointing outside the VM, into Keel or another VM": DEVICE_NEEDS_RESET. */
static void test_blk_descriptors_outside(void **state)
{
    struct fixture *f = *state;
    static const u64 targets[] = {
        HOLE, FAKE_RAM0 - 0x1000, 0x60000000, 0x0, FAKE_RAM2_END - 100, 0xffffffffffffff00ULL,
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(targets); i++) {
        struct fake_sg sg[3];
        u64 h, st;

        f->ev.nerr = 0;
        fake_drv_free(&f->d);
        blk_up(f, LINUX_BLK_FEATURES, 16);
        f->d.use_indirect = i & 1;
        fake_mem_clear_counts(&f->m);
        h = blk_hdr(f, i & 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, 0);
        st = fake_drv_alloc(&f->d, 1, 1);
        sg[0] = (struct fake_sg){ h, 16 };
        sg[1] = (struct fake_sg){ targets[i], 4096 };
        sg[2] = (struct fake_sg){ st, 1 };
        if (i & 2)
            blk_raw(f, sg, 2, 1, st);
        else
            blk_raw(f, sg, 1, 2, st);
        expect_needs_reset(f, VIRTQ_ERR_MEM);
        assert_int_equal(f->backing_reads + f->backing_writes, 0);
    }
}

/* VIRTIO_F_EVENT_IDX end to end: one kick for a batch, one interrupt for a batch. */
static void test_blk_event_idx(void **state)
{
    struct fixture *f = *state;
    struct fake_sg sg[3 * 8];
    u16 id;
    u32 len;
    int kicks = 0;

    blk_up(f, LINUX_BLK_FEATURES, 16);
    for (int i = 0; i < 8; i++) {
        u64 st = fake_drv_alloc(&f->d, 1, 1);

        sg[3 * i] = (struct fake_sg){ blk_hdr(f, VIRTIO_BLK_T_IN, i), 16 };
        sg[3 * i + 1] = (struct fake_sg){ fake_drv_alloc(&f->d, 512, 8), 512 };
        sg[3 * i + 2] = (struct fake_sg){ st, 1 };
        fake_drv_add(&f->d, sg + 3 * i, 1, 2);
    }
    kicks += fake_drv_kick_if_needed(&f->d);
    assert_int_equal(kicks, 1);
    assert_int_equal(f->ev.nirq, 1); /* one interrupt for eight */
    assert_int_equal(fake_drv_interrupt(&f->d), VIRTIO_MMIO_INT_VRING);
    for (int i = 0; i < 8; i++)
        assert_true(fake_drv_get_used(&f->d, &id, &len));
    /* the next request: used_event is 8 now, so it interrupts */
    assert_int_equal(fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, (u8[512]){ 0 }, 512, 1).status,
                     VIRTIO_BLK_S_OK);
    assert_int_equal(f->ev.nirq, 3);
    fake_drv_interrupt(&f->d);
    /* a driver that stops reaping (used_event stays) gets no more interrupts */
    f->d.event_idx = false;
    fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, (u8[512]){ 0 }, 512, 1);
    fake_blk_rw(&f->d, VIRTIO_BLK_T_IN, 0, (u8[512]){ 0 }, 512, 1);
    assert_int_equal(f->ev.nirq, 5);
    assert_int_equal(rd(f, R_InterruptStatus), VIRTIO_MMIO_INT_VRING);
}

/* One request on a fresh device over a fresh disk, bounce or direct: what it gave. */
struct blk_run {
    struct fake_blk_result r;
    struct virtio_blk_stats stats;
    unsigned int calls; /* read(), write() and map() */
    unsigned int maps;
};

static struct blk_run blk_run_on(struct fixture *f, bool direct, bool read_only, u32 type,
                                 u64 sector, u8 *data, u32 len, unsigned int nseg)
{
    struct blk_run run;

    for (u64 i = 0; i < DISK_SECTORS * 512; i++)
        f->disk[i] = disk_byte(i);
    fake_drv_free(&f->d);
    f->direct = direct;
    f->backing_reads = f->backing_writes = f->backing_maps = 0;
    make_blk(f, read_only);
    blk_up(f, LINUX_BLK_FEATURES, 256);
    run.r = fake_blk_rw(&f->d, type, sector, data, len, nseg);
    run.stats = f->blk.stats;
    run.calls = f->backing_reads + f->backing_writes;
    run.maps = f->backing_maps;
    return run;
}

/*
 * The direct path (a backing with map()) answers every request as the
 * bounce path does: the same status, used length, data in the guest or on
 * the disk, and counters; with one map() call where the bounce path makes
 * one read() or write() per 4 KiB. Data cut into 1 to seg_max segments.
 */
static void test_blk_paths_agree(void **state)
{
    struct fixture *f = *state;
    static u8 data[2][254 * 512], disk[254 * 512];
    static const struct {
        u32 type;
        u64 sector;
        u32 len;
        unsigned int nseg;
        bool ro;
    } cases[] = {
        /* segment cuts on and off the bounce path's 4 KiB steps */
        { VIRTIO_BLK_T_IN, 0, 512, 1, false },
        { VIRTIO_BLK_T_IN, 7, 4096, 1, false },
        { VIRTIO_BLK_T_IN, 17, 4096 + 512, 3, false },
        { VIRTIO_BLK_T_IN, 3, 12288, 5, false },
        { VIRTIO_BLK_T_IN, 100, 31744, 62, false },
        { VIRTIO_BLK_T_IN, 1900, 65536, 7, false },
        { VIRTIO_BLK_T_IN, 1000, 65536, 128, false },
        { VIRTIO_BLK_T_IN, 1500, 254 * 512, 254, false },
        { VIRTIO_BLK_T_OUT, 0, 512, 1, false },
        { VIRTIO_BLK_T_OUT, 5, 4096 + 512, 3, false },
        { VIRTIO_BLK_T_OUT, 3, 12288, 5, false },
        { VIRTIO_BLK_T_OUT, 1900, 65536, 7, false },
        { VIRTIO_BLK_T_OUT, 1000, 65536, 128, false },
        { VIRTIO_BLK_T_OUT, 1500, 254 * 512, 254, false },
        /* past the capacity, at its end, not whole sectors, wrapping */
        { VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, 2, false },
        { VIRTIO_BLK_T_IN, DISK_SECTORS - 8, 4096, 2, false },
        { VIRTIO_BLK_T_IN, DISK_SECTORS, 0, 0, false },
        { VIRTIO_BLK_T_IN, DISK_SECTORS, 512, 1, false },
        { VIRTIO_BLK_T_IN, 0, 100, 1, false },
        { VIRTIO_BLK_T_IN, ~0ULL, 512, 1, false },
        { VIRTIO_BLK_T_IN, 1ULL << 55, 512, 1, false },
        { VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 1024, 2, false },
        { VIRTIO_BLK_T_OUT, DISK_SECTORS - 8, 4096, 2, false },
        { VIRTIO_BLK_T_OUT, DISK_SECTORS, 0, 0, false },
        { VIRTIO_BLK_T_OUT, 0, 513, 1, false },
        { VIRTIO_BLK_T_OUT, ~0ULL, 512, 1, false },
        /* read-only: reads as ever, writes refused with nothing written */
        { VIRTIO_BLK_T_IN, 40, 8192, 4, true },
        { VIRTIO_BLK_T_OUT, 40, 8192, 4, true },
        { VIRTIO_BLK_T_OUT, DISK_SECTORS, 512, 1, true },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        u32 type = cases[i].type, len = cases[i].len;
        u64 sector = cases[i].sector;
        bool in_range = sector <= DISK_SECTORS && len % 512 == 0 &&
                        len / 512 <= DISK_SECTORS - sector && !(type == VIRTIO_BLK_T_OUT &&
                                                                  cases[i].ro);
        struct blk_run run[2];
        u64 at = in_range ? sector * 512 : 0;

        for (int direct = 0; direct < 2; direct++) {
            fill_pattern(data[direct], len, i);
            run[direct] = blk_run_on(f, direct, cases[i].ro, type, sector, data[direct], len,
                                     cases[i].nseg);
            assert_true(run[direct].r.completed);
            if (!direct) /* what the bounce path left on the disk */
                memcpy(disk, f->disk + at, in_range ? len : 0);
            else
                assert_memory_equal(f->disk + at, disk, in_range ? len : 0);
            assert_int_equal(f->m.refused + f->m.torn + f->m.forbidden_writes, 0);
        }
        assert_int_equal(run[1].r.status, run[0].r.status);
        assert_int_equal(run[1].r.used_len, run[0].r.used_len);
        assert_memory_equal(data[1], data[0], len);
        assert_memory_equal(&run[1].stats, &run[0].stats, sizeof(run[0].stats));
        assert_int_equal(run[0].maps, 0);
        assert_int_equal(run[0].calls, in_range ? (len + 4095) / 4096 : 0);
        assert_int_equal(run[1].maps, in_range && len);
        assert_int_equal(run[1].calls, run[1].maps);
        /* and the status is what it should be */
        assert_int_equal(run[0].r.status, in_range ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
        if (in_range && type == VIRTIO_BLK_T_IN)
            assert_memory_equal(data[1], f->disk + at, len);
        else if (in_range && len)
            assert_int_equal(f->disk[at + len - 1], data[1][len - 1]);
    }
}

static void test_blk_init_and_ram_backing(void **state)
{
    struct fixture *f = *state;
    struct virtio_blk_backing b;
    struct virtio_blk_ram ram;
    u8 img[1000], sector[512];

    virtio_blk_ram_backing(&b, &ram, img, sizeof(img), false, "x");
    assert_int_equal(b.capacity, 1); /* the trailing part sector is not used */
    assert_true(b.read(b.ctx, 0, sector, 1));
    assert_false(b.read(b.ctx, 0, sector, 2));
    assert_false(b.read(b.ctx, 1, sector, 1));
    assert_false(b.read(b.ctx, ~0ULL, sector, 1));
    assert_false(b.write(b.ctx, 1, sector, 1));
    assert_true(b.write(b.ctx, 0, sector, 1));
    assert_null(b.flush);
    /* map(): the image itself, inside the capacity */
    assert_ptr_equal(b.map(b.ctx, 0, 1, false), img);
    assert_ptr_equal(b.map(b.ctx, 0, 1, true), img);
    assert_null(b.map(b.ctx, 0, 2, false));
    assert_null(b.map(b.ctx, 1, 1, true));
    assert_null(b.map(b.ctx, ~0ULL, 1, false));
    assert_null(b.map(b.ctx, 1, ~0U, false));
    b.read = NULL;
    assert_int_equal(virtio_blk_init(&f->blk, &b), -1);
    virtio_blk_ram_backing(&b, &ram, img, sizeof(img), false, "x");
    b.write = NULL;
    assert_int_equal(virtio_blk_init(&f->blk, &b), -1);
    b.read_only = true;
    assert_int_equal(virtio_blk_init(&f->blk, &b), 0);
    virtio_blk_ram_backing(&b, &ram, img, sizeof(img), true, "x");
    assert_null(b.write);
    assert_ptr_equal(b.map(b.ctx, 0, 1, false), img);
    assert_null(b.map(b.ctx, 0, 1, true)); /* read-only */
    /* no image (a VM's disk between builds): nothing to map */
    virtio_blk_ram_backing(&b, &ram, NULL, 4096, false, "x");
    assert_null(b.map(b.ctx, 0, 1, false));
}

/* A virtio-blk test twice: over the bounce path, then over the direct one (map()). */
#define BOTH_PATHS(t)                                     \
    cmocka_unit_test_setup_teardown(t, setup, teardown), \
    { #t " (direct)", t, setup_direct, teardown, NULL }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_virtq_init_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_pop_push, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_chain_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_chain_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_chain_random_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_ring_across_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_index_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_avail_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_bad_head_and_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_segment_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_buffers_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_length_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_indirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_indirect_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_indirect_read_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_flags_suppression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_used_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_avail_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_avail_event_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtq_strerror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_empty_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_init_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_access_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_feature_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_queue_setup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_bad_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_needs_reset_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_interrupt_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_notify_before_driver_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_unzeroed_used_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_notification_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_config_changed, setup, teardown),
        BOTH_PATHS(test_blk_config),
        BOTH_PATHS(test_blk_read_write),
        BOTH_PATHS(test_blk_counters),
        BOTH_PATHS(test_blk_flush),
        BOTH_PATHS(test_blk_write_through_without_flush),
        BOTH_PATHS(test_blk_get_id),
        BOTH_PATHS(test_blk_unsupported),
        BOTH_PATHS(test_blk_out_of_range),
        BOTH_PATHS(test_blk_read_only),
        BOTH_PATHS(test_blk_backing_errors),
        BOTH_PATHS(test_blk_any_layout),
        BOTH_PATHS(test_blk_malformed),
        BOTH_PATHS(test_blk_descriptors_outside),
        BOTH_PATHS(test_blk_event_idx),
        cmocka_unit_test_setup_teardown(test_blk_paths_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blk_init_and_ram_backing, setup, teardown),
    };

    return cmocka_run_group_tests_name("virtio", tests, NULL, NULL);
}
