/* CUnit suite for libkxdisk's qcow2 on hand-made images: corrupt headers and tables, fuzz with reopen, backing files. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_disk_util.h"

#define MIB (1ull << 20)

static const char *fresh(const char *name, unsigned version, unsigned cb, uint64_t size, unsigned order)
{
	struct td_qcow2 p = { .version = version, .cluster_bits = cb, .size = size, .refcount_order = order };
	const char *path = td_path(name);

	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(path, &p), 0);
	return path;
}

static void test_empty(void)
{
	for (unsigned v = 2; v <= 3; v++) {
		const char *p = fresh(v == 2 ? "e2.qcow2" : "e3.qcow2", v, 16, 64 * MIB, 4);
		struct disk *d = td_open(p, "qcow2", 0);
		char buf[8192], z[8192] = { 0 };

		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(disk_size(d), 64 * MIB);
		CU_ASSERT_STRING_EQUAL(disk_format(d), "qcow2");
		memset(buf, 0xaa, sizeof(buf));
		CU_ASSERT_EQUAL(disk_read(d, 64 * MIB - 8192, buf, sizeof(buf)), 0);
		CU_ASSERT_EQUAL(memcmp(buf, z, sizeof(buf)), 0);
		CU_ASSERT_EQUAL(disk_write(d, 64 * MIB - 1, buf, 2), -EINVAL);
		CU_ASSERT_EQUAL(disk_close(d), 0);
		d = td_open(p, "qcow2", DISK_RDONLY);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(disk_write(d, 0, buf, 512), -EROFS);
		disk_close(d);
	}
}

/*
 * Random unaligned writes, reads, discards and flushes against a mirror,
 * then a reopen read-only; qemu-img, if installed, must find the image
 * clean and convert it back to exactly the mirror.
 */
static void fuzz(const char *name, unsigned v, unsigned cb, uint64_t size, unsigned order, int ops)
{
	const char *p = fresh(name, v, cb, size, order);
	struct disk *d = td_open(p, "qcow2", 0);
	uint64_t cs = 1ull << cb, maxlen = 3 * cs + 1000;
	uint8_t *mirror = calloc(1, size), *buf = malloc(maxlen);
	unsigned seed = cb * 7 + v + order;
	int fails = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (int i = 0; i < ops && fails < 5; i++) {
		uint64_t off = (uint64_t)rand_r(&seed) % size, len = (uint64_t)rand_r(&seed) % maxlen;
		int op = rand_r(&seed) % 10;

		if (off + len > size)
			len = size - off;
		if (op < 5) {
			td_pattern(buf, len, off, (uint32_t)i);
			if (disk_write(d, off, buf, len) != 0) {
				fprintf(stderr, "\n  write: %s\n", disk_last_error(d));
				fails++;
			}
			memcpy(mirror + off, buf, len);
		} else if (op < 9) {
			if (disk_read(d, off, buf, len) != 0 || memcmp(buf, mirror + off, len) != 0) {
				fprintf(stderr, "\n  read %llu+%llu differs: %s\n", (unsigned long long)off,
					(unsigned long long)len, disk_last_error(d));
				fails++;
			}
		} else if (rand_r(&seed) & 1) {
			uint64_t a = (off + cs - 1) & ~(cs - 1), b = (off + len) & ~(cs - 1);

			CU_ASSERT_EQUAL(disk_discard(d, off, len), 0);
			if (b > a)
				memset(mirror + a, 0, b - a);	/* whole clusters read zeros after */
		} else {
			CU_ASSERT_EQUAL(disk_flush(d), 0);
		}
	}
	CU_ASSERT_EQUAL(fails, 0);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	d = td_open(p, "qcow2", DISK_RDONLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (uint64_t off = 0; off < size; off += cs) {
		CU_ASSERT_EQUAL(disk_read(d, off, buf, cs), 0);
		if (memcmp(buf, mirror + off, cs) != 0) {
			CU_FAIL("reopened image differs");
			break;
		}
	}
	disk_close(d);
	if (td_have_qemu_img()) {
		const char *raw = td_path("fuzz-out.raw");
		int fd;

		CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", p), 0);
		CU_ASSERT_EQUAL_FATAL(td_sh("qemu-img convert -O raw '%s' '%s'", p, raw), 0);
		fd = open(raw, O_RDONLY);
		for (uint64_t off = 0; fd >= 0 && off < size; off += cs) {
			CU_ASSERT_EQUAL(pread(fd, buf, cs, (off_t)off), (ssize_t)cs);
			if (memcmp(buf, mirror + off, cs) != 0) {
				CU_FAIL("qemu-img convert output differs");
				break;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	free(mirror);
	free(buf);
}

static void test_fuzz_v3_64k(void)
{
	fuzz("f3.qcow2", 3, 16, 16 * MIB, 4, 600);
}

static void test_fuzz_v2_512(void)
{
	fuzz("f2.qcow2", 2, 9, 1 * MIB, 4, 1500);
}

/* 1 KiB clusters over 16 MiB: 128 L2 tables and 32 refcount blocks, more than the caches hold, so dirty tables get evicted. */
static void test_fuzz_evictions(void)
{
	fuzz("ev.qcow2", 3, 10, 16 * MIB, 4, 2000);
}

static void test_fuzz_refcount_widths(void)
{
	fuzz("r0.qcow2", 3, 9, 1 * MIB, 0, 800);	/* 1-bit refcounts */
	fuzz("r3.qcow2", 3, 12, 4 * MIB, 3, 800);	/* 8-bit */
	fuzz("r6.qcow2", 3, 12, 4 * MIB, 6, 800);	/* 64-bit */
}

/* One header field changed, and the exact error it must give. */
struct corruption {
	unsigned off, width;
	uint64_t val;
	unsigned flags;
	int rc;
	const char *msg;
};

static void test_corrupt_headers(void)
{
	static const struct corruption c[] = {
		{ 0, 4, 0x514649fc, 0, -EINVAL, "not a qcow2 image (magic 0x514649fc)" },
		{ 4, 4, 4, 0, -ENOTSUP, "unsupported qcow2 version 4" },
		{ 20, 4, 8, 0, -EINVAL, "cluster_bits 8 out of range 9..21" },
		{ 20, 4, 22, 0, -EINVAL, "cluster_bits 22 out of range 9..21" },
		{ 24, 8, 1ull << 63, 0, -EINVAL, "virtual size 9223372036854775808 too large" },
		{ 24, 8, 1ull << 40, 0, -EINVAL, "L1 table of 1 entries too small for the virtual size (needs 2048)" },
		{ 32, 4, 1, 0, -ENOTSUP, "encrypted qcow2 images are not supported (crypt_method 1)" },
		{ 36, 4, 0xffffffff, 0, -EFBIG, "L1 table of 4294967295 entries too large" },
		{ 40, 8, 0x30200, 0, -EINVAL, "L1 table offset 0x30200 not cluster-aligned" },
		{ 40, 8, 0x7000000, 0, -EINVAL, "L1 table offset 0x7000000 beyond end of file" },
		{ 48, 8, 0x7000000, 0, -EINVAL, "refcount table offset 0x7000000 beyond end of file" },
		{ 48, 8, 0x10001, 0, -EINVAL, "refcount table offset 0x10001 not cluster-aligned" },
		{ 56, 4, 0, 0, -EINVAL, "refcount table has 0 clusters" },
		{ 56, 4, 0x100000, 0, -EFBIG, "refcount table of 1048576 clusters too large" },
		/* Two table clusters: the second is the refcount block, whose counts are no offsets. */
		{ 56, 4, 2, 0, -EINVAL, "refcount table entry 8192 (0x1000100010001) has reserved bits set" },
		{ 60, 4, 1, 0, -ENOTSUP, "image has 1 internal snapshots: writing to it is not supported (open it read-only)" },
		{ 72, 8, 1, 0, -EUCLEAN, "image is dirty (lazy refcounts); repair it with 'qemu-img check -r all' or open it read-only" },
		{ 72, 8, 2, 0, -EUCLEAN, "image is marked corrupt; repair it with 'qemu-img check -r all' or open it read-only" },
		{ 72, 8, 4, 0, -ENOTSUP, "external data files are not supported" },
		{ 72, 8, 1ull << 40, 0, -ENOTSUP, "unknown incompatible features 0x10000000000" },
		{ 96, 4, 7, 0, -EINVAL, "refcount_order 7 out of range 0..6" },
		{ 100, 4, 100, 0, -EINVAL, "header_length 100 invalid" },
		{ 104, 4, 0x44415441, 0, -ENOTSUP, "external data files are not supported" },
		{ 104, 8, 0x1234567800010000ull, 0, -EINVAL,
		  "header extension 0x12345678 of 65536 bytes overflows the header" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *p = fresh("bad.qcow2", 3, 16, 64 * MIB, 4);

		if (c[i].width == 4)
			td_poke32(p, c[i].off, (uint32_t)c[i].val);
		else
			td_poke64(p, c[i].off, c[i].val);
		td_expect_open_error(p, "qcow2", c[i].flags, c[i].rc, c[i].msg);
	}
	/* Extended L2 entries need 512-byte subclusters at least, as QEMU makes them. */
	{
		const char *p = fresh("x.qcow2", 3, 12, 64 * MIB, 4);

		td_poke64(p, 72, 1ull << 4);	/* incompatible feature bit 4 */
		td_expect_open_error(p, "qcow2", 0, -EINVAL,
				     "extended L2 entries need clusters of at least 16 KiB (cluster_bits 12)");
	}
	/* Dirty, corrupt or with snapshots, an image still opens read-only. */
	for (unsigned bit = 1; bit <= 2; bit++) {
		const char *p = fresh("ro.qcow2", 3, 16, 64 * MIB, 4);
		struct disk *d;

		td_poke64(p, 72, bit);
		d = td_open(p, "qcow2", DISK_RDONLY);
		disk_close(d);
	}
	{
		const char *p = td_path("short.qcow2");
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		CU_ASSERT_EQUAL(write(fd, "QFI\xfb\0\0\0\3", 8), 8);
		close(fd);
		td_expect_open_error(p, "qcow2", 0, -EINVAL, "too small for a qcow2 header (8 bytes)");
	}
}

static void test_corrupt_tables(void)
{
	const char *p;
	struct disk *d;
	char buf[4096];

	/* Cluster 3 holds the L1 table; cluster 4 would be the first L2 table. */
	p = fresh("l1.qcow2", 3, 16, 64 * MIB, 4);
	td_poke64(p, 0x30000, 0x8000000000500000ull);
	td_expect_open_error(p, "qcow2", 0, -EINVAL, "L1 table entry 0: offset 0x500000 beyond end of file");
	td_poke64(p, 0x30000, 0x8000000000010200ull);
	td_expect_open_error(p, "qcow2", 0, -EINVAL, "L1 table entry 0: offset 0x10200 not cluster-aligned");
	td_poke64(p, 0x30000, 0x0000000000010001ull);
	td_expect_open_error(p, "qcow2", 0, -EINVAL, "L1 table entry 0 (0x10001) has reserved bits set");

	/* An L1 entry pointing at an L2 table (cluster 4) whose entries are bad: errors at the first use. */
	p = fresh("l2.qcow2", 3, 16, 64 * MIB, 4);
	td_poke64(p, 0x30000, 0x8000000000040000ull);
	td_poke64(p, 0x5fff8, 0);	/* the file now ends with the cluster after that table */
	td_poke64(p, 0x40000 + 8, 0x8000000009000000ull);	/* entry 1 -> far past the end */
	td_poke64(p, 0x40000 + 16, 0x8000000000010200ull);
	td_poke64(p, 0x40000 + 24, 0x4000000001000000ull);	/* compressed, past the end */
	td_poke64(p, 0x40000 + 32, 0x4000000000058000ull);	/* compressed, in a run of zeros */
	td_poke64(p, 0x40000 + 40, 0x8000000000000002ull);
	td_poke64(p, 0x40000 + 48, 0x8000000000030000ull);	/* onto the L1 table */
	d = td_open(p, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_read(d, 0x10000, buf, 512), -EIO);
	CU_ASSERT_STRING_EQUAL(strchr(disk_last_error(d), ' ') + 1,
			       "L2 entry for guest offset 0x10000: data offset 0x9000000 beyond end of file");
	CU_ASSERT_EQUAL(disk_write(d, 0x10000, buf, 512), -EIO);
	CU_ASSERT_EQUAL(disk_read(d, 0x20000, buf, 512), -EIO);
	CU_ASSERT_STRING_EQUAL(strchr(disk_last_error(d), ' ') + 1,
			       "L2 entry for guest offset 0x20000: data offset 0x10200 not cluster-aligned");
	CU_ASSERT_EQUAL(disk_read(d, 0x30000, buf, 512), -EIO);
	CU_ASSERT_STRING_EQUAL(strchr(disk_last_error(d), ' ') + 1,
			       "L2 entry for guest offset 0x30000: compressed data at 0x1000000 beyond end of file");
	CU_ASSERT_EQUAL(disk_read(d, 0x40000, buf, 512), -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "compressed cluster at 0x58000 is corrupt"));
	CU_ASSERT_EQUAL(disk_read(d, 0x50000, buf, 512), -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "has reserved bits set"));
	CU_ASSERT_EQUAL(disk_write(d, 0x60000, buf, 512), -EIO);
	CU_ASSERT_STRING_EQUAL(strchr(disk_last_error(d), ' ') + 1, "L2 entry for guest offset 0x60000: "
			       "data offset 0x30000 overlaps the L1 table; image marked corrupt, no further writes");
	/* Guest offset 0 is unallocated in that table and still works. */
	CU_ASSERT_EQUAL(disk_read(d, 0, buf, 512), 0);
	disk_close(d);
}

static void test_refcount_table_full(void)
{
	/* 512-byte clusters, 64-bit refcounts: one table cluster covers 64 blocks of 64 clusters (2 MiB). */
	const char *p = fresh("full.qcow2", 3, 9, 2 * MIB, 6);
	struct disk *d = td_open(p, "qcow2", 0);
	char *buf = calloc(1, 64 << 10);
	int rc = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(buf, 1, 64 << 10);
	for (uint64_t off = 0; off < 2 * MIB && rc == 0; off += 64 << 10)
		rc = disk_write(d, off, buf, 64 << 10);
	CU_ASSERT_EQUAL(rc, -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "refcount table full at 64 entries"));
	disk_close(d);
	free(buf);
}

static void test_backing(void)
{
	const char *base = td_path("base.raw"), *top = td_path("top.qcow2");
	struct td_qcow2 tp = { .version = 3, .cluster_bits = 16, .size = 8 * MIB, .refcount_order = 4,
			       .backing = "base.raw", .backing_fmt = "raw" };
	uint8_t *pat = malloc(6 * MIB), *buf = malloc(8 * MIB);
	int fd = open(base, O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct disk *d;

	/* The backing file is smaller than the overlay: past its end reads zeros. */
	td_pattern(pat, 6 * MIB, 0, 9);
	CU_ASSERT_EQUAL(pwrite(fd, pat, 6 * MIB, 0), (ssize_t)(6 * MIB));
	close(fd);
	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(top, &tp), 0);
	d = td_open(top, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_read(d, 0, buf, 8 * MIB), 0);
	CU_ASSERT_EQUAL(memcmp(buf, pat, 6 * MIB), 0);
	CU_ASSERT_EQUAL(buf[6 * MIB], 0);
	CU_ASSERT_EQUAL(buf[8 * MIB - 1], 0);
	/* A partial write copies the rest of the cluster from the backing file. */
	memset(buf, 0x5a, 100);
	CU_ASSERT_EQUAL(disk_write(d, 70000, buf, 100), 0);
	memcpy(pat + 70000, buf, 100);
	/* A discard over a backing file keeps reading zeros (v3 zero flag). */
	CU_ASSERT_EQUAL(disk_discard(d, 2 * MIB, 1 * MIB), 0);
	memset(pat + 2 * MIB, 0, 1 * MIB);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	d = td_open(top, "qcow2", DISK_RDONLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_read(d, 0, buf, 6 * MIB), 0);
	CU_ASSERT_EQUAL(memcmp(buf, pat, 6 * MIB), 0);
	disk_close(d);
	/* The backing file itself is untouched. */
	d = td_open(base, "raw", DISK_RDONLY);
	CU_ASSERT_EQUAL(disk_read(d, 65536, buf, 65536), 0);
	td_pattern(pat, 65536, 65536, 9);
	CU_ASSERT_EQUAL(memcmp(buf, pat, 65536), 0);
	disk_close(d);
	if (td_have_qemu_img())
		CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", top), 0);
	/* v2 has no zero flag: a discard over a backing file is left alone (as QEMU), data intact. */
	tp.version = 2;
	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(top, &tp), 0);
	d = td_open(top, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(buf, 0x77, 65536);
	CU_ASSERT_EQUAL(disk_write(d, 0, buf, 65536), 0);
	CU_ASSERT_EQUAL(disk_discard(d, 0, 4 * 65536), 0);
	CU_ASSERT_EQUAL(disk_read(d, 0, pat, 65536), 0);
	CU_ASSERT_EQUAL(memcmp(pat, buf, 65536), 0);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	free(pat);
	free(buf);
}

/* The last, partial cluster of an unaligned disk is discarded by a range reaching the end (as QEMU). */
static void test_discard_tail(void)
{
	const char *p = fresh("tail.qcow2", 3, 16, 8 * MIB + 4096, 4);
	struct disk *d = td_open(p, "qcow2", 0);
	uint8_t buf[4096], zero[4096] = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_discard_granularity(d), 65536);
	memset(buf, 0x42, sizeof(buf));
	CU_ASSERT_EQUAL(disk_write(d, 8 * MIB, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(disk_discard(d, 8 * MIB, 2048), 0);	/* not to the end: left alone */
	CU_ASSERT_EQUAL(disk_read(d, 8 * MIB, zero, sizeof(zero)), 0);
	CU_ASSERT_EQUAL(memcmp(zero, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(disk_discard(d, 8 * MIB, 4096), 0);
	CU_ASSERT_EQUAL(disk_read(d, 8 * MIB, buf, sizeof(buf)), 0);
	memset(zero, 0, sizeof(zero));
	CU_ASSERT_EQUAL(memcmp(zero, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	if (td_have_qemu_img())
		CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", p), 0);
}

static void test_backing_errors(void)
{
	struct td_qcow2 self = { .version = 3, .cluster_bits = 16, .size = MIB, .refcount_order = 4,
				 .backing = "loop.qcow2" };
	struct td_qcow2 missing = { .version = 2, .cluster_bits = 16, .size = MIB, .backing = "nope.raw",
				    .backing_fmt = "raw" };
	struct td_qcow2 badfmt = { .version = 3, .cluster_bits = 16, .size = MIB, .refcount_order = 4,
				   .backing = "x", .backing_fmt = "vmdk" };
	struct disk *d = NULL;
	char err[512], want[600];

	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(td_path("loop.qcow2"), &self), 0);
	CU_ASSERT_EQUAL(disk_open(&d, td_path("loop.qcow2"), "qcow2", 0, err, sizeof(err)), -ELOOP);
	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(td_path("miss.qcow2"), &missing), 0);
	snprintf(want, sizeof(want), "backing file: %s: cannot open: No such file or directory",
		 td_path("nope.raw"));
	td_expect_open_error(td_path("miss.qcow2"), "qcow2", 0, -ENOENT, want);
	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(td_path("fmt.qcow2"), &badfmt), 0);
	td_expect_open_error(td_path("fmt.qcow2"), "qcow2", 0, -ENOTSUP,
			     "backing file 'x' has unsupported format 'vmdk'");
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "empty v2 and v3 images", test_empty },
		{ "fuzz v3, 64 KiB clusters", test_fuzz_v3_64k },
		{ "fuzz v2, 512-byte clusters", test_fuzz_v2_512 },
		{ "fuzz 1-, 8- and 64-bit refcounts", test_fuzz_refcount_widths },
		{ "fuzz with cache evictions", test_fuzz_evictions },
		{ "corrupt headers", test_corrupt_headers },
		{ "corrupt L1 and L2 tables", test_corrupt_tables },
		{ "refcount table full", test_refcount_table_full },
		{ "backing file, copy-on-write, discard", test_backing },
		{ "discard of the partial last cluster", test_discard_tail },
		{ "backing file errors", test_backing_errors },
	};

	return td_run_suite("disk_qcow2", tests, CUNIT_COUNT(tests));
}
