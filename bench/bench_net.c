/* bench_net: guest-to-guest and guest-to-host UDP Mbit/s and packets/s through kxen-backd's switch, exits per MB, against host loopback UDP in the same run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include <kxen/netstream.h>

#define PROG "bench_net"

static pid_t backd_pid = -1;
static char kxl[PATH_MAX], guest[PATH_MAX];
static struct bench_log lg;
static int runs = 3, mb = 64, next_mac = 1;
static char idle_opt[40];   /* -P US: "idlepoll=US " before every guest's command line */
static char cmp_opt[120];   /* -C OPTS: every other guest-to-guest run adds "OPTS " (an A/B in one run) */
static const char *run_opt = "";   /* what the run being started adds */

static void stop_daemons(void)
{
	if (backd_pid > 0) {
		kill(backd_pid, SIGTERM);
		waitpid(backd_pid, NULL, 0);
	}
	backd_pid = -1;
}

static pid_t spawn(const char *bin, char *const argv[], int new_netns)
{
	pid_t p = fork();

	if (p == 0) {
		if (new_netns && unshare(CLONE_NEWNET) < 0)
			_exit(99);
		execv(bin, argv);
		_exit(127);
	}
	return p;
}

/* kxenstored, then kxen-backd in its own network namespace with TAP kxtap0 on br0. */
static void start_daemons(void)
{
	char bin[PATH_MAX], blog[400], cons[400], stats[400];

	bench_start_xenstored(PROG);
	setenv("KXEN_HV_SOCKET", bench_hv.sock, 1);
	snprintf(stats, sizeof(stats), "%s/state", bench_hv.dir);
	setenv("KXEN_STATE_DIR", stats, 1);
	setenv("KXEN_RUN_DIR", bench_hv.dir, 1);   /* kxen-backd's counters: never /run/kxen */
	setenv("KXEN_BACKD_TAPS", "br0=kxtap0", 1);
	snprintf(blog, sizeof(blog), "%s/backd.log", bench_hv.dir);
	snprintf(cons, sizeof(cons), "%s/console", bench_hv.dir);
	bench_path(bin, sizeof(bin), "pv-drivers/back/kxen-backd");
	backd_pid = spawn(bin, (char *[]){ "kxen-backd", "-f", "-H", bench_hv.sock, "-o", cons, "-l", blog, NULL }, 1);
	bench_sleep_ns(300000000);
	atexit(stop_daemons);
}

/* Creates a paused guest running cmdline, plugs a vif on br0, starts it; returns its domid or -1. */
static int guest_start(const char *name, const char *cmdline)
{
	char xml[4800], path[400], cmd[16384];
	uint32_t domid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.xml", bench_hv.dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	snprintf(xml, sizeof(xml), "<domain type='kxen'><name>%s</name><memory unit='MiB'>16</memory>"
	         "<vcpu>1</vcpu><os><type>xenpv</type><kernel>%s</kernel><cmdline>%s%s%s</cmdline></os></domain>\n",
	         name, guest, idle_opt, run_opt, cmdline);
	fputs(xml, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s create -p %s >/dev/null && %s network-attach %s bridge=br0 "
	         "mac=00:16:3e:00:01:%02x >/dev/null && %s unpause %s", kxl, path, kxl, name, next_mac++ & 0xff,
	         kxl, name);
	if (system(cmd) != 0 || kxctrl_domain_lookup(bench_hv.h, name, &domid))
		return -1;
	return (int)domid;
}

/* Handled exits and kicks (entries a signal interrupted) of one domain, summed into a run's counts. */
struct exits { uint64_t handled, kicks; };

static struct exits exits_of(int domid)
{
	struct kxctl_dominfo di;

	if (kxctrl_domain_info(bench_hv.h, (uint32_t)domid, &di))
		return (struct exits){ 0, 0 };
	return (struct exits){ di.exits, di.kicks };
}

/* Exits per MB between a and b (every return from KVM_RUN), with the split printed for comparisons. */
static double exits_per_mb(const char *who, struct exits a, struct exits b)
{
	uint64_t h = b.handled - a.handled, k = b.kicks - a.kicks;

	printf("  %s: %llu handled exits + %llu kicks = %.1f per MB (%.1f without kicks)\n", who,
	       (unsigned long long)h, (unsigned long long)k, (double)(h + k) / mb, (double)h / mb);
	return (double)(h + k) / mb;
}

/* Host loopback UDP of the same datagrams: the baseline measured in this run. */
static double loopback_mbps(double *pps)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;
	char buf[1472] = { 0 };
	uint64_t n = 0, bytes = (uint64_t)mb << 20, t0, t1;

	setsockopt(r, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	bind(r, (struct sockaddr *)&a, sizeof(a));
	getsockname(r, (struct sockaddr *)&a, &al);
	t0 = bench_now_ns();
	for (uint64_t sent = 0; sent < bytes; sent += sizeof(buf)) {
		sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&a, sizeof(a));
		if (recv(r, buf, sizeof(buf), 0) > 0)
			n++;
	}
	t1 = bench_now_ns();
	close(r);
	close(s);
	*pps = n * 1e9 / (double)(t1 - t0);
	return n * sizeof(buf) * 8 * 1e3 / (double)(t1 - t0);
}

/* "... : 1234 Mbit/s, 5678 pkt/s ..." */
static int parse_rate(const char *line, double *mbps, double *pps)
{
	const char *p = strstr(line, "Mbit/s");

	if (!p)
		return -1;
	while (p > line && p[-1] == ' ')
		p--;
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return sscanf(p, "%lf Mbit/s, %lf pkt/s", mbps, pps) == 2 ? 0 : -1;
}

/* One guest-to-guest run: Mbit/s and pkt/s at the receiver, exits per MB over both guests. */
static int run_g2g(int i, double *mbps, double *pps, double *epm)
{
	char name[32], cmd[160], line[512];
	int r, s;
	struct exits e0r, e0s;

	snprintf(name, sizeof(name), "rx%d", i);
	r = guest_start(name, "udp-recv ip=192.0.2.2/24 5001 60");
	if (r < 0 || bench_log_wait_dom(bench_hv.h, &lg, (uint32_t)r, "listening", line, sizeof(line),
	                                30000000000ull, 5000000))
		return -1;
	e0r = exits_of(r);
	snprintf(name, sizeof(name), "tx%d", i);
	snprintf(cmd, sizeof(cmd), "udp-send ip=192.0.2.1/24 192.0.2.2 5001 %d", mb);
	s = guest_start(name, cmd);
	if (s < 0 || bench_log_wait_dom(bench_hv.h, &lg, (uint32_t)s, "net: up", line, sizeof(line),
	                                30000000000ull, 5000000))
		return -1;
	e0s = exits_of(s);
	/* Both of udp-recv's result lines (ended or not) end with the foreign count. */
	if (bench_log_wait_dom(bench_hv.h, &lg, (uint32_t)r, ", foreign ", line, sizeof(line),
	                       120000000000ull, 5000000))
		return -1;
	printf("  %s\n", strchr(line, 'u'));
	/* A stream that did not end, or delivered anything corrupt or out of order, is no measurement. */
	if (!strstr(line, "udp-recv: got") || !strstr(line, "bad 0, out of order 0,") || parse_rate(line, mbps, pps)) {
		printf("  run %d: FAILED (stream incomplete or damaged; logs kept)\n", i);
		return -1;
	}
	struct exits e1r = exits_of(r), e1s = exits_of(s);
	*epm = exits_per_mb("both guests", (struct exits){ e0r.handled + e0s.handled, e0r.kicks + e0s.kicks },
	                    (struct exits){ e1r.handled + e1s.handled, e1r.kicks + e1s.kicks });
	bench_sleep_ns(800000000);   /* both power off */
	return 0;
}

/* One guest-to-host run through the TAP: the receiver is this process, inside kxen-backd's namespace. */
static int run_g2h(int i, double *mbps, double *pps, double *epm)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5002) };
	int so = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20, s;
	char name[32], cmd[160], buf[2048];
	uint64_t first = 0, last = 0;
	struct exits e0;
	struct ns_rx rx = { 0 };

	setsockopt(so, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(so, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(so);
		return -1;
	}
	snprintf(name, sizeof(name), "th%d", i);
	snprintf(cmd, sizeof(cmd), "udp-send ip=192.0.2.3/24 192.0.2.254 5002 %d", mb);
	s = guest_start(name, cmd);
	if (s < 0) {
		close(so);
		return -1;
	}
	e0 = exits_of(s);
	for (uint64_t t0 = bench_now_ns(); !rx.end && bench_now_ns() - t0 < 60000000000ull;) {
		struct pollfd p = { .fd = so, .events = POLLIN };
		ssize_t len;

		if (poll(&p, 1, 200) <= 0)
			continue;
		len = recv(so, buf, sizeof(buf), 0);
		if (len >= 0 && ns_rx_account(&rx, (const uint8_t *)buf, (unsigned)len)) {
			last = bench_now_ns();
			if (rx.pkts == 1)
				first = last;
		}
	}
	close(so);
	printf("  host: got %llu of %u datagrams, lost %lld, bad %llu, out of order %llu, foreign %llu%s\n",
	       (unsigned long long)rx.pkts, rx.expected, (long long)rx.expected - (long long)rx.pkts,
	       (unsigned long long)rx.bad, (unsigned long long)rx.ooo, (unsigned long long)rx.foreign,
	       rx.end ? "" : " (no end marker: FAILED)");
	if (!rx.end || rx.bad || rx.ooo || last <= first)
		return -1;
	*mbps = rx.bytes * 8 * 1e3 / (double)(last - first);
	*pps = rx.pkts * 1e9 / (double)(last - first);
	*epm = exits_per_mb("sender", e0, exits_of(s));
	bench_sleep_ns(800000000);
	return 0;
}

static void report(const char *what, double *m, double *p, double *e, int n, double base_m)
{
	if (n == 0) {
		printf("%-16s no successful run\n", what);
		return;
	}
	printf("%-16s median %8.0f Mbit/s %9.0f pkt/s  %6.1f exits/MB  %.2fx loopback  (runs:", what,
	       bench_quantile(m, (size_t)n, 0.5), bench_quantile(p, (size_t)n, 0.5),
	       bench_quantile(e, (size_t)n, 0.5), bench_quantile(m, (size_t)n, 0.5) / base_m);
	for (int i = 0; i < n; i++)
		printf(" %.0f", m[i]);
	printf(")\n");
}

int main(int argc, char **argv)
{
	double gm[16], gp[16], ge[16], hm[16], hp[16], he[16], bm[16], bp[16], cm[16], cp[16], ce[16];
	int ng = 0, nh = 0, nc = 0, opt;
	char nsf[64];

	while ((opt = getopt(argc, argv, "r:m:P:C:")) != -1) {
		if (opt == 'r')
			runs = (int)bench_parse_count(PROG, "-r", optarg);
		else if (opt == 'm')
			mb = (int)bench_parse_count(PROG, "-m", optarg);
		else if (opt == 'C')
			snprintf(cmp_opt, sizeof(cmp_opt), "%s ", optarg);
		else if (opt == 'P')
			snprintf(idle_opt, sizeof(idle_opt), "idlepoll=%lu ", bench_parse_count(PROG, "-P", optarg));
		else {
			fprintf(stderr, "usage: %s [-r RUNS (3)] [-m MBYTES per run (64)] [-P US: guests poll that long "
			        "before blocking] [-C 'GUEST OPTIONS': alternate guest-to-guest runs without and with them]\n", PROG);
			return 2;
		}
	}
	if (runs > 16)
		runs = 16;
	bench_require_kvm(PROG);
	bench_start_hv(PROG);
	bench_path(kxl, sizeof(kxl), "dom0-tools/kxl/kxl");
	snprintf(guest, sizeof(guest), "%s", bench_guest_kernel());
	start_daemons();
	bench_log_skip(bench_hv.h, &lg);
	printf("%s: %d runs of %d MiB in 1472-byte UDP datagrams (1514-byte frames)%s%s\n", PROG, runs, mb,
	       idle_opt[0] ? ", guests with " : "", idle_opt);
	for (int i = 0; i < runs; i++)
		bm[i] = loopback_mbps(&bp[i]);
	for (int i = 0; i < runs; i++) {
		if (run_g2g(i, &gm[ng], &gp[ng], &ge[ng]) == 0)
			ng++;
		if (!cmp_opt[0])
			continue;
		run_opt = cmp_opt;
		printf("  (with %s)\n", cmp_opt);
		if (run_g2g(runs + i, &cm[nc], &cp[nc], &ce[nc]) == 0)
			nc++;
		run_opt = "";
	}
	/* Into kxen-backd's namespace for the TAP side. */
	snprintf(nsf, sizeof(nsf), "/proc/%d/ns/net", (int)backd_pid);
	{
		int fd = open(nsf, O_RDONLY);

		if (fd >= 0 && setns(fd, CLONE_NEWNET) == 0 &&
		    system("ip link set lo up && ip addr add 192.0.2.254/24 dev kxtap0") == 0) {
			for (int i = 0; i < runs; i++)
				if (run_g2h(i, &hm[nh], &hp[nh], &he[nh]) == 0)
					nh++;
		} else {
			printf("guest-to-host: skipped (no network namespace or TAP here)\n");
		}
		if (fd >= 0)
			close(fd);
	}
	report("host loopback", bm, bp, (double[16]){ 0 }, runs, bench_quantile(bm, (size_t)runs, 0.5));
	report("guest-to-guest", gm, gp, ge, ng, bench_quantile(bm, (size_t)runs, 0.5));
	if (cmp_opt[0]) {
		char what[140];

		snprintf(what, sizeof(what), "g2g with %s", cmp_opt);
		report(what, cm, cp, ce, nc, bench_quantile(bm, (size_t)runs, 0.5));
	}
	report("guest-to-host", hm, hp, he, nh, bench_quantile(bm, (size_t)runs, 0.5));
	if (ng < runs || (cmp_opt[0] && nc < runs) || (nh && nh < runs))
		bench_keep_log();
	return 0;
}
