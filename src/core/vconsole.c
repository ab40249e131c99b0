/*
 * A VM's virtio-console port (keel,virtio-console): a virtio-console device
 * (vdev/virtio_console.c) in one of its virtio-mmio slots (core/vdev.c),
 * seen by Linux as hvc0, and a port of its own on the console multiplexer
 * (core/console_mux.c) beside the VM's UART: its output lines are tagged
 * "[name/hvc] ", and input reaches it when it has focus (Ctrl-a n).
 *
 * Output goes to the multiplexer from the model's write(), in the guest's
 * exit, under the device lock (device lock, then the multiplexer's).
 * Input arrives on the CPU that takes the physical UART's interrupt: it
 * waits in a bounded queue here, under the device lock, until the driver
 * has receive buffers for it; what overflows is counted, as for the UART.
 */
#include <keel/console.h>
#include <keel/console_mux.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/vdev.h>
#include <keel/virtio_console.h>
#include <keel/vm.h>

#define VCONSOLE_INPUT 256

struct vconsole {
    struct vdev dev;          /* first: the vdev is the port */
    struct virtio_console con;
    u8 in[VCONSOLE_INPUT];    /* typed ahead of the driver's receive buffers */
    unsigned int in_head, in_count;
    u64 in_dropped;
};

static const struct vdev_type vconsole_type;

static void vconsole_write(void *ctx, const u8 *buf, u32 len)
{
    struct vconsole *c = ctx;

    vm_hvc_write(c->dev.vm, (const char *)buf, len);
}

/* Under the device lock: queued input into the driver's buffers, as far as they go. */
static void vconsole_feed(struct vconsole *c)
{
    while (c->in_count) {
        u32 run = MIN(c->in_count, VCONSOLE_INPUT - c->in_head); /* up to the ring's end */
        u32 took = virtio_console_receive(&c->con, &c->dev.t, &c->in[c->in_head], run);
        c->in_head = (c->in_head + took) % VCONSOLE_INPUT;
        c->in_count -= took;
        if (took < run)
            break;
    }
}

static void vconsole_rx_ready(void *ctx)
{
    vconsole_feed(ctx);
}

static struct vconsole *vconsole_of(struct vm *vm)
{
    return (struct vconsole *)vdev_next(vm, &vconsole_type, NULL);
}

/* From the multiplexer: a byte typed while the port has focus. */
void vconsole_input(struct vm *vm, char ch)
{
    struct vconsole *c = vconsole_of(vm);

    if (!c || vm->state != VM_RUNNING)
        return;
    vdev_lock(&c->dev);
    if (c->in_count == VCONSOLE_INPUT) {
        c->in_dropped++;
    } else {
        c->in[(c->in_head + c->in_count) % VCONSOLE_INPUT] = (u8)ch;
        c->in_count++;
    }
    vconsole_feed(c);
    vdev_unlock(&c->dev);
}

/* A new boot: input typed for the previous one goes. */
static int vconsole_build(struct vdev *dev)
{
    struct vconsole *c = (struct vconsole *)dev;

    vdev_lock(dev);
    c->in_count = 0;
    vdev_unlock(dev);
    return 0;
}

static void vconsole_destroy(struct vdev *dev)
{
    obj_free(dev);
}

static void vconsole_print(const struct vdev *dev)
{
    const struct vconsole *c = (const struct vconsole *)dev;
    const struct virtio_console_stats *s = &c->con.stats;

    console_printf("port=hvc0 in=%lu out=%lu dropped=%lu resets=%lu", vdev_stat(&s->rx_bytes),
                   vdev_stat(&s->tx_bytes), vdev_stat(&c->in_dropped) + vdev_stat(&s->dropped),
                   vdev_stat(&s->bad_chains));
}

static const struct vdev_type vconsole_type = {
    .name = "virtio-console",
    .build = vconsole_build,
    .destroy = vconsole_destroy,
    .print = vconsole_print,
};

int vconsole_create(struct vm *vm)
{
    struct vconsole *c;
    struct virtio_console_io io;

    if (!vm->cfg.vconsole.enabled)
        return 0;
    c = obj_alloc(sizeof(*c));
    if (!c)
        return -1;
    io = (struct virtio_console_io){ vconsole_write, vconsole_rx_ready, c };
    virtio_console_init(&c->con, &io);
    if (vdev_attach(vm, &c->dev, &vconsole_type, vm->cfg.vconsole.slot, 0, &virtio_console_ops,
                    &c->con)) {
        obj_free(c);
        return -1;
    }
    return 0;
}
