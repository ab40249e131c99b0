/*
 * Debian's libfdt.a is built with -fstack-protector-strong, so it refers to
 * these. Keel itself is built without the protector.
 */
#include <keel/panic.h>

u64 __stack_chk_guard = 0x5a17c0de2b0c4e11UL;

void __noreturn __stack_chk_fail(void)
{
    panic("stack smashing detected (in libfdt)");
}
