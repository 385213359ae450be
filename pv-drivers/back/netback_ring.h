/* netif ring consumers for the network backend: index checks and tx packet parsing with Xen's rules (no I/O: tests/unit/test_net_ring). */
#ifndef NETBACK_RING_H
#define NETBACK_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* <xen/io/ring.h> leaves the barriers to the includer: x86 is TSO, so only the full one is a fence. */
#ifndef mb
#define mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define wmb() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/netif.h>

#define NB_PAGE_SIZE       4096u
/* Slots one tx packet may use, as Linux netback's default max_slots (XEN_NETIF_NR_SLOTS_MIN). */
#define NB_TX_MAX_SLOTS    XEN_NETIF_NR_SLOTS_MIN
#define NB_TX_MAX_EXTRAS   (XEN_NETIF_EXTRA_TYPE_MAX - 1)
#define NB_ETH_HLEN        14

/* One tx packet taken off the ring: its data slots, and how many ring slots it used in all. */
struct nb_txpkt {
	netif_tx_request_t slot[NB_TX_MAX_SLOTS];
	unsigned nslots;          /* data slots */
	unsigned nextras;         /* extra-info slots (answered NETIF_RSP_NULL) */
	unsigned extra_pos[NB_TX_MAX_EXTRAS]; /* where extras sit among the ring slots (0-based after the first) */
	uint32_t len;             /* the frame's length (slot[0].size) */
	uint8_t gso_type;         /* XEN_NETIF_GSO_TYPE_NONE, or TCPV4/TCPV6 from a GSO extra-info slot */
	uint16_t gso_size;        /* its MSS */
	const char *error;        /* non-NULL: malformed but recoverable; answer NETIF_RSP_ERROR */
};

/*
 * Unconsumed requests between our private req_cons and prod (the guest's
 * req_prod, read once by the caller). -EPROTO when prod is more than a
 * ring ahead: the guest scribbled on its index.
 */
int netback_ring__pending(RING_IDX req_cons, RING_IDX prod, unsigned ring_size);

/*
 * Takes the next tx packet (first slot, extras, NETTXF_more_data slots)
 * from r, reading each request exactly once, up to prod.
 * Returns 0 (pkt filled, r->req_cons advanced; pkt->error may be set),
 * -EAGAIN if the packet's slots are not all produced yet (nothing taken),
 * or -EPROTO with *why set when the guest broke the protocol so badly the
 * ring cannot be trusted (too many slots, a slot crossing its page, a
 * length that does not add up, unsupported extras): disconnect it.
 * Extra types we accept: MCAST_ADD/DEL (ignored) and GSO (we offer
 * feature-gso-tcpv4/v6; a size of 0 or another type is fatal, as in Linux
 * netback); HASH was not offered and is fatal.
 */
int netback_ring__tx_get(netif_tx_back_ring_t *r, RING_IDX prod, struct nb_txpkt *pkt, const char **why);

/* Writes the responses for every ring slot pkt used (status for data slots, NETIF_RSP_NULL for extras). */
void netback_ring__tx_respond(netif_tx_back_ring_t *r, const struct nb_txpkt *pkt, int16_t status);

/* Bytes of the first slot's own data (slot[0].size minus what the following slots carry). */
uint32_t netback_ring__first_len(const struct nb_txpkt *pkt);

#endif
