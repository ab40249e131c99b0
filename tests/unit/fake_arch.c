/*
 * Fake arch layer and logger for host unit tests (see keel/arch.h): the real
 * ones live in src/arch/aarch64 and src/core/log.c and need the hardware.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel/arch.h>
#include <keel/log.h>

#include "fake_arch.h"

enum log_level log_current_level = LOG_TRACE;

unsigned int fake_log_count;
enum log_level fake_log_last_level;
char fake_log_last[512];
char fake_log_last_error[512];

void fake_log_reset(void)
{
    fake_log_count = 0;
    fake_log_last_level = LOG_TRACE;
    fake_log_last[0] = '\0';
    fake_log_last_error[0] = '\0';
}

void log_print(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(fake_log_last, sizeof(fake_log_last), fmt, ap);
    va_end(ap);
    fake_log_last_level = level;
    if (level == LOG_ERROR)
        memcpy(fake_log_last_error, fake_log_last, sizeof(fake_log_last_error));
    fake_log_count++;
    if (getenv("UNIT_VERBOSE"))
        fprintf(stderr, "[keel log %d] %s\n", (int)level, fake_log_last);
}

void console_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void console_puts(const char *s)
{
    fputs(s, stderr);
}

static u64 fake_counter;

u64 arch_counter_read(void)
{
    return fake_counter += 1000;
}

u64 arch_counter_freq(void)
{
    return 62500000;
}

unsigned int arch_cpu_id(void)
{
    return 0;
}

void arch_cpu_idle(void)
{
}

void arch_cpu_halt(void)
{
    abort();
}

void arch_dump_backtrace(u64 fp)
{
    (void)fp;
}

void arch_dump_here(void)
{
}

void arch_system_off(void)
{
}

int arch_cpu_start(unsigned int cpu)
{
    (void)cpu;
    return -1;
}

bool arch_cpu_spectre_v2_safe(void)
{
    return true;
}

bool arch_cpu_spectre_bhb_safe(void)
{
    return true;
}

bool arch_cpu_ssb_safe(void)
{
    return true;
}

void arch_clean_dcache_range(u64 start, u64 size)
{
    (void)start;
    (void)size;
}

void arch_clean_inval_dcache_range(u64 start, u64 size)
{
    (void)start;
    (void)size;
}

/* Settable, so tests can see both answers: AArch64's (sharing) and RISC-V's (one per core). */
bool fake_vcpu_can_share = true;

bool arch_vcpu_can_share(void)
{
    return fake_vcpu_can_share;
}
