/* Guest exits: filled in with the vCPU code. */
#include <keel/panic.h>

void *vcpu_handle_sync(void *regs) { panic("guest exit with no vCPU support (%p)", regs); }
void *vcpu_handle_irq(void *regs) { panic("guest irq with no vCPU support (%p)", regs); }
void *vcpu_handle_fiq(void *regs) { panic("guest fiq with no vCPU support (%p)", regs); }
void *vcpu_handle_serror(void *regs) { panic("guest serror with no vCPU support (%p)", regs); }
