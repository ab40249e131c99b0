#ifndef DRIVERS_GICV3_H
#define DRIVERS_GICV3_H

#include <keel/types.h>

#define GIC_SGI_KICK 0    /* wake a CPU: new virtual IRQs or a vCPU to start */
#define GIC_INTID_SPURIOUS 1020 /* 1020..1023 */

int gic_init(void);        /* boot CPU: distributor */
int gic_cpu_init(void);    /* every CPU: its redistributor and CPU interface */
u32 gic_ack(void);
void gic_eoi(u32 intid);          /* priority drop (EOImode = 1) */
void gic_deactivate(u32 intid);
void gic_send_sgi(unsigned int cpu, u32 sgi);
void gic_enable_irq(u32 intid, unsigned int cpu);
void gic_disable_irq(u32 intid);
void gic_clear_active(u32 intid);
unsigned int gic_nr_lrs(void);

#endif
