/*
 * Entry point. The image starts with the arm64 Linux Image header
 * (Documentation/arch/arm64/booting.rst) so QEMU -kernel and U-Boot booti
 * load it at text_offset and enter it at EL2 with x0 = DTB address.
 */
#include <arch/asm.h>

    .section .text.head, "ax"
    .global _start
_start:
    b       primary_entry           /* code0 */
    .long   0                       /* code1 */
    .quad   KEEL_TEXT_OFFSET        /* text_offset */
    .quad   _keel_image_size        /* image_size, including BSS */
    .quad   0x2                     /* flags: little endian, 4K pages, near DRAM base */
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

    /* Keel is linked at a fixed address; refuse to run anywhere else. */
    adr     x1, _start
    ldr     x2, =_start
    cmp     x1, x2
    b.ne    wrong_address

    ldr     x1, =keel_stacks + KEEL_STACK_SIZE
    mov     sp, x1

    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    ldr     x1, =el2_vectors
    msr     vbar_el2, x1
    isb

    mov     x0, x19
    bl      boot_primary            /* never returns */
    b       park

/*
 * Secondary CPUs come here from PSCI CPU_ON with x0 = Keel's CPU index.
 */
    .global secondary_entry
secondary_entry:
    mov     x19, x0
    ldr     x1, =SCTLR_EL2_BOOT
    msr     sctlr_el2, x1
    isb
    ldr     x1, =keel_stacks + KEEL_STACK_SIZE
    mov     x2, #KEEL_STACK_SIZE
    madd    x1, x19, x2, x1
    mov     sp, x1
    ldr     x1, =el2_vectors
    msr     vbar_el2, x1
    ldr     x0, =mmu_boot_regs
    bl      mmu_enable
    mov     x0, x19
    bl      boot_secondary          /* never returns */
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

/* void arch_clean_dcache_range(u64 start, u64 size): clean to PoC */
    .global arch_clean_dcache_range
arch_clean_dcache_range:
    add     x1, x0, x1
    mrs     x2, ctr_el0
    ubfx    x2, x2, #16, #4         /* DminLine: log2 of words */
    mov     x3, #4
    lsl     x3, x3, x2
    sub     x4, x3, #1
    bic     x0, x0, x4
1:  dc      cvac, x0
    add     x0, x0, x3
    cmp     x0, x1
    b.lo    1b
    dsb     sy
    ret

/*
 * Entered at EL1 or EL3: Keel cannot work. Say so on the board's early
 * UART (MMU off, so plain device accesses) and stop.
 */
wrong_el:
    adr     x1, wrong_el_msg
    ldr     x2, =PLATFORM_EARLY_UART
3:  ldrb    w3, [x1], #1
    cbz     w3, park
4:  ldr     w4, [x2, #0x18]         /* UARTFR */
    tbnz    w4, #5, 4b              /* TXFF */
    str     w3, [x2]
    b       3b

wrong_address:
    adr     x1, wrong_addr_msg
    ldr     x2, =PLATFORM_EARLY_UART
    b       3b

park:
    wfi
    b       park

wrong_el_msg:
    .asciz  "keel: entered below or above EL2; Keel must be started at EL2 (QEMU: -M virt,virtualization=on). Stopping.\r\n"
wrong_addr_msg:
    .asciz  "keel: loaded at the wrong address; this build must run at its link address (KEEL_LOAD_ADDR in src/platform/<board>/platform.mk). Stopping.\r\n"
    .ltorg

/* void arch_idle_from_exit(void): back to this CPU's stack top, then idle. */
    .global arch_idle_from_exit
arch_idle_from_exit:
    mrs     x0, tpidr_el2
    ldr     x1, [x0, #CPU_STACK_TOP]
    mov     sp, x1
    mov     x29, #0
    b       keel_idle

/* void arch_zero_memory(void *p, u64 size): size a multiple of 64 KiB */
    .global arch_zero_memory
arch_zero_memory:
    mrs     x2, dczid_el0
    tbnz    x2, #4, 2f              /* DZP: DC ZVA prohibited */
    and     x2, x2, #0xf
    mov     x3, #4
    lsl     x3, x3, x2              /* block size in bytes */
    add     x1, x0, x1
1:  dc      zva, x0
    add     x0, x0, x3
    cmp     x0, x1
    b.lo    1b
    ret
2:  add     x1, x0, x1
3:  stp     xzr, xzr, [x0], #16
    cmp     x0, x1
    b.lo    3b
    ret

/* void arch_fpsimd_zero(void): a vCPU starts with clean FP/SIMD state. */
    .global arch_fpsimd_zero
arch_fpsimd_zero:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    movi    v\n\().16b, #0
    .endr
    msr     fpsr, xzr
    msr     fpcr, xzr
    ret
