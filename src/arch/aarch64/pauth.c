/*
 * Pointer authentication (FEAT_PAuth) for guests: HCR_EL2.API and APK let a
 * guest's PAC instructions and key registers run untrapped (vcpu.c), and
 * Keel signs nothing itself, so the five keys are the vCPU's alone. Each
 * vCPU has its copy in struct vcpu_el1 (zero at its start); these switch it.
 */
#include <arch/pauth.h>
#include <arch/sysreg.h>
#include <arch/vcpu_state.h>

/*
 * The key registers by encoding (op0 3, op1 0, CRn 2; Arm ARM D17.2,
 * APIAKeyLo_EL1 to APGAKeyHi_EL1), for assemblers without FEAT_PAuth.
 */
#define APIAKeyLo_EL1 S3_0_C2_C1_0
#define APIAKeyHi_EL1 S3_0_C2_C1_1
#define APIBKeyLo_EL1 S3_0_C2_C1_2
#define APIBKeyHi_EL1 S3_0_C2_C1_3
#define APDAKeyLo_EL1 S3_0_C2_C2_0
#define APDAKeyHi_EL1 S3_0_C2_C2_1
#define APDBKeyLo_EL1 S3_0_C2_C2_2
#define APDBKeyHi_EL1 S3_0_C2_C2_3
#define APGAKeyLo_EL1 S3_0_C2_C3_0
#define APGAKeyHi_EL1 S3_0_C2_C3_1
#define ID_AA64ISAR2_EL1 S3_0_C0_C6_2 /* RAZ before Armv8.7 (the ID space is reserved RAZ) */

static bool has_pauth;

/*
 * FEAT_PAuth in any form: an address algorithm (ID_AA64ISAR1_EL1.APA [7:4],
 * API [11:8], ID_AA64ISAR2_EL1.APA3 [15:12]) or a generic one (GPA [27:24],
 * GPI [31:28], GPA3 [11:8]); Arm ARM D17.2.62/63. The key registers exist
 * with any of them. Read once: the ID registers do not change, and every
 * core is taken to have what the boot CPU has, as Keel assumes of its
 * other features.
 */
void pauth_init(void)
{
    u64 isar1 = read_sysreg(id_aa64isar1_el1), isar2 = read_sysreg_enc(ID_AA64ISAR2_EL1);

    has_pauth = ID_FIELD(isar1, 4) || ID_FIELD(isar1, 8) || ID_FIELD(isar1, 24) ||
                ID_FIELD(isar1, 28) || ID_FIELD(isar2, 8) || ID_FIELD(isar2, 12);
}

bool cpu_has_pauth(void)
{
    return has_pauth;
}

void pauth_keys_save(struct vcpu_el1 *e)
{
    if (!has_pauth)
        return;
    e->apkey[0] = read_sysreg_enc(APIAKeyLo_EL1);
    e->apkey[1] = read_sysreg_enc(APIAKeyHi_EL1);
    e->apkey[2] = read_sysreg_enc(APIBKeyLo_EL1);
    e->apkey[3] = read_sysreg_enc(APIBKeyHi_EL1);
    e->apkey[4] = read_sysreg_enc(APDAKeyLo_EL1);
    e->apkey[5] = read_sysreg_enc(APDAKeyHi_EL1);
    e->apkey[6] = read_sysreg_enc(APDBKeyLo_EL1);
    e->apkey[7] = read_sysreg_enc(APDBKeyHi_EL1);
    e->apkey[8] = read_sysreg_enc(APGAKeyLo_EL1);
    e->apkey[9] = read_sysreg_enc(APGAKeyHi_EL1);
}

/*
 * No ISB: the keys are used only by the guest's PAC instructions, and the
 * ERET into it is a context synchronization event; Keel's EL2 has
 * SCTLR_EL2.EnIA/EnIB/EnDA/EnDB clear and signs nothing with them.
 */
void pauth_keys_load(const struct vcpu_el1 *e)
{
    if (!has_pauth)
        return;
    write_sysreg_enc(APIAKeyLo_EL1, e->apkey[0]);
    write_sysreg_enc(APIAKeyHi_EL1, e->apkey[1]);
    write_sysreg_enc(APIBKeyLo_EL1, e->apkey[2]);
    write_sysreg_enc(APIBKeyHi_EL1, e->apkey[3]);
    write_sysreg_enc(APDAKeyLo_EL1, e->apkey[4]);
    write_sysreg_enc(APDAKeyHi_EL1, e->apkey[5]);
    write_sysreg_enc(APDBKeyLo_EL1, e->apkey[6]);
    write_sysreg_enc(APDBKeyHi_EL1, e->apkey[7]);
    write_sysreg_enc(APGAKeyLo_EL1, e->apkey[8]);
    write_sysreg_enc(APGAKeyHi_EL1, e->apkey[9]);
}
