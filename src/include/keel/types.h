/* Basic types shared by every layer. Keel is freestanding: no libc headers here. */
#ifndef KEEL_TYPES_H
#define KEEL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/*
 * Address kinds are distinct structs so a host-physical address cannot be
 * passed where a guest intermediate-physical address is expected (Hafnium's
 * approach). Constructors and accessors are the only way in and out.
 */
typedef struct { u64 pa; } paddr_t;  /* host physical */
typedef struct { u64 ipa; } ipaddr_t; /* guest intermediate physical */
typedef struct { u64 va; } vaddr_t;   /* hypervisor virtual */

static inline paddr_t pa_init(u64 a) { return (paddr_t){ a }; }
static inline u64 pa_addr(paddr_t a) { return a.pa; }
static inline paddr_t pa_add(paddr_t a, u64 n) { return (paddr_t){ a.pa + n }; }
static inline ipaddr_t ipa_init(u64 a) { return (ipaddr_t){ a }; }
static inline u64 ipa_addr(ipaddr_t a) { return a.ipa; }
static inline ipaddr_t ipa_add(ipaddr_t a, u64 n) { return (ipaddr_t){ a.ipa + n }; }
static inline vaddr_t va_init(u64 a) { return (vaddr_t){ a }; }
static inline u64 va_addr(vaddr_t a) { return a.va; }

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define SZ_2M (2UL << 20)
#define SZ_1G (1UL << 30)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a) - 1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define BIT(n) (1UL << (n))
#define GENMASK(h, l) (((~0UL) << (l)) & (~0UL >> (63 - (h))))
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

#define __packed __attribute__((packed))
#define __aligned(n) __attribute__((aligned(n)))
#define __noreturn __attribute__((noreturn))
#define __unused __attribute__((unused))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
