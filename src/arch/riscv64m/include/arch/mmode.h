/*
 * What Keel itself uses of M-mode on the real hart beyond the CSRs it
 * emulates for guests (mcsr.h): the mie bits of its own interrupts, and the
 * CLINT (SiFive's layout, as QEMU virt's ACLINT keeps it: msip at +0,
 * mtimecmp at +0x4000, mtime at +0xbff8; 4, 8 and 8 bytes per hart).
 */
#ifndef ARCH_MMODE_H
#define ARCH_MMODE_H

#include <arch/mcsr.h>

#define MIE_MSIE BIT(3)
#define MIE_MTIE BIT(7)
#define MIE_MEIE BIT(11)

/* satp values as Keel writes them (4.1.11) */
#define SATP_SV39 (SATP_MODE_SV39 << SATP_MODE_SHIFT)
#define SATP_SV48 (SATP_MODE_SV48 << SATP_MODE_SHIFT)
#define SATP_MODE_MASK (0xfUL << SATP_MODE_SHIFT)

#define CLINT_MSIP(hart) (4UL * (hart))
#define CLINT_MTIMECMP(hart) (0x4000UL + 8UL * (hart))
#define CLINT_MTIME 0xbff8UL
#define CLINT_SIZE 0x10000UL

#endif
