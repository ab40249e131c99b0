/*
 * The scheduler's mechanism: homing vCPUs on CPUs, putting a vCPU down and
 * picking the next one up at the end of an exit or in the idle loop, time
 * slices and wake-ups on the CPU's timer queue. The choice itself is
 * sched_policy.c's. Everything here runs on the CPU it concerns; other
 * CPUs reach a vCPU only by making it runnable (an interrupt queued for
 * it, a lifecycle change) and kicking its home CPU, which looks again.
 */
#include <keel/arch.h>
#include <keel/console.h>
#include <keel/log.h>
#include <keel/cpu.h>
#include <keel/sched.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

bool sched_has_room(const struct vm *vm)
{
    unsigned int extra[PLAT_MAX_CPUS] = { 0 };

    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        unsigned int cpu = vm->vcpus[i]->pcpu;

        if (cpus[cpu].nr_homed + ++extra[cpu] > SCHED_MAX_HOMED)
            return false;
    }
    return true;
}

/* Boot only, before any VM starts: a CPU's mode does not change under a running vCPU. */
void sched_home_vcpu(struct vcpu *v)
{
    struct cpu *c = &cpus[v->pcpu];

    spin_lock(&c->sched_lock);
    if (!c->nr_homed)
        timerq_init(&c->timers);
    c->homed[c->nr_homed++] = v;
    c->shared = c->nr_homed > 1;
    v->sched.prio = v->vm->cfg.priority;
    v->sched.affinity = v->vm->cfg.affinity;
    v->sched.move_to = -1;
    spin_unlock(&c->sched_lock);
}

/*
 * Wants the CPU: a vCPU never started whose start was asked for (CPU_ON,
 * a VM start), or one started, off the CPU, and not waiting in WFI, or
 * waiting but with an interrupt for it now, or told to stop (it must come
 * on to leave: its state is only whole once loaded).
 */
static bool vcpu_runnable(struct vcpu *v)
{
    if (!__atomic_load_n(&v->running, __ATOMIC_ACQUIRE))
        return __atomic_load_n(&v->power, __ATOMIC_RELAXED) == VCPU_ON_PENDING;
    return v->stopping || !v->sched.blocked || arch_vcpu_has_work(v);
}

static u64 slice_ticks(const struct vcpu *v)
{
    return arch_counter_freq() * v->vm->cfg.slice_us / 1000000; /* < 2^50 for 1 s at 1 GHz */
}

static struct vcpu *pick(struct cpu *c, struct vcpu *cur, u64 now, bool slice_over)
{
    return sched_pick(c->homed, c->nr_homed, cur, cur != NULL, slice_over, vcpu_runnable);
}

/* A deadline of this CPU passed: the exit (or idle wake-up) it caused looks again. */
static void sched_nudge(struct timer_event *ev)
{
    (void)ev;
}

static void slice_start(struct cpu *c, struct vcpu *v, u64 now)
{
    c->slice_end.fn = sched_nudge;
    timerq_arm(&c->timers, &c->slice_end, now + slice_ticks(v));
}

/* @v off this CPU: its state saved, its virtual timer watched for it. */
static void sched_put(struct cpu *c, struct vcpu *v, u64 now)
{
    u64 deadline;

    arch_vcpu_put(v);
    c->vcpu = NULL;
    v->sched.run_ticks += now - v->sched.ran_since;
    v->sched.queued_at = now;
    deadline = arch_vcpu_vtimer_deadline(v);
    if (deadline != ~0UL) {
        v->sched.vtimer_wake.fn = sched_nudge;
        timerq_arm(&c->timers, &v->sched.vtimer_wake, deadline);
    }
}

static void sched_account_on(struct cpu *c, struct vcpu *v, u64 now)
{
    timerq_cancel(&c->timers, &v->sched.vtimer_wake);
    v->sched.blocked = false;
    v->sched.ran_since = now;
    v->sched.switches++;
    c->switches++;
    if (c->shared)
        slice_start(c, v, now);
}

/*
 * @next on this CPU: a first start (reset state, entered: no return), or
 * its saved state loaded; the registers to resume. One told to stop while
 * off the CPU stops here, with its state whole. NULL: nothing runs (none
 * to run, or a start the VM's state no longer allows).
 */
static struct vcpu_regs *sched_switch_to(struct cpu *c, struct vcpu *next, u64 now)
{
    if (!next)
        return NULL;
    if (!__atomic_load_n(&next->running, __ATOMIC_ACQUIRE)) {
        if (!vcpu_claim_entry(next))
            return NULL;
        sched_account_on(c, next, now);
        arch_vcpu_reset(next, next->entry, next->context);
        arch_vcpu_enter(next);
    }
    c->vcpu = next; /* first: the vGIC's load asks which vCPU is here */
    arch_vcpu_load(next);
    if (next->sched.migrated) {
        next->sched.migrated = false;
        arch_vcpu_migrated(next);
    }
    sched_account_on(c, next, now);
    if (next->stopping)
        vcpu_stop_self(next);
    return &next->regs;
}

/* From an exit: nothing to run goes to the idle loop, which waits in WFI. */
static struct vcpu_regs *sched_switch_or_idle(struct cpu *c, struct vcpu *next, u64 now)
{
    struct vcpu_regs *regs = sched_switch_to(c, next, now);

    if (!regs) {
        c->idle_entries++;
        arch_idle_from_exit();
    }
    return regs;
}

/* @v leaves @c's list; the CPU's mode follows its count. */
static void unhome(struct cpu *c, struct vcpu *v)
{
    spin_lock(&c->sched_lock);
    for (unsigned int i = 0; i < c->nr_homed; i++)
        if (c->homed[i] == v)
            c->homed[i] = c->homed[--c->nr_homed];
    c->shared = c->nr_homed > 1;
    spin_unlock(&c->sched_lock);
}

/*
 * @v joins @t's list. A vCPU running there when @t turns shared must come
 * through the scheduler's vectors from now on: it is told (resched) and
 * the kick makes it look.
 */
static void home_on(struct cpu *t, struct vcpu *v)
{
    struct vcpu *cur;

    spin_lock(&t->sched_lock);
    t->homed[t->nr_homed++] = v;
    t->shared = t->nr_homed > 1;
    cur = t->vcpu;
    if (cur)
        __atomic_store_n(&cur->resched, 1, __ATOMIC_RELAXED);
    spin_unlock(&t->sched_lock);
}

/*
 * The homed vCPUs the shell moved away (`affinity`): each is put down if
 * it runs here (this is an exit of the full-save vectors, or idle), its
 * deadlines leave this CPU's queue, and its new CPU takes it. It arrives
 * not blocked: it runs there once and blocks again if it was waiting
 * (a spurious WFI wake-up), so its virtual-timer deadline is armed on the
 * right queue and no interrupt queued meanwhile is missed.
 */
static void sched_migrate_out(struct cpu *c, u64 now)
{
    if (likely(!__atomic_load_n(&c->move_asked, __ATOMIC_ACQUIRE)))
        return; /* one flag on every exit of a shared CPU, not a scan */
    __atomic_store_n(&c->move_asked, false, __ATOMIC_RELAXED);
    for (unsigned int i = 0; i < c->nr_homed; i++) {
        struct vcpu *v = c->homed[i];
        int t = __atomic_load_n(&v->sched.move_to, __ATOMIC_ACQUIRE);

        if (t < 0)
            continue;
        if (c->vcpu == v)
            sched_put(c, v, now);
        timerq_cancel(&c->timers, &v->sched.vtimer_wake);
        arch_vcpu_migrate_out(v);
        unhome(c, v);
        v->sched.blocked = false;
        v->sched.migrated = true;
        __atomic_store_n(&v->sched.move_to, -1, __ATOMIC_RELAXED);
        __atomic_store_n(&v->pcpu, (unsigned int)t, __ATOMIC_RELEASE);
        home_on(&cpus[t], v);
        vcpu_kick(v);
        i--; /* unhome() moved the last one into slot i */
    }
}

/* The placement rule of VM creation (vm_place_vcpus), on the CPUs' lists as they are now. */
static unsigned int least_loaded(u64 mask)
{
    u8 load[PLAT_MAX_CPUS];

    for (unsigned int i = 0; i < PLAT_MAX_CPUS; i++)
        load[i] = (u8)cpus[i].nr_homed;
    return vm_least_loaded_cpu(mask, load);
}

const char *sched_set_affinity(struct vcpu *v, u64 mask)
{
    unsigned int target;

    mask &= BIT(platform.cpu_count) - 1;
    if (!mask)
        return "no CPU of this machine in the mask";
    if (!arch_vcpu_can_share())
        return "this architecture runs each vCPU on the CPU it was given";
    v->sched.affinity = mask;
    if (mask & BIT(v->pcpu))
        return NULL; /* its home is still allowed: it stays */
    target = least_loaded(mask);
    if (cpus[target].nr_homed >= SCHED_MAX_HOMED)
        return "the least loaded CPU of the mask is full";
    __atomic_store_n(&v->sched.move_to, (int)target, __ATOMIC_RELAXED);
    __atomic_store_n(&cpus[v->pcpu].move_asked, true, __ATOMIC_RELEASE);
    __atomic_store_n(&v->resched, 1, __ATOMIC_RELAXED);
    vcpu_kick(v); /* its home CPU moves it at its next look */
    return NULL;
}

/*
 * From exit_return() on the vCPU's own CPU (vcpu->slow_work): stop, or
 * take the mode its CPU has now; a vCPU to move, on an exclusive CPU whose
 * exits keep registers live, exits again at once through the full-save
 * vectors, where sched_exit() can put it down.
 */
void sched_exit_slow(struct vcpu *v)
{
    if (v->stopping)
        vcpu_stop_self(v);
    __atomic_store_n(&v->resched, 0, __ATOMIC_RELAXED);
    arch_vcpu_remode(v, cpu_this()->shared ||
                            __atomic_load_n(&v->sched.move_to, __ATOMIC_ACQUIRE) >= 0);
}

/* A VM whose vCPU 0 is homed here asked to be rebuilt (a flag test each). */
static bool sched_reset_asked(const struct cpu *c)
{
    for (unsigned int i = 0; i < c->nr_homed; i++)
        if (c->homed[i]->id == 0 && __atomic_load_n(&c->homed[i]->vm->reset_pending,
                                                    __ATOMIC_RELAXED))
            return true;
    return false;
}

/*
 * ... and once all its vCPUs are out, rebuild it now, whatever else this
 * CPU runs (a shared CPU may never go idle). No vCPU's state is live on
 * the CPU meanwhile: the rebuild's C code (libfdt) may use FP/SIMD.
 */
static void sched_poll_resets(struct cpu *c)
{
    for (unsigned int i = 0; i < c->nr_homed; i++)
        if (c->homed[i]->id == 0 && vm_claim_reset(c->homed[i]->vm))
            vm_do_reset(c->homed[i]->vm);
}

struct vcpu_regs *sched_exit(struct vcpu_regs *regs)
{
    struct vcpu *v = vcpu_of_regs(regs), *next;
    struct cpu *c = cpu_this();
    u64 now = arch_counter_read();
    bool slice_over;

    if (unlikely(sched_reset_asked(c))) {
        sched_put(c, v, now);
        sched_poll_resets(c);
        now = arch_counter_read();
    }
    sched_migrate_out(c, now);
    v = c->vcpu; /* NULL if it was put down or moved away */
    if (v && unlikely(!c->shared)) { /* exclusive now: its own vectors again, no slice */
        timerq_cancel(&c->timers, &c->slice_end);
        arch_vcpu_remode(v, false);
        return regs;
    }
    if (!v)
        return sched_switch_or_idle(c, pick(c, NULL, now, true), now);
    slice_over = !c->slice_end.armed;
    if (!v->sched.blocked) {
        next = pick(c, v, now, slice_over);
        if (next == v) {
            if (slice_over)
                slice_start(c, v, now);
            return regs;
        }
    }
    sched_put(c, v, now);
    next = pick(c, NULL, now, true);
    return sched_switch_or_idle(c, next, now);
}

void sched_idle_poll(void)
{
    struct cpu *c = cpu_this();
    struct vcpu_regs *regs;
    struct vcpu *next;
    u64 now;

    sched_poll_resets(c);
    now = arch_counter_read();
    sched_migrate_out(c, now);
    next = pick(c, NULL, now, true);
    regs = sched_switch_to(c, next, now);
    if (regs)
        arch_vcpu_resume(regs);
}

void sched_block(struct vcpu *v)
{
    v->sched.blocked = true;
}

/* Behind its equals: its slice ends now. */
void sched_yield(struct vcpu *v)
{
    struct cpu *c = cpu_this();

    (void)v;
    timerq_cancel(&c->timers, &c->slice_end);
}

void sched_vcpu_stopped(struct vcpu *v)
{
    struct cpu *c = cpu_this();

    timerq_cancel(&c->timers, &v->sched.vtimer_wake);
    v->sched.blocked = false;
    v->sched.run_ticks += arch_counter_read() - v->sched.ran_since;
    if (c->shared)
        timerq_cancel(&c->timers, &c->slice_end);
}

void sched_set_prio(struct vm *vm, unsigned int prio)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct cpu *c = &cpus[vm->vcpus[i]->pcpu];

        spin_lock(&c->sched_lock);
        vm->vcpus[i]->sched.prio = (u8)prio;
        spin_unlock(&c->sched_lock);
        vcpu_kick(vm->vcpus[i]); /* its CPU looks again: it may now preempt, or be preempted */
    }
    vm->cfg.priority = (u8)prio;
}

static const char *vcpu_sched_state(const struct vcpu *v, const struct cpu *c)
{
    if (c->vcpu == v)
        return "running";
    if (!__atomic_load_n(&v->running, __ATOMIC_ACQUIRE))
        return v->power == VCPU_ON_PENDING ? "starting" : "off";
    return v->sched.blocked ? "blocked" : "ready";
}

void sched_show(void)
{
    u64 freq = arch_counter_freq(), now = arch_counter_read();

    console_printf("%-4s %-7s %-12s %-5s %-8s %5s %-6s %10s %9s\n", "cpu", "mode", "vm", "vcpu",
                   "state", "prio", "cpus", "run_ms", "switches");
    for (unsigned int i = 0; i < platform.cpu_count; i++) {
        struct cpu *c = &cpus[i];

        spin_lock(&c->sched_lock);
        if (!c->nr_homed)
            console_printf("%-4u %-7s -\n", i, "free");
        for (unsigned int k = 0; k < c->nr_homed; k++) {
            const struct vcpu *v = c->homed[k];
            u64 run = v->sched.run_ticks + (c->vcpu == v ? now - v->sched.ran_since : 0);

            console_printf("%-4u %-7s %-12s %-5u %-8s %5u %#-6lx %10lu %9lu\n", i,
                           c->shared ? "shared" : "excl", v->vm->cfg.name, v->id,
                           vcpu_sched_state(v, c), v->sched.prio, v->sched.affinity,
                           run / (freq / 1000), v->sched.switches);
        }
        spin_unlock(&c->sched_lock);
    }
    /* below the table, so that its rows stay one per vCPU for the readers of it */
    for (unsigned int i = 0; i < platform.cpu_count; i++)
        console_printf("CPU %u: %lu switches, %lu times idle, %lu deadlines\n", i,
                       cpus[i].switches, cpus[i].idle_entries, cpus[i].timers.fired);
}
