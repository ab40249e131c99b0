/*
 * A virtual machine: its configuration (from the device tree), its memory
 * and Stage-2 map, its vCPUs and its emulated devices.
 *
 * Lock order: vm.lock, then vgic.lock, then the console lock.
 */
#ifndef KEEL_VM_H
#define KEEL_VM_H

#include <keel/platform.h>
#include <keel/spinlock.h>
#include <keel/types.h>
#include <keel/vcpu.h>
#include <keel/vgic.h>
#include <keel/vpl011.h>
#include <arch/pgtable.h>

#define VM_MAX 8
#define VM_MAX_VCPUS PLAT_MAX_CPUS
#define VM_NAME_MAX 32
#define VM_BOOTARGS_MAX 512
#define VM_MAX_MMIO 4
#define VM_MAX_CHUNKS 16

/* Guest-physical layout: QEMU's virt board (hw/arm/virt.c memmap). */
#define GUEST_GICD_BASE 0x08000000UL
#define GUEST_GICD_SIZE 0x10000UL
#define GUEST_GICR_BASE 0x080a0000UL
#define GUEST_GICR_STRIDE 0x20000UL
#define GUEST_UART_BASE 0x09000000UL
#define GUEST_UART_SIZE 0x1000UL
#define GUEST_UART_SPI 1
#define GUEST_RAM_BASE 0x40000000UL
#define GUEST_IPA_BITS 39

enum vm_state { VM_STOPPED, VM_RUNNING, VM_OFF, VM_CRASHED };

struct vm_config {
    char name[VM_NAME_MAX];
    unsigned int nr_vcpus;
    u64 affinity;         /* physical CPUs, one per vCPU, in order */
    u64 mem_size;
    bool console;
    struct mem_range kernel, initrd; /* pristine images; initrd.size may be 0 */
    bool kernel_raw;      /* not a Linux Image: load/entry given */
    u64 kernel_load, kernel_entry;
    char bootargs[VM_BOOTARGS_MAX];
    char node[64];        /* DT path, for messages */
};

struct mmio_region {
    u64 base, size;
    int (*read)(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val);
    int (*write)(struct vcpu *vcpu, u64 off, unsigned int size, u64 val);
};

struct vm {
    unsigned int id;       /* VMID is id + 1 */
    struct vm_config cfg;
    volatile enum vm_state state;
    struct pgtable s2;
    u64 vttbr;
    struct mem_range chunks[VM_MAX_CHUNKS]; /* guest RAM, back to back from GUEST_RAM_BASE */
    unsigned int nr_chunks;
    u64 entry, dtb_ipa;    /* where vCPU 0 starts, and x0 */
    volatile bool reset_pending;
    spinlock_t uart_lock;  /* the vPL011: guest MMIO and console input */
    struct vm_console *console;
    struct vcpu *vcpus[VM_MAX_VCPUS];
    struct vgic_dist vgic;
    struct vpl011 uart;
    struct mmio_region mmio[VM_MAX_MMIO];
    unsigned int nr_mmio;
    spinlock_t lock;
    unsigned int boots;
};

extern struct vm *vms[VM_MAX];
extern unsigned int nr_vms;

int vm_create(const struct vm_config *cfg, struct vm **out);
int vm_start(struct vm *vm);
/* Stops every vCPU of @vm; safe from any CPU and from the VM's own vCPU. */
void vm_stop(struct vm *vm, enum vm_state why);
/* Restarts @vm from its pristine images (PSCI SYSTEM_RESET, the shell). */
void vm_request_reset(struct vm *vm);
struct mmio_region *vm_find_mmio(struct vm *vm, u64 ipa);
/* Called on each physical CPU with nothing to run: starts vCPUs that became runnable. */
void vm_idle_poll(void);
const char *vm_state_name(enum vm_state s);

/* Guest memory access by IPA, for Keel's own use (loading images). */
void *vm_ipa_to_hva(struct vm *vm, u64 ipa, u64 size);
int vm_copy_to_guest(struct vm *vm, u64 ipa, const void *src, u64 len);

#endif
