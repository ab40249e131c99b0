/*
 * A host model of the system registers the save/load code touches: plain
 * registers by name, and a PMUv3 whose SET/CLR pairs, PMCR_EL0 and counting
 * behave as the Arm ARM describes (D13.4). Every access is logged in order,
 * and an access to a register the test did not implement fails the test,
 * as an UNDEFINED MRS/MSR at EL2 would stop Keel.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_sysreg.h"
#include "fake_sysreg_model.h"

#define MAX_REGS 128

struct reg {
    char name[32];
    u64 val;
};

static struct reg regs[MAX_REGS];
static unsigned int nregs;

struct fake_access fake_log[4096];
unsigned int fake_log_len;

/* The PMU, when fake_pmu() gave one. */
#define PMCR_RW (PMCR_EL0_E | PMCR_EL0_D | PMCR_EL0_X | PMCR_EL0_DP | PMCR_EL0_LC | PMCR_EL0_LP | \
                 PMCR_EL0_FZO)
#define PMCR_IMP (0x41UL << 24)
static struct {
    bool present;
    unsigned int n;
    u64 pmcr, cnten, inten, ovs, selr, userenr, ccfiltr, ccntr;
    u64 evcnt[31], evtyper[31];
    bool qemu_line; /* as QEMU 10.0 drives it: recomputed on PMINTEN and PMOVS writes only */
} pmu;

static void lower(char *dst, const char *src)
{
    size_t i;

    for (i = 0; src[i] && i < 31; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = 0;
}

static void log_access(char op, const char *name, u64 val)
{
    struct fake_access *a = &fake_log[fake_log_len];

    if (fake_log_len >= sizeof(fake_log) / sizeof(fake_log[0]))
        fail_msg("access log full");
    a->op = op;
    lower(a->name, name);
    a->val = val;
    fake_log_len++;
}

static struct reg *find(const char *name)
{
    char n[32];

    lower(n, name);
    for (unsigned int i = 0; i < nregs; i++)
        if (!strcmp(regs[i].name, n))
            return &regs[i];
    return NULL;
}

void fake_reset(void)
{
    nregs = 0;
    memset(&pmu, 0, sizeof(pmu));
    fake_log_clear();
}

void fake_log_clear(void)
{
    fake_log_len = 0;
}

void fake_reg(const char *name, u64 val)
{
    struct reg *r = find(name);

    if (!r) {
        assert_true(nregs < MAX_REGS);
        r = &regs[nregs++];
        lower(r->name, name);
    }
    r->val = val;
}

/* ---- the PMU ---- */

static u64 pmu_impl(void)
{
    return GENMASK(pmu.n - 1, 0) | BIT(31);
}

void fake_pmu(unsigned int n)
{
    memset(&pmu, 0, sizeof(pmu));
    pmu.present = true;
    pmu.n = n;
}

void fake_pmu_tick(u64 events)
{
    if (!(pmu.pmcr & PMCR_EL0_E))
        return;
    for (unsigned int i = 0; i < pmu.n; i++)
        if (pmu.cnten & BIT(i))
            pmu.evcnt[i] += events;
    if (pmu.cnten & BIT(31))
        pmu.ccntr += events;
}

bool fake_pmu_line(void)
{
    return (pmu.pmcr & PMCR_EL0_E) && (pmu.inten & pmu.ovs);
}

bool fake_pmu_qemu_line(void)
{
    return pmu.qemu_line;
}

/* PMEVCNTR<m>_EL0 or PMEVTYPER<m>_EL0: the slot, or NULL if @name is neither. */
static u64 *pmu_evreg(const char *name)
{
    unsigned int m;
    char tail[8];

    if (sscanf(name, "pmevcntr%u%7s", &m, tail) == 2 && !strcmp(tail, "_el0")) {
        if (m >= pmu.n)
            fail_msg("%s: no such counter (N = %u): UNDEFINED", name, pmu.n);
        return &pmu.evcnt[m];
    }
    if (sscanf(name, "pmevtyper%u%7s", &m, tail) == 2 && !strcmp(tail, "_el0")) {
        if (m >= pmu.n)
            fail_msg("%s: no such counter (N = %u): UNDEFINED", name, pmu.n);
        return &pmu.evtyper[m];
    }
    return NULL;
}

static u64 *pmu_plain(const char *n)
{
    if (!strcmp(n, "pmselr_el0"))
        return &pmu.selr;
    if (!strcmp(n, "pmuserenr_el0"))
        return &pmu.userenr;
    if (!strcmp(n, "pmccfiltr_el0"))
        return &pmu.ccfiltr;
    if (!strcmp(n, "pmccntr_el0"))
        return &pmu.ccntr;
    if (!strcmp(n, "pmxevtyper_el0")) {
        unsigned int sel = pmu.selr & 31;

        if (sel == 31)
            return &pmu.ccfiltr;
        if (sel >= pmu.n)
            fail_msg("PMXEVTYPER_EL0 with PMSELR_EL0.SEL %u >= N: UNPREDICTABLE", sel);
        return &pmu.evtyper[sel];
    }
    return pmu_evreg(n);
}

/* A SET/CLR pair: the state, and whether @n is the CLR view. */
static u64 *pmu_pair(const char *n, bool *clr)
{
    static const struct {
        const char *set, *clr;
        size_t off;
    } pairs[] = {
        { "pmcntenset_el0", "pmcntenclr_el0", offsetof(typeof(pmu), cnten) },
        { "pmintenset_el1", "pmintenclr_el1", offsetof(typeof(pmu), inten) },
        { "pmovsset_el0", "pmovsclr_el0", offsetof(typeof(pmu), ovs) },
    };

    for (unsigned int i = 0; i < 3; i++) {
        if (!strcmp(n, pairs[i].set) || !strcmp(n, pairs[i].clr)) {
            *clr = !strcmp(n, pairs[i].clr);
            return (u64 *)((char *)&pmu + pairs[i].off);
        }
    }
    return NULL;
}

static bool pmu_read(const char *n, u64 *val)
{
    bool clr;
    u64 *p;

    if (!pmu.present)
        return false;
    if (!strcmp(n, "pmcr_el0")) {
        *val = pmu.pmcr | ((u64)pmu.n << 11) | PMCR_IMP; /* P and C read 0 */
        return true;
    }
    p = pmu_pair(n, &clr);
    if (!p)
        p = pmu_plain(n);
    if (!p)
        return false;
    *val = *p;
    return true;
}

static bool pmu_write(const char *n, u64 val)
{
    bool clr;
    u64 *p;

    if (!pmu.present)
        return false;
    if (!strcmp(n, "pmcr_el0")) {
        pmu.pmcr = val & PMCR_RW;
        if (val & PMCR_EL0_P)
            memset(pmu.evcnt, 0, sizeof(pmu.evcnt));
        if (val & PMCR_EL0_C)
            pmu.ccntr = 0;
        return true;
    }
    p = pmu_pair(n, &clr);
    if (p) {
        if (val & ~GENMASK(31, 0))
            fail_msg("%s written with RES0 bits %#lx", n, val);
        if (clr)
            *p &= ~val;
        else
            *p |= val & pmu_impl();
        if (p != &pmu.cnten)
            pmu.qemu_line = fake_pmu_line();
        return true;
    }
    p = pmu_plain(n);
    if (!p)
        return false;
    *p = val;
    return true;
}

/* ---- the accessors ---- */

u64 fake_sysreg_read(const char *name)
{
    char n[32];
    struct reg *r;
    u64 val;

    lower(n, name);
    if (!pmu_read(n, &val)) {
        r = find(n);
        if (!r)
            fail_msg("MRS %s: not implemented: UNDEFINED", n);
        val = r->val;
    }
    log_access('R', n, val);
    return val;
}

void fake_sysreg_write(const char *name, u64 val)
{
    char n[32];
    struct reg *r;

    lower(n, name);
    log_access('W', n, val);
    if (pmu_write(n, val))
        return;
    r = find(n);
    if (!r)
        fail_msg("MSR %s: not implemented: UNDEFINED", n);
    r->val = val;
}

void fake_barrier(const char *what)
{
    log_access('B', what, 0);
}

u64 fake_peek(const char *name)
{
    unsigned int len = fake_log_len;
    u64 val = fake_sysreg_read(name);

    fake_log_len = len;
    return val;
}

void fake_poke(const char *name, u64 val)
{
    unsigned int len = fake_log_len;

    fake_sysreg_write(name, val);
    fake_log_len = len;
}

/* ---- the log ---- */

int fake_find(unsigned int from, char op, const char *name)
{
    char n[32];

    lower(n, name);
    for (unsigned int i = from; i < fake_log_len; i++)
        if (fake_log[i].op == op && !strcmp(fake_log[i].name, n))
            return (int)i;
    return -1;
}

int fake_find_last(char op, const char *name)
{
    char n[32];

    lower(n, name);
    for (unsigned int i = fake_log_len; i-- > 0;)
        if (fake_log[i].op == op && !strcmp(fake_log[i].name, n))
            return (int)i;
    return -1;
}

unsigned int fake_count_prefix(const char *prefix)
{
    char p[32];
    unsigned int count = 0;

    lower(p, prefix);
    for (unsigned int i = 0; i < fake_log_len; i++)
        if (!strncmp(fake_log[i].name, p, strlen(p)))
            count++;
    return count;
}
