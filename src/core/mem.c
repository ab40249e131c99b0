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

/* Adds [base, end) to the sorted busy list, widened to whole pages. */
static void busy_add(struct busy *b, unsigned int *n, unsigned int max, u64 base, u64 end)
{
    unsigned int i;

    CHECK(*n < max);
    for (i = *n; i > 0 && b[i - 1].base > base; i--)
        b[i] = b[i - 1];
    b[i] = (struct busy){ ALIGN_DOWN(base, PAGE_SIZE), ALIGN_UP(end, PAGE_SIZE) };
    (*n)++;
}

static unsigned int collect_busy(const struct mem_boot_info *info, struct busy *b, unsigned int max)
{
    unsigned int n = 0;

    busy_add(b, &n, max, info->image_start, info->image_end);
    busy_add(b, &n, max, info->dtb, info->dtb + info->dtb_size);
    for (unsigned int i = 0; i < platform.module_count; i++) {
        u64 base = pa_addr(platform.modules[i].range.base);
        busy_add(b, &n, max, base, base + platform.modules[i].range.size);
    }
    for (unsigned int i = 0; i < platform.reserved_count; i++) {
        u64 base = pa_addr(platform.reserved[i].base);
        busy_add(b, &n, max, base, base + platform.reserved[i].size);
    }
    return n;
}

/* Walks the gaps of [it->cur, end) between the sorted busy ranges. */
struct gap_iter {
    u64 cur;
    unsigned int i;
};

static bool next_gap(struct gap_iter *it, u64 end, const struct busy *b, unsigned int n,
                     u64 *gap_base, u64 *gap_end)
{
    while (it->i <= n && it->cur < end) {
        unsigned int i = it->i++;
        u64 start = it->cur, limit = (i < n) ? MIN(b[i].base, end) : end;

        if (i < n && b[i].end > it->cur)
            it->cur = MIN(b[i].end, end);
        if (limit > start) {
            *gap_base = start;
            *gap_end = limit;
            return true;
        }
    }
    return false;
}

static void zone_setup(const struct mem_range *bank, struct busy *b, unsigned int *n,
                       unsigned int max)
{
    u64 base = ALIGN_UP(pa_addr(bank->base), PAGE_SIZE);
    u64 end = ALIGN_DOWN(pa_addr(bank->base) + bank->size, PAGE_SIZE);
    u64 meta_size = ALIGN_UP(buddy_meta_size((end - base) >> PAGE_SHIFT), PAGE_SIZE);
    struct buddy_zone *z = &zones[zone_count];
    struct gap_iter it = { base, 0 };
    u64 gb, ge, meta = 0;

    while (!meta && next_gap(&it, end, b, *n, &gb, &ge))
        if (ge - gb >= meta_size)
            meta = gb; /* the metadata lives in the bank itself */
    if (!meta) {
        WARN("memory bank %#lx-%#lx: no room for allocator metadata, not used", base, end);
        return;
    }
    buddy_zone_init(z, base, end - base, (u8 *)meta);
    zone_count++;
    busy_add(b, n, max, meta, meta + meta_size);
    it = (struct gap_iter){ base, 0 };
    while (next_gap(&it, end, b, *n, &gb, &ge))
        buddy_zone_add_free(z, gb, ge - gb);
    total_pages += z->free_pages;
}

void mem_init(const struct mem_boot_info *info)
{
    struct busy busy[PLAT_MAX_MODULES + PLAT_MAX_RESERVED + PLAT_MAX_MEM + 2];
    unsigned int n = collect_busy(info, busy, ARRAY_SIZE(busy));

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
