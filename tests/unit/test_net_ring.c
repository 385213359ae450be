/* CUnit tests of the network backend's tx ring consumer: packet parsing, extras, slot limits, page crossing, hostile indexes, responses. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cunit_run.h"
#include "guard_pages.h"
#include "netback_ring.h"

static char *area;
static netif_tx_sring_t *sring;
static netif_tx_back_ring_t back;
static netif_tx_front_ring_t front;

/* The shared page sits between PROT_NONE guards: any read outside it faults the test. */
static int setup(void)
{
	area = guard_pages__alloc(1);
	if (!area)
		return 1;
	sring = (netif_tx_sring_t *)area;
	return 0;
}

static int teardown(void)
{
	return guard_pages__free(area, 1);
}

static void reset(RING_IDX start)
{
	memset(sring, 0, 4096);
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&front, sring, 4096);
	BACK_RING_INIT(&back, sring, 4096);
	front.req_prod_pvt = back.req_cons = back.rsp_prod_pvt = front.rsp_cons = start;
	sring->req_prod = sring->rsp_prod = start;
}

static void put(uint32_t gref, uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
	netif_tx_request_t *r = RING_GET_REQUEST(&front, front.req_prod_pvt++);

	r->gref = gref;
	r->offset = off;
	r->flags = flags;
	r->id = id;
	r->size = size;
}

static void put_extra(uint8_t type, uint8_t flags)
{
	netif_extra_info_t *e = (netif_extra_info_t *)RING_GET_REQUEST(&front, front.req_prod_pvt++);

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->flags = flags;
}

static void test_pending(void)
{
	CU_ASSERT_EQUAL(netback_ring__pending(0, 0, 256), 0);
	CU_ASSERT_EQUAL(netback_ring__pending(0, 256, 256), 256);
	CU_ASSERT_EQUAL(netback_ring__pending(0, 257, 256), -EPROTO);
	CU_ASSERT_EQUAL(netback_ring__pending(0xfffffff0u, 0x10, 256), 0x20);
	CU_ASSERT_EQUAL(netback_ring__pending(10, 5, 256), -EPROTO);   /* producer behind the consumer */
}

static void test_single_and_multi(void)
{
	struct nb_txpkt p;
	const char *why = NULL;

	reset(0xfffffffeu);   /* across the 2^32 wrap */
	put(8, 0, 0, 1, 60);
	put(9, 100, NETTXF_more_data, 2, 3000);
	put(10, 0, NETTXF_more_data, 3, 1000);
	put(11, 0, 0, 4, 500);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), 0);
	CU_ASSERT_EQUAL(p.nslots, 1);
	CU_ASSERT_EQUAL(p.len, 60);
	CU_ASSERT_PTR_NULL(p.error);
	netback_ring__tx_respond(&back, &p, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), 0);
	CU_ASSERT_EQUAL(p.nslots, 3);
	CU_ASSERT_EQUAL(p.len, 3000);
	CU_ASSERT_EQUAL(netback_ring__first_len(&p), 1500);
	netback_ring__tx_respond(&back, &p, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(back.rsp_prod_pvt - 0xfffffffeu, 4);
	CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, 0xfffffffeu + 3)->id, 4);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), -EAGAIN);
}

static void test_incomplete(void)
{
	struct nb_txpkt p;
	const char *why = NULL;

	reset(0);
	put(9, 0, NETTXF_more_data, 1, 2000);
	RING_PUSH_REQUESTS(&front);
	/* The rest of the packet is not produced yet: nothing is taken. */
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), -EAGAIN);
	CU_ASSERT_EQUAL(back.req_cons, 0);
	put(10, 0, 0, 2, 1000);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), 0);
	CU_ASSERT_EQUAL(back.req_cons, 2);
}

static void test_extras(void)
{
	struct nb_txpkt p;
	const char *why = NULL;

	reset(0);
	put(9, 0, NETTXF_extra_info | NETTXF_more_data, 7, 1200);
	put_extra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_FLAG_MORE);
	put_extra(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0);
	put(10, 0, 0, 8, 200);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), 0);
	CU_ASSERT_EQUAL(p.nslots, 2);
	CU_ASSERT_EQUAL(p.nextras, 2);
	netback_ring__tx_respond(&back, &p, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(back.rsp_prod_pvt, 4);
	CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, 0)->id, 7);
	CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, 1)->status, NETIF_RSP_NULL);
	CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, 2)->status, NETIF_RSP_NULL);
	CU_ASSERT_EQUAL(RING_GET_RESPONSE(&back, 3)->id, 8);
	/* GSO was never offered: fatal. */
	reset(0);
	put(9, 0, NETTXF_extra_info, 1, 1000);
	put_extra(XEN_NETIF_EXTRA_TYPE_GSO, 0);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void test_hostile_geometry(void)
{
	struct nb_txpkt p;
	const char *why;

	/* A slot crossing its page. */
	reset(0);
	put(9, 4000, 0, 1, 1000);
	RING_PUSH_REQUESTS(&front);
	why = NULL;
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), -EPROTO);
	CU_ASSERT_STRING_EQUAL(why, "a slot crosses its page boundary");
	/* Following slots bigger than the packet. */
	reset(0);
	put(9, 0, NETTXF_more_data, 1, 100);
	put(10, 0, 0, 2, 200);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), -EPROTO);
	/* 19 slots. */
	reset(0);
	for (int i = 0; i < 19; i++)
		put(9, 0, i < 18 ? NETTXF_more_data : 0, (uint16_t)i, i ? 10 : 1000);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), -EPROTO);
	CU_ASSERT_STRING_EQUAL(why, "a packet uses more than 18 slots");
	/* Exactly 18 is fine. */
	reset(0);
	for (int i = 0; i < 18; i++)
		put(9, 0, i < 17 ? NETTXF_more_data : 0, (uint16_t)i, i ? 10 : 1000);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), 0);
	CU_ASSERT_EQUAL(p.nslots, 18);
	/* A runt: recoverable, answered with an error. */
	reset(0);
	put(9, 0, 0, 1, 10);
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), 0);
	CU_ASSERT_PTR_NOT_NULL(p.error);
}

/* Random request streams: the parser never reads past prod, never takes more than a ring, never crashes. */
static void test_fuzz(void)
{
	srand(7);
	for (int round = 0; round < 20000; round++) {
		struct nb_txpkt p;
		const char *why;
		RING_IDX start = (RING_IDX)rand() * 7919u, prod;
		int n = rand() % 40;

		reset(start);
		for (int i = 0; i < n; i++) {
			netif_tx_request_t *r = RING_GET_REQUEST(&front, front.req_prod_pvt++);

			r->gref = (uint32_t)rand();
			r->offset = (uint16_t)(rand() % 5000);
			r->flags = (uint16_t)(rand() & 0xf);
			r->id = (uint16_t)rand();
			r->size = (uint16_t)rand();
		}
		RING_PUSH_REQUESTS(&front);
		prod = sring->req_prod;
		for (int k = 0; k < 64; k++) {
			RING_IDX before = back.req_cons;
			int rc = netback_ring__tx_get(&back, prod, &p, &why);

			if (rc) {
				CU_ASSERT_EQUAL(back.req_cons, before);
				break;
			}
			CU_ASSERT(back.req_cons - start <= (RING_IDX)n);
			CU_ASSERT(p.nslots >= 1 && p.nslots <= NB_TX_MAX_SLOTS);
			for (unsigned s = 1; s < p.nslots; s++)
				CU_ASSERT(p.slot[s].offset + p.slot[s].size <= 4096);
		}
	}
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "pending index checks", test_pending },
		{ "single and multi-slot packets across 2^32", test_single_and_multi },
		{ "incomplete packets are left alone", test_incomplete },
		{ "extra-info slots", test_extras },
		{ "hostile geometry", test_hostile_geometry },
		{ "fuzz 20000 streams", test_fuzz },
	};

	return cunit_run("net_ring", tests, CUNIT_COUNT(tests), setup, teardown);
}
