/*
 * SMCCC dispatch for HVC #0 and trapped SMC: PSCI 1.1 (Arm DEN 0022),
 * the SMCCC architecture calls (Arm DEN 0028) and Keel's own calls
 * (docs/hypercalls.md: version, doorbell, console).
 * Anything else answers NOT_SUPPORTED and never faults the guest.
 */
#include <keel/arch.h>
#include <keel/console_mux.h>
#include <keel/log.h>
#include <keel/psci.h>
#include <keel/cpu.h>
#include <keel/sched.h>
#include <keel/smccc.h>
#include <keel/vcpu.h>
#include <keel/vm.h>
#include <keel/vgic_vm.h>

#define PSCI_VERSION_1_1 0x10001U

static bool ipa_in_ram(struct vm *vm, u64 ipa)
{
    return ipa >= vm->cfg.ram_ipa && ipa < vm->cfg.ram_ipa + vm->cfg.mem_size;
}

static s64 psci_cpu_on(struct vcpu *v, u64 mpidr, u64 entry, u64 context)
{
    struct vcpu *t = vm_vcpu_by_mpidr(v->vm, mpidr);

    if (!t)
        return PSCI_RET_INVALID_PARAMS;
    if (!ipa_in_ram(v->vm, entry))
        return PSCI_RET_INVALID_ADDRESS;
    switch (vcpu_request_on(t, entry, context)) {
    case VCPU_ON_STARTED: return PSCI_RET_SUCCESS;
    case VCPU_ON_ALREADY_ON: return PSCI_RET_ALREADY_ON;
    case VCPU_ON_ALREADY_PENDING: return PSCI_RET_ON_PENDING;
    default: return PSCI_RET_INTERNAL_FAILURE; /* the caller is being stopped too */
    }
}

static s64 psci_affinity_info(struct vcpu *v, u64 mpidr, u64 level)
{
    struct vcpu *t = vm_vcpu_by_mpidr(v->vm, mpidr);

    if (!t || level != 0)
        return PSCI_RET_INVALID_PARAMS;
    switch (t->power) {
    case VCPU_ON: return PSCI_AFFINITY_ON;
    case VCPU_ON_PENDING: return PSCI_AFFINITY_ON_PENDING;
    default: return PSCI_AFFINITY_OFF;
    }
}

static bool psci_implemented(u32 fn)
{
    switch (fn) {
    case PSCI_VERSION: case PSCI_CPU_OFF: case PSCI_SYSTEM_OFF: case PSCI_SYSTEM_RESET:
    case PSCI_FEATURES: case PSCI_MIGRATE_INFO_TYPE:
    case PSCI_CPU_SUSPEND: case PSCI_FN64(PSCI_CPU_SUSPEND):
    case PSCI_CPU_ON: case PSCI_FN64(PSCI_CPU_ON):
    case PSCI_AFFINITY_INFO: case PSCI_FN64(PSCI_AFFINITY_INFO):
    case SMCCC_VERSION:
        return true;
    }
    return false;
}

/* SMCCC_ARCH_FEATURES for the Spectre mitigations: what this CPU needs. */
static s64 smccc_arch_features(u32 fn)
{
    switch (fn) {
    case SMCCC_VERSION:
    case SMCCC_ARCH_FEATURES:
        return SMCCC_RET_SUCCESS;
    case SMCCC_ARCH_WORKAROUND_1:
        return arch_cpu_spectre_v2_safe() ? SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED
                                           : SMCCC_RET_NOT_SUPPORTED;
    case SMCCC_ARCH_WORKAROUND_3:
        return arch_cpu_spectre_bhb_safe() ? SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED
                                            : SMCCC_RET_NOT_SUPPORTED;
    case SMCCC_ARCH_WORKAROUND_2:
        return arch_cpu_ssb_safe() ? SMCCC_RET_NOT_REQUIRED : SMCCC_RET_NOT_SUPPORTED;
    }
    return SMCCC_RET_NOT_SUPPORTED;
}

/* KEEL_HC_CONSOLE_WRITE: bytes written, or INVALID_PARAMETER for a buffer not wholly RAM of the VM. */
static s64 keel_hc_console_write(struct vm *vm, u64 ipa, u64 len)
{
    s64 n = vm_console_write_guest(vm, ipa, len);

    return n < 0 ? SMCCC_RET_INVALID_PARAMETER : n;
}

static s64 smccc_dispatch(struct vcpu *v, u32 fn, u64 a1, u64 a2, u64 a3)
{
    switch (fn) {
    case PSCI_VERSION:
        return PSCI_VERSION_1_1;
    case PSCI_FEATURES:
        return psci_implemented((u32)a1) ? 0 : PSCI_RET_NOT_SUPPORTED;
    case PSCI_CPU_SUSPEND:
    case PSCI_FN64(PSCI_CPU_SUSPEND):
        /*
         * Every suspend is taken as standby: returning at once is allowed,
         * and an exclusive CPU does. A shared one waits, as for WFI, until
         * an interrupt is pending for the vCPU (PSCI 1.1 5.4.2: a standby
         * state ends on a wake-up event) and runs others meanwhile.
         */
        if (cpu_this()->shared)
            sched_block(v);
        return PSCI_RET_SUCCESS;
    case PSCI_CPU_OFF:
        vcpu_power_off_self(v);
        return PSCI_RET_DENIED; /* not reached */
    case PSCI_CPU_ON:
    case PSCI_FN64(PSCI_CPU_ON):
        return fn == PSCI_CPU_ON ? psci_cpu_on(v, (u32)a1, (u32)a2, (u32)a3)
                                 : psci_cpu_on(v, a1, a2, a3);
    case PSCI_AFFINITY_INFO:
    case PSCI_FN64(PSCI_AFFINITY_INFO):
        return fn == PSCI_AFFINITY_INFO ? psci_affinity_info(v, (u32)a1, (u32)a2)
                                         : psci_affinity_info(v, a1, a2);
    case PSCI_MIGRATE_INFO_TYPE:
        return 2; /* no trusted OS: migration not required */
    case PSCI_SYSTEM_OFF:
        INFO("vm %s: PSCI SYSTEM_OFF from vcpu %u", v->vm->cfg.name, v->id); /* once per boot */
        vm_stop(v->vm, VM_OFF);
        return PSCI_RET_SUCCESS;
    case PSCI_SYSTEM_RESET:
        VM_INFO(v->vm, "vm %s: PSCI SYSTEM_RESET from vcpu %u", v->vm->cfg.name, v->id);
        vm_request_reset(v->vm);
        return PSCI_RET_SUCCESS;
    case SMCCC_VERSION:
        return SMCCC_VERSION_1_1;
    case SMCCC_ARCH_FEATURES:
        return smccc_arch_features((u32)a1);
    case SMCCC_ARCH_WORKAROUND_1:
    case SMCCC_ARCH_WORKAROUND_2:
    case SMCCC_ARCH_WORKAROUND_3:
        return SMCCC_RET_SUCCESS; /* only called where we said it is not needed */
    case KEEL_HC_VERSION:
        return 1;
    case KEEL_HC_DOORBELL:
        return shmem_doorbell(v->vm, a1);
    case KEEL_HC_CONSOLE_WRITE:
        return keel_hc_console_write(v->vm, a1, a2);
    case KEEL_HC_CONSOLE_READ_BYTE:
        return vm_console_getc(v->vm);
    case KEEL_HC_CONSOLE_WRITE_BYTE:
        vm_console_putc(v->vm, (char)a1);
        return SMCCC_RET_SUCCESS;
    }
    return SMCCC_RET_NOT_SUPPORTED;
}

void smccc_handle(struct vcpu *v)
{
    u64 *x = v->regs.x;
    u32 fn = (u32)x[0] & ~(u32)BIT(16); /* SMCCC 1.3: bit 16 is an SVE-state hint */
    s64 ret = smccc_dispatch(v, fn, x[1], x[2], x[3]);

    /* SMC32 results live in w0; sign-extend so callers comparing x0 with -1 agree. */
    x[0] = (fn & BIT(30)) ? (u64)ret : (u64)(s64)(s32)ret;
}
