/*
 * Decoding a trapped RISC-V guest load or store into a generic MMIO access.
 *
 * When a VS/VU-mode load or store hits an emulated device, Keel takes a
 * load guest-page fault (scause 21) or a store/AMO guest-page fault (scause
 * 23). Two sources tell it what the access was:
 *
 *  - htinst, which the hart may fill with a transformed copy of the trapping
 *    instruction (privileged spec, H extension, "Transformed Instruction or
 *    Pseudoinstruction for mtinst or htinst"; section 8.6.3 in version
 *    1.12): insn_decode_htinst();
 *  - otherwise the instruction itself, which Keel reads at sepc with HLVX.HU
 *    (one halfword, and a second one when the first says the instruction is
 *    32 bits long): insn_decode_mmio().
 *
 * Both are pure functions of their argument: no CSR is read here, so the
 * decoder builds for the host and is unit-tested and fuzzed there.
 *
 * What is accepted: the RV64I loads and stores (LB, LH, LW, LD, LBU, LHU,
 * LWU, SB, SH, SW, SD) and their RV64C compressed forms (C.LW, C.LD, C.SW,
 * C.SD, C.LWSP, C.LDSP, C.SWSP, C.SDSP). The guest is assumed to run with
 * VSXLEN=64: in RV32C the encodings of C.LD/C.SD/C.LDSP/C.SDSP are C.FLW,
 * C.FSW, C.FLWSP and C.FSWSP.
 *
 * What is rejected (false, or INSN_HTINST_INVALID), so that the caller injects
 * an access fault into the guest:
 *  - AMOs and LR/SC: an atomic read-modify-write of a device register cannot
 *    be emulated as one MMIO read or write;
 *  - floating-point loads and stores (FLW, FLD, FSW, FSD, FLH, FLQ ... and the
 *    compressed C.FLD, C.FSD, C.FLDSP, C.FSDSP) and vector loads and stores:
 *    Keel does not touch the guest's FP/vector state, so FP MMIO is not
 *    supported;
 *  - Zcb's C.LBU, C.LHU, C.LH, C.SB, C.SH when read from memory (not in
 *    RV64GC; a hart that transforms them into htinst delivers LBU/LHU/LH/SB/SH,
 *    which insn_decode_htinst() does accept);
 *  - every reserved encoding (C.LWSP/C.LDSP with rd=x0, LOAD funct3=111,
 *    STORE funct3>=100, instructions longer than 32 bits) and everything
 *    that is not a load or store.
 */
#ifndef ARCH_RISCV64_INSN_H
#define ARCH_RISCV64_INSN_H

#include <keel/types.h>

struct mmio_insn {
    unsigned int size; /* 1, 2, 4, 8 bytes */
    bool write;
    /* loads: LB/LH/LW (and C.LW, C.LWSP) sign-extend to 64 bits; LBU/LHU/LWU
     * zero-extend; false for LD (nothing to extend) and for stores */
    bool sign_extend;
    /* rd for loads, rs2 for stores: x0..x31. A load into x0 is a valid
     * instruction whose result is discarded: the caller must not write x0. */
    unsigned int reg;
    unsigned int len; /* length of the trapping instruction: 2 or 4 (sepc += len) */
};

/*
 * Decode a raw instruction read from guest memory. Bits 1:0 decide its
 * length: anything but 11 is a 16-bit instruction and only bits 15:0 are
 * looked at (bits 31:16 need not have been read); 11 is a 32-bit instruction,
 * unless bits 4:2 are 111 (48 bits or longer: rejected).
 * Returns true and fills *out for an accepted load/store; returns false and
 * leaves *out untouched otherwise.
 */
bool insn_decode_mmio(u32 insn, struct mmio_insn *out);

/*
 * What a decoded access moves: a load's register value from the @raw bytes
 * read (zero-extended in @raw), sign-extended for LB/LH/LW; a store's bytes
 * from its register, the low d->size of them (2.6 of the unprivileged spec).
 */
u64 insn_load_value(const struct mmio_insn *d, u64 raw);
u64 insn_store_value(const struct mmio_insn *d, u64 reg);

enum insn_htinst_kind {
    /* htinst is 0: the hart gave no information, read the instruction at
     * sepc and use insn_decode_mmio() */
    INSN_HTINST_NONE,
    /* a transformed standard load/store Keel can emulate: *out is filled */
    INSN_HTINST_DECODED,
    /* one of the pseudoinstructions 0x00002000, 0x00002020, 0x00003000,
     * 0x00003020: the fault was taken on an implicit access of the VS-stage
     * page-table walk (htval holds the guest-physical address of the PTE),
     * not on the instruction's own access. Not an MMIO access: the guest's
     * page tables point into memory Keel does not back as RAM. */
    INSN_HTINST_PSEUDO,
    /* anything else: a transformed AMO, LR/SC, FP or hypervisor load/store,
     * a custom value, or a value the spec leaves unallocated (nonzero bits
     * 63:32, bits 1:0 = 10, bits 1:0 = 00 other than a pseudoinstruction).
     * The spec allows "an unrecognized value ... the same as zero", so the
     * caller may fall back to reading the instruction (which
     * insn_decode_mmio() rejects too when it is an AMO or FP access), or
     * inject the access fault straight away. */
    INSN_HTINST_INVALID,
};

/*
 * Decode the htinst value of a guest-page fault. *out is filled only for
 * INSN_HTINST_DECODED; len is 4 when the trapping instruction was 32 bits
 * long (htinst bit 1 = 1) and 2 when it was compressed (bit 1 = 0).
 */
enum insn_htinst_kind insn_decode_htinst(u64 htinst, struct mmio_insn *out);

/*
 * The Addr. Offset field of a transformed load/store (bits 19:15, where rs1
 * was): faulting virtual address (stval) minus the access's original
 * virtual address. Nonzero only for a misaligned access that the hart split
 * and whose second part faulted. Meaningful only after INSN_HTINST_DECODED.
 */
static inline unsigned int insn_htinst_addr_offset(u64 htinst)
{
    return (unsigned int)(htinst >> 15) & 0x1f;
}

#endif
