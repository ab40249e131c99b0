#ifndef DRIVERS_PL011_H
#define DRIVERS_PL011_H

#include <keel/types.h>

void pl011_init(u64 base);
void pl011_putc(char c);
int pl011_getc(void);

#endif
