/* libFuzzer harness: blkback's ring consumer and request decoding (blkback_req.c) against a hostile ring in fake guest memory. */
#include "fuzz_common.h"
#include "blkback.h"

/* What a request that decoded cleanly must be, whatever the ring said. */
static void check(const struct blkreq *q, const struct blkreq_limits *lim)
{
	uint64_t total = 0;

	if (q->op == BLKIF_OP_FLUSH_DISKCACHE)
		return;
	FZ_CHECK(q->sector <= lim->sectors && q->nr_sectors <= lim->sectors - q->sector,
		 "sectors %llu+%llu past %llu", (unsigned long long)q->sector,
		 (unsigned long long)q->nr_sectors, (unsigned long long)lim->sectors);
	if (q->op == BLKIF_OP_DISCARD) {
		FZ_CHECK(lim->discard && !lim->readonly, "discard not allowed");
		return;
	}
	FZ_CHECK(q->op == BLKIF_OP_READ || q->op == BLKIF_OP_WRITE, "op %u", q->op);
	FZ_CHECK(q->op == BLKIF_OP_READ || !lim->readonly, "write to a read-only disk");
	FZ_CHECK(q->nr_segs >= 1 && q->nr_segs <= BLK_MAX_INDIRECT_SEGS, "%u segments", q->nr_segs);
	for (unsigned i = 0; i < q->nr_segs; i++) {
		FZ_CHECK(q->seg[i].first <= q->seg[i].last && q->seg[i].last < BLK_SECTORS_PER_PAGE,
			 "segment %u: %u..%u", i, q->seg[i].first, q->seg[i].last);
		total += q->seg[i].last - q->seg[i].first + 1u;
	}
	FZ_CHECK(total == q->nr_sectors, "segments add up to %llu, not %llu", (unsigned long long)total,
		 (unsigned long long)q->nr_sectors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	blkif_sring_t *sring = malloc(BLK_PAGE);	/* one ring page, exactly */
	struct blkreq *req = malloc(sizeof(*req));
	blkif_back_ring_t ring;
	struct blkreq_limits lim;
	uint8_t flags = fz_u8(&f);

	lim.sectors = fz_u64(&f) & 0xffffffffffull;
	lim.readonly = flags & 1;
	lim.discard = (flags & 2) && !lim.readonly;	/* as blkback.c advertises it */
	lim.max_indirect = (flags & 4) ? BLK_MAX_INDIRECT_SEGS : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	fz_bytes(&f, sring, BLK_PAGE < 512 ? BLK_PAGE : 512);
	BACK_RING_INIT(&ring, sring, BLK_PAGE);
	/* As a (re)connecting backend: resume after the responses already in the page. */
	ring.req_cons = ring.rsp_prod_pvt = sring->rsp_prod;
	for (unsigned round = 0; round < 8 && f.n; round++) {
		RING_IDX rp;
		uint16_t off = fz_u16(&f) % BLK_PAGE, len = fz_u16(&f) % 1024;

		/* The guest rewrites part of the page (slots and indexes) between our passes. */
		if (len > BLK_PAGE - off)
			len = (uint16_t)(BLK_PAGE - off);
		fz_bytes(&f, (uint8_t *)sring + off, len);
		if (blkback_req__pending(&ring, &rp) < 0)
			break;	/* the real consumer disconnects here */
		FZ_CHECK(rp - ring.req_cons <= RING_SIZE(&ring), "pending %u > ring", rp - ring.req_cons);
		while (ring.req_cons != rp) {
			blkif_request_t raw;
			const char *why = NULL;
			int st;

			RING_COPY_REQUEST(&ring, ring.req_cons, &raw);
			ring.req_cons++;
			st = blkback_req__parse(&raw, &lim, req, &why);
			if (st == 0 && req->nr_indirect) {
				void *pages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

				FZ_CHECK(req->nr_indirect <= BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, "%u indirect pages",
					 req->nr_indirect);
				for (unsigned i = 0; i < req->nr_indirect; i++) {
					pages[i] = malloc(BLK_PAGE);
					fz_bytes(&f, pages[i], BLK_PAGE < 256 ? BLK_PAGE : 256);
					memset((uint8_t *)pages[i] + 256, (int)i, BLK_PAGE - 256);
				}
				st = blkback_req__indirect(req, &lim, pages, &why);
				for (unsigned i = 0; i < req->nr_indirect; i++)
					free(pages[i]);
			}
			FZ_CHECK(st == 0 || st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP, "status %d", st);
			FZ_CHECK(st == 0 || why, "refused without a reason");
			if (st == 0)
				check(req, &lim);
			blkback_req__respond(&ring, raw.id, raw.operation, (int16_t)(st ? st : BLKIF_RSP_OKAY));
			FZ_CHECK(ring.rsp_prod_pvt == ring.req_cons, "responses %u, requests %u", ring.rsp_prod_pvt,
				 ring.req_cons);
		}
		RING_PUSH_RESPONSES(&ring);
	}
	free(req);
	free(sring);
	return 0;
}
