/*
 * mte: memory tagging (FEAT_MTE2) as a Keel guest sees it.
 *  - a VM without keel,mte (every run of the usual matrix): no MTE in
 *    ID_AA64PFR1_EL1, GCR_EL1 and TFSR_EL1 UNDEFINED;
 *  - a VM with it (tests/system/test_guests.py's test_mte_guest: mte=on, the
 *    board with tag memory): the host's MTE level; Allocation Tags of RAM it
 *    never touched read 0 (Keel zeroes them with the data); STG/LDG round
 *    trip; synchronous tag check faults (EC 0x25, DFSC 0x11, FAR the
 *    address), asynchronous ones (TFSR_EL1.TF0, no exception), asymmetric
 *    ones with FEAT_MTE3 (loads synchronous, stores asynchronous),
 *    PSTATE.TCO suppressing checks; on every vCPU, its MTE registers 0 when
 *    it starts and its own checks. It leaves every granule of its block
 *    tagged 0xa: started again from Keel's shell (tests/system/test_vm_ram.py),
 *    it must find them 0 again.
 */
#include "libguest.h"

#define SCTLR_TCF_SHIFT 40    /* tag check faults at EL1: 0 none, 1 sync, 2 async, 3 asymmetric */
#define SCTLR_ATA BIT(43)     /* EL1 may access Allocation Tags */
#define TCR_TBI0 BIT(37)
#define TFSR_TF0 BIT(0) /* an asynchronous fault at a VA with bit 55 clear (the TTBR0 range) */
#define DFSC_TAG_CHECK 0x11
#define GRANULE 16

#define GCR_EL1 S3_0_C1_C0_6
#define RGSR_EL1 S3_0_C1_C0_5
#define TFSR_EL1 S3_0_C5_C6_0
#define TFSRE0_EL1 S3_0_C5_C6_1

static u64 block; /* a 2 MiB block of RAM, mapped Tagged while tested */

static unsigned int mte_level(void)
{
    return FIELD_GET(read_sysreg(id_aa64pfr1_el1), 11, 8);
}

static inline u64 with_tag(u64 p, u64 tag)
{
    return (p & ~GENMASK(59, 56)) | (tag << 56);
}

static inline void stg(u64 tagged_ptr)
{
    __asm__ volatile(".arch armv8.5-a+memtag\n stg %0, [%0]" :: "r"(tagged_ptr) : "memory");
}

static inline u64 ldg(u64 p)
{
    u64 t = p;

    __asm__ volatile(".arch armv8.5-a+memtag\n ldg %0, [%1]" : "+r"(t) : "r"(p) : "memory");
    return FIELD_GET(t, 59, 56);
}

static inline void set_tco(bool on)
{
    if (on)
        __asm__ volatile(".arch armv8.5-a+memtag\n msr tco, #1" ::: "memory");
    else
        __asm__ volatile(".arch armv8.5-a+memtag\n msr tco, #0" ::: "memory");
}

static void set_tcf(unsigned int tcf)
{
    u64 s = read_sysreg(sctlr_el1) & ~(3UL << SCTLR_TCF_SHIFT);

    write_sysreg(sctlr_el1, s | SCTLR_ATA | ((u64)tcf << SCTLR_TCF_SHIFT));
    isb();
}

/* A RAM block away from the image (low) and the DTB. */
static u64 pick_block(void)
{
    u64 b = (machine.ram_base + machine.ram_size / 2) & ~((2UL << 20) - 1);

    if (machine.dtb >= b && machine.dtb < b + (2UL << 20))
        b -= 2UL << 20;
    return b;
}

static void test_hidden(void)
{
    struct fault f;
    bool t;

    report_prefix_push("hidden");
    report(mte_level() == 0, "ID_AA64PFR1_EL1.MTE 0 without keel,mte (%u)", mte_level());
    fault_expect();
    (void)read_sysreg(GCR_EL1);
    t = fault_taken(&f);
    report(t && ESR_EC(f.esr) == EC_UNKNOWN, "GCR_EL1: UNDEFINED (EC %#lx)", ESR_EC(f.esr));
    fault_expect();
    (void)read_sysreg(TFSR_EL1);
    t = fault_taken(&f);
    report(t && ESR_EC(f.esr) == EC_UNKNOWN, "TFSR_EL1: UNDEFINED (EC %#lx)", ESR_EC(f.esr));
    report_prefix_pop();
}

/* Tags of the block as Keel handed it over: every granule sampled at 4 KiB steps, and a whole page. */
static void check_fresh_tags(void)
{
    u64 nonzero = 0, where = 0;

    for (u64 p = block; p < block + (2UL << 20); p += 4096) {
        if (ldg(p)) {
            nonzero++;
            where = p;
        }
    }
    for (u64 p = block + 8192; p < block + 12288; p += GRANULE)
        nonzero += ldg(p) != 0;
    report(nonzero == 0, "Allocation Tags of RAM never touched read 0 (%lu not, e.g. at %#lx)",
           nonzero, where);
}

/* A load or store through a pointer tagged @ptag to a granule tagged @gtag. */
static bool access_faults(u64 p, bool store, struct fault *f)
{
    fault_expect();
    if (store)
        *(volatile u64 *)p = 0x1234;
    else
        (void)*(volatile u64 *)p;
    return fault_taken(f);
}

static bool tfsr_tf0_take(void)
{
    u64 v;

    __asm__ volatile("dsb sy\n isb" ::: "memory");
    v = read_sysreg(TFSR_EL1);
    write_sysreg(TFSR_EL1, 0);
    isb();
    return v & TFSR_TF0;
}

/*
 * The checks of one vCPU on granule @g (its own, so vCPUs do not share
 * tags); @quiet: only the outcome, no report lines (the per-vCPU runs).
 */
static bool check_modes(u64 g, bool quiet)
{
    u64 good = with_tag(g, 5), bad = with_tag(g, 3);
    struct fault f;
    bool ok = true, r, asym = mte_level() >= 3;

    stg(good);
    r = ldg(g) == 5;
    ok &= r;
    if (!quiet)
        report(r, "STG then LDG: tag 5 (%lu)", ldg(g));

    set_tcf(1);
    r = !access_faults(good, false, &f);
    ok &= r;
    if (!quiet)
        report(r, "sync: matching tag, no fault");
    r = access_faults(bad, false, &f) && ESR_EC(f.esr) == EC_DABT_CUR &&
        (f.esr & 0x3f) == DFSC_TAG_CHECK && (f.far & GENMASK(55, 0)) == (g & GENMASK(55, 0));
    ok &= r;
    if (!quiet)
        report(r, "sync: mismatched load faults: EC %#lx DFSC %#lx FAR %#lx", ESR_EC(f.esr),
               f.esr & 0x3f, f.far);
    r = access_faults(bad, true, &f) && (f.esr & 0x3f) == DFSC_TAG_CHECK && (f.esr & BIT(6));
    ok &= r;
    if (!quiet)
        report(r, "sync: mismatched store faults, WnR set (ESR %#lx)", f.esr);
    set_tco(true);
    r = !access_faults(bad, false, &f);
    set_tco(false);
    ok &= r;
    if (!quiet)
        report(r, "PSTATE.TCO set: no check");

    set_tcf(2);
    (void)tfsr_tf0_take();
    r = !access_faults(bad, true, &f) && tfsr_tf0_take();
    ok &= r;
    if (!quiet)
        report(r, "async: mismatched store, no exception, TFSR_EL1.TF0 set");

    if (asym) {
        set_tcf(3);
        r = access_faults(bad, false, &f) && (f.esr & 0x3f) == DFSC_TAG_CHECK;
        ok &= r;
        r = r && !access_faults(bad, true, &f) && tfsr_tf0_take();
        ok &= r;
        if (!quiet)
            report(r, "asymmetric (FEAT_MTE3): loads fault, stores set TFSR_EL1.TF0");
    } else if (!quiet) {
        report_info("no FEAT_MTE3: asymmetric checks not tried");
    }
    set_tcf(0);
    return ok;
}

static volatile bool regs_zero[MAX_CPUS], modes_ok[MAX_CPUS];

static void percpu_fn(void *arg)
{
    unsigned int c = smp_id();

    regs_zero[c] = !read_sysreg(GCR_EL1) && !read_sysreg(RGSR_EL1) && !read_sysreg(TFSR_EL1) &&
                   !read_sysreg(TFSRE0_EL1);
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_ATA);
    write_sysreg(tcr_el1, read_sysreg(tcr_el1) | TCR_TBI0);
    isb();
    modes_ok[c] = check_modes(block + 65536 + c * 4096, true);
}

static void test_tagged(void)
{
    unsigned int n = machine.nr_cpus;
    bool zero = true, ok = true;

    report_prefix_push("tagged");
    report(mte_level() >= 2, "ID_AA64PFR1_EL1.MTE %u: FEAT_MTE2 or later", mte_level());
    smp_boot_all();
    on_cpus(percpu_fn, NULL); /* first: the registers as each vCPU started */
    for (unsigned int c = 0; c < n; c++) {
        zero &= regs_zero[c];
        ok &= modes_ok[c];
    }
    report(zero, "GCR_EL1, RGSR_EL1, TFSR_EL1, TFSRE0_EL1 read 0 on each of %u vCPUs at start", n);
    report(ok, "each of %u vCPUs: its own synchronous, asynchronous%s checks", n,
           mte_level() >= 3 ? " and asymmetric" : "");
    check_modes(block + 32768, false);
    report_prefix_pop();
}

void guest_main(void)
{
    report_prefix_push("mte");
    report_info("%u vCPU(s), ID_AA64PFR1_EL1 %#lx", machine.nr_cpus, read_sysreg(id_aa64pfr1_el1));
    if (!mte_level()) {
        test_hidden();
        report_prefix_pop();
        return;
    }
    block = pick_block();
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_ATA);
    write_sysreg(tcr_el1, read_sysreg(tcr_el1) | TCR_TBI0);
    isb();
    mmu_set_tagged(block, true);
    check_fresh_tags();
    test_tagged();
    for (u64 p = block; p < block + (2UL << 20); p += GRANULE)
        stg(with_tag(p, 0xa));
    printf("mte: block %#lx left tagged 0xa\n", block);
    mmu_set_tagged(block, false);
    report_prefix_pop();
}
