/* CUnit suite for the one domain-name rule (include/kxen/domname.h). */
#include <string.h>

#include "cunit_run.h"
#include "kxen/domname.h"

static void test_accepted(void)
{
	static const char *const ok[] = {
		"a", "web-1", "db_2.example", "x+y:z@host", "0a", "a0", "Domain-0", "_", "..",
	};
	char longest[KXCTL_NAME_MAX];

	for (size_t i = 0; i < CUNIT_COUNT(ok); i++)
		CU_ASSERT_EQUAL(kxen_domname_check(ok[i], NULL), KXEN_DOMNAME_OK);
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	CU_ASSERT_EQUAL(kxen_domname_check(longest, NULL), KXEN_DOMNAME_OK);
}

static void test_refused(void)
{
	char toolong[KXCTL_NAME_MAX + 1];
	size_t bad = 99;

	memset(toolong, 'n', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	CU_ASSERT_EQUAL(kxen_domname_check("", NULL), KXEN_DOMNAME_EMPTY);
	CU_ASSERT_EQUAL(kxen_domname_check(toolong, NULL), KXEN_DOMNAME_TOO_LONG);
	CU_ASSERT_EQUAL(kxen_domname_check("-x", NULL), KXEN_DOMNAME_DASH);
	CU_ASSERT_EQUAL(kxen_domname_check("-1", NULL), KXEN_DOMNAME_DASH);   /* the first rule broken */
	CU_ASSERT_EQUAL(kxen_domname_check("123", NULL), KXEN_DOMNAME_DIGITS);
	CU_ASSERT_EQUAL(kxen_domname_check("a b", &bad), KXEN_DOMNAME_CHAR);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(kxen_domname_check("ab/c", &bad), KXEN_DOMNAME_CHAR);
	CU_ASSERT_EQUAL(bad, 2);
	CU_ASSERT_EQUAL(kxen_domname_check("tab\there", NULL), KXEN_DOMNAME_CHAR);
	CU_ASSERT_EQUAL(kxen_domname_check("caf\xc3\xa9", &bad), KXEN_DOMNAME_CHAR);
	CU_ASSERT_EQUAL(bad, 3);
	CU_ASSERT_EQUAL(kxen_domname_check("a*", NULL), KXEN_DOMNAME_CHAR);
	CU_ASSERT_EQUAL(kxen_domname_check("x\x7f", NULL), KXEN_DOMNAME_CHAR);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "accepted names", test_accepted },
		{ "refused names, first rule broken", test_refused },
	};

	return cunit_run("domname", tests, CUNIT_COUNT(tests), NULL, NULL);
}
