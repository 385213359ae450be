/* Ethernet framing and ARP (request, reply, a small cache) for the guest's IPv4 stack. */
#include "net.h"
#include "netfront.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "kstring.h"

#define ARP_CACHE 16
#define ARP_TTL_NS (60 * NSEC_PER_SEC)

struct arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	uint64_t stamp;
};

static struct arp_entry arp_cache[ARP_CACHE];
static unsigned arp_next;
static struct waitq arp_wq;
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct arp_entry *arp_find(uint32_t ip)
{
	uint64_t now = clock_now_ns();

	for (unsigned i = 0; i < ARP_CACHE; i++)
		if (arp_cache[i].stamp && arp_cache[i].ip == ip && now - arp_cache[i].stamp < ARP_TTL_NS)
			return &arp_cache[i];
	return NULL;
}

static void arp_learn(uint32_t ip, const uint8_t *mac)
{
	struct arp_entry *e = arp_find(ip);

	if (!e) {
		e = &arp_cache[arp_next];
		arp_next = (arp_next + 1) % ARP_CACHE;
	}
	e->ip = ip;
	memcpy(e->mac, mac, 6);
	e->stamp = clock_now_ns();
	wake_up(&arp_wq);
}

uint8_t *net_eth_alloc(const uint8_t dst[6], uint16_t type, uint64_t timeout_ns)
{
	uint8_t *b = netfront_tx_buf(timeout_ns);

	if (!b)
		return NULL;
	memcpy(b, dst, 6);
	memcpy(b + 6, net_cfg.mac, 6);
	net_put16(b + 12, type);
	return b;
}

static void arp_send(uint16_t op, const uint8_t *dst_mac, uint32_t tip, const uint8_t *tha)
{
	uint8_t *b = net_eth_alloc(dst_mac, ETH_P_ARP, NSEC_PER_SEC), *a;

	if (!b)
		return;
	a = b + ETH_HLEN;
	net_put16(a, 1);              /* Ethernet */
	net_put16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	net_put16(a + 6, op);
	memcpy(a + 8, net_cfg.mac, 6);
	net_put32(a + 14, net_cfg.ip);
	memcpy(a + 18, tha, 6);
	net_put32(a + 24, tip);
	netfront_tx_send(b, 60);     /* padded to Ethernet's minimum */
}

static void arp_input(const uint8_t *a, unsigned len)
{
	uint32_t sip, tip;
	uint16_t op;

	if (len < 28 || net_get16(a) != 1 || net_get16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4) {
		net_stats.bad++;
		return;
	}
	net_stats.arp_in++;
	op = net_get16(a + 6);
	sip = net_get32(a + 14);
	tip = net_get32(a + 24);
	if (tip != net_cfg.ip)
		return;
	arp_learn(sip, a + 8);
	if (op == 1)
		arp_send(2, a + 8, sip, a + 8);
}

int net_arp_resolve(uint32_t ip, uint8_t mac[6], uint64_t timeout_ns)
{
	uint64_t dl = clock_now_ns() + timeout_ns;
	static const uint8_t zero[6];

	for (;;) {
		struct arp_entry *e = arp_find(ip);
		uint64_t now;

		if (e) {
			memcpy(mac, e->mac, 6);
			return 0;
		}
		now = clock_now_ns();
		if (now >= dl)
			return -XEN_ETIMEDOUT;
		arp_send(1, bcast, ip, zero);
		wait_event_timeout(&arp_wq, arp_find(ip) != NULL, MIN(200 * NSEC_PER_MSEC, dl - now));
	}
}

void net_eth_input(const uint8_t *frame, unsigned len)
{
	uint16_t type;

	if (len < ETH_HLEN) {
		net_stats.bad++;
		return;
	}
	/* The switch floods unknown unicast: take only what is ours or broadcast. */
	if (!(frame[0] & 1) && memcmp(frame, net_cfg.mac, 6))
		return;
	type = net_get16(frame + 12);
	if (type == ETH_P_ARP)
		arp_input(frame + ETH_HLEN, len - ETH_HLEN);
	else if (type == ETH_P_IP)
		net_ip_input(frame + ETH_HLEN, len - ETH_HLEN);
}
