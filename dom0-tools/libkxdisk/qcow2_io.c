/* libkxdisk qcow2 data path: L1/L2 lookup, reads (zero, backing, compressed), allocating writes, discard. */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "qcow2.h"

/* What a guest cluster is, from its L2 entry. */
enum kind {
	K_UNALLOC,	/* from the backing file, or zeros */
	K_ZERO,		/* zeros (v3 flag), maybe with a preallocated host cluster */
	K_NORMAL,	/* data at host */
	K_COMPRESSED,
};

struct map {
	enum kind kind;
	uint64_t entry;
	uint64_t host;		/* cluster offset for K_NORMAL and a preallocated K_ZERO */
};

/* Up to this many iovec pieces live on the stack; more take one allocation per request. */
#define STACK_IOV 32

struct ivec {
	struct iovec *v;
	struct iovec stack[STACK_IOV];
	int max;
};

static int ivec_init(struct ivec *iv, int iovcnt)
{
	iv->max = iovcnt;
	iv->v = iovcnt <= STACK_IOV ? iv->stack : calloc((size_t)iovcnt, sizeof(struct iovec));
	return iv->v ? 0 : -ENOMEM;
}

static void ivec_free(struct ivec *iv)
{
	if (iv->v != iv->stack)
		free(iv->v);
}

/* The L2 slot and index for guest offset voff; allocates a missing L2 table if alloc, else *slot may be NULL. */
static int l2_slot(struct disk *d, uint64_t voff, bool alloc, struct qcow2_slot **slot, uint64_t *idx)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t vcl = voff >> q->cluster_bits, l1i = vcl >> q->l2_bits, l2off;
	int rc;

	*idx = vcl & ((1ull << q->l2_bits) - 1);
	*slot = NULL;
	l2off = q->l1[l1i] & QCOW2_OFFSET_MASK;
	if (l2off) {
		unsigned bad = qcow2_overlap(q, l2off, q->cs, QCOW2_OL_L2);

		if (bad)
			return qcow2_corrupt(d, "L1 entry %llu: L2 table at 0x%llx overlaps %s",
					     (unsigned long long)l1i, (unsigned long long)l2off,
					     qcow2_ol_name(bad));
		return qcow2_cache_get(d, &q->l2c, l2off, false, slot);
	}
	if (!alloc)
		return 0;
	rc = qcow2_alloc(d, 1, &l2off);
	if (rc == 0)
		rc = qcow2_meta_add(d, &q->l2_offs, l2off);
	if (rc < 0)
		return rc;
	rc = qcow2_cache_get(d, &q->l2c, l2off, true, slot);
	if (rc < 0)
		return rc;
	q->l1[l1i] = l2off | QCOW2_OFLAG_COPIED;
	if (q->l1_dirty_hi == q->l1_dirty_lo) {
		q->l1_dirty_lo = (uint32_t)l1i;
		q->l1_dirty_hi = (uint32_t)l1i + 1;
	} else {
		if (l1i < q->l1_dirty_lo)
			q->l1_dirty_lo = (uint32_t)l1i;
		if (l1i >= q->l1_dirty_hi)
			q->l1_dirty_hi = (uint32_t)l1i + 1;
	}
	return 0;
}

static void l2_set(struct qcow2_slot *s, uint64_t idx, uint64_t entry)
{
	((uint64_t *)(void *)s->buf)[idx] = htobe64(entry);
	s->dirty = true;
}

/* The host clusters a compressed cluster's data touches (what QEMU counted for it). */
static void compressed_range(struct qcow2 *q, uint64_t e, uint64_t *first, uint64_t *n)
{
	unsigned shift = 62 - (q->cluster_bits - 8);
	uint64_t start = (e & ((1ull << shift) - 1)) & ~511ull;
	uint64_t nsec = ((e >> shift) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
	uint64_t last = (start + nsec * 512 - 1) & ~(q->cs - 1);

	*first = start & ~(q->cs - 1);
	*n = (last - *first) / q->cs + 1;
}

/* Decodes and validates the L2 entry for voff; a bad entry is an error naming it. */
static int classify(struct disk *d, uint64_t voff, uint64_t e, struct map *m)
{
	struct qcow2 *q = qcow2_of(d);
	unsigned bad;

	m->entry = e;
	m->host = 0;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t coff = e & ((1ull << (62 - (q->cluster_bits - 8))) - 1), first, n;

		m->kind = K_COMPRESSED;
		if (coff == 0 || coff >= q->next_alloc)
			return disk__err(d, -EIO, "L2 entry for guest offset 0x%llx: compressed data at "
					 "0x%llx beyond end of file", (unsigned long long)voff,
					 (unsigned long long)coff);
		/* Its clusters are freed (and punched) when the guest overwrites or discards it. */
		compressed_range(q, e, &first, &n);
		if ((bad = qcow2_overlap(q, first, n * q->cs, 0)))
			return qcow2_corrupt(d, "L2 entry for guest offset 0x%llx: compressed data at 0x%llx "
					     "overlaps %s", (unsigned long long)voff,
					     (unsigned long long)coff, qcow2_ol_name(bad));
		return 0;
	}
	if (e & QCOW2_L2_RESERVED || (q->version == 2 && (e & QCOW2_OFLAG_ZERO)))
		return disk__err(d, -EIO, "L2 entry for guest offset 0x%llx (0x%llx) has reserved bits set",
				 (unsigned long long)voff, (unsigned long long)e);
	m->host = e & QCOW2_OFFSET_MASK;
	if (m->host & (q->cs - 1))
		return disk__err(d, -EIO, "L2 entry for guest offset 0x%llx: data offset 0x%llx not "
				 "cluster-aligned", (unsigned long long)voff, (unsigned long long)m->host);
	if (m->host && !qcow2_range_ok(m->host, q->cs, q->next_alloc))
		return disk__err(d, -EIO, "L2 entry for guest offset 0x%llx: data offset 0x%llx beyond "
				 "end of file", (unsigned long long)voff, (unsigned long long)m->host);
	/* Guest data must never land on metadata (QEMU's qcow2_check_metadata_overlap). */
	if (m->host && (bad = qcow2_overlap(q, m->host, q->cs, 0)))
		return qcow2_corrupt(d, "L2 entry for guest offset 0x%llx: data offset 0x%llx overlaps %s",
				     (unsigned long long)voff, (unsigned long long)m->host,
				     qcow2_ol_name(bad));
	m->kind = (e & QCOW2_OFLAG_ZERO) ? K_ZERO : m->host ? K_NORMAL : K_UNALLOC;
	return 0;
}

/* With extended L2 entries, bitmap bits 0-31 say "subcluster allocated", 32-63 "subcluster reads zeros". */
#define SC_ALLOC_ALL 0xffffffffull
#define SC_ZERO_ALL  (SC_ALLOC_ALL << 32)

/* The allocation bits of subclusters [a, b) (0 <= a <= b <= 32). */
static uint64_t sc_mask(unsigned a, unsigned b)
{
	return b - a == 32 ? SC_ALLOC_ALL : ((1ull << (b - a)) - 1) << a;
}

/* A bitmap QEMU's qcow2_get_subcluster_type calls invalid is an error naming voff. */
static int bitmap_check(struct disk *d, uint64_t voff, uint64_t bm, uint64_t host)
{
	if ((bm >> 32) & bm)
		return disk__err(d, -EIO, "L2 entry for guest offset 0x%llx: subcluster bitmap 0x%016llx "
				 "marks a subcluster both allocated and zero", (unsigned long long)voff,
				 (unsigned long long)bm);
	if (!host && (bm & SC_ALLOC_ALL))
		return disk__err(d, -EIO, "L2 entry for guest offset 0x%llx: subcluster bitmap 0x%016llx "
				 "marks subclusters allocated in an unallocated cluster",
				 (unsigned long long)voff, (unsigned long long)bm);
	return 0;
}

/*
 * With extended L2 entries: the cluster holding voff as a whole (m->kind K_NORMAL, K_UNALLOC
 * or K_COMPRESSED) and its bitmap *bm, validated. *slot (NULL if the cluster has no L2 table
 * and !alloc) and *idx as l2_slot's, valid until the next cache call.
 */
static int ext_get(struct disk *d, uint64_t voff, bool alloc, struct map *m, uint64_t *bm,
		   struct qcow2_slot **slot, uint64_t *idx)
{
	const uint64_t *t;
	uint64_t e;
	int rc = l2_slot(d, voff, alloc, slot, idx);

	if (rc < 0)
		return rc;
	t = *slot ? (const uint64_t *)(const void *)(*slot)->buf : NULL;
	/* The entry's zero flag means nothing here: the bitmap says it per subcluster. */
	e = t ? be64toh(t[2 * *idx]) : 0;
	*bm = t ? be64toh(t[2 * *idx + 1]) : 0;
	rc = classify(d, voff, (e & QCOW2_OFLAG_COMPRESSED) ? e : e & ~QCOW2_OFLAG_ZERO, m);
	if (rc < 0 || m->kind == K_COMPRESSED)
		return rc;	/* a compressed cluster is whole: its bitmap is reserved */
	return bitmap_check(d, voff, *bm, m->host);
}

static void ext_set(struct qcow2_slot *s, uint64_t idx, uint64_t entry, uint64_t bm)
{
	((uint64_t *)(void *)s->buf)[2 * idx] = htobe64(entry);
	((uint64_t *)(void *)s->buf)[2 * idx + 1] = htobe64(bm);
	s->dirty = true;
}

static int lookup(struct disk *d, uint64_t voff, struct map *m)
{
	struct qcow2 *q = qcow2_of(d);
	struct qcow2_slot *s;
	uint64_t i, bm;
	unsigned j = (unsigned)(voff >> q->sc_bits) & 31;
	int rc;

	if (!q->extl2) {
		rc = l2_slot(d, voff, false, &s, &i);
		if (rc < 0)
			return rc;
		return classify(d, voff, s ? be64toh(((const uint64_t *)(const void *)s->buf)[i]) : 0, m);
	}
	/* The subcluster's kind, as QEMU's qcow2_get_subcluster_type. */
	rc = ext_get(d, voff, false, m, &bm, &s, &i);
	if (rc < 0 || m->kind == K_COMPRESSED)
		return rc;
	if (bm & (1ull << (32 + j)))
		m->kind = K_ZERO;
	else if (bm & (1ull << j))
		m->kind = K_NORMAL;
	else
		m->kind = K_UNALLOC;
	return 0;
}

/* Inflates csize bytes of q->zbuf (a raw deflate stream, read from coff) into one cluster of q->dbuf. */
static int inflate_raw(struct disk *d, uint64_t coff, uint64_t csize)
{
	struct qcow2 *q = qcow2_of(d);
	int zr;

	if (!q->zs_ready) {
		memset(&q->zs, 0, sizeof(q->zs));
		if (inflateInit2(&q->zs, -15) != Z_OK)
			return disk__err(d, -ENOMEM, "zlib inflateInit2 failed");
		q->zs_ready = true;
	} else {
		inflateReset(&q->zs);
	}
	q->zs.next_in = q->zbuf;
	q->zs.avail_in = (uInt)csize;
	q->zs.next_out = q->dbuf;
	q->zs.avail_out = (uInt)q->cs;
	zr = inflate(&q->zs, Z_FINISH);
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || q->zs.avail_out != 0)
		return disk__err(d, -EIO, "compressed cluster at 0x%llx is corrupt (zlib %d, %u bytes short)",
				 (unsigned long long)coff, zr, q->zs.avail_out);
	return 0;
}

/*
 * Decodes csize bytes of q->zbuf (zstd frames, read from coff) into one cluster of q->dbuf.
 * QEMU may write a cluster as several frames and pads the last sector, so decoding runs
 * until the cluster is full, and must end on a frame boundary (as QEMU checks).
 */
static int unzstd(struct disk *d, uint64_t coff, uint64_t csize)
{
	struct qcow2 *q = qcow2_of(d);
	ZSTD_inBuffer in = { q->zbuf, (size_t)csize, 0 };
	ZSTD_outBuffer out = { q->dbuf, (size_t)q->cs, 0 };
	size_t zr = 0;

	if (!q->zd) {
		q->zd = ZSTD_createDCtx();
		if (!q->zd)
			return disk__err(d, -ENOMEM, "ZSTD_createDCtx failed");
	} else {
		ZSTD_DCtx_reset(q->zd, ZSTD_reset_session_only);
	}
	while (out.pos < out.size) {
		size_t in0 = in.pos, out0 = out.pos;

		zr = ZSTD_decompressStream(q->zd, &out, &in);
		if (ZSTD_isError(zr))
			return disk__err(d, -EIO, "compressed cluster at 0x%llx is corrupt (zstd: %s)",
					 (unsigned long long)coff, ZSTD_getErrorName(zr));
		if (in.pos == in0 && out.pos == out0)
			break;
	}
	if (out.pos < out.size || zr > 0)
		return disk__err(d, -EIO, "compressed cluster at 0x%llx is corrupt (zstd: %zu of %zu bytes%s)",
				 (unsigned long long)coff, out.pos, out.size,
				 zr > 0 ? ", frame not finished" : "");
	return 0;
}

/* Inflates the compressed cluster of L2 entry e into q->dbuf (kept for the next read of it). */
static int decompress(struct disk *d, uint64_t e)
{
	struct qcow2 *q = qcow2_of(d);
	unsigned shift = 62 - (q->cluster_bits - 8);
	uint64_t coff = e & ((1ull << shift) - 1);
	uint64_t nsec = ((e >> shift) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
	uint64_t csize = nsec * 512 - (coff & 511), avail;
	int rc;

	if (q->dbuf_entry == e)
		return 0;
	q->dbuf_entry = 0;
	/* The last compressed cluster may end past the end of file: read what is there. */
	avail = q->file_end > coff ? q->file_end - coff : 0;
	if (csize > avail)
		csize = avail;
	rc = iov__pread_full(d->fd, coff, q->zbuf, (size_t)csize);
	if (rc < 0)
		return disk__err(d, rc, "reading compressed data at 0x%llx: %s", (unsigned long long)coff,
				 strerror(-rc));
	rc = q->compression == QCOW2_COMPRESSION_ZSTD ? unzstd(d, coff, csize) : inflate_raw(d, coff, csize);
	if (rc < 0)
		return rc;
	q->dbuf_entry = e;
	return 0;
}

/* Length of the run from voff (at most len) of clusters that read the same way and, for data, are host-contiguous. */
static int run_of(struct disk *d, uint64_t voff, uint64_t len, const struct map *m0, uint64_t *run)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t r = q->cs - (voff & (q->cs - 1));
	struct map m;

	/* Subclusters read one at a time: their kinds differ within a cluster. */
	if (q->extl2 && m0->kind != K_COMPRESSED)
		r = (1ull << q->sc_bits) - (voff & ((1ull << q->sc_bits) - 1));
	if (m0->kind == K_COMPRESSED || q->extl2) {
		*run = r < len ? r : len;
		return 0;
	}
	while (r < len) {
		int rc = lookup(d, voff + r, &m);

		if (rc < 0)
			return rc;
		/* voff + r starts a cluster lying (voff's offset in its cluster) + r after voff's cluster. */
		if (m.kind != m0->kind ||
		    (m.kind == K_NORMAL && m.host != m0->host + (voff & (q->cs - 1)) + r))
			break;
		r += q->cs;
	}
	*run = r < len ? r : len;
	return 0;
}

int qcow2_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	struct qcow2 *q = qcow2_of(d);
	size_t len = iov__len(iov, iovcnt), done = 0;
	struct ivec iv;
	int rc = ivec_init(&iv, iovcnt);

	while (rc == 0 && done < len) {
		uint64_t voff = off + done, in = voff & (q->cs - 1), run;
		struct map m;
		int n;

		rc = lookup(d, voff, &m);
		if (rc == 0)
			rc = run_of(d, voff, len - done, &m, &run);
		if (rc < 0)
			break;
		switch (m.kind) {
		case K_NORMAL:
			n = iov__slice(iov, iovcnt, done, run, iv.v, iv.max);
			rc = n < 0 ? n : iov__preadv_full(d->fd, m.host + in, iv.v, n);
			if (rc < 0)
				rc = disk__err(d, rc, "reading data at 0x%llx: %s",
					       (unsigned long long)(m.host + in), strerror(-rc));
			break;
		case K_UNALLOC:
			if (!q->backing) {
				iov__memset(iov, iovcnt, done, 0, run);
				break;
			}
			n = iov__slice(iov, iovcnt, done, run, iv.v, iv.max);
			rc = n < 0 ? n : disk__read_backing(q->backing, voff, iv.v, n);
			if (rc < 0)
				rc = disk__err(d, rc, "reading the backing file: %s",
					       disk_last_error(q->backing));
			break;
		case K_ZERO:
			iov__memset(iov, iovcnt, done, 0, run);
			break;
		case K_COMPRESSED:
			rc = decompress(d, m.entry);
			if (rc == 0)
				iov__from_buf(iov, iovcnt, done, q->dbuf + in, run);
			break;
		}
		done += run;
	}
	ivec_free(&iv);
	return rc;
}

/*
 * True if the cluster's old contents need not be read for a write of
 * [in, in+n) into a fresh cluster: the write covers it all, or the old
 * contents are zeros, which a fresh cluster at the file's end already reads as.
 */
static bool direct(struct qcow2 *q, const struct map *m, uint64_t in, uint64_t n)
{
	if (in == 0 && n == q->cs)
		return m->kind != K_NORMAL;
	return (m->kind == K_UNALLOC && !q->backing) || (m->kind == K_ZERO && !m->host);
}

/* Points the L2 entries of k clusters from voff at host clusters from dst; old compressed data is freed later. */
static int map_run(struct disk *d, uint64_t voff, uint64_t k, uint64_t dst)
{
	struct qcow2 *q = qcow2_of(d);

	for (uint64_t c = 0; c < k; c++) {
		uint64_t v = (voff & ~(q->cs - 1)) + c * q->cs, i, first, n;
		struct qcow2_slot *s;
		struct map m;
		int rc = l2_slot(d, v, true, &s, &i);

		if (rc == 0)
			rc = classify(d, v, be64toh(((uint64_t *)(void *)s->buf)[i]), &m);
		if (rc < 0)
			return rc;
		l2_set(s, i, (dst + c * q->cs) | QCOW2_OFLAG_COPIED);
		if (m.kind == K_COMPRESSED)
			compressed_range(q, m.entry, &first, &n);
		else if (m.kind == K_ZERO && m.host)
			first = m.host, n = 1;	/* a preallocated cluster we did not reuse */
		else
			continue;
		rc = qcow2_free_later(d, first, n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Writes [done, done+n) of iov into the single cluster at voff, merging with its old contents. */
static int write_cow(struct disk *d, uint64_t voff, const struct map *m,
		     const struct iovec *iov, int iovcnt, size_t done, uint64_t n)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t in = voff & (q->cs - 1), base = voff - in, dst = m->host;
	struct iovec v = { q->cbuf, q->cs };
	int rc = 0;

	if (m->kind == K_COMPRESSED) {
		rc = decompress(d, m->entry);
		if (rc == 0)
			memcpy(q->cbuf, q->dbuf, q->cs);
	} else if (m->kind == K_UNALLOC && q->backing) {
		rc = disk__read_backing(q->backing, base, &v, 1);
		if (rc < 0)
			rc = disk__err(d, rc, "copy-on-write from the backing file: %s",
				       disk_last_error(q->backing));
	} else {
		memset(q->cbuf, 0, q->cs);
	}
	if (rc < 0)
		return rc;
	iov__to_buf(iov, iovcnt, done, q->cbuf + in, n);
	/* A preallocated zero cluster is ours to reuse; anything else gets a fresh cluster. */
	if (!(m->kind == K_ZERO && m->host)) {
		rc = qcow2_alloc(d, 1, &dst);
		if (rc < 0)
			return rc;
	}
	rc = iov__pwrite_full(d->fd, dst, q->cbuf, q->cs);
	if (rc < 0)
		return disk__err(d, rc, "writing data at 0x%llx: %s", (unsigned long long)dst, strerror(-rc));
	if (m->kind == K_ZERO && m->host) {
		struct qcow2_slot *s;
		uint64_t i;

		rc = l2_slot(d, voff, true, &s, &i);
		if (rc == 0)
			l2_set(s, i, dst | QCOW2_OFLAG_COPIED);
		return rc;
	}
	return map_run(d, voff, 1, dst);
}

/* After a metadata overlap nothing is written any more, as QEMU stops a corrupt image. */
static int refuse_corrupt(struct disk *d)
{
	return qcow2_of(d)->corrupt ? disk__err(d, -EIO, "image marked corrupt (metadata overlap): "
						 "no writes until 'qemu-img check -r all' repairs it") : 0;
}

/*
 * With extended L2 entries: writes [done, done+n) of iov at voff, inside one cluster, as QEMU
 * does. Subclusters already allocated are written in place. Otherwise the write is widened to
 * whole subclusters [a0, a1), whose head and tail keep what they read before (backing data or
 * zeros, copied, since an allocated cluster's unused subclusters may hold stale bytes), goes to
 * the cluster (a new one if it had none), and the bitmap marks [a0, a1) allocated and not zero;
 * the other subclusters keep their state. A compressed cluster is rewritten whole.
 */
static int write_ext(struct disk *d, uint64_t voff, const struct iovec *iov, int iovcnt, size_t done,
		     uint64_t n)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t scs = 1ull << q->sc_bits, in = voff & (q->cs - 1), base = voff - in;
	uint64_t a0 = in & ~(scs - 1), a1 = (in + n + scs - 1) & ~(scs - 1), bm, i, sub, dst, first, cnt;
	struct qcow2_slot *s;
	struct map m;
	struct iovec v;
	int rc = ext_get(d, base, false, &m, &bm, &s, &i);

	if (rc < 0)
		return rc;
	if (m.kind == K_COMPRESSED)
		a0 = 0, a1 = q->cs;
	sub = sc_mask((unsigned)(a0 >> q->sc_bits), (unsigned)(a1 >> q->sc_bits));
	if (m.kind == K_NORMAL && (bm & sub) == sub) {
		struct ivec iv;
		int k;

		rc = ivec_init(&iv, iovcnt);
		k = rc < 0 ? rc : iov__slice(iov, iovcnt, done, n, iv.v, iv.max);
		rc = k < 0 ? k : iov__pwritev_full(d->fd, m.host + in, iv.v, k);
		ivec_free(&iv);
		return rc < 0 ? disk__err(d, rc, "writing data at 0x%llx: %s",
					  (unsigned long long)(m.host + in), strerror(-rc)) : 0;
	}
	if (m.kind == K_COMPRESSED) {
		rc = decompress(d, m.entry);
		if (rc == 0)
			memcpy(q->cbuf, q->dbuf, q->cs);
	} else {
		/* The partial subclusters at the ends, read as the guest sees them now. */
		if (a0 < in) {
			v = (struct iovec){ q->cbuf, scs };
			rc = qcow2_readv(d, base + a0, &v, 1);
		}
		if (rc == 0 && in + n < a1 && (a1 - scs >= in || a0 == in)) {
			v = (struct iovec){ q->cbuf + (a1 - scs - a0), scs };
			rc = qcow2_readv(d, base + a1 - scs, &v, 1);
		}
	}
	if (rc < 0)
		return rc;
	iov__to_buf(iov, iovcnt, done, q->cbuf + (in - a0), n);
	dst = m.host;
	if (m.kind != K_NORMAL) {
		rc = qcow2_alloc(d, 1, &dst);
		if (rc < 0)
			return rc;
	}
	rc = iov__pwrite_full(d->fd, dst + a0, q->cbuf, a1 - a0);
	if (rc < 0)
		return disk__err(d, rc, "writing data at 0x%llx: %s", (unsigned long long)(dst + a0),
				 strerror(-rc));
	/* The reads may have evicted the table: fetch it again (the entry itself is unchanged). */
	rc = ext_get(d, base, true, &m, &bm, &s, &i);
	if (rc < 0)
		return rc;
	if (m.kind == K_COMPRESSED) {
		ext_set(s, i, dst | QCOW2_OFLAG_COPIED, SC_ALLOC_ALL);
		compressed_range(q, m.entry, &first, &cnt);
		return qcow2_free_later(d, first, cnt);
	}
	ext_set(s, i, dst | QCOW2_OFLAG_COPIED, (bm | sub) & ~(sub << 32));
	return 0;
}

int qcow2_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	struct qcow2 *q = qcow2_of(d);
	size_t len = iov__len(iov, iovcnt), done = 0;
	struct ivec iv;
	int rc = refuse_corrupt(d);

	if (rc < 0)
		return rc;
	rc = ivec_init(&iv, iovcnt);

	while (rc == 0 && done < len) {
		uint64_t voff = off + done, in = voff & (q->cs - 1), run, n = q->cs - in, k, dst;
		struct map m;
		int cnt;

		if (n > len - done)
			n = len - done;
		if (q->extl2) {
			rc = write_ext(d, voff, iov, iovcnt, done, n);
			done += n;
			continue;
		}
		rc = lookup(d, voff, &m);
		if (rc < 0)
			break;
		if (m.kind == K_NORMAL) {
			rc = run_of(d, voff, len - done, &m, &run);
			if (rc < 0)
				break;
			cnt = iov__slice(iov, iovcnt, done, run, iv.v, iv.max);
			rc = cnt < 0 ? cnt : iov__pwritev_full(d->fd, m.host + in, iv.v, cnt);
			if (rc < 0)
				rc = disk__err(d, rc, "writing data at 0x%llx: %s",
					       (unsigned long long)(m.host + in), strerror(-rc));
			done += run;
			continue;
		}
		if (!direct(q, &m, in, n)) {
			rc = write_cow(d, voff, &m, iov, iovcnt, done, n);
			done += n;
			continue;
		}
		/* A run of clusters that need no old contents goes to fresh contiguous clusters in one write. */
		run = n;
		for (k = 1; done + run < len; k++) {
			uint64_t nn = len - done - run < q->cs ? len - done - run : q->cs;
			struct map mm;

			rc = lookup(d, voff + run, &mm);
			if (rc < 0 || !direct(q, &mm, 0, nn))
				break;
			run += nn;
		}
		if (rc < 0)
			break;
		rc = qcow2_alloc(d, k, &dst);
		if (rc < 0)
			break;
		cnt = iov__slice(iov, iovcnt, done, run, iv.v, iv.max);
		rc = cnt < 0 ? cnt : iov__pwritev_full(d->fd, dst + in, iv.v, cnt);
		if (rc < 0) {
			rc = disk__err(d, rc, "writing data at 0x%llx: %s", (unsigned long long)(dst + in),
				       strerror(-rc));
			break;
		}
		rc = map_run(d, voff, k, dst);
		done += run;
	}
	ivec_free(&iv);
	return rc < 0 ? rc : qcow2_publish(d);
}

/*
 * With extended L2 entries, the whole subclusters of [off, off+len) inside the one cluster at
 * off read zeros afterwards (QEMU's zero_l2_subclusters); the cluster's host space stays. A
 * compressed cluster is whole and left alone, as QEMU leaves unaligned discards.
 */
static int discard_sub(struct disk *d, uint64_t off, uint64_t len)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t scs = 1ull << q->sc_bits, base = off & ~(q->cs - 1), bm, i, sub;
	uint64_t a = (off + scs - 1) & ~(scs - 1), b = (off + len) & ~(scs - 1);
	struct qcow2_slot *s;
	struct map m;
	int rc;

	/* The partial subcluster at the end of an unaligned disk is whole as far as the guest can see. */
	if (off + len == d->size)
		b = (d->size + scs - 1) & ~(scs - 1);
	if (b > base + q->cs)
		b = base + q->cs;
	if (a >= b)
		return 0;
	rc = ext_get(d, base, false, &m, &bm, &s, &i);
	/* Compressed is whole; unallocated without a backing file already reads zeros. */
	if (rc < 0 || m.kind == K_COMPRESSED || (!m.host && !q->backing))
		return rc;
	sub = sc_mask((unsigned)((a - base) >> q->sc_bits), (unsigned)((b - base) >> q->sc_bits));
	if ((bm & (sub << 32)) == sub << 32)
		return 0;
	if (!s) {
		rc = ext_get(d, base, true, &m, &bm, &s, &i);
		if (rc < 0)
			return rc;
	}
	ext_set(s, i, m.host ? m.host | QCOW2_OFLAG_COPIED : 0, (bm & ~sub) | (sub << 32));
	return 0;
}

/*
 * Whole clusters in the range are deallocated: their L2 entries become
 * "unallocated" (or the v3 zero flag over a backing file, so the guest
 * still reads zeros) and their host clusters are freed once that is on
 * disk. Partial clusters at either end are left alone, data intact, as
 * QEMU leaves them (except the last, partial cluster of an unaligned disk);
 * a v2 image over a backing file is left alone entirely, as in QEMU.
 */
int qcow2_discard(struct disk *d, uint64_t off, uint64_t len)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t v = (off + q->cs - 1) & ~(q->cs - 1), end = (off + len) & ~(q->cs - 1);
	uint64_t blank = (q->backing && q->version >= 3) ? QCOW2_OFLAG_ZERO : 0;
	int rc0 = refuse_corrupt(d);

	if (rc0 < 0)
		return rc0;
	/* As QEMU's qcow2_co_pdiscard: v2 has no zero flag, and unallocated would show stale backing data. */
	if (q->version < 3 && q->backing)
		return 0;
	/* The partial cluster at the end of an unaligned disk is whole as far as the guest can see. */
	if (off + len == d->size)
		end = (d->size + q->cs - 1) & ~(q->cs - 1);
	/* Subclusters make the partial clusters at the ends discardable in part. */
	if (q->extl2) {
		if (v > off)
			rc0 = discard_sub(d, off, (v < off + len ? v : off + len) - off);
		if (rc0 == 0 && end >= v && end < off + len)
			rc0 = discard_sub(d, end, off + len - end);
		if (rc0 < 0)
			return rc0;
	}
	for (; v < end; v += q->cs) {
		struct qcow2_slot *s;
		uint64_t i, first = 0, n = 0, bm = 0;
		struct map m;
		int rc = q->extl2 ? ext_get(d, v, false, &m, &bm, &s, &i) : l2_slot(d, v, false, &s, &i);

		if (rc < 0)
			return rc;
		if (!s)
			continue;
		if (!q->extl2)
			rc = classify(d, v, be64toh(((uint64_t *)(void *)s->buf)[i]), &m);
		if (rc < 0)
			return rc;
		if (m.kind == K_COMPRESSED)
			compressed_range(q, m.entry, &first, &n);
		else if (m.host)
			first = m.host, n = 1;
		if (q->extl2) {
			/* Over a backing file every subcluster must read zeros; without one, unallocated does. */
			uint64_t nbm = q->backing ? SC_ZERO_ALL : 0;

			if (m.entry == 0 && bm == nbm)
				continue;
			ext_set(s, i, 0, nbm);
		} else {
			if (m.entry == blank)
				continue;
			l2_set(s, i, blank);
		}
		if (n) {
			rc = qcow2_free_later(d, first, n);
			if (rc < 0)
				return rc;
		}
	}
	return qcow2_publish(d);
}
