/*
 * EL2 exception vectors (Arm ARM D1.10.2). Exceptions from Keel itself are
 * always fatal and go to the fault dump. Exceptions from a guest save its
 * general registers into the running vCPU's register block, which SP_EL2
 * points just past while the guest runs, then switch to this CPU's stack.
 */
#include <arch/asm.h>

#define FRAME_SIZE (36 * 8)     /* struct el2_frame */

.macro fault_vector type
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp]
    mov     x1, #\type
    b       el2_fault_common
.endm

/*
 * Saving a guest's registers. Exit handlers are C functions, which keep
 * x19-x29 intact (AAPCS64 callee-saved), so most exits save and restore only
 * x0-x18 and x30: the guest's x19-x29 simply stay in the registers across
 * the handler. Only an exit whose handler must read or write one of x19-x29
 * (an MMIO or system-register access naming it) saves all of them, and then
 * the full restore runs.
 */

/* Exceptions from EL2 itself (0-7), and from AArch32 (12-15), which Keel never runs. */
.macro el2_fault_vectors
    fault_vector 0
    fault_vector 1
    fault_vector 2
    fault_vector 3
    fault_vector 4
    fault_vector 5
    fault_vector 6
    fault_vector 7
.endm

.macro aarch32_fault_vectors
    fault_vector 12
    fault_vector 13
    fault_vector 14
    fault_vector 15
.endm

/* x0 and x1 are saved already; SP points at the vCPU's registers. */
.macro save_caller_saved_from_x2
    stp     x2, x3, [sp, #16 * 1]
    stp     x4, x5, [sp, #16 * 2]
    stp     x6, x7, [sp, #16 * 3]
    stp     x8, x9, [sp, #16 * 4]
    stp     x10, x11, [sp, #16 * 5]
    stp     x12, x13, [sp, #16 * 6]
    stp     x14, x15, [sp, #16 * 7]
    stp     x16, x17, [sp, #16 * 8]
    str     x18, [sp, #16 * 9]
    str     x30, [sp, #16 * 15]
.endm

.macro save_callee_saved
    str     x19, [sp, #16 * 9 + 8]
    stp     x20, x21, [sp, #16 * 10]
    stp     x22, x23, [sp, #16 * 11]
    stp     x24, x25, [sp, #16 * 12]
    stp     x26, x27, [sp, #16 * 13]
    stp     x28, x29, [sp, #16 * 14]
.endm

/* The reverse of the two above, from the same layout (x0 and x1 are left). */
.macro load_caller_saved_from_x2
    ldp     x2, x3, [sp, #16 * 1]
    ldp     x4, x5, [sp, #16 * 2]
    ldp     x6, x7, [sp, #16 * 3]
    ldp     x8, x9, [sp, #16 * 4]
    ldp     x10, x11, [sp, #16 * 5]
    ldp     x12, x13, [sp, #16 * 6]
    ldp     x14, x15, [sp, #16 * 7]
    ldp     x16, x17, [sp, #16 * 8]
    ldr     x18, [sp, #16 * 9]
    ldr     x30, [sp, #16 * 15]
.endm

.macro load_callee_saved
    ldr     x19, [sp, #16 * 9 + 8]
    ldp     x20, x21, [sp, #16 * 10]
    ldp     x22, x23, [sp, #16 * 11]
    ldp     x24, x25, [sp, #16 * 12]
    ldp     x26, x27, [sp, #16 * 13]
    ldp     x28, x29, [sp, #16 * 14]
.endm

/* x0 = the register block, then onto this CPU's own stack. */
.macro switch_to_cpu_stack
    mov     x0, sp
    mrs     x1, tpidr_el2
    ldr     x1, [x1, #CPU_STACK_TOP]
    mov     sp, x1
.endm

/* SP = the register block: x0-x18 and x30 from it, then back into the guest. */
.macro guest_return
    load_caller_saved_from_x2
    ldp     x0, x1, [sp, #16 * 0]
    add     sp, sp, #VCPU_REGS_SIZE
    eret
    dsb     nsh                         /* speculation barrier after ERET */
    isb
.endm

/* The same from x0, the register block a handler returned. */
.macro resume_caller_saved
    mov     sp, x0
    guest_return
.endm

/* IRQ, FIQ, SError: the handlers never touch the guest's registers. */
.macro guest_vector handler
    .balign 0x80
    sub     sp, sp, #VCPU_REGS_SIZE
    stp     x0, x1, [sp, #16 * 0]
    save_caller_saved_from_x2
    switch_to_cpu_stack
    bl      \handler
    b       vcpu_resume_caller_saved
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global el2_vectors
el2_vectors:
    /* Current EL with SP_EL0 (Keel never runs on it) or SP_ELx (a Keel bug, an unexpected interrupt) */
    el2_fault_vectors
    /*
     * Lower EL, AArch64: guest exits. Synchronous ones look for the HVC fast
     * path first, then for a data abort (emulated MMIO), the two hot ones.
     */
    .balign 0x80
    sub     sp, sp, #VCPU_REGS_SIZE
    stp     x0, x1, [sp, #16 * 0]
    mrs     x0, esr_el2
    lsr     x1, x0, #26                 /* ESR_ELx.EC */
    cmp     x1, #0x16                   /* ESR_ELx_EC_HVC64 */
    b.eq    hvc_fast
    cmp     x1, #0x24                   /* ESR_ELx_EC_DABT_LOW */
    b.eq    guest_dabt
    b       guest_sync_classify
    guest_vector vcpu_handle_irq
    guest_vector vcpu_handle_fiq
    guest_vector vcpu_handle_serror
    /* Lower EL, AArch32: Keel runs only AArch64 EL1, so EL2 never sees these */
    aarch32_fault_vectors

/*
 * HVC fast path. SMCCC (Arm DEN 0028) function IDs carry their owning
 * service in bits [29:24]; Keel implements only the Arm architecture (0),
 * standard secure (4, PSCI) and vendor hypervisor (6) services. Any other
 * call, or HVC with a non-zero immediate, is answered NOT_SUPPORTED here
 * without saving the rest of the guest's registers. x0 holds ESR_EL2.
 */
hvc_fast:
    tst     x0, #0xffff                 /* HVC #imm16: only #0 is SMCCC */
    b.ne    hvc_not_supported
    ldr     w0, [sp]                    /* guest w0: the function ID */
    ubfx    w1, w0, #24, #6
    cmp     w1, #0
    b.eq    guest_sync_partial
    cmp     w1, #4
    b.eq    guest_sync_partial
    cmp     w1, #6
    b.eq    guest_sync_partial
hvc_not_supported:
    ldr     x1, [sp, #VCPU_EXITS]
    add     x1, x1, #1
    str     x1, [sp, #VCPU_EXITS]
    mov     x0, #-1                     /* SMCCC_RET_NOT_SUPPORTED */
    ldr     x1, [sp, #8]
    add     sp, sp, #VCPU_REGS_SIZE
    eret
    dsb     nsh
    isb

/*
 * Which registers a synchronous exit needs saved. x0 = ESR_EL2, x1 = EC.
 * Data aborts (ISS.SRT, D13.2.39; the vector sends them to guest_dabt) and
 * MSR/MRS traps (ISS.Rt) name one register; everything else (SMCCC: x0-x17,
 * aborts without a syndrome, other traps) touches none above x18.
 */
guest_sync_classify:
    cmp     x1, #0x18                   /* ESR_ELx_EC_SYS64 */
    b.ne    guest_sync_partial
    tbz     x0, #9, guest_sync_partial  /* Rt[4] clear: x0-x15, the common case in one test */
    ubfx    x1, x0, #5, #5              /* Rt */
    b       2f
2:  cmp     x1, #18
    b.ls    guest_sync_partial
    cmp     x1, #30
    b.eq    guest_sync_partial
    /* x19-x29 (or XZR, harmless): save everything */
    save_caller_saved_from_x2
    save_callee_saved
    switch_to_cpu_stack
    bl      vcpu_handle_sync
    b       arch_vcpu_resume

/*
 * Data aborts: mostly emulated MMIO. Same register rule, own handler. ISV
 * is not tested: without it ISS[23:14] are RES0 (D13.2.39), SRT reads 0 and
 * the partial save follows; an SRT above 18 there would only cost the full
 * save, which is always right.
 */
guest_dabt:
    tbz     x0, #20, 3f                 /* SRT[4] clear: x0-x15, the common case in one test */
    ubfx    x1, x0, #16, #5             /* SRT */
    cmp     x1, #18
    b.ls    3f
    cmp     x1, #30
    b.eq    3f
    save_caller_saved_from_x2
    save_callee_saved
    switch_to_cpu_stack
    bl      vcpu_handle_dabt
    b       arch_vcpu_resume
3:  save_caller_saved_from_x2
    switch_to_cpu_stack
    bl      vcpu_handle_dabt
    resume_caller_saved                 /* inline: no branch on the MMIO path */

guest_sync_partial:
    save_caller_saved_from_x2
    switch_to_cpu_stack
    bl      vcpu_handle_sync
    b       vcpu_resume_caller_saved

/*
 * void arch_vcpu_resume(struct vcpu_regs *regs): enter or re-enter the guest
 * with every register from @regs. ELR_EL2, SPSR_EL2 and the EL1 state are
 * already loaded.
 */
    .global arch_vcpu_resume
arch_vcpu_resume:
    mov     sp, x0
    load_callee_saved
    guest_return

/*
 * Back to the guest after a handler that saved only x0-x18 and x30: the C
 * code has preserved x19-x29, which still hold the guest's values.
 */
vcpu_resume_caller_saved:
    resume_caller_saved

/*
 * The vectors of a shared CPU (core/sched.c), installed while it runs a
 * vCPU: every exit saves all the guest's registers and the scheduler
 * looks at its end, so the registers resumed may be another vCPU's. The
 * exclusive CPUs keep the table above, whose fast paths leave x19-x29 in
 * the registers and could not switch.
 */
.macro shared_vector handler
    .balign 0x80
    sub     sp, sp, #VCPU_REGS_SIZE
    stp     x0, x1, [sp, #16 * 0]
    save_caller_saved_from_x2
    save_callee_saved
    switch_to_cpu_stack
    bl      \handler
    bl      sched_exit
    b       arch_vcpu_resume
.endm

    .balign 0x800
    .global el2_vectors_shared
el2_vectors_shared:
    el2_fault_vectors
    shared_vector vcpu_handle_sync_any
    shared_vector vcpu_handle_irq
    shared_vector vcpu_handle_fiq
    shared_vector vcpu_handle_serror
    aarch32_fault_vectors

el2_fault_common:
    save_caller_saved_from_x2           /* the same layout as struct el2_frame */
    save_callee_saved
    add     x2, sp, #FRAME_SIZE
    str     x2, [sp, #16 * 15 + 8]      /* sp before the exception */
    mrs     x2, elr_el2
    mrs     x3, spsr_el2
    stp     x2, x3, [sp, #16 * 16]
    mrs     x2, esr_el2
    mrs     x3, far_el2
    stp     x2, x3, [sp, #16 * 17]
    /* an abort on a guarded device access (devaccess.c) resumes at its fixup */
    mov     x19, x1                     /* the vector, kept across the call */
    mov     x0, sp
    bl      el2_try_fixup
    cbnz    x0, el2_fault_resume
    mov     x0, sp
    mov     x1, x19
    /* a frame record so the backtrace starts at the faulting function */
    ldr     x29, [sp, #8 * 29]
    bl      el2_handle_fault
1:  wfi
    b       1b

el2_fault_resume:
    ldp     x2, x3, [sp, #16 * 16]
    msr     elr_el2, x2
    msr     spsr_el2, x3
    load_caller_saved_from_x2
    load_callee_saved
    ldp     x0, x1, [sp, #16 * 0]
    add     sp, sp, #FRAME_SIZE
    eret
