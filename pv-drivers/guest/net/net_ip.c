/* IPv4 (no fragments, no options on output), ICMP echo (answers and pings), UDP sockets, and net_up. */
#include "net.h"
#include "netfront.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "kstring.h"
#include "mm.h"
#include "xenbus.h"

struct net_cfg net_cfg;
struct net_stats net_stats;
static struct udp_sock *socks;
static uint16_t ip_id;

/* The outstanding ping, matched by sequence. */
static struct {
	uint16_t id, seq;
	bool done;
	uint64_t sent_ns, rtt_ns;
	struct waitq wq;
} ping;

uint32_t net_csum_add(uint32_t sum, const void *data, unsigned len)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)((p[0] << 8) | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

const char *net_fmt_ip(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}

int net_parse_ip(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		const char *end;
		unsigned long b = strtoul(s, &end, 10);

		if (end == s || b > 255 || (i < 3 && *end != '.') || (i == 3 && *end && *end != '/'))
			return -XEN_EINVAL;
		v = (v << 8) | (uint32_t)b;
		s = end + 1;
	}
	*ip = v;
	return 0;
}

/* Fills the IPv4 header at h for a payload of len bytes. */
static void ip_header(uint8_t *h, uint8_t proto, uint32_t dst, unsigned len)
{
	h[0] = 0x45;
	h[1] = 0;
	net_put16(h + 2, (uint16_t)(IP_HLEN + len));
	net_put16(h + 4, ip_id++);
	net_put16(h + 6, 0x4000);     /* DF: we never fragment */
	h[8] = 64;
	h[9] = proto;
	net_put16(h + 10, 0);
	net_put32(h + 12, net_cfg.ip);
	net_put32(h + 16, dst);
	net_put16(h + 10, (uint16_t)~net_csum_fold(net_csum_add(0, h, IP_HLEN)));
}

/* A tx buffer addressed to dst (resolving its MAC), with room for the IP header; payload at +ETH_HLEN+IP_HLEN. */
static uint8_t *ip_alloc(uint32_t dst)
{
	uint8_t mac[6];

	if ((dst & net_cfg.mask) != (net_cfg.ip & net_cfg.mask))
		return NULL;   /* no router: on-link only */
	if (net_arp_resolve(dst, mac, 3 * NSEC_PER_SEC))
		return NULL;
	return net_eth_alloc(mac, ETH_P_IP, NSEC_PER_SEC);
}

static void icmp_input(const uint8_t *ip, const uint8_t *p, unsigned len, uint32_t src)
{
	net_stats.icmp_in++;
	if (len < 8 || net_csum_fold(net_csum_add(0, p, len)) != 0xffff) {
		net_stats.bad++;
		return;
	}
	if (p[0] == 8) {
		/* Echo request: the same payload back. */
		uint8_t *b = ip_alloc(src), *r;

		if (!b || len > 1500 - IP_HLEN)
			return;
		r = b + ETH_HLEN + IP_HLEN;
		memcpy(r, p, len);
		r[0] = 0;
		net_put16(r + 2, 0);
		net_put16(r + 2, (uint16_t)~net_csum_fold(net_csum_add(0, r, len)));
		ip_header(b + ETH_HLEN, 1, src, len);
		netfront_tx_send(b, ETH_HLEN + IP_HLEN + len);
	} else if (p[0] == 0 && net_get16(p + 4) == ping.id && net_get16(p + 6) == ping.seq && !ping.done) {
		ping.rtt_ns = clock_now_ns() - ping.sent_ns;
		ping.done = true;
		wake_up(&ping.wq);
	}
}

static void udp_input(const uint8_t *p, unsigned len, uint32_t src)
{
	uint16_t sport, dport, ulen;

	net_stats.udp_in++;
	if (len < UDP_HLEN || (ulen = net_get16(p + 4)) < UDP_HLEN || ulen > len) {
		net_stats.bad++;
		return;
	}
	sport = net_get16(p);
	dport = net_get16(p + 2);
	for (struct udp_sock *s = socks; s; s = s->next) {
		if (s->port != dport)
			continue;
		if (s->rx) {
			s->rx(s, src, sport, p + UDP_HLEN, ulen - UDP_HLEN);
		} else if (s->qlen == UDP_QLEN || ulen - UDP_HLEN > UDP_MAX_PAYLOAD) {
			s->drops++;
		} else {
			struct udp_dgram *d = &s->q[(s->qhead + s->qlen++) % UDP_QLEN];

			d->src = src;
			d->sport = sport;
			d->len = (uint16_t)(ulen - UDP_HLEN);
			memcpy(d->data, p + UDP_HLEN, d->len);
			wake_up(&s->wq);
		}
		return;
	}
	net_stats.udp_noport++;
}

void net_ip_input(const uint8_t *h, unsigned len)
{
	unsigned hl, tot;
	uint32_t src, dst;

	if (len < IP_HLEN || (h[0] >> 4) != 4 || (hl = (h[0] & 15) * 4u) < IP_HLEN || hl > len ||
	    (tot = net_get16(h + 2)) < hl || tot > len ||
	    net_csum_fold(net_csum_add(0, h, hl)) != 0xffff) {
		net_stats.bad++;
		return;
	}
	net_stats.ip_in++;
	src = net_get32(h + 12);
	dst = net_get32(h + 16);
	if (dst != net_cfg.ip || (net_get16(h + 6) & 0x3fff))
		return;   /* not ours, or a fragment (we do not reassemble) */
	if (h[9] == 1)
		icmp_input(h, h + hl, tot - hl, src);
	else if (h[9] == 17)
		udp_input(h + hl, tot - hl, src);
}

int net_ping(uint32_t dst, uint16_t seq, unsigned payload, uint64_t timeout_ns, uint64_t *rtt_ns)
{
	uint8_t *b, *p;
	unsigned len = 8 + payload;

	if (len > 1500 - IP_HLEN)
		return -XEN_EINVAL;
	b = ip_alloc(dst);
	if (!b)
		return -XEN_ENXIO;
	p = b + ETH_HLEN + IP_HLEN;
	ping.id = 0x6b78;
	ping.seq = seq;
	ping.done = false;
	p[0] = 8;
	p[1] = 0;
	net_put16(p + 2, 0);
	net_put16(p + 4, ping.id);
	net_put16(p + 6, seq);
	for (unsigned i = 0; i < payload; i++)
		p[8 + i] = (uint8_t)i;
	net_put16(p + 2, (uint16_t)~net_csum_fold(net_csum_add(0, p, len)));
	ip_header(b + ETH_HLEN, 1, dst, len);
	ping.sent_ns = clock_now_ns();
	netfront_tx_send(b, ETH_HLEN + IP_HLEN + len);
	if (wait_event_timeout(&ping.wq, ping.done, timeout_ns) < 0)
		return -XEN_ETIMEDOUT;
	*rtt_ns = ping.rtt_ns;
	return 0;
}

int net_udp_bind(struct udp_sock *s, uint16_t port,
                 void (*rx)(struct udp_sock *, uint32_t, uint16_t, const uint8_t *, unsigned))
{
	for (struct udp_sock *o = socks; o; o = o->next)
		if (o->port == port)
			return -XEN_EADDRINUSE;
	memset(s, 0, sizeof(*s));
	s->port = port;
	s->rx = rx;
	if (!rx && !(s->q = calloc(UDP_QLEN, sizeof(*s->q))))
		return -XEN_ENOMEM;
	s->next = socks;
	socks = s;
	return 0;
}

void net_udp_close(struct udp_sock *s)
{
	for (struct udp_sock **pp = &socks; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	free(s->q);
	s->q = NULL;
}

int net_udp_recv(struct udp_sock *s, struct udp_dgram *d, uint64_t timeout_ns)
{
	if (wait_event_timeout(&s->wq, s->qlen > 0, timeout_ns) < 0)
		return -XEN_ETIMEDOUT;
	*d = s->q[s->qhead];
	s->qhead = (s->qhead + 1) % UDP_QLEN;
	s->qlen--;
	return 0;
}

int net_udp_sendto(uint16_t sport, uint32_t dst, uint16_t dport, const void *data, unsigned len)
{
	uint8_t *b, *u;

	if (len > UDP_MAX_PAYLOAD)
		return -XEN_EINVAL;
	b = ip_alloc(dst);
	if (!b)
		return netfront_connected() ? -XEN_ENXIO : -XEN_ENOTCONN;
	u = b + ETH_HLEN + IP_HLEN;
	net_put16(u, sport);
	net_put16(u + 2, dport);
	net_put16(u + 4, (uint16_t)(UDP_HLEN + len));
	net_put16(u + 6, 0);          /* no checksum: allowed for UDP over IPv4, and the frame is CRC'd by nobody here */
	memcpy(u + UDP_HLEN, data, len);
	ip_header(b + ETH_HLEN, 17, dst, UDP_HLEN + len);
	return netfront_tx_send(b, ETH_HLEN + IP_HLEN + UDP_HLEN + len);
}

static int parse_cidr(const char *s, uint32_t *ip, uint32_t *mask)
{
	const char *slash = strchr(s, '/');
	unsigned long bits = 24;

	if (net_parse_ip(s, ip))
		return -XEN_EINVAL;
	if (slash && (parse_ulong(slash + 1, &bits) || bits == 0 || bits > 32))
		return -XEN_EINVAL;
	*mask = bits == 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
	return 0;
}

int net_up(int *argc, char ***argv)
{
	const char *ipstr = NULL;
	char *from_xs = NULL, b[16];
	int rc;

	if (*argc > 1 && !strncmp((*argv)[1], "ip=", 3)) {
		ipstr = (*argv)[1] + 3;
		(*argv)[1] = (*argv)[0];
		(*argv)++;
		(*argc)--;
	}
	rc = netfront_init(0, net_eth_input, 30 * NSEC_PER_SEC);
	if (rc < 0) {
		printk("net: netfront: cannot connect vif0: %d\n", rc);
		return rc;
	}
	netfront_mac(net_cfg.mac);
	if (!ipstr)
		ipstr = from_xs = netfront_backend_read("ip");
	if (!ipstr || parse_cidr(ipstr, &net_cfg.ip, &net_cfg.mask)) {
		printk("net: no usable IPv4 address (give ip=A.B.C.D/N first, or the vif's ip key): '%s'\n",
		       ipstr ? ipstr : "");
		free(from_xs);
		return -XEN_EINVAL;
	}
	free(from_xs);
	printk("net: up, ip %s mac %02x:%02x:%02x:%02x:%02x:%02x\n", net_fmt_ip(net_cfg.ip, b),
	       net_cfg.mac[0], net_cfg.mac[1], net_cfg.mac[2], net_cfg.mac[3], net_cfg.mac[4], net_cfg.mac[5]);
	return 0;
}
