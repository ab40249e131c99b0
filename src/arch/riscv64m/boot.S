/*
 * Entry point of Keel as the M-mode firmware of a hart without the H
 * extension. QEMU virt with -bios none enters the first instruction of
 * RAM on every hart at once, in M-mode, with a0 = mhartid and a1 = the DTB
 * (its reset vector). One hart wins the lottery and boots; the others wait
 * in wfi until arch_cpu_start() names them (cpu.c): their word in
 * hart_release holds their Keel CPU index + 1, and a CLINT software
 * interrupt (mie.MSIE, so wfi wakes with mstatus.MIE off) tells them to look.
 */
#include <arch/asm.h>

#define MAX_HARTS 64

    .section .text.head, "ax"
    .global _start
_start:
    csrw    mie, zero
    csrw    mscratch, zero          /* trap.S: 0 while Keel runs */
    lla     t0, keel_trap
    csrw    mtvec, t0
    mv      s0, a0                  /* hart id */
    mv      s1, a1                  /* DTB */
    lla     t0, boot_lottery
    li      t1, 1
    amoadd.w t1, t1, (t0)
    bnez    t1, wait_release
    call    relocate
    lla     sp, keel_stacks
    li      t0, KEEL_STACK_SIZE
    add     sp, sp, t0
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  mv      a0, s0
    mv      a1, s1
    call    boot_primary            /* never returns */
    j       park

/*
 * Every word of the image that holds an address is listed in .rela.dyn as
 * R_RISCV_RELATIVE (RISC-V ELF psABI, B + A): applied for the load address
 * even when it is the link address. Uses t0-t4 only.
 */
relocate:
    lla     t0, _start
    li      t1, KEEL_LINK_ADDR
    sub     t0, t0, t1
    lla     t1, __rela_start
    lla     t2, __rela_end
1:  bgeu    t1, t2, 3f
    lwu     t3, 8(t1)
    li      t4, R_RISCV_RELATIVE
    bne     t3, t4, 2f
    ld      t3, 0(t1)
    ld      t4, 16(t1)
    add     t3, t3, t0
    add     t4, t4, t0
    sd      t4, 0(t3)
2:  addi    t1, t1, 24
    j       1b
3:  ret

/* A hart that lost the lottery: s0 = its hart id. */
wait_release:
    li      t0, MAX_HARTS
    bgeu    s0, t0, park            /* a hart id Keel cannot name: never started */
    li      t0, 8                   /* MIP_MSIP */
    csrw    mie, t0
    lla     t0, hart_release
    slli    t1, s0, 3
    add     t0, t0, t1
1:  ld      t1, 0(t0)
    bnez    t1, 2f
    wfi
    j       1b
2:  fence   r, rw                   /* what the boot hart wrote before releasing us */
    addi    a0, t1, -1              /* Keel's CPU index */
    addi    t0, t1, 0
    li      t1, KEEL_STACK_SIZE
    mul     t0, t0, t1
    lla     sp, keel_stacks
    add     sp, sp, t0
    call    boot_secondary          /* never returns */

park:
    csrw    mie, zero
1:  wfi
    j       1b

    .section .data
    .balign 8
boot_lottery:
    .word   0
    .balign 8
    .global hart_release
hart_release:
    .zero   8 * MAX_HARTS
