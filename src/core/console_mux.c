/*
 * Console multiplexer. Keel owns the physical UART; every VM's virtual PL011
 * is multiplexed onto it.
 *
 * Output: the VM with focus writes straight through, so echo and prompts
 * appear as typed. Other VMs' output is collected a line at a time (bounded:
 * a full buffer goes out as a line) so concurrent VMs never interleave
 * mid-line; nothing is dropped. Lines are prefixed with "[name] " when more
 * than one VM has a console (keel.console-tag=on/off forces it). When a
 * line interrupts a half-written one, a newline is inserted so tags always
 * start lines.
 *
 * Input goes to the VM with focus, or to the Keel shell. The escape key
 * (Ctrl-a, or Ctrl-] which QEMU's own console does not intercept) followed
 * by: n = next VM / shell, 0-7 = VM by id, k = Keel shell, ? = help, and the
 * escape key again = send it to the VM. Bytes a VM cannot take yet (its RX
 * FIFO is full) wait in a bounded per-VM queue; overflow is counted.
 */
#include <keel/irqchip.h>
#include <keel/cmdline.h>
#include <keel/console.h>
#include <keel/console_mux.h>
#include <keel/log.h>
#include <keel/platform.h>
#include <keel/printf.h>
#include <keel/shell.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include <keel/vm.h>

#define CTRL_A 0x01
#define CTRL_RSQB 0x1d
#define INPUT_QUEUE 256

#define LINE_BUFFER 160

struct vm_console {
    bool at_line_start;
    char line[LINE_BUFFER]; /* output held while the VM has no focus */
    unsigned int line_len;
    char in[INPUT_QUEUE]; /* typed ahead of the guest's RX FIFO */
    unsigned int in_head, in_count;
    u64 in_dropped;
};

static struct vm_console consoles[VM_MAX];
static struct vm *focus;            /* NULL: the Keel shell */
static struct vm *last_writer;      /* VM whose line is open on the console */
static bool escape_pending;
/* Lock order: vm.uart_lock, then mux_lock, then the console lock. */
static spinlock_t mux_lock = SPINLOCK_INIT;

static bool tags_on(void)
{
    unsigned int with_console = 0;

    if (keel_options.console_tag >= 0)
        return keel_options.console_tag;
    for (unsigned int i = 0; i < nr_vms; i++)
        with_console += vms[i]->cfg.console;
    return with_console > 1;
}

/* Ends a VM's half-written line before Keel or another VM prints. */
static void close_open_line(void)
{
    if (last_writer && !last_writer->console->at_line_start) {
        console_write("\n", 1);
        last_writer->console->at_line_start = true;
    }
    last_writer = NULL;
}

void console_mux_message(const char *s)
{
    spin_lock(&mux_lock);
    close_open_line();
    console_write(s, strlen(s));
    spin_unlock(&mux_lock);
}

/* Writes @len bytes of @vm's output, tagging line starts. mux_lock held. */
static void vm_emit(struct vm *vm, const char *s, unsigned int len)
{
    struct vm_console *con = vm->console;
    char tag[VM_NAME_MAX + 4];

    if (last_writer != vm)
        close_open_line();
    for (unsigned int i = 0; i < len; i++) {
        if (con->at_line_start && tags_on())
            console_write(tag, snprintf(tag, sizeof(tag), "[%s] ", vm->cfg.name));
        if (s[i] != '\r')
            console_write(&s[i], 1);
        con->at_line_start = (s[i] == '\n');
    }
    last_writer = vm;
}

static void vm_flush_line(struct vm *vm)
{
    struct vm_console *con = vm->console;

    if (con->line_len)
        vm_emit(vm, con->line, con->line_len);
    con->line_len = 0;
}

static void vm_uart_tx(void *ctx, char c)
{
    struct vm *vm = ctx;
    struct vm_console *con = vm->console;

    spin_lock(&mux_lock);
    if (vm == focus) {
        vm_flush_line(vm);
        vm_emit(vm, &c, 1);
    } else {
        con->line[con->line_len++] = c;
        if (c == '\n' || con->line_len == LINE_BUFFER)
            vm_flush_line(vm);
    }
    spin_unlock(&mux_lock);
}

static void vm_uart_irq(void *ctx, bool level)
{
    struct vm *vm = ctx;
    vm->virq->set_level(vm, GUEST_UART_LINE, level);
}

void vm_console_init(struct vm *vm)
{
    vm->uart_lock = (spinlock_t)SPINLOCK_INIT;
    vm->console = &consoles[vm->id];
    memset(vm->console, 0, sizeof(*vm->console));
    if (!focus && vm->cfg.console)
        focus = vm;
}

void vm_console_detach(struct vm *vm)
{
    if (focus == vm)
        focus = NULL;
    if (last_writer == vm)
        last_writer = NULL;
}

void vm_console_reset(struct vm *vm)
{
    spin_lock(&vm->uart_lock);
    GUEST_VUART.reset(&vm->uart, vm_uart_tx, vm_uart_irq, vm);
    vm->console->at_line_start = true;
    vm->console->in_count = 0;
    spin_unlock(&vm->uart_lock);
    vm->virq->set_level(vm, GUEST_UART_LINE, false);
}

/* Moves queued input into the guest's RX FIFO as far as it has room. uart_lock held. */
static void feed_guest(struct vm *vm)
{
    struct vm_console *con = vm->console;

    while (con->in_count && GUEST_VUART.rx_has_room(&vm->uart)) {
        GUEST_VUART.rx_push(&vm->uart, con->in[con->in_head]);
        con->in_head = (con->in_head + 1) % INPUT_QUEUE;
        con->in_count--;
    }
}

int vm_uart_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val)
{
    struct vm *vm = vcpu->vm;
    int ret;

    spin_lock(&vm->uart_lock);
    ret = GUEST_VUART.read(&vm->uart, off, size, val);
    feed_guest(vm);
    spin_unlock(&vm->uart_lock);
    return ret;
}

int vm_uart_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val)
{
    struct vm *vm = vcpu->vm;
    int ret;

    spin_lock(&vm->uart_lock);
    ret = GUEST_VUART.write(&vm->uart, off, size, val);
    spin_unlock(&vm->uart_lock);
    return ret;
}

/*
 * The VM's console without its UART: firmware console calls (SBI DBCN and
 * the legacy console) write into the same tagged output, and read what
 * was typed for the VM, first what its UART already holds, then the queue.
 */
void vm_console_putc(struct vm *vm, char c)
{
    vm_uart_tx(vm, c);
}

int vm_console_getc(struct vm *vm)
{
    struct vm_console *con = vm->console;
    int c;

    spin_lock(&vm->uart_lock);
    c = GUEST_VUART.rx_pop(&vm->uart);
    if (c < 0 && con->in_count) {
        c = (unsigned char)con->in[con->in_head];
        con->in_head = (con->in_head + 1) % INPUT_QUEUE;
        con->in_count--;
    }
    feed_guest(vm);
    spin_unlock(&vm->uart_lock);
    return c;
}

static void vm_input(struct vm *vm, char c)
{
    struct vm_console *con = vm->console;

    if (vm->state != VM_RUNNING)
        return;
    spin_lock(&vm->uart_lock);
    if (con->in_count == INPUT_QUEUE) {
        con->in_dropped++;
    } else {
        con->in[(con->in_head + con->in_count) % INPUT_QUEUE] = c;
        con->in_count++;
    }
    feed_guest(vm);
    spin_unlock(&vm->uart_lock);
}

static const char *focus_name(void)
{
    return focus ? focus->cfg.name : "the Keel shell";
}

void console_mux_announce(void)
{
    char msg[160];

    snprintf(msg, sizeof(msg),
             "[keel] console input goes to %s. Ctrl-a (or Ctrl-]) then n: next, k: Keel shell, "
             "?: help\n", focus_name());
    console_mux_message(msg);
    if (!focus)
        shell_prompt();
}

static void focus_set(struct vm *vm)
{
    focus = vm;
    console_mux_announce();
    if (vm) {
        spin_lock(&mux_lock);
        vm_flush_line(vm); /* its prompt, most likely */
        spin_unlock(&mux_lock);
    }
}

static void focus_next(void)
{
    unsigned int start = focus ? focus->id + 1 : 0;

    for (unsigned int i = start; i < nr_vms; i++) {
        if (vms[i]->cfg.console) {
            focus_set(vms[i]);
            return;
        }
    }
    focus_set(NULL);
}

static void escape_command(char c)
{
    if (c == 'n')
        focus_next();
    else if (c == 'k')
        focus_set(NULL);
    else if (c >= '0' && c <= '7' && (unsigned int)(c - '0') < nr_vms && vms[c - '0']->cfg.console)
        focus_set(vms[c - '0']);
    else if (c == CTRL_A || c == CTRL_RSQB)
        focus ? vm_input(focus, c) : (void)0;
    else
        console_mux_message("[keel] escape keys: n next, k Keel shell, 0-7 VM by id, "
                            "Ctrl-a Ctrl-a sends Ctrl-a\n");
}

static void console_input(char c)
{
    if (escape_pending) {
        escape_pending = false;
        escape_command(c);
    } else if (c == CTRL_A || c == CTRL_RSQB) {
        escape_pending = true;
    } else if (focus) {
        vm_input(focus, c);
    } else {
        shell_input(c);
    }
}

void console_rx_irq(void)
{
    int c;

    while ((c = console_getc()) >= 0)
        console_input((char)c);
}

u64 vm_console_dropped(struct vm *vm)
{
    return vm->console->in_dropped;
}

/* Input arrives by interrupt on the boot CPU. */
void console_mux_init(void)
{
    if (!platform.uart_irq)
        return;
    console_enable_rx_irq();
    irqchip_enable(platform.uart_irq, 0);
}
