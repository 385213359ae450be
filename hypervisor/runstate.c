/* The guest's own copy of a vCPU's runstate (Linux's steal time and vcpu_is_preempted), written at each state change. */
#include <errno.h>
#include <string.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "runstate.h"

#include <xen/vcpu.h>

void runstate_publish(struct vcpu *v)
{
	struct vcpu_runstate_info *a = v->rs_area;

	if (!a)
		return;
	uint64_t entry = v->rs_entry - v->d->created_mono_ns;
	/*
	 * A reader (Linux's xen_get_runstate_snapshot) rereads while the flag
	 * is set or state_entry_time changed under it; the fences keep the
	 * stores in that order for a reader on another vCPU.
	 */
	__atomic_store_n(&a->state_entry_time, entry | XEN_RUNSTATE_UPDATE, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&a->state, v->runstate, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++)
		__atomic_store_n(&a->time[i], v->rs_time[i], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&a->state_entry_time, entry, __ATOMIC_RELAXED);
}

long runstate_register(struct vcpu *t, uint64_t arg)
{
	struct vcpu_register_runstate_memory_area r;
	struct vcpu_runstate_info *a = NULL;

	if (gmem_read(&t->d->mem, &r, arg, sizeof(r)) < 0)
		return -EFAULT;
	if (r.addr.p) {
		/* Aligned: kxen-hv's stores must not be split or undefined. */
		if (r.addr.p % 8)
			return -EINVAL;
		/* Translated once (Linux's is a per-CPU variable, which never moves); RAM only, by gmem. */
		a = gmem_ptr(&t->d->mem, r.addr.p, sizeof(*a));
		if (!a)
			return -EFAULT;
	}
	pthread_mutex_lock(&t->rs_lock);
	t->rs_area = a;
	runstate_publish(t);
	pthread_mutex_unlock(&t->rs_lock);
	return 0;
}
