/* hcfuzz: random hypercalls with hostile arguments from inside a real guest; kxen-hv must answer every one. */
#include "apps.h"
#include "console.h"
#include "hypercall.h"
#include "kernel.h"
#include "kstring.h"
#include "sched.h"

/* Any stub of the hypercall page, chosen at run time (hypercall.h's wrappers need constants). */
static long hypercall_any(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3,
			  unsigned long a4, unsigned long a5)
{
	register unsigned long r1 __asm__("rdi") = a1;
	register unsigned long r2 __asm__("rsi") = a2;
	register unsigned long r3 __asm__("rdx") = a3;
	register unsigned long r4 __asm__("r10") = a4;
	register unsigned long r5 __asm__("r8") = a5;
	void *stub = hypercall_page + (nr % (PAGE_SIZE / 32)) * 32;
	long res;

	__asm__ __volatile__("call *%[stub]"
		: "=a"(res), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5)
		: [stub] "r"(stub)
		: "rcx", "r11", "memory");
	return res;
}

static uint64_t rng;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint8_t scratch[3 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* Arguments that are hostile for a hypervisor but cannot hurt this guest's own code or data. */
static unsigned long hostile_arg(void)
{
	uint64_t end = start_info->nr_pages * PAGE_SIZE;

	switch (next_rand() % 10) {
	case 0: return 0;
	case 1: return next_rand() % 64;                      /* small numbers: sub-ops, ports, ids */
	case 2: return (unsigned long)scratch + next_rand() % PAGE_SIZE;  /* writes stay in scratch */
	case 3: return 0x1000 + next_rand() % 0x3f000;        /* the builder's supervisor-only pages */
	case 4: return end - (next_rand() % 64);              /* straddles the end of RAM */
	case 5: return end + next_rand() % (1ull << 30);       /* beyond RAM */
	case 6: return 0xffff800000000000ull + next_rand() % 4096;
	case 7: return ~0ull - next_rand() % 64;              /* wraps around 2^64 */
	case 8: return (unsigned long)scratch;
	default: return next_rand();
	}
}

/*
 * Calls that would legitimately stop this test rather than probe the
 * hypervisor: shutting down, blocking forever, moving our callbacks or
 * vCPUs, closing our own ports, writing through pointers we do not choose.
 * Everything else is fair game.
 */
static bool would_end_test(unsigned nr, unsigned long cmd)
{
	switch (nr) {
	case __HYPERVISOR_sched_op:
		return cmd != SCHEDOP_yield && cmd < 64;
	case __HYPERVISOR_vcpu_op:
		return cmd == VCPUOP_initialise || cmd == VCPUOP_up || cmd == VCPUOP_down;
	case __HYPERVISOR_iret:        /* ring-3 code in the stub: pops our own stack */
	case __HYPERVISOR_callback_op:
	case __HYPERVISOR_set_callbacks:
	case __HYPERVISOR_multicall:   /* a random batch may hold any of the above */
		return true;
	case __HYPERVISOR_event_channel_op:
		return cmd == EVTCHNOP_close || cmd == EVTCHNOP_reset;
	case __HYPERVISOR_memory_op:
		/* memory_map writes through a pointer read from memory: it could land on our code. */
		return cmd == XENMEM_memory_map;
	default:
		return false;
	}
}

int app_hcfuzz(int argc, char **argv)
{
	unsigned long calls = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	unsigned long seed = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
	unsigned long done = 0, ok = 0, enosys = 0, efault = 0, other = 0;

	rng = seed * 2654435761u + 88172645463325252ull;
	printk("hcfuzz: %lu random hypercalls, seed %lu\n", calls, seed);
	while (done < calls) {
		/* Mostly the hypercalls kxen-hv implements; the rest must all say -ENOSYS. */
		static const unsigned implemented[] = {
			__HYPERVISOR_set_timer_op, __HYPERVISOR_memory_op, __HYPERVISOR_xen_version,
			__HYPERVISOR_console_io, __HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op,
			__HYPERVISOR_event_channel_op,
		};
		unsigned nr = next_rand() % 4 ? implemented[next_rand() % ARRAY_SIZE(implemented)]
					     : next_rand() % 64;
		unsigned long a1 = next_rand() % 4 ? next_rand() % 24 : hostile_arg();

		if (would_end_test(nr, a1))
			continue;
		long rc = hypercall_any(nr, a1, hostile_arg(), hostile_arg(), hostile_arg(),
				       hostile_arg());
		done++;
		if (rc >= 0)
			ok++;
		else if (rc == -38)
			enosys++;
		else if (rc == -14)
			efault++;
		else
			other++;
	}
	/* A multicall built from safe entries, larger than the limit, then within it. */
	static multicall_entry_t batch[600];
	for (unsigned i = 0; i < 600; i++)
		batch[i] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .args = { 0 } };
	long big = _hypercall2(__HYPERVISOR_multicall, batch, 600);
	long small = _hypercall2(__HYPERVISOR_multicall, batch, 100);
	/* The fuzzed console_io writes may have left half a line of garbage in the log. */
	printk("\n");
	printk("hcfuzz: %lu calls: %lu ok, %lu ENOSYS, %lu EFAULT, %lu other errors\n",
	       done, ok, enosys, efault, other);
	printk("hcfuzz: multicall of 600 = %ld, of 100 = %ld, entry result %ld\n", big, small,
	       (long)batch[99].result);
	if (small != 0 || big >= 0 || (long)batch[99].result != ((4 << 16) | 17)) {
		printk("hcfuzz: FAIL\n");
		return 1;
	}
	printk("hcfuzz: OK\n");
	return 0;
}

/*
 * log-flood N: N rounds of two things a guest can make kxen-hv log, as fast
 * as it can: a balloon frame kxen-hv must refuse (the first page, the
 * builder's) and a full console line. The host log must grow only by the
 * per-domain budgets (docs/hardening.md, "The host log under a flood").
 */
int app_log_flood(int argc, char **argv)
{
	unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	unsigned long refused = 0;
	static char line[240];
	xen_pfn_t frame = 0;

	for (unsigned i = 0; i < sizeof(line) - 1; i++)
		line[i] = 'a' + i % 26;
	line[sizeof(line) - 1] = '\n';
	printk("log-flood: %lu rounds\n", rounds);
	console_flush();   /* before the loop's own console_io lines, while the budget has room */
	for (unsigned long i = 0; i < rounds; i++) {
		struct xen_memory_reservation res = { .nr_extents = 1, .domid = DOMID_SELF };
		set_xen_guest_handle(res.extent_start, &frame);
		if (HYPERVISOR_memory_op(XENMEM_decrease_reservation, &res) == 0)
			refused++;
		HYPERVISOR_console_io(CONSOLEIO_write, sizeof(line), line);
	}
	/* The console's own budget refills at 200 lines/s: let the summary through. */
	msleep(200);
	printk("log-flood: done, %lu of %lu frames refused\n", refused, rounds);
	return 0;
}
