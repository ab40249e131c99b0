/*
 * Physical page allocator: a binary buddy system per contiguous zone of RAM
 * (one zone per memory bank). Blocks of 2^order pages are naturally aligned
 * in physical address space, so an order-9 block can back a 2 MiB stage-2
 * block mapping. Free lists are threaded through the free pages themselves;
 * one byte of metadata per page records what each page is, which is how a
 * double or wild free is caught.
 *
 * Keel's memory is identity-mapped, so page addresses are physical addresses.
 */
#ifndef KEEL_BUDDY_H
#define KEEL_BUDDY_H

#include <keel/spinlock.h>
#include <keel/types.h>

#define BUDDY_MAX_ORDER 18 /* 1 GiB */

struct buddy_node {
    struct buddy_node *next, *prev;
};

struct buddy_zone {
    u64 base_pfn;
    u64 npages;
    u8 *meta;                                /* npages bytes */
    struct buddy_node free[BUDDY_MAX_ORDER + 1]; /* list heads */
    u64 free_pages;
    spinlock_t lock;                         /* leaf lock: nothing is taken inside it */
};

/* Bytes of metadata a zone of @npages needs. */
static inline u64 buddy_meta_size(u64 npages) { return npages; }

/* The zone starts with every page reserved; add free ranges afterwards. */
void buddy_zone_init(struct buddy_zone *z, u64 base, u64 size, u8 *meta);
void buddy_zone_add_free(struct buddy_zone *z, u64 base, u64 size);
void *buddy_zone_alloc(struct buddy_zone *z, unsigned int order);
/* Returns 0, or -1 if @p is not the start of an allocated block (double free). */
int buddy_zone_free(struct buddy_zone *z, void *p);
bool buddy_zone_contains(const struct buddy_zone *z, u64 addr);
/* Largest order with a free block, or -1. */
int buddy_zone_largest_free(struct buddy_zone *z);

/* Global allocator over all zones (core/mem.c). */
void *page_alloc(unsigned int order);
void *page_alloc_zeroed(unsigned int order);
void page_free(void *p);
u64 page_free_count(void);
u64 page_total_count(void);
unsigned int order_for_size(u64 size);

#endif
