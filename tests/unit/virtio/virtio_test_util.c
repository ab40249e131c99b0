/* The helpers of virtio_test_util.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_test_util.h"

u64 mmio_cfg_read(struct virtio_mmio *t, u64 off, unsigned int size)
{
    u64 v = ~0ULL;

    assert_int_equal(virtio_mmio_read(t, R_Config + off, size, &v), 0);
    return v;
}

void mmio_cfg_write(struct virtio_mmio *t, u64 off, unsigned int size, u64 v)
{
    assert_int_equal(virtio_mmio_write(t, R_Config + off, size, v), 0);
}

void mmio_events_irq(void *ctx, bool level)
{
    struct mmio_events *ev = ctx;

    assert_true(level != ev->line);
    ev->line = level;
    ev->nirq++;
}

void mmio_events_err(void *ctx, unsigned int queue, int err)
{
    struct mmio_events *ev = ctx;

    ev->nerr++;
    ev->last_err = err;
    ev->last_err_queue = queue;
}

void expect_mmio_needs_reset(struct virtio_mmio *t, const struct mmio_events *ev,
                             const struct fake_mem *m, int err)
{
    assert_true(mmio_r32(t, R_Status) & S_DEVICE_NEEDS_RESET);
    assert_false(virtio_mmio_live(t));
    assert_int_equal(ev->nerr, 1);
    assert_int_equal(ev->last_err, -err);
    assert_int_equal(m->refused, 0);
    assert_int_equal(m->forbidden_writes, 0);
}
