/* A pipelined xs_wire request stream: many requests in one write, their replies read after, one round trip. */
/*
 * libxenstore waits for each reply before it sends the next request; a
 * domain's ~45 standard paths then cost ~45 round trips to kxenstored (and
 * as many store commits), which was most of `kxl create`. xenstored answers
 * a connection's requests in order, so a batch can be written at once and
 * its replies read back in the same order (req_id checks it).
 */
#include <config.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdint.h>   /* the Xen headers assume it */
#include <xen/io/xs_wire.h>
#include <xenstore.h>
#include "kxl_xs.h"

/* How often a transaction is retried on EAGAIN before kxl gives up. */
#define XS_TXN_RETRIES 16

void kxl_xsb_init(struct kxl_xsb *b)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

int kxl_xsb_open(struct kxl_xsb *b)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *path = kxl_xs_socket_path();

	kxl_xsb_init(b);
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->fd < 0)
		return -errno;
	if (connect(b->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = -errno;
		close(b->fd);
		b->fd = -1;
		return r;
	}
	return 0;
}

void kxl_xsb_reset(struct kxl_xsb *b)
{
	b->len = 0;
	b->n = 0;
	b->err = 0;
	free(b->reply);
	b->reply = NULL;
}

void kxl_xsb_close(struct kxl_xsb *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->buf);
	free(b->off);
	free(b->rc);
	free(b->reply);
	kxl_xsb_init(b);
}

static int reserve(struct kxl_xsb *b, size_t more)
{
	if (b->n == b->nmax) {
		unsigned nmax = b->nmax ? 2 * b->nmax : 64;
		size_t *off = realloc(b->off, nmax * sizeof(*off));
		if (off)
			b->off = off;
		int *rc = off ? realloc(b->rc, nmax * sizeof(*rc)) : NULL;
		if (!rc)
			return -ENOMEM;
		b->rc = rc;
		b->nmax = nmax;
	}
	if (b->len + more > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		while (cap < b->len + more)
			cap *= 2;
		char *buf = realloc(b->buf, cap);
		if (!buf)
			return -ENOMEM;
		b->buf = buf;
		b->cap = cap;
	}
	return 0;
}

int kxl_xsb_add(struct kxl_xsb *b, uint32_t type, uint32_t tx, const char *a, size_t alen,
                const char *c, size_t clen)
{
	struct xsd_sockmsg h = { .type = type, .req_id = 0, .tx_id = tx, .len = (uint32_t)(alen + clen) };
	int r;

	if (b->err)
		return b->err;
	if (alen + clen > XENSTORE_PAYLOAD_MAX)
		return b->err = -E2BIG;
	if ((r = reserve(b, sizeof(h) + alen + clen)))
		return b->err = r;
	h.req_id = b->n;
	b->off[b->n++] = b->len;
	memcpy(b->buf + b->len, &h, sizeof(h));
	memcpy(b->buf + b->len + sizeof(h), a, alen);
	if (clen)
		memcpy(b->buf + b->len + sizeof(h) + alen, c, clen);
	b->len += sizeof(h) + alen + clen;
	return 0;
}

const char *kxl_xsb_path(const struct kxl_xsb *b, unsigned i)
{
	return b->buf + b->off[i] + sizeof(struct xsd_sockmsg);
}

static int full_io(int fd, void *p, size_t len, int out)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = out ? send(fd, (char *)p + done, len - done, MSG_NOSIGNAL)
		                : read(fd, (char *)p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

/* The errno of an XS_ERROR reply's name ("EAGAIN"); EIO for a name xs_wire.h does not list. */
static int error_of(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (!strcmp(xsd_errors[i].errstring, name))
			return xsd_errors[i].errnum;
	return EIO;
}

/* Reads into in[*have..cap) what the socket holds (at least one byte); 0 or -errno. */
static int fill(int fd, char *in, size_t cap, size_t *have)
{
	for (;;) {
		ssize_t n = read(fd, in + *have, cap - *have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		*have += (size_t)n;
		return 0;
	}
}

int kxl_xsb_run(struct kxl_xsb *b)
{
	/* Replies are read as they come, many per read(2): a batch's ~50 would otherwise be ~100 calls (static: kxl has one thread). */
	static char in[2 * (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX) + 1];
	size_t have = 0;
	int r, first = 0;

	if (b->err)
		return b->err;
	if ((r = full_io(b->fd, b->buf, b->len, 1)))
		return b->err = r;
	for (unsigned i = 0; i < b->n; i++) {
		struct xsd_sockmsg h;
		while (have < sizeof(h))
			if ((r = fill(b->fd, in, sizeof(in) - 1, &have)))
				return b->err = r;
		memcpy(&h, in, sizeof(h));
		/* No watches on this connection: anything but the next reply in order is a protocol error. */
		if (h.len > XENSTORE_PAYLOAD_MAX || h.req_id != i || h.type == XS_WATCH_EVENT)
			return b->err = -EPROTO;
		while (have < sizeof(h) + h.len)
			if ((r = fill(b->fd, in, sizeof(in) - 1, &have)))
				return b->err = r;
		char *body = in + sizeof(h), keep = body[h.len];
		body[h.len] = '\0';
		b->rc[i] = h.type == XS_ERROR ? -error_of(body) : 0;
		if (b->rc[i] && !first)
			first = b->rc[i];
		if (i == b->n - 1 && !(b->reply = strdup(body)))
			return b->err = -ENOMEM;
		body[h.len] = keep;
		have -= sizeof(h) + h.len;
		memmove(in, body + h.len, have);
	}
	return first;
}

void kxl_xsb_writef(struct kxl_xsb *b, uint32_t t, const char *path, const char *fmt, ...)
{
	char val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	kxl_xsb_add(b, XS_WRITE, t, path, strlen(path) + 1, val, strlen(val));
}

void kxl_xsb_node(struct kxl_xsb *b, uint32_t t, const char *path, const struct xs_permissions *p,
                  unsigned n)
{
	static const char letter[] = { [XS_PERM_NONE] = 'n', [XS_PERM_READ] = 'r',
	                               [XS_PERM_WRITE] = 'w', [XS_PERM_READ | XS_PERM_WRITE] = 'b' };
	char perms[64 * 2];
	size_t len = 0;

	kxl_xsb_add(b, XS_WRITE, t, path, strlen(path) + 1, "", 0);
	/* The wire form libxenstore sends: each permission as a NUL-terminated string ("n0", "r4"). */
	for (unsigned i = 0; i < n && len + 16 < sizeof(perms); i++)
		len += (size_t)snprintf(perms + len, sizeof(perms) - len, "%c%u",
		                        letter[p[i].perms & (XS_PERM_READ | XS_PERM_WRITE)], p[i].id) + 1;
	kxl_xsb_add(b, XS_SET_PERMS, t, path, strlen(path) + 1, perms, len);
}

/* Request i of the batch, named for a message ("write /local/domain/3/name"). */
static void name_request(const struct kxl_xsb *b, unsigned i, char *failed, size_t flen)
{
	uint32_t type = ((const struct xsd_sockmsg *)(b->buf + b->off[i]))->type;

	switch (type) {
	case XS_WRITE:
		snprintf(failed, flen, "write %s", kxl_xsb_path(b, i));
		break;
	case XS_SET_PERMS:
		snprintf(failed, flen, "set permissions of %s", kxl_xsb_path(b, i));
		break;
	case XS_TRANSACTION_END:
		snprintf(failed, flen, "commit the transaction");
		break;
	case XS_INTRODUCE:
		snprintf(failed, flen, "introduce the domain");
		break;
	default:
		snprintf(failed, flen, "send request %u for %s", type, kxl_xsb_path(b, i));
	}
}

int kxl_xsb_txn(struct kxl_xsb *b, struct kxl_xsb_txn *x, char *failed, size_t flen)
{
	int r, after_sent = 0;

	x->committed = 0;
	for (unsigned tries = 0;; tries++) {
		kxl_xsb_reset(b);
		kxl_xsb_add(b, XS_TRANSACTION_START, 0, "", 1, NULL, 0);
		if ((r = kxl_xsb_run(b))) {
			snprintf(failed, flen, "start a transaction");
			return r;
		}
		uint32_t t = (uint32_t)strtoul(b->reply, NULL, 10);
		kxl_xsb_reset(b);
		if ((r = x->queue(b, t, x->arg, failed, flen))) {
			kxl_xsb_reset(b);
			kxl_xsb_add(b, XS_TRANSACTION_END, t, "F", 2, NULL, 0);
			kxl_xsb_run(b);
			return r;
		}
		kxl_xsb_add(b, XS_TRANSACTION_END, t, "T", 2, NULL, 0);
		unsigned end = b->n - 1;
		/* The after requests run even when the commit must be retried: the retry leaves them out. */
		if (x->after && !after_sent)
			x->after(b, x->arg);
		kxl_xsb_run(b);
		if (b->err) {
			snprintf(failed, flen, "send the transaction");
			return b->err;
		}
		for (unsigned i = 0; i < b->n; i++)
			if (b->rc[i] && !(i == end && b->rc[i] == -EAGAIN)) {
				name_request(b, i, failed, flen);
				x->committed = b->rc[end] == 0;
				return b->rc[i];
			}
		after_sent = 1;
		if (b->rc[end] == 0)
			return 0;
		if (tries == XS_TXN_RETRIES) {
			snprintf(failed, flen, "commit the transaction");
			return -EAGAIN;
		}
	}
}
