/*
 * paging: Sv39, and Sv48 where satp takes MODE 9, for S and U (privileged
 * spec 1.12, 4.3-4.5, 4.1.11, 4.2.1, 3.1.6.3):
 *  - a 4 KiB page at a virtual address of its own, loads and stores through it
 *  - R/W/X for S and for U: every leaf encoding, W without R reserved
 *  - the U bit: S never fetches from a U page, loads and stores there only
 *    with SUM; U reaches U pages only; MXR makes X readable
 *  - page faults: cause 12/13/15, tval the address, epc the instruction
 *    (the address itself for a fetch); taken in M, or in S by medeleg,
 *    from S and from U
 *  - A and D: set by the access as a hardware update would (A on any
 *    access, D on a store, never D by a load), or a page fault
 *    (Svade): both allowed, an INFO line says which
 *  - superpages: 2 MiB, 1 GiB (and 512 GiB under Sv48); a misaligned one
 *    page-faults
 *  - reserved bits and encodings: PTE bits 63:54 (no Svpbmt with PBMTE 0,
 *    no Svnapot), D/A/U in a non-leaf PTE, a pointer at level 0, V = 0,
 *    addresses that are not sign-extended
 *  - SFENCE.VMA: a changed PTE is seen after it (all, by address, by
 *    address and ASID), also for a superpage fenced by one address in it
 *  - satp switched between two address spaces (ASIDs 1 and 2) by S
 *  - MPRV: M's loads and stores translated and checked as MPP's (S, U) with
 *    SUM and MXR, faults taken in M; MPP M untranslated; a device through
 *    a mapping; A and D; fetches never translated
 *  - instructions S executes that trap to a hypervisor reading them itself:
 *    a CSR access on an execute-only page, and one split across two pages
 *    with frames apart; with the second page unmapped, a fetch page fault
 *    naming the second page, epc the instruction's start (3.1.16)
 *  - the PMP (3.7.1) M sets for S and U, untranslated and translated:
 *    loads, stores and fetches an entry denies are access faults 5/7/1
 *    (tval the address, the virtual one when translated; in M, or in S by
 *    medeleg), NAPOT, TOR and NA4 ranges matched to the byte (an access
 *    the deciding entry covers only in part fails), the lowest-numbered
 *    matching entry deciding, an entry over a page table failing the walk
 *    with an access fault of the access's kind, M's loads and stores under
 *    MPRV checked as MPP's, a locked entry binding M
 */
#include "mguest.h"

#define TVA 0x40000000UL            /* test addresses: the 1 GiB after the first, nothing else there */
#define TVA_PAGE(n) (TVA + (n) * PAGE_SIZE)
#define TVA_MEGA(n) (TVA + (n) * MEGAPAGE)
#define GIGA_VA 0xc0000000UL        /* a 1 GiB page over RAM (0x80000000) */
#define TERA_VA 0x8000000000UL      /* Sv48: a 512 GiB page over PA 0 */
#define INSN_LI_A0_77 0x07700513U   /* li a0, 0x77 */
#define INSN_RET 0x00008067U
#define FETCHED 0x77UL              /* what a call to the code page returns */

enum kind { LOAD, STORE, FETCH };
static const char *const kind_name[] = { "load", "store", "fetch" };
static const u64 pf_cause[] = { CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, CAUSE_FETCH_PAGE_FAULT };

/* S-mode helpers: SFENCE.VMA forms, and a satp switch followed by a load */
u64 s_sfence_all(u64 a0, u64 a1);
u64 s_sfence_va(u64 va, u64 a1);
u64 s_sfence_va_asid(u64 va, u64 asid);
u64 s_satp_load(u64 satp, u64 va);
u64 m_mprv_load(u64 va, u64 mstatus_bits);
u64 m_mprv_store(u64 va, u64 val, u64 mstatus_bits);
u64 m_mprv_lhu(u64 va, u64 mstatus_bits);
u64 m_mprv_lbu(u64 va, u64 mstatus_bits);
extern char m_mprv_load_insn[], m_mprv_store_insn[];
u64 s_load32(u64 va, u64 a1);
__asm__(
    ".pushsection .text\n"
    ".option push\n.option norvc\n"
    ".balign 4\n"
    ".global s_sfence_all, s_sfence_va, s_sfence_va_asid, s_satp_load, m_mprv_load\n"
    ".global m_mprv_store, m_mprv_lhu, m_mprv_lbu, m_mprv_load_insn, m_mprv_store_insn\n"
    ".global s_load32\n"
    "s_sfence_all: sfence.vma\n ret\n"
    "s_sfence_va: sfence.vma a0, x0\n ret\n"
    "s_sfence_va_asid: sfence.vma a0, a1\n ret\n"
    "s_satp_load: csrw satp, a0\n ld a0, 0(a1)\n ret\n"
    /* M: mstatus |= a1 (MPRV, MPP), one load, mstatus &= ~a1: no stack meanwhile */
    "m_mprv_load: csrs mstatus, a1\n"
    "m_mprv_load_insn: ld a0, 0(a0)\n csrc mstatus, a1\n ret\n"
    "m_mprv_store: csrs mstatus, a2\n"
    "m_mprv_store_insn: sd a1, 0(a0)\n csrc mstatus, a2\n ret\n"
    /* OpenSBI's way of reading a trapped instruction: lhu with MPRV and MXR */
    "m_mprv_lhu: csrs mstatus, a1\n lhu a0, 0(a0)\n csrc mstatus, a1\n ret\n"
    "m_mprv_lbu: csrs mstatus, a1\n lbu a0, 0(a0)\n csrc mstatus, a1\n ret\n"
    "s_load32: lwu a0, 0(a0)\n ret\n"
    ".option pop\n"
    ".popsection\n");

static unsigned int levels;     /* 3 or 4: the one under test */
static u64 *root;               /* its address space: pt_identity() plus the test mappings */
static u64 *code_page;          /* li a0, 0x77; ret */
static u64 pa_mega, pa_mega2;   /* two 2 MiB-aligned stretches of RAM */

static u64 marker(u64 pa)
{
    return pa ^ 0x5a5a000000000000UL;
}

static void mark(u64 pa)
{
    *(volatile u64 *)pa = marker(pa);
}

static u64 *data_page(void)
{
    u64 *p = page_alloc();

    for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
        p[i] = marker((u64)&p[i]);
    return p;
}

static u64 satp_value(u64 *r, u64 asid)
{
    return SATP(levels == 4 ? SATP_SV48 : SATP_SV39, asid, r);
}

/* A leaf (or anything) at @va/@level of the space under test, then a fence from M. */
static void set_pte(u64 va, unsigned int level, u64 pte)
{
    *pt_slot(root, levels, va, level) = pte;
    sfence_vma();
}

static u64 get_pte(u64 va, unsigned int level)
{
    return *pt_slot(root, levels, va, level);
}

struct result {
    bool trapped;
    struct trap t;
    u64 val;
};

/* One access at @priv (S, U, or M: untranslated unless MPRV) through the space under test. */
static struct result access(unsigned int priv, enum kind k, u64 va, u64 val)
{
    static const lower_fn mem[] = { mem_load64, mem_store64, mem_fetch };
    static const lower_fn user[] = { u_load64, u_store64, u_fetch };
    struct result r = { 0 };

    expect_trap();
    if (priv == PRIV_M)
        r.val = mem[k](va, val);
    else
        r.val = run_in(priv, priv == PRIV_U ? user[k] : mem[k], va, val);
    r.trapped = trap_taken(&r.t);
    return r;
}

static u64 insn_addr(unsigned int priv, enum kind k, u64 va)
{
    static const lower_fn mem[] = { mem_load64, mem_store64, mem_fetch };
    static const lower_fn user[] = { u_load64, u_store64, u_fetch };

    if (k == FETCH)
        return va;
    return (u64)(priv == PRIV_U ? user[k] : mem[k]);
}

/* Whether @r is the page fault of a @k at @va from @priv, taken in @mode. */
static bool is_pf(const struct result *r, unsigned int priv, enum kind k, u64 va, unsigned int mode)
{
    return r->trapped && r->t.cause == pf_cause[k] && r->t.tval == va && r->t.mode == mode &&
           r->t.from == priv && r->t.epc == insn_addr(priv, k, va);
}

static bool is_ok(const struct result *r, enum kind k, u64 want)
{
    return !r->trapped && (k == STORE || r->val == want);
}

static const char *outcome(const struct result *r, char *buf, size_t n)
{
    if (!r->trapped)
        snprintf(buf, n, "done (%#lx)", (unsigned long)r->val);
    else
        snprintf(buf, n, "cause %lu in %s from %s, tval %#lx, epc %#lx", (unsigned long)r->t.cause,
                 priv_name(r->t.mode), priv_name(r->t.from), (unsigned long)r->t.tval,
                 (unsigned long)r->t.epc);
    return buf;
}

/* An access that must page-fault into M. */
static bool expect_pf(unsigned int priv, enum kind k, u64 va, const char *what)
{
    struct result r = access(priv, k, va, 0);
    char buf[120];

    return report(is_pf(&r, priv, k, va, PRIV_M), "%s: %s %s at %#lx page-faults (%s)", what,
                  priv_name(priv), kind_name[k], (unsigned long)va, outcome(&r, buf, sizeof(buf)));
}

/* ---- a page, through its own address ---- */
static void test_basic(void)
{
    u64 *d = data_page(), *u = data_page();
    struct result r;

    report_prefix_push("basic");
    set_pte(TVA_PAGE(0), 0, PTE_LEAF(d, PTE_R | PTE_W | PTE_A | PTE_D));
    set_pte(TVA_PAGE(1), 0, PTE_LEAF(u, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D));
    r = access(PRIV_S, LOAD, TVA_PAGE(0) + 0x18, 0);
    report(is_ok(&r, LOAD, marker((u64)&d[3])), "S load through the page: %#lx", (unsigned long)r.val);
    r = access(PRIV_S, STORE, TVA_PAGE(0) + 0xff8, 0x1234);
    report(is_ok(&r, STORE, 0) && d[511] == 0x1234, "S store lands in the page (%#lx)", (unsigned long)d[511]);
    r = access(PRIV_U, LOAD, TVA_PAGE(1) + 0x20, 0);
    report(is_ok(&r, LOAD, marker((u64)&u[4])), "U load through a U page");
    r = access(PRIV_U, STORE, TVA_PAGE(1) + 0x28, 0x5678);
    report(is_ok(&r, STORE, 0) && u[5] == 0x5678, "U store lands in the page");
    report_prefix_pop();
}

/* ---- R/W/X for S and U, every leaf encoding ---- */
static void test_perms(void)
{
    static const struct { u64 bits; const char *name; } enc[] = {
        { PTE_R, "R" }, { PTE_R | PTE_W, "RW" }, { PTE_X, "X" }, { PTE_R | PTE_X, "RX" },
        { PTE_R | PTE_W | PTE_X, "RWX" }, { PTE_W, "W (reserved)" }, { PTE_W | PTE_X, "WX (reserved)" },
    };

    report_prefix_push("perms");
    for (unsigned int p = 0; p < 2; p++) {
        unsigned int priv = p ? PRIV_U : PRIV_S;

        for (unsigned int e = 0; e < ARRAY_SIZE(enc); e++) {
            u64 bits = enc[e].bits;
            bool reserved = (bits & (PTE_R | PTE_W)) == PTE_W;
            unsigned int bad = 0;
            char buf[120], out[3][120];

            set_pte(TVA_PAGE(2), 0, PTE_LEAF(code_page, bits | PTE_A | PTE_D | (p ? PTE_U : 0)));
            for (unsigned int k = 0; k < 3; k++) {
                bool allowed = !reserved && (k == LOAD ? bits & PTE_R : k == STORE ? bits & PTE_W
                                                                                  : bits & PTE_X);
                u64 va = TVA_PAGE(2) + (k == STORE ? 0x100 : 0);
                struct result r = access(priv, (enum kind)k, va, 0x99);

                if (allowed ? !is_ok(&r, (enum kind)k, k == LOAD ? code_page[0] : FETCHED)
                            : !is_pf(&r, priv, (enum kind)k, va, PRIV_M))
                    bad++;
                snprintf(out[k], sizeof(out[k]), "%s %s", kind_name[k], outcome(&r, buf, sizeof(buf)));
            }
            report(!bad, "%s page %s: %s; %s; %s", priv_name(priv), enc[e].name, out[0], out[1], out[2]);
        }
    }
    report_prefix_pop();
}

/* ---- the U bit, SUM, MXR ---- */
static void test_user_sum_mxr(void)
{
    u64 *d = data_page();
    struct result r;
    char buf[120];

    report_prefix_push("U/SUM/MXR");
    set_pte(TVA_PAGE(3), 0, PTE_LEAF(code_page, PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D));
    set_pte(TVA_PAGE(4), 0, PTE_LEAF(d, PTE_R | PTE_W | PTE_X | PTE_A | PTE_D));
    /* S and a U page */
    csr_clear(mstatus, MSTATUS_SUM | MSTATUS_MXR);
    expect_pf(PRIV_S, LOAD, TVA_PAGE(3), "SUM 0, U page");
    expect_pf(PRIV_S, STORE, TVA_PAGE(3) + 0x100, "SUM 0, U page");
    expect_pf(PRIV_S, FETCH, TVA_PAGE(3), "SUM 0, U page");
    csr_set(mstatus, MSTATUS_SUM);
    r = access(PRIV_S, LOAD, TVA_PAGE(3), 0);
    report(is_ok(&r, LOAD, code_page[0]), "SUM 1: S loads from a U page (%s)", outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_S, STORE, TVA_PAGE(3) + 0x108, 0x42);
    report(is_ok(&r, STORE, 0) && code_page[0x21] == 0x42, "SUM 1: S stores to a U page");
    expect_pf(PRIV_S, FETCH, TVA_PAGE(3), "SUM 1, U page: never a fetch");
    /* U and an S page: never, SUM or not */
    expect_pf(PRIV_U, LOAD, TVA_PAGE(4), "SUM 1, S page");
    csr_clear(mstatus, MSTATUS_SUM);
    expect_pf(PRIV_U, LOAD, TVA_PAGE(4), "S page");
    expect_pf(PRIV_U, STORE, TVA_PAGE(4), "S page");
    expect_pf(PRIV_U, FETCH, TVA_PAGE(4), "S page");
    /* MXR: X-only pages readable */
    set_pte(TVA_PAGE(5), 0, PTE_LEAF(code_page, PTE_X | PTE_A | PTE_D));
    set_pte(TVA_PAGE(6), 0, PTE_LEAF(code_page, PTE_X | PTE_U | PTE_A | PTE_D));
    expect_pf(PRIV_S, LOAD, TVA_PAGE(5), "MXR 0, X-only page");
    expect_pf(PRIV_U, LOAD, TVA_PAGE(6), "MXR 0, X-only U page");
    csr_set(mstatus, MSTATUS_MXR);
    r = access(PRIV_S, LOAD, TVA_PAGE(5), 0);
    report(is_ok(&r, LOAD, code_page[0]), "MXR 1: S loads from an X-only page (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_U, LOAD, TVA_PAGE(6), 0);
    report(is_ok(&r, LOAD, code_page[0]), "MXR 1: U loads from an X-only U page");
    expect_pf(PRIV_S, STORE, TVA_PAGE(5), "MXR 1, X-only page: no store");
    expect_pf(PRIV_S, LOAD, TVA_PAGE(6), "MXR 1, SUM 0, X-only U page");
    csr_set(mstatus, MSTATUS_SUM);
    r = access(PRIV_S, LOAD, TVA_PAGE(6), 0);
    report(is_ok(&r, LOAD, code_page[0]), "MXR 1, SUM 1: S loads from an X-only U page");
    csr_clear(mstatus, MSTATUS_SUM | MSTATUS_MXR);
    /* the MXR-readable page turns unreadable again */
    expect_pf(PRIV_S, LOAD, TVA_PAGE(5), "MXR back to 0");
    report_prefix_pop();
}

/* ---- A and D ---- */
static bool svade_seen;

/* An access to a page whose A (or D) is clear: done with the bit now set, or a page fault (Svade). */
static void check_ad(unsigned int priv, enum kind k, u64 va, u64 want_val, u64 must_set, u64 must_keep_clear,
                     const char *what)
{
    struct result r = access(priv, k, va, 0x77aa);
    u64 pte = get_pte(va, 0);
    char buf[120];

    if (r.trapped) {
        svade_seen = true;
        report(is_pf(&r, priv, k, va, PRIV_M) && !(pte & must_set),
               "%s: page fault, PTE unchanged (Svade) (%s)", what, outcome(&r, buf, sizeof(buf)));
        return;
    }
    report(is_ok(&r, k, want_val) && (pte & must_set) == must_set && !(pte & must_keep_clear),
           "%s: done, PTE now %#lx", what, (unsigned long)pte);
}

static void test_ad(void)
{
    u64 *d = data_page();

    report_prefix_push("A/D");
    set_pte(TVA_PAGE(7), 0, PTE_LEAF(d, PTE_R | PTE_W));
    check_ad(PRIV_S, LOAD, TVA_PAGE(7), marker((u64)d), PTE_A, PTE_D, "S load, A 0 D 0: A set, D not");
    set_pte(TVA_PAGE(7), 0, PTE_LEAF(d, PTE_R | PTE_W | PTE_A));
    check_ad(PRIV_S, STORE, TVA_PAGE(7) + 8, 0, PTE_A | PTE_D, 0, "S store, A 1 D 0: D set");
    set_pte(TVA_PAGE(7), 0, PTE_LEAF(d, PTE_R | PTE_W));
    check_ad(PRIV_S, STORE, TVA_PAGE(7) + 16, 0, PTE_A | PTE_D, 0, "S store, A 0 D 0: A and D set");
    /* D cleared by software and fenced: the next store sets it again */
    set_pte(TVA_PAGE(7), 0, get_pte(TVA_PAGE(7), 0) & ~PTE_D);
    check_ad(PRIV_S, STORE, TVA_PAGE(7) + 24, 0, PTE_D, 0, "S store after D cleared and fenced: D set");
    set_pte(TVA_PAGE(8), 0, PTE_LEAF(code_page, PTE_X));
    check_ad(PRIV_S, FETCH, TVA_PAGE(8), FETCHED, PTE_A, PTE_D, "S fetch, A 0: A set");
    set_pte(TVA_PAGE(9), 0, PTE_LEAF(d, PTE_R | PTE_W | PTE_U));
    check_ad(PRIV_U, LOAD, TVA_PAGE(9), marker((u64)d), PTE_A, PTE_D, "U load, A 0: A set");
    check_ad(PRIV_U, STORE, TVA_PAGE(9) + 32, 0, PTE_A | PTE_D, 0, "U store, D 0: D set");
    /* on a 2 MiB page */
    mark(pa_mega + 0x40);
    set_pte(TVA_MEGA(1), 1, PTE_LEAF(pa_mega, PTE_R | PTE_W));
    {
        struct result r = access(PRIV_S, LOAD, TVA_MEGA(1) + 0x40, 0);
        u64 pte = get_pte(TVA_MEGA(1), 1);

        report(r.trapped ? is_pf(&r, PRIV_S, LOAD, TVA_MEGA(1) + 0x40, PRIV_M)
                         : is_ok(&r, LOAD, marker(pa_mega + 0x40)) && (pte & PTE_A) && !(pte & PTE_D),
               "S load on a 2 MiB page, A 0: %s (PTE %#lx)", r.trapped ? "page fault" : "A set", pte);
    }
    report_info("A/D: %s", svade_seen ? "page faults (Svade)" : "updated by the hart");
    report_prefix_pop();
}

/* ---- superpages ---- */
static void test_superpages(void)
{
    struct result r;
    char buf[120];
    u64 off = 0x12340;

    report_prefix_push("superpages");
    mark(pa_mega + off);
    mark(pa_mega + MEGAPAGE - 8);
    set_pte(TVA_MEGA(2), 1, PTE_LEAF(pa_mega, PTE_R | PTE_W | PTE_A | PTE_D));
    r = access(PRIV_S, LOAD, TVA_MEGA(2) + off, 0);
    report(is_ok(&r, LOAD, marker(pa_mega + off)), "2 MiB page: the offset passes through (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_S, STORE, TVA_MEGA(2) + MEGAPAGE - 16, 0xabcd);
    report(is_ok(&r, STORE, 0) && *(volatile u64 *)(pa_mega + MEGAPAGE - 16) == 0xabcd,
           "2 MiB page: a store at its end");
    r = access(PRIV_S, LOAD, TVA_MEGA(2) + MEGAPAGE - 8, 0);
    report(is_ok(&r, LOAD, marker(pa_mega + MEGAPAGE - 8)), "2 MiB page: a load at its end");
    /* 1 GiB over RAM */
    set_pte(GIGA_VA, 2, PTE_LEAF(0x80000000UL, PTE_R | PTE_W | PTE_A | PTE_D));
    r = access(PRIV_S, LOAD, GIGA_VA + (pa_mega - 0x80000000UL) + off, 0);
    report(is_ok(&r, LOAD, marker(pa_mega + off)), "1 GiB page over RAM: %s", outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_S, LOAD, GIGA_VA + ((u64)code_page - 0x80000000UL), 0);
    report(is_ok(&r, LOAD, code_page[0]), "1 GiB page: the guest's own image through it");
    if (levels == 4) {
        set_pte(TERA_VA, 3, PTE_LEAF(0, PTE_R | PTE_W | PTE_A | PTE_D));
        r = access(PRIV_S, LOAD, TERA_VA + pa_mega + off, 0);
        report(is_ok(&r, LOAD, marker(pa_mega + off)), "512 GiB page (Sv48): %s", outcome(&r, buf, sizeof(buf)));
        set_pte(TERA_VA, 3, PTE_LEAF(GIGAPAGE, PTE_R | PTE_A));
        expect_pf(PRIV_S, LOAD, TERA_VA + pa_mega, "512 GiB page on a 1 GiB boundary");
        set_pte(TERA_VA, 3, 0);
    }
    /* misaligned: the PPN's low parts must be 0 (4.3.2 step 6) */
    set_pte(TVA_MEGA(3), 1, PTE_LEAF(pa_mega + PAGE_SIZE, PTE_R | PTE_W | PTE_X | PTE_A | PTE_D));
    expect_pf(PRIV_S, LOAD, TVA_MEGA(3), "2 MiB page on a 4 KiB boundary");
    expect_pf(PRIV_S, STORE, TVA_MEGA(3) + 8, "2 MiB page on a 4 KiB boundary");
    expect_pf(PRIV_S, FETCH, TVA_MEGA(3), "2 MiB page on a 4 KiB boundary");
    set_pte(GIGA_VA, 2, PTE_LEAF(0x80000000UL + MEGAPAGE, PTE_R | PTE_A));
    expect_pf(PRIV_S, LOAD, GIGA_VA + 0x1000, "1 GiB page on a 2 MiB boundary");
    set_pte(GIGA_VA, 2, 0);
    report_prefix_pop();
}

/* ---- reserved bits and encodings, canonical addresses ---- */
static void test_reserved(void)
{
    u64 *d = data_page(), *table = page_alloc();
    u64 leaf = PTE_LEAF(d, PTE_R | PTE_W | PTE_A | PTE_D);
    struct result r;

    report_prefix_push("reserved");
    set_pte(TVA_PAGE(10), 0, leaf | BIT(60));
    expect_pf(PRIV_S, LOAD, TVA_PAGE(10), "leaf with bit 60 (reserved)");
    set_pte(TVA_PAGE(10), 0, leaf | BIT(54));
    expect_pf(PRIV_S, LOAD, TVA_PAGE(10), "leaf with bit 54 (reserved)");
    set_pte(TVA_PAGE(10), 0, leaf | (1UL << 61));
    expect_pf(PRIV_S, LOAD, TVA_PAGE(10), "leaf with PBMT NC, menvcfg.PBMTE 0 (or no Svpbmt)");
    set_pte(TVA_PAGE(10), 0, leaf & ~PTE_V);
    expect_pf(PRIV_S, LOAD, TVA_PAGE(10), "leaf with V 0");
    set_pte(TVA_PAGE(10), 0, PTE_LEAF(d, 0));
    expect_pf(PRIV_S, LOAD, TVA_PAGE(10), "a pointer (R=W=X=0) at level 0");
    set_pte(TVA_PAGE(10), 0, leaf);
    r = access(PRIV_S, LOAD, TVA_PAGE(10), 0);
    report(is_ok(&r, LOAD, marker((u64)d)), "the same leaf, clean: loads");
    /* a 2 MiB stretch through a table of our own, its pointer with D, A or U set */
    table[0] = leaf;
    set_pte(TVA_MEGA(4), 1, PTE_LEAF(table, 0));
    r = access(PRIV_S, LOAD, TVA_MEGA(4), 0);
    report(is_ok(&r, LOAD, marker((u64)d)), "through a clean pointer: loads");
    set_pte(TVA_MEGA(4), 1, PTE_LEAF(table, PTE_U));
    expect_pf(PRIV_S, LOAD, TVA_MEGA(4), "pointer with U (reserved in a non-leaf)");
    set_pte(TVA_MEGA(4), 1, PTE_LEAF(table, PTE_A));
    expect_pf(PRIV_S, LOAD, TVA_MEGA(4), "pointer with A (reserved in a non-leaf)");
    set_pte(TVA_MEGA(4), 1, PTE_LEAF(table, PTE_D));
    expect_pf(PRIV_S, LOAD, TVA_MEGA(4), "pointer with D (reserved in a non-leaf)");
    set_pte(TVA_MEGA(4), 1, 0);
    /* not sign-extended: bit 38 (Sv39) or 47 (Sv48) set, bits above clear */
    {
        u64 va = levels == 4 ? BIT(47) : BIT(38);
        expect_pf(PRIV_S, LOAD, va | TVA_PAGE(10), "an address that is not sign-extended");
        expect_pf(PRIV_S, LOAD, (~0UL << (levels == 4 ? 48 : 39)) | TVA_PAGE(10),
                  "an address with bits above set and the top VA bit clear");
    }
    report_prefix_pop();
}

/* ---- SFENCE.VMA ---- */
static void test_sfence(void)
{
    u64 *p1 = data_page(), *p2 = data_page();
    u64 va = TVA_PAGE(11);
    struct result r;
    char buf[120];

    report_prefix_push("sfence.vma");
    set_pte(va, 0, PTE_LEAF(p1, PTE_R | PTE_W | PTE_A | PTE_D));
    r = access(PRIV_S, LOAD, va, 0);
    report(is_ok(&r, LOAD, marker((u64)p1)), "page 1 mapped and used");
    /* changed without a fence: either translation may be used (4.2.1) */
    *pt_slot(root, levels, va, 0) = PTE_LEAF(p2, PTE_R | PTE_W | PTE_A | PTE_D);
    r = access(PRIV_S, LOAD, va, 0);
    report(is_ok(&r, LOAD, marker((u64)p1)) || is_ok(&r, LOAD, marker((u64)p2)),
           "changed, not fenced: the old or the new page (%s)",
           r.val == marker((u64)p1) ? "old" : "new");
    run_in(PRIV_S, s_sfence_va, va, 0);
    r = access(PRIV_S, LOAD, va, 0);
    report(is_ok(&r, LOAD, marker((u64)p2)), "after SFENCE.VMA va (S): page 2");
    *pt_slot(root, levels, va, 0) = PTE_LEAF(p1, PTE_R | PTE_A | PTE_D);
    run_in(PRIV_S, s_sfence_all, 0, 0);
    r = access(PRIV_S, LOAD, va, 0);
    report(is_ok(&r, LOAD, marker((u64)p1)), "after SFENCE.VMA (S, all): page 1 again");
    expect_pf(PRIV_S, STORE, va, "made read-only, fenced");
    *pt_slot(root, levels, va, 0) = PTE_LEAF(p2, PTE_R | PTE_W | PTE_A | PTE_D);
    run_in(PRIV_S, s_sfence_va_asid, va, 0);
    r = access(PRIV_S, STORE, va + 8, 0x3333);
    report(is_ok(&r, STORE, 0) && p2[1] == 0x3333, "after SFENCE.VMA va, asid 0 (S): page 2 writable");
    *pt_slot(root, levels, va, 0) = 0;
    run_in(PRIV_S, s_sfence_va, va, 0);
    expect_pf(PRIV_S, LOAD, va, "unmapped, fenced by address");
    /*
     * A 2 MiB page used at two addresses, moved, fenced by one of them:
     * the fence invalidates every cached translation that holds that leaf
     * (4.2.1), so both addresses see the new page.
     */
    mark(pa_mega + PAGE_SIZE);
    mark(pa_mega2 + PAGE_SIZE);
    mark(pa_mega);
    mark(pa_mega2);
    set_pte(TVA_MEGA(5), 1, PTE_LEAF(pa_mega, PTE_R | PTE_W | PTE_A | PTE_D));
    r = access(PRIV_S, LOAD, TVA_MEGA(5), 0);
    struct result r2 = access(PRIV_S, LOAD, TVA_MEGA(5) + PAGE_SIZE, 0);
    report(is_ok(&r, LOAD, marker(pa_mega)) && is_ok(&r2, LOAD, marker(pa_mega + PAGE_SIZE)),
           "2 MiB page used at offsets 0 and 4 KiB");
    *pt_slot(root, levels, TVA_MEGA(5), 1) = PTE_LEAF(pa_mega2, PTE_R | PTE_W | PTE_A | PTE_D);
    run_in(PRIV_S, s_sfence_va, TVA_MEGA(5), 0);
    r = access(PRIV_S, LOAD, TVA_MEGA(5), 0);
    r2 = access(PRIV_S, LOAD, TVA_MEGA(5) + PAGE_SIZE, 0);
    report(is_ok(&r, LOAD, marker(pa_mega2)), "moved, fenced at offset 0: offset 0 sees the new page");
    report(is_ok(&r2, LOAD, marker(pa_mega2 + PAGE_SIZE)),
           "moved, fenced at offset 0: offset 4 KiB sees the new page too (%s)",
           r2.val == marker(pa_mega + PAGE_SIZE) ? "STALE: the old page" : outcome(&r2, buf, sizeof(buf)));
    set_pte(TVA_MEGA(5), 1, 0);
    report_prefix_pop();
}

/* ---- two address spaces ---- */
static void test_switch(void)
{
    u64 *a = data_page(), *b = data_page();
    u64 *root_b = pt_identity(levels), *saved = root;
    u64 sa, sb, v1, v2, v3;

    report_prefix_push("satp switch");
    set_pte(TVA_PAGE(12), 0, PTE_LEAF(a, PTE_R | PTE_A));
    root = root_b;
    set_pte(TVA_PAGE(12), 0, PTE_LEAF(b, PTE_R | PTE_A));
    root = saved;
    sa = satp_value(root, 1);
    sb = satp_value(root_b, 2);
    csr_write(satp, sa);
    sfence_vma();
    v1 = run_in(PRIV_S, s_satp_load, sa, TVA_PAGE(12));
    v2 = run_in(PRIV_S, s_satp_load, sb, TVA_PAGE(12));
    v3 = run_in(PRIV_S, s_satp_load, sa, TVA_PAGE(12));
    report(v1 == marker((u64)a) && v2 == marker((u64)b) && v3 == marker((u64)a),
           "S switches satp A (ASID 1), B (ASID 2), A: each its own page, no fence between");
    csr_write(satp, sb);
    report(access(PRIV_S, LOAD, TVA_PAGE(12), 0).val == marker((u64)b), "M sets satp B: S sees B");
    csr_write(satp, satp_value(root, 0));
    sfence_vma();
    report_prefix_pop();
}

/* ---- page faults delegated to S ---- */
static void test_deleg(void)
{
    u64 va = TVA_PAGE(13);
    struct result r;
    char buf[120];

    report_prefix_push("deleg");
    set_pte(va, 0, PTE_LEAF(code_page, PTE_R | PTE_A));
    set_pte(va + PAGE_SIZE, 0, PTE_LEAF(code_page, PTE_R | PTE_U | PTE_A));
    csr_write(medeleg, BIT(CAUSE_LOAD_PAGE_FAULT) | BIT(CAUSE_STORE_PAGE_FAULT) | BIT(CAUSE_FETCH_PAGE_FAULT));
    r = access(PRIV_S, STORE, va, 0);
    report(is_pf(&r, PRIV_S, STORE, va, PRIV_S), "S store fault, medeleg[15]: in S (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_S, FETCH, va, 0);
    report(is_pf(&r, PRIV_S, FETCH, va, PRIV_S), "S fetch fault, medeleg[12]: in S (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_U, LOAD, va, 0);
    report(is_pf(&r, PRIV_U, LOAD, va, PRIV_S), "U load fault, medeleg[13]: in S from U (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_U, STORE, va + PAGE_SIZE, 0);
    report(is_pf(&r, PRIV_U, STORE, va + PAGE_SIZE, PRIV_S), "U store fault, medeleg[15]: in S from U");
    r = access(PRIV_U, FETCH, va + PAGE_SIZE, 0);
    report(is_pf(&r, PRIV_U, FETCH, va + PAGE_SIZE, PRIV_S), "U fetch fault, medeleg[12]: in S from U");
    csr_write(medeleg, BIT(CAUSE_STORE_PAGE_FAULT));
    r = access(PRIV_S, LOAD, va + 2 * PAGE_SIZE, 0);
    report(is_pf(&r, PRIV_S, LOAD, va + 2 * PAGE_SIZE, PRIV_M), "S load fault, medeleg[13] 0: in M (%s)",
           outcome(&r, buf, sizeof(buf)));
    csr_write(medeleg, 0);
    r = access(PRIV_S, STORE, va, 0);
    report(is_pf(&r, PRIV_S, STORE, va, PRIV_M), "S store fault, medeleg 0: in M");
    report_prefix_pop();
}

/* ---- MPRV (3.1.6.3): M's loads and stores with MPP's privilege and translation ---- */
#define MPRV_S (MSTATUS_MPRV | MPP(PRIV_S))
#define MPRV_U (MSTATUS_MPRV | MPP(PRIV_U))

/* One load or store of M's under MPRV (@bits: MPRV, MPP, SUM, MXR), its trap if any */
static struct result mprv_op(enum kind k, u64 va, u64 val, u64 bits)
{
    struct result r = { 0 };

    csr_clear(mstatus, MSTATUS_MPP | MSTATUS_SUM | MSTATUS_MXR);
    expect_trap();
    r.val = k == STORE ? m_mprv_store(va, val, bits) : m_mprv_load(va, bits);
    r.trapped = trap_taken(&r.t);
    csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM | MSTATUS_MXR);
    return r;
}

/* A page fault of M's own: in M from M, tval the address, epc the access */
static bool mprv_pf(const struct result *r, enum kind k, u64 va)
{
    u64 epc = (u64)(k == STORE ? m_mprv_store_insn : m_mprv_load_insn);

    return r->trapped && r->t.cause == pf_cause[k] && r->t.mode == PRIV_M &&
           r->t.from == PRIV_M && r->t.tval == va && r->t.epc == epc;
}

static void test_mprv_perms(u64 *d)
{
    u64 va = TVA_PAGE(15), xva = TVA_PAGE(16);
    struct result r;
    char buf[120];

    /* a U page: S reaches it only with SUM (4.1.1.2), U always */
    set_pte(va, 0, PTE_LEAF(d, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D));
    r = mprv_op(LOAD, va, 0, MPRV_S);
    report(mprv_pf(&r, LOAD, va), "MPP S, SUM 0, a U page: load page fault in M (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = mprv_op(LOAD, va + 8, 0, MPRV_S | MSTATUS_SUM);
    report(!r.trapped && r.val == marker((u64)d + 8), "MPP S, SUM 1, a U page: loads (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = mprv_op(STORE, va + 16, 0x5u, MPRV_U);
    report(!r.trapped && d[2] == 0x5u, "MPP U, a U page: stores (%s)",
           outcome(&r, buf, sizeof(buf)));
    /* read-only: stores fault, as MPP's would */
    set_pte(va, 0, PTE_LEAF(d, PTE_R | PTE_A | PTE_D));
    r = mprv_op(STORE, va + 24, 1, MPRV_S);
    report(mprv_pf(&r, STORE, va + 24) && d[3] == marker((u64)&d[3]),
           "MPP S, a read-only page: store page fault in M, memory unchanged (%s)",
           outcome(&r, buf, sizeof(buf)));
    /* execute-only: readable with MXR alone (OpenSBI reads trapped instructions so) */
    set_pte(xva, 0, PTE_LEAF(code_page, PTE_X | PTE_A));
    r = mprv_op(LOAD, xva, 0, MPRV_S);
    report(mprv_pf(&r, LOAD, xva), "MPP S, MXR 0, an execute-only page: load page fault in M (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = mprv_op(LOAD, xva, 0, MPRV_S | MSTATUS_MXR);
    report(!r.trapped && (u32)r.val == INSN_LI_A0_77, "MPP S, MXR 1, an execute-only page: loads "
           "(%s)", outcome(&r, buf, sizeof(buf)));
    expect_trap();
    r.val = m_mprv_lhu(xva + 4, MPRV_S | MSTATUS_MXR);
    r.trapped = trap_taken(&r.t);
    csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_MXR);
    report(!r.trapped && r.val == (INSN_RET & 0xffff), "MPP S, MXR 1: lhu of an instruction's "
           "half (%s)", outcome(&r, buf, sizeof(buf)));
    set_pte(va, 0, 0);
    set_pte(xva, 0, 0);
}

static void test_mprv(void)
{
    u64 *d = data_page(), *e = data_page();
    u64 va = TVA_PAGE(14), v, pte;
    struct result r;
    char buf[120];

    report_prefix_push("MPRV");
    set_pte(va, 0, PTE_LEAF(d, PTE_R | PTE_W | PTE_A | PTE_D));
    r = mprv_op(LOAD, va, 0, MPRV_S);
    report(!r.trapped && r.val == marker((u64)d), "M load with MPRV 1, MPP S goes through S's page "
           "tables (%s)", outcome(&r, buf, sizeof(buf)));
    r = mprv_op(LOAD, va, 0, MPRV_U);
    report(mprv_pf(&r, LOAD, va), "M load with MPRV 1, MPP U, an S page: page fault in M (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = mprv_op(STORE, va + 40, 0x1234567890UL, MPRV_S);
    report(!r.trapped && d[5] == 0x1234567890UL, "M store with MPRV 1, MPP S: the page's frame "
           "written (%#lx)", (unsigned long)d[5]);
    /* MPP M: M's own accesses, untranslated */
    r = mprv_op(LOAD, (u64)e, 0, MSTATUS_MPRV | MPP(PRIV_M));
    report(!r.trapped && r.val == marker((u64)e), "MPRV 1, MPP M: untranslated (%s)",
           outcome(&r, buf, sizeof(buf)));
    /* unmapped: the fault is M's, mtval the address */
    r = mprv_op(STORE, TVA_PAGE(17), 1, MPRV_S);
    report(mprv_pf(&r, STORE, TVA_PAGE(17)), "MPP S, nothing mapped: store page fault in M (%s)",
           outcome(&r, buf, sizeof(buf)));
    /* A and D as MPP's access sets them (or Svade's fault) */
    set_pte(va, 0, PTE_LEAF(e, PTE_R | PTE_W));
    r = mprv_op(STORE, va + 8, 7, MPRV_S);
    pte = get_pte(va, 0);
    report(r.trapped ? mprv_pf(&r, STORE, va + 8) && !(pte & PTE_D)
                     : e[1] == 7 && (pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
           "MPP S store, A 0 D 0: %s (PTE %#lx)", r.trapped ? "page fault (Svade)" : "A and D set",
           (unsigned long)pte);
    test_mprv_perms(d);
    /* across two pages (frames apart): done, or address-misaligned in M (both legal) */
    set_pte(TVA_PAGE(18), 0, PTE_LEAF(d, PTE_R | PTE_W | PTE_A | PTE_D));
    set_pte(TVA_PAGE(19), 0, PTE_LEAF(e, PTE_R | PTE_W | PTE_A | PTE_D));
    r = mprv_op(LOAD, TVA_PAGE(19) - 4, 0, MPRV_S);
    v = (marker((u64)&d[511]) >> 32) | (u64)(u32)marker((u64)e) << 32;
    report(r.trapped ? r.t.cause == CAUSE_MISALIGNED_LOAD && r.t.mode == PRIV_M
                     : r.val == v, "MPP S, a load across two pages: %s",
           outcome(&r, buf, sizeof(buf)));
    set_pte(TVA_PAGE(18), 0, 0);
    set_pte(TVA_PAGE(19), 0, 0);
    /* a device through a mapping: the UART's LSR (pt_identity maps it for S) */
    v = m_mprv_lbu(UART_BASE + 5, MPRV_S);
    csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPP);
    report(v & 0x20, "MPP S: lbu of the UART's LSR through S's map: THRE (%#lx)", (unsigned long)v);
    report(!(csr_read(mstatus) & MSTATUS_MPRV), "MPRV cleared after");
    set_pte(va, 0, 0);
    report_prefix_pop();
}

/* ---- instructions on execute-only pages and across pages ---- */
static u64 s_sstatus(u64 a0, u64 a1)
{
    return csr_read(sstatus);
}

static void test_insn_pages(void)
{
    u64 *a = page_alloc(), *gap = page_alloc(), *b = page_alloc();
    u64 va = TVA_PAGE(20), want;
    u16 *ha = (u16 *)a, *hb = (u16 *)b;
    struct result r;
    char buf[120];

    report_prefix_push("insn");
    (void)gap; /* keeps a's and b's frames apart */
    /* csrr a0, sstatus (0x10002573); ret (0x00008067): at the start of an X-only page */
    ha[0] = 0x2573;
    ha[1] = 0x1000;
    ha[2] = 0x8067;
    ha[3] = 0x0000;
    /* c.nop at 0xffc, the csrr at 0xffe across the boundary, ret right after it */
    ha[0x7fe] = 0x0001;
    ha[0x7ff] = 0x2573;
    hb[0] = 0x1000;
    hb[1] = 0x8067;
    hb[2] = 0x0000;
    fence_i();
    want = run_in(PRIV_S, s_sstatus, 0, 0);
    set_pte(va, 0, PTE_LEAF(a, PTE_X | PTE_A));
    set_pte(va + PAGE_SIZE, 0, PTE_LEAF(b, PTE_X | PTE_A));
    r = access(PRIV_S, FETCH, va, 0);
    report(!r.trapped && r.val == want, "csrr sstatus on an execute-only page: %s",
           outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_S, FETCH, va + PAGE_SIZE - 4, 0);
    report(!r.trapped && r.val == want, "csrr sstatus across two pages (frames apart): %s",
           outcome(&r, buf, sizeof(buf)));
    set_pte(va + PAGE_SIZE, 0, 0);
    expect_trap_len(0); /* back to ra, in mem_fetch */
    run_in(PRIV_S, mem_fetch, va + PAGE_SIZE - 4, 0);
    bool taken = trap_taken(&r.t);
    report(taken && r.t.cause == CAUSE_FETCH_PAGE_FAULT && r.t.tval == va + PAGE_SIZE &&
           r.t.epc == va + PAGE_SIZE - 2 && r.t.mode == PRIV_M,
           "its second page unmapped: fetch page fault, tval the second page, epc the instruction "
           "(cause %lu, tval %#lx, epc %#lx)", taken ? (unsigned long)r.t.cause : 999UL,
           (unsigned long)r.t.tval, (unsigned long)r.t.epc);
    set_pte(va, 0, 0);
    report_prefix_pop();
}

/* ---- the PMP (3.7.1): M's entries bind S and U, and M where locked ---- */
#define PMP_LOCKED_ENTRY 7         /* locked last: it stays so until reset */

static const u64 af_cause[] = { CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS };
/* four pages, 16 KiB aligned: a 2-page NAPOT block fits at either half */
static u64 pmp_area[4][PAGE_SIZE / 8] __aligned(4 * PAGE_SIZE);

/* Entry @i (0-6) set, then fenced (3.7.2: an SFENCE.VMA after PMP writes). */
static void pmp_set(unsigned int i, u8 cfg, u64 addr)
{
    u64 c = csr_read(pmpcfg0);

    csr_op(CSR_RW, 0x3b0 + i, addr);
    csr_write(pmpcfg0, (c & ~(0xffUL << (8 * i))) | (u64)cfg << (8 * i));
    sfence_vma();
}

/* Entries 0-6 off (entry 15, hart_defaults()'s RWX over everything, decides again). */
static void pmp_off(void)
{
    csr_write(pmpcfg0, csr_read(pmpcfg0) & (0xffUL << (8 * PMP_LOCKED_ENTRY)));
    sfence_vma();
}

/* NAPOT's pmpaddr for @size bytes at @base (Table 3.10) */
static u64 napot(u64 base, u64 size)
{
    return base >> 2 | ((size >> 3) - 1);
}

/* Whether @r is the access fault of a @k at @va from @priv, taken in @mode. */
static bool is_af(const struct result *r, unsigned int priv, enum kind k, u64 va, unsigned int mode)
{
    return r->trapped && r->t.cause == af_cause[k] && r->t.tval == va && r->t.mode == mode &&
           r->t.from == priv && r->t.epc == insn_addr(priv, k, va);
}

static bool expect_af(unsigned int priv, enum kind k, u64 va, unsigned int mode, const char *what)
{
    struct result r = access(priv, k, va, 0x6b65656c);
    char buf[120];

    return report(is_af(&r, priv, k, va, mode), "%s: %s %s at %#lx: access fault in %s (%s)", what,
                  priv_name(priv), kind_name[k], (unsigned long)va, priv_name(mode),
                  outcome(&r, buf, sizeof(buf)));
}

/* An access that goes through (a load: the value at physical @pa, the one @va names). */
static bool expect_ok_at(unsigned int priv, enum kind k, u64 va, u64 pa, const char *what)
{
    struct result r = access(priv, k, va, 0x6b65656c);
    char buf[120];
    u64 want = k == FETCH ? FETCHED : k == LOAD ? *(volatile u64 *)pa : 0;

    return report(is_ok(&r, k, want), "%s: %s %s at %#lx (%s)", what, priv_name(priv), kind_name[k],
                  (unsigned long)va, outcome(&r, buf, sizeof(buf)));
}

static bool expect_ok(unsigned int priv, enum kind k, u64 va, const char *what)
{
    return expect_ok_at(priv, k, va, va, what);
}

/* A 4-byte S load at @pa: its value, or ~0 and *t if it trapped. */
static u64 s_load32_at(u64 pa, struct trap *t, bool *trapped)
{
    u64 v;

    expect_trap();
    v = run_in(PRIV_S, s_load32, pa, 0);
    *trapped = trap_taken(t);
    return v;
}

/* NAPOT: an entry over one page, without permissions, for S and U; in M, or in S by medeleg */
/* An access fault of M's own under MPRV: in M from M, tval the address, epc the access */
static bool mprv_af(const struct result *r, enum kind k, u64 va)
{
    u64 epc = (u64)(k == STORE ? m_mprv_store_insn : m_mprv_load_insn);

    return r->trapped && r->t.cause == af_cause[k] && r->t.mode == PRIV_M &&
           r->t.from == PRIV_M && r->t.tval == va && r->t.epc == epc;
}

static void test_pmp_napot(void)
{
    u64 p = (u64)pmp_area[1], code = (u64)code_page;
    struct result r;
    char buf[120];

    pmp_set(0, PMP_NAPOT, napot(p, PAGE_SIZE));
    expect_af(PRIV_S, LOAD, p + 8, PRIV_M, "NAPOT page, no permission");
    expect_af(PRIV_S, STORE, p + 0xff8, PRIV_M, "NAPOT page, no permission");
    expect_af(PRIV_U, LOAD, p + 0x10, PRIV_M, "NAPOT page, no permission");
    expect_ok(PRIV_M, LOAD, p + 8, "not locked, M is not bound");
    /* M's loads and stores under MPRV are MPP's to PMP (3.1.6.3), satp Bare */
    r = mprv_op(LOAD, p + 8, 0, MPRV_S);
    report(mprv_af(&r, LOAD, p + 8), "NAPOT page: M load with MPRV, MPP S: access fault in M (%s)",
           outcome(&r, buf, sizeof(buf)));
    r = mprv_op(STORE, p + 16, 1, MPRV_U);
    report(mprv_af(&r, STORE, p + 16), "NAPOT page: M store with MPRV, MPP U: access fault in M "
           "(%s)", outcome(&r, buf, sizeof(buf)));
    r = mprv_op(LOAD, p + 8, 0, MSTATUS_MPRV | MPP(PRIV_M));
    report(!r.trapped, "NAPOT page: M load with MPRV, MPP M: M's own (%s)",
           outcome(&r, buf, sizeof(buf)));
    expect_ok(PRIV_S, LOAD, p + PAGE_SIZE, "the next page");
    expect_ok(PRIV_S, LOAD, p - 8, "the page before");
    csr_write(medeleg, BIT(CAUSE_LOAD_ACCESS) | BIT(CAUSE_STORE_ACCESS));
    expect_af(PRIV_S, LOAD, p + 8, PRIV_S, "medeleg[5]");
    expect_af(PRIV_U, STORE, p + 8, PRIV_S, "medeleg[7]");
    csr_write(medeleg, 0);
    /* execute: the code page R only */
    pmp_set(0, PMP_NAPOT | PMP_R, napot(code, PAGE_SIZE));
    expect_af(PRIV_S, FETCH, code, PRIV_M, "a code page R only");
    expect_ok(PRIV_S, LOAD, code, "a code page R only");
    pmp_set(0, PMP_NAPOT | PMP_R | PMP_X, napot(code, PAGE_SIZE));
    expect_ok(PRIV_S, FETCH, code, "the code page RX");
    /* an NA4 entry elsewhere in the code page takes X from its 4 bytes only */
    pmp_set(0, PMP_NA4 | PMP_R, (code + 0x100) >> 2);
    expect_ok(PRIV_S, FETCH, code, "NA4 R-only in the code page, the fetch beside it");
    /* a device is physical memory to PMP too: the UART's page denied to S and U */
    pmp_set(0, PMP_NAPOT, napot(UART_BASE, PAGE_SIZE));
    expect_af(PRIV_S, LOAD, UART_BASE, PRIV_M, "the UART's page, no permission");
    expect_af(PRIV_U, STORE, UART_BASE + 0x10, PRIV_M, "the UART's page, no permission");
    pmp_off();
    expect_ok(PRIV_S, LOAD, p + 8, "entry off");
}

/* TOR: entry 2 over [pmpaddr1, pmpaddr2), R only; its top is not in it */
static void test_pmp_tor(void)
{
    u64 lo = (u64)pmp_area[1], hi = (u64)pmp_area[3];

    pmp_set(1, 0, lo >> 2);
    pmp_set(2, PMP_TOR | PMP_R, hi >> 2);
    expect_ok(PRIV_S, LOAD, lo, "TOR, R");
    expect_ok(PRIV_S, LOAD, hi - 8, "TOR, R");
    expect_af(PRIV_S, STORE, lo, PRIV_M, "TOR, R");
    expect_af(PRIV_S, STORE, hi - 8, PRIV_M, "TOR, R");
    expect_ok(PRIV_S, STORE, hi, "TOR's top, outside it");
    expect_ok(PRIV_S, STORE, lo - 8, "below TOR's bottom");
    /* a top not above its bottom: the entry matches nothing */
    pmp_set(2, PMP_TOR, lo >> 2);
    expect_ok(PRIV_S, STORE, lo, "TOR with top = bottom");
    pmp_off();
}

/* NA4: four bytes; an access the deciding entry covers only in part fails */
static void test_pmp_na4(void)
{
    u64 p = (u64)pmp_area[2];
    volatile u64 *q = (volatile u64 *)p;
    struct trap t;
    bool trapped;
    u64 v;

    q[2] = 0x1111111122222222UL;
    q[3] = 0x3333333344444444UL;
    pmp_set(0, PMP_NA4, (p + 0x10) >> 2);
    v = s_load32_at(p + 0x10, &t, &trapped);
    report(trapped && t.cause == CAUSE_LOAD_ACCESS && t.tval == p + 0x10 && t.mode == PRIV_M,
           "NA4: S 4-byte load of its bytes: access fault (cause %lu, tval %#lx)",
           trapped ? (unsigned long)t.cause : 999UL, (unsigned long)t.tval);
    v = s_load32_at(p + 0x14, &t, &trapped);
    report(!trapped && v == 0x11111111, "NA4: S 4-byte load of the next 4: %#lx", (unsigned long)v);
    v = s_load32_at(p + 0xc, &t, &trapped);
    report(!trapped && v == 0, "NA4: S 4-byte load of the 4 before: %#lx", (unsigned long)v);
    expect_af(PRIV_S, LOAD, p + 0x10, PRIV_M, "NA4 under an 8-byte load (it covers half)");
    expect_ok(PRIV_S, LOAD, p + 0x18, "NA4, the next 8 bytes");
    expect_ok(PRIV_S, STORE, p + 0x18, "NA4, the next 8 bytes");
    expect_af(PRIV_S, STORE, p + 0x10, PRIV_M, "NA4 under an 8-byte store");
    /* M's own 8-byte access there would fail too (all bytes or none, whatever L says) */
    pmp_off();
    report(q[3] == 0x6b65656c && q[2] == 0x1111111122222222UL,
           "NA4: the allowed store landed, the denied one changed nothing");
}

/* Priority: the lowest-numbered entry matching decides, whatever the others say */
static void test_pmp_priority(void)
{
    u64 p = (u64)pmp_area[2], block = (u64)pmp_area[2];

    pmp_set(1, PMP_NAPOT | PMP_R, napot(p, PAGE_SIZE));             /* one page R */
    pmp_set(2, PMP_NAPOT, napot(block, 2 * PAGE_SIZE));             /* two pages, nothing */
    expect_ok(PRIV_S, LOAD, p + 8, "entry 1 (R) over entry 2 (none)");
    expect_af(PRIV_S, STORE, p + 8, PRIV_M, "entry 1 (R) over entry 2 (none)");
    expect_af(PRIV_S, LOAD, p + PAGE_SIZE, PRIV_M, "entry 2 alone (none)");
    pmp_set(1, PMP_NAPOT, napot(p, PAGE_SIZE));
    pmp_set(2, PMP_NAPOT | PMP_R | PMP_W, napot(block, 2 * PAGE_SIZE));
    expect_af(PRIV_S, LOAD, p + 8, PRIV_M, "entry 1 (none) over entry 2 (RW)");
    expect_ok(PRIV_S, STORE, p + PAGE_SIZE, "entry 2 alone (RW)");
    pmp_off();
}

/* Translated: tval is the virtual address; an entry over a page table fails the walk */
static void test_pmp_translated(void)
{
    u64 p = (u64)pmp_area[1], va = TVA_PAGE(40), table;
    struct result r;
    char buf[120];

    levels = 3;
    root = pt_identity(3);
    set_pte(va, 0, PTE_LEAF(p, PTE_R | PTE_W | PTE_A | PTE_D));
    table = (u64)pt_slot(root, 3, va, 0) & ~(PAGE_SIZE - 1);
    csr_write(satp, satp_value(root, 0));
    sfence_vma();
    pmp_set(0, PMP_NAPOT, napot(p, PAGE_SIZE));
    expect_af(PRIV_S, LOAD, va + 8, PRIV_M, "Sv39, the page's frame denied: tval virtual");
    expect_af(PRIV_S, STORE, va + 8, PRIV_M, "Sv39, the page's frame denied: tval virtual");
    r = mprv_op(LOAD, va + 8, 0, MPRV_S);
    report(mprv_af(&r, LOAD, va + 8), "Sv39, the page's frame denied: M load with MPRV, MPP S: "
           "access fault in M, tval virtual (%s)", outcome(&r, buf, sizeof(buf)));
    pmp_set(0, PMP_NAPOT | PMP_W | PMP_R, napot(table, PAGE_SIZE));
    expect_ok_at(PRIV_S, LOAD, va + 8, p + 8, "Sv39, its level-0 table RW");
    pmp_set(0, PMP_NAPOT | PMP_X, napot(table, PAGE_SIZE));
    expect_af(PRIV_S, LOAD, va + 16, PRIV_M, "Sv39, its level-0 table unreadable");
    expect_af(PRIV_S, STORE, va + 16, PRIV_M, "Sv39, its level-0 table unreadable");
    pmp_off();
    expect_ok_at(PRIV_S, LOAD, va + 8, p + 8, "Sv39, entry off");
    csr_write(satp, 0);
    sfence_vma();
}

/* Locked: the entry binds M too, until reset (so it comes last) */
static void test_pmp_locked(void)
{
    u64 p = (u64)pmp_area[3];
    u64 c = csr_read(pmpcfg0) & ~(0xffUL << (8 * PMP_LOCKED_ENTRY));

    csr_op(CSR_RW, 0x3b0 + PMP_LOCKED_ENTRY, napot(p, PAGE_SIZE));
    csr_write(pmpcfg0, c | (u64)(PMP_NAPOT | PMP_R) << (8 * PMP_LOCKED_ENTRY));
    sfence_vma();
    expect_ok(PRIV_M, STORE, p + 8, "R, not locked: M stores");
    csr_write(pmpcfg0, c | (u64)(PMP_L | PMP_NAPOT | PMP_R) << (8 * PMP_LOCKED_ENTRY));
    sfence_vma();
    expect_af(PRIV_M, STORE, p + 8, PRIV_M, "R, locked");
    expect_ok(PRIV_M, LOAD, p + 8, "R, locked");
    expect_af(PRIV_S, STORE, p + 16, PRIV_M, "R, locked");
    csr_write(pmpcfg0, c);
    report(((csr_read(pmpcfg0) >> (8 * PMP_LOCKED_ENTRY)) & 0xff) == (PMP_L | PMP_NAPOT | PMP_R),
           "the locked entry ignores writes");
}

static void test_pmp(void)
{
    report_prefix_push("pmp");
    csr_write(satp, 0);
    sfence_vma();
    test_pmp_napot();
    test_pmp_tor();
    test_pmp_na4();
    test_pmp_priority();
    test_pmp_translated();
    test_pmp_locked();
    report_prefix_pop();
}

static void run_suite(unsigned int l)
{
    levels = l;
    root = pt_identity(levels);
    csr_write(satp, satp_value(root, 0));
    sfence_vma();
    report_prefix_push(l == 4 ? "Sv48" : "Sv39");
    test_basic();
    test_perms();
    test_user_sum_mxr();
    test_ad();
    test_superpages();
    test_reserved();
    test_sfence();
    test_switch();
    test_deleg();
    test_mprv();
    test_insn_pages();
    report_prefix_pop();
    csr_write(satp, 0);
    sfence_vma();
}

void guest_main(void)
{
    code_page = page_alloc();
    ((u32 *)code_page)[0] = INSN_LI_A0_77;
    ((u32 *)code_page)[1] = INSN_RET;
    fence_i();
    pa_mega = machine.ram_base + (32UL << 20);
    pa_mega2 = pa_mega + MEGAPAGE;
    if (machine.ram_size && machine.ram_size < (40UL << 20))
        guest_abort("paging needs 40 MiB of RAM (it has %#lx)", (unsigned long)machine.ram_size);
    run_suite(3);
    if (machine.sv48)
        run_suite(4);
    else
        report_skip("Sv48: satp does not take MODE 9");
    test_pmp();
}
