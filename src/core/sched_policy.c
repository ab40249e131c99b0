/*
 * Which vCPU runs next on a CPU: the decision alone, with no state of its
 * own, so the host unit tests (tests/unit/sched) can drive every case.
 */
#include <keel/sched.h>
#include <keel/vcpu.h>

/* Of two equal-priority waiters, the one off the CPU longer. */
static struct vcpu *longer_waiting(struct vcpu *a, struct vcpu *b)
{
    return b->sched.queued_at < a->sched.queued_at ? b : a;
}

struct vcpu *sched_pick(struct vcpu *const *homed, unsigned int n, struct vcpu *cur,
                        bool cur_runnable, bool slice_over, bool (*runnable)(struct vcpu *v))
{
    struct vcpu *best = cur_runnable ? cur : NULL;

    for (unsigned int i = 0; i < n; i++) {
        struct vcpu *v = homed[i];

        if (v == cur || !runnable(v))
            continue;
        if (!best || v->sched.prio > best->sched.prio)
            best = v;
        else if (v->sched.prio < best->sched.prio)
            continue;
        else if (best != cur)
            best = longer_waiting(best, v);
        else if (slice_over)
            best = v; /* the incumbent's slice is over: the first equal waiter takes it */
    }
    return best;
}
