/* bench_xenstore: kxenstored throughput (READ/WRITE/DIRECTORY, 1/10/100 clients), transactions under contention, and cost per op with 10 vs 1000 introduced domains. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>
#include <xenstore.h>

#include "common.h"
#include "kxen/kxbuild.h"

#define PROG "bench_xenstore"

static char xs_sock[512];
static pid_t xs_pid;
static double run_s = 1.0;

static long xs_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)xs_pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static int dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(xs_sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", PROG, xs_sock);
		exit(1);
	}
	memcpy(sa.sun_path, xs_sock, strlen(xs_sock) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(PROG ": connect");
		exit(1);
	}
	return fd;
}

static int full_io(int fd, void *buf, size_t len, int wr)
{
	for (size_t n = 0; n < len;) {
		ssize_t r = wr ? write(fd, (char *)buf + n, len - n) : read(fd, (char *)buf + n, len - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	return 0;
}

/* One raw request and its reply; returns the reply type or -1. */
static int rpc(int fd, uint32_t type, uint32_t tx, const void *p, uint32_t len, char *out, uint32_t *olen)
{
	char msg[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg h = { type, 1, tx, len };

	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), p, len);
	if (full_io(fd, msg, sizeof(h) + len, 1) < 0 || full_io(fd, &h, sizeof(h), 0) < 0 ||
	    h.len > XENSTORE_PAYLOAD_MAX || full_io(fd, out, h.len, 0) < 0)
		return -1;
	out[h.len] = 0;
	if (olen)
		*olen = h.len;
	return (int)h.type;
}

struct load {
	pthread_t th;
	unsigned idx;
	uint32_t type;
	volatile int *go;
	uint64_t ops, errors, commits, conflicts;
};

static void *load_main(void *arg)
{
	struct load *l = arg;
	char req[128], out[XENSTORE_PAYLOAD_MAX + 1];
	int fd = dial();
	uint32_t len;

	while (!*l->go)
		;
	while (*l->go == 1) {
		if (l->type == XS_WRITE) {
			len = (uint32_t)snprintf(req, sizeof(req), "/bench/c%u/v", l->idx) + 1;
			memcpy(req + len, "value", 5);
			len += 5;
		} else if (l->type == XS_READ) {
			len = (uint32_t)snprintf(req, sizeof(req), "/bench/c%u/v", l->idx % 100) + 1;
		} else {
			len = (uint32_t)snprintf(req, sizeof(req), "/bench/dir") + 1;
		}
		if (rpc(fd, l->type, 0, req, len, out, NULL) != (int)l->type)
			l->errors++;
		l->ops++;
	}
	close(fd);
	return NULL;
}

/*
 * Runs fn in one thread per ls[i] (filled in by the caller), all released
 * together, for run_s seconds; joins them and returns the timed window in s.
 */
static double run_load(struct load *ls, unsigned clients, void *(*fn)(void *))
{
	volatile int go = 0;

	for (unsigned i = 0; i < clients; i++) {
		ls[i].go = &go;
		pthread_create(&ls[i].th, NULL, fn, &ls[i]);
	}
	bench_sleep_ns(50000000);
	uint64_t t0 = bench_now_ns();
	go = 1;
	bench_sleep_ns((uint64_t)(run_s * 1e9));
	go = 2;
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	for (unsigned i = 0; i < clients; i++)
		pthread_join(ls[i].th, NULL);
	return secs;
}

static double throughput(uint32_t type, unsigned clients, uint64_t *errors)
{
	struct load *ls = calloc(clients, sizeof(*ls));
	uint64_t ops = 0;

	*errors = 0;
	for (unsigned i = 0; i < clients; i++)
		ls[i] = (struct load){ .idx = i, .type = type };
	double secs = run_load(ls, clients, load_main);
	for (unsigned i = 0; i < clients; i++) {
		ops += ls[i].ops;
		*errors += ls[i].errors;
	}
	free(ls);
	return (double)ops / secs;
}

static void *txn_main(void *arg)
{
	struct load *l = arg;
	char out[XENSTORE_PAYLOAD_MAX + 1], req[64];
	int fd = dial();

	while (!*l->go)
		;
	while (*l->go == 1) {
		if (rpc(fd, XS_TRANSACTION_START, 0, "", 1, out, NULL) != XS_TRANSACTION_START) {
			l->errors++;
			continue;
		}
		uint32_t t = (uint32_t)atoi(out);
		rpc(fd, XS_READ, t, "/bench/counter", 15, out, NULL);
		unsigned v = (unsigned)atoi(out) + 1;
		uint32_t len = (uint32_t)snprintf(req, sizeof(req), "/bench/counter%c%u", 0, v);
		rpc(fd, XS_WRITE, t, req, len, out, NULL);
		int r = rpc(fd, XS_TRANSACTION_END, t, "T", 2, out, NULL);
		if (r == XS_TRANSACTION_END)
			l->commits++;
		else if (r == XS_ERROR && !strcmp(out, "EAGAIN"))
			l->conflicts++;
		else
			l->errors++;
	}
	close(fd);
	return NULL;
}

static void transactions(unsigned clients, double *commit_rate, double *conflict_pct)
{
	struct load *ls = calloc(clients, sizeof(*ls));
	uint64_t commits = 0, conflicts = 0;
	char out[64];
	int fd = dial();

	rpc(fd, XS_WRITE, 0, "/bench/counter\0" "0", 16, out, NULL);
	for (unsigned i = 0; i < clients; i++)
		ls[i] = (struct load){ .idx = i };
	double secs = run_load(ls, clients, txn_main);
	for (unsigned i = 0; i < clients; i++) {
		commits += ls[i].commits;
		conflicts += ls[i].conflicts;
	}
	rpc(fd, XS_READ, 0, "/bench/counter", 15, out, NULL);
	if ((uint64_t)atoll(out) != commits)
		printf("%s: WRONG: counter %s after %llu commits\n", PROG, out, (unsigned long long)commits);
	close(fd);
	free(ls);
	*commit_rate = (double)commits / secs;
	*conflict_pct = commits + conflicts ? 100.0 * (double)conflicts / (double)(commits + conflicts) : 0;
}

/* Median latency of READ and WRITE on random domains' nodes, one client. */
static void domain_latency(unsigned ndom, const uint32_t *ids, double *rd_us, double *wr_us)
{
	enum { N = 20000 };
	static double rs[N], ws[N];
	char req[128], out[XENSTORE_PAYLOAD_MAX + 1];
	int fd = dial();
	unsigned seed = 1;

	for (unsigned i = 0; i < N; i++) {
		uint32_t id = ids[rand_r(&seed) % ndom];
		uint32_t len = (uint32_t)snprintf(req, sizeof(req), "/local/domain/%u/device/vif/0/state", id) + 1;
		uint64_t t0 = bench_now_ns();
		rpc(fd, XS_READ, 0, req, len, out, NULL);
		uint64_t t1 = bench_now_ns();
		memcpy(req + len, "4", 1);
		rpc(fd, XS_WRITE, 0, req, len + 1, out, NULL);
		uint64_t t2 = bench_now_ns();
		rs[i] = (double)(t1 - t0) / 1e3;
		ws[i] = (double)(t2 - t1) / 1e3;
	}
	close(fd);
	*rd_us = bench_quantile(rs, N, 0.5);
	*wr_us = bench_quantile(ws, N, 0.5);
}

/* Builds paused guests and gives each ~30 nodes as the toolstack would, then INTRODUCEs it. */
static unsigned add_domains(struct xs_handle *xs, unsigned want, uint32_t *ids, unsigned have)
{
	static const char *keys[] = {
		"name", "domid", "vm", "memory/target", "memory/static-max", "control/shutdown",
		"control/platform-feature-multiprocessor-suspend", "console/ring-ref", "console/port",
		"console/type", "console/limit", "console/output", "device/vif/0/backend",
		"device/vif/0/backend-id", "device/vif/0/state", "device/vif/0/handle", "device/vif/0/mac",
		"device/vbd/51712/backend", "device/vbd/51712/backend-id", "device/vbd/51712/state",
		"device/vbd/51712/virtual-device", "device/vbd/51712/device-type", "data/a", "data/b",
		"cpu/0/availability", "store/port", "store/ring-ref", "image/os", "error", "serial/0/tty",
	};
	char err[KXBUILD_ERR_MAX], path[128], val[32];

	for (unsigned n = have; n < want; n++) {
		struct kxbuild_config cfg = { .mem_bytes = 4u << 20, .vcpus = 1, .paused = 1,
			.kernel = bench_guest_kernel(), .cmdline = "idle" };
		struct kxbuild_result res;
		snprintf(val, sizeof(val), "xsb%u", n);
		cfg.name = val;
		if (kxbuild_domain(bench_hv.h, &cfg, &res, err, sizeof(err)) < 0) {
			printf("%s: stopped at %u domains: %s\n", PROG, n, err);
			return n;
		}
		ids[n] = res.domid;
		struct xs_permissions p = { res.domid, XS_PERM_NONE };
		xs_transaction_t t = xs_transaction_start(xs);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			snprintf(path, sizeof(path), "/local/domain/%u/%s", res.domid, keys[k]);
			xs_write(xs, t, path, "1", 1);
			xs_set_permissions(xs, t, path, &p, 1);
		}
		snprintf(path, sizeof(path), "/local/domain/%u", res.domid);
		xs_set_permissions(xs, t, path, &p, 1);
		xs_transaction_end(xs, t, false);
		if (!xs_introduce_domain(xs, res.domid, res.store_pfn, res.store_evtchn)) {
			printf("%s: introduce d%u: %s\n", PROG, res.domid, strerror(errno));
			return n;
		}
	}
	return want;
}

/* A second kxenstored, in memory only (--no-persist), on SOCK: the baseline of the persistence ratios. */
static pid_t start_mem_xenstored(const char *sock)
{
	char bin[PATH_MAX], logf[sizeof(bench_hv.dir) + 16];
	pid_t pid;

	bench_path(bin, sizeof(bin), "dom0-tools/kxenstored/kxenstored");
	snprintf(logf, sizeof(logf), "%s/xs-mem.log", bench_hv.dir);
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(bin, "kxenstored", "-f", "-s", sock, "-H", bench_hv.sock, "-l", logf, "--no-persist",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 500 && access(sock, F_OK) != 0; i++)
		bench_sleep_ns(10000000);
	if (pid < 0 || access(sock, F_OK) != 0) {
		fprintf(stderr, "%s: the --no-persist kxenstored did not start; see %s\n", PROG, logf);
		exit(1);
	}
	return pid;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Persisting (LMDB) against in memory, in the same run: WRITE with 1/10/100
 * clients and one-client transaction commits, each measured ROUNDS times,
 * alternating between the two daemons so load from elsewhere hits both alike;
 * prints the medians and their ratio.
 */
static void compare_persist(void)
{
	enum { ROUNDS = 5 };
	char sock_lmdb[sizeof(xs_sock)], sock_mem[sizeof(xs_sock)];
	static const unsigned nc[] = { 1, 10, 100 };
	uint64_t errors;

	snprintf(sock_lmdb, sizeof(sock_lmdb), "%s", xs_sock);
	snprintf(sock_mem, sizeof(sock_mem), "%s/xs-mem.sock", bench_hv.dir);
	pid_t mem = start_mem_xenstored(sock_mem);
	printf("RESULT %s_persist rounds=%d", PROG, ROUNDS);
	for (size_t k = 0; k <= 3; k++) {
		double v[2][ROUNDS], cp;
		for (int r = 0; r < ROUNDS; r++)
			for (int d = 0; d < 2; d++) {
				snprintf(xs_sock, sizeof(xs_sock), "%s", d ? sock_lmdb : sock_mem);
				if (k < 3)
					v[d][r] = throughput(XS_WRITE, nc[k], &errors);
				else
					transactions(1, &v[d][r], &cp);
			}
		qsort(v[0], ROUNDS, sizeof(double), cmp_double);
		qsort(v[1], ROUNDS, sizeof(double), cmp_double);
		char name[32];
		if (k < 3)
			snprintf(name, sizeof(name), "write_%uc", nc[k]);
		else
			snprintf(name, sizeof(name), "txn_1c");
		printf(" %s_mem=%.0f %s_lmdb=%.0f %s_ratio=%.2f", name, v[0][ROUNDS / 2], name, v[1][ROUNDS / 2],
		       name, v[1][ROUNDS / 2] / v[0][ROUNDS / 2]);
	}
	printf("\n");
	snprintf(xs_sock, sizeof(xs_sock), "%s", sock_lmdb);
	kill(mem, SIGTERM);
	waitpid(mem, NULL, 0);
}

int main(int argc, char **argv)
{
	unsigned long big = 1000;
	int opt, skip_domains = 0, compare = 0;

	while ((opt = getopt(argc, argv, "d:t:nPc")) != -1) {
		switch (opt) {
		case 'd': big = bench_parse_count(PROG, "-d", optarg); break;
		case 't': run_s = (double)bench_parse_count(PROG, "-t", optarg) / 1000.0; break;
		case 'n': skip_domains = 1; break;
		case 'P': bench_xs_store_opt = "--no-persist"; break;
		case 'c': compare = 1; break;
		default:
			fprintf(stderr, "usage: %s [-d DOMAINS (1000)] [-t MS_PER_RUN (1000)] [-n: no domains] [-P: kxenstored --no-persist]\n"
			        "       %s -c [-t MS]: persisting against --no-persist, same run\n", PROG, PROG);
			return 2;
		}
	}
	bench_require_kvm(PROG);
	bench_start_hv(PROG);
	xs_pid = bench_start_xenstored(PROG);
	snprintf(xs_sock, sizeof(xs_sock), "%s", getenv("XENSTORED_PATH"));
	signal(SIGPIPE, SIG_IGN);

	struct xs_handle *xs = xs_open(0);
	if (!xs) {
		perror(PROG ": xs_open");
		return 1;
	}
	char p[64];
	for (unsigned i = 0; i < 100; i++) {
		snprintf(p, sizeof(p), "/bench/c%u/v", i);
		xs_write(xs, XBT_NULL, p, "value", 5);
		snprintf(p, sizeof(p), "/bench/dir/entry-%u", i);
		xs_write(xs, XBT_NULL, p, "", 0);
	}
	if (compare) {
		printf("%s: WRITE and transaction commits, kxenstored persisting (LMDB) vs in memory, "
		       "alternating, %.1f s each\n", PROG, run_s);
		compare_persist();
		return 0;
	}
	printf("%s: each figure over %.1f s; clients are threads, one socket each, one request in flight; "
	       "kxenstored %s\n", PROG, run_s, bench_xs_store_opt ? "in memory only (--no-persist)" : "persisting (LMDB)");
	static const struct { uint32_t type; const char *name; } kinds[] = {
		{ XS_READ, "read" }, { XS_WRITE, "write" }, { XS_DIRECTORY, "directory" },
	};
	static const unsigned nclients[] = { 1, 10, 100 };
	double r1 = 0;
	printf("RESULT %s", PROG);
	for (size_t k = 0; k < 3; k++)
		for (size_t c = 0; c < 3; c++) {
			uint64_t errors;
			double ops = throughput(kinds[k].type, nclients[c], &errors);
			if (k == 0 && c == 0)
				r1 = ops;
			printf(" %s_%uc_ops=%.0f", kinds[k].name, nclients[c], ops);
			if (errors)
				printf(" %s_%uc_errors=%llu", kinds[k].name, nclients[c], (unsigned long long)errors);
		}
	/* The same READ through Xen's libxenstore (one client). */
	uint64_t t0 = bench_now_ns(), n = 0;
	while (bench_now_ns() - t0 < (uint64_t)(run_s * 1e9)) {
		unsigned len;
		free(xs_read(xs, XBT_NULL, "/bench/c0/v", &len));
		n++;
	}
	printf(" libxenstore_read_1c_ops=%.0f", (double)n / ((double)(bench_now_ns() - t0) / 1e9));
	double cr, cp;
	transactions(1, &cr, &cp);
	printf(" txn_1c_commits=%.0f", cr);
	transactions(10, &cr, &cp);
	printf(" txn_10c_commits=%.0f txn_10c_conflict_pct=%.1f\n", cr, cp);
	printf("%s: one client READ %.0f ops/s (bar: 50000)\n", PROG, r1);

	if (skip_domains)
		return 0;
	uint32_t *ids = calloc(big, sizeof(*ids));
	long rss0 = xs_rss_kib();
	unsigned have = add_domains(xs, 10, ids, 0);
	if (have < 10) {
		printf("%s: could not build 10 domains; no domain figures\n", PROG);
		return 1;
	}
	double rd10, wr10, rdN, wrN;
	long rss10 = xs_rss_kib();
	domain_latency(have, ids, &rd10, &wr10);
	uint64_t tb = bench_now_ns();
	have = add_domains(xs, (unsigned)big, ids, have);
	double build_s = (double)(bench_now_ns() - tb) / 1e9;
	long rssN = xs_rss_kib();
	domain_latency(have, ids, &rdN, &wrN);
	printf("%s: %u domains built and introduced in %.1f s\n", PROG, have, build_s);
	printf("RESULT %s_domains n_small=10 n_big=%u read_med_us_10=%.1f read_med_us_big=%.1f read_ratio=%.2f "
	       "write_med_us_10=%.1f write_med_us_big=%.1f write_ratio=%.2f rss_kib_start=%ld rss_kib_10=%ld "
	       "rss_kib_big=%ld kib_per_domain=%.1f\n", PROG, have, rd10, rdN, rdN / rd10, wr10, wrN, wrN / wr10,
	       rss0, rss10, rssN, have > 10 ? (double)(rssN - rss10) / (have - 10) : 0.0);
	xs_close(xs);
	return 0;
}
