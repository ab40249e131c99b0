/*
 * Host unit tests for src/core/buddy.c. The zone's pages are real host
 * memory (the free lists are threaded through them), aligned to 4 MiB so
 * blocks up to order 10 are naturally aligned in the host address space just
 * as they are in physical memory on the target.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <keel/buddy.h>

#define REGION_ORDER 10                         /* 1024 pages, 4 MiB */
#define REGION_PAGES (1UL << REGION_ORDER)
#define REGION_ALIGN (PAGE_SIZE << REGION_ORDER)

struct fixture {
    u8 *mem;    /* REGION_PAGES pages, REGION_ALIGN aligned */
    u8 *meta;
    u64 zone_pages;
    struct buddy_zone z;
};

static u64 addr(const void *p)
{
    return (u64)(uintptr_t)p;
}

/* A zone over pages [first, first + npages) of the region, nothing free yet. */
static void zone_init(struct fixture *f, u64 first, u64 npages)
{
    free(f->meta);
    f->meta = malloc(buddy_meta_size(npages));
    assert_non_null(f->meta);
    f->zone_pages = npages;
    buddy_zone_init(&f->z, addr(f->mem) + first * PAGE_SIZE, npages * PAGE_SIZE, f->meta);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f || posix_memalign((void **)&f->mem, REGION_ALIGN, REGION_PAGES * PAGE_SIZE))
        return -1;
    memset(f->mem, 0xa5, REGION_PAGES * PAGE_SIZE);
    zone_init(f, 0, REGION_PAGES);
    *state = f;
    return 0;
}

/* The whole region as one zone, all free. */
static int setup_free(void **state)
{
    if (setup(state))
        return -1;
    struct fixture *f = *state;
    buddy_zone_add_free(&f->z, addr(f->mem), REGION_PAGES * PAGE_SIZE);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    free(f->meta);
    free(f->mem);
    free(f);
    return 0;
}

static void *page(struct fixture *f, u64 i)
{
    return f->mem + i * PAGE_SIZE;
}

/* Walks every free list: the pages they hold must add up to free_pages, every
 * block must be naturally aligned, inside the zone and not overlap another. */
static void check_free_lists(struct fixture *f)
{
    struct buddy_zone *z = &f->z;
    u8 *seen = calloc(z->npages, 1);
    u64 total = 0;

    assert_non_null(seen);
    for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++) {
        u64 n = 0;
        for (struct buddy_node *b = z->free[o].next; b != &z->free[o]; b = b->next) {
            u64 pfn = addr(b) >> PAGE_SHIFT;
            assert_true(b->next->prev == b);
            assert_true(IS_ALIGNED(addr(b), PAGE_SIZE << o));
            assert_true(pfn >= z->base_pfn);
            assert_true(pfn + (1UL << o) <= z->base_pfn + z->npages);
            for (u64 i = 0; i < (1UL << o); i++) {
                assert_int_equal(seen[pfn - z->base_pfn + i], 0);
                seen[pfn - z->base_pfn + i] = 1;
            }
            total += 1UL << o;
            assert_true(++n <= z->npages); /* no cycles */
        }
    }
    assert_int_equal(total, z->free_pages);
    free(seen);
}

static void test_init_all_reserved(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(f->z.free_pages, 0);
    assert_int_equal(f->z.npages, REGION_PAGES);
    assert_int_equal(buddy_zone_largest_free(&f->z), -1);
    assert_null(buddy_zone_alloc(&f->z, 0));
    /* every page is reserved: none can be freed */
    assert_int_equal(buddy_zone_free(&f->z, page(f, 0)), -1);
    assert_int_equal(buddy_zone_free(&f->z, page(f, 5)), -1);
    assert_int_equal(f->z.free_pages, 0);
    check_free_lists(f);
}

static void test_contains(void **state)
{
    struct fixture *f = *state;
    u64 base = addr(f->mem);

    assert_true(buddy_zone_contains(&f->z, base));
    assert_true(buddy_zone_contains(&f->z, base + 123));
    assert_true(buddy_zone_contains(&f->z, base + REGION_PAGES * PAGE_SIZE - 1));
    assert_false(buddy_zone_contains(&f->z, base + REGION_PAGES * PAGE_SIZE));
    assert_false(buddy_zone_contains(&f->z, base - 1));
    assert_false(buddy_zone_contains(&f->z, 0));
}

static void test_add_free_whole(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(f->z.free_pages, REGION_PAGES);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    check_free_lists(f);
    /* one block: the whole region */
    assert_ptr_equal(buddy_zone_alloc(&f->z, REGION_ORDER), f->mem);
    assert_int_equal(f->z.free_pages, 0);
    assert_null(buddy_zone_alloc(&f->z, 0));
    assert_int_equal(buddy_zone_free(&f->z, f->mem), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
}

static void test_split_merge(void **state)
{
    struct fixture *f = *state;
    u8 *a = buddy_zone_alloc(&f->z, 0);
    u8 *b = buddy_zone_alloc(&f->z, 0);

    assert_non_null(a);
    assert_non_null(b);
    /* the two halves of one order-1 block */
    assert_int_equal(addr(a) ^ addr(b), PAGE_SIZE);
    assert_int_equal(f->z.free_pages, REGION_PAGES - 2);
    /* splitting left one free block of each order 1..9 */
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER - 1);
    assert_null(buddy_zone_alloc(&f->z, REGION_ORDER));
    check_free_lists(f);
    memset(a, 1, PAGE_SIZE);
    memset(b, 2, PAGE_SIZE);

    assert_int_equal(buddy_zone_free(&f->z, a), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER - 1);
    assert_int_equal(buddy_zone_free(&f->z, b), 0);
    /* merged all the way back up */
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    check_free_lists(f);
    assert_ptr_equal(buddy_zone_alloc(&f->z, REGION_ORDER), f->mem);
    assert_int_equal(buddy_zone_free(&f->z, f->mem), 0);
}

static void test_split_merge_reverse(void **state)
{
    struct fixture *f = *state;
    u8 *a = buddy_zone_alloc(&f->z, 0);
    u8 *b = buddy_zone_alloc(&f->z, 0);

    assert_int_equal(addr(a) ^ addr(b), PAGE_SIZE);
    /* free the higher one last this time */
    u8 *lo = addr(a) < addr(b) ? a : b, *hi = addr(a) < addr(b) ? b : a;
    assert_int_equal(buddy_zone_free(&f->z, hi), 0);
    assert_int_equal(buddy_zone_free(&f->z, lo), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    assert_ptr_equal(buddy_zone_alloc(&f->z, REGION_ORDER), f->mem);
    assert_int_equal(buddy_zone_free(&f->z, f->mem), 0);
    check_free_lists(f);
}

static void test_exhaustion(void **state)
{
    struct fixture *f = *state;
    void **pages = calloc(REGION_PAGES + 1, sizeof(*pages));
    u64 n = 0;

    while ((pages[n] = buddy_zone_alloc(&f->z, 0)) != NULL) {
        assert_true(buddy_zone_contains(&f->z, addr(pages[n])));
        assert_true(IS_ALIGNED(addr(pages[n]), PAGE_SIZE));
        memset(pages[n], (int)n, PAGE_SIZE); /* the page is ours to scribble on */
        assert_true(++n <= REGION_PAGES);
    }
    assert_int_equal(n, REGION_PAGES);
    assert_int_equal(f->z.free_pages, 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), -1);
    assert_null(buddy_zone_alloc(&f->z, 0));
    assert_null(buddy_zone_alloc(&f->z, 3));
    /* all distinct */
    u8 *seen = calloc(REGION_PAGES, 1);
    for (u64 i = 0; i < n; i++) {
        u64 idx = (addr(pages[i]) - addr(f->mem)) >> PAGE_SHIFT;
        assert_int_equal(seen[idx], 0);
        seen[idx] = 1;
    }
    free(seen);
    for (u64 i = 0; i < n; i++)
        assert_int_equal(buddy_zone_free(&f->z, pages[i]), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    check_free_lists(f);
    free(pages);
}

static void test_exhaustion_larger_order(void **state)
{
    struct fixture *f = *state;
    void *blocks[REGION_PAGES / 8 + 1];
    u64 n = 0;

    while ((blocks[n] = buddy_zone_alloc(&f->z, 3)) != NULL) {
        assert_true(IS_ALIGNED(addr(blocks[n]), PAGE_SIZE << 3));
        assert_true(++n <= REGION_PAGES / 8);
    }
    assert_int_equal(n, REGION_PAGES / 8);
    assert_int_equal(f->z.free_pages, 0);
    for (u64 i = 0; i < n; i += 2)
        assert_int_equal(buddy_zone_free(&f->z, blocks[i]), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES / 2);
    assert_null(buddy_zone_alloc(&f->z, 4));
    for (u64 i = 1; i < n; i += 2)
        assert_int_equal(buddy_zone_free(&f->z, blocks[i]), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
}

static void test_fragmentation(void **state)
{
    struct fixture *f = *state;

    /* take every page, then give back every other one */
    for (u64 i = 0; i < REGION_PAGES; i++)
        assert_non_null(buddy_zone_alloc(&f->z, 0));
    assert_int_equal(f->z.free_pages, 0);
    for (u64 i = 0; i < REGION_PAGES; i += 2)
        assert_int_equal(buddy_zone_free(&f->z, page(f, i)), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES / 2);
    assert_int_equal(buddy_zone_largest_free(&f->z), 0);
    check_free_lists(f);
    /* half the memory is free but no two free pages are buddies */
    assert_null(buddy_zone_alloc(&f->z, 1));
    void *p = buddy_zone_alloc(&f->z, 0);
    assert_non_null(p);
    assert_int_equal(((addr(p) - addr(f->mem)) >> PAGE_SHIFT) % 2, 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES / 2 - 1);
    assert_int_equal(buddy_zone_free(&f->z, p), 0);
    /* returning the odd pages makes it whole again */
    for (u64 i = 1; i < REGION_PAGES; i += 2)
        assert_int_equal(buddy_zone_free(&f->z, page(f, i)), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    check_free_lists(f);
}

static void test_natural_alignment(void **state)
{
    struct fixture *f = *state;
    void *blocks[REGION_ORDER + 1];

    /* orders in an awkward sequence, so later ones come out of split remainders */
    static const unsigned int orders[] = { 0, 3, 1, 5, 2, 7, 4, 6, 0, 8 };
    void *got[ARRAY_SIZE(orders)];
    for (unsigned int i = 0; i < ARRAY_SIZE(orders); i++) {
        got[i] = buddy_zone_alloc(&f->z, orders[i]);
        assert_non_null(got[i]);
        assert_true(IS_ALIGNED(addr(got[i]), PAGE_SIZE << orders[i]));
        memset(got[i], 0, PAGE_SIZE << orders[i]);
    }
    check_free_lists(f);
    for (unsigned int i = 0; i < ARRAY_SIZE(orders); i++)
        assert_int_equal(buddy_zone_free(&f->z, got[i]), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);

    /* one block of every order at once: 2^0 + ... + 2^9 = 1023 pages */
    for (int o = REGION_ORDER - 1; o >= 0; o--) {
        blocks[o] = buddy_zone_alloc(&f->z, (unsigned int)o);
        assert_non_null(blocks[o]);
        assert_true(IS_ALIGNED(addr(blocks[o]), PAGE_SIZE << o));
    }
    assert_int_equal(f->z.free_pages, 1);
    for (int o = 0; o < REGION_ORDER; o++)
        assert_int_equal(buddy_zone_free(&f->z, blocks[o]), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
}

/* A zone that starts 3 pages into the region: blocks stay aligned to the
 * address space, not to the zone. */
static void test_unaligned_zone(void **state)
{
    struct fixture *f = *state;
    const u64 first = 3, npages = 64;

    zone_init(f, first, npages);
    buddy_zone_add_free(&f->z, addr(page(f, first)), npages * PAGE_SIZE);
    assert_int_equal(f->z.free_pages, npages);
    /* [3,67): 3, 4-7, 8-15, 16-31, 32-63, 64-65, 66 -> largest order 5 */
    assert_int_equal(buddy_zone_largest_free(&f->z), 5);
    check_free_lists(f);
    u64 got = 0;
    for (unsigned int o = 6; o-- > 0;) {
        void *p;
        while ((p = buddy_zone_alloc(&f->z, o)) != NULL) {
            assert_true(IS_ALIGNED(addr(p), PAGE_SIZE << o));
            assert_true(addr(p) >= addr(page(f, first)));
            assert_true(addr(p) + (PAGE_SIZE << o) <= addr(page(f, first + npages)));
            got += 1UL << o;
        }
    }
    assert_int_equal(got, npages);
    assert_int_equal(f->z.free_pages, 0);
    /* pages outside the zone are refused */
    assert_int_equal(buddy_zone_free(&f->z, page(f, first - 1)), -1);
    assert_int_equal(buddy_zone_free(&f->z, page(f, first + npages)), -1);
}

static void test_add_free_unaligned(void **state)
{
    struct fixture *f = *state;
    u64 base = addr(f->mem);

    /* only whole pages inside the range count: [base+100, base+3 pages+50) -> pages 1, 2 */
    buddy_zone_add_free(&f->z, base + 100, 3 * PAGE_SIZE - 50);
    assert_int_equal(f->z.free_pages, 2);
    check_free_lists(f);
    /* less than a page, or a page's tail and the next page's head: nothing */
    buddy_zone_add_free(&f->z, base + 10 * PAGE_SIZE + 1, PAGE_SIZE - 2);
    buddy_zone_add_free(&f->z, base + 20 * PAGE_SIZE + 8, PAGE_SIZE);
    buddy_zone_add_free(&f->z, base + 30 * PAGE_SIZE, 0);
    assert_int_equal(f->z.free_pages, 2);
    void *a = buddy_zone_alloc(&f->z, 0), *b = buddy_zone_alloc(&f->z, 0);
    assert_true((a == page(f, 1) && b == page(f, 2)) || (a == page(f, 2) && b == page(f, 1)));
    assert_null(buddy_zone_alloc(&f->z, 0));
    /* pages 1 and 2 are not buddies: no order-1 block after freeing both */
    assert_int_equal(buddy_zone_free(&f->z, a), 0);
    assert_int_equal(buddy_zone_free(&f->z, b), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), 0);
    check_free_lists(f);
}

static void test_add_free_ragged_range(void **state)
{
    struct fixture *f = *state;

    /* everything but the first and last page */
    buddy_zone_add_free(&f->z, addr(page(f, 1)), (REGION_PAGES - 2) * PAGE_SIZE);
    assert_int_equal(f->z.free_pages, REGION_PAGES - 2);
    /* [1,1023): the biggest aligned blocks are 256-511 and 512-767 */
    assert_int_equal(buddy_zone_largest_free(&f->z), 8);
    assert_null(buddy_zone_alloc(&f->z, 9));
    check_free_lists(f);
    u64 n = 0;
    void *p;
    while ((p = buddy_zone_alloc(&f->z, 0)) != NULL) {
        assert_ptr_not_equal(p, page(f, 0));
        assert_ptr_not_equal(p, page(f, REGION_PAGES - 1));
        n++;
    }
    assert_int_equal(n, REGION_PAGES - 2);
    /* the reserved edges are not ours to free */
    assert_int_equal(buddy_zone_free(&f->z, page(f, 0)), -1);
    assert_int_equal(buddy_zone_free(&f->z, page(f, REGION_PAGES - 1)), -1);
}

static void test_add_free_pieces_merge(void **state)
{
    struct fixture *f = *state;
    u64 half = REGION_PAGES / 2 * PAGE_SIZE;

    /* two adjacent ranges added separately coalesce */
    buddy_zone_add_free(&f->z, addr(f->mem) + half, half);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER - 1);
    buddy_zone_add_free(&f->z, addr(f->mem), half);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    check_free_lists(f);
    /* and so do single pages */
    zone_init(f, 0, REGION_PAGES);
    for (u64 i = 0; i < 16; i++)
        buddy_zone_add_free(&f->z, addr(page(f, 15 - i)), PAGE_SIZE);
    assert_int_equal(f->z.free_pages, 16);
    assert_int_equal(buddy_zone_largest_free(&f->z), 4);
    assert_ptr_equal(buddy_zone_alloc(&f->z, 4), f->mem);
}

static void test_double_free(void **state)
{
    struct fixture *f = *state;
    void *p = buddy_zone_alloc(&f->z, 0);
    void *q = buddy_zone_alloc(&f->z, 2);

    assert_int_equal(buddy_zone_free(&f->z, p), 0);
    assert_int_equal(buddy_zone_free(&f->z, p), -1);
    assert_int_equal(buddy_zone_free(&f->z, q), 0);
    assert_int_equal(buddy_zone_free(&f->z, q), -1);
    assert_int_equal(buddy_zone_free(&f->z, p), -1);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    check_free_lists(f);
}

/* A block freed as the upper half of a pair is merged into its lower buddy.
 * Freeing it again must still be caught, however the merges went. */
static void test_double_free_after_merge(void **state)
{
    struct fixture *f = *state;
    u8 *a = buddy_zone_alloc(&f->z, 0);
    u8 *b = buddy_zone_alloc(&f->z, 0);
    u8 *lo = addr(a) < addr(b) ? a : b, *hi = addr(a) < addr(b) ? b : a;

    assert_int_equal(buddy_zone_free(&f->z, lo), 0);
    assert_int_equal(buddy_zone_free(&f->z, hi), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    assert_int_equal(buddy_zone_free(&f->z, hi), -1);
    assert_int_equal(buddy_zone_free(&f->z, lo), -1);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    check_free_lists(f);

    /* the same with a larger block merging up from the top half */
    void *blk[4];
    for (int i = 0; i < 4; i++)
        blk[i] = buddy_zone_alloc(&f->z, 3);
    for (int i = 3; i >= 0; i--)
        assert_int_equal(buddy_zone_free(&f->z, blk[i]), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(buddy_zone_free(&f->z, blk[i]), -1);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    check_free_lists(f);
}

static void test_free_invalid(void **state)
{
    struct fixture *f = *state;
    u8 *p = buddy_zone_alloc(&f->z, 2);
    u64 free_before = f->z.free_pages;

    assert_non_null(p);
    /* not the head of the block */
    assert_int_equal(buddy_zone_free(&f->z, p + PAGE_SIZE), -1);
    assert_int_equal(buddy_zone_free(&f->z, p + 3 * PAGE_SIZE), -1);
    /* not page aligned */
    assert_int_equal(buddy_zone_free(&f->z, p + 8), -1);
    /* outside the zone */
    assert_int_equal(buddy_zone_free(&f->z, f->mem + REGION_PAGES * PAGE_SIZE), -1);
    assert_int_equal(buddy_zone_free(&f->z, f->mem - PAGE_SIZE), -1);
    /* free, never allocated */
    assert_int_equal(buddy_zone_free(&f->z, f->mem + (REGION_PAGES - 1) * PAGE_SIZE), -1);
    assert_int_equal(f->z.free_pages, free_before);
    check_free_lists(f);
    assert_int_equal(buddy_zone_free(&f->z, p), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
}

/* A page that was the upper half of a merged pair is now inside a larger
 * allocated block: it is not a block head and must not be freeable. */
static void test_free_interior_after_merge(void **state)
{
    struct fixture *f = *state;
    u8 *a = buddy_zone_alloc(&f->z, 0);
    u8 *b = buddy_zone_alloc(&f->z, 0);
    u8 *lo = addr(a) < addr(b) ? a : b, *hi = addr(a) < addr(b) ? b : a;

    assert_int_equal(buddy_zone_free(&f->z, lo), 0);
    assert_int_equal(buddy_zone_free(&f->z, hi), 0);
    u8 *all = buddy_zone_alloc(&f->z, REGION_ORDER);
    assert_ptr_equal(all, f->mem);
    assert_int_equal(buddy_zone_free(&f->z, hi), -1);
    assert_int_equal(f->z.free_pages, 0);
    assert_null(buddy_zone_alloc(&f->z, 0));
    assert_int_equal(buddy_zone_free(&f->z, all), 0);
    check_free_lists(f);
}

static void test_free_reserved(void **state)
{
    struct fixture *f = *state;

    /* only the second half is free; the first stays reserved */
    buddy_zone_add_free(&f->z, addr(page(f, REGION_PAGES / 2)), REGION_PAGES / 2 * PAGE_SIZE);
    assert_int_equal(buddy_zone_free(&f->z, page(f, 0)), -1);
    assert_int_equal(buddy_zone_free(&f->z, page(f, REGION_PAGES / 2 - 1)), -1);
    assert_int_equal(f->z.free_pages, REGION_PAGES / 2);
    /* a reserved neighbour never merges with a freed block */
    void *p = buddy_zone_alloc(&f->z, REGION_ORDER - 1);
    assert_ptr_equal(p, page(f, REGION_PAGES / 2));
    assert_int_equal(buddy_zone_free(&f->z, p), 0);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER - 1);
    check_free_lists(f);
}

static void test_bad_orders(void **state)
{
    struct fixture *f = *state;

    assert_null(buddy_zone_alloc(&f->z, BUDDY_MAX_ORDER + 1));
    assert_null(buddy_zone_alloc(&f->z, ~0U));
    assert_null(buddy_zone_alloc(&f->z, BUDDY_MAX_ORDER)); /* bigger than the zone */
    assert_null(buddy_zone_alloc(&f->z, REGION_ORDER + 1));
    assert_int_equal(f->z.free_pages, REGION_PAGES);
}

static void test_free_pages_accounting(void **state)
{
    struct fixture *f = *state;
    void *p0 = buddy_zone_alloc(&f->z, 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES - 1);
    void *p5 = buddy_zone_alloc(&f->z, 5);
    assert_int_equal(f->z.free_pages, REGION_PAGES - 1 - 32);
    void *p9 = buddy_zone_alloc(&f->z, 9);
    assert_int_equal(f->z.free_pages, REGION_PAGES - 1 - 32 - 512);
    assert_int_equal(buddy_zone_free(&f->z, p5), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES - 1 - 512);
    assert_int_equal(buddy_zone_free(&f->z, p5), -1);
    assert_int_equal(f->z.free_pages, REGION_PAGES - 1 - 512);
    assert_int_equal(buddy_zone_free(&f->z, p0), 0);
    assert_int_equal(buddy_zone_free(&f->z, p9), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    check_free_lists(f);
}

/* Random allocations, frees and wild frees: no block overlaps another, blocks
 * are aligned, wild frees are refused and the books balance after every step. */
static void test_random_stress(void **state)
{
    struct fixture *f = *state;
    enum { SLOTS = 64 };
    struct { u8 *p; unsigned int order; u8 tag; } slot[SLOTS] = { 0 };
    u64 rng = 0x9e3779b97f4a7c15ULL, used = 0;

    for (int step = 0; step < 20000; step++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        unsigned int i = rng % SLOTS;
        if (slot[i].p) {
            /* the block still holds what we wrote: nobody else was handed it */
            for (u64 off = 0; off < (PAGE_SIZE << slot[i].order); off += 512)
                assert_int_equal(slot[i].p[off], slot[i].tag);
            assert_int_equal(buddy_zone_free(&f->z, slot[i].p), 0);
            used -= 1UL << slot[i].order;
            slot[i].p = NULL;
        } else {
            unsigned int order = (rng >> 20) % 7;
            u8 *p = buddy_zone_alloc(&f->z, order);
            if (p) {
                assert_true(IS_ALIGNED(addr(p), PAGE_SIZE << order));
                assert_true(buddy_zone_contains(&f->z, addr(p)));
                slot[i].p = p;
                slot[i].order = order;
                slot[i].tag = (u8)(step | 1);
                memset(p, slot[i].tag, PAGE_SIZE << order);
                used += 1UL << order;
            }
        }
        assert_int_equal(f->z.free_pages, REGION_PAGES - used);
        /* a wild free of any page that is not a live block's head is refused */
        u8 *wild = page(f, (rng >> 32) % REGION_PAGES);
        bool head = false;
        for (int s = 0; s < SLOTS; s++)
            head |= slot[s].p == wild;
        if (!head)
            assert_int_equal(buddy_zone_free(&f->z, wild), -1);
        if (step % 1000 == 0)
            check_free_lists(f);
    }
    for (int i = 0; i < SLOTS; i++)
        if (slot[i].p)
            assert_int_equal(buddy_zone_free(&f->z, slot[i].p), 0);
    assert_int_equal(f->z.free_pages, REGION_PAGES);
    assert_int_equal(buddy_zone_largest_free(&f->z), REGION_ORDER);
    check_free_lists(f);
}

#define T_EMPTY(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_FREE(fn) cmocka_unit_test_setup_teardown(fn, setup_free, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_EMPTY(test_init_all_reserved),
        T_EMPTY(test_contains),
        T_FREE(test_add_free_whole),
        T_FREE(test_split_merge),
        T_FREE(test_split_merge_reverse),
        T_FREE(test_exhaustion),
        T_FREE(test_exhaustion_larger_order),
        T_FREE(test_fragmentation),
        T_FREE(test_natural_alignment),
        T_EMPTY(test_unaligned_zone),
        T_EMPTY(test_add_free_unaligned),
        T_EMPTY(test_add_free_ragged_range),
        T_EMPTY(test_add_free_pieces_merge),
        T_FREE(test_double_free),
        T_FREE(test_double_free_after_merge),
        T_FREE(test_free_invalid),
        T_FREE(test_free_interior_after_merge),
        T_EMPTY(test_free_reserved),
        T_FREE(test_bad_orders),
        T_FREE(test_free_pages_accounting),
        T_FREE(test_random_stress),
    };

    return cmocka_run_group_tests_name("buddy", tests, NULL, NULL);
}
