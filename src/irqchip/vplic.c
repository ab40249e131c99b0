/*
 * Emulated RISC-V PLIC: the register map of riscv-plic-spec 1.0.0 ("Memory
 * Map" and the chapter of each block) over the gateway and core state. The
 * model and its choices are described in keel/vplic.h.
 */
#include <keel/string.h>
#include <keel/vplic.h>

/* Offsets in a context's 4 KiB page ("Priority Thresholds", "Interrupt Claim Process"). */
#define CONTEXT_THRESHOLD 0x0
#define CONTEXT_CLAIM 0x4 /* claim when read, completion when written */

#define PRIORITY_MASK VPLIC_PRIORITY_MAX /* WARL: the low 3 bits */

static bool vplic_test(const u32 *map, u32 id)
{
    return map[id / 32] & (1U << (id % 32));
}

static void vplic_set(u32 *map, u32 id)
{
    map[id / 32] |= 1U << (id % 32);
}

static void vplic_clear(u32 *map, u32 id)
{
    map[id / 32] &= ~(1U << (id % 32));
}

/* Words of a bitmap that hold existing sources: IDs 0..ndev. */
static unsigned int vplic_nwords(const struct vplic *p)
{
    return p->ndev / 32 + 1;
}

/* The bits of word @w that are sources (spec: bit 0 of word 0, source 0, is hardwired to 0). */
static u32 vplic_word_mask(const struct vplic *p, unsigned int w)
{
    u32 mask = ~0U;

    if (w == 0)
        mask &= ~1U;
    if (w == p->ndev / 32)
        mask &= (u32)((2ULL << (p->ndev % 32)) - 1);
    return mask;
}

static bool vplic_source_ok(const struct vplic *p, u32 id)
{
    return id >= 1 && id <= p->ndev;
}

static unsigned int vplic_per_vcpu(enum vplic_layout layout)
{
    return layout == VPLIC_S_ONLY ? 1 : 2;
}

bool vplic_context_vcpu(const struct vplic *p, unsigned int context, unsigned int *vcpu)
{
    unsigned int per = vplic_per_vcpu(p->layout);

    if (context >= p->nr_contexts || context % per != per - 1)
        return false;
    *vcpu = context / per;
    return true;
}

bool vplic_context_vcpu_m(const struct vplic *p, unsigned int context, unsigned int *vcpu)
{
    if (p->layout != VPLIC_M_AND_S_WIRED || context >= p->nr_contexts || context % 2)
        return false;
    *vcpu = context / 2;
    return true;
}

unsigned int vplic_vcpu_context(const struct vplic *p, unsigned int vcpu)
{
    unsigned int per = vplic_per_vcpu(p->layout);

    return vcpu * per + per - 1;
}

/*
 * The pending source enabled for @ctx whose priority is highest and above
 * @floor, the lowest ID among equals; 0 if there is none. Bits are walked
 * by hand: no count-trailing-zeros builtin, which needs libgcc on an ISA
 * without the instruction.
 */
static u32 vplic_best(const struct vplic *p, unsigned int ctx, unsigned int floor)
{
    unsigned int best_prio = floor;
    u32 best = 0;

    for (unsigned int w = 0; w < vplic_nwords(p); w++) {
        u32 bits = p->pending[w] & p->enable[ctx][w];

        for (u32 id = w * 32; bits; id++, bits >>= 1) {
            if ((bits & 1) && p->priority[id] > best_prio) {
                best = id;
                best_prio = p->priority[id];
            }
        }
    }
    return best;
}

/* Recomputes every context's output ("Interrupt Notifications"); reports changes of wired ones. */
static void vplic_update(struct vplic *p)
{
    for (unsigned int ctx = 0; ctx < p->nr_contexts; ctx++) {
        bool level = vplic_best(p, ctx, p->threshold[ctx]) != 0;
        unsigned int vcpu;

        if (level == p->eip[ctx])
            continue;
        p->eip[ctx] = level;
        if (p->notify && (vplic_context_vcpu(p, ctx, &vcpu) || vplic_context_vcpu_m(p, ctx, &vcpu)))
            p->notify(p->opaque, ctx, level);
    }
}

/* Clears the guest-visible state and the input lines; configuration and hw marks stay. */
static void vplic_clear_state(struct vplic *p)
{
    memset(p->pending, 0, sizeof(p->pending));
    memset(p->claimed, 0, sizeof(p->claimed));
    memset(p->level, 0, sizeof(p->level));
    memset(p->edge_held, 0, sizeof(p->edge_held));
    memset(p->priority, 0, sizeof(p->priority));
    memset(p->enable, 0, sizeof(p->enable));
    memset(p->threshold, 0, sizeof(p->threshold));
    memset(p->eip, 0, sizeof(p->eip));
}

int vplic_init(struct vplic *p, const struct vplic_config *cfg)
{
    unsigned int per = vplic_per_vcpu(cfg->layout);

    if (cfg->layout > VPLIC_M_AND_S_WIRED || cfg->ndev < 1 ||
        cfg->ndev > VPLIC_MAX_SOURCES || cfg->nr_vcpus < 1 ||
        cfg->nr_vcpus > VPLIC_MAX_CONTEXTS / per)
        return -1;
    p->ndev = cfg->ndev;
    p->nr_vcpus = cfg->nr_vcpus;
    p->nr_contexts = cfg->nr_vcpus * per;
    p->layout = cfg->layout;
    p->notify = cfg->notify;
    p->hw_complete = cfg->hw_complete;
    p->no_level_refire = cfg->no_level_refire;
    p->opaque = cfg->opaque;
    memset(p->hw, 0, sizeof(p->hw));
    vplic_clear_state(p);
    return 0;
}

/* Calls hw_complete() @n times for @id. */
static void vplic_hw_end(struct vplic *p, u32 id, unsigned int n)
{
    while (p->hw_complete && n--)
        p->hw_complete(p->opaque, id);
}

void vplic_reset(struct vplic *p)
{
    u32 pending[VPLIC_WORDS], claimed[VPLIC_WORDS], held[VPLIC_WORDS];

    memcpy(pending, p->pending, sizeof(pending));
    memcpy(claimed, p->claimed, sizeof(claimed));
    memcpy(held, p->edge_held, sizeof(held));
    vplic_clear_state(p);
    /* Each request of a hardware-backed source is one host claim to end. */
    for (u32 id = 1; id <= p->ndev; id++) {
        if (vplic_test(p->hw, id))
            vplic_hw_end(p, id, vplic_test(pending, id) + vplic_test(claimed, id) +
                                    vplic_test(held, id));
    }
}

u64 vplic_size(const struct vplic *p)
{
    return VPLIC_SIZE(p->nr_contexts);
}

bool vplic_eip(const struct vplic *p, unsigned int context)
{
    return context < p->nr_contexts && p->eip[context];
}

/* ---- the gateways ---- */

bool vplic_set_level(struct vplic *p, u32 source, bool level)
{
    bool was;

    if (!vplic_source_ok(p, source))
        return false;
    was = vplic_test(p->level, source);
    if (!level) {
        vplic_clear(p->level, source); /* a forwarded request is not retracted */
        return true;
    }
    vplic_set(p->level, source);
    if (was)
        return true;
    /*
     * The first assertion is a request; one in service waits for the
     * completion, where the line still high is the next request. Without
     * that look at the line (no_level_refire), each assertion is one, kept
     * as an edge is: QEMU's PLIC sets the pending bit on every raise.
     */
    if (vplic_test(p->claimed, source)) {
        if (p->no_level_refire)
            vplic_set(p->edge_held, source);
        return true;
    }
    vplic_set(p->pending, source);
    vplic_update(p);
    return true;
}

bool vplic_pulse(struct vplic *p, u32 source)
{
    if (!vplic_source_ok(p, source))
        return false;
    if (vplic_test(p->claimed, source)) {
        vplic_set(p->edge_held, source);
        return true;
    }
    vplic_set(p->pending, source);
    vplic_update(p);
    return true;
}

bool vplic_set_hw(struct vplic *p, u32 source, bool hw)
{
    if (!vplic_source_ok(p, source))
        return false;
    if (hw)
        vplic_set(p->hw, source);
    else
        vplic_clear(p->hw, source);
    return true;
}

/* ---- claim and completion ---- */

/* "Interrupt Claim Process": the threshold plays no part; priority 0 never interrupts. */
static u32 vplic_claim(struct vplic *p, unsigned int ctx)
{
    u32 id = vplic_best(p, ctx, 0);

    if (id) {
        vplic_clear(p->pending, id);
        vplic_set(p->claimed, id);
        vplic_update(p);
    }
    return id;
}

/*
 * "Interrupt Completion": ignored unless @id is enabled for @ctx. The
 * gateway then forwards the next request: the line still high (unless
 * no_level_refire: QEMU's sifive_plic does not look at it, and guests
 * written against it, xv6's UART driver, never quiet a line they do not
 * need), or an edge that came during the service.
 */
static void vplic_complete(struct vplic *p, unsigned int ctx, u32 id)
{
    if (!vplic_source_ok(p, id) || !vplic_test(p->enable[ctx], id) ||
        !vplic_test(p->claimed, id))
        return;
    vplic_clear(p->claimed, id);
    if ((vplic_test(p->level, id) && !p->no_level_refire) || vplic_test(p->edge_held, id)) {
        vplic_clear(p->edge_held, id);
        vplic_set(p->pending, id);
    }
    if (vplic_test(p->hw, id))
        vplic_hw_end(p, id, 1);
    vplic_update(p);
}

/* ---- registers ---- */

static u32 vplic_read_context(struct vplic *p, unsigned int ctx, u64 reg)
{
    switch (reg) {
    case CONTEXT_THRESHOLD:
        return p->threshold[ctx];
    case CONTEXT_CLAIM:
        return vplic_claim(p, ctx);
    }
    return 0;
}

static void vplic_write_context(struct vplic *p, unsigned int ctx, u64 reg, u32 v)
{
    switch (reg) {
    case CONTEXT_THRESHOLD:
        p->threshold[ctx] = v & PRIORITY_MASK;
        vplic_update(p);
        break;
    case CONTEXT_CLAIM:
        vplic_complete(p, ctx, v);
        break;
    }
}

/*
 * Locates an enable word: false if @off names one of a context that does
 * not exist or a word past ndev (hardwired to zero).
 */
static bool vplic_enable_word(const struct vplic *p, u64 off, unsigned int *ctx, unsigned int *w)
{
    u64 rel = off - VPLIC_ENABLE_BASE;

    *ctx = rel / VPLIC_ENABLE_STRIDE;
    *w = (rel % VPLIC_ENABLE_STRIDE) / 4;
    return *ctx < p->nr_contexts && *w < vplic_nwords(p);
}

static u32 vplic_reg_read(struct vplic *p, u64 off)
{
    unsigned int ctx, w;

    if (off < VPLIC_PENDING_BASE)
        return vplic_source_ok(p, off / 4) ? p->priority[off / 4] : 0;
    if (off < VPLIC_ENABLE_BASE) {
        w = (off - VPLIC_PENDING_BASE) / 4;
        return w < vplic_nwords(p) ? p->pending[w] : 0;
    }
    if (off < VPLIC_CONTEXT_BASE)
        return vplic_enable_word(p, off, &ctx, &w) ? p->enable[ctx][w] : 0;
    off -= VPLIC_CONTEXT_BASE;
    return vplic_read_context(p, off / VPLIC_CONTEXT_STRIDE, off % VPLIC_CONTEXT_STRIDE);
}

static void vplic_reg_write(struct vplic *p, u64 off, u32 v)
{
    unsigned int ctx, w;

    if (off < VPLIC_PENDING_BASE) {
        if (vplic_source_ok(p, off / 4)) {
            p->priority[off / 4] = v & PRIORITY_MASK;
            vplic_update(p);
        }
    } else if (off < VPLIC_ENABLE_BASE) {
        /* Pending bits are read-only. */
    } else if (off < VPLIC_CONTEXT_BASE) {
        if (vplic_enable_word(p, off, &ctx, &w)) {
            p->enable[ctx][w] = v & vplic_word_mask(p, w);
            vplic_update(p);
        }
    } else {
        off -= VPLIC_CONTEXT_BASE;
        vplic_write_context(p, off / VPLIC_CONTEXT_STRIDE, off % VPLIC_CONTEXT_STRIDE, v);
    }
}

static bool vplic_access_ok(const struct vplic *p, u64 offset, unsigned int size)
{
    return size == 4 && IS_ALIGNED(offset, 4) && offset < vplic_size(p);
}

int vplic_read(struct vplic *p, u64 offset, unsigned int size, u64 *value)
{
    if (!vplic_access_ok(p, offset, size))
        return -1;
    *value = vplic_reg_read(p, offset);
    return 0;
}

int vplic_write(struct vplic *p, u64 offset, unsigned int size, u64 value)
{
    if (!vplic_access_ok(p, offset, size))
        return -1;
    vplic_reg_write(p, offset, (u32)value);
    return 0;
}
