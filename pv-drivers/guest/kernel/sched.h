/* Cooperative per-vCPU thread scheduler: threads, sleeping, wait queues, idle via SCHEDOP_block. */
#ifndef GUEST_SCHED_H
#define GUEST_SCHED_H

#include "kernel.h"
#include "layout.h"

struct percpu;

enum thread_state { THREAD_RUNNABLE, THREAD_BLOCKED, THREAD_DEAD };

#define THREAD_MAGIC 0x6b78656e74687264ULL  /* "kxenthrd": a stack overflow tramples it */

/*
 * Lives at the bottom of its own STACK_SIZE-aligned stack (see layout.h).
 * A thread never leaves the vCPU it was created on, so per-vCPU run state
 * needs no lock: only event masking against our own upcall.
 */
struct thread {
	uint64_t magic;
	uint64_t sp;                 /* saved by switch_stack */
	struct percpu *cpu;
	struct thread *next;         /* ring of this vCPU's threads */
	enum thread_state state;
	uint64_t deadline;           /* BLOCKED: wake at this system time, 0 = never */
	const void *waitq;           /* BLOCKED: what wake_up() must be called on */
	bool timed_out;
	bool owns_stack;             /* allocated by thread_create, freed when reaped */
	void (*fn)(void *);
	void *arg;
	const char *name;
};

static inline struct thread *current_thread(void)
{
	uint64_t sp;

	__asm__("mov %%rsp, %0" : "=r"(sp));
	return (struct thread *)(sp & ~(uint64_t)(STACK_SIZE - 1));
}

/* A wait queue is just an address threads wait on; wake_up scans this vCPU's threads. */
struct waitq {
	char unused;
};

/* Makes the STACK_SIZE block at stack the running thread of cpu (boot and secondary vCPUs). */
void sched_init_cpu(struct percpu *cpu, void *stack, const char *name);
/*
 * Takes leading "idlepoll=US" and "upcalls=" options off argv (like console_parse_args):
 * an idle vCPU then watches for an event that long, upcalls masked, before
 * it blocks. Worth it where an exit costs more than the wait it saves
 * (bench_net -P, bench_blk -S); 0 (the default) blocks at once. Also
 * "upcalls=eager" (events interrupt running threads, as before lazy
 * upcalls: events.h) and "upcalls=lazy" (the default), for comparisons.
 * Returns the new argc, or -1 after printing what is wrong.
 */
int sched_parse_args(int argc, char **argv);
/* "sched: vCPU N after WHO: B blocks, P polls won, U upcalls" for this vCPU: where its exits went. */
void sched_print_stats(const char *who);

/* Creates a runnable thread on the calling vCPU. Returns NULL when out of memory. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg);
__noreturn void thread_exit(void);
void thread_entry(void);   /* called from thread_trampoline only */

void schedule(void);       /* call with events masked; returns with them masked */
void yield(void);
void sleep_ns(uint64_t ns);
void msleep(uint64_t ms);
/* Runs the idle loop of this vCPU forever (secondary vCPUs end here). */
__noreturn void sched_idle_forever(void);

/*
 * Blocks until wake_up(wq) (returns 0) or the system time reaches deadline
 * (returns -1; deadline 0 = no timeout). Call with events masked and the
 * condition checked under that mask, so a wake-up cannot slip in between.
 */
int sched_wait(struct waitq *wq, uint64_t deadline);
/* Makes every thread of this vCPU waiting on wq runnable. Safe in event handlers. */
void wake_up(struct waitq *wq);

/* Waits for cond with events masked around each test; returns 0, or -1 on timeout. */
#define wait_event_timeout(wq, cond, timeout_ns) ({                     \
	uint64_t __dl = (timeout_ns) ? clock_now_ns() + (timeout_ns) : 0; \
	int __ret = 0;                                                  \
	int __flags = evt_save_disable();                               \
	while (!(cond)) {                                               \
		if (sched_wait((wq), __dl) < 0 && !(cond)) {            \
			__ret = -1;                                     \
			break;                                          \
		}                                                       \
	}                                                               \
	evt_restore(__flags);                                           \
	__ret; })

#define wait_event(wq, cond) ((void)wait_event_timeout(wq, cond, 0))

#endif
