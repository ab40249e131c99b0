/*
 * debug: self-hosted debug as a guest sees it (Arm ARM D2).
 *  - ID_AA64DFR0_EL1: DebugVer 6 (Armv8.0), BRPs and WRPs at least the
 *    architecture's two each, CTX_CMPs within BRPs; breakpoint BRPs and
 *    watchpoint WRPs exist, one past them is UNDEFINED, locked or not
 *  - the OS lock is set at power-on
 *  - a hardware breakpoint hit at EL1 (EC 0x31) and at EL0 (EC 0x30), at
 *    its address
 *  - watchpoints on a load and on a store (EC 0x35): FAR, WnR and ELR
 *  - software step (EC 0x33) over a sequence that exits to Keel: an HVC
 *    (PSCI_VERSION), an SMC, loads from emulated device registers (GICD_IIDR,
 *    the PL011's UARTFR) and a trapped MRS of an ID register; exactly one
 *    step per instruction, each at the right ELR
 *  - with the OS lock set, no breakpoint, watchpoint or step; unlocking
 *    brings them back
 *  - per vCPU: a breakpoint set on vCPU 0 does not fire on vCPU 1, which
 *    has its own; a vCPU powered off and on again starts with its debug
 *    state reset (OS lock set, MDSCR_EL1 0, breakpoints disabled)
 */
#include "libguest.h"

/* D13.3: the debug registers by encoding (the assembler's names vary by version) */
#define MDSCR_EL1 S2_0_C0_C2_2
#define OSLAR_EL1 S2_0_C1_C0_4
#define OSLSR_EL1 S2_0_C1_C1_4
#define DBGBVR0_EL1 S2_0_C0_C0_4
#define DBGBCR0_EL1 S2_0_C0_C0_5
#define DBGWVR0_EL1 S2_0_C0_C0_6
#define DBGWCR0_EL1 S2_0_C0_C0_7

#define MDSCR_SS BIT(0)
#define MDSCR_KDE BIT(13)
#define MDSCR_MDE BIT(15)
#define OSLSR_OSLK BIT(1)
#define SPSR_SS BIT(21)
#define SPSR_D BIT(9)

/* DBGBCR: E, PMC (bits 2:1; 0b01 EL1, 0b10 EL0), BAS 0b1111 (an A64 instruction) */
#define BCR_EL1 (BIT(0) | (1UL << 1) | (0xfUL << 5))
#define BCR_EL0 (BIT(0) | (2UL << 1) | (0xfUL << 5))
/* DBGWCR: E, PAC 0b01 (EL1), LSC (bits 4:3; 0b01 load, 0b10 store), BAS 0xff (8 bytes) */
#define WCR_LOAD (BIT(0) | (1UL << 1) | (1UL << 3) | (0xffUL << 5))
#define WCR_STORE (BIT(0) | (1UL << 1) | (2UL << 3) | (0xffUL << 5))

/* ESR_ELx.EC of the debug exceptions (D13.2.39), and their FSC: 0b100010, debug exception */
#define EC_BKPT_LOW 0x30
#define EC_BKPT_CUR 0x31
#define EC_STEP_LOW 0x32
#define EC_STEP_CUR 0x33
#define EC_WATCH_LOW 0x34
#define EC_WATCH_CUR 0x35
#define EC_SVC64 0x15
#define EC_BRK64 0x3c
#define FSC_DEBUG 0x22

#define BRK_STEP 0x5ee /* the BRK that starts stepping */
#define MAX_STEPS 16

void bp_func(void);
u64 wp_load(u64 *p);
void wp_store(u64 *p, u64 v);
u64 step_seq(u64 dev, u64 fn);
void run_el0(u64 entry);
extern char step_first[], step_last[], el0_return[];
__asm__(".text\n"
        ".global bp_func\n"
        "bp_func:\n"
        "  nop\n"
        "  ret\n"
        ".global wp_load\n"
        "wp_load:\n"
        "  ldr x0, [x0]\n"
        "  ret\n"
        ".global wp_store\n"
        "wp_store:\n"
        "  str x1, [x0]\n"
        "  ret\n"
        /* x0: an emulated device register, x1: PSCI_VERSION */
        ".global step_seq\n"
        "step_seq:\n"
        "  mov x9, x0\n"
        "  mov x10, x1\n"
        "  brk #0x5ee\n"
        ".global step_first\n"
        "step_first:\n"
        "  add x11, x11, #1\n"
        "  mov x0, x10\n"
        "  hvc #0\n"               /* PSCI_VERSION, an exit Keel returns from past the HVC */
        "  mov x12, x0\n"
        "  ldr w13, [x9]\n"        /* emulated: Keel steps over it */
        "  mov x0, x10\n"
        "  smc #0\n"               /* trapped (HCR_EL2.TSC): Keel steps over it */
        "  mrs x14, id_aa64dfr0_el1\n" /* trapped (HCR_EL2.TID3): Keel steps over it */
        "  nop\n"
        ".global step_last\n"
        "step_last:\n"
        "  mov x0, x12\n"
        "  ret\n"
        /* x0: EL0 entry; the code there ends with SVC, which comes back to el0_return */
        ".global run_el0\n"
        "run_el0:\n"
        "  stp x29, x30, [sp, #-16]!\n"
        "  msr elr_el1, x0\n"
        "  mov x1, #0x3c0\n"       /* EL0t, DAIF masked */
        "  msr spsr_el1, x1\n"
        "  eret\n"
        ".global el0_return\n"
        "el0_return:\n"
        "  ldp x29, x30, [sp], #16\n"
        "  ret\n");
#define STEP_INSNS ((unsigned int)((step_last - step_first) / 4))

/* What the debug exceptions of one CPU looked like. */
struct dbg_seen {
    unsigned int bkpt, watch, steps, svc;
    u64 bkpt_esr, bkpt_elr;
    u64 watch_esr, watch_elr, watch_far;
    u64 step_elr[MAX_STEPS];
    bool step_bad_esr;
};
static struct dbg_seen seen[MAX_CPUS];

static void mdscr_write(u64 v)
{
    write_sysreg(MDSCR_EL1, v);
    isb();
}

static void os_lock(bool lock)
{
    write_sysreg(OSLAR_EL1, lock);
    isb();
}

static void debug_unmask(void) { __asm__ volatile("msr daifclr, #8\n isb" ::: "memory"); }
static void debug_mask(void) { __asm__ volatile("msr daifset, #8\n isb" ::: "memory"); }

static void bp_set(u64 addr, u64 bcr)
{
    write_sysreg(DBGBVR0_EL1, addr);
    write_sysreg(DBGBCR0_EL1, bcr);
    isb();
}

static void wp_set(u64 addr, u64 wcr)
{
    write_sysreg(DBGWVR0_EL1, addr);
    write_sysreg(DBGWCR0_EL1, wcr);
    isb();
}

static void on_step(struct dbg_seen *s, struct ex_frame *f)
{
    if (s->steps < MAX_STEPS)
        s->step_elr[s->steps] = f->elr;
    s->steps++;
    if ((ESR_ISS(f->esr) & 0x3f) != FSC_DEBUG)
        s->step_bad_esr = true;
    if (f->elr == (u64)step_last || s->steps >= MAX_STEPS)
        mdscr_write(read_sysreg(MDSCR_EL1) & ~MDSCR_SS);
    else
        f->spsr |= SPSR_SS; /* the step exception took PSTATE.SS to 0: step one more */
}

/*
 * Each hit disables what fired, so the instruction runs when the handler
 * returns. Stepping starts at a BRK: its handler returns to the next
 * instruction with SPSR_EL1.SS and MDSCR_EL1.SS set and PSTATE.D clear
 * (active-not-pending, D2.12), and each step exception arms the next.
 */
static bool sync_hook(u64 kind, struct ex_frame *f)
{
    struct dbg_seen *s = &seen[smp_id()];

    switch (ESR_EC(f->esr)) {
    case EC_BKPT_CUR:
    case EC_BKPT_LOW:
        s->bkpt++;
        s->bkpt_esr = f->esr;
        s->bkpt_elr = f->elr;
        bp_set(0, 0);
        return true;
    case EC_WATCH_CUR:
    case EC_WATCH_LOW:
        s->watch++;
        s->watch_esr = f->esr;
        s->watch_elr = f->elr;
        s->watch_far = f->far;
        wp_set(0, 0);
        return true;
    case EC_STEP_CUR:
    case EC_STEP_LOW:
        on_step(s, f);
        return true;
    case EC_BRK64:
        if ((ESR_ISS(f->esr) & 0xffff) != BRK_STEP)
            return false;
        mdscr_write(read_sysreg(MDSCR_EL1) | MDSCR_SS | MDSCR_KDE);
        f->elr += 4; /* BRK's preferred return is itself */
        f->spsr = (f->spsr | SPSR_SS) & ~SPSR_D;
        return true;
    case EC_SVC64:
        if (kind != 8)
            return false;
        s->svc++;
        f->elr = (u64)el0_return;
        f->spsr = 0x3c5; /* EL1h, DAIF masked */
        return true;
    }
    return false;
}

static void seen_clear(void)
{
    seen[smp_id()] = (struct dbg_seen){ 0 };
}

/* DBGBCR<n>_EL1 or DBGWCR<n>_EL1 read; whether it was UNDEFINED. */
#define CR_READ(n) case n: v = wp ? read_sysreg(S2_0_C0_C##n##_7) : read_sysreg(S2_0_C0_C##n##_5); break;
static bool cr_undefined(unsigned int n, bool wp)
{
    u64 v = 0;

    fault_expect();
    switch (n) {
    CR_READ(0) CR_READ(1) CR_READ(2) CR_READ(3) CR_READ(4) CR_READ(5) CR_READ(6) CR_READ(7)
    CR_READ(8) CR_READ(9) CR_READ(10) CR_READ(11) CR_READ(12) CR_READ(13) CR_READ(14) CR_READ(15)
    }
    (void)v;
    return fault_taken(NULL);
}

static void test_id(void)
{
    u64 dfr0 = read_sysreg(id_aa64dfr0_el1);
    unsigned int brps = FIELD_GET(dfr0, 15, 12), wrps = FIELD_GET(dfr0, 23, 20);
    unsigned int ctx = FIELD_GET(dfr0, 31, 28);

    report_prefix_push("id");
    report(FIELD_GET(dfr0, 3, 0) == 6, "ID_AA64DFR0_EL1.DebugVer is Armv8.0 (%lu)", FIELD_GET(dfr0, 3, 0));
    report(brps >= 1 && wrps >= 1, "BRPs %u, WRPs %u: at least 2 breakpoints and 2 watchpoints", brps + 1,
           wrps + 1);
    report(ctx <= brps, "CTX_CMPs %u within BRPs", ctx + 1);
    for (int lock = 1; lock >= 0; lock--) {
        os_lock(lock);
        report(!cr_undefined(brps, false) && !cr_undefined(wrps, true),
               "%s: DBGBCR%u_EL1 and DBGWCR%u_EL1 exist", lock ? "locked" : "unlocked", brps, wrps);
        if (brps < 15)
            report(cr_undefined(brps + 1, false), "%s: DBGBCR%u_EL1 is UNDEFINED",
                   lock ? "locked" : "unlocked", brps + 1);
        if (wrps < 15)
            report(cr_undefined(wrps + 1, true), "%s: DBGWCR%u_EL1 is UNDEFINED",
                   lock ? "locked" : "unlocked", wrps + 1);
    }
    report_prefix_pop();
}

/* Calls bp_func with breakpoint 0 on it, debug exceptions unmasked; returns the hits. */
static unsigned int bp_try(void)
{
    struct dbg_seen *s = &seen[smp_id()];

    seen_clear();
    mdscr_write(MDSCR_MDE | MDSCR_KDE);
    bp_set((u64)bp_func, BCR_EL1);
    debug_unmask();
    bp_func();
    debug_mask();
    bp_set(0, 0);
    mdscr_write(0);
    return s->bkpt;
}

static void test_breakpoint(void)
{
    struct dbg_seen *s = &seen[smp_id()];

    report_prefix_push("breakpoint");
    report(bp_try() == 1, "EL1: one hit (%u)", s->bkpt);
    report(ESR_EC(s->bkpt_esr) == EC_BKPT_CUR && (ESR_ISS(s->bkpt_esr) & 0x3f) == FSC_DEBUG,
           "EL1: breakpoint from the current EL (ESR %#lx)", s->bkpt_esr);
    report(s->bkpt_elr == (u64)bp_func, "EL1: at the breakpoint's address (ELR %#lx, want %#lx)",
           s->bkpt_elr, (u64)bp_func);
    report_prefix_pop();
}

/* A 2 MiB block of RAM no one else uses, halfway in: EL0 gets its own code there. */
static void test_breakpoint_el0(void)
{
    static const u32 code[] = { 0xd503201f, 0xd503201f, 0xd4000001 }; /* nop; nop; svc #0 */
    u64 base = machine.ram_base + machine.ram_size / 2, bp = base + 4;
    struct dbg_seen *s = &seen[smp_id()];

    report_prefix_push("breakpoint el0");
    if (machine.ram_size < (16UL << 20) || (base & ((2UL << 20) - 1))) {
        report_skip("no spare 2 MiB block of RAM");
        report_prefix_pop();
        return;
    }
    mmu_set_user(base, true);
    for (unsigned int i = 0; i < ARRAY_SIZE(code); i++)
        ((volatile u32 *)base)[i] = code[i];
    __asm__ volatile("dc cvau, %0\n dsb ish\n ic ivau, %0\n dsb ish\n isb" :: "r"(base) : "memory");
    seen_clear();
    mdscr_write(MDSCR_MDE);
    bp_set(bp, BCR_EL0);
    run_el0(base);
    bp_set(0, 0);
    mdscr_write(0);
    mmu_set_user(base, false);
    report(s->svc == 1, "EL0 code ran to its SVC");
    report(s->bkpt == 1 && ESR_EC(s->bkpt_esr) == EC_BKPT_LOW,
           "one breakpoint from the lower EL (%u, ESR %#lx)", s->bkpt, s->bkpt_esr);
    report(s->bkpt_elr == bp, "at the breakpoint's address (ELR %#lx, want %#lx)", s->bkpt_elr, bp);
    report_prefix_pop();
}

static u64 wp_var __aligned(16);

/* wp_load or wp_store on wp_var with watchpoint 0 set by @wcr; returns the hits. */
static unsigned int wp_try(u64 wcr, bool store)
{
    struct dbg_seen *s = &seen[smp_id()];

    seen_clear();
    mdscr_write(MDSCR_MDE | MDSCR_KDE);
    wp_set((u64)&wp_var, wcr);
    debug_unmask();
    if (store)
        wp_store(&wp_var, 0x5a5a);
    else
        (void)wp_load(&wp_var);
    debug_mask();
    wp_set(0, 0);
    mdscr_write(0);
    return s->watch;
}

static void check_watch(const char *what, u64 elr, bool wnr)
{
    struct dbg_seen *s = &seen[smp_id()];
    u64 far = (u64)&wp_var;

    report(ESR_EC(s->watch_esr) == EC_WATCH_CUR && (ESR_ISS(s->watch_esr) & 0x3f) == FSC_DEBUG,
           "%s: watchpoint from the current EL (ESR %#lx)", what, s->watch_esr);
    report(!!(s->watch_esr & ESR_DABT_WNR) == wnr, "%s: WnR %d", what, wnr);
    report(s->watch_far >= far && s->watch_far < far + 8, "%s: FAR %#lx in the watched %#lx..+8",
           what, s->watch_far, far);
    report(s->watch_elr == elr, "%s: ELR at the access (%#lx, want %#lx)", what, s->watch_elr, elr);
}

static void test_watchpoint(void)
{
    report_prefix_push("watchpoint");
    wp_var = 1;
    report(wp_try(WCR_LOAD, false) == 1, "load: one hit");
    check_watch("load", (u64)wp_load, false);
    report(wp_try(WCR_LOAD, true) == 0, "store past a load-only watchpoint: no hit");
    report(wp_try(WCR_STORE, true) == 1, "store: one hit");
    check_watch("store", (u64)wp_store, true);
    report(wp_var == 0x5a5a, "the store completed after the handler");
    report_prefix_pop();
}

/* Steps through step_seq with @dev as its device register; the steps taken. */
static unsigned int step_try(u64 dev)
{
    struct dbg_seen *s = &seen[smp_id()];
    u64 r;

    seen_clear();
    debug_unmask();
    r = step_seq(dev, PSCI_VERSION);
    debug_mask();
    mdscr_write(0);
    if (r != 0x10001)
        report_info("PSCI_VERSION through the stepped HVC read %#lx", r);
    return s->steps;
}

static void check_steps(const char *dev)
{
    struct dbg_seen *s = &seen[smp_id()];
    unsigned int n = STEP_INSNS, bad = 0;

    for (unsigned int i = 0; i < n && i < s->steps; i++) {
        u64 want = (u64)step_first + 4 * (i + 1);
        if (s->step_elr[i] != want && bad++ < 3)
            report_info("%s: step %u at ELR %#lx, want %#lx", dev, i + 1, s->step_elr[i], want);
    }
    report(s->steps == n, "%s: %u steps over %u instructions (HVC, SMC, MMIO, MRS among them)", dev,
           s->steps, n);
    report(!bad && s->steps == n, "%s: each step exception at the next instruction's address", dev);
    report(!s->step_bad_esr, "%s: every step exception's ESR is a debug exception", dev);
}

static void test_step(void)
{
    report_prefix_push("step");
    step_try(machine.gicd_base + GICD_IIDR);
    check_steps("GICD_IIDR");
    if (machine.uart_base) {
        step_try(machine.uart_base + 0x18);
        check_steps("UARTFR");
    }
    report_prefix_pop();
}

static void test_os_lock(void)
{
    report_prefix_push("os lock");
    os_lock(true);
    report(read_sysreg(OSLSR_EL1) & OSLSR_OSLK, "OSLAR_EL1 = 1 sets OSLSR_EL1.OSLK");
    report(bp_try() == 0, "locked: no breakpoint");
    report(wp_try(WCR_STORE, true) == 0, "locked: no watchpoint");
    report(step_try(machine.gicd_base + GICD_IIDR) == 0, "locked: no step");
    os_lock(false);
    report(!(read_sysreg(OSLSR_EL1) & OSLSR_OSLK), "OSLAR_EL1 = 0 clears it");
    report(bp_try() == 1, "unlocked: breakpoint");
    report(wp_try(WCR_STORE, true) == 1, "unlocked: watchpoint");
    report(step_try(machine.gicd_base + GICD_IIDR) == STEP_INSNS, "unlocked: steps");
    report_prefix_pop();
}

/* ---- per vCPU ---- */
static volatile unsigned int other_hits;

static void call_bp_func(void *arg)
{
    os_lock(false);
    mdscr_write(MDSCR_MDE | MDSCR_KDE);
    seen_clear();
    debug_unmask();
    bp_func();
    debug_mask();
    mdscr_write(0);
    other_hits = seen[smp_id()].bkpt;
}

static void own_bp(void *arg)
{
    os_lock(false);
    other_hits = bp_try();
}

/* What a freshly started vCPU's debug state reads as, and a change to it that a reset must undo. */
struct fresh {
    u64 oslsr, mdscr, bcr_locked, bcr, bvr;
};

static void read_fresh(void *arg)
{
    struct fresh *f = arg;

    f->oslsr = read_sysreg(OSLSR_EL1);
    f->mdscr = read_sysreg(MDSCR_EL1);
    f->bcr_locked = read_sysreg(DBGBCR0_EL1);
    os_lock(false);
    f->bcr = read_sysreg(DBGBCR0_EL1);
    f->bvr = read_sysreg(DBGBVR0_EL1);
}

/* Left behind on purpose, for the next power-on to clear. */
static void leave_state(void *arg)
{
    bp_set((u64)bp_func, BCR_EL1);
    mdscr_write(MDSCR_MDE | MDSCR_KDE | MDSCR_SS);
}

static void cpu_off_fn(void *arg)
{
    cpu_off_self();
}

static void test_per_vcpu(void)
{
    struct fresh f = { 0 };

    report_prefix_push("per vcpu");
    if (machine.nr_cpus < 2) {
        report_skip("needs a second vCPU");
        report_prefix_pop();
        return;
    }
    if (!cpu_online(1) && smp_boot(1) != PSCI_RET_SUCCESS) {
        report(false, "cpu 1 does not start");
        report_prefix_pop();
        return;
    }
    on_cpu(1, read_fresh, &f);
    report(f.oslsr & OSLSR_OSLK, "cpu 1: OS lock set at power-on (OSLSR_EL1 %#lx)", f.oslsr);
    report(f.mdscr == 0 && f.bcr_locked == 0 && f.bcr == 0 && f.bvr == 0,
           "cpu 1: MDSCR_EL1 %#lx, DBGBCR0_EL1 %#lx (locked), %#lx, DBGBVR0_EL1 %#lx at power-on",
           f.mdscr, f.bcr_locked, f.bcr, f.bvr);

    /* cpu 0's breakpoint is its own */
    os_lock(false);
    mdscr_write(MDSCR_MDE | MDSCR_KDE);
    bp_set((u64)bp_func, BCR_EL1);
    other_hits = ~0U;
    on_cpu(1, own_bp, NULL);
    report(other_hits == 1, "cpu 1: its own breakpoint hits (%u)", other_hits);
    other_hits = ~0U;
    on_cpu(1, call_bp_func, NULL);
    report(other_hits == 0, "cpu 1: cpu 0's breakpoint does not (%u)", other_hits);
    report(bp_try() == 1, "cpu 0: its breakpoint still hits");

    /* what cpu 1 left set does not survive its CPU_OFF and CPU_ON */
    on_cpu(1, leave_state, NULL);
    on_cpu(1, cpu_off_fn, NULL);
    if (!wait_until(psci_affinity_info(machine.mpidr[1], 0) == PSCI_AFF_OFF, 2000000) ||
        smp_boot(1) != PSCI_RET_SUCCESS) {
        report(false, "cpu 1 does not start again");
        report_prefix_pop();
        return;
    }
    f = (struct fresh){ 0 };
    on_cpu(1, read_fresh, &f);
    report((f.oslsr & OSLSR_OSLK) && f.mdscr == 0 && f.bcr_locked == 0 && f.bcr == 0 && f.bvr == 0,
           "cpu 1 after CPU_OFF and CPU_ON: OS lock set, MDSCR_EL1 %#lx, DBGBCR0_EL1 %#lx, "
           "DBGBVR0_EL1 %#lx", f.mdscr, f.bcr, f.bvr);
    other_hits = ~0U;
    on_cpu(1, call_bp_func, NULL);
    report(other_hits == 0, "cpu 1: no breakpoint left from before (%u)", other_hits);
    report_prefix_pop();
}

void guest_main(void)
{
    sync_set_hook(sync_hook);
    report(read_sysreg(OSLSR_EL1) & OSLSR_OSLK, "OS lock set at power-on (OSLSR_EL1 %#lx)",
           read_sysreg(OSLSR_EL1));
    test_id();
    os_lock(false); /* as Linux does before it uses any debug */
    test_breakpoint();
    test_breakpoint_el0();
    test_watchpoint();
    test_step();
    test_os_lock();
    test_per_vcpu();
    sync_set_hook(NULL);
}
