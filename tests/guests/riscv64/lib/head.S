/*
 * libguest entry points and the trap vector, S-mode (VS-mode under Keel).
 *
 * _start: the boot hart, entered as OpenSBI and Keel enter a kernel
 * (a0 = hart id, a1 = DTB, satp = 0). secondary_entry: harts started with
 * SBI HSM hart_start, or resumed from a non-retentive hart_suspend
 * (a0 = hart id, a1 = opaque). tp holds the hart id from then on; the
 * stack of hart h is hart_stacks[h].
 */
#define MAX_HARTS 8
#define STACK_SHIFT 14      /* STACK_SIZE 16384, as in libguest.h */
#define FRAME_SIZE (36 * 8) /* struct trap_frame: x0-x31, sepc, sstatus, scause, stval */
#define SSTATUS_SIE 2
#define SBI_EXT_HSM 0x48534d
#define SBI_HART_STOP 1

/* sp = top of hart a0's stack */
.macro hart_stack tmp
    la sp, hart_stacks
    addi \tmp, a0, 1
    slli \tmp, \tmp, STACK_SHIFT
    add sp, sp, \tmp
.endm

    .section .text.head, "ax"
    .global _start
_start:
    csrw sie, zero
    csrci sstatus, SSTATUS_SIE
    la t0, trap_entry
    csrw stvec, t0
    li t0, MAX_HARTS
    bgeu a0, t0, park               /* no stack for it */
    mv tp, a0
    hart_stack t0
    /*
     * Only the first hart to get here boots: where a platform lets every
     * hart in at once, the others hand themselves back to the SBI as
     * STOPPED, so that HSM can start them like any other.
     */
    la t0, boot_claimed
    li t1, 1
    amoswap.w.aqrl t1, t1, (t0)
    bnez t1, give_back
    mv s0, a0
    mv s1, a1
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, (t0)
    addi t0, t0, 8
    j 1b
2:  fence rw, rw
    mv a0, s0
    mv a1, s1
    call libguest_boot              /* (hartid, dtb): never returns */
park:
    wfi
    j park
give_back:
    li a7, SBI_EXT_HSM
    li a6, SBI_HART_STOP
    ecall
    j park

    .data
    .balign 4
boot_claimed:
    .word 0

    .text
    .global secondary_entry
    .balign 4
secondary_entry:
    /* the state HSM promises, recorded before anything changes it */
    csrr t0, sstatus
    csrr t1, satp
    csrw sie, zero
    li t2, MAX_HARTS
    bgeu a0, t2, 1f
    mv tp, a0
    la t2, trap_entry
    csrw stvec, t2
    hart_stack t2
    mv a2, t0
    mv a3, t1
    call libguest_secondary         /* (hartid, opaque, sstatus, satp): never returns */
1:  wfi                             /* .text.head's park may be out of a branch's reach */
    j 1b

/*
 * Every trap comes from S-mode on its hart's own stack: the frame goes
 * below the interrupted sp, and trap_dispatch() may change any of it
 * (sepc to skip an instruction, sstatus) before it is restored.
 */
    .balign 4
    .global trap_entry
trap_entry:
    addi sp, sp, -FRAME_SIZE
    sd x1, 8(sp)
    .irp n,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\n, (\n * 8)(sp)
    .endr
    addi t0, sp, FRAME_SIZE
    sd t0, 16(sp)
    csrr t0, sepc
    sd t0, 256(sp)
    csrr t0, sstatus
    sd t0, 264(sp)
    csrr t0, scause
    sd t0, 272(sp)
    csrr t0, stval
    sd t0, 280(sp)
    mv a0, sp
    call trap_dispatch
    ld t0, 256(sp)
    csrw sepc, t0
    ld t0, 264(sp)
    csrw sstatus, t0
    ld x1, 8(sp)
    .irp n,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld x\n, (\n * 8)(sp)
    .endr
    addi sp, sp, FRAME_SIZE
    sret

    .section .stacks, "aw", @nobits
    .balign 16
    .global hart_stacks
hart_stacks:
    .space MAX_HARTS << STACK_SHIFT
