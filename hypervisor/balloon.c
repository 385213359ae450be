/* XENMEM_decrease_reservation: a guest's balloon driver gives frames back; their pages leave the memfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "kxen-hv.h"
#include "balloon.h"
#include "domain.h"
#include "gmem.h"
#include "log.h"
#include "gnttab.h"
#include "vcpu.h"
#include <xen/memory.h>

/* One bit per RAM page: a frame given back twice must not be counted twice. */
static _Atomic uint64_t *released_map(struct domain *d)
{
	_Atomic uint64_t *m = atomic_load(&d->released);
	if (m)
		return m;
	uint64_t words = (d->mem.size / KXEN_PAGE_SIZE + 63) / 64;
	_Atomic uint64_t *fresh = calloc(words, sizeof(*fresh)), *none = NULL;
	if (!fresh)
		return NULL;
	if (!atomic_compare_exchange_strong(&d->released, &none, fresh)) {
		free(fresh);
		return none;
	}
	return fresh;
}

/* Whether gfn is RAM the guest may give away: not reserved, not shared_info, a split page or a grant frame. */
static bool frame_releasable(struct domain *d, uint64_t gfn)
{
	uint64_t gpa = gfn * KXEN_PAGE_SIZE;
	if (gpa < KXEN_PV_RESERVED_END || gpa >= d->mem.size || gfn >= (1ull << 52))
		return false;
	if (d->shared && gpa == d->shared_gpa)
		return false;
	for (unsigned r = 0; r < KXCTL_PAGE_NR; r++)
		if (d->mem.special[r].gfn == gfn)
			return false;
	return !gnttab_holds_gpa(d, gpa);
}

long balloon_decrease_reservation(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct xen_memory_reservation res;
	xen_pfn_t batch[512];
	_Atomic uint64_t *map;

	if (gmem_read(&d->mem, &res, arg, sizeof(res)) < 0)
		return -EFAULT;
	if (res.domid != DOMID_SELF && res.domid != d->domid)
		return -EPERM;
	if (res.extent_order)
		return -ENOSYS;
	if (!(map = released_map(d)))
		return -ENOMEM;
	uint64_t base = (uint64_t)(uintptr_t)res.extent_start.p;
	unsigned long done = 0;
	while (done < res.nr_extents) {
		unsigned long n = res.nr_extents - done;
		if (n > 512)
			n = 512;
		if (gmem_read(&d->mem, batch, base + done * sizeof(xen_pfn_t), n * sizeof(xen_pfn_t)) < 0)
			return (long)done;
		for (unsigned long i = 0; i < n; i++, done++) {
			uint64_t gfn = batch[i];
			if (!frame_releasable(d, gfn)) {
				hvlog_limited(&d->log_limit, d->domid,
				              "decrease_reservation of frame %#llx refused: not its RAM or a special page",
				              (unsigned long long)gfn);
				return (long)done;
			}
			if (fallocate(d->mem.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			              (off_t)(gfn * KXEN_PAGE_SIZE), KXEN_PAGE_SIZE) < 0)
				return (long)done;
			uint64_t bit = 1ull << (gfn % 64);
			if (!(atomic_fetch_or(&map[gfn / 64], bit) & bit))
				atomic_fetch_add(&d->released_pages, 1);
		}
	}
	return (long)done;
}

uint64_t balloon_released_pages(struct domain *d)
{
	return atomic_load(&d->released_pages);
}

void balloon_free(struct domain *d)
{
	free((void *)atomic_load(&d->released));
	d->released = NULL;
}
