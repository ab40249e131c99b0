/*
 * The per-CPU deadline queue (keel/timerq.h). A sorted singly linked list:
 * a CPU holds a handful of events (two per homed vCPU and one slice), so
 * insertion by walking beats any tree on size and on cost.
 */
#include <keel/timerq.h>

#define TIMERQ_OFF (~0UL)

void timerq_init(struct timerq *q)
{
    q->head = NULL;
    q->programmed = TIMERQ_OFF;
    q->fired = 0;
}

/* The hardware timer to the head's deadline; written only when that changes. */
static void timerq_reprogram(struct timerq *q)
{
    u64 want = q->head ? q->head->deadline : TIMERQ_OFF;

    if (want == q->programmed)
        return;
    q->programmed = want;
    arch_timer_program(want);
}

static void timerq_unlink(struct timerq *q, struct timer_event *ev)
{
    struct timer_event **p = &q->head;

    while (*p && *p != ev)
        p = &(*p)->next;
    if (*p)
        *p = ev->next;
    ev->next = NULL;
    ev->armed = false;
}

void timerq_arm(struct timerq *q, struct timer_event *ev, u64 deadline)
{
    struct timer_event **p = &q->head;

    if (ev->armed)
        timerq_unlink(q, ev);
    ev->deadline = deadline;
    ev->armed = true;
    while (*p && (*p)->deadline <= deadline) /* FIFO among equal deadlines */
        p = &(*p)->next;
    ev->next = *p;
    *p = ev;
    timerq_reprogram(q);
}

void timerq_cancel(struct timerq *q, struct timer_event *ev)
{
    if (!ev->armed)
        return;
    timerq_unlink(q, ev);
    timerq_reprogram(q);
}

/*
 * Each event leaves the queue before its function runs, so the function
 * may arm it (or any other) again; one that re-arms itself in the past
 * runs again in this same call, which the caller's @now bounds.
 */
void timerq_expire(struct timerq *q, u64 now)
{
    struct timer_event *ev;

    while ((ev = q->head) && ev->deadline <= now) {
        q->head = ev->next;
        ev->next = NULL;
        ev->armed = false;
        q->fired++;
        ev->fn(ev);
    }
    q->programmed = 0; /* the hardware fired: whatever it holds, set it again */
    timerq_reprogram(q);
}
