/*
 * Host unit tests of the host disk driver (src/drivers/virtio_blk_drv.c)
 * and its core (src/core/hdisk.c). The "hardware" is Keel's own device
 * model: a virtio-mmio transport (src/vdev/virtio_mmio.c) in front of a
 * virtio-blk device (src/vdev/virtio_blk.c) over a RAM image, answering
 * the driver's register accesses through the fake arch/io.h of this
 * directory. The device reaches memory only through a struct virtq_mem
 * that allows the driver's DMA area alone and counts anything else, so a
 * test also shows the device was never pointed outside it. Misbehaving
 * devices are made by overriding what some registers read, or by dropping
 * notifications.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <drivers/virtio_blk_drv.h>
#include <keel/buddy.h>
#include <keel/hdisk.h>
#include <keel/irqchip.h>
#include <keel/platform.h>
#include <keel/virtio_blk.h>
#include <keel/virtio_mmio.h>
#include <keel/vm.h>

#include "fake_arch.h"

#define BASE 0x0a003e00UL
#define SECTORS 2048
#define R_DeviceFeatures 0x010
#define R_DeviceFeaturesSel 0x014
#define R_QueueNumMax 0x034
#define R_QueueNotify 0x050
#define R_Status 0x070
#define R_Version 0x004
#define R_MagicValue 0x000
#define R_BlkSize (0x100 + 20)

/* What hdisk_config.c and the fake dt.c link against. */
struct vm *vms[VM_MAX];
unsigned int nr_vms;
struct platform platform;
const struct irqchip_ops *irqchip;

int irqchip_probe(const void *fdt, struct platform *plat)
{
    return -1;
}

/* ---- the device ---- */

struct fake_dev {
    struct virtio_mmio t;
    struct virtio_blk blk;
    struct virtio_blk_ram ram;
    struct virtq_mem mem;
    u8 *image;
    u8 *dma;               /* the driver's DMA area: all the device may touch */
    unsigned int outside;  /* device accesses outside it */
    unsigned int notifies; /* QueueNotify writes that reached the device */
    unsigned int resets;   /* Status = 0 writes */
    bool fail_io;          /* the backing fails every read and write */
    /* register overrides (0: none) */
    u32 magic, version, queue_num_max, blk_size;
    u64 features_clear;    /* bits DeviceFeatures hides */
    bool drop_notify;      /* a device that never answers */
    u32 used_id, used_len; /* what the next answer's used element says instead (0: as given) */
    u32 features_sel;
};

static struct fake_dev dev;
static struct virtio_blk_drv drv;

static bool dma_inside(u64 gpa, u64 len)
{
    u64 base = (u64)dev.dma;

    return dev.dma && gpa >= base && len <= VIRTIO_BLK_DRV_DMA_SIZE &&
           gpa - base <= VIRTIO_BLK_DRV_DMA_SIZE - len;
}

static bool mem_check(void *ctx, u64 gpa, u64 len)
{
    if (dma_inside(gpa, len))
        return true;
    dev.outside++;
    return false;
}

static bool mem_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    if (!mem_check(ctx, gpa, len))
        return false;
    memcpy(buf, (void *)gpa, len);
    return true;
}

static bool mem_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    if (!mem_check(ctx, gpa, len))
        return false;
    memcpy((void *)gpa, buf, len);
    return true;
}

/* The image, unless the test makes the disk fail (the device answers VIRTIO_BLK_S_IOERR). */
static bool fake_read(void *ctx, u64 sector, void *buf, u32 count)
{
    if (dev.fail_io)
        return false;
    memcpy(buf, dev.image + sector * VIRTIO_BLK_SECTOR, (size_t)count * VIRTIO_BLK_SECTOR);
    return true;
}

static bool fake_write(void *ctx, u64 sector, const void *buf, u32 count)
{
    if (dev.fail_io)
        return false;
    memcpy(dev.image + sector * VIRTIO_BLK_SECTOR, buf, (size_t)count * VIRTIO_BLK_SECTOR);
    return true;
}

/* A RAM disk of @sectors (0: an empty transport, no device) behind the transport. */
static void dev_setup(u64 sectors, bool read_only)
{
    struct virtio_blk_backing b;

    free(dev.image);
    memset(&dev, 0, sizeof(dev));
    dev.mem = (struct virtq_mem){ mem_check, mem_read, mem_write, NULL };
    if (!sectors) {
        assert_int_equal(virtio_mmio_init(&dev.t, NULL, NULL, &dev.mem, NULL, NULL, NULL), 0);
        return;
    }
    dev.image = calloc(sectors, VIRTIO_BLK_SECTOR);
    for (u64 i = 0; i < sectors * VIRTIO_BLK_SECTOR; i++)
        dev.image[i] = (u8)(i * 7 + i / VIRTIO_BLK_SECTOR);
    virtio_blk_ram_backing(&b, &dev.ram, dev.image, sectors * VIRTIO_BLK_SECTOR, read_only, "t");
    b.read = fake_read;
    b.write = read_only ? NULL : fake_write;
    b.flush = NULL;
    b.map = NULL; /* through fake_read()/fake_write(), which can fail */
    assert_int_equal(virtio_blk_init(&dev.blk, &b), 0);
    assert_int_equal(virtio_mmio_init(&dev.t, &virtio_blk_ops, &dev.blk, &dev.mem, NULL, NULL,
                                      NULL), 0);
}

/* A device that lies in its answer: the used element it just wrote, changed (2.7.8). */
static void fake_rewrite_answer(void)
{
    u8 *used = (u8 *)dev.t.queue[0].device;
    u16 idx;
    u32 *e;

    memcpy(&idx, used + 2, sizeof(idx));
    e = (u32 *)(used + 4 + 8 * ((idx - 1) % VIRTIO_BLK_DRV_QUEUE_SIZE));
    if (dev.used_id)
        e[0] = dev.used_id;
    if (dev.used_len)
        e[1] = dev.used_len;
}

u32 fake_io_read32(u64 addr)
{
    u64 off = addr - BASE, v = 0;

    assert_true(addr >= BASE && off < VIRTIO_MMIO_SIZE);
    assert_int_equal(virtio_mmio_read(&dev.t, off, 4, &v), 0);
    if (off == R_MagicValue && dev.magic)
        v = dev.magic;
    if (off == R_Version && dev.version)
        v = dev.version;
    if (off == R_QueueNumMax && dev.queue_num_max)
        v = dev.queue_num_max;
    if (off == R_BlkSize && dev.blk_size)
        v = dev.blk_size;
    if (off == R_DeviceFeatures)
        v &= ~(u32)(dev.features_clear >> (32 * dev.features_sel));
    return (u32)v;
}

void fake_io_write32(u64 addr, u32 v)
{
    u64 off = addr - BASE;

    assert_true(addr >= BASE && off < VIRTIO_MMIO_SIZE);
    if (off == R_DeviceFeaturesSel)
        dev.features_sel = v;
    if (off == R_Status && v == 0)
        dev.resets++;
    if (off == R_QueueNotify) {
        if (dev.drop_notify)
            return;
        dev.notifies++;
    }
    assert_int_equal(virtio_mmio_write(&dev.t, off, 4, v), 0);
    if (off == R_QueueNotify && (dev.used_id || dev.used_len))
        fake_rewrite_answer();
}

/* ---- the driver's memory ---- */

static void *dma_alloc(void)
{
    void *p = aligned_alloc(4096, VIRTIO_BLK_DRV_DMA_SIZE);

    assert_non_null(p);
    memset(p, 0xee, VIRTIO_BLK_DRV_DMA_SIZE); /* the driver must set up what it uses */
    return p;
}

static int drv_up(void)
{
    dev.dma = dma_alloc();
    fake_log_reset();
    return virtio_blk_drv_init(&drv, BASE, dev.dma);
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dev.outside, 0);
    free(dev.dma);
    free(dev.image);
    dev.dma = NULL;
    dev.image = NULL;
    return 0;
}

static void assert_logged(const char *text)
{
    if (!strstr(fake_log_last, text))
        fail_msg("last log line '%s', expected '%s'", fake_log_last, text);
}

/* ---- tests ---- */

static void test_init(void **state)
{
    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    assert_logged("virtio-blk host disk at 0xa003e00: 2048 sectors (1 MiB), flush");
    assert_int_equal(drv.capacity, SECTORS);
    assert_true(virtio_blk_drv_has_flush(&drv));
    assert_false(virtio_blk_drv_read_only(&drv));
    /* VERSION_1, FLUSH and BLK_SIZE taken; the transport's INDIRECT_DESC and EVENT_IDX not */
    assert_int_equal(virtio_mmio_features(&dev.t), BIT(VIRTIO_F_VERSION_1) |
                     BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_BLK_SIZE));
    assert_true(virtio_mmio_live(&dev.t));
    assert_int_equal(dev.resets, 1); /* 3.1.1 starts with one */
}

static void test_read_write(void **state)
{
    u8 *buf = malloc(37 * VIRTIO_BLK_SECTOR), *back = malloc(37 * VIRTIO_BLK_SECTOR);
    u8 before[VIRTIO_BLK_SECTOR], after[VIRTIO_BLK_SECTOR];

    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    memcpy(before, dev.image + 99 * VIRTIO_BLK_SECTOR, sizeof(before));
    memcpy(after, dev.image + 137 * VIRTIO_BLK_SECTOR, sizeof(after));
    for (unsigned int i = 0; i < 37 * VIRTIO_BLK_SECTOR; i++)
        buf[i] = (u8)(i ^ 0x5a);
    /* 37 sectors: four full bounce buffers and a part one */
    assert_true(virtio_blk_drv_write(&drv, 100, buf, 37));
    assert_memory_equal(dev.image + 100 * VIRTIO_BLK_SECTOR, buf, 37 * VIRTIO_BLK_SECTOR);
    assert_memory_equal(dev.image + 99 * VIRTIO_BLK_SECTOR, before, sizeof(before));
    assert_memory_equal(dev.image + 137 * VIRTIO_BLK_SECTOR, after, sizeof(after));
    assert_int_equal(dev.notifies, 5);
    assert_true(virtio_blk_drv_read(&drv, 100, back, 37));
    assert_memory_equal(back, buf, 37 * VIRTIO_BLK_SECTOR);
    assert_true(virtio_blk_drv_read(&drv, SECTORS - 1, back, 1)); /* the last sector */
    assert_memory_equal(back, dev.image + (SECTORS - 1) * VIRTIO_BLK_SECTOR, VIRTIO_BLK_SECTOR);
    assert_int_equal(drv.stats.requests, 11);
    assert_int_equal(drv.stats.write_bytes, 37 * VIRTIO_BLK_SECTOR);
    assert_int_equal(drv.stats.read_bytes, 38 * VIRTIO_BLK_SECTOR);
    assert_int_equal(dev.blk.stats.requests, 11);
    free(buf);
    free(back);
}

/* More requests than a u16 counts: the ring indices wrap as 2.7.6 and 2.7.8 say. */
static void test_indices_wrap(void **state)
{
    u8 s[VIRTIO_BLK_SECTOR];

    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    for (unsigned int i = 0; i < 70000; i++) {
        memset(s, (int)(i & 0xff), sizeof(s));
        assert_true(virtio_blk_drv_write(&drv, i % SECTORS, s, 1));
    }
    assert_true(virtio_blk_drv_read(&drv, 69999 % SECTORS, s, 1));
    assert_int_equal(s[0], 69999 & 0xff);
    assert_int_equal(drv.stats.requests, 70001);
    assert_int_equal(drv.stats.errors, 0);
}

static void test_flush(void **state)
{
    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    assert_true(virtio_blk_drv_flush(&drv));
    assert_int_equal(dev.blk.stats.flushes, 1);
    assert_int_equal(dev.blk.stats.requests, 1);
    assert_int_equal(drv.stats.flushes, 1);
    /* Without VIRTIO_BLK_F_FLUSH the device writes through: nothing to send. */
    teardown(NULL);
    dev_setup(SECTORS, false);
    dev.features_clear = BIT(VIRTIO_BLK_F_FLUSH);
    assert_int_equal(drv_up(), 0);
    assert_logged("2048 sectors (1 MiB), write-through (no flush)");
    assert_true(virtio_blk_drv_flush(&drv));
    assert_int_equal(dev.notifies, 0);
    /* ... and the device model, without the feature negotiated, flushes each write itself */
    assert_true(virtio_blk_drv_write(&drv, 0, dev.image, 1));
    assert_int_equal(dev.blk.stats.flushes, 1);
}

static void test_out_of_range(void **state)
{
    u8 s[2 * VIRTIO_BLK_SECTOR];

    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    assert_false(virtio_blk_drv_read(&drv, SECTORS - 1, s, 2));
    assert_false(virtio_blk_drv_write(&drv, SECTORS, s, 1));
    assert_false(virtio_blk_drv_read(&drv, ~0ULL, s, 2)); /* sector + count wraps */
    assert_int_equal(dev.notifies, 0);
}

static void test_device_errors(void **state)
{
    u8 s[VIRTIO_BLK_SECTOR];

    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    dev.fail_io = true;
    assert_false(virtio_blk_drv_read(&drv, 5, s, 1));
    assert_logged("virtio-blk host disk at 0xa003e00: read of 512 bytes at sector 5: status 1, "
                  "0 of 513 bytes written");
    assert_int_equal(drv.stats.errors, 1);
    dev.fail_io = false;
    assert_true(virtio_blk_drv_read(&drv, 5, s, 1)); /* an error answered is not a broken disk */
    assert_false(drv.broken);
}

static void test_read_only_device(void **state)
{
    u8 s[VIRTIO_BLK_SECTOR] = { 0 };

    (void)state;
    dev_setup(SECTORS, true);
    assert_int_equal(drv_up(), 0);
    assert_logged("2048 sectors (1 MiB), flush, read-only");
    assert_true(virtio_blk_drv_read_only(&drv));
    assert_false(virtio_blk_drv_write(&drv, 0, s, 1));
    assert_int_equal(dev.notifies, 0);
    assert_true(virtio_blk_drv_read(&drv, 0, s, 1));
}

/* A request never answered: an error line, the device reset, every later request refused. */
static void test_timeout(void **state)
{
    u8 s[VIRTIO_BLK_SECTOR] = { 0 };

    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    dev.drop_notify = true;
    assert_false(virtio_blk_drv_write(&drv, 5, s, 1));
    assert_true(strstr(fake_log_last_error, "virtio-blk host disk at 0xa003e00: no answer in "
                       "10 s to a write of 512 bytes at sector 5 (device status 0xf); the disk "
                       "is given up"));
    assert_true(drv.broken);
    assert_int_equal(dev.resets, 2);
    assert_false(virtio_mmio_live(&dev.t));
    dev.drop_notify = false;
    assert_false(virtio_blk_drv_read(&drv, 0, s, 1));
    assert_false(virtio_blk_drv_flush(&drv));
    assert_int_equal(dev.notifies, 0);
}

/* 2.7.8.2: an answer whose used length misses the data is a failure; a head never made
   available breaks the driver. */
static void test_bad_answers(void **state)
{
    u8 s[VIRTIO_BLK_SECTOR];

    (void)state;
    dev_setup(SECTORS, false);
    assert_int_equal(drv_up(), 0);
    dev.used_len = VIRTIO_BLK_SECTOR; /* the data, not the status */
    assert_false(virtio_blk_drv_read(&drv, 3, s, 1));
    assert_logged("read of 512 bytes at sector 3: status 0, 512 of 513 bytes written");
    assert_false(drv.broken);
    dev.used_len = 1; /* enough for a write */
    assert_true(virtio_blk_drv_write(&drv, 3, s, 1));
    dev.used_len = 0;
    dev.used_id = 2;
    assert_false(virtio_blk_drv_read(&drv, 3, s, 1));
    assert_true(strstr(fake_log_last_error, "an answer never asked for (used id or idx) to a "
                       "read of 512 bytes at sector 3"));
    assert_true(drv.broken);
}

/* Devices the driver refuses, each with its reason. */
static void test_refused(void **state)
{
    (void)state;
    dev_setup(0, false);
    assert_int_equal(drv_up(), -1);
    assert_logged("no device behind the transport: DeviceID (0); not used");
    teardown(NULL);

    dev_setup(SECTORS, false);
    dev.magic = 0x12345678;
    assert_int_equal(drv_up(), -1);
    assert_logged("no virtio-mmio transport there: MagicValue (0x12345678)");
    teardown(NULL);

    dev_setup(SECTORS, false);
    dev.version = 1;
    assert_int_equal(drv_up(), -1);
    assert_logged("legacy or unknown virtio-mmio interface: Version (0x1)");
    teardown(NULL);

    dev_setup(SECTORS, false);
    dev.features_clear = BIT(VIRTIO_F_VERSION_1);
    assert_int_equal(drv_up(), -1);
    assert_logged("the device does not offer VIRTIO_F_VERSION_1 (legacy only)");
    assert_true(dev.t.status & VIRTIO_STATUS_FAILED);
    teardown(NULL);

    dev_setup(SECTORS, false);
    dev.blk_size = 4096;
    assert_int_equal(drv_up(), -1);
    assert_logged("its logical blocks are not 512 bytes: blk_size (0x1000)");
    assert_true(dev.t.status & VIRTIO_STATUS_FAILED);
    teardown(NULL);

    dev_setup(SECTORS, false);
    dev.queue_num_max = 2;
    assert_int_equal(drv_up(), -1);
    assert_logged("queue 0 is missing or smaller than Keel's: QueueNumMax (0x2)");
}

/* ---- core/hdisk.c: the disk from the DT, and the slices' backings ---- */

void *page_alloc_zeroed(unsigned int order)
{
    void *p = aligned_alloc(4096, 4096UL << order);

    assert_non_null(p);
    memset(p, 0, 4096UL << order);
    dev.dma = p; /* the only memory the device may reach */
    return p;
}

void page_free(void *p)
{
    free(p);
    if (p == dev.dma)
        dev.dma = NULL;
}

unsigned int order_for_size(u64 size)
{
    unsigned int order = 0;

    while ((4096UL << order) < size)
        order++;
    return order;
}

int arch_map_device(u64 base, u64 size)
{
    return 0;
}

static u8 dtb[8192] __attribute__((aligned(8)));

/* / with a virtio,mmio transport at BASE (and a UART), /chosen/keel,host-disk = @path. */
static void host_dt(const char *path, const char *compatible)
{
    fdt32_t reg[4] = { 0, cpu_to_fdt32((u32)BASE), 0, cpu_to_fdt32(0x200) };
    int root, n;

    assert_int_equal(fdt_create_empty_tree(dtb, sizeof(dtb)), 0);
    root = fdt_path_offset(dtb, "/");
    assert_int_equal(fdt_setprop_u32(dtb, root, "#address-cells", 2), 0);
    assert_int_equal(fdt_setprop_u32(dtb, root, "#size-cells", 2), 0);
    n = fdt_add_subnode(dtb, root, "virtio_mmio@a003e00");
    assert_true(n >= 0);
    assert_int_equal(fdt_setprop_string(dtb, n, "compatible", compatible), 0);
    assert_int_equal(fdt_setprop(dtb, n, "reg", reg, sizeof(reg)), 0);
    n = fdt_add_subnode(dtb, root, "chosen");
    assert_true(n >= 0);
    if (path)
        assert_int_equal(fdt_setprop_string(dtb, n, "keel,host-disk", path), 0);
}

static void test_hdisk_slices(void **state)
{
    struct vm_disk_cfg c = { .slice = true, .first = 1000, .sectors = 100 };
    struct virtio_blk_backing b;
    struct hdisk_slice s;
    u8 *buf = calloc(100, VIRTIO_BLK_SECTOR);

    (void)state;
    dev_setup(SECTORS, false);
    /* none configured: silence, no disk */
    host_dt(NULL, "virtio,mmio");
    fake_log_reset();
    hdisk_boot(dtb);
    assert_int_equal(fake_log_count, 0);
    assert_int_equal(hdisk_capacity(), 0);
    /* a path to nowhere, a node that is no transport: an error each, no disk */
    host_dt("/virtio_mmio@a000000", "virtio,mmio");
    hdisk_boot(dtb);
    assert_true(strstr(fake_log_last_error, "/chosen/keel,host-disk names no node of the DT"));
    host_dt("/virtio_mmio@a003e00", "ns16550a");
    hdisk_boot(dtb);
    assert_true(strstr(fake_log_last_error, "host disk /virtio_mmio@a003e00: it is not a "
                       "virtio,mmio transport; no host disk"));
    assert_int_equal(hdisk_capacity(), 0);

    host_dt("/virtio_mmio@a003e00", "virtio,mmio");
    hdisk_boot(dtb);
    assert_int_equal(hdisk_capacity(), SECTORS);
    assert_false(hdisk_read_only());

    hdisk_slice_backing(&b, &s, &c, "id");
    assert_int_equal(b.capacity, 100);
    assert_non_null(b.write);
    for (unsigned int i = 0; i < 100 * VIRTIO_BLK_SECTOR; i++)
        buf[i] = (u8)(i * 13);
    /* guest sector 0 is host sector 1000 */
    assert_true(b.write(b.ctx, 0, buf, 100));
    assert_memory_equal(dev.image + 1000 * VIRTIO_BLK_SECTOR, buf, 100 * VIRTIO_BLK_SECTOR);
    assert_true(b.read(b.ctx, 99, buf, 1));
    assert_memory_equal(buf, dev.image + 1099 * VIRTIO_BLK_SECTOR, VIRTIO_BLK_SECTOR);
    /* past the slice: refused before the disk is asked, even where the disk goes on */
    unsigned int notifies = dev.notifies;
    assert_false(b.write(b.ctx, 99, buf, 2));
    assert_false(b.write(b.ctx, 100, buf, 1));
    assert_false(b.read(b.ctx, 100, buf, 1));
    assert_false(b.read(b.ctx, ~0ULL, buf, 2));
    assert_int_equal(dev.notifies, notifies);
    /* a flush reaches the disk, and so does the one at power-off */
    assert_true(b.flush(b.ctx));
    assert_int_equal(dev.blk.stats.flushes, 1);
    hdisk_flush_at_power_off();
    assert_int_equal(dev.blk.stats.flushes, 2);
    /* a read-only slice has no write */
    c.read_only = true;
    hdisk_slice_backing(&b, &s, &c, "id");
    assert_null(b.write);
    assert_true(b.read_only);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_init, teardown),
        cmocka_unit_test_teardown(test_read_write, teardown),
        cmocka_unit_test_teardown(test_indices_wrap, teardown),
        cmocka_unit_test_teardown(test_flush, teardown),
        cmocka_unit_test_teardown(test_out_of_range, teardown),
        cmocka_unit_test_teardown(test_device_errors, teardown),
        cmocka_unit_test_teardown(test_read_only_device, teardown),
        cmocka_unit_test_teardown(test_timeout, teardown),
        cmocka_unit_test_teardown(test_bad_answers, teardown),
        cmocka_unit_test_teardown(test_refused, teardown),
        /* last: core/hdisk.c keeps the disk it found for good */
        cmocka_unit_test(test_hdisk_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
