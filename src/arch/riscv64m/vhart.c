/*
 * The virtual hart (see arch/vhart.h): CSR state with the WARL rules of the
 * privileged spec 1.12, the trapped SYSTEM instructions, trap delivery and
 * interrupt selection. Pure: no real CSR is touched here; the caller reads
 * the VH_* effects and updates the real hart and the shadow tables.
 *
 * Section numbers are the privileged spec's (1.12, 20211203); "Zicsr" is the
 * unprivileged spec's chapter of that name (20191213).
 */
#include <arch/vhart.h>
#include <arch/mcsr.h>
#include <arch/pmp.h>

/* SYSTEM instructions (unprivileged spec, Table 24.1; privileged, Table 9.1) */
#define OPCODE_SYSTEM 0x73
#define INSN_MRET 0x30200073
#define INSN_SRET 0x10200073
#define INSN_WFI 0x10500073
#define SFENCE_VMA_MASK 0xfe007fff /* funct7, funct3, rd, opcode; rs1 and rs2 free */
#define SFENCE_VMA_MATCH 0x12000073

/* Zicsr: funct3 bits 1:0 say which operation, bit 2 that rs1 is a 5-bit immediate (uimm) */
#define CSROP_RW 1
#define CSROP_RS 2
#define CSROP_RC 3
#define CSROP_IMM 4

/* mstatus fields M-mode can write (3.1.6): no endianness (UBE/SBE/MBE), VS or XS */
#define MSTATUS_WRITABLE (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | \
    MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | \
    MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
/* The sstatus view (4.1.1): what it shows, and what S can write of that */
#define SSTATUS_VISIBLE (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_VS | \
    MSTATUS_FS | MSTATUS_XS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD)
#define SSTATUS_WRITABLE (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | \
    MSTATUS_SUM | MSTATUS_MXR)
/* MPP = 2 is reserved (it would be H): WARL keeps the old value instead */
#define MSTATUS_MPP_RESERVED (2UL << MSTATUS_MPP_SHIFT)

/*
 * 3.1.8: the exceptions that exist and S can handle (0-9, 12, 13, 15).
 * 11, ecall from M, is read-only zero; 10 and 14 are reserved.
 */
#define MEDELEG_WRITABLE (GENMASK(9, 0) | BIT(EXC_INST_PAGE_FAULT) | \
    BIT(EXC_LOAD_PAGE_FAULT) | BIT(EXC_STORE_PAGE_FAULT))
/* 3.1.8, 3.1.9: only S-level interrupts can be delegated; M-level bits read 0 */
#define MIP_S_LEVEL (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define MIP_M_LEVEL (MIP_MSIP | MIP_MTIP | MIP_MEIP)
#define MIP_LINES (MIP_M_LEVEL | MIP_SEIP)
/* 3.1.11, 4.1.5: 32-bit WARL; every bit kept, hpmcounter3-31 then read 0 */
#define COUNTEREN_WRITABLE GENMASK(31, 0)
#define MCOUNTINHIBIT_WRITABLE (MCOUNTINHIBIT_CY | MCOUNTINHIBIT_IR)

/* The letters of the real hart's misa a guest may see (vhart_reset) */
#define MISA_PASSED (MISA_EXT('I') | MISA_EXT('M') | MISA_EXT('A') | MISA_EXT('F') | \
    MISA_EXT('D') | MISA_EXT('C'))

/* ---- the state effects are computed from ---- */

/* What the caller derives from the vhart and must redo when it changes (VH_*). */
struct vhart_snap {
    enum vpriv priv;
    u64 mstatus, mie, mip, mideleg, satp;
    u32 counteren;
};

static struct vhart_snap vhart_snap(const struct vhart *h)
{
    return (struct vhart_snap){
        .priv = h->priv, .mstatus = h->csr.mstatus, .mie = h->csr.mie, .mip = h->csr.mip,
        .mideleg = h->csr.mideleg, .satp = h->csr.satp, .counteren = vhart_counteren(h),
    };
}

/* The VH_* bits for what changed since @o was taken. */
static unsigned int vhart_effects(const struct vhart_snap *o, const struct vhart *h)
{
    struct vhart_snap n = vhart_snap(h);
    u64 ms = o->mstatus ^ n.mstatus;
    unsigned int e = 0;

    if (o->priv != n.priv || (ms & (MSTATUS_SUM | MSTATUS_MXR | MSTATUS_MPRV | MSTATUS_MPP)))
        e |= VH_MODE;
    if (o->satp != n.satp)
        e |= VH_SATP;
    /* which interrupts are taken depends on the privilege too (3.1.9) */
    if (o->priv != n.priv || (ms & (MSTATUS_MIE | MSTATUS_SIE)) || o->mie != n.mie ||
        o->mip != n.mip || o->mideleg != n.mideleg)
        e |= VH_IRQ;
    if (ms & MSTATUS_FS)
        e |= VH_FS;
    if (o->counteren != n.counteren)
        e |= VH_COUNTEREN;
    return e;
}

/* ---- reading CSRs ---- */

static u64 mstatus_read(const struct vhart *h)
{
    /* 3.1.6.6: SD says FS (or XS, VS: read-only 0 here) is Dirty; computed, never stored */
    if ((h->csr.mstatus & MSTATUS_FS) == MSTATUS_FS)
        return h->csr.mstatus | MSTATUS_SD;
    return h->csr.mstatus;
}

/* 3.1.9: MSIP, MTIP, MEIP are the lines; SEIP is the written bit OR the line */
static u64 mip_read(const struct vhart *h)
{
    return h->csr.mip | h->lines;
}

/* 3.7.1: pmpcfg0, 2, ... 14 hold 8 entries' bytes each on RV64; pmpaddr0-63 one address each */
static int pmp_read(const struct vhart *h, unsigned int csr, u64 *val)
{
    if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
        unsigned int first = (csr - CSR_PMPCFG0) * 4; /* RV64: pmpcfg2k holds entries 8k..8k+7 */

        if (csr & 1)
            return -1; /* 3.7.1: the odd pmpcfg do not exist on RV64 */
        *val = 0;
        for (unsigned int i = 0; i < 8 && first + i < VHART_NR_PMP; i++)
            *val |= (u64)h->csr.pmpcfg[first + i] << (8 * i);
        return 0;
    }
    if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
        unsigned int i = csr - CSR_PMPADDR0;

        *val = i < VHART_NR_PMP ? h->csr.pmpaddr[i] : 0; /* entries past ours: read-only 0 */
        return 0;
    }
    return -1;
}

/* ---- counters (3.1.10-3.1.12; Zicntr, Zihpm) ---- */

/* Whether the guest's mcycle or minstret is the real counter: never written, never stopped */
static bool counter_native(const struct vhart *h, const struct vcounter *c, u64 inhibit)
{
    return !c->delta && !(h->csr.mcountinhibit & inhibit);
}

/* h->ctr_native after a write to a counter or mcountinhibit */
static void counters_moved(struct vhart *h)
{
    h->ctr_native = MCOUNTEREN_TM;
    if (counter_native(h, &h->csr.mcycle, MCOUNTINHIBIT_CY))
        h->ctr_native |= MCOUNTEREN_CY;
    if (counter_native(h, &h->csr.minstret, MCOUNTINHIBIT_IR))
        h->ctr_native |= MCOUNTEREN_IR;
}

/* mcycle or minstret: @real is the real hart's counter (CSR_CYCLE, CSR_INSTRET) */
static u64 counter_read(const struct vhart *h, const struct vcounter *c, u64 inhibit,
                        unsigned int real)
{
    if (h->csr.mcountinhibit & inhibit)
        return c->frozen;
    return vhart_real_counter(real) + c->delta;
}

/* A write sets the value the next read starts from (counting on from there unless stopped) */
static void counter_write(struct vhart *h, struct vcounter *c, u64 inhibit, unsigned int real,
                          u64 val)
{
    if (h->csr.mcountinhibit & inhibit)
        c->frozen = val;
    else
        c->delta = val - vhart_real_counter(real);
    counters_moved(h);
}

/* 3.1.12: a counter stopped keeps its value; started again, it counts on from it */
static void counter_inhibit(struct vhart *h, struct vcounter *c, u64 inhibit, unsigned int real,
                            u64 val)
{
    u64 was = h->csr.mcountinhibit & inhibit, now = val & inhibit;

    if (was == now)
        return;
    if (now)
        c->frozen = vhart_real_counter(real) + c->delta;
    else
        c->delta = c->frozen - vhart_real_counter(real);
}

static void mcountinhibit_write(struct vhart *h, u64 val)
{
    counter_inhibit(h, &h->csr.mcycle, MCOUNTINHIBIT_CY, CSR_CYCLE, val);
    counter_inhibit(h, &h->csr.minstret, MCOUNTINHIBIT_IR, CSR_INSTRET, val);
    h->csr.mcountinhibit = val & MCOUNTINHIBIT_WRITABLE;
    counters_moved(h);
}

/* 3.1.11, 4.1.5: the unprivileged counters (bit n: 0xc00 + n) the current privilege may read */
static u32 counters_allowed(const struct vhart *h)
{
    switch (h->priv) {
    case VPRIV_M: return ~0U;
    case VPRIV_S: return (u32)h->csr.mcounteren;
    default:      return (u32)(h->csr.mcounteren & h->csr.scounteren);
    }
}

/* cycle, time, instret, hpmcounter3-31: the M counters' views, where allowed */
static int ucounter_read(const struct vhart *h, unsigned int csr, u64 *val)
{
    if (!(counters_allowed(h) & BIT(csr - CSR_CYCLE)))
        return -1;
    if (csr == CSR_CYCLE)
        *val = counter_read(h, &h->csr.mcycle, MCOUNTINHIBIT_CY, CSR_CYCLE);
    else if (csr == CSR_INSTRET)
        *val = counter_read(h, &h->csr.minstret, MCOUNTINHIBIT_IR, CSR_INSTRET);
    else if (csr == CSR_TIME)
        *val = vhart_real_counter(CSR_TIME); /* the VM's time is the machine's (vclint.c) */
    else
        *val = 0;
    return 0;
}

/* mhpmcounter3-31 and mhpmevent3-31: read-only 0, a legal implementation (3.1.10) */
static bool is_hpm_zero(unsigned int csr)
{
    return (csr >= CSR_MHPMCOUNTER3 && csr <= CSR_MHPMCOUNTER31) ||
           (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31);
}

/* Past the switch of vcsr_read: the CSRs that come in ranges */
static int range_read(const struct vhart *h, unsigned int csr, u64 *val)
{
    if (is_hpm_zero(csr)) {
        *val = 0;
        return 0;
    }
    if (csr >= CSR_CYCLE && csr <= CSR_HPMCOUNTER31)
        return ucounter_read(h, csr, val);
    return pmp_read(h, csr, val);
}

static int vcsr_read(const struct vhart *h, unsigned int csr, u64 *val)
{
    const struct vhart_csrs *c = &h->csr;

    switch (csr) {
    case CSR_SSTATUS:    *val = mstatus_read(h) & SSTATUS_VISIBLE; break;
    case CSR_SIE:        *val = c->mie & c->mideleg; break; /* 4.1.3 */
    case CSR_STVEC:      *val = c->stvec; break;
    case CSR_SCOUNTEREN: *val = c->scounteren; break;
    case CSR_SENVCFG:    *val = c->senvcfg; break;
    case CSR_SSCRATCH:   *val = c->sscratch; break;
    case CSR_SEPC:       *val = c->sepc; break;
    case CSR_SCAUSE:     *val = c->scause; break;
    case CSR_STVAL:      *val = c->stval; break;
    case CSR_SIP:        *val = mip_read(h) & c->mideleg; break;
    case CSR_SATP:       *val = c->satp; break;
    case CSR_MSTATUS:    *val = mstatus_read(h); break;
    case CSR_MISA:       *val = c->misa; break;
    case CSR_MEDELEG:    *val = c->medeleg; break;
    case CSR_MIDELEG:    *val = c->mideleg; break;
    case CSR_MIE:        *val = c->mie; break;
    case CSR_MTVEC:      *val = c->mtvec; break;
    case CSR_MCOUNTEREN: *val = c->mcounteren; break;
    case CSR_MENVCFG:    *val = c->menvcfg; break;
    case CSR_MSCRATCH:   *val = c->mscratch; break;
    case CSR_MEPC:       *val = c->mepc; break;
    case CSR_MCAUSE:     *val = c->mcause; break;
    case CSR_MTVAL:      *val = c->mtval; break;
    case CSR_MIP:        *val = mip_read(h); break;
    case CSR_MHARTID:    *val = h->hartid; break;
    case CSR_MVENDORID:  /* 0: "not implemented / non-commercial" (3.1.2-3.1.4, 3.1.17) */
    case CSR_MARCHID:
    case CSR_MIMPID:
    case CSR_MCONFIGPTR: *val = 0; break;
    case CSR_MCYCLE:
        *val = counter_read(h, &c->mcycle, MCOUNTINHIBIT_CY, CSR_CYCLE);
        break;
    case CSR_MINSTRET:
        *val = counter_read(h, &c->minstret, MCOUNTINHIBIT_IR, CSR_INSTRET);
        break;
    case CSR_MCOUNTINHIBIT: *val = c->mcountinhibit; break;
    default:             return range_read(h, csr, val);
    }
    return 0;
}

/* ---- writing CSRs: each field legalised as its WARL rule says ---- */

static void mstatus_write(struct vhart *h, u64 val)
{
    u64 writable = MSTATUS_WRITABLE;

    /* 3.1.6.1: MPP holds U, S or M only */
    if ((val & MSTATUS_MPP) == MSTATUS_MPP_RESERVED)
        val = (val & ~MSTATUS_MPP) | (h->csr.mstatus & MSTATUS_MPP);
    /* 3.1.6.6: with S-mode but no F, FS may be read-only zero; here it is */
    if (!(h->csr.misa & MISA_EXT('F')))
        writable &= ~MSTATUS_FS;
    /* 3.1.6.2: SXL and UXL are read-only 64-bit */
    h->csr.mstatus = (val & writable) | MSTATUS_SXL_64 | MSTATUS_UXL_64;
}

/* 3.1.7, 4.1.2: MODE Direct or Vectored; a reserved MODE leaves the register as it was */
static void tvec_write(u64 *tvec, u64 val)
{
    if ((val & MTVEC_MODE) <= MTVEC_MODE_VECTORED)
        *tvec = val;
}

/* 3.1.14, 4.1.7: bit 0 is always 0, bit 1 too when IALIGN is 32 (no C; misa is fixed) */
static u64 epc_legal(const struct vhart *h, u64 val)
{
    return val & ~(h->csr.misa & MISA_EXT('C') ? 1UL : 3UL);
}

/*
 * 4.1.11: Bare, Sv39 and Sv48 are accepted; any other MODE makes the whole
 * write have no effect. All 16 ASID bits are kept (ASIDLEN = 16) and the
 * 44 PPN bits: the shadow uses its own ASID, so the guest's costs nothing.
 */
static void satp_write(struct vhart *h, u64 val)
{
    u64 mode = val >> SATP_MODE_SHIFT;

    if (mode == SATP_MODE_BARE || mode == SATP_MODE_SV39 || mode == SATP_MODE_SV48)
        h->csr.satp = val;
}

/* mip and sip: only the bits in @writable take @val (3.1.9, 4.1.3) */
static void mip_write(struct vhart *h, u64 val, u64 writable)
{
    h->csr.mip = (h->csr.mip & ~writable) | (val & writable);
}

/* 3.7.1: pmpaddr i is frozen by its L, or by entry i + 1's if that one is TOR (i is its bottom) */
static bool pmpaddr_locked(const struct vhart *h, unsigned int i)
{
    const u8 *cfg = h->csr.pmpcfg;

    if (cfg[i] & PMP_L)
        return true;
    return i + 1 < VHART_NR_PMP && (cfg[i + 1] & PMP_L) && (cfg[i + 1] & PMP_A) == PMP_A_TOR;
}

/*
 * 3.7.1: a locked entry ignores writes; R=0 W=1 is reserved, and WARL lets
 * the entry keep its old byte; bits 6:5 are reserved and read 0. True if
 * the byte changed.
 */
static bool pmpcfg_write_entry(struct vhart *h, unsigned int i, u8 cfg)
{
    u8 old = h->csr.pmpcfg[i];

    if ((old & PMP_L) || (cfg & (PMP_R | PMP_W)) == PMP_W)
        return false;
    h->csr.pmpcfg[i] = cfg & (PMP_L | PMP_A | PMP_X | PMP_W | PMP_R);
    return h->csr.pmpcfg[i] != old;
}

/*
 * pmp_flat and its permissions (struct vhart), from the lowest entry that
 * matches anything: flat if it matches every address PMP can name (3.7.1:
 * it decides for all of them), and also if there is none (then M may do
 * anything and S and U nothing, everywhere).
 */
static void pmp_summarize(struct vhart *h)
{
    const struct vhart_csrs *c = &h->csr;
    u64 lo, last;

    for (unsigned int i = 0; i < VHART_NR_PMP; i++) {
        if (!pmp_entry_range(c->pmpcfg[i], c->pmpaddr[i], i ? c->pmpaddr[i - 1] : 0, &lo, &last))
            continue;
        h->pmp_flat = lo == 0 && last >= PMP_ADDR_LAST;
        h->pmp_flat_su = c->pmpcfg[i] & PMP_RWX;
        h->pmp_flat_m = c->pmpcfg[i] & PMP_L ? h->pmp_flat_su : PMP_RWX;
        return;
    }
    h->pmp_flat = true;
    h->pmp_flat_su = 0;
    h->pmp_flat_m = PMP_RWX;
}

static bool pmp_write_one(struct vhart *h, unsigned int csr, u64 val)
{
    bool changed = false;

    if (csr <= CSR_PMPCFG15) {
        unsigned int first = (csr - CSR_PMPCFG0) * 4;

        for (unsigned int i = 0; i < 8 && first + i < VHART_NR_PMP; i++)
            changed |= pmpcfg_write_entry(h, first + i, val >> (8 * i));
    } else {
        unsigned int i = csr - CSR_PMPADDR0;

        if (i < VHART_NR_PMP && !pmpaddr_locked(h, i)) {
            changed = h->csr.pmpaddr[i] != (val & PMPADDR_MASK);
            h->csr.pmpaddr[i] = val & PMPADDR_MASK;
        }
    }
    return changed;
}

/*
 * VH_PMP if an entry changed, 0 if none did, -1 for no such CSR. Said here,
 * not found by comparing the state before and after as the other effects
 * are (vhart_effects), which every emulated instruction would pay for.
 */
static int pmp_write(struct vhart *h, unsigned int csr, u64 val)
{
    if (csr < CSR_PMPCFG0 || csr > CSR_PMPADDR63) /* pmpcfg0-15, then pmpaddr0-63 */
        return -1;
    if (csr <= CSR_PMPCFG15 && (csr & 1))
        return -1; /* 3.7.1: the odd pmpcfg do not exist on RV64 */
    if (!pmp_write_one(h, csr, val))
        return 0;
    pmp_summarize(h);
    return VH_PMP;
}

/* 0, -1 (no such CSR), or VH_PMP (pmp_write) */
static int vcsr_write(struct vhart *h, unsigned int csr, u64 val)
{
    struct vhart_csrs *c = &h->csr;

    switch (csr) {
    case CSR_SSTATUS:
        mstatus_write(h, (c->mstatus & ~SSTATUS_WRITABLE) | (val & SSTATUS_WRITABLE));
        break;
    case CSR_SIE:        c->mie = (c->mie & ~c->mideleg) | (val & c->mideleg); break;
    case CSR_STVEC:      tvec_write(&c->stvec, val); break;
    case CSR_SCOUNTEREN: c->scounteren = val & COUNTEREN_WRITABLE; break;
    case CSR_SENVCFG:    c->senvcfg = val & SENVCFG_FIOM; break;
    case CSR_SSCRATCH:   c->sscratch = val; break;
    case CSR_SEPC:       c->sepc = epc_legal(h, val); break;
    case CSR_SCAUSE:     c->scause = val; break; /* WLRL: any value is kept */
    case CSR_STVAL:      c->stval = val; break;
    case CSR_SIP:        mip_write(h, val, c->mideleg & MIP_SSIP); break; /* 4.1.3 */
    case CSR_SATP:       satp_write(h, val); break;
    case CSR_MSTATUS:    mstatus_write(h, val); break;
    case CSR_MISA:       break; /* WARL, and fixed: writes are ignored (3.1.1) */
    case CSR_MEDELEG:    c->medeleg = val & MEDELEG_WRITABLE; break;
    case CSR_MIDELEG:    c->mideleg = val & MIP_S_LEVEL; break;
    case CSR_MIE:        c->mie = val & (MIP_S_LEVEL | MIP_M_LEVEL); break;
    case CSR_MTVEC:      tvec_write(&c->mtvec, val); break;
    case CSR_MCOUNTEREN: c->mcounteren = val & COUNTEREN_WRITABLE; break;
    case CSR_MENVCFG:    c->menvcfg = val & MENVCFG_FIOM; break;
    case CSR_MSCRATCH:   c->mscratch = val; break;
    case CSR_MEPC:       c->mepc = epc_legal(h, val); break;
    case CSR_MCAUSE:     c->mcause = val; break;
    case CSR_MTVAL:      c->mtval = val; break;
    case CSR_MIP:        mip_write(h, val, MIP_S_LEVEL); break; /* 3.1.9: M-level: lines */
    case CSR_MCYCLE:
        counter_write(h, &c->mcycle, MCOUNTINHIBIT_CY, CSR_CYCLE, val);
        break;
    case CSR_MINSTRET:
        counter_write(h, &c->minstret, MCOUNTINHIBIT_IR, CSR_INSTRET, val);
        break;
    case CSR_MCOUNTINHIBIT: mcountinhibit_write(h, val); break;
    default:
        if (is_hpm_zero(csr))
            return 0; /* WARL: they stay 0 */
        return pmp_write(h, csr, val);
    }
    return 0;
}

/*
 * 2.1 (Table 2.1): bits 9:8 of a CSR's number are the lowest privilege that
 * may access it, bits 11:10 = 3 make it read-only. 3.1.6.5: mstatus.TVM
 * takes satp away from S.
 */
static bool csr_allowed(const struct vhart *h, unsigned int csr, bool write)
{
    if (h->priv < ((csr >> 8) & 3))
        return false;
    if (write && (csr >> 10) == 3)
        return false;
    return !(csr == CSR_SATP && h->priv == VPRIV_S && (h->csr.mstatus & MSTATUS_TVM));
}

int vhart_csr_read(struct vhart *h, unsigned int csr, u64 *val)
{
    if (!csr_allowed(h, csr, false))
        return -1;
    return vcsr_read(h, csr, val);
}

int vhart_csr_write(struct vhart *h, unsigned int csr, u64 val, unsigned int *effects)
{
    struct vhart_snap before = vhart_snap(h);
    int ret = csr_allowed(h, csr, true) ? vcsr_write(h, csr, val) : -1;

    if (effects)
        *effects = ret < 0 ? 0 : (unsigned int)ret | vhart_effects(&before, h);
    return ret < 0 ? ret : 0;
}

/* ---- the trapped instructions; each returns -1 (illegal) before changing anything ---- */

static unsigned int insn_rd(u32 insn) { return (insn >> 7) & 0x1f; }
static unsigned int insn_funct3(u32 insn) { return (insn >> 12) & 7; }
static unsigned int insn_rs1(u32 insn) { return (insn >> 15) & 0x1f; }
static unsigned int insn_rs2(u32 insn) { return (insn >> 20) & 0x1f; }

static u64 reg(const u64 x[32], unsigned int r)
{
    return r ? x[r] : 0;
}

/*
 * Zicsr: CSRRW reads unless rd is x0; CSRRS and CSRRC write unless rs1 is
 * x0 (for the immediate forms: uimm 0), so those may read a read-only CSR.
 * rd gets the old value, rs1 having been read first (rd may be rs1).
 */
static int emulate_csr(struct vhart *h, u64 x[32], u32 insn)
{
    unsigned int rd = insn_rd(insn), rs1 = insn_rs1(insn), csr = insn >> 20;
    unsigned int op = insn_funct3(insn) & 3;
    u64 src = insn_funct3(insn) & CSROP_IMM ? rs1 : reg(x, rs1), old = 0;
    int written = 0;

    if (op == 0)
        return -1; /* funct3 4: the H extension's loads and stores */
    if ((op != CSROP_RW || rd) && vhart_csr_read(h, csr, &old))
        return -1;
    if (op == CSROP_RW || rs1) {
        /* 3.1.9: in csrrs/csrrc of mip or sip, SEIP takes part as written, without the line */
        u64 base = csr == CSR_MIP || csr == CSR_SIP ? h->csr.mip : old;
        u64 val = op == CSROP_RW ? src : op == CSROP_RS ? base | src : base & ~src;

        if (!csr_allowed(h, csr, true) || (written = vcsr_write(h, csr, val)) < 0)
            return -1;
    }
    if (rd)
        x[rd] = old;
    h->pc += 4;
    return written; /* VH_PMP, or 0 */
}

/*
 * Zicsr on sstatus (4.1.1) from S or M, when it changes at most SIE, SPIE
 * and SPP: xv6 reads sstatus around every lock and sets or clears SIE in
 * between, Linux clears and sets SIE with csrci/csrsi. Nothing the entry
 * sets depends on those bits; only SIE changes which interrupts are taken
 * (VH_IRQ). The value is the one vcsr_read() and vcsr_write() give.
 * -1: not such an access; emulate_csr() does it all.
 */
#define SSTATUS_FAST (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP)

static int emulate_sstatus_fast(struct vhart *h, u64 x[32], u32 insn)
{
    unsigned int rd = insn_rd(insn), rs1 = insn_rs1(insn), op = insn_funct3(insn) & 3;
    u64 ms = h->csr.mstatus, old, src, val, n = ms;

    if ((insn & 0x7f) != OPCODE_SYSTEM || (insn >> 20) != CSR_SSTATUS || !op || h->priv == VPRIV_U)
        return -1;
    old = mstatus_read(h) & SSTATUS_VISIBLE;
    if (op == CSROP_RW || rs1) {
        src = insn_funct3(insn) & CSROP_IMM ? rs1 : reg(x, rs1);
        val = op == CSROP_RW ? src : op == CSROP_RS ? old | src : old & ~src;
        n = (ms & ~SSTATUS_WRITABLE) | (val & SSTATUS_WRITABLE);
        if ((n ^ ms) & ~SSTATUS_FAST)
            return -1;
    }
    h->csr.mstatus = n;
    if (rd)
        x[rd] = old;
    h->pc += 4;
    return (n ^ ms) & MSTATUS_SIE ? VH_IRQ : 0;
}

/* 3.1.6.1, 3.3.2: MIE = MPIE, MPIE = 1, priv = MPP, MPP = U; MPRV cleared unless back to M */
static int emulate_mret(struct vhart *h)
{
    u64 s = h->csr.mstatus;
    enum vpriv to = (s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT;

    if (h->priv != VPRIV_M)
        return -1;
    s &= ~(MSTATUS_MIE | MSTATUS_MPP);
    if (h->csr.mstatus & MSTATUS_MPIE)
        s |= MSTATUS_MIE;
    s |= MSTATUS_MPIE;
    if (to != VPRIV_M)
        s &= ~MSTATUS_MPRV;
    h->csr.mstatus = s;
    h->priv = to;
    h->pc = h->csr.mepc;
    return 0;
}

/* The same for S (4.1.1, 3.3.2); SRET never goes to M, so it always clears MPRV. 3.1.6.5: TSR */
static int emulate_sret(struct vhart *h)
{
    u64 s = h->csr.mstatus;
    enum vpriv to = s & MSTATUS_SPP ? VPRIV_S : VPRIV_U;

    if (h->priv == VPRIV_U || (h->priv == VPRIV_S && (s & MSTATUS_TSR)))
        return -1;
    s &= ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV);
    if (h->csr.mstatus & MSTATUS_SPIE)
        s |= MSTATUS_SIE;
    s |= MSTATUS_SPIE;
    h->csr.mstatus = s;
    h->priv = to;
    h->pc = h->csr.sepc;
    return 0;
}

/*
 * 3.3.3, 3.1.6.5: WFI is illegal in U (S-mode exists) and in S with TW=1.
 * The spec lets both wait a bounded time first; here they trap at once.
 */
static int emulate_wfi(struct vhart *h)
{
    if (h->priv == VPRIV_U || (h->priv == VPRIV_S && (h->csr.mstatus & MSTATUS_TW)))
        return -1;
    h->pc += 4;
    return VH_WFI;
}

/* 4.2.1: rs1 = x0 fences every address, rs2 = x0 every ASID. 3.1.6.5: TVM takes it from S */
static int emulate_sfence(struct vhart *h, const u64 x[32], u32 insn, u64 *va, u64 *asid)
{
    unsigned int rs1 = insn_rs1(insn), rs2 = insn_rs2(insn);

    if (h->priv == VPRIV_U || (h->priv == VPRIV_S && (h->csr.mstatus & MSTATUS_TVM)))
        return -1;
    *va = rs1 ? x[rs1] : VH_FENCE_ALL;
    *asid = rs2 ? x[rs2] : VH_FENCE_ALL;
    h->pc += 4;
    return VH_SFENCE;
}

/* Zicsr: CSRRS or CSRRC (register or immediate form) with rs1/uimm 0 writes nothing */
static bool csr_read_only(u32 insn)
{
    unsigned int op = insn_funct3(insn) & 3;

    return (insn & 0x7f) == OPCODE_SYSTEM && (op == CSROP_RS || op == CSROP_RC) && !insn_rs1(insn);
}

/* ECALL and EBREAK trap as themselves on the real hart and never come here */
static int emulate_one(struct vhart *h, u64 x[32], u32 insn, u64 *va, u64 *asid)
{
    if ((insn & 0x7f) != OPCODE_SYSTEM)
        return -1;
    if (insn_funct3(insn))
        return emulate_csr(h, x, insn);
    if (insn == INSN_MRET)
        return emulate_mret(h);
    if (insn == INSN_SRET)
        return emulate_sret(h);
    if (insn == INSN_WFI)
        return emulate_wfi(h);
    if ((insn & SFENCE_VMA_MASK) == SFENCE_VMA_MATCH)
        return emulate_sfence(h, x, insn, va, asid);
    return -1;
}

unsigned int vhart_emulate(struct vhart *h, u64 x[32], u32 insn, u64 *fence_va, u64 *fence_asid)
{
    struct vhart_snap before;
    int ret = emulate_sstatus_fast(h, x, insn);

    if (ret >= 0)
        return (unsigned int)ret;
    if (csr_read_only(insn)) {
        /* xv6 reads sstatus around every lock: nothing but rd and pc change */
        ret = emulate_csr(h, x, insn);
        return ret < 0 ? vhart_trap(h, EXC_ILLEGAL_INST, insn) : 0;
    }
    before = vhart_snap(h);
    ret = emulate_one(h, x, insn, fence_va, fence_asid);
    if (ret < 0)
        return vhart_trap(h, EXC_ILLEGAL_INST, insn);
    return ret | vhart_effects(&before, h);
}

/* ---- traps and interrupts ---- */

/* 3.1.7, 4.1.2: in Vectored mode interrupts go to BASE + 4 * cause, exceptions to BASE */
static u64 tvec_target(u64 tvec, u64 cause)
{
    u64 base = tvec & ~MTVEC_MODE;

    if ((tvec & MTVEC_MODE) == MTVEC_MODE_VECTORED && (cause & MCAUSE_INTERRUPT))
        base += 4 * (cause & ~MCAUSE_INTERRUPT);
    return base;
}

/* 3.1.8: to S when delegated, unless taken in M: a trap never lowers the privilege */
static bool trap_goes_to_s(const struct vhart *h, u64 cause)
{
    u64 code = cause & ~MCAUSE_INTERRUPT;
    u64 deleg = cause & MCAUSE_INTERRUPT ? h->csr.mideleg : h->csr.medeleg;

    return h->priv != VPRIV_M && code < 64 && ((deleg >> code) & 1);
}

/* 4.1.1: SPP = priv, SPIE = SIE, SIE = 0 */
static void trap_enter_s(struct vhart *h, u64 cause, u64 tval)
{
    struct vhart_csrs *c = &h->csr;
    u64 s = c->mstatus & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE);

    if (h->priv == VPRIV_S)
        s |= MSTATUS_SPP;
    if (c->mstatus & MSTATUS_SIE)
        s |= MSTATUS_SPIE;
    c->mstatus = s;
    c->sepc = h->pc;
    c->scause = cause;
    c->stval = tval;
    h->priv = VPRIV_S;
    h->pc = tvec_target(c->stvec, cause);
}

/* 3.1.6.1: MPP = priv, MPIE = MIE, MIE = 0 */
static void trap_enter_m(struct vhart *h, u64 cause, u64 tval)
{
    struct vhart_csrs *c = &h->csr;
    u64 s = c->mstatus & ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE);

    s |= (u64)h->priv << MSTATUS_MPP_SHIFT;
    if (c->mstatus & MSTATUS_MIE)
        s |= MSTATUS_MPIE;
    c->mstatus = s;
    c->mepc = h->pc;
    c->mcause = cause;
    c->mtval = tval;
    h->priv = VPRIV_M;
    h->pc = tvec_target(c->mtvec, cause);
}

unsigned int vhart_trap(struct vhart *h, u64 cause, u64 tval)
{
    struct vhart_snap before = vhart_snap(h);

    if (trap_goes_to_s(h, cause))
        trap_enter_s(h, cause, tval);
    else
        trap_enter_m(h, cause, tval);
    return VH_TRAP | VH_MODE | vhart_effects(&before, h);
}

/* 3.1.9: the order among simultaneous interrupts for one privilege */
static int irq_highest(u64 set)
{
    static const u8 order[] = {
        IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER,
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(order); i++)
        if (set & BIT(order[i]))
            return order[i];
    return -1;
}

/*
 * 3.1.9, 4.1.3: an interrupt not delegated goes to M, enabled below M or
 * at M with MIE; a delegated one goes to S, enabled below S or at S with
 * SIE, never at M. Those for M come first, whatever their number.
 */
int vhart_pending_irq(const struct vhart *h)
{
    const struct vhart_csrs *c = &h->csr;
    u64 pending = mip_read(h) & c->mie;
    bool m_on, s_on;
    int irq;

    if (!pending)
        return -1; /* the common case on every exit: decided before the modes */
    m_on = h->priv < VPRIV_M || (c->mstatus & MSTATUS_MIE);
    s_on = h->priv < VPRIV_S || (h->priv == VPRIV_S && (c->mstatus & MSTATUS_SIE));
    irq = m_on ? irq_highest(pending & ~c->mideleg) : -1;

    if (irq < 0 && s_on)
        irq = irq_highest(pending & c->mideleg);
    return irq;
}

bool vhart_wfi_wakes(const struct vhart *h)
{
    return (mip_read(h) & h->csr.mie) != 0;
}

bool vhart_set_line(struct vhart *h, u64 bit, bool level)
{
    u64 before = mip_read(h);

    bit &= MIP_LINES;
    h->lines = level ? h->lines | bit : h->lines & ~bit;
    return mip_read(h) != before;
}

/* ---- what the real hart holds for the guest ---- */

u64 vhart_real_fs(const struct vhart *h)
{
    return h->csr.mstatus & MSTATUS_FS;
}

/*
 * The real hart serves what the guest may read (3.1.11, 4.1.5) and reads
 * as the guest's own value; everything else traps to vhart_csr_read. time
 * is always the real one; the hpm counters (read 0 here) always trap.
 */
u32 vhart_counteren(const struct vhart *h)
{
    return counters_allowed(h) & h->ctr_native;
}

unsigned int vhart_pmp_decide(const struct vhart *h, u64 addr, u64 len, enum vpriv priv)
{
    const struct vhart_csrs *c = &h->csr;
    bool whole;
    int i;

    if (h->pmp_flat)
        return priv == VPRIV_M ? h->pmp_flat_m : h->pmp_flat_su;
    i = pmp_decide(c->pmpcfg, c->pmpaddr, VHART_NR_PMP, addr, len, &whole);
    if (i < 0) /* 3.7.1: M succeeds, S and U fail (entries are implemented) */
        return priv == VPRIV_M ? PMP_RWX : 0;
    if (!whole) /* "irrespective of the L, R, W, and X bits" */
        return VHART_PMP_SPLIT;
    if (priv == VPRIV_M && !(c->pmpcfg[i] & PMP_L))
        return PMP_RWX;
    return c->pmpcfg[i] & PMP_RWX;
}

/*
 * 3.4 "Reset": M-mode, MIE = MPRV = 0, every PMP entry's A and L 0 (so S
 * and U reach nothing until M opens an entry); everything else Keel
 * chooses: 0
 */
void vhart_reset(struct vhart *h, u64 hartid, u64 real_misa, u64 entry)
{
    *h = (struct vhart){ .priv = VPRIV_M, .pc = entry, .hartid = hartid,
                         .ctr_native = MCOUNTEREN_CY | MCOUNTEREN_TM | MCOUNTEREN_IR };
    h->csr.misa = MISA_MXL_64 | (real_misa & MISA_PASSED) | MISA_EXT('S') | MISA_EXT('U');
    h->csr.mstatus = MSTATUS_SXL_64 | MSTATUS_UXL_64;
    pmp_summarize(h);
}
