/*
 * hvc_console: Keel's console calls (docs/hypercalls.md) from a guest that
 * never touches its UART: on Arm the hypercalls KEEL_HC_CONSOLE_WRITE,
 * _READ_BYTE and _WRITE_BYTE (SMCCC 0xC6000002-4), on RISC-V FIDs 2-4 of
 * Keel's SBI extension (SBI_EXT_KEEL). Every line it prints, its PASS/FAIL
 * lines and SUMMARY included, goes out through CONSOLE_WRITE or
 * CONSOLE_WRITE_BYTE, so without them nothing at all appears
 * (tests/system/test_console_hvc.py). Keel-only.
 *  - a line in one call; a 293-byte line that crosses a page boundary,
 *    which takes two calls (256 bytes at most per call)
 *  - length 0: no error and 0 whatever the address (the probe for the
 *    calls on Arm)
 *  - buffers not wholly in the VM's RAM: INVALID_PARAMETER (-3; the SBI's
 *    SBI_ERR_INVALID_PARAM), with the code printed
 *  - a line byte by byte, with junk above bits [7:0] of the byte's register
 *  - CONSOLE_READ_BYTE: -1 before anything is typed, then the byte the
 *    test types after "press a key"
 *  - on Arm, the SMC32 form of the ID: NOT_SUPPORTED; on RISC-V, the
 *    extension is probed first (the guest aborts without it)
 *
 * The same source builds for AArch64 (tests/guests/hvc, libguest) and for
 * RISC-V (tests/guests/riscv64/hvc_console.c includes it); the few
 * differences (the calls and the form of their answers, the device that is
 * not RAM, powering off) are at the top.
 */
#include "libguest.h"

/* The calls: Arm's IDs are 0xC6000000 + these, RISC-V's FIDs are these. */
#define CONSOLE_WRITE 2
#define CONSOLE_READ_BYTE 3
#define CONSOLE_WRITE_BYTE 4
#define ERR_INVALID_PARAM (-3) /* SMCCC INVALID_PARAMETER, SBI_ERR_INVALID_PARAM */
#define CHUNK 256              /* Keel's limit per CONSOLE_WRITE */
#define KEY_WAIT_MS 30000

/* A call's answer in the SBI's form: its error (0, or negative) and its value. */
struct hc_ret {
    long error, value;
};

static unsigned int passed, failed;
static u8 pages[2 * 4096] __aligned(4096);

static void __printf(2, 3) check(bool ok, const char *fmt, ...);

/* ---- what differs between the architectures ---- */
#if defined(__aarch64__)
#define KEEL_HC(fid) (0xc6000000U + (fid))
#define SMCCC_RET_NOT_SUPPORTED (-1)
#define HC_BYTE_REG "x1"
#define HC_SUCCESS "0"
#define HC_DEVICE "the GIC distributor"
#define HC_DEVICE_BASE machine.gicd_base
/*
 * x0 is the whole answer: a negative one is the error, but for READ_BYTE,
 * whose -1 means nothing was typed yet (on RISC-V, SBI_SUCCESS and -1).
 */
static struct hc_ret keel_call(unsigned int fid, u64 a1, u64 a2)
{
    s64 x0 = (s64)smccc_hvc(KEEL_HC(fid), a1, a2, 0).a0;

    if (x0 < 0 && fid != CONSOLE_READ_BYTE)
        return (struct hc_ret){ .error = x0 };
    return (struct hc_ret){ .value = x0 };
}
static void hc_arch_start(void) {}
/* Only the SMC64/HVC64 IDs exist: the SMC32 form answers NOT_SUPPORTED. */
static void hc_arch_checks(void)
{
    s64 r = (s32)smccc_hvc(KEEL_HC(CONSOLE_WRITE) & ~BIT(30), (u64)pages, 1, 0).a0;

    check(r == SMCCC_RET_NOT_SUPPORTED, "the SMC32 ID 0x86000002: %ld", r);
}
static void hc_arch_off(void) { psci_system_off(); }
#elif defined(__riscv)
#define SBI_EXT_KEEL 0x0a4b454cUL
#define HC_BYTE_REG "a0"
#define HC_SUCCESS "SBI_SUCCESS and 0"
#define HC_DEVICE "the PLIC"
#define HC_DEVICE_BASE machine.plic_base
static struct hc_ret keel_call(unsigned int fid, u64 a0, u64 a1)
{
    struct sbiret r = sbi_call2(SBI_EXT_KEEL, fid, a0, a1);

    return (struct hc_ret){ .error = r.error, .value = r.value };
}
static void hc_arch_start(void)
{
    struct sbiret r = sbi_probe_extension(SBI_EXT_KEEL);

    if (r.error || r.value != 1)
        guest_abort("not on Keel: probe_extension(%#lx) = %ld, %ld", SBI_EXT_KEEL, r.error, r.value);
}
static void hc_arch_checks(void) {}
static void hc_arch_off(void)
{
    sbi_system_reset(SBI_SRST_RESET_TYPE_SHUTDOWN, SBI_SRST_RESET_REASON_NONE);
    for (;;)
        wfi();
}
#else
#error "hvc_console: AArch64 or RISC-V"
#endif

/* All of @len bytes at @buf through CONSOLE_WRITE: the first call's count, or its error. */
static long hc_write(const void *buf, u64 len)
{
    long first = 0;

    for (u64 done = 0; done < len;) {
        struct hc_ret r = keel_call(CONSOLE_WRITE, (u64)buf + done, len - done);

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

/* Length 0, buffers outside RAM, and what only one architecture has. */
static void test_errors(void)
{
    u64 ram_end = machine.ram_base + machine.ram_size;
    const struct {
        const char *what;
        u64 addr, len;
    } bad[] = {
        { "address 0", 0, 16 },
        { HC_DEVICE, HC_DEVICE_BASE, 16 },
        { "the last 8 bytes of RAM and 8 past", ram_end - 8, 16 },
        { "just past RAM", ram_end, 1 },
        { "all of RAM and one more byte", machine.ram_base, machine.ram_size + 1 },
        { "a length that wraps past 2^64", (u64)pages, ~0UL },
    };
    struct hc_ret r;

    r = keel_call(CONSOLE_WRITE, 0, 0);
    check(!r.error && !r.value, "length 0 at address 0: error %ld, value %ld", r.error, r.value);
    r = keel_call(CONSOLE_WRITE, (u64)pages, 0);
    check(!r.error && !r.value, "length 0 in RAM: error %ld, value %ld", r.error, r.value);
    r = keel_call(CONSOLE_WRITE, 0, 16);
    say("hvc console: outside RAM -> %ld\n", r.error);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        r = keel_call(CONSOLE_WRITE, bad[i].addr, bad[i].len);
        check(r.error == ERR_INVALID_PARAM && !r.value, "%s (%#lx, %#lx): error %ld", bad[i].what,
              bad[i].addr, bad[i].len, r.error);
    }
    *(volatile char *)(ram_end - 1) = '\n'; /* what it prints: an empty line */
    r = keel_call(CONSOLE_WRITE, ram_end - 1, 1);
    check(!r.error && r.value == 1, "the last byte of RAM: error %ld, value %ld", r.error, r.value);
    hc_arch_checks();
}

static void test_bytes(void)
{
    static const char line[] = "hvc console: byte by byte\n";
    bool ok = true;

    for (const char *s = line; *s; s++) {
        struct hc_ret r = keel_call(CONSOLE_WRITE_BYTE, 0x6b656500UL | (u8)*s, 0);

        ok &= !r.error && !r.value;
    }
    check(ok, "CONSOLE_WRITE_BYTE: " HC_SUCCESS " for each byte, bits 8 and up of " HC_BYTE_REG
              " ignored");
}

static void test_read(void)
{
    struct hc_ret r = keel_call(CONSOLE_READ_BYTE, 0, 0);

    check(!r.error && r.value == -1, "CONSOLE_READ_BYTE before anything is typed: error %ld, value %ld",
          r.error, r.value);
    say("hvc console: press a key\n");
    for (unsigned int ms = 0; !(r = keel_call(CONSOLE_READ_BYTE, 0, 0)).error && r.value < 0 &&
                              ms < KEY_WAIT_MS; ms++)
        udelay(1000);
    say("hvc console: read %#04lx\n", r.value < 0 ? 0UL : (u64)r.value);
    check(!r.error && r.value >= 0 && r.value <= 0xff, "CONSOLE_READ_BYTE gave a byte: error %ld, value %ld",
          r.error, r.value);
}

void guest_main(void)
{
    hc_arch_start();
    test_lines();
    test_errors();
    test_bytes();
    test_read();
    say("SUMMARY: %u passed, %u failed\n", passed, failed);
    hc_arch_off();
}
