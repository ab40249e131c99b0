/*
 * Fakes for what the VM configuration code calls beyond the parser: VM
 * creation (records each accepted configuration), the page allocator (a
 * byte budget, no memory), Stage-2 and GIC calls (no-ops), the host disk
 * (a size and a read-only flag, no driver). Shared by the
 * vm_config and guest_dt harnesses.
 */
#ifndef FUZZ_FAKE_CORE_H
#define FUZZ_FAKE_CORE_H

#include <keel/vm.h>

/* VMs vm_create() accepted, in order; vms[]/nr_vms point at the same ones. */
extern struct vm fuzz_vm_pool[VM_MAX];
/* Called by the fake vm_create() with each configuration vms_boot() accepted. */
extern void (*fuzz_vm_create_hook)(const struct vm_config *cfg);
/* Bytes page_alloc() may still hand out. */
extern u64 fuzz_page_budget;
/* The host disk hdisk_capacity() and hdisk_read_only() report (0 sectors: none). */
extern u64 fuzz_hdisk_sectors;
extern bool fuzz_hdisk_ro;

void fuzz_core_reset(u64 page_budget);

#endif
