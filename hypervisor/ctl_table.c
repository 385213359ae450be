/* The control socket's op table and the checks every request gets before its handler runs. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "log.h"
#include "gmem.h"
#include "evtchn.h"
#include "vcpu.h"
#include "domain.h"
#include "ctl.h"

#define OP(o, sz, rule, dom, fn) [o] = { o, #o, sz, rule, dom, fn }

static const struct ctl_op ops[KXCTL_OP_MAX] = {
	OP(KXCTL_HELLO, 0, CTL_ANY, CTL_NODOM, ctl_hello),
	OP(KXCTL_DOMAIN_CREATE, sizeof(struct kxctl_domain_create), CTL_EXACT, CTL_NODOM, domain_ctl_create),
	OP(KXCTL_DOMAIN_DESTROY, sizeof(struct kxctl_domid), CTL_MIN, CTL_NODOM, domain_ctl_destroy),
	OP(KXCTL_DOMAIN_PAUSE, sizeof(struct kxctl_domid), CTL_MIN, CTL_DOMU, domain_ctl_pause),
	OP(KXCTL_DOMAIN_UNPAUSE, sizeof(struct kxctl_domid), CTL_MIN, CTL_DOMU, domain_ctl_unpause),
	OP(KXCTL_DOMAIN_SHUTDOWN, sizeof(struct kxctl_domid), CTL_MIN, CTL_DOMU, domain_ctl_shutdown),
	OP(KXCTL_DOMAIN_INFO, sizeof(struct kxctl_domid), CTL_MIN, CTL_DOMU, domain_ctl_info),
	OP(KXCTL_DOMAIN_LIST, sizeof(struct kxctl_domain_list), CTL_MIN, CTL_NODOM, domain_ctl_list),
	OP(KXCTL_DOMAIN_SET_BOOT, sizeof(struct kxctl_set_boot), CTL_EXACT, CTL_DOMU, domain_ctl_set_boot),
	OP(KXCTL_VCPU_INFO, sizeof(struct kxctl_domid), CTL_MIN, CTL_DOMU, vcpu_ctl_info),
	OP(KXCTL_MAP_MEMORY, sizeof(struct kxctl_domid), CTL_MIN, CTL_DOMU, gmem_ctl_map_memory),
	/* Not CTL_DOMU: domid 0 names dom0's own port table here. */
	OP(KXCTL_EVTCHN_ALLOC_UNBOUND, sizeof(struct kxctl_evtchn_alloc_unbound), CTL_EXACT, CTL_NODOM,
	   evtchn_ctl_alloc_unbound),
	OP(KXCTL_EVTCHN_BIND_INTERDOMAIN, sizeof(struct kxctl_evtchn_bind_interdomain), CTL_EXACT,
	   CTL_NODOM, ctl_evtchn_bind_interdomain),
	OP(KXCTL_EVTCHN_CLOSE, sizeof(struct kxctl_port), CTL_MIN, CTL_NODOM, ctl_evtchn_close),
	OP(KXCTL_LOG_READ, sizeof(struct kxctl_log_read), CTL_MIN, CTL_NODOM, hvlog_ctl_read),
	OP(KXCTL_HOST_INFO, 0, CTL_ANY, CTL_NODOM, ctl_host_info),
	OP(KXCTL_DOMAIN_RENAME, sizeof(struct kxctl_domain_rename), CTL_EXACT, CTL_DOMU, domain_ctl_rename),
	OP(KXCTL_GNTTAB_MAP, sizeof(struct kxctl_gnttab_batch), CTL_MIN, CTL_NODOM, ctl_gnttab_map),
	OP(KXCTL_GNTTAB_UNMAP, sizeof(struct kxctl_gnttab_batch), CTL_MIN, CTL_NODOM, ctl_gnttab_unmap),
	OP(KXCTL_GNTTAB_COPY, sizeof(struct kxctl_gnttab_batch), CTL_MIN, CTL_NODOM, ctl_gnttab_copy),
	OP(KXCTL_GNTTAB_COPYBUF, sizeof(struct kxctl_gnttab_copybuf), CTL_EXACT, CTL_NODOM,
	   ctl_gnttab_copybuf),
	/* Not CTL_DOMU: whether the connection maps a grant of the domain is checked before whether it exists. */
	OP(KXCTL_GNTTAB_MEMFD, sizeof(struct kxctl_domid), CTL_MIN, CTL_NODOM, ctl_gnttab_memfd),
	OP(KXCTL_DOMAIN_EVENTS, 0, CTL_ANY, CTL_NODOM, ctl_domain_events),
	OP(KXCTL_MAP_SPECIAL_PAGE, sizeof(struct kxctl_special_page), CTL_EXACT, CTL_DOMU,
	   gmem_ctl_map_special_page),
	OP(KXCTL_VCPU_CONTEXT, sizeof(struct kxctl_vcpu_context), CTL_EXACT, CTL_DOMU, vcpu_ctl_context),
	OP(KXCTL_VCPU_AFFINITY, sizeof(struct kxctl_vcpu_affinity), CTL_EXACT, CTL_DOMU, cpupool_ctl_vcpu_affinity),
	OP(KXCTL_SCHED_CREDIT, sizeof(struct kxctl_sched_credit), CTL_EXACT, CTL_DOMU, cpupool_ctl_credit),
	OP(KXCTL_VCPU_AVAIL, sizeof(struct kxctl_vcpu_avail), CTL_EXACT, CTL_DOMU, vcpu_ctl_avail),
};

const struct ctl_op *ctl_op_find(uint32_t op)
{
	return op < KXCTL_OP_MAX && ops[op].fn ? &ops[op] : NULL;
}

int ctl_dispatch(const struct ctl_op *op, struct ctl_req *r)
{
	int rc = 0;

	r->d = NULL;
	r->rlen = 0;
	r->nfds = 0;
	r->own_fds = false;
	if ((op->size_rule == CTL_EXACT && r->len != op->size) ||
	    (op->size_rule == CTL_MIN && r->len < op->size))
		return -EINVAL;
	if (op->dom == CTL_DOMU) {
		struct kxctl_domid id;
		if (r->len < sizeof(id))
			return -EINVAL;   /* only a table entry with too small a size gets here */
		memcpy(&id, r->p, sizeof(id));
		if (id.domid == 0)
			return -EPERM;   /* dom0 is the caller, not a target */
		if (!(r->d = domain_get(id.domid)))
			return -ESRCH;
	}
	rc = op->fn(r);
	domain_put(r->d);
	r->d = NULL;
	if (rc) {
		r->rlen = 0;
		for (int i = 0; r->own_fds && i < r->nfds; i++)
			close(r->fds[i]);
		r->nfds = 0;
	}
	return rc;
}
