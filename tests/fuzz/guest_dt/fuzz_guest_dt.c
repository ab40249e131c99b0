/*
 * The guest device tree generator (src/core/guest_dt.c), two ways:
 *
 *  - straight: guest_dt_params from the input (any name and bootargs
 *    bytes, CPU counts and MPIDRs, addresses, timer PPIs, a UART or not)
 *    into a buffer of a random size, sometimes far too small;
 *  - through the parser: a host DT from the input (common/host_dt.c), the
 *    VM configurations vms_boot() accepts, and for each the parameters
 *    vm_load.c's vm_write_dt() passes, passthrough and shared-memory nodes
 *    included (vm_dt_extra_nodes), into the 64 KiB buffer vm_load.c uses.
 *
 * Checked:
 *  - nothing is written outside the buffer (guard bytes after it; ASan
 *    sees libfdt's memcpy/memmove into it);
 *  - a success leaves a blob that passes fdt_check_full(), fits the buffer,
 *    has no two sibling nodes of one name, and says what was asked: model,
 *    one cpu node per vCPU with its MPIDR, memory, the GIC's redistributor
 *    span, the UART and its alias, bootargs, initrd, every passed-through
 *    device (without phandles, re-parented to the GIC) and shared region;
 *  - a failure is -FDT_ERR_NOSPACE (and only when a large buffer would
 *    have needed more room) or -FDT_ERR_BADVALUE (parameters the generator
 *    documents as impossible);
 *  - every configuration the parser accepts gets its DT in 64 KiB.
 */
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <keel/cmdline.h>
#include <keel/guest_dt.h>
#include <keel/vm.h>

#include "../vm_config/config_unity.h"
#include "fake_core.h"
#include "fuzz_input.h"
#include "host_dt.h"

/* The two vGICs' DT sides (src/irqchip/vgic_dt.c), all guest_dt.c asks of a virqchip. */
static const struct virqchip_ops vgicv3_dt = {
    .name = "vGICv3", .dt_node = vgicv3_dt_node, .dt_spec = vgic_dt_spec,
    .dt_spec_private = vgicv3_dt_spec_private,
};
static const struct virqchip_ops vgicv2_dt = {
    .name = "vGICv2", .dt_node = vgicv2_dt_node, .dt_spec = vgic_dt_spec,
    .dt_spec_private = vgicv2_dt_spec_private,
};

/* The parser asks; the guest DT is the same whether vCPUs share cores or not. */
bool arch_vcpu_can_share(void)
{
    return true;
}

#define GUARD 64
#define GUEST_DT_MAX (64 * 1024) /* vm_load.c's buffer */

static u8 host[HOST_DT_MAX] __attribute__((aligned(8)));
static u8 big[256 * 1024] __attribute__((aligned(8)));

/* Two children of @node with one name: fdt_check_full() does not look for that. */
static void check_unique_names(const void *fdt, int node)
{
    int a, b;

    fdt_for_each_subnode(a, fdt, node) {
        const char *na = fdt_get_name(fdt, a, NULL);
        fdt_for_each_subnode(b, fdt, node) {
            if (b >= a)
                break;
            FUZZ_CHECK(strcmp(na, fdt_get_name(fdt, b, NULL)), "two nodes named '%s'", na);
        }
        check_unique_names(fdt, a);
    }
}

static u64 reg_cell64(const void *fdt, int node, int idx)
{
    int len;
    const u8 *r = fdt_getprop(fdt, node, "reg", &len);
    fdt64_t v;

    FUZZ_CHECK(r && len >= (idx + 1) * 8, "reg too short");
    memcpy(&v, r + 8 * idx, 8); /* property values are only 4-byte aligned */
    return fdt64_to_cpu(v);
}

/* What the blob says against what was asked. */
static void check_content(const void *fdt, const struct guest_dt_params *p)
{
    char path[64];
    int node, len;
    const char *s;

    FUZZ_CHECK(fdt_check_full(fdt, fdt_totalsize(fdt)) == 0, "fdt_check_full: %s",
               fdt_strerror(fdt_check_full(fdt, fdt_totalsize(fdt))));
    check_unique_names(fdt, 0);
    s = fdt_getprop(fdt, 0, "model", &len);
    FUZZ_CHECK(s && len == (int)strlen(p->name) + 6 && !strncmp(s, "keel,", 5) &&
                   !strcmp(s + 5, p->name), "model");
    node = fdt_path_offset(fdt, "/cpus");
    FUZZ_CHECK(node >= 0, "no /cpus");
    unsigned int n = 0;
    int cpu;
    fdt_for_each_subnode(cpu, fdt, node) {
        const fdt32_t *r = fdt_getprop(fdt, cpu, "reg", &len);
        FUZZ_CHECK(n < p->ncpus && r && len == 4 && fdt32_to_cpu(*r) == p->cpu_ids[n],
                   "cpu node %u", n);
        n++;
    }
    FUZZ_CHECK(n == p->ncpus, "%u cpu nodes for %u vCPUs", n, p->ncpus);
    snprintf(path, sizeof(path), "/memory@%llx", (unsigned long long)p->mem_base);
    node = fdt_path_offset(fdt, path);
    FUZZ_CHECK(node >= 0 && reg_cell64(fdt, node, 0) == p->mem_base &&
                   reg_cell64(fdt, node, 1) == p->mem_size, "memory node");
    node = fdt_path_offset(fdt, "/intc@8000000");
    FUZZ_CHECK(node >= 0 && (p->virq == &vgicv2_dt ? reg_cell64(fdt, node, 3) == VGICV2_GICC_SIZE
                                                   : reg_cell64(fdt, node, 3) ==
                                                         VGICV3_GICR_STRIDE * p->ncpus),
               "GIC node");
    snprintf(path, sizeof(path), "/pl011@%llx", (unsigned long long)p->uart_base);
    FUZZ_CHECK((fdt_path_offset(fdt, path) >= 0) == p->uart, "UART node");
    s = fdt_get_alias(fdt, "serial0");
    FUZZ_CHECK(p->uart ? s && !strcmp(s, path) : !s, "serial0 alias");
    node = fdt_path_offset(fdt, "/chosen");
    FUZZ_CHECK(node >= 0, "no /chosen");
    s = fdt_getprop(fdt, node, "bootargs", &len);
    FUZZ_CHECK(p->bootargs ? s && !strcmp(s, p->bootargs) : !s, "bootargs");
    FUZZ_CHECK((fdt_getprop(fdt, node, "linux,initrd-start", NULL) != NULL) ==
                   (p->initrd_end > p->initrd_start), "initrd");
}

/*
 * Builds into a buffer of exactly @size bytes with guard bytes after it,
 * and checks the result; returns the error, 0 on success.
 */
static int build_checked(const struct guest_dt_params *p, size_t size)
{
    u8 *buf = malloc(size + GUARD);
    int err, ref;

    FUZZ_CHECK(buf, "malloc");
    memset(buf + size, 0xa5, GUARD);
    err = guest_dt_build(buf, size, p);
    for (unsigned int i = 0; i < GUARD; i++)
        FUZZ_CHECK(buf[size + i] == 0xa5, "byte %u past the %zu-byte buffer written", i, size);
    if (!err) {
        FUZZ_CHECK(fdt_totalsize(buf) <= size, "blob of %u bytes in %zu", fdt_totalsize(buf), size);
        check_content(buf, p);
    } else {
        FUZZ_CHECK(err == -FDT_ERR_NOSPACE || err == -FDT_ERR_BADVALUE, "error %d (%s)", err,
                   fdt_strerror(err));
        /* Out of room only if a roomy buffer needs more than this one. */
        ref = guest_dt_build(big, sizeof(big), p);
        if (err == -FDT_ERR_NOSPACE && !ref)
            FUZZ_CHECK(fdt_totalsize(big) > size, "NOSPACE in %zu bytes for a %u-byte blob",
                       size, fdt_totalsize(big));
        if (err == -FDT_ERR_BADVALUE)
            FUZZ_CHECK(ref == -FDT_ERR_BADVALUE, "BADVALUE depends on the buffer size");
    }
    free(buf);
    return err;
}

/* ---- straight from the input ---- */

static int extra_nodes(void *fdt, void *ctx)
{
    struct fuzz_in *in = ctx;
    unsigned int n = fin_below(in, 4);
    int err = 0;

    for (unsigned int i = 0; i < n && !err; i++) {
        char name[24];
        u8 val[300];
        unsigned int len = fin_below(in, sizeof(val));
        snprintf(name, sizeof(name), "extra@%u", i);
        memset(val, fin_u8(in), len);
        err = fdt_begin_node(fdt, name) ?: fdt_property(fdt, "blob", val, (int)len) ?:
              fdt_end_node(fdt);
    }
    return err;
}

static void straight(struct fuzz_in *in)
{
    static const u32 virt_ppis[4] = { 29, 30, 27, 26 };
    char name[300], bootargs[2100];
    u64 mpidr[12];
    u32 ppis[4];
    struct guest_dt_params p = {
        .name = name, .cpu_ids = mpidr, .timer_ppis = virt_ppis,
        .virq = &vgicv3_dt,
        .uart_base = GUEST_UART_BASE, .uart_line = GUEST_UART_LINE,
    };
    u8 k = fin_u8(in);
    unsigned int len = fin_below(in, sizeof(name));

    for (unsigned int i = 0; i < len; i++)
        name[i] = (char)(fin_u8(in) | 1); /* any byte but NUL */
    name[len] = '\0';
    p.ncpus = fin_below(in, 12);
    for (unsigned int i = 0; i < p.ncpus; i++)
        mpidr[i] = (k & 1) ? fin_u32(in) & ((k & 2) ? 0xffffffU : 0x1ff) : i;
    p.mem_base = (k & 4) ? fin_u64(in) : GUEST_RAM_BASE;
    p.mem_size = (k & 8) ? fin_u64(in) : (u64)(fin_u8(in) + 1) << 21;
    if (k & 0x10)
        p.virq = &vgicv2_dt; /* at most 8 CPUs, PPI CPU masks */
    p.uart = k & 0x20;
    if (k & 0x40) {
        p.uart_base = fin_u64(in);
        p.uart_line = fin_u16(in);
        for (unsigned int i = 0; i < 4; i++)
            ppis[i] = fin_u8(in) % 40;
        p.timer_ppis = ppis;
    }
    if (k & 0x80) {
        len = fin_below(in, 2048);
        for (unsigned int i = 0; i < len; i++)
            bootargs[i] = (char)(fin_u8(in) | 1);
        bootargs[len] = '\0';
        p.bootargs = bootargs;
        p.initrd_start = fin_u64(in);
        p.initrd_end = fin_bool(in) ? p.initrd_start + fin_u32(in) : fin_u64(in);
    }
    if (fin_bool(in)) {
        p.extra = extra_nodes;
        p.extra_ctx = in;
    }
    /* A buffer from nothing to plenty; the extra nodes read the input, so build once. */
    u8 s = fin_u8(in);
    size_t size = s < 0x40 ? s * 8 : s < 0x80 ? (size_t)fin_u16(in) : 64 * 1024;
    if (p.extra) {
        u8 *buf = malloc(size + GUARD);
        memset(buf + size, 0xa5, GUARD);
        int err = guest_dt_build(buf, size, &p);
        for (unsigned int i = 0; i < GUARD; i++)
            FUZZ_CHECK(buf[size + i] == 0xa5, "byte %u past the %zu-byte buffer written", i, size);
        FUZZ_CHECK(err <= 0, "error %d", err);
        if (!err)
            FUZZ_CHECK(fdt_check_full(buf, fdt_totalsize(buf)) == 0 && fdt_totalsize(buf) <= size,
                       "blob with extra nodes");
        free(buf);
        return;
    }
    build_checked(&p, size);
}

/* ---- through the parser, as vm_load.c builds it ---- */

static void through_parser(struct fuzz_in *in)
{
    if (host_dt_build(in, host))
        return;
    fuzz_config_reset();
    fuzz_core_reset(1ULL << 29);
    fuzz_vm_create_hook = NULL;
    if (dt_parse_platform(host, &platform))
        return;
    vms_boot(host);
    for (unsigned int i = 0; i < nr_vms; i++) {
        struct vm *vm = vms[i];
        u64 mpidr[VM_MAX_VCPUS];
        for (unsigned int c = 0; c < vm->cfg.nr_vcpus; c++)
            mpidr[c] = (BIT(31) | c) & MPIDR_AFF_BITS; /* vm.c's vCPU MPIDRs */
        u64 initrd = vm->cfg.ram_ipa + vm->cfg.mem_size / 2;
        struct guest_dt_params p = {
            .name = vm->cfg.name,
            .mem_base = vm->cfg.ram_ipa, .mem_size = vm->cfg.mem_size,
            .ncpus = vm->cfg.nr_vcpus, .cpu_ids = mpidr,
            .virq = vm->virq,
            .uart = vm->cfg.console, .uart_base = GUEST_UART_BASE, .uart_line = GUEST_UART_LINE,
            .bootargs = vm->cfg.bootargs[0] ? vm->cfg.bootargs : NULL,
            .initrd_start = vm->cfg.initrd.size ? initrd : 0,
            .initrd_end = vm->cfg.initrd.size ? initrd + vm->cfg.initrd.size : 0,
            .timer_ppis = platform.timer_irq,
            .extra = vm_dt_extra_nodes, .extra_ctx = vm,
        };
        int err = build_checked(&p, GUEST_DT_MAX);
        FUZZ_CHECK(!err, "VM '%s' accepted by the parser, but its DT fails: %s", vm->cfg.name,
                   fdt_strerror(err));
        const void *fdt = big; /* build_checked freed its buffer: build again to look inside */
        FUZZ_CHECK(!guest_dt_build(big, sizeof(big), &p), "rebuild");
        for (unsigned int d = 0; d < vm->cfg.nr_pt; d++) {
            const struct pt_dev *pt = &vm->cfg.pt[d];
            char path[80];
            snprintf(path, sizeof(path), "/%s", fdt_get_name(host, pt->node, NULL));
            int node = fdt_path_offset(fdt, path);
            FUZZ_CHECK(node >= 0, "passed-through %s missing from the guest DT", pt->path);
            FUZZ_CHECK(!fdt_getprop(fdt, node, "phandle", NULL), "%s keeps its phandle", path);
            if (fdt_getprop(host, pt->node, "interrupts", NULL)) {
                const fdt32_t *ip = fdt_getprop(fdt, node, "interrupt-parent", NULL);
                FUZZ_CHECK(ip && fdt32_to_cpu(*ip) == GUEST_DT_PHANDLE_INTC, "%s not re-parented",
                           path);
            }
        }
        unsigned int shm = 0;
        int node;
        fdt_for_each_subnode(node, fdt, 0)
            if (!fdt_node_check_compatible(fdt, node, "keel,shmem"))
                shm++;
        FUZZ_CHECK(shm == vm->cfg.nr_shmem, "%u shmem nodes for %u regions", shm, vm->cfg.nr_shmem);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };

    if (fin_u8(&in) & 1)
        through_parser(&in);
    else
        straight(&in);
    return 0;
}
