#ifndef ARCH_MMU_H
#define ARCH_MMU_H

#include <keel/types.h>

struct mmu_boot_regs {
    u64 mair;
    u64 tcr;
    u64 ttbr0;
};

extern struct mmu_boot_regs mmu_boot_regs;

void mmu_init(u64 dtb);
int mmu_map_device(u64 base, u64 size);
int mmu_map_ram(u64 base, u64 size);
void mmu_publish_for_secondaries(void);
void mmu_tlb_flush(void);

/* boot.S */
void mmu_enable(const struct mmu_boot_regs *regs);
void arch_clean_dcache_range(u64 start, u64 size);
void arch_inval_dcache_range(u64 start, u64 size);

#endif
