/* Software TSO: a frontend's TCP GSO frame cut into MSS-sized segments with their headers and checksums fixed, for ports that cannot take it whole. */
#include <errno.h>
#include <string.h>

#include "netback_csum.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int netback_gso__segment(const uint8_t *frame, uint32_t len, bool v6, unsigned mss, uint8_t *scratch,
                         nb_seg_fn emit, void *arg)
{
	struct nb_l4 h;
	uint32_t hlen, thl, payload, seq, id, off;
	uint8_t flags;
	int n = 0, rc;

	if (mss == 0 || netback_csum__parse(frame, len, &h) || h.proto != 6 || h.v6 != v6)
		return -EINVAL;
	thl = (frame[h.l4 + 12] >> 4) * 4u;
	if (thl < 20 || thl > h.l4len)
		return -EINVAL;
	hlen = h.l4 + thl;
	payload = h.l4len - thl;   /* Ethernet padding after the IP packet is not payload */
	seq = (uint32_t)frame[h.l4 + 4] << 24 | (uint32_t)frame[h.l4 + 5] << 16 | (uint32_t)frame[h.l4 + 6] << 8 |
	      frame[h.l4 + 7];
	id = (uint32_t)frame[h.l3 + 4] << 8 | frame[h.l3 + 5];
	flags = frame[h.l4 + 13];
	off = 0;
	do {
		uint32_t seglen = payload - off < mss ? payload - off : mss, s = seq + off;
		uint8_t *ip = scratch + h.l3, *tcp = scratch + h.l4;
		bool last = off + seglen >= payload;

		memcpy(scratch, frame, hlen);
		memcpy(scratch + hlen, frame + hlen + off, seglen);
		if (v6) {
			put16(ip + 4, thl + seglen);
		} else {
			put16(ip + 2, (h.l4 - h.l3) + thl + seglen);
			put16(ip + 4, id + (uint32_t)n);
			netback_csum__ip4_header(ip, h.l4 - h.l3);
		}
		tcp[4] = (uint8_t)(s >> 24);
		tcp[5] = (uint8_t)(s >> 16);
		tcp[6] = (uint8_t)(s >> 8);
		tcp[7] = (uint8_t)s;
		tcp[13] = (uint8_t)(flags & ~((last ? 0 : TCP_FIN | TCP_PSH) | (n ? TCP_CWR : 0)));
		netback_csum__complete(scratch, hlen + seglen);
		if ((rc = emit(scratch, hlen + seglen, arg)))
			return rc;
		n++;
		off += seglen;
	} while (off < payload);
	return n;
}
