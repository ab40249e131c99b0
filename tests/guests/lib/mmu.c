/*
 * Stage-1 identity map for EL1: 4 KiB granule, 39-bit VA (walk starts at
 * level 1). RAM (from the DT's /memory) is Normal write-back, and so is the
 * 2 MiB just past it (nothing there at stage 2: tests fetch from it to get
 * an instruction abort). Everything else up to 512 GiB is Device-nGnRE,
 * execute-never, so any address can be probed for aborts.
 *
 * Runs with the MMU off, where data accesses are Device memory: only aligned
 * accesses here, hence the small FDT walker instead of libfdt. Caches are
 * not maintained beyond invalidating what CPU 0 wrote with the MMU off,
 * which is enough on QEMU (the only target).
 */
#include "libguest.h"

#define PTE_VALID BIT(0)
#define PTE_TABLE BIT(1) /* levels 1-2: table; level 3: page */
#define PTE_ATTR(i) ((u64)(i) << 2)
#define PTE_SH_INNER (3UL << 8)
#define PTE_AF BIT(10)
#define PTE_AP_USER BIT(6) /* AP[1]: EL0 may access */
#define PTE_PXN BIT(53)
#define PTE_UXN BIT(54)

/* MAIR_EL1 attribute indexes */
#define ATTR_DEVICE_nGnRnE 0
#define ATTR_DEVICE_nGnRE 1
#define ATTR_NORMAL_WB 2
#define ATTR_NORMAL_NC 3
#define ATTR_NORMAL_TAGGED 4 /* FEAT_MTE2 only: 0xf0 is reserved without it */
#define MAIR_VALUE (0x00UL | (0x04UL << 8) | (0xffUL << 16) | (0x44UL << 24))
#define MAIR_TAGGED (0xf0UL << (8 * ATTR_NORMAL_TAGGED))

#define BLOCK_DEVICE (PTE_VALID | PTE_ATTR(ATTR_DEVICE_nGnRE) | PTE_AF | PTE_PXN | PTE_UXN)
#define BLOCK_NORMAL (PTE_VALID | PTE_ATTR(ATTR_NORMAL_WB) | PTE_SH_INNER | PTE_AF)

#define TCR_T0SZ(n) ((u64)(n))
#define TCR_IRGN0_WBWA (1UL << 8)
#define TCR_ORGN0_WBWA (1UL << 10)
#define TCR_SH0_INNER (3UL << 12)
#define TCR_TG0_4K (0UL << 14)
#define TCR_EPD1 BIT(23)
#define TCR_IPS_SHIFT 32

#define SCTLR_M BIT(0)
#define SCTLR_C BIT(2)
#define SCTLR_I BIT(12)

#define SZ_2M (2UL << 20)
#define SZ_1G (1UL << 30)
#define NR_L2 4

static u64 l1[512] __aligned(4096);
static u64 l2[NR_L2][512] __aligned(4096);
static volatile bool tables_ready;

extern char __bss_start[], __bss_end[];

/* ---- minimal FDT walk for /memory (aligned 32-bit loads only) ---- */
static u32 be32(u64 addr)
{
    return __builtin_bswap32(*(volatile u32 *)addr);
}

static bool str_prefix(u64 s, const char *p)
{
    for (; *p; p++, s++)
        if (*(volatile u8 *)s != (u8)*p)
            return false;
    return true;
}

static u64 str_len(u64 s)
{
    u64 n = 0;

    while (*(volatile u8 *)(s + n))
        n++;
    return n;
}

static u64 cells(u64 p, u32 n)
{
    u64 v = 0;

    for (u32 i = 0; i < n; i++)
        v = (v << 32) | be32(p + 4 * i);
    return v;
}

/* First reg entry of the first depth-1 node named memory@...; false if none. */
static bool fdt_memory(u64 fdt, u64 *base, u64 *size)
{
    u64 p, strs;
    u32 ac = 2, sc = 2;
    int depth = 0;
    bool in_mem = false;

    if (!fdt || (fdt & 7) || be32(fdt) != 0xd00dfeed)
        return false;
    p = fdt + be32(fdt + 8);
    strs = fdt + be32(fdt + 12);
    for (;;) {
        u32 tok = be32(p);

        p += 4;
        if (tok == 1) { /* BEGIN_NODE */
            depth++;
            in_mem = depth == 2 && str_prefix(p, "memory") &&
                     (*(volatile u8 *)(p + 6) == '@' || *(volatile u8 *)(p + 6) == 0);
            p = (p + str_len(p) + 1 + 3) & ~3UL;
        } else if (tok == 2) { /* END_NODE */
            depth--;
            in_mem = false;
        } else if (tok == 3) { /* PROP */
            u32 len = be32(p), nameoff = be32(p + 4);
            u64 name = strs + nameoff, val = p + 8;

            if (depth == 1 && str_prefix(name, "#address-cells") && len == 4)
                ac = be32(val);
            else if (depth == 1 && str_prefix(name, "#size-cells") && len == 4)
                sc = be32(val);
            else if (in_mem && str_prefix(name, "reg") && *(volatile u8 *)(name + 3) == 0 &&
                     len >= 4 * (ac + sc)) {
                *base = cells(val, ac);
                *size = cells(val + 4 * ac, sc);
                return true;
            }
            p = (val + len + 3) & ~3UL;
        } else if (tok == 4) { /* NOP */
        } else {
            return false; /* END or garbage */
        }
    }
}

static unsigned int l2_used;

static u64 *l2_table_for(u64 va)
{
    u64 *e = &l1[va / SZ_1G];

    if ((*e & (PTE_VALID | PTE_TABLE)) == (PTE_VALID | PTE_TABLE))
        return (u64 *)(*e & GENMASK(47, 12));
    if (l2_used == NR_L2)
        return NULL;
    u64 *t = l2[l2_used++];
    u64 old = *e;
    /* split the 1 GiB block into 2 MiB ones with the same attributes */
    for (unsigned int i = 0; i < 512; i++)
        t[i] = old ? (old & ~GENMASK(47, 12)) + (va & ~(SZ_1G - 1)) + i * SZ_2M : 0;
    *e = (u64)t | PTE_VALID | PTE_TABLE;
    return t;
}

/* Maps [start, end) (2 MiB aligned) with @attr blocks: 1 GiB where it can. */
static void map_range(u64 start, u64 end, u64 attr)
{
    while (start < end) {
        if (!(start & (SZ_1G - 1)) && end - start >= SZ_1G) {
            l1[start / SZ_1G] = start | attr;
            start += SZ_1G;
            continue;
        }
        u64 *t = l2_table_for(start);
        if (!t)
            return;
        t[(start / SZ_2M) % 512] = start | attr;
        start += SZ_2M;
    }
}

static void build_tables(u64 dtb)
{
    u64 base = 0x40000000, size = 128UL << 20;

    fdt_memory(dtb, &base, &size);
    base &= ~(SZ_2M - 1);
    size = (size + SZ_2M - 1) & ~(SZ_2M - 1);
    map_range(0, 512 * SZ_1G, BLOCK_DEVICE);
    map_range(base, base + size + SZ_2M, BLOCK_NORMAL);
    /* discard stale cache lines over what was written with the MMU off */
    for (u64 a = (u64)__bss_start & ~63UL; a < (u64)__bss_end; a += 64)
        __asm__ volatile("dc ivac, %0" :: "r"(a) : "memory");
    dsb(sy);
    tables_ready = true;
}

u64 mmu_enable_dtb(u64 dtb);

/*
 * The boot CPU: x0 as the Linux boot protocol passes it. Run natively by
 * QEMU as an ELF (no Keel), a guest gets no x0; QEMU puts the DTB at the
 * start of RAM then. Returns the DTB found (0 if none).
 */
static u64 find_dtb(u64 x0)
{
    static const u64 try[] = { 0, 0x40000000 };

    for (unsigned int i = 0; i < ARRAY_SIZE(try); i++) {
        u64 a = i ? try[i] : x0;
        if (a && !(a & 7) && be32(a) == 0xd00dfeed)
            return a;
    }
    return 0;
}

u64 mmu_enable_dtb(u64 dtb)
{
    u64 parange = read_sysreg(id_aa64mmfr0_el1) & 0xf;

    if (!tables_ready) {
        dtb = find_dtb(dtb);
        build_tables(dtb);
    }
    if (parange > 5)
        parange = 5;
    /* ID_AA64PFR1_EL1.MTE >= 2: the Tagged attribute exists (mmu_set_tagged) */
    write_sysreg(mair_el1, MAIR_VALUE | (FIELD_GET(read_sysreg(id_aa64pfr1_el1), 11, 8) >= 2 ?
                                         MAIR_TAGGED : 0));
    write_sysreg(tcr_el1, TCR_T0SZ(64 - 39) | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER |
                          TCR_TG0_4K | TCR_EPD1 | (parange << TCR_IPS_SHIFT));
    write_sysreg(ttbr0_el1, (u64)l1);
    isb();
    __asm__ volatile("tlbi vmalle1\n dsb nsh\n isb" ::: "memory");
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_M | SCTLR_C | SCTLR_I);
    isb();
    __asm__ volatile("ic iallu\n dsb nsh\n isb" ::: "memory");
    return dtb;
}

/* Secondary CPUs: the tables exist already. */
void mmu_enable(void)
{
    mmu_enable_dtb(0);
}

/*
 * Lets EL0 access the block mapping @va (AP[1], D8.4.1), or takes it back:
 * for tests that run 32-bit userspace code against a device. Only while no
 * EL1 code with PSTATE.PAN set touches that block.
 */
void mmu_set_user(u64 va, bool user)
{
    u64 *e = &l1[va / SZ_1G];

    if ((*e & (PTE_VALID | PTE_TABLE)) == (PTE_VALID | PTE_TABLE))
        e = (u64 *)(*e & GENMASK(47, 12)) + (va / SZ_2M) % 512;
    *e = user ? *e | PTE_AP_USER : *e & ~PTE_AP_USER;
    __asm__ volatile("dsb ishst\n tlbi vmalle1\n dsb ish\n isb" ::: "memory");
}

/*
 * Makes the RAM block mapping @va Tagged Normal memory (MAIR 0xf0), or
 * plain Normal again: for the MTE tests, on a VM that has it. Every CPU's
 * MAIR has the attribute (mmu_enable_dtb); the TLBI reaches them all.
 */
void mmu_set_tagged(u64 va, bool tagged)
{
    u64 *e = &l1[va / SZ_1G];

    if ((*e & (PTE_VALID | PTE_TABLE)) == (PTE_VALID | PTE_TABLE))
        e = (u64 *)(*e & GENMASK(47, 12)) + (va / SZ_2M) % 512;
    *e = (*e & ~PTE_ATTR(7)) | PTE_ATTR(tagged ? ATTR_NORMAL_TAGGED : ATTR_NORMAL_WB);
    __asm__ volatile("dsb ishst\n tlbi vmalle1is\n dsb ish\n isb" ::: "memory");
}
