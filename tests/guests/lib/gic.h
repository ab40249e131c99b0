/*
 * Inside libguest: what lib/gic.c (the API of libguest.h) asks of each GIC
 * version, lib/gicv3.c and lib/gicv2.c.
 */
#ifndef LIBGUEST_GIC_H
#define LIBGUEST_GIC_H

#include "libguest.h"

#define DEFAULT_PRIO 0xa0

struct gic_ops {
    void (*dist_init)(void);
    void (*cpu_init)(void);
    /* where GICD_* offsets reach @cpu's private interrupts (v2: this CPU's only) */
    u64 (*private_frame)(unsigned int cpu);
    void (*spi_route)(u32 intid, unsigned int cpu);
    void (*send_sgi_mask)(u64 cpumask, u32 intid);
    void (*send_sgi_others)(u32 intid);
    u32 (*ack)(void);
    void (*eoi)(u32 intid);
    void (*dir)(u32 intid);
    void (*set_pmr)(u8 p);
    u8 (*pmr)(void);
    u8 (*rpr)(void);
    u32 (*hppir)(void);
    void (*set_eoimode)(bool split);
    bool (*eoimode)(void);
};

extern const struct gic_ops gicv3_ops, gicv2_ops;

unsigned int gic_nr_irqs(void);
/* Picks the ops for machine.gic_version; false if the DT named no usable GIC. */
bool gic_select(void);
void gic_dist_init(void);
/* GICv2 SGIs of this CPU: pend one from @source, or clear every source's (GICD_S/CPENDSGIR). */
void gicv2_sgi_pending(u32 intid, bool set, unsigned int source);

#endif
