/*
 * A tiny read-only flattened device tree walker (DTSpec v0.4 chapter 5),
 * enough for the guests to find their machine: no libfdt, so no riscv64
 * build of it to depend on. A node is named by the offset of its
 * FDT_BEGIN_NODE token in the structure block; -1 means none.
 */
#ifndef FDT_H
#define FDT_H

#include <stdbool.h>
#include <stdint.h>

bool dt_init(const void *blob);       /* false: no valid DTB there */
uint32_t dt_be32(const void *p);
int dt_next_node(int node, int *depth); /* -1 starts at the root (depth 0) */
int dt_subnode(int parent, int prev);   /* children of @parent, after @prev (-1: first) */
int dt_parent(int node);
const char *dt_name(int node);
const void *dt_prop(int node, const char *name, int *len);
int dt_path(const char *path);          /* "/soc/serial@10000000"; a component without @ matches any unit */
int dt_find_compatible(int from, const char *compat);
int dt_find_phandle(uint32_t phandle);
bool dt_is_compatible(int node, const char *compat);
bool dt_strlist_has(int node, const char *prop, const char *s);
uint32_t dt_u32(int node, const char *name, uint32_t dflt);
/* Entry @idx of @node's reg, with its parent's #address-cells / #size-cells. */
bool dt_reg(int node, int idx, uint64_t *base, uint64_t *size);
/* A big-endian number of @cells cells at @p. */
uint64_t dt_cells(const void *p, int cells);

#endif
