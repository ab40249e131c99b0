#ifndef KEEL_EARLY_UART_H
#define KEEL_EARLY_UART_H

#include <keel/types.h>

/*
 * The PL011 of the board @fdt describes (by its root "compatible"), for
 * when /chosen/stdout-path names none or cannot be read yet; 0 if the board
 * is unknown or @fdt is not a DTB. Safe before the relocation, at any EL.
 */
u64 early_uart_for_board(const void *fdt);

#endif
