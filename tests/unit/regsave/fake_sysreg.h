/*
 * Force-included (-include) before each source under test: the real
 * arch/sysreg.h, then its accessors and barriers turned into calls to a
 * host model of the CPU's registers (fake_sysreg.c), so the save/load code
 * runs unchanged on the host and every access is logged in order.
 */
#ifndef REGSAVE_FAKE_SYSREG_H
#define REGSAVE_FAKE_SYSREG_H

#include <arch/sysreg.h>

u64 fake_sysreg_read(const char *name);
void fake_sysreg_write(const char *name, u64 val);
void fake_barrier(const char *what);

#undef read_sysreg
#undef write_sysreg
#undef isb
#undef dsb
#define read_sysreg(r) fake_sysreg_read(#r)
#define write_sysreg(r, v) fake_sysreg_write(#r, (u64)(v))
#define isb() fake_barrier("isb")
#define dsb(opt) fake_barrier("dsb " #opt)

#endif
