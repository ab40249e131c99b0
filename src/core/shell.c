/*
 * The Keel shell: a line editor and a few commands to look at and control
 * VMs. It runs where console input is handled (the boot CPU's interrupt
 * path), so every command is short: stopping and rebuilding a VM is only
 * requested here and done by the VM's own CPUs.
 */
#include <keel/buddy.h>
#include <keel/console.h>
#include <keel/console_mux.h>
#include <keel/hdisk.h>
#include <keel/log.h>
#include <keel/sched.h>
#include <keel/shell.h>
#include <keel/string.h>
#include <keel/vdev.h>
#include <keel/vm.h>

#define SHELL_LINE 80

static char line[SHELL_LINE];
static unsigned int line_len;

void shell_prompt(void)
{
    console_puts("keel> ");
}

static struct vm *vm_by_name(const char *name)
{
    for (unsigned int i = 0; i < nr_vms; i++)
        if (!strcmp(vms[i]->cfg.name, name))
            return vms[i];
    if (name[0] >= '0' && name[0] <= '9' && !name[1] && (unsigned int)(name[0] - '0') < nr_vms)
        return vms[name[0] - '0'];
    console_printf("no VM named '%s' (see 'vms')\n", name);
    return NULL;
}

static u64 vm_exits(const struct vm *vm)
{
    u64 n = 0;

    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        for (unsigned int r = 0; r < EXIT_REASONS; r++)
            n += vm->vcpus[i]->exits[r];
    return n;
}

static void cmd_vms(void)
{
    console_printf("%-3s %-16s %-8s %-5s %-6s %9s %s\n", "id", "name", "state", "vcpus", "cpus",
                   "memory", "exits");
    for (unsigned int i = 0; i < nr_vms; i++) {
        const struct vm *vm = vms[i];
        console_printf("%-3u %-16s %-8s %-5u %#-6lx %5lu MiB %lu\n", vm->id, vm->cfg.name,
                       vm_state_name(vm->state), vm->cfg.nr_vcpus, vm->cfg.affinity,
                       vm->cfg.mem_size >> 20, vm_exits(vm));
    }
}

static void cmd_stat(struct vm *vm)
{
    static const char *const reasons[EXIT_REASONS] = EXIT_REASON_NAMES;

    console_printf("vm %s: %s, boot %u, RAM at IPA %#lx, doorbells received %lu, console "
                   "input dropped %lu, RAM touched %lu of %lu MiB\n", vm->cfg.name,
                   vm_state_name(vm->state), vm->boots, vm->cfg.ram_ipa, vm->doorbells,
                   vm_console_dropped(vm), vm->ram_blocks_filled * 2, vm->cfg.mem_size >> 20);
    console_printf("%-6s", "vcpu");
    for (unsigned int r = 0; r < EXIT_REASONS; r++)
        console_printf(" %10s", reasons[r]);
    console_printf(" %10s\n", "injected");
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        const struct vcpu *v = vm->vcpus[i];
        console_printf("%-6u", i);
        for (unsigned int r = 0; r < EXIT_REASONS; r++)
            console_printf(" %10lu", v->exits[r]);
        console_printf(" %10lu\n", v->irqs_injected);
    }
}

static void cmd_mem(void)
{
    console_printf("free: %lu pages (%lu MiB) of %lu pages Keel manages\n", page_free_count(),
                   (page_free_count() * PAGE_SIZE) >> 20, page_total_count());
}

static void cmd_log(const char *arg)
{
    enum log_level level;

    if (arg && log_parse_level(arg, &level))
        log_current_level = level;
    else if (arg)
        console_printf("unknown level '%s'\n", arg);
    console_printf("log level: %s (error, warn, info, debug, trace)\n",
                   log_level_name(log_current_level));
}

static void cmd_help(void)
{
    console_puts("help              this text\n"
                 "vms               list VMs: state, vCPUs, CPUs, memory, exits\n"
                 "stat <vm>         exits by reason and interrupts injected, per vCPU\n"
                 "dev <vm>          emulated devices and their counters (and the host disk's)\n"
                 "stop <vm>         stop a VM (its memory is kept until it starts again)\n"
                 "start <vm>        start a stopped VM from its pristine images\n"
                 "restart <vm>      stop, rebuild from pristine images, start\n"
                 "log [level]       show or set the log level\n"
                 "sched             per CPU: its vCPUs, their state, priority, run time, switches\n"
                 "prio <vm> <n>     set a VM's priority (0-255, higher runs first on shared CPUs)\n"
                 "affinity <vm> <vcpu> <mask>  CPUs a vCPU may run on; it moves if its own is not one\n"
                 "mem               free memory\n"
                 "Ctrl-a n          switch the console to the next VM\n");
}

static void vm_command(const char *cmd, struct vm *vm)
{
    if (!strcmp(cmd, "stat")) {
        cmd_stat(vm);
    } else if (!strcmp(cmd, "dev")) {
        vdev_print(vm);
        hdisk_print(vm);
    } else if (!strcmp(cmd, "stop")) {
        vm_request_stop(vm);
    } else if (!strcmp(cmd, "start")) {
        if (vm->state == VM_RUNNING)
            console_printf("vm %s is running already\n", vm->cfg.name);
        else
            vm_request_reset(vm);
    } else if (!strcmp(cmd, "restart")) {
        vm_request_reset(vm);
    }
}

/* `prio <vm> <n>`: @arg is "<vm> <n>". */
static void cmd_prio(char *arg)
{
    char *num = arg ? strchr(arg, ' ') : NULL;
    unsigned long prio;
    char *end;
    struct vm *vm;

    if (!num) {
        console_puts("usage: prio <vm> <0-255>\n");
        return;
    }
    *num++ = '\0';
    prio = strtoul(num, &end, 0);
    if (end == num || *end || prio > 255) {
        console_printf("prio: '%s' is not a priority (0-255)\n", num);
        return;
    }
    if ((vm = vm_by_name(arg))) {
        sched_set_prio(vm, (unsigned int)prio);
        console_printf("vm %s: priority %lu\n", vm->cfg.name, prio);
    }
}

/* `affinity <vm> <vcpu> <mask>`: @arg is the rest of the line. */
static void cmd_affinity(char *arg)
{
    char *id = arg ? strchr(arg, ' ') : NULL, *mask_s = id ? strchr(id + 1, ' ') : NULL, *end;
    unsigned long n, mask;
    const char *why;
    struct vm *vm;

    if (!mask_s) {
        console_puts("usage: affinity <vm> <vcpu> <mask>\n");
        return;
    }
    *id++ = '\0';
    *mask_s++ = '\0';
    if (!(vm = vm_by_name(arg)))
        return;
    n = strtoul(id, &end, 0);
    if (end == id || *end || n >= vm->cfg.nr_vcpus) {
        console_printf("affinity: vm %s has no vCPU '%s'\n", vm->cfg.name, id);
        return;
    }
    mask = strtoul(mask_s, &end, 0);
    if (end == mask_s || *end) {
        console_printf("affinity: '%s' is not a CPU mask\n", mask_s);
        return;
    }
    why = sched_set_affinity(vm->vcpus[n], mask);
    if (why)
        console_printf("affinity: %s\n", why);
    else
        console_printf("vm %s vcpu %lu: CPUs %#lx\n", vm->cfg.name, n, mask);
}

static void shell_run(char *cmd)
{
    char *arg = strchr(cmd, ' ');
    struct vm *vm;

    if (arg) {
        *arg++ = '\0';
        while (*arg == ' ')
            arg++;
        if (!*arg)
            arg = NULL;
    }
    if (!*cmd)
        return;
    if (!strcmp(cmd, "help"))
        cmd_help();
    else if (!strcmp(cmd, "vms"))
        cmd_vms();
    else if (!strcmp(cmd, "mem"))
        cmd_mem();
    else if (!strcmp(cmd, "log"))
        cmd_log(arg);
    else if (!strcmp(cmd, "sched"))
        sched_show();
    else if (!strcmp(cmd, "prio"))
        cmd_prio(arg);
    else if (!strcmp(cmd, "affinity"))
        cmd_affinity(arg);
    else if (!strcmp(cmd, "stat") || !strcmp(cmd, "dev") || !strcmp(cmd, "stop") || !strcmp(cmd, "start") ||
             !strcmp(cmd, "restart")) {
        if (!arg)
            console_printf("usage: %s <vm>\n", cmd);
        else if ((vm = vm_by_name(arg)))
            vm_command(cmd, vm);
    } else {
        console_printf("unknown command '%s' (try 'help')\n", cmd);
    }
}

void shell_input(char c)
{
    if (c == '\r' || c == '\n') {
        console_puts("\n");
        line[line_len] = '\0';
        shell_run(line);
        line_len = 0;
        shell_prompt();
    } else if (c == 0x7f || c == '\b') {
        if (line_len) {
            line_len--;
            console_puts("\b \b");
        }
    } else if (c >= ' ' && line_len < SHELL_LINE - 1) {
        line[line_len++] = c;
        console_write(&c, 1);
    }
}
