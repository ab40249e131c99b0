/*
 * The console multiplexer: every VM's virtual UART shares Keel's physical
 * UART. Output lines are tagged with the VM's name; input goes to the VM
 * that has focus.
 */
#ifndef KEEL_CONSOLE_MUX_H
#define KEEL_CONSOLE_MUX_H

#include <keel/types.h>

struct vm;
struct vcpu;

void vm_console_init(struct vm *vm);
void vm_console_reset(struct vm *vm);
int vm_uart_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val);
int vm_uart_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val);
/* Firmware console calls: output as if from the VM's UART; input byte or -1. */
void vm_console_putc(struct vm *vm, char c);
int vm_console_getc(struct vm *vm);
/*
 * The same on a buffer in the VM's RAM (core/console_guest.c), for the
 * console hypercalls and SBI DBCN: [ipa, ipa + len) must be wholly RAM of
 * the VM, or nothing is done and VM_CONSOLE_BAD_BUFFER is returned. At most
 * VM_CONSOLE_CHUNK bytes are done per call (the guest calls again for the
 * rest); the count is returned, 0 for len 0 whatever the address.
 *  - vm_console_write_guest(): the buffer's bytes to the VM's console;
 *  - vm_console_read_guest(): input typed for the VM into the buffer, as
 *    much as is waiting (0 if none).
 */
#define VM_CONSOLE_CHUNK 256
#define VM_CONSOLE_BAD_BUFFER (-1)
s64 vm_console_write_guest(struct vm *vm, u64 ipa, u64 len);
s64 vm_console_read_guest(struct vm *vm, u64 ipa, u64 len);
/* Physical UART receive interrupt: route the bytes to the focused VM. */
void console_rx_irq(void);
void console_mux_init(void);
/* Tells the user where input goes and how to switch; called once VMs exist. */
void console_mux_announce(void);
/* A line from Keel (shell, notices) that must not land inside a VM's line. */
void console_mux_message(const char *s);
void vm_console_detach(struct vm *vm);
u64 vm_console_dropped(struct vm *vm);

#endif
