/*
 * psci: PSCI 1.1 (Arm DEN 0022) and SMCCC 1.1 (Arm DEN 0028) as the guest
 * sees them: VERSION, FEATURES of every function, CPU_ON of every vCPU and
 * its error codes, the entry state of a started CPU, CPU_OFF then ON again,
 * AFFINITY_INFO states, CPU_SUSPEND, and both conduits (HVC and SMC).
 */
#include "libguest.h"

#define CTX_MAGIC 0x5eed00UL

struct fn_info {
    u32 fid;
    const char *name;
    int need; /* 1: mandatory in PSCI 1.1 (or as Keel promises), 0: optional */
};

static const struct fn_info psci_fns[] = {
    { PSCI_VERSION, "PSCI_VERSION", 1 },
    { PSCI_CPU_SUSPEND, "CPU_SUSPEND (32)", 1 },
    { PSCI_FN64(PSCI_CPU_SUSPEND), "CPU_SUSPEND (64)", 1 },
    { PSCI_CPU_OFF, "CPU_OFF", 1 },
    { PSCI_CPU_ON, "CPU_ON (32)", 1 },
    { PSCI_FN64(PSCI_CPU_ON), "CPU_ON (64)", 1 },
    { PSCI_AFFINITY_INFO, "AFFINITY_INFO (32)", 1 },
    { PSCI_FN64(PSCI_AFFINITY_INFO), "AFFINITY_INFO (64)", 1 },
    { PSCI_MIGRATE, "MIGRATE (32)", 0 },
    { PSCI_FN64(PSCI_MIGRATE), "MIGRATE (64)", 0 },
    { PSCI_MIGRATE_INFO_TYPE, "MIGRATE_INFO_TYPE", 1 },
    { PSCI_MIGRATE_INFO_UP_CPU, "MIGRATE_INFO_UP_CPU (32)", 0 },
    { PSCI_FN64(PSCI_MIGRATE_INFO_UP_CPU), "MIGRATE_INFO_UP_CPU (64)", 0 },
    { PSCI_SYSTEM_OFF, "SYSTEM_OFF", 1 },
    { PSCI_SYSTEM_RESET, "SYSTEM_RESET", 1 },
    { PSCI_FEATURES, "PSCI_FEATURES", 1 },
    { PSCI_CPU_FREEZE, "CPU_FREEZE", 0 },
    { PSCI_CPU_DEFAULT_SUSPEND, "CPU_DEFAULT_SUSPEND (32)", 0 },
    { PSCI_FN64(PSCI_CPU_DEFAULT_SUSPEND), "CPU_DEFAULT_SUSPEND (64)", 0 },
    { PSCI_NODE_HW_STATE, "NODE_HW_STATE (32)", 0 },
    { PSCI_FN64(PSCI_NODE_HW_STATE), "NODE_HW_STATE (64)", 0 },
    { PSCI_SYSTEM_SUSPEND, "SYSTEM_SUSPEND (32)", 0 },
    { PSCI_FN64(PSCI_SYSTEM_SUSPEND), "SYSTEM_SUSPEND (64)", 0 },
    { PSCI_SET_SUSPEND_MODE, "PSCI_SET_SUSPEND_MODE", 0 },
    { PSCI_STAT_RESIDENCY, "PSCI_STAT_RESIDENCY (32)", 0 },
    { PSCI_FN64(PSCI_STAT_RESIDENCY), "PSCI_STAT_RESIDENCY (64)", 0 },
    { PSCI_STAT_COUNT, "PSCI_STAT_COUNT (32)", 0 },
    { PSCI_FN64(PSCI_STAT_COUNT), "PSCI_STAT_COUNT (64)", 0 },
    { PSCI_SYSTEM_RESET2, "SYSTEM_RESET2 (32)", 0 },
    { PSCI_FN64(PSCI_SYSTEM_RESET2), "SYSTEM_RESET2 (64)", 0 },
    { PSCI_MEM_PROTECT, "MEM_PROTECT", 0 },
    { PSCI_MEM_PROTECT_CHECK_RANGE, "MEM_PROTECT_CHECK_RANGE (32)", 0 },
    { PSCI_FN64(PSCI_MEM_PROTECT_CHECK_RANGE), "MEM_PROTECT_CHECK_RANGE (64)", 0 },
    /* SMCCC 1.1 requires PSCI_FEATURES to answer for SMCCC_VERSION */
    { SMCCC_VERSION, "SMCCC_VERSION", 1 },
};

static void test_version(void)
{
    s64 v = psci_call(PSCI_VERSION, 0, 0, 0);
    struct smccc_res h = smccc_hvc(PSCI_VERSION, 0, 0, 0), s = smccc_smc(PSCI_VERSION, 0, 0, 0);

    report(v == 0x10001, "PSCI_VERSION is 1.1 (%ld.%ld)", v >> 16, v & 0xffff);
    report((u32)h.a0 == (u32)v && (u32)s.a0 == (u32)v,
           "PSCI_VERSION is the same over HVC (%#lx) and SMC (%#lx)", h.a0, s.a0);
    v = psci_call(SMCCC_VERSION, 0, 0, 0);
    report(v >= 0x10001, "SMCCC_VERSION is at least 1.1 (%#lx)", v);
    v = psci_call(SMCCC_ARCH_FEATURES, SMCCC_ARCH_FEATURES, 0, 0);
    report(v == 0, "SMCCC_ARCH_FEATURES(SMCCC_ARCH_FEATURES) is 0 (%ld)", v);
    v = psci_call(SMCCC_ARCH_FEATURES, 0x8000ff00, 0, 0);
    report(v == PSCI_RET_NOT_SUPPORTED, "SMCCC_ARCH_FEATURES of an unknown call is NOT_SUPPORTED (%ld)", v);
    v = psci_call(PSCI_MIGRATE_INFO_TYPE, 0, 0, 0);
    report(v == 2, "MIGRATE_INFO_TYPE is 2: no Trusted OS to migrate (%ld)", v);
}

/* Calling a function FEATURES calls unsupported must answer NOT_SUPPORTED. */
static void test_features(void)
{
    s64 r;

    report_prefix_push("FEATURES");
    for (unsigned int i = 0; i < ARRAY_SIZE(psci_fns); i++) {
        const struct fn_info *f = &psci_fns[i];

        r = psci_call(PSCI_FEATURES, f->fid, 0, 0);
        if (f->need) {
            report(r >= 0, "%s (%#x) is supported (%ld)", f->name, f->fid, r);
            if (f->fid == PSCI_CPU_SUSPEND || f->fid == PSCI_FN64(PSCI_CPU_SUSPEND))
                report(r >= 0 && !(r & ~3L), "%s feature flags: only bits 0-1 (%#lx)", f->name, r);
            else if (r >= 0)
                report(r == 0, "%s feature flags are 0 (%#lx)", f->name, r);
        } else if (r == PSCI_RET_NOT_SUPPORTED) {
            s64 c = psci_call(f->fid, 0, 0, 0);
            report(c == PSCI_RET_NOT_SUPPORTED,
                   "%s (%#x) is not supported, and calling it says so (%ld)", f->name, f->fid, c);
        } else {
            report(r >= 0, "%s (%#x) is optional and supported (%ld)", f->name, f->fid, r);
        }
    }
    r = psci_call(PSCI_FEATURES, 0x8400ffffU, 0, 0);
    report(r == PSCI_RET_NOT_SUPPORTED, "unknown PSCI function 0x8400ffff is NOT_SUPPORTED (%ld)", r);
    r = psci_call(PSCI_FEATURES, PSCI_FN64(PSCI_VERSION), 0, 0);
    report(r == PSCI_RET_NOT_SUPPORTED, "64-bit PSCI_VERSION (0xc4000000) does not exist (%ld)", r);
    r = psci_call(PSCI_FEATURES, 0xc2001234U, 0, 0);
    report(r == PSCI_RET_NOT_SUPPORTED, "a SiP call is not a PSCI feature (%ld)", r);
    report_prefix_pop();

    r = psci_call(0xc2001234U, 1, 2, 3);
    report(r == PSCI_RET_NOT_SUPPORTED, "an unknown SiP call answers NOT_SUPPORTED (%ld)", r);
    r = psci_call(0x86001234U, 1, 2, 3);
    report(r == PSCI_RET_NOT_SUPPORTED, "an unknown vendor hypervisor call answers NOT_SUPPORTED (%ld)", r);
    {
        register u64 x0 __asm__("x0") = PSCI_VERSION;
        __asm__ volatile("hvc #1" : "+r"(x0) :: "x1", "x2", "x3", "memory");
        report((s64)x0 == PSCI_RET_NOT_SUPPORTED, "HVC #1 (not SMCCC) answers NOT_SUPPORTED (%ld)",
               (s64)x0);
    }
}

static void check_mpidr(void *arg)
{
    u64 *out = arg;

    out[smp_id()] = read_sysreg(mpidr_el1);
}

static void cpu_off_fn(void *arg)
{
    cpu_off_self();
}

static bool wait_aff(unsigned int cpu, s64 state, u64 timeout_us)
{
    return wait_until(psci_affinity_info(machine.mpidr[cpu], 0) == state, timeout_us);
}

/* CPU_ON with context id @ctx through the 32- or 64-bit function; waits until it runs. */
static s64 start_cpu(unsigned int cpu, u64 ctx, bool fn32)
{
    u32 fid = fn32 ? PSCI_CPU_ON : PSCI_FN64(PSCI_CPU_ON);
    s64 r = psci_call(fid, machine.mpidr[cpu], (u64)secondary_entry, ctx);

    if (r == PSCI_RET_SUCCESS && !wait_until(cpu_online(cpu), 5000000))
        report(false, "cpu %u: not online 5 s after CPU_ON", cpu);
    return r;
}

static void check_entry_state(unsigned int cpu, u64 ctx, unsigned int boots)
{
    struct cpu_entry_state *e = &cpu_entry[cpu];

    report(e->context == ctx, "cpu %u: x0 at entry is the context id (%#lx, want %#lx)", cpu,
           e->context, ctx);
    report(e->boots == boots, "cpu %u: entered %u time(s) (want %u)", cpu, e->boots, boots);
    report(e->currentel == (1 << 2) && e->spsel == 1, "cpu %u: entered at EL1h (CurrentEL %#lx SPSel %lu)",
           cpu, e->currentel, e->spsel);
    report((e->daif & 0x3c0) == 0x3c0, "cpu %u: entered with DAIF all masked (%#lx)", cpu, e->daif);
    report(!(e->sctlr & (BIT(0) | BIT(2))), "cpu %u: entered with MMU and D-cache off (SCTLR %#lx)",
           cpu, e->sctlr);
}

static void test_cpu_on(void)
{
    unsigned int n = machine.nr_cpus;
    u64 self = machine.mpidr[0];
    u64 mpidr[MAX_CPUS] = { 0 };
    s64 r;

    report_prefix_push("CPU_ON");
    r = psci_cpu_on(self, (u64)secondary_entry, 0);
    report(r == PSCI_RET_ALREADY_ON, "of the calling CPU: ALREADY_ON (%ld)", r);
    r = psci_call(PSCI_CPU_ON, self, (u64)secondary_entry, 0);
    report(r == PSCI_RET_ALREADY_ON, "(32-bit) of the calling CPU: ALREADY_ON (%ld)", r);
    r = psci_cpu_on(0x80000000UL | n, (u64)secondary_entry, 0);
    report(r == PSCI_RET_INVALID_PARAMS, "of MPIDR %#x (no such vCPU): INVALID_PARAMETERS (%ld)",
           0x80000000U | n, r);
    r = psci_cpu_on(0x100, (u64)secondary_entry, 0);
    report(r == PSCI_RET_INVALID_PARAMS, "of MPIDR 0x100 (Aff1 = 1): INVALID_PARAMETERS (%ld)", r);
    r = psci_cpu_on(0xff00000000UL, (u64)secondary_entry, 0);
    report(r == PSCI_RET_INVALID_PARAMS, "of MPIDR Aff3 = 0xff: INVALID_PARAMETERS (%ld)", r);

    r = psci_affinity_info(self, 0);
    report(r == PSCI_AFF_ON, "AFFINITY_INFO of the calling CPU: ON (%ld)", r);
    r = psci_call(PSCI_AFFINITY_INFO, self, 0, 0);
    report(r == PSCI_AFF_ON, "AFFINITY_INFO (32-bit) of the calling CPU: ON (%ld)", r);
    r = psci_affinity_info(0x80000000UL | n, 0);
    report(r == PSCI_RET_INVALID_PARAMS, "AFFINITY_INFO of a missing vCPU: INVALID_PARAMETERS (%ld)", r);

    if (n == 1)
        report_info("1 vCPU: no secondary CPU to start");
    for (unsigned int cpu = 1; cpu < n; cpu++) {
        u64 ctx = CTX_MAGIC << 8 | cpu;
        bool fn32 = cpu & 1;

        r = psci_affinity_info(machine.mpidr[cpu], 0);
        report(r == PSCI_AFF_OFF, "cpu %u: AFFINITY_INFO before CPU_ON: OFF (%ld)", cpu, r);
        r = psci_cpu_on(machine.mpidr[cpu], 0x1000, ctx);
        report(r == PSCI_RET_INVALID_ADDRESS, "cpu %u: entry 0x1000 (not RAM): INVALID_ADDRESS (%ld)",
               cpu, r);
        r = psci_cpu_on(machine.mpidr[cpu], machine.ram_base + machine.ram_size, ctx);
        report(r == PSCI_RET_INVALID_ADDRESS, "cpu %u: entry just past RAM: INVALID_ADDRESS (%ld)",
               cpu, r);
        r = start_cpu(cpu, ctx, fn32);
        report(r == PSCI_RET_SUCCESS, "cpu %u (MPIDR %#lx, %s): SUCCESS (%ld)", cpu, machine.mpidr[cpu],
               fn32 ? "32-bit" : "64-bit", r);
        if (r != PSCI_RET_SUCCESS)
            continue;
        check_entry_state(cpu, ctx, 1);
        r = psci_affinity_info(machine.mpidr[cpu], 0);
        report(r == PSCI_AFF_ON, "cpu %u: AFFINITY_INFO once running: ON (%ld)", cpu, r);
        r = psci_cpu_on(machine.mpidr[cpu], (u64)secondary_entry, ctx);
        report(r == PSCI_RET_ALREADY_ON, "cpu %u: CPU_ON again: ALREADY_ON (%ld)", cpu, r);
    }

    on_cpus(check_mpidr, mpidr);
    for (unsigned int cpu = 0; cpu < n; cpu++)
        report(mpidr_aff(mpidr[cpu]) == cpu && (mpidr[cpu] & BIT(31)) &&
                   mpidr_aff(mpidr[cpu]) == mpidr_aff(machine.mpidr[cpu]),
               "cpu %u: MPIDR_EL1 %#lx matches the DT (%#lx)", cpu, mpidr[cpu], machine.mpidr[cpu]);

    /* A secondary started by another secondary. */
    if (n >= 3) {
        s64 res = 1;
        on_cpu(1, cpu_off_fn, NULL); /* powers itself off: on_cpu returns once it is offline */
        report(wait_aff(1, PSCI_AFF_OFF, 2000000), "cpu 1: OFF after CPU_OFF");
        struct { unsigned int cpu; s64 *res; } a = { 1, &res };
        void start_from(void *p);
        on_cpu(2, start_from, &a);
        report(res == PSCI_RET_SUCCESS, "cpu 1 powered on by cpu 2: SUCCESS (%ld)", res);
        report(cpu_entry[1].context == (CTX_MAGIC << 8 | 0x8000 | 1) && cpu_entry[1].boots == 2,
               "cpu 1: context from cpu 2's CPU_ON (%#lx), second boot (%u)", cpu_entry[1].context,
               cpu_entry[1].boots);
    }
    report_prefix_pop();
}

void start_from(void *p)
{
    struct { unsigned int cpu; s64 *res; } *a = p;

    *a->res = start_cpu(a->cpu, CTX_MAGIC << 8 | 0x8000 | a->cpu, false);
}

static void test_cpu_off(void)
{
    unsigned int n = machine.nr_cpus;

    report_prefix_push("CPU_OFF");
    for (unsigned int cpu = 1; cpu < n; cpu++) {
        unsigned int boots = cpu_entry[cpu].boots;
        u64 ctx = (CTX_MAGIC + 1) << 8 | cpu;
        s64 r;

        if (!cpu_online(cpu))
            continue;
        on_cpu_async(cpu, cpu_off_fn, NULL);
        report(wait_aff(cpu, PSCI_AFF_OFF, 2000000), "cpu %u: AFFINITY_INFO OFF after CPU_OFF", cpu);
        r = start_cpu(cpu, ctx, !(cpu & 1));
        report(r == PSCI_RET_SUCCESS, "cpu %u: CPU_ON after CPU_OFF: SUCCESS (%ld)", cpu, r);
        if (r == PSCI_RET_SUCCESS)
            check_entry_state(cpu, ctx, boots + 1);
        r = psci_affinity_info(machine.mpidr[cpu], 0);
        report(r == PSCI_AFF_ON, "cpu %u: AFFINITY_INFO ON again (%ld)", cpu, r);
    }
    /* Every CPU off, then all on at once. */
    if (n > 1) {
        bool ok = true;
        for (unsigned int cpu = 1; cpu < n; cpu++)
            on_cpu_async(cpu, cpu_off_fn, NULL);
        for (unsigned int cpu = 1; cpu < n; cpu++)
            ok &= wait_aff(cpu, PSCI_AFF_OFF, 2000000);
        report(ok, "all %u secondaries OFF", n - 1);
        ok = true;
        bool again_ok = true;
        for (unsigned int cpu = 1; cpu < n; cpu++) {
            s64 r, a;
            /* CPU 2 goes through the SMC conduit (trapped by Keel) */
            if (cpu == 2)
                r = (s64)smccc_smc(PSCI_FN64(PSCI_CPU_ON), machine.mpidr[cpu], (u64)secondary_entry,
                                   (CTX_MAGIC + 2) << 8 | cpu).a0;
            else
                r = psci_cpu_on(machine.mpidr[cpu], (u64)secondary_entry, (CTX_MAGIC + 2) << 8 | cpu);
            ok &= r == PSCI_RET_SUCCESS;
            /* straight after: either still pending or already on */
            r = psci_cpu_on(machine.mpidr[cpu], (u64)secondary_entry, 0);
            a = psci_affinity_info(machine.mpidr[cpu], 0);
            again_ok &= (r == PSCI_RET_ON_PENDING || r == PSCI_RET_ALREADY_ON) &&
                        (a == PSCI_AFF_ON_PENDING || a == PSCI_AFF_ON);
            if (r != PSCI_RET_ON_PENDING && r != PSCI_RET_ALREADY_ON)
                report_info("cpu %u: second CPU_ON returned %ld, AFFINITY_INFO %ld", cpu, r, a);
        }
        report(again_ok, "a second CPU_ON right after the first: ON_PENDING or ALREADY_ON, "
                         "AFFINITY_INFO ON_PENDING or ON");
        for (unsigned int cpu = 1; cpu < n; cpu++)
            ok &= wait_until(cpu_online(cpu), 5000000);
        report(ok, "all %u secondaries back ON together", n - 1);
        for (unsigned int cpu = 1; cpu < n; cpu++)
            ok &= psci_affinity_info(machine.mpidr[cpu], 0) == PSCI_AFF_ON &&
                  cpu_entry[cpu].context == ((CTX_MAGIC + 2) << 8 | cpu);
        report(ok, "their AFFINITY_INFO is ON and each got its own context id");
    }
    report_prefix_pop();
}

/*
 * A standby CPU_SUSPEND ends on a wake-up event, as WFI does (PSCI 1.1
 * 5.4.2), or at once: both are right. On a shared CPU Keel waits, so each
 * call has a wake-up coming: the virtual timer 1 ms ahead, whose expiry
 * Keel takes as one even with the PPI disabled at the GIC (waking early
 * is always allowed).
 */
static s64 suspend_until_timer(u32 fn)
{
    s64 r;

    vtimer_set_cval(cntvct() + read_sysreg(cntfrq_el0) / 1000);
    vtimer_set_ctl(1);
    r = psci_call(fn, 0, (u64)secondary_entry, 0);
    vtimer_set_ctl(0);
    return r;
}

static void test_suspend(void)
{
    s64 r = suspend_until_timer(PSCI_FN64(PSCI_CPU_SUSPEND));

    report(r == PSCI_RET_SUCCESS, "CPU_SUSPEND (standby, 64-bit) returns SUCCESS (%ld)", r);
    r = suspend_until_timer(PSCI_CPU_SUSPEND);
    report(r == PSCI_RET_SUCCESS, "CPU_SUSPEND (standby, 32-bit) returns SUCCESS (%ld)", r);
}

void guest_main(void)
{
    report_prefix_push("psci");
    report_info("%u vCPU(s), conduit %s", machine.nr_cpus, machine.psci_smc ? "smc" : "hvc");
    test_version();
    test_features();
    test_cpu_on();
    test_cpu_off();
    test_suspend();
    report_prefix_pop();
}
