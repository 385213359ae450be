/* libkxdisk qcow2 metadata map: QEMU-style overlap checks before anything is written, and marking an image corrupt. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qcow2.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorted, deduplicated copy of the non-zero offsets of a table (masked); 0 or -ENOMEM. */
static int collect(const uint64_t *t, uint64_t n, uint64_t **out, uint64_t *count, uint64_t *cap)
{
	uint64_t k = 0, *a = malloc((n ? n : 1) * 8 + 64 * 8);

	if (!a)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		if (t[i] & QCOW2_OFFSET_MASK)
			a[k++] = t[i] & QCOW2_OFFSET_MASK;
	qsort(a, k, 8, cmp_u64);
	*count = 0;
	for (uint64_t i = 0; i < k; i++)
		if (!*count || a[*count - 1] != a[i])
			a[(*count)++] = a[i];
	*out = a;
	*cap = (n ? n : 1) + 64;
	return 0;
}

int qcow2_meta_init(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);

	if (collect(q->l1, q->l1_size, &q->l2_offs.v, &q->l2_offs.n, &q->l2_offs.cap) < 0 ||
	    collect(q->reftable, q->reftable_entries, &q->rb_offs.v, &q->rb_offs.n, &q->rb_offs.cap) < 0)
		return disk__err(d, -ENOMEM, "out of memory for the metadata map");
	return 0;
}

void qcow2_meta_free(struct qcow2 *q)
{
	free(q->l2_offs.v);
	free(q->rb_offs.v);
}

int qcow2_meta_add(struct disk *d, struct qcow2_offs *o, uint64_t off)
{
	uint64_t at = o->n;

	/* New tables are appended at the end of the file, so this is the end of the list but for a hostile image. */
	while (at && o->v[at - 1] > off)
		at--;
	if (at && o->v[at - 1] == off)
		return 0;
	if (o->n == o->cap) {
		uint64_t *v = realloc(o->v, (o->cap * 2) * 8);

		if (!v)
			return disk__err(d, -ENOMEM, "out of memory for the metadata map");
		o->v = v;
		o->cap *= 2;
	}
	memmove(o->v + at + 1, o->v + at, (o->n - at) * 8);
	o->v[at] = off;
	o->n++;
	return 0;
}

/* True if some cluster listed in o overlaps [off, off+len). */
static bool hits(const struct qcow2_offs *o, uint64_t cs, uint64_t off, uint64_t len)
{
	uint64_t lo = 0, hi = o->n;

	/* The first listed cluster that ends after off. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (o->v[mid] + cs <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->n && o->v[lo] < off + len;
}

static bool range_hits(uint64_t a, uint64_t alen, uint64_t off, uint64_t len)
{
	return alen && off < a + alen && a < off + len;
}

unsigned qcow2_overlap(const struct qcow2 *q, uint64_t off, uint64_t len, unsigned ignore)
{
	unsigned bad = 0;

	if (range_hits(0, q->cs, off, len))
		bad |= QCOW2_OL_HEADER;
	if (range_hits(q->l1_off, (uint64_t)q->l1_size * 8, off, len))
		bad |= QCOW2_OL_L1;
	if (range_hits(q->reftable_off, q->reftable_entries * 8, off, len))
		bad |= QCOW2_OL_REFTABLE;
	if (hits(&q->rb_offs, q->cs, off, len))
		bad |= QCOW2_OL_REFBLOCK;
	if (hits(&q->l2_offs, q->cs, off, len))
		bad |= QCOW2_OL_L2;
	return bad & ~ignore;
}

const char *qcow2_ol_name(unsigned bits)
{
	return bits & QCOW2_OL_HEADER ? "the header" : bits & QCOW2_OL_L1 ? "the L1 table" :
	       bits & QCOW2_OL_REFTABLE ? "the refcount table" :
	       bits & QCOW2_OL_REFBLOCK ? "a refcount block" : "an L2 table";
}

int qcow2_corrupt(struct disk *d, const char *fmt, ...)
{
	struct qcow2 *q = qcow2_of(d);
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* As QEMU: the corrupt bit refuses later writable opens until `qemu-img check -r` repairs it. */
	if (!q->corrupt && !d->readonly && q->version >= 3) {
		uint64_t be = htobe64(q->incompat | QCOW2_INCOMPAT_CORRUPT);

		if (iov__pwrite_full(d->fd, 72, &be, 8) == 0)
			(void)fdatasync(d->fd);
	}
	q->corrupt = true;
	return disk__err(d, -EIO, "%s; image marked corrupt, no further writes", what);
}
