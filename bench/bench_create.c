/* bench_create: domain start-up latency (create -> first guest line -> gone after poweroff) under a private kxen-hv. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "kxbuild.h"

#define PROG "bench_create"
#define RUN_TIMEOUT_NS (10ull * 1000000000ull)

/* What one run saw, in ns since the create started (0: not seen). */
struct run {
	uint64_t t_created;   /* kxbuild_domain returned / kxl exited */
	uint64_t t_first;     /* first "(dN) " line observed */
	uint64_t t_shutdown;  /* "(XEN) domain N ... shut down" observed */
	uint64_t t_gone;      /* kxctrl_domain_info says -ESRCH */
};

/* Log-line scanner state for one run: learns the domid from the creation line (kxl does not tell us early). */
struct scan {
	const char *name;
	int64_t domid;
	uint64_t t0, *t_first, *t_shutdown;
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
		snprintf(s->first_line, sizeof(s->first_line), "%s", line);
	}
	snprintf(pfx, sizeof(pfx), "(XEN) domain %u ", (unsigned)s->domid);
	if (!*s->t_shutdown && strncmp(line, pfx, strlen(pfx)) == 0 && strstr(line, ") shut down"))
		*s->t_shutdown = bench_now_ns() - s->t0;
	return 0;
}

/* Writes the domain XML kxl reads (the schema in xml/domain.rng). */
static int write_xml(const char *path, const char *name, unsigned mib)
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

static pid_t spawn_kxl(const char *kxl, const char *xml)
{
	pid_t pid = fork();

	if (pid == 0) {
		setenv("KXEN_HV_SOCKET", bench_hv.sock, 1);
		/* kxl's "Started domain" chatter would interleave with our table. */
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execl(kxl, "kxl", "create", xml, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * One create/boot/poweroff cycle. Returns 0, or -errno with a message in err.
 * The loop polls the log (and, once the domid is known, domain_info) every
 * poll_ns; *iters and *loop_ns accumulate whole loop iterations and their
 * time, so the caller can report the real polling period.
 */
static int one_run(kxctrl *h, int use_kxl, const char *kxl, unsigned mib, unsigned idx,
                   uint64_t poll_ns, struct run *r, uint64_t *iters, uint64_t *loop_ns,
                   char *err, size_t errlen)
{
	struct bench_log log = { 0 };
	char name[32], xml[PATH_MAX];
	struct scan s = { .name = name, .domid = -1, .t_first = &r->t_first, .t_shutdown = &r->t_shutdown };
	pid_t kpid = -1;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "bc%u", idx);
	if ((rc = bench_log_skip(h, &log)) < 0) {
		snprintf(err, errlen, "log read: %s", strerror(-rc));
		return rc;
	}
	if (use_kxl) {
		snprintf(xml, sizeof(xml), "%s", bench_hv.scratch);
		if ((rc = write_xml(xml, name, mib)) < 0) {
			snprintf(err, errlen, "write the domain XML: %s", strerror(-rc));
			return rc;
		}
	}

	s.t0 = bench_now_ns();
	if (use_kxl) {
		kpid = spawn_kxl(kxl, xml);
		if (kpid < 0) {
			snprintf(err, errlen, "fork: %s", strerror(errno));
			return -errno;
		}
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
			return rc;
		}
		r->t_created = bench_now_ns() - s.t0;
		s.domid = res.domid;
	}

	uint64_t prev = 0;

	for (;;) {
		uint64_t t = bench_now_ns(), now = t - s.t0;

		/* Only whole polling iterations count toward the granularity, not the build before them. */
		if (prev) {
			*loop_ns += t - prev;
			++*iters;
		}
		prev = t;
		if (kpid > 0) {
			int st;
			if (waitpid(kpid, &st, WNOHANG) == kpid) {
				kpid = -1;
				r->t_created = bench_now_ns() - s.t0;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					snprintf(err, errlen, "kxl create exited with status %#x", st);
					return -EIO;
				}
			}
		}
		rc = bench_log_poll(h, &log, scan_line, &s);
		if (rc < 0) {
			snprintf(err, errlen, "log read: %s", strerror(-rc));
			return rc;
		}
		/* Gone only counts after the guest spoke: before that it may not exist yet. */
		if (s.domid >= 0 && r->t_first && kpid < 0) {
			struct kxctl_dominfo info;
			rc = kxctrl_domain_info(h, (uint32_t)s.domid, &info);
			if (rc == -ESRCH) {
				r->t_gone = bench_now_ns() - s.t0;
				return 0;
			}
			if (rc < 0) {
				snprintf(err, errlen, "domain_info: %s", strerror(-rc));
				return rc;
			}
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
			return -ETIMEDOUT;
		}
		bench_sleep_ns(poll_ns);
	}
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
                  unsigned long poll_us, unsigned *name_seq)
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
	if (one_run(bench_hv.h, use_kxl, kxl, (unsigned)mib, (*name_seq)++, poll_us * 1000, &r[0], &iters,
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
		if (one_run(bench_hv.h, use_kxl, kxl, (unsigned)mib, (*name_seq)++, poll_us * 1000, &r[i],
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

	printf("  polling granularity: sleep %lu us, measured %.1f us per poll iteration "
	       "(log read + domain_info over the control socket)\n",
	       poll_us, iters ? (double)loop_ns / (double)iters / 1000.0 : 0.0);
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
	       "first_line_p90_ms=%.3f gone_median_ms=%.3f gone_p90_ms=%.3f poll_us=%.1f\n",
	       method, runs, mib, f50, f90, g50, g90, iters ? (double)loop_ns / (double)iters / 1000.0 : 0.0);
out:
	free(r);
	free(v);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-n RUNS] [-m MIB] [-p POLL_US] [-b]\n"
	        "Times domain creation (libkxbuild in process, then `kxl create` if built): create -> first guest log line -> domain gone after poweroff.\n"
	        "  -n RUNS     number of create/poweroff cycles (default 50)\n"
	        "  -m MIB      guest memory (default 4)\n"
	        "  -p POLL_US  sleep between polls of the log (default 50)\n"
	        "  -b          only libkxbuild, even if kxl is built (default: both)\n", PROG);
}

int main(int argc, char **argv)
{
	unsigned long runs = 50, mib = 4, poll_us = 50;
	int force_builder = 0, c, have_kxl;
	char kxl[PATH_MAX];

	while ((c = getopt(argc, argv, "n:m:p:bh")) != -1) {
		switch (c) {
		case 'n': runs = bench_parse_count(PROG, "-n", optarg); break;
		case 'm': mib = bench_parse_count(PROG, "-m", optarg); break;
		case 'p': poll_us = bench_parse_count(PROG, "-p", optarg); break;
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
	bench_path(kxl, sizeof(kxl), "dom0-tools/kxl/kxl");
	have_kxl = !force_builder && access(kxl, X_OK) == 0;
	if (!force_builder && !have_kxl)
		printf("%s: %s is not built: measuring libkxbuild only\n", PROG, kxl);

	/* libkxbuild first: the floor of what any toolstack can do; then kxl, the real command. */
	unsigned seq = 0;
	int rc = series(0, kxl, runs, mib, poll_us, &seq);
	if (rc != 0) {
		bench_keep_log();
		return 1;
	}
	if (have_kxl && series(1, kxl, runs, mib, poll_us, &seq) != 0) {
		bench_keep_log();
		return 1;
	}
	return 0;
}
