/*
 * The RISC-V part of a guest's device tree: /cpus with the timebase and one
 * node per vCPU (riscv/cpus.yaml, riscv/extensions.yaml), each with its
 * local interrupt controller (riscv,cpu-intc) that the PLIC's
 * interrupts-extended names. The ISA is the host's, cut to the extensions
 * Keel lets a guest use (docs/riscv.md): no H (no nested virtualization),
 * nothing whose VS-mode controls Keel leaves off (Zicbom and Zicboz are on,
 * setup.c).
 */
#include <libfdt.h>
#include <keel/guest_dt.h>
#include <keel/irqchip.h>
#include <keel/string.h>

extern char riscv_isa[1024];
extern char riscv_mmu_type[16];
extern u64 riscv_timebase_hz;
extern u32 riscv_cbom_block, riscv_cboz_block;

/* Multi-letter extensions a guest may see, when the host has them. */
static const char *const isa_allowed[] = {
    "zicntr", "zicsr", "zifencei", "zihintpause", "zihintntl", "zawrs", "zfa", "zca", "zcd",
    "zba", "zbb", "zbc", "zbs", "sstc", "svvptc", "zicbom", "zicboz",
};

static bool allowed_letter(char c)
{
    return c == 'i' || c == 'm' || c == 'a' || c == 'f' || c == 'd' || c == 'c';
}

static bool allowed_name(const char *name, size_t len)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(isa_allowed); i++)
        if (strlen(isa_allowed[i]) == len && !strncmp(isa_allowed[i], name, len))
            return true;
    return false;
}

/* "rv64" + the allowed single letters + "_name" for each allowed multi-letter one. */
static void guest_isa(char *out, size_t size)
{
    const char *p = riscv_isa + 4;
    size_t n = 0;

    str_copy(out, "rv64", size);
    n = 4;
    for (; *p && *p != '_' && n + 1 < size; p++)
        if (allowed_letter(*p))
            out[n++] = *p;
    while (*p == '_') {
        const char *name = p + 1, *end = strchr(name, '_');
        size_t len = end ? (size_t)(end - name) : strlen(name);
        if (allowed_name(name, len) && n + len + 2 < size) {
            out[n++] = '_';
            memcpy(out + n, name, len);
            n += len;
        }
        p = name + len;
    }
    out[n] = '\0';
}

bool arch_guest_dt_params_valid(const struct guest_dt_params *p)
{
    for (unsigned int i = 0; i < p->ncpus; i++)
        if (p->cpu_ids[i] != i)
            return false; /* hart ids are vCPU indexes: intc phandles follow them */
    return p->ncpus <= GUEST_DT_MAX_HARTS && !strncmp(riscv_isa, "rv64", 4);
}

static int guest_dt_add_intc(void *fdt, unsigned int cpu)
{
    return fdt_begin_node(fdt, "interrupt-controller") ?:
           fdt_property_u32(fdt, "#address-cells", 0) ?:
           fdt_property_u32(fdt, "#interrupt-cells", 1) ?:
           fdt_property(fdt, "interrupt-controller", NULL, 0) ?:
           fdt_property_string(fdt, "compatible", "riscv,cpu-intc") ?:
           fdt_property_u32(fdt, "phandle", GUEST_DT_PHANDLE_HART_INTC(cpu)) ?:
           fdt_end_node(fdt);
}

/* Linux uses Zicbom/Zicboz only with their block sizes given (riscv/cpus.yaml). */
static int guest_dt_add_cbo_sizes(void *fdt)
{
    return (riscv_cbom_block ? fdt_property_u32(fdt, "riscv,cbom-block-size", riscv_cbom_block) : 0) ?:
           (riscv_cboz_block ? fdt_property_u32(fdt, "riscv,cboz-block-size", riscv_cboz_block) : 0);
}

static int guest_dt_add_cpu(void *fdt, unsigned int cpu, const char *isa)
{
    return guest_dt_begin_node_at(fdt, "cpu", cpu) ?:
           fdt_property_string(fdt, "device_type", "cpu") ?:
           fdt_property_u32(fdt, "reg", cpu) ?:
           fdt_property_string(fdt, "status", "okay") ?:
           fdt_property_string(fdt, "compatible", "riscv") ?:
           fdt_property_string(fdt, "riscv,isa", isa) ?:
           fdt_property_string(fdt, "mmu-type", riscv_mmu_type) ?:
           guest_dt_add_cbo_sizes(fdt) ?:
           guest_dt_add_intc(fdt, cpu) ?:
           fdt_end_node(fdt);
}

int arch_guest_dt_cpu_nodes(void *fdt, const struct guest_dt_params *p)
{
    char isa[512];
    int err;

    guest_isa(isa, sizeof(isa));
    err = fdt_begin_node(fdt, "cpus") ?:
          fdt_property_u32(fdt, "#address-cells", 1) ?:
          fdt_property_u32(fdt, "#size-cells", 0) ?:
          fdt_property_u32(fdt, "timebase-frequency", (u32)riscv_timebase_hz);
    for (unsigned int i = 0; i < p->ncpus && !err; i++)
        err = guest_dt_add_cpu(fdt, i, isa);
    return err ?: fdt_end_node(fdt);
}
