/* Hooks into vm_config.c and shmem.c for the harnesses (config_unity.c). */
#ifndef FUZZ_CONFIG_UNITY_H
#define FUZZ_CONFIG_UNITY_H

#include <keel/types.h>

void fuzz_config_reset(void);
unsigned int fuzz_shmem_count(void);
void fuzz_shmem_region(unsigned int i, char name[32], u64 *pa, u64 *ipa, u64 *size);

#endif
