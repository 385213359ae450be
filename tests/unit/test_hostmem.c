/* CUnit suite for kxen-hv's create admission: MemAvailable read from the real /proc, the reserve, the figures in the refusal, the committed total, and the fault points. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "cunit_run.h"
#include "hostmem.h"

static void test_admit(void)
{
	uint64_t avail;
	char why[160] = "";

	CU_ASSERT_EQUAL_FATAL(hostmem__available(&avail), 0);
	CU_ASSERT(avail > 0);
	hostmem_reserve = 0;
	CU_ASSERT_EQUAL(hostmem__admit(1ull << 20, why, sizeof(why)), 0);
	/* More than the host has, whatever the reserve. */
	CU_ASSERT_EQUAL(hostmem__admit(avail + (1ull << 30), why, sizeof(why)), -ENOMEM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "MiB asked, the host has"));
	/* A small create refused for the reserve alone, which the message names. */
	hostmem_reserve = avail + (1ull << 30);
	why[0] = '\0';
	CU_ASSERT_EQUAL(hostmem__admit(1ull << 20, why, sizeof(why)), -ENOMEM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "1 MiB asked"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "in reserve (--mem-reserve)"));
	hostmem_reserve = HOSTMEM_DEFAULT_RESERVE;
}

/* The domains' committed RAM: it sums, refuses past the host's RAM whole, and comes back down. */
static void test_commit(void)
{
	struct sysinfo si;
	uint64_t base = hostmem__committed();

	CU_ASSERT_EQUAL_FATAL(sysinfo(&si), 0);
	uint64_t total = (uint64_t)si.totalram * si.mem_unit;
	CU_ASSERT_EQUAL(hostmem__commit(1ull << 20), 0);
	CU_ASSERT_EQUAL(hostmem__commit(3ull << 20), 0);
	CU_ASSERT_EQUAL(hostmem__committed(), base + (4ull << 20));
	CU_ASSERT_EQUAL(hostmem__commit(total), -ENOMEM);   /* nothing of it is taken */
	CU_ASSERT_EQUAL(hostmem__commit(UINT64_MAX), -ENOMEM);
	CU_ASSERT_EQUAL(hostmem__committed(), base + (4ull << 20));
	CU_ASSERT_EQUAL(hostmem__commit(total - base - (4ull << 20)), 0);   /* exactly the host's RAM */
	CU_ASSERT_EQUAL(hostmem__commit(4096), -ENOMEM);
	hostmem__uncommit(total - base - (4ull << 20));
	hostmem__uncommit(4ull << 20);
	CU_ASSERT_EQUAL(hostmem__committed(), base);
}

static void test_fault_points(void)
{
	unsetenv(HOSTMEM_FAULT_ENV);
	CU_ASSERT_FALSE(hostmem__fault("mmap"));
	setenv(HOSTMEM_FAULT_ENV, "mmap", 1);
	CU_ASSERT_TRUE(hostmem__fault("mmap"));
	CU_ASSERT_FALSE(hostmem__fault("vcpu"));
	CU_ASSERT_FALSE(hostmem__fault("mma"));
	unsetenv(HOSTMEM_FAULT_ENV);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "admission against MemAvailable and the reserve", test_admit },
		{ "committed RAM against the host's", test_commit },
		{ "fault points by name", test_fault_points },
	};

	return cunit_run("hostmem", tests, CUNIT_COUNT(tests), NULL, NULL);
}
