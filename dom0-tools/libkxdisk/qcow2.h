/* libkxdisk qcow2 internals: on-disk constants, the open image's state and the functions its files share. */
#ifndef KXEN_QCOW2_H
#define KXEN_QCOW2_H

#include <endian.h>
#include <zlib.h>
#include <zstd.h>
#include "disk_int.h"

/* On-disk layout, from QEMU's docs/interop/qcow2.txt. */
#define QCOW2_MAGIC            0x514649fbu	/* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN    72u
#define QCOW2_V3_HEADER_LEN    104u
#define QCOW2_MIN_CLUSTER_BITS 9u
#define QCOW2_MAX_CLUSTER_BITS 21u
#define QCOW2_MAX_BACKING_NAME 1023u
/* QEMU's own limits, so that a header cannot make us allocate more. */
#define QCOW2_MAX_L1_BYTES     (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)

#define QCOW2_INCOMPAT_DIRTY     (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT   (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2     (1ull << 4)
/* QEMU makes extended L2 entries only with clusters of 16 KiB or more (512-byte subclusters). */
#define QCOW2_EXTL2_MIN_BITS 14

#define QCOW2_EXT_END          0x00000000u
#define QCOW2_EXT_BACKING_FMT  0xe2792acau
#define QCOW2_EXT_DATA_FILE    0x44415441u
#define QCOW2_EXT_CRYPTO       0x0537be77u

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
/* The header's compression_type byte. */
#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull	/* bits 9-55 */
#define QCOW2_L1_RESERVED      0x7f000000000001ffull
#define QCOW2_L2_RESERVED      0x3f000000000001feull	/* bit 0 is the v3 zero flag */

/* One cached cluster-sized table (an L2 table or a refcount block). */
struct qcow2_slot {
	uint64_t off;		/* host offset; 0 = free slot */
	uint8_t *buf;
	bool dirty;
	uint64_t used;		/* LRU clock */
};

struct qcow2_cache {
	struct qcow2_slot *s;
	unsigned n;
	uint64_t tick;
	bool is_l2;		/* evicting a dirty L2 table needs the refcounts durable first */
};

/* A cluster range whose refcounts drop once the L2 tables that stopped using it are durable. */
struct qcow2_free {
	uint64_t off;
	uint64_t n;		/* clusters */
};

#define QCOW2_MAX_FREES 64
/* Clusters counted ahead at most, and bytes: few enough that a small image's refcount table is not run through by flushes that leave them unused. */
#define QCOW2_RESERVE_AHEAD 64u
#define QCOW2_RESERVE_AHEAD_BYTES (4u << 20)

/* Sorted host offsets of one kind of cluster-sized table (L2 tables, refcount blocks). */
struct qcow2_offs {
	uint64_t *v;
	uint64_t n, cap;
};

/* Kinds of metadata, for qcow2_overlap (QEMU's QCOW2_OL_* of what we keep). */
#define QCOW2_OL_HEADER   0x1u
#define QCOW2_OL_L1       0x2u
#define QCOW2_OL_REFTABLE 0x4u
#define QCOW2_OL_REFBLOCK 0x8u
#define QCOW2_OL_L2       0x10u

struct qcow2 {
	unsigned version;
	unsigned cluster_bits;
	uint64_t cs;			/* cluster size */
	unsigned l2_bits;		/* log2 of entries per L2 table */
	unsigned refcount_order;	/* refcount width is 1 << order bits */
	unsigned rb_bits;		/* log2 of entries per refcount block */
	uint64_t refcount_max;
	uint32_t header_len;
	uint64_t autoclear;
	uint64_t incompat;
	uint32_t nb_snapshots;
	bool corrupt;			/* a metadata overlap was found: every later write fails */
	struct qcow2_offs l2_offs, rb_offs;	/* where the L2 tables and refcount blocks are */

	uint64_t *l1;			/* host endian */
	uint32_t l1_size;
	uint64_t l1_off;
	uint32_t l1_dirty_lo, l1_dirty_hi;	/* [lo, hi) entries to write back */

	uint64_t *reftable;		/* host endian */
	uint64_t reftable_entries;
	uint64_t reftable_off;
	bool reftable_dirty;

	uint64_t file_end;		/* bytes in the file as far as we know */
	uint64_t next_alloc;		/* clusters are allocated only here, growing the file */
	/* [res_next, res_end): counted ahead (durably) and not handed out yet; both 0 until the first allocation. */
	uint64_t res_next, res_end;

	struct qcow2_cache l2c, rbc;
	struct disk *backing;

	uint8_t *cbuf;			/* one cluster: copy-on-write assembly */
	uint8_t *zbuf;			/* compressed input, up to two clusters */
	uint8_t *dbuf;			/* one decompressed cluster, kept for sequential reads */
	uint64_t dbuf_entry;		/* the L2 entry dbuf holds, 0 if none */
	uint8_t compression;		/* QCOW2_COMPRESSION_* from the header */
	bool extl2;			/* extended L2 entries: 32 subclusters per cluster */
	unsigned sc_bits;		/* log2 of a subcluster's size (extl2) */
	z_stream zs;
	bool zs_ready;
	ZSTD_DCtx *zd;			/* zstd decoder, made on first use */

	struct qcow2_free frees[QCOW2_MAX_FREES];
	unsigned nfrees;
};

static inline struct qcow2 *qcow2_of(struct disk *d)
{
	return d->priv;
}

/* True if [off, off+len) fits inside [0, end) without overflow. */
static inline bool qcow2_range_ok(uint64_t off, uint64_t len, uint64_t end)
{
	return off <= end && len <= end - off;
}

/* qcow2_cache.c */

/* Sets up an empty cache of n cluster-sized slots; 0 or -ENOMEM. */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cs, bool is_l2);
/* Frees the slots (dirty contents are lost: flush first). */
void qcow2_cache_free(struct qcow2_cache *c);
/*
 * The slot caching the table at host offset off, loading it from the file
 * (or zero-filling it if fresh, for a table just allocated, marked dirty).
 * May evict the least recently used slot, writing it back first; so a slot
 * pointer of the same cache is valid only until the next call. 0 or -errno.
 */
int qcow2_cache_get(struct disk *d, struct qcow2_cache *c, uint64_t off, bool fresh,
		    struct qcow2_slot **out);
/* Writes back every dirty slot of c (no sync). 0 or -errno. */
int qcow2_cache_writeback(struct disk *d, struct qcow2_cache *c);

/* qcow2_refcount.c */

/* The refcount of the cluster at host offset off into *val. 0 or -errno. */
int qcow2_refcount_get(struct disk *d, uint64_t off, uint64_t *val);
/*
 * Allocates n contiguous new clusters at the end of the file with refcount
 * 1 (creating refcount blocks as needed); *off is the first. The counts are
 * taken up to QCOW2_RESERVE_AHEAD clusters ahead, so that qcow2_publish syncs them
 * once per reservation, not once per write; the next flush gives back what
 * was not used. 0 or -errno.
 */
int qcow2_alloc(struct disk *d, uint64_t n, uint64_t *off);
/*
 * Queues the refcount decrement of n clusters at off until the next flush
 * has made the L2 tables that dropped them durable (flushing now if the
 * queue is full). 0 or -errno.
 */
int qcow2_free_later(struct disk *d, uint64_t off, uint64_t n);
/*
 * Writes dirty refcount blocks and the refcount table and makes the file
 * as long as next_alloc (no sync): what must be on disk before any L2
 * entry that points at new clusters. 0 or -errno.
 */
int qcow2_refcount_writeback(struct disk *d);
/*
 * After a write or discard that changed tables: refcounts to the file and
 * synced (only if they changed), then dirty L2 tables and L1 entries to
 * the file (no sync). So what was acknowledged survives the death of the
 * process (kxen-backd's kill -9 and restart: the page cache keeps it), and
 * a power loss finds at worst leaked clusters; durability is still the
 * flush's. 0 or -errno.
 */
int qcow2_publish(struct disk *d);
/* The flush op: data and refcounts, sync, L2 tables, sync, L1, sync, then queued frees. */
int qcow2_flush(struct disk *d);

/* qcow2_meta.c */

/* Builds the L2-table and refcount-block maps from the loaded L1 and refcount tables. 0 or -errno. */
int qcow2_meta_init(struct disk *d);
void qcow2_meta_free(struct qcow2 *q);
/* Records a new table at off (an L2 table or a refcount block). 0 or -ENOMEM. */
int qcow2_meta_add(struct disk *d, struct qcow2_offs *o, uint64_t off);
/* The QCOW2_OL_* kinds of metadata that [off, off+len) overlaps, less those in ignore; 0 if none. */
unsigned qcow2_overlap(const struct qcow2 *q, uint64_t off, uint64_t len, unsigned ignore);
/* A phrase naming the first kind in bits ("the L1 table"). */
const char *qcow2_ol_name(unsigned bits);
/*
 * Reports a metadata overlap as QEMU does: marks the image corrupt (the
 * incompatible feature bit, v3, writable opens), refuses every later write
 * and discard, and returns -EIO with the message in the disk's last error.
 */
int qcow2_corrupt(struct disk *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* qcow2_io.c */
int qcow2_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
int qcow2_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
int qcow2_discard(struct disk *d, uint64_t off, uint64_t len);

#endif
