/* The xenstore wire protocol over the shared store ring: plain C that also builds on the host for CUnit. */
#ifndef GUEST_XENBUS_PROTO_H
#define GUEST_XENBUS_PROTO_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <xen/errno.h>
#include <xen/io/xs_wire.h>

/*
 * Nothing here sleeps, allocates behind the caller's back (except where a
 * function says it returns an allocation) or touches anything but the ring
 * page and the caller's buffers, so tests/unit/test_xenbus_proto.c runs it
 * against an in-memory ring. The guest driver (xenbus.c) adds the waiting,
 * locking and notification.
 *
 * Errors are negative Xen errnos (<xen/errno.h>); on x86 they equal Linux's.
 */

/* Largest message on the wire: a header and XENSTORE_PAYLOAD_MAX bytes. */
#define XB_MSG_MAX (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)

/* Bytes the guest may still produce into req[] (0..XENSTORE_RING_SIZE), or -XEN_EIO if the indices are corrupt. */
int xb_ring_req_space(const struct xenstore_domain_interface *intf);
/* Bytes waiting in rsp[], or -XEN_EIO if the daemon wrote impossible indices. */
int xb_ring_rsp_avail(const struct xenstore_domain_interface *intf);

/*
 * Copies up to len bytes of data into req[] and publishes them (data
 * before req_prod, as Xen's ring rules want). Returns the number of bytes
 * written (0 when full) or -XEN_EIO on corrupt indices. The caller then
 * notifies the store event channel.
 */
int xb_ring_write(struct xenstore_domain_interface *intf, const void *data, size_t len);
/* Consumes up to len bytes of rsp[] into buf; returns the count or -XEN_EIO. The caller notifies. */
int xb_ring_read(struct xenstore_domain_interface *intf, void *buf, size_t len);

/*
 * Builds a request: header (type, req_id, tx_id) and the concatenation of
 * parts[0..n) (each copied as given: callers include the NULs that the
 * message type wants). Returns the total length, or -XEN_E2BIG when the
 * payload exceeds XENSTORE_PAYLOAD_MAX or buf.
 */
struct xb_part {
	const void *data;
	size_t len;
};
int xb_msg_build(void *buf, size_t size, uint32_t type, uint32_t req_id, uint32_t tx_id,
		 const struct xb_part *parts, unsigned n);

/*
 * Incremental reader of the response stream: feed it whatever the ring
 * holds; it reassembles one message at a time into its own buffer (the
 * body is always NUL-terminated one past len, for string replies).
 */
struct xb_rx {
	struct xsd_sockmsg hdr;
	size_t have;                          /* bytes of header + body received */
	uint32_t skipped;                     /* body bytes of an oversized message drained so far */
	bool oversize;                        /* the message was over XENSTORE_PAYLOAD_MAX: body dropped */
	char body[XENSTORE_PAYLOAD_MAX + 1];
};

void xb_rx_reset(struct xb_rx *rx);
/*
 * Reads from the ring into rx. Returns 1 when a whole message is in rx
 * (the caller handles it, then calls xb_rx_reset), 0 when more bytes are
 * needed, or -XEN_EIO on corrupt indices (the stream cannot be trusted).
 * A header announcing more than XENSTORE_PAYLOAD_MAX gives 1 with
 * rx->oversize set once its body has been drained and dropped, so the
 * caller can fail just the request it answers.
 */
int xb_rx_pull(struct xb_rx *rx, struct xenstore_domain_interface *intf);

/* The negative Xen errno an XS_ERROR payload names (its NUL-terminated name, e.g. "ENOENT"); unknown names give -XEN_EIO. */
int xb_errno_from_string(const char *s, size_t len);
/* The name xenstored uses for a negative Xen errno ("EINVAL" for unknown ones). */
const char *xb_errno_name(int err);

/*
 * Checks a reply to a request of type want: 0 if it is that type, the
 * mapped errno of an XS_ERROR reply, -XEN_EIO for anything else.
 */
int xb_reply_status(const struct xsd_sockmsg *hdr, const char *body, uint32_t want);

/*
 * Splits a payload of NUL-terminated strings (a directory listing, a
 * permission list) into one allocation: *list gets a NULL-terminated array
 * of n pointers into the same block, freed with a single free(*list).
 * An empty payload gives n = 0. A last string without its NUL is accepted
 * (some daemons omit it). Returns 0, -XEN_ENOMEM.
 */
int xb_split_strings(const char *body, size_t len, char ***list, unsigned *n);

/*
 * Parses an XS_WATCH_EVENT payload "path\0token\0". Both point into body;
 * returns 0 or -XEN_EIO when either string is missing or empty path.
 */
int xb_parse_watch_event(const char *body, size_t len, const char **path, const char **token);

/* Whether a string names a sane store path for a request: non-empty, no NULs (by construction), below XENSTORE_ABS_PATH_MAX. */
bool xb_path_ok(const char *path);

#endif
