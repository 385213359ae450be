/* bench_xenbus: xenstore round trips from inside a guest (xs-bench) against a private kxenstored, vs a null hypercall in the same run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include "common.h"
#include "kxen/kxbuild.h"

#define PROG "bench_xenbus"
#define POLL_NS 1000000ull   /* log polling only finds results; it times nothing */
#define WAIT_NS (120ull * 1000000000ull)


static int build(const char *name, const char *cmdline, int paused, struct kxbuild_result *res)
{
	struct kxbuild_config cfg = {
		.name = name, .mem_bytes = 8ul << 20, .vcpus = 1, .kernel = bench_guest_kernel(),
		.cmdline = cmdline, .on_poweroff = KXCTL_ACTION_DESTROY,
		.on_reboot = KXCTL_ACTION_DESTROY, .on_crash = KXCTL_ACTION_PRESERVE, .paused = paused,
	};
	char err[KXBUILD_ERR_MAX];
	int rc = kxbuild_domain(bench_hv.h, &cfg, res, err, sizeof(err));

	if (rc < 0)
		printf("%s: cannot start %s (%s): %s\n", PROG, name, cmdline, err);
	return rc;
}

/* Introduces the domain as the toolstack does and gives it a data/ directory it owns. */
static int introduce(struct xs_handle *xs, const struct kxbuild_result *res)
{
	struct xs_permissions home[2] = { { 0, XS_PERM_NONE }, { res->domid, XS_PERM_READ } };
	struct xs_permissions own[1] = { { res->domid, XS_PERM_NONE } };
	char p[96];

	if (!xs_introduce_domain(xs, res->domid, res->store_pfn, res->store_evtchn))
		return -errno;
	snprintf(p, sizeof(p), "/local/domain/%u", res->domid);
	if (!xs_mkdir(xs, XBT_NULL, p) || !xs_set_permissions(xs, XBT_NULL, p, home, 2))
		return -errno;
	snprintf(p, sizeof(p), "/local/domain/%u/data", res->domid);
	if (!xs_mkdir(xs, XBT_NULL, p) || !xs_set_permissions(xs, XBT_NULL, p, own, 1))
		return -errno;
	return 0;
}

struct results {
	uint32_t dom;
	double read_us, write_us, tx_us, read_ops, write_ops, tx_ops;
	int done, failed;
};

static int on_line(const char *line, void *arg)
{
	struct results *r = arg;
	char pfx[32];
	unsigned long ops, med;
	char what[32];

	snprintf(pfx, sizeof(pfx), "(d%u) ", r->dom);
	if (strncmp(line, pfx, strlen(pfx)) != 0)
		return 0;
	line += strlen(pfx);
	if (sscanf(line, "RESULT xs_%31[a-z]_ops_per_s=%lu xs_%*[a-z]_median_us=%lu", what, &ops, &med) == 3) {
		if (!strcmp(what, "read")) { r->read_ops = (double)ops; r->read_us = (double)med; }
		if (!strcmp(what, "write")) { r->write_ops = (double)ops; r->write_us = (double)med; }
		if (!strcmp(what, "transaction")) { r->tx_ops = (double)ops; r->tx_us = (double)med; }
	}
	if (!strncmp(line, "xs-bench: OK", 12))
		r->done = 1;
	if (!strncmp(line, "xs-bench: FAIL", 14) || !strncmp(line, "panic", 5))
		r->failed = 1;
	return r->done || r->failed;
}

static void run_xs_guest(struct xs_handle *xs, unsigned long n, struct results *r)
{
	struct bench_log log = { 0 };
	struct kxbuild_result res;
	char cmd[64];
	uint64_t t0;
	int rc;

	bench_log_skip(bench_hv.h, &log);
	snprintf(cmd, sizeof(cmd), "xs-bench %lu", n);
	if (build("xsbench", cmd, 1, &res) < 0)
		exit(1);
	if ((rc = introduce(xs, &res)) < 0 || (rc = kxctrl_domain_unpause(bench_hv.h, res.domid)) < 0) {
		printf("%s: introduce/unpause dom%u: %s\n", PROG, res.domid, strerror(-rc));
		bench_keep_log();
		exit(1);
	}
	memset(r, 0, sizeof(*r));
	r->dom = res.domid;
	t0 = bench_now_ns();
	while (!r->done && !r->failed && bench_now_ns() - t0 < WAIT_NS) {
		if ((rc = bench_log_poll(bench_hv.h, &log, on_line, r)) < 0)
			break;
		if (!r->done && !r->failed)
			bench_sleep_ns(POLL_NS);
	}
	if (!r->done || !r->read_ops) {
		printf("%s: xs-bench in dom%u %s (log kept in %s)\n", PROG, res.domid,
		       r->failed ? "failed" : "gave no result", bench_hv.dir);
		bench_keep_log();
		exit(1);
	}
	/* The guest powers off and is destroyed by itself; kxenstored releases it on kxen-hv's domain event. */
}

static double run_hypercall_guest(void)
{
	struct bench_log log = { 0 };
	struct kxbuild_result res;
	char line[512];
	unsigned long calls, ns;
	int rc;

	bench_log_skip(bench_hv.h, &log);
	if (build("hcbench", "hypercall-bench 20000", 0, &res) < 0)
		exit(1);
	rc = bench_log_wait_dom(bench_hv.h, &log, res.domid, "ns/call", line, sizeof(line), WAIT_NS, POLL_NS);
	if (rc < 0 || sscanf(strstr(line, "hypercall-bench:"), "hypercall-bench: %lu calls, %lu ns/call",
			     &calls, &ns) != 2) {
		printf("%s: hypercall-bench gave no result\n", PROG);
		exit(1);
	}
	return (double)ns;
}

static double median(double *v, size_t n)
{
	return bench_quantile(v, n, 0.5);
}

int main(int argc, char **argv)
{
	unsigned long n = 2000, runs = 3;
	struct xs_handle *xs;
	int c;

	while ((c = getopt(argc, argv, "n:r:h")) != -1) {
		switch (c) {
		case 'n': n = bench_parse_count(PROG, "-n", optarg); break;
		case 'r': runs = bench_parse_count(PROG, "-r", optarg); break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: %s [-n OPS per kind (2000)] [-r RUNS (3)]\n", PROG);
			return c == 'h' ? 0 : 2;
		}
	}
	if (runs > 20)
		runs = 20;
	bench_require_kvm(PROG);
	bench_start_hv(PROG);
	bench_start_xenstored(PROG);
	xs = xs_open(0);
	if (!xs) {
		printf("%s: xs_open %s: %s\n", PROG, getenv("XENSTORED_PATH"), strerror(errno));
		return 1;
	}

	double hc[20], rd[20], wr[20], tx[20], rdo[20], wro[20], txo[20];

	for (unsigned long i = 0; i < runs; i++) {
		struct results r;

		hc[i] = run_hypercall_guest();
		run_xs_guest(xs, n, &r);
		rd[i] = r.read_us; wr[i] = r.write_us; tx[i] = r.tx_us;
		rdo[i] = r.read_ops; wro[i] = r.write_ops; txo[i] = r.tx_ops;
		printf("%s: run %lu: null hypercall %.1f us; read %.0f us (%.0f ops/s), write %.0f us "
		       "(%.0f ops/s), transaction %.0f us (%.0f ops/s)\n", PROG, i + 1, hc[i] / 1000,
		       rd[i], rdo[i], wr[i], wro[i], tx[i], txo[i]);
	}
	double h = median(hc, runs) / 1000.0;
	double mr = median(rd, runs), mw = median(wr, runs), mt = median(tx, runs);

	printf("%s: medians of %lu runs of %lu ops each, from inside a guest:\n", PROG, runs, n);
	printf("  null hypercall (baseline, same run)  %8.1f us\n", h);
	printf("  xenstore read round trip             %8.0f us = %.1fx a hypercall, %.0f ops/s\n", mr, mr / h, median(rdo, runs));
	printf("  xenstore write round trip            %8.0f us = %.1fx a hypercall, %.0f ops/s\n", mw, mw / h, median(wro, runs));
	printf("  transaction (start, write, commit)   %8.0f us = %.1fx a hypercall, %.0f ops/s\n", mt, mt / h, median(txo, runs));
	printf("RESULT xs_read_us=%.0f xs_read_ratio=%.2f xs_write_us=%.0f xs_tx_us=%.0f xs_read_ops=%.0f\n",
	       mr, mr / h, mw, mt, median(rdo, runs));
	xs_close(xs);
	return 0;
}
