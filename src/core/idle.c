#include <keel/arch.h>
#include <keel/cmdline.h>

/* A CPU with nothing to run sleeps until an interrupt or event; never spins. */
void __noreturn keel_idle(void)
{
    for (;;)
        arch_cpu_idle();
}
