/* The fakes described in fake_core.h. */
#include <string.h>

#include <drivers/gic.h>
#include <keel/arch.h>
#include <keel/buddy.h>
#include <keel/console_mux.h>
#include <keel/hdisk.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

#include "fake_core.h"
#include "fuzz_input.h"

struct platform platform;
struct vm *vms[VM_MAX];
unsigned int nr_vms;
struct vm fuzz_vm_pool[VM_MAX];
void (*fuzz_vm_create_hook)(const struct vm_config *cfg);
u64 fuzz_page_budget;
u64 fuzz_hdisk_sectors;
bool fuzz_hdisk_ro;
static u64 next_page = 0x100000000000ULL; /* fake addresses, never dereferenced */

void fuzz_core_reset(u64 page_budget)
{
    nr_vms = 0;
    memset(vms, 0, sizeof(vms));
    fuzz_page_budget = page_budget;
    next_page = 0x100000000000ULL;
    fuzz_hdisk_sectors = 0;
    fuzz_hdisk_ro = false;
}

/* core/hdisk.c's answers, without a driver: what the harness set. */
u64 hdisk_capacity(void)
{
    return fuzz_hdisk_sectors;
}

bool hdisk_read_only(void)
{
    return fuzz_hdisk_ro;
}

/* As vm.c's vm_create(): at most VM_MAX, then a VM the harness can inspect. */
int vm_create(const struct vm_config *cfg, struct vm **out)
{
    if (nr_vms == VM_MAX)
        return -1;
    if (fuzz_vm_create_hook)
        fuzz_vm_create_hook(cfg);
    struct vm *vm = &fuzz_vm_pool[nr_vms];
    memset(vm, 0, sizeof(*vm));
    vm->id = nr_vms;
    vm->cfg = *cfg;
    vm->virq = virqchip_for_host();
    vm->state = VM_STOPPED;
    vms[nr_vms++] = vm;
    *out = vm;
    return 0;
}

int vm_start(struct vm *vm)
{
    vm->state = VM_RUNNING;
    return 0;
}

void console_mux_announce(void)
{
}

/*
 * mem.c's contract: the smallest order whose block holds @size. The real
 * loop never ends for sizes above 2^63 (the shifted block size wraps to
 * zero), so a caller passing one is a bug: fail loudly instead.
 */
unsigned int order_for_size(u64 size)
{
    unsigned int order = 0;

    FUZZ_CHECK(size <= (1ULL << 63), "order_for_size(%#llx) never returns",
               (unsigned long long)size);
    while ((PAGE_SIZE << order) < size)
        order++;
    return order;
}

void *page_alloc(unsigned int order)
{
    u64 bytes = PAGE_SIZE << order;

    FUZZ_CHECK(order <= BUDDY_MAX_ORDER, "page_alloc(%u) beyond BUDDY_MAX_ORDER", order);
    if (bytes > fuzz_page_budget)
        return NULL;
    fuzz_page_budget -= bytes;
    next_page = ALIGN_UP(next_page, bytes);
    void *p = (void *)next_page;
    next_page += bytes;
    return p;
}

void arch_zero_memory(void *p, u64 size)
{
    (void)p;
    (void)size;
}

int arch_map_device(u64 base, u64 size)
{
    (void)base;
    (void)size;
    return 0;
}

int arch_device_read(u64 pa, unsigned int size, u64 *val)
{
    (void)pa;
    (void)size;
    *val = 0;
    return 0;
}

int arch_device_write(u64 pa, unsigned int size, u64 val)
{
    (void)pa;
    (void)size;
    (void)val;
    return 0;
}

bool vm_log_ratelimit(struct vm *vm)
{
    (void)vm;
    return true;
}

int arch_s2_map(struct vm *vm, ipaddr_t ipa, paddr_t pa, u64 size, enum s2_kind kind)
{
    (void)vm;
    (void)ipa;
    (void)pa;
    (void)size;
    (void)kind;
    return 0;
}

/*
 * The VMs' virtual interrupt controller: the vGICv3's real DT side
 * (src/irqchip/vgic_dt.c), interrupts ignored.
 */
static void fake_edge(struct vm *vm, u32 line) { (void)vm; (void)line; }
static const struct virqchip_ops fake_vgic = {
    .name = "vGICv3 (DT only)", .nr_lines = VGIC_NR_SPIS, .inject_edge = fake_edge,
    .dt_node = vgicv3_dt_node, .dt_spec = vgic_dt_spec, .dt_spec_private = vgicv3_dt_spec_private,
};

const struct virqchip_ops *virqchip_for_host(void)
{
    return irqchip ? &fake_vgic : NULL;
}

/* A CPU with memory tagging: keel,mte parses (the arch side is not here). */
bool arch_mem_tagging_supported(void)
{
    return true;
}
