/* watch.c: watches indexed by path, so a change looks up only its own path and its ancestors. */
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"
#include "persist.h"

int watch__init(struct xs_watches *w)
{
	w->nbuckets = 1024;
	w->count = 0;
	w->buckets = calloc(w->nbuckets, sizeof(*w->buckets));
	return w->buckets ? 0 : -ENOMEM;
}

void watch__fini(struct xs_watches *w)
{
	free(w->buckets);
	w->buckets = NULL;
}

static void grow(struct xs_watches *w)
{
	unsigned nb = w->nbuckets * 2;
	struct xs_watch **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (unsigned i = 0; i < w->nbuckets; i++) {
		struct xs_watch *x, *next;
		for (x = w->buckets[i]; x; x = next) {
			next = x->hnext;
			x->hnext = b[x->hash & (nb - 1)];
			b[x->hash & (nb - 1)] = x;
		}
	}
	free(w->buckets);
	w->buckets = b;
	w->nbuckets = nb;
}

static struct xs_watch *find(struct xs_watches *ws, struct xs_conn *c, const char *abs,
                             const char *token)
{
	uint32_t h = store__hash(abs, strlen(abs));

	for (struct xs_watch *w = ws->buckets[h & (ws->nbuckets - 1)]; w; w = w->hnext)
		if (w->conn == c && w->hash == h && !strcmp(w->path, abs) && !strcmp(w->token, token))
			return w;
	return NULL;
}

int watch__add(struct xs_server *srv, struct xs_conn *c, const char *abs, unsigned strip,
               const char *token, struct xs_watch **out)
{
	struct xs_watches *ws = &srv->watches;
	size_t len = strlen(abs);
	struct xs_watch *w;

	if (find(ws, c, abs, token))
		return -EEXIST;
	if (!c->privileged && c->nwatches >= srv->quota.watches_per_conn)
		return -E2BIG;
	if (!(w = calloc(1, sizeof(*w) + len + 1)))
		return -ENOMEM;
	if (!(w->token = strdup(token))) {
		free(w);
		return -ENOMEM;
	}
	memcpy(w->path, abs, len + 1);
	w->hash = store__hash(abs, len);
	w->strip = strip;
	w->conn = c;
	w->hnext = ws->buckets[w->hash & (ws->nbuckets - 1)];
	ws->buckets[w->hash & (ws->nbuckets - 1)] = w;
	w->cnext = c->watches;
	c->watches = w;
	c->nwatches++;
	if (++ws->count > ws->nbuckets)
		grow(ws);
	persist__watches(srv, c);
	*out = w;
	return 0;
}

static void unlink_watch(struct xs_server *srv, struct xs_watch *w)
{
	struct xs_watches *ws = &srv->watches;

	struct xs_watch **pp = &ws->buckets[w->hash & (ws->nbuckets - 1)];

	while (*pp != w)
		pp = &(*pp)->hnext;
	*pp = w->hnext;
	pp = &w->conn->watches;
	while (*pp != w)
		pp = &(*pp)->cnext;
	*pp = w->cnext;
	w->conn->nwatches--;
	ws->count--;
	persist__watches(srv, w->conn);
	free(w->token);
	free(w);
}

int watch__remove(struct xs_server *srv, struct xs_conn *c, const char *abs, const char *token)
{
	struct xs_watch *w = find(&srv->watches, c, abs, token);

	if (!w)
		return -ENOENT;
	unlink_watch(srv, w);
	return 0;
}

void watch__remove_conn(struct xs_server *srv, struct xs_conn *c)
{
	while (c->watches)
		unlink_watch(srv, c->watches);
}

void watch__event(struct xs_watch *w, const char *path)
{
	size_t len = strlen(path);
	const char *p = path;

	if (w->strip && len > w->strip)
		p += w->strip;
	conn__queue(w->conn, XS_WATCH_EVENT, 0, 0, p, (unsigned)strlen(p) + 1,
	            w->token, (unsigned)strlen(w->token) + 1);
}

static void fire_exact(struct xs_server *srv, const char *key, size_t klen, const char *path,
                       const struct xs_permissions *perms, unsigned nperms)
{
	struct xs_watches *ws = &srv->watches;
	uint32_t h = store__hash(key, klen);

	for (struct xs_watch *w = ws->buckets[h & (ws->nbuckets - 1)]; w; w = w->hnext) {
		if (w->hash != h || strlen(w->path) != klen || memcmp(w->path, key, klen))
			continue;
		struct xs_conn *c = w->conn;
		if (!perms ? !c->privileged :
		    !(perm__mode(perms, nperms, c->domid, c->privileged, c->target) & XS_PERM_READ))
			continue;
		watch__event(w, path);
	}
}

void watch__fire(struct xs_server *srv, const char *path, bool exact,
                 const struct xs_permissions *perms, unsigned nperms)
{
	size_t len = strlen(path);

	if (!srv->watches.count)
		return;
	if (exact || path[0] == '@') {
		fire_exact(srv, path, len, path, perms, nperms);
		return;
	}
	fire_exact(srv, "/", 1, path, perms, nperms);
	for (size_t i = 2; i <= len; i++)
		if (i == len || path[i] == '/')
			fire_exact(srv, path, i, path, perms, nperms);
}
