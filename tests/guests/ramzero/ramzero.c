/*
 * ramzero: a VM's RAM reads zero wherever Keel loaded nothing, at every
 * boot, though the previous boot filled it. Keel zeroes guest RAM 2 MiB at
 * a time on first touch (src/core/vm_ram.c), so this checks that every
 * block is zeroed before the guest sees it, whoever touches it first (the
 * guest's own loads here; Keel's image loader for the blocks this image
 * and the DTB share with free space).
 *
 * Each boot: every word from the end of this image to the end of RAM,
 * but the DTB, must be zero; then all of it is filled with a pattern and
 * the VM resets (PSCI SYSTEM_RESET) for the next boot to check again. It
 * never powers off: tests/system/test_vm_ram.py counts the boots and ends
 * the run.
 */
#include <libfdt.h>
#include "libguest.h"

#define PATTERN 0x5a5aa5a5c3c33c3cUL

extern char __bss_end[];

static bool in_dtb(u64 a)
{
    return a >= machine.dtb && a - machine.dtb < fdt_totalsize((const void *)machine.dtb);
}

/* The first non-zero word of [start, end) outside the DTB, or 0; *@count: how many. */
static u64 scan(u64 start, u64 end, u64 *count)
{
    u64 first = 0;

    *count = 0;
    for (u64 a = start; a < end; a += 8) {
        if (READ_ONCE(*(u64 *)a) && !in_dtb(a)) {
            if (!*count)
                first = a;
            (*count)++;
        }
    }
    return first;
}

static void fill(u64 start, u64 end)
{
    for (u64 a = start; a < end; a += 8)
        if (!in_dtb(a))
            *(u64 *)a = PATTERN;
    dsb(sy);
}

void guest_main(void)
{
    u64 start = ((u64)__bss_end + 4095) & ~4095UL, end = machine.ram_base + machine.ram_size;
    u64 count, first = scan(start, end, &count);

    report(count == 0, "RAM %#lx-%#lx (%lu MiB) reads zero: %lu non-zero words, the first "
           "at %#lx", start, end, (end - start) >> 20, count, first);
    fill(start, end);
    printf("ramzero: RAM filled with %#lx, resetting\n", PATTERN);
    psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
    guest_abort("SYSTEM_RESET returned");
}
