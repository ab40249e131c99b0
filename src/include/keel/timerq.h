/*
 * One queue of deadlines per physical CPU, on the one hardware timer Keel
 * keeps for itself (the EL2 physical timer on Arm): the emulated EL1
 * physical timers of the vCPUs homed there, the virtual-timer deadlines of
 * its descheduled vCPUs, and the scheduler's time slice.
 *
 * Locking: none. A queue is only touched by its own CPU, with interrupts
 * masked (Keel never takes an interrupt at EL2), so it needs no lock; the
 * events of a vCPU sit in its home CPU's queue, and a vCPU moving to
 * another CPU takes them out first (sched.c).
 */
#ifndef KEEL_TIMERQ_H
#define KEEL_TIMERQ_H

#include <keel/types.h>

struct timer_event;
typedef void (*timer_fn)(struct timer_event *ev);

struct timer_event {
    u64 deadline;             /* counter value */
    timer_fn fn;              /* runs on the queue's CPU once the counter passed deadline */
    struct timer_event *next; /* sorted by deadline */
    bool armed;
};

struct timerq {
    struct timer_event *head;
    u64 programmed;           /* what the hardware timer holds; ~0: stopped */
    u64 fired;                /* events run since boot (shell: sched) */
};

void timerq_init(struct timerq *q);
/* Arms @ev (armed or not) for @deadline; the hardware follows the earliest. */
void timerq_arm(struct timerq *q, struct timer_event *ev, u64 deadline);
void timerq_cancel(struct timerq *q, struct timer_event *ev);
/* The hardware timer fired (or might have): runs every event due at @now. */
void timerq_expire(struct timerq *q, u64 now);

/* The architecture's half: this CPU's timer set for @deadline, or off (~0). */
void arch_timer_program(u64 deadline);

#endif
