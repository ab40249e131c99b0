/*
 * The bit-counting helpers GCC calls for __builtin_clz/ctz on a hart
 * without Zbb. Debian's cross libgcc is built for the double-float ABI
 * only and cannot be linked into Keel's soft-float image, so they are here.
 */
#include <keel/types.h>

int __clzdi2(u64 x);
int __ctzdi2(u64 x);

/* Undefined for 0, as the builtins are. */
int __clzdi2(u64 x)
{
    int n = 0;

    for (u64 bit = 1UL << 63; !(x & bit); bit >>= 1)
        n++;
    return n;
}

int __ctzdi2(u64 x)
{
    int n = 0;

    for (; !(x & 1); x >>= 1)
        n++;
    return n;
}
