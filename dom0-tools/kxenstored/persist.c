/* persist.c: the tree, guests' watches, introduced domains and ring positions in LMDB, committed before any reply leaves. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <xen/xen.h>            /* DOMID_FIRST_RESERVED */

#include "persist.h"

#define FORMAT "kxenstored-lmdb 1"

enum { D_DOM = 1, D_WATCH = 2, D_RING = 4 };

struct pnode {
	uint64_t cseq;
	struct xs_node *n;          /* NULL: the node went */
};

struct xs_persist {
	MDB_env *env;
	MDB_dbi nodes, domains, watches, rings, meta;
	char path[PATH_MAX];
	int lockfd;
	bool sync;
	struct pnode *nd;           /* nodes changed since the last commit */
	unsigned nnd, nd_cap;
	unsigned *dirty;            /* domids with D_* flags set */
	unsigned ndirty, dirty_cap;
	uint8_t dflags[DOMID_FIRST_RESERVED];
};

/* The records: fixed little headers (this host's byte order: the file never leaves it). */
struct rec_node { uint32_t nperms, vlen, plen; };               /* + perms, path, value */
struct rec_dom { uint64_t gfn; uint32_t port, target; uint8_t shutdown, cut_off, pad[6]; };
struct rec_watch { uint32_t strip, plen, tlen; };               /* + path, token; repeated */
struct rec_ring { uint32_t cons, rsp_prod, next_txid, outlen, inlen; }; /* + unread output, partial request */

unsigned persist__kill_after;
size_t persist__map_size = (size_t)1 << 30;    /* virtual reservation; the file grows with the tree */

static void key_u64(uint64_t v, unsigned char k[8])
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		k[i] = (unsigned char)v;     /* big-endian: LMDB's byte order is creation order */
}

static void key_dom(unsigned domid, unsigned char k[4])
{
	k[0] = (unsigned char)(domid >> 24);
	k[1] = (unsigned char)(domid >> 16);
	k[2] = (unsigned char)(domid >> 8);
	k[3] = (unsigned char)domid;
}

/* ---- hooks ---- */

static int grow(void **arr, unsigned *cap, size_t elem)
{
	unsigned ncap = *cap ? *cap * 2 : 64;
	void *a = realloc(*arr, ncap * elem);

	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = ncap;
	return 0;
}

/* An allocation failure here loses durability, not correctness of what we serve: stop loudly. */
static void out_of_memory(void)
{
	fprintf(stderr, "kxenstored: out of memory tracking changes for the store; stopping\n");
	abort();
}

void persist__node(struct xs_store *s, struct xs_node *n, bool gone)
{
	struct xs_persist *p = s->persist;

	if (!p)
		return;
	if (n->pdirty) {
		if (gone)
			p->nd[n->pdirty - 1].n = NULL;
		return;
	}
	if (p->nnd == p->nd_cap && grow((void **)&p->nd, &p->nd_cap, sizeof(*p->nd)) < 0)
		out_of_memory();
	p->nd[p->nnd++] = (struct pnode){ n->cseq, gone ? NULL : n };
	if (!gone)
		n->pdirty = p->nnd;
}

static void mark(struct xs_persist *p, unsigned domid, uint8_t what)
{
	if (!p || !domid || domid >= DOMID_FIRST_RESERVED)
		return;
	if (!p->dflags[domid]) {
		if (p->ndirty == p->dirty_cap && grow((void **)&p->dirty, &p->dirty_cap, sizeof(*p->dirty)) < 0)
			out_of_memory();
		p->dirty[p->ndirty++] = domid;
	}
	p->dflags[domid] |= what;
}

void persist__domain(struct xs_server *srv, unsigned domid)
{
	mark(srv->persist, domid, D_DOM | D_WATCH | D_RING);
}

void persist__watches(struct xs_server *srv, const struct xs_conn *c)
{
	if (c->ops == &ring_conn_ops)
		mark(srv->persist, c->domid, D_WATCH);
}

void persist__ring(struct xs_server *srv, unsigned domid)
{
	mark(srv->persist, domid, D_RING);
}

bool persist__holding(const struct xs_server *srv)
{
	return srv->persist && (srv->persist->nnd || srv->persist->ndirty);
}

/* ---- commit ---- */

static int put(MDB_txn *t, MDB_dbi db, void *k, size_t klen, void *v, size_t vlen)
{
	MDB_val key = { klen, k }, val = { vlen, v };

	if (persist__kill_after && !--persist__kill_after)
		kill(getpid(), SIGKILL);
	return mdb_put(t, db, &key, &val, 0);
}

static int del(MDB_txn *t, MDB_dbi db, void *k, size_t klen)
{
	MDB_val key = { klen, k };
	int rc = mdb_del(t, db, &key, NULL);

	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int put_node(MDB_txn *t, struct xs_persist *p, const struct xs_node *n)
{
	struct rec_node h = { n->nperms, n->vlen, n->plen };
	size_t ps = n->nperms * sizeof(*n->perms), len = sizeof(h) + ps + n->plen + n->vlen;
	unsigned char k[8];
	MDB_val key = { 8, k }, val = { len, NULL };
	int rc;

	key_u64(n->cseq, k);
	if (persist__kill_after && !--persist__kill_after)
		kill(getpid(), SIGKILL);
	/* MDB_RESERVE: built in place, one copy. */
	if ((rc = mdb_put(t, p->nodes, &key, &val, MDB_RESERVE)))
		return rc;
	char *d = val.mv_data;
	memcpy(d, &h, sizeof(h));
	memcpy(d + sizeof(h), n->perms, ps);
	memcpy(d + sizeof(h) + ps, n->path, n->plen);
	memcpy(d + sizeof(h) + ps + n->plen, n->value, n->vlen);
	return 0;
}

static int put_watches(MDB_txn *t, struct xs_persist *p, const struct xs_conn *c, unsigned char k[4])
{
	size_t len = 0;
	int rc;

	for (const struct xs_watch *w = c->watches; w; w = w->cnext)
		len += sizeof(struct rec_watch) + strlen(w->path) + strlen(w->token);
	if (!len)
		return del(t, p->watches, k, 4);
	char *buf = malloc(len), *d = buf;
	if (!buf)
		return ENOMEM;
	for (const struct xs_watch *w = c->watches; w; w = w->cnext) {
		struct rec_watch h = { w->strip, (uint32_t)strlen(w->path), (uint32_t)strlen(w->token) };
		memcpy(d, &h, sizeof(h));
		memcpy(d + sizeof(h), w->path, h.plen);
		memcpy(d + sizeof(h) + h.plen, w->token, h.tlen);
		d += sizeof(h) + h.plen + h.tlen;
	}
	rc = put(t, p->watches, k, 4, buf, len);
	free(buf);
	return rc;
}

/*
 * The ring's position, the output the guest has not had yet (from the page's
 * rsp_prod on) and the part of a request read so far: a request may be
 * larger than the ring, so its first bytes must be consumed (and kept here)
 * before the guest can write the rest.
 */
static int put_ring(MDB_txn *t, struct xs_persist *p, const struct xs_conn *c, unsigned char k[4])
{
	const struct xs_ring *r = c->priv;
	struct rec_ring h = {
		.cons = r->cons,
		.rsp_prod = __atomic_load_n(&r->intf->rsp_prod, __ATOMIC_ACQUIRE),
		.next_txid = c->next_txid,
		.inlen = c->inlen,
	};
	for (const struct xs_obuf *o = c->out; o; o = o->next)
		h.outlen += o->len - o->off;
	size_t len = sizeof(h) + h.outlen + h.inlen;
	char *buf = malloc(len), *d = buf + sizeof(h);
	int rc;

	if (!buf)
		return ENOMEM;
	memcpy(buf, &h, sizeof(h));
	for (const struct xs_obuf *o = c->out; o; o = o->next) {
		memcpy(d, o->data + o->off, o->len - o->off);
		d += o->len - o->off;
	}
	if (h.inlen > XS_HDR) {
		memcpy(d, &c->hdr, XS_HDR);
		memcpy(d + XS_HDR, c->in, h.inlen - XS_HDR);
	} else {
		memcpy(d, &c->hdr, h.inlen);
	}
	rc = put(t, p->rings, k, 4, buf, len);
	free(buf);
	return rc;
}

static int put_domain(MDB_txn *t, struct xs_persist *p, const struct xs_domain *d, uint8_t what)
{
	unsigned char k[4];
	int rc = 0;

	key_dom(d->domid, k);
	if (what & D_DOM) {
		struct rec_dom r = { .gfn = d->gfn, .port = d->port, .target = d->target,
		                     .shutdown = d->shutdown, .cut_off = !d->conn };
		if ((rc = put(t, p->domains, k, 4, &r, sizeof(r))))
			return rc;
	}
	if (!d->conn)
		return 0;
	if ((what & D_WATCH) && (rc = put_watches(t, p, d->conn, k)))
		return rc;
	if (what & D_RING)
		rc = put_ring(t, p, d->conn, k);
	return rc;
}

/* Every record changed since the last commit, into a new write transaction *t; an LMDB error code. */
static int write_all(struct xs_server *srv, struct xs_persist *p, MDB_txn **t)
{
	int rc;

	if ((rc = mdb_txn_begin(p->env, NULL, 0, t))) {
		*t = NULL;
		return rc;
	}
	for (unsigned i = 0; i < p->nnd; i++) {
		unsigned char k[8];
		key_u64(p->nd[i].cseq, k);
		if ((rc = p->nd[i].n ? put_node(*t, p, p->nd[i].n) : del(*t, p->nodes, k, 8)))
			return rc;
	}
	for (unsigned i = 0; i < p->ndirty; i++) {
		unsigned domid = p->dirty[i];
		struct xs_domain *d = domain__find(srv, domid);
		unsigned char k[4];
		key_dom(domid, k);
		if (d)
			rc = put_domain(*t, p, d, p->dflags[domid]);
		else if (!(rc = del(*t, p->domains, k, 4)) && !(rc = del(*t, p->watches, k, 4)))
			rc = del(*t, p->rings, k, 4);
		if (rc)
			return rc;
	}
	return 0;
}

int persist__commit(struct xs_server *srv)
{
	struct xs_persist *p = srv->persist;
	MDB_txn *t = NULL;
	int rc;

	if (!p)
		return 0;
	/* Output queued for guests (replies, events) is kept with their ring's record. */
	for (struct xs_conn *c = srv->dirty; c; c = c->dnext)
		if (c->ops == &ring_conn_ops)
			mark(p, c->domid, D_RING);
	if (!p->nnd && !p->ndirty)
		return 0;
	/* The map is only reserved address space: when the file outgrows it, reserve twice as much and redo. */
	for (;;) {
		if (!(rc = write_all(srv, p, &t))) {
			rc = mdb_txn_commit(t);
			t = NULL;
		}
		if (rc != MDB_MAP_FULL)
			break;
		MDB_envinfo info;
		if (t)
			mdb_txn_abort(t);
		t = NULL;
		mdb_env_info(p->env, &info);
		if ((rc = mdb_env_set_mapsize(p->env, info.me_mapsize * 2)))
			goto out;
		server__log(srv, "%s: map grown to %zu KiB", p->path, info.me_mapsize * 2 >> 10);
	}
	if (!rc && p->sync)
		rc = mdb_env_sync(p->env, 1);
	if (rc)
		goto out;
	/* Durable: now the guests may reuse the request bytes we consumed. */
	for (unsigned i = 0; i < p->ndirty; i++) {
		struct xs_domain *d = domain__find(srv, p->dirty[i]);
		if (d && d->conn)
			ring__publish(d->conn);
		p->dflags[p->dirty[i]] = 0;
	}
	for (unsigned i = 0; i < p->nnd; i++)
		if (p->nd[i].n)
			p->nd[i].n->pdirty = 0;
	p->nnd = p->ndirty = 0;
out:
	if (t)
		mdb_txn_abort(t);
	if (rc) {
		server__log(srv, "cannot commit to %s: %s", p->path, mdb_strerror(rc));
		return -EIO;
	}
	return 0;
}

/* ---- open and load ---- */

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* The nodes, in creation order, into an emptied tree. */
static int load_nodes(struct xs_server *srv, struct xs_persist *p, MDB_txn *t, char *err, size_t errlen)
{
	struct xs_store *s = &srv->store;
	struct xs_node *root = store__lookup(s, "/");
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t max = 0;
	int rc, op = MDB_FIRST;
	unsigned count = 0;

	if (mdb_cursor_open(t, p->nodes, &cur))
		return ERR("%s: cannot read its nodes", p->path);
	while (root->children)
		store__del(s, root->children, NULL, NULL);
	for (rc = 0; !(rc = mdb_cursor_get(cur, &k, &v, op)); op = MDB_NEXT) {
		struct rec_node h;
		uint64_t cseq = 0;
		if (k.mv_size != 8 || v.mv_size < sizeof(h))
			goto out;
		for (int i = 0; i < 8; i++)
			cseq = cseq << 8 | ((unsigned char *)k.mv_data)[i];
		memcpy(&h, v.mv_data, sizeof(h));
		size_t ps = (size_t)h.nperms * sizeof(struct xs_permissions);
		if (!h.nperms || h.nperms > 0xffff || !h.plen || h.plen > XENSTORE_ABS_PATH_MAX ||
		    h.vlen > XENSTORE_PAYLOAD_MAX || v.mv_size != sizeof(h) + ps + h.plen + h.vlen)
			goto out;
		const char *d = (const char *)v.mv_data + sizeof(h);
		char path[XENSTORE_ABS_PATH_MAX + 1];
		struct xs_permissions *perms = malloc(ps);
		if (!perms) {
			mdb_cursor_close(cur);
			return ERR("%s: out of memory", p->path);
		}
		memcpy(perms, d, ps);
		memcpy(path, d + ps, h.plen);
		path[h.plen] = 0;
		int prc = path__valid(path, false) ? store__put(s, path, d + ps + h.plen, h.vlen, perms, h.nperms)
		                                   : -EINVAL;
		free(perms);
		if (prc < 0) {
			mdb_cursor_close(cur);
			return ERR("%s: node %llu (%s) cannot be restored: %s", p->path,
			           (unsigned long long)cseq, path, strerror(-prc));
		}
		store__lookup(s, path)->cseq = cseq;
		if (cseq > max)
			max = cseq;
		count++;
		continue;
out:
		mdb_cursor_close(cur);
		return ERR("%s: node record %llu is malformed (%zu bytes)", p->path,
		           (unsigned long long)cseq, v.mv_size);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return ERR("%s: reading nodes: %s", p->path, mdb_strerror(rc));
	if (!count || !store__lookup(s, "/local/domain"))
		return ERR("%s: holds no tree (no /local/domain)", p->path);
	s->cseq = max;
	return 0;
}

/* A store just created: everything server__init made is written at the first commit. */
static void mark_all(struct xs_store *s)
{
	for (unsigned i = 0; i < s->nbuckets; i++)
		for (struct xs_node *n = s->buckets[i]; n; n = n->hnext)
			persist__node(s, n, false);
}

static int open_dbs(struct xs_persist *p, MDB_txn *t, bool create)
{
	unsigned f = create ? MDB_CREATE : 0;
	int rc;

	if ((rc = mdb_dbi_open(t, "meta", f, &p->meta)) || (rc = mdb_dbi_open(t, "nodes", f, &p->nodes)) ||
	    (rc = mdb_dbi_open(t, "domains", f, &p->domains)) ||
	    (rc = mdb_dbi_open(t, "watches", f, &p->watches)) || (rc = mdb_dbi_open(t, "rings", f, &p->rings)))
		return rc;
	return 0;
}

/* Opens (creating) p->path into p->lockfd and locks it; -errno with err set. */
static int lock_file(struct xs_persist *p, char *err, size_t errlen)
{
	if ((p->lockfd = open(p->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", p->path, strerror(e));
		return -e;
	}
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s is in use by another kxenstored", p->path);
		return -EBUSY;
	}
	return 0;
}

int persist__open(struct xs_server *srv, const char *dir, unsigned flags, char *err, size_t errlen)
{
	struct xs_persist *p = calloc(1, sizeof(*p));
	MDB_txn *t = NULL;
	struct stat st;
	int rc;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->lockfd = -1;
	p->sync = flags & PERSIST_SYNC;
	if (snprintf(p->path, sizeof(p->path), "%s/%s", dir, PERSIST_FILE) >= (int)sizeof(p->path)) {
		rc = ERR("store directory name too long: %s", dir);
		goto out;
	}
	/* The parents of /var/lib/kxen/xenstore may not exist yet: make them too. */
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *s = tmp + 1; ; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = 0;
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
				rc = -errno;
				snprintf(err, errlen, "cannot create the store directory %s: %s", tmp, strerror(errno));
				goto out;
			}
			if (!(*s = c))
				break;
		}
	}
	/* One daemon per store: LMDB's own lock file is off (MDB_NOLOCK), this lock replaces it. */
	if ((rc = lock_file(p, err, errlen)) < 0)
		goto out;
	bool empty = !fstat(p->lockfd, &st) && st.st_size == 0;
	if ((flags & PERSIST_FRESH) && !empty) {
		/* Only once we hold it: a store in use is never moved from under its daemon. */
		if (snprintf(tmp, sizeof(tmp), "%s.old", p->path) >= (int)sizeof(tmp) || rename(p->path, tmp) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot move %s aside: %s", p->path, strerror(errno));
			goto out;
		}
		close(p->lockfd);
		if ((rc = lock_file(p, err, errlen)) < 0)
			goto out;
		empty = true;
	}
	if ((rc = mdb_env_create(&p->env)) || (rc = mdb_env_set_maxdbs(p->env, 8)) ||
	    (rc = mdb_env_set_mapsize(p->env, persist__map_size)) ||
	    (rc = mdb_env_open(p->env, p->path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0600))) {
		snprintf(err, errlen, "%s is not a kxenstored store (%s); start with --fresh to move it "
		         "aside and start empty, or --no-persist", p->path, mdb_strerror(rc));
		rc = -EINVAL;
		goto out;
	}
	if ((rc = mdb_txn_begin(p->env, NULL, 0, &t))) {
		snprintf(err, errlen, "%s: %s", p->path, mdb_strerror(rc));
		rc = -EIO;
		goto out;
	}
	MDB_val fk = { 6, "format" }, fv;
	if (empty) {
		fv = (MDB_val){ sizeof(FORMAT), FORMAT };
		if ((rc = open_dbs(p, t, true)) || (rc = mdb_put(t, p->meta, &fk, &fv, 0)) ||
		    (rc = mdb_txn_commit(t))) {
			t = NULL;
			snprintf(err, errlen, "cannot initialise %s: %s", p->path, mdb_strerror(rc));
			rc = -EIO;
			goto out;
		}
		t = NULL;
		srv->store.persist = p;
		mark_all(&srv->store);
	} else {
		if (open_dbs(p, t, false) || mdb_get(t, p->meta, &fk, &fv) || fv.mv_size != sizeof(FORMAT) ||
		    memcmp(fv.mv_data, FORMAT, sizeof(FORMAT))) {
			rc = ERR("%s is an LMDB file but not a kxenstored store of format \"%s\"; start with "
			         "--fresh to move it aside and start empty, or --no-persist", p->path, FORMAT);
			goto out;
		}
		if ((rc = load_nodes(srv, p, t, err, errlen)) < 0)
			goto out;
		/* Committed, not aborted: an abort would close the handles the txn opened. */
		rc = mdb_txn_commit(t);
		t = NULL;
		if (rc) {
			snprintf(err, errlen, "%s: %s", p->path, mdb_strerror(rc));
			rc = -EIO;
			goto out;
		}
		srv->store.persist = p;
	}
	srv->persist = p;
	p = NULL;
	rc = 0;
out:
	if (t)
		mdb_txn_abort(t);
	if (p) {
		if (p->env)
			mdb_env_close(p->env);
		if (p->lockfd >= 0)
			close(p->lockfd);
		free(p);
	}
	return rc;
}

/* ---- domains at restart ---- */

static void restore_watches(struct xs_server *srv, struct xs_conn *c, const MDB_val *v)
{
	const char *d = v->mv_data, *end = d + v->mv_size;
	unsigned n = 0;

	while ((size_t)(end - d) >= sizeof(struct rec_watch)) {
		struct rec_watch h;
		memcpy(&h, d, sizeof(h));
		d += sizeof(h);
		if (h.plen > XENSTORE_ABS_PATH_MAX || h.tlen > XENSTORE_PAYLOAD_MAX ||
		    (size_t)(end - d) < (size_t)h.plen + h.tlen) {
			server__log(srv, "d%u: watch record malformed after %u watches: the rest skipped", c->domid, n);
			break;
		}
		char *path = strndup(d, h.plen), *tok = strndup(d + h.plen, h.tlen);
		struct xs_watch *w;
		/* Fired once: an event lost in the crash is covered; watchers expect spurious ones. */
		if (path && tok && watch__add(srv, c, path, h.strip, tok, &w) == 0) {
			watch__event(w, w->path);
			n++;
		}
		free(path);
		free(tok);
		d += h.plen + h.tlen;
	}
}

/*
 * The guest's ring as the crash left it. The page's req_prod and rsp_cons are
 * the guest's and the truth; req_cons and rsp_prod are ours, and the record
 * committed before we stored them into the page is at least as new: bytes
 * past its cons are read again (no request among them took effect), a
 * request read in part continues from the part it keeps, and the output
 * between its rsp_prod and the page's was not yet on the ring.
 */
static int restore_ring(struct xs_server *srv, struct xs_conn *c, const MDB_val *v)
{
	struct xs_ring *r = c->priv;
	struct rec_ring h;

	if (v->mv_size < sizeof(h))
		return -EINVAL;
	memcpy(&h, v->mv_data, sizeof(h));
	if (h.outlen > (1u << 30) || h.inlen > XS_HDR + XENSTORE_PAYLOAD_MAX ||
	    v->mv_size != sizeof(h) + h.outlen + h.inlen)
		return -EINVAL;
	const char *partial = (const char *)v->mv_data + sizeof(h) + h.outlen;
	if (h.inlen > XS_HDR) {
		memcpy(&c->hdr, partial, XS_HDR);
		if (c->hdr.len > XENSTORE_PAYLOAD_MAX || h.inlen > XS_HDR + c->hdr.len)
			return -EINVAL;
		memcpy(c->in, partial + XS_HDR, h.inlen - XS_HDR);
	} else {
		memcpy(&c->hdr, partial, h.inlen);
	}
	XENSTORE_RING_IDX prod = __atomic_load_n(&r->intf->req_prod, __ATOMIC_ACQUIRE);
	XENSTORE_RING_IDX rsp = __atomic_load_n(&r->intf->rsp_prod, __ATOMIC_ACQUIRE);
	if (prod - h.cons > XENSTORE_RING_SIZE)
		return -EPROTO;
	r->cons = h.cons;
	c->inlen = h.inlen;
	c->next_txid = h.next_txid;
	c->txid_floor = h.next_txid;
	uint32_t sent = rsp - h.rsp_prod;
	if (sent < h.outlen) {
		struct xs_obuf *o = malloc(sizeof(*o) + h.outlen - sent);
		if (!o)
			return -ENOMEM;
		memcpy(o->data, (const char *)v->mv_data + sizeof(h) + sent, h.outlen - sent);
		*o = (struct xs_obuf){ .len = h.outlen - sent };
		c->out = c->out_tail = o;
		c->outbytes = o->len;
		server__dirty(c);
	}
	return 0;
}

int persist__restore_domains(struct xs_server *srv)
{
	struct xs_persist *p = srv->persist;
	MDB_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, restored = 0, op = MDB_FIRST;
	struct { unsigned domid; struct rec_dom r; } *doms = NULL;
	unsigned n = 0, cap = 0;

	if (!p)
		return 0;
	/* Read all first: re-attaching commits, which needs the write transaction. */
	if ((rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, &t)))
		return -EIO;
	if (mdb_cursor_open(t, p->domains, &cur)) {
		mdb_txn_abort(t);
		return -EIO;
	}
	while (!mdb_cursor_get(cur, &k, &v, op)) {
		op = MDB_NEXT;
		if (k.mv_size != 4 || v.mv_size != sizeof(struct rec_dom)) {
			server__log(srv, "%s: a domain record is malformed (%zu bytes): skipped", p->path, v.mv_size);
			continue;
		}
		if (n == cap && grow((void **)&doms, &cap, sizeof(*doms)) < 0)
			break;
		const unsigned char *kb = k.mv_data;
		doms[n].domid = (unsigned)kb[0] << 24 | kb[1] << 16 | kb[2] << 8 | kb[3];
		memcpy(&doms[n].r, v.mv_data, sizeof(doms[n].r));
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	for (unsigned i = 0; i < n; i++) {
		unsigned domid = doms[i].domid;
		int alive = srv->domops && srv->domops->exists ? srv->domops->exists(srv, domid) : -ENOSYS;
		if (alive < 0) {
			server__log(srv, "cannot ask kxen-hv whether d%u still exists: %s", domid, strerror(-alive));
			rc = alive;
			goto out;
		}
		if (!alive) {
			/* It died while we were down: what its death would have done. */
			server__log(srv, "d%u died while kxenstored was down: releasing it", domid);
			store__chown_all(&srv->store, domid, 0);
			domain__forget_home(srv, domid);
			persist__domain(srv, domid);
			watch__fire(srv, "@releaseDomain", true, NULL, 0);
			continue;
		}
		struct xs_domain *d = calloc(1, sizeof(*d));
		if (!d) {
			rc = -ENOMEM;
			goto out;
		}
		*d = (struct xs_domain){ .domid = domid, .gfn = doms[i].r.gfn, .port = doms[i].r.port,
		                         .target = doms[i].r.target, .shutdown = doms[i].r.shutdown };
		if (!doms[i].r.cut_off && (rc = srv->domops->attach(srv, domid, d->gfn, d->port, &d->conn)) < 0) {
			server__log(srv, "d%u: cannot re-attach its ring (gfn %#llx, port %u): %s; it stays cut off",
			            domid, (unsigned long long)d->gfn, d->port, strerror(-rc));
			d->conn = NULL;
		}
		d->hnext = srv->domains[domid % XS_DOM_BUCKETS];
		srv->domains[domid % XS_DOM_BUCKETS] = d;
		srv->ndomains++;
		if (d->conn) {
			d->conn->target = d->target;
			unsigned char kb[4];
			key_dom(domid, kb);
			MDB_val key = { 4, kb };
			if (!mdb_txn_begin(p->env, NULL, MDB_RDONLY, &t)) {
				if (!mdb_get(t, p->rings, &key, &v) && (rc = restore_ring(srv, d->conn, &v)) < 0)
					server__log(srv, "d%u: its ring record is unusable (%s): serving from the page's indexes",
					            domid, strerror(-rc));
				if (!mdb_get(t, p->watches, &key, &v))
					restore_watches(srv, d->conn, &v);
				mdb_txn_abort(t);
			}
			ring__publish(d->conn);
		}
		persist__domain(srv, domid);
		server__log(srv, "restored d%u (gfn %#llx, port %u)%s", domid, (unsigned long long)d->gfn, d->port,
		            d->conn ? "" : " cut off");
		restored++;
	}
	rc = persist__commit(srv) < 0 ? -EIO : restored;
out:
	free(doms);
	return rc;
}

void persist__close(struct xs_server *srv)
{
	struct xs_persist *p = srv->persist;

	if (!p)
		return;
	srv->persist = NULL;
	srv->store.persist = NULL;
	mdb_env_close(p->env);
	close(p->lockfd);
	free(p->nd);
	free(p->dirty);
	free(p);
}
