/*
 * Guest exits under Keel in M-mode (trap-and-emulate). The guest runs in
 * the real hart's U-mode and every trap comes here (trap.S): privileged
 * instructions and CSR accesses (illegal instruction: vhart.c emulates
 * them), page faults (a shadow leaf to fill, a fault of the guest's own to
 * deliver, or an emulated device), the guest's ecall, and Keel's own
 * interrupts. Before each entry the virtual hart's interrupts are delivered
 * and the real satp, mepc and mstatus set for where the guest resumes.
 */
#include <arch/csr.h>
#include <arch/insn.h>
#include <arch/mmode.h>
#include <arch/pgtable.h>
#include <keel/arch.h>
#include <keel/console_mux.h>
#include <keel/cpu.h>
#include <keel/irqchip.h>
#include <keel/log.h>
#include <keel/panic.h>
#include <keel/vcpu_arch.h>
#include <keel/vm.h>

struct vcpu *rvm_guest_trap(struct vcpu *v);
void rvm_prepare_entry(struct vcpu *v);
void rvm_shadows_reset(struct vcpu *v);
void rvm_satp_write(u64 satp);
extern u64 rvm_clint;

/* The real satp's ASIDs: the physical map, the S and the U shadow (privileged spec 4.1.11). */
#define ASID_PHYSMAP 1UL
#define ASID_OF_SHADOW(i) (2UL + (i))

static void tlb_flush_asid(u64 asid)
{
    asm volatile("sfence.vma x0, %0" :: "r"(asid) : "memory");
}

static void tlb_flush_page(u64 va, u64 asid)
{
    asm volatile("sfence.vma %0, %1" :: "r"(va), "r"(asid) : "memory");
}

/* ---- the guest's memory, as its page-table walk reads it ---- */

static int gmem_read64(void *ctx, u64 gpa, u64 *val)
{
    u64 *p = (gpa & 7) ? NULL : vm_ipa_to_hva(ctx, ipa_init(gpa), 8);

    if (!p)
        return -1;
    *val = __atomic_load_n(p, __ATOMIC_RELAXED);
    return 0;
}

static int gmem_cas64(void *ctx, u64 gpa, u64 old, u64 new_val, u64 *seen)
{
    u64 *p = (gpa & 7) ? NULL : vm_ipa_to_hva(ctx, ipa_init(gpa), 8);

    if (!p)
        return -1;
    *seen = old;
    __atomic_compare_exchange_n(p, seen, new_val, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    return 0;
}

/* ---- shadows ---- */

static void shadow_flush(struct vcpu *v, unsigned int i)
{
    shadow_clear(&v->arch.shadow[i]);
    v->arch.flushes++;
    tlb_flush_asid(ASID_OF_SHADOW(i));
}

void rvm_shadows_reset(struct vcpu *v)
{
    for (unsigned int i = 0; i < SHADOWS; i++) {
        shadow_clear(&v->arch.shadow[i]);
        v->arch.shadow_satp[i] = 0;
    }
}

static bool guest_translates(const struct vhart *h, enum vpriv p)
{
    return p != VPRIV_M && (h->csr.satp & SATP_MODE_MASK);
}

static u8 shadow_key_flags(const struct vhart *h)
{
    return (u8)((h->csr.mstatus & MSTATUS_SUM ? 1 : 0) | (h->csr.mstatus & MSTATUS_MXR ? 2 : 0));
}

/*
 * The real satp for where the guest runs now: its physical map while it is
 * untranslated, else the shadow of its privilege, emptied first if it was
 * built for another guest satp, SUM or MXR. A guest M-mode with MPRV set to
 * a translated MPP would need two translations at once (fetch and data):
 * not supported (the physical map serves both; docs/riscv-mmode.md).
 */
static u64 satp_pick(struct vcpu *v)
{
    struct vhart *h = &v->arch.h;
    unsigned int i = h->priv == VPRIV_U ? SHADOW_U : SHADOW_S;
    struct shadow *s = &v->arch.shadow[i];
    unsigned int levels = (h->csr.satp & SATP_MODE_MASK) == SATP_SV48 ? 4 : 3;

    if (!guest_translates(h, h->priv))
        return v->vm->s2_base | ASID_PHYSMAP << SATP_ASID_SHIFT;
    if (v->arch.shadow_satp[i] != h->csr.satp || v->arch.shadow_flags[i] != shadow_key_flags(h)) {
        if (s->levels != levels) {
            shadow_destroy(s);
            CHECK(shadow_init(s, levels) == 0);
        }
        shadow_flush(v, i);
        v->arch.shadow_satp[i] = h->csr.satp;
        v->arch.shadow_flags[i] = shadow_key_flags(h);
    }
    return shadow_satp(s) | ASID_OF_SHADOW(i) << SATP_ASID_SHIFT;
}

/* QEMU flushes its whole TLB at every satp write: only changes are written. */
static u64 satp_now[PLAT_MAX_CPUS];

void rvm_satp_write(u64 satp)
{
    unsigned int cpu = cpu_this()->id;

    if (satp_now[cpu] != satp) {
        satp_now[cpu] = satp;
        csr_write(CSR_SATP, satp);
    }
}

/* ---- delivering to the guest ---- */

static void deliver(struct vcpu *v, u64 cause, u64 tval)
{
    v->exits[EXIT_TRAP]++;
    vhart_trap(&v->arch.h, cause, tval);
}

static void __attribute__((cold)) access_fault(struct vcpu *v, enum gpt_access acc, u64 va,
                                               u64 gpa, const char *why)
{
    u64 cause = acc == GPT_FETCH ? EXC_INST_ACCESS : acc == GPT_LOAD ? EXC_LOAD_ACCESS
                                                                     : EXC_STORE_ACCESS;

    VM_WARN(v->vm, "vm %s vcpu %u: %s at guest-physical %#lx (address %#lx, pc %#lx): %s; "
            "access fault delivered", v->vm->cfg.name, v->id,
            acc == GPT_FETCH ? "fetch" : acc == GPT_LOAD ? "read" : "write", gpa, va,
            v->arch.h.pc, why);
    deliver(v, cause, va);
}

/*
 * The host address the real hart reaches guest address @va at now: through
 * the physical map, or the shadow (which holds every page the guest just
 * ran from). Read in software: a load with mstatus.MPRV would do it in
 * hardware, but QEMU flushes its whole TLB on each MPRV change. 0: absent.
 */
static u64 guest_va_to_host(struct vcpu *v, u64 va)
{
    const struct vhart *h = &v->arch.h;
    const struct shadow *s = &v->arch.shadow[h->priv == VPRIV_U ? SHADOW_U : SHADOW_S];
    const u64 *table = s->root;
    u64 pte = 0;

    if (!guest_translates(h, h->priv)) {
        void *p = vm_ipa_to_hva(v->vm, ipa_init(va), 1);
        return (u64)p;
    }
    for (int level = (int)s->levels - 1; level >= 0; level--) {
        pte = table[(va >> (12 + 9 * level)) & 511];
        if (!(pte & PTE_V))
            return 0;
        table = (const u64 *)((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT << 12);
    }
    return (u64)table + (va & 0xfff);
}

/* The trapping instruction at @pc (4-byte ones may straddle a page). -1 if it cannot be read. */
static long read_guest_insn(struct vcpu *v, u64 pc, u32 *insn)
{
    u64 lo = guest_va_to_host(v, pc), hi;

    if (!lo)
        return -1;
    *insn = *(const u16 *)lo;
    if ((*insn & 3) != 3)
        return 0;
    hi = guest_va_to_host(v, pc + 2);
    if (!hi)
        return -1;
    *insn |= (u32)*(const u16 *)hi << 16;
    return 0;
}

/* ---- page faults ---- */

/*
 * Guest-physical @gpa's host page and the permissions the VM has there
 * (RAM: all; shared memory and passed-through devices: their map's). False
 * if nothing is mapped: an emulated device, or nothing at all.
 */
static bool host_page(struct vm *vm, u64 gpa, u64 *hpa, u64 *perms)
{
    unsigned int level;
    u64 pte;
    void *p = vm_ipa_range_is_ram(vm, gpa, 0) ? vm_ipa_to_hva(vm, ipa_init(gpa & ~0xfffUL), 4096)
                                              : NULL;

    if (p) {
        *hpa = (u64)p;
        *perms = PTE_R | PTE_W | PTE_X;
        return true;
    }
    pte = pgtable_walk(&vm->s2, gpa, &level);
    if (!pte)
        return false;
    *hpa = ((pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT << 12) + (gpa & (PT_LEVEL_SIZE(level) - 1));
    *hpa &= ~0xfffUL;
    *perms = pte & (PTE_R | PTE_W | PTE_X);
    return true;
}

static u64 access_perm(enum gpt_access acc)
{
    return acc == GPT_FETCH ? PTE_X : acc == GPT_LOAD ? PTE_R : PTE_W;
}

static u64 sign_extend(u64 val, unsigned int bits)
{
    u64 m = 1UL << (bits - 1);
    return (val ^ m) - m;
}

static void mmio_emulate(struct vcpu *v, enum gpt_access acc, u64 va, u64 gpa)
{
    struct mmio_region *r = vcpu_find_mmio(v, gpa);
    struct mmio_insn d;
    u32 insn;
    u64 val;

    if (!r || acc == GPT_FETCH)
        return access_fault(v, acc, va, gpa, "nothing mapped there");
    if (read_guest_insn(v, v->arch.h.pc, &insn) || !insn_decode_mmio(insn, &d) ||
        d.write != (acc == GPT_STORE))
        return access_fault(v, acc, va, gpa, "not a load or store Keel can emulate");
    v->exits[EXIT_MMIO]++;
    if (d.write) {
        val = vcpu_get_reg(v, d.reg);
        if (d.size < 8)
            val &= (1UL << (8 * d.size)) - 1;
        if (r->write(v, gpa - r->base, d.size, val))
            return access_fault(v, acc, va, gpa, "refused by the device");
    } else {
        if (r->read(v, gpa - r->base, d.size, &val))
            return access_fault(v, acc, va, gpa, "refused by the device");
        if (d.sign_extend && d.size < 8)
            val = sign_extend(val, 8 * d.size);
        vcpu_set_reg(v, d.reg, val);
    }
    v->arch.h.pc += d.len;
}

/* An untranslated access missed the physical map: RAM never touched, or a device. */
static void physical_fault(struct vcpu *v, enum gpt_access acc, u64 gpa)
{
    if (vm_ram_fault(v->vm, ipa_init(gpa)))
        return; /* zeroed and mapped now: the access retries */
    mmio_emulate(v, acc, gpa, gpa);
}

/* A translated access: the guest's walk, then a shadow leaf, a device, or its own fault. */
static void translated_fault(struct vcpu *v, enum gpt_access acc, enum vpriv p, u64 va)
{
    struct vhart *h = &v->arch.h;
    const struct gpt_mem mem = { .ctx = v->vm, .read64 = gmem_read64, .cas64 = gmem_cas64 };
    bool sum = h->csr.mstatus & MSTATUS_SUM, mxr = h->csr.mstatus & MSTATUS_MXR;
    unsigned int i = h->priv == VPRIV_U ? SHADOW_U : SHADOW_S;
    struct gpt_result r;
    u64 hpa, perms;
    int err = gpt_walk(&mem, h->csr.satp, va, acc, p, sum, mxr, &r);

    if (err)
        return deliver(v, (u64)err, va);
    if (!host_page(v->vm, r.gpa, &hpa, &perms))
        return mmio_emulate(v, acc, va, r.gpa);
    perms &= shadow_perms(&r, p, sum, mxr);
    if (!(perms & access_perm(acc)))
        return access_fault(v, acc, va, r.gpa, "not allowed by the VM's map");
    if (shadow_map(&v->arch.shadow[i], va & ~0xfffUL, hpa, perms)) {
        VM_WARN(v->vm, "vm %s vcpu %u: no memory for a shadow table; emptied", v->vm->cfg.name,
                v->id);
        shadow_flush(v, i);
        return;
    }
    v->exits[EXIT_FILL]++;
    v->arch.fills++;
    tlb_flush_page(va, ASID_OF_SHADOW(i));
}

static void page_fault(struct vcpu *v, u64 cause, u64 va)
{
    struct vhart *h = &v->arch.h;
    enum gpt_access acc = cause == EXC_INST_PAGE_FAULT ? GPT_FETCH
                        : cause == EXC_LOAD_PAGE_FAULT ? GPT_LOAD : GPT_STORE;
    enum vpriv p = acc == GPT_FETCH ? h->priv : vhart_data_priv(h);

    if (guest_translates(h, p) && guest_translates(h, h->priv))
        translated_fault(v, acc, p, va);
    else
        physical_fault(v, acc, va);
}

/* ---- privileged instructions ---- */

static void shadows_fence(struct vcpu *v, u64 va)
{
    for (unsigned int i = 0; i < SHADOWS; i++) {
        if (va == VH_FENCE_ALL) {
            shadow_flush(v, i);
        } else {
            shadow_unmap(&v->arch.shadow[i], va);
            tlb_flush_page(va, ASID_OF_SHADOW(i));
        }
    }
}

static bool vcpu_has_irq(struct vcpu *v);

/* wfi: this hart sleeps until an interrupt the guest enabled in mie is pending. */
static void wait_interrupt(struct vcpu *v)
{
    v->arch.suspended = true;
    while (!vcpu_has_irq(v) && !v->stopping) {
        asm volatile("wfi" ::: "memory");
        arch_irq_handle_pending(v);
    }
    v->arch.suspended = false;
}

/*
 * mtval may hold the instruction (3.1.16), but need not, and QEMU 10 leaves
 * a stale one there for mret and sret: the instruction is read from memory.
 */
static void illegal_insn(struct vcpu *v)
{
    u64 fence_va, fence_asid;
    unsigned int fx;
    u32 insn;

    if (read_guest_insn(v, v->arch.h.pc, &insn))
        return; /* its page went meanwhile: the fetch faults again and is served */
    v->exits[EXIT_INSN]++;
    fx = vhart_emulate(&v->arch.h, v->regs.x, insn, &fence_va, &fence_asid);
    if (fx & VH_TRAP) v->exits[EXIT_TRAP]++;
    if (fx & VH_SFENCE)
        shadows_fence(v, fence_va);
    if (fx & VH_WFI)
        wait_interrupt(v);
}

/* ---- interrupts ---- */

static u64 programmed_cmp[PLAT_MAX_CPUS];

static void timer_program(u64 cmp)
{
    struct cpu *c = cpu_this();

    if (programmed_cmp[c->id] != cmp) {
        programmed_cmp[c->id] = cmp;
        *(volatile u64 *)(rvm_clint + CLINT_MTIMECMP(c->hwid)) = cmp;
    }
}

/* The lines other harts drive, and the timer's from the counter; its deadline armed. */
static void lines_sync(struct vcpu *v)
{
    u64 cmp = __atomic_load_n(&v->arch.mtimecmp, __ATOMIC_ACQUIRE);
    u64 lines = __atomic_load_n(&v->arch.lines, __ATOMIC_ACQUIRE);
    bool due = arch_counter_read() >= cmp;

    v->arch.h.lines = lines | (due ? MIP_MTIP : 0);
    timer_program(due ? ~0UL : cmp);
}

static bool vcpu_has_irq(struct vcpu *v)
{
    lines_sync(v);
    return vhart_wfi_wakes(&v->arch.h);
}

static bool irq_handle_one(void)
{
    u32 hwirq = irqchip_ack();

    if (hwirq == IRQCHIP_NONE)
        return false;
    if (pt_handle_irq(hwirq))
        return true; /* completed when the guest completes it */
    if (hwirq == platform.uart_irq)
        console_rx_irq();
    irqchip_deactivate(hwirq);
    return true;
}

void arch_irq_handle_pending(struct vcpu *v)
{
    u64 mip = csr_read(CSR_MIP);

    if (mip & MIP_MSIP)
        *(volatile u32 *)(rvm_clint + CLINT_MSIP(cpu_this()->hwid)) = 0; /* a kick */
    if (mip & MIP_MTIP)
        timer_program(~0UL); /* a guest's deadline: lines_sync() raises its line */
    if (mip & MIP_MEIP)
        while (irq_handle_one())
            ;
}

/* ---- the exit and the entry ---- */

static void handle_exception(struct vcpu *v, u64 cause, u64 tval)
{
    switch (cause) {
    case EXC_ILLEGAL_INST:
        illegal_insn(v);
        break;
    case EXC_INST_PAGE_FAULT:
    case EXC_LOAD_PAGE_FAULT:
    case EXC_STORE_PAGE_FAULT:
        page_fault(v, cause, tval);
        break;
    case EXC_ECALL_U: /* the guest's ecall, from the privilege it believes it has */
        deliver(v, v->arch.h.priv == VPRIV_M ? EXC_ECALL_M : EXC_ECALL_U + v->arch.h.priv, 0);
        break;
    default:
        v->exits[EXIT_OTHER]++;
        if (cause == EXC_INST_ACCESS || cause == EXC_LOAD_ACCESS || cause == EXC_STORE_ACCESS)
            VM_WARN(v->vm, "vm %s vcpu %u: access fault (cause %lu) at %#lx, pc %#lx; delivered",
                    v->vm->cfg.name, v->id, cause, tval, v->arch.h.pc);
        deliver(v, cause, tval);
    }
}

/*
 * The guest's FP registers live in the real hart: a write there made the
 * real FS Dirty, which its own mstatus.FS must show (3.1.6.6: software
 * saves the FP state only when it is Dirty).
 */
static void fs_sync(struct vcpu *v)
{
    u64 *ms = &v->arch.h.csr.mstatus;

    if ((csr_read(CSR_MSTATUS) & MSTATUS_FS) == MSTATUS_FS && (*ms & MSTATUS_FS))
        *ms |= MSTATUS_FS;
}

struct vcpu *rvm_guest_trap(struct vcpu *v)
{
    u64 cause = csr_read(CSR_MCAUSE), tval = csr_read(CSR_MTVAL);

    v->arch.h.pc = csr_read(CSR_MEPC);
    fs_sync(v);
    if (cause & MCAUSE_INTERRUPT) {
        v->exits[EXIT_IRQ]++;
        arch_irq_handle_pending(v);
    } else {
        handle_exception(v, cause, tval);
    }
    rvm_prepare_entry(v);
    return v;
}

/*
 * The guest's pending interrupt delivered (vhart.c decides which and to
 * which mode), then the real hart set for where the guest resumes.
 */
void rvm_prepare_entry(struct vcpu *v)
{
    struct vhart *h = &v->arch.h;
    int irq;
    u64 ms;

    if (unlikely(v->stopping))
        vcpu_stop_self(v);
    lines_sync(v);
    irq = vhart_pending_irq(h);
    if (irq >= 0) {
        vhart_trap(h, MCAUSE_INTERRUPT | (u64)irq, 0);
        v->irqs_injected++;
    }
    rvm_satp_write(satp_pick(v));
    csr_write(CSR_MEPC, h->pc);
    csr_write(CSR_MCOUNTEREN, vhart_counteren(h));
    csr_write(CSR_SCOUNTEREN, vhart_counteren(h));
    ms = csr_read(CSR_MSTATUS) & ~(MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_MPIE | MSTATUS_FS);
    csr_write(CSR_MSTATUS, ms | vhart_real_fs(h));
}
