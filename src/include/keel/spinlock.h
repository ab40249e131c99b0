/*
 * Ticket spinlocks built on the compiler's atomics, so the same code runs on
 * the host in unit tests. Only valid once the MMU and caches are on
 * (exclusives need Normal cacheable memory).
 */
#ifndef KEEL_SPINLOCK_H
#define KEEL_SPINLOCK_H

#include <arch/relax.h>
#include <keel/types.h>

/* 32-bit halves: RISC-V's A extension has no 16-bit atomics. */
typedef struct {
    u32 next;
    u32 owner;
} spinlock_t;

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(spinlock_t *l)
{
    u32 me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

    /* tested once before the loop: an uncontended lock falls through, no branch over the relax */
    if (__builtin_expect(__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) == me, 1))
        return;
    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
        arch_cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#endif
