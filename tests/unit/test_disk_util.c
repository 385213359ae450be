/* Shared helpers of the disk-format suites: a private temp dir, patterns, hand-made qcow2 images, qemu-img. */
#include <config.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_disk_util.h"

static char tmpdir[256];

const char *td_path(const char *name)
{
	static char slots[64][512];
	static unsigned next;
	char *p = slots[next++ % 64];

	snprintf(p, sizeof(slots[0]), "%s/%s", tmpdir, name);
	return p;
}

void td_pattern(void *buf, size_t len, uint64_t off, uint32_t seed)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) / 8 * 0x9e3779b97f4a7c15ull ^ seed;

		x ^= x >> 29;
		b[i] = (uint8_t)(x >> (8 * ((off + i) % 8)));
	}
}

int td_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

bool td_have_qemu_img(void)
{
	return td_sh("command -v qemu-img >/dev/null 2>&1") == 0;
}

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

int td_make_qcow2(const char *path, const struct td_qcow2 *p)
{
	uint64_t cs = 1ull << p->cluster_bits, l2_cover = cs * (cs / 8);
	uint32_t l1_size = (uint32_t)((p->size + l2_cover - 1) / l2_cover);
	unsigned order = p->version == 3 ? p->refcount_order : 4;
	uint8_t *img = calloc(4, cs);
	size_t pos = p->version == 3 ? 104 : 72;
	int fd, rc = 0;

	if (!img || l1_size * 8 > cs)
		return -EINVAL;
	put32(img, 0x514649fb);
	put32(img + 4, p->version);
	put32(img + 20, p->cluster_bits);
	put64(img + 24, p->size);
	put32(img + 36, l1_size);
	put64(img + 40, 3 * cs);
	put64(img + 48, cs);
	put32(img + 56, 1);
	if (p->version == 3) {
		put32(img + 96, order);
		put32(img + 100, 104);
	}
	if (p->backing_fmt) {
		size_t l = strlen(p->backing_fmt);

		put32(img + pos, 0xe2792aca);
		put32(img + pos + 4, (uint32_t)l);
		memcpy(img + pos + 8, p->backing_fmt, l);
		pos += 8 + ((l + 7) & ~(size_t)7);
	}
	pos += 8;	/* end-of-extensions marker (zeros) */
	if (p->backing) {
		put64(img + 8, pos);
		put32(img + 16, (uint32_t)strlen(p->backing));
		memcpy(img + pos, p->backing, strlen(p->backing));
	}
	put64(img + cs, 2 * cs);	/* refcount table entry 0 -> block at cluster 2 */
	for (unsigned c = 0; c < 4; c++) {	/* clusters 0-3 have refcount 1 */
		unsigned bits = 1u << order;
		uint8_t *rb = img + 2 * cs;

		if (bits < 8)
			rb[c * bits / 8] |= (uint8_t)(1u << (c * bits % 8));
		else
			rb[(c + 1) * (bits / 8) - 1] = 1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, img, 4 * cs, 0) != (ssize_t)(4 * cs))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(img);
	return rc;
}

static int poke(const char *path, uint64_t off, const void *v, size_t n)
{
	int fd = open(path, O_WRONLY), rc = 0;

	if (fd < 0)
		return -errno;
	if (pwrite(fd, v, n, (off_t)off) != (ssize_t)n)
		rc = -EIO;
	close(fd);
	return rc;
}

int td_poke32(const char *path, uint64_t off, uint32_t v)
{
	v = htobe32(v);
	return poke(path, off, &v, 4);
}

int td_poke64(const char *path, uint64_t off, uint64_t v)
{
	v = htobe64(v);
	return poke(path, off, &v, 8);
}

struct disk *td_open(const char *path, const char *fmt, unsigned flags)
{
	struct disk *d = NULL;
	char err[512];
	int rc = disk_open(&d, path, fmt, flags, err, sizeof(err));

	if (rc < 0)
		fprintf(stderr, "\n  disk_open %s: %s\n", path, err);
	CU_ASSERT_EQUAL(rc, 0);
	return d;
}

void td_expect_open_error(const char *path, const char *fmt, unsigned flags, int rc, const char *msg)
{
	struct disk *d = NULL;
	char err[512] = "", want[768];
	int got = disk_open(&d, path, fmt, flags, err, sizeof(err));

	snprintf(want, sizeof(want), "%s: %s", path, msg);
	if (got != rc || strcmp(err, want) != 0)
		fprintf(stderr, "\n  want %d '%s'\n  got  %d '%s'\n", rc, want, got, err);
	CU_ASSERT_EQUAL(got, rc);
	CU_ASSERT_STRING_EQUAL(err, want);
	if (got == 0)
		disk_close(d);
}

int td_run_suite(const char *suite, const struct cunit_test *tests, size_t n)
{
	const char *base = getenv("TMPDIR");
	int status;

	snprintf(tmpdir, sizeof(tmpdir), "%s/kxdisk.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	status = cunit_run(suite, tests, n, NULL, NULL);
	if (getenv("KXDISK_KEEP"))
		fprintf(stderr, "kept %s\n", tmpdir);
	else
		td_sh("rm -rf '%s'", tmpdir);
	return status;
}
