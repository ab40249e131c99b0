/*
 * Every trap into M-mode comes here (mtvec, direct mode). mscratch tells
 * where from: while a guest runs (in U-mode, whatever privilege it believes
 * it has) it holds this hart's struct cpu; while Keel runs it holds 0 and
 * Keel's tp holds struct cpu. One swap with tp sorts the two cases without
 * touching any other register. Keel runs with mstatus.MIE off, so what it
 * takes itself is an exception: a guarded access or a bug.
 */
#include <arch/asm.h>

#define REG(n) ((n) * 8)            /* struct vcpu_regs: x[n] */
#define FRAME_SIZE (34 * 8)         /* x1..x31 slots by number, mepc, mstatus */

    .section .text.trap, "ax"
    .align  2
    .global keel_trap
keel_trap:
    csrrw   tp, mscratch, tp
    bnez    tp, guest_trap
    csrrw   tp, mscratch, zero      /* from Keel: tp back, mscratch 0 again */
    j       keel_self_trap

guest_trap:
    sd      t0, CPU_SCRATCH(tp)
    ld      t0, CPU_VCPU(tp)        /* struct vcpu starts with its registers */
    sd      x1, REG(1)(t0)
    sd      x2, REG(2)(t0)
    sd      x3, REG(3)(t0)
    .irp n, 6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, REG(\n)(t0)
    .endr
    ld      t1, CPU_SCRATCH(tp)
    sd      t1, REG(5)(t0)          /* the guest's t0 */
    csrrw   t1, mscratch, zero      /* the guest's tp; Keel runs now */
    sd      t1, REG(4)(t0)
    ld      sp, CPU_STACK_TOP(tp)
    mv      a0, t0
    /* exit.c: each handles the exit and returns the vCPU to enter */
    csrr    t1, mcause
    li      t2, 2                   /* illegal instruction: the guest's privileged ones */
    bne     t1, t2, 1f
    call    rvm_guest_insn_trap
    j       rvm_guest_enter
1:  call    rvm_guest_trap
    /* fall through, a0 = the vCPU */

/* a0 = struct vcpu *, tp = this CPU, mepc/mstatus/satp set for the entry (exit.c). */
    .global rvm_guest_enter
rvm_guest_enter:
    csrw    mscratch, tp
    ld      x1, REG(1)(a0)
    ld      x2, REG(2)(a0)
    ld      x3, REG(3)(a0)
    .irp n, 4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, REG(\n)(a0)
    .endr
    ld      a0, REG(10)(a0)
    mret

keel_self_trap:
    addi    sp, sp, -FRAME_SIZE
    sd      x1, REG(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, REG(\n)(sp)
    .endr
    addi    t0, sp, FRAME_SIZE
    sd      t0, REG(2)(sp)          /* sp as it was */
    csrr    t0, mepc
    sd      t0, REG(32)(sp)
    csrr    t0, mstatus
    sd      t0, REG(33)(sp)
    mv      a0, sp
    call    riscv_keel_trap         /* riscv64/fault.c; may change the saved mepc */
    ld      t0, REG(32)(sp)
    csrw    mepc, t0
    ld      t0, REG(33)(sp)
    csrw    mstatus, t0
    ld      x1, REG(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, REG(\n)(sp)
    .endr
    addi    sp, sp, FRAME_SIZE
    mret

/* From an exit handler: drop its stack and idle (vcpu.c). */
    .global rvm_idle_on_fresh_stack
rvm_idle_on_fresh_stack:
    ld      sp, CPU_STACK_TOP(tp)
    call    keel_idle
1:  j       1b
