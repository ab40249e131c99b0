/*
 * Console multiplexer. A VM's output goes straight to the physical console,
 * prefixed with "[name] " at the start of each line when more than one VM
 * has a console (keel.console-tag=on/off forces it). When another VM's
 * output interrupts a half-written line, a newline is inserted first so
 * tags always start lines.
 */
#include <drivers/gicv3.h>
#include <keel/cmdline.h>
#include <keel/platform.h>
#include <keel/console.h>
#include <keel/console_mux.h>
#include <keel/log.h>
#include <keel/printf.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include <keel/vm.h>

struct vm_console {
    bool at_line_start;
};

static struct vm_console consoles[VM_MAX];
static struct vm *focus;            /* VM receiving console input */
static struct vm *last_writer;      /* VM whose line is open on the console */
static spinlock_t mux_lock = SPINLOCK_INIT; /* after vm.uart_lock, before the console lock */

static bool tags_on(void)
{
    unsigned int with_console = 0;

    if (keel_options.console_tag >= 0)
        return keel_options.console_tag;
    for (unsigned int i = 0; i < nr_vms; i++)
        with_console += vms[i]->cfg.console;
    return with_console > 1;
}

static void vm_uart_tx(void *ctx, char c)
{
    struct vm *vm = ctx;
    struct vm_console *con = vm->console;
    char buf[VM_NAME_MAX + 8];
    size_t n = 0;

    spin_lock(&mux_lock);
    if (last_writer && last_writer != vm && !last_writer->console->at_line_start) {
        buf[n++] = '\n';
        last_writer->console->at_line_start = true;
    }
    if (con->at_line_start && tags_on())
        n += snprintf(buf + n, sizeof(buf) - n, "[%s] ", vm->cfg.name);
    if (c != '\r')
        buf[n++] = c;
    con->at_line_start = (c == '\n');
    last_writer = vm;
    console_write(buf, n);
    spin_unlock(&mux_lock);
}

static void vm_uart_irq(void *ctx, bool level)
{
    struct vm *vm = ctx;
    vgic_set_level(vm, 32 + GUEST_UART_SPI, level);
}

void vm_console_init(struct vm *vm)
{
    vm->uart_lock = (spinlock_t)SPINLOCK_INIT;
    vm->console = &consoles[vm->id];
    if (!focus && vm->cfg.console)
        focus = vm;
}

void vm_console_reset(struct vm *vm)
{
    spin_lock(&vm->uart_lock);
    vpl011_init(&vm->uart, vm_uart_tx, vm_uart_irq, vm);
    vm->console->at_line_start = true;
    spin_unlock(&vm->uart_lock);
}

int vm_uart_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val)
{
    struct vm *vm = vcpu->vm;
    int ret;

    spin_lock(&vm->uart_lock);
    ret = vpl011_read(&vm->uart, off, size, val);
    spin_unlock(&vm->uart_lock);
    return ret;
}

int vm_uart_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = vcpu->vm;
    int ret;

    spin_lock(&vm->uart_lock);
    ret = vpl011_write(&vm->uart, off, size, val);
    spin_unlock(&vm->uart_lock);
    return ret;
}

static void console_input(char c)
{
    struct vm *vm = focus;

    if (!vm || vm->state != VM_RUNNING)
        return;
    spin_lock(&vm->uart_lock);
    vpl011_rx_push(&vm->uart, c);
    spin_unlock(&vm->uart_lock);
}

void console_rx_irq(void)
{
    int c;

    while ((c = console_getc()) >= 0)
        console_input((char)c);
}

/* Input arrives by interrupt on the boot CPU. */
void console_mux_init(void)
{
    if (!platform.uart_irq)
        return;
    console_enable_rx_irq();
    gic_enable_irq(platform.uart_irq, 0);
}
