/* CUnit suite: crafted qcow2 images (compression type, metadata overlaps, backing file names) are refused, never obeyed. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_disk_util.h"

#define MIB (1ull << 20)
#define CS 0x10000ull	/* td_make_qcow2 with cluster_bits 16: header, reftable, refblock, L1 at clusters 0-3 */

static const char *fresh(const char *name, const char *backing, const char *fmt)
{
	struct td_qcow2 p = { .version = 3, .cluster_bits = 16, .size = 64 * MIB, .refcount_order = 4,
			      .backing = backing, .backing_fmt = fmt };
	const char *path = td_path(name);

	CU_ASSERT_EQUAL_FATAL(td_make_qcow2(path, &p), 0);
	return path;
}

/* Makes the file end with cluster `last` (so that offsets up to it are inside the file). */
static void extend(const char *p, unsigned last)
{
	td_poke64(p, (last + 1) * CS - 8, 0);
}

static void read_at(const char *p, uint64_t off, void *buf, size_t len)
{
	int fd = open(p, O_RDONLY);

	CU_ASSERT_EQUAL(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_compression_type(void)
{
	const char *p = fresh("zstd.qcow2", NULL, NULL);
	struct disk *d;

	/* header_length 112: byte 104 is the compression type, the extensions start at 112. */
	td_poke32(p, 100, 112);
	td_poke64(p, 72, 8);
	/* zstd (type 1) opens; its clusters are checked against qemu-img's in test_disk_qemu. */
	td_poke32(p, 104, 0x01000000);
	d = td_open(p, "qcow2", 0);
	disk_close(d);
	td_poke32(p, 104, 0x07000000);
	td_expect_open_error(p, "qcow2", 0, -ENOTSUP, "compression type 7 is not supported (only zlib and zstd)");
	td_expect_open_error(p, "qcow2", DISK_RDONLY, -ENOTSUP,
			     "compression type 7 is not supported (only zlib and zstd)");
	td_poke64(p, 72, 0);
	td_expect_open_error(p, "qcow2", 0, -EINVAL,
			     "compression type 7 without the compression-type incompatible feature bit");
	/* zlib named explicitly is fine. */
	td_poke32(p, 104, 0);
	td_poke64(p, 72, 8);
	d = td_open(p, "qcow2", 0);
	disk_close(d);
	/* The L1 and refcount tables are rewritten in place: never over the header or each other. */
	p = fresh("tables.qcow2", NULL, NULL);
	td_poke64(p, 40, 0);
	td_expect_open_error(p, "qcow2", DISK_RDONLY, -EINVAL, "L1 table offset 0x0 overlaps the header");
	p = fresh("tables.qcow2", NULL, NULL);
	td_poke64(p, 48, 3 * CS);
	td_expect_open_error(p, "qcow2", DISK_RDONLY, -EINVAL,
			     "L1 table at 0x30000 overlaps the refcount table at 0x30000");
	/* A header_length past the end of the file. */
	p = fresh("short.qcow2", NULL, NULL);
	td_poke32(p, 100, 0x8000);
	if (truncate(p, 0x4000) == 0)
		td_expect_open_error(p, "qcow2", DISK_RDONLY, -EINVAL,
				     "header_length 32768 extends past the end of the file (16384 bytes)");
}

/*
 * One crafted image: after the pokes, op (write 'w' or discard 'd') of the
 * guest cluster at voff must fail with -EIO naming what, leave the first
 * four clusters (header and tables) as they were but for the corrupt bit,
 * and refuse every later write.
 */
static void expect_overlap(const char *name, const uint64_t (*pokes)[2], size_t n, char op,
			   uint64_t voff, const char *what)
{
	const char *p = fresh(name, NULL, NULL);
	uint8_t *before = malloc(4 * CS), *after = malloc(4 * CS), buf[512];
	struct disk *d;

	extend(p, 7);
	for (size_t i = 0; i < n; i++)
		td_poke64(p, pokes[i][0], pokes[i][1]);
	read_at(p, 0, before, 4 * CS);
	d = td_open(p, "qcow2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(buf, 0xee, sizeof(buf));
	CU_ASSERT_EQUAL(op == 'w' ? disk_write(d, voff, buf, sizeof(buf)) : disk_discard(d, voff, CS), -EIO);
	if (!strstr(disk_last_error(d), what))
		fprintf(stderr, "\n  want '%s' in '%s'\n", what, disk_last_error(d));
	CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), what));
	CU_ASSERT_PTR_NOT_NULL(strstr(disk_last_error(d), "image marked corrupt"));
	CU_ASSERT_EQUAL(disk_write(d, 7 * CS, buf, sizeof(buf)), -EIO);
	CU_ASSERT_EQUAL(disk_discard(d, 0, 64 * MIB), -EIO);
	disk_close(d);
	read_at(p, 0, after, 4 * CS);
	CU_ASSERT_EQUAL(after[79] & 2, 2);	/* the corrupt bit, as QEMU sets it */
	after[79] &= (uint8_t)~2;
	CU_ASSERT_EQUAL(memcmp(before, after, 4 * CS), 0);
	td_expect_open_error(p, "qcow2", 0, -EUCLEAN, "image is marked corrupt; repair it with "
			     "'qemu-img check -r all' or open it read-only");
	free(before);
	free(after);
}

static void test_overlaps(void)
{
	/* L1 entry 0 -> the refcount table's cluster used as an L2 table. */
	static const uint64_t l1_on_reftable[][2] = { { 3 * CS, 0x8000000000000000ull | CS } };
	/* L1 entry 0 -> the L1 table itself. */
	static const uint64_t l1_on_l1[][2] = { { 3 * CS, 0x8000000000000000ull | 3 * CS } };
	/* Refcount table entry 0 -> the L1 table: the next allocation would count in it. */
	static const uint64_t rb_on_l1[][2] = { { CS, 3 * CS } };
	/* An L2 table at cluster 4 whose entry 0 points at itself (a data cluster on an L2 table). */
	static const uint64_t data_on_l2[][2] = { { 3 * CS, 0x8000000000000000ull | 4 * CS },
						  { 4 * CS, 0x8000000000000000ull | 4 * CS } };
	/* ... at the refcount block (cluster 2), discarded: its refcount would drop and its space be punched. */
	static const uint64_t data_on_rb[][2] = { { 3 * CS, 0x8000000000000000ull | 4 * CS },
						  { 4 * CS, 0x8000000000000000ull | 2 * CS } };
	/* A compressed entry whose data lies on the header (freed and punched on overwrite). */
	static const uint64_t comp_on_header[][2] = { { 3 * CS, 0x8000000000000000ull | 4 * CS },
						      { 4 * CS, 0x4000000000000000ull | 0x200 } };
	/* ... on the refcount table, behind guest cluster 1. */
	static const uint64_t comp_on_reftable[][2] = { { 3 * CS, 0x8000000000000000ull | 4 * CS },
							{ 4 * CS + 8, 0x4000000000000000ull | (CS + 0x100) } };

	expect_overlap("l1rt.qcow2", l1_on_reftable, 1, 'w', 0,
		       "L1 entry 0: L2 table at 0x10000 overlaps the refcount table");
	expect_overlap("l1l1.qcow2", l1_on_l1, 1, 'd', 0, "L1 entry 0: L2 table at 0x30000 overlaps the L1 table");
	expect_overlap("rbl1.qcow2", rb_on_l1, 1, 'w', 0,
		       "refcount table entry 0: refcount block at 0x30000 overlaps the L1 table");
	expect_overlap("dl2.qcow2", data_on_l2, 2, 'w', 0,
		       "L2 entry for guest offset 0x0: data offset 0x40000 overlaps an L2 table");
	expect_overlap("drb.qcow2", data_on_rb, 2, 'd', 0,
		       "L2 entry for guest offset 0x0: data offset 0x20000 overlaps a refcount block");
	expect_overlap("chdr.qcow2", comp_on_header, 2, 'w', 0,
		       "L2 entry for guest offset 0x0: compressed data at 0x200 overlaps the header");
	expect_overlap("crt.qcow2", comp_on_reftable, 2, 'd', CS,
		       "L2 entry for guest offset 0x10000: compressed data at 0x10100 overlaps the refcount table");
}

static void test_backing_names(void)
{
	char want[600], err[512];
	const char *p;
	struct disk *d = NULL;
	uint8_t buf[512];

	/* What an image names is followed only beneath its own directory. */
	p = fresh("abs.qcow2", "/etc/passwd", "raw");
	td_expect_open_error(p, "qcow2", DISK_RDONLY, -EPERM, "backing file '/etc/passwd' is an absolute path: "
			     "only names relative to the image's directory are followed (a domain XML's "
			     "<backingStore> can name any file)");
	p = fresh("dotdot.qcow2", "sub/../../x.raw", "raw");
	td_expect_open_error(p, "qcow2", DISK_RDONLY, -EPERM, "backing file 'sub/../../x.raw' contains '..': "
			     "only files beneath the image's directory are followed (a domain XML's "
			     "<backingStore> can name any file)");
	CU_ASSERT_EQUAL(symlink("/etc/passwd", td_path("link.raw")), 0);
	p = fresh("link.qcow2", "link.raw", "raw");
	td_expect_open_error(p, "qcow2", DISK_RDONLY, -EPERM, "backing file 'link.raw' is or passes through "
			     "a symbolic link (a domain XML's <backingStore> can name any file)");
	CU_ASSERT_EQUAL(mkfifo(td_path("fifo.raw"), 0600), 0);
	p = fresh("fifo.qcow2", "fifo.raw", "raw");
	td_expect_open_error(p, "qcow2", DISK_RDONLY, -EPERM, "backing file 'fifo.raw' is not a regular file "
			     "(a domain XML's <backingStore> can name any file)");
	/* The domain XML may name any file, which replaces the header's name. */
	{
		int fd = open(td_path("elsewhere.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);

		memset(buf, 0x5c, sizeof(buf));
		CU_ASSERT_EQUAL(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
		close(fd);
	}
	p = td_path("abs.qcow2");
	CU_ASSERT_EQUAL(disk_open_backed(&d, p, "qcow2", 0, td_path("elsewhere.raw"), "raw", err, sizeof(err)), 0);
	if (d) {
		memset(buf, 0, sizeof(buf));
		CU_ASSERT_EQUAL(disk_read(d, 0, buf, sizeof(buf)), 0);
		CU_ASSERT_EQUAL(buf[0], 0x5c);
		disk_close(d);
	}
	d = NULL;
	p = fresh("nobacking.qcow2", NULL, NULL);
	CU_ASSERT_EQUAL(disk_open_backed(&d, p, "qcow2", 0, td_path("elsewhere.raw"), "raw", err, sizeof(err)),
			-EINVAL);
	snprintf(want, sizeof(want), "%s: the domain XML names backing file '%s' but the image has none", p,
		 td_path("elsewhere.raw"));
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(disk_open_backed(&d, td_path("elsewhere.raw"), "raw", 0, p, "qcow2", err, sizeof(err)),
			-EINVAL);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "compression type from the whole header", test_compression_type },
		{ "metadata overlaps fail the I/O and mark the image corrupt", test_overlaps },
		{ "backing file names confined to the image's directory", test_backing_names },
	};

	return td_run_suite("qcow2_hostile", tests, CUNIT_COUNT(tests));
}
