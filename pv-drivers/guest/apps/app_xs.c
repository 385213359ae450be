/* `xs-bench [N] [PATH]` measures xenstore round trips from inside the guest; `xs-watch PATH [COUNT] [SECONDS]` prints what a watch sees; `xs-loop` writes on. */
#include "apps.h"
#include "clock.h"
#include "events.h"
#include "console.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "xenbus.h"

/* Shell sort: no recursion, and the sample arrays are small. */
static void sort_u64(uint64_t *a, unsigned long n)
{
	static const unsigned long gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };

	for (unsigned g = 0; g < ARRAY_SIZE(gaps); g++) {
		unsigned long gap = gaps[g];

		for (unsigned long i = gap; i < n; i++) {
			uint64_t v = a[i];
			unsigned long j = i;

			for (; j >= gap && a[j - gap] > v; j -= gap)
				a[j] = a[j - gap];
			a[j] = v;
		}
	}
}

/* Times n runs of one operation; prints median and rate. Returns 0 or the first error. */
static int bench_op(const char *what, unsigned long n, uint64_t *samples,
		    int (*op)(const char *path, unsigned long i), const char *path)
{
	struct xenbus_stats s0, s1;
	uint64_t t0, total;
	int rc;

	xenbus_get_stats(&s0);
	t0 = clock_now_ns();
	for (unsigned long i = 0; i < n; i++) {
		uint64_t a = clock_now_ns();

		rc = op(path, i);
		if (rc) {
			printk("xs-bench: %s %lu failed: %d\n", what, i, rc);
			return rc;
		}
		samples[i] = clock_now_ns() - a;
	}
	total = clock_now_ns() - t0;
	xenbus_get_stats(&s1);
	sort_u64(samples, n);
	printk("xs-bench: %s: %lu ops in %lu ms, %lu ops/s, median %lu us, p90 %lu us, "
	       "%lu.%02lu notifies/op\n",
	       what, n, (unsigned long)(total / NSEC_PER_MSEC),
	       (unsigned long)(n * NSEC_PER_SEC / (total ? total : 1)),
	       (unsigned long)(samples[n / 2] / NSEC_PER_USEC),
	       (unsigned long)(samples[n * 9 / 10] / NSEC_PER_USEC),
	       (unsigned long)((s1.notifies - s0.notifies) / n),
	       (unsigned long)((s1.notifies - s0.notifies) * 100 / n % 100));
	printk("RESULT xs_%s_ops_per_s=%lu xs_%s_median_us=%lu\n", what,
	       (unsigned long)(n * NSEC_PER_SEC / (total ? total : 1)), what,
	       (unsigned long)(samples[n / 2] / NSEC_PER_USEC));
	return 0;
}

static int op_read(const char *path, unsigned long i)
{
	char *v = NULL;
	int rc = xenbus_read(XBT_NIL, path, &v, NULL);

	free(v);
	return rc;
}

static int op_write(const char *path, unsigned long i)
{
	return xenbus_printf(XBT_NIL, path, "%lu", i);
}

static int op_tx(const char *path, unsigned long i)
{
	xenbus_transaction_t t;
	int rc = xenbus_transaction_start(&t);

	if (rc)
		return rc;
	rc = xenbus_printf(t, path, "%lu", i);
	if (rc) {
		xenbus_transaction_end(t, true);
		return rc;
	}
	return xenbus_transaction_end(t, false);
}

int app_xs_bench(int argc, char **argv)
{
	unsigned long n = 1000;
	const char *path = "data/xs-bench";
	uint64_t *samples;
	int rc;

	if (argc > 1 && (parse_ulong(argv[1], &n) < 0 || n == 0 || n > 1000000)) {
		printk("xs-bench: bad count '%s' (1..1000000)\n", argv[1]);
		return 1;
	}
	if (argc > 2)
		path = argv[2];
	if (!xenbus_ready()) {
		printk("xs-bench: FAIL xenbus not initialised\n");
		return 1;
	}
	samples = malloc(n * sizeof(*samples));
	if (!samples) {
		printk("xs-bench: FAIL no memory for %lu samples\n", n);
		return 1;
	}
	rc = xenbus_write(XBT_NIL, path, "0");
	if (!rc)
		rc = bench_op("read", n, samples, op_read, path);
	if (!rc)
		rc = bench_op("write", n, samples, op_write, path);
	if (!rc)
		rc = bench_op("transaction", n, samples, op_tx, path);
	free(samples);
	xenbus_rm(XBT_NIL, path);
	printk(rc ? "xs-bench: FAIL %d\n" : "xs-bench: OK\n", rc);
	return rc ? 1 : 0;
}

struct watch_state {
	unsigned long events;
	struct waitq wq;
};

static void print_event(const char *path, const char *token, void *arg)
{
	struct watch_state *st = arg;
	char *v = NULL;
	int rc = xenbus_read(XBT_NIL, path, &v, NULL);

	if (rc == 0)
		printk("xs-watch: event %lu path=%s token=%s value='%s'\n", st->events, path, token, v);
	else
		printk("xs-watch: event %lu path=%s token=%s (unreadable: %d)\n", st->events, path,
		       token, rc);
	free(v);
	st->events++;
	wake_up(&st->wq);
}

int app_xs_watch(int argc, char **argv)
{
	static struct watch_state st;
	unsigned long count = 0, secs = 30;
	int rc;

	if (argc < 2 || (argc > 2 && parse_ulong(argv[2], &count) < 0) ||
	    (argc > 3 && (parse_ulong(argv[3], &secs) < 0 || secs == 0))) {
		printk("xs-watch: usage: xs-watch PATH [COUNT (0 = until timeout)] [SECONDS (30)]\n");
		return 1;
	}
	if (!xenbus_ready()) {
		printk("xs-watch: FAIL xenbus not initialised\n");
		return 1;
	}
	rc = xenbus_watch(argv[1], "xs-watch", print_event, &st);
	if (rc) {
		printk("xs-watch: FAIL watch %s: %d\n", argv[1], rc);
		return 1;
	}
	printk("xs-watch: watching %s\n", argv[1]);
	uint64_t timeout_ns = secs * NSEC_PER_SEC;

	if (count)
		wait_event_timeout(&st.wq, st.events >= count, timeout_ns);
	else
		msleep(secs * 1000);
	xenbus_unwatch("xs-watch");
	printk("xs-watch: %lu events, done\n", st.events);
	return 0;
}

static void loop_event(const char *path, const char *token, void *arg)
{
	(void)arg;
	printk("xs-loop: event path=%s token=%s\n", path, token);
}

/*
 * `xs-loop PATH COUNT MS`: watches PATH/watched, then writes PATH/nI = vI for
 * I = 1..COUNT, one every MS ms, printing each acknowledgement, so a test can
 * check that every acknowledged write outlives a kxenstored crash.
 */
int app_xs_loop(int argc, char **argv)
{
	unsigned long count, ms;
	char path[128], watched[128];
	int rc;

	if (argc != 4 || parse_ulong(argv[2], &count) < 0 || parse_ulong(argv[3], &ms) < 0 ||
	    strlen(argv[1]) > 100) {
		printk("xs-loop: usage: xs-loop PATH COUNT MS\n");
		return 1;
	}
	if (!xenbus_ready()) {
		printk("xs-loop: FAIL xenbus not initialised\n");
		return 1;
	}
	snprintf(watched, sizeof(watched), "%s/watched", argv[1]);
	rc = xenbus_watch(watched, "xs-loop", loop_event, NULL);
	if (rc) {
		printk("xs-loop: FAIL watch %s: %d\n", watched, rc);
		return 1;
	}
	printk("xs-loop: watching %s\n", watched);
	for (unsigned long i = 1; i <= count; i++) {
		snprintf(path, sizeof(path), "%s/n%lu", argv[1], i);
		rc = xenbus_printf(XBT_NIL, path, "v%lu", i);
		if (rc) {
			printk("xs-loop: FAIL write %lu: %d\n", i, rc);
			return 1;
		}
		printk("xs-loop: acked %lu\n", i);
		msleep(ms);
	}
	xenbus_unwatch("xs-loop");
	printk("xs-loop: OK %lu writes\n", count);
	return 0;
}
