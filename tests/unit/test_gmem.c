/* CUnit suite for guest memory: checked access and pages split out of the RAM memfd (no KVM). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_run.h"
#include "kxen-hv.h"
#include "gmem.h"

#define MEM (8ull << 20)
#define GFN 0x100ull

static void fill(uint8_t *p, unsigned seed)
{
	for (unsigned i = 0; i < KXEN_PAGE_SIZE; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

static void test_split_keeps_contents(void)
{
	struct guest_mem m;
	uint8_t want[KXEN_PAGE_SIZE], got[KXEN_PAGE_SIZE];
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(gmem_create(&m, MEM, "test-gmem"), 0);
	fill(want, 1);
	CU_ASSERT_EQUAL(gmem_write(&m, GFN * KXEN_PAGE_SIZE, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL_FATAL(gmem_split_page(&m, KXCTL_PAGE_STORE, GFN), 0);
	int fd = m.special[KXCTL_PAGE_STORE].fd;
	CU_ASSERT_EQUAL(m.special[KXCTL_PAGE_STORE].gfn, GFN);
	/* The page's own memfd has the contents, is one page and cannot grow. */
	CU_ASSERT(fstat(fd, &st) == 0 && st.st_size == KXEN_PAGE_SIZE);
	CU_ASSERT_EQUAL(pread(fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	CU_ASSERT_EQUAL(memcmp(got, want, sizeof(got)), 0);
	CU_ASSERT(ftruncate(fd, 2 * KXEN_PAGE_SIZE) < 0 && errno == EPERM);
	/* kxen-hv's view is that page: writes through m.base land in it. */
	fill(want, 2);
	CU_ASSERT_EQUAL(gmem_write(&m, GFN * KXEN_PAGE_SIZE, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(pread(fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	CU_ASSERT_EQUAL(memcmp(got, want, sizeof(got)), 0);
	/* The RAM memfd lost its copy, until a whole-RAM reader asks for it. */
	static const uint8_t zero[KXEN_PAGE_SIZE];
	CU_ASSERT_EQUAL(pread(m.memfd, got, sizeof(got), GFN * KXEN_PAGE_SIZE), (ssize_t)sizeof(got));
	CU_ASSERT_EQUAL(memcmp(got, zero, sizeof(got)), 0);
	gmem_sync_split(&m);
	CU_ASSERT_EQUAL(pread(m.memfd, got, sizeof(got), GFN * KXEN_PAGE_SIZE), (ssize_t)sizeof(got));
	CU_ASSERT_EQUAL(memcmp(got, want, sizeof(got)), 0);
	/* Neighbours stay in the RAM memfd. */
	CU_ASSERT_EQUAL(gmem_write(&m, (GFN + 1) * KXEN_PAGE_SIZE, want, 1), 0);
	CU_ASSERT_EQUAL(pread(m.memfd, got, 1, (GFN + 1) * KXEN_PAGE_SIZE), 1);
	CU_ASSERT_EQUAL(got[0], want[0]);
	gmem_destroy(&m);
}

static void test_split_refused(void)
{
	struct guest_mem m;

	CU_ASSERT_EQUAL_FATAL(gmem_create(&m, MEM, "test-gmem"), 0);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_NR, GFN), -EINVAL);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_STORE, 0), -EINVAL);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_STORE, KXEN_PV_RESERVED_END / KXEN_PAGE_SIZE - 1), -EINVAL);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_STORE, MEM / KXEN_PAGE_SIZE), -EINVAL);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_STORE, UINT64_MAX / KXEN_PAGE_SIZE), -EINVAL);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_STORE, MEM / KXEN_PAGE_SIZE - 1), 0);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_STORE, GFN), -EEXIST);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_CONSOLE, MEM / KXEN_PAGE_SIZE - 1), -EEXIST);
	CU_ASSERT_EQUAL(gmem_split_page(&m, KXCTL_PAGE_CONSOLE, GFN), 0);
	gmem_destroy(&m);
}

static void test_checked_access(void)
{
	struct guest_mem m;
	uint8_t b[16] = { 0 };

	CU_ASSERT_EQUAL_FATAL(gmem_create(&m, MEM, "test-gmem"), 0);
	CU_ASSERT_PTR_NULL(gmem_ptr(&m, 0, 1));
	CU_ASSERT_PTR_NULL(gmem_ptr(&m, KXEN_PV_RESERVED_END - 1, 2));
	CU_ASSERT_PTR_NOT_NULL(gmem_ptr(&m, KXEN_PV_RESERVED_END, 1));
	CU_ASSERT_PTR_NOT_NULL(gmem_ptr(&m, MEM - 16, 16));
	CU_ASSERT_PTR_NULL(gmem_ptr(&m, MEM - 15, 16));
	CU_ASSERT_PTR_NULL(gmem_ptr(&m, UINT64_MAX - 4, 16));
	CU_ASSERT_EQUAL(gmem_read(&m, b, MEM, 1), -EFAULT);
	CU_ASSERT_EQUAL(gmem_write(&m, MEM - 8, b, 16), -EFAULT);
	/* The builder's pages, read by kxen-hv itself within a stated region. */
	uint64_t lo = KXEN_PV_RING0_STACKS, hi = KXEN_PV_RESERVED_END;
	CU_ASSERT_EQUAL(gmem_read_region(&m, b, lo, 16, lo, hi), 0);
	CU_ASSERT_EQUAL(gmem_read_region(&m, b, hi - 16, 16, lo, hi), 0);
	CU_ASSERT_EQUAL(gmem_read_region(&m, b, hi - 15, 16, lo, hi), -EFAULT);
	CU_ASSERT_EQUAL(gmem_read_region(&m, b, lo - 1, 16, lo, hi), -EFAULT);
	CU_ASSERT_EQUAL(gmem_read_region(&m, b, UINT64_MAX - 7, 16, lo, hi), -EFAULT);
	CU_ASSERT_EQUAL(gmem_read_region(&m, b, MEM - 8, 16, 0, UINT64_MAX), -EFAULT);   /* RAM bounds too */
	CU_ASSERT_EQUAL(gmem_read_region(&m, b, MEM - 16, 16, 0, UINT64_MAX), 0);
	gmem_destroy(&m);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "checked access", test_checked_access },
		{ "split page keeps contents, seals, syncs back", test_split_keeps_contents },
		{ "split page refusals", test_split_refused },
	};

	return cunit_run("gmem", tests, CUNIT_COUNT(tests), NULL, NULL);
}
