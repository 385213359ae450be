/* libkxdisk raw format: the file's bytes are the disk; discard punches holes. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include "disk_int.h"

static int raw_open(struct disk *d)
{
	d->size = d->file_size;
	return 0;
}

static void raw_close(struct disk *d)
{
}

static int raw_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	int rc = iov__preadv_full(d->fd, off, iov, iovcnt);

	return rc < 0 ? disk__err(d, rc, "read at %llu: %s", (unsigned long long)off, strerror(-rc)) : 0;
}

static int raw_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	int rc = iov__pwritev_full(d->fd, off, iov, iovcnt);

	return rc < 0 ? disk__err(d, rc, "write at %llu: %s", (unsigned long long)off, strerror(-rc)) : 0;
}

static int raw_flush(struct disk *d)
{
	if (fdatasync(d->fd) < 0)
		return disk__err(d, -errno, "fdatasync: %s", strerror(errno));
	return 0;
}

/*
 * A hole reads as zeros and keeps the size. Filesystems without hole
 * punching (EOPNOTSUPP) get the discard ignored, which the protocol allows.
 */
static int raw_discard(struct disk *d, uint64_t off, uint64_t len)
{
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0) {
		if (errno == EOPNOTSUPP)
			return 0;
		return disk__err(d, -errno, "discard at %llu: %s", (unsigned long long)off, strerror(errno));
	}
	return 0;
}

const struct disk_ops disk_raw_ops = {
	.name = "raw",
	.flags = 0,
	.probe = NULL,
	.open = raw_open,
	.close = raw_close,
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
};
