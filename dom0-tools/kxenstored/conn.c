/* conn.c: per-connection framing with bounded input and output queues, over a transport ops table. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kxenstored.h"
#include "persist.h"

struct xs_conn *conn__new(struct xs_server *srv, const struct xs_conn_ops *ops, void *priv,
                          int fd, unsigned domid, bool privileged)
{
	struct xs_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = srv;
	c->ops = ops;
	c->priv = priv;
	c->fd = fd;
	c->domid = domid;
	c->target = XS_DOMID_NONE;
	c->privileged = privileged;
	c->next_txid = 1;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	return c;
}

void conn__free(struct xs_conn *c)
{
	struct xs_server *srv = c->srv;

	watch__remove_conn(srv, c);
	while (c->txns) {
		struct xs_txn *t = c->txns;
		c->txns = t->next;
		txn__free(t);
		free(t);
	}
	while (c->out) {
		struct xs_obuf *o = c->out;
		c->out = o->next;
		free(o);
	}
	if (c->dirty)
		for (struct xs_conn **pp = &srv->dirty; *pp; pp = &(*pp)->dnext)
			if (*pp == c) {
				*pp = c->dnext;
				break;
			}
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (srv->closing)
		srv->closing(c);
	if (c->ops->close)
		c->ops->close(c);
	if (srv->free_later) {
		/* Later events of this batch, or callers up the stack, may still name c: keep it, marked dead. */
		c->dead = true;
		srv->free_later(c);
		return;
	}
	free(c);
}

bool conn__blocked(const struct xs_conn *c)
{
	return c->outbytes >= c->srv->quota.out_bytes || c->out_replies >= c->srv->quota.outstanding;
}

int conn__queue(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
                const void *a, unsigned alen, const void *b, unsigned blen)
{
	bool event = type == XS_WATCH_EVENT;
	unsigned len = XS_HDR + alen + blen;
	struct xs_obuf *o;

	if (c->dead)
		return -EPIPE;
	if (event && c->outbytes + len > c->srv->quota.out_bytes) {
		/* A client that never reads loses events rather than growing us (as Xen 4.17). */
		if (!c->dropped_events++)
			server__log(c->srv, "conn d%u: output quota reached, dropping watch events", c->domid);
		return -ENOSPC;
	}
	if (!(o = malloc(sizeof(*o) + len)))
		return -ENOMEM;
	struct xsd_sockmsg h = { type, req_id, tx_id, alen + blen };
	memcpy(o->data, &h, XS_HDR);
	if (alen)
		memcpy(o->data + XS_HDR, a, alen);
	if (blen)
		memcpy(o->data + XS_HDR + alen, b, blen);
	o->len = len;
	o->off = 0;
	o->event = event;
	o->next = NULL;
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out = o;
	c->out_tail = o;
	c->outbytes += len;
	c->out_replies += !event;
	server__dirty(c);
	return 0;
}

int conn__flush(struct xs_conn *c)
{
	bool moved = false;
	int rc = 0;

	if (persist__holding(c->srv)) {
		server__dirty(c);   /* nothing leaves before its change is committed: server__flush writes it */
		return 0;
	}
	while (c->out) {
		struct xs_obuf *o = c->out;
		long n = c->ops->send(c, o->data + o->off, o->len - o->off);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0)
			break;
		moved = true;
		o->off += (unsigned)n;
		if (o->off < o->len)
			continue;
		c->out = o->next;
		c->outbytes -= o->len;
		c->out_replies -= !o->event;
		free(o);
	}
	if (!c->out)
		c->out_tail = NULL;
	if (moved && c->ops->kick)
		c->ops->kick(c);
	return rc;
}

int conn__input(struct xs_conn *c)
{
	bool moved = false;
	int rc = 0;

	while (!c->dead && !conn__blocked(c)) {
		unsigned want;
		char *dst;
		if (c->inlen < XS_HDR) {
			want = XS_HDR - c->inlen;
			dst = (char *)&c->hdr + c->inlen;
		} else {
			want = XS_HDR + c->hdr.len - c->inlen;
			dst = c->in + (c->inlen - XS_HDR);
		}
		if (want) {
			long n = c->ops->recv(c, dst, want);
			if (n < 0) {
				rc = (int)n;
				break;
			}
			if (n == 0)
				break;
			moved = true;
			c->inlen += (unsigned)n;
			/* The length cannot be trusted past this point: no resync, cut off. */
			if (c->inlen == XS_HDR && c->hdr.len > XENSTORE_PAYLOAD_MAX) {
				rc = -E2BIG;
				break;
			}
			if (c->inlen < XS_HDR || c->inlen < XS_HDR + c->hdr.len)
				continue;
		}
		c->in[c->hdr.len] = 0;
		c->requests++;
		rc = wire__dispatch(c);
		c->inlen = 0;
		if (rc < 0)
			break;
	}
	if (moved && c->ops->kick)
		c->ops->kick(c);
	return rc;
}

int conn__service(struct xs_conn *c)
{
	int rc;

	/* Twice: a flush that frees output quota lets input that waited go on. */
	for (int i = 0; i < 2; i++) {
		bool was_blocked = conn__blocked(c);
		if ((rc = conn__flush(c)) < 0 || (rc = conn__input(c)) < 0 || (rc = conn__flush(c)) < 0)
			return rc;
		if (!was_blocked)
			break;
	}
	return 0;
}

/* ---- socket transport ---- */

static long sock_recv(struct xs_conn *c, void *buf, size_t len)
{
	ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);

	if (n > 0)
		return n;
	if (n == 0)
		return -ECONNRESET;
	return errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

static long sock_send(struct xs_conn *c, const void *buf, size_t len)
{
	ssize_t n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

static void sock_close(struct xs_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
}

const struct xs_conn_ops sock_conn_ops = {
	.name = "socket", .recv = sock_recv, .send = sock_send, .close = sock_close,
};
