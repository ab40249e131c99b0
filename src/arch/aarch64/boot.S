/*
 * Entry point. The image starts with the arm64 Linux Image header
 * (Documentation/arch/arm64/booting.rst) so QEMU -kernel, U-Boot booti and
 * the Raspberry Pi firmware load it at a 2 MiB aligned base + text_offset
 * and enter it at EL2 with x0 = DTB address. Keel runs wherever that is: it
 * first rewrites the addresses held in its data for the load address.
 */
#include <arch/asm.h>

/* booting.rst, "Call the kernel image": the header's flags field */
#define IMAGE_FLAG_4K_PAGES (1 << 1)      /* bits 2:1 = 1: 4 KiB pages; bit 0 = 0: little endian */
#define IMAGE_FLAG_ANYWHERE (1 << 3)      /* bit 3: the 2 MiB aligned base may be anywhere in RAM */

/*
 * A symbol's run-time address: adrp is PC-relative (+-4 GiB), so this is
 * right wherever the image runs. `ldr xN, =sym` would read a link-time
 * address from a literal pool in .text, which the relocation would have to
 * patch (scripts/check-relocs.py refuses that). `ldr xN, =number` is fine.
 */
.macro adr_l reg, sym
    adrp    \reg, \sym
    add     \reg, \reg, :lo12:\sym
.endm

    .section .text.head, "ax"
    .global _start
_start:
    b       primary_entry           /* code0 */
    .long   0                       /* code1 */
    .quad   KEEL_TEXT_OFFSET        /* text_offset */
    .quad   _keel_image_size        /* image_size, including BSS */
    .quad   IMAGE_FLAG_4K_PAGES | IMAGE_FLAG_ANYWHERE
    .quad   0, 0, 0                 /* res2-4 */
    .ascii  "ARM\x64"               /* magic */
    .long   0                       /* res5 */

primary_entry:
    mov     x19, x0                 /* DTB */
    mrs     x1, CurrentEL
    cmp     x1, #(2 << 2)
    b.ne    wrong_el

    /* MMU and caches off, no alignment checks, little endian. */
    ldr     x1, =SCTLR_EL2_BOOT
    msr     sctlr_el2, x1
    isb

    bl      relocate

    adr_l   x1, keel_stacks + KEEL_STACK_SIZE
    mov     sp, x1

    adr_l   x1, __bss_start
    adr_l   x2, __bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    adr_l   x1, el2_vectors
    msr     vbar_el2, x1
    isb

    mov     x0, x19
    bl      boot_primary            /* never returns */
    b       park

/*
 * Every word of the image that holds an address is listed in .rela.dyn as
 * R_AARCH64_RELATIVE: "the word at r_offset holds r_addend", both link-time
 * addresses (AAELF64 5.7.11: Delta(S) + A). Moving the image moves both by
 * the same delta. Applied even when the delta is 0: lld leaves the words
 * themselves 0 and relies on this.
 * Runs with the MMU off, before anything reads a pointer from data. Entries
 * are 24 bytes: r_offset, r_info (type in the low 32 bits, symbol 0), r_addend.
 */
relocate:
    adr_l   x1, _start
    ldr     x2, =KEEL_LINK_ADDR     /* a plain number: no relocation of its own */
    sub     x0, x1, x2
    /* adrp (and so all of Keel's C) is only right if the image moved by whole pages. */
    tst     x0, #0xfff
    b.ne    park
    adr_l   x1, __rela_start
    adr_l   x2, __rela_end
1:  cmp     x1, x2
    b.hs    3f
    ldp     x3, x4, [x1], #16
    ldr     x5, [x1], #8
    cbz     x4, 1b                  /* R_AARCH64_NONE: a slot the linker left unused */
    cmp     x4, #R_AARCH64_RELATIVE
    b.ne    park                    /* the build refuses such images (check-relocs.py) */
    add     x5, x5, x0
    str     x5, [x3, x0]
    b       1b
3:  ret

/*
 * Secondary CPUs come here from PSCI CPU_ON with x0 = Keel's CPU index.
 */
    .global secondary_entry
secondary_entry:
    mov     x19, x0
    ldr     x1, =SCTLR_EL2_BOOT
    msr     sctlr_el2, x1
    isb
    adr_l   x1, keel_stacks + KEEL_STACK_SIZE
    mov     x2, #KEEL_STACK_SIZE
    madd    x1, x19, x2, x1
    mov     sp, x1
    adr_l   x1, el2_vectors
    msr     vbar_el2, x1
    adr_l   x0, mmu_boot_regs
    bl      mmu_enable
    mov     x0, x19
    bl      boot_secondary          /* never returns */
    b       park

/*
 * Secondary CPUs released from a spin table come here with x0 = 0
 * (booting.rst: secondaries enter with x0-x3 zero), MMU and caches off.
 * Keel's index for this CPU is its position in spin_table_mpidr[], which
 * the boot CPU cleaned to the point of coherency before the release.
 */
    .global spin_table_entry
spin_table_entry:
    mrs     x1, mpidr_el1
    ldr     x2, =MPIDR_AFF_MASK
    and     x1, x1, x2
    adr_l   x2, spin_table_mpidr
    mov     x0, #0
1:  ldr     x3, [x2, x0, lsl #3]
    cmp     x3, x1
    b.eq    secondary_entry
    add     x0, x0, #1
    cmp     x0, #KEEL_MAX_CPUS
    b.lo    1b
    b       park

/* void mmu_enable(const struct mmu_boot_regs *regs) */
    .global mmu_enable
mmu_enable:
    ldp     x1, x2, [x0]            /* mair, tcr */
    ldr     x3, [x0, #16]           /* ttbr0 */
    msr     mair_el2, x1
    msr     tcr_el2, x2
    msr     ttbr0_el2, x3
    isb
    tlbi    alle2
    dsb     nsh
    isb
    mrs     x1, sctlr_el2
    ldr     x2, =(SCTLR_EL2_M | SCTLR_EL2_C | SCTLR_EL2_I | SCTLR_EL2_SA | SCTLR_EL2_WXN)
    orr     x1, x1, x2
    msr     sctlr_el2, x1
    isb
    ret

/* Data cache maintenance by VA to the point of coherency, line by line over [x0, x0 + x1). */
.macro dcache_range op
    add     x1, x0, x1
    mrs     x2, ctr_el0
    ubfx    x2, x2, #16, #4         /* CTR_EL0.DminLine: log2 of words */
    mov     x3, #4
    lsl     x3, x3, x2
    sub     x4, x3, #1
    bic     x0, x0, x4
    /* four lines an iteration while four remain (2 MiB of zeroed guest RAM at a time) */
    lsl     x5, x3, #2
    add     x6, x0, x5
    cmp     x6, x1
    b.hi    2f
3:  add     x7, x0, x3
    dc      \op, x0
    dc      \op, x7
    add     x0, x7, x3
    add     x7, x0, x3
    dc      \op, x0
    dc      \op, x7
    add     x0, x7, x3
    add     x6, x0, x5
    cmp     x6, x1
    b.ls    3b
2:  cmp     x0, x1
    b.hs    4f
1:  dc      \op, x0
    add     x0, x0, x3
    cmp     x0, x1
    b.lo    1b
4:  dsb     sy
    ret
.endm

/* void arch_clean_dcache_range(u64 start, u64 size): clean to PoC */
    .global arch_clean_dcache_range
arch_clean_dcache_range:
    dcache_range cvac

/* void arch_clean_inval_dcache_range(u64 start, u64 size): clean and invalidate to PoC */
    .global arch_clean_inval_dcache_range
arch_clean_inval_dcache_range:
    dcache_range civac

/* void arch_inval_dcache_range(u64 start, u64 size): invalidate to PoC; whole lines only */
    .global arch_inval_dcache_range
arch_inval_dcache_range:
    dcache_range ivac

/*
 * Entered at EL1 or EL3: Keel cannot work. Say so on the board's PL011 if
 * the DT's root compatible names a board Keel knows (early_uart.c: plain C
 * that needs neither EL2, the relocation nor FP registers), and stop.
 */
wrong_el:
    adr_l   x1, keel_stacks + KEEL_STACK_SIZE
    mov     sp, x1
    mov     x0, x19
    bl      early_uart_for_board
    cbz     x0, park
    adr     x1, wrong_el_msg
3:  ldrb    w3, [x1], #1
    cbz     w3, park
4:  ldr     w4, [x0, #0x18]         /* UARTFR */
    tbnz    w4, #5, 4b              /* TXFF */
    str     w3, [x0]
    b       3b

park:
    wfi
    b       park

wrong_el_msg:
    .asciz  "keel: entered below or above EL2; Keel must be started at EL2 (QEMU: -M virt,virtualization=on). Stopping.\r\n"
    .ltorg

/* void arch_idle_from_exit(void): back to this CPU's stack top, then idle. */
    .global arch_idle_from_exit
arch_idle_from_exit:
    mrs     x0, tpidr_el2
    ldr     x1, [x0, #CPU_STACK_TOP]
    mov     sp, x1
    mov     x29, #0
    b       keel_idle

/* void arch_fpsimd_zero(void): a vCPU starts with clean FP/SIMD state. */
    .global arch_fpsimd_zero
arch_fpsimd_zero:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    movi    v\n\().16b, #0
    .endr
    msr     fpsr, xzr
    msr     fpcr, xzr
    ret
