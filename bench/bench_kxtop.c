/* bench_kxtop: kxtop's own CPU use at a 1 s refresh with 500 idle guests, batch and interactive (under a pty). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "kxen/kxbuild.h"

#define PROG "bench_kxtop"

static int count_idle(const char *line, void *arg)
{
	if (line[0] == '(' && line[1] == 'd' && strstr(line, ") idle: blocking"))
		++*(unsigned *)arg;
	return 0;
}

/* Builds n idle guests and waits (bounded) until they have all booted. Returns how many were built. */
static unsigned long create_guests(unsigned long n, unsigned long mib)
{
	struct bench_log log = { 0 };
	unsigned idle = 0;
	unsigned long i;

	bench_log_skip(bench_hv.h, &log);
	for (i = 0; i < n; i++) {
		char name[32], err[KXBUILD_ERR_MAX];
		struct kxbuild_config cfg = {
			.name = name, .mem_bytes = (uint64_t)mib << 20, .vcpus = 1,
			.kernel = bench_guest_kernel(), .cmdline = "idle",
			.on_poweroff = KXCTL_ACTION_DESTROY, .on_reboot = KXCTL_ACTION_DESTROY,
			.on_crash = KXCTL_ACTION_PRESERVE,
		};
		struct kxbuild_result res;

		snprintf(name, sizeof(name), "guest%lu", i);
		if (kxbuild_domain(bench_hv.h, &cfg, &res, err, sizeof(err)) < 0) {
			printf("creation of guest %lu failed: %s\n", i, err);
			break;
		}
		bench_log_poll(bench_hv.h, &log, count_idle, &idle);
	}
	uint64_t deadline = bench_now_ns() + 30ull * 1000000000ull;
	while (idle < i && bench_now_ns() < deadline) {
		bench_log_poll(bench_hv.h, &log, count_idle, &idle);
		bench_sleep_ns(5000000);
	}
	printf("%lu idle guests built, %u logged idle\n", i, idle);
	return i;
}

struct run {
	double kxtop_pct;       /* kxtop's CPU in % of one CPU over the run */
	double hv_pct;          /* kxen-hv's over the same run */
	double wall_s;
	unsigned long bytes;    /* terminal output read (interactive) */
	int status;
};

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/*
 * Runs kxtop with args for secs seconds at -d 1: batch (stdout to /dev/null)
 * or interactive under a 200x50 pty (output read and dropped, then q).
 * CPU comes from wait4's rusage of the child: all of its own time.
 */
static int run_kxtop(bool batch, bool vcpus, unsigned secs, struct run *r)
{
	char kxtop[4096], iters[16];
	struct winsize ws = { .ws_row = 50, .ws_col = 200 };
	struct rusage ru;
	int master = -1, status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	bench_path(kxtop, sizeof(kxtop), "dom0-tools/kxtop/kxtop");
	snprintf(iters, sizeof(iters), "%u", secs + 1);
	char *argv_batch[] = { kxtop, "-b", "-d", "1", "-i", iters, "-H", bench_hv.sock, vcpus ? "-v" : NULL, NULL };
	char *argv_tty[] = { kxtop, "-d", "1", "-H", bench_hv.sock, vcpus ? "-v" : NULL, NULL };

	uint64_t hv0 = bench_task_cpu_ns(bench_hv.pid), t0 = bench_now_ns();
	pid = batch ? fork() : forkpty(&master, NULL, NULL, &ws);
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (batch) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0)
				dup2(fd, STDOUT_FILENO);
		}
		setenv("TERM", "xterm", 1);
		execv(kxtop, batch ? argv_batch : argv_tty);
		_exit(127);
	}
	if (!batch) {
		char buf[65536];
		uint64_t end = t0 + (uint64_t)secs * 1000000000ull + 500000000ull;

		for (uint64_t now; (now = bench_now_ns()) < end;) {
			struct pollfd p = { .fd = master, .events = POLLIN };
			if (poll(&p, 1, (int)((end - now) / 1000000) + 1) > 0) {
				ssize_t n = read(master, buf, sizeof(buf));
				if (n <= 0)
					break;
				r->bytes += (unsigned long)n;
			}
		}
		if (write(master, "q", 1) != 1)
			kill(pid, SIGTERM);
		/* Drain until kxtop has gone so it never blocks on a full pty. */
		for (int i = 0; i < 200; i++) {
			struct pollfd p = { .fd = master, .events = POLLIN };
			if (poll(&p, 1, 10) > 0 && read(master, buf, sizeof(buf)) <= 0)
				break;
			siginfo_t si = { 0 };
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
				break;
		}
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	r->wall_s = (double)(bench_now_ns() - t0) / 1e9;
	r->hv_pct = 100.0 * (double)(bench_task_cpu_ns(bench_hv.pid) - hv0) / 1e9 / r->wall_s;
	r->kxtop_pct = 100.0 * (tv_s(ru.ru_utime) + tv_s(ru.ru_stime)) / r->wall_s;
	r->status = status;
	if (master >= 0)
		close(master);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-c GUESTS] [-t SECONDS] [-r RUNS]\n"
	        "Measures kxtop's CPU use at -d 1 with GUESTS idle guests (default 500), each mode\n"
	        "for SECONDS (default 10), RUNS times (default 3, medians reported).\n", PROG);
}

static const char *const mode_names[] = { "batch", "interactive", "interactive -v" };

int main(int argc, char **argv)
{
	unsigned long guests = 500, secs = 10, runs = 3;
	int c;

	while ((c = getopt(argc, argv, "c:t:r:h")) != -1) {
		switch (c) {
		case 'c': guests = bench_parse_count(PROG, "-c", optarg); break;
		case 't': secs = bench_parse_count(PROG, "-t", optarg); break;
		case 'r': runs = bench_parse_count(PROG, "-r", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || runs > 50) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_require_kvm(PROG);
	bench_start_hv(PROG);

	unsigned long n = create_guests(guests, 4);
	if (!n) {
		bench_keep_log();
		return 1;
	}
	bench_sleep_ns(1000000000ull);

	double kx[3][50], hv[3][50], idle[50];
	for (unsigned long i = 0; i < runs; i++) {
		uint64_t h0 = bench_task_cpu_ns(bench_hv.pid), t0 = bench_now_ns();

		bench_sleep_ns(secs * 1000000000ull);
		idle[i] = 100.0 * (double)(bench_task_cpu_ns(bench_hv.pid) - h0) / (double)(bench_now_ns() - t0);
		printf("run %lu: kxen-hv alone %.2f%% of one CPU\n", i + 1, idle[i]);
		for (int m = 0; m < 3; m++) {
			struct run r;
			int rc = run_kxtop(m == 0, m == 2, (unsigned)secs, &r);

			if (rc < 0 || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
				printf("kxtop %s failed (rc %d, status 0x%x)\n", mode_names[m], rc, r.status);
				bench_keep_log();
				return 1;
			}
			kx[m][i] = r.kxtop_pct;
			hv[m][i] = r.hv_pct;
			printf("run %lu: kxtop %-15s %.2f%% of one CPU over %.1f s; kxen-hv meanwhile %.2f%%",
			       i + 1, mode_names[m], r.kxtop_pct, r.wall_s, r.hv_pct);
			if (m)
				printf("; %lu bytes drawn to the pty\n", r.bytes);
			else
				printf(" (stdout to /dev/null)\n");
		}
	}
	double idle_med = bench_quantile(idle, runs, 0.5);
	double med[3], hv_med[3];
	for (int m = 0; m < 3; m++) {
		med[m] = bench_quantile(kx[m], runs, 0.5);
		hv_med[m] = bench_quantile(hv[m], runs, 0.5);
		printf("median of %lu: kxtop %-15s %.2f%% of one CPU (bar: under 5%%); kxen-hv %.2f%% "
		       "(%.2f%% with no kxtop)\n", runs, mode_names[m], med[m], hv_med[m], idle_med);
	}
	printf("RESULT bench_kxtop guests=%lu secs=%lu runs=%lu batch_pct=%.2f interactive_pct=%.2f "
	       "interactive_vcpus_pct=%.2f hv_idle_pct=%.2f hv_batch_pct=%.2f hv_interactive_pct=%.2f "
	       "hv_interactive_vcpus_pct=%.2f\n", n, secs, runs, med[0], med[1], med[2], idle_med,
	       hv_med[0], hv_med[1], hv_med[2]);
	return 0;
}
