/*
 * Emulated CLINT (SiFive's core-local interruptor, the layout QEMU virt's
 * ACLINT keeps: msip at +0, 4 bytes a hart; mtimecmp at +0x4000, 8 bytes a
 * hart; mtime at +0xbff8), one per VM whose guests have an M-mode (Keel in
 * M-mode on a hart without H).
 *
 * A pure state machine with the contract of the emulated UARTs (keel/vpl011.h):
 * it knows nothing of VMs or harts. The MMIO trap path calls vclint_read()/
 * vclint_write(); what the device does in return leaves through callbacks.
 * Nothing here locks: the caller serialises calls on one device.
 *
 * The model, and why:
 *  - mtime is the machine's: read through the mtime callback, shared by
 *    every VM. Writes to it are ignored (WARL as a read-only counter): one
 *    VM setting the machine's time for the others would break isolation,
 *    and no guest Keel runs writes it.
 *  - msip: bit 0 of each hart's word is its software interrupt line; the
 *    other bits read 0. A write that changes it calls msip().
 *  - mtimecmp: any 64-bit value, reset to all ones (no interrupt until
 *    software asks for one, as on QEMU). The timer line of a hart is
 *    "mtime >= mtimecmp": the device has no clock, so the caller compares
 *    (vclint_timer_due) and arms its own timer at the deadline; a write
 *    calls mtimecmp() with the new value.
 *  - Accesses: 4 or 8 bytes, naturally aligned; 4-byte halves of mtimecmp
 *    and mtime (RV32 software) work. Anything else, and offsets past the
 *    last hart's registers, are refused (-1: the guest gets an access fault).
 */
#ifndef KEEL_VCLINT_H
#define KEEL_VCLINT_H

#include <keel/types.h>

#define VCLINT_MAX_HARTS 32
#define VCLINT_SIZE 0x10000UL
#define VCLINT_MSIP 0x0UL
#define VCLINT_MTIMECMP 0x4000UL
#define VCLINT_MTIME 0xbff8UL

struct vclint_ops {
    u64 (*mtime)(void *opaque);
    void (*msip)(void *opaque, unsigned int hart, bool level);
    void (*mtimecmp)(void *opaque, unsigned int hart, u64 cmp);
};

struct vclint {
    unsigned int nr_harts;
    const struct vclint_ops *ops;
    void *opaque;
    bool msip[VCLINT_MAX_HARTS];
    u64 mtimecmp[VCLINT_MAX_HARTS];
};

/* 0, or -1 if @nr_harts is 0 or above VCLINT_MAX_HARTS. */
int vclint_init(struct vclint *c, unsigned int nr_harts, const struct vclint_ops *ops, void *opaque);
/* Reset values (msip 0, mtimecmp all ones), reported through the callbacks. */
void vclint_reset(struct vclint *c);
int vclint_read(struct vclint *c, u64 off, unsigned int size, u64 *val);
int vclint_write(struct vclint *c, u64 off, unsigned int size, u64 val);
/* The hart's mip bit msip drives (privileged spec 3.1.9). */
#define VCLINT_LINE_MSIP BIT(3)

struct vm;
/* The VM glue (irqchip/vclint_ops.c): the device at GUEST_CLINT_BASE. */
void vclint_create_vm(struct vm *vm);
/* Its node in the guest DT of a VM with @ncpus harts (a libfdt error, or 0). */
int vclint_dt_node(void *fdt, unsigned int ncpus);

/* Whether @hart's timer line is high at @now. */
static inline bool vclint_timer_due(const struct vclint *c, unsigned int hart, u64 now)
{
    return hart < c->nr_harts && now >= c->mtimecmp[hart];
}

#endif
