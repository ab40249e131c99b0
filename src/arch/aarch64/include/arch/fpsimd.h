/* A vCPU's FP/SIMD registers, FPSR and FPCR, switched eagerly (fpsimd.S). */
#ifndef ARCH_FPSIMD_H
#define ARCH_FPSIMD_H

#include <arch/vcpu_state.h>

/*
 * At EL2, on the vCPU's core, the vCPU not running: the CPU's Q0-Q31, FPSR
 * and FPCR into @fp, or @fp into them. Nothing else changes.
 */
void fpsimd_save(struct vcpu_fp *fp);
void fpsimd_load(const struct vcpu_fp *fp);

#endif
