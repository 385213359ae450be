/* libkxdisk qcow2 opening: header, extension and table validation (bounded whatever the file says), close. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qcow2.h"

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64_at(const uint8_t *p)
{
	return (uint64_t)be32_at(p) << 32 | be32_at(p + 4);
}

static int qcow2_probe(const uint8_t *hdr, size_t len)
{
	return len >= 8 && be32_at(hdr) == QCOW2_MAGIC && (be32_at(hdr + 4) == 2 || be32_at(hdr + 4) == 3);
}

/* The fields of the header we use, decoded. */
struct hdr {
	uint32_t version, cluster_bits, crypt, l1_size, reftable_clusters, nb_snapshots;
	uint32_t backing_len, refcount_order, header_len;
	uint64_t backing_off, size, l1_off, reftable_off, incompat, compat, autoclear;
	uint8_t compression;
};

static int parse_header(struct disk *d, const uint8_t *b, size_t n, struct hdr *h)
{
	if (n < QCOW2_V2_HEADER_LEN)
		return disk__err(d, -EINVAL, "too small for a qcow2 header (%zu bytes)", n);
	if (be32_at(b) != QCOW2_MAGIC)
		return disk__err(d, -EINVAL, "not a qcow2 image (magic 0x%08x)", be32_at(b));
	h->version = be32_at(b + 4);
	if (h->version != 2 && h->version != 3)
		return disk__err(d, -ENOTSUP, "unsupported qcow2 version %u", h->version);
	h->backing_off = be64_at(b + 8);
	h->backing_len = be32_at(b + 16);
	h->cluster_bits = be32_at(b + 20);
	h->size = be64_at(b + 24);
	h->crypt = be32_at(b + 32);
	h->l1_size = be32_at(b + 36);
	h->l1_off = be64_at(b + 40);
	h->reftable_off = be64_at(b + 48);
	h->reftable_clusters = be32_at(b + 56);
	h->nb_snapshots = be32_at(b + 60);
	h->incompat = h->compat = h->autoclear = 0;
	h->refcount_order = 4;
	h->header_len = QCOW2_V2_HEADER_LEN;
	h->compression = 0;
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return disk__err(d, -EINVAL, "cluster_bits %u out of range %u..%u", h->cluster_bits,
				 QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
	if (h->version == 3) {
		if (n < QCOW2_V3_HEADER_LEN)
			return disk__err(d, -EINVAL, "too small for a qcow2 v3 header (%zu bytes)", n);
		h->incompat = be64_at(b + 72);
		h->compat = be64_at(b + 80);
		h->autoclear = be64_at(b + 88);
		h->refcount_order = be32_at(b + 96);
		h->header_len = be32_at(b + 100);
		if (h->header_len < QCOW2_V3_HEADER_LEN || h->header_len % 8 ||
		    h->header_len > (1u << h->cluster_bits))
			return disk__err(d, -EINVAL, "header_length %u invalid", h->header_len);
	}
	return 0;
}

/* The v3 additional fields, in the header_length bytes of b (the first cluster, n bytes of it read). */
static int parse_additional(struct disk *d, const uint8_t *b, size_t n, struct hdr *h)
{
	if (h->header_len > n)
		return disk__err(d, -EINVAL, "header_length %u extends past the end of the file (%zu bytes)",
				 h->header_len, n);
	if (h->header_len > QCOW2_V3_HEADER_LEN)
		h->compression = b[104];
	if (h->compression && !(h->incompat & QCOW2_INCOMPAT_COMPRESSION))
		return disk__err(d, -EINVAL, "compression type %u without the compression-type "
				 "incompatible feature bit", h->compression);
	if ((h->incompat & QCOW2_INCOMPAT_COMPRESSION) && h->header_len <= QCOW2_V3_HEADER_LEN)
		return disk__err(d, -EINVAL, "compression-type feature bit set but header_length %u has "
				 "no compression type field", h->header_len);
	if (h->compression > QCOW2_COMPRESSION_ZSTD)
		return disk__err(d, -ENOTSUP, "compression type %u is not supported (only zlib and zstd)",
				 h->compression);
	return 0;
}

/* Refuses what we cannot serve correctly, naming it. */
static int check_features(struct disk *d, const struct hdr *h)
{
	uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DATA_FILE |
			 QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2;

	if (h->crypt)
		return disk__err(d, -ENOTSUP, "encrypted qcow2 images are not supported (crypt_method %u)",
				 h->crypt);
	if (h->incompat & ~known)
		return disk__err(d, -ENOTSUP, "unknown incompatible features 0x%llx",
				 (unsigned long long)(h->incompat & ~known));
	if (h->incompat & QCOW2_INCOMPAT_DATA_FILE)
		return disk__err(d, -ENOTSUP, "external data files are not supported");
	if ((h->incompat & QCOW2_INCOMPAT_EXTL2) && h->cluster_bits < QCOW2_EXTL2_MIN_BITS)
		return disk__err(d, -EINVAL, "extended L2 entries need clusters of at least 16 KiB "
				 "(cluster_bits %u)", h->cluster_bits);
	if (!d->readonly && (h->incompat & QCOW2_INCOMPAT_DIRTY))
		return disk__err(d, -EUCLEAN, "image is dirty (lazy refcounts); repair it with "
				 "'qemu-img check -r all' or open it read-only");
	if (!d->readonly && (h->incompat & QCOW2_INCOMPAT_CORRUPT))
		return disk__err(d, -EUCLEAN, "image is marked corrupt; repair it with "
				 "'qemu-img check -r all' or open it read-only");
	if (h->refcount_order > 6)
		return disk__err(d, -EINVAL, "refcount_order %u out of range 0..6", h->refcount_order);
	if (!d->readonly && h->nb_snapshots)
		return disk__err(d, -ENOTSUP, "image has %u internal snapshots: writing to it is not "
				 "supported (open it read-only)", h->nb_snapshots);
	return 0;
}

/*
 * Walks the header extensions in the first cluster; a backing format is
 * copied into fmt. Unknown extensions are skipped, as the spec allows.
 */
static int parse_extensions(struct disk *d, const uint8_t *b, size_t n, const struct hdr *h,
			    char *fmt, size_t fmtlen)
{
	size_t pos = h->header_len, end = n;

	if (h->backing_off && h->backing_off < end)
		end = (size_t)h->backing_off;
	while (pos + 8 <= end) {
		uint32_t type = be32_at(b + pos), len = be32_at(b + pos + 4);

		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos)
			return disk__err(d, -EINVAL, "header extension 0x%08x of %u bytes overflows the header",
					 type, len);
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len >= fmtlen)
				return disk__err(d, -EINVAL, "backing format name of %u bytes too long", len);
			memcpy(fmt, b + pos, len);
			fmt[len] = '\0';
		} else if (type == QCOW2_EXT_DATA_FILE) {
			return disk__err(d, -ENOTSUP, "external data files are not supported");
		} else if (type == QCOW2_EXT_CRYPTO) {
			return disk__err(d, -ENOTSUP, "encrypted qcow2 images are not supported");
		}
		pos += ((size_t)len + 7) & ~(size_t)7;
	}
	return 0;
}

/* Loads a big-endian table of n entries at off into host order; entries must be clean offsets inside the file. */
static int load_table(struct disk *d, const char *what, uint64_t off, uint64_t n, uint64_t reserved,
		      uint64_t **out)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t *t = calloc(n ? n : 1, 8);
	int rc;

	if (!t)
		return disk__err(d, -ENOMEM, "out of memory for the %s", what);
	rc = iov__pread_full(d->fd, off, t, n * 8);
	if (rc < 0) {
		free(t);
		return disk__err(d, rc, "reading the %s: %s", what, strerror(-rc));
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = be64toh(t[i]), o = e & QCOW2_OFFSET_MASK;

		t[i] = e;
		if (e & reserved) {
			rc = disk__err(d, -EINVAL, "%s entry %llu (0x%llx) has reserved bits set", what,
				       (unsigned long long)i, (unsigned long long)e);
			break;
		}
		if (o & (q->cs - 1)) {
			rc = disk__err(d, -EINVAL, "%s entry %llu: offset 0x%llx not cluster-aligned", what,
				       (unsigned long long)i, (unsigned long long)o);
			break;
		}
		if (o && !qcow2_range_ok(o, q->cs, q->next_alloc)) {
			rc = disk__err(d, -EINVAL, "%s entry %llu: offset 0x%llx beyond end of file", what,
				       (unsigned long long)i, (unsigned long long)o);
			break;
		}
	}
	if (rc < 0) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* Checks the geometry and the L1 and refcount tables' places against the file, then loads both. */
static int setup_tables(struct disk *d, const struct hdr *h)
{
	struct qcow2 *q = qcow2_of(d);
	uint64_t l2_cover = q->cs << q->l2_bits, l1_need, rt_bytes;
	int rc;

	if (h->size > (1ull << 62))
		return disk__err(d, -EINVAL, "virtual size %llu too large", (unsigned long long)h->size);
	l1_need = (h->size + l2_cover - 1) / l2_cover;
	if (h->l1_size < l1_need)
		return disk__err(d, -EINVAL, "L1 table of %u entries too small for the virtual size "
				 "(needs %llu)", h->l1_size, (unsigned long long)l1_need);
	if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return disk__err(d, -EFBIG, "L1 table of %u entries too large", h->l1_size);
	if (h->l1_off & (q->cs - 1))
		return disk__err(d, -EINVAL, "L1 table offset 0x%llx not cluster-aligned",
				 (unsigned long long)h->l1_off);
	if (!qcow2_range_ok(h->l1_off, (uint64_t)h->l1_size * 8, d->file_size))
		return disk__err(d, -EINVAL, "L1 table offset 0x%llx beyond end of file",
				 (unsigned long long)h->l1_off);
	rt_bytes = (uint64_t)h->reftable_clusters << q->cluster_bits;
	if (h->reftable_clusters == 0)
		return disk__err(d, -EINVAL, "refcount table has 0 clusters");
	if (rt_bytes > QCOW2_MAX_REFTABLE_BYTES)
		return disk__err(d, -EFBIG, "refcount table of %u clusters too large", h->reftable_clusters);
	if (h->reftable_off & (q->cs - 1))
		return disk__err(d, -EINVAL, "refcount table offset 0x%llx not cluster-aligned",
				 (unsigned long long)h->reftable_off);
	if (!qcow2_range_ok(h->reftable_off, rt_bytes, d->file_size))
		return disk__err(d, -EINVAL, "refcount table offset 0x%llx beyond end of file",
				 (unsigned long long)h->reftable_off);
	/* Both tables are rewritten in place: never over the header or each other (QEMU's overlap rule). */
	if (h->l1_off < q->cs && h->l1_size)
		return disk__err(d, -EINVAL, "L1 table offset 0x%llx overlaps the header",
				 (unsigned long long)h->l1_off);
	if (h->reftable_off < q->cs)
		return disk__err(d, -EINVAL, "refcount table offset 0x%llx overlaps the header",
				 (unsigned long long)h->reftable_off);
	if (h->l1_size && h->l1_off < h->reftable_off + rt_bytes &&
	    h->reftable_off < h->l1_off + (uint64_t)h->l1_size * 8)
		return disk__err(d, -EINVAL, "L1 table at 0x%llx overlaps the refcount table at 0x%llx",
				 (unsigned long long)h->l1_off, (unsigned long long)h->reftable_off);
	q->l1_size = h->l1_size;
	q->l1_off = h->l1_off;
	q->reftable_off = h->reftable_off;
	q->reftable_entries = rt_bytes / 8;
	rc = load_table(d, "L1 table", q->l1_off, q->l1_size, QCOW2_L1_RESERVED, &q->l1);
	if (rc < 0)
		return rc;
	rc = load_table(d, "refcount table", q->reftable_off, q->reftable_entries, ~QCOW2_OFFSET_MASK,
			&q->reftable);
	return rc < 0 ? rc : qcow2_meta_init(d);
}

/* Opens the backing file named in the header, with the format the image gives, if any. */
static int open_backing(struct disk *d, const uint8_t *b, size_t n, const struct hdr *h, const char *fmt)
{
	struct qcow2 *q = qcow2_of(d);
	char name[QCOW2_MAX_BACKING_NAME + 1];

	if (!h->backing_off) {
		if (d->xml_backing)
			return disk__err(d, -EINVAL, "the domain XML names backing file '%s' but the image "
					 "has none", d->xml_backing);
		return 0;
	}
	if (h->backing_len == 0 || h->backing_len > QCOW2_MAX_BACKING_NAME ||
	    !qcow2_range_ok(h->backing_off, h->backing_len, n))
		return disk__err(d, -EINVAL, "backing file name (offset 0x%llx, %u bytes) invalid",
				 (unsigned long long)h->backing_off, h->backing_len);
	memcpy(name, b + h->backing_off, h->backing_len);
	name[h->backing_len] = '\0';
	if (strlen(name) != h->backing_len)
		return disk__err(d, -EINVAL, "backing file name contains a NUL byte");
	return disk__open_backing(d, name, fmt[0] ? fmt : NULL, &q->backing);
}

/* Per-disk cache sizes: bounded in bytes whatever the cluster size. */
static unsigned slots_for(uint64_t budget, uint64_t cs, unsigned lo, unsigned hi)
{
	uint64_t n = budget / cs;

	return n < lo ? lo : n > hi ? hi : (unsigned)n;
}

static void qcow2_close(struct disk *d)
{
	struct qcow2 *q = qcow2_of(d);

	if (!q)
		return;
	if (q->backing)
		disk_close(q->backing);
	qcow2_cache_free(&q->l2c);
	qcow2_cache_free(&q->rbc);
	qcow2_meta_free(q);
	free(q->l1);
	free(q->reftable);
	free(q->cbuf);
	free(q->zbuf);
	free(q->dbuf);
	if (q->zs_ready)
		inflateEnd(&q->zs);
	ZSTD_freeDCtx(q->zd);
	free(q);
	d->priv = NULL;
}

static int qcow2_open(struct disk *d)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	uint8_t *b = NULL;
	char fmt[16] = "";
	struct hdr h = { 0 };
	size_t n;
	int rc;

	if (!q)
		return disk__err(d, -ENOMEM, "out of memory");
	d->priv = q;
	b = malloc(1u << QCOW2_MAX_CLUSTER_BITS);
	if (!b) {
		rc = disk__err(d, -ENOMEM, "out of memory");
		goto out;
	}
	n = d->file_size < QCOW2_V3_HEADER_LEN ? (size_t)d->file_size : QCOW2_V3_HEADER_LEN;
	rc = iov__pread_full(d->fd, 0, b, n);
	if (rc < 0) {
		rc = disk__err(d, rc, "reading the header: %s", strerror(-rc));
		goto out;
	}
	rc = parse_header(d, b, n, &h);
	if (rc < 0)
		goto out;
	rc = check_features(d, &h);
	if (rc < 0)
		goto out;
	q->version = h.version;
	q->cluster_bits = h.cluster_bits;
	q->cs = 1ull << h.cluster_bits;
	q->extl2 = h.incompat & QCOW2_INCOMPAT_EXTL2;
	q->l2_bits = h.cluster_bits - (q->extl2 ? 4 : 3);	/* 16-byte entries: the entry and its bitmap */
	q->sc_bits = h.cluster_bits - 5;
	q->refcount_order = h.refcount_order;
	q->rb_bits = h.cluster_bits + 3 - h.refcount_order;
	q->refcount_max = h.refcount_order == 6 ? UINT64_MAX : (1ull << (1u << h.refcount_order)) - 1;
	q->header_len = h.header_len;
	q->autoclear = h.autoclear;
	q->incompat = h.incompat;
	q->nb_snapshots = h.nb_snapshots;
	q->file_end = d->file_size;
	q->next_alloc = (d->file_size + q->cs - 1) & ~(q->cs - 1);
	/* The whole first cluster holds the extensions and the backing file name. */
	n = d->file_size < q->cs ? (size_t)d->file_size : (size_t)q->cs;
	rc = iov__pread_full(d->fd, 0, b, n);
	if (rc < 0) {
		rc = disk__err(d, rc, "reading the header: %s", strerror(-rc));
		goto out;
	}
	rc = parse_additional(d, b, n, &h);
	if (rc < 0)
		goto out;
	q->compression = h.compression;
	rc = parse_extensions(d, b, n, &h, fmt, sizeof(fmt));
	if (rc < 0)
		goto out;
	rc = setup_tables(d, &h);
	if (rc < 0)
		goto out;
	d->size = h.size;
	/* Subclusters can be zeroed one by one; plain clusters only whole. */
	d->discard_gran = (uint32_t)(q->extl2 ? 1ull << q->sc_bits : q->cs);
	rc = -ENOMEM;
	q->cbuf = malloc(q->cs);
	q->dbuf = malloc(q->cs);
	q->zbuf = malloc(2 * q->cs);
	if (!q->cbuf || !q->dbuf || !q->zbuf ||
	    qcow2_cache_init(&q->l2c, slots_for(4u << 20, q->cs, 4, 64), q->cs, true) < 0 ||
	    qcow2_cache_init(&q->rbc, slots_for(1u << 20, q->cs, 2, 16), q->cs, false) < 0) {
		rc = disk__err(d, -ENOMEM, "out of memory for the table caches");
		goto out;
	}
	rc = open_backing(d, b, n, &h, fmt);
	if (rc < 0)
		goto out;
	/* Bits we do not maintain (e.g. persistent bitmaps) must not claim to be valid after our writes. */
	if (!d->readonly && q->autoclear) {
		uint64_t zero = 0;

		rc = iov__pwrite_full(d->fd, 88, &zero, 8);
		if (rc == 0 && fdatasync(d->fd) < 0)
			rc = -errno;
		if (rc < 0) {
			rc = disk__err(d, rc, "clearing the autoclear features: %s", strerror(-rc));
			goto out;
		}
		q->autoclear = 0;
	}
	rc = 0;
out:
	free(b);
	if (rc < 0)
		qcow2_close(d);
	return rc;
}

const struct disk_ops disk_qcow2_ops = {
	.name = "qcow2",
	.flags = DISK_OPS_SERIAL,
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.readv = qcow2_readv,
	.writev = qcow2_writev,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
};
