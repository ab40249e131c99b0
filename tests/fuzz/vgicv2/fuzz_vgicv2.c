/*
 * The vGICv2 distributor (src/irqchip/vgicv2.c, Arm IHI 0048B chapter 4)
 * and its GICC_DIR page, reached through the handlers vgicv2_add_mmio()
 * registers, in a VM of 1-8 vCPUs with 1-16 list registers: random GICD
 * accesses of every width from any vCPU (offsets biased to the register
 * map, sometimes misaligned or anywhere in the 64 KiB frame), GICD_SGIR
 * writes with each filter, ITARGETSR rewrites, DIR writes with CPUID bits,
 * injections (edges, level lines, private lines, forwarded SPIs and the
 * virtual timer) and the guest's side of the CPU interface on the vgic
 * harness's fake LR file (../vgic/fake_lr.c, which gives an LR one SGI
 * source as vgic_lr.c does).
 *
 * After every step, the invariants both versions keep (../vgic/vgic_check.c:
 * want bits only on the target and only for deliverable interrupts,
 * nothing lost, LR bookkeeping), and the vGICv2 ones:
 *  - an SPI's ITARGETSR byte names only vCPUs that exist (4.3.12); one in
 *    no LR has a target exactly when its byte names one, and that target is
 *    in the byte; so no SPI is queued on a vCPU outside its byte, unless it
 *    is held in an LR of its old target (a retarget of an active one waits
 *    for that delivery to end); with one vCPU, a uniprocessor GIC, the
 *    bytes stay 0 (RAZ/WI) and every SPI targets vCPU 0;
 *  - sgi_sources names existing vCPUs only, and only for SGIs; an SGI's
 *    latch is pending exactly when some source is (one in an LR has left
 *    the set);
 * after every access: it is refused exactly when 4.1.4 does not allow its
 * size (word everywhere, byte only on IPRIORITYR, ITARGETSR, CPENDSGIR and
 * SPENDSGIR) or it is misaligned;
 * after every read, each byte as the architecture defines it: CTLR's two
 * enables, TYPER (ITLinesNumber 7, CPUNumber), ICPIDR2.ArchRev 2, bitmaps
 * and priorities (5 bits) only for INTIDs below 256, ITARGETSR0-7 the
 * reader's own bit, SPI bytes as the distributor holds them (all RAZ with
 * one vCPU), ICFGR0 all edge, CPENDSGIR/SPENDSGIR the reader's sources, the
 * one pending in its LR included, ISPENDR0's SGI bits pending from any
 * source, everything else RAZ;
 * after every write: the SGI sources change only as GICD_SGIR (filters 0-2
 * to existing vCPUs, filter 3 nothing), CPENDSGIR and SPENDSGIR say, in
 * the writer's bank for the last two (a source already pending in its LR
 * is not set again); ISPENDR0/ICPENDR0 never touch them;
 * after every DIR write: vgic_dir() gets the INTID alone (fake_lr.c).
 */
#include <string.h>

#include <drivers/gicv2_regs.h>
#include <keel/gic_regs.h>
#include <keel/vgic.h>
#include <keel/vm.h>
#include <keel/vgic_vm.h>

#include "fake_lr.h"
#include "fuzz_input.h"
#include "vgic_check.h"
#include "vgic_internal.h"

static struct vm vm;
static struct vcpu vcpus[VM_MAX_VCPUS];

/* What vgicv2_add_mmio() registers: [0] the distributor, [1] the GICC_DIR page. */
static struct {
    u64 base;
    int (*rd)(struct vcpu *, u64, unsigned int, u64 *);
    int (*wr)(struct vcpu *, u64, unsigned int, u64);
} regions[2];
static unsigned int nr_regions;

void vm_add_mmio(struct vm *vm_, u64 base, u64 size,
                 int (*rd)(struct vcpu *, u64, unsigned int, u64 *),
                 int (*wr)(struct vcpu *, u64, unsigned int, u64))
{
    FUZZ_CHECK(nr_regions < 2, "more than two vGICv2 MMIO regions");
    regions[nr_regions].base = base;
    regions[nr_regions].rd = rd;
    regions[nr_regions].wr = wr;
    nr_regions++;
}

static u8 all_cpus(void)
{
    return (u8)(BIT(vm.cfg.nr_vcpus) - 1);
}

static bool in(u64 off, u64 base, u64 size)
{
    return off - base < size;
}

/* ---- structural invariants ---- */

static void check_spi(struct vgic_irq *irq)
{
    bool up = vm.cfg.nr_vcpus == 1;
    u8 targets = up ? 1 : irq->targets; /* a uniprocessor's all go to its CPU */

    FUZZ_CHECK(!(irq->targets & ~(up ? 0 : all_cpus())), "SPI %u targets %#x, %u vCPUs",
               irq->intid, irq->targets, vm.cfg.nr_vcpus);
    FUZZ_CHECK(!irq->sgi_sources, "SPI %u has SGI sources %#x", irq->intid, irq->sgi_sources);
    if (irq->in_lr)
        return; /* its target is its holder (vgic_check.c) until the delivery ends */
    FUZZ_CHECK((irq->target == 0xff) == !targets, "SPI %u targets %#x but target %u", irq->intid,
               targets, irq->target);
    FUZZ_CHECK(irq->target == 0xff || (targets & BIT(irq->target)),
               "SPI %u routed to vCPU %u outside its targets %#x", irq->intid, irq->target, targets);
}

static void check_private(const struct vcpu *v, const struct vgic_irq *irq)
{
    if (irq->intid >= 16) {
        FUZZ_CHECK(!irq->sgi_sources, "vCPU %u PPI %u has SGI sources", v->id, irq->intid);
        return;
    }
    FUZZ_CHECK(!(irq->sgi_sources & ~all_cpus()), "vCPU %u SGI %u sources %#x, %u vCPUs", v->id,
               irq->intid, irq->sgi_sources, vm.cfg.nr_vcpus);
    FUZZ_CHECK(irq->pending == (irq->sgi_sources != 0), "vCPU %u SGI %u pending %d, sources %#x",
               v->id, irq->intid, irq->pending, irq->sgi_sources);
    FUZZ_CHECK(irq->edge, "vCPU %u SGI %u level-sensitive", v->id, irq->intid);
}

static void check_all(void)
{
    vgic_check_all(&vm);
    FUZZ_CHECK(vm.vgic.v2, "the VM lost its v2 model");
    for (u32 i = 0; i < VGIC_NR_SPIS; i++)
        check_spi(&vm.vgic.spis[i]);
    for (unsigned int v = 0; v < vm.cfg.nr_vcpus; v++)
        for (u32 i = 0; i < VGIC_NR_PRIVATE; i++)
            check_private(&vcpus[v], &vcpus[v].vgic.private_irqs[i]);
}

/* ---- accesses: which are allowed (4.1.4), what reads may return ---- */

static bool byte_reg(u64 off)
{
    return in(off, GICD_IPRIORITYR, 0x400) || in(off, GICD_ITARGETSR, 0x400) ||
           in(off, GICD_CPENDSGIR, 0x20);
}

static bool access_allowed(u64 off, unsigned int size)
{
    return off % size == 0 && (size == 4 || (size == 1 && byte_reg(off)));
}

/* Where SGI @sgi of @r waits in one of @r's LRs, pending: its source bit, else 0. */
static u8 lr_pending_source(const struct vcpu *r, u32 sgi)
{
    const struct vgic_irq *irq = &r->vgic.private_irqs[sgi];
    const struct fake_lr *l;

    if (!irq->in_lr)
        return 0;
    l = &fake_lr.lr[r->id][irq->lr];
    return l->pending ? (u8)BIT(l->source) : 0;
}

static u8 sgi_pending_byte(const struct vcpu *r, u32 first)
{
    u8 b = 0;

    for (u32 i = 0; i < 8; i++)
        if (r->vgic.private_irqs[first + i].sgi_sources || lr_pending_source(r, first + i))
            b |= (u8)BIT(i);
    return b;
}

struct byte_spec {
    u8 mask;   /* bits that may be set */
    int exact; /* the byte's value, or -1 when only the mask is known */
};

static struct byte_spec bitmap_byte(u64 off, const struct vcpu *r)
{
    u64 in_reg = (off - GICD_IGROUPR) % 0x80;
    bool pend = in(off, GICD_ISPENDR, 0x100);

    if (in_reg >= VGIC_NR_IRQS / 8)
        return (struct byte_spec){ 0, 0 };
    if (pend && in_reg < 2) /* SGIs: pending from any source (4.3.7) */
        return (struct byte_spec){ 0xff, sgi_pending_byte(r, (u32)in_reg * 8) };
    return (struct byte_spec){ 0xff, -1 };
}

static struct byte_spec targets_byte(u64 off, const struct vcpu *r)
{
    u32 intid = (u32)(off - GICD_ITARGETSR);

    if (vm.cfg.nr_vcpus == 1) /* uniprocessor: RAZ/WI */
        return (struct byte_spec){ 0, 0 };
    if (intid < VGIC_NR_PRIVATE)
        return (struct byte_spec){ 0xff, (int)BIT(r->id) };
    if (intid < VGIC_NR_IRQS)
        return (struct byte_spec){ all_cpus(), vgic_get_irq(&vm, NULL, intid)->targets };
    return (struct byte_spec){ 0, 0 };
}

static struct byte_spec sgi_sources_byte(u64 off, const struct vcpu *r)
{
    u32 sgi = (u32)(off - GICD_CPENDSGIR) % 16;

    return (struct byte_spec){ all_cpus(),
                               r->vgic.private_irqs[sgi].sgi_sources | lr_pending_source(r, sgi) };
}

static struct byte_spec gicd_byte(u64 off, const struct vcpu *r)
{
    u32 typer = 7 | (vm.cfg.nr_vcpus - 1) << 5;

    if (off < 4)
        return (struct byte_spec){ off ? 0 : GICD_CTLR_EnableGrp0 | GICD_CTLR_EnableGrp1, -1 };
    if (in(off, GICD_TYPER, 4))
        return (struct byte_spec){ 0xff, (u8)(typer >> 8 * (off - GICD_TYPER)) };
    if (in(off, GICD_ICPIDR2_V2, 4)) /* ArchRev [7:4] (check_read), the rest reserved (4.3.18) */
        return (struct byte_spec){ off == GICD_ICPIDR2_V2 ? 0xff : 0, -1 };
    if (in(off, GICD_IIDR, 4) || in(off, 0xfd0, 0x30)) /* IMPLEMENTATION DEFINED */
        return (struct byte_spec){ 0xff, -1 };
    if (in(off, GICD_IGROUPR, 0x380))
        return bitmap_byte(off, r);
    if (in(off, GICD_IPRIORITYR, 0x400))
        return (struct byte_spec){ off - GICD_IPRIORITYR < VGIC_NR_IRQS ? 0xf8 : 0, -1 };
    if (in(off, GICD_ITARGETSR, 0x400))
        return targets_byte(off, r);
    if (in(off, GICD_ICFGR, 4)) /* SGIs: edge, read-only (4.3.13) */
        return (struct byte_spec){ 0xaa, 0xaa };
    if (in(off, GICD_ICFGR, 0x100))
        return (struct byte_spec){ (off - GICD_ICFGR) * 4 < VGIC_NR_IRQS ? 0xaa : 0, -1 };
    if (in(off, GICD_CPENDSGIR, 0x20))
        return sgi_sources_byte(off, r);
    return (struct byte_spec){ 0, 0 }; /* reserved, NSACR, SGIR (write-only): RAZ */
}

static void check_read(u64 off, unsigned int size, u64 val, const struct vcpu *r)
{
    FUZZ_CHECK(!(val >> 8 * size), "GICD read %#llx/%u: %#llx wider than the access",
               (unsigned long long)off, size, (unsigned long long)val);
    for (unsigned int i = 0; i < size; i++) {
        struct byte_spec s = gicd_byte(off + i, r);
        u8 b = (u8)(val >> 8 * i);
        FUZZ_CHECK(!(b & ~s.mask), "GICD read %#llx/%u by vCPU %u: byte %u %#x, may have %#x",
                   (unsigned long long)off, size, r->id, i, b, s.mask);
        FUZZ_CHECK(s.exact < 0 || b == s.exact, "GICD read %#llx/%u by vCPU %u: byte %u %#x, not %#x",
                   (unsigned long long)off, size, r->id, i, b, s.exact);
    }
    if (off == GICD_ICPIDR2_V2)
        FUZZ_CHECK(((val >> 4) & 0xf) == 2, "ICPIDR2 %#llx: ArchRev", (unsigned long long)val);
}

/* ---- SGI sources: what a write may do to them ---- */

static u8 sources_before[VM_MAX_VCPUS][16];
static u8 lr_source_before[16]; /* the writer's SGIs: the source pending in its LR */

static void sources_snapshot(const struct vcpu *w)
{
    for (unsigned int v = 0; v < vm.cfg.nr_vcpus; v++)
        for (u32 i = 0; i < 16; i++)
            sources_before[v][i] = vcpus[v].vgic.private_irqs[i].sgi_sources;
    for (u32 i = 0; i < 16; i++)
        lr_source_before[i] = lr_pending_source(w, i);
}

/* 4.3.15: the CPU interfaces a GICD_SGIR write from @w names, of those that exist. */
static u8 sgir_targets(const struct vcpu *w, u32 val)
{
    switch ((val >> 24) & 3) {
    case 0: return (u8)(val >> 16) & all_cpus();
    case 1: return all_cpus() & (u8)~BIT(w->id);
    case 2: return (u8)BIT(w->id);
    }
    return 0; /* reserved */
}

/* sources_before as the accepted write @w made it: what the registers say it does. */
static void sources_expect(const struct vcpu *w, u64 off, unsigned int size, u64 val)
{
    if (off == GICD_SGIR && size == 4) {
        u8 t = sgir_targets(w, (u32)val);
        for (unsigned int v = 0; v < vm.cfg.nr_vcpus; v++)
            if (t & BIT(v))
                sources_before[v][val & 0xf] |= (u8)BIT(w->id);
        return;
    }
    if (!in(off, GICD_CPENDSGIR, 0x20))
        return;
    for (unsigned int i = 0; i < size; i++) {
        u32 sgi = (u32)(off - GICD_CPENDSGIR + i) % 16;
        u8 *s = &sources_before[w->id][sgi];
        u8 bits = (u8)(val >> 8 * i);
        /* setting a pending state that is pending already, in the LR, changes nothing */
        u8 set = bits & all_cpus() & (u8)~lr_source_before[sgi];
        *s = in(off, GICD_SPENDSGIR, 0x10) ? *s | set : *s & (u8)~bits;
    }
}

static void sources_check(const char *what)
{
    for (unsigned int v = 0; v < vm.cfg.nr_vcpus; v++)
        for (u32 i = 0; i < 16; i++)
            FUZZ_CHECK(vcpus[v].vgic.private_irqs[i].sgi_sources == sources_before[v][i],
                       "%s: vCPU %u SGI %u sources %#x, expected %#x", what, v, i,
                       vcpus[v].vgic.private_irqs[i].sgi_sources, sources_before[v][i]);
}

/* ---- driving it ---- */

static const u16 gicd_regs[] = {
    GICD_CTLR, GICD_TYPER, GICD_IIDR, 0x00c, GICD_IGROUPR, GICD_ISENABLER, GICD_ICENABLER,
    GICD_ISPENDR, GICD_ICPENDR, GICD_ISACTIVER, GICD_ICACTIVER, GICD_IPRIORITYR, GICD_ITARGETSR,
    GICD_ITARGETSR + 0x20, GICD_ICFGR, 0x0e00 /* NSACR */, GICD_SGIR, GICD_CPENDSGIR,
    GICD_SPENDSGIR, 0x0f30, GICD_ICPIDR2_V2, 0x0fd0,
};
static const unsigned int sizes[] = { 4, 4, 4, 1, 1, 2, 4, 8 };

static u64 gicd_offset(struct fuzz_in *in, unsigned int size)
{
    u8 how = fin_u8(in);
    u64 base = fin_pick(in, gicd_regs);

    if (how & 0x80)
        return fin_u16(in);
    /* an index into the register array, scaled to the access width, sometimes misaligned */
    return base + (u64)(fin_u8(in) % 0x40) * size + ((how & 0x70) == 0x70 ? (how & 3) : 0);
}

static u32 pick_spi(struct fuzz_in *in)
{
    u8 k = fin_u8(in);

    return k & 0x80 ? 32 + k % 16 : 32 + fin_u16(in) % 240; /* a few often, past 255 rarely */
}

/* PPIs and SPIs (an SGI only comes from GICD_SGIR or SPENDSGIR on a GICv2). */
static u32 pick_intid(struct fuzz_in *in)
{
    u8 k = fin_u8(in);

    return k & 1 ? 16 + (k >> 1) % 16 : pick_spi(in);
}

static void gicd_read(struct vcpu *v, u64 off, unsigned int size)
{
    u64 val = 0x5555aaaa5555aaaaULL;
    int rc = regions[0].rd(v, off, size, &val);

    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "GICD read %#llx/%u: %d",
               (unsigned long long)off, size, rc);
    if (!rc)
        check_read(off, size, val, v);
}

static void gicd_write(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    int rc;

    sources_snapshot(v);
    rc = regions[0].wr(v, off, size, val);
    FUZZ_CHECK((rc == 0) == access_allowed(off, size), "GICD write %#llx/%u: %d",
               (unsigned long long)off, size, rc);
    if (!rc)
        sources_expect(v, off, size, val);
    sources_check("after a GICD write");
}

/* GICD_SGIR: any filter, a target list near the VM's CPUs, reserved bits sometimes set. */
static void sgir_write(struct fuzz_in *in, struct vcpu *v)
{
    u8 how = fin_u8(in);
    u32 val = (u32)(how & 3) << 24 | (u32)fin_u8(in) << 16 | (how >> 4);

    if (how & 4)
        val |= fin_u32(in) & 0xfcfff0;
    gicd_write(v, GICD_SGIR, 4, val);
}

/* ITARGETSR of an SPI: a byte or its word, mostly vCPUs that exist. */
static void targets_write(struct fuzz_in *in, struct vcpu *v)
{
    u32 intid = pick_spi(in);
    u8 how = fin_u8(in);
    u64 val = how & 1 ? fin_u32(in) : fin_u8(in) & (how & 2 ? 0xff : all_cpus());

    if (how & 1)
        gicd_write(v, GICD_ITARGETSR + (intid & ~3u), 4, val);
    else
        gicd_write(v, GICD_ITARGETSR + intid, 1, val);
}

/* The GICC_DIR page: mostly DIR itself with an INTID and a CPUID, sometimes anything. */
static void dir_write(struct fuzz_in *in, struct vcpu *v)
{
    u8 how = fin_u8(in);
    unsigned int size = how & 0x80 ? fin_pick(in, sizes) : 4;
    u64 off = how & 0x40 ? fin_u16(in) % 0x1000 : 0;
    u32 val = (u32)fin_u8(in) << 10 | (u32)pick_intid(in);
    int rc;

    if (how & 0x20)
        val = fin_u32(in);
    rc = regions[1].wr(v, off, size, val);
    FUZZ_CHECK((rc == 0) == (size == 4 && off % 4 == 0), "DIR write %#llx/%u: %d",
               (unsigned long long)off, size, rc);
}

static void reset(struct fuzz_in *in)
{
    memset(&vm, 0, sizeof(vm));
    memset(vcpus, 0, sizeof(vcpus));
    vm.cfg.nr_vcpus = fin_below(in, VM_MAX_VCPUS) + 1;
    fake_lr_reset(fin_below(in, VGIC_MAX_LRS) + 1);
    for (unsigned int i = 0; i < vm.cfg.nr_vcpus; i++) {
        vcpus[i].vm = &vm;
        vcpus[i].id = i;
        vcpus[i].arch.vmpidr = BIT(31) | i;
        vm.vcpus[i] = &vcpus[i];
    }
    nr_regions = 0;
    vgicv2_add_mmio(&vm);
    FUZZ_CHECK(nr_regions == 2 && regions[0].base == VGICV2_GICD_BASE &&
                   regions[1].base == VGICV2_GICC_BASE + GICC_DIR,
               "vgicv2_add_mmio: %u regions", nr_regions);
    vgicv2_reset(&vm);
}

/* Linux's gic_dist_init and gic_cpu_init, roughly, so deep states come from short inputs. */
static void quick_setup(struct fuzz_in *in, struct vcpu *v)
{
    gicd_write(v, GICD_CTLR, 4, fin_u8(in) & 3);
    for (unsigned int i = 0; i < 3; i++) {
        u32 word = 1 + fin_below(in, VGIC_NR_IRQS / 32 - 1);
        gicd_write(v, GICD_IGROUPR + 4 * word, 4, fin_bool(in) ? ~0U : 0);
        gicd_write(v, GICD_ISENABLER + 4 * word, 4, fin_u32(in));
        for (u32 t = 0; t < 32; t += 4)
            gicd_write(v, GICD_ITARGETSR + 32 * word + t, 4, 0x01010101u * fin_u8(in));
    }
    for (unsigned int c = 0; c < vm.cfg.nr_vcpus; c++) {
        fake_lr.current = &vcpus[c];
        gicd_write(&vcpus[c], GICD_IGROUPR, 4, fin_bool(in) ? ~0U : 0);
        gicd_write(&vcpus[c], GICD_ISENABLER, 4, 0xffff | fin_u32(in));
    }
    fake_lr.current = v;
}

static void inject(struct fuzz_in *in, struct vcpu *v, u8 op)
{
    fake_lr.current = NULL; /* devices and timers, not the guest */
    switch (op) {
    case 6: vgic_inject(&vm, NULL, pick_spi(in)); break;
    case 7: vgic_set_level(&vm, pick_spi(in), fin_bool(in)); break;
    case 8: vgic_set_private_level(v, 16 + fin_below(in, 16), fin_bool(in)); break;
    default:
        if (fin_bool(in)) {
            u32 intid = pick_spi(in);
            vgic_inject_hw_spi(&vm, intid, intid);
        } else {
            fake_lr.current = v;
            vgic_inject_hw(v, 27, 27); /* the virtual timer */
        }
    }
}

static void step(struct fuzz_in *in)
{
    u8 op = fin_u8(in);
    struct vcpu *v = &vcpus[fin_below(in, vm.cfg.nr_vcpus)];
    unsigned int sz = fin_pick(in, sizes);

    /* MMIO runs on the accessing vCPU's CPU; injections come from anywhere. */
    fake_lr.current = v;
    switch (op % 16) {
    case 0: case 1: gicd_read(v, gicd_offset(in, sz), sz); break;
    case 2: case 3: gicd_write(v, gicd_offset(in, sz), sz, fin_u64(in)); break;
    case 4: sgir_write(in, v); break;
    case 5: dir_write(in, v); break;
    case 6: case 7: case 8: case 9: inject(in, v, op % 16); break;
    case 10: targets_write(in, v); break;
    case 11: case 12: fake_lr_flush(v); break;
    case 13: fake_lr_guest_ack(v, fin_u8(in)); break;
    case 14: fake_lr_guest_eoi(v, fin_u8(in)); break;
    default:
        if (op == 15)
            reset(in);
        else if (op < 0x80)
            quick_setup(in, v);
        else
            vgic_sync(v); /* a maintenance interrupt */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };

    reset(&in);
    check_all();
    while (!fin_done(&in)) {
        step(&in);
        check_all();
    }
    return 0;
}
