/*
 * A VM's emulated virtio devices (core/vdev.c): the window of virtio-mmio
 * slots QEMU's virt board has (GUEST_VIRTIO_*, arch/guest_layout.h), each
 * slot either empty (DeviceID 0, as on QEMU) or holding one device: a disk
 * (core/vdisk.c), a network port (core/vnet.c) or a console port
 * (core/vconsole.c). This layer owns what they share: the slot lookup on
 * the MMIO exit, the per-device lock, guest memory for the queues (the
 * VM's RAM chunks, through checked copies), the interrupt line, the
 * broken-queue log line, and the lifetime calls.
 *
 * Locking: a lock per device (the empty slots share one) serialises every
 * call into its transport and device model, as keel/virtio_mmio.h asks;
 * the interrupt line is set under it (device lock, then the virqchip's).
 * Nothing is logged under it. Work that must reach another device (a
 * network frame for another VM) is done by the type's after_unlock(),
 * which runs on the same vCPU once the device's lock is dropped, so no
 * two device locks are ever held together.
 */
#ifndef KEEL_VDEV_H
#define KEEL_VDEV_H

#include <arch/guest_layout.h>
#include <keel/spinlock.h>
#include <keel/types.h>
#include <keel/virtio_mmio.h>

struct vm;
struct vdev;

/* What differs between device types; every function may be NULL. */
struct vdev_type {
    const char *name;                        /* "virtio-blk": the shell's type column */
    int (*build)(struct vdev *d);            /* each (re)build, before the transport reset */
    void (*free)(struct vdev *d);            /* the VM's memory goes (stop, rebuild, destroy) */
    void (*destroy)(struct vdev *d);         /* the VM goes: release what create took */
    void (*after_unlock)(struct vdev *d);    /* after each guest access, lock dropped */
    void (*print)(const struct vdev *d);     /* the shell's `dev`: the rest of the line */
};

struct vdev {
    struct virtio_mmio t;
    spinlock_t lock;               /* serialises t and the model behind it */
    struct vm *vm;
    const struct vdev_type *type;
    unsigned int slot, index;      /* window slot; index among the VM's devices of its type */
    int err;                       /* a queue broke inside a call: logged after the unlock */
    unsigned int err_queue;
};

/*
 * A device counter for the shell's `dev`, read without the device's lock
 * (counters move under it), so a busy device never holds up the console.
 */
static inline u64 vdev_stat(const u64 *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* The base of slot @slot in the guest's physical map. */
static inline u64 vdev_slot_base(unsigned int slot)
{
    return GUEST_VIRTIO_BASE + slot * GUEST_VIRTIO_STRIDE;
}

/*
 * At VM creation, by a device type: puts @d (zeroed, allocated by the
 * type, with the device model @model driven by @ops) in its slot. 0, or -1
 * (logged) if the transport refuses the ops.
 */
int vdev_attach(struct vm *vm, struct vdev *d, const struct vdev_type *type, unsigned int slot,
                unsigned int index, const struct virtio_dev_ops *ops, void *model);

/* @vm's devices of @type, in slot order from the top (the order they were attached). */
struct vdev *vdev_next(struct vm *vm, const struct vdev_type *type, struct vdev *prev);

/* For a device type whose model uses a queue outside a guest access: the memory and lock rules above. */
const struct virtq_mem *vdev_guest_mem(struct vm *vm);
/*
 * The device's lock, for a type that drives its model outside a guest
 * access (a frame arriving from another VM). vdev_unlock() logs a queue
 * that broke meanwhile, after the lock is dropped.
 */
void vdev_lock(struct vdev *d);
void vdev_unlock(struct vdev *d);

/* The VM's lifetime (core/vm.c): everything configured, at once. */
int vdev_create(struct vm *vm);
int vdev_build(struct vm *vm);
void vdev_free(struct vm *vm);
void vdev_destroy(struct vm *vm);
void vdev_print(struct vm *vm);

#endif
