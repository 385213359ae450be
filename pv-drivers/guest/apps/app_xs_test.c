/* `xs-test [BASE]`: xenbus round trips, watches and transactions against the real daemon, one PASS/FAIL line each. */
#include "apps.h"
#include "clock.h"
#include "events.h"
#include "console.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "xenbus.h"
#include <xen/io/xs_wire.h>

/* BASE must be writable by this guest: the integration test creates it owned by us. */
static const char *base = "data/xs-test";
static unsigned failures;

static void result(const char *name, bool ok, const char *fmt, ...)
{
	char why[200] = "";
	va_list ap;

	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		failures++;
		printk("xs-test: FAIL %s: %s\n", name, why);
	} else {
		printk("xs-test: PASS %s\n", name);
	}
}

/* The path BASE/rel in a buffer that lives until the next call with the same slot. */
static const char *P(unsigned slot, const char *rel)
{
	static char bufs[4][256];

	snprintf(bufs[slot], sizeof(bufs[slot]), "%s/%s", base, rel);
	return bufs[slot];
}

/* Reads path and compares with want (NULL: must not exist). */
static bool read_is(const char *path, const char *want, int *err, char *got, size_t gotsz)
{
	char *v = NULL;
	int rc = xenbus_read(XBT_NIL, path, &v, NULL);

	*err = rc;
	strlcpy(got, rc ? "" : v, gotsz);
	free(v);
	if (!want)
		return rc == -XEN_ENOENT;
	return rc == 0 && strcmp(got, want) == 0;
}

static void test_basic(void)
{
	char got[64];
	int rc, err = 0;
	char **list = NULL;
	unsigned n = 0;

	rc = xenbus_write(XBT_NIL, P(0, "a"), "hello");
	result("write", rc == 0, "xenbus_write %s: %d", P(0, "a"), rc);
	result("read", read_is(P(0, "a"), "hello", &err, got, sizeof(got)), "got '%s' (%d)", got, err);
	result("read-missing", read_is(P(0, "missing"), NULL, &err, got, sizeof(got)),
	       "want -ENOENT (%d), got %d", -XEN_ENOENT, err);

	rc = xenbus_mkdir(XBT_NIL, P(0, "dir"));
	if (!rc)
		rc = xenbus_write(XBT_NIL, P(0, "dir/x"), "1");
	if (!rc)
		rc = xenbus_write(XBT_NIL, P(0, "dir/y"), "2");
	result("mkdir", rc == 0, "mkdir/write under %s: %d", P(0, "dir"), rc);
	rc = xenbus_directory(XBT_NIL, P(0, "dir"), &list, &n);
	bool has_x = false, has_y = false;

	for (unsigned i = 0; !rc && i < n; i++) {
		has_x |= strcmp(list[i], "x") == 0;
		has_y |= strcmp(list[i], "y") == 0;
	}
	result("directory", rc == 0 && n == 2 && has_x && has_y && list[n] == NULL,
	       "rc %d, %u entries, first '%s'", rc, n, rc == 0 && n ? list[0] : "");
	free(list);

	rc = xenbus_rm(XBT_NIL, P(0, "dir"));
	result("rm", rc == 0 && read_is(P(0, "dir/x"), NULL, &err, got, sizeof(got)),
	       "rm %d, then read of dir/x gave %d", rc, err);

	unsigned long v = 0;

	rc = xenbus_printf(XBT_NIL, P(0, "num"), "%u", 4242);
	if (!rc)
		rc = xenbus_read_ulong(XBT_NIL, P(0, "num"), &v);
	result("printf-read-ulong", rc == 0 && v == 4242, "rc %d, value %lu", rc, v);

	rc = xenbus_get_perms(XBT_NIL, P(0, "a"), &list, &n);
	result("get-perms", rc == 0 && n >= 1, "rc %d, %u entries", rc, n);
	if (!rc) {
		printk("xs-test: perms of %s: %s%s\n", P(0, "a"), list[0], n > 1 ? " ..." : "");
		free(list);
	}

	/* The root belongs to dom0: the daemon's EACCES must come back as Xen's errno. */
	rc = xenbus_write(XBT_NIL, "/xs-test-forbidden", "x");
	result("error-mapping", rc == -XEN_EACCES, "write to / gave %d, want %d", rc, -XEN_EACCES);
	rc = xenbus_read(XBT_NIL, "", NULL, NULL);
	result("bad-path", rc == -XEN_EINVAL, "empty path gave %d", rc);
}

/*
 * A value bigger than the 1 KiB rings, so both directions stream and wrap,
 * yet under xenstored's default 2048-byte node quota for guests.
 */
static void test_large(void)
{
	static char big[1901], huge[XENSTORE_PAYLOAD_MAX + 1], *back;
	unsigned len = 0;
	int rc;

	for (unsigned i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + (i * 7) % 26);
	big[sizeof(big) - 1] = 0;
	rc = xenbus_write(XBT_NIL, P(0, "big"), big);
	if (!rc)
		rc = xenbus_read(XBT_NIL, P(0, "big"), &back, &len);
	result("large-value", rc == 0 && len == sizeof(big) - 1 && memcmp(back, big, len) == 0,
	       "rc %d, %u bytes back", rc, len);
	if (!rc)
		free(back);
	/* Over the protocol's limit: refused before anything reaches the ring. */
	memset(huge, 'h', sizeof(huge) - 1);
	rc = xenbus_write(XBT_NIL, P(0, "huge"), huge);
	result("too-large-request", rc == -XEN_E2BIG, "write of %u bytes gave %d",
	       (unsigned)sizeof(huge) - 1, rc);
}

struct watch_seen {
	unsigned count;
	char path[128], token[64];
	struct waitq wq;
};

static void watch_cb(const char *path, const char *token, void *arg)
{
	struct watch_seen *s = arg;

	strlcpy(s->path, path, sizeof(s->path));
	strlcpy(s->token, token, sizeof(s->token));
	s->count++;
	wake_up(&s->wq);
}

static void test_watch(void)
{
	static struct watch_seen s;
	char want[128];
	int rc;

	rc = xenbus_watch(P(0, "w"), "xs-test-token", watch_cb, &s);
	result("watch", rc == 0, "xenbus_watch: %d", rc);
	if (rc)
		return;
	/* Xen fires every new watch once, with the watched path itself. */
	wait_event_timeout(&s.wq, s.count >= 1, 5 * NSEC_PER_SEC);
	result("watch-initial", s.count >= 1 && strcmp(s.path, P(0, "w")) == 0,
	       "%u events, last path '%s'", s.count, s.path);
	unsigned before = s.count;

	rc = xenbus_write(XBT_NIL, P(0, "w/child"), "1");
	wait_event_timeout(&s.wq, s.count > before && strcmp(s.path, P(0, "w/child")) == 0,
			   5 * NSEC_PER_SEC);
	snprintf(want, sizeof(want), "%s", P(0, "w/child"));
	result("watch-fires", rc == 0 && strcmp(s.path, want) == 0 &&
	       strcmp(s.token, "xs-test-token") == 0,
	       "write %d, saw path '%s' token '%s', want '%s' 'xs-test-token'", rc, s.path, s.token, want);
	rc = xenbus_watch(P(1, "other"), "xs-test-token", watch_cb, &s);
	result("watch-duplicate-token", rc == -XEN_EEXIST, "got %d", rc);

	rc = xenbus_unwatch("xs-test-token");
	before = s.count;
	xenbus_write(XBT_NIL, P(0, "w/child"), "2");
	msleep(200);
	result("unwatch", rc == 0 && s.count == before, "unwatch %d, %u events after it", rc,
	       s.count - before);
}

static void test_transactions(void)
{
	xenbus_transaction_t t;
	char got[64];
	int rc, err = 0;

	rc = xenbus_transaction_start(&t);
	if (!rc)
		rc = xenbus_write(t, P(0, "tx"), "committed");
	if (!rc)
		rc = xenbus_transaction_end(t, false);
	result("transaction-commit", rc == 0 && read_is(P(0, "tx"), "committed", &err, got, sizeof(got)),
	       "rc %d, read '%s' (%d)", rc, got, err);

	rc = xenbus_transaction_start(&t);
	if (!rc)
		rc = xenbus_write(t, P(0, "tx"), "aborted");
	/* Inside the transaction our own write is visible; outside it is not. */
	bool inside = false;

	if (!rc) {
		char *v = NULL;

		inside = xenbus_read(t, P(0, "tx"), &v, NULL) == 0 && strcmp(v, "aborted") == 0;
		free(v);
		rc = xenbus_transaction_end(t, true);
	}
	result("transaction-abort", rc == 0 && inside &&
	       read_is(P(0, "tx"), "committed", &err, got, sizeof(got)),
	       "rc %d, seen inside %d, read '%s' (%d)", rc, inside, got, err);
}

struct bump {
	unsigned attempts;
	unsigned long seen;
};

/* Increments BASE/counter; the first attempt also changes it outside the transaction, forcing a conflict. */
static int bump_counter(xenbus_transaction_t t, void *arg)
{
	struct bump *b = arg;
	unsigned long v;
	int rc = xenbus_read_ulong(t, P(2, "counter"), &v);

	if (rc)
		return rc;
	b->attempts++;
	b->seen = v;
	if (b->attempts == 1) {
		rc = xenbus_printf(XBT_NIL, P(2, "counter"), "%lu", v + 100);
		if (rc)
			return rc;
	}
	return xenbus_printf(t, P(2, "counter"), "%lu", v + 1);
}

static void test_conflict(void)
{
	struct bump b = { 0, 0 };
	unsigned tries = 0;
	unsigned long v = 0;
	int rc = xenbus_write(XBT_NIL, P(2, "counter"), "1");

	if (!rc)
		rc = xenbus_transaction_run(bump_counter, &b, 5, &tries);
	if (!rc)
		rc = xenbus_read_ulong(XBT_NIL, P(2, "counter"), &v);
	/* 1, bumped to 101 behind the first attempt's back, whose commit must fail; the retry makes 102. */
	result("transaction-conflict-retry", rc == 0 && tries == 2 && v == 102,
	       "rc %d, %u tries, counter %lu", rc, tries, v);
}

struct conc {
	unsigned id, ok, bad;
};

static void conc_main(void *arg)
{
	struct conc *c = arg;
	char path[64], want[16];

	snprintf(path, sizeof(path), "%s/conc%u", base, c->id);
	snprintf(want, sizeof(want), "v%u", c->id);
	for (unsigned i = 0; i < 20; i++) {
		char *v = NULL;

		if (xenbus_read(XBT_NIL, path, &v, NULL) == 0 && strcmp(v, want) == 0)
			c->ok++;
		else
			c->bad++;
		free(v);
	}
}

/* Four threads with requests in flight at once: each reply must reach its own requester. */
static void test_concurrent(void)
{
	static struct conc c[4];
	unsigned ok = 0, bad = 0;
	uint64_t deadline = clock_now_ns() + 20 * NSEC_PER_SEC;

	for (unsigned i = 0; i < 4; i++) {
		char path[64], val[16];

		c[i] = (struct conc){ .id = i };
		snprintf(path, sizeof(path), "%s/conc%u", base, i);
		snprintf(val, sizeof(val), "v%u", i);
		xenbus_write(XBT_NIL, path, val);
	}
	for (unsigned i = 0; i < 4; i++)
		thread_create("xs-conc", conc_main, &c[i]);
	for (;;) {
		ok = bad = 0;
		for (unsigned i = 0; i < 4; i++) {
			ok += c[i].ok;
			bad += c[i].bad;
		}
		if (ok + bad == 80 || clock_now_ns() > deadline)
			break;
		msleep(10);
	}
	result("concurrent-requests", ok == 80, "%u right, %u wrong of 80", ok, bad);
}

int app_xs_test(int argc, char **argv)
{
	int rc;

	if (argc > 1)
		base = argv[1];
	if (!xenbus_ready()) {
		printk("xs-test: FAIL xenbus not initialised (no store page?)\n");
		return 1;
	}
	printk("xs-test: base %s\n", base);
	test_basic();
	test_large();
	test_watch();
	test_transactions();
	test_conflict();
	test_concurrent();
	rc = xenbus_rm(XBT_NIL, base);
	result("cleanup", rc == 0, "rm %s: %d", base, rc);

	struct xenbus_stats st;

	xenbus_get_stats(&st);
	printk("xs-test: %lu requests, %lu replies, %lu errors, %lu timeouts, %lu watch events\n",
	       (unsigned long)st.requests, (unsigned long)st.replies, (unsigned long)st.errors,
	       (unsigned long)st.timeouts, (unsigned long)st.watch_events);
	if (failures) {
		printk("xs-test: FAILED %u\n", failures);
		return 1;
	}
	printk("xs-test: OK\n");
	return 0;
}
