/*
 * traps: what a trapped instruction looks like to the guest afterwards.
 *  - 32-bit userspace (AArch32 EL0, T32): a 16-bit load from an emulated
 *    device resumes at the next instruction (Keel steps over 2 bytes, as
 *    ESR_EL2.IL says, not 4); a trapped load inside an IT block leaves the
 *    IT state advanced, so the next instruction obeys its own condition.
 *  - AArch32 EL0 access to the EL1 physical timer through CP15 (MRC/MCR
 *    CNTP_CTL and CNTP_TVAL, MRRC CNTP_CVAL) where CNTKCTL_EL1.EL0PTEN
 *    allows it: the same registers as the AArch64 form, and a conditional
 *    MRC whose condition fails writes nothing.
 *  - PSTATE on entry to an exception Keel injects (an access to nothing)
 *    matches PSTATE on entry to one the CPU takes itself (SVC): SSBS from
 *    SCTLR_EL1.DSSBS, PAN from SCTLR_EL1.SPAN; and DIT carried over, as
 *    the Arm ARM says (QEMU 7.2 clears it on its own SVC entry).
 *  - A vCPU whose exception vector itself faults is stopped (AFFINITY_INFO
 *    reads OFF) instead of looping through Keel forever; the others run.
 * The T32 code is hand-encoded (the toolchain is AArch64 only); each
 * sequence ends with SVC #0, which returns to EL1.
 */
#include "libguest.h"

#define EC_SVC32 0x11
#define EC_SVC64 0x15

static volatile u64 a32_esr;   /* ESR of the exception that ended the EL0 run */
static volatile u64 a32_count; /* exceptions from AArch32 EL0 */

struct entry_pstate {
    u64 ec, dit, ssbs, pan;
};
static volatile bool want_pstate;
static struct entry_pstate seen;

static bool has_dit(void) { return FIELD_GET(read_sysreg(id_aa64pfr0_el1), 51, 48); }
static bool has_ssbs(void) { return FIELD_GET(read_sysreg(id_aa64pfr1_el1), 7, 4); }
static bool has_pan(void) { return FIELD_GET(read_sysreg(id_aa64mmfr1_el1), 23, 20); }

static bool sync_hook(u64 kind, struct ex_frame *f)
{
    if (kind == 12) {
        /* from AArch32 EL0: back to run_a32's caller, whatever it was */
        a32_esr = f->esr;
        a32_count++;
        f->elr = (u64)run_a32_return;
        f->spsr = 0x3c5; /* EL1h, DAIF masked */
        return true;
    }
    if (kind == 4 && want_pstate) {
        /* the C code before here does not touch DIT, SSBS or PAN */
        seen.ec = ESR_EC(f->esr);
        seen.dit = has_dit() ? read_sysreg(S3_3_C4_C2_5) : 0;
        seen.ssbs = has_ssbs() ? read_sysreg(S3_3_C4_C2_6) : 0;
        seen.pan = has_pan() ? read_sysreg(S3_0_C4_C2_3) : 0;
        want_pstate = false;
        if (seen.ec != EC_SVC64)
            f->elr += 4; /* the faulting load; SVC's ELR is past it already */
        return true;
    }
    return false;
}

static bool a32_ok(void)
{
    return a32_count && ESR_EC(a32_esr) == EC_SVC32;
}

static u32 gicd_iidr(void)
{
    return readl(machine.gicd_base + GICD_IIDR);
}

/* T32 code, each sequence 4-byte aligned. */
static const u16 t32_ldr16[] __aligned(4) = {
    0x6881, /* ldr   r1, [r0, #8]   16-bit, to the emulated GICD_IIDR */
    0x3201, /* adds  r2, #1         must run */
    0xdf00, /* svc   #0 */
};

static const u16 t32_it_ldr[] __aligned(4) = {
    0x4280, /* cmp   r0, r0         Z = 1 */
    0xbf0c, /* ite   eq */
    0x6881, /* ldreq r1, [r0, #8]   trapped */
    0x3201, /* addne r2, #1         condition false: must not run */
    0x3301, /* adds  r3, #1         after the block: must run */
    0xdf00, /* svc   #0 */
};

static const u16 t32_cntp[] __aligned(4) = {
    0xee0e, 0x0f32, /* mcr   p15, 0, r0, c14, c2, 1   CNTP_CTL = r0 */
    0xee1e, 0x1f32, /* mrc   p15, 0, r1, c14, c2, 1   r1 = CNTP_CTL */
    0xec53, 0x2f2e, /* mrrc  p15, 2, r2, r3, c14      r3:r2 = CNTP_CVAL */
    0xee0e, 0x4f12, /* mcr   p15, 0, r4, c14, c2, 0   CNTP_TVAL = r4 */
    0xec56, 0x5f2e, /* mrrc  p15, 2, r5, r6, c14      r6:r5 = CNTP_CVAL */
    0x4280,         /* cmp   r0, r0                   Z = 1 */
    0xbf18,         /* it    ne */
    0xee1e, 0x8f32, /* mrcne p15, 0, r8, c14, c2, 1   condition false: r8 kept */
    0xee0e, 0x7f32, /* mcr   p15, 0, r7, c14, c2, 1   CNTP_CTL = r7 */
    0xdf00,         /* svc   #0 */
};

static void run(const u16 *code, u32 *r)
{
    a32_count = 0;
    a32_esr = 0;
    run_a32((u64)code, r);
}

static void test_a32_mmio(void)
{
    u32 iidr = gicd_iidr(), r[15] = { 0 };

    report_prefix_push("aarch32 el0");
    mmu_set_user(machine.gicd_base, true);
    r[0] = (u32)machine.gicd_base;
    run(t32_ldr16, r);
    report(a32_ok(), "T32 code ran to its SVC (ESR %#lx)", a32_esr);
    report(r[1] == iidr, "16-bit LDR of GICD_IIDR read %#x (EL1 reads %#x)", r[1], iidr);
    report(r[2] == 1, "the instruction after a trapped 16-bit load ran (r2 = %u)", r[2]);

    for (unsigned int i = 0; i < 15; i++)
        r[i] = 0;
    r[0] = (u32)machine.gicd_base;
    run(t32_it_ldr, r);
    report(a32_ok(), "IT block code ran to its SVC (ESR %#lx)", a32_esr);
    report(r[1] == iidr, "LDREQ in an IT block read GICD_IIDR");
    report(r[2] == 0, "ADDNE after a trapped LDREQ did not run (IT state advanced; r2 = %u)", r[2]);
    report(r[3] == 1, "the instruction after the IT block ran (r3 = %u)", r[3]);
    mmu_set_user(machine.gicd_base, false);
    report_prefix_pop();
}

static void test_a32_cntp(void)
{
    u64 cval0 = cntvct() + (1UL << 40), kctl = read_sysreg(cntkctl_el1), cval1, now;
    u32 r[15] = { 0 };

    report_prefix_push("aarch32 el0 cntp");
    write_sysreg(cntp_ctl_el0, 0);
    write_sysreg(cntp_cval_el0, cval0);
    write_sysreg(cntkctl_el1, kctl | BIT(9)); /* EL0PTEN */
    isb();
    r[0] = 3;             /* ENABLE | IMASK: no interrupt */
    r[4] = 0x10000000;    /* TVAL */
    r[7] = 0;
    r[8] = 0x55;
    now = cntvct();
    run(t32_cntp, r);
    cval1 = ((u64)r[6] << 32) | r[5];
    report(a32_ok(), "CP15 timer code ran to its SVC (ESR %#lx)", a32_esr);
    report((r[1] & 3) == 3, "MCR then MRC CNTP_CTL: %#x", r[1]);
    report((((u64)r[3] << 32) | r[2]) == cval0, "MRRC CNTP_CVAL read %#lx (EL1 wrote %#lx)",
           ((u64)r[3] << 32) | r[2], cval0);
    report(cval1 >= now + 0x10000000 && cval1 <= cntvct() + 0x10000000,
           "MCR CNTP_TVAL then MRRC CNTP_CVAL: deadline %#lx", cval1);
    report(r[8] == 0x55, "MRCNE with the condition false left r8 alone (%#x)", r[8]);
    report(read_sysreg(cntp_ctl_el0) == 0, "MCR CNTP_CTL = 0 seen at EL1");
    report(read_sysreg(cntp_cval_el0) == cval1, "CNTP_CVAL at EL1 equals what EL0 set");
    write_sysreg(cntkctl_el1, kctl);
    isb();
    report_prefix_pop();
}

/*
 * A vCPU started with its vectors at 0 (outside RAM) that then touches
 * nothing: the abort goes to VBAR_EL1 + 0x200, whose fetch aborts at the
 * vector itself, forever. Keel stops such a vCPU; the others go on.
 */
void vector_loop_entry(u64 addr);
__asm__(".text\n"
        ".global vector_loop_entry\n"
        "vector_loop_entry:\n"
        "  msr vbar_el1, xzr\n"
        "  isb\n"
        "  ldr x1, [x0]\n"
        "1: b 1b\n");

static void test_vector_loop(void)
{
    u64 end, mpidr;
    s64 ret, state = -1;

    report_prefix_push("faulting vector");
    if (machine.nr_cpus < 2) {
        report_skip("needs a second vCPU");
        report_prefix_pop();
        return;
    }
    mpidr = machine.mpidr[machine.nr_cpus - 1];
    ret = psci_cpu_on(mpidr, (u64)vector_loop_entry, 0x09fff000);
    report(ret == 0, "CPU_ON of a vCPU whose vector faults: %ld", ret);
    end = cntvct() + us_to_ticks(2000000);
    while (cntvct() < end && (state = psci_affinity_info(mpidr, 0)) != 1 /* OFF */)
        udelay(1000);
    report(state == 1, "that vCPU was stopped (AFFINITY_INFO %ld), not left looping", state);
    report(gicd_iidr() != 0, "this vCPU still runs");
    report_prefix_pop();
}

static struct entry_pstate take(bool inject)
{
    want_pstate = true;
    if (inject)
        (void)readl(0x0a000000 - 0x1000); /* nothing there: Keel injects the abort */
    else
        __asm__ volatile("svc #0" ::: "memory");
    return seen;
}

static void test_entry_pstate(void)
{
    u64 sctlr = read_sysreg(sctlr_el1);
    struct entry_pstate hw, inj;

    report_prefix_push("exception entry");
    if (!has_dit() || !has_ssbs() || !has_pan()) {
        report_skip("needs FEAT_DIT, FEAT_SSBS and FEAT_PAN");
        report_prefix_pop();
        return;
    }
    /* DSSBS = 1, SPAN = 0: entry sets SSBS and PAN */
    write_sysreg(sctlr_el1, (sctlr | BIT(44)) & ~BIT(23));
    isb();
    /* PSTATE.PAN = 0, SSBS = 0, DIT = 1 (MSR PAN, SSBS, DIT by their register encodings) */
    __asm__ volatile("msr S3_0_C4_C2_3, xzr\n msr S3_3_C4_C2_6, xzr\n msr S3_3_C4_C2_5, %0"
                     :: "r"(BIT(24)) : "memory");
    hw = take(false);
    inj = take(true);
    want_pstate = false; /* natively nothing aborts there */
    __asm__ volatile("msr S3_3_C4_C2_5, xzr" ::: "memory");
    write_sysreg(sctlr_el1, sctlr);
    isb();
    report(hw.ec == EC_SVC64, "SVC taken (EC %#lx)", hw.ec);
    report(inj.ec == EC_DABT_CUR, "access to nothing aborted (EC %#lx)", inj.ec);
    /* the Arm ARM keeps DIT on exception entry; QEMU 7.2's own SVC entry clears it */
    report(inj.dit == BIT(24), "DIT kept on entry: injected %#lx (QEMU's SVC entry: %#lx)",
           inj.dit, hw.dit);
    report(inj.ssbs == hw.ssbs && hw.ssbs, "SSBS from SCTLR_EL1.DSSBS: injected %#lx, SVC %#lx",
           inj.ssbs, hw.ssbs);
    report(inj.pan == hw.pan && hw.pan, "PAN set with SPAN = 0: injected %#lx, SVC %#lx", inj.pan,
           hw.pan);
    report_prefix_pop();
}

void guest_main(void)
{
    sync_set_hook(sync_hook);
    if (FIELD_GET(read_sysreg(id_aa64pfr0_el1), 3, 0) < 2) {
        report_skip("no AArch32 at EL0");
    } else {
        test_a32_mmio();
        test_a32_cntp();
    }
    test_entry_pstate();
    test_vector_loop();
    sync_set_hook(NULL);
}
