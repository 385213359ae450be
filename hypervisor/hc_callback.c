/* __HYPERVISOR_callback_op and set_callbacks: where event upcalls and failsafe returns land. */
#include <errno.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"
#include <xen/callback.h>

static int set_callback(struct vcpu *v, unsigned type, uint64_t address)
{
	switch (type) {
	case CALLBACKTYPE_event:
		v->event_callback = address;
		/* A newly registered callback may have events waiting. */
		vcpu_kick(v);
		return 0;
	case CALLBACKTYPE_failsafe:
		v->failsafe_callback = address;
		return 0;
	case CALLBACKTYPE_syscall:
		v->syscall_callback = address;
		return 0;
	default:
		return -EINVAL;
	}
}

long hc_callback_op(struct vcpu *v, const uint64_t a[5])
{
	switch (a[0]) {
	case CALLBACKOP_register: {
		struct callback_register r;
		if (gmem_read(&v->d->mem, &r, a[1], sizeof(r)) < 0)
			return -EFAULT;
		return set_callback(v, r.type, r.address);
	}
	case CALLBACKOP_unregister: {
		struct callback_unregister u;
		if (gmem_read(&v->d->mem, &u, a[1], sizeof(u)) < 0)
			return -EFAULT;
		return set_callback(v, u.type, 0);
	}
	default:
		return -ENOSYS;
	}
}

long hc_set_callbacks(struct vcpu *v, const uint64_t a[5])
{
	/* x86_64: set_callbacks(event_address, failsafe_address, syscall_address). */
	set_callback(v, CALLBACKTYPE_event, a[0]);
	set_callback(v, CALLBACKTYPE_failsafe, a[1]);
	set_callback(v, CALLBACKTYPE_syscall, a[2]);
	return 0;
}
