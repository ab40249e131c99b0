/*
 * Keel provides the C string functions itself (src/lib/string.c): libfdt needs
 * them and there is no libc at EL2. The declarations come from the toolchain's
 * headers so libfdt and Keel agree on them.
 */
#ifndef KEEL_STRING_H
#define KEEL_STRING_H

#include <string.h>
#include <stdlib.h>
#include <keel/types.h>

/* The arch's bulk copy and set for large sizes, if the CPU has them (lib/string.c); else NULL. */
extern void *(*memcpy_bulk)(void *dst, const void *src, size_t n);
extern void *(*memset_bulk)(void *dst, int c, size_t n);

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);

#endif
