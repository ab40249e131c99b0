/*
 * The emulated PLIC (src/irqchip/vplic.c), sized from the input (1-1023
 * sources, 1-32 vCPUs, either context layout), driven by random register
 * accesses of every width, device lines (levels and edges),
 * hardware-backed sources, guest claim/complete sequences, resets and
 * re-creations, against a shadow PLIC kept here: the spec's model of
 * keel/vplic.h written a second time, one array entry per source.
 *
 * After every step:
 *  - the pending, in-service, line, held-edge and hardware-backed state of
 *    every source, every priority and every threshold equal the shadow's;
 *    no bit is set for source 0 or a source above ndev;
 *  - every context's output (vplic_eip) is the spec's: a source pending,
 *    enabled for it, of priority above its threshold; the S-mode contexts'
 *    last notify() said exactly that, notify() fired only on changes and
 *    never for an M-mode context;
 *  - hw_complete() was called, per source, exactly as often as the shadow
 *    says a host claim ended (guest completion of a hardware-backed source
 *    in service, or a reset with requests outstanding);
 *  - an access is refused exactly when it is not 4 bytes, not aligned, or
 *    outside vplic_size(); a refused access changes nothing; a read returns
 *    the shadow's word (a claim: the pending enabled source of highest
 *    priority above 0, the lowest ID among equals);
 *  - the inputs refuse exactly the IDs that are not sources, and
 *    vplic_init() exactly the configurations out of range, leaving the
 *    controller as it was.
 */
#include <string.h>

#include <keel/vplic.h>

#include "fuzz_input.h"

#define NSRC (VPLIC_MAX_SOURCES + 1)

struct shadow {
    u8 prio[NSRC];
    bool pend[NSRC], claimed[NSRC], level[NSRC], held[NSRC], hw[NSRC];
    bool en[VPLIC_MAX_CONTEXTS][NSRC];
    u8 thr[VPLIC_MAX_CONTEXTS];
};

static struct vplic plic;
static struct shadow sh;
static u32 ndev;
static unsigned int nctx, per;
static int seen[VPLIC_MAX_CONTEXTS]; /* last level notify() gave, 0 before any */
static u32 done[NSRC], want_done[NSRC];

static void on_notify(void *opaque, unsigned int ctx, bool level)
{
    (void)opaque;
    FUZZ_CHECK(ctx < nctx, "notify for context %u of %u", ctx, nctx);
    FUZZ_CHECK(ctx % per == per - 1, "notify for M-mode context %u", ctx);
    FUZZ_CHECK(seen[ctx] != (int)level, "notify repeated level %d on context %u", level, ctx);
    seen[ctx] = level;
}

static void on_complete(void *opaque, u32 source)
{
    (void)opaque;
    FUZZ_CHECK(source >= 1 && source <= ndev, "hw_complete for source %u", source);
    done[source]++;
}

/* A configuration from the input: sizes at the edges mostly, valid or not. */
static struct vplic_config pick_config(struct fuzz_in *in)
{
    static const u32 ndevs[] = { 1, 2, 31, 32, 33, 63, 95, 127, 1023, 0, 1024 };
    struct vplic_config cfg = {
        .layout = fin_bool(in) ? VPLIC_M_AND_S : VPLIC_S_ONLY,
        .notify = on_notify,
        .hw_complete = on_complete,
    };
    unsigned int k = fin_u8(in);

    cfg.ndev = k < 0xe0 ? ndevs[k % 9] : (k < 0xfc ? fin_u16(in) % 1023 + 1 : fin_pick(in, ndevs));
    cfg.nr_vcpus = fin_u8(in) % 40;
    if (cfg.nr_vcpus > 33 || !(fin_u8(in) & 7))
        cfg.nr_vcpus = cfg.nr_vcpus % 4 + 1;
    return cfg;
}

static bool config_ok(const struct vplic_config *cfg)
{
    unsigned int p = cfg->layout == VPLIC_M_AND_S ? 2 : 1;

    return (cfg->layout == VPLIC_S_ONLY || cfg->layout == VPLIC_M_AND_S) && cfg->ndev >= 1 &&
           cfg->ndev <= VPLIC_MAX_SOURCES && cfg->nr_vcpus >= 1 &&
           cfg->nr_vcpus * p <= VPLIC_MAX_CONTEXTS;
}

/* vplic_init() with @cfg; the shadow follows if it is accepted. */
static void create(const struct vplic_config *cfg)
{
    static struct vplic before;
    int rc;

    memcpy(&before, &plic, sizeof(plic));
    rc = vplic_init(&plic, cfg);
    FUZZ_CHECK((rc == 0) == config_ok(cfg), "init ndev %u vcpus %u layout %d: rc %d", cfg->ndev,
               cfg->nr_vcpus, cfg->layout, rc);
    if (rc) {
        FUZZ_CHECK(!memcmp(&before, &plic, sizeof(plic)), "refused init changed the controller");
        return;
    }
    ndev = cfg->ndev;
    per = cfg->layout == VPLIC_M_AND_S ? 2 : 1;
    nctx = cfg->nr_vcpus * per;
    memset(&sh, 0, sizeof(sh));
    memset(seen, 0, sizeof(seen));
}

static bool sh_source(u32 id)
{
    return id >= 1 && id <= ndev;
}

static bool sh_eip(unsigned int c)
{
    for (u32 s = 1; s <= ndev; s++)
        if (sh.pend[s] && sh.en[c][s] && sh.prio[s] > sh.thr[c])
            return true;
    return false;
}

static bool bit(const u32 *map, u32 id)
{
    return map[id / 32] & (1U << (id % 32));
}

static void check_state(void)
{
    FUZZ_CHECK(plic.ndev == ndev && plic.nr_contexts == nctx, "configuration changed");
    /* Words wholly above ndev hold nothing; the loop below sees the rest. */
    for (unsigned int w = ndev / 32 + 1; w < VPLIC_WORDS; w++)
        FUZZ_CHECK(!(plic.pending[w] | plic.claimed[w] | plic.level[w] | plic.edge_held[w] |
                     plic.hw[w]),
                   "bits set in word %u, above source %u", w, ndev);
    for (u32 s = 0; s < NSRC && s / 32 <= ndev / 32; s++) {
        bool src = sh_source(s);

        FUZZ_CHECK(bit(plic.pending, s) == (src && sh.pend[s]) &&
                       bit(plic.claimed, s) == (src && sh.claimed[s]) &&
                       bit(plic.level, s) == (src && sh.level[s]) &&
                       bit(plic.edge_held, s) == (src && sh.held[s]) &&
                       bit(plic.hw, s) == (src && sh.hw[s]),
                   "source %u: pending %d claimed %d level %d held %d hw %d", s,
                   bit(plic.pending, s), bit(plic.claimed, s), bit(plic.level, s),
                   bit(plic.edge_held, s), bit(plic.hw, s));
        FUZZ_CHECK(!src || plic.priority[s] == sh.prio[s], "priority %u: %u, shadow %u", s,
                   plic.priority[s], sh.prio[s]);
        FUZZ_CHECK(!(sh.pend[s] && sh.claimed[s]), "shadow source %u pending in service", s);
        FUZZ_CHECK(done[s] == want_done[s], "source %u: hw_complete %u times, expected %u", s,
                   done[s], want_done[s]);
    }
    for (unsigned int c = 0; c < nctx; c++) {
        bool eip = sh_eip(c);

        FUZZ_CHECK(plic.threshold[c] == sh.thr[c], "threshold %u", c);
        FUZZ_CHECK(vplic_eip(&plic, c) == eip, "context %u output %d, spec says %d", c,
                   vplic_eip(&plic, c), eip);
        if (c % per == per - 1)
            FUZZ_CHECK(seen[c] == (int)eip, "context %u: notify said %d, output %d", c, seen[c],
                       eip);
    }
}

/* ---- the shadow's registers ---- */

static u32 sh_claim(unsigned int c)
{
    u32 best = 0;

    for (u32 s = 1; s <= ndev; s++)
        if (sh.pend[s] && sh.en[c][s] && sh.prio[s] > (best ? sh.prio[best] : 0))
            best = s;
    if (best) {
        sh.pend[best] = false;
        sh.claimed[best] = true;
    }
    return best;
}

static void sh_complete(unsigned int c, u32 id)
{
    if (!sh_source(id) || !sh.en[c][id] || !sh.claimed[id])
        return;
    sh.claimed[id] = false;
    if (sh.level[id] || sh.held[id]) {
        sh.held[id] = false;
        sh.pend[id] = true;
    }
    if (sh.hw[id])
        want_done[id]++;
}

/* The 32 bits of @map for sources 32 * w .. 32 * w + 31. */
static u32 sh_word(const bool *map, unsigned int w)
{
    u32 v = 0;

    for (u32 b = 0; b < 32; b++)
        if (sh_source(32 * w + b) && map[32 * w + b])
            v |= 1U << b;
    return v;
}

static u32 sh_read(u64 off)
{
    u64 rel;

    if (off < 0x1000)
        return sh_source(off / 4) ? sh.prio[off / 4] : 0;
    if (off < 0x2000)
        return off < 0x1080 ? sh_word(sh.pend, (off - 0x1000) / 4) : 0;
    if (off < 0x200000) {
        rel = off - 0x2000;
        return rel / 0x80 < nctx ? sh_word(sh.en[rel / 0x80], (rel % 0x80) / 4) : 0;
    }
    rel = off - 0x200000;
    if (rel % 0x1000 == 0)
        return sh.thr[rel / 0x1000];
    if (rel % 0x1000 == 4)
        return sh_claim(rel / 0x1000);
    return 0;
}

static void sh_write(u64 off, u32 v)
{
    u64 rel;

    if (off < 0x1000) {
        if (sh_source(off / 4))
            sh.prio[off / 4] = v % 8;
    } else if (off < 0x2000) {
        /* read-only */
    } else if (off < 0x200000) {
        rel = off - 0x2000;
        if (rel / 0x80 < nctx && (rel % 0x80) / 4 < 32) {
            for (u32 b = 0; b < 32; b++) {
                u32 s = 32 * ((rel % 0x80) / 4) + b;
                if (sh_source(s))
                    sh.en[rel / 0x80][s] = v >> b & 1;
            }
        }
    } else {
        rel = off - 0x200000;
        if (rel % 0x1000 == 0)
            sh.thr[rel / 0x1000] = v % 8;
        else if (rel % 0x1000 == 4)
            sh_complete(rel / 0x1000, v);
    }
}

static bool access_allowed(u64 off, unsigned int size)
{
    return size == 4 && off % 4 == 0 && off < 0x200000 + 0x1000 * (u64)nctx;
}

/* The value read, 0 if the access was refused. */
static u32 do_read(u64 off, unsigned int size)
{
    u64 val = 0x0123456789abcdefULL;
    int rc = vplic_read(&plic, off, size, &val);
    u32 want;

    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "read %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    if (rc) {
        FUZZ_CHECK(val == 0x0123456789abcdefULL, "refused read wrote its value");
        return 0;
    }
    want = sh_read(off);
    FUZZ_CHECK(val == want, "read %#llx gave %#llx, shadow %#x", (unsigned long long)off,
               (unsigned long long)val, want);
    return want;
}

static void do_write(u64 off, unsigned int size, u64 val)
{
    int rc = vplic_write(&plic, off, size, val);

    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "write %#llx/%u: rc %d",
               (unsigned long long)off, size, rc);
    if (!rc)
        sh_write(off, (u32)val);
}

/* ---- the shadow's inputs ---- */

static void do_level(u32 s, bool level)
{
    bool ok = vplic_set_level(&plic, s, level);

    FUZZ_CHECK(ok == sh_source(s), "set_level(%u): %d", s, ok);
    if (!ok)
        return;
    if (level && !sh.level[s] && !sh.claimed[s])
        sh.pend[s] = true;
    sh.level[s] = level;
}

static void do_pulse(u32 s)
{
    bool ok = vplic_pulse(&plic, s);

    FUZZ_CHECK(ok == sh_source(s), "pulse(%u): %d", s, ok);
    if (!ok)
        return;
    if (sh.claimed[s])
        sh.held[s] = true;
    else
        sh.pend[s] = true;
}

static void do_set_hw(u32 s, bool hw)
{
    bool ok = vplic_set_hw(&plic, s, hw);

    FUZZ_CHECK(ok == sh_source(s), "set_hw(%u): %d", s, ok);
    if (ok)
        sh.hw[s] = hw;
}

static void do_reset(void)
{
    for (u32 s = 1; s <= ndev; s++)
        if (sh.hw[s])
            want_done[s] += sh.pend[s] + sh.claimed[s] + sh.held[s];
    vplic_reset(&plic);
    memset(sh.prio, 0, sizeof(sh.prio));
    memset(sh.pend, 0, sizeof(sh.pend));
    memset(sh.claimed, 0, sizeof(sh.claimed));
    memset(sh.level, 0, sizeof(sh.level));
    memset(sh.held, 0, sizeof(sh.held));
    memset(sh.en, 0, sizeof(sh.en));
    memset(sh.thr, 0, sizeof(sh.thr));
    /* No notify(): outputs go low unannounced, as the contract says. */
    memset(seen, 0, sizeof(seen));
}

/* ---- the program ---- */

static u32 pick_source(struct fuzz_in *in)
{
    return fin_u16(in) % (ndev + 2); /* 0 and ndev + 1 are not sources */
}

/* Offsets: mostly a register of a real source or context, sometimes anything. */
static u64 pick_offset(struct fuzz_in *in)
{
    unsigned int k = fin_u8(in);
    unsigned int ctx = fin_u8(in) % (nctx + 2);

    switch (k % 8) {
    case 0:
        return 4 * (u64)pick_source(in);
    case 1:
        return 0x1000 + 4 * (u64)(fin_u8(in) % 36);
    case 2:
    case 3:
        return 0x2000 + 0x80 * (u64)ctx + 4 * (u64)(fin_u8(in) % 34);
    case 4:
    case 5:
        return 0x200000 + 0x1000 * (u64)ctx + (k & 0x80 ? 0 : 4);
    case 6:
        return 0x200000 + 0x1000 * (u64)ctx + fin_u16(in) % 0x1000;
    }
    return k & 0x80 ? fin_u32(in) % 0x4000000 : vplic_size(&plic) - 4 + fin_u8(in) % 8;
}

/* A guest's handler: claim on one context, maybe complete on the same or another. */
static void guest_step(struct fuzz_in *in)
{
    unsigned int c = fin_u8(in) % nctx, how = fin_u8(in);
    u32 id = do_read(0x200004 + 0x1000 * (u64)c, 4);

    if (!(how & 3))
        return;
    if (how & 4)
        c = fin_u8(in) % nctx;
    if (!(how & 8))
        id = pick_source(in);
    do_write(0x200004 + 0x1000 * (u64)c, 4, id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    static const unsigned int sizes[] = { 4, 4, 4, 4, 4, 1, 2, 8, 0, 3 };
    struct vplic_config cfg = pick_config(&in);

    if (!config_ok(&cfg)) {
        cfg.ndev = 95;
        cfg.nr_vcpus = 2;
    }
    memset(&plic, 0, sizeof(plic));
    memset(done, 0, sizeof(done));
    memset(want_done, 0, sizeof(want_done));
    create(&cfg);
    check_state();
    while (!fin_done(&in)) {
        unsigned int op = fin_u8(&in);
        u64 off, val;
        unsigned int sz;

        /* Every input byte is read in its own statement: argument order is unspecified. */
        switch (op % 12) {
        case 0:
        case 1:
            off = pick_offset(&in);
            do_read(off, fin_pick(&in, sizes));
            break;
        case 2:
        case 3:
            off = pick_offset(&in);
            sz = fin_pick(&in, sizes);
            val = fin_bool(&in) ? fin_u8(&in) % 9 : fin_u64(&in);
            do_write(off, sz, val);
            break;
        case 4:
            do_level(pick_source(&in), op & 0x80);
            break;
        case 5:
            do_pulse(pick_source(&in));
            break;
        case 6:
            do_set_hw(pick_source(&in), op & 0x80);
            break;
        case 7:
        case 8:
            guest_step(&in);
            break;
        case 9: /* priority 1-7 and an enable word of some context: get interrupts flowing */
            off = 4 * (u64)pick_source(&in);
            do_write(off, 4, fin_u8(&in) % 7 + 1);
            off = 0x2000 + 0x80 * (u64)(fin_u8(&in) % nctx);
            off += 4 * (u64)(fin_u8(&in) % 32);
            do_write(off, 4, fin_u32(&in));
            break;
        case 10:
            do_reset();
            break;
        case 11:
            if (op >> 4)
                break;
            cfg = pick_config(&in);
            create(&cfg);
            break;
        }
        check_state();
    }
    return 0;
}
