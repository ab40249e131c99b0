/*
 * Bulk copy and set with the memory copy and set instructions (FEAT_MOPS,
 * Arm ARM C6.2, CPYP/CPYM/CPYE and SETP/SETM/SETE): the CPU (or QEMU, in
 * one helper call a page or more) moves the whole range, where the C loops
 * in lib/string.c execute 20 instructions per 128 bytes. memcpy() and
 * memset() use them for large sizes once mops_init() found the feature
 * (mops.c); a CPU without it never reaches this code.
 *
 * CPY (not CPYF) allows any overlap, as memmove() relies on memcpy() for a
 * destination below its source.
 */
#include <arch/asm.h>

    .arch   armv8.8-a

/* void *arch_memcpy_mops(void *dst, const void *src, size_t n) */
    .global arch_memcpy_mops
arch_memcpy_mops:
    mov     x3, x0
    cpyp    [x3]!, [x1]!, x2!
    cpym    [x3]!, [x1]!, x2!
    cpye    [x3]!, [x1]!, x2!
    ret

/* void *arch_memset_mops(void *dst, int c, size_t n) */
    .global arch_memset_mops
arch_memset_mops:
    mov     x3, x0
    setp    [x3]!, x2!, x1
    setm    [x3]!, x2!, x1
    sete    [x3]!, x2!, x1
    ret

/*
 * void arch_zero_memory(void *p, u64 size): size a multiple of 64 KiB. With
 * FEAT_MOPS one SETP/SETM/SETE; else DC ZVA by blocks of DCZID_EL0.BS words
 * (stores when DCZID_EL0.DZP prohibits it).
 */
    .global arch_zero_memory
arch_zero_memory:
    adrp    x2, arch_has_mops
    add     x2, x2, :lo12:arch_has_mops
    ldrb    w2, [x2]
    cbz     w2, 4f
    setp    [x0]!, x1!, xzr
    setm    [x0]!, x1!, xzr
    sete    [x0]!, x1!, xzr
    ret
4:  mrs     x2, dczid_el0
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

/*
 * void arch_zero_tags(void *p, u64 size): the Allocation Tags of
 * [p, p + size) set to 0 by DC GVA (FEAT_MTE2; SYS #3, C7, C4, #3 for
 * assemblers without MTE), one DCZID_EL0.BS block at a time, data
 * untouched. Keel's pointers carry tag 0 in bits [59:56], which is what
 * DC GVA writes. Needs EL2's Tagged mapping and SCTLR_EL2.ATA (mte.c).
 */
    .global arch_zero_tags
arch_zero_tags:
    mrs     x2, dczid_el0
    and     x2, x2, #0xf
    mov     x3, #4
    lsl     x3, x3, x2              /* block size in bytes */
    add     x1, x0, x1
1:  sys     #3, c7, c4, #3, x0      /* DC GVA */
    add     x0, x0, x3
    cmp     x0, x1
    b.lo    1b
    ret
