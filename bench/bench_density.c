/* bench_density: how many idle guests one kxen-hv holds, what each costs, and whether the host stays responsive. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "kxen/kxbuild.h"

#define PROG "bench_density"
#define LAT_SAMPLES 20

/* What /proc says about kxen-hv (sizes in KiB, CPU in clock ticks). */
struct proc_snap {
	long rss_kib, anon_kib, shmem_kib, threads;
	long fds;
	unsigned long long cpu_ticks;
	long mem_avail_kib;
};

static long status_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int snap(pid_t pid, struct proc_snap *s)
{
	char path[64], buf[8192];
	FILE *f;
	size_t n;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	s->rss_kib = status_field(buf, "\nVmRSS:");
	s->anon_kib = status_field(buf, "\nRssAnon:");
	s->shmem_kib = status_field(buf, "\nRssShmem:");
	s->threads = status_field(buf, "\nThreads:");

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			s->fds++;
	closedir(d);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	/* Fields after the ")" of comm: state is field 3, utime 14, stime 15. */
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EPROTO;
	s->cpu_ticks = ut + st;

	if (!(f = fopen("/proc/meminfo", "r")))
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	s->mem_avail_kib = status_field(buf, "MemAvailable:");
	return 0;
}

/* Median latency (us) of the host operations a user would notice: a control call and a tiny fork+exec. */
static void responsiveness(double *list_us, double *exec_us)
{
	double a[LAT_SAMPLES], b[LAT_SAMPLES];

	for (int i = 0; i < LAT_SAMPLES; i++) {
		struct kxctl_dominfo *all = NULL;
		unsigned n;
		uint64_t t0 = bench_now_ns();

		kxctrl_domain_list(bench_hv.h, &all, &n);
		a[i] = (double)(bench_now_ns() - t0) / 1000.0;
		free(all);

		t0 = bench_now_ns();
		pid_t pid = fork();
		if (pid == 0) {
			execlp("true", "true", (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		b[i] = (double)(bench_now_ns() - t0) / 1000.0;
	}
	*list_us = bench_quantile(a, LAT_SAMPLES, 0.5);
	*exec_us = bench_quantile(b, LAT_SAMPLES, 0.5);
}

/* CPU kxen-hv used over secs, in percent of one CPU: *ticks_pct from stat, *sched_pct from schedstat. */
static void cpu_percent(pid_t pid, unsigned secs, double *ticks_pct, double *sched_pct)
{
	struct proc_snap a, b;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t t0 = bench_now_ns(), c0 = bench_task_cpu_ns(pid);

	snap(pid, &a);
	bench_sleep_ns((uint64_t)secs * 1000000000ull);
	snap(pid, &b);
	uint64_t c1 = bench_task_cpu_ns(pid);
	double wall = (double)(bench_now_ns() - t0) / 1e9;
	*ticks_pct = 100.0 * (double)(b.cpu_ticks - a.cpu_ticks) / (double)hz / wall;
	*sched_pct = 100.0 * (double)(c1 - c0) / 1e9 / wall;
}

static void print_snap(const char *label, const struct proc_snap *s)
{
	printf("%-16s kxen-hv VmRSS %7ld KiB (anon %6ld, shmem %7ld), %5ld fds, %4ld threads; host MemAvailable %ld MiB\n",
	       label, s->rss_kib, s->anon_kib, s->shmem_kib, s->fds, s->threads, s->mem_avail_kib / 1024);
}

/* Counts "(dN) idle:" lines so we know the guests have booted, not merely been built. */
struct idle_count {
	unsigned seen;
};

static int count_idle(const char *line, void *arg)
{
	struct idle_count *c = arg;

	if (line[0] == '(' && line[1] == 'd' && strstr(line, ") idle: blocking"))
		c->seen++;
	return 0;
}

/* Sum of a counter over all domains: shows the idle window really contained guest wake-ups. */
static uint64_t sum_counter(int which)
{
	struct kxctl_dominfo *all = NULL;
	unsigned n = 0;
	uint64_t sum = 0;

	if (kxctrl_domain_list(bench_hv.h, &all, &n) < 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		sum += which ? all[i].events : all[i].exits;
	free(all);
	return sum;
}

static uint64_t total_exits(void) { return sum_counter(0); }
static uint64_t total_events(void) { return sum_counter(1); }

/* One create-all pass: what it built, why it stopped, how long it took. */
struct wave {
	unsigned long n;
	const char *stop;
	int rc;                 /* the failing kxbuild_domain's return, 0 if none failed */
	char err[KXBUILD_ERR_MAX];
	uint64_t built_ns, booted_ns;
	unsigned idle_seen;
	uint64_t log_lost;
};

/*
 * Builds up to cap idle guests (names PREFIX0..), stopping at the first
 * failure or when budget_ns is spent, then waits (bounded) until each has
 * logged that it is idle: built is not booted.
 */
static void create_wave(const char *prefix, unsigned long cap, unsigned long mib, uint64_t budget_ns,
                        uint32_t *ids, struct wave *w)
{
	struct bench_log log = { 0 };
	struct idle_count idle = { 0 };

	memset(w, 0, sizeof(*w));
	w->stop = "cap reached";
	bench_log_skip(bench_hv.h, &log);
	uint64_t t0 = bench_now_ns(), deadline = t0 + budget_ns;
	for (; w->n < cap; w->n++) {
		char name[32];
		struct kxbuild_config cfg = {
			.name = name, .mem_bytes = (uint64_t)mib << 20, .vcpus = 1,
			.kernel = bench_guest_kernel(), .cmdline = "idle",
			.on_poweroff = KXCTL_ACTION_DESTROY, .on_reboot = KXCTL_ACTION_DESTROY,
			.on_crash = KXCTL_ACTION_PRESERVE,   /* a crashed guest stays visible to report */
		};
		struct kxbuild_result res;

		snprintf(name, sizeof(name), "%s%lu", prefix, w->n);
		w->rc = kxbuild_domain(bench_hv.h, &cfg, &res, w->err, sizeof(w->err));
		if (w->rc < 0) {
			w->stop = "creation failed";
			break;
		}
		ids[w->n] = res.domid;
		/* Drain the log as we go so the 1 MiB ring never laps us. */
		bench_log_poll(bench_hv.h, &log, count_idle, &idle);
		if (bench_now_ns() > deadline) {
			w->n++;
			w->stop = "time budget spent";
			break;
		}
	}
	w->built_ns = bench_now_ns() - t0;
	uint64_t boot_deadline = bench_now_ns() + 30ull * 1000000000ull;
	while (idle.seen < w->n && bench_now_ns() < boot_deadline) {
		bench_log_poll(bench_hv.h, &log, count_idle, &idle);
		if (idle.seen < w->n)
			bench_sleep_ns(1000000);
	}
	w->booted_ns = bench_now_ns() - t0;
	w->idle_seen = idle.seen;
	w->log_lost = log.lost;
}

static void print_wave(const struct wave *w)
{
	printf("created %lu guests (%s) in %.3f s = %.2f ms/guest, %.0f guests/s; %u logged idle after %.3f s\n",
	       w->n, w->stop, (double)w->built_ns / 1e9, w->n ? (double)w->built_ns / 1e6 / (double)w->n : 0.0,
	       w->built_ns ? (double)w->n * 1e9 / (double)w->built_ns : 0.0, w->idle_seen,
	       (double)w->booted_ns / 1e9);
	if (w->rc < 0)
		printf("creation of guest %lu failed: %s (%s)\n", w->n + 1, w->err, strerror(-w->rc));
	if (w->idle_seen < w->n)
		printf("warning: only %u of %lu guests logged 'idle: blocking' within 30 s (log lost %llu bytes)\n",
		       w->idle_seen, w->n, (unsigned long long)w->log_lost);
}

/* Destroys ids[0..n) and waits (bounded) for an empty domain list, which destroy may reach asynchronously. */
static uint64_t destroy_all(const uint32_t *ids, unsigned long n, unsigned long *failed, unsigned *left)
{
	uint64_t t0 = bench_now_ns();

	*failed = 0;
	*left = 0;
	for (unsigned long i = 0; i < n; i++)
		if (kxctrl_domain_destroy(bench_hv.h, ids[i]) < 0)
			++*failed;
	for (int i = 0; i < 3000; i++) {
		struct kxctl_dominfo *all = NULL;
		if (kxctrl_domain_list(bench_hv.h, &all, left) < 0)
			break;
		free(all);
		if (*left == 0)
			break;
		bench_sleep_ns(10000000);
	}
	return bench_now_ns() - t0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-c CAP] [-m MIB] [-t SECONDS] [-i SECONDS]\n"
	        "Starts idle guests up to CAP and reports memory, fds, CPU and host responsiveness.\n"
	        "  -c CAP      most guests to start (default 500)\n"
	        "  -m MIB      memory per guest (default 4)\n"
	        "  -t SECONDS  stop creating after this long (default 60)\n"
	        "  -i SECONDS  idle window for kxen-hv's CPU use (default 12: guests wake every 10 s)\n", PROG);
}

int main(int argc, char **argv)
{
	/* 12 s: the idle app's timer fires every 10 s, so the window holds a wake-up of every guest. */
	unsigned long cap = 500, mib = 4, budget_s = 60, idle_s = 12;
	int c;

	while ((c = getopt(argc, argv, "c:m:t:i:h")) != -1) {
		switch (c) {
		case 'c': cap = bench_parse_count(PROG, "-c", optarg); break;
		case 'm': mib = bench_parse_count(PROG, "-m", optarg); break;
		case 't': budget_s = bench_parse_count(PROG, "-t", optarg); break;
		case 'i': idle_s = bench_parse_count(PROG, "-i", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_require_kvm(PROG);
	bench_start_hv(PROG);

	pid_t hv = bench_hv.pid;
	struct proc_snap before, running, after, after2;
	double list0, exec0, list1, exec1, cpu0, cpu0s, cpu1, cpu1s;
	uint32_t *ids = calloc(cap, sizeof(*ids));
	struct wave w, w2;
	unsigned long failed;
	unsigned left;

	if (!ids) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return 1;
	}
	/* A moment for kxen-hv to settle after start-up before the baseline. */
	bench_sleep_ns(200000000);
	snap(hv, &before);
	responsiveness(&list0, &exec0);
	cpu_percent(hv, 1, &cpu0, &cpu0s);
	printf("%s: guest app idle, %lu MiB each, cap %lu, creation budget %lu s\n", PROG, mib, cap, budget_s);
	print_snap("before:", &before);

	create_wave("idle", cap, mib, budget_s * 1000000000ull, ids, &w);
	print_wave(&w);
	if (w.n == 0) {
		bench_keep_log();
		return 1;
	}
	unsigned long n = w.n;

	/* Let the creation burst's page faults and thread start-up settle first. */
	bench_sleep_ns(500000000);
	snap(hv, &running);
	print_snap("running:", &running);
	long drss = running.rss_kib - before.rss_kib, davail = before.mem_avail_kib - running.mem_avail_kib;
	printf("per guest: %.1f KiB kxen-hv RSS, %.1f KiB host MemAvailable drop "
	       "(includes KVM/kernel memory), %.2f fds, %.2f threads\n",
	       (double)drss / (double)n, (double)davail / (double)n,
	       (double)(running.fds - before.fds) / (double)n,
	       (double)(running.threads - before.threads) / (double)n);
	responsiveness(&list1, &exec1);
	printf("responsiveness (median of %d): domain_list %.1f us (%.1f us with no guests), "
	       "fork+exec true %.1f us (%.1f us with no guests)\n", LAT_SAMPLES, list1, list0, exec1, exec0);
	uint64_t ex0 = total_exits(), ev0 = total_events();
	cpu_percent(hv, (unsigned)idle_s, &cpu1, &cpu1s);
	uint64_t ex1 = total_exits() - ex0, ev1 = total_events() - ev0;
	printf("kxen-hv CPU over %lu s with %lu idle guests: %.3f%% of one CPU by schedstat, %.2f%% by "
	       "stat utime+stime (10 ms ticks); with no guests %.3f%% / %.2f%%; guests made %llu exits, "
	       "got %llu events in the window\n",
	       idle_s, n, cpu1s, cpu1, cpu0s, cpu0, (unsigned long long)ex1, (unsigned long long)ev1);

	uint64_t t_destroy = destroy_all(ids, n, &failed, &left);
	bench_sleep_ns(500000000);
	snap(hv, &after);
	printf("destroyed %lu guests in %.3f s (%lu destroy calls failed, %u domains left)\n",
	       n, (double)t_destroy / 1e9, failed, left);
	print_snap("after:", &after);
	printf("after - before: VmRSS %+ld KiB, fds %+ld, threads %+ld\n",
	       after.rss_kib - before.rss_kib, after.fds - before.fds, after.threads - before.threads);

	/*
	 * A second identical cycle tells a leak from memory glibc keeps for
	 * reuse (per-thread arenas, freed-but-cached heap): only growth over the
	 * first cycle's end state is a leak.
	 */
	create_wave("again", n, mib, budget_s * 1000000000ull, ids, &w2);
	uint64_t t_destroy2 = destroy_all(ids, w2.n, &failed, &left);
	bench_sleep_ns(500000000);
	snap(hv, &after2);
	printf("second cycle: %lu guests created in %.3f s, destroyed in %.3f s (%lu failed, %u left)\n",
	       w2.n, (double)w2.built_ns / 1e9, (double)t_destroy2 / 1e9, failed, left);
	if (w2.rc < 0)
		printf("second cycle: creation of guest %lu failed: %s\n", w2.n + 1, w2.err);
	print_snap("after 2nd:", &after2);
	long leak_rss = after2.rss_kib - after.rss_kib, leak_fd = after2.fds - after.fds;
	printf("leak check (2nd cycle end - 1st cycle end): VmRSS %+ld KiB = %.2f KiB/guest, fds %+ld, threads %+ld\n",
	       leak_rss, w2.n ? (double)leak_rss / (double)w2.n : 0.0, leak_fd, after2.threads - after.threads);

	printf("RESULT bench_density guests=%lu stop=\"%s\" mem_mib=%lu create_s=%.3f ms_per_guest=%.3f "
	       "rss_per_guest_kib=%.1f avail_drop_per_guest_kib=%.1f fds_per_guest=%.2f list_us=%.1f exec_us=%.1f "
	       "idle_cpu_pct=%.3f destroy_s=%.3f rss_retained_kib=%ld rss_leak_kib=%ld fd_leak=%ld\n",
	       n, w.stop, mib, (double)w.built_ns / 1e9, (double)w.built_ns / 1e6 / (double)n,
	       (double)drss / (double)n, (double)davail / (double)n,
	       (double)(running.fds - before.fds) / (double)n, list1, exec1, cpu1s,
	       (double)t_destroy / 1e9, after.rss_kib - before.rss_kib, leak_rss,
	       (after.fds - before.fds) + leak_fd);
	free(ids);
	return 0;
}
