/*
 * Page tables for the paging guests: Sv39 and Sv48 (privileged spec 1.12,
 * 4.4 and 4.5) built in a pool of pages that takes no room in the image.
 */
#include <string.h>
#include "mguest.h"

#define POOL_PAGES 256

static u8 pool[POOL_PAGES][PAGE_SIZE] __aligned(4096) __attribute__((section(".pages")));
static unsigned int pool_used;
static spinlock_t pool_lock = SPINLOCK_INIT;

void *page_alloc(void)
{
    void *p;

    spin_lock(&pool_lock);
    if (pool_used == POOL_PAGES) {
        spin_unlock(&pool_lock);
        guest_abort("page-table pool exhausted (%u pages)", POOL_PAGES);
    }
    p = pool[pool_used++];
    spin_unlock(&pool_lock);
    memset(p, 0, PAGE_SIZE);
    return p;
}

u64 *pt_new(void)
{
    return page_alloc();
}

static unsigned int vpn(u64 va, unsigned int level)
{
    return (va >> (12 + 9 * level)) & 511;
}

u64 *pt_slot(u64 *root, unsigned int levels, u64 va, unsigned int level)
{
    u64 *table = root;

    for (unsigned int l = levels - 1; l > level; l--) {
        u64 *e = &table[vpn(va, l)];

        if (!(*e & PTE_V))
            *e = PTE_LEAF((u64)page_alloc(), 0); /* a pointer: V alone */
        table = (u64 *)((*e >> PTE_PPN_SHIFT) << 12);
    }
    return &table[vpn(va, level)];
}

void pt_map(u64 *root, unsigned int levels, u64 va, u64 pa, unsigned int level, u64 flags)
{
    *pt_slot(root, levels, va, level) = PTE_LEAF(pa, flags);
}

u64 *pt_identity(unsigned int levels)
{
    u64 *root = pt_new();
    const u64 ram = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    const u64 user = PTE_R | PTE_X | PTE_U | PTE_A;
    const u64 dev = PTE_R | PTE_W | PTE_A | PTE_D;

    for (u64 a = (u64)__image_start; a < (u64)__image_end; a += PAGE_SIZE) {
        bool u = a >= (u64)__user_start && a < (u64)__user_end;
        pt_map(root, levels, a, a, 0, u ? user : ram);
    }
    pt_map(root, levels, CLINT_BASE, CLINT_BASE, 1, dev);
    pt_map(root, levels, UART_BASE, UART_BASE, 0, dev);
    return root;
}
