/*
 * Levelled logging. Every line carries time (from CNTPCT), CPU and level.
 * Never call these on an exit fast path: the console is slow.
 */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

#include <keel/types.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

extern enum log_level log_current_level;

void log_print(enum log_level level, const char *fmt, ...) __printf(2, 3);
/* Raw text to the console without a prefix: banners and fault dumps. */
void console_printf(const char *fmt, ...) __printf(1, 2);
void console_puts(const char *s);
bool log_parse_level(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

#define log_enabled(l) ((l) <= log_current_level)
#define LOG(l, ...) do { if (log_enabled(l)) log_print(l, __VA_ARGS__); } while (0)
#define ERROR(...) LOG(LOG_ERROR, __VA_ARGS__)
#define WARN(...) LOG(LOG_WARN, __VA_ARGS__)
#define INFO(...) LOG(LOG_INFO, __VA_ARGS__)
#define DEBUG(...) LOG(LOG_DEBUG, __VA_ARGS__)
#define TRACE(...) LOG(LOG_TRACE, __VA_ARGS__)

#endif
