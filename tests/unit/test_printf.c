/*
 * Host unit tests for src/lib/printf.c. Keel's vsnprintf/snprintf are built
 * as keel_vsnprintf/keel_snprintf (see unit.mk) so they can sit next to
 * libc's, which most cases are checked against.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <keel/printf.h>

/* From here on snprintf/vsnprintf are libc's again. */
#undef snprintf
#undef vsnprintf
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF 256

/* Keel and libc must agree on the text and the returned length. */
static void __attribute__((format(printf, 2, 3))) check_libc(int line, const char *fmt, ...)
{
    char k[BUF], l[BUF];
    va_list ap, ap2;
    int kn, ln;

    memset(k, 'X', sizeof(k));
    va_start(ap, fmt);
    va_copy(ap2, ap);
    kn = keel_vsnprintf(k, sizeof(k), fmt, ap);
    ln = vsnprintf(l, sizeof(l), fmt, ap2);
    va_end(ap2);
    va_end(ap);
    if (strcmp(k, l) || kn != ln)
        print_error("format \"%s\": keel \"%s\" (%d), libc \"%s\" (%d)\n", fmt, k, kn, l, ln);
    _assert_string_equal(k, l, __FILE__, line);
    _assert_int_equal((uintmax_t)kn, (uintmax_t)ln, __FILE__, line);
}

/* Keel's output must be @expect (for cases where libc differs or is undefined). */
static void __attribute__((format(printf, 3, 4)))
check_expect(int line, const char *expect, const char *fmt, ...)
{
    char k[BUF];
    va_list ap;
    int kn;

    memset(k, 'X', sizeof(k));
    va_start(ap, fmt);
    kn = keel_vsnprintf(k, sizeof(k), fmt, ap);
    va_end(ap);
    if (strcmp(k, expect))
        print_error("format \"%s\": keel \"%s\", expected \"%s\"\n", fmt, k, expect);
    _assert_string_equal(k, expect, __FILE__, line);
    _assert_int_equal((uintmax_t)kn, (uintmax_t)strlen(expect), __FILE__, line);
}

#define SAME(...) check_libc(__LINE__, __VA_ARGS__)
#define EXPECT(...) check_expect(__LINE__, __VA_ARGS__)

static void test_plain_text(void **state)
{
    (void)state;
    SAME("hello, world");
    SAME("%s", "");
    EXPECT("", "%s", "");
    EXPECT("100%", "100%%");
    EXPECT("%%", "%%%%");
}

static void test_signed(void **state)
{
    (void)state;
    SAME("%d", 0);
    SAME("%d", 42);
    SAME("%d", -42);
    SAME("%i", -7);
    SAME("%i", 123456789);
    SAME("%d", INT_MAX);
    SAME("%d", INT_MIN);
    EXPECT("-2147483648", "%d", INT_MIN);
    SAME("%d|%d|%d", 1, -2, 3);
}

static void test_unsigned(void **state)
{
    (void)state;
    SAME("%u", 0U);
    SAME("%u", 4000000000U);
    SAME("%u", UINT_MAX);
    SAME("%x", 0xdeadbeefU);
    SAME("%X", 0xdeadbeefU);
    SAME("%x", 0U);
    SAME("%o", 8U);
    SAME("%o", 0U);
    SAME("%o", 0777U);
    SAME("%o", UINT_MAX);
    EXPECT("37777777777", "%o", UINT_MAX);
    /* a negative int through %u / %x is its two's complement */
    SAME("%u", (unsigned int)-1);
    SAME("%x", (unsigned int)-2);
}

static void test_long_long_size(void **state)
{
    (void)state;
    SAME("%ld", LONG_MIN);
    SAME("%ld", LONG_MAX);
    SAME("%lu", ULONG_MAX);
    SAME("%lx", 0x123456789abcdef0UL);
    SAME("%li", -1L);
    SAME("%lld", LLONG_MIN);
    EXPECT("-9223372036854775808", "%lld", LLONG_MIN);
    SAME("%lld", LLONG_MAX);
    SAME("%llu", ULLONG_MAX);
    SAME("%llx", ULLONG_MAX);
    SAME("%llX", 0xfedcba9876543210ULL);
    SAME("%llo", ULLONG_MAX);
    SAME("%zu", (size_t)SIZE_MAX);
    SAME("%zx", (size_t)0x1000);
    SAME("%zd", (ssize_t)-5);
    SAME("%zi", (ssize_t)SSIZE_MAX);
    /* the argument sizes must line up: a 64-bit value between two ints */
    SAME("%d %llx %d", 1, 0x1122334455667788ULL, 2);
    SAME("%d %zu %d", -1, (size_t)77, -2);
}

static void test_short_char(void **state)
{
    (void)state;
    SAME("%hd", (short)-1234);
    SAME("%hd", (int)(short)70000);
    SAME("%hu", (unsigned short)65535);
    SAME("%hx", (unsigned short)0xbeef);
    SAME("%hhd", (signed char)-56);
    SAME("%hhu", (unsigned char)200);
    SAME("%hhx", (unsigned char)0xff);
    /* values beyond the type are truncated to it, as C requires of the callee */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
    EXPECT("4464", "%hd", 70000);
    EXPECT("1", "%hu", 65537);
    EXPECT("-56", "%hhd", 200);
    EXPECT("ff", "%hhx", 0x1ff);
#pragma GCC diagnostic pop
}

static void test_pointer(void **state)
{
    (void)state;
    int x;

    SAME("%p", (void *)0x1234);
    SAME("%p", (void *)&x);
    SAME("%p", (void *)UINTPTR_MAX);
    SAME("[%20p]", (void *)0xabcdef);
    SAME("[%-20p]", (void *)0xabcdef);
    EXPECT("0xffff000040080000", "%p", (void *)0xffff000040080000UL);
    /* libc prints "(nil)"; Keel prints the number */
    EXPECT("0", "%p", (void *)0);
}

static void test_string_char(void **state)
{
    (void)state;
    const char *volatile null = NULL; /* hidden from -Wformat */

    SAME("%s", "hello");
    SAME("%s and %s", "this", "that");
    SAME("%c", 'A');
    SAME("%c%c%c", 'a', 'b', 'c');
    SAME("[%c]", ' ');
    EXPECT("(null)", "%s", null);
    EXPECT("[(null)]", "[%s]", null);
    EXPECT("[  (null)]", "[%8s]", null);
}

static void test_width(void **state)
{
    (void)state;
    SAME("[%5d]", 42);
    SAME("[%5d]", -42);
    SAME("[%2d]", 12345);
    SAME("[%1d]", 0);
    SAME("[%8x]", 0xbeefU);
    SAME("[%10s]", "abc");
    SAME("[%2s]", "abcdef");
    SAME("[%20llu]", ULLONG_MAX);
    SAME("[%*d]", 6, 42);
    SAME("[%*s]", 4, "x");
    SAME("[%3c]", 'z');
    SAME("[%-3c]", 'z');
}

static void test_zero_and_left(void **state)
{
    (void)state;
    SAME("[%05d]", 42);
    SAME("[%05d]", -42);
    SAME("[%08x]", 0xbeefU);
    SAME("[%016lx]", 0x40080000UL);
    SAME("[%02x]", 0xabcU);
    SAME("[%-5d]", 42);
    SAME("[%-5d]", -42);
    SAME("[%-8x]", 0xbeefU);
    SAME("[%-10s]", "abc");
    SAME("[%-*d]", 6, 42);
    SAME("[%*d]", -6, 42); /* a negative '*' width means '-' */
    SAME("[%-*s]", 4, "x");
    SAME("[%*s]", -4, "x");
    /* '-' wins over '0' */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
    SAME("[%-05d]", 42);
    SAME("[%0-5d]", -42);
#pragma GCC diagnostic pop
}

static void test_plus_space(void **state)
{
    (void)state;
    SAME("%+d", 5);
    SAME("%+d", -5);
    SAME("%+d", 0);
    SAME("%+ld", LONG_MIN);
    SAME("[%+6d]", 42);
    SAME("[%+06d]", 42);
    SAME("[%-+6d]", 42);
    SAME("% d", 5);
    SAME("% d", -5);
    SAME("[% 05d]", 7);
    SAME("%+i", 99);
    /* the sign flags are for signed conversions only */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
    EXPECT("ff", "%+x", 0xffU);
    EXPECT("7", "%+u", 7U);
    EXPECT("7", "% u", 7U);
    EXPECT("10", "%+o", 8U);
    EXPECT("0x10", "%+p", (void *)0x10);
#pragma GCC diagnostic pop
}

static void test_alternate(void **state)
{
    (void)state;
    SAME("%#x", 0xffU);
    SAME("%#X", 0xffU);
    SAME("%#x", 0U);
    SAME("%#lx", 0xffff000000000000UL);
    SAME("[%#10x]", 0x1234U);
    SAME("[%#010x]", 0x1234U);
    SAME("[%-#10x]", 0x1234U);
    SAME("%#o", 8U);
    SAME("%#o", 0U);
    SAME("[%#6o]", 8U);
}

static void test_string_precision(void **state)
{
    (void)state;
    const char *volatile null = NULL;
    /* precision bounds the read: the array need not be terminated */
    static const char unterminated[3] = { 'a', 'b', 'c' };

    SAME("%.3s", "abcdef");
    SAME("%.0s", "abcdef");
    SAME("%.10s", "abc");
    SAME("[%6.2s]", "abcdef");
    SAME("[%-6.2s]", "abcdef");
    SAME("%.*s", 2, "xyz");
    SAME("%.*s", 0, "xyz");
    SAME("%.*s", -1, "xyz"); /* negative precision: as if omitted */
    EXPECT("abc", "%.3s", unterminated);
    EXPECT("ab", "%.2s", unterminated);
    EXPECT("(nu", "%.3s", null);
}

static void test_mixed(void **state)
{
    (void)state;
    SAME("vm%u: %s at %#lx (%d pages, %c)", 3U, "ram", 0x80000000UL, -1, 'y');
    SAME("[%-8s|%8s|%08llx|%-4d|%4u]", "left", "right", 0xabcULL, 7, 9U);
    SAME("%s%%%d", "rate ", 50);
}

static void test_odd_formats(void **state)
{
    (void)state;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    /* An unknown conversion is printed as it was written. */
    EXPECT("%q", "%q");
    EXPECT("a%wb", "a%wb");
    /* A trailing '%' is dropped and the string ends there. */
    EXPECT("abc", "abc%");
    EXPECT("abc", "abc%-08");
#pragma GCC diagnostic pop
}

/* snprintf into exactly @size bytes of heap (so ASan sees any overrun). */
static void check_truncation(const char *full, int size, const char *fmt, ...)
{
    char *buf = size ? malloc((size_t)size) : NULL;
    va_list ap;
    int n;

    if (size)
        memset(buf, 'X', (size_t)size);
    va_start(ap, fmt);
    n = keel_vsnprintf(buf, (size_t)size, fmt, ap);
    va_end(ap);
    assert_int_equal(n, strlen(full));
    if (size) {
        size_t keep = MIN((size_t)size - 1, strlen(full));
        assert_memory_equal(buf, full, keep);
        assert_int_equal(buf[keep], '\0');
        free(buf);
    }
}

static void test_truncation(void **state)
{
    (void)state;
    const char *full = "value=-12345 name=keel hex=0x00c0ffee!";

    for (int size = 0; size <= (int)strlen(full) + 2; size++)
        check_truncation(full, size, "value=%d name=%s hex=%#010x%c", -12345, "keel", 0xc0ffeeU,
                         '!');
    /* padding beyond the buffer is counted too */
    for (int size = 0; size < 8; size++)
        check_truncation("                                      42", size, "%40d", 42);
}

static void test_truncation_edges(void **state)
{
    (void)state;
    char buf[8];

    /* size 0: nothing is written, not even the terminator */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(keel_snprintf(buf, 0, "%s", "abc"), 3);
    assert_int_equal(buf[0], 'X');
    assert_int_equal(keel_snprintf(NULL, 0, "%d", INT_MIN), 11);
    /* size 1: only the terminator */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(keel_snprintf(buf, 1, "%s", "abc"), 3);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'X');
    /* exactly fitting, and one byte short */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(keel_snprintf(buf, 8, "%s", "1234567"), 7);
    assert_string_equal(buf, "1234567");
    assert_int_equal(keel_snprintf(buf, 8, "%s", "12345678"), 8);
    assert_string_equal(buf, "1234567");
    /* an empty result still terminates */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(keel_snprintf(buf, sizeof(buf), "%s", ""), 0);
    assert_int_equal(buf[0], '\0');
}

static int via_va_list(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = keel_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void test_vsnprintf(void **state)
{
    (void)state;
    char buf[64];

    assert_int_equal(via_va_list(buf, sizeof(buf), "%s-%d-%llx", "a", -1, 0x10ULL), 7);
    assert_string_equal(buf, "a--1-10");
    assert_int_equal(via_va_list(buf, 4, "%s-%d-%llx", "a", -1, 0x10ULL), 7);
    assert_string_equal(buf, "a--");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_long_long_size),
        cmocka_unit_test(test_short_char),
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_string_char),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_zero_and_left),
        cmocka_unit_test(test_plus_space),
        cmocka_unit_test(test_alternate),
        cmocka_unit_test(test_string_precision),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_odd_formats),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_edges),
        cmocka_unit_test(test_vsnprintf),
    };

    return cmocka_run_group_tests_name("printf", tests, NULL, NULL);
}
