/*
 * ESR_ELx decoding (Arm ARM D13.2.39, "ESR_EL2, Exception Syndrome Register").
 * Pure logic, unit-tested on the host.
 */
#ifndef ARCH_ESR_H
#define ARCH_ESR_H

#include <keel/types.h>

#define ESR_ELx_EC_SHIFT 26
#define ESR_ELx_EC_MASK 0x3fUL
#define ESR_ELx_IL BIT(25)
#define ESR_ELx_ISS_MASK GENMASK(24, 0)

#define ESR_ELx_EC(esr) (((esr) >> ESR_ELx_EC_SHIFT) & ESR_ELx_EC_MASK)
#define ESR_ELx_ISS(esr) ((esr) & ESR_ELx_ISS_MASK)

#define ESR_ELx_EC_UNKNOWN 0x00
#define ESR_ELx_EC_WFx 0x01
#define ESR_ELx_EC_CP15_32 0x03
#define ESR_ELx_EC_CP15_64 0x04
#define ESR_ELx_EC_CP14_MR 0x05
#define ESR_ELx_EC_CP14_LS 0x06
#define ESR_ELx_EC_FP_ASIMD 0x07
#define ESR_ELx_EC_CP10_ID 0x08
#define ESR_ELx_EC_PAC 0x09
#define ESR_ELx_EC_CP14_64 0x0c
#define ESR_ELx_EC_BTI 0x0d
#define ESR_ELx_EC_ILL 0x0e
#define ESR_ELx_EC_SVC32 0x11
#define ESR_ELx_EC_HVC32 0x12
#define ESR_ELx_EC_SMC32 0x13
#define ESR_ELx_EC_SVC64 0x15
#define ESR_ELx_EC_HVC64 0x16
#define ESR_ELx_EC_SMC64 0x17
#define ESR_ELx_EC_SYS64 0x18
#define ESR_ELx_EC_SVE 0x19
#define ESR_ELx_EC_ERET 0x1a
#define ESR_ELx_EC_FPAC 0x1c
#define ESR_ELx_EC_SME 0x1d
#define ESR_ELx_EC_IMP_DEF 0x1f
#define ESR_ELx_EC_IABT_LOW 0x20
#define ESR_ELx_EC_IABT_CUR 0x21
#define ESR_ELx_EC_PC_ALIGN 0x22
#define ESR_ELx_EC_DABT_LOW 0x24
#define ESR_ELx_EC_DABT_CUR 0x25
#define ESR_ELx_EC_SP_ALIGN 0x26
#define ESR_ELx_EC_FP_EXC32 0x28
#define ESR_ELx_EC_FP_EXC64 0x2c
#define ESR_ELx_EC_SERROR 0x2f
#define ESR_ELx_EC_BREAKPT_LOW 0x30
#define ESR_ELx_EC_BREAKPT_CUR 0x31
#define ESR_ELx_EC_SOFTSTP_LOW 0x32
#define ESR_ELx_EC_SOFTSTP_CUR 0x33
#define ESR_ELx_EC_WATCHPT_LOW 0x34
#define ESR_ELx_EC_WATCHPT_CUR 0x35
#define ESR_ELx_EC_BKPT32 0x38
#define ESR_ELx_EC_VECTOR32 0x3a
#define ESR_ELx_EC_BRK64 0x3c

/* ISS for data aborts (D13.2.39, "ISS encoding for an exception from a Data Abort") */
#define ESR_ELx_ISV BIT(24)
#define ESR_ELx_CV BIT(24)  /* EC 0x03-0x06, 0x0c: COND is valid */
#define ESR_ELx_COND_SHIFT 20
#define ESR_ELx_SAS_SHIFT 22
#define ESR_ELx_SAS_MASK 3UL
#define ESR_ELx_SSE BIT(21)
#define ESR_ELx_SRT_SHIFT 16
#define ESR_ELx_SRT_MASK 0x1fUL
#define ESR_ELx_SF BIT(15)
#define ESR_ELx_AR BIT(14)
#define ESR_ELx_VNCR BIT(13)
#define ESR_ELx_FnV BIT(10)
#define ESR_ELx_EA BIT(9)
#define ESR_ELx_CM BIT(8)
#define ESR_ELx_S1PTW BIT(7)
#define ESR_ELx_WNR BIT(6)
#define ESR_ELx_FSC_MASK 0x3fUL
#define ESR_ELx_FSC_TYPE_MASK 0x3cUL
#define ESR_ELx_FSC_TRANS 0x04 /* translation fault, levels 0-3 in [1:0] */
#define ESR_ELx_FSC_ACCESS 0x08
#define ESR_ELx_FSC_PERM 0x0c

/* ISS for trapped MSR/MRS/system instructions (EC 0x18) */
#define ESR_ELx_SYS64_ISS_DIR_READ BIT(0)
#define ESR_ELx_SYS64_ISS_RT_SHIFT 5
#define ESR_ELx_SYS64_ISS_RT_MASK 0x1fUL
#define ESR_ELx_SYS64_ISS_SYS_MASK 0x3ffc1eUL /* Op0, Op2, Op1, CRn, CRm */
#define ESR_ELx_SYS64_ISS_OP0_SHIFT 20
#define ESR_ELx_SYS64_ISS_OP2_SHIFT 17
#define ESR_ELx_SYS64_ISS_OP1_SHIFT 14
#define ESR_ELx_SYS64_ISS_CRN_SHIFT 10
#define ESR_ELx_SYS64_ISS_CRM_SHIFT 1

/* The trapped system register encoding, comparable to SYS_REG() values. */
#define SYS_REG(op0, op1, crn, crm, op2)                                          \
    (((u32)(op0) << ESR_ELx_SYS64_ISS_OP0_SHIFT) | ((u32)(op1) << ESR_ELx_SYS64_ISS_OP1_SHIFT) | \
     ((u32)(crn) << ESR_ELx_SYS64_ISS_CRN_SHIFT) | ((u32)(crm) << ESR_ELx_SYS64_ISS_CRM_SHIFT) | \
     ((u32)(op2) << ESR_ELx_SYS64_ISS_OP2_SHIFT))

struct esr_dabt {
    bool valid;        /* ISV: the fields below are meaningful */
    bool write;
    bool sign_extend;
    bool sixty_four;   /* SF: the register is an X register */
    bool acquire_release;
    unsigned int size; /* bytes: 1, 2, 4, 8 */
    unsigned int reg;  /* 0-30, 31 = XZR/WZR */
};

const char *esr_ec_name(unsigned int ec);

/* Inline: it sits on the MMIO exit path. */
static inline struct esr_dabt esr_decode_dabt(u64 esr)
{
    struct esr_dabt d = { 0 };

    d.valid = esr & ESR_ELx_ISV;
    d.write = esr & ESR_ELx_WNR;
    if (!d.valid)
        return d;
    d.size = 1U << ((esr >> ESR_ELx_SAS_SHIFT) & ESR_ELx_SAS_MASK);
    d.sign_extend = esr & ESR_ELx_SSE;
    d.reg = (esr >> ESR_ELx_SRT_SHIFT) & ESR_ELx_SRT_MASK;
    d.sixty_four = esr & ESR_ELx_SF;
    d.acquire_release = esr & ESR_ELx_AR;
    return d;
}
/* Short name of a data/instruction abort fault status code. */
const char *esr_fsc_name(unsigned int fsc);

#endif
