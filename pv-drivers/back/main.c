/* kxen-backd: the dom0 backend daemon (console, vbd, vif): options, then libkxdaemon's daemonising and loop. */
#include <config.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include "backd.h"
#include "blkback.h"
#include <kxen/notify.h>

#define DEFAULT_CONSOLE_DIR "/var/log/kxen/console"
#define NAME "kxen-backd"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kxen-backd [-f] [-H HV_SOCKET] [-o CONSOLE_LOG_DIR] [-l LOGFILE] [-u USER]\n"
		"  -f   stay in the foreground (default: become a daemon, pid in $KXEN_RUN_DIR/%s.pid or %s/)\n"
		"  -H   kxen-hv's control socket (default: $KXEN_HV_SOCKET or %s)\n"
		"  -o   where guest-NAME.log console logs go (default: %s)\n"
		"  -l   our own messages go here (default: standard error; as a daemon /var/log/kxen/%s.log)\n"
		"  --no-seccomp   no system call filter (debugging; $KXEN_SECCOMP=log: log, not kill)\n"
		"  -u   run as USER once connected (keeping only CAP_NET_ADMIN): images, CONSOLE_LOG_DIR\n"
		"       and $KXEN_RUN_DIR must be theirs; kxen-hv's socket group theirs (docs/architecture.md)\n"
		"  -h, --help     this text\n"
		"  -V, --version  kxen-backd's version\n"
		"xenstore is found at $XENSTORED_PATH (default /run/xenstored/socket).\n",
		NAME, KXD_RUNDIR_DEFAULT, KXCTL_DEFAULT_SOCKET, DEFAULT_CONSOLE_DIR, NAME);
}

static void on_hup(struct kxd_loop *l, void *arg)
{
	backd_domains_reopen(backd_of(l));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct backd bd = { .opt = { .console_dir = DEFAULT_CONSOLE_DIR } };
	const char *user = NULL;
	char pidfile[256];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "fH:o:l:u:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': bd.opt.foreground = true; break;
		case 'H': bd.opt.hv_socket = optarg; break;
		case 'o': bd.opt.console_dir = optarg; break;
		case 'l': bd.opt.log_file = optarg; break;
		case 'u': user = optarg; break;
		case 'S': kxd_seccomp_disable(); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("kxen-backd %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kxen-backd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	/* A misspelt -u is the starter's error, not a daemon's that said it was ready. */
	if (user && !getpwnam(user)) {
		fprintf(stderr, "kxen-backd: -u: no user '%s'\n", user);
		return 2;
	}
	kxd_log_init(NAME);
	/* A daemon never logs to the terminal it was started from. */
	if (!bd.opt.foreground && !bd.opt.log_file && !(bd.opt.log_file = kxd_daemon_default_log(NAME))) {
		fprintf(stderr, "kxen-backd: cannot create /var/log/kxen: %s (use -l)\n", strerror(errno));
		return 1;
	}
	if (bd.opt.log_file && (rc = kxd_log_open(bd.opt.log_file))) {
		fprintf(stderr, "kxen-backd: cannot open log %s: %s\n", bd.opt.log_file, strerror(-rc));
		return 1;
	}
	if (!bd.opt.foreground && (rc = kxd_rundir_pidfile(NAME, pidfile, sizeof(pidfile)))) {
		fprintf(stderr, "kxen-backd: run directory %s: %s\n", kxd_rundir(), strerror(-rc));
		return 1;
	}
	/* Before any thread, signalfd or xenstore handle: fork keeps none of them working. */
	if (!bd.opt.foreground && (rc = kxd_daemon_start())) {
		fprintf(stderr, "kxen-backd: cannot become a daemon: %s\n", strerror(-rc));
		return 1;
	}
	if ((rc = kxd_loop_init(&bd.loop)) || (rc = kxd_loop_signals(&bd.loop, on_hup, NULL))) {
		fprintf(stderr, "kxen-backd: epoll/signalfd: %s\n", strerror(-rc));
		return 1;
	}
	blkpool_thread_hook = sandbox__pool;
	blkio_worker_hook = sandbox__ring;
	/* Connected before we say ready, so a missing daemon is an error the starter sees. */
	if (backd_domains_start(&bd))
		goto out;
	/* Still root: the pid file's directory is root's. */
	if (!bd.opt.foreground && (rc = kxd_daemon_pidfile(pidfile))) {
		kxd_log("pid file %s: %s", pidfile, strerror(-rc));
		goto out;
	}
	/* kxen-hv's and xenstore's root-only sockets are open; TAPs still need CAP_NET_ADMIN. */
	static const int net_admin[] = { CAP_NET_ADMIN };

	if (user && (rc = kxd_privs_drop(user, net_admin, 1)) < 0) {
		kxd_log("cannot run as user %s: %s", user, rc == -ENOENT ? "no such user" : strerror(-rc));
		goto out;
	}
	if ((rc = sandbox__install()) < 0) {
		kxd_log("cannot install the seccomp filter: %s", strerror(-rc));
		goto out;
	}
	if (!bd.opt.foreground && (rc = kxd_daemon_ready(NULL))) {
		kxd_log("cannot tell the starter: %s", strerror(-rc));
		goto out;
	}
	kxd_log("serving (console logs in %s)", bd.opt.console_dir);
	notify__ready("serving");
	if ((rc = kxd_loop_run(&bd.loop)))
		kxd_log("epoll: %s", strerror(-rc));
out:
	backd_domains_stop(&bd);
	if (bd.xs)
		xs_close(bd.xs);
	if (bd.hv)
		kxctrl_close(bd.hv);
	kxd_daemon_stop();
	rc = bd.loop.quit ? 0 : 1;
	kxd_loop_fini(&bd.loop);
	return rc;
}
