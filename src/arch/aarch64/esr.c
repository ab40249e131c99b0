#include <arch/esr.h>

static const char *const ec_names[64] = {
    [ESR_ELx_EC_UNKNOWN] = "Unknown reason",
    [ESR_ELx_EC_WFx] = "WFI/WFE",
    [ESR_ELx_EC_CP15_32] = "MCR/MRC (CP15)",
    [ESR_ELx_EC_CP15_64] = "MCRR/MRRC (CP15)",
    [ESR_ELx_EC_CP14_MR] = "MCR/MRC (CP14)",
    [ESR_ELx_EC_CP14_LS] = "LDC/STC (CP14)",
    [ESR_ELx_EC_FP_ASIMD] = "SIMD/FP access",
    [ESR_ELx_EC_CP10_ID] = "VMRS (CP10)",
    [ESR_ELx_EC_PAC] = "Pointer authentication",
    [ESR_ELx_EC_CP14_64] = "MRRC (CP14)",
    [ESR_ELx_EC_BTI] = "Branch target",
    [ESR_ELx_EC_ILL] = "Illegal execution state",
    [ESR_ELx_EC_SVC32] = "SVC (AArch32)",
    [ESR_ELx_EC_HVC32] = "HVC (AArch32)",
    [ESR_ELx_EC_SMC32] = "SMC (AArch32)",
    [ESR_ELx_EC_SVC64] = "SVC (AArch64)",
    [ESR_ELx_EC_HVC64] = "HVC (AArch64)",
    [ESR_ELx_EC_SMC64] = "SMC (AArch64)",
    [ESR_ELx_EC_SYS64] = "MSR/MRS/system instruction",
    [ESR_ELx_EC_SVE] = "SVE access",
    [ESR_ELx_EC_ERET] = "ERET/ERETAA/ERETAB",
    [ESR_ELx_EC_FPAC] = "Pointer authentication failure",
    [ESR_ELx_EC_SME] = "SME access",
    [ESR_ELx_EC_IMP_DEF] = "Implementation defined",
    [ESR_ELx_EC_IABT_LOW] = "Instruction abort (lower EL)",
    [ESR_ELx_EC_IABT_CUR] = "Instruction abort (current EL)",
    [ESR_ELx_EC_PC_ALIGN] = "PC alignment fault",
    [ESR_ELx_EC_DABT_LOW] = "Data abort (lower EL)",
    [ESR_ELx_EC_DABT_CUR] = "Data abort (current EL)",
    [ESR_ELx_EC_SP_ALIGN] = "SP alignment fault",
    [ESR_ELx_EC_FP_EXC32] = "FP exception (AArch32)",
    [ESR_ELx_EC_FP_EXC64] = "FP exception (AArch64)",
    [ESR_ELx_EC_SERROR] = "SError",
    [ESR_ELx_EC_BREAKPT_LOW] = "Breakpoint (lower EL)",
    [ESR_ELx_EC_BREAKPT_CUR] = "Breakpoint (current EL)",
    [ESR_ELx_EC_SOFTSTP_LOW] = "Software step (lower EL)",
    [ESR_ELx_EC_SOFTSTP_CUR] = "Software step (current EL)",
    [ESR_ELx_EC_WATCHPT_LOW] = "Watchpoint (lower EL)",
    [ESR_ELx_EC_WATCHPT_CUR] = "Watchpoint (current EL)",
    [ESR_ELx_EC_BKPT32] = "BKPT (AArch32)",
    [ESR_ELx_EC_VECTOR32] = "Vector catch (AArch32)",
    [ESR_ELx_EC_BRK64] = "BRK (AArch64)",
};

const char *esr_ec_name(unsigned int ec)
{
    if (ec < 64 && ec_names[ec])
        return ec_names[ec];
    return "Reserved";
}

const char *esr_fsc_name(unsigned int fsc)
{
    switch (fsc & ESR_ELx_FSC_TYPE_MASK) {
    case 0x00: return "address size fault";
    case ESR_ELx_FSC_TRANS: return "translation fault";
    case ESR_ELx_FSC_ACCESS: return "access flag fault";
    case ESR_ELx_FSC_PERM: return "permission fault";
    }
    switch (fsc) {
    case 0x10: return "synchronous external abort";
    case 0x21: return "alignment fault";
    case 0x30: return "TLB conflict abort";
    case 0x31: return "unsupported atomic hardware update";
    }
    return "other fault";
}
