/* One CUnit runner for every unit suite: a {name, fn} table per suite, a verbose run and an honest exit status. */
#ifndef CUNIT_RUN_H
#define CUNIT_RUN_H

#include <stddef.h>
#include <CUnit/CUnit.h>

#define CUNIT_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One named test of a suite. */
struct cunit_test {
	const char *name;
	CU_TestFunc fn;
};

/* A suite: its tests and optional (NULL) init/cleanup run around them by CUnit. */
struct cunit_suite {
	const char *name;
	const struct cunit_test *tests;
	size_t n;
	CU_InitializeFunc init;
	CU_CleanupFunc cleanup;
};

/*
 * Registers the suites in order, runs them verbosely and returns the
 * process exit status: 0 only if every suite initialised and every test
 * and assertion passed, 1 otherwise (also when registration fails, with a
 * message naming the suite or test on stderr).
 */
int cunit_run_suites(const struct cunit_suite *suites, size_t n);

/* cunit_run_suites() for a single suite. */
int cunit_run(const char *suite, const struct cunit_test *tests, size_t n,
              CU_InitializeFunc init, CU_CleanupFunc cleanup);

#endif
