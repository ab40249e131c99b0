#include <keel/console.h>
#include <keel/spinlock.h>

static const struct console_ops *console_ops;
static spinlock_t console_lock = SPINLOCK_INIT;

void console_register(const struct console_ops *ops)
{
    console_ops = ops;
}

void console_write(const char *s, size_t len)
{
    if (!console_ops)
        return;
    spin_lock(&console_lock);
    for (size_t i = 0; i < len; i++)
        console_ops->putc(s[i]);
    spin_unlock(&console_lock);
}

int console_getc(void)
{
    return console_ops ? console_ops->getc() : -1;
}

void console_force_unlock(void)
{
    console_lock = (spinlock_t)SPINLOCK_INIT;
}

void console_enable_rx_irq(void)
{
    if (console_ops && console_ops->enable_rx_irq)
        console_ops->enable_rx_irq();
}
