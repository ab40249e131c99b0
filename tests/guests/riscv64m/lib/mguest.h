/*
 * M-mode libguest: a tiny bare-metal framework for Keel's riscv64m test
 * guests, which own the whole machine as its M-mode firmware would (QEMU
 * virt with -bios none natively; a VM of Keel in M-mode otherwise).
 * tests/guests/riscv64m/README.md documents it; this header is the
 * reference. No libc: string functions and vsnprintf come from Keel's own
 * src/lib, the DT walker from the S-mode guests' lib (../riscv64/lib/fdt.c).
 *
 * A guest defines guest_main(), which hart 0 runs in M-mode with mtvec
 * installed, interrupts off, no delegation, PMP entry 15 open to S and U
 * for the whole address space (QEMU and the spec let S and U reach nothing
 * while no PMP entry matches), mcounteren/scounteren all ones, and
 * `machine` filled from the DT. The other harts idle (on_hart()). Returning
 * from guest_main() prints the summary and powers the board off through
 * QEMU's test device; under Keel that write faults and the guest spins in
 * WFI: the summary line "riscv64m-<name>: ALL PASSED" / "... N FAILED" is
 * what tells the end.
 */
#ifndef MGUEST_H
#define MGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fdt.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define BIT(n) (1UL << (n))
#define GENMASK(h, l) (((~0UL) << (l)) & (~0UL >> (63 - (h))))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __noreturn __attribute__((noreturn))
#define __aligned(n) __attribute__((aligned(n)))
#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

#ifdef GUEST_NAME
/* The guest's name for the summary line (the Makefile passes its file name). */
const char guest_name[] = GUEST_NAME;
#endif
extern const char guest_name[];

#define MAX_HARTS 8      /* hart ids index per-hart state: head.S has stacks for 0..7 */
#define STACK_SIZE 16384 /* head.S STACK_SHIFT */

/* ---- privilege levels, as in mstatus.MPP ---- */
enum priv { PRIV_U = 0, PRIV_S = 1, PRIV_M = 3 };
const char *priv_name(unsigned int p);

/* ---- CSRs by name or number ---- */
#define csr_read(c) ({ unsigned long __v; \
    __asm__ volatile("csrr %0, " __stringify(c) : "=r"(__v) :: "memory"); __v; })
#define csr_write(c, v) __asm__ volatile("csrw " __stringify(c) ", %0" :: "rK"((unsigned long)(v)) : "memory")
#define csr_set(c, v) __asm__ volatile("csrs " __stringify(c) ", %0" :: "rK"((unsigned long)(v)) : "memory")
#define csr_clear(c, v) __asm__ volatile("csrc " __stringify(c) ", %0" :: "rK"((unsigned long)(v)) : "memory")
#define csr_swap(c, v) ({ unsigned long __v; \
    __asm__ volatile("csrrw %0, " __stringify(c) ", %1" : "=r"(__v) : "rK"((unsigned long)(v)) : "memory"); __v; })

/* mstatus (privileged spec 1.12, 3.1.6), RV64 */
#define MSTATUS_SIE BIT(1)
#define MSTATUS_MIE BIT(3)
#define MSTATUS_SPIE BIT(5)
#define MSTATUS_UBE BIT(6)
#define MSTATUS_MPIE BIT(7)
#define MSTATUS_SPP BIT(8)
#define MSTATUS_VS (3UL << 9)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP (3UL << 11)
#define MSTATUS_FS (3UL << 13)
#define MSTATUS_XS (3UL << 15)
#define MSTATUS_MPRV BIT(17)
#define MSTATUS_SUM BIT(18)
#define MSTATUS_MXR BIT(19)
#define MSTATUS_TVM BIT(20)
#define MSTATUS_TW BIT(21)
#define MSTATUS_TSR BIT(22)
#define MSTATUS_UXL (3UL << 32)
#define MSTATUS_SXL (3UL << 34)
#define MSTATUS_SBE BIT(36)
#define MSTATUS_MBE BIT(37)
#define MSTATUS_SD BIT(63)
#define MPP(p) ((unsigned long)(p) << MSTATUS_MPP_SHIFT)
/* what sstatus shows of mstatus (4.1.1) */
#define SSTATUS_VIEW (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_VS | \
    MSTATUS_FS | MSTATUS_XS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD)

/* mip/mie bits and interrupt numbers (3.1.9) */
#define IRQ_S_SOFT 1
#define IRQ_M_SOFT 3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT 9
#define IRQ_M_EXT 11
#define MIP_SSIP BIT(IRQ_S_SOFT)
#define MIP_MSIP BIT(IRQ_M_SOFT)
#define MIP_STIP BIT(IRQ_S_TIMER)
#define MIP_MTIP BIT(IRQ_M_TIMER)
#define MIP_SEIP BIT(IRQ_S_EXT)
#define MIP_MEIP BIT(IRQ_M_EXT)

/* mcause / scause (3.1.15) */
#define CAUSE_INTERRUPT BIT(63)
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
#define CAUSE_MACHINE_ECALL 11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

/* satp (4.1.11) */
#define SATP_MODE_SHIFT 60
#define SATP_BARE 0UL
#define SATP_SV39 8UL
#define SATP_SV48 9UL
#define SATP_SV57 10UL
#define SATP_ASID_SHIFT 44
#define SATP_PPN GENMASK(43, 0)
#define SATP(mode, asid, root) (((u64)(mode) << SATP_MODE_SHIFT) | ((u64)(asid) << SATP_ASID_SHIFT) | \
    (((u64)(root) >> 12) & SATP_PPN))

/* counteren bits (3.1.11) */
#define CNT_CY BIT(0)
#define CNT_TM BIT(1)
#define CNT_IR BIT(2)

#define barrier() __asm__ volatile("" ::: "memory")
#define mb() __asm__ volatile("fence rw, rw" ::: "memory")
#define wfi() __asm__ volatile("wfi" ::: "memory")
#define cpu_relax() __asm__ volatile(".4byte 0x0100000f" ::: "memory") /* Zihintpause PAUSE */
#define fence_i() __asm__ volatile("fence.i" ::: "memory")
#define sfence_vma() __asm__ volatile("sfence.vma" ::: "memory")

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
MMIO_LOAD(readl, u32, "lwu")
MMIO_LOAD(readq, u64, "ld")
MMIO_STORE(writeb, u8, "sb")
MMIO_STORE(writel, u32, "sw")
MMIO_STORE(writeq, u64, "sd")

/* ---- the machine: QEMU virt's layout, what the DT says of it ---- */
#define CLINT_BASE 0x02000000UL
#define CLINT_MSIP(h) (CLINT_BASE + 4UL * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000UL + 8UL * (h))
#define CLINT_MTIME (CLINT_BASE + 0xbff8UL)
#define UART_BASE 0x10000000UL
#define TEST_DEVICE 0x00100000UL /* sifive,test0: 0x5555 powers off */
#define RAM_BASE 0x80000000UL

struct machine {
    u64 dtb;                 /* a1 at entry */
    u64 ram_base, ram_size;  /* /memory, first range */
    u64 timebase;            /* /cpus timebase-frequency, Hz (10 MHz assumed if absent) */
    bool timebase_from_dt;
    unsigned int nr_harts;   /* /cpus/cpu@* enabled, at most MAX_HARTS */
    bool sv48, sv57;         /* satp takes MODE 9 / 10 (probed) */
};
extern struct machine machine;
extern char __image_start[], __image_end[], __user_start[], __user_end[];

void guest_main(void);

/* ---- console and reporting ---- */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void puts_raw(const char *s);
/* "PASS: <prefixes>: <msg>" or "FAIL: ...", counted; returns cond */
bool report(bool cond, const char *fmt, ...) __printf(2, 3);
void report_info(const char *fmt, ...) __printf(1, 2);
void report_skip(const char *fmt, ...) __printf(1, 2);
/*
 * Whether the guest runs natively on QEMU's virt (its DT root is
 * "riscv-virtio"; Keel's guest DT says "linux,dummy-virt").
 * report_or_known(): report(), except that a failure is a SKIP naming
 * @why when native: for the few places QEMU itself departs from the spec.
 */
bool native_qemu(void);
bool report_or_known(bool cond, const char *why, const char *fmt, ...) __printf(3, 4);
void report_prefix_push(const char *p);
void report_prefix_pop(void);
unsigned int report_failures(void);
/* SUMMARY line, "riscv64m-<name>: ALL PASSED" or "... N FAILED", power off, else WFI forever */
void __noreturn guest_exit(void);
void __noreturn guest_abort(const char *fmt, ...) __printf(1, 2);

/* ---- harts ---- */
static inline unsigned long hart_id(void)
{
    unsigned long t;
    __asm__ volatile("mv %0, tp" : "=r"(t));
    return t;
}
typedef void (*hart_fn)(void *arg);
/* Runs fn(arg) on idle hart @h (woken by its CLINT msip); waits for it (bounded). */
bool on_hart(unsigned long h, hart_fn fn, void *arg);
void on_hart_async(unsigned long h, hart_fn fn, void *arg);
bool hart_wait_idle(unsigned long h, u64 timeout_us);
bool hart_online(unsigned long h);
/* Per-hart setup every hart gets (mtvec, stvec, PMP entry 15, counteren, no delegation). */
void hart_defaults(void);

typedef struct { volatile u32 locked; } spinlock_t;
#define SPINLOCK_INIT { 0 }
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

/* ---- running below M ---- */
#define LOWER_RETURN_MAGIC 0x52455455UL /* a7 of the ECALL that ends run_in's function */
typedef u64 (*lower_fn)(u64 a0, u64 a1);
u64 run_in_how(unsigned int priv, lower_fn fn, u64 a0, u64 a1, unsigned int how);
/* fn(a0, a1) at @priv (U, S or M) entered by MRET; returns its value in M. */
static inline u64 run_in(unsigned int priv, lower_fn fn, u64 a0, u64 a1)
{
    return run_in_how(priv, fn, a0, a1, 0);
}
/* The same entered by SRET from M (SPP = @priv: U or S). */
static inline u64 run_in_sret(unsigned int priv, lower_fn fn, u64 a0, u64 a1)
{
    return run_in_how(priv, fn, a0, a1, 1);
}
/* How the last run_in on this hart ended: the mode that took its ECALL and that mode's status then. */
struct lower_exit {
    unsigned int mode;   /* 3: M took it; 1: S did (and passed it to M through msip) */
    u64 status;          /* mstatus, or sstatus if S took it, at that ECALL */
    u64 mstatus;         /* mstatus at the ECALL (M) or at the msip interrupt (via S) */
    u64 cause;
};
extern struct lower_exit lower_exit[MAX_HARTS];

/*
 * One load, store or call (a0 = address, a1 = value), 4 bytes each, using
 * no stack: mem_* in the ordinary text, u_* on the user page (what U runs
 * where only that page is U's). *_fetch calls a0 and comes back (a fetch
 * fault returns to ra, right after the call).
 */
u64 mem_load64(u64 va, u64 unused);
u64 mem_store64(u64 va, u64 val);
u64 mem_fetch(u64 va, u64 unused);
u64 u_load64(u64 va, u64 unused);
u64 u_store64(u64 va, u64 val);
u64 u_fetch(u64 va, u64 unused);

/* ---- traps ---- */
struct trap_frame {
    unsigned long x[32]; /* x[0] unused; x[2] the sp before the trap */
    unsigned long epc, status, cause, tval, mode, pad;
};
/* A trap taken while one was expected: who took it and what it saw. */
struct trap {
    unsigned int mode;   /* 3 (M) or 1 (S): the mode that took it */
    unsigned int from;   /* the privilege it came from (MPP or SPP) */
    u64 cause, tval, epc, status;
};
/*
 * expect_trap(), the access, trap_taken(&t): the next exception on this
 * hart, in whichever mode takes it, is recorded and the instruction
 * skipped (its length from its low bits, read at epc: code that may fault
 * must be identity-mapped, or use expect_trap_len), or for a fetch fault
 * the trap returns to ra (reach such an address with a call). Any other
 * exception is a FAIL and ends the guest.
 */
void expect_trap(void);
void expect_trap_len(unsigned int len); /* skip @len bytes, 0: return to ra */
bool trap_taken(struct trap *t);
/*
 * Hooks: called for every trap (exception or interrupt) before anything
 * else but run_in's return; a hook that returns true has handled it (it
 * may change the frame: epc, status, registers).
 */
typedef bool (*trap_hook_t)(struct trap_frame *f);
void trap_hook_set(trap_hook_t h); /* this hart's; NULL removes it */
/* Interrupts no hook takes: counted per hart and number, and masked (mie or sie bit cleared). */
extern volatile unsigned int irq_unhandled[MAX_HARTS][16];

/* ---- CSR access by number, from any privilege (an instruction built in memory) ---- */
/*
 * csrrw/csrrs/csrrc a0, @csr, a1 with a1 = @val (CSR_RS/CSR_RC with a1
 * count as writes, even of 0: Zicsr), or CSR_READ: csrrs a0, @csr, x0
 * (no write). Returns a0 (the old value).
 */
enum csr_op { CSR_RW = 1, CSR_RS = 2, CSR_RC = 3, CSR_READ = 0x12 };
u64 csr_op(enum csr_op op, unsigned int csr, u64 val);
/* Where this hart's csr_op instruction is (the epc of its traps). */
u64 csr_code_addr(void);
/* 32-bit encoding of csr_op's instruction (what mtval may hold for it) */
u32 csr_op_insn(enum csr_op op, unsigned int csr);
/* csr_op at @priv (via run_in from M): false if it trapped (*t then says how). */
bool csr_try(unsigned int priv, enum csr_op op, unsigned int csr, u64 val, u64 *old, struct trap *t);

/* ---- time: durations from the timebase ---- */
static inline u64 rdtime(void)
{
    u64 t;
    __asm__ volatile("rdtime %0" : "=r"(t) :: "memory");
    return t;
}
static inline u64 us_to_ticks(u64 us) { return us * machine.timebase / 1000000; }
static inline u64 ticks_to_us(u64 t) { return t * 1000000 / machine.timebase; }
void udelay(u64 us);
#define wait_until(cond, timeout_us) ({                                   \
    u64 __end = rdtime() + us_to_ticks(timeout_us);                       \
    bool __ok;                                                            \
    while (!(__ok = (cond)) && rdtime() < __end)                          \
        cpu_relax();                                                      \
    __ok || (cond); })

/* ---- page tables (lib/pt.c): Sv39 / Sv48 from a pool of pages ---- */
#define PTE_V BIT(0)
#define PTE_R BIT(1)
#define PTE_W BIT(2)
#define PTE_X BIT(3)
#define PTE_U BIT(4)
#define PTE_G BIT(5)
#define PTE_A BIT(6)
#define PTE_D BIT(7)
#define PTE_PPN_SHIFT 10
#define PAGE_SIZE 4096UL
#define MEGAPAGE (2UL << 20)
#define GIGAPAGE (1UL << 30)
#define PTE_LEAF(pa, flags) ((((u64)(pa) >> 12) << PTE_PPN_SHIFT) | (flags) | PTE_V)
void *page_alloc(void);              /* a zeroed 4 KiB page of the pool; aborts when none is left */
u64 *pt_new(void);                   /* an empty root */
/* The PTE slot for @va at @level (0: 4 KiB) under @root, with tables made on the way. */
u64 *pt_slot(u64 *root, unsigned int levels, u64 va, unsigned int level);
/* A leaf @va -> @pa of the size of @level, @flags (R/W/X/U/G/A/D; V added). */
void pt_map(u64 *root, unsigned int levels, u64 va, u64 pa, unsigned int level, u64 flags);
/*
 * The usual address space: the guest image identity-mapped with 4 KiB
 * pages, R/W/X for S (A, D set), but the user page R/X for U; the CLINT
 * and the UART identity-mapped R/W for S.
 */
u64 *pt_identity(unsigned int levels);
static inline u64 satp_for(unsigned int levels, u64 asid, u64 *root)
{
    return SATP(levels == 4 ? SATP_SV48 : SATP_SV39, asid, root);
}

/* pmpcfg entry fields (privileged spec 3.7.1) */
#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_TOR 0x08
#define PMP_NA4 0x10
#define PMP_NAPOT 0x18
#define PMP_L 0x80

#endif
