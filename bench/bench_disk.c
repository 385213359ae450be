/* Disk-format throughput: sequential MB/s and 4 KiB random IOPS through libkxdisk (raw, qcow2) beside plain pread/pwrite. */
/*
 * Every figure is the median of several rounds, printed with its ratio to
 * the host's own pread/pwrite on a raw file of the same size in the same
 * run. The library goes through the page cache, so the host baseline does
 * too; before each read phase the file's cached pages are dropped
 * (fdatasync + POSIX_FADV_DONTNEED), and each write phase includes the
 * flush that makes it durable. Usage: bench_disk [-s MiB] [-n ops] [-r rounds] [-d dir]
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kxen/disk.h"

#define SEQ_BLOCK (64u << 10)	/* about one blkif request with indirect segments */
#define RAND_BLOCK 4096u
#define MAX_ROUNDS 9

enum { SEQ_WRITE, SEQ_READ, RAND_READ, RAND_WRITE, NWORK };
static const char *const work_name[NWORK] = { "seq-write MB/s", "seq-read MB/s", "rand-read IOPS",
					      "rand-write IOPS" };

/* One way of doing I/O on a file: the host's own calls or libkxdisk. */
struct target {
	const char *name;
	const char *format;	/* NULL: plain pread/pwrite */
	char path[512];
	int fd;			/* for the host calls and for dropping the cache */
	struct disk *d;
};

static uint64_t size_bytes = 128ull << 20;
static unsigned rand_ops = 4000, rounds = 5;
static uint8_t *buf;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int t_read(struct target *t, uint64_t off, size_t len)
{
	if (t->d)
		return disk_read(t->d, off, buf, len);
	return pread(t->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static int t_write(struct target *t, uint64_t off, size_t len)
{
	if (t->d)
		return disk_write(t->d, off, buf, len);
	return pwrite(t->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static int t_flush(struct target *t)
{
	if (t->d)
		return disk_flush(t->d);
	return fdatasync(t->fd) < 0 ? -errno : 0;
}

/* Makes the next reads come from the disk, not the page cache. */
static void drop_cache(struct target *t)
{
	t_flush(t);
	fdatasync(t->fd);
	posix_fadvise(t->fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* (Re)creates the target's file empty and opens it. */
static int t_setup(struct target *t, const char *dir)
{
	char err[512];
	int rc;

	snprintf(t->path, sizeof(t->path), "%s/bench-%s.img", dir, t->name);
	unlink(t->path);
	rc = disk_create(t->path, t->format ? t->format : "raw", size_bytes, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "bench_disk: %s\n", err);
		return rc;
	}
	t->fd = open(t->path, O_RDWR);
	if (t->fd < 0)
		return -errno;
	t->d = NULL;
	if (t->format) {
		rc = disk_open(&t->d, t->path, t->format, 0, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "bench_disk: %s\n", err);
	}
	return rc;
}

static void t_teardown(struct target *t)
{
	if (t->d)
		disk_close(t->d);
	close(t->fd);
	unlink(t->path);
}

/* One round of every workload on a fresh file; figures[w] gets MB/s or IOPS. */
static int round_of(struct target *t, const char *dir, double *figures)
{
	unsigned seed = 1;
	double t0;
	int rc = t_setup(t, dir);

	/* Sequential write into a new file (qcow2 allocates as it goes), then the flush. */
	t0 = now();
	for (uint64_t off = 0; rc == 0 && off < size_bytes; off += SEQ_BLOCK)
		rc = t_write(t, off, SEQ_BLOCK);
	if (rc == 0)
		rc = t_flush(t);
	figures[SEQ_WRITE] = (double)size_bytes / 1e6 / (now() - t0);
	drop_cache(t);
	t0 = now();
	for (uint64_t off = 0; rc == 0 && off < size_bytes; off += SEQ_BLOCK)
		rc = t_read(t, off, SEQ_BLOCK);
	figures[SEQ_READ] = (double)size_bytes / 1e6 / (now() - t0);
	drop_cache(t);
	t0 = now();
	for (unsigned i = 0; rc == 0 && i < rand_ops; i++)
		rc = t_read(t, (uint64_t)rand_r(&seed) % (size_bytes / RAND_BLOCK) * RAND_BLOCK, RAND_BLOCK);
	figures[RAND_READ] = rand_ops / (now() - t0);
	t0 = now();
	for (unsigned i = 0; rc == 0 && i < rand_ops; i++)
		rc = t_write(t, (uint64_t)rand_r(&seed) % (size_bytes / RAND_BLOCK) * RAND_BLOCK, RAND_BLOCK);
	if (rc == 0)
		rc = t_flush(t);
	figures[RAND_WRITE] = rand_ops / (now() - t0);
	if (rc < 0)
		fprintf(stderr, "bench_disk: %s: %s\n", t->name, t->d ? disk_last_error(t->d) : strerror(-rc));
	t_teardown(t);
	return rc;
}

int main(int argc, char **argv)
{
	struct target targets[] = {
		{ .name = "host", .format = NULL },
		{ .name = "raw", .format = "raw" },
		{ .name = "qcow2", .format = "qcow2" },
	};
	enum { NT = sizeof(targets) / sizeof(targets[0]) };
	double fig[NT][NWORK][MAX_ROUNDS], med[NT][NWORK];
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int opt;

	while ((opt = getopt(argc, argv, "s:n:r:d:")) != -1) {
		switch (opt) {
		case 's': size_bytes = strtoull(optarg, NULL, 0) << 20; break;
		case 'n': rand_ops = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: bench_disk [-s MiB] [-n random ops] [-r rounds] [-d dir]\n");
			return 2;
		}
	}
	if (size_bytes < SEQ_BLOCK || rounds < 1 || rounds > MAX_ROUNDS || rand_ops < 1) {
		fprintf(stderr, "bench_disk: need -s >= 1, 1 <= -r <= %d, -n >= 1\n", MAX_ROUNDS);
		return 2;
	}
	buf = aligned_alloc(4096, SEQ_BLOCK);
	if (!buf)
		return 1;
	memset(buf, 0x5a, SEQ_BLOCK);
	printf("bench_disk: %llu MiB files in %s, %u-byte sequential blocks, %u random 4 KiB ops, "
	       "median of %u rounds\n", (unsigned long long)(size_bytes >> 20), dir, SEQ_BLOCK, rand_ops, rounds);
	/*
	 * Rounds interleave the targets so that drift in the machine's load hits
	 * them alike, and rotate which goes first: here the first file of a round
	 * reads markedly slower whatever it is (a filesystem/virtual-disk effect),
	 * which the median then leaves out when rounds >= 3.
	 */
	for (unsigned r = 0; r < rounds; r++)
		for (int k = 0; k < NT; k++) {
			int t = (int)((k + r) % NT);
			double f[NWORK];

			if (round_of(&targets[t], dir, f) < 0)
				return 1;
			for (int w = 0; w < NWORK; w++)
				fig[t][w][r] = f[w];
			if (getenv("BENCH_DISK_VERBOSE"))
				printf("round %u %-6s %8.0f %8.0f %8.0f %8.0f\n", r, targets[t].name,
				       f[0], f[1], f[2], f[3]);
		}
	printf("%-16s", "");
	for (int t = 0; t < NT; t++)
		printf("%14s%s", targets[t].name, t ? "  (/host)" : "");
	printf("\n");
	for (int w = 0; w < NWORK; w++) {
		printf("%-16s", work_name[w]);
		for (int t = 0; t < NT; t++) {
			qsort(fig[t][w], rounds, sizeof(double), cmp_double);
			med[t][w] = fig[t][w][rounds / 2];
			if (t)
				printf("%14.0f  (%5.2f)", med[t][w], med[t][w] / med[0][w]);
			else
				printf("%14.0f", med[t][w]);
		}
		printf("\n");
	}
	printf("RESULT bench_disk");
	for (int t = 1; t < NT; t++)
		printf(" %s_seqw=%.2f %s_seqr=%.2f %s_randr=%.2f %s_randw=%.2f", targets[t].name,
		       med[t][SEQ_WRITE] / med[0][SEQ_WRITE], targets[t].name, med[t][SEQ_READ] / med[0][SEQ_READ],
		       targets[t].name, med[t][RAND_READ] / med[0][RAND_READ], targets[t].name,
		       med[t][RAND_WRITE] / med[0][RAND_WRITE]);
	printf("\n");
	free(buf);
	return 0;
}
