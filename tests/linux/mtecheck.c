/*
 * mtecheck: memory tagging as a Linux process uses it (Documentation/arch/
 * arm64/memory-tagging-extension.rst), inside a Linux guest of a Keel VM
 * with keel,mte. Built by scripts/fetch-guests.sh into the arm64 initramfs
 * as /bin/mtecheck; run by tests/system/test_linux.py. Freestanding (raw
 * system calls): no arm64 libc is needed to build it.
 *
 * Each check runs in a child that enables tagged addresses with a tag
 * check mode (prctl PR_SET_TAGGED_ADDR_CTRL), maps a PROT_MTE page, tags a
 * granule 3 and then reads it through a pointer tagged 3 (must work) and
 * one tagged 5 (must fault): synchronously (SIGSEGV, si_code SEGV_MTESERR,
 * si_addr the address) or asynchronously (SIGSEGV with SEGV_MTEAERR at the
 * next kernel entry). The child's SIGSEGV handler exits with a code saying
 * what it saw. Prints "MTECHECK PASS: ..." or "MTECHECK FAIL: ..." per check
 * and "MTECHECK DONE <failures>".
 */
#define CHECK_TAG "MTECHECK"
#include "freestanding.h"

#define PR_SET_TAGGED_ADDR_CTRL 55
#define PR_TAGGED_ADDR_ENABLE 1UL
#define PR_MTE_TCF_SYNC (1UL << 1)
#define PR_MTE_TCF_ASYNC (1UL << 2)
#define PR_MTE_TAG_SHIFT 3
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_MTE 0x20
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define SIGSEGV 11
#define SIGCHLD 17
#define SA_SIGINFO 4
#define SEGV_MTEAERR 8
#define SEGV_MTESERR 9

/* The child's exit codes */
enum { OK_NO_FAULT = 10, GOT_SYNC = 20, GOT_ASYNC = 21, GOT_OTHER = 22, SETUP_FAILED = 30 };

struct siginfo { int signo, errno_, code, pad; u64 addr; };
struct ksigaction { void (*handler)(int, struct siginfo *, void *); u64 flags; void *restorer; u64 mask; };

static volatile u64 expect_addr;

static void on_segv(int sig, struct siginfo *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (si->code == SEGV_MTESERR && (si->addr & ((1UL << 56) - 1)) == (expect_addr & ((1UL << 56) - 1)))
        exit_group(GOT_SYNC);
    exit_group(si->code == SEGV_MTEAERR ? GOT_ASYNC : GOT_OTHER);
}

static u64 with_tag(u64 p, u64 tag)
{
    return (p & ~(0xfUL << 56)) | (tag << 56);
}

/* In the child: tag check mode @tcf; touch with the right tag, then (@bad) the wrong one. */
static void __attribute__((noreturn)) child(u64 tcf, int bad, int store)
{
    struct ksigaction sa = { on_segv, SA_SIGINFO, 0, 0 };
    u64 p, good, wrong;

    if (sys6(SYS_rt_sigaction, SIGSEGV, (long)&sa, 0, 8, 0, 0) ||
        sys6(SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
             (long)(PR_TAGGED_ADDR_ENABLE | tcf | (0xfffeUL << PR_MTE_TAG_SHIFT)), 0, 0, 0, 0))
        exit_group(SETUP_FAILED);
    p = (u64)sys6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_MTE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
    if ((long)p < 0 && (long)p > -4096)
        exit_group(SETUP_FAILED);
    good = with_tag(p + 64, 3);
    wrong = with_tag(p + 64, 5);
    __asm__ volatile(".arch armv8.5-a+memtag\n stg %0, [%0]" :: "r"(good) : "memory");
    *(volatile u64 *)good = 1;
    (void)*(volatile u64 *)good;
    if (!bad)
        exit_group(OK_NO_FAULT);
    expect_addr = wrong;
    if (store)
        *(volatile u64 *)wrong = 2;
    else
        (void)*(volatile u64 *)wrong;
    sys6(SYS_getpid, 0, 0, 0, 0, 0, 0); /* a kernel entry, where an async fault is reported */
    exit_group(OK_NO_FAULT);
}

/* Runs child(@tcf, @bad, @store) and returns its exit code (-1: killed). */
static int run(u64 tcf, int bad, int store)
{
    long pid = sys6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
    int status = 0;

    if (pid == 0)
        child(tcf, bad, store);
    if (pid < 0 || sys6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0) != pid)
        return -2;
    return (status & 0x7f) ? -1 : (status >> 8) & 0xff;
}

static int main(void)
{
    check(run(PR_MTE_TCF_SYNC, 0, 0) == OK_NO_FAULT,
          "PROT_MTE page, granule tagged 3 (STG), accessed through a pointer tagged 3: no fault");
    check(run(PR_MTE_TCF_SYNC, 1, 0) == GOT_SYNC,
          "sync mode: a load through a pointer tagged 5: SIGSEGV, SEGV_MTESERR, si_addr the address");
    check(run(PR_MTE_TCF_SYNC, 1, 1) == GOT_SYNC, "sync mode: a store through a pointer tagged 5: same");
    check(run(PR_MTE_TCF_ASYNC, 1, 1) == GOT_ASYNC,
          "async mode: a store through a pointer tagged 5: SIGSEGV, SEGV_MTEAERR at the next syscall");
    return checks_done();
}

void __attribute__((noreturn, used)) mtecheck_start(void)
{
    exit_group(main());
}

__asm__(".text\n.global _start\n_start:\n  mov x29, #0\n  mov x30, #0\n  b mtecheck_start\n");
