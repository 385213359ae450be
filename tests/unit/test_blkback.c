/* CUnit tests of blkback's request decoding and ring consumer: hostile ops, segments, sectors, indirect pages and ring indexes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cunit_run.h"
#include "guard_pages.h"
#include "blkback.h"

static const struct blkreq_limits lim = { .sectors = 1000, .readonly = false, .discard = true,
                                          .max_indirect = BLK_MAX_INDIRECT_SEGS };
static const struct blkreq_limits ro_lim = { .sectors = 1000, .readonly = true, .discard = false,
                                             .max_indirect = BLK_MAX_INDIRECT_SEGS };
static struct blkreq req;

static blkif_request_t rw(uint8_t op, uint64_t sector, unsigned nseg, uint8_t first, uint8_t last)
{
	blkif_request_t r;

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.id = 77;
	r.sector_number = sector;
	r.nr_segments = (uint8_t)nseg;
	for (unsigned i = 0; i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		r.seg[i] = (struct blkif_request_segment){ .gref = 10 + i, .first_sect = first,
		                                           .last_sect = last };
	return r;
}

static void test_rw_ok(void)
{
	const char *why;
	blkif_request_t r = rw(BLKIF_OP_READ, 0, 11, 0, 7);

	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(req.nr_segs, 11);
	CU_ASSERT_EQUAL(req.nr_sectors, 88);
	CU_ASSERT_EQUAL(req.id, 77);
	CU_ASSERT_EQUAL(req.seg[10].gref, 20);
	r = rw(BLKIF_OP_WRITE, 1000 - 8, 1, 0, 7);   /* the last page exactly */
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	r = rw(BLKIF_OP_WRITE, 999, 1, 3, 3);        /* one sector in mid-page */
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(req.nr_sectors, 1);
}

static void test_rw_bad(void)
{
	const char *why;
	blkif_request_t r;

	r = rw(BLKIF_OP_READ, 0, 0, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 12, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 255, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, 0, 8);          /* past the page */
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	CU_ASSERT_STRING_EQUAL(why, "segment sectors outside its page");
	r = rw(BLKIF_OP_READ, 0, 1, 5, 4);          /* ends before it starts */
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, 255, 255);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 1000 - 7, 1, 0, 7);   /* one sector past the end */
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	CU_ASSERT_STRING_EQUAL(why, "sectors beyond the end of the disk");
	r = rw(BLKIF_OP_READ, UINT64_MAX - 3, 1, 0, 7);   /* sector + count wraps */
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 1, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &ro_lim, &req, &why), BLKIF_RSP_ERROR);
	CU_ASSERT_STRING_EQUAL(why, "write to a read-only disk");
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	r = rw(BLKIF_OP_READ, 0, 1, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &ro_lim, &req, &why), 0);
	r = rw(99, 0, 1, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_EOPNOTSUPP);
	r = rw(BLKIF_OP_WRITE_BARRIER, 0, 1, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_EOPNOTSUPP);
}

static void test_flush_discard(void)
{
	const char *why;
	blkif_request_t r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0, 0);
	blkif_request_discard_t *d = (blkif_request_discard_t *)&r;

	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(req.op, BLKIF_OP_FLUSH_DISKCACHE);
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 8, 2, 0, 7);   /* a flush carrying a write */
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(req.nr_sectors, 16);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &ro_lim, &req, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 999, 1, 0, 7);
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);

	memset(&r, 0, sizeof(r));
	d->operation = BLKIF_OP_DISCARD;
	d->sector_number = 100;
	d->nr_sectors = 900;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(req.nr_sectors, 900);
	d->nr_sectors = 901;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	d->sector_number = UINT64_MAX;
	d->nr_sectors = 2;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	d->sector_number = 0;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &ro_lim, &req, &why), BLKIF_RSP_ERROR);   /* no discard on ro */
}

static void test_indirect(void)
{
	struct blkif_request_segment *page = calloc(BLK_SEGS_PER_IND_PAGE, sizeof(*page));
	void *pages[1] = { page };
	blkif_request_t r;
	blkif_request_indirect_t *ind = (blkif_request_indirect_t *)&r;
	const char *why;

	memset(&r, 0, sizeof(r));
	ind->operation = BLKIF_OP_INDIRECT;
	ind->indirect_op = BLKIF_OP_WRITE;
	ind->nr_segments = 256;
	ind->id = 5;
	ind->sector_number = 0;
	ind->indirect_grefs[0] = 42;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(req.nr_indirect, 1);
	CU_ASSERT_EQUAL(req.indirect_grefs[0], 42);
	CU_ASSERT_EQUAL(req.ring_op, BLKIF_OP_WRITE);   /* answered with the op it carries, as Linux's blkback */
	CU_ASSERT_EQUAL(req.op, BLKIF_OP_WRITE);
	for (unsigned i = 0; i < 256; i++)
		page[i] = (struct blkif_request_segment){ .gref = 100 + i, .first_sect = 0, .last_sect = 7 };
	/* 256 pages = 2048 sectors > 1000: past the end. */
	CU_ASSERT_EQUAL(blkback_req__indirect(&req, &lim, pages, &why), BLKIF_RSP_ERROR);
	ind->nr_segments = 100;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(blkback_req__indirect(&req, &lim, pages, &why), 0);
	CU_ASSERT_EQUAL(req.nr_sectors, 800);
	CU_ASSERT_EQUAL(req.seg[99].gref, 199);
	page[50].last_sect = 9;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), 0);
	CU_ASSERT_EQUAL(blkback_req__indirect(&req, &lim, pages, &why), BLKIF_RSP_ERROR);
	ind->nr_segments = 0;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	ind->nr_segments = 257;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	ind->nr_segments = 65535;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	ind->nr_segments = 8;
	ind->indirect_op = BLKIF_OP_DISCARD;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &lim, &req, &why), BLKIF_RSP_ERROR);
	ind->indirect_op = BLKIF_OP_WRITE;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &ro_lim, &req, &why), BLKIF_RSP_ERROR);
	struct blkreq_limits noind = lim;
	noind.max_indirect = 0;
	CU_ASSERT_EQUAL(blkback_req__parse(&r, &noind, &req, &why), BLKIF_RSP_ERROR);
	free(page);
}

/* A 4-page ring between PROT_NONE guard pages: a stray index would fault. */
static void test_ring(void)
{
	size_t len = 4 * GUARD_PAGE_SIZE;
	char *area = guard_pages__alloc(4);
	blkif_sring_t *sring = (blkif_sring_t *)area;
	blkif_back_ring_t back;
	blkif_front_ring_t front;
	RING_IDX rp;
	int notify, more;

	CU_ASSERT_FATAL(area != NULL);
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&front, sring, len);
	BACK_RING_INIT(&back, sring, len);
	CU_ASSERT_EQUAL(RING_SIZE(&back), 128);
	CU_ASSERT_EQUAL(blkback_req__pending(&back, &rp), 0);
	/* Fill, consume and answer across the 2^32 wrap of the free-running indexes. */
	sring->req_prod = sring->rsp_prod = 0xffffff00u;
	front.req_prod_pvt = front.rsp_cons = back.req_cons = back.rsp_prod_pvt = 0xffffff00u;
	sring->req_event = sring->rsp_event = 0xffffff01u;
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < RING_SIZE(&front); i++) {
			blkif_request_t *r = RING_GET_REQUEST(&front, front.req_prod_pvt++);
			*r = rw(BLKIF_OP_READ, i, 1, 0, 7);
			r->id = i;
		}
		CU_ASSERT(RING_FULL(&front));
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
		CU_ASSERT(notify);   /* the backend re-armed req_event (FINAL_CHECK) every round */
		CU_ASSERT_EQUAL(blkback_req__pending(&back, &rp), 128);
		while (back.req_cons != rp) {
			blkif_request_t r;
			RING_COPY_REQUEST(&back, back.req_cons, &r);
			back.req_cons++;
			blkback_req__respond(&back, r.id, r.operation, BLKIF_RSP_OKAY);
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify);
		for (unsigned i = 0; front.rsp_cons != sring->rsp_prod; i++) {
			blkif_response_t *s = RING_GET_RESPONSE(&front, front.rsp_cons++);
			CU_ASSERT_EQUAL(s->id, i);
			CU_ASSERT_EQUAL(s->status, BLKIF_RSP_OKAY);
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&back, more);
		CU_ASSERT_EQUAL(more, 0);
	}
	/* Hostile req_prod: more than a ring ahead of our responses. */
	sring->req_prod = back.rsp_prod_pvt + 129;
	CU_ASSERT_EQUAL(blkback_req__pending(&back, &rp), -EIO);
	sring->req_prod = back.rsp_prod_pvt - 1;    /* behind: looks like 2^32-1 ahead */
	CU_ASSERT_EQUAL(blkback_req__pending(&back, &rp), -EIO);
	sring->req_prod = back.rsp_prod_pvt + 128;  /* exactly a full ring is legal */
	CU_ASSERT_EQUAL(blkback_req__pending(&back, &rp), 128);
	/* Random indexes never give more than a ring's worth. */
	srand(7);
	for (unsigned i = 0; i < 100000; i++) {
		sring->req_prod = (RING_IDX)rand() * 2654435761u;
		int n = blkback_req__pending(&back, &rp);
		CU_ASSERT(n == -EIO || (n >= 0 && n <= 128));
	}
	guard_pages__free(area, 4);
}

/* Out-of-order completions are published in ring order, so resuming at rsp_prod serves exactly the unanswered. */
static void test_answer_order(void)
{
	size_t len = GUARD_PAGE_SIZE;
	char *area = guard_pages__alloc(1);
	blkif_sring_t *sring = (blkif_sring_t *)area;
	blkif_back_ring_t back;
	struct blk_held held[32];
	int notify;

	CU_ASSERT_FATAL(area != NULL);
	SHARED_RING_INIT(sring);
	BACK_RING_INIT(&back, sring, len);
	CU_ASSERT_EQUAL_FATAL(RING_SIZE(&back), 32);
	memset(held, 0, sizeof(held));
	/* Across the 2^32 wrap: requests at positions base..base+7 taken, finished 3, 1, 0, 2, 7, 5. */
	RING_IDX base = 0xfffffffcu;
	back.req_cons = back.rsp_prod_pvt = sring->rsp_prod = sring->req_prod = base;
	static const unsigned done[] = { 3, 1, 0, 2, 7, 5 };
	static const unsigned published[] = { 0, 0, 2, 4, 4, 4 };   /* rsp_prod_pvt - base after each */
	for (unsigned i = 0; i < 6; i++) {
		blkback_req__answer(&back, held, base + done[i], 100 + done[i], BLKIF_OP_WRITE, BLKIF_RSP_OKAY);
		CU_ASSERT_EQUAL(back.rsp_prod_pvt - base, published[i]);
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify);
	/* Response slot N answers request N: ids 100..103 in order. */
	for (unsigned n = 0; n < 4; n++)
		CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, base + n)->id, 100 + n);
	/* A restart resumes at rsp_prod: position 4 (never answered) is served, 5 and 7 (answered, not published) again. */
	CU_ASSERT_EQUAL(sring->rsp_prod, base + 4);
	struct blk_held fresh[32];
	memset(fresh, 0, sizeof(fresh));
	back.req_cons = back.rsp_prod_pvt = sring->rsp_prod;
	for (unsigned n = 7; n >= 4; n--)
		blkback_req__answer(&back, fresh, base + n, 100 + n, BLKIF_OP_READ, BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(back.rsp_prod_pvt - base, 8);
	for (unsigned n = 4; n < 8; n++) {
		CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, base + n)->id, 100 + n);
		CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, base + n)->status, BLKIF_RSP_ERROR);
	}
	guard_pages__free(area, 1);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "read/write requests", test_rw_ok },
		{ "malformed and forbidden requests", test_rw_bad },
		{ "flush and discard", test_flush_discard },
		{ "indirect requests", test_indirect },
		{ "ring consumer, wrap and hostile indexes", test_ring },
		{ "responses published in ring order", test_answer_order },
	};

	return cunit_run("blkback", tests, CUNIT_COUNT(tests), NULL, NULL);
}
