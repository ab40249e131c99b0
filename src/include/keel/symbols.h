#ifndef KEEL_SYMBOLS_H
#define KEEL_SYMBOLS_H

#include <keel/types.h>

/* The function containing @addr, or NULL; @offset gets the distance into it. */
const char *symbol_lookup(u64 addr, u64 *offset);

#endif
