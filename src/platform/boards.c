/*
 * What Keel knows of a board before it can read the device tree properly:
 * the PL011 to print on when /chosen/stdout-path names none (see
 * src/core/early_uart.c, which runs before relocation: no pointers in data
 * here, so the table holds the strings themselves).
 */
#include <keel/platform.h>
#include <keel/string.h>

struct board_uart {
    char compatible[20];
    u64 pl011;
};

static const struct board_uart boards[] = {
    { "linux,dummy-virt", 0x09000000 }, /* QEMU virt */
    { "brcm,bcm2711", 0xfe201000 },     /* Raspberry Pi 4: uart0, on GPIO 14/15 */
};

u64 platform_board_pl011(const char *list, u32 len)
{
    for (u32 at = 0; at < len; ) {
        size_t n = strnlen(list + at, len - at);

        for (unsigned int i = 0; i < ARRAY_SIZE(boards); i++)
            if (n == strlen(boards[i].compatible) && !memcmp(list + at, boards[i].compatible, n))
                return boards[i].pl011;
        at += n + 1;
    }
    return 0;
}
