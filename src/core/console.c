#include <keel/arch.h>
#include <keel/console.h>
#include <keel/spinlock.h>

static const struct console_ops *console_ops;
static spinlock_t console_lock = SPINLOCK_INIT;

void console_register(const struct console_ops *ops)
{
    console_ops = ops;
}

/* CPU that owns the console after a fault or panic; -1 while all is well. */
static int panic_owner = -1;

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
    for (size_t i = 0; i < len; i++)
        console_ops->putc(s[i]);
    spin_unlock(&console_lock);
}

int console_getc(void)
{
    return console_ops ? console_ops->getc() : -1;
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
