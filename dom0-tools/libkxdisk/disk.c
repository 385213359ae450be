/* libkxdisk front end: the format table, opening (with backing files), range checks and locking around the ops. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>
#include "disk_int.h"

/* Probe order matters: raw accepts anything, so it comes last. */
static const struct disk_ops *const formats[] = {
	&disk_qcow2_ops,
	&disk_raw_ops,
};

int disk__err(struct disk *d, int rc, const char *fmt, ...)
{
	int n = snprintf(d->err, sizeof(d->err), "%s: ", d->path);
	va_list ap;

	if (n < 0 || (size_t)n >= sizeof(d->err))
		return rc;
	va_start(ap, fmt);
	vsnprintf(d->err + n, sizeof(d->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

static const struct disk_ops *format_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i]->name, name) == 0)
			return formats[i];
	return NULL;
}

/* The format whose probe accepts fd's header (raw if none). */
static const struct disk_ops *format_probe(int fd)
{
	uint8_t hdr[DISK_PROBE_LEN];
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);

	for (size_t i = 0; n > 0 && i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i]->probe && formats[i]->probe(hdr, (size_t)n))
			return formats[i];
	return &disk_raw_ops;
}

/*
 * Opens path with the given ops (NULL: probe) at the given depth; fd >= 0 is
 * path already opened (and is taken over). backing/backing_fmt are what the
 * domain XML names as the image's backing file (NULL: the image's own).
 * Errors go to err; on success *out is set.
 */
static int open_at(struct disk **out, const char *path, const struct disk_ops *ops, unsigned flags,
		   unsigned depth, int fd, const char *backing, const char *backing_fmt,
		   char *err, size_t errlen)
{
	struct disk *d = calloc(1, sizeof(*d));
	struct stat st;
	int rc;

	if (!d) {
		snprintf(err, errlen, "%s: out of memory", path);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	d->depth = depth;
	d->readonly = flags & DISK_RDONLY;
	d->xml_backing = backing;
	d->xml_backing_fmt = backing_fmt;
	pthread_mutex_init(&d->lock, NULL);
	d->path = strdup(path);
	if (!d->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	if (d->fd < 0)
		d->fd = open(path, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0) {
		rc = disk__err(d, -errno, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(d->fd, &st) < 0) {
		rc = disk__err(d, -errno, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = disk__err(d, -EINVAL, "not a regular file or block device");
		goto out;
	}
	d->file_size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(d->fd, 0, SEEK_END);

		if (end < 0) {
			rc = disk__err(d, -errno, "cannot find the device's size: %s", strerror(errno));
			goto out;
		}
		d->file_size = (uint64_t)end;
	}
	d->ops = ops ? ops : format_probe(d->fd);
	rc = d->ops->open(d);
	d->xml_backing = d->xml_backing_fmt = NULL;
	if (rc < 0) {
		d->ops = NULL;
		goto out;
	}
	*out = d;
	return 0;
out:
	snprintf(err, errlen, "%s", d->err);
	if (d->fd >= 0)
		close(d->fd);
	pthread_mutex_destroy(&d->lock);
	free(d->path);
	free(d);
	return rc;
}

int disk_open_backed(struct disk **out, const char *path, const char *format, unsigned flags,
		     const char *backing, const char *backing_format, char *err, size_t errlen)
{
	const struct disk_ops *ops;

	if (!format) {
		snprintf(err, errlen, "%s: no disk format given (raw or qcow2)", path);
		return -EINVAL;
	}
	ops = format_by_name(format);
	if (!ops) {
		snprintf(err, errlen, "%s: unknown disk format '%s' (raw or qcow2)", path, format);
		return -EINVAL;
	}
	if (backing && ops == &disk_raw_ops) {
		snprintf(err, errlen, "%s: a raw image has no backing file (backing store '%s' given)", path,
			 backing);
		return -EINVAL;
	}
	return open_at(out, path, ops, flags, 0, -1, backing, backing_format, err, errlen);
}

int disk_open(struct disk **out, const char *path, const char *format,
	      unsigned flags, char *err, size_t errlen)
{
	return disk_open_backed(out, path, format, flags, NULL, NULL, err, errlen);
}

/*
 * Opens the backing file an image names, read-only: relative to the image's
 * directory and beneath it (no absolute name, no "..", no symbolic link), a
 * regular file (a FIFO must not hang us, a device must not be shown to the
 * guest). The file descriptor or -errno with d's error set.
 */
static int open_confined(struct disk *d, const char *name)
{
	static const char hint[] = " (a domain XML's <backingStore> can name any file)";
	char *copy = strdup(d->path);
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct stat st;
	const char *dir;
	int dfd = -1, fd = -1, rc;

	if (!copy)
		return disk__err(d, -ENOMEM, "out of memory");
	dir = dirname(copy);
	if (name[0] == '/') {
		rc = disk__err(d, -EPERM, "backing file '%s' is an absolute path: only names relative to "
			       "the image's directory are followed%s", name, hint);
		goto out;
	}
	for (const char *p = name; *p; p += strcspn(p, "/"), p += *p == '/')
		if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2])) {
			rc = disk__err(d, -EPERM, "backing file '%s' contains '..': only files beneath the "
				       "image's directory are followed%s", name, hint);
			goto out;
		}
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = disk__err(d, -errno, "the image's directory: %s", strerror(errno));
		goto out;
	}
	fd = (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)	/* before Linux 5.6: the last component at least */
		fd = openat(dfd, name, (int)how.flags);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP || rc == -EXDEV)
			disk__err(d, -EPERM, "backing file '%s' is or passes through a symbolic link%s",
				  name, hint);
		else
			disk__err(d, rc, "backing file: %s/%s: cannot open: %s", dir, name,
				  strerror(-rc));
		rc = rc == -ELOOP || rc == -EXDEV ? -EPERM : rc;
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = disk__err(d, -EPERM, "backing file '%s' is not a regular file%s", name, hint);
		goto out;
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		rc = disk__err(d, -errno, "backing file '%s': fcntl: %s", name, strerror(errno));
		goto out;
	}
	rc = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(copy);
	return rc;
}

int disk__open_backing(struct disk *d, const char *name, const char *format,
		       struct disk **out)
{
	const struct disk_ops *ops = NULL;
	char *dir = NULL, *full = NULL, *copy = NULL;
	char err[DISK_ERR_LEN];
	int rc, fd = -1;

	if (d->depth + 1 > DISK_MAX_BACKING)
		return disk__err(d, -ELOOP, "backing chain deeper than %d files (at '%s')",
				 DISK_MAX_BACKING, name);
	/* The domain XML's choice stands over the header's, as libvirt's <backingStore>. */
	if (d->xml_backing) {
		name = d->xml_backing;
		format = d->xml_backing_fmt ? d->xml_backing_fmt : format;
	}
	if (format && !(ops = format_by_name(format)))
		return disk__err(d, -ENOTSUP, "backing file '%s' has unsupported format '%s'",
				 name, format);
	if (d->xml_backing) {
		full = strdup(name);
	} else {
		fd = open_confined(d, name);
		if (fd < 0)
			return fd;
		copy = strdup(d->path);
		if (copy) {
			dir = dirname(copy);
			if (asprintf(&full, "%s/%s", dir, name) < 0)
				full = NULL;
		}
	}
	if (!full) {
		if (fd >= 0)
			close(fd);
		rc = disk__err(d, -ENOMEM, "out of memory");
		goto out;
	}
	rc = open_at(out, full, ops, DISK_RDONLY, d->depth + 1, fd, NULL, NULL, err, sizeof(err));
	if (rc < 0)
		disk__err(d, rc, "backing file: %s", err);
out:
	free(copy);
	free(full);
	return rc;
}

int disk__read_backing(struct disk *b, uint64_t off, const struct iovec *iov, int iovcnt)
{
	size_t len = iov__len(iov, iovcnt), in = 0;
	struct iovec *part;
	int n, rc;

	if (off < b->size)
		in = b->size - off < len ? (size_t)(b->size - off) : len;
	if (in < len)
		iov__memset(iov, iovcnt, in, 0, len - in);
	if (!in)
		return 0;
	part = calloc((size_t)iovcnt, sizeof(*part));
	if (!part)
		return -ENOMEM;
	n = iov__slice(iov, iovcnt, 0, in, part, iovcnt);
	rc = n < 0 ? n : disk_readv(b, off, part, n);
	free(part);
	return rc;
}

int disk_close(struct disk *d)
{
	int rc = 0;

	if (!d)
		return 0;
	if (!d->readonly)
		rc = disk_flush(d);
	d->ops->close(d);
	close(d->fd);
	pthread_mutex_destroy(&d->lock);
	free(d->path);
	free(d);
	return rc;
}

uint64_t disk_size(const struct disk *d)
{
	return d->size;
}

bool disk_readonly(const struct disk *d)
{
	return d->readonly;
}

const char *disk_format(const struct disk *d)
{
	return d->ops->name;
}

uint32_t disk_discard_granularity(const struct disk *d)
{
	return d->discard_gran;
}

const char *disk_last_error(struct disk *d)
{
	return d->err;
}

static void lock(struct disk *d)
{
	if (d->ops->flags & DISK_OPS_SERIAL)
		pthread_mutex_lock(&d->lock);
}

static void unlock(struct disk *d)
{
	if (d->ops->flags & DISK_OPS_SERIAL)
		pthread_mutex_unlock(&d->lock);
}

/* 0 if [off, off+len) lies inside d, else -EINVAL with the reason recorded. */
static int check_range(struct disk *d, uint64_t off, uint64_t len, const char *what)
{
	if (off > d->size || len > d->size - off)
		return disk__err(d, -EINVAL, "%s of %llu bytes at %llu is beyond the disk's %llu bytes",
				 what, (unsigned long long)len, (unsigned long long)off,
				 (unsigned long long)d->size);
	return 0;
}

int disk_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	size_t len = iov__len(iov, iovcnt);
	int rc = check_range(d, off, len, "read");

	if (rc < 0 || len == 0)
		return rc;
	lock(d);
	rc = d->ops->readv(d, off, iov, iovcnt);
	unlock(d);
	return rc;
}

int disk_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	size_t len = iov__len(iov, iovcnt);
	int rc;

	if (d->readonly)
		return disk__err(d, -EROFS, "write refused: the disk is read-only");
	rc = check_range(d, off, len, "write");
	if (rc < 0 || len == 0)
		return rc;
	lock(d);
	rc = d->ops->writev(d, off, iov, iovcnt);
	unlock(d);
	return rc;
}

int disk_read(struct disk *d, uint64_t off, void *buf, size_t len)
{
	struct iovec v = { buf, len };

	return disk_readv(d, off, &v, 1);
}

int disk_write(struct disk *d, uint64_t off, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return disk_writev(d, off, &v, 1);
}

int disk_flush(struct disk *d)
{
	int rc;

	if (d->readonly)
		return 0;
	lock(d);
	rc = d->ops->flush(d);
	unlock(d);
	return rc;
}

int disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	int rc;

	if (d->readonly)
		return disk__err(d, -EROFS, "discard refused: the disk is read-only");
	rc = check_range(d, off, len, "discard");
	if (rc < 0 || len == 0)
		return rc;
	lock(d);
	rc = d->ops->discard(d, off, len);
	unlock(d);
	return rc;
}
