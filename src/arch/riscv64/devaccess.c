/*
 * Keel's accesses to a passed-through device on a guest's behalf (forwarded
 * sub-page regions, core/passthrough.c). A device may answer an access it
 * does not support with an access fault; taken in HS-mode that would be a
 * Keel fault. Each access instruction here has an entry in .ex_fixup: the
 * trap handler (fault.c) resumes at its fixup, which returns -1, and the
 * guest gets the fault instead of Keel.
 */
#include <keel/arch.h>

/* One guarded access: "1:" is the instruction, "2:" where it resumes. */
#define EX_FIXUP                                   \
    "2:\n"                                         \
    ".pushsection .ex_fixup, \"a\"\n"              \
    ".balign 8\n"                                  \
    ".dword 1b, 3f\n"                              \
    ".popsection\n"                                \
    ".pushsection .text.fixup, \"ax\"\n"           \
    "3: li %0, -1\n"                               \
    "j 2b\n"                                       \
    ".popsection\n"

#define GUARDED_LOAD(insn, err, val, pa) \
    __asm__ volatile("1: " insn " %1, 0(%2)\n" EX_FIXUP : "+r"(err), "+r"(val) : "r"(pa) : "memory")
#define GUARDED_STORE(insn, err, val, pa) \
    __asm__ volatile("1: " insn " %1, 0(%2)\n" EX_FIXUP : "+r"(err) : "r"(val), "r"(pa) : "memory")

int arch_device_read(u64 pa, unsigned int size, u64 *val)
{
    long err = 0;
    u64 v = 0;

    switch (size) {
    case 1: GUARDED_LOAD("lbu", err, v, pa); break;
    case 2: GUARDED_LOAD("lhu", err, v, pa); break;
    case 4: GUARDED_LOAD("lwu", err, v, pa); break;
    case 8: GUARDED_LOAD("ld", err, v, pa); break;
    default: return -1;
    }
    *val = v;
    return (int)err;
}

int arch_device_write(u64 pa, unsigned int size, u64 val)
{
    long err = 0;

    switch (size) {
    case 1: GUARDED_STORE("sb", err, val, pa); break;
    case 2: GUARDED_STORE("sh", err, val, pa); break;
    case 4: GUARDED_STORE("sw", err, val, pa); break;
    case 8: GUARDED_STORE("sd", err, val, pa); break;
    default: return -1;
    }
    return (int)err;
}
