/* __HYPERVISOR_memory_op: reservation sizes and the guest's memory map. */
#include <errno.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"
#include "gnttab.h"
#include "balloon.h"
#include <xen/memory.h>

/* The e820 entry layout XENMEM_memory_map returns (packed, 20 bytes). */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

#define E820_RAM 1
#define E820_RESERVED 2

long hc_memory_op(struct vcpu *v, const uint64_t a[5])
{
	struct domain *d = v->d;

	switch (a[0]) {
	case XENMEM_current_reservation:
	case XENMEM_maximum_reservation: {
		domid_t dom;
		if (gmem_read(&d->mem, &dom, a[1], sizeof(dom)) < 0)
			return -EFAULT;
		if (dom != DOMID_SELF && dom != d->domid)
			return -EPERM;
		if (a[0] == XENMEM_current_reservation)
			return (long)(d->mem.size / KXEN_PAGE_SIZE - balloon_released_pages(d));
		return (long)(d->mem.size / KXEN_PAGE_SIZE);
	}
	case XENMEM_memory_map: {
		struct xen_memory_map map;
		struct e820_entry e[2] = {
			{ 0, KXEN_PV_RESERVED_END, E820_RESERVED },
			{ KXEN_PV_RESERVED_END, d->mem.size - KXEN_PV_RESERVED_END, E820_RAM },
		};
		if (gmem_read(&d->mem, &map, a[1], sizeof(map)) < 0)
			return -EFAULT;
		if (map.nr_entries < 2)
			return -EINVAL;
		if (gmem_write(&d->mem, (uint64_t)(uintptr_t)map.buffer.p, e, sizeof(e)) < 0)
			return -EFAULT;
		map.nr_entries = 2;
		return gmem_write(&d->mem, a[1], &map, sizeof(map));
	}
	case XENMEM_add_to_physmap: {
		struct xen_add_to_physmap x;
		if (gmem_read(&d->mem, &x, a[1], sizeof(x)) < 0)
			return -EFAULT;
		if (x.domid != DOMID_SELF && x.domid != d->domid)
			return -EPERM;
		if (x.space == XENMAPSPACE_grant_table)
			return hc_gnttab_add_to_physmap(v, x.idx, x.gpfn);
		return -ENOSYS;
	}
	case XENMEM_decrease_reservation:
		return balloon_decrease_reservation(v, a[1]);
	case XENMEM_populate_physmap:
		return balloon_populate(v, a[1], true);
	case XENMEM_increase_reservation:
		return balloon_populate(v, a[1], false);
	default:
		return -ENOSYS;
	}
}
