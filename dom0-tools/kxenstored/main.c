/* main.c: kxenstored's options, log, UNIX socket and epoll loop (one thread; no client can block another). */
#define _GNU_SOURCE     /* accept4 */
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kxsd_main.h"
#include "persist.h"

#define DEFAULT_SOCKET "/run/xenstored/socket"   /* Xen's, where libxenstore looks */
#define DEFAULT_STORE "/var/lib/kxen/xenstore"

static FILE *logfp;
static volatile sig_atomic_t stop;
static int epfd;
static char listen_tag;

static void log_line(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%F %T", &tm);
	fprintf(logfp, "%s.%03ld kxenstored: ", when, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fputc('\n', logfp);
	fflush(logfp);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Socket clients: read only while under output quota, write while output waits. */
static void update(struct xs_conn *c)
{
	if (c->dead || c->ops != &sock_conn_ops)
		return;
	uint32_t want = (conn__blocked(c) ? 0 : EPOLLIN) | (c->out ? EPOLLOUT : 0);
	if ((uintptr_t)c->priv == want)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = c };
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->priv = (void *)(uintptr_t)want;
}

/*
 * The socket appears under its name only once it is listening: it is bound
 * under a temporary name and renamed into place, so a client that sees the
 * file (a boot script, a test) never meets a socket that refuses it.
 */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		fprintf(stderr, "kxenstored: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, tmp);
	char dir[sizeof(sa.sun_path)];
	strcpy(dir, path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);   /* /run/xenstored may not exist yet; an error shows at bind */
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	unlink(tmp);
	mode_t old = umask(0077);   /* root only, as Xen's socket: it grants dom0's powers */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
	    rename(tmp, path) < 0) {
		fprintf(stderr, "kxenstored: cannot listen on %s: %s\n", path, strerror(errno));
		unlink(tmp);
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static void accept_clients(struct xs_server *srv, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct xs_conn *c = conn__new(srv, &sock_conn_ops, (void *)(uintptr_t)EPOLLIN, fd, 0, true);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (!c || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (c)
				conn__free(c);
			else
				close(fd);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kxenstored [-f] [-s SOCKET] [-H HV_SOCKET] [-l LOGFILE] [-q NAME=VALUE]...\n"
	        "                  [-D DIR | --no-persist] [--sync] [--fresh]\n"
	        "  -f  stay in the foreground\n"
	        "  -s  listen on SOCKET (default %s)\n"
	        "  -H  kxen-hv control socket (default $%s or %s)\n"
	        "  -l  append the log to LOGFILE (default stderr)\n"
	        "  -q  set a quota: nodes, node-size, perms, watches, transactions,\n"
	        "      transaction-nodes, output-bytes, outstanding\n"
	        "  -D  keep the tree, guests' watches and domains in DIR/%s (default %s),\n"
	        "      committed before each reply, and restore them at start\n"
	        "  --no-persist  keep everything in memory only (lost when the daemon stops)\n"
	        "  --sync  fdatasync each commit (survive a host crash, not only ours)\n"
	        "  --fresh  move an existing store aside (to FILE.old) and start empty\n",
	        DEFAULT_SOCKET, KXCTL_SOCKET_ENV, KXCTL_DEFAULT_SOCKET, PERSIST_FILE, DEFAULT_STORE);
}

int main(int argc, char **argv)
{
	static struct xs_server srv;
	struct hv hv = { .events_fd = -1 };
	const char *sock = DEFAULT_SOCKET, *logpath = NULL, *store_dir = DEFAULT_STORE;
	unsigned pflags = 0;
	static const struct option longopts[] = {
		{ "no-persist", no_argument, NULL, 'N' }, { "sync", no_argument, NULL, 'S' },
		{ "fresh", no_argument, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	bool foreground = false;
	int opt, lfd, rc = 1;

	logfp = stderr;
	if (server__init(&srv) < 0) {
		fprintf(stderr, "kxenstored: out of memory\n");
		return 1;
	}
	while ((opt = getopt_long(argc, argv, "fs:H:l:q:D:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'D': store_dir = optarg; break;
		case 'N': store_dir = NULL; break;
		case 'S': pflags |= PERSIST_SYNC; break;
		case 'F': pflags |= PERSIST_FRESH; break;
		case 'f': foreground = true; break;
		case 's': sock = optarg; break;
		case 'H': hv.sock = optarg; break;
		case 'l': logpath = optarg; break;
		case 'q': {
			char *eq = strchr(optarg, '='), *end;
			unsigned long v = eq ? strtoul(eq + 1, &end, 10) : 0;
			if (eq)
				*eq = 0;
			if (!eq || *end || v > UINT32_MAX || quota__set(&srv.quota, optarg, (unsigned)v) < 0) {
				fprintf(stderr, "kxenstored: bad quota '%s' (want NAME=VALUE, VALUE > 0)\n", optarg);
				return 2;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (logpath && !(logfp = fopen(logpath, "a"))) {
		fprintf(stderr, "kxenstored: cannot open log %s: %s\n", logpath, strerror(errno));
		return 1;
	}
	srv.log = log_line;
	srv.update = update;
	/* Each introduced domain holds an eventfd; 1000 domains need more than 1024 fds. */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	hv.epfd = epfd;
	srv.domops = hv__ops(&hv);
	if (!foreground && daemon(1, logpath ? 0 : 1) < 0) {
		perror("kxenstored: daemon");
		return 1;
	}
	if (store_dir) {
		char err[PATH_MAX + 256];
		int n;
		if (persist__open(&srv, store_dir, pflags, err, sizeof(err)) < 0) {
			log_line("%s", err);
			if (logpath)
				fprintf(stderr, "kxenstored: %s\n", err);
			return 1;
		}
		/* Guests that ran on while we were down carry on; those that died are released. */
		if ((n = persist__restore_domains(&srv)) < 0) {
			log_line("cannot restore the domains kept in %s/%s: %s", store_dir, PERSIST_FILE, strerror(-n));
			return 1;
		}
		log_line("state in %s/%s: %u nodes, %d domains restored", store_dir, PERSIST_FILE,
		         srv.store.count, n);
	}
	/* Last: clients see the socket only once we can serve them. */
	if ((lfd = listen_on(sock)) < 0)
		return 1;
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &listen_tag };
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
	log_line("serving on %s (pid %d)", sock, (int)getpid());

	while (!stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_line("epoll_wait: %s", strerror(errno));
			goto out;
		}
		srv.defer_free = true;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &listen_tag) {
				accept_clients(&srv, lfd);
			} else if (p == &hv.events_tag) {
				hv__check_domains(&hv, &srv);
			} else {
				struct xs_conn *c = p;
				if (c->dead)
					continue;
				if (c->ops == &ring_conn_ops) {
					uint64_t cnt;
					if (read(c->fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
						log_line("d%u: event fd: %s", c->domid, strerror(errno));
				} else if (evs[i].events & (EPOLLHUP | EPOLLERR) && !(evs[i].events & EPOLLIN)) {
					server__drop(c, -ECONNRESET);
					continue;
				}
				server__service(c);
			}
		}
		/* Once per batch: with persistence, one commit covers every request of the batch. */
		server__flush(&srv);
		srv.defer_free = false;
		server__reap(&srv);
	}
	log_line("stopping");
	rc = 0;
out:
	close(lfd);
	unlink(sock);
	/* First: tearing the tree down must not reach the store, which keeps it for the next start. */
	persist__close(&srv);
	server__fini(&srv);
	hv__close(&hv);
	return rc;
}
