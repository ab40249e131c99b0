/*
 * The libc subset that Keel and libfdt need. Compiled with -fno-builtin so gcc
 * does not turn these loops back into calls to themselves.
 */
#include <keel/string.h>

/*
 * Whole 64-bit words while at least 8 bytes remain, once the destination
 * is aligned: frames and sectors move through Keel at every exit of a busy
 * device, and a byte loop costs 8 times the instructions. 16 words (128
 * bytes) an iteration, two at a time: on arm64 gcc makes each two an ldp
 * and an stp (20 instructions per 128 bytes with the loop's add, compare
 * and branch, against 5 per 8 bytes a word at a time). When the source is
 * misaligned against the destination, each stored word is put together
 * from two aligned source words (little-endian, as both ISAs run): Keel is
 * built with strict alignment (-mstrict-align; RISC-V traps misaligned
 * loads to the firmware). The first aligned load may read up to 7 bytes
 * before @src and the last up to 7 after its last byte needed so far, but
 * never outside the aligned words holding bytes of [src, src + n): same
 * page, so never a fault, and never another chunk of guest memory.
 *
 * memmove() relies on both loops for a destination below an overlapping
 * source: every word is loaded before the stores that could overwrite it
 * (a store to d[i + 1] ends before s[i + 2] when d < s).
 */
/*
 * Large copies and sets go to the CPU's own bulk instructions when the arch
 * found some at boot (arm64 FEAT_MOPS, arch/aarch64/mops.c); below
 * BULK_MIN bytes the loops here cost less than the call.
 */
void *(*memcpy_bulk)(void *dst, const void *src, size_t n);
void *(*memset_bulk)(void *dst, int c, size_t n);
#define BULK_MIN 256

#define COPY_PAIR(d, s, i)                  \
    do {                                    \
        u64 lo_ = (s)[i], hi_ = (s)[i + 1]; \
        (d)[i] = lo_;                       \
        (d)[i + 1] = hi_;                   \
    } while (0)

static void copy_words(u64 *d, const u64 *s, size_t words)
{
    for (; words >= 16; words -= 16, d += 16, s += 16) {
        COPY_PAIR(d, s, 0);
        COPY_PAIR(d, s, 2);
        COPY_PAIR(d, s, 4);
        COPY_PAIR(d, s, 6);
        COPY_PAIR(d, s, 8);
        COPY_PAIR(d, s, 10);
        COPY_PAIR(d, s, 12);
        COPY_PAIR(d, s, 14);
    }
    for (; words >= 2; words -= 2, d += 2, s += 2)
        COPY_PAIR(d, s, 0);
    if (words)
        *d = *s;
}
#undef COPY_PAIR

/*
 * @n bytes (at least 8) from @s to @d, @d aligned and @s not; returns @dst.
 * Out of line and reached by a tail call, so that memcpy() itself saves no
 * registers (RISC-V gcc would otherwise save six on every call for it).
 */
static __attribute__((noinline)) void *copy_shifted(void *dst, u64 *d, const u8 *s, size_t n)
{
    unsigned int k = (uintptr_t)s & 7, lo_shift = 8 * k, hi_shift = 64 - lo_shift;
    const u64 *w = (const u64 *)(s - k);
    size_t words = n / 8;
    u64 lo = *w++;
    u8 *db;

#define JOIN(a, b) ((a) >> lo_shift | (b) << hi_shift)
    for (; words >= 8; words -= 8, d += 8, w += 8) {
        u64 w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        u64 w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7];

        d[0] = JOIN(lo, w0);
        d[1] = JOIN(w0, w1);
        d[2] = JOIN(w1, w2);
        d[3] = JOIN(w2, w3);
        d[4] = JOIN(w3, w4);
        d[5] = JOIN(w4, w5);
        d[6] = JOIN(w5, w6);
        d[7] = JOIN(w6, w7);
        lo = w7;
    }
    for (; words; words--) {
        u64 hi = *w++;

        *d++ = JOIN(lo, hi);
        lo = hi;
    }
#undef JOIN
    s += n & ~(size_t)7;
    db = (u8 *)d;
    for (n &= 7; n; n--)
        *db++ = *s++;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;

    if (n >= BULK_MIN && memcpy_bulk)
        return memcpy_bulk(dst, src, n);
    if (n >= 16) {
        for (; (uintptr_t)d & 7; n--)
            *d++ = *s++;
        if ((uintptr_t)s & 7)
            return copy_shifted(dst, (u64 *)d, s, n);
        copy_words((u64 *)d, (const u64 *)s, n / 8);
        d += n & ~(size_t)7;
        s += n & ~(size_t)7;
        n &= 7;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;

    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    u8 *d = dst;

    if (n >= BULK_MIN && memset_bulk)
        return memset_bulk(dst, c, n);
    /*
     * A word at a time once @d is aligned, 64 bytes an iteration (stp on
     * arm64), the byte repeated in each: page tables and structures zeroed,
     * the allocator's page metadata set to 0xff, the part of a guest RAM
     * block an image does not cover (any size) zeroed.
     */
    if (n >= 16) {
        u64 *w, v = (u8)c * 0x0101010101010101UL;

        for (; (uintptr_t)d & 7; n--)
            *d++ = (u8)c;
        for (w = (u64 *)d; n >= 64; n -= 64, w += 8) {
            w[0] = v;
            w[1] = v;
            w[2] = v;
            w[3] = v;
            w[4] = v;
            w[5] = v;
            w[6] = v;
            w[7] = v;
        }
        for (; n >= 8; n -= 8)
            *w++ = v;
        d = (u8 *)w;
    }
    while (n--)
        *d++ = (u8)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const u8 *p = s;

    for (; n; n--, p++)
        if (*p == (u8)c)
            return (void *)p;
    return NULL;
}

size_t strlen(const char *s)
{
    const char *p = s;

    while (*p)
        p++;
    return p - s;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (u8)*a - (u8)*b;
        if (!*a)
            break;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;

    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    unsigned long v = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = (s[0] == '0') ? 8 : 10;
    }
    for (int d; (d = digit_value(*s)) < base; s++)
        v = v * base + d;
    if (end)
        *end = (char *)s;
    return v;
}
