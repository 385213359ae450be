/* CUnit suite for qcow2's tables written before an acknowledgement: what a writer acknowledged is in the file without a flush (a killed backend loses nothing), and the file stays consistent. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_disk_util.h"

#define MIB (1ull << 20)

/*
 * Writes (fresh clusters, rewrites, a discard), never flushing or closing
 * the writer, as kxen-backd killed with -9 would leave it: a second open of
 * the file must read exactly what was acknowledged, and qemu-img check must
 * find no error (leaks allowed: counted-ahead clusters).
 */
static void check_unflushed(const char *name, unsigned cb, uint64_t size)
{
	struct td_qcow2 p = { .version = 3, .cluster_bits = cb, .size = size, .refcount_order = 4 };
	const char *path = td_path(name);
	uint64_t cs = 1ull << cb, len = 3 * cs + 1000;
	uint8_t *mirror = calloc(1, size), *buf = malloc(len), *got = malloc(size);
	unsigned seed = cb;
	struct disk *w, *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mirror);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(path, &p), 0);
	w = td_open(path, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	for (int i = 0; i < 400; i++) {
		uint64_t off = (uint64_t)rand_r(&seed) % (size - len), n = 1 + (uint64_t)rand_r(&seed) % len;

		if (i % 50 == 49) {
			uint64_t a = (off + cs - 1) & ~(cs - 1), b = (off + n) & ~(cs - 1);

			CU_ASSERT_EQUAL(disk_discard(w, off, n), 0);
			if (b > a)
				memset(mirror + a, 0, b - a);
			continue;
		}
		td_pattern(buf, n, off, (uint32_t)i);
		CU_ASSERT_EQUAL(disk_write(w, off, buf, n), 0);
		memcpy(mirror + off, buf, n);
	}
	/* The writer is still open and never flushed: only what it published is in the file. */
	r = td_open(path, "qcow2", DISK_RDONLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(disk_read(r, 0, got, size), 0);
	CU_ASSERT_EQUAL(memcmp(got, mirror, size), 0);
	disk_close(r);
	if (td_have_qemu_img()) {
		int rc = td_sh("qemu-img check -q -U '%s' >/dev/null 2>&1", path);

		/* 0 clean, 3 leaked clusters only; 2 would be corruption. */
		CU_ASSERT(rc == 0 || rc == 3);
	}
	/* A flush gives the counted-ahead clusters back: clean again. */
	CU_ASSERT_EQUAL(disk_close(w), 0);
	if (td_have_qemu_img())
		CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", path), 0);
	free(mirror);
	free(buf);
	free(got);
}

static void test_unflushed_64k(void)
{
	check_unflushed("p16.qcow2", 16, 32 * MIB);
}

static void test_unflushed_512(void)
{
	check_unflushed("p9.qcow2", 9, 1 * MIB);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "acknowledged writes in the file without a flush, 64 KiB clusters", test_unflushed_64k },
		{ "acknowledged writes in the file without a flush, 512-byte clusters", test_unflushed_512 },
	};

	return td_run_suite("disk_publish", tests, CUNIT_COUNT(tests));
}
