/*
 * The virtual hart (src/arch/riscv64m/vhart.c) on the host: the WARL rule
 * of every CSR it has, CSR access by privilege, the trapped SYSTEM
 * instructions (Zicsr, mret, sret, wfi, sfence.vma) with TVM/TSR/TW,
 * trap delivery and delegation, interrupt selection, the VH_* effects, and
 * xv6-riscv's boot sequence as a whole. Section numbers: privileged spec 1.12.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arch/vhart.h>
#include <arch/mcsr.h>
#include <arch/pmp.h>

/* Integer register numbers (ABI names) */
enum { ZERO, RA, SP, GP, TP, T0, T1, T2, S0, S1, A0, A1, A2, A3, A4, A5 };

#define HARTID 7
#define ENTRY 0x80000000UL
#define MISA_LETTERS(s) misa_letters(s)

static struct vhart h;
static u64 x[32];
static u64 fence_va, fence_asid;

/* The real hart's counters, as vhart.c asks for them: a clock the tests move */
static u64 real_cycle, real_time, real_instret;

u64 vhart_real_counter(unsigned int csr)
{
    switch (csr) {
    case CSR_CYCLE:   return real_cycle;
    case CSR_TIME:    return real_time;
    case CSR_INSTRET: return real_instret;
    }
    fail_msg("vhart_real_counter(%#x): not a counter", csr);
    return 0;
}

static u64 misa_letters(const char *s)
{
    u64 m = 0;

    for (; *s; s++)
        m |= MISA_EXT(*s);
    return m;
}

/* The real hart: rv64 with H, V and B, all of which the guest must not see */
#define REAL_MISA (MISA_MXL_64 | MISA_LETTERS("ABCDFHIMSUV"))

static void reset_with(u64 real_misa)
{
    vhart_reset(&h, HARTID, real_misa, ENTRY);
    memset(x, 0, sizeof(x));
    fence_va = fence_asid = 0x5a5a;
    real_cycle = 1000000;
    real_time = 5000;
    real_instret = 400000;
}

static int setup(void **state)
{
    (void)state;
    reset_with(REAL_MISA);
    return 0;
}

/* ---- encodings (Zicsr, privileged Table 9.1) ---- */

static u32 csr_insn(unsigned int funct3, unsigned int rd, unsigned int csr, unsigned int rs1)
{
    return csr << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | 0x73;
}

#define CSRRW(rd, csr, rs1) csr_insn(1, rd, csr, rs1)
#define CSRRS(rd, csr, rs1) csr_insn(2, rd, csr, rs1)
#define CSRRC(rd, csr, rs1) csr_insn(3, rd, csr, rs1)
#define CSRRWI(rd, csr, uimm) csr_insn(5, rd, csr, uimm)
#define CSRRSI(rd, csr, uimm) csr_insn(6, rd, csr, uimm)
#define CSRRCI(rd, csr, uimm) csr_insn(7, rd, csr, uimm)
#define MRET 0x30200073u
#define SRET 0x10200073u
#define WFI 0x10500073u
#define SFENCE_VMA(rs1, rs2) (0x12000073u | (rs2) << 20 | (rs1) << 15)

static unsigned int run(u32 insn)
{
    return vhart_emulate(&h, x, insn, &fence_va, &fence_asid);
}

/* A CSR as M reads it, whatever the current privilege */
static u64 peek(unsigned int csr)
{
    enum vpriv priv = h.priv;
    u64 v = 0xdeadbeef;

    h.priv = VPRIV_M;
    assert_int_equal(vhart_csr_read(&h, csr, &v), 0);
    h.priv = priv;
    return v;
}

static unsigned int poke(unsigned int csr, u64 val)
{
    unsigned int effects = 0xdead;

    assert_int_equal(vhart_csr_write(&h, csr, val, &effects), 0);
    return effects;
}

/* M writes @csr at once, whatever the current privilege; returns what it reads back */
static u64 poke_m(unsigned int csr, u64 val)
{
    enum vpriv priv = h.priv;

    h.priv = VPRIV_M;
    poke(csr, val);
    h.priv = priv;
    return peek(csr);
}

/*
 * @insn must raise an illegal-instruction exception taken to M: nothing but
 * the trap CSRs, mstatus's stack, pc and priv change, and no register.
 */
static void assert_illegal(u32 insn)
{
    u64 pc = h.pc, saved[32];
    enum vpriv priv = h.priv;

    memcpy(saved, x, sizeof(x));
    h.csr.mtvec = 0x80000100;
    assert_true(run(insn) & VH_TRAP);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.pc, 0x80000100);
    assert_int_equal(h.csr.mcause, EXC_ILLEGAL_INST);
    assert_int_equal(h.csr.mtval, insn);
    assert_int_equal(h.csr.mepc, pc);
    assert_int_equal((h.csr.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT, priv);
    assert_memory_equal(saved, x, sizeof(x));
    /* back where it was, for the next check */
    h.priv = priv;
    h.pc = pc;
}

/* @insn executes: pc moves on by 4 */
static unsigned int assert_runs(u32 insn)
{
    u64 pc = h.pc;
    unsigned int effects = run(insn);

    assert_false(effects & VH_TRAP);
    assert_int_equal(h.pc, pc + 4);
    return effects;
}

/* The assembler's words (riscv64-linux-gnu-as -march=rv64imac_zicsr) for the encoders above */
static void test_encodings_match_assembler(void **state)
{
    assert_int_equal(CSRRW(A0, CSR_MSCRATCH, A1), 0x34059573);
    assert_int_equal(CSRRS(A0, CSR_MHARTID, ZERO), 0xf1402573);   /* csrr a0, mhartid */
    assert_int_equal(CSRRW(ZERO, CSR_SATP, A0), 0x18051073);      /* csrw satp, a0 */
    assert_int_equal(CSRRS(T0, CSR_SSTATUS, T1), 0x100322f3);
    assert_int_equal(CSRRC(ZERO, CSR_MIE, A2), 0x30463073);       /* csrc mie, a2 */
    assert_int_equal(CSRRWI(A3, CSR_MTVEC, 5), 0x3052d6f3);
    assert_int_equal(CSRRSI(ZERO, CSR_SIE, 2), 0x10416073);       /* csrsi sie, 2 */
    assert_int_equal(CSRRCI(A4, CSR_MSTATUS, 8), 0x30047773);
    assert_int_equal(CSRRW(ZERO, CSR_SIP, A1), 0x14459073);       /* csrw sip, a1 */
    assert_int_equal(SFENCE_VMA(ZERO, ZERO), 0x12000073);
    assert_int_equal(SFENCE_VMA(A0, A1), 0x12b50073);
    assert_int_equal(SFENCE_VMA(ZERO, T2), 0x12700073);
}

/* ---- reset and the read-only information CSRs ---- */

static void test_reset(void **state)
{
    h.csr.mscratch = 1;
    h.lines = MIP_MTIP;
    h.priv = VPRIV_U;
    vhart_reset(&h, HARTID, REAL_MISA, ENTRY);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.pc, ENTRY);
    assert_int_equal(h.lines, 0);
    assert_int_equal(peek(CSR_MSCRATCH), 0);
    /* MXL = 64, IMAFDC of the real hart and S, U; no H, V, B */
    assert_int_equal(peek(CSR_MISA), MISA_MXL_64 | MISA_LETTERS("ACDFIMSU"));
    /* SXL = UXL = 2 (64-bit), all else 0 */
    assert_int_equal(peek(CSR_MSTATUS), MSTATUS_SXL_64 | MSTATUS_UXL_64);
    assert_int_equal(peek(CSR_MHARTID), HARTID);
    assert_int_equal(peek(CSR_MVENDORID), 0);
    assert_int_equal(peek(CSR_MARCHID), 0);
    assert_int_equal(peek(CSR_MIMPID), 0);
    assert_int_equal(peek(CSR_MCONFIGPTR), 0);
    assert_int_equal(peek(CSR_MIE) | peek(CSR_MIP) | peek(CSR_SATP) | peek(CSR_MTVEC), 0);

    /* a real hart without C, F, D: neither has the guest */
    vhart_reset(&h, 0, MISA_MXL_64 | MISA_LETTERS("IMA"), ENTRY);
    assert_int_equal(peek(CSR_MISA), MISA_MXL_64 | MISA_LETTERS("AIMSU"));
}

/* 3.1.1: misa is WARL and fixed here: a write is no exception and changes nothing */
static void test_misa_write_ignored(void **state)
{
    u64 misa = peek(CSR_MISA);

    assert_int_equal(poke(CSR_MISA, 0), 0);
    assert_int_equal(peek(CSR_MISA), misa);
    x[A0] = ~0UL;
    assert_runs(CSRRW(ZERO, CSR_MISA, A0));
    assert_int_equal(peek(CSR_MISA), misa);
}

/* ---- access by privilege (2.1) ---- */

struct csr_rule {
    unsigned int csr;
    enum vpriv min;
    bool ro;
};

static const struct csr_rule rules[] = {
    { CSR_MSTATUS, VPRIV_M, false },  { CSR_MISA, VPRIV_M, false },
    { CSR_MEDELEG, VPRIV_M, false },  { CSR_MIE, VPRIV_M, false },
    { CSR_MTVEC, VPRIV_M, false },    { CSR_MEPC, VPRIV_M, false },
    { CSR_MIP, VPRIV_M, false },      { CSR_MENVCFG, VPRIV_M, false },
    { CSR_PMPCFG0, VPRIV_M, false },  { CSR_PMPADDR0, VPRIV_M, false },
    { CSR_PMPADDR63, VPRIV_M, false },
    { CSR_MHARTID, VPRIV_M, true },   { CSR_MVENDORID, VPRIV_M, true },
    { CSR_MARCHID, VPRIV_M, true },   { CSR_MIMPID, VPRIV_M, true },
    { CSR_MCONFIGPTR, VPRIV_M, true },
    { CSR_SSTATUS, VPRIV_S, false },  { CSR_SIE, VPRIV_S, false },
    { CSR_STVEC, VPRIV_S, false },    { CSR_SSCRATCH, VPRIV_S, false },
    { CSR_SEPC, VPRIV_S, false },     { CSR_SIP, VPRIV_S, false },
    { CSR_SATP, VPRIV_S, false },     { CSR_SCOUNTEREN, VPRIV_S, false },
    { CSR_SENVCFG, VPRIV_S, false },
    { CSR_MCOUNTINHIBIT, VPRIV_M, false }, { CSR_MHPMCOUNTER3, VPRIV_M, false },
    { CSR_MHPMCOUNTER31, VPRIV_M, false }, { CSR_MHPMEVENT3, VPRIV_M, false },
    { CSR_MHPMEVENT31, VPRIV_M, false },
};

static void test_access_by_privilege(void **state)
{
    static const enum vpriv privs[] = { VPRIV_U, VPRIV_S, VPRIV_M };

    for (unsigned int i = 0; i < ARRAY_SIZE(rules); i++) {
        for (unsigned int p = 0; p < ARRAY_SIZE(privs); p++) {
            const struct csr_rule *r = &rules[i];
            bool can_read = privs[p] >= r->min, can_write = can_read && !r->ro;
            u64 v;

            reset_with(REAL_MISA);
            h.priv = privs[p];
            /* the value it has: a write that is allowed changes nothing */
            v = peek(r->csr);
            x[A0] = v;
            assert_int_equal(vhart_csr_read(&h, r->csr, &v), can_read ? 0 : -1);
            assert_int_equal(vhart_csr_write(&h, r->csr, v, NULL), can_write ? 0 : -1);
            if (can_read)
                assert_runs(CSRRS(A1, r->csr, ZERO));
            else
                assert_illegal(CSRRS(A1, r->csr, ZERO));
            if (can_write)
                assert_runs(CSRRW(ZERO, r->csr, A0));
            else
                assert_illegal(CSRRW(ZERO, r->csr, A0));
        }
    }
}

/* What this hart does not have is illegal even in M: no Sstc, no H, no debug, no RV32 halves */
static void test_unknown_csrs(void **state)
{
    static const unsigned int unknown[] = {
        0x001 /* fflags: the real hart's */, 0xb01 /* no mtime CSR */, 0x321, 0x322 /* no
        mhpmevent0-2 */, 0xc80 /* cycleh */, 0xb80 /* mcycleh */, 0xc20 /* past hpmcounter31 */,
        CSR_STIMECMP, CSR_HSTATUS, CSR_HGATP, CSR_VSSTATUS,
        0x7a0 /* tselect */, 0x7b0 /* dcsr */, 0x747 /* mseccfg */,
        0x3a1 /* pmpcfg1 */, 0x3a3, 0x3af /* pmpcfg15 */, 0x3f0 /* past pmpaddr63 */,
        0x310 /* mstatush: RV32 only */, 0x30b, 0x1000 /* not a CSR number */,
    };
    u64 v;

    for (unsigned int i = 0; i < ARRAY_SIZE(unknown); i++) {
        assert_int_equal(vhart_csr_read(&h, unknown[i], &v), -1);
        assert_int_equal(vhart_csr_write(&h, unknown[i], 0, NULL), -1);
        if (unknown[i] < 0x1000) {
            assert_illegal(CSRRS(A0, unknown[i], ZERO));
            assert_illegal(CSRRW(ZERO, unknown[i], ZERO));
        }
    }
}

/*
 * Zicsr: csrrs/csrrc with rs1 = x0 and the immediate forms with uimm = 0
 * never write, so may read a read-only CSR; any other rs1 is a write even
 * if it holds 0; csrrw/csrrwi always write.
 */
static void test_read_only_csr_forms(void **state)
{
    x[A1] = 0;
    assert_runs(CSRRS(A0, CSR_MHARTID, ZERO));
    assert_int_equal(x[A0], HARTID);
    x[A0] = 0;
    assert_runs(CSRRC(A0, CSR_MHARTID, ZERO));
    assert_int_equal(x[A0], HARTID);
    x[A0] = 0;
    assert_runs(CSRRSI(A0, CSR_MHARTID, 0));
    assert_runs(CSRRCI(A0, CSR_MHARTID, 0));
    assert_int_equal(x[A0], HARTID);

    x[A0] = 0;
    assert_illegal(CSRRS(A0, CSR_MHARTID, A1));
    assert_illegal(CSRRC(A0, CSR_MHARTID, A1));
    assert_illegal(CSRRSI(A0, CSR_MHARTID, 1));
    assert_illegal(CSRRCI(A0, CSR_MHARTID, 1));
    assert_illegal(CSRRW(ZERO, CSR_MHARTID, A1));
    assert_illegal(CSRRWI(ZERO, CSR_MHARTID, 0));
    assert_int_equal(x[A0], 0);
}

/* rd gets the old value, rs1 read before rd is written; x0 never written */
static void test_csr_old_value_to_rd(void **state)
{
    poke(CSR_MSCRATCH, 5);
    x[A0] = 1;
    assert_int_equal(assert_runs(CSRRW(A0, CSR_MSCRATCH, A0)), VH_DONE);
    assert_int_equal(x[A0], 5);
    assert_int_equal(peek(CSR_MSCRATCH), 1);

    x[A2] = 6;
    assert_runs(CSRRS(A1, CSR_MSCRATCH, A2));
    assert_int_equal(x[A1], 1);
    assert_int_equal(peek(CSR_MSCRATCH), 7);
    x[A2] = 3;
    assert_runs(CSRRC(A1, CSR_MSCRATCH, A2));
    assert_int_equal(x[A1], 7);
    assert_int_equal(peek(CSR_MSCRATCH), 4);

    assert_runs(CSRRWI(A3, CSR_MSCRATCH, 31));
    assert_int_equal(x[A3], 4);
    assert_int_equal(peek(CSR_MSCRATCH), 31);
    assert_runs(CSRRSI(A3, CSR_MSCRATCH, 0));
    assert_int_equal(x[A3], 31);
    assert_runs(CSRRCI(A3, CSR_MSCRATCH, 1));
    assert_int_equal(x[A3], 31);
    assert_int_equal(peek(CSR_MSCRATCH), 30);

    /* a caller's stale x[0] is neither read nor written */
    x[ZERO] = 0x1234;
    assert_runs(CSRRW(ZERO, CSR_MSCRATCH, ZERO));
    assert_int_equal(peek(CSR_MSCRATCH), 0);
    assert_int_equal(x[ZERO], 0x1234);
}

/* ---- mstatus and sstatus (3.1.6, 4.1.1) ---- */

#define MSTATUS_ALL_WRITABLE (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | \
    MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | \
    MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
#define MSTATUS_FIXED (MSTATUS_SXL_64 | MSTATUS_UXL_64)
#define MPP(priv) ((u64)(priv) << MSTATUS_MPP_SHIFT)

static void test_mstatus_warl(void **state)
{
    /* every writable field; UBE/SBE/MBE, VS, XS read 0; SXL/UXL 2; SD as FS is Dirty */
    assert_int_equal(poke_m(CSR_MSTATUS, ~0UL), MSTATUS_ALL_WRITABLE | MSTATUS_FIXED | MSTATUS_SD);
    /* SXL and UXL are read-only */
    assert_int_equal(poke_m(CSR_MSTATUS, 0), MSTATUS_FIXED);
    assert_int_equal(poke_m(CSR_MSTATUS, MSTATUS_UXL | MSTATUS_SXL), MSTATUS_FIXED);

    /* MPP: U, S, M held; 2 leaves the old value */
    assert_int_equal(poke_m(CSR_MSTATUS, MPP(1)) & MSTATUS_MPP, MPP(1));
    assert_int_equal(poke_m(CSR_MSTATUS, MPP(2)) & MSTATUS_MPP, MPP(1));
    assert_int_equal(poke_m(CSR_MSTATUS, MPP(3)) & MSTATUS_MPP, MPP(3));
    assert_int_equal(poke_m(CSR_MSTATUS, MPP(2) | MSTATUS_SUM), MPP(3) | MSTATUS_SUM | MSTATUS_FIXED);
    assert_int_equal(poke_m(CSR_MSTATUS, 0) & MSTATUS_MPP, 0);

    /* SD follows FS = 3 (Dirty) only */
    for (u64 fs = 0; fs < 4; fs++) {
        u64 v = poke_m(CSR_MSTATUS, fs << 13);

        assert_int_equal(v & MSTATUS_FS, fs << 13);
        assert_int_equal(!!(v & MSTATUS_SD), fs == 3);
        assert_int_equal(vhart_real_fs(&h), fs << 13);
    }
    /* SD itself cannot be written */
    assert_int_equal(poke_m(CSR_MSTATUS, MSTATUS_SD), MSTATUS_FIXED);
}

/* 3.1.6.6: with S-mode but no F, FS is read-only zero here */
static void test_mstatus_fs_without_f(void **state)
{
    reset_with(MISA_MXL_64 | MISA_LETTERS("IMAC"));
    assert_int_equal(poke_m(CSR_MSTATUS, MSTATUS_FS | MSTATUS_SUM), MSTATUS_SUM | MSTATUS_FIXED);
    assert_int_equal(vhart_real_fs(&h), 0);
}

static void test_sstatus_view(void **state)
{
    u64 m_only = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM |
                 MSTATUS_TW | MSTATUS_TSR;

    poke_m(CSR_MSTATUS, ~0UL);
    assert_int_equal(peek(CSR_SSTATUS), MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |
                     MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL_64 | MSTATUS_SD);

    /* S clears what it can, and the M fields stay */
    h.priv = VPRIV_S;
    poke(CSR_SSTATUS, 0);
    assert_int_equal(peek(CSR_MSTATUS), m_only | MSTATUS_FIXED);
    assert_int_equal(peek(CSR_SSTATUS), MSTATUS_UXL_64);

    /* and sets what it can, nothing of M's */
    poke_m(CSR_MSTATUS, 0);
    poke(CSR_SSTATUS, ~0UL);
    assert_int_equal(peek(CSR_MSTATUS), MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |
                     MSTATUS_SUM | MSTATUS_MXR | MSTATUS_FIXED | MSTATUS_SD);
}

/*
 * Every Zicsr form on sstatus, from S and M, over many mstatus values and
 * operands: vhart_emulate (whose fast path takes the accesses that change
 * at most SIE, SPIE and SPP) agrees with the general write, value, old
 * value in rd and effects alike.
 */
static void test_sstatus_forms_agree(void **state)
{
    static const unsigned int forms[] = { 1, 2, 3, 5, 6, 7 };
    u64 seed = 0x9e3779b97f4a7c15UL;

    for (int i = 0; i < 4000; i++) {
        unsigned int f = forms[i % 6], rd = (i / 6) % 2 ? 10 : 0, rs1 = (i / 12) % 3 ? 11 : 0;
        u64 start, operand, old, want, ms_want, got_effects, want_effects;
        enum vpriv priv = (i / 36) % 2 ? VPRIV_M : VPRIV_S;

        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        start = seed & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_MIE | MSTATUS_MPP |
                        ((seed >> 40) & 1 ? MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR : 0));
        operand = (seed >> 7) & ((seed >> 41) & 1 ? ~0UL : MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP);
        if (f & 4)
            rs1 = (unsigned int)(operand & 31); /* uimm */
        /* the reference: the general write as S or M makes it */
        poke_m(CSR_MSTATUS, start);
        h.priv = priv;
        old = peek(CSR_SSTATUS);
        want = (f & 4) ? rs1 : (rs1 ? operand : 0);
        want = (f & 3) == 1 ? want : (f & 3) == 2 ? old | want : old & ~want;
        want_effects = (f & 3) == 1 || rs1 ? poke(CSR_SSTATUS, want) : 0;
        ms_want = peek(CSR_MSTATUS);
        /* the same from the instruction */
        poke_m(CSR_MSTATUS, start);
        h.priv = priv;
        x[10] = 0x1234;
        x[11] = operand;
        got_effects = assert_runs(csr_insn(f, rd, CSR_SSTATUS, rs1));
        assert_int_equal(peek(CSR_MSTATUS), ms_want);
        assert_int_equal(x[10], rd ? old : 0x1234);
        assert_int_equal(got_effects, want_effects);
    }
    (void)state;
}

/* ---- delegation, interrupt enables and pending bits (3.1.8, 3.1.9, 4.1.3) ---- */

static void test_deleg_warl(void **state)
{
    /* exceptions 0-9, 12, 13, 15; never 11 (ecall from M), not the reserved 10, 14 */
    assert_int_equal(poke_m(CSR_MEDELEG, ~0UL), 0xb3ff);
    assert_int_equal(poke_m(CSR_MEDELEG, BIT(EXC_ECALL_M)), 0);
    /* S-level interrupts only */
    assert_int_equal(poke_m(CSR_MIDELEG, ~0UL), MIP_SSIP | MIP_STIP | MIP_SEIP);
    assert_int_equal(poke_m(CSR_MIDELEG, MIP_MTIP | MIP_MSIP | MIP_MEIP), 0);
    /* mie: the six standard bits */
    assert_int_equal(poke_m(CSR_MIE, ~0UL), 0xaaa);
}

static void test_sie_sip_follow_mideleg(void **state)
{
    poke_m(CSR_MIE, ~0UL);
    poke_m(CSR_MIP, ~0UL);
    h.priv = VPRIV_S;

    /* nothing delegated: both read 0, writes change nothing */
    assert_int_equal(peek(CSR_SIE), 0);
    assert_int_equal(peek(CSR_SIP), 0);
    poke(CSR_SIE, 0);
    poke(CSR_SIP, 0);
    assert_int_equal(peek(CSR_MIE), 0xaaa);
    assert_int_equal(peek(CSR_MIP), MIP_SSIP | MIP_STIP | MIP_SEIP);

    /* SSIP and STIP delegated: those show and (in sie) can be written */
    poke_m(CSR_MIDELEG, MIP_SSIP | MIP_STIP);
    assert_int_equal(peek(CSR_SIE), MIP_SSIP | MIP_STIP);
    assert_int_equal(peek(CSR_SIP), MIP_SSIP | MIP_STIP);
    poke(CSR_SIE, 0);
    assert_int_equal(peek(CSR_MIE), 0xaaa & ~(MIP_SSIP | MIP_STIP));
    poke(CSR_SIE, ~0UL);
    assert_int_equal(peek(CSR_MIE), 0xaaa);

    /* sip: SSIP only is writable; STIP is M's to set */
    poke(CSR_SIP, 0);
    assert_int_equal(peek(CSR_MIP), MIP_STIP | MIP_SEIP);
    poke(CSR_SIP, ~0UL);
    assert_int_equal(peek(CSR_MIP), MIP_SSIP | MIP_STIP | MIP_SEIP);
    poke_m(CSR_MIP, 0);
    poke(CSR_SIP, MIP_STIP | MIP_SEIP);
    assert_int_equal(peek(CSR_MIP), 0);

    /* SSIP not delegated: sip cannot set it */
    poke_m(CSR_MIDELEG, MIP_SEIP);
    poke(CSR_SIP, MIP_SSIP);
    assert_int_equal(peek(CSR_MIP), 0);
    /* the external line shows in sip when SEI is delegated */
    vhart_set_line(&h, MIP_SEIP, true);
    assert_int_equal(peek(CSR_SIP), MIP_SEIP);
}

static void test_mip_from_m(void **state)
{
    /* SSIP, STIP, SEIP writable; MSIP, MTIP, MEIP are the lines */
    assert_int_equal(poke_m(CSR_MIP, ~0UL), MIP_SSIP | MIP_STIP | MIP_SEIP);
    vhart_set_line(&h, MIP_MSIP, true);
    vhart_set_line(&h, MIP_MTIP, true);
    vhart_set_line(&h, MIP_MEIP, true);
    assert_int_equal(peek(CSR_MIP), 0xaaa);
    assert_int_equal(poke_m(CSR_MIP, 0), MIP_MSIP | MIP_MTIP | MIP_MEIP);
    vhart_set_line(&h, MIP_MSIP | MIP_MTIP | MIP_MEIP, false);
    assert_int_equal(peek(CSR_MIP), 0);

    /* SEIP reads as the written bit OR the line */
    vhart_set_line(&h, MIP_SEIP, true);
    assert_int_equal(peek(CSR_MIP), MIP_SEIP);
    poke(CSR_MIP, MIP_SEIP);
    vhart_set_line(&h, MIP_SEIP, false);
    assert_int_equal(peek(CSR_MIP), MIP_SEIP);
    poke(CSR_MIP, 0);
    assert_int_equal(peek(CSR_MIP), 0);

    /* 3.1.9: a csrrs/csrrc of mip must not latch the line into the written bit */
    vhart_set_line(&h, MIP_SEIP, true);
    x[A1] = MIP_SSIP;
    assert_runs(CSRRS(A0, CSR_MIP, A1));
    assert_int_equal(x[A0], MIP_SEIP); /* rd: the value as read, line included */
    vhart_set_line(&h, MIP_SEIP, false);
    assert_int_equal(peek(CSR_MIP), MIP_SSIP);
    /* and clearing the written SEIP leaves the line showing */
    poke(CSR_MIP, MIP_SEIP);
    vhart_set_line(&h, MIP_SEIP, true);
    x[A1] = MIP_SEIP;
    assert_runs(CSRRC(ZERO, CSR_MIP, A1));
    assert_int_equal(h.csr.mip, 0);
    assert_int_equal(peek(CSR_MIP), MIP_SEIP);
}

static void test_set_line(void **state)
{
    assert_true(vhart_set_line(&h, MIP_MTIP, true));
    assert_false(vhart_set_line(&h, MIP_MTIP, true));
    assert_true(vhart_set_line(&h, MIP_MTIP, false));
    /* with the written SEIP set, the line changes nothing the guest sees */
    poke(CSR_MIP, MIP_SEIP);
    assert_false(vhart_set_line(&h, MIP_SEIP, true));
    assert_int_equal(h.lines, MIP_SEIP);
    /* bits that are not lines are ignored */
    assert_false(vhart_set_line(&h, MIP_SSIP | MIP_STIP | BIT(13), true));
    assert_int_equal(h.lines, MIP_SEIP);
}

/* ---- trap vectors, epc, cause, tval, scratch (3.1.7, 3.1.13-3.1.16, chapter 4) ---- */

static void test_tvec_warl(void **state)
{
    static const unsigned int tvecs[] = { CSR_MTVEC, CSR_STVEC };

    for (unsigned int i = 0; i < ARRAY_SIZE(tvecs); i++) {
        assert_int_equal(poke_m(tvecs[i], 0x80001000), 0x80001000);
        assert_int_equal(poke_m(tvecs[i], 0x80002001), 0x80002001); /* vectored */
        assert_int_equal(poke_m(tvecs[i], 0x80003002), 0x80002001); /* reserved modes: no change */
        assert_int_equal(poke_m(tvecs[i], 0x80003003), 0x80002001);
        assert_int_equal(poke_m(tvecs[i], 0x80000004), 0x80000004); /* BASE 4-byte aligned */
    }
}

static void test_epc_warl(void **state)
{
    /* with C: bit 0 cleared */
    assert_int_equal(poke_m(CSR_MEPC, 0x80000003), 0x80000002);
    assert_int_equal(poke_m(CSR_SEPC, ~0UL), ~1UL);
    /* without C (IALIGN = 32): bit 1 too */
    reset_with(MISA_MXL_64 | MISA_LETTERS("IMAFD"));
    assert_int_equal(poke_m(CSR_MEPC, 0x80000003), 0x80000000);
    assert_int_equal(poke_m(CSR_SEPC, 0x80000006), 0x80000004);
}

static void test_plain_registers(void **state)
{
    static const unsigned int plain[] = {
        CSR_MSCRATCH, CSR_MCAUSE, CSR_MTVAL, CSR_SSCRATCH, CSR_SCAUSE, CSR_STVAL,
    };
    static const u64 vals[] = { ~0UL, 0, MCAUSE_INTERRUPT | 5, 0x123456789abcdef0 };

    for (unsigned int i = 0; i < ARRAY_SIZE(plain); i++)
        for (unsigned int v = 0; v < ARRAY_SIZE(vals); v++)
            assert_int_equal(poke_m(plain[i], vals[v]), vals[v]);
}

/* ---- satp (4.1.11), TVM (3.1.6.5) ---- */

static u64 satp(u64 mode, u64 asid, u64 ppn)
{
    return mode << SATP_MODE_SHIFT | asid << SATP_ASID_SHIFT | ppn;
}

static void test_satp_warl(void **state)
{
    u64 sv39 = satp(SATP_MODE_SV39, 0xffff, 0x80123), sv48 = satp(SATP_MODE_SV48, 1, SATP_PPN);

    h.priv = VPRIV_S;
    assert_int_equal(poke(CSR_SATP, sv39), VH_SATP);
    assert_int_equal(peek(CSR_SATP), sv39); /* 16 ASID bits kept */
    assert_int_equal(poke(CSR_SATP, sv39), 0); /* no change, nothing to redo */
    assert_int_equal(poke(CSR_SATP, sv48), VH_SATP);
    assert_int_equal(peek(CSR_SATP), sv48);
    /* Sv57, Sv64, the reserved ones and Sv32's encoding: the whole write ignored */
    static const u64 bad[] = { 1, 7, 10, 11, 12, 15 };
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(poke(CSR_SATP, satp(bad[i], 0, 0x1000)), 0);
        assert_int_equal(peek(CSR_SATP), sv48);
    }
    assert_int_equal(poke(CSR_SATP, 0), VH_SATP);
    assert_int_equal(peek(CSR_SATP), 0);
}

static void test_tvm(void **state)
{
    u64 v;

    poke_m(CSR_MSTATUS, MSTATUS_TVM);
    /* S: satp and sfence.vma trap */
    h.priv = VPRIV_S;
    assert_int_equal(vhart_csr_read(&h, CSR_SATP, &v), -1);
    assert_int_equal(vhart_csr_write(&h, CSR_SATP, 0, NULL), -1);
    assert_illegal(CSRRS(A0, CSR_SATP, ZERO));
    assert_illegal(CSRRW(ZERO, CSR_SATP, A0));
    assert_illegal(SFENCE_VMA(ZERO, ZERO));
    /* other S CSRs do not */
    assert_runs(CSRRS(A0, CSR_SSTATUS, ZERO));
    /* M is not affected */
    h.priv = VPRIV_M;
    x[A0] = satp(SATP_MODE_SV39, 0, 0x80000);
    assert_runs(CSRRW(ZERO, CSR_SATP, A0));
    assert_int_equal(peek(CSR_SATP), x[A0]);
    assert_runs(SFENCE_VMA(ZERO, ZERO));
    /* TVM = 0: S may */
    poke(CSR_MSTATUS, 0);
    h.priv = VPRIV_S;
    assert_runs(CSRRS(A1, CSR_SATP, ZERO));
    assert_int_equal(x[A1], x[A0]);
}

/* ---- counters and envcfg (3.1.11, 3.1.18, 4.1.5, 4.1.10) ---- */

static void test_counteren_envcfg(void **state)
{
    u32 all = MCOUNTEREN_CY | MCOUNTEREN_TM | MCOUNTEREN_IR;

    /* 32-bit WARL: the hpmcounter bits too (those counters read 0 where allowed) */
    assert_int_equal(poke_m(CSR_MCOUNTEREN, ~0UL), 0xffffffffUL);
    assert_int_equal(poke_m(CSR_SCOUNTEREN, ~0UL), 0xffffffffUL);
    assert_int_equal(poke_m(CSR_MENVCFG, ~0UL), MENVCFG_FIOM); /* no STCE: no Sstc */
    assert_int_equal(poke_m(CSR_SENVCFG, ~0UL), SENVCFG_FIOM);

    /* what the real hart lets the guest read, per its privilege */
    poke(CSR_MCOUNTEREN, MCOUNTEREN_TM | MCOUNTEREN_CY);
    poke(CSR_SCOUNTEREN, MCOUNTEREN_TM | MCOUNTEREN_IR);
    assert_int_equal(vhart_counteren(&h), all);
    h.priv = VPRIV_S;
    assert_int_equal(vhart_counteren(&h), MCOUNTEREN_TM | MCOUNTEREN_CY);
    h.priv = VPRIV_U;
    assert_int_equal(vhart_counteren(&h), MCOUNTEREN_TM);
}

/* VH_COUNTEREN: when what the guest may read now changes, by a write or by a change of privilege */
static void test_counteren_effects(void **state)
{
    /* at M everything is readable whatever mcounteren says */
    assert_int_equal(poke(CSR_MCOUNTEREN, MCOUNTEREN_TM), 0);
    poke(CSR_MSTATUS, MPP(VPRIV_S));
    assert_true(run(MRET) & VH_COUNTEREN);
    /* in S, scounteren only matters to U */
    assert_false(poke(CSR_SCOUNTEREN, MCOUNTEREN_TM) & VH_COUNTEREN);
    h.csr.mstatus &= ~MSTATUS_SPP;
    assert_false(run(SRET) & VH_COUNTEREN); /* U: TM & TM, as in S */
    assert_true(vhart_trap(&h, EXC_ECALL_U, 0) & VH_COUNTEREN); /* back to M: all */
}

/* mcycle and minstret (3.1.10): the real counters plus what the guest's writes moved them by */
static void test_mcounters(void **state)
{
    assert_int_equal(peek(CSR_MCYCLE), 1000000);
    assert_int_equal(peek(CSR_MINSTRET), 400000);
    real_cycle += 77;
    real_instret += 5;
    assert_int_equal(peek(CSR_MCYCLE), 1000077);
    assert_int_equal(peek(CSR_MINSTRET), 400005);
    /* never written: the real hart serves cycle and instret too */
    assert_int_equal(vhart_counteren(&h), MCOUNTEREN_CY | MCOUNTEREN_TM | MCOUNTEREN_IR);

    x[A0] = 1UL << 41;
    assert_int_equal(assert_runs(CSRRW(ZERO, CSR_MCYCLE, A0)), VH_COUNTEREN);
    assert_int_equal(peek(CSR_MCYCLE), 1UL << 41);
    real_cycle += 10;
    assert_int_equal(peek(CSR_MCYCLE), (1UL << 41) + 10);
    assert_int_equal(vhart_counteren(&h), MCOUNTEREN_TM | MCOUNTEREN_IR);
    /* written below the real counter: the difference wraps, the value does not */
    x[A0] = 3;
    assert_int_equal(assert_runs(CSRRW(A1, CSR_MINSTRET, A0)), VH_COUNTEREN);
    assert_int_equal(x[A1], 400005);
    real_instret += 2;
    assert_int_equal(peek(CSR_MINSTRET), 5);
    assert_int_equal(vhart_counteren(&h), MCOUNTEREN_TM);
    /* cycle and instret read the same values, by emulation now */
    assert_runs(CSRRS(A2, CSR_CYCLE, ZERO));
    assert_int_equal(x[A2], (1UL << 41) + 10);
    assert_runs(CSRRS(A2, CSR_INSTRET, ZERO));
    assert_int_equal(x[A2], 5);
    /* the unprivileged views are read-only, even in M */
    assert_illegal(CSRRW(ZERO, CSR_CYCLE, A0));
    assert_illegal(CSRRS(ZERO, CSR_INSTRET, A0));
}

/* 3.1.12: CY and IR stop the counter, which keeps its value; bit 1 and the hpm bits read 0 */
static void test_mcountinhibit(void **state)
{
    assert_int_equal(peek(CSR_MCOUNTINHIBIT), 0);
    x[A0] = ~0UL;
    assert_int_equal(assert_runs(CSRRW(ZERO, CSR_MCOUNTINHIBIT, A0)), VH_COUNTEREN);
    assert_int_equal(peek(CSR_MCOUNTINHIBIT), MCOUNTINHIBIT_CY | MCOUNTINHIBIT_IR);
    assert_int_equal(vhart_counteren(&h), MCOUNTEREN_TM); /* a frozen value is not the real one */
    real_cycle += 1000;
    real_instret += 1000;
    assert_int_equal(peek(CSR_MCYCLE), 1000000);
    assert_int_equal(peek(CSR_MINSTRET), 400000);
    /* written while stopped: it holds the new value */
    poke(CSR_MCYCLE, 42);
    real_cycle += 1000;
    assert_int_equal(peek(CSR_MCYCLE), 42);
    /* started again: it counts on from where it stood */
    x[A0] = MCOUNTINHIBIT_IR;
    assert_runs(CSRRC(ZERO, CSR_MCOUNTINHIBIT, A0));
    assert_int_equal(peek(CSR_MCOUNTINHIBIT), MCOUNTINHIBIT_CY);
    real_instret += 3;
    assert_int_equal(peek(CSR_MINSTRET), 400003);
    assert_int_equal(peek(CSR_MCYCLE), 42);
    poke(CSR_MCOUNTINHIBIT, 0);
    real_cycle += 8;
    assert_int_equal(peek(CSR_MCYCLE), 50);
    /* a write that leaves the bits as they are moves nothing */
    poke(CSR_MCOUNTINHIBIT, 2);
    assert_int_equal(peek(CSR_MCOUNTINHIBIT), 0);
    assert_int_equal(peek(CSR_MCYCLE), 50);
}

/* 3.1.10: mhpmcounter3-31 and mhpmevent3-31 read-only 0; hpmcounter3-31 read 0 where allowed */
static void test_hpm_counters(void **state)
{
    static const unsigned int zero[] = {
        CSR_MHPMCOUNTER3, 0xb10, CSR_MHPMCOUNTER31, CSR_MHPMEVENT3, 0x330, CSR_MHPMEVENT31,
    };

    x[A0] = ~0UL;
    for (unsigned int i = 0; i < ARRAY_SIZE(zero); i++) {
        assert_int_equal(assert_runs(CSRRW(ZERO, zero[i], A0)), VH_DONE);
        assert_int_equal(peek(zero[i]), 0);
    }
    x[A1] = 1;
    assert_runs(CSRRS(A1, 0xc03, ZERO));
    assert_int_equal(x[A1], 0);
    /* S: by mcounteren's bit 3, U: and scounteren's */
    poke(CSR_MCOUNTEREN, BIT(3));
    h.priv = VPRIV_S;
    x[A1] = 1;
    assert_runs(CSRRS(A1, 0xc03, ZERO));
    assert_int_equal(x[A1], 0);
    assert_illegal(CSRRS(A1, 0xc04, ZERO));
    h.priv = VPRIV_U;
    assert_illegal(CSRRS(A1, 0xc03, ZERO));
    poke_m(CSR_SCOUNTEREN, BIT(3) | BIT(31));
    assert_runs(CSRRS(A1, 0xc03, ZERO));
    assert_illegal(CSRRS(A1, CSR_HPMCOUNTER31, ZERO));
    /* never served by the real hart: its hpm counters are not the guest's */
    assert_int_equal(vhart_counteren(&h), 0);
}

/*
 * cycle, time, instret that trap (an emulating hart, or counters written):
 * read at M, at S by mcounteren, at U by both; else illegal, mtval the
 * instruction (3.1.11, 4.1.5).
 */
/* Counter @c (0 cycle, 1 time, 2 instret) read at @priv, mcounteren bit @m, scounteren @sc */
static void ucounter_case(unsigned int c, bool m, bool sc, enum vpriv priv)
{
    static const unsigned int csrs[] = { CSR_CYCLE, CSR_TIME, CSR_INSTRET };
    static const u64 want[] = { 1000000, 5000, 400000 };
    bool ok = priv == VPRIV_M || (m && (priv == VPRIV_S || sc));

    reset_with(REAL_MISA);
    poke(CSR_MCOUNTEREN, m ? BIT(c) : 0);
    poke(CSR_SCOUNTEREN, sc ? BIT(c) : 0);
    h.priv = priv;
    /* never written: what is allowed runs natively */
    assert_int_equal(vhart_counteren(&h), priv == VPRIV_M ? 7 : ok ? BIT(c) : 0);
    if (!ok)
        return assert_illegal(CSRRS(A0, csrs[c], ZERO));
    assert_runs(CSRRS(A0, csrs[c], ZERO));
    assert_int_equal(x[A0], want[c]);
}

static void test_ucounter_access(void **state)
{
    static const enum vpriv privs[] = { VPRIV_U, VPRIV_S, VPRIV_M };

    for (unsigned int c = 0; c < 3; c++)
        for (unsigned int m = 0; m < 2; m++)
            for (unsigned int sc = 0; sc < 2; sc++)
                for (unsigned int p = 0; p < 3; p++)
                    ucounter_case(c, m, sc, privs[p]);
}

/* ---- PMP (3.7.1): stored, with its WARL and lock rules ---- */

static void test_pmp_cfg_warl(void **state)
{
    /* xv6: entry 0 TOR RWX */
    assert_int_equal(poke_m(CSR_PMPCFG0, 0xf), 0xf);
    /* W without R keeps the old byte; reserved bits 6:5 read 0; others as written */
    assert_int_equal(poke_m(CSR_PMPCFG0, 0x1f6102), 0x1f010f);
    /* X without R is fine; W+X without R is reserved too */
    assert_int_equal(poke_m(CSR_PMPCFG0, 0x060403), 0x1f0403);
    /* pmpcfg2 holds entries 8-15, on its own */
    assert_int_equal(poke_m(CSR_PMPCFG2, 0x1f1d1b190f0d0b09), 0x1f1d1b190f0d0b09);
    assert_int_equal(peek(CSR_PMPCFG0), 0x1f0403);
    assert_int_equal(h.csr.pmpcfg[8], 0x09);
    assert_int_equal(h.csr.pmpcfg[15], 0x1f);
    /* the entries past 16 are read-only zero, not illegal */
    for (unsigned int csr = CSR_PMPCFG0 + 4; csr <= CSR_PMPCFG15; csr += 2)
        assert_int_equal(poke_m(csr, ~0UL), 0);
    assert_int_equal(poke_m(CSR_PMPADDR0 + VHART_NR_PMP, ~0UL), 0);
    assert_int_equal(poke_m(CSR_PMPADDR63, ~0UL), 0);
    /* pmpaddr: bits 53:0 */
    assert_int_equal(poke_m(CSR_PMPADDR0, ~0UL), PMPADDR_MASK);
    assert_int_equal(poke_m(CSR_PMPADDR0 + 15, 0x3fffffffffffff), 0x3fffffffffffff);
}

static void test_pmp_lock(void **state)
{
    for (unsigned int i = 0; i < 8; i++)
        poke(CSR_PMPADDR0 + i, 0x1000 + i);
    /* entry 3 locked TOR (R), entry 6 locked NAPOT (R) */
    poke(CSR_PMPCFG0, (PMP_L | PMP_A_NAPOT | PMP_R) << 48 | (PMP_L | PMP_A_TOR | PMP_R) << 24);

    /* a locked entry's cfg ignores writes; its neighbours in the register take theirs */
    assert_int_equal(poke_m(CSR_PMPCFG0, 0x0101010101010101), 0x0199010189010101);
    /* locked: its own pmpaddr, and for TOR the one below */
    static const u64 want[8] = { 0, 0, 0x1002, 0x1003, 0, 0, 0x1006, 0 };
    for (unsigned int i = 0; i < 8; i++)
        assert_int_equal(poke_m(CSR_PMPADDR0 + i, 0), want[i]);
    /* locked until reset */
    vhart_reset(&h, HARTID, REAL_MISA, ENTRY);
    assert_int_equal(poke_m(CSR_PMPADDR0 + 3, 5), 5);
}

static void test_pmp_access(void **state)
{
    u64 v;

    /* RV64 has no odd pmpcfg */
    for (unsigned int csr = CSR_PMPCFG0 + 1; csr <= CSR_PMPCFG15; csr += 2) {
        assert_int_equal(vhart_csr_read(&h, csr, &v), -1);
        assert_int_equal(vhart_csr_write(&h, csr, 0, NULL), -1);
    }
    /* M's only */
    h.priv = VPRIV_S;
    assert_illegal(CSRRS(A0, CSR_PMPCFG0, ZERO));
    assert_illegal(CSRRW(ZERO, CSR_PMPADDR0, A0));
}

/* ---- the guest's PMP enforced (3.7.1): vhart_pmp_perms ---- */

#define RWX (PMP_R | PMP_W | PMP_X)
#define PAGE 0x1000UL

/* Entry @i's pmpaddr and cfg byte as M writes them (pmpcfg0 for 0-7, pmpcfg2 for 8-15). */
static void pmp_set(unsigned int i, u8 cfg, u64 addr)
{
    unsigned int reg = CSR_PMPCFG0 + 2 * (i / 8), sh = 8 * (i % 8);

    poke_m(CSR_PMPADDR0 + i, addr);
    poke_m(reg, (peek(reg) & ~(0xffUL << sh)) | (u64)cfg << sh);
}

/* NAPOT's pmpaddr for @size bytes at @base (Table 3.10) */
static u64 napot(u64 base, u64 size)
{
    return base >> 2 | ((size >> 3) - 1);
}

static unsigned int perms(u64 addr, u64 len, enum vpriv priv)
{
    return vhart_pmp_perms(&h, addr, len, priv);
}

static void test_pmp_none_on(void **state)
{
    /* out of reset no entry is on: M reaches everything, S and U nothing */
    assert_true(h.pmp_flat);
    assert_int_equal(perms(0x80000000, 8, VPRIV_M), RWX);
    assert_int_equal(perms(0x80000000, 8, VPRIV_S), 0);
    assert_int_equal(perms(0, 1, VPRIV_U), 0);
    assert_false(vhart_pmp_one_view(&h));
    /* an entry on but matching nothing (TOR with its top at its bottom) changes nothing */
    pmp_set(0, PMP_A_TOR | RWX, 0);
    assert_true(h.pmp_flat);
    assert_int_equal(perms(0x80000000, 8, VPRIV_S), 0);
}

static void test_pmp_xv6_flat(void **state)
{
    /* xv6's start(): pmpaddr0 = 0x3fffffffffffff, pmpcfg0 = 0xf, NAPOT RWX over everything */
    pmp_set(0, PMP_A_NAPOT | RWX, 0x3fffffffffffffUL);
    assert_true(h.pmp_flat);
    assert_true(vhart_pmp_one_view(&h));
    assert_int_equal(perms(0, 8, VPRIV_S), RWX);
    assert_int_equal(perms(0xfffffffffffff8UL, 8, VPRIV_U), RWX);
    assert_int_equal(perms(0x80000000, PAGE, VPRIV_M), RWX);
    /* xv6 before its fix: TOR over everything (pmpaddr0 all ones) is the same */
    pmp_set(0, PMP_A_TOR | RWX, PMPADDR_MASK);
    assert_false(h.pmp_flat); /* TOR cannot reach the very last 4 bytes */
    assert_int_equal(perms(0x80000000, 8, VPRIV_S), RWX);
}

static void test_pmp_napot(void **state)
{
    /* entry 1: one page, R for S and U; entry 15: everything RWX */
    pmp_set(1, PMP_A_NAPOT | PMP_R, napot(0x80001000, PAGE));
    pmp_set(15, PMP_A_NAPOT | RWX, napot(0, 1UL << 56));
    assert_false(h.pmp_flat);
    assert_int_equal(perms(0x80001000, 8, VPRIV_S), PMP_R);
    assert_int_equal(perms(0x80001ff8, 8, VPRIV_U), PMP_R);
    assert_int_equal(perms(0x80001000, PAGE, VPRIV_S), PMP_R);
    assert_int_equal(perms(0x80000ff8, 8, VPRIV_S), RWX);
    assert_int_equal(perms(0x80002000, 8, VPRIV_S), RWX);
    /* not locked: M is not restricted */
    assert_int_equal(perms(0x80001000, 8, VPRIV_M), RWX);
    /* an access across its edge: entry 1 decides, matching only part: fails, M too */
    assert_int_equal(perms(0x80000ffc, 8, VPRIV_S), VHART_PMP_SPLIT);
    assert_int_equal(perms(0x80001ffc, 8, VPRIV_M), VHART_PMP_SPLIT);
    /* the 8-byte NAPOT block (pmpaddr ending in 0) */
    pmp_set(0, PMP_A_NAPOT, 0x80003008UL >> 2);
    assert_int_equal(perms(0x80003008, 8, VPRIV_S), 0);
    assert_int_equal(perms(0x80003000, 8, VPRIV_S), RWX);
    assert_int_equal(perms(0x80003010, 8, VPRIV_S), RWX);
}

static void test_pmp_tor(void **state)
{
    /* entry 2 TOR [pmpaddr1, pmpaddr2): 0x80010000-0x8001ffff, RW */
    pmp_set(1, PMP_A_OFF, 0x80010000UL >> 2);
    pmp_set(2, PMP_A_TOR | PMP_R | PMP_W, 0x80020000UL >> 2);
    assert_int_equal(perms(0x80010000, 8, VPRIV_S), PMP_R | PMP_W);
    assert_int_equal(perms(0x8001fff8, 8, VPRIV_S), PMP_R | PMP_W);
    assert_int_equal(perms(0x80020000, 8, VPRIV_S), 0); /* its top is not in it */
    assert_int_equal(perms(0x8000fff8, 8, VPRIV_S), 0);
    assert_int_equal(perms(0x8001fffc, 8, VPRIV_S), VHART_PMP_SPLIT);
    /* entry 0 TOR: from address 0 */
    pmp_set(0, PMP_A_TOR | PMP_X, 0x1000UL >> 2);
    assert_int_equal(perms(0, 4, VPRIV_U), PMP_X);
    assert_int_equal(perms(0xffc, 4, VPRIV_U), PMP_X);
    /* top at or below bottom: matches nothing, the next entry decides */
    pmp_set(2, PMP_A_TOR | PMP_R, 0x80010000UL >> 2);
    pmp_set(3, PMP_A_NAPOT | RWX, napot(0x80000000, 1UL << 20));
    assert_int_equal(perms(0x80010000, 8, VPRIV_S), RWX);
}

static void test_pmp_na4(void **state)
{
    /* entry 0 NA4 over 4 bytes, no permission; entry 1 the page around it RW */
    pmp_set(0, PMP_A_NA4, 0x80005010UL >> 2);
    pmp_set(1, PMP_A_NAPOT | PMP_R | PMP_W, napot(0x80005000, PAGE));
    assert_int_equal(perms(0x80005010, 4, VPRIV_S), 0);
    assert_int_equal(perms(0x80005012, 2, VPRIV_S), 0);
    assert_int_equal(perms(0x80005014, 4, VPRIV_S), PMP_R | PMP_W);
    assert_int_equal(perms(0x8000500c, 4, VPRIV_S), PMP_R | PMP_W);
    assert_int_equal(perms(0x80005010, 8, VPRIV_S), VHART_PMP_SPLIT);
    /* a page holding it: entry 0 decides and does not match it whole */
    assert_int_equal(perms(0x80005000, PAGE, VPRIV_S), VHART_PMP_SPLIT);
}

static void test_pmp_locked_applies_to_m(void **state)
{
    pmp_set(0, PMP_L | PMP_A_NAPOT | PMP_R, napot(0x80000000, 0x10000));
    assert_int_equal(perms(0x80000000, 8, VPRIV_M), PMP_R);
    assert_int_equal(perms(0x80000000, 8, VPRIV_S), PMP_R);
    /* no entry matches: M anything, S nothing */
    assert_int_equal(perms(0x80010000, 8, VPRIV_M), RWX);
    assert_int_equal(perms(0x80010000, 8, VPRIV_S), 0);
    /* locked over everything: flat, and M bound too */
    vhart_reset(&h, HARTID, REAL_MISA, ENTRY);
    pmp_set(0, PMP_L | PMP_A_NAPOT | PMP_R | PMP_X, 0x3fffffffffffffUL);
    assert_true(h.pmp_flat);
    assert_true(vhart_pmp_one_view(&h));
    assert_int_equal(perms(0x1000, 8, VPRIV_M), PMP_R | PMP_X);
}

static void test_pmp_priority(void **state)
{
    /* entries 1 (R) and 3 (RW) overlap: the lower-numbered decides */
    pmp_set(3, PMP_A_NAPOT | PMP_R | PMP_W, napot(0x80000000, 0x10000));
    pmp_set(1, PMP_A_NAPOT | PMP_R, napot(0x80004000, PAGE));
    assert_int_equal(perms(0x80004000, 8, VPRIV_S), PMP_R);
    assert_int_equal(perms(0x80005000, 8, VPRIV_S), PMP_R | PMP_W);
    /* even one without permissions */
    pmp_set(0, PMP_A_NAPOT, napot(0x80000000, 0x8000));
    assert_int_equal(perms(0x80004000, 8, VPRIV_S), 0);
    assert_int_equal(perms(0x80008000, 8, VPRIV_S), PMP_R | PMP_W);
    /* and one that matches only part of the access decides it: fails */
    assert_int_equal(perms(0x80007ff8, 16, VPRIV_S), VHART_PMP_SPLIT);
}

static void test_pmp_effects(void **state)
{
    /* a change reports VH_PMP, the same value again does not */
    assert_true(poke(CSR_PMPADDR0, 0x3fffffffffffffUL) & VH_PMP);
    assert_false(poke(CSR_PMPADDR0, 0x3fffffffffffffUL) & VH_PMP);
    assert_true(poke(CSR_PMPCFG0, 0xf) & VH_PMP);
    assert_false(poke(CSR_PMPCFG0, 0xf) & VH_PMP);
    /* through the instruction too */
    x[A0] = 0x1f;
    assert_true(assert_runs(CSRRW(ZERO, CSR_PMPCFG0, A0)) & VH_PMP);
    /* a write a lock or WARL ignores changes nothing */
    assert_false(poke(CSR_PMPCFG0, 0x02) & VH_PMP); /* W alone: reserved */
    poke(CSR_PMPCFG0, PMP_L | PMP_A_NAPOT | PMP_R);
    assert_false(poke(CSR_PMPCFG0, 0) & VH_PMP);
    assert_false(poke(CSR_PMPADDR0, 0) & VH_PMP);
    assert_false(poke(CSR_SSCRATCH, 1) & VH_PMP);
}

/* ---- mret, sret (3.1.6.1, 3.3.2) ---- */

static void mstatus_set(u64 bits)
{
    h.csr.mstatus = MSTATUS_FIXED | bits;
}

static void test_mret(void **state)
{
    u64 mpp_s = MPP(VPRIV_S);

    /* to S: MIE = MPIE, MPIE = 1, MPP = U, MPRV cleared, pc = mepc */
    mstatus_set(mpp_s | MSTATUS_MPIE | MSTATUS_MPRV | MSTATUS_SIE);
    poke(CSR_MEPC, 0x80200000);
    unsigned int e = run(MRET);
    assert_int_equal(e & (VH_TRAP | VH_MODE | VH_IRQ), VH_MODE | VH_IRQ);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, 0x80200000);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_SIE);

    /* MPIE = 0: MIE ends 0 */
    h.priv = VPRIV_M;
    mstatus_set(MSTATUS_MIE);
    run(MRET);
    assert_int_equal(h.priv, VPRIV_U);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_MPIE);

    /* back to M: MPRV stays (MPP becomes U, so data accesses then use U) */
    h.priv = VPRIV_M;
    mstatus_set(MSTATUS_MPP | MSTATUS_MPRV);
    run(MRET);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_MPIE | MSTATUS_MPRV);
    assert_int_equal(vhart_data_priv(&h), VPRIV_U);

    /* M's alone */
    h.priv = VPRIV_S;
    assert_illegal(MRET);
    h.priv = VPRIV_U;
    assert_illegal(MRET);
}

static void test_sret(void **state)
{
    /* from S to S: SIE = SPIE, SPIE = 1, SPP = U */
    h.priv = VPRIV_S;
    mstatus_set(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_MIE);
    poke(CSR_SEPC, 0x80400000);
    assert_true(run(SRET) & VH_IRQ);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, 0x80400000);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_MIE);

    /* SPP = U, SPIE = 0 */
    mstatus_set(MSTATUS_SIE);
    assert_true(run(SRET) & VH_MODE);
    assert_int_equal(h.priv, VPRIV_U);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_SPIE);

    /* from M: allowed, and MPRV cleared (SRET never returns to M) */
    h.priv = VPRIV_M;
    mstatus_set(MSTATUS_SPP | MSTATUS_MPRV | MSTATUS_TSR);
    run(SRET);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_SPIE | MSTATUS_TSR);

    /* TSR takes it from S; U never has it */
    assert_illegal(SRET);
    h.csr.mstatus &= ~MSTATUS_TSR;
    h.priv = VPRIV_U;
    assert_illegal(SRET);
}

/* ---- traps (3.1.8, 3.1.7) ---- */

static void test_trap_delegation(void **state)
{
    poke(CSR_MEDELEG, BIT(EXC_ECALL_U) | BIT(EXC_LOAD_PAGE_FAULT));
    poke(CSR_MIDELEG, MIP_STIP);
    poke(CSR_STVEC, 0x80300000);
    poke(CSR_MTVEC, 0x80000800);

    /* delegated, from U: to S */
    h.priv = VPRIV_U;
    h.pc = 0x1000;
    mstatus_set(MSTATUS_SIE | MSTATUS_SPP);
    assert_int_equal(vhart_trap(&h, EXC_ECALL_U, 0) & (VH_TRAP | VH_MODE), VH_TRAP | VH_MODE);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, 0x80300000);
    assert_int_equal(h.csr.sepc, 0x1000);
    assert_int_equal(h.csr.scause, EXC_ECALL_U);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_SPIE);

    /* delegated, from S: to S, SPP = S, SPIE = SIE (0) */
    h.pc = 0x80301000;
    vhart_trap(&h, EXC_LOAD_PAGE_FAULT, 0xdead000);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.csr.stval, 0xdead000);
    assert_int_equal(h.csr.sepc, 0x80301000);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_SPP);

    /* not delegated, from S: to M, MPP = S, MPIE = MIE, MIE = 0; S's stack untouched */
    h.csr.mstatus |= MSTATUS_MIE;
    h.pc = 0x80300010;
    vhart_trap(&h, EXC_ILLEGAL_INST, 0x1234);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.pc, 0x80000800);
    assert_int_equal(h.csr.mepc, 0x80300010);
    assert_int_equal(h.csr.sepc, 0x80301000);
    assert_int_equal(h.csr.mcause, EXC_ILLEGAL_INST);
    assert_int_equal(h.csr.mtval, 0x1234);
    assert_int_equal(h.csr.mstatus, MSTATUS_FIXED | MSTATUS_SPP | MSTATUS_MPIE |
                     MPP(VPRIV_S));

    /* delegated, but from M: stays in M */
    h.pc = 0x80000900;
    vhart_trap(&h, EXC_LOAD_PAGE_FAULT, 0x42);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.csr.mepc, 0x80000900);
    assert_int_equal(h.csr.mtval, 0x42);
    assert_int_equal((h.csr.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT, VPRIV_M);
    assert_int_equal(h.csr.mstatus & (MSTATUS_MIE | MSTATUS_MPIE), 0);

    /* interrupts: by mideleg */
    h.priv = VPRIV_U;
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_S_TIMER, 0);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.csr.scause, MCAUSE_INTERRUPT | IRQ_S_TIMER);
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_M_TIMER, 0);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.csr.mcause, MCAUSE_INTERRUPT | IRQ_M_TIMER);
    /* SEI not delegated: to M even from U */
    h.priv = VPRIV_U;
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_S_EXT, 0);
    assert_int_equal(h.priv, VPRIV_M);
}

/* 3.1.7: vectored mode: interrupts at BASE + 4 * cause, exceptions at BASE */
static void test_vectored_tvec(void **state)
{
    poke(CSR_MTVEC, 0x80001001);
    poke(CSR_STVEC, 0x80002001);
    poke(CSR_MIDELEG, MIP_SSIP);
    h.priv = VPRIV_S;
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_M_TIMER, 0);
    assert_int_equal(h.pc, 0x80001000 + 4 * IRQ_M_TIMER);
    vhart_trap(&h, EXC_BREAKPOINT, 0);
    assert_int_equal(h.pc, 0x80001000);
    h.priv = VPRIV_U;
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_S_SOFT, 0);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, 0x80002000 + 4 * IRQ_S_SOFT);
    /* direct mode: every trap at BASE */
    poke_m(CSR_MTVEC, 0x80001000);
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_M_EXT, 0);
    assert_int_equal(h.pc, 0x80001000);
}

/* An illegal instruction from S goes where medeleg[2] says, with the instruction as tval */
static void test_illegal_delegated(void **state)
{
    poke(CSR_MEDELEG, BIT(EXC_ILLEGAL_INST));
    poke(CSR_STVEC, 0x80300000);
    h.priv = VPRIV_S;
    h.pc = 0x80301000;
    assert_true(run(MRET) & VH_TRAP);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, 0x80300000);
    assert_int_equal(h.csr.scause, EXC_ILLEGAL_INST);
    assert_int_equal(h.csr.stval, MRET);
    assert_int_equal(h.csr.sepc, 0x80301000);
}

/* Not an instruction this module emulates: illegal, tval = the bits */
static void test_illegal_encodings(void **state)
{
    static const u32 bad[] = {
        0x00000013, /* addi x0, x0, 0: not SYSTEM */
        0x00000073, /* ecall: traps as itself on the real hart */
        0x00100073, /* ebreak */
        0x00200073, /* uret: no N extension */
        0x30200073 | 1 << 7, /* mret with rd != 0 */
        0x10500073 | 1 << 15, /* wfi with rs1 != 0 */
        0x12000073 | 1 << 7, /* sfence.vma with rd != 0 */
        0x16000073, /* sinval.vma: no Svinval */
        0x22000073, /* hfence.vvma: no H */
        0x62000073, /* hfence.gvma */
        0x6005c573, /* hlv.b a0, (a1): funct3 4 */
        0x7b200073, /* dret */
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
        assert_illegal(bad[i]);
}

/* ---- interrupts (3.1.9, 4.1.3) ---- */

static void test_pending_irq_m_level(void **state)
{
    assert_int_equal(vhart_pending_irq(&h), -1);
    poke(CSR_MIE, MIP_MTIP);
    vhart_set_line(&h, MIP_MTIP, true);
    /* at M: only with MIE */
    assert_int_equal(vhart_pending_irq(&h), -1);
    poke(CSR_MSTATUS, MSTATUS_MIE);
    assert_int_equal(vhart_pending_irq(&h), IRQ_M_TIMER);
    /* below M: always, whatever MIE and SIE */
    poke(CSR_MSTATUS, 0);
    h.priv = VPRIV_S;
    assert_int_equal(vhart_pending_irq(&h), IRQ_M_TIMER);
    h.priv = VPRIV_U;
    assert_int_equal(vhart_pending_irq(&h), IRQ_M_TIMER);
    /* not enabled in mie: never */
    poke_m(CSR_MIE, 0);
    assert_int_equal(vhart_pending_irq(&h), -1);
}

static void test_pending_irq_priority(void **state)
{
    static const int order[] = {
        IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER,
    };

    /* all six pending, none delegated, taken in U in the order MEI MSI MTI SEI SSI STI */
    poke(CSR_MIE, 0xaaa);
    poke(CSR_MIP, MIP_SSIP | MIP_STIP | MIP_SEIP);
    vhart_set_line(&h, MIP_MSIP | MIP_MTIP | MIP_MEIP, true);
    h.priv = VPRIV_U;
    for (unsigned int i = 0; i < ARRAY_SIZE(order); i++) {
        assert_int_equal(vhart_pending_irq(&h), order[i]);
        h.csr.mie &= ~BIT(order[i]);
    }
    assert_int_equal(vhart_pending_irq(&h), -1);
}

static void test_pending_irq_s_level(void **state)
{
    poke(CSR_MIE, 0xaaa);
    poke(CSR_MIDELEG, MIP_SSIP | MIP_STIP | MIP_SEIP);
    poke(CSR_MIP, MIP_SSIP | MIP_STIP);
    vhart_set_line(&h, MIP_SEIP, true);

    /* never taken in M, whatever SIE and MIE */
    poke(CSR_MSTATUS, MSTATUS_MIE | MSTATUS_SIE);
    assert_int_equal(vhart_pending_irq(&h), -1);
    /* in S with SIE, in the order SEI SSI STI */
    h.priv = VPRIV_S;
    assert_int_equal(vhart_pending_irq(&h), IRQ_S_EXT);
    vhart_set_line(&h, MIP_SEIP, false);
    assert_int_equal(vhart_pending_irq(&h), IRQ_S_SOFT);
    h.csr.mie &= ~MIP_SSIP;
    assert_int_equal(vhart_pending_irq(&h), IRQ_S_TIMER);
    /* in S without SIE: no; in U: always */
    poke_m(CSR_MSTATUS, 0);
    assert_int_equal(vhart_pending_irq(&h), -1);
    h.priv = VPRIV_U;
    assert_int_equal(vhart_pending_irq(&h), IRQ_S_TIMER);
}

/* 3.1.9: an interrupt for M comes before one for S, even one of a lower priority */
static void test_pending_irq_m_before_s(void **state)
{
    poke(CSR_MIE, MIP_STIP | MIP_SEIP);
    poke(CSR_MIDELEG, MIP_SEIP);
    poke(CSR_MIP, MIP_STIP | MIP_SEIP);
    h.priv = VPRIV_U;
    assert_int_equal(vhart_pending_irq(&h), IRQ_S_TIMER); /* to M */
    /* at S without MIE the M one still goes first */
    h.priv = VPRIV_S;
    poke_m(CSR_MSTATUS, MSTATUS_SIE);
    assert_int_equal(vhart_pending_irq(&h), IRQ_S_TIMER);
    /* at M without MIE: neither */
    h.priv = VPRIV_M;
    assert_int_equal(vhart_pending_irq(&h), -1);
}

/* ---- wfi (3.3.3, 3.1.6.5) ---- */

static void test_wfi(void **state)
{
    assert_int_equal(assert_runs(WFI), VH_WFI);
    poke(CSR_MSTATUS, MSTATUS_TW); /* TW is for the modes below M */
    assert_int_equal(assert_runs(WFI), VH_WFI);
    h.priv = VPRIV_S;
    assert_illegal(WFI);
    h.csr.mstatus &= ~MSTATUS_TW;
    assert_int_equal(assert_runs(WFI), VH_WFI);
    h.priv = VPRIV_U;
    assert_illegal(WFI);
}

/* WFI ends on any interrupt pending and enabled in mie, global enables aside */
static void test_wfi_wakes(void **state)
{
    assert_false(vhart_wfi_wakes(&h));
    vhart_set_line(&h, MIP_MTIP, true);
    assert_false(vhart_wfi_wakes(&h)); /* not in mie */
    poke(CSR_MIE, MIP_MTIP);
    assert_true(vhart_wfi_wakes(&h)); /* MIE = 0 */
    /* a delegated one while in M, where it would not be taken */
    vhart_set_line(&h, MIP_MTIP, false);
    poke(CSR_MIDELEG, MIP_SSIP);
    poke(CSR_MIE, MIP_SSIP);
    poke(CSR_MIP, MIP_SSIP);
    assert_int_equal(vhart_pending_irq(&h), -1);
    assert_true(vhart_wfi_wakes(&h));
}

/* ---- sfence.vma (4.2.1) ---- */

static void test_sfence(void **state)
{
    x[A0] = 0x3fc0001000;
    x[A1] = 42;
    x[T2] = 7;
    assert_int_equal(assert_runs(SFENCE_VMA(ZERO, ZERO)), VH_SFENCE);
    assert_int_equal(fence_va, VH_FENCE_ALL);
    assert_int_equal(fence_asid, VH_FENCE_ALL);
    assert_runs(SFENCE_VMA(A0, A1));
    assert_int_equal(fence_va, 0x3fc0001000);
    assert_int_equal(fence_asid, 42);
    assert_runs(SFENCE_VMA(ZERO, T2));
    assert_int_equal(fence_va, VH_FENCE_ALL);
    assert_int_equal(fence_asid, 7);
    /* a register that holds 0 is an address (or ASID) 0, not "all" */
    x[A1] = 0;
    assert_runs(SFENCE_VMA(A0, A1));
    assert_int_equal(fence_va, 0x3fc0001000);
    assert_int_equal(fence_asid, 0);
    assert_runs(SFENCE_VMA(A1, ZERO));
    assert_int_equal(fence_va, 0);
    assert_int_equal(fence_asid, VH_FENCE_ALL);

    h.priv = VPRIV_S;
    assert_int_equal(assert_runs(SFENCE_VMA(A0, ZERO)), VH_SFENCE);
    h.priv = VPRIV_U;
    assert_illegal(SFENCE_VMA(ZERO, ZERO));
}

/* ---- effects of CSR writes ---- */

static void test_csr_write_effects(void **state)
{
    static const struct { u64 bits; unsigned int effect; } mstatus_fields[] = {
        { MSTATUS_SUM, VH_MODE }, { MSTATUS_MXR, VH_MODE }, { MSTATUS_MPRV, VH_MODE },
        { MPP(VPRIV_S), VH_MODE }, { MSTATUS_MIE, VH_IRQ }, { MSTATUS_SIE, VH_IRQ },
        { 1UL << 13, VH_FS }, { MSTATUS_FS, VH_FS }, { MSTATUS_TW, 0 }, { MSTATUS_TSR, 0 },
        { MSTATUS_SPIE, 0 }, { MSTATUS_MPIE, 0 }, { MSTATUS_SPP, 0 }, { MSTATUS_TVM, 0 },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(mstatus_fields); i++) {
        assert_int_equal(poke(CSR_MSTATUS, mstatus_fields[i].bits), mstatus_fields[i].effect);
        assert_int_equal(poke(CSR_MSTATUS, mstatus_fields[i].bits), 0); /* the same again */
        assert_int_equal(poke(CSR_MSTATUS, 0), mstatus_fields[i].effect);
    }
    /* through sstatus too */
    h.priv = VPRIV_S;
    assert_int_equal(poke(CSR_SSTATUS, MSTATUS_SUM | MSTATUS_SIE), VH_MODE | VH_IRQ);
    h.priv = VPRIV_M;

    assert_int_equal(poke(CSR_MIE, MIP_MTIP), VH_IRQ);
    assert_int_equal(poke(CSR_MIE, MIP_MTIP), 0);
    assert_int_equal(poke(CSR_MIP, MIP_STIP), VH_IRQ);
    assert_int_equal(poke(CSR_MIDELEG, MIP_STIP), VH_IRQ);
    assert_int_equal(poke(CSR_SIE, MIP_STIP), VH_IRQ);
    assert_int_equal(poke(CSR_SIP, MIP_STIP), 0); /* STIP not writable there: no change */
    assert_int_equal(poke(CSR_MEDELEG, 0xffff), 0);
    assert_int_equal(poke(CSR_MTVEC, 0x80000000), 0);
    assert_int_equal(poke(CSR_SATP, satp(SATP_MODE_SV39, 0, 1)), VH_SATP);

    /* the emulated instruction reports them likewise */
    poke(CSR_MSTATUS, 0);
    x[A0] = MSTATUS_SUM;
    assert_int_equal(assert_runs(CSRRS(ZERO, CSR_MSTATUS, A0)), VH_MODE);
    assert_int_equal(assert_runs(CSRRC(ZERO, CSR_MSTATUS, A0)), VH_MODE);
    assert_int_equal(assert_runs(CSRRS(A1, CSR_MSTATUS, ZERO)), 0);
}

/* 3.1.6.3: MPRV at M makes loads and stores use MPP's privilege */
static void test_data_priv(void **state)
{
    assert_int_equal(vhart_data_priv(&h), VPRIV_M);
    poke(CSR_MSTATUS, MSTATUS_MPRV | MPP(VPRIV_S));
    assert_int_equal(vhart_data_priv(&h), VPRIV_S);
    poke(CSR_MSTATUS, MSTATUS_MPRV);
    assert_int_equal(vhart_data_priv(&h), VPRIV_U);
    poke(CSR_MSTATUS, MSTATUS_MPRV | MSTATUS_MPP);
    assert_int_equal(vhart_data_priv(&h), VPRIV_M);
    poke(CSR_MSTATUS, MPP(VPRIV_S));
    assert_int_equal(vhart_data_priv(&h), VPRIV_M);
    /* not in S */
    poke(CSR_MSTATUS, MSTATUS_MPRV);
    h.priv = VPRIV_S;
    assert_int_equal(vhart_data_priv(&h), VPRIV_S);

    /*
     * A fault of an access under MPRV is M's (OpenSBI's sbi_unpriv.c): the
     * trap sets MPP = M, so its handler's own accesses are untranslated
     * with MPRV still 1; its mret to M leaves MPP = U with MPRV kept.
     */
    h.priv = VPRIV_M;
    poke(CSR_MSTATUS, MSTATUS_MPRV | MPP(VPRIV_S));
    poke(CSR_MEDELEG, BIT(EXC_LOAD_PAGE_FAULT));
    assert_true(vhart_trap(&h, EXC_LOAD_PAGE_FAULT, 0x1000) & VH_MODE);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.csr.mtval, 0x1000);
    assert_true(h.csr.mstatus & MSTATUS_MPRV);
    assert_int_equal(vhart_data_priv(&h), VPRIV_M);
    assert_true(run(MRET) & VH_MODE);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(vhart_data_priv(&h), VPRIV_U);
}

/* ---- xv6-riscv: start() in M, its timer in M, its kernel in S ---- */

#define XV6_MAIN 0x80000400UL
#define XV6_TIMERVEC 0x80000800UL
#define XV6_KERNELVEC 0x80000900UL

static void xv6_csrw(unsigned int csr, u64 val)
{
    x[A0] = val;
    assert_runs(CSRRW(ZERO, csr, A0));
}

static void xv6_start(void)
{
    /* x = r_mstatus(); x &= ~MSTATUS_MPP_MASK; x |= MSTATUS_MPP_S; w_mstatus(x) */
    assert_runs(CSRRS(A1, CSR_MSTATUS, ZERO));
    xv6_csrw(CSR_MSTATUS, (x[A1] & ~MSTATUS_MPP) | MPP(VPRIV_S));
    xv6_csrw(CSR_MEPC, XV6_MAIN);
    assert_runs(CSRRW(ZERO, CSR_SATP, ZERO));
    xv6_csrw(CSR_MEDELEG, 0xffff);
    xv6_csrw(CSR_MIDELEG, 0xffff);
    assert_runs(CSRRS(A0, CSR_SIE, ZERO));
    xv6_csrw(CSR_SIE, x[A0] | MIP_SEIP | MIP_STIP | MIP_SSIP);
    xv6_csrw(CSR_PMPADDR0, 0x3fffffffffffffUL);
    xv6_csrw(CSR_PMPCFG0, 0xf);
    /* timerinit(): mscratch, mtvec = timervec, mstatus.MIE, mie.MTIE */
    xv6_csrw(CSR_MSCRATCH, 0x80008000);
    xv6_csrw(CSR_MTVEC, XV6_TIMERVEC);
    x[A0] = MSTATUS_MIE;
    assert_int_equal(assert_runs(CSRRS(ZERO, CSR_MSTATUS, A0)), VH_IRQ);
    x[A0] = MIP_MTIP;
    assert_int_equal(assert_runs(CSRRS(ZERO, CSR_MIE, A0)), VH_IRQ);
    /* w_tp(r_mhartid()) */
    assert_runs(CSRRS(TP, CSR_MHARTID, ZERO));
    assert_int_equal(x[TP], HARTID);
}

static void test_xv6_boot(void **state)
{
    xv6_start();
    assert_int_equal(h.csr.medeleg, 0xb3ff);
    assert_int_equal(h.csr.mideleg, 0x222);
    assert_int_equal(h.csr.mie, 0x2a2);
    assert_int_equal(h.csr.pmpaddr[0], 0x3fffffffffffffUL);
    assert_int_equal(h.csr.pmpcfg[0], 0xf);

    /* mret: into S at main; MIE = MPIE (0), which does not matter below M */
    assert_true(run(MRET) & VH_MODE);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, XV6_MAIN);
    assert_int_equal(h.csr.mstatus & MSTATUS_MPP, 0);

    /* the kernel: stvec, intr_on() */
    xv6_csrw(CSR_STVEC, XV6_KERNELVEC);
    x[A0] = MSTATUS_SIE;
    assert_int_equal(assert_runs(CSRRS(ZERO, CSR_SSTATUS, A0)), VH_IRQ);
    assert_int_equal(vhart_pending_irq(&h), -1);

    /* the CLINT's timer fires: M-level, taken from S into timervec */
    u64 s_pc = h.pc;
    assert_true(vhart_set_line(&h, MIP_MTIP, true));
    assert_int_equal(vhart_pending_irq(&h), IRQ_M_TIMER);
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_M_TIMER, 0);
    assert_int_equal(h.priv, VPRIV_M);
    assert_int_equal(h.pc, XV6_TIMERVEC);
    assert_int_equal(h.csr.mepc, s_pc);
    assert_int_equal(h.csr.mcause, MCAUSE_INTERRUPT | IRQ_M_TIMER);
    assert_int_equal((h.csr.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT, VPRIV_S);

    /* timervec: swaps mscratch, moves mtimecmp on (the line drops), raises SSIP with csrw sip, 2 */
    assert_runs(CSRRW(A0, CSR_MSCRATCH, A0));
    vhart_set_line(&h, MIP_MTIP, false);
    x[A1] = 2;
    assert_int_equal(assert_runs(CSRRW(ZERO, CSR_SIP, A1)), VH_IRQ);
    assert_int_equal(peek(CSR_MIP), MIP_SSIP);
    assert_int_equal(vhart_pending_irq(&h), -1); /* S-level: not at M */
    assert_runs(CSRRW(A0, CSR_MSCRATCH, A0));
    assert_true(run(MRET) & VH_IRQ);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, s_pc);

    /* back in S with SIE: the software interrupt is taken there */
    assert_int_equal(vhart_pending_irq(&h), IRQ_S_SOFT);
    vhart_trap(&h, MCAUSE_INTERRUPT | IRQ_S_SOFT, 0);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, XV6_KERNELVEC);
    assert_int_equal(h.csr.sepc, s_pc);
    assert_int_equal(h.csr.scause, MCAUSE_INTERRUPT | IRQ_S_SOFT);
    assert_int_equal(h.csr.mstatus & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP),
                     MSTATUS_SPIE | MSTATUS_SPP);
    /* devintr(): w_sip(r_sip() & ~2); kerneltrap's sret */
    x[A1] = 2;
    assert_runs(CSRRC(ZERO, CSR_SIP, A1));
    assert_int_equal(peek(CSR_SIP), 0);
    poke(CSR_SEPC, s_pc);
    run(SRET);
    assert_int_equal(h.priv, VPRIV_S);
    assert_int_equal(h.pc, s_pc);
    assert_true(h.csr.mstatus & MSTATUS_SIE);
    assert_int_equal(vhart_pending_irq(&h), -1);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_encodings_match_assembler),
        T(test_reset),
        T(test_misa_write_ignored),
        T(test_access_by_privilege),
        T(test_unknown_csrs),
        T(test_read_only_csr_forms),
        T(test_csr_old_value_to_rd),
        T(test_mstatus_warl),
        T(test_mstatus_fs_without_f),
        T(test_sstatus_view),
        T(test_sstatus_forms_agree),
        T(test_deleg_warl),
        T(test_sie_sip_follow_mideleg),
        T(test_mip_from_m),
        T(test_set_line),
        T(test_tvec_warl),
        T(test_epc_warl),
        T(test_plain_registers),
        T(test_satp_warl),
        T(test_tvm),
        T(test_counteren_envcfg),
        T(test_counteren_effects),
        T(test_mcounters),
        T(test_mcountinhibit),
        T(test_hpm_counters),
        T(test_ucounter_access),
        T(test_pmp_cfg_warl),
        T(test_pmp_lock),
        T(test_pmp_access),
        T(test_pmp_none_on),
        T(test_pmp_xv6_flat),
        T(test_pmp_napot),
        T(test_pmp_tor),
        T(test_pmp_na4),
        T(test_pmp_locked_applies_to_m),
        T(test_pmp_priority),
        T(test_pmp_effects),
        T(test_mret),
        T(test_sret),
        T(test_trap_delegation),
        T(test_vectored_tvec),
        T(test_illegal_delegated),
        T(test_illegal_encodings),
        T(test_pending_irq_m_level),
        T(test_pending_irq_priority),
        T(test_pending_irq_s_level),
        T(test_pending_irq_m_before_s),
        T(test_wfi),
        T(test_wfi_wakes),
        T(test_sfence),
        T(test_csr_write_effects),
        T(test_data_priv),
        T(test_xv6_boot),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
