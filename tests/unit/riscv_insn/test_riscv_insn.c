/*
 * Host unit tests for src/arch/riscv64/insn.c: a trapped RISC-V guest
 * load/store, read from memory or taken from htinst, to an MMIO access.
 *
 * The encodings come from riscv_insn_vectors.h, which gen_vectors.sh makes
 * with the real assembler; the expected decode there is the ISA's. The
 * htinst forms are built here from those encodings by the transformation
 * rules of the privileged spec (P 8.6.3, see transform() below). Last, a
 * small mask/match table written from the RVC and RV64I listings checks
 * every 16-bit encoding and every opcode/funct3 combination of 32-bit ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <arch/insn.h>

#include "riscv_insn_vectors.h"

/* What the decoder must not touch on a rejection. */
static const struct mmio_insn sentinel = { 0xdead, true, true, 0xbeef, 0xf00d };

static bool same(const struct mmio_insn *a, const struct mmio_insn *b)
{
    return a->size == b->size && a->write == b->write && a->sign_extend == b->sign_extend &&
           a->reg == b->reg && a->len == b->len;
}

static void expect_vector(const struct rv_accept_vector *v, const struct mmio_insn *m,
                          const char *how)
{
    if (m->size != v->size || m->write != v->write || m->sign_extend != v->sign_extend ||
        m->reg != v->reg || m->len != v->len) {
        fail_msg("%s (%s): size %u write %d sign %d reg %u len %u, expected %u %d %d %u %u",
                 v->text, how, m->size, m->write, m->sign_extend, m->reg, m->len, v->size,
                 v->write, v->sign_extend, v->reg, v->len);
    }
}

/*
 * htinst's transformed form of a 32-bit load/store/atomic, P 8.6.3: for a
 * load (I-type: LOAD, LOAD-FP) imm[11:0] in bits 31:20 becomes 0; for a store
 * (S-type: STORE, STORE-FP) imm[11:5] in 31:25 and imm[4:0] in 11:7 become 0;
 * for every one, rs1 (19:15) becomes the Addr. Offset. A compressed original
 * is expanded first (insn32 of the vectors) and bit 1 is cleared last.
 */
static u32 transform(u32 insn32, unsigned int addr_offset, bool compressed)
{
    u32 t = insn32;

    switch (t & 0x7f) {
    case 0x03: /* LOAD */
    case 0x07: /* LOAD-FP */
        t &= ~0xfff00000u;
        break;
    case 0x23: /* STORE */
    case 0x27: /* STORE-FP */
        t &= ~(0xfe000000u | 0x00000f80u);
        break;
    default: /* AMO, LR/SC, HLV/HLVX/HSV: every field kept but rs1 */
        break;
    }
    t = (t & ~(0x1fu << 15)) | ((addr_offset & 0x1f) << 15);
    if (compressed)
        t &= ~0x2u;
    return t;
}

static const unsigned int offsets[] = { 0, 1, 3, 7, 31 };

/* ---- raw instructions ---- */

static void test_accept_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_accept_vectors); i++) {
        const struct rv_accept_vector *v = &rv_accept_vectors[i];
        struct mmio_insn m = sentinel;

        if (!insn_decode_mmio(v->insn, &m))
            fail_msg("%s (%#x) rejected", v->text, v->insn);
        expect_vector(v, &m, "raw");
    }
}

/* Only bits 15:0 of a 16-bit instruction count: Keel may not read further. */
static void test_compressed_ignores_upper_half(void **state)
{
    static const u32 tops[] = { 0x0000, 0xffff, 0x0003, 0xdead };
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_accept_vectors); i++) {
        const struct rv_accept_vector *v = &rv_accept_vectors[i];

        if (v->len != 2)
            continue;
        assert_int_equal(v->insn >> 16, 0);
        for (size_t t = 0; t < ARRAY_SIZE(tops); t++) {
            struct mmio_insn m = sentinel;

            assert_true(insn_decode_mmio(v->insn | tops[t] << 16, &m));
            expect_vector(v, &m, "upper half set");
        }
        n++;
    }
    assert_true(n >= 8 * 4); /* every compressed kind, several of each */
}

static void test_reject_vectors(void **state)
{
    size_t classes = 0;
    const char *last = "";

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_reject_vectors); i++) {
        const struct rv_reject_vector *v = &rv_reject_vectors[i];
        struct mmio_insn m = sentinel;

        if (insn_decode_mmio(v->insn, &m))
            fail_msg("%s (%s, %#x) accepted as size %u reg %u", v->text, v->class, v->insn,
                     m.size, m.reg);
        assert_true(same(&m, &sentinel));
        if (strcmp(v->class, last)) {
            classes++;
            last = v->class;
        }
    }
    assert_int_equal(classes, 8); /* amo fp hyp vector cbo alu branch system */
}

/* Reserved and extension encodings the assembler will not produce. */
static void test_reject_reserved(void **state)
{
    static const struct {
        const char *what;
        u32 insn;
    } bad[] = {
        { "0x0000, the defined illegal instruction", 0x0000 },
        { "0xffffffff (bits 4:2 = 111: 48 bits or longer)", 0xffffffff },
        { "48-bit prefix (bits 5:0 = 011111)", 0x0000001f },
        { "64-bit prefix (bits 6:0 = 0111111)", 0x0000003f },
        { "LOAD with bits 4:2 = 111 is no LOAD", 0x00002003 | 0x1c },
        { "LOAD funct3 111 (reserved; LDU in RV128)", 0x00007003 },
        { "STORE funct3 100 (SQ in RV128)", 0x00004023 },
        { "STORE funct3 101", 0x00005023 },
        { "STORE funct3 110", 0x00006023 },
        { "STORE funct3 111", 0x00007023 },
        { "C.LWSP x0 (reserved)", 0x4002 },
        { "C.LWSP x0, 252(sp) (reserved)", 0x4002 | 0x107c },
        { "C.LDSP x0 (reserved)", 0x6002 },
        { "C.LDSP x0, 504(sp) (reserved)", 0x6002 | 0x107c },
        { "quadrant 0 funct3 100 (reserved in RV64C)", 0x8000 },
        { "Zcb C.LBU x8, 1(x9)", 0x80c0 },
        { "Zcb C.LHU x8, 0(x9)", 0x8480 },
        { "Zcb C.LH x8, 0(x9)", 0x84c0 },
        { "Zcb C.SB x8, 0(x9)", 0x8880 },
        { "Zcb C.SH x8, 0(x9)", 0x8c80 },
        { "custom-0", 0x0000000b },
        { "custom-1", 0x0000202b },
        { "MISC-MEM (FENCE) with a load's funct3", 0x0000200f },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct mmio_insn m = sentinel;

        if (insn_decode_mmio(bad[i].insn, &m))
            fail_msg("%s (%#x) accepted", bad[i].what, bad[i].insn);
        assert_true(same(&m, &sentinel));
    }
}

/* C.LWSP/C.LDSP need rd != 0; their store forms may store x0. */
static void test_sp_forms_register_x0(void **state)
{
    struct mmio_insn m = sentinel;

    (void)state;
    assert_false(insn_decode_mmio(0x4002, &m)); /* c.lwsp x0, 0(sp) */
    assert_true(insn_decode_mmio(0x4082, &m));  /* c.lwsp x1, 0(sp) */
    assert_int_equal(m.reg, 1);
    assert_true(insn_decode_mmio(0xc002, &m)); /* c.swsp x0, 0(sp) */
    assert_int_equal(m.reg, 0);
    assert_true(m.write);
    /* a 32-bit load into x0 is a valid instruction: decoded, the caller drops it */
    assert_true(insn_decode_mmio(0x00052003, &m)); /* lw x0, 0(x10) */
    assert_int_equal(m.reg, 0);
    assert_false(m.write);
}

/* The accepted set covers each instruction kind with the sizes the ISA gives it. */
static void test_vector_coverage(void **state)
{
    unsigned int seen[2][2][9] = { { { 0 } } }; /* [len == 4][write][size] */
    unsigned int regs = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_accept_vectors); i++) {
        const struct rv_accept_vector *v = &rv_accept_vectors[i];

        seen[v->len == 4][v->write][v->size]++;
        regs |= 1u << (v->reg & 31);
    }
    for (unsigned int s = 1; s <= 8; s *= 2) {
        assert_true(seen[1][0][s] > 0); /* LB LH LW LD */
        assert_true(seen[1][1][s] > 0); /* SB SH SW SD */
    }
    assert_true(seen[0][0][4] > 0 && seen[0][0][8] > 0); /* C.LW(SP) C.LD(SP) */
    assert_true(seen[0][1][4] > 0 && seen[0][1][8] > 0); /* C.SW(SP) C.SD(SP) */
    assert_true(regs & (1u << 0) && regs & (1u << 1) && regs & (1u << 2));
    assert_true(regs & (1u << 8) && regs & (1u << 15) && regs & (1u << 31));
}

/* ---- htinst ---- */

static void test_htinst_zero(void **state)
{
    struct mmio_insn m = sentinel;

    (void)state;
    assert_int_equal(insn_decode_htinst(0, &m), INSN_HTINST_NONE);
    assert_true(same(&m, &sentinel));
}

static void test_htinst_transformed_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_accept_vectors); i++) {
        const struct rv_accept_vector *v = &rv_accept_vectors[i];

        for (size_t o = 0; o < ARRAY_SIZE(offsets); o++) {
            u32 t = transform(v->insn32, offsets[o], v->len == 2);
            struct mmio_insn m = sentinel;
            enum insn_htinst_kind k = insn_decode_htinst(t, &m);

            if (k != INSN_HTINST_DECODED)
                fail_msg("%s: htinst %#x gave kind %d", v->text, t, k);
            expect_vector(v, &m, "htinst");
            assert_int_equal(insn_htinst_addr_offset(t), offsets[o]);
            /* bits 1:0 say 01 for a compressed original, 11 for a 32-bit one */
            assert_int_equal(t & 3, v->len == 2 ? 1 : 3);
        }
    }
}

/* P 8.6.3: "it is not necessary to confirm also that the immediate offset
 * fields ... are zeros"; future versions may put hints there. */
static void test_htinst_ignores_imm_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_accept_vectors); i++) {
        const struct rv_accept_vector *v = &rv_accept_vectors[i];
        u32 imm_bits = v->write ? 0xfe000f80u : 0xfff00000u;
        u32 t = transform(v->insn32, 5, v->len == 2) | imm_bits;
        struct mmio_insn m = sentinel;

        assert_int_equal(insn_decode_htinst(t, &m), INSN_HTINST_DECODED);
        expect_vector(v, &m, "htinst with imm bits set");
    }
}

/* P 8.6.3: bits 63:32 must be zero for bits 31:0 to be read as an instruction. */
static void test_htinst_upper_bits(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_accept_vectors); i++) {
        const struct rv_accept_vector *v = &rv_accept_vectors[i];
        u64 t = transform(v->insn32, 0, v->len == 2);

        for (unsigned int b = 32; b < 64; b += 7) {
            struct mmio_insn m = sentinel;

            assert_int_equal(insn_decode_htinst(t | 1ULL << b, &m), INSN_HTINST_INVALID);
            assert_true(same(&m, &sentinel));
        }
    }
}

static bool is_pseudo(u64 v)
{
    return v == 0x2000 || v == 0x2020 || v == 0x3000 || v == 0x3020;
}

/*
 * Bits 1:0 = 10 is never allocated; 00 is only the four pseudoinstructions.
 * Those are, by design, the transformed "lw/sw/ld/sd x0" with bits 1:0
 * cleared, so a transformed load into x0 (or store of x0) of 4 or 8 bytes,
 * its bits 1:0 cleared, is a pseudoinstruction (and "lb x0" becomes 0).
 */
static void test_htinst_low_bits(void **state)
{
    unsigned int pseudo = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_accept_vectors); i++) {
        const struct rv_accept_vector *v = &rv_accept_vectors[i];
        u32 t = transform(v->insn32, 0, false);
        struct mmio_insn m = sentinel;

        assert_int_equal(insn_decode_htinst((t & ~3u) | 2, &m), INSN_HTINST_INVALID);
        if ((t & ~3u) == 0) { /* transformed "lb x0": 0x00000003 */
            assert_true(v->reg == 0 && v->size == 1 && v->sign_extend);
            assert_int_equal(insn_decode_htinst(t & ~3u, &m), INSN_HTINST_NONE);
        } else if (is_pseudo(t & ~3u)) {
            assert_true(v->reg == 0 && v->size >= 4);
            assert_int_equal(insn_decode_htinst(t & ~3u, &m), INSN_HTINST_PSEUDO);
            pseudo++;
        } else {
            assert_int_equal(insn_decode_htinst(t & ~3u, &m), INSN_HTINST_INVALID);
        }
        assert_true(same(&m, &sentinel));
    }
    assert_true(pseudo > 0);
}

static void test_htinst_pseudo(void **state)
{
    static const u64 pseudo[] = { 0x00002000, 0x00002020, 0x00003000, 0x00003020 };
    static const u64 not_pseudo[] = {
        0x00001000, 0x00000020, 0x00003040, 0x00002010, 0x00003820,
        0x100003000ULL, 0x8000000000003020ULL, 0x00003010, 0x00007000,
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(pseudo); i++) {
        struct mmio_insn m = sentinel;

        assert_int_equal(insn_decode_htinst(pseudo[i], &m), INSN_HTINST_PSEUDO);
        assert_true(same(&m, &sentinel));
    }
    for (size_t i = 0; i < ARRAY_SIZE(not_pseudo); i++) {
        struct mmio_insn m = sentinel;

        assert_int_equal(insn_decode_htinst(not_pseudo[i], &m), INSN_HTINST_INVALID);
        assert_true(same(&m, &sentinel));
    }
}

/* P 8.6.3 pairs the pseudoinstructions with "lw x0,0(x0)" etc.: with bits
 * 1:0 = 11 those are real transformed loads/stores, not pseudoinstructions. */
static void test_htinst_pseudo_basis(void **state)
{
    struct mmio_insn m = sentinel;

    (void)state;
    assert_int_equal(insn_decode_htinst(0x00002003, &m), INSN_HTINST_DECODED);
    assert_true(m.size == 4 && !m.write && m.sign_extend && m.reg == 0 && m.len == 4);
    assert_int_equal(insn_decode_htinst(0x00003023, &m), INSN_HTINST_DECODED);
    assert_true(m.size == 8 && m.write && m.reg == 0 && m.len == 4);
    assert_int_equal(insn_decode_htinst(0x00003021, &m), INSN_HTINST_DECODED); /* compressed SD */
    assert_true(m.size == 8 && m.write && m.len == 2);
}

/* Transformed AMOs, LR/SC, FP and hypervisor loads/stores: not emulated. */
static void test_htinst_transformed_rejects(void **state)
{
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rv_reject_vectors); i++) {
        const struct rv_reject_vector *v = &rv_reject_vectors[i];
        bool compressed = (v->insn & 3) != 3;

        if (!v->insn32)
            continue;
        for (size_t o = 0; o < ARRAY_SIZE(offsets); o++) {
            u32 t = transform(v->insn32, offsets[o], compressed);
            struct mmio_insn m = sentinel;
            enum insn_htinst_kind k = insn_decode_htinst(t, &m);

            if (k != INSN_HTINST_INVALID)
                fail_msg("%s: htinst %#x gave kind %d", v->text, t, k);
            assert_true(same(&m, &sentinel));
        }
        n++;
    }
    assert_true(n > 100);
}

static void test_htinst_custom(void **state)
{
    static const u64 custom[] = { 0x0000000b, 0x0000202b, 0x0000305b, 0x0000007b, 0x00000009 };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(custom); i++) {
        struct mmio_insn m = sentinel;

        assert_int_equal(insn_decode_htinst(custom[i], &m), INSN_HTINST_INVALID);
        assert_true(same(&m, &sentinel));
    }
}

/* ---- the whole encoding space against the listings ---- */

/*
 * The accepted instructions as mask/match pairs, written from U 16.8
 * (Tables 16.5, 16.7, RV64C) and U 24 (RV64I): reg is taken from bits
 * reg_shift.. (reg_bits wide, plus reg_add). Exactly one entry matches an
 * accepted instruction; none matches a rejected one.
 */
static const struct listing {
    const char *name;
    u32 mask, match;
    unsigned int size;
    bool write, sign, rd_nonzero;
    unsigned int reg_shift, reg_bits, reg_add, len;
} listing[] = {
    { "c.lw", 0xe003, 0x4000, 4, false, true, false, 2, 3, 8, 2 },
    { "c.ld", 0xe003, 0x6000, 8, false, false, false, 2, 3, 8, 2 },
    { "c.sw", 0xe003, 0xc000, 4, true, false, false, 2, 3, 8, 2 },
    { "c.sd", 0xe003, 0xe000, 8, true, false, false, 2, 3, 8, 2 },
    { "c.lwsp", 0xe003, 0x4002, 4, false, true, true, 7, 5, 0, 2 },
    { "c.ldsp", 0xe003, 0x6002, 8, false, false, true, 7, 5, 0, 2 },
    { "c.swsp", 0xe003, 0xc002, 4, true, false, false, 2, 5, 0, 2 },
    { "c.sdsp", 0xe003, 0xe002, 8, true, false, false, 2, 5, 0, 2 },
    { "lb", 0x707f, 0x0003, 1, false, true, false, 7, 5, 0, 4 },
    { "lh", 0x707f, 0x1003, 2, false, true, false, 7, 5, 0, 4 },
    { "lw", 0x707f, 0x2003, 4, false, true, false, 7, 5, 0, 4 },
    { "ld", 0x707f, 0x3003, 8, false, false, false, 7, 5, 0, 4 },
    { "lbu", 0x707f, 0x4003, 1, false, false, false, 7, 5, 0, 4 },
    { "lhu", 0x707f, 0x5003, 2, false, false, false, 7, 5, 0, 4 },
    { "lwu", 0x707f, 0x6003, 4, false, false, false, 7, 5, 0, 4 },
    { "sb", 0x707f, 0x0023, 1, true, false, false, 20, 5, 0, 4 },
    { "sh", 0x707f, 0x1023, 2, true, false, false, 20, 5, 0, 4 },
    { "sw", 0x707f, 0x2023, 4, true, false, false, 20, 5, 0, 4 },
    { "sd", 0x707f, 0x3023, 8, true, false, false, 20, 5, 0, 4 },
};

/* What the listing says of insn (its length decided by bits 1:0 as in U 1.5). */
static bool listing_decode(u32 insn, struct mmio_insn *out)
{
    bool compressed = (insn & 3) != 3;
    const struct listing *hit = NULL;

    if (compressed)
        insn &= 0xffff;
    for (size_t i = 0; i < ARRAY_SIZE(listing); i++) {
        const struct listing *l = &listing[i];
        unsigned int reg;

        if ((l->len == 2) != compressed || (insn & l->mask) != l->match)
            continue;
        reg = ((insn >> l->reg_shift) & ((1u << l->reg_bits) - 1)) + l->reg_add;
        if (l->rd_nonzero && reg == 0)
            continue;
        assert_null(hit);
        hit = l;
        *out = (struct mmio_insn){ l->size, l->write, l->sign, reg, l->len };
    }
    return hit != NULL;
}

static void check_against_listing(u32 insn)
{
    struct mmio_insn want = sentinel, got = sentinel;
    bool w = listing_decode(insn, &want), g = insn_decode_mmio(insn, &got);

    if (w != g || !same(&want, &got))
        fail_msg("%#010x: decoder %d (size %u write %d sign %d reg %u len %u), listing %d "
                 "(size %u write %d sign %d reg %u len %u)",
                 insn, g, got.size, got.write, got.sign_extend, got.reg, got.len, w, want.size,
                 want.write, want.sign_extend, want.reg, want.len);
}

/*
 * What each width moves (unprivileged spec 2.6): LB/LH/LW sign-extend,
 * LBU/LHU/LWU zero-extend, LD takes all 64 bits; a store keeps the low
 * size bytes of its register. Decoded from real encodings: lb/lbu/lh/lhu/
 * lw/lwu/ld a0, 0(a1), c.lw, and sb/sh/sw/sd a0, 0(a1).
 */
static void test_load_and_store_values(void **state)
{
    static const struct { u32 insn; u64 raw, want; } loads[] = {
        { 0x00058503, 0x80, 0xffffffffffffff80UL },       /* lb */
        { 0x00058503, 0x7f, 0x7f },
        { 0x00058503, 0xabcd80, 0xffffffffffffff80UL },   /* lb: bits above ignored */
        { 0x0005c503, 0x80, 0x80 },                       /* lbu */
        { 0x00059503, 0x8001, 0xffffffffffff8001UL },     /* lh */
        { 0x0005d503, 0x8001, 0x8001 },                   /* lhu */
        { 0x0005a503, 0x80000000, 0xffffffff80000000UL }, /* lw */
        { 0x0005e503, 0x80000000, 0x80000000 },           /* lwu */
        { 0x0005b503, 0x8000000000000001UL, 0x8000000000000001UL }, /* ld */
        { 0x4188, 0xfffffffe, 0xfffffffffffffffeUL },     /* c.lw a0, 0(a1) */
    };
    static const struct { u32 insn; u64 reg, want; } stores[] = {
        { 0x00a58023, 0x1122334455667788UL, 0x88 },                  /* sb */
        { 0x00a59023, 0x1122334455667788UL, 0x7788 },                /* sh */
        { 0x00a5a023, 0x1122334455667788UL, 0x55667788 },            /* sw */
        { 0x00a5b023, 0x1122334455667788UL, 0x1122334455667788UL }, /* sd */
    };
    struct mmio_insn d;

    (void)state;
    for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
        assert_true(insn_decode_mmio(loads[i].insn, &d));
        assert_false(d.write);
        assert_int_equal(insn_load_value(&d, loads[i].raw), loads[i].want);
    }
    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
        assert_true(insn_decode_mmio(stores[i].insn, &d));
        assert_true(d.write);
        assert_int_equal(insn_store_value(&d, stores[i].reg), stores[i].want);
    }
}

static void test_all_16bit_encodings(void **state)
{
    unsigned int accepted = 0;

    (void)state;
    for (u32 insn = 0; insn < 0x10000; insn++) {
        struct mmio_insn m;

        if ((insn & 3) == 3)
            continue;
        check_against_listing(insn);
        accepted += insn_decode_mmio(insn, &m);
    }
    /* 8 formats with 11 free bits each, less rd=x0 of C.LWSP/C.LDSP (6 free bits) */
    assert_int_equal(accepted, 8 * 2048 - 2 * 64);
}

/* Every opcode and funct3 of a 32-bit instruction, with the other bits
 * all clear, all set, and pseudo-random. */
static void test_32bit_opcode_funct3_space(void **state)
{
    u32 x = 0x12345678;
    unsigned int accepted = 0;

    (void)state;
    for (u32 op = 0; op < 0x80; op++) {
        for (u32 f3 = 0; f3 < 8; f3++) {
            u32 base = op | f3 << 12;

            for (unsigned int r = 0; r < 66; r++) {
                u32 other = r == 0 ? 0 : r == 1 ? ~0u : (x = x * 1664525u + 1013904223u);
                u32 insn = base | (other & ~0x707fu);
                struct mmio_insn m;

                if ((insn & 3) != 3)
                    continue;
                check_against_listing(insn);
                accepted += insn_decode_mmio(insn, &m);
            }
        }
    }
    assert_int_equal(accepted, 11 * 66); /* 7 loads + 4 stores */
}

/* htinst over the same space: bit 1 set (32-bit original) or clear
 * (compressed), decoded like the 32-bit instruction with bit 1 set. */
static void test_htinst_opcode_funct3_space(void **state)
{
    u32 x = 0x9abcdef0;

    (void)state;
    for (u32 op = 0; op < 0x80; op++) {
        for (u32 f3 = 0; f3 < 8; f3++) {
            for (unsigned int r = 0; r < 34; r++) {
                u32 other = r == 0 ? 0 : r == 1 ? ~0u : (x = x * 1664525u + 1013904223u);
                u32 t = (op | f3 << 12) | (other & ~0x707fu);
                struct mmio_insn want = sentinel, got = sentinel;
                enum insn_htinst_kind k = insn_decode_htinst(t, &got);
                bool listed = (t & 1) && listing_decode(t | 2, &want);

                if (t == 0) {
                    assert_int_equal(k, INSN_HTINST_NONE);
                    continue;
                }
                if (is_pseudo(t)) {
                    assert_int_equal(k, INSN_HTINST_PSEUDO);
                    continue;
                }
                want.len = (t & 2) ? 4 : 2;
                if (listed != (k == INSN_HTINST_DECODED) || (listed && !same(&want, &got)))
                    fail_msg("htinst %#010x: kind %d, listing says %d", t, k, listed);
                if (!listed)
                    assert_int_equal(k, INSN_HTINST_INVALID);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_vectors),
        cmocka_unit_test(test_compressed_ignores_upper_half),
        cmocka_unit_test(test_reject_vectors),
        cmocka_unit_test(test_reject_reserved),
        cmocka_unit_test(test_sp_forms_register_x0),
        cmocka_unit_test(test_vector_coverage),
        cmocka_unit_test(test_htinst_zero),
        cmocka_unit_test(test_htinst_transformed_vectors),
        cmocka_unit_test(test_htinst_ignores_imm_fields),
        cmocka_unit_test(test_htinst_upper_bits),
        cmocka_unit_test(test_htinst_low_bits),
        cmocka_unit_test(test_htinst_pseudo),
        cmocka_unit_test(test_htinst_pseudo_basis),
        cmocka_unit_test(test_htinst_transformed_rejects),
        cmocka_unit_test(test_htinst_custom),
        cmocka_unit_test(test_load_and_store_values),
        cmocka_unit_test(test_all_16bit_encodings),
        cmocka_unit_test(test_32bit_opcode_funct3_space),
        cmocka_unit_test(test_htinst_opcode_funct3_space),
    };

    printf("riscv_insn: %zu accepted and %zu rejected assembler vectors\n",
           ARRAY_SIZE(rv_accept_vectors), ARRAY_SIZE(rv_reject_vectors));
    return cmocka_run_group_tests_name("riscv_insn", tests, NULL, NULL);
}
