/* CUnit suite for libkxconfig's RelaxNG verdicts: kept for valid documents only, trusted only for the same bytes of both files, in a directory nobody else writes. */
#include <config.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libxml/parser.h>
#include "cunit_run.h"
#include "kxen/kxconfig.h"

#define SCHEMA TEST_DATA_DIR "/../../xml/domain.rng"
#define SLOTS 64   /* verdict.c's VERDICT_SLOTS */

static char dir[PATH_MAX], cache[PATH_MAX], doc[PATH_MAX], schema_copy[PATH_MAX];
static char err[1024];

static const char valid[] =
	"<domain type='kxen'>\n  <name>v</name>\n  <memory unit='MiB'>4</memory>\n  <vcpu>1</vcpu>\n"
	"  <os>\n    <type>xenpv</type>\n    <kernel>/k</kernel>\n  </os>\n</domain>\n";
/* Not in the closed schema, but nothing after the schema looks at it: only RelaxNG refuses it. */
static const char invalid[] =
	"<domain type='kxen'>\n  <name>v</name>\n  <memory unit='MiB'>4</memory>\n  <vcpu>1</vcpu>\n"
	"  <os>\n    <type>xenpv</type>\n    <kernel>/k</kernel>\n  </os>\n  <bogus/>\n</domain>\n";

static void put(const char *path, const char *a, size_t alen, const char *b, size_t blen)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(a, 1, alen, f), alen);
	if (blen)
		CU_ASSERT_EQUAL(fwrite(b, 1, blen, f), blen);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(1 << 20);

	if (!f || !buf) {
		free(buf);
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static int load(void)
{
	struct kxconfig *c = NULL;
	int r = kxconfig_load(doc, &c, err, sizeof(err));

	kxconfig_free(c);
	return r;
}

static unsigned entries(void)
{
	unsigned n = 0;
	char path[PATH_MAX + 8];

	for (unsigned i = 0; i < SLOTS; i++) {
		snprintf(path, sizeof(path), "%s/%02u", cache, i);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* Every slot claims that doc text was found valid against schema text: whichever slot is asked, it answers. */
static void plant(const char *schema, size_t slen, const char *text)
{
	char head[128], path[PATH_MAX + 8];
	size_t dlen = strlen(text);
	char *body = malloc(slen + dlen);

	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	memcpy(body, schema, slen);
	memcpy(body + slen, text, dlen);
	snprintf(head, sizeof(head), "kxen-rng-verdict 1 %s %zu %zu\n", xmlParserVersion, slen, dlen);
	for (unsigned i = 0; i < SLOTS; i++) {
		snprintf(path, sizeof(path), "%s/%02u", cache, i);
		put(path, head, strlen(head), body, slen + dlen);
	}
	free(body);
}

static void test_kept_for_valid_only(void)
{
	put(doc, valid, strlen(valid), NULL, 0);
	CU_ASSERT_EQUAL(load(), 0);
	CU_ASSERT_EQUAL(entries(), 1);
	CU_ASSERT_EQUAL(load(), 0);
	CU_ASSERT_EQUAL(entries(), 1);
	/* Edited into an invalid config: refused with the schema's own message, and nothing kept. */
	put(doc, invalid, strlen(invalid), NULL, 0);
	CU_ASSERT_EQUAL(load(), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "d.xml:9: element 'bogus': unknown element"));
	CU_ASSERT_EQUAL(entries(), 1);
	CU_ASSERT_EQUAL(load(), -EINVAL);
}

static void test_bytes_decide(void)
{
	size_t slen;
	char *schema = slurp(SCHEMA, &slen);

	CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
	put(doc, invalid, strlen(invalid), NULL, 0);
	/* A verdict for exactly these bytes is believed: this is what skips the compile. */
	plant(schema, slen, invalid);
	CU_ASSERT_EQUAL(load(), 0);
	/* The same document against a schema one byte different (an edited schema): validated again. */
	put(schema_copy, schema, slen, " ", 1);
	setenv(KXCONFIG_SCHEMA_ENV, schema_copy, 1);
	CU_ASSERT_EQUAL(load(), -EINVAL);
	setenv(KXCONFIG_SCHEMA_ENV, SCHEMA, 1);
	/* A verdict for another document of the same length, in every slot: not this one's. */
	char other[sizeof(invalid)];
	memcpy(other, invalid, sizeof(invalid));
	other[strlen(other) - 5] = 'X';   /* "</domaiX>" */
	plant(schema, slen, other);
	CU_ASSERT_EQUAL(load(), -EINVAL);
	/* A directory others may write into is not trusted. */
	plant(schema, slen, invalid);
	CU_ASSERT_EQUAL(chmod(cache, 0777), 0);
	CU_ASSERT_EQUAL(load(), -EINVAL);
	CU_ASSERT_EQUAL(chmod(cache, 0700), 0);
	CU_ASSERT_EQUAL(load(), 0);
	/* Without a directory nothing is kept or believed. */
	kxconfig_set_verdict_cache(NULL);
	CU_ASSERT_EQUAL(load(), -EINVAL);
	kxconfig_set_verdict_cache(cache);
	free(schema);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "verdicts kept for valid documents only", test_kept_for_valid_only },
		{ "the schema's and document's bytes decide", test_bytes_decide },
	};
	char tmpl[] = "/tmp/test_verdict.XXXXXX";
	int r;

	if (!mkdtemp(tmpl))
		return 1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	snprintf(cache, sizeof(cache), "%s/verdicts", dir);
	snprintf(doc, sizeof(doc), "%s/d.xml", dir);
	snprintf(schema_copy, sizeof(schema_copy), "%s/domain.rng", dir);
	setenv(KXCONFIG_SCHEMA_ENV, SCHEMA, 1);
	kxconfig_set_verdict_cache(cache);
	r = cunit_run("verdict", tests, CUNIT_COUNT(tests), NULL, NULL);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return r;
}
