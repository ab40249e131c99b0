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
 * off the CPU stops here, with its state whole. NULL: idle.
 */
static struct vcpu_regs *sched_switch_to(struct cpu *c, struct vcpu *next, u64 now)
{
    if (!next) {
        c->idle_entries++;
        arch_idle_from_exit();
    }
    if (!__atomic_load_n(&next->running, __ATOMIC_ACQUIRE)) {
        if (!vcpu_claim_entry(next)) /* the VM went away since: look again from idle */
            arch_idle_from_exit();
        sched_account_on(c, next, now);
        arch_vcpu_reset(next, next->entry, next->context);
        arch_vcpu_enter(next);
    }
    c->vcpu = next; /* first: the vGIC's load asks which vCPU is here */
    arch_vcpu_load(next);
    sched_account_on(c, next, now);
    if (next->stopping)
        vcpu_stop_self(next);
    return &next->regs;
}

/*
 * A VM whose vCPU 0 is homed here asked to be rebuilt and all its vCPUs are
 * out: rebuild it now, whatever else this CPU runs (a shared CPU may never
 * go idle). Cheap when there is none: vm_claim_reset() tests a flag first.
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
    bool slice_over = !c->slice_end.armed;

    sched_poll_resets(c);
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
    return sched_switch_to(c, next, now);
}

void sched_idle_poll(void)
{
    struct cpu *c = cpu_this();
    u64 now;
    struct vcpu *next;

    sched_poll_resets(c);
    now = arch_counter_read();
    next = pick(c, NULL, now, true);
    if (!next)
        return;
    arch_vcpu_resume(sched_switch_to(c, next, now));
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

    console_printf("%-4s %-8s %-16s %-5s %-8s %5s %12s %10s\n", "cpu", "mode", "vm", "vcpu",
                   "state", "prio", "run_ms", "switches");
    for (unsigned int i = 0; i < platform.cpu_count; i++) {
        struct cpu *c = &cpus[i];

        spin_lock(&c->sched_lock);
        if (!c->nr_homed)
            console_printf("%-4u %-8s -\n", i, "free");
        for (unsigned int k = 0; k < c->nr_homed; k++) {
            const struct vcpu *v = c->homed[k];
            u64 run = v->sched.run_ticks + (c->vcpu == v ? now - v->sched.ran_since : 0);

            console_printf("%-4u %-8s %-16s %-5u %-8s %5u %12lu %10lu\n", i,
                           c->shared ? "shared" : "excl", v->vm->cfg.name, v->id,
                           vcpu_sched_state(v, c), v->sched.prio, run / (freq / 1000),
                           v->sched.switches);
        }
        spin_unlock(&c->sched_lock);
    }
}
