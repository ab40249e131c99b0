/*
 * The scheduler's policy (core/sched_policy.c) and the per-CPU timer queue
 * (core/timerq.c) on the host: which vCPU a CPU runs next, and which
 * deadline the hardware timer holds, in every case the mechanism relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <keel/sched.h>
#include <keel/timerq.h>
#include <keel/vcpu.h>

/* ---- the policy ---- */

static struct vcpu v[6];
static bool ready[6];

static bool fake_runnable(struct vcpu *x)
{
    return ready[x - v];
}

static struct vcpu *homed[6] = { &v[0], &v[1], &v[2], &v[3], &v[4], &v[5] };

static void setup_vcpus(const unsigned int *prio, unsigned int n)
{
    for (unsigned int i = 0; i < 6; i++) {
        v[i].sched.prio = i < n ? (u8)prio[i] : 0;
        v[i].sched.queued_at = 100 + i; /* v0 waited longest */
        ready[i] = i < n;
    }
}

static struct vcpu *pick(unsigned int n, struct vcpu *cur, bool slice_over)
{
    return sched_pick(homed, n, cur, cur != NULL, slice_over, fake_runnable);
}

static void test_nothing_runnable_is_idle(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 1, 1 }, 2);
    ready[0] = ready[1] = false;
    assert_null(pick(2, NULL, true));
    assert_null(sched_pick(homed, 0, NULL, false, true, fake_runnable));
}

static void test_highest_priority_first(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 10, 200, 50 }, 3);
    assert_ptr_equal(pick(3, NULL, true), &v[1]);
    ready[1] = false; /* blocked: the next priority down */
    assert_ptr_equal(pick(3, NULL, true), &v[2]);
}

static void test_equals_fifo(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 7, 7, 7 }, 3);
    v[0].sched.queued_at = 300;
    v[2].sched.queued_at = 50;
    assert_ptr_equal(pick(3, NULL, true), &v[2]);
}

static void test_incumbent_keeps_cpu_within_slice(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 5, 5, 5 }, 3);
    assert_ptr_equal(pick(3, &v[1], false), &v[1]);
    /* slice over: the equal that waited longest, not merely the first found */
    v[0].sched.queued_at = 900;
    v[2].sched.queued_at = 10;
    assert_ptr_equal(pick(3, &v[1], true), &v[2]);
}

static void test_alone_incumbent_keeps_cpu_after_slice(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 5, 5 }, 2);
    ready[0] = false;
    assert_ptr_equal(pick(2, &v[1], true), &v[1]);
}

static void test_higher_priority_preempts_at_once(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 5, 9 }, 2);
    assert_ptr_equal(pick(2, &v[0], false), &v[1]);
}

static void test_lower_priority_never_preempts(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 9, 5, 5 }, 3);
    assert_ptr_equal(pick(3, &v[0], true), &v[0]);
}

static void test_blocked_incumbent_gives_way(void **state)
{
    (void)state;
    setup_vcpus((unsigned int[]){ 9, 1 }, 2);
    /* v0 on the CPU but not runnable (it blocked in WFI): v1 runs */
    assert_ptr_equal(sched_pick(homed, 2, &v[0], false, false, fake_runnable), &v[1]);
}

/* ---- the timer queue ---- */

static u64 hw_deadline = ~0UL;
static unsigned int hw_writes;

void arch_timer_program(u64 deadline)
{
    hw_deadline = deadline;
    hw_writes++;
}

static struct timerq q;
static struct timer_event ev[4];
static int fired_order[8], nr_fired;

static void record(struct timer_event *e)
{
    fired_order[nr_fired++] = (int)(e - ev);
}

static void rearm_once(struct timer_event *e)
{
    record(e);
    if (nr_fired == 1)
        timerq_arm(&q, e, e->deadline + 1000);
}

static void setup_q(void)
{
    timerq_init(&q);
    hw_deadline = ~0UL;
    hw_writes = 0;
    nr_fired = 0;
    for (unsigned int i = 0; i < 4; i++)
        ev[i] = (struct timer_event){ .fn = record };
}

static void test_hw_follows_earliest(void **state)
{
    (void)state;
    setup_q();
    timerq_arm(&q, &ev[0], 500);
    assert_int_equal(hw_deadline, 500);
    timerq_arm(&q, &ev[1], 300);
    assert_int_equal(hw_deadline, 300);
    timerq_arm(&q, &ev[2], 900); /* later: the hardware is not touched */
    assert_int_equal(hw_writes, 2);
    timerq_cancel(&q, &ev[1]);
    assert_int_equal(hw_deadline, 500);
    timerq_cancel(&q, &ev[0]);
    timerq_cancel(&q, &ev[2]);
    assert_int_equal(hw_deadline, ~0UL);
    timerq_cancel(&q, &ev[2]); /* not armed: harmless */
    assert_false(ev[2].armed);
}

static void test_rearm_moves_event(void **state)
{
    (void)state;
    setup_q();
    timerq_arm(&q, &ev[0], 100);
    timerq_arm(&q, &ev[1], 200);
    timerq_arm(&q, &ev[0], 300); /* re-armed, not queued twice */
    assert_int_equal(hw_deadline, 200);
    timerq_expire(&q, 1000);
    assert_int_equal(nr_fired, 2);
    assert_int_equal(fired_order[0], 1);
    assert_int_equal(fired_order[1], 0);
    assert_int_equal(hw_deadline, ~0UL);
}

static void test_expire_runs_only_due_in_order(void **state)
{
    (void)state;
    setup_q();
    timerq_arm(&q, &ev[2], 250);
    timerq_arm(&q, &ev[0], 100);
    timerq_arm(&q, &ev[1], 100); /* same deadline: after ev[0] */
    timerq_arm(&q, &ev[3], 400);
    timerq_expire(&q, 260);
    assert_int_equal(nr_fired, 3);
    assert_int_equal(fired_order[0], 0);
    assert_int_equal(fired_order[1], 1);
    assert_int_equal(fired_order[2], 2);
    assert_true(ev[3].armed);
    assert_false(ev[0].armed);
    assert_int_equal(hw_deadline, 400);
    assert_int_equal(q.fired, 3);
}

static void test_event_may_rearm_itself(void **state)
{
    (void)state;
    setup_q();
    ev[0].fn = rearm_once;
    timerq_arm(&q, &ev[0], 100);
    timerq_expire(&q, 150);
    assert_int_equal(nr_fired, 1);
    assert_true(ev[0].armed);
    assert_int_equal(hw_deadline, 1100);
}

/* The hardware fired: it is written again even if the head's deadline equals the old one. */
static void test_expire_reprograms_even_if_unchanged(void **state)
{
    (void)state;
    setup_q();
    timerq_arm(&q, &ev[0], 500);
    hw_writes = 0;
    timerq_expire(&q, 100); /* early (a spurious interrupt): nothing due */
    assert_int_equal(nr_fired, 0);
    assert_int_equal(hw_writes, 1);
    assert_int_equal(hw_deadline, 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_runnable_is_idle),
        cmocka_unit_test(test_highest_priority_first),
        cmocka_unit_test(test_equals_fifo),
        cmocka_unit_test(test_incumbent_keeps_cpu_within_slice),
        cmocka_unit_test(test_alone_incumbent_keeps_cpu_after_slice),
        cmocka_unit_test(test_higher_priority_preempts_at_once),
        cmocka_unit_test(test_lower_priority_never_preempts),
        cmocka_unit_test(test_blocked_incumbent_gives_way),
        cmocka_unit_test(test_hw_follows_earliest),
        cmocka_unit_test(test_rearm_moves_event),
        cmocka_unit_test(test_expire_runs_only_due_in_order),
        cmocka_unit_test(test_event_may_rearm_itself),
        cmocka_unit_test(test_expire_reprograms_even_if_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
