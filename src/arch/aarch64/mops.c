/*
 * FEAT_MOPS for Keel's own bulk copies (memops.S): guest images at every
 * VM build, virtio buffers, zeroed guest RAM. ID_AA64ISAR2_EL1.MOPS, bits
 * [19:16] (Arm ARM D19.2.63): 0b0001 when the instructions are there. QEMU
 * 7.2's max CPU has none, 10.0's has them.
 */
#include <arch/sysreg.h>
#include <keel/string.h>

void *arch_memcpy_mops(void *dst, const void *src, size_t n);
void *arch_memset_mops(void *dst, int c, size_t n);

#define ID_AA64ISAR2_EL1_MOPS_SHIFT 16

bool arch_has_mops;

void mops_init(void)
{
    u64 isar2 = read_sysreg(s3_0_c0_c6_2); /* ID_AA64ISAR2_EL1: older assemblers lack its name */

    arch_has_mops = ((isar2 >> ID_AA64ISAR2_EL1_MOPS_SHIFT) & 0xf) != 0;
    if (arch_has_mops) {
        memcpy_bulk = arch_memcpy_mops;
        memset_bulk = arch_memset_mops;
    }
}
