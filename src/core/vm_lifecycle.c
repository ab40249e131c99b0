/*
 * The lifecycle of a VM and its vCPUs as one state machine, separate from
 * the memory and image work in vm.c so that host unit tests can drive every
 * interleaving (tests/unit/lifecycle).
 *
 * Ownership, the rule every function here keeps:
 * - vm->state, vm->reset_pending, vm->building, vm->stop_after_build and
 *   every vcpu->power change only under vm->lock.
 * - vcpu->running goes true only under vm->lock, in vcpu_claim_entry(), and
 *   only while the VM is RUNNING, not being reset, and the vCPU is
 *   ON_PENDING. It goes false on the vCPU's own CPU, with a release store,
 *   once nothing of the guest is live there (vcpu_release()).
 * - The VM's memory is rebuilt only between vm_claim_reset(), which under
 *   the lock sees every vCPU not running (acquire loads pair with that
 *   release), and vm_finish_reset(). While building, no vCPU can be claimed.
 * So a vCPU never enters a guest whose memory is being freed or rebuilt,
 * whatever CPU_ON, SYSTEM_RESET, SYSTEM_OFF or the shell do meanwhile.
 * Kicks (physical SGIs) are sent after the lock is dropped.
 */
#include <keel/vcpu.h>
#include <keel/vm.h>

/*
 * Written under the lock, but also read without it (AFFINITY_INFO, the idle
 * loop, and through vcpu->stopping the exit path's quick check):
 * single-copy atomic stores.
 */
/* vcpu->stopping follows power and state: every change of either goes through here. */
static void update_stopping(struct vcpu *v)
{
    __atomic_store_n(&v->stopping, v->power != VCPU_ON || v->vm->state != VM_RUNNING,
                     __ATOMIC_RELAXED);
}

static void set_power(struct vcpu *v, enum vcpu_power p)
{
    __atomic_store_n(&v->power, p, __ATOMIC_RELAXED);
    update_stopping(v);
}

static void set_state(struct vm *vm, enum vm_state s)
{
    __atomic_store_n(&vm->state, s, __ATOMIC_RELAXED);
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        update_stopping(vm->vcpus[i]);
}

static void set_reset_pending(struct vm *vm, bool pending)
{
    __atomic_store_n(&vm->reset_pending, pending, __ATOMIC_RELAXED);
}

static void vm_kick_all(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        vcpu_kick(vm->vcpus[i]);
}

/* Lock held: every vCPU off; each leaves its core at its next exit. */
static void vm_power_off_vcpus(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        set_power(vm->vcpus[i], VCPU_OFF);
}

static unsigned int vm_boot_vcpus(const struct vm *vm)
{
    return vm->boot_all_vcpus ? vm->cfg.nr_vcpus : 1;
}

/* Lock held: the power-on state, vCPU 0 (or every vCPU) about to start at vm->entry. */
static void vm_mark_running(struct vm *vm)
{
    vm_power_off_vcpus(vm);
    set_state(vm, VM_RUNNING);
    for (unsigned int i = 0; i < vm_boot_vcpus(vm); i++)
        set_power(vm->vcpus[i], VCPU_ON_PENDING);
}

void vm_lifecycle_start(struct vm *vm)
{
    spin_lock(&vm->lock);
    vm_mark_running(vm);
    spin_unlock(&vm->lock);
    for (unsigned int i = 0; i < vm_boot_vcpus(vm); i++)
        vcpu_kick(vm->vcpus[i]);
}

bool vm_lifecycle_stop(struct vm *vm, enum vm_state why)
{
    bool stopped = false;

    spin_lock(&vm->lock);
    if (vm->state == VM_RUNNING) {
        set_state(vm, why);
        vm_power_off_vcpus(vm);
        stopped = true;
    }
    spin_unlock(&vm->lock);
    if (stopped)
        vm_kick_all(vm);
    return stopped;
}

void vm_request_reset(struct vm *vm)
{
    spin_lock(&vm->lock);
    set_state(vm, VM_STOPPED);
    set_reset_pending(vm, true);
    vm_power_off_vcpus(vm);
    spin_unlock(&vm->lock);
    /*
     * The kicks are physical SGIs, each after a store barrier: a CPU that
     * takes one sees reset_pending. vcpu_stop_self() fences the other way.
     */
    vm_kick_all(vm); /* vCPU 0's CPU does the rebuild: wake it even if idle */
}

bool vm_lifecycle_request_stop(struct vm *vm)
{
    bool was_running;

    spin_lock(&vm->lock);
    was_running = vm->state == VM_RUNNING || vm->reset_pending || vm->building;
    if (vm->state == VM_RUNNING)
        set_state(vm, VM_STOPPED);
    set_reset_pending(vm, false);
    if (vm->building)
        vm->stop_after_build = true;
    vm_power_off_vcpus(vm);
    spin_unlock(&vm->lock);
    vm_kick_all(vm);
    return was_running;
}

enum vcpu_on_result vcpu_request_on(struct vcpu *t, u64 entry, u64 context)
{
    struct vm *vm = t->vm;
    enum vcpu_on_result ret = VCPU_ON_STARTED;

    spin_lock(&vm->lock);
    if (vm->state != VM_RUNNING || vm->reset_pending)
        ret = VCPU_ON_STOPPING; /* the caller is being stopped too */
    else if (t->power == VCPU_ON)
        ret = VCPU_ON_ALREADY_ON;
    else if (t->power == VCPU_ON_PENDING)
        ret = VCPU_ON_ALREADY_PENDING;
    else {
        t->entry = entry;
        t->context = context;
        set_power(t, VCPU_ON_PENDING);
    }
    spin_unlock(&vm->lock);
    if (ret == VCPU_ON_STARTED)
        vcpu_kick(t);
    return ret;
}

void vcpu_mark_off(struct vcpu *v)
{
    spin_lock(&v->vm->lock);
    set_power(v, VCPU_OFF);
    spin_unlock(&v->vm->lock);
}

bool vcpu_claim_entry(struct vcpu *v)
{
    struct vm *vm = v->vm;
    bool ok;

    spin_lock(&vm->lock);
    ok = vm->state == VM_RUNNING && !vm->reset_pending && !vm->building &&
         v->power == VCPU_ON_PENDING;
    if (ok) {
        set_power(v, VCPU_ON);
        __atomic_store_n(&v->running, true, __ATOMIC_RELAXED); /* ordered by the unlock */
    }
    spin_unlock(&vm->lock);
    return ok;
}

void vcpu_release(struct vcpu *v)
{
    __atomic_store_n(&v->running, false, __ATOMIC_RELEASE);
}

static bool vm_vcpus_idle(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        if (__atomic_load_n(&vm->vcpus[i]->running, __ATOMIC_ACQUIRE))
            return false;
    return true;
}

bool vm_claim_reset(struct vm *vm)
{
    bool ok;

    if (!__atomic_load_n(&vm->reset_pending, __ATOMIC_RELAXED))
        return false; /* the idle loop asks often: no lock when there is nothing to do */
    spin_lock(&vm->lock);
    ok = vm->reset_pending && !vm->building && vm_vcpus_idle(vm);
    if (ok) {
        set_reset_pending(vm, false);
        vm->building = true;
    }
    spin_unlock(&vm->lock);
    return ok;
}

bool vm_finish_reset(struct vm *vm, bool built)
{
    bool start = false, again;

    spin_lock(&vm->lock);
    vm->building = false;
    again = vm->reset_pending; /* restarted again while building: rebuild once more */
    if (!built) {
        set_state(vm, VM_CRASHED);
    } else if (!vm->stop_after_build && !vm->reset_pending) {
        vm_mark_running(vm);
        start = true;
    }
    vm->stop_after_build = false;
    spin_unlock(&vm->lock);
    if (start || again)
        vcpu_kick(vm->vcpus[0]);
    return start;
}
