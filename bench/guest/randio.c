/* randio: 4 KiB random reads or writes with O_DIRECT at queue depth 1 over a file or disk, for bench/linux_disk.sh in a Linux guest and on the host alike. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * usage: randio read|write PATH SIZE_MIB OPS
 * Built static (bench/Makefile.am) so that scripts/mkinitramfs.sh -x can put
 * it in the busybox initramfs; the host runs the same binary on the same
 * file, so both sides do the same system calls in the same order (the seed
 * is fixed). One line:  randio: read ops=N ns_per_op=X iops=Y
 */

#define BLK 4096u

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: randio read|write PATH SIZE_MIB OPS\n");
	return 2;
}

static int parse(const char *s, const char *what, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !*v) {
		fprintf(stderr, "randio: %s '%s' is not a positive whole number\n", what, s);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long mib, ops, blocks;
	uint64_t x = 0x9e3779b97f4a7c15ull;   /* xorshift64: the same offsets on both sides */
	void *buf;
	int fd, wr;
	double t0, t;

	if (argc != 5 || (strcmp(argv[1], "read") && strcmp(argv[1], "write")))
		return usage();
	if (parse(argv[3], "SIZE_MIB", &mib) || parse(argv[4], "OPS", &ops))
		return 2;
	wr = !strcmp(argv[1], "write");
	blocks = mib * (1024 * 1024 / BLK);
	fd = open(argv[2], (wr ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "randio: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (posix_memalign(&buf, BLK, BLK)) {
		fprintf(stderr, "randio: out of memory\n");
		return 1;
	}
	memset(buf, 0xa5, BLK);
	t0 = now_ns();
	for (unsigned long i = 0; i < ops; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off_t off = (off_t)(x % blocks) * BLK;
		ssize_t n = wr ? pwrite(fd, buf, BLK, off) : pread(fd, buf, BLK, off);

		if (n != BLK) {
			fprintf(stderr, "randio: %s at %lld: %s\n", argv[1], (long long)off,
			        n < 0 ? strerror(errno) : "short");
			return 1;
		}
	}
	t = now_ns() - t0;
	printf("randio: %s ops=%lu ns_per_op=%.0f iops=%.0f\n", argv[1], ops, t / ops, ops / (t / 1e9));
	close(fd);
	free(buf);
	return 0;
}
