#ifndef KEEL_INIT_H
#define KEEL_INIT_H

#include <keel/mem.h>

void __noreturn keel_main(const void *fdt, const struct mem_boot_info *info);
void __noreturn keel_secondary_main(void);
void arch_prepare_secondaries(void);

#endif
