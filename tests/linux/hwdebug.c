/*
 * hwdebug: hardware breakpoints, watchpoints and single step through Linux's
 * ptrace, as gdb uses them, inside a Linux guest of Keel. Built by
 * scripts/fetch-guests.sh into the arm64 initramfs as /bin/hwdebug; run by
 * tests/system/test_linux.py. Freestanding (raw syscalls): no arm64 libc is
 * needed to build it.
 *
 * A child stops itself under ptrace; the parent sets a hardware breakpoint
 * on a function the child then calls (NT_ARM_HW_BREAK), single-steps one
 * instruction from it, then sets a watchpoint on a variable the child
 * stores to (NT_ARM_HW_WATCH). Each must stop the child with SIGTRAP,
 * si_code TRAP_HWBKPT (TRAP_TRACE for the step) at the right address.
 * Prints one "HWDEBUG PASS: ..." or "HWDEBUG FAIL: ..." line per check and
 * "HWDEBUG DONE <failures>"; exits with the number of failures.
 */
#define CHECK_TAG "HWDEBUG"
#include "freestanding.h"

#define PTRACE_TRACEME 0
#define PTRACE_CONT 7
#define PTRACE_KILL 8
#define PTRACE_SINGLESTEP 9
#define PTRACE_GETSIGINFO 0x4202
#define PTRACE_GETREGSET 0x4204
#define PTRACE_SETREGSET 0x4205
#define NT_PRSTATUS 1
#define NT_ARM_HW_BREAK 0x402
#define NT_ARM_HW_WATCH 0x403
#define SIGCHLD 17
#define SIGSTOP 19
#define SIGTRAP 5
#define TRAP_TRACE 2
#define TRAP_HWBKPT 4

/*
 * The ctrl word of user_hwdebug_state, as arch/arm64/kernel/ptrace.c
 * decodes it: enable (bit 0), privilege (2:1, 0b10 = EL0), type (4:3:
 * 0 execute, 1 load, 2 store), length bytes (12:5).
 */
#define CTRL_EXEC_A64 (1U | (2U << 1) | (0U << 3) | (0xfU << 5))
#define CTRL_STORE_8 (1U | (2U << 1) | (2U << 3) | (0xffU << 5))

struct hwdebug_state {
    u32 dbg_info, pad;
    struct { u64 addr; u32 ctrl, pad; } regs[16];
};
struct iovec { void *base; u64 len; };
struct user_regs { u64 x[31], sp, pc, pstate; };
struct siginfo { int signo, errno_, code, pad; u64 addr; u64 rest[14]; };

static long ptrace(long req, long pid, u64 addr, void *data)
{
    return sys6(SYS_ptrace, req, pid, (long)addr, (long)data, 0, 0);
}

static void check_got(int ok, const char *what, u64 got)
{
    check_begin(ok, what);
    say(" (");
    say_hex(got);
    say(")\n");
}

/* The child's code: a function to break on and a variable to watch. */
volatile u64 watched __attribute__((aligned(8)));
void bp_target(void);
__asm__(".text\n.global bp_target\nbp_target:\n  nop\n  nop\n  ret\n");

static void __attribute__((noreturn)) child(void)
{
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    sys6(SYS_kill, sys6(SYS_getpid, 0, 0, 0, 0, 0, 0), SIGSTOP, 0, 0, 0, 0);
    bp_target();
    watched = 42;
    exit_group(0);
    for (;;)
        ;
}

/* Waits for @pid; the stop signal, or -1 once it exited or was killed. */
static int wait_stop(long pid)
{
    int status = 0;

    if (sys6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0) != pid)
        return -1;
    if ((status & 0xff) != 0x7f)
        return -1;
    return (status >> 8) & 0xff;
}

static long set_one(long pid, int which, u64 addr, u32 ctrl)
{
    struct hwdebug_state st = { 0 };
    struct iovec iov = { &st, 8 + sizeof(st.regs[0]) };

    st.regs[0].addr = addr;
    st.regs[0].ctrl = ctrl;
    return ptrace(PTRACE_SETREGSET, pid, which, &iov);
}

static u64 pc_of(long pid)
{
    struct user_regs r = { 0 };
    struct iovec iov = { &r, sizeof(r) };

    ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov);
    return r.pc;
}

static int trap_code(long pid, u64 *addr)
{
    struct siginfo si = { 0 };

    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    *addr = si.addr;
    return si.code;
}

static void run_checks(long pid)
{
    struct hwdebug_state info = { 0 };
    struct iovec iov = { &info, sizeof(info) };
    u64 addr;
    int sig;

    check_got(wait_stop(pid) == SIGSTOP, "child stopped itself", 0);
    ptrace(PTRACE_GETREGSET, pid, NT_ARM_HW_BREAK, &iov);
    check_got((info.dbg_info & 0xff) >= 2, "breakpoint slots (dbg_info)", info.dbg_info);
    check_got(set_one(pid, NT_ARM_HW_BREAK, (u64)bp_target, CTRL_EXEC_A64) == 0,
          "NT_ARM_HW_BREAK set", (u64)bp_target);
    ptrace(PTRACE_CONT, pid, 0, 0);
    sig = wait_stop(pid);
    check_got(sig == SIGTRAP, "breakpoint: SIGTRAP", (u64)sig);
    check_got(trap_code(pid, &addr) == TRAP_HWBKPT && addr == (u64)bp_target,
          "breakpoint: TRAP_HWBKPT at bp_target", addr);
    check_got(pc_of(pid) == (u64)bp_target, "breakpoint: pc", pc_of(pid));
    set_one(pid, NT_ARM_HW_BREAK, 0, 0);

    ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
    sig = wait_stop(pid);
    check_got(sig == SIGTRAP && pc_of(pid) == (u64)bp_target + 4, "single step: one instruction",
          pc_of(pid));

    check_got(set_one(pid, NT_ARM_HW_WATCH, (u64)&watched, CTRL_STORE_8) == 0,
          "NT_ARM_HW_WATCH set", (u64)&watched);
    ptrace(PTRACE_CONT, pid, 0, 0);
    sig = wait_stop(pid);
    check_got(sig == SIGTRAP, "watchpoint: SIGTRAP", (u64)sig);
    check_got(trap_code(pid, &addr) == TRAP_HWBKPT && addr == (u64)&watched,
          "watchpoint: TRAP_HWBKPT at the variable", addr);
    set_one(pid, NT_ARM_HW_WATCH, 0, 0);
    ptrace(PTRACE_CONT, pid, 0, 0);
    check_got(wait_stop(pid) == -1, "child ran to its end", 0);
}

static int main(void)
{
    long pid = sys6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);

    if (pid == 0)
        child();
    if (pid < 0) {
        check_got(0, "fork", (u64)pid);
    } else {
        run_checks(pid);
        ptrace(PTRACE_KILL, pid, 0, 0);
    }
    return checks_done();
}

void __attribute__((noreturn, used)) hwdebug_start(void)
{
    exit_group(main());
}
/* The kernel enters with sp 16-byte aligned and nothing to return to. */
__asm__(".text\n.global _start\n_start:\n  mov x29, #0\n  mov x30, #0\n  b hwdebug_start\n");
