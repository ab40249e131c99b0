/*
 * switchprobe's entry at EL2 (QEMU virt, virtualization=on, -kernel) and
 * the FP/SIMD helpers its C (built -mgeneral-regs-only, as Keel) cannot be.
 */
    .section .text.start, "ax"
    .global _start
_start:
    ldr     x1, =stack_top
    mov     sp, x1
    mov     x1, #0x33ff             /* CPTR_EL2: RES1 bits only, TFP clear */
    msr     cptr_el2, x1
    isb
    bl      probe_main
1:  wfi
    b       1b
    .ltorg

    .text
/* void fp_fill(u64 seed): Vn = { seed + 2n, seed + 2n + 1 } (low doubleword first) */
    .global fp_fill
fp_fill:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    add     x1, x0, #(2 * \n)
    add     x2, x0, #(2 * \n + 1)
    fmov    d\n, x1
    mov     v\n\().d[1], x2
    .endr
    ret

/* void nop_call(void *): the measuring loop's own cost */
    .global nop_call
nop_call:
    ret
