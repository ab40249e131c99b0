/*
 * The flattened device tree a guest VM boots with (Linux arm64 or bare
 * metal). Its guest-physical layout mirrors QEMU's virt board so stock
 * kernels need no new support; the caller passes the actual addresses.
 */
#ifndef KEEL_GUEST_DT_H
#define KEEL_GUEST_DT_H

#include <keel/types.h>

/*
 * Everything the generated DT describes. Addresses are IPAs. The values in
 * the comments are QEMU virt's.
 */
struct guest_dt_params {
    const char *name;             /* VM name, for the model string "keel,<name>" */
    u64 mem_base, mem_size;       /* guest RAM (IPA) */
    unsigned int ncpus;           /* vCPUs; the cpu node of vCPU N has reg = cpu_ids[N] */
    const u64 *cpu_ids;           /* Arm: virtual MPIDRs (Aff2..Aff0 only, distinct) */
    const struct virqchip_ops *virq; /* the interrupt controller: its node and specifiers */
    bool uart;                    /* emulated console UART present: a PL011 ... */
    bool uart_ns16550a;           /* ... or an NS16550A */
    u64 uart_base;                /* 0x09000000, size 0x1000 */
    u32 uart_line;                /* its interrupt line: 1 on virt (SPI 1) */
    const char *bootargs;         /* may be NULL */
    u64 initrd_start, initrd_end; /* IPA, 0/0 if none */
    const u32 *timer_ppis;        /* Arm: 4 per-CPU hwirqs: sec phys, ns phys, virt, hyp: 29, 30, 27, 26 */
    u32 pmu_ppi;                  /* Arm: the PMU's overflow PPI (INTID): 23; 0: no PMU */
    /* Optional: adds more top-level nodes (passthrough devices, shared memory). */
    int (*extra)(void *fdt, void *ctx);
    void *extra_ctx;
};

#define GUEST_DT_PHANDLE_INTC 1
/* RISC-V: each hart's local interrupt controller, which the PLIC's interrupts-extended names. */
#define GUEST_DT_MAX_HARTS 64
#define GUEST_DT_PHANDLE_HART_INTC(cpu) (0x100 + (cpu))

struct virqchip_ops;

/* "interrupts" = @line of @virq (flags: VIRQ_*), for nodes the core adds. */
int guest_dt_prop_line(void *fdt, const struct virqchip_ops *virq, u32 line, unsigned int flags);

/* Compatible lists: NUL-separated strings, the property length is sizeof. */
#define guest_dt_prop_strings(fdt, name, list) fdt_property(fdt, name, list, sizeof(list))
/* Node "<prefix>@<addr>", the unit address in lower-case hex without leading zeros. */
int guest_dt_begin_node_at(void *fdt, const char *prefix, u64 addr);
/* An "interrupts" property from specifiers a virqchip wrote (@n cells in all). */
int guest_dt_prop_irqs(void *fdt, const u32 *cells, unsigned int n);

/*
 * The architecture's part (src/arch/<isa>/guest_dt.c): whether @p can be
 * described, and the CPU, firmware and timer nodes.
 */
bool arch_guest_dt_params_valid(const struct guest_dt_params *p);
int arch_guest_dt_cpu_nodes(void *fdt, const struct guest_dt_params *p);

/* For @extra callbacks: copies host node @node of @host under the current node. */
int guest_dt_copy_node(void *fdt, const void *host, int node);

/*
 * Writes the DT for @p into @buf (@size bytes, 8-byte aligned). On success
 * fdt_totalsize(buf) is the blob's length: about 1.2 KiB for one vCPU, plus
 * under 0.1 KiB per further vCPU, plus the bootargs. A 4 KiB page holds
 * 8 vCPUs with 1 KiB of bootargs.
 * Returns 0 or a negative libfdt error code: -FDT_ERR_NOSPACE if @buf is too
 * small, -FDT_ERR_BADVALUE if @p cannot be described (see guest_dt.c).
 */
int guest_dt_build(void *buf, size_t size, const struct guest_dt_params *p);

#endif
