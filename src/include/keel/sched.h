/*
 * The vCPU scheduler (core/sched.c): each vCPU has one home CPU (its
 * vcpu->pcpu, placed at creation); a CPU home to one vCPU is exclusive and
 * runs it as if pinned, one home to several is shared and picks among them
 * by priority, FIFO among equals, with a time slice and preemption when an
 * interrupt makes a higher-priority vCPU runnable. See docs/scheduling.md.
 */
#ifndef KEEL_SCHED_H
#define KEEL_SCHED_H

#include <keel/cpu.h>
#include <keel/types.h>

struct vcpu;
struct vcpu_regs;

struct vm;
/* At VM creation: can every vCPU of @vm join its home CPU (v->pcpu)? Then each does. */
bool sched_has_room(const struct vm *vm);
void sched_home_vcpu(struct vcpu *v);
/* The idle loop: runs (starts or resumes) the best vCPU homed here; returns if none. */
void sched_idle_poll(void);
/*
 * The end of every exit on a shared CPU (the full-save vectors): the
 * registers to resume, @regs' own or another vCPU's after a switch; never
 * returns when none is runnable (idle).
 */
struct vcpu_regs *sched_exit(struct vcpu_regs *regs);
/* The running vCPU waits in WFI or CPU_SUSPEND (shared CPUs: the next exit puts it down). */
void sched_block(struct vcpu *v);
/* ... or in WFE: it lets an equal-priority vCPU run first. */
void sched_yield(struct vcpu *v);
/* A stopped vCPU leaves its CPU: its deadlines go (vcpu_stop_self). */
void sched_vcpu_stopped(struct vcpu *v);
/* Shell: `sched`, `prio <vm> <n>`, `affinity <vm> <vcpu> <mask>` (NULL, or why not). */
void sched_show(void);
void sched_set_prio(struct vm *vm, unsigned int prio);
const char *sched_set_affinity(struct vcpu *v, u64 mask);
/* exit_return()'s slow path for vcpu->resched, on the vCPU's own CPU. */
void sched_exit_slow(struct vcpu *v);

/*
 * The policy, pure (unit-tested on the host): of the @n vCPUs in @homed,
 * the one to run now, or NULL. @cur is the one on the CPU (NULL: none), a
 * candidate only if @cur_runnable; it keeps the CPU against an
 * equal-priority vCPU until @slice_over. Among the others the highest
 * priority wins, then the one that waited longest (vcpu_sched.queued_at).
 */
struct vcpu *sched_pick(struct vcpu *const *homed, unsigned int n, struct vcpu *cur,
                        bool cur_runnable, bool slice_over, bool (*runnable)(struct vcpu *v));

/* What the scheduler asks of the architecture about a vCPU off its CPU. */
/* Saves the running @v's state from this CPU into @v and leaves the CPU quiet. */
void arch_vcpu_put(struct vcpu *v);
/* Loads @v's saved state onto this CPU (the reverse of arch_vcpu_put). */
void arch_vcpu_load(struct vcpu *v);
/* Would @v, off its CPU, take an interrupt now (a WFI would end)? */
bool arch_vcpu_has_work(struct vcpu *v);
/* Its virtual timer's deadline while off the CPU (~0: none): it must be woken then. */
u64 arch_vcpu_vtimer_deadline(const struct vcpu *v);
/*
 * This CPU turned shared or exclusive under its running vCPU @v: its
 * traps and exit vectors follow. @exit_now: have the guest exit again at
 * once, through the vectors of the new mode.
 */
void arch_vcpu_remode(struct vcpu *v, bool exit_now);
/* @v, off its CPU, moves to another: its deadlines leave this CPU's queue... */
void arch_vcpu_migrate_out(struct vcpu *v);
/* ... and after its first load on the new one, they and its TLB entries follow it there. */
void arch_vcpu_migrated(struct vcpu *v);
/* Resumes the guest with every register from @regs (arch_vcpu_load done). */
void __noreturn arch_vcpu_resume(struct vcpu_regs *regs);

#endif
