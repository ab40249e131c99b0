/*
 * The physical console belongs to Keel. Everything written goes through
 * console_write(), which serialises CPUs so lines do not interleave.
 */
#ifndef KEEL_CONSOLE_H
#define KEEL_CONSOLE_H

#include <keel/types.h>

struct console_ops {
    void (*putc)(char c);
    int (*getc)(void); /* -1 when nothing is waiting */
    void (*enable_rx_irq)(void);
};

void console_register(const struct console_ops *ops);
void console_write(const char *s, size_t len);
int console_getc(void);
void console_enable_rx_irq(void);
/*
 * Fault paths call this first: the first CPU to fault or panic gets the
 * console to itself (its dump is never interleaved, and a lock it died
 * holding cannot block it); false for any other CPU, which should stop quietly.
 */
bool console_panic_claim(void);
void console_panic_release(void);

#endif
