/* The guest's small IPv4 stack over netfront: Ethernet, ARP, IPv4, ICMP echo, UDP sockets (docs/network.md). */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include "kernel.h"
#include "sched.h"

#define ETH_HLEN      14
#define ETH_P_IP      0x0800
#define ETH_P_ARP     0x0806
#define IP_HLEN       20
#define UDP_HLEN      8
#define UDP_MAX_PAYLOAD (1500 - IP_HLEN - UDP_HLEN)

static inline uint16_t net_htons(uint16_t v) { return (uint16_t)((v << 8) | (v >> 8)); }
static inline uint32_t net_htonl(uint32_t v) { return __builtin_bswap32(v); }
#define net_ntohs net_htons
#define net_ntohl net_htonl
static inline uint16_t net_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t net_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void net_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void net_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Addresses are host byte order throughout the API. */
struct net_cfg {
	uint8_t mac[6];
	uint32_t ip, mask;
};
extern struct net_cfg net_cfg;

/*
 * Brings the stack up on vif 0: takes a leading "ip=A.B.C.D/N" from the
 * app's arguments (consuming it), else the vif backend's "ip" key (as libxl
 * writes it from the config), and connects netfront. Prints
 * "net: up, ip A.B.C.D/N mac ..." Returns 0 or a negative Xen errno.
 */
int net_up(int *argc, char ***argv);
/* Parses "A.B.C.D" (host order); -1 if malformed. */
int net_parse_ip(const char *s, uint32_t *ip);
/* Formats ip into buf (16 bytes). */
const char *net_fmt_ip(uint32_t ip, char buf[16]);

/* --- net_eth.c --- */
/* netfront's rx callback: demultiplexes by EtherType. */
void net_eth_input(const uint8_t *frame, unsigned len);
/* The MAC of ip on our link, ARPing for it (retries each 200 ms) up to timeout_ns. 0 or -XEN_ETIMEDOUT. */
int net_arp_resolve(uint32_t ip, uint8_t mac[6], uint64_t timeout_ns);
/* Frees a tx buffer with dst/src/type filled in; payload goes at buf + ETH_HLEN. NULL on timeout. */
uint8_t *net_eth_alloc(const uint8_t dst[6], uint16_t type, uint64_t timeout_ns);

/* --- net_ip.c --- */
void net_ip_input(const uint8_t *pkt, unsigned len);
/* Internet checksum over len bytes, folded, not inverted, starting from sum. */
uint32_t net_csum_add(uint32_t sum, const void *data, unsigned len);
uint16_t net_csum_fold(uint32_t sum);

/* ICMP echo: sends one request and waits for its reply; *rtt_ns gets the round trip. */
int net_ping(uint32_t dst, uint16_t seq, unsigned payload, uint64_t timeout_ns, uint64_t *rtt_ns);

/* UDP sockets: a queue of received datagrams, or a callback for bulk receivers. */
#define UDP_QLEN 64
struct udp_dgram {
	uint32_t src;
	uint16_t sport;
	uint16_t len;
	uint8_t data[UDP_MAX_PAYLOAD];
};
struct udp_sock {
	uint16_t port;
	void (*rx)(struct udp_sock *s, uint32_t src, uint16_t sport, const uint8_t *data, unsigned len);
	void *arg;
	struct udp_dgram *q;          /* UDP_QLEN entries when rx is NULL */
	unsigned qhead, qlen;
	uint64_t drops;
	struct waitq wq;
	struct udp_sock *next;
};
/* Binds port (rx NULL: queue mode). Returns 0, -XEN_EADDRINUSE, -XEN_ENOMEM. */
int net_udp_bind(struct udp_sock *s, uint16_t port,
                 void (*rx)(struct udp_sock *, uint32_t, uint16_t, const uint8_t *, unsigned));
void net_udp_close(struct udp_sock *s);
/* Receives one queued datagram into d; 0, or -XEN_ETIMEDOUT. */
int net_udp_recv(struct udp_sock *s, struct udp_dgram *d, uint64_t timeout_ns);
/* Sends len bytes (<= UDP_MAX_PAYLOAD) from sport to dst:dport (ARP resolved, cached). */
int net_udp_sendto(uint16_t sport, uint32_t dst, uint16_t dport, const void *data, unsigned len);

struct net_stats {
	uint64_t arp_in, ip_in, icmp_in, udp_in, udp_noport, bad;
};
extern struct net_stats net_stats;

#endif
