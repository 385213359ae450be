/* The guest's network frontend: one Xen vif (netif tx/rx rings, copy receive), as Linux xen-netfront talks to netback. */
#ifndef GUEST_NETFRONT_H
#define GUEST_NETFRONT_H

#include "kernel.h"

#define NETFRONT_MTU_FRAME 1514u      /* the largest frame we send: 1500 bytes of IP + the Ethernet header */

/* Called for every received frame from the "netfront" thread (vCPU 0); the frame is valid only during the call. */
typedef void (*netfront_rx_fn)(const uint8_t *frame, unsigned len);

/*
 * Connects device/vif/DEVID: allocates and grants the rings and 256 rx and
 * 256 tx buffers, writes tx-ring-ref, rx-ring-ref, event-channel,
 * request-rx-copy=1, feature-rx-notify=1, feature-sg=1, and walks the
 * XenbusState handshake until the backend is Connected (timeout_ns).
 * Frames go to rx. Returns 0 or a negative Xen errno (-XEN_ENODEV: no such
 * device, -XEN_ETIMEDOUT: no backend came). vCPU 0 only.
 */
int netfront_init(unsigned devid, netfront_rx_fn rx, uint64_t timeout_ns);
/* The MAC the toolstack gave us (device/vif/N/mac). */
void netfront_mac(uint8_t mac[6]);
/* A value of our backend's directory (e.g. "ip"), malloc'd, or NULL. */
char *netfront_backend_read(const char *key);

/*
 * Zero-copy send: netfront_tx_buf waits (up to timeout_ns, 0 = forever)
 * for a free tx buffer and returns it (a page), or NULL; the caller writes
 * the frame at its start and hands it over with netfront_tx_send, which
 * pushes it and notifies the backend only if the backend asked to be
 * notified (so bursts cost one notification).
 */
void *netfront_tx_buf(uint64_t timeout_ns);
int netfront_tx_send(void *buf, unsigned len);
/* Copies frame into a tx buffer and sends it. */
int netfront_xmit(const void *frame, unsigned len);

/* Whether the backend has cut us off (disconnected, or Closing after an error). */
bool netfront_connected(void);

struct netfront_stats {
	uint64_t tx_pkts, tx_errors, rx_pkts, rx_errors, notifies, events;
	uint64_t tx_stalls;          /* netfront_tx_buf timeouts: no buffer came back in time */
};
void netfront_get_stats(struct netfront_stats *st);

/*
 * For the hostile-guest tests only: raw access to what a misbehaving
 * frontend would scribble on. Returns the shared tx ring.
 */
struct netif_tx_sring;
struct netif_tx_sring *netfront_tx_sring(void);
/* Sends one raw tx request (no checks) and notifies. */
int netfront_tx_raw(uint32_t gref, uint16_t offset, uint16_t flags, uint16_t size);
/* A granted tx buffer's ref, for building raw requests. */
uint32_t netfront_tx_gref(unsigned i);
void netfront_notify(void);

#endif
