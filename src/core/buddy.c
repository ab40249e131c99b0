#include <keel/buddy.h>
#include <keel/string.h>

/* Per-page metadata byte. Interior pages of a block are 0. */
#define META_HEAD_FREE 0x40
#define META_HEAD_USED 0x80
#define META_RESERVED 0xff
#define META_ORDER(m) ((m) & 0x3f)

static inline u64 pfn_of(const void *p)
{
    return (u64)(uintptr_t)p >> PAGE_SHIFT;
}

static inline struct buddy_node *node_of(u64 pfn)
{
    return (struct buddy_node *)(uintptr_t)(pfn << PAGE_SHIFT);
}

static inline u8 *meta_of(struct buddy_zone *z, u64 pfn)
{
    return &z->meta[pfn - z->base_pfn];
}

static void list_push(struct buddy_node *head, struct buddy_node *n)
{
    n->next = head->next;
    n->prev = head;
    head->next->prev = n;
    head->next = n;
}

static void list_remove(struct buddy_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

static bool in_zone(const struct buddy_zone *z, u64 pfn, unsigned int order)
{
    return pfn >= z->base_pfn && pfn + (1UL << order) <= z->base_pfn + z->npages;
}

void buddy_zone_init(struct buddy_zone *z, u64 base, u64 size, u8 *meta)
{
    z->base_pfn = base >> PAGE_SHIFT;
    z->npages = size >> PAGE_SHIFT;
    z->meta = meta;
    z->free_pages = 0;
    z->lock = (spinlock_t)SPINLOCK_INIT;
    memset(meta, META_RESERVED, z->npages); /* a byte a page: memset is 16 times faster */
    for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++)
        z->free[o].next = z->free[o].prev = &z->free[o];
}

static void free_block(struct buddy_zone *z, u64 pfn, unsigned int order)
{
    /* If @pfn merges into a lower buddy it becomes an interior page: clear its
     * head marker now, or a later free of it would be taken as valid. */
    *meta_of(z, pfn) = 0;
    while (order < BUDDY_MAX_ORDER) {
        u64 buddy = pfn ^ (1UL << order);
        if (!in_zone(z, buddy, order) || *meta_of(z, buddy) != (META_HEAD_FREE | order))
            break;
        list_remove(node_of(buddy));
        *meta_of(z, buddy) = 0;
        pfn &= ~(1UL << order);
        order++;
    }
    *meta_of(z, pfn) = META_HEAD_FREE | order;
    list_push(&z->free[order], node_of(pfn));
}

void buddy_zone_add_free(struct buddy_zone *z, u64 base, u64 size)
{
    u64 pfn = ALIGN_UP(base, PAGE_SIZE) >> PAGE_SHIFT;
    u64 end = ALIGN_DOWN(base + size, PAGE_SIZE) >> PAGE_SHIFT;

    spin_lock(&z->lock);
    while (pfn < end) {
        unsigned int order = 0;
        /* the largest naturally aligned block that fits */
        while (order < BUDDY_MAX_ORDER && IS_ALIGNED(pfn, 2UL << order) &&
               pfn + (2UL << order) <= end)
            order++;
        memset(meta_of(z, pfn), 0, 1UL << order);
        z->free_pages += 1UL << order;
        free_block(z, pfn, order);
        pfn += 1UL << order;
    }
    spin_unlock(&z->lock);
}

void *buddy_zone_alloc(struct buddy_zone *z, unsigned int order)
{
    unsigned int o = order;

    if (order > BUDDY_MAX_ORDER)
        return NULL;
    spin_lock(&z->lock);
    while (o <= BUDDY_MAX_ORDER && z->free[o].next == &z->free[o])
        o++;
    if (o > BUDDY_MAX_ORDER) {
        spin_unlock(&z->lock);
        return NULL;
    }
    struct buddy_node *n = z->free[o].next;
    u64 pfn = pfn_of(n);
    list_remove(n);
    while (o > order) {
        o--;
        u64 half = pfn + (1UL << o);
        *meta_of(z, half) = META_HEAD_FREE | o;
        list_push(&z->free[o], node_of(half));
    }
    *meta_of(z, pfn) = META_HEAD_USED | order;
    z->free_pages -= 1UL << order;
    spin_unlock(&z->lock);
    return n;
}

int buddy_zone_free(struct buddy_zone *z, void *p)
{
    u64 pfn = pfn_of(p);
    u8 m;

    if (!IS_ALIGNED((uintptr_t)p, PAGE_SIZE) || !in_zone(z, pfn, 0))
        return -1;
    spin_lock(&z->lock);
    m = *meta_of(z, pfn);
    if (!(m & META_HEAD_USED) || m == META_RESERVED) {
        spin_unlock(&z->lock);
        return -1;
    }
    z->free_pages += 1UL << META_ORDER(m);
    free_block(z, pfn, META_ORDER(m));
    spin_unlock(&z->lock);
    return 0;
}

bool buddy_zone_contains(const struct buddy_zone *z, u64 addr)
{
    return in_zone(z, addr >> PAGE_SHIFT, 0);
}

int buddy_zone_largest_free(struct buddy_zone *z)
{
    for (int o = BUDDY_MAX_ORDER; o >= 0; o--)
        if (z->free[o].next != &z->free[o])
            return o;
    return -1;
}
