/* Shared helpers of the disk-format suites: a private temp dir, patterns, hand-made qcow2 images, qemu-img. */
#ifndef TEST_DISK_UTIL_H
#define TEST_DISK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <CUnit/CUnit.h>
#include "cunit_run.h"
#include "kxen/disk.h"

/*
 * Makes a private temp dir (removed afterwards), runs the tests with
 * cunit_run() and returns its exit status: 0 only if all passed.
 */
int td_run_suite(const char *suite, const struct cunit_test *tests, size_t n);

/* PATH of a file name inside the suite's temp dir (one of 64 static buffers used in turn). */
const char *td_path(const char *name);

/* Fills buf with a pattern that depends on seed and the absolute offset off (so ranges can be compared). */
void td_pattern(void *buf, size_t len, uint64_t off, uint32_t seed);

/* Runs a shell command (printf format), quietly; returns its exit status or -1. */
int td_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True if qemu-img is on PATH. */
bool td_have_qemu_img(void);

/*
 * Writes a minimal valid qcow2 image: header at 0, refcount table at
 * cluster 1, one refcount block at cluster 2, the L1 table at cluster 3,
 * nothing allocated. 0 or -errno.
 */
struct td_qcow2 {
	unsigned version;	/* 2 or 3 */
	unsigned cluster_bits;
	uint64_t size;
	unsigned refcount_order;	/* v3 only; v2 is always 4 */
	const char *backing;	/* NULL: none */
	const char *backing_fmt;	/* NULL: no extension */
};
int td_make_qcow2(const char *path, const struct td_qcow2 *p);

/* Big-endian stores into a file at off (for corrupting headers and tables). */
int td_poke32(const char *path, uint64_t off, uint32_t v);
int td_poke64(const char *path, uint64_t off, uint64_t v);

/* Opens or fails the test; prints the error. */
struct disk *td_open(const char *path, const char *fmt, unsigned flags);

/* Expects disk_open to fail with rc and exactly the message "PATH: msg". */
void td_expect_open_error(const char *path, const char *fmt, unsigned flags, int rc, const char *msg);

#endif
