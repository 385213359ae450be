/* libkxdisk internals: the format ops table, the disk object and iovec helpers shared by the formats. */
#ifndef KXEN_DISK_INT_H
#define KXEN_DISK_INT_H

#include <pthread.h>
#include <stdarg.h>
#include "kxen/disk.h"

#define DISK_ERR_LEN       256
#define DISK_MAX_BACKING   8	/* backing chain depth, as a hostile chain must end */
#define DISK_PROBE_LEN     512	/* bytes of header a probe sees */

#define DISK_OPS_SERIAL 0x1u	/* calls are serialised by disk->lock */

/* One disk format: every function returns 0 or -errno unless said otherwise. */
struct disk_ops {
	const char *name;
	unsigned flags;		/* DISK_OPS_* */
	/* 1 if the first len bytes of a file are this format's header, else 0. */
	int (*probe)(const uint8_t *hdr, size_t len);
	/* Validates the opened d->fd and sets d->size and d->priv; error text in d->err. */
	int (*open)(struct disk *d);
	/* Frees d->priv (after the caller's final flush); must not fail. */
	void (*close)(struct disk *d);
	/* Transfer the whole range (already checked to lie inside the disk). */
	int (*readv)(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
	int (*writev)(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
	int (*flush)(struct disk *d);
	int (*discard)(struct disk *d, uint64_t off, uint64_t len);
};

struct disk {
	const struct disk_ops *ops;
	int fd;
	bool readonly;
	unsigned depth;		/* 0 for the top image, n for the n-th backing file */
	uint64_t size;
	uint64_t file_size;	/* at open; formats keep their own view afterwards */
	uint32_t discard_gran;	/* set by the format's open; 0: byte-granular */
	char *path;
	/* During open only: the backing file the domain XML names, replacing the image's (NULL: none). */
	const char *xml_backing, *xml_backing_fmt;
	void *priv;
	pthread_mutex_t lock;	/* serialises the format's metadata; raw skips it */
	char err[DISK_ERR_LEN];
};

extern const struct disk_ops disk_raw_ops;
extern const struct disk_ops disk_qcow2_ops;

/*
 * Records "PATH: message" as d's last error and returns rc (a -errno), so
 * that `return disk__err(d, -EINVAL, "...")` both reports and fails.
 */
int disk__err(struct disk *d, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Opens a backing file read-only for d at depth d->depth + 1. format is the
 * image's backing format or NULL to probe the file's header. name must be
 * relative to the directory of d->path and stay beneath it (no "..", no
 * symbolic link) and be a regular file, unless the domain XML named the
 * backing file (d->xml_backing), which is then opened instead of name.
 */
int disk__open_backing(struct disk *d, const char *name, const char *format,
		       struct disk **out);

/*
 * Reads len bytes at off of a backing disk into the iovec, giving zeros for
 * the part past its end (a backing file may be smaller than its overlay).
 */
int disk__read_backing(struct disk *b, uint64_t off, const struct iovec *iov, int iovcnt);

/* Total byte length of an iovec. */
size_t iov__len(const struct iovec *iov, int iovcnt);

/*
 * Fills out[] (room for max entries) with the part [skip, skip+len) of iov;
 * returns the number of entries used, or -EINVAL if the range is outside iov
 * or does not fit in max entries.
 */
int iov__slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
	       struct iovec *out, int max);

/* Zero-fills [skip, skip+len) of iov (clipped to the iovec). */
void iov__memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len);
/* Copies len bytes from buf into iov at skip / from iov at skip into buf (clipped). */
void iov__from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf, size_t len);
void iov__to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len);

/*
 * preadv/pwritev of the whole iovec at off, retrying short transfers (the
 * kernel may return fewer bytes) and batching at IOV_MAX. A read past end of
 * file gives zeros. 0 or -errno (-EIO for a write that makes no progress).
 */
int iov__preadv_full(int fd, uint64_t off, const struct iovec *iov, int iovcnt);
int iov__pwritev_full(int fd, uint64_t off, const struct iovec *iov, int iovcnt);
int iov__pread_full(int fd, uint64_t off, void *buf, size_t len);
int iov__pwrite_full(int fd, uint64_t off, const void *buf, size_t len);

#endif
