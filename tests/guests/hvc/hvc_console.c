/*
 * hvc_console: Keel's console hypercalls (docs/hypercalls.md) from a guest
 * that never touches its UART. Every line it prints, its PASS/FAIL lines
 * and SUMMARY included, goes out through KEEL_HC_CONSOLE_WRITE or
 * KEEL_HC_CONSOLE_WRITE_BYTE, so without them nothing at all appears
 * (tests/system/test_console_hvc.py). Keel-only.
 *  - a line in one call; a 293-byte line that crosses a page boundary,
 *    which takes two calls (256 bytes at most per call)
 *  - length 0: 0 whatever the address (the probe for the calls)
 *  - buffers not wholly in the VM's RAM: INVALID_PARAMETER (-3), with
 *    the code printed; the SMC32 form of the ID: NOT_SUPPORTED
 *  - a line byte by byte, with junk above bits [7:0] of x1
 *  - CONSOLE_READ_BYTE: -1 before anything is typed, then the byte the
 *    test types after "press a key"
 */
#include "libguest.h"

#define KEEL_HC_CONSOLE_WRITE 0xc6000002U
#define KEEL_HC_CONSOLE_READ_BYTE 0xc6000003U
#define KEEL_HC_CONSOLE_WRITE_BYTE 0xc6000004U
#define SMCCC_RET_NOT_SUPPORTED (-1)
#define SMCCC_RET_INVALID_PARAMETER (-3)
#define CHUNK 256          /* Keel's limit per CONSOLE_WRITE */
#define KEY_WAIT_US 30000000

static unsigned int passed, failed;
static u8 pages[2 * 4096] __aligned(4096);

static s64 keel_hc(u32 fn, u64 a1, u64 a2)
{
    return (s64)smccc_hvc(fn, a1, a2, 0).a0;
}

/* All of @len bytes at @buf through CONSOLE_WRITE: the first call's answer, or an error. */
static s64 hc_write(const void *buf, u64 len)
{
    s64 first = 0;

    for (u64 done = 0; done < len;) {
        s64 n = keel_hc(KEEL_HC_CONSOLE_WRITE, (u64)buf + done, len - done);

        if (!done)
            first = n;
        if (n <= 0)
            return n ? n : -1000; /* 0 for a non-empty buffer: no progress */
        done += (u64)n;
    }
    return first;
}

static void __printf(1, 2) say(const char *fmt, ...)
{
    char line[160];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    hc_write(line, n < (int)sizeof(line) ? (u64)n : sizeof(line) - 1);
}

static void __printf(2, 3) check(bool ok, const char *fmt, ...)
{
    char msg[120];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    say("%s: hvc console: %s\n", ok ? "PASS" : "FAIL", msg);
    if (ok)
        passed++;
    else
        failed++;
}

static void test_lines(void)
{
    static const char hello[] = "hvc console: hello from the hypercall\n";
    static const char head[] = "hvc console: across a page: ";
    u8 *p = pages + 4096 - 30; /* 30 bytes before the boundary */
    u64 len = 0;
    s64 n;

    n = hc_write(hello, sizeof(hello) - 1);
    check(n == (s64)sizeof(hello) - 1, "CONSOLE_WRITE of %lu bytes returned %ld",
          (u64)sizeof(hello) - 1, n);

    for (const char *s = head; *s; s++)
        p[len++] = (u8)*s;
    for (unsigned int i = 0; i < 260; i++)
        p[len++] = (u8)('a' + i % 26);
    for (const char *s = " end\n"; *s; s++)
        p[len++] = (u8)*s;
    n = hc_write(p, len);
    check(n == CHUNK, "a %lu-byte line across a page boundary: %ld bytes in the first call", len, n);
}

/* Length 0, buffers outside RAM, the SMC32 ID. */
static void test_errors(void)
{
    u64 ram_end = machine.ram_base + machine.ram_size;
    const struct {
        const char *what;
        u64 ipa, len;
    } bad[] = {
        { "address 0", 0, 16 },
        { "the GIC distributor", machine.gicd_base, 16 },
        { "the last 8 bytes of RAM and 8 past", ram_end - 8, 16 },
        { "just past RAM", ram_end, 1 },
        { "all of RAM and one more byte", machine.ram_base, machine.ram_size + 1 },
        { "a length that wraps past 2^64", (u64)pages, ~0UL },
    };
    s64 r;

    r = keel_hc(KEEL_HC_CONSOLE_WRITE, 0, 0);
    check(r == 0, "length 0 at address 0: %ld", r);
    r = keel_hc(KEEL_HC_CONSOLE_WRITE, (u64)pages, 0);
    check(r == 0, "length 0 in RAM: %ld", r);
    r = keel_hc(KEEL_HC_CONSOLE_WRITE, 0, 16);
    say("hvc console: outside RAM -> %ld\n", r);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        r = keel_hc(KEEL_HC_CONSOLE_WRITE, bad[i].ipa, bad[i].len);
        check(r == SMCCC_RET_INVALID_PARAMETER, "%s (%#lx, %#lx): %ld", bad[i].what, bad[i].ipa,
              bad[i].len, r);
    }
    *(volatile char *)(ram_end - 1) = '\n'; /* what it prints: an empty line */
    r = keel_hc(KEEL_HC_CONSOLE_WRITE, ram_end - 1, 1);
    check(r == 1, "the last byte of RAM: %ld", r);
    r = (s32)smccc_hvc(KEEL_HC_CONSOLE_WRITE & ~BIT(30), (u64)pages, 1, 0).a0;
    check(r == SMCCC_RET_NOT_SUPPORTED, "the SMC32 ID 0x86000002: %ld", r);
}

static void test_bytes(void)
{
    static const char line[] = "hvc console: byte by byte\n";
    bool ok = true;

    for (const char *s = line; *s; s++)
        ok &= keel_hc(KEEL_HC_CONSOLE_WRITE_BYTE, 0x6b656500UL | (u8)*s, 0) == 0;
    check(ok, "CONSOLE_WRITE_BYTE: 0 for each byte, bits 8 and up of x1 ignored");
}

static void test_read(void)
{
    s64 c = keel_hc(KEEL_HC_CONSOLE_READ_BYTE, 0, 0);
    u64 end;

    check(c == -1, "CONSOLE_READ_BYTE before anything is typed: %ld", c);
    say("hvc console: press a key\n");
    end = cntvct() + us_to_ticks(KEY_WAIT_US);
    while ((c = keel_hc(KEEL_HC_CONSOLE_READ_BYTE, 0, 0)) < 0 && cntvct() < end)
        udelay(1000);
    say("hvc console: read %#04lx\n", c < 0 ? 0UL : (u64)c);
    check(c >= 0 && c <= 0xff, "CONSOLE_READ_BYTE gave a byte: %ld", c);
}

void guest_main(void)
{
    test_lines();
    test_errors();
    test_bytes();
    test_read();
    say("SUMMARY: %u passed, %u failed\n", passed, failed);
    psci_system_off();
}
