/* bench_phases: `kxl create -F hello` as a whole command, phase by phase, against bench/kvm_min in the same run. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define PROG "bench_phases"
#define MAX_PHASES 24

/*
 * kxl writes "NAME NS" lines to $KXL_PHASES as each phase ends (kxl_phase in
 * dom0-tools/kxl). A phase's time is from the previous line (for the first,
 * from the fork) to its own; "exit" is from the last line to waitpid.
 * Some phases depend on a race (whether the monitor sees the domain shut
 * down or already destroyed by kxen-hv): each is summarised over the runs
 * that had it, and says in how many.
 */
struct phase {
	char name[32];
	double *ms;          /* the runs that had this phase, in order */
	unsigned n;
};

static struct phase phases[MAX_PHASES];
static unsigned nphases;

static void phase_add(const char *name, unsigned runs, double ms)
{
	struct phase *p = NULL;

	for (unsigned i = 0; i < nphases && !p; i++)
		if (!strcmp(phases[i].name, name))
			p = &phases[i];
	if (!p) {
		if (nphases == MAX_PHASES)
			return;
		p = &phases[nphases++];
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->ms = calloc(runs, sizeof(double));
	}
	if (p->ms && p->n < runs)
		p->ms[p->n++] = ms;
}

/* Adds one run's phase file to the table (of runs runs). */
static int read_phases(const char *file, unsigned runs, uint64_t t0, uint64_t t1)
{
	FILE *f = fopen(file, "r");
	char name[32];
	unsigned long long ns;
	uint64_t prev = t0;

	if (!f)
		return errno == ENOENT ? 0 : -1;   /* a kxl without phase reports (an older build): totals only */
	while (fscanf(f, "%31s %llu", name, &ns) == 2) {
		phase_add(name, runs, (double)(ns - prev) / 1e6);
		prev = ns;
	}
	fclose(f);
	phase_add("exit", runs, (double)(t1 - prev) / 1e6);
	return unlink(file);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-p RUNS] [-m MIB]\n"
	        "Times `kxl create -F` of the hello guest phase by phase, interleaved with bench/kvm_min.\n"
	        "  -p RUNS  runs of each (default 30)\n"
	        "  -m MIB   guest memory (default 4)\n", PROG);
}

int main(int argc, char **argv)
{
	unsigned long runs = 30, mib = 4;
	char kvm_min[PATH_MAX], kxl[PATH_MAX], xml[PATH_MAX], pfile[PATH_MAX];
	uint64_t t0, t1;
	int c;

	while ((c = getopt(argc, argv, "p:m:h")) != -1) {
		switch (c) {
		case 'p': runs = bench_parse_count(PROG, "-p", optarg); break;
		case 'm': mib = bench_parse_count(PROG, "-m", optarg); break;
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
	bench_path(kvm_min, sizeof(kvm_min), "bench/kvm_min");
	bench_path(kxl, sizeof(kxl), "dom0-tools/kxl/kxl");
	if (access(kxl, X_OK)) {
		printf("%s: %s is not built\n", PROG, kxl);
		return 1;
	}
	bench_start_hv(PROG);
	bench_start_xenstored(PROG);
	snprintf(xml, sizeof(xml), "%s/hello.xml", bench_hv.dir);
	snprintf(pfile, sizeof(pfile), "%s/phases", bench_hv.dir);
	if (bench_write_hello_xml(xml, "hello-F", (unsigned)mib) < 0)
		return 1;
	setenv("KXL_PHASES", pfile, 1);

	double *whole = calloc(runs, sizeof(double)), *floor_ms = calloc(runs, sizeof(double));
	if (!whole || !floor_ms)
		return 1;
	/* One untimed run of each warms the page cache and kxen-hv's allocator. */
	if (bench_whole_run(PROG, kvm_min, NULL, NULL, &t0, &t1) < 0 || bench_whole_run(PROG, kvm_min, kxl, xml, &t0, &t1) < 0) {
		bench_keep_log();
		return 1;
	}
	unlink(pfile);
	/* Interleaved, so a change in the host's load hits both series alike. */
	for (unsigned i = 0; i < runs; i++) {
		if ((floor_ms[i] = bench_whole_run(PROG, kvm_min, NULL, NULL, &t0, &t1)) < 0 ||
		    (whole[i] = bench_whole_run(PROG, kvm_min, kxl, xml, &t0, &t1)) < 0 ||
		    read_phases(pfile, (unsigned)runs, t0, t1) < 0) {
			bench_keep_log();
			return 1;
		}
	}
	double fmed = bench_quantile(floor_ms, runs, 0.5), wmed = bench_quantile(whole, runs, 0.5);
	/*
	 * The minimum beside the median: on a shared host the load moves both
	 * series' medians by more than the changes being measured, and each
	 * series' best run is the least disturbed one.
	 */
	double fmin = bench_quantile(floor_ms, runs, 0), wmin = bench_quantile(whole, runs, 0);
	printf("minimal KVM program (bench/kvm_min, %lu runs): %.2f ms median, %.2f min  [floor]\n", runs, fmed,
	       fmin);
	printf("kxl create -F hello (%lu MiB, %lu runs): %.2f ms median = %.2fx floor; %.2f ms min = %.2fx min\n",
	       mib, runs, wmed, wmed / fmed, wmin, wmin / fmin);
	printf("  %-14s %9s %9s %9s %8s  %s\n", "phase (ends)", "median", "min", "p90", "x floor", "runs");
	for (unsigned i = 0; i < nphases; i++) {
		struct phase *p = &phases[i];
		double med = bench_quantile(p->ms, p->n, 0.5);
		printf("  %-14s %6.2f ms %6.2f ms %6.2f ms %7.2fx  %u\n", p->name, med, bench_quantile(p->ms, p->n, 0),
		       bench_quantile(p->ms, p->n, 0.9), med / fmed, p->n);
	}
	printf("RESULT bench_phases kvm_min_ms=%.2f kxl_create_F_ms=%.2f kxl_create_F_ratio=%.2f kvm_min_min_ms=%.2f "
	       "kxl_create_F_min_ms=%.2f kxl_create_F_min_ratio=%.2f", fmed, wmed, wmed / fmed, fmin, wmin,
	       wmin / fmin);
	for (unsigned i = 0; i < nphases; i++)
		printf(" %s_ms=%.2f", phases[i].name, bench_quantile(phases[i].ms, phases[i].n, 0.5));
	printf("\n");
	return 0;
}
