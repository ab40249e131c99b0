/*
 * Keel's own faults: an exception taken from EL2, panic() and CHECK().
 * Everything needed to find the bug goes to the console, then this CPU stops.
 * Other CPUs (and their guests) keep running.
 */
#include <stdarg.h>
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <keel/arch.h>
#include <keel/console.h>
#include <keel/log.h>
#include <keel/panic.h>
#include <keel/printf.h>
#include <keel/symbols.h>

struct el2_frame {
    u64 x[30];
    u64 lr;
    u64 sp;
    u64 elr;
    u64 spsr;
    u64 esr;
    u64 far;
};

_Static_assert(sizeof(struct el2_frame) == 36 * 8, "vectors.S FRAME_SIZE");

static const char *const vector_names[16] = {
    "Synchronous (SP_EL0)", "IRQ (SP_EL0)", "FIQ (SP_EL0)", "SError (SP_EL0)",
    "Synchronous", "IRQ", "FIQ", "SError",
    "Synchronous (lower EL)", "IRQ (lower EL)", "FIQ (lower EL)", "SError (lower EL)",
    "Synchronous (AArch32 lower EL)", "IRQ (AArch32 lower EL)", "FIQ (AArch32 lower EL)",
    "SError (AArch32 lower EL)",
};

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
    return fp && IS_ALIGNED(fp, 16) && fp >= (u64)_start && fp < (u64)_end;
}

void arch_dump_backtrace(u64 fp)
{
    console_puts("Backtrace:\n");
    for (int depth = 0; depth < 32 && frame_ptr_ok(fp); depth++) {
        u64 *frame = (u64 *)fp;
        if (!frame[1])
            break;
        print_symbol("  ", frame[1] - 4); /* the call instruction, not the return address */
        fp = frame[0];
    }
}

static void dump_frame(const struct el2_frame *f)
{
    for (int i = 0; i < 30; i += 2)
        console_printf("  x%-2d %016lx  x%-2d %016lx\n", i, f->x[i], i + 1, f->x[i + 1]);
    console_printf("  x30 %016lx  sp  %016lx\n", f->lr, f->sp);
    print_symbol("  PC  ", f->elr);
    print_symbol("  LR  ", f->lr);
}

/*
 * A data abort at EL2 on an instruction listed in .ex_fixup (devaccess.c):
 * resume at its fixup instead of stopping. vectors.S asks this first.
 */
struct ex_fixup {
    u64 insn, fixup;
};
extern const struct ex_fixup __ex_fixup_start[], __ex_fixup_end[];

bool el2_try_fixup(struct el2_frame *f, u64 vector);

bool el2_try_fixup(struct el2_frame *f, u64 vector)
{
    if ((vector != 0 && vector != 4) || ESR_ELx_EC(f->esr) != ESR_ELx_EC_DABT_CUR)
        return false;
    for (const struct ex_fixup *e = __ex_fixup_start; e < __ex_fixup_end; e++) {
        if (e->insn == f->elr) {
            f->elr = e->fixup;
            return true;
        }
    }
    return false;
}

void __noreturn el2_handle_fault(struct el2_frame *f, u64 vector)
{
    unsigned int ec = ESR_ELx_EC(f->esr);

    if (!console_panic_claim())
        arch_cpu_halt();
    console_printf("\n*** Keel fault on cpu%u: %s exception at EL2 ***\n", arch_cpu_id(),
                   vector_names[vector & 15]);
    console_printf("  EC  0x%02x %s\n", ec, esr_ec_name(ec));
    console_printf("  ESR %016lx  FAR %016lx\n", f->esr, f->far);
    console_printf("  ELR %016lx  SPSR %016lx\n", f->elr, f->spsr);
    if (ec == ESR_ELx_EC_DABT_CUR || ec == ESR_ELx_EC_IABT_CUR)
        console_printf("  %s, %s\n", esr_fsc_name(f->esr & ESR_ELx_FSC_MASK),
                       (f->esr & ESR_ELx_WNR) ? "write" : "read");
    dump_frame(f);
    /* The faulting function may not have pushed a frame yet: show it first. */
    print_symbol("  -> ", f->elr);
    arch_dump_backtrace(f->x[29]);
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
    __asm__ volatile("msr daifset, #0xf");
    console_printf("cpu%u: stopped.\n", arch_cpu_id());
    console_panic_release();
    for (;;)
        wfi();
}
