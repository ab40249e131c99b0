/*
 * Console multiplexer. Keel owns the physical UART; every VM's console
 * ports are multiplexed onto it: its virtual UART (PL011 or NS16550A,
 * keel,console) and its virtio-console port (hvc0, keel,virtio-console,
 * core/vconsole.c), each a port of its own.
 *
 * Output: the port with focus writes straight through, so echo and prompts
 * appear as typed. Other ports' output is collected a line at a time
 * (bounded: a full buffer goes out as a line) so concurrent ports never
 * interleave mid-line; nothing is dropped. Lines are prefixed with "[name] "
 * (the UART) or "[name/hvc] " when there is more than one port
 * (keel.console-tag=on/off forces it). When a line interrupts a
 * half-written one, a newline is inserted so tags always start lines.
 *
 * Input goes to the port with focus, or to the Keel shell. The escape key
 * (Ctrl-a, or Ctrl-] which QEMU's own console does not intercept) followed
 * by: n = next port / shell, 0-7 = VM by id (its UART, else its hvc), k =
 * Keel shell, ? = help, and the escape key again = send it to the VM. Bytes
 * a VM's UART cannot take yet (its RX FIFO is full) wait in a bounded
 * per-VM queue; overflow is counted. The hvc port's input goes to its
 * device (vconsole_input), which queues it the same way.
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

struct con_port {
    struct vm *vm;
    bool hvc;               /* the virtio-console port, not the UART */
    bool at_line_start;
    char line[LINE_BUFFER]; /* output held while the port has no focus */
    unsigned int line_len;
};

struct vm_console {
    struct con_port uart, hvc;
    char in[INPUT_QUEUE]; /* typed ahead of the guest's RX FIFO */
    unsigned int in_head, in_count;
    u64 in_dropped;
};

static struct vm_console consoles[VM_MAX];
static struct con_port *focus;      /* NULL: the Keel shell */
static struct con_port *last_writer; /* port whose line is open on the console */
static bool escape_pending;
/* Lock order: vm.uart_lock, then mux_lock, then the console lock. */
static spinlock_t mux_lock = SPINLOCK_INIT;

static bool port_exists(const struct con_port *p)
{
    return p->hvc ? p->vm->cfg.vconsole.enabled : p->vm->cfg.console;
}

static bool tags_on(void)
{
    unsigned int ports = 0;

    if (keel_options.console_tag >= 0)
        return keel_options.console_tag;
    for (unsigned int i = 0; i < nr_vms; i++)
        ports += vms[i]->cfg.console + vms[i]->cfg.vconsole.enabled;
    return ports > 1;
}

/* Ends a VM's half-written line before Keel or another VM prints. */
static void close_open_line(void)
{
    if (last_writer && !last_writer->at_line_start) {
        console_write("\n", 1);
        last_writer->at_line_start = true;
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

/* Writes @len bytes of a port's output, tagging line starts. mux_lock held. */
static void port_emit(struct con_port *p, const char *s, unsigned int len)
{
    char tag[VM_NAME_MAX + 8];

    if (last_writer != p)
        close_open_line();
    for (unsigned int i = 0; i < len; i++) {
        if (p->at_line_start && tags_on())
            console_write(tag, snprintf(tag, sizeof(tag), "[%s%s] ", p->vm->cfg.name,
                                        p->hvc ? "/hvc" : ""));
        if (s[i] != '\r')
            console_write(&s[i], 1);
        p->at_line_start = (s[i] == '\n');
    }
    last_writer = p;
}

static void port_flush_line(struct con_port *p)
{
    if (p->line_len)
        port_emit(p, p->line, p->line_len);
    p->line_len = 0;
}

static void port_write(struct con_port *p, const char *s, unsigned int len)
{
    spin_lock(&mux_lock);
    if (p == focus) {
        port_flush_line(p);
        port_emit(p, s, len);
    } else {
        for (unsigned int i = 0; i < len; i++) {
            p->line[p->line_len++] = s[i];
            if (s[i] == '\n' || p->line_len == LINE_BUFFER)
                port_flush_line(p);
        }
    }
    spin_unlock(&mux_lock);
}

static void vm_uart_tx(void *ctx, char c)
{
    struct vm *vm = ctx;

    port_write(&vm->console->uart, &c, 1);
}

void vm_hvc_write(struct vm *vm, const char *s, unsigned int len)
{
    port_write(&vm->console->hvc, s, len);
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
    vm->console->uart = (struct con_port){ .vm = vm, .at_line_start = true };
    vm->console->hvc = (struct con_port){ .vm = vm, .hvc = true, .at_line_start = true };
    if (!focus && vm->cfg.console)
        focus = &vm->console->uart;
    else if (!focus && vm->cfg.vconsole.enabled)
        focus = &vm->console->hvc;
}

void vm_console_detach(struct vm *vm)
{
    if (focus && focus->vm == vm)
        focus = NULL;
    if (last_writer && last_writer->vm == vm)
        last_writer = NULL;
}

void vm_console_reset(struct vm *vm)
{
    spin_lock(&vm->uart_lock);
    GUEST_VUART.reset(&vm->uart, vm_uart_tx, vm_uart_irq, vm);
    vm->console->uart.at_line_start = true;
    vm->console->hvc.at_line_start = true;
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
    if (vm->console->in_count) /* a guest polling its UART mostly has nothing queued */
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

void console_mux_announce(void)
{
    char msg[160];

    snprintf(msg, sizeof(msg),
             "[keel] console input goes to %s%s. Ctrl-a (or Ctrl-]) then n: next, k: Keel shell, "
             "?: help\n", focus ? focus->vm->cfg.name : "the Keel shell",
             focus && focus->hvc ? "/hvc" : "");
    console_mux_message(msg);
    if (!focus)
        shell_prompt();
}

static void focus_set(struct con_port *p)
{
    focus = p;
    console_mux_announce();
    if (p) {
        spin_lock(&mux_lock);
        port_flush_line(p); /* its prompt, most likely */
        spin_unlock(&mux_lock);
    }
}

/* UART, then hvc, VM by VM, then the shell: port k is VM k / 2's, its hvc if k is odd. */
static void focus_next(void)
{
    unsigned int k = focus ? 2 * focus->vm->id + focus->hvc + 1 : 0;

    for (; k < 2 * nr_vms; k++) {
        struct vm_console *con = vms[k / 2]->console;
        struct con_port *p = k % 2 ? &con->hvc : &con->uart;
        if (port_exists(p)) {
            focus_set(p);
            return;
        }
    }
    focus_set(NULL);
}

static void focus_vm(struct vm *vm)
{
    if (port_exists(&vm->console->uart))
        focus_set(&vm->console->uart);
    else if (port_exists(&vm->console->hvc))
        focus_set(&vm->console->hvc);
}

static void port_input(struct con_port *p, char c)
{
    if (p->hvc)
        vconsole_input(p->vm, c);
    else
        vm_input(p->vm, c);
}

static void escape_command(char c)
{
    if (c == 'n')
        focus_next();
    else if (c == 'k')
        focus_set(NULL);
    else if (c >= '0' && c <= '7' && (unsigned int)(c - '0') < nr_vms)
        focus_vm(vms[c - '0']);
    else if (c == CTRL_A || c == CTRL_RSQB)
        focus ? port_input(focus, c) : (void)0;
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
        port_input(focus, c);
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
