/*
 * PMP entries as data (see arch/pmp.h): decoding one entry, the priority
 * among entries, and the encoding of a set of regions. Section numbers are
 * the privileged spec's (1.12, 20211203).
 */
#include <arch/pmp.h>

bool pmp_entry_range(u8 cfg, u64 addr, u64 prev, u64 *lo, u64 *last)
{
    u64 a;

    addr &= PMPADDR_MASK;
    switch (cfg & PMP_A) {
    case PMP_A_TOR: /* prev <= y < addr, both in units of 4 bytes */
        *lo = (prev & PMPADDR_MASK) << 2;
        if ((addr << 2) <= *lo)
            return false;
        *last = (addr << 2) - 1;
        return true;
    case PMP_A_NA4:
        *lo = addr << 2;
        *last = *lo + 3;
        return true;
    case PMP_A_NAPOT:
        /*
         * Table 3.10: pmpaddr is the block's base (bits 55:2) with its low
         * k bits replaced by 0 then k-1 ones for a 2^(k+2)-byte block. With
         * the two address bits below pmpaddr taken as ones, the block is
         * what flipping the trailing ones and the zero above them spans.
         */
        a = addr << 2 | 3;
        *lo = a & (a + 1);
        *last = a | (a + 1);
        return true;
    default: /* OFF */
        return false;
    }
}

int pmp_decide(const u8 *cfg, const u64 *addr, unsigned int n, u64 base, u64 len, bool *whole)
{
    u64 end = base + len - 1, lo, last;

    for (unsigned int i = 0; i < n; i++) {
        if (!pmp_entry_range(cfg[i], addr[i], i ? addr[i - 1] : 0, &lo, &last))
            continue;
        if (end < lo || base > last)
            continue;
        *whole = base >= lo && end <= last;
        return (int)i;
    }
    return -1;
}

u8 pmp_set_perms(const struct pmp_set *s, u64 base, u64 len)
{
    bool whole;
    int i = pmp_decide(s->cfg, s->addr, s->n, base, len, &whole);

    return i >= 0 && whole ? s->cfg[i] & PMP_RWX : 0;
}

/* ---- encoding a set of regions ---- */

/* By base, then adjacent ones with the same permissions merged; -1 if two overlap. */
static int regions_sorted(struct pmp_region *r, unsigned int nr)
{
    unsigned int out = 0;

    for (unsigned int i = 1; i < nr; i++) /* insertion sort: a handful of regions */
        for (unsigned int j = i; j > 0 && r[j].base < r[j - 1].base; j--) {
            struct pmp_region t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    for (unsigned int i = 0; i < nr; i++) {
        struct pmp_region *prev = out ? &r[out - 1] : NULL;
        if (prev && r[i].base < prev->base + prev->size)
            return -1;
        if (prev && r[i].base == prev->base + prev->size && r[i].perms == prev->perms)
            prev->size += r[i].size;
        else
            r[out++] = r[i];
    }
    return (int)out;
}

/* 3.7.1: a NAPOT block is a power of two, aligned to itself, at least 8 bytes and the granule. */
static bool napot_fits(u64 base, u64 size, unsigned int grain)
{
    return size >= 8 && size >= (4UL << grain) && !(size & (size - 1)) && !(base & (size - 1));
}

static void emit(struct pmp_set *s, unsigned int *k, u8 cfg, u64 addr)
{
    if (*k < PMP_MAX_ENTRIES) {
        s->cfg[*k] = cfg;
        s->addr[*k] = addr;
    }
    (*k)++;
}

/* One region from entry *@k on (see pmp_layout); false if PMP cannot express it. */
static bool encode(const struct pmp_region *r, unsigned int grain, struct pmp_set *s,
                   unsigned int *k)
{
    u64 end = r->base + r->size, unit = 4UL << grain;

    if (napot_fits(r->base, r->size, grain)) {
        /* Table 3.10: the base's bits 55:2 with the low log2(size) - 3 bits set */
        emit(s, k, PMP_A_NAPOT | r->perms, r->base >> 2 | ((r->size >> 3) - 1));
        return true;
    }
    if ((r->base | r->size) & (unit - 1) || end > PMP_ADDR_LAST)
        return false; /* a TOR top of 2^56 does not fit pmpaddr either */
    if (r->size == 4) { /* grain 0 here: NA4 is selectable only then (3.7.1) */
        emit(s, k, PMP_A_NA4 | r->perms, r->base >> 2);
        return true;
    }
    /* TOR's bottom is the pmpaddr of the entry below, whatever its mode (3.7.1) */
    if (*k ? *k > PMP_MAX_ENTRIES || s->addr[*k - 1] != r->base >> 2 : r->base != 0)
        emit(s, k, PMP_A_OFF, r->base >> 2);
    emit(s, k, PMP_A_TOR | r->perms, end >> 2);
    return true;
}

int pmp_layout(const struct pmp_region *regions, unsigned int nr, unsigned int grain,
               struct pmp_set *out)
{
    struct pmp_region r[PMP_MAX_ENTRIES];
    unsigned int k = 0;
    int n;

    if (nr > PMP_MAX_ENTRIES)
        return -1;
    for (unsigned int i = 0; i < nr; i++) {
        if (!regions[i].size || regions[i].base + regions[i].size - 1 > PMP_ADDR_LAST ||
            regions[i].base + regions[i].size < regions[i].base)
            return -1;
        r[i] = regions[i];
        r[i].perms &= PMP_RWX;
    }
    n = regions_sorted(r, nr);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (!encode(&r[i], grain, out, &k))
            return -1;
    out->n = k < PMP_MAX_ENTRIES ? k : PMP_MAX_ENTRIES;
    for (unsigned int i = out->n; i < PMP_MAX_ENTRIES; i++)
        out->cfg[i] = out->addr[i] = 0;
    return (int)k;
}
