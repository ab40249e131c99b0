/*
 * The console Keel uses when /chosen/stdout-path names no PL011, or before
 * it can read that property at all (entered at the wrong EL): the PL011 of
 * a board Keel knows, found by the DT root node's "compatible".
 *
 * Called from boot.S before the relocation and possibly at EL1 or EL3,
 * where the FP/SIMD registers libfdt uses may trap: so no libfdt, no
 * pointers in data (they would not be relocated yet), byte loads only (the
 * MMU may be off, and the DTB header is all Keel can trust to be aligned).
 */
#include <keel/early_uart.h>
#include <keel/string.h>

/* Devicetree Specification v0.4, 5.2 (header) and 5.4.1 (structure block tokens) */
#define FDT_MAGIC 0xd00dfeedU
#define FDT_BEGIN_NODE 1U
#define FDT_PROP 3U
#define FDT_NOP 4U

struct board_uart {
    char compatible[20];
    u64 pl011;
};

static const struct board_uart boards[] = {
    { "linux,dummy-virt", 0x09000000 }, /* QEMU virt */
    { "brcm,bcm2711", 0xfe201000 },     /* Raspberry Pi 4: uart0, on GPIO 14/15 */
};

static u32 be32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static u64 board_pl011(const char *list, u32 len)
{
    for (u32 at = 0; at < len; ) {
        size_t n = strnlen(list + at, len - at);

        for (unsigned int i = 0; i < ARRAY_SIZE(boards); i++)
            if (n == strlen(boards[i].compatible) && !memcmp(list + at, boards[i].compatible, n))
                return boards[i].pl011;
        at += n + 1;
    }
    return 0;
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
            return board_pl011((const char *)dt + p + 12, (u32)len);
        p += 12 + ALIGN_UP(len, 4);
    }
    return 0;
}
