/*
 * The virtual CPU interface model (see fake_ich.h). Each guest operation
 * follows the architecture's pseudocode as QEMU implements it, including
 * QEMU's choices where it has one: an EOI with no active priority is
 * ignored, and an EOI of an INTID in no LR counts in EOIcount whatever the
 * EOImode (IHI 0069 asks it for deactivations only).
 */
#include <string.h>

#include <arch/gicv3_regs.h>
#include <arch/vgic_hw.h>
#include <drivers/gic.h>
#include <keel/cpu.h>
#include <keel/platform.h>
#include <keel/vm.h>

#include "fake_ich.h"

#define PRIO_MASK 0xf8u /* 5 priority bits */
#define LR_STATE(lr) ((lr) & ICH_LR_STATE)
#define LR_PRIO(lr) ((u8)((lr) >> ICH_LR_PRIORITY_SHIFT))
#define LR_VINTID(lr) ((u32)((lr) & ICH_LR_VINTID_MASK))
#define LR_PINTID(lr) ((u32)(((lr) >> ICH_LR_PINTID_SHIFT) & ICH_LR_PINTID_MASK))

struct fake_ich fake_ichs[FAKE_NR_PCPUS];
unsigned int fake_kicks;
struct platform platform = { .timer_irq = { 29, 30, 27, 26 } };
static struct cpu fake_cpu;
static unsigned int cur;

void fake_ich_reset(unsigned int nr_lrs)
{
    memset(fake_ichs, 0, sizeof(fake_ichs));
    for (unsigned int i = 0; i < FAKE_NR_PCPUS; i++) {
        fake_ichs[i].nr_lrs = nr_lrs;
        fake_ichs[i].vtr = ICH_VTR_EL2_TDS | (nr_lrs - 1);
    }
    fake_kicks = 0;
    fake_cpu.vcpu = NULL;
    cur = 0;
}

void fake_run(struct vcpu *v)
{
    fake_cpu.vcpu = v;
    cur = v->pcpu;
}

struct fake_ich *fake_ich(void)
{
    return &fake_ichs[cur];
}

/* ---- link-time fakes ---- */

struct cpu *cpu_this(void) { return &fake_cpu; }
void vcpu_kick(struct vcpu *vcpu) { (void)vcpu; fake_kicks++; }
unsigned int gic_nr_lrs(void) { return fake_ich()->nr_lrs; }

/* Physical interrupt state: PPIs are banked per CPU, SPIs are kept in CPU 0's model. */
static struct fake_ich *phys_owner(u32 intid)
{
    return intid < VGIC_NR_PRIVATE ? fake_ich() : &fake_ichs[0];
}

static void phys_deactivate(u32 intid)
{
    struct fake_ich *h = phys_owner(intid);

    if (intid >= VGIC_NR_IRQS)
        return;
    h->phys_active[intid] = false;
    h->phys_deact[intid]++;
}

/* ICC_DIR_EL1 at EL2 on the current CPU: Keel ending a physical interrupt. */
static const struct irqchip_ops fake_irqchip = { .name = "fake", .deactivate = phys_deactivate };
const struct irqchip_ops *irqchip = &fake_irqchip;

/* ---- the hypervisor's registers (arch/vgic_hw.h) ---- */

u64 ich_lr_read(unsigned int n) { return n < fake_ich()->nr_lrs ? fake_ich()->lr[n] : 0; }
void ich_lr_write(unsigned int n, u64 v) { if (n < fake_ich()->nr_lrs) fake_ich()->lr[n] = v; }
u64 ich_hcr_read(void) { return fake_ich()->hcr; }
void ich_hcr_write(u64 v) { fake_ich()->hcr = v; }
u64 ich_vmcr_read(void) { return fake_ich()->vmcr; }
void ich_vmcr_write(u64 v) { fake_ich()->vmcr = v; }
u64 ich_vtr_read(void) { return fake_ich()->vtr; }
void ich_aprs_clear(void) { fake_ich()->ap1r = 0; }
u64 ich_aprs_read(void) { return (u64)fake_ich()->ap1r << 32; }
void ich_aprs_write(u64 v) { fake_ich()->ap1r = (u32)(v >> 32); }
void ich_sync(void) {}

/* 12.4.4: LRs holding no interrupt and owing no EOI maintenance interrupt. */
u32 ich_elrsr_read(void)
{
    u32 v = 0;

    for (unsigned int n = 0; n < fake_ich()->nr_lrs; n++) {
        u64 lr = fake_ich()->lr[n];
        if (!LR_STATE(lr) && ((lr & ICH_LR_HW) || !(lr & ICH_LR_EOI)))
            v |= 1u << n;
    }
    return v;
}

/* 12.4.3: LRs emptied by a deactivation that asked for a maintenance interrupt. */
u32 ich_eisr_read(void)
{
    u32 v = 0;

    for (unsigned int n = 0; n < fake_ich()->nr_lrs; n++) {
        u64 lr = fake_ich()->lr[n];
        if (!LR_STATE(lr) && !(lr & ICH_LR_HW) && (lr & ICH_LR_EOI))
            v |= 1u << n;
    }
    return v;
}

/* 12.4.7 */
u32 fake_misr(void)
{
    struct fake_ich *h = fake_ich();
    unsigned int valid = 0;
    bool pending = false;
    u32 misr = 0;

    for (unsigned int n = 0; n < h->nr_lrs; n++) {
        valid += LR_STATE(h->lr[n]) != 0;
        pending |= LR_STATE(h->lr[n]) == ICH_LR_STATE_PENDING; /* pending only */
    }
    if (ich_eisr_read())
        misr |= ICH_MISR_EL2_EOI;
    if ((h->hcr & ICH_HCR_EL2_UIE) && valid < 2)
        misr |= ICH_MISR_EL2_U;
    if ((h->hcr & ICH_HCR_EL2_LRENPIE) && (h->hcr & ICH_HCR_EL2_EOIcount))
        misr |= ICH_MISR_EL2_LRENP;
    if ((h->hcr & ICH_HCR_EL2_NPIE) && !pending)
        misr |= ICH_MISR_EL2_NP;
    return misr;
}

bool fake_maint_asserted(void)
{
    return (fake_ich()->hcr & ICH_HCR_EL2_En) && fake_misr();
}

void fake_exit(void)
{
    struct vcpu *v = fake_cpu.vcpu;

    if (fake_maint_asserted()) {
        fake_ich()->maint++;
        vgic_maintenance(v);
    }
    if (vgic_wants_flush(&v->vgic))
        vgic_flush(v);
}

bool fake_settle(void)
{
    fake_exit();
    for (unsigned int i = 0; i < 16; i++) {
        if (!fake_maint_asserted())
            return true;
        fake_exit();
    }
    return false;
}

void fake_phys_fire(struct vcpu *v, u32 intid)
{
    fake_run(v);
    phys_owner(intid)->phys_active[intid] = true;
    if (intid < VGIC_NR_PRIVATE) /* as the exit path does it (exit.c) */
        vgic_inject_here(v, intid, intid);
    else
        vgic_inject_hw_spi(v->vm, intid, intid);
}

/* The source of a forwarded PPI as Keel would read it (the timer's CNTV_CTL_EL0). */
bool arch_hw_line_high(u32 pintid)
{
    return pintid >= VGIC_NR_IRQS || !fake_ich()->line_low[pintid];
}

int fake_lr_of(u32 intid)
{
    for (unsigned int n = 0; n < fake_ich()->nr_lrs; n++)
        if (LR_STATE(fake_ich()->lr[n]) && LR_VINTID(fake_ich()->lr[n]) == intid)
            return (int)n;
    return -1;
}

/* ---- the guest's side: ICV_* as the hardware executes them ---- */

void guest_cpu_init(void)
{
    guest_set_pmr(0xff);
    guest_set_eoimode(false);
}

void guest_set_eoimode(bool split)
{
    struct fake_ich *h = fake_ich();

    h->vmcr = split ? h->vmcr | ICH_VMCR_EL2_VEOIM : h->vmcr & ~ICH_VMCR_EL2_VEOIM;
}

void guest_set_pmr(u8 pmr)
{
    struct fake_ich *h = fake_ich();

    h->vmcr = (h->vmcr & ~(0xffUL << ICH_VMCR_EL2_VPMR_SHIFT)) |
              (u64)(pmr & PRIO_MASK) << ICH_VMCR_EL2_VPMR_SHIFT;
}

u8 guest_rpr(void)
{
    u32 ap = fake_ich()->ap1r;

    return ap ? (u8)(__builtin_ctz(ap) << 3) : 0xff;
}

/* The pending (not active) LR of highest priority, the first of equals; -1 if none. */
static int hppi_lr(void)
{
    struct fake_ich *h = fake_ich();
    int best = -1;

    for (unsigned int n = 0; n < h->nr_lrs; n++) {
        if (LR_STATE(h->lr[n]) != ICH_LR_STATE_PENDING)
            continue;
        if (best < 0 || LR_PRIO(h->lr[n]) < LR_PRIO(h->lr[best]))
            best = (int)n;
    }
    return best;
}

u32 guest_ack(void)
{
    struct fake_ich *h = fake_ich();
    int n = hppi_lr();
    u8 prio, vpmr = (u8)(h->vmcr >> ICH_VMCR_EL2_VPMR_SHIFT);

    if (!(h->hcr & ICH_HCR_EL2_En) || n < 0)
        return VGIC_INTID_SPURIOUS;
    prio = LR_PRIO(h->lr[n]) & PRIO_MASK;
    if (prio >= vpmr || prio >= guest_rpr())
        return VGIC_INTID_SPURIOUS;
    h->lr[n] = (h->lr[n] & ~ICH_LR_STATE) | ICH_LR_STATE_ACTIVE;
    h->ap1r |= 1u << (prio >> 3);
    return LR_VINTID(h->lr[n]);
}

/* The LR holding @intid active (active, or pending and active), or -1. */
static int active_lr(u32 intid)
{
    struct fake_ich *h = fake_ich();

    for (unsigned int n = 0; n < h->nr_lrs; n++)
        if ((h->lr[n] & ICH_LR_STATE_ACTIVE) && LR_VINTID(h->lr[n]) == intid)
            return (int)n;
    return -1;
}

static void lr_deactivate(unsigned int n)
{
    struct fake_ich *h = fake_ich();

    h->lr[n] &= ~ICH_LR_STATE_ACTIVE;
    if (h->lr[n] & ICH_LR_HW)
        phys_deactivate(LR_PINTID(h->lr[n])); /* what the HW bit is for */
}

static void eoicount_inc(void)
{
    struct fake_ich *h = fake_ich();
    u64 count = ((h->hcr & ICH_HCR_EL2_EOIcount) >> ICH_HCR_EL2_EOIcount_SHIFT) + 1;

    h->hcr = (h->hcr & ~ICH_HCR_EL2_EOIcount) | ((count << ICH_HCR_EL2_EOIcount_SHIFT) & ICH_HCR_EL2_EOIcount);
}

void guest_eoi(u32 intid)
{
    struct fake_ich *h = fake_ich();
    unsigned int drop;
    int n;

    if (!h->ap1r)
        return; /* no active priority: QEMU ignores the write */
    drop = (unsigned int)__builtin_ctz(h->ap1r);
    h->ap1r &= h->ap1r - 1;
    n = active_lr(intid);
    if (n < 0)
        eoicount_inc();
    else if ((LR_PRIO(h->lr[n]) >> 3) == drop && !(h->vmcr & ICH_VMCR_EL2_VEOIM))
        lr_deactivate((unsigned int)n);
}

void guest_dir(u32 intid)
{
    struct fake_ich *h = fake_ich();
    int n;

    if (h->hcr & ICH_HCR_EL2_TDIR) {
        /* EC 0x18 to EL2: sysreg.c emulates it, then the exit returns */
        h->dir_traps++;
        vgic_dir(fake_cpu.vcpu, intid);
        fake_exit();
        return;
    }
    if (!(h->vmcr & ICH_VMCR_EL2_VEOIM))
        return;
    n = active_lr(intid);
    if (n < 0)
        eoicount_inc();
    else
        lr_deactivate((unsigned int)n);
}
