/* The udp-send stream format, shared by the guest's udp-send/udp-recv, bench_net and the tests' host peer: every datagram's content is checkable. */
#ifndef KXEN_NETSTREAM_H
#define KXEN_NETSTREAM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A datagram of a stream (all fields big-endian):
 *   0 magic  NS_MAGIC (data), NS_END (end marker)
 *   4 seq    0, 1, 2 ... (NS_PROBE for the ARP-resolving probe before the clock starts);
 *            in an end marker: the number of data datagrams sent
 *   8 id     the stream's id (the sender picks one per stream), so late datagrams of an
 *            earlier stream are told apart instead of being counted
 *  12 sum    data only: the sum of the payload words below, ns_word(id, seq, 0) (so that the
 *            header is covered too) and the datagram's length
 *  16 ...    data only: ns_word(id, seq, k) for word k = 4, 5 ..., the last one truncated
 * An end marker is NS_HDR bytes long and carries no payload.
 */
#define NS_MAGIC 0x6b78746fu   /* "kxto" */
#define NS_END   0x6b78656eu   /* "kxen" */
#define NS_PROBE 0xffffffffu
#define NS_HDR   16u

static inline uint32_t ns_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void ns_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Payload word k of datagram seq: differs between neighbours, streams and
 * positions, and is cheap (an add per word) so that checking every byte
 * costs the benchmark little.
 */
static inline uint32_t ns_word(uint32_t id, uint32_t seq, uint32_t k)
{
	return (id ^ (seq * 0x9e3779b1u)) + k * 0x85ebca6bu;
}

/* Fills a data datagram of len (>= NS_HDR) bytes. */
static inline void ns_fill(uint8_t *p, unsigned len, uint32_t id, uint32_t seq)
{
	uint32_t sum = len + ns_word(id, seq, 0);
	uint8_t w[4];
	unsigned pos = NS_HDR;

	for (uint32_t k = NS_HDR / 4; pos < len; k++, pos += 4) {
		uint32_t v = ns_word(id, seq, k);

		sum += v;
		if (len - pos >= 4) {
			ns_put32(p + pos, v);
		} else {
			ns_put32(w, v);
			for (unsigned i = 0; i < len - pos; i++)
				p[pos + i] = w[i];
		}
	}
	ns_put32(p, NS_MAGIC);
	ns_put32(p + 4, seq);
	ns_put32(p + 8, id);
	ns_put32(p + 12, sum);
}

/* Fills an end marker (NS_HDR bytes) for a stream of count datagrams. */
static inline void ns_fill_end(uint8_t *p, uint32_t id, uint32_t count)
{
	ns_put32(p, NS_END);
	ns_put32(p + 4, count);
	ns_put32(p + 8, id);
	ns_put32(p + 12, 0);
}

/*
 * Checks a data datagram (magic NS_MAGIC, len >= NS_HDR): every payload
 * word and the sum. Returns 0 when intact, -1 when any byte is wrong.
 */
static inline int ns_check(const uint8_t *p, unsigned len)
{
	uint32_t id, seq, sum;
	unsigned pos = NS_HDR;
	uint8_t w[4];

	if (len < NS_HDR || ns_get32(p) != NS_MAGIC)
		return -1;
	seq = ns_get32(p + 4);
	id = ns_get32(p + 8);
	sum = len + ns_word(id, seq, 0);
	for (uint32_t k = NS_HDR / 4; pos < len; k++, pos += 4) {
		uint32_t v = ns_word(id, seq, k);

		sum += v;
		if (len - pos >= 4) {
			if (ns_get32(p + pos) != v)
				return -1;
		} else {
			ns_put32(w, v);
			for (unsigned i = 0; i < len - pos; i++)
				if (p[pos + i] != w[i])
					return -1;
		}
	}
	return ns_get32(p + 12) == sum ? 0 : -1;
}

/* A receiver's view of one stream: it locks onto the first stream id it sees. */
struct ns_rx {
	bool locked, end;
	uint32_t id, next, expected;      /* expected: the end marker's count */
	uint64_t pkts, bytes;             /* intact, in-order data datagrams */
	uint64_t bad;                     /* wrong content, length or magic */
	uint64_t ooo;                     /* duplicates and datagrams older than one already seen */
	uint64_t gaps;                    /* datagrams skipped by a later sequence number */
	uint64_t foreign;                 /* intact datagrams of another stream (an earlier run's) */
};

/*
 * Accounts one received datagram. Returns 1 when it was an intact data
 * datagram of our stream in order (the caller may time it), else 0.
 */
static inline int ns_rx_account(struct ns_rx *r, const uint8_t *p, unsigned len)
{
	uint32_t magic, seq, id;

	if (len < NS_HDR) {
		r->bad++;
		return 0;
	}
	magic = ns_get32(p);
	seq = ns_get32(p + 4);
	id = ns_get32(p + 8);
	if (magic == NS_END && len == NS_HDR) {
		if (r->locked && id != r->id) {
			r->foreign++;
		} else if (!r->end) {
			r->locked = true;
			r->id = id;
			r->end = true;
			r->expected = seq;
		}
		return 0;
	}
	if (magic != NS_MAGIC || ns_check(p, len)) {
		r->bad++;
		return 0;
	}
	if (!r->locked) {
		r->locked = true;
		r->id = id;
	}
	if (id != r->id) {
		r->foreign++;
		return 0;
	}
	if (seq == NS_PROBE)
		return 0;
	if (seq < r->next) {
		r->ooo++;
		return 0;
	}
	r->gaps += seq - r->next;
	r->next = seq + 1;
	r->pkts++;
	r->bytes += len;
	return 1;
}

#endif
