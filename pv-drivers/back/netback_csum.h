/* The backend's half of netif checksum offload and GSO: TCP/UDP checksums completed over IPv4 and IPv6, TCP GSO frames cut into segments (netback_csum.c, netback_gso.c). */
#ifndef KXEN_NETBACK_CSUM_H
#define KXEN_NETBACK_CSUM_H

#include <stdbool.h>
#include <stdint.h>

/* Where the headers of an Ethernet frame carrying TCP or UDP are. */
struct nb_l4 {
	uint32_t l3;      /* IP header offset (after one optional 802.1Q tag) */
	uint32_t l4;      /* TCP/UDP header offset */
	uint32_t l4len;   /* TCP/UDP header and payload, from the IP length field */
	uint8_t proto;    /* 6 or 17 */
	bool v6;
};

/*
 * Parses frame[0, len): Ethernet, one optional 802.1Q tag, then an
 * unfragmented IPv4 packet or an IPv6 packet without extension headers,
 * carrying TCP (a whole header) or UDP, all inside the frame (Ethernet
 * padding after it allowed). 0 with *h filled, or -EINVAL.
 */
int netback_csum__parse(const uint8_t *frame, uint32_t len, struct nb_l4 *h);

/*
 * frame[0, len) is an Ethernet frame whose frontend flagged
 * NETTXF_csum_blank, as Linux's netfront does for every CHECKSUM_PARTIAL
 * packet while the backend does not write feature-no-csum-offload: writes
 * the whole TCP or UDP checksum of its IPv4 or IPv6 packet (as parsed by
 * netback_csum__parse), recomputed from the pseudo-header and the bytes
 * (never trusting the partial sum the guest left), as Linux's netback does.
 * 0, or -EINVAL leaving the frame as it is.
 */
int netback_csum__complete(uint8_t *frame, uint32_t len);

/* Rewrites the header checksum of the IPv4 header ip[0, ihl) (ihl its length in bytes). */
void netback_csum__ip4_header(uint8_t *ip, uint32_t ihl);

/* Segment sink for netback_gso__segment: 0 to go on, -errno to stop (returned as is). */
typedef int (*nb_seg_fn)(const uint8_t *seg, uint32_t len, void *arg);

/*
 * Software TSO for a frontend's GSO frame (XEN_NETIF_GSO_TYPE_TCPV4/V6)
 * bound for a port that cannot take it whole (a TAP, a frontend without
 * feature-gso-tcpv4/v6): cuts frame[0, len) into segments of at most mss
 * payload bytes, each a whole frame with its headers fixed (IP length,
 * IPv4 id + i and header checksum, TCP sequence number, FIN and PSH on the
 * last segment only, CWR on the first only) and its TCP checksum complete,
 * built in scratch (at least len bytes) and passed to emit in order.
 * Returns the number of segments, -EINVAL for a frame that is not TCP of
 * the right IP version (nothing emitted) or mss 0, or emit's error.
 */
int netback_gso__segment(const uint8_t *frame, uint32_t len, bool v6, unsigned mss, uint8_t *scratch,
                         nb_seg_fn emit, void *arg);

#endif
