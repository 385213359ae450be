/* Cooperative round-robin scheduler, one independent instance per vCPU; idles in SCHEDOP_block. */
#include "sched.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"
#include "kstring.h"
#include "mm.h"
#include "smp.h"

void sched_init_cpu(struct percpu *cpu, void *stack, const char *name)
{
	struct thread *t = stack;

	memset(t, 0, sizeof(*t));
	t->magic = THREAD_MAGIC;
	t->cpu = cpu;
	t->next = t;
	t->state = THREAD_RUNNABLE;
	t->name = name;
	cpu->threads = t;
	cpu->current = t;
}

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg)
{
	void *stack = alloc_pages(STACK_PAGES, STACK_PAGES);

	if (!stack)
		return NULL;
	struct thread *t = stack;
	struct thread *cur = current_thread();

	memset(t, 0, sizeof(*t));
	t->magic = THREAD_MAGIC;
	t->cpu = cur->cpu;
	t->state = THREAD_RUNNABLE;
	t->owns_stack = true;
	t->fn = fn;
	t->arg = arg;
	t->name = name;

	/* What switch_stack pops: six callee-saved registers, then "returns" into the trampoline. */
	uint64_t *sp = (uint64_t *)((char *)stack + STACK_SIZE);
	*--sp = (uint64_t)thread_trampoline;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->sp = (uint64_t)sp;

	int flags = evt_save_disable();
	t->next = cur->next;
	cur->next = t;
	evt_restore(flags);
	return t;
}

void thread_entry(void)
{
	struct thread *t = current_thread();

	/* We arrive from schedule() with events masked, not through its restore. */
	evt_enable();
	t->fn(t->arg);
	thread_exit();
}

void thread_exit(void)
{
	evt_save_disable();
	current_thread()->state = THREAD_DEAD;
	schedule();
	panic("sched: dead thread rescheduled");
}

/* Frees dead threads other than the running one (we cannot free the stack we stand on). */
static void reap(struct thread *self)
{
	struct thread *prev = self, *t = self->next;

	while (t != self) {
		if (t->state == THREAD_DEAD && t->owns_stack) {
			prev->next = t->next;
			t->magic = 0;
			free_pages(t, STACK_PAGES);
			t = prev->next;
			continue;
		}
		prev = t;
		t = t->next;
	}
}

static uint64_t idle_poll_ns;

/* "idlepoll=US": the microseconds into *ns; false if malformed. */
static bool parse_idlepoll(const char *v, uint64_t *ns)
{
	uint64_t us = 0;

	if (!*v)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || us > 1000000)
			return false;
		us = us * 10 + (uint64_t)(*v - '0');
	}
	*ns = us * 1000;
	return true;
}

int sched_parse_args(int argc, char **argv)
{
	int skip = 0;

	for (; skip < argc; skip++) {
		const char *a = argv[skip];

		if (strncmp(a, "idlepoll=", 9) == 0) {
			if (!parse_idlepoll(a + 9, &idle_poll_ns))
				goto bad;
		} else if (strcmp(a, "upcalls=eager") == 0 || strcmp(a, "upcalls=lazy") == 0) {
			events_set_lazy(a[8] == 'l');
		} else {
			break;
		}
	}
	for (int i = skip; i <= argc; i++)
		argv[i - skip] = argv[i];
	return argc - skip;
bad:
	printk("kxen-guest: bad option '%s': idlepoll= takes microseconds (0-1000000)\n", argv[skip]);
	return -XEN_EINVAL;
}

void sched_print_stats(const char *who)
{
	struct percpu *c = this_cpu();

	printk("sched: vCPU %u after %s: %lu blocks, %lu polls won, %lu upcalls\n", c->id, who,
	       (unsigned long)c->nr_blocks, (unsigned long)c->nr_polls_won, (unsigned long)c->nr_upcalls);
}

/*
 * Watches, upcalls still masked, for an event until idle_poll_ns or the
 * deadline: a notification meanwhile costs no exit at all (kxen-hv sends no
 * kick to a vCPU running masked, evtchn.c). True when one came.
 */
static bool idle_poll(struct percpu *c, uint64_t deadline)
{
	uint64_t end;

	if (!idle_poll_ns)
		return false;
	end = clock_now_ns() + idle_poll_ns;
	if (deadline && deadline < end)
		end = deadline;
	while (clock_now_ns() < end) {
		if (READ_ONCE(c->vcpu->evtchn_upcall_pending)) {
			c->nr_polls_won++;
			return true;
		}
		cpu_relax();
	}
	return false;
}

/*
 * Nothing to run: sleep the vCPU until an event or the earliest deadline.
 * Linux's safe_halt: we test for pending work with events masked, and
 * SCHEDOP_block unmasks atomically with blocking (Xen semantics), so an
 * event arriving in between makes the block return at once instead of
 * being slept through.
 */
static void idle(struct percpu *c, uint64_t deadline)
{
	if (READ_ONCE(c->vcpu->evtchn_upcall_pending)) {
		evtchn_poll_local();
		return;
	}
	/* About to wait: what was printed goes out now, not after the wait. */
	console_flush();
	if (!timer_available() && deadline) {
		evt_restore(0);
		cpu_relax();
		evt_save_disable();
		return;
	}
	if (idle_poll(c, deadline)) {
		evtchn_poll_local();
		return;
	}
	if (deadline && clock_now_ns() >= deadline)
		return;   /* due during the poll: the scheduler loop wakes the thread */
	timer_arm(deadline);
	c->nr_blocks++;
	HYPERVISOR_sched_op(SCHEDOP_block, NULL);
	/* Back masked for the scheduler loop; the upcall may already have run. */
	WRITE_ONCE(c->vcpu->evtchn_upcall_mask, 1);
	barrier();
	evtchn_poll_local();
}

void schedule(void)
{
	struct thread *prev = current_thread();
	struct percpu *c = prev->cpu;
	struct thread *next = NULL;

	if (prev->magic != THREAD_MAGIC)
		panic("sched: stack overflow or corruption in thread at %p", (void *)prev);
	for (;;) {
		uint64_t now = clock_now_ns();
		uint64_t earliest = 0;
		struct thread *t = prev->next;

		/* With lazy upcalls this is where a running vCPU learns of its events (events.h). */
		evtchn_poll_local();

		/* Visits prev last, so a yielding thread lets every other runnable one go first. */
		do {
			if (t->state == THREAD_BLOCKED && t->deadline && t->deadline <= now) {
				t->state = THREAD_RUNNABLE;
				t->timed_out = true;
				t->waitq = NULL;
				t->deadline = 0;
			}
			if (t->state == THREAD_RUNNABLE && !next)
				next = t;
			if (t->state == THREAD_BLOCKED && t->deadline &&
			    (!earliest || t->deadline < earliest))
				earliest = t->deadline;
			t = t->next;
		} while (t != prev->next);
		if (next)
			break;
		idle(c, earliest);
	}
	if (next != prev) {
		c->current = next;
		c->nr_switches++;
		switch_stack(&prev->sp, next->sp);
		/* Resumed: prev is running again. */
		c->current = prev;
	}
	reap(prev);
}

void yield(void)
{
	int flags = evt_save_disable();

	schedule();
	evt_restore(flags);
}

int sched_wait(struct waitq *wq, uint64_t deadline)
{
	struct thread *t = current_thread();

	t->state = THREAD_BLOCKED;
	t->waitq = wq;
	t->deadline = deadline;
	t->timed_out = false;
	schedule();
	return t->timed_out ? -1 : 0;
}

void wake_up(struct waitq *wq)
{
	struct percpu *c = this_cpu();
	int flags = evt_save_disable();
	struct thread *t = c->threads;

	do {
		if (t->state == THREAD_BLOCKED && t->waitq == wq) {
			t->state = THREAD_RUNNABLE;
			t->waitq = NULL;
			t->deadline = 0;
		}
		t = t->next;
	} while (t != c->threads);
	evt_restore(flags);
}

void sleep_ns(uint64_t ns)
{
	int flags = evt_save_disable();
	struct thread *t = current_thread();
	uint64_t deadline = clock_now_ns() + ns;

	/* A stray wake_up cannot cut the sleep short: loop until the deadline. */
	while (clock_now_ns() < deadline) {
		t->state = THREAD_BLOCKED;
		t->waitq = NULL;
		t->deadline = deadline;
		schedule();
	}
	evt_restore(flags);
}

void msleep(uint64_t ms)
{
	sleep_ns(ms * NSEC_PER_MSEC);
}

void sched_idle_forever(void)
{
	evt_save_disable();
	for (;;) {
		struct thread *t = current_thread();

		t->state = THREAD_BLOCKED;
		t->waitq = NULL;
		t->deadline = 0;
		schedule();
	}
}
