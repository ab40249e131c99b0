/*
 * Host unit tests for src/lib/string.c's memcpy, memmove and memset, built
 * as keel_memcpy etc. (see unit.mk) so they can sit next to libc's. memcpy:
 * every length up to 300 bytes (the 64-byte unrolled loops run up to four
 * times, then the word and byte tails) at every alignment of source and
 * destination, against a byte-by-byte reference, with guard bytes around
 * the destination. ASan (unit.mk) checks that the word loads stay inside
 * the aligned words of the source, which the buffers here are padded to
 * hold. memmove: a destination below or above an overlapping source, every
 * distance and length. memset: zero (its word path) and not, every
 * alignment and length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

void *keel_memcpy(void *dst, const void *src, size_t n);
void *keel_memmove(void *dst, const void *src, size_t n);
void *keel_memset(void *dst, int c, size_t n);

#define MAX_LEN 308
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

/* keel_memmove(buf + dst, buf + src, len) against a copy made first. */
static void check_move(size_t src, size_t dst, size_t len)
{
    _Alignas(8) unsigned char buf[MAX_LEN + 2 * PAD], want[MAX_LEN + 2 * PAD];

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = want[i] = (unsigned char)(i * 13 + 1);
    for (size_t i = 0; i < len; i++)
        want[dst + i] = buf[src + i];
    assert_ptr_equal(keel_memmove(buf + dst, buf + src, len), buf + dst);
    for (size_t i = 0; i < sizeof(buf); i++)
        if (buf[i] != want[i])
            fail_msg("memmove src %zu dst %zu len %zu: byte %zu is %#x, not %#x", src, dst, len,
                     i, buf[i], want[i]);
}

/* Overlapping both ways: memcpy's word loops serve a destination below the source. */
static void test_memmove_overlap(void **state)
{
    (void)state;
    for (size_t a = 0; a < 8; a++)
        for (size_t dist = 1; dist <= 72; dist++)
            for (size_t len = dist; len <= 200; len += 7) {
                check_move(PAD + a + dist, PAD + a, len); /* down: memcpy */
                check_move(PAD + a, PAD + a + dist, len); /* up: backwards */
            }
}

static void test_memset_every_alignment_and_length(void **state)
{
    _Alignas(8) unsigned char buf[MAX_LEN + 2 * PAD];

    (void)state;
    for (int c = 0; c < 2; c++)
        for (size_t off = 0; off < 8; off++)
            for (size_t len = 0; len <= MAX_LEN - 8; len++) {
                memset(buf, 0xa5, sizeof(buf));
                assert_ptr_equal(keel_memset(buf + PAD + off, c ? 0x3c : 0, len), buf + PAD + off);
                for (size_t i = 0; i < sizeof(buf); i++) {
                    size_t start = PAD + off;
                    unsigned char want = i >= start && i < start + len ? (c ? 0x3c : 0) : 0xa5;
                    if (buf[i] != want)
                        fail_msg("memset off %zu len %zu c %d: byte %zu is %#x", off, len, c, i,
                                 buf[i]);
                }
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memcpy_every_alignment_and_length),
        cmocka_unit_test(test_memmove_overlap),
        cmocka_unit_test(test_memset_every_alignment_and_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
