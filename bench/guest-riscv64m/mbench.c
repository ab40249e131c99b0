/*
 * What Keel's trap-and-emulate costs a guest on a hart without H, counted
 * in instructions (instret; under -icount shift=0 it counts every
 * instruction of the hart, Keel's own included): run natively (QEMU virt
 * -bios none) and under Keel, the difference is Keel's. Prints
 * "MBENCH <what> <instructions per operation>" lines, then "MBENCH done".
 *  - csr:   one `csrr sstatus` in S-mode (an emulated CSR access);
 *  - fill:  the first load from a page in S-mode with Sv39 on (a shadow
 *           page filled: Keel walks the guest's tables and maps the page);
 *  - timer: from the M-mode store that makes the CLINT timer due to the
 *           guest's M-mode handler's first instruction (an emulated CLINT
 *           write and an interrupt delivered).
 */
typedef unsigned long u64;
typedef unsigned int u32;

#define UART 0x10000000UL
#define CLINT_MTIMECMP0 (0x2000000UL + 0x4000)
#define N_CSR 1000
#define N_FILL 256
#define N_TIMER 64
#define FILL_VA 0x40000000UL
#define FILL_PA 0x80400000UL

/* Sv39 PTE bits */
#define V 1UL
#define R 2UL
#define W 4UL
#define X 8UL
#define A 64UL
#define D 128UL

static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));
static volatile u64 timer_seen;

static inline u64 instret(void)
{
    u64 v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
}

static void putc(char c)
{
    volatile unsigned char *u = (volatile unsigned char *)UART;
    while (!(u[5] & 0x20))
        ;
    u[0] = (unsigned char)c;
}

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

static void putu(u64 v)
{
    char b[24];
    int i = 0;
    do {
        b[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i)
        putc(b[--i]);
}

static void report(const char *what, u64 total, u64 n)
{
    puts("MBENCH ");
    puts(what);
    putc(' ');
    putu((total + n / 2) / n);
    putc('\n');
}

static u64 pte(u64 pa, u64 bits)
{
    return (pa >> 12) << 10 | bits | V;
}

/* Devices and RAM identity-mapped by 1 GiB leaves; FILL_VA's 256 pages by 4 KiB ones. */
static void tables(void)
{
    root[0] = pte(0, R | W | A | D);
    root[2] = pte(0x80000000UL, R | W | X | A | D);
    root[1] = pte((u64)l1, 0);
    l1[0] = pte((u64)l0, 0);
    for (u64 i = 0; i < N_FILL; i++)
        l0[i] = pte(FILL_PA + i * 4096, R | W | A | D);
}

static void s_main(void)
{
    u64 t0, t1, base;

    t0 = instret();
    for (int i = 0; i < N_CSR; i++)
        __asm__ volatile("nop");
    base = instret() - t0;
    t0 = instret();
    for (int i = 0; i < N_CSR; i++) {
        u64 s;
        __asm__ volatile("csrr %0, sstatus" : "=r"(s));
    }
    t1 = instret();
    report("csr", t1 - t0 - base, N_CSR);

    *(volatile u32 *)FILL_PA = 0; /* the RAM block behind the pages is there before */
    t0 = instret();
    for (u64 i = 0; i < N_FILL; i++)
        (void)*(volatile u32 *)(FILL_VA + i * 4096);
    t1 = instret();
    report("fill", t1 - t0, N_FILL);
    __asm__ volatile("ecall"); /* on to M-mode for the timer */
    for (;;)
        ;
}

static void timer_bench(void)
{
    u64 total = 0;

    __asm__ volatile("csrw mie, %0" :: "r"(1UL << 7));
    for (int i = 0; i < N_TIMER; i++) {
        u64 t0;
        timer_seen = 0;
        __asm__ volatile("csrs mstatus, 8");
        t0 = instret();
        *(volatile u64 *)CLINT_MTIMECMP0 = 0;
        while (!timer_seen)
            ;
        __asm__ volatile("csrc mstatus, 8");
        total += timer_seen - t0;
    }
    report("timer", total, N_TIMER);
    puts("MBENCH done\n");
    for (;;)
        __asm__ volatile("wfi");
}

void mtrap(void)
{
    u64 cause;

    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    if (cause == (1UL << 63 | 7)) {
        timer_seen = instret();
        *(volatile u64 *)CLINT_MTIMECMP0 = ~0UL;
        return;
    }
    if (cause == 9)
        timer_bench();
    puts("MBENCH unexpected trap\n");
    for (;;)
        ;
}

void mbench_main(void)
{
    u64 ms;

    __asm__ volatile("csrw pmpaddr0, %0" :: "r"(~0UL >> 10));
    __asm__ volatile("csrw pmpcfg0, %0" :: "r"(0x1fUL));
    __asm__ volatile("csrw mcounteren, %0" :: "r"(7UL));
    __asm__ volatile("csrw scounteren, %0" :: "r"(7UL));
    tables();
    __asm__ volatile("csrw satp, %0\n\tsfence.vma" :: "r"(8UL << 60 | (u64)root >> 12));
    __asm__ volatile("csrr %0, mstatus" : "=r"(ms));
    ms = (ms & ~(3UL << 11)) | 1UL << 11; /* MPP = S */
    __asm__ volatile("csrw mstatus, %0\n\tcsrw mepc, %1\n\tmret" :: "r"(ms), "r"(s_main));
}
