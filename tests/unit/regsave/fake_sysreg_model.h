/* The host model of the CPU's registers behind fake_sysreg.h, for the tests. */
#ifndef REGSAVE_FAKE_SYSREG_MODEL_H
#define REGSAVE_FAKE_SYSREG_MODEL_H

#include <keel/types.h>

/* Forget every register and the log. */
void fake_reset(void);
/* Makes @name (any case) an implemented register holding @val; any other access fails the test. */
void fake_reg(const char *name, u64 val);
/* The value of @name without logging an access (the test's own look). */
u64 fake_peek(const char *name);
/* Sets @name without logging (the guest's own write, or another agent's). */
void fake_poke(const char *name, u64 val);

/*
 * A PMUv3 with @n event counters: PMCR_EL0 (N, read-only fields, P and C
 * acting), the SET/CLR pairs over one state each, PMSELR_EL0 and
 * PMXEVTYPER_EL0, PMEVCNTR/PMEVTYPER<m>_EL0 for m < @n only, and counting.
 */
void fake_pmu(unsigned int n);
/* @events of everything on every counter that counts now (PMCR_EL0.E and its enable). */
void fake_pmu_tick(u64 events);
/* The overflow interrupt request: PMCR_EL0.E && (PMINTENSET & PMOVSSET). */
bool fake_pmu_line(void);
/* The line as QEMU 10.0 drives it: that condition, recomputed only when PMINTEN or PMOVS is written. */
bool fake_pmu_qemu_line(void);

/* The access log: one entry per read ('R'), write ('W') or barrier ('B'). */
struct fake_access {
    char op;
    char name[32];
    u64 val;
};
extern struct fake_access fake_log[4096];
extern unsigned int fake_log_len;
/* Index of the first entry at or after @from with @op and @name (any case), or -1. */
int fake_find(unsigned int from, char op, const char *name);
/* Index of the last such entry, or -1. */
int fake_find_last(char op, const char *name);
/* The number of entries naming @prefix (any case). */
unsigned int fake_count_prefix(const char *prefix);
void fake_log_clear(void);

#endif
