/* The virtio harnesses' shared parts: see fuzz_virtio.h. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_virtio.h"

void vfuzz_mem_setup(const struct vfuzz_vm *vm)
{
    if (vm->mem->nchunks)
        return;
    fake_mem_init_empty(vm->mem);
    fake_mem_add(vm->mem, vm->a, vm->b - vm->a);
    fake_mem_add(vm->mem, vm->b, vm->hole - vm->b);
    fake_mem_add(vm->mem, vm->c, vm->end - vm->c);
}

void vfuzz_mem_reset(const struct vfuzz_vm *vm)
{
    for (unsigned int i = 0; i < vm->mem->nchunks; i++)
        memset(vm->mem->chunk[i].host, 0, vm->mem->chunk[i].size);
    fake_mem_clear_counts(vm->mem);
    vm->mem->nforbid = 0;
}

int vfuzz_run(const struct vfuzz_program *p, const uint8_t *bytes, size_t size)
{
    struct fuzz_in in = { bytes, size };
    const struct fake_mem *mem = p->vm->mem;

    vfuzz_mem_setup(p->vm);
    p->start(&in);
    p->check();
    while (!fin_done(&in)) {
        unsigned int op = fin_u8(&in);
        bool frozen = p->t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
        u64 reads = mem->reads, writes = mem->writes, calls = *p->backend_calls;

        p->step(&in, op);
        if (frozen && (p->t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
            FUZZ_CHECK(mem->reads == reads && mem->writes == writes &&
                           *p->backend_calls == calls,
                       "the device went on after DEVICE_NEEDS_RESET (op %u)", op % p->nops);
        p->check();
        p->trace(op);
    }
    return 0;
}

bool vfuzz_verbose(void)
{
    static int on = -1;

    if (on < 0)
        on = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") != '0';
    return on;
}

/* ---- hostile steps ---- */

u64 vfuzz_pick_gpa(struct fuzz_in *in, const struct vfuzz_vm *vm)
{
    const u64 at[] = { vm->a, vm->b - 8, vm->b, vm->hole - 16, vm->hole, vm->c,
                       vm->end - 4, vm->end, 0, ~0ULL - 15, 0x60000000 };
    unsigned int k = fin_u8(in);

    if (k < 128)
        return vm->a + fin_u16(in) % (vm->hole - vm->a);
    if (k < 224) {
        u64 a = fin_pick(in, at);

        return a + fin_u8(in) % 32;
    }
    return fin_u64(in);
}

static u32 pick_len(struct fuzz_in *in, const struct vfuzz_vm *vm)
{
    return fin_u8(in) < 200 ? vm->lens[fin_below(in, vm->nlens)] : fin_u32(in);
}

void vfuzz_hostile_chain(struct fuzz_in *in, const struct vfuzz_vm *vm, struct fake_drv *d,
                         const struct virtq *vq, u64 table, unsigned int n)
{
    u16 idx;

    for (unsigned int i = 0; i < n; i++) {
        bool ind = fin_u8(in) < 64;
        u32 slot = fin_u16(in) % (ind ? 8 : vq->size);
        u64 addr = fin_u8(in) < 32 ? table : vfuzz_pick_gpa(in, vm);
        u32 len = pick_len(in, vm);
        u16 flags = fin_u8(in) & 7, next = fin_u16(in) % (vq->size + 2);

        d->m = vm->mem;
        fake_drv_desc(d, ind ? table : vq->desc, slot, addr, len, flags, next);
    }
    idx = guest_r16(vm->mem, vq->avail + 2);
    guest_w16(vm->mem, vq->avail + 4 + 2 * (u64)(idx % vq->size), fin_u16(in) % (vq->size + 1));
    guest_w16(vm->mem, vq->avail + 2, (u16)(idx + (fin_u8(in) < 240 ? 1 : fin_u16(in))));
}

void vfuzz_scribble(struct fuzz_in *in, const struct vfuzz_vm *vm, const struct virtq *vq)
{
    unsigned int k = fin_u8(in) % 4, n = 1 + fin_u8(in) % 8;
    u64 base = vm->a, span = vm->hole - vm->a;

    if (vq->size && k == 0) {
        base = vq->desc;
        span = 16 * (u64)vq->size;
    } else if (vq->size && k == 1) {
        base = vq->avail;
        span = 6 + 2 * (u64)vq->size;
    } else if (vq->size && k == 2) {
        base = vq->used;
        span = 6 + 8 * (u64)vq->size;
    }
    for (unsigned int i = 0; i < n; i++) {
        u8 b = fin_u8(in);

        guest_write(vm->mem, base + fin_u16(in) % span, &b, 1);
    }
}

/* ---- the transport ---- */

u64 vfuzz_pick_offset(struct fuzz_in *in, const u64 *regs, unsigned int nregs,
                      unsigned int cfg_span)
{
    unsigned int k = fin_u8(in);

    if (k < 200)
        return regs[fin_below(in, nregs)];
    if (k < 240)
        return 0x100 + fin_u8(in) % cfg_span;
    return fin_u16(in) % 0x240;
}

bool vfuzz_access_ok(u64 off, unsigned int size)
{
    if (off >= 0x200)
        return false;
    if (off < 0x100)
        return size == 4 && off % 4 == 0;
    return (size == 1 || size == 2 || size == 4) && off % size == 0;
}

void vfuzz_read(struct virtio_mmio *t, u64 off, unsigned int size, u8 (*config_byte)(u64 off),
                bool (*expected_reg)(u64 off, u32 *v))
{
    u64 v = 0x0123456789abcdefULL;
    int rc = virtio_mmio_read(t, off, size, &v);
    u32 want;

    FUZZ_CHECK((rc == 0) == vfuzz_access_ok(off, size), "read %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    if (rc) {
        FUZZ_CHECK(v == 0x0123456789abcdefULL, "refused read wrote its value");
        return;
    }
    FUZZ_CHECK(v < (1ULL << (8 * size)), "read %#llx/%u gave %#llx", (unsigned long long)off,
               size, (unsigned long long)v);
    if (off >= 0x100) {
        u64 want64 = 0;

        for (unsigned int i = 0; i < size; i++)
            want64 |= (u64)config_byte(off - 0x100 + i) << (8 * i);
        FUZZ_CHECK(v == want64, "config %#llx/%u: %#llx, want %#llx", (unsigned long long)off,
                   size, (unsigned long long)v, (unsigned long long)want64);
    } else if (expected_reg(off, &want)) {
        FUZZ_CHECK(v == want, "register %#llx: %#llx, want %#x", (unsigned long long)off,
                   (unsigned long long)v, want);
    }
}

bool vfuzz_write(struct virtio_mmio *t, u64 off, unsigned int size, u32 v)
{
    int rc = virtio_mmio_write(t, off, size, v);

    FUZZ_CHECK((rc == 0) == vfuzz_access_ok(off, size), "write %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    return rc || off >= 0x100 || off == 0x014 || off == 0x030 || off == 0x050 || off == 0x064 ||
           off == 0x0ac;
}

void vfuzz_on_irq(void *ctx, bool level)
{
    bool *line = ctx;

    FUZZ_CHECK(level != *line, "irq() repeated level %d", level);
    *line = level;
}

void vfuzz_check_transport(const struct virtio_mmio *t, const struct fake_mem *mem, u64 offered,
                           bool line, bool *reported, bool clean)
{
    u32 s = t->status;

    FUZZ_CHECK(!(s & ~0xcfU), "Status %#x", s);
    FUZZ_CHECK(!(s & VIRTIO_STATUS_DRIVER_OK) || (s & VIRTIO_STATUS_FEATURES_OK),
               "DRIVER_OK without FEATURES_OK: %#x", s);
    if (s & VIRTIO_STATUS_FEATURES_OK)
        FUZZ_CHECK(!(t->driver_features & ~offered) && (t->driver_features & (1ULL << 32)),
                   "FEATURES_OK for %#llx", (unsigned long long)t->driver_features);
    FUZZ_CHECK(!(t->interrupt_status & ~3U), "InterruptStatus %#x", t->interrupt_status);
    FUZZ_CHECK(line == (t->interrupt_status != 0) && t->line == line,
               "line %d, InterruptStatus %#x", line, t->interrupt_status);
    FUZZ_CHECK(!mem->refused && !mem->torn, "asked outside the VM %llu times, torn %llu",
               (unsigned long long)mem->refused, (unsigned long long)mem->torn);
    if (s & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        FUZZ_CHECK(*reported, "DEVICE_NEEDS_RESET not reported");
    else
        *reported = false;
    if (clean)
        FUZZ_CHECK(!mem->forbidden_writes && !(s & VIRTIO_STATUS_DEVICE_NEEDS_RESET),
                   "a well-formed driver: %llu writes to its areas, Status %#x",
                   (unsigned long long)mem->forbidden_writes, s);
}
