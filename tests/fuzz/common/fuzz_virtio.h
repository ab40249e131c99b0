/*
 * What the virtio harnesses (virtq, virtio_net) share: their fake VM of
 * three memory chunks over tests/unit/virtio's fake guest, the hostile
 * steps on a queue's rings, and the transport's invariants (4.2.2.2's
 * access rules, register reads against what the harness expects, the
 * Status and interrupt rules of 2.1 and 4.2.2). Each harness keeps its
 * own state; these take it as arguments and read the input in the order
 * the harnesses always did, so the committed seeds mean what they meant.
 */
#ifndef FUZZ_VIRTIO_H
#define FUZZ_VIRTIO_H

#include <keel/virtio_mmio.h>
#include <keel/virtq.h>

#include "fake_guest.h"
#include "fuzz_input.h"

/* A harness's fake VM: chunks A and B adjacent (the heaps), C past a hole (the rings). */
struct vfuzz_vm {
    struct fake_mem *mem;
    u64 a, b, hole, c, end;
    const u32 *lens; /* the lengths hostile descriptors favour */
    unsigned int nlens;
};

/* The chunks, once (the memory stays between inputs). */
void vfuzz_mem_setup(const struct vfuzz_vm *vm);
/* At the start of an input: all of it zero, its counts too, nothing watched. */
void vfuzz_mem_reset(const struct vfuzz_vm *vm);

/*
 * A harness's program: @start reads the input's first bytes, then each
 * byte after a step's is an op for @step, until the input ends; @check
 * after @start and after every step, @trace after every step. A step that
 * begins and ends with DEVICE_NEEDS_RESET set must not have touched guest
 * memory or called the device's backend (*@backend_calls stays).
 */
struct vfuzz_program {
    const struct vfuzz_vm *vm;
    const struct virtio_mmio *t;
    void (*start)(struct fuzz_in *in);
    void (*step)(struct fuzz_in *in, unsigned int op);
    void (*check)(void);
    void (*trace)(unsigned int op);
    const u64 *backend_calls;
    unsigned int nops; /* step() takes op % nops */
};

int vfuzz_run(const struct vfuzz_program *p, const uint8_t *bytes, size_t size);
/* FUZZ_VERBOSE=1: whether to trace a line per step, to see what an input does. */
bool vfuzz_verbose(void);

/* ---- hostile steps ---- */

/* An address mostly in or around the VM's chunks and the hole, now and then anything. */
u64 vfuzz_pick_gpa(struct fuzz_in *in, const struct vfuzz_vm *vm);
/*
 * @n descriptors written by hand into @vq's table or an indirect table at
 * @table (any slot, address, length, flags and next) through @d, then a
 * head made available at the ring's idx and the idx moved (mostly by 1).
 * No notification: the caller writes QueueNotify.
 */
void vfuzz_hostile_chain(struct fuzz_in *in, const struct vfuzz_vm *vm, struct fake_drv *d,
                         const struct virtq *vq, u64 table, unsigned int n);
/* Bytes scribbled over one of @vq's areas, or anywhere in chunks A and B. */
void vfuzz_scribble(struct fuzz_in *in, const struct vfuzz_vm *vm, const struct virtq *vq);

/* ---- the transport ---- */

/*
 * An offset to access: mostly one of @regs (real registers, the harness's
 * favourites again), else in the configuration space or up to @cfg_span
 * bytes from its start, or anywhere near the window.
 */
u64 vfuzz_pick_offset(struct fuzz_in *in, const u64 *regs, unsigned int nregs,
                      unsigned int cfg_span);
/* 4.2.2.2: the accesses the transport allows. */
bool vfuzz_access_ok(u64 off, unsigned int size);
/*
 * A read of @size bytes at @off, checked: allowed exactly when 4.2.2.2
 * says, its value untouched when refused, no wider than @size, the
 * configuration space byte by byte as @config_byte says, a register as
 * @expected_reg says (when it knows).
 */
void vfuzz_read(struct virtio_mmio *t, u64 off, unsigned int size, u8 (*config_byte)(u64 off),
                bool (*expected_reg)(u64 off, u32 *v));
/*
 * A write, allowed exactly when 4.2.2.2 says. True if a well-formed
 * driver's predictions still stand after it: refused, or to the
 * configuration space, a selector, QueueNotify, InterruptACK or SHMSel.
 */
bool vfuzz_write(struct virtio_mmio *t, u64 off, unsigned int size, u32 v);

/* The irq() callback: ctx is the harness's line, which each call must change. */
void vfuzz_on_irq(void *ctx, bool level);
/*
 * After every step: Status holds only the spec's bits, DRIVER_OK only with
 * FEATURES_OK, FEATURES_OK only for a subset of @offered with VERSION_1;
 * InterruptStatus only bits 0 and 1, and @line (irq()'s last word) and the
 * transport's line say whether it is 0; nothing asked outside the VM, no
 * torn ring access; DEVICE_NEEDS_RESET only once error() said so
 * (@reported, cleared with it); while @clean, no write to the driver's
 * areas and no DEVICE_NEEDS_RESET.
 */
void vfuzz_check_transport(const struct virtio_mmio *t, const struct fake_mem *mem, u64 offered,
                           bool line, bool *reported, bool clean);

#endif
