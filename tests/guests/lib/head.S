/*
 * libguest entry points and exception vectors.
 *
 * _start: the boot CPU, entered as the Linux arm64 boot protocol says
 * (EL1, MMU and D-cache off, x0 = DTB). secondary_entry: CPUs started with
 * PSCI CPU_ON, x0 = context id, whose low byte is the logical CPU index.
 */
#define STACK_SIZE 16384 /* as in libguest.h */
#define MAX_CPUS 8
#define FRAME_SIZE (35 * 8) /* struct ex_frame: x0-x30, elr, spsr, esr, far */
#define FRAME_ALLOC 288     /* FRAME_SIZE rounded up to 16 */

    .section .text.head, "ax"
    .global _start
_start:
    mov x19, x0                     /* DTB */
    msr daifset, #0xf
    adrp x1, stacks
    add x1, x1, :lo12:stacks
    add sp, x1, #STACK_SIZE
    msr tpidr_el1, xzr              /* logical CPU 0 */
    adrp x0, vectors
    add x0, x0, :lo12:vectors
    msr vbar_el1, x0
    isb
    /* clear .bss (MMU off: Device memory, aligned stores only) */
    adrp x0, __bss_start
    add x0, x0, :lo12:__bss_start
    adrp x1, __bss_end
    add x1, x1, :lo12:__bss_end
1:  cmp x0, x1
    b.hs 2f
    str xzr, [x0], #8
    b 1b
2:  mov x0, x19
    bl mmu_enable_dtb               /* builds the tables from the DT's /memory */
    bl libguest_boot                /* (the DTB it found); never returns */
3:  wfi
    b 3b

    .text
    .global secondary_entry
    .type secondary_entry, %function
secondary_entry:
    /* Record the entry state before changing anything. */
    mov x19, x0
    mrs x20, sctlr_el1
    mrs x21, daif
    mrs x22, CurrentEL
    mrs x23, spsel
    msr daifset, #0xf
    and x1, x0, #0xff
    cmp x1, #MAX_CPUS               /* a context id libguest did not make: no stack for it */
    b.hs 1f
    msr tpidr_el1, x1
    adrp x2, stacks
    add x2, x2, :lo12:stacks
    mov x3, #STACK_SIZE
    madd x2, x1, x3, x2
    add sp, x2, #STACK_SIZE
    adrp x0, vectors
    add x0, x0, :lo12:vectors
    msr vbar_el1, x0
    isb
    bl mmu_enable
    mov x0, x19
    mov x1, x20
    mov x2, x21
    mov x3, x22
    mov x4, x23
    bl libguest_secondary           /* never returns */
1:  wfi
    b 1b

/* ---- exception vectors ---- */
.macro save_frame
    sub sp, sp, #FRAME_ALLOC
    stp x0, x1, [sp, #16 * 0]
    stp x2, x3, [sp, #16 * 1]
    stp x4, x5, [sp, #16 * 2]
    stp x6, x7, [sp, #16 * 3]
    stp x8, x9, [sp, #16 * 4]
    stp x10, x11, [sp, #16 * 5]
    stp x12, x13, [sp, #16 * 6]
    stp x14, x15, [sp, #16 * 7]
    stp x16, x17, [sp, #16 * 8]
    stp x18, x19, [sp, #16 * 9]
    stp x20, x21, [sp, #16 * 10]
    stp x22, x23, [sp, #16 * 11]
    stp x24, x25, [sp, #16 * 12]
    stp x26, x27, [sp, #16 * 13]
    stp x28, x29, [sp, #16 * 14]
    mrs x1, elr_el1
    stp x30, x1, [sp, #16 * 15]
    mrs x1, spsr_el1
    mrs x2, esr_el1
    stp x1, x2, [sp, #16 * 16]
    mrs x1, far_el1
    str x1, [sp, #16 * 17]
.endm

.macro vector_entry kind
    .balign 0x80
    save_frame
    mov x0, #\kind
    mov x1, sp
    b exception_common
.endm

    .balign 0x800
    .global vectors
vectors:
    /* current EL, SP_EL0 */
    vector_entry 0
    vector_entry 1
    vector_entry 2
    vector_entry 3
    /* current EL, SP_ELx */
    vector_entry 4
    vector_entry 5
    vector_entry 6
    vector_entry 7
    /* lower EL, AArch64 */
    vector_entry 8
    vector_entry 9
    vector_entry 10
    vector_entry 11
    /* lower EL, AArch32 */
    vector_entry 12
    vector_entry 13
    vector_entry 14
    vector_entry 15

exception_common:
    bl exception_dispatch           /* (kind, frame): may change frame->elr/x[] */
    ldp x1, x2, [sp, #16 * 15 + 8]  /* elr, spsr */
    msr elr_el1, x1
    msr spsr_el1, x2
    ldp x0, x1, [sp, #16 * 0]
    ldp x2, x3, [sp, #16 * 1]
    ldp x4, x5, [sp, #16 * 2]
    ldp x6, x7, [sp, #16 * 3]
    ldp x8, x9, [sp, #16 * 4]
    ldp x10, x11, [sp, #16 * 5]
    ldp x12, x13, [sp, #16 * 6]
    ldp x14, x15, [sp, #16 * 7]
    ldp x16, x17, [sp, #16 * 8]
    ldp x18, x19, [sp, #16 * 9]
    ldp x20, x21, [sp, #16 * 10]
    ldp x22, x23, [sp, #16 * 11]
    ldp x24, x25, [sp, #16 * 12]
    ldp x26, x27, [sp, #16 * 13]
    ldp x28, x29, [sp, #16 * 14]
    ldr x30, [sp, #16 * 15]
    add sp, sp, #FRAME_ALLOC
    eret

/* ---- SMCCC conduits: struct smccc_res f(u32 fn, u64 a1, u64 a2, u64 a3) ---- */
    .global smccc_hvc
smccc_hvc:
    str x8, [sp, #-16]!             /* x8: indirect result pointer (AAPCS64) */
    mov w0, w0                      /* the function ID is W0 */
    hvc #0
    ldr x9, [sp], #16
    stp x0, x1, [x9]
    stp x2, x3, [x9, #16]
    ret

    .global smccc_smc
smccc_smc:
    str x8, [sp, #-16]!
    mov w0, w0
    smc #0
    ldr x9, [sp], #16
    stp x0, x1, [x9]
    stp x2, x3, [x9, #16]
    ret
