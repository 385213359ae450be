/* libkxdisk qcow2 refcounts: append-only cluster allocation, deferred frees and the ordered flush. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>
#include "qcow2.h"

/* Entry i of a refcount block of 1 << order bits per entry (sub-byte widths are LSB first, as QEMU). */
static uint64_t rb_get(const uint8_t *b, unsigned order, uint64_t i)
{
	unsigned bits = 1u << order;
	uint64_t v = 0;

	if (bits < 8)
		return (b[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	for (unsigned k = 0; k < bits / 8; k++)
		v = (v << 8) | b[i * (bits / 8) + k];
	return v;
}

static void rb_set(uint8_t *b, unsigned order, uint64_t i, uint64_t v)
{
	unsigned bits = 1u << order;

	if (bits < 8) {
		unsigned shift = (unsigned)(i * bits % 8), mask = ((1u << bits) - 1) << shift;

		b[i * bits / 8] = (uint8_t)((b[i * bits / 8] & ~mask) | ((v << shift) & mask));
		return;
	}
	for (unsigned k = bits / 8; k-- > 0; v >>= 8)
		b[i * (bits / 8) + k] = (uint8_t)v;
}

/*
 * The refcount block covering host offset off: *slot is NULL if none exists
 * and !create; with create a missing block is allocated (and counts itself).
 */
static int block_for(struct disk *d, uint64_t off, bool create, struct qcow2_slot **slot)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t ti = (off >> q->cluster_bits) >> q->rb_bits, boff;
	int rc;

	*slot = NULL;
	if (ti >= q->reftable_entries) {
		if (!create)
			return 0;
		return disk__err(d, -ENOSPC, "refcount table full at %llu entries (file offset 0x%llx); "
				 "growing it is not supported", (unsigned long long)q->reftable_entries,
				 (unsigned long long)off);
	}
	boff = q->reftable[ti];
	if (!boff) {
		if (!create)
			return 0;
		boff = q->next_alloc;
		q->next_alloc += q->cs;
		rc = qcow2_meta_add(d, &q->rb_offs, boff);
		if (rc == 0)
			rc = qcow2_cache_get(d, &q->rbc, boff, true, slot);
		if (rc < 0)
			return rc;
		q->reftable[ti] = boff;
		q->reftable_dirty = true;
		/* The new block's own cluster needs a count: in itself or in the next block. */
		rc = block_for(d, boff, true, slot);
		if (rc < 0)
			return rc;
		{
			uint64_t i = (boff >> q->cluster_bits) & ((1ull << q->rb_bits) - 1);

			rb_set((*slot)->buf, q->refcount_order, i, 1);
			(*slot)->dirty = true;
		}
	} else {
		unsigned bad = qcow2_overlap(q, boff, q->cs, QCOW2_OL_REFBLOCK);

		if (bad)
			return qcow2_corrupt(d, "refcount table entry %llu: refcount block at 0x%llx overlaps %s",
					     (unsigned long long)ti, (unsigned long long)boff,
					     qcow2_ol_name(bad));
	}
	return qcow2_cache_get(d, &q->rbc, boff, false, slot);
}

int qcow2_refcount_get(struct disk *d, uint64_t off, uint64_t *val)
{
	struct qcow2 *q = qcow2_of(d);
	struct qcow2_slot *s;
	int rc = block_for(d, off, false, &s);

	*val = 0;
	if (rc < 0 || !s)
		return rc;
	*val = rb_get(s->buf, q->refcount_order, (off >> q->cluster_bits) & ((1ull << q->rb_bits) - 1));
	return 0;
}

/* Adds delta (+1 or -1) to the refcount of the cluster at off; the new count in *now. */
static int refcount_add(struct disk *d, uint64_t off, int delta, uint64_t *now)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t i = (off >> q->cluster_bits) & ((1ull << q->rb_bits) - 1), v;
	struct qcow2_slot *s;
	int rc = block_for(d, off, delta > 0, &s);

	if (rc < 0)
		return rc;
	v = s ? rb_get(s->buf, q->refcount_order, i) : 0;
	if (delta < 0 && v == 0)
		return disk__err(d, -EIO, "refcount of cluster 0x%llx is already 0 (corrupt image)",
				 (unsigned long long)off);
	if (delta > 0 && v == q->refcount_max)
		return disk__err(d, -ERANGE, "refcount of cluster 0x%llx would overflow",
				 (unsigned long long)off);
	v = delta > 0 ? v + 1 : v - 1;
	rb_set(s->buf, q->refcount_order, i, v);
	s->dirty = true;
	*now = v;
	return 0;
}

/* Gives back the reservation's unused clusters (nothing points at them) and the file end they took. */
static int unreserve(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t now;

	for (uint64_t c = q->res_next; c < q->res_end; c += q->cs) {
		int rc = refcount_add(d, c, -1, &now);

		if (rc < 0)
			return rc;
	}
	if (q->res_end == q->next_alloc)
		q->next_alloc = q->res_next;
	q->res_end = q->res_next;
	return 0;
}

/* Counts clusters from the reservation's end (or the file's, if something was allocated after it) to n + the lookahead. */
static int reserve(struct disk *d, uint64_t n)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t ahead = QCOW2_RESERVE_AHEAD_BYTES >> q->cluster_bits, from, target, now;
	int rc;

	if (ahead > QCOW2_RESERVE_AHEAD)
		ahead = QCOW2_RESERVE_AHEAD;
	/* A refcount block was appended after the reservation: start after it, giving the rest back. */
	if (q->res_end != q->next_alloc) {
		if ((rc = unreserve(d)) < 0)
			return rc;
		q->res_next = q->res_end = q->next_alloc;
	}
	from = q->res_end;
	target = q->res_next + (n + ahead) * q->cs;
	/* New refcount blocks go after the reservation, never inside it. */
	q->next_alloc = target;
	for (uint64_t c = from; c < target; c += q->cs) {
		if ((rc = refcount_add(d, c, 1, &now)) < 0)
			return rc;
		q->res_end = c + q->cs;
	}
	return 0;
}

int qcow2_alloc(struct disk *d, uint64_t n, uint64_t *off)
{
	struct qcow2 *q = qcow2_of(d);

	if (q->res_next + n * q->cs > q->res_end) {
		int rc = reserve(d, n);

		if (rc < 0)
			return rc;
	}
	*off = q->res_next;
	q->res_next += n * q->cs;
	return 0;
}

int qcow2_free_later(struct disk *d, uint64_t off, uint64_t n)
{
	struct qcow2 *q = qcow2_of(d);

	if (q->nfrees == QCOW2_MAX_FREES) {
		int rc = qcow2_flush(d);

		if (rc < 0)
			return rc;
	}
	q->frees[q->nfrees].off = off;
	q->frees[q->nfrees].n = n;
	q->nfrees++;
	return 0;
}

/* Drops the queued refcounts; a cluster that reaches 0 gets its space punched out. */
static int apply_frees(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);
	int rc = 0;

	for (unsigned f = 0; f < q->nfrees && rc == 0; f++) {
		for (uint64_t i = 0; i < q->frees[f].n && rc == 0; i++) {
			uint64_t off = q->frees[f].off + i * q->cs, now;

			rc = refcount_add(d, off, -1, &now);
			if (rc == 0 && now == 0)
				(void)fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						(off_t)off, (off_t)q->cs);	/* space only: best effort */
		}
	}
	q->nfrees = 0;
	return rc;
}

int qcow2_refcount_writeback(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);
	struct stat st;
	int rc = qcow2_cache_writeback(d, &q->rbc);

	if (rc < 0)
		return rc;
	if (q->reftable_dirty) {
		uint64_t *be = malloc(q->reftable_entries * 8);

		if (!be)
			return disk__err(d, -ENOMEM, "out of memory writing the refcount table");
		for (uint64_t i = 0; i < q->reftable_entries; i++)
			be[i] = htobe64(q->reftable[i]);
		rc = iov__pwrite_full(d->fd, q->reftable_off, be, q->reftable_entries * 8);
		free(be);
		if (rc < 0)
			return disk__err(d, rc, "writing the refcount table: %s", strerror(-rc));
		q->reftable_dirty = false;
	}
	/* Clusters allocated but never written (zero tails) must still lie inside the file. */
	if (fstat(d->fd, &st) < 0)
		return disk__err(d, -errno, "fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size < q->next_alloc && ftruncate(d->fd, (off_t)q->next_alloc) < 0)
		return disk__err(d, -errno, "extending the file: %s", strerror(errno));
	if (q->file_end < q->next_alloc)
		q->file_end = q->next_alloc;
	return 0;
}

static int meta_sync(struct disk *d)
{
	if (fdatasync(d->fd) < 0)
		return disk__err(d, -errno, "fdatasync: %s", strerror(errno));
	return 0;
}

/* Writes the dirty part of the L1 table. */
static int l1_writeback(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);
	uint32_t lo = q->l1_dirty_lo, n = q->l1_dirty_hi - lo;
	uint64_t *be = malloc((size_t)n * 8);
	int rc;

	if (!be)
		return disk__err(d, -ENOMEM, "out of memory writing the L1 table");
	for (uint32_t i = 0; i < n; i++)
		be[i] = htobe64(q->l1[lo + i]);
	rc = iov__pwrite_full(d->fd, q->l1_off + (uint64_t)lo * 8, be, (size_t)n * 8);
	free(be);
	if (rc < 0)
		return disk__err(d, rc, "writing the L1 table: %s", strerror(-rc));
	q->l1_dirty_lo = q->l1_dirty_hi = 0;
	return 0;
}

int qcow2_publish(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);
	bool rb_dirty = q->reftable_dirty, l2_dirty = false;
	int rc = 0;

	for (unsigned i = 0; i < q->rbc.n; i++)
		rb_dirty |= q->rbc.s[i].off && q->rbc.s[i].dirty;
	for (unsigned i = 0; i < q->l2c.n; i++)
		l2_dirty |= q->l2c.s[i].off && q->l2c.s[i].dirty;
	if (!l2_dirty && q->l1_dirty_hi == q->l1_dirty_lo)
		return 0;
	/* A power loss must never find an L2 entry whose cluster has no refcount: those go first, durably. */
	if (rb_dirty || q->file_end < q->next_alloc) {
		rc = qcow2_refcount_writeback(d);
		if (rc == 0)
			rc = meta_sync(d);
	}
	/* The rest needs no sync: a table reaching the disk before the data it points at shows old data, as unflushed writes may. */
	if (rc == 0 && l2_dirty)
		rc = qcow2_cache_writeback(d, &q->l2c);
	if (rc == 0 && q->l1_dirty_hi > q->l1_dirty_lo)
		rc = l1_writeback(d);
	return rc;
}

int qcow2_flush(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);
	bool l2_dirty = false;
	int rc;

	for (unsigned i = 0; i < q->l2c.n; i++)
		l2_dirty |= q->l2c.s[i].off && q->l2c.s[i].dirty;
	/* 1: guest data (already written) and refcounts reach the disk. */
	rc = unreserve(d);
	if (rc == 0)
		rc = qcow2_refcount_writeback(d);
	if (rc == 0)
		rc = meta_sync(d);
	/* 2: L2 tables, which may point at that data; 3: L1, which may point at new L2 tables. */
	if (rc == 0 && l2_dirty) {
		rc = qcow2_cache_writeback(d, &q->l2c);
		if (rc == 0)
			rc = meta_sync(d);
	}
	if (rc == 0 && q->l1_dirty_hi > q->l1_dirty_lo) {
		rc = l1_writeback(d);
		if (rc == 0)
			rc = meta_sync(d);
	}
	/* 4: clusters no durable table points at any more lose their count. */
	if (rc == 0 && q->nfrees) {
		rc = apply_frees(d);
		if (rc == 0)
			rc = qcow2_refcount_writeback(d);
		if (rc == 0)
			rc = meta_sync(d);
	}
	return rc;
}
