#ifndef KEEL_PANIC_H
#define KEEL_PANIC_H

#include <keel/types.h>

/* Prints the message, registers and a backtrace, then stops this CPU. */
void __noreturn panic(const char *fmt, ...) __printf(1, 2);

/* An invariant of Keel itself; failing one is a Keel bug, never a guest's. */
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (unlikely(!(cond)))                                               \
            panic("CHECK failed: %s at %s:%d", #cond, __FILE__, __LINE__);   \
    } while (0)

#endif
