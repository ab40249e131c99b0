/*
 * switchprobe: Keel's vCPU switch pairs (fpsimd.S, pauth.c, mte.c, debug.c,
 * pmu.c, linked unchanged) run at EL2 on QEMU's CPU, with EL2 itself
 * playing two guests A and B taking turns on one core: each must get back
 * exactly what the CPU held for it (read back through the CPU, so what the
 * CPU keeps of each register is what is compared), with the architectural
 * effects checked where QEMU has them: PACGA with the keys reloaded, the
 * PMU counting and stopping, its overflow line in the GIC. Under
 * -icount shift=0 it also counts the instructions of each function (the
 * counter's nanoseconds are instructions there). Prints on the
 * PL011, "SWITCHPROBE PASS" or "FAIL" lines, then PSCI SYSTEM_OFF.
 *
 *   tests/el2/switchprobe/run [-icount shift=0]
 */
#include <stdarg.h>
#include <arch/debug.h>
#include <arch/fpsimd.h>
#include <arch/mte.h>
#include <arch/pauth.h>
#include <arch/pmu.h>
#include <arch/sysreg.h>
#include <keel/cpu.h>
#include <keel/printf.h>
#include <keel/string.h>
#include <keel/vcpu.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

#define UART_DR 0x09000000UL
#define UART_FR (UART_DR + 0x18)
#define PSCI_SYSTEM_OFF 0x84000008UL
/* QEMU virt's GICv3: CPU 0's redistributor, SGI_base frame, GICR_ISPENDR0 */
#define GICR_ISPENDR0 (0x080A0000UL + 0x10000 + 0x200)
#define PMU_PPI 23

/* ---- what the code under test links against ---- */

struct platform platform;
struct cpu cpus[PLAT_MAX_CPUS];

struct cpu *cpu_this(void)
{
    return &cpus[0];
}

static void puts_uart(const char *s)
{
    for (; *s; s++) {
        while (*(volatile u32 *)UART_FR & (1 << 5)) /* TXFF */
            ;
        *(volatile u32 *)UART_DR = (u32)*s;
    }
}

void console_printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    puts_uart(buf);
}

/* ---- checks and counts ---- */

static unsigned int failures;

#define EXPECT(cond, ...)                                                 \
    do {                                                                  \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            console_printf("FAIL %s:%d: %s: ", __func__, __LINE__, #cond); \
            console_printf(__VA_ARGS__);                                  \
            console_printf("\n");                                         \
        }                                                                 \
    } while (0)

/* Nanoseconds of virtual time: instructions, under -icount shift=0. */
static u64 ticks(void)
{
    u64 t;

    isb();
    t = read_sysreg(cntvct_el0);
    isb();
    return t * (1000000000UL / read_sysreg(cntfrq_el0));
}

#define REPS 64
static u64 loop_cost;

/* Instructions per call of @fn(@arg), under -icount shift=0. */
static u64 count(void (*fn)(void *), void *arg)
{
    u64 t0 = ticks();

    for (unsigned int i = 0; i < REPS; i++)
        fn(arg);
    return (ticks() - t0) / REPS - loop_cost;
}

extern void nop_call(void *);
extern void fp_fill(u64 seed);

/* ---- the two guests ---- */

static struct vm vm_a, vm_b;
static struct vcpu va, vb;

static void vcpus_init(void)
{
    vm_a.cfg.mem_tagging = vm_b.cfg.mem_tagging = true;
    va.vm = &vm_a;
    vb.vm = &vm_b;
    vb.id = 1;
}

/* ---- FP/SIMD ---- */

static struct vcpu_fp fp_a, fp_b, fp_c;

static void fp_guest(u64 seed, u64 fpsr, u64 fpcr, struct vcpu_fp *save)
{
    fp_fill(seed);
    write_sysreg(fpsr, fpsr);
    write_sysreg(fpcr, fpcr);
    fpsimd_save(save);
}

static void fp_check_layout(const struct vcpu_fp *fp, u64 seed)
{
    for (unsigned int n = 0; n < 32; n++)
        EXPECT(fp->q[n][0] == seed + 2 * n && fp->q[n][1] == seed + 2 * n + 1, "Q%u %#lx:%#lx", n,
               fp->q[n][1], fp->q[n][0]);
}

static void test_fpsimd(void)
{
    fp_guest(0x1111000000000000UL, 0x0800001fUL, 0x07c00000UL, &fp_a); /* QC, IOC..IXC; AHP DN FZ RMode */
    fp_guest(0x2222000000000000UL, 0x00000080UL, 0x00080000UL, &fp_b); /* IDC; FZ16 */
    fp_check_layout(&fp_a, 0x1111000000000000UL);
    fp_check_layout(&fp_b, 0x2222000000000000UL);
    EXPECT(fp_a.fpcr != fp_b.fpcr && fp_a.fpsr != fp_b.fpsr, "FPCR %#lx/%#lx", fp_a.fpcr, fp_b.fpcr);
    fpsimd_load(&fp_a);
    fpsimd_save(&fp_c);
    EXPECT(!memcmp(&fp_a, &fp_c, sizeof(fp_c)), "A's state not back");
    EXPECT(read_sysreg(fpcr) == fp_a.fpcr, "FPCR %#lx", read_sysreg(fpcr));
    fpsimd_load(&fp_b);
    fpsimd_save(&fp_c);
    EXPECT(!memcmp(&fp_b, &fp_c, sizeof(fp_c)), "B's state not back");
    console_printf("  fpsimd_save %lu, fpsimd_load %lu instructions\n",
                   count((void (*)(void *))fpsimd_save, &fp_c),
                   count((void (*)(void *))fpsimd_load, &fp_a));
    write_sysreg(fpcr, 0);
}

/* ---- pointer authentication ---- */

/* PACGA x0, x1, x2 (by encoding: -march=armv8-a has no PAC mnemonics), with the APGAKey loaded. */
static u64 pacga(u64 v, u64 modifier)
{
    register u64 x0 __asm__("x0"), x1 __asm__("x1") = v, x2 __asm__("x2") = modifier;

    __asm__ volatile(".inst 0x9ac23020" : "=r"(x0) : "r"(x1), "r"(x2));
    return x0;
}

static void test_pauth(void)
{
    struct vcpu_el1 a = { 0 }, b = { 0 }, c = { 0 };
    u64 ga_a, ga_b;

    pauth_init();
    if (!cpu_has_pauth()) {
        console_printf("  pauth: the CPU has none; nothing to check\n");
        return;
    }
    for (unsigned int i = 0; i < 10; i++) {
        a.apkey[i] = 0xa5a5a5a500000000UL + i;
        b.apkey[i] = 0x5a5a5a5a00000000UL + i;
    }
    pauth_keys_load(&a);
    ga_a = pacga(0x1234, 0x5678);
    pauth_keys_save(&c);
    EXPECT(!memcmp(a.apkey, c.apkey, sizeof(c.apkey)), "A's keys not saved");
    pauth_keys_load(&b);
    ga_b = pacga(0x1234, 0x5678);
    EXPECT(ga_a != ga_b, "PACGA the same with B's keys: %#lx", ga_b);
    pauth_keys_load(&c);
    EXPECT(pacga(0x1234, 0x5678) == ga_a, "PACGA %#lx after A's keys came back, not %#lx",
           pacga(0x1234, 0x5678), ga_a);
    console_printf("  pauth_keys_save %lu, pauth_keys_load %lu instructions\n",
                   count((void (*)(void *))pauth_keys_save, &c),
                   count((void (*)(void *))pauth_keys_load, &c));
}

/* ---- MTE ---- */

#define GCR_EL1 S3_0_C1_C0_6
#define RGSR_EL1 S3_0_C1_C0_5
#define TFSR_EL1 S3_0_C5_C6_0
#define TFSRE0_EL1 S3_0_C5_C6_1

struct mte_regs { u64 gcr, rgsr, tfsr, tfsre0; };

static void mte_guest(u64 gcr, u64 rgsr, u64 tf, struct mte_regs *kept)
{
    write_sysreg_enc(GCR_EL1, gcr);
    write_sysreg_enc(RGSR_EL1, rgsr);
    write_sysreg_enc(TFSR_EL1, tf);
    write_sysreg_enc(TFSRE0_EL1, tf ^ 3);
    *kept = (struct mte_regs){ read_sysreg_enc(GCR_EL1), read_sysreg_enc(RGSR_EL1),
                               read_sysreg_enc(TFSR_EL1), read_sysreg_enc(TFSRE0_EL1) };
}

static bool mte_is(const struct mte_regs *r)
{
    return read_sysreg_enc(GCR_EL1) == r->gcr && read_sysreg_enc(RGSR_EL1) == r->rgsr &&
           read_sysreg_enc(TFSR_EL1) == r->tfsr && read_sysreg_enc(TFSRE0_EL1) == r->tfsre0;
}

static void test_mte(void)
{
    struct mte_regs ka, kb;

    if (!arch_mem_tagging_supported()) {
        console_printf("  mte: no FEAT_MTE2 (QEMU: -M virt,mte=on); nothing to check\n");
        return;
    }
    mte_vcpu_reset();
    mte_guest(0x1a5a5, 0x123405, 1, &ka); /* RRND, Exclude; SEED, TAG; TF0 */
    mte_vcpu_save(&va);
    mte_vcpu_reset();
    EXPECT(read_sysreg_enc(GCR_EL1) == 0, "GCR_EL1 %#lx after the reset", read_sysreg_enc(GCR_EL1));
    mte_guest(0x0f0f0, 0xfedc0a, 2, &kb);
    mte_vcpu_save(&vb);
    mte_vcpu_load(&va);
    EXPECT(mte_is(&ka), "A's GCR/RGSR/TFSR/TFSRE0 not back: %#lx %#lx", read_sysreg_enc(GCR_EL1),
           read_sysreg_enc(RGSR_EL1));
    mte_vcpu_load(&vb);
    EXPECT(mte_is(&kb), "B's not back");
    vm_b.cfg.mem_tagging = false; /* a plain VM's vCPU leaves them alone */
    mte_vcpu_load(&vb);
    EXPECT(mte_is(&kb), "a plain vCPU's load changed them");
    vm_b.cfg.mem_tagging = true;
    console_printf("  mte_vcpu_save %lu, mte_vcpu_load %lu instructions (tagged VM)\n",
                   count((void (*)(void *))mte_vcpu_save, &va),
                   count((void (*)(void *))mte_vcpu_load, &va));
}

/* ---- debug ---- */

#define MAX_BP 16
struct dbg_regs { u64 bvr[MAX_BP], bcr[MAX_BP], wvr[MAX_BP], wcr[MAX_BP], mdscr, mdccint; };

static unsigned int nr_bps, nr_wps;

#define BP_IDX(n, op2) ((n) * 4 + (op2) - 4)
#define BP_READ(n, op2) case BP_IDX(n, op2): return read_sysreg(S2_0_C0_C##n##_##op2);
#define BP_WRITE(n, op2) case BP_IDX(n, op2): write_sysreg(S2_0_C0_C##n##_##op2, val); return;
#define BP_ROW(op, n) op(n, 4) op(n, 5) op(n, 6) op(n, 7)
#define BP_ALL(op) BP_ROW(op, 0) BP_ROW(op, 1) BP_ROW(op, 2) BP_ROW(op, 3) BP_ROW(op, 4) \
    BP_ROW(op, 5) BP_ROW(op, 6) BP_ROW(op, 7) BP_ROW(op, 8) BP_ROW(op, 9) BP_ROW(op, 10) \
    BP_ROW(op, 11) BP_ROW(op, 12) BP_ROW(op, 13) BP_ROW(op, 14) BP_ROW(op, 15)

static u64 bp_read(unsigned int n, unsigned int op2)
{
    switch (BP_IDX(n, op2)) {
    BP_ALL(BP_READ)
    }
    return 0;
}

static void bp_write(unsigned int n, unsigned int op2, u64 val)
{
    switch (BP_IDX(n, op2)) {
    BP_ALL(BP_WRITE)
    }
}

static void dbg_read(struct dbg_regs *r)
{
    for (unsigned int n = 0; n < nr_bps; n++) {
        r->bvr[n] = bp_read(n, 4);
        r->bcr[n] = bp_read(n, 5);
    }
    for (unsigned int n = 0; n < nr_wps; n++) {
        r->wvr[n] = bp_read(n, 6);
        r->wcr[n] = bp_read(n, 7);
    }
    r->mdscr = read_sysreg(mdscr_el1);
    r->mdccint = read_sysreg(mdccint_el1);
}

/* An unlocked guest programs every breakpoint and watchpoint: E set, EL1 and EL0 (PMC 0b11). */
static void dbg_guest(struct vcpu *v, u64 base, struct dbg_regs *kept)
{
    u64 unlock = 0;

    debug_sysreg_access(v, 0, 1, 0, 4, false, &unlock); /* OSLAR_EL1 = 0, trapped */
    for (unsigned int n = 0; n < nr_bps; n++) {
        bp_write(n, 4, base + n * 0x100);
        bp_write(n, 5, 0x1e7 | (n & 1) << 13);
    }
    for (unsigned int n = 0; n < nr_wps; n++) {
        bp_write(n, 6, base + 0x8000 + n * 0x100);
        bp_write(n, 7, 0x1ff | (n & 1) << 13);
    }
    write_sysreg(mdscr_el1, MDSCR_EL1_MDE | MDSCR_EL1_KDE | (base >> 28 & 1));
    write_sysreg(mdccint_el1, (base >> 28 & 1) << 29);
    dbg_read(kept);
}

static void test_debug(void)
{
    u64 dfr0 = read_sysreg(id_aa64dfr0_el1);
    struct dbg_regs ka = { 0 }, kb = { 0 }, now = { 0 };

    nr_bps = ID_FIELD(dfr0, ID_AA64DFR0_EL1_BRPS_SHIFT) + 1;
    nr_wps = ID_FIELD(dfr0, ID_AA64DFR0_EL1_WRPS_SHIFT) + 1;
    console_printf("  debug: %u breakpoints, %u watchpoints\n", nr_bps, nr_wps);
    debug_vcpu_reset(&va);
    debug_vcpu_reset(&vb);
    debug_vcpu_load(&va);
    dbg_guest(&va, 0x40000000UL, &ka);
    debug_vcpu_save(&va);
    debug_vcpu_load(&vb);
    dbg_read(&now);
    EXPECT(now.bvr[0] == 0 && now.bcr[nr_bps - 1] == 0 && now.wcr[0] == 0 && now.mdscr == 0,
           "B starts with something of A's");
    dbg_guest(&vb, 0x50000000UL, &kb);
    debug_vcpu_save(&vb);
    debug_vcpu_load(&va);
    dbg_read(&now);
    EXPECT(!memcmp(&now, &ka, sizeof(now)), "A's debug registers not back (MDSCR %#lx, %#lx)",
           now.mdscr, ka.mdscr);
    debug_vcpu_save(&va);
    debug_vcpu_load(&vb);
    dbg_read(&now);
    EXPECT(!memcmp(&now, &kb, sizeof(now)), "B's debug registers not back");
    console_printf("  debug_vcpu_save %lu, debug_vcpu_load %lu instructions (unlocked)\n",
                   count((void (*)(void *))debug_vcpu_save, &vb),
                   count((void (*)(void *))debug_vcpu_load, &vb));
}

/* ---- PMU ---- */

#define PMEVTYPER_NSH BIT(27) /* count at EL2: EL2 plays the guest here */
#define SW_INCR 0x00

static bool ppi_pending(void)
{
    return *(volatile u32 *)GICR_ISPENDR0 & BIT(PMU_PPI);
}

static void test_pmu(void)
{
    unsigned int n = (unsigned int)PMCR_EL0_N(read_sysreg(pmcr_el0));
    u64 cnt1;

    platform.pmu_irq = PMU_PPI;
    pmu_init();
    console_printf("  pmu: PMUVer %lu, N %u, PMCR_EL0 %s\n",
                   ID_FIELD(read_sysreg(id_aa64dfr0_el1), ID_AA64DFR0_EL1_PMUVER_SHIFT), n,
                   pmu_pmcr_trapped() ? "trapped" : "direct");
    if (!platform.pmu_irq || n < 2) {
        console_printf("  pmu: not given to guests here; nothing to check\n");
        return;
    }
    /* EL2 counts (no HPMD, HCCD), so that it can stand in for the guest */
    write_sysreg(mdcr_el2, n);
    pmu_vcpu_reset();
    /* A: counter 0 counts SW_INCR; counter 1 is one from overflowing, its interrupt enabled */
    write_sysreg(pmevtyper0_el0, PMEVTYPER_NSH | SW_INCR);
    write_sysreg(pmevtyper1_el0, PMEVTYPER_NSH | SW_INCR);
    write_sysreg(pmevcntr1_el0, 0xffffffffUL);
    write_sysreg(pmcntenset_el0, BIT(0) | BIT(1));
    write_sysreg(pmintenset_el1, BIT(1));
    write_sysreg(pmselr_el0, 1);
    write_sysreg(pmuserenr_el0, 1);
    write_sysreg(pmcr_el0, PMCR_EL0_E | PMCR_EL0_LC);
    isb();
    for (unsigned int i = 0; i < 5; i++)
        write_sysreg(pmswinc_el0, BIT(0) | BIT(1));
    isb();
    EXPECT(read_sysreg(pmevcntr0_el0) == 5, "SW_INCR counted %lu", read_sysreg(pmevcntr0_el0));
    EXPECT(read_sysreg(pmovsset_el0) == BIT(1), "PMOVSSET %#lx", read_sysreg(pmovsset_el0));
    EXPECT(pmu_line_high() && ppi_pending(), "A's overflow line low before the switch");
    cnt1 = read_sysreg(pmevcntr1_el0); /* 64 bits (PMUv3p5): past 2^32, the flag set at 32 */
    pmu_vcpu_save(&va);
    EXPECT(!pmu_line_high(), "the line still high after A's save");
    EXPECT(!ppi_pending(), "PPI %u still pending after A's save", PMU_PPI);
    write_sysreg(pmswinc_el0, BIT(0));
    isb();
    EXPECT(read_sysreg(pmevcntr0_el0) == 5, "counted after the save: %lu", read_sysreg(pmevcntr0_el0));
    /* B: its own counters, no overflow */
    pmu_vcpu_reset();
    write_sysreg(pmevtyper0_el0, PMEVTYPER_NSH | 0x11);
    write_sysreg(pmevcntr0_el0, 77);
    write_sysreg(pmintenset_el1, BIT(0));
    write_sysreg(pmcr_el0, PMCR_EL0_E | PMCR_EL0_LC);
    pmu_vcpu_save(&vb);
    pmu_vcpu_load(&vb);
    EXPECT(read_sysreg(pmevcntr0_el0) == 77 && !ppi_pending(), "B's counter %lu",
           read_sysreg(pmevcntr0_el0));
    pmu_vcpu_save(&vb);
    pmu_vcpu_load(&va);
    EXPECT(read_sysreg(pmevcntr0_el0) == 5 && read_sysreg(pmevcntr1_el0) == cnt1 &&
           read_sysreg(pmselr_el0) == 1 && read_sysreg(pmuserenr_el0) == 1,
           "A's PMU not back: %lu %lu", read_sysreg(pmevcntr0_el0), read_sysreg(pmevcntr1_el0));
    EXPECT(pmu_line_high(), "A's saved overflow did not raise the line again");
    EXPECT(ppi_pending(), "A's saved overflow: PPI %u not pending again", PMU_PPI);
    write_sysreg(pmswinc_el0, BIT(0));
    isb();
    EXPECT(read_sysreg(pmevcntr0_el0) == 6, "A does not count on: %lu", read_sysreg(pmevcntr0_el0));
    console_printf("  pmu_vcpu_save %lu, pmu_vcpu_load %lu instructions (N = %u)\n",
                   count((void (*)(void *))pmu_vcpu_save, &va),
                   count((void (*)(void *))pmu_vcpu_load, &va), n);
    pmu_quiesce();
}

void probe_main(void)
{
    u64 t0;

    loop_cost = 0;
    t0 = ticks();
    for (unsigned int i = 0; i < REPS; i++)
        nop_call(NULL);
    loop_cost = (ticks() - t0) / REPS;
    console_printf("SWITCHPROBE at EL%lu, CNTFRQ %lu, loop %lu ns\n", read_sysreg(CurrentEL) >> 2,
                   read_sysreg(cntfrq_el0), loop_cost);
    vcpus_init();
    test_fpsimd();
    test_pauth();
    test_mte();
    test_debug();
    test_pmu();
    console_printf(failures ? "SWITCHPROBE FAIL (%u)\n" : "SWITCHPROBE PASS\n", failures);
    register u64 x0 __asm__("x0") = PSCI_SYSTEM_OFF;
    __asm__ volatile("smc #0" : "+r"(x0) :: "memory");
}
