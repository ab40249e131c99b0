/*
 * libguest: a tiny bare-metal EL1 framework for Keel's test guests (and the
 * benchmark guest). The API is documented in tests/guests/README.md; this
 * header is the reference. No libc: the string functions and vsnprintf come
 * from Keel's own src/lib, compiled into each guest.
 *
 * A guest defines guest_main(). By then the boot CPU has its MMU and caches
 * on (identity map), its exception vectors, the console (PL011 from the DT's
 * stdout-path), the GIC (distributor + its redistributor + ICC registers)
 * and the PSCI conduit. Returning from guest_main() prints the summary and
 * powers the VM off (PSCI SYSTEM_OFF).
 */
#ifndef LIBGUEST_H
#define LIBGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(n) (1UL << (n))
#define GENMASK(h, l) (((~0UL) << (l)) & (~0UL >> (63 - (h))))
#define FIELD_GET(v, h, l) (((u64)(v) & GENMASK(h, l)) >> (l))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __noreturn __attribute__((noreturn))
#define __aligned(n) __attribute__((aligned(n)))

#define MAX_CPUS 8
#define STACK_SIZE 16384

/* ---- system registers and barriers ---- */
#define read_sysreg(r) ({ u64 __v; __asm__ volatile("mrs %0, " #r : "=r"(__v) :: "memory"); __v; })
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %x0" : : "rZ"((u64)(v)) : "memory")
#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt ::: "memory")
#define dmb(opt) __asm__ volatile("dmb " #opt ::: "memory")
#define wfi() __asm__ volatile("wfi" ::: "memory")
#define wfe() __asm__ volatile("wfe" ::: "memory")
#define sev() __asm__ volatile("sev" ::: "memory")
#define barrier() __asm__ volatile("" ::: "memory")
#define cpu_relax() __asm__ volatile("yield" ::: "memory")

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- MMIO (single instructions, so a trapping access is decodable) ---- */
static inline u8 readb(u64 a) { u8 v; __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline u16 readw(u64 a) { u16 v; __asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline u32 readl(u64 a) { u32 v; __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline u64 readq(u64 a) { u64 v; __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline void writeb(u64 a, u8 v) { __asm__ volatile("strb %w0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }
static inline void writew(u64 a, u16 v) { __asm__ volatile("strh %w0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }
static inline void writel(u64 a, u32 v) { __asm__ volatile("str %w0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }
static inline void writeq(u64 a, u64 v) { __asm__ volatile("str %x0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }

/* ---- interrupts masking (PSTATE.I) ---- */
static inline void local_irq_enable(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
static inline void local_irq_disable(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }
static inline u64 local_irq_save(void) { u64 f = read_sysreg(daif); local_irq_disable(); return f; }
static inline void local_irq_restore(u64 f) { write_sysreg(daif, f); }

/* ---- the machine, from the DT ---- */
struct machine {
    u64 dtb;                 /* x0 at entry */
    u64 ram_base, ram_size;  /* /memory */
    u64 uart_base;           /* /chosen/stdout-path (0: no console) */
    u32 uart_intid;          /* its interrupt (SPI n -> 32 + n) */
    unsigned int gic_version;/* 3: "arm,gic-v3"; 2: "arm,gic-400" or "arm,cortex-a15-gic" */
    u64 gicd_base, gicr_base, gicr_size; /* GICv3 */
    u64 gicc_base, gicc_size;/* GICv2: the CPU interface (0 on GICv3) */
    unsigned int nr_cpus;    /* /cpus/cpu@* */
    u64 mpidr[MAX_CPUS];     /* their reg (MPIDR affinity), in DT order */
    bool psci_smc;           /* /psci method = "smc" */
    u32 timer_ppi[4];        /* INTIDs: secure phys, phys, virt, hyp phys */
    u32 pmu_intid;           /* "arm,armv8-pmuv3": its first interrupt (0: no node) */
    u32 pmu_irq_flags;       /* and that specifier's flags cell (4: level-high) */
};
extern struct machine machine;

/* Entry point of each guest, on CPU 0. Return to power off. */
void guest_main(void);

/* ---- console and reporting ---- */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void puts_raw(const char *s); /* no lock, no formatting: for fatal paths */

/* Prints "PASS: <msg>" or "FAIL: <msg>" and counts it; returns cond. */
bool report(bool cond, const char *fmt, ...) __printf(2, 3);
void report_info(const char *fmt, ...) __printf(1, 2);  /* "INFO: <msg>" */
void report_skip(const char *fmt, ...) __printf(1, 2);  /* "SKIP: <msg>" */
/* Prefix for the next report lines ("gic: sgi: ..."); NULL to pop. Per CPU. */
void report_prefix_push(const char *p);
void report_prefix_pop(void);
unsigned int report_failures(void);
/* "SUMMARY: N passed, M failed[, K skipped]", then PSCI SYSTEM_OFF. */
void __noreturn guest_exit(void);
/* A fatal error: FAIL line, summary, power off. */
void __noreturn guest_abort(const char *fmt, ...) __printf(1, 2);

/*
 * ---- the command line: /chosen/bootargs (keel-run's bootargs=, QEMU's -append) ----
 * bootarg("x.y") points at the value of the first "x.y=value" word, which
 * runs to the next space (not NUL-terminated there), or is NULL.
 */
const char *bootarg(const char *key);
u64 bootarg_num(const char *key, u64 def);       /* strtoul base 0, or @def when absent */
bool bootarg_is(const char *key, const char *word);

/* ---- CPUs ---- */
static inline unsigned int smp_id(void) { return (unsigned int)read_sysreg(tpidr_el1); }
static inline u64 mpidr_aff(u64 m) { return m & 0xff00ffffffUL; }
int cpu_by_mpidr(u64 mpidr);                  /* logical index, or -1 */

/*
 * Secondary CPUs. smp_boot(cpu) powers @cpu on (PSCI CPU_ON, context =
 * @cpu) and waits until it runs its idle loop; it returns the PSCI result.
 * A secondary sets up its own MMU, vectors and GIC CPU interface, then waits
 * for work from on_cpu*() with interrupts unmasked. SGI 15 is reserved:
 * it wakes idle CPUs.
 */
typedef void (*cpu_fn)(void *arg);
s64 smp_boot(unsigned int cpu);
void smp_boot_all(void);                        /* every CPU in the DT; FAIL on error */
bool cpu_online(unsigned int cpu);
void on_cpu_async(unsigned int cpu, cpu_fn fn, void *arg);
bool cpu_idle_wait(unsigned int cpu, u64 timeout_us); /* false on timeout */
void on_cpu(unsigned int cpu, cpu_fn fn, void *arg);   /* waits (bounded, FAIL on timeout) */
void on_cpus(cpu_fn fn, void *arg);           /* on every online CPU, this one too; waits */
void __noreturn cpu_off_self(void);           /* PSCI CPU_OFF from a work function */
/* What a secondary saw on entry from CPU_ON, before touching anything. */
struct cpu_entry_state {
    u64 context;        /* x0 */
    u64 sctlr, daif, currentel, spsel;
    unsigned int boots; /* how many times this CPU entered */
};
extern struct cpu_entry_state cpu_entry[MAX_CPUS];

/* ---- spinlocks (ticket lock on LDAXR/STXR; never from a locked path) ---- */
typedef struct { u16 next, owner; } spinlock_t;
#define SPINLOCK_INIT { 0, 0 }
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
bool spin_trylock(spinlock_t *l);
u64 spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, u64 flags);

/* ---- exceptions ---- */
struct ex_frame {
    u64 x[31];
    u64 elr, spsr, esr, far;
};
#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_IL BIT(25)
#define ESR_ISS(esr) ((esr) & 0x1ffffff)
#define EC_UNKNOWN 0x00
#define EC_HVC64 0x16
#define EC_SMC64 0x17
#define EC_SYS64 0x18
#define EC_IABT_CUR 0x21
#define EC_DABT_CUR 0x25
#define ESR_DABT_WNR BIT(6)
#define ESR_DABT_ISV BIT(24)
#define ESR_FSC(esr) ((esr) & 0x3f)
#define FSC_SEA 0x10 /* synchronous external abort, not on a walk */

/*
 * Expected synchronous exceptions, per CPU: after fault_expect(), the next
 * synchronous exception is recorded and the faulting instruction skipped
 * (ELR += 4; for an instruction abort ELR is set to the link register).
 * fault_taken() disarms and returns whether one was taken (and its state).
 * Any other synchronous exception is a fatal FAIL.
 */
struct fault {
    u64 esr, far, elr;
};
void fault_expect(void);
bool fault_taken(struct fault *f);

/*
 * Optional hook for synchronous exceptions that fault_expect() did not arm:
 * @kind is the vector (4: current EL, 8: lower EL AArch64, 12: lower EL
 * AArch32). Returns true if it handled the exception (it may change the
 * frame); false makes it the usual fatal FAIL. Global, all CPUs.
 */
typedef bool (*sync_hook_t)(u64 kind, struct ex_frame *f);
void sync_set_hook(sync_hook_t h);

/* Optional hook for interrupts: called for each acknowledged INTID. */
typedef void (*irq_handler_t)(u32 intid, struct ex_frame *f);
void irq_set_handler(u32 intid, irq_handler_t h); /* global, all CPUs; NULL = default */
/* IRQs taken with no handler, per CPU (the default handler counts them). */
extern volatile unsigned int irq_unhandled[MAX_CPUS];
extern volatile u32 irq_last_unhandled[MAX_CPUS];

/* ---- PSCI / SMCCC ---- */
#define PSCI_VERSION 0x84000000U
#define PSCI_CPU_SUSPEND 0x84000001U
#define PSCI_CPU_OFF 0x84000002U
#define PSCI_CPU_ON 0x84000003U
#define PSCI_AFFINITY_INFO 0x84000004U
#define PSCI_MIGRATE 0x84000005U
#define PSCI_MIGRATE_INFO_TYPE 0x84000006U
#define PSCI_MIGRATE_INFO_UP_CPU 0x84000007U
#define PSCI_SYSTEM_OFF 0x84000008U
#define PSCI_SYSTEM_RESET 0x84000009U
#define PSCI_FEATURES 0x8400000aU
#define PSCI_CPU_FREEZE 0x8400000bU
#define PSCI_CPU_DEFAULT_SUSPEND 0x8400000cU
#define PSCI_NODE_HW_STATE 0x8400000dU
#define PSCI_SYSTEM_SUSPEND 0x8400000eU
#define PSCI_SET_SUSPEND_MODE 0x8400000fU
#define PSCI_STAT_RESIDENCY 0x84000010U
#define PSCI_STAT_COUNT 0x84000011U
#define PSCI_SYSTEM_RESET2 0x84000012U
#define PSCI_MEM_PROTECT 0x84000013U
#define PSCI_MEM_PROTECT_CHECK_RANGE 0x84000014U
#define PSCI_FN64(f) ((f) | 0x40000000U)
#define SMCCC_VERSION 0x80000000U
#define SMCCC_ARCH_FEATURES 0x80000001U

#define PSCI_RET_SUCCESS 0
#define PSCI_RET_NOT_SUPPORTED (-1)
#define PSCI_RET_INVALID_PARAMS (-2)
#define PSCI_RET_DENIED (-3)
#define PSCI_RET_ALREADY_ON (-4)
#define PSCI_RET_ON_PENDING (-5)
#define PSCI_RET_INTERNAL_FAILURE (-6)
#define PSCI_RET_NOT_PRESENT (-7)
#define PSCI_RET_DISABLED (-8)
#define PSCI_RET_INVALID_ADDRESS (-9)
#define PSCI_AFF_ON 0
#define PSCI_AFF_OFF 1
#define PSCI_AFF_ON_PENDING 2

struct smccc_res { u64 a0, a1, a2, a3; };
struct smccc_res smccc_hvc(u32 fn, u64 a1, u64 a2, u64 a3);
struct smccc_res smccc_smc(u32 fn, u64 a1, u64 a2, u64 a3);
/* Through the DT's conduit; the result as PSCI's signed 32/64-bit value. */
s64 psci_call(u32 fn, u64 a1, u64 a2, u64 a3);
s64 psci_cpu_on(u64 mpidr, u64 entry, u64 context);
s64 psci_affinity_info(u64 mpidr, u64 level);
void __noreturn psci_system_off(void);
/* Physical address of the secondary entry point, for raw psci_cpu_on(). */
extern char secondary_entry[];

/* ---- generic timer ---- */
static inline u64 cnt_freq(void) { return read_sysreg(cntfrq_el0); }
static inline u64 cntvct(void) { isb(); return read_sysreg(cntvct_el0); }
static inline u64 cntpct(void) { isb(); return read_sysreg(cntpct_el0); }
/* Every duration comes from CNTFRQ: QEMU 7.2's -cpu max counts at 62.5 MHz, QEMU 10's at 1 GHz. */
static inline u64 us_to_ticks(u64 us) { return us * cnt_freq() / 1000000; }
static inline u64 ticks_to_us(u64 t) { return t * 1000000 / cnt_freq(); }
/*
 * Whether @tval, read between counter values @t0 and @t1, is what the Arm
 * ARM gives for a timer with comparator @cval (D11.2.4, "the TimerValue
 * view"): CVAL - CNT for some CNT in [t0, t1], truncated to 32 bits and read
 * as signed. So a deadline more than 2^31 ticks away (2.1 s at 1 GHz) reads
 * negative, and TVAL alone never says whether a timer has expired.
 */
static inline bool tval_matches(u64 cval, u64 t0, s32 tval, u64 t1)
{
    return (u32)((u32)(cval - t0) - (u32)tval) <= t1 - t0;
}
void udelay(u64 us);
#define CNT_CTL_ENABLE BIT(0)
#define CNT_CTL_IMASK BIT(1)
#define CNT_CTL_ISTATUS BIT(2)
static inline void vtimer_set_ctl(u64 v) { write_sysreg(cntv_ctl_el0, v); isb(); }
static inline u64 vtimer_ctl(void) { isb(); return read_sysreg(cntv_ctl_el0); }
static inline void vtimer_set_cval(u64 v) { write_sysreg(cntv_cval_el0, v); isb(); }
static inline u64 vtimer_cval(void) { return read_sysreg(cntv_cval_el0); }
static inline void vtimer_set_tval(s32 v) { write_sysreg(cntv_tval_el0, (u64)(s64)v); isb(); }
static inline s32 vtimer_tval(void) { isb(); return (s32)read_sysreg(cntv_tval_el0); }
/* Polls for @cond with a deadline; evaluates to whether it became true. */
#define wait_until(cond, timeout_us) ({                                   \
    u64 __end = cntvct() + us_to_ticks(timeout_us);                       \
    bool __ok;                                                            \
    while (!(__ok = (cond)) && cntvct() < __end)                          \
        cpu_relax();                                                      \
    __ok || (cond); })

/*
 * ---- GIC: v3 (Arm IHI 0069) or v2 (Arm IHI 0048B), whichever the DT has ----
 * One API for both. Register offsets common to the two distributors keep
 * their GICD_* names; GICv3-only registers and helpers are marked so below,
 * GICv2-only ones are GICD_ITARGETSR and the GICC_* block.
 */
#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_TYPER2 0x000c
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_ICPENDR 0x0280
#define GICD_ISACTIVER 0x0300
#define GICD_ICACTIVER 0x0380
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0c00
#define GICD_IROUTER 0x6000
#define GICD_PIDR2 0xffe8
#define GICD_CTLR_ENABLE_G0 BIT(0)
#define GICD_CTLR_ENABLE_G1 BIT(1)
#define GICD_CTLR_ARE BIT(4)
#define GICD_CTLR_DS BIT(6)
#define GICD_CTLR_RWP BIT(31)
#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_PIDR2 0xffe8
#define GICR_SGI 0x10000 /* SGI_base frame; GICD_* offsets apply inside it */
#define GICR_STRIDE 0x20000
#define GICR_TYPER_LAST BIT(4)
#define GICR_WAKER_PROCESSOR_SLEEP BIT(1)
#define GICR_WAKER_CHILDREN_ASLEEP BIT(2)
/* GICv2 distributor (IHI 0048B 4.3) and CPU interface (4.4) */
#define GICD_ITARGETSR 0x0800
#define GICD_SGIR 0x0f00
#define GICD_CPENDSGIR 0x0f10
#define GICD_SPENDSGIR 0x0f20
#define GICD_ICPIDR2 0x0fe8
#define GICD_SGIR_FILTER_LIST (0U << 24)
#define GICD_SGIR_FILTER_OTHERS (1U << 24)
#define GICD_SGIR_FILTER_SELF (2U << 24)
#define GICC_CTLR 0x0000
#define GICC_PMR 0x0004
#define GICC_BPR 0x0008
#define GICC_IAR 0x000c
#define GICC_EOIR 0x0010
#define GICC_RPR 0x0014
#define GICC_HPPIR 0x0018
#define GICC_APR 0x00d0
#define GICC_IIDR 0x00fc
#define GICC_DIR 0x1000
#define GICC_CTLR_ENABLE_G0 BIT(0)
#define GICC_CTLR_EOIMODE BIT(9) /* EOImode of a CPU interface without Security Extensions (4.4.1) */
#define GICC_IAR_INTID(v) ((v) & 0x3ff)
#define GICC_IAR_CPUID(v) (((v) >> 10) & 0x7)
#define GIC_SPURIOUS 1023
#define GIC_WAKE_SGI 15 /* reserved by libguest */

static inline bool gic_v2(void) { return machine.gic_version == 2; }
u64 gicr_base(unsigned int cpu);                /* GICv3: RD_base of that CPU's redistributor (0 on v2) */
void gic_cpu_init(void);                        /* this CPU's private interrupts and CPU interface */
/*
 * Per-interrupt helpers. Private INTIDs (< 32) act on @cpu's (the _on
 * variants) or on this CPU's; SPIs on the distributor. GICv3 reaches another
 * CPU's through its redistributor; a GICv2 banks them in the distributor,
 * visible to their own CPU only, so there the access runs on @cpu
 * (on_cpu(): @cpu must be online and idle in libguest's loop, so never CPU 0
 * from another CPU).
 * SGIs on GICv2: set_pending pends one from the calling CPU (GICD_SPENDSGIR),
 * clear_pending clears every source's (GICD_CPENDSGIR), as ISPENDR0/ICPENDR0
 * ignore SGI bits there (IHI 0048B 4.3.7, 4.3.8).
 */
void gic_irq_enable_on(unsigned int cpu, u32 intid);
void gic_irq_disable_on(unsigned int cpu, u32 intid);
void gic_irq_set_pending_on(unsigned int cpu, u32 intid);
void gic_irq_clear_pending_on(unsigned int cpu, u32 intid);
bool gic_irq_pending_on(unsigned int cpu, u32 intid);
bool gic_irq_active_on(unsigned int cpu, u32 intid);
bool gic_irq_enabled_on(unsigned int cpu, u32 intid);
void gic_irq_set_active_on(unsigned int cpu, u32 intid);
void gic_irq_clear_active_on(unsigned int cpu, u32 intid);
void gic_irq_set_priority_on(unsigned int cpu, u32 intid, u8 prio);
u8 gic_irq_priority_on(unsigned int cpu, u32 intid);
#define gic_irq_enable(i) gic_irq_enable_on(smp_id(), i)
#define gic_irq_disable(i) gic_irq_disable_on(smp_id(), i)
#define gic_irq_set_pending(i) gic_irq_set_pending_on(smp_id(), i)
#define gic_irq_clear_pending(i) gic_irq_clear_pending_on(smp_id(), i)
#define gic_irq_pending(i) gic_irq_pending_on(smp_id(), i)
#define gic_irq_active(i) gic_irq_active_on(smp_id(), i)
#define gic_irq_enabled(i) gic_irq_enabled_on(smp_id(), i)
#define gic_irq_set_active(i) gic_irq_set_active_on(smp_id(), i)
#define gic_irq_clear_active(i) gic_irq_clear_active_on(smp_id(), i)
#define gic_irq_set_priority(i, p) gic_irq_set_priority_on(smp_id(), i, p)
#define gic_irq_priority(i) gic_irq_priority_on(smp_id(), i)
void gic_spi_set_edge(u32 intid, bool edge);    /* GICD_ICFGR */
void gic_spi_route(u32 intid, unsigned int cpu);/* GICD_IROUTER (v3), GICD_ITARGETSR (v2) */
/* SGIs: ICC_SGI1R_EL1 (v3), GICD_SGIR (v2) */
void gic_send_sgi(unsigned int cpu, u32 intid);
void gic_send_sgi_mask(u64 cpumask, u32 intid); /* target lists, bit i = CPU i */
void gic_send_sgi_others(u32 intid);            /* every CPU but this one: IRM = 1 (v3), filter 1 (v2) */
/*
 * GICv2: @cpu's CPU interface bit in ITARGETSR and GICD_SGIR's target list
 * (what ITARGETSR0 read on it, IHI 0048B 4.3.12); 0 on GICv3.
 */
u8 gic_cpu_target(unsigned int cpu);
/* GICv2: the source CPU interface (GICC_IAR.CPUID) of SGI @intid as this CPU last acknowledged it. */
unsigned int gic_sgi_source(u32 intid);
/*
 * The CPU interface (the virtual one under Keel): ICC_* system registers
 * (v3) or GICC MMIO (v2). gic_ack() returns the INTID alone; on GICv2
 * gic_eoi() and gic_dir() give back the SGI source it came with.
 */
u32 gic_ack(void);
void gic_eoi(u32 intid);
void gic_dir(u32 intid);
void gic_set_pmr(u8 p);
u8 gic_pmr(void);
u8 gic_rpr(void);
u32 gic_hppir(void);
void gic_set_eoimode(bool split);               /* EOImode 1: EOI drops the priority, DIR deactivates */
bool gic_eoimode(void);
/* GICv3 only: ICC_CTLR_EL1 */
static inline u64 gic_icc_ctlr(void) { return read_sysreg(S3_0_C12_C12_4); }
static inline void gic_set_icc_ctlr(u64 v) { write_sysreg(S3_0_C12_C12_4, v); isb(); }
#define ICC_CTLR_EOIMODE BIT(1)
/* Polls the acknowledge register (interrupts masked) until something other than spurious, or timeout. */
u32 gic_wait_ack(u64 timeout_us);

/* ---- MMU ---- */
void mmu_set_user(u64 va, bool user); /* EL0 access to the block holding @va */
/*
 * Runs T32 code at @entry at AArch32 EL0 (usr, DAIF masked) with r0-r14 from
 * @regs (u32[15]) and writes them back; the guest's sync hook returns from an
 * exception of kind 12 to run_a32_return (lib/aarch32.c).
 */
void run_a32(u64 entry, u32 *regs);
extern char run_a32_return[];
void mmu_set_tagged(u64 va, bool tagged); /* the 2 MiB block holding @va Tagged (MTE) or not */
void mmu_enable(void); /* a secondary CPU: the MMU on with the tables CPU 0 built at boot */

#endif
