/*
 * What the freestanding test programs of the arm64 initramfs share
 * (hwdebug, mtecheck, perfcheck): raw system calls, output, and the
 * "<TAG> PASS: ..." / "<TAG> FAIL: ..." lines tests/system/test_linux.py
 * reads. No libc: each program defines CHECK_TAG and its own _start.
 */
#ifndef TESTS_LINUX_FREESTANDING_H
#define TESTS_LINUX_FREESTANDING_H

typedef unsigned long u64;
typedef unsigned int u32;

/* arm64 (asm-generic) system call numbers */
#define SYS_ioctl 29
#define SYS_read 63
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_ptrace 117
#define SYS_kill 129
#define SYS_rt_sigaction 134
#define SYS_prctl 167
#define SYS_getpid 172
#define SYS_clone 220
#define SYS_mmap 222
#define SYS_perf_event_open 241
#define SYS_wait4 260

/* GCC zeroes structs with memset calls, freestanding or not. */
void *memset(void *p, int c, unsigned long n)
{
    volatile unsigned char *b = p;

    while (n--)
        *b++ = (unsigned char)c;
    return p;
}

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c, x3 __asm__("x3") = d, x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;

    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

static void __attribute__((noreturn)) exit_group(int code)
{
    sys6(SYS_exit_group, code, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}

static inline void say(const char *s)
{
    u64 n = 0;

    while (s[n])
        n++;
    sys6(SYS_write, 1, (long)s, (long)n, 0, 0, 0);
}

static inline void say_dec(u64 v)
{
    char b[24];
    int i = 23;

    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    say(&b[i]);
}

static inline void say_hex(u64 v)
{
    char b[19] = "0x";

    for (int i = 0; i < 16; i++)
        b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
    b[18] = 0;
    say(b);
}

static int failures;

/* "<CHECK_TAG> PASS: what" or FAIL, without the newline (the caller may add detail). */
static inline void check_begin(int ok, const char *what)
{
    say(CHECK_TAG);
    say(ok ? " PASS: " : " FAIL: ");
    say(what);
    failures += !ok;
}

static inline void check(int ok, const char *what)
{
    check_begin(ok, what);
    say("\n");
}

/* "<CHECK_TAG> DONE <failures>": the line the system test waits for. */
static inline int checks_done(void)
{
    say(CHECK_TAG);
    say(failures ? " DONE 1\n" : " DONE 0\n");
    return failures;
}

#endif
