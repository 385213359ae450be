/* CUnit tests of the checkable UDP stream format (kxen/netstream.h): every corrupted byte, reordering, duplicates, gaps, other streams and end markers are told apart. */
#include <stdint.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <CUnit/Basic.h>
#include <kxen/netstream.h>
#include "cunit_run.h"

#define ID 0x1234abcdu

static void test_fill_check(void)
{
	static const unsigned sizes[] = { NS_HDR, NS_HDR + 1, 17, 63, 64, 999, 1472 };
	uint8_t d[1472];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned len = sizes[i];

		ns_fill(d, len, ID, 7);
		CU_ASSERT_EQUAL(ns_check(d, len), 0);
		CU_ASSERT_EQUAL(ns_get32(d), NS_MAGIC);
		CU_ASSERT_EQUAL(ns_get32(d + 4), 7);
		CU_ASSERT_EQUAL(ns_get32(d + 8), ID);
		/* Any single flipped bit anywhere is caught. */
		for (unsigned pos = 0; pos < len; pos++) {
			d[pos] ^= 0x10;
			CU_ASSERT_EQUAL(ns_check(d, len), -1);
			d[pos] ^= 0x10;
		}
		/* Cut short or padded: the length is in the sum. */
		if (len > NS_HDR)
			CU_ASSERT_EQUAL(ns_check(d, len - 1), -1);
	}
	CU_ASSERT_EQUAL(ns_check(d, NS_HDR - 1), -1);
}

static void test_neighbours_differ(void)
{
	uint8_t a[1472], b[1472];

	/* A stale buffer holding a neighbour's (or another stream's) payload under a fixed-up header fails. */
	ns_fill(a, sizeof(a), ID, 100);
	ns_fill(b, sizeof(b), ID, 101);
	memcpy(b, a, NS_HDR);
	CU_ASSERT_EQUAL(ns_check(b, sizeof(b)), -1);
	ns_fill(b, sizeof(b), ID + 1, 100);
	memcpy(b, a, NS_HDR);
	CU_ASSERT_EQUAL(ns_check(b, sizeof(b)), -1);
	/* All zero (a never-written buffer) is no datagram either. */
	memset(b, 0, sizeof(b));
	CU_ASSERT_EQUAL(ns_check(b, sizeof(b)), -1);
}

static int feed(struct ns_rx *r, uint32_t id, uint32_t seq, unsigned len)
{
	uint8_t d[1472];

	ns_fill(d, len, id, seq);
	return ns_rx_account(r, d, len);
}

static void test_order(void)
{
	struct ns_rx r = { 0 };
	uint8_t e[NS_HDR];

	CU_ASSERT_EQUAL(feed(&r, ID, NS_PROBE, 100), 0);    /* the probe locks the stream, is not counted */
	CU_ASSERT_TRUE(r.locked);
	CU_ASSERT_EQUAL(feed(&r, ID, 0, 100), 1);
	CU_ASSERT_EQUAL(feed(&r, ID, 1, 100), 1);
	CU_ASSERT_EQUAL(feed(&r, ID, 1, 100), 0);            /* duplicate */
	CU_ASSERT_EQUAL(feed(&r, ID, 4, 100), 1);            /* 2 and 3 skipped */
	CU_ASSERT_EQUAL(feed(&r, ID, 3, 100), 0);            /* late: out of order */
	CU_ASSERT_EQUAL(feed(&r, ID + 1, 5, 100), 0);        /* another stream's */
	CU_ASSERT_EQUAL(r.pkts, 3);
	CU_ASSERT_EQUAL(r.bytes, 300);
	CU_ASSERT_EQUAL(r.ooo, 2);
	CU_ASSERT_EQUAL(r.gaps, 2);
	CU_ASSERT_EQUAL(r.foreign, 1);
	CU_ASSERT_EQUAL(r.bad, 0);
	CU_ASSERT_FALSE(r.end);
	/* Another stream's end marker does not end ours; ours does, once. */
	ns_fill_end(e, ID + 1, 99);
	ns_rx_account(&r, e, sizeof(e));
	CU_ASSERT_FALSE(r.end);
	CU_ASSERT_EQUAL(r.foreign, 2);
	ns_fill_end(e, ID, 5);
	ns_rx_account(&r, e, sizeof(e));
	CU_ASSERT_TRUE(r.end);
	CU_ASSERT_EQUAL(r.expected, 5);
	ns_fill_end(e, ID, 0);
	ns_rx_account(&r, e, sizeof(e));
	CU_ASSERT_EQUAL(r.expected, 5);
}

static void test_bad(void)
{
	struct ns_rx r = { 0 };
	uint8_t d[200];

	ns_fill(d, sizeof(d), ID, 0);
	d[150] ^= 1;
	CU_ASSERT_EQUAL(ns_rx_account(&r, d, sizeof(d)), 0);
	CU_ASSERT_EQUAL(ns_rx_account(&r, d, 8), 0);           /* runt */
	memset(d, 0, sizeof(d));
	CU_ASSERT_EQUAL(ns_rx_account(&r, d, sizeof(d)), 0);   /* zeros */
	/* An end marker must be exactly a header: "kxen" at the start of a payload is not one. */
	ns_fill_end(d, ID, 0);
	CU_ASSERT_EQUAL(ns_rx_account(&r, d, sizeof(d)), 0);
	CU_ASSERT_FALSE(r.end);
	CU_ASSERT_EQUAL(r.bad, 4);
	CU_ASSERT_EQUAL(r.pkts, 0);
	CU_ASSERT_FALSE(r.locked);                               /* damage never picks the stream */
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "fill and check, every bit", test_fill_check },
		{ "stale neighbour payloads", test_neighbours_differ },
		{ "order, gaps, duplicates, streams, end", test_order },
		{ "damaged datagrams", test_bad },
	};

	return cunit_run("netstream", tests, CUNIT_COUNT(tests), NULL, NULL);
}
