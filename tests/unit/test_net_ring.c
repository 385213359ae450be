/* CUnit tests of the network backend's tx ring consumer: packet parsing, extras, slot limits, page crossing, hostile indexes, responses. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cunit_run.h"
#include "guard_pages.h"
#include "netback_ring.h"
#include "netback_csum.h"

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
	/* GSO (offered): its type and MSS are taken; size 0 or an unknown type is fatal, as in Linux netback. */
	reset(0);
	put(9, 0, NETTXF_extra_info, 1, 1000);
	put_extra(XEN_NETIF_EXTRA_TYPE_GSO, 0);
	((netif_extra_info_t *)RING_GET_REQUEST(&front, 1))->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV6;
	((netif_extra_info_t *)RING_GET_REQUEST(&front, 1))->u.gso.size = 1428;
	RING_PUSH_REQUESTS(&front);
	CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), 0);
	CU_ASSERT_EQUAL(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV6);
	CU_ASSERT_EQUAL(p.gso_size, 1428);
	CU_ASSERT_EQUAL(p.nextras, 1);
	for (unsigned bad = 0; bad < 2; bad++) {
		netif_extra_info_t *e;

		reset(0);
		put(9, 0, NETTXF_extra_info, 1, 1000);
		put_extra(XEN_NETIF_EXTRA_TYPE_GSO, 0);
		e = (netif_extra_info_t *)RING_GET_REQUEST(&front, 1);
		e->u.gso.type = bad ? XEN_NETIF_GSO_TYPE_TCPV4 : 7;
		e->u.gso.size = bad ? 0 : 1448;
		RING_PUSH_REQUESTS(&front);
		why = NULL;
		CU_ASSERT_EQUAL(netback_ring__tx_get(&back, sring->req_prod, &p, &why), -EPROTO);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
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

/* Ones'-complement sum of the pseudo-header and the L4 bytes: 0xffff when the checksum in them is right. */
static uint16_t l4_verify(const uint8_t *ip, uint32_t l4len)
{
	uint32_t acc = 0;
	uint8_t pseudo[12] = { 0 };

	memcpy(pseudo, ip + 12, 8);
	pseudo[9] = ip[9];
	pseudo[10] = (uint8_t)(l4len >> 8);
	pseudo[11] = (uint8_t)l4len;
	for (unsigned i = 0; i < 12; i += 2)
		acc += (uint32_t)pseudo[i] << 8 | pseudo[i + 1];
	for (uint32_t i = 0; i < l4len; i += 2)
		acc += (uint32_t)ip[20 + i] << 8 | (i + 1 < l4len ? ip[20 + i + 1] : 0);
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* An Ethernet + IPv4 frame of protocol proto with l4len bytes of random L4 (a garbage checksum field). */
static uint32_t mkframe(uint8_t *f, uint8_t proto, uint32_t l4len)
{
	memset(f, 0, 14 + 20);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((20 + l4len) >> 8);
	f[17] = (uint8_t)(20 + l4len);
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, (uint8_t[]){ 192, 0, 2, 2, 192, 0, 2, 254 }, 8);
	for (uint32_t i = 0; i < l4len; i++)
		f[34 + i] = (uint8_t)rand();
	return 14 + 20 + l4len;
}

static void test_csum_complete(void)
{
	static uint8_t f[2048];
	uint32_t len;

	for (unsigned n = 0; n < 200; n++) {
		uint32_t l4len = 20 + (uint32_t)rand() % 1461;   /* odd lengths too */

		len = mkframe(f, n % 2 ? 6 : 17, l4len);
		CU_ASSERT_EQUAL_FATAL(netback_csum__complete(f, len + (uint32_t)(n % 3)), 0);   /* Ethernet padding allowed */
		CU_ASSERT_EQUAL(l4_verify(f + 14, l4len), 0xffff);
	}
	/* Refused, and left alone: not IPv4, an ICMP packet, a fragment, a length past the frame, runts. */
	len = mkframe(f, 6, 40);
	f[12] = 0x86, f[13] = 0xdd;
	CU_ASSERT_EQUAL(netback_csum__complete(f, len), -EINVAL);
	len = mkframe(f, 1, 40);
	CU_ASSERT_EQUAL(netback_csum__complete(f, len), -EINVAL);
	len = mkframe(f, 17, 40);
	f[20] = 0x20;   /* more fragments */
	CU_ASSERT_EQUAL(netback_csum__complete(f, len), -EINVAL);
	len = mkframe(f, 17, 40);
	CU_ASSERT_EQUAL(netback_csum__complete(f, len - 1), -EINVAL);
	len = mkframe(f, 6, 12);   /* shorter than a TCP header */
	CU_ASSERT_EQUAL(netback_csum__complete(f, len), -EINVAL);
	CU_ASSERT_EQUAL(netback_csum__complete(f, 20), -EINVAL);
	f[14] = 0x44;   /* IHL below 20 bytes */
	CU_ASSERT_EQUAL(netback_csum__complete(f, len), -EINVAL);
}

/* Ones'-complement sum over the pseudo-header and the L4 bytes of a parsed frame: 0xffff when its checksum is right. */
static uint16_t frame_verify(const uint8_t *f, uint32_t len)
{
	struct nb_l4 h;
	uint32_t acc = 0;
	const uint8_t *ip;

	if (netback_csum__parse(f, len, &h))
		return 0;
	ip = f + h.l3;
	for (unsigned i = h.v6 ? 8 : 12; i < (h.v6 ? 40u : 20u); i += 2)
		acc += (uint32_t)ip[i] << 8 | ip[i + 1];
	acc += h.l4len + h.proto;
	for (uint32_t i = 0; i < h.l4len; i += 2)
		acc += (uint32_t)f[h.l4 + i] << 8 | (i + 1 < h.l4len ? f[h.l4 + i + 1] : 0);
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* An Ethernet + IPv6 frame of protocol proto with l4len bytes of random L4. */
static uint32_t mkframe6(uint8_t *f, uint8_t proto, uint32_t l4len)
{
	memset(f, 0, 14 + 40);
	f[12] = 0x86, f[13] = 0xdd;
	f[14] = 0x60;
	f[18] = (uint8_t)(l4len >> 8);
	f[19] = (uint8_t)l4len;
	f[20] = proto;
	f[21] = 64;
	for (unsigned i = 0; i < 32; i++)
		f[22 + i] = (uint8_t)(0x20 + i);
	for (uint32_t i = 0; i < l4len; i++)
		f[54 + i] = (uint8_t)rand();
	return 14 + 40 + l4len;
}

static void test_csum_v6(void)
{
	static uint8_t f[2048];

	for (unsigned n = 0; n < 100; n++) {
		uint32_t l4len = 20 + (uint32_t)rand() % 1441, len = mkframe6(f, n % 2 ? 6 : 17, l4len);

		f[54 + 12] = 0x50;   /* a TCP header of 20 bytes */
		CU_ASSERT_EQUAL_FATAL(netback_csum__complete(f, len), 0);
		CU_ASSERT_EQUAL(frame_verify(f, len), 0xffff);
	}
	mkframe6(f, 0, 40);   /* a hop-by-hop extension header: not followed, refused */
	CU_ASSERT_EQUAL(netback_csum__complete(f, 94), -EINVAL);
	mkframe6(f, 6, 40);
	f[14] = 0x40;         /* a version 4 header behind the IPv6 ethertype */
	CU_ASSERT_EQUAL(netback_csum__complete(f, 94), -EINVAL);
}

struct segs { uint8_t data[65536]; uint32_t n, bytes, hlen; uint32_t seq0; uint8_t flags[64]; };

/* Checks one segment (headers, checksums, sequence number) and keeps its payload. */
static int take_seg(const uint8_t *seg, uint32_t len, void *arg)
{
	struct segs *s = arg;
	struct nb_l4 h;
	uint32_t seq;

	CU_ASSERT_EQUAL_FATAL(netback_csum__parse(seg, len, &h), 0);
	CU_ASSERT_EQUAL(h.l4 + h.l4len, len);
	CU_ASSERT_EQUAL(frame_verify(seg, len), 0xffff);
	if (!h.v6) {
		uint32_t acc = 0;

		for (unsigned i = 0; i < 20; i += 2)
			acc += (uint32_t)seg[h.l3 + i] << 8 | seg[h.l3 + i + 1];
		while (acc >> 16)
			acc = (acc & 0xffff) + (acc >> 16);
		CU_ASSERT_EQUAL(acc, 0xffff);   /* the IPv4 header checksum */
		CU_ASSERT_EQUAL((uint32_t)(seg[h.l3 + 4] << 8 | seg[h.l3 + 5]), (0xfffeu + s->n) & 0xffff);
	}
	seq = (uint32_t)seg[h.l4 + 4] << 24 | (uint32_t)seg[h.l4 + 5] << 16 | (uint32_t)seg[h.l4 + 6] << 8 | seg[h.l4 + 7];
	CU_ASSERT_EQUAL(seq, s->seq0 + s->bytes);
	s->hlen = h.l4 + 20;
	memcpy(s->data + s->bytes, seg + s->hlen, len - s->hlen);
	s->bytes += len - s->hlen;
	s->flags[s->n++] = seg[h.l4 + 13];
	return 0;
}

static void test_gso_segment(void)
{
	static uint8_t f[65536], scratch[65536];
	static struct segs s;

	for (unsigned v6 = 0; v6 < 2; v6++) {
		uint32_t pay = 5000, len = v6 ? mkframe6(f, 6, 20 + pay) : mkframe(f, 6, 20 + pay);
		uint32_t l4 = v6 ? 54 : 34;

		if (!v6)
			f[18] = 0xff, f[19] = 0xfe;   /* IPv4 id, wrapping after one segment */
		f[l4 + 4] = 0xff, f[l4 + 5] = 0xff, f[l4 + 6] = 0xf0, f[l4 + 7] = 0x00;   /* seq wraps too */
		f[l4 + 12] = 0x50;
		f[l4 + 13] = 0x80 | 0x10 | 0x08 | 0x01;   /* CWR ACK PSH FIN */
		memset(&s, 0, sizeof(s));
		s.seq0 = 0xfffff000;
		CU_ASSERT_EQUAL(netback_gso__segment(f, len + 2, v6, 1448, scratch, take_seg, &s), 4);
		CU_ASSERT_EQUAL(s.bytes, pay);
		CU_ASSERT_EQUAL(memcmp(s.data, f + l4 + 20, pay), 0);
		CU_ASSERT_EQUAL(s.flags[0], 0x90);   /* CWR ACK */
		CU_ASSERT_EQUAL(s.flags[1], 0x10);
		CU_ASSERT_EQUAL(s.flags[2], 0x10);
		CU_ASSERT_EQUAL(s.flags[3], 0x19);   /* ACK PSH FIN */
		/* The wrong IP version for the GSO type, mss 0, UDP: refused, nothing emitted. */
		CU_ASSERT_EQUAL(netback_gso__segment(f, len, !v6, 1448, scratch, take_seg, &s), -EINVAL);
		CU_ASSERT_EQUAL(netback_gso__segment(f, len, v6, 0, scratch, take_seg, &s), -EINVAL);
		f[v6 ? 20 : 23] = 17;
		CU_ASSERT_EQUAL(netback_gso__segment(f, len, v6, 1448, scratch, take_seg, &s), -EINVAL);
		CU_ASSERT_EQUAL(s.n, 4);
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
		{ "NETTXF_csum_blank: IPv4 TCP/UDP checksums completed, the rest refused", test_csum_complete },
		{ "NETTXF_csum_blank: IPv6 TCP/UDP checksums completed, extension headers refused", test_csum_v6 },
		{ "GSO TCPv4/v6 frames cut into segments: headers, checksums, sequence, flags", test_gso_segment },
	};

	return cunit_run("net_ring", tests, CUNIT_COUNT(tests), setup, teardown);
}
