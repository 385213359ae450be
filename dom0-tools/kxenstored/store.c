/* store.c: the xenstore tree, indexed by a path hash so lookups cost O(path length), with per-domain node accounting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"
#include "persist.h"

uint32_t store__hash(const char *path, size_t len)
{
	uint32_t h = 2166136261u;       /* FNV-1a: cheap and good enough for paths */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)path[i]) * 16777619u;
	return h;
}

static struct xs_acct *acct_get(struct xs_store *s, unsigned domid, bool create)
{
	struct xs_acct **pp = &s->acct[domid & 255], *a;

	for (a = *pp; a; a = a->next)
		if (a->domid == domid)
			return a;
	if (!create || !(a = calloc(1, sizeof(*a))))
		return NULL;
	a->domid = domid;
	a->next = *pp;
	*pp = a;
	return a;
}

unsigned store__owned(const struct xs_store *s, unsigned domid)
{
	for (const struct xs_acct *a = s->acct[domid & 255]; a; a = a->next)
		if (a->domid == domid)
			return a->nodes;
	return 0;
}

size_t store__owned_bytes(const struct xs_store *s, unsigned domid)
{
	for (const struct xs_acct *a = s->acct[domid & 255]; a; a = a->next)
		if (a->domid == domid)
			return a->bytes;
	return 0;
}

size_t store__node_bytes(size_t plen, size_t vlen, unsigned nperms)
{
	return sizeof(struct xs_node) + plen + 1 + vlen + nperms * sizeof(struct xs_permissions);
}

static size_t node_bytes(const struct xs_node *n)
{
	return store__node_bytes(n->plen, n->vlen, n->nperms);
}

/* One node more (sign 1) or less (-1) for domid, of that many bytes. */
static void acct_add(struct xs_store *s, unsigned domid, int sign, size_t bytes)
{
	struct xs_acct *a = acct_get(s, domid, true);

	if (!a)
		return;
	a->nodes += (unsigned)sign;
	if (sign > 0)
		a->bytes += bytes;
	else
		a->bytes -= bytes;
}

struct xs_node *store__lookup(const struct xs_store *s, const char *path)
{
	size_t len = strlen(path);
	uint32_t h = store__hash(path, len);

	for (struct xs_node *n = s->buckets[h & (s->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->plen == len && !memcmp(n->path, path, len))
			return n;
	return NULL;
}

/* Doubles the bucket array when the load passes 1, so chains stay short at any size. */
static void grow(struct xs_store *s)
{
	unsigned nb = s->nbuckets * 2;
	struct xs_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;         /* longer chains, still correct */
	for (unsigned i = 0; i < s->nbuckets; i++) {
		struct xs_node *n = s->buckets[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static void unhash(struct xs_store *s, struct xs_node *n)
{
	struct xs_node **pp = &s->buckets[n->hash & (s->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
}

int store__copy_data(const char *val, unsigned vlen, const struct xs_permissions *perms,
                     unsigned nperms, char **v, struct xs_permissions **p)
{
	*v = malloc(vlen + 1);
	*p = malloc(nperms * sizeof(**p));
	if (!*v || !*p) {
		free(*v);
		free(*p);
		return -ENOMEM;
	}
	if (vlen)
		memcpy(*v, val, vlen);
	(*v)[vlen] = 0;
	memcpy(*p, perms, nperms * sizeof(**p));
	return 0;
}

static int set_data(struct xs_store *s, struct xs_node *n, const char *val, unsigned vlen,
                    const struct xs_permissions *perms, unsigned nperms)
{
	char *v;
	struct xs_permissions *p;

	if (store__copy_data(val, vlen, perms, nperms, &v, &p))
		return -ENOMEM;
	if (n->perms)
		acct_add(s, n->perms[0].id, -1, node_bytes(n));
	s->bytes += vlen + nperms * sizeof(*p);
	s->bytes -= n->vlen + n->nperms * sizeof(*p);
	free(n->value);
	free(n->perms);
	n->value = v;
	n->vlen = vlen;
	n->perms = p;
	n->nperms = nperms;
	acct_add(s, p[0].id, 1, node_bytes(n));
	return 0;
}

int store__put(struct xs_store *s, const char *path, const char *val, unsigned vlen,
               const struct xs_permissions *perms, unsigned nperms)
{
	struct xs_node *n = store__lookup(s, path), *parent = NULL;
	size_t len = strlen(path);
	int rc;

	if (!nperms)
		return -EINVAL;
	if (n) {
		snap__keep(s, n);
		if ((rc = set_data(s, n, val, vlen, perms, nperms)) < 0)
			return rc;
		n->gen = ++s->gen;
		persist__node(s, n, false);
		return 0;
	}
	if (len > 1) {
		char pp[XENSTORE_ABS_PATH_MAX + 1];
		size_t pl = path__parent_len(path, len);
		if (pl > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
		memcpy(pp, path, pl);
		pp[pl] = 0;
		if (!(parent = store__lookup(s, pp)))
			return -ENOENT;
	}
	if (!(n = calloc(1, sizeof(*n) + len + 1)))
		return -ENOMEM;
	memcpy(n->path, path, len + 1);
	n->plen = (unsigned)len;
	n->hash = store__hash(path, len);
	if ((rc = set_data(s, n, val, vlen, perms, nperms)) < 0) {
		free(n);
		return rc;
	}
	if (parent)
		snap__keep(s, parent);
	n->gen = ++s->gen;
	n->cseq = ++s->cseq;
	n->parent = parent;
	if (parent) {
		/*
		 * Appended: DIRECTORY lists children in creation order, as Xen's does.
		 * The first child's prev is the last one, so appending costs no pointer per node.
		 */
		struct xs_node *first = parent->children;
		if (first) {
			n->prev = first->prev;
			first->prev->next = n;
			first->prev = n;
		} else {
			n->prev = n;
			parent->children = n;
		}
		parent->nchildren++;
		parent->gen = s->gen;
	}
	n->hnext = s->buckets[n->hash & (s->nbuckets - 1)];
	s->buckets[n->hash & (s->nbuckets - 1)] = n;
	s->bytes += sizeof(*n) + len + 1;
	if (++s->count > s->nbuckets)
		grow(s);
	persist__node(s, n, false);
	return 0;
}

void store__del(struct xs_store *s, struct xs_node *n,
                void (*fn)(void *arg, const struct xs_node *n), void *arg)
{
	while (n->children)
		store__del(s, n->children, fn, arg);
	if (fn)
		fn(arg, n);
	snap__keep(s, n);
	if (n->parent) {
		snap__keep(s, n->parent);
		struct xs_node *first = n->parent->children;
		if (n == first)
			n->parent->children = n->next;
		else
			n->prev->next = n->next;
		if (n->next)
			n->next->prev = n->prev;
		else if (n != first)
			first->prev = n->prev;      /* n was the last: the first points at the new last */
		n->parent->nchildren--;
		n->parent->gen = ++s->gen;
	}
	persist__node(s, n, true);
	unhash(s, n);
	s->count--;
	acct_add(s, n->perms[0].id, -1, node_bytes(n));
	s->bytes -= sizeof(*n) + n->plen + 1 + n->vlen + n->nperms * sizeof(*n->perms);
	free(n->value);
	free(n->perms);
	free(n);
}

int store__init(struct xs_store *s)
{
	static const struct xs_permissions p0 = { 0, XS_PERM_NONE };

	memset(s, 0, sizeof(*s));
	s->old_max = 16 << 20;
	s->nbuckets = 1024;
	if (!(s->buckets = calloc(s->nbuckets, sizeof(*s->buckets))))
		return -ENOMEM;
	if (store__put(s, "/", "", 0, &p0, 1) < 0 || store__put(s, "/local", "", 0, &p0, 1) < 0 ||
	    store__put(s, "/local/domain", "", 0, &p0, 1) < 0 || store__put(s, "/tool", "", 0, &p0, 1) < 0) {
		store__fini(s);
		return -ENOMEM;
	}
	return 0;
}

void store__fini(struct xs_store *s)
{
	struct xs_node *root = s->buckets ? store__lookup(s, "/") : NULL;

	snap__fini(s);
	s->snap_first = s->snap_last = NULL;        /* teardown: nothing may keep versions now */
	if (root)
		store__del(s, root, NULL, NULL);
	free(s->buckets);
	s->buckets = NULL;
	for (unsigned i = 0; i < 256; i++) {
		struct xs_acct *a, *next;
		for (a = s->acct[i]; a; a = next) {
			next = a->next;
			free(a);
		}
		s->acct[i] = NULL;
	}
}

void store__chown_all(struct xs_store *s, unsigned from, unsigned to)
{
	for (unsigned i = 0; i < s->nbuckets; i++)
		for (struct xs_node *n = s->buckets[i]; n; n = n->hnext) {
			bool changed = n->perms[0].id == from;
			if (changed) {
				n->perms[0].id = to;
				acct_add(s, from, -1, node_bytes(n));
				acct_add(s, to, 1, node_bytes(n));
			}
			for (unsigned k = 1; k < n->nperms; k++)
				if (n->perms[k].id == from && !(n->perms[k].perms & XS_PERM_IGNORE)) {
					n->perms[k].perms |= XS_PERM_IGNORE;
					changed = true;
				}
			if (changed)
				persist__node(s, n, false);
		}
}

/* One node's links: parent, index entry, path, sibling order and child count. */
static unsigned check_node(struct xs_store *s, const struct xs_node *n,
                           void (*log)(void *arg, const char *msg), void *arg)
{
	char msg[160];
	unsigned bad = 0, kids = 0;
	const struct xs_node *prev = NULL;

#define BAD(...) do { snprintf(msg, sizeof(msg), __VA_ARGS__); log(arg, msg); bad++; } while (0)
	if (store__lookup(s, n->path) != n)
		BAD("%.100s: not found under its own path", n->path);
	if (!n->nperms || !n->perms)
		BAD("%.100s: no permissions", n->path);
	for (const struct xs_node *c = n->children; c; prev = c, c = c->next) {
		kids++;
		if (c->parent != n || (c != n->children && c->prev != prev))
			BAD("%.100s: broken child links", c->path);
		if (path__parent_len(c->path, c->plen) != (n->plen == 1 ? 1 : n->plen) ||
		    strncmp(c->path, n->path, n->plen))
			BAD("%.100s: path not under its parent's", c->path);
	}
	if (n->children && n->children->prev != prev)
		BAD("%.100s: first child does not point at the last", n->path);
	if (kids != n->nchildren)
		BAD("%.100s: %u children counted, %u recorded", n->path, kids, n->nchildren);
#undef BAD
	return bad;
}

unsigned store__check(struct xs_store *s, void (*log)(void *arg, const char *msg), void *arg)
{
	const struct xs_node *root = store__lookup(s, "/"), *n;
	unsigned bad = 0, seen = 0, indexed = 0;
	char msg[160];

	if (!root) {
		log(arg, "no root node");
		return 1;
	}
	/* Depth first without recursion: paths may nest about 1500 deep. */
	for (n = root; n; ) {
		seen++;
		bad += check_node(s, n, log, arg);
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n && n != root && !n->next)
			n = n->parent;
		n = n && n != root ? n->next : NULL;
	}
	for (unsigned i = 0; i < s->nbuckets; i++)
		for (n = s->buckets[i]; n; n = n->hnext)
			indexed++;
	if (seen != s->count || indexed != s->count) {
		snprintf(msg, sizeof(msg), "%u nodes recorded, %u reachable from the root, %u indexed",
		         s->count, seen, indexed);
		log(arg, msg);
		bad++;
	}
	/* Per-domain counts against a recount; repaired, as Xen's check repairs its accounting. */
	for (unsigned b = 0; b < 256; b++)
		for (struct xs_acct *a = s->acct[b]; a; a = a->next) {
			a->recount = 0;
			a->rebytes = 0;
		}
	for (unsigned i = 0; i < s->nbuckets; i++)
		for (n = s->buckets[i]; n; n = n->hnext) {
			struct xs_acct *a = n->nperms ? acct_get(s, n->perms[0].id, true) : NULL;
			if (a) {
				a->recount++;
				a->rebytes += node_bytes(n);
			}
		}
	for (unsigned b = 0; b < 256; b++)
		for (struct xs_acct *a = s->acct[b]; a; a = a->next)
			if (a->recount != a->nodes || a->rebytes != a->bytes) {
				snprintf(msg, sizeof(msg), "domain %u owns %u nodes (%zu bytes), %u (%zu) recorded (repaired)",
				         a->domid, a->recount, a->rebytes, a->nodes, a->bytes);
				log(arg, msg);
				a->nodes = a->recount;
				a->bytes = a->rebytes;
				bad++;
			}
	return bad;
}
