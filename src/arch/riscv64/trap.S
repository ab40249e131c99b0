/*
 * Every trap into HS-mode comes here (stvec, direct mode). sscratch tells
 * where from: while a guest runs it holds this CPU's struct cpu, while Keel
 * runs it holds 0 (Keel's own tp holds struct cpu). One swap with tp sorts
 * the two cases without touching any other register.
 */
#include <arch/asm.h>

#define REG(n) ((n) * 8)            /* struct vcpu_regs: x[n] */
#define FRAME_SIZE (34 * 8)         /* x1..x31 slots by number, sepc, sstatus */

.macro save_guest_regs base
    sd      x1, REG(1)(\base)
    sd      x2, REG(2)(\base)
    sd      x3, REG(3)(\base)
    .irp n, 6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, REG(\n)(\base)
    .endr
.endm

    .section .text.trap, "ax"
    .align  2
    .global keel_trap
keel_trap:
    csrrw   tp, sscratch, tp
    bnez    tp, guest_trap
    csrrw   tp, sscratch, zero      /* from Keel: tp back, sscratch 0 again */
    j       keel_self_trap

guest_trap:
    sd      t0, CPU_SCRATCH(tp)
    ld      t0, CPU_VCPU(tp)        /* struct vcpu starts with its registers */
    save_guest_regs t0
    ld      t1, CPU_SCRATCH(tp)
    sd      t1, REG(5)(t0)          /* the guest's t0 */
    csrrw   t1, sscratch, zero      /* the guest's tp; Keel runs now */
    sd      t1, REG(4)(t0)
    ld      sp, CPU_STACK_TOP(tp)
    mv      a0, t0
    call    riscv_guest_trap        /* handles the exit; returns to enter the guest again */
    /* fall through, a0 = the vCPU */

/* a0 = struct vcpu *, tp = this CPU, CSRs set for the entry (vcpu.c). */
    .global riscv_guest_enter
riscv_guest_enter:
    csrw    sscratch, tp
    ld      x1, REG(1)(a0)
    ld      x2, REG(2)(a0)
    ld      x3, REG(3)(a0)
    .irp n, 4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, REG(\n)(a0)
    .endr
    ld      a0, REG(10)(a0)
    sret

/*
 * A trap taken by Keel itself (interrupts stay disabled in HS-mode, so an
 * exception): a guarded access that faulted (fixed up by C) or a bug (C
 * prints it and stops). The frame lives on the current stack.
 */
keel_self_trap:
    addi    sp, sp, -FRAME_SIZE
    sd      x1, REG(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, REG(\n)(sp)
    .endr
    addi    t0, sp, FRAME_SIZE
    sd      t0, REG(2)(sp)          /* sp as it was */
    csrr    t0, sepc
    sd      t0, REG(32)(sp)
    csrr    t0, sstatus
    sd      t0, REG(33)(sp)
    mv      a0, sp
    call    riscv_keel_trap         /* may change the saved sepc */
    ld      t0, REG(32)(sp)
    csrw    sepc, t0
    ld      t0, REG(33)(sp)
    csrw    sstatus, t0
    ld      x1, REG(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, REG(\n)(sp)
    .endr
    addi    sp, sp, FRAME_SIZE
    sret

/* From an exit handler: drop its stack and idle (vcpu.c). */
    .global riscv_idle_on_fresh_stack
riscv_idle_on_fresh_stack:
    ld      sp, CPU_STACK_TOP(tp)
    call    keel_idle
1:  j       1b
