/*
 * src/core/vm_config.c and src/core/shmem.c compiled into one unit with the
 * harness hooks below: both keep boot-time state in file statics (each core's
 * vCPUs, the shared-memory regions) that a fuzzer must reset between
 * inputs, and that the checks need to see. Nothing in src/ changes for it.
 */
#include "../../../src/core/vm_config.c"
#include "../../../src/core/shmem.c"

#include "config_unity.h"

void fuzz_config_reset(void)
{
    memset(cpu_load, 0, sizeof(cpu_load));
    host_fdt = NULL;
    memset(regions, 0, sizeof(regions));
    nr_regions = 0;
}

unsigned int fuzz_shmem_count(void)
{
    return nr_regions;
}

void fuzz_shmem_region(unsigned int i, char name[32], u64 *pa, u64 *ipa, u64 *size)
{
    memcpy(name, regions[i].name, 32);
    *pa = regions[i].pa;
    *ipa = regions[i].ipa;
    *size = regions[i].size;
}
