/* __HYPERVISOR_event_channel_op: argument decoding for the event-channel state machine. */
#include <errno.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "evtchn.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"
#include "doorbell.h"

/* A guest names only itself: DOMID_SELF or its own id. */
static int self_only(struct domain *d, domid_t dom)
{
	return dom == DOMID_SELF || dom == d->domid ? 0 : -EPERM;
}

#define COPY_IN(x)  do { if (gmem_read(m, &(x), arg, sizeof(x)) < 0) return -EFAULT; } while (0)
#define COPY_OUT(x) gmem_write(m, arg, &(x), sizeof(x))

long hc_event_channel_op(struct vcpu *v, const uint64_t a[5])
{
	struct domain *d = v->d;
	const struct guest_mem *m = &d->mem;
	uint64_t arg = a[1];
	int rc;

	switch (a[0]) {
	case EVTCHNOP_send: {
		struct evtchn_send s;
		COPY_IN(s);
		atomic_fetch_add(&d->sends_hypercall, 1);
		doorbell_want(d, s.port);   /* later sends on a bound port ring in the kernel */
		return evtchn_send(d, s.port);
	}
	case EVTCHNOP_alloc_unbound: {
		struct evtchn_alloc_unbound u;
		COPY_IN(u);
		if ((rc = self_only(d, u.dom)))
			return rc;
		domid_t remote = u.remote_dom == DOMID_SELF ? (domid_t)d->domid : u.remote_dom;
		if ((rc = evtchn_alloc_unbound(d, remote, &u.port)))
			return rc;
		return COPY_OUT(u);
	}
	case EVTCHNOP_bind_interdomain: {
		struct evtchn_bind_interdomain b;
		COPY_IN(b);
		domid_t remote = b.remote_dom == DOMID_SELF ? (domid_t)d->domid : b.remote_dom;
		if ((rc = evtchn_bind_interdomain(d, remote, b.remote_port, &b.local_port)))
			return rc;
		return COPY_OUT(b);
	}
	case EVTCHNOP_bind_virq: {
		struct evtchn_bind_virq b;
		COPY_IN(b);
		if ((rc = evtchn_bind_virq(d, b.virq, b.vcpu, &b.port)))
			return rc;
		return COPY_OUT(b);
	}
	case EVTCHNOP_bind_ipi: {
		struct evtchn_bind_ipi b;
		COPY_IN(b);
		if ((rc = evtchn_bind_ipi(d, b.vcpu, &b.port)))
			return rc;
		return COPY_OUT(b);
	}
	case EVTCHNOP_close: {
		struct evtchn_close c;
		COPY_IN(c);
		return evtchn_close(d, c.port);
	}
	case EVTCHNOP_status: {
		struct evtchn_status s;
		COPY_IN(s);
		if ((rc = self_only(d, s.dom)))
			return rc;
		if ((rc = evtchn_status(d, &s)))
			return rc;
		return COPY_OUT(s);
	}
	case EVTCHNOP_unmask: {
		struct evtchn_unmask u;
		COPY_IN(u);
		return evtchn_unmask(d, u.port);
	}
	case EVTCHNOP_bind_vcpu: {
		struct evtchn_bind_vcpu b;
		COPY_IN(b);
		return evtchn_bind_vcpu(d, b.port, b.vcpu);
	}
	case EVTCHNOP_reset: {
		struct evtchn_reset r;
		COPY_IN(r);
		if ((rc = self_only(d, r.dom)))
			return rc;
		return evtchn_reset(d);
	}
	default:
		return -ENOSYS;
	}
}
