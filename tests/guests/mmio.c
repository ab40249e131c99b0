/*
 * mmio: the VM's memory map from inside.
 *  - loads and stores (8 to 64 bits, and pairs) outside the VM's map take a
 *    synchronous external abort into the guest: ESR EC 0x25 (data abort,
 *    same EL), IL, WnR as the access, DFSC 0x10; FAR the address; ELR the
 *    instruction. Probed: below and around the devices, past the last
 *    redistributor frame (GICv3) or the CPU interface (GICv2), the board's
 *    GIC frames the VM does not get, past the UART page, past RAM, high IPAs.
 *  - an instruction fetch outside RAM: EC 0x21, IFSC 0x10
 *  - accesses an emulated device cannot take (a byte access to GICD_CTLR,
 *    a load pair) abort the same way
 *  - the virtio-mmio slots of QEMU's virt board (0x0a000000 + 0x200 n, 32)
 *    are there in a VM without virtio devices, every one empty (virtio 1.2
 *    4.2.2): MagicValue "virt", Version 2, DeviceID 0, writes ignored, the
 *    transport's access rules; past the 32nd slot nothing
 *  - unaligned loads and stores to RAM work (SCTLR_EL1.A = 0, Normal memory)
 *  - exclusives (LDXR/STXR and friends, CLREX) and, where present, LSE
 *    atomics on RAM, on one vCPU and across all of them
 */
#include "libguest.h"

#define VIRTIO_SLOT(n) (0x0a000000UL + 0x200UL * (n))
#define VIRTIO_MAGIC 0x74726976 /* "virt" */

static bool check_abort(const char *what, u64 addr, bool write, bool taken, const struct fault *f,
                        u64 pc)
{
    u64 esr = f->esr;
    bool ok = taken && ESR_EC(esr) == EC_DABT_CUR && (esr & ESR_IL) && ESR_FSC(esr) == FSC_SEA &&
              !!(esr & ESR_DABT_WNR) == write && f->far == addr && (!pc || f->elr == pc);

    return report(ok, "%s %#lx: abort EC %#lx DFSC %#lx WnR %lu FAR %#lx%s", what, addr, ESR_EC(esr),
                  ESR_FSC(esr), (esr & ESR_DABT_WNR) ? 1UL : 0UL, f->far,
                  !taken ? " (no abort taken)" : (pc && f->elr != pc) ? " (ELR wrong)" : "");
}

/* A load or store of @size bytes at @addr; the instruction's address in *pc. */
static void access(u64 addr, unsigned int size, bool write, u64 *pc)
{
    u64 v = 0x1122334455667788UL, at;

    switch (size * 2 + write) {
    case 2: __asm__ volatile("adr %0, 1f\n1: ldrb %w1, [%2]" : "=&r"(at), "+r"(v) : "r"(addr) : "memory"); break;
    case 3: __asm__ volatile("adr %0, 1f\n1: strb %w1, [%2]" : "=&r"(at) : "r"(v), "r"(addr) : "memory"); break;
    case 4: __asm__ volatile("adr %0, 1f\n1: ldrh %w1, [%2]" : "=&r"(at), "+r"(v) : "r"(addr) : "memory"); break;
    case 5: __asm__ volatile("adr %0, 1f\n1: strh %w1, [%2]" : "=&r"(at) : "r"(v), "r"(addr) : "memory"); break;
    case 8: __asm__ volatile("adr %0, 1f\n1: ldr %w1, [%2]" : "=&r"(at), "+r"(v) : "r"(addr) : "memory"); break;
    case 9: __asm__ volatile("adr %0, 1f\n1: str %w1, [%2]" : "=&r"(at) : "r"(v), "r"(addr) : "memory"); break;
    case 16: __asm__ volatile("adr %0, 1f\n1: ldr %1, [%2]" : "=&r"(at), "+r"(v) : "r"(addr) : "memory"); break;
    default: __asm__ volatile("adr %0, 1f\n1: str %1, [%2]" : "=&r"(at) : "r"(v), "r"(addr) : "memory"); break;
    }
    *pc = at;
}

static void probe(const char *what, u64 addr)
{
    static const unsigned int sizes[] = { 1, 2, 4, 8 };
    struct fault f;
    u64 pc;
    bool t;

    for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
        for (int w = 0; w <= 1; w++) {
            char buf[64];
            u64 a = addr & ~(u64)(sizes[i] - 1);

            fault_expect();
            access(a, sizes[i], w, &pc);
            t = fault_taken(&f);
            snprintf(buf, sizeof(buf), "%s: %u-bit %s", what, sizes[i] * 8, w ? "store" : "load");
            check_abort(buf, a, w, t, &f, pc);
        }
    }
}

/* One load and one store: a sweep needs fewer lines. */
static bool probe_quiet(u64 addr)
{
    struct fault f;
    u64 pc;
    bool ok = true;

    for (int w = 0; w <= 1; w++) {
        fault_expect();
        access(addr, 4, w, &pc);
        ok &= fault_taken(&f) && ESR_EC(f.esr) == EC_DABT_CUR && ESR_FSC(f.esr) == FSC_SEA &&
              f.far == addr && f.elr == pc && !!(f.esr & ESR_DABT_WNR) == w;
    }
    return ok;
}

static bool in_vm_map(u64 a)
{
    return (a >= machine.ram_base && a < machine.ram_base + machine.ram_size) ||
           (a >= machine.gicd_base && a < machine.gicd_base + 0x10000) ||
           (a >= machine.gicr_base && a < machine.gicr_base + machine.gicr_size) ||
           (a >= machine.gicc_base && a < machine.gicc_base + machine.gicc_size) ||
           (a >= machine.uart_base && a < machine.uart_base + 0x1000);
}

/*
 * The GIC frames of QEMU's virt board the VM does not get, and the address
 * right past its own. On GICv2 the host's GICV (0x08040000) is the VM's
 * GICC: reachable there only, never at the board's address.
 */
static void probe_gic_frames(void)
{
    if (!gic_v2()) {
        probe("board GIC ITS", 0x08080000);
        probe("past the last redistributor frame", machine.gicr_base + machine.gicr_size);
        return;
    }
    report_skip("GICv2: no ITS and no redistributor frames to probe past");
    probe("board GICv2m MSI frame", 0x08020000);
    probe("board GICH (virtual interface control)", 0x08030000);
    probe("board GICV (the VM's GICC)", 0x08040000);
    probe("past the CPU interface", machine.gicc_base + machine.gicc_size);
}

static void test_outside(void)
{
    u64 ram_end = machine.ram_base + machine.ram_size;
    unsigned int bad = 0, n = 0;

    report_prefix_push("outside");
    probe("board flash (0x0)", 0x0);
    probe("past the virtio-mmio slots", VIRTIO_SLOT(32));
    probe_gic_frames();
    probe("past the UART page", machine.uart_base + 0x1000);
    probe("past RAM", ram_end);
    probe("4 GiB", 0x100000000UL);
    probe("256 GiB", 0x4000000000UL);
    probe("top of the 39-bit IPA space", 0x7ffffffff8UL);

    /* a sweep: every 128 MiB up to 8 GiB that is not the VM's own */
    for (u64 a = 0; a < 0x200000000UL; a += 0x8000000) {
        if (in_vm_map(a))
            continue;
        n++;
        if (!probe_quiet(a)) {
            bad++;
            report_info("no proper abort at %#lx", a);
        }
    }
    report(bad == 0, "sweep of %u addresses outside the map: all abort (%u did not)", n, bad);

    /* a load pair: no syndrome (ISV = 0), so not emulated: still an abort */
    {
        struct fault f;
        u64 a = 0x0a000000, x = 0, y = 0;
        fault_expect();
        __asm__ volatile("ldp %0, %1, [%2]" : "=&r"(x), "=&r"(y) : "r"(a) : "memory");
        bool t = fault_taken(&f);
        check_abort("load pair", a, false, t, &f, 0);
    }
    report_prefix_pop();
}

/* ---- QEMU virt's virtio-mmio slots, empty in a VM without virtio devices ---- */

static void check_empty_slot(unsigned int n)
{
    u64 a = VIRTIO_SLOT(n);
    u32 magic = readl(a), version = readl(a + 0x004), id = readl(a + 0x008);

    report(magic == VIRTIO_MAGIC && version == 2 && id == 0,
           "slot %u at %#lx: MagicValue %#x, Version %u, DeviceID %u", n, a, magic, version, id);
    writel(a + 0x070, 0xff); /* Status: an empty slot ignores writes */
    writel(a + 0x100, 0xffffffff);
    report(readl(a + 0x070) == 0 && readl(a + 0x100) == 0 && readb(a + 0x103) == 0,
           "slot %u: writes ignored, configuration space 0", n);
}

static void test_virtio_slots(void)
{
    struct fault f;
    u64 a = VIRTIO_SLOT(0), pc;
    bool t;

    report_prefix_push("virtio-mmio");
    check_empty_slot(0);
    check_empty_slot(16);
    check_empty_slot(31);
    /* the same access rules as a slot with a device: registers 32-bit only */
    fault_expect();
    access(a, 1, false, &pc);
    t = fault_taken(&f);
    check_abort("byte load of MagicValue", a, false, t, &f, pc);
    fault_expect();
    access(a + 0x070, 8, true, &pc);
    t = fault_taken(&f);
    check_abort("64-bit store to Status", a + 0x070, true, t, &f, pc);
    report_prefix_pop();
}

static void test_device_misuse(void)
{
    struct fault f;
    u64 a = machine.gicd_base + GICD_CTLR, pc;
    u32 ctlr = readl(a);
    bool t;

    report_prefix_push("device");
    fault_expect();
    access(a, 1, false, &pc);
    t = fault_taken(&f);
    check_abort("byte load of GICD_CTLR", a, false, t, &f, pc);
    fault_expect();
    access(a, 1, true, &pc);
    t = fault_taken(&f);
    check_abort("byte store to GICD_CTLR", a, true, t, &f, pc);
    report(readl(a) == ctlr, "GICD_CTLR unchanged by the aborted store (%#x)", ctlr);
    {
        u64 x = 0, y = 0;
        fault_expect();
        __asm__ volatile("ldp %0, %1, [%2]" : "=&r"(x), "=&r"(y) : "r"(machine.gicd_base) : "memory");
        t = fault_taken(&f);
        check_abort("load pair from the distributor (ISV = 0)", machine.gicd_base, false, t, &f, 0);
    }
    fault_expect();
    u32 v = readl(machine.gicd_base + GICD_IIDR);
    report(!fault_taken(NULL) && v != 0, "a proper 32-bit load right after works (IIDR %#x)", v);
    report_prefix_pop();
}

static void test_ifetch(void)
{
    u64 target = machine.ram_base + machine.ram_size; /* mapped executable at stage 1 only */
    struct fault f;
    bool t;

    report_prefix_push("ifetch");
    fault_expect();
    __asm__ volatile("blr %0" :: "r"(target) : "x30", "memory");
    t = fault_taken(&f);
    report(t && ESR_EC(f.esr) == EC_IABT_CUR && ESR_FSC(f.esr) == FSC_SEA && f.far == target &&
               f.elr == target,
           "branch past RAM (%#lx): instruction abort EC %#lx IFSC %#lx FAR %#lx ELR %#lx", target,
           ESR_EC(f.esr), ESR_FSC(f.esr), f.far, f.elr);
    report_prefix_pop();
}

/* ---- RAM: unaligned accesses ---- */
static u8 buf[3 * 4096] __aligned(4096);

static u64 bytes_le(const volatile u8 *p, unsigned int n)
{
    u64 v = 0;

    for (unsigned int i = n; i--;)
        v = v << 8 | p[i];
    return v;
}

static void test_unaligned(void)
{
    volatile u8 *b = buf;
    bool ok = true;
    struct fault f;

    report_prefix_push("unaligned");
    for (unsigned int i = 0; i < sizeof(buf); i++)
        b[i] = (u8)(i * 7 + 3);
    fault_expect();
    for (unsigned int off = 1; off < 16; off++) {
        u64 a = (u64)buf + 4096 - 8 + off; /* crosses into the next page for large offsets */
        u16 h;
        u32 w;
        u64 d;
        __asm__ volatile("ldrh %w0, [%1]" : "=r"(h) : "r"(a) : "memory");
        __asm__ volatile("ldr %w0, [%1]" : "=r"(w) : "r"(a) : "memory");
        __asm__ volatile("ldr %0, [%1]" : "=r"(d) : "r"(a) : "memory");
        ok &= h == bytes_le((u8 *)a, 2) && w == bytes_le((u8 *)a, 4) && d == bytes_le((u8 *)a, 8);
    }
    report(!fault_taken(&f) && ok, "unaligned 16/32/64-bit loads, across a page boundary too");

    fault_expect();
    ok = true;
    for (unsigned int off = 1; off < 16; off += 2) {
        u64 a = (u64)buf + 2 * 4096 - 4 + off;
        u64 v = 0x0123456789abcdefUL ^ off;
        __asm__ volatile("str %0, [%1]" :: "r"(v), "r"(a) : "memory");
        ok &= bytes_le((u8 *)a, 8) == v;
        __asm__ volatile("str %w0, [%1, #8]" :: "r"((u32)v), "r"(a) : "memory");
        ok &= bytes_le((u8 *)a + 8, 4) == (u32)v;
        __asm__ volatile("strh %w0, [%1, #12]" :: "r"((u16)v), "r"(a) : "memory");
        ok &= bytes_le((u8 *)a + 12, 2) == (u16)v;
    }
    report(!fault_taken(&f) && ok, "unaligned 16/32/64-bit stores, across a page boundary too");

    fault_expect();
    {
        u64 a = (u64)buf + 4096 - 5, x, y;
        __asm__ volatile("ldp %0, %1, [%2]" : "=&r"(x), "=&r"(y) : "r"(a) : "memory");
        ok = x == bytes_le((u8 *)a, 8) && y == bytes_le((u8 *)a + 8, 8);
        __asm__ volatile("stp %0, %1, [%2]" :: "r"(y), "r"(x), "r"(a + 4096) : "memory");
        ok &= bytes_le((u8 *)a + 4096, 8) == y && bytes_le((u8 *)a + 4104, 8) == x;
    }
    report(!fault_taken(&f) && ok, "unaligned load/store pair across a page boundary");
    report_prefix_pop();
}

/* ---- exclusives ---- */
static u64 excl_word __aligned(16);
static u64 excl_pair[2] __aligned(16);
static u8 excl_byte;

static u32 ldxr_stxr_add(u64 *p, u64 n)
{
    u64 v;
    u32 fails = 0, st;

    for (u64 i = 0; i < n; i++) {
        do {
            __asm__ volatile("ldxr %0, [%2]\n add %0, %0, #1\n stxr %w1, %0, [%2]"
                             : "=&r"(v), "=&r"(st) : "r"(p) : "memory");
            fails += st;
        } while (st);
    }
    return fails;
}

static void test_exclusive(void)
{
    u64 v;
    u32 st;
    struct fault f;

    report_prefix_push("exclusive");
    fault_expect();
    excl_word = 0;
    ldxr_stxr_add(&excl_word, 1000);
    report(excl_word == 1000, "LDXR/STXR increment 1000 times: %lu", excl_word);

    __asm__ volatile("ldxr %0, [%2]\n clrex\n stxr %w1, %0, [%2]" : "=&r"(v), "=&r"(st)
                     : "r"(&excl_word) : "memory");
    report(st == 1 && excl_word == 1000, "STXR after CLREX fails (status %u)", st);

    __asm__ volatile("ldaxr %0, [%2]\n add %0, %0, #5\n stlxr %w1, %0, [%2]" : "=&r"(v), "=&r"(st)
                     : "r"(&excl_word) : "memory");
    report(st == 0 && excl_word == 1005, "LDAXR/STLXR (status %u, value %lu)", st, excl_word);

    excl_pair[0] = 1;
    excl_pair[1] = 2;
    {
        u64 a, b;
        __asm__ volatile("ldxp %0, %1, [%3]\n stxp %w2, %1, %0, [%3]"
                         : "=&r"(a), "=&r"(b), "=&r"(st) : "r"(excl_pair) : "memory");
    }
    report(st == 0 && excl_pair[0] == 2 && excl_pair[1] == 1, "LDXP/STXP swap a pair (status %u)", st);

    excl_byte = 0xfe;
    {
        u32 b;
        __asm__ volatile("ldxrb %w0, [%2]\n add %w0, %w0, #1\n stxrb %w1, %w0, [%2]"
                         : "=&r"(b), "=&r"(st) : "r"(&excl_byte) : "memory");
    }
    report(st == 0 && excl_byte == 0xff, "LDXRB/STXRB (status %u, value %#x)", st, excl_byte);

    /* an exit to Keel between LDXR and STXR may clear the monitor: retried, never wrong */
    {
        u32 tries = 0;
        do {
            __asm__ volatile("ldxr %0, [%1]" : "=&r"(v) : "r"(&excl_word) : "memory");
            psci_call(PSCI_VERSION, 0, 0, 0);
            __asm__ volatile("add %0, %0, #1\n stxr %w1, %0, [%2]" : "+&r"(v), "=&r"(st)
                             : "r"(&excl_word) : "memory");
            tries++;
        } while (st && tries < 100);
        report(excl_word == 1006 || (st && excl_word == 1005),
               "LDXR, hypercall, STXR: the store succeeds or fails cleanly (status %u, %u tries)", st,
               tries);
    }
    report(!fault_taken(&f), "no exception from any exclusive access");

    if (FIELD_GET(read_sysreg(id_aa64isar0_el1), 23, 20) >= 2) {
        u64 old, cmp = 7;
        excl_word = 7;
        __asm__ volatile(".arch_extension lse\n ldadd %2, %0, [%1]" : "=&r"(old)
                         : "r"(&excl_word), "r"(3UL) : "memory");
        report(old == 7 && excl_word == 10, "LSE LDADD (old %lu, new %lu)", old, excl_word);
        __asm__ volatile(".arch_extension lse\n cas %0, %2, [%1]" : "+&r"(cmp)
                         : "r"(&excl_word), "r"(42UL) : "memory");
        report(cmp == 10 && excl_word == 10, "LSE CAS with a wrong expected value fails");
        cmp = 10;
        __asm__ volatile(".arch_extension lse\n casal %0, %2, [%1]" : "+&r"(cmp)
                         : "r"(&excl_word), "r"(42UL) : "memory");
        report(cmp == 10 && excl_word == 42, "LSE CASAL with the right one succeeds");
    } else {
        report_skip("no LSE atomics (ID_AA64ISAR0_EL1.Atomic < 2)");
    }
    report_prefix_pop();
}

/* all vCPUs hammer one word with LDXR/STXR */
#define SMP_ITERS 20000
static u64 smp_counter __aligned(64);
static volatile u32 smp_fails[MAX_CPUS];

static void smp_add(void *arg)
{
    smp_fails[smp_id()] = ldxr_stxr_add(&smp_counter, SMP_ITERS);
}

static void test_exclusive_smp(void)
{
    unsigned int n = machine.nr_cpus;
    u64 fails = 0;

    smp_boot_all();
    smp_counter = 0;
    on_cpus(smp_add, NULL);
    for (unsigned int c = 0; c < n; c++)
        fails += smp_fails[c];
    report(smp_counter == (u64)SMP_ITERS * n,
           "exclusive: %u vCPUs x %u LDXR/STXR increments = %lu (%lu STXR retries)", n, SMP_ITERS,
           smp_counter, fails);
}

void guest_main(void)
{
    report_prefix_push("mmio");
    report_info("%u vCPU(s), RAM %#lx-%#lx", machine.nr_cpus, machine.ram_base,
                machine.ram_base + machine.ram_size - 1);
    test_outside();
    test_device_misuse();
    test_virtio_slots();
    test_ifetch();
    test_unaligned();
    test_exclusive();
    test_exclusive_smp();
    report_prefix_pop();
}
