#include <keel/arch.h>
#include <keel/cmdline.h>
#include <keel/sched.h>
#include <keel/vcpu_arch.h>

/*
 * A CPU with nothing to run: handle what interrupts arrived, start or
 * resume the best vCPU homed here that became runnable (PSCI CPU_ON, a VM
 * start or reset, an interrupt for a blocked one), else sleep in WFI until
 * the next interrupt. Never spins.
 */
void __noreturn keel_idle(void)
{
    for (;;) {
        arch_irq_handle_pending(NULL);
        sched_idle_poll();
        arch_cpu_idle();
    }
}
