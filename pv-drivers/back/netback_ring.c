/* netif tx parsing and index checks, after Linux netback's xenvif_count_requests/get_extras rules, on our own copy of each request. */
#include <errno.h>
#include "netback_ring.h"

int netback_ring__pending(RING_IDX req_cons, RING_IDX prod, unsigned ring_size)
{
	RING_IDX n = prod - req_cons;

	if (n > ring_size)
		return -EPROTO;
	return (int)n;
}

/* One request copied out of the shared page: the guest may rewrite it meanwhile, we never re-read it. */
static void get_req(netif_tx_back_ring_t *r, RING_IDX i, netif_tx_request_t *out)
{
	const volatile netif_tx_request_t *req = RING_GET_REQUEST(r, i);

	out->gref = req->gref;
	out->offset = req->offset;
	out->flags = req->flags;
	out->id = req->id;
	out->size = req->size;
}

int netback_ring__tx_get(netif_tx_back_ring_t *r, RING_IDX prod, struct nb_txpkt *pkt, const char **why)
{
	RING_IDX i = r->req_cons;
	unsigned used = 0;
	uint32_t rest = 0;
	netif_tx_request_t req;

	memset(pkt, 0, sizeof(*pkt));
	if (i == prod)
		return -EAGAIN;
	get_req(r, i++, &pkt->slot[0]);
	pkt->nslots = 1;
	pkt->len = pkt->slot[0].size;
	req = pkt->slot[0];
	/* Extra-info slots follow the first request. */
	if (req.flags & NETTXF_extra_info) {
		uint8_t flags;

		do {
			netif_extra_info_t ex;

			if (i == prod)
				return -EAGAIN;
			if (pkt->nextras == NB_TX_MAX_EXTRAS) {
				*why = "too many extra-info slots";
				return -EPROTO;
			}
			memcpy(&ex, (const void *)RING_GET_REQUEST(r, i), sizeof(ex));
			pkt->extra_pos[pkt->nextras++] = ++used;
			i++;
			if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO) {
				if (ex.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 && ex.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6) {
					*why = "GSO extra-info of an unknown type";
					return -EPROTO;
				}
				if (ex.u.gso.size == 0) {
					*why = "GSO extra-info with size 0";
					return -EPROTO;
				}
				pkt->gso_type = ex.u.gso.type;
				pkt->gso_size = ex.u.gso.size;
			} else if (ex.type != XEN_NETIF_EXTRA_TYPE_MCAST_ADD && ex.type != XEN_NETIF_EXTRA_TYPE_MCAST_DEL) {
				*why = "unknown extra-info type";
				return -EPROTO;
			}
			flags = ex.flags;
		} while (flags & XEN_NETIF_EXTRA_FLAG_MORE);
	}
	while (req.flags & NETTXF_more_data) {
		if (i == prod)
			return -EAGAIN;
		if (pkt->nslots == NB_TX_MAX_SLOTS) {
			*why = "a packet uses more than 18 slots";
			return -EPROTO;
		}
		get_req(r, i++, &req);
		used++;
		if (req.size > pkt->len || rest + req.size > pkt->len) {
			*why = "slot sizes add up to more than the packet's length";
			return -EPROTO;
		}
		rest += req.size;
		pkt->slot[pkt->nslots++] = req;
	}
	for (unsigned s = 0; s < pkt->nslots; s++) {
		const netif_tx_request_t *q = &pkt->slot[s];
		uint32_t len = s ? q->size : pkt->len - rest;

		if ((uint32_t)q->offset + len > NB_PAGE_SIZE) {
			*why = "a slot crosses its page boundary";
			return -EPROTO;
		}
	}
	r->req_cons = i;
	if (pkt->len < NB_ETH_HLEN)
		pkt->error = "runt frame (shorter than an Ethernet header)";
	else if (pkt->len - rest == 0 && pkt->nslots > 1)
		pkt->error = "empty first slot";
	return 0;
}

uint32_t netback_ring__first_len(const struct nb_txpkt *pkt)
{
	uint32_t rest = 0;

	for (unsigned s = 1; s < pkt->nslots; s++)
		rest += pkt->slot[s].size;
	return pkt->len - rest;
}

void netback_ring__tx_respond(netif_tx_back_ring_t *r, const struct nb_txpkt *pkt, int16_t status)
{
	unsigned total = pkt->nslots + pkt->nextras, s = 0, e = 0;

	for (unsigned k = 0; k < total; k++) {
		netif_tx_response_t *rsp = RING_GET_RESPONSE(r, r->rsp_prod_pvt);

		if (e < pkt->nextras && pkt->extra_pos[e] == k) {
			rsp->id = 0;
			rsp->status = NETIF_RSP_NULL;
			e++;
		} else {
			rsp->id = pkt->slot[s++].id;
			rsp->status = status;
		}
		r->rsp_prod_pvt++;
	}
}
