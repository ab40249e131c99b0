/*
 * Physical memory protection entries (privileged spec 1.12, 3.7), as data:
 * what one entry matches, which entry of a list decides for an access, and
 * the entries that give U and S exactly a set of regions. Pure: no CSR is
 * touched here (hartpmp.c programs the real hart; vhart.c keeps the guest's
 * own entries), so it is unit-tested on the host (tests/unit/pmp).
 */
#ifndef ARCH_PMP_H
#define ARCH_PMP_H

#include <keel/types.h>
#include <arch/mcsr.h> /* PMP_R, PMP_A_*, PMPADDR_MASK */

/* 3.7: an implementation has 0, 16 or 64 entries */
#define PMP_MAX_ENTRIES 64
/* pmpaddr holds bits 55:2 of an address (3.7.1): the last byte PMP can name */
#define PMP_ADDR_LAST ((PMPADDR_MASK << 2) | 3)
#define PMP_RWX (PMP_R | PMP_W | PMP_X)

/*
 * The bytes entry @cfg/@addr matches, [*lo, *last] (3.7.1, Table 3.10 and
 * "Address Matching"): TOR from @prev (the entry below's pmpaddr; 0 for
 * entry 0) up to @addr, NA4 the 4 bytes at @addr, NAPOT the naturally
 * aligned block @addr's trailing ones say. False if it matches nothing: A
 * is OFF, or a TOR's top is not above its bottom.
 */
bool pmp_entry_range(u8 cfg, u64 addr, u64 prev, u64 *lo, u64 *last);

/*
 * The entry that decides an access of @len bytes at @base among @n entries
 * (3.7.1 "Priority and Matching Logic"): the lowest-numbered one matching
 * any of its bytes, or -1 if none does. *@whole says whether that entry
 * matches every byte (if not, the access fails whatever its permissions).
 */
int pmp_decide(const u8 *cfg, const u64 *addr, unsigned int n, u64 base, u64 len, bool *whole);

/* A host-physical range U and S are to reach, with PMP_R/W/X. */
struct pmp_region {
    u64 base, size;
    u8 perms;
};

struct pmp_set {
    unsigned int n;     /* entries 0..n-1 used; the rest OFF */
    u8 cfg[PMP_MAX_ENTRIES];
    u64 addr[PMP_MAX_ENTRIES];
};

/*
 * The entries giving U and S exactly @regions (@nr of them, any order, none
 * overlapping) with their permissions, none locked, for a hart whose PMP
 * granularity is 2^(@grain + 2) bytes (3.7.1: G = @grain). Adjacent
 * regions with the same permissions become one; each region is then a NAPOT
 * entry where it is a naturally aligned power of two, an NA4 one where it
 * is 4 bytes (G = 0), else a TOR one, with an OFF entry below holding its
 * base unless the entry below already ends there. Returns the number of
 * entries needed (out gets at most PMP_MAX_ENTRIES of them and n = that
 * count or PMP_MAX_ENTRIES), or -1: a region empty, overlapping another,
 * not aligned to the granularity, or past what pmpaddr can name.
 */
int pmp_layout(const struct pmp_region *regions, unsigned int nr, unsigned int grain,
               struct pmp_set *out);

/*
 * What @s gives U and S for @len bytes at @base: the decisive entry's
 * PMP_R/W/X, 0 if none matches or it does not match them all.
 */
u8 pmp_set_perms(const struct pmp_set *s, u64 base, u64 len);

#endif
