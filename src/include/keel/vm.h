/*
 * A virtual machine: its configuration (from the device tree), its memory
 * and Stage-2 map, its vCPUs and its emulated devices.
 *
 * Lock order: vm.lock, then vgic.lock (plic.lock), then the console lock; a virtio
 * device's lock (core/vdev.c) before vgic.lock (plic.lock) and before the host
 * disk driver's (keel/hdisk.h), a leaf but for the console's. vm.lock guards
 * the lifecycle (state, reset_pending, building, every vCPU's power; see
 * core/vm_lifecycle.c) and nothing else; no log line is printed under it.
 */
#ifndef KEEL_VM_H
#define KEEL_VM_H

#include <keel/irqchip.h>
#include <keel/platform.h>
#include <keel/spinlock.h>
#include <keel/types.h>
#include <keel/vcpu.h>
#include <keel/vgic.h>
#include <keel/vclint.h>
#include <keel/vplic.h>
#include <keel/vuart.h>
#include <arch/guest_layout.h>
#include <arch/pgtable.h>

#define VM_MAX 8
#define VM_MAX_VCPUS PLAT_MAX_CPUS
#define VM_NAME_MAX 32
#define VM_BOOTARGS_MAX 512
#define VM_MAX_MMIO 16
#define VM_MAX_PT 4
#define PT_MAX_REGS 4
#define PT_MAX_IRQS 4
#define VM_MAX_SHMEM 4
#define VM_MAX_CHUNKS 16
#define VM_MAX_DISKS 4

#define VM_NET_NAME_MAX 16

struct vm_virtio; /* the VM's virtio-mmio window and devices (core/vdev.c) */

/*
 * A disk the VM sees as a virtio-blk device: a keel,disk module (a RAM
 * disk) or a keel,disk-slice (sectors of the host disk, keel/hdisk.h).
 */
struct vm_disk_cfg {
    struct mem_range image; /* RAM disk: pristine; each (re)build gives the VM a fresh copy */
    bool slice;             /* a keel,disk-slice: no image, the sectors below */
    u64 first, sectors;     /* slice: its 512-byte sectors on the host disk */
    bool read_only;         /* keel,read-only */
    unsigned int slot;      /* its virtio-mmio slot (GUEST_VIRTIO_BASE + slot * STRIDE) */
};

/* keel,net: a virtio-net port on a named network of Keel's switch (core/vnet.c). */
struct vm_net_cfg {
    bool enabled;
    char network[VM_NET_NAME_MAX];
    u8 mac[6];              /* keel,mac-address; else one made from the VM's id */
    bool mac_set;
    unsigned int slot;
};

/* keel,virtio-console: a virtio-console port (hvc0) on the console multiplexer. */
struct vm_vconsole_cfg {
    bool enabled;
    unsigned int slot;
};

enum vm_state { VM_STOPPED, VM_RUNNING, VM_OFF, VM_CRASHED };

/* A host device handed to a VM (keel,passthrough): IPA == PA for its registers. */
struct pt_dev {
    char path[64];
    int node;                         /* offset in the host DT */
    struct mem_range regs[PT_MAX_REGS];
    unsigned int nr_regs;
    u32 irqs[PT_MAX_IRQS];            /* host hwirqs (irqchip numbering) */
    u32 lines[PT_MAX_IRQS];           /* ... and the VM's line each appears as */
    unsigned int nr_irqs;
    u8 widths;                        /* forwarded access sizes allowed: an OR of 1, 2, 4, 8 */
};

struct vm_config {
    char name[VM_NAME_MAX];
    unsigned int nr_vcpus;
    u64 affinity;         /* physical CPUs its vCPUs may be placed on (keel,cpu-affinity) */
    u8 vcpu_cpu[VM_MAX_VCPUS]; /* each vCPU's home core, from vm_place_vcpus() */
    u8 priority;          /* keel,priority: higher runs first where vCPUs share a core */
    u32 slice_us;         /* keel,time-slice-us: how long a vCPU runs before a peer's turn */
    u64 mem_size;
    u64 ram_ipa;          /* guest-physical base of RAM (keel,ipa-base; identity: = PA) */
    bool identity;        /* keel,identity: IPA == PA, for DMA without an IOMMU */
    bool console;
    bool mem_tagging;     /* keel,mte: Arm MTE on its RAM (arch/aarch64/mte.c) */
    struct mem_range kernel, initrd; /* pristine images; initrd.size may be 0 */
    bool kernel_raw;      /* not a Linux Image: load/entry given */
    u64 kernel_load, kernel_entry;
    char bootargs[VM_BOOTARGS_MAX];
    char node[64];        /* DT path, for messages */
    struct pt_dev pt[VM_MAX_PT];
    unsigned int nr_pt;
    u8 shmem[VM_MAX_SHMEM]; /* indexes into the shared-memory regions */
    unsigned int nr_shmem;
    struct vm_disk_cfg disks[VM_MAX_DISKS];
    unsigned int nr_disks;
    struct vm_net_cfg net;
    struct vm_vconsole_cfg vconsole;
    /*
     * keel,qemu-compat: its emulated devices behave as QEMU's do where a
     * guest written against QEMU relies on how they differ from the specs
     * (xv6 does): virtio-mmio transports with QEMU's VendorID, the lowest
     * first, a driver that does not accept VIRTIO_F_VERSION_1 let through;
     * the PLIC's gateway not forwarding a level still high at completion
     * (QEMU's sifive_plic forwards only when a device signals).
     */
    bool qemu_compat;
};

struct mmio_region {
    u64 base, size;
    /* passthrough smaller than a page (accesses replayed on the device): the sizes it takes */
    u8 widths;        /* an OR of 1, 2, 4, 8; its read and write are pt_forward()'s */
    int (*read)(struct vcpu *vcpu, u64 off, unsigned int size, u64 *val);
    int (*write)(struct vcpu *vcpu, u64 off, unsigned int size, u64 val);
};

struct vm {
    unsigned int id;       /* VMID is id + 1 */
    struct vm_config cfg;
    volatile enum vm_state state;
    struct pgtable s2;
    u64 s2_base;           /* VTTBR_EL2 / hgatp: the Stage-2 root and VMID */
    struct mem_range chunks[VM_MAX_CHUNKS]; /* guest RAM, back to back from cfg.ram_ipa */
    unsigned int nr_chunks;
    u64 *ram_ready;        /* a bit per 2 MiB block of RAM: zeroed and mapped (core/vm_ram.c) */
    spinlock_t ram_lock;   /* filling a block: a leaf but for the allocators' locks */
    u64 ram_blocks_filled; /* of those, since the last build (shell stat) */
    u64 entry, dtb_ipa;    /* where vCPU 0 starts, and x0 */
    bool boot_all_vcpus;   /* every vCPU starts there, as harts out of reset (arch_vm_boots_all_vcpus) */
    bool reset_pending;    /* a rebuild is wanted: vCPU 0's CPU does it when all are out */
    bool building;         /* being rebuilt; no vCPU may enter */
    bool stop_after_build; /* stopped (shell) while building: stay stopped */
    spinlock_t uart_lock;  /* the console UART: guest MMIO and console input */
    struct vm_console *console;
    struct vcpu *vcpus[VM_MAX_VCPUS];
    const struct virqchip_ops *virq; /* the VM's interrupt controller; state below */
    union {                /* the state behind virq: one per controller family */
        struct vgic_dist vgic;
        struct {
            struct vplic model;
            spinlock_t lock;   /* the CLINT's too */
            struct vclint clint; /* guests with an M-mode (GUEST_CLINT_BASE) */
        } plic;
    };
    union vuart uart;      /* the console UART, GUEST_VUART's model */
    struct vm_virtio *virtio; /* NULL: no disk, no virtio-mmio window */
    struct mmio_region mmio[VM_MAX_MMIO];
    unsigned int nr_mmio;
    spinlock_t lock;
    unsigned int boots;
    u64 doorbells;         /* doorbells received */
    u64 log_window;        /* guest-triggered log lines: rate limit state, atomics only */
    u32 log_lines, log_suppressed;
};

extern struct vm *vms[VM_MAX];
extern const void *host_fdt; /* the DT Keel booted with; stays mapped and unchanged */
extern unsigned int nr_vms;

/* keel,priority and keel,time-slice-us when absent, and the slices accepted. */
#define VM_PRIORITY_DEFAULT 128
#define VM_SLICE_US_DEFAULT 10000
#define VM_SLICE_US_MIN 100
#define VM_SLICE_US_MAX 1000000

/*
 * Gives each vCPU of @c a home core in c->vcpu_cpu[]: in vCPU order, the
 * core of c->affinity with the fewest vCPUs so far (@load: those of VMs
 * placed before, plus this VM's earlier ones), ties to the lowest index.
 * c->affinity must be non-empty and name only cores below PLAT_MAX_CPUS.
 */
void vm_place_vcpus(struct vm_config *c, const u8 load[PLAT_MAX_CPUS]);
/* Of the non-empty @mask, the core with the fewest vCPUs in @load; the lowest of those (also sched.c). */
unsigned int vm_least_loaded_cpu(u64 mask, const u8 load[PLAT_MAX_CPUS]);
int vm_create(const struct vm_config *cfg, struct vm **out);
int vm_start(struct vm *vm);
/* Stops every vCPU of @vm; safe from any CPU and from the VM's own vCPU. */
void vm_stop(struct vm *vm, enum vm_state why);
/*
 * Rebuilds @vm from its pristine images and starts it again (PSCI
 * SYSTEM_RESET, the shell's start and restart). The work happens on vCPU 0's
 * physical CPU once every vCPU has left its core.
 */
void vm_request_reset(struct vm *vm);
void vm_request_stop(struct vm *vm);

/*
 * The lifecycle state machine (core/vm_lifecycle.c): each call is one
 * transition under vm->lock, and kicks the vCPUs that must notice it.
 */
void vm_lifecycle_start(struct vm *vm);                      /* vCPU 0 ON_PENDING */
bool vm_lifecycle_stop(struct vm *vm, enum vm_state why);    /* false: not running */
bool vm_lifecycle_request_stop(struct vm *vm);               /* false: was stopped */
/* What a firmware front-end (PSCI CPU_ON, SBI HSM hart_start) answers is its own mapping of these. */
enum vcpu_on_result {
    VCPU_ON_STARTED,         /* it will start at @entry */
    VCPU_ON_ALREADY_ON,
    VCPU_ON_ALREADY_PENDING, /* a start is on its way */
    VCPU_ON_STOPPING,        /* the VM is being stopped or reset */
};
enum vcpu_on_result vcpu_request_on(struct vcpu *target, u64 entry, u64 context);
void vcpu_mark_off(struct vcpu *v);
/* On the vCPU's own CPU: may it enter the guest now? If so it is running. */
bool vcpu_claim_entry(struct vcpu *v);
/* On the vCPU's own CPU: it has left; the VM's memory may go. */
void vcpu_release(struct vcpu *v);
/* True: a reset was pending and no vCPU runs; the caller rebuilds, then finishes. */
bool vm_claim_reset(struct vm *vm);
/* End of a rebuild (@built: it worked); true if the VM was started. */
bool vm_finish_reset(struct vm *vm, bool built);
/* The emulated or forwarded region holding @ipa. */
static inline struct mmio_region *vm_find_mmio(struct vm *vm, u64 ipa)
{
    for (unsigned int i = 0; i < vm->nr_mmio; i++)
        if (ipa - vm->mmio[i].base < vm->mmio[i].size) /* unsigned: also catches ipa < base */
            return &vm->mmio[i];
    return NULL;
}
/*
 * The same from a vCPU's MMIO exit, which is on every one: a guest mostly
 * talks to one device for a while (polling a UART, programming the
 * interrupt controller), so the region of its last exit is tried first,
 * one compare. Regions are only ever added (at creation; forwarded
 * passthrough ones when the VM is built), never moved or removed, so the
 * hint stays a valid slot of vm->mmio for the VM's lifetime. They nest in
 * one place: a forwarded sub-page region inside the virtio window, which
 * vm_find_mmio() finds first but a hint on the window catches; the
 * window gives such accesses to it (core/vdev.c, vdev_no_device).
 */
static inline struct mmio_region *vcpu_find_mmio(struct vcpu *v, u64 ipa)
{
    struct mmio_region *r = v->mmio_hint;

    if (likely(ipa - r->base < r->size))
        return r;
    r = vm_find_mmio(v->vm, ipa);
    if (r)
        v->mmio_hint = r; /* the region found is the hint: passthrough.c's accessors rely on it */
    return r;
}
/* An emulated MMIO region (at VM creation). */
void vm_add_mmio(struct vm *vm, u64 base, u64 size,
                 int (*rd)(struct vcpu *, u64, unsigned int, u64 *),
                 int (*wr)(struct vcpu *, u64, unsigned int, u64));
/* Maps host device frames at @ipa in the VM's Stage-2 (a virqchip's CPU interface). */
int vm_map_device(struct vm *vm, u64 ipa, paddr_t pa, u64 size);
/* Rebuilds it once vm_claim_reset() said so (core/sched.c asks, on vCPU 0's CPU). */
void vm_do_reset(struct vm *vm);
const char *vm_state_name(enum vm_state s);
/*
 * Whether a log line caused by the guest may go out: at most VM_LOG_BURST
 * per second per VM, so a guest cannot flood Keel's console.
 */
bool vm_log_ratelimit(struct vm *vm);
#define VM_LOG_BURST 32
#define VM_WARN(vm, ...) do { if (log_enabled(LOG_WARN) && vm_log_ratelimit(vm)) log_print(LOG_WARN, __VA_ARGS__); } while (0)
#define VM_INFO(vm, ...) do { if (log_enabled(LOG_INFO) && vm_log_ratelimit(vm)) log_print(LOG_INFO, __VA_ARGS__); } while (0)

/* Passthrough (core/passthrough.c) and shared memory (core/shmem.c). */
const char *pt_parse(const void *fdt, int vm_node, struct vm_config *c);
int vm_map_passthrough(struct vm *vm);
void pt_release(struct vm *vm); /* a VM that failed to build gives its SPIs back */
bool pt_handle_irq(u32 hwirq);
int pt_forward(struct vcpu *v, const struct mmio_region *r, u64 ipa, unsigned int size,
               u64 *val, bool write);
int vm_dt_extra_nodes(void *fdt, void *vm);
const char *shmem_parse_vm(const void *fdt, int vm_node, struct vm_config *c);
int shmem_boot(const void *fdt);
int vm_map_shmem(struct vm *vm);
int shmem_dt_nodes(void *fdt, struct vm *vm);
s64 shmem_doorbell(struct vm *vm, u64 id);

/*
 * Emulated virtio devices: their configuration (core/vdev_config.c:
 * keel,disk modules, keel,net, keel,virtio-console; the virtio-mmio slots,
 * after pt_parse so a passed-through slot is skipped; the guest DT nodes)
 * and the device types (core/vdisk.c, core/vnet.c, core/vconsole.c), which
 * core/vdev.c (keel/vdev.h) creates, builds and frees with the VM.
 */
const char *vdisk_parse_module(const void *fdt, int mod, const struct mem_range *r,
                               struct vm_config *c);
const char *vdev_parse_vm(const void *fdt, int vm_node, struct vm_config *c);
const char *vdev_assign_slots(struct vm_config *c);
int vdev_dt_nodes(void *fdt, struct vm *vm);
int vdisk_create(struct vm *vm);
int vnet_create(struct vm *vm);
int vconsole_create(struct vm *vm);

/*
 * Guest RAM (core/vm_ram.c), zeroed and mapped 2 MiB at a time on first
 * touch. Every host address Keel derives from a guest address comes from
 * vm_ipa_span() or vm_ipa_to_hva(), which make the memory they return ready.
 */
int vm_ram_alloc(struct vm *vm);   /* at each build: blocks taken, none zeroed */
void vm_ram_free(struct vm *vm);   /* the blocks back to the allocator */
void vm_ram_destroy(struct vm *vm);
/* A Stage-2 translation fault at @ipa: true if it was RAM, now ready (retry the access). */
bool vm_ram_fault(struct vm *vm, ipaddr_t ipa);
static inline u64 vm_ram_ready_bytes(const struct vm *vm)
{
    return ((vm->cfg.mem_size >> 21) + 63) / 64 * 8;
}
/* The host address of RAM at @ipa, if @size bytes from there are in one block; else NULL. */
void *vm_ipa_to_hva(struct vm *vm, ipaddr_t ipa, u64 size);
/*
 * The host address of RAM at @ipa and in *@avail the bytes from there to
 * the end of its 2 MiB block; NULL if not RAM.
 */
void *vm_ipa_span(struct vm *vm, u64 ipa, u64 *avail);
/* Whether [ipa, ipa + len) is all RAM of @vm (len 0: whether @ipa is); RAM is one IPA range. */
static inline bool vm_ipa_range_is_ram(const struct vm *vm, u64 ipa, u64 len)
{
    u64 off = ipa - vm->cfg.ram_ipa;

    return ipa >= vm->cfg.ram_ipa && off < vm->cfg.mem_size && len <= vm->cfg.mem_size - off;
}
int vm_copy_to_guest(struct vm *vm, ipaddr_t ipa, const void *src, u64 len);

#endif
