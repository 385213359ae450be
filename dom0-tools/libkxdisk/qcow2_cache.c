/* libkxdisk qcow2 table cache: LRU slots of L2 tables and refcount blocks, written back in crash-safe order. */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cs, bool is_l2)
{
	memset(c, 0, sizeof(*c));
	c->is_l2 = is_l2;
	c->s = calloc(n, sizeof(*c->s));
	if (!c->s)
		return -ENOMEM;
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		c->s[i].buf = malloc(cs);
		if (!c->s[i].buf)
			return -ENOMEM;	/* qcow2_cache_free() releases the rest */
	}
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	for (unsigned i = 0; c->s && i < c->n; i++)
		free(c->s[i].buf);
	free(c->s);
	c->s = NULL;
	c->n = 0;
}

static int slot_write(struct disk *d, struct qcow2_slot *s)
{
	struct qcow2 *q = qcow2_of(d);
	int rc = iov__pwrite_full(d->fd, s->off, s->buf, q->cs);

	if (rc < 0)
		return disk__err(d, rc, "writing metadata at 0x%llx: %s",
				 (unsigned long long)s->off, strerror(-rc));
	s->dirty = false;
	if (s->off + q->cs > q->file_end)
		q->file_end = s->off + q->cs;
	return 0;
}

/*
 * Writes a dirty slot out so that it can be reused. An L2 table may point
 * at clusters whose data and refcounts are not yet on disk: those go first,
 * with a sync between, so that a crash never leaves it pointing at either.
 */
static int evict(struct disk *d, struct qcow2_cache *c, struct qcow2_slot *s)
{
	int rc;

	if (!s->dirty)
		return 0;
	if (c->is_l2) {
		rc = qcow2_refcount_writeback(d);
		if (rc < 0)
			return rc;
		if (fdatasync(d->fd) < 0)
			return disk__err(d, -errno, "fdatasync: %s", strerror(errno));
	}
	return slot_write(d, s);
}

int qcow2_cache_get(struct disk *d, struct qcow2_cache *c, uint64_t off, bool fresh,
		    struct qcow2_slot **out)
{
	struct qcow2 *q = qcow2_of(d);
	struct qcow2_slot *victim = NULL;
	int rc;

	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_slot *s = &c->s[i];

		if (s->off == off) {
			s->used = ++c->tick;
			*out = s;
			return 0;
		}
		if (!victim || s->off == 0 || (victim->off != 0 && s->used < victim->used))
			victim = s;
	}
	rc = evict(d, c, victim);
	if (rc < 0)
		return rc;
	victim->off = 0;
	if (fresh) {
		memset(victim->buf, 0, q->cs);
		victim->dirty = true;
	} else {
		rc = iov__pread_full(d->fd, off, victim->buf, q->cs);
		if (rc < 0)
			return disk__err(d, rc, "reading %s at 0x%llx: %s",
					 c->is_l2 ? "L2 table" : "refcount block",
					 (unsigned long long)off, strerror(-rc));
		victim->dirty = false;
	}
	victim->off = off;
	victim->used = ++c->tick;
	*out = victim;
	return 0;
}

int qcow2_cache_writeback(struct disk *d, struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (c->s[i].off && c->s[i].dirty) {
			int rc = slot_write(d, &c->s[i]);

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}
