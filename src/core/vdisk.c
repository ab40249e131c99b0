/*
 * RAM disks (keel,disk modules): each VM gets, per module, a virtio-blk
 * device (vdev/virtio_blk.c) in one of its virtio-mmio slots (core/vdev.c),
 * over a private copy of the image made at every (re)build, so the
 * guest's writes last until the VM is powered off or restarted and never
 * reach the pristine module.
 *
 * Slices of the host disk (keel,disk-slice) are disks here too, over the
 * backing core/hdisk.c gives them: nothing to copy, their writes persist.
 *
 * The configuration, the slots and the guest DT nodes are in
 * core/vdev_config.c.
 */
#include <keel/buddy.h>
#include <keel/console.h>
#include <keel/hdisk.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/printf.h>
#include <keel/string.h>
#include <keel/vdev.h>
#include <keel/virtio_blk.h>
#include <keel/vm.h>

struct vdisk {
    struct vdev dev;     /* first: the vdev is the disk */
    struct virtio_blk blk;
    struct virtio_blk_ram ram;
    struct hdisk_slice slice; /* a keel,disk-slice's backing */
    void *copy;          /* this boot's image, page_alloc'd; NULL between builds */
    unsigned int order;
    char id[VIRTIO_BLK_ID_BYTES + 1];
};

static const struct vm_disk_cfg *vdisk_cfg(const struct vdisk *d)
{
    return &d->dev.vm->cfg.disks[d->dev.index];
}

/* Every build: a fresh copy of the pristine image (the transport is reset after). */
static int vdisk_build(struct vdev *dev)
{
    struct vdisk *d = (struct vdisk *)dev;
    const struct mem_range *img = &vdisk_cfg(d)->image;

    if (vdisk_cfg(d)->slice)
        return 0; /* the host disk's own sectors */
    d->order = order_for_size(img->size);
    d->copy = page_alloc(d->order);
    if (!d->copy) {
        ERROR("vm %s: not enough free memory for a copy of its disk %u (%lu KiB)",
              dev->vm->cfg.name, dev->index, img->size >> 10);
        return -1;
    }
    memcpy(d->copy, (const void *)pa_addr(img->base), img->size);
    vdev_lock(dev);
    d->ram.base = d->copy;
    vdev_unlock(dev);
    return 0;
}

static void vdisk_free(struct vdev *dev)
{
    struct vdisk *d = (struct vdisk *)dev;

    if (d->copy)
        page_free(d->copy);
    d->copy = NULL;
    d->ram.base = NULL;
}

static void vdisk_destroy(struct vdev *dev)
{
    obj_free(dev);
}

/* backing=ram, or backing=host:FIRST-LAST (the slice's sectors on the host disk). */
static void vdisk_print(const struct vdev *dev)
{
    const struct vdisk *d = (const struct vdisk *)dev;
    const struct vm_disk_cfg *c = vdisk_cfg(d);
    const struct virtio_blk_stats *s = &d->blk.stats;

    console_printf("%lu KiB ro=%s requests=%lu read=%lu written=%lu flushes=%lu errors=%lu "
                   "resets=%lu backing=", (c->slice ? c->sectors * VIRTIO_BLK_SECTOR
                                                    : c->image.size) >> 10,
                   c->read_only ? "yes" : "no", vdev_stat(&s->requests),
                   vdev_stat(&s->read_bytes), vdev_stat(&s->write_bytes),
                   vdev_stat(&s->flushes), vdev_stat(&s->errors), vdev_stat(&s->bad_chains));
    if (c->slice)
        console_printf("host:%lu-%lu", c->first, c->first + c->sectors - 1);
    else
        console_printf("ram");
}

static const struct vdev_type vdisk_type = {
    .name = "virtio-blk",
    .build = vdisk_build,
    .free = vdisk_free,
    .destroy = vdisk_destroy,
    .print = vdisk_print,
};

static int vdisk_create_one(struct vm *vm, unsigned int i)
{
    const struct vm_disk_cfg *c = &vm->cfg.disks[i];
    struct vdisk *d = obj_alloc(sizeof(*d));
    struct virtio_blk_backing b;

    if (!d)
        return -1;
    snprintf(d->id, sizeof(d->id), "keel-disk%u", i);
    if (c->slice)
        hdisk_slice_backing(&b, &d->slice, c, d->id);
    else /* the image copy comes at each build (vdisk_build sets ram.base) */
        virtio_blk_ram_backing(&b, &d->ram, NULL, c->image.size, c->read_only, d->id);
    if (virtio_blk_init(&d->blk, &b) ||
        vdev_attach(vm, &d->dev, &vdisk_type, c->slot, i, &virtio_blk_ops, &d->blk)) {
        obj_free(d);
        return -1;
    }
    return 0;
}

int vdisk_create(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_disks; i++)
        if (vdisk_create_one(vm, i))
            return -1;
    return 0;
}
