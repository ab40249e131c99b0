/*
 * Log lines: "[seconds.micros] cpuN level: message". The prefix and message
 * are formatted into one buffer first so a line goes out in one locked write.
 */
#include <stdarg.h>
#include <keel/arch.h>
#include <keel/console.h>
#include <keel/console_mux.h>
#include <keel/log.h>
#include <keel/printf.h>
#include <keel/string.h>

enum log_level log_current_level = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

const char *log_level_name(enum log_level level)
{
    return level <= LOG_TRACE ? level_names[level] : "?";
}

bool log_parse_level(const char *name, enum log_level *out)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (!strcmp(name, level_names[i])) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_print(enum log_level level, const char *fmt, ...)
{
    char line[257];
    u64 freq = arch_counter_freq();
    u64 now = arch_counter_read();
    u64 us = freq ? (now % freq) * 1000000 / freq : 0;
    int n;
    va_list ap;

    n = snprintf(line, sizeof(line), "[%5lu.%06lu] cpu%u %s: ", (unsigned long)(freq ? now / freq : 0),
                 (unsigned long)us, arch_cpu_id(), log_level_name(level));
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    line[n] = '\0';
    console_mux_message(line); /* never in the middle of a VM's line */
}

void console_printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

void console_puts(const char *s)
{
    console_write(s, strlen(s));
}
