/*
 * smp: every hart at once for about a second, in rounds, then HSM stop and
 * start of the secondaries.
 *  - IPIs: sip.SSIP is one bit, so IPIs to a hart coalesce; to count them
 *    exactly, each round gives every hart exactly one sender. In most
 *    rounds hart i sends (SBI send_ipi) to the hart s places on, s moving
 *    round by round; every eighth round one hart sends to all with
 *    hart_mask_base = -1, itself included. The sender posts a message in
 *    memory first; the receiver's S-software interrupt handler clears
 *    sip.SSIP and takes it. A message not taken within a second is a lost
 *    IPI, an interrupt that finds none an extra one.
 *  - a spinlock (AMOSWAP.W.AQ / AMOSWAP.W.RL) around a non-atomic counter,
 *    and an LR.D/SC.D increment of another
 *  - SBI remote FENCE.I and SFENCE.VMA to all harts, from one hart every
 *    eighth round
 *  - a barrier between rounds; the boot hart decides from the time whether
 *    another round starts
 *  - then hart_stop on each secondary (get_status: STOPPED) and hart_start
 *    again (each runs work)
 */
#include "libguest.h"

#define RUN_US 1000000
#define LOST_US 1000000
#define BROADCAST_EVERY 8
#define LOCKS_PER_ROUND 4
#define FENCE_EVERY 8 /* rounds: a remote fence to all waits for every hart, under OpenSBI too */

static unsigned int nr;                  /* harts taking part */
static volatile u32 posted[MAX_HARTS];   /* messages sent to a hart */
static volatile u32 taken[MAX_HARTS];    /* ... and taken by its handler */
static volatile unsigned int extra[MAX_HARTS], lost[MAX_HARTS];
static unsigned int sent[MAX_HARTS], broadcasts[MAX_HARTS], sbi_errors[MAX_HARTS];
static unsigned int fences[MAX_HARTS], rounds_done;
static u64 deadline;
static volatile u32 go;

static spinlock_t lock = SPINLOCK_INIT;
static volatile u64 counter;
static volatile long owner = -1;
static u64 acquired[MAX_HARTS];
static volatile unsigned int violations;
static u64 lrsc_counter;
static u64 lrsc_adds[MAX_HARTS];

static void soft_handler(struct trap_frame *f)
{
    unsigned long h = hart_id();

    csr_clear(sip, SIP_SSIP); /* before looking: a later IPI raises it again */
    if (__atomic_load_n(&posted[h], __ATOMIC_ACQUIRE) != taken[h])
        taken[h]++;
    else
        extra[h]++;
}

static volatile u32 bar_arrived, bar_gen;

static void hart_barrier(void)
{
    u32 gen = __atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE);

    if (__atomic_add_fetch(&bar_arrived, 1, __ATOMIC_ACQ_REL) == nr) {
        bar_arrived = 0;
        __atomic_store_n(&bar_gen, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE) == gen)
        cpu_relax();
}

static unsigned int index_of(unsigned long h)
{
    for (unsigned int i = 0; i < nr; i++)
        if (machine.hartid[i] == h)
            return i;
    return 0;
}

static void post_to(unsigned long to)
{
    __atomic_fetch_add(&posted[to], 1, __ATOMIC_RELEASE);
}

/* This round's IPI: to the hart s places on, or in a broadcast round from one hart to all. */
static void send_round(unsigned int i, unsigned int round)
{
    struct sbiret r;

    if (round % BROADCAST_EVERY == BROADCAST_EVERY - 1) {
        if (i != (round / BROADCAST_EVERY) % nr)
            return;
        for (unsigned int j = 0; j < nr; j++)
            post_to(machine.hartid[j]);
        mb();
        r = sbi_send_ipi(0, SBI_HART_MASK_BASE_ALL);
        broadcasts[i]++;
    } else {
        unsigned int s = nr > 1 ? 1 + round % (nr - 1) : 0;
        unsigned long to = machine.hartid[(i + s) % nr];

        post_to(to);
        mb();
        r = sbi_send_ipi(1, to);
    }
    sent[i]++;
    sbi_errors[i] += r.error != 0;
}

/* One message per hart per round: wait for ours to be taken, else it was lost. */
static void receive_round(unsigned long h)
{
    if (wait_until(__atomic_load_n(&taken[h], __ATOMIC_ACQUIRE) == posted[h], LOST_US))
        return;
    local_irq_disable();
    lost[h] += posted[h] - taken[h];
    taken[h] = posted[h];
    local_irq_enable();
}

static void lock_round(unsigned long h)
{
    for (unsigned int k = 0; k < LOCKS_PER_ROUND; k++) {
        u64 v;

        spin_lock(&lock);
        if (owner != -1)
            violations++;
        owner = (long)h;
        v = counter;
        for (volatile int d = 0; d < 20; d++)
            ;
        counter = v + 1;
        if (owner != (long)h)
            violations++;
        owner = -1;
        acquired[h]++;
        spin_unlock(&lock);
    }
}

static void lrsc_add(u64 *p)
{
    u64 old, fail;

    __asm__ volatile("1: lr.d %0, (%2)\n"
                     "   addi %0, %0, 1\n"
                     "   sc.d %1, %0, (%2)\n"
                     "   bnez %1, 1b"
                     : "=&r"(old), "=&r"(fail) : "r"(p) : "memory");
}

static void fence_round(unsigned int i)
{
    struct sbiret a = sbi_call2(SBI_EXT_RFENCE, SBI_REMOTE_FENCE_I, 0, SBI_HART_MASK_BASE_ALL);
    struct sbiret b = sbi_ecall(SBI_EXT_RFENCE, SBI_REMOTE_SFENCE_VMA, 0, SBI_HART_MASK_BASE_ALL, 0, 0, 0, 0);

    fences[i] += 2;
    sbi_errors[i] += (a.error != 0) + (b.error != 0);
}

static void stress(void *arg)
{
    unsigned long h = hart_id();
    unsigned int i = index_of(h);

    csr_clear(sip, SIP_SSIP);
    csr_set(sie, SIE_SSIE);
    local_irq_enable();
    for (unsigned int round = 0;; round++) {
        if (i == 0)
            go = rdtime() < deadline;
        hart_barrier();
        if (!go)
            break;
        send_round(i, round);
        lock_round(h);
        lrsc_add(&lrsc_counter);
        lrsc_adds[h]++;
        if (round % FENCE_EVERY == 0 && i == (round / FENCE_EVERY) % nr)
            fence_round(i);
        receive_round(h);
        hart_barrier(); /* every message of this round taken before the next is sent */
        if (i == 0)
            rounds_done = round + 1;
    }
    local_irq_disable();
    csr_clear(sie, SIE_SSIE);
}

static void report_stress(void)
{
    unsigned int s = 0, t = 0, x = 0, l = 0, bc = 0, err = 0, fen = 0;
    u64 acq = 0, adds = 0;
    bool each = true;

    for (unsigned int i = 0; i < nr; i++) {
        unsigned long h = machine.hartid[i];

        report_info("hart %lu: %u IPIs sent (%u to all), %u taken, %u extra, %u lost; lock taken %lu times; "
                    "%u remote fences", h, sent[i], broadcasts[i], taken[h], extra[h], lost[h],
                    (unsigned long)acquired[h], fences[i]);
        s += sent[i];
        t += taken[h];
        x += extra[h];
        l += lost[h];
        bc += broadcasts[i];
        err += sbi_errors[i];
        fen += fences[i];
        acq += acquired[h];
        adds += lrsc_adds[h];
        each &= taken[h] == rounds_done && posted[h] == rounds_done;
    }
    report(rounds_done && !l && each, "no lost IPIs: %u rounds, every hart took exactly one per round (%u sent, "
           "%u taken, %u lost)", rounds_done, s, t, l);
    report(!x, "no extra IPIs: every S-software interrupt found its message (%u without)", x);
    if (rounds_done >= BROADCAST_EVERY)
        report(bc > 0, "rounds with hart_mask_base = -1 took part (%u)", bc);
    report(!err, "sbi_send_ipi and remote FENCE.I/SFENCE.VMA to all: SBI_SUCCESS every time (%u fences, %u "
           "errors)", fen, err);
    report(!violations && counter == acq, "spinlock exclusive: counter %lu == %lu acquisitions, %u owner "
           "violations", (unsigned long)counter, (unsigned long)acq, violations);
    report(lrsc_counter == adds, "LR.D/SC.D increments: %lu == %lu", (unsigned long)lrsc_counter,
           (unsigned long)adds);
}

/* ---- HSM: stop every secondary, then start them again ---- */
static volatile unsigned int ran[MAX_HARTS];

static void stop_self(void *arg)
{
    hart_stop_self();
}

static void mark(void *arg)
{
    ran[hart_id()]++;
}

static void test_stop_start(void)
{
    unsigned long self = hart_id();
    bool stopped = true, back = true;

    if (nr == 1) {
        report_skip("hart_stop and hart_start of the secondaries: a single hart");
        return;
    }
    for (unsigned int i = 0; i < nr; i++)
        if (machine.hartid[i] != self)
            on_hart(machine.hartid[i], stop_self, NULL);
    for (unsigned int i = 0; i < nr; i++) {
        unsigned long h = machine.hartid[i];
        long st = -1;
        bool ok;

        if (h == self)
            continue;
        ok = wait_until((st = sbi_hart_get_status(h).value) == SBI_HSM_STATE_STOPPED, LOST_US);
        if (!ok)
            report_info("hart %lu: state %ld", h, st);
        stopped &= ok;
    }
    report(stopped, "hart_stop on each of the %u secondaries: hart_get_status says STOPPED", nr - 1);
    hart_boot_all();
    on_harts(mark, NULL);
    for (unsigned int i = 0; i < nr; i++)
        back &= hart_online(machine.hartid[i]) && ran[machine.hartid[i]] == 1;
    report(back, "hart_start again: every secondary back and running work");
}

void guest_main(void)
{
    report_prefix_push("smp");
    nr = machine.nr_harts;
    report_info("%u hart(s), boot hart %lu, %u ms of rounds", nr, hart_id(), RUN_US / 1000);
    hart_boot_all();
    for (unsigned int i = 0; i < nr; i++)
        if (!hart_online(machine.hartid[i]))
            guest_abort("hart %lu did not come up: no rounds without it", machine.hartid[i]);
    irq_set_handler(IRQ_S_SOFT, soft_handler);
    deadline = rdtime() + us_to_ticks(RUN_US);
    on_harts(stress, NULL);
    irq_set_handler(IRQ_S_SOFT, NULL);
    report_stress();
    test_stop_start();
    report(!wake_ipi_missing, "libguest's wake-up IPIs all arrived (%u missing)", wake_ipi_missing);
    report_prefix_pop();
}
