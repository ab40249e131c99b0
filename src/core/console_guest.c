/*
 * The VM's console on buffers in guest memory, for the console calls
 * without a UART: Keel's console hypercalls (SMCCC on Arm, Keel's SBI
 * extension on RISC-V) and the SBI debug console (DBCN, SBI 2.0 chapter
 * 12). One implementation for every front-end, ISA-free: the front-ends
 * only decode their registers and map the result to their error codes
 * (docs/hypercalls.md).
 *
 * A buffer is read or written through vm_ipa_span(), chunk by chunk, so it
 * may cross any boundary of the VM's RAM; one that is not wholly RAM of
 * the VM (a device, a shared-memory region, a hole, past the end, or
 * wrapping past 2^64) is refused before a byte is touched or consumed:
 * a guest can never make Keel fault, or read or write beyond its RAM.
 */
#include <keel/arch.h>
#include <keel/console_mux.h>
#include <keel/vm.h>

/*
 * Whether every byte of [ipa, ipa + len) (len >= 1) is RAM of @vm, whatever
 * chunks it spans. ipa only ever moves to the end of a chunk, so a length
 * that would wrap past 2^64 runs out of RAM first.
 */
s64 vm_console_write_guest(struct vm *vm, u64 ipa, u64 len)
{
    u64 done = 0, avail;

    if (!len)
        return 0;
    if (!vm_ipa_range_is_ram(vm, ipa, len))
        return VM_CONSOLE_BAD_BUFFER;
    len = MIN(len, (u64)VM_CONSOLE_CHUNK);
    while (done < len) {
        const volatile u8 *p = vm_ipa_span(vm, ipa + done, &avail);
        u64 n = MIN(len - done, avail);

        /*
         * A guest running with its MMU off writes around the data cache;
         * Keel reads through it. Clean and invalidate first, so a stale
         * line does not stand in for what the guest wrote.
         */
        arch_clean_inval_dcache_range((u64)p, n);
        for (u64 i = 0; i < n; i++)
            vm_console_putc(vm, (char)p[i]);
        done += n;
    }
    return (s64)done;
}

s64 vm_console_read_guest(struct vm *vm, u64 ipa, u64 len)
{
    u64 done = 0, avail;
    int c = 0;

    if (!len)
        return 0;
    if (!vm_ipa_range_is_ram(vm, ipa, len))
        return VM_CONSOLE_BAD_BUFFER;
    len = MIN(len, (u64)VM_CONSOLE_CHUNK);
    while (done < len && c >= 0) {
        volatile u8 *p = vm_ipa_span(vm, ipa + done, &avail);
        u64 n = MIN(len - done, avail), got = 0;

        while (got < n && (c = vm_console_getc(vm)) >= 0)
            p[got++] = (u8)c;
        /* Seen by a guest with its MMU off too (it reads around the cache). */
        if (got)
            arch_clean_dcache_range((u64)p, got);
        done += got;
    }
    return (s64)done;
}
