/* Event channels: Xen's 2-level ports, their state machine and delivery (no KVM ioctls). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "evtchn.h"
#include "vcpu.h"
#include "domain.h"
#include "ctl.h"
#include "doorbell.h"
#include "log.h"

#define BITS_PER_WORD (sizeof(xen_ulong_t) * 8)

static struct evtchn *port_get(struct domain *d, evtchn_port_t port)
{
	if (port == 0 || port >= EVTCHN_MAX_PORTS)
		return NULL;
	struct evtchn *b = __atomic_load_n(&d->evtchn[port / EVTCHN_BUCKET], __ATOMIC_ACQUIRE);
	return b ? &b[port % EVTCHN_BUCKET] : NULL;
}

int evtchn_init(struct domain *d)
{
	for (unsigned i = 0; i < EVTCHN_NR_BUCKETS; i++)
		d->evtchn[i] = NULL;
	return 0;
}

/* Finds a closed port, growing the table a bucket at a time (d->lock held). */
static int port_alloc(struct domain *d, evtchn_port_t *out)
{
	for (unsigned b = 0; b < EVTCHN_NR_BUCKETS; b++) {
		struct evtchn *bucket = d->evtchn[b];
		if (!bucket) {
			bucket = calloc(EVTCHN_BUCKET, sizeof(*bucket));
			if (!bucket)
				return -ENOMEM;
			for (unsigned i = 0; i < EVTCHN_BUCKET; i++)
				bucket[i].notify_fd = bucket[i].kick_fd = -1;
			__atomic_store_n(&d->evtchn[b], bucket, __ATOMIC_RELEASE);
		}
		for (unsigned i = 0; i < EVTCHN_BUCKET; i++) {
			evtchn_port_t p = b * EVTCHN_BUCKET + i;
			if (p == 0)
				continue;   /* port 0 is never valid, as in Xen */
			if (bucket[i].state == EVTCHNSTAT_closed) {
				bucket[i].notify_vcpu = 0;
				*out = p;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

static void port_clear(struct evtchn *c)
{
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	*c = (struct evtchn){ .state = EVTCHNSTAT_closed, .notify_fd = -1, .kick_fd = -1 };
}

/* Locks two domains in a fixed order so binds and closes cannot deadlock. */
static void lock_pair(struct domain *a, struct domain *b)
{
	if (a == b) {
		pthread_mutex_lock(&a->lock);
	} else if (a->domid < b->domid) {
		pthread_mutex_lock(&a->lock);
		pthread_mutex_lock(&b->lock);
	} else {
		pthread_mutex_lock(&b->lock);
		pthread_mutex_lock(&a->lock);
	}
}

static void unlock_pair(struct domain *a, struct domain *b)
{
	pthread_mutex_unlock(&a->lock);
	if (a != b)
		pthread_mutex_unlock(&b->lock);
}

int evtchn_alloc_unbound(struct domain *d, domid_t remote, evtchn_port_t *port)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = port_alloc(d, port);
	if (rc == 0) {
		struct evtchn *c = port_get(d, *port);
		c->state = EVTCHNSTAT_unbound;
		c->remote_dom = remote;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int evtchn_bind_interdomain(struct domain *ld, domid_t remote_dom,
                            evtchn_port_t remote_port, evtchn_port_t *port)
{
	struct domain *rd = remote_dom == ld->domid ? ld : domain_get(remote_dom);
	int rc;

	if (!rd)
		return -ESRCH;
	lock_pair(ld, rd);
	struct evtchn *rc_ = port_get(rd, remote_port);
	if (!rc_ || rc_->state != EVTCHNSTAT_unbound ||
	    rc_->remote_dom != (domid_t)ld->domid) {
		rc = -EINVAL;
		goto out;
	}
	if (atomic_load_explicit(&rd->dying, memory_order_acquire)) {
		rc = -ESRCH;
		goto out;
	}
	rc = port_alloc(ld, port);
	if (rc)
		goto out;
	/* The remote may be the same domain: re-fetch after allocation. */
	rc_ = port_get(rd, remote_port);
	struct evtchn *lc = port_get(ld, *port);
	lc->state = EVTCHNSTAT_interdomain;
	lc->remote_dom = (domid_t)rd->domid;
	lc->remote_port = remote_port;
	rc_->state = EVTCHNSTAT_interdomain;
	rc_->remote_dom = (domid_t)ld->domid;
	rc_->remote_port = *port;
	/* Both locks held: the doorbells change with the binding. */
	doorbell_bind(ld, *port, rd, remote_port, rc_->notify_fd);
	doorbell_bind(rd, remote_port, ld, *port, lc->notify_fd);
	rc = 0;
out:
	unlock_pair(ld, rd);
	if (rc == 0)
		evtchn_set_pending(ld, *port);   /* Xen marks the new local port pending */
	if (rd != ld)
		domain_put(rd);
	return rc;
}

static bool virq_is_per_vcpu(uint32_t virq)
{
	return virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == VIRQ_XENOPROF ||
	       virq == VIRQ_XENPMU;
}

int evtchn_bind_virq(struct domain *d, uint32_t virq, uint32_t vcpu, evtchn_port_t *port)
{
	int rc;

	if (virq >= NR_VIRQS)
		return -EINVAL;
	if (!virq_is_per_vcpu(virq) && vcpu != 0)
		return -EINVAL;
	if (vcpu >= d->max_vcpus || !d->vcpu[vcpu])
		return -ENOENT;
	struct vcpu *v = d->vcpu[vcpu];
	pthread_mutex_lock(&d->lock);
	if (v->virq_port[virq]) {
		rc = -EEXIST;
		goto out;
	}
	rc = port_alloc(d, port);
	if (rc)
		goto out;
	struct evtchn *c = port_get(d, *port);
	c->state = EVTCHNSTAT_virq;
	c->virq = (uint16_t)virq;
	c->notify_vcpu = (uint8_t)vcpu;
	v->virq_port[virq] = *port;
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int evtchn_bind_ipi(struct domain *d, uint32_t vcpu, evtchn_port_t *port)
{
	int rc;

	if (vcpu >= d->max_vcpus || !d->vcpu[vcpu])
		return -ENOENT;
	pthread_mutex_lock(&d->lock);
	rc = port_alloc(d, port);
	if (rc == 0) {
		struct evtchn *c = port_get(d, *port);
		c->state = EVTCHNSTAT_ipi;
		c->notify_vcpu = (uint8_t)vcpu;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Closes port of d; for interdomain ports the peer is locked too (both held by caller). */
static void close_locked(struct domain *d, evtchn_port_t port, struct evtchn *c, struct domain *peer)
{
	switch (c->state) {
	case EVTCHNSTAT_interdomain:
		/* Doorbell sends made before this close still reach the peer's port; the peer's to ours are dropped. */
		doorbell_unbind(d, port, peer, c->remote_port);
		if (peer) {
			struct evtchn *pc = port_get(peer, c->remote_port);
			if (pc && pc->state == EVTCHNSTAT_interdomain &&
			    pc->remote_dom == (domid_t)d->domid) {
				doorbell_unbind(peer, c->remote_port, NULL, 0);
				/* Xen: the peer goes back to unbound, bindable by us again. */
				pc->state = EVTCHNSTAT_unbound;
				pc->remote_dom = (domid_t)d->domid;
				pc->remote_port = 0;
			}
		}
		break;
	case EVTCHNSTAT_virq: {
		/* A global VIRQ is recorded on vCPU 0 even after bind_vcpu moved its port. */
		unsigned owner = virq_is_per_vcpu(c->virq) ? c->notify_vcpu : 0;
		if (owner < d->max_vcpus && d->vcpu[owner])
			d->vcpu[owner]->virq_port[c->virq] = 0;
		break;
	}
	default:
		break;
	}
	port_clear(c);
	/* Xen's evtchn_free: a pending bit must not outlive the port into its next binding (Linux's CPU hot-plug rebinds). */
	if (d->shared)
		__atomic_fetch_and(&d->shared->evtchn_pending[port / BITS_PER_WORD],
		                   ~((xen_ulong_t)1 << (port % BITS_PER_WORD)), __ATOMIC_SEQ_CST);
}

int evtchn_close(struct domain *d, evtchn_port_t port)
{
	struct domain *peer = NULL;
	struct evtchn *c;

	pthread_mutex_lock(&d->lock);
	c = port_get(d, port);
	if (!c || c->state == EVTCHNSTAT_closed) {
		pthread_mutex_unlock(&d->lock);
		return -EINVAL;
	}
	if (c->state != EVTCHNSTAT_interdomain || c->remote_dom == d->domid) {
		if (c->state == EVTCHNSTAT_interdomain)
			peer = d;
		close_locked(d, port, c, peer);
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	domid_t rdom = c->remote_dom;
	pthread_mutex_unlock(&d->lock);

	peer = domain_get(rdom);
	if (!peer) {
		pthread_mutex_lock(&d->lock);
		c = port_get(d, port);
		if (c && c->state != EVTCHNSTAT_closed)
			close_locked(d, port, c, NULL);
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	lock_pair(d, peer);
	c = port_get(d, port);
	if (c && c->state != EVTCHNSTAT_closed)
		close_locked(d, port, c, c->state == EVTCHNSTAT_interdomain ? peer : NULL);
	unlock_pair(d, peer);
	domain_put(peer);
	return 0;
}

/* Closes every open port of d (peers of interdomain ports go back to unbound). */
static void close_all(struct domain *d)
{
	for (evtchn_port_t p = 1; p < EVTCHN_MAX_PORTS; p++) {
		struct evtchn *c = port_get(d, p);
		if (!c) {
			p = (p / EVTCHN_BUCKET + 1) * EVTCHN_BUCKET - 1;   /* skip an unallocated bucket */
			continue;
		}
		if (c->state != EVTCHNSTAT_closed)
			evtchn_close(d, p);
	}
}

void evtchn_fini(struct domain *d)
{
	struct doorbell_stats st;

	/*
	 * The buckets stay until domain_free: a sender that took its reference
	 * before the domain left the table may still look a port up.
	 */
	close_all(d);
	doorbell_stats(d, &st);
	if (st.sends_hypercall || st.doorbell_guest)
		hvlog("(XEN) d%u evtchn sends: %llu by exit (%llu doorbell misses), %llu by doorbell to guests; "
		      "%llu kicks not needed (upcalls masked)", d->domid, (unsigned long long)st.sends_hypercall,
		      (unsigned long long)st.doorbell_misses, (unsigned long long)st.doorbell_guest,
		      (unsigned long long)atomic_load(&d->kicks_saved));
	/* Where the domain's exits went, for benchmarks that read this log after it is gone. */
	uint64_t ex = 0, hc = 0, kk = 0;
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (d->vcpu[i]) {
			ex += atomic_load(&d->vcpu[i]->exits);
			hc += atomic_load(&d->vcpu[i]->hypercalls);
			kk += atomic_load(&d->vcpu[i]->kicks);
		}
	if (ex || kk)
		hvlog("(XEN) d%u exits: %llu handled (%llu hypercalls), %llu kicks", d->domid,
		      (unsigned long long)ex, (unsigned long long)hc, (unsigned long long)kk);
}

int evtchn_reset(struct domain *d)
{
	close_all(d);
	return 0;
}

int evtchn_send(struct domain *d, evtchn_port_t port)
{
	pthread_mutex_lock(&d->lock);
	struct evtchn *c = port_get(d, port);
	if (!c || c->state == EVTCHNSTAT_closed) {
		pthread_mutex_unlock(&d->lock);
		return -EINVAL;
	}
	uint8_t state = c->state;
	domid_t rdom = c->remote_dom;
	evtchn_port_t rport = c->remote_port;
	pthread_mutex_unlock(&d->lock);

	switch (state) {
	case EVTCHNSTAT_interdomain: {
		if (rdom == d->domid) {
			evtchn_set_pending(d, rport);
			return 0;
		}
		struct domain *rd = domain_get(rdom);
		if (rd) {
			evtchn_set_pending(rd, rport);
			domain_put(rd);
		}
		return 0;
	}
	case EVTCHNSTAT_ipi:
		evtchn_set_pending(d, port);
		return 0;
	case EVTCHNSTAT_unbound:
		return 0;   /* Xen drops sends on unbound ports silently */
	default:
		return -EINVAL;
	}
}

int evtchn_status(struct domain *d, evtchn_status_t *st)
{
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	struct evtchn *c = port_get(d, st->port);
	if (!c || (st->port >= EVTCHN_MAX_PORTS)) {
		/* Ports never allocated read as closed, as in Xen. */
		if (st->port == 0 || st->port >= EVTCHN_MAX_PORTS)
			rc = -EINVAL;
		else
			st->status = EVTCHNSTAT_closed;
		goto out;
	}
	st->status = c->state;
	st->vcpu = c->notify_vcpu;
	switch (c->state) {
	case EVTCHNSTAT_unbound:
		st->u.unbound.dom = c->remote_dom;
		break;
	case EVTCHNSTAT_interdomain:
		st->u.interdomain.dom = c->remote_dom;
		st->u.interdomain.port = c->remote_port;
		break;
	case EVTCHNSTAT_virq:
		st->u.virq = c->virq;
		break;
	default:
		break;
	}
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/*
 * The kick (a signal that takes the vCPU out of KVM_RUN: a full exit) only
 * matters when an upcall can follow. A vCPU running its guest with upcalls
 * masked gets none; it finds evtchn_upcall_pending itself when it unmasks
 * or before it blocks (Xen's contract: events.c evt_restore, Linux's
 * xen_irq_enable), and SCHEDOP_block unmasks before it reads pending
 * (seq_cst on both sides: one of the two sees the other's store). So a
 * frontend that polls its rings with upcalls masked is not interrupted by
 * the notifications it is polling for. Linux PV guests (pvl) keep the kick:
 * kxen's in-guest layer there has its own return paths.
 */
static void kick_for_upcall(struct domain *d, struct vcpu *v, const struct vcpu_info *vi)
{
	if (!d->pvl && atomic_load(&v->in_guest) &&
	    __atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST)) {
		atomic_fetch_add(&d->kicks_saved, 1);
		return;
	}
	vcpu_kick(v);
}

static void mark_vcpu_pending(struct domain *d, unsigned vcpu, evtchn_port_t port)
{
	if (vcpu >= d->max_vcpus || !d->vcpu[vcpu] || vcpu >= XEN_LEGACY_MAX_VCPUS)
		vcpu = 0;
	struct vcpu_info *vi = vcpu_vinfo(d->vcpu[vcpu]);
	xen_ulong_t selbit = (xen_ulong_t)1 << (port / BITS_PER_WORD);

	if (!(__atomic_fetch_or(&vi->evtchn_pending_sel, selbit, __ATOMIC_SEQ_CST) & selbit)) {
		__atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
		kick_for_upcall(d, d->vcpu[vcpu], vi);
	} else if (!__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
		/* The guest cleared upcall_pending but not the selector yet: renotify. */
		__atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
		kick_for_upcall(d, d->vcpu[vcpu], vi);
	}
}

static void wake_pollers(struct domain *d)
{
	if (atomic_load(&d->nr_polling) == 0)
		return;
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (d->vcpu[i] && atomic_load(&d->vcpu[i]->polling))
			vcpu_kick(d->vcpu[i]);
}

void evtchn_set_pending(struct domain *d, evtchn_port_t port)
{
	if (d->is_dom0) {
		pthread_mutex_lock(&d->lock);
		struct evtchn *c = port_get(d, port);
		if (c && c->notify_fd >= 0) {
			uint64_t one = 1;
			ssize_t w = write(c->notify_fd, &one, sizeof(one));
			(void)w;   /* EAGAIN: the counter is saturated, dom0 is notified anyway */
		}
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (!d->shared || port == 0 || port >= EVTCHN_MAX_PORTS)
		return;
	struct evtchn *c = port_get(d, port);
	unsigned vcpu = c ? c->notify_vcpu : 0;
	xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
	xen_ulong_t *pending = &d->shared->evtchn_pending[port / BITS_PER_WORD];

	if (__atomic_fetch_or(pending, bit, __ATOMIC_SEQ_CST) & bit)
		return;
	atomic_fetch_add(&d->events, 1);
	wake_pollers(d);
	if (__atomic_load_n(&d->shared->evtchn_mask[port / BITS_PER_WORD], __ATOMIC_SEQ_CST) & bit)
		return;
	mark_vcpu_pending(d, vcpu, port);
}

bool evtchn_is_pending(struct domain *d, evtchn_port_t port)
{
	if (!d->shared || port == 0 || port >= EVTCHN_MAX_PORTS)
		return false;
	xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
	return __atomic_load_n(&d->shared->evtchn_pending[port / BITS_PER_WORD],
	                       __ATOMIC_SEQ_CST) & bit;
}

int evtchn_unmask(struct domain *d, evtchn_port_t port)
{
	struct evtchn *c = port_get(d, port);

	if (!c || !d->shared)
		return -EINVAL;
	xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
	__atomic_fetch_and(&d->shared->evtchn_mask[port / BITS_PER_WORD], ~bit, __ATOMIC_SEQ_CST);
	if (evtchn_is_pending(d, port))
		mark_vcpu_pending(d, c->notify_vcpu, port);
	return 0;
}

int evtchn_bind_vcpu(struct domain *d, evtchn_port_t port, uint32_t vcpu)
{
	int rc = 0;

	if (vcpu >= d->max_vcpus || !d->vcpu[vcpu])
		return -ENOENT;
	pthread_mutex_lock(&d->lock);
	struct evtchn *c = port_get(d, port);
	if (!c || c->state == EVTCHNSTAT_closed) {
		rc = -EINVAL;
	} else if (c->state == EVTCHNSTAT_ipi ||
	           (c->state == EVTCHNSTAT_virq && virq_is_per_vcpu(c->virq))) {
		rc = -EINVAL;   /* bound to their vCPU for life, as in Xen */
	} else {
		c->notify_vcpu = (uint8_t)vcpu;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

bool evtchn_raise_virq(struct vcpu *v, uint32_t virq)
{
	struct domain *d = v->d;
	struct vcpu *owner = virq_is_per_vcpu(virq) ? v : d->vcpu[0];
	evtchn_port_t port;

	if (virq >= NR_VIRQS || !owner)
		return false;
	port = __atomic_load_n(&owner->virq_port[virq], __ATOMIC_ACQUIRE);
	if (!port)
		return false;
	evtchn_set_pending(d, port);
	return true;
}

/*
 * The guest end of dom0's port now has an eventfd to ring (dom0->lock held;
 * dom0 locks first, as lock_pair). Returns the guest's reference, which the
 * caller drops after unlocking dom0 (a last put frees the domain).
 */
static struct domain *attach_doorbell(struct domain *dom0, evtchn_port_t port, struct evtchn *c)
{
	struct domain *g = domain_get(c->remote_dom);

	if (!g || g == dom0)
		return g == dom0 ? NULL : g;
	pthread_mutex_lock(&g->lock);
	struct evtchn *gc = port_get(g, c->remote_port);
	if (gc && gc->state == EVTCHNSTAT_interdomain && gc->remote_dom == 0 &&
	    gc->remote_port == port)
		doorbell_bind(g, c->remote_port, dom0, port, c->notify_fd);
	pthread_mutex_unlock(&g->lock);
	return g;
}

int evtchn_dom0_attach(struct domain *dom0, evtchn_port_t port, int notify_fd, int kick_fd)
{
	struct domain *g = NULL;
	int rc = 0;

	pthread_mutex_lock(&dom0->lock);
	struct evtchn *c = port_get(dom0, port);
	if (!c || c->state == EVTCHNSTAT_closed)
		rc = -EINVAL;
	else {
		/* Re-attaching replaces the eventfds: close the ones we held. */
		if (c->notify_fd >= 0 && c->notify_fd != notify_fd)
			close(c->notify_fd);
		if (c->kick_fd >= 0 && c->kick_fd != kick_fd)
			close(c->kick_fd);
		c->notify_fd = notify_fd;
		c->kick_fd = kick_fd;
		if (c->state == EVTCHNSTAT_interdomain) {
			g = attach_doorbell(dom0, port, c);
			/*
			 * Xen leaves a newly bound port pending, and a send made
			 * between the bind and now found no eventfd and reached no
			 * one (evtchn_set_pending on dom0): the first notification
			 * says "look at the ring", as after any send. A spurious
			 * one costs a look; a lost one stalled a frontend that had
			 * queued its request in that window.
			 */
			if (notify_fd >= 0) {
				uint64_t one = 1;
				ssize_t w = write(notify_fd, &one, sizeof(one));
				(void)w;   /* EAGAIN: the counter is saturated, dom0 is notified anyway */
			}
		}
	}
	pthread_mutex_unlock(&dom0->lock);
	domain_put(g);
	return rc;
}

/* KXCTL_EVTCHN_ALLOC_UNBOUND: a port in domain domid (0: dom0's own) that remote_domid may bind. */
int evtchn_ctl_alloc_unbound(struct ctl_req *r)
{
	const struct kxctl_evtchn_alloc_unbound *a = r->p;
	struct kxctl_port out = { 0 };
	struct domain *d = NULL;
	int rc;

	if (a->remote_domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	if (a->domid != 0 && !(d = domain_get(a->domid)))
		return -ESRCH;
	rc = evtchn_alloc_unbound(d ? d : domain_dom0(), (domid_t)a->remote_domid, &out.port);
	domain_put(d);
	memcpy(r->rep, &out, sizeof(out));
	r->rlen = sizeof(out);
	return rc;
}
