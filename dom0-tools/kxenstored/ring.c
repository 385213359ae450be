/* ring.c: the guest store ring transport; every index in the shared page is treated as hostile. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "kxenstored.h"
#include "persist.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static long ring_recv(struct xs_conn *c, void *buf, size_t len)
{
	struct xs_ring *r = c->priv;
	struct xenstore_domain_interface *in = r->intf;
	XENSTORE_RING_IDX cons = r->hold_cons ? r->cons : LOAD(in->req_cons), prod = LOAD(in->req_prod);
	uint32_t avail = prod - cons;

	if (avail > XENSTORE_RING_SIZE) {
		r->err = XENSTORE_ERROR_RINGIDX;
		return -EPROTO;
	}
	if (avail > len)
		avail = (uint32_t)len;
	if (!avail)
		return 0;
	uint32_t off = MASK_XENSTORE_IDX(cons), first = XENSTORE_RING_SIZE - off;
	if (first > avail)
		first = avail;
	memcpy(buf, in->req + off, first);
	memcpy((char *)buf + first, in->req, avail - first);
	if (r->hold_cons) {
		/* The guest may reuse these bytes only once what they asked for is committed. */
		r->cons = cons + avail;
		persist__ring(c->srv, c->domid);
		return avail;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* copy done before the guest may reuse it */
	STORE(in->req_cons, cons + avail);
	/* Before the next recv reads req_prod (ring__publish says why). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail;
}

static long ring_send(struct xs_conn *c, const void *buf, size_t len)
{
	struct xs_ring *r = c->priv;
	struct xenstore_domain_interface *in = r->intf;
	XENSTORE_RING_IDX cons = LOAD(in->rsp_cons), prod = LOAD(in->rsp_prod);
	uint32_t used = prod - cons;

	if (used > XENSTORE_RING_SIZE) {
		r->err = XENSTORE_ERROR_RINGIDX;
		return -EPROTO;
	}
	uint32_t space = XENSTORE_RING_SIZE - used;
	if (space > len)
		space = (uint32_t)len;
	if (!space)
		return 0;
	uint32_t off = MASK_XENSTORE_IDX(prod), first = XENSTORE_RING_SIZE - off;
	if (first > space)
		first = space;
	memcpy(in->rsp + off, buf, first);
	memcpy(in->rsp, (const char *)buf + first, space - first);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* data visible before the index */
	STORE(in->rsp_prod, prod + space);
	return space;
}

static void ring_kick(struct xs_conn *c)
{
	struct xs_ring *r = c->priv;

	if (r->notify)
		r->notify(r);
}

static void ring_close(struct xs_conn *c)
{
	struct xs_ring *r = c->priv;

	if (r->err)
		STORE(r->intf->error, (uint32_t)r->err);
	if (r->release)
		r->release(r);
}

const struct xs_conn_ops ring_conn_ops = {
	.name = "ring", .recv = ring_recv, .send = ring_send, .kick = ring_kick, .close = ring_close,
};

struct xs_conn *ring__conn_new(struct xs_server *srv, struct xs_ring *r, int fd, unsigned domid)
{
	struct xs_conn *c = conn__new(srv, &ring_conn_ops, r, fd, domid, false);

	if (!c)
		return NULL;
	/* We report errors in the page; reconnection (XS_RESET of the ring) is not offered. */
	STORE(r->intf->server_features, (uint32_t)XENSTORE_SERVER_FEATURE_ERROR);
	STORE(r->intf->error, (uint32_t)XENSTORE_ERROR_NONE);
	STORE(r->intf->connection, (uint32_t)XENSTORE_CONNECTED);
	r->hold_cons = srv->persist != NULL;
	r->cons = LOAD(r->intf->req_cons);
	return c;
}

void ring__publish(struct xs_conn *c)
{
	struct xs_ring *r = c->priv;

	if (!r->hold_cons)
		return;
	XENSTORE_RING_IDX was = LOAD(r->intf->req_cons);
	/* What we read is committed, a request read in part included (its bytes are in the record). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	STORE(r->intf->req_cons, r->cons);
	/*
	 * The space is free only now. conn__input's kick went out when we read,
	 * before this commit: a guest that woke to it saw no space, slept again,
	 * and waited out its timeout for the rest of a request longer than the
	 * ring (xs-test's large-value, xenbus_roundtrip under load).
	 */
	if (was != r->cons && r->notify)
		r->notify(r);
	/*
	 * The other way round: a guest notifies only when its write finds us
	 * caught up (Linux's xb_write: `if (prod <= intf->req_cons)`), so bytes
	 * written while req_cons still lagged behind what we had read came with
	 * no event: Linux's XS_WATCH header and body, split around an LMDB
	 * commit, left its balloon driver waiting forever. Serve them now.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (LOAD(r->intf->req_prod) != r->cons && c->fd >= 0) {
		uint64_t one = 1;
		if (write(c->fd, &one, sizeof(one)) != sizeof(one))
			server__log(c->srv, "d%u: cannot re-arm its ring's event: %s", c->domid, strerror(errno));
	}
}
