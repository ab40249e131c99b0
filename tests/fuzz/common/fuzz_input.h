/*
 * Reading a libFuzzer input as a stream of small decisions. Every harness
 * interprets its bytes as a little program: each step takes the bytes it
 * needs, and a short input simply ends the program (reads past the end
 * return zeros), so every byte string is a valid program and mutations of
 * one step do not shift the meaning of the steps after it by much.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline bool fin_done(const struct fuzz_in *in)
{
    return in->n == 0;
}

static inline uint8_t fin_u8(struct fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fin_u16(struct fuzz_in *in)
{
    uint16_t lo = fin_u8(in);
    return (uint16_t)(lo | (uint16_t)fin_u8(in) << 8);
}

static inline uint32_t fin_u32(struct fuzz_in *in)
{
    uint32_t lo = fin_u16(in);
    return lo | (uint32_t)fin_u16(in) << 16;
}

static inline uint64_t fin_u64(struct fuzz_in *in)
{
    uint64_t lo = fin_u32(in);
    return lo | (uint64_t)fin_u32(in) << 32;
}

static inline bool fin_bool(struct fuzz_in *in)
{
    return fin_u8(in) & 1;
}

/* 0..n-1 (n <= 65536); one byte when that is enough, so small choices stay cheap. */
static inline unsigned int fin_below(struct fuzz_in *in, unsigned int n)
{
    if (n <= 1)
        return 0;
    return (n <= 256 ? fin_u8(in) : fin_u16(in)) % n;
}

#define fin_pick(in, table) ((table)[fin_below((in), sizeof(table) / sizeof((table)[0]))])

/*
 * A broken invariant: say which and where, then abort so libFuzzer saves
 * the input as a crash. Invariants are checked in every build, NDEBUG or not.
 */
#define FUZZ_CHECK(cond, ...)                                                      \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "\nFUZZ INVARIANT FAILED at %s:%d: %s\n  ", __FILE__,  \
                    __LINE__, #cond);                                              \
            fprintf(stderr, __VA_ARGS__);                                          \
            fprintf(stderr, "\n");                                                 \
            abort();                                                               \
        }                                                                          \
    } while (0)

/*
 * Called with each ERROR line once formatted (common/fuzz_log.c), so a
 * harness can check that a refusal was a right one; NULL: none.
 */
extern void (*fuzz_log_error_hook)(const char *line);

/*
 * Harness-side switch for invariants that a known, not yet fixed bug breaks
 * (see tests/fuzz/README.md): off by default so CI stays green, on with
 * FUZZ_KNOWN_BUGS=1 to reproduce the bug.
 */
static inline bool fuzz_known_bugs(void)
{
    static int on = -1;

    if (on < 0) {
        const char *e = getenv("FUZZ_KNOWN_BUGS");
        on = e && *e && *e != '0';
    }
    return on;
}

#endif
