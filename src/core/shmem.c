/*
 * Shared memory between VMs, with doorbells (docs/hypercalls.md).
 *
 * A "keel,shmem" node under /chosen declares a region once; each VM that
 * lists its name in keel,shmem gets it mapped at the same guest-physical
 * address (keel,ipa, by default from SHMEM_IPA_BASE up) and gets a virtual
 * SPI, its doorbell. KEEL_HC_DOORBELL(id) raises the doorbell of every other
 * VM sharing region @id. Regions live as long as Keel: a VM restart keeps
 * what its peers wrote.
 */
#include <libfdt.h>
#include <keel/vcpu_arch.h>
#include <keel/buddy.h>
#include <keel/guest_dt.h>
#include <keel/log.h>
#include <keel/printf.h>
#include <keel/smccc.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

#define SHMEM_MAX 8
#define SHMEM_IPA_BASE 0x0b000000UL /* a hole in QEMU virt's device map */
#define SHMEM_IPA_END 0x0c000000UL
#define SHMEM_DOORBELL_LINE 80      /* + region index: the doorbell's interrupt line */
#define SHMEM_MAX_SIZE (PAGE_SIZE << BUDDY_MAX_ORDER) /* one buddy block */

struct shmem {
    char name[32];
    u64 pa, ipa, size;
};

static struct shmem regions[SHMEM_MAX];
static unsigned int nr_regions;

static int shmem_find(const char *name)
{
    for (unsigned int i = 0; i < nr_regions; i++)
        if (!strcmp(regions[i].name, name))
            return (int)i;
    return -1;
}

static const char *shmem_parse(const void *fdt, int node, struct shmem *s, u64 *next_ipa)
{
    int len, ipa_len;
    const char *name = fdt_getprop(fdt, node, "keel,name", NULL);
    const fdt32_t *p = fdt_getprop(fdt, node, "size", &len);
    const fdt32_t *ipa = fdt_getprop(fdt, node, "keel,ipa", &ipa_len);

    if (ipa && ipa_len != 8)
        return "keel,ipa must be <hi lo>";

    str_copy(s->name, name ? name : fdt_get_name(fdt, node, NULL), sizeof(s->name));
    if (!p || len != 8)
        return "needs size = <hi lo>";
    s->size = ((u64)fdt32_to_cpu(p[0]) << 32) | fdt32_to_cpu(p[1]);
    /* Before any rounding: near 2^64 it wraps, and order_for_size() never returns past 2^63. */
    if (s->size > SHMEM_MAX_SIZE)
        return "size is over 1 GiB, the largest block Keel allocates";
    s->size = ALIGN_UP(s->size, PAGE_SIZE);
    s->ipa = ipa ? ((u64)fdt32_to_cpu(ipa[0]) << 32) | fdt32_to_cpu(ipa[1]) : *next_ipa;
    if (!s->size || !IS_ALIGNED(s->ipa, PAGE_SIZE))
        return "size must be non-zero and keel,ipa page aligned";
    /* keel,ipa near 2^64 would wrap the end below the limit */
    if (s->ipa + s->size > (1UL << GUEST_IPA_BITS) || s->ipa + s->size < s->ipa ||
        (s->ipa < GUEST_UART_BASE + GUEST_UART_SIZE && s->ipa + s->size > GUEST_EMUL_BASE))
        return "keel,ipa overlaps the VMs' virtual GIC or UART, or is past the 39-bit IPA space";
    if (!ipa && s->ipa + s->size > SHMEM_IPA_END)
        return "default addresses exhausted: give keel,ipa";
    if (shmem_find(s->name) >= 0)
        return "a region with this name exists already";
    unsigned int order = order_for_size(s->size);
    void *mem = order <= BUDDY_MAX_ORDER ? page_alloc(order) : NULL;
    if (!mem)
        return "not enough free memory";
    arch_zero_memory(mem, PAGE_SIZE << order);
    s->pa = (u64)mem;
    if (!ipa)
        *next_ipa = ALIGN_UP(s->ipa + s->size, PAGE_SIZE << order);
    return NULL;
}

int shmem_boot(const void *fdt)
{
    int chosen = fdt_path_offset(fdt, "/chosen"), node;
    u64 next_ipa = SHMEM_IPA_BASE;

    if (chosen < 0)
        return 0;
    fdt_for_each_subnode(node, fdt, chosen) {
        const char *why;
        char path[64];
        if (fdt_node_check_compatible(fdt, node, "keel,shmem"))
            continue;
        fdt_get_path(fdt, node, path, sizeof(path));
        if (nr_regions == SHMEM_MAX)
            why = "too many shared-memory regions";
        else
            why = shmem_parse(fdt, node, &regions[nr_regions], &next_ipa);
        if (why) {
            ERROR("%s: %s; region not created", path, why);
            continue;
        }
        INFO("shared memory '%s': %lu KiB at IPA %#lx, doorbell line %u", regions[nr_regions].name,
             regions[nr_regions].size >> 10, regions[nr_regions].ipa,
             SHMEM_DOORBELL_LINE + nr_regions);
        nr_regions++;
    }
    return 0;
}

static bool regions_overlap(const struct shmem *a, const struct shmem *b)
{
    return a->ipa < b->ipa + b->size && b->ipa < a->ipa + a->size;
}

const char *shmem_parse_vm(const void *fdt, int vm_node, struct vm_config *c)
{
    int len, off = 0;
    const char *list = fdt_getprop(fdt, vm_node, "keel,shmem", &len);

    while (list && off < len) {
        int idx = shmem_find(list + off);
        if (idx < 0)
            return "keel,shmem names a region that does not exist";
        if (c->nr_shmem == VM_MAX_SHMEM)
            return "too many keel,shmem regions";
        /* mapped twice, and two guest DT nodes of one name */
        for (unsigned int i = 0; i < c->nr_shmem; i++)
            if (c->shmem[i] == idx)
                return "keel,shmem lists a region twice";
        /* its doorbell is a virtual SPI: not one a passed-through device brings (pt_parse ran) */
        for (unsigned int d = 0; d < c->nr_pt; d++)
            for (unsigned int q = 0; q < c->pt[d].nr_irqs; q++)
                if (c->pt[d].lines[q] == SHMEM_DOORBELL_LINE + (u32)idx)
                    return "a keel,shmem region's doorbell line is a passed-through device's";
        /* two keel,ipa placements may collide: one mapping would hide the other */
        for (unsigned int i = 0; i < c->nr_shmem; i++)
            if (regions_overlap(&regions[c->shmem[i]], &regions[idx]))
                return "keel,shmem lists regions whose keel,ipa overlap";
        c->shmem[c->nr_shmem++] = (u8)idx;
        off += (int)strlen(list + off) + 1;
    }
    return NULL;
}

static bool overlaps_ram(struct vm *vm, const struct shmem *s)
{
    return s->ipa < vm->cfg.ram_ipa + vm->cfg.mem_size && vm->cfg.ram_ipa < s->ipa + s->size;
}

int vm_map_shmem(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_shmem; i++) {
        const struct shmem *s = &regions[vm->cfg.shmem[i]];
        if (overlaps_ram(vm, s) ||
            arch_s2_map(vm, ipa_init(s->ipa), pa_init(s->pa), s->size, S2_KIND_SHMEM)) {
            ERROR("vm %s: cannot map shared memory '%s' at IPA %#lx", vm->cfg.name, s->name, s->ipa);
            return -1;
        }
    }
    return 0;
}

int shmem_dt_nodes(void *fdt, struct vm *vm)
{
    int err = 0;

    for (unsigned int i = 0; i < vm->cfg.nr_shmem && !err; i++) {
        unsigned int idx = vm->cfg.shmem[i];
        const struct shmem *s = &regions[idx];
        char name[32];
        fdt32_t reg[4] = { cpu_to_fdt32(s->ipa >> 32), cpu_to_fdt32((u32)s->ipa),
                           cpu_to_fdt32(s->size >> 32), cpu_to_fdt32((u32)s->size) };
        snprintf(name, sizeof(name), "shmem@%lx", s->ipa);
        err = fdt_begin_node(fdt, name) ?:
              fdt_property_string(fdt, "compatible", "keel,shmem") ?:
              fdt_property(fdt, "reg", reg, sizeof(reg)) ?:
              fdt_property_string(fdt, "keel,name", s->name) ?:
              fdt_property_u32(fdt, "keel,id", idx) ?:
              guest_dt_prop_line(fdt, vm->virq, SHMEM_DOORBELL_LINE + idx, VIRQ_EDGE_RISING) ?:
              fdt_property_u32(fdt, "interrupt-parent", GUEST_DT_PHANDLE_INTC) ?:
              fdt_end_node(fdt);
    }
    return err;
}

static bool vm_has_shmem(const struct vm *vm, u64 id)
{
    for (unsigned int i = 0; i < vm->cfg.nr_shmem; i++)
        if (vm->cfg.shmem[i] == id)
            return true;
    return false;
}

/* KEEL_HC_DOORBELL: returns the number of peers rung, or an SMCCC error. */
s64 shmem_doorbell(struct vm *vm, u64 id)
{
    s64 rung = 0;

    if (id >= nr_regions || !vm_has_shmem(vm, id))
        return SMCCC_RET_INVALID_PARAMETER;
    for (unsigned int i = 0; i < nr_vms; i++) {
        if (vms[i] == vm || !vm_has_shmem(vms[i], id) || vms[i]->state != VM_RUNNING)
            continue;
        vms[i]->virq->inject_edge(vms[i], SHMEM_DOORBELL_LINE + (u32)id);
        vms[i]->doorbells++;
        rung++;
    }
    return rung;
}
