/* CUnit suite for kxen-hv's create admission: MemAvailable read from the real /proc, the reserve, the figures in the refusal, and the fault points. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
		{ "fault points by name", test_fault_points },
	};

	return cunit_run("hostmem", tests, CUNIT_COUNT(tests), NULL, NULL);
}
