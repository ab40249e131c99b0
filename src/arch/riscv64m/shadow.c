/*
 * Shadow paging (see arch/shadow.h): the guest's own Sv39/Sv48 walk, as the
 * privileged spec 1.12 section 4.3.2 gives it step by step, and the shadow
 * tree the real hart walks instead. Pure: guest memory is reached only
 * through struct gpt_mem, table pages only through the shadow's callbacks.
 */
#include <arch/csr.h>
#include <arch/pgtable.h>
#include <arch/shadow.h>

/*
 * PTE bits 63:54 (4.4.1): N (63, Svnapot), PBMT (62:61, Svpbmt) and 60:54
 * reserved. Neither extension is offered to the guest, so all ten are
 * reserved and a PTE with any of them set page-faults (4.3.2 step 3).
 */
#define PTE_HIGH GENMASK(63, 54)
/* D, A and U are reserved in a non-leaf PTE (4.3.1, which Sv39 and Sv48 keep): step 3 again. */
#define PTE_NONLEAF_RSVD (PTE_D | PTE_A | PTE_U)
#define PTE_PA_LIMIT BIT(56) /* 44-bit PPN (4.4.1, 4.5.1) */

enum { WALK_RETRY = -1 }; /* not an exception cause: those are >= 0 */

struct walk {
    const struct gpt_mem *m;
    u64 va;
    enum gpt_access acc;
    enum vpriv priv;
    bool sum, mxr;
};

static int page_fault(enum gpt_access acc)
{
    return acc == GPT_FETCH ? EXC_INST_PAGE_FAULT
         : acc == GPT_LOAD  ? EXC_LOAD_PAGE_FAULT : EXC_STORE_PAGE_FAULT;
}

static int access_fault(enum gpt_access acc)
{
    return acc == GPT_FETCH ? EXC_INST_ACCESS
         : acc == GPT_LOAD  ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

static unsigned int level_shift(unsigned int level)
{
    return PAGE_SHIFT + 9 * level;
}

/* VPN[level] of @va: 9 bits per level above the 12-bit page offset (4.4.1, 4.5.1). */
static unsigned int vpn(u64 va, unsigned int level)
{
    return (va >> level_shift(level)) & (PT_ENTRIES - 1);
}

/* The physical address a PTE's PPN (bits 53:10) names. */
static u64 pte_pa(u64 pte)
{
    return ((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT) << PAGE_SHIFT;
}

/*
 * Sv39 addresses are 39 bits, Sv48 48: bits 63 down to the top one must all
 * equal it (4.4.1, 4.5.1), i.e. the address is its own sign extension.
 */
static bool va_canonical(u64 va, unsigned int levels)
{
    unsigned int unused = 64 - level_shift(levels);

    return (u64)((s64)(va << unused) >> unused) == va;
}

/*
 * Whether a leaf's R/W/X/U allow the access (4.3.2 step 5). U=1 pages are
 * U-mode's: S reaches them only for loads and stores and only with SUM,
 * never for fetches; U=0 pages are never U-mode's. MXR makes X count as R
 * for loads (4.1.1.2; 3.1.6.3).
 */
static bool leaf_allows(u64 pte, enum gpt_access acc, enum vpriv priv, bool sum, bool mxr)
{
    if (priv == VPRIV_U ? !(pte & PTE_U)
                        : (pte & PTE_U) && (acc == GPT_FETCH || !sum))
        return false;
    switch (acc) {
    case GPT_FETCH:
        return pte & PTE_X;
    case GPT_LOAD:
        return (pte & PTE_R) || (mxr && (pte & PTE_X));
    case GPT_STORE:
        return pte & PTE_W;
    }
    return false;
}

/*
 * Steps 5 to 8 for the leaf @pte read at @addr, level @level. The A/D
 * update is one compare-and-swap against the value the checks were made
 * on, so no store to the PTE can fall between them (step 7).
 */
static int walk_leaf(const struct walk *w, u64 addr, u64 pte, unsigned int level,
                     struct gpt_result *out)
{
    u64 size = BIT(level_shift(level));
    u64 want = pte | PTE_A | (w->acc == GPT_STORE ? PTE_D : 0);

    if (!leaf_allows(pte, w->acc, w->priv, w->sum, w->mxr))
        return page_fault(w->acc);
    if (pte_pa(pte) & (size - 1))
        return page_fault(w->acc); /* misaligned superpage (step 6) */
    if (want != pte) {
        u64 seen;
        if (w->m->cas64(w->m->ctx, addr, pte, want, &seen))
            return access_fault(w->acc);
        if (seen != pte)
            return WALK_RETRY;
        pte = want;
    }
    /* step 8: a superpage passes the VA's low VPNs through */
    out->gpa = pte_pa(pte) | (w->va & (size - 1));
    out->pte = pte;
    out->level = level;
    return 0;
}

/* One walk from the root (steps 1 to 4), then the leaf's steps. */
static int walk_once(const struct walk *w, u64 satp, unsigned int levels, struct gpt_result *out)
{
    u64 table = (satp & SATP_PPN) << PAGE_SHIFT;

    for (unsigned int level = levels; level-- > 0;) {
        u64 addr = table + vpn(w->va, level) * sizeof(u64), pte;
        if (w->m->read64(w->m->ctx, addr, &pte))
            return access_fault(w->acc);
        if (!(pte & PTE_V) || (pte & (PTE_R | PTE_W)) == PTE_W || (pte & PTE_HIGH))
            return page_fault(w->acc);
        if (pte & (PTE_R | PTE_X))
            return walk_leaf(w, addr, pte, level, out);
        if (pte & PTE_NONLEAF_RSVD)
            return page_fault(w->acc);
        table = pte_pa(pte);
    }
    return page_fault(w->acc); /* a pointer at level 0 (step 4, i < 0) */
}

/* The levels of a guest satp's MODE (4.1.11), 0 for any other. */
static unsigned int satp_levels(u64 satp)
{
    switch (satp >> SATP_MODE_SHIFT) {
    case SATP_MODE_SV39:
        return 3;
    case SATP_MODE_SV48:
        return 4;
    default:
        return 0;
    }
}

int gpt_walk(const struct gpt_mem *m, u64 satp, u64 va, enum gpt_access acc,
             enum vpriv priv, bool sum, bool mxr, struct gpt_result *out)
{
    struct walk w = { .m = m, .va = va, .acc = acc, .priv = priv, .sum = sum, .mxr = mxr };
    unsigned int levels = satp_levels(satp);
    int ret;

    if (!levels || !va_canonical(va, levels))
        return page_fault(acc);
    /*
     * Step 7 goes back to step 2 when the PTE changed under the A/D update;
     * a whole new walk is as valid (it is a walk made a moment later, as
     * QEMU does) and sees any change to the upper levels too. Each retry
     * means another hart stored to the PTE, so the system makes progress.
     */
    do
        ret = walk_once(&w, satp, levels, out);
    while (ret == WALK_RETRY);
    return ret;
}

u64 shadow_perms(const struct gpt_result *r, enum vpriv priv, bool sum, bool mxr)
{
    u64 perms = 0;

    /* gpt_walk sets A; without it the next access must reach gpt_walk to set it */
    if (!(r->pte & PTE_V) || !(r->pte & PTE_A))
        return 0;
    if (leaf_allows(r->pte, GPT_LOAD, priv, sum, mxr))
        perms |= PTE_R;
    if (leaf_allows(r->pte, GPT_STORE, priv, sum, mxr) && (r->pte & PTE_D))
        perms |= PTE_W;
    if (leaf_allows(r->pte, GPT_FETCH, priv, sum, mxr))
        perms |= PTE_X;
    return perms;
}

/* ---- the shadow tree: 4 KiB leaves only, so every entry above level 0 is a pointer ---- */

static u64 *pte_table(u64 pte)
{
    return (u64 *)(uintptr_t)pte_pa(pte);
}

static u64 pte_make(u64 pa, u64 bits)
{
    return ((pa >> PAGE_SHIFT) << PTE_PPN_SHIFT) | bits | PTE_V;
}

int shadow_init(struct shadow *s, unsigned int levels)
{
    if (levels != 3 && levels != 4)
        return -1;
    s->root = s->alloc_page(s->ctx);
    if (!s->root)
        return -1;
    s->levels = levels;
    return 0;
}

/* The level-0 entry for @va, the tables on the way allocated if @alloc; NULL if absent or no page. */
static u64 *shadow_slot(struct shadow *s, u64 va, bool alloc)
{
    u64 *table = s->root;

    for (unsigned int level = s->levels - 1; level > 0; level--) {
        u64 *slot = &table[vpn(va, level)];
        if (!*slot) {
            u64 *next = alloc ? s->alloc_page(s->ctx) : NULL;
            if (!next)
                return NULL;
            *slot = pte_make((u64)(uintptr_t)next, 0); /* a pointer: V only (4.3.1) */
        }
        table = pte_table(*slot);
    }
    return &table[vpn(va, 0)];
}

int shadow_map(struct shadow *s, u64 va, u64 hpa, u64 perms)
{
    u64 *slot;

    /* R=W=X=0 would be a pointer and W without R is reserved (the R/W/X encodings, 4.3.1) */
    if (!perms || (perms & ~(PTE_R | PTE_W | PTE_X)) || (perms & (PTE_R | PTE_W)) == PTE_W)
        return -1;
    if (!IS_ALIGNED(hpa, PAGE_SIZE) || hpa >= PTE_PA_LIMIT || !va_canonical(va, s->levels))
        return -1;
    slot = shadow_slot(s, va, true);
    if (!slot)
        return -1;
    /* U: the guest runs in the real U-mode; A, D: the hart never has to update them */
    *slot = pte_make(hpa, perms | PTE_U | PTE_A | PTE_D);
    return 0;
}

void shadow_unmap(struct shadow *s, u64 va)
{
    u64 *slot = va_canonical(va, s->levels) ? shadow_slot(s, va, false) : NULL;

    if (slot)
        *slot = 0;
}

/* Frees the tables the entries of @table (at @level > 0) point to, and zeroes them. */
static void free_below(struct shadow *s, u64 *table, unsigned int level)
{
    for (unsigned int i = 0; i < PT_ENTRIES; i++) {
        if (!table[i])
            continue;
        if (level > 1)
            free_below(s, pte_table(table[i]), level - 1);
        s->free_page(s->ctx, pte_table(table[i]));
        table[i] = 0;
    }
}

void shadow_unmap_block(struct shadow *s, u64 va, unsigned int level)
{
    u64 *table = s->root, *slot;

    if (!level)
        return shadow_unmap(s, va);
    if (level >= s->levels || !va_canonical(va, s->levels))
        return;
    /* down to the entry at @level that covers the block: a pointer, never a leaf here */
    for (unsigned int l = s->levels - 1; l > level; l--) {
        slot = &table[vpn(va, l)];
        if (!*slot)
            return;
        table = pte_table(*slot);
    }
    slot = &table[vpn(va, level)];
    if (!*slot)
        return;
    if (level > 1)
        free_below(s, pte_table(*slot), level - 1);
    s->free_page(s->ctx, pte_table(*slot));
    *slot = 0;
}

void shadow_clear(struct shadow *s)
{
    free_below(s, s->root, s->levels - 1);
}

void shadow_destroy(struct shadow *s)
{
    if (!s->root)
        return;
    shadow_clear(s);
    s->free_page(s->ctx, s->root);
    s->root = NULL;
}

u64 shadow_satp(const struct shadow *s)
{
    u64 mode = s->levels == 4 ? SATP_MODE_SV48 : SATP_MODE_SV39;

    return mode << SATP_MODE_SHIFT | ((u64)(uintptr_t)s->root >> PAGE_SHIFT);
}

u64 shadow_leaf(const struct shadow *s, u64 va)
{
    const u64 *table = s->root;
    u64 pte = 0;

    if (!va_canonical(va, s->levels))
        return 0;
    for (unsigned int level = s->levels; level-- > 0;) {
        pte = table[vpn(va, level)];
        if (!(pte & PTE_V))
            return 0;
        table = pte_table(pte);
    }
    return pte;
}

/* ---- the pool shadow tables come from ---- */

void shadow_pool_init(struct shadow_pool *p, void *mem, u32 pages)
{
    *p = (struct shadow_pool){ .base = (u64)(uintptr_t)mem, .pages = pages };
}

void *shadow_pool_alloc(struct shadow_pool *p)
{
    u64 *page = p->free;

    if (page)
        p->free = (void *)(uintptr_t)page[0];
    else if (p->next < p->pages)
        page = (u64 *)(uintptr_t)(p->base + ((u64)p->next++ << PAGE_SHIFT));
    else
        return NULL;
    __builtin_memset(page, 0, PAGE_SIZE);
    if (++p->used > p->peak)
        p->peak = p->used;
    return page;
}

void shadow_pool_free(struct shadow_pool *p, void *page)
{
    ((u64 *)page)[0] = (u64)(uintptr_t)p->free;
    p->free = page;
    p->used--;
}

/* ---- page-table frames ---- */

static u64 frame_of(const struct pt_track *t, u64 gpa)
{
    return (gpa - t->base) >> PAGE_SHIFT;
}

u64 pt_frame(const struct pt_track *t, u64 gpa)
{
    return frame_of(t, gpa);
}

bool pt_trackable(const struct pt_track *t, u64 gpa)
{
    return t->bits && gpa >= t->base && frame_of(t, gpa) < t->frames;
}

bool pt_tracked(const struct pt_track *t, u64 gpa)
{
    u64 f = frame_of(t, gpa);

    return pt_trackable(t, gpa) &&
           (__atomic_load_n(&t->bits[f / 64], __ATOMIC_SEQ_CST) & BIT(f % 64));
}

bool pt_walked(struct pt_track *t, u64 gpa)
{
    u64 f = frame_of(t, gpa);

    t->writes[f] = 0; /* a racy count is good enough for a heuristic */
    if (__atomic_load_n(&t->bits[f / 64], __ATOMIC_RELAXED) & BIT(f % 64))
        return false;
    return !(__atomic_fetch_or(&t->bits[f / 64], BIT(f % 64), __ATOMIC_SEQ_CST) & BIT(f % 64));
}

void pt_untrack(struct pt_track *t, u64 gpa)
{
    u64 f = frame_of(t, gpa);

    __atomic_fetch_and(&t->bits[f / 64], ~BIT(f % 64), __ATOMIC_SEQ_CST);
    t->writes[f] = 0;
}

bool pt_stored(struct pt_track *t, u64 gpa, unsigned int size)
{
    u64 f = frame_of(t, gpa);

    if (size >= 8 && ++t->writes[f] < PT_UNTRACK_WRITES)
        return false;
    pt_untrack(t, gpa);
    return true;
}

/* ---- a vCPU's cache of shadows ---- */

u64 shadow_key(u64 satp, enum vpriv view, bool sum, bool mxr)
{
    u64 bits = (view == VPRIV_U ? 1 : 2) | (sum ? 4 : 0) | (mxr ? 8 : 0);

    return (satp & ~SATP_ASID) | bits << SATP_ASID_SHIFT;
}

bool sc_fresh(const struct sc_entry *e, u64 wgen, bool trusted)
{
    return trusted && e->gen == wgen && !e->empty;
}

/* The entry with @key, else the least recently used one (unused ones have used 0). */
static unsigned int lookup_or_victim(const struct shadow_cache *c, u64 key)
{
    unsigned int victim = 0;

    for (unsigned int i = 0; i < SHADOW_CACHE; i++) {
        if (c->e[i].key == key)
            return i;
        if (c->e[i].used < c->e[victim].used)
            victim = i;
    }
    return victim;
}

bool sc_select(struct shadow_cache *c, u64 key, u64 wgen, bool trusted, unsigned int *index)
{
    unsigned int i = c->cur;
    struct sc_entry *e = &c->e[i];
    bool refresh = e->empty || e->fence;

    if (e->key != key) {
        i = lookup_or_victim(c, key);
        e = &c->e[i];
        if (e->key != key) {
            e->key = key;
            e->empty = true;
        }
        refresh = !sc_fresh(e, wgen, trusted) || e->fence;
    }
    e->used = ++c->clock;
    c->cur = *index = i;
    return refresh;
}

void sc_dep_add(struct sc_entry *e, u64 frame, unsigned int level, u64 va)
{
    u64 span_mask = ~0UL << level_shift(level + 1);

    if (e->ndeps > SC_DEPS)
        return;
    for (unsigned int i = 0; i < e->ndeps; i++)
        if (e->deps[i].frame == frame && e->deps[i].level == level &&
            !((e->deps[i].va ^ va) & span_mask))
            return;
    if (e->ndeps < SC_DEPS)
        e->deps[e->ndeps] = (struct sc_dep){ .va = va, .frame = (u32)frame, .level = level };
    e->ndeps++;
}

bool sc_refresh(struct sc_entry *e, const u64 *stamp, u64 ggen, u64 wgen, bool trusted)
{
    bool gone = false;

    if (e->empty || !trusted || ggen > e->gen || e->ndeps > SC_DEPS) {
        shadow_clear(&e->tree);
        e->ndeps = 0;
        e->span = 0;
        gone = true;
    } else if (e->gen != wgen) {
        for (unsigned int i = 0; i < e->ndeps; i++) {
            const struct sc_dep *d = &e->deps[i];
            if (__atomic_load_n(&stamp[d->frame], __ATOMIC_SEQ_CST) <= e->gen)
                continue;
            /* what a table of level l translates: the block of level l + 1 around the address */
            if (d->level + 1 >= e->tree.levels)
                shadow_clear(&e->tree);
            else
                shadow_unmap_block(&e->tree, d->va, d->level + 1);
            gone = true;
        }
    }
    e->gen = wgen;
    e->empty = e->fence = false;
    return gone;
}

void sc_fence_all(struct shadow_cache *c, u64 wgen, bool trusted)
{
    for (unsigned int i = 0; i < SHADOW_CACHE; i++)
        if (!sc_fresh(&c->e[i], wgen, trusted))
            c->e[i].fence = true;
}

bool sc_fence_one(const struct shadow_cache *c, unsigned int i, u64 wgen, bool trusted)
{
    return !c->e[i].empty && !sc_fresh(&c->e[i], wgen, trusted);
}

void sc_empty_all(struct shadow_cache *c)
{
    for (unsigned int i = 0; i < SHADOW_CACHE; i++)
        c->e[i].empty = true;
}
