/*
 * M-mode libguest: the entry of every hart, the M and S trap vectors, and
 * run_in(), which runs a function at a lower privilege and comes back.
 *
 * _start: every hart enters here in M-mode, a0 = hart id, a1 = DTB (QEMU
 * virt's reset vector with -bios none, and Keel in M-mode for each vhart).
 * tp holds the hart id from then on (the M vector sets it again from
 * mhartid); hart h runs on hart_stacks[h]. Hart 0 clears BSS and boots;
 * the others wait for it, then idle in libguest_secondary().
 *
 * Trap stacks: mscratch is 0 while the hart runs in M and the top of its M
 * trap stack while it runs below M; sscratch is 0 in S and the top of its
 * S trap stack in U. A trap from the same mode stays on the interrupted
 * stack, one from below switches to the trap stack, so code in S or U may
 * run on any stack its page tables allow.
 */
#define MAX_HARTS 8
#define STACK_SHIFT 14          /* 16 KiB: libguest.h STACK_SIZE */
#define TRAP_STACK_SHIFT 13     /* 8 KiB */
#define FRAME_SIZE (38 * 8)     /* struct trap_frame */
#define F_EPC (32 * 8)
#define F_STATUS (33 * 8)
#define F_CAUSE (34 * 8)
#define F_TVAL (35 * 8)
#define F_MODE (36 * 8)
#define CTX_SHIFT 8             /* struct lower_ctx: 256 bytes a hart */
#define MSTATUS_MPP 0x1800
#define MSTATUS_SPP 0x100
#define BIT3 8                  /* mie.MSIE and mstatus.MIE */
#define LOWER_RETURN 0x52455455 /* libguest.h LOWER_RETURN_MAGIC */

/* \reg = top of this hart's (tp) stack in \array of 1 << \shift bytes each */
.macro stack_top reg, tmp, array, shift
    la \reg, \array
    addi \tmp, tp, 1
    slli \tmp, \tmp, \shift
    add \reg, \reg, \tmp
.endm

    .section .text.head, "ax"
    .global _start
_start:
    csrw mie, zero
    csrw mscratch, zero
    csrw sscratch, zero
    la t0, mtrap_entry
    csrw mtvec, t0
    mv tp, a0
    li t0, MAX_HARTS
    bgeu a0, t0, park
    stack_top sp, t0, hart_stacks, STACK_SHIFT
    bnez a0, wait_boot
    mv s0, a0
    mv s1, a1
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, (t0)
    addi t0, t0, 8
    j 1b
2:  fence rw, rw
    la t0, bss_ready
    li t1, 1
    sw t1, (t0)
    mv a0, s0
    mv a1, s1
    call libguest_boot          /* never returns */
    j park
wait_boot:
    la t0, bss_ready
1:  lw t1, (t0)
    bnez t1, 2f
    .4byte 0x0100000f           /* pause */
    j 1b
2:  fence r, rw
    call libguest_secondary     /* (hartid, dtb): never returns */
park:
    csrw mie, zero
1:  wfi
    j 1b

    .data
    .balign 4
bss_ready:
    .word 0

    .text
/* ---- M-mode trap vector (mtvec, direct) ---- */
    .balign 4
    .global mtrap_entry
mtrap_entry:
    csrrw sp, mscratch, sp
    bnez sp, 1f                 /* from below M: sp is the M trap stack */
    csrrw sp, mscratch, sp      /* from M: its own sp back, mscratch 0 again */
1:  addi sp, sp, -FRAME_SIZE
    sd x1, 8(sp)
    .irp n,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\n, (\n * 8)(sp)
    .endr
    csrr t0, mscratch           /* the interrupted sp, or 0 from M */
    bnez t0, 2f
    addi t0, sp, FRAME_SIZE
2:  sd t0, 16(sp)
    csrw mscratch, zero
    csrr tp, mhartid
    csrr t0, mepc
    sd t0, F_EPC(sp)
    csrr t0, mstatus
    sd t0, F_STATUS(sp)
    csrr t0, mcause
    sd t0, F_CAUSE(sp)
    csrr t0, mtval
    sd t0, F_TVAL(sp)
    li t0, 3
    sd t0, F_MODE(sp)
    mv a0, sp
    call trap_dispatch
    ld t0, F_EPC(sp)
    csrw mepc, t0
    ld t0, F_STATUS(sp)
    csrw mstatus, t0
    li t1, MSTATUS_MPP
    and t0, t0, t1
    beq t0, t1, 3f              /* back to M: mscratch stays 0 */
    stack_top t0, t1, mtrap_stacks, TRAP_STACK_SHIFT
    csrw mscratch, t0
3:  ld x1, 8(sp)
    .irp n,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld x\n, (\n * 8)(sp)
    .endr
    ld sp, 16(sp)
    mret

/* ---- S-mode trap vector (stvec, direct) ---- */
    .balign 4
    .global strap_entry
strap_entry:
    csrrw sp, sscratch, sp
    bnez sp, 1f
    csrrw sp, sscratch, sp
1:  addi sp, sp, -FRAME_SIZE
    sd x1, 8(sp)
    .irp n,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\n, (\n * 8)(sp)
    .endr
    csrr t0, sscratch
    bnez t0, 2f
    addi t0, sp, FRAME_SIZE
2:  sd t0, 16(sp)
    csrw sscratch, zero
    csrr t0, sepc
    sd t0, F_EPC(sp)
    csrr t0, sstatus
    sd t0, F_STATUS(sp)
    csrr t0, scause
    sd t0, F_CAUSE(sp)
    csrr t0, stval
    sd t0, F_TVAL(sp)
    li t0, 1
    sd t0, F_MODE(sp)
    mv a0, sp
    call trap_dispatch
    ld t0, F_EPC(sp)
    csrw sepc, t0
    ld t0, F_STATUS(sp)
    csrw sstatus, t0
    andi t0, t0, MSTATUS_SPP
    bnez t0, 3f                 /* back to S: sscratch stays 0 */
    stack_top t0, t1, strap_stacks, TRAP_STACK_SHIFT
    csrw sscratch, t0
3:  ld x1, 8(sp)
    .irp n,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld x\n, (\n * 8)(sp)
    .endr
    ld sp, 16(sp)
    sret

/*
 * u64 run_in_asm(priv, fn, a0, a1, how): from M, fn(a0, a1) at @priv (0 U,
 * 1 S, 3 M), entered with MRET (how 0: MPP = priv) or SRET (how 1: SPP =
 * priv, U or S only); returns what fn returned, once the ECALL after it
 * (a7 = LOWER_RETURN) reaches trap_dispatch, in M or, delegated, in S
 * (which passes it on to M: mguest.c). mie.MSIE is on meanwhile; on
 * return it and mstatus.MIE are as they were, mscratch and sscratch 0.
 */
    .global run_in_asm
run_in_asm:
    la t0, lower_ctx
    slli t1, tp, CTX_SHIFT
    add t0, t0, t1
    sd ra, 0(t0)
    sd sp, 8(t0)
    sd gp, 16(t0)
    sd s0, 24(t0)
    sd s1, 32(t0)
    sd s2, 40(t0)
    sd s3, 48(t0)
    sd s4, 56(t0)
    sd s5, 64(t0)
    sd s6, 72(t0)
    sd s7, 80(t0)
    sd s8, 88(t0)
    sd s9, 96(t0)
    sd s10, 104(t0)
    sd s11, 112(t0)
    csrr t1, mie
    sd t1, 120(t0)
    csrr t1, mstatus
    sd t1, 128(t0)
    li t1, BIT3
    csrs mie, t1
    li t1, 3
    beq a0, t1, 1f              /* to M: traps stay on this stack */
    stack_top t1, t2, mtrap_stacks, TRAP_STACK_SHIFT
    csrw mscratch, t1
1:  li t2, 0
    bnez a0, 2f
    stack_top t2, t1, strap_stacks, TRAP_STACK_SHIFT
2:  csrw sscratch, t2
    mv t6, a1
    mv t5, a0
    mv a0, a2
    mv a1, a3
    la t1, lower_entry
    bnez t5, 4f
    la t1, user_entry           /* U starts from the user page */
4:  bnez a4, 3f
    csrw mepc, t1
    li t2, MSTATUS_MPP
    csrc mstatus, t2
    slli t2, t5, 11
    csrs mstatus, t2
    mret
3:  csrw sepc, t1
    li t2, MSTATUS_SPP
    csrc mstatus, t2
    slli t2, t5, 8
    csrs mstatus, t2
    sret

    .balign 4
lower_entry:
    jalr t6
    li a7, LOWER_RETURN
    ecall
1:  j 1b

/*
 * The user page (guest.ld: a page of its own, __user_start): U-mode's way
 * into run_in's function and the access snippets, so that page tables may
 * give U this page alone (pt_identity). The snippets use no stack and no
 * other code: a0 = address (a1 = value), one uncompressed access each.
 */
    .section .text.user, "ax"
    .option push
    .option norvc
    .balign 4
    .global user_entry
user_entry:
    jalr t6
    li a7, LOWER_RETURN
    ecall
1:  j 1b
    .global u_load64, u_store64, u_fetch
u_load64:
    ld a0, 0(a0)
    ret
u_store64:
    sd a1, 0(a0)
    ret
u_fetch:                        /* call a0; a fetch fault comes back to ra */
    mv t0, ra
    jalr a0
    mv ra, t0
    ret
    .option pop

    .text
    .option push
    .option norvc
    .global mem_load64, mem_store64, mem_fetch
mem_load64:
    ld a0, 0(a0)
    ret
mem_store64:
    sd a1, 0(a0)
    ret
mem_fetch:
    mv t0, ra
    jalr a0
    mv ra, t0
    ret
    .option pop

/* lower_resume(ret): back into run_in_asm's caller (from trap_dispatch, in M). */
    .global lower_resume
lower_resume:
    la t0, lower_ctx
    slli t1, tp, CTX_SHIFT
    add t0, t0, t1
    ld ra, 0(t0)
    ld sp, 8(t0)
    ld gp, 16(t0)
    ld s0, 24(t0)
    ld s1, 32(t0)
    ld s2, 40(t0)
    ld s3, 48(t0)
    ld s4, 56(t0)
    ld s5, 64(t0)
    ld s6, 72(t0)
    ld s7, 80(t0)
    ld s8, 88(t0)
    ld s9, 96(t0)
    ld s10, 104(t0)
    ld s11, 112(t0)
    li t2, BIT3
    ld t1, 120(t0)
    and t1, t1, t2
    csrc mie, t2
    csrs mie, t1
    ld t1, 128(t0)
    and t1, t1, t2
    csrc mstatus, t2
    csrs mstatus, t1
    csrw mscratch, zero
    csrw sscratch, zero
    ret

    .section .stacks, "aw", @nobits
    .balign 16
    .global hart_stacks, mtrap_stacks, strap_stacks
hart_stacks:
    .space MAX_HARTS << STACK_SHIFT
mtrap_stacks:
    .space MAX_HARTS << TRAP_STACK_SHIFT
strap_stacks:
    .space MAX_HARTS << TRAP_STACK_SHIFT

    .bss
    .balign 64
    .global lower_ctx
lower_ctx:
    .space MAX_HARTS << CTX_SHIFT
