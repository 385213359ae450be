/* libFuzzer harness: netback's tx ring consumer (netback_ring.c) against a hostile ring in fake guest memory. */
#include "fuzz_common.h"
#include "netback_ring.h"

/* What a packet taken without error must be. */
static void check(const struct nb_txpkt *p)
{
	uint32_t rest = 0;

	FZ_CHECK(p->nslots >= 1 && p->nslots <= NB_TX_MAX_SLOTS, "%u slots", p->nslots);
	FZ_CHECK(p->nextras <= NB_TX_MAX_EXTRAS, "%u extras", p->nextras);
	FZ_CHECK(p->len == p->slot[0].size, "len %u, first slot %u", p->len, p->slot[0].size);
	for (unsigned i = 0; i < p->nslots; i++) {
		FZ_CHECK((uint32_t)p->slot[i].offset + (i ? p->slot[i].size : netback_ring__first_len(p)) <= NB_PAGE_SIZE,
			 "slot %u crosses its page", i);
		if (i)
			rest += p->slot[i].size;
	}
	FZ_CHECK(rest <= p->len && netback_ring__first_len(p) == p->len - rest, "lengths do not add up");
	FZ_CHECK(p->len >= NB_ETH_HLEN, "a %u-byte frame", p->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	netif_tx_sring_t *sring = malloc(NB_PAGE_SIZE);
	netif_tx_back_ring_t ring;
	struct nb_txpkt pkt;

	fz_bytes(&f, sring, 512);
	BACK_RING_INIT(&ring, sring, NB_PAGE_SIZE);
	ring.req_cons = ring.rsp_prod_pvt = sring->rsp_prod;
	for (unsigned round = 0; round < 8 && f.n; round++) {
		uint16_t off = fz_u16(&f) % NB_PAGE_SIZE, len = fz_u16(&f) % 1024;
		RING_IDX prod;
		int pend;

		if (len > NB_PAGE_SIZE - off)
			len = (uint16_t)(NB_PAGE_SIZE - off);
		fz_bytes(&f, (uint8_t *)sring + off, len);
		prod = sring->req_prod;
		pend = netback_ring__pending(ring.req_cons, prod, RING_SIZE(&ring));
		if (pend < 0)
			break;
		FZ_CHECK((unsigned)pend <= RING_SIZE(&ring), "pending %d", pend);
		while (ring.req_cons != prod) {
			const char *why = NULL;
			RING_IDX before = ring.req_cons;
			int rc = netback_ring__tx_get(&ring, prod, &pkt, &why);

			if (rc == -EAGAIN) {
				FZ_CHECK(ring.req_cons == before, "a partial packet consumed slots");
				break;
			}
			if (rc == -EPROTO) {
				FZ_CHECK(why != NULL, "fatal without a reason");
				goto out;
			}
			FZ_CHECK(rc == 0, "rc %d", rc);
			FZ_CHECK(ring.req_cons - before == pkt.nslots + pkt.nextras, "took %u slots for %u+%u",
				 ring.req_cons - before, pkt.nslots, pkt.nextras);
			FZ_CHECK(prod - ring.req_cons <= RING_SIZE(&ring), "consumed past prod");
			if (!pkt.error)
				check(&pkt);
			netback_ring__tx_respond(&ring, &pkt, pkt.error ? NETIF_RSP_ERROR : NETIF_RSP_OKAY);
			FZ_CHECK(ring.rsp_prod_pvt == ring.req_cons, "responses %u, requests %u", ring.rsp_prod_pvt,
				 ring.req_cons);
		}
		RING_PUSH_RESPONSES(&ring);
	}
out:
	free(sring);
	return 0;
}
