/*
 * What Keel learned about the machine from the host device tree.
 * Filled once by dt_parse_platform() on the boot CPU, read-only afterwards.
 */
#ifndef KEEL_PLATFORM_H
#define KEEL_PLATFORM_H

#include <keel/types.h>

#define PLAT_MAX_MEM 8
#define PLAT_MAX_CPUS 8
#define PLAT_MAX_RESERVED 16
#define PLAT_MAX_MODULES 16

struct mem_range {
    paddr_t base;
    u64 size;
};

enum psci_conduit { PSCI_CONDUIT_NONE, PSCI_CONDUIT_SMC, PSCI_CONDUIT_HVC };

/* A CPU node's "enable-method"; a node without one is taken as PSCI. */
enum cpu_enable_method { CPU_ENABLE_PSCI, CPU_ENABLE_SPIN_TABLE, CPU_ENABLE_OTHER };

struct boot_module {
    struct mem_range range;
    char kind[24];   /* "kernel", "ramdisk", "device-tree" or "module" */
    char path[64];   /* DT path of the module node, for messages */
};

struct platform {
    struct mem_range mem[PLAT_MAX_MEM];
    unsigned int mem_count;
    struct mem_range reserved[PLAT_MAX_RESERVED]; /* memreserve + reserved-memory */
    unsigned int reserved_count;

    u64 cpu_hwid[PLAT_MAX_CPUS];
    enum cpu_enable_method cpu_enable[PLAT_MAX_CPUS];
    u64 cpu_release_addr[PLAT_MAX_CPUS]; /* spin-table: 0 if the DT gives none */
    unsigned int cpu_count;
    unsigned int cpus_ignored; /* present in the DT beyond PLAT_MAX_CPUS */

    unsigned int gic_version; /* 2 or 3, 0 if none found */
    struct mem_range gicd;
    struct mem_range gicr;      /* v3: redistributor region */
    struct mem_range gicc;      /* v2: CPU interface */
    struct mem_range gich;      /* v2: virtual interface control */
    struct mem_range gicv;      /* v2: virtual CPU interface */
    u32 gic_maint_irq;          /* PPI number (INTID) of the maintenance irq */
    struct mem_range plic;      /* RISC-V: the platform-level interrupt controller */

    u32 timer_irq[4];           /* INTIDs: sec phys, ns phys, virt, hyp phys */
    bool timer_found;
    /*
     * INTID of the PMU's overflow interrupt ("arm,armv8-pmuv3"), 0 if none.
     * The architecture's boot code clears it, before any other CPU starts,
     * when guests are not given the PMU: non-zero means guests have one.
     */
    u32 pmu_irq;

    struct mem_range uart;
    bool uart_ns16550;          /* an 8250-compatible UART, not a PL011 */
    u32 uart_reg_shift;         /* ns16550: register stride, log2 bytes */
    u32 uart_irq;               /* hwirq */
    char uart_path[64];

    enum psci_conduit psci;

    struct boot_module modules[PLAT_MAX_MODULES];
    unsigned int module_count;

    const char *bootargs;       /* points into the DTB */
};

/* Parses the flattened DT at @fdt. Returns 0 or a negative error, logging why. */
int dt_parse_platform(const void *fdt, struct platform *plat);
const char *psci_conduit_name(enum psci_conduit c);
const char *cpu_enable_method_name(enum cpu_enable_method m);
/*
 * The host DT's nodes' parents and phandles, recorded in one walk at boot
 * (core/dt_index.c), before anything reads the tree. dt_parent() and
 * dt_node_by_phandle() answer as fdt_parent_offset() and
 * fdt_node_offset_by_phandle(), from the index for that tree.
 */
void dt_index_build(const void *fdt);
void dt_index_drop(void); /* forget it (host unit tests reuse buffers) */
int dt_parent(const void *fdt, int node);
int dt_node_by_phandle(const void *fdt, u32 phandle);
/* Entry @idx of @node's "reg", with its parent's #address-cells/#size-cells (1 or 2). */
bool dt_read_reg(const void *fdt, int node, int idx, u64 *base, u64 *size);
/* A bus address in @node's reg to a CPU physical address, through its buses' "ranges". */
bool dt_translate(const void *fdt, int node, u64 *addr);
/*
 * Entry @idx of @node's "interrupts", translated by the interrupt controller
 * Keel drives (irqchip: it knows its binding's cells): 1, 0 if there is no
 * such entry (or no irqchip), -1 if the specifier is not a valid one.
 */
int dt_read_irq(const void *fdt, int node, int idx, u32 *hwirq);

extern struct platform platform;

/*
 * The PL011 of the board whose root "compatible" list is @list (@len bytes,
 * NUL-separated), 0 if Keel knows none (src/platform/boards.c).
 */
u64 platform_board_pl011(const char *list, u32 len);

#endif
