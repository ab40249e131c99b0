/*
 * RISC-V load/store decoding for MMIO emulation (see arch/insn.h).
 *
 * References, by section of the unprivileged ISA manual (version 20191213)
 * and the privileged one (version 1.12):
 *  - U 2.2 "Base Instruction Formats": the I-type and S-type layouts;
 *  - U 2.6 "Load and Store Instructions" and U 5.3 "Load and Store
 *    Instructions" (RV64I): funct3 of LB/LH/LW/LBU/LHU and LD/LWU, SB/SH/SW/SD;
 *  - U 1.5 "Base Instruction-Length Encoding": bits 1:0 = 11 and bits 4:2 !=
 *    111 for a 32-bit instruction, bits 1:0 != 11 for a 16-bit one;
 *  - U 16.3 "Load and Store Instructions" and U 16.8 "RVC Instruction Set
 *    Listings" (Tables 16.5, 16.7): the CL/CS/CI/CSS formats, quadrants 0 and
 *    2 and their funct3 values for RV64C;
 *  - U 24 "RV32/64G Instruction Set Listings", Table 24.1 (opcode map): LOAD,
 *    LOAD-FP, STORE, STORE-FP, AMO;
 *  - P 8.6.3 "Transformed Instruction or Pseudoinstruction for mtinst or
 *    htinst" (H extension; "tinst-vals" in later versions): htinst.
 *
 * Field names are the spec's: opcode, funct3, rd, rs1, rs2, imm; the
 * compressed rd'/rs1'/rs2' are written rdp/rs1p/rs2p.
 */
#include <arch/insn.h>

/* U Table 24.1: inst[6:0] of the major opcodes that matter here. */
#define OPCODE_LOAD 0x03     /* LB LH LW LD LBU LHU LWU */
#define OPCODE_LOAD_FP 0x07  /* FLW FLD FLH FLQ, vector loads: rejected */
#define OPCODE_STORE 0x23    /* SB SH SW SD */
#define OPCODE_STORE_FP 0x27 /* FSW FSD FSH FSQ, vector stores: rejected */
#define OPCODE_AMO 0x2f      /* LR SC AMO*: rejected */

/* U 2.6 / 5.3: funct3 of the loads (bit 2 = zero-extend) and stores (width). */
#define FUNCT3_LB 0
#define FUNCT3_LH 1
#define FUNCT3_LW 2
#define FUNCT3_LD 3
#define FUNCT3_LBU 4
#define FUNCT3_LHU 5
#define FUNCT3_LWU 6
#define FUNCT3_SB 0
#define FUNCT3_SH 1
#define FUNCT3_SW 2
#define FUNCT3_SD 3

/* U 16.8, Table 16.5 (quadrant 0) and 16.7 (quadrant 2): funct3 in RV64C. */
#define C_QUADRANT0 0
#define C_QUADRANT2 2
#define C0_FUNCT3_FLD 1 /* C.FLD: rejected */
#define C0_FUNCT3_LW 2
#define C0_FUNCT3_LD 3  /* C.FLW in RV32C */
#define C0_FUNCT3_RES 4 /* reserved in RV64C; Zcb's C.LBU/C.LH/C.LHU/C.SB/C.SH */
#define C0_FUNCT3_FSD 5 /* C.FSD: rejected */
#define C0_FUNCT3_SW 6
#define C0_FUNCT3_SD 7  /* C.FSW in RV32C */
#define C2_FUNCT3_FLDSP 1 /* rejected */
#define C2_FUNCT3_LWSP 2
#define C2_FUNCT3_LDSP 3  /* C.FLWSP in RV32C */
#define C2_FUNCT3_FSDSP 5 /* rejected */
#define C2_FUNCT3_SWSP 6
#define C2_FUNCT3_SDSP 7  /* C.FSWSP in RV32C */

/* P 8.6.3, Table "Special pseudoinstruction values for guest-page faults". */
#define HTINST_PSEUDO_RD32 0x00002000ULL /* 32-bit read for VS-stage translation (VSXLEN=32) */
#define HTINST_PSEUDO_WR32 0x00002020ULL /* 32-bit write (A/D update), VSXLEN=32 */
#define HTINST_PSEUDO_RD64 0x00003000ULL /* 64-bit read for VS-stage translation (VSXLEN=64) */
#define HTINST_PSEUDO_WR64 0x00003020ULL /* 64-bit write (A/D update), VSXLEN=64 */

/* Fields of a 32-bit instruction, U 2.2 (R/I/S-type). */
static inline unsigned int insn_opcode(u32 insn) { return insn & 0x7f; }
static inline unsigned int insn_rd(u32 insn) { return (insn >> 7) & 0x1f; }
static inline unsigned int insn_funct3(u32 insn) { return (insn >> 12) & 0x7; }
static inline unsigned int insn_rs2(u32 insn) { return (insn >> 20) & 0x1f; }

/* Fields of a 16-bit instruction, U 16.2 "Compressed Instruction Formats". */
static inline unsigned int c_op(u32 insn) { return insn & 0x3; }          /* quadrant */
static inline unsigned int c_funct3(u32 insn) { return (insn >> 13) & 0x7; }
static inline unsigned int c_rd(u32 insn) { return (insn >> 7) & 0x1f; }   /* CI: rd, bits 11:7 */
static inline unsigned int c_rs2(u32 insn) { return (insn >> 2) & 0x1f; }  /* CSS: rs2, bits 6:2 */
/* CL: rd', CS: rs2', bits 4:2; the 3-bit field names x8..x15 (Table 16.2). */
static inline unsigned int c_rdp_rs2p(u32 insn) { return 8 + ((insn >> 2) & 0x7); }

static void set(struct mmio_insn *out, unsigned int size, bool write, bool sign_extend,
                unsigned int reg, unsigned int len)
{
    out->size = size;
    out->write = write;
    out->sign_extend = sign_extend;
    out->reg = reg;
    out->len = len;
}

/*
 * A 32-bit LOAD or STORE (bits 1:0 = 11). Only opcode, funct3 and rd (loads)
 * or rs2 (stores) are read: rs1 and imm give the address, which the fault
 * reports already, and in a transformed htinst they hold the Addr. Offset
 * and zeros (P 8.6.3, which also says a decoder need not check those zeros).
 */
static bool decode_load_store(u32 insn, unsigned int len, struct mmio_insn *out)
{
    unsigned int funct3 = insn_funct3(insn);

    switch (insn_opcode(insn)) {
    case OPCODE_LOAD:
        /* U 2.6: LB, LH, LW sign-extend; U 5.3: LWU zero-extends and LD
         * fills the register; LBU, LHU zero-extend. funct3 111 is reserved. */
        switch (funct3) {
        case FUNCT3_LB:
        case FUNCT3_LH:
        case FUNCT3_LW:
            set(out, 1u << funct3, false, true, insn_rd(insn), len);
            return true;
        case FUNCT3_LD:
            set(out, 8, false, false, insn_rd(insn), len);
            return true;
        case FUNCT3_LBU:
        case FUNCT3_LHU:
        case FUNCT3_LWU:
            set(out, 1u << (funct3 & 3), false, false, insn_rd(insn), len);
            return true;
        default:
            return false;
        }
    case OPCODE_STORE:
        /* U 2.6 / 5.3: SB, SH, SW, SD; funct3 1xx is SQ (RV128) or reserved. */
        switch (funct3) {
        case FUNCT3_SB:
        case FUNCT3_SH:
        case FUNCT3_SW:
        case FUNCT3_SD:
            set(out, 1u << funct3, true, false, insn_rs2(insn), len);
            return true;
        default:
            return false;
        }
    case OPCODE_LOAD_FP:  /* FP and vector: Keel does not emulate them */
    case OPCODE_STORE_FP:
    case OPCODE_AMO:      /* an atomic read-modify-write of a device register */
    default:
        return false;
    }
}

/*
 * A 16-bit RV64C instruction (bits 1:0 != 11), U 16.3. The immediates (the
 * offset from rs1' or sp) are not needed: the fault reports the address.
 */
static bool decode_compressed(u32 insn, struct mmio_insn *out)
{
    unsigned int funct3 = c_funct3(insn);

    switch (c_op(insn)) {
    case C_QUADRANT0:
        /* CL/CS format: rs1' in bits 9:7, rd'/rs2' in bits 4:2. */
        switch (funct3) {
        case C0_FUNCT3_LW: /* C.LW: lw rd', offset(rs1') */
            set(out, 4, false, true, c_rdp_rs2p(insn), 2);
            return true;
        case C0_FUNCT3_LD: /* C.LD: ld rd', offset(rs1') */
            set(out, 8, false, false, c_rdp_rs2p(insn), 2);
            return true;
        case C0_FUNCT3_SW: /* C.SW: sw rs2', offset(rs1') */
            set(out, 4, true, false, c_rdp_rs2p(insn), 2);
            return true;
        case C0_FUNCT3_SD: /* C.SD: sd rs2', offset(rs1') */
            set(out, 8, true, false, c_rdp_rs2p(insn), 2);
            return true;
        case C0_FUNCT3_FLD: /* C.FLD, C.FSD: FP */
        case C0_FUNCT3_FSD:
        case C0_FUNCT3_RES: /* reserved (Zcb byte/halfword forms) */
        default:            /* C.ADDI4SPN, and 0x0000, the defined illegal instruction */
            return false;
        }
    case C_QUADRANT2:
        /* CI format (loads): rd in bits 11:7; CSS format (stores): rs2 in bits 6:2. */
        switch (funct3) {
        case C2_FUNCT3_LWSP: /* C.LWSP: lw rd, offset(sp); rd=x0 is reserved */
            if (c_rd(insn) == 0)
                return false;
            set(out, 4, false, true, c_rd(insn), 2);
            return true;
        case C2_FUNCT3_LDSP: /* C.LDSP: ld rd, offset(sp); rd=x0 is reserved */
            if (c_rd(insn) == 0)
                return false;
            set(out, 8, false, false, c_rd(insn), 2);
            return true;
        case C2_FUNCT3_SWSP: /* C.SWSP: sw rs2, offset(sp) */
            set(out, 4, true, false, c_rs2(insn), 2);
            return true;
        case C2_FUNCT3_SDSP: /* C.SDSP: sd rs2, offset(sp) */
            set(out, 8, true, false, c_rs2(insn), 2);
            return true;
        case C2_FUNCT3_FLDSP: /* FP */
        case C2_FUNCT3_FSDSP:
        default: /* C.SLLI, C.JR/C.MV/C.EBREAK/C.JALR/C.ADD */
            return false;
        }
    default: /* quadrant 1: ALU, jumps and branches, no memory access */
        return false;
    }
}

bool insn_decode_mmio(u32 insn, struct mmio_insn *out)
{
    struct mmio_insn m;

    /* U 1.5: bits 1:0 != 11 is a 16-bit instruction; 11 with bits 4:2 = 111
     * starts a 48-bit or longer one. */
    if ((insn & 0x3) != 0x3) {
        if (!decode_compressed(insn & 0xffff, &m))
            return false;
    } else {
        if ((insn & 0x1c) == 0x1c)
            return false;
        if (!decode_load_store(insn, 4, &m))
            return false;
    }
    *out = m;
    return true;
}

/*
 * P 8.6.3. A nonzero htinst is one of:
 *  - a transformed standard instruction: bit 0 = 1, and with bit 1 set to 1
 *    it is the encoding of a standard instruction of the same kind as the
 *    one that trapped. Bit 1 is 1 if that instruction was 32 bits long and 0
 *    if it was compressed (which the hart expanded to its 32-bit equivalent
 *    before transforming). For a load (I-type) imm[11:0] (31:20) is zero; for
 *    a store (S-type) imm[11:5] (31:25) and imm[4:0] (11:7) are zero; rs1
 *    (19:15) is replaced by the Addr. Offset; opcode, funct3 and rd or rs2
 *    are the original ones. The spec says a decoder need not check the
 *    zeros ("a future version ... may add information to the fields that
 *    are currently zeros"), so they are ignored here. AMOs, LR/SC and
 *    HLV/HLVX/HSV keep every field but rs1 and are rejected like FP
 *    loads/stores;
 *  - a custom value (bit 0 = 1 and, with bit 1 set, a custom opcode): only
 *    for a nonstandard trapping instruction, rejected;
 *  - a pseudoinstruction (bits 1:0 = 00), for a guest-page fault on an
 *    implicit access of the VS-stage translation.
 * Every other value is unallocated; the spec says "software must also
 * confirm that bits 63:32 ... are all zeros" before reading bits 31:0 as an
 * instruction, and that an unrecognized value may be treated as zero.
 */
enum insn_htinst_kind insn_decode_htinst(u64 htinst, struct mmio_insn *out)
{
    struct mmio_insn m;

    if (htinst == 0)
        return INSN_HTINST_NONE;
    if (htinst == HTINST_PSEUDO_RD32 || htinst == HTINST_PSEUDO_WR32 ||
        htinst == HTINST_PSEUDO_RD64 || htinst == HTINST_PSEUDO_WR64)
        return INSN_HTINST_PSEUDO;
    if (htinst >> 32)
        return INSN_HTINST_INVALID;
    if (!(htinst & 0x1)) /* bits 1:0 = 00 but no pseudoinstruction, or 10 */
        return INSN_HTINST_INVALID;
    /* LOAD and STORE have bits 4:2 = 000: no 48-bit encoding gets through. */
    if (!decode_load_store((u32)htinst | 0x2, (htinst & 0x2) ? 4 : 2, &m))
        return INSN_HTINST_INVALID;
    *out = m;
    return INSN_HTINST_DECODED;
}

u64 insn_load_value(const struct mmio_insn *d, u64 raw)
{
    u64 sign = 1UL << (8 * d->size - 1);

    if (d->size >= 8)
        return raw;
    raw &= (sign << 1) - 1;
    return d->sign_extend ? (raw ^ sign) - sign : raw;
}

u64 insn_store_value(const struct mmio_insn *d, u64 reg)
{
    return d->size >= 8 ? reg : reg & ((1UL << (8 * d->size)) - 1);
}
