/*
 * Host unit tests of the VM configuration parser (vms_boot() and what it
 * calls), mostly regression tests for bugs the fuzzer tests/fuzz/vm_config
 * found. Each test builds a small QEMU-virt-like host DT with libfdt, adds
 * keel,vm and keel,shmem nodes, boots the parser and looks at what the fake
 * vm_create() received and at the reason logged for a rejection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include <keel/cmdline.h>
#include <keel/vm.h>

#include "fake_arch.h"
#include "fake_core.h"
#include "../../fuzz/vm_config/config_unity.h"

static u8 dtb[64 * 1024] __attribute__((aligned(8)));
/* The host disk the next boot() finds (fake hdisk_capacity(); 0: none). */
static u64 host_disk_sectors;
static bool host_disk_ro;

static void reg2(int node, u64 base, u64 size)
{
    fdt32_t c[4] = { cpu_to_fdt32(base >> 32), cpu_to_fdt32((u32)base),
                     cpu_to_fdt32(size >> 32), cpu_to_fdt32((u32)size) };
    assert_int_equal(fdt_setprop(dtb, node, "reg", c, sizeof(c)), 0);
}

static void irq_spi(int node, u32 spi)
{
    fdt32_t c[3] = { 0, cpu_to_fdt32(spi), cpu_to_fdt32(4) };
    assert_int_equal(fdt_setprop(dtb, node, "interrupts", c, sizeof(c)), 0);
}

static int node_at(const char *path)
{
    int n = fdt_path_offset(dtb, path);
    assert_true(n >= 0);
    return n;
}

static int add_node(const char *parent, const char *name)
{
    int n = fdt_add_subnode(dtb, node_at(parent), name);
    assert_true(n >= 0);
    return n;
}

static void set_u64(const char *path, const char *prop, u64 v)
{
    assert_int_equal(fdt_setprop_u64(dtb, node_at(path), prop, v), 0);
}

static void set_u32(const char *path, const char *prop, u32 v)
{
    assert_int_equal(fdt_setprop_u32(dtb, node_at(path), prop, v), 0);
}

static void set_str(const char *path, const char *prop, const char *v)
{
    assert_int_equal(fdt_setprop_string(dtb, node_at(path), prop, v), 0);
}

/* 1 GiB of RAM at 0x40000000, 4 CPUs, GICv3, PL011, and a virtio-mmio slot to pass through. */
static void base_dt(void)
{
    int n;

    assert_int_equal(fdt_create_empty_tree(dtb, sizeof(dtb)), 0);
    set_u32("/", "#address-cells", 2);
    set_u32("/", "#size-cells", 2);
    n = add_node("/", "memory@40000000");
    set_str("/memory@40000000", "device_type", "memory");
    reg2(node_at("/memory@40000000"), 0x40000000, 0x40000000);
    add_node("/", "cpus");
    set_u32("/cpus", "#address-cells", 1);
    set_u32("/cpus", "#size-cells", 0);
    for (u32 i = 0; i < 4; i++) {
        char name[8] = "cpu@0", path[16] = "/cpus/cpu@0";
        name[4] = path[10] = (char)('0' + i);
        add_node("/cpus", name);
        set_str(path, "device_type", "cpu");
        set_u32(path, "reg", i);
    }
    add_node("/", "intc@8000000");
    set_str("/intc@8000000", "compatible", "arm,gic-v3");
    n = node_at("/intc@8000000");
    fdt32_t gic[8] = { 0, cpu_to_fdt32(0x08000000), 0, cpu_to_fdt32(0x10000),
                       0, cpu_to_fdt32(0x080a0000), 0, cpu_to_fdt32(0xf60000) };
    assert_int_equal(fdt_setprop(dtb, n, "reg", gic, sizeof(gic)), 0);
    add_node("/", "pl011@9000000");
    reg2(node_at("/pl011@9000000"), 0x09000000, 0x1000);
    irq_spi(node_at("/pl011@9000000"), 1);
    add_node("/", "virtio_mmio@a000000");
    reg2(node_at("/virtio_mmio@a000000"), 0x0a000000, 0x200);
    irq_spi(node_at("/virtio_mmio@a000000"), 16);
    add_node("/", "aliases");
    set_str("/aliases", "dev0", "/virtio_mmio@a000000");
    add_node("/", "chosen");
    set_str("/chosen", "stdout-path", "/pl011@9000000");
    host_disk_sectors = 0;
    host_disk_ro = false;
    fake_vcpu_can_share = true;
}

/* A VM as keel-run writes it: 64 MiB, one vCPU, a raw kernel module at @kernel. */
static void add_vm(const char *name, u64 kernel)
{
    char path[64], mod[64];

    snprintf(path, sizeof(path), "/chosen/%s", name);
    add_node("/chosen", name);
    set_str(path, "compatible", "keel,vm");
    set_u32(path, "#address-cells", 2);
    set_u32(path, "#size-cells", 2);
    set_str(path, "keel,name", name);
    set_u64(path, "memory", 64 << 20);
    snprintf(mod, sizeof(mod), "module@%llx", (unsigned long long)kernel);
    add_node(path, mod);
    snprintf(path, sizeof(path), "/chosen/%s/module@%llx", name, (unsigned long long)kernel);
    static const char compat[] = "multiboot,kernel\0multiboot,module";
    assert_int_equal(fdt_setprop(dtb, node_at(path), "compatible", compat, sizeof(compat)), 0);
    reg2(node_at(path), kernel, 0x20000);
    set_u64(path, "keel,load", 0x40080000);
}

static void add_shmem(const char *name, u64 size)
{
    char path[64];

    snprintf(path, sizeof(path), "/chosen/%s", name);
    add_node("/chosen", name);
    set_str(path, "compatible", "keel,shmem");
    set_str(path, "keel,name", name);
    set_u64(path, "size", size);
}

/* Parses the platform and the VMs as main.c does; the number of VMs created. */
static unsigned int boot(void)
{
    fuzz_config_reset();
    fuzz_core_reset(1ULL << 30);
    fuzz_hdisk_sectors = host_disk_sectors;
    fuzz_hdisk_ro = host_disk_ro;
    fuzz_vm_create_hook = NULL;
    fake_log_reset();
    assert_int_equal(dt_parse_platform(dtb, &platform), 0);
    vms_boot(dtb);
    return nr_vms;
}

/* The last ERROR logged contains @why. */
static void assert_logged(const char *why)
{
    if (!strstr(fake_log_last_error, why))
        fail_msg("last error '%s', expected '%s'", fake_log_last_error, why);
}

static void test_baseline(void **state)
{
    (void)state;
    base_dt();
    add_vm("vm0", 0x7e000000);
    add_shmem("ring", 0x10000);
    set_str("/chosen/vm0", "keel,shmem", "ring");
    assert_int_equal(boot(), 1);
    assert_string_equal(vms[0]->cfg.name, "vm0");
    assert_int_equal(vms[0]->cfg.mem_size, 64 << 20);
    assert_int_equal(vms[0]->cfg.ram_ipa, GUEST_RAM_BASE);
    assert_int_equal(vms[0]->cfg.nr_shmem, 1);
    assert_int_equal(fuzz_shmem_count(), 1);
}

/*
 * Found by the fuzzer: a shmem size above 2^63 hung the boot in
 * order_for_size() (here its fake aborts instead), once keel,ipa made the
 * end of the region wrap past the IPA-space check.
 */
static void test_shmem_size_above_1g(void **state)
{
    (void)state;
    base_dt();
    add_shmem("big", 0x8000000000000001ULL);
    set_u64("/chosen/big", "keel,ipa", 0x7ffffffffffff000ULL);
    add_shmem("wraps", 0xfffffffffffff001ULL);
    add_shmem("gib", (1ULL << 30) + 1);
    add_shmem("ok", 1ULL << 30);
    set_u64("/chosen/ok", "keel,ipa", 0x80000000);
    boot();
    assert_logged("size is over 1 GiB");
    assert_int_equal(fuzz_shmem_count(), 1);
    char name[32];
    u64 pa, ipa, size;
    fuzz_shmem_region(0, name, &pa, &ipa, &size);
    assert_string_equal(name, "ok");
    assert_int_equal(size, 1ULL << 30);
}

static void set_strings(const char *path, const char *prop, const char *list, int len)
{
    assert_int_equal(fdt_setprop(dtb, node_at(path), prop, list, len), 0);
}

/*
 * Found by the fuzzer: devices were told apart by path, so a path and an
 * alias of one node (or two paths past the 63 characters kept) handed one
 * device to two VMs, or twice to one.
 */
static void test_passthrough_alias_is_same_device(void **state)
{
    static const char both[] = "dev0\0/virtio_mmio@a000000";

    (void)state;
    base_dt();
    add_vm("vm0", 0x7e000000);
    set_strings("/chosen/vm0", "keel,passthrough", both, sizeof(both));
    assert_int_equal(boot(), 0);
    assert_logged("keel,passthrough lists a device twice");

    base_dt();
    add_vm("vm1", 0x7d000000);
    add_vm("vm0", 0x7e000000); /* added first, parsed first */
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    set_str("/chosen/vm1", "keel,passthrough", "dev0");
    assert_int_equal(boot(), 1);
    assert_string_equal(vms[0]->cfg.name, "vm0");
    assert_logged("keel,passthrough names a device another VM already owns");
}

/*
 * Found by the fuzzer: a passed-through reg of size 0 (a cpu node, say), one
 * whose end wraps past 2^64 (which also evaded the check against Keel's
 * RAM), or one above the 39-bit IPA space was accepted.
 */
static void test_passthrough_reg_outside_ipa_space(void **state)
{
    static const u64 bad[][2] = {
        { 0x0a000000, 0 },
        { 0xffffffff00000000ULL, 0x150000000ULL }, /* wraps to cover 0x40000000.. */
        { 0x7ffffff000ULL, 0x2000 },
        { 0x8000000000ULL, 0x1000 },
    };

    (void)state;
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        base_dt();
        reg2(node_at("/virtio_mmio@a000000"), bad[i][0], bad[i][1]);
        add_vm("vm0", 0x7e000000);
        set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
        assert_int_equal(boot(), 0);
        assert_logged("empty reg or one past the 39-bit address space");
    }
    base_dt();
    reg2(node_at("/virtio_mmio@a000000"), 0x7ffffff000ULL, 0x1000); /* the last page: fine */
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    assert_int_equal(boot(), 1);
}

/*
 * Found by the fuzzer: keel,ipa near 2^64 made the region's end wrap below
 * the 39-bit limit, so it was accepted (and Stage-2 would have mapped it
 * wrapped around to low IPAs, unseen by the RAM overlap check).
 */
static void test_shmem_ipa_wraps(void **state)
{
    (void)state;
    base_dt();
    add_shmem("wrap", 0x8000);
    set_u64("/chosen/wrap", "keel,ipa", 0xfffffffffffff000ULL);
    add_shmem("top", 0x1000);
    set_u64("/chosen/top", "keel,ipa", 0x7ffffff000ULL);
    boot();
    assert_int_equal(fuzz_shmem_count(), 1);
    assert_logged("past the 39-bit IPA space");
}

/*
 * Found by the fuzzer: guest RAM whose end wraps past 2^64 was accepted: a
 * memory size near 2^64 (rounded up to 0, or not), or keel,ipa-base near
 * 2^64 with a small size.
 */
static void test_ram_end_wraps(void **state)
{
    static const u64 cases[][2] = { /* memory, keel,ipa-base (0: none) */
        { 0xffffffffffffffffULL, 0 },
        { 0xffffffffffe00000ULL, 0 },
        { 0x8000000000ULL + 1, 0 },
        { 64 << 20, 0xffffffffffe00000ULL },
        { 0x8000000000ULL, 0x40000000 },
    };

    (void)state;
    for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        base_dt();
        add_vm("vm0", 0x7e000000);
        set_u64("/chosen/vm0", "memory", cases[i][0]);
        if (cases[i][1])
            set_u64("/chosen/vm0", "keel,ipa-base", cases[i][1]);
        assert_int_equal(boot(), 0);
        assert_logged("39-bit address space");
    }
    base_dt();
    add_vm("vm0", 0x7e000000);
    set_u64("/chosen/vm0", "keel,ipa-base", 0x7fc0000000ULL);
    set_u64("/chosen/vm0", "memory", 1 << 30); /* up to exactly 2^39 */
    assert_int_equal(boot(), 1);
}

/* Found by the fuzzer: SPI number 0xffffffff + 32 wrapped to INTID 31, a PPI, and was accepted. */
static void test_passthrough_spi_wraps(void **state)
{
    static const struct { u32 spi; const char *why; } bad[] = {
        { 0xffffffff, "interrupt specifier is not a valid one" }, /* would wrap to INTID 31 */
        { 0xffffffe0, "interrupt specifier is not a valid one" }, /* ... to INTID 0 */
        { 988, "interrupt specifier is not a valid one" },        /* INTID 1020: special */
        { 224, "beyond the virtual controller's range" },          /* INTID 256 */
    };

    (void)state;
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        base_dt();
        irq_spi(node_at("/virtio_mmio@a000000"), bad[i].spi);
        add_vm("vm0", 0x7e000000);
        set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
        assert_int_equal(boot(), 0);
        assert_logged(bad[i].why);
    }
    base_dt();
    irq_spi(node_at("/virtio_mmio@a000000"), 223); /* INTID 255, the last one */
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    assert_int_equal(boot(), 1);
    assert_int_equal(vms[0]->cfg.pt[0].irqs[0], 255);
}

/*
 * Found by the fuzzer (guest_dt harness): a VM listing one region twice had
 * it mapped twice and got two guest DT nodes named shmem@<ipa>.
 */
static void test_shmem_listed_twice(void **state)
{
    static const char twice[] = "ring\0ring";

    (void)state;
    base_dt();
    add_shmem("ring", 0x10000);
    add_vm("vm0", 0x7e000000);
    set_strings("/chosen/vm0", "keel,shmem", twice, sizeof(twice));
    assert_int_equal(boot(), 0);
    assert_logged("keel,shmem lists a region twice");
}

/* Found by the harness's invariants: cpus = <1 1> (2^32 + 1) was narrowed to 1 vCPU and accepted. */
/* An empty keel,name gave a VM named "" that the shell and the console tags cannot name. */
static void test_empty_name(void **state)
{
    (void)state;
    base_dt();
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,name", "");
    assert_int_equal(boot(), 0);
    assert_logged("keel,name is empty");
}

static void test_cpus_two_cells(void **state)
{
    (void)state;
    base_dt();
    add_vm("vm0", 0x7e000000);
    set_u64("/chosen/vm0", "cpus", 0x100000001ULL);
    assert_int_equal(boot(), 0);
    assert_logged("cpus must be 1..8");
    base_dt();
    add_vm("vm0", 0x7e000000);
    set_u64("/chosen/vm0", "cpus", 2); /* two cells, in range */
    assert_int_equal(boot(), 1);
    assert_int_equal(vms[0]->cfg.nr_vcpus, 2);
}

/*
 * Found by the harness's invariants: with keel,ipa-base moving RAM to
 * 0x0c000000, a device at 0x10000000 (IPA == PA) was accepted inside the
 * VM's RAM window, where its Stage-2 mapping would replace RAM.
 */
static void test_passthrough_inside_vm_ram(void **state)
{
    (void)state;
    base_dt();
    reg2(node_at("/virtio_mmio@a000000"), 0x10000000, 0x1000);
    add_vm("vm0", 0x7e000000);
    set_u64("/chosen/vm0", "keel,ipa-base", 0x0c000000);
    set_u64("/chosen/vm0", "memory", 128 << 20);
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    assert_int_equal(boot(), 0);
    assert_logged("a passed-through device overlaps the VM's RAM");
    set_u64("/chosen/vm0", "memory", 64 << 20); /* RAM ends at 0x10000000: fine */
    assert_int_equal(boot(), 1);
}

/*
 * Found by the harness's invariants: two regions placed by keel,ipa at one
 * address were both mapped into a VM listing them (the second mapping hid
 * the first) and gave it two guest DT nodes of one name.
 */
static void test_shmem_regions_overlap(void **state)
{
    static const char both[] = "a\0b";

    (void)state;
    base_dt();
    add_shmem("a", 0x10000);
    set_u64("/chosen/a", "keel,ipa", 0x0c000000);
    add_shmem("b", 0x10000);
    set_u64("/chosen/b", "keel,ipa", 0x0c00f000);
    add_vm("vm0", 0x7e000000);
    set_strings("/chosen/vm0", "keel,shmem", both, sizeof(both));
    assert_int_equal(boot(), 0);
    assert_logged("keel,shmem lists regions whose keel,ipa overlap");
    set_u64("/chosen/b", "keel,ipa", 0x0c010000); /* back to back: fine */
    assert_int_equal(boot(), 1);
}

/*
 * Found by the harness's invariants: two devices sharing one SPI were passed
 * to two VMs; the SPI is forwarded to one VM only, so the other VM's device
 * went deaf.
 */
static void test_passthrough_spi_in_two_vms(void **state)
{
    (void)state;
    base_dt();
    add_node("/", "virtio_mmio@a000200");
    reg2(node_at("/virtio_mmio@a000200"), 0x0a000200, 0x200);
    irq_spi(node_at("/virtio_mmio@a000200"), 16); /* the line of virtio_mmio@a000000 */
    add_vm("vm1", 0x7d000000);
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    set_str("/chosen/vm1", "keel,passthrough", "/virtio_mmio@a000200");
    assert_int_equal(boot(), 1);
    assert_logged("a passed-through SPI is already forwarded to another VM");
}

/*
 * Found by the harness's invariants: a passed-through device on SPI 1 (the
 * vPL011's) or on a doorbell SPI of the VM's shared regions (80 + region)
 * was accepted; the device's forwarded interrupt and the virtual one would
 * share an INTID.
 */
/*
 * A device behind a bus whose ranges move it (the Pi's /soc: 0x7e000000 on
 * the bus is 0xfe000000 for the CPU) would be copied into the guest DT with
 * the bus address: refused until Keel rewrites the copied reg.
 */
static void test_passthrough_behind_translating_bus(void **state)
{
    fdt32_t ranges[] = { cpu_to_fdt32(0), cpu_to_fdt32(0x7e000000), cpu_to_fdt32(0),
                         cpu_to_fdt32(0xfe000000), cpu_to_fdt32(0), cpu_to_fdt32(0x1800000) };

    (void)state;
    base_dt();
    add_node("/", "soc");
    assert_int_equal(fdt_setprop(dtb, node_at("/soc"), "ranges", ranges, sizeof(ranges)), 0);
    set_u32("/soc", "#address-cells", 2);
    set_u32("/soc", "#size-cells", 2);
    add_node("/soc", "serial@7e201000");
    reg2(node_at("/soc/serial@7e201000"), 0x7e201000, 0x200);
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,passthrough", "/soc/serial@7e201000");
    assert_int_equal(boot(), 0);
    assert_logged("sits behind a bus that translates addresses");
}

static void test_passthrough_spi_is_virtual(void **state)
{
    (void)state;
    base_dt();
    irq_spi(node_at("/virtio_mmio@a000000"), 1);
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    assert_int_equal(fdt_setprop(dtb, node_at("/chosen/vm0"), "keel,console", NULL, 0), 0);
    assert_int_equal(boot(), 0);
    assert_logged("a passed-through SPI is the one of the VM's virtual UART");
    assert_int_equal(fdt_delprop(dtb, node_at("/chosen/vm0"), "keel,console"), 0);
    assert_int_equal(boot(), 1); /* no vPL011, no clash */

    base_dt();
    irq_spi(node_at("/virtio_mmio@a000000"), 80); /* INTID 112: region 0's doorbell */
    add_shmem("ring", 0x10000);
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    set_str("/chosen/vm0", "keel,shmem", "ring");
    assert_int_equal(boot(), 0);
    assert_logged("doorbell line is a passed-through device's");
}

/* A keel,disk-slice child of VM @vm: sectors [first, first + count). */
static void add_slice(const char *vm, const char *name, u64 first, u64 count, bool ro)
{
    char parent[64], path[96];
    fdt32_t c[4] = { cpu_to_fdt32(first >> 32), cpu_to_fdt32((u32)first),
                     cpu_to_fdt32(count >> 32), cpu_to_fdt32((u32)count) };

    snprintf(parent, sizeof(parent), "/chosen/%s", vm);
    snprintf(path, sizeof(path), "%s/%s", parent, name);
    add_node(parent, name);
    set_str(path, "compatible", "keel,disk-slice");
    assert_int_equal(fdt_setprop(dtb, node_at(path), "keel,sectors", c, sizeof(c)), 0);
    if (ro)
        assert_int_equal(fdt_setprop(dtb, node_at(path), "keel,read-only", NULL, 0), 0);
}

static void assert_slice(const struct vm_disk_cfg *d, u64 first, u64 sectors, bool ro,
                         unsigned int slot)
{
    assert_true(d->slice);
    assert_int_equal(d->first, first);
    assert_int_equal(d->sectors, sectors);
    assert_int_equal(d->read_only, ro);
    assert_int_equal(d->slot, slot);
    assert_int_equal(d->image.size, 0);
}

/* Slices of one host disk: each a disk of its VM, in the children's order, slots from the top. */
static void test_disk_slices(void **state)
{
    (void)state;
    base_dt();
    host_disk_sectors = 131072;
    /* libfdt adds a node as its parent's first child: the last added is parsed first */
    add_vm("vm1", 0x7d000000);
    add_slice("vm1", "s0", 65536, 65536, false); /* up to the last sector */
    add_vm("vm0", 0x7e000000);
    add_slice("vm0", "s1", 32768, 16384, false);
    add_slice("vm0", "s0", 0, 32768, true);
    assert_int_equal(boot(), 2);
    assert_int_equal(vms[0]->cfg.nr_disks, 2);
    assert_slice(&vms[0]->cfg.disks[0], 0, 32768, true, GUEST_VIRTIO_COUNT - 1);
    assert_slice(&vms[0]->cfg.disks[1], 32768, 16384, false, GUEST_VIRTIO_COUNT - 2);
    assert_int_equal(vms[1]->cfg.nr_disks, 1);
    assert_slice(&vms[1]->cfg.disks[0], 65536, 65536, false, GUEST_VIRTIO_COUNT - 1);
}

/* What a slice may not be; the VM is refused with the reason, the others boot. */
static void test_disk_slice_refused(void **state)
{
    static const struct {
        u64 first, count;
        bool ro;
        const char *why;
    } bad[] = {
        { 0, 0, false, "a keel,disk-slice of 0 sectors" },
        { 131072, 1, false, "its keel,disk-slice (first sector 131072, 1 sectors) goes past "
                            "the end of the host disk (131072 sectors)" },
        { 131000, 73, false, "goes past the end of the host disk" },
        { 1, ~0ULL, false, "goes past the end of the host disk" },  /* first + count wraps */
        { 40000, 100, false, "its keel,disk-slice (sectors 40000-40099) overlaps vm vm0's "
                             "(sectors 32768-49151) on the host disk" },
        { 49151, 1, true, "overlaps vm vm0's (sectors 32768-49151)" }, /* read-only too */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        base_dt();
        host_disk_sectors = 131072;
        add_vm("vm1", 0x7d000000); /* parsed second */
        add_slice("vm1", "s0", bad[i].first, bad[i].count, bad[i].ro);
        add_vm("vm0", 0x7e000000);
        add_slice("vm0", "s0", 32768, 16384, false);
        assert_int_equal(boot(), 1);
        assert_string_equal(vms[0]->cfg.name, "vm0");
        assert_logged(bad[i].why);
    }
}

static void test_disk_slice_config_errors(void **state)
{
    (void)state;
    /* no host disk */
    base_dt();
    add_vm("vm0", 0x7e000000);
    add_slice("vm0", "s0", 0, 8, false);
    assert_int_equal(boot(), 0);
    assert_logged("a keel,disk-slice, but Keel drives no host disk");
    /* keel,sectors missing or of another size */
    base_dt();
    host_disk_sectors = 1024;
    add_vm("vm0", 0x7e000000);
    add_slice("vm0", "s0", 0, 8, false);
    set_u64("/chosen/vm0/s0", "keel,sectors", 8);
    assert_int_equal(boot(), 0);
    assert_logged("a keel,disk-slice needs keel,sectors = <first_hi first_lo count_hi count_lo>");
    /* two slices of one VM overlap */
    base_dt();
    host_disk_sectors = 1024;
    add_vm("vm0", 0x7e000000);
    add_slice("vm0", "s1", 99, 100, true);
    add_slice("vm0", "s0", 0, 100, true);
    assert_int_equal(boot(), 0);
    assert_logged("two of its keel,disk-slice nodes overlap (sectors 0-99 and 99-198)");
    /* a read-only host disk takes read-only slices only */
    base_dt();
    host_disk_sectors = 1024;
    host_disk_ro = true;
    add_vm("vm1", 0x7d000000);
    add_slice("vm1", "s0", 100, 100, true);
    add_vm("vm0", 0x7e000000);
    add_slice("vm0", "s0", 0, 100, false);
    assert_int_equal(boot(), 1);
    assert_string_equal(vms[0]->cfg.name, "vm1");
    assert_logged("a writable keel,disk-slice on a read-only host disk");
    /* at most 4 disks */
    base_dt();
    host_disk_sectors = 1024;
    add_vm("vm0", 0x7e000000);
    for (unsigned int i = 0; i < 5; i++) {
        char name[8] = "s0";
        name[1] = (char)('0' + i);
        add_slice("vm0", name, i * 10, 10, false);
    }
    assert_int_equal(boot(), 0);
    assert_logged("more disks (keel,disk modules and keel,disk-slice nodes) than a VM may have");
}

/* The transport /chosen/keel,host-disk names is Keel's: by path or by alias, no VM gets it. */
static void test_passthrough_of_host_disk(void **state)
{
    (void)state;
    base_dt();
    set_str("/chosen", "keel,host-disk", "/virtio_mmio@a000000");
    add_vm("vm0", 0x7e000000);
    set_str("/chosen/vm0", "keel,passthrough", "dev0");
    assert_int_equal(boot(), 0);
    assert_logged("a passed-through device is the host disk Keel drives itself");
    set_str("/chosen", "keel,host-disk", "dev0"); /* an alias names it just as well */
    set_str("/chosen/vm0", "keel,passthrough", "/virtio_mmio@a000000");
    assert_int_equal(boot(), 0);
    assert_logged("a passed-through device is the host disk Keel drives itself");
    set_str("/chosen", "keel,host-disk", "/pl011@9000000"); /* another device: no clash */
    assert_int_equal(boot(), 1);
}

/* keel,priority and keel,time-slice-us when a VM gives neither. */
static void test_sched_defaults(void **state)
{
    (void)state;
    base_dt();
    add_vm("vm0", 0x7e000000);
    assert_int_equal(boot(), 1);
    assert_int_equal(vms[0]->cfg.priority, 128);
    assert_int_equal(vms[0]->cfg.slice_us, 10000);
}

/* Each value given once to one VM: accepted as given, or the VM refused with the reason. */
static void test_sched_ranges(void **state)
{
    static const struct {
        const char *prop;
        u64 value;
        const char *why; /* NULL: accepted */
    } cases[] = {
        { "keel,priority", 0, NULL },
        { "keel,priority", 255, NULL },
        { "keel,priority", 256, "keel,priority must be 0..255" },
        { "keel,priority", 0x100000000ULL, "keel,priority must be 0..255" }, /* <1 0>, not 0 */
        { "keel,time-slice-us", 100, NULL },
        { "keel,time-slice-us", 1000000, NULL },
        { "keel,time-slice-us", 99, "keel,time-slice-us must be 100..1000000" },
        { "keel,time-slice-us", 0, "keel,time-slice-us must be 100..1000000" },
        { "keel,time-slice-us", 1000001, "keel,time-slice-us must be 100..1000000" },
        { "keel,time-slice-us", 0x100002710ULL, "keel,time-slice-us must be 100..1000000" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        base_dt();
        add_vm("vm0", 0x7e000000);
        if (cases[i].value >> 32)
            set_u64("/chosen/vm0", cases[i].prop, cases[i].value);
        else
            set_u32("/chosen/vm0", cases[i].prop, (u32)cases[i].value);
        if (cases[i].why) {
            assert_int_equal(boot(), 0);
            assert_logged(cases[i].why);
            continue;
        }
        assert_int_equal(boot(), 1);
        if (!strcmp(cases[i].prop, "keel,priority"))
            assert_int_equal(vms[0]->cfg.priority, cases[i].value);
        else
            assert_int_equal(vms[0]->cfg.slice_us, cases[i].value);
    }
}

static void assert_placed(const struct vm_config *c, const u8 *want, unsigned int n)
{
    assert_int_equal(c->nr_vcpus, n);
    for (unsigned int i = 0; i < n; i++)
        if (c->vcpu_cpu[i] != want[i])
            fail_msg("%s: vCPU %u on core %u, expected %u", c->name, i, c->vcpu_cpu[i], want[i]);
}

/* vm_place_vcpus() alone: the least loaded core of the mask, counting this VM's earlier vCPUs. */
static void test_place_least_loaded(void **state)
{
    static const struct {
        u64 affinity;
        unsigned int nr_vcpus;
        u8 load[PLAT_MAX_CPUS];
        u8 want[VM_MAX_VCPUS];
    } cases[] = {
        { 0xf, 3, { 0, 2, 1, 0 }, { 0, 3, 0 } },       /* 0 and 3 idle: the lower first */
        { 0xa, 3, { 0 }, { 1, 3, 1 } },                 /* ties go to the lowest core */
        { 0x6, 2, { 0, 5, 5 }, { 1, 2 } },              /* core 0 is idle but not in the mask */
        { 0x1, 4, { 3 }, { 0, 0, 0, 0 } },              /* one core: all of them there */
        { 0x80, 1, { [7] = 200 }, { 7 } },              /* the top core */
        { 0xff, 8, { 1, 1, 1, 1, 0, 0, 0, 0 }, { 4, 5, 6, 7, 0, 1, 2, 3 } },
    };
    struct vm_config c;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&c, 0, sizeof(c));
        c.affinity = cases[i].affinity;
        c.nr_vcpus = cases[i].nr_vcpus;
        vm_place_vcpus(&c, cases[i].load);
        assert_placed(&c, cases[i].want, cases[i].nr_vcpus);
        assert_int_equal(c.affinity, cases[i].affinity); /* the mask is kept whole */
    }
}

/* Through vms_boot(): the load of the VMs created before counts; the masks are kept whole. */
static void test_place_after_earlier_vms(void **state)
{
    (void)state;
    base_dt();
    add_vm("vm1", 0x7d000000); /* parsed second */
    set_u32("/chosen/vm1", "cpus", 3);
    set_u32("/chosen/vm1", "keel,cpu-affinity", 0x7);
    add_vm("vm0", 0x7e000000);
    set_u32("/chosen/vm0", "cpus", 2);
    assert_int_equal(boot(), 2);
    assert_int_equal(vms[0]->cfg.affinity, 0x3);
    assert_placed(&vms[0]->cfg, (const u8[]){ 0, 1 }, 2);
    assert_int_equal(vms[1]->cfg.affinity, 0x7);
    assert_placed(&vms[1]->cfg, (const u8[]){ 2, 0, 1 }, 3);
}

/* More vCPUs than cores in the mask, and masks of two VMs that overlap: both accepted. */
static void test_shared_cores_accepted(void **state)
{
    (void)state;
    base_dt();
    add_vm("vm0", 0x7e000000);
    set_u32("/chosen/vm0", "cpus", 4);
    set_u32("/chosen/vm0", "keel,cpu-affinity", 0x3);
    assert_int_equal(boot(), 1);
    assert_int_equal(vms[0]->cfg.affinity, 0x3);
    assert_placed(&vms[0]->cfg, (const u8[]){ 0, 1, 0, 1 }, 4);

    base_dt();
    add_vm("vm1", 0x7d000000);
    set_u32("/chosen/vm1", "keel,cpu-affinity", 0x1);
    add_vm("vm0", 0x7e000000);
    set_u32("/chosen/vm0", "keel,cpu-affinity", 0x1);
    assert_int_equal(boot(), 2);
    assert_placed(&vms[0]->cfg, (const u8[]){ 0 }, 1);
    assert_placed(&vms[1]->cfg, (const u8[]){ 0 }, 1);
}

/* No keel,cpu-affinity: idle cores while there are enough, else every core. */
static void test_default_affinity(void **state)
{
    (void)state;
    base_dt();
    add_vm("vm1", 0x7d000000);
    set_u32("/chosen/vm1", "cpus", 2);
    add_vm("vm0", 0x7e000000);
    set_u32("/chosen/vm0", "keel,cpu-affinity", 0x2);
    assert_int_equal(boot(), 2);
    assert_int_equal(vms[1]->cfg.affinity, 0x5); /* the lowest idle ones, around vm0's */
    assert_placed(&vms[1]->cfg, (const u8[]){ 0, 2 }, 2);

    base_dt();
    add_vm("vm1", 0x7d000000);
    set_u32("/chosen/vm1", "cpus", 2);
    add_vm("vm0", 0x7e000000);
    set_u32("/chosen/vm0", "cpus", 3);
    assert_int_equal(boot(), 2);
    assert_int_equal(vms[0]->cfg.affinity, 0x7);
    assert_int_equal(vms[1]->cfg.affinity, 0xf); /* one idle core for two vCPUs */
    assert_placed(&vms[1]->cfg, (const u8[]){ 3, 0 }, 2);
}

static void test_affinity_refused(void **state)
{
    static const struct { u32 mask; const char *why; } bad[] = {
        { 0x0, "keel,cpu-affinity is empty" },
        { 0x10, "keel,cpu-affinity names CPUs this machine does not have" },
        { 0x11, "keel,cpu-affinity names CPUs this machine does not have" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        base_dt();
        add_vm("vm0", 0x7e000000);
        set_u32("/chosen/vm0", "keel,cpu-affinity", bad[i].mask);
        assert_int_equal(boot(), 0);
        assert_logged(bad[i].why);
    }
}

/* Where the architecture runs one vCPU per core, a placement that shares one is refused. */
static void test_no_sharing_architecture(void **state)
{
    static const struct {
        u32 cpus, mask; /* vm1's; mask 0: none given */
        bool ok;
    } cases[] = {
        { 1, 0x1, false },  /* core 0 is vm0's */
        { 2, 0x2, false },  /* two of its own vCPUs on core 1 */
        { 4, 0, false },    /* three idle cores for four vCPUs: the default is all four */
        { 2, 0x6, true },
        { 1, 0x3, true },   /* core 1 is the least loaded */
        { 3, 0, true },     /* the three idle ones */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        base_dt();
        fake_vcpu_can_share = false;
        add_vm("vm1", 0x7d000000);
        set_u32("/chosen/vm1", "cpus", cases[i].cpus);
        if (cases[i].mask)
            set_u32("/chosen/vm1", "keel,cpu-affinity", cases[i].mask);
        add_vm("vm0", 0x7e000000); /* core 0 */
        assert_int_equal(boot(), cases[i].ok ? 2 : 1);
        assert_string_equal(vms[0]->cfg.name, "vm0");
        if (!cases[i].ok)
            assert_logged("its vCPUs would share a core, but on this architecture (RISC-V "
                          "today) Keel runs one vCPU per core");
        else
            for (unsigned int v = 0; v < cases[i].cpus; v++)
                assert_int_not_equal(vms[1]->cfg.vcpu_cpu[v], 0);
    }
    fake_vcpu_can_share = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_shmem_size_above_1g),
        cmocka_unit_test(test_passthrough_alias_is_same_device),
        cmocka_unit_test(test_passthrough_reg_outside_ipa_space),
        cmocka_unit_test(test_shmem_ipa_wraps),
        cmocka_unit_test(test_ram_end_wraps),
        cmocka_unit_test(test_passthrough_spi_wraps),
        cmocka_unit_test(test_passthrough_behind_translating_bus),
        cmocka_unit_test(test_shmem_listed_twice),
        cmocka_unit_test(test_empty_name),
cmocka_unit_test(test_cpus_two_cells),
        cmocka_unit_test(test_passthrough_inside_vm_ram),
        cmocka_unit_test(test_shmem_regions_overlap),
        cmocka_unit_test(test_passthrough_spi_in_two_vms),
        cmocka_unit_test(test_passthrough_spi_is_virtual),
        cmocka_unit_test(test_disk_slices),
        cmocka_unit_test(test_disk_slice_refused),
        cmocka_unit_test(test_disk_slice_config_errors),
        cmocka_unit_test(test_passthrough_of_host_disk),
        cmocka_unit_test(test_sched_defaults),
        cmocka_unit_test(test_sched_ranges),
        cmocka_unit_test(test_place_least_loaded),
        cmocka_unit_test(test_place_after_earlier_vms),
        cmocka_unit_test(test_shared_cores_accepted),
        cmocka_unit_test(test_default_affinity),
        cmocka_unit_test(test_affinity_refused),
        cmocka_unit_test(test_no_sharing_architecture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
