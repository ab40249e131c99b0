/*
 * The interface generic code (src/core, src/vdev) uses to reach the ISA.
 * Everything here has an aarch64 implementation in src/arch/aarch64 and a
 * fake one in tests/unit/fake_arch.c for host unit tests.
 */
#ifndef KEEL_ARCH_H
#define KEEL_ARCH_H

#include <keel/types.h>
#include <arch/arch_info.h>

u64 arch_counter_read(void);
u64 arch_counter_freq(void);
unsigned int arch_cpu_id(void);
void arch_cpu_idle(void);
void __noreturn arch_cpu_halt(void);
void arch_dump_backtrace(u64 fp);
/* Powers the whole machine off through firmware; returns only on failure. */
void arch_system_off(void);
/* Starts physical CPU @cpu (index into platform.cpu_hwid). */
int arch_cpu_start(unsigned int cpu);
/* How it is started, for the banner: "psci", "spin-table", "SBI HSM". */
const char *arch_cpu_start_method(unsigned int cpu);

/* Banner lines (core/main.c): the timer, and the firmware Keel runs on. */
void arch_describe_timer(void);
void arch_describe_firmware(void);

/* CPU properties behind the SMCCC_ARCH_FEATURES answers for Spectre mitigations. */
bool arch_cpu_spectre_v2_safe(void);
bool arch_cpu_spectre_bhb_safe(void);
bool arch_cpu_ssb_safe(void);

/* Maps device registers into Keel's own address space (for forwarded accesses). */
int arch_map_device(u64 base, u64 size);
/*
 * One access of @size bytes to device registers at @pa (mapped with
 * arch_map_device), on a guest's behalf: 0, or -1 if the device answered
 * with an abort (Keel survives it).
 */
int arch_device_read(u64 pa, unsigned int size, u64 *val);
int arch_device_write(u64 pa, unsigned int size, u64 val);
/* Cleans data cache lines of [start, start+size) to the point of coherency. */
void arch_clean_dcache_range(u64 start, u64 size);
/*
 * Cleans and invalidates them: Keel's next read of the range comes from
 * memory, as a guest with its MMU off (caches bypassed) wrote it.
 */
void arch_clean_inval_dcache_range(u64 start, u64 size);

#endif
