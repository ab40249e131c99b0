/*
 * Keel's own PMP on the real harts (privileged spec 1.12, 3.7): a second
 * wall around each guest besides its shadow tables. A hart runs one vCPU
 * of one VM (harts are not shared), and while it does, its PMP lets U and
 * S (the guest, and the hart's walks of the shadow tables, which are
 * S-mode accesses: 3.7.1, 4.3.2) reach only that VM's RAM (RWX), the host
 * ranges mapped for it (passed-through devices, shared memory: RW), and
 * the vCPU's shadow-table pool, read-only. Nothing else matches, and with
 * entries implemented an S or U access no entry matches fails. Entries are
 * never locked: M-mode, Keel, is not bound by them (3.7.1).
 */
#include <arch/csr.h>
#include <arch/mmode.h>
#include <arch/physmap.h>
#include <arch/pmp.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/printf.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

int rvm_shadows_pool(struct vcpu *v);
void rvm_satp_write(u64 satp);
extern char _start[];

unsigned int rvm_pmp_entries, rvm_pmp_grain;

/* ---- the CSRs by entry number (a CSR number is part of the instruction) ---- */

#define PMP_CASES4(M, n) M(n) M((n) + 1) M((n) + 2) M((n) + 3)
#define PMP_CASES16(M, n) PMP_CASES4(M, n) PMP_CASES4(M, (n) + 4) PMP_CASES4(M, (n) + 8) \
    PMP_CASES4(M, (n) + 12)
#define PMP_CASES64(M) PMP_CASES16(M, 0) PMP_CASES16(M, 16) PMP_CASES16(M, 32) PMP_CASES16(M, 48)

static void pmpaddr_write(unsigned int i, u64 val)
{
    switch (i) {
#define W(n) case n: asm volatile("csrw %0, %1" :: "i"(CSR_PMPADDR0 + (n)), "r"(val)); break;
    PMP_CASES64(W)
#undef W
    }
}

/* pmpcfg0, 2, ... 14: entries 8 @reg to 8 @reg + 7 (3.7.1: RV64 has only the even ones) */
static void pmpcfg_write(unsigned int reg, u64 val)
{
    switch (reg) {
#define W(n) case n: asm volatile("csrw %0, %1" :: "i"(CSR_PMPCFG0 + 2 * (n)), "r"(val)); break;
    PMP_CASES4(W, 0) PMP_CASES4(W, 4)
#undef W
    }
}

/*
 * pmpaddr @i written with @val and read back (WARL, 3.7.1); -1 if the CSR
 * raised an illegal-instruction exception (a hart of spec 1.11 has only
 * pmpaddr0-15): taken through the fixup.
 */
static long pmpaddr_try(unsigned int i, u64 val, u64 *back)
{
    long err = 0;

    switch (i) {
#define P(n) case n: asm volatile("1: csrw %2, %1\n csrr %1, %2\n2:\n"                      \
        ".pushsection .ex_fixup, \"a\"\n.balign 8\n.dword 1b, 3f\n.popsection\n"             \
        ".pushsection .text.fixup, \"ax\"\n3: li %0, -1\nj 2b\n.popsection\n"                \
        : "+r"(err), "+r"(val) : "i"(CSR_PMPADDR0 + (n)) : "memory"); break;
    PMP_CASES64(P)
#undef P
    }
    *back = val;
    return err;
}

/*
 * 3.7 and 3.7.1: 0, 16 or 64 entries, the lowest-numbered first, each
 * pmpaddr WARL (an entry that is not there reads 0); with pmp0cfg OFF, all
 * ones written to pmpaddr0 read back with bits G-1:0 clear. Entries are
 * off out of reset (3.4: A and L zeroed), and stay so: rvm_pmp_load opens
 * them for a vCPU.
 */
void rvm_pmp_probe(void)
{
    u64 back;

    pmpcfg_write(0, 0);
    for (unsigned int i = 0; i < PMP_MAX_ENTRIES; i++) {
        if (pmpaddr_try(i, ~0UL, &back) || !back)
            break;
        if (!i)
            rvm_pmp_grain = __builtin_ctzl(back);
        rvm_pmp_entries = i + 1;
        pmpaddr_write(i, 0);
    }
}

void rvm_pmp_load(const struct pmp_set *s)
{
    unsigned int n = s ? s->n : 0;

    for (unsigned int i = 0; i < n; i++)
        pmpaddr_write(i, s->addr[i]);
    for (unsigned int reg = 0; reg * 8 < rvm_pmp_entries; reg++) {
        u64 cfg = 0;
        for (unsigned int j = 0; j < 8 && reg * 8 + j < n; j++)
            cfg |= (u64)s->cfg[reg * 8 + j] << (8 * j);
        pmpcfg_write(reg, cfg);
    }
    /* 3.7.2: the hart may hold translations and PMP checks made under the old entries */
    asm volatile("sfence.vma" ::: "memory");
}

/* ---- a VM's entries ---- */

/* Its RAM, RWX; what else is mapped for it, RW; @v's shadow pool, R. */
static unsigned int vcpu_regions(const struct vcpu *v, struct pmp_region *r, unsigned int max)
{
    const struct vm *vm = v->vm;
    const struct pmp_region *mapped;
    unsigned int n = 0, nm = rvm_mapped_regions(vm, &mapped);

    for (unsigned int i = 0; i < vm->nr_chunks && n < max; i++)
        r[n++] = (struct pmp_region){ pa_addr(vm->chunks[i].base), vm->chunks[i].size, PMP_RWX };
    for (unsigned int i = 0; i < nm && n < max; i++)
        r[n++] = mapped[i];
    if (n < max)
        r[n++] = (struct pmp_region){ v->arch.pool.base, (u64)v->arch.pool.pages << PAGE_SHIFT,
                                      PMP_R };
    return n;
}

/* The entries of @v's hart in one line or more (the log's lines are short). */
static void describe(const struct vcpu *v)
{
    static const char *const mode[] = { "off", "TOR", "NA4", "NAPOT" };
    const struct pmp_set *s = v->arch.pmp;
    char line[200];
    int len = 0;
    u64 lo, last;

    for (unsigned int i = 0; i < s->n; i++) {
        if (!pmp_entry_range(s->cfg[i], s->addr[i], i ? s->addr[i - 1] : 0, &lo, &last))
            continue; /* the bottom of the TOR above */
        len += snprintf(line + len, sizeof(line) - (size_t)len, " %u:%s %#lx-%#lx %c%c%c", i,
                        mode[(s->cfg[i] & PMP_A) >> 3], lo, last, s->cfg[i] & PMP_R ? 'r' : '-',
                        s->cfg[i] & PMP_W ? 'w' : '-', s->cfg[i] & PMP_X ? 'x' : '-');
        if (len > (int)sizeof(line) - 60 || i + 1 == s->n) {
            INFO("vm %s vcpu %u: PMP%s", v->vm->cfg.name, v->id, line);
            len = 0;
        }
    }
}

/* @v's entries, or -1 with the reason logged. */
static int vcpu_layout(struct vcpu *v)
{
    struct pmp_region r[PMP_MAX_ENTRIES];
    unsigned int nr = vcpu_regions(v, r, PMP_MAX_ENTRIES);
    int need = pmp_layout(r, nr, rvm_pmp_grain, v->arch.pmp);

    if (need < 0) {
        ERROR("vm %s: Keel's PMP (granularity %lu bytes) cannot express its memory map "
              "(%u RAM blocks, %u other ranges)", v->vm->cfg.name, 4UL << rvm_pmp_grain,
              v->vm->nr_chunks, nr - v->vm->nr_chunks - 1);
        return -1;
    }
    if ((unsigned int)need > rvm_pmp_entries) {
        ERROR("vm %s: its memory map needs %d PMP entries per hart (RAM in %u blocks, %u device "
              "or shared ranges, its shadow tables), the harts have %u", v->vm->cfg.name, need,
              v->vm->nr_chunks, nr - v->vm->nr_chunks - 1, rvm_pmp_entries);
        return -1;
    }
    return 0;
}

/*
 * After each build of @vm (its RAM allocated, devices and shared memory
 * mapped): its vCPUs' shadow pools (the first time), and each vCPU's PMP
 * entries, logged once per build. A map that needs more entries than the
 * harts have is refused: the build fails and the VM does not start.
 */
int arch_vm_built(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        if (rvm_shadows_pool(vm->vcpus[i])) {
            ERROR("vm %s: no memory for vcpu %u's shadow tables", vm->cfg.name, i);
            return -1;
        }
    }
    if (!rvm_pmp_entries)
        return 0; /* no PMP: the shadow tables alone confine the guest (said at boot) */
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *v = vm->vcpus[i];
        if (!v->arch.pmp && !(v->arch.pmp = obj_alloc(sizeof(*v->arch.pmp)))) {
            ERROR("vm %s: no memory for vcpu %u's PMP entries", vm->cfg.name, i);
            return -1;
        }
        if (vcpu_layout(v))
            return -1;
    }
    INFO("vm %s: Keel's PMP: %u of %u entries on each hart; U and S reach its RAM, its devices, "
         "and read their vCPU's shadow tables", vm->cfg.name, vm->vcpus[0]->arch.pmp->n,
         rvm_pmp_entries);
    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        describe(vm->vcpus[i]);
    return 0;
}

/* ---- the entries tried on the hart ---- */

/*
 * One access as U makes it (mstatus.MPRV with MPP U: 3.1.6.3; satp Bare):
 * a load, or for @store an atomic OR of 0 (a store to PMP, 3.7.1, that
 * leaves memory as it was if it is let through). False if it faulted.
 */
static bool u_access(u64 addr, bool store)
{
    long err = 0;
    u64 val;

    csr_clear(CSR_MSTATUS, MSTATUS_MPP);
    if (store)
        asm volatile("csrs mstatus, %2\n1: amoor.d zero, zero, (%1)\n2: csrc mstatus, %2\n"
                     ".pushsection .ex_fixup, \"a\"\n.balign 8\n.dword 1b, 3f\n.popsection\n"
                     ".pushsection .text.fixup, \"ax\"\n3: li %0, -1\nj 2b\n.popsection\n"
                     : "+r"(err) : "r"(addr), "r"(MSTATUS_MPRV) : "memory");
    else
        asm volatile("csrs mstatus, %3\n1: ld %1, 0(%2)\n2: csrc mstatus, %3\n"
                     ".pushsection .ex_fixup, \"a\"\n.balign 8\n.dword 1b, 3f\n.popsection\n"
                     ".pushsection .text.fixup, \"ax\"\n3: li %0, -1\nj 2b\n.popsection\n"
                     : "+r"(err), "=&r"(val) : "r"(addr), "r"(MSTATUS_MPRV) : "memory");
    return !err;
}

bool rvm_pmp_enter(struct vcpu *v)
{
    u64 ram = pa_addr(v->vm->chunks[0].base), pool = v->arch.pool.base;
    bool ok;

    if (!rvm_pmp_entries)
        return true;
    rvm_pmp_load(v->arch.pmp);
    rvm_satp_write(0);
    ok = u_access(ram, false) && u_access(pool, false) && !u_access(pool, true) &&
         !u_access((u64)_start, false);
    if (!ok)
        ERROR("vm %s vcpu %u: Keel's PMP on cpu%u does not hold as laid out (U reading its RAM "
              "and shadow tables, not writing those, not reaching Keel)", v->vm->cfg.name, v->id,
              cpu_this()->id);
    else if (!v->id)
        INFO("vm %s: Keel's PMP tried on cpu%u: U reads its RAM and shadow tables, cannot write "
             "those nor reach Keel", v->vm->cfg.name, cpu_this()->id);
    return ok;
}
