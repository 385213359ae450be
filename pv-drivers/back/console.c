/* The console backend: drains each domain's console ring into its log file and a pty, and feeds pty input back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "backd.h"
#include "xenbus.h"
#include "cons_ring.h"
#include "cons_linger.h"

#define PAGE_SIZE 4096u

/* One domain's console: xenbus_priv of its device (cut off for good: xd->broken). */
struct cons {
	struct xenbus_dev *xd;
	unsigned long gfn, port;       /* console/ring-ref and console/port, as probed */
	struct cons_ring ring;
	void *page;
	uint32_t local_port;
	int notify_fd, kick_fd, log_fd, master_fd, slave_fd;
	char log_path[PATH_MAX];
	char tty[64];
	char in_pend[sizeof(((struct xencons_interface *)0)->in)];   /* pty input the ring had no room for */
	size_t in_pend_len;
};

static void release(struct backd *bd, struct cons *c)
{
	if (c->notify_fd >= 0) {
		kxd_loop_del(&bd->loop, c->notify_fd);
		close(c->notify_fd);
	}
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	if (c->local_port)
		kxctrl_evtchn_close(bd->hv, c->local_port);
	if (c->master_fd >= 0) {
		kxd_loop_del(&bd->loop, c->master_fd);
		close(c->master_fd);
	}
	if (c->slave_fd >= 0)
		close(c->slave_fd);
	if (c->log_fd >= 0)
		close(c->log_fd);
	if (c->page)
		munmap(c->page, PAGE_SIZE);
	if (c->tty[0]) {
		char path[64];

		snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/console/tty", c->xd->domid);
		xs_rm(bd->xs, XBT_NULL, path);   /* fails harmlessly once the domain is gone */
	}
	c->notify_fd = c->kick_fd = c->master_fd = c->slave_fd = c->log_fd = -1;
	c->local_port = 0;
	c->page = NULL;
	c->tty[0] = 0;
}

/* Cuts a misbehaving domain's console off for good, saying why. */
static void cons_break(struct backd *bd, struct cons *c, const char *why)
{
	xenbus_dev_fatal(c->xd, why);
}

static void kick(struct cons *c)
{
	uint64_t one = 1;

	if (write(c->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		kxd_log("d%" PRIu32 ": console: notify guest: %s", c->xd->domid, strerror(errno));
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Guest output: into the log first, and only then consumed, so a backend
 * killed at any point finds the bytes still in the ring on restart. The pty
 * gets what it can take without blocking; a client that does not read
 * loses output, the log never does.
 */
static void drain_out(struct backd *bd, struct cons *c)
{
	char buf[sizeof(((struct xencons_interface *)0)->out)];
	bool consumed = false;
	int n, rc;

	while ((n = cons_ring__peek_out(&c->ring, buf, sizeof(buf))) > 0) {
		if ((rc = write_all(c->log_fd, buf, (size_t)n))) {
			/* Left in the ring: the guest waits rather than loses output; retried on its next event. */
			kxd_log("d%" PRIu32 ": console: write %s: %s", c->xd->domid, c->log_path,
				  strerror(-rc));
			break;
		}
		cons_ring__consume_out(&c->ring, (size_t)n);
		consumed = true;
		if (write(c->master_fd, buf, (size_t)n) < 0 && errno != EAGAIN && errno != EIO)
			kxd_log("d%" PRIu32 ": console: pty: %s", c->xd->domid, strerror(errno));
	}
	if (n < 0) {
		cons_break(bd, c, "out ring indexes are corrupt (out_prod more than a ring ahead)");
		return;
	}
	if (consumed)
		kick(c);   /* a writer blocked on a full ring goes on */
}

/* Moves held-back pty input into the in ring; resumes reading the pty once it is all in. */
static void flush_in(struct backd *bd, struct cons *c)
{
	int n;

	if (!c->in_pend_len)
		return;
	n = cons_ring__put_in(&c->ring, c->in_pend, c->in_pend_len);
	if (n < 0) {
		cons_break(bd, c, "in ring indexes are corrupt (in_cons outside the ring)");
		return;
	}
	memmove(c->in_pend, c->in_pend + n, c->in_pend_len - (size_t)n);
	c->in_pend_len -= (size_t)n;
	if (n)
		kick(c);
	if (!c->in_pend_len)
		kxd_loop_mod(&bd->loop, c->master_fd, EPOLLIN);
}

static void on_guest(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	struct cons *c = arg;
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	drain_out(bd, c);
	if (!c->xd->broken)
		flush_in(bd, c);
}

static void on_pty(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	struct cons *c = arg;
	ssize_t n;

	n = read(fd, c->in_pend, sizeof(c->in_pend));
	if (n <= 0)
		return;   /* EAGAIN; EIO cannot happen while we hold the slave open */
	c->in_pend_len = (size_t)n;
	/* Stop reading until this is in the ring: the guest paces the typist, we buffer nothing more. */
	kxd_loop_mod(&bd->loop, c->master_fd, 0);
	flush_in(bd, c);
}

/* A log file name from the domain's name as kxen-hv knows it (the guest cannot change that one). */
static int open_log(struct backd *bd, struct cons *c)
{
	struct kxctl_dominfo info;
	char name[KXCTL_NAME_MAX];
	int rc;

	if ((rc = kxctrl_domain_info(bd->hv, c->xd->domid, &info)))
		return rc;
	snprintf(name, sizeof(name), "%s", info.name);
	for (char *p = name; *p; p++)
		if (*p == '/' || (p == name && *p == '.'))
			*p = '_';
	if (mkdir(bd->opt.console_dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	snprintf(c->log_path, sizeof(c->log_path), "%s/guest-%s.log", bd->opt.console_dir, name);
	c->log_fd = open(c->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return c->log_fd < 0 ? -errno : 0;
}

/* The pty `kxl console` (or any terminal program) opens; raw, as xenconsoled makes it. */

/*
 * Writes console/tty only while the domain's console directory exists: the
 * toolstack may remove /local/domain/N at any moment (a failed create, a
 * destroy), and a plain write would bring it back through implicit parent
 * creation. The transaction makes the check and the write one step.
 */
static int publish_tty(struct backd *bd, uint32_t domid, const char *tty)
{
	char dir[64], path[80];

	snprintf(dir, sizeof(dir), "/local/domain/%" PRIu32 "/console", domid);
	snprintf(path, sizeof(path), "%s/tty", dir);
	for (unsigned tries = 0; tries < 16; tries++) {
		xs_transaction_t t = xs_transaction_start(bd->xs);
		unsigned len;
		void *v;

		if (t == XBT_NULL)
			return -errno;
		v = xs_read(bd->xs, t, dir, &len);
		if (!v) {
			int rc = -errno;
			xs_transaction_end(bd->xs, t, true);
			return rc;
		}
		free(v);
		if (!xs_write(bd->xs, t, path, tty, (unsigned)strlen(tty))) {
			int rc = -errno;
			xs_transaction_end(bd->xs, t, true);
			return rc;
		}
		if (xs_transaction_end(bd->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

static int open_pty(struct backd *bd, struct cons *c)
{
	struct termios t;

	c->master_fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (c->master_fd < 0 || grantpt(c->master_fd) < 0 || unlockpt(c->master_fd) < 0 ||
	    ptsname_r(c->master_fd, c->tty, sizeof(c->tty)) != 0)
		return -errno;
	/* Holding the slave keeps the master from EIO/HUP while no client is attached. */
	c->slave_fd = open(c->tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->slave_fd < 0 || tcgetattr(c->slave_fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	if (tcsetattr(c->slave_fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

static int map_ring(struct backd *bd, struct cons *c, unsigned long gfn)
{
	uint64_t page_gfn;
	int memfd, rc;

	/* The console page alone: kxen-hv gives a backend nothing else of a guest's RAM. */
	if ((rc = kxctrl_map_special_page(bd->hv, c->xd->domid, KXCTL_PAGE_CONSOLE, &memfd, &page_gfn)))
		return rc;
	if (gfn != page_gfn) {
		close(memfd);
		return -ERANGE;
	}
	c->page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	rc = c->page == MAP_FAILED ? -errno : 0;
	if (rc)
		c->page = NULL;
	close(memfd);   /* the mapping keeps the page */
	return rc;
}

/* The toolstack's keys: console/ring-ref (a gfn) and console/port; -EAGAIN until both are there. */
static int console_probe(struct xenbus_dev *xd, char *err, size_t len)
{
	struct cons *c = xenbus_priv(xd);
	int rc;

	c->xd = xd;
	rc = xenbus_read_ulong(xd->bd, xd->fe, "ring-ref", UINT64_MAX / PAGE_SIZE, &c->gfn);
	if (rc == 0)
		rc = xenbus_read_ulong(xd->bd, xd->fe, "port", UINT32_MAX, &c->port);
	if (rc == -ENOENT)
		return -EAGAIN;   /* the toolstack has not written them yet */
	if (rc) {
		snprintf(err, len, "%s", xenbus_why());
		return rc;
	}
	if (c->port == 0) {
		snprintf(err, len, "console/port is out of range");
		return -ERANGE;
	}
	return 0;
}

static int console_connect(struct xenbus_dev *xd, char *err, size_t len)
{
	struct cons *c = xenbus_priv(xd);
	struct backd *bd = xd->bd;
	const char *step;
	int rc;

	c->notify_fd = c->kick_fd = c->log_fd = c->master_fd = c->slave_fd = -1;
	/*
	 * The log first, while the domain surely exists (its name comes from
	 * kxen-hv): once the port is bound, a console=ring guest may print its
	 * last line and be gone within milliseconds, and its ring must still
	 * have somewhere to go.
	 */
	if ((rc = open_log(bd, c))) {
		step = "open its log file";
		goto out;
	}
	if ((rc = map_ring(bd, c, c->gfn))) {
		step = rc == -ERANGE ? "console/ring-ref lies outside the domain's RAM" : "map the ring page";
		goto out;
	}
	rc = kxctrl_evtchn_bind_interdomain(bd->hv, xd->domid, (uint32_t)c->port, &c->local_port,
					    &c->notify_fd, &c->kick_fd);
	if (rc) {
		step = "bind its event channel (is another kxen-backd serving it?)";
		goto out;
	}
	if ((rc = open_pty(bd, c))) {
		step = "set up its pty";
		goto out;
	}
	/*
	 * Not fatal: the log must still get what the ring holds. A guest that
	 * printed and powered off at once is gone (its home with it) by now,
	 * and detaching drains its last words.
	 */
	if ((rc = publish_tty(bd, xd->domid, c->tty)))
		kxd_log("d%" PRIu32 ": console/tty not published (%s): %s", xd->domid,
			  rc == -ENOENT ? "the domain's home is gone" : "xenstore", strerror(-rc));
	cons_ring__init(&c->ring, c->page);
	if ((rc = kxd_loop_add(&bd->loop, c->notify_fd, EPOLLIN, on_guest, c)) ||
	    (rc = kxd_loop_add(&bd->loop, c->master_fd, EPOLLIN, on_pty, c))) {
		step = "watch its fds";
		goto out;
	}
	kxd_log("d%" PRIu32 ": console attached: ring gfn %#lx, port %lu, log %s, tty %s",
		  xd->domid, c->gfn, c->port, c->log_path, c->tty);
	/*
	 * What the guest wrote while no backend was here: drained from the loop
	 * once we count as connected, so a corrupt ring is cut off like any other.
	 */
	uint64_t one = 1;
	if (write(c->notify_fd, &one, sizeof(one)) != sizeof(one))
		kxd_log("d%" PRIu32 ": console: cannot prime its event fd: %s", xd->domid, strerror(errno));
	return 0;
out:
	snprintf(err, len, "cannot %s", step);
	release(bd, c);
	return rc;
}

static void console_disconnect(struct xenbus_dev *xd)
{
	struct cons *c = xenbus_priv(xd);

	/* Last words: a guest that crashed may have left output we have not been told of. */
	if (!xd->broken)
		drain_out(xd->bd, c);
	/* Drained whole (not cut off meanwhile): the pty stays until its client has read them. */
	if (!xd->broken && c->master_fd >= 0 && c->slave_fd >= 0) {
		kxd_loop_del(&xd->bd->loop, c->master_fd);
		cons_linger__close(xd->bd, c->master_fd, c->slave_fd);
		c->master_fd = c->slave_fd = -1;
	}
	release(xd->bd, c);
}

static void console_reopen(struct xenbus_dev *xd)
{
	struct cons *c = xenbus_priv(xd);
	int fd;

	fd = open(c->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		kxd_log("d%" PRIu32 ": console: reopen %s: %s; keeping the old file", xd->domid,
			  c->log_path, strerror(errno));
		return;
	}
	close(c->log_fd);
	c->log_fd = fd;
}

const struct xenbus_type console_xenbus = {
	.type = "console",
	.frontend_only = true,
	.priv_size = sizeof(struct cons),
	.probe = console_probe,
	.connect = console_connect,
	.disconnect = console_disconnect,
	.reopen = console_reopen,
};
