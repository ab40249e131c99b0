/*
 * Keel's own command line (/chosen/bootargs of the host DT):
 *   loglevel=error|warn|info|debug|trace
 *   keel.test=fault|panic|check   deliberately fail, to show the fault dump
 *   keel.stay-up                   keep running when every VM has powered off
 *   keel.console-tag=on|off        tag VM output lines with "[name] " (default: on
 *                                  when more than one VM has a console)
 */
#ifndef KEEL_CMDLINE_H
#define KEEL_CMDLINE_H

#include <keel/types.h>

struct keel_options {
    char test[16];
    bool stay_up;
    int console_tag; /* -1 automatic, 0 off, 1 on */
};

extern struct keel_options keel_options;

void cmdline_parse(const char *cmdline, struct keel_options *opts);
void selftest_run(const char *name);
void vms_boot(const void *fdt);
void __noreturn keel_idle(void);

#endif
