/* The backend's half of netif checksum offload: a TCP or UDP checksum over IPv4 the guest left blank, filled in. */
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

int netback_csum__complete(uint8_t *frame, uint32_t len)
{
	uint32_t l3 = 14, ihl, tot, l4len, field;
	uint8_t *ip, *l4, pseudo[12];

	if (len < l3 + 20)
		return -EINVAL;
	if (frame[12] == 0x81 && frame[13] == 0x00)   /* one 802.1Q tag */
		l3 += 4;
	if (len < l3 + 20 || frame[l3 - 2] != 0x08 || frame[l3 - 1] != 0x00)
		return -EINVAL;
	ip = frame + l3;
	ihl = (ip[0] & 0x0f) * 4u;
	tot = (uint32_t)ip[2] << 8 | ip[3];
	/* IPv4, a sane header, the packet inside the frame, not a fragment (MF clear, offset 0). */
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || l3 + tot > len || (ip[6] & 0x3f) || ip[7])
		return -EINVAL;
	l4 = ip + ihl;
	l4len = tot - ihl;
	if (ip[9] == 6 && l4len >= 20)
		field = 16;
	else if (ip[9] == 17 && l4len >= 8)
		field = 6;
	else
		return -EINVAL;
	memcpy(pseudo, ip + 12, 8);   /* source and destination addresses */
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	pseudo[10] = (uint8_t)(l4len >> 8);
	pseudo[11] = (uint8_t)l4len;
	l4[field] = l4[field + 1] = 0;
	uint16_t c = fold(sum16(sum16(0, pseudo, sizeof(pseudo)), l4, l4len));
	if (ip[9] == 17 && c == 0)
		c = 0xffff;   /* UDP: 0 means "no checksum" */
	l4[field] = (uint8_t)(c >> 8);
	l4[field + 1] = (uint8_t)c;
	return 0;
}
