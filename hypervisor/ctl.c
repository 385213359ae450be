/* The privileged control socket: connections, replies, dom0 event sends, domain reaping. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "log.h"
#include "evtchn.h"
#include "vcpu.h"
#include "domain.h"
#include "kvm.h"
#include "ctl.h"
#include "hypercall.h"
#include "gnttab.h"
#include "kxen/kxd.h"

static uint8_t req_buf[KXCTL_MAX_MSG];
static uint8_t rep_buf[KXCTL_MAX_MSG];
static struct ctl_conn *conns;

/* Unwatches a dom0 port's kick eventfd, then closes the port (which closes the eventfds). */
static void conn_close_port(struct ctl_conn *c, unsigned i)
{
	struct ctl_port *p = &c->ports[i];

	kxd_loop_del(c->loop, p->kick);
	evtchn_close(domain_dom0(), p->port);
	c->ports[i] = c->ports[--c->nr_ports];
}

/* Later events of this batch for c's fds are dropped by the loop, so c can go now. */
static void conn_free(struct ctl_conn *c)
{
	while (c->nr_ports)
		conn_close_port(c, c->nr_ports - 1);
	ctl_gnttab_release(&c->gnt);
	if (c->events_fd >= 0)
		domevents_unsubscribe(c->events_fd);
	kxd_loop_del(c->loop, c->fd);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	free(c);
}

static int send_reply(int fd, const struct kxctl_hdr *req, int ret, const void *body,
                      size_t len, const int *fds, unsigned nfds)
{
	struct kxctl_hdr h = { .op = req->op, .len = (uint32_t)len, .ret = ret, .seq = req->seq };
	char cbuf[CMSG_SPACE(sizeof(int) * 2)];
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (nfds && ret == 0) {
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

int ctl_hello(struct ctl_req *r)
{
	uint32_t v = KXCTL_VERSION;

	memcpy(r->rep, &v, sizeof(v));
	r->rlen = sizeof(v);
	return 0;
}

int ctl_host_info(struct ctl_req *r)
{
	struct kxctl_host_info *hi = r->rep;
	struct sysinfo si;

	memset(hi, 0, sizeof(*hi));
	hi->nr_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	hi->nr_domains = domain_count();
	if (sysinfo(&si) == 0) {
		hi->total_mem_bytes = (uint64_t)si.totalram * si.mem_unit;
		hi->free_mem_bytes = (uint64_t)si.freeram * si.mem_unit;
	}
	hi->domain_mem_bytes = domain_total_mem();
	hi->max_grant_frames = gnttab_max_frames;
	hi->cpu_khz = kvm_tsc_khz();
	snprintf(hi->version, sizeof(hi->version), "%d.%d%s", KXEN_VERSION_MAJOR,
	         KXEN_VERSION_MINOR, KXEN_EXTRAVERSION);
	snprintf(hi->kvm_info, sizeof(hi->kvm_info), "KVM API %d", 12);
	r->rlen = sizeof(*hi);
	return 0;
}

static void kick_readable(struct kxd_loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) == sizeof(n))
		evtchn_send(domain_dom0(), (evtchn_port_t)(uintptr_t)arg);
}

/* A dom0 port bound to (dom, port) with its pair of eventfds; it belongs to the connection. */
int ctl_evtchn_bind_interdomain(struct ctl_req *r)
{
	const struct kxctl_evtchn_bind_interdomain *b = r->p;
	struct ctl_conn *c = r->conn;
	struct domain *dom0 = domain_dom0();
	struct kxctl_port out = { 0 };
	evtchn_port_t port;
	int notify = -1, kick = -1, rc;

	if (c->nr_ports == CTL_CONN_MAX_PORTS)
		return -ENOSPC;
	notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (notify < 0 || kick < 0) {
		rc = -ENOMEM;
		goto out;
	}
	rc = evtchn_bind_interdomain(dom0, (domid_t)b->remote_domid, b->remote_port, &port);
	if (rc)
		goto out;
	evtchn_dom0_attach(dom0, port, notify, kick);
	rc = kxd_loop_add(c->loop, kick, EPOLLIN, kick_readable, (void *)(uintptr_t)port);
	if (rc) {
		evtchn_close(dom0, port);   /* closes both eventfds */
		return rc;
	}
	c->ports[c->nr_ports++] = (struct ctl_port){ .port = port, .kick = kick };
	out.port = port;
	memcpy(r->rep, &out, sizeof(out));
	r->rlen = sizeof(out);
	/* SCM_RIGHTS sends duplicates: the port keeps its own eventfds. */
	r->fds[0] = notify;
	r->fds[1] = kick;
	r->nfds = 2;
	return 0;
out:
	if (notify >= 0)
		close(notify);
	if (kick >= 0)
		close(kick);
	return rc;
}

int ctl_evtchn_close(struct ctl_req *r)
{
	const struct kxctl_port *pt = r->p;
	struct ctl_conn *c = r->conn;

	for (unsigned i = 0; i < c->nr_ports; i++)
		if (c->ports[i].port == pt->port) {
			conn_close_port(c, i);
			return 0;
		}
	return -EINVAL;
}

/* One subscription per connection; asking again hands out the same eventfd. */
int ctl_domain_events(struct ctl_req *r)
{
	struct ctl_conn *c = r->conn;

	if (c->events_fd < 0) {
		int fd = domevents_subscribe();
		if (fd < 0)
			return fd;
		c->events_fd = fd;
	}
	r->fds[r->nfds++] = c->events_fd;
	return 0;
}

/* Reads one request and always answers it, with -errno on failure. */
static void conn_readable(struct kxd_loop *l, int fd, uint32_t events, void *arg)
{
	struct ctl_conn *c = arg;
	struct kxctl_hdr h;
	ssize_t n = recv(fd, req_buf, sizeof(req_buf), MSG_DONTWAIT);

	(void)l;
	(void)events;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (size_t)n < sizeof(h)) {
		conn_free(c);   /* hung up, or not our protocol */
		return;
	}
	memcpy(&h, req_buf, sizeof(h));
	if (h.len != (size_t)n - sizeof(h)) {
		send_reply(c->fd, &h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	struct ctl_req r = { .conn = c, .p = req_buf + sizeof(h), .len = h.len,
	                     .rep = rep_buf, .rep_max = sizeof(rep_buf) - sizeof(h) };
	const struct ctl_op *op = ctl_op_find(h.op);
	int rc = op ? ctl_dispatch(op, &r) : -ENOSYS;
	if (hypercall_trace)
		hvlog("(XEN) ctl %s (op %u, %u bytes) -> %d", op ? op->name : "unknown", h.op, h.len, rc);
	send_reply(c->fd, &h, rc, rep_buf, r.rlen, r.fds, (unsigned)r.nfds);
	for (int i = 0; r.own_fds && i < r.nfds; i++)
		close(r.fds[i]);
}

static void accept_conn(struct kxd_loop *l, int lfd, uint32_t events, void *arg)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	bool owner;

	(void)events;
	(void)arg;
	if (fd < 0)
		return;
	/* Privileged interface: root, whoever runs this kxen-hv (tests), or --socket-group. */
	if (!kxd_peer_allowed(fd, ctl_peer_gid, &owner)) {
		close(fd);
		return;
	}
	struct ctl_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->loop = l;
	c->fd = fd;
	c->events_fd = -1;
	c->privileged = owner;
	if (kxd_loop_add(l, fd, EPOLLIN, conn_readable, c)) {
		close(fd);
		free(c);
		return;
	}
	c->next = conns;
	if (conns)
		conns->pprev = &c->next;
	c->pprev = &conns;
	conns = c;
}

static void reap_readable(struct kxd_loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	(void)arg;
	domain_reap();
}

/*
 * Not kxd_loop_signals: for kxen-hv SIGHUP stops too (docs/operating.md),
 * and the line goes to the hypervisor log that KXCTL_LOG_READ serves.
 */
static void signal_readable(struct kxd_loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		hvlog("(XEN) signal %u: shutting down, destroying all domains", si.ssi_signo);
		l->quit = true;
	}
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		hvlog("(XEN) control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	mkdir(dirname(dir), 0700);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket file nobody answers on is stale; a live one means kxen-hv already runs. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		hvlog("(XEN) another kxen-hv is already serving %s", path);
		return -EADDRINUSE;
	}
	close(fd);
	/*
	 * Bound under a temporary name and renamed into place once listening:
	 * whoever sees the socket file (kxenstored, a test) is never refused.
	 */
	char tmp[sizeof(sa.sun_path)];
	if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		hvlog("(XEN) control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, tmp);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0 || rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		close(fd);
		hvlog("(XEN) cannot listen on %s: %s", path, strerror(-rc));
		return rc;
	}
	return fd;
}

void (*ctl_ready_hook)(void);
gid_t ctl_peer_gid = (gid_t)-1;

int ctl_serve(const char *path)
{
	struct kxd_loop l;
	sigset_t ss;
	int lfd, sfd = -1, rc;

	lfd = listen_on(path);
	if (lfd < 0)
		return lfd;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	/* On failure l is empty and kxd_loop_fini below is harmless. */
	if ((rc = kxd_loop_init(&l)))
		goto out;
	sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = kxd_loop_add(&l, lfd, EPOLLIN, accept_conn, NULL)) ||
	    (rc = kxd_loop_add(&l, domain_reap_fd(), EPOLLIN, reap_readable, NULL)) ||
	    (rc = kxd_loop_add(&l, sfd, EPOLLIN, signal_readable, NULL)))
		goto out;
	hvlog("(XEN) kxen-hv %d.%d%s listening on %s", KXEN_VERSION_MAJOR, KXEN_VERSION_MINOR,
	      KXEN_EXTRAVERSION, path);
	if (ctl_ready_hook)
		ctl_ready_hook();
	rc = kxd_loop_run(&l);
	for (uint32_t id = 1; id < DOMID_FIRST_RESERVED; id++) {
		struct domain *d = domain_get(id);
		if (d) {
			domain_put(d);
			domain_destroy(id);
		}
	}
	/* Their maps held the last references of destroyed domains: those go now. */
	while (conns)
		conn_free(conns);
out:
	unlink(path);
	close(lfd);
	if (sfd >= 0)
		close(sfd);
	kxd_loop_fini(&l);
	return rc;
}
