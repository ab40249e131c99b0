/*
 * VM descriptions from the host device tree: "keel,vm" nodes under /chosen
 * (Xen dom0less style), their images as multiboot,module children. A node
 * that cannot be honoured is reported by path and reason and skipped; the
 * other VMs still start.
 */
#include <libfdt.h>
#include <keel/cmdline.h>
#include <keel/console_mux.h>
#include <keel/cpu.h>
#include <keel/hdisk.h>
#include <keel/log.h>
#include <keel/platform.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

static u64 cpus_taken;
const void *host_fdt;

/* No __builtin_popcount: without SIMD registers it needs libgcc. */
static unsigned int bit_count(u64 v)
{
    unsigned int n = 0;

    for (; v; v &= v - 1)
        n++;
    return n;
}

static bool prop_u64(const void *fdt, int node, const char *name, u64 *out)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

    if (!p)
        return false;
    if (len == 4)
        *out = fdt32_to_cpu(p[0]);
    else if (len == 8)
        *out = ((u64)fdt32_to_cpu(p[0]) << 32) | fdt32_to_cpu(p[1]);
    else
        return false;
    return true;
}

static bool in_ram(u64 base, u64 size)
{
    for (unsigned int i = 0; i < platform.mem_count; i++) {
        u64 b = pa_addr(platform.mem[i].base), e = b + platform.mem[i].size;
        if (base >= b && base + size <= e && base + size > base)
            return true;
    }
    return false;
}

/* Keel keeps only modules it reserved at boot (dt.c collects at most PLAT_MAX_MODULES). */
static bool module_reserved(const struct mem_range *r)
{
    for (unsigned int i = 0; i < platform.module_count; i++)
        if (pa_addr(platform.modules[i].range.base) == pa_addr(r->base) &&
            platform.modules[i].range.size == r->size)
            return true;
    return false;
}

static const char *vm_parse_modules(const void *fdt, int node, struct vm_config *c)
{
    int mod;
    const char *args;

    fdt_for_each_subnode(mod, fdt, node) {
        struct mem_range r;
        u64 base, size;
        /* a disk too, in the children's order (keel/hdisk.h) */
        if (!fdt_node_check_compatible(fdt, mod, "keel,disk-slice")) {
            const char *why = hdisk_parse_slice(fdt, mod, c);
            if (why)
                return why;
            continue;
        }
        if (fdt_node_check_compatible(fdt, mod, "multiboot,module"))
            continue;
        if (!dt_read_reg(fdt, mod, 0, &base, &size))
            return "a module node has no usable reg";
        r = (struct mem_range){ pa_init(base), size };
        if (!r.size || !in_ram(pa_addr(r.base), r.size))
            return "a module lies outside RAM or is empty";
        if (!module_reserved(&r))
            return "more boot modules than Keel keeps (PLAT_MAX_MODULES)";
        if (!fdt_node_check_compatible(fdt, mod, "keel,disk")) {
            const char *why = vdisk_parse_module(fdt, mod, &r, c);
            if (why)
                return why;
        } else if (!fdt_node_check_compatible(fdt, mod, "multiboot,kernel")) {
            c->kernel = r;
            if ((args = fdt_getprop(fdt, mod, "bootargs", NULL)))
                str_copy(c->bootargs, args, sizeof(c->bootargs));
            c->kernel_raw = prop_u64(fdt, mod, "keel,load", &c->kernel_load);
            if (c->kernel_raw && !prop_u64(fdt, mod, "keel,entry", &c->kernel_entry))
                c->kernel_entry = c->kernel_load;
        } else if (!fdt_node_check_compatible(fdt, mod, "multiboot,ramdisk")) {
            c->initrd = r;
        }
    }
    if (!c->kernel.size)
        return "no multiboot,kernel module";
    return NULL;
}

/* keel,ipa-base and keel,identity: where guest RAM sits in the VM's address space. */
static const char *vm_parse_memory_map(const void *fdt, int node, struct vm_config *c)
{
    bool has_base = prop_u64(fdt, node, "keel,ipa-base", &c->ram_ipa);

    c->identity = fdt_getprop(fdt, node, "keel,identity", NULL) != NULL;
    if (c->identity && has_base)
        return "keel,identity and keel,ipa-base exclude each other";
    if (!has_base)
        c->ram_ipa = GUEST_RAM_BASE; /* identity: replaced by the RAM's address */
    if (!IS_ALIGNED(c->ram_ipa, SZ_2M))
        return "keel,ipa-base must be 2 MiB aligned";
    /* mem_size <= 2^39 (vm_parse): no wrap here, unlike ram_ipa + mem_size */
    if (c->ram_ipa < GUEST_DEVICE_END || c->ram_ipa > (1UL << GUEST_IPA_BITS) - c->mem_size)
        return "keel,ipa-base puts RAM over the VM's devices or past its 39-bit address space";
    return NULL;
}

/* Fills @c from @node; returns NULL or why the node is rejected. */
static const char *vm_parse(const void *fdt, int node, struct vm_config *c)
{
    const char *name = fdt_getprop(fdt, node, "keel,name", NULL);
    u64 v;

    memset(c, 0, sizeof(*c));
    fdt_get_path(fdt, node, c->node, sizeof(c->node));
    str_copy(c->name, name ? name : fdt_get_name(fdt, node, NULL), sizeof(c->name));
    if (!c->name[0]) /* the shell and the console tags name VMs by it */
        return "keel,name is empty";
    for (unsigned int i = 0; i < nr_vms; i++)
        if (!strcmp(vms[i]->cfg.name, c->name))
            return "another VM has this name";
    if (!prop_u64(fdt, node, "cpus", &v))
        v = 1;
    if (v < 1 || v > VM_MAX_VCPUS) /* checked before narrowing: <1 1> is not 1 */
        return "cpus must be 1..8";
    c->nr_vcpus = (unsigned int)v;
    if (!prop_u64(fdt, node, "memory", &c->mem_size) || !c->mem_size)
        return "no memory size (memory = <hi lo>)";
    /* before rounding up, which wraps to 0 near 2^64 */
    if (c->mem_size > BIT(GUEST_IPA_BITS))
        return "memory is larger than the VM's 39-bit address space";
    c->mem_size = ALIGN_UP(c->mem_size, SZ_2M);
    if (!prop_u64(fdt, node, "keel,cpu-affinity", &c->affinity)) {
        /* default: the lowest free physical CPUs */
        for (unsigned int i = 0; i < platform.cpu_count && bit_count(c->affinity) < c->nr_vcpus; i++)
            if (!(cpus_taken & BIT(i)))
                c->affinity |= BIT(i);
    }
    if (c->affinity >> platform.cpu_count)
        return "keel,cpu-affinity names CPUs this machine does not have";
    if (bit_count(c->affinity) < c->nr_vcpus)
        return "fewer CPUs in keel,cpu-affinity than vCPUs (Keel pins one vCPU per CPU)";
    /* extra CPUs in the mask stay unused: keep the lowest nr_vcpus */
    while (bit_count(c->affinity) > c->nr_vcpus)
        c->affinity &= ~BIT(63 - __builtin_clzl(c->affinity));
    if (c->affinity & cpus_taken)
        return "its CPUs are already given to another VM";
    c->console = fdt_getprop(fdt, node, "keel,console", NULL) != NULL;
    c->mem_tagging = fdt_getprop(fdt, node, "keel,mte", NULL) != NULL;
    if (c->mem_tagging && !arch_mem_tagging_supported())
        return "keel,mte: this CPU has no memory tagging with tag storage (Arm FEAT_MTE2; "
               "on QEMU: -machine virt,mte=on)";
    return vm_parse_memory_map(fdt, node, c) ?: vm_parse_modules(fdt, node, c) ?:
           pt_parse(fdt, node, c) ?: vdev_parse_vm(fdt, node, c) ?: vdev_assign_slots(c) ?:
           hdisk_check_slices(c) ?: shmem_parse_vm(fdt, node, c);
}

void vms_boot(const void *fdt)
{
    int chosen = fdt_path_offset(fdt, "/chosen"), node, found = 0, started = 0;
    struct vm_config cfg;

    host_fdt = fdt;
    shmem_boot(fdt);
    if (chosen >= 0) {
        fdt_for_each_subnode(node, fdt, chosen) {
            const char *why;
            struct vm *vm;
            if (fdt_node_check_compatible(fdt, node, "keel,vm"))
                continue;
            found++;
            if ((why = vm_parse(fdt, node, &cfg))) {
                ERROR("%s (%s): %s; VM not started", cfg.node, cfg.name, why);
                continue;
            }
            if (!virqchip_for_host()) {
                ERROR("%s (%s): Keel has no virtual interrupt controller for this host's (%s); "
                      "not started", cfg.node, cfg.name, irqchip ? irqchip->name : "none found");
                continue;
            }
            if (cfg.nr_pt && !cfg.identity)
                WARN("%s (%s): passthrough without keel,identity: a DMA-capable device "
                     "would use guest addresses as physical ones", cfg.node, cfg.name);
            if (vm_create(&cfg, &vm)) {
                ERROR("%s (%s): VM not started", cfg.node, cfg.name);
                continue;
            }
            cpus_taken |= cfg.affinity;
            started++;
        }
    }
    if (!found) {
        INFO("no VM configured (add keel,vm nodes under /chosen; see tools/keel-run --help)");
        INFO("idle: CPUs wait in WFI. QEMU: Ctrl-a x to quit");
        return;
    }
    for (unsigned int i = 0; i < nr_vms; i++)
        vm_start(vms[i]);
    console_mux_announce();
    if (!started)
        WARN("none of the %d configured VMs could be started", found);
}
