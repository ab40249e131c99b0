/*
 * A vCPU's FP/SIMD state, switched when vCPUs share a core: V0-V31 (as the
 * 128-bit Q registers), FPSR and FPCR, the whole of it with SVE and SME
 * hidden (Arm ARM B1.2.2, "SIMD and floating-point registers"; FPCR and
 * FPSR in C5.2). Called at EL2 with the vCPU off the CPU: CPTR_EL2.TFP is
 * clear whenever Keel runs, so nothing here traps. Keel's C is built with
 * -mgeneral-regs-only; libfdt is not, so between a vCPU's fpsimd_save and
 * the next one's fpsimd_load is the only place it may run on a core that
 * hosts vCPUs (a VM's rebuild, its guest DT).
 *
 * Eager: saved and loaded at every vCPU switch, never trapped. The lazy
 * alternative sets CPTR_EL2.TFP for the incoming vCPU and switches on its
 * first FP/SIMD instruction; that saves these ~20 instructions and 528
 * bytes each way only for a vCPU that runs a whole slice without touching
 * FP/SIMD, and costs a trap (a full exit and back) for every other one,
 * plus per-core ownership tracking and a TFP case in the exit path. Linux
 * uses NEON in memcpy, checksums, crypto and every user task, so nearly
 * every slice would take the trap; and a vCPU switch is rare next to exits
 * (one per scheduling decision against thousands of exits a second), so
 * the eager copy is noise where the trap would not be.
 */
#include <arch/asm.h>

/* void fpsimd_save(struct vcpu_fp *fp) */
    .global fpsimd_save
fpsimd_save:
    stp     q0, q1, [x0, #16 * 0]
    stp     q2, q3, [x0, #16 * 2]
    stp     q4, q5, [x0, #16 * 4]
    stp     q6, q7, [x0, #16 * 6]
    stp     q8, q9, [x0, #16 * 8]
    stp     q10, q11, [x0, #16 * 10]
    stp     q12, q13, [x0, #16 * 12]
    stp     q14, q15, [x0, #16 * 14]
    stp     q16, q17, [x0, #16 * 16]
    stp     q18, q19, [x0, #16 * 18]
    stp     q20, q21, [x0, #16 * 20]
    stp     q22, q23, [x0, #16 * 22]
    stp     q24, q25, [x0, #16 * 24]
    stp     q26, q27, [x0, #16 * 26]
    stp     q28, q29, [x0, #16 * 28]
    stp     q30, q31, [x0, #16 * 30]
    mrs     x1, fpsr
    mrs     x2, fpcr
    str     x1, [x0, #VCPU_FP_FPSR]     /* past STP's reach (504) */
    str     x2, [x0, #VCPU_FP_FPCR]
    ret

/*
 * void fpsimd_load(const struct vcpu_fp *fp). No ISB: the ERET that enters
 * the guest is a context synchronization event, and Keel executes no
 * floating-point instruction before it.
 */
    .global fpsimd_load
fpsimd_load:
    ldp     q0, q1, [x0, #16 * 0]
    ldp     q2, q3, [x0, #16 * 2]
    ldp     q4, q5, [x0, #16 * 4]
    ldp     q6, q7, [x0, #16 * 6]
    ldp     q8, q9, [x0, #16 * 8]
    ldp     q10, q11, [x0, #16 * 10]
    ldp     q12, q13, [x0, #16 * 12]
    ldp     q14, q15, [x0, #16 * 14]
    ldp     q16, q17, [x0, #16 * 16]
    ldp     q18, q19, [x0, #16 * 18]
    ldp     q20, q21, [x0, #16 * 20]
    ldp     q22, q23, [x0, #16 * 22]
    ldp     q24, q25, [x0, #16 * 24]
    ldp     q26, q27, [x0, #16 * 26]
    ldp     q28, q29, [x0, #16 * 28]
    ldp     q30, q31, [x0, #16 * 30]
    ldr     x1, [x0, #VCPU_FP_FPSR]
    ldr     x2, [x0, #VCPU_FP_FPCR]
    msr     fpsr, x1
    msr     fpcr, x2
    ret
