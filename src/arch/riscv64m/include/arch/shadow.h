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
 *    a time, emptied on sfence.vma or a satp change.
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

#endif
