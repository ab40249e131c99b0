/*
 * VM objects: their Stage-2 map, vCPUs pinned to physical CPUs, the emulated
 * devices, and the lifecycle (start, power off, reset). Guest RAM is in
 * core/vm_ram.c.
 */
#include <keel/arch.h>
#include <keel/buddy.h>
#include <keel/cmdline.h>
#include <keel/console_mux.h>
#include <keel/cpu.h>
#include <keel/hdisk.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/panic.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vdev.h>
#include <keel/sched.h>
#include <keel/vm.h>
#include <keel/vm_load.h>

struct vm *vms[VM_MAX];
unsigned int nr_vms;

/*
 * Lock-free: a guest that faults in a loop on every vCPU calls this on each
 * exit, and must not serialise its own vCPUs (nor anything else) on a lock.
 * The window may be restarted twice at its edge; a line more or less is fine.
 */
bool vm_log_ratelimit(struct vm *vm)
{
    u64 now = arch_counter_read(), window = __atomic_load_n(&vm->log_window, __ATOMIC_RELAXED);

    if (now - window >= arch_counter_freq() &&
        __atomic_compare_exchange_n(&vm->log_window, &window, now, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
        u32 missed = __atomic_exchange_n(&vm->log_suppressed, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&vm->log_lines, 0, __ATOMIC_RELAXED);
        if (missed)
            log_print(LOG_WARN, "vm %s: %u more guest-caused messages suppressed", vm->cfg.name,
                      missed);
    }
    if (__atomic_load_n(&vm->log_lines, __ATOMIC_RELAXED) < VM_LOG_BURST &&
        __atomic_fetch_add(&vm->log_lines, 1, __ATOMIC_RELAXED) < VM_LOG_BURST)
        return true;
    __atomic_fetch_add(&vm->log_suppressed, 1, __ATOMIC_RELAXED);
    return false;
}

const char *vm_state_name(enum vm_state s)
{
    static const char *const names[] = { "stopped", "running", "off", "crashed" };
    return s <= VM_CRASHED ? names[s] : "?";
}

/* Everything the VM's memory map holds: RAM, disk copies and Stage-2 tables (the root stays). */
static void vm_free_memory(struct vm *vm)
{
    vm_ram_free(vm);
    vdev_free(vm);
    arch_s2_clear(vm);
}

void vm_add_mmio(struct vm *vm, u64 base, u64 size,
                 int (*rd)(struct vcpu *, u64, unsigned int, u64 *),
                 int (*wr)(struct vcpu *, u64, unsigned int, u64))
{
    CHECK(vm->nr_mmio < VM_MAX_MMIO);
    vm->mmio[vm->nr_mmio++] = (struct mmio_region){ .base = base, .size = size, .read = rd,
                                                    .write = wr };
}

static int vm_create_vcpus(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *v = obj_alloc(sizeof(*v));
        if (!v)
            return -1;
        v->vm = vm;
        v->id = i;
        v->stopping = true; /* off until vcpu_claim_entry() */
        v->mmio_hint = &vm->mmio[0]; /* never NULL: an unused slot has size 0 and matches nothing */
        v->pcpu = vm->cfg.vcpu_cpu[i];
        arch_vcpu_create(v);
        vm->vcpus[i] = v;
    }
    return 0;
}

/* Puts the VM in its power-on state: images loaded, interrupt state reset. */
static int vm_prepare_boot(struct vm *vm)
{
    vm->virq->reset_vm(vm); /* safe against a doorbell or passthrough interrupt arriving now */
    vm_console_reset(vm);
    if (vm_load_images(vm))
        return -1;
    for (unsigned int i = 0; i < (vm->boot_all_vcpus ? vm->cfg.nr_vcpus : 1); i++) {
        vm->vcpus[i]->entry = vm->entry;
        vm->vcpus[i]->context = vm->dtb_ipa;
    }
    vm->boots++;
    return 0;
}

/* Memory, Stage-2 map and images: everything a rebuild redoes. */
static int vm_build(struct vm *vm)
{
    if (vm_ram_alloc(vm)) {
        ERROR("%s (%s): not enough free memory for %lu MiB of guest RAM", vm->cfg.node,
              vm->cfg.name, vm->cfg.mem_size >> 20);
        return -1;
    }
    /* disks after passthrough: its forwarded slots must come first in the MMIO table */
    if (vm->virq->map(vm) || vm_map_passthrough(vm) || vm_map_shmem(vm) || vdev_build(vm) ||
        arch_vm_built(vm))
        return -1;
    return vm_prepare_boot(vm);
}

static void vm_free(struct vm *vm)
{
    pt_release(vm);
    vm_ram_destroy(vm);
    vdev_free(vm);
    vdev_destroy(vm);
    arch_s2_destroy(vm);
    for (unsigned int i = 0; i < VM_MAX_VCPUS; i++)
        obj_free(vm->vcpus[i]);
    obj_free(vm);
}

int vm_create(const struct vm_config *cfg, struct vm **out)
{
    struct vm *vm;

    if (nr_vms == VM_MAX) {
        ERROR("%s (%s): at most %u VMs", cfg->node, cfg->name, VM_MAX);
        return -1;
    }
    vm = obj_alloc(sizeof(*vm));
    if (!vm)
        return -1;
    vm->id = nr_vms;
    vm->cfg = *cfg;
    vm->lock = (spinlock_t)SPINLOCK_INIT;
    vm->boot_all_vcpus = arch_vm_boots_all_vcpus();
    if (arch_s2_create(vm) || vm_create_vcpus(vm))
        goto fail;
    vm->virq = virqchip_for_host();
    vm->virq->create_vm(vm); /* its locks, once: others may queue on them at any time */
    if (cfg->console)
        vm_add_mmio(vm, GUEST_UART_BASE, GUEST_UART_SIZE, vm_uart_read, vm_uart_write);
    vm_console_init(vm);
    if (vdev_create(vm) || vm_build(vm))
        goto fail;
    if (!sched_has_room(vm)) {
        ERROR("%s (%s): a CPU would be home to more than %u vCPUs", cfg->node, cfg->name,
              SCHED_MAX_HOMED);
        goto fail;
    }
    for (unsigned int i = 0; i < cfg->nr_vcpus; i++)
        sched_home_vcpu(vm->vcpus[i]);
    vms[nr_vms++] = vm;
    *out = vm;
    return 0;
fail:
    vm_console_detach(vm);
    vm_free(vm);
    return -1;
}

int vm_start(struct vm *vm)
{
    INFO("vm %s: starting, %u vCPU%s on CPUs %#lx, %lu MiB, entry %#lx, DTB %#lx",
            vm->cfg.name, vm->cfg.nr_vcpus, vm->cfg.nr_vcpus > 1 ? "s" : "", vm->cfg.affinity,
            vm->cfg.mem_size >> 20, vm->entry, vm->dtb_ipa);
    vm_lifecycle_start(vm);
    return 0;
}

static bool all_vms_off(void)
{
    for (unsigned int i = 0; i < nr_vms; i++)
        if (vms[i]->state != VM_OFF)
            return false;
    return nr_vms > 0;
}

void vm_stop(struct vm *vm, enum vm_state why)
{
    if (!vm_lifecycle_stop(vm, why))
        return;
    /* once per boot: a guest cannot repeat it without the shell, so never limited */
    if (why == VM_OFF)
        INFO("vm %s: powered off", vm->cfg.name);
    else
        ERROR("vm %s: stopped after a fatal error; other VMs keep running", vm->cfg.name);
    if (all_vms_off() && !keel_options.stay_up) {
        INFO("all VMs are off: powering the machine off (keel.stay-up keeps Keel running)");
        hdisk_flush_at_power_off();
        arch_system_off();
        WARN("firmware did not power off; Keel stays up");
    }
}

void vm_request_stop(struct vm *vm)
{
    vm_lifecycle_request_stop(vm);
    INFO("vm %s: stopped", vm->cfg.name);
}

/*
 * Runs on vCPU 0's physical CPU once vm_claim_reset() saw every vCPU out:
 * nothing of the guest is live and none can enter, so its memory can be
 * rewritten.
 */
void vm_do_reset(struct vm *vm)
{
    bool built;

    vm_free_memory(vm);
    built = vm_build(vm) == 0;
    if (!built)
        ERROR("vm %s: cannot reload its images; left stopped", vm->cfg.name);
    if (vm_finish_reset(vm, built))
        VM_INFO(vm, "vm %s: restarting (boot %u)", vm->cfg.name, vm->boots);
}

void vcpu_stop_self(struct vcpu *v)
{
    arch_vcpu_quiesce(v);
    sched_vcpu_stopped(v);
    cpu_this()->vcpu = NULL;
    vcpu_release(v);
    /*
     * vCPU 0's CPU rebuilds the VM once the last vCPU is out: tell it. The
     * fence orders our store of running before the load of reset_pending
     * (vm_request_reset stores reset_pending before its kicks, whose SGIs
     * follow a store barrier), so either we see the reset and kick, or vCPU
     * 0's CPU, woken by its kick, sees us out: no lost wakeup.
     */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&v->vm->reset_pending, __ATOMIC_RELAXED) && v->id != 0)
        vcpu_kick(v->vm->vcpus[0]);
    arch_idle_from_exit();
}

void vcpu_power_off_self(struct vcpu *v)
{
    vcpu_mark_off(v);
    vcpu_stop_self(v);
}
