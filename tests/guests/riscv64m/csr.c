/*
 * csr: the privileged architecture's CSRs and instructions as a hart with
 * M, S and U modes (RV64, no H) gives them (privileged spec 1.12,
 * chapters 2-4 and 3.7), from M, S and U:
 *  - which CSR each privilege may read and write (2.1: bits 9:8 the lowest
 *    privilege, bits 11:10 = 3 read-only), illegal-instruction exceptions
 *    for the rest and for CSRs that do not exist on this hart (H's, RV32's,
 *    the N extension's), taken in M or, delegated, in S; mtval/stval 0 or
 *    the instruction
 *  - the WARL fields: mstatus (MPP, SXL/UXL, SD and FS, the sstatus view),
 *    misa, medeleg/mideleg, mie/mip and sie/sip through mideleg, mtvec/
 *    stvec MODE, mepc/sepc, satp MODEs, counteren, envcfg, PMP (reserved
 *    W=1 R=0, locked entries, TOR locking the entry below); mhartid
 *  - counters: mcycle/minstret (count, written, stopped by mcountinhibit),
 *    the hpm counters (read-only 0 or counting), time/cycle/instret/
 *    hpmcounter3 gated by mcounteren and scounteren, before and after
 *    mcycle and minstret are written
 *  - MRET/SRET and their stacking (xIE, xPIE, xPP, MPRV), TVM, TSR, TW
 *  - ECALL from U, S, M (8, 9, 11), EBREAK, with and without delegation,
 *    and the trap entry state (xPP, xPIE, xIE, xepc)
 * Where the spec lets an implementation choose, every allowed answer
 * passes and an INFO line says which one this hart gave.
 */
#include "mguest.h"

/* ---- helpers in assembly: instructions at known addresses, for S and U ---- */
u64 do_ecall(u64 a0, u64 a1);
u64 do_ebreak(u64 a0, u64 a1);
u64 do_mret(u64 a0, u64 a1);
u64 do_sret(u64 a0, u64 a1);
u64 do_wfi(u64 a0, u64 a1);
u64 do_sfence(u64 a0, u64 a1);
u64 sret_in_s(u64 set, u64 clear);
u64 sret_to_u(u64 a0, u64 a1);
u64 mret_in_m(void);
u64 ecall_with_sie(u64 a0, u64 a1);
extern char ecall_insn[], ebreak_insn[], mret_insn[], sret_insn[], wfi_insn[], sfence_insn[];
extern char ecall_sie_insn[];
__asm__(
    ".pushsection .text\n"
    ".option push\n.option norvc\n"
    ".balign 4\n"
    ".global do_ecall, ecall_insn\n"
    "do_ecall: li a7, 0\n"
    "ecall_insn: ecall\n ret\n"
    ".global do_ebreak, ebreak_insn\n"
    "do_ebreak:\n"
    "ebreak_insn: ebreak\n ret\n"
    ".global do_mret, mret_insn\n"
    "do_mret:\n"
    "mret_insn: mret\n ret\n"
    ".global do_sret, sret_insn\n"
    "do_sret:\n"
    "sret_insn: sret\n ret\n"
    ".global do_wfi, wfi_insn\n"
    "do_wfi:\n"
    "wfi_insn: wfi\n ret\n"
    ".global do_sfence, sfence_insn\n"
    "do_sfence:\n"
    "sfence_insn: sfence.vma\n ret\n"
    /* in S: sstatus |= a0, &= ~a1, then SRET to the next instruction; returns sstatus after */
    ".global sret_in_s\n"
    "sret_in_s: csrs sstatus, a0\n csrc sstatus, a1\n"
    " la t0, 1f\n csrw sepc, t0\n sret\n"
    "1: csrr a0, sstatus\n ret\n"
    /* in S: SRET with SPP = U to u_landing, which returns to M from U with a0 = 0x5a */
    ".global sret_to_u\n"
    "sret_to_u: li t0, 0x100\n csrc sstatus, t0\n la t0, u_landing\n csrw sepc, t0\n sret\n"
    "u_landing: li a0, 0x5a\n li a7, 0x52455455\n ecall\n 1: j 1b\n"
    /* in M: MRET to the next instruction; returns mstatus after */
    ".global mret_in_m\n"
    "mret_in_m: la t0, 1f\n csrw mepc, t0\n mret\n"
    "1: csrr a0, mstatus\n ret\n"
    /* in S: set sstatus.SIE, then ECALL (a7 = 0) */
    ".global ecall_with_sie, ecall_sie_insn\n"
    "ecall_with_sie: csrsi sstatus, 2\n li a7, 0\n"
    "ecall_sie_insn: ecall\n csrci sstatus, 2\n ret\n"
    ".option pop\n"
    ".popsection\n");

#define INSN_ECALL 0x00000073U
#define INSN_EBREAK 0x00100073U
#define INSN_MRET 0x30200073U
#define INSN_SRET 0x10200073U
#define INSN_WFI 0x10500073U
#define INSN_SFENCE_VMA 0x12000073U

static const unsigned int privs[] = { PRIV_U, PRIV_S, PRIV_M };

/* No libgcc (the toolchain's is built for lp64d): these by hand. */
static unsigned int bits_set(u64 v)
{
    unsigned int n = 0;

    for (; v; v &= v - 1)
        n++;
    return n;
}

static unsigned int low_zeros(u64 v)
{
    unsigned int n = 0;

    for (; v && !(v & 1); v >>= 1)
        n++;
    return n;
}

/*
 * An instruction whose trap the caller expected: checks cause, where it
 * went, epc and tval (0 or the instruction; for EBREAK 0 or its address;
 * for ECALL 0). QEMU 10 leaves mtval stale for an illegal MRET or SRET
 * (3.1.16 wants 0 or the instruction): a SKIP natively.
 */
static bool check_trap(const struct trap *t, bool taken, u64 cause, unsigned int mode, unsigned int from,
                       u64 epc, u32 insn, const char *what)
{
    bool tval_ok = t->tval == 0 || t->tval == insn;
    bool rest_ok = taken && t->cause == cause && t->mode == mode && t->from == from && t->epc == epc;
    char buf[200];

    if (cause == CAUSE_BREAKPOINT)
        tval_ok = t->tval == 0 || t->tval == epc;
    if (cause == CAUSE_USER_ECALL || cause == CAUSE_SUPERVISOR_ECALL || cause == CAUSE_MACHINE_ECALL)
        tval_ok = t->tval == 0;
    snprintf(buf, sizeof(buf), "%s: cause %lu in %s from %s, epc %s, tval %#lx (want %lu in %s from %s)",
             what, taken ? (unsigned long)t->cause : 999UL, taken ? priv_name(t->mode) : "-",
             taken ? priv_name(t->from) : "-", t->epc == epc ? "right" : "WRONG", (unsigned long)t->tval,
             (unsigned long)cause, priv_name(mode), priv_name(from));
    if (rest_ok && !tval_ok && (insn == INSN_MRET || insn == INSN_SRET))
        return report_or_known(false, "QEMU leaves mtval stale for an illegal xRET", "%s", buf);
    return report(rest_ok && tval_ok, "%s", buf);
}

/* ---- the CSRs the spec defines here, and who may touch them ---- */
struct csr_def {
    unsigned int num;
    const char *name;
};

static const struct csr_def defined_csrs[] = {
    { 0x100, "sstatus" }, { 0x104, "sie" }, { 0x105, "stvec" }, { 0x106, "scounteren" },
    { 0x10a, "senvcfg" }, { 0x140, "sscratch" }, { 0x141, "sepc" }, { 0x142, "scause" },
    { 0x143, "stval" }, { 0x144, "sip" }, { 0x180, "satp" },
    { 0xf11, "mvendorid" }, { 0xf12, "marchid" }, { 0xf13, "mimpid" }, { 0xf14, "mhartid" },
    { 0xf15, "mconfigptr" },
    { 0x300, "mstatus" }, { 0x301, "misa" }, { 0x302, "medeleg" }, { 0x303, "mideleg" },
    { 0x304, "mie" }, { 0x305, "mtvec" }, { 0x306, "mcounteren" }, { 0x30a, "menvcfg" },
    { 0x340, "mscratch" }, { 0x341, "mepc" }, { 0x342, "mcause" }, { 0x343, "mtval" },
    { 0x344, "mip" },
    { 0x3a0, "pmpcfg0" }, { 0x3a2, "pmpcfg2" }, { 0x3b0, "pmpaddr0" }, { 0x3bf, "pmpaddr15" },
};

/* CSRs that do not exist on an RV64 hart with S and U but no H: illegal from every mode. */
static const struct csr_def absent_csrs[] = {
    { 0x200, "vsstatus (H)" }, { 0x600, "hstatus (H)" }, { 0x60a, "henvcfg (H)" },
    { 0x34a, "mtinst (H)" }, { 0x34b, "mtval2 (H)" },
    { 0x310, "mstatush (RV32)" }, { 0x31a, "menvcfgh (RV32)" }, { 0x3a1, "pmpcfg1 (RV32)" },
    { 0x3a3, "pmpcfg3 (RV32)" }, { 0xc80, "cycleh (RV32)" }, { 0xb80, "mcycleh (RV32)" },
    { 0x000, "ustatus (N, gone)" }, { 0x102, "sedeleg (N, gone)" }, { 0x103, "sideleg (N, gone)" },
};

static unsigned int csr_min_priv(unsigned int num)
{
    return (num >> 8) & 3;
}

static bool csr_read_only(unsigned int num)
{
    return (num >> 10) == 3;
}

/*
 * Each defined CSR read (csrrs rd, csr, x0) and written back unchanged
 * (csrrs rd, csr, a1 with a1 = 0: a write for Zicsr) from @priv; illegal
 * ones must trap with cause 2 where @deleg2 sends them.
 */
static void test_access_from(unsigned int priv, bool deleg2)
{
    unsigned int bad = 0, good = 0;

    csr_write(medeleg, deleg2 ? BIT(CAUSE_ILLEGAL_INSTRUCTION) : 0);
    for (unsigned int i = 0; i < ARRAY_SIZE(defined_csrs); i++) {
        const struct csr_def *c = &defined_csrs[i];
        bool may_read = priv >= csr_min_priv(c->num);
        bool may_write = may_read && !csr_read_only(c->num);
        unsigned int want_mode = deleg2 && priv != PRIV_M ? PRIV_S : PRIV_M;
        struct trap t;
        bool ok;

        ok = csr_try(priv, CSR_READ, c->num, 0, NULL, &t);
        if (ok != may_read || (!ok && (t.cause != CAUSE_ILLEGAL_INSTRUCTION || t.mode != want_mode ||
                                       t.from != priv || t.epc != csr_code_addr() ||
                                       (t.tval && t.tval != csr_op_insn(CSR_READ, c->num))))) {
            report(false, "%s: read of %s (%#x): %s, cause %lu in %s, tval %#lx", priv_name(priv),
                   c->name, c->num, ok ? "done" : "trapped", (unsigned long)t.cause,
                   priv_name(t.mode), (unsigned long)t.tval);
            bad++;
        } else {
            good++;
        }
        ok = csr_try(priv, CSR_RS, c->num, 0, NULL, &t);
        if (ok != may_write || (!ok && (t.cause != CAUSE_ILLEGAL_INSTRUCTION || t.mode != want_mode ||
                                        t.from != priv ||
                                        (t.tval && t.tval != csr_op_insn(CSR_RS, c->num))))) {
            report(false, "%s: write of %s (%#x): %s, cause %lu in %s, tval %#lx", priv_name(priv),
                   c->name, c->num, ok ? "done" : "trapped", (unsigned long)t.cause,
                   priv_name(t.mode), (unsigned long)t.tval);
            bad++;
        } else {
            good++;
        }
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(absent_csrs); i++) {
        const struct csr_def *c = &absent_csrs[i];
        unsigned int want_mode = deleg2 && priv != PRIV_M ? PRIV_S : PRIV_M;
        struct trap t;
        u64 v;

        if (csr_try(priv, CSR_READ, c->num, 0, &v, &t) || t.cause != CAUSE_ILLEGAL_INSTRUCTION ||
            t.mode != want_mode) {
            report(false, "%s: %s (%#x) read: %s (cause %lu in %s)", priv_name(priv), c->name, c->num,
                   t.mode ? "wrong trap" : "no trap", (unsigned long)t.cause, priv_name(t.mode));
            bad++;
        } else {
            good++;
        }
    }
    csr_write(medeleg, 0);
    report(!bad, "%s: %u CSR accesses by the 2.1 rules (lowest privilege, read-only), %u "
           "absent CSRs illegal; illegal ones trapped in %s%s", priv_name(priv), good,
           (unsigned int)ARRAY_SIZE(absent_csrs), deleg2 && priv != PRIV_M ? "S" : "M",
           deleg2 ? " (medeleg[2] = 1)" : "");
}

static void test_access(void)
{
    report_prefix_push("access");
    for (unsigned int i = 0; i < ARRAY_SIZE(privs); i++) {
        test_access_from(privs[i], false);
        test_access_from(privs[i], true);
    }
    /* CSRRW with rd = x0 writes without reading: a read-only CSR still traps */
    {
        struct trap t;
        bool ok = csr_try(PRIV_M, CSR_RW, 0xf14, 0, NULL, &t);
        check_trap(&t, !ok, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_M, csr_code_addr(),
                   csr_op_insn(CSR_RW, 0xf14), "M: csrrw of mhartid");
        ok = csr_try(PRIV_M, CSR_RC, 0xc01, 0, NULL, &t);
        check_trap(&t, !ok, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_M, csr_code_addr(),
                   csr_op_insn(CSR_RC, 0xc01), "M: csrrc (a write) of time");
    }
    report_prefix_pop();
}

/* ---- identity ---- */
static volatile bool hart_ok[MAX_HARTS];
static volatile u64 hart_seen[MAX_HARTS];

static void hartid_on_hart(void *arg)
{
    unsigned long h = hart_id();

    hart_seen[h] = csr_read(mhartid);
    hart_ok[h] = hart_seen[h] == h;
}

static void test_identity(void)
{
    u64 misa = csr_read(misa), v;

    report_prefix_push("identity");
    report(csr_read(mhartid) == hart_id(), "mhartid %lu = a0 at entry", csr_read(mhartid));
    for (unsigned long h = 1; h < machine.nr_harts; h++) {
        if (!hart_online(h)) {
            report(false, "hart %lu online", h);
            continue;
        }
        on_hart(h, hartid_on_hart, NULL);
        report(hart_ok[h], "hart %lu: mhartid %lu = a0 at entry", h, (unsigned long)hart_seen[h]);
    }
    report_info("mvendorid %#lx marchid %#lx mimpid %#lx mconfigptr %#lx", csr_read(mvendorid),
                csr_read(marchid), csr_read(mimpid), csr_op(CSR_READ, 0xf15, 0));
    report((misa >> 62) == 2, "misa.MXL = 2 (64-bit)");
    report((misa & BIT('I' - 'A')) && (misa & BIT('S' - 'A')) && (misa & BIT('U' - 'A')) &&
           !(misa & BIT('H' - 'A')), "misa: I, S, U, no H (%#lx)", misa);
    report(!(misa & GENMASK(61, 26)), "misa bits 61:26 zero");
    /* misa is WARL and may be writable; both QEMU's and the spec's fixed misa keep it */
    v = csr_swap(misa, 0);
    v = csr_read(misa);
    if (v != misa) {
        report_info("misa took 0 (%#lx): written back", v);
        csr_write(misa, misa);
    }
    report(csr_read(misa) == misa, "misa after writing 0: %#lx (read-only here, or restored)",
           csr_read(misa));
    report_prefix_pop();
}

/* ---- mstatus and sstatus ---- */
/* One write: a field cleared then set by two writes would pass through other values. */
static u64 mstatus_with(u64 clear, u64 set)
{
    csr_write(mstatus, (csr_read(mstatus) & ~clear) | set);
    return csr_read(mstatus);
}

static void test_mstatus(void)
{
    u64 s0 = csr_read(mstatus), s, bad;
    static const struct { u64 bit; const char *name; } rw[] = {
        { MSTATUS_SIE, "SIE" }, { MSTATUS_MIE, "MIE" }, { MSTATUS_SPIE, "SPIE" },
        { MSTATUS_MPIE, "MPIE" }, { MSTATUS_SPP, "SPP" }, { MSTATUS_SUM, "SUM" },
        { MSTATUS_MXR, "MXR" }, { MSTATUS_TVM, "TVM" }, { MSTATUS_TW, "TW" },
        { MSTATUS_TSR, "TSR" },
    };

    report_prefix_push("mstatus");
    report(((s0 & MSTATUS_SXL) >> 34) == 2 && ((s0 & MSTATUS_UXL) >> 32) == 2, "SXL = UXL = 2 (%#lx)", s0);
    bad = 0;
    for (unsigned int i = 0; i < ARRAY_SIZE(rw); i++) {
        bool on = mstatus_with(0, rw[i].bit) & rw[i].bit;
        bool off = mstatus_with(rw[i].bit, 0) & rw[i].bit;

        if (!on || off) {
            report(false, "%s: set %d, cleared %d", rw[i].name, on, off);
            bad++;
        }
    }
    report(!bad, "SIE, MIE, SPIE, MPIE, SPP, SUM, MXR, TVM, TW, TSR each set and clear (mie = 0)");
    /* MPRV: with MPP = M it changes nothing for M's own loads and stores */
    mstatus_with(MSTATUS_MPP, MPP(PRIV_M));
    s = mstatus_with(0, MSTATUS_MPRV);
    report((s & MSTATUS_MPRV) && !(mstatus_with(MSTATUS_MPRV, 0) & MSTATUS_MPRV), "MPRV set and clear");
    bad = 0;
    for (unsigned int p = 0; p < 4; p++) {
        u64 got = (mstatus_with(MSTATUS_MPP, MPP(p)) & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT;
        if (p != 2 && got != p)
            bad++;
        if (p == 2) {
            report(got != 2, "MPP written 2 (reserved): reads %lu, a legal mode", got);
            report_info("MPP 2 read back as %lu (it held 1 before: WARL kept it, or chose)", got);
        }
    }
    report(!bad, "MPP holds M, S and U");
    /* SXL/UXL: WARL; 1 (RV32) may be taken where supported, 3 (RV128) is not legal */
    s = mstatus_with(MSTATUS_SXL | MSTATUS_UXL, (1UL << 34) | (1UL << 32));
    report(((s >> 34) & 3) == 2 && (((s >> 32) & 3) == 2 || ((s >> 32) & 3) == 1),
           "SXL/UXL written 1/1: read %lu/%lu (2, or RV32 U-mode)", (s >> 34) & 3, (s >> 32) & 3);
    s = mstatus_with(MSTATUS_SXL | MSTATUS_UXL, (3UL << 34) | (3UL << 32));
    report_or_known(((s >> 34) & 3) == 2 && ((s >> 32) & 3) != 3 && ((s >> 32) & 3) != 0,
                    "QEMU takes UXL 3, which is no XLEN of this hart (3.1.6.2)",
                    "SXL/UXL written 3/3 (RV128): read %lu/%lu, legal XLENs", (s >> 34) & 3, (s >> 32) & 3);
    mstatus_with(MSTATUS_SXL | MSTATUS_UXL, (2UL << 34) | (2UL << 32));
    /* FS and SD (3.1.6.6) */
    bad = 0;
    for (u64 fs = 0; fs < 4; fs++) {
        u64 st = mstatus_with(MSTATUS_FS, fs << 13);
        bool others_dirty = (st & MSTATUS_VS) == MSTATUS_VS || (st & MSTATUS_XS) == MSTATUS_XS;
        bool sd_want = fs == 3 || others_dirty;
        u64 ss = csr_read(sstatus);

        if (((st >> 13) & 3) != fs || !!(st & MSTATUS_SD) != sd_want || !!(ss & MSTATUS_SD) != sd_want ||
            ((ss >> 13) & 3) != fs) {
            report(false, "FS %lu: mstatus %#lx sstatus %#lx", fs, st, ss);
            bad++;
        }
    }
    report(!bad, "FS takes Off/Initial/Clean/Dirty; SD (mstatus and sstatus) = FS Dirty");
    mstatus_with(MSTATUS_FS, 0);
    s = csr_read(mstatus);
    report(!(s & (MSTATUS_UBE | MSTATUS_SBE | MSTATUS_MBE)), "UBE, SBE, MBE 0 (little-endian)");
    /* SD is read-only */
    s = mstatus_with(0, MSTATUS_SD);
    report(!(s & MSTATUS_SD), "SD written 1 with FS Off: reads 0");
    csr_write(mstatus, s0);
    report_prefix_pop();
}

static u64 s_write_sstatus(u64 val, u64 unused)
{
    u64 old = csr_read(sstatus);

    csr_write(sstatus, val);
    val = csr_read(sstatus);
    csr_write(sstatus, old);
    return val;
}

static void test_sstatus(void)
{
    const u64 m_only = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM |
                       MSTATUS_TW | MSTATUS_TSR;
    const u64 s_rw = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR;
    u64 s0 = csr_read(mstatus), m, ss, got;

    report_prefix_push("sstatus");
    /* M-only fields set (MPP = M keeps MPRV harmless; mie = 0 keeps MIE so) */
    m = mstatus_with(0, MPP(PRIV_M) | MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPRV | MSTATUS_TVM |
                     MSTATUS_TW | MSTATUS_TSR | MSTATUS_SPIE | MSTATUS_SUM);
    ss = csr_read(sstatus);
    mstatus_with(MSTATUS_MPRV | MSTATUS_MIE, 0);
    report(ss == (m & SSTATUS_VIEW), "sstatus = mstatus & the S view (%#lx of %#lx)", ss, m);
    report(!(ss & (m_only | MSTATUS_SXL)), "sstatus shows no M-only field");
    /* writing sstatus from M: only S fields change */
    csr_write(mstatus, s0 & ~MSTATUS_FS);
    m = csr_read(mstatus);
    csr_write(sstatus, ~MSTATUS_UBE);
    got = csr_read(mstatus);
    report((got & m_only) == (m & m_only) && (got & s_rw) == s_rw,
           "M writes sstatus all ones: S fields set, M fields kept (%#lx -> %#lx)", m, got);
    csr_write(mstatus, s0);
    /* from S */
    m = csr_read(mstatus);
    got = run_in(PRIV_S, s_write_sstatus, ~MSTATUS_UBE & ~MSTATUS_SIE, 0);
    report((got & s_rw & ~MSTATUS_SIE) == (s_rw & ~MSTATUS_SIE) && !(got & m_only),
           "S writes sstatus: SPIE, SPP, FS, SUM, MXR take it (%#lx)", got);
    report((csr_read(mstatus) & m_only & ~MSTATUS_MPP) == (m & m_only & ~MSTATUS_MPP),
           "M fields unchanged by S's write");
    csr_write(mstatus, s0);
    report_prefix_pop();
}

/* ---- delegation, interrupt enables and pending bits ---- */
static void test_deleg(void)
{
    const u64 need = BIT(CAUSE_ILLEGAL_INSTRUCTION) | BIT(CAUSE_BREAKPOINT) | BIT(CAUSE_USER_ECALL) |
                     BIT(CAUSE_FETCH_PAGE_FAULT) | BIT(CAUSE_LOAD_PAGE_FAULT) |
                     BIT(CAUSE_STORE_PAGE_FAULT);
    u64 e, i;

    report_prefix_push("deleg");
    csr_write(medeleg, ~0UL);
    e = csr_read(medeleg);
    csr_write(medeleg, 0);
    report_info("medeleg writable bits %#lx", e);
    report((e & need) == need, "medeleg: illegal instruction, breakpoint, ECALL from U and the "
           "page faults delegable");
    if (e & (BIT(10) | BIT(14) | GENMASK(63, 16)))
        report_info("medeleg: reserved or H-only causes writable (%#lx): the spec says such bits "
                    "should be read-only 0 (3.1.8), not must", e & (BIT(10) | BIT(14) | GENMASK(63, 16)));
    if (e & BIT(CAUSE_MACHINE_ECALL))
        report_info("medeleg[11] (ECALL from M) writable: 1.12 says it should be read-only 0");
    report(csr_read(medeleg) == 0, "medeleg written 0 reads 0");
    csr_write(mideleg, ~0UL);
    i = csr_read(mideleg);
    csr_write(mideleg, 0);
    report_info("mideleg writable bits %#lx", i);
    report((i & (MIP_SSIP | MIP_STIP | MIP_SEIP)) == (MIP_SSIP | MIP_STIP | MIP_SEIP),
           "mideleg: SSI, STI, SEI delegable");
    report(!(i & (MIP_MSIP | MIP_MTIP | MIP_MEIP)), "mideleg: MSI, MTI, MEI read 0");
    report(csr_read(mideleg) == 0, "mideleg written 0 reads 0");
    report_prefix_pop();
}

static u64 s_sie_sip(u64 sie_val, u64 sip_val)
{
    csr_write(sie, sie_val);
    csr_write(sip, sip_val);
    return csr_read(sie) << 32 | csr_read(sip);
}

static void test_ie_ip(void)
{
    const u64 six = MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP;
    const u64 s3 = MIP_SSIP | MIP_STIP | MIP_SEIP;
    u64 v, w;

    report_prefix_push("mie/mip");
    csr_write(mie, ~0UL);
    v = csr_read(mie);
    csr_write(mie, 0);
    report((v & six) == six, "mie: SSIE, MSIE, STIE, MTIE, SEIE, MEIE writable (%#lx)", v);
    report(csr_read(mie) == 0, "mie written 0 reads 0");
    /* mip: M writes SSIP, STIP, SEIP; MSIP, MTIP, MEIP are the CLINT's and the PLIC's */
    w = csr_read(mip);
    report(!(w & six), "mip at rest: nothing pending (%#lx)", w);
    csr_write(mip, s3 | MIP_MSIP | MIP_MTIP | MIP_MEIP);
    v = csr_read(mip);
    csr_write(mip, 0);
    report((v & s3) == s3, "mip: M sets SSIP, STIP, SEIP (%#lx)", v);
    report(!(v & (MIP_MSIP | MIP_MTIP | MIP_MEIP)), "mip: MSIP, MTIP, MEIP not set by a CSR write");
    report(!(csr_read(mip) & six), "mip written 0: nothing pending");

    /* not delegated: sie and sip read 0 and ignore writes */
    csr_write(mideleg, 0);
    csr_write(mie, s3);
    csr_write(mip, MIP_SSIP);
    report(csr_read(sie) == 0 && csr_read(sip) == 0, "mideleg 0: sie and sip read 0 (mie %#lx, mip %#lx)",
           csr_read(mie), csr_read(mip));
    csr_write(mie, 0);
    csr_write(mip, 0);
    csr_write(sie, ~0UL);
    csr_write(sip, ~0UL);
    report(csr_read(mie) == 0 && !(csr_read(mip) & s3), "mideleg 0: writes to sie/sip change nothing");
    /* delegated: sie = mie & mideleg, sip likewise; S writes sie bits and SSIP only */
    csr_write(mideleg, s3);
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    csr_write(sie, ~0UL);
    report(csr_read(mie) == (MIP_MSIP | MIP_MTIP | s3) && csr_read(sie) == s3,
           "mideleg SSI/STI/SEI: sie all ones sets those three in mie, M bits kept (mie %#lx)",
           csr_read(mie));
    csr_write(sie, 0);
    report(csr_read(mie) == (MIP_MSIP | MIP_MTIP), "sie written 0 clears only the delegated bits");
    csr_write(mie, 0);
    csr_write(sip, ~0UL);
    v = csr_read(mip);
    report((v & s3) == MIP_SSIP, "sip all ones (from M): only SSIP set (mip %#lx)", v);
    csr_write(mip, MIP_STIP | MIP_SEIP);
    report(csr_read(sip) == (MIP_STIP | MIP_SEIP), "sip shows the delegated STIP and SEIP M set");
    csr_write(sip, 0);
    report((csr_read(mip) & s3) == (MIP_STIP | MIP_SEIP), "sip written 0 leaves STIP and SEIP (read-only in sip)");
    csr_write(mip, 0);
    /* the same from S (nothing enabled: nothing is taken) */
    v = run_in(PRIV_S, s_sie_sip, ~0UL, ~0UL);
    report((v >> 32) == s3 && (v & 0xffffffff) == MIP_SSIP,
           "from S: sie all ones reads SSIE/STIE/SEIE, sip all ones sets SSIP alone (%#lx)", v);
    report(csr_read(mie) == s3 && (csr_read(mip) & s3) == MIP_SSIP, "M sees S's writes in mie and mip");
    csr_write(mie, 0);
    csr_write(mip, 0);
    csr_write(mideleg, MIP_SSIP);
    v = run_in(PRIV_S, s_sie_sip, ~0UL, 0);
    report((v >> 32) == MIP_SSIP && csr_read(mie) == MIP_SSIP,
           "mideleg SSI only: S's sie all ones sets SSIE alone");
    csr_write(mie, 0);
    csr_write(mideleg, 0);
    report_prefix_pop();
}

/* ---- trap vectors, epc, scratch, cause, tval ---- */
static void test_tvec(void)
{
    u64 mt = csr_read(mtvec), st = csr_read(stvec), base = (u64)__image_start + 0x100, v;
    u64 saved_mie = csr_read(mie);

    report_prefix_push("tvec");
    csr_write(mie, 0);
    /* nothing may trap while mtvec is off the vector: CSR accesses only */
    csr_write(mtvec, base);
    v = csr_read(mtvec);
    csr_write(mtvec, base | 1);
    u64 vec = csr_read(mtvec);
    csr_write(mtvec, base | 2);
    u64 r2 = csr_read(mtvec);
    csr_write(mtvec, base | 3);
    u64 r3 = csr_read(mtvec);
    csr_write(mtvec, mt);
    report(v == base, "mtvec Direct: %#lx", v);
    report(vec == (base | 1) || (vec & 3) == 0, "mtvec Vectored: %#lx (or Direct only)", vec);
    report((r2 & 3) < 2 && (r3 & 3) < 2, "mtvec MODE 2 and 3 (reserved): read %lu and %lu, legal",
           r2 & 3, r3 & 3);
    if (r2 == (base | 1) || r3 == (base | 1))
        report_info("mtvec: a reserved MODE write kept the register as it was");
    csr_write(stvec, base);
    v = csr_read(stvec);
    csr_write(stvec, base | 1);
    vec = csr_read(stvec);
    csr_write(stvec, base | 2);
    r2 = csr_read(stvec);
    csr_write(stvec, base | 3);
    r3 = csr_read(stvec);
    csr_write(stvec, st);
    report(v == base && (vec == (base | 1) || (vec & 3) == 0) && (r2 & 3) < 2 && (r3 & 3) < 2,
           "stvec: Direct %#lx, Vectored %#lx, MODE 2/3 read %lu/%lu", v, vec, r2 & 3, r3 & 3);
    csr_write(mie, saved_mie);
    report_prefix_pop();
}

static u64 s_epc(u64 val, u64 unused)
{
    csr_write(sepc, val);
    return csr_read(sepc);
}

static void test_epc_and_co(void)
{
    const u64 odd = 0x80001237UL;
    u64 ialign_mask = csr_read(misa) & BIT('C' - 'A') ? ~1UL : ~3UL;
    u64 v;

    report_prefix_push("epc/cause/tval/scratch");
    csr_write(mepc, odd);
    v = csr_read(mepc);
    report_or_known(v == (odd & ialign_mask), "QEMU keeps bit 0 of mepc/sepc (3.1.14, 4.1.7)",
                    "mepc %#lx reads %#lx (bit 0 zero; bit 1 too without C)", odd, v);
    csr_write(sepc, odd);
    v = csr_read(sepc);
    report_or_known(v == (odd & ialign_mask), "QEMU keeps bit 0 of mepc/sepc (3.1.14, 4.1.7)",
                    "sepc (from M) %#lx reads %#lx", odd, v);
    v = run_in(PRIV_S, s_epc, odd, 0);
    report_or_known(v == (odd & ialign_mask), "QEMU keeps bit 0 of mepc/sepc (3.1.14, 4.1.7)",
                    "sepc (from S) %#lx reads %#lx", odd, v);
    csr_write(mscratch, 0x1234567890abcdefUL);
    v = csr_read(mscratch);
    csr_write(mscratch, 0);
    report(v == 0x1234567890abcdefUL, "mscratch holds any value");
    csr_write(sscratch, 0xfedcba0987654321UL);
    v = csr_read(sscratch);
    csr_write(sscratch, 0);
    report(v == 0xfedcba0987654321UL, "sscratch holds any value");
    csr_write(mcause, CAUSE_INTERRUPT | IRQ_M_TIMER);
    v = csr_read(mcause);
    report(v == (CAUSE_INTERRUPT | IRQ_M_TIMER), "mcause holds an interrupt cause (%#lx)", v);
    csr_write(mcause, CAUSE_STORE_PAGE_FAULT);
    report(csr_read(mcause) == CAUSE_STORE_PAGE_FAULT, "mcause holds an exception cause");
    csr_write(scause, CAUSE_INTERRUPT | IRQ_S_SOFT);
    report(csr_read(scause) == (CAUSE_INTERRUPT | IRQ_S_SOFT), "scause holds an interrupt cause");
    csr_write(mtval, 0x80001235UL);
    csr_write(stval, 0x3fffff0001UL);
    report(csr_read(mtval) == 0x80001235UL && csr_read(stval) == 0x3fffff0001UL,
           "mtval and stval hold addresses");
    report_prefix_pop();
}

/* ---- satp ---- */
static u64 s_satp(u64 val, u64 unused)
{
    u64 old = csr_read(satp);

    csr_write(satp, val);
    val = csr_read(satp);
    csr_write(satp, old);
    sfence_vma();
    return val;
}

static void test_satp(void)
{
    u64 *root = pt_identity(3);
    u64 *root48 = pt_identity(4);
    u64 sv39 = SATP(SATP_SV39, 0xffff, root), v;

    report_prefix_push("satp");
    csr_write(satp, 0);
    report(csr_read(satp) == 0, "Bare: 0");
    csr_write(satp, sv39);
    v = csr_read(satp);
    report((v >> 60) == SATP_SV39 && (v & SATP_PPN) == (sv39 & SATP_PPN),
           "Sv39 with ASID all ones: MODE and PPN kept, ASID %#lx (ASIDLEN %u)",
           (v >> 44) & 0xffff, bits_set((v >> 44) & 0xffff));
    csr_write(satp, SATP(1, 0, root)); /* MODE 1: reserved on RV64 */
    report(csr_read(satp) == v, "MODE 1 (reserved): the write has no effect (%#lx)", csr_read(satp));
    csr_write(satp, SATP(15, 0, root)); /* custom: not supported here */
    report(csr_read(satp) == v, "MODE 15: the write has no effect");
    {
        u64 before = v;

        csr_write(satp, SATP(SATP_SV48, 1, root48));
        v = csr_read(satp);
        report(v == SATP(SATP_SV48, 1, root48) || v == before, "Sv48: %s",
               (v >> 60) == SATP_SV48 ? "supported" : "not supported, the write ignored");
        report(machine.sv48 == ((v >> 60) == SATP_SV48), "Sv48 as probed at boot");
    }
    csr_write(satp, SATP(SATP_SV57, 1, root48));
    v = csr_read(satp);
    report_info("Sv57: %s", (v >> 60) == SATP_SV57 ? "supported" : "not supported (write ignored)");
    report((v >> 60) == SATP_SV57 || (v >> 60) == SATP_SV48 || (v >> 60) == SATP_SV39,
           "Sv57 write: taken, or ignored (satp still %#lx)", v >> 60);
    csr_write(satp, 0);
    sfence_vma();
    /* from S (TVM 0), onto an identity map of the guest */
    v = run_in(PRIV_S, s_satp, SATP(SATP_SV39, 5, root), 0);
    report(v == SATP(SATP_SV39, 5, root) || ((v >> 60) == SATP_SV39 && (v & SATP_PPN) == (u64)root >> 12),
           "S writes satp Sv39, ASID 5 (%#lx)", v);
    report(csr_read(satp) == 0, "S wrote 0 back");
    report_prefix_pop();
}

/* ---- counters (3.1.10-3.1.12, 4.1.5; Zicntr, Zihpm) ---- */
#define CSR_MCYCLE 0xb00
#define CSR_MINSTRET 0xb02
#define CSR_MHPMCOUNTER3 0xb03
#define CSR_MCOUNTINHIBIT 0x320
#define CSR_MHPMEVENT3 0x323
#define CSR_CYCLE 0xc00
#define CSR_HPMCOUNTER3 0xc03
#define COUNTINHIBIT_CY BIT(0)
#define COUNTINHIBIT_IR BIT(2)

/*
 * cycle, time, instret read from M, S and U under every mcounteren and
 * scounteren bit: M always, S by mcounteren, U by both; else an illegal
 * instruction in M, mtval 0 or the instruction. @when: the counters'
 * state (a hypervisor may serve them natively or emulate them).
 */
static void counteren_matrix(const char *when)
{
    static const char *const names[] = { "cycle", "time", "instret" };
    unsigned int bad = 0, n = 0;

    for (unsigned int c = 0; c < 3; c++) {
        for (unsigned int m = 0; m < 2; m++) {
            for (unsigned int s = 0; s < 2; s++) {
                csr_write(mcounteren, m ? BIT(c) : 0);
                csr_write(scounteren, s ? BIT(c) : 0);
                for (unsigned int p = 0; p < 3; p++) {
                    unsigned int priv = privs[p];
                    bool want = priv == PRIV_M || (priv == PRIV_S ? m : m && s);
                    u32 insn = csr_op_insn(CSR_READ, CSR_CYCLE + c);
                    struct trap t;
                    bool ok = csr_try(priv, CSR_READ, CSR_CYCLE + c, 0, NULL, &t);

                    n++;
                    if (ok == want && (ok || (t.cause == CAUSE_ILLEGAL_INSTRUCTION &&
                                              t.mode == PRIV_M && t.epc == csr_code_addr() &&
                                              (!t.tval || t.tval == insn))))
                        continue;
                    report(false, "%s in %s with mcounteren %u scounteren %u: %s (cause %lu, "
                           "tval %#lx)", names[c], priv_name(priv), m, s, ok ? "read" : "trapped",
                           ok ? 0UL : (unsigned long)t.cause, ok ? 0UL : (unsigned long)t.tval);
                    bad++;
                }
            }
        }
    }
    csr_write(mcounteren, 7);
    csr_write(scounteren, 7);
    report(!bad, "%u reads of cycle, time, instret (%s): M always, S by mcounteren, U by both",
           n, when);
}

static void test_counteren(void)
{
    u64 v;

    report_prefix_push("counteren");
    csr_write(mcounteren, ~0UL);
    v = csr_read(mcounteren);
    report((v & 7) == 7, "mcounteren CY, TM, IR writable (%#lx)", v);
    csr_write(scounteren, ~0UL);
    v = csr_read(scounteren);
    report((v & 7) == 7, "scounteren CY, TM, IR writable (%#lx)", v);
    counteren_matrix("counters never written");
    report_prefix_pop();
}

/*
 * How far past a value written (or a stopped counter restarted) a read
 * may be. Without icount QEMU's mcycle and minstret both count host ticks,
 * not instructions, and the code between (csr_op's instruction rebuilt
 * and fenced, run_in, a hypervisor's traps) takes milliseconds on a loaded
 * machine: 2^32 ticks, over a second. The counters' own values are far
 * past that (the host's uptime in ticks), so an ignored write still shows.
 */
#define NEAR (1UL << 32)

/* Two reads in a row of @csr from M: false if it cannot be read */
static bool read_pair(unsigned int csr, u64 *a, u64 *b)
{
    struct trap t;

    return csr_try(PRIV_M, CSR_READ, csr, 0, a, &t) && csr_try(PRIV_M, CSR_READ, csr, 0, b, &t);
}

/* @csr written @val from M, then read: at @val or a little past it (NEAR) */
static void written_reads_near(unsigned int csr, const char *name, u64 val)
{
    struct trap t;
    u64 v = 0;
    bool ok = csr_try(PRIV_M, CSR_RW, csr, val, NULL, &t) &&
              csr_try(PRIV_M, CSR_READ, csr, 0, &v, &t);

    report(ok && v >= val && v - val <= NEAR, "%s written %#lx: reads %#lx (%lu past)",
           name, (unsigned long)val, (unsigned long)v, (unsigned long)(v - val));
}

/* 3.1.10: the hpm counters may be read-only 0 (Keel's) or count; every such CSR is there */
static void test_hpm(void)
{
    struct trap t;
    u64 a = 0, e = 0;
    bool ok;

    ok = csr_try(PRIV_M, CSR_RW, CSR_MHPMEVENT3, 0, NULL, &t) &&
         csr_try(PRIV_M, CSR_RW, CSR_MHPMCOUNTER3, 0x1234, NULL, &t) &&
         csr_try(PRIV_M, CSR_READ, CSR_MHPMCOUNTER3, 0, &a, &t) &&
         csr_try(PRIV_M, CSR_READ, CSR_MHPMEVENT3, 0, &e, &t);
    report(ok && (a == 0 || a == 0x1234) && e == 0,
           "mhpmcounter3 written 0x1234 with mhpmevent3 0 (no event): reads %#lx (0: read-only "
           "0, or the value kept), mhpmevent3 %#lx", (unsigned long)a, (unsigned long)e);
    ok = csr_try(PRIV_M, CSR_RW, CSR_MHPMEVENT3, 1, NULL, &t) &&
         csr_try(PRIV_M, CSR_READ, CSR_MHPMEVENT3, 0, &e, &t);
    report_info("mhpmevent3 written 1: reads %#lx; mhpmcounter3 %s", (unsigned long)e,
                a ? "a counter" : "read-only 0");
    if (!native_qemu())
        report(ok && a == 0 && e == 0, "Keel: mhpmcounter3 and mhpmevent3 read-only 0 (%#lx, %#lx)",
               (unsigned long)a, (unsigned long)e);
    csr_try(PRIV_M, CSR_RW, CSR_MHPMEVENT3, 0, NULL, &t);
    a = 0;
    ok = csr_try(PRIV_M, CSR_READ, 0xb1f, 0, &a, &t);
    report_or_known(ok, "QEMU makes the counters beyond its pmu-mask illegal (3.1.10: all 29 exist, "
                    "read-only 0 at least)", "mhpmcounter31 readable (%#lx)", a);
    ok = csr_try(PRIV_M, CSR_READ, CSR_HPMCOUNTER3, 0, &a, &t);
    report(ok, "hpmcounter3 readable in M (%#lx)", a);
    /* S: hpmcounter3 by mcounteren bit 3, as the others (3.1.11) */
    csr_write(mcounteren, 7);
    ok = csr_try(PRIV_S, CSR_READ, CSR_HPMCOUNTER3, 0, &a, &t);
    report(!ok && t.cause == CAUSE_ILLEGAL_INSTRUCTION && t.mode == PRIV_M,
           "hpmcounter3 in S with mcounteren bit 3 clear: illegal instruction in M");
    csr_write(mcounteren, 7 | BIT(3));
    if (csr_read(mcounteren) & BIT(3)) {
        ok = csr_try(PRIV_S, CSR_READ, CSR_HPMCOUNTER3, 0, &a, &t);
        report(ok, "hpmcounter3 in S with mcounteren bit 3 set: reads %#lx", (unsigned long)a);
    } else {
        report_info("mcounteren bit 3 read-only 0");
    }
    csr_write(mcounteren, 7);
}

/*
 * 3.1.12: CY and IR stop mcycle and minstret, which keep their values (and
 * take writes); cleared, they count on from there. Bit 1 (time) is 0.
 */
static void test_mcountinhibit(void)
{
    struct trap t;
    u64 v = 0, a = 0, b = 0;

    if (!csr_try(PRIV_M, CSR_RW, CSR_MCOUNTINHIBIT, ~0UL, NULL, &t)) {
        report_info("mcountinhibit: absent (allowed: it is optional)");
        return;
    }
    v = csr_read(0x320);
    report(!(v & BIT(1)), "mcountinhibit written all ones: %#lx, bit 1 0", (unsigned long)v);
    if ((v & (COUNTINHIBIT_CY | COUNTINHIBIT_IR)) != (COUNTINHIBIT_CY | COUNTINHIBIT_IR)) {
        report_info("mcountinhibit CY, IR not both writable (%#lx)", (unsigned long)v);
        csr_write(0x320, 0);
        return;
    }
    report(read_pair(CSR_MCYCLE, &a, &b) && a == b, "CY 1: mcycle stands (%#lx, %#lx)", a, b);
    report(read_pair(CSR_MINSTRET, &a, &b) && a == b, "IR 1: minstret stands (%#lx, %#lx)", a, b);
    csr_try(PRIV_M, CSR_RW, CSR_MCYCLE, 1000, NULL, &t);
    csr_try(PRIV_M, CSR_RW, CSR_MINSTRET, 2000, NULL, &t);
    report(read_pair(CSR_MCYCLE, &a, &b) && a == 1000 && b == 1000,
           "CY 1: mcycle written 1000 reads 1000 (%lu, %lu)", a, b);
    report(read_pair(CSR_MINSTRET, &a, &b) && a == 2000 && b == 2000,
           "IR 1: minstret written 2000 reads 2000 (%lu, %lu)", a, b);
    /* cycle from S: the stopped value too */
    report(csr_try(PRIV_S, CSR_READ, CSR_CYCLE, 0, &a, &t) && a == 1000,
           "CY 1: cycle in S reads %lu", a);
    csr_write(0x320, 0);
    report(read_pair(CSR_MCYCLE, &a, &b) && a >= 1000 && b > a && a - 1000 <= NEAR,
           "CY 0: mcycle counts on from 1000 (%lu, %lu)", a, b);
    report(read_pair(CSR_MINSTRET, &a, &b) && a >= 2000 && b > a && a - 2000 <= NEAR,
           "IR 0: minstret counts on from 2000 (%lu, %lu)", a, b);
}

static void test_mcounters(void)
{
    struct trap t;
    u64 a = 0, b = 0;
    bool ok;

    report_prefix_push("counters");
    ok = read_pair(CSR_MCYCLE, &a, &b);
    report(ok && b > a, "mcycle reads and counts (%#lx, %#lx)", a, b);
    ok = read_pair(CSR_MINSTRET, &a, &b);
    report(ok && b > a, "minstret reads and counts (%#lx, %#lx)", a, b);
    written_reads_near(CSR_MINSTRET, "minstret", 1UL << 40);
    written_reads_near(CSR_MCYCLE, "mcycle", 1UL << 41);
    /* written: what S and U read moves with it, as it does for M */
    report(csr_try(PRIV_S, CSR_READ, CSR_CYCLE, 0, &a, &t) && a >= (1UL << 41) &&
           a - (1UL << 41) <= NEAR, "cycle in S after mcycle written: %#lx", a);
    report(csr_try(PRIV_U, CSR_READ, CSR_CYCLE + 2, 0, &a, &t) && a >= (1UL << 40) &&
           a - (1UL << 40) <= NEAR, "instret in U after minstret written: %#lx", a);
    counteren_matrix("mcycle and minstret written");
    test_hpm();
    test_mcountinhibit();
    /* time is CLINT mtime */
    a = readq(CLINT_MTIME);
    b = rdtime();
    u64 c = readq(CLINT_MTIME);
    report(a <= b && b <= c, "time between two reads of the CLINT's mtime (%lu <= %lu <= %lu)", a, b, c);
    report_prefix_pop();
}

/* ---- envcfg ---- */
static u64 s_senvcfg(u64 val, u64 unused)
{
    u64 old = csr_read(0x10a);

    csr_write(0x10a, val);
    val = csr_read(0x10a);
    csr_write(0x10a, old);
    return val;
}

static void test_envcfg(void)
{
    u64 m0 = csr_read(0x30a), v;

    report_prefix_push("envcfg");
    report_info("menvcfg at reset %#lx, senvcfg %#lx", m0, csr_read(0x10a));
    csr_write(0x30a, m0 | 1);
    v = csr_read(0x30a);
    csr_write(0x30a, m0 & ~1UL);
    report((v & 1) && !(csr_read(0x30a) & 1), "menvcfg.FIOM set and clear");
    csr_write(0x30a, ~0UL);
    v = csr_read(0x30a);
    csr_write(0x30a, m0);
    report_info("menvcfg writable bits %#lx", v);
    report(csr_read(0x30a) == m0, "menvcfg restored");
    csr_write(0x10a, 1);
    v = csr_read(0x10a);
    csr_write(0x10a, 0);
    report((v & 1) && csr_read(0x10a) == 0, "senvcfg.FIOM set and clear (from M)");
    v = run_in(PRIV_S, s_senvcfg, 1, 0);
    report(v & 1, "senvcfg.FIOM set from S");
    report_prefix_pop();
}

/* ---- PMP (3.7) ---- */

static u8 pmpcfg_entry(unsigned int i)
{
    u64 reg = i < 8 ? csr_read(pmpcfg0) : csr_read(pmpcfg2);

    return (u8)(reg >> (8 * (i % 8)));
}

/* Writes entry @i's byte (0-14: entry 15 stays NAPOT RWX over everything). */
static void pmpcfg_set(unsigned int i, u8 cfg)
{
    u64 reg = i < 8 ? csr_read(pmpcfg0) : csr_read(pmpcfg2);
    unsigned int sh = 8 * (i % 8);

    reg = (reg & ~(0xffUL << sh)) | (u64)cfg << sh;
    if (i < 8)
        csr_write(pmpcfg0, reg);
    else
        csr_write(pmpcfg2, reg);
}

static void test_pmp(void)
{
    u64 v, g;
    u8 c;
    struct trap t;

    report_prefix_push("pmp");
    csr_write(pmpaddr0, ~0UL);
    v = csr_read(pmpaddr0);
    if (!v) {
        report_skip("pmpaddr0 read-only 0: no PMP entries implemented");
        report_prefix_pop();
        return;
    }
    report_or_known(!(v & ~GENMASK(53, 0)), "QEMU keeps pmpaddr bits 63:54 (3.7.1: WARL 0 on RV64)",
                    "pmpaddr0 all ones: %#lx (bits 63:54 zero)", v);
    /* G from the lowest set bit with A = OFF (3.7.1) */
    g = low_zeros(v);
    report_info("PMP granularity 2^%lu bytes", g + 2);
    csr_write(pmpaddr0, 0x12345678UL);
    report(csr_read(pmpaddr0) == (0x12345678UL & ~((1UL << g) - 1)) || g > 0, "pmpaddr0 holds %#lx",
           csr_read(pmpaddr0));
    /* entry 0: the W=1 R=0 combination is reserved */
    pmpcfg_set(0, 0);
    pmpcfg_set(0, PMP_W);
    c = pmpcfg_entry(0);
    report_or_known(!((c & PMP_W) && !(c & PMP_R)), "QEMU stores R=0 W=1 (3.7.1: reserved)",
                    "pmp0cfg written W alone (reserved): reads %#x", c);
    pmpcfg_set(0, 0);
    pmpcfg_set(0, PMP_W | PMP_X | PMP_NA4);
    c = pmpcfg_entry(0);
    report_or_known(!((c & PMP_W) && !(c & PMP_R)), "QEMU stores R=0 W=1 (3.7.1: reserved)",
                    "pmp0cfg written W|X|NA4: reads %#x", c);
    pmpcfg_set(0, 0x60 | PMP_R);
    c = pmpcfg_entry(0);
    report_or_known(c == PMP_R, "QEMU keeps pmpcfg bits 6:5 (3.7.1: WARL 0)",
                    "pmp0cfg bits 6:5 read 0 (wrote %#x, reads %#x)", 0x60 | PMP_R, c);
    pmpcfg_set(0, 0);
    /* modes and permissions on an entry matching nothing S or U uses: address 0 */
    csr_write(pmpaddr1, 0);
    static const u8 cfgs[] = { PMP_R, PMP_R | PMP_W, PMP_R | PMP_W | PMP_X, PMP_X, PMP_TOR | PMP_R,
                               PMP_NAPOT | PMP_R | PMP_X };
    unsigned int bad = 0;
    for (unsigned int k = 0; k < ARRAY_SIZE(cfgs); k++) {
        pmpcfg_set(1, cfgs[k]);
        if (pmpcfg_entry(1) != cfgs[k])
            bad++;
    }
    pmpcfg_set(1, PMP_NA4 | PMP_R);
    c = pmpcfg_entry(1);
    report(!bad, "pmp1cfg takes R, RW, RWX, X, TOR, NAPOT");
    report(c == (PMP_NA4 | PMP_R) || g > 0, "NA4 %s (granularity 4 bytes)", c == (PMP_NA4 | PMP_R) ? "taken" : "not taken");
    pmpcfg_set(1, 0);
    /* pmpcfg2: entries 8-14 */
    pmpcfg_set(9, PMP_TOR | PMP_R | PMP_W);
    report(pmpcfg_entry(9) == (PMP_TOR | PMP_R | PMP_W) && pmpcfg_entry(15) == (PMP_NAPOT | 7),
           "pmpcfg2: pmp9cfg takes TOR RW, pmp15cfg keeps NAPOT RWX");
    pmpcfg_set(9, 0);
    /*
     * Locks. Entry 7: locked, OFF (it matches nothing, M included).
     * Entry 6: locked TOR over [0x400, 0x400), empty: it locks pmpaddr5 too.
     */
    csr_write(pmpaddr7, 0x2000);
    pmpcfg_set(7, PMP_L | PMP_R);
    csr_write(pmpaddr5, 0x100);
    csr_write(pmpaddr6, 0x100);
    pmpcfg_set(6, PMP_L | PMP_TOR | PMP_R | PMP_W | PMP_X);
    report(pmpcfg_entry(7) == (PMP_L | PMP_R) && pmpcfg_entry(6) == (PMP_L | PMP_TOR | 7),
           "entries 6 (TOR) and 7 locked");
    pmpcfg_set(7, PMP_R | PMP_W | PMP_X);
    pmpcfg_set(6, 0);
    report(pmpcfg_entry(7) == (PMP_L | PMP_R) && pmpcfg_entry(6) == (PMP_L | PMP_TOR | 7),
           "locked pmp6cfg/pmp7cfg ignore writes");
    csr_write(pmpaddr7, 0x3000);
    csr_write(pmpaddr6, 0x3000);
    csr_write(pmpaddr5, 0x3000);
    report(csr_read(pmpaddr7) == 0x2000 && csr_read(pmpaddr6) == 0x100,
           "locked entries' pmpaddr ignore writes");
    report(csr_read(pmpaddr5) == 0x100, "pmpaddr5 locked by entry 6 (locked, TOR)");
    pmpcfg_set(4, PMP_R);
    csr_write(pmpaddr4, 0x4000);
    report(pmpcfg_entry(4) == PMP_R && csr_read(pmpaddr4) == 0x4000, "unlocked entry 4 beside them still writable");
    pmpcfg_set(4, 0);
    /* entries past the 16th: read-only 0 where not implemented (0, 16 or 64 of them) */
    if (csr_try(PRIV_M, CSR_RW, 0x3c0, 0x5000, NULL, &t) && csr_try(PRIV_M, CSR_READ, 0x3c0, 0, &v, &t))
        report_info("pmpaddr16 %s (%#lx)", v ? "implemented" : "read-only 0", v);
    else
        report_info("pmpaddr16: illegal instruction");
    report_prefix_pop();
}

/* ---- MRET, SRET ---- */
static u64 s_read_sstatus(u64 a0, u64 a1)
{
    return csr_read(sstatus);
}

static u64 lower_value(u64 a0, u64 a1)
{
    return a0 + 1;
}

static void test_xret(void)
{
    u64 s0 = csr_read(mstatus), s, r;
    struct trap t;
    bool taken;

    report_prefix_push("xret");
    csr_write(mie, 0);
    /* MRET in M to M: MIE = MPIE, MPIE = 1, MPP = U */
    mstatus_with(MSTATUS_MIE, MPP(PRIV_M) | MSTATUS_MPIE);
    s = mret_in_m();
    mstatus_with(MSTATUS_MIE, 0);
    report((s & MSTATUS_MIE) && (s & MSTATUS_MPIE) && (s & MSTATUS_MPP) == MPP(PRIV_U),
           "MRET (MPP M, MPIE 1): MIE 1, MPIE 1, MPP U (%#lx)", s);
    mstatus_with(MSTATUS_MIE | MSTATUS_MPIE, MPP(PRIV_M));
    s = mret_in_m();
    report(!(s & MSTATUS_MIE) && (s & MSTATUS_MPIE) && (s & MSTATUS_MPP) == MPP(PRIV_U),
           "MRET (MPP M, MPIE 0): MIE 0, MPIE 1, MPP U (%#lx)", s);
    /* MRET to M keeps MPRV (MPP now U: M's loads and stores go as U, Bare, PMP entry 15) */
    mstatus_with(0, MPP(PRIV_M) | MSTATUS_MPRV);
    s = mret_in_m();
    mstatus_with(MSTATUS_MPRV, 0);
    report(s & MSTATUS_MPRV, "MRET to M keeps MPRV");
    /* MRET to S: MIE in S = MPIE; MPRV cleared; the ECALL back shows MPIE = that MIE */
    mstatus_with(MSTATUS_MIE, MSTATUS_MPIE | MPP(PRIV_M) | MSTATUS_MPRV);
    r = run_in(PRIV_S, lower_value, 41, 0);
    s = lower_exit[hart_id()].status;
    report(r == 42 && lower_exit[hart_id()].cause == CAUSE_SUPERVISOR_ECALL,
           "MRET with MPP S runs S (its ECALL: cause 9)");
    report(!(s & MSTATUS_MPRV), "MRET to S cleared MPRV (%#lx)", s);
    report((s & MSTATUS_MPIE) && (s & MSTATUS_MPP) == MPP(PRIV_S),
           "S ran with MIE = the MPIE before (1): the trap back has MPIE 1, MPP S");
    mstatus_with(MSTATUS_MPIE, 0);
    run_in(PRIV_U, lower_value, 0, 0);
    s = lower_exit[hart_id()].status;
    report(!(s & MSTATUS_MPIE) && (s & MSTATUS_MPP) == MPP(PRIV_U) &&
           lower_exit[hart_id()].cause == CAUSE_USER_ECALL,
           "MRET with MPP U, MPIE 0: U ran with MIE 0 (trap back: MPIE 0, MPP U, cause 8)");
    /* SRET in S to S: SIE = SPIE, SPIE = 1, SPP = U */
    s = run_in(PRIV_S, sret_in_s, MSTATUS_SPP | MSTATUS_SPIE, MSTATUS_SIE);
    report((s & MSTATUS_SIE) && (s & MSTATUS_SPIE) && !(s & MSTATUS_SPP),
           "SRET (SPP S, SPIE 1): SIE 1, SPIE 1, SPP U (%#lx)", s);
    s = run_in(PRIV_S, sret_in_s, MSTATUS_SPP | MSTATUS_SIE, MSTATUS_SPIE);
    report(!(s & MSTATUS_SIE) && (s & MSTATUS_SPIE) && !(s & MSTATUS_SPP),
           "SRET (SPP S, SPIE 0): SIE 0, SPIE 1, SPP U (%#lx)", s);
    /* SRET in S to U */
    r = run_in(PRIV_S, sret_to_u, 0, 0);
    report(r == 0x5a && lower_exit[hart_id()].cause == CAUSE_USER_ECALL &&
           (lower_exit[hart_id()].status & MSTATUS_MPP) == MPP(PRIV_U), "SRET with SPP U: U runs");
    /* SRET from M: to SPP, SIE = SPIE, SPIE = 1, SPP = U, MPRV cleared */
    mstatus_with(MSTATUS_SIE | MSTATUS_MPP, MSTATUS_SPIE | MPP(PRIV_M) | MSTATUS_MPRV);
    s = run_in_sret(PRIV_S, s_read_sstatus, 0, 0);
    report(lower_exit[hart_id()].cause == CAUSE_SUPERVISOR_ECALL && (s & MSTATUS_SIE) &&
           (s & MSTATUS_SPIE) && !(s & MSTATUS_SPP),
           "SRET in M with SPP S: S runs with SIE 1, SPIE 1, SPP U (%#lx)", s);
    report(!(lower_exit[hart_id()].status & MSTATUS_MPRV), "SRET from M to S cleared MPRV");
    csr_clear(sstatus, MSTATUS_SIE);
    r = run_in_sret(PRIV_U, lower_value, 6, 0);
    report(r == 7 && lower_exit[hart_id()].cause == CAUSE_USER_ECALL, "SRET in M with SPP U: U runs");
    /* MRET below M, SRET in U: illegal */
    for (unsigned int p = 0; p < 2; p++) {
        expect_trap();
        run_in(privs[p], do_mret, 0, 0);
        taken = trap_taken(&t);
        check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, privs[p], (u64)mret_insn, INSN_MRET,
                   privs[p] == PRIV_U ? "MRET in U" : "MRET in S");
    }
    expect_trap();
    run_in(PRIV_U, do_sret, 0, 0);
    taken = trap_taken(&t);
    check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_U, (u64)sret_insn, INSN_SRET, "SRET in U");
    csr_write(mstatus, s0);
    report_prefix_pop();
}

/* ---- TVM, TSR, TW ---- */
static volatile unsigned int backstop_before;

/* The M timer 100 ms ahead: bounds a WFI that does not trap (taken and masked by the lib). */
static void backstop_arm(void)
{
    backstop_before = irq_unhandled[hart_id()][IRQ_M_TIMER];
    writeq(CLINT_MTIMECMP(hart_id()), rdtime() + us_to_ticks(100000));
    csr_set(mie, MIP_MTIP);
}

static bool backstop_disarm(void)
{
    bool fired = irq_unhandled[hart_id()][IRQ_M_TIMER] != backstop_before;

    csr_clear(mie, MIP_MTIP);
    writeq(CLINT_MTIMECMP(hart_id()), ~0UL);
    return fired;
}

static void test_tvm_tsr_tw(void)
{
    u64 s0 = csr_read(mstatus);
    struct trap t;
    bool taken;

    report_prefix_push("TVM/TSR/TW");
    /* TVM: satp and SFENCE.VMA illegal in S, fine in M */
    csr_set(mstatus, MSTATUS_TVM);
    taken = !csr_try(PRIV_S, CSR_READ, 0x180, 0, NULL, &t);
    check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_S, csr_code_addr(),
               csr_op_insn(CSR_READ, 0x180), "TVM 1: S reads satp");
    taken = !csr_try(PRIV_S, CSR_RW, 0x180, 0, NULL, &t);
    check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_S, csr_code_addr(),
               csr_op_insn(CSR_RW, 0x180), "TVM 1: S writes satp");
    expect_trap();
    run_in(PRIV_S, do_sfence, 0, 0);
    taken = trap_taken(&t);
    check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_S, (u64)sfence_insn, INSN_SFENCE_VMA,
               "TVM 1: SFENCE.VMA in S");
    report(csr_try(PRIV_M, CSR_RW, 0x180, 0, NULL, &t), "TVM 1: M writes satp");
    expect_trap();
    do_sfence(0, 0);
    report(!trap_taken(NULL), "TVM 1: SFENCE.VMA in M");
    csr_clear(mstatus, MSTATUS_TVM);
    report(csr_try(PRIV_S, CSR_READ, 0x180, 0, NULL, &t), "TVM 0: S reads satp");
    expect_trap();
    run_in(PRIV_S, do_sfence, 0, 0);
    report(!trap_taken(NULL), "TVM 0: SFENCE.VMA in S");
    expect_trap();
    run_in(PRIV_U, do_sfence, 0, 0);
    taken = trap_taken(&t);
    check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_U, (u64)sfence_insn, INSN_SFENCE_VMA,
               "SFENCE.VMA in U");
    /* TSR: SRET illegal in S; M's SRET unaffected */
    csr_set(mstatus, MSTATUS_TSR);
    expect_trap();
    run_in(PRIV_S, do_sret, 0, 0);
    taken = trap_taken(&t);
    check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_S, (u64)sret_insn, INSN_SRET, "TSR 1: SRET in S");
    report(run_in_sret(PRIV_S, lower_value, 1, 0) == 2, "TSR 1: SRET in M still goes to S");
    csr_clear(mstatus, MSTATUS_TSR);
    /*
     * TW: WFI in S illegal (unless it ends within a bounded time: a timer
     * 100 ms ahead bounds it); M is not affected. TW 0: WFI in S waits for
     * an interrupt pending and enabled in sie/mie whatever SIE says: a
     * delegated SSIP, SIE 0, returns at once (before a 100 ms timer).
     */
    csr_clear(mstatus, MSTATUS_SIE | MSTATUS_SPIE);
    csr_write(mideleg, MIP_SSIP);
    csr_write(mie, MIP_SSIP);
    csr_write(mip, MIP_SSIP);
    csr_set(mstatus, MSTATUS_TW);
    backstop_arm();
    expect_trap();
    run_in(PRIV_S, do_wfi, 0, 0);
    taken = trap_taken(&t);
    bool fired = backstop_disarm();
    if (taken)
        check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_S, (u64)wfi_insn, INSN_WFI,
                   "TW 1: WFI in S");
    else
        report(true, "TW 1: WFI in S completed (allowed within a bounded time; timer %s)",
               fired ? "fired" : "not needed");
    backstop_arm();
    expect_trap();
    do_wfi(0, 0);
    taken = trap_taken(NULL);
    fired = backstop_disarm();
    report(!taken && !fired, "TW 1: WFI in M (SSIP pending and enabled, MIE 0) completes at once "
           "(trap %d, timer %d)", taken, fired);
    csr_clear(mstatus, MSTATUS_TW);
    backstop_arm();
    expect_trap();
    run_in(PRIV_S, do_wfi, 0, 0);
    taken = trap_taken(NULL);
    fired = backstop_disarm();
    report(!taken && !fired && (csr_read(mie) & MIP_SSIP) && !irq_unhandled[hart_id()][IRQ_S_SOFT],
           "TW 0: WFI in S with a delegated SSIP pending, SIE 0, completes at once, not taken "
           "(trap %d, timer %d, taken %u)", taken, fired, irq_unhandled[hart_id()][IRQ_S_SOFT]);
    csr_write(mip, 0);
    csr_write(mie, 0);
    csr_write(mideleg, 0);
    /* U: illegal whatever TW says while S exists (3.1.6.5), unless bounded */
    backstop_arm();
    expect_trap();
    run_in(PRIV_U, do_wfi, 0, 0);
    taken = trap_taken(&t);
    fired = backstop_disarm();
    if (taken)
        check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_U, (u64)wfi_insn, INSN_WFI,
                   "TW 0: WFI in U");
    else
        report(true, "TW 0: WFI in U completed (timer %s)", fired ? "woke it" : "not needed");
    csr_write(mstatus, s0);
    report_prefix_pop();
}

/* ---- ECALL, EBREAK, delegation, trap entry state ---- */
static void test_ecall_ebreak(void)
{
    u64 s0 = csr_read(mstatus);
    struct trap t;
    bool taken;
    char what[64];

    report_prefix_push("ecall/ebreak");
    for (unsigned int deleg = 0; deleg < 2; deleg++) {
        u64 ed = deleg ? BIT(CAUSE_USER_ECALL) | BIT(CAUSE_SUPERVISOR_ECALL) | BIT(CAUSE_MACHINE_ECALL) |
                         BIT(CAUSE_BREAKPOINT) : 0;

        for (unsigned int p = 0; p < 3; p++) {
            unsigned int priv = privs[p];
            unsigned int to = deleg && priv != PRIV_M ? PRIV_S : PRIV_M;
            u64 cause = priv == PRIV_U ? CAUSE_USER_ECALL : priv == PRIV_S ? CAUSE_SUPERVISOR_ECALL
                                                                         : CAUSE_MACHINE_ECALL;

            csr_write(medeleg, ed);
            expect_trap();
            if (priv == PRIV_M)
                do_ecall(0, 0);
            else
                run_in(priv, do_ecall, 0, 0);
            taken = trap_taken(&t);
            csr_write(medeleg, 0);
            snprintf(what, sizeof(what), "ECALL in %s%s", priv_name(priv), deleg ? ", delegated" : "");
            check_trap(&t, taken, cause, to, priv, (u64)ecall_insn, INSN_ECALL, what);
            csr_write(medeleg, ed);
            expect_trap();
            if (priv == PRIV_M)
                do_ebreak(0, 0);
            else
                run_in(priv, do_ebreak, 0, 0);
            taken = trap_taken(&t);
            csr_write(medeleg, 0);
            snprintf(what, sizeof(what), "EBREAK in %s%s", priv_name(priv), deleg ? ", delegated" : "");
            check_trap(&t, taken, CAUSE_BREAKPOINT, to, priv, (u64)ebreak_insn, INSN_EBREAK, what);
            if (taken && t.tval)
                report_info("%s: tval = the address", what);
        }
    }
    /* only the bit of the trap's own cause counts */
    csr_write(medeleg, BIT(CAUSE_USER_ECALL));
    expect_trap();
    run_in(PRIV_S, do_ecall, 0, 0);
    taken = trap_taken(&t);
    csr_write(medeleg, 0);
    check_trap(&t, taken, CAUSE_SUPERVISOR_ECALL, PRIV_M, PRIV_S, (u64)ecall_insn, INSN_ECALL,
               "ECALL in S with medeleg[8] alone: M");
    csr_write(medeleg, BIT(CAUSE_SUPERVISOR_ECALL));
    expect_trap();
    run_in(PRIV_U, do_ecall, 0, 0);
    taken = trap_taken(&t);
    csr_write(medeleg, 0);
    check_trap(&t, taken, CAUSE_USER_ECALL, PRIV_M, PRIV_U, (u64)ecall_insn, INSN_ECALL,
               "ECALL in U with medeleg[9] alone: M");
    /* trap entry state in S: SPP = S, SPIE = SIE before, SIE = 0 */
    csr_write(medeleg, BIT(CAUSE_SUPERVISOR_ECALL));
    expect_trap();
    run_in(PRIV_S, ecall_with_sie, 0, 0);
    taken = trap_taken(&t);
    csr_write(medeleg, 0);
    report(taken && t.mode == PRIV_S && (t.status & MSTATUS_SPP) && (t.status & MSTATUS_SPIE) &&
           !(t.status & MSTATUS_SIE) && t.epc == (u64)ecall_sie_insn,
           "trap to S from S with SIE 1: SPP S, SPIE 1, SIE 0, sepc the ECALL (sstatus %#lx)", t.status);
    /* in M: MPP = M, MPIE = MIE before, MIE = 0; MRET gives MIE back */
    csr_write(mie, 0);
    csr_set(mstatus, MSTATUS_MIE);
    expect_trap();
    do_ecall(0, 0);
    taken = trap_taken(&t);
    u64 after = csr_read(mstatus);
    csr_clear(mstatus, MSTATUS_MIE);
    report(taken && (t.status & MSTATUS_MPP) == MPP(PRIV_M) && (t.status & MSTATUS_MPIE) &&
           !(t.status & MSTATUS_MIE), "trap to M from M with MIE 1: MPP M, MPIE 1, MIE 0 (%#lx)", t.status);
    report(after & MSTATUS_MIE, "MRET out of the handler: MIE 1 again");
    /* in M from U: MPP = U */
    expect_trap();
    run_in(PRIV_U, do_ebreak, 0, 0);
    taken = trap_taken(&t);
    report(taken && (t.status & MSTATUS_MPP) == MPP(PRIV_U) && t.epc == (u64)ebreak_insn,
           "trap to M from U: MPP U, mepc the EBREAK");
    /* a trap never goes down: M's illegal instruction with medeleg[2] stays in M */
    csr_write(medeleg, BIT(CAUSE_ILLEGAL_INSTRUCTION));
    taken = !csr_try(PRIV_M, CSR_READ, 0x200, 0, NULL, &t);
    csr_write(medeleg, 0);
    check_trap(&t, taken, CAUSE_ILLEGAL_INSTRUCTION, PRIV_M, PRIV_M, csr_code_addr(),
               csr_op_insn(CSR_READ, 0x200), "illegal instruction in M, medeleg[2] 1: M");
    csr_write(mstatus, s0);
    report_prefix_pop();
}

void guest_main(void)
{
    test_identity();
    test_mstatus();
    test_sstatus();
    test_deleg();
    test_ie_ip();
    test_tvec();
    test_epc_and_co();
    test_satp();
    test_counteren();
    test_mcounters();
    test_envcfg();
    test_pmp();
    test_access();
    test_xret();
    test_tvm_tsr_tw();
    test_ecall_ebreak();
}
