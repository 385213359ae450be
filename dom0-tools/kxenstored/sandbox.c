/* kxenstored's seccomp list: one thread serving sockets and guest rings (docs/architecture.md "Least privilege"). */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ioctl.h>

#include "kxen/kxd.h"
#include "kxsd_main.h"

static const uint64_t unix_only[] = { AF_UNIX };
static const uint64_t tty_query[] = { TCGETS };   /* stdio asks whether the log is a terminal */
static const uint64_t capbset_read[] = { PR_CAPBSET_READ };
static const uint64_t sigkill[] = { SIGKILL };
/* sd_notify sizes its socket's buffer */
static const uint64_t sol_socket[] = { SOL_SOCKET };

static const struct kxd_scrule xsd_list[] = {
	/* its socket, kxen-hv's control socket (store pages and event channels arrive as fds), sd_notify */
	KXD_SC_ARG(socket, 0, unix_only), KXD_SC(bind), KXD_SC(listen), KXD_SC(accept4), KXD_SC(connect),
	KXD_SC(getsockopt), KXD_SC_ARG(setsockopt, 1, sol_socket), KXD_SC(sendmsg), KXD_SC(recvmsg), KXD_SC(sendto), KXD_SC(recvfrom),
	KXD_SC(epoll_create1), KXD_SC(epoll_ctl), KXD_SC(epoll_wait), KXD_SC(epoll_pwait), KXD_SC(signalfd4),
	KXD_SC(rt_sigaction), KXD_SC(eventfd2), KXD_SC(close), KXD_SC(read), KXD_SC(fcntl),
	KXD_SC_ARG(ioctl, 1, tty_query),
	/* the log, the pid file and the socket's path */
	KXD_SC(openat), KXD_SC(pread64), KXD_SC(lseek), KXD_SC(newfstatat), KXD_SC(fstat), KXD_SC(mkdir),
	KXD_SC(rename), KXD_SC(unlink), KXD_SC(umask), KXD_SC(fchownat), KXD_SC(fchmodat), KXD_SC(getrandom), KXD_SC_ARG(prctl, 0, capbset_read),
	/* persist.c: LMDB's file, its lock file and commits */
	KXD_SC(pwrite64), KXD_SC(pwritev), KXD_SC(fdatasync), KXD_SC(fsync), KXD_SC(msync), KXD_SC(flock),
	KXD_SC(ftruncate), KXD_SC(fstatfs), KXD_SC(statfs), KXD_SC(uname), KXD_SC(mincore),
	KXD_SC_ARG(kill, 1, sigkill),   /* its fault points (tests) kill the daemon mid-commit */
	{ NULL },
};

int sandbox__install(void)
{
	return kxd_seccomp_install("kxenstored", xsd_list, true);
}
