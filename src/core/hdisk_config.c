/*
 * The host disk's configuration (keel/hdisk.h): which transport
 * /chosen/keel,host-disk names, and the keel,disk-slice nodes of VMs.
 * Apart from core/hdisk.c so the configuration parser's host tests and
 * fuzzer link it without the driver: the disk's size comes from
 * hdisk_capacity(), which they fake.
 */
#include <libfdt.h>
#include <keel/hdisk.h>
#include <keel/platform.h>
#include <keel/printf.h>
#include <keel/vm.h>

/* A refusal that names sectors and VMs: vms_boot() logs it before the next VM is parsed. */
static char hdisk_why[192];

int hdisk_dt_node(const void *fdt)
{
    int chosen = fdt_path_offset(fdt, "/chosen"), len, node;
    const char *path;

    if (chosen < 0)
        return chosen;
    path = fdt_getprop(fdt, chosen, "keel,host-disk", &len);
    if (!path)
        return -FDT_ERR_NOTFOUND;
    if (len < 2 || path[len - 1])
        return -FDT_ERR_BADVALUE; /* not one NUL-terminated string */
    node = fdt_path_offset(fdt, path);
    /* a disk named but missing is an error, unlike none named */
    return node == -FDT_ERR_NOTFOUND ? -FDT_ERR_BADPATH : node;
}

bool hdisk_dt_overlaps(const void *fdt, u64 base, u64 size)
{
    int node = hdisk_dt_node(fdt);
    u64 b, s;

    for (int i = 0; node >= 0 && dt_read_reg(fdt, node, i, &b, &s); i++)
        if (dt_translate(fdt, node, &b) && b < base + size && base < b + s)
            return true;
    return false;
}

static u64 cells64(const fdt32_t *p)
{
    return (u64)fdt32_to_cpu(p[0]) << 32 | fdt32_to_cpu(p[1]);
}

static u64 slice_last(const struct vm_disk_cfg *d)
{
    return d->first + d->sectors - 1;
}

const char *hdisk_parse_slice(const void *fdt, int node, struct vm_config *c)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "keel,sectors", &len);
    u64 cap = hdisk_capacity(), first, count;
    bool ro = fdt_getprop(fdt, node, "keel,read-only", NULL) != NULL;

    if (c->nr_disks == VM_MAX_DISKS)
        return "more disks (keel,disk modules and keel,disk-slice nodes) than a VM may have (4)";
    if (!p || len != 16)
        return "a keel,disk-slice needs keel,sectors = <first_hi first_lo count_hi count_lo>";
    first = cells64(p);
    count = cells64(p + 2);
    if (!cap)
        return "a keel,disk-slice, but Keel drives no host disk (see /chosen/keel,host-disk "
               "and the boot log)";
    if (!count)
        return "a keel,disk-slice of 0 sectors";
    if (first >= cap || count > cap - first) {
        snprintf(hdisk_why, sizeof(hdisk_why), "its keel,disk-slice (first sector %lu, %lu "
                 "sectors) goes past the end of the host disk (%lu sectors)", first, count, cap);
        return hdisk_why;
    }
    if (!ro && hdisk_read_only())
        return "a writable keel,disk-slice on a read-only host disk (give it keel,read-only)";
    c->disks[c->nr_disks++] = (struct vm_disk_cfg){
        .slice = true, .first = first, .sectors = count, .read_only = ro };
    return NULL;
}

static bool slices_overlap(const struct vm_disk_cfg *a, const struct vm_disk_cfg *b)
{
    return a->slice && b->slice && a->first <= slice_last(b) && b->first <= slice_last(a);
}

/*
 * Read-only slices may not share sectors either: a writable one could be
 * the other half, and one rule is easier to reason about than two.
 */
const char *hdisk_check_slices(const struct vm_config *c)
{
    for (unsigned int i = 0; i < c->nr_disks; i++) {
        const struct vm_disk_cfg *d = &c->disks[i];
        for (unsigned int j = i + 1; j < c->nr_disks; j++)
            if (slices_overlap(d, &c->disks[j])) {
                snprintf(hdisk_why, sizeof(hdisk_why), "two of its keel,disk-slice nodes overlap "
                         "(sectors %lu-%lu and %lu-%lu)", d->first, slice_last(d),
                         c->disks[j].first, slice_last(&c->disks[j]));
                return hdisk_why;
            }
        for (unsigned int v = 0; v < nr_vms; v++)
            for (unsigned int j = 0; j < vms[v]->cfg.nr_disks; j++) {
                const struct vm_disk_cfg *o = &vms[v]->cfg.disks[j];
                if (!slices_overlap(d, o))
                    continue;
                snprintf(hdisk_why, sizeof(hdisk_why), "its keel,disk-slice (sectors %lu-%lu) "
                         "overlaps vm %s's (sectors %lu-%lu) on the host disk", d->first,
                         slice_last(d), vms[v]->cfg.name, o->first, slice_last(o));
                return hdisk_why;
            }
    }
    return NULL;
}
