/*
 * Entry point. The image starts with the RISC-V Linux Image header
 * (Documentation/arch/riscv/boot-image-header.rst) so OpenSBI's fw_dynamic,
 * QEMU -kernel and U-Boot booti load it at a 2 MiB aligned base +
 * text_offset and enter it in (H)S-mode with a0 = hart id, a1 = DTB. Keel
 * runs wherever that is: it first rewrites the addresses held in its data.
 * Secondary harts arrive at secondary_entry, started by SBI HSM.
 */
#include <arch/asm.h>

    .option norvc                   /* the header's code0 is one 4-byte jump */
    .section .text.head, "ax"
    .global _start
_start:
    j       primary_entry           /* code0 */
    .long   0                       /* code1 */
    .quad   KEEL_TEXT_OFFSET        /* text_offset */
    .quad   _end - _start           /* image_size, including BSS (a link-time difference) */
    .quad   0                       /* flags: bit 0 = 0, little endian */
    .long   2                       /* version 0.2 */
    .long   0                       /* res1 */
    .quad   0                       /* res2 */
    .ascii  "RISCV\0\0\0"           /* magic (deprecated since 0.2) */
    .ascii  "RSC\x05"               /* magic2 */
    .long   0                       /* res3: no PE header */
    .option rvc

primary_entry:
    csrw    sie, zero
    csrw    sscratch, zero          /* trap.S: 0 while Keel runs */
    mv      s0, a0                  /* hart id */
    mv      s1, a1                  /* DTB */
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
2:  lla     t0, keel_trap
    csrw    stvec, t0
    mv      a0, s0
    mv      a1, s1
    call    boot_primary            /* never returns */
    j       park

/*
 * Every word of the image that holds an address is listed in .rela.dyn as
 * R_RISCV_RELATIVE: "the word at r_offset holds r_addend", both link-time
 * addresses (RISC-V ELF psABI, B + A). Moving the image moves both by the
 * same delta; applied even when the delta is 0. Entries are 24 bytes:
 * r_offset, r_info (type in the low 32 bits), r_addend. Uses t0-t6 only.
 */
relocate:
    lla     t0, _start
    li      t1, KEEL_LINK_ADDR      /* a plain number: no relocation of its own */
    sub     t0, t0, t1              /* delta */
    lla     t1, __rela_start
    lla     t2, __rela_end
1:  bgeu    t1, t2, 3f
    lwu     t3, 8(t1)               /* type */
    li      t4, R_RISCV_RELATIVE
    bne     t3, t4, 2f              /* R_RISCV_NONE: check-relocs.py allows nothing else */
    ld      t3, 0(t1)
    ld      t4, 16(t1)
    add     t3, t3, t0
    add     t4, t4, t0
    sd      t4, 0(t3)
2:  addi    t1, t1, 24
    j       1b
3:  ret

/* a0 = hart id, a1 = Keel's CPU index (the opaque argument of HSM hart_start). */
    .global secondary_entry
secondary_entry:
    csrw    sie, zero
    csrw    sscratch, zero
    lla     t0, keel_trap
    csrw    stvec, t0
    addi    t0, a1, 1
    li      t1, KEEL_STACK_SIZE
    mul     t0, t0, t1
    lla     sp, keel_stacks
    add     sp, sp, t0
    mv      a0, a1
    call    boot_secondary          /* never returns */

park:
    wfi
    j       park
