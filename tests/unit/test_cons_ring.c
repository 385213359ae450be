/* CUnit tests of kxen-backd's console ring code over an in-memory page, with hostile guest indexes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cunit_run.h"
#include "guard_pages.h"
#include "cons_ring.h"

#define OUT_SIZE 2048u
#define IN_SIZE  1024u

static char *page;                      /* between guard pages */
static struct xencons_interface *intf;

/* The interface ends flush against a PROT_NONE page: any read past it faults the test. */
static int setup(void)
{
	page = guard_pages__alloc(1);
	if (!page)
		return 1;
	intf = (struct xencons_interface *)(page + GUARD_PAGE_SIZE - sizeof(*intf));
	return 0;
}

static int teardown(void)
{
	return guard_pages__free(page, 1);
}

static void reset(XENCONS_RING_IDX out, XENCONS_RING_IDX in)
{
	memset(intf, 0, sizeof(*intf));
	intf->out_cons = intf->out_prod = out;
	intf->in_cons = intf->in_prod = in;
}

/* What the guest frontend does: bytes, then the index. */
static void guest_puts(const char *s)
{
	for (; *s; s++) {
		intf->out[MASK_XENCONS_IDX(intf->out_prod, intf->out)] = *s;
		intf->out_prod++;
	}
}

static void test_empty(void)
{
	struct cons_ring r;
	char buf[16];

	reset(0, 0);
	cons_ring__init(&r, intf);
	CU_ASSERT_EQUAL(cons_ring__peek_out(&r, buf, sizeof(buf)), 0);
}

static void test_out_basic(void)
{
	struct cons_ring r;
	char buf[64];

	reset(0, 0);
	cons_ring__init(&r, intf);
	guest_puts("hello\n");
	CU_ASSERT_EQUAL_FATAL(cons_ring__peek_out(&r, buf, sizeof(buf)), 6);
	CU_ASSERT(memcmp(buf, "hello\n", 6) == 0);
	/* Peeking consumes nothing: the guest must not see room until the log has the bytes. */
	CU_ASSERT_EQUAL(intf->out_cons, 0);
	CU_ASSERT_EQUAL(cons_ring__peek_out(&r, buf, 3), 3);
	cons_ring__consume_out(&r, 6);
	CU_ASSERT_EQUAL(intf->out_cons, 6);
	CU_ASSERT_EQUAL(cons_ring__peek_out(&r, buf, sizeof(buf)), 0);
}

/* Indexes near 2^32 and data across the ring's end. */
static void test_out_wrap(void)
{
	struct cons_ring r;
	char buf[OUT_SIZE];

	reset(UINT32_MAX - 3, 0);
	intf->out_cons = intf->out_prod = UINT32_MAX - 3;
	cons_ring__init(&r, intf);
	guest_puts("0123456789");
	CU_ASSERT_EQUAL_FATAL(cons_ring__peek_out(&r, buf, sizeof(buf)), 10);
	CU_ASSERT(memcmp(buf, "0123456789", 10) == 0);
	cons_ring__consume_out(&r, 10);
	CU_ASSERT_EQUAL(intf->out_cons, 6);
}

static void test_out_full_and_hostile(void)
{
	struct cons_ring r;
	char buf[OUT_SIZE];

	reset(100, 0);
	cons_ring__init(&r, intf);
	intf->out_prod = 100 + OUT_SIZE;           /* exactly full: legal */
	CU_ASSERT_EQUAL(cons_ring__peek_out(&r, buf, sizeof(buf)), (int)OUT_SIZE);
	intf->out_prod = 100 + OUT_SIZE + 1;       /* more than a ring: impossible */
	CU_ASSERT_EQUAL(cons_ring__peek_out(&r, buf, sizeof(buf)), -EPROTO);
	intf->out_prod = 99;                       /* behind the consumer */
	CU_ASSERT_EQUAL(cons_ring__peek_out(&r, buf, sizeof(buf)), -EPROTO);
}

/* A guest moving our out_cons cannot make us skip or re-read: we keep our own. */
static void test_out_cons_scribbled(void)
{
	struct cons_ring r;
	char buf[64];

	reset(0, 0);
	cons_ring__init(&r, intf);
	guest_puts("abc");
	intf->out_cons = 0xdeadbeef;
	CU_ASSERT_EQUAL_FATAL(cons_ring__peek_out(&r, buf, sizeof(buf)), 3);
	CU_ASSERT(memcmp(buf, "abc", 3) == 0);
	cons_ring__consume_out(&r, 3);
	CU_ASSERT_EQUAL(intf->out_cons, 3);
}

/* A restarted backend resumes at the page's out_cons: nothing lost, nothing repeated. */
static void test_restart(void)
{
	struct cons_ring r1, r2;
	char buf[64];

	reset(0, 0);
	cons_ring__init(&r1, intf);
	guest_puts("line1\n");
	CU_ASSERT_EQUAL(cons_ring__peek_out(&r1, buf, sizeof(buf)), 6);
	cons_ring__consume_out(&r1, 6);
	guest_puts("line2\n");
	/* r1 dies here, before reading line2. */
	cons_ring__init(&r2, intf);
	CU_ASSERT_EQUAL_FATAL(cons_ring__peek_out(&r2, buf, sizeof(buf)), 6);
	CU_ASSERT(memcmp(buf, "line2\n", 6) == 0);
}

static void test_in(void)
{
	struct cons_ring r;
	char big[IN_SIZE + 100];

	reset(0, UINT32_MAX - 1);
	cons_ring__init(&r, intf);
	CU_ASSERT_EQUAL(cons_ring__put_in(&r, "hi\r", 3), 3);
	CU_ASSERT_EQUAL(intf->in_prod, 1);
	CU_ASSERT_EQUAL(intf->in[MASK_XENCONS_IDX(UINT32_MAX - 1, intf->in)], 'h');
	CU_ASSERT_EQUAL(intf->in[MASK_XENCONS_IDX(UINT32_MAX, intf->in)], 'i');
	CU_ASSERT_EQUAL(intf->in[MASK_XENCONS_IDX(0, intf->in)], '\r');
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(cons_ring__put_in(&r, big, sizeof(big)), (int)IN_SIZE - 3);
	CU_ASSERT_EQUAL(cons_ring__put_in(&r, big, sizeof(big)), 0);   /* full: the caller holds the rest */
	intf->in_cons += 10;                                           /* the guest reads 10 */
	CU_ASSERT_EQUAL(cons_ring__put_in(&r, big, sizeof(big)), 10);
}

static void test_in_hostile(void)
{
	struct cons_ring r;

	reset(0, 50);
	cons_ring__init(&r, intf);
	intf->in_cons = 51;                        /* ahead of what we produced */
	CU_ASSERT_EQUAL(cons_ring__put_in(&r, "x", 1), -EPROTO);
	intf->in_cons = 50 - IN_SIZE - 1;          /* more than a ring behind */
	CU_ASSERT_EQUAL(cons_ring__put_in(&r, "x", 1), -EPROTO);
	intf->in_prod = 7777;                      /* scribbling on our in_prod changes nothing */
	intf->in_cons = 50;
	CU_ASSERT_EQUAL(cons_ring__put_in(&r, "x", 1), 1);
	CU_ASSERT_EQUAL(intf->in_prod, 51);
}

/* Random indexes and contents: results stay in bounds and the guard pages never fault. */
static void test_fuzz(void)
{
	struct cons_ring r;
	char buf[OUT_SIZE];
	unsigned seed = 12345;

	for (int i = 0; i < 200000; i++) {
		int n;

		if (i % 1000 == 0) {
			for (size_t b = 0; b < sizeof(*intf); b++)
				((unsigned char *)intf)[b] = (unsigned char)rand_r(&seed);
			cons_ring__init(&r, intf);
		}
		intf->out_prod = (i & 1) ? (XENCONS_RING_IDX)rand_r(&seed)
					 : r.out_cons + (XENCONS_RING_IDX)(rand_r(&seed) % (OUT_SIZE + 2));
		intf->in_cons = (i & 2) ? (XENCONS_RING_IDX)rand_r(&seed)
					: r.in_prod - (XENCONS_RING_IDX)(rand_r(&seed) % (IN_SIZE + 2));
		n = cons_ring__peek_out(&r, buf, (size_t)rand_r(&seed) % (OUT_SIZE + 1));
		CU_ASSERT_FATAL(n == -EPROTO || (n >= 0 && n <= (int)OUT_SIZE));
		if (n > 0)
			cons_ring__consume_out(&r, (size_t)n);
		n = cons_ring__put_in(&r, buf, (size_t)rand_r(&seed) % (IN_SIZE + 10));
		CU_ASSERT_FATAL(n == -EPROTO || (n >= 0 && n <= (int)IN_SIZE));
	}
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "empty ring", test_empty },
		{ "output peek and consume", test_out_basic },
		{ "output across 2^32 and the ring end", test_out_wrap },
		{ "full ring, hostile out_prod", test_out_full_and_hostile },
		{ "guest scribbles out_cons", test_out_cons_scribbled },
		{ "restart resumes at out_cons", test_restart },
		{ "input fill and wrap", test_in },
		{ "hostile in_cons and in_prod", test_in_hostile },
		{ "fuzz 200000 rounds", test_fuzz },
	};

	return cunit_run("cons_ring", tests, CUNIT_COUNT(tests), setup, teardown);
}
