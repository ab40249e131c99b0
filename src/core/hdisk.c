/*
 * The host disk (keel/hdisk.h): brought up at boot from the transport
 * /chosen/keel,host-disk names, then reached by the VMs' slices through
 * their backings. One disk: the driver state is a file static, written at
 * boot before any VM exists and used under the driver's lock after.
 */
#include <libfdt.h>
#include <drivers/virtio_blk_drv.h>
#include <keel/arch.h>
#include <keel/buddy.h>
#include <keel/console.h>
#include <keel/hdisk.h>
#include <keel/log.h>
#include <keel/platform.h>
#include <keel/vdev.h>
#include <keel/virtio_mmio.h>
#include <keel/vm.h>

static struct virtio_blk_drv hdisk;
static bool hdisk_present;

/* The transport's registers, from its node: whole, and mapped for Keel. */
static const char *hdisk_map(const void *fdt, int node, u64 *base)
{
    u64 size;

    if (fdt_node_check_compatible(fdt, node, "virtio,mmio"))
        return "it is not a virtio,mmio transport";
    if (!dt_read_reg(fdt, node, 0, base, &size) || !dt_translate(fdt, node, base))
        return "its reg is missing or not translatable";
    if (size < VIRTIO_MMIO_SIZE)
        return "its reg is smaller than a virtio-mmio register window (0x200)";
    if (arch_map_device(*base, size))
        return "Keel cannot map its registers";
    return NULL;
}

void hdisk_boot(const void *fdt)
{
    int node = hdisk_dt_node(fdt);
    char path[64] = "";
    const char *why;
    void *dma;
    u64 base;

    if (node == -FDT_ERR_NOTFOUND)
        return; /* none configured: nothing to say */
    if (node < 0) {
        ERROR("/chosen/keel,host-disk names no node of the DT (%s); no host disk",
              fdt_strerror(node));
        return;
    }
    fdt_get_path(fdt, node, path, sizeof(path));
    if ((why = hdisk_map(fdt, node, &base))) {
        ERROR("host disk %s: %s; no host disk", path, why);
        return;
    }
    dma = page_alloc_zeroed(order_for_size(VIRTIO_BLK_DRV_DMA_SIZE));
    if (!dma) {
        ERROR("host disk %s: no memory for its queue; no host disk", path);
        return;
    }
    if (virtio_blk_drv_init(&hdisk, base, dma)) { /* it said why */
        page_free(dma);
        return;
    }
    hdisk_present = true;
}

u64 hdisk_capacity(void)
{
    return hdisk_present ? hdisk.capacity : 0;
}

bool hdisk_read_only(void)
{
    return hdisk_present && virtio_blk_drv_read_only(&hdisk);
}

/*
 * Every VM is off and the machine is about to be: whatever a guest wrote
 * without flushing reaches the disk too, as it would at a clean shutdown.
 */
void hdisk_flush_at_power_off(void)
{
    if (hdisk_present && !virtio_blk_drv_flush(&hdisk))
        ERROR("host disk at %#lx: the flush before power-off failed", hdisk.base);
}

static bool hdisk_vm_has_slice(const struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_disks; i++)
        if (vm->cfg.disks[i].slice)
            return true;
    return false;
}

void hdisk_print(const struct vm *vm)
{
    const struct virtio_blk_drv_stats *s = &hdisk.stats;

    if (!hdisk_present || !hdisk_vm_has_slice(vm))
        return;
    console_printf("host disk at %#lx: %lu sectors; %lu requests, %lu bytes read, %lu written, "
                   "%lu flushes, %lu errors%s\n", hdisk.base, hdisk.capacity,
                   vdev_stat(&s->requests), vdev_stat(&s->read_bytes),
                   vdev_stat(&s->write_bytes), vdev_stat(&s->flushes), vdev_stat(&s->errors),
                   __atomic_load_n(&hdisk.broken, __ATOMIC_RELAXED) ? "; given up (see the log)" : "");
}

/* ---- a slice's backing ---- */

/* The device model checked the capacity already; the range is checked again before the disk. */
static bool hdisk_slice_in_range(const struct hdisk_slice *s, u64 sector, u32 count)
{
    return hdisk_present && sector <= s->sectors && count <= s->sectors - sector;
}

static bool hdisk_slice_read(void *ctx, u64 sector, void *buf, u32 count)
{
    const struct hdisk_slice *s = ctx;

    return hdisk_slice_in_range(s, sector, count) &&
           virtio_blk_drv_read(&hdisk, s->first + sector, buf, count);
}

static bool hdisk_slice_write(void *ctx, u64 sector, const void *buf, u32 count)
{
    const struct hdisk_slice *s = ctx;

    return hdisk_slice_in_range(s, sector, count) &&
           virtio_blk_drv_write(&hdisk, s->first + sector, buf, count);
}

/* The whole disk: a flush cannot be narrowed to a range (5.2.6: FLUSH has no sector). */
static bool hdisk_slice_flush(void *ctx)
{
    return hdisk_present && virtio_blk_drv_flush(&hdisk);
}

void hdisk_slice_backing(struct virtio_blk_backing *b, struct hdisk_slice *s,
                         const struct vm_disk_cfg *c, const char *id)
{
    *s = (struct hdisk_slice){ .first = c->first, .sectors = c->sectors };
    *b = (struct virtio_blk_backing){
        .capacity = c->sectors,
        .read_only = c->read_only,
        .id = id,
        .read = hdisk_slice_read,
        .write = c->read_only ? NULL : hdisk_slice_write,
        .flush = hdisk_slice_flush,
        .ctx = s,
    };
}
