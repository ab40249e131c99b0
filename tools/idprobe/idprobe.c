/*
 * idprobe: prints the ID registers of the CPU QEMU emulates, read at EL2
 * (where Keel reads them), so the guest-visible set can be audited against
 * the host's (docs/cpu-features.md). Boots as QEMU's -kernel on the virt
 * board with virtualization=on; prints on the PL011 and powers off with
 * PSCI SYSTEM_OFF over SMC (QEMU's conduit at EL2 without EL3).
 *
 *   make idprobe && tools/idprobe/run [-cpu MODEL]
 */
#include <stdint.h>

#define UART_DR 0x09000000UL
#define UART_FR (UART_DR + 0x18)
#define PSCI_SYSTEM_OFF 0x84000008UL

__asm__(".section .text.start, \"ax\"\n"
        ".global _start\n"
        "_start: ldr x1, =stack_top\n"
        " mov sp, x1\n"
        " bl probe_main\n"
        "1: wfi\n b 1b\n"
        ".ltorg\n");

static void putc_uart(char c)
{
    while (*(volatile uint32_t *)UART_FR & (1 << 5)) /* TXFF */
        ;
    *(volatile uint32_t *)UART_DR = (uint32_t)c;
}

static void puts_uart(const char *s)
{
    while (*s)
        putc_uart(*s++);
}

static void puthex(uint64_t v)
{
    puts_uart("0x");
    for (int i = 60; i >= 0; i -= 4)
        putc_uart("0123456789abcdef"[(v >> i) & 0xf]);
}

/* One line per register: its generic encoding name and value. */
static void line(const char *name, uint64_t v)
{
    puts_uart("IDREG ");
    puts_uart(name);
    putc_uart(' ');
    puthex(v);
    putc_uart('\n');
}

#define RD(crm, op2) line("S3_0_C0_C" #crm "_" #op2, ({ uint64_t __v; \
    __asm__ volatile("mrs %0, S3_0_C0_C" #crm "_" #op2 : "=r"(__v)); __v; }));
#define ROW(crm) RD(crm, 0) RD(crm, 1) RD(crm, 2) RD(crm, 3) RD(crm, 4) RD(crm, 5) RD(crm, 6) RD(crm, 7)
#define NAMED(reg) line(#reg, ({ uint64_t __v; __asm__ volatile("mrs %0, " #reg : "=r"(__v)); __v; }));

void probe_main(void)
{
    uint64_t el;

    __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
    puts_uart("IDPROBE at EL");
    putc_uart('0' + ((el >> 2) & 3));
    putc_uart('\n');
    NAMED(midr_el1) NAMED(revidr_el1) NAMED(ctr_el0) NAMED(dczid_el0) NAMED(clidr_el1)
    NAMED(cntfrq_el0)
    ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
    puts_uart("IDPROBE done\n");
    register uint64_t x0 __asm__("x0") = PSCI_SYSTEM_OFF;
    __asm__ volatile("smc #0" : "+r"(x0) :: "memory");
}
