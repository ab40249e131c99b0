/* Host unit tests for src/arch/aarch64/esr.c: ESR_ELx decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <arch/esr.h>

/* A data abort syndrome from a lower EL with the given ISS fields. */
static u64 dabt(bool isv, unsigned int sas, bool sse, unsigned int srt, bool sf, bool ar,
                bool wnr, unsigned int dfsc)
{
    return ((u64)ESR_ELx_EC_DABT_LOW << ESR_ELx_EC_SHIFT) | ESR_ELx_IL |
           (isv ? ESR_ELx_ISV : 0) | ((u64)sas << ESR_ELx_SAS_SHIFT) | (sse ? ESR_ELx_SSE : 0) |
           ((u64)srt << ESR_ELx_SRT_SHIFT) | (sf ? ESR_ELx_SF : 0) | (ar ? ESR_ELx_AR : 0) |
           (wnr ? ESR_ELx_WNR : 0) | dfsc;
}

static void test_ec_field(void **state)
{
    (void)state;
    /* A real one: "ldr w1, [x0]" faulting at stage 2 from EL1 (EC 0x24, IL, ISV, SAS=2, SRT=1). */
    u64 esr = 0x93810006;

    assert_int_equal(ESR_ELx_EC(esr), ESR_ELx_EC_DABT_LOW);
    assert_true(esr & ESR_ELx_IL);
    assert_int_equal(ESR_ELx_ISS(esr), 0x1810006);
    assert_int_equal(ESR_ELx_EC(0x5a000000UL), ESR_ELx_EC_HVC64); /* hvc #0 */
    assert_int_equal(ESR_ELx_EC(0xffffffff00000000UL | (0x3fUL << 26)), 0x3f);
}

static void test_ec_names(void **state)
{
    (void)state;
    assert_string_equal(esr_ec_name(ESR_ELx_EC_UNKNOWN), "Unknown reason");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_WFx), "WFI/WFE");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_HVC64), "HVC (AArch64)");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_SMC64), "SMC (AArch64)");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_SYS64), "MSR/MRS/system instruction");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_IABT_LOW), "Instruction abort (lower EL)");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_DABT_LOW), "Data abort (lower EL)");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_DABT_CUR), "Data abort (current EL)");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_SERROR), "SError");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_BRK64), "BRK (AArch64)");
    assert_string_equal(esr_ec_name(ESR_ELx_EC_FP_ASIMD), "SIMD/FP access");
}

static void test_ec_names_reserved(void **state)
{
    (void)state;
    /* Encodings Keel has no name for (unallocated ones, the top of the 6-bit field) and
     * values that do not fit the field at all. */
    static const unsigned int reserved[] = { 0x02, 0x0f, 0x10, 0x23, 0x29, 0x36, 0x37,
                                             0x39, 0x3b, 0x3e, 0x3f, 64, 0x100, ~0U };

    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        assert_string_equal(esr_ec_name(reserved[i]), "Reserved");
}

static void test_ec_names_all_defined(void **state)
{
    (void)state;
    /* Every EC Keel defines has a name of its own. */
    static const unsigned int defined[] = {
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
    const size_t n = sizeof(defined) / sizeof(defined[0]);

    for (size_t i = 0; i < n; i++) {
        const char *name = esr_ec_name(defined[i]);
        assert_non_null(name);
        assert_string_not_equal(name, "Reserved");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(name, esr_ec_name(defined[j]));
    }
}

static void test_dabt_sizes(void **state)
{
    (void)state;
    static const unsigned int bytes[4] = { 1, 2, 4, 8 };

    for (unsigned int sas = 0; sas < 4; sas++) {
        struct esr_dabt d = esr_decode_dabt(dabt(true, sas, false, 3, sas == 3, false, false, 0x06));
        assert_true(d.valid);
        assert_int_equal(d.size, bytes[sas]);
        assert_int_equal(d.reg, 3);
    }
}

static void test_dabt_sign_extend(void **state)
{
    (void)state;
    /* ldrsb x2, [x0] */
    struct esr_dabt d = esr_decode_dabt(dabt(true, 0, true, 2, true, false, false, 0x07));

    assert_true(d.valid);
    assert_true(d.sign_extend);
    assert_true(d.sixty_four);
    assert_int_equal(d.size, 1);
    /* ldrh w2, [x0]: zero-extending */
    d = esr_decode_dabt(dabt(true, 1, false, 2, false, false, false, 0x07));
    assert_false(d.sign_extend);
    assert_false(d.sixty_four);
    assert_int_equal(d.size, 2);
    /* ldrsh w2, [x0]: sign extension into a W register */
    d = esr_decode_dabt(dabt(true, 1, true, 2, false, false, false, 0x07));
    assert_true(d.sign_extend);
    assert_false(d.sixty_four);
}

static void test_dabt_register_width(void **state)
{
    (void)state;
    struct esr_dabt d = esr_decode_dabt(dabt(true, 2, false, 9, false, false, true, 0x06));

    assert_false(d.sixty_four);
    d = esr_decode_dabt(dabt(true, 2, false, 9, true, false, true, 0x06));
    assert_true(d.sixty_four);
}

static void test_dabt_register_numbers(void **state)
{
    (void)state;
    for (unsigned int r = 0; r <= 31; r++) {
        struct esr_dabt d = esr_decode_dabt(dabt(true, 3, false, r, true, false, true, 0x05));
        assert_true(d.valid);
        assert_int_equal(d.reg, r);
        assert_int_equal(d.size, 8);
        assert_true(d.write);
    }
    /* 31 is XZR/WZR (a store of zero), not SP */
    assert_int_equal(esr_decode_dabt(dabt(true, 2, false, 31, false, false, true, 0)).reg, 31);
}

static void test_dabt_write_read(void **state)
{
    (void)state;
    struct esr_dabt w = esr_decode_dabt(dabt(true, 2, false, 1, false, false, true, 0x06));
    struct esr_dabt r = esr_decode_dabt(dabt(true, 2, false, 1, false, false, false, 0x06));

    assert_true(w.write);
    assert_false(r.write);
    assert_true(w.valid && r.valid);
}

static void test_dabt_acquire_release(void **state)
{
    (void)state;
    /* stlr w4, [x0] */
    struct esr_dabt d = esr_decode_dabt(dabt(true, 2, false, 4, false, true, true, 0x06));

    assert_true(d.acquire_release);
    d = esr_decode_dabt(dabt(true, 2, false, 4, false, false, true, 0x06));
    assert_false(d.acquire_release);
}

static void test_dabt_real_syndrome(void **state)
{
    (void)state;
    /* 0x93810006: ldr w1, [x0] -> 4 bytes, x1, read, 32-bit. */
    struct esr_dabt d = esr_decode_dabt(0x93810006);

    assert_true(d.valid);
    assert_false(d.write);
    assert_int_equal(d.size, 4);
    assert_int_equal(d.reg, 1);
    assert_false(d.sixty_four);
    assert_false(d.sign_extend);
    /* 0x93c08046: str x0, [x1] -> 8 bytes, x0, write, 64-bit. */
    d = esr_decode_dabt(0x93c08046);
    assert_true(d.valid);
    assert_true(d.write);
    assert_int_equal(d.size, 8);
    assert_int_equal(d.reg, 0);
    assert_true(d.sixty_four);
}

static void test_dabt_isv_clear(void **state)
{
    (void)state;
    /* Without ISV the instruction fields are UNKNOWN: nothing may be taken from them. */
    struct esr_dabt d = esr_decode_dabt(dabt(false, 3, true, 17, true, true, false, 0x06));

    assert_false(d.valid);
    assert_int_equal(d.size, 0);
    assert_int_equal(d.reg, 0);
    assert_false(d.sign_extend);
    assert_false(d.sixty_four);
    assert_false(d.acquire_release);
    /* WnR is reported whether or not ISV is set. */
    d = esr_decode_dabt(dabt(false, 3, true, 17, true, true, true, 0x06));
    assert_false(d.valid);
    assert_true(d.write);
    assert_int_equal(esr_decode_dabt(0).valid, false);
}

static void test_fsc_names(void **state)
{
    (void)state;
    for (unsigned int lvl = 0; lvl < 4; lvl++) {
        assert_string_equal(esr_fsc_name(0x00 | lvl), "address size fault");
        assert_string_equal(esr_fsc_name(ESR_ELx_FSC_TRANS | lvl), "translation fault");
        assert_string_equal(esr_fsc_name(ESR_ELx_FSC_ACCESS | lvl), "access flag fault");
        assert_string_equal(esr_fsc_name(ESR_ELx_FSC_PERM | lvl), "permission fault");
    }
    assert_string_equal(esr_fsc_name(0x10), "synchronous external abort");
    assert_string_equal(esr_fsc_name(0x21), "alignment fault");
    assert_string_equal(esr_fsc_name(0x30), "TLB conflict abort");
    assert_string_equal(esr_fsc_name(0x31), "unsupported atomic hardware update");
    assert_string_equal(esr_fsc_name(0x11), "other fault");
    assert_string_equal(esr_fsc_name(0x18), "other fault");
    assert_string_equal(esr_fsc_name(0x3f), "other fault");
    /* The DFSC of a full syndrome, as callers pass it. */
    assert_string_equal(esr_fsc_name(0x93810006 & ESR_ELx_FSC_MASK), "translation fault");
}

static void test_sys64_encoding(void **state)
{
    (void)state;
    /* The register fields of SYS_REG() lie inside the ISS "system register" mask and the
     * Rt/direction fields lie outside it. */
    u32 all = SYS_REG(3, 7, 15, 15, 7);

    assert_int_equal(all & ~(u32)ESR_ELx_SYS64_ISS_SYS_MASK, 0);
    assert_int_equal(all, ESR_ELx_SYS64_ISS_SYS_MASK);
    assert_int_equal(ESR_ELx_SYS64_ISS_SYS_MASK &
                         ((ESR_ELx_SYS64_ISS_RT_MASK << ESR_ELx_SYS64_ISS_RT_SHIFT) |
                          ESR_ELx_SYS64_ISS_DIR_READ),
                     0);
    /* mrs x3, cntvct_el0 (op0 3, op1 3, CRn 14, CRm 0, op2 2) as trapped: Rt 3, read */
    u64 iss = SYS_REG(3, 3, 14, 0, 2) | (3UL << ESR_ELx_SYS64_ISS_RT_SHIFT) |
              ESR_ELx_SYS64_ISS_DIR_READ;
    assert_int_equal(iss & ESR_ELx_SYS64_ISS_SYS_MASK, SYS_REG(3, 3, 14, 0, 2));
    assert_int_equal((iss >> ESR_ELx_SYS64_ISS_RT_SHIFT) & ESR_ELx_SYS64_ISS_RT_MASK, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ec_field),
        cmocka_unit_test(test_ec_names),
        cmocka_unit_test(test_ec_names_reserved),
        cmocka_unit_test(test_ec_names_all_defined),
        cmocka_unit_test(test_dabt_sizes),
        cmocka_unit_test(test_dabt_sign_extend),
        cmocka_unit_test(test_dabt_register_width),
        cmocka_unit_test(test_dabt_register_numbers),
        cmocka_unit_test(test_dabt_write_read),
        cmocka_unit_test(test_dabt_acquire_release),
        cmocka_unit_test(test_dabt_real_syndrome),
        cmocka_unit_test(test_dabt_isv_clear),
        cmocka_unit_test(test_fsc_names),
        cmocka_unit_test(test_sys64_encoding),
    };

    return cmocka_run_group_tests_name("esr", tests, NULL, NULL);
}
