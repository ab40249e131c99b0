/*
 * Keel's own EL2 stage-1 translation: an identity map. Keel's image gets
 * page-granular permissions (text RX, rodata R, data RW, never W+X); RAM is
 * RW and never executable; devices are Device-nGnRE and never executable.
 * Tables come from a static pool so this works before any allocator exists.
 *
 * Runs with the MMU off on the boot CPU, hence -mstrict-align for all of Keel.
 */
#include <arch/mte.h>
#include <arch/mmu.h>
#include <arch/pgtable.h>
#include <arch/sysreg.h>
#include <keel/arch.h>
#include <keel/spinlock.h>
#include <keel/string.h>

#define EL2_VA_BITS 39 /* 512 GiB: start the walk at level 1 */
#define EL2_TABLE_POOL 96

extern char _start[], _etext[], _erodata[], _end[];

static u64 el2_tables[EL2_TABLE_POOL][PT_ENTRIES] __aligned(PAGE_SIZE);
static unsigned int el2_tables_used;
/*
 * Keel's map changes at run time too (forwarded device pages when a VM is
 * built or rebuilt, on that VM's vCPU 0 CPU; two VMs may rebuild at once):
 * at run time the pool and the tables change only under this leaf lock
 * (arch_map_device). Boot-time mapping runs on the boot CPU alone, partly
 * with its MMU off, where exclusives (the lock) are not usable.
 */
static spinlock_t el2_map_lock = SPINLOCK_INIT;

/* Read by secondary CPUs with their MMU still off: cleaned to PoC. */
struct mmu_boot_regs mmu_boot_regs;

static void *el2_table_alloc(void)
{
    if (el2_tables_used >= EL2_TABLE_POOL)
        return NULL;
    u64 *t = el2_tables[el2_tables_used++];
    memset(t, 0, PAGE_SIZE);
    return t;
}

static void el2_table_free(void *page)
{
    (void)page; /* the pool only grows; Keel's map is built once */
}

static struct pgtable el2_pt = {
    .start_level = 1,
    .max_block_level = 1,
    .alloc_page = el2_table_alloc,
    .free_page = el2_table_free,
};

/* AP[1] is RES1 in a regime with one privilege level (EL2 with E2H == 0). */
#define PTE_AP1_RES1 BIT(6)
#define EL2_NORMAL (PTE_ATTRINDX(MAIR_IDX_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_AP1_RES1)
#define EL2_DEVICE (PTE_ATTRINDX(MAIR_IDX_DEVICE) | PTE_AF | PTE_UXN | PTE_PXN | PTE_AP1_RES1)

static int map_range(u64 base, u64 size, u64 attrs)
{
    u64 start = ALIGN_DOWN(base, PAGE_SIZE);
    u64 end = ALIGN_UP(base + size, PAGE_SIZE);

    return pgtable_map(&el2_pt, start, start, end - start, attrs);
}

int mmu_map_device(u64 base, u64 size)
{
    return map_range(base, size, EL2_DEVICE);
}

/* Maps memory that may contain Keel's image without touching the image's own entries. */
static int map_around_image(u64 base, u64 size, u64 attrs)
{
    u64 img_start = (u64)_start, img_end = ALIGN_UP((u64)_end, PAGE_SIZE);
    u64 end = base + size;

    if (base < img_start && map_range(base, MIN(end, img_start) - base, attrs))
        return -1;
    if (end > img_end && map_range(MAX(base, img_end), end - MAX(base, img_end), attrs))
        return -1;
    return 0;
}

int mmu_map_ram(u64 base, u64 size)
{
    return map_around_image(base, size, EL2_NORMAL | PTE_UXN | PTE_PXN);
}

static u64 tcr_value(void)
{
    u64 parange = read_sysreg(id_aa64mmfr0_el1) & ID_AA64MMFR0_EL1_PARANGE_MASK;

    if (parange > 5)
        parange = 5; /* 48 bits: Keel does not use 52-bit output addresses */
    return TCR_EL2_RES1 | TCR_EL2_T0SZ(64 - EL2_VA_BITS) | TCR_EL2_IRGN0_WBWA |
           TCR_EL2_ORGN0_WBWA | TCR_EL2_SH0_INNER | TCR_EL2_TG0_4K |
           (parange << TCR_EL2_PS_SHIFT);
}

/* Boot CPU, MMU off: map the image and the DTB, then turn translation on. */
void mmu_init(u64 dtb)
{
    el2_pt.root = el2_table_alloc();
    map_range((u64)_start, (u64)_etext - (u64)_start, EL2_NORMAL | PTE_AP_RO);
    map_range((u64)_etext, (u64)_erodata - (u64)_etext, EL2_NORMAL | PTE_AP_RO | PTE_UXN | PTE_PXN);
    map_range((u64)_erodata, (u64)_end - (u64)_erodata, EL2_NORMAL | PTE_UXN | PTE_PXN);
    /* The DTB header is read before its size is known: map 2 MiB around it. */
    map_around_image(ALIGN_DOWN(dtb, SZ_2M), 2 * SZ_2M, EL2_NORMAL | PTE_AP_RO | PTE_UXN | PTE_PXN);

    mmu_boot_regs.mair = mte_mair_el2(); /* Tagged RAM where VMs may use MTE (mte.c) */
    mmu_boot_regs.tcr = tcr_value();
    mmu_boot_regs.ttbr0 = (u64)el2_pt.root;
    /*
     * Everything Keel wrote so far (relocations, BSS, these tables, stack
     * frames) went to memory with the caches off. The loader only had to
     * clean the image (booting.rst), so lines from before may still be in
     * the cache, stale now: drop them before the first cacheable access.
     * Only the boot CPU may do this: it is broadcast to every cache.
     */
    arch_inval_dcache_range((u64)_start, ALIGN_UP((u64)_end, PAGE_SIZE) - (u64)_start);
    mmu_enable(&mmu_boot_regs);
}

void mmu_publish_for_secondaries(void)
{
    /* Secondaries walk these tables and read mmu_boot_regs with caches off. */
    arch_clean_dcache_range((u64)&mmu_boot_regs, sizeof(mmu_boot_regs));
    arch_clean_dcache_range((u64)el2_tables, sizeof(u64) * PT_ENTRIES * el2_tables_used);
    dsb(sy);
}

int arch_map_device(u64 base, u64 size)
{
    int err;

    spin_lock(&el2_map_lock);
    err = mmu_map_device(base, size);
    mmu_tlb_flush();
    spin_unlock(&el2_map_lock);
    return err;
}

void mmu_tlb_flush(void)
{
    dsb(ishst);
    __asm__ volatile("tlbi alle2is" ::: "memory");
    dsb(ish);
    isb();
}
