/*
 * The libc subset that Keel and libfdt need. Compiled with -fno-builtin so gcc
 * does not turn these loops back into calls to themselves.
 */
#include <keel/string.h>

/*
 * Whole 64-bit words while at least 8 bytes remain, once the destination
 * is aligned: frames and sectors move through Keel at every exit of a busy
 * device, and a byte loop costs 8 times the instructions. When the source
 * is misaligned against the destination, each stored word is put together
 * from two aligned source words (little-endian, as both ISAs run): Keel is
 * built with strict alignment (-mstrict-align; RISC-V traps misaligned
 * loads to the firmware). The first aligned load may read up to 7 bytes
 * before @src and the last up to 7 after its last byte needed so far, but
 * never outside the aligned words holding bytes of [src, src + n): same
 * page, so never a fault, and never another chunk of guest memory.
 */
static void copy_shifted(u64 *d, const u8 *s, size_t words)
{
    unsigned int k = (uintptr_t)s & 7, lo_shift = 8 * k, hi_shift = 64 - lo_shift;
    const u64 *w = (const u64 *)(s - k);
    u64 lo = *w++;

    while (words--) {
        u64 hi = *w++;
        *d++ = lo >> lo_shift | hi << hi_shift;
        lo = hi;
    }
}

void *memcpy(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;

    if (n >= 16) {
        for (; (uintptr_t)d & 7; n--)
            *d++ = *s++;
        if ((uintptr_t)s & 7) {
            copy_shifted((u64 *)d, s, n / 8);
        } else {
            for (size_t i = 0; i < n / 8; i++)
                ((u64 *)d)[i] = ((const u64 *)s)[i];
        }
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

    if (c == 0 && IS_ALIGNED((uintptr_t)d | n, 8)) {
        for (; n; n -= 8, d += 8)
            *(u64 *)d = 0;
        return dst;
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
