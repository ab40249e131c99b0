/* Calls from Keel to the firmware's PSCI (DEN 0022), over the DT's conduit. */
#ifndef ARCH_PSCI_FW_H
#define ARCH_PSCI_FW_H

#include <keel/platform.h>

void psci_fw_init(enum psci_conduit conduit);
int psci_fw_cpu_on(u64 mpidr, u64 entry, u64 context);
void psci_fw_system_off(void);

#endif
