/*
 * Lookup in the symbol table that the second link embeds (scripts/gensyms.py).
 * It holds offsets from _start, so it is right wherever Keel was loaded.
 */
#include <keel/symbols.h>

extern const u64 ksyms_count;
extern const u64 ksyms_addrs[];
extern const u32 ksyms_name_offsets[];
extern const char ksyms_names[];
extern char _start[];

const char *symbol_lookup(u64 addr, u64 *offset)
{
    u64 lo = 0, hi = ksyms_count;

    if (!hi || addr < (u64)_start)
        return NULL;
    addr -= (u64)_start;
    if (addr < ksyms_addrs[0])
        return NULL;
    while (hi - lo > 1) {
        u64 mid = (lo + hi) / 2;
        if (ksyms_addrs[mid] <= addr)
            lo = mid;
        else
            hi = mid;
    }
    if (offset)
        *offset = addr - ksyms_addrs[lo];
    return &ksyms_names[ksyms_name_offsets[lo]];
}
