/* snap.c: transaction snapshots without copying the tree: a node's old version is kept only while an open snapshot still sees it. */
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"

#define OLD_BUCKETS 1024u

void snap__open(struct xs_store *s, struct xs_snap *sn)
{
	sn->gen = s->gen;
	sn->open = true;
	sn->stale = false;
	sn->next = NULL;
	sn->prev = s->snap_last;
	if (s->snap_last)
		s->snap_last->next = sn;
	else
		s->snap_first = sn;
	s->snap_last = sn;
}

static void old_free(struct xs_store *s, struct xs_old *o)
{
	struct xs_old **pp = &s->old_buckets[o->hash & (OLD_BUCKETS - 1)];

	while (*pp != o)
		pp = &(*pp)->hnext;
	*pp = o->hnext;
	s->old_bytes -= o->bytes;
	s->old_count--;
	free(o->value);
	free(o->perms);
	free(o->kids);
	free(o);
}

/* Versions leave in the order they stopped being current, so the oldest go first. */
static void collect(struct xs_store *s)
{
	uint64_t oldest = s->snap_first ? s->snap_first->gen : UINT64_MAX;

	while (s->old_first && s->old_first->until <= oldest) {
		struct xs_old *o = s->old_first;
		s->old_first = o->qnext;
		if (!s->old_first)
			s->old_last = NULL;
		old_free(s, o);
	}
}

static void unlink_snap(struct xs_store *s, struct xs_snap *sn)
{
	if (sn->prev)
		sn->prev->next = sn->next;
	else
		s->snap_first = sn->next;
	if (sn->next)
		sn->next->prev = sn->prev;
	else
		s->snap_last = sn->prev;
	sn->open = false;
}

void snap__close(struct xs_store *s, struct xs_snap *sn)
{
	if (!sn->open)
		return;
	unlink_snap(s, sn);
	collect(s);
}

static int copy_kids(const struct xs_node *n, struct xs_old *o)
{
	size_t len = 0, off = 0;
	size_t skip = n->plen == 1 ? 1 : n->plen + 1;

	for (const struct xs_node *c = n->children; c; c = c->next)
		len += c->plen + 1 - skip;
	if (!len)
		return 0;
	if (!(o->kids = malloc(len)))
		return -ENOMEM;
	for (const struct xs_node *c = n->children; c; c = c->next) {
		memcpy(o->kids + off, c->path + skip, c->plen + 1 - skip);
		off += c->plen + 1 - skip;
	}
	o->kidslen = (unsigned)len;
	return 0;
}

void snap__keep(struct xs_store *s, const struct xs_node *n)
{
	struct xs_old *o;

	/* Snapshots are opened in generation order: the newest decides whether anyone sees n as it is. */
	if (!s->snap_last || s->snap_last->gen < n->gen)
		return;
	if (!s->old_buckets && !(s->old_buckets = calloc(OLD_BUCKETS, sizeof(*s->old_buckets))))
		goto out;
	if (!(o = calloc(1, sizeof(*o) + n->plen + 1)))
		goto out;
	if (store__copy_data(n->value, n->vlen, n->perms, n->nperms, &o->value, &o->perms) < 0 ||
	    copy_kids(n, o) < 0) {
		free(o->value);
		free(o->perms);
		free(o);
		goto out;
	}
	memcpy(o->path, n->path, n->plen + 1);
	o->plen = n->plen;
	o->hash = n->hash;
	o->vlen = n->vlen;
	o->nperms = n->nperms;
	o->gen = n->gen;
	o->until = s->gen + 1;      /* the change about to happen takes the next generation */
	o->bytes = sizeof(*o) + n->plen + 1 + n->vlen + 1 + n->nperms * sizeof(*n->perms) + o->kidslen;
	o->hnext = s->old_buckets[o->hash & (OLD_BUCKETS - 1)];
	s->old_buckets[o->hash & (OLD_BUCKETS - 1)] = o;
	if (s->old_last)
		s->old_last->qnext = o;
	else
		s->old_first = o;
	s->old_last = o;
	s->old_count++;
	s->old_bytes += o->bytes;
	if (s->old_bytes <= s->old_max)
		return;
	/* Over budget (a transaction left open while the store churns): the oldest snapshots give way. */
	while (s->snap_first && s->old_bytes > s->old_max / 2) {
		s->snap_first->stale = true;
		unlink_snap(s, s->snap_first);
		collect(s);
	}
	return;
out:
	/* Without memory for the old version, the snapshots that see it cannot be served any more. */
	for (struct xs_snap *sn = s->snap_first, *next; sn; sn = next) {
		next = sn->next;
		if (sn->gen >= n->gen) {
			sn->stale = true;
			unlink_snap(s, sn);
		}
	}
	collect(s);
}

void snap__at(const struct xs_store *s, const char *path, uint64_t gen,
              const struct xs_node **cur, const struct xs_old **old)
{
	const struct xs_node *n = store__lookup(s, path);
	size_t len;
	uint32_t h;

	*cur = NULL;
	*old = NULL;
	if (n && n->gen <= gen) {
		*cur = n;
		return;
	}
	if (!s->old_buckets)
		return;
	len = strlen(path);
	h = store__hash(path, len);
	for (const struct xs_old *o = s->old_buckets[h & (OLD_BUCKETS - 1)]; o; o = o->hnext)
		if (o->hash == h && o->plen == len && o->gen <= gen && gen < o->until &&
		    !memcmp(o->path, path, len)) {
			*old = o;
			return;
		}
}

void snap__fini(struct xs_store *s)
{
	while (s->old_first) {
		struct xs_old *o = s->old_first;
		s->old_first = o->qnext;
		old_free(s, o);
	}
	s->old_last = NULL;
	free(s->old_buckets);
	s->old_buckets = NULL;
}
