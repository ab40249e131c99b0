/*
 * Keel's own faults: an exception Keel takes in its own mode (HS, or M on
 * a hart without H: arch_info.h names the CSRs), panic()
 * and CHECK(). A guarded access (.ex_fixup) resumes at its fixup; anything
 * else is a Keel bug: everything needed to find it goes to the console,
 * then this hart stops. Other harts (and their guests) keep running.
 */
#include <stdarg.h>
#include <arch/arch_info.h>
#include <arch/csr.h>
#include <keel/arch.h>
#include <keel/console.h>
#include <keel/log.h>
#include <keel/panic.h>
#include <keel/printf.h>
#include <keel/symbols.h>

/* trap.S's frame: x[n] by register number (x[0] unused, x[2] the sp before the trap). */
struct keel_frame {
    u64 x[32];
    u64 epc;     /* sepc or mepc */
    u64 status;  /* sstatus or mstatus */
};

struct ex_fixup {
    u64 insn, fixup;
};
extern const struct ex_fixup __ex_fixup_start[], __ex_fixup_end[];

void riscv_keel_trap(struct keel_frame *f);

static void print_symbol(const char *label, u64 addr)
{
    u64 off;
    const char *name = symbol_lookup(addr, &off);

    if (name)
        console_printf("%s%016lx <%s+0x%lx>\n", label, addr, name, off);
    else
        console_printf("%s%016lx\n", label, addr);
}

static bool frame_ptr_ok(u64 fp)
{
    extern char _start[], _end[];
    return fp && IS_ALIGNED(fp, 16) && fp >= (u64)_start && fp <= (u64)_end;
}

/* With -fno-omit-frame-pointer, s0 points just past {previous s0, ra} (psABI frame records). */
void arch_dump_backtrace(u64 fp)
{
    console_puts("Backtrace:\n");
    for (int depth = 0; depth < 32 && frame_ptr_ok(fp); depth++) {
        const u64 *rec = (const u64 *)fp - 2;
        if (!rec[1])
            break;
        print_symbol("  ", rec[1] - 4); /* the call, not the return address */
        fp = rec[0];
    }
}

static bool try_fixup(struct keel_frame *f, u64 cause)
{
    if (cause & SCAUSE_INTERRUPT)
        return false;
    for (const struct ex_fixup *e = __ex_fixup_start; e < __ex_fixup_end; e++) {
        if (e->insn == f->epc) {
            f->epc = e->fixup;
            return true;
        }
    }
    return false;
}

void riscv_keel_trap(struct keel_frame *f)
{
    u64 cause = csr_read(ARCH_CSR_CAUSE), tval = csr_read(ARCH_CSR_TVAL);

    if (try_fixup(f, cause))
        return;
    if (!console_panic_claim())
        arch_cpu_halt();
    console_printf("\n*** Keel fault on cpu%u: cause %#lx in " ARCH_MODE_NAME " ***\n",
                   arch_cpu_id(), cause);
    console_printf("  tval %016lx  status %016lx\n", tval, f->status);
    for (int i = 0; i < 32; i += 2)
        console_printf("  x%-2d %016lx  x%-2d %016lx\n", i, f->x[i], i + 1, f->x[i + 1]);
    print_symbol("  PC  ", f->epc);
    print_symbol("  RA  ", f->x[1]);
    arch_dump_backtrace(f->x[8]);
    arch_cpu_halt();
}

void __noreturn panic(const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!console_panic_claim())
        arch_cpu_halt();
    console_printf("\n*** Keel panic on cpu%u: %s ***\n", arch_cpu_id(), msg);
    arch_dump_backtrace((u64)__builtin_frame_address(0));
    arch_cpu_halt();
}

void __noreturn arch_cpu_halt(void)
{
    csr_write(ARCH_CSR_IE, 0);
    console_printf("cpu%u: stopped.\n", arch_cpu_id());
    console_panic_release();
    for (;;)
        asm volatile("wfi");
}
