/*
 * hostile: a bare-metal guest that misbehaves on purpose, to find what
 * well-behaved guests never reach in the hypervisor. It checks almost
 * nothing about itself: the point is that Keel, and the VMs next to it,
 * survive it. tests/system/test_hostile.py runs it beside Linux and looks at
 * Keel's console, the Linux VM and the Keel shell afterwards.
 *
 * Modes (bootargs "hostile.mode=..."):
 *
 *  random  (default) on every vCPU at once, until a deadline derived from
 *          CNTFRQ: loads and stores of every width, pairs, exclusives,
 *          acquire/release, writeback forms, SIMD and LSE atomics, cache
 *          maintenance and instruction fetches, aligned and not, to the
 *          vGIC distributor and redistributors, the vPL011, and addresses
 *          below RAM, above it and high in the IPA space (beyond the 39 bits
 *          Keel's Stage-2 translates, through a second mapping); trapped
 *          system registers from a table and random encodings, executed by
 *          self-modifying code; random HVC/SMC; every PSCI call with good
 *          and bad arguments; SGI storms; checks that no general-purpose
 *          register changes across a trap. Prints counts, then
 *          "HOSTILE DONE" and powers its VM off.
 *  race    CPU_ON of vCPU 1 from vCPU 0 racing SYSTEM_RESET from vCPU 0,
 *          vCPU 1 or vCPU 2+, boot after boot.
 *  reset   SYSTEM_RESET as soon as the guest is up (lifecycle stress).
 *
 * race and reset need a Keel shared-memory region (keel,shmem node in the
 * DT): guest RAM is rebuilt from the pristine image on every reset, so the
 * boot counter lives there. The first boot after Keel starts only arms the
 * region and powers off ("hostile armed"), so a test can read Keel's free
 * page count with the VM quiet; "start <vm>" in the Keel shell then runs a
 * round of hostile.resets restarts, after which the guest prints
 * "hostile <mode> done" and powers off again (ready for another round).
 *
 * Other bootargs: hostile.seed=N (default: from the counter; always
 * printed), hostile.seconds=N or hostile.ms=N (random mode duration,
 * default HOSTILE_DEFAULT_SECONDS), hostile.resets=N, hostile.classes=
 * comma list of op classes (default all; see class_names[]),
 * hostile.trace=1 (print every op before doing it: slow, for bisecting a
 * Keel crash to one access), hostile.hb=N (seconds between heartbeat
 * lines, 0 = none).
 *
 * Each vCPU has its own PRNG (seeded from the seed and the vCPU index) and
 * draws nothing from the results of what it does, so a seed replays the
 * same op sequence per vCPU; only the interleaving between vCPUs varies.
 *
 * Natively (QEMU at EL1, no Keel; detected because KEEL_HC_VERSION is not
 * answered): random mode only; writes stay away from QEMU's real devices
 * that could DMA into guest RAM (fw_cfg, the ITS, LPI tables through
 * GICR_PROPBASER/PENDBASER, PCIe), instruction fetches go only where
 * nothing is mapped, CPU_SUSPEND (a WFI in QEMU's PSCI) and the
 * Keel-specific expected PSCI answers are skipped. Everything else runs
 * the same and shows how the answers differ.
 */
#include <libfdt.h>
#include <string.h>
#include <stdlib.h>
#include "libguest.h"

#ifndef HOSTILE_DEFAULT_SECONDS
#define HOSTILE_DEFAULT_SECONDS 10
#endif

#define KEEL_HC_VERSION 0xc6000000U
#define KEEL_HC_DOORBELL 0xc6000001U
#define SMCCC_ARCH_WORKAROUND_1 0x80008000U
#define SMCCC_ARCH_WORKAROUND_2 0x80007fffU
#define SMCCC_ARCH_WORKAROUND_3 0x80003fffU
#define SMCCC_ARCH_SOC_ID 0x80000002U

#define INSN_RET 0xd65f03c0U

/* Second mapping (TTBR1): VA = ALIAS_BASE + index GiB, Normal memory, executable. */
#define ALIAS_BASE 0xffffff8000000000UL
#define SZ_1G (1UL << 30)
#define SZ_2M (2UL << 20)
#define IPA_39 (1UL << 39)

#define UART_SIZE 0x1000
#define GICD_SIZE 0x10000

/* ---- configuration ---- */
enum mode { MODE_RANDOM, MODE_RACE, MODE_RESET };
static const char *const mode_names[] = { "random", "race", "reset" };

enum op_class {
    C_MMIO, C_PAIR, C_EXCL, C_UNALIGNED, C_SIMD, C_ATOMIC, C_CACHE, C_FETCH,
    C_SYSREG, C_SYSRAND, C_SMCCC, C_PSCI, C_SGI, C_REGS, NR_CLASSES
};
static const char *const class_names[NR_CLASSES] = {
    "mmio", "pair", "excl", "unaligned", "simd", "atomic", "cache", "fetch",
    "sysreg", "sysrand", "smccc", "psci", "sgi", "regs",
};
/* Relative frequency of each class. */
static const unsigned int class_weight[NR_CLASSES] = {
    [C_MMIO] = 24, [C_PAIR] = 5, [C_EXCL] = 5, [C_UNALIGNED] = 6, [C_SIMD] = 3,
    [C_ATOMIC] = 3, [C_CACHE] = 3, [C_FETCH] = 2, [C_SYSREG] = 16, [C_SYSRAND] = 6,
    [C_SMCCC] = 8, [C_PSCI] = 8, [C_SGI] = 6, [C_REGS] = 5,
};

static struct {
    enum mode mode;
    u64 seed;
    u64 ms;
    u32 resets;
    u32 classes; /* bit per enum op_class */
    bool trace;
    u32 hb;
    bool on_keel;
    bool has_fp, has_lse;
    const char *name;
} cfg;

/* ---- per-CPU state and counters ---- */
enum stat {
    S_OPS, S_LOADS, S_STORES, S_ABORT_SEA, S_ABORT_ALIGN, S_ABORT_OTHER, S_IABT, S_UNDEF,
    S_EXC_OTHER, S_SERROR, S_HVC, S_SMC, S_PSCI, S_SYSREG_R, S_SYSREG_W, S_SGI_SENT,
    S_SGI_RECV, S_IRQ_OTHER, S_FIQ, S_REGS_CHECKED, S_REGS_BAD, S_ANOMALY, S_UNEXPECTED,
    S_SGI_LOST, NR_STATS
};
static const char *const stat_names[NR_STATS] = {
    "ops", "loads", "stores", "sea", "align", "abort-other", "iabt", "undef",
    "exc-other", "serror", "hvc", "smc", "psci", "sysreg-r", "sysreg-w", "sgi-sent",
    "sgi-recv", "irq-other", "fiq", "regs-checked", "regs-bad", "anomalies", "unexpected",
    "sgi-lost",
};

struct hcpu {
    u64 rng;
    volatile u64 stat[NR_STATS];
    volatile bool in_op;    /* a hostile op is running: its faults are expected */
    volatile bool in_fetch; /* a branch to nowhere: faults return to the link register */
    volatile u32 last_class;
    volatile u64 last_addr, last_arg;
    volatile bool done;
    unsigned int anomalies_printed;
} __aligned(64);

static struct hcpu hcpus[MAX_CPUS];
/* One page of code per CPU for the instruction being tried: TCG invalidates by page. */
static u32 slots[MAX_CPUS][1024] __aligned(4096);
static u64 alias_l1[512] __aligned(4096);
static volatile u64 run_end;

static inline struct hcpu *me(void)
{
    return &hcpus[smp_id()];
}

static inline void count(enum stat s)
{
    me()->stat[s]++;
}

/* xorshift64*: small, and good enough to spread accesses. */
static u64 rnd(struct hcpu *c)
{
    u64 x = c->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545f4914f6cdd1dUL;
}

static u64 splitmix(u64 x)
{
    x += 0x9e3779b97f4a7c15UL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
    return x ^ (x >> 31);
}

static u64 below(struct hcpu *c, u64 n)
{
    return n ? rnd(c) % n : 0;
}

/* Random data for a store: mostly random, sometimes 0 or all ones (the extremes decode differently). */
static u64 rnd_value(struct hcpu *c)
{
    switch (below(c, 8)) {
    case 0: return 0;
    case 1: return ~0UL;
    case 2: return below(c, 256);
    default: return rnd(c);
    }
}

/* ---- exception vectors (our own: every fault here is expected and survived) ---- */
void hostile_exception(u64 kind, struct ex_frame *f);

__asm__(
    ".macro hostile_vec kind\n"
    "    .balign 0x80\n"
    "    sub sp, sp, #288\n"
    "    stp x0, x1, [sp]\n"
    "    mov x0, #\\kind\n"
    "    b hostile_vec_common\n"
    ".endm\n"
    "    .text\n"
    "    .balign 0x800\n"
    "    .global hostile_vectors\n"
    "hostile_vectors:\n"
    "    hostile_vec 0\n hostile_vec 1\n hostile_vec 2\n hostile_vec 3\n"
    "    hostile_vec 4\n hostile_vec 5\n hostile_vec 6\n hostile_vec 7\n"
    "    hostile_vec 8\n hostile_vec 9\n hostile_vec 10\n hostile_vec 11\n"
    "    hostile_vec 12\n hostile_vec 13\n hostile_vec 14\n hostile_vec 15\n"
    "hostile_vec_common:\n"
    "    stp x2, x3, [sp, #16]\n"
    "    stp x4, x5, [sp, #32]\n"
    "    stp x6, x7, [sp, #48]\n"
    "    stp x8, x9, [sp, #64]\n"
    "    stp x10, x11, [sp, #80]\n"
    "    stp x12, x13, [sp, #96]\n"
    "    stp x14, x15, [sp, #112]\n"
    "    stp x16, x17, [sp, #128]\n"
    "    stp x18, x19, [sp, #144]\n"
    "    stp x20, x21, [sp, #160]\n"
    "    stp x22, x23, [sp, #176]\n"
    "    stp x24, x25, [sp, #192]\n"
    "    stp x26, x27, [sp, #208]\n"
    "    stp x28, x29, [sp, #224]\n"
    "    mrs x1, elr_el1\n"
    "    stp x30, x1, [sp, #240]\n"
    "    mrs x1, spsr_el1\n"
    "    mrs x2, esr_el1\n"
    "    stp x1, x2, [sp, #256]\n"
    "    mrs x1, far_el1\n"
    "    str x1, [sp, #272]\n"
    "    mov x1, sp\n"
    "    bl hostile_exception\n"
    "    ldp x1, x2, [sp, #248]\n"
    "    msr elr_el1, x1\n"
    "    msr spsr_el1, x2\n"
    "    ldp x0, x1, [sp]\n"
    "    ldp x2, x3, [sp, #16]\n"
    "    ldp x4, x5, [sp, #32]\n"
    "    ldp x6, x7, [sp, #48]\n"
    "    ldp x8, x9, [sp, #64]\n"
    "    ldp x10, x11, [sp, #80]\n"
    "    ldp x12, x13, [sp, #96]\n"
    "    ldp x14, x15, [sp, #112]\n"
    "    ldp x16, x17, [sp, #128]\n"
    "    ldp x18, x19, [sp, #144]\n"
    "    ldp x20, x21, [sp, #160]\n"
    "    ldp x22, x23, [sp, #176]\n"
    "    ldp x24, x25, [sp, #192]\n"
    "    ldp x26, x27, [sp, #208]\n"
    "    ldp x28, x29, [sp, #224]\n"
    "    ldr x30, [sp, #240]\n"
    "    add sp, sp, #288\n"
    "    eret\n");
extern char hostile_vectors[];

#define ICC_IAR0 "S3_0_C12_C8_0"
#define ICC_EOIR0 "S3_0_C12_C8_1"
#define ICC_IAR1 "S3_0_C12_C12_0"
#define ICC_EOIR1 "S3_0_C12_C12_1"
#define ICC_DIR "S3_0_C12_C11_1"
#define ICC_CTLR "S3_0_C12_C12_4"
#define ICC_SGI1R "S3_0_C12_C11_5"
#define ICC_ASGI1R "S3_0_C12_C11_6"
#define ICC_SGI0R "S3_0_C12_C11_7"
#define ICC_AP0R0 "S3_0_C12_C8_4"
#define ICC_AP1R0 "S3_0_C12_C9_0"
#define ICC_IGRPEN1 "S3_0_C12_C12_7"
#define ICC_BPR1 "S3_0_C12_C12_3"
#define SYSREG_RD(r) ({ u64 __v; __asm__ volatile("mrs %0, " r : "=r"(__v) :: "memory"); __v; })
#define SYSREG_WR(r, v) __asm__ volatile("msr " r ", %x0" :: "rZ"((u64)(v)) : "memory")

/*
 * A level interrupt nobody services would fire forever (random GIC writes
 * enable and pend anything, random UART writes unmask its interrupts): any
 * interrupt but an SGI is disabled where it is taken.
 */
static void irq_silence(u32 intid)
{
    if (intid < 16 || intid >= 1020)
        return;
    if (intid < 32)
        writel(gicr_base(smp_id()) + GICR_SGI + GICD_ICENABLER, BIT(intid));
    else
        writel(machine.gicd_base + GICD_ICENABLER + 4 * (intid / 32), BIT(intid % 32));
}

/* Acknowledges, counts and completes what is pending, a bounded number at a time. */
static void irq_drain(bool group0)
{
    for (unsigned int n = 0; n < 16; n++) {
        u32 intid = (u32)(group0 ? SYSREG_RD(ICC_IAR0) : SYSREG_RD(ICC_IAR1)) & 0xffffff;

        if (intid >= 1020)
            return;
        if (intid < 16)
            count(S_SGI_RECV);
        else
            count(group0 ? S_FIQ : S_IRQ_OTHER);
        irq_silence(intid);
        if (group0)
            SYSREG_WR(ICC_EOIR0, intid);
        else
            SYSREG_WR(ICC_EOIR1, intid);
        if (SYSREG_RD(ICC_CTLR) & ICC_CTLR_EOIMODE) /* a random write may have set it */
            SYSREG_WR(ICC_DIR, intid);
        isb();
    }
}

static void anomaly(const char *fmt, ...) __printf(1, 2);

void hostile_exception(u64 kind, struct ex_frame *f)
{
    struct hcpu *c = me();
    u64 ec = ESR_EC(f->esr);

    switch (kind & 3) {
    case 1:
        irq_drain(false);
        return;
    case 2:
        irq_drain(true);
        return;
    case 3:
        count(S_SERROR);
        return;
    }
    if (!c->in_op) {
        count(S_UNEXPECTED);
        printf("HOSTILE UNEXPECTED: cpu %u: exception outside an op: ESR %#lx ELR %#lx FAR %#lx "
               "LR %#lx\n", smp_id(), f->esr, f->elr, f->far, f->x[30]);
        /* Skipping the instruction is all we can do; the count fails the run. */
        f->elr += 4;
        return;
    }
    if (c->in_fetch) {
        /* Whatever stopped the branch to nowhere: go back to after the blr. */
        count(ec == EC_IABT_CUR || ec == 0x20 ? S_IABT : S_EXC_OTHER);
        f->elr = f->x[30];
        return;
    }
    switch (ec) {
    case EC_DABT_CUR:
    case 0x24: {
        u64 fsc = ESR_FSC(f->esr);
        count(fsc == FSC_SEA ? S_ABORT_SEA : fsc == 0x21 ? S_ABORT_ALIGN : S_ABORT_OTHER);
        break;
    }
    case EC_UNKNOWN:
        count(S_UNDEF);
        break;
    default: /* FP/SVE/SME traps, PC/SP alignment, MTE, ... */
        count(S_EXC_OTHER);
        break;
    }
    f->elr += 4;
}

/* ---- self-modifying code: one instruction, then RET ---- */
static u64 slot_write(u32 insn)
{
    u32 *s = slots[smp_id()];

    s[0] = insn;
    s[1] = INSN_RET;
    __asm__ volatile("dc cvau, %0\n dsb ish\n ic ivau, %0\n dsb ish\n isb" :: "r"(s) : "memory");
    return (u64)s;
}

/* MRS/MSR Xt, S<op0>_<op1>_C<n>_C<m>_<op2>: enc = op0:op1:CRn:CRm:op2 (16 bits). */
#define SR(op0, op1, crn, crm, op2) \
    ((u16)(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2)))
static u32 insn_mrs(u16 enc, unsigned int rt) { return 0xd5200000U | (u32)enc << 5 | rt; }
static u32 insn_msr(u16 enc, unsigned int rt) { return 0xd5000000U | (u32)enc << 5 | rt; }
static u32 insn_hvc(u16 imm) { return 0xd4000002U | (u32)imm << 5; }
static u32 insn_smc(u16 imm) { return 0xd4000003U | (u32)imm << 5; }

/* Runs the slot with x0/x1 set; returns x0 (MRS results land in x0 when Rt = 0). */
static u64 slot_run(u64 slot, u64 x0v, u64 x1v)
{
    register u64 x0 __asm__("x0") = x0v;
    register u64 x1 __asm__("x1") = x1v;

    __asm__ volatile("blr %2" : "+r"(x0), "+r"(x1) : "r"(slot)
                     : "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
                       "x14", "x15", "x16", "x17", "x30", "memory", "cc");
    return x0;
}

/* An SMCCC call through the slot (HVC/SMC with any immediate): x0-x7 in, x0-x3 out. */
static struct smccc_res slot_call(u64 slot, const u64 a[8])
{
    register u64 x0 __asm__("x0") = a[0];
    register u64 x1 __asm__("x1") = a[1];
    register u64 x2 __asm__("x2") = a[2];
    register u64 x3 __asm__("x3") = a[3];
    register u64 x4 __asm__("x4") = a[4];
    register u64 x5 __asm__("x5") = a[5];
    register u64 x6 __asm__("x6") = a[6];
    register u64 x7 __asm__("x7") = a[7];

    __asm__ volatile("blr %8"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6),
                       "+r"(x7)
                     : "r"(slot)
                     : "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x30",
                       "memory", "cc");
    return (struct smccc_res){ x0, x1, x2, x3 };
}

/*
 * Register preservation across one trapping instruction. Sets every
 * general-purpose register to a known value (x0-x3 from the arguments,
 * x17 = the code, x_i = seed + (i << 12) for the rest), calls @code and
 * stores x0-x29 as they came back into out[]. x30 is the return address.
 */
void hostile_regcheck(u64 code, u64 a0, u64 a1, u64 a2, u64 a3, u64 seed, u64 *out);
__asm__(
    "    .text\n"
    "    .global hostile_regcheck\n"
    "hostile_regcheck:\n"
    "    sub sp, sp, #112\n"
    "    stp x19, x20, [sp]\n"
    "    stp x21, x22, [sp, #16]\n"
    "    stp x23, x24, [sp, #32]\n"
    "    stp x25, x26, [sp, #48]\n"
    "    stp x27, x28, [sp, #64]\n"
    "    stp x29, x30, [sp, #80]\n"
    "    stp x18, x6, [sp, #96]\n"
    "    mov x17, x0\n"
    "    mov x16, x5\n"
    "    mov x0, x1\n mov x1, x2\n mov x2, x3\n mov x3, x4\n"
    "    add x4, x16, #4, lsl #12\n  add x5, x16, #5, lsl #12\n"
    "    add x6, x16, #6, lsl #12\n  add x7, x16, #7, lsl #12\n"
    "    add x8, x16, #8, lsl #12\n  add x9, x16, #9, lsl #12\n"
    "    add x10, x16, #10, lsl #12\n add x11, x16, #11, lsl #12\n"
    "    add x12, x16, #12, lsl #12\n add x13, x16, #13, lsl #12\n"
    "    add x14, x16, #14, lsl #12\n add x15, x16, #15, lsl #12\n"
    "    add x18, x16, #18, lsl #12\n add x19, x16, #19, lsl #12\n"
    "    add x20, x16, #20, lsl #12\n add x21, x16, #21, lsl #12\n"
    "    add x22, x16, #22, lsl #12\n add x23, x16, #23, lsl #12\n"
    "    add x24, x16, #24, lsl #12\n add x25, x16, #25, lsl #12\n"
    "    add x26, x16, #26, lsl #12\n add x27, x16, #27, lsl #12\n"
    "    add x28, x16, #28, lsl #12\n add x29, x16, #29, lsl #12\n"
    "    add x16, x16, #16, lsl #12\n"
    "    blr x17\n"
    "    sub sp, sp, #240\n"
    "    stp x0, x1, [sp]\n"
    "    stp x2, x3, [sp, #16]\n"
    "    stp x4, x5, [sp, #32]\n"
    "    stp x6, x7, [sp, #48]\n"
    "    stp x8, x9, [sp, #64]\n"
    "    stp x10, x11, [sp, #80]\n"
    "    stp x12, x13, [sp, #96]\n"
    "    stp x14, x15, [sp, #112]\n"
    "    stp x16, x17, [sp, #128]\n"
    "    stp x18, x19, [sp, #144]\n"
    "    stp x20, x21, [sp, #160]\n"
    "    stp x22, x23, [sp, #176]\n"
    "    stp x24, x25, [sp, #192]\n"
    "    stp x26, x27, [sp, #208]\n"
    "    stp x28, x29, [sp, #224]\n"
    "    ldr x0, [sp, #240 + 104]\n"
    "    mov x1, #0\n"
    "1:  ldr x2, [sp, x1, lsl #3]\n"
    "    str x2, [x0, x1, lsl #3]\n"
    "    add x1, x1, #1\n"
    "    cmp x1, #30\n"
    "    b.lo 1b\n"
    "    add sp, sp, #240\n"
    "    ldp x19, x20, [sp]\n"
    "    ldp x21, x22, [sp, #16]\n"
    "    ldp x23, x24, [sp, #32]\n"
    "    ldp x25, x26, [sp, #48]\n"
    "    ldp x27, x28, [sp, #64]\n"
    "    ldp x29, x30, [sp, #80]\n"
    "    ldr x18, [sp, #96]\n"
    "    add sp, sp, #112\n"
    "    ret\n");

/* ---- output ---- */
static spinlock_t anomaly_lock = SPINLOCK_INIT;

/* Something Keel answered that it documents otherwise: counted, the first few printed. */
static void anomaly(const char *fmt, ...)
{
    struct hcpu *c = me();
    va_list ap;
    char buf[256];

    count(S_ANOMALY);
    if (c->anomalies_printed++ >= 8)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    spin_lock(&anomaly_lock);
    printf("HOSTILE ANOMALY: cpu %u: %s\n", smp_id(), buf);
    spin_unlock(&anomaly_lock);
}

/* ---- addresses ---- */
enum region { R_GICD, R_GICR, R_UART, R_BELOW, R_ABOVE, R_HIGH, NR_REGIONS };

static u64 ram_end(void)
{
    return machine.ram_base + machine.ram_size;
}

static bool in_ram(u64 pa, u64 size)
{
    return pa + size > machine.ram_base && pa < ram_end();
}

/*
 * Natively, some of QEMU's devices would write into guest RAM if poked
 * (fw_cfg DMA, the ITS and LPI tables, PCIe bus masters) or hold the boot
 * firmware: only the GIC's own registers, the UART and empty space take
 * random writes there.
 */
static bool native_write_ok(u64 pa)
{
    u64 gicr_end = machine.gicr_base + machine.gicr_size;

    if (cfg.on_keel)
        return true;
    if (pa >= machine.gicd_base && pa < machine.gicd_base + GICD_SIZE)
        return true;
    if (pa >= machine.gicr_base && pa < gicr_end)
        return ((pa - machine.gicr_base) & (GICR_STRIDE - 1)) >= 0x100; /* not CTLR..PENDBASER */
    if (pa >= machine.uart_base && pa < machine.uart_base + UART_SIZE)
        return true;
    return pa >= ram_end() + SZ_2M && pa < 0x4000000000UL; /* nothing there on virt */
}

/*
 * Register blocks of the distributor and of a redistributor (RD_base, then
 * SGI_base at +64 KiB): offset and size. Uniform offsets over 64 KiB and
 * 128 KiB per frame rarely hit the enable, pending, active and group
 * registers that make interrupts fire; half the accesses go here.
 */
struct regblock {
    u32 off, size;
};
static const struct regblock gicd_blocks[] = {
    { 0x0000, 0x10 }, { 0x0040, 0x10 }, { 0x0080, 0x80 }, { 0x0100, 0x80 }, { 0x0180, 0x80 },
    { 0x0200, 0x80 }, { 0x0280, 0x80 }, { 0x0300, 0x80 }, { 0x0380, 0x80 }, { 0x0400, 0x400 },
    { 0x0800, 0x400 }, { 0x0c00, 0x100 }, { 0x0d00, 0x80 }, { 0x0e00, 0x100 }, { 0x0f00, 0x30 },
    { 0x6000, 0x2000 }, { 0xffd0, 0x30 },
};
static const struct regblock gicr_blocks[] = {
    { 0x0000, 0x20 }, { 0x0040, 0x10 }, { 0x0070, 0x10 }, { 0x00a0, 0x30 }, { 0xffd0, 0x30 },
    { 0x10080, 0x4 }, { 0x10100, 0x4 }, { 0x10180, 0x4 }, { 0x10200, 0x4 }, { 0x10280, 0x4 },
    { 0x10300, 0x4 }, { 0x10380, 0x4 }, { 0x10400, 0x20 }, { 0x10c00, 0x8 }, { 0x10d00, 0x4 },
    { 0x10e00, 0x4 },
};

static u64 pick_block(struct hcpu *c, const struct regblock *b, unsigned int n)
{
    b += below(c, n);
    return b->off + below(c, b->size);
}

/* A physical address (IPA under Keel) in @r, never in this VM's RAM. */
static u64 pick_pa(struct hcpu *c, enum region r)
{
    u64 pa;

    for (;;) {
        switch (r) {
        case R_GICD:
            pa = machine.gicd_base + (below(c, 2) ? below(c, GICD_SIZE)
                                                  : pick_block(c, gicd_blocks, ARRAY_SIZE(gicd_blocks)));
            break;
        case R_GICR:
            /* one frame past the last vCPU's too */
            pa = machine.gicr_base + below(c, machine.nr_cpus + 1) * GICR_STRIDE +
                 (below(c, 2) ? below(c, GICR_STRIDE)
                              : pick_block(c, gicr_blocks, ARRAY_SIZE(gicr_blocks)));
            break;
        case R_UART:
            pa = machine.uart_base + below(c, UART_SIZE);
            break;
        case R_BELOW:
            pa = below(c, machine.ram_base);
            break;
        case R_ABOVE:
            pa = ram_end() + below(c, 4 * SZ_1G);
            break;
        default:
            /* the 39-bit identity space, or (through the alias) up to 2^47 */
            pa = below(c, 2) ? (1UL << 32) + below(c, IPA_39 - (1UL << 32))
                             : IPA_39 + below(c, (1UL << 47) - IPA_39);
            break;
        }
        /* writeback forms reach 8 below, SIMD and pairs 64 above */
        if (!in_ram((pa & ~63UL) - 64, 256))
            return pa;
    }
}

/* The PA behind an alias VA: entries 0-255 map the first 256 GiB, 256-511 map high IPAs. */
static u64 alias_pa(unsigned int i)
{
    if (i < 256)
        return (u64)i * SZ_1G;
    if (i < 384)
        return IPA_39 + (u64)(i - 256) * SZ_1G;
    return (u64)(i - 383) << 40; /* 1 TiB ... 128 TiB */
}

/*
 * A VA reaching @pa: the identity map (Device, execute-never: unaligned
 * accesses fault at stage 1) or the Normal alias (they reach the
 * hypervisor). PAs beyond 39 bits exist only in the alias, at the nearest
 * alias entry.
 */
static u64 pa_to_va(u64 pa, bool normal)
{
    if (pa >= IPA_39) {
        unsigned int best = 256;
        for (unsigned int i = 256; i < 512; i++)
            if (alias_pa(i) <= pa)
                best = i;
        u64 off = pa - alias_pa(best);
        return ALIAS_BASE + (u64)best * SZ_1G + (off & (SZ_1G - 1));
    }
    if (normal && pa < 256 * SZ_1G)
        return ALIAS_BASE + pa;
    return pa;
}

static u64 va_to_pa(u64 va)
{
    if (va < ALIAS_BASE)
        return va;
    u64 off = va - ALIAS_BASE;
    return alias_pa((unsigned int)(off / SZ_1G)) + off % SZ_1G;
}

static enum region pick_region(struct hcpu *c)
{
    static const u8 weights[NR_REGIONS] = { 30, 25, 10, 12, 10, 13 };
    unsigned int n = (unsigned int)below(c, 100);

    for (unsigned int r = 0; r < NR_REGIONS; r++) {
        if (n < weights[r])
            return r;
        n -= weights[r];
    }
    return R_HIGH;
}

/* Data for a store to @pa: printable bytes where they would go out of the UART (its DR). */
static u64 store_value(struct hcpu *c, u64 pa)
{
    u64 v = rnd_value(c);

    if (pa >= machine.uart_base && pa < machine.uart_base + 16) {
        v = 0;
        for (int i = 0; i < 8; i++)
            v |= (u64)(0x20 + below(c, 0x5f)) << (8 * i);
    }
    return v;
}

/* ---- memory access ops ---- */
static void trace_op(struct hcpu *c, const char *what, u64 va, u64 arg)
{
    c->last_addr = va;
    c->last_arg = arg;
    if (cfg.trace)
        printf("hostile trace: cpu %u op %lu %s va %#lx pa %#lx arg %#lx\n", smp_id(),
               c->stat[S_OPS], what, va, va_to_pa(va), arg);
}

static inline void op_begin(struct hcpu *c)
{
    c->in_op = true;
    barrier();
}

static inline void op_end(struct hcpu *c)
{
    barrier();
    c->in_op = false;
}

#define ASM1(insn, ...) __asm__ volatile(insn : __VA_ARGS__ : "memory")

/* One plain, sign-extending, acquire/release, writeback or register-offset access. */
static void access_single(unsigned int k, u64 a, u64 v)
{
    u64 t = v, b = a;
    register u64 hi __asm__("x23") = v; /* x19-x28: Keel's full register save path */

    switch (k) {
    case 0: ASM1("ldrb %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 1: ASM1("ldrh %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 2: ASM1("ldr %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 3: ASM1("ldr %0, [%1]", "=&r"(t) : "r"(a)); break;
    case 4: ASM1("strb %w0, [%1]", : "r"(v), "r"(a)); break;
    case 5: ASM1("strh %w0, [%1]", : "r"(v), "r"(a)); break;
    case 6: ASM1("str %w0, [%1]", : "r"(v), "r"(a)); break;
    case 7: ASM1("str %0, [%1]", : "r"(v), "r"(a)); break;
    case 8: ASM1("ldrsb %0, [%1]", "=&r"(t) : "r"(a)); break;
    case 9: ASM1("ldrsh %0, [%1]", "=&r"(t) : "r"(a)); break;
    case 10: ASM1("ldrsw %0, [%1]", "=&r"(t) : "r"(a)); break;
    case 11: ASM1("ldrsb %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 12: ASM1("ldrsh %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 13: ASM1("ldar %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 14: ASM1("ldar %0, [%1]", "=&r"(t) : "r"(a)); break;
    case 15: ASM1("stlr %w0, [%1]", : "r"(v), "r"(a)); break;
    case 16: ASM1("stlr %0, [%1]", : "r"(v), "r"(a)); break;
    case 17: ASM1("ldarb %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 18: ASM1("stlrb %w0, [%1]", : "r"(v), "r"(a)); break;
    case 19: ASM1("ldarh %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 20: ASM1("stlrh %w0, [%1]", : "r"(v), "r"(a)); break;
    case 21: ASM1("ldr %0, [%1], #8", "=&r"(t), "+r"(b) :); break;
    case 22: ASM1("str %1, [%0, #-8]!", "+r"(b) : "r"(v)); break;
    case 23: ASM1("ldr %w0, [%1, %2]", "=&r"(t) : "r"(a & ~0xffUL), "r"(a & 0xffUL)); break;
    case 24: ASM1("ldur %0, [%1, #-1]", "=&r"(t) : "r"(a + 1)); break;
    case 25: ASM1("stur %w0, [%1, #3]", : "r"(v), "r"(a - 3)); break;
    case 26: ASM1("str wzr, [%0]", : "r"(a)); break;
    case 27: ASM1("str xzr, [%0]", : "r"(a)); break;
    case 28: ASM1("ldr xzr, [%0]", : "r"(a)); break;
    case 29: ASM1("ldr %w0, [%1]", "=r"(hi) : "r"(a)); break;
    case 30: ASM1("str %w0, [%1]", : "r"(hi), "r"(a)); break;
    default: ASM1("ldr %0, [%1]", "=r"(hi) : "r"(a)); break;
    }
    (void)t;
    (void)hi;
}
#define NR_SINGLE 32
static bool single_is_store(unsigned int k)
{
    return (k >= 4 && k <= 7) || k == 15 || k == 16 || k == 18 || k == 20 || k == 22 ||
           k == 25 || k == 26 || k == 27 || k == 30;
}

static void access_pair(unsigned int k, u64 a, u64 v)
{
    u64 t1 = 0, t2 = 0;

    switch (k) {
    case 0: ASM1("ldp %w0, %w1, [%2]", "=&r"(t1), "=&r"(t2) : "r"(a)); break;
    case 1: ASM1("ldp %0, %1, [%2]", "=&r"(t1), "=&r"(t2) : "r"(a)); break;
    case 2: ASM1("stp %w0, %w1, [%2]", : "r"(v), "r"(~v), "r"(a)); break;
    case 3: ASM1("stp %0, %1, [%2]", : "r"(v), "r"(~v), "r"(a)); break;
    case 4: ASM1("ldpsw %0, %1, [%2]", "=&r"(t1), "=&r"(t2) : "r"(a)); break;
    case 5: ASM1("ldnp %0, %1, [%2]", "=&r"(t1), "=&r"(t2) : "r"(a)); break;
    case 6: ASM1("stnp %0, %1, [%2]", : "r"(v), "r"(v), "r"(a)); break;
    default: ASM1("stp xzr, xzr, [%0]", : "r"(a)); break;
    }
    (void)t1;
    (void)t2;
}

static void access_excl(unsigned int k, u64 a, u64 v)
{
    u64 t = 0, t2 = 0;
    u32 st = 0;

    switch (k) {
    case 0: ASM1("ldxr %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 1: ASM1("ldxr %0, [%1]", "=&r"(t) : "r"(a)); break;
    case 2: ASM1("stxr %w0, %w1, [%2]", "=&r"(st) : "r"(v), "r"(a)); break;
    case 3: ASM1("stxr %w0, %1, [%2]", "=&r"(st) : "r"(v), "r"(a)); break;
    case 4: ASM1("ldxrb %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 5: ASM1("stxrb %w0, %w1, [%2]", "=&r"(st) : "r"(v), "r"(a)); break;
    case 6: ASM1("ldxrh %w0, [%1]", "=&r"(t) : "r"(a)); break;
    case 7: ASM1("stxrh %w0, %w1, [%2]", "=&r"(st) : "r"(v), "r"(a)); break;
    case 8: ASM1("ldaxr %0, [%1]", "=&r"(t) : "r"(a)); break;
    case 9: ASM1("stlxr %w0, %1, [%2]", "=&r"(st) : "r"(v), "r"(a)); break;
    case 10: ASM1("ldxp %0, %1, [%2]", "=&r"(t), "=&r"(t2) : "r"(a)); break;
    case 11: ASM1("stxp %w0, %1, %1, [%2]", "=&r"(st) : "r"(v), "r"(a)); break;
    case 12: /* a whole read-modify-write, each half possibly trapping */
        ASM1("ldxr %0, [%2]\n add %0, %0, #1\n stxr %w1, %0, [%2]", "=&r"(t), "=&r"(st) : "r"(a));
        break;
    default: ASM1("clrex\n stxr %w0, %1, [%2]", "=&r"(st) : "r"(v), "r"(a)); break;
    }
    (void)t;
    (void)t2;
    (void)st;
}

static void access_simd(unsigned int k, u64 a)
{
    switch (k) {
    case 0: __asm__ volatile("ldr q0, [%0]" : : "r"(a) : "v0", "memory"); break;
    case 1: __asm__ volatile("str q0, [%0]" : : "r"(a) : "v0", "memory"); break;
    case 2: __asm__ volatile("ldr d1, [%0]" : : "r"(a) : "v1", "memory"); break;
    case 3: __asm__ volatile(".arch_extension simd\n ld1 {v2.16b}, [%0]" : : "r"(a) : "v2", "memory"); break;
    case 4: __asm__ volatile("stp q0, q1, [%0]" : : "r"(a) : "v0", "v1", "memory"); break;
    case 5: __asm__ volatile("ldr b3, [%0]" : : "r"(a) : "v3", "memory"); break;
    case 6: __asm__ volatile(".arch_extension simd\n ld4 {v4.4s-v7.4s}, [%0]" : : "r"(a) : "v4", "v5", "v6", "v7", "memory"); break;
    default: __asm__ volatile(".arch_extension simd\n st1 {v0.2d}, [%0]" : : "r"(a) : "v0", "memory"); break;
    }
}

static void access_atomic(unsigned int k, u64 a, u64 v)
{
    u64 t = 0;

    switch (k) {
    case 0: ASM1(".arch_extension lse\n ldadd %w1, %w0, [%2]", "=&r"(t) : "r"(v), "r"(a)); break;
    case 1: ASM1(".arch_extension lse\n swp %1, %0, [%2]", "=&r"(t) : "r"(v), "r"(a)); break;
    case 2: ASM1(".arch_extension lse\n cas %w0, %w1, [%2]", "+&r"(t) : "r"(v), "r"(a)); break;
    case 3: ASM1(".arch_extension lse\n stadd %w0, [%1]", : "r"(v), "r"(a)); break;
    case 4: ASM1(".arch_extension lse\n ldclral %0, %0, [%1]", "+&r"(t) : "r"(a)); break;
    case 5: __asm__ volatile(".arch_extension lse\n casp x4, x5, x6, x7, [%0]" : : "r"(a) : "x4", "x5", "x6", "x7", "memory"); break;
    default: ASM1(".arch_extension lse\n ldsetb %w1, %w0, [%2]", "=&r"(t) : "r"(v), "r"(a)); break;
    }
    (void)t;
}

static void access_cache(unsigned int k, u64 a)
{
    u64 par;

    switch (k) {
    case 0: ASM1("dc civac, %0", : "r"(a)); break;
    case 1: ASM1("dc cvac, %0", : "r"(a)); break;
    case 2: ASM1("dc ivac, %0", : "r"(a)); break; /* never on our RAM: pick_pa keeps away */
    case 3: ASM1("dc zva, %0", : "r"(a)); break;
    case 4: ASM1("dc cvau, %0", : "r"(a)); break;
    case 5: ASM1("ic ivau, %0", : "r"(a)); break;
    case 6: ASM1("prfm pldl1keep, [%0]", : "r"(a)); break;
    default:
        ASM1("at s1e1r, %0\n isb", : "r"(a));
        par = read_sysreg(par_el1);
        (void)par;
        break;
    }
}

static void op_memory(struct hcpu *c, enum op_class cls)
{
    enum region r = pick_region(c);
    u64 pa = pick_pa(c, r);
    bool normal = cls == C_UNALIGNED || below(c, 3) == 0;
    unsigned int k;
    bool store;
    u64 va, v;

    if (cls == C_UNALIGNED)
        pa |= 1 + below(c, 7);
    else if (below(c, 4))
        pa &= ~7UL; /* mostly aligned: those reach the emulation */
    va = pa_to_va(pa, normal);
    v = store_value(c, pa);

    switch (cls) {
    case C_MMIO:
    case C_UNALIGNED:
        k = (unsigned int)below(c, NR_SINGLE);
        store = single_is_store(k);
        break;
    case C_PAIR:
        k = (unsigned int)below(c, 8);
        store = k == 2 || k == 3 || k == 6 || k == 7;
        break;
    case C_EXCL:
        k = (unsigned int)below(c, 14);
        store = k == 2 || k == 3 || k == 5 || k == 7 || k == 9 || k >= 11;
        break;
    case C_SIMD:
        k = (unsigned int)below(c, 8);
        store = k == 1 || k == 4 || k == 7;
        break;
    case C_ATOMIC:
        k = (unsigned int)below(c, 7);
        store = true;
        break;
    default: /* C_CACHE: DC ZVA and DC IVAC write, or may */
        k = (unsigned int)below(c, 8);
        store = k == 2 || k == 3;
        break;
    }
    if (store && !native_write_ok(pa))
        return;
    if ((cls == C_SIMD && !cfg.has_fp) || (cls == C_ATOMIC && !cfg.has_lse))
        return;
    count(store ? S_STORES : S_LOADS);
    trace_op(c, class_names[cls], va, k);
    op_begin(c);
    switch (cls) {
    case C_MMIO:
    case C_UNALIGNED: access_single(k, va, v); break;
    case C_PAIR: access_pair(k, va, v); break;
    case C_EXCL: access_excl(k, va, v); break;
    case C_SIMD: access_simd(k, va); break;
    case C_ATOMIC: access_atomic(k, va, v); break;
    default: access_cache(k, va); break;
    }
    op_end(c);
}

/* A branch to where nothing executable is: the abort (or whatever stops it) returns to us. */
static void op_fetch(struct hcpu *c)
{
    u64 pa, va;

    if (cfg.on_keel && below(c, 2)) {
        pa = pick_pa(c, pick_region(c)) & ~3UL;
        va = pa_to_va(pa, true); /* the alias is executable at stage 1 */
    } else {
        /* the 2 MiB after RAM: Normal and executable in libguest's map, nothing behind it */
        va = pa = ram_end() + (below(c, SZ_2M) & ~3UL);
    }
    trace_op(c, "fetch", va, 0);
    op_begin(c);
    c->in_fetch = true;
    barrier();
    __asm__ volatile("blr %0" :: "r"(va)
                     : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
                       "x12", "x13", "x14", "x15", "x16", "x17", "x30", "memory", "cc");
    barrier();
    c->in_fetch = false;
    op_end(c);
}

/* ---- system registers ---- */
enum { SRF_R = 1, SRF_W = 2, SRF_ACK = 4, SRF_TIME = 8, SRF_SGI = 16, SRF_NATIVE_RO = 32, SRF_BPR = 64 };

struct sreg {
    u16 enc;
    u8 flags;
};

/*
 * What traps to Keel (TID3, TIDCP, TACR, MDCR_EL2 debug/PMU/trace, CPTR_EL2,
 * the EL1 physical timer, SGI generation), plus neighbours that do not and
 * registers of features Keel hides. Written with random values except where
 * a native write could take the guest down (SRF_NATIVE_RO).
 */
static const struct sreg sregs[] = {
    /* identification (reads trap; writes are UNDEFINED) */
    { SR(3, 0, 0, 0, 0), SRF_R | SRF_W }, { SR(3, 0, 0, 0, 5), SRF_R }, { SR(3, 0, 0, 0, 6), SRF_R },
    { SR(3, 1, 0, 0, 0), SRF_R }, { SR(3, 1, 0, 0, 1), SRF_R }, { SR(3, 1, 0, 0, 7), SRF_R },
    { SR(3, 2, 0, 0, 0), SRF_R | SRF_W }, { SR(3, 3, 0, 0, 1), SRF_R | SRF_W },
    { SR(3, 3, 0, 0, 7), SRF_R }, { SR(3, 0, 0, 4, 0), SRF_R | SRF_W }, { SR(3, 0, 0, 5, 0), SRF_R },
    { SR(3, 0, 0, 7, 1), SRF_R }, { SR(3, 0, 0, 4, 4), SRF_R }, { SR(3, 0, 0, 1, 2), SRF_R },
    /* PMU (RAZ/WI on Keel) */
    { SR(3, 3, 9, 12, 0), SRF_R | SRF_W }, { SR(3, 3, 9, 12, 1), SRF_R | SRF_W },
    { SR(3, 3, 9, 12, 2), SRF_R | SRF_W }, { SR(3, 3, 9, 12, 3), SRF_R | SRF_W },
    { SR(3, 3, 9, 12, 4), SRF_W }, { SR(3, 3, 9, 12, 5), SRF_R | SRF_W },
    { SR(3, 3, 9, 12, 6), SRF_R }, { SR(3, 3, 9, 12, 7), SRF_R }, { SR(3, 3, 9, 13, 0), SRF_R | SRF_W },
    { SR(3, 3, 9, 13, 1), SRF_R | SRF_W }, { SR(3, 3, 9, 13, 2), SRF_R | SRF_W },
    { SR(3, 3, 9, 14, 0), SRF_R | SRF_W }, { SR(3, 0, 9, 14, 1), SRF_R | SRF_W },
    { SR(3, 0, 9, 14, 2), SRF_R | SRF_W }, { SR(3, 3, 9, 14, 3), SRF_R | SRF_W },
    { SR(3, 0, 9, 14, 6), SRF_R }, { SR(3, 3, 14, 8, 0), SRF_R | SRF_W },
    { SR(3, 3, 14, 11, 6), SRF_R | SRF_W }, { SR(3, 3, 14, 12, 3), SRF_R | SRF_W },
    { SR(3, 3, 14, 15, 7), SRF_R | SRF_W },
    /* debug and trace (op0 2) */
    { SR(2, 3, 0, 1, 0), SRF_R }, { SR(2, 0, 0, 2, 0), SRF_R | SRF_W }, { SR(2, 0, 0, 2, 2), SRF_R | SRF_W },
    { SR(2, 0, 0, 0, 2), SRF_R | SRF_W }, { SR(2, 0, 0, 3, 2), SRF_R | SRF_W },
    { SR(2, 0, 0, 6, 2), SRF_R | SRF_W }, { SR(2, 0, 0, 0, 4), SRF_R | SRF_W },
    { SR(2, 0, 0, 0, 5), SRF_R | SRF_W }, { SR(2, 0, 0, 5, 4), SRF_R | SRF_W },
    { SR(2, 0, 0, 15, 5), SRF_R | SRF_W }, { SR(2, 0, 0, 0, 6), SRF_R | SRF_W },
    { SR(2, 0, 0, 3, 7), SRF_R | SRF_W }, { SR(2, 0, 1, 0, 0), SRF_R }, { SR(2, 0, 1, 0, 4), SRF_W },
    { SR(2, 0, 1, 1, 4), SRF_R }, { SR(2, 0, 1, 3, 4), SRF_R | SRF_W }, { SR(2, 0, 1, 4, 4), SRF_R | SRF_W },
    { SR(2, 0, 7, 8, 6), SRF_R | SRF_W }, { SR(2, 0, 7, 9, 6), SRF_R | SRF_W },
    { SR(2, 0, 7, 14, 6), SRF_R }, { SR(2, 3, 0, 4, 0), SRF_R | SRF_W }, { SR(2, 3, 0, 5, 0), SRF_R | SRF_W },
    { SR(2, 1, 0, 1, 0), SRF_R | SRF_W }, { SR(2, 1, 0, 3, 0), SRF_R }, { SR(2, 1, 0, 8, 7), SRF_R },
    /* timers: the physical one traps and is emulated, the virtual one is the guest's */
    { SR(3, 3, 14, 2, 0), SRF_R | SRF_W | SRF_TIME }, { SR(3, 3, 14, 2, 1), SRF_R | SRF_W },
    { SR(3, 3, 14, 2, 2), SRF_R | SRF_W | SRF_TIME }, { SR(3, 3, 14, 3, 0), SRF_R | SRF_W | SRF_TIME },
    { SR(3, 3, 14, 3, 1), SRF_R | SRF_W }, { SR(3, 3, 14, 3, 2), SRF_R | SRF_W | SRF_TIME },
    { SR(3, 0, 14, 1, 0), SRF_R | SRF_W },
    /* CNTFRQ: UNDEFINED at EL1 under a hypervisor, but QEMU lets EL1 write it when it is the highest EL */
    { SR(3, 3, 14, 0, 0), SRF_R | SRF_W | SRF_NATIVE_RO },
    { SR(3, 3, 14, 0, 1), SRF_R }, { SR(3, 3, 14, 0, 2), SRF_R }, { SR(3, 3, 14, 0, 5), SRF_R },
    { SR(3, 3, 14, 0, 6), SRF_R },
    /*
     * GIC CPU interface: SGI generation traps, the rest is the virtual
     * interface. BPR writes keep to the architectural 3 bits: QEMU 7.2
     * stores BinaryPoint 0 for e.g. 8 (it clamps before truncating) and then
     * aborts on an assertion (icv_gprio_mask/icc_gprio_mask: bpr > 0),
     * taking every VM down with it.
     */
    { SR(3, 0, 12, 11, 5), SRF_W | SRF_SGI }, { SR(3, 0, 12, 11, 6), SRF_W | SRF_SGI },
    { SR(3, 0, 12, 11, 7), SRF_W | SRF_SGI }, { SR(3, 0, 4, 6, 0), SRF_R | SRF_W },
    { SR(3, 0, 12, 8, 0), SRF_R | SRF_ACK }, { SR(3, 0, 12, 8, 1), SRF_W },
    { SR(3, 0, 12, 8, 2), SRF_R }, { SR(3, 0, 12, 8, 3), SRF_R | SRF_W | SRF_BPR },
    { SR(3, 0, 12, 8, 4), SRF_R | SRF_W }, { SR(3, 0, 12, 9, 0), SRF_R | SRF_W },
    { SR(3, 0, 12, 11, 1), SRF_W }, { SR(3, 0, 12, 11, 3), SRF_R },
    { SR(3, 0, 12, 12, 0), SRF_R | SRF_ACK }, { SR(3, 0, 12, 12, 1), SRF_W },
    { SR(3, 0, 12, 12, 2), SRF_R }, { SR(3, 0, 12, 12, 3), SRF_R | SRF_W | SRF_BPR },
    { SR(3, 0, 12, 12, 4), SRF_R | SRF_W }, { SR(3, 0, 12, 12, 5), SRF_R },
    { SR(3, 0, 12, 12, 6), SRF_R | SRF_W }, { SR(3, 0, 12, 12, 7), SRF_R | SRF_W },
    { SR(3, 0, 12, 9, 5), SRF_R | SRF_ACK },
    /* features Keel hides: SVE, SME, MTE, AMU, SPE, LOR, RAS, MPAM, trace filter */
    { SR(3, 0, 1, 2, 0), SRF_R | SRF_W }, { SR(3, 0, 1, 2, 6), SRF_R | SRF_W },
    { SR(3, 0, 1, 2, 4), SRF_R | SRF_W }, { SR(3, 0, 1, 0, 6), SRF_R | SRF_W },
    { SR(3, 0, 1, 0, 5), SRF_R | SRF_W }, { SR(3, 0, 5, 6, 0), SRF_R | SRF_W },
    { SR(3, 0, 5, 6, 1), SRF_R | SRF_W }, { SR(3, 3, 13, 2, 0), SRF_R | SRF_W },
    { SR(3, 3, 13, 2, 1), SRF_R }, { SR(3, 3, 13, 2, 5), SRF_R | SRF_W }, { SR(3, 3, 13, 4, 0), SRF_R | SRF_W },
    { SR(3, 0, 9, 9, 0), SRF_R | SRF_W }, { SR(3, 0, 9, 9, 7), SRF_R }, { SR(3, 0, 9, 10, 0), SRF_R | SRF_W },
    { SR(3, 0, 9, 10, 1), SRF_R | SRF_W }, { SR(3, 0, 9, 10, 3), SRF_R | SRF_W },
    { SR(3, 0, 10, 4, 0), SRF_R | SRF_W }, { SR(3, 0, 10, 4, 3), SRF_R | SRF_W }, { SR(3, 0, 10, 4, 7), SRF_R },
    { SR(3, 0, 5, 3, 0), SRF_R }, { SR(3, 0, 5, 3, 1), SRF_R | SRF_W }, { SR(3, 0, 5, 4, 0), SRF_R },
    { SR(3, 0, 5, 4, 1), SRF_R | SRF_W }, { SR(3, 0, 5, 4, 2), SRF_R | SRF_W },
    { SR(3, 0, 12, 1, 1), SRF_R | SRF_W }, { SR(3, 0, 1, 2, 1), SRF_R | SRF_W },
    { SR(3, 0, 10, 5, 0), SRF_R | SRF_W }, { SR(3, 0, 10, 4, 4), SRF_R }, { SR(3, 3, 2, 4, 0), SRF_R },
    { SR(3, 0, 13, 0, 7), SRF_R | SRF_W }, { SR(3, 0, 2, 1, 0), SRF_R | SRF_W },
    /* ACTLR (TACR) and implementation-defined registers (TIDCP) */
    { SR(3, 0, 1, 0, 1), SRF_R | SRF_W }, { SR(3, 1, 15, 2, 0), SRF_R | SRF_W },
    { SR(3, 1, 15, 2, 1), SRF_R | SRF_W }, { SR(3, 1, 11, 0, 2), SRF_R | SRF_W },
    { SR(3, 1, 11, 0, 3), SRF_R | SRF_W }, { SR(3, 1, 15, 3, 0), SRF_R }, { SR(3, 0, 15, 0, 0), SRF_R | SRF_W },
    { SR(3, 7, 15, 15, 7), SRF_R | SRF_W }, { SR(3, 0, 11, 0, 0), SRF_R | SRF_W },
    /* not trapped, but a random write must not take this guest down */
    { SR(3, 0, 1, 0, 0), SRF_R }, { SR(3, 0, 12, 0, 0), SRF_R }, { SR(3, 0, 2, 0, 2), SRF_R },
    { SR(3, 0, 13, 0, 4), SRF_R }, { SR(3, 3, 13, 0, 2), SRF_R | SRF_W }, { SR(3, 0, 13, 0, 1), SRF_R | SRF_W },
};

static bool is_ack_reg(u16 enc)
{
    return enc == SR(3, 0, 12, 8, 0) || enc == SR(3, 0, 12, 12, 0) || enc == SR(3, 0, 12, 9, 5);
}

/* A random 16-bit encoding where a write traps to Keel (or is UNDEFINED). */
static u16 random_trapped_enc(struct hcpu *c)
{
    switch (below(c, 6)) {
    case 0: return SR(3, 0, 0, 1 + below(c, 7), below(c, 8));                   /* ID */
    case 1: return SR(2, below(c, 8), below(c, 16), below(c, 16), below(c, 8)); /* debug, trace */
    case 2: return SR(3, below(c, 8), 9, 12 + below(c, 3), below(c, 8));        /* PMU */
    case 3: return SR(3, 3, 14, 8 + below(c, 8), below(c, 8));                  /* PMEV */
    case 4: return SR(3, below(c, 8), 11, below(c, 16), below(c, 8));           /* IMP DEF */
    default: return SR(3, below(c, 8), 15, below(c, 16), below(c, 8));          /* IMP DEF */
    }
}

/* Random ICC_SGI1R-format data: target lists, IRM, affinities, RS, reserved bits. */
static u64 sgi_value(struct hcpu *c)
{
    u64 v = below(c, 16) << 24;

    switch (below(c, 4)) {
    case 0: return v | BIT(40);
    case 1: return v | below(c, 0x10000);
    case 2: return v | BIT(smp_id());
    default: return rnd(c);
    }
}

/* An Rt for the MRS/MSR: x0, x1 or xzr in the slot (other registers are the compiler's). */
static unsigned int pick_rt(struct hcpu *c, bool write)
{
    unsigned int r = (unsigned int)below(c, 4);

    return r == 3 ? 31 : write ? 1 : 0;
}

static void sysreg_do(struct hcpu *c, u16 enc, bool write, u64 val, bool ack)
{
    unsigned int rt = pick_rt(c, write);

    count(write ? S_SYSREG_W : S_SYSREG_R);
    trace_op(c, write ? "msr" : "mrs", enc, val);
    op_begin(c);
    if (ack) {
        /* An acknowledge: masked, so what it takes is ours to complete. */
        u64 flags = local_irq_save();
        u32 intid = (u32)slot_run(slot_write(insn_mrs(enc, 0)), 0, 0) & 0xffffff;
        if (intid < 1020) {
            bool g0 = enc == SR(3, 0, 12, 8, 0);
            count(intid < 16 ? S_SGI_RECV : g0 ? S_FIQ : S_IRQ_OTHER);
            irq_silence(intid);
            if (g0)
                SYSREG_WR(ICC_EOIR0, intid);
            else
                SYSREG_WR(ICC_EOIR1, intid);
            if (SYSREG_RD(ICC_CTLR) & ICC_CTLR_EOIMODE)
                SYSREG_WR(ICC_DIR, intid);
        }
        local_irq_restore(flags);
    } else {
        slot_run(slot_write(write ? insn_msr(enc, rt) : insn_mrs(enc, rt)), 0, val);
    }
    op_end(c);
}

static void op_sysreg(struct hcpu *c)
{
    const struct sreg *s = &sregs[below(c, ARRAY_SIZE(sregs))];
    bool write = (s->flags & SRF_W) && (!(s->flags & SRF_R) || below(c, 2));
    u64 val = rnd_value(c);

    if (!write && !(s->flags & SRF_R))
        return;
    if (write && !cfg.on_keel && (s->flags & SRF_NATIVE_RO))
        return;
    if (s->flags & SRF_TIME)
        val = below(c, 2) ? cntvct() + below(c, cnt_freq() / 100) : rnd(c);
    if (s->flags & SRF_BPR)
        val &= 7;
    if (s->flags & SRF_SGI) {
        val = sgi_value(c);
        count(S_SGI_SENT);
    }
    sysreg_do(c, s->enc, write, val, !write && (s->flags & SRF_ACK));
}

static void op_sysrand(struct hcpu *c)
{
    u16 enc;

    if (below(c, 3)) {
        /* read anything in the op0 = 2 or 3 space (acknowledges excepted) */
        enc = (u16)((2 + below(c, 2)) << 14 | below(c, 1 << 14));
        if (is_ack_reg(enc))
            return;
        sysreg_do(c, enc, false, 0, false);
    } else {
        sysreg_do(c, random_trapped_enc(c), true, rnd_value(c), false);
    }
}

/* ---- HVC / SMC ---- */
/* What would end the test by design: never sent at random. */
static bool smccc_stops(u32 fn)
{
    switch (fn & ~(u32)(BIT(16) | BIT(30))) {
    case PSCI_CPU_SUSPEND & ~BIT(30): case PSCI_CPU_OFF: case PSCI_SYSTEM_OFF:
    case PSCI_SYSTEM_RESET: case PSCI_CPU_FREEZE: case PSCI_CPU_DEFAULT_SUSPEND:
    case PSCI_SYSTEM_SUSPEND: case PSCI_SYSTEM_RESET2: case PSCI_MEM_PROTECT:
        return true;
    }
    return false;
}

static void op_smccc(struct hcpu *c)
{
    u64 a[8];
    u32 fn;
    bool smc = below(c, 4) == 0;
    u16 imm = below(c, 3) ? 0 : (u16)rnd(c);

    switch (below(c, 4)) {
    case 0: fn = (u32)rnd(c); break;                                        /* anything */
    case 1: fn = 0x80000000U | (u32)below(c, 64) << 24 | (u32)below(c, 0x20); break; /* fast, each owner */
    case 2: fn = 0x84000000U | (u32)below(c, 0x20) | (below(c, 2) ? BIT(30) : 0); break; /* PSCI */
    default: fn = 0xc6000000U | (u32)below(c, 4) | (below(c, 2) ? BIT(16) : 0); break; /* Keel's */
    }
    if (smccc_stops(fn))
        return;
    a[0] = below(c, 4) ? fn : (rnd(c) << 32 | fn); /* junk above w0 */
    for (int i = 1; i < 8; i++)
        a[i] = rnd_value(c);
    count(smc ? S_SMC : S_HVC);
    trace_op(c, smc ? "smc" : "hvc", a[0], imm);
    op_begin(c);
    slot_call(slot_write(smc ? insn_smc(imm) : insn_hvc(imm)), a);
    op_end(c);
}

/* ---- PSCI with good and bad arguments ---- */
static s64 psci_conduit(struct hcpu *c, u32 fn, u64 a1, u64 a2, u64 a3)
{
    /* Keel answers on both conduits; natively only the DT's one is PSCI. */
    bool smc = cfg.on_keel ? below(c, 3) == 0 : machine.psci_smc;
    u64 a[8] = { fn, a1, a2, a3, 0, 0, 0, 0 };
    struct smccc_res r;

    count(S_PSCI);
    trace_op(c, "psci", fn, a1);
    op_begin(c);
    r = slot_call(slot_write(smc ? insn_smc(0) : insn_hvc(0)), a);
    op_end(c);
    return (fn & BIT(30)) ? (s64)r.a0 : (s64)(s32)r.a0;
}

static void expect_ret(u32 fn, u64 a1, s64 got, s64 want1, s64 want2)
{
    if (cfg.on_keel && got != want1 && got != want2)
        anomaly("PSCI/SMCCC %#x(%#lx) returned %ld, expected %ld", fn, a1, got, want1);
}

static bool psci_implemented(u32 fn)
{
    switch (fn) {
    case PSCI_VERSION: case PSCI_CPU_OFF: case PSCI_SYSTEM_OFF: case PSCI_SYSTEM_RESET:
    case PSCI_FEATURES: case PSCI_MIGRATE_INFO_TYPE: case PSCI_CPU_SUSPEND:
    case PSCI_FN64(PSCI_CPU_SUSPEND): case PSCI_CPU_ON: case PSCI_FN64(PSCI_CPU_ON):
    case PSCI_AFFINITY_INFO: case PSCI_FN64(PSCI_AFFINITY_INFO): case SMCCC_VERSION:
        return true;
    }
    return false;
}

static void op_psci(struct hcpu *c)
{
    unsigned int n = machine.nr_cpus;
    u64 other = machine.mpidr[below(c, n)];
    u64 good_entry = (u64)secondary_entry;
    bool is64 = below(c, 2);
    u32 on = is64 ? PSCI_FN64(PSCI_CPU_ON) : PSCI_CPU_ON;
    u32 aff = is64 ? PSCI_FN64(PSCI_AFFINITY_INFO) : PSCI_AFFINITY_INFO;
    u64 bad_mpidr = mpidr_aff(machine.mpidr[n - 1]) + 1 + below(c, 200);
    u64 ctx = rnd(c);
    s64 r;
    u32 fn;

    switch (below(c, 26)) {
    case 0:
        r = psci_conduit(c, PSCI_VERSION, rnd(c), rnd(c), rnd(c));
        expect_ret(PSCI_VERSION, 0, r, 0x10001, 0x10001);
        break;
    case 1:
        fn = below(c, 2) ? 0x84000000U | (u32)below(c, 0x20) | (below(c, 2) ? BIT(30) : 0) : (u32)rnd(c);
        r = psci_conduit(c, PSCI_FEATURES, fn, 0, 0);
        expect_ret(PSCI_FEATURES, fn, r, psci_implemented(fn) ? 0 : -1, psci_implemented(fn) ? 0 : -1);
        break;
    case 2: /* every vCPU is on while the run lasts */
        r = psci_conduit(c, aff, other, 0, 0);
        expect_ret(aff, other, r, PSCI_AFF_ON, PSCI_AFF_ON);
        break;
    case 3:
        r = psci_conduit(c, aff, other, 1 + below(c, 3), 0);
        expect_ret(aff, other, r, PSCI_RET_INVALID_PARAMS, PSCI_RET_INVALID_PARAMS);
        break;
    case 4:
        r = psci_conduit(c, aff, bad_mpidr, 0, 0);
        expect_ret(aff, bad_mpidr, r, PSCI_RET_INVALID_PARAMS, PSCI_RET_INVALID_PARAMS);
        break;
    case 5: /* CPU_ON of a vCPU that is on (possibly ourselves): never SUCCESS */
        r = psci_conduit(c, on, other, good_entry, ctx);
        expect_ret(on, other, r, PSCI_RET_ALREADY_ON, PSCI_RET_ON_PENDING);
        break;
    case 6:
        r = psci_conduit(c, on, bad_mpidr, good_entry, ctx);
        expect_ret(on, bad_mpidr, r, PSCI_RET_INVALID_PARAMS, PSCI_RET_INVALID_PARAMS);
        break;
    case 7: /* entry outside RAM: either error is allowed, success is not */
        r = psci_conduit(c, on, other, pick_pa(c, pick_region(c)), ctx);
        expect_ret(on, other, r, PSCI_RET_INVALID_ADDRESS, PSCI_RET_ALREADY_ON);
        break;
    case 8: /* nothing is off: whatever the arguments, nothing may start */
        r = psci_conduit(c, on, rnd(c), rnd(c), rnd(c));
        if (r == PSCI_RET_SUCCESS)
            expect_ret(on, 0, r, PSCI_RET_INVALID_PARAMS, PSCI_RET_ALREADY_ON);
        break;
    case 9:
        r = psci_conduit(c, PSCI_MIGRATE_INFO_TYPE, rnd(c), 0, 0);
        expect_ret(PSCI_MIGRATE_INFO_TYPE, 0, r, 2, 2);
        break;
    case 10:
        r = psci_conduit(c, below(c, 2) ? PSCI_MIGRATE : PSCI_FN64(PSCI_MIGRATE), other, 0, 0);
        expect_ret(PSCI_MIGRATE, other, r, PSCI_RET_NOT_SUPPORTED, PSCI_RET_NOT_SUPPORTED);
        break;
    case 11:
        r = psci_conduit(c, PSCI_MIGRATE_INFO_UP_CPU, 0, 0, 0);
        expect_ret(PSCI_MIGRATE_INFO_UP_CPU, 0, r, PSCI_RET_NOT_SUPPORTED, PSCI_RET_NOT_SUPPORTED);
        break;
    case 12: /* standby or power-down with an entry: Keel returns at once (QEMU would WFI) */
        if (!cfg.on_keel)
            break;
        fn = below(c, 2) ? PSCI_CPU_SUSPEND : PSCI_FN64(PSCI_CPU_SUSPEND);
        r = psci_conduit(c, fn, below(c, 2) ? 0 : BIT(16) | below(c, 0x10000), good_entry, ctx);
        expect_ret(fn, 0, r, PSCI_RET_SUCCESS, PSCI_RET_SUCCESS);
        break;
    case 13:
        r = psci_conduit(c, PSCI_FN64(PSCI_NODE_HW_STATE), other, below(c, 4), 0);
        expect_ret(PSCI_NODE_HW_STATE, other, r, PSCI_RET_NOT_SUPPORTED, PSCI_RET_NOT_SUPPORTED);
        break;
    case 14:
        r = psci_conduit(c, PSCI_SET_SUSPEND_MODE, below(c, 3), 0, 0);
        expect_ret(PSCI_SET_SUSPEND_MODE, 0, r, PSCI_RET_NOT_SUPPORTED, PSCI_RET_NOT_SUPPORTED);
        break;
    case 15:
        fn = below(c, 2) ? PSCI_FN64(PSCI_STAT_RESIDENCY) : PSCI_FN64(PSCI_STAT_COUNT);
        r = psci_conduit(c, fn, other, rnd(c), 0);
        expect_ret(fn, other, r, PSCI_RET_NOT_SUPPORTED, PSCI_RET_NOT_SUPPORTED);
        break;
    case 16:
        r = psci_conduit(c, PSCI_FN64(PSCI_MEM_PROTECT_CHECK_RANGE), rnd(c), rnd(c), 0);
        expect_ret(PSCI_MEM_PROTECT_CHECK_RANGE, 0, r, PSCI_RET_NOT_SUPPORTED, PSCI_RET_NOT_SUPPORTED);
        break;
    case 17: /* the other vCPUs are on: a correct SYSTEM_SUSPEND must refuse (Keel: not supported) */
        if (!cfg.on_keel)
            break;
        r = psci_conduit(c, PSCI_FN64(PSCI_SYSTEM_SUSPEND), good_entry, ctx, 0);
        expect_ret(PSCI_SYSTEM_SUSPEND, 0, r, PSCI_RET_NOT_SUPPORTED,
                   n > 1 ? PSCI_RET_DENIED : PSCI_RET_NOT_SUPPORTED);
        break;
    case 18:
        r = psci_conduit(c, SMCCC_VERSION, rnd(c), 0, 0);
        expect_ret(SMCCC_VERSION, 0, r, 0x10001, 0x10001);
        break;
    case 19: {
        static const u32 ids[] = { SMCCC_VERSION, SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_1,
                                   SMCCC_ARCH_WORKAROUND_2, SMCCC_ARCH_WORKAROUND_3,
                                   SMCCC_ARCH_SOC_ID, PSCI_VERSION, 0xffffffffU };
        fn = ids[below(c, ARRAY_SIZE(ids))];
        r = psci_conduit(c, SMCCC_ARCH_FEATURES, fn, 0, 0);
        if (fn == SMCCC_VERSION || fn == SMCCC_ARCH_FEATURES)
            expect_ret(SMCCC_ARCH_FEATURES, fn, r, 0, 0);
        break;
    }
    case 20:
        fn = below(c, 3) == 0 ? SMCCC_ARCH_WORKAROUND_1
                              : below(c, 2) ? SMCCC_ARCH_WORKAROUND_2 : SMCCC_ARCH_WORKAROUND_3;
        psci_conduit(c, fn, below(c, 2), 0, 0);
        break;
    case 21:
        if (!cfg.on_keel)
            break;
        r = psci_conduit(c, KEEL_HC_VERSION, rnd(c), 0, 0);
        expect_ret(KEEL_HC_VERSION, 0, r, 1, 1);
        break;
    case 22:
        if (!cfg.on_keel)
            break;
        psci_conduit(c, KEEL_HC_DOORBELL, below(c, 2) ? below(c, 10) : rnd(c), 0, 0);
        break;
    case 23: /* junk above the 32-bit function ID: Keel reads w0 */
        if (!cfg.on_keel)
            break;
        {
            u64 a[8] = { rnd(c) << 32 | PSCI_VERSION };
            count(S_HVC);
            op_begin(c);
            struct smccc_res res = slot_call(slot_write(insn_hvc(0)), a);
            op_end(c);
            expect_ret(PSCI_VERSION, a[0], (s64)(s32)res.a0, 0x10001, 0x10001);
        }
        break;
    case 24: /* the SMC32 CPU_ON takes 32-bit arguments: junk above them is ignored */
        r = psci_conduit(c, PSCI_CPU_ON, rnd(c) << 32 | mpidr_aff(other), rnd(c) << 32 | good_entry,
                         ctx);
        expect_ret(PSCI_CPU_ON, other, r, PSCI_RET_ALREADY_ON, PSCI_RET_ON_PENDING);
        break;
    default: /* HVC with a non-zero immediate: not SMCCC */
        if (!cfg.on_keel)
            break;
        {
            u64 a[8] = { PSCI_VERSION };
            count(S_HVC);
            op_begin(c);
            struct smccc_res res = slot_call(slot_write(insn_hvc((u16)(1 + below(c, 0xfffe)))), a);
            op_end(c);
            expect_ret(PSCI_VERSION, 1, (s64)res.a0, -1, -1);
        }
        break;
    }
}

/* ---- SGI storms ---- */
/* Puts back what a random write may have switched off, so SGIs can arrive. */
static void gic_repair(void)
{
    u64 rd = gicr_base(smp_id());

    writel(machine.gicd_base + GICD_CTLR, GICD_CTLR_ENABLE_G1 | GICD_CTLR_ARE | GICD_CTLR_DS);
    writel(rd + GICR_SGI + GICD_IGROUPR, ~0U);
    writel(rd + GICR_SGI + GICD_ICACTIVER, 0xffffU); /* an SGI left active takes no more */
    writel(rd + GICR_SGI + GICD_ISENABLER, 0xffffU);
    for (unsigned int i = 0; i < 16; i += 4)
        writel(rd + GICR_SGI + GICD_IPRIORITYR + i, 0xa0a0a0a0U);
    SYSREG_WR(ICC_AP0R0, 0);
    SYSREG_WR(ICC_AP1R0, 0);
    SYSREG_WR(ICC_BPR1, 0);
    SYSREG_WR(ICC_IGRPEN1, 1);
    gic_set_icc_ctlr(gic_icc_ctlr() & ~ICC_CTLR_EOIMODE);
    gic_set_pmr(0xff);
}

static void op_sgi(struct hcpu *c)
{
    unsigned int n = 1 + (unsigned int)below(c, 48);
    unsigned int self = smp_id();

    trace_op(c, "sgi", n, 0);
    op_begin(c);
    if (below(c, 4) == 0)
        gic_repair();
    for (unsigned int i = 0; i < n; i++) {
        u32 intid = (u32)below(c, 16);
        unsigned int cpu = (unsigned int)below(c, machine.nr_cpus);

        switch (below(c, 8)) {
        case 0: gic_send_sgi(self, intid); break;
        case 1:
        case 2: gic_send_sgi(cpu, intid); break;
        case 3: gic_send_sgi_mask((1UL << machine.nr_cpus) - 1, intid); break;
        case 4: gic_send_sgi_others(intid); break;
        case 5: SYSREG_WR(ICC_ASGI1R, sgi_value(c)); break;
        case 6: SYSREG_WR(ICC_SGI0R, sgi_value(c)); break;
        default: SYSREG_WR(ICC_SGI1R, sgi_value(c)); break;
        }
        count(S_SGI_SENT);
    }
    isb();
    op_end(c);
}

/* ---- register preservation across a trap ---- */
static void op_regs(struct hcpu *c)
{
    u64 out[30], seed = rnd(c) & ~0xfffffUL, a0 = 0, a1 = 0;
    u32 insn;
    u32 keep = 0xffffffffU; /* registers that must come back unchanged (bit i = x_i) */
    unsigned int rt = 1 + (unsigned int)below(c, 29); /* x1..x29 */

    if (rt == 17)
        rt = 23;
    switch (below(c, 7)) {
    case 0: /* SMCCC: x0-x3 are results */
        insn = below(c, 2) ? insn_hvc(0) : insn_smc(0);
        if (!cfg.on_keel)
            insn = machine.psci_smc ? insn_smc(0) : insn_hvc(0);
        a0 = below(c, 2) ? PSCI_VERSION : below(c, 2) ? KEEL_HC_VERSION : 0x83000000U | (u32)below(c, 16);
        keep &= ~0xfU;
        break;
    case 1: /* a non-zero HVC immediate, answered in Keel's vector */
        if (!cfg.on_keel)
            return;
        insn = insn_hvc((u16)(1 + below(c, 100)));
        keep &= ~0xfU;
        break;
    case 2: /* MRS of a trapped register into Rt */
        insn = insn_mrs(below(c, 2) ? SR(3, 3, 9, 12, 0) : SR(3, 0, 0, 4, 0), rt);
        keep &= ~BIT(rt);
        break;
    case 3: /* MSR from Rt to a trapped register (PMSELR: RAZ/WI; MDSCR: kept per vCPU) */
        insn = insn_msr(below(c, 2) ? SR(3, 3, 9, 12, 5) : SR(2, 0, 0, 2, 2), rt);
        break;
    case 4: /* load from an emulated register into Rt */
        insn = 0xb9400000U | 1U << 5 | rt; /* ldr w<rt>, [x1] */
        a1 = machine.gicd_base + 4 * below(c, 3);
        keep &= ~BIT(rt);
        break;
    case 5: /* store of Rt to an emulated register that ignores it (GICD_IIDR) */
        insn = 0xb9000000U | 1U << 5 | rt; /* str w<rt>, [x1] */
        a1 = machine.gicd_base + GICD_IIDR;
        if (rt == 1)
            return;
        break;
    default: /* a load from nothing: the abort comes back through our vector */
        insn = 0xf9400000U | 1U << 5 | rt; /* ldr x<rt>, [x1] */
        a1 = pick_pa(c, R_ABOVE) & ~7UL;
        if (!cfg.on_keel)
            a1 = ram_end() + SZ_2M; /* nothing there natively either */
        keep &= ~BIT(rt);
        break;
    }
    count(S_REGS_CHECKED);
    trace_op(c, "regs", insn, a1);
    op_begin(c);
    hostile_regcheck(slot_write(insn), a0, a1, 0, 0, seed, out);
    op_end(c);
    for (unsigned int i = 0; i < 30; i++) {
        u64 want = i == 0 ? a0 : i == 1 ? a1 : i <= 3 ? 0 : i == 17 ? (u64)slots[smp_id()]
                                                                : seed + ((u64)i << 12);
        if ((keep & BIT(i)) && out[i] != want) {
            count(S_REGS_BAD);
            anomaly("x%u changed across instruction %#x (x1 %#lx): %#lx, was %#lx", i, insn, a1,
                    out[i], want);
        }
    }
}

/* ---- the random run ---- */
static u32 class_total_weight(void)
{
    u32 t = 0;

    for (unsigned int i = 0; i < NR_CLASSES; i++)
        if (cfg.classes & BIT(i))
            t += class_weight[i];
    return t;
}

static enum op_class pick_class(struct hcpu *c, u32 total)
{
    u32 n = (u32)below(c, total);

    for (unsigned int i = 0; i < NR_CLASSES; i++) {
        if (!(cfg.classes & BIT(i)))
            continue;
        if (n < class_weight[i])
            return i;
        n -= class_weight[i];
    }
    return C_MMIO;
}

static u64 stat_total(enum stat s)
{
    u64 t = 0;

    for (unsigned int i = 0; i < machine.nr_cpus; i++)
        t += hcpus[i].stat[s];
    return t;
}

static void heartbeat(u64 start, u64 *next, u64 *last_ops)
{
    u64 now = cntvct();
    char stalled[64] = "";
    size_t n = 0;

    if (!cfg.hb || now < *next)
        return;
    *next = now + cfg.hb * cnt_freq();
    for (unsigned int i = 0; i < machine.nr_cpus; i++) {
        u64 ops = hcpus[i].stat[S_OPS];
        if (ops == last_ops[i] && !hcpus[i].done && n < sizeof(stalled) - 8)
            n += (size_t)snprintf(stalled + n, sizeof(stalled) - n, " %u", i);
        last_ops[i] = ops;
    }
    printf("hostile: %lus: %lu ops, %lu aborts, %lu undefs, %lu sgis received%s%s\n",
           (now - start) / cnt_freq(), stat_total(S_OPS),
           stat_total(S_ABORT_SEA) + stat_total(S_ABORT_ALIGN) + stat_total(S_ABORT_OTHER),
           stat_total(S_UNDEF), stat_total(S_SGI_RECV), n ? "; no progress on cpu" : "", stalled);
}

/* Per CPU, before the run: FP on, the alias mapping, our vectors, interrupts unmasked. */
static void cpu_setup(void *arg)
{
    struct hcpu *c = me();
    u64 tcr = read_sysreg(tcr_el1);

    c->rng = splitmix(cfg.seed + smp_id() * 0x1000193UL) | 1;
    write_sysreg(cpacr_el1, read_sysreg(cpacr_el1) | (3UL << 20)); /* FPEN */
    /* TTBR1: 39-bit upper range (T1SZ 25), 4 KiB granule, WBWA inner shareable walks */
    tcr &= ~(BIT(23) | GENMASK(21, 16) | GENMASK(31, 24));
    tcr |= (25UL << 16) | (1UL << 24) | (1UL << 26) | (3UL << 28) | (2UL << 30);
    write_sysreg(ttbr1_el1, (u64)alias_l1);
    write_sysreg(tcr_el1, tcr);
    isb();
    __asm__ volatile("tlbi vmalle1\n dsb nsh\n isb" ::: "memory");
    write_sysreg(vbar_el1, (u64)hostile_vectors);
    isb();
    __asm__ volatile("msr daifclr, #7" ::: "memory"); /* A, I, F; D stays masked */
}

/* This vCPU's interrupt state as the run left it: what stops SGIs arriving shows here. */
static void gic_report(void)
{
    u64 sgi = gicr_base(smp_id()) + GICR_SGI;

    printf("hostile gic cpu %u: group %#x enabled %#x pending %#x active %#x; pmr %#lx rpr %#lx "
           "ap0 %#lx ap1 %#lx grpen1 %lu ctlr %#lx hppir1 %lu\n", smp_id(),
           readl(sgi + GICD_IGROUPR), readl(sgi + GICD_ISENABLER), readl(sgi + GICD_ISPENDR),
           readl(sgi + GICD_ISACTIVER), SYSREG_RD("S3_0_C4_C6_0"), SYSREG_RD("S3_0_C12_C11_3"),
           SYSREG_RD(ICC_AP0R0), SYSREG_RD(ICC_AP1R0), SYSREG_RD(ICC_IGRPEN1), SYSREG_RD(ICC_CTLR),
           SYSREG_RD("S3_0_C12_C12_2") & 0xffffff);
}

static void cpu_run(void *arg)
{
    struct hcpu *c = me();
    u32 total = class_total_weight();
    u64 start = cntvct(), next_hb = start + cfg.hb * cnt_freq();
    u64 last_ops[MAX_CPUS] = { 0 };

    while (cntvct() < run_end) {
        enum op_class cls = pick_class(c, total);

        c->last_class = cls;
        c->stat[S_OPS]++;
        switch (cls) {
        case C_FETCH: op_fetch(c); break;
        case C_SYSREG: op_sysreg(c); break;
        case C_SYSRAND: op_sysrand(c); break;
        case C_SMCCC: op_smccc(c); break;
        case C_PSCI: op_psci(c); break;
        case C_SGI: op_sgi(c); break;
        case C_REGS: op_regs(c); break;
        default: op_memory(c, cls); break;
        }
        if (smp_id() == 0)
            heartbeat(start, &next_hb, last_ops);
    }
    gic_report();
    /* Leave the timers quiet; the GIC as the final report needs it. */
    write_sysreg(cntv_ctl_el0, 0);
    write_sysreg(cntp_ctl_el0, 0);
    gic_repair();
    c->done = true;
    dsb(ish);
}

/*
 * Once every vCPU is done, on each: everything that gates delivery made
 * permissive again, so an SGI still pending 50 ms later was lost by the
 * hypervisor, not masked by the guest. Counted apart from the anomalies:
 * Keel loses them today (lrprio.c reproduces why).
 */
static void final_check(void *arg)
{
    u64 sgi = gicr_base(smp_id()) + GICR_SGI;
    u32 left;

    gic_repair();
    local_irq_enable();
    udelay(50000);
    left = readl(sgi + GICD_ISPENDR) & 0xffff;
    if (!left)
        return;
    for (u32 bits = left; bits; bits &= bits - 1)
        count(S_SGI_LOST);
    printf("HOSTILE LOST: cpu %u: SGIs %#x still pending 50 ms after the GIC was made "
           "permissive\n", smp_id(), left);
    /* What the distributor, redistributor and CPU interface say about it. */
    printf("hostile lost cpu %u: gicd_ctlr %#x active %#x enabled %#x group %#x prio %08x %08x "
           "%08x %08x\n", smp_id(), readl(machine.gicd_base + GICD_CTLR),
           readl(sgi + GICD_ISACTIVER), readl(sgi + GICD_ISENABLER), readl(sgi + GICD_IGROUPR),
           readl(sgi + GICD_IPRIORITYR), readl(sgi + GICD_IPRIORITYR + 4),
           readl(sgi + GICD_IPRIORITYR + 8), readl(sgi + GICD_IPRIORITYR + 12));
    printf("hostile lost cpu %u: pmr %#lx rpr %#lx ap0 %#lx ap1 %#lx grpen1 %lu ctlr %#lx "
           "hppir1 %lu daif %#lx\n", smp_id(), SYSREG_RD("S3_0_C4_C6_0"), SYSREG_RD("S3_0_C12_C11_3"),
           SYSREG_RD(ICC_AP0R0), SYSREG_RD(ICC_AP1R0), SYSREG_RD(ICC_IGRPEN1), SYSREG_RD(ICC_CTLR),
           SYSREG_RD("S3_0_C12_C12_2") & 0xffffff, read_sysreg(daif));
    {
        u64 flags = local_irq_save();
        char acks[96];
        size_t n = 0;

        acks[0] = 0;
        for (int i = 0; i < 20; i++) {
            u32 intid = (u32)SYSREG_RD(ICC_IAR1) & 0xffffff;
            n += (size_t)snprintf(acks + n, sizeof(acks) - n, " %u", intid);
            if (intid >= 1020 || n >= sizeof(acks) - 8)
                break;
            SYSREG_WR(ICC_EOIR1, intid);
        }
        local_irq_restore(flags);
        printf("hostile lost cpu %u: acknowledged:%s; pending now %#x\n", smp_id(), acks,
               readl(sgi + GICD_ISPENDR) & 0xffff);
    }
}

/* The UART as libguest's printf needs it, whatever was written to it. */
static void uart_repair(void)
{
    u64 u = machine.uart_base;

    if (!u)
        return;
    writel(u + 0x38, 0);      /* IMSC: no interrupts */
    writel(u + 0x44, 0x7ff);  /* ICR */
    writel(u + 0x2c, 0x70);   /* LCR_H: 8 bits, FIFOs */
    writel(u + 0x30, 0x301);  /* CR: UARTEN, TXE, RXE (no loopback) */
}

/* One line per counter: Keel's console cuts a VM's lines at 160 bytes. */
static void print_stats(void)
{
    char line[128];

    for (unsigned int s = 0; s < NR_STATS; s++) {
        size_t n = (size_t)snprintf(line, sizeof(line), "hostile count %s %lu (", stat_names[s],
                                    stat_total(s));
        for (unsigned int cpu = 0; cpu < machine.nr_cpus && n < sizeof(line); cpu++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%lu", cpu ? " " : "",
                                  hcpus[cpu].stat[s]);
        printf("%s)\n", line);
    }
}

static void build_alias(void)
{
    for (unsigned int i = 0; i < 512; i++)
        /* block, Normal WB (attr 2), inner shareable, AF; executable */
        alias_l1[i] = alias_pa(i) | BIT(0) | (2UL << 2) | (3UL << 8) | BIT(10);
    dsb(ish);
}

static void random_main(void)
{
    u64 start, timeout;
    bool stuck = false;

    build_alias();
    smp_boot_all();
    on_cpus(cpu_setup, NULL);
    start = cntvct();
    run_end = start + cfg.ms * cnt_freq() / 1000;
    dsb(ish);
    for (unsigned int cpu = 1; cpu < machine.nr_cpus; cpu++)
        on_cpu_async(cpu, cpu_run, NULL);
    cpu_run(NULL);
    /* A vCPU still busy long after the deadline is stuck somewhere in Keel. */
    timeout = run_end + 20 * cnt_freq();
    for (unsigned int cpu = 1; cpu < machine.nr_cpus; cpu++) {
        while (!hcpus[cpu].done && cntvct() < timeout)
            cpu_relax();
        if (!hcpus[cpu].done) {
            stuck = true;
            printf("HOSTILE STUCK: cpu %u did not finish: last class %s, address %#lx, arg %#lx, "
                   "%lu ops\n", cpu, class_names[hcpus[cpu].last_class], hcpus[cpu].last_addr,
                   hcpus[cpu].last_arg, hcpus[cpu].stat[S_OPS]);
        }
    }
    uart_repair();
    printf("\n"); /* ends whatever random bytes the UART was sent */
    if (!stuck)
        on_cpus(final_check, NULL);
    print_stats();
    printf("HOSTILE DONE: seed %#lx, %lu ms on %u vCPU(s), %lu ops, %lu anomalies, %lu unexpected, "
           "%lu registers changed, %lu SGIs lost%s\n", cfg.seed,
           (cntvct() - start) * 1000 / cnt_freq(), machine.nr_cpus, stat_total(S_OPS),
           stat_total(S_ANOMALY), stat_total(S_UNEXPECTED), stat_total(S_REGS_BAD),
           stat_total(S_SGI_LOST), stuck ? ", STUCK" : "");
}

/* ---- race and reset modes: state that survives the VM's rebuild ---- */
#define PERSIST_MAGIC 0x686f7374U /* "host" */
enum { P_FRESH, P_ARMED, P_RUNNING, P_DONE };

/* In the shared region, mapped Device by libguest: 32-bit aligned accesses only. */
struct persist {
    u32 magic, state, round, boots, stale, early_on;
    u32 stale_ctx_lo, stale_ctx_hi, stale_cpu;
};
static volatile struct persist *persist;

static volatile struct persist *find_persist(void)
{
    const void *fdt = (const void *)machine.dtb;
    int node = fdt_node_offset_by_compatible(fdt, -1, "keel,shmem"), len;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(fdt, node, "reg", &len) : NULL;

    if (!reg || len < 16)
        return NULL;
    return (volatile struct persist *)(((u64)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]));
}

/*
 * This boot's identity, passed to CPU_ON as the context id. A vCPU that
 * enters with another one was started by a CPU_ON of an earlier boot: it
 * survived the VM's rebuild. Cleaned to memory: race vCPUs run with their
 * MMU off.
 */
static struct {
    volatile u64 nonce;
    volatile u64 psci_smc;
    volatile u64 mpidr1;
    volatile struct persist *volatile persist;
} race __aligned(64);

static void clean_range(const volatile void *p, u64 size)
{
    for (u64 a = (u64)p & ~63UL; a < (u64)p + size; a += 64)
        __asm__ volatile("dc civac, %0" :: "r"(a) : "memory");
    dsb(sy);
}

/* What the MMU-off race vCPUs read: pushed out of vCPU 0's cache. */
static void clean_race(void)
{
    clean_range(&race, sizeof(race));
    clean_range(&machine, sizeof(machine));
}

static void spin_ticks(u64 ticks)
{
    u64 end = cntvct() + ticks;

    while (cntvct() < end)
        ;
}

/* Keel's guest map: the vPL011 and the first shared region's default IPA. */
#define KEEL_UART_IPA 0x09000000UL
#define KEEL_SHMEM_IPA 0x0b000000UL

/* With the MMU off nothing may take a lock: one raw line, which may interleave. */
static void raw_puts(const char *s)
{
    u64 uart = machine.uart_base ? machine.uart_base : KEEL_UART_IPA;

    for (; *s; s++) {
        while (readl(uart + 0x18) & BIT(5)) /* UARTFR.TXFF */
            ;
        writel(uart, (u8)*s);
    }
}

static void race_psci(u32 fn, u64 a1, u64 a2, u64 a3)
{
    if (race.psci_smc)
        smccc_smc(fn, a1, a2, a3);
    else
        smccc_hvc(fn, a1, a2, a3);
}

void hostile_race_secondary(u64 ctx, u64 cpu);

void hostile_race_secondary(u64 ctx, u64 cpu)
{
    volatile struct persist *persist = race.persist;
    u64 nonce = race.nonce, r = splitmix(ctx ^ cntvct() ^ cpu);

    if (!persist) /* RAM reloaded under us: Keel's default addresses are all we know */
        persist = (volatile struct persist *)KEEL_SHMEM_IPA;

    if (ctx != nonce) {
        persist->stale++;
        persist->stale_ctx_lo = (u32)ctx;
        persist->stale_ctx_hi = (u32)(ctx >> 32);
        persist->stale_cpu = (u32)cpu;
        raw_puts("\nHOSTILE STALE: a vCPU entered with a CPU_ON context from an earlier boot\n");
    }
    if (cpu >= 2) {
        /* a resetter: the reset lands at any point of vCPU 0's CPU_ON loop */
        spin_ticks(r % (cnt_freq() / 2000 + 1));
        race_psci(PSCI_SYSTEM_RESET, 0, 0, 0);
    }
    switch (r % 8) {
    case 0: /* reset from the vCPU just started, while vCPU 0 goes on calling CPU_ON for it */
        race_psci(PSCI_SYSTEM_RESET, 0, 0, 0);
        break;
    case 1:
    case 2:
        spin_ticks((r >> 8) % (cnt_freq() / 5000 + 1));
        break;
    }
    race_psci(PSCI_CPU_OFF, 0, 0, 0);
    for (;;)
        wfi();
}

/* Race vCPUs: no libguest (their context is the nonce, not a CPU index), MMU off. */
__asm__(
    "    .text\n"
    "    .global hostile_race_entry\n"
    "hostile_race_entry:\n"
    "    msr daifset, #0xf\n"
    "    mrs x1, mpidr_el1\n"
    "    and x1, x1, #0xff\n"
    "    cmp x1, #8\n"
    "    b.hs 2f\n"
    "    adrp x2, race_stacks\n"
    "    add x2, x2, :lo12:race_stacks\n"
    "    add x2, x2, x1, lsl #12\n"
    "    add sp, x2, #4096\n"
    "    adrp x3, hostile_vectors\n"
    "    add x3, x3, :lo12:hostile_vectors\n"
    "    msr vbar_el1, x3\n"
    "    isb\n"
    "    bl hostile_race_secondary\n"
    "2:  wfi\n"
    "    b 2b\n");
extern char hostile_race_entry[];
char race_stacks[MAX_CPUS][4096] __aligned(16);

/* Boot bookkeeping in the persistent region; false if this boot should power off. */
static bool persist_boot(const char *mode)
{
    if (!persist) {
        printf("hostile %s: needs a keel,shmem region (state that survives a reset)\n", mode);
        return false;
    }
    if (persist->magic != PERSIST_MAGIC) {
        persist->magic = PERSIST_MAGIC;
        persist->state = P_ARMED;
        persist->round = 0;
        printf("hostile armed: %s mode, %u restarts per round; 'start %s' in the Keel shell "
               "runs a round\n", mode, cfg.resets, cfg.name);
        return false;
    }
    if (persist->state != P_RUNNING) {
        persist->state = P_RUNNING;
        persist->round++;
        persist->boots = 0;
        persist->stale = 0;
        persist->early_on = 0;
    }
    persist->boots++;
    if (persist->boots > cfg.resets) {
        persist->state = P_DONE;
        printf("hostile %s done: round %u, %u restarts, %u stale vCPUs, %u early CPU_ON answers\n",
               mode, persist->round, persist->boots - 1, persist->stale, persist->early_on);
        return false;
    }
    printf("hostile boot %u.%u (%s, seed %#lx)\n", persist->round, persist->boots, mode,
           cfg.seed);
    return true;
}

static void race_main(void)
{
    struct hcpu *c = me();
    u64 freq = cnt_freq();
    unsigned int rounds;

    persist = find_persist();
    if (!persist_boot("race"))
        return;
    if (machine.nr_cpus < 2) {
        printf("hostile race: needs 2 or more vCPUs\n");
        return;
    }
    c->rng = splitmix(cfg.seed ^ persist->boots) | 1;
    race.nonce = rnd(c) | 1;
    race.psci_smc = machine.psci_smc;
    race.mpidr1 = machine.mpidr[1];
    race.persist = persist;
    clean_race();
    if (persist->stale)
        printf("HOSTILE STALE: %u so far (last: cpu %u context %#x%08x)\n", persist->stale,
               persist->stale_cpu, persist->stale_ctx_hi, persist->stale_ctx_lo);
    for (unsigned int cpu = 2; cpu < machine.nr_cpus; cpu++)
        psci_cpu_on(machine.mpidr[cpu], (u64)hostile_race_entry, race.nonce);
    rounds = 1 + (unsigned int)below(c, 40);
    for (unsigned int i = 0;; i++) {
        s64 r = psci_cpu_on(race.mpidr1, (u64)hostile_race_entry, race.nonce);
        if (i == 0 && r != PSCI_RET_SUCCESS) {
            /* vCPU 1 is off after a reset: only a vCPU of an earlier boot could be on */
            persist->early_on++;
            printf("HOSTILE STALE: first CPU_ON of vCPU 1 in this boot returned %ld\n", r);
        }
        switch (below(c, 4)) {
        case 0: break; /* reset right behind the CPU_ON */
        case 1: spin_ticks(below(c, freq / 100000 + 1)); break;
        default: spin_ticks(below(c, freq / 5000 + 1)); break;
        }
        if (i >= rounds || below(c, 16) == 0)
            psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
    }
}

static void reset_main(void)
{
    persist = find_persist();
    if (!persist_boot("reset"))
        return;
    psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
    printf("hostile reset: SYSTEM_RESET returned\n");
}

/* ---- bootargs ---- */
static const char *arg_value(const char *args, const char *key)
{
    size_t kl = strlen(key);

    for (const char *p = args; p && *p;) {
        while (*p == ' ')
            p++;
        if (!strncmp(p, key, kl) && p[kl] == '=')
            return p + kl + 1;
        p = strchr(p, ' ');
    }
    return NULL;
}

static u64 arg_num(const char *args, const char *key, u64 def)
{
    const char *v = arg_value(args, key);

    return v ? strtoul(v, NULL, 0) : def;
}

static u32 parse_classes(const char *v)
{
    u32 m = 0;

    if (!v)
        return BIT(NR_CLASSES) - 1;
    while (*v && *v != ' ') {
        size_t n = 0;
        while (v[n] && v[n] != ',' && v[n] != ' ')
            n++;
        for (unsigned int i = 0; i < NR_CLASSES; i++)
            if (strlen(class_names[i]) == n && !strncmp(v, class_names[i], n))
                m |= BIT(i);
        v += n;
        if (*v == ',')
            v++;
    }
    return m ? m : BIT(NR_CLASSES) - 1;
}

static void configure(void)
{
    const void *fdt = (const void *)machine.dtb;
    int chosen = fdt_path_offset(fdt, "/chosen");
    const char *args = chosen >= 0 ? fdt_getprop(fdt, chosen, "bootargs", NULL) : NULL;
    const char *model = fdt_getprop(fdt, 0, "model", NULL);
    const char *m = arg_value(args, "hostile.mode");
    struct smccc_res r;
    u64 isar0 = read_sysreg(id_aa64isar0_el1), pfr0 = read_sysreg(id_aa64pfr0_el1);

    cfg.name = model && !strncmp(model, "keel,", 5) ? model + 5 : "hostile";
    cfg.mode = MODE_RANDOM;
    for (unsigned int i = 0; m && i < ARRAY_SIZE(mode_names); i++)
        if (!strncmp(m, mode_names[i], strlen(mode_names[i])))
            cfg.mode = i;
    cfg.seed = arg_num(args, "hostile.seed", 0);
    if (!cfg.seed)
        cfg.seed = splitmix(cntvct()) & 0xffffffffUL;
    cfg.ms = arg_num(args, "hostile.ms", 1000 * arg_num(args, "hostile.seconds",
                                                         HOSTILE_DEFAULT_SECONDS));
    cfg.resets = (u32)arg_num(args, "hostile.resets", 100);
    cfg.trace = arg_num(args, "hostile.trace", 0);
    cfg.hb = (u32)arg_num(args, "hostile.hb", 5);
    cfg.classes = parse_classes(arg_value(args, "hostile.classes"));
    cfg.has_fp = ((pfr0 >> 16) & 0xf) != 0xf;
    cfg.has_lse = ((isar0 >> 20) & 0xf) >= 2;
    /*
     * On Keel? Natively QEMU's HVC is only PSCI (anything else is UNDEFINED
     * at EL1 without EL2), so probe with our vectors in place.
     */
    write_sysreg(vbar_el1, (u64)hostile_vectors);
    isb();
    me()->in_op = true;
    r = machine.psci_smc ? smccc_smc(KEEL_HC_VERSION, 0, 0, 0) : smccc_hvc(KEEL_HC_VERSION, 0, 0, 0);
    me()->in_op = false;
    me()->stat[S_UNDEF] = 0;
    cfg.on_keel = r.a0 == 1;
}

void guest_main(void)
{
    configure();
    printf("hostile boot: vm %s, %u vCPU(s), RAM %#lx+%lu MiB, mode %s, seed %#lx, %lu ms, %s%s%s\n",
           cfg.name, machine.nr_cpus, machine.ram_base, machine.ram_size >> 20,
           mode_names[cfg.mode], cfg.seed, cfg.ms, cfg.on_keel ? "on Keel" : "native (no Keel)",
           cfg.has_fp ? ", fp" : "", cfg.has_lse ? ", lse" : "");
    switch (cfg.mode) {
    case MODE_RACE:
        race_main();
        break;
    case MODE_RESET:
        reset_main();
        break;
    default:
        random_main();
        break;
    }
    psci_system_off();
}
