/*
 * Keel's memory at boot: one buddy zone per RAM bank, seeded with the RAM
 * that nothing else claims (Keel's image, the DTB, boot modules, DT
 * reservations). The zone metadata is carved out of the bank itself.
 */
#include <keel/buddy.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/panic.h>
#include <keel/platform.h>
#include <keel/string.h>

static struct buddy_zone zones[PLAT_MAX_MEM];
static unsigned int zone_count;
static u64 total_pages;

/* Busy ranges inside RAM, sorted by base, to carve the free ranges from. */
struct busy {
    u64 base, end;
};

static unsigned int collect_busy(const struct mem_boot_info *info, struct busy *b, unsigned int max)
{
    unsigned int n = 0;

    b[n++] = (struct busy){ info->image_start, info->image_end };
    b[n++] = (struct busy){ info->dtb, info->dtb + info->dtb_size };
    for (unsigned int i = 0; i < platform.module_count && n < max; i++) {
        u64 base = pa_addr(platform.modules[i].range.base);
        b[n++] = (struct busy){ base, base + platform.modules[i].range.size };
    }
    for (unsigned int i = 0; i < platform.reserved_count && n < max; i++) {
        u64 base = pa_addr(platform.reserved[i].base);
        b[n++] = (struct busy){ base, base + platform.reserved[i].size };
    }
    for (unsigned int i = 1; i < n; i++) /* insertion sort: a handful of entries */
        for (unsigned int j = i; j > 0 && b[j].base < b[j - 1].base; j--) {
            struct busy t = b[j];
            b[j] = b[j - 1];
            b[j - 1] = t;
        }
    for (unsigned int i = 0; i < n; i++) {
        b[i].base = ALIGN_DOWN(b[i].base, PAGE_SIZE);
        b[i].end = ALIGN_UP(b[i].end, PAGE_SIZE);
    }
    return n;
}

/* Finds @size bytes of RAM in [base, end) not overlapping any busy range. */
static u64 find_gap(u64 base, u64 end, u64 size, const struct busy *b, unsigned int n)
{
    u64 cur = base;

    for (unsigned int i = 0; i <= n; i++) {
        u64 limit = (i < n) ? MIN(b[i].base, end) : end;
        if (limit > cur && limit - cur >= size)
            return cur;
        if (i < n && b[i].end > cur)
            cur = b[i].end;
    }
    return 0;
}

static void zone_setup(const struct mem_range *bank, struct busy *b, unsigned int *n,
                       unsigned int max)
{
    u64 base = ALIGN_UP(pa_addr(bank->base), PAGE_SIZE);
    u64 end = ALIGN_DOWN(pa_addr(bank->base) + bank->size, PAGE_SIZE);
    u64 meta_size = ALIGN_UP(buddy_meta_size((end - base) >> PAGE_SHIFT), PAGE_SIZE);
    u64 meta = find_gap(base, end, meta_size, b, *n);
    struct buddy_zone *z = &zones[zone_count];

    if (!meta) {
        WARN("memory bank %#lx-%#lx: no room for allocator metadata, not used", base, end);
        return;
    }
    buddy_zone_init(z, base, end - base, (u8 *)meta);
    zone_count++;
    /* The metadata is busy too, from now on. */
    CHECK(*n < max);
    b[*n] = (struct busy){ meta, meta + meta_size };
    (*n)++;
    for (unsigned int i = *n - 1; i > 0 && b[i].base < b[i - 1].base; i--) {
        struct busy t = b[i];
        b[i] = b[i - 1];
        b[i - 1] = t;
    }
    u64 cur = base;
    for (unsigned int i = 0; i <= *n; i++) {
        u64 limit = (i < *n) ? MIN(b[i].base, end) : end;
        if (limit > cur)
            buddy_zone_add_free(z, cur, limit - cur);
        if (i < *n && b[i].end > cur)
            cur = MIN(b[i].end, end);
        if (cur >= end)
            break;
    }
    total_pages += z->free_pages;
}

void mem_init(const struct mem_boot_info *info)
{
    struct busy busy[PLAT_MAX_MODULES + PLAT_MAX_RESERVED + PLAT_MAX_MEM + 2];
    unsigned int n = collect_busy(info, busy, ARRAY_SIZE(busy) - PLAT_MAX_MEM);

    for (unsigned int i = 0; i < platform.mem_count; i++)
        zone_setup(&platform.mem[i], busy, &n, ARRAY_SIZE(busy));
}

void *page_alloc(unsigned int order)
{
    for (unsigned int i = 0; i < zone_count; i++) {
        void *p = buddy_zone_alloc(&zones[i], order);
        if (p)
            return p;
    }
    return NULL;
}

void *page_alloc_zeroed(unsigned int order)
{
    void *p = page_alloc(order);

    if (p)
        memset(p, 0, PAGE_SIZE << order);
    return p;
}

void page_free(void *p)
{
    for (unsigned int i = 0; i < zone_count; i++) {
        if (buddy_zone_contains(&zones[i], (u64)(uintptr_t)p)) {
            if (buddy_zone_free(&zones[i], p))
                panic("page_free(%p): not an allocated block (double free?)", p);
            return;
        }
    }
    panic("page_free(%p): not in any memory zone", p);
}

u64 page_free_count(void)
{
    u64 n = 0;

    for (unsigned int i = 0; i < zone_count; i++)
        n += zones[i].free_pages;
    return n;
}

u64 page_total_count(void)
{
    return total_pages;
}

unsigned int order_for_size(u64 size)
{
    unsigned int order = 0;

    while ((PAGE_SIZE << order) < size)
        order++;
    return order;
}
