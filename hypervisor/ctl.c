/* The privileged control socket: requests from dom0 tools, dom0 event sends, domain reaping. */
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
#include "gnttab.h"

#define CONN_MAX_PORTS 1024

enum ep_type { EP_LISTEN, EP_CONN, EP_KICK, EP_REAP, EP_SIGNAL };

struct ep_item {
	enum ep_type type;
	int fd;
	struct conn *conn;      /* EP_CONN, EP_KICK */
	evtchn_port_t port;     /* EP_KICK */
};

struct conn {
	struct ep_item item;
	struct ep_item *kick[CONN_MAX_PORTS];   /* dom0 ports this client bound */
	unsigned nr_kick;
	struct ctl_gnttab gnt;                  /* grants this client mapped (gnttab.h) */
	int events_fd;                          /* KXCTL_DOMAIN_EVENTS subscription, or -1 */
};

static int epfd = -1;
static uint8_t req_buf[KXCTL_MAX_MSG];
static uint8_t rep_buf[KXCTL_MAX_MSG];

static int ep_add(struct ep_item *it)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = it };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, it->fd, &ev) < 0 ? -errno : 0;
}

/* A dom0 port's kick eventfd is watched here; unwatch before the port closes it. */
static void conn_close_port(struct conn *c, unsigned i)
{
	struct ep_item *k = c->kick[i];

	epoll_ctl(epfd, EPOLL_CTL_DEL, k->fd, NULL);
	evtchn_close(domain_dom0(), k->port);
	free(k);
	c->kick[i] = c->kick[--c->nr_kick];
}

static void conn_free(struct conn *c)
{
	while (c->nr_kick)
		conn_close_port(c, c->nr_kick - 1);
	ctl_gnttab_release(&c->gnt);
	if (c->events_fd >= 0)
		domevents_unsubscribe(c->events_fd);
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->item.fd, NULL);
	close(c->item.fd);
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

/* Looks up the domain a request names; dom0 itself is not a target for most ops. */
static struct domain *req_domain(const void *p, uint32_t len, int *rc)
{
	const struct kxctl_domid *id = p;

	if (len < sizeof(*id)) {
		*rc = -EINVAL;
		return NULL;
	}
	if (id->domid == 0) {
		*rc = -EPERM;
		return NULL;
	}
	struct domain *d = domain_get(id->domid);
	*rc = d ? 0 : -ESRCH;
	return d;
}

static void host_info(struct kxctl_host_info *hi)
{
	struct sysinfo si;

	memset(hi, 0, sizeof(*hi));
	hi->nr_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	hi->nr_domains = domain_count();
	if (sysinfo(&si) == 0) {
		hi->total_mem_bytes = (uint64_t)si.totalram * si.mem_unit;
		hi->free_mem_bytes = (uint64_t)si.freeram * si.mem_unit;
	}
	hi->domain_mem_bytes = domain_total_mem();
	hi->cpu_khz = kvm_tsc_khz();
	snprintf(hi->version, sizeof(hi->version), "%d.%d%s", KXEN_VERSION_MAJOR,
	         KXEN_VERSION_MINOR, KXEN_EXTRAVERSION);
	snprintf(hi->kvm_info, sizeof(hi->kvm_info), "KVM API %d", 12);
}

static int op_bind_interdomain(struct conn *c, const struct kxctl_evtchn_bind_interdomain *b,
                               struct kxctl_port *out, int fds[2])
{
	struct domain *dom0 = domain_dom0();
	evtchn_port_t port;
	struct ep_item *k = NULL;
	int notify = -1, kick = -1, rc;

	if (c->nr_kick == CONN_MAX_PORTS)
		return -ENOSPC;
	notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	k = calloc(1, sizeof(*k));
	if (notify < 0 || kick < 0 || !k) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = evtchn_bind_interdomain(dom0, (domid_t)b->remote_domid, b->remote_port, &port);
	if (rc)
		goto fail;
	evtchn_dom0_attach(dom0, port, notify, kick);
	*k = (struct ep_item){ .type = EP_KICK, .fd = kick, .conn = c, .port = port };
	if ((rc = ep_add(k)) < 0) {
		evtchn_close(dom0, port);   /* closes both eventfds */
		free(k);
		return rc;
	}
	c->kick[c->nr_kick++] = k;
	out->port = port;
	fds[0] = notify;
	fds[1] = kick;
	return 0;
fail:
	if (notify >= 0)
		close(notify);
	if (kick >= 0)
		close(kick);
	free(k);
	return rc;
}

/* Handles one request; the reply always goes out, with -errno on failure. */
static void handle_request(struct conn *c, const struct kxctl_hdr *h, const void *p)
{
	uint32_t len = h->len;
	size_t rlen = 0;
	int fds[2], nfds = 0, rc = 0;
	bool own_fds = false;   /* fds created for this reply: close them once sent */
	struct domain *d = NULL;

	switch (h->op) {
	case KXCTL_HELLO: {
		uint32_t v = KXCTL_VERSION;
		memcpy(rep_buf, &v, sizeof(v));
		rlen = sizeof(v);
		break;
	}
	case KXCTL_DOMAIN_CREATE: {
		if (len != sizeof(struct kxctl_domain_create)) {
			rc = -EINVAL;
			break;
		}
		rc = domain_create(p, &d);
		if (rc)
			break;
		struct kxctl_domid out = { .domid = d->domid };
		memcpy(rep_buf, &out, sizeof(out));
		rlen = sizeof(out);
		fds[nfds++] = d->mem.memfd;
		d = NULL;   /* the table holds it */
		break;
	}
	case KXCTL_DOMAIN_DESTROY: {
		const struct kxctl_domid *id = p;
		rc = len < sizeof(*id) ? -EINVAL : domain_destroy(id->domid);
		break;
	}
	case KXCTL_DOMAIN_PAUSE:
		if ((d = req_domain(p, len, &rc)))
			rc = domain_pause(d);
		break;
	case KXCTL_DOMAIN_UNPAUSE:
		if ((d = req_domain(p, len, &rc)))
			rc = domain_unpause(d);
		break;
	case KXCTL_DOMAIN_SHUTDOWN:
		if ((d = req_domain(p, len, &rc))) {
			unsigned reason = ((const struct kxctl_domid *)p)->arg;
			if (reason > SHUTDOWN_watchdog)
				rc = -EINVAL;
			else
				domain_shutdown(d, reason);
		}
		break;
	case KXCTL_DOMAIN_RENAME:
		if (len != sizeof(struct kxctl_domain_rename))
			rc = -EINVAL;
		else if ((d = req_domain(p, len, &rc)))
			rc = domain_rename(d, ((const struct kxctl_domain_rename *)p)->name);
		break;
	case KXCTL_DOMAIN_INFO:
		if ((d = req_domain(p, len, &rc))) {
			domain_info(d, (struct kxctl_dominfo *)rep_buf);
			rlen = sizeof(struct kxctl_dominfo);
		}
		break;
	case KXCTL_DOMAIN_LIST: {
		const struct kxctl_domain_list *l = p;
		struct kxctl_domain_list_reply *r = (void *)rep_buf;
		bool more;
		if (len < sizeof(*l)) {
			rc = -EINVAL;
			break;
		}
		unsigned max = l->max && l->max < KXCTL_LIST_MAX ? l->max : KXCTL_LIST_MAX;
		r->count = domain_list(l->first_domid, r->dom, max, &more);
		r->more = more;
		rlen = sizeof(*r) + r->count * sizeof(r->dom[0]);
		break;
	}
	case KXCTL_DOMAIN_SET_BOOT:
		if (len != sizeof(struct kxctl_set_boot))
			rc = -EINVAL;
		else if ((d = req_domain(p, len, &rc)))
			rc = domain_set_boot(d, p);
		break;
	case KXCTL_VCPU_INFO:
		if ((d = req_domain(p, len, &rc))) {
			struct kxctl_vcpu_info_reply *r = (void *)rep_buf;
			memset(r, 0, sizeof(*r));
			for (unsigned i = 0; i < d->max_vcpus; i++) {
				struct vcpu *v = d->vcpu[i];
				r->vcpu[i].vcpu = i;
				r->vcpu[i].online = atomic_load(&v->online);
				r->vcpu[i].running = atomic_load(&v->in_guest);
				r->vcpu[i].blocked = v->runstate == RS_BLOCKED;
				r->vcpu[i].cpu_ns = vcpu_cpu_ns(v);
			}
			r->count = d->max_vcpus;
			rlen = sizeof(*r);
		}
		break;
	case KXCTL_VCPU_CONTEXT: {
		const struct kxctl_vcpu_context *vc = p;
		if (len != sizeof(*vc)) {
			rc = -EINVAL;
		} else if ((d = req_domain(p, sizeof(struct kxctl_domid), &rc))) {
			/* A running vCPU would hold KVM's vCPU mutex: this thread must never wait on a guest. */
			if (vc->vcpu >= d->max_vcpus)
				rc = -EINVAL;
			else if (!atomic_load(&d->paused) && !atomic_load(&d->shutdown))
				rc = -EBUSY;
			else if (atomic_load(&d->vcpu[vc->vcpu]->in_guest))
				rc = -EBUSY;
			else if ((rc = kvm_vcpu_get_context(d->vcpu[vc->vcpu], (void *)rep_buf)) == 0)
				rlen = sizeof(vcpu_guest_context_t);
		}
		break;
	}
	case KXCTL_MAP_MEMORY:
		if ((d = req_domain(p, len, &rc))) {
			struct kxctl_map_memory_reply r = { .mem_bytes = d->mem.size };
			memcpy(rep_buf, &r, sizeof(r));
			rlen = sizeof(r);
			fds[nfds++] = d->mem.memfd;
		}
		break;
	case KXCTL_EVTCHN_ALLOC_UNBOUND: {
		const struct kxctl_evtchn_alloc_unbound *a = p;
		struct kxctl_port out = { 0 };
		if (len != sizeof(*a) || a->remote_domid >= DOMID_FIRST_RESERVED) {
			rc = -EINVAL;
			break;
		}
		d = a->domid == 0 ? NULL : domain_get(a->domid);
		if (a->domid != 0 && !d) {
			rc = -ESRCH;
			break;
		}
		rc = evtchn_alloc_unbound(d ? d : domain_dom0(), (domid_t)a->remote_domid, &out.port);
		memcpy(rep_buf, &out, sizeof(out));
		rlen = sizeof(out);
		break;
	}
	case KXCTL_EVTCHN_BIND_INTERDOMAIN: {
		struct kxctl_port out = { 0 };
		if (len != sizeof(struct kxctl_evtchn_bind_interdomain)) {
			rc = -EINVAL;
			break;
		}
		rc = op_bind_interdomain(c, p, &out, fds);
		if (rc == 0)
			nfds = 2;
		memcpy(rep_buf, &out, sizeof(out));
		rlen = sizeof(out);
		break;
	}
	case KXCTL_EVTCHN_CLOSE: {
		const struct kxctl_port *pt = p;
		rc = -EINVAL;
		if (len < sizeof(*pt))
			break;
		for (unsigned i = 0; i < c->nr_kick; i++)
			if (c->kick[i]->port == pt->port) {
				conn_close_port(c, i);
				rc = 0;
				break;
			}
		break;
	}
	case KXCTL_LOG_READ: {
		const struct kxctl_log_read *lr = p;
		struct kxctl_log_reply *r = (void *)rep_buf;
		if (len < sizeof(*lr)) {
			rc = -EINVAL;
			break;
		}
		size_t room = sizeof(rep_buf) - sizeof(*r);
		if (lr->max && lr->max < room)
			room = lr->max;
		r->next_cursor = lr->cursor;
		r->len = (uint32_t)hvlog_read(&r->next_cursor, r->text, room, &r->lost);
		rlen = sizeof(*r) + r->len + 1;
		break;
	}
	case KXCTL_DOMAIN_EVENTS:
		/* One subscription per connection; asking again hands out the same eventfd. */
		if (c->events_fd < 0) {
			rc = domevents_subscribe();
			if (rc < 0)
				break;
			c->events_fd = rc;
			rc = 0;
		}
		fds[nfds++] = c->events_fd;
		break;
	case KXCTL_HOST_INFO:
		host_info((struct kxctl_host_info *)rep_buf);
		rlen = sizeof(struct kxctl_host_info);
		break;
	default:
		if (ctl_gnttab_op(h->op)) {
			rc = ctl_gnttab_request(&c->gnt, h->op, p, len, rep_buf, &rlen, fds, &nfds);
			own_fds = true;
		} else {
			rc = -ENOSYS;
		}
		break;
	}
	domain_put(d);
	if (rc)
		rlen = 0;
	/* SCM_RIGHTS sends duplicates: kxen-hv keeps its own memfds and eventfds. */
	send_reply(c->item.fd, h, rc, rep_buf, rlen, fds, (unsigned)nfds);
	for (int i = 0; own_fds && i < nfds; i++)
		close(fds[i]);
}

static void conn_readable(struct conn *c)
{
	ssize_t n = recv(c->item.fd, req_buf, sizeof(req_buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	struct kxctl_hdr h;
	if ((size_t)n < sizeof(h)) {
		conn_free(c);   /* not our protocol */
		return;
	}
	memcpy(&h, req_buf, sizeof(h));
	if (h.len != (size_t)n - sizeof(h)) {
		struct kxctl_hdr bad = h;
		send_reply(c->item.fd, &bad, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	handle_request(c, &h, req_buf + sizeof(h));
}

static void accept_conn(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (fd < 0)
		return;
	/* Privileged interface: root, or whoever runs this kxen-hv (tests). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != getuid())) {
		close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->item = (struct ep_item){ .type = EP_CONN, .fd = fd, .conn = c };
	c->events_fd = -1;
	if (ep_add(&c->item) < 0) {
		close(fd);
		free(c);
	}
}

static void kick_readable(struct ep_item *k)
{
	uint64_t n;

	if (read(k->fd, &n, sizeof(n)) == sizeof(n))
		evtchn_send(domain_dom0(), k->port);
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

int ctl_serve(const char *path)
{
	struct ep_item lis, reap, sig;
	sigset_t ss;
	int lfd, sfd, rc = 0;

	lfd = listen_on(path);
	if (lfd < 0)
		return lfd;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0)
		return -errno;
	lis = (struct ep_item){ .type = EP_LISTEN, .fd = lfd };
	reap = (struct ep_item){ .type = EP_REAP, .fd = domain_reap_fd() };
	sig = (struct ep_item){ .type = EP_SIGNAL, .fd = sfd };
	if (ep_add(&lis) || ep_add(&reap) || ep_add(&sig))
		return -errno;
	hvlog("(XEN) kxen-hv %d.%d%s listening on %s", KXEN_VERSION_MAJOR, KXEN_VERSION_MINOR,
	      KXEN_EXTRAVERSION, path);
	if (ctl_ready_hook)
		ctl_ready_hook();

	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(epfd, ev, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct ep_item *it = ev[i].data.ptr;
			switch (it->type) {
			case EP_LISTEN:
				accept_conn(it->fd);
				break;
			case EP_CONN:
				conn_readable(it->conn);
				break;
			case EP_KICK:
				kick_readable(it);
				break;
			case EP_REAP:
				domain_reap();
				break;
			case EP_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					hvlog("(XEN) signal %u: shutting down, destroying all domains", si.ssi_signo);
					goto out;
				}
				break;
			}
			}
		}
	}
out:
	for (uint32_t id = 1; id < DOMID_FIRST_RESERVED; id++) {
		struct domain *d = domain_get(id);
		if (d) {
			domain_put(d);
			domain_destroy(id);
		}
	}
	unlink(path);
	close(lfd);
	return rc;
}
