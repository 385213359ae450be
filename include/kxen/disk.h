/* libkxdisk: the disk-format library of the block backend (raw and qcow2 behind one ops table). */
#ifndef KXEN_DISK_H
#define KXEN_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct disk;

/* disk_open() flags. */
#define DISK_RDONLY 0x1u	/* refuse writes and discards with -EROFS */

/*
 * Opens the image at path in the given format ("raw" or "qcow2"; the domain
 * XML's driver type). The format is never guessed: a qcow2 file opened as
 * "raw" is served as raw bytes, as Xen's blkback would. Only backing files
 * named inside a qcow2 image are probed (or use the image's backing format).
 * On success *out is the disk and 0 is returned; on failure -errno and err
 * holds a message naming the file and the problem.
 */
int disk_open(struct disk **out, const char *path, const char *format,
	      unsigned flags, char *err, size_t errlen);

/*
 * As disk_open, for an image whose backing file the domain XML names
 * (libvirt's <backingStore>): backing (any path, opened read-only in
 * backing_format, or the image's own backing format if NULL) replaces the
 * backing file named in the image's header. Without it, a backing file
 * named in an image must lie beneath the image's directory (relative, no
 * "..", no symbolic link) and be a regular file.
 */
int disk_open_backed(struct disk **out, const char *path, const char *format, unsigned flags,
		     const char *backing, const char *backing_format, char *err, size_t errlen);

/*
 * Makes everything acknowledged so far durable (flush) and frees d. Returns
 * 0 or the -errno of that last flush (the disk is freed either way).
 */
int disk_close(struct disk *d);

/* Virtual size in bytes. */
uint64_t disk_size(const struct disk *d);
/* True if opened with DISK_RDONLY. */
bool disk_readonly(const struct disk *d);
/* The format's name ("raw", "qcow2"). */
const char *disk_format(const struct disk *d);

/*
 * Reads/writes the iovec's total length at byte offset off. The whole range
 * must lie inside the disk (-EINVAL otherwise, and an iovec total of 0 is a
 * no-op). Returns 0 when all of it was transferred, else -errno with
 * disk_last_error() describing the problem. Writes are not durable until
 * disk_flush() returns 0. Safe to call from several threads.
 */
int disk_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
int disk_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
/* Single-buffer forms of the above. */
int disk_read(struct disk *d, uint64_t off, void *buf, size_t len);
int disk_write(struct disk *d, uint64_t off, const void *buf, size_t len);

/* Makes every write that returned before it durable (fdatasync ordering). 0 or -errno. */
int disk_flush(struct disk *d);

/*
 * Tells the format the range is unused: raw punches a hole (reads then give
 * zeros); qcow2 deallocates whole clusters (see docs/disk-formats.md).
 * 0 or -errno (-EROFS on a read-only disk, -EINVAL outside the disk).
 */
int disk_discard(struct disk *d, uint64_t off, uint64_t len);

/*
 * The unit disk_discard deallocates in: a qcow2 image's cluster size (the
 * part of a discard that does not cover whole clusters is left as it was,
 * as QEMU does), 0 for raw (any range is punched). blkback advertises it
 * as discard-granularity.
 */
uint32_t disk_discard_granularity(const struct disk *d);

/* The message of the last failed operation on d ("" if none). */
const char *disk_last_error(struct disk *d);

/*
 * Creates a new, empty image of size bytes at path (which must not exist):
 * a sparse raw file, or a qcow2 v3 image with 64 KiB clusters and 16-bit
 * refcounts, as `qemu-img create -f qcow2` makes. 0 or -errno with err set.
 */
int disk_create(const char *path, const char *format, uint64_t size, char *err, size_t errlen);

#endif
