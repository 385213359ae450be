/* `selftest`: exercises threads, sleeping, wait queues, malloc and printk formatting in one domain. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "smp.h"

struct sleeper {
	unsigned id, loops, done;
	uint64_t period_ms, late_ns;
};

static void sleeper_main(void *arg)
{
	struct sleeper *s = arg;

	for (unsigned i = 0; i < s->loops; i++) {
		uint64_t t0 = clock_now_ns();

		msleep(s->period_ms);
		uint64_t late = clock_now_ns() - t0 - s->period_ms * NSEC_PER_MSEC;

		if (late > s->late_ns)
			s->late_ns = late;
	}
	s->done = 1;
}

static struct waitq pp_wq;
static volatile unsigned pp_turn, pp_rounds;

static void pingpong_main(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;

	while (pp_rounds < 1000) {
		wait_event(&pp_wq, pp_turn == me || pp_rounds >= 1000);
		if (pp_rounds >= 1000)
			break;
		pp_rounds++;
		pp_turn = !me;
		wake_up(&pp_wq);
	}
	wake_up(&pp_wq);
}

static int check_format(void)
{
	static const struct {
		const char *want;
		int n;
	} cases[] = {
		{ "42|-7|ff|0x0000ff|  12|12  |x|str|  ab|18446744073709551615|%", 0 },
	};
	char buf[128];

	snprintf(buf, sizeof(buf), "%d|%d|%x|0x%06lx|%4u|%-4u|%c|%s|%4.2s|%llu|%%", 42, -7, 255,
		 255UL, 12, 12, 'x', "str", "abc", 18446744073709551615ULL);
	if (strcmp(buf, cases[0].want)) {
		printk("selftest: FAIL format: got '%s' want '%s'\n", buf, cases[0].want);
		return 1;
	}
	if (snprintf(buf, 4, "%s", "abcdef") != 6 || strcmp(buf, "abc")) {
		printk("selftest: FAIL snprintf truncation '%s'\n", buf);
		return 1;
	}
	return 0;
}

static int check_malloc(void)
{
	void *p[64];
	struct mm_stats before, after;

	mm_get_stats(&before);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 64; i++) {
			size_t sz = (size_t)(i * 97 + round * 13) % 9000 + 1;

			p[i] = malloc(sz);
			if (!p[i] || ((uintptr_t)p[i] & 15)) {
				printk("selftest: FAIL malloc(%lu) = %p\n", (unsigned long)sz, p[i]);
				return 1;
			}
			memset(p[i], i, sz);
		}
		for (int i = 0; i < 64; i += 2)
			free(p[i]);
		for (int i = 1; i < 64; i += 2)
			free(p[i]);
	}
	void *big = alloc_pages(16, 16);

	if (!big || ((uintptr_t)big & (16 * PAGE_SIZE - 1))) {
		printk("selftest: FAIL aligned alloc_pages %p\n", big);
		return 1;
	}
	free_pages(big, 16);
	mm_get_stats(&after);
	/* Small-class pages stay on their free lists; large blocks must all come back. */
	printk("selftest: malloc ok, free pages %lu -> %lu\n", before.free_pages, after.free_pages);
	return 0;
}

int app_selftest(int argc, char **argv)
{
	static struct sleeper s[4];
	int fail = 0;

	fail |= check_format();
	fail |= check_malloc();

	uint64_t t0 = clock_now_ns();

	for (unsigned i = 0; i < ARRAY_SIZE(s); i++) {
		s[i] = (struct sleeper){ .id = i, .loops = 5, .period_ms = 10 * (i + 1) };
		if (!thread_create("sleeper", sleeper_main, &s[i])) {
			printk("selftest: FAIL thread_create\n");
			return 1;
		}
	}
	thread_create("ping", pingpong_main, (void *)0);
	thread_create("pong", pingpong_main, (void *)1);
	for (unsigned i = 0; i < ARRAY_SIZE(s); i++) {
		while (!s[i].done)
			msleep(5);
		printk("selftest: sleeper %u: 5 x %lu ms, worst lateness %lu us\n", i, s[i].period_ms,
		       s[i].late_ns / 1000);
		if (s[i].late_ns > 20 * NSEC_PER_MSEC)
			fail = 1;
	}
	while (pp_rounds < 1000)
		yield();
	uint64_t el = clock_now_ns() - t0;

	/* The longest sleeper needs 200 ms; the threads must have overlapped. */
	printk("selftest: threads done in %lu ms, %u ping-pong rounds, %lu switches, %lu upcalls\n",
	       el / NSEC_PER_MSEC, pp_rounds, this_cpu()->nr_switches, this_cpu()->nr_upcalls);
	if (el > 400 * NSEC_PER_MSEC)
		fail = 1;
	yield();	/* let the exited threads be reaped */
	printk("selftest: %s\n", fail ? "FAIL" : "OK");
	return fail;
}
