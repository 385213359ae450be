/* RelaxNG verdicts kept across processes: a document once found valid against the same schema bytes skips the compile. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libxml/xmlversion.h>
#include "config_int.h"

/*
 * Compiling domain.rng is ~80% of a kxconfig_load (bench/README.md) and
 * libxml2 cannot save a compiled schema. So kxl remembers which documents
 * passed: an entry holds the schema's and the document's bytes whole, and a
 * hit compares them byte for byte (a hash only picks the slot, it never
 * decides), so an edited config or schema is always validated again. The
 * libxml2 that judged is part of the entry too. Only passes are kept: a
 * failure is validated every time, for its message. Slots are direct-mapped,
 * so the directory holds at most VERDICT_SLOTS entries.
 */
#define VERDICT_SLOTS 64
#define VERDICT_MAGIC "kxen-rng-verdict 1"

static char *verdict_dir;

void kxconfig_set_verdict_cache(const char *dir)
{
	free(verdict_dir);
	verdict_dir = dir && *dir ? strdup(dir) : NULL;
}

/* FNV-1a over both inputs: only where to look. */
static unsigned slot_of(const char *schema, size_t slen, const char *doc, size_t dlen)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < slen; i++)
		h = (h ^ (unsigned char)schema[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < dlen; i++)
		h = (h ^ (unsigned char)doc[i]) * 0x100000001b3ull;
	return (unsigned)(h % VERDICT_SLOTS);
}

static void header(char *buf, size_t len, size_t slen, size_t dlen)
{
	snprintf(buf, len, "%s %s %zu %zu\n", VERDICT_MAGIC, xmlParserVersion, slen, dlen);
}

/* The directory, only if it is ours and nobody else can write into it: a verdict is trusted. */
static int dir_trusted(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

static void entry_path(char *buf, size_t len, unsigned slot)
{
	snprintf(buf, len, "%s/%02u", verdict_dir, slot);
}

bool kxc_verdict_valid(const char *schema, size_t slen, const char *doc, size_t dlen)
{
	char path[4096], head[128];
	struct stat st;
	bool hit = false;
	char *buf = NULL;
	int fd = -1;

	if (!verdict_dir || dir_trusted(verdict_dir))
		return false;
	entry_path(path, sizeof(path), slot_of(schema, slen, doc, dlen));
	header(head, sizeof(head), slen, dlen);
	size_t hlen = strlen(head), want = hlen + slen + dlen;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || (size_t)st.st_size != want || !(buf = malloc(want)))
		goto out;
	if (read(fd, buf, want) != (ssize_t)want)
		goto out;
	hit = !memcmp(buf, head, hlen) && !memcmp(buf + hlen, schema, slen) &&
	      !memcmp(buf + hlen + slen, doc, dlen);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return hit;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void kxc_verdict_save(const char *schema, size_t slen, const char *doc, size_t dlen)
{
	char path[4096], tmp[4200], head[128];
	int fd;

	if (!verdict_dir)
		return;
	/* Best effort: a cache that cannot be written only costs the next load its compile. */
	if (mkdir(verdict_dir, 0700) < 0 && errno != EEXIST)
		return;
	if (dir_trusted(verdict_dir))
		return;
	entry_path(path, sizeof(path), slot_of(schema, slen, doc, dlen));
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	header(head, sizeof(head), slen, dlen);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int r = write_all(fd, head, strlen(head));

	if (!r)
		r = write_all(fd, schema, slen);
	if (!r)
		r = write_all(fd, doc, dlen);
	if (close(fd) < 0)
		r = -EIO;
	/* rename: a reader sees the old entry or the whole new one. */
	if (r || rename(tmp, path) < 0)
		unlink(tmp);
}
