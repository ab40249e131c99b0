#include <arch/psci_fw.h>
#include <keel/psci.h>

static enum psci_conduit fw_conduit;

/* SMCCC 1.1: arguments in x0-x3, result in x0; x4-x17 may be clobbered. */
static u64 psci_fw_call(u64 fn, u64 a1, u64 a2, u64 a3)
{
    register u64 x0 __asm__("x0") = fn;
    register u64 x1 __asm__("x1") = a1;
    register u64 x2 __asm__("x2") = a2;
    register u64 x3 __asm__("x3") = a3;

    if (fw_conduit == PSCI_CONDUIT_SMC)
        __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                         : : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
                           "x14", "x15", "x16", "x17", "memory");
    else if (fw_conduit == PSCI_CONDUIT_HVC)
        __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                         : : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
                           "x14", "x15", "x16", "x17", "memory");
    else
        return (u64)PSCI_RET_NOT_SUPPORTED;
    return x0;
}

void psci_fw_init(enum psci_conduit conduit)
{
    fw_conduit = conduit;
}

int psci_fw_cpu_on(u64 mpidr, u64 entry, u64 context)
{
    return (int)psci_fw_call(PSCI_FN64(PSCI_CPU_ON), mpidr, entry, context);
}

void psci_fw_system_off(void)
{
    psci_fw_call(PSCI_SYSTEM_OFF, 0, 0, 0);
}

