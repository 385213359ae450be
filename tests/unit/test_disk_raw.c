/* CUnit suite for libkxdisk's front end and raw format: open errors, ranges, iovecs, read-only, discard, fuzz. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_disk_util.h"

#define RAW_SIZE (4u << 20)

static const char *make_raw(const char *name, uint64_t size)
{
	const char *p = td_path(name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return p;
}

static void test_open_errors(void)
{
	const char *p = make_raw("e.raw", 4096);
	const char *missing = td_path("missing.raw");
	struct disk *d = NULL;
	char err[512];

	td_expect_open_error(missing, "raw", 0, -ENOENT, "cannot open: No such file or directory");
	td_expect_open_error(p, "vmdk", 0, -EINVAL, "unknown disk format 'vmdk' (raw or qcow2)");
	CU_ASSERT_EQUAL(disk_open(&d, p, NULL, 0, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no disk format given"));
	mkdir(td_path("dir"), 0755);
	td_expect_open_error(td_path("dir"), "raw", DISK_RDONLY, -EINVAL, "not a regular file or block device");
	/* A raw file is never taken for qcow2, nor the other way round silently. */
	td_expect_open_error(p, "qcow2", 0, -EINVAL, "not a qcow2 image (magic 0x00000000)");
}

static void test_rw_iovec(void)
{
	const char *p = make_raw("rw.raw", RAW_SIZE);
	struct disk *d = td_open(p, "raw", 0);
	char *a = malloc(3 * 4096), *b = calloc(3, 4096);
	struct iovec v[3] = { { b + 8192, 4096 }, { b, 100 }, { b + 100, 3996 } };

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_size(d), RAW_SIZE);
	CU_ASSERT_STRING_EQUAL(disk_format(d), "raw");
	td_pattern(a, 8192, 12288, 1);
	CU_ASSERT_EQUAL(disk_write(d, 12288, a, 8192), 0);
	/* Scattered segments, as the block backend passes grant-mapped pages. */
	CU_ASSERT_EQUAL(disk_readv(d, 12288, v, 3), 0);
	CU_ASSERT_EQUAL(memcmp(b + 8192, a, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(b, a + 4096, 4096), 0);
	CU_ASSERT_EQUAL(disk_flush(d), 0);
	/* The last byte is inside, one more is not. */
	CU_ASSERT_EQUAL(disk_write(d, RAW_SIZE - 1, a, 1), 0);
	CU_ASSERT_EQUAL(disk_write(d, RAW_SIZE - 1, a, 2), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "beyond the disk's 4194304 bytes"));
	CU_ASSERT_EQUAL(disk_read(d, UINT64_MAX - 10, b, 100), -EINVAL);
	CU_ASSERT_EQUAL(disk_read(d, 0, b, 0), 0);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	free(a);
	free(b);
}

static void test_readonly(void)
{
	const char *p = make_raw("ro.raw", RAW_SIZE);
	struct disk *d = td_open(p, "raw", DISK_RDONLY);
	char buf[512] = { 1 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_TRUE(disk_readonly(d));
	CU_ASSERT_EQUAL(disk_write(d, 0, buf, sizeof(buf)), -EROFS);
	CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "write refused: the disk is read-only"));
	CU_ASSERT_EQUAL(disk_discard(d, 0, 512), -EROFS);
	CU_ASSERT_EQUAL(disk_read(d, 0, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(buf[0], 0);
	CU_ASSERT_EQUAL(disk_flush(d), 0);
	disk_close(d);
}

static void test_discard(void)
{
	const char *p = make_raw("dis.raw", RAW_SIZE);
	struct disk *d = td_open(p, "raw", 0);
	char *a = malloc(65536), *z = calloc(1, 65536);
	struct stat st1, st2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	td_pattern(a, 65536, 0, 2);
	CU_ASSERT_EQUAL(disk_write(d, 0, a, 65536), 0);
	CU_ASSERT_EQUAL(disk_flush(d), 0);
	stat(p, &st1);
	CU_ASSERT_EQUAL(disk_discard(d, 0, 65536), 0);
	CU_ASSERT_EQUAL(disk_read(d, 0, a, 65536), 0);
	CU_ASSERT_EQUAL(memcmp(a, z, 65536), 0);
	stat(p, &st2);
	CU_ASSERT_TRUE(st2.st_blocks < st1.st_blocks);	/* the space went back */
	CU_ASSERT_EQUAL(st2.st_size, RAW_SIZE);
	CU_ASSERT_EQUAL(disk_discard(d, RAW_SIZE, 1), -EINVAL);
	disk_close(d);
	free(a);
	free(z);
}

/* Random writes and reads against an in-memory mirror, then a reopen. */
static void test_fuzz(void)
{
	const char *p = make_raw("fuzz.raw", RAW_SIZE);
	struct disk *d = td_open(p, "raw", 0);
	uint8_t *mirror = calloc(1, RAW_SIZE), *buf = malloc(256 << 10);
	unsigned seed = 42;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (int i = 0; i < 400; i++) {
		uint64_t off = (uint64_t)rand_r(&seed) % RAW_SIZE;
		size_t len = (size_t)rand_r(&seed) % (256 << 10);

		if (off + len > RAW_SIZE)
			len = RAW_SIZE - off;
		if (rand_r(&seed) & 1) {
			td_pattern(buf, len, off, (uint32_t)i);
			CU_ASSERT_EQUAL(disk_write(d, off, buf, len), 0);
			memcpy(mirror + off, buf, len);
		} else {
			CU_ASSERT_EQUAL(disk_read(d, off, buf, len), 0);
			CU_ASSERT_EQUAL(memcmp(buf, mirror + off, len), 0);
		}
	}
	CU_ASSERT_EQUAL(disk_close(d), 0);
	d = td_open(p, "raw", DISK_RDONLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (uint64_t off = 0; off < RAW_SIZE; off += 256 << 10) {
		CU_ASSERT_EQUAL(disk_read(d, off, buf, 256 << 10), 0);
		CU_ASSERT_EQUAL(memcmp(buf, mirror + off, 256 << 10), 0);
	}
	disk_close(d);
	free(mirror);
	free(buf);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "open errors", test_open_errors },
		{ "read/write with iovecs and range checks", test_rw_iovec },
		{ "read-only refuses writes", test_readonly },
		{ "discard punches a hole", test_discard },
		{ "random I/O against a mirror", test_fuzz },
	};

	return td_run_suite("disk_raw", tests, CUNIT_COUNT(tests));
}
