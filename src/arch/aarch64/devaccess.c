/*
 * Keel's accesses to a passed-through device on a guest's behalf (forwarded
 * sub-page regions, core/passthrough.c). A device may answer an access it
 * does not support with an external abort; taken at EL2 that would be a
 * Keel fault. Each access instruction here has an entry in .ex_fixup: the
 * EL2 fault handler (fault.c) resumes at its fixup, which returns -1, and
 * the guest gets the abort instead of Keel.
 *
 * Only synchronous aborts are caught; a device that reports an error as an
 * SError is not covered (QEMU's devices abort synchronously).
 */
#include <arch/sysreg.h>
#include <keel/arch.h>

/*
 * The EL2 exception registers, which describe the guest exit that asked for
 * the access until a fault on it overwrites them (and the fixup's return
 * sets ELR_EL2 and SPSR_EL2 to Keel's own): saved before each access and
 * put back after a fault, so the exit can still step over or inject an
 * abort at the guest's instruction and name its address.
 */
struct exit_syndrome {
    u64 elr, spsr, esr, far, hpfar;
};

static inline struct exit_syndrome exit_syndrome_save(void)
{
    return (struct exit_syndrome){ read_sysreg(elr_el2), read_sysreg(spsr_el2), read_sysreg(esr_el2),
                                   read_sysreg(far_el2), read_sysreg(hpfar_el2) };
}

static void __attribute__((noinline, cold)) exit_syndrome_restore(const struct exit_syndrome *e)
{
    write_sysreg(elr_el2, e->elr);
    write_sysreg(spsr_el2, e->spsr);
    write_sysreg(esr_el2, e->esr);
    write_sysreg(far_el2, e->far);
    write_sysreg(hpfar_el2, e->hpfar);
}

/* One guarded access: "1:" is the instruction, "2:" where it resumes. */
#define EX_FIXUP                                   \
    "2:\n"                                         \
    ".pushsection .ex_fixup, \"a\"\n"              \
    ".balign 8\n"                                  \
    ".quad 1b, 3f\n"                               \
    ".popsection\n"                                \
    ".pushsection .text.fixup, \"ax\"\n"           \
    "3: mov %w0, #-1\n"                            \
    "b 2b\n"                                       \
    ".popsection\n"

/* @reg: the operand modifier, "w" for a 32-bit register, "x" for 64 bits. */
#define GUARDED_LOAD(insn, reg, err, val, pa) \
    __asm__ volatile("1: " insn " %" reg "1, [%2]\n" EX_FIXUP : "+r"(err), "+r"(val) : "r"(pa) : "memory")
#define GUARDED_STORE(insn, reg, err, val, pa) \
    __asm__ volatile("1: " insn " %" reg "1, [%2]\n" EX_FIXUP : "+r"(err) : "r"(val), "r"(pa) : "memory")

int arch_device_read(u64 pa, unsigned int size, u64 *val)
{
    struct exit_syndrome e = exit_syndrome_save();
    int err = 0;
    u64 v = 0;

    switch (size) {
    case 1: GUARDED_LOAD("ldrb", "w", err, v, pa); break;
    case 2: GUARDED_LOAD("ldrh", "w", err, v, pa); break;
    case 4: GUARDED_LOAD("ldr", "w", err, v, pa); break;
    case 8: GUARDED_LOAD("ldr", "x", err, v, pa); break;
    default: return -1;
    }
    if (err)
        exit_syndrome_restore(&e);
    *val = v;
    return err;
}

int arch_device_write(u64 pa, unsigned int size, u64 val)
{
    struct exit_syndrome e = exit_syndrome_save();
    int err = 0;

    switch (size) {
    case 1: GUARDED_STORE("strb", "w", err, val, pa); break;
    case 2: GUARDED_STORE("strh", "w", err, val, pa); break;
    case 4: GUARDED_STORE("str", "w", err, val, pa); break;
    case 8: GUARDED_STORE("str", "x", err, val, pa); break;
    default: return -1;
    }
    if (err)
        exit_syndrome_restore(&e);
    return err;
}
