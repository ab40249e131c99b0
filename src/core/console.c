#include <keel/arch.h>
#include <keel/console.h>
#include <keel/spinlock.h>

static const struct console_ops *console_ops;
static spinlock_t console_lock = SPINLOCK_INIT;

void console_register(const struct console_ops *ops)
{
    console_ops = ops;
}

/* CPU that owns the console during a fault or panic dump; -1 otherwise. */
static int panic_owner = -1;
static int lock_holder = -1; /* CPU inside console_write, for a dying one's release */

void console_write(const char *s, size_t len)
{
    int owner = __atomic_load_n(&panic_owner, __ATOMIC_ACQUIRE);

    if (!console_ops)
        return;
    if (owner >= 0) {
        if ((unsigned int)owner != arch_cpu_id())
            return; /* a dying CPU is talking: everyone else keeps quiet */
        for (size_t i = 0; i < len; i++)
            console_ops->putc(s[i]);
        return;
    }
    spin_lock(&console_lock);
    lock_holder = (int)arch_cpu_id();
    for (size_t i = 0; i < len; i++)
        console_ops->putc(s[i]);
    lock_holder = -1;
    spin_unlock(&console_lock);
}

int console_getc(void)
{
    return console_ops ? console_ops->getc() : -1;
}

/*
 * The dump is out: give the console back so the other CPUs' guests are heard
 * again, first releasing the lock if this CPU died while holding it.
 */
void console_panic_release(void)
{
    int me = (int)arch_cpu_id();

    if (__atomic_load_n(&panic_owner, __ATOMIC_ACQUIRE) != me)
        return;
    if (lock_holder == me) {
        lock_holder = -1;
        spin_unlock(&console_lock);
    }
    __atomic_store_n(&panic_owner, -1, __ATOMIC_RELEASE);
}

bool console_panic_claim(void)
{
    int expected = -1, me = (int)arch_cpu_id();

    return __atomic_compare_exchange_n(&panic_owner, &expected, me, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE) || expected == me;
}

void console_enable_rx_irq(void)
{
    if (console_ops && console_ops->enable_rx_irq)
        console_ops->enable_rx_irq();
}
