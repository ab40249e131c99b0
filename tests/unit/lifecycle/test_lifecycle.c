/*
 * The VM and vCPU lifecycle (src/core/vm_lifecycle.c): each transition in
 * isolation, the interleavings of CPU_ON, SYSTEM_RESET, CPU_OFF and the
 * shell's stop that used to let a vCPU enter a VM being rebuilt, and a
 * threaded stress run in which simulated physical CPUs race those calls
 * while a checker asserts that no vCPU is ever inside the guest while its
 * memory is rebuilt.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include <keel/vcpu.h>
#include <keel/vm.h>

/* ---- fakes: what vm_lifecycle.c calls ---- */

static unsigned int kicks[VM_MAX_VCPUS];

void vcpu_kick(struct vcpu *v)
{
    __atomic_fetch_add(&kicks[v->id], 1, __ATOMIC_RELAXED);
}

/* ---- fixture ---- */

struct test_vm {
    struct vm vm;
    struct vcpu vcpus[VM_MAX_VCPUS];
};

static struct vm *vm_new(unsigned int n)
{
    struct test_vm *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->vm.cfg.nr_vcpus = n;
    for (unsigned int i = 0; i < n; i++) {
        t->vcpus[i].vm = &t->vm;
        t->vcpus[i].id = i;
        t->vm.vcpus[i] = &t->vcpus[i];
    }
    for (unsigned int i = 0; i < VM_MAX_VCPUS; i++)
        kicks[i] = 0;
    return &t->vm;
}

static int setup(void **state)
{
    *state = vm_new(4);
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* A started VM: vCPU 0 claimed and running, as on its CPU after vm_start. */
static struct vm *running_vm(void **state)
{
    struct vm *vm = *state;

    vm_lifecycle_start(vm);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_true(vcpu_claim_entry(vm->vcpus[0]));
    return vm;
}

/* ---- single transitions ---- */

static void test_start_runs_vcpu0_only(void **state)
{
    struct vm *vm = *state;

    vm_lifecycle_start(vm);
    assert_int_equal(vm->vcpus[0]->power, VCPU_ON_PENDING);
    assert_true(kicks[0] > 0);
    for (unsigned int i = 1; i < 4; i++) {
        assert_int_equal(vm->vcpus[i]->power, VCPU_OFF);
        assert_false(vcpu_claim_entry(vm->vcpus[i]));
    }
    assert_true(vcpu_claim_entry(vm->vcpus[0]));
    assert_int_equal(vm->vcpus[0]->power, VCPU_ON);
    assert_true(vm->vcpus[0]->running);
    assert_false(vcpu_claim_entry(vm->vcpus[0])); /* claimed once */
}

static void test_cpu_on_answers(void **state)
{
    struct vm *vm = running_vm(state);
    struct vcpu *t = vm->vcpus[1];

    assert_int_equal(vcpu_request_on(t, 0x40001000, 7), VCPU_ON_STARTED);
    assert_int_equal(t->entry, 0x40001000);
    assert_int_equal(t->context, 7);
    assert_true(kicks[1] > 0);
    assert_int_equal(vcpu_request_on(t, 0x40002000, 8), VCPU_ON_ALREADY_PENDING);
    assert_int_equal(t->entry, 0x40001000); /* not overwritten */
    assert_true(vcpu_claim_entry(t));
    assert_int_equal(vcpu_request_on(t, 0x40002000, 8), VCPU_ON_ALREADY_ON);
    assert_int_equal(vcpu_request_on(vm->vcpus[0], 0x40002000, 8), VCPU_ON_ALREADY_ON);
}

static void test_cpu_off_then_on(void **state)
{
    struct vm *vm = running_vm(state);
    struct vcpu *t = vm->vcpus[2];

    assert_int_equal(vcpu_request_on(t, 0x40001000, 0), VCPU_ON_STARTED);
    assert_true(vcpu_claim_entry(t));
    vcpu_mark_off(t);
    vcpu_release(t);
    assert_int_equal(t->power, VCPU_OFF);
    assert_false(vcpu_claim_entry(t));
    assert_int_equal(vcpu_request_on(t, 0x40003000, 1), VCPU_ON_STARTED);
    assert_true(vcpu_claim_entry(t));
}

/* vcpu->stopping, the exit path's one test, says what power and state say. */
static void assert_stopping_in_step(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *v = vm->vcpus[i];
        assert_int_equal(v->stopping, v->power != VCPU_ON || vm->state != VM_RUNNING);
    }
}

static void test_stopping_follows_power_and_state(void **state)
{
    struct vm *vm = running_vm(state);
    struct vcpu *t = vm->vcpus[1];

    assert_false(vm->vcpus[0]->stopping);
    assert_stopping_in_step(vm);
    assert_int_equal(vcpu_request_on(t, 0x40001000, 0), VCPU_ON_STARTED);
    assert_true(t->stopping); /* pending is not on */
    assert_true(vcpu_claim_entry(t));
    assert_false(t->stopping);
    vcpu_mark_off(t);
    assert_true(t->stopping);
    vcpu_release(t);
    assert_stopping_in_step(vm);
    vm_request_reset(vm);
    assert_true(vm->vcpus[0]->stopping);
    assert_stopping_in_step(vm);
    vcpu_release(vm->vcpus[0]);
    assert_true(vm_claim_reset(vm));
    assert_true(vm_finish_reset(vm, true));
    assert_stopping_in_step(vm);
    assert_true(vcpu_claim_entry(vm->vcpus[0]));
    assert_false(vm->vcpus[0]->stopping);
    assert_true(vm_lifecycle_stop(vm, VM_OFF));
    assert_stopping_in_step(vm);
    assert_true(vm->vcpus[0]->stopping);
}

static void test_stop_and_off(void **state)
{
    struct vm *vm = running_vm(state);

    assert_int_equal(vcpu_request_on(vm->vcpus[1], 0x40001000, 0), VCPU_ON_STARTED);
    assert_true(vm_lifecycle_stop(vm, VM_OFF));
    assert_int_equal(vm->state, VM_OFF);
    for (unsigned int i = 0; i < 4; i++)
        assert_int_equal(vm->vcpus[i]->power, VCPU_OFF);
    assert_false(vcpu_claim_entry(vm->vcpus[1])); /* its CPU_ON came too late */
    assert_false(vm_lifecycle_stop(vm, VM_CRASHED)); /* only once */
    assert_int_equal(vm->state, VM_OFF);
    assert_int_equal(vcpu_request_on(vm->vcpus[1], 0x40001000, 0), VCPU_ON_STOPPING);
}

/* ---- the races of issue 15 ---- */

/*
 * vCPU 1's CPU was told to start (CPU_ON) and SYSTEM_RESET arrives before
 * it gets there: it must not enter, and the rebuilt VM starts with vCPU 0
 * only (the old CPU_ON does not survive the reset).
 */
static void test_cpu_on_then_reset_before_entry(void **state)
{
    struct vm *vm = running_vm(state);

    assert_int_equal(vcpu_request_on(vm->vcpus[1], 0x40001000, 0), VCPU_ON_STARTED);
    vm_request_reset(vm);
    assert_false(vcpu_claim_entry(vm->vcpus[1]));
    assert_false(vm_claim_reset(vm)); /* vCPU 0 has not left yet */
    vcpu_release(vm->vcpus[0]);
    assert_true(vm_claim_reset(vm));
    assert_true(vm->building);
    assert_false(vcpu_claim_entry(vm->vcpus[1]));
    assert_false(vcpu_claim_entry(vm->vcpus[0]));
    assert_int_equal(vcpu_request_on(vm->vcpus[1], 0x40001000, 0), VCPU_ON_STOPPING);
    assert_true(vm_finish_reset(vm, true));
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vm->vcpus[1]->power, VCPU_OFF);
    assert_false(vcpu_claim_entry(vm->vcpus[1]));
    assert_true(vcpu_claim_entry(vm->vcpus[0]));
}

/* The vCPU entered just before the reset: the rebuild waits for it to leave. */
static void test_reset_waits_for_running_vcpu(void **state)
{
    struct vm *vm = running_vm(state);

    assert_int_equal(vcpu_request_on(vm->vcpus[1], 0x40001000, 0), VCPU_ON_STARTED);
    assert_true(vcpu_claim_entry(vm->vcpus[1]));
    vm_request_reset(vm);
    assert_int_equal(vm->vcpus[1]->power, VCPU_OFF); /* leaves at its next exit */
    assert_true(kicks[1] >= 2);
    vcpu_release(vm->vcpus[0]);
    assert_false(vm_claim_reset(vm));
    vcpu_release(vm->vcpus[1]);
    assert_true(vm_claim_reset(vm));
    assert_false(vm_claim_reset(vm)); /* one rebuild at a time */
}

static void test_stop_while_building_stays_stopped(void **state)
{
    struct vm *vm = running_vm(state);

    vm_request_reset(vm);
    vcpu_release(vm->vcpus[0]);
    assert_true(vm_claim_reset(vm));
    assert_true(vm_lifecycle_request_stop(vm));
    assert_false(vm_finish_reset(vm, true));
    assert_int_equal(vm->state, VM_STOPPED);
    assert_false(vcpu_claim_entry(vm->vcpus[0]));
    assert_false(vm_claim_reset(vm));
}

static void test_reset_while_building_rebuilds_again(void **state)
{
    struct vm *vm = running_vm(state);

    vm_request_reset(vm);
    vcpu_release(vm->vcpus[0]);
    assert_true(vm_claim_reset(vm));
    vm_request_reset(vm);
    assert_false(vm_finish_reset(vm, true));
    assert_false(vcpu_claim_entry(vm->vcpus[0]));
    assert_true(vm_claim_reset(vm));
    assert_true(vm_finish_reset(vm, true));
    assert_true(vcpu_claim_entry(vm->vcpus[0]));
}

static void test_failed_rebuild_crashes(void **state)
{
    struct vm *vm = running_vm(state);

    vm_request_reset(vm);
    vcpu_release(vm->vcpus[0]);
    assert_true(vm_claim_reset(vm));
    assert_false(vm_finish_reset(vm, false));
    assert_int_equal(vm->state, VM_CRASHED);
    assert_false(vcpu_claim_entry(vm->vcpus[0]));
}

static void test_stop_cancels_pending_reset(void **state)
{
    struct vm *vm = running_vm(state);

    vm_request_reset(vm);
    vm_lifecycle_request_stop(vm);
    vcpu_release(vm->vcpus[0]);
    assert_false(vm_claim_reset(vm));
    assert_int_equal(vm->state, VM_STOPPED);
}

/* ---- threaded stress: simulated CPUs racing the calls ---- */

#define STRESS_CPUS 3
#define STRESS_NS 700000000L

static struct vm *stress_vm;
static int inside;      /* vCPUs between claim and release */
static int rebuilding;  /* the checker's view of a rebuild in progress */
static int violations;
static int stop_stress;
static unsigned long resets_done, entries_done;

static void stress_inside(void)
{
    __atomic_fetch_add(&inside, 1, __ATOMIC_ACQ_REL);
    if (__atomic_load_n(&rebuilding, __ATOMIC_ACQUIRE))
        __atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&entries_done, 1, __ATOMIC_RELAXED);
}

/* One physical CPU running vCPU @id: what the idle loop and exits do. */
static void *stress_cpu(void *arg)
{
    unsigned int id = (unsigned int)(uintptr_t)arg, seed = id * 7919 + 1;
    struct vcpu *v = stress_vm->vcpus[id];

    while (!__atomic_load_n(&stop_stress, __ATOMIC_RELAXED)) {
        if (id == 0 && vm_claim_reset(stress_vm)) {
            __atomic_store_n(&rebuilding, 1, __ATOMIC_RELEASE);
            if (__atomic_load_n(&inside, __ATOMIC_ACQUIRE))
                __atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
            sched_yield();
            __atomic_store_n(&rebuilding, 0, __ATOMIC_RELEASE);
            vm_finish_reset(stress_vm, true);
            __atomic_fetch_add(&resets_done, 1, __ATOMIC_RELAXED);
        }
        if (!vcpu_claim_entry(v)) {
            sched_yield(); /* an idle CPU waits for a kick; spinning on the lock starves the rest */
            continue;
        }
        stress_inside();
        /* in the guest: exits until told to leave (power no longer ON) */
        for (unsigned int n = 0; n < 50 && __atomic_load_n(&v->power, __ATOMIC_RELAXED) == VCPU_ON &&
                                 __atomic_load_n(&stress_vm->state, __ATOMIC_RELAXED) == VM_RUNNING; n++) {
            unsigned int r = rand_r(&seed) % 16;
            if (__atomic_load_n(&rebuilding, __ATOMIC_ACQUIRE))
                __atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
            if (r < 6)
                vcpu_request_on(stress_vm->vcpus[rand_r(&seed) % STRESS_CPUS], 0x40000000, 0);
            else if (r == 6)
                vm_request_reset(stress_vm);
            else if (r == 7 && id != 0) {
                vcpu_mark_off(v);
                break;
            }
        }
        __atomic_fetch_sub(&inside, 1, __ATOMIC_ACQ_REL);
        vcpu_release(v);
    }
    return NULL;
}

static void test_stress_cpu_on_vs_reset(void **state)
{
    pthread_t t[STRESS_CPUS];
    struct timespec ts = { 0, STRESS_NS };

    stress_vm = *state;
    vm_lifecycle_start(stress_vm);
    for (unsigned int i = 0; i < STRESS_CPUS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, stress_cpu, (void *)(uintptr_t)i), 0);
    nanosleep(&ts, NULL);
    __atomic_store_n(&stop_stress, 1, __ATOMIC_RELAXED);
    for (unsigned int i = 0; i < STRESS_CPUS; i++)
        pthread_join(t[i], NULL);
    print_message("stress: %lu rebuilds, %lu vCPU entries, %d violations\n", resets_done,
                  entries_done, violations);
    assert_int_equal(violations, 0);
    assert_true(resets_done > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_runs_vcpu0_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_on_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_off_then_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopping_follows_power_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_on_then_reset_before_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_waits_for_running_vcpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_while_building_stays_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_while_building_rebuilds_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_rebuild_crashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_cancels_pending_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stress_cpu_on_vs_reset, setup, teardown),
    };

    return cmocka_run_group_tests_name("vm lifecycle", tests, NULL, NULL);
}
