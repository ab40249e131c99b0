/*
 * What Keel in M-mode keeps of a VM's guest-physical map besides the map
 * itself (physmap.c), and Keel's own PMP around a VM (hartpmp.c).
 */
#ifndef ARCH_PHYSMAP_H
#define ARCH_PHYSMAP_H

#include <arch/pmp.h>

struct vm;
struct vcpu;

/* The host ranges mapped for @vm besides RAM (devices, shared memory), RW: *@out, their count. */
unsigned int rvm_mapped_regions(const struct vm *vm, const struct pmp_region **out);

/* PMP entries the harts implement and their granularity's G (3.7.1), from rvm_pmp_probe(). */
extern unsigned int rvm_pmp_entries, rvm_pmp_grain;
/* Once, on the boot hart: how many entries there are, and G. */
void rvm_pmp_probe(void);
/* This hart's PMP: @s (NULL: every entry off, U and S reach nothing), then sfence.vma (3.7.2). */
void rvm_pmp_load(const struct pmp_set *s);
/*
 * @v about to run on this hart: its entries loaded, then tried (U loads and
 * stores through mstatus.MPRV). False if the hart does not confine it as
 * they say: the caller stops the VM.
 */
bool rvm_pmp_enter(struct vcpu *v);

#endif
