/* libkxctrl: request/reply over kxen-hv's control socket, with file descriptors passed as SCM_RIGHTS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <stdint.h>   /* the Xen headers assume it */
#include <xen/xen.h>
#include "kxen/kxctrl.h"

struct kxctrl {
	int fd;
	uint32_t seq;
	uint8_t buf[KXCTL_MAX_MSG];
};

const char *kxctrl_socket_path(const char *path)
{
	const char *env = getenv(KXCTL_SOCKET_ENV);

	if (path && *path)
		return path;
	return env && *env ? env : KXCTL_DEFAULT_SOCKET;
}

int kxctrl_open(const char *path, kxctrl **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *p = kxctrl_socket_path(path);
	kxctrl *h;

	*out = NULL;
	if (strlen(p) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, p);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

void kxctrl_close(kxctrl *h)
{
	if (!h)
		return;
	close(h->fd);
	free(h);
}

/*
 * One round trip. The reply body (at most rep_len bytes) is copied to rep;
 * up to nfds received descriptors go to fds (unused ones are closed).
 */
static int call(kxctrl *h, uint32_t op, const void *req, size_t req_len, void *rep,
                size_t rep_len, size_t *got, int *fds, unsigned nfds)
{
	struct kxctl_hdr hdr = { .op = op, .len = (uint32_t)req_len, .seq = ++h->seq };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)req, req_len } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = req_len ? 2 : 1 };
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	ssize_t n;

	if (sendmsg(h->fd, &msg, MSG_NOSIGNAL) < 0)
		return -errno;
	iov[0] = (struct iovec){ h->buf, sizeof(h->buf) };
	msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 1, .msg_control = cbuf,
	                       .msg_controllen = sizeof(cbuf) };
	do
		n = recvmsg(h->fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;   /* kxen-hv went away */

	unsigned nrecv = 0;
	int recvd[4];
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (unsigned i = 0; i < k && nrecv < 4; i++)
			memcpy(&recvd[nrecv++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
	for (unsigned i = 0; i < nrecv; i++) {
		if (fds && i < nfds)
			fds[i] = recvd[i];
		else
			close(recvd[i]);
	}

	struct kxctl_hdr rh;
	if ((size_t)n < sizeof(rh))
		return -EPROTO;
	memcpy(&rh, h->buf, sizeof(rh));
	if (rh.seq != hdr.seq || rh.len != (size_t)n - sizeof(rh))
		return -EPROTO;
	if (rh.ret < 0)
		return rh.ret;
	if (fds && nrecv < nfds) {
		for (unsigned i = 0; i < nrecv; i++)
			close(fds[i]);
		return -EPROTO;
	}
	size_t body = rh.len < rep_len ? rh.len : rep_len;
	if (rep)
		memcpy(rep, h->buf + sizeof(rh), body);
	if (got)
		*got = rh.len;
	return 0;
}

/* The last reply's body, valid until the next call on h (for replies too big to copy). */
static const uint8_t *reply_body(const kxctrl *h)
{
	return h->buf + sizeof(struct kxctl_hdr);
}

static int domid_op(kxctrl *h, uint32_t op, uint32_t domid, uint32_t arg)
{
	struct kxctl_domid id = { .domid = domid, .arg = arg };

	return call(h, op, &id, sizeof(id), NULL, 0, NULL, NULL, 0);
}

int kxctrl_domain_create(kxctrl *h, const struct kxctl_domain_create *cfg, uint32_t *domid,
                         int *memfd)
{
	struct kxctl_domid out;
	int rc = call(h, KXCTL_DOMAIN_CREATE, cfg, sizeof(*cfg), &out, sizeof(out), NULL, memfd, 1);

	if (rc == 0)
		*domid = out.domid;
	return rc;
}

int kxctrl_domain_set_boot(kxctrl *h, const struct kxctl_set_boot *boot)
{
	return call(h, KXCTL_DOMAIN_SET_BOOT, boot, sizeof(*boot), NULL, 0, NULL, NULL, 0);
}

int kxctrl_domain_destroy(kxctrl *h, uint32_t domid)
{
	return domid_op(h, KXCTL_DOMAIN_DESTROY, domid, 0);
}

int kxctrl_domain_pause(kxctrl *h, uint32_t domid)
{
	return domid_op(h, KXCTL_DOMAIN_PAUSE, domid, 0);
}

int kxctrl_domain_unpause(kxctrl *h, uint32_t domid)
{
	return domid_op(h, KXCTL_DOMAIN_UNPAUSE, domid, 0);
}

int kxctrl_domain_shutdown(kxctrl *h, uint32_t domid, unsigned reason)
{
	return domid_op(h, KXCTL_DOMAIN_SHUTDOWN, domid, reason);
}

int kxctrl_domain_rename(kxctrl *h, uint32_t domid, const char *name)
{
	struct kxctl_domain_rename r = { .domid = domid };

	if (strlen(name) >= sizeof(r.name))
		return -ENAMETOOLONG;
	strcpy(r.name, name);
	return call(h, KXCTL_DOMAIN_RENAME, &r, sizeof(r), NULL, 0, NULL, NULL, 0);
}

int kxctrl_domain_info(kxctrl *h, uint32_t domid, struct kxctl_dominfo *info)
{
	struct kxctl_domid id = { .domid = domid };

	return call(h, KXCTL_DOMAIN_INFO, &id, sizeof(id), info, sizeof(*info), NULL, NULL, 0);
}

int kxctrl_domain_list(kxctrl *h, struct kxctl_dominfo **out, unsigned *count)
{
	struct kxctl_domain_list req = { .first_domid = 1, .max = KXCTL_LIST_MAX };
	struct kxctl_dominfo *all = NULL;
	unsigned n = 0;
	int rc;

	*out = NULL;
	*count = 0;
	for (;;) {
		struct kxctl_domain_list_reply r;
		size_t got;
		rc = call(h, KXCTL_DOMAIN_LIST, &req, sizeof(req), NULL, 0, &got, NULL, 0);
		if (rc)
			goto out;
		if (got < sizeof(r)) {
			rc = -EPROTO;
			goto out;
		}
		memcpy(&r, reply_body(h), sizeof(r));
		if (r.count > KXCTL_LIST_MAX || got < sizeof(r) + r.count * sizeof(r.dom[0])) {
			rc = -EPROTO;
			goto out;
		}
		struct kxctl_dominfo *grown = realloc(all, (n + r.count + 1) * sizeof(*all));
		if (!grown) {
			rc = -ENOMEM;
			goto out;
		}
		all = grown;
		memcpy(all + n, reply_body(h) + sizeof(r), r.count * sizeof(*all));
		n += r.count;
		if (!r.more || !r.count)
			break;
		req.first_domid = all[n - 1].domid + 1;
	}
	*out = all;
	*count = n;
	return 0;
out:
	free(all);
	return rc;
}

int kxctrl_domain_lookup(kxctrl *h, const char *name_or_id, uint32_t *domid)
{
	struct kxctl_dominfo *all;
	unsigned n;
	char *end;
	int rc;

	errno = 0;
	unsigned long id = strtoul(name_or_id, &end, 10);
	if (*name_or_id && !*end && errno == 0 && name_or_id[0] != '-') {
		struct kxctl_dominfo info;
		if (id == 0 || id >= 0x7ff0)
			return -ESRCH;
		rc = kxctrl_domain_info(h, (uint32_t)id, &info);
		if (rc == 0)
			*domid = (uint32_t)id;
		return rc;
	}
	rc = kxctrl_domain_list(h, &all, &n);
	if (rc)
		return rc;
	rc = -ESRCH;
	for (unsigned i = 0; i < n; i++)
		if (strncmp(all[i].name, name_or_id, sizeof(all[i].name)) == 0) {
			*domid = all[i].domid;
			rc = 0;
			break;
		}
	free(all);
	return rc;
}

int kxctrl_vcpu_info(kxctrl *h, uint32_t domid, struct kxctl_vcpuinfo *out, unsigned max,
                     unsigned *count)
{
	struct kxctl_domid id = { .domid = domid };
	struct kxctl_vcpu_info_reply r;
	int rc = call(h, KXCTL_VCPU_INFO, &id, sizeof(id), &r, sizeof(r), NULL, NULL, 0);

	if (rc)
		return rc;
	unsigned n = r.count < max ? r.count : max;
	if (n > sizeof(r.vcpu) / sizeof(r.vcpu[0]))
		n = sizeof(r.vcpu) / sizeof(r.vcpu[0]);
	memcpy(out, r.vcpu, n * sizeof(*out));
	*count = n;
	return 0;
}

int kxctrl_map_memory(kxctrl *h, uint32_t domid, int *memfd, uint64_t *size)
{
	struct kxctl_domid id = { .domid = domid };
	struct kxctl_map_memory_reply r;
	int rc = call(h, KXCTL_MAP_MEMORY, &id, sizeof(id), &r, sizeof(r), NULL, memfd, 1);

	if (rc == 0)
		*size = r.mem_bytes;
	return rc;
}

int kxctrl_map_special_page(kxctrl *h, uint32_t domid, unsigned role, int *fd, uint64_t *gfn)
{
	struct kxctl_special_page sp = { .domid = domid, .role = role };
	struct kxctl_special_page_reply r;
	int rc = call(h, KXCTL_MAP_SPECIAL_PAGE, &sp, sizeof(sp), &r, sizeof(r), NULL, fd, 1);

	if (rc == 0)
		*gfn = r.gfn;
	return rc;
}

int kxctrl_evtchn_alloc_unbound(kxctrl *h, uint32_t domid, uint32_t remote_domid,
                                uint32_t *port)
{
	struct kxctl_evtchn_alloc_unbound a = { .domid = domid, .remote_domid = remote_domid };
	struct kxctl_port p;
	int rc = call(h, KXCTL_EVTCHN_ALLOC_UNBOUND, &a, sizeof(a), &p, sizeof(p), NULL, NULL, 0);

	if (rc == 0)
		*port = p.port;
	return rc;
}

int kxctrl_evtchn_bind_interdomain(kxctrl *h, uint32_t remote_domid, uint32_t remote_port,
                                   uint32_t *local_port, int *notify_fd, int *kick_fd)
{
	struct kxctl_evtchn_bind_interdomain b = { .remote_domid = remote_domid,
	                                           .remote_port = remote_port };
	struct kxctl_port p;
	int fds[2];
	int rc = call(h, KXCTL_EVTCHN_BIND_INTERDOMAIN, &b, sizeof(b), &p, sizeof(p), NULL, fds, 2);

	if (rc == 0) {
		*local_port = p.port;
		*notify_fd = fds[0];
		*kick_fd = fds[1];
	}
	return rc;
}

int kxctrl_evtchn_close(kxctrl *h, uint32_t port)
{
	struct kxctl_port p = { .port = port };

	return call(h, KXCTL_EVTCHN_CLOSE, &p, sizeof(p), NULL, 0, NULL, NULL, 0);
}

int kxctrl_log_read(kxctrl *h, uint64_t *cursor, char *buf, size_t len, size_t *got,
                    uint64_t *lost)
{
	struct kxctl_log_read req = { .cursor = *cursor };
	struct kxctl_log_reply lr;
	size_t n;
	int rc;

	if (len == 0)
		return -EINVAL;
	req.max = len > KXCTL_MAX_MSG ? KXCTL_MAX_MSG : (uint32_t)len;
	rc = call(h, KXCTL_LOG_READ, &req, sizeof(req), NULL, 0, &n, NULL, 0);
	if (rc)
		return rc;
	if (n < sizeof(lr))
		return -EPROTO;
	memcpy(&lr, reply_body(h), sizeof(lr));
	size_t text = lr.len;
	if (text > n - sizeof(lr))
		text = n - sizeof(lr);
	if (text > len - 1)
		text = len - 1;
	memcpy(buf, reply_body(h) + sizeof(lr), text);
	buf[text] = '\0';
	*got = text;
	*cursor = lr.next_cursor;
	if (lost)
		*lost = lr.lost;
	return 0;
}

int kxctrl_host_info(kxctrl *h, struct kxctl_host_info *info)
{
	return call(h, KXCTL_HOST_INFO, NULL, 0, info, sizeof(*info), NULL, NULL, 0);
}

int kxctrl_call(kxctrl *h, uint32_t op, const void *req, size_t req_len, void *rep,
                size_t rep_len, size_t *got, int *fds, unsigned nfds)
{
	return call(h, op, req, req_len, rep, rep_len, got, fds, nfds);
}

int kxctrl_domain_events_fd(kxctrl *h, int *fd)
{
	return call(h, KXCTL_DOMAIN_EVENTS, NULL, 0, NULL, 0, NULL, fd, 1);
}

int kxctrl_vcpu_context(kxctrl *h, uint32_t domid, uint32_t vcpu, struct vcpu_guest_context *ctx)
{
	struct kxctl_vcpu_context req = { .domid = domid, .vcpu = vcpu };
	return call(h, KXCTL_VCPU_CONTEXT, &req, sizeof(req), ctx, sizeof(*ctx), NULL, NULL, 0);
}

int kxctrl_vcpu_affinity(kxctrl *h, uint32_t domid, uint32_t vcpu, const uint64_t *cpumap)
{
	struct kxctl_vcpu_affinity req = { .domid = domid, .vcpu = vcpu };
	memcpy(req.cpumap, cpumap, sizeof(req.cpumap));
	return call(h, KXCTL_VCPU_AFFINITY, &req, sizeof(req), NULL, 0, NULL, NULL, 0);
}

int kxctrl_sched_credit(kxctrl *h, uint32_t domid, uint32_t flags, uint32_t weight, uint32_t cap,
                        struct kxctl_sched_credit_reply *out)
{
	struct kxctl_sched_credit req = { .domid = domid, .flags = flags, .weight = weight, .cap = cap };
	return call(h, KXCTL_SCHED_CREDIT, &req, sizeof(req), out, sizeof(*out), NULL, NULL, 0);
}

int kxctrl_vcpu_avail(kxctrl *h, uint32_t domid, uint64_t mask)
{
	struct kxctl_vcpu_avail req = { .domid = domid, .mask = mask };
	return call(h, KXCTL_VCPU_AVAIL, &req, sizeof(req), NULL, 0, NULL, NULL, 0);
}
