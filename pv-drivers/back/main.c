/* kxen-backd: the dom0 backend daemon (console now; block and network later): options, signals, the loop. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "backd.h"
#include <kxen/notify.h>

#define DEFAULT_CONSOLE_DIR "/var/log/kxen/console"

static FILE *log_fp;

void backd_log(const char *fmt, ...)
{
	FILE *f = log_fp ? log_fp : stderr;
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%F %T", &tm);
	fprintf(f, "%s.%03ld kxen-backd: ", stamp, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

int backd_log_open(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (!f)
		return -errno;
	if (log_fp)
		fclose(log_fp);
	log_fp = f;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kxen-backd [-f] [-H HV_SOCKET] [-o CONSOLE_LOG_DIR] [-l LOGFILE]\n"
		"  -f   stay in the foreground (default: become a daemon)\n"
		"  -H   kxen-hv's control socket (default: $KXEN_HV_SOCKET or %s)\n"
		"  -o   where guest-NAME.log console logs go (default: %s)\n"
		"  -l   our own messages go here (default: standard error)\n"
		"  -h, --help     this text\n"
		"  -V, --version  kxen-backd's version\n"
		"xenstore is found at $XENSTORED_PATH (default /run/xenstored/socket).\n",
		KXCTL_DEFAULT_SOCKET, DEFAULT_CONSOLE_DIR);
}

static void on_signal(struct backd *bd, int fd, uint32_t ev, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		if (bd->opt.log_file)
			backd_log_open(bd->opt.log_file);
		backd_domains_reopen(bd);
		backd_log("SIGHUP: log files reopened");
		return;
	}
	backd_log("signal %u: exiting", si.ssi_signo);
	bd->quit = true;
}

static int setup_signals(struct backd *bd)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	return backd_fd_add(bd, fd, EPOLLIN, on_signal, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct backd bd = { .opt = { .console_dir = DEFAULT_CONSOLE_DIR }, .epfd = -1 };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "fH:o:l:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': bd.opt.foreground = true; break;
		case 'H': bd.opt.hv_socket = optarg; break;
		case 'o': bd.opt.console_dir = optarg; break;
		case 'l': bd.opt.log_file = optarg; break;
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
	if (bd.opt.log_file && (rc = backd_log_open(bd.opt.log_file))) {
		fprintf(stderr, "kxen-backd: cannot open log %s: %s\n", bd.opt.log_file, strerror(-rc));
		return 1;
	}
	bd.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (bd.epfd < 0 || (rc = setup_signals(&bd)) < 0) {
		backd_log("epoll/signalfd: %s", strerror(errno));
		return 1;
	}
	/* Connect before detaching, so a missing daemon is an error the caller sees. */
	if (backd_domains_start(&bd))
		goto out;
	if (!bd.opt.foreground && daemon(0, 0) < 0) {
		backd_log("daemon: %s", strerror(errno));
		goto out;
	}
	backd_log("serving (console logs in %s)", bd.opt.console_dir);
	notify__ready("serving");
	if ((rc = backd_loop_run(&bd)))
		backd_log("epoll: %s", strerror(-rc));
out:
	backd_domains_stop(&bd);
	if (bd.xs)
		xs_close(bd.xs);
	if (bd.hv)
		kxctrl_close(bd.hv);
	return bd.quit ? 0 : 1;
}
