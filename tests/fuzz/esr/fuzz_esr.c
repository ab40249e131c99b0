/*
 * ESR_ELx decoding (src/arch/aarch64/esr.c and the inline esr_decode_dabt()
 * in arch/esr.h), fed random syndromes.
 *
 * Checked for every value:
 *  - esr_ec_name() and esr_fsc_name() are total: any argument, in range or
 *    not, gives a non-empty string, and every exception class the header
 *    names has a name of its own (not "Reserved").
 *  - esr_decode_dabt() agrees field by field with a decoder written here
 *    from the Arm ARM's data abort ISS layout (ISV 24, SAS 23:22, SSE 21,
 *    SRT 20:16, SF 15, AR 14, WnR 6), and with ISV clear reports nothing
 *    but the direction.
 *  - The MMIO data path exit.c builds on the decode (write: mask to the
 *    access size; read: sign-extend when SSE, then keep 32 bits for a W
 *    register) yields what the architecture says the load or store moves.
 */
#include <string.h>

#include <arch/esr.h>

#include "fuzz_input.h"

static const unsigned int named_ecs[] = {
    ESR_ELx_EC_UNKNOWN, ESR_ELx_EC_WFx, ESR_ELx_EC_CP15_32, ESR_ELx_EC_CP15_64,
    ESR_ELx_EC_CP14_MR, ESR_ELx_EC_CP14_LS, ESR_ELx_EC_FP_ASIMD, ESR_ELx_EC_CP10_ID,
    ESR_ELx_EC_PAC, ESR_ELx_EC_CP14_64, ESR_ELx_EC_BTI, ESR_ELx_EC_ILL, ESR_ELx_EC_SVC32,
    ESR_ELx_EC_HVC32, ESR_ELx_EC_SMC32, ESR_ELx_EC_SVC64, ESR_ELx_EC_HVC64, ESR_ELx_EC_SMC64,
    ESR_ELx_EC_SYS64, ESR_ELx_EC_SVE, ESR_ELx_EC_ERET, ESR_ELx_EC_FPAC, ESR_ELx_EC_SME,
    ESR_ELx_EC_IMP_DEF, ESR_ELx_EC_IABT_LOW, ESR_ELx_EC_IABT_CUR, ESR_ELx_EC_PC_ALIGN,
    ESR_ELx_EC_DABT_LOW, ESR_ELx_EC_DABT_CUR, ESR_ELx_EC_SP_ALIGN, ESR_ELx_EC_FP_EXC32,
    ESR_ELx_EC_FP_EXC64, ESR_ELx_EC_SERROR, ESR_ELx_EC_BREAKPT_LOW, ESR_ELx_EC_BREAKPT_CUR,
    ESR_ELx_EC_SOFTSTP_LOW, ESR_ELx_EC_SOFTSTP_CUR, ESR_ELx_EC_WATCHPT_LOW,
    ESR_ELx_EC_WATCHPT_CUR, ESR_ELx_EC_BKPT32, ESR_ELx_EC_VECTOR32, ESR_ELx_EC_BRK64,
};

static bool ec_is_named(unsigned int ec)
{
    for (size_t i = 0; i < sizeof(named_ecs) / sizeof(named_ecs[0]); i++)
        if (named_ecs[i] == ec)
            return true;
    return false;
}

static void check_names(u64 esr, u32 raw)
{
    unsigned int ec = (unsigned int)((esr >> 26) & 0x3f);
    const char *n = esr_ec_name(ec);

    FUZZ_CHECK(n && *n, "esr_ec_name(%#x) gave an empty name", ec);
    FUZZ_CHECK(ec_is_named(ec) == (strcmp(n, "Reserved") != 0),
               "EC %#x: named in arch/esr.h but called '%s' (or the reverse)", ec, n);
    n = esr_ec_name(raw);
    FUZZ_CHECK(n && *n, "esr_ec_name(%#x) gave an empty name", raw);
    if (raw >= 64)
        FUZZ_CHECK(!strcmp(n, "Reserved"), "esr_ec_name(%#x) out of range gave '%s'", raw, n);
    n = esr_fsc_name((unsigned int)(esr & 0x3f));
    FUZZ_CHECK(n && *n, "esr_fsc_name(%#x) gave an empty name", (unsigned int)(esr & 0x3f));
    n = esr_fsc_name(raw);
    FUZZ_CHECK(n && *n, "esr_fsc_name(%#x) gave an empty name", raw);
}

/* The ISS of a data abort as the Arm ARM lays it out, read bit by bit. */
static void check_dabt(u64 esr, u64 reg_val, u64 dev_val)
{
    struct esr_dabt d = esr_decode_dabt(esr);
    bool isv = (esr >> 24) & 1;

    FUZZ_CHECK(d.valid == isv, "esr %#llx: valid %d", (unsigned long long)esr, d.valid);
    FUZZ_CHECK(d.write == ((esr >> 6) & 1), "esr %#llx: write %d", (unsigned long long)esr,
               d.write);
    if (!isv) {
        FUZZ_CHECK(!d.size && !d.reg && !d.sign_extend && !d.sixty_four && !d.acquire_release,
                   "esr %#llx: fields decoded without ISV", (unsigned long long)esr);
        return;
    }
    FUZZ_CHECK(d.size == 1u << ((esr >> 22) & 3), "esr %#llx: size %u",
               (unsigned long long)esr, d.size);
    FUZZ_CHECK(d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8, "size %u", d.size);
    FUZZ_CHECK(d.sign_extend == ((esr >> 21) & 1), "esr %#llx: sse", (unsigned long long)esr);
    FUZZ_CHECK(d.reg == ((esr >> 16) & 0x1f) && d.reg <= 31, "esr %#llx: reg %u",
               (unsigned long long)esr, d.reg);
    FUZZ_CHECK(d.sixty_four == ((esr >> 15) & 1), "esr %#llx: sf", (unsigned long long)esr);
    FUZZ_CHECK(d.acquire_release == ((esr >> 14) & 1), "esr %#llx: ar",
               (unsigned long long)esr);

    /*
     * What exit.c does with the decode. A store moves the low d.size bytes
     * of the register; a load of d.size bytes is zero- or sign-extended to
     * the register width (LDRSB/LDRSH/LDRSW), a W register's top half 0.
     */
    unsigned int bits = 8 * d.size;
    u64 size_mask = d.size == 8 ? ~0ULL : (1ULL << bits) - 1;
    u64 stored = reg_val;
    if (d.size < 8)
        stored &= (1UL << (8 * d.size)) - 1;
    FUZZ_CHECK(stored == (reg_val & size_mask), "store of %u bytes", d.size);

    u64 loaded = dev_val & size_mask, expect = loaded;
    if (d.sign_extend && d.size < 8) {
        u64 m = 1UL << (bits - 1);
        loaded = (loaded ^ m) - m;
        if ((expect >> (bits - 1)) & 1)
            expect |= ~size_mask;
    }
    if (!d.sixty_four) {
        loaded &= 0xffffffffUL;
        expect &= 0xffffffffULL;
    }
    FUZZ_CHECK(loaded == expect, "load of %u bytes (sse %d sf %d): %#llx, expected %#llx",
               d.size, d.sign_extend, d.sixty_four, (unsigned long long)loaded,
               (unsigned long long)expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };

    while (!fin_done(&in)) {
        u64 esr = fin_u64(&in);
        u32 raw = fin_u32(&in);
        u64 reg_val = fin_u64(&in), dev_val = fin_u64(&in);

        /* Half the syndromes are data aborts with ISV, the case with most to decode. */
        if (raw & 1)
            esr = (esr & ~(0x3fULL << 26)) | ((u64)ESR_ELx_EC_DABT_LOW << 26) | ESR_ELx_ISV;
        check_names(esr, raw);
        check_dabt(esr, reg_val, dev_val);
    }
    return 0;
}
