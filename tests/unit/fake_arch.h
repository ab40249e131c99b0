/*
 * Host stand-ins for the arch layer and the logger, linked into every unit
 * test binary. The logger records what it was asked to print so tests can
 * check that an error was reported.
 */
#ifndef UNIT_FAKE_ARCH_H
#define UNIT_FAKE_ARCH_H

#include <keel/log.h>

/* Number of log_print calls since the last fake_log_reset(). */
extern unsigned int fake_log_count;
/* Level and text of the most recent log_print call. */
extern enum log_level fake_log_last_level;
extern char fake_log_last[512];
/* Text of the most recent LOG_ERROR line (empty if none since the reset). */
extern char fake_log_last_error[512];

void fake_log_reset(void);

/* What arch_vcpu_can_share() answers; true unless a test changes it. */
extern bool fake_vcpu_can_share;

#endif
