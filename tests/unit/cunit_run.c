/* One CUnit runner for every unit suite: a {name, fn} table per suite, a verbose run and an honest exit status. */
#include <stdio.h>
#include <CUnit/Basic.h>

#include "cunit_run.h"

/* Adds one suite and its tests to the registry; 0 or -1 after saying what failed. */
static int cunit_add(const struct cunit_suite *su)
{
	CU_pSuite s = CU_add_suite(su->name, su->init, su->cleanup);

	if (!s) {
		fprintf(stderr, "cannot add suite %s: %s\n", su->name, CU_get_error_msg());
		return -1;
	}
	for (size_t i = 0; i < su->n; i++)
		if (!CU_add_test(s, su->tests[i].name, su->tests[i].fn)) {
			fprintf(stderr, "cannot add test %s/%s: %s\n", su->name, su->tests[i].name,
			        CU_get_error_msg());
			return -1;
		}
	return 0;
}

int cunit_run_suites(const struct cunit_suite *suites, size_t n)
{
	unsigned failures = 1;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "cannot initialise CUnit: %s\n", CU_get_error_msg());
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (cunit_add(&suites[i]) < 0)
			goto out;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto out;
	/* The counters die with the registry: read them first. A failed suite init is no assertion. */
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
	           CU_get_number_of_suites_failed();
out:
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

int cunit_run(const char *suite, const struct cunit_test *tests, size_t n,
              CU_InitializeFunc init, CU_CleanupFunc cleanup)
{
	const struct cunit_suite su = { suite, tests, n, init, cleanup };

	return cunit_run_suites(&su, 1);
}
