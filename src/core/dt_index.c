/*
 * An index of the host device tree: each node's parent and phandle.
 *
 * libfdt finds a node's parent (fdt_parent_offset) and a phandle's node
 * (fdt_node_offset_by_phandle) by walking the tree from its start, a few
 * thousand instructions a time for QEMU's 8 KiB DTB; Keel's boot asked that
 * some fifty times (every "reg" read needs the parent's cell sizes, every
 * PLIC context its hart's node), 5-8 M instructions. The host DT never
 * changes once Keel runs (host_fdt), so one walk at boot records both, and
 * dt_parent() and dt_node_by_phandle() look them up. For any other tree
 * (the guests' DTs Keel builds, the host unit tests' DTBs) and a tree
 * larger than the index, they are libfdt's own calls.
 */
#include <libfdt.h>
#include <keel/platform.h>

#define DT_INDEX_MAX 512
#define DT_DEPTH_MAX 32

struct dt_index_entry {
    int node, parent;
    u32 phandle;
};

static struct {
    const void *fdt; /* NULL: no index */
    unsigned int n;
    struct dt_index_entry e[DT_INDEX_MAX]; /* in node offset order: the walk's */
} idx;

void dt_index_build(const void *fdt)
{
    int stack[DT_DEPTH_MAX], depth = 0;

    dt_index_drop();
    for (int node = 0; node >= 0 && depth >= 0; node = fdt_next_node(fdt, node, &depth)) {
        if (depth >= DT_DEPTH_MAX || idx.n == DT_INDEX_MAX)
            return; /* too deep or too big: libfdt's walks instead */
        stack[depth] = node;
        idx.e[idx.n++] = (struct dt_index_entry){
            .node = node, .parent = depth ? stack[depth - 1] : -FDT_ERR_NOTFOUND,
            .phandle = fdt_get_phandle(fdt, node) };
    }
    /* the walk ended past the root's end (depth -1), not on a damaged tree */
    if (depth < 0)
        idx.fdt = fdt;
}

void dt_index_drop(void)
{
    idx.fdt = NULL;
    idx.n = 0;
}

/* The entry of @node, by binary search; NULL if the index does not cover @fdt. */
static const struct dt_index_entry *dt_index_find(const void *fdt, int node)
{
    unsigned int lo = 0, hi = idx.n;

    if (fdt != idx.fdt)
        return NULL;
    while (lo < hi) {
        unsigned int mid = (lo + hi) / 2;
        if (idx.e[mid].node == node)
            return &idx.e[mid];
        if (idx.e[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int dt_parent(const void *fdt, int node)
{
    const struct dt_index_entry *e = dt_index_find(fdt, node);

    return e ? e->parent : fdt_parent_offset(fdt, node);
}

int dt_node_by_phandle(const void *fdt, u32 phandle)
{
    if (fdt != idx.fdt)
        return fdt_node_offset_by_phandle(fdt, phandle);
    if (phandle == 0 || phandle == (u32)-1)
        return -FDT_ERR_BADPHANDLE;
    for (unsigned int i = 0; i < idx.n; i++)
        if (idx.e[i].phandle == phandle)
            return idx.e[i].node;
    return -FDT_ERR_NOTFOUND;
}
