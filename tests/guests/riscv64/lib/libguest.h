/*
 * libguest for RISC-V: a tiny bare-metal S-mode framework for Keel's
 * riscv64 test guests. tests/guests/riscv64/README.md documents it; this
 * header is the reference. No libc: string functions and vsnprintf come
 * from Keel's own src/lib, compiled into each guest.
 *
 * A guest defines guest_main(). By then the boot hart (any hart id: under
 * OpenSBI the boot hart is whichever wins its lottery) runs on its own
 * stack with the trap vector installed, interrupts masked, and `machine`
 * filled from the DT. Returning from guest_main() prints the summary and
 * powers the machine off (SBI SRST shutdown).
 */
#ifndef LIBGUEST_H
#define LIBGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fdt.h"
#include "sbi.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(n) (1UL << (n))
#define GENMASK(h, l) (((~0UL) << (l)) & (~0UL >> (63 - (h))))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __noreturn __attribute__((noreturn))
#define __aligned(n) __attribute__((aligned(n)))
#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

/* Hart ids index per-hart state directly: Keel numbers a VM's harts 0..N-1. */
#define MAX_HARTS 8
#define STACK_SIZE 16384 /* head.S: STACK_SHIFT */

/* ---- CSRs (names or numbers) ---- */
#define csr_read(c) ({ unsigned long __v; \
    __asm__ volatile("csrr %0, " __stringify(c) : "=r"(__v) :: "memory"); __v; })
#define csr_write(c, v) __asm__ volatile("csrw " __stringify(c) ", %0" :: "rK"((unsigned long)(v)) : "memory")
#define csr_set(c, v) __asm__ volatile("csrs " __stringify(c) ", %0" :: "rK"((unsigned long)(v)) : "memory")
#define csr_clear(c, v) __asm__ volatile("csrc " __stringify(c) ", %0" :: "rK"((unsigned long)(v)) : "memory")
#define csr_read_clear(c, v) ({ unsigned long __v; \
    __asm__ volatile("csrrc %0, " __stringify(c) ", %1" : "=r"(__v) : "rK"((unsigned long)(v)) : "memory"); __v; })

#define CSR_STIMECMP 0x14d /* Sstc */

#define SSTATUS_SIE BIT(1)
#define SSTATUS_SPIE BIT(5)
#define SSTATUS_SPP BIT(8)
/* interrupt numbers (scause codes with the interrupt bit) and their sie/sip bits */
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define SIE_SSIE BIT(IRQ_S_SOFT)
#define SIE_STIE BIT(IRQ_S_TIMER)
#define SIE_SEIE BIT(IRQ_S_EXT)
#define SIP_SSIP SIE_SSIE
#define SIP_STIP SIE_STIE
#define SIP_SEIP SIE_SEIE
#define CAUSE_INTERRUPT BIT(63)
/* exception codes (privileged spec, scause) */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_USER_ECALL 8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

#define barrier() __asm__ volatile("" ::: "memory")
#define mb() __asm__ volatile("fence rw, rw" ::: "memory")
#define wfi() __asm__ volatile("wfi" ::: "memory")
/* Zihintpause PAUSE: a FENCE hint, a no-op where the extension is missing */
#define cpu_relax() __asm__ volatile(".4byte 0x0100000f" ::: "memory")

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- MMIO: one uncompressed instruction each, so a trapping access is decodable ---- */
#define MMIO_LOAD(name, type, insn)                                                   \
    static inline type name(u64 a)                                                    \
    {                                                                                 \
        unsigned long v;                                                              \
        __asm__ volatile(".option push\n.option norvc\n" insn " %0, 0(%1)\n.option pop" \
                         : "=r"(v) : "r"(a) : "memory");                              \
        return (type)v;                                                               \
    }
#define MMIO_STORE(name, type, insn)                                                  \
    static inline void name(u64 a, type v)                                            \
    {                                                                                 \
        __asm__ volatile(".option push\n.option norvc\n" insn " %z0, 0(%1)\n.option pop" \
                         :: "rJ"((unsigned long)v), "r"(a) : "memory");               \
    }
MMIO_LOAD(readb, u8, "lbu")
MMIO_LOAD(readw, u16, "lhu")
MMIO_LOAD(readl, u32, "lwu")
MMIO_LOAD(readq, u64, "ld")
MMIO_STORE(writeb, u8, "sb")
MMIO_STORE(writew, u16, "sh")
MMIO_STORE(writel, u32, "sw")
MMIO_STORE(writeq, u64, "sd")

/* ---- interrupt masking: sstatus.SIE ---- */
static inline void local_irq_enable(void) { csr_set(sstatus, SSTATUS_SIE); }
static inline void local_irq_disable(void) { csr_clear(sstatus, SSTATUS_SIE); }
static inline unsigned long local_irq_save(void) { return csr_read_clear(sstatus, SSTATUS_SIE) & SSTATUS_SIE; }
static inline void local_irq_restore(unsigned long f) { if (f & SSTATUS_SIE) local_irq_enable(); }

/* ---- the machine, from the DT ---- */
struct machine {
    u64 dtb;                     /* a1 at entry */
    u64 ram_base, ram_size;      /* /memory */
    u64 uart_base;               /* /chosen stdout-path, else the first ns16550a, else 0x10000000 */
    unsigned int uart_shift;     /* its reg-shift */
    u32 uart_irq;                /* its PLIC source */
    u64 plic_base, plic_size;    /* "riscv,plic0" or "sifive,plic-1.0.0" (0: none) */
    u32 plic_ndev;               /* riscv,ndev */
    int plic_context[MAX_HARTS]; /* the S-mode context of each hart id, -1 if none */
    u64 timebase;                /* /cpus timebase-frequency, Hz */
    unsigned int nr_harts;       /* /cpus/cpu@* not disabled */
    unsigned long hartid[MAX_HARTS]; /* their reg, in DT order */
    unsigned long boot_hartid;
};
extern struct machine machine;

/* Entry point of each guest, on the boot hart. Return to power off. */
void guest_main(void);

/*
 * Whether the SBI is OpenSBI, i.e. the guest runs natively with no
 * hypervisor between it and the platform's (QEMU's) own devices: checks
 * that QEMU's models are known to fail say SKIP there instead of FAIL.
 */
bool native_opensbi(void);
/* report(), except that a failure is a SKIP with @why when native_opensbi(). */
bool report_or_known(bool cond, const char *why, const char *fmt, ...) __printf(3, 4);

/* Whether hart @hartid's DT node lists ISA extension @ext (riscv,isa-extensions or riscv,isa). */
bool dt_hart_has_ext(unsigned long hartid, const char *ext);
/* The lowest hart id the DT does not list: a hart that does not exist. */
unsigned long missing_hartid(void);

/* ---- console and reporting ---- */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void puts_raw(const char *s); /* no lock: for fatal paths */
void uart_wait_idle(void);    /* until the transmitter is empty */

/* Prints "PASS: <prefixes>: <msg>" or "FAIL: ..." and counts it; returns cond. */
bool report(bool cond, const char *fmt, ...) __printf(2, 3);
void report_info(const char *fmt, ...) __printf(1, 2); /* "INFO: <msg>" */
void report_skip(const char *fmt, ...) __printf(1, 2); /* "SKIP: <msg>", counted */
void report_prefix_push(const char *p); /* per hart, 4 deep */
void report_prefix_pop(void);
unsigned int report_failures(void);
/* "SUMMARY: N passed, M failed[, K skipped]", then SBI SRST shutdown. */
void __noreturn guest_exit(void);
void __noreturn guest_abort(const char *fmt, ...) __printf(1, 2);

/* ---- harts ---- */
static inline unsigned long hart_id(void)
{
    unsigned long t;
    __asm__ volatile("mv %0, tp" : "=r"(t));
    return t;
}

/*
 * Secondary harts. hart_boot() starts @hartid with SBI HSM hart_start at
 * secondary_entry (opaque = HART_OPAQUE(boots)) and waits until it idles;
 * it returns the SBI error. An idle hart waits in WFI for work from
 * on_hart*(), woken by an SBI IPI: it runs the work only after the
 * S-software interrupt that follows it has arrived, so the work starts
 * with no IPI of libguest's still in flight towards it.
 */
typedef void (*hart_fn)(void *arg);
#define HART_OPAQUE(boots) (0x6b65656c00000000UL | (boots)) /* "keel" */
#define HART_HANDOVER 0x626f6f7400000000UL                   /* "boot": make BOOT_HART=n */
long hart_boot(unsigned long hartid);
void hart_boot_all(void);                   /* every hart in the DT; FAIL on error */
bool hart_online(unsigned long hartid);
void on_hart_async(unsigned long hartid, hart_fn fn, void *arg);
bool hart_idle_wait(unsigned long hartid, u64 timeout_us); /* false on timeout */
void on_hart(unsigned long hartid, hart_fn fn, void *arg);  /* waits (bounded, FAIL on timeout) */
void on_harts(hart_fn fn, void *arg); /* on every online hart, this one too; waits */
/* SBI HSM hart_stop from work running on a secondary (it counts as done). */
void __noreturn hart_stop_self(void);
/* What a secondary saw on entry (hart_start or non-retentive resume), before touching anything. */
struct hart_entry_state {
    unsigned long a0, a1, sstatus, satp;
    unsigned int boots;
};
extern struct hart_entry_state hart_entry[MAX_HARTS];
extern char secondary_entry[]; /* the start and resume address */
/* Wake-up IPIs an idle hart took without work, and work that waited in vain for its IPI. */
extern volatile unsigned int idle_ipis[MAX_HARTS];
extern volatile unsigned int wake_ipi_missing;

/* ---- spinlock: test-and-test-and-set on AMOSWAP.W.AQ, released with AMOSWAP.W.RL ---- */
typedef struct { volatile u32 locked; } spinlock_t;
#define SPINLOCK_INIT { 0 }
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
unsigned long spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags);

/* ---- traps ---- */
struct trap_frame {
    unsigned long x[32]; /* x[0] unused, x[2] the sp before the trap */
    unsigned long sepc, sstatus, scause, stval;
};
/*
 * Expected exceptions, per hart: after fault_expect(), the next exception
 * is recorded and the instruction skipped (2 or 4 bytes, from its low
 * bits); for a fetch fault sepc becomes ra, so reach the address with a
 * call. fault_taken() disarms and returns whether one was taken. Any other
 * exception is a fatal FAIL.
 */
struct fault {
    unsigned long scause, stval, sepc;
};
void fault_expect(void);
bool fault_taken(struct fault *f);
/* Interrupt handlers by number (IRQ_S_*), global; a NULL handler counts it and masks it in sie. */
typedef void (*irq_handler_t)(struct trap_frame *f);
void irq_set_handler(unsigned int irq, irq_handler_t h);
extern volatile unsigned int irq_unhandled[MAX_HARTS];

/* ---- time: every duration from the DT's timebase-frequency ---- */
static inline u64 rdtime(void)
{
    u64 t;
    __asm__ volatile("rdtime %0" : "=r"(t) :: "memory");
    return t;
}
static inline u64 us_to_ticks(u64 us) { return us * machine.timebase / 1000000; }
static inline u64 ticks_to_us(u64 t) { return t * 1000000 / machine.timebase; }
void udelay(u64 us);
/* Polls for @cond with a deadline; evaluates to whether it became true. */
#define wait_until(cond, timeout_us) ({                                   \
    u64 __end = rdtime() + us_to_ticks(timeout_us);                       \
    bool __ok;                                                            \
    while (!(__ok = (cond)) && rdtime() < __end)                          \
        cpu_relax();                                                      \
    __ok || (cond); })

/* ---- PLIC (RISC-V PLIC spec 1.0.0 memory map) ---- */
#define PLIC_PRIORITY(src) (4UL * (src))
#define PLIC_PENDING(src) (0x1000UL + 4 * ((src) / 32))
#define PLIC_ENABLE(ctx, src) (0x2000UL + 0x80UL * (ctx) + 4 * ((src) / 32))
#define PLIC_THRESHOLD(ctx) (0x200000UL + 0x1000UL * (ctx))
#define PLIC_CLAIM(ctx) (0x200004UL + 0x1000UL * (ctx))

/* ---- NS16550A registers (times 1 << reg-shift) ---- */
#define UART_THR 0
#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define UART_IER_ETBEI BIT(1)
#define UART_MCR_OUT2 BIT(3)
#define UART_LSR_THRE BIT(5)
#define UART_LSR_TEMT BIT(6)
static inline u64 uart_reg(unsigned int r) { return machine.uart_base + ((u64)r << machine.uart_shift); }

#endif
