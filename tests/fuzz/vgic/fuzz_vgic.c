/*
 * The vGICv3 distributor and redistributor emulation (src/vdev/vgic.c)
 * under random MMIO from several vCPUs (every width, offsets biased to real
 * registers, random values), injections (vgic_inject, vgic_set_level, the
 * private lines, forwarded HW interrupts, SGIs through vgic_send_sgi) and
 * the guest's side of the CPU interface on a fake LR file (fake_lr.c):
 * entry (flush), acknowledge, EOI, maintenance (sync).
 *
 * After every step:
 *  - a want bit (queued for an LR) is set only on the interrupt's target,
 *    so never on two vCPUs, and only for an interrupt that is enabled,
 *    pending (latched, or a level line high) and in an enabled group;
 *  - conversely such an interrupt, not in an LR and with a target, is
 *    queued there (nothing is lost);
 *  - an interrupt with in_lr set is in exactly one used LR of the fake LR
 *    file, the one irq->lr names, on its target when it has one; every used
 *    LR holds an interrupt that says so; so no INTID is in two LRs (which
 *    IHI 0069 12.4.6 makes UNPREDICTABLE);
 * and after every register read: no bit beyond the access width, and only
 * the bits the architecture defines for that register (RAZ for reserved
 * registers and for interrupts the GIC does not implement). The first
 * three are vgic_check.c's, shared with the vGICv2 harness.
 */
#include <string.h>

#include <keel/gic_regs.h>
#include <keel/vgic.h>
#include <keel/vm.h>

#include "fake_lr.h"
#include "fuzz_input.h"
#include "vgic_check.h"

static struct vm vm;
static struct vcpu vcpus[VM_MAX_VCPUS];

/* ---- what a register may read as ---- */

/* Bitmap registers: word @idx covers INTIDs 32*idx..; RAZ where @lo..@hi has none. */
static bool bitmap_range(u64 off, u64 *idx)
{
    if (off < GICD_IGROUPR || off >= GICD_ICACTIVER + 0x80)
        return false;
    *idx = ((off - GICD_IGROUPR) % 0x80) / 4;
    return true;
}

/* The architecturally defined bits of a 32-bit word (64 for IROUTER) at @off. */
static u64 gicd_defined(u64 off)
{
    u64 idx;

    if (off == GICD_CTLR)
        return GICD_CTLR_EnableGrp0 | GICD_CTLR_EnableGrp1 | GICD_CTLR_ARE | GICD_CTLR_DS;
    if (off == GICD_TYPER || off == GICD_IIDR)
        return 0xffffffff;
    if (off == GICD_PIDR2)
        return 0xff;
    if (bitmap_range(off, &idx))
        return idx >= 1 && idx < VGIC_NR_IRQS / 32 ? 0xffffffff : 0;
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 0x400) {
        u64 first = off - GICD_IPRIORITYR;
        return first >= VGIC_NR_PRIVATE && first < VGIC_NR_IRQS ? 0xf8f8f8f8 : 0;
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100) {
        u64 first = (off - GICD_ICFGR) * 4;
        return first >= VGIC_NR_PRIVATE && first < VGIC_NR_IRQS ? 0xaaaaaaaa : 0;
    }
    if (off >= GICD_IROUTER && off < GICD_IROUTER + 8 * 1020) {
        u64 intid = (off - GICD_IROUTER) / 8;
        return intid >= VGIC_NR_PRIVATE && intid < VGIC_NR_IRQS ? MPIDR_AFF_BITS : 0;
    }
    return 0;
}

static u64 gicr_defined(u64 off, const struct vcpu *t)
{
    if (off < GICR_SGI_BASE) {
        switch (off) {
        case GICR_IIDR: return 0xffffffff;
        case GICR_TYPER: return ~0ULL;
        case GICR_WAKER: return GICR_WAKER_ProcessorSleep | GICR_WAKER_ChildrenAsleep;
        case GICR_PIDR2: return 0xff;
        }
        return 0;
    }
    off -= GICR_SGI_BASE;
    u64 idx;
    if (bitmap_range(off, &idx))
        return idx == 0 ? 0xffffffff : 0;
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + VGIC_NR_PRIVATE)
        return 0xf8f8f8f8;
    if (off == GICD_ICFGR + 4)
        return 0xaaaaaaaa;
    if (off == GICD_ICFGR)
        return 0xaaaaaaaa;
    return 0;
}

static void check_read(bool gicd, u64 off, unsigned int size, u64 val, const struct vcpu *t)
{
    u64 word = gicd && off >= GICD_IROUTER && off < GICD_IROUTER + 8 * 1020 ? off & ~7ULL
               : off < GICR_SGI_BASE && !gicd && (off & ~7ULL) == GICR_TYPER ? GICR_TYPER
                                                                           : off & ~3ULL;
    unsigned int shift = (unsigned int)(off - word) * 8;
    u64 defined = gicd ? gicd_defined(word) : gicr_defined(word, t);

    FUZZ_CHECK(size == 8 || !(val >> (8 * size)), "%s read %#llx/%u: %#llx wider than the access",
               gicd ? "GICD" : "GICR", (unsigned long long)off, size, (unsigned long long)val);
    FUZZ_CHECK(!((val << shift) & ~defined), "%s read %#llx/%u: %#llx has undefined bits (%#llx)",
               gicd ? "GICD" : "GICR", (unsigned long long)off, size, (unsigned long long)val,
               (unsigned long long)defined);
    if (gicd && word == GICD_CTLR && size == 4)
        FUZZ_CHECK((val & (GICD_CTLR_ARE | GICD_CTLR_DS)) == (GICD_CTLR_ARE | GICD_CTLR_DS),
                   "GICD_CTLR %#llx: ARE and DS are RAO", (unsigned long long)val);
    if (gicd && word == GICD_TYPER && size == 4)
        FUZZ_CHECK(((val & 0x1f) + 1) * 32 == VGIC_NR_IRQS, "GICD_TYPER %#llx", (unsigned long long)val);
    if (!gicd && t && word == GICR_TYPER && shift == 0 && size == 8) {
        FUZZ_CHECK(((val >> 8) & 0xffff) == t->id, "GICR_TYPER %#llx: processor number",
                   (unsigned long long)val);
        FUZZ_CHECK(!!(val & GICR_TYPER_Last) == (t->id == vm.cfg.nr_vcpus - 1),
                   "GICR_TYPER %#llx: Last", (unsigned long long)val);
        FUZZ_CHECK((val >> 32) == ((t->arch.vmpidr & 0xffffff) | ((t->arch.vmpidr >> 32) & 0xff) << 24),
                   "GICR_TYPER %#llx: affinity", (unsigned long long)val);
    }
    if (!gicd && t && word == GICR_SGI_BASE + GICD_ICFGR && size == 4)
        FUZZ_CHECK(val == 0xaaaaaaaa, "GICR_ICFGR0 %#llx: SGIs are edge", (unsigned long long)val);
}

/* ---- driving it ---- */

static const u16 gicd_regs[] = {
    GICD_CTLR, GICD_TYPER, GICD_IIDR, GICD_TYPER2, GICD_STATUSR, GICD_IGROUPR, GICD_ISENABLER,
    GICD_ICENABLER, GICD_ISPENDR, GICD_ICPENDR, GICD_ISACTIVER, GICD_ICACTIVER, GICD_IPRIORITYR,
    0x0800 /* ITARGETSR */, GICD_ICFGR, 0x0d00 /* IGRPMODR */, 0x0e00 /* NSACR */,
    0x0f00 /* SGIR */, 0x0f10 /* CPENDSGIR */, 0x0f20 /* SPENDSGIR */, GICD_IROUTER,
    GICD_IROUTER + 0x100, GICD_PIDR2,
};
static const u32 gicr_regs[] = {
    GICR_CTLR, GICR_IIDR, GICR_TYPER, GICR_TYPER + 4, GICR_STATUSR, GICR_WAKER, GICR_PROPBASER,
    GICR_PENDBASER, GICR_PIDR2, GICR_SGI_BASE + GICD_IGROUPR, GICR_SGI_BASE + GICD_ISENABLER,
    GICR_SGI_BASE + GICD_ICENABLER, GICR_SGI_BASE + GICD_ISPENDR, GICR_SGI_BASE + GICD_ICPENDR,
    GICR_SGI_BASE + GICD_ISACTIVER, GICR_SGI_BASE + GICD_ICACTIVER,
    GICR_SGI_BASE + GICD_IPRIORITYR, GICR_SGI_BASE + GICD_ICFGR, GICR_SGI_BASE + GICD_ICFGR + 4,
    GICR_SGI_BASE + 0x0d00,
};
static const unsigned int sizes[] = { 4, 4, 4, 8, 1, 2, 4, 8 };

static u64 gicd_offset(struct fuzz_in *in, unsigned int size)
{
    u8 how = fin_u8(in);
    u64 base = fin_pick(in, gicd_regs);

    if (how & 0x80)
        return fin_u16(in);
    /* An index into the register array, scaled to the access width, sometimes misaligned. */
    return base + (u64)(fin_u8(in) % 0x40) * (base >= GICD_IROUTER && base < GICD_PIDR2 ? 8 : size) +
           ((how & 0x70) == 0x70 ? (how & 7) : 0);
}

static u64 gicr_offset(struct fuzz_in *in, unsigned int size)
{
    u8 how = fin_u8(in);
    u64 frame = fin_below(in, VM_MAX_VCPUS + 1) * VGICV3_GICR_STRIDE;

    if (how & 0x80)
        return frame + fin_u32(in) % VGICV3_GICR_STRIDE;
    return frame + fin_pick(in, gicr_regs) + (fin_u8(in) % 8) * size +
           ((how & 0x70) == 0x70 ? (how & 7) : 0);
}

/* INTIDs: mostly ones a guest would use, sometimes anything. */
static u32 pick_intid(struct fuzz_in *in)
{
    u8 k = fin_u8(in);

    switch (k & 3) {
    case 0: return k >> 4;                        /* SGI */
    case 1: return 16 + (k >> 4);                 /* PPI */
    case 2: return 32 + (k >> 2) % 48;            /* low SPI */
    default: return fin_u16(in) % 1100;           /* anything, past the GIC too */
    }
}

static void reset(struct fuzz_in *in)
{
    bool clusters = fin_bool(in);

    memset(&vm, 0, sizeof(vm));
    memset(vcpus, 0, sizeof(vcpus));
    vm.cfg.nr_vcpus = fin_below(in, VM_MAX_VCPUS) + 1;
    fake_lr_reset(fin_below(in, VGIC_MAX_LRS) + 1);
    for (unsigned int i = 0; i < vm.cfg.nr_vcpus; i++) {
        vcpus[i].vm = &vm;
        vcpus[i].id = i;
        /* vm.c's layout (Aff0 = index), or two per cluster to exercise Aff1 routing */
        vcpus[i].arch.vmpidr = BIT(31) | (clusters ? ((u64)(i / 2) << 8 | (i % 2)) : i);
        vm.vcpus[i] = &vcpus[i];
        vgic_init_vcpu(&vcpus[i]);
    }
    vgicv3_reset(&vm);
}

/* A guest driver's usual start, so deep states are reached from short inputs. */
static void quick_setup(struct fuzz_in *in, struct vcpu *v)
{
    vgicd_write(v, GICD_CTLR, 4, fin_u8(in) & 3);
    for (unsigned int i = 0; i < 3; i++) {
        u32 word = fin_below(in, VGIC_NR_IRQS / 32);
        vgicd_write(v, GICD_IGROUPR + 4 * word, 4, fin_bool(in) ? ~0U : 0);
        vgicd_write(v, GICD_ISENABLER + 4 * word, 4, fin_u32(in));
    }
    for (unsigned int f = 0; f < vm.cfg.nr_vcpus; f++) {
        vgicr_write(v, f * VGICV3_GICR_STRIDE + GICR_WAKER, 4, 0);
        vgicr_write(v, f * VGICV3_GICR_STRIDE + GICR_SGI_BASE + GICD_IGROUPR, 4, ~0U);
        vgicr_write(v, f * VGICV3_GICR_STRIDE + GICR_SGI_BASE + GICD_ISENABLER, 4, fin_u32(in));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };

    reset(&in);
    vgic_check_all(&vm);
    while (!fin_done(&in)) {
        u8 op = fin_u8(&in);
        struct vcpu *v = &vcpus[fin_below(&in, vm.cfg.nr_vcpus)];
        unsigned int sz = fin_pick(&in, sizes);
        u64 off, val;

        /* MMIO runs on the accessing vCPU's CPU; injections come from anywhere. */
        fake_lr.current = v;
        switch (op % 16) {
        case 0:
        case 1:
            off = gicd_offset(&in, sz);
            val = 0x5555aaaa5555aaaaULL;
            if (!vgicd_read(v, off, sz, &val))
                check_read(true, off, sz, val, NULL);
            break;
        case 2:
        case 3:
            off = gicd_offset(&in, sz);
            vgicd_write(v, off, sz, fin_u64(&in));
            break;
        case 4:
            off = gicr_offset(&in, sz);
            val = 0x5555aaaa5555aaaaULL;
            if (!vgicr_read(v, off, sz, &val)) {
                u64 f = off / VGICV3_GICR_STRIDE;
                check_read(false, off % VGICV3_GICR_STRIDE, sz, val,
                           f < vm.cfg.nr_vcpus ? &vcpus[f] : NULL);
                if (f >= vm.cfg.nr_vcpus)
                    FUZZ_CHECK(val == 0, "GICR read past the last frame: %#llx",
                               (unsigned long long)val);
            }
            break;
        case 5:
            off = gicr_offset(&in, sz);
            vgicr_write(v, off, sz, fin_u64(&in));
            break;
        case 6:
            fake_lr.current = fin_bool(&in) ? v : NULL;
            vgic_inject(&vm, fin_bool(&in) ? v : NULL, pick_intid(&in));
            break;
        case 7:
            fake_lr.current = NULL;
            vgic_set_level(&vm, pick_intid(&in), fin_bool(&in));
            break;
        case 8:
            vgic_set_private_level(v, pick_intid(&in), fin_bool(&in));
            break;
        case 9: {
            u32 intid = pick_intid(&in);
            if (fin_bool(&in)) {
                fake_lr.current = NULL;
                vgic_inject_hw_spi(&vm, intid, intid);
            } else {
                vgic_inject_hw(v, 27, 27); /* the virtual timer */
            }
            break;
        }
        case 10: {
            /* ICC_SGI1R_EL1: INTID, IRM, a target list near the vCPUs' affinities */
            u64 sgir = (u64)(fin_u8(&in) & 0xf) << 24 | fin_u16(&in);
            u8 how = fin_u8(&in);
            if (how & 1)
                sgir |= BIT(40);
            if (how & 2)
                sgir |= (u64)(how >> 4) << 16 | (u64)fin_u8(&in) << 32;
            if (how & 4)
                sgir |= (u64)(fin_u8(&in) & 0xf) << 44;
            vgic_send_sgi(v, sgir);
            break;
        }
        case 11:
        case 12:
            fake_lr_flush(v);
            break;
        case 13:
            fake_lr_guest_ack(v, fin_u8(&in));
            break;
        case 14:
            fake_lr_guest_eoi(v, fin_u8(&in));
            break;
        case 15:
            if (op == 15)
                reset(&in);
            else if (op < 0x80)
                quick_setup(&in, v);
            else
                vgic_sync(v); /* a maintenance interrupt */
            break;
        }
        vgic_check_all(&vm);
    }
    return 0;
}
