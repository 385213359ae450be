/* The Linux PV flavour's per-vCPU registrations that kxen-hv keeps: vcpu_info placement. */
#include <errno.h>
#include <string.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "pvl.h"
#include "pvl_layout.h"

#include <xen/vcpu.h>

struct vcpu_info *vcpu_vinfo(struct vcpu *v)
{
	struct vcpu_info *vi = __atomic_load_n(&v->vinfo, __ATOMIC_ACQUIRE);

	return vi ? vi : &v->d->shared->vcpu_info[v->id];
}

long pvl_register_vcpu_info(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct vcpu_register_vcpu_info r;

	if (!d->pvl || !d->shared || v->id >= XEN_LEGACY_MAX_VCPUS)
		return -ENOSYS;
	if (v->vinfo)
		return -EEXIST;
	if (gmem_read(&d->mem, &r, arg, sizeof(r)) < 0)
		return -EFAULT;
	/*
	 * Linux's RAM only: never shared_info, kxen's region or a page split
	 * out for a daemon. Aligned: kxen-hv's atomics on a misaligned one
	 * would be undefined, and split locks where the host traps them.
	 */
	if (r.mfn >= d->pvl->nr_pages || r.offset > KXEN_PAGE_SIZE - sizeof(struct vcpu_info) ||
	    r.offset % 8 || r.mfn == d->shared_gpa / KXEN_PAGE_SIZE)
		return -EINVAL;
	for (unsigned i = 0; i < KXCTL_PAGE_NR; i++)
		if (d->mem.special[i].gfn && d->mem.special[i].gfn == r.mfn)
			return -EINVAL;
	uint64_t gpa = r.mfn * KXEN_PAGE_SIZE + r.offset;
	struct vcpu_info *vi = (struct vcpu_info *)(d->mem.base + gpa);
	memcpy(vi, &d->shared->vcpu_info[v->id], sizeof(*vi));
	__atomic_store_n(&v->vinfo, vi, __ATOMIC_RELEASE);
	/* The layer writes cr2 there (through its alias of RAM) when it bounces a page fault. */
	uint64_t alias = PVL_ALIAS_VA + gpa;
	memcpy(d->pvl->region + PVL_PG_DATA * KXEN_PAGE_SIZE + D_VINFO, &alias, 8);
	return 0;
}
