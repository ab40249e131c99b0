/*
 * What the cmocka suites that drive a device model through the
 * virtio-mmio transport and fake_guest.h's driver share (tests/unit/virtio,
 * tests/unit/virtio_net, tests/unit/virtio_console): register and
 * configuration space accesses, a recorder for the transport's callbacks,
 * and the check of a transport that a broken queue stopped. Failures are
 * cmocka's, so they fail the test that called them.
 */
#ifndef VIRTIO_TEST_UTIL_H
#define VIRTIO_TEST_UTIL_H

#include "fake_guest.h"

/* A 32-bit register of @f's transport (@f->t) that must answer. */
#define rd(f, off) mmio_r32(&(f)->t, (off))
#define wr(f, off, v) mmio_w32(&(f)->t, (off), (v))

/* A configuration space access of @size bytes at @off that the transport must allow. */
u64 mmio_cfg_read(struct virtio_mmio *t, u64 off, unsigned int size);
void mmio_cfg_write(struct virtio_mmio *t, u64 off, unsigned int size, u64 v);
#define cfg_rd(f, off, size) mmio_cfg_read(&(f)->t, (off), (size))
#define cfg_wr(f, off, size, v) mmio_cfg_write(&(f)->t, (off), (size), (v))

/*
 * What the transport's irq() and error() callbacks reported: give
 * mmio_events_irq, mmio_events_err and one of these to virtio_mmio_init().
 */
struct mmio_events {
    unsigned int nirq; /* changes of the interrupt line */
    bool line;
    unsigned int nerr;
    int last_err;
    unsigned int last_err_queue;
};

void mmio_events_irq(void *ctx, bool level); /* each call must change the line */
void mmio_events_err(void *ctx, unsigned int queue, int err);

/*
 * The transport after a broken queue: DEVICE_NEEDS_RESET in Status, not
 * live, one error reported and it was -@err; and the device never asked
 * for a byte outside the VM nor wrote the driver's watched areas.
 */
void expect_mmio_needs_reset(struct virtio_mmio *t, const struct mmio_events *ev,
                             const struct fake_mem *m, int err);

#endif
