/*
 * Host unit tests of src/core/console_guest.c: vm_console_write_guest() and
 * vm_console_read_guest(), the one implementation behind Keel's console
 * hypercalls and SBI DBCN. The VM's RAM is three chunks, contiguous in
 * guest-physical space and separate host allocations, so a buffer that
 * crosses a chunk must be split; what reaches the console, what is taken
 * from its input and which host ranges get cache maintenance are recorded
 * byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <keel/arch.h>
#include <keel/console_mux.h>
#include <keel/vm.h>

#define RAM 0x40000000ULL
#define NCHUNKS 3
static const u64 chunk_size[NCHUNKS] = { 0x1000, 0x3000, 0x2000 };
#define RAM_END (RAM + 0x6000)

#define MAX_OPS 16

static struct vm the_vm;
static u8 *host[NCHUNKS];

static char out[4096];
static u32 out_len;
static char in[512];
static u32 in_head, in_len;

struct range {
    u64 start, size;
};
static struct range inval[MAX_OPS], clean[MAX_OPS];
static unsigned int ninval, nclean;

/* ---- fakes: the VM's RAM, the console multiplexer, cache maintenance ---- */

void *vm_ipa_span(struct vm *vm, u64 ipa, u64 *avail)
{
    u64 base = RAM;

    assert_ptr_equal(vm, &the_vm);
    for (unsigned int i = 0; i < NCHUNKS; base += chunk_size[i], i++) {
        if (ipa >= base && ipa - base < chunk_size[i]) {
            *avail = chunk_size[i] - (ipa - base);
            return host[i] + (ipa - base);
        }
    }
    return NULL;
}

void vm_console_putc(struct vm *vm, char c)
{
    assert_ptr_equal(vm, &the_vm);
    assert_true(out_len < sizeof(out));
    out[out_len++] = c;
}

int vm_console_getc(struct vm *vm)
{
    assert_ptr_equal(vm, &the_vm);
    if (in_head == in_len)
        return -1;
    return (unsigned char)in[in_head++];
}

static void record(struct range *r, unsigned int *n, u64 start, u64 size)
{
    assert_true(*n < MAX_OPS);
    r[(*n)++] = (struct range){ start, size };
}

void arch_clean_inval_dcache_range(u64 start, u64 size)
{
    record(inval, &ninval, start, size);
}

void arch_clean_dcache_range(u64 start, u64 size)
{
    record(clean, &nclean, start, size);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    for (unsigned int i = 0; i < NCHUNKS; i++) {
        host[i] = malloc(chunk_size[i]);
        assert_non_null(host[i]);
        memset(host[i], 0xee, chunk_size[i]);
    }
    out_len = in_head = in_len = 0;
    ninval = nclean = 0;
    /* vm_ipa_range_is_ram() (vm.h) reads the RAM range from the config */
    the_vm.cfg.ram_ipa = RAM;
    the_vm.cfg.mem_size = RAM_END - RAM;
    return 0;
}

static int teardown(void **state)
{
    for (unsigned int i = 0; i < NCHUNKS; i++)
        free(host[i]);
    return 0;
}

/* The host byte behind @ipa (which the test knows is RAM). */
static u8 *hva(u64 ipa)
{
    u64 avail;
    u8 *p = vm_ipa_span(&the_vm, ipa, &avail);

    assert_non_null(p);
    return p;
}

/* Writes @len bytes of @data at @ipa as the guest would (across chunks). */
static void guest_put(u64 ipa, const void *data, u64 len)
{
    for (u64 i = 0; i < len; i++)
        *hva(ipa + i) = ((const u8 *)data)[i];
}

static void type_input(const char *s, u32 len)
{
    memcpy(in, s, len);
    in_head = 0;
    in_len = len;
}

static void expect_range(const struct range *r, u64 ipa, u64 size)
{
    assert_int_equal(r->start, (u64)(uintptr_t)hva(ipa));
    assert_int_equal(r->size, size);
}

static void fill_pattern(char *p, u32 len)
{
    for (u32 i = 0; i < len; i++)
        p[i] = (char)('a' + (i * 7 + i / 26) % 26);
}

/* ---- writes ---- */

static void test_write(void **state)
{
    static const char msg[] = "hvc console: hello from the hypercall\n";
    u64 len = sizeof(msg) - 1;

    guest_put(RAM + 0x10, msg, len);
    assert_int_equal(vm_console_write_guest(&the_vm, RAM + 0x10, len), len);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, msg, len);
    /* what was read was cleaned and invalidated first, exactly that */
    assert_int_equal(ninval, 1);
    expect_range(&inval[0], RAM + 0x10, len);
    assert_int_equal(nclean, 0);
}

/* Across both chunk boundaries: split, in order, each span maintained on its own. */
static void test_write_across_chunks(void **state)
{
    char msg[200];

    fill_pattern(msg, sizeof(msg));
    guest_put(RAM + 0x1000 - 20, msg, 64);
    assert_int_equal(vm_console_write_guest(&the_vm, RAM + 0x1000 - 20, 64), 64);
    assert_int_equal(ninval, 2);
    expect_range(&inval[0], RAM + 0x1000 - 20, 20);
    expect_range(&inval[1], RAM + 0x1000, 44);
    guest_put(RAM + 0x4000 - 30, msg + 64, 136);
    assert_int_equal(vm_console_write_guest(&the_vm, RAM + 0x4000 - 30, 136), 136);
    assert_int_equal(ninval, 4);
    expect_range(&inval[2], RAM + 0x4000 - 30, 30);
    expect_range(&inval[3], RAM + 0x4000, 106);
    assert_int_equal(out_len, 200);
    assert_memory_equal(out, msg, 200);
}

/* At most VM_CONSOLE_CHUNK bytes a call; a guest loops on the count for the rest. */
static void test_write_chunked(void **state)
{
    char msg[1000];
    static const s64 want[] = { 256, 256, 256, 232 };
    u64 done = 0;

    fill_pattern(msg, sizeof(msg));
    guest_put(RAM + 0x800, msg, sizeof(msg));
    for (unsigned int i = 0; i < ARRAY_SIZE(want); i++) {
        s64 n = vm_console_write_guest(&the_vm, RAM + 0x800 + done, sizeof(msg) - done);

        assert_int_equal(n, want[i]);
        assert_int_equal(out_len, done + n);
        done += n;
    }
    assert_memory_equal(out, msg, sizeof(msg));
}

/* Length 0: 0 whatever the address (a guest's probe), nothing read. */
static void test_write_nothing(void **state)
{
    static const u64 where[] = { 0, RAM, RAM_END, ~0ULL };

    for (unsigned int i = 0; i < ARRAY_SIZE(where); i++)
        assert_int_equal(vm_console_write_guest(&the_vm, where[i], 0), 0);
    assert_int_equal(out_len + ninval, 0);
}

static const struct {
    u64 ipa, len;
} bad[] = {
    { 0, 1 },                  /* below RAM */
    { 0x09000000, 4 },         /* a device */
    { RAM - 1, 2 },            /* starts below */
    { RAM_END - 8, 9 },        /* ends one byte past */
    { RAM_END, 1 },            /* just past */
    { RAM + 16, 0x6000 },      /* all of RAM's size, from inside: ends past */
    { RAM + 0x800, 1ULL << 63 },
    { RAM, ~0ULL },
    { ~0ULL - 3, 8 },          /* wraps past 2^64 */
    { ~0ULL, 1 },
};

/* A buffer not wholly in the VM's RAM: refused, not a byte read, even of the part that is. */
static void test_write_outside(void **state)
{
    guest_put(RAM_END - 8, "12345678", 8);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(vm_console_write_guest(&the_vm, bad[i].ipa, bad[i].len),
                         VM_CONSOLE_BAD_BUFFER);
    assert_int_equal(out_len + ninval, 0);
    /* the last byte of RAM is fine */
    assert_int_equal(vm_console_write_guest(&the_vm, RAM_END - 1, 1), 1);
    assert_int_equal(out[0], '8');
}

/* ---- reads ---- */

static void test_read(void **state)
{
    type_input("abc", 3);
    /* across chunks 0 and 1: "ab" before the boundary, "c" after it */
    assert_int_equal(vm_console_read_guest(&the_vm, RAM + 0x1000 - 2, 8), 3);
    assert_memory_equal(hva(RAM + 0x1000 - 2), "ab", 2);
    assert_memory_equal(hva(RAM + 0x1000), "c", 1);
    for (u64 i = 1; i < 6; i++)
        assert_int_equal(*hva(RAM + 0x1000 + i), 0xee);
    /* the bytes written are cleaned to memory, each span on its own */
    assert_int_equal(nclean, 2);
    expect_range(&clean[0], RAM + 0x1000 - 2, 2);
    expect_range(&clean[1], RAM + 0x1000, 1);
    /* nothing waiting: 0, nothing written */
    assert_int_equal(vm_console_read_guest(&the_vm, RAM, 8), 0);
    assert_int_equal(*hva(RAM), 0xee);
    assert_int_equal(nclean, 2);
    assert_int_equal(ninval + out_len, 0);
}

/* A bad buffer or length 0 consumes no input: it is still there for the next call. */
static void test_read_keeps_input(void **state)
{
    type_input("xy", 2);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(vm_console_read_guest(&the_vm, bad[i].ipa, bad[i].len),
                         VM_CONSOLE_BAD_BUFFER);
    assert_int_equal(vm_console_read_guest(&the_vm, ~0ULL, 0), 0);
    assert_int_equal(*hva(RAM_END - 1), 0xee);
    assert_int_equal(vm_console_read_guest(&the_vm, RAM_END - 1, 1), 1);
    assert_int_equal(*hva(RAM_END - 1), 'x');
    assert_int_equal(vm_console_getc(&the_vm), 'y');
}

/* At most VM_CONSOLE_CHUNK bytes a call; the rest stays queued. */
static void test_read_chunked(void **state)
{
    char typed[300];

    fill_pattern(typed, sizeof(typed));
    type_input(typed, sizeof(typed));
    assert_int_equal(vm_console_read_guest(&the_vm, RAM + 0x2000, 1000), 256);
    assert_memory_equal(hva(RAM + 0x2000), typed, 256);
    assert_int_equal(*hva(RAM + 0x2000 + 256), 0xee);
    assert_int_equal(vm_console_read_guest(&the_vm, RAM + 0x2000 + 256, 1000), 44);
    assert_memory_equal(hva(RAM + 0x2000 + 256), typed + 256, 44);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_across_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_keeps_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_chunked, setup, teardown),
    };

    return cmocka_run_group_tests_name("console_guest", tests, NULL, NULL);
}
