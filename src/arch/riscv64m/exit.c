/*
 * Guest exits under Keel in M-mode (trap-and-emulate). The guest runs in
 * the real hart's U-mode and every trap comes here (trap.S): privileged
 * instructions and CSR accesses (illegal instruction: vhart.c emulates
 * them), page faults (a shadow leaf to fill, a fault of the guest's own to
 * deliver, or an emulated device), the guest's ecall, and Keel's own
 * interrupts. Before each entry the virtual hart's interrupts are delivered
 * and the real satp, mepc and mstatus set for where the guest resumes.
 */
#include <arch/csr.h>
#include <arch/insn.h>
#include <arch/mmode.h>
#include <arch/pgtable.h>
#include <arch/physmap.h>
#include <keel/arch.h>
#include <keel/buddy.h>
#include <keel/console_mux.h>
#include <keel/cpu.h>
#include <keel/irqchip.h>
#include <keel/log.h>
#include <keel/panic.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

struct vcpu *rvm_guest_trap(struct vcpu *v);
struct vcpu *rvm_guest_insn_trap(struct vcpu *v);
void rvm_prepare_entry(struct vcpu *v);
void rvm_shadows_init(struct vcpu *v);
int rvm_shadows_pool(struct vcpu *v);
void rvm_shadows_reset(struct vcpu *v);
void rvm_vcpu_quiet(struct vcpu *v);
void rvm_satp_write(u64 satp);
extern u64 rvm_clint;

/* The real satp's ASIDs: one per shadow of the cache (privileged spec 4.1.11). */
#define ASID_OF_SHADOW(i) (1UL + (i))

static void tlb_flush_asid(u64 asid)
{
    asm volatile("sfence.vma x0, %0" :: "r"(asid) : "memory");
}

static void tlb_flush_page(u64 va, u64 asid)
{
    asm volatile("sfence.vma %0, %1" :: "r"(va), "r"(asid) : "memory");
}

/* ---- the VM's page-table frames and generations, shared by its vCPUs ---- */

/*
 * wgen, the VM's write generation, moves whenever its page tables may have
 * changed: a trapped store to a tracked frame, a frame untracked (both
 * stamp the frame with the new generation), or a vCPU that may have stored
 * through writable leaves to a frame tracked since (that sets ggen: any
 * table may have changed). A shadow at the current wgen is fresh:
 * sfence.vma keeps it; an older one loses the spans of the tables stamped
 * since, or everything after a ggen (sc_refresh).
 *
 * A frame that becomes tracked may be mapped writable by shadows built
 * before. The vCPU that tracks it drops its own such leaves where they were
 * noted (wleaf_note), or empties all its shadows; every other vCPU empties
 * all its shadows before it runs the guest again (no reverse map of other
 * vCPUs' leaves: tracking new frames is rare once a guest's tables are
 * known). track_begun and track_done count the walks that tracked; seen[]
 * has, per vCPU, the track_done it has caught up with (flushes_sync), or
 * SEEN_QUIET while it does not run the guest. A vCPU trusts its fresh
 * shadows only while no tracking is under way and every other vCPU has
 * caught up (vm_trusted): else a store through a writable leaf another
 * vCPU still holds may have gone unseen.
 */
struct vmmu {
    struct pt_track track;
    u64 *wleaf;         /* per frame, where writable leaves to it may be (wleaf_note) */
    u64 wgen, ggen, track_begun, track_done;
    spinlock_t lock;    /* stamps and wgen move together: one that sees wgen sees the stamp */
    u64 seen[VM_MAX_VCPUS];
};
#define SEEN_QUIET 0UL
#define SEEN_DONE(d) ((d) + 1)
#define SEQ __ATOMIC_SEQ_CST

static struct vmmu vmmus[VM_MAX];

static struct vmmu *vmmu_of(const struct vm *vm)
{
    return &vmmus[vm->id];
}

/* A write to @gpa's frame (frame tracking's), or to any table (-1). */
static void wgen_bump(struct vmmu *m, u64 gpa)
{
    u64 g;

    spin_lock(&m->lock);
    g = m->wgen + 1;
    if (gpa == ~0UL)
        __atomic_store_n(&m->ggen, g, SEQ);
    else
        __atomic_store_n(&m->track.stamp[pt_frame(&m->track, gpa)], g, SEQ);
    __atomic_store_n(&m->wgen, g, SEQ);
    spin_unlock(&m->lock);
}

/* Whether @v may keep its fresh shadows: see struct vmmu. Read before wgen. */
static bool vm_trusted(const struct vcpu *v, struct vmmu *m)
{
    u64 done = __atomic_load_n(&m->track_done, SEQ), seen;

    if (__atomic_load_n(&m->track_begun, SEQ) != done)
        return false;
    for (unsigned int i = 0; i < v->vm->cfg.nr_vcpus; i++) {
        seen = __atomic_load_n(&m->seen[i], SEQ);
        if (i != v->id && seen != SEEN_QUIET && seen != SEEN_DONE(done))
            return false;
    }
    return true;
}

/*
 * Before @v runs the guest: its shadows all to be emptied if another vCPU
 * tracked a frame since it last caught up (and wgen moved: its writable
 * leaves may have reached it meanwhile), then that published; again if a
 * tracking ended meanwhile, so that no vCPU sees it caught up too early.
 */
static void flushes_sync(struct vcpu *v)
{
    struct vmmu *m = vmmu_of(v->vm);
    u64 done;

    do {
        done = __atomic_load_n(&m->track_done, SEQ);
        if (done != v->arch.fgen_flushed) {
            if (done != v->arch.fgen_own)
                wgen_bump(m, ~0UL);
            sc_empty_all(&v->arch.sc);
            v->arch.fgen_flushed = done;
        }
        __atomic_store_n(&m->seen[v->id], SEEN_DONE(done), SEQ);
    } while (__atomic_load_n(&m->track_done, SEQ) != done);
}

/* @v does not run the guest until its next entry (wfi, leaving its hart). */
void rvm_vcpu_quiet(struct vcpu *v)
{
    __atomic_store_n(&vmmu_of(v->vm)->seen[v->id], SEEN_QUIET, SEQ);
}

/* ---- the guest's memory, as its page-table walk reads it ---- */

struct walk_ctx {
    struct vm *vm;
    struct vmmu *m;
    const struct vhart *h; /* its PMP checks the walk's reads and writes, S-mode ones (3.7.1) */
    bool began;     /* this walk tracked a frame: track_begun moved */
    bool untracked; /* it read a PTE outside what can be tracked */
    unsigned int reads; /* of the walk from the root now under way (4.3.2 step 7 restarts) */
    u64 frames[4];  /* the frames they were read from, root first */
    unsigned int nnew;
    u64 newly[8];   /* the frames it tracked (a retried walk may track more) */
};

/* The walk reads a PTE in @gpa's frame: tracked from now on (track_begun first). */
static void track_walked(struct walk_ctx *w, u64 gpa)
{
    struct pt_track *t = &w->m->track;

    if (!pt_trackable(t, gpa)) {
        w->untracked = true;
        return;
    }
    if (!w->began && !pt_tracked(t, gpa)) {
        __atomic_add_fetch(&w->m->track_begun, 1, SEQ);
        w->began = true;
    }
    if (!pt_walked(t, gpa))
        return;
    if (!w->began) { /* untracked between the two looks */
        __atomic_add_fetch(&w->m->track_begun, 1, SEQ);
        w->began = true;
    }
    if (w->nnew < ARRAY_SIZE(w->newly))
        w->newly[w->nnew] = gpa;
    w->nnew++;
}

/*
 * Where writable leaves to a frame may be, for the vCPU that tracks it to
 * drop its own without emptying every shadow: two addresses per frame
 * (xv6's kernel reaches a new table through its direct map, the guest's
 * M-mode and satp Bare at the same address; a freed user page adds one),
 * WLEAF_MANY past that. Cleared when the frame is tracked: none is made
 * while it stays so. Entries are the address | 1 (0: none).
 */
#define WLEAF_MANY 2UL

static void wleaf_note(struct vmmu *m, u64 gpa, u64 va)
{
    u64 *slot = &m->wleaf[2 * pt_frame(&m->track, gpa)], x = va | 1, none;

    for (unsigned int i = 0; i < 2; i++) {
        none = 0;
        if (__atomic_compare_exchange_n(&slot[i], &none, x, false, SEQ, SEQ) || none == x)
            return;
    }
    __atomic_store_n(&slot[0], WLEAF_MANY, SEQ);
}

/* @v's own writable leaves to @gpa's frame gone; false if they cannot be told apart. */
static bool wleaf_drop(struct vcpu *v, struct vmmu *m, u64 gpa)
{
    u64 *slot = &m->wleaf[2 * pt_frame(&m->track, gpa)], x;
    bool told = true;

    for (unsigned int i = 0; i < 2; i++) {
        x = __atomic_exchange_n(&slot[i], 0, SEQ);
        if (x == WLEAF_MANY)
            told = false;
        else if (x)
            for (unsigned int j = 0; j < SHADOW_CACHE; j++) {
                shadow_unmap(&v->arch.sc.e[j].tree, x & ~1UL);
                tlb_flush_page(x & ~1UL, ASID_OF_SHADOW(j));
            }
    }
    return told;
}

/* The walk is over: others must drop their writable leaves to what it tracked. */
static void track_end(struct vcpu *v, struct walk_ctx *w)
{
    bool told = w->nnew <= ARRAY_SIZE(w->newly);
    u64 before;

    for (unsigned int i = 0; i < w->nnew && i < ARRAY_SIZE(w->newly); i++)
        told &= wleaf_drop(v, w->m, w->newly[i]);
    before = __atomic_fetch_add(&w->m->track_done, 1, SEQ);
    /*
     * Only its own tracking since it last caught up: it need not move wgen
     * (no guest code ran meanwhile), and if its writable leaves to the
     * frames were all told apart and dropped, it is caught up already.
     */
    v->arch.fgen_own = before == v->arch.fgen_flushed ? before + 1 : ~0UL;
    if (told && v->arch.fgen_own == before + 1)
        v->arch.fgen_flushed = before + 1;
    for (unsigned int i = 0; i < v->vm->cfg.nr_vcpus; i++)
        if (i != v->id && __atomic_load_n(&w->m->seen[i], SEQ) != SEEN_QUIET)
            vcpu_kick(v->vm->vcpus[i]);
}

/*
 * 4.3.2 steps 2 and 7: a PTE the walk may not read (or update) at S, by the
 * guest's PMP, is an access fault of the original access's kind, as one
 * outside its RAM is.
 */
static int gmem_read64(void *ctx, u64 gpa, u64 *val)
{
    struct walk_ctx *w = ctx;
    u64 *p = (gpa & 7) ? NULL : vm_ipa_to_hva(w->vm, ipa_init(gpa), 8);

    if (!p || !(vhart_pmp_perms(w->h, gpa, 8, VPRIV_S) & PMP_R))
        return -1;
    track_walked(w, gpa);
    if (w->reads < 4)
        w->frames[w->reads++] = gpa;
    *val = __atomic_load_n(p, SEQ);
    return 0;
}

static int gmem_cas64(void *ctx, u64 gpa, u64 old, u64 new_val, u64 *seen)
{
    struct walk_ctx *w = ctx;
    u64 *p = (gpa & 7) ? NULL : vm_ipa_to_hva(w->vm, ipa_init(gpa), 8);

    if (!p || !(vhart_pmp_perms(w->h, gpa, 8, VPRIV_S) & PMP_W))
        return -1;
    *seen = old;
    if (!__atomic_compare_exchange_n(p, seen, new_val, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        w->reads = 0; /* gpt_walk starts again from the root */
    return 0;
}

/* ---- shadows ---- */

static struct sc_entry *shadow_cur(struct vcpu *v)
{
    return &v->arch.sc.e[v->arch.sc.cur];
}

/* Entry @i brought up to the tables (sc_refresh), an Sv39 or Sv48 tree of @levels. */
static void shadow_refresh(struct vcpu *v, unsigned int i, unsigned int levels, u64 wgen,
                           bool trusted)
{
    struct vmmu *m = vmmu_of(v->vm);
    struct sc_entry *e = &v->arch.sc.e[i];

    if (e->empty && e->tree.levels != levels) {
        shadow_destroy(&e->tree);
        CHECK(shadow_init(&e->tree, levels) == 0);
    }
    if (sc_refresh(e, m->track.stamp, __atomic_load_n(&m->ggen, SEQ), wgen, trusted)) {
        v->arch.flushes++;
        tlb_flush_asid(ASID_OF_SHADOW(i));
    }
}

static void *shadow_alloc(void *ctx)
{
    return shadow_pool_alloc(&((struct vcpu *)ctx)->arch.pool);
}

static void shadow_free(void *ctx, void *page)
{
    shadow_pool_free(&((struct vcpu *)ctx)->arch.pool, page);
}

/*
 * The pool a vCPU's shadow tables come from: 1/64 of the VM's RAM, at
 * least 1 MiB, a power of two (one NAPOT entry of Keel's PMP). A shadow
 * that maps all of RAM in 4 KiB leaves takes 1/512 of it in tables: room
 * for the 6 of the cache, and more. When it runs out, every shadow is
 * emptied (shadows_reclaim).
 */
static unsigned int pool_order(u64 mem_size)
{
    return MAX(order_for_size(mem_size / 64), 8U);
}

/*
 * The vCPU's pool and shadow trees, once (a rebuilt VM keeps them): 0, or
 * -1 with no memory for the pool.
 */
int rvm_shadows_pool(struct vcpu *v)
{
    unsigned int order = pool_order(v->vm->cfg.mem_size);
    void *mem;

    if (v->arch.pool.pages)
        return 0;
    mem = page_alloc(order);
    if (!mem)
        return -1;
    shadow_pool_init(&v->arch.pool, mem, 1U << order);
    for (unsigned int i = 0; i < SHADOW_CACHE; i++) {
        struct shadow *s = &v->arch.sc.e[i].tree;
        s->alloc_page = shadow_alloc;
        s->free_page = shadow_free;
        s->ctx = v;
        CHECK(shadow_init(s, 3) == 0);
    }
    return 0;
}

/*
 * The vCPU's shadow cache but for its trees (rvm_shadows_pool, at the VM's
 * first build), and its VM's frame tracker with the first vCPU.
 */
void rvm_shadows_init(struct vcpu *v)
{
    struct pt_track *t = &vmmu_of(v->vm)->track;
    u64 frames = v->vm->cfg.mem_size >> PAGE_SHIFT;

    for (unsigned int i = 0; i < SHADOW_CACHE; i++) {
        v->arch.sc.e[i].deps = page_alloc_zeroed(0);
        CHECK(v->arch.sc.e[i].deps);
    }
    if (t->bits)
        return;
    t->base = v->vm->cfg.ram_ipa;
    t->frames = frames;
    t->writes = page_alloc_zeroed(order_for_size(frames));
    t->stamp = page_alloc_zeroed(order_for_size(frames * 8));
    vmmu_of(v->vm)->wleaf = page_alloc_zeroed(order_for_size(frames * 16));
    CHECK(vmmu_of(v->vm)->wleaf);
    t->bits = page_alloc_zeroed(order_for_size((frames + 63) / 64 * 8));
    CHECK(t->bits && t->writes && t->stamp);
}

/* A vCPU out of reset: no shadow built. Frames stay tracked: tracking too much is safe. */
void rvm_shadows_reset(struct vcpu *v)
{
    struct shadow_cache *c = &v->arch.sc;

    for (unsigned int i = 0; i < SHADOW_CACHE; i++) {
        shadow_clear(&c->e[i].tree);
        c->e[i].key = c->e[i].used = 0;
        c->e[i].empty = true;
    }
    c->cur = 0;
    v->arch.fgen_flushed = __atomic_load_n(&vmmu_of(v->vm)->track_done, SEQ);
    v->arch.fgen_own = ~0UL;
    rvm_vcpu_quiet(v);
}

static bool guest_translates(const struct vhart *h, enum vpriv p)
{
    return p != VPRIV_M && (h->csr.satp & SATP_MODE_MASK);
}

/*
 * 3.1.6.3: the guest's M-mode with MPRV and MPP S or U under a satp that
 * translates: its loads and stores are translated and checked as MPP's,
 * its fetches are not. Two translations at once: it runs on the physical
 * map's execute-only shadow, and each load and store, faulting there, is
 * done in software (mprv_access). Firmware sets MPRV around single
 * accesses (OpenSBI reading a trapped instruction, emulating a misaligned
 * access): a trap per access costs little.
 */
static bool mprv_translates(const struct vhart *h)
{
    return unlikely(h->csr.mstatus & MSTATUS_MPRV) && h->priv == VPRIV_M &&
           guest_translates(h, vhart_data_priv(h));
}

/*
 * The physical map's shadow for where the guest runs untranslated (or its
 * execute-only twin while MPRV translates): its leaves hold the guest PMP's
 * view for the privilege that fetches (X) and for the one loads and stores
 * are made with (R, W; MPRV), and M's view differs from S's and U's unless
 * the PMP gives all of them the same everywhere (vhart_pmp_one_view: xv6's
 * one entry). Each pair of views then has its own shadow.
 */
static u64 phys_key(const struct vhart *h)
{
    u64 key = mprv_translates(h) ? SHADOW_KEY_PHYS_FETCH : SHADOW_KEY_PHYS;

    if (vhart_pmp_one_view(h))
        return key;
    if (h->priv == VPRIV_M)
        key |= SHADOW_KEY_PHYS_M_FETCH;
    if (vhart_data_priv(h) == VPRIV_M)
        key |= SHADOW_KEY_PHYS_M_DATA;
    return key;
}

/*
 * The real satp for where the guest runs now: the shadow for its satp,
 * privilege, SUM (S only) and MXR, or the one of the physical map while it
 * is untranslated (sc_select: the same one while those stay; at a switch,
 * one built before, refreshed unless still fresh; else one emptied), for
 * fetches alone while MPRV translates its M-mode's data.
 */
static u64 satp_pick(struct vcpu *v)
{
    struct vhart *h = &v->arch.h;
    struct vmmu *m = vmmu_of(v->vm);
    bool phys = !guest_translates(h, h->priv), trusted;
    unsigned int levels = !phys && (h->csr.satp & SATP_MODE_MASK) == SATP_SV48 ? 4 : 3, i;
    u64 key, wgen;

    flushes_sync(v);
    key = phys ? phys_key(h)
               : shadow_key(h->csr.satp, h->priv,
                            h->priv == VPRIV_S && (h->csr.mstatus & MSTATUS_SUM),
                            h->csr.mstatus & MSTATUS_MXR);
    trusted = vm_trusted(v, m);
    wgen = __atomic_load_n(&m->wgen, SEQ);
    if (sc_select(&v->arch.sc, key, wgen, trusted, &i))
        shadow_refresh(v, i, levels, wgen, trusted);
    return shadow_satp(&v->arch.sc.e[i].tree) | ASID_OF_SHADOW(i) << SATP_ASID_SHIFT;
}

/* QEMU flushes its whole TLB at every satp write: only changes are written. */
static u64 satp_now[PLAT_MAX_CPUS];

void rvm_satp_write(u64 satp)
{
    unsigned int cpu = cpu_this()->id;

    if (satp_now[cpu] != satp) {
        satp_now[cpu] = satp;
        csr_write(CSR_SATP, satp);
    }
}

/* ---- delivering to the guest ---- */

static void deliver(struct vcpu *v, u64 cause, u64 tval)
{
    v->exits[EXIT_TRAP]++;
    vhart_trap(&v->arch.h, cause, tval);
}

static u64 access_cause(enum gpt_access acc)
{
    return acc == GPT_FETCH ? EXC_INST_ACCESS : acc == GPT_LOAD ? EXC_LOAD_ACCESS
                                                                : EXC_STORE_ACCESS;
}

static void __attribute__((cold)) access_fault(struct vcpu *v, enum gpt_access acc, u64 va,
                                               u64 gpa, const char *why)
{
    u64 cause = access_cause(acc);

    VM_WARN(v->vm, "vm %s vcpu %u: %s at guest-physical %#lx (address %#lx, pc %#lx): %s; "
            "access fault delivered", v->vm->cfg.name, v->id,
            acc == GPT_FETCH ? "fetch" : acc == GPT_LOAD ? "read" : "write", gpa, va,
            v->arch.h.pc, why);
    deliver(v, cause, va);
}

/*
 * The host address the real hart reaches guest address @va at now: through
 * the shadow in satp, which holds every page the guest just ran from (its
 * view of the physical map too, while the guest does not translate: then,
 * for a page not in it, the VM's RAM). Read in software: a load with
 * mstatus.MPRV would do it in hardware, but QEMU flushes its whole TLB on
 * each MPRV change. 0: absent.
 */
static u64 guest_va_to_host(struct vcpu *v, u64 va)
{
    const struct vhart *h = &v->arch.h;
    const struct shadow *s = &shadow_cur(v)->tree;
    const u64 *table = s->root;
    u64 pte = 0;

    for (int level = (int)s->levels - 1; level >= 0; level--) {
        pte = table[(va >> (12 + 9 * level)) & 511];
        if (!(pte & PTE_V))
            return guest_translates(h, h->priv) ? 0 : (u64)vm_ipa_to_hva(v->vm, ipa_init(va), 1);
        table = (const u64 *)((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT << 12);
    }
    return (u64)table + (va & 0xfff);
}

/* The trapping instruction at @pc (4-byte ones may straddle a page). -1 if it cannot be read. */
static long read_guest_insn(struct vcpu *v, u64 pc, u32 *insn)
{
    u64 lo = guest_va_to_host(v, pc), hi;

    if (!lo)
        return -1;
    *insn = *(const u16 *)lo;
    if ((*insn & 3) != 3)
        return 0;
    /* one walk unless the second half is on the next page */
    hi = (pc & 0xfff) != 0xffe ? lo + 2 : guest_va_to_host(v, pc + 2);
    if (!hi)
        return -1;
    *insn |= (u32)*(const u16 *)hi << 16;
    return 0;
}

/* ---- page faults ---- */

/*
 * Guest-physical @gpa's host page and the permissions the VM has there
 * (RAM: all; shared memory and passed-through devices: their map's). False
 * if nothing is mapped: an emulated device, or nothing at all.
 */
static bool host_page(struct vm *vm, u64 gpa, u64 *hpa, u64 *perms)
{
    unsigned int level;
    u64 pte;
    void *p = vm_ipa_range_is_ram(vm, gpa, 0) ? vm_ipa_to_hva(vm, ipa_init(gpa & ~0xfffUL), 4096)
                                              : NULL;

    if (p) {
        *hpa = (u64)p;
        *perms = PTE_R | PTE_W | PTE_X;
        return true;
    }
    pte = pgtable_walk(&vm->s2, gpa, &level);
    if (!pte)
        return false;
    *hpa = ((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT << 12) + (gpa & (PT_LEVEL_SIZE(level) - 1));
    *hpa &= ~0xfffUL;
    *perms = pte & (PTE_R | PTE_W | PTE_X);
    return true;
}

static u64 access_perm(enum gpt_access acc)
{
    return acc == GPT_FETCH ? PTE_X : acc == GPT_LOAD ? PTE_R : PTE_W;
}

/* A decoded load's value into its register (insn_load_value: sign or zero extension) */
static void load_result(struct vcpu *v, const struct mmio_insn *d, u64 raw)
{
    vcpu_set_reg(v, d->reg, insn_load_value(d, raw));
}

/*
 * An access to an emulated device at @gpa, made at privilege @p: decoded
 * and emulated, unless the guest's own PMP denies it its bytes (an access
 * fault the guest takes, 3.7.1: devices are physical memory to PMP too).
 */
static void mmio_emulate(struct vcpu *v, enum gpt_access acc, u64 va, u64 gpa, enum vpriv p)
{
    struct mmio_region *r = vcpu_find_mmio(v, gpa);
    struct mmio_insn d;
    u32 insn;
    u64 val;

    if (!r || acc == GPT_FETCH)
        return access_fault(v, acc, va, gpa, "nothing mapped there");
    if (read_guest_insn(v, v->arch.h.pc, &insn) || !insn_decode_mmio(insn, &d) ||
        d.write != (acc == GPT_STORE))
        return access_fault(v, acc, va, gpa, "not a load or store Keel can emulate");
    if (!(vhart_pmp_perms(&v->arch.h, gpa, d.size, p) & (d.write ? PMP_W : PMP_R)))
        return deliver(v, access_cause(acc), va);
    v->exits[EXIT_MMIO]++;
    if (d.write) {
        if (r->write(v, gpa - r->base, d.size, insn_store_value(&d, vcpu_get_reg(v, d.reg))))
            return access_fault(v, acc, va, gpa, "refused by the device");
    } else {
        if (r->read(v, gpa - r->base, d.size, &val))
            return access_fault(v, acc, va, gpa, "refused by the device");
        load_result(v, &d, val);
    }
    v->arch.h.pc += d.len;
}

/*
 * A store of @size bytes the guest made, done by Keel at host address @p:
 * whole when aligned (another hart's walk may read a PTE meanwhile).
 */
static void guest_store(void *p, u64 val, unsigned int size)
{
    if (!IS_ALIGNED((u64)p, size))
        memcpy(p, &val, size);
    else if (size == 8)
        __atomic_store_n((u64 *)p, val, __ATOMIC_RELAXED);
    else if (size == 4)
        __atomic_store_n((u32 *)p, (u32)val, __ATOMIC_RELAXED);
    else if (size == 2)
        __atomic_store_n((u16 *)p, (u16)val, __ATOMIC_RELAXED);
    else
        __atomic_store_n((u8 *)p, (u8)val, __ATOMIC_RELAXED);
}

/* The same for a load: zero-extended */
static u64 guest_load(const void *p, unsigned int size)
{
    u64 val = 0;

    if (!IS_ALIGNED((u64)p, size))
        memcpy(&val, p, size);
    else if (size == 8)
        val = __atomic_load_n((const u64 *)p, __ATOMIC_RELAXED);
    else if (size == 4)
        val = __atomic_load_n((const u32 *)p, __ATOMIC_RELAXED);
    else if (size == 2)
        val = __atomic_load_n((const u16 *)p, __ATOMIC_RELAXED);
    else
        val = __atomic_load_n((const u8 *)p, __ATOMIC_RELAXED);
    return val;
}

/* A store the guest made to one of its page tables: the frame's record and wgen move */
static void pt_store_done(struct vmmu *m, u64 gpa, unsigned int size)
{
    pt_stored(&m->track, gpa, size); /* maybe untracked now: the bump below covers that too */
    wgen_bump(m, gpa);
}

/*
 * A store to a tracked frame, one of the guest's page tables: done here as
 * the hart would have done it, and wgen moved. False if it is not a plain
 * store inside the page (an AMO, a store of FP registers): the frame is
 * untracked instead, and the caller maps it writable.
 */
static bool pt_store(struct vcpu *v, struct vmmu *m, u64 gpa, u64 hpa)
{
    void *p = (void *)(hpa + (gpa & 0xfff));
    struct mmio_insn d;
    u32 insn;

    if (read_guest_insn(v, v->arch.h.pc, &insn) || !insn_decode_mmio(insn, &d) || !d.write ||
        (gpa & 0xfff) + d.size > PAGE_SIZE) {
        pt_untrack(&m->track, gpa);
        wgen_bump(m, gpa);
        return false;
    }
    guest_store(p, vcpu_get_reg(v, d.reg), d.size);
    pt_store_done(m, gpa, d.size);
    v->exits[EXIT_PTW]++;
    v->arch.h.pc += d.len;
    return true;
}

/*
 * The vCPU's pool has no page left for a table: every shadow is emptied,
 * its tables back in the pool, and built again as the guest runs (the
 * access that found the pool full faults again). If that happens again
 * before any leaf could be filled, the pool cannot hold even one
 * translation's tables: the VM stops (Keel and other VMs go on).
 */
static void __attribute__((cold)) shadows_reclaim(struct vcpu *v)
{
    struct shadow_cache *c = &v->arch.sc;

    if (v->arch.reclaimed) {
        ERROR("vm %s vcpu %u: its shadow pool (%u KiB) cannot hold one translation",
              v->vm->cfg.name, v->id, v->arch.pool.pages * 4);
        vm_stop(v->vm, VM_CRASHED);
        return;
    }
    for (unsigned int i = 0; i < SHADOW_CACHE; i++) {
        shadow_clear(&c->e[i].tree);
        c->e[i].empty = true;
        tlb_flush_asid(ASID_OF_SHADOW(i));
    }
    v->arch.reclaimed = true;
    v->arch.flushes++;
    if (!v->arch.reclaims++)
        INFO("vm %s vcpu %u: shadow pool full (%u KiB): every shadow emptied, built again as "
             "the guest runs (said once)", v->vm->cfg.name, v->id, v->arch.pool.pages * 4);
}

/* What the leaf just filled at @va was read through (the walk's tables, root first). */
static void deps_add(struct sc_entry *e, const struct pt_track *t, const struct walk_ctx *w, u64 va)
{
    for (unsigned int j = 0; j < w->reads; j++)
        if (pt_trackable(t, w->frames[j]))
            sc_dep_add(e, pt_frame(t, w->frames[j]), e->tree.levels - 1 - j, va);
}

/*
 * A load or store to a page the guest's PMP does not treat alike (an entry
 * ends inside it, 3.7.1: NA4, or a small NAPOT or TOR range), that the
 * page as a whole does not allow: no leaf can say what its bytes may do,
 * so the access is decided by its own bytes at privilege @p and done here,
 * the page left unmapped for it. A fetch there, or an access Keel does not
 * decode (an AMO, FP), takes the access fault: it fails closed.
 */
static void __attribute__((cold, noinline)) pmp_split_access(struct vcpu *v, enum gpt_access acc,
                                                             u64 va, u64 gpa, u64 hpa, enum vpriv p)
{
    struct vmmu *m = vmmu_of(v->vm);
    void *ptr = (void *)(hpa + (gpa & 0xfff));
    struct mmio_insn d;
    u32 insn;

    if (acc == GPT_FETCH || read_guest_insn(v, v->arch.h.pc, &insn) ||
        !insn_decode_mmio(insn, &d) || d.write != (acc == GPT_STORE) ||
        (gpa & 0xfff) + d.size > PAGE_SIZE ||
        !(vhart_pmp_perms(&v->arch.h, gpa, d.size, p) & (d.write ? PMP_W : PMP_R)))
        return deliver(v, access_cause(acc), va);
    if (d.write && pt_tracked(&m->track, gpa) && pt_store(v, m, gpa, hpa))
        return;
    v->exits[EXIT_MMIO]++;
    if (d.write)
        guest_store(ptr, vcpu_get_reg(v, d.reg), d.size);
    else
        load_result(v, &d, guest_load(ptr, d.size));
    v->arch.h.pc += d.len;
}

/* PMP_R/W/X as leaf bits */
static u64 pmp_to_pte(unsigned int pmp)
{
    return (pmp & PMP_R ? PTE_R : 0) | (pmp & PMP_W ? PTE_W : 0) | (pmp & PMP_X ? PTE_X : 0);
}

/*
 * The guest's own PMP (3.7.1) over the page a leaf is about to map: the
 * leaf keeps what every byte of the page allows, X at the privilege that
 * fetches (@fp), R and W at the one loads and stores are made with (@dp).
 * An access the page denies takes the access fault, tval the address it
 * was made at, in the mode the guest's delegation sends it to; one it
 * allows only in part is decided alone (pmp_split_access). True if the
 * fill goes on with *@perms; an access the VM's map denies goes on to
 * leaf_fill, which says so.
 */
static inline bool pmp_gate(struct vcpu *v, enum gpt_access acc, u64 va, u64 gpa, u64 hpa,
                            u64 *perms, enum vpriv fp, enum vpriv dp)
{
    const struct vhart *h = &v->arch.h;
    u64 page = gpa & ~0xfffUL;
    unsigned int x = vhart_pmp_perms(h, page, PAGE_SIZE, fp);
    unsigned int rw = dp == fp ? x : vhart_pmp_perms(h, page, PAGE_SIZE, dp);
    unsigned int mine = acc == GPT_FETCH ? x : rw;

    if (likely(!(*perms & access_perm(acc)) || (pmp_to_pte(mine) & access_perm(acc)))) {
        *perms &= pmp_to_pte(x & PMP_X) | pmp_to_pte(rw & (PMP_R | PMP_W));
        return true;
    }
    if (mine & VHART_PMP_SPLIT)
        pmp_split_access(v, acc, va, gpa, hpa, acc == GPT_FETCH ? fp : dp);
    else
        deliver(v, access_cause(acc), va);
    return false;
}

/*
 * The leaf for @va -> @gpa (host page @hpa, @perms allowed) in the entry
 * serving now, never writable to a tracked frame: a store to one is
 * emulated instead. @w: the walk it came from (its tables are the leaf's
 * dependencies), NULL for the physical map's.
 */
static bool leaf_fill(struct vcpu *v, enum gpt_access acc, u64 va, u64 gpa, u64 hpa, u64 perms,
                      const struct walk_ctx *w)
{
    struct vmmu *m = vmmu_of(v->vm);
    struct sc_entry *e = shadow_cur(v);

    if (!(perms & access_perm(acc))) {
        access_fault(v, acc, va, gpa, "not allowed by the VM's map");
        return false;
    }
    if (pt_tracked(&m->track, gpa)) {
        if (acc == GPT_STORE && pt_store(v, m, gpa, hpa))
            return false;
        if (pt_tracked(&m->track, gpa))
            perms &= ~PTE_W;
    }
    if (shadow_map(&e->tree, va & ~0xfffUL, hpa, perms)) {
        shadows_reclaim(v);
        return false;
    }
    v->arch.reclaimed = false;
    if (w)
        deps_add(e, &m->track, w, va);
    if ((perms & PTE_W) && pt_trackable(&m->track, gpa))
        wleaf_note(m, gpa, va & ~0xfffUL);
    v->exits[EXIT_FILL]++;
    v->arch.fills++;
    tlb_flush_page(va, ASID_OF_SHADOW(v->arch.sc.cur));
    return true;
}

/* A translated access: the guest's walk (which tracks the frames it reads), then its leaf. */
static void translated_fault(struct vcpu *v, enum gpt_access acc, enum vpriv p, u64 va)
{
    struct vhart *h = &v->arch.h;
    struct walk_ctx w = { .vm = v->vm, .m = vmmu_of(v->vm), .h = h };
    const struct gpt_mem mem = { .ctx = &w, .read64 = gmem_read64, .cas64 = gmem_cas64 };
    bool sum = h->csr.mstatus & MSTATUS_SUM, mxr = h->csr.mstatus & MSTATUS_MXR;
    struct gpt_result r;
    u64 hpa, perms;
    int err = gpt_walk(&mem, h->csr.satp, va, acc, p, sum, mxr, &r);

    if (w.began)
        track_end(v, &w);
    if (w.untracked)
        shadow_cur(v)->empty = true; /* read from tables no store of the guest's is seen in */
    if (err)
        return deliver(v, (u64)err, va);
    if (!host_page(v->vm, r.gpa, &hpa, &perms))
        return mmio_emulate(v, acc, va, r.gpa, p);
    perms &= shadow_perms(&r, p, sum, mxr);
    if (!pmp_gate(v, acc, va, r.gpa, hpa, &perms, p, p))
        return;
    if (leaf_fill(v, acc, va, r.gpa, hpa, perms, &w) && r.level > shadow_cur(v)->span)
        shadow_cur(v)->span = (u8)r.level;
}

/*
 * An untranslated access (guest M-mode, or satp Bare): the shadow of the
 * physical map is filled like the others, so that stores to page tables
 * trap there too. Nothing to walk: it never goes stale but for writable
 * leaves to frames tracked since. Its fetch-only twin gets X alone.
 */
static void physical_fault(struct vcpu *v, enum gpt_access acc, u64 gpa)
{
    const struct vhart *h = &v->arch.h;
    enum vpriv dp = vhart_data_priv(h);
    u64 hpa, perms;

    if (!host_page(v->vm, gpa, &hpa, &perms))
        return mmio_emulate(v, acc, gpa, gpa, acc == GPT_FETCH ? h->priv : dp);
    if ((shadow_cur(v)->key & ~SHADOW_KEY_PHYS_VIEWS) == SHADOW_KEY_PHYS_FETCH)
        perms &= PTE_X;
    if (pmp_gate(v, acc, gpa, gpa, hpa, &perms, h->priv, dp))
        leaf_fill(v, acc, gpa, gpa, hpa, perms, NULL);
}

/* The load or store @d at guest-physical @gpa, host address @p (RAM or a mapped region). */
static void mprv_mem(struct vcpu *v, const struct mmio_insn *d, u64 gpa, void *p)
{
    struct vmmu *m = vmmu_of(v->vm);

    if (!d->write)
        return load_result(v, d, guest_load(p, d->size));
    guest_store(p, vcpu_get_reg(v, d->reg), d->size);
    if (pt_tracked(&m->track, gpa)) /* a page table: as pt_store */
        pt_store_done(m, gpa, d->size);
}

/*
 * A load or store of the guest's M-mode under MPRV (mprv_translates), at
 * @va: the guest's walk with MPP's privilege, SUM and MXR (3.1.6.3, 4.3.2;
 * A and D set as the hart would), then the access. Its faults are M-mode's
 * (a trap never goes below M), with the address in mtval. One that would
 * cross a page takes an address-misaligned exception (the unprivileged
 * spec, 2.6, lets any misaligned load or store raise one); AMOs, LR/SC and
 * FP ones are not decoded here: an access fault.
 */
static void mprv_access(struct vcpu *v, enum gpt_access acc, u64 va)
{
    struct vhart *h = &v->arch.h;
    struct walk_ctx w = { .vm = v->vm, .m = vmmu_of(v->vm), .h = h };
    const struct gpt_mem mem = { .ctx = &w, .read64 = gmem_read64, .cas64 = gmem_cas64 };
    struct gpt_result r;
    struct mmio_insn d;
    u64 hpa, perms;
    u32 insn;
    int err;

    if (read_guest_insn(v, h->pc, &insn) || !insn_decode_mmio(insn, &d) ||
        d.write != (acc == GPT_STORE))
        return access_fault(v, acc, va, va, "MPRV: not a load or store Keel emulates");
    if ((va & 0xfff) + d.size > PAGE_SIZE)
        return deliver(v, d.write ? EXC_STORE_MISALIGNED : EXC_LOAD_MISALIGNED, va);
    err = gpt_walk(&mem, h->csr.satp, va, acc, vhart_data_priv(h), h->csr.mstatus & MSTATUS_SUM,
                   h->csr.mstatus & MSTATUS_MXR, &r);
    if (w.began)
        track_end(v, &w);
    if (err)
        return deliver(v, (u64)err, va);
    if (!host_page(v->vm, r.gpa, &hpa, &perms))
        return mmio_emulate(v, acc, va, r.gpa, vhart_data_priv(h));
    if (!(perms & access_perm(acc)))
        return access_fault(v, acc, va, r.gpa, "not allowed by the VM's map");
    /* the guest's PMP at MPP's privilege, for the access's own bytes (3.7.1) */
    if (!(vhart_pmp_perms(h, r.gpa, d.size, vhart_data_priv(h)) & (d.write ? PMP_W : PMP_R)))
        return deliver(v, access_cause(acc), va);
    v->exits[EXIT_MPRV]++;
    mprv_mem(v, &d, r.gpa, (void *)(hpa + (r.gpa & 0xfff)));
    h->pc += d.len;
}

static void page_fault(struct vcpu *v, u64 cause, u64 va)
{
    struct vhart *h = &v->arch.h;
    enum gpt_access acc = cause == EXC_INST_PAGE_FAULT ? GPT_FETCH
                        : cause == EXC_LOAD_PAGE_FAULT ? GPT_LOAD : GPT_STORE;
    enum vpriv p = acc == GPT_FETCH ? h->priv : vhart_data_priv(h);

    if (guest_translates(h, p) && guest_translates(h, h->priv))
        translated_fault(v, acc, p, va);
    else if (acc != GPT_FETCH && mprv_translates(h))
        mprv_access(v, acc, va);
    else
        physical_fault(v, acc, va);
}

/* ---- privileged instructions ---- */

/*
 * sfence.vma (4.2.1): shadows built since the VM's last page-table write
 * are kept; the others lose what the fence names (emptied before they
 * serve again if it names every address). An address invalidates every
 * translation holding the leaf PTE for it: where a shadow has leaves from
 * guest superpages, the 4 KiB ones of the whole block around the address
 * (as large as its largest such superpage) go. ASIDs are not looked at: a
 * shadow is a function of the tables alone, and fencing more is allowed.
 */
static void shadows_fence(struct vcpu *v, u64 va)
{
    struct vmmu *m = vmmu_of(v->vm);
    bool trusted = vm_trusted(v, m);
    u64 wgen = __atomic_load_n(&m->wgen, SEQ);

    if (va == VH_FENCE_ALL)
        return sc_fence_all(&v->arch.sc, wgen, trusted);
    for (unsigned int i = 0; i < SHADOW_CACHE; i++) {
        struct sc_entry *e = &v->arch.sc.e[i];

        if (!sc_fence_one(&v->arch.sc, i, wgen, trusted))
            continue;
        if (!e->span) {
            shadow_unmap(&e->tree, va);
            tlb_flush_page(va, ASID_OF_SHADOW(i));
        } else {
            shadow_unmap_block(&e->tree, va, e->span);
            tlb_flush_asid(ASID_OF_SHADOW(i));
        }
    }
}

static bool vcpu_has_irq(struct vcpu *v);

/* wfi: this hart sleeps until an interrupt the guest enabled in mie is pending. */
static void wait_interrupt(struct vcpu *v)
{
    v->arch.suspended = true;
    rvm_vcpu_quiet(v); /* published again at entry */
    while (!vcpu_has_irq(v) && !v->stopping) {
        asm volatile("wfi" ::: "memory");
        arch_irq_handle_pending(v);
    }
    v->arch.suspended = false;
}

/* What an emulated instruction asks of Keel beyond the vhart: out of the CSR path. */
static void __attribute__((noinline)) insn_effects(struct vcpu *v, unsigned int fx, u64 fence_va)
{
    if (fx & VH_TRAP)
        v->exits[EXIT_TRAP]++;
    if (fx & VH_SFENCE)
        shadows_fence(v, fence_va);
    /*
     * Leaves hold what the guest's PMP gave when they were filled. 3.7.2
     * lets the hart keep them until an sfence.vma, but these shadows
     * outlive a fence while the guest's tables stay (shadows_fence), and
     * without paging the spec wants the new entries at once: they go now.
     * PMP writes are rare (xv6 and OpenSBI write theirs at boot).
     */
    if (fx & VH_PMP)
        sc_empty_all(&v->arch.sc);
    if (fx & VH_WFI)
        wait_interrupt(v);
}

/*
 * mtval may hold the instruction (3.1.16), but need not, and QEMU 10 leaves
 * a stale one there for mret and sret: the instruction is read from memory.
 */
static inline __attribute__((always_inline)) unsigned int illegal_insn(struct vcpu *v)
{
    u64 fence_va, fence_asid;
    unsigned int fx;
    u32 insn;

    if (unlikely(read_guest_insn(v, v->arch.h.pc, &insn)))
        return VH_MODE; /* its page went meanwhile: the fetch faults again and is served */
    v->exits[EXIT_INSN]++;
    fx = vhart_emulate(&v->arch.h, v->regs.x, insn, &fence_va, &fence_asid);
    if (unlikely(fx & (VH_TRAP | VH_SFENCE | VH_PMP | VH_WFI)))
        insn_effects(v, fx, fence_va);
    return fx;
}

/* ---- interrupts ---- */

static u64 programmed_cmp[PLAT_MAX_CPUS];

static void timer_program(u64 cmp)
{
    struct cpu *c = cpu_this();

    if (programmed_cmp[c->id] != cmp) {
        programmed_cmp[c->id] = cmp;
        *(volatile u64 *)(rvm_clint + CLINT_MTIMECMP(c->hwid)) = cmp;
    }
}

/*
 * Through the cache above, so that the next vCPU placed here arms its
 * deadline even if it equals the one the last vCPU left programmed.
 */
void rvm_timer_stop(void)
{
    timer_program(~0UL);
}

/* The lines other harts drive, and the timer's from the counter; its deadline armed. */
static void lines_sync(struct vcpu *v)
{
    u64 cmp = __atomic_load_n(&v->arch.mtimecmp, __ATOMIC_ACQUIRE);
    u64 lines = __atomic_load_n(&v->arch.lines, __ATOMIC_ACQUIRE);
    bool due = arch_counter_read() >= cmp;

    v->arch.h.lines = lines | (due ? MIP_MTIP : 0);
    timer_program(due ? ~0UL : cmp);
}

static bool vcpu_has_irq(struct vcpu *v)
{
    lines_sync(v);
    return vhart_wfi_wakes(&v->arch.h);
}

static bool irq_handle_one(void)
{
    u32 hwirq = irqchip_ack();

    if (hwirq == IRQCHIP_NONE)
        return false;
    if (pt_handle_irq(hwirq))
        return true; /* completed when the guest completes it */
    if (hwirq == platform.uart_irq)
        console_rx_irq();
    irqchip_deactivate(hwirq);
    return true;
}

void arch_irq_handle_pending(struct vcpu *v)
{
    u64 mip = csr_read(CSR_MIP);

    if (mip & MIP_MSIP)
        *(volatile u32 *)(rvm_clint + CLINT_MSIP(cpu_this()->hwid)) = 0; /* a kick */
    if (mip & MIP_MTIP)
        timer_program(~0UL); /* a guest's deadline: lines_sync() raises its line */
    if (mip & MIP_MEIP)
        while (irq_handle_one())
            ;
}

/* ---- the exit and the entry ---- */

/*
 * The real counters the guest's are offsets of (vhart.c), read in M-mode
 * here: the cycles and instructions Keel spends in between count too.
 */
u64 vhart_real_counter(unsigned int csr)
{
    if (csr == CSR_CYCLE)
        return csr_read(CSR_MCYCLE);
    if (csr == CSR_INSTRET)
        return csr_read(CSR_MINSTRET);
    return arch_counter_read();
}

/*
 * An access fault of the real hart (3.7.1: Keel's PMP, or the bus). Where
 * the shadow serving now has no leaf for the address, the walk of the
 * shadow itself faulted: false, the caller serves it as the page fault it
 * stands for (a leaf filled, a device emulated, or the guest's own access
 * fault). Where a leaf names host memory Keel's PMP does not give the guest
 * as the leaf does, the two walls disagree: Keel's error, the VM stops.
 * Else it is the bus's (a passed-through device that refused): the guest
 * takes it.
 */
static bool __attribute__((cold)) hw_access_fault(struct vcpu *v, u64 cause, u64 tval)
{
    u64 leaf = shadow_leaf(&shadow_cur(v)->tree, tval), need, hpa;

    if (!leaf)
        return false;
    need = cause == EXC_INST_ACCESS ? PMP_X : cause == EXC_LOAD_ACCESS ? PMP_R : PMP_W;
    hpa = ((leaf & PTE_PPN_MASK) >> PTE_PPN_SHIFT << PAGE_SHIFT) | (tval & 0xfff);
    if (rvm_pmp_entries && !(pmp_set_perms(v->arch.pmp, hpa, 1) & need)) {
        ERROR("vm %s vcpu %u: its shadow maps %#lx to host %#lx, which Keel's PMP denies it "
              "(cause %lu, pc %#lx)", v->vm->cfg.name, v->id, tval, hpa, cause, v->arch.h.pc);
        vm_stop(v->vm, VM_CRASHED);
        return true;
    }
    v->exits[EXIT_OTHER]++;
    VM_WARN(v->vm, "vm %s vcpu %u: access fault (cause %lu) at %#lx, pc %#lx; delivered",
            v->vm->cfg.name, v->id, cause, tval, v->arch.h.pc);
    deliver(v, cause, tval);
    return true;
}

static void handle_exception(struct vcpu *v, u64 cause, u64 tval)
{
    switch (cause) {
    case EXC_INST_ACCESS:
    case EXC_LOAD_ACCESS:
    case EXC_STORE_ACCESS:
        if (hw_access_fault(v, cause, tval))
            break;
        cause = cause == EXC_INST_ACCESS ? EXC_INST_PAGE_FAULT
              : cause == EXC_LOAD_ACCESS ? EXC_LOAD_PAGE_FAULT : EXC_STORE_PAGE_FAULT;
        __attribute__((fallthrough)); /* one call of page_fault: inlined on the fill path */
    case EXC_INST_PAGE_FAULT:
    case EXC_LOAD_PAGE_FAULT:
    case EXC_STORE_PAGE_FAULT:
        page_fault(v, cause, tval);
        break;
    case EXC_ECALL_U: /* the guest's ecall, from the privilege it believes it has */
        deliver(v, v->arch.h.priv == VPRIV_M ? EXC_ECALL_M : EXC_ECALL_U + v->arch.h.priv, 0);
        break;
    default:
        v->exits[EXIT_OTHER]++;
        deliver(v, cause, tval);
    }
}

/*
 * The guest's FP registers live in the real hart: a write there made the
 * real FS Dirty, which its own mstatus.FS must show (3.1.6.6: software
 * saves the FP state only when it is Dirty).
 */
static void fs_sync(struct vcpu *v)
{
    u64 *ms = &v->arch.h.csr.mstatus;

    if ((csr_read(CSR_MSTATUS) & MSTATUS_FS) == MSTATUS_FS && (*ms & MSTATUS_FS))
        *ms |= MSTATUS_FS;
}

/* What every exit reads first: where the guest was, and its FP state. */
static inline __attribute__((always_inline)) void exit_begin(struct vcpu *v)
{
    v->arch.h.pc = csr_read(CSR_MEPC);
    fs_sync(v);
}

/*
 * An interrupt, or any exception but an illegal instruction (trap.S sorts
 * them, so that each path saves only the registers it needs).
 */
struct vcpu *rvm_guest_trap(struct vcpu *v)
{
    u64 cause = csr_read(CSR_MCAUSE);

    exit_begin(v);
    if (cause & MCAUSE_INTERRUPT) {
        v->exits[EXIT_IRQ]++;
        arch_irq_handle_pending(v);
    } else {
        handle_exception(v, cause, csr_read(CSR_MTVAL));
    }
    rvm_prepare_entry(v);
    return v;
}

/* An illegal instruction: the guest's privileged one, the hot exit. */
struct vcpu *rvm_guest_insn_trap(struct vcpu *v)
{
    exit_begin(v);
    if (!(illegal_insn(v) & ~VH_IRQ) && vhart_pending_irq(&v->arch.h) < 0 && !v->stopping) {
        /*
         * Most CSR accesses (xv6's sstatus around every lock) change
         * nothing the entry sets: the guest goes on at the next
         * instruction. An interrupt line raised since is a real interrupt
         * pending, which brings the guest back here at once.
         */
        csr_write(CSR_MEPC, v->arch.h.pc);
    } else {
        rvm_prepare_entry(v);
    }
    return v;
}

/*
 * The guest's pending interrupt delivered (vhart.c decides which and to
 * which mode), then the real hart set for where the guest resumes.
 */
void rvm_prepare_entry(struct vcpu *v)
{
    struct vhart *h = &v->arch.h;
    int irq;
    u64 ms, ctr;

    if (unlikely(v->stopping))
        vcpu_stop_self(v);
    lines_sync(v);
    irq = vhart_pending_irq(h);
    if (irq >= 0) {
        vhart_trap(h, MCAUSE_INTERRUPT | (u64)irq, 0);
        v->irqs_injected++;
    }
    rvm_satp_write(satp_pick(v));
    csr_write(CSR_MEPC, h->pc);
    ctr = vhart_counteren(h);
    csr_write(CSR_MCOUNTEREN, ctr);
    csr_write(CSR_SCOUNTEREN, ctr);
    /* MXR off: the execute-only leaves of SHADOW_KEY_PHYS_FETCH must not be readable */
    ms = csr_read(CSR_MSTATUS) & ~(MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_MPIE | MSTATUS_FS |
                                    MSTATUS_MXR);
    csr_write(CSR_MSTATUS, ms | vhart_real_fs(h));
}
