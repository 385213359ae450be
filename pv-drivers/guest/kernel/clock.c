/* pvclock and wallclock reads, one-shot timer via set_timer_op + VIRQ_TIMER. */
#include "clock.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"

static uint64_t pvclock_read(const volatile struct vcpu_time_info *t)
{
	uint32_t ver;
	uint64_t ns;

	do {
		ver = t->version;
		barrier();	/* x86 keeps loads ordered; the compiler must too */
		uint64_t delta = rdtsc() - t->tsc_timestamp;
		int8_t shift = t->tsc_shift;

		/* A TSC read just before the hypervisor's snapshot must not wrap to the far future. */
		if ((int64_t)delta < 0)
			delta = 0;
		if (shift >= 0)
			delta <<= shift;
		else
			delta >>= -shift;
		ns = t->system_time +
		     (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
		barrier();
	} while ((ver & 1) || ver != t->version);
	return ns;
}

uint64_t clock_now_ns(void)
{
	return pvclock_read(&this_cpu()->vcpu->time);
}

uint64_t wallclock_ns(void)
{
	const volatile shared_info_t *s = shared_info;
	uint32_t ver;
	uint64_t sec, nsec;

	do {
		ver = s->wc_version;
		barrier();
		sec = s->wc_sec | ((uint64_t)s->wc_sec_hi << 32);
		nsec = s->wc_nsec;
		barrier();
	} while ((ver & 1) || ver != s->wc_version);
	return sec * NSEC_PER_SEC + nsec + clock_now_ns();
}

static void timer_fired(evtchn_port_t port, void *arg)
{
	/* One-shot: forget the deadline so the scheduler re-arms even for the same value. */
	this_cpu()->timer_armed = 0;
}

void clock_init_cpu(void)
{
	struct percpu *c = this_cpu();
	int port;

	if (c->vcpu->time.tsc_to_system_mul == 0)
		printk("clock: vcpu %u: pvclock not initialised (tsc_to_system_mul = 0)\n", c->id);
	port = evtchn_bind_virq(VIRQ_TIMER, c->id, timer_fired, NULL);
	if (port < 0) {
		printk("clock: vcpu %u: bind VIRQ_TIMER failed (%d), sleeping will poll\n", c->id, port);
		c->timer_port = 0;
		return;
	}
	c->timer_port = port;
}

bool timer_available(void)
{
	return this_cpu()->timer_port != 0;
}

/*
 * Each set_timer_op is an exit. A timer already armed at or before the new
 * deadline is left alone (it wakes the scheduler early, which looks again
 * and arms the later one then), and one not needed any more is left to
 * fire: a blocked I/O wait (a 30 s timeout, new each request) then costs
 * the block alone, not a set_timer_op before it.
 */
void timer_arm(uint64_t deadline)
{
	struct percpu *c = this_cpu();

	if (!c->timer_port || !deadline || (c->timer_armed && c->timer_armed <= deadline))
		return;
	c->timer_armed = deadline;
	HYPERVISOR_set_timer_op(deadline);
}
