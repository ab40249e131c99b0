/*
 * The SMCCC/PSCI dispatcher (src/arch/aarch64/smccc.c): random function IDs and
 * arguments from random vCPUs of a fake VM. The fakes below stand in for
 * vm.c, shmem.c and the arch layer; they only record what they are asked
 * to do, so changes to the real lifecycle code do not break this harness.
 *
 * Checked for every call:
 *  - it returns (PSCI CPU_OFF leaves through the fake vcpu_power_off_self);
 *  - an ID outside the services Keel answers (PSCI, the SMCCC arch calls,
 *    Keel's vendor-hypervisor range) gets NOT_SUPPORTED, x0 = -1;
 *  - an SMC32/HVC32 call (ID bit 30 clear) returns a sign-extended 32-bit
 *    w0, and behaves exactly the same when the upper halves of x1..x3 are
 *    changed: the call is replayed from a snapshot with other upper halves
 *    and both the result and every side effect must match;
 *  - PSCI_FEATURES agrees with the dispatcher: a PSCI ID it calls not
 *    supported answers NOT_SUPPORTED when called, one it calls supported
 *    does not;
 *  - CPU_ON, AFFINITY_INFO, VERSION, SYSTEM_OFF and SYSTEM_RESET do what
 *    PSCI 1.1 says to the fake VM's vCPUs (state, entry point, context
 *    id, kick), and nothing else changes;
 *  - Keel's console calls pass x1 and x2 through whole and map the core's
 *    answer to SMCCC's (a count, or INVALID_PARAMETER).
 */
#include <setjmp.h>
#include <string.h>

#include <keel/console_mux.h>
#include <keel/cpu.h>
#include <keel/psci.h>
#include <keel/sched.h>
#include <keel/smccc.h>
#include <keel/vm.h>

#include "fuzz_input.h"

#define NOT_SUPPORTED (~0ULL)

static struct vm vm;
static struct vcpu vcpus[VM_MAX_VCPUS];
static jmp_buf off_jump;
static bool v2_safe, bhb_safe, ssb_safe;

/* Everything the fakes and the dispatcher may change: compared between replays. */
struct world {
    struct {
        enum vcpu_power power;
        u64 entry, context;
        unsigned int kicks, offs;
    } v[VM_MAX_VCPUS];
    int state;
    bool reset_pending;
    unsigned int stops, doorbells;
    int stop_why;
    u64 doorbell_id;
    unsigned int console_calls; /* the fakes of core/console_guest.c and console_mux.c */
    u64 console_ipa, console_len;
    char console_byte;
};
static struct world w; /* counters kept by the fakes; vCPU fields copied in by snapshot() */

static void snapshot(struct world *s)
{
    for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
        w.v[i].power = vcpus[i].power;
        w.v[i].entry = vcpus[i].entry;
        w.v[i].context = vcpus[i].context;
    }
    w.state = vm.state;
    w.reset_pending = vm.reset_pending;
    *s = w;
}

static void restore(const struct world *s)
{
    w = *s;
    for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
        vcpus[i].power = s->v[i].power;
        vcpus[i].entry = s->v[i].entry;
        vcpus[i].context = s->v[i].context;
    }
    vm.state = s->state;
    vm.reset_pending = s->reset_pending;
}

/* ---- fakes ---- */

void vcpu_kick(struct vcpu *v)
{
    w.v[v->id].kicks++;
}

/*
 * The CPU the calls run on: shared or not, taken from a bit the input
 * already gives (the RAM size), so older inputs keep their meaning.
 */
static struct cpu fake_cpu;
static unsigned int blocks;

struct cpu *cpu_this(void)
{
    return &fake_cpu;
}

/* Only a standby CPU_SUSPEND on a shared CPU blocks; it still answers SUCCESS. */
void sched_block(struct vcpu *v)
{
    FUZZ_CHECK(fake_cpu.shared, "vcpu %u blocked on an exclusive CPU", v->id);
    blocks++;
}

void vcpu_power_off_self(struct vcpu *v)
{
    v->power = VCPU_OFF;
    w.v[v->id].offs++;
    longjmp(off_jump, 1);
}

void vm_stop(struct vm *m, enum vm_state why)
{
    w.stops++;
    w.stop_why = why;
    m->state = why;
}

/* vm_request_reset and CPU_ON's vcpu_request_on are the real ones (core/vm_lifecycle.c). */
bool vm_log_ratelimit(struct vm *m)
{
    (void)m;
    return true;
}

s64 shmem_doorbell(struct vm *m, u64 id)
{
    (void)m;
    w.doorbells++;
    w.doorbell_id = id;
    return id < 8 ? (s64)(id & 3) : SMCCC_RET_INVALID_PARAMETER;
}

/*
 * The console calls' core (core/console_guest.c, console_mux.c), as they
 * document themselves: a buffer outside [ram_ipa, ram_ipa + mem_size) is
 * refused, at most VM_CONSOLE_CHUNK bytes are written, no input waits.
 */
s64 vm_console_write_guest(struct vm *m, u64 ipa, u64 len)
{
    w.console_calls++;
    w.console_ipa = ipa;
    w.console_len = len;
    if (!len)
        return 0;
    if (ipa < m->cfg.ram_ipa || ipa - m->cfg.ram_ipa >= m->cfg.mem_size ||
        len > m->cfg.ram_ipa + m->cfg.mem_size - ipa)
        return VM_CONSOLE_BAD_BUFFER;
    return (s64)(len < VM_CONSOLE_CHUNK ? len : VM_CONSOLE_CHUNK);
}

int vm_console_getc(struct vm *m)
{
    (void)m;
    w.console_calls++;
    return -1;
}

void vm_console_putc(struct vm *m, char c)
{
    (void)m;
    w.console_calls++;
    w.console_byte = c;
}

bool arch_cpu_spectre_v2_safe(void) { return v2_safe; }
bool arch_cpu_spectre_bhb_safe(void) { return bhb_safe; }
bool arch_cpu_ssb_safe(void) { return ssb_safe; }

/* ---- the harness ---- */

static const u32 known_ids[] = {
    PSCI_VERSION, PSCI_CPU_SUSPEND, PSCI_CPU_OFF, PSCI_CPU_ON, PSCI_AFFINITY_INFO,
    PSCI_MIGRATE, PSCI_MIGRATE_INFO_TYPE, PSCI_MIGRATE_INFO_UP_CPU, PSCI_SYSTEM_OFF,
    PSCI_SYSTEM_RESET, PSCI_FEATURES, PSCI_CPU_FREEZE, PSCI_CPU_DEFAULT_SUSPEND,
    PSCI_NODE_HW_STATE, PSCI_SYSTEM_SUSPEND, PSCI_SET_SUSPEND_MODE, PSCI_STAT_RESIDENCY,
    PSCI_STAT_COUNT, PSCI_SYSTEM_RESET2, PSCI_MEM_PROTECT,
    PSCI_FN64(PSCI_CPU_SUSPEND), PSCI_FN64(PSCI_CPU_ON), PSCI_FN64(PSCI_AFFINITY_INFO),
    PSCI_FN64(PSCI_MIGRATE), PSCI_FN64(PSCI_SYSTEM_RESET2), PSCI_FN64(PSCI_SYSTEM_OFF),
    SMCCC_VERSION, SMCCC_ARCH_FEATURES, SMCCC_ARCH_SOC_ID, SMCCC_ARCH_WORKAROUND_1,
    SMCCC_ARCH_WORKAROUND_2, SMCCC_ARCH_WORKAROUND_3, KEEL_HC_VERSION, KEEL_HC_DOORBELL,
    KEEL_HC_CONSOLE_WRITE, KEEL_HC_CONSOLE_READ_BYTE, KEEL_HC_CONSOLE_WRITE_BYTE,
    KEEL_HC_BASE + 5, 0x86000000U, 0x86000001U, 0x86000002U, 0xc4000020U, 0x84000020U, 0x8400ffffU,
};

/* The SMCCC service ranges Keel answers; every other ID must be NOT_SUPPORTED. */
static bool in_served_range(u32 fn)
{
    u32 oen = (fn >> 24) & 0x3f;

    if (!(fn & BIT(31)) || (fn & 0x00fe0000U)) /* yielding call, or bits 23:17 not zero */
        return false;
    return oen == 0 || oen == 4 || oen == 6; /* Arm arch, standard secure (PSCI), vendor hyp */
}

static bool is_psci(u32 fn)
{
    return (fn & ~BIT(30)) >= PSCI_0_2_FN_BASE && (fn & ~BIT(30)) < PSCI_0_2_FN_BASE + 0x20;
}

static s64 result(u64 x0)
{
    return (s64)x0;
}

/* One guest call from vCPU @c; returns x0 after it. */
static u64 call(unsigned int c, u64 x0, u64 x1, u64 x2, u64 x3)
{
    struct vcpu *v = &vcpus[c];

    memset(v->regs.x, 0x5a, sizeof(v->regs.x));
    v->regs.x[0] = x0;
    v->regs.x[1] = x1;
    v->regs.x[2] = x2;
    v->regs.x[3] = x3;
    if (setjmp(off_jump) == 0)
        smccc_handle(v);
    else
        return 0x0ff0ff0ff0ff0ffULL; /* CPU_OFF does not return to the caller */
    return v->regs.x[0];
}

static struct vcpu *by_mpidr(u64 mpidr)
{
    for (unsigned int i = 0; i < vm.cfg.nr_vcpus; i++)
        if ((vcpus[i].arch.vmpidr & MPIDR_AFF_BITS) == (mpidr & MPIDR_AFF_BITS))
            return &vcpus[i];
    return NULL;
}

/* What PSCI 1.1 says CPU_ON and AFFINITY_INFO do, from the state before the call. */
static void check_psci_semantics(u32 fn, const struct world *before, u64 ret, u64 a1, u64 a2,
                                 u64 a3)
{
    bool is32 = !(fn & BIT(30));
    u32 base = fn & ~BIT(30);

    if (is32) {
        a1 = (u32)a1;
        a2 = (u32)a2;
        a3 = (u32)a3;
    }
    if (base == PSCI_CPU_ON) {
        struct vcpu *t = by_mpidr(a1);
        s64 want;
        if (!t)
            want = PSCI_RET_INVALID_PARAMS;
        else if (a2 < vm.cfg.ram_ipa || a2 >= vm.cfg.ram_ipa + vm.cfg.mem_size)
            want = PSCI_RET_INVALID_ADDRESS;
        else if (before->v[t->id].power == VCPU_ON)
            want = PSCI_RET_ALREADY_ON;
        else if (before->v[t->id].power == VCPU_ON_PENDING)
            want = PSCI_RET_ON_PENDING;
        else
            want = PSCI_RET_SUCCESS;
        FUZZ_CHECK(result(ret) == want, "CPU_ON(%#llx, %#llx): %lld, expected %lld",
                   (unsigned long long)a1, (unsigned long long)a2, (long long)result(ret),
                   (long long)want);
        for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
            bool started = want == PSCI_RET_SUCCESS && t == &vcpus[i];
            FUZZ_CHECK(w.v[i].kicks == before->v[i].kicks + started, "vCPU %u kicks", i);
            if (!started) {
                FUZZ_CHECK(vcpus[i].power == before->v[i].power, "vCPU %u power changed", i);
                continue;
            }
            FUZZ_CHECK(vcpus[i].power == VCPU_ON_PENDING && vcpus[i].entry == a2 &&
                           vcpus[i].context == a3,
                       "started vCPU %u: power %d entry %#llx context %#llx", i,
                       vcpus[i].power, (unsigned long long)vcpus[i].entry,
                       (unsigned long long)vcpus[i].context);
        }
    } else if (base == PSCI_AFFINITY_INFO) {
        struct vcpu *t = by_mpidr(a1);
        s64 want = !t || a2 ? PSCI_RET_INVALID_PARAMS
                   : before->v[t->id].power == VCPU_ON ? PSCI_AFFINITY_ON
                   : before->v[t->id].power == VCPU_ON_PENDING ? PSCI_AFFINITY_ON_PENDING
                                                               : PSCI_AFFINITY_OFF;
        FUZZ_CHECK(result(ret) == want, "AFFINITY_INFO(%#llx, %llu): %lld, expected %lld",
                   (unsigned long long)a1, (unsigned long long)a2, (long long)result(ret),
                   (long long)want);
    } else if (fn == KEEL_HC_CONSOLE_WRITE) {
        bool in_ram = a1 >= vm.cfg.ram_ipa && a1 - vm.cfg.ram_ipa < vm.cfg.mem_size &&
                      a2 <= vm.cfg.ram_ipa + vm.cfg.mem_size - a1;
        s64 want = !a2 ? 0 : !in_ram ? SMCCC_RET_INVALID_PARAMETER
                   : (s64)(a2 < VM_CONSOLE_CHUNK ? a2 : VM_CONSOLE_CHUNK);
        FUZZ_CHECK(result(ret) == want && w.console_ipa == a1 && w.console_len == a2,
                   "CONSOLE_WRITE(%#llx, %#llx): %lld, expected %lld", (unsigned long long)a1,
                   (unsigned long long)a2, (long long)result(ret), (long long)want);
    } else if (fn == KEEL_HC_CONSOLE_READ_BYTE) {
        FUZZ_CHECK(result(ret) == -1, "CONSOLE_READ_BYTE with no input: %lld", (long long)result(ret));
    } else if (fn == KEEL_HC_CONSOLE_WRITE_BYTE) {
        FUZZ_CHECK(ret == 0 && w.console_byte == (char)a1, "CONSOLE_WRITE_BYTE(%#llx): %#llx",
                   (unsigned long long)a1, (unsigned long long)ret);
    } else if (fn == PSCI_VERSION) {
        FUZZ_CHECK(ret == 0x10001, "PSCI_VERSION %#llx", (unsigned long long)ret);
    } else if (fn == PSCI_SYSTEM_OFF) {
        FUZZ_CHECK(w.stops == before->stops + 1 && w.stop_why == VM_OFF, "SYSTEM_OFF");
    } else if (fn == PSCI_SYSTEM_RESET) {
        FUZZ_CHECK(vm.reset_pending && vm.state == VM_STOPPED, "SYSTEM_RESET");
        for (unsigned int i = 0; i < vm.cfg.nr_vcpus; i++)
            FUZZ_CHECK(vcpus[i].power == VCPU_OFF, "SYSTEM_RESET left vCPU %u on", i);
    }
}

static u64 pick_arg(struct fuzz_in *in)
{
    switch (fin_u8(in) % 6) {
    case 0: /* a vCPU's MPIDR, maybe with junk outside the affinity fields */
        return vcpus[fin_below(in, VM_MAX_VCPUS)].arch.vmpidr ^ (fin_bool(in) ? fin_u64(in) & ~MPIDR_AFF_BITS : 0);
    case 1: /* an address in or near guest RAM */
        return vm.cfg.ram_ipa + fin_u32(in) % (vm.cfg.mem_size + 0x10000) - 0x8000;
    case 2:
        return fin_u8(in);
    case 3: /* upper half set: must not matter to a 32-bit call */
        return (u64)fin_u32(in) << 32 | fin_u32(in);
    default:
        return fin_u64(in);
    }
}

static void setup(struct fuzz_in *in)
{
    static const u64 ram_bases[] = { 0x40000000, 0x80000000, 0x0c000000, 0x7fc0000000 };

    memset(&vm, 0, sizeof(vm));
    memset(vcpus, 0, sizeof(vcpus));
    memset(&w, 0, sizeof(w));
    vm.cfg.nr_vcpus = fin_below(in, VM_MAX_VCPUS) + 1;
    vm.cfg.ram_ipa = fin_pick(in, ram_bases);
    vm.cfg.mem_size = (u64)(fin_u8(in) % 64 + 1) << 21;
    fake_cpu.shared = (vm.cfg.mem_size >> 21) & 1;
    blocks = 0;
    vm.state = VM_RUNNING;
    strcpy(vm.cfg.name, "fuzz");
    v2_safe = fin_bool(in);
    bhb_safe = fin_bool(in);
    ssb_safe = fin_bool(in);
    bool aff_layout = fin_bool(in);
    for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
        vcpus[i].vm = &vm;
        vcpus[i].id = i;
        /* vm.c's layout (Aff0 = index), or clusters of two to exercise Aff1 matching */
        vcpus[i].arch.vmpidr = BIT(31) | (aff_layout ? ((u64)(i / 2) << 8 | (i % 2)) : i);
        vcpus[i].power = (enum vcpu_power)(fin_u8(in) % 3);
        if (i < vm.cfg.nr_vcpus)
            vm.vcpus[i] = &vcpus[i];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };

    setup(&in);
    while (!fin_done(&in)) {
        unsigned int c = fin_below(&in, vm.cfg.nr_vcpus);
        u8 how = fin_u8(&in);
        u32 fn = (how & 3) ? fin_pick(&in, known_ids) : fin_u32(&in);
        if (how & 4)
            fn |= BIT(16); /* SMCCC 1.3 SVE hint: ignored */
        if ((how & 0x18) == 0x18)
            fn ^= 1u << fin_below(&in, 32);
        u64 x0 = fn | (fin_bool(&in) ? (u64)fin_u32(&in) << 32 : 0);
        u64 a1 = pick_arg(&in), a2 = pick_arg(&in), a3 = pick_arg(&in);
        u32 efn = fn & ~BIT(16);
        struct world before, after;

        vcpus[c].power = VCPU_ON; /* it is running: it makes the call */
        vm.state = VM_RUNNING;
        vm.reset_pending = false;
        snapshot(&before);
        u64 ret = call(c, x0, a1, a2, a3);
        snapshot(&after);

        if (!in_served_range(efn))
            FUZZ_CHECK(ret == NOT_SUPPORTED, "foreign ID %#x answered %#llx", fn,
                       (unsigned long long)ret);
        if (!(efn & BIT(30)) && efn != PSCI_CPU_OFF) {
            FUZZ_CHECK(ret == (u64)(s64)(s32)ret, "SMC32 %#x returned %#llx", fn,
                       (unsigned long long)ret);
            /* Replay with other upper halves: a 32-bit call must not see them. */
            u64 flip = fin_u64(&in) | 1ULL << 32;
            restore(&before);
            u64 ret2 = call(c, x0, a1 ^ (flip & ~0xffffffffULL),
                            a2 ^ ((flip << 8) & ~0xffffffffULL), a3 ^ ((flip << 16) & ~0xffffffffULL));
            struct world again;
            snapshot(&again);
            FUZZ_CHECK(ret2 == ret && !memcmp(&again, &after, sizeof(again)),
                       "SMC32 %#x depends on the upper halves of x1-x3 (%#llx vs %#llx)", fn,
                       (unsigned long long)ret, (unsigned long long)ret2);
        }
        check_psci_semantics(efn, &before, ret, a1, a2, a3);
        if (is_psci(efn) && efn != PSCI_FEATURES) {
            struct world keep;
            snapshot(&keep);
            u64 feat = call(c, PSCI_FEATURES, efn, 0, 0);
            FUZZ_CHECK(feat == NOT_SUPPORTED || feat == 0, "PSCI_FEATURES(%#x) = %#llx", efn,
                       (unsigned long long)feat);
            if (feat == NOT_SUPPORTED)
                FUZZ_CHECK(ret == NOT_SUPPORTED, "PSCI %#x: FEATURES says unsupported, call gave %#llx",
                           efn, (unsigned long long)ret);
            else
                FUZZ_CHECK(ret != NOT_SUPPORTED, "PSCI %#x: FEATURES says supported, call gave -1",
                           efn);
            restore(&keep);
        }
        if (efn == SMCCC_ARCH_FEATURES && !in_served_range((u32)a1))
            FUZZ_CHECK(ret == NOT_SUPPORTED, "ARCH_FEATURES(%#x) = %#llx", (u32)a1,
                       (unsigned long long)ret);
    }
    return 0;
}
