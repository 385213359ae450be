/* The backend's half of netif checksum offload: a TCP or UDP checksum over IPv4 or IPv6 the guest left blank, filled in. */
#include <errno.h>
#include <string.h>

#include "netback_csum.h"

static uint32_t sum16(uint32_t acc, const uint8_t *p, uint32_t n)
{
	for (; n > 1; p += 2, n -= 2)
		acc += (uint32_t)p[0] << 8 | p[1];
	if (n)
		acc += (uint32_t)p[0] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

void netback_csum__ip4_header(uint8_t *ip, uint32_t ihl)
{
	ip[10] = ip[11] = 0;
	uint16_t sum = fold(sum16(0, ip, ihl));
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
}

int netback_csum__parse(const uint8_t *frame, uint32_t len, struct nb_l4 *h)
{
	uint32_t l3 = 14, ihl, tot;
	const uint8_t *ip;
	uint16_t type;

	if (len < l3 + 20)
		return -EINVAL;
	if (frame[12] == 0x81 && frame[13] == 0x00)   /* one 802.1Q tag */
		l3 += 4;
	if (len < l3 + 20)
		return -EINVAL;
	type = (uint16_t)(frame[l3 - 2] << 8 | frame[l3 - 1]);
	ip = frame + l3;
	if (type == 0x0800) {
		ihl = (ip[0] & 0x0f) * 4u;
		tot = (uint32_t)ip[2] << 8 | ip[3];
		/* A sane header, the packet inside the frame, not a fragment (MF clear, offset 0). */
		if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || l3 + tot > len || (ip[6] & 0x3f) || ip[7])
			return -EINVAL;
		h->v6 = false;
		h->proto = ip[9];
	} else if (type == 0x86dd) {
		ihl = 40;
		if ((ip[0] >> 4) != 6 || len < l3 + ihl)
			return -EINVAL;
		tot = ihl + ((uint32_t)ip[4] << 8 | ip[5]);
		if (l3 + tot > len)
			return -EINVAL;
		h->v6 = true;
		h->proto = ip[6];   /* extension headers are not followed: refused below */
	} else {
		return -EINVAL;
	}
	h->l3 = l3;
	h->l4 = l3 + ihl;
	h->l4len = tot - ihl;
	if (!(h->proto == 6 && h->l4len >= 20) &&
	    !(h->proto == 17 && h->l4len >= 8))
		return -EINVAL;
	return 0;
}

int netback_csum__complete(uint8_t *frame, uint32_t len)
{
	struct nb_l4 h;
	uint8_t *ip, *l4, pseudo[8];
	uint32_t field, acc;
	uint16_t c;

	if (netback_csum__parse(frame, len, &h))
		return -EINVAL;
	ip = frame + h.l3;
	l4 = frame + h.l4;
	field = h.proto == 6 ? 16 : 6;
	/* The pseudo-header: the addresses, then the L4 length and protocol (the same sum for v4 and v6). */
	acc = h.v6 ? sum16(0, ip + 8, 32) : sum16(0, ip + 12, 8);
	memset(pseudo, 0, sizeof(pseudo));
	pseudo[2] = (uint8_t)(h.l4len >> 8);
	pseudo[3] = (uint8_t)h.l4len;
	pseudo[7] = h.proto;
	acc = sum16(acc, pseudo, sizeof(pseudo));
	l4[field] = l4[field + 1] = 0;
	c = fold(sum16(acc, l4, h.l4len));
	if (h.proto == 17 && c == 0)
		c = 0xffff;   /* UDP: 0 means "no checksum" */
	l4[field] = (uint8_t)(c >> 8);
	l4[field + 1] = (uint8_t)c;
	return 0;
}
