/*
 * The console Keel uses when /chosen/stdout-path names no PL011, or before
 * it can read that property at all (entered at the wrong EL): the PL011 of
 * a board Keel knows (src/platform/boards.c), found by the DT root node's
 * "compatible".
 *
 * Called from boot.S before the relocation and possibly at EL1 or EL3,
 * where the FP/SIMD registers libfdt uses may trap: so no libfdt, no
 * pointers in data (they would not be relocated yet), byte loads only (the
 * MMU may be off, and the DTB header is all Keel can trust to be aligned).
 */
#include <keel/early_uart.h>
#include <keel/platform.h>
#include <keel/string.h>

/* Devicetree Specification v0.4, 5.2 (header) and 5.4.1 (structure block tokens) */
#define FDT_MAGIC 0xd00dfeedU
#define FDT_BEGIN_NODE 1U
#define FDT_PROP 3U
#define FDT_NOP 4U

static u32 be32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/*
 * The root node's properties come first in the structure block, before any
 * child node. Offsets are checked in 64 bits: the header is not trusted.
 */
u64 early_uart_for_board(const void *fdt)
{
    static const char compat[] = "compatible";
    const u8 *dt = fdt;
    u64 size, p, strings;

    if (!dt || be32(dt) != FDT_MAGIC)
        return 0;
    size = be32(dt + 4);
    p = be32(dt + 8);
    strings = be32(dt + 12);
    if (p + 8 > size || be32(dt + p) != FDT_BEGIN_NODE || dt[p + 4])
        return 0;
    for (p += 8; p + 12 <= size; ) {
        u32 token = be32(dt + p);
        u64 len = be32(dt + p + 4), name = strings + be32(dt + p + 8);

        if (token == FDT_NOP) {
            p += 4;
            continue;
        }
        if (token != FDT_PROP || p + 12 + len > size || name + sizeof(compat) > size)
            return 0;
        if (!memcmp(dt + name, compat, sizeof(compat)))
            return platform_board_pl011((const char *)dt + p + 12, (u32)len);
        p += 12 + ALIGN_UP(len, 4);
    }
    return 0;
}
