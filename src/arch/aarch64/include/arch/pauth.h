/* Pointer authentication for guests (pauth.c): the CPU's, with per-vCPU keys. */
#ifndef ARCH_PAUTH_H
#define ARCH_PAUTH_H

#include <keel/types.h>

struct vcpu_el1;

/*
 * Boot CPU, once, before any vCPU starts and before the secondary CPUs
 * are released: whether the CPU has FEAT_PAuth (setup.c, boot_primary()).
 */
void pauth_init(void);
/* The answer pauth_init() found: false before it ran. */
bool cpu_has_pauth(void);
/*
 * At EL2 on the vCPU's core, the vCPU not running: the five key pairs
 * (APIAKey, APIBKey, APDAKey, APDBKey, APGAKey) from the CPU into @e->apkey,
 * or from @e->apkey into the CPU. Nothing without FEAT_PAuth, where the key
 * registers do not exist.
 */
void pauth_keys_save(struct vcpu_el1 *e);
void pauth_keys_load(const struct vcpu_el1 *e);

#endif
