/*
 * Keel's logger for the fuzz harnesses. Messages are formatted (so a bad
 * %s argument, such as an unterminated name, is read and caught by ASan)
 * but printed only with FUZZ_VERBOSE set: libFuzzer runs millions of inputs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <keel/log.h>

enum log_level log_current_level = LOG_TRACE;
unsigned int fuzz_log_errors; /* ERROR lines since the harness last cleared it */
void (*fuzz_log_error_hook)(const char *line);

static char fuzz_log_buf[1024];

static void fuzz_log_emit(const char *fmt, va_list ap)
{
    static int verbose = -1;

    vsnprintf(fuzz_log_buf, sizeof(fuzz_log_buf), fmt, ap);
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "[keel] %s\n", fuzz_log_buf);
}

void log_print(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    if (level == LOG_ERROR)
        fuzz_log_errors++;
    va_start(ap, fmt);
    fuzz_log_emit(fmt, ap);
    va_end(ap);
    if (level == LOG_ERROR && fuzz_log_error_hook)
        fuzz_log_error_hook(fuzz_log_buf);
}

void console_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fuzz_log_emit(fmt, ap);
    va_end(ap);
}

void console_puts(const char *s)
{
    console_printf("%s", s);
}
