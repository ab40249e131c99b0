/*
 * The interrupt-controller seam. Generic code (src/core, src/vdev) reaches
 * interrupt controllers only through the two ops tables declared here:
 *
 * - struct irqchip_ops: the physical controller Keel itself drives (GICv3,
 *   GICv2; a PLIC later). Chosen once at boot by irqchip_probe() from the
 *   host device tree. Interrupts are "hwirq" numbers in the controller's own
 *   space (INTIDs on a GIC); generic code never does arithmetic on them.
 *
 * - struct virqchip_ops: the virtual controller of a VM (vGICv3, vGICv2; a
 *   vPLIC later). Generic code speaks of "lines": line N is the Nth device
 *   interrupt of the VM's interrupt controller (SPI N on a GIC, source N on
 *   a PLIC), and asks the virqchip for the DT specifier of a line.
 *
 * Private per-CPU interrupts (timers, IPIs, maintenance) are the arch's
 * business: src/arch/<isa> calls its own irqchip code for them.
 */
#ifndef KEEL_IRQCHIP_H
#define KEEL_IRQCHIP_H

#include <keel/platform.h>
#include <keel/types.h>

struct vm;
struct vcpu;

/* The hwirq an ack returns when nothing is pending. */
#define IRQCHIP_NONE 0xffffffffU

struct irqchip_ops {
    const char *name;                 /* "GICv3", "GICv2" */
    int (*init)(void);                /* boot CPU, once: the shared parts */
    int (*cpu_init)(void);            /* every CPU, its private parts */
    u32 (*ack)(void);                 /* the highest pending hwirq, or IRQCHIP_NONE */
    void (*eoi)(u32 hwirq);           /* priority drop; deactivation is separate */
    void (*deactivate)(u32 hwirq);
    void (*send_ipi)(unsigned int cpu); /* Keel's one IPI: "look at your work" */
    void (*enable)(u32 hwirq, unsigned int cpu); /* routed to @cpu (private: @cpu's own) */
    void (*disable)(u32 hwirq);
    void (*clear_active)(u32 hwirq);  /* from any CPU: a VM went away mid-interrupt */
    /*
     * This CPU's private interrupts (< 32) that are active, one bit each,
     * and setting or ending that state for the ones in @mask: a forwarded
     * PPI's active state goes with its vCPU when a shared CPU switches
     * (core/sched.c). NULL where there are no private interrupts (PLIC).
     */
    u32 (*private_active)(void);
    void (*private_set_active)(u32 mask, bool active);
    /* Interrupt specifier in the host DT (@cells of #interrupt-cells) to a hwirq. */
    bool (*dt_xlate)(const u32 *cells, unsigned int ncells, u32 *hwirq);
    /* The guest line a passed-through hwirq appears as (same numbering as the host's). */
    bool (*hwirq_to_line)(u32 hwirq, u32 *line);
    void (*describe)(void);           /* one banner line */
    u32 ipi_hwirq;                    /* what send_ipi raises */
    unsigned int dt_cells;            /* #interrupt-cells of the host binding */
};

/* The physical controller, set by irqchip_probe(); NULL if none was found. */
extern const struct irqchip_ops *irqchip;

/*
 * Finds the host's interrupt controller in @fdt, records its registers in
 * @plat (the regions Keel owns) and selects its ops. 0, or -1 if Keel has
 * no driver for what the DT shows (logged).
 */
int irqchip_probe(const void *fdt, struct platform *plat);

static inline u32 irqchip_ack(void) { return irqchip->ack(); }
static inline void irqchip_eoi(u32 hwirq) { irqchip->eoi(hwirq); }
static inline void irqchip_deactivate(u32 hwirq) { irqchip->deactivate(hwirq); }
static inline void irqchip_send_ipi(unsigned int cpu) { irqchip->send_ipi(cpu); }
static inline void irqchip_enable(u32 hwirq, unsigned int cpu) { irqchip->enable(hwirq, cpu); }
static inline void irqchip_disable(u32 hwirq) { irqchip->disable(hwirq); }
static inline void irqchip_clear_active(u32 hwirq) { irqchip->clear_active(hwirq); }
static inline u32 irqchip_private_active(void) { return irqchip->private_active(); }
static inline void irqchip_private_set_active(u32 mask, bool active)
{
    irqchip->private_set_active(mask, active);
}

/* Flags of a line's DT specifier (Linux's IRQ_TYPE_*). */
#define VIRQ_EDGE_RISING 1
#define VIRQ_LEVEL_HIGH 4

struct virqchip_ops {
    const char *name;                 /* "vGICv3" */
    unsigned int nr_lines;            /* device lines 0..nr_lines-1 */
    /* Once per VM, after its vCPUs exist: locks, emulated MMIO regions. */
    void (*create_vm)(struct vm *vm);
    /* Every (re)build: the VM's and its vCPUs' interrupt state to reset values. */
    void (*reset_vm)(struct vm *vm);
    /* Every (re)build: frames of the host controller mapped into the VM's Stage-2. */
    int (*map)(struct vm *vm);
    /* A level-sensitive line's level (emulated devices). */
    void (*set_level)(struct vm *vm, u32 line, bool level);
    /* An edge on a line (doorbells). */
    void (*inject_edge)(struct vm *vm, u32 line);
    /* A physical interrupt forwarded to the VM: the guest's completion ends @hwirq. */
    void (*forward_hw)(struct vm *vm, u32 line, u32 hwirq);
    /* Move pending interrupts into / fold finished ones out of the hardware. */
    void (*flush)(struct vcpu *vcpu);
    void (*sync)(struct vcpu *vcpu);
    /* The controller's node in the guest DT of a VM with @ncpus vCPUs. */
    int (*dt_node)(void *fdt, unsigned int ncpus, u32 phandle);
    /*
     * @line's specifier into @cells (room for 4): the number of cells, 0 if
     * the line cannot be described. Pure, like dt_node.
     */
    unsigned int (*dt_spec)(u32 *cells, u32 line, unsigned int flags);
    /* Likewise for a per-CPU interrupt (the arch timer's), in hwirq numbering. */
    unsigned int (*dt_spec_private)(u32 *cells, unsigned int ncpus, u32 hwirq, unsigned int flags);
};

/* The virtual controller VMs get on this host (NULL: VMs cannot run here). */
const struct virqchip_ops *virqchip_for_host(void);

#endif
