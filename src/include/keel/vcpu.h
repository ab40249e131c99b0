/*
 * A virtual CPU. The general registers (arch/vcpu_state.h) come first: the
 * exception entry saves them in place.
 */
#ifndef KEEL_VCPU_H
#define KEEL_VCPU_H

#include <keel/timerq.h>
#include <keel/types.h>
#include <keel/vgic.h>
#include <arch/vcpu_state.h>

struct vm;
struct mmio_region;

enum vcpu_power { VCPU_OFF, VCPU_ON_PENDING, VCPU_ON };

/*
 * What the scheduler (core/sched.c) keeps of a vCPU. Written only on its
 * home CPU (prio: under that CPU's sched_lock, by the shell); the shell's
 * `sched` reads the rest without a lock, for display only.
 */
struct vcpu_sched {
    u8 prio;               /* its VM's keel,priority: higher runs first */
    bool blocked;          /* in WFI or CPU_SUSPEND on a shared CPU: waits for an interrupt */
    u64 queued_at;         /* counter when it last left the CPU: FIFO among equals */
    u64 ran_since;         /* counter when it was last put on the CPU */
    u64 run_ticks;         /* counter ticks on the CPU, since boot */
    u64 switches;          /* times put on the CPU */
    u64 affinity;          /* CPUs it may be homed on (its VM's, or the shell's `affinity`) */
    int move_to;           /* a CPU to move to (shell `affinity`), or -1; any CPU writes */
    bool migrated;         /* moved since it last ran: its TLB entries and timers follow */
    struct timer_event vtimer_wake; /* its virtual timer's deadline, while it is off the CPU */
};

struct vcpu {
    struct vcpu_regs regs;
    u64 exits[EXIT_REASONS]; /* right after regs: vectors.S counts fast exits */
    struct vm *vm;
    unsigned int id;    /* index in the VM */
    unsigned int pcpu;  /* its home physical CPU: the only one it runs on (core/sched.c) */
    volatile enum vcpu_power power;
    volatile bool running; /* on its physical CPU, in guest or exit handling */
    /*
     * What an exit must see to before the guest runs again, read as one
     * word (exit_work) by the exit path's one test. stopping: power != ON
     * or the VM not RUNNING, the vCPU leaves at its next exit (a bool;
     * vm_lifecycle.c keeps it in step with both, under vm->lock); on a
     * shared CPU, a descheduled vCPU leaves when the scheduler next looks.
     * resched: set from any CPU by the scheduler (sched.c) for the running
     * vCPU to call sched_exit_slow() at its next exit.
     * want_words: bit w set iff vgic.want[w] is not 0, an interrupt waits
     * for a list register (vgic_want_set/clear keep it, vgic lock held).
     */
    union {
        u64 exit_work;
        struct {
            union {
                volatile u32 slow_work; /* either below: exit_return()'s second test */
                struct {
                    volatile u16 stopping;
                    volatile u16 resched; /* its CPU's mode changed, or it is to move (sched.c) */
                };
            };
            u32 want_words;
        };
    };
    struct mmio_region *mmio_hint; /* the region of its last MMIO exit, tried first (vm.h) */
    u64 entry, context; /* PSCI CPU_ON arguments, consumed at start */
    struct vcpu_arch arch;
    struct vgic_cpu vgic;
    struct vcpu_sched sched;
    u64 irqs_injected;
};

/*
 * Any interrupt waiting for a list register? Inline: asked on every flush,
 * so it is one load of the summary word, not of all four want words.
 */
static inline bool vgic_wants_flush(const struct vgic_cpu *c)
{
    return container_of(c, const struct vcpu, vgic)->want_words != 0;
}

/* Every change to a want bit goes through these two (vgic lock held), so want_words stays true. */
static inline void vgic_want_set(struct vgic_cpu *c, u32 intid)
{
    c->want[intid / 64] |= 1UL << (intid % 64);
    container_of(c, struct vcpu, vgic)->want_words |= 1U << (intid / 64);
}

static inline void vgic_want_clear(struct vgic_cpu *c, u32 intid)
{
    u64 w = c->want[intid / 64] & ~(1UL << (intid % 64));

    c->want[intid / 64] = w;
    if (!w)
        container_of(c, struct vcpu, vgic)->want_words &= ~(1U << (intid / 64));
}

static inline struct vcpu *vcpu_of_regs(struct vcpu_regs *regs)
{
    return (struct vcpu *)regs;
}

static inline u64 vcpu_get_reg(struct vcpu *v, unsigned int r) { return vcpu_regs_get(&v->regs, r); }
static inline void vcpu_set_reg(struct vcpu *v, unsigned int r, u64 val) { vcpu_regs_set(&v->regs, r, val); }

/* Sends a physical IPI so the vCPU's CPU notices new work (IRQs, CPU_ON). */
void vcpu_kick(struct vcpu *vcpu);
/* The running vCPU leaves its physical CPU, which goes idle. */
void __noreturn vcpu_stop_self(struct vcpu *vcpu);
/* PSCI CPU_OFF. */
void __noreturn vcpu_power_off_self(struct vcpu *vcpu);

#endif
