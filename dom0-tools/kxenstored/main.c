/* main.c: kxenstored's options, UNIX socket and connections on libkxdaemon's loop (one thread; no client can block another). */
#define _GNU_SOURCE     /* accept4 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kxsd_main.h"
#include <kxen/notify.h>
#include "persist.h"

#define NAME "kxenstored"
#define DEFAULT_SOCKET "/run/xenstored/socket"   /* Xen's, where libxenstore looks */
#define DEFAULT_STORE "/var/lib/kxen/xenstore"

static struct kxd_loop loop;
/*
 * --socket-group: that group may connect too, as to kxen-hv's socket, so a
 * kxen-backd -u USER (USER in the group) reconnects after a restart of
 * ours; (gid_t)-1: root (and whoever runs us) only, as Xen's socket.
 */
static gid_t peer_gid = (gid_t)-1;

/* Socket clients: read only while under output quota, write while output waits. */
static void update(struct xs_conn *c)
{
	if (c->dead || c->ops != &sock_conn_ops)
		return;
	uint32_t want = (conn__blocked(c) ? 0 : EPOLLIN) | (c->out ? EPOLLOUT : 0);
	if ((uintptr_t)c->priv == want)
		return;
	kxd_loop_mod(&loop, c->fd, want);
	c->priv = (void *)(uintptr_t)want;
}

static void closing(struct xs_conn *c)
{
	kxd_loop_del(&loop, c->fd);
}

static void free_later(void *c)
{
	kxd_loop_defer(&loop, free, c);
}

/* A socket client or a guest's event fd has events. */
static void on_conn(struct kxd_loop *l, int fd, uint32_t ev, void *arg)
{
	struct xs_conn *c = arg;

	if (c->dead)
		return;
	if (c->ops == &ring_conn_ops) {
		uint64_t cnt;
		if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			kxd_log("d%u: event fd: %s", c->domid, strerror(errno));
		server__service(c);
	} else if (ev & (EPOLLHUP | EPOLLERR) && !(ev & EPOLLIN)) {
		server__drop(c, -ECONNRESET);
	} else {
		server__service(c);
	}
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
		kxd_log("socket path too long: %s", path);
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
	/* The group before the name appears: no client ever sees the socket root's only. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
	    (peer_gid != (gid_t)-1 && (fchownat(AT_FDCWD, tmp, (uid_t)-1, peer_gid, 0) < 0 ||
	                                fchmodat(AT_FDCWD, tmp, 0660, 0) < 0)) ||
	    rename(tmp, path) < 0) {
		kxd_log("cannot listen on %s: %s", path, strerror(errno));
		unlink(tmp);
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

/* Once per batch: with persistence, one store commit covers every request of the batch. */
static void on_batch_end(struct kxd_loop *l, void *arg)
{
	(void)l;
	server__flush(arg);
}

static void on_listen(struct kxd_loop *l, int lfd, uint32_t ev, void *arg)
{
	struct xs_server *srv = arg;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!kxd_peer_allowed(fd, peer_gid, NULL)) {
			kxd_log("socket client refused: not root, not uid %u and not in --socket-group",
			        (unsigned)getuid());
			close(fd);
			continue;
		}
		struct xs_conn *c = conn__new(srv, &sock_conn_ops, (void *)(uintptr_t)EPOLLIN, fd, 0, true);
		if (!c) {
			close(fd);
		} else if (kxd_loop_add(l, fd, EPOLLIN, on_conn, c) < 0) {
			conn__free(c);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kxenstored [-f] [-s SOCKET] [-H HV_SOCKET] [-l LOGFILE] [-q NAME=VALUE]...\n"
	        "                  [-D DIR | --no-persist] [--sync] [--fresh] [--socket-group G]\n"
	        "  -f  stay in the foreground (default: become a daemon, pid in $KXEN_RUN_DIR/%s.pid or %s/)\n"
	        "  -s  listen on SOCKET (default %s)\n"
	        "  -H  kxen-hv control socket (default $%s or %s)\n"
	        "  -l  append the log to LOGFILE (default stderr; as a daemon /var/log/kxen/%s.log)\n"
	        "  -q  set a quota: nodes, node-size, perms, watches, transactions,\n"
	        "      transaction-nodes, output-bytes, outstanding\n"
	        "  --socket-group G  group G may connect to SOCKET too (mode 0660; kxen-backd -u)\n"
	        "  --no-seccomp   no system call filter (debugging; $KXEN_SECCOMP=log: log, not kill)\n"
	        "  -D  keep the tree, guests' watches and domains in DIR/%s (default %s),\n"
	        "      committed before each reply, and restore them at start\n"
	        "  --no-persist  keep everything in memory only (lost when the daemon stops)\n"
	        "  --sync  fdatasync each commit (survive a host crash, not only ours)\n"
	        "  --fresh  move an existing store aside (to FILE.old) and start empty\n"
	        "  -h, --help     this text\n"
	        "  -V, --version  kxenstored's version\n",
	        NAME, KXD_RUNDIR_DEFAULT, DEFAULT_SOCKET, KXCTL_SOCKET_ENV, KXCTL_DEFAULT_SOCKET, NAME,
	        PERSIST_FILE, DEFAULT_STORE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-seccomp", no_argument, NULL, 'X' },
		{ "no-persist", no_argument, NULL, 'N' },
		{ "sync", no_argument, NULL, 'S' },
		{ "fresh", no_argument, NULL, 'F' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	static struct xs_server srv;
	struct hv hv = { .events_fd = -1, .loop = &loop, .srv = &srv, .on_ring = on_conn };
	const char *sock = DEFAULT_SOCKET, *logpath = NULL, *store_dir = DEFAULT_STORE;
	unsigned pflags = 0;
	char pidfile[256];
	bool foreground = false;
	int opt, lfd = -1, rc = 1;

	kxd_log_init(NAME);
	if (server__init(&srv) < 0) {
		fprintf(stderr, "kxenstored: out of memory\n");
		return 1;
	}
	while ((opt = getopt_long(argc, argv, "fs:H:l:q:D:hV", longopts, NULL)) != -1) {
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
		case 'g':
			if (kxd_socket_group(optarg, &peer_gid) < 0) {
				fprintf(stderr, "kxenstored: --socket-group: no group '%s'\n", optarg);
				return 2;
			}
			break;
		case 'X': kxd_seccomp_disable(); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("kxenstored %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* A daemon never logs to the terminal it was started from. */
	if (!foreground && !logpath && !(logpath = kxd_daemon_default_log(NAME))) {
		fprintf(stderr, "kxenstored: cannot create /var/log/kxen: %s (use -l)\n", strerror(errno));
		return 1;
	}
	if (logpath && (rc = kxd_log_open(logpath))) {
		fprintf(stderr, "kxenstored: cannot open log %s: %s\n", logpath, strerror(-rc));
		return 1;
	}
	if (!foreground && (rc = kxd_rundir_pidfile(NAME, pidfile, sizeof(pidfile)))) {
		fprintf(stderr, "kxenstored: run directory %s: %s\n", kxd_rundir(), strerror(-rc));
		return 1;
	}
	srv.log = kxd_log;
	srv.update = update;
	srv.closing = closing;
	srv.free_later = free_later;
	/* Each introduced domain holds an eventfd; 1000 domains need more than 1024 fds. */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!foreground && (rc = kxd_daemon_start())) {
		fprintf(stderr, "kxenstored: cannot become a daemon: %s\n", strerror(-rc));
		return 1;
	}
	rc = 1;
	if (kxd_loop_init(&loop) < 0 || kxd_loop_signals(&loop, NULL, NULL) < 0) {
		kxd_log("epoll/signalfd: %s", strerror(errno));
		goto out;
	}
	int src = sandbox__install();

	if (src < 0) {
		kxd_log("cannot install the seccomp filter: %s", strerror(-src));
		goto out;
	}
	kxd_loop_on_batch_end(&loop, on_batch_end, &srv);
	srv.domops = hv__ops(&hv);
	int restored = 0;
	if (store_dir) {
		char err[PATH_MAX + 256];
		if (persist__open(&srv, store_dir, pflags, err, sizeof(err)) < 0) {
			kxd_log("%s", err);
			goto out;
		}
		/* Guests that ran on while we were down carry on; those that died are released. */
		if ((restored = persist__restore_domains(&srv)) < 0) {
			kxd_log("cannot restore the domains kept in %s/%s: %s", store_dir, PERSIST_FILE,
			        strerror(-restored));
			goto out;
		}
	}
	/* Last: clients see the socket only once we can serve them. */
	if ((lfd = listen_on(sock)) < 0 || kxd_loop_add(&loop, lfd, EPOLLIN, on_listen, &srv) < 0)
		goto out;
	if (!foreground && kxd_daemon_ready(pidfile) < 0) {
		kxd_log("pid file %s: %s", pidfile, strerror(errno));
		goto out;
	}
	/* After ready: a daemon's starter shows only failures on its terminal. */
	if (store_dir)
		kxd_log("state in %s/%s: %u nodes, %d domains restored", store_dir, PERSIST_FILE,
		        srv.store.count, restored);
	kxd_log("serving on %s (pid %d)", sock, (int)getpid());
	notify__ready("serving");
	if ((rc = kxd_loop_run(&loop)) < 0) {
		kxd_log("epoll_wait: %s", strerror(-rc));
		rc = 1;
		goto out;
	}
	kxd_log("stopping");
	rc = 0;
out:
	if (lfd >= 0) {
		kxd_loop_del(&loop, lfd);
		close(lfd);
		unlink(sock);
	}
	/* First: tearing the tree down must not reach the store, which keeps it for the next start. */
	persist__close(&srv);
	server__fini(&srv);
	hv__close(&hv);
	kxd_daemon_stop();
	kxd_loop_fini(&loop);
	return rc;
}
