/* CUnit suite checking libkxdisk against QEMU's own tools: images qemu-img/qemu-io made, qemu-img check of ours, kill -9. */
#include <config.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_disk_util.h"

#define MIB (1ull << 20)
#define SIZE (8 * MIB)

/* A raw file of SIZE with pattern seed, except two 512 KiB runs of zeros (which converters leave unallocated). */
static uint8_t *make_source(const char *path, uint32_t seed)
{
	uint8_t *m = malloc(SIZE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	td_pattern(m, SIZE, 0, seed);
	memset(m + 1 * MIB, 0, 512 << 10);
	memset(m + 5 * MIB + 4096, 0, 512 << 10);
	CU_ASSERT_EQUAL(pwrite(fd, m, SIZE, 0), (ssize_t)SIZE);
	close(fd);
	return m;
}

/* Like make_source, but each 512-byte sector repeats 16 bytes of its own pattern, so converters really compress it. */
static uint8_t *make_compressible(const char *path, uint32_t seed)
{
	uint8_t *m = malloc(SIZE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	for (uint64_t off = 0; off < SIZE; off += 512) {
		td_pattern(m + off, 16, off, seed);
		for (unsigned i = 16; i < 512; i += 16)
			memcpy(m + off + i, m + off, 16);
	}
	memset(m + 1 * MIB, 0, 512 << 10);
	CU_ASSERT_EQUAL(pwrite(fd, m, SIZE, 0), (ssize_t)SIZE);
	close(fd);
	return m;
}

/* Compares the whole disk with the mirror through our library. */
static void expect_contents(const char *path, const char *fmt, const uint8_t *mirror, uint64_t size)
{
	struct disk *d = td_open(path, fmt, DISK_RDONLY);
	uint8_t *buf = malloc(size);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_size(d), size);
	CU_ASSERT_EQUAL(disk_read(d, 0, buf, size), 0);
	if (memcmp(buf, mirror, size) != 0) {
		for (uint64_t i = 0; i < size; i++)
			if (buf[i] != mirror[i]) {
				fprintf(stderr, "\n  %s: first difference at %llu\n", path, (unsigned long long)i);
				break;
			}
		CU_FAIL("contents differ");
	}
	disk_close(d);
	free(buf);
}

/* The first size bytes of img as qemu-img reads it (convert -O raw). */
static uint8_t *qemu_view(const char *img, uint64_t size)
{
	const char *raw = td_path("qemu-out.raw");
	uint8_t *m = malloc(size);
	int fd;

	CU_ASSERT_EQUAL(td_sh("qemu-img convert -O raw '%s' '%s'", img, raw), 0);
	fd = open(raw, O_RDONLY);
	CU_ASSERT_EQUAL(pread(fd, m, size, 0), (ssize_t)size);
	close(fd);
	return m;
}

/* qemu-img convert -O raw of the image must equal the mirror. */
static void expect_qemu_contents(const char *path, const uint8_t *mirror, uint64_t size)
{
	uint8_t *buf = qemu_view(path, size);

	CU_ASSERT_EQUAL(memcmp(buf, mirror, size), 0);
	free(buf);
}

static void test_read_qemu_images(void)
{
	static const char *opts[] = {
		"compat=0.10", "compat=1.1", "compat=1.1,cluster_size=4096",
		"compat=1.1,cluster_size=2M", "compat=1.1,refcount_bits=1",
	};
	const char *src = td_path("src.raw"), *img = td_path("q.qcow2");
	uint8_t *m = make_source(src, 11);

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		CU_ASSERT_EQUAL(td_sh("qemu-img convert -O qcow2 -o %s '%s' '%s'", opts[i], src, img), 0);
		expect_contents(img, "qcow2", m, SIZE);
		/* Compressed clusters (zlib, as qemu-img convert -c writes them). */
		CU_ASSERT_EQUAL(td_sh("qemu-img convert -c -O qcow2 -o %s '%s' '%s'", opts[i], src, img), 0);
		expect_contents(img, "qcow2", m, SIZE);
	}
	/* v3 zero clusters written by qemu-io over data. */
	CU_ASSERT_EQUAL(td_sh("qemu-img convert -O qcow2 '%s' '%s'", src, img), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-io -f qcow2 -c 'write -z 2M 256k' '%s' >/dev/null", img), 0);
	memset(m + 2 * MIB, 0, 256 << 10);
	expect_contents(img, "qcow2", m, SIZE);
	/* The same file as raw is its bytes, never a guess at qcow2. */
	{
		struct disk *d = td_open(img, "raw", DISK_RDONLY);
		char magic[4];

		CU_ASSERT_EQUAL(disk_read(d, 0, magic, 4), 0);
		CU_ASSERT_EQUAL(memcmp(magic, "QFI\xfb", 4), 0);
		disk_close(d);
	}
	free(m);
}

/* Random writes through our library into img, mirrored; then qemu-img check and convert must agree. */
static void write_and_check(const char *img, uint8_t *m, uint32_t seed, int ops)
{
	struct disk *d = td_open(img, "qcow2", 0);
	uint8_t *buf = malloc(512 << 10);
	unsigned s = seed;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (int i = 0; i < ops; i++) {
		uint64_t off = (uint64_t)rand_r(&s) % SIZE, len = (uint64_t)rand_r(&s) % (300 << 10);

		if (off + len > SIZE)
			len = SIZE - off;
		td_pattern(buf, len, off, seed + (uint32_t)i);
		CU_ASSERT_EQUAL(disk_write(d, off, buf, len), 0);
		memcpy(m + off, buf, len);
		if (i % 50 == 49)
			CU_ASSERT_EQUAL(disk_flush(d), 0);
	}
	CU_ASSERT_EQUAL(disk_close(d), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", img), 0);
	expect_qemu_contents(img, m, SIZE);
	expect_contents(img, "qcow2", m, SIZE);
	free(buf);
}

static void test_write_qemu_images(void)
{
	const char *src = td_path("src.raw"), *img = td_path("w.qcow2");
	uint8_t *m = make_source(src, 12);

	CU_ASSERT_EQUAL(td_sh("qemu-img convert -O qcow2 -o compat=0.10 '%s' '%s'", src, img), 0);
	write_and_check(img, m, 100, 200);
	/* Writes over compressed clusters: copy-on-write, and their old space is freed. */
	CU_ASSERT_EQUAL(td_sh("qemu-img convert -c -O qcow2 '%s' '%s'", src, img), 0);
	{
		int fd = open(src, O_RDONLY);

		CU_ASSERT_EQUAL(pread(fd, m, SIZE, 0), (ssize_t)SIZE);
		close(fd);
	}
	write_and_check(img, m, 200, 200);
	/* An empty image qemu-img created, with small clusters. */
	CU_ASSERT_EQUAL(td_sh("qemu-img create -q -f qcow2 -o cluster_size=4096 '%s' %llu", img,
			      (unsigned long long)SIZE), 0);
	memset(m, 0, SIZE);
	write_and_check(img, m, 300, 300);
	free(m);
}

/* Percentage of compressed clusters qemu-img check reports for img, -1 if it cannot tell. */
static double compressed_pct(const char *img)
{
	char cmd[600], line[256];
	double pct = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "qemu-img check '%s' 2>/dev/null", img);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "fragmented, ");

		if (p && strstr(p, "compressed clusters"))
			pct = atof(p + strlen("fragmented, "));
	}
	pclose(f);
	return pct;
}

/*
 * zstd-compressed images (compression_type=zstd) at the cluster-size extremes: read back equal,
 * writes over compressed clusters land in normal clusters, qemu-img check clean, reopen equal.
 */
static void test_zstd(void)
{
	static const char *sizes[] = { "512", "4096", "65536", "2M" };
	const char *src = td_path("zsrc.raw"), *img = td_path("z.qcow2");

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *m = make_compressible(src, 21 + (uint32_t)i);
		double before, after;

		CU_ASSERT_EQUAL_FATAL(td_sh("qemu-img convert -c -O qcow2 -o compression_type=zstd,cluster_size=%s "
					    "'%s' '%s'", sizes[i], src, img), 0);
		CU_ASSERT_EQUAL(td_sh("qemu-img info '%s' | grep -q 'compression type: zstd'", img), 0);
		before = compressed_pct(img);
		CU_ASSERT(before > 50);
		expect_contents(img, "qcow2", m, SIZE);
		write_and_check(img, m, 600 + (uint32_t)i, 60);
		after = compressed_pct(img);
		CU_ASSERT(after >= 0 && after < before);
		free(m);
	}
	/* A compressed cluster whose zstd frame is damaged is an I/O error naming it, not wrong data. */
	{
		uint8_t *m = make_compressible(src, 30);
		struct disk *d;
		uint8_t buf[4096];

		CU_ASSERT_EQUAL_FATAL(td_sh("qemu-img convert -c -O qcow2 -o compression_type=zstd '%s' '%s'",
					    src, img), 0);
		/* The first data cluster follows the metadata; its zstd magic is what we smash. */
		CU_ASSERT_EQUAL(td_sh("off=$(LC_ALL=C grep -obUaP '\\x28\\xb5\\x2f\\xfd' '%s' | head -1 | cut -d: -f1) && "
				      "printf 'XXXX' | dd of='%s' bs=1 seek=$off conv=notrunc status=none", img, img), 0);
		d = td_open(img, "qcow2", DISK_RDONLY);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(disk_read(d, 0, buf, sizeof(buf)), -EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "is corrupt (zstd: "));
		disk_close(d);
		free(m);
	}
}

/*
 * 400 random writes, reads and discards of up to maxlen bytes on d against the mirror m (SIZE
 * bytes), a flush every 100. A discard zeroes the whole units of gran bytes in its range; the
 * partial ones at its ends keep their data. With sectors, half the requests lie on 512-byte
 * sectors, as a guest sends them (buf has room for the rounding).
 */
static void random_ops(struct disk *d, uint8_t *m, uint8_t *buf, uint64_t maxlen, uint64_t gran,
		       unsigned seed, bool sectors, const char *what)
{
	for (int i = 0; i < 400; i++) {
		uint64_t off = (uint64_t)rand_r(&seed) % SIZE, len = (uint64_t)rand_r(&seed) % maxlen;
		int op = rand_r(&seed) % 8;

		if (sectors && rand_r(&seed) % 2)
			off &= ~511ull, len = (len + 511) & ~511ull;
		if (off + len > SIZE)
			len = SIZE - off;
		if (op < 4) {
			td_pattern(buf, len, off, (uint32_t)i);
			CU_ASSERT_EQUAL(disk_write(d, off, buf, len), 0);
			memcpy(m + off, buf, len);
		} else if (op < 7) {
			CU_ASSERT_EQUAL(disk_read(d, off, buf, len), 0);
			if (memcmp(buf, m + off, len) != 0) {
				fprintf(stderr, "\n  %s, discard granularity %llu: read %llu+%llu differs\n", what,
					(unsigned long long)gran, (unsigned long long)off, (unsigned long long)len);
				CU_FAIL("read differs from the mirror");
				break;
			}
		} else {
			uint64_t a = (off + gran - 1) & ~(gran - 1), b = (off + len) & ~(gran - 1);

			CU_ASSERT_EQUAL(disk_discard(d, off, len), 0);
			if (b > a)
				memset(m + a, 0, b - a);
		}
		if (i % 100 == 99)
			CU_ASSERT_EQUAL(disk_flush(d), 0);
	}
}

/* A cluster written, its middle half discarded: zeroed (subclusters) or still its data (plain clusters). */
static void half_discard(struct disk *d, uint8_t *m, uint8_t *buf, uint64_t cs, bool zeroed)
{
	td_pattern(buf, cs, 2 * cs, 99);
	CU_ASSERT_EQUAL(disk_write(d, 2 * cs, buf, cs), 0);
	memcpy(m + 2 * cs, buf, cs);
	CU_ASSERT_EQUAL(disk_discard(d, 2 * cs + cs / 4, cs / 2), 0);
	if (zeroed)
		memset(m + 2 * cs + cs / 4, 0, cs / 2);
	CU_ASSERT_EQUAL(disk_read(d, 2 * cs, buf, cs), 0);
	CU_ASSERT_EQUAL(memcmp(buf, m + 2 * cs, cs), 0);
}

/*
 * Every cluster size from 512 B to 2 MiB, on images qemu-img created: random writes, reads and
 * discards through libkxdisk against a raw mirror. A discard zeroes whole clusters only; the
 * partial clusters at its ends keep their data (as QEMU: unaligned discards are ignored).
 */
static void cluster_size_run(unsigned cb)
{
	const char *img = td_path("cs.qcow2");
	uint64_t cs = 1ull << cb, maxlen = 3 * cs + 5000;
	uint8_t *m = calloc(1, SIZE), *buf = malloc(maxlen > SIZE ? SIZE : maxlen);
	unsigned seed = cb;
	struct disk *d;

	CU_ASSERT_EQUAL_FATAL(td_sh("qemu-img create -q -f qcow2 -o cluster_size=%llu '%s' %llu",
				    (unsigned long long)cs, img, (unsigned long long)SIZE), 0);
	d = td_open(img, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_discard_granularity(d), cs);
	random_ops(d, m, buf, maxlen, cs, seed, false, "plain clusters");
	/* Half a cluster discarded (1 MiB of a 2 MiB one, at the smallest size 256 bytes) still reads its data. */
	half_discard(d, m, buf, cs, false);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", img), 0);
	expect_qemu_contents(img, m, SIZE);
	expect_contents(img, "qcow2", m, SIZE);
	free(m);
	free(buf);
}

static void test_cluster_sizes(void)
{
	cluster_size_run(9);
	cluster_size_run(12);
	cluster_size_run(16);
	cluster_size_run(21);
}

/*
 * Extended L2 entries (extended_l2=on): subclusters allocated, zero and unallocated (from the
 * backing file) within one cluster, as qemu-io writes them, read as qemu-img reads them;
 * compressed clusters too.
 */
static void test_extended_l2(void)
{
	const char *base = td_path("xbase.raw"), *img = td_path("x.qcow2"), *cimg = td_path("xc.qcow2");
	static const char *sizes[] = { "16k", "64k", "2M" };
	uint8_t *m = make_compressible(base, 40), *q;
	struct disk *d;

	free(m);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(td_sh("cd '%s/..' && qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=%s "
					    "-b xbase.raw -F raw '%s' %llu", img, sizes[i], img,
					    (unsigned long long)SIZE), 0);
		CU_ASSERT_EQUAL_FATAL(td_sh("qemu-io -f qcow2 -c 'write -P 0x11 0 2k' -c 'write -P 0x22 6k 1k' "
					    "-c 'write -z 8k 4k' -c 'write -P 0x33 1M 200k' -c 'write -z 2M 64k' "
					    "-c 'write -P 0x44 3M 1536' -c 'discard 1M 64k' '%s' >/dev/null", img), 0);
		CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", img), 0);
		q = qemu_view(img, SIZE);
		expect_contents(img, "qcow2", q, SIZE);
		free(q);
	}
	/* Compressed clusters with extended L2 entries. */
	CU_ASSERT_EQUAL_FATAL(td_sh("qemu-img convert -c -O qcow2 -o extended_l2=on '%s' '%s'", base, cimg), 0);
	q = qemu_view(cimg, SIZE);
	expect_contents(cimg, "qcow2", q, SIZE);
	free(q);
	/* A bitmap marking a subcluster both allocated and zero is an I/O error naming it. */
	CU_ASSERT_EQUAL_FATAL(td_sh("qemu-img create -q -f qcow2 -o extended_l2=on '%s' %llu", img,
				    (unsigned long long)SIZE), 0);
	CU_ASSERT_EQUAL_FATAL(td_sh("qemu-io -f qcow2 -c 'write -P 0x55 0 4k' '%s' >/dev/null", img), 0);
	{
		uint8_t buf[4096];
		uint64_t l1, l2;
		int fd = open(img, O_RDWR);

		CU_ASSERT_EQUAL(pread(fd, buf, 48, 0), 48);
		l1 = be64toh(*(uint64_t *)(void *)(buf + 40));
		CU_ASSERT_EQUAL(pread(fd, &l2, 8, (off_t)l1), 8);
		l2 = be64toh(l2) & 0x00fffffffffffe00ull;
		close(fd);
		/* Subcluster 0 (allocated by the write) also marked zero. */
		CU_ASSERT_EQUAL(td_poke64(img, l2 + 8, 0x0000000100000001ull), 0);
		d = td_open(img, "qcow2", DISK_RDONLY);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(disk_read(d, 0, buf, sizeof(buf)), -EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "marks a subcluster both allocated and zero"));
		disk_close(d);
		/* Its data cluster moved onto the L1 table: a write is refused, the image marked corrupt. */
		CU_ASSERT_EQUAL(td_poke64(img, l2, l1 | (1ull << 63)), 0);
		CU_ASSERT_EQUAL(td_poke64(img, l2 + 8, 0x1ull), 0);
		d = td_open(img, "qcow2", 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(disk_write(d, 512, buf, 512), -EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "data offset 0x30000 overlaps the L1 table"));
		CU_ASSERT_EQUAL(disk_write(d, 1 << 20, buf, 512), -EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "image marked corrupt"));
		disk_close(d);
		td_expect_open_error(img, "qcow2", 0, -EUCLEAN, "image is marked corrupt; repair it with "
				     "'qemu-img check -r all' or open it read-only");
	}
}

/*
 * Writes to an extended-L2 image (extended_l2=on, cluster size cs, over xbase.raw if backing)
 * against a raw reference: qemu-io first leaves subclusters of every state, then 400 random
 * writes, reads and discards through libkxdisk. A discard zeroes the whole subclusters in its
 * range; partial subclusters keep their data. Then qemu-img check is clean and qemu-img compare
 * finds the image equal to the reference written out as a raw file.
 */
static void extl2_write_run(uint64_t cs, bool backing)
{
	const char *img = td_path("xw.qcow2"), *ref = td_path("xw-ref.raw");
	uint64_t sc = cs / 32, maxlen = 3 * cs + 5000 > 2 * MIB ? 2 * MIB : 3 * cs + 5000;
	uint8_t *m, *buf = malloc(maxlen + 512);	/* room for rounding up to sectors */
	unsigned seed = (unsigned)cs + backing;
	struct disk *d;
	int fd;

	CU_ASSERT_EQUAL_FATAL(td_sh("cd '%s/..' && qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=%llu "
				    "%s '%s' %llu", img, (unsigned long long)cs,
				    backing ? "-b xbase.raw -F raw" : "", img, (unsigned long long)SIZE), 0);
	CU_ASSERT_EQUAL_FATAL(td_sh("qemu-io -f qcow2 -c 'write -P 0x11 0 %llu' -c 'write -z %llu %llu' "
				    "-c 'write -P 0x22 %llu 512' '%s' >/dev/null", (unsigned long long)(3 * sc),
				    (unsigned long long)(4 * sc), (unsigned long long)(2 * sc),
				    (unsigned long long)(cs + 5 * sc), img), 0);
	m = qemu_view(img, SIZE);
	d = td_open(img, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_discard_granularity(d), sc);
	random_ops(d, m, buf, maxlen, sc, seed, true, backing ? "extended L2 over a backing file" : "extended L2");
	/* Half a cluster discarded is zeroed, its quarters either side intact. */
	half_discard(d, m, buf, cs, true);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", img), 0);
	fd = open(ref, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_EQUAL(pwrite(fd, m, SIZE, 0), (ssize_t)SIZE);
	close(fd);
	CU_ASSERT_EQUAL(td_sh("qemu-img compare -q -f raw -F qcow2 '%s' '%s'", ref, img), 0);
	expect_contents(img, "qcow2", m, SIZE);
	free(m);
	free(buf);
}

/* One byte written into an empty cluster over a backing file allocates one subcluster, as QEMU would. */
static void extl2_one_subcluster(void)
{
	const char *img = td_path("x1.qcow2");
	struct disk *d;
	uint8_t b = 0x5a;

	CU_ASSERT_EQUAL_FATAL(td_sh("cd '%s/..' && qemu-img create -q -f qcow2 -o extended_l2=on "
				    "-b xbase.raw -F raw '%s' %llu", img, img, (unsigned long long)SIZE), 0);
	d = td_open(img, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(disk_write(d, 65536 + 3000, &b, 1), 0);
	CU_ASSERT_EQUAL(disk_close(d), 0);
	/* 64 KiB clusters: the 2 KiB subcluster at 64 KiB + 2 KiB is the image's, the rest the backing file's. */
	CU_ASSERT_EQUAL(td_sh("qemu-img map --output=json '%s' | grep -q '\"start\": 67584, \"length\": 2048, "
			      "\"depth\": 0'", img), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img map --output=json '%s' | grep -q '\"start\": 69632, \"length\": [0-9]*, "
			      "\"depth\": 1'", img), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-io -f qcow2 -c 'read -P 0x5a %u 1' '%s' | grep -q 'read 1/1'", 65536 + 3000, img), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", img), 0);
}

/* Writes to extended-L2 images of 16 KiB, 64 KiB and 2 MiB clusters, with and without a backing file. */
static void test_extended_l2_write(void)
{
	static const uint64_t sizes[] = { 16 << 10, 64 << 10, 2 * MIB };
	uint8_t *m = make_compressible(td_path("xbase.raw"), 41);

	free(m);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		extl2_write_run(sizes[i], false);
		extl2_write_run(sizes[i], true);
	}
	extl2_one_subcluster();
	/* Compressed clusters with extended L2 entries are rewritten whole. */
	{
		const char *src = td_path("xcsrc.raw"), *img = td_path("xc.qcow2");

		m = make_compressible(src, 42);
		CU_ASSERT_EQUAL_FATAL(td_sh("qemu-img convert -c -O qcow2 -o extended_l2=on '%s' '%s'", src, img), 0);
		write_and_check(img, m, 700, 80);
		free(m);
	}
}

static void test_backing_chain(void)
{
	const char *base = td_path("base.raw"), *mid = td_path("mid.qcow2"), *top = td_path("top.qcow2");
	uint8_t *m = make_source(base, 13);

	/* raw <- qcow2 (written by qemu-io) <- qcow2 (written by us). */
	CU_ASSERT_EQUAL(td_sh("cd '%s/..' && qemu-img create -q -f qcow2 -b base.raw -F raw '%s'", mid, mid), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-io -f qcow2 -c 'write -P 0x3c 3M 70k' '%s' >/dev/null", mid), 0);
	memset(m + 3 * MIB, 0x3c, 70 << 10);
	CU_ASSERT_EQUAL(td_sh("qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 '%s'", top), 0);
	expect_contents(top, "qcow2", m, SIZE);
	write_and_check(top, m, 400, 150);
	/* Neither backing file changed. */
	memset(m, 0, SIZE);
	{
		uint8_t *orig = make_source(td_path("again.raw"), 13);

		memset(orig + 3 * MIB, 0x3c, 70 << 10);
		expect_contents(mid, "qcow2", orig, SIZE);
		free(orig);
	}
	free(m);
}

/*
 * A child writes and flushes, says so, then keeps writing without flushing
 * until it is killed with SIGKILL. Everything flushed must be there after,
 * and qemu-img check must find no corruption (leaks from the unflushed
 * tail are allowed: exit status 3).
 */
static void crash(const char *img, const char *fmt)
{
	uint8_t *flushed = malloc(4 * MIB), *buf = malloc(4 * MIB);
	int pfd[2];
	pid_t pid;
	char c;

	td_pattern(flushed, 4 * MIB, 0, 77);
	CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct disk *d = NULL;
		char err[512];
		unsigned s = 5;

		close(pfd[0]);
		if (disk_open(&d, img, fmt, 0, err, sizeof(err)) < 0)
			_exit(1);
		for (uint64_t off = 0; off < 4 * MIB; off += 64 << 10)
			if (disk_write(d, off, flushed + off, 64 << 10) < 0)
				_exit(2);
		if (disk_flush(d) < 0 || write(pfd[1], "f", 1) != 1)
			_exit(3);
		for (;;) {	/* unflushed writes elsewhere, until killed */
			uint64_t off = 4 * MIB + (uint64_t)rand_r(&s) % (4 * MIB - 8192);

			if (disk_write(d, off, buf, 1 + (size_t)rand_r(&s) % 8192) < 0)
				_exit(4);
		}
	}
	close(pfd[1]);
	CU_ASSERT_EQUAL(read(pfd[0], &c, 1), 1);
	usleep(50000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	{
		struct disk *d = td_open(img, fmt, DISK_RDONLY);

		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(disk_read(d, 0, buf, 4 * MIB), 0);
		CU_ASSERT_EQUAL(memcmp(buf, flushed, 4 * MIB), 0);
		disk_close(d);
	}
	if (strcmp(fmt, "qcow2") == 0) {
		int st = td_sh("qemu-img check -q '%s' >/dev/null 2>&1", img);

		CU_ASSERT_TRUE(st == 0 || st == 3);
		if (st != 0 && st != 3)
			td_sh("qemu-img check '%s' >&2", img);
	}
	free(flushed);
	free(buf);
}

static void test_crash(void)
{
	const char *q = td_path("crash.qcow2"), *r = td_path("crash.raw");

	CU_ASSERT_EQUAL(td_sh("qemu-img create -q -f qcow2 -o cluster_size=4096 '%s' %llu", q,
			      (unsigned long long)SIZE), 0);
	crash(q, "qcow2");
	CU_ASSERT_EQUAL(td_sh("qemu-img create -q -f raw '%s' %llu", r, (unsigned long long)SIZE), 0);
	crash(r, "raw");
}

/* Images disk_create() makes are what qemu-img expects, and take our writes. */
static void test_create(void)
{
	const char *q = td_path("new.qcow2"), *r = td_path("new.raw");
	uint8_t *m = calloc(1, SIZE);
	char err[512], want[600];

	CU_ASSERT_EQUAL_FATAL(disk_create(q, "qcow2", SIZE, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", q), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img info '%s' | grep -q 'virtual size: 8 MiB'", q), 0);
	write_and_check(q, m, 500, 100);
	CU_ASSERT_EQUAL(disk_create(q, "qcow2", SIZE, err, sizeof(err)), -EEXIST);
	snprintf(want, sizeof(want), "%s: cannot create: File exists", q);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(disk_create(td_path("x.vdi"), "vdi", SIZE, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(disk_create(td_path("huge.qcow2"), "qcow2", 1ull << 62, err, sizeof(err)), -EFBIG);
	/* 1 TiB needs a multi-cluster L1 table. */
	CU_ASSERT_EQUAL(disk_create(td_path("tib.qcow2"), "qcow2", 1ull << 40, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(td_sh("qemu-img check -q '%s'", td_path("tib.qcow2")), 0);
	CU_ASSERT_EQUAL_FATAL(disk_create(r, "raw", SIZE, err, sizeof(err)), 0);
	memset(m, 0, SIZE);
	expect_contents(r, "raw", m, SIZE);
	free(m);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "read images made by qemu-img and qemu-io", test_read_qemu_images },
		{ "write qemu-img images, qemu-img check them", test_write_qemu_images },
		{ "zstd-compressed images, 512 B to 2 MiB clusters", test_zstd },
		{ "cluster sizes 512 B, 4 KiB, 64 KiB, 2 MiB: write, read, discard", test_cluster_sizes },
		{ "extended L2 entries (subclusters): images qemu-io wrote", test_extended_l2 },
		{ "extended L2 entries: writes, discards, qemu-img check and compare", test_extended_l2_write },
		{ "backing chain raw <- qcow2 <- qcow2", test_backing_chain },
		{ "flushed writes survive kill -9", test_crash },
		{ "disk_create makes images qemu-img accepts", test_create },
	};

	if (!td_have_qemu_img() || td_sh("command -v qemu-io >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: qemu-img/qemu-io not found (install the Debian package qemu-utils)\n");
		return 77;
	}
	return td_run_suite("disk_qemu", tests, CUNIT_COUNT(tests));
}
