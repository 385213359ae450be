/* __HYPERVISOR_sched_op and set_timer_op: yield, block, poll, shutdown, one-shot timers. */
#include <errno.h>
#include <sched.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "evtchn.h"
#include "hvtime.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"

#define POLL_MAX_PORTS 128

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/* Xen's SCHEDOP_block: enable event delivery, sleep until an upcall is pending. */
static long sched_block(struct vcpu *v)
{
	struct domain *d = v->d;

	if (!d->shared || v->id >= XEN_LEGACY_MAX_VCPUS)
		return -EINVAL;
	struct vcpu_info *vi = vcpu_vinfo(v);
	__atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
	vcpu_set_runstate(v, RS_BLOCKED);
	for (;;) {
		vcpu_timer_check(v);
		if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) ||
		    vcpu_should_stop(v))
			break;
		vcpu_wait(v, vcpu_timer_mono(v));
	}
	vcpu_set_runstate(v, RS_RUNNING);
	return 0;
}

static long sched_poll(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct sched_poll p;
	evtchn_port_t ports[POLL_MAX_PORTS];

	if (gmem_read(&d->mem, &p, arg, sizeof(p)) < 0)
		return -EFAULT;
	if (p.nr_ports > POLL_MAX_PORTS)
		return -EINVAL;
	if (gmem_read(&d->mem, ports, (uint64_t)(uintptr_t)p.ports.p,
	              p.nr_ports * sizeof(evtchn_port_t)) < 0)
		return -EFAULT;
	for (unsigned i = 0; i < p.nr_ports; i++)
		if (ports[i] == 0 || ports[i] >= EVTCHN_MAX_PORTS)
			return -EINVAL;
	uint64_t timeout_mono = p.timeout ? d->created_mono_ns + p.timeout : 0;
	if (timeout_mono && timeout_mono < p.timeout)
		timeout_mono = UINT64_MAX;   /* far future, not a wrap to the past */

	atomic_store(&v->polling, true);
	atomic_fetch_add(&d->nr_polling, 1);
	vcpu_set_runstate(v, RS_BLOCKED);
	for (;;) {
		bool hit = false;
		vcpu_timer_check(v);
		for (unsigned i = 0; i < p.nr_ports && !hit; i++)
			hit = evtchn_is_pending(d, ports[i]);
		if (hit || vcpu_should_stop(v) || (timeout_mono && now_ns() >= timeout_mono))
			break;
		vcpu_wait(v, earliest(timeout_mono, vcpu_timer_mono(v)));
	}
	vcpu_set_runstate(v, RS_RUNNING);
	atomic_fetch_sub(&d->nr_polling, 1);
	atomic_store(&v->polling, false);
	return 0;
}

long hc_sched_op(struct vcpu *v, const uint64_t a[5])
{
	switch (a[0]) {
	case SCHEDOP_yield:
		sched_yield();
		return 0;
	case SCHEDOP_block:
		return sched_block(v);
	case SCHEDOP_poll:
		return sched_poll(v, a[1]);
	case SCHEDOP_shutdown: {
		struct sched_shutdown s;
		if (gmem_read(&v->d->mem, &s, a[1], sizeof(s)) < 0)
			return -EFAULT;
		if (s.reason > SHUTDOWN_watchdog)   /* soft_reset is not supported */
			return -EINVAL;
		domain_shutdown(v->d, s.reason);
		return 0;
	}
	case SCHEDOP_remote_shutdown:
		return -EPERM;   /* only the control domain shuts others down */
	default:
		return -ENOSYS;
	}
}

long hc_set_timer_op(struct vcpu *v, const uint64_t a[5])
{
	/* Xen fires a timer whose deadline already passed at once; 0 cancels. */
	return vcpu_set_timer(v, a[0]);
}
