#include <keel/arch.h>
#include <keel/cmdline.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

/*
 * A CPU with nothing to run: handle what interrupts arrived, start its vCPU
 * if it became runnable (PSCI CPU_ON, a VM start or reset), else sleep in
 * WFI until the next interrupt. Never spins.
 */
void __noreturn keel_idle(void)
{
    for (;;) {
        arch_irq_handle_pending(NULL);
        vm_idle_poll();
        arch_cpu_idle();
    }
}
