/* bench_blk: a guest's disk (blk-test through blkfront and kxen-backd) beside the host's own I/O on the same file in the same run: MB/s, IOPS, exits per MB. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define PROG    "bench_blk"
#define POLL_NS 1000000ull          /* log polling only finds results and markers */
#define WAIT_NS (300ull * 1000000000ull)
#define CHUNK   (1u << 20)

static pid_t xs_pid, backd_pid;
static bool copy_mode;   /* -c: blkfront copies through its bounce pages instead of granting the app's buffer */
static char spin_arg[32]; /* -S US: blkfront polls the ring that long before blocking (" spin=US") */
static char xs_sock[320];

static void stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static void stop_daemons(void)
{
	stop_child(&backd_pid);
	stop_child(&xs_pid);
}

/* Runs argv from the build tree with our private sockets in the environment. */
static pid_t spawn(char *const argv[], bool wait_exit)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		setenv("KXEN_HV_SOCKET", bench_hv.sock, 1);
		setenv("XENSTORED_PATH", xs_sock, 1);
		setenv("KXEN_RUN_DIR", bench_hv.dir, 1);   /* kxen-backd's statistics: never /run/kxen */
		execv(argv[0], argv);
		_exit(127);
	}
	if (!wait_exit)
		return pid;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("%s: %s failed\n", PROG, argv[0]);
		exit(1);
	}
	return 0;
}

static void start_daemons(void)
{
	char xsd[4096], backd[4096], xslog[320], blog[320], cdir[320], xsdir[320];
	struct stat st;

	bench_path(xsd, sizeof(xsd), "dom0-tools/kxenstored/kxenstored");
	bench_path(backd, sizeof(backd), "pv-drivers/back/kxen-backd");
	snprintf(xs_sock, sizeof(xs_sock), "%s/xs.sock", bench_hv.dir);
	snprintf(xslog, sizeof(xslog), "%s/xs.log", bench_hv.dir);
	snprintf(blog, sizeof(blog), "%s/backd.log", bench_hv.dir);
	snprintf(cdir, sizeof(cdir), "%s/console", bench_hv.dir);
	snprintf(xsdir, sizeof(xsdir), "%s/xsdata", bench_hv.dir);
	atexit(stop_daemons);
	xs_pid = spawn((char *const[]){ xsd, "-f", "-s", xs_sock, "-H", bench_hv.sock, "-l", xslog, "-D", xsdir, NULL },
	               false);
	for (int i = 0; i < 400 && stat(xs_sock, &st) != 0; i++)
		bench_sleep_ns(10000000);
	backd_pid = spawn((char *const[]){ backd, "-f", "-H", bench_hv.sock, "-o", cdir, "-l", blog, NULL },
	                  false);
	bench_sleep_ns(300000000);   /* it serves once connected; the guest waits for it anyway */
}

static double mbps(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes / 1e6 / ((double)ns / 1e9) : 0;
}

struct figures {
	double wr, rd, rwr, rrd;   /* MB/s, MB/s, IOPS, IOPS */
	double qwr, qrd;           /* IOPS at QD32 */
	double exits_per_mb;
	double exits_per_req;      /* random 4 KiB phase at QD1 (a few console lines included) */
	double exits_per_req32;    /* the same in batches of 32 */
};

/*
 * The host's own I/O on the file, in the order blk-test does it: 1 MiB
 * writes then fdatasync (timed together: durable data), the file's cached
 * pages dropped, 1 MiB reads (from the disk), random 4 KiB writes and reads.
 */
static void host_run(const char *path, unsigned mib, unsigned ops, struct figures *f)
{
	char *buf = aligned_alloc(4096, CHUNK);
	int fd = open(path, O_RDWR);
	uint64_t t0, span = (uint64_t)mib * CHUNK, x = 88172645463325252ull, t;

	if (fd < 0 || !buf) {
		perror(path);
		exit(1);
	}
	memset(buf, 0x5a, CHUNK);
	t0 = bench_now_ns();
	for (uint64_t off = 0; off < span; off += CHUNK)
		if (pwrite(fd, buf, CHUNK, (off_t)off) != CHUNK)
			exit(1);
	fdatasync(fd);
	f->wr = mbps(span, bench_now_ns() - t0);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	/* The guest reads 1 s after its flush (its pause); this disk reads slower a while after a flush, so wait alike. */
	bench_sleep_ns(1000000000ull);
	t0 = bench_now_ns();
	for (uint64_t off = 0; off < span; off += CHUNK)
		if (pread(fd, buf, CHUNK, (off_t)off) != CHUNK)
			exit(1);
	f->rd = mbps(span, bench_now_ns() - t0);
	for (int w = 1; w >= 0; w--) {
		t = 0;
		for (unsigned i = 0; i < ops; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			off_t off = (off_t)((x % (span / 4096)) * 4096);
			t0 = bench_now_ns();
			if ((w ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off)) != 4096)
				exit(1);
			t += bench_now_ns() - t0;
		}
		*(w ? &f->rwr : &f->rrd) = t ? ops * 1e9 / (double)t : 0;
	}
	close(fd);
	free(buf);
}

static double result(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtod(p + strlen(key), NULL) : -1;
}

/* The guest's reads then come from the disk, as the host's did. */
static int drop_cache(const char *img)
{
	int fd = open(img, O_RDONLY);

	if (fd < 0)
		return -errno;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return 0;
}

struct collect {
	uint32_t domid;
	struct figures *f;
	int found;
};

/* Picks blk-test's RESULT lines of our domain; stops (1) at its OK, (-1) at a FAIL. */
static int collect_line(const char *line, void *arg)
{
	struct collect *c = arg;
	char tag[32];
	static const char *const keys[] = { "blk_write_kbps=", "blk_read_kbps=", "blk_randwrite_iops=",
	                                    "blk_randread_iops=", "blk_randwrite_qd32_iops=",
	                                    "blk_randread_qd32_iops=" };
	double *dst[] = { &c->f->wr, &c->f->rd, &c->f->rwr, &c->f->rrd, &c->f->qwr, &c->f->qrd };

	snprintf(tag, sizeof(tag), "(d%u) ", c->domid);
	if (strncmp(line, tag, strlen(tag)))
		return 0;
	if (strstr(line, "blk-test: OK"))
		return 1;
	if (strstr(line, "FAIL"))
		return -1;
	for (int k = 0; k < 6; k++) {
		double v = result(line, keys[k]);
		if (v >= 0) {
			*dst[k] = v / (k < 2 ? 1000.0 : 1.0);
			c->found++;
		}
	}
	return 0;
}

static int domain_exits(uint32_t domid, uint64_t *exits)
{
	struct kxctl_dominfo di;
	int rc = kxctrl_domain_info(bench_hv.h, domid, &di);

	if (!rc)
		*exits = di.exits + di.kicks;   /* every return from KVM_RUN, kicks included */
	return rc;
}

/* One guest run: kxl create with the disk, blk-test with pause markers around the sequential phases. */
static int guest_run(const char *img, unsigned mib, unsigned ops, unsigned round, struct figures *f)
{
	char kxl[4096], xml[320], line[512], name[32];
	struct bench_log lg = { 0 };
	uint64_t e0 = 0, e1 = 0;
	uint32_t domid;
	FILE *x;

	snprintf(name, sizeof(name), "blk%u", round);
	snprintf(xml, sizeof(xml), "%s/%s.xml", bench_hv.dir, name);
	x = fopen(xml, "w");
	if (!x)
		return -errno;
	fprintf(x, "<domain type='kxen'><name>%s</name><memory unit='MiB'>%u</memory><vcpu>1</vcpu>"
	        "<os><type>xenpv</type><kernel>%s</kernel><cmdline>console=hv blk-test %u %u pause nodiscard%s%s</cmdline></os>"
	        "<on_poweroff>preserve</on_poweroff>"
	        "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
	        "<source file='%s'/><target dev='xvda' bus='xen'/></disk></devices></domain>\n",
	        name, 32u, bench_guest_kernel(), mib, ops, copy_mode ? " copy" : "", spin_arg, img);
	fclose(x);
	bench_log_skip(bench_hv.h, &lg);
	bench_path(kxl, sizeof(kxl), "dom0-tools/kxl/kxl");
	{
		char state[320];
		snprintf(state, sizeof(state), "%s/state", bench_hv.dir);
		setenv("KXEN_STATE_DIR", state, 1);
	}
	spawn((char *const[]){ kxl, "create", xml, NULL }, true);
	if (kxctrl_domain_lookup(bench_hv.h, name, &domid))
		return -ESRCH;
	if (bench_log_wait_dom(bench_hv.h, &lg, domid, "blk-test: ready", line, sizeof(line), WAIT_NS, POLL_NS) ||
	    domain_exits(domid, &e0) ||
	    bench_log_wait_dom(bench_hv.h, &lg, domid, "blk-test: flushed", line, sizeof(line), WAIT_NS, POLL_NS) ||
	    drop_cache(img) ||
	    bench_log_wait_dom(bench_hv.h, &lg, domid, "blk-test: seq done", line, sizeof(line), WAIT_NS, POLL_NS) ||
	    domain_exits(domid, &e1)) {
		printf("%s: the guest did not get through its sequential phases (log: %s)\n", PROG, bench_hv.log);
		bench_keep_log();
		return -EIO;
	}
	f->exits_per_mb = (double)(e1 - e0) / (2.0 * mib * 1.048576);
	struct collect c = { .domid = domid, .f = f };
	uint64_t e2 = 0, e3 = 0, deadline = bench_now_ns() + WAIT_NS;
	struct bench_log results = lg;   /* the RESULT lines come before the markers: read them again from here */
	int rc;
	/* The random phases: QD1 from "seq done" to "rand qd1 done", QD32 from there to "rand qd32 done". */
	if (bench_log_wait_dom(bench_hv.h, &lg, domid, "blk-test: rand qd1 done", line, sizeof(line), WAIT_NS, POLL_NS) ||
	    domain_exits(domid, &e2) ||
	    bench_log_wait_dom(bench_hv.h, &lg, domid, "blk-test: rand qd32 done", line, sizeof(line), WAIT_NS,
	                       POLL_NS) ||
	    domain_exits(domid, &e3)) {
		printf("%s: the guest did not get through its random phases (log: %s)\n", PROG, bench_hv.log);
		bench_keep_log();
		return -EIO;
	}
	/* One pass over the rest of the log: a wait per key would skip lines read in the same chunk. */
	while ((rc = bench_log_poll(bench_hv.h, &results, collect_line, &c)) == 0 && bench_now_ns() < deadline)
		bench_sleep_ns(POLL_NS);
	kxctrl_domain_destroy(bench_hv.h, domid);   /* preserved at poweroff so its counters could be read */
	if (rc != 1 || c.found != 6) {
		printf("%s: the guest's results are incomplete (%d of 6; log: %s)\n", PROG, c.found, bench_hv.log);
		bench_keep_log();
		return -EIO;
	}
	/* Each window: ops random writes + ops reads, two RESULT and two report lines (console=hv: an exit each), one sleep's tail. */
	f->exits_per_req = (double)(e2 - e1) / (2.0 * ops);
	f->exits_per_req32 = (double)(e3 - e2) / (2.0 * ops);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	unsigned mib = 64, ops = 2000, rounds = 3;
	char img[320];
	int opt;

	while ((opt = getopt(argc, argv, "s:n:r:cS:")) != -1) {
		switch (opt) {
		case 's': mib = (unsigned)bench_parse_count(PROG, "-s", optarg); break;
		case 'n': ops = (unsigned)bench_parse_count(PROG, "-n", optarg); break;
		case 'r': rounds = (unsigned)bench_parse_count(PROG, "-r", optarg); break;
		case 'c': copy_mode = true; break;
		case 'S':
			if (!strcmp(optarg, "auto") || !strcmp(optarg, "0"))
				snprintf(spin_arg, sizeof(spin_arg), " spin=%s", optarg);   /* 0: never poll */
			else
				snprintf(spin_arg, sizeof(spin_arg), " spin=%lu", bench_parse_count(PROG, "-S", optarg));
			break;
		default:
			fprintf(stderr, "usage: %s [-s MiB] [-n random ops] [-r rounds] [-c] [-S SPIN_US|0|auto]\n", PROG);
			return 2;
		}
	}
	if (mib > 256 || rounds > 15) {
		fprintf(stderr, "%s: -s at most 256 (the guest's buffers), -r at most 15\n", PROG);
		return 2;
	}
	bench_require_kvm(PROG);
	bench_start_hv(PROG);
	start_daemons();
	snprintf(img, sizeof(img), "%s/bench.img", bench_hv.dir);
	{
		int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)mib * CHUNK) < 0) {
			perror(img);
			return 1;
		}
		close(fd);
	}
	double h[4][16], g[4][16], ex[16], er[16], q[2][16], er32[16];
	for (unsigned r = 0; r < rounds; r++) {
		struct figures hf, gf;

		host_run(img, mib, ops, &hf);
		if (guest_run(img, mib, ops, r, &gf))
			return 1;
		h[0][r] = hf.wr; h[1][r] = hf.rd; h[2][r] = hf.rwr; h[3][r] = hf.rrd;
		g[0][r] = gf.wr; g[1][r] = gf.rd; g[2][r] = gf.rwr; g[3][r] = gf.rrd;
		ex[r] = gf.exits_per_mb;
		er[r] = gf.exits_per_req;
		q[0][r] = gf.qwr; q[1][r] = gf.qrd;
		er32[r] = gf.exits_per_req32;
		printf("round %u: host %.0f/%.0f MB/s %.0f/%.0f IOPS; guest %.0f/%.0f MB/s %.0f/%.0f IOPS (QD32 %.0f/%.0f); "
		       "%.2f exits/MB; %.3f / %.3f exits per 4 KiB request (QD1 / QD32)\n", r + 1, hf.wr, hf.rd, hf.rwr,
		       hf.rrd, gf.wr, gf.rd, gf.rwr, gf.rrd, gf.qwr, gf.qrd, gf.exits_per_mb, gf.exits_per_req,
		       gf.exits_per_req32);
	}
	const char *what[] = { "sequential write+flush (1 MiB req.), MB/s", "sequential read, cold (1 MiB req.), MB/s",
	                       "random 4 KiB writes (QD1), IOPS", "random 4 KiB reads (QD1), IOPS" };
	printf("\n%s: %u MiB raw file, %u random ops, medians of %u rounds, guest data %s\n",
	       PROG, mib, ops, rounds, copy_mode ? "copied (bounce pages)" : "in place (zero copy)");
	printf("%-42s %10s %10s %8s\n", "", "host", "guest", "guest/host");
	for (int k = 0; k < 4; k++) {
		double hm = median(h[k], rounds), gm = median(g[k], rounds);
		printf("%-42s %10.0f %10.0f %8.2f\n", what[k], hm, gm, hm ? gm / hm : 0);
	}
	printf("%-42s %10s %10.2f\n", "guest exits per MB moved (sequential)", "-", median(ex, rounds));
	printf("%-42s %10s %10.0f\n", "random 4 KiB writes (QD32), IOPS", "-", median(q[0], rounds));
	printf("%-42s %10s %10.0f\n", "random 4 KiB reads (QD32), IOPS", "-", median(q[1], rounds));
	printf("%-42s %10s %10.3f\n", "guest exits per 4 KiB request (QD1)", "-", median(er, rounds));
	printf("%-42s %10s %10.3f\n", "guest exits per 4 KiB request (QD32)", "-", median(er32, rounds));
	return 0;
}
