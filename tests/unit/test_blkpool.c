/* CUnit tests of blkback's I/O thread pool on real raw and qcow2 images: concurrent out-of-order jobs, errors, a full pool, stop with work queued. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include "blkback.h"
#include "test_disk_util.h"

#define MIB        (1u << 20)
#define DISK_SIZE  (8u * MIB)
#define JOB_LEN    (64u * 1024)   /* 16 segments of a page */

/* One buffer per job, split into page iovecs as blkback builds them from segments. */
static void fill_job(struct blkjob *j, char *buf, uint64_t off, bool write)
{
	j->write = write;
	j->off = off;
	j->nr_iov = JOB_LEN / BLK_PAGE;
	j->nr_tmp = 0;
	j->rc = 1;   /* must be overwritten */
	for (unsigned i = 0; i < j->nr_iov; i++) {
		j->iov[i].iov_base = buf + (size_t)i * BLK_PAGE;
		j->iov[i].iov_len = BLK_PAGE;
	}
}

/* Reaps until n jobs came back, putting each back; returns how many had rc != 0. */
static unsigned reap_n(struct blkpool *p, unsigned n, unsigned *seen)
{
	unsigned bad = 0;

	*seen = 0;
	while (*seen < n) {
		struct pollfd pf = { .fd = p->done_fd, .events = POLLIN };
		struct blkjob *j, *next;

		if (poll(&pf, 1, 10000) <= 0)
			break;   /* a lost wake-up shows as too few jobs seen */
		for (j = blkback_pool__reap(p); j; j = next) {
			next = j->next;
			if (j->rc)
				bad++;
			blkback_pool__put(p, j);
			(*seen)++;
		}
	}
	return bad;
}

/* All jobs in flight on 4 threads write distinct ranges; then read back, in place. */
static void roundtrip(const char *format)
{
	char err[256], *bufs = aligned_alloc(BLK_PAGE, (size_t)BLK_MAX_INFLIGHT * JOB_LEN);
	char *want = malloc(JOB_LEN);
	struct disk *d;
	struct blkpool p;
	unsigned seen;
	const char *path = td_path(format);

	CU_ASSERT_FATAL(bufs && want);
	CU_ASSERT_FATAL(disk_create(path, format, DISK_SIZE, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(disk_open(&d, path, format, 0, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(blkback_pool__start(&p, d, 4, BLK_MAX_INFLIGHT) == 0);
	/* Every job at once, in reverse order of offset: completion order is up to the threads. */
	for (unsigned i = 0; i < BLK_MAX_INFLIGHT; i++) {
		struct blkjob *j = blkback_pool__get(&p);
		uint64_t off = (uint64_t)(BLK_MAX_INFLIGHT - 1 - i) * 2 * JOB_LEN;

		CU_ASSERT_FATAL(j != NULL);
		td_pattern(bufs + (size_t)i * JOB_LEN, JOB_LEN, off, 7);
		fill_job(j, bufs + (size_t)i * JOB_LEN, off, true);
		blkback_pool__submit(&p, j);
	}
	CU_ASSERT(blkback_pool__get(&p) == NULL);   /* the pool is full: the dispatcher stops consuming */
	CU_ASSERT(blkback_pool__inflight(&p) == BLK_MAX_INFLIGHT);
	CU_ASSERT(reap_n(&p, BLK_MAX_INFLIGHT, &seen) == 0);
	CU_ASSERT(seen == BLK_MAX_INFLIGHT);
	CU_ASSERT(blkback_pool__inflight(&p) == 0);
	CU_ASSERT(disk_flush(d) == 0);

	memset(bufs, 0, (size_t)BLK_MAX_INFLIGHT * JOB_LEN);
	for (unsigned i = 0; i < BLK_MAX_INFLIGHT; i++) {
		struct blkjob *j = blkback_pool__get(&p);

		fill_job(j, bufs + (size_t)i * JOB_LEN, (uint64_t)i * 2 * JOB_LEN, false);
		blkback_pool__submit(&p, j);
	}
	CU_ASSERT(reap_n(&p, BLK_MAX_INFLIGHT, &seen) == 0);
	CU_ASSERT(seen == BLK_MAX_INFLIGHT);
	for (unsigned i = 0; i < BLK_MAX_INFLIGHT; i++) {
		td_pattern(want, JOB_LEN, (uint64_t)i * 2 * JOB_LEN, 7);
		CU_ASSERT(memcmp(bufs + (size_t)i * JOB_LEN, want, JOB_LEN) == 0);
	}
	/* The gaps between the ranges were never written: zeros (no job spilled over). */
	struct blkjob *j = blkback_pool__get(&p);
	fill_job(j, bufs, JOB_LEN, false);
	blkback_pool__submit(&p, j);
	CU_ASSERT(reap_n(&p, 1, &seen) == 0);
	memset(want, 0, JOB_LEN);
	CU_ASSERT(memcmp(bufs, want, JOB_LEN) == 0);
	blkback_pool__stop(&p);
	blkback_pool__stop(&p);   /* twice is harmless (disconnect after a failed connect) */
	CU_ASSERT(disk_close(d) == 0);
	free(bufs);
	free(want);
}

static void test_raw(void)
{
	roundtrip("raw");
}

static void test_qcow2(void)
{
	roundtrip("qcow2");
}

/* A failing job comes back with -errno and the disk's message, and the others still succeed. */
static void test_errors(void)
{
	char err[256], *buf = aligned_alloc(BLK_PAGE, JOB_LEN);
	const char *path = td_path("err.raw");
	struct disk *d;
	struct blkpool p;
	unsigned seen;

	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_FATAL(disk_create(path, "raw", DISK_SIZE, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(disk_open(&d, path, "raw", DISK_RDONLY, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(blkback_pool__start(&p, d, 2, 4) == 0);
	struct blkjob *w = blkback_pool__get(&p), *r = blkback_pool__get(&p);
	fill_job(w, buf, 0, true);          /* read-only disk */
	fill_job(r, buf, 0, false);
	blkback_pool__submit(&p, w);
	blkback_pool__submit(&p, r);
	CU_ASSERT(reap_n(&p, 2, &seen) == 1);
	CU_ASSERT(seen == 2);
	CU_ASSERT(w->rc == -EROFS);
	CU_ASSERT(w->err[0] != 0);
	CU_ASSERT(r->rc == 0);
	blkback_pool__stop(&p);
	disk_close(d);
	free(buf);
}

/* Stop with jobs still queued runs them to the end first (their pages may not be unmapped under them). */
static void test_stop_queued(void)
{
	char err[256], *buf = aligned_alloc(BLK_PAGE, 8 * JOB_LEN);
	const char *path = td_path("stop.raw");
	struct disk *d;
	struct blkpool p;

	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_FATAL(disk_create(path, "raw", DISK_SIZE, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(disk_open(&d, path, "raw", 0, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(blkback_pool__start(&p, d, 1, 8) == 0);
	for (unsigned i = 0; i < 8; i++) {
		struct blkjob *j = blkback_pool__get(&p);
		td_pattern(buf + (size_t)i * JOB_LEN, JOB_LEN, (uint64_t)i * JOB_LEN, 3);
		fill_job(j, buf + (size_t)i * JOB_LEN, (uint64_t)i * JOB_LEN, true);
		blkback_pool__submit(&p, j);
	}
	blkback_pool__stop(&p);
	CU_ASSERT(p.jobs == NULL && p.done_fd == -1);
	memset(buf, 0, 8 * JOB_LEN);
	CU_ASSERT(disk_read(d, 0, buf, 8 * JOB_LEN) == 0);
	char *want = malloc(8 * JOB_LEN);
	td_pattern(want, 8 * JOB_LEN, 0, 3);
	CU_ASSERT(memcmp(buf, want, 8 * JOB_LEN) == 0);
	free(want);
	disk_close(d);
	free(buf);
}

static void test_bad_args(void)
{
	struct blkpool p;

	CU_ASSERT(blkback_pool__start(&p, NULL, 0, 4) == -EINVAL);
	CU_ASSERT(blkback_pool__start(&p, NULL, BLKPOOL_MAX_THREADS + 1, 4) == -EINVAL);
	CU_ASSERT(blkback_pool__start(&p, NULL, 1, 0) == -EINVAL);
	blkback_pool__stop(&p);   /* nothing was started: nothing to do, no fd closed */
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "32 concurrent jobs on raw, out of order, read back", test_raw },
		{ "32 concurrent jobs on qcow2, read back", test_qcow2 },
		{ "a failing job and a good one", test_errors },
		{ "stop runs queued jobs first", test_stop_queued },
		{ "bad arguments", test_bad_args },
	};

	return td_run_suite("blkpool", tests, sizeof(tests) / sizeof(tests[0]));
}
