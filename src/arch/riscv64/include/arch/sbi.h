/*
 * The RISC-V Supervisor Binary Interface 2.0: extension and function IDs
 * and error codes, as the spec names them; used both ways (Keel calling
 * OpenSBI, guests calling Keel).
 */
#ifndef ARCH_SBI_H
#define ARCH_SBI_H

#include <keel/types.h>

#define SBI_SPEC_VERSION_2_0 0x02000000UL /* major 2 in bits 30:24, minor 0 */

/* Error codes (3.2) */
#define SBI_SUCCESS 0
#define SBI_ERR_FAILED -1
#define SBI_ERR_NOT_SUPPORTED -2
#define SBI_ERR_INVALID_PARAM -3
#define SBI_ERR_DENIED -4
#define SBI_ERR_INVALID_ADDRESS -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STARTED -7
#define SBI_ERR_ALREADY_STOPPED -8
#define SBI_ERR_NO_SHMEM -9

/* Legacy extensions (chapter 5): the EID is the function */
#define SBI_EXT_0_1_SET_TIMER 0x00
#define SBI_EXT_0_1_CONSOLE_PUTCHAR 0x01
#define SBI_EXT_0_1_CONSOLE_GETCHAR 0x02
#define SBI_EXT_0_1_CLEAR_IPI 0x03
#define SBI_EXT_0_1_SEND_IPI 0x04
#define SBI_EXT_0_1_REMOTE_FENCE_I 0x05
#define SBI_EXT_0_1_REMOTE_SFENCE_VMA 0x06
#define SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID 0x07
#define SBI_EXT_0_1_SHUTDOWN 0x08

#define SBI_EXT_BASE 0x10
#define SBI_EXT_BASE_GET_SPEC_VERSION 0
#define SBI_EXT_BASE_GET_IMP_ID 1
#define SBI_EXT_BASE_GET_IMP_VERSION 2
#define SBI_EXT_BASE_PROBE_EXT 3
#define SBI_EXT_BASE_GET_MVENDORID 4
#define SBI_EXT_BASE_GET_MARCHID 5
#define SBI_EXT_BASE_GET_MIMPID 6

#define SBI_EXT_TIME 0x54494d45
#define SBI_EXT_TIME_SET_TIMER 0

#define SBI_EXT_IPI 0x735049
#define SBI_EXT_IPI_SEND_IPI 0

#define SBI_EXT_RFENCE 0x52464e43
#define SBI_EXT_RFENCE_REMOTE_FENCE_I 0
#define SBI_EXT_RFENCE_REMOTE_SFENCE_VMA 1
#define SBI_EXT_RFENCE_REMOTE_SFENCE_VMA_ASID 2

#define SBI_EXT_HSM 0x48534d
#define SBI_EXT_HSM_HART_START 0
#define SBI_EXT_HSM_HART_STOP 1
#define SBI_EXT_HSM_HART_GET_STATUS 2
#define SBI_EXT_HSM_HART_SUSPEND 3
#define SBI_HSM_STATE_STARTED 0
#define SBI_HSM_STATE_STOPPED 1
#define SBI_HSM_STATE_START_PENDING 2
#define SBI_HSM_STATE_STOP_PENDING 3
#define SBI_HSM_STATE_SUSPENDED 4
#define SBI_HSM_SUSPEND_RET_DEFAULT 0x00000000U
#define SBI_HSM_SUSPEND_NON_RET_DEFAULT 0x80000000U
#define SBI_HSM_SUSPEND_RET_PLATFORM 0x10000000U    /* 0x10000000..0x7fffffff */
#define SBI_HSM_SUSPEND_NON_RET_PLATFORM 0x90000000U /* 0x90000000..0xffffffff */

#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_SRST_RESET 0
#define SBI_SRST_RESET_TYPE_SHUTDOWN 0
#define SBI_SRST_RESET_TYPE_COLD_REBOOT 1
#define SBI_SRST_RESET_TYPE_WARM_REBOOT 2
#define SBI_SRST_RESET_REASON_NONE 0
#define SBI_SRST_RESET_REASON_SYSFAIL 1

#define SBI_EXT_DBCN 0x4442434e
#define SBI_EXT_DBCN_CONSOLE_WRITE 0
#define SBI_EXT_DBCN_CONSOLE_READ 1
#define SBI_EXT_DBCN_CONSOLE_WRITE_BYTE 2

/*
 * Keel's own calls, in the firmware-specific extension space (3.3):
 * 0x0A000000 + the SBI implementation ID, which Keel keeps below 2^24 for it.
 */
#define KEEL_SBI_IMPL_ID 0x4b454cUL /* "KEL": not in the SBI implementation ID registry */
#define SBI_EXT_KEEL (0x0a000000UL + KEEL_SBI_IMPL_ID)
#define SBI_EXT_KEEL_VERSION 0   /* value: 1, the version of this ABI */
#define SBI_EXT_KEEL_DOORBELL 1  /* a0 = shared-memory region id; value: VMs rung */
#define SBI_EXT_KEEL_CONSOLE_WRITE 2      /* a0 = buffer address, a1 = length; value: bytes written */
#define SBI_EXT_KEEL_CONSOLE_READ_BYTE 3  /* value: the byte, or -1: none waiting */
#define SBI_EXT_KEEL_CONSOLE_WRITE_BYTE 4 /* a0 bits [7:0] = the byte */

struct sbiret {
    long error;
    long value;
};

/* A call to the SBI implementation below Keel (OpenSBI). */
struct sbiret sbi_ecall(unsigned long ext, unsigned long fid, unsigned long a0, unsigned long a1,
                        unsigned long a2, unsigned long a3);

#endif
