/*
 * Deliberate failures, chosen with keel.test= on Keel's command line, so
 * tests can check that Keel's own fault reporting works end to end.
 */
#include <keel/arch.h>
#include <keel/cmdline.h>
#include <keel/log.h>
#include <keel/panic.h>
#include <keel/string.h>

/* Nothing is mapped at EL2 in the first page of the address space. */
static volatile u64 *volatile selftest_bad_ptr = (volatile u64 *)0x10;

static void __attribute__((noinline)) selftest_fault(void)
{
    *selftest_bad_ptr = 0xdead;
}

static void __attribute__((noinline)) selftest_check(int v)
{
    CHECK(v == 0);
}

/* A guarded device access that aborts (nothing at 0x10) must come back as -1. */
static void selftest_fixup(void)
{
    u64 val = 0;
    int r = arch_device_read((u64)selftest_bad_ptr, 4, &val);
    int w = arch_device_write((u64)selftest_bad_ptr, 8, 0xdead);

    if (r == -1 && w == -1)
        INFO("keel.test=fixup: aborted device read and write recovered; Keel goes on");
    else
        ERROR("keel.test=fixup: guarded accesses returned %d and %d, not -1", r, w);
}

void selftest_run(const char *name)
{
    WARN("keel.test=%s: failing on purpose", name);
    if (!strcmp(name, "fault"))
        selftest_fault();
    else if (!strcmp(name, "panic"))
        panic("keel.test=panic requested");
    else if (!strcmp(name, "check"))
        selftest_check(1);
    else if (!strcmp(name, "fixup"))
        selftest_fixup();
    else
        WARN("unknown keel.test=%s (fault, panic, check, fixup)", name);
}
