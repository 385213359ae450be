/* CPU pools: the CPU list syntax kxl and the XML share, and the credit weight/cap mapping onto cgroup values. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "cunit_run.h"
#include "kxen/kxconfig.h"
#include "cpupool.h"

#define NB 64

static int parse(const char *s, uint8_t *m)
{
	char err[256];
	return kxconfig_cpulist(s, m, NB, err, sizeof(err));
}

static void test_cpulist(void)
{
	uint8_t m[NB / 8];
	char err[256], out[128];

	CU_ASSERT_EQUAL(parse("0-3,^2,6", m), 0);
	CU_ASSERT_EQUAL(m[0], 0x4b);
	CU_ASSERT_EQUAL(m[1], 0);
	CU_ASSERT_EQUAL(parse("all", m), 0);
	CU_ASSERT_EQUAL(m[0], 0xff);
	CU_ASSERT_EQUAL(m[7], 0xff);
	CU_ASSERT_EQUAL(parse("all,^0", m), 0);   /* xl's "everything but CPU 0" */
	CU_ASSERT_EQUAL(m[0], 0xfe);
	CU_ASSERT_EQUAL(parse(" 5 , 7", m), 0);
	CU_ASSERT_EQUAL(m[0], 0xa0);
	CU_ASSERT_EQUAL(parse("63", m), 0);
	CU_ASSERT_EQUAL(m[7], 0x80);

	CU_ASSERT_EQUAL(kxconfig_cpulist("64", m, NB, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "'64' names a CPU above 63");
	CU_ASSERT_EQUAL(kxconfig_cpulist("3-1", m, NB, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "'3-1' has a range that runs backwards");
	CU_ASSERT_EQUAL(kxconfig_cpulist("1,^1", m, NB, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "'1,^1' leaves no CPU to run on");
	const char *bad[] = { "", "x", "1-", "1-x", "1,,", "-1", "1;2", "al", "^", "1 2" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(kxconfig_cpulist(bad[i], m, NB, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a CPU list"));
	}

	parse("0-3,^2,6,8-9", m);
	kxconfig_cpulist_format(m, NB, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "0-1,3,6,8-9");
	parse("all", m);
	kxconfig_cpulist_format(m, NB, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "all");
	parse("0-1", m);
	kxconfig_cpulist_format(m, 2, out, sizeof(out));   /* every CPU of a 2-CPU host */
	CU_ASSERT_STRING_EQUAL(out, "all");
	memset(m, 0, sizeof(m));
	kxconfig_cpulist_format(m, NB, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void test_weight(void)
{
	/* xl weight, cgroup v2 cpu.weight (256 -> v2's default 100, clamped to 1..10000), v1 cpu.shares (default 1024). */
	static const unsigned cases[][3] = {
		{ 256, 100, 1024 }, { 512, 200, 2048 }, { 128, 50, 512 }, { 1, 1, 4 }, { 2, 1, 8 },
		{ 1000, 391, 4000 }, { 25599, 10000, 102396 }, { 25600, 10000, 102400 }, { 65535, 10000, 262140 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(cpupool_weight_to_cpu_weight(cases[i][0]), cases[i][1]);
		CU_ASSERT_EQUAL(cpupool_weight_to_shares(cases[i][0]), cases[i][2]);
	}
}

static void test_cap(void)
{
	char buf[32];

	cpupool_cap_to_cpu_max(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "max 100000");
	cpupool_cap_to_cpu_max(25, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "25000 100000");
	cpupool_cap_to_cpu_max(150, buf, sizeof(buf));   /* one and a half CPUs */
	CU_ASSERT_STRING_EQUAL(buf, "150000 100000");
	CU_ASSERT_EQUAL(cpupool_cap_to_quota_us(0), -1);
	CU_ASSERT_EQUAL(cpupool_cap_to_quota_us(25), 25000);
	CU_ASSERT_EQUAL(cpupool_cap_to_quota_us(3200), 3200000);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "CPU lists: ranges, ^, all, errors, formatting", test_cpulist },
		{ "credit weight to cpu.weight and cpu.shares", test_weight },
		{ "cap to cpu.max and cfs_quota_us", test_cap },
	};
	return cunit_run("cpupool", tests, CUNIT_COUNT(tests), NULL, NULL);
}
