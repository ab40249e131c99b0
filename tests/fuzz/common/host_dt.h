/*
 * A host device tree built from a fuzz input, for the harnesses of the VM
 * configuration parser and the guest-DT generator: a valid QEMU-virt-like
 * base (RAM, CPUs, GICv3, timer, PL011, PSCI, a few passthrough candidates
 * and aliases), then a little program of libfdt read-write edits that adds
 * keel,shmem and keel,vm nodes under /chosen, properties on them with names
 * from docs/configuration.md and random values, and multiboot module nodes
 * with random reg. The blob stays valid: libfdt writes every byte.
 */
#ifndef FUZZ_HOST_DT_H
#define FUZZ_HOST_DT_H

#include <keel/types.h>

#include "fuzz_input.h"

#define HOST_DT_MAX (64 * 1024)

/* Builds into @buf (HOST_DT_MAX bytes, 8-aligned); 0 or a libfdt error. */
int host_dt_build(struct fuzz_in *in, void *buf);

#endif
