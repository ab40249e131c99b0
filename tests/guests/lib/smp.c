/*
 * Secondary CPUs (PSCI CPU_ON), work dispatch to them, PSCI calls and
 * spinlocks.
 */
#include "libguest.h"

struct percpu {
    cpu_fn fn;
    void *arg;
    bool online;
};
static struct percpu pcpu[MAX_CPUS];

/* ---- spinlocks: a ticket lock; the compiler emits LDAXRH/STXRH (armv8.0, no outline atomics) ---- */
void spin_lock(spinlock_t *l)
{
    u16 me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
        cpu_relax();
}

void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->owner, (u16)(l->owner + 1), __ATOMIC_RELEASE);
}

bool spin_trylock(spinlock_t *l)
{
    u16 owner = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE), next = owner;

    /* free when next == owner: take the next ticket only then */
    return __atomic_compare_exchange_n(&l->next, &next, (u16)(owner + 1), false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

u64 spin_lock_irqsave(spinlock_t *l)
{
    u64 f = local_irq_save();

    spin_lock(l);
    return f;
}

void spin_unlock_irqrestore(spinlock_t *l, u64 flags)
{
    spin_unlock(l);
    local_irq_restore(flags);
}

/* ---- PSCI ---- */
s64 psci_call(u32 fn, u64 a1, u64 a2, u64 a3)
{
    struct smccc_res r = machine.psci_smc ? smccc_smc(fn, a1, a2, a3) : smccc_hvc(fn, a1, a2, a3);

    return (fn & BIT(30)) ? (s64)r.a0 : (s64)(s32)r.a0;
}

s64 psci_cpu_on(u64 mpidr, u64 entry, u64 context)
{
    return psci_call(PSCI_FN64(PSCI_CPU_ON), mpidr, entry, context);
}

s64 psci_affinity_info(u64 mpidr, u64 level)
{
    return psci_call(PSCI_FN64(PSCI_AFFINITY_INFO), mpidr, level, 0);
}

void __noreturn psci_system_off(void)
{
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    puts_raw("FAIL: PSCI SYSTEM_OFF returned\n");
    for (;;)
        wfi();
}

/* ---- CPUs ---- */
void smp_mark_online(unsigned int cpu);
void smp_secondary_loop(void);

void smp_mark_online(unsigned int cpu)
{
    pcpu[cpu].fn = NULL;
    __atomic_store_n(&pcpu[cpu].online, true, __ATOMIC_RELEASE);
    dsb(ish);
    sev();
}

bool cpu_online(unsigned int cpu)
{
    return cpu < MAX_CPUS && __atomic_load_n(&pcpu[cpu].online, __ATOMIC_ACQUIRE);
}

s64 smp_boot(unsigned int cpu)
{
    s64 ret;

    if (cpu >= machine.nr_cpus)
        return PSCI_RET_INVALID_PARAMS;
    __atomic_store_n(&pcpu[cpu].online, false, __ATOMIC_RELEASE);
    ret = psci_cpu_on(machine.mpidr[cpu], (u64)secondary_entry,
                      cpu | (u64)(cpu_entry[cpu].boots + 1) << 8);
    if (ret == PSCI_RET_SUCCESS && !wait_until(cpu_online(cpu), 5000000))
        report(false, "cpu %u did not come online within 5 s of CPU_ON", cpu);
    return ret;
}

void smp_boot_all(void)
{
    for (unsigned int cpu = 1; cpu < machine.nr_cpus; cpu++) {
        s64 ret;

        if (cpu_online(cpu))
            continue;
        ret = smp_boot(cpu);
        if (ret != PSCI_RET_SUCCESS)
            guest_abort("CPU_ON of cpu %u (MPIDR %#lx) returned %ld", cpu, machine.mpidr[cpu], ret);
    }
}

void smp_secondary_loop(void)
{
    struct percpu *p = &pcpu[smp_id()];

    for (;;) {
        cpu_fn fn;

        /* Masked while checking, so the wake-up SGI cannot slip in before WFI. */
        local_irq_disable();
        while (!(fn = __atomic_load_n(&p->fn, __ATOMIC_ACQUIRE))) {
            wfi();
            local_irq_enable();
            isb();
            local_irq_disable();
        }
        local_irq_enable();
        fn(p->arg);
        __atomic_store_n(&p->fn, NULL, __ATOMIC_RELEASE);
        dsb(ish);
        sev();
    }
}

void on_cpu_async(unsigned int cpu, cpu_fn fn, void *arg)
{
    struct percpu *p = &pcpu[cpu];

    if (cpu == smp_id() || !cpu_online(cpu))
        guest_abort("on_cpu_async(%u): CPU is this one or offline", cpu);
    if (!cpu_idle_wait(cpu, 10000000))
        guest_abort("on_cpu_async(%u): still busy after 10 s", cpu);
    p->arg = arg;
    __atomic_store_n(&p->fn, fn, __ATOMIC_RELEASE);
    gic_send_sgi(cpu, GIC_WAKE_SGI);
}

bool cpu_idle_wait(unsigned int cpu, u64 timeout_us)
{
    return wait_until(!__atomic_load_n(&pcpu[cpu].fn, __ATOMIC_ACQUIRE) || !cpu_online(cpu),
                      timeout_us);
}

void on_cpu(unsigned int cpu, cpu_fn fn, void *arg)
{
    if (cpu == smp_id()) {
        fn(arg);
        return;
    }
    on_cpu_async(cpu, fn, arg);
    if (!cpu_idle_wait(cpu, 30000000))
        guest_abort("cpu %u: work did not finish within 30 s", cpu);
}

void on_cpus(cpu_fn fn, void *arg)
{
    unsigned int self = smp_id();

    for (unsigned int cpu = 0; cpu < machine.nr_cpus; cpu++)
        if (cpu != self && cpu_online(cpu))
            on_cpu_async(cpu, fn, arg);
    fn(arg);
    for (unsigned int cpu = 0; cpu < machine.nr_cpus; cpu++)
        if (cpu != self && cpu_online(cpu) && !cpu_idle_wait(cpu, 30000000))
            guest_abort("cpu %u: work did not finish within 30 s", cpu);
}

void __noreturn cpu_off_self(void)
{
    struct percpu *p = &pcpu[smp_id()];
    s64 ret;

    local_irq_disable();
    p->fn = NULL;
    __atomic_store_n(&p->online, false, __ATOMIC_RELEASE);
    dsb(ish);
    ret = psci_call(PSCI_CPU_OFF, 0, 0, 0);
    guest_abort("cpu %u: PSCI CPU_OFF returned %ld", smp_id(), ret);
}
