/* kxen-backd's seccomp lists: the daemon's, its vbd ring workers' and its block I/O pool threads' (docs/architecture.md "Least privilege"). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "backd.h"

static const uint64_t backd_ioctls[] = {
	TUNSETIFF, SIOCGIFFLAGS, SIOCSIFFLAGS,           /* a vif's TAP, brought up */
	TIOCGPTN, TIOCSPTLCK, TCGETS, TCSETS, FIONREAD,  /* a console's pty (grantpt, unlockpt, raw mode) */
};
/* AF_INET: the socket SIOCSIFFLAGS needs to bring a TAP up; nothing is sent on it. */
static const uint64_t families[] = { AF_UNIX, AF_INET };
static const uint64_t capbset_read[] = { PR_CAPBSET_READ };
/* sd_notify sizes its socket's buffer */
static const uint64_t sol_socket[] = { SOL_SOCKET };

/* What a disk format does to its image: read, write, grow, discard, flush. */
#define DISK_IO \
	KXD_SC(pread64), KXD_SC(pwrite64), KXD_SC(preadv), KXD_SC(pwritev), KXD_SC(fdatasync), \
	KXD_SC(fsync), KXD_SC(fallocate), KXD_SC(ftruncate), KXD_SC(lseek), KXD_SC(fstat), KXD_SC(newfstatat)

static const struct kxd_scrule backd_list[] = {
	KXD_SC_ARG(ioctl, 1, backd_ioctls),
	/* kxen-hv (grant memfds and event channels arrive as fds), xenstore, sd_notify */
	KXD_SC_ARG(socket, 0, families), KXD_SC(connect), KXD_SC(sendmsg), KXD_SC(recvmsg), KXD_SC(sendto),
	KXD_SC(recvfrom), KXD_SC(getsockopt), KXD_SC_ARG(setsockopt, 1, sol_socket),
	KXD_SC(epoll_create1), KXD_SC(epoll_ctl), KXD_SC(epoll_wait), KXD_SC(epoll_pwait), KXD_SC(signalfd4),
	KXD_SC(rt_sigaction), KXD_SC(eventfd2), KXD_SC(pipe2), KXD_SC(timerfd_create), KXD_SC(timerfd_settime),
	KXD_SC(poll), KXD_SC(ppoll), KXD_SC(read), KXD_SC(readv), KXD_SC(close), KXD_SC(fcntl),
	/* images (openat2: backing files beneath the image's directory), TAPs, ptys, console logs, device statistics */
	KXD_SC(openat), KXD_SC(openat2), KXD_SC(mkdir), KXD_SC(rename), KXD_SC(unlink), KXD_SC(umask), DISK_IO,
	KXD_SC(getrandom), KXD_SC_ARG(prctl, 0, capbset_read),
	/* block I/O threads and libxenstore's watch thread; threads only, never a fork */
	KXD_SC_FLAGS(clone, 0, CLONE_THREAD), KXD_SC_ERRNO(clone3, ENOSYS),
	{ NULL },
};

/* A pool thread runs one disk request at a time and signals its eventfd (write): no open, no socket. */
static const struct kxd_scrule pool_list[] = {
	DISK_IO,
	{ NULL },
};

/*
 * A vbd's ring worker parses the guest's requests: it maps their grants
 * over its own kxen-hv connection, hands them to the pool, waits and
 * signals eventfds. No open, socket, connect, ioctl or rename.
 */
static const struct kxd_scrule ring_list[] = {
	DISK_IO, KXD_SC(poll), KXD_SC(ppoll), KXD_SC(read), KXD_SC(sendmsg), KXD_SC(recvmsg), KXD_SC(close),
	{ NULL },
};

int sandbox__install(void)
{
	return kxd_seccomp_install("kxen-backd", backd_list, true);
}

void sandbox__pool(void)
{
	kxd_seccomp_thread("blkio", pool_list);
}

void sandbox__ring(void)
{
	kxd_seccomp_thread("blkring", ring_list);
}
