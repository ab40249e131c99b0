/*
 * Supervisor and hypervisor CSRs (RISC-V privileged spec 1.12, chapters 4
 * and 8), by number so any assembler that knows Zicsr takes them.
 */
#ifndef ARCH_CSR_H
#define ARCH_CSR_H

#include <keel/types.h>

#define CSR_SSTATUS 0x100
#define CSR_SIE 0x104
#define CSR_STVEC 0x105
#define CSR_SCOUNTEREN 0x106
#define CSR_SENVCFG 0x10a
#define CSR_SSCRATCH 0x140
#define CSR_SEPC 0x141
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define CSR_SIP 0x144
#define CSR_STIMECMP 0x14d
#define CSR_SATP 0x180

#define CSR_VSSTATUS 0x200
#define CSR_VSIE 0x204
#define CSR_VSTVEC 0x205
#define CSR_VSSCRATCH 0x240
#define CSR_VSEPC 0x241
#define CSR_VSCAUSE 0x242
#define CSR_VSTVAL 0x243
#define CSR_VSIP 0x244
#define CSR_VSTIMECMP 0x24d
#define CSR_VSATP 0x280

#define CSR_HSTATUS 0x600
#define CSR_HEDELEG 0x602
#define CSR_HIDELEG 0x603
#define CSR_HIE 0x604
#define CSR_HTIMEDELTA 0x605
#define CSR_HCOUNTEREN 0x606
#define CSR_HGEIE 0x607
#define CSR_HENVCFG 0x60a
#define CSR_HTVAL 0x643
#define CSR_HIP 0x644
#define CSR_HVIP 0x645
#define CSR_HTINST 0x64a
#define CSR_HGATP 0x680
#define CSR_TIME 0xc01

/* sstatus (4.1.1) */
#define SSTATUS_SIE BIT(1)
#define SSTATUS_SPIE BIT(5)
#define SSTATUS_SPP BIT(8)
#define SSTATUS_FS (3UL << 13)
#define SSTATUS_FS_INITIAL (1UL << 13)
#define SSTATUS_SUM BIT(18)

/* hstatus (8.2.1) */
#define HSTATUS_GVA BIT(6)
#define HSTATUS_SPV BIT(7)
#define HSTATUS_SPVP BIT(8)
#define HSTATUS_VTVM BIT(20)
#define HSTATUS_VTW BIT(21)
#define HSTATUS_VTSR BIT(22)
#define HSTATUS_VSXL_64 (2UL << 32)

/* Interrupt numbers and their bits in sip/sie/hvip/hideleg (4.1.3, 8.2.3) */
#define IRQ_S_SOFT 1
#define IRQ_VS_SOFT 2
#define IRQ_S_TIMER 5
#define IRQ_VS_TIMER 6
#define IRQ_S_EXT 9
#define IRQ_VS_EXT 10
#define IRQ_M_EXT 11
#define SIP_SSIP BIT(IRQ_S_SOFT)
#define SIP_STIP BIT(IRQ_S_TIMER)
#define SIP_SEIP BIT(IRQ_S_EXT)
#define HVIP_VSSIP BIT(IRQ_VS_SOFT)
#define HVIP_VSTIP BIT(IRQ_VS_TIMER)
#define HVIP_VSEIP BIT(IRQ_VS_EXT)

/* scause exception codes (4.1.9, 8.6.1) */
#define SCAUSE_INTERRUPT BIT(63)
#define EXC_INST_MISALIGNED 0
#define EXC_INST_ACCESS 1
#define EXC_ILLEGAL_INST 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_ECALL_VS 10
#define EXC_INST_PAGE_FAULT 12
#define EXC_LOAD_PAGE_FAULT 13
#define EXC_STORE_PAGE_FAULT 15
#define EXC_INST_GUEST_PAGE_FAULT 20
#define EXC_LOAD_GUEST_PAGE_FAULT 21
#define EXC_VIRTUAL_INST 22
#define EXC_STORE_GUEST_PAGE_FAULT 23

/* hgatp (8.2.10): MODE, VMID, PPN of the root */
#define HGATP_MODE_SV39X4 (8UL << 60)
#define HGATP_VMID_SHIFT 44
#define HGATP_VMID_MASK (0x3fffUL << HGATP_VMID_SHIFT)

/*
 * henvcfg (8.2.5, and the CMO extensions' chapter): the guest's timer
 * compare, and its cache-block operations. CBIE = 01: an invalidate is done
 * as a flush, so a guest can never make a line written back by a previous
 * owner of the memory (Keel's zeroing) disappear and read what lay under it.
 */
#define HENVCFG_CBIE_FLUSH (1UL << 4)
#define HENVCFG_CBCFE BIT(6)
#define HENVCFG_CBZE BIT(7)
#define HENVCFG_STCE BIT(63)

/* hcounteren: the guest may read time, cycle and instret (8.2.4) */
#define HCOUNTEREN_CY BIT(0)
#define HCOUNTEREN_TM BIT(1)
#define HCOUNTEREN_IR BIT(2)

/* H-extension fences of everything (8.3), encoded by hand: GCC 12 has no 'h' in -march. */
#define HFENCE_VVMA_ALL ".insn r 0x73, 0, 0x11, x0, x0, x0\n"
#define HFENCE_GVMA_ALL ".insn r 0x73, 0, 0x31, x0, x0, x0\n"

#define __csr_str(x) #x
#define csr_str(x) __csr_str(x)

#define csr_read(csr) ({ u64 __v; asm volatile("csrr %0, " csr_str(csr) : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) \
    ({ u64 __v = (u64)(val); asm volatile("csrw " csr_str(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_set(csr, val) \
    ({ u64 __v = (u64)(val); asm volatile("csrs " csr_str(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_clear(csr, val) \
    ({ u64 __v = (u64)(val); asm volatile("csrc " csr_str(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_swap(csr, val) \
    ({ u64 __v = (u64)(val); asm volatile("csrrw %0, " csr_str(csr) ", %0" : "+r"(__v) :: "memory"); __v; })

#endif
