/* CUnit suite for evtchn.c and upcall.c: the event-channel state machine, dom0 eventfd ports and the upcall bounce frame. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv_fixture.h"

#define NVCPUS     2
#define WORD_BITS  (sizeof(xen_ulong_t) * 8)


/* Forgets every pending bit, selector and upcall flag of d. */
static void clear_pending(struct domain *d)
{
	memset(d->shared->evtchn_pending, 0, sizeof(d->shared->evtchn_pending));
	for (unsigned i = 0; i < XEN_LEGACY_MAX_VCPUS; i++) {
		d->shared->vcpu_info[i].evtchn_pending_sel = 0;
		d->shared->vcpu_info[i].evtchn_upcall_pending = 0;
	}
}

static bool sel_bit(struct domain *d, unsigned vcpu, evtchn_port_t port)
{
	return d->shared->vcpu_info[vcpu].evtchn_pending_sel & ((xen_ulong_t)1 << (port / WORD_BITS));
}

static unsigned upcall_pending(struct domain *d, unsigned vcpu)
{
	return d->shared->vcpu_info[vcpu].evtchn_upcall_pending;
}

static void set_mask(struct domain *d, evtchn_port_t port, bool on)
{
	xen_ulong_t bit = (xen_ulong_t)1 << (port % WORD_BITS);

	if (on)
		d->shared->evtchn_mask[port / WORD_BITS] |= bit;
	else
		d->shared->evtchn_mask[port / WORD_BITS] &= ~bit;
}

static evtchn_status_t status_of(struct domain *d, evtchn_port_t port, int *rc)
{
	evtchn_status_t st;

	memset(&st, 0xa5, sizeof(st));
	st.port = port;
	*rc = evtchn_status(d, &st);
	return st;
}

#define FX2(a, b) \
	struct domain *a = fx_domain("evt", NVCPUS, true), *b = fx_domain("evt", NVCPUS, true); \
	CU_ASSERT_PTR_NOT_NULL_FATAL(a); \
	CU_ASSERT_PTR_NOT_NULL_FATAL(b)

static void test_alloc_bind_interdomain(void)
{
	FX2(a, b);
	struct domain *c = fx_domain("evt", 1, true);
	evtchn_port_t pa, pb, pc, px;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &pa), 0);
	CU_ASSERT_NOT_EQUAL(pa, 0);
	st = status_of(a, pa, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, b->domid);

	clear_pending(b);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa, &pb), 0);
	st = status_of(a, pa, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.dom, b->domid);
	CU_ASSERT_EQUAL(st.u.interdomain.port, pb);
	st = status_of(b, pb, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.dom, a->domid);
	CU_ASSERT_EQUAL(st.u.interdomain.port, pa);
	/* As in Xen, the new local port starts pending. */
	CU_ASSERT_TRUE(evtchn_is_pending(b, pb));

	/* pa is interdomain now, not unbound. */
	px = 0xdead;
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(c, (domid_t)a->domid, pa, &px), -EINVAL);
	/* An unbound port offered to c cannot be taken by b. */
	CU_ASSERT_EQUAL(evtchn_alloc_unbound(a, (domid_t)c->domid, &pc), 0);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pc, &px), -EINVAL);
	st = status_of(a, pc, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	/* Invalid, closed and never-allocated ports. */
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, 0, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, 4000, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, EVTCHN_MAX_PORTS, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, 0xffffffffu, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa + 50, &px), -EINVAL);
	/* A domain that does not exist. */
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)(MAX_DOMID - 1), 1, &px), -ESRCH);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, DOMID_SELF, 1, &px), -ESRCH);
	/* c may take the port offered to it. */
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(c, (domid_t)a->domid, pc, &px), 0);
	st = status_of(c, px, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.port, pc);
	fx_destroy(a);
	fx_destroy(b);
	fx_destroy(c);
}

static void test_send(void)
{
	FX2(a, b);
	evtchn_port_t pa, pb;

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa, &pb), 0);
	clear_pending(a);
	clear_pending(b);

	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(b, pb));
	CU_ASSERT_FALSE(evtchn_is_pending(a, pa));
	CU_ASSERT_TRUE(sel_bit(b, 0, pb));
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 1);
	CU_ASSERT_EQUAL(upcall_pending(b, 1), 0);
	CU_ASSERT_EQUAL(atomic_load(&b->events), 2);   /* the bind marked pb pending too */

	/* The other direction. */
	CU_ASSERT_EQUAL(evtchn_send(b, pb), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(a, pa));
	CU_ASSERT_TRUE(sel_bit(a, 0, pa));
	CU_ASSERT_EQUAL(upcall_pending(a, 0), 1);

	/* Re-routed to vCPU 1: selector and upcall follow notify_vcpu. */
	clear_pending(b);
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(b, pb, 1), 0);
	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(b, pb));
	CU_ASSERT_TRUE(sel_bit(b, 1, pb));
	CU_ASSERT_FALSE(sel_bit(b, 0, pb));
	CU_ASSERT_EQUAL(upcall_pending(b, 1), 1);
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 0);

	/* A guest that cleared upcall_pending but not yet the selector is notified again. */
	b->shared->vcpu_info[1].evtchn_upcall_pending = 0;
	b->shared->evtchn_pending[0] = 0;
	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_EQUAL(upcall_pending(b, 1), 1);

	/* Closed and invalid ports. */
	CU_ASSERT_EQUAL(evtchn_send(a, 0), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_send(a, pa + 1), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_send(a, EVTCHN_MAX_PORTS), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_send(a, 0xffffffffu), -EINVAL);
	fx_destroy(a);
	fx_destroy(b);
}

static void test_masked(void)
{
	FX2(a, b);
	evtchn_port_t pa, pb;

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa, &pb), 0);
	clear_pending(b);
	set_mask(b, pb, true);

	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(b, pb));
	CU_ASSERT_FALSE(sel_bit(b, 0, pb));
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 0);
	/* Still pending, still quiet. */
	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 0);

	CU_ASSERT_EQUAL(evtchn_unmask(b, pb), 0);
	CU_ASSERT_FALSE(b->shared->evtchn_mask[pb / WORD_BITS] & ((xen_ulong_t)1 << (pb % WORD_BITS)));
	CU_ASSERT_TRUE(sel_bit(b, 0, pb));
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 1);

	/* Unmasking a port that is not pending raises nothing. */
	clear_pending(b);
	set_mask(b, pb, true);
	CU_ASSERT_EQUAL(evtchn_unmask(b, pb), 0);
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 0);

	CU_ASSERT_EQUAL(evtchn_unmask(b, 0), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_unmask(b, 4000), -EINVAL);   /* bucket never allocated */
	CU_ASSERT_EQUAL(evtchn_unmask(b, EVTCHN_MAX_PORTS), -EINVAL);
	fx_destroy(a);
	fx_destroy(b);
}

/* A vCPU running its guest with upcalls masked gets the pending bits but no kick; otherwise it is kicked. */
static void test_kick_masked(void)
{
	FX2(a, b);
	evtchn_port_t pa, pb;
	struct vcpu *v = b->vcpu[0];

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa, &pb), 0);
	clear_pending(b);
	uint64_t saved = atomic_load(&b->kicks_saved);
	/* In its guest, masked (a frontend polling its ring): pending and upcall_pending set, no kick. */
	atomic_store(&v->in_guest, 1);
	b->shared->vcpu_info[0].evtchn_upcall_mask = 1;
	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(b, pb));
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 1);
	CU_ASSERT_EQUAL(atomic_load(&b->kicks_saved), saved + 1);
	/* Unmasked: the kick is needed for the upcall. */
	clear_pending(b);
	b->shared->vcpu_info[0].evtchn_upcall_mask = 0;
	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 1);
	CU_ASSERT_EQUAL(atomic_load(&b->kicks_saved), saved + 1);
	/* Masked but out of its guest (in a hypercall, about to block): kicked as well. */
	clear_pending(b);
	atomic_store(&v->in_guest, 0);
	b->shared->vcpu_info[0].evtchn_upcall_mask = 1;
	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_EQUAL(atomic_load(&b->kicks_saved), saved + 1);
	fx_destroy(a);
	fx_destroy(b);
}

static void test_send_unbound(void)
{
	FX2(a, b);
	evtchn_port_t p, pv;

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &p), 0);
	clear_pending(a);
	clear_pending(b);
	CU_ASSERT_EQUAL(evtchn_send(a, p), 0);
	CU_ASSERT_FALSE(evtchn_is_pending(a, p));
	CU_ASSERT_EQUAL(upcall_pending(a, 0), 0);
	CU_ASSERT_EQUAL(upcall_pending(b, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&a->events), 0);
	CU_ASSERT_EQUAL(atomic_load(&b->events), 0);
	/* VIRQ ports are raised by the hypervisor, never sent. */
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(a, VIRQ_TIMER, 0, &pv), 0);
	CU_ASSERT_EQUAL(evtchn_send(a, pv), -EINVAL);
	fx_destroy(a);
	fx_destroy(b);
}

static void test_close_interdomain(void)
{
	FX2(a, b);
	evtchn_port_t pa, pb, pa2;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa, &pb), 0);
	CU_ASSERT_EQUAL(evtchn_close(a, pa), 0);
	st = status_of(a, pa, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_closed);
	st = status_of(b, pb, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, a->domid);   /* the closer may bind again */
	CU_ASSERT_EQUAL(evtchn_close(a, pa), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_close(a, 0), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_close(a, EVTCHN_MAX_PORTS), -EINVAL);

	CU_ASSERT_EQUAL(evtchn_bind_interdomain(a, (domid_t)b->domid, pb, &pa2), 0);
	st = status_of(b, pb, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.port, pa2);
	/* The closed port is reused first. */
	CU_ASSERT_EQUAL(pa2, pa);
	/* Closing from the other side works the same way. */
	CU_ASSERT_EQUAL(evtchn_close(b, pb), 0);
	st = status_of(a, pa2, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, b->domid);
	fx_destroy(a);
	fx_destroy(b);
}

static void test_bind_virq(void)
{
	struct domain *d = fx_domain("evt", NVCPUS, true);
	evtchn_port_t p1, p0, pg, px;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, 1, &p1), 0);
	CU_ASSERT_EQUAL(d->vcpu[1]->virq_port[VIRQ_TIMER], p1);
	CU_ASSERT_EQUAL(d->vcpu[0]->virq_port[VIRQ_TIMER], 0);
	st = status_of(d, p1, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_virq);
	CU_ASSERT_EQUAL(st.u.virq, VIRQ_TIMER);
	CU_ASSERT_EQUAL(st.vcpu, 1);
	/* Per-vCPU: vCPU 0 gets its own. */
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, 0, &p0), 0);
	CU_ASSERT_NOT_EQUAL(p0, p1);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, 1, &px), -EEXIST);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_DEBUG, 1, &px), 0);
	/* Global VIRQs only on vCPU 0. */
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_CONSOLE, 1, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_CONSOLE, 0, &pg), 0);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_CONSOLE, 0, &px), -EEXIST);
	/* Bad VIRQ numbers and vCPUs. */
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, NR_VIRQS, 0, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, 0xffffffffu, 0, &px), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, NVCPUS, &px), -ENOENT);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, KXEN_PV_MAX_VCPUS, &px), -ENOENT);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, 0xffffffffu, &px), -ENOENT);
	/* Closing frees the binding for a new one. */
	CU_ASSERT_EQUAL(evtchn_close(d, p1), 0);
	CU_ASSERT_EQUAL(d->vcpu[1]->virq_port[VIRQ_TIMER], 0);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, 1, &px), 0);
	CU_ASSERT_EQUAL(d->vcpu[1]->virq_port[VIRQ_TIMER], px);
	fx_destroy(d);
}

static void test_bind_ipi(void)
{
	struct domain *d = fx_domain("evt", NVCPUS, true);
	evtchn_port_t p, px;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_ipi(d, 1, &p), 0);
	st = status_of(d, p, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_ipi);
	CU_ASSERT_EQUAL(st.vcpu, 1);
	clear_pending(d);
	CU_ASSERT_EQUAL(evtchn_send(d, p), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(d, p));
	CU_ASSERT_TRUE(sel_bit(d, 1, p));
	CU_ASSERT_EQUAL(upcall_pending(d, 1), 1);
	CU_ASSERT_EQUAL(upcall_pending(d, 0), 0);
	CU_ASSERT_EQUAL(evtchn_bind_ipi(d, NVCPUS, &px), -ENOENT);
	CU_ASSERT_EQUAL(evtchn_bind_ipi(d, 0xffffffffu, &px), -ENOENT);
	CU_ASSERT_EQUAL(evtchn_close(d, p), 0);
	CU_ASSERT_EQUAL(evtchn_send(d, p), -EINVAL);
	fx_destroy(d);
}

static void test_bind_vcpu(void)
{
	FX2(d, peer);
	evtchn_port_t pipi, ptimer, pcons, pu, pi, px;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_EQUAL_FATAL(evtchn_bind_ipi(d, 0, &pipi), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(d, VIRQ_TIMER, 0, &ptimer), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(d, VIRQ_CONSOLE, 0, &pcons), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(d, (domid_t)peer->domid, &pu), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(peer, (domid_t)d->domid, &px), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(d, (domid_t)peer->domid, px, &pi), 0);

	/* IPIs and per-vCPU VIRQs stay where they were bound. */
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, pipi, 1), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, ptimer, 1), -EINVAL);
	/* The others move. */
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, pu, 1), 0);
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, pi, 1), 0);
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, pcons, 1), 0);
	st = status_of(d, pcons, &rc);
	CU_ASSERT_EQUAL(st.vcpu, 1);
	st = status_of(d, pi, &rc);
	CU_ASSERT_EQUAL(st.vcpu, 1);
	st = status_of(d, pipi, &rc);
	CU_ASSERT_EQUAL(st.vcpu, 0);
	/* Bad vCPU and ports. */
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, pu, NVCPUS), -ENOENT);
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, 4000, 0), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_bind_vcpu(d, EVTCHN_MAX_PORTS, 0), -EINVAL);

	/* A moved global VIRQ is still raised through vCPU 0's binding, on vCPU 1. */
	clear_pending(d);
	CU_ASSERT_TRUE(evtchn_raise_virq(d->vcpu[0], VIRQ_CONSOLE));
	CU_ASSERT_TRUE(evtchn_is_pending(d, pcons));
	CU_ASSERT_TRUE(sel_bit(d, 1, pcons));
	CU_ASSERT_EQUAL(upcall_pending(d, 1), 1);
	CU_ASSERT_EQUAL(upcall_pending(d, 0), 0);
	/* Closing the moved global VIRQ unbinds it, so it can be bound again. */
	CU_ASSERT_EQUAL(evtchn_close(d, pcons), 0);
	CU_ASSERT_EQUAL(d->vcpu[0]->virq_port[VIRQ_CONSOLE], 0);
	CU_ASSERT_FALSE(evtchn_raise_virq(d->vcpu[0], VIRQ_CONSOLE));
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_CONSOLE, 0, &px), 0);
	fx_destroy(d);
	fx_destroy(peer);
}

static void test_status(void)
{
	FX2(d, peer);
	evtchn_port_t pu, pi, pr, pv, pipi;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(d, (domid_t)peer->domid, &pu), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(peer, (domid_t)d->domid, &pr), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(d, (domid_t)peer->domid, pr, &pi), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(d, VIRQ_DEBUG, 1, &pv), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_ipi(d, 1, &pipi), 0);

	st = status_of(d, pu, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, peer->domid);
	st = status_of(d, pi, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.dom, peer->domid);
	CU_ASSERT_EQUAL(st.u.interdomain.port, pr);
	st = status_of(d, pv, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_virq);
	CU_ASSERT_EQUAL(st.u.virq, VIRQ_DEBUG);
	CU_ASSERT_EQUAL(st.vcpu, 1);
	st = status_of(d, pipi, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_ipi);
	CU_ASSERT_EQUAL(st.vcpu, 1);
	/* Closed: in an allocated bucket and beyond the allocated ones. */
	st = status_of(d, pipi + 1, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_closed);
	st = status_of(d, EVTCHN_MAX_PORTS - 1, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_closed);
	/* Invalid. */
	status_of(d, 0, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	status_of(d, EVTCHN_MAX_PORTS, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	status_of(d, 0xffffffffu, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	fx_destroy(d);
	fx_destroy(peer);
}

static void test_reset(void)
{
	FX2(d, peer);
	evtchn_port_t pu, pi, pr, pv, pipi, px;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(d, (domid_t)peer->domid, &pu), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(peer, (domid_t)d->domid, &pr), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(d, (domid_t)peer->domid, pr, &pi), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(d, VIRQ_TIMER, 1, &pv), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_ipi(d, 0, &pipi), 0);

	CU_ASSERT_EQUAL(evtchn_reset(d), 0);
	for (evtchn_port_t p = 1; p < 200; p++) {
		st = status_of(d, p, &rc);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_closed);
	}
	CU_ASSERT_EQUAL(d->vcpu[1]->virq_port[VIRQ_TIMER], 0);
	st = status_of(peer, pr, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, d->domid);
	/* Everything can be bound afresh. */
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, 1, &px), 0);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(d, (domid_t)peer->domid, pr, &px), 0);
	/* Resetting an empty table is fine. */
	struct domain *e = fx_domain("evt", 1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(evtchn_reset(e), 0);
	fx_destroy(e);
	fx_destroy(d);
	fx_destroy(peer);
}

static void test_exhaustion(void)
{
	struct domain *d = fx_domain("evt", 1, true);
	static unsigned char seen[EVTCHN_MAX_PORTS];
	evtchn_port_t p;
	unsigned n = 0;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(seen, 0, sizeof(seen));
	while ((rc = evtchn_alloc_unbound(d, 0, &p)) == 0) {
		if (p == 0 || p >= EVTCHN_MAX_PORTS || seen[p]) {
			CU_FAIL("bad or duplicate port");
			break;
		}
		seen[p] = 1;
		if (++n > EVTCHN_MAX_PORTS)
			break;
	}
	CU_ASSERT_EQUAL(rc, -ENOSPC);
	CU_ASSERT_EQUAL(n, EVTCHN_MAX_PORTS - 1);
	CU_ASSERT_EQUAL(n, 4095);
	CU_ASSERT_FALSE(seen[0]);
	CU_ASSERT_EQUAL(evtchn_bind_ipi(d, 0, &p), -ENOSPC);
	CU_ASSERT_EQUAL(evtchn_bind_virq(d, VIRQ_TIMER, 0, &p), -ENOSPC);
	CU_ASSERT_EQUAL(d->vcpu[0]->virq_port[VIRQ_TIMER], 0);
	/* A freed port is handed out again. */
	CU_ASSERT_EQUAL(evtchn_close(d, 1234), 0);
	CU_ASSERT_EQUAL(evtchn_bind_ipi(d, 0, &p), 0);
	CU_ASSERT_EQUAL(p, 1234);
	CU_ASSERT_EQUAL(evtchn_alloc_unbound(d, 0, &p), -ENOSPC);
	fx_destroy(d);
}

static void test_loopback(void)
{
	struct domain *d = fx_domain("evt", NVCPUS, true);
	evtchn_port_t p1, p2;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(d, (domid_t)d->domid, &p1), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(d, (domid_t)d->domid, p1, &p2), 0);
	CU_ASSERT_NOT_EQUAL(p1, p2);
	st = status_of(d, p1, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.dom, d->domid);
	CU_ASSERT_EQUAL(st.u.interdomain.port, p2);
	st = status_of(d, p2, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.port, p1);

	clear_pending(d);
	CU_ASSERT_EQUAL(evtchn_send(d, p1), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(d, p2));
	CU_ASSERT_FALSE(evtchn_is_pending(d, p1));
	CU_ASSERT_EQUAL(upcall_pending(d, 0), 1);
	clear_pending(d);
	CU_ASSERT_EQUAL(evtchn_send(d, p2), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(d, p1));
	CU_ASSERT_FALSE(evtchn_is_pending(d, p2));

	CU_ASSERT_EQUAL(evtchn_close(d, p2), 0);
	st = status_of(d, p1, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, d->domid);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(d, (domid_t)d->domid, p1, &p2), 0);
	fx_destroy(d);
}

static void test_raise_virq(void)
{
	struct domain *d = fx_domain("evt", NVCPUS, true);
	evtchn_port_t pt, pc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_FALSE(evtchn_raise_virq(d->vcpu[1], VIRQ_TIMER));
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(d, VIRQ_TIMER, 1, &pt), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(d, VIRQ_CONSOLE, 0, &pc), 0);
	clear_pending(d);

	CU_ASSERT_FALSE(evtchn_raise_virq(d->vcpu[0], VIRQ_TIMER));   /* vCPU 0 has none */
	CU_ASSERT_FALSE(evtchn_is_pending(d, pt));
	CU_ASSERT_TRUE(evtchn_raise_virq(d->vcpu[1], VIRQ_TIMER));
	CU_ASSERT_TRUE(evtchn_is_pending(d, pt));
	CU_ASSERT_TRUE(sel_bit(d, 1, pt));
	CU_ASSERT_EQUAL(upcall_pending(d, 1), 1);
	CU_ASSERT_EQUAL(upcall_pending(d, 0), 0);

	/* A global VIRQ raised "on" any vCPU goes to its binding on vCPU 0. */
	CU_ASSERT_TRUE(evtchn_raise_virq(d->vcpu[1], VIRQ_CONSOLE));
	CU_ASSERT_TRUE(evtchn_is_pending(d, pc));
	CU_ASSERT_EQUAL(upcall_pending(d, 0), 1);

	CU_ASSERT_FALSE(evtchn_raise_virq(d->vcpu[0], VIRQ_DOM_EXC));
	CU_ASSERT_FALSE(evtchn_raise_virq(d->vcpu[0], NR_VIRQS));
	CU_ASSERT_FALSE(evtchn_raise_virq(d->vcpu[1], 0xffffffffu));
	/* Without shared_info nothing is touched, but the binding still counts. */
	shared_info_t *sh = d->shared;
	d->shared = NULL;
	CU_ASSERT_TRUE(evtchn_raise_virq(d->vcpu[1], VIRQ_TIMER));
	CU_ASSERT_FALSE(evtchn_is_pending(d, pt));
	d->shared = sh;
	fx_destroy(d);
}

static uint64_t efd_read(int fd, int *err)
{
	uint64_t v = 0;

	*err = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		*err = errno;
	return v;
}

/*
 * The lost wake-up of xenbus_roundtrip under load: dom0 binds the guest's
 * port (KXCTL_EVTCHN_BIND_INTERDOMAIN) and attaches its eventfds a moment
 * later; a guest send in between found no eventfd. The attach now notifies
 * once, as Xen leaves a new binding pending.
 */
static void test_dom0_send_before_attach(void)
{
	struct domain *dom0 = domain_dom0();
	struct domain *g = fx_domain("evt", 1, true);
	evtchn_port_t pg, p0;
	int nfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), kfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), err;

	CU_ASSERT_FATAL(g && nfd >= 0 && kfd >= 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(g, 0, &pg), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(dom0, (domid_t)g->domid, pg, &p0), 0);
	CU_ASSERT_EQUAL(evtchn_send(g, pg), 0);   /* the request is on the ring; no eventfd yet */
	CU_ASSERT_EQUAL(evtchn_dom0_attach(dom0, p0, nfd, kfd), 0);
	CU_ASSERT(efd_read(nfd, &err) >= 1);
	CU_ASSERT_EQUAL(err, 0);
	/* Later sends are counted as before. */
	CU_ASSERT_EQUAL(evtchn_send(g, pg), 0);
	CU_ASSERT_EQUAL(efd_read(nfd, &err), 1);
	CU_ASSERT_EQUAL(evtchn_close(dom0, p0), 0);   /* closes both eventfds */
	fx_destroy(g);
}

static void test_dom0_eventfd(void)
{
	struct domain *dom0 = domain_dom0();
	struct domain *g = fx_domain("evt", NVCPUS, true);
	evtchn_port_t p0, pg, px;
	evtchn_status_t st;
	int nfd, kfd, err, rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dom0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_TRUE(dom0->is_dom0);
	nfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	kfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CU_ASSERT_FATAL(nfd >= 0 && kfd >= 0);

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(dom0, (domid_t)g->domid, &p0), 0);
	CU_ASSERT_EQUAL(evtchn_dom0_attach(dom0, p0, nfd, kfd), 0);
	CU_ASSERT_EQUAL(evtchn_dom0_attach(dom0, 0, nfd, kfd), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_dom0_attach(dom0, p0 + 100, nfd, kfd), -EINVAL);

	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(g, 0, p0, &pg), 0);
	st = status_of(dom0, p0, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.dom, g->domid);
	CU_ASSERT_EQUAL(st.u.interdomain.port, pg);

	efd_read(nfd, &err);
	CU_ASSERT_EQUAL(err, EAGAIN);
	CU_ASSERT_EQUAL(evtchn_send(g, pg), 0);
	CU_ASSERT_EQUAL(evtchn_send(g, pg), 0);
	CU_ASSERT_EQUAL(evtchn_send(g, pg), 0);
	CU_ASSERT_EQUAL(efd_read(nfd, &err), 3);
	CU_ASSERT_EQUAL(err, 0);
	efd_read(nfd, &err);
	CU_ASSERT_EQUAL(err, EAGAIN);
	/* dom0 has no shared_info: nothing else happens to it. */
	CU_ASSERT_FALSE(evtchn_is_pending(dom0, p0));

	/* dom0 to guest. */
	clear_pending(g);
	CU_ASSERT_EQUAL(evtchn_send(dom0, p0), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(g, pg));
	CU_ASSERT_EQUAL(upcall_pending(g, 0), 1);

	/* dom0 ports are not the guests' to bind. */
	CU_ASSERT_EQUAL(evtchn_alloc_unbound(dom0, (domid_t)(g->domid + 1000), &px), 0);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(g, 0, px, &pg), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_close(dom0, px), 0);

	/* The guest goes away: dom0's port is unbound again, fds still attached. */
	domid_t gid = (domid_t)g->domid;
	fx_destroy(g);
	st = status_of(dom0, p0, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, gid);
	/* Closing the port releases the eventfds it owns. */
	CU_ASSERT_EQUAL(evtchn_close(dom0, p0), 0);
	st = status_of(dom0, p0, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_closed);
}

static void test_fini_peer(void)
{
	FX2(a, b);
	evtchn_port_t pa, pb, pa2, pb2, pl;
	evtchn_status_t st;
	int rc;

	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(b, (domid_t)a->domid, pa, &pb), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(b, (domid_t)a->domid, &pb2), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(a, (domid_t)b->domid, pb2, &pa2), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(b, (domid_t)b->domid, &pl), 0);
	domid_t bid = (domid_t)b->domid;

	fx_destroy(b);
	CU_ASSERT_PTR_NULL(domain_get(bid));
	st = status_of(a, pa, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, bid);
	st = status_of(a, pa2, &rc);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, bid);
	/* Sends to a dead peer are dropped; binding to it fails. */
	clear_pending(a);
	CU_ASSERT_EQUAL(evtchn_send(a, pa), 0);
	CU_ASSERT_EQUAL(upcall_pending(a, 0), 0);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(a, bid, pb, &pl), -ESRCH);
	CU_ASSERT_EQUAL(domain_destroy(bid), -ESRCH);
	CU_ASSERT_EQUAL(evtchn_close(a, pa), 0);
	fx_destroy(a);
}

/* ---- upcall_deliver ---- */

#define CALLBACK_VA 0x180000ull

static void test_upcall_nothing(void)
{
	struct domain *d = fx_domain("evt", NVCPUS, true);
	struct vcpu *v;
	uint64_t rip = 0x100200, rsp = 0x500000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	v = d->vcpu[1];
	struct vcpu_info *vi = &d->shared->vcpu_info[1];
	/* No callback. */
	vi->evtchn_upcall_pending = 1;
	CU_ASSERT_EQUAL(upcall_deliver(v, &rip, &rsp, 0x202, 1, 2), 0);
	/* Not pending. */
	v->event_callback = CALLBACK_VA;
	vi->evtchn_upcall_pending = 0;
	CU_ASSERT_EQUAL(upcall_deliver(v, &rip, &rsp, 0x202, 1, 2), 0);
	/* Masked. */
	vi->evtchn_upcall_pending = 1;
	vi->evtchn_upcall_mask = 1;
	CU_ASSERT_EQUAL(upcall_deliver(v, &rip, &rsp, 0x202, 1, 2), 0);
	/* No shared_info. */
	vi->evtchn_upcall_mask = 0;
	shared_info_t *sh = d->shared;
	d->shared = NULL;
	CU_ASSERT_EQUAL(upcall_deliver(v, &rip, &rsp, 0x202, 1, 2), 0);
	d->shared = sh;
	CU_ASSERT_EQUAL(rip, 0x100200);
	CU_ASSERT_EQUAL(rsp, 0x500000);
	CU_ASSERT_EQUAL(vi->evtchn_upcall_mask, 0);
	/* Deliverable, but the vCPU is in kxen's fault stub on its ring-0 stack: later, not a crash. */
	uint64_t srip = KXEN_PV_FAULT_STUBS + 14 * KXEN_PV_FAULT_STUB_SIZE + 2;
	uint64_t srsp = KXEN_PV_RING0_STACKS + 4096 - 0x38;
	CU_ASSERT_EQUAL(upcall_deliver(v, &srip, &srsp, 0x2, 1, 2), 0);
	CU_ASSERT_EQUAL(srip, KXEN_PV_FAULT_STUBS + 14 * KXEN_PV_FAULT_STUB_SIZE + 2);
	CU_ASSERT_EQUAL(vi->evtchn_upcall_mask, 0);
	fx_destroy(d);
}

static void check_frame(struct domain *d, struct vcpu *v, uint64_t rsp0)
{
	uint64_t rip = 0x100234, rsp = rsp0, frame[7], redzone[16], before[16];
	struct vcpu_info *vi = &d->shared->vcpu_info[v->id];
	uint64_t expect = ((rsp0 - KXEN_REDZONE_BYTES) & ~15ull) - 7 * 8;

	vi->evtchn_upcall_pending = 1;
	vi->evtchn_upcall_mask = 0;
	v->event_callback = CALLBACK_VA;
	for (unsigned i = 0; i < 16; i++)
		before[i] = 0x5a5a5a5a00000000ull | i;
	CU_ASSERT_EQUAL_FATAL(gmem_write(&d->mem, rsp0 - sizeof(before), before, sizeof(before)), 0);

	CU_ASSERT_EQUAL(upcall_deliver(v, &rip, &rsp, 0x246, 0x1111, 0x2222), 1);
	CU_ASSERT_EQUAL(vi->evtchn_upcall_mask, 1);
	CU_ASSERT_EQUAL(vi->evtchn_upcall_pending, 1);   /* the guest clears it */
	CU_ASSERT_EQUAL(rip, CALLBACK_VA);
	CU_ASSERT_EQUAL(rsp, expect);
	CU_ASSERT_TRUE(rsp + 7 * 8 <= rsp0 - KXEN_REDZONE_BYTES);
	CU_ASSERT_EQUAL((rsp + 7 * 8) % 16, 0);
	CU_ASSERT_EQUAL_FATAL(gmem_read(&d->mem, frame, rsp, sizeof(frame)), 0);
	CU_ASSERT_EQUAL(frame[0], 0x1111);               /* rcx */
	CU_ASSERT_EQUAL(frame[1], 0x2222);               /* r11 */
	CU_ASSERT_EQUAL(frame[2], 0x100234);             /* rip */
	CU_ASSERT_EQUAL(frame[3], KXEN_SEL_USER_CS);     /* cs */
	CU_ASSERT_EQUAL(frame[4], 0x246);                /* rflags */
	CU_ASSERT_EQUAL(frame[5], rsp0);                 /* rsp */
	CU_ASSERT_EQUAL(frame[6], KXEN_SEL_USER_DS);     /* ss */
	/* The red zone is untouched. */
	CU_ASSERT_EQUAL(gmem_read(&d->mem, redzone, rsp0 - sizeof(redzone), sizeof(redzone)), 0);
	CU_ASSERT_EQUAL(memcmp(redzone, before, sizeof(before)), 0);
	/* Masked now: a second call delivers nothing. */
	rip = 0x100234;
	uint64_t rsp2 = rsp0;
	CU_ASSERT_EQUAL(upcall_deliver(v, &rip, &rsp2, 0x246, 0, 0), 0);
	CU_ASSERT_EQUAL(rsp2, rsp0);
}

static void test_upcall_frame(void)
{
	struct domain *d = fx_domain("evt", NVCPUS, true);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	check_frame(d, d->vcpu[0], 0x500000);            /* aligned */
	check_frame(d, d->vcpu[1], 0x500013);            /* unaligned */
	check_frame(d, d->vcpu[1], 0x4ffff9);
	check_frame(d, d->vcpu[0], MEM_SIZE);            /* stack at the very top of RAM */
	check_frame(d, d->vcpu[0], KXEN_PV_RESERVED_END + 128 + 64);   /* just fits */
	fx_destroy(d);
}

static void test_upcall_efault(void)
{
	struct domain *d = fx_domain("evt", NVCPUS, true);
	static const uint64_t bad[] = {
		0, 8, 0x1000, 0x20000, KXEN_PV_RESERVED_END, KXEN_PV_RESERVED_END + 128 + 32,
		MEM_SIZE + 4096, MEM_SIZE + 256, 1ull << 40, 0x8000000000000000ull,
		UINT64_MAX, UINT64_MAX - 127, 100,
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	struct vcpu_info *vi = &d->shared->vcpu_info[0];
	v->event_callback = CALLBACK_VA;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t rip = 0x100000, rsp = bad[i];
		vi->evtchn_upcall_pending = 1;
		vi->evtchn_upcall_mask = 0;
		CU_ASSERT_EQUAL(upcall_deliver(v, &rip, &rsp, 0x202, 0, 0), -EFAULT);
		CU_ASSERT_EQUAL(rip, 0x100000);
		CU_ASSERT_EQUAL(rsp, bad[i]);
		CU_ASSERT_EQUAL(vi->evtchn_upcall_mask, 0);
	}
	fx_destroy(d);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "alloc_unbound / bind_interdomain", test_alloc_bind_interdomain },
		{ "send sets pending, selector, upcall", test_send },
		{ "masked ports and unmask", test_masked },
		{ "no kick for a vCPU running with upcalls masked", test_kick_masked },
		{ "send on unbound is dropped", test_send_unbound },
		{ "close interdomain: peer unbound", test_close_interdomain },
		{ "bind_virq", test_bind_virq },
		{ "bind_ipi", test_bind_ipi },
		{ "bind_vcpu", test_bind_vcpu },
		{ "status of every state", test_status },
		{ "reset", test_reset },
		{ "port exhaustion", test_exhaustion },
		{ "loopback interdomain", test_loopback },
		{ "raise_virq", test_raise_virq },
		{ "dom0 ports with eventfds", test_dom0_eventfd },
		{ "dom0: a send before the eventfds are attached is not lost", test_dom0_send_before_attach },
		{ "fini leaves the peer unbound", test_fini_peer },
		{ "upcall: nothing to deliver", test_upcall_nothing },
		{ "upcall: bounce frame", test_upcall_frame },
		{ "upcall: bad stacks", test_upcall_efault },
	};

	return fx_run_suite("evtchn", tests, CUNIT_COUNT(tests));
}
