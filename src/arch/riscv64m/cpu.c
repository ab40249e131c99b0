/*
 * Per-CPU basics for Keel as M-mode firmware (the rest: riscv64/hart.c):
 * the counter is the CLINT's mtime (the time CSR may not exist below the
 * firmware: on real parts it is the firmware's to emulate); other harts start from boot.S's wait when named here; Keel's IPI
 * is the CLINT's msip; power off is the board's syscon.
 */
#include <arch/asm.h>
#include <arch/csr.h>
#include <arch/io.h>
#include <arch/mmode.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/platform.h>

extern u64 rvm_clint, rvm_poweroff[];
extern u64 hart_release[];

/* Whether this hart's time CSR reads in M-mode (rvm_probe_time_csr). */
static bool time_csr;

/*
 * The time CSR where the hart implements it (QEMU does): a CSR read instead
 * of a device access on every exit that looks at the guest's timer. Real
 * parts often leave it to the firmware (Keel) to emulate: an illegal
 * instruction, taken here through the fixup, and mtime it is.
 */
void rvm_probe_time_csr(void)
{
    long err = 0;
    u64 t = 0;

    asm volatile("1: csrr %1, time\n"
                 "2:\n.pushsection .ex_fixup, \"a\"\n.balign 8\n.dword 1b, 3f\n.popsection\n"
                 ".pushsection .text.fixup, \"ax\"\n3: li %0, -1\nj 2b\n.popsection\n"
                 : "+r"(err), "+r"(t) :: "memory");
    time_csr = !err && t;
}

u64 arch_counter_read(void)
{
    if (likely(time_csr))
        return csr_read(CSR_TIME);
    return *(volatile u64 *)(rvm_clint + CLINT_MTIME);
}

/* boot.S's waiting harts: their word names their Keel index, msip wakes them. */
int arch_cpu_start(unsigned int cpu)
{
    u64 hart = platform.cpu_hwid[cpu];

    if (hart >= 64) {
        WARN("cpu%u: hart id %#lx is beyond what boot.S can release", cpu, hart);
        return -1;
    }
    __atomic_store_n(&hart_release[hart], cpu + 1, __ATOMIC_RELEASE);
    io_write32(rvm_clint + CLINT_MSIP(hart), 1);
    return 0;
}

const char *arch_cpu_start_method(unsigned int cpu)
{
    return "firmware release";
}

void arch_system_off(void)
{
    if (rvm_poweroff[0])
        io_write32(rvm_poweroff[0], (u32)rvm_poweroff[1]);
}

/* Keel's one IPI: the target takes a machine software interrupt. */
void riscv_send_ipi(unsigned int cpu)
{
    io_write32(rvm_clint + CLINT_MSIP(platform.cpu_hwid[cpu]), 1);
}
