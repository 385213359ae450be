/* txn.c: transactions as overlays of the nodes they touch over a snapshot of the tree, plus the store operations with Xen's rules on top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"

void txn__init(struct xs_txn *t, uint32_t id, struct xs_conn *c)
{
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->conn = c;
	if (c)
		snap__open(&c->srv->store, &t->snap);
}

void txn__free(struct xs_txn *t)
{
	struct xs_tnode *n, *next;

	for (n = t->list; n; n = next) {
		next = n->next;
		free(n->value);
		free(n->perms);
		free(n);
	}
	t->list = t->tail = NULL;
	memset(t->buckets, 0, sizeof(t->buckets));
	t->count = 0;
	if (t->conn)
		snap__close(&t->conn->srv->store, &t->snap);
}

/* The generation x's reads see: its transaction's start, or the live tree. */
static uint64_t read_gen(const struct xs_ctx *x)
{
	return x->txn && x->txn->snap.open ? x->txn->snap.gen : UINT64_MAX;
}

/* Path as x's snapshot saw it, never the overlay. */
static void view_base(const struct xs_ctx *x, const char *path, struct xs_view *v)
{
	const struct xs_node *b;
	const struct xs_old *o;

	memset(v, 0, sizeof(*v));
	snap__at(&x->srv->store, path, read_gen(x), &b, &o);
	if (b) {
		v->value = b->value;
		v->vlen = b->vlen;
		v->perms = b->perms;
		v->nperms = b->nperms;
		v->gen = b->gen;
	} else if (o) {
		v->value = o->value;
		v->vlen = o->vlen;
		v->perms = o->perms;
		v->nperms = o->nperms;
		v->gen = o->gen;
	}
	v->exists = b || o;
}

static struct xs_tnode *tn_find(const struct xs_txn *t, const char *path, size_t len, uint32_t h)
{
	for (struct xs_tnode *n = t->buckets[h & 63]; n; n = n->hnext)
		if (n->hash == h && n->plen == len && !memcmp(n->path, path, len))
			return n;
	return NULL;
}

/* The overlay entry for path, created on first touch with the base generation it saw. */
static int tn_get(struct xs_ctx *x, const char *path, struct xs_tnode **out)
{
	struct xs_txn *t = x->txn;
	size_t len = strlen(path);
	uint32_t h = store__hash(path, len);
	struct xs_tnode *n = tn_find(t, path, len, h);

	if (n) {
		*out = n;
		return 0;
	}
	if (t->count >= x->srv->quota.txn_nodes && !x->privileged)
		return -ENOSPC;
	if (!(n = calloc(1, sizeof(*n) + len + 1)))
		return -ENOMEM;
	memcpy(n->path, path, len + 1);
	n->plen = (unsigned)len;
	n->hash = h;
	for (const char *c = path + 1; *c; c++)
		n->depth += *c == '/';
	struct xs_view v;
	view_base(x, path, &v);
	n->seen_gen = v.gen;
	n->exists = v.exists;
	n->hnext = t->buckets[h & 63];
	t->buckets[h & 63] = n;
	if (t->tail)
		t->tail->next = n;
	else
		t->list = n;
	t->tail = n;
	t->count++;
	*out = n;
	return 0;
}

int txn__view(struct xs_ctx *x, const char *path, struct xs_view *v)
{
	struct xs_tnode *n;
	int rc;

	if (!x->txn) {
		view_base(x, path, v);
		return 0;
	}
	if ((rc = tn_get(x, path, &n)) < 0)
		return rc;
	if (!n->copied) {
		/* Only read so far: the snapshot's version; the commit fails if it has changed since. */
		view_base(x, path, v);
		return 0;
	}
	memset(v, 0, sizeof(*v));
	v->exists = n->exists;
	v->value = n->value;
	v->vlen = n->vlen;
	v->perms = n->perms;
	v->nperms = n->nperms;
	return 0;
}

/* Gives the overlay entry its own state (value, perms, existence), replacing what it had. */
static int tn_set(struct xs_txn *t, struct xs_tnode *n, bool exists, const char *val, unsigned vlen,
                  const struct xs_permissions *perms, unsigned nperms)
{
	char *v = NULL;
	struct xs_permissions *p = NULL;

	if (exists && store__copy_data(val, vlen, perms, nperms, &v, &p))
		return -ENOMEM;
	if (exists && !n->exists) {
		/* Created here: lists after the children that exist, as Xen appends it to its parent. */
		n->cseq = ++t->created;
		n->reborn = n->seen_gen != 0;
	}
	free(n->value);
	free(n->perms);
	n->value = v;
	n->vlen = exists ? vlen : 0;
	n->perms = p;
	n->nperms = exists ? nperms : 0;
	n->exists = exists;
	n->copied = n->modified = true;
	return 0;
}

static const char *child_name(const char *path, size_t parent_len)
{
	return path + (parent_len == 1 ? 1 : parent_len + 1);
}

/* Calls fn for a snapshot child unless the transaction removed it (and maybe created it again, later in the list). */
static int snap_child(struct xs_ctx *x, const char *cpath, size_t clen, uint32_t h, size_t plen,
                      int (*fn)(void *arg, const char *name), void *arg)
{
	if (x->txn) {
		const struct xs_tnode *tn = tn_find(x->txn, cpath, clen, h);
		if (tn && tn->copied && (!tn->exists || tn->reborn))
			return 0;
	}
	return fn(arg, child_name(cpath, plen));
}

static int by_cseq(const void *a, const void *b)
{
	const struct xs_tnode *x = *(const struct xs_tnode *const *)a;
	const struct xs_tnode *y = *(const struct xs_tnode *const *)b;

	return (x->cseq > y->cseq) - (x->cseq < y->cseq);
}

/* Children path's transaction created, in the order it created them (a pass over the small overlay). */
static int created_children(struct xs_txn *t, const char *path, size_t plen,
                            int (*fn)(void *arg, const char *name), void *arg)
{
	const struct xs_tnode **kids = NULL;
	unsigned n = 0, cap = 0;
	int rc = 0;

	for (const struct xs_tnode *tn = t->list; tn; tn = tn->next) {
		if (!tn->copied || !tn->exists || (tn->seen_gen && !tn->reborn) || tn->plen <= plen)
			continue;
		if (path__parent_len(tn->path, tn->plen) != plen || strncmp(tn->path, path, plen))
			continue;
		if (n == cap) {
			const struct xs_tnode **k = realloc(kids, (cap = cap ? 2 * cap : 8) * sizeof(*kids));
			if (!k) {
				rc = -ENOMEM;
				goto out;
			}
			kids = k;
		}
		kids[n++] = tn;
	}
	if (n > 1)
		qsort(kids, n, sizeof(*kids), by_cseq);
	for (unsigned i = 0; i < n && !rc; i++)
		rc = fn(arg, child_name(kids[i]->path, plen));
out:
	free(kids);
	return rc;
}

int txn__children(struct xs_ctx *x, const char *path,
                  int (*fn)(void *arg, const char *name), void *arg)
{
	const struct xs_node *b;
	const struct xs_old *o;
	struct xs_txn *t = x->txn;
	size_t plen = strlen(path);
	int rc;

	snap__at(&x->srv->store, path, read_gen(x), &b, &o);
	if (b)
		for (const struct xs_node *c = b->children; c; c = c->next)
			if ((rc = snap_child(x, c->path, c->plen, c->hash, plen, fn, arg)) != 0)
				return rc;
	if (o && o->kidslen) {
		/* A kept version lists names only: rebuild each child's path to look it up in the overlay. */
		char *cp = malloc(plen + 1 + o->kidslen);
		if (!cp)
			return -ENOMEM;
		size_t base = plen == 1 ? 1 : plen + 1;
		memcpy(cp, path, plen);
		cp[base - 1] = '/';
		for (const char *k = o->kids; k < o->kids + o->kidslen; k += strlen(k) + 1) {
			size_t kl = strlen(k), cl = base + kl;
			memcpy(cp + base, k, kl + 1);
			if ((rc = snap_child(x, cp, cl, store__hash(cp, cl), plen, fn, arg)) != 0) {
				free(cp);
				return rc;
			}
		}
		free(cp);
	}
	return t ? created_children(t, path, plen, fn, arg) : 0;
}

int txn__read(struct xs_ctx *x, const char *path, struct xs_view *v)
{
	int rc = txn__view(x, path, v);

	if (rc < 0)
		return rc;
	if (!v->exists)
		return -ENOENT;
	if (!(perm__mode(v->perms, v->nperms, x->domid, x->privileged, x->target) & XS_PERM_READ))
		return -EACCES;
	return 0;
}

/* Runs fn in x's transaction, or in a temporary one committed at once. */
static int with_txn(struct xs_ctx *x, int (*fn)(struct xs_ctx *x, const void *a), const void *a)
{
	struct xs_txn tmp;
	struct xs_ctx y = *x;
	int rc;

	if (x->txn)
		return fn(x, a);
	txn__init(&tmp, 0, NULL);
	y.txn = &tmp;
	rc = fn(&y, a);
	if (rc == 0)
		rc = txn__commit(x->srv, &tmp);
	txn__free(&tmp);
	return rc;
}

/* What this transaction's overlay adds for domid: nodes and their bytes (creations minus deletions). */
static void owned_delta(const struct xs_txn *t, const struct xs_store *s, unsigned domid,
                        int *nodes, long *bytes)
{
	*nodes = 0;
	*bytes = 0;
	for (const struct xs_tnode *n = t->list; n; n = n->next) {
		if (!n->copied)
			continue;
		const struct xs_node *b = store__lookup(s, n->path);
		if (n->exists && n->perms[0].id == domid) {
			(*nodes)++;
			*bytes += (long)store__node_bytes(n->plen, n->vlen, n->nperms);
		}
		if (b && b->perms[0].id == domid) {
			(*nodes)--;
			*bytes -= (long)store__node_bytes(b->plen, b->vlen, b->nperms);
		}
	}
}

/*
 * Xen's per-domain memory quota, for the bytes of the nodes a guest owns: a
 * guest's write that would take owner past it is ENOMEM (as Xen's); crossing
 * the soft quota is logged. dom0 and nodes dom0 owns are exempt.
 */
static int memory_check(struct xs_ctx *x, unsigned owner, long add)
{
	const struct xs_quota *q = &x->srv->quota;
	int nodes;
	long delta;

	if (x->privileged || !owner || add <= 0)
		return 0;
	owned_delta(x->txn, &x->srv->store, owner, &nodes, &delta);
	long now = (long)store__owned_bytes(&x->srv->store, owner) + delta;
	if (now + add > (long)q->memory)
		return -ENOMEM;
	if (now < (long)q->memory_soft && now + add >= (long)q->memory_soft)
		server__log(x->srv, "Domain %u exceeds soft memory quota", owner);
	return 0;
}

struct write_args { const char *path; const char *val; unsigned vlen; bool mkdir; };

static int do_write(struct xs_ctx *x, const void *arg)
{
	const struct write_args *w = arg;
	char anc[XENSTORE_ABS_PATH_MAX + 1];
	struct xs_view v;
	struct xs_tnode *tn;
	size_t len = strlen(w->path), alen = len;
	unsigned created = 0;
	int rc;

	if ((rc = txn__view(x, w->path, &v)) < 0)
		return rc;
	if (v.exists) {
		if (w->mkdir)
			return 0;
		if (!(perm__mode(v.perms, v.nperms, x->domid, x->privileged, x->target) & XS_PERM_WRITE))
			return -EACCES;
		if ((rc = memory_check(x, v.perms[0].id, (long)w->vlen - (long)v.vlen)) < 0)
			return rc;
		if ((rc = tn_get(x, w->path, &tn)) < 0)
			return rc;
		struct xs_permissions keep[XS_MAX_ARGS];
		unsigned nk = v.nperms < XS_MAX_ARGS ? v.nperms : XS_MAX_ARGS;
		memcpy(keep, v.perms, nk * sizeof(*keep));
		if ((rc = tn_set(x->txn, tn, true, w->val, w->vlen, keep, nk)) < 0)
			return rc;
		tn->fire = true;
		return 0;
	}
	/* Find the closest existing ancestor: it must be writable, and lends its perms. */
	memcpy(anc, w->path, len + 1);
	do {
		alen = path__parent_len(anc, alen);
		anc[alen] = 0;
		created++;
		if ((rc = txn__view(x, anc, &v)) < 0)
			return rc;
	} while (!v.exists);
	if (!(perm__mode(v.perms, v.nperms, x->domid, x->privileged, x->target) & XS_PERM_WRITE))
		return -EACCES;
	struct xs_permissions perms[XS_MAX_ARGS];
	unsigned np = v.nperms < XS_MAX_ARGS ? v.nperms : XS_MAX_ARGS;
	memcpy(perms, v.perms, np * sizeof(*perms));
	if (!x->privileged)
		perms[0].id = x->domid;     /* Xen: unprivileged domains own what they create */
	if (!x->privileged) {
		int nodes;
		long bytes, add = 0;
		owned_delta(x->txn, &x->srv->store, perms[0].id, &nodes, &bytes);
		if (store__owned(&x->srv->store, perms[0].id) + nodes + created > x->srv->quota.nodes_per_domain)
			return -ENOSPC;
		for (size_t i = alen + 1; i <= len; i++)
			if (i == len || w->path[i] == '/')
				add += (long)store__node_bytes(i, i == len ? w->vlen : 0, np);
		if ((rc = memory_check(x, perms[0].id, add)) < 0)
			return rc;
	}
	/* Create from the ancestor down; only the requested node fires watches. */
	for (size_t i = alen + 1; i <= len; i++) {
		if (i < len && w->path[i] != '/')
			continue;
		memcpy(anc, w->path, i);
		anc[i] = 0;
		if ((rc = tn_get(x, anc, &tn)) < 0)
			return rc;
		bool last = i == len;
		if ((rc = tn_set(x->txn, tn, true, last ? w->val : "", last ? w->vlen : 0, perms, np)) < 0)
			return rc;
		tn->fire = last;
	}
	return 0;
}

int txn__write(struct xs_ctx *x, const char *path, const char *val, unsigned vlen)
{
	struct write_args w = { path, val, vlen, false };

	if (!x->privileged && vlen > x->srv->quota.node_size)
		return -ENOSPC;
	return with_txn(x, do_write, &w);
}

int txn__mkdir(struct xs_ctx *x, const char *path)
{
	struct write_args w = { path, "", 0, true };

	return with_txn(x, do_write, &w);
}

struct rm_walk { struct xs_ctx *x; const char *parent; };

static int rm_subtree(struct xs_ctx *x, const char *path, bool top);

/* Marking a child deleted while txn__children walks is safe: it checks each child before the call. */
static int rm_child(void *arg, const char *name)
{
	const struct rm_walk *r = arg;
	size_t need = strlen(r->parent) + strlen(name) + 2;
	char *p = malloc(need);   /* deep trees: keep the recursion's frames small */
	int rc;

	if (!p)
		return -ENOMEM;
	snprintf(p, need, "%s/%s", strcmp(r->parent, "/") ? r->parent : "", name);
	rc = rm_subtree(r->x, p, false);
	free(p);
	return rc;
}

/* Marks path and everything under it deleted in the overlay. */
static int rm_subtree(struct xs_ctx *x, const char *path, bool top)
{
	struct rm_walk r = { x, path };
	struct xs_tnode *tn;
	int rc;

	if ((rc = txn__children(x, path, rm_child, &r)) < 0)
		return rc;
	if ((rc = tn_get(x, path, &tn)) < 0)
		return rc;
	if ((rc = tn_set(x->txn, tn, false, NULL, 0, NULL, 0)) < 0)
		return rc;
	tn->fire = top;
	tn->fire_exact = !top;
	return 0;
}

static int do_rm(struct xs_ctx *x, const void *arg)
{
	const char *path = arg;
	char parent[XENSTORE_ABS_PATH_MAX + 1];
	size_t pl = path__parent_len(path, strlen(path));
	struct xs_view v;
	int rc;

	if ((rc = txn__view(x, path, &v)) < 0)
		return rc;
	if (!v.exists) {
		/* Xen: removing a missing node is fine if its parent exists. */
		memcpy(parent, path, pl);
		parent[pl] = 0;
		if ((rc = txn__view(x, parent, &v)) < 0)
			return rc;
		return v.exists ? 0 : -ENOENT;
	}
	if (!(perm__mode(v.perms, v.nperms, x->domid, x->privileged, x->target) & XS_PERM_WRITE))
		return -EACCES;
	memcpy(parent, path, pl);
	parent[pl] = 0;
	if ((rc = txn__view(x, parent, &v)) < 0)   /* records the parent's generation */
		return rc;
	return rm_subtree(x, path, true);
}

int txn__rm(struct xs_ctx *x, const char *path)
{
	if (!strcmp(path, "/"))
		return -EINVAL;
	return with_txn(x, do_rm, path);
}

struct perms_args { const char *path; const struct xs_permissions *p; unsigned n; };

static int do_set_perms(struct xs_ctx *x, const void *arg)
{
	const struct perms_args *a = arg;
	struct xs_view v;
	struct xs_tnode *tn;
	int rc;

	if ((rc = txn__view(x, a->path, &v)) < 0)
		return rc;
	if (!v.exists)
		return -ENOENT;
	if (!(perm__mode(v.perms, v.nperms, x->domid, x->privileged, x->target) & XS_PERM_OWNER))
		return -EACCES;
	if (!x->privileged && a->p[0].id != v.perms[0].id)
		return -EPERM;          /* Xen: only dom0 gives a node away */
	char *val = malloc(v.vlen + 1);
	if (!val)
		return -ENOMEM;
	memcpy(val, v.value, v.vlen);
	if ((rc = tn_get(x, a->path, &tn)) == 0 && (rc = tn_set(x->txn, tn, true, val, v.vlen, a->p, a->n)) == 0)
		tn->fire = true;
	free(val);
	return rc;
}

int txn__set_perms(struct xs_ctx *x, const char *path, const struct xs_permissions *p, unsigned n)
{
	struct perms_args a = { path, p, n };

	return with_txn(x, do_set_perms, &a);
}

static int by_depth(const void *a, const void *b)
{
	const struct xs_tnode *x = *(const struct xs_tnode *const *)a;
	const struct xs_tnode *y = *(const struct xs_tnode *const *)b;

	if (x->depth != y->depth)
		return (x->depth > y->depth) - (x->depth < y->depth);
	return (x->cseq > y->cseq) - (x->cseq < y->cseq);    /* siblings keep their creation order */
}

int txn__commit(struct xs_server *srv, struct xs_txn *t)
{
	struct xs_store *s = &srv->store;
	struct xs_tnode **mod = NULL, *n;
	unsigned nmod = 0;
	int rc = 0;

	if (t->snap.stale)
		return -EAGAIN;         /* its snapshot was given up: what it read may be gone */
	snap__close(s, &t->snap);   /* reads are over: applying must not keep versions for it */
	for (n = t->list; n; n = n->next) {
		const struct xs_node *b = store__lookup(s, n->path);
		if ((b ? b->gen : 0) != n->seen_gen)
			return -EAGAIN;
		nmod += n->modified;
	}
	if (!nmod)
		return 0;
	if (!(mod = malloc(nmod * sizeof(*mod))))
		return -ENOMEM;
	nmod = 0;
	for (n = t->list; n; n = n->next)
		if (n->modified)
			mod[nmod++] = n;
	qsort(mod, nmod, sizeof(*mod), by_depth);
	/* Events first for deletions, while the old perms still decide who may see them. */
	for (unsigned i = 0; i < nmod; i++) {
		struct xs_node *b = store__lookup(s, mod[i]->path);
		if (!mod[i]->exists && b && (mod[i]->fire || mod[i]->fire_exact))
			watch__fire(srv, b->path, mod[i]->fire_exact, b->perms, b->nperms);
	}
	/* Removed ones go, and so do re-created ones: put again below, they become their parent's newest child. */
	for (unsigned i = nmod; i-- > 0;) {
		struct xs_node *b = store__lookup(s, mod[i]->path);
		if ((!mod[i]->exists || mod[i]->reborn) && b)
			store__del(s, b, NULL, NULL);
	}
	for (unsigned i = 0; i < nmod; i++) {
		n = mod[i];
		if (!n->exists)
			continue;
		int r = store__put(s, n->path, n->value, n->vlen, n->perms, n->nperms);
		if (r < 0 && !rc)
			rc = r;     /* only -ENOMEM can get here: the overlay was checked against the tree */
		else if (n->fire)
			watch__fire(srv, n->path, false, n->perms, n->nperms);
	}
	free(mod);
	return rc;
}
