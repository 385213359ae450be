/* CUnit suite for libkxdaemon: the loop's deferred frees, the log line, the run directory, devstats, and daemon readiness. */
#define _GNU_SOURCE
#include "cunit_run.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kxen/kxd.h"

static char dir[] = "/tmp/kxd-test.XXXXXX";

static int suite_init(void)
{
	if (!mkdtemp(dir))
		return 1;
	setenv("KXEN_RUN_DIR", dir, 1);
	return 0;
}

static int suite_cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}

/* ---- loop ---- */

struct ev_rec {
	int fd;
	int calls;
	int victim;          /* an fd this callback deletes (and closes), or -1 */
	bool *freed;         /* set by free_flag when the deferred free runs */
	struct kxd_loop *l;
};

static void free_flag(void *p)
{
	*(bool *)p = true;
}

static void on_ev(struct kxd_loop *l, int fd, uint32_t ev, void *arg)
{
	struct ev_rec *r = arg;
	uint64_t v;

	r->calls++;
	if (read(fd, &v, sizeof(v)) < 0)
		CU_FAIL("eventfd read");
	if (r->victim >= 0) {
		kxd_loop_del(l, r->victim);
		r->victim = -1;
	}
	if (r->freed) {
		kxd_loop_defer(l, free_flag, r->freed);
		/* Deferred: not before the batch ends. */
		CU_ASSERT_FALSE(*r->freed);
	}
	l->quit = true;
}

static void test_loop_delete_in_batch(void)
{
	struct kxd_loop l;
	struct ev_rec a = { .victim = -1 }, b = { .victim = -1 };
	uint64_t one = 1;
	bool freed = false;
	int fa = eventfd(0, EFD_NONBLOCK), fb = eventfd(0, EFD_NONBLOCK);

	CU_ASSERT_FATAL(kxd_loop_init(&l) == 0);
	CU_ASSERT_FATAL(kxd_loop_add(&l, fa, EPOLLIN, on_ev, &a) == 0);
	CU_ASSERT_FATAL(kxd_loop_add(&l, fb, EPOLLIN, on_ev, &b) == 0);
	CU_ASSERT_EQUAL(kxd_loop_add(&l, fa, EPOLLIN, on_ev, &a), -EEXIST);
	CU_ASSERT_EQUAL(kxd_loop_mod(&l, 999, EPOLLIN), -ENOENT);
	/* Both ready in one batch; whichever runs first deletes the other, which must not run. */
	a.victim = fb;
	b.victim = fa;
	a.freed = b.freed = &freed;
	CU_ASSERT(write(fa, &one, 8) == 8 && write(fb, &one, 8) == 8);
	CU_ASSERT_EQUAL(kxd_loop_run(&l), 0);
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	CU_ASSERT_TRUE(freed);
	/* The deleted fd can be added again (its number is free for reuse). */
	int gone = a.calls ? fb : fa;
	struct ev_rec *r = a.calls ? &b : &a;
	r->freed = NULL;
	CU_ASSERT_EQUAL(kxd_loop_add(&l, gone, EPOLLIN, on_ev, r), 0);
	CU_ASSERT(write(gone, &one, 8) == 8);
	l.quit = false;
	CU_ASSERT_EQUAL(kxd_loop_run(&l), 0);
	CU_ASSERT_EQUAL(r->calls, 1);
	kxd_loop_fini(&l);
	close(fa);
	close(fb);
}

/*
 * kxen-hv's control socket case (tests/integration/ctl_batch_free.sh end to
 * end): a callback unregisters and closes both its own fd and another fd
 * ready in the same batch. The batch is ended by a third fd, not by the
 * callbacks, so only the dropped registration keeps the other from running.
 */
struct pair {
	int fd;
	int calls;
	struct pair *other;
};

static void on_pair(struct kxd_loop *l, int fd, uint32_t ev, void *arg)
{
	struct pair *p = arg;

	(void)ev;
	p->calls++;
	if (p->other) {
		kxd_loop_del(l, p->other->fd);
		close(p->other->fd);
		p->other->fd = -1;
		p->other->other = NULL;
		p->other = NULL;
	}
	kxd_loop_del(l, fd);
	kxd_loop_del(l, fd);   /* twice is harmless */
	close(fd);
	p->fd = -1;
}

static void on_quit(struct kxd_loop *l, int fd, uint32_t ev, void *arg)
{
	uint64_t v;

	(void)ev;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0)
		CU_FAIL("eventfd read");
	l->quit = true;
}

static void test_loop_close_in_batch(void)
{
	struct kxd_loop l;
	struct pair a = { .fd = eventfd(0, EFD_NONBLOCK) }, b = { .fd = eventfd(0, EFD_NONBLOCK) };
	int q = eventfd(0, EFD_NONBLOCK);
	uint64_t one = 1;

	CU_ASSERT_FATAL(a.fd >= 0 && b.fd >= 0 && q >= 0);
	a.other = &b;
	b.other = &a;
	CU_ASSERT_FATAL(kxd_loop_init(&l) == 0);
	CU_ASSERT_FATAL(kxd_loop_add(&l, a.fd, EPOLLIN, on_pair, &a) == 0);
	CU_ASSERT_FATAL(kxd_loop_add(&l, b.fd, EPOLLIN, on_pair, &b) == 0);
	CU_ASSERT_FATAL(kxd_loop_add(&l, q, EPOLLIN, on_quit, NULL) == 0);
	/* q readied last: epoll reports it after a and b, in the same batch. */
	CU_ASSERT(write(a.fd, &one, 8) == 8 && write(b.fd, &one, 8) == 8 && write(q, &one, 8) == 8);
	CU_ASSERT_EQUAL(kxd_loop_run(&l), 0);
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	CU_ASSERT(a.fd < 0 && b.fd < 0);
	kxd_loop_fini(&l);
	close(q);
}

static void test_loop_signals(void)
{
	struct kxd_loop l;
	int fd = open("/dev/null", O_WRONLY);

	/* The loop's own log line goes to /dev/null, not the test output. */
	CU_ASSERT_FATAL(kxd_loop_init(&l) == 0);
	CU_ASSERT_FATAL(kxd_log_open("/dev/null") == 0);
	CU_ASSERT_FATAL(kxd_loop_signals(&l, NULL, NULL) == 0);
	kill(getpid(), SIGTERM);   /* blocked, so it waits in the signalfd */
	CU_ASSERT_EQUAL(kxd_loop_run(&l), 0);
	CU_ASSERT_TRUE(l.quit);
	kxd_loop_fini(&l);
	kxd_log_open(NULL);
	close(fd);
}

/* ---- log ---- */

static void test_log_line(void)
{
	char path[128], buf[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.log", dir);
	kxd_log_init("kxd-test");
	CU_ASSERT_FATAL(kxd_log_open(path) == 0);
	CU_ASSERT_STRING_EQUAL(kxd_log_path(), path);
	kxd_log("hello %d", 42);
	memset(buf, 'x', 2000);
	buf[2000] = 0;
	kxd_log("%s", buf);       /* cut, but still a line of its own */
	kxd_log("after");
	CU_ASSERT_EQUAL(kxd_log_reopen(), 0);
	kxd_log("reopened");
	kxd_log_open(NULL);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	int y, mo, d, h, mi, s, ms, n = 0;
	char rest[1100];
	while (fgets(buf, sizeof(buf), f)) {
		CU_ASSERT(buf[strlen(buf) - 1] == '\n');
		CU_ASSERT_EQUAL(sscanf(buf, "%d-%d-%d %d:%d:%d.%3d kxd-test: %1023[^\n]", &y, &mo, &d, &h, &mi,
		                       &s, &ms, rest), 8);
		if (n == 0)
			CU_ASSERT_STRING_EQUAL(rest, "hello 42");
		if (n == 2)
			CU_ASSERT_STRING_EQUAL(rest, "after");
		if (n == 3)
			CU_ASSERT_STRING_EQUAL(rest, "reopened");
		n++;
	}
	fclose(f);
	CU_ASSERT_EQUAL(n, 4);
}

/* ---- run directory ---- */

static void test_rundir(void)
{
	char buf[256], want[256];
	struct stat st;

	CU_ASSERT_STRING_EQUAL(kxd_rundir(), dir);
	CU_ASSERT_EQUAL(kxd_rundir_mkdir("a/b/c", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/a/b/c", dir);
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(kxd_rundir_mkdir("a/b/c", buf, sizeof(buf)), 0);   /* already there */
	CU_ASSERT_EQUAL(kxd_rundir_mkdir("a", buf, 8), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(kxd_rundir_pidfile("x", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/x.pid", dir);
	CU_ASSERT_STRING_EQUAL(buf, want);
	setenv("KXEN_RUN_DIR", "", 1);
	CU_ASSERT_STRING_EQUAL(kxd_rundir(), "/run/kxen");
	setenv("KXEN_RUN_DIR", dir, 1);
}

/* ---- devstats ---- */

struct seen {
	unsigned n;
	uint32_t devid[8];
	uint64_t first[8];
	uint64_t last[8];
};

static void count(uint32_t devid, const uint64_t *vals, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->devid[s->n] = devid;
		s->first[s->n] = vals[0];
		s->last[s->n] = vals[KXD_VIF_RX_DROP];
	}
	s->n++;
}

static void write_raw(const char *kind, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, kind, name);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void test_devstats_roundtrip(void)
{
	uint64_t vif[KXD_VIF_NR] = { 1, 2, 3, 4, 5, 6, 7, UINT64_MAX };
	uint64_t vbd[KXD_VBD_NR] = { 0, 10, 20, 30, 40 };
	struct seen s = { 0 };

	/* The writer makes the kind's directory itself. */
	CU_ASSERT_EQUAL(kxd_devstats_write(&kxd_devstats_vif, 7, 0, 1000, vif), 0);
	CU_ASSERT_EQUAL(kxd_devstats_write(&kxd_devstats_vif, 7, 3, 1000, vif), 0);
	CU_ASSERT_EQUAL(kxd_devstats_write(&kxd_devstats_vif, 70, 0, 1000, vif), 0);   /* another domain */
	CU_ASSERT_EQUAL(kxd_devstats_write(&kxd_devstats_vbd, 7, 51712, 1000, vbd), 0);
	CU_ASSERT_EQUAL(kxd_devstats_scan(&kxd_devstats_vif, 7, 1000, count, &s), 2);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.first[0], 1);
	CU_ASSERT_EQUAL(s.last[0], UINT64_MAX);
	CU_ASSERT_EQUAL(s.devid[0] + s.devid[1], 3);
	/* A new domain with the same id does not inherit an old one's counters. */
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(kxd_devstats_scan(&kxd_devstats_vif, 7, 2000, count, &s), 0);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(kxd_devstats_scan(&kxd_devstats_vbd, 7, 0, count, &s), 1);
	CU_ASSERT_EQUAL(s.devid[0], 51712);
	CU_ASSERT_EQUAL(kxd_devstats_remove(&kxd_devstats_vif, 7, 3), 0);
	CU_ASSERT_EQUAL(kxd_devstats_remove(&kxd_devstats_vif, 7, 3), 0);   /* already gone */
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(kxd_devstats_scan(&kxd_devstats_vif, 7, 1000, count, &s), 1);
	/* Temporaries and junk names are not devices; nor is a file that does not parse. */
	write_raw("vif", "7-5.tmp", "created_ns 1000\n");
	write_raw("vif", "7-x", "created_ns 1000\n");
	write_raw("vif", "7-6", "created_ns 1000\ntx_bytes 1\n");
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(kxd_devstats_scan(&kxd_devstats_vif, 7, 1000, count, &s), 1);
	/* No directory: no devices, no error. */
	setenv("KXEN_RUN_DIR", "/nonexistent/kxd", 1);
	CU_ASSERT_EQUAL(kxd_devstats_scan(&kxd_devstats_vif, 7, 0, count, &s), 0);
	setenv("KXEN_RUN_DIR", dir, 1);
}

static void test_devstats_parse(void)
{
	uint64_t c = 0, v[KXD_VBD_NR];
	const char *good = "created_ns 5\nrd_req 1\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\n";

	CU_ASSERT_EQUAL(kxd_devstats_parse(&kxd_devstats_vbd, good, &c, v), 0);
	CU_ASSERT_EQUAL(c, 5);
	CU_ASSERT_EQUAL(v[KXD_VBD_RD_REQ], 1);
	CU_ASSERT_EQUAL(v[KXD_VBD_WR_SECT], 4);
	/* A newer writer's extra counter is skipped. */
	CU_ASSERT_EQUAL(kxd_devstats_parse(&kxd_devstats_vbd,
	                "created_ns 5\nrd_req 1\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\nnew_one 9\n", &c, v), 0);
	static const char *const bad[] = {
		"created_ns 5\nrd_req 1\nwr_req 2\noo_req 0\nrd_sect 3\n",                    /* one missing */
		"created_ns 5\nrd_req 1\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4",           /* no newline */
		"created_ns 5\nrd_req 1\nrd_req 1\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\n", /* twice */
		"created_ns 5\nrd_req -1\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\n",        /* sign */
		"created_ns 5\nrd_req 0x1\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\n",       /* hex */
		"created_ns 5\nrd_req 18446744073709551616\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\n", /* 2^64 */
		"created_ns 5\nrd_req  1\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\n",        /* two spaces */
		"created_ns 5\nrd_req\nwr_req 2\noo_req 0\nrd_sect 3\nwr_sect 4\n",           /* no value */
		"",
	};
	for (unsigned i = 0; i < CUNIT_COUNT(bad); i++)
		CU_ASSERT_EQUAL(kxd_devstats_parse(&kxd_devstats_vbd, bad[i], &c, v), -EINVAL);
}

/* ---- daemon ---- */

/*
 * Runs a starter in a child: it daemonises; the daemon sleeps delay_ms,
 * then (if ready) writes the pid file and waits to be killed, or exits 3.
 * Returns the starter's exit status and the time it took.
 */
static int start(bool ready, int delay_ms, const char *pidfile, double *took)
{
	struct timespec a, b;
	int st;
	pid_t p;

	clock_gettime(CLOCK_MONOTONIC, &a);
	p = fork();
	if (p == 0) {
		if (kxd_daemon_start())
			_exit(2);
		usleep((useconds_t)delay_ms * 1000);
		if (!ready)
			_exit(3);
		kxd_daemon_ready(pidfile);
		/* Our stdout now goes nowhere near the test's terminal. */
		printf("this must not appear\n");
		fflush(stdout);
		pause();
		_exit(0);
	}
	waitpid(p, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	*took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_daemon_ready(void)
{
	char pidfile[256];
	double took;
	FILE *f;
	int pid = 0;

	snprintf(pidfile, sizeof(pidfile), "%s/d.pid", dir);
	/* The starter returns only once the daemon is ready, so the pid file exists by then. */
	CU_ASSERT_EQUAL(start(true, 300, pidfile, &took), 0);
	CU_ASSERT(took >= 0.3);
	f = fopen(pidfile, "r");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(fscanf(f, "%d", &pid), 1);
	fclose(f);
	CU_ASSERT(pid > 1 && kill(pid, 0) == 0);
	/* A daemon, not our child: a session of its own. */
	CU_ASSERT(getsid(pid) != getsid(0));
	kill(pid, SIGKILL);
	unlink(pidfile);
	/* A daemon that dies before it is ready makes its starter fail. */
	CU_ASSERT_EQUAL(start(false, 100, pidfile, &took), 1);
	CU_ASSERT(access(pidfile, F_OK) != 0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "a callback deleting another fd of the batch: it never runs; deferred frees run after", test_loop_delete_in_batch },
		{ "a callback closing itself and another fd of the batch, which never runs", test_loop_close_in_batch },
		{ "SIGTERM through the signalfd ends the loop", test_loop_signals },
		{ "log lines: timestamp, name, one line each, reopen", test_log_line },
		{ "run directory: $KXEN_RUN_DIR, nested mkdir, pid file path", test_rundir },
		{ "devstats: write, scan by domain and creation time, remove, junk ignored", test_devstats_roundtrip },
		{ "devstats: the parser's one strict rule", test_devstats_parse },
		{ "daemon: the starter returns when ready (pid file there) or fails with the daemon", test_daemon_ready },
	};

	return cunit_run("libkxdaemon", tests, CUNIT_COUNT(tests), suite_init, suite_cleanup);
}
