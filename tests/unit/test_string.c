/*
 * Host unit tests for src/lib/string.c's memcpy, built as keel_memcpy (see
 * unit.mk) so it can sit next to libc's: every length up to 80 bytes at
 * every alignment of source and destination, against a byte-by-byte
 * reference, with guard bytes around the destination. ASan (unit.mk) checks
 * that the word loads stay inside the aligned words of the source, which
 * the buffers here are padded to hold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

void *keel_memcpy(void *dst, const void *src, size_t n);

#define MAX_LEN 80
#define PAD 16

static void check_one(unsigned int src_off, unsigned int dst_off, size_t len)
{
    _Alignas(8) unsigned char src[MAX_LEN + 2 * PAD], dst[MAX_LEN + 2 * PAD];

    for (size_t i = 0; i < sizeof(src); i++) {
        src[i] = (unsigned char)(i * 7 + 3);
        dst[i] = 0xa5;
    }
    assert_ptr_equal(keel_memcpy(dst + PAD + dst_off, src + PAD + src_off, len),
                     dst + PAD + dst_off);
    for (size_t i = 0; i < sizeof(dst); i++) {
        size_t start = PAD + dst_off;
        unsigned char want = i >= start && i < start + len ? src[PAD + src_off + i - start] : 0xa5;
        if (dst[i] != want)
            fail_msg("src+%u dst+%u len %zu: byte %zu is %#x, not %#x", src_off, dst_off, len,
                     i, dst[i], want);
    }
}

static void test_memcpy_every_alignment_and_length(void **state)
{
    (void)state;
    for (unsigned int s = 0; s < 8; s++)
        for (unsigned int d = 0; d < 8; d++)
            for (size_t len = 0; len <= MAX_LEN - 8; len++)
                check_one(s, d, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memcpy_every_alignment_and_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
