/*
 * perfcheck: what `perf stat -e instructions,cycles` does, inside a Linux
 * guest of Keel: perf_event_open() on the hardware events, a loop of known
 * length counted in user space only, the counts read back. Built by
 * scripts/fetch-guests.sh into the arm64 initramfs as /bin/perfcheck; run
 * by tests/system/test_linux.py. Freestanding (raw system calls).
 *
 * The loop is LOOPS iterations of SUBS + B.NE, so user-space instructions
 * must count 2 * LOOPS and a little (the ioctls' returns) where the PMU has
 * the event; cycles must count something. Prints "PERFCHECK instructions=N cycles=M", a PASS or
 * FAIL line per check, "PERFCHECK DONE <failures>".
 */
#define CHECK_TAG "PERFCHECK"
#include "freestanding.h"

#define PERF_TYPE_HARDWARE 0
#define PERF_COUNT_HW_CPU_CYCLES 0
#define PERF_COUNT_HW_INSTRUCTIONS 1
#define PERF_EVENT_IOC_ENABLE 0x2400
#define PERF_EVENT_IOC_DISABLE 0x2401
#define PERF_EVENT_IOC_RESET 0x2403
#define ATTR_DISABLED (1UL << 0)
#define ATTR_EXCLUDE_KERNEL (1UL << 5)
#define ATTR_EXCLUDE_HV (1UL << 6)

#define LOOPS 1000000UL

/* struct perf_event_attr as of PERF_ATTR_SIZE_VER0 (64 bytes): the kernel takes older sizes */
struct perf_attr {
    u32 type, size;
    u64 config, sample_period, sample_type, read_format, flags;
    u32 wakeup_events, bp_type;
    u64 config1;
};

static long open_event(u64 config)
{
    struct perf_attr a = {
        .type = PERF_TYPE_HARDWARE, .size = sizeof(a), .config = config,
        .flags = ATTR_DISABLED | ATTR_EXCLUDE_KERNEL | ATTR_EXCLUDE_HV,
    };

    return sys6(SYS_perf_event_open, (long)&a, 0 /* this task */, -1 /* any CPU */, -1, 0, 0);
}

static void loop(void)
{
    u64 n = LOOPS;

    __asm__ volatile("1: subs %0, %0, #1\n b.ne 1b" : "+r"(n) :: "cc");
}

static u64 counted(long fd)
{
    u64 n = 0;

    if (fd >= 0)
        sys6(SYS_read, fd, (long)&n, 8, 0, 0, 0);
    return n;
}

static void control(long fd, long req)
{
    if (fd >= 0)
        sys6(SYS_ioctl, fd, req, 0, 0, 0, 0);
}

/*
 * Cycles must open and count. Instructions must too where the CPU's PMU
 * has INST_RETIRED (PMCEID0_EL0 bit 8: Linux then maps the generic event);
 * QEMU's only has it under -icount, and Linux answers ENOENT (-2) then:
 * reported as SKIP, not a failure.
 */
static int main(void)
{
    long ins = open_event(PERF_COUNT_HW_INSTRUCTIONS), cyc = open_event(PERF_COUNT_HW_CPU_CYCLES);
    u64 n_ins, n_cyc;

    check(cyc >= 0, "perf_event_open: the hardware cycles event");
    check(ins >= 0 || ins == -2, "perf_event_open: the hardware instructions event, or ENOENT");
    control(ins, PERF_EVENT_IOC_RESET);
    control(cyc, PERF_EVENT_IOC_RESET);
    control(ins, PERF_EVENT_IOC_ENABLE);
    control(cyc, PERF_EVENT_IOC_ENABLE);
    loop();
    control(cyc, PERF_EVENT_IOC_DISABLE);
    control(ins, PERF_EVENT_IOC_DISABLE);
    n_ins = counted(ins);
    n_cyc = counted(cyc);
    say("PERFCHECK instructions=");
    say_dec(n_ins);
    say(" cycles=");
    say_dec(n_cyc);
    say("\n");
    if (ins >= 0)
        check(n_ins >= 2 * LOOPS && n_ins < 2 * LOOPS + 10000,
              "user-space instructions: the loop's 2 per iteration and a few more");
    else
        say("PERFCHECK SKIP: no instructions event on this CPU's PMU\n");
    check(n_cyc > 0, "cycles counted");
    return checks_done();
}

void __attribute__((noreturn, used)) perfcheck_start(void)
{
    exit_group(main());
}

__asm__(".text\n.global _start\n_start:\n  mov x29, #0\n  mov x30, #0\n  b perfcheck_start\n");
