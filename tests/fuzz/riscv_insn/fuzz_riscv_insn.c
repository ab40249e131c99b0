/*
 * RISC-V load/store decoding (src/arch/riscv64/insn.c), fed random raw
 * instructions and htinst values.
 *
 * Each step of the input is a shape byte, a 32-bit instruction and a 64-bit
 * htinst value; the shape biases them towards what matters: the LOAD,
 * STORE, LOAD-FP, STORE-FP, AMO and SYSTEM opcodes, compressed quadrants 0
 * and 2, the htinst pseudoinstructions, and the transformed form of the
 * step's instruction (P 8.6.3). Checked for every value:
 *  - nothing crashes (ASan, UBSan);
 *  - an accepted raw decode has size 1/2/4/8, reg < 32, len 2 or 4 as bits
 *    1:0 say (11: 4, else 2), sign extension only on loads narrower than
 *    8 bytes; a 16-bit one decodes the same whatever bits 31:16 hold;
 *  - the decode agrees with a mask/match table written here from the RVC
 *    and RV64I listings (accepted iff listed, field by field);
 *  - a rejection leaves *out untouched;
 *  - insn_decode_htinst(): NONE only for 0, PSEUDO only for the four
 *    pseudoinstructions, DECODED only with bits 63:32 clear and bit 0 set,
 *    len 4 with bit 1 set and 2 without, and the same access as the raw
 *    decode of the value with bit 1 set; a transformed accepted 32-bit
 *    instruction decodes as the instruction itself.
 */
#include <string.h>

#include <arch/insn.h>

#include "fuzz_input.h"

static const struct mmio_insn sentinel = { 0xdead, true, true, 0xbeef, 0xf00d };

static bool same(const struct mmio_insn *a, const struct mmio_insn *b)
{
    return a->size == b->size && a->write == b->write && a->sign_extend == b->sign_extend &&
           a->reg == b->reg && a->len == b->len;
}

/* U 16.8 (RV64C quadrants 0 and 2) and U 24 (RV64I LOAD/STORE). */
static const struct listing {
    u32 mask, match;
    unsigned int size;
    bool write, sign, rd_nonzero;
    unsigned int reg_shift, reg_bits, reg_add, len;
} listing[] = {
    { 0xe003, 0x4000, 4, false, true, false, 2, 3, 8, 2 },  /* c.lw */
    { 0xe003, 0x6000, 8, false, false, false, 2, 3, 8, 2 }, /* c.ld */
    { 0xe003, 0xc000, 4, true, false, false, 2, 3, 8, 2 },  /* c.sw */
    { 0xe003, 0xe000, 8, true, false, false, 2, 3, 8, 2 },  /* c.sd */
    { 0xe003, 0x4002, 4, false, true, true, 7, 5, 0, 2 },   /* c.lwsp */
    { 0xe003, 0x6002, 8, false, false, true, 7, 5, 0, 2 },  /* c.ldsp */
    { 0xe003, 0xc002, 4, true, false, false, 2, 5, 0, 2 },  /* c.swsp */
    { 0xe003, 0xe002, 8, true, false, false, 2, 5, 0, 2 },  /* c.sdsp */
    { 0x707f, 0x0003, 1, false, true, false, 7, 5, 0, 4 },  /* lb */
    { 0x707f, 0x1003, 2, false, true, false, 7, 5, 0, 4 },  /* lh */
    { 0x707f, 0x2003, 4, false, true, false, 7, 5, 0, 4 },  /* lw */
    { 0x707f, 0x3003, 8, false, false, false, 7, 5, 0, 4 }, /* ld */
    { 0x707f, 0x4003, 1, false, false, false, 7, 5, 0, 4 }, /* lbu */
    { 0x707f, 0x5003, 2, false, false, false, 7, 5, 0, 4 }, /* lhu */
    { 0x707f, 0x6003, 4, false, false, false, 7, 5, 0, 4 }, /* lwu */
    { 0x707f, 0x0023, 1, true, false, false, 20, 5, 0, 4 }, /* sb */
    { 0x707f, 0x1023, 2, true, false, false, 20, 5, 0, 4 }, /* sh */
    { 0x707f, 0x2023, 4, true, false, false, 20, 5, 0, 4 }, /* sw */
    { 0x707f, 0x3023, 8, true, false, false, 20, 5, 0, 4 }, /* sd */
};

static bool listing_decode(u32 insn, struct mmio_insn *out)
{
    bool compressed = (insn & 3) != 3, hit = false;

    if (compressed)
        insn &= 0xffff;
    for (size_t i = 0; i < sizeof(listing) / sizeof(listing[0]); i++) {
        const struct listing *l = &listing[i];
        unsigned int reg;

        if ((l->len == 2) != compressed || (insn & l->mask) != l->match)
            continue;
        reg = ((insn >> l->reg_shift) & ((1u << l->reg_bits) - 1)) + l->reg_add;
        if (l->rd_nonzero && reg == 0)
            continue;
        FUZZ_CHECK(!hit, "%#x matches two listing entries", insn);
        hit = true;
        *out = (struct mmio_insn){ l->size, l->write, l->sign, reg, l->len };
    }
    return hit;
}

static void check_access(const struct mmio_insn *m, const char *what, unsigned long long v)
{
    FUZZ_CHECK(m->size == 1 || m->size == 2 || m->size == 4 || m->size == 8,
               "%s %#llx: size %u", what, v, m->size);
    FUZZ_CHECK(m->len == 2 || m->len == 4, "%s %#llx: len %u", what, v, m->len);
    FUZZ_CHECK(m->reg < 32, "%s %#llx: reg %u", what, v, m->reg);
    FUZZ_CHECK(!m->sign_extend || (!m->write && m->size < 8),
               "%s %#llx: sign extension on a store or an 8-byte load", what, v);
}

static void check_raw(u32 insn)
{
    struct mmio_insn m = sentinel, want = sentinel, hi = sentinel;
    bool ok = insn_decode_mmio(insn, &m), listed = listing_decode(insn, &want);

    FUZZ_CHECK(ok == listed, "raw %#x: decoder says %d, the listing %d", insn, ok, listed);
    if (!ok) {
        FUZZ_CHECK(same(&m, &sentinel), "raw %#x: rejected but *out written", insn);
        return;
    }
    check_access(&m, "raw", insn);
    FUZZ_CHECK(m.len == ((insn & 3) == 3 ? 4u : 2u), "raw %#x: len %u", insn, m.len);
    FUZZ_CHECK(same(&m, &want),
               "raw %#x: size %u write %d sign %d reg %u, listing %u %d %d %u", insn, m.size,
               m.write, m.sign_extend, m.reg, want.size, want.write, want.sign_extend, want.reg);
    if (m.len == 2) {
        FUZZ_CHECK(insn_decode_mmio(insn ^ 0xffff0000u, &hi) && same(&m, &hi),
                   "raw %#x: bits 31:16 changed a 16-bit decode", insn);
    }
}

static bool is_pseudo(u64 v)
{
    return v == 0x2000 || v == 0x2020 || v == 0x3000 || v == 0x3020;
}

static void check_htinst(u64 h)
{
    struct mmio_insn m = sentinel, raw = sentinel;
    enum insn_htinst_kind k = insn_decode_htinst(h, &m);
    unsigned long long v = (unsigned long long)h;

    FUZZ_CHECK(k == INSN_HTINST_NONE || k == INSN_HTINST_DECODED || k == INSN_HTINST_PSEUDO ||
                   k == INSN_HTINST_INVALID,
               "htinst %#llx: kind %d", v, (int)k);
    FUZZ_CHECK((k == INSN_HTINST_NONE) == (h == 0), "htinst %#llx: kind %d", v, (int)k);
    FUZZ_CHECK((k == INSN_HTINST_PSEUDO) == is_pseudo(h), "htinst %#llx: kind %d", v, (int)k);
    if (k != INSN_HTINST_DECODED) {
        FUZZ_CHECK(same(&m, &sentinel), "htinst %#llx: kind %d but *out written", v, (int)k);
        /* a valid 32-bit-form load/store with bit 0 set must not be lost */
        if (!(h >> 32) && (h & 1))
            FUZZ_CHECK(!insn_decode_mmio((u32)h | 2, &raw),
                       "htinst %#llx: a load/store, kind %d", v, (int)k);
        return;
    }
    check_access(&m, "htinst", v);
    FUZZ_CHECK(!(h >> 32) && (h & 1), "htinst %#llx decoded", v);
    FUZZ_CHECK(m.len == ((h & 2) ? 4u : 2u), "htinst %#llx: len %u", v, m.len);
    FUZZ_CHECK(insn_decode_mmio((u32)h | 2, &raw), "htinst %#llx: no load/store", v);
    raw.len = m.len;
    FUZZ_CHECK(same(&m, &raw), "htinst %#llx: differs from the raw decode", v);
    FUZZ_CHECK(insn_htinst_addr_offset(h) == ((h >> 15) & 0x1f), "htinst %#llx: offset", v);
}

/* P 8.6.3: zero the imm fields, put the Addr. Offset in rs1, clear bit 1 for
 * a compressed original. */
static u32 transform(u32 insn32, unsigned int offset, bool compressed)
{
    u32 t = insn32;

    switch (t & 0x7f) {
    case 0x03:
    case 0x07:
        t &= ~0xfff00000u;
        break;
    case 0x23:
    case 0x27:
        t &= ~0xfe000f80u;
        break;
    default:
        break;
    }
    t = (t & ~(0x1fu << 15)) | (offset & 0x1f) << 15;
    return compressed ? t & ~2u : t;
}

static const u32 opcodes[] = { 0x03, 0x23, 0x07, 0x27, 0x2f, 0x73, 0x0f, 0x13, 0x63, 0x0b };
static const u64 pseudo[] = { 0x2000, 0x2020, 0x3000, 0x3020 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };

    while (!fin_done(&in)) {
        u8 shape = fin_u8(&in);
        u32 insn = fin_u32(&in);
        u64 h = fin_u64(&in);
        struct mmio_insn m, t;

        if (shape & 1) /* a 32-bit instruction with an interesting opcode */
            insn = (insn & ~0x7fu) | opcodes[(shape >> 4) % (sizeof(opcodes) / sizeof(opcodes[0]))];
        else if (shape & 2) /* a 16-bit one in quadrant 0 or 2 */
            insn = (insn & ~3u) | ((shape >> 4) & 2);
        check_raw(insn);

        switch ((shape >> 2) & 3) {
        case 0: /* as read */
            break;
        case 1: /* a pseudoinstruction, now and then with a bit flipped */
            h = pseudo[h & 3] ^ ((shape & 0x80) ? 1ULL << ((h >> 2) & 63) : 0);
            break;
        case 2: /* the transformed form of this step's instruction */
            if ((insn & 3) == 3) {
                u32 x = transform(insn, (unsigned int)h, shape & 0x40);
                h = (shape & 0x80) ? x | (h & ~0xffffffffULL) : x;
                /* an accepted 32-bit instruction transformed decodes as itself */
                if (!(shape & 0x80) && !(shape & 0x40) && insn_decode_mmio(insn, &m)) {
                    FUZZ_CHECK(insn_decode_htinst(h, &t) == INSN_HTINST_DECODED && same(&m, &t),
                               "raw %#x transformed to %#llx: not the same access", insn,
                               (unsigned long long)h);
                }
            }
            break;
        case 3: /* 32 bits, bit 0 set */
            h = (u32)h | 1;
            break;
        }
        check_htinst(h);
    }
    return 0;
}
