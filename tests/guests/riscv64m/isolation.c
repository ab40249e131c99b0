/*
 * isolation: what the guest cannot reach whatever its privilege, page
 * tables and PMP say (privileged spec 1.12, 3.5 PMAs, 3.6 PMP, 4.3.2):
 *  - loads, stores and fetches at physical addresses where neither RAM
 *    nor a device is (QEMU virt's holes, just past the guest's RAM, RAM
 *    of the machine beyond the guest's, 4 GiB, the top of the Sv39 and
 *    the 40-bit physical space) raise access faults (5, 7, 1) with tval
 *    the address and epc the instruction, from M, S and U (Bare; PMP
 *    entry 15 open), in M or, by medeleg, in S
 *  - the same through page tables: a leaf naming such an address faults
 *    with tval the virtual address; a 1 GiB page over RAM reaches RAM's
 *    last word and faults right past it (loads, stores, fetches)
 *  - a page-table walk reading a PTE outside RAM (a pointer out of RAM,
 *    at level 1 and 0): an access fault of the access's kind (4.3.2 step 2)
 *  - the guest's own PMP: a locked entry granting everything grants no
 *    more (the holes still fault, from M too); a locked entry without
 *    permissions over a hole changes nothing; an entry denying S and U
 *    everything leaves M running (console, RAM, CLINT); an entry denying
 *    S a page makes S's load there an access fault
 */
#include "mguest.h"

#define TVA 0x40000000UL
#define GIGA_VA 0xc0000000UL

enum kind { LOAD, STORE, FETCH };
static const char *const kind_name[] = { "load", "store", "fetch" };
static const u64 af_cause[] = { CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS };
static const u64 pf_cause[] = { CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, CAUSE_FETCH_PAGE_FAULT };

static u64 ram_end;

struct result {
    bool trapped;
    struct trap t;
    u64 val;
};

static const lower_fn mem_fn[] = { mem_load64, mem_store64, mem_fetch };
static const lower_fn user_fn[] = { u_load64, u_store64, u_fetch };

static struct result access(unsigned int priv, enum kind k, u64 addr)
{
    struct result r = { 0 };

    expect_trap();
    if (priv == PRIV_M)
        r.val = mem_fn[k](addr, 0x6b65656c);
    else
        r.val = run_in(priv, priv == PRIV_U ? user_fn[k] : mem_fn[k], addr, 0x6b65656c);
    r.trapped = trap_taken(&r.t);
    return r;
}

/* The access fault of a @k at @addr (tval) from @priv, taken in @mode. */
static bool is_af(const struct result *r, unsigned int priv, enum kind k, u64 addr, unsigned int mode)
{
    u64 epc = k == FETCH ? addr : (u64)(priv == PRIV_U ? user_fn[k] : mem_fn[k]);

    return r->trapped && r->t.cause == af_cause[k] && r->t.tval == addr && r->t.epc == epc &&
           r->t.mode == mode && r->t.from == priv;
}

static const char *outcome(const struct result *r, char *buf, size_t n)
{
    if (!r->trapped)
        snprintf(buf, n, "no trap (%#lx)", (unsigned long)r->val);
    else
        snprintf(buf, n, "cause %lu in %s from %s, tval %#lx, epc %#lx", (unsigned long)r->t.cause,
                 priv_name(r->t.mode), priv_name(r->t.from), (unsigned long)r->t.tval,
                 (unsigned long)r->t.epc);
    return buf;
}

/* ---- where nothing is ---- */
static u64 holes[16];
static unsigned int nr_holes;

static void add_hole(u64 a)
{
    if (a >= machine.ram_base && a < ram_end)
        return; /* RAM on this machine: not a hole here */
    if (nr_holes < ARRAY_SIZE(holes))
        holes[nr_holes++] = a;
}

static void find_holes(void)
{
    add_hole(0x0);                  /* QEMU virt's debug region: nothing behind it */
    add_hole(0x02010000);           /* past the CLINT's 64 KiB */
    add_hole(0x0d000000);           /* past the PLIC */
    add_hole(0x10200000);           /* past the UART, virtio and fw_cfg */
    add_hole(0x1f000000);
    add_hole(ram_end);              /* just past the guest's RAM */
    add_hole(ram_end + 0x1000);
    add_hole(0x9ff00000);           /* RAM of a 512 MiB machine, not the guest's */
    add_hole(0x100000000UL);        /* 4 GiB */
    add_hole(0x3ffffff000UL);       /* the top of 38 bits */
    add_hole(0x10000000000UL);      /* 2^40 */
}

static void test_holes_from(unsigned int priv, bool deleg)
{
    unsigned int bad = 0, n = 0;
    char buf[120];

    csr_write(medeleg, deleg ? BIT(CAUSE_LOAD_ACCESS) | BIT(CAUSE_STORE_ACCESS) | BIT(CAUSE_FETCH_ACCESS) : 0);
    for (unsigned int i = 0; i < nr_holes; i++) {
        for (unsigned int k = 0; k < 3; k++) {
            unsigned int mode = deleg && priv != PRIV_M ? PRIV_S : PRIV_M;
            struct result r = access(priv, (enum kind)k, holes[i]);

            n++;
            if (!is_af(&r, priv, (enum kind)k, holes[i], mode)) {
                report(false, "%s %s at %#lx: %s", priv_name(priv), kind_name[k], (unsigned long)holes[i],
                       outcome(&r, buf, sizeof(buf)));
                bad++;
            }
        }
    }
    csr_write(medeleg, 0);
    report(!bad, "%s: %u loads, stores and fetches where nothing is: access faults 5/7/1 in %s, "
           "tval and epc right", priv_name(priv), n, deleg && priv != PRIV_M ? "S (medeleg)" : "M");
}

static void test_holes(void)
{
    report_prefix_push("physical");
    report_info("RAM %#lx-%#lx; %u probe addresses", (unsigned long)machine.ram_base,
                (unsigned long)ram_end - 1, nr_holes);
    test_holes_from(PRIV_M, false);
    test_holes_from(PRIV_S, false);
    test_holes_from(PRIV_U, false);
    test_holes_from(PRIV_S, true);
    test_holes_from(PRIV_U, true);
    {
        struct result r = access(PRIV_M, LOAD, ram_end - 8);
        report(!r.trapped, "RAM's last word loads (from M)");
    }
    report_prefix_pop();
}

/* ---- through page tables ---- */
static u64 *root;

static void use_root(void)
{
    csr_write(satp, SATP(SATP_SV39, 0, root));
    sfence_vma();
}

static void set_pte(u64 va, unsigned int level, u64 pte)
{
    *pt_slot(root, 3, va, level) = pte;
    sfence_vma();
}

static void test_translated(void)
{
    char buf[120];
    unsigned int bad = 0;

    report_prefix_push("translated");
    root = pt_identity(3);
    use_root();
    /* a 4 KiB leaf naming each hole that fits Sv39's 44-bit PPN */
    for (unsigned int i = 0; i < nr_holes; i++) {
        u64 va = TVA + i * PAGE_SIZE;

        set_pte(va, 0, PTE_LEAF(holes[i], PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D));
        for (unsigned int k = 0; k < 3; k++) {
            unsigned int priv = k == STORE ? PRIV_U : PRIV_S;
            struct result r;

            if (priv == PRIV_S)
                csr_set(mstatus, MSTATUS_SUM);
            if (k == FETCH)
                priv = PRIV_U; /* S never fetches from a U page */
            r = access(priv, (enum kind)k, va);
            csr_clear(mstatus, MSTATUS_SUM);
            if (!is_af(&r, priv, (enum kind)k, va, PRIV_M)) {
                report(false, "%s %s at %#lx -> %#lx: %s", priv_name(priv), kind_name[k], (unsigned long)va,
                       (unsigned long)holes[i], outcome(&r, buf, sizeof(buf)));
                bad++;
            }
        }
    }
    report(!bad, "a leaf naming a hole: access faults with tval the virtual address (%u leaves)", nr_holes);

    /* a 1 GiB page over RAM: RAM's last word yes, the next no */
    set_pte(GIGA_VA, 2, PTE_LEAF(0x80000000UL, PTE_R | PTE_W | PTE_X | PTE_A | PTE_D));
    {
        u64 last = GIGA_VA + (ram_end - 8 - 0x80000000UL), past = last + 8;
        struct result r = access(PRIV_S, LOAD, last);

        report(!r.trapped && r.val == *(volatile u64 *)(ram_end - 8), "1 GiB page: RAM's last word loads");
        r = access(PRIV_S, STORE, last);
        report(!r.trapped && *(volatile u64 *)(ram_end - 8) == 0x6b65656c, "1 GiB page: RAM's last word stores");
        for (unsigned int k = 0; k < 3; k++) {
            u64 a = k == 1 ? past + PAGE_SIZE : k == 2 ? past + 2 * PAGE_SIZE : past;
            r = access(PRIV_S, (enum kind)k, a);
            report(is_af(&r, PRIV_S, (enum kind)k, a, PRIV_M), "1 GiB page: %s past RAM's end: access fault (%s)",
                   kind_name[k], outcome(&r, buf, sizeof(buf)));
        }
        if (ram_end + GIGAPAGE / 2 < 0xc0000000UL) {
            r = access(PRIV_S, LOAD, GIGA_VA + (ram_end - 0x80000000UL) + GIGAPAGE / 4);
            report(is_af(&r, PRIV_S, LOAD, GIGA_VA + (ram_end - 0x80000000UL) + GIGAPAGE / 4, PRIV_M),
                   "1 GiB page: a load far past RAM's end (%s)", outcome(&r, buf, sizeof(buf)));
        }
    }
    set_pte(GIGA_VA, 2, 0);
    /* 2 MiB pages on RAM's last 2 MiB and on the next */
    set_pte(TVA + 4 * MEGAPAGE, 1, PTE_LEAF(ram_end - MEGAPAGE, PTE_R | PTE_W | PTE_A | PTE_D));
    set_pte(TVA + 5 * MEGAPAGE, 1, PTE_LEAF(ram_end, PTE_R | PTE_W | PTE_A | PTE_D));
    {
        struct result r = access(PRIV_S, LOAD, TVA + 5 * MEGAPAGE - 8);
        report(!r.trapped, "2 MiB page on RAM's last 2 MiB: its last word loads");
        r = access(PRIV_S, STORE, TVA + 5 * MEGAPAGE + 0x1000);
        report(is_af(&r, PRIV_S, STORE, TVA + 5 * MEGAPAGE + 0x1000, PRIV_M),
               "2 MiB page on the 2 MiB after RAM: store access fault (%s)", outcome(&r, buf, sizeof(buf)));
    }
    csr_write(satp, 0);
    sfence_vma();
    report_prefix_pop();
}

/* ---- the walk reading outside RAM ---- */
static void test_walk(void)
{
    u64 *table = page_alloc();
    char buf[120];
    struct result r;
    bool qemu_pf;

    report_prefix_push("walk");
    root = pt_identity(3);
    use_root();
    /* level 1: the 1 GiB slot of TVA points at a table past RAM */
    set_pte(TVA, 2, PTE_LEAF(ram_end, 0));
    for (unsigned int k = 0; k < 2; k++) {
        r = access(PRIV_S, (enum kind)k, TVA + 0x10);
        qemu_pf = r.trapped && r.t.cause == pf_cause[k];
        report_or_known(is_af(&r, PRIV_S, (enum kind)k, TVA + 0x10, PRIV_M),
                        "QEMU raises a page fault when a PTE cannot be read",
                        "S %s, a pointer to a table past RAM: access fault (%s)%s", kind_name[k],
                        outcome(&r, buf, sizeof(buf)), qemu_pf ? " [page fault]" : "");
    }
    r = access(PRIV_S, FETCH, TVA + 0x10);
    report_or_known(is_af(&r, PRIV_S, FETCH, TVA + 0x10, PRIV_M), "QEMU raises a page fault when a PTE cannot be read",
                    "S fetch, a pointer to a table past RAM: access fault (%s)", outcome(&r, buf, sizeof(buf)));
    /* level 0: a RAM table whose entry points at a table in a hole */
    table[0] = PTE_LEAF(0x1f000000UL, 0);
    set_pte(TVA, 2, PTE_LEAF(table, 0));
    r = access(PRIV_S, LOAD, TVA + 0x20);
    report_or_known(is_af(&r, PRIV_S, LOAD, TVA + 0x20, PRIV_M), "QEMU raises a page fault when a PTE cannot be read",
                    "S load, a level-0 table in a hole: access fault (%s)", outcome(&r, buf, sizeof(buf)));
    /* delegated: access faults to S */
    csr_write(medeleg, BIT(CAUSE_LOAD_ACCESS));
    r = access(PRIV_S, LOAD, TVA + 0x28);
    csr_write(medeleg, 0);
    report_or_known(is_af(&r, PRIV_S, LOAD, TVA + 0x28, PRIV_S), "QEMU raises a page fault when a PTE cannot be read",
                    "the same with medeleg[5]: in S (%s)", outcome(&r, buf, sizeof(buf)));
    set_pte(TVA, 2, 0);
    /* the guest's own RAM through the walk still works */
    set_pte(TVA, 0, PTE_LEAF(table, PTE_R | PTE_A));
    r = access(PRIV_S, LOAD, TVA);
    report(!r.trapped && r.val == table[0], "and a good walk next to them loads");
    csr_write(satp, 0);
    sfence_vma();
    report_prefix_pop();
}

/* ---- the guest's PMP ---- */
static void pmpcfg_set(unsigned int i, u8 cfg)
{
    u64 reg = csr_read(pmpcfg0);
    unsigned int sh = 8 * i;

    csr_write(pmpcfg0, (reg & ~(0xffUL << sh)) | (u64)cfg << sh);
}

static volatile unsigned int tick;

static bool tick_hook(struct trap_frame *f)
{
    if (f->cause != (CAUSE_INTERRUPT | IRQ_M_TIMER))
        return false;
    writeq(CLINT_MTIMECMP(hart_id()), ~0UL);
    tick++;
    return true;
}

static void test_pmp(void)
{
    u64 *page = page_alloc();
    struct result r;
    char buf[120];

    report_prefix_push("pmp");
    /* entry 2 denies S and U everything (not locked: M unaffected), entries 0-1 off */
    csr_write(pmpaddr2, GENMASK(53, 0));
    pmpcfg_set(2, PMP_NAPOT);
    printf("INFO: pmp: entry 2 denies S and U everything: M still prints\n");
    page[3] = 0x1234;
    report(page[3] == 0x1234, "M still loads and stores RAM");
    trap_hook_set(tick_hook);
    tick = 0;
    writeq(CLINT_MTIMECMP(hart_id()), rdtime() + us_to_ticks(2000));
    csr_write(mie, MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);
    bool got = wait_until(tick, 1000000);
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    trap_hook_set(NULL);
    report(got, "M still takes its CLINT timer");
    pmpcfg_set(2, 0);

    /* entry 1 denies S one page: a load there is an access fault (3.7.1: S and U are checked) */
    csr_write(pmpaddr1, ((u64)page >> 2) | ((PAGE_SIZE >> 3) - 1));
    pmpcfg_set(1, PMP_NAPOT);
    r = access(PRIV_S, LOAD, (u64)page + 8);
    report(is_af(&r, PRIV_S, LOAD, (u64)page + 8, PRIV_M),
           "S load from a page an S/U entry denies: access fault (%s)", outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_M, LOAD, (u64)page + 8);
    report(!r.trapped, "M loads there (the entry is not locked)");
    pmpcfg_set(1, 0);
    r = access(PRIV_S, LOAD, (u64)page + 8);
    report(!r.trapped, "entry off: S loads there");

    /* entry 3: locked, no permissions, NAPOT 64 KiB over a hole: the hole faults as before, from M too */
    csr_write(pmpaddr3, (0x1f000000UL >> 2) | ((0x10000UL >> 3) - 1));
    pmpcfg_set(3, PMP_L | PMP_NAPOT);
    r = access(PRIV_M, LOAD, 0x1f000000UL + 0x100);
    report(is_af(&r, PRIV_M, LOAD, 0x1f000000UL + 0x100, PRIV_M),
           "locked entry without permissions over a hole: M load access fault (%s)", outcome(&r, buf, sizeof(buf)));
    r = access(PRIV_M, LOAD, (u64)page);
    report(!r.trapped, "M loads RAM beside it");

    /* entry 0: locked, NAPOT over everything, RWX: grants no more than there is */
    csr_write(pmpaddr0, GENMASK(53, 0));
    pmpcfg_set(0, PMP_L | PMP_NAPOT | PMP_R | PMP_W | PMP_X);
    report((csr_read(pmpcfg0) & 0xff) == (PMP_L | PMP_NAPOT | 7), "entry 0 locked, NAPOT everything, RWX");
    test_holes_from(PRIV_M, false);
    test_holes_from(PRIV_S, false);
    r = access(PRIV_S, LOAD, (u64)page);
    report(!r.trapped && r.val == page[0], "S loads RAM under it");
    printf("INFO: pmp: M still prints with entry 0 locked\n");
    report_prefix_pop();
}

void guest_main(void)
{
    ram_end = machine.ram_base + (machine.ram_size ? machine.ram_size : (64UL << 20));
    find_holes();
    test_holes();
    test_translated();
    test_walk();
    test_pmp();
}
