/* Completing the checksum a frontend left blank (NETTXF_csum_blank): IPv4 TCP and UDP (netback_csum.c). */
#ifndef KXEN_NETBACK_CSUM_H
#define KXEN_NETBACK_CSUM_H

#include <stdint.h>

/*
 * frame[0, len) is an Ethernet frame (optionally one 802.1Q tag) whose
 * frontend flagged NETTXF_csum_blank, as Linux's netfront does for every
 * CHECKSUM_PARTIAL packet while the backend does not write
 * feature-no-csum-offload: writes the whole TCP or UDP checksum of its
 * unfragmented IPv4 packet, recomputed from the pseudo-header and the bytes
 * (never trusting the partial sum the guest left), as Linux's netback does.
 * 0, or -EINVAL for anything else or a truncated or inconsistent header,
 * leaving the frame as it is.
 */
int netback_csum__complete(uint8_t *frame, uint32_t len);

#endif
