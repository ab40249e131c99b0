#ifndef KEEL_PRINTF_H
#define KEEL_PRINTF_H

#include <stdarg.h>
#include <keel/types.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
