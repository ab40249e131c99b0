/*
 * Virtual GICv3 (Arm IHI 0069): the distributor and redistributors are
 * emulated in src/vdev/vgic.c; the virtual CPU interface is the hardware's,
 * fed through the ICH_LR<n>_EL2 list registers (src/arch/aarch64/vgic_lr.c).
 *
 * Locking: one lock per VM (struct vgic_dist.lock) covers every IRQ of that
 * VM, private ones included. It is a leaf lock except that it may be held
 * while sending a physical SGI.
 */
#ifndef KEEL_VGIC_H
#define KEEL_VGIC_H

#include <keel/gic_regs.h>
#include <keel/spinlock.h>
#include <keel/types.h>

#define VGIC_NR_PRIVATE 32
#define VGIC_NR_IRQS 256 /* INTIDs 0..255: SGIs, PPIs and 224 SPIs */
#define VGIC_NR_SPIS (VGIC_NR_IRQS - VGIC_NR_PRIVATE)
#define VGIC_MAX_LRS 16
#define VGIC_PRIO_BITS 5 /* ICH_VTR_EL2.PRIbits + 1 on QEMU; priorities kept as 8-bit values */

#define VGIC_INTID_SPURIOUS 1023

/*
 * Guest-physical layout: QEMU's virt board (hw/arm/virt.c memmap), with
 * gic-version=3 and =2. The frames sit inside GUEST_DEVICE_BASE..END (vm.h).
 */
#define VGICV3_GICD_BASE 0x08000000UL
#define VGICV3_GICD_SIZE 0x10000UL
#define VGICV3_GICR_BASE 0x080a0000UL
#define VGICV3_GICR_STRIDE 0x20000UL
#define VGICV2_GICD_BASE 0x08000000UL
#define VGICV2_GICD_SIZE 0x10000UL
#define VGICV2_GICC_BASE 0x08010000UL
#define VGICV2_GICC_SIZE 0x2000UL  /* GICC_DIR is in the second page */

struct vcpu;
struct vm;

struct vgic_irq {
    u16 intid;
    u8 priority;
    bool edge;         /* ICFGR: edge-triggered */
    bool enabled;
    bool pending;      /* latched pending state (edge, or set by ISPENDR) */
    bool level;        /* input line level, for level-sensitive interrupts */
    bool active;
    bool group1;
    bool in_lr;        /* held in a list register of target vcpu: the LR is authoritative */
    bool lr_latch;     /* ... and its pending state there came from the latch, not the line alone */
    u8 lr;             /* which one, when in_lr */
    bool spilled;      /* active, evicted from an LR to make room (vgic_lr.c) ... */
    u8 spilled_on;     /* ... of this vCPU (index), until the guest deactivates it */
    u16 hw_intid;      /* physical INTID for HW-bit injection, 0 if virtual only */
    u8 target;         /* vCPU index (SPIs: from IROUTER, or ITARGETSR on v2; 0xff: none) */
    u8 targets;        /* v2 SPIs: GICD_ITARGETSR<n> byte, one bit per vCPU */
    u8 sgi_sources;    /* v2 SGIs: vCPUs it is pending from (one LR per source) */
    u64 irouter;       /* v3 SPIs: GICD_IROUTER<n> as written */
};

struct vgic_cpu {
    struct vgic_irq private_irqs[VGIC_NR_PRIVATE];
    u64 want[VGIC_NR_IRQS / 64]; /* pending+enabled IRQs waiting for an LR */
    u16 lr_intid[VGIC_MAX_LRS];  /* INTID in each used LR */
    u32 used_lrs;                /* bitmap of LRs Keel filled */
    u64 spilled[VGIC_NR_IRQS / 64]; /* active IRQs evicted from the LRs, not yet deactivated */
    u32 nr_spilled;              /* bits set in spilled: one word for every flush to test */
    bool sleeping;               /* GICR_WAKER.ProcessorSleep */
    bool lr_stale;               /* an LR's priority or group changed from elsewhere */
    u32 gicr_ctlr;
    /* the virtual interface while the vCPU is off its CPU (vgic_vcpu_put) */
    u64 saved_lr[VGIC_MAX_LRS];  /* those in used_lrs, verbatim: irq->lr stays true */
    bool lrs_saved;              /* saved_lr holds them now (vgic lock) */
    u64 saved_aprs, saved_vmcr, saved_hcr;
};

struct vgic_dist {
    spinlock_t lock;
    bool v2;           /* GICv2 model: ITARGETSR routing, per-source SGIs */
    /*
     * v3: vCPU i's MPIDR is Aff0 = i, the other fields 0 (vm.c's layout;
     * 16 vCPUs at most): an SGI's TargetList is then the vCPU mask itself.
     */
    bool aff0_is_index;
    u32 ctlr;
    unsigned int nr_vcpus;
    struct vgic_irq spis[VGIC_NR_SPIS];
};

/*
 * Can @irq be signalled to its vCPU now: pending (latched, or a level line
 * high), enabled, and its group enabled in GICD_CTLR. The one test for
 * queueing an interrupt (want bit), from the distributor and from the LR
 * fold-back alike.
 */
static inline bool vgic_irq_signalable(const struct vgic_dist *d, const struct vgic_irq *irq)
{
    return (irq->pending || (!irq->edge && irq->level)) && irq->enabled &&
           (d->ctlr & (irq->group1 ? GICD_CTLR_EnableGrp1 : GICD_CTLR_EnableGrp0));
}

void vgic_init_vm(struct vm *vm);
void vgic_init_vcpu(struct vcpu *vcpu);
/* The VM and its vCPUs to a vGICv3's reset state (vgic lock held). */
void vgicv3_reset(struct vm *vm);

/* The ops each vGIC version offers the core (src/irqchip/vgicv3.c, vgicv2.c). */
struct virqchip_ops;
extern const struct virqchip_ops vgicv3_ops, vgicv2_ops;
/* Guest DT parts (src/irqchip/vgic_dt.c, pure). */
unsigned int vgic_dt_spec(u32 *cells, u32 line, unsigned int flags);
unsigned int vgicv3_dt_spec_private(u32 *cells, unsigned int ncpus, u32 intid, unsigned int flags);
unsigned int vgicv2_dt_spec_private(u32 *cells, unsigned int ncpus, u32 intid, unsigned int flags);
int vgicv3_dt_node(void *fdt, unsigned int ncpus, u32 phandle);
int vgicv2_dt_node(void *fdt, unsigned int ncpus, u32 phandle);

/* MMIO emulation; offsets relative to the frame base. 0 or -1 (bad access). */
int vgicd_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val);
int vgicd_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val);
int vgicr_read(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val);
int vgicr_write(struct vcpu *vcpu, u64 off, unsigned int size, u64 val);

/* Makes an edge interrupt pending (SGIs, edge SPIs, the virtual timer). */
void vgic_inject(struct vm *vm, struct vcpu *target, u32 intid);
/* Sets the line level of a level-sensitive SPI (emulated devices). */
void vgic_set_level(struct vm *vm, u32 intid, bool level);
/* Injects private hardware interrupt @intid (HW bit): guest deactivation reaches @pintid. */
void vgic_inject_hw(struct vcpu *vcpu, u32 intid, u32 pintid);
void vgic_inject_hw_spi(struct vm *vm, u32 intid, u32 pintid);
/*
 * Private @intid (< 32; forwarded from @pintid when non-zero) pending on
 * @vcpu, which runs on this CPU and is about to enter: latched, queued and
 * flushed under one lock, no kick (src/arch/aarch64/vgic_lr.c). The exit
 * path's virtual timer, and a vGICv3 SGI a vCPU sends itself alone.
 */
void vgic_inject_here(struct vcpu *vcpu, u32 intid, u32 pintid);
/*
 * Its first half (src/irqchip/vgic.c), lock held: latched and queued as
 * vgic_pend() does it, not kicked. True if a flush is due.
 */
bool vgic_pend_here(struct vcpu *vcpu, u32 intid, u32 pintid);
void vgic_set_private_level(struct vcpu *vcpu, u32 intid, bool level);
/* v2: SGI @sgi to @target from vCPU @src (GICD_SGIR, SPENDSGIR). */
void vgic_inject_sgi_from(struct vm *vm, struct vcpu *target, u32 sgi, unsigned int src);
/* The vGICv2 reset state (vgic lock held). */
void vgicv2_reset(struct vm *vm);
/* Guest write of ICC_SGI1R_EL1 / ICC_ASGI1R_EL1 / ICC_SGI0R_EL1. */
void vgic_send_sgi(struct vcpu *vcpu, u64 sgir);

/* Entry/exit hooks, run on the vCPU's own physical CPU. */
void vgic_flush(struct vcpu *vcpu); /* move wanted IRQs into LRs */

/* vgic_wants_flush(), vgic_want_set() and vgic_want_clear() are in keel/vcpu.h. */

static inline bool vgic_wanted(const struct vgic_cpu *c, u32 intid)
{
    return c->want[intid / 64] & (1UL << (intid % 64));
}
void vgic_sync(struct vcpu *vcpu);  /* fold back LRs the guest finished */
void vgic_maintenance(struct vcpu *vcpu);
void vgic_vcpu_reset_hw(struct vcpu *vcpu);
/* A vCPU switched off (put) and onto (load) this CPU by the scheduler; its stop (release). */
void vgic_vcpu_put(struct vcpu *vcpu);
void vgic_vcpu_load(struct vcpu *vcpu);
void vgic_vcpu_release_hw(struct vcpu *vcpu);
/* A vCPU off its CPU has an interrupt pending in a saved list register. */
bool vgic_saved_pending(const struct vcpu *vcpu);
/* A trapped ICC_DIR_EL1 write (ICH_HCR_EL2.TDIR, set while LRs overflowed). */
void vgic_dir(struct vcpu *vcpu, u64 val);

/* vgic_get_irq() is in keel/vm.h, which has the full struct vm and struct vcpu. */

/*
 * The list-register state of an interrupt on the vCPU running on this CPU
 * (src/arch/aarch64/vgic_lr.c); false when it is in none of its LRs.
 * Lock held. set_state: -1 leaves a state bit as it is; it also ends the
 * active state of a spilled interrupt (from any vCPU) and then returns true,
 * as Keel's state is all there is of it.
 */
bool vgic_lr_state(struct vgic_irq *irq, bool *pending, bool *active);
bool vgic_lr_set_state(struct vgic_irq *irq, int pending, int active);
/* v2 SGIs: the source of @irq pending (not yet acknowledged) in this CPU's LR, or -1. */
int vgic_lr_sgi_source(struct vgic_irq *irq);
/*
 * @irq, held in a list register, had its priority, group or route changed
 * (lock held): the LR must say so too, or the guest keeps seeing the old
 * values (found by the hostile guest: SGIs queued at a priority PMR masked
 * were never taken after being raised); a pending-only SPI routed elsewhere
 * leaves the LR and moves (found by the GICv2 test guest). In place when
 * the LR is this CPU's, else its vCPU is kicked and refreshes its LRs
 * (vgic_lr_refresh).
 */
void vgic_lr_changed(struct vm *vm, struct vgic_irq *irq);
void vgic_lr_refresh(struct vcpu *vcpu);
/* ICPENDR on a forwarded (HW) interrupt: ends the physical one too. */
void vgic_hw_unpend(struct vcpu *owner, struct vgic_irq *irq);
/*
 * Forwarded private interrupts of @vcpu, which runs on this CPU, whose
 * physical source has gone low (arch_hw_line_high): their pending state,
 * in an LR or latched, goes, and their physical interrupt is deactivated,
 * as a level-sensitive line's would on hardware. True if one is still
 * pending in an LR. Lock held; vgic_hw_resample() takes it.
 */
bool vgic_hw_resample_locked(struct vcpu *vcpu);
bool vgic_hw_resample(struct vcpu *vcpu);
/*
 * The level of physical private interrupt @pintid's source as this CPU
 * sees it now, for those the architecture can read (the virtual timer,
 * the PMU's overflow); true for the rest. Provided by the architecture.
 */
bool arch_hw_line_high(u32 pintid);

#endif
