/*
 * Shadow paging for Keel in M-mode (no H extension). The guest's virtual
 * M/S/U modes all run in the real hart's U-mode, so the real satp never
 * holds the guest's tables: it holds a shadow built from them, mapping guest
 * virtual addresses straight to host physical ones, every leaf U=1 (the
 * real hart is in U-mode), A=D=1 (no hardware A/D update is ever needed).
 *
 * Two pure parts, both unit-tested on the host (tests/unit/shadow):
 *  - gpt_walk(): the guest's own walk, Sv39 and Sv48, exactly as the
 *    privileged spec 1.12 section 4.3.2 describes it (with 4.4/4.5 formats),
 *    checking permissions for the guest's privilege, SUM and MXR, and
 *    setting A (and D on a store) in the guest's PTE the way a hart with
 *    hardware A/D update would (Svade is not assumed);
 *  - shadow tables: an Sv39 or Sv48 tree of 4 KiB leaves filled one fault at
 *    a time;
 *  - which guest frames hold page tables (struct pt_track), and the policy
 *    of a vCPU's cache of shadows (struct shadow_cache): which tree serves
 *    a guest satp and view, and which trees an sfence.vma empties.
 *
 * The scheme is the classic one of shadow-paging hypervisors (KVM's shadow
 * MMU, Xen's shadow code): every guest frame a walk read a PTE from is
 * tracked, shadow leaves never map a tracked frame writable, so the guest's
 * stores to its own page tables trap and are emulated (exit.c), and each
 * one moves the VM's write generation. A shadow built since the last move
 * still equals what a fresh walk would give: sfence.vma and satp switches
 * keep it (privileged spec 1.12, 4.2.1: a hart may keep any translation
 * until sfence.vma, and may always be more coherent than that).
 */
#ifndef ARCH_SHADOW_H
#define ARCH_SHADOW_H

#include <keel/types.h>
#include <arch/mcsr.h> /* satp's fields */
#include <arch/vhart.h>

enum gpt_access { GPT_FETCH, GPT_LOAD, GPT_STORE };

/* How the walk reaches guest-physical memory (8-byte aligned PTEs). */
struct gpt_mem {
    void *ctx;
    /* 0, or -1 if @gpa is not guest RAM (the walk then reports an access fault) */
    int (*read64)(void *ctx, u64 gpa, u64 *val);
    /*
     * An atomic compare-and-swap, as the hart's A/D update is (4.3.2 step
     * 7): *@seen gets the value found at @gpa, replaced by @new_val iff it
     * was @old. 0, or -1 if @gpa is not guest RAM (an access fault).
     */
    int (*cas64)(void *ctx, u64 gpa, u64 old, u64 new_val, u64 *seen);
};

struct gpt_result {
    u64 gpa;            /* the translated guest-physical address */
    u64 pte;            /* the leaf PTE (A/D as now in memory) */
    unsigned int level; /* its level: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB */
};

/*
 * Translates @va for an @acc access at privilege @priv (U or S; M never
 * translates: the caller does not call this, and anything but U is checked
 * as S) with mstatus.SUM/MXR @sum, @mxr, under guest satp @satp (Sv39 or
 * Sv48; Bare is the caller's, any other MODE page-faults). 0, or the
 * exception cause the guest must take: EXC_{INST,LOAD,STORE}_PAGE_FAULT or
 * EXC_{INST,LOAD,STORE}_ACCESS (a PTE outside guest RAM). Non-leaf PTEs
 * with D, A or U set page-fault (reserved bits, 4.3.1 and 4.3.2 step 3, as
 * QEMU does); so do N and PBMT (no Svnapot, no Svpbmt). When the A/D update
 * finds the PTE changed, the walk starts again from the root.
 */
int gpt_walk(const struct gpt_mem *m, u64 satp, u64 va, enum gpt_access acc,
             enum vpriv priv, bool sum, bool mxr, struct gpt_result *out);

/*
 * A shadow tree. Table pages come from @alloc_page (zeroed, 4 KiB aligned,
 * their address is the host-physical one) and go back through @free_page;
 * the caller sets those and @ctx before shadow_init. Nothing here fences:
 * after map, unmap or clear the caller runs sfence.vma before the guest.
 */
struct shadow {
    u64 *root;
    unsigned int levels;        /* 3 (Sv39) or 4 (Sv48) */
    void *(*alloc_page)(void *ctx);
    void (*free_page)(void *ctx, void *page);
    void *ctx;
};

/* An empty tree of @levels (3 or 4) levels; 0 or -1 (no page, or another @levels). */
int shadow_init(struct shadow *s, unsigned int levels);
/*
 * Installs the 4 KiB leaf @va -> @hpa with @perms (PTE_R/W/X bits only; U,
 * A, D, V are added), replacing any leaf there. 0, or -1: no page, or
 * nothing changed because @perms is not a leaf encoding (none, or W
 * without R), @hpa is not a 4 KiB aligned 56-bit address, or @va is not
 * canonical for the tree. A table allocated before running out stays.
 */
int shadow_map(struct shadow *s, u64 va, u64 hpa, u64 perms);
/* Removes the leaf for @va if there is one (sfence.vma with an address); frees no table. */
void shadow_unmap(struct shadow *s, u64 va);
/*
 * Removes every leaf in the naturally aligned block of level @level
 * (0: the 4 KiB page, 1: 2 MiB, 2: 1 GiB, 3: 512 GiB) that holds @va,
 * freeing the tables below it: sfence.vma with an address when the guest
 * leaf there may have been a superpage, whose translations the shadow
 * holds as many 4 KiB leaves (4.2.1: the fence invalidates every cached
 * translation that holds the leaf PTE for that address). A non-canonical
 * @va, or a @level past the tree's, is ignored.
 */
void shadow_unmap_block(struct shadow *s, u64 va, unsigned int level);
/* Empties the tree, keeping the root (sfence.vma of everything). */
void shadow_clear(struct shadow *s);
/* Frees every table and the root (root NULL after). */
void shadow_destroy(struct shadow *s);
/* satp value (MODE and root PPN; ASID 0) naming this tree. */
u64 shadow_satp(const struct shadow *s);

/*
 * The leaf permissions the shadow may give a guest translation @r for the
 * access context (@priv, @sum, @mxr) it is filled for: R when the guest may
 * load, W only when it may store and D is already set (the first store to a
 * clean page faults again so gpt_walk sets D), X when it may fetch. Pure.
 */
u64 shadow_perms(const struct gpt_result *r, enum vpriv priv, bool sum, bool mxr);


/*
 * Where a vCPU's shadow tables come from: one naturally aligned block of
 * memory, so that Keel's PMP can let the real hart's walks (S-mode
 * accesses, 3.7.1) read it, and nothing else of Keel's, with one entry.
 * Pages are handed out in address order, then reused as they come back;
 * none is shared between vCPUs, so nothing here is atomic.
 */
struct shadow_pool {
    u64 base;           /* host-physical, 4 KiB aligned */
    u32 pages;          /* of 4 KiB */
    u32 next;           /* pages[next..] were never handed out */
    u32 used, peak;     /* handed out now, at most so far */
    void *free;         /* pages given back, linked through their first word */
};

/* A pool of the @pages 4 KiB pages at @mem. */
void shadow_pool_init(struct shadow_pool *p, void *mem, u32 pages);
/* A zeroed page of @p, or NULL if every one is handed out. */
void *shadow_pool_alloc(struct shadow_pool *p);
void shadow_pool_free(struct shadow_pool *p, void *page);
/* The leaf of @s for @va: its PTE, or 0 if there is none. */
u64 shadow_leaf(const struct shadow *s, u64 va);

/* ---- page-table frames (a VM's, shared by its vCPUs: bits set and cleared atomically) ---- */

/*
 * Stores trapped in a tracked frame, with no walk through it in between,
 * after which it is taken for a former page table (freed, reused for data)
 * and untracked; KVM's "write flooding" rule, with a little more slack for
 * the runs of PTE stores a guest makes when it maps or unmaps a range.
 */
#define PT_UNTRACK_WRITES 16

struct pt_track {
    u64 base, frames;   /* guest-physical frames base + [0, frames) can be tracked */
    u64 *bits;          /* a bit per frame: tracked */
    u8 *writes;         /* per frame: stores trapped since the last walk through it */
    u64 *stamp;         /* per frame: the write generation of its last write seen (sc_refresh) */
};

/* @gpa's frame number (when pt_trackable). */
u64 pt_frame(const struct pt_track *t, u64 gpa);

/* Whether @gpa's frame can be tracked at all (guest RAM the tracker covers). */
bool pt_trackable(const struct pt_track *t, u64 gpa);
bool pt_tracked(const struct pt_track *t, u64 gpa);
/* A walk reads a PTE in @gpa's frame: tracked now, its store count reset. True if it was not. */
bool pt_walked(struct pt_track *t, u64 gpa);
/*
 * A store of @size bytes to @gpa's tracked frame was trapped: true if the
 * frame is untracked now, because the store was narrower than a PTE (8
 * bytes, 4.4.1: xv6's byte-wise memset of a freed table, say) or the
 * PT_UNTRACK_WRITES-th since the last walk through the frame.
 */
bool pt_stored(struct pt_track *t, u64 gpa, unsigned int size);
/* Untracks @gpa's frame (a store Keel does not emulate). */
void pt_untrack(struct pt_track *t, u64 gpa);

/* ---- a vCPU's cache of shadows ---- */

#define SHADOW_CACHE 6

/*
 * What a shadow is built for: the guest satp's MODE and root PPN (not its
 * ASID: the tree is a function of the tables alone), the privilege whose
 * view it gives (S, or U), SUM and MXR. The view bits sit where satp has
 * its ASID, so a key is one word; 0 is no key (MODE Bare never has one).
 */
u64 shadow_key(u64 satp, enum vpriv view, bool sum, bool mxr);
/* The key of the physical map's shadow (guest M-mode, satp Bare): MODE Bare, no view bits. */
#define SHADOW_KEY_PHYS 1UL
/*
 * The physical map for fetches alone, execute-only leaves: the guest's
 * M-mode while mstatus.MPRV translates its loads and stores (3.1.6.3),
 * which all fault and are emulated (exit.c: mprv_access).
 */
#define SHADOW_KEY_PHYS_FETCH 2UL
/*
 * Either with the views it holds, when the guest's PMP gives M something
 * else than S and U: whether its fetches are M's, whether its loads and
 * stores are (exit.c: phys_key).
 */
#define SHADOW_KEY_PHYS_M_FETCH 4UL
#define SHADOW_KEY_PHYS_M_DATA 8UL
#define SHADOW_KEY_PHYS_VIEWS (SHADOW_KEY_PHYS_M_FETCH | SHADOW_KEY_PHYS_M_DATA)

/* A guest table a shadow's leaves were read through: its frame, level, and the span it serves. */
struct sc_dep {
    u64 va;             /* any address of the span */
    u32 frame;          /* its frame number in struct pt_track */
    u32 level;
};
#define SC_DEPS (4096 / sizeof(struct sc_dep)) /* a page of them per entry */

struct sc_entry {
    struct shadow tree;
    u64 key;            /* 0: unused */
    u64 gen;            /* the VM's write generation it reflects the tables at */
    u64 used;           /* when it last served: the LRU's clock */
    bool empty;         /* to be emptied before it serves (a new key, writable leaves gone stale) */
    bool fence;         /* an sfence.vma found it not fresh: refreshed before it serves */
    u8 span;            /* the largest guest leaf level its leaves came from since emptied */
    unsigned int ndeps; /* SC_DEPS + 1: more than it can hold, so any write empties it */
    struct sc_dep *deps;
};

struct shadow_cache {
    struct sc_entry e[SHADOW_CACHE];
    unsigned int cur;   /* the entry that served at the last entry */
    u64 clock;
};

/*
 * Fresh: it reflects the tables as they are, no write to any guest page
 * table since @gen (and @trusted: exit.c's vm_trusted, no store of another
 * vCPU's can have gone unseen).
 */
bool sc_fresh(const struct sc_entry *e, u64 wgen, bool trusted);
/*
 * The entry that serves @key now; true if the caller must sc_refresh it
 * first. The one that served last keeps serving while the key stays (a hart
 * keeps its translations until sfence.vma) unless a fence or a flush
 * marked it. At a switch, an entry built for @key is reused, refreshed if
 * not fresh; with none, the least recently used one is given to @key and
 * marked empty.
 */
bool sc_select(struct shadow_cache *c, u64 key, u64 wgen, bool trusted, unsigned int *index);
/* Records that @e's leaf at @va was read through @frame's table of @level. */
void sc_dep_add(struct sc_entry *e, u64 frame, unsigned int level, u64 va);
/*
 * Brings @e up to the tables at @wgen: emptied if marked so, if not
 * @trusted, if a write the frames cannot tell (@ggen, the last one's
 * generation) came after it, or its dependencies overflowed; else only the
 * spans of the tables written since (@stamp: each frame's last write's
 * generation) are zapped. True if anything went: the caller fences its ASID.
 */
bool sc_refresh(struct sc_entry *e, const u64 *stamp, u64 ggen, u64 wgen, bool trusted);
/* sfence.vma of every address: the entries not fresh are refreshed before they serve. */
void sc_fence_all(struct shadow_cache *c, u64 wgen, bool trusted);
/* Whether entry @i must drop its leaf at an address sfence.vma names: not fresh, not to be emptied. */
bool sc_fence_one(const struct shadow_cache *c, unsigned int i, u64 wgen, bool trusted);
/* Every entry to be emptied: the VM tracked a frame that they may map writable. */
void sc_empty_all(struct shadow_cache *c);

#endif
