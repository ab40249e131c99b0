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

/* vCPUs homed on each core by the VMs created so far: what placement balances. */
static u8 cpu_load[PLAT_MAX_CPUS];
const void *host_fdt;

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

/* keel,priority and keel,time-slice-us, for the scheduler. */
static const char *vm_parse_sched(const void *fdt, int node, struct vm_config *c)
{
    u64 v;

    if (!prop_u64(fdt, node, "keel,priority", &v))
        v = VM_PRIORITY_DEFAULT;
    if (v > 255)
        return "keel,priority must be 0..255";
    c->priority = (u8)v;
    if (!prop_u64(fdt, node, "keel,time-slice-us", &v))
        v = VM_SLICE_US_DEFAULT;
    if (v < VM_SLICE_US_MIN || v > VM_SLICE_US_MAX)
        return "keel,time-slice-us must be 100..1000000";
    c->slice_us = (u32)v;
    return NULL;
}

unsigned int vm_least_loaded_cpu(u64 mask, const u8 load[PLAT_MAX_CPUS])
{
    unsigned int best = PLAT_MAX_CPUS;

    for (unsigned int cpu = 0; cpu < PLAT_MAX_CPUS; cpu++)
        if ((mask & BIT(cpu)) && (best == PLAT_MAX_CPUS || load[cpu] < load[best]))
            best = cpu;
    return best;
}

void vm_place_vcpus(struct vm_config *c, const u8 load[PLAT_MAX_CPUS])
{
    u8 placed[PLAT_MAX_CPUS];

    memcpy(placed, load, sizeof(placed));
    for (unsigned int i = 0; i < c->nr_vcpus; i++) {
        c->vcpu_cpu[i] = (u8)vm_least_loaded_cpu(c->affinity, placed);
        placed[c->vcpu_cpu[i]]++;
    }
}

/*
 * Without keel,cpu-affinity a VM gets cores of its own while there are
 * enough idle ones; otherwise it may use them all and shares.
 */
static u64 default_affinity(unsigned int nr_vcpus)
{
    u64 mask = 0;
    unsigned int n = 0;

    for (unsigned int cpu = 0; cpu < platform.cpu_count && n < nr_vcpus; cpu++)
        if (!cpu_load[cpu]) {
            mask |= BIT(cpu);
            n++;
        }
    return n == nr_vcpus ? mask : BIT(platform.cpu_count) - 1;
}

/* Whether the placement homes a vCPU where another one lives already. */
static bool placement_shares(const struct vm_config *c)
{
    u64 seen = 0;

    for (unsigned int i = 0; i < c->nr_vcpus; i++) {
        unsigned int cpu = c->vcpu_cpu[i];
        if (cpu_load[cpu] || (seen & BIT(cpu)))
            return true;
        seen |= BIT(cpu);
    }
    return false;
}

static const char *vm_parse_affinity(const void *fdt, int node, struct vm_config *c)
{
    if (!prop_u64(fdt, node, "keel,cpu-affinity", &c->affinity))
        c->affinity = default_affinity(c->nr_vcpus);
    if (c->affinity >> platform.cpu_count)
        return "keel,cpu-affinity names CPUs this machine does not have";
    if (!c->affinity)
        return "keel,cpu-affinity is empty";
    vm_place_vcpus(c, cpu_load);
    if (!arch_vcpu_can_share() && placement_shares(c))
        return "its vCPUs would share a core, but on this architecture (RISC-V today) "
               "Keel runs one vCPU per core: give it a core of its own per vCPU";
    return NULL;
}

/* Fills @c from @node; returns NULL or why the node is rejected. */
static const char *vm_parse(const void *fdt, int node, struct vm_config *c)
{
    const char *name = fdt_getprop(fdt, node, "keel,name", NULL), *why;
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
    why = vm_parse_affinity(fdt, node, c) ?: vm_parse_sched(fdt, node, c);
    if (why)
        return why;
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
            for (unsigned int i = 0; i < cfg.nr_vcpus; i++)
                cpu_load[cfg.vcpu_cpu[i]]++;
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
