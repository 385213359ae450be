/* xs_fixture.c: a memory transport for kxenstored connections, so suites drive the real wire layer without sockets. */
#include <stdlib.h>
#include <string.h>

#include "xs_fixture.h"

#define MEMSZ (1 << 20)

struct mem {
	char in[MEMSZ];
	size_t inlen, inoff;
	char out[MEMSZ];
	size_t outlen, outoff;
	struct fx_msg events[64];
	unsigned nev, evoff;
};

static long mem_recv(struct xs_conn *c, void *buf, size_t len)
{
	struct mem *m = c->priv;
	size_t n = m->inlen - m->inoff;

	if (n > len)
		n = len;
	memcpy(buf, m->in + m->inoff, n);
	m->inoff += n;
	return (long)n;
}

static long mem_send(struct xs_conn *c, const void *buf, size_t len)
{
	struct mem *m = c->priv;

	if (len > MEMSZ - m->outlen)
		len = MEMSZ - m->outlen;
	memcpy(m->out + m->outlen, buf, len);
	m->outlen += len;
	return (long)len;
}

static void mem_close(struct xs_conn *c)
{
	free(c->priv);
}

static const struct xs_conn_ops mem_ops = {
	.name = "memory", .recv = mem_recv, .send = mem_send, .close = mem_close,
};

struct xs_conn *fx_conn(struct xs_server *srv, unsigned domid)
{
	struct mem *m = calloc(1, sizeof(*m));

	return m ? conn__new(srv, &mem_ops, m, -1, domid, domid == 0) : NULL;
}

/* Moves complete messages from the output buffer: events aside, returns the first reply. */
static int take(struct mem *m, struct fx_msg *r)
{
	while (m->outlen - m->outoff >= XS_HDR) {
		struct fx_msg msg;
		memcpy(&msg, m->out + m->outoff, XS_HDR);
		m->outoff += XS_HDR;
		memcpy(msg.data, m->out + m->outoff, msg.len);
		msg.data[msg.len] = 0;
		m->outoff += msg.len;
		if (msg.type == XS_WATCH_EVENT) {
			if (m->nev < 64)
				m->events[m->nev++] = msg;
			continue;
		}
		*r = msg;
		return (int)msg.type;
	}
	return -1;
}

int fx_req(struct xs_conn *c, uint32_t type, uint32_t tx, const void *p, unsigned len, struct fx_msg *r)
{
	static uint32_t id;
	struct mem *m = c->priv;
	struct xsd_sockmsg h = { type, ++id, tx, len };

	memcpy(m->in + m->inlen, &h, XS_HDR);
	memcpy(m->in + m->inlen + XS_HDR, p, len);
	m->inlen += XS_HDR + len;
	server__service(c);
	server__flush(c->srv);
	int t = take(m, r);
	if (t >= 0 && r->req_id != id)
		return -2;
	return t;
}

int fx_event(struct xs_conn *c, char *path, char *token)
{
	struct mem *m = c->priv;
	struct fx_msg dummy;

	server__flush(c->srv);
	while (take(m, &dummy) >= 0)
		;
	if (m->evoff == m->nev)
		return 0;
	struct fx_msg *e = &m->events[m->evoff++];
	strcpy(path, e->data);
	strcpy(token, e->data + strlen(e->data) + 1);
	return 1;
}

void fx_drain(struct xs_conn *c)
{
	char p[XENSTORE_PAYLOAD_MAX], t[XENSTORE_PAYLOAD_MAX];

	while (fx_event(c, p, t))
		;
}
