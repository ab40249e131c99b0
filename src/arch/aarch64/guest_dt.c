/*
 * The AArch64 part of a guest's device tree: PSCI, the CPUs (reg = MPIDR),
 * the architected timer and the PMU, following the Linux DT bindings
 * arm/psci.yaml, arm/cpus.yaml, timer/arm,arch_timer.yaml and arm/pmu.yaml.
 * Pure logic: unit-tested on the host with core/guest_dt.c
 * (tests/unit/guest_dt/).
 */
#include <libfdt.h>
#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/psci.h>

/*
 * With /cpus #address-cells = <1> a cpu's reg is MPIDR bits [23:0]
 * (Aff2..Aff0); an Aff3 would need two cells (arm/cpus.yaml).
 */
#define GUEST_DT_CPU_REG_MASK 0xffffffUL

static bool guest_dt_mpidrs_valid(const u64 *mpidr, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        if (mpidr[i] & ~GUEST_DT_CPU_REG_MASK)
            return false;
        /* Equal MPIDRs would give two nodes the same name and PSCI target. */
        for (unsigned int j = 0; j < i; j++)
            if (mpidr[i] == mpidr[j])
                return false;
    }
    return true;
}

bool arch_guest_dt_params_valid(const struct guest_dt_params *p)
{
    u32 cells[4];

    if (!p->timer_ppis)
        return false;
    for (int i = 0; i < 4; i++)
        if (!p->virq->dt_spec_private(cells, p->ncpus, p->timer_ppis[i], VIRQ_LEVEL_HIGH))
            return false;
    if (p->pmu_ppi && !p->virq->dt_spec_private(cells, p->ncpus, p->pmu_ppi, VIRQ_LEVEL_HIGH))
        return false;
    return guest_dt_mpidrs_valid(p->cpu_ids, p->ncpus);
}

/*
 * PSCI 1.0 through Keel's HVC handler. "arm,psci" (PSCI 0.1) stays last for
 * old guests; its binding requires the function IDs, so they are given as
 * the standard PSCI 0.2 ones, which newer guests use anyway.
 */
static int guest_dt_add_psci(void *fdt)
{
    static const char compat[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";

    return fdt_begin_node(fdt, "psci") ?:
           guest_dt_prop_strings(fdt, "compatible", compat) ?:
           fdt_property_string(fdt, "method", "hvc") ?:
           fdt_property_u32(fdt, "cpu_suspend", PSCI_FN64(PSCI_CPU_SUSPEND)) ?:
           fdt_property_u32(fdt, "cpu_off", PSCI_CPU_OFF) ?:
           fdt_property_u32(fdt, "cpu_on", PSCI_FN64(PSCI_CPU_ON)) ?:
           fdt_property_u32(fdt, "migrate", PSCI_FN64(PSCI_MIGRATE)) ?:
           fdt_end_node(fdt);
}

/* The unit address is the reg, i.e. the MPIDR: cpu@N only when Aff0 = N. */
static int guest_dt_add_cpu(void *fdt, u64 mpidr)
{
    return guest_dt_begin_node_at(fdt, "cpu", mpidr) ?:
           fdt_property_string(fdt, "device_type", "cpu") ?:
           fdt_property_string(fdt, "compatible", "arm,armv8") ?:
           fdt_property_u32(fdt, "reg", (u32)mpidr) ?:
           fdt_property_string(fdt, "enable-method", "psci") ?:
           fdt_end_node(fdt);
}

static int guest_dt_add_cpus(void *fdt, const struct guest_dt_params *p)
{
    int err = fdt_begin_node(fdt, "cpus") ?:
              fdt_property_u32(fdt, "#address-cells", 1) ?:
              fdt_property_u32(fdt, "#size-cells", 0);

    for (unsigned int i = 0; i < p->ncpus && !err; i++)
        err = guest_dt_add_cpu(fdt, p->cpu_ids[i]);
    return err ?: fdt_end_node(fdt);
}

/* Binding order: secure phys, non-secure phys, virtual, hypervisor phys. */
static int guest_dt_add_timer(void *fdt, const struct guest_dt_params *p)
{
    u32 cells[4 * 4];
    unsigned int n = 0;

    /* Level-high, as the architecture's timers are (and Keel's emulation of them). */
    for (int i = 0; i < 4; i++)
        n += p->virq->dt_spec_private(&cells[n], p->ncpus, p->timer_ppis[i], VIRQ_LEVEL_HIGH);
    return fdt_begin_node(fdt, "timer") ?:
           fdt_property_string(fdt, "compatible", "arm,armv8-timer") ?:
           guest_dt_prop_irqs(fdt, cells, n) ?:
           fdt_end_node(fdt);
}

/*
 * One PPI for every CPU: the overflow line is level, as Keel forwards the
 * hardware's (the guest's deactivation of it deactivates the physical one).
 */
static int guest_dt_add_pmu(void *fdt, const struct guest_dt_params *p)
{
    u32 cells[4];
    unsigned int n = p->virq->dt_spec_private(cells, p->ncpus, p->pmu_ppi, VIRQ_LEVEL_HIGH);

    return fdt_begin_node(fdt, "pmu") ?:
           fdt_property_string(fdt, "compatible", "arm,armv8-pmuv3") ?:
           guest_dt_prop_irqs(fdt, cells, n) ?:
           fdt_end_node(fdt);
}

int arch_guest_dt_cpu_nodes(void *fdt, const struct guest_dt_params *p)
{
    return guest_dt_add_psci(fdt) ?:
           guest_dt_add_cpus(fdt, p) ?:
           guest_dt_add_timer(fdt, p) ?:
           (p->pmu_ppi ? guest_dt_add_pmu(fdt, p) : 0);
}
