/*
 * hvc_console: the console calls of Keel's SBI extension (SBI_EXT_KEEL,
 * FIDs 2-4, docs/hypercalls.md) from a guest that never touches its UART.
 * Every line it prints, its PASS/FAIL lines and SUMMARY included, goes out
 * through CONSOLE_WRITE or CONSOLE_WRITE_BYTE, so without them nothing at
 * all appears (tests/system/test_console_hvc.py). Keel-only; the Arm
 * guest of the same name (tests/guests/hvc) prints the same lines.
 *  - a line in one call; a 293-byte line that crosses a page boundary,
 *    which takes two calls (256 bytes at most per call)
 *  - length 0: SBI_SUCCESS and 0 whatever the address
 *  - buffers not wholly in the VM's RAM: SBI_ERR_INVALID_PARAM (-3), with
 *    the code printed
 *  - a line byte by byte, with junk above bits [7:0] of a0
 *  - CONSOLE_READ_BYTE: -1 before anything is typed, then the byte the
 *    test types after "press a key"
 */
#include "libguest.h"

#define SBI_EXT_KEEL 0x0a4b454cUL
#define SBI_KEEL_CONSOLE_WRITE 2
#define SBI_KEEL_CONSOLE_READ_BYTE 3
#define SBI_KEEL_CONSOLE_WRITE_BYTE 4
#define CHUNK 256 /* Keel's limit per CONSOLE_WRITE */
#define KEY_WAIT_US 30000000

static unsigned int passed, failed;
static u8 pages[2 * 4096] __aligned(4096);

static struct sbiret keel_call(unsigned long fid, unsigned long a0, unsigned long a1)
{
    return sbi_call2(SBI_EXT_KEEL, fid, a0, a1);
}

/* All of @len bytes at @buf through CONSOLE_WRITE: the first call's count, or its error. */
static long hc_write(const void *buf, u64 len)
{
    long first = 0;

    for (u64 done = 0; done < len;) {
        struct sbiret r = keel_call(SBI_KEEL_CONSOLE_WRITE, (u64)buf + done, len - done);

        if (r.error)
            return r.error;
        if (!done)
            first = r.value;
        if (r.value <= 0)
            return -1000; /* no progress */
        done += (u64)r.value;
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
    long n;

    n = hc_write(hello, sizeof(hello) - 1);
    check(n == (long)sizeof(hello) - 1, "CONSOLE_WRITE of %lu bytes returned %ld",
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

/* Length 0, and buffers outside RAM. */
static void test_errors(void)
{
    u64 ram_end = machine.ram_base + machine.ram_size;
    const struct {
        const char *what;
        u64 addr, len;
    } bad[] = {
        { "address 0", 0, 16 },
        { "the PLIC", machine.plic_base, 16 },
        { "the last 8 bytes of RAM and 8 past", ram_end - 8, 16 },
        { "just past RAM", ram_end, 1 },
        { "all of RAM and one more byte", machine.ram_base, machine.ram_size + 1 },
        { "a length that wraps past 2^64", (u64)pages, ~0UL },
    };
    struct sbiret r;

    r = keel_call(SBI_KEEL_CONSOLE_WRITE, 0, 0);
    check(!r.error && !r.value, "length 0 at address 0: error %ld, value %ld", r.error, r.value);
    r = keel_call(SBI_KEEL_CONSOLE_WRITE, (u64)pages, 0);
    check(!r.error && !r.value, "length 0 in RAM: error %ld, value %ld", r.error, r.value);
    r = keel_call(SBI_KEEL_CONSOLE_WRITE, 0, 16);
    say("hvc console: outside RAM -> %ld\n", r.error);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        r = keel_call(SBI_KEEL_CONSOLE_WRITE, bad[i].addr, bad[i].len);
        check(r.error == SBI_ERR_INVALID_PARAM && !r.value, "%s (%#lx, %#lx): error %ld", bad[i].what,
              bad[i].addr, bad[i].len, r.error);
    }
    *(volatile char *)(ram_end - 1) = '\n'; /* what it prints: an empty line */
    r = keel_call(SBI_KEEL_CONSOLE_WRITE, ram_end - 1, 1);
    check(!r.error && r.value == 1, "the last byte of RAM: error %ld, value %ld", r.error, r.value);
}

static void test_bytes(void)
{
    static const char line[] = "hvc console: byte by byte\n";
    bool ok = true;

    for (const char *s = line; *s; s++) {
        struct sbiret r = keel_call(SBI_KEEL_CONSOLE_WRITE_BYTE, 0x6b656500UL | (u8)*s, 0);

        ok &= !r.error && !r.value;
    }
    check(ok, "CONSOLE_WRITE_BYTE: SBI_SUCCESS and 0 for each byte, bits 8 and up of a0 ignored");
}

static void test_read(void)
{
    struct sbiret r = keel_call(SBI_KEEL_CONSOLE_READ_BYTE, 0, 0);
    u64 end;

    check(!r.error && r.value == -1, "CONSOLE_READ_BYTE before anything is typed: error %ld, value %ld",
          r.error, r.value);
    say("hvc console: press a key\n");
    end = rdtime() + us_to_ticks(KEY_WAIT_US);
    while (!(r = keel_call(SBI_KEEL_CONSOLE_READ_BYTE, 0, 0)).error && r.value < 0 && rdtime() < end)
        udelay(1000);
    say("hvc console: read %#04lx\n", r.value < 0 ? 0UL : (u64)r.value);
    check(!r.error && r.value >= 0 && r.value <= 0xff, "CONSOLE_READ_BYTE gave a byte: error %ld, value %ld",
          r.error, r.value);
}

void guest_main(void)
{
    struct sbiret r = sbi_probe_extension(SBI_EXT_KEEL);

    if (r.error || r.value != 1)
        guest_abort("not on Keel: probe_extension(%#lx) = %ld, %ld", SBI_EXT_KEEL, r.error, r.value);
    test_lines();
    test_errors();
    test_bytes();
    test_read();
    say("SUMMARY: %u passed, %u failed\n", passed, failed);
    sbi_system_reset(SBI_SRST_RESET_TYPE_SHUTDOWN, SBI_SRST_RESET_REASON_NONE);
    for (;;)
        wfi();
}
