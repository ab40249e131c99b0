/*
 * Secondary harts (SBI HSM), work dispatch to them woken by SBI IPIs, and
 * the spinlock.
 */
#include "libguest.h"

struct percpu {
    hart_fn fn;
    void *arg;
    bool busy;   /* work handed over and not finished */
    bool online; /* in the idle loop or running work */
};
static struct percpu pcpu[MAX_HARTS];
struct hart_entry_state hart_entry[MAX_HARTS];
volatile unsigned int idle_ipis[MAX_HARTS];
volatile unsigned int wake_ipi_missing;

void smp_mark_online(unsigned long hartid);
void report_prefix_clear(void);
void __noreturn libguest_secondary(unsigned long hartid, unsigned long opaque, unsigned long sstatus,
                                   unsigned long satp);
void __noreturn libguest_boot(unsigned long hartid, u64 dtb);

#define BOOT_TIMEOUT_US 2000000
#define WORK_TIMEOUT_US 20000000
#define WAKE_TIMEOUT_US 1000000

/* ---- spinlock ---- */
void spin_lock(spinlock_t *l)
{
    u32 old;

    for (;;) {
        __asm__ volatile("amoswap.w.aq %0, %2, %1" : "=r"(old), "+A"(l->locked) : "r"(1) : "memory");
        if (!old)
            return;
        /* wait reading, not swapping: the line stays shared while it is held */
        while (READ_ONCE(l->locked))
            cpu_relax();
    }
}

void spin_unlock(spinlock_t *l)
{
    __asm__ volatile("amoswap.w.rl zero, zero, %0" : "+A"(l->locked) :: "memory");
}

unsigned long spin_lock_irqsave(spinlock_t *l)
{
    unsigned long f = local_irq_save();

    spin_lock(l);
    return f;
}

void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
    spin_unlock(l);
    local_irq_restore(flags);
}

/* ---- idle loop and work ---- */
void smp_mark_online(unsigned long hartid)
{
    struct percpu *c = &pcpu[hartid];

    WRITE_ONCE(c->fn, NULL);
    WRITE_ONCE(c->busy, false);
    mb();
    WRITE_ONCE(c->online, true);
}

static void run_work(struct percpu *c, unsigned long h)
{
    /* on_hart_async() stored the work before its IPI: wait for that IPI, so none is left over */
    if (!wait_until(csr_read(sip) & SIP_SSIP, WAKE_TIMEOUT_US))
        __atomic_fetch_add(&wake_ipi_missing, 1, __ATOMIC_RELAXED);
    csr_clear(sip, SIP_SSIP);
    mb();
    c->fn(c->arg);
    local_irq_disable();
    csr_write(sie, SIE_SSIE);
    WRITE_ONCE(c->fn, NULL);
    mb();
    WRITE_ONCE(c->busy, false);
}

static void __noreturn idle_loop(void)
{
    unsigned long h = hart_id();
    struct percpu *c = &pcpu[h];

    local_irq_disable();
    csr_write(sie, SIE_SSIE); /* WFI wakes for a pending enabled interrupt, SIE or not */
    for (;;) {
        if (READ_ONCE(c->fn)) {
            run_work(c, h);
        } else if (csr_read(sip) & SIP_SSIP) {
            csr_clear(sip, SIP_SSIP);
            idle_ipis[h]++;
        } else {
            wfi();
        }
    }
}

void __noreturn libguest_secondary(unsigned long hartid, unsigned long opaque, unsigned long sstatus,
                                   unsigned long satp)
{
    struct hart_entry_state *e = &hart_entry[hartid];

    e->a0 = hartid;
    e->a1 = opaque;
    e->sstatus = sstatus;
    e->satp = satp;
    e->boots++;
    if (opaque == HART_HANDOVER)
        libguest_boot(hartid, machine.dtb);
    report_prefix_clear();
    sbi_set_timer(~0UL); /* nothing of a previous life pending */
    smp_mark_online(hartid);
    idle_loop();
}

bool hart_online(unsigned long hartid)
{
    return hartid < MAX_HARTS && READ_ONCE(pcpu[hartid].online);
}

long hart_boot(unsigned long hartid)
{
    struct sbiret r;

    WRITE_ONCE(pcpu[hartid].online, false);
    mb();
    r = sbi_hart_start(hartid, (unsigned long)secondary_entry, HART_OPAQUE(hart_entry[hartid].boots + 1));
    if (r.error)
        return r.error;
    if (!wait_until(hart_online(hartid), BOOT_TIMEOUT_US)) {
        report(false, "hart %lu: started but never reached libguest", hartid);
        return SBI_ERR_FAILED;
    }
    return SBI_SUCCESS;
}

void hart_boot_all(void)
{
    for (unsigned int i = 0; i < machine.nr_harts; i++) {
        unsigned long h = machine.hartid[i];
        long err;

        if (hart_online(h))
            continue;
        err = hart_boot(h);
        if (err)
            report(false, "hart_start of hart %lu: error %ld", h, err);
    }
}

void on_hart_async(unsigned long hartid, hart_fn fn, void *arg)
{
    struct percpu *c = &pcpu[hartid];
    struct sbiret r;

    if (hartid == hart_id()) {
        fn(arg);
        return;
    }
    c->arg = arg;
    WRITE_ONCE(c->busy, true);
    mb();
    WRITE_ONCE(c->fn, fn);
    mb();
    r = sbi_send_ipi(1, hartid);
    if (r.error)
        report(false, "wake-up IPI to hart %lu: error %ld", hartid, r.error);
}

bool hart_idle_wait(unsigned long hartid, u64 timeout_us)
{
    bool idle = wait_until(!READ_ONCE(pcpu[hartid].busy), timeout_us);

    mb();
    return idle;
}

void on_hart(unsigned long hartid, hart_fn fn, void *arg)
{
    on_hart_async(hartid, fn, arg);
    if (!hart_idle_wait(hartid, WORK_TIMEOUT_US))
        report(false, "hart %lu: work did not finish in %u s", hartid, WORK_TIMEOUT_US / 1000000);
}

void on_harts(hart_fn fn, void *arg)
{
    unsigned long self = hart_id();

    for (unsigned int i = 0; i < machine.nr_harts; i++)
        if (machine.hartid[i] != self && hart_online(machine.hartid[i]))
            on_hart_async(machine.hartid[i], fn, arg);
    fn(arg);
    for (unsigned int i = 0; i < machine.nr_harts; i++) {
        unsigned long h = machine.hartid[i];
        if (h != self && hart_online(h) && !hart_idle_wait(h, WORK_TIMEOUT_US))
            report(false, "hart %lu: work did not finish in %u s", h, WORK_TIMEOUT_US / 1000000);
    }
}

void __noreturn hart_stop_self(void)
{
    unsigned long h = hart_id();
    struct percpu *c = &pcpu[h];
    struct sbiret r;

    local_irq_disable(); /* hart_stop must be called so (SBI 9.2) */
    WRITE_ONCE(c->online, false);
    WRITE_ONCE(c->fn, NULL);
    mb();
    WRITE_ONCE(c->busy, false);
    r = sbi_hart_stop();
    report(false, "hart %lu: hart_stop returned, error %ld", h, r.error);
    smp_mark_online(h);
    idle_loop();
}
