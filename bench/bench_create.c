/* bench_create: domain start-up latency (create -> first guest line -> gone after poweroff) under a private kxen-hv. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "kxen/kxbuild.h"

#define PROG "bench_create"
#define RUN_TIMEOUT_NS (10ull * 1000000000ull)

/* What one run saw, in ns since the create started (0: not seen). */
struct run {
	uint64_t t_created;   /* kxbuild_domain returned / kxl exited */
	uint64_t t_first;     /* first "(dN) " line observed */
	uint64_t t_shutdown;  /* "(XEN) domain N ... shut down" observed */
	uint64_t t_gone;      /* "(XEN) domain N (name) destroyed" observed */
};

/* Log-line scanner state for one run: learns the domid from the creation line (kxl does not tell us early). */
struct scan {
	const char *name;
	int64_t domid;
	uint64_t t0, *t_first, *t_shutdown, t_gone;
	char first_line[256];
};

static int scan_line(const char *line, void *arg)
{
	struct scan *s = arg;
	unsigned id;
	char name[80];

	if (s->domid < 0 && sscanf(line, "(XEN) domain %u (%79[^)]) created", &id, name) == 2 &&
	    strcmp(name, s->name) == 0) {
		s->domid = id;
		return 0;
	}
	if (s->domid < 0)
		return 0;
	char pfx[32];
	snprintf(pfx, sizeof(pfx), "(d%u) ", (unsigned)s->domid);
	if (!*s->t_first && strncmp(line, pfx, strlen(pfx)) == 0) {
		*s->t_first = bench_now_ns() - s->t0;
		snprintf(s->first_line, sizeof(s->first_line), "%.255s", line);
	}
	snprintf(pfx, sizeof(pfx), "(XEN) domain %u ", (unsigned)s->domid);
	if (!*s->t_shutdown && strncmp(line, pfx, strlen(pfx)) == 0 && strstr(line, ") shut down"))
		*s->t_shutdown = bench_now_ns() - s->t0;
	/* kxen-hv logs "destroyed" after the domain has left its table. */
	if (!s->t_gone && *s->t_first && strncmp(line, pfx, strlen(pfx)) == 0 &&
	    strstr(line, ") destroyed"))
		s->t_gone = bench_now_ns() - s->t0;
	return 0;
}

/* Follows kxen-hv's log file from its current end, woken by inotify. */
struct follow {
	int fd, ino;
	char part[4096];
	size_t partlen;
};

static int follow_open(struct follow *f, const char *path)
{
	f->partlen = 0;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	f->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (f->ino < 0 || inotify_add_watch(f->ino, path, IN_MODIFY) < 0 ||
	    lseek(f->fd, 0, SEEK_END) < 0) {
		int e = -errno;
		close(f->fd);
		if (f->ino >= 0)
			close(f->ino);
		return e;
	}
	return 0;
}

static void follow_close(struct follow *f)
{
	close(f->fd);
	close(f->ino);
}

/* Reads all new text, calling fn for each complete line. */
static int follow_read(struct follow *f, int (*fn)(const char *line, void *arg), void *arg)
{
	char buf[16384], ev[4096];
	ssize_t n;

	while (read(f->ino, ev, sizeof(ev)) > 0)
		;   /* drain: the file itself says what is new */
	while ((n = read(f->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (f->partlen < sizeof(f->part) - 1)
					f->part[f->partlen++] = buf[i];
				continue;
			}
			f->part[f->partlen] = 0;
			f->partlen = 0;
			fn(f->part, arg);
		}
	}
	return n < 0 ? -errno : 0;
}

/*
 * One create/boot/poweroff cycle. Returns 0, or -errno with a message in err.
 * It follows kxen-hv's log file with inotify, so timing puts no load on the
 * control socket that kxl is using; *iters and *loop_ns count the wake-ups
 * and the time between them.
 */
static int one_run(kxctrl *h, int use_kxl, const char *kxl, unsigned mib, unsigned idx,
                   struct run *r, uint64_t *iters, uint64_t *loop_ns,
                   char *err, size_t errlen)
{
	struct follow follow, *fw = &follow;
	int kpidfd = -1;
	char name[32], xml[PATH_MAX];
	struct scan s = { .name = name, .domid = -1, .t_first = &r->t_first, .t_shutdown = &r->t_shutdown };
	pid_t kpid = -1;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "bc%u", idx);
	if ((rc = follow_open(fw, bench_hv.log)) < 0) {
		snprintf(err, errlen, "follow %s: %s", bench_hv.log, strerror(-rc));
		return rc;
	}
	if (use_kxl) {
		snprintf(xml, sizeof(xml), "%s", bench_hv.scratch);
		if ((rc = bench_write_hello_xml(xml, name, mib)) < 0) {
			snprintf(err, errlen, "write the domain XML: %s", strerror(-rc));
			goto out;
		}
	}

	s.t0 = bench_now_ns();
	if (use_kxl) {
		kpid = bench_spawn_kxl(kxl, NULL, xml);
		if (kpid < 0) {
			snprintf(err, errlen, "fork: %s", strerror(errno));
			rc = -errno;
			goto out;
		}
		kpidfd = (int)syscall(SYS_pidfd_open, kpid, 0);
	} else {
		struct kxbuild_config cfg = {
			.name = name, .mem_bytes = (uint64_t)mib << 20, .vcpus = 1,
			.kernel = bench_guest_kernel(), .cmdline = "hello",
			.on_poweroff = KXCTL_ACTION_DESTROY, .on_reboot = KXCTL_ACTION_DESTROY,
			.on_crash = KXCTL_ACTION_DESTROY,
		};
		struct kxbuild_result res;
		char berr[KXBUILD_ERR_MAX];

		rc = kxbuild_domain(h, &cfg, &res, berr, sizeof(berr));
		if (rc < 0) {
			snprintf(err, errlen, "kxbuild_domain: %s", berr);
			goto out;
		}
		r->t_created = bench_now_ns() - s.t0;
		s.domid = res.domid;
	}

	/* Waits on inotify for new log text: no control-socket load while timing. */
	for (;;) {
		uint64_t t = bench_now_ns(), now = t - s.t0;
		struct pollfd pf[2] = { { .fd = fw->ino, .events = POLLIN }, { .fd = -1 } };

		if (kpid > 0) {
			int st;
			if (waitpid(kpid, &st, WNOHANG) == kpid) {
				kpid = -1;
				r->t_created = bench_now_ns() - s.t0;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					snprintf(err, errlen, "kxl create exited with status %#x", st);
					rc = -EIO;
					goto out;
				}
			}
		}
		rc = follow_read(fw, scan_line, &s);
		if (rc < 0) {
			snprintf(err, errlen, "reading %s: %s", bench_hv.log, strerror(-rc));
			goto out;
		}
		if (s.t_gone && kpid < 0) {
			r->t_gone = s.t_gone;
			rc = 0;
			goto out;
		}
		if (now > RUN_TIMEOUT_NS) {
			snprintf(err, errlen, "timed out after %llu s (domid %lld, first line %s)",
			         RUN_TIMEOUT_NS / 1000000000ull, (long long)s.domid,
			         r->t_first ? "seen" : "not seen");
			if (kpid > 0) {
				kill(kpid, SIGKILL);
				waitpid(kpid, NULL, 0);
			}
			if (s.domid >= 0)
				kxctrl_domain_destroy(h, (uint32_t)s.domid);
			rc = -ETIMEDOUT;
			goto out;
		}
		if (kpid > 0) {
			pf[1].fd = kpidfd;
			pf[1].events = POLLIN;
		}
		poll(pf, 2, 100);
		++*iters;
		*loop_ns += bench_now_ns() - t;
	}
out:
	if (kpidfd >= 0)
		close(kpidfd);
	follow_close(fw);
	return rc;
}

static void summary(const char *label, double *v, size_t n)
{
	double mn = bench_quantile(v, n, 0), med = bench_quantile(v, n, 0.5);
	double p90 = bench_quantile(v, n, 0.9), mx = v[n - 1];

	printf("%-26s min %8.3f  median %8.3f  p90 %8.3f  max %8.3f  ms\n", label, mn, med, p90, mx);
}

/*
 * One timed series with one method (after an untimed warm-up run: page
 * cache, first-use allocations in kxen-hv). Returns 0, 1 if the warm-up
 * failed (the method does not work here), -1 if a timed run failed.
 */
static int series(int use_kxl, const char *kxl, unsigned long runs, unsigned long mib,
                  unsigned *name_seq)
{
	struct run *r = calloc(runs, sizeof(*r));
	double *v = calloc(runs, sizeof(*v));
	uint64_t iters = 0, loop_ns = 0;
	const char *method = use_kxl ? "kxl" : "libkxbuild";
	char err[512];
	int ret = 0;

	if (!r || !v) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(1);
	}
	if (one_run(bench_hv.h, use_kxl, kxl, (unsigned)mib, (*name_seq)++, &r[0], &iters,
	            &loop_ns, err, sizeof(err)) < 0) {
		printf("%s: %s: warm-up run failed: %s\n", PROG, method, err);
		ret = 1;
		goto out;
	}
	printf("%s: method %s, guest hello, %lu MiB, %lu runs\n", PROG,
	       use_kxl ? "kxl create (fork+exec of kxl per run)" : "kxbuild_domain (libkxbuild, in process)",
	       mib, runs);
	iters = loop_ns = 0;
	for (unsigned long i = 0; i < runs; i++) {
		if (one_run(bench_hv.h, use_kxl, kxl, (unsigned)mib, (*name_seq)++, &r[i],
		            &iters, &loop_ns, err, sizeof(err)) < 0) {
			printf("%s: %s: run %lu failed: %s\n", PROG, method, i + 1, err);
			bench_keep_log();
			ret = -1;
			runs = i;
			break;
		}
	}
	if (runs == 0)
		goto out;

	printf("  waiting: inotify on kxen-hv's log file (no control-socket load while timing), "
	       "%.1f us per wake-up on average\n",
	       iters ? (double)loop_ns / (double)iters / 1000.0 : 0.0);
	for (unsigned long i = 0; i < runs; i++) v[i] = (double)r[i].t_created / 1e6;
	summary(use_kxl ? "  create (kxl exited)" : "  create (build returned)", v, runs);
	for (unsigned long i = 0; i < runs; i++) v[i] = (double)r[i].t_first / 1e6;
	summary("  first guest line", v, runs);
	double f50 = bench_quantile(v, runs, 0.5), f90 = bench_quantile(v, runs, 0.9);
	unsigned long nsd = 0;
	for (unsigned long i = 0; i < runs; i++)
		if (r[i].t_shutdown)
			v[nsd++] = (double)(r[i].t_gone - r[i].t_shutdown) / 1e6;
	if (nsd)
		summary("  shutdown -> gone", v, nsd);
	for (unsigned long i = 0; i < runs; i++) v[i] = (double)r[i].t_gone / 1e6;
	summary("  gone after poweroff", v, runs);
	double g50 = bench_quantile(v, runs, 0.5), g90 = bench_quantile(v, runs, 0.9);

	/* Parseable one-liner: key=value, milliseconds. */
	printf("RESULT bench_create method=%s runs=%lu mem_mib=%lu first_line_median_ms=%.3f "
	       "first_line_p90_ms=%.3f gone_median_ms=%.3f gone_p90_ms=%.3f wake_us=%.1f\n",
	       method, runs, mib, f50, f90, g50, g90, iters ? (double)loop_ns / (double)iters / 1000.0 : 0.0);
out:
	free(r);
	free(v);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-n RUNS] [-m MIB] [-b]\n"
	        "Times domain creation (libkxbuild in process, then `kxl create` if built): create -> first guest log line -> domain gone after poweroff.\n"
	        "  -n RUNS     number of create/poweroff cycles (default 50)\n"
	        "  -m MIB      guest memory (default 4)\n"
	        "  -b          only libkxbuild, even if kxl is built (default: both)\n", PROG);
}

int main(int argc, char **argv)
{
	unsigned long runs = 50, mib = 4;
	int force_builder = 0, c, have_kxl;
	char kxl[PATH_MAX];

	while ((c = getopt(argc, argv, "n:m:bh")) != -1) {
		switch (c) {
		case 'n': runs = bench_parse_count(PROG, "-n", optarg); break;
		case 'm': mib = bench_parse_count(PROG, "-m", optarg); break;
		case 'b': force_builder = 1; break;
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
	bench_start_xenstored(PROG);   /* kxl create introduces domains */
	bench_path(kxl, sizeof(kxl), "dom0-tools/kxl/kxl");
	have_kxl = !force_builder && access(kxl, X_OK) == 0;
	if (!force_builder && !have_kxl)
		printf("%s: %s is not built: measuring libkxbuild only\n", PROG, kxl);

	/* libkxbuild first: the floor of what any toolstack can do; then kxl, the real command. */
	unsigned seq = 0;
	int rc = series(0, kxl, runs, mib, &seq);
	if (rc != 0) {
		bench_keep_log();
		return 1;
	}
	if (have_kxl && series(1, kxl, runs, mib, &seq) != 0) {
		bench_keep_log();
		return 1;
	}
	return 0;
}
