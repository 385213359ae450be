/* Shared benchmark plumbing: a private kxen-hv and kxenstored, /dev/kvm checks, clocks, statistics, log polling. */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#ifndef KXEN_BUILDDIR
#define KXEN_BUILDDIR "."
#endif

struct bench_hv bench_hv = { .pid = -1 };
static int keep_dir;
static char errpath[PATH_MAX];   /* kxen-hv's stderr, in the private directory */

const char *bench_builddir(void)
{
	const char *e = getenv("KXEN_BUILDDIR");

	return e && *e ? e : KXEN_BUILDDIR;
}

const char *bench_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", bench_builddir(), rel);
	return buf;
}

const char *bench_guest_kernel(void)
{
	static char path[PATH_MAX];

	return bench_path(path, sizeof(path), "pv-drivers/guest/kxen-guest");
}

void bench_require_kvm(const char *prog)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm = -1;

	if (kvm < 0) {
		printf("%s: SKIP: cannot open /dev/kvm: %s\n", prog, strerror(errno));
		exit(BENCH_SKIP);
	}
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
	    (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) {
		printf("%s: SKIP: /dev/kvm cannot create a VM: %s\n", prog, strerror(errno));
		exit(BENCH_SKIP);
	}
	close(vm);
	close(kvm);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}

double bench_quantile(double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	bench_sort(v, n);
	/* Nearest rank: p90 of 50 samples is the 45th, never an interpolation. */
	i = (size_t)(q * (double)n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return v[i];
}

unsigned long bench_parse_count(const char *prog, const char *opt, const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0) {
		fprintf(stderr, "%s: %s wants a positive integer, not '%s'\n", prog, opt, s);
		exit(2);
	}
	return v;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;   /* go on: remove whatever can be removed */
}

static void remove_dir(void)
{
	if (!bench_hv.dir[0])
		return;
	if (keep_dir) {
		fprintf(stderr, "bench: kept the hypervisor log in %s\n", bench_hv.log);
		return;
	}
	/* Everything in the directory is ours (kxl's XML and state, kxen-backd's counters...). */
	nftw(bench_hv.dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	bench_hv.dir[0] = 0;
}

void bench_stop_hv(void)
{
	int st;

	if (bench_hv.h) {
		kxctrl_close(bench_hv.h);
		bench_hv.h = NULL;
	}
	if (bench_hv.pid > 0) {
		/* SIGTERM lets kxen-hv destroy its domains; SIGKILL only if it hangs. */
		kill(bench_hv.pid, SIGTERM);
		for (int i = 0; i < 500; i++) {
			if (waitpid(bench_hv.pid, &st, WNOHANG) == bench_hv.pid)
				goto reaped;
			bench_sleep_ns(10000000);
		}
		fprintf(stderr, "bench: kxen-hv %d ignored SIGTERM for 5 s, killing it\n", (int)bench_hv.pid);
		kill(bench_hv.pid, SIGKILL);
		waitpid(bench_hv.pid, &st, 0);
		keep_dir = 1;
reaped:
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM) {
			fprintf(stderr, "bench: kxen-hv died of signal %d\n", WTERMSIG(st));
			keep_dir = 1;
		}
		bench_hv.pid = -1;
	}
	remove_dir();
}

static pid_t xs_pid = -1;

static void stop_xenstored(void)
{
	if (xs_pid > 0) {
		kill(xs_pid, SIGTERM);
		waitpid(xs_pid, NULL, 0);
		xs_pid = -1;
	}
}

static void on_signal(int sig)
{
	/* Only async-signal-safe calls (kill, waitpid, nanosleep, unlink, rmdir): the hypervisor must not outlive us. */
	if (xs_pid > 0)
		kill(xs_pid, SIGTERM);
	if (bench_hv.pid > 0) {
		struct timespec ts = { 0, 10000000 };

		kill(bench_hv.pid, SIGTERM);
		for (int i = 0; i < 300 && waitpid(bench_hv.pid, NULL, WNOHANG) != bench_hv.pid; i++)
			nanosleep(&ts, NULL);
		kill(bench_hv.pid, SIGKILL);
		waitpid(bench_hv.pid, NULL, WNOHANG);
	}
	if (bench_hv.dir[0]) {
		unlink(bench_hv.sock);
		unlink(bench_hv.log);
		unlink(errpath);
		unlink(bench_hv.scratch);
		rmdir(bench_hv.dir);
	}
	_exit(128 + sig);
}

void bench_start_hv(const char *prog)
{
	const char *tmp = getenv("TMPDIR");
	char hvpath[PATH_MAX];
	int rc = -ENOENT;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	/* $KXEN_BENCH_KEEP=1: keep the private directory (logs, counters) after a good run too. */
	if (getenv("KXEN_BENCH_KEEP") && !strcmp(getenv("KXEN_BENCH_KEEP"), "1"))
		keep_dir = 1;
	/* Short polling sleeps must not be stretched by the default 50 us timer slack. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	snprintf(bench_hv.dir, sizeof(bench_hv.dir), "%s/kxen-bench.XXXXXX", tmp);
	if (!mkdtemp(bench_hv.dir)) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, bench_hv.dir, strerror(errno));
		exit(1);
	}
	snprintf(bench_hv.sock, sizeof(bench_hv.sock), "%s/hv.sock", bench_hv.dir);
	snprintf(bench_hv.log, sizeof(bench_hv.log), "%s/hv.log", bench_hv.dir);
	snprintf(errpath, sizeof(errpath), "%s/hv.stderr", bench_hv.dir);
	snprintf(bench_hv.scratch, sizeof(bench_hv.scratch), "%s/scratch.xml", bench_hv.dir);
	bench_path(hvpath, sizeof(hvpath), "hypervisor/kxen-hv");
	if (access(hvpath, X_OK) < 0) {
		fprintf(stderr, "%s: %s is not built: %s\n", prog, hvpath, strerror(errno));
		exit(1);
	}
	atexit(bench_stop_hv);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		/* Even if we are SIGKILLed, the hypervisor goes with us. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execl(hvpath, "kxen-hv", "-f", "-s", bench_hv.sock, "-l", bench_hv.log, (char *)NULL);
		_exit(127);
	}
	bench_hv.pid = pid;
	/* The socket appears once kvm_init is done: poll for up to 10 s. */
	for (int i = 0; i < 1000; i++) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			bench_hv.pid = -1;
			keep_dir = 1;
			fprintf(stderr, "%s: kxen-hv exited at start-up (status %#x); see %s\n", prog, st, errpath);
			exit(1);
		}
		rc = kxctrl_open(bench_hv.sock, &bench_hv.h);
		if (rc == 0)
			return;
		bench_sleep_ns(10000000);
	}
	keep_dir = 1;
	fprintf(stderr, "%s: cannot connect to kxen-hv at %s: %s\n", prog, bench_hv.sock, strerror(-rc));
	exit(1);
}

int bench_log_skip(kxctrl *h, struct bench_log *l)
{
	char buf[16384];
	size_t got;
	uint64_t lost;
	int rc;

	do {
		rc = kxctrl_log_read(h, &l->cursor, buf, sizeof(buf), &got, &lost);
		if (rc < 0)
			return rc;
	} while (got > 0);
	l->partlen = 0;
	return 0;
}

int bench_log_poll(kxctrl *h, struct bench_log *l, int (*fn)(const char *line, void *arg), void *arg)
{
	char buf[16384];
	size_t got;
	uint64_t lost;
	int rc;

	for (;;) {
		rc = kxctrl_log_read(h, &l->cursor, buf, sizeof(buf), &got, &lost);
		if (rc < 0)
			return rc;
		l->lost += lost;
		if (got == 0)
			return 0;
		for (size_t i = 0; i < got; i++) {
			if (buf[i] != '\n') {
				/* Over-long lines are truncated, never split into two. */
				if (l->partlen < sizeof(l->part) - 1)
					l->part[l->partlen++] = buf[i];
				continue;
			}
			l->part[l->partlen] = 0;
			l->partlen = 0;
			rc = fn(l->part, arg);
			if (rc)
				return rc;
		}
	}
}

struct dom_match {
	char prefix[24];
	const char *needle;
	char *out;
	size_t outlen;
};

static int match_dom(const char *line, void *arg)
{
	struct dom_match *m = arg;

	if (strncmp(line, m->prefix, strlen(m->prefix)) != 0)
		return 0;
	if (m->needle && !strstr(line, m->needle))
		return 0;
	if (m->out)
		snprintf(m->out, m->outlen, "%s", line);
	return 1;
}

int bench_log_wait_dom(kxctrl *h, struct bench_log *l, uint32_t domid, const char *needle,
                       char *out, size_t outlen, uint64_t timeout_ns, uint64_t poll_ns)
{
	struct dom_match m = { .needle = needle, .out = out, .outlen = outlen };
	uint64_t deadline = bench_now_ns() + timeout_ns;

	snprintf(m.prefix, sizeof(m.prefix), "(d%u) ", domid);
	for (;;) {
		int rc = bench_log_poll(h, l, match_dom, &m);
		if (rc != 0)
			return rc > 0 ? 0 : rc;
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		bench_sleep_ns(poll_ns);
	}
}

void bench_keep_log(void)
{
	keep_dir = 1;
}

const char *bench_xs_store_opt;

pid_t bench_start_xenstored(const char *prog)
{
	char bin[PATH_MAX], sock[sizeof(bench_hv.dir) + 16], logf[sizeof(bench_hv.dir) + 16];

	bench_path(bin, sizeof(bin), "dom0-tools/kxenstored/kxenstored");
	if (access(bin, X_OK) != 0) {
		fprintf(stderr, "%s: %s is not built: %s\n", prog, bin, strerror(errno));
		exit(1);
	}
	snprintf(sock, sizeof(sock), "%s/xs.sock", bench_hv.dir);
	snprintf(logf, sizeof(logf), "%s/xs.log", bench_hv.dir);
	fflush(stdout);
	xs_pid = fork();
	if (xs_pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		exit(1);
	}
	if (xs_pid == 0) {
		/* Its log goes to logf; our stdout may be a pipe someone waits on. */
		int fd = open("/dev/null", O_WRONLY);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		/* Its store in the private directory; bench_xs_store_opt may turn it off (--no-persist). */
		char store[sizeof(bench_hv.dir) + 16];
		snprintf(store, sizeof(store), "%s/xsdata", bench_hv.dir);
		const char *args[] = { "kxenstored", "-f", "-s", sock, "-H", bench_hv.sock, "-l", logf,
		                       bench_xs_store_opt ? bench_xs_store_opt : "-D",
		                       bench_xs_store_opt ? NULL : store, NULL };
		execv(bin, (char **)args);
		_exit(127);
	}
	atexit(stop_xenstored);
	for (int i = 0; i < 500; i++) {
		if (access(sock, F_OK) == 0) {
			setenv("XENSTORED_PATH", sock, 1);
			return xs_pid;
		}
		if (waitpid(xs_pid, NULL, WNOHANG) == xs_pid) {
			xs_pid = -1;
			break;
		}
		bench_sleep_ns(10000000);
	}
	keep_dir = 1;
	fprintf(stderr, "%s: kxenstored did not start; see %s\n", prog, logf);
	exit(1);
}

/*
 * CPU time of all of pid's threads in ns, from /proc/PID/task/TID/schedstat:
 * stat's utime+stime tick at 10 ms, too coarse for hundreds of mostly
 * sleeping threads. Threads that exit in between are not counted (none
 * should while guests idle).
 */
uint64_t bench_task_cpu_ns(pid_t pid)
{
	char path[96];
	uint64_t sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		unsigned long long ns;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%llu", &ns) == 1)
				sum += ns;
			fclose(f);
		}
	}
	closedir(d);
	return sum;
}

/* Writes the domain XML kxl reads (the schema in xml/domain.rng). */
int bench_write_hello_xml(const char *path, const char *name, unsigned mib)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "<domain type='kxen'>\n  <name>%s</name>\n  <memory unit='M'>%u</memory>\n"
	        "  <vcpu>1</vcpu>\n  <os>\n    <type>xenpv</type>\n    <kernel>%s</kernel>\n"
	        "    <cmdline>hello</cmdline>\n  </os>\n  <on_poweroff>destroy</on_poweroff>\n"
	        "</domain>\n", name, mib, bench_guest_kernel());
	return fclose(f) ? -errno : 0;
}

double bench_whole_run(const char *prog, const char *path, const char *kxl, const char *xml,
                       uint64_t *t0, uint64_t *t1)
{
	int st = 0;

	*t0 = bench_now_ns();
	pid_t pid = kxl ? bench_spawn_kxl(kxl, "-F", xml) : fork();
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: %s failed (status %#x)\n", prog, kxl ? "kxl create -F" : path, st);
		return -1;
	}
	*t1 = bench_now_ns();
	return (double)(*t1 - *t0) / 1e6;
}

pid_t bench_spawn_kxl(const char *kxl, const char *flag, const char *xml)
{
	pid_t pid = fork();

	if (pid == 0) {
		setenv("KXEN_HV_SOCKET", bench_hv.sock, 1);
		/* kxl saves each domain's config: keep it in the private directory. */
		char state[400];
		snprintf(state, sizeof(state), "%s/state", bench_hv.dir);
		setenv("KXEN_STATE_DIR", state, 1);
		/* kxl's "Started domain" chatter would interleave with our table. */
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		/* -F's monitor reports each shutdown on stderr: one line per run is noise here. */
		if (flag && !strcmp(flag, "-F") && !freopen("/dev/null", "w", stderr))
			_exit(126);
		if (flag)
			execl(kxl, "kxl", "create", flag, xml, (char *)NULL);
		else
			execl(kxl, "kxl", "create", xml, (char *)NULL);
		_exit(127);
	}
	return pid;
}
