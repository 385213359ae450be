/* 2-level event channel dispatch (Xen PV upcall protocol) and port helpers. */
#include "events.h"
#include "hypercall.h"
#include "kstring.h"

#define BITS_PER_WORD (sizeof(xen_ulong_t) * 8)
#define NR_WORDS      (NR_EVTCHN / BITS_PER_WORD)

_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_pending) == VCPU_UPCALL_PENDING,
	       "start.S hard-codes the upcall_pending offset");
_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_mask) == VCPU_UPCALL_MASK,
	       "start.S hard-codes the upcall_mask offset");

struct port_handler {
	evtchn_handler_t fn;
	void *arg;
	unsigned cpu;
};

static struct port_handler handlers[NR_EVTCHN];
/*
 * Ports each vCPU handles. A selector word covers 64 ports that may be
 * bound to different vCPUs; without this a vCPU would steal (clear and run)
 * another vCPU's events, e.g. its VIRQ_TIMER.
 */
static xen_ulong_t cpu_owned[KXEN_PV_MAX_VCPUS][NR_WORDS];

static void dispatch(struct percpu *c)
{
	struct vcpu_info *v = c->vcpu;
	shared_info_t *s = shared_info;
	xen_ulong_t *owned = cpu_owned[c->id];

	do {
		WRITE_ONCE(v->evtchn_upcall_pending, 0);
		/* The xchg is a full barrier: pending is cleared before we look at the selector. */
		xen_ulong_t sel = __atomic_exchange_n(&v->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);

		while (sel) {
			unsigned w = __builtin_ctzl(sel);
			sel &= sel - 1;
			/* Snapshot: a port that re-fires while we run handlers sets sel again. */
			xen_ulong_t bits = READ_ONCE(s->evtchn_pending[w]) &
					   ~READ_ONCE(s->evtchn_mask[w]) & READ_ONCE(owned[w]);
			while (bits) {
				unsigned b = __builtin_ctzl(bits);
				evtchn_port_t port = w * BITS_PER_WORD + b;
				struct port_handler *h = &handlers[port];

				bits &= bits - 1;
				__atomic_fetch_and(&s->evtchn_pending[w], ~((xen_ulong_t)1 << b),
						   __ATOMIC_SEQ_CST);
				if (h->fn)
					h->fn(port, h->arg);
			}
		}
	} while (READ_ONCE(v->evtchn_upcall_pending));
}

bool events_lazy = true;

struct vcpu_info *evtchn_do_upcall(void)
{
	struct percpu *c = this_cpu();
	bool off = c->evt_off;

	/* Handlers that disable and restore must not unmask inside the upcall. */
	c->evt_off = true;
	c->nr_upcalls++;
	dispatch(c);
	c->evt_off = off;
	return c->vcpu;
}

void evtchn_poll_local(void)
{
	struct percpu *c = this_cpu();

	while (READ_ONCE(c->vcpu->evtchn_upcall_pending))
		dispatch(c);
}

void evt_restore(int old)
{
	struct percpu *c = this_cpu();
	struct vcpu_info *v = c->vcpu;

	barrier();
	if (old) {
		c->evt_off = true;
		WRITE_ONCE(v->evtchn_upcall_mask, 1);
		barrier();
		return;
	}
	if (events_lazy) {
		/* Still off while the handlers run; what comes after waits for the next scheduling point. */
		mb();
		while (READ_ONCE(v->evtchn_upcall_pending))
			dispatch(c);
		c->evt_off = false;
		return;
	}
	for (;;) {
		c->evt_off = false;
		WRITE_ONCE(v->evtchn_upcall_mask, 0);
		mb();
		if (likely(!READ_ONCE(v->evtchn_upcall_pending)))
			break;
		/* Arrived while masked: no upcall is coming for it, so run it here. */
		c->evt_off = true;
		WRITE_ONCE(v->evtchn_upcall_mask, 1);
		barrier();
		dispatch(c);
	}
}

void events_set_lazy(bool lazy)
{
	int flags = evt_save_disable();

	events_lazy = lazy;
	evt_restore(flags);
}

static void register_callback(void)
{
	struct callback_register cb = {
		.type = CALLBACKTYPE_event,
		.flags = 0,
		.address = (xen_callback_t)hypervisor_callback,
	};
	long rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);

	if (rc < 0)
		panic("events: CALLBACKOP_register failed: %ld", rc);
}

void events_init(void)
{
	/* Linux does the same: nothing fires until a driver binds and unmasks its port. */
	for (unsigned w = 0; w < NR_WORDS; w++)
		WRITE_ONCE(shared_info->evtchn_mask[w], ~(xen_ulong_t)0);
	register_callback();
}

void events_init_cpu(void)
{
	register_callback();
}

void evtchn_set_handler(evtchn_port_t port, unsigned cpu, evtchn_handler_t fn, void *arg)
{
	BUG_ON(port >= NR_EVTCHN || cpu >= KXEN_PV_MAX_VCPUS);
	xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
	unsigned w = port / BITS_PER_WORD;
	int flags = evt_save_disable();

	for (unsigned i = 0; i < KXEN_PV_MAX_VCPUS; i++)
		__atomic_fetch_and(&cpu_owned[i][w], ~bit, __ATOMIC_SEQ_CST);
	handlers[port].fn = fn;
	handlers[port].arg = arg;
	handlers[port].cpu = cpu;
	__atomic_fetch_or(&cpu_owned[cpu][w], bit, __ATOMIC_SEQ_CST);
	evt_restore(flags);
}

void evtchn_clear_handler(evtchn_port_t port)
{
	BUG_ON(port >= NR_EVTCHN);
	xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
	unsigned w = port / BITS_PER_WORD;

	for (unsigned i = 0; i < KXEN_PV_MAX_VCPUS; i++)
		__atomic_fetch_and(&cpu_owned[i][w], ~bit, __ATOMIC_SEQ_CST);
	handlers[port].fn = NULL;
}

void evtchn_mask(evtchn_port_t port)
{
	__atomic_fetch_or(&shared_info->evtchn_mask[port / BITS_PER_WORD],
			  (xen_ulong_t)1 << (port % BITS_PER_WORD), __ATOMIC_SEQ_CST);
}

bool evtchn_test_and_clear(evtchn_port_t port)
{
	xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);

	return __atomic_fetch_and(&shared_info->evtchn_pending[port / BITS_PER_WORD], ~bit,
				  __ATOMIC_SEQ_CST) & bit;
}

void evtchn_unmask(evtchn_port_t port)
{
	unsigned w = port / BITS_PER_WORD;
	xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
	struct percpu *c = this_cpu();

	if (handlers[port].fn && handlers[port].cpu != c->id) {
		/* Only the hypervisor can notify another vCPU. */
		struct evtchn_unmask op = { .port = port };
		HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
		return;
	}
	int flags = evt_save_disable();

	__atomic_fetch_and(&shared_info->evtchn_mask[w], ~bit, __ATOMIC_SEQ_CST);
	/* Pending while masked raised nothing: replay Xen's notification locally. */
	if (READ_ONCE(shared_info->evtchn_pending[w]) & bit) {
		__atomic_fetch_or(&c->vcpu->evtchn_pending_sel, (xen_ulong_t)1 << w, __ATOMIC_SEQ_CST);
		WRITE_ONCE(c->vcpu->evtchn_upcall_pending, 1);
	}
	evt_restore(flags);
}

/* A freshly bound port: give it its handler on vcpu, then let it deliver. */
static int port_ready(long rc, evtchn_port_t port, unsigned vcpu, evtchn_handler_t fn, void *arg)
{
	if (rc < 0)
		return rc;
	evtchn_set_handler(port, vcpu, fn, arg);
	evtchn_unmask(port);
	return port;
}

int evtchn_bind_virq(uint32_t virq, unsigned vcpu, evtchn_handler_t fn, void *arg)
{
	struct evtchn_bind_virq op = { .virq = virq, .vcpu = vcpu };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);

	return port_ready(rc, op.port, vcpu, fn, arg);
}

/* Interdomain ports notify vCPU 0 unless rebound (EVTCHNOP_bind_vcpu). */
int evtchn_alloc_unbound(domid_t remote, evtchn_handler_t fn, void *arg)
{
	struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);

	return port_ready(rc, op.port, 0, fn, arg);
}

int evtchn_bind_interdomain(domid_t remote, evtchn_port_t rport, evtchn_handler_t fn, void *arg)
{
	struct evtchn_bind_interdomain op = { .remote_dom = remote, .remote_port = rport };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);

	return port_ready(rc, op.local_port, 0, fn, arg);
}

int evtchn_send(evtchn_port_t port)
{
	struct evtchn_send op = { .port = port };

	return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

int evtchn_close(evtchn_port_t port)
{
	struct evtchn_close op = { .port = port };

	evtchn_mask(port);
	evtchn_clear_handler(port);
	return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}
