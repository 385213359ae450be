/* blkif requests and the ring consumer: every index, count, sector and segment from the guest checked before use (no I/O). */
#include <errno.h>
#include <string.h>
#include "blkback.h"

static int bad(const char **why, const char *msg)
{
	*why = msg;
	return BLKIF_RSP_ERROR;
}

/* Segments (already in our memory) and the range they cover. */
static int check_segs(struct blkreq *req, const struct blkreq_limits *lim, const char **why)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < req->nr_segs; i++) {
		const struct blkreq_seg *s = &req->seg[i];

		if (s->first > s->last || s->last >= BLK_SECTORS_PER_PAGE)
			return bad(why, "segment sectors outside its page");
		total += (uint64_t)(s->last - s->first + 1);
	}
	req->nr_sectors = total;
	if (req->sector >= lim->sectors || total > lim->sectors - req->sector)
		return bad(why, "sectors beyond the end of the disk");
	if (req->op == BLKIF_OP_WRITE && lim->readonly)
		return bad(why, "write to a read-only disk");
	return 0;
}

int blkback_req__parse(const blkif_request_t *r, const struct blkreq_limits *lim, struct blkreq *out,
                       const char **why)
{
	*why = "";
	out->id = r->id;
	out->ring_op = r->operation;
	out->op = r->operation;
	out->nr_segs = 0;
	out->nr_indirect = 0;
	out->nr_sectors = 0;
	out->sector = 0;
	switch (r->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_FLUSH_DISKCACHE:
		out->sector = r->sector_number;
		/* A flush may carry data (Linux's write with REQ_PREFLUSH|REQ_FUA): written, then flushed. */
		if (r->nr_segments == 0) {
			if (r->operation != BLKIF_OP_FLUSH_DISKCACHE)
				return bad(why, "read or write without segments");
			return 0;
		}
		if (r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return bad(why, "too many segments");
		out->nr_segs = r->nr_segments;
		for (unsigned i = 0; i < out->nr_segs; i++)
			out->seg[i] = (struct blkreq_seg){ .gref = r->seg[i].gref,
			                                   .first = r->seg[i].first_sect,
			                                   .last = r->seg[i].last_sect };
		if (out->op == BLKIF_OP_FLUSH_DISKCACHE) {
			/* Checked as the write it carries. */
			out->op = BLKIF_OP_WRITE;
			int rc = check_segs(out, lim, why);
			out->op = BLKIF_OP_FLUSH_DISKCACHE;
			return rc;
		}
		return check_segs(out, lim, why);
	case BLKIF_OP_DISCARD: {
		const blkif_request_discard_t *d = (const blkif_request_discard_t *)r;

		if (!lim->discard)
			return bad(why, "discard not enabled on this disk");
		out->sector = d->sector_number;
		out->nr_sectors = d->nr_sectors;
		if (out->sector >= lim->sectors || out->nr_sectors > lim->sectors - out->sector)
			return bad(why, "discard beyond the end of the disk");
		return 0;
	}
	case BLKIF_OP_INDIRECT: {
		const blkif_request_indirect_t *ind = (const blkif_request_indirect_t *)r;
		unsigned pages;

		/* Answered with the op it carries, as Linux's blkback does and its blkfront checks. */
		out->ring_op = ind->indirect_op;
		if (!lim->max_indirect)
			return bad(why, "indirect request, not advertised");
		if (ind->indirect_op != BLKIF_OP_READ && ind->indirect_op != BLKIF_OP_WRITE)
			return bad(why, "indirect request with an op other than read or write");
		if (ind->nr_segments == 0 || ind->nr_segments > lim->max_indirect ||
		    ind->nr_segments > BLK_MAX_INDIRECT_SEGS)
			return bad(why, "indirect segment count out of range");
		out->op = ind->indirect_op;
		out->id = ind->id;
		out->sector = ind->sector_number;
		out->nr_segs = ind->nr_segments;
		pages = (out->nr_segs + BLK_SEGS_PER_IND_PAGE - 1) / BLK_SEGS_PER_IND_PAGE;
		out->nr_indirect = pages;
		for (unsigned i = 0; i < pages; i++)
			out->indirect_grefs[i] = ind->indirect_grefs[i];
		if (out->op == BLKIF_OP_WRITE && lim->readonly)
			return bad(why, "write to a read-only disk");
		return 0;
	}
	default:
		*why = "unknown operation";
		return BLKIF_RSP_EOPNOTSUPP;
	}
}

int blkback_req__indirect(struct blkreq *req, const struct blkreq_limits *lim, void *const *pages,
                          const char **why)
{
	for (unsigned i = 0; i < req->nr_segs; i++) {
		const struct blkif_request_segment *src =
			(const struct blkif_request_segment *)pages[i / BLK_SEGS_PER_IND_PAGE] +
			i % BLK_SEGS_PER_IND_PAGE;
		struct blkif_request_segment s;

		/* One copy each: the guest may still be scribbling on the page. */
		memcpy(&s, src, sizeof(s));
		req->seg[i] = (struct blkreq_seg){ .gref = s.gref, .first = s.first_sect,
		                                   .last = s.last_sect };
	}
	return check_segs(req, lim, why);
}

int blkback_req__pending(blkif_back_ring_t *ring, RING_IDX *rp)
{
	RING_IDX prod = __atomic_load_n(&ring->sring->req_prod, __ATOMIC_RELAXED);

	rmb();   /* requests are read only after req_prod */
	/* More than a ring of requests past our responses cannot be: stop trusting this ring. */
	if (RING_REQUEST_PROD_OVERFLOW(ring, prod))
		return -EIO;
	*rp = prod;
	return (int)(prod - ring->req_cons);
}

void blkback_req__respond(blkif_back_ring_t *ring, uint64_t id, uint8_t op, int16_t status)
{
	blkif_response_t *rsp = RING_GET_RESPONSE(ring, ring->rsp_prod_pvt);

	rsp->id = id;
	rsp->operation = op;
	rsp->status = status;
	ring->rsp_prod_pvt++;
}

void blkback_req__answer(blkif_back_ring_t *ring, struct blk_held *held, RING_IDX pos, uint64_t id,
                         uint8_t op, int16_t status)
{
	RING_IDX mask = RING_SIZE(ring) - 1;
	struct blk_held *h = &held[pos & mask];

	*h = (struct blk_held){ .id = id, .op = op, .st = status, .done = true };
	while ((h = &held[ring->rsp_prod_pvt & mask])->done) {
		blkback_req__respond(ring, h->id, h->op, h->st);
		h->done = false;
	}
}
