/*
 * Small-object allocator on top of the page allocator: power-of-two size
 * classes from 32 bytes to 2 KiB, each with a free list refilled a page at a
 * time; anything larger gets whole pages. A 16-byte header remembers the
 * class so obj_free() needs only the pointer.
 */
#include <keel/buddy.h>
#include <keel/mem.h>
#include <keel/panic.h>
#include <keel/spinlock.h>
#include <keel/string.h>

#define OBJ_MIN_SHIFT 5
#define OBJ_CLASSES 7 /* 32 .. 2048 */
#define OBJ_HDR 16
#define OBJ_MAGIC 0x6b65656cU

struct obj_hdr {
    u32 magic;
    u32 cls; /* size class, or OBJ_CLASSES + order for page allocations */
    u64 pad;
};

struct obj_free_node {
    struct obj_free_node *next;
};

static struct obj_free_node *free_lists[OBJ_CLASSES];
static spinlock_t obj_lock = SPINLOCK_INIT; /* leaf; taken before the buddy zone lock */

static int class_for(size_t total)
{
    for (int c = 0; c < OBJ_CLASSES; c++)
        if (total <= (1UL << (OBJ_MIN_SHIFT + c)))
            return c;
    return -1;
}

static bool refill(int c)
{
    u8 *page = page_alloc(0);
    size_t sz = 1UL << (OBJ_MIN_SHIFT + c);

    if (!page)
        return false;
    for (size_t off = 0; off + sz <= PAGE_SIZE; off += sz) {
        struct obj_free_node *n = (struct obj_free_node *)(page + off);
        n->next = free_lists[c];
        free_lists[c] = n;
    }
    return true;
}

void *obj_alloc(size_t size)
{
    size_t total = size + OBJ_HDR;
    int c = class_for(total);
    struct obj_hdr *h;

    if (c < 0) {
        unsigned int order = order_for_size(total);
        h = page_alloc(order);
        if (!h)
            return NULL;
        h->cls = OBJ_CLASSES + order;
    } else {
        spin_lock(&obj_lock);
        if (!free_lists[c] && !refill(c)) {
            spin_unlock(&obj_lock);
            return NULL;
        }
        h = (struct obj_hdr *)free_lists[c];
        free_lists[c] = free_lists[c]->next;
        spin_unlock(&obj_lock);
        h->cls = c;
    }
    h->magic = OBJ_MAGIC;
    memset(h + 1, 0, size);
    return h + 1;
}

void obj_free(void *p)
{
    struct obj_hdr *h = (struct obj_hdr *)p - 1;

    if (!p)
        return;
    CHECK(h->magic == OBJ_MAGIC);
    h->magic = 0;
    if (h->cls >= OBJ_CLASSES) {
        page_free(h);
        return;
    }
    spin_lock(&obj_lock);
    ((struct obj_free_node *)h)->next = free_lists[h->cls];
    free_lists[h->cls] = (struct obj_free_node *)h;
    spin_unlock(&obj_lock);
}
