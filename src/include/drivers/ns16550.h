#ifndef DRIVERS_NS16550_H
#define DRIVERS_NS16550_H

#include <keel/types.h>

/* Keel's console on an 8250-compatible UART at @base (registers 1 << @reg_shift apart). */
void ns16550_init(u64 base, unsigned int reg_shift);

#endif
