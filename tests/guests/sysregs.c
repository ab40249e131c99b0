/*
 * sysregs: the system registers a Keel guest sees.
 *  - ID registers (trapped by HCR_EL2.TID3): what Keel does not virtualise is
 *    absent and some fields are capped (Keel passes only the fields it knows,
 *    docs/cpu-features.md; this guest checks every hidden or capped one and
 *    prints all 56 registers as IDREG lines), and the whole ID space is
 *    identical on every vCPU; writes to it are UNDEFINED
 *  - PMU: PMUVer and PerfMon at most PMUv3p5; where Keel hides the PMU
 *    (PMUVer 0: a host without one, or an Armv8.0 PMUv3) no DT node, its
 *    registers RAZ/WI and the cycle counter not counting (the PMU guests do
 *    get is tests/guests/pmu.c's)
 *  - debug registers: MDSCR_EL1 keeps what is written; OSLSR_EL1 shows the
 *    OS lock implemented and set at power-on; breakpoint and watchpoint
 *    registers keep what is written, locked and unlocked (the debug guest
 *    checks what they do); MDCCSR_EL0 RAZ; ACTLR_EL1 RAZ/WI (HCR_EL2.TACR)
 *  - implementation-defined registers (HCR_EL2.TIDCP) and SVE: UNDEFINED
 *  - the registers and instructions of hidden features (pointer
 *    authentication, SCXTNUM, LORegions, RAS records, TCR2, PIE, POE, GCS,
 *    MTE, SVE, SME, MOPS): UNDEFINED
 *  - EL1/EL0 state the guest owns (thread IDs, CONTEXTIDR, PAR, CSSELR,
 *    SP_EL0, FP/SIMD registers) survives exits to Keel, per vCPU
 *  - MPIDR_EL1 and MIDR_EL1 per vCPU; DC ZVA and cache maintenance work
 */
#include "libguest.h"

#define NR_ID 56 /* op0 3, op1 0, CRn 0, CRm 1-7, op2 0-7 */
#define ID(crm, op2) (((crm) - 1) * 8 + (op2))
#define PFR0 ID(1, 0)
#define PFR1 ID(1, 1)
#define DFR0 ID(1, 2)
#define PFR2 ID(3, 4)
#define DFR1 ID(3, 5)
#define AA64PFR0 ID(4, 0)
#define AA64PFR1 ID(4, 1)
#define AA64PFR2 ID(4, 2)
#define AA64ZFR0 ID(4, 4)
#define AA64SMFR0 ID(4, 5)
#define AA64FPFR0 ID(4, 7)
#define AA64DFR0 ID(5, 0)
#define AA64DFR1 ID(5, 1)
#define AA64ISAR1 ID(6, 1)
#define AA64ISAR2 ID(6, 2)
#define AA64MMFR0 ID(7, 0)
#define AA64MMFR1 ID(7, 1)
#define AA64MMFR2 ID(7, 2)

struct idregs {
    u64 id[NR_ID];
    u64 midr, revidr, mpidr, ctr, dczid, clidr;
};
static struct idregs ids[MAX_CPUS];

#define RD(crm, op2) r->id[ID(crm, op2)] = read_sysreg(S3_0_C0_C##crm##_##op2);
#define ROW(crm) RD(crm, 0) RD(crm, 1) RD(crm, 2) RD(crm, 3) RD(crm, 4) RD(crm, 5) RD(crm, 6) RD(crm, 7)

static void read_ids(void *arg)
{
    struct idregs *r = &ids[smp_id()];

    ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
    r->midr = read_sysreg(midr_el1);
    r->revidr = read_sysreg(revidr_el1);
    r->mpidr = read_sysreg(mpidr_el1);
    r->ctr = read_sysreg(ctr_el0);
    r->dczid = read_sysreg(dczid_el0);
    r->clidr = read_sysreg(clidr_el1);
}

struct field {
    unsigned int reg, hi, lo;
    const char *name;
    u64 max; /* the highest value Keel lets through (0: hidden) */
};

/* Keel's policy for the fields it hides or caps (sysreg.c, docs/cpu-features.md). */
static const struct field hidden[] = {
    { AA64PFR0, 7, 4, "ID_AA64PFR0_EL1.EL1 (AArch64 only)", 1 },
    { AA64PFR0, 11, 8, "ID_AA64PFR0_EL1.EL2", 0 },
    { AA64PFR0, 27, 24, "ID_AA64PFR0_EL1.GIC (v3 system registers)", 1 },
    { AA64PFR0, 31, 28, "ID_AA64PFR0_EL1.RAS", 0 },
    { AA64PFR0, 35, 32, "ID_AA64PFR0_EL1.SVE", 0 },
    { AA64PFR0, 39, 36, "ID_AA64PFR0_EL1.SEL2", 0 },
    { AA64PFR0, 43, 40, "ID_AA64PFR0_EL1.MPAM", 0 },
    { AA64PFR0, 47, 44, "ID_AA64PFR0_EL1.AMU", 0 },
    { AA64PFR0, 55, 52, "ID_AA64PFR0_EL1.RME", 0 },
    { AA64PFR0, 59, 56, "ID_AA64PFR0_EL1.CSV2 (no SCXTNUM)", 1 },
    { AA64PFR1, 11, 8, "ID_AA64PFR1_EL1.MTE", 0 },
    { AA64PFR1, 15, 12, "ID_AA64PFR1_EL1.RAS_frac", 0 },
    { AA64PFR1, 19, 16, "ID_AA64PFR1_EL1.MPAM_frac", 0 },
    { AA64PFR1, 27, 24, "ID_AA64PFR1_EL1.SME", 0 },
    { AA64PFR1, 31, 28, "ID_AA64PFR1_EL1.RNDR_trap", 0 },
    { AA64PFR1, 35, 32, "ID_AA64PFR1_EL1.CSV2_frac (no SCXTNUM)", 1 },
    { AA64PFR1, 63, 36, "ID_AA64PFR1_EL1.NMI, MTE_frac, GCS, THE, MTEX, DF2, PFAR", 0 },
    { AA64PFR2, 63, 0, "ID_AA64PFR2_EL1", 0 },
    { AA64ZFR0, 63, 0, "ID_AA64ZFR0_EL1", 0 },
    { AA64SMFR0, 63, 0, "ID_AA64SMFR0_EL1", 0 },
    { AA64FPFR0, 63, 0, "ID_AA64FPFR0_EL1", 0 },
    { AA64DFR0, 3, 0, "ID_AA64DFR0_EL1.DebugVer (Armv8.0)", 6 },
    { AA64DFR0, 7, 4, "ID_AA64DFR0_EL1.TraceVer", 0 },
    { AA64DFR0, 11, 8, "ID_AA64DFR0_EL1.PMUVer (PMUv3p5)", 6 },
    { AA64DFR0, 19, 16, "ID_AA64DFR0_EL1.PMSS", 0 },
    { AA64DFR0, 27, 24, "ID_AA64DFR0_EL1.SEBEP", 0 },
    { AA64DFR0, 35, 32, "ID_AA64DFR0_EL1.PMSVer", 0 },
    { AA64DFR0, 43, 40, "ID_AA64DFR0_EL1.TraceFilt", 0 },
    { AA64DFR0, 47, 44, "ID_AA64DFR0_EL1.TraceBuffer", 0 },
    { AA64DFR0, 51, 48, "ID_AA64DFR0_EL1.MTPMU", 0 },
    { AA64DFR0, 55, 52, "ID_AA64DFR0_EL1.BRBE", 0 },
    { AA64DFR0, 63, 56, "ID_AA64DFR0_EL1.ExtTrcBuff, HPMN0", 0 },
    { AA64DFR1, 63, 0, "ID_AA64DFR1_EL1", 0 },
    { ID(6, 0), 27, 24, "ID_AA64ISAR0_EL1.TME", 0 },
    { AA64ISAR1, 63, 60, "ID_AA64ISAR1_EL1.LS64", 0 },
    { AA64ISAR2, 19, 16, "ID_AA64ISAR2_EL1.MOPS", 0 },
    { AA64ISAR2, 47, 32, "ID_AA64ISAR2_EL1.SYSREG_128 to PCDPHINT", 0 },
    { AA64ISAR2, 63, 56, "ID_AA64ISAR2_EL1.LUT, ATS1A", 0 },
    { ID(6, 3), 63, 0, "ID_AA64ISAR3_EL1", 0 },
    { AA64MMFR0, 3, 0, "ID_AA64MMFR0_EL1.PARange (40 bits)", 2 },
    { AA64MMFR0, 11, 8, "ID_AA64MMFR0_EL1.BigEnd", 0 },
    { AA64MMFR0, 19, 16, "ID_AA64MMFR0_EL1.BigEndEL0", 0 },
    { AA64MMFR0, 43, 32, "ID_AA64MMFR0_EL1.TGran16_2, TGran64_2, TGran4_2", 0 },
    { AA64MMFR0, 59, 56, "ID_AA64MMFR0_EL1.FGT", 0 },
    { AA64MMFR0, 63, 60, "ID_AA64MMFR0_EL1.ECV (no CNTPOFF)", 1 },
    { AA64MMFR1, 3, 0, "ID_AA64MMFR1_EL1.HAFDBS (no HAFT)", 2 },
    { AA64MMFR1, 11, 4, "ID_AA64MMFR1_EL1.VMIDBits, VH", 0 },
    { AA64MMFR1, 19, 16, "ID_AA64MMFR1_EL1.LO", 0 },
    { AA64MMFR1, 35, 28, "ID_AA64MMFR1_EL1.XNX, TWED", 0 },
    { AA64MMFR1, 43, 40, "ID_AA64MMFR1_EL1.HCX", 0 },
    { AA64MMFR2, 27, 24, "ID_AA64MMFR2_EL1.NV", 0 },
    { AA64MMFR2, 43, 40, "ID_AA64MMFR2_EL1.FWB", 0 },
    { AA64MMFR2, 59, 56, "ID_AA64MMFR2_EL1.EVT", 0 },
    { ID(7, 3), 63, 0, "ID_AA64MMFR3_EL1", 0 },
    { ID(7, 4), 63, 0, "ID_AA64MMFR4_EL1", 0 },
    { PFR0, 19, 16, "ID_PFR0_EL1.CSV2 (no SCXTNUM)", 1 },
    { PFR0, 23, 20, "ID_PFR0_EL1.AMU", 0 },
    { PFR0, 31, 28, "ID_PFR0_EL1.RAS", 0 },
    { PFR1, 15, 4, "ID_PFR1_EL1.Security, MProgMod, Virtualization", 0 },
    { PFR1, 27, 20, "ID_PFR1_EL1.Sec_frac, Virt_frac", 0 },
    { PFR1, 31, 28, "ID_PFR1_EL1.GIC", 1 },
    { DFR0, 3, 0, "ID_DFR0_EL1.CopDbg (Armv8.0)", 6 },
    { DFR0, 15, 12, "ID_DFR0_EL1.CopTrc", 0 },
    { DFR0, 19, 16, "ID_DFR0_EL1.MMapTrc", 0 },
    { DFR0, 27, 24, "ID_DFR0_EL1.PerfMon (PMUv3p5)", 6 },
    { DFR0, 31, 28, "ID_DFR0_EL1.TraceFilt", 0 },
    { PFR2, 11, 8, "ID_PFR2_EL1.RAS_frac", 0 },
    { DFR1, 63, 0, "ID_DFR1_EL1", 0 },
    { ID(1, 3), 63, 0, "ID_AFR0_EL1", 0 },
    { ID(5, 4), 63, 0, "ID_AA64AFR0_EL1", 0 },
    { ID(5, 5), 63, 0, "ID_AA64AFR1_EL1", 0 },
};

/* Encodings of the ID space Keel lets nothing through: reserved ones, and newer registers of hidden features. */
static const unsigned int reserved_ids[] = {
    ID(3, 3), ID(3, 7), ID(4, 3), ID(4, 6), ID(5, 2), ID(5, 3), ID(5, 6), ID(5, 7),
    ID(6, 4), ID(6, 5), ID(6, 6), ID(6, 7), ID(7, 5), ID(7, 6), ID(7, 7),
};

/* Every field the guest sees within Keel's caps; each register printed for docs/cpu-features.md. */
static void check_id_policy(const struct idregs *r0)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(hidden); i++) {
        const struct field *f = &hidden[i];
        u64 v = FIELD_GET(r0->id[f->reg], f->hi, f->lo);
        if (f->max)
            report(v <= f->max, "%s at most %lu (%lu)", f->name, f->max, v);
        else
            report(v == 0, "%s hidden: 0 (%#lx)", f->name, v);
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(reserved_ids); i++)
        report(r0->id[reserved_ids[i]] == 0, "reserved S3_0_C0_C%u_%u reads 0 (%#lx)",
               reserved_ids[i] / 8 + 1, reserved_ids[i] % 8, r0->id[reserved_ids[i]]);
    for (unsigned int i = 0; i < NR_ID; i++)
        report_info("IDREG S3_0_C0_C%u_%u %#018lx", i / 8 + 1, i % 8, r0->id[i]);
}

static void test_id_regs(void)
{
    unsigned int n = machine.nr_cpus;
    struct idregs *r0 = &ids[0];

    report_prefix_push("ID");
    on_cpus(read_ids, NULL);
    check_id_policy(r0);
    report(FIELD_GET(r0->id[AA64PFR0], 3, 0) >= 1 && FIELD_GET(r0->id[AA64PFR0], 7, 4) >= 1,
           "ID_AA64PFR0_EL1: EL0 and EL1 in AArch64 (%#lx)", r0->id[AA64PFR0]);
    report(r0->midr != 0, "MIDR_EL1 %#lx", r0->midr);
    for (unsigned int c = 1; c < n; c++) {
        struct idregs *r = &ids[c];
        unsigned int diff = 0, first = 0;
        for (unsigned int i = 0; i < NR_ID; i++) {
            if (r->id[i] != r0->id[i]) {
                if (!diff++)
                    first = i;
            }
        }
        report(diff == 0, "cpu %u: all %u ID registers equal to cpu 0's (%u differ, first S3_0_C0_C%u_%u)",
               c, NR_ID, diff, first / 8 + 1, first % 8);
        report(r->midr == r0->midr && r->revidr == r0->revidr && r->ctr == r0->ctr &&
                   r->dczid == r0->dczid && r->clidr == r0->clidr,
               "cpu %u: MIDR, REVIDR, CTR, DCZID, CLIDR equal to cpu 0's", c);
    }
    for (unsigned int c = 0; c < n; c++)
        report(ids[c].mpidr == (0x80000000UL | c) && mpidr_aff(ids[c].mpidr) == mpidr_aff(machine.mpidr[c]),
               "cpu %u: MPIDR_EL1 %#lx (0x80000000 | %u, as the DT)", c, ids[c].mpidr, c);

    {
        struct fault f;
        bool t;
        fault_expect();
        write_sysreg(S3_0_C0_C4_0, 0xffffUL);
        t = fault_taken(&f);
        report(t && ESR_EC(f.esr) == EC_UNKNOWN, "MSR to ID_AA64PFR0_EL1: UNDEFINED (EC %#lx)", ESR_EC(f.esr));
        report(read_sysreg(S3_0_C0_C4_0) == r0->id[AA64PFR0], "ID_AA64PFR0_EL1 unchanged");
    }
    report_prefix_pop();
}

/* ---- PMU: RAZ/WI where hidden ---- */
#define PMU_RW(name, reg)                                                               \
    do {                                                                                \
        struct fault f;                                                                 \
        u64 v;                                                                          \
        fault_expect();                                                                 \
        write_sysreg(reg, ~0UL);                                                        \
        v = read_sysreg(reg);                                                           \
        bool t = fault_taken(&f);                                                       \
        report(!t && v == 0, "%s: RAZ/WI (read %#lx%s)", name, v, t ? ", exception" : ""); \
    } while (0)

#define PMU_RO(name, reg)                                                               \
    do {                                                                                \
        struct fault f;                                                                 \
        u64 v;                                                                          \
        fault_expect();                                                                 \
        v = read_sysreg(reg);                                                           \
        bool t = fault_taken(&f);                                                       \
        report(!t && v == 0, "%s: RAZ (read %#lx%s)", name, v, t ? ", exception" : ""); \
    } while (0)

static void test_pmu(void)
{
    report_prefix_push("PMU");
    if (FIELD_GET(read_sysreg(id_aa64dfr0_el1), 11, 8)) {
        report_skip("guests have the PMU here (PMUVer %lu): tests/guests/pmu.c checks it",
                    FIELD_GET(read_sysreg(id_aa64dfr0_el1), 11, 8));
        report_prefix_pop();
        return;
    }
    report(machine.pmu_intid == 0, "hidden: no arm,armv8-pmuv3 node in the DT (INTID %u)",
           machine.pmu_intid);
    PMU_RW("PMCR_EL0", S3_3_C9_C12_0);
    PMU_RW("PMCNTENSET_EL0", S3_3_C9_C12_1);
    PMU_RW("PMCNTENCLR_EL0", S3_3_C9_C12_2);
    PMU_RW("PMOVSCLR_EL0", S3_3_C9_C12_3);
    PMU_RW("PMSELR_EL0", S3_3_C9_C12_5);
    PMU_RO("PMCEID0_EL0", S3_3_C9_C12_6);
    PMU_RO("PMCEID1_EL0", S3_3_C9_C12_7);
    PMU_RW("PMCCNTR_EL0", S3_3_C9_C13_0);
    PMU_RW("PMXEVTYPER_EL0", S3_3_C9_C13_1);
    PMU_RW("PMXEVCNTR_EL0", S3_3_C9_C13_2);
    PMU_RW("PMUSERENR_EL0", S3_3_C9_C14_0);
    PMU_RW("PMINTENSET_EL1", S3_0_C9_C14_1);
    PMU_RW("PMINTENCLR_EL1", S3_0_C9_C14_2);
    PMU_RW("PMOVSSET_EL0", S3_3_C9_C14_3);
    PMU_RW("PMEVCNTR0_EL0", S3_3_C14_C8_0);
    PMU_RW("PMEVTYPER0_EL0", S3_3_C14_C12_0);
    PMU_RW("PMCCFILTR_EL0", S3_3_C14_C15_7);
    {
        /* enable everything, then check the cycle counter stays at 0 */
        write_sysreg(S3_3_C9_C12_0, 1);           /* PMCR_EL0.E */
        write_sysreg(S3_3_C9_C12_1, BIT(31));     /* PMCNTENSET_EL0.C */
        isb();
        udelay(1000);
        report(read_sysreg(S3_3_C9_C13_0) == 0, "PMCCNTR_EL0 does not count once 'enabled'");
        write_sysreg(S3_3_C9_C12_4, 1);           /* PMSWINC_EL0: write-only, ignored */
        report(read_sysreg(S3_3_C14_C8_0) == 0, "PMSWINC_EL0 write ignored");
    }
    report_prefix_pop();
}

/* ---- debug and auxiliary control ---- */
static void test_debug(void)
{
    struct fault f;
    u64 v;
    bool t;

    report_prefix_push("debug");
    fault_expect();
    write_sysreg(S2_0_C0_C2_2, BIT(15) | BIT(13)); /* MDSCR_EL1.MDE|KDE */
    v = read_sysreg(S2_0_C0_C2_2);
    write_sysreg(S2_0_C0_C2_2, 0);
    report(v == (BIT(15) | BIT(13)) && read_sysreg(S2_0_C0_C2_2) == 0, "MDSCR_EL1 keeps what is written (%#lx)", v);
    v = read_sysreg(S2_0_C1_C1_4);
    report((v & 0xb) == 0xa, "OSLSR_EL1: OS lock implemented (OSLM 0b10), set at power-on (%#lx)", v);
    /* disabled (E = 0) throughout: only the values are checked here */
    write_sysreg(S2_0_C0_C0_4, 0x40001000UL); /* DBGBVR0_EL1, locked: kept by Keel */
    write_sysreg(S2_0_C0_C0_6, 0x40002000UL); /* DBGWVR0_EL1 */
    write_sysreg(S2_0_C1_C0_4, 0);            /* OSLAR_EL1: unlock, as Linux does */
    isb();
    report(read_sysreg(S2_0_C0_C0_4) == 0x40001000UL && read_sysreg(S2_0_C0_C0_6) == 0x40002000UL,
           "breakpoint and watchpoint values written while locked read back unlocked");
    write_sysreg(S2_0_C0_C0_4, 0x40003000UL); /* now in the CPU itself */
    write_sysreg(S2_0_C1_C0_4, 1);            /* lock again */
    isb();
    report(read_sysreg(S2_0_C0_C0_4) == 0x40003000UL && (read_sysreg(S2_0_C1_C1_4) & 0xb) == 0xa,
           "a value written unlocked reads back locked");
    write_sysreg(S2_0_C0_C0_4, 0);
    write_sysreg(S2_0_C0_C0_6, 0);
    report(read_sysreg(S2_3_C0_C1_0) == 0, "MDCCSR_EL0 RAZ");
    write_sysreg(actlr_el1, ~0UL);
    report(read_sysreg(actlr_el1) == 0, "ACTLR_EL1 RAZ/WI");
    t = fault_taken(&f);
    report(!t, "none of these took an exception");
    if (t)
        report_info("exception: ESR %#lx at %#lx", f.esr, f.elr);

    /*
     * Implementation-defined registers trap (HCR_EL2.TIDCP) and Keel answers
     * UNDEFINED. QEMU 7.2 ignores TIDCP, so what a model implements (its
     * CPUACTLR) reads natively there: only reported. An encoding no model
     * implements is UNDEFINED either way.
     */
    fault_expect();
    v = read_sysreg(S3_7_C15_C15_7);
    t = fault_taken(&f);
    report(t && ESR_EC(f.esr) == EC_UNKNOWN, "implementation-defined S3_7_C15_C15_7: UNDEFINED (EC %#lx)",
           ESR_EC(f.esr));
    fault_expect();
    v = read_sysreg(S3_1_C15_C2_0);
    t = fault_taken(&f);
    report_info("S3_1_C15_C2_0 (CPUACTLR on Cortex-A cores): %s", t ? "UNDEFINED" : "read natively");
    write_sysreg(cpacr_el1, read_sysreg(cpacr_el1) | (3UL << 16) | (3UL << 20)); /* ZEN, FPEN */
    isb();
    fault_expect();
    __asm__ volatile(".arch_extension sve\n rdvl %0, #1" : "=r"(v) :: "memory");
    t = fault_taken(&f);
    report(t && ESR_EC(f.esr) == EC_UNKNOWN, "SVE instruction (RDVL): UNDEFINED (EC %#lx)", ESR_EC(f.esr));
    report_prefix_pop();
}

/*
 * The registers and instructions of features Keel hides are UNDEFINED,
 * whether the CPU lacks them or Keel traps them (EnSCXT,
 * TLOR, TERR; HCRX_EL2 all zero; the fine-grained traps): a guest cannot
 * use what its ID registers deny.
 */
#define UNDEF_MRS(name, reg)                                                                    \
    do {                                                                                        \
        struct fault f;                                                                         \
        bool t;                                                                                 \
        fault_expect();                                                                         \
        (void)read_sysreg(reg);                                                                 \
        t = fault_taken(&f);                                                                    \
        report(t && ESR_EC(f.esr) == EC_UNKNOWN, "%s: UNDEFINED (%s, EC %#lx)", name,            \
               t ? "exception" : "read", ESR_EC(f.esr));                                        \
    } while (0)

static u8 mops_buf[64];

/*
 * Pointer authentication as the guest's ID registers show it (address:
 * ID_AA64ISAR1_EL1.APA/API, ID_AA64ISAR2_EL1.APA3; generic: GPA/GPI, GPA3).
 */
static bool guest_has_pauth(void)
{
    u64 isar1 = read_sysreg(id_aa64isar1_el1), isar2 = read_sysreg(S3_0_C0_C6_2);

    return FIELD_GET(isar1, 11, 4) || FIELD_GET(isar2, 15, 12);
}

static bool guest_has_pacga(void)
{
    u64 isar1 = read_sysreg(id_aa64isar1_el1), isar2 = read_sysreg(S3_0_C0_C6_2);

    return FIELD_GET(isar1, 31, 24) || FIELD_GET(isar2, 11, 8);
}

/* ---- pointer authentication: the guest's own, keys per vCPU ---- */
#define SCTLR_EnIA BIT(31)

static inline u64 pacia(u64 ptr, u64 mod)
{
    register u64 x0 __asm__("x0") = ptr, x1 __asm__("x1") = mod;

    __asm__ volatile(".inst 0xdac10020" : "+r"(x0) : "r"(x1) : "memory"); /* PACIA x0, x1 */
    return x0;
}

static inline u64 autia(u64 ptr, u64 mod)
{
    register u64 x0 __asm__("x0") = ptr, x1 __asm__("x1") = mod;

    __asm__ volatile(".inst 0xdac11020" : "+r"(x0) : "r"(x1) : "memory"); /* AUTIA x0, x1 */
    return x0;
}

static inline u64 pacga(u64 val, u64 mod)
{
    register u64 x0 __asm__("x0"), x1 __asm__("x1") = val, x2 __asm__("x2") = mod;

    __asm__ volatile(".inst 0x9ac23020" : "=r"(x0) : "r"(x1), "r"(x2) : "memory"); /* PACGA x0, x1, x2 */
    return x0;
}

static u64 apkeys_read(u64 *k)
{
    u64 any = 0;

    k[0] = read_sysreg(S3_0_C2_C1_0); k[1] = read_sysreg(S3_0_C2_C1_1);
    k[2] = read_sysreg(S3_0_C2_C1_2); k[3] = read_sysreg(S3_0_C2_C1_3);
    k[4] = read_sysreg(S3_0_C2_C2_0); k[5] = read_sysreg(S3_0_C2_C2_1);
    k[6] = read_sysreg(S3_0_C2_C2_2); k[7] = read_sysreg(S3_0_C2_C2_3);
    k[8] = read_sysreg(S3_0_C2_C3_0); k[9] = read_sysreg(S3_0_C2_C3_1);
    for (int i = 0; i < 10; i++)
        any |= k[i];
    return any;
}

static void apkeys_write(u64 seed)
{
    write_sysreg(S3_0_C2_C1_0, seed + 0); write_sysreg(S3_0_C2_C1_1, seed + 1);
    write_sysreg(S3_0_C2_C1_2, seed + 2); write_sysreg(S3_0_C2_C1_3, seed + 3);
    write_sysreg(S3_0_C2_C2_0, seed + 4); write_sysreg(S3_0_C2_C2_1, seed + 5);
    write_sysreg(S3_0_C2_C2_2, seed + 6); write_sysreg(S3_0_C2_C2_3, seed + 7);
    write_sysreg(S3_0_C2_C3_0, seed + 8); write_sysreg(S3_0_C2_C3_1, seed + 9);
    isb();
}

static volatile bool pauth_zero_at_start[MAX_CPUS], pauth_kept[MAX_CPUS];
static volatile u64 pauth_ga[MAX_CPUS];

/* Each vCPU: keys zero from Keel's reset, its own keys kept across exits, PACGA keyed by them. */
static void pauth_fn(void *arg)
{
    unsigned int c = smp_id();
    u64 seed = 0x1111000000000000UL * (c + 1), k[10];
    bool kept = true;

    pauth_zero_at_start[c] = apkeys_read(k) == 0;
    apkeys_write(seed);
    psci_call(PSCI_VERSION, 0, 0, 0);
    (void)readl(machine.gicd_base + GICD_IIDR);
    apkeys_read(k);
    for (int i = 0; i < 10; i++)
        kept &= k[i] == seed + (u64)i;
    pauth_kept[c] = kept;
    pauth_ga[c] = guest_has_pacga() ? pacga(0x1234, 0x5678) : 0;
}

static void test_pauth(void)
{
    const u64 ptr = 0x40123450UL;
    unsigned int n = machine.nr_cpus;
    bool zero = true, kept = true, distinct = true;
    u64 sctlr = read_sysreg(sctlr_el1), signed_ptr, back;
    struct fault f;
    bool t;

    report_prefix_push("pauth");
    if (!guest_has_pauth()) {
        report_info("no pointer authentication in ID_AA64ISAR1/2_EL1: hidden checks only");
        report_prefix_pop();
        return;
    }
    on_cpus(pauth_fn, NULL);
    for (unsigned int c = 0; c < n; c++) {
        zero &= pauth_zero_at_start[c];
        kept &= pauth_kept[c];
        for (unsigned int d = 0; d < c; d++)
            distinct &= pauth_ga[c] != pauth_ga[d];
    }
    report(zero, "the 10 key registers read 0 when each of %u vCPUs starts", n);
    report(kept, "each vCPU's keys kept across a hypercall and an MMIO exit");
    if (guest_has_pacga())
        report(distinct && pauth_ga[0] != 0, "PACGA differs per vCPU: each signs with its own key");

    write_sysreg(sctlr_el1, sctlr | SCTLR_EnIA);
    isb();
    signed_ptr = pacia(ptr, 42);
    back = autia(signed_ptr, 42);
    report(signed_ptr != ptr && back == ptr, "PACIA adds a PAC (%#lx), AUTIA with the same modifier "
           "takes it off (%#lx)", signed_ptr, back);
    fault_expect(); /* FEAT_FPAC: a failed AUTIA faults (EC 0x1c) instead of corrupting */
    back = autia(signed_ptr, 43);
    t = fault_taken(&f);
    report((t && ESR_EC(f.esr) == 0x1c) || (!t && back != ptr),
           "AUTIA with another modifier fails (%s)", t ? "FPAC exception" : "pointer corrupted");
    write_sysreg(sctlr_el1, sctlr);
    isb();
    report_prefix_pop();
}

static void test_hidden_features(void)
{
    u64 cpacr = read_sysreg(cpacr_el1);
    struct fault f;
    bool t;

    report_prefix_push("hidden");
    if (!guest_has_pauth()) {
        UNDEF_MRS("APIAKeyLo_EL1 (pointer authentication)", S3_0_C2_C1_0);
        UNDEF_MRS("APGAKeyHi_EL1 (pointer authentication)", S3_0_C2_C3_1);
    }
    UNDEF_MRS("SCXTNUM_EL1 (CSV2_2)", S3_0_C13_C0_7);
    UNDEF_MRS("SCXTNUM_EL0 (CSV2_2)", S3_3_C13_C0_7);
    UNDEF_MRS("LORC_EL1 (LORegions)", S3_0_C10_C4_3);
    UNDEF_MRS("LORID_EL1 (LORegions)", S3_0_C10_C4_7);
    UNDEF_MRS("ERRIDR_EL1 (RAS)", S3_0_C5_C3_0);
    UNDEF_MRS("TCR2_EL1 (TCRX)", S3_0_C2_C0_3);
    UNDEF_MRS("PIR_EL1 (S1PIE)", S3_0_C10_C2_3);
    UNDEF_MRS("POR_EL1 (S1POE)", S3_0_C10_C2_4);
    UNDEF_MRS("GCSCR_EL1 (GCS)", S3_0_C2_C5_0);
    UNDEF_MRS("GCR_EL1 (MTE)", S3_0_C1_C0_6);
    /* CPACR_EL1.ZEN, SMEN and FPEN open: the EL1 traps would come first (EC 0x19, 0x1d, 0x07 at EL1) */
    write_sysreg(cpacr_el1, cpacr | (3UL << 16) | (3UL << 20) | (3UL << 24));
    isb();
    UNDEF_MRS("ZCR_EL1 (SVE)", S3_0_C1_C2_0);
    UNDEF_MRS("SMCR_EL1 (SME)", S3_0_C1_C2_6);
    write_sysreg(cpacr_el1, cpacr);
    isb();
    /* SETP [x0]!, x1!, x2 (FEAT_MOPS), length 0: UNDEFINED with HCRX_EL2.MSCEn clear */
    fault_expect();
    {
        register u64 x0 __asm__("x0") = (u64)mops_buf, x1 __asm__("x1") = 0, x2 __asm__("x2") = 0;
        __asm__ volatile(".inst 0x19c20420" : "+r"(x0), "+r"(x1) : "r"(x2) : "memory", "cc");
    }
    t = fault_taken(&f);
    report(t && ESR_EC(f.esr) == EC_UNKNOWN, "SETP (MOPS): UNDEFINED (EC %#lx)", ESR_EC(f.esr));
    if (guest_has_pauth()) {
        report_prefix_pop();
        return;
    }
    /* PACIA x0, x1 with SCTLR_EL1.EnIA set: on a CPU without it, UNDEFINED */
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | BIT(31));
    isb();
    fault_expect();
    {
        register u64 x0 __asm__("x0") = 0x1234, x1 __asm__("x1") = 0;
        __asm__ volatile(".inst 0xdac10020" : "+r"(x0) : "r"(x1) : "memory");
    }
    t = fault_taken(&f);
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) & ~BIT(31));
    isb();
    report(t && ESR_EC(f.esr) == EC_UNKNOWN, "PACIA with SCTLR_EL1.EnIA set: UNDEFINED (EC %#lx)",
           ESR_EC(f.esr));
    report_prefix_pop();
}

/* ---- guest state across exits, per vCPU ---- */
static volatile bool state_ok[MAX_CPUS];
/* PAR_EL1 in its successful-translation format: attributes, PA, SH */
#define PAR_VALUE(c) (0x44UL << 56 | 0x12345000UL | (u64)(c) << 20 | 3UL << 7)

static void exits(void)
{
    psci_call(PSCI_VERSION, 0, 0, 0);                /* HVC */
    (void)readl(machine.gicd_base + GICD_IIDR);     /* emulated MMIO */
    (void)read_sysreg(S3_0_C0_C4_0);                /* trapped sysreg */
    if (gic_v2())
        writel(machine.gicd_base + GICD_SGIR, 0);   /* an SGI to nobody (empty target list) */
    else
        write_sysreg(S3_0_C12_C11_5, 0);            /* an SGI to nobody */
    isb();
}

static void state_fn(void *arg)
{
    unsigned int c = smp_id();
    u64 tag = 0x5a00000000000000UL | (u64)c << 40;
    bool ok = true;

    write_sysreg(tpidr_el0, tag | 1);
    write_sysreg(tpidrro_el0, tag | 2);
    write_sysreg(contextidr_el1, (tag | 3) & 0xffffffff);
    write_sysreg(par_el1, PAR_VALUE(c));
    write_sysreg(csselr_el1, 1); /* L1 instruction cache */
    write_sysreg(sp_el0, tag | 0x70);
    write_sysreg(cpacr_el1, read_sysreg(cpacr_el1) | (3UL << 20)); /* FPEN */
    isb();
    __asm__ volatile(".arch_extension fp\n fmov d0, %0\n fmov d7, %1\n fmov d15, %2\n fmov d31, %3"
                     :: "r"(tag | 10), "r"(tag | 11), "r"(tag | 12), "r"(tag | 13) : "memory");
    write_sysreg(fpcr, 3UL << 22); /* RMode: towards zero */
    exits();
    udelay(1000);
    exits();
    ok &= read_sysreg(tpidr_el0) == (tag | 1);
    ok &= read_sysreg(tpidrro_el0) == (tag | 2);
    ok &= read_sysreg(contextidr_el1) == ((tag | 3) & 0xffffffff);
    ok &= read_sysreg(par_el1) == PAR_VALUE(c);
    ok &= read_sysreg(csselr_el1) == 1;
    ok &= read_sysreg(sp_el0) == (tag | 0x70);
    {
        u64 d0, d7, d15, d31;
        __asm__ volatile(".arch_extension fp\n fmov %0, d0\n fmov %1, d7\n fmov %2, d15\n fmov %3, d31"
                         : "=r"(d0), "=r"(d7), "=r"(d15), "=r"(d31) :: "memory");
        ok &= d0 == (tag | 10) && d7 == (tag | 11) && d15 == (tag | 12) && d31 == (tag | 13);
    }
    ok &= (read_sysreg(fpcr) & (3UL << 22)) == (3UL << 22);
    write_sysreg(fpcr, 0);
    write_sysreg(csselr_el1, 0);
    state_ok[c] = ok;
}

static void test_state(void)
{
    bool ok = true;

    on_cpus(state_fn, NULL);
    for (unsigned int c = 0; c < machine.nr_cpus; c++) {
        ok &= state_ok[c];
        if (!state_ok[c])
            report_info("cpu %u: some EL1/EL0 state changed across exits", c);
    }
    report(ok, "thread IDs, CONTEXTIDR, PAR, CSSELR, SP_EL0, FP/SIMD registers and "
               "FPCR survive HVC, MMIO, sysreg and SGI exits on each of %u vCPUs", machine.nr_cpus);
}

static u8 zva_buf[4096] __aligned(4096);

static void test_cache_ops(void)
{
    u64 dczid = read_sysreg(dczid_el0);
    unsigned int bs = 4U << (dczid & 0xf);
    struct fault f;
    bool t, ok = true;

    fault_expect();
    for (unsigned int i = 0; i < sizeof(zva_buf); i++)
        zva_buf[i] = 0xaa;
    __asm__ volatile("dc civac, %0\n dc cvau, %0\n ic ivau, %0\n dsb ish\n isb"
                     :: "r"(zva_buf) : "memory");
    if (!(dczid & BIT(4))) {
        __asm__ volatile("dc zva, %0" :: "r"(zva_buf + bs) : "memory");
        for (unsigned int i = 0; i < 3 * bs && i < sizeof(zva_buf); i++)
            ok &= zva_buf[i] == ((i >= bs && i < 2 * bs) ? 0 : 0xaa);
        report(ok, "DC ZVA zeroes exactly one %u-byte block", bs);
    } else {
        report_skip("DC ZVA prohibited (DCZID_EL0.DZP)");
    }
    t = fault_taken(&f);
    report(!t, "cache maintenance by VA (DC CIVAC/CVAU, IC IVAU) allowed");
}

void guest_main(void)
{
    report_prefix_push("sysregs");
    report_info("%u vCPU(s)", machine.nr_cpus);
    smp_boot_all();
    report(FIELD_GET(read_sysreg(CurrentEL), 3, 2) == 1, "running at EL1");
    test_id_regs();
    test_hidden_features();
    test_pauth();
    test_pmu();
    test_debug();
    test_state();
    test_cache_ops();
    report_prefix_pop();
}
