/*
 * Per-CPU basics for RISC-V in HS-mode (the rest: hart.c): the counter is
 * the time CSR at the DT's timebase-frequency; the other harts, the
 * machine's power and Keel's own IPIs go through the SBI implementation
 * below Keel.
 */
#include <arch/asm.h>
#include <arch/csr.h>
#include <arch/sbi.h>
#include <keel/arch.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/platform.h>

u64 arch_counter_read(void)
{
    return csr_read(CSR_TIME);
}

struct sbiret sbi_ecall(unsigned long ext, unsigned long fid, unsigned long a0, unsigned long a1,
                        unsigned long a2, unsigned long a3)
{
    register unsigned long r0 asm("a0") = a0;
    register unsigned long r1 asm("a1") = a1;
    register unsigned long r2 asm("a2") = a2;
    register unsigned long r3 asm("a3") = a3;
    register unsigned long r6 asm("a6") = fid;
    register unsigned long r7 asm("a7") = ext;

    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(r6), "r"(r7) : "memory");
    return (struct sbiret){ (long)r0, (long)r1 };
}

/* HSM hart_start: the hart enters secondary_entry (boot.S) with a1 = its Keel index. */
int arch_cpu_start(unsigned int cpu)
{
    extern char secondary_entry[];
    struct sbiret r = sbi_ecall(SBI_EXT_HSM, SBI_EXT_HSM_HART_START, platform.cpu_hwid[cpu],
                                (unsigned long)secondary_entry, cpu, 0);

    if (r.error)
        WARN("cpu%u (hart %#lx): SBI HSM hart_start failed: %ld", cpu, platform.cpu_hwid[cpu],
             r.error);
    return r.error ? -1 : 0;
}

const char *arch_cpu_start_method(unsigned int cpu)
{
    return "SBI HSM";
}

void arch_system_off(void)
{
    sbi_ecall(SBI_EXT_SRST, SBI_EXT_SRST_RESET, SBI_SRST_RESET_TYPE_SHUTDOWN,
              SBI_SRST_RESET_REASON_NONE, 0, 0);
}

/* Keel's one IPI, through SBI: the target takes a supervisor software interrupt. */
void riscv_send_ipi(unsigned int cpu)
{
    sbi_ecall(SBI_EXT_IPI, SBI_EXT_IPI_SEND_IPI, 1, platform.cpu_hwid[cpu], 0, 0);
}
