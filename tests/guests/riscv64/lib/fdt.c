/*
 * Flattened device tree walker: see fdt.h. Offsets are checked against the
 * structure block's size so that a damaged DTB ends a walk instead of
 * sending it through memory.
 */
#include <string.h>
#include "fdt.h"

#define FDT_MAGIC 0xd00dfeedU
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define MAX_DEPTH 16

static const uint8_t *dt_struct;
static const char *dt_strings;
static int dt_struct_size;

uint32_t dt_be32(const void *p)
{
    const uint8_t *b = p;

    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t dt_cells(const void *p, int cells)
{
    uint64_t v = 0;

    for (int i = 0; i < cells; i++)
        v = v << 32 | dt_be32((const uint8_t *)p + 4 * i);
    return v;
}

bool dt_init(const void *blob)
{
    const uint8_t *h = blob;

    if (!h || dt_be32(h) != FDT_MAGIC || dt_be32(h + 20) < 16)
        return false;
    dt_struct = h + dt_be32(h + 8);
    dt_strings = (const char *)h + dt_be32(h + 12);
    dt_struct_size = (int)dt_be32(h + 36);
    return true;
}

static uint32_t tok(int off)
{
    return off >= 0 && off + 4 <= dt_struct_size ? dt_be32(dt_struct + off) : FDT_END;
}

/* The offset of the token after the one at @off, past its payload. */
static int tok_next(int off)
{
    uint32_t t = tok(off);

    off += 4;
    if (t == FDT_BEGIN_NODE)
        off += ((int)strlen((const char *)dt_struct + off) + 4) & ~3;
    else if (t == FDT_PROP)
        off += 8 + (((int)dt_be32(dt_struct + off) + 3) & ~3);
    return off;
}

int dt_next_node(int node, int *depth)
{
    int off = 0;

    if (!dt_struct)
        return -1;
    if (node < 0)
        *depth = -1;
    else
        off = tok_next(node);
    for (; off < dt_struct_size; off = tok_next(off)) {
        switch (tok(off)) {
        case FDT_BEGIN_NODE:
            ++*depth;
            return off;
        case FDT_END_NODE:
            --*depth;
            break;
        case FDT_END:
            return -1;
        }
    }
    return -1;
}

int dt_subnode(int parent, int prev)
{
    int depth = 0, want = prev < 0 ? 1 : 0;
    int n = dt_next_node(prev < 0 ? parent : prev, &depth);

    /* depth is relative to where the walk started; below @want we left the parent */
    for (; n >= 0 && depth >= want; n = dt_next_node(n, &depth))
        if (depth == want)
            return n;
    return -1;
}

int dt_parent(int node)
{
    int stack[MAX_DEPTH], depth;

    for (int n = dt_next_node(-1, &depth); n >= 0; n = dt_next_node(n, &depth)) {
        if (depth >= MAX_DEPTH)
            continue;
        stack[depth] = n;
        if (n == node)
            return depth > 0 ? stack[depth - 1] : -1;
    }
    return -1;
}

const char *dt_name(int node)
{
    return (const char *)dt_struct + node + 4;
}

const void *dt_prop(int node, const char *name, int *len)
{
    if (node < 0 || tok(node) != FDT_BEGIN_NODE)
        return NULL;
    /* properties come before any subnode (DTSpec 5.4.2) */
    for (int off = tok_next(node); tok(off) == FDT_PROP || tok(off) == FDT_NOP; off = tok_next(off)) {
        if (tok(off) == FDT_NOP || strcmp(dt_strings + dt_be32(dt_struct + off + 8), name))
            continue;
        if (len)
            *len = (int)dt_be32(dt_struct + off + 4);
        return dt_struct + off + 12;
    }
    return NULL;
}

static bool name_matches(const char *name, const char *comp, size_t n)
{
    if (strncmp(name, comp, n))
        return false;
    return name[n] == 0 || (name[n] == '@' && !memchr(comp, '@', n));
}

int dt_path(const char *path)
{
    int node = 0;

    if (!dt_struct || *path != '/')
        return -1;
    while (*path) {
        const char *comp = path + 1, *end = strchr(comp, '/');
        size_t n = end ? (size_t)(end - comp) : strlen(comp);
        int child = -1;

        if (n) {
            while ((child = dt_subnode(node, child)) >= 0 && !name_matches(dt_name(child), comp, n))
                ;
            if (child < 0)
                return -1;
            node = child;
        }
        path = comp + n;
    }
    return node;
}

bool dt_strlist_has(int node, const char *prop, const char *s)
{
    int len;
    const char *p = dt_prop(node, prop, &len);

    for (int i = 0; p && i < len; i += (int)strlen(p + i) + 1)
        if (!strcmp(p + i, s))
            return true;
    return false;
}

bool dt_is_compatible(int node, const char *compat)
{
    return dt_strlist_has(node, "compatible", compat);
}

int dt_find_compatible(int from, const char *compat)
{
    int depth = 0;

    for (int n = dt_next_node(from, &depth); n >= 0; n = dt_next_node(n, &depth))
        if (dt_is_compatible(n, compat))
            return n;
    return -1;
}

int dt_find_phandle(uint32_t phandle)
{
    int depth;

    for (int n = dt_next_node(-1, &depth); n >= 0; n = dt_next_node(n, &depth)) {
        int len;
        const void *p = dt_prop(n, "phandle", &len);

        if (!p)
            p = dt_prop(n, "linux,phandle", &len);
        if (p && len == 4 && dt_be32(p) == phandle)
            return n;
    }
    return -1;
}

uint32_t dt_u32(int node, const char *name, uint32_t dflt)
{
    int len;
    const void *p = dt_prop(node, name, &len);

    return p && len >= 4 ? dt_be32(p) : dflt;
}

bool dt_reg(int node, int idx, uint64_t *base, uint64_t *size)
{
    int parent = dt_parent(node), len;
    /* DTSpec 2.3.5: defaults of 2 and 1 when the parent does not say */
    int ac = (int)dt_u32(parent, "#address-cells", 2), sc = (int)dt_u32(parent, "#size-cells", 1);
    const uint8_t *p = dt_prop(node, "reg", &len);

    if (!p || ac < 1 || ac > 2 || sc < 0 || sc > 2 || len < (idx + 1) * (ac + sc) * 4)
        return false;
    p += idx * (ac + sc) * 4;
    *base = dt_cells(p, ac);
    *size = dt_cells(p + 4 * ac, sc);
    return true;
}
