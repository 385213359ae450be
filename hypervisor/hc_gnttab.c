/* __HYPERVISOR_grant_table_op and XENMEM_add_to_physmap(grant_table): argument decoding for gnttab.c. */
#include <errno.h>
#include <stdlib.h>

#include "gnttab.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"

typedef long (*gnttab_op_fn)(struct vcpu *v, uint64_t uop, uint32_t count);

/* A guest names only itself: DOMID_SELF or its own id. */
static bool is_self(struct domain *d, domid_t dom)
{
	return dom == DOMID_SELF || dom == d->domid;
}

static long op_setup_table(struct vcpu *v, uint64_t uop, uint32_t count)
{
	struct domain *d = v->d;
	struct gnttab_setup_table op;
	uint64_t *gfns = NULL;

	if (count != 1)
		return -EINVAL;   /* as Xen */
	if (gmem_read(&d->mem, &op, uop, sizeof(op)) < 0)
		return -EFAULT;
	if (!is_self(d, op.dom)) {
		op.status = GNTST_permission_denied;
	} else if (op.nr_frames > d->max_grant_frames) {
		op.status = GNTST_general_error;
	} else if (op.nr_frames) {
		if (!(gfns = calloc(op.nr_frames, sizeof(*gfns))))
			return -ENOMEM;
		op.status = gnttab_setup_table(d, op.nr_frames, gfns);
		if (op.status == GNTST_okay &&
		    gmem_write(&d->mem, (uint64_t)(uintptr_t)op.frame_list.p, gfns,
		               op.nr_frames * sizeof(*gfns)) < 0)
			op.status = GNTST_bad_virt_addr;
		free(gfns);
	} else {
		op.status = GNTST_okay;
	}
	return gmem_write(&d->mem, uop, &op, sizeof(op));
}

static long op_query_size(struct vcpu *v, uint64_t uop, uint32_t count)
{
	struct domain *d = v->d;
	struct gnttab_query_size op;

	if (count != 1)
		return -EINVAL;
	if (gmem_read(&d->mem, &op, uop, sizeof(op)) < 0)
		return -EFAULT;
	if (!is_self(d, op.dom)) {
		op.status = GNTST_permission_denied;
	} else {
		gnttab_query_size(d, &op.nr_frames, &op.max_nr_frames);
		op.status = GNTST_okay;
	}
	return gmem_write(&d->mem, uop, &op, sizeof(op));
}

static long op_set_version(struct vcpu *v, uint64_t uop, uint32_t count)
{
	struct domain *d = v->d;
	struct gnttab_set_version op;
	long rc;

	if (count != 1)
		return -EINVAL;
	if (gmem_read(&d->mem, &op, uop, sizeof(op)) < 0)
		return -EFAULT;
	/* As Xen built without v2: 2 is -ENOSYS, anything else but 1 is -EINVAL. */
	rc = op.version == 1 ? 0 : op.version == 2 ? -ENOSYS : -EINVAL;
	op.version = 1;
	if (gmem_write(&d->mem, uop, &op, sizeof(op)) < 0)
		return -EFAULT;
	return rc;
}

static long op_get_version(struct vcpu *v, uint64_t uop, uint32_t count)
{
	struct domain *d = v->d;
	struct gnttab_get_version op;

	if (count != 1)
		return -EINVAL;
	if (gmem_read(&d->mem, &op, uop, sizeof(op)) < 0)
		return -EFAULT;
	if (!is_self(d, op.dom))
		return -EPERM;
	op.version = 1;
	return gmem_write(&d->mem, uop, &op, sizeof(op));
}

static long op_copy(struct vcpu *v, uint64_t uop, uint32_t count)
{
	struct domain *d = v->d;
	struct gnttab_local self = {
		.domid = (domid_t)d->domid, .base = d->mem.base,
		.min_frame = KXEN_PV_RESERVED_END / KXEN_PAGE_SIZE,
		.nr_frames = d->mem.size / KXEN_PAGE_SIZE,
	};

	for (uint32_t i = 0; i < count; i++) {
		struct gnttab_copy op;
		uint64_t at = uop + (uint64_t)i * sizeof(op);
		if (at < uop || gmem_read(&d->mem, &op, at, sizeof(op)) < 0)
			return -EFAULT;
		gnttab_copy(&self, &op);
		if (gmem_write(&d->mem, at + offsetof(struct gnttab_copy, status), &op.status,
		               sizeof(op.status)) < 0)
			return -EFAULT;
	}
	return 0;
}

/* Guest-to-guest mapping needs a second mapping of another domain's memfd in the guest: not supported. */
static long op_unsupported(struct vcpu *v, uint64_t uop, uint32_t count)
{
	(void)v;
	(void)uop;
	(void)count;
	return -ENOSYS;
}

static const struct {
	const char *name;
	gnttab_op_fn fn;
} ops[] = {
	[GNTTABOP_map_grant_ref] = { "map_grant_ref", op_unsupported },
	[GNTTABOP_unmap_grant_ref] = { "unmap_grant_ref", op_unsupported },
	[GNTTABOP_setup_table] = { "setup_table", op_setup_table },
	[GNTTABOP_copy] = { "copy", op_copy },
	[GNTTABOP_query_size] = { "query_size", op_query_size },
	[GNTTABOP_set_version] = { "set_version", op_set_version },
	[GNTTABOP_get_version] = { "get_version", op_get_version },
};

long hc_grant_table_op(struct vcpu *v, const uint64_t a[5])
{
	uint64_t cmd = a[0];

	if (cmd >= sizeof(ops) / sizeof(ops[0]) || !ops[cmd].fn)
		return -ENOSYS;
	/* Xen preempts long batches with continuations; we bound them instead. */
	if (a[2] > GNTTAB_BATCH_MAX)
		return -E2BIG;
	return ops[cmd].fn(v, a[1], (uint32_t)a[2]);
}

long hc_gnttab_add_to_physmap(struct vcpu *v, uint64_t idx, uint64_t gpfn)
{
	return gnttab_place_frame(v->d, idx, gpfn);
}
