/* Small apps: `crash`, `hypercall-bench N`, `idle` and `burn`. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "hypercall.h"
#include "kstring.h"
#include "sched.h"

int app_crash(int argc, char **argv)
{
	volatile int *null;

	printk("crash: about to fault\n");
	/* Hide the constant so the compiler emits a real load instead of a trap. */
	__asm__ __volatile__("" : "=r"(null) : "0"(0));
	(void)*null;
	printk("crash: FAIL, reading address 0 did not fault\n");
	return 1;
}

int app_hypercall_bench(int argc, char **argv)
{
	unsigned long n = 100000;

	if (argc > 1 && (parse_ulong(argv[1], &n) < 0 || n == 0)) {
		printk("hypercall-bench: bad count '%s'\n", argv[1]);
		return 1;
	}
	/* XENVER_version takes no buffer and does no work: the closest thing to a null hypercall. */
	for (int i = 0; i < 100; i++)
		HYPERVISOR_xen_version(XENVER_version, NULL);

	uint64_t t0 = clock_now_ns(), c0 = rdtsc();

	for (unsigned long i = 0; i < n; i++)
		HYPERVISOR_xen_version(XENVER_version, NULL);

	uint64_t c1 = rdtsc(), t1 = clock_now_ns();
	uint64_t ns = t1 - t0;

	printk("hypercall-bench: %lu calls, %lu ns/call\n", n, ns / n);
	printk("hypercall-bench: %lu ms total, %lu TSC cycles/call\n", ns / NSEC_PER_MSEC, (c1 - c0) / n);
	return 0;
}

int app_idle(int argc, char **argv)
{
	printk("idle: blocking, timer wakes every 10 s\n");
	for (;;)
		msleep(10000);
	return 0;
}

int app_burn(int argc, char **argv)
{
	uint64_t x = 88172645463325252ULL, iters = 0, report_iters = 0;
	uint64_t start = clock_now_ns(), next = start + 5 * NSEC_PER_SEC;

	printk("burn: spinning, a line every 5 s\n");
	for (;;) {
		/* xorshift keeps the ALU busy and cannot be optimised away (x is checked below). */
		for (int i = 0; i < 65536; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		iters += 65536;
		uint64_t now = clock_now_ns();

		if (now >= next) {
			printk("burn: %lu s, %lu M iterations in the last 5 s (x=%lx)\n",
			       (now - start) / NSEC_PER_SEC, (iters - report_iters) >> 20, x & 0xff);
			report_iters = iters;
			next += 5 * NSEC_PER_SEC;
		}
	}
	return 0;
}
