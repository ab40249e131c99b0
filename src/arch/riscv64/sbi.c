/*
 * The SBI a guest sees (RISC-V SBI 2.0): Keel is the guest's SEE. Every
 * call returns, with SBI_ERR_NOT_SUPPORTED for anything not implemented;
 * none faults. Harts are the VM's vCPUs, hart id = vCPU index. Power and
 * lifecycle go through the same core calls as PSCI on Arm.
 */
#include <arch/csr.h>
#include <arch/sbi.h>
#include <keel/console_mux.h>
#include <keel/cpu.h>
#include <keel/log.h>
#include <keel/vcpu_arch.h>
#include <keel/version.h>
#include <keel/vm.h>

#define KEEL_SBI_IMPL_VERSION 0x10000UL /* 1.0 */

extern bool riscv_has_sstc;
void riscv_fences_run(struct vcpu *v);
void riscv_sbi_call(struct vcpu *v);
void riscv_vcpu_inject(struct vcpu *v, u64 cause, u64 tval);
void riscv_vcpu_wait_interrupt(struct vcpu *v);

static struct sbiret ret(long error, long value)
{
    return (struct sbiret){ error, value };
}

#define A(n) vcpu_get_reg(v, 10 + (n))

/* ---- harts ---------------------------------------------------------------------- */

static struct vcpu *hart(struct vcpu *v, u64 hartid)
{
    return hartid < v->vm->cfg.nr_vcpus ? v->vm->vcpus[hartid] : NULL;
}

/*
 * The harts a (hart_mask, hart_mask_base) pair names (3.1): base -1 means
 * all; any named hart that does not exist makes the call invalid.
 */
static bool hart_mask_decode(struct vcpu *v, u64 mask, u64 base, u64 *out)
{
    unsigned int n = v->vm->cfg.nr_vcpus;

    if (base == ~0UL) {
        *out = n >= 64 ? ~0UL : BIT(n) - 1;
        return true;
    }
    if (base >= n && mask)
        return false;
    *out = 0;
    for (unsigned int i = 0; i < 64 && mask; i++, mask >>= 1) {
        if (!(mask & 1))
            continue;
        if (base + i >= n)
            return false;
        *out |= BIT(base + i);
    }
    return true;
}

static bool gpa_in_ram(struct vcpu *v, u64 gpa)
{
    return gpa >= v->vm->cfg.ram_ipa && gpa - v->vm->cfg.ram_ipa < v->vm->cfg.mem_size;
}

/* ---- IPI and RFENCE ---------------------------------------------------------------- */

static void ipi_send(struct vcpu *v, u64 harts)
{
    for (unsigned int i = 0; harts; i++, harts >>= 1) {
        struct vcpu *t = (harts & 1) ? v->vm->vcpus[i] : NULL;
        if (!t)
            continue;
        __atomic_fetch_or(&t->arch.hvip_pending, HVIP_VSSIP, __ATOMIC_RELEASE);
        vcpu_kick(t);
    }
}

/* Guest TLB and instruction fetches of this hart: all of its VMID, more than asked, never less. */
void riscv_fences_run(struct vcpu *v)
{
    u64 req = __atomic_load_n(&v->arch.fence_req, __ATOMIC_ACQUIRE);

    asm volatile(HFENCE_VVMA_ALL "fence.i" ::: "memory");
    __atomic_store_n(&v->arch.fence_done, req, __ATOMIC_RELEASE);
}

/*
 * Fences are synchronous: the call returns once every target has fenced. A
 * target not running fences before it next enters (vcpu.c); one running
 * gets a kick and answers from its exit path. Waiting, this hart answers
 * its own requests, so two harts fencing each other never deadlock.
 */
static void fence_harts(struct vcpu *v, u64 harts)
{
    u64 want[VM_MAX_VCPUS] = { 0 };

    for (unsigned int i = 0; i < v->vm->cfg.nr_vcpus; i++) {
        struct vcpu *t = v->vm->vcpus[i];
        if (!(harts & BIT(i)) || t == v)
            continue;
        want[i] = __atomic_add_fetch(&t->arch.fence_req, 1, __ATOMIC_ACQ_REL);
        vcpu_kick(t);
    }
    if (harts & BIT(v->id))
        riscv_fences_run(v);
    for (unsigned int i = 0; i < v->vm->cfg.nr_vcpus; i++) {
        struct vcpu *t = v->vm->vcpus[i];
        while (want[i] && __atomic_load_n(&t->arch.fence_done, __ATOMIC_ACQUIRE) < want[i] &&
               __atomic_load_n(&t->running, __ATOMIC_ACQUIRE)) {
            if (v->arch.fence_done != __atomic_load_n(&v->arch.fence_req, __ATOMIC_ACQUIRE))
                riscv_fences_run(v);
        }
    }
}

static struct sbiret sbi_ipi(struct vcpu *v, u64 fid)
{
    u64 harts;

    if (fid != SBI_EXT_IPI_SEND_IPI)
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    if (!hart_mask_decode(v, A(0), A(1), &harts))
        return ret(SBI_ERR_INVALID_PARAM, 0);
    ipi_send(v, harts);
    return ret(SBI_SUCCESS, 0);
}

static struct sbiret sbi_rfence(struct vcpu *v, u64 fid)
{
    u64 harts;

    if (fid > SBI_EXT_RFENCE_REMOTE_SFENCE_VMA_ASID)
        return ret(SBI_ERR_NOT_SUPPORTED, 0); /* the HFENCE functions: no nested H for guests */
    if (!hart_mask_decode(v, A(0), A(1), &harts))
        return ret(SBI_ERR_INVALID_PARAM, 0);
    fence_harts(v, harts);
    return ret(SBI_SUCCESS, 0);
}

/* ---- TIME ---------------------------------------------------------------------------- */

/* With Sstc the deadline is the guest's vstimecmp; without, Keel's own timer stands in. */
static void timer_set(struct vcpu *v, u64 deadline)
{
    v->arch.vstimecmp = deadline;
    if (riscv_has_sstc) {
        csr_write(CSR_VSTIMECMP, deadline);
        return;
    }
    /* A deadline already passed is pending when the call returns, as it is with Sstc. */
    if (deadline <= csr_read(CSR_TIME)) {
        csr_set(CSR_HVIP, HVIP_VSTIP);
        sbi_ecall(SBI_EXT_TIME, SBI_EXT_TIME_SET_TIMER, ~0UL, 0, 0, 0);
        return;
    }
    csr_clear(CSR_HVIP, HVIP_VSTIP);
    sbi_ecall(SBI_EXT_TIME, SBI_EXT_TIME_SET_TIMER, deadline, 0, 0, 0);
}

/* ---- HSM ----------------------------------------------------------------------------- */

static long hsm_start(struct vcpu *v, u64 hartid, u64 addr, u64 opaque)
{
    struct vcpu *t = hart(v, hartid);

    if (!t)
        return SBI_ERR_INVALID_PARAM;
    if (!gpa_in_ram(v, addr))
        return SBI_ERR_INVALID_ADDRESS;
    switch (vcpu_request_on(t, addr, opaque)) {
    case VCPU_ON_STARTED: return SBI_SUCCESS;
    case VCPU_ON_ALREADY_ON:
    case VCPU_ON_ALREADY_PENDING: return SBI_ERR_ALREADY_AVAILABLE;
    default: return SBI_ERR_FAILED; /* the VM is being stopped */
    }
}

static struct sbiret hsm_status(struct vcpu *v, u64 hartid)
{
    struct vcpu *t = hart(v, hartid);

    if (!t)
        return ret(SBI_ERR_INVALID_PARAM, 0);
    switch (t->power) {
    case VCPU_ON:
        return ret(SBI_SUCCESS, __atomic_load_n(&t->arch.suspended, __ATOMIC_ACQUIRE)
                                    ? SBI_HSM_STATE_SUSPENDED : SBI_HSM_STATE_STARTED);
    case VCPU_ON_PENDING: return ret(SBI_SUCCESS, SBI_HSM_STATE_START_PENDING);
    default: return ret(SBI_SUCCESS, SBI_HSM_STATE_STOPPED);
    }
}

/*
 * Both default suspends wait for an interrupt (exit.c); retentive then
 * returns, non-retentive resumes at @addr with the start state of
 * hart_start (9.4). suspend_type is 32 bits wide: on RV64 a0's upper half
 * is not part of it and is ignored (chapter 3). Keel has no
 * platform-specific types: like reserved ones, SBI_ERR_INVALID_PARAM (9.4:
 * NOT_SUPPORTED is for a type that is implemented but cannot be used).
 */
static struct sbiret hsm_suspend(struct vcpu *v, u64 type, u64 addr, u64 opaque)
{
    u32 t = (u32)type;

    if (t != SBI_HSM_SUSPEND_RET_DEFAULT && t != SBI_HSM_SUSPEND_NON_RET_DEFAULT)
        return ret(SBI_ERR_INVALID_PARAM, 0);
    if (t == SBI_HSM_SUSPEND_NON_RET_DEFAULT && !gpa_in_ram(v, addr))
        return ret(SBI_ERR_INVALID_ADDRESS, 0);
    riscv_vcpu_wait_interrupt(v);
    if (t == SBI_HSM_SUSPEND_RET_DEFAULT)
        return ret(SBI_SUCCESS, 0);
    arch_vcpu_reset(v, addr, opaque);
    csr_write(CSR_VSSTATUS, 0);
    csr_write(CSR_VSATP, 0);
    /* Not a return: the resume state's a0 = hart id, a1 = opaque go out through a0/a1. */
    return ret((long)v->id, (long)opaque);
}

static struct sbiret sbi_hsm(struct vcpu *v, u64 fid)
{
    switch (fid) {
    case SBI_EXT_HSM_HART_START: return ret(hsm_start(v, A(0), A(1), A(2)), 0);
    case SBI_EXT_HSM_HART_STOP: vcpu_power_off_self(v);
    case SBI_EXT_HSM_HART_GET_STATUS: return hsm_status(v, A(0));
    case SBI_EXT_HSM_HART_SUSPEND: return hsm_suspend(v, A(0), A(1), A(2));
    default: return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

/* ---- SRST ---------------------------------------------------------------------------- */

/*
 * reset_type and reset_reason are 32 bits wide: on RV64 the upper halves of
 * a0 and a1 are ignored (chapter 3). Keel defines no vendor or platform
 * types and no implementation or platform reasons: like the reserved ones,
 * SBI_ERR_INVALID_PARAM (10.1: "reserved or is platform-specific and
 * unimplemented").
 */
static struct sbiret sbi_srst(struct vcpu *v, u64 fid)
{
    u32 type = (u32)A(0), reason = (u32)A(1);

    if (fid != SBI_EXT_SRST_RESET)
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    if (type > SBI_SRST_RESET_TYPE_WARM_REBOOT || reason > SBI_SRST_RESET_REASON_SYSFAIL)
        return ret(SBI_ERR_INVALID_PARAM, 0);
    if (type == SBI_SRST_RESET_TYPE_SHUTDOWN) {
        INFO("vm %s: SBI system shutdown from vcpu %u", v->vm->cfg.name, v->id);
        vm_stop(v->vm, VM_OFF);
    } else {
        VM_INFO(v->vm, "vm %s: SBI system reboot from vcpu %u", v->vm->cfg.name, v->id);
        vm_request_reset(v->vm);
    }
    return ret(SBI_SUCCESS, 0);
}

/* ---- DBCN and the legacy console ----------------------------------------------------- */

/* A count from core/console_guest.c, or SBI_ERR_INVALID_PARAM for a buffer not wholly RAM of the VM. */
static struct sbiret console_ret(s64 n)
{
    return n < 0 ? ret(SBI_ERR_INVALID_PARAM, 0) : ret(SBI_SUCCESS, (long)n);
}

/*
 * console_write and console_read (12.1, 12.2): at most VM_CONSOLE_CHUNK
 * bytes at a time, as the spec lets the call do part of the work. On RV64
 * base_addr_lo holds the whole address and base_addr_hi the bits above
 * 2^64, which no VM has.
 */
static struct sbiret dbcn_rw(struct vcpu *v, u64 n, u64 lo, u64 hi, bool write)
{
    if (n && hi)
        return ret(SBI_ERR_INVALID_PARAM, 0);
    return console_ret(write ? vm_console_write_guest(v->vm, lo, n)
                             : vm_console_read_guest(v->vm, lo, n));
}

static struct sbiret sbi_dbcn(struct vcpu *v, u64 fid)
{
    switch (fid) {
    case SBI_EXT_DBCN_CONSOLE_WRITE: return dbcn_rw(v, A(0), A(1), A(2), true);
    case SBI_EXT_DBCN_CONSOLE_READ: return dbcn_rw(v, A(0), A(1), A(2), false);
    case SBI_EXT_DBCN_CONSOLE_WRITE_BYTE:
        vm_console_putc(v->vm, (char)A(0));
        return ret(SBI_SUCCESS, 0);
    default: return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

/* ---- Keel's own extension (docs/hypercalls.md) ------------------------------------ */

/*
 * The console calls are DBCN's, with Arm's register use (docs/hypercalls.md):
 * one address register, the length after it; a byte read comes back in the
 * value, -1 when none waits.
 */
static struct sbiret sbi_keel(struct vcpu *v, u64 fid)
{
    s64 n;

    switch (fid) {
    case SBI_EXT_KEEL_VERSION: return ret(SBI_SUCCESS, 1);
    case SBI_EXT_KEEL_DOORBELL:
        n = shmem_doorbell(v->vm, A(0));
        return n < 0 ? ret(SBI_ERR_INVALID_PARAM, 0) : ret(SBI_SUCCESS, n);
    case SBI_EXT_KEEL_CONSOLE_WRITE: return console_ret(vm_console_write_guest(v->vm, A(0), A(1)));
    case SBI_EXT_KEEL_CONSOLE_READ_BYTE: return ret(SBI_SUCCESS, vm_console_getc(v->vm));
    case SBI_EXT_KEEL_CONSOLE_WRITE_BYTE:
        vm_console_putc(v->vm, (char)A(0));
        return ret(SBI_SUCCESS, 0);
    default: return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

/* ---- BASE ----------------------------------------------------------------------------- */

static bool ext_implemented(u64 ext)
{
    switch (ext) {
    case SBI_EXT_0_1_SET_TIMER ... SBI_EXT_0_1_SHUTDOWN:
    case SBI_EXT_BASE: case SBI_EXT_TIME: case SBI_EXT_IPI: case SBI_EXT_RFENCE:
    case SBI_EXT_HSM: case SBI_EXT_SRST: case SBI_EXT_DBCN: case SBI_EXT_KEEL:
        return true;
    default:
        return false;
    }
}

static struct sbiret sbi_base(struct vcpu *v, u64 fid)
{
    switch (fid) {
    case SBI_EXT_BASE_GET_SPEC_VERSION: return ret(SBI_SUCCESS, SBI_SPEC_VERSION_2_0);
    case SBI_EXT_BASE_GET_IMP_ID: return ret(SBI_SUCCESS, KEEL_SBI_IMPL_ID);
    case SBI_EXT_BASE_GET_IMP_VERSION: return ret(SBI_SUCCESS, KEEL_SBI_IMPL_VERSION);
    case SBI_EXT_BASE_PROBE_EXT: return ret(SBI_SUCCESS, ext_implemented(A(0)));
    /* The machine's own identity registers, as firmware reports them to Keel. */
    case SBI_EXT_BASE_GET_MVENDORID:
    case SBI_EXT_BASE_GET_MARCHID:
    case SBI_EXT_BASE_GET_MIMPID: return sbi_ecall(SBI_EXT_BASE, fid, 0, 0, 0, 0);
    default: return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

/* ---- legacy (v0.1) extensions, chapter 5 ----------------------------------------------- */

/* A doubleword at a guest virtual address, as the guest's supervisor would load it (HLV.D). */
static bool guest_load_u64(u64 va, u64 *val)
{
    long err = 0;
    u64 x = 0;

    asm volatile("1: .insn r 0x73, 0x4, 0x36, %1, %2, x0\n" /* hlv.d x, (va) */
                 "2:\n.pushsection .ex_fixup, \"a\"\n.balign 8\n.dword 1b, 3f\n.popsection\n"
                 ".pushsection .text.fixup, \"ax\"\n3: li %0, -1\nj 2b\n.popsection\n"
                 : "+r"(err), "=&r"(x) : "r"(va) : "memory");
    *val = x;
    return !err;
}

/* v0.1 passes the hart mask by (virtual) address; 0 means every hart. */
static bool legacy_harts(struct vcpu *v, u64 mask_va, u64 *harts)
{
    u64 mask;

    if (!mask_va)
        return hart_mask_decode(v, 0, ~0UL, harts);
    return guest_load_u64(mask_va, &mask) && hart_mask_decode(v, mask, 0, harts);
}

/* Legacy calls return their value in a0 only. */
static long sbi_legacy(struct vcpu *v, u64 ext)
{
    u64 harts;

    switch (ext) {
    case SBI_EXT_0_1_SET_TIMER:
        timer_set(v, A(0));
        return 0;
    case SBI_EXT_0_1_CONSOLE_PUTCHAR:
        vm_console_putc(v->vm, (char)A(0));
        return 0;
    case SBI_EXT_0_1_CONSOLE_GETCHAR:
        return vm_console_getc(v->vm);
    case SBI_EXT_0_1_CLEAR_IPI:
        csr_clear(CSR_HVIP, HVIP_VSSIP);
        return 0;
    case SBI_EXT_0_1_SEND_IPI:
        if (!legacy_harts(v, A(0), &harts))
            return SBI_ERR_INVALID_PARAM;
        ipi_send(v, harts);
        return 0;
    case SBI_EXT_0_1_SHUTDOWN:
        INFO("vm %s: SBI legacy shutdown from vcpu %u", v->vm->cfg.name, v->id);
        vm_stop(v->vm, VM_OFF);
        return 0;
    default: /* the three remote fences */
        if (!legacy_harts(v, A(0), &harts))
            return SBI_ERR_INVALID_PARAM;
        fence_harts(v, harts);
        return 0;
    }
}

void riscv_sbi_call(struct vcpu *v)
{
    u64 ext = vcpu_get_reg(v, 17), fid = vcpu_get_reg(v, 16);
    struct sbiret r;

    if (ext <= SBI_EXT_0_1_SHUTDOWN) {
        vcpu_set_reg(v, 10, (u64)sbi_legacy(v, ext));
        return;
    }
    switch (ext) {
    case SBI_EXT_BASE: r = sbi_base(v, fid); break;
    case SBI_EXT_TIME:
        if (fid == SBI_EXT_TIME_SET_TIMER) {
            timer_set(v, A(0));
            r = ret(SBI_SUCCESS, 0);
        } else {
            r = ret(SBI_ERR_NOT_SUPPORTED, 0);
        }
        break;
    case SBI_EXT_IPI: r = sbi_ipi(v, fid); break;
    case SBI_EXT_RFENCE: r = sbi_rfence(v, fid); break;
    case SBI_EXT_HSM: r = sbi_hsm(v, fid); break;
    case SBI_EXT_SRST: r = sbi_srst(v, fid); break;
    case SBI_EXT_DBCN: r = sbi_dbcn(v, fid); break;
    case SBI_EXT_KEEL: r = sbi_keel(v, fid); break;
    default: r = ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
    vcpu_set_reg(v, 10, (u64)r.error);
    vcpu_set_reg(v, 11, (u64)r.value);
}
