/*
 * The RISC-V Supervisor Binary Interface, version 2.0: the calling
 * convention (chapter 3), extension and function IDs, error codes and the
 * constants of BASE, TIME, IPI, RFENCE, HSM, SRST and DBCN, named as the
 * spec names them (functions sbi_get_spec_version ... as SBI_GET_SPEC_VERSION
 * in their extension; the legacy EIDs of chapter 5 as SBI_LEGACY_*).
 */
#ifndef SBI_H
#define SBI_H

struct sbiret {
    long error;
    long value;
};

/* a7 = EID, a6 = FID, a0-a5 arguments; everything but a0 and a1 is preserved. */
static inline struct sbiret sbi_ecall(unsigned long eid, unsigned long fid, unsigned long arg0,
                                      unsigned long arg1, unsigned long arg2, unsigned long arg3,
                                      unsigned long arg4, unsigned long arg5)
{
    register unsigned long a0 __asm__("a0") = arg0;
    register unsigned long a1 __asm__("a1") = arg1;
    register unsigned long a2 __asm__("a2") = arg2;
    register unsigned long a3 __asm__("a3") = arg3;
    register unsigned long a4 __asm__("a4") = arg4;
    register unsigned long a5 __asm__("a5") = arg5;
    register unsigned long a6 __asm__("a6") = fid;
    register unsigned long a7 __asm__("a7") = eid;

    __asm__ volatile("ecall"
                     : "+r"(a0), "+r"(a1)
                     : "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7)
                     : "memory");
    return (struct sbiret){ (long)a0, (long)a1 };
}

#define sbi_call0(e, f) sbi_ecall(e, f, 0, 0, 0, 0, 0, 0)
#define sbi_call1(e, f, a) sbi_ecall(e, f, a, 0, 0, 0, 0, 0)
#define sbi_call2(e, f, a, b) sbi_ecall(e, f, a, b, 0, 0, 0, 0)
#define sbi_call3(e, f, a, b, c) sbi_ecall(e, f, a, b, c, 0, 0, 0)

/* Legacy extensions: the FID is ignored, a0 alone comes back. */
static inline long sbi_legacy(unsigned long eid, unsigned long arg0)
{
    return sbi_ecall(eid, 0, arg0, 0, 0, 0, 0, 0).error;
}

/* Table 1: standard SBI errors */
#define SBI_SUCCESS 0
#define SBI_ERR_FAILED (-1)
#define SBI_ERR_NOT_SUPPORTED (-2)
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_DENIED (-4)
#define SBI_ERR_INVALID_ADDRESS (-5)
#define SBI_ERR_ALREADY_AVAILABLE (-6)
#define SBI_ERR_ALREADY_STARTED (-7)
#define SBI_ERR_ALREADY_STOPPED (-8)
#define SBI_ERR_NO_SHMEM (-9)

/* Extension IDs */
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45   /* "TIME" */
#define SBI_EXT_IPI 0x735049      /* "sPI" */
#define SBI_EXT_RFENCE 0x52464E43 /* "RFNC" */
#define SBI_EXT_HSM 0x48534D      /* "HSM" */
#define SBI_EXT_SRST 0x53525354   /* "SRST" */
#define SBI_EXT_PMU 0x504D55      /* "PMU" */
#define SBI_EXT_DBCN 0x4442434E   /* "DBCN" */
#define SBI_EXT_SUSP 0x53555350   /* "SUSP" */
#define SBI_EXT_CPPC 0x43505043   /* "CPPC" */
#define SBI_EXT_NACL 0x4E41434C   /* "NACL" */
#define SBI_EXT_STA 0x535441      /* "STA" */

/* Legacy extensions (chapter 5), EIDs 0x00-0x08 */
#define SBI_LEGACY_SET_TIMER 0x00
#define SBI_LEGACY_CONSOLE_PUTCHAR 0x01
#define SBI_LEGACY_CONSOLE_GETCHAR 0x02
#define SBI_LEGACY_CLEAR_IPI 0x03
#define SBI_LEGACY_SEND_IPI 0x04
#define SBI_LEGACY_REMOTE_FENCE_I 0x05
#define SBI_LEGACY_REMOTE_SFENCE_VMA 0x06
#define SBI_LEGACY_REMOTE_SFENCE_VMA_ASID 0x07
#define SBI_LEGACY_SHUTDOWN 0x08

/* BASE (chapter 4) */
#define SBI_GET_SPEC_VERSION 0
#define SBI_GET_IMPL_ID 1
#define SBI_GET_IMPL_VERSION 2
#define SBI_PROBE_EXTENSION 3
#define SBI_GET_MVENDORID 4
#define SBI_GET_MARCHID 5
#define SBI_GET_MIMPID 6
#define SBI_SPEC_VERSION_MAJOR(v) (((unsigned long)(v) >> 24) & 0x7f)
#define SBI_SPEC_VERSION_MINOR(v) ((unsigned long)(v) & 0xffffff)
#define SBI_IMPL_OPENSBI 1

/* TIME (chapter 6) */
#define SBI_SET_TIMER 0

/* IPI (chapter 7) */
#define SBI_SEND_IPI 0

/* RFENCE (chapter 8) */
#define SBI_REMOTE_FENCE_I 0
#define SBI_REMOTE_SFENCE_VMA 1
#define SBI_REMOTE_SFENCE_VMA_ASID 2
#define SBI_REMOTE_HFENCE_GVMA_VMID 3
#define SBI_REMOTE_HFENCE_GVMA 4
#define SBI_REMOTE_HFENCE_VVMA_ASID 5
#define SBI_REMOTE_HFENCE_VVMA 6

/* HSM (chapter 9) */
#define SBI_HART_START 0
#define SBI_HART_STOP 1
#define SBI_HART_GET_STATUS 2
#define SBI_HART_SUSPEND 3
#define SBI_HSM_STATE_STARTED 0
#define SBI_HSM_STATE_STOPPED 1
#define SBI_HSM_STATE_START_PENDING 2
#define SBI_HSM_STATE_STOP_PENDING 3
#define SBI_HSM_STATE_SUSPENDED 4
#define SBI_HSM_STATE_SUSPEND_PENDING 5
#define SBI_HSM_STATE_RESUME_PENDING 6
#define SBI_HSM_SUSPEND_RET_DEFAULT 0x00000000UL
#define SBI_HSM_SUSPEND_NON_RET_DEFAULT 0x80000000UL

/* SRST (chapter 10) */
#define SBI_SYSTEM_RESET 0
#define SBI_SRST_RESET_TYPE_SHUTDOWN 0
#define SBI_SRST_RESET_TYPE_COLD_REBOOT 1
#define SBI_SRST_RESET_TYPE_WARM_REBOOT 2
#define SBI_SRST_RESET_REASON_NONE 0
#define SBI_SRST_RESET_REASON_SYSTEM_FAILURE 1

/* DBCN (chapter 12) */
#define SBI_DEBUG_CONSOLE_WRITE 0
#define SBI_DEBUG_CONSOLE_READ 1
#define SBI_DEBUG_CONSOLE_WRITE_BYTE 2

/* The hart_mask_base meaning "every available hart, ignore hart_mask" (3.1). */
#define SBI_HART_MASK_BASE_ALL (-1UL)

static inline struct sbiret sbi_probe_extension(long eid)
{
    return sbi_call1(SBI_EXT_BASE, SBI_PROBE_EXTENSION, (unsigned long)eid);
}

static inline struct sbiret sbi_set_timer(unsigned long stime_value)
{
    return sbi_call1(SBI_EXT_TIME, SBI_SET_TIMER, stime_value);
}

static inline struct sbiret sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base)
{
    return sbi_call2(SBI_EXT_IPI, SBI_SEND_IPI, hart_mask, hart_mask_base);
}

static inline struct sbiret sbi_hart_start(unsigned long hartid, unsigned long start_addr,
                                           unsigned long opaque)
{
    return sbi_call3(SBI_EXT_HSM, SBI_HART_START, hartid, start_addr, opaque);
}

static inline struct sbiret sbi_hart_stop(void)
{
    return sbi_call0(SBI_EXT_HSM, SBI_HART_STOP);
}

static inline struct sbiret sbi_hart_get_status(unsigned long hartid)
{
    return sbi_call1(SBI_EXT_HSM, SBI_HART_GET_STATUS, hartid);
}

static inline struct sbiret sbi_hart_suspend(unsigned long suspend_type, unsigned long resume_addr,
                                             unsigned long opaque)
{
    return sbi_call3(SBI_EXT_HSM, SBI_HART_SUSPEND, suspend_type, resume_addr, opaque);
}

static inline struct sbiret sbi_system_reset(unsigned long reset_type, unsigned long reset_reason)
{
    return sbi_call2(SBI_EXT_SRST, SBI_SYSTEM_RESET, reset_type, reset_reason);
}

#endif
