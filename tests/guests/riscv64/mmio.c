/*
 * mmio: the machine's physical address map from inside (satp = 0).
 *  - loads and stores of 1, 2, 4 and 8 bytes where nothing is (QEMU virt's
 *    unused slots, past the UART's and the PLIC's registers, past RAM,
 *    4 GiB, 16 GiB, the top of the 39-bit space, 2^40, and a sweep every
 *    256 MiB up to 8 GiB): load access fault (scause 5) or store/AMO access
 *    fault (7), stval the address, sepc the instruction, a load's
 *    destination unchanged; the same with compressed C.LW/C.LD/C.SW/C.SD
 *    (the handler skips 2 bytes there, 4 elsewhere: the low bits say)
 *  - a fetch from nothing: instruction access fault (1), stval and sepc the
 *    address
 *  - misaligned loads and stores in RAM (also across a page): the right
 *    value, or address-misaligned (4/6) with stval (both allowed);
 *    misaligned AMO and LR/SC: misaligned or access fault (unless Zam)
 *  - compressed and uncompressed loads and stores to RAM; byte accesses to
 *    the UART: LSR shows THRE, SCR keeps what is written, LB sign-extends
 * Every candidate that the DT says something is at (a reg, a bus window,
 * PCI ranges) is left out with a SKIP: natively QEMU has devices where
 * Keel's VMs have none.
 */
#include "libguest.h"

#define MAGIC 0x1122334455667788UL

/* ---- what the DT claims ---- */
static bool overlaps(u64 a, u64 len, u64 base, u64 size)
{
    return size && a < base + size && base < a + len;
}

/* A bus's ranges: (child address, parent address, size) per entry. */
static bool in_ranges(int node, u64 a, u64 len)
{
    int plen, ca = (int)dt_u32(node, "#address-cells", 2), sc = (int)dt_u32(node, "#size-cells", 1);
    int pa = (int)dt_u32(dt_parent(node), "#address-cells", 2), entry = 4 * (ca + pa + sc);
    const u8 *p = dt_prop(node, "ranges", &plen);

    for (int off = 0; p && entry > 0 && off + entry <= plen; off += entry)
        if (overlaps(a, len, dt_cells(p + off + 4 * ca, pa), dt_cells(p + off + 4 * (ca + pa), sc)))
            return true;
    return false;
}

/* Whether a reg or a bus window in the DT covers [a, a + len); *by names the node. */
static bool dt_claims(u64 a, u64 len, const char **by)
{
    int depth;

    for (int n = dt_next_node(-1, &depth); n >= 0; n = dt_next_node(n, &depth)) {
        int parent = dt_parent(n), rlen = -1;
        u64 base, size;
        /* a reg means addresses only where the parent maps its children one to one */
        bool flat = parent == 0 || (dt_prop(parent, "ranges", &rlen) && rlen == 0);

        *by = dt_name(n);
        if (parent >= 0 && flat && dt_u32(parent, "#size-cells", 1) > 0)
            for (int i = 0; dt_reg(n, i, &base, &size); i++)
                if (overlaps(a, len, base, size))
                    return true;
        if (in_ranges(n, a, len))
            return true;
    }
    return false;
}

/* ---- one access, its instruction's address in *pc ---- */
#define ACCESS(insn, out, in)                                                                     \
    __asm__ volatile(".option push\n.option norvc\nlla %0, 1f\n1: " insn "\n.option pop"          \
                     : "=&r"(at), out : in : "memory")

static void access(u64 addr, unsigned int size, bool store, unsigned long *v, unsigned long *pc)
{
    unsigned long at, val = *v;

    switch (size * 2 + store) {
    case 2: ACCESS("lb %1, 0(%2)", "+r"(val), "r"(addr)); break;
    case 3: ACCESS("sb %1, 0(%2)", "+r"(val), "r"(addr)); break;
    case 4: ACCESS("lh %1, 0(%2)", "+r"(val), "r"(addr)); break;
    case 5: ACCESS("sh %1, 0(%2)", "+r"(val), "r"(addr)); break;
    case 8: ACCESS("lw %1, 0(%2)", "+r"(val), "r"(addr)); break;
    case 9: ACCESS("sw %1, 0(%2)", "+r"(val), "r"(addr)); break;
    case 16: ACCESS("ld %1, 0(%2)", "+r"(val), "r"(addr)); break;
    default: ACCESS("sd %1, 0(%2)", "+r"(val), "r"(addr)); break;
    }
    *v = val;
    *pc = at;
}

/* C.LW/C.LD/C.SW/C.SD: both registers among x8-x15 (a0, a1 here). */
static void access_c(u64 addr, unsigned int size, bool store, unsigned long *v, unsigned long *pc)
{
    register unsigned long a __asm__("a0") = addr, val __asm__("a1") = *v;
    unsigned long at;

#define ACCESS_C(insn) __asm__ volatile(".option push\n.option rvc\nlla %0, 1f\n1: " insn "\n.option pop" \
                                         : "=&r"(at), "+r"(val) : "r"(a) : "memory")
    if (size == 4 && !store)
        ACCESS_C("c.lw %1, 0(%2)");
    else if (size == 4)
        ACCESS_C("c.sw %1, 0(%2)");
    else if (!store)
        ACCESS_C("c.ld %1, 0(%2)");
    else
        ACCESS_C("c.sd %1, 0(%2)");
#undef ACCESS_C
    *v = val;
    *pc = at;
}

/* ---- accesses to nothing ---- */
/* One access to @addr, which must fault; what went wrong goes to an INFO line. */
static bool faults_right(u64 addr, unsigned int size, bool store, bool compressed)
{
    unsigned long v = MAGIC, pc, want = store ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS;
    struct fault f;
    bool taken;

    fault_expect();
    if (compressed)
        access_c(addr, size, store, &v, &pc);
    else
        access(addr, size, store, &v, &pc);
    taken = fault_taken(&f);
    if (taken && f.scause == want && f.stval == addr && f.sepc == pc && v == MAGIC)
        return true;
    report_info("%s%u-byte %s at %#lx: %s scause %lu (want %lu), stval %#lx, sepc %#lx (the access at %#lx), "
                "destination %s", compressed ? "compressed " : "", size, store ? "store" : "load",
                (unsigned long)addr, taken ? "fault," : "no fault,", f.scause, want, f.stval, f.sepc, pc,
                v == MAGIC ? "kept" : "changed");
    return false;
}

static bool claimed(const char *what, u64 addr, u64 len)
{
    const char *by = "RAM";

    if (overlaps(addr, len, machine.ram_base, machine.ram_size) || dt_claims(addr, len, &by)) {
        report_skip("%s %#lx: the DT has %s there", what, (unsigned long)addr, by);
        return true;
    }
    return false;
}

static void probe_hole(const char *what, u64 addr)
{
    static const unsigned int sizes[] = { 1, 2, 4, 8 };
    unsigned int bad = 0;

    if (claimed(what, addr, 8))
        return;
    for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++)
        for (int st = 0; st <= 1; st++)
            bad += !faults_right(addr, sizes[i], st, false);
    for (unsigned int size = 4; size <= 8; size *= 2)
        for (int st = 0; st <= 1; st++)
            bad += !faults_right(addr, size, st, true);
    report(!bad, "%s %#lx: 1/2/4/8-byte loads and stores, C.LW/C.LD/C.SW/C.SD: access faults (5, 7), stval "
           "and sepc exact, destination kept (%u wrong)", what, (unsigned long)addr, bad);
}

static u64 reg_end(int node)
{
    u64 base, size;

    return node >= 0 && dt_reg(node, 0, &base, &size) ? base + size : 0;
}

static void test_holes(void)
{
    static const struct { const char *what; u64 addr; } fixed[] = {
        { "address", 0 },
        { "QEMU virt's hole after the CLINT", 0x02010000 },
        { "QEMU virt's slot for an S-mode APLIC", 0x0d000000 },
        { "QEMU virt's hole after fw_cfg", 0x10200000 },
        { "QEMU virt's hole below the flash", 0x1f000000 },
        { "4 GiB", 1UL << 32 },
        { "16 GiB", 1UL << 34 },
        { "the top of the 39-bit space", (1UL << 39) - 8 },
        { "2^40", 1UL << 40 },
    };
    int uart = dt_find_compatible(-1, "ns16550a");

    for (unsigned int i = 0; i < ARRAY_SIZE(fixed); i++)
        probe_hole(fixed[i].what, fixed[i].addr);
    if (reg_end(uart))
        probe_hole("just past the UART's registers", reg_end(uart));
    if (machine.plic_base)
        probe_hole("just past the PLIC", machine.plic_base + machine.plic_size);
    probe_hole("just past RAM", machine.ram_base + machine.ram_size);
}

/* A 4-byte load and store every 256 MiB up to 8 GiB, wherever the DT has nothing. */
static void test_sweep(void)
{
    unsigned int probed = 0, bad = 0, skipped = 0;
    const char *by;

    for (u64 a = 0; a < (8UL << 30); a += 256UL << 20) {
        if (overlaps(a, 4, machine.ram_base, machine.ram_size) || dt_claims(a, 4, &by)) {
            skipped++;
            continue;
        }
        probed++;
        bad += !faults_right(a, 4, false, false) + !faults_right(a, 4, true, false);
    }
    report(probed && !bad, "sweep every 256 MiB to 8 GiB: %u addresses with nothing there fault right (%u "
           "wrong, %u taken by the DT)", probed, bad, skipped);
}

/* A call to nothing: the handler returns to ra. */
static void test_fetch(const char *what, u64 addr)
{
    struct fault f;
    bool taken;

    if (claimed(what, addr, 4))
        return;
    fault_expect();
    __asm__ volatile("jalr ra, 0(%0)" :: "r"(addr) : "ra", "memory");
    taken = fault_taken(&f);
    report(taken && f.scause == CAUSE_FETCH_ACCESS && f.stval == addr && f.sepc == addr,
           "fetch from %s %#lx: instruction access fault (1), stval and sepc the address (%s scause %lu, stval "
           "%#lx, sepc %#lx)", what, (unsigned long)addr, taken ? "" : "no fault,", f.scause, f.stval, f.sepc);
}

/* ---- RAM ---- */
static u8 ram[8192] __aligned(4096);

static u64 le(const u8 *p, unsigned int n)
{
    u64 v = 0;

    while (n--)
        v = v << 8 | p[n];
    return v;
}

static u64 sext(u64 v, unsigned int size)
{
    unsigned int shift = 64 - 8 * size;

    return (u64)((s64)(v << shift) >> shift);
}

/* Aligned loads and stores, uncompressed and compressed: the value, sign-extended, and nothing beside it. */
static void test_ram(void)
{
    static const unsigned int sizes[] = { 1, 2, 4, 8 };
    bool ok = true;

    for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
        for (int c = 0; c <= (sizes[i] >= 4); c++) {
            unsigned int n = sizes[i];
            u64 a = (u64)ram + 64, want = 0xfedcba9876543210UL & (n == 8 ? ~0UL : BIT(8 * n) - 1);
            unsigned long v = 0xfedcba9876543210UL, pc;

            for (unsigned int b = 0; b < 80; b++)
                ram[b] = 0;
            (c ? access_c : access)(a, n, true, &v, &pc);
            v = 0;
            (c ? access_c : access)(a, n, false, &v, &pc);
            ok &= le(ram + 64, n) == want && v == sext(want, n) && !ram[63] && !ram[64 + n];
        }
    }
    report(ok, "RAM: LB/LH/LW/LD and SB/SH/SW/SD, C.LW/C.LD/C.SW/C.SD: values right, sign-extended, nothing "
           "beside them touched");
}

/*
 * Misaligned loads and stores may succeed or raise an address-misaligned
 * or access-fault exception (unprivileged spec 2.6): accepted either way,
 * but a value must be right and a trap must name the address.
 */
static bool misaligned_ok(unsigned int size, unsigned int off, bool store, bool *trapped)
{
    u64 a = (u64)ram + off, want = 0x8877665544332211UL & (size == 8 ? ~0UL : BIT(8 * size) - 1);
    unsigned long v = store ? 0x8877665544332211UL : MAGIC, pc;
    struct fault f;

    for (unsigned int b = 0; b < sizeof(ram); b++)
        ram[b] = store ? 0 : (u8)(b * 7 + 3);
    fault_expect();
    access(a, size, store, &v, &pc);
    *trapped = fault_taken(&f);
    if (*trapped)
        return f.stval == a && f.sepc == pc && (store ? f.scause == CAUSE_MISALIGNED_STORE ||
                                                             f.scause == CAUSE_STORE_ACCESS
                                                       : (f.scause == CAUSE_MISALIGNED_LOAD ||
                                                          f.scause == CAUSE_LOAD_ACCESS) && v == MAGIC);
    if (store)
        return le(ram + off, size) == want && !ram[off - 1] && !ram[off + size];
    return v == sext(le(ram + off, size), size);
}

static void test_misaligned(void)
{
    static const unsigned int sizes[] = { 2, 4, 8 };

    for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
        unsigned int n = sizes[i], offs[] = { 1, n - 1, 4096 - n / 2 }, done = 0, traps = 0;
        bool ok = true;

        for (unsigned int j = 0; j < ARRAY_SIZE(offs); j++) {
            for (int st = 0; st <= 1; st++) {
                bool t;
                ok &= misaligned_ok(n, offs[j], st, &t);
                traps += t;
                done += !t;
            }
        }
        report(ok, "misaligned %u-byte loads and stores at +1, +%u and across a page: right, or a misaligned/"
               "access fault naming the address (%u done, %u trapped)", n, n - 1, done, traps);
    }
}

/*
 * A misaligned AMO, LR or SC raises an address-misaligned or access-fault
 * exception (unprivileged spec, A: 'LR/SC', 'AMOs'; with Zam an AMO may be
 * done instead). Two CPU-model liberties are let through, as Keel cannot
 * change them: QEMU's single-threaded TCG splits an AMO into a load and a
 * store, so a misaligned AMO reports a load fault (cause 4) at -smp 1; and
 * it fails an SC without a reservation before looking at the address.
 */
enum atomic_op { AMOADD_W, AMOSWAP_D, LR_W, SC_W };

static bool atomic_traps(enum atomic_op op, unsigned int off, struct fault *f, unsigned long *pc,
                         unsigned long *rd)
{
    u64 a = (u64)ram + off;
    unsigned long v = 1, at;

    fault_expect();
    switch (op) {
    case AMOADD_W: ACCESS("amoadd.w %1, %1, (%2)", "+r"(v), "r"(a)); break;
    case AMOSWAP_D: ACCESS("amoswap.d %1, %1, (%2)", "+r"(v), "r"(a)); break;
    case LR_W: ACCESS("lr.w %1, (%2)", "+r"(v), "r"(a)); break;
    default: ACCESS("sc.w %1, %1, (%2)", "+r"(v), "r"(a)); break;
    }
    *pc = at;
    *rd = v;
    return fault_taken(f);
}

static bool atomic_cause_ok(enum atomic_op op, unsigned long cause)
{
    bool load = cause == CAUSE_MISALIGNED_LOAD || cause == CAUSE_LOAD_ACCESS;
    bool store = cause == CAUSE_MISALIGNED_STORE || cause == CAUSE_STORE_ACCESS;

    if (op == AMOADD_W || op == AMOSWAP_D) {
        if (load)
            report_info("a misaligned AMO reported as a load fault (%lu): QEMU's single-threaded TCG", cause);
        return load || store;
    }
    return op == LR_W ? load : store;
}

static void test_misaligned_atomics(void)
{
    static const struct { const char *name; enum atomic_op op; unsigned int off; } ops[] = {
        { "AMOADD.W", AMOADD_W, 2 }, { "AMOSWAP.D", AMOSWAP_D, 4 }, { "LR.W", LR_W, 1 }, { "SC.W", SC_W, 3 },
    };
    bool zam = dt_hart_has_ext(hart_id(), "zam");

    for (unsigned int i = 0; i < ARRAY_SIZE(ops); i++) {
        enum atomic_op op = ops[i].op;
        unsigned long pc, rd, a = (unsigned long)ram + ops[i].off;
        struct fault f;
        bool t, ok;

        for (unsigned int b = 0; b < 16; b++)
            ram[b] = 0;
        t = atomic_traps(op, ops[i].off, &f, &pc, &rd);
        if (t)
            ok = atomic_cause_ok(op, f.scause) && f.stval == a && f.sepc == pc;
        else if (op == SC_W)
            ok = rd != 0 && !le(ram, 8) && !le(ram + 8, 8); /* failed, nothing written */
        else
            ok = zam && op != LR_W;
        report(ok, "misaligned %s at +%u: misaligned or access fault naming the address%s (%s scause %lu, "
               "stval %#lx)", ops[i].name, ops[i].off, op == SC_W ? ", or a failed SC writing nothing" :
               op == LR_W ? "" : " (or done, with Zam)", t ? "fault," : "no fault,", f.scause, f.stval);
    }
}

/* ---- the UART: byte registers ---- */
static void test_uart(void)
{
    unsigned long pc, s = 0;
    u8 lsr, old, u1, u2;

    uart_wait_idle();
    lsr = readb(uart_reg(UART_LSR));
    report(lsr & UART_LSR_THRE, "UART LSR at %#lx: THRE set with the transmitter idle (%#x)",
           (unsigned long)uart_reg(UART_LSR), lsr);
    old = readb(uart_reg(UART_SCR));
    writeb(uart_reg(UART_SCR), 0xa5);
    u1 = readb(uart_reg(UART_SCR));
    access(uart_reg(UART_SCR), 1, false, &s, &pc);
    writeb(uart_reg(UART_SCR), 0x5a);
    u2 = readb(uart_reg(UART_SCR));
    writeb(uart_reg(UART_SCR), old);
    report(u1 == 0xa5 && s == 0xffffffffffffffa5UL && u2 == 0x5a, "UART SCR at %#lx: SB kept, LBU reads "
           "0xa5 then 0x5a (%#x, %#x), LB sign-extends (%#lx)", (unsigned long)uart_reg(UART_SCR), u1, u2, s);
}

void guest_main(void)
{
    report_prefix_push("mmio");
    test_uart();
    test_ram();
    test_misaligned();
    test_misaligned_atomics();
    test_holes();
    test_sweep();
    test_fetch("just past RAM", machine.ram_base + machine.ram_size);
    test_fetch("address", 0);
    test_fetch("the top of the 39-bit space", (1UL << 39) - 4);
    report_prefix_pop();
}
