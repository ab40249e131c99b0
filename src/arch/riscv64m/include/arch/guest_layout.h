/*
 * A VM's guest-physical layout under Keel in M-mode: QEMU virt's, as under
 * H (riscv64's guest_layout.h), plus what a guest with its own M-mode finds
 * there: the CLINT, and the PLIC's M-mode contexts wired.
 */
#ifndef ARCH_RISCV64M_GUEST_LAYOUT_H
#define ARCH_RISCV64M_GUEST_LAYOUT_H

#include_next <arch/guest_layout.h>

/* Untranslated guests run on the physical map as an Sv39 table (physmap.c): below 256 GiB. */
#undef GUEST_IPA_BITS
#define GUEST_IPA_BITS 38

#define GUEST_CLINT_BASE 0x02000000UL
#define GUEST_VPLIC_LAYOUT VPLIC_M_AND_S_WIRED

#endif
