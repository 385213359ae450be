/* Contract between the xenbus files: comms (xenbus.c), requests (xenbus_xs.c) and watches (xenbus_watch.c). */
#ifndef GUEST_XENBUS_PRIV_H
#define GUEST_XENBUS_PRIV_H

#include "xenbus.h"
#include "xenbus_proto.h"

/*
 * Sends one request of type with the concatenated parts as payload in
 * transaction t and waits up to timeout_ns (0 = XENBUS_TIMEOUT_NS) for its
 * reply. On success returns 0 and, if reply is not NULL, hands over the
 * malloc'd NUL-terminated reply body (*len its length). The daemon's ERROR
 * replies come back as their negative Xen errno. While waiting it
 * re-notifies the store port now and then, so a daemon that attached to
 * the ring after the request was written still sees it.
 */
int xb_request(uint32_t type, xenbus_transaction_t t, const struct xb_part *parts, unsigned n,
	       char **reply, unsigned *len, uint64_t timeout_ns);

/*
 * Called by the reader thread with a WATCH_EVENT payload it has just
 * received (len bytes, NUL at body[len]); copies it for the xenwatch
 * thread. Never sleeps.
 */
void xb_watch_queue(const char *body, size_t len);
/* Starts the xenwatch thread; 0 or -XEN_ENOMEM. */
int xb_watch_init(void);

/* Shared counters (xenbus.c owns them). */
extern struct xenbus_stats xb_stats;

#endif
