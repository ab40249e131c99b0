/*
 * A VM's virtio-mmio window (keel/vdev.h): the slots, the guest memory the
 * queues live in, the interrupt lines, and the lifetime of every emulated
 * virtio device, whatever its type.
 *
 * Every VM gets the whole slot window as one MMIO region, as QEMU's virt
 * boards have it: a guest built for them may probe the slots without
 * reading the DT. Empty slots read DeviceID 0, as on QEMU, and cost
 * nothing per VM: they have no state (virtio_mmio_empty_read), and a VM
 * without devices has no struct vm_virtio at all.
 */
#include <keel/console.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/panic.h>
#include <keel/string.h>
#include <keel/vdev.h>
#include <keel/vm.h>

#define VDEV_WINDOW (GUEST_VIRTIO_STRIDE * GUEST_VIRTIO_COUNT)

struct vm_virtio {
    struct virtq_mem mem;
    struct vdev *slot[GUEST_VIRTIO_COUNT];
    struct vdev *order[GUEST_VIRTIO_COUNT]; /* in attach order, for the shell and lifetime calls */
    unsigned int nr;
};

/* ---- guest memory for the queues: the VM's RAM chunks ---- */

static bool vdev_mem_check(void *ctx, u64 gpa, u64 len)
{
    return vm_ipa_range_is_ram(ctx, gpa, len);
}

/*
 * Ring indices and flags: one load or store of their size (virtq_mem's
 * rule; memcpy would go bytewise on an unaligned @buf). Chunks are 2 MiB
 * aligned in the IPA space, so an aligned 2- or 4-byte field never
 * straddles two.
 */
static bool vdev_mem_single(struct vm *vm, u64 gpa, void *buf, size_t len, bool write)
{
    u64 avail;
    void *p = vm_ipa_span(vm, gpa, &avail);
    u32 v = 0;

    if (!p || avail < len)
        return false;
    if (write) {
        memcpy(&v, buf, len);
        if (len == 2)
            __atomic_store_n((u16 *)p, (u16)v, __ATOMIC_RELAXED);
        else
            __atomic_store_n((u32 *)p, v, __ATOMIC_RELAXED);
    } else {
        v = len == 2 ? __atomic_load_n((u16 *)p, __ATOMIC_RELAXED)
                     : __atomic_load_n((u32 *)p, __ATOMIC_RELAXED);
        memcpy(buf, &v, len);
    }
    return true;
}

static bool vdev_mem_copy(void *ctx, u64 gpa, void *buf, size_t len, bool write)
{
    u8 *b = buf;
    u64 avail;

    if ((len == 2 || len == 4) && IS_ALIGNED(gpa, len))
        return vdev_mem_single(ctx, gpa, buf, len, write);
    while (len) {
        void *p = vm_ipa_span(ctx, gpa, &avail);
        size_t n = MIN(len, avail);
        if (!p)
            return false;
        write ? memcpy(p, b, n) : memcpy(b, p, n);
        gpa += n;
        b += n;
        len -= n;
    }
    return true;
}

static bool vdev_mem_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    return vdev_mem_copy(ctx, gpa, buf, len, false);
}

static bool vdev_mem_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    return vdev_mem_copy(ctx, gpa, (void *)buf, len, true);
}

const struct virtq_mem *vdev_guest_mem(struct vm *vm)
{
    return &vm->virtio->mem;
}

/* ---- the transports ---- */

static void vdev_irq(void *ctx, bool level)
{
    struct vdev *d = ctx;

    d->vm->virq->set_level(d->vm, GUEST_VIRTIO_LINE(d->slot), level);
}

static void vdev_error(void *ctx, unsigned int queue, int err)
{
    struct vdev *d = ctx;

    d->err = err;
    d->err_queue = queue;
}

static void vdev_log_broken(struct vdev *d, int err, unsigned int queue)
{
    VM_WARN(d->vm, "vm %s: %s %u (slot %u at %#lx): queue %u broken (%s); the device needs a "
            "reset", d->vm->cfg.name, d->type->name, d->index, d->slot, vdev_slot_base(d->slot),
            queue, virtq_strerror(err));
}

void vdev_lock(struct vdev *d)
{
    spin_lock(&d->lock);
}

void vdev_unlock(struct vdev *d)
{
    int err = d->err;
    unsigned int queue = d->err_queue;

    d->err = 0;
    spin_unlock(&d->lock);
    if (err)
        vdev_log_broken(d, err, queue);
}

static int vdev_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val);

/*
 * A slot with no device of Keel's: empty, as on QEMU, unless it holds a
 * passed-through device's forwarded registers (QEMU's own virtio-mmio
 * transport at 0x0a003e00: 512 bytes, trapped and replayed by
 * core/passthrough.c; vdev_config.c keeps Keel's devices out of such
 * slots). Their region is added before the window and wins vm_find_mmio(),
 * but an MMIO exit tries the vCPU's last region first (vcpu_find_mmio),
 * and after an access to a device of Keel's that is the window, which
 * covers the forwarded slot too. Answered as an empty slot, such an access
 * was lost: a QueueNotify never reached the device (its request waited for
 * ever), an InterruptStatus read 0 and its ACK went nowhere (the line
 * stayed high: an interrupt storm until Linux disabled the interrupt). So
 * in a VM with passed-through devices the address goes to the region that
 * owns it, which becomes the hint as vcpu_find_mmio() would have made it
 * (the forwarding accessors take their region from it).
 */
static struct mmio_region *vdev_forwarded_region(struct vcpu *vcpu, u64 ipa)
{
    struct mmio_region *r = vm_find_mmio(vcpu->vm, ipa);

    if (!r || r->read == vdev_read) /* the window itself: the slot is empty */
        return NULL;
    vcpu->mmio_hint = r;
    return r;
}

static int __attribute__((noinline, cold)) vdev_forwarded_read(struct vcpu *vcpu, u64 off,
                                                                unsigned int size, u64 *val)
{
    u64 ipa = GUEST_VIRTIO_BASE + off;
    struct mmio_region *r = vdev_forwarded_region(vcpu, ipa);

    return r ? r->read(vcpu, ipa - r->base, size, val)
             : virtio_mmio_empty_read(off % GUEST_VIRTIO_STRIDE, size, val);
}

static int __attribute__((noinline, cold)) vdev_forwarded_write(struct vcpu *vcpu, u64 off,
                                                                 unsigned int size, u64 val)
{
    u64 ipa = GUEST_VIRTIO_BASE + off;
    struct mmio_region *r = vdev_forwarded_region(vcpu, ipa);

    return r ? r->write(vcpu, ipa - r->base, size, val)
             : virtio_mmio_empty_write(off % GUEST_VIRTIO_STRIDE, size);
}

/* Inline in vdev_read and vdev_write: one load and a branch more than an empty slot's answer. */
static inline __attribute__((always_inline)) int vdev_no_device(struct vcpu *vcpu, u64 off,
                                                                unsigned int size, u64 *val,
                                                                bool write)
{
    if (unlikely(vcpu->vm->cfg.nr_pt))
        return write ? vdev_forwarded_write(vcpu, off, size, *val)
                     : vdev_forwarded_read(vcpu, off, size, val);
    off %= GUEST_VIRTIO_STRIDE;
    return write ? virtio_mmio_empty_write(off, size) : virtio_mmio_empty_read(off, size, val);
}

/*
 * The whole window: the slot picks the transport, the offset in it the
 * register. A VM without devices has no vm_virtio: every slot is empty.
 * Inlined into vdev_read and vdev_write, each its own direction's code.
 */
static inline __attribute__((always_inline)) int vdev_access(struct vcpu *vcpu, u64 off,
                                                           unsigned int size, u64 *val, bool write)
{
    struct vm_virtio *v = vcpu->vm->virtio;
    struct vdev *d = v ? v->slot[off / GUEST_VIRTIO_STRIDE] : NULL;
    u64 reg = off % GUEST_VIRTIO_STRIDE;
    int ret;

    if (!d)
        return vdev_no_device(vcpu, off, size, val, write);
    vdev_lock(d);
    ret = write ? virtio_mmio_write(&d->t, reg, size, *val) : virtio_mmio_read(&d->t, reg, size, val);
    vdev_unlock(d);
    if (d->type->after_unlock)
        d->type->after_unlock(d);
    return ret;
}

static int vdev_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val)
{
    return vdev_access(vcpu, off, size, val, false);
}

static int vdev_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    return vdev_access(vcpu, off, size, &val, true);
}

/* ---- lifetime ---- */

int vdev_attach(struct vm *vm, struct vdev *d, const struct vdev_type *type, unsigned int slot,
                unsigned int index, const struct virtio_dev_ops *ops, void *model)
{
    struct vm_virtio *v = vm->virtio;

    CHECK(slot < GUEST_VIRTIO_COUNT && !v->slot[slot]);
    d->lock = (spinlock_t)SPINLOCK_INIT;
    d->vm = vm;
    d->type = type;
    d->slot = slot;
    d->index = index;
    if (virtio_mmio_init(&d->t, ops, model, &v->mem, vdev_irq, vdev_error, d)) {
        ERROR("vm %s: cannot set up its %s %u", vm->cfg.name, type->name, index);
        return -1;
    }
    if (vm->cfg.qemu_compat) {
        d->t.vendor_id = VIRTIO_MMIO_VENDOR_QEMU;
        d->t.version_1_optional = true;
    }
    v->slot[slot] = d;
    v->order[v->nr++] = d;
    return 0;
}

struct vdev *vdev_next(struct vm *vm, const struct vdev_type *type, struct vdev *prev)
{
    struct vm_virtio *v = vm->virtio;
    unsigned int i = 0;

    if (!v)
        return NULL;
    if (prev)
        while (i < v->nr && v->order[i++] != prev)
            ;
    for (; i < v->nr; i++)
        if (v->order[i]->type == type)
            return v->order[i];
    return NULL;
}

static bool vdev_configured(const struct vm_config *c)
{
    return c->nr_disks || c->net.enabled || c->vconsole.enabled;
}

int vdev_create(struct vm *vm)
{
    struct vm_virtio *v;

    if (!vdev_configured(&vm->cfg))
        return 0;
    v = vm->virtio = obj_alloc(sizeof(*v));
    if (!v)
        return -1;
    v->mem = (struct virtq_mem){ vdev_mem_check, vdev_mem_read, vdev_mem_write, vm };
    return vdisk_create(vm) ?: vnet_create(vm) ?: vconsole_create(vm);
}

/* The window's region stays in vm->mmio across rebuilds: added by the first build. */
static bool vdev_window_added(const struct vm *vm)
{
    for (unsigned int i = 0; i < vm->nr_mmio; i++)
        if (vm->mmio[i].read == vdev_read)
            return true;
    return false;
}

/*
 * The window, on the first build. A VM with devices needs it; one without
 * gets it if its MMIO table has room left by passthrough, which it had
 * before every VM got a window.
 */
static int vdev_add_window(struct vm *vm)
{
    if (vdev_window_added(vm))
        return 0;
    if (vm->nr_mmio == VM_MAX_MMIO)
        return vm->virtio ? -1 : 0;
    vm_add_mmio(vm, GUEST_VIRTIO_BASE, VDEV_WINDOW, vdev_read, vdev_write);
    return 0;
}

/*
 * Every build: the window, each type's per-boot work, then the transport
 * reset (the virqchip's reset_vm drops their lines). After
 * vm_map_passthrough, so forwarded slots precede the window in vm->mmio
 * and win the lookup (and the window hands on what its hint catches of
 * them: vdev_no_device).
 */
int vdev_build(struct vm *vm)
{
    struct vm_virtio *v = vm->virtio;

    if (vdev_add_window(vm))
        return -1;
    for (unsigned int i = 0; v && i < v->nr; i++) {
        struct vdev *d = v->order[i];
        if (d->type->build && d->type->build(d))
            return -1;
        spin_lock(&d->lock);
        virtio_mmio_reset(&d->t);
        d->err = 0;
        spin_unlock(&d->lock);
    }
    return 0;
}

void vdev_free(struct vm *vm)
{
    for (unsigned int i = 0; vm->virtio && i < vm->virtio->nr; i++) {
        struct vdev *d = vm->virtio->order[i];
        if (d->type->free)
            d->type->free(d);
    }
}

void vdev_destroy(struct vm *vm)
{
    for (unsigned int i = 0; vm->virtio && i < vm->virtio->nr; i++) {
        struct vdev *d = vm->virtio->order[i];
        if (d->type->destroy)
            d->type->destroy(d);
    }
    obj_free(vm->virtio);
    vm->virtio = NULL;
}

/* The shell's `dev`: lock-free, so a busy device never holds up the console. */
void vdev_print(struct vm *vm)
{
    struct vm_virtio *v = vm->virtio;

    if (!v) {
        console_printf("vm %s: no emulated devices\n", vm->cfg.name);
        return;
    }
    for (unsigned int i = 0; i < v->nr; i++) {
        const struct vdev *d = v->order[i];
        console_printf("%-4u %-14s slot %-2u %#-11lx ", i, d->type->name, d->slot,
                       vdev_slot_base(d->slot));
        if (d->type->print)
            d->type->print(d);
        console_printf("\n");
    }
}
