/* `sleep MS`: checks the one-shot timer against both pvclock and wallclock. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "kstring.h"
#include "sched.h"
#include "smp.h"

int app_sleep(int argc, char **argv)
{
	unsigned long ms = 1000;

	if (argc > 1 && parse_ulong(argv[1], &ms) < 0) {
		printk("sleep: bad duration '%s'\n", argv[1]);
		return 1;
	}
	struct percpu *c = this_cpu();
	uint64_t blocks0 = c->nr_blocks;
	uint64_t t0 = clock_now_ns(), w0 = wallclock_ns();

	/* What the domain's time offset (libvirt's <clock>) made of the wallclock. */
	printk("sleep: wallclock at start %lu s\n", (unsigned long)(w0 / NSEC_PER_SEC));

	msleep(ms);

	uint64_t t1 = clock_now_ns(), w1 = wallclock_ns();
	uint64_t slept = t1 - t0, wall = w1 - w0;
	uint64_t tol = MAX(50UL, ms / 10);
	uint64_t lo = ms * NSEC_PER_MSEC, hi = (ms + tol) * NSEC_PER_MSEC;

	printk("sleep: asked %lu ms, slept %lu ms (wallclock %lu ms)\n", ms,
	       slept / NSEC_PER_MSEC, wall / NSEC_PER_MSEC);
	printk("sleep: %lu ns by pvclock, %lu blocks\n", slept, c->nr_blocks - blocks0);
	if (slept >= lo && slept <= hi && wall >= lo && wall <= hi) {
		printk("sleep: OK\n");
		return 0;
	}
	printk("sleep: FAIL (allowed %lu..%lu ms)\n", ms, ms + tol);
	return 0;
}
