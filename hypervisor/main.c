/* kxen-hv: the hypervisor daemon's entry point (options, signals, limits, then the control loop). */
#define _GNU_SOURCE
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxen/kxd.h"
#include "kxen/notify.h"
#include "kxen-hv.h"
#include "log.h"
#include "domain.h"
#include "hypercall.h"
#include "kvm.h"
#include "ctl.h"
#include "gnttab.h"
#include "sandbox.h"
#include "doorbell.h"
#include "vcpu.h"
#include "cpupool.h"
#include "hostmem.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: kxen-hv [-f] [-d] [-t] [-s SOCKET] [-l LOGFILE]\n"
	        "Runs Xen-style PV guest domains on /dev/kvm; kxl and the other dom0 tools\n"
	        "talk to it through a root-only control socket.\n"
	        "  -s, --socket PATH   control socket (default $%s or %s)\n"
	        "  -f, --foreground    stay in the foreground and log to stderr\n"
	        "  -d, --daemon        detach and log to LOGFILE; pid in $KXEN_RUN_DIR/kxen-hv.pid or %s/\n"
	        "  -l, --log FILE      append the log to FILE (default with -d: /var/log/kxen/kxen-hv.log)\n"
	        "  -t, --trace         log every hypercall and control request (debugging)\n"
	        "      --socket-group G  group G may connect to the control socket too (kxen-backd -u)\n"
	        "      --no-seccomp    no system call filters (debugging; $KXEN_SECCOMP=log: log, not kill)\n"
	        "      --max-grant-frames N     grant table frames per domain (default %d, as Xen)\n"
	        "      --max-maptrack-frames N  maptrack frames per dom0 connection (default %d)\n"
	        "      --mem-reserve MIB        host RAM a create must leave available (default %llu)\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       kxen-hv's version and the Xen ABI it offers\n",
	        KXCTL_SOCKET_ENV, KXCTL_DEFAULT_SOCKET, KXD_RUNDIR_DEFAULT, GNTTAB_DEFAULT_MAX_FRAMES,
	        GNTTAB_DEFAULT_MAX_MAPTRACK_FRAMES, HOSTMEM_DEFAULT_RESERVE >> 20);
}

static void on_kick(int sig)
{
	(void)sig;   /* only interrupts KVM_RUN or a wait */
}

/* A grant limit: 1 to 65536 frames (Xen caps both far below UINT_MAX too). */
static int parse_limit(const char *opt, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v < 1 || v > 65536) {
		fprintf(stderr, "kxen-hv: %s wants a number of frames from 1 to 65536, not '%s'\n", opt, s);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static char pidfile[256];
static const char *sock_path;

/* --socket-group: that group may connect (kxen-backd -u USER with USER in it); only root otherwise. */
static void share_socket(void)
{
	if (ctl_peer_gid == (gid_t)-1)
		return;
	if (chown(sock_path, (uid_t)-1, ctl_peer_gid) < 0 || chmod(sock_path, 0660) < 0)
		hvlog("(XEN) control socket %s: cannot give it to group %u: %s", sock_path, (unsigned)ctl_peer_gid,
		      strerror(errno));
}

/* The control socket listens: systemd (Type=notify) and a daemon's starter may go on now. */
static void ready(void)
{
	share_socket();
	notify__ready("serving");
	if (!*pidfile)
		return;     /* in the foreground: no starter waits */
	int rc = kxd_daemon_ready(pidfile);

	if (rc)
		hvlog("(XEN) pid file %s: %s", pidfile, strerror(-rc));
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	/* Each domain holds a VM fd, a memfd and one fd per vCPU. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'l' },
		{ "trace", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "max-grant-frames", required_argument, NULL, 'G' },
		{ "max-maptrack-frames", required_argument, NULL, 'M' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "mem-reserve", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv(KXCTL_SOCKET_ENV);
	const char *logfile = NULL;
	int daemonize = 0, c, logfd = STDERR_FILENO;
	char why[256];
	sigset_t set;

	while ((c = getopt_long(argc, argv, "s:fdl:thV", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'f': daemonize = 0; break;
		case 'd': daemonize = 1; break;
		case 'l': logfile = optarg; break;
		case 't': hypercall_trace = true; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("kxen-hv %s (Xen ABI %d.%d)\n", PACKAGE_VERSION, KXEN_VERSION_MAJOR, KXEN_VERSION_MINOR);
			return 0;
		case 'S': kxd_seccomp_disable(); break;
		case 'g':
			if (kxd_socket_group(optarg, &ctl_peer_gid) < 0) {
				fprintf(stderr, "kxen-hv: --socket-group: no group '%s'\n", optarg);
				return 2;
			}
			break;
		case 'G':
		case 'M':
			if (parse_limit(c == 'G' ? "--max-grant-frames" : "--max-maptrack-frames", optarg,
			                c == 'G' ? &gnttab_max_frames : &gnttab_max_maptrack_frames) < 0)
				return 2;
			break;
		case 'R': {
			char *end;
			unsigned long long mib;

			errno = 0;
			mib = strtoull(optarg, &end, 10);
			if (errno || !*optarg || *end || *optarg == '-' || mib > (1ull << 30)) {
				fprintf(stderr, "kxen-hv: --mem-reserve wants MiB from 0 to %llu, not '%s'\n",
				        1ull << 30, optarg);
				return 2;
			}
			hostmem_reserve = mib << 20;
			break;
		}
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!path || !*path)
		path = KXCTL_DEFAULT_SOCKET;
	sock_path = path;
	if (daemonize && !logfile && !(logfile = kxd_daemon_default_log("kxen-hv"))) {
		fprintf(stderr, "kxen-hv: cannot create /var/log/kxen: %s (use -l)\n", strerror(errno));
		return 1;
	}
	kxd_log_init("kxen-hv");
	if (logfile) {
		int rc = kxd_log_open(logfile);

		if (rc < 0) {
			fprintf(stderr, "kxen-hv: cannot open log %s: %s\n", logfile, strerror(-rc));
			return 1;
		}
		logfd = kxd_log_fd();
	}
	hvlog_init(logfd);
	if (daemonize) {
		int rc = kxd_rundir_pidfile("kxen-hv", pidfile, sizeof(pidfile));

		if (rc < 0) {
			fprintf(stderr, "kxen-hv: run directory %s: %s\n", kxd_rundir(), strerror(-rc));
			return 1;
		}
		/* Before kvm_init starts the VM pool's thread: fork keeps only the calling thread. */
		if ((rc = kxd_daemon_start()) < 0) {
			fprintf(stderr, "kxen-hv: cannot detach: %s\n", strerror(-rc));
			return 1;
		}
	}
	ctl_ready_hook = ready;

	/* SIG_KICK is delivered only inside KVM_RUN or a sigwait; shutdown signals via signalfd. */
	struct sigaction sa = { .sa_handler = on_kick };
	sigemptyset(&sa.sa_mask);
	sigaction(SIG_KICK, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	raise_fd_limit();
	/* Before kvm_init's thread: every thread starts under the list (vCPU threads add their own). */
	int src = sandbox__install();

	if (src < 0) {
		fprintf(stderr, "kxen-hv: cannot install the seccomp filter: %s\n", strerror(-src));
		return 1;
	}
	vcpu_thread_hook = sandbox__vcpu;

	if (kvm_init(why, sizeof(why)) < 0) {
		fprintf(stderr, "kxen-hv: KVM is not usable: %s\n"
		        "kxen-hv: load the kvm module (kvm_intel, kvm_amd or kvm_pvm) and run as root\n", why);
		return 1;
	}
	if (domain_table_init() < 0) {
		fprintf(stderr, "kxen-hv: cannot initialise: %s\n", strerror(errno));
		return 1;
	}
	cpupool_init();
	doorbell_init();
	int rc = ctl_serve(path);
	cpupool_fini();
	kxd_daemon_stop();
	if (rc < 0) {
		fprintf(stderr, "kxen-hv: control socket %s: %s\n", path, strerror(-rc));
		return 1;
	}
	return 0;
}
