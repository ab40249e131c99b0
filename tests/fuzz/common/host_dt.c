/*
 * The host DT builder (see host_dt.h). Values are biased to the edges the
 * parser has to get right: sizes that round up past 2^64, addresses at the
 * ends of RAM and of the 39-bit IPA space, strings without a terminator,
 * paths and aliases that name the same node, cell counts other than 2.
 */
#include <string.h>

#include <libfdt.h>

#include "host_dt.h"

#define NR_DEVS 6

static const char *const prop_names[] = {
    "compatible", "cpus", "memory", "keel,name", "keel,cpu-affinity", "keel,console",
    "keel,identity", "keel,ipa-base", "keel,passthrough", "keel,shmem", "#address-cells",
    "#size-cells", "reg", "bootargs", "keel,load", "keel,entry", "size", "keel,ipa",
    "interrupts", "status", "keel,priority", "keel,time-slice-us",
};

static const char *const strings[] = {
    "linux", "bare", "vm@0", "ring", "ring2", "", "shm",
    "a-name-longer-than-the-thirty-one-characters-kept",
    "/virtio_mmio@a000000", "/virtio_mmio@a000200", "/virtio_mmio@a000400",
    "/dev@10000000", "/dev@7fffff0000", "/dev@big", "dev0", "dev1", "serial0",
    "/pl011@9000000", "/intc@8000000", "/memory@40000000", "/cpus/cpu@0", "/", "/chosen",
    "/nonexistent", "/virtio_mmio@a000000/sub", "keel,vm", "keel,shmem", "multiboot,module",
};

static const u64 sizes64[] = {
    0, 1, 0x1000, 0x10000, 0x1fffff, 0x200000, 0x4000000, 0x8000000, 0x20000000, 0x40000000,
    0x100000000ULL, 0x7fc0000000ULL, 0x8000000000ULL, 0x8000000000000000ULL,
    0xffffffffffe00000ULL, 0xfffffffffffff000ULL, 0xffffffffffffffffULL,
};

static const u64 addrs64[] = {
    0, 0x08000000, 0x09000000, 0x0a000000, 0x0b000000, 0x0bfff000, 0x0c000000, 0x10000000,
    0x3fe00000, 0x40000000, 0x40200000, 0x7e000000, 0x80000000, 0x100000000ULL,
    0x7fc0000000ULL, 0x7fffe00000ULL, 0x8000000000ULL, 0xfffffffffffff000ULL,
    0xffffffffffe00000ULL,
};

static const u32 cells32[] = { 0, 1, 2, 3, 4, 7, 8, 9, 0xf, 0xff, 0x100, 0x80000000, 0xffffffff };

static u64 ram_base[2], ram_size[2];
static unsigned int nr_banks;

static u64 pick_u64(struct fuzz_in *in, const u64 *tab, unsigned int n)
{
    u8 k = fin_u8(in);

    if (k < 0xc0)
        return tab[k % n];
    if (k < 0xe0)
        return tab[k % n] + (fin_u16(in) << 12);
    return fin_u64(in);
}

static u32 pick_u32(struct fuzz_in *in)
{
    u8 k = fin_u8(in);

    return k < 0xe0 ? cells32[k % (sizeof(cells32) / sizeof(cells32[0]))] : fin_u32(in);
}

/* Somewhere in host RAM, for module reg: inside a bank, at its edges, or anywhere. */
static void pick_module(struct fuzz_in *in, u64 *base, u64 *size)
{
    unsigned int b = fin_below(in, nr_banks);
    u8 k = fin_u8(in);

    *base = ram_base[b] + ((u64)fin_u8(in) << 21);
    *size = ((u64)fin_u8(in) + 1) << 16;
    if (k & 1)
        *base = ram_base[b] + ram_size[b] - *size; /* the last bytes of the bank */
    if ((k & 6) == 6)
        *size = pick_u64(in, sizes64, sizeof(sizes64) / sizeof(sizes64[0]));
    if ((k & 0x18) == 0x18)
        *base = pick_u64(in, addrs64, sizeof(addrs64) / sizeof(addrs64[0]));
}

static int prop_cells64(void *fdt, int node, const char *name, u64 v, unsigned int ncells)
{
    fdt32_t c[2] = { cpu_to_fdt32((u32)(v >> 32)), cpu_to_fdt32((u32)v) };

    return ncells == 1 ? fdt_setprop(fdt, node, name, &c[1], 4) : fdt_setprop(fdt, node, name, c, 8);
}

static int prop_reg(void *fdt, int node, u64 base, u64 size, unsigned int ac, unsigned int sc)
{
    fdt32_t c[4];
    unsigned int n = 0;

    if (ac == 2)
        c[n++] = cpu_to_fdt32((u32)(base >> 32));
    c[n++] = cpu_to_fdt32((u32)base);
    if (sc == 2)
        c[n++] = cpu_to_fdt32((u32)(size >> 32));
    if (sc >= 1)
        c[n++] = cpu_to_fdt32((u32)size);
    return fdt_setprop(fdt, node, "reg", c, (int)(n * 4));
}

/* A string list: up to three strings, the terminator of the last sometimes missing. */
static int prop_strings(struct fuzz_in *in, void *fdt, int node, const char *name)
{
    char buf[256];
    int len = 0;
    unsigned int n = fin_below(in, 3) + 1;

    for (unsigned int i = 0; i < n; i++) {
        const char *s = fin_pick(in, strings);
        int l = (int)strlen(s) + 1;
        memcpy(buf + len, s, (size_t)l);
        len += l;
    }
    if (fin_u8(in) < 0x20)
        len--; /* no terminator */
    return fdt_setprop(fdt, node, name, buf, len);
}

/* A property @name with a value of a kind chosen by the input. */
static int random_prop(struct fuzz_in *in, void *fdt, int node, const char *name)
{
    u8 kind = fin_u8(in) % 8;

    switch (kind) {
    case 0: return fdt_setprop(fdt, node, name, NULL, 0);
    case 1: return prop_cells64(fdt, node, name, pick_u32(in), 1);
    case 2: return prop_cells64(fdt, node, name, pick_u64(in, sizes64, sizeof(sizes64) / 8), 2);
    case 3: return prop_cells64(fdt, node, name, pick_u64(in, addrs64, sizeof(addrs64) / 8), 2);
    case 4:
    case 5: return prop_strings(in, fdt, node, name);
    case 6: {
        u8 raw[24];
        unsigned int len = fin_below(in, sizeof(raw) + 1);
        for (unsigned int i = 0; i < len; i++)
            raw[i] = fin_u8(in);
        return fdt_setprop(fdt, node, name, raw, (int)len);
    }
    default: return fdt_delprop(fdt, node, name) == -FDT_ERR_NOTFOUND ? 0 : 0;
    }
}

/* ---- the base: a QEMU virt board ---- */

static int sw_reg2(void *fdt, u64 base, u64 size)
{
    fdt32_t c[4] = { cpu_to_fdt32((u32)(base >> 32)), cpu_to_fdt32((u32)base),
                     cpu_to_fdt32((u32)(size >> 32)), cpu_to_fdt32((u32)size) };
    return fdt_property(fdt, "reg", c, sizeof(c));
}

static int sw_irq(void *fdt, u32 type, u32 num)
{
    fdt32_t c[3] = { cpu_to_fdt32(type), cpu_to_fdt32(num), cpu_to_fdt32(4) };
    return fdt_property(fdt, "interrupts", c, sizeof(c));
}

static const char *const dev_names[NR_DEVS] = {
    "virtio_mmio@a000000", "virtio_mmio@a000200", "virtio_mmio@a000400",
    "dev@10000000", "dev@7fffff0000", "dev@big",
};

static int base_devices(struct fuzz_in *in, void *fdt)
{
    static const u64 dev_base[NR_DEVS] = { 0x0a000000, 0x0a000200, 0x0a000400, 0x10000000,
                                           0x7fffff0000ULL, 0xffffffff00000000ULL };
    int err = 0;

    for (unsigned int i = 0; i < NR_DEVS && !err; i++) {
        u8 k = fin_u8(in);
        u64 base = dev_base[i], size = i < 3 ? 0x200 : 0x10000;
        if (k & 1)
            base = pick_u64(in, addrs64, sizeof(addrs64) / 8);
        if (k & 2)
            size = pick_u64(in, sizes64, sizeof(sizes64) / 8);
        err = fdt_begin_node(fdt, dev_names[i]) ?:
              fdt_property_string(fdt, "compatible", "virtio,mmio");
        if (!err && (k & 4)) { /* a second reg entry, right after the first */
            fdt32_t c[8] = { cpu_to_fdt32((u32)(base >> 32)), cpu_to_fdt32((u32)base),
                             cpu_to_fdt32((u32)(size >> 32)), cpu_to_fdt32((u32)size),
                             cpu_to_fdt32((u32)((base + size) >> 32)), cpu_to_fdt32((u32)(base + size)),
                             0, cpu_to_fdt32(0x1000) };
            err = fdt_property(fdt, "reg", c, sizeof(c));
        } else if (!err) {
            err = sw_reg2(fdt, base, size);
        }
        if (!err && !(k & 8)) {
            /* interrupts: an SPI near the ones QEMU uses, or anything, up to two of them */
            u32 type = (k & 0x30) == 0x30 ? fin_u8(in) % 3 : 0;
            u32 num = (k & 0x40) ? pick_u32(in) : 16 + i + ((k & 0x80) ? 64 : 0);
            err = sw_irq(fdt, type, num);
        }
        if (!err && i == 0 && (k & 0x10))
            err = fdt_begin_node(fdt, "sub") ?: fdt_property_u32(fdt, "phandle", 9) ?:
                  fdt_end_node(fdt);
        err = err ?: fdt_end_node(fdt);
    }
    return err;
}

static int build_base(struct fuzz_in *in, void *fdt)
{
    unsigned int ncpus = fin_below(in, 10) + 1;
    u8 k = fin_u8(in);
    fdt32_t mem[8];
    int err;

    nr_banks = (k & 1) + 1;
    ram_base[0] = 0x40000000;
    ram_size[0] = (u64)(fin_u8(in) % 8 + 1) << 28; /* 256 MiB .. 2 GiB */
    ram_base[1] = 0x100000000ULL << (k >> 1 & 3);
    ram_size[1] = (u64)(fin_u8(in) % 4 + 1) << 28;
    for (unsigned int b = 0; b < 2; b++) {
        mem[4 * b] = cpu_to_fdt32((u32)(ram_base[b] >> 32));
        mem[4 * b + 1] = cpu_to_fdt32((u32)ram_base[b]);
        mem[4 * b + 2] = cpu_to_fdt32((u32)(ram_size[b] >> 32));
        mem[4 * b + 3] = cpu_to_fdt32((u32)ram_size[b]);
    }
    err = fdt_create(fdt, HOST_DT_MAX) ?: fdt_finish_reservemap(fdt) ?: fdt_begin_node(fdt, "") ?:
          fdt_property_u32(fdt, "#address-cells", 2) ?: fdt_property_u32(fdt, "#size-cells", 2) ?:
          fdt_property_string(fdt, "compatible", "linux,dummy-virt");
    err = err ?: fdt_begin_node(fdt, "aliases") ?:
          fdt_property_string(fdt, "serial0", "/pl011@9000000") ?:
          fdt_property_string(fdt, "dev0", "/virtio_mmio@a000000") ?:
          fdt_property_string(fdt, "dev1", (k & 8) ? "/virtio_mmio@a000200" : "/dev@10000000") ?:
          fdt_end_node(fdt);
    err = err ?: fdt_begin_node(fdt, "memory@40000000") ?:
          fdt_property_string(fdt, "device_type", "memory") ?:
          fdt_property(fdt, "reg", mem, (int)(16 * nr_banks)) ?: fdt_end_node(fdt);
    err = err ?: fdt_begin_node(fdt, "cpus") ?: fdt_property_u32(fdt, "#address-cells", 1) ?:
          fdt_property_u32(fdt, "#size-cells", 0);
    for (unsigned int i = 0; i < ncpus && !err; i++) {
        char name[16] = "cpu@0";
        name[4] = (char)('0' + i);
        err = fdt_begin_node(fdt, name) ?: fdt_property_string(fdt, "device_type", "cpu") ?:
              fdt_property_u32(fdt, "reg", i) ?: fdt_end_node(fdt);
    }
    err = err ?: fdt_end_node(fdt);
    err = err ?: fdt_begin_node(fdt, "intc@8000000") ?:
          fdt_property_string(fdt, "compatible", "arm,gic-v3");
    if (!err) {
        fdt32_t gic[8] = { 0, cpu_to_fdt32(0x08000000), 0, cpu_to_fdt32(0x10000),
                           0, cpu_to_fdt32(0x080a0000), 0, cpu_to_fdt32(0xf60000) };
        err = fdt_property(fdt, "reg", gic, sizeof(gic)) ?: sw_irq(fdt, 1, 9) ?: fdt_end_node(fdt);
    }
    err = err ?: fdt_begin_node(fdt, "timer") ?:
          fdt_property_string(fdt, "compatible", "arm,armv8-timer");
    if (!err) {
        fdt32_t t[12] = { cpu_to_fdt32(1), cpu_to_fdt32(13), cpu_to_fdt32(4),
                          cpu_to_fdt32(1), cpu_to_fdt32(14), cpu_to_fdt32(4),
                          cpu_to_fdt32(1), cpu_to_fdt32(11), cpu_to_fdt32(4),
                          cpu_to_fdt32(1), cpu_to_fdt32(10), cpu_to_fdt32(4) };
        err = fdt_property(fdt, "interrupts", t, sizeof(t)) ?: fdt_end_node(fdt);
    }
    err = err ?: fdt_begin_node(fdt, "pl011@9000000") ?:
          fdt_property_string(fdt, "compatible", "arm,pl011") ?:
          sw_reg2(fdt, 0x09000000, 0x1000) ?: sw_irq(fdt, 0, 1) ?: fdt_end_node(fdt);
    err = err ?: fdt_begin_node(fdt, "psci") ?:
          fdt_property_string(fdt, "compatible", "arm,psci-1.0") ?:
          fdt_property_string(fdt, "method", "smc") ?: fdt_end_node(fdt);
    err = err ?: base_devices(in, fdt);
    err = err ?: fdt_begin_node(fdt, "chosen") ?:
          fdt_property_string(fdt, "stdout-path", "serial0:115200n8") ?:
          fdt_property_string(fdt, "bootargs", "loglevel=trace") ?: fdt_end_node(fdt);
    return err ?: fdt_end_node(fdt) ?: fdt_finish(fdt);
}

/* ---- the program: nodes and properties under /chosen ---- */

static int add_named(void *fdt, int parent, const char *prefix, u64 addr)
{
    char name[40];
    static const char hex[] = "0123456789abcdef";
    int n = 0, d = 60;

    while (*prefix)
        name[n++] = *prefix++;
    name[n++] = '@';
    while (d > 0 && !((addr >> d) & 0xf))
        d -= 4;
    for (; d >= 0; d -= 4)
        name[n++] = hex[(addr >> d) & 0xf];
    name[n] = '\0';
    int node = fdt_add_subnode(fdt, parent, name);
    return node == -FDT_ERR_EXISTS ? fdt_subnode_offset(fdt, parent, name) : node;
}

static int add_shmem(struct fuzz_in *in, void *fdt, int chosen, unsigned int idx)
{
    int node = add_named(fdt, chosen, "shmem", idx);
    u8 k = fin_u8(in);
    int err;

    if (node < 0)
        return node;
    err = fdt_setprop_string(fdt, node, "compatible", "keel,shmem");
    if (!err && !(k & 1))
        err = fdt_setprop_string(fdt, node, "keel,name", idx & 1 ? "ring2" : "ring");
    if (!err && !(k & 2))
        err = prop_cells64(fdt, node, "size", (k & 4) ? pick_u64(in, sizes64, sizeof(sizes64) / 8)
                                                     : (u64)(fin_u8(in) % 16 + 1) << 12, 2);
    if (!err && (k & 8))
        err = prop_cells64(fdt, node, "keel,ipa", pick_u64(in, addrs64, sizeof(addrs64) / 8),
                           (k & 0x10) ? 1 : 2);
    for (unsigned int i = 0; !err && (k & 0x20) && i < 2; i++)
        err = random_prop(in, fdt, node, fin_pick(in, prop_names));
    return err;
}

static int add_module(struct fuzz_in *in, void *fdt, int vm, unsigned int ac, unsigned int sc)
{
#define COMPAT(s) { s, sizeof(s) }
    static const struct {
        const char *s;
        int len;
    } compat[] = {
        COMPAT("multiboot,kernel\0multiboot,module"), COMPAT("multiboot,ramdisk\0multiboot,module"),
        COMPAT("multiboot,module"), COMPAT("multiboot,device-tree\0multiboot,module"),
        COMPAT("multiboot,kernel"),
    };
#undef COMPAT
    u64 base, size;
    unsigned int c = fin_below(in, 5);
    u8 k = fin_u8(in);
    int node, err;

    pick_module(in, &base, &size);
    node = add_named(fdt, vm, "module", base);
    if (node < 0)
        return node;
    err = fdt_setprop(fdt, node, "compatible", compat[c].s, compat[c].len);
    if (!err && !(k & 1))
        err = prop_reg(fdt, node, base, size, ac, sc);
    if (!err && (k & 2))
        err = prop_strings(in, fdt, node, "bootargs");
    if (!err && (k & 4))
        err = prop_cells64(fdt, node, "keel,load", pick_u64(in, addrs64, sizeof(addrs64) / 8), 2);
    if (!err && (k & 8))
        err = prop_cells64(fdt, node, "keel,entry", pick_u64(in, addrs64, sizeof(addrs64) / 8), 2);
    return err;
}

/* A keel,vm node with the usual properties, then random edits. */
static int add_vm(struct fuzz_in *in, void *fdt, int chosen, unsigned int idx)
{
    int node = add_named(fdt, chosen, "vm", idx);
    u8 k = fin_u8(in);
    unsigned int ac = 2, sc = 2;
    int err;

    if (node < 0)
        return node;
    if ((k & 0xc0) == 0xc0) { /* cell sizes other than keel-run's */
        ac = fin_below(in, 3);
        sc = fin_below(in, 3);
    }
    err = fdt_setprop_string(fdt, node, "compatible", "keel,vm") ?:
          fdt_setprop_u32(fdt, node, "#address-cells", ac) ?:
          fdt_setprop_u32(fdt, node, "#size-cells", sc);
    if (!err && (k & 1)) {
        const char *name = fin_pick(in, strings); /* fdt_setprop_string() names it twice */
        err = fdt_setprop_string(fdt, node, "keel,name", name);
    }
    if (!err && (k & 2))
        err = fdt_setprop_u32(fdt, node, "cpus", fin_below(in, 4) + 1);
    if (!err && !(k & 4))
        err = prop_cells64(fdt, node, "memory", (u64)(fin_u8(in) % 64 + 1) << 21, 2);
    if (!err && (k & 8))
        err = fdt_setprop(fdt, node, "keel,console", NULL, 0);
    if (!err && !(k & 0x10))
        err = add_module(in, fdt, node, ac, sc);
    if (!err && (k & 0x20))
        err = fdt_setprop_u32(fdt, node, "keel,cpu-affinity", fin_u8(in));
    return err < 0 ? err : node;
}

int host_dt_build(struct fuzz_in *in, void *fdt)
{
    int chosen, err, vm = -1;
    unsigned int nvm = 0, nshm = 0;

    err = build_base(in, fdt);
    if (err)
        return err;
    err = fdt_open_into(fdt, fdt, HOST_DT_MAX);
    chosen = fdt_path_offset(fdt, "/chosen");
    if (err || chosen < 0)
        return err ?: chosen;
    for (unsigned int steps = 0; !err && !fin_done(in) && steps < 64; steps++) {
        u8 op = fin_u8(in);
        switch (op % 8) {
        case 0:
        case 1:
            vm = add_vm(in, fdt, chosen, nvm++);
            err = vm < 0 ? vm : 0;
            break;
        case 2:
            err = add_shmem(in, fdt, chosen, nshm++);
            break;
        case 3:
        case 4:
        case 5: /* a property on the last VM */
            if (vm >= 0)
                err = random_prop(in, fdt, vm, fin_pick(in, prop_names));
            break;
        case 6:
            if (vm >= 0) {
                int ac = fdt_address_cells(fdt, vm), sc = fdt_size_cells(fdt, vm);
                err = add_module(in, fdt, vm, ac == 1 ? 1 : 2, sc < 0 ? 1 : sc > 2 ? 2 : (unsigned int)sc);
            }
            break;
        default: { /* a property on a device, the passthrough candidates */
            int node = fdt_path_offset(fdt, fin_pick(in, strings));
            if (node >= 0)
                err = random_prop(in, fdt, node, fin_pick(in, prop_names));
            break;
        }
        }
        /* Node offsets move when the blob is edited: find the last VM again. */
        if (!err && vm >= 0 && nvm) {
            char path[32] = "/chosen/vm@";
            static const char hex[] = "0123456789abcdef";
            unsigned int last = nvm - 1, n = 11;
            if (last >= 16)
                path[n++] = hex[last >> 4];
            path[n++] = hex[last & 0xf];
            path[n] = '\0';
            vm = fdt_path_offset(fdt, path);
        }
        chosen = fdt_path_offset(fdt, "/chosen");
    }
    return err ?: fdt_pack(fdt);
}
