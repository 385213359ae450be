/* The backend's side of a <xen/io/console.h> ring, with every guest-written index checked. */
#ifndef BACKD_CONS_RING_H
#define BACKD_CONS_RING_H

#include <stddef.h>
#include <stdint.h>
#include <xen/io/console.h>

/*
 * The indexes the backend owns (out_cons, in_prod) live here, not only in
 * the shared page: a guest that scribbles on them cannot make us read or
 * write anything but its own ring bytes. The page's copies are what the
 * guest sees, and what a restarted backend starts from.
 */
struct cons_ring {
	struct xencons_interface *intf;
	XENCONS_RING_IDX out_cons;
	XENCONS_RING_IDX in_prod;
};

/* Starts from the indexes in the page (a restarted backend resumes where the last one stopped). */
void cons_ring__init(struct cons_ring *r, struct xencons_interface *intf);

/*
 * Copies up to len bytes of unread guest output into buf without consuming
 * them. Returns the count, or -EPROTO when the guest's out_prod is more than
 * a ring ahead of out_cons (a broken or hostile guest).
 */
int cons_ring__peek_out(const struct cons_ring *r, char *buf, size_t len);

/* Marks n peeked bytes as consumed and publishes out_cons to the guest. */
void cons_ring__consume_out(struct cons_ring *r, size_t n);

/*
 * Queues up to len bytes of input for the guest; returns how many fitted
 * (0 when the ring is full), or -EPROTO when the guest's in_cons is not
 * within the ring behind in_prod.
 */
int cons_ring__put_in(struct cons_ring *r, const char *buf, size_t len);

#endif
