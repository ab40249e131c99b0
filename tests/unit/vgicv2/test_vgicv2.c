/*
 * Host unit tests for src/irqchip/vgicv2.c, the vGICv2 distributor and the
 * GICC_DIR page, written from the GICv2 architecture (Arm IHI 0048B,
 * chapter 4 "Programmers' model", and 3.1 for the interrupt models) rather
 * than from the code. Where the architecture leaves a choice (reset values
 * it calls UNKNOWN, which of several targets takes an SPI), the test says
 * which choice Keel documents (docs/irqchip.md) and checks that.
 *
 * The distributor's handlers are static: vgicv2_add_mmio() registers them,
 * and the vm_add_mmio() here keeps what it is given, so every access goes
 * through the same entry points a guest's trapped load or store reaches.
 * The list-register half and vcpu_kick are the vgic suite's fakes: nothing
 * is ever in a list register, kicks are recorded. vgic_dir() is faked here.
 *
 * A test named test_bug_* would describe a known bug and skip itself
 * unless VGIC_KNOWN_BUGS=1 (tests/unit/known_bug.h); none is open.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <keel/vcpu.h>
#include <keel/vgic.h>
#include <keel/vm.h>

#include "fake_vgic_deps.h"
#include "known_bug.h"
#include "vgic_internal.h" /* vgicv2_add_mmio() */

/*
 * IHI 0048B Table 4-1 (distributor register map) and Table 4-2 (CPU
 * interface), spelled out here with a D_ prefix so that Keel's headers
 * neither clash with them nor hide a typo in vgicv2.c.
 */
#define D_CTLR 0x000
#define D_TYPER 0x004
#define D_IIDR 0x008
#define D_IGROUPR 0x080
#define D_ISENABLER 0x100
#define D_ICENABLER 0x180
#define D_ISPENDR 0x200
#define D_ICPENDR 0x280
#define D_ISACTIVER 0x300
#define D_ICACTIVER 0x380
#define D_IPRIORITYR 0x400
#define D_ITARGETSR 0x800
#define D_ICFGR 0xc00
#define D_NSACR 0xe00
#define D_SGIR 0xf00
#define D_CPENDSGIR 0xf10
#define D_SPENDSGIR 0xf20
#define D_ICPIDR2 0xfe8
#define C_DIR 0x1000

#define GUEST_GICD 0x08000000UL /* QEMU virt,gic-version=2 */
#define GUEST_GICC 0x08010000UL

/* 4.3.15: GICD_SGIR fields */
#define SGIR(filter, list, intid) ((u32)(filter) << 24 | (u32)(list) << 16 | (u32)(intid))
#define F_LIST 0u
#define F_OTHERS 1u
#define F_SELF 2u
#define F_RESERVED 3u

#define CTLR_GRP0 0x1u
#define CTLR_GRP1 0x2u
#define NR_IRQS 256
#define SPI 40u

/* ---- fixture: a vGICv2 VM of N vCPUs, as vm.c builds one ---- */

struct mmio_reg {
    u64 base, size;
    int (*rd)(struct vcpu *, u64, unsigned int, u64 *);
    int (*wr)(struct vcpu *, u64, unsigned int, u64);
};

static struct mmio_reg regions[4];
static unsigned int nr_regions;
static struct { unsigned int calls; struct vcpu *from; u64 val; } dir_log;

/* vm.c's, as vgicv2_add_mmio() calls it: kept, so the tests can call the handlers. */
void vm_add_mmio(struct vm *vm, u64 base, u64 size,
                 int (*rd)(struct vcpu *, u64, unsigned int, u64 *),
                 int (*wr)(struct vcpu *, u64, unsigned int, u64))
{
    (void)vm;
    assert_true(nr_regions < ARRAY_SIZE(regions));
    regions[nr_regions++] = (struct mmio_reg){ base, size, rd, wr };
}

/* vgic_lr.c's: what the DIR page hands on is all that matters here. */
void vgic_dir(struct vcpu *vcpu, u64 val)
{
    dir_log.calls++;
    dir_log.from = vcpu;
    dir_log.val = val;
}

struct test_vm {
    struct vm vm;
    struct vcpu vcpus[VM_MAX_VCPUS];
};

static struct vm *vm;

static struct vcpu *V(unsigned int i)
{
    return vm->vcpus[i];
}

static int setup_vm(void **state, unsigned int n)
{
    struct test_vm *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->vm.cfg.nr_vcpus = n;
    for (unsigned int i = 0; i < n; i++) {
        t->vcpus[i].vm = &t->vm;
        t->vcpus[i].id = i;
        t->vcpus[i].pcpu = i;
        t->vcpus[i].arch.vmpidr = 0x80000000UL | i;
        t->vm.vcpus[i] = &t->vcpus[i];
    }
    vm = &t->vm;
    nr_regions = 0;
    memset(&dir_log, 0, sizeof(dir_log));
    vgicv2_add_mmio(vm);
    vgicv2_reset(vm);
    fake_vgic_reset();
    *state = t;
    return 0;
}

static int setup1(void **state) { return setup_vm(state, 1); }
static int setup2(void **state) { return setup_vm(state, 2); }
static int setup4(void **state) { return setup_vm(state, 4); }
static int setup8(void **state) { return setup_vm(state, 8); }

static int teardown(void **state)
{
    free(*state);
    vm = NULL;
    return 0;
}

/* ---- access helpers ---- */

static const struct mmio_reg *region_at(u64 base)
{
    for (unsigned int i = 0; i < nr_regions; i++)
        if (regions[i].base == base)
            return &regions[i];
    fail_msg("nothing registered at %#lx", (unsigned long)base);
    return NULL;
}

static int try_rd(struct vcpu *v, u64 off, unsigned int size, u64 *val)
{
    return region_at(GUEST_GICD)->rd(v, off, size, val);
}

static int try_wr(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    return region_at(GUEST_GICD)->wr(v, off, size, val);
}

/* Accesses that must be accepted. */
static u64 rd(struct vcpu *v, u64 off, unsigned int size)
{
    u64 val = 0xdeadbeefdeadbeefUL;

    assert_int_equal(try_rd(v, off, size, &val), 0);
    return val;
}

static void wr(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    assert_int_equal(try_wr(v, off, size, val), 0);
}

static u32 rd32(struct vcpu *v, u64 off) { return (u32)rd(v, off, 4); }
static void wr32(struct vcpu *v, u64 off, u32 val) { wr(v, off, 4, val); }

static u64 reg_of(u64 base, u32 intid) { return base + intid / 32 * 4; }
static u32 bit_of(u32 intid) { return 1u << (intid % 32); }

static bool bit_set(struct vcpu *v, u64 base, u32 intid)
{
    return rd32(v, reg_of(base, intid)) & bit_of(intid);
}

static bool want(const struct vcpu *v, u32 intid)
{
    return v->vgic.want[intid / 64] & (1UL << (intid % 64));
}

/* The vCPUs @intid is queued on, as a bitmap. */
static u32 wanted_on(u32 intid)
{
    u32 m = 0;

    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        if (want(V(i), intid))
            m |= 1u << i;
    return m;
}

/* Queued on exactly one vCPU, one of @set (3.1, the 1-N model). */
static void assert_one_of(u32 intid, u8 set)
{
    assert_int_equal(__builtin_popcount(wanted_on(intid)), 1);
    assert_true(wanted_on(intid) & set);
}

static u8 all_cpus(void)
{
    return (u8)((1u << vm->cfg.nr_vcpus) - 1);
}

/* @intid of @v's bank (SPIs: the shared one) enabled, in @group1, distributor on for both groups. */
static void irq_ready(struct vcpu *v, u32 intid, bool group1)
{
    wr32(v, D_CTLR, CTLR_GRP0 | CTLR_GRP1);
    if (group1)
        wr32(v, reg_of(D_IGROUPR, intid), rd32(v, reg_of(D_IGROUPR, intid)) | bit_of(intid));
    wr32(v, reg_of(D_ISENABLER, intid), bit_of(intid));
}

static void route(u32 intid, u8 targets)
{
    wr(V(0), D_ITARGETSR + intid, 1, targets);
}

/* SGI pending bits of @sgi in @v's bank: one per source (4.3.17). */
static u8 sgi_sources(struct vcpu *v, u32 sgi)
{
    return (u8)rd(v, D_SPENDSGIR + sgi, 1);
}

static void sgir(struct vcpu *from, u32 filter, u32 list, u32 sgi)
{
    wr32(from, D_SGIR, SGIR(filter, list, sgi));
}

/* Every SGI of every vCPU no longer pending, from any source. */
static void sgis_clear(void)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        for (u64 off = 0; off < 0x10; off += 4)
            wr32(V(i), D_CPENDSGIR + off, 0xffffffff);
}

/* ======================= identification, control, reset ======================= */

/*
 * 4.3.2 GICD_TYPER: ITLinesNumber [4:0] = 256 / 32 - 1, CPUNumber [7:5] =
 * CPU interfaces - 1, SecurityExtn [10] = 0 (none), LSPI [15:11] = 0
 * without them, the rest reserved.
 */
static void test_typer(void **state)
{
    (void)state;
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        assert_int_equal(rd32(V(i), D_TYPER), 7 | (vm->cfg.nr_vcpus - 1) << 5);
}

/* 4.3.1 GICD_CTLR: resets to 0; EnableGrp0 [0] and EnableGrp1 [1] are RW, [31:2] reserved. */
static void test_ctlr(void **state)
{
    (void)state;
    assert_int_equal(rd32(V(0), D_CTLR), 0);
    wr32(V(0), D_CTLR, 0xffffffff);
    assert_int_equal(rd32(V(0), D_CTLR), 3);
    assert_int_equal(rd32(V(vm->cfg.nr_vcpus - 1), D_CTLR), 3); /* not banked */
    wr32(V(0), D_CTLR, CTLR_GRP1);
    assert_int_equal(rd32(V(0), D_CTLR), CTLR_GRP1);
    wr32(V(0), D_CTLR, 0);
    assert_int_equal(rd32(V(0), D_CTLR), 0);
}

/* 4.3.18: ICPIDR2.ArchRev [7:4] is 2 for GICv2, [31:8] reserved; 4.3.3: IIDR is read-only. */
static void test_iidr_icpidr2(void **state)
{
    u32 iidr = rd32(V(0), D_IIDR), pidr2 = rd32(V(0), D_ICPIDR2);

    (void)state;
    assert_int_equal((pidr2 >> 4) & 0xf, 2);
    assert_int_equal(pidr2 >> 8, 0);
    assert_int_not_equal(iidr, 0); /* an implementer, even a made-up one */
    wr32(V(0), D_IIDR, ~iidr);
    wr32(V(0), D_ICPIDR2, ~pidr2);
    assert_int_equal(rd32(V(0), D_IIDR), iidr);
    assert_int_equal(rd32(V(0), D_ICPIDR2), pidr2);
}

/*
 * Reset (4.3.4-4.3.13): nothing in Group 1, no SPI enabled, nothing pending
 * or active, priority 0, SGIs edge-triggered (ICFGR0 = 0xaaaaaaaa, 4.3.13),
 * no SGI pending from any source. ITARGETSR of SPIs is UNKNOWN in the
 * architecture; Keel resets it to 0 (docs/irqchip.md).
 */
static void test_reset_state(void **state)
{
    (void)state;
    for (unsigned int c = 0; c < vm->cfg.nr_vcpus; c++) {
        for (u32 w = 0; w < NR_IRQS / 32; w++) {
            assert_int_equal(rd32(V(c), D_IGROUPR + 4 * w), 0);
            if (w)
                assert_int_equal(rd32(V(c), D_ISENABLER + 4 * w), 0);
            assert_int_equal(rd32(V(c), D_ISPENDR + 4 * w), 0);
            assert_int_equal(rd32(V(c), D_ISACTIVER + 4 * w), 0);
        }
        for (u32 i = 0; i < NR_IRQS; i += 4)
            assert_int_equal(rd32(V(c), D_IPRIORITYR + i), 0);
        for (u32 i = 32; i < NR_IRQS; i += 4)
            assert_int_equal(rd32(V(c), D_ITARGETSR + i), 0);
        assert_int_equal(rd32(V(c), D_ICFGR), 0xaaaaaaaa);
        for (u64 off = 0; off < 0x10; off += 4)
            assert_int_equal(rd32(V(c), D_SPENDSGIR + off), 0);
    }
}

/* 4.3.11: 5 priority bits (GICH_LR's Priority field, 5.3, has no more): the rest RAZ/WI. */
static void test_ipriorityr(void **state)
{
    (void)state;
    wr32(V(0), D_IPRIORITYR + SPI, 0xffa05008);
    assert_int_equal(rd32(V(0), D_IPRIORITYR + SPI), 0xf8a05008);
    wr(V(0), D_IPRIORITYR + SPI + 1, 1, 0x47);
    assert_int_equal(rd(V(0), D_IPRIORITYR + SPI + 1, 1), 0x40);
    assert_int_equal(rd32(V(0), D_IPRIORITYR + SPI), 0xf8a04008);
}

/* 4.3.13: Int_config[1] of each field is RW for SPIs; Int_config[0] is reserved in GICv2. */
static void test_icfgr_spis(void **state)
{
    (void)state;
    wr32(V(0), D_ICFGR + 8, 0xffffffff);
    assert_int_equal(rd32(V(0), D_ICFGR + 8), 0xaaaaaaaa);
    wr32(V(0), D_ICFGR + 8, 0x8);
    assert_int_equal(rd32(V(0), D_ICFGR + 8), 0x8);
}

/*
 * Writes to read-only registers are ignored: TYPER (4.3.2), ITARGETSR0-7
 * (4.3.12), ICFGR0, the SGIs' configuration (4.3.13).
 */
static void test_read_only_writes_ignored(void **state)
{
    u32 typer = rd32(V(0), D_TYPER);

    (void)state;
    wr32(V(0), D_TYPER, ~typer);
    assert_int_equal(rd32(V(0), D_TYPER), typer);
    wr32(V(0), D_ICFGR, 0);
    assert_int_equal(rd32(V(0), D_ICFGR), 0xaaaaaaaa);
    for (u32 i = 0; i < 32; i += 4)
        wr32(V(0), D_ITARGETSR + i, 0);
    wr(V(0), D_ITARGETSR + 31, 1, 0xff);
    for (u32 i = 0; i < 32; i++)
        assert_int_equal(rd(V(0), D_ITARGETSR + i, 1), 1);
}

/*
 * Reserved offsets (Table 4-1), NSACR without Security Extensions (4.3.14),
 * the registers of INTIDs past ITLinesNumber (4.3.2: 256 here) and the
 * rest of the 64 KiB frame: RAZ/WI.
 */
static void test_reserved_raz_wi(void **state)
{
    static const u64 offs[] = { 0x00c, 0x040, 0x07c, D_ISENABLER + 0x20, D_ISPENDR + 0x7c,
                                D_IPRIORITYR + NR_IRQS, D_ITARGETSR + NR_IRQS, D_ICFGR + 0x40,
                                0xd00, D_NSACR, D_NSACR + 8, 0xf04, 0xf30, 0xfcc, 0x1000,
                                0xfffc };

    (void)state;
    for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
        wr32(V(0), offs[i], 0xffffffff);
        assert_int_equal(rd32(V(0), offs[i]), 0);
    }
    assert_int_equal(rd32(V(0), D_TYPER), 7 | (vm->cfg.nr_vcpus - 1) << 5);
    assert_int_equal(rd32(V(0), D_CTLR), 0);
}

/* ======================= access sizes (4.1.4) ======================= */

/* Word accesses everywhere; byte accesses only to IPRIORITYR, ITARGETSR, CPENDSGIR, SPENDSGIR. */
static void test_access_byte_registers(void **state)
{
    static const u64 offs[] = { D_IPRIORITYR + SPI + 3, D_ITARGETSR + SPI + 1, D_ITARGETSR + 2,
                                D_CPENDSGIR + 5, D_SPENDSGIR + 0xf };
    u64 val;

    (void)state;
    for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
        assert_int_equal(try_rd(V(0), offs[i], 1, &val), 0);
        assert_int_equal(try_wr(V(0), offs[i], 1, 0), 0);
    }
}

static void test_access_byte_refused(void **state)
{
    static const u64 offs[] = { D_CTLR, D_TYPER + 1, D_IGROUPR, D_ISENABLER, D_ISENABLER + 5,
                                D_ICENABLER + 4, D_ISPENDR, D_ISACTIVER + 2, D_ICFGR + 8, D_SGIR,
                                D_ICPIDR2 };
    u64 val;

    (void)state;
    for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
        assert_int_equal(try_rd(V(0), offs[i], 1, &val), -1);
        assert_int_equal(try_wr(V(0), offs[i], 1, 0xff), -1);
    }
    assert_int_equal(rd32(V(0), D_ISENABLER + 4), 0); /* the refused write did nothing */
}

/* Halfword (and doubleword) accesses are not among the ones 4.1.4 lists, anywhere. */
static void test_access_other_sizes_refused(void **state)
{
    static const u64 offs[] = { D_CTLR, D_ISENABLER + 4, D_IPRIORITYR + SPI, D_ITARGETSR + SPI,
                                D_CPENDSGIR, D_SPENDSGIR + 2, D_ICFGR, 0x0c0 };
    u64 val;

    (void)state;
    for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
        assert_int_equal(try_rd(V(0), offs[i], 2, &val), -1);
        assert_int_equal(try_wr(V(0), offs[i], 2, 0xffff), -1);
        assert_int_equal(try_rd(V(0), offs[i] & ~7UL, 8, &val), -1);
        assert_int_equal(try_wr(V(0), offs[i] & ~7UL, 8, ~0UL), -1);
    }
    assert_int_equal(rd32(V(0), D_IPRIORITYR + SPI), 0);
    assert_int_equal(rd32(V(0), D_CTLR), 0);
}

/* A word access must be word-aligned, a byte register's too. */
static void test_access_misaligned_refused(void **state)
{
    u64 val;

    (void)state;
    assert_int_equal(try_rd(V(0), D_IPRIORITYR + SPI + 1, 4, &val), -1);
    assert_int_equal(try_wr(V(0), D_ITARGETSR + SPI + 2, 4, 1), -1);
    assert_int_equal(try_rd(V(0), D_CTLR + 2, 4, &val), -1);
    assert_int_equal(rd32(V(0), D_ITARGETSR + SPI), 0);
}

/* ======================= banking of INTIDs 0-31 ======================= */

/*
 * 4.3.4-4.3.11, 4.3.13: in a multiprocessor implementation IGROUPR0,
 * IS/ICENABLER0, IS/ICPENDR0, IS/ICACTIVER0, IPRIORITYR0-7 and ICFGR1 are
 * banked per CPU interface: each vCPU writes its own and sees only its own.
 */
/* Enables and pending bits on PPIs: whether SGIs can be disabled is IMPLEMENTATION DEFINED (4.3.5). */
static void bank_write(struct vcpu *v, u32 tag)
{
    wr32(v, D_IGROUPR, tag);
    wr32(v, D_ISENABLER, tag << 16);
    wr32(v, D_ISPENDR, tag << 16);
    wr32(v, D_ISACTIVER, tag);
    wr(v, D_IPRIORITYR + 20, 1, tag << 3);
    wr32(v, D_ICFGR + 4, 2u << (2 * tag));
}

static void bank_check(struct vcpu *v, u32 tag)
{
    assert_int_equal(rd32(v, D_IGROUPR), tag);
    assert_int_equal(rd32(v, D_ISENABLER), tag << 16);
    assert_int_equal(rd32(v, D_ICENABLER), tag << 16);
    assert_int_equal(rd32(v, D_ISPENDR), tag << 16);
    assert_int_equal(rd32(v, D_ICPENDR), tag << 16);
    assert_int_equal(rd32(v, D_ISACTIVER), tag);
    assert_int_equal(rd32(v, D_ICACTIVER), tag);
    assert_int_equal(rd(v, D_IPRIORITYR + 20, 1), tag << 3);
    assert_int_equal(rd32(v, D_ICFGR + 4), 2u << (2 * tag));
}

static void test_banked_private_registers(void **state)
{
    (void)state;
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        bank_write(V(i), i + 1);
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        bank_check(V(i), i + 1);
    /* clearing in one bank leaves the others */
    wr32(V(0), D_ICENABLER, 0xffffffff);
    wr32(V(0), D_ICACTIVER, 0xffffffff);
    wr32(V(0), D_ICPENDR, 0xffffffff);
    for (unsigned int i = 1; i < vm->cfg.nr_vcpus; i++)
        bank_check(V(i), i + 1);
    assert_int_equal(rd32(V(0), D_ISENABLER) | rd32(V(0), D_ISACTIVER) | rd32(V(0), D_ISPENDR), 0);
}

/* SPI registers are not banked: every vCPU sees one copy. */
static void test_spi_registers_shared(void **state)
{
    struct vcpu *last = V(vm->cfg.nr_vcpus - 1);

    (void)state;
    wr32(V(0), reg_of(D_ISENABLER, SPI), bit_of(SPI));
    wr(V(0), D_IPRIORITYR + SPI, 1, 0x80);
    wr32(V(0), reg_of(D_IGROUPR, SPI), bit_of(SPI));
    assert_true(bit_set(last, D_ISENABLER, SPI));
    assert_true(bit_set(last, D_IGROUPR, SPI));
    assert_int_equal(rd(last, D_IPRIORITYR + SPI, 1), 0x80);
    wr32(last, reg_of(D_ICENABLER, SPI), bit_of(SPI));
    assert_false(bit_set(V(0), D_ISENABLER, SPI));
}

/* ======================= ITARGETSR (4.3.12) ======================= */

/* ITARGETSR0-7 read as the reading processor's own bit, in every byte, by byte or by word. */
static void test_itargetsr_private_reads_own_bit(void **state)
{
    (void)state;
    for (unsigned int c = 0; c < vm->cfg.nr_vcpus; c++) {
        for (u32 i = 0; i < 32; i++)
            assert_int_equal(rd(V(c), D_ITARGETSR + i, 1), 1u << c);
        for (u32 i = 0; i < 32; i += 4)
            assert_int_equal(rd32(V(c), D_ITARGETSR + i), 0x01010101u << c);
    }
}

/* SPI bytes read as written, by byte or word; bits of CPU interfaces that do not exist are RAZ/WI. */
static void test_itargetsr_spi_read_write(void **state)
{
    u8 all = all_cpus();

    (void)state;
    wr32(V(0), D_ITARGETSR + SPI, 0xff804201);
    assert_int_equal(rd32(V(0), D_ITARGETSR + SPI), 0xff804201 & (all * 0x01010101u));
    wr(V(0), D_ITARGETSR + SPI + 2, 1, 0x01);
    assert_int_equal(rd(V(0), D_ITARGETSR + SPI + 2, 1), 0x01);
    assert_int_equal(rd(V(0), D_ITARGETSR + SPI + 1, 1), 0x42 & all);
    assert_int_equal(rd(V(0), D_ITARGETSR + SPI + 3, 1), all);
    /* one copy: another vCPU reads the same */
    assert_int_equal(rd32(V(vm->cfg.nr_vcpus - 1), D_ITARGETSR + SPI),
                     rd32(V(0), D_ITARGETSR + SPI));
}

/* ======================= SPI routing ======================= */

/* A pending SPI goes to the one vCPU its byte names: queued there only, and that vCPU kicked. */
static void test_spi_routed_to_its_target(void **state)
{
    (void)state;
    irq_ready(V(0), SPI, false);
    for (unsigned int c = 0; c < vm->cfg.nr_vcpus; c++) {
        wr32(V(0), reg_of(D_ICPENDR, SPI), bit_of(SPI));
        route(SPI, (u8)(1u << c));
        fake_vgic_reset();
        vgic_inject(vm, NULL, SPI);
        assert_int_equal(wanted_on(SPI), 1u << c);
        assert_int_equal(fake_kicks_of(V(c)), 1);
        assert_int_equal(fake_vgic.kicks, 1);
    }
}

/*
 * 3.1 (1-N model): an SPI with several targets is taken by one of them.
 * Keel picks the lowest-numbered (docs/irqchip.md); any one, never two.
 */
static void test_spi_several_targets_one_vcpu(void **state)
{
    u8 set = all_cpus() & 0xaa ? all_cpus() & 0xaa : all_cpus();

    (void)state;
    irq_ready(V(0), SPI, false);
    route(SPI, set);
    vgic_inject(vm, NULL, SPI);
    assert_one_of(SPI, set);
}

/* Targets 0: pending, but forwarded to no CPU interface; routed later, it is delivered then. */
static void test_spi_no_target_waits(void **state)
{
    struct vcpu *last = V(vm->cfg.nr_vcpus - 1);

    (void)state;
    irq_ready(V(0), SPI, false);
    vgic_inject(vm, NULL, SPI);
    assert_true(bit_set(V(0), D_ISPENDR, SPI));
    assert_int_equal(wanted_on(SPI), 0);
    assert_int_equal(fake_vgic.kicks, 0);
    route(SPI, (u8)(1u << last->id));
    assert_int_equal(wanted_on(SPI), 1u << last->id);
    assert_int_equal(fake_kicks_of(last), 1);
}

/*
 * 4.3.12: a change of targets affects a pending SPI: it becomes pending on
 * the new CPU interface and no longer on the one removed.
 */
static void test_spi_retarget_pending_moves(void **state)
{
    struct vcpu *last = V(vm->cfg.nr_vcpus - 1);

    (void)state;
    irq_ready(V(0), SPI, true);
    route(SPI, 1);
    wr32(V(0), reg_of(D_ISPENDR, SPI), bit_of(SPI));
    assert_int_equal(wanted_on(SPI), 1);
    fake_vgic_reset();
    route(SPI, (u8)(1u << last->id));
    assert_int_equal(wanted_on(SPI), 1u << last->id);
    if (last->id) /* kicked to take it; the same vCPU again may or may not be */
        assert_int_equal(fake_kicks_of(last), 1);
    route(SPI, 0);
    assert_int_equal(wanted_on(SPI), 0);
    assert_true(bit_set(V(0), D_ISPENDR, SPI)); /* still pending, nowhere to go */
}

/* A level-sensitive SPI follows its byte the same way, while its line is high. */
static void test_spi_level_follows_targets(void **state)
{
    u8 set = all_cpus() & 0xfe ? all_cpus() & 0xfe : 1;

    (void)state;
    irq_ready(V(0), SPI, false);
    route(SPI, set);
    vgic_set_level(vm, SPI, true);
    assert_one_of(SPI, set);
    route(SPI, 1);
    assert_int_equal(wanted_on(SPI), 1);
    vgic_set_level(vm, SPI, false);
    assert_int_equal(wanted_on(SPI), 0);
}

/* ======================= GICD_CTLR gates forwarding (4.3.1) ======================= */

static void test_ctlr_group_enables_gate(void **state)
{
    (void)state;
    irq_ready(V(0), SPI, false);       /* Group 0 */
    irq_ready(V(0), SPI + 1, true);    /* Group 1 */
    route(SPI, 1);
    route(SPI + 1, 1);
    wr32(V(0), D_CTLR, 0);
    vgic_inject(vm, NULL, SPI);
    vgic_inject(vm, NULL, SPI + 1);
    assert_int_equal(wanted_on(SPI) | wanted_on(SPI + 1), 0);
    wr32(V(0), D_CTLR, CTLR_GRP0);
    assert_int_equal(wanted_on(SPI), 1);
    assert_int_equal(wanted_on(SPI + 1), 0);
    wr32(V(0), D_CTLR, CTLR_GRP1);
    assert_int_equal(wanted_on(SPI), 0);
    assert_int_equal(wanted_on(SPI + 1), 1);
    wr32(V(0), D_CTLR, 0);
    assert_int_equal(wanted_on(SPI) | wanted_on(SPI + 1), 0);
}

/* The same for an SGI, banked: the distributor enable is one for all CPU interfaces. */
static void test_ctlr_gates_sgis(void **state)
{
    struct vcpu *last = V(vm->cfg.nr_vcpus - 1);

    (void)state;
    irq_ready(last, 3, true);
    wr32(V(0), D_CTLR, CTLR_GRP0);
    sgir(V(0), F_LIST, 1u << last->id, 3);
    assert_int_equal(sgi_sources(last, 3), 1);
    assert_false(want(last, 3));
    wr32(V(0), D_CTLR, CTLR_GRP1);
    assert_true(want(last, 3));
}

/* ======================= GICD_SGIR (4.3.15) ======================= */

static void sgis_ready(u32 sgi)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        irq_ready(V(i), sgi, true);
}

/* Which vCPUs have @sgi pending from @src, as each reads its SPENDSGIR; wanted on the same ones. */
static u8 sgi_receivers(u32 sgi, unsigned int src)
{
    u8 m = 0;

    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        u8 s = sgi_sources(V(i), sgi);
        assert_int_equal(s & ~(1u << src), 0);
        assert_int_equal(!!s, want(V(i), sgi));
        assert_int_equal(!!s, bit_set(V(i), D_ISPENDR, sgi));
        m |= s ? 1u << i : 0;
    }
    return m;
}

/* Filter 0: the CPUs of CPUTargetList, those that exist; 0x00 forwards to none. */
static void test_sgir_target_list(void **state)
{
    (void)state;
    sgis_ready(6);
    for (unsigned int s = 0; s < vm->cfg.nr_vcpus; s++) {
        for (u32 list = 0; list < 256; list++) {
            fake_vgic_reset();
            sgir(V(s), F_LIST, list, 6);
            assert_int_equal(sgi_receivers(6, s), list & all_cpus());
            assert_int_equal(fake_vgic.kicks, __builtin_popcount(list & all_cpus()));
            sgis_clear();
        }
    }
}

/* Filter 1: every CPU but the requesting one, whatever the list says. */
static void test_sgir_all_but_self(void **state)
{
    (void)state;
    sgis_ready(0);
    for (unsigned int s = 0; s < vm->cfg.nr_vcpus; s++) {
        sgir(V(s), F_OTHERS, 1u << s, 0);
        assert_int_equal(sgi_receivers(0, s), all_cpus() & ~(1u << s));
        sgis_clear();
    }
}

/* Filter 2: the requesting CPU only, whatever the list says. */
static void test_sgir_self(void **state)
{
    (void)state;
    sgis_ready(15);
    for (unsigned int s = 0; s < vm->cfg.nr_vcpus; s++) {
        sgir(V(s), F_SELF, 0xff & ~(1u << s), 15);
        assert_int_equal(sgi_receivers(15, s), 1u << s);
        sgis_clear();
    }
}

/* Filter 3 is reserved: nothing is sent. */
static void test_sgir_reserved_filter_ignored(void **state)
{
    (void)state;
    sgis_ready(1);
    sgir(V(0), F_RESERVED, 0xff, 1);
    assert_int_equal(sgi_receivers(1, 0), 0);
    assert_int_equal(fake_vgic.kicks, 0);
}

/* SGIINTID is [3:0]; NSATT [15] means nothing without Security Extensions, [14:4] are SBZ. */
static void test_sgir_intid_field(void **state)
{
    (void)state;
    sgis_ready(9);
    wr32(V(0), D_SGIR, SGIR(F_SELF, 0, 9) | 0x8000 | 0x7ff0);
    assert_int_equal(sgi_receivers(9, 0), 1);
    for (u32 sgi = 0; sgi < 16; sgi++)
        if (sgi != 9)
            assert_int_equal(sgi_sources(V(0), sgi), 0);
}

/* ======================= per-source SGI pending (4.3.16, 4.3.17, 4.3.7, 4.3.8) ======================= */

/* SGI 5 pending on vCPU 0 from vCPUs 1 and 2. */
static void two_sources(void)
{
    irq_ready(V(0), 5, true);
    sgir(V(1), F_LIST, 1, 5);
    sgir(V(2), F_LIST, 1, 5);
}

/* Both sources show, in SPENDSGIR and CPENDSGIR alike, by byte and in their word. */
static void test_sgi_two_sources_shown(void **state)
{
    (void)state;
    two_sources();
    assert_int_equal(rd(V(0), D_SPENDSGIR + 5, 1), 0x06);
    assert_int_equal(rd(V(0), D_CPENDSGIR + 5, 1), 0x06);
    assert_int_equal(rd32(V(0), D_SPENDSGIR + 4), 0x0600);
    assert_int_equal(rd32(V(0), D_CPENDSGIR + 4), 0x0600);
    assert_true(bit_set(V(0), D_ISPENDR, 5));
    assert_true(bit_set(V(0), D_ICPENDR, 5));
    assert_true(want(V(0), 5));
}

/* CPENDSGIR clears one source; the other keeps the SGI pending until it is cleared too. */
static void test_cpendsgir_clears_one_source(void **state)
{
    (void)state;
    two_sources();
    wr(V(0), D_CPENDSGIR + 5, 1, 0x02);
    assert_int_equal(sgi_sources(V(0), 5), 0x04);
    assert_true(bit_set(V(0), D_ISPENDR, 5));
    assert_true(want(V(0), 5));
    wr32(V(0), D_CPENDSGIR + 4, 0x0400);
    assert_int_equal(sgi_sources(V(0), 5), 0);
    assert_false(bit_set(V(0), D_ISPENDR, 5));
    assert_false(want(V(0), 5));
}

/* SPENDSGIR sets the pending state from the sources named, and queues the SGI. */
static void test_spendsgir_sets_sources(void **state)
{
    (void)state;
    irq_ready(V(1), 12, true);
    fake_vgic_reset();
    wr(V(1), D_SPENDSGIR + 12, 1, 0x05 & all_cpus());
    assert_int_equal(sgi_sources(V(1), 12), 0x05 & all_cpus());
    assert_true(bit_set(V(1), D_ISPENDR, 12));
    assert_true(want(V(1), 12));
    assert_int_equal(fake_kicks_of(V(1)), 1);
    wr32(V(1), D_SPENDSGIR + 12, 0x02);
    assert_int_equal(sgi_sources(V(1), 12), 0x07 & all_cpus());
}

/* A source bit of a CPU interface the GIC does not have: no SGI can come from it. */
static void test_spendsgir_absent_sources_raz_wi(void **state)
{
    (void)state;
    wr(V(0), D_SPENDSGIR + 2, 1, 0xff);
    assert_int_equal(sgi_sources(V(0), 2), all_cpus());
    wr(V(0), D_CPENDSGIR + 2, 1, 0xff);
    wr(V(0), D_SPENDSGIR + 2, 1, (u8)~all_cpus());
    assert_int_equal(sgi_sources(V(0), 2), 0);
    assert_false(bit_set(V(0), D_ISPENDR, 2));
}

/* The SGI pending registers are banked: each vCPU sees the SGIs pending on it. */
static void test_sgi_pending_banked(void **state)
{
    (void)state;
    two_sources();
    for (unsigned int i = 1; i < vm->cfg.nr_vcpus; i++) {
        assert_int_equal(sgi_sources(V(i), 5), 0);
        assert_false(bit_set(V(i), D_ISPENDR, 5));
    }
    wr32(V(1), D_CPENDSGIR + 4, 0xffffffff); /* vCPU 1's own bank: vCPU 0's untouched */
    assert_int_equal(sgi_sources(V(0), 5), 0x06);
}

/* 4.3.7: ISPENDR0's SGI bits ignore writes; SPENDSGIR is the way. PPIs' bits still work. */
static void test_ispendr0_write_leaves_sgis(void **state)
{
    (void)state;
    irq_ready(V(0), 4, true);
    wr32(V(0), D_ISPENDR, 0xffffffff);
    assert_int_equal(rd32(V(0), D_ISPENDR), 0xffff0000);
    for (u64 off = 0; off < 0x10; off += 4)
        assert_int_equal(rd32(V(0), D_SPENDSGIR + off), 0);
    assert_false(want(V(0), 4));
}

/* 4.3.8: ICPENDR0's SGI bits ignore writes; CPENDSGIR is the way. */
static void test_icpendr0_write_leaves_sgis(void **state)
{
    (void)state;
    two_sources();
    wr32(V(0), D_ISPENDR, 0x00010000);
    wr32(V(0), D_ICPENDR, 0xffffffff);
    assert_int_equal(sgi_sources(V(0), 5), 0x06);
    assert_int_equal(rd32(V(0), D_ISPENDR), 1u << 5);
    assert_true(want(V(0), 5));
}

/* ======================= GICC_DIR (4.4.15) ======================= */

static int dir_wr(struct vcpu *v, u64 off, unsigned int size, u64 val)
{
    return region_at(GUEST_GICC + C_DIR)->wr(v, off, size, val);
}

/* The second GICC page traps; it is GICC_DIR's, at 0x1000, and nothing else of the interface. */
static void test_dir_page_registered(void **state)
{
    (void)state;
    assert_int_equal(region_at(GUEST_GICD)->size, 0x10000);
    assert_int_equal(region_at(GUEST_GICC + C_DIR)->size, 0x1000);
    for (unsigned int i = 0; i < nr_regions; i++)
        assert_false(regions[i].base < GUEST_GICC + C_DIR &&
                     regions[i].base + regions[i].size > GUEST_GICC);
}

/* DIR's InterruptID [9:0] is what is deactivated; CPUID [12:10] names an SGI's source only. */
static void test_dir_passes_interrupt_id(void **state)
{
    struct vcpu *last = V(vm->cfg.nr_vcpus - 1);

    (void)state;
    assert_int_equal(dir_wr(last, 0, 4, 3u << 10 | 5), 0);
    assert_int_equal(dir_log.calls, 1);
    assert_ptr_equal(dir_log.from, last);
    assert_int_equal(dir_log.val, 5);
    assert_int_equal(dir_wr(V(0), 0, 4, 0xfffff000u | 7u << 10 | SPI), 0);
    assert_int_equal(dir_log.val, SPI);
}

/* The rest of the page is reserved (writes ignored); DIR takes word accesses only. */
static void test_dir_other_accesses(void **state)
{
    u64 val = 1;

    (void)state;
    assert_int_equal(dir_wr(V(0), 4, 4, SPI), 0);
    assert_int_equal(dir_wr(V(0), 0xffc, 4, SPI), 0);
    assert_int_equal(dir_wr(V(0), 0, 1, SPI), -1);
    assert_int_equal(dir_wr(V(0), 0, 2, SPI), -1);
    assert_int_equal(dir_wr(V(0), 2, 4, SPI), -1);
    assert_int_equal(dir_log.calls, 0);
    assert_int_equal(region_at(GUEST_GICC + C_DIR)->rd(V(0), 0, 4, &val), 0);
    assert_int_equal(val, 0); /* write-only */
    assert_int_equal(dir_log.calls, 0);
}

/* ======================= one vCPU: a uniprocessor GIC ======================= */

/*
 * 4.3.12: "In a uniprocessor implementation, all interrupts target the one
 * processor, and the GICD_ITARGETSRs are RAZ/WI." (GICD_TYPER.CPUNumber 0.)
 */
static void test_uniprocessor_itargetsr_raz_wi(void **state)
{
    (void)state;
    for (u32 i = 0; i < NR_IRQS; i += 4) {
        wr32(V(0), D_ITARGETSR + i, 0xffffffff);
        assert_int_equal(rd32(V(0), D_ITARGETSR + i), 0);
    }
    assert_int_equal(rd(V(0), D_ITARGETSR + SPI + 1, 1), 0);
}

/* ... and an SPI reaches the one vCPU though its byte was never written. */
static void test_uniprocessor_spi_delivered(void **state)
{
    (void)state;
    irq_ready(V(0), SPI, false);
    vgic_inject(vm, NULL, SPI);
    assert_true(want(V(0), SPI));
    assert_int_equal(fake_kicks_of(V(0)), 1);
    vgic_set_level(vm, SPI + 1, true); /* a level one, not enabled yet */
    irq_ready(V(0), SPI + 1, false);
    assert_true(want(V(0), SPI + 1));
}

int main(void)
{
#define T1(f) { #f " (1 vCPU)", f, setup1, teardown, NULL }
#define T2(f) { #f " (2 vCPUs)", f, setup2, teardown, NULL }
#define T4(f) { #f " (4 vCPUs)", f, setup4, teardown, NULL }
#define T8(f) { #f " (8 vCPUs)", f, setup8, teardown, NULL }
#define TALL(f) T1(f), T2(f), T4(f), T8(f)
    const struct CMUnitTest tests[] = {
        /* identification, control, reset */
        TALL(test_typer),
        T2(test_ctlr),
        T1(test_iidr_icpidr2),
        T2(test_reset_state),
        T8(test_reset_state),
        T1(test_ipriorityr),
        T1(test_icfgr_spis),
        T2(test_read_only_writes_ignored),
        T2(test_reserved_raz_wi),
        /* access sizes */
        T2(test_access_byte_registers),
        T1(test_access_byte_refused),
        T1(test_access_other_sizes_refused),
        T1(test_access_misaligned_refused),
        /* banking */
        T2(test_banked_private_registers),
        T8(test_banked_private_registers),
        T4(test_spi_registers_shared),
        /* ITARGETSR and SPI routing */
        /* "in a multiprocessor implementation" (4.3.12): one vCPU is below */
        T2(test_itargetsr_private_reads_own_bit),
        T4(test_itargetsr_private_reads_own_bit),
        T8(test_itargetsr_private_reads_own_bit),
        T2(test_itargetsr_spi_read_write),
        T4(test_itargetsr_spi_read_write),
        T8(test_itargetsr_spi_read_write),
        TALL(test_spi_routed_to_its_target),
        T4(test_spi_several_targets_one_vcpu),
        T8(test_spi_several_targets_one_vcpu),
        T2(test_spi_no_target_waits),
        T2(test_spi_retarget_pending_moves),
        T4(test_spi_retarget_pending_moves),
        T4(test_spi_level_follows_targets),
        /* GICD_CTLR */
        T1(test_ctlr_group_enables_gate),
        T2(test_ctlr_gates_sgis),
        /* GICD_SGIR */
        TALL(test_sgir_target_list),
        TALL(test_sgir_all_but_self),
        TALL(test_sgir_self),
        T4(test_sgir_reserved_filter_ignored),
        T2(test_sgir_intid_field),
        /* per-source SGI pending */
        T4(test_sgi_two_sources_shown),
        T4(test_cpendsgir_clears_one_source),
        T2(test_spendsgir_sets_sources),
        T4(test_spendsgir_sets_sources),
        T2(test_spendsgir_absent_sources_raz_wi),
        T8(test_spendsgir_absent_sources_raz_wi),
        T4(test_sgi_pending_banked),
        T1(test_ispendr0_write_leaves_sgis),
        T4(test_icpendr0_write_leaves_sgis),
        /* GICC_DIR */
        T1(test_dir_page_registered),
        T2(test_dir_passes_interrupt_id),
        T1(test_dir_other_accesses),
        /* one vCPU */
        T1(test_uniprocessor_itargetsr_raz_wi),
        T1(test_uniprocessor_spi_delivered),
    };
#undef TALL

    return cmocka_run_group_tests(tests, NULL, NULL);
}
