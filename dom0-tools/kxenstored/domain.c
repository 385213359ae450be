/* domain.c: introduced domains: INTRODUCE, RELEASE, cut-off, and the @introduceDomain/@releaseDomain watches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"
#include "persist.h"

struct xs_domain *domain__find(struct xs_server *srv, unsigned domid)
{
	for (struct xs_domain *d = srv->domains[domid % XS_DOM_BUCKETS]; d; d = d->hnext)
		if (d->domid == domid)
			return d;
	return NULL;
}

int domain__introduce(struct xs_server *srv, unsigned domid, uint64_t gfn, unsigned port)
{
	struct xs_domain *d = domain__find(srv, domid);
	struct xs_conn *c;
	int rc;

	if (d)  /* Xen: introducing again with the same page is harmless; another page is not. */
		return d->gfn == gfn && d->port == port ? 0 : -EINVAL;
	if (!srv->domops || !srv->domops->attach)
		return -ENOSYS;
	if (!(d = calloc(1, sizeof(*d))))
		return -ENOMEM;
	if ((rc = srv->domops->attach(srv, domid, gfn, port, &c)) < 0) {
		server__log(srv, "introduce d%u (gfn %#llx, port %u) failed: %s", domid,
		            (unsigned long long)gfn, port, strerror(-rc));
		free(d);
		return rc;
	}
	d->domid = domid;
	d->gfn = gfn;
	d->port = port;
	d->target = XS_DOMID_NONE;
	d->conn = c;
	d->hnext = srv->domains[domid % XS_DOM_BUCKETS];
	srv->domains[domid % XS_DOM_BUCKETS] = d;
	srv->ndomains++;
	persist__domain(srv, domid);
	server__log(srv, "introduced d%u (gfn %#llx, port %u)", domid, (unsigned long long)gfn, port);
	watch__fire(srv, "@introduceDomain", true, NULL, 0);
	return 0;
}

int domain__release(struct xs_server *srv, unsigned domid)
{
	struct xs_domain **pp = &srv->domains[domid % XS_DOM_BUCKETS], *d;

	while (*pp && (*pp)->domid != domid)
		pp = &(*pp)->hnext;
	if (!(d = *pp))
		return -ENOENT;
	*pp = d->hnext;
	srv->ndomains--;
	persist__domain(srv, domid);
	if (d->conn)
		conn__free(d->conn);
	store__chown_all(&srv->store, domid, 0);
	free(d);
	server__log(srv, "released d%u", domid);
	watch__fire(srv, "@releaseDomain", true, NULL, 0);
	return 0;
}

bool domain__exists(struct xs_server *srv, unsigned domid)
{
	if (!domid || domain__find(srv, domid))
		return true;
	/* The toolstack sets a new domain's permissions before it introduces it: ask the hypervisor. */
	return srv->domops && srv->domops->exists && srv->domops->exists(srv, domid) > 0;
}

int domain__check_perms(struct xs_server *srv, struct xs_permissions *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (domain__exists(srv, p[i].id))
			continue;
		if (!i)
			return -ENOENT;
		p[i].perms |= XS_PERM_IGNORE;
	}
	return 0;
}

void domain__cut_off(struct xs_server *srv, struct xs_conn *c, const char *why)
{
	struct xs_domain *d = domain__find(srv, c->domid);

	server__log(srv, "d%u cut off: %s", c->domid, why);
	if (d && d->conn == c) {
		d->conn = NULL;
		persist__domain(srv, d->domid);
	}
	conn__free(c);
}

/* Backend types under /local/domain/0/backend (vbd, vif, console...): a handful. */
struct be_types {
	unsigned n;
	char name[16][32];
};

static int collect_type(void *arg, const char *name)
{
	struct be_types *t = arg;

	if (t->n < sizeof(t->name) / sizeof(t->name[0]) && strlen(name) < sizeof(t->name[0]))
		snprintf(t->name[t->n++], sizeof(t->name[0]), "%s", name);
	return 0;
}

void domain__forget_home(struct xs_server *srv, unsigned domid)
{
	struct xs_ctx x = { .srv = srv, .domid = 0, .target = XS_DOMID_NONE, .privileged = true };
	struct xs_view v;
	char home[48], link[56], vm[64] = "";

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(link, sizeof(link), "%s/vm", home);
	/* Only a /vm/NAME the toolstack wrote: the guest could not have changed the key. */
	if (txn__read(&x, link, &v) == 0 && v.exists && v.vlen > 4 && v.vlen < sizeof(vm) &&
	    !memcmp(v.value, "/vm/", 4) && !memchr(v.value + 4, '/', v.vlen - 4) &&
	    !memchr(v.value, 0, v.vlen))
		snprintf(vm, sizeof(vm), "%.*s", (int)v.vlen, v.value);
	if (vm[0] && txn__rm(&x, vm) == 0)
		server__log(srv, "removed %s of dead d%u", vm, domid);
	if (txn__rm(&x, home) == 0)
		server__log(srv, "removed %s of dead d%u", home, domid);
	/* Its devices' backend directories, which the toolstack wrote under dom0's home. */
	struct be_types t = { .n = 0 };
	txn__children(&x, "/local/domain/0/backend", collect_type, &t);
	for (unsigned i = 0; i < t.n; i++) {
		char be[96];
		snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u", t.name[i], domid);
		if (txn__rm(&x, be) == 0)
			server__log(srv, "removed %s of dead d%u", be, domid);
	}
}
