/* Ethernet MAC addresses as xenstore and the domain XML write them ("00:16:3e:12:34:56"), for dom0 code. */
#ifndef KXEN_MAC_H
#define KXEN_MAC_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

/* Parses exactly six colon-separated hex bytes into mac. Returns 0 or -EINVAL. */
static inline int kxen_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
	           &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* As kxen_mac_parse, refusing a multicast address, which cannot be a vif's own. */
static inline int kxen_mac_parse_unicast(const char *s, uint8_t mac[6])
{
	int rc = kxen_mac_parse(s, mac);

	return rc ? rc : (mac[0] & 1) ? -EINVAL : 0;
}

#endif
