/* Console ring consumer (out) and producer (in) for kxen-backd; no I/O, unit-tested over an in-memory page. */
#include <errno.h>
#include "cons_ring.h"

#define OUT_SIZE sizeof(((struct xencons_interface *)0)->out)
#define IN_SIZE  sizeof(((struct xencons_interface *)0)->in)

void cons_ring__init(struct cons_ring *r, struct xencons_interface *intf)
{
	r->intf = intf;
	r->out_cons = __atomic_load_n(&intf->out_cons, __ATOMIC_ACQUIRE);
	r->in_prod = __atomic_load_n(&intf->in_prod, __ATOMIC_ACQUIRE);
}

int cons_ring__peek_out(const struct cons_ring *r, char *buf, size_t len)
{
	/* Acquire: the guest's bytes are visible before the index that publishes them. */
	XENCONS_RING_IDX prod = __atomic_load_n(&r->intf->out_prod, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX avail = prod - r->out_cons;   /* unsigned: wraps as the protocol intends */
	size_t n;

	if (avail > OUT_SIZE)
		return -EPROTO;
	n = avail < len ? avail : len;
	for (size_t i = 0; i < n; i++)
		buf[i] = r->intf->out[MASK_XENCONS_IDX(r->out_cons + (XENCONS_RING_IDX)i, r->intf->out)];
	return (int)n;
}

void cons_ring__consume_out(struct cons_ring *r, size_t n)
{
	r->out_cons += (XENCONS_RING_IDX)n;
	__atomic_store_n(&r->intf->out_cons, r->out_cons, __ATOMIC_RELEASE);
}

int cons_ring__put_in(struct cons_ring *r, const char *buf, size_t len)
{
	XENCONS_RING_IDX cons = __atomic_load_n(&r->intf->in_cons, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX used = r->in_prod - cons;
	size_t n;

	if (used > IN_SIZE)
		return -EPROTO;
	n = IN_SIZE - used;
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		r->intf->in[MASK_XENCONS_IDX(r->in_prod + (XENCONS_RING_IDX)i, r->intf->in)] = buf[i];
	r->in_prod += (XENCONS_RING_IDX)n;
	/* Release: the bytes land before the guest can see the index move. */
	__atomic_store_n(&r->intf->in_prod, r->in_prod, __ATOMIC_RELEASE);
	return (int)n;
}
