/* server.c: the daemon state shared by all connections: store, watches, quotas, dirty list, log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"
#include "persist.h"

int server__init(struct xs_server *srv)
{
	int rc;

	memset(srv, 0, sizeof(*srv));
	quota__defaults(&srv->quota);
	if ((rc = store__init(&srv->store)) < 0)
		return rc;
	if ((rc = watch__init(&srv->watches)) < 0) {
		store__fini(&srv->store);
		return rc;
	}
	return 0;
}

void server__fini(struct xs_server *srv)
{
	for (unsigned i = 0; i < XS_DOM_BUCKETS; i++)
		while (srv->domains[i])
			domain__release(srv, srv->domains[i]->domid);
	while (srv->conns)
		conn__free(srv->conns);
	watch__fini(&srv->watches);
	store__fini(&srv->store);
}

void server__log(struct xs_server *srv, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!srv->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	srv->log("%s", buf);
}

void server__dirty(struct xs_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->dnext = c->srv->dirty;
	c->srv->dirty = c;
}

void server__drop(struct xs_conn *c, int err)
{
	struct xs_server *srv = c->srv;

	if (c->ops == &ring_conn_ops) {
		struct xs_ring *r = c->priv;
		if (!r->err)
			r->err = err == -E2BIG ? XENSTORE_ERROR_PROTO : XENSTORE_ERROR_COMM;
		domain__cut_off(srv, c, strerror(-err));
		return;
	}
	if (err != -ECONNRESET)
		server__log(srv, "socket client dropped: %s", strerror(-err));
	conn__free(c);
}

void server__service(struct xs_conn *c)
{
	int rc = conn__service(c);

	if (rc < 0) {
		server__drop(c, rc);
		return;
	}
	if (c->srv->update)
		c->srv->update(c);
}

void server__flush(struct xs_server *srv)
{
	while (srv->dirty || persist__holding(srv)) {
		/* Persisting: the batch's changes are in the store before any reply or event leaves. */
		if (persist__holding(srv) && persist__commit(srv) < 0) {
			server__log(srv, "stopping: replies cannot be sent for changes the store did not take");
			exit(1);
		}
		if (!srv->dirty)
			break;
		struct xs_conn *c = srv->dirty;
		srv->dirty = c->dnext;
		c->dirty = false;
		bool was_blocked = conn__blocked(c);
		int rc = conn__flush(c);
		if (rc < 0)
			server__drop(c, rc);
		else if (srv->persist && was_blocked && !conn__blocked(c) && c->ops == &ring_conn_ops)
			server__service(c);     /* its input waited for this output, and no kick will come */
		else if (srv->update)
			srv->update(c);
	}
}
