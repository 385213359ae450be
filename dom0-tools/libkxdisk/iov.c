/* libkxdisk iovec helpers: slicing, filling, and full-length preadv/pwritev with retries. */
#include <config.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "disk_int.h"

/* iovec entries handed to one preadv/pwritev; stays well under IOV_MAX. */
#define IOV_BATCH 64

size_t iov__len(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int iov__slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
	       struct iovec *out, int max)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		if (n == max)
			return -EINVAL;
		l -= skip;
		if (l > len)
			l = len;
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = l;
		n++;
		len -= l;
		skip = 0;
	}
	return len ? -EINVAL : n;
}

/* Calls fn on each piece of [skip, skip+len) of iov, with the matching offset into the flat range. */
static void iov_walk(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
		     void (*fn)(void *piece, size_t off, size_t l, void *arg), void *arg)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		fn((char *)iov[i].iov_base + skip, done, l, arg);
		done += l;
		skip = 0;
	}
}

static void do_memset(void *piece, size_t off, size_t l, void *arg)
{
	memset(piece, *(int *)arg, l);
}

static void do_from(void *piece, size_t off, size_t l, void *arg)
{
	memcpy(piece, (const char *)arg + off, l);
}

static void do_to(void *piece, size_t off, size_t l, void *arg)
{
	memcpy((char *)arg + off, piece, l);
}

void iov__memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len)
{
	iov_walk(iov, iovcnt, skip, len, do_memset, &c);
}

void iov__from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf, size_t len)
{
	iov_walk(iov, iovcnt, skip, len, do_from, (void *)buf);
}

void iov__to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len)
{
	iov_walk(iov, iovcnt, skip, len, do_to, buf);
}

/* Fills out[] with up to max pieces of iov from byte skip to its end; returns the number used. */
static int iov_take(const struct iovec *iov, int iovcnt, size_t skip, struct iovec *out, int max)
{
	int n = 0;

	for (int i = 0; i < iovcnt && n < max; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = iov[i].iov_len - skip;
		n++;
		skip = 0;
	}
	return n;
}

/* The shared loop of the two full-length transfers; a short transfer resumes where it stopped. */
static int xfer_full(int fd, uint64_t off, const struct iovec *iov, int iovcnt, bool write)
{
	struct iovec cur[IOV_BATCH];
	size_t total = iov__len(iov, iovcnt), done = 0;

	while (done < total) {
		int n = iov_take(iov, iovcnt, done, cur, IOV_BATCH);
		ssize_t r = write ? pwritev(fd, cur, n, (off_t)(off + done))
				  : preadv(fd, cur, n, (off_t)(off + done));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			if (write)
				return -EIO;
			/* End of file: the rest reads as zeros. */
			iov__memset(iov, iovcnt, done, 0, total - done);
			return 0;
		}
		done += (size_t)r;
	}
	return 0;
}

int iov__preadv_full(int fd, uint64_t off, const struct iovec *iov, int iovcnt)
{
	return xfer_full(fd, off, iov, iovcnt, false);
}

int iov__pwritev_full(int fd, uint64_t off, const struct iovec *iov, int iovcnt)
{
	return xfer_full(fd, off, iov, iovcnt, true);
}

int iov__pread_full(int fd, uint64_t off, void *buf, size_t len)
{
	struct iovec v = { buf, len };

	return xfer_full(fd, off, &v, 1, false);
}

int iov__pwrite_full(int fd, uint64_t off, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return xfer_full(fd, off, &v, 1, true);
}
