/*
 * 32-bit userspace for test guests: T32 code run at AArch32 EL0, back at
 * EL1 through a guest's synchronous-exception hook (sync_set_hook) that
 * sends an exception from AArch32 EL0 (vector kind 12) to run_a32_return
 * with SPSR EL1h.
 */
#include "libguest.h"

/* x0: T32 entry, x1: u32 r[15] in and out. Runs it at EL0 (AArch32, usr, DAIF masked). */
void run_a32(u64 entry, u32 *regs);
extern char run_a32_return[];
__asm__(".text\n"
        ".global run_a32\n"
        "run_a32:\n"
        "  stp x29, x30, [sp, #-112]!\n"
        "  stp x19, x20, [sp, #16]\n"
        "  stp x21, x22, [sp, #32]\n"
        "  stp x23, x24, [sp, #48]\n"
        "  stp x25, x26, [sp, #64]\n"
        "  stp x27, x28, [sp, #80]\n"
        "  str x1, [sp, #96]\n"
        "  msr elr_el1, x0\n"
        "  mov x9, #0x1f0\n" /* M = usr (0x10), T, A, I, F */
        "  msr spsr_el1, x9\n"
        "  mov x9, x1\n"
        "  ldp w0, w1, [x9]\n"
        "  ldp w2, w3, [x9, #8]\n"
        "  ldp w4, w5, [x9, #16]\n"
        "  ldp w6, w7, [x9, #24]\n"
        "  ldr w8, [x9, #32]\n"
        "  ldp w10, w11, [x9, #40]\n"
        "  ldp w12, w13, [x9, #48]\n"
        "  ldr w14, [x9, #56]\n"
        "  ldr w9, [x9, #36]\n"
        "  eret\n"
        ".global run_a32_return\n"
        "run_a32_return:\n"
        "  ldr x15, [sp, #96]\n"
        "  stp w0, w1, [x15]\n"
        "  stp w2, w3, [x15, #8]\n"
        "  stp w4, w5, [x15, #16]\n"
        "  stp w6, w7, [x15, #24]\n"
        "  stp w8, w9, [x15, #32]\n"
        "  stp w10, w11, [x15, #40]\n"
        "  stp w12, w13, [x15, #48]\n"
        "  str w14, [x15, #56]\n"
        "  ldp x19, x20, [sp, #16]\n"
        "  ldp x21, x22, [sp, #32]\n"
        "  ldp x23, x24, [sp, #48]\n"
        "  ldp x25, x26, [sp, #64]\n"
        "  ldp x27, x28, [sp, #80]\n"
        "  ldp x29, x30, [sp], #112\n"
        "  ret\n");
