/* Dropping root: a daemon that has opened what needs root goes on as an ordinary user, keeping only the capabilities it names. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kxen/kxd.h"

/* Effective and permitted: exactly the caps of keep (glibc has no capset wrapper; libcap is not worth it for this). */
static int caps_set(const int *keep, unsigned nkeep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	for (unsigned i = 0; i < nkeep; i++) {
		d[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		d[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int kxd_privs_drop(const char *user, const int *keep, unsigned nkeep)
{
	struct passwd pw, *p = NULL;
	char buf[4096];
	int rc;

	errno = 0;
	if ((rc = getpwnam_r(user, &pw, buf, sizeof(buf), &p)) || !p)
		return rc ? -rc : -ENOENT;
	/* Its supplementary groups too: the group of kxen-hv's socket or of the images may be one. */
	if (initgroups(user, pw.pw_gid) < 0 || setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0)
		return -errno;
	if (nkeep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0)
		return -errno;
	if (nkeep && ((rc = caps_set(keep, nkeep)) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0))
		return rc < 0 ? rc : -errno;
	/* Never half-dropped: root must be out of reach now. */
	if (pw.pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return -EPERM;
	return 0;
}

int kxd_socket_group(const char *name, gid_t *gid)
{
	struct group *g = getgrnam(name);

	if (!g)
		return -ENOENT;
	*gid = g->gr_gid;
	return 0;
}

bool kxd_peer_allowed(int fd, gid_t gid, bool *owner)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	bool own;

	if (owner)
		*owner = false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		return false;
	own = cred.uid == 0 || cred.uid == getuid();
	if (owner)
		*owner = own;
	return own || (gid != (gid_t)-1 && cred.gid == gid);
}
