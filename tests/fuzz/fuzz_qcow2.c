/*
 * libFuzzer harness: libkxdisk's qcow2 on crafted images: open, then reads,
 * writes, discards and flushes from the input. Oracles: the first cluster
 * (header, extensions, backing name) is unchanged but for the bits our
 * write path legitimately sets (corrupt, autoclear), and the image opens
 * again afterwards (read-only if it was marked corrupt).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz_common.h"
#include "kxen/disk.h"

#define MAX_IMAGE (256u << 10)
#define HDR_CMP   4096u

static char dir[64];
static char path[64];
static uint8_t buf[256u << 10];

static void cleanup(void)
{
	char base[96];

	snprintf(base, sizeof(base), "%s/base.raw", dir);
	unlink(base);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char base[96];
	int fd;

	(void)argc;
	(void)argv;
	/* Flushes fdatasync the image: on tmpfs they cost nothing, so the runs go to I/O paths, not the disk. */
	snprintf(dir, sizeof(dir), "%s/kxen-fuzz-qcow2.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/image.qcow2", dir);
	atexit(cleanup);
	/* Something for a crafted image to name as its backing file. */
	snprintf(base, sizeof(base), "%s/base.raw", dir);
	fd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	memset(buf, 0x42, 65536);
	if (fd < 0 || write(fd, buf, 65536) != 65536)
		abort();
	close(fd);
	return 0;
}

static size_t read_head(uint8_t *out)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, out, HDR_CMP, 0);

	if (fd >= 0)
		close(fd);
	return n < 0 ? 0 : (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t flags = fz_u8(&f);
	size_t ilen = fz_u32(&f) % (MAX_IMAGE + 1), hn, hn2;
	uint8_t before[HDR_CMP], after[HDR_CMP];
	unsigned dflags = (flags & 1) ? DISK_RDONLY : 0;
	struct disk *d = NULL;
	char err[512];
	int fd, rc;

	if (ilen > f.n)
		ilen = f.n;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, f.p, ilen) != (ssize_t)ilen)
		abort();
	f.p += ilen;
	f.n -= ilen;
	/* Images may claim a file longer than the input: a sparse tail. */
	if (flags & 2)
		(void)ftruncate(fd, (off_t)(ilen + ((size_t)fz_u16(&f) << 9)));
	close(fd);
	err[0] = 0;
	rc = disk_open(&d, path, "qcow2", dflags, err, sizeof(err));
	if (rc < 0) {
		FZ_CHECK(err[0], "open refused without a message (rc %d)", rc);
		return 0;
	}
	hn = read_head(before);
	for (unsigned op = 0; op < 16 && f.n; op++) {
		uint8_t kind = fz_u8(&f);
		uint64_t sz = disk_size(d), off = sz ? fz_u64(&f) % sz : 0, len = fz_u32(&f) % sizeof(buf);

		if (len > sz - off)
			len = sz - off;
		switch (kind % 4) {
		case 0:
			(void)disk_read(d, off, buf, len);
			break;
		case 1:
			memset(buf, kind, len);
			rc = disk_write(d, off, buf, len);
			FZ_CHECK(!dflags || rc == -EROFS || len == 0, "a write to a read-only disk gave %d", rc);
			break;
		case 2:
			(void)disk_discard(d, off, len);
			break;
		default:
			(void)disk_flush(d);
			break;
		}
	}
	disk_close(d);
	hn2 = read_head(after);
	FZ_CHECK(hn2 >= hn, "the file shrank under its first cluster (%zu -> %zu bytes)", hn, hn2);
	if (hn >= 96) {
		/* What we may change: the corrupt bit (byte 79, bit 1) and the autoclear features (88-95). */
		after[79] = (uint8_t)((after[79] & ~2) | (before[79] & 2));
		memcpy(after + 88, before + 88, 8);
	}
	/* Only the header's own cluster: with 512-byte clusters the rest of these bytes are tables or data. */
	if (hn >= 24) {
		unsigned cb = (unsigned)before[20] << 24 | before[21] << 16 | before[22] << 8 | before[23];

		if (cb < 12 && hn > (1u << cb))
			hn = 1u << cb;
	}
	for (size_t i = 0; i < hn; i++)
		FZ_CHECK(before[i] == after[i], "header byte %zu changed: 0x%02x -> 0x%02x", i, before[i], after[i]);
	/* It still opens; a corrupt-marked image read-only only, as QEMU. */
	d = NULL;
	rc = disk_open(&d, path, "qcow2", dflags, err, sizeof(err));
	if (rc == -EUCLEAN && !dflags)
		rc = disk_open(&d, path, "qcow2", DISK_RDONLY, err, sizeof(err));
	FZ_CHECK(rc == 0, "the image no longer opens after our I/O: %s", err);
	disk_close(d);
	return 0;
}
