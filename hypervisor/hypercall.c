/* Hypercall dispatch: the {number, name, handler} table, multicall, and per-call accounting. */
#include <errno.h>

#include "kxen-hv.h"
#include "log.h"
#include "gmem.h"
#include "hvtime.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"
#include "pvl.h"
#include "gnttab.h"

typedef long (*hc_handler)(struct vcpu *v, const uint64_t a[5]);

static const struct {
	const char *name;
	hc_handler fn;
} hypercalls[] = {
	[__HYPERVISOR_set_callbacks] = { "set_callbacks", hc_set_callbacks },
	[__HYPERVISOR_set_timer_op] = { "set_timer_op", hc_set_timer_op },
	[__HYPERVISOR_memory_op] = { "memory_op", hc_memory_op },
	[__HYPERVISOR_mmuext_op] = { "mmuext_op", hc_pvl_mmuext_op },   /* Linux PV: the remote part of a flush */
	[__HYPERVISOR_multicall] = { "multicall", hc_multicall },
	[__HYPERVISOR_xen_version] = { "xen_version", hc_xen_version },
	[__HYPERVISOR_console_io] = { "console_io", hc_console_io },
	[__HYPERVISOR_vcpu_op] = { "vcpu_op", hc_vcpu_op },
	[__HYPERVISOR_sched_op] = { "sched_op", hc_sched_op },
	[__HYPERVISOR_event_channel_op] = { "event_channel_op", hc_event_channel_op },
	[__HYPERVISOR_callback_op] = { "callback_op", hc_callback_op },
	[__HYPERVISOR_grant_table_op] = { "grant_table_op", hc_grant_table_op },
};

#define NR_HYPERCALLS (sizeof(hypercalls) / sizeof(hypercalls[0]))

const char *hypercall_name(uint64_t nr)
{
	return nr < NR_HYPERCALLS && hypercalls[nr].name ? hypercalls[nr].name : "unknown";
}

bool hypercall_trace;

long hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[5])
{
	long rc = -ENOSYS;

	if (nr < NR_HYPERCALLS && hypercalls[nr].fn)
		rc = hypercalls[nr].fn(v, args);
	if (hypercall_trace)
		hvlog("(XEN) d%u v%u: +%lluus %s(%#llx, %#llx, %#llx) = %ld", v->d->domid, v->id,
		      (unsigned long long)(domain_system_time(v->d) / 1000), hypercall_name(nr), (unsigned long long)args[0], (unsigned long long)args[1],
		      (unsigned long long)args[2], rc);
	return rc;
}

/* Bounded so one hypercall cannot hold a vCPU thread for long. */
#define MULTICALL_MAX 512

long hc_multicall(struct vcpu *v, const uint64_t a[5])
{
	uint64_t list = a[0];
	uint64_t nr = a[1];

	if (v->hc_depth > 0)
		return -EINVAL;   /* no nested multicalls, as in Xen */
	if (nr > MULTICALL_MAX)
		return -E2BIG;
	v->hc_depth++;
	long rc = 0;
	for (uint64_t i = 0; i < nr; i++) {
		multicall_entry_t e;
		uint64_t gva = list + i * sizeof(e);
		if (gva < list || gmem_read(&v->d->mem, &e, gva, sizeof(e)) < 0) {
			rc = -EFAULT;
			break;
		}
		uint64_t args[5] = { e.args[0], e.args[1], e.args[2], e.args[3], e.args[4] };
		e.result = (xen_ulong_t)hypercall_dispatch(v, e.op, args);
		if (gmem_write(&v->d->mem, gva + offsetof(multicall_entry_t, result),
		               &e.result, sizeof(e.result)) < 0) {
			rc = -EFAULT;
			break;
		}
		if (vcpu_should_stop(v))
			break;   /* shut down or paused mid-batch: stop where we are */
	}
	v->hc_depth--;
	return rc;
}
