/* libkxdisk image creation: sparse raw files and empty qcow2 v3 images. */
#include <config.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qcow2.h"

#define CREATE_CLUSTER_BITS 16u

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/*
 * The metadata of an empty image, cluster by cluster: header, refcount
 * table, one refcount block, then the L1 table. *len is its byte length.
 */
static uint8_t *qcow2_layout(uint64_t size, size_t *len)
{
	uint64_t cs = 1ull << CREATE_CLUSTER_BITS, l2_cover = cs * (cs / 8);
	uint64_t l1_size = (size + l2_cover - 1) / l2_cover;
	uint64_t l1_clusters = (l1_size * 8 + cs - 1) / cs, n = 3 + (l1_clusters ? l1_clusters : 1);
	uint8_t *b;

	if (l1_size * 8 > QCOW2_MAX_L1_BYTES || n > cs / 2)
		return NULL;
	b = calloc(n, cs);
	if (!b)
		return NULL;
	put32(b, QCOW2_MAGIC);
	put32(b + 4, 3);
	put32(b + 20, CREATE_CLUSTER_BITS);
	put64(b + 24, size);
	put32(b + 36, (uint32_t)l1_size);
	put64(b + 40, 3 * cs);
	put64(b + 48, cs);
	put32(b + 56, 1);
	put32(b + 96, 4);
	put32(b + 100, QCOW2_V3_HEADER_LEN);
	put64(b + cs, 2 * cs);
	for (uint64_t c = 0; c < n; c++)
		b[2 * cs + 2 * c + 1] = 1;	/* 16-bit big-endian refcount 1 */
	*len = (size_t)(n * cs);
	return b;
}

int disk_create(const char *path, const char *format, uint64_t size, char *err, size_t errlen)
{
	uint8_t *meta = NULL;
	size_t len = 0;
	int fd, rc = 0;

	if (!format || (strcmp(format, "raw") && strcmp(format, "qcow2"))) {
		snprintf(err, errlen, "%s: cannot create format '%s' (raw or qcow2)", path,
			 format ? format : "(none)");
		return -EINVAL;
	}
	if (!strcmp(format, "qcow2") && !(meta = qcow2_layout(size, &len))) {
		snprintf(err, errlen, "%s: virtual size %llu too large for a qcow2 image", path,
			 (unsigned long long)size);
		return -EFBIG;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		goto out;
	}
	if (meta)
		rc = iov__pwrite_full(fd, 0, meta, len);
	else if (ftruncate(fd, (off_t)size) < 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-rc));
		unlink(path);
	}
	close(fd);
out:
	free(meta);
	return rc;
}
