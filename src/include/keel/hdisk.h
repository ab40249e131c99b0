/*
 * The host disk: one virtio-blk device of the machine that Keel drives
 * itself (drivers/virtio_blk_drv.h) and cuts into slices, sector ranges
 * each VM sees as a virtio-blk disk of its own (the emulated device,
 * keel/virtio_blk.h, over a slice backing). Several VMs share one real
 * disk this way, and what they write persists across their restarts and
 * Keel's.
 *
 * Configuration (docs/configuration.md):
 *  - /chosen/keel,host-disk = "<path>": the virtio,mmio transport node of
 *    the disk. Keel never hands it to a VM: keel,passthrough of it is
 *    refused;
 *  - a child of a keel,vm node with compatible = "keel,disk-slice":
 *    keel,sectors = <first_hi first_lo count_hi count_lo> (512-byte
 *    sectors of the host disk), optional keel,read-only. It takes a disk
 *    slot like a keel,disk module, in the order of the VM node's children.
 *    Slices of different VMs (and of one VM) never overlap: a VM whose
 *    slice would is refused, naming the ranges.
 *
 * Isolation: a slice's backing translates the guest's sectors by the
 * slice's first one and checks them against its count (the device model
 * checks the capacity already; this is the second check), so a VM reaches
 * only its own sectors. Persistence: the guest's FLUSH (or, without
 * VIRTIO_BLK_F_FLUSH, every write) becomes the driver's flush, answered
 * only when the host disk has answered it. At power-off (every VM off)
 * Keel flushes the disk before it turns the machine off.
 *
 * Locking: the driver's lock serialises every request; a transport's lock
 * (core/vdisk.c) is held around the backing calls, so it comes first.
 */
#ifndef KEEL_HDISK_H
#define KEEL_HDISK_H

#include <keel/types.h>
#include <keel/virtio_blk.h>

struct vm;
struct vm_config;
struct vm_disk_cfg;

/* ---- configuration (core/hdisk_config.c: pure DT, host-testable) ---- */

/*
 * The node /chosen/keel,host-disk names, or a negative libfdt error:
 * -FDT_ERR_NOTFOUND if none is named, -FDT_ERR_BADPATH if it names no node.
 */
int hdisk_dt_node(const void *fdt);
/* Whether [base, base + size) overlaps the host disk's registers (passthrough refuses it). */
bool hdisk_dt_overlaps(const void *fdt, u64 base, u64 size);
/* A keel,disk-slice child @node of a VM into @c->disks; NULL or why it is refused. */
const char *hdisk_parse_slice(const void *fdt, int node, struct vm_config *c);
/* After every disk of @c is parsed: NULL, or why its slices clash with each other or another VM's. */
const char *hdisk_check_slices(const struct vm_config *c);

/* ---- the disk (core/hdisk.c) ---- */

/* At boot, before any VM: finds, maps and initialises the disk /chosen names; logs either way. */
void hdisk_boot(const void *fdt);
/* Its size in 512-byte sectors; 0 if Keel drives no host disk. */
u64 hdisk_capacity(void);
bool hdisk_read_only(void);
/* Flushes the disk (before the machine powers off); logs a failure. */
void hdisk_flush_at_power_off(void);
/* The shell's `dev <vm>`: a line on the disk and its counters, if @vm has a slice of it. */
void hdisk_print(const struct vm *vm);

/* A slice's backing (the ctx of its virtio_blk_backing). */
struct hdisk_slice {
    u64 first, sectors;
};
/* Fills @b for the slice @c describes, with @s (which must outlive the device) as its ctx. */
void hdisk_slice_backing(struct virtio_blk_backing *b, struct hdisk_slice *s,
                         const struct vm_disk_cfg *c, const char *id);

#endif
