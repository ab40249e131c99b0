/*
 * smp: IPIs and a spinlock across every vCPU for a bounded time.
 * Each vCPU sends SGIs to the others in turn (SGI number = sender, so the
 * receiver knows who sent it) and now and then to all others at once with
 * IRM = 1, and takes a shared ticket lock around a non-atomic counter
 * (sending on while it waits for its turn). An SGI is only sent to a vCPU once the previous one from
 * the same sender arrived, so none may coalesce: every SGI sent must be
 * received. With 1 vCPU the SGIs go to itself.
 * Checked: no lost or extra interrupts, the lock is exclusive (owner check
 * and the counter), every vCPU made progress, nothing unexpected arrived.
 */
#include "libguest.h"

#define RUN_US 1000000   /* stress time */
#define DRAIN_US 2000000 /* how long stragglers may take */
#define BCAST_EVERY 4    /* unicasts between two IRM broadcasts */

static volatile u64 sent[MAX_CPUS][MAX_CPUS];     /* [from][to], written by the sender */
static volatile u64 received[MAX_CPUS][MAX_CPUS]; /* [from][to], written by the receiver */
static volatile u64 broadcasts[MAX_CPUS];
static volatile u64 stray[MAX_CPUS];
static u64 deadline;

static spinlock_t lock = SPINLOCK_INIT;
static volatile u64 counter;
static volatile int owner = -1;
static u64 acquired[MAX_CPUS], violations;

static void sgi_handler(u32 intid, struct ex_frame *f)
{
    unsigned int self = smp_id();

    if (intid < machine.nr_cpus)
        received[intid][self]++;
    else
        stray[self]++;
}

static bool idle_to(unsigned int from, unsigned int to)
{
    return __atomic_load_n(&received[from][to], __ATOMIC_ACQUIRE) == sent[from][to];
}

/* One round of sending: a unicast to the next idle vCPU, or first and every few rounds a broadcast. */
static void send_round(unsigned int self, unsigned int *next, u64 *rounds)
{
    unsigned int n = machine.nr_cpus;
    bool all_idle = true;

    for (unsigned int to = 0; to < n; to++)
        if (to != self)
            all_idle &= idle_to(self, to);
    if (n > 1 && *rounds >= BCAST_EVERY) {
        /* first, and after every few unicasts: let them land, then all others at once (IRM = 1) */
        if (all_idle) {
            for (unsigned int to = 0; to < n; to++)
                if (to != self)
                    sent[self][to]++;
            broadcasts[self]++;
            gic_send_sgi_others(self);
            *rounds = 0;
        }
        return;
    }
    for (unsigned int k = 0; k < n; k++) {
        unsigned int to = n == 1 ? self : (*next + 1 + k) % n;
        if (to == self && n > 1)
            continue;
        if (idle_to(self, to)) {
            sent[self][to]++;
            gic_send_sgi(to, self);
            *next = to;
            ++*rounds;
            return;
        }
    }
}

/*
 * Takes a ticket of the shared lock and keeps sending SGIs until its turn
 * (interrupts unmasked: the handler takes no lock), then updates the counter
 * with interrupts masked. Waiting is where the time goes when vCPUs outnumber
 * the host's cores (QEMU TCG): SGIs keep flowing meanwhile.
 */
static void lock_round(unsigned int self, unsigned int *next, u64 *rounds)
{
    u16 me = __atomic_fetch_add(&lock.next, 1, __ATOMIC_RELAXED);
    u64 v, flags;

    while (__atomic_load_n(&lock.owner, __ATOMIC_ACQUIRE) != me)
        send_round(self, next, rounds);
    flags = local_irq_save();
    if (owner != -1)
        violations++;
    owner = (int)self;
    v = counter;
    for (volatile int i = 0; i < 10; i++)
        ;
    counter = v + 1;
    acquired[self]++;
    if (owner != (int)self)
        violations++;
    owner = -1;
    local_irq_restore(flags);
    spin_unlock(&lock);
}

static void stress(void *arg)
{
    unsigned int self = smp_id(), n = machine.nr_cpus, next = self;
    u64 rounds = BCAST_EVERY; /* start with a broadcast */

    local_irq_enable();
    while (cntvct() < deadline) {
        send_round(self, &next, &rounds);
        lock_round(self, &next, &rounds);
    }
    /* let our own SGIs land */
    for (unsigned int to = 0; to < n; to++)
        wait_until(idle_to(self, to), DRAIN_US);
}

void guest_main(void)
{
    unsigned int n = machine.nr_cpus;
    u64 total_sent = 0, total_recv = 0, total_bc = 0, total_lock = 0, total_stray = 0;
    bool progress = true;

    report_prefix_push("smp");
    report_info("%u vCPU(s), %u ms of IPIs and locking", n, RUN_US / 1000);
    smp_boot_all();
    for (unsigned int c = 0; c < n; c++) {
        irq_set_handler(c, sgi_handler);
        for (unsigned int i = 0; i < n; i++)
            gic_irq_enable_on(i, c);
    }
    deadline = cntvct() + us_to_ticks(RUN_US);
    on_cpus(stress, NULL);

    for (unsigned int from = 0; from < n; from++) {
        u64 s = 0, r = 0;
        for (unsigned int to = 0; to < n; to++) {
            s += sent[from][to];
            r += received[from][to];
            if (sent[from][to] != received[from][to])
                report_info("cpu %u -> cpu %u: %lu sent, %lu received", from, to, sent[from][to],
                            received[from][to]);
        }
        progress &= s > 0 && acquired[from] > 0;
        report_info("cpu %u: %lu SGIs sent (%lu broadcasts), %lu received, lock taken %lu times", from, s,
                    broadcasts[from], r, acquired[from]);
        total_sent += s;
        total_recv += r;
        total_bc += broadcasts[from];
        total_lock += acquired[from];
        total_stray += stray[from];
    }
    report(total_sent == total_recv && total_sent > 0,
           "no lost interrupts: %lu SGIs sent (%lu with IRM), %lu received", total_sent, total_bc, total_recv);
    report(n == 1 || total_bc > 0, "IRM broadcasts took part (%lu)", total_bc);
    report(violations == 0 && counter == total_lock,
           "spinlock exclusive: counter %lu == %lu acquisitions, %lu owner violations", counter,
           total_lock, violations);
    report(progress, "every vCPU sent SGIs and took the lock");
    {
        unsigned int u = 0;
        for (unsigned int c = 0; c < n; c++)
            u += irq_unhandled[c];
        report(total_stray == 0 && u == 0, "no unexpected interrupts (%lu stray, %u unhandled)",
               total_stray, u);
    }
    report_prefix_pop();
}
