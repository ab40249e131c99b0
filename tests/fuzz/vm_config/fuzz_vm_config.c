/*
 * The VM configuration parser (src/core/vm_config.c, with passthrough.c,
 * shmem.c and dt.c beneath it) on host device trees built from the input
 * (common/host_dt.c): dt_parse_platform() then vms_boot(), exactly as
 * main.c runs them, with vm_create() faked to record what was accepted.
 *
 * It must never crash or read out of bounds (ASan, UBSan), never hang, and
 * every configuration it accepts must be consistent, checked here against
 * the device tree and docs/configuration.md:
 *  - names, paths and bootargs are terminated strings; VM names unique;
 *  - 1 <= nr_vcpus <= 8, equal to the cpus property (not a truncation of
 *    it); the affinity is keel,cpu-affinity whole if given, else the lowest
 *    cores no earlier VM uses if there are nr_vcpus of them, else every
 *    core; it is non-empty and on cores the machine has. Each vCPU in turn
 *    is homed on the core of the affinity with the fewest vCPUs so far
 *    (earlier VMs' and its own), the lowest of those; where the
 *    architecture cannot share a core (the input's first byte says), no
 *    core is home to two vCPUs;
 *  - priority and slice_us as keel,priority and keel,time-slice-us say,
 *    else 128 and 10000; slice_us within 100..1000000;
 *  - a VM refused for its cores, its priority or its slice broke that
 *    rule: a mask naming absent cores, an empty mask, a placement sharing
 *    a core where that cannot be, a value out of range;
 *  - memory: non-zero, 2 MiB aligned, the property rounded up (not
 *    wrapped); RAM from a 2 MiB aligned ram_ipa at or above the device
 *    window to at most 2^39, without wrapping; keel,identity and
 *    keel,ipa-base not both; keel,console and keel,identity as present;
 *  - the kernel (and initrd, if any) is a module Keel reserved, inside RAM;
 *  - passed-through devices: at most 4, each a distinct node across all
 *    VMs (a path and an alias of one node are the same device), with 1..4
 *    regs each non-empty, not wrapping, below 2^39 (IPA == PA), clear of
 *    Keel's UART, GIC and RAM, of the VM's virtual GIC and UART, and of the
 *    VM's own RAM; interrupts SPIs in 32..255, each forwarded to one VM
 *    only, and none of them the VM's own virtual UART or doorbell SPIs;
 *  - shared memory: regions with a non-empty page-aligned size, a
 *    page-aligned IPA, ending below 2^39 without wrapping, clear of the
 *    virtual GIC and UART, distinct names; a VM lists a region at most
 *    once, at most 4, and its regions do not overlap each other.
 */
#include <string.h>

#include <libfdt.h>

#include <keel/cmdline.h>
#include <keel/gic_regs.h>
#include <keel/vm.h>

#include "../vm_config/config_unity.h"
#include "fake_core.h"
#include "fuzz_input.h"
#include "host_dt.h"

#define IPA_TOP (1ULL << GUEST_IPA_BITS)
#define SHMEM_DOORBELL_LINE 80 /* shmem.c: region i rings line (SPI) 80 + i */

static u8 dtb[HOST_DT_MAX] __attribute__((aligned(8)));
static struct vm_config accepted[VM_MAX];
static unsigned int nr_accepted;
static bool can_share;            /* for this input: AArch64's answer or RISC-V's */
static u8 load[PLAT_MAX_CPUS];    /* vCPUs homed on each core by the VMs accepted so far */

bool arch_vcpu_can_share(void)
{
    return can_share;
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool overlap(u64 a, u64 asize, u64 b, u64 bsize)
{
    return asize && bsize && a < b + bsize && b < a + asize;
}

/* An integer property as vm_config.c's prop_u64 reads it (one or two cells). */
static bool dt_u64(int node, const char *name, u64 *v)
{
    int len;
    const fdt32_t *p = fdt_getprop(dtb, node, name, &len);

    if (!p || (len != 4 && len != 8))
        return false;
    *v = len == 4 ? fdt32_to_cpu(p[0]) : (u64)fdt32_to_cpu(p[0]) << 32 | fdt32_to_cpu(p[1]);
    return true;
}

/* The cores a VM at @node with @nr_vcpus must be given, from the DT and the load so far. */
static u64 expected_affinity(int node, unsigned int nr_vcpus)
{
    u64 mask = 0;
    unsigned int n = 0;

    if (dt_u64(node, "keel,cpu-affinity", &mask))
        return mask;
    for (unsigned int cpu = 0; cpu < platform.cpu_count && n < nr_vcpus; cpu++)
        if (!load[cpu]) {
            mask |= 1ULL << cpu;
            n++;
        }
    return n == nr_vcpus ? mask : (1ULL << platform.cpu_count) - 1;
}

/* Where the next vCPU must go: the least loaded core of @mask in @l, the lowest of those. */
static unsigned int spec_home(u64 mask, const u8 *l)
{
    unsigned int best = PLAT_MAX_CPUS;

    for (unsigned int cpu = 0; cpu < platform.cpu_count; cpu++)
        if ((mask >> cpu & 1) && (best == PLAT_MAX_CPUS || l[cpu] < l[best]))
            best = cpu;
    return best;
}

/* Whether homing @nr_vcpus vCPUs in @mask puts two on one core (counting earlier VMs'). */
static bool spec_shares(u64 mask, unsigned int nr_vcpus)
{
    u8 l[PLAT_MAX_CPUS];

    memcpy(l, load, sizeof(l));
    for (unsigned int i = 0; i < nr_vcpus; i++) {
        unsigned int home = spec_home(mask, l);
        if (home == PLAT_MAX_CPUS || l[home]++)
            return home != PLAT_MAX_CPUS;
    }
    return false;
}

static void check_placement(const struct vm_config *c, int node)
{
    u64 want = expected_affinity(node, c->nr_vcpus);
    u8 l[PLAT_MAX_CPUS];

    FUZZ_CHECK(c->affinity == want && c->affinity && !(c->affinity >> platform.cpu_count),
               "%s: affinity %#llx, expected %#llx on %u CPUs", c->name,
               (unsigned long long)c->affinity, (unsigned long long)want, platform.cpu_count);
    memcpy(l, load, sizeof(l));
    for (unsigned int i = 0; i < c->nr_vcpus; i++) {
        unsigned int home = spec_home(c->affinity, l);
        FUZZ_CHECK(c->vcpu_cpu[i] == home, "%s: vCPU %u on core %u, the least loaded is %u",
                   c->name, i, c->vcpu_cpu[i], home);
        FUZZ_CHECK(can_share || !l[home], "%s: vCPU %u shares core %u, which cannot be shared",
                   c->name, i, home);
        l[home]++;
    }
}

static void check_sched(const struct vm_config *c, int node)
{
    u64 prio = 128, slice = 10000;

    dt_u64(node, "keel,priority", &prio);
    dt_u64(node, "keel,time-slice-us", &slice);
    FUZZ_CHECK(c->priority == prio, "%s: priority %u, keel,priority %#llx", c->name, c->priority,
               (unsigned long long)prio);
    FUZZ_CHECK(c->slice_us == slice && slice >= 100 && slice <= 1000000,
               "%s: slice %u us, keel,time-slice-us %#llx", c->name, c->slice_us,
               (unsigned long long)slice);
}

/*
 * An ERROR line "<node path> (<name>): <why>; VM not started": when the
 * reason is about cores or scheduling, the node must really break the rule.
 */
static void check_refusal(const char *line)
{
    const char *end = strstr(line, " (");
    char path[64];
    u64 v = 0, cpus = 1;
    bool has;
    int node;

    if (!end || (size_t)(end - line) >= sizeof(path))
        return;
    memcpy(path, line, (size_t)(end - line));
    path[end - line] = '\0';
    if ((node = fdt_path_offset(dtb, path)) < 0)
        return;
    has = dt_u64(node, "keel,cpu-affinity", &v);
    dt_u64(node, "cpus", &cpus);
    if (strstr(line, "keel,cpu-affinity names CPUs"))
        FUZZ_CHECK(has && v >> platform.cpu_count, "%s refused, affinity %#llx", path,
                   (unsigned long long)v);
    if (strstr(line, "keel,cpu-affinity is empty"))
        FUZZ_CHECK(has && !v, "%s refused, affinity %#llx", path, (unsigned long long)v);
    if (strstr(line, "one vCPU per core"))
        FUZZ_CHECK(!can_share && spec_shares(expected_affinity(node, (unsigned int)cpus),
                                             (unsigned int)cpus),
                   "%s refused for sharing a core, but it needs not", path);
    if (strstr(line, "keel,priority must be"))
        FUZZ_CHECK(dt_u64(node, "keel,priority", &v) && v > 255, "%s: priority %#llx refused",
                   path, (unsigned long long)v);
    if (strstr(line, "keel,time-slice-us must be"))
        FUZZ_CHECK(dt_u64(node, "keel,time-slice-us", &v) && (v < 100 || v > 1000000),
                   "%s: slice %#llx refused", path, (unsigned long long)v);
}

static bool is_reserved_module(const struct mem_range *r)
{
    for (unsigned int i = 0; i < platform.module_count; i++)
        if (pa_addr(platform.modules[i].range.base) == pa_addr(r->base) &&
            platform.modules[i].range.size == r->size)
            return true;
    return false;
}

static bool in_host_ram(u64 base, u64 size)
{
    for (unsigned int i = 0; i < platform.mem_count; i++) {
        u64 b = pa_addr(platform.mem[i].base);
        if (base >= b && size <= platform.mem[i].size && base - b <= platform.mem[i].size - size)
            return true;
    }
    return false;
}

static void check_pt(const struct vm_config *c, const struct pt_dev *d)
{
    const struct mem_range *keel[] = { &platform.uart, &platform.gicd, &platform.gicr };

    FUZZ_CHECK(terminated(d->path, sizeof(d->path)) && d->node >= 0, "%s: bad passthrough entry",
               c->name);
    FUZZ_CHECK(d->nr_regs >= 1 && d->nr_regs <= PT_MAX_REGS && d->nr_irqs <= PT_MAX_IRQS,
               "%s: %s has %u regs, %u irqs", c->name, d->path, d->nr_regs, d->nr_irqs);
    for (unsigned int r = 0; r < d->nr_regs; r++) {
        u64 b = pa_addr(d->regs[r].base), s = d->regs[r].size;
        FUZZ_CHECK(s && b + s > b && b + s <= IPA_TOP,
                   "%s: %s reg [%#llx +%#llx) is empty, wraps or is past the 39-bit IPA space",
                   c->name, d->path, (unsigned long long)b, (unsigned long long)s);
        for (unsigned int k = 0; k < 3; k++)
            FUZZ_CHECK(!overlap(b, s, pa_addr(keel[k]->base), keel[k]->size),
                       "%s: %s overlaps Keel's device %u", c->name, d->path, k);
        for (unsigned int m = 0; m < platform.mem_count; m++)
            FUZZ_CHECK(!overlap(b, s, pa_addr(platform.mem[m].base), platform.mem[m].size),
                       "%s: %s overlaps host RAM", c->name, d->path);
        FUZZ_CHECK(!overlap(b, s, GUEST_EMUL_BASE, GUEST_UART_BASE + GUEST_UART_SIZE - GUEST_EMUL_BASE),
                   "%s: %s overlaps the virtual GIC/UART", c->name, d->path);
        if (!c->identity)
            FUZZ_CHECK(!overlap(b, s, c->ram_ipa, c->mem_size),
                       "%s: %s reg [%#llx +%#llx) overlaps the VM's RAM [%#llx +%#llx)", c->name,
                       d->path, (unsigned long long)b, (unsigned long long)s,
                       (unsigned long long)c->ram_ipa, (unsigned long long)c->mem_size);
    }
    for (unsigned int q = 0; q < d->nr_irqs; q++) {
        u32 intid = d->irqs[q];
        FUZZ_CHECK(intid >= 32 && intid < VGIC_NR_IRQS && d->lines[q] == intid - 32,
                   "%s: %s passes INTID %u as line %u", c->name, d->path, intid, d->lines[q]);
        /* The VM's own virtual SPIs: the vPL011's line and its regions' doorbells. */
        FUZZ_CHECK(!c->console || d->lines[q] != GUEST_UART_LINE,
                   "%s: %s passes INTID %u, its virtual UART's", c->name, d->path, intid);
        for (unsigned int i = 0; i < c->nr_shmem; i++)
            FUZZ_CHECK(d->lines[q] != SHMEM_DOORBELL_LINE + c->shmem[i],
                       "%s: %s passes INTID %u, the doorbell of its region %u", c->name, d->path,
                       intid, c->shmem[i]);
    }
}

/* Everything about one accepted configuration that holds on its own. */
static void check_config(const struct vm_config *c)
{
    u64 v;

    FUZZ_CHECK(terminated(c->name, sizeof(c->name)) && terminated(c->node, sizeof(c->node)) &&
                   terminated(c->bootargs, sizeof(c->bootargs)),
               "unterminated name, node or bootargs");
    int node = fdt_path_offset(dtb, c->node);
    FUZZ_CHECK(node >= 0, "%s: node path '%s' does not resolve", c->name, c->node);

    FUZZ_CHECK(c->nr_vcpus >= 1 && c->nr_vcpus <= VM_MAX_VCPUS, "%s: %u vCPUs", c->name,
               c->nr_vcpus);
    if (dt_u64(node, "cpus", &v))
        FUZZ_CHECK(v == c->nr_vcpus, "%s: cpus = %#llx accepted as %u vCPUs", c->name,
                   (unsigned long long)v, c->nr_vcpus);
    check_placement(c, node);
    check_sched(c, node);

    FUZZ_CHECK(c->mem_size && IS_ALIGNED(c->mem_size, SZ_2M), "%s: memory %#llx", c->name,
               (unsigned long long)c->mem_size);
    FUZZ_CHECK(dt_u64(node, "memory", &v) && v <= c->mem_size && c->mem_size - v < SZ_2M,
               "%s: memory = %#llx accepted as %#llx", c->name, (unsigned long long)v,
               (unsigned long long)c->mem_size);
    bool has_base = dt_u64(node, "keel,ipa-base", &v);
    FUZZ_CHECK(!(has_base && c->identity), "%s: keel,identity with keel,ipa-base", c->name);
    if (has_base)
        FUZZ_CHECK(v == c->ram_ipa, "%s: ipa-base %#llx, ram_ipa %#llx", c->name,
                   (unsigned long long)v, (unsigned long long)c->ram_ipa);
    FUZZ_CHECK(IS_ALIGNED(c->ram_ipa, SZ_2M) && c->ram_ipa >= GUEST_DEVICE_END &&
                   c->ram_ipa + c->mem_size > c->ram_ipa && c->ram_ipa + c->mem_size <= IPA_TOP,
               "%s: RAM [%#llx +%#llx) outside [%#lx, 2^39)", c->name,
               (unsigned long long)c->ram_ipa, (unsigned long long)c->mem_size, GUEST_DEVICE_END);
    FUZZ_CHECK(c->identity == (fdt_getprop(dtb, node, "keel,identity", NULL) != NULL) &&
                   c->console == (fdt_getprop(dtb, node, "keel,console", NULL) != NULL),
               "%s: keel,identity or keel,console misread", c->name);

    FUZZ_CHECK(c->kernel.size && is_reserved_module(&c->kernel) &&
                   in_host_ram(pa_addr(c->kernel.base), c->kernel.size),
               "%s: kernel [%#llx +%#llx) is not a reserved module in RAM", c->name,
               (unsigned long long)pa_addr(c->kernel.base), (unsigned long long)c->kernel.size);
    if (c->initrd.size)
        FUZZ_CHECK(is_reserved_module(&c->initrd) &&
                       in_host_ram(pa_addr(c->initrd.base), c->initrd.size),
                   "%s: initrd is not a reserved module in RAM", c->name);

    FUZZ_CHECK(c->nr_pt <= VM_MAX_PT, "%s: %u passthrough devices", c->name, c->nr_pt);
    for (unsigned int i = 0; i < c->nr_pt; i++)
        check_pt(c, &c->pt[i]);

    FUZZ_CHECK(c->nr_shmem <= VM_MAX_SHMEM, "%s: %u shmem regions", c->name, c->nr_shmem);
    for (unsigned int i = 0; i < c->nr_shmem; i++) {
        char nm[32];
        u64 pa, ipa, size, pa2, ipa2, size2;
        FUZZ_CHECK(c->shmem[i] < fuzz_shmem_count(), "%s: shmem index %u", c->name, c->shmem[i]);
        fuzz_shmem_region(c->shmem[i], nm, &pa, &ipa, &size);
        for (unsigned int j = 0; j < i; j++) {
            FUZZ_CHECK(c->shmem[i] != c->shmem[j], "%s lists shared region '%s' twice", c->name, nm);
            fuzz_shmem_region(c->shmem[j], nm, &pa2, &ipa2, &size2);
            FUZZ_CHECK(!overlap(ipa, size, ipa2, size2),
                       "%s: shared regions %u and %u overlap at IPA %#llx", c->name, c->shmem[i],
                       c->shmem[j], (unsigned long long)ipa);
        }
    }
}

/* What must hold between the configurations accepted so far and a new one. */
static void on_create(const struct vm_config *c)
{
    check_config(c);
    for (unsigned int i = 0; i < nr_accepted; i++) {
        const struct vm_config *o = &accepted[i];
        FUZZ_CHECK(strcmp(o->name, c->name), "two VMs named '%s'", c->name);
        for (unsigned int a = 0; a < o->nr_pt; a++) {
            for (unsigned int b = 0; b < c->nr_pt; b++) {
                FUZZ_CHECK(o->pt[a].node != c->pt[b].node,
                           "'%s' (%s) and '%s' (%s) both own one device", o->name, o->pt[a].path,
                           c->name, c->pt[b].path);
                /* a physical SPI is forwarded to one VM (passthrough.c's irq_owner) */
                for (unsigned int x = 0; x < o->pt[a].nr_irqs; x++)
                    for (unsigned int y = 0; y < c->pt[b].nr_irqs; y++)
                        FUZZ_CHECK(o->pt[a].irqs[x] != c->pt[b].irqs[y],
                                   "'%s' (%s) and '%s' (%s) both get SPI INTID %u", o->name,
                                   o->pt[a].path, c->name, c->pt[b].path, c->pt[b].irqs[y]);
            }
        }
    }
    for (unsigned int a = 0; a < c->nr_pt; a++)
        for (unsigned int b = 0; b < a; b++)
            FUZZ_CHECK(c->pt[a].node != c->pt[b].node, "'%s' lists %s and %s, one device",
                       c->name, c->pt[a].path, c->pt[b].path);
    for (unsigned int i = 0; i < c->nr_vcpus; i++)
        load[c->vcpu_cpu[i]]++;
    accepted[nr_accepted++] = *c;
}

static void check_regions(void)
{
    for (unsigned int i = 0; i < fuzz_shmem_count(); i++) {
        char name[32], n2[32];
        u64 pa, ipa, size;
        fuzz_shmem_region(i, name, &pa, &ipa, &size);
        FUZZ_CHECK(terminated(name, sizeof(name)), "region %u name unterminated", i);
        FUZZ_CHECK(size && IS_ALIGNED(size | ipa, PAGE_SIZE) && ipa + size > ipa &&
                       ipa + size <= IPA_TOP &&
                       !overlap(ipa, size, GUEST_EMUL_BASE,
                                GUEST_UART_BASE + GUEST_UART_SIZE - GUEST_EMUL_BASE),
                   "region '%s' at IPA [%#llx +%#llx)", name, (unsigned long long)ipa,
                   (unsigned long long)size);
        for (unsigned int j = 0; j < i; j++) {
            fuzz_shmem_region(j, n2, &pa, &ipa, &size);
            FUZZ_CHECK(strcmp(name, n2), "two regions named '%s'", name);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    u8 first = fin_u8(&in);
    u64 budget = (u64)(first % 8 + 1) << 26; /* 64..512 MiB for shared memory */

    /* bit 6 set: an architecture that runs one vCPU per core; the committed inputs run as on Arm */
    can_share = !(first & 0x40);
    if (host_dt_build(&in, dtb))
        return 0;
    fuzz_config_reset();
    fuzz_core_reset(budget);
    nr_accepted = 0;
    memset(load, 0, sizeof(load));
    fuzz_vm_create_hook = on_create;
    fuzz_log_error_hook = check_refusal;
    if (dt_parse_platform(dtb, &platform))
        return 0;
    vms_boot(dtb);
    check_regions();
    return 0;
}
