/* The balloon: XENMEM_decrease_reservation punches frames out of the memfd, populate_physmap and increase_reservation give them back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "kxen-hv.h"
#include "balloon.h"
#include "domain.h"
#include "gmem.h"
#include "gmem_window.h"
#include "log.h"
#include "gnttab.h"
#include "hostmem.h"
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
	/* A page a backend maps lives in the grant window until unmapped, as Xen keeps it referenced. */
	return !gnttab_holds_gpa(d, gpa) && !gmem_window_holds(d, gfn);
}

/* Marks gfn given back: its host pages are uncommitted once, however often it is named. */
static void mark_released(struct domain *d, _Atomic uint64_t *map, uint64_t gfn)
{
	uint64_t bit = 1ull << (gfn % 64);

	if (!(atomic_fetch_or(&map[gfn / 64], bit) & bit)) {
		atomic_fetch_add(&d->released_pages, 1);
		hostmem__uncommit(KXEN_PAGE_SIZE);
	}
}

/* The reservation at guest pointer arg, checked as every reservation op needs it; 0 or -errno. */
static int read_reservation(struct domain *d, uint64_t arg, struct xen_memory_reservation *res,
                            _Atomic uint64_t **map)
{
	if (gmem_read(&d->mem, res, arg, sizeof(*res)) < 0)
		return -EFAULT;
	if (res->domid != DOMID_SELF && res->domid != d->domid)
		return -EPERM;
	if (res->extent_order)
		return -ENOSYS;
	if (!(*map = released_map(d)))
		return -ENOMEM;
	return 0;
}

long balloon_decrease_reservation(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct xen_memory_reservation res;
	xen_pfn_t batch[512];
	_Atomic uint64_t *map;
	int rc;

	if ((rc = read_reservation(d, arg, &res, &map)))
		return rc;
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
			mark_released(d, map, gfn);
		}
	}
	return (long)done;
}

/* Takes gfn back from the released set: true if it was released (the caller has committed its page). */
static bool take_back(struct domain *d, _Atomic uint64_t *map, uint64_t gfn)
{
	uint64_t bit = 1ull << (gfn % 64);

	if (gfn >= d->mem.size / KXEN_PAGE_SIZE || !(atomic_fetch_and(&map[gfn / 64], ~bit) & bit))
		return false;
	atomic_fetch_sub(&d->released_pages, 1);
	return true;
}

/* increase_reservation's choice: the lowest released frame from *cursor on, or UINT64_MAX. */
static uint64_t next_released(struct domain *d, _Atomic uint64_t *map, uint64_t *cursor)
{
	uint64_t pages = d->mem.size / KXEN_PAGE_SIZE;

	for (uint64_t g = *cursor; g < pages; g++) {
		if (!(g % 64) && !atomic_load(&map[g / 64])) {
			g += 63;
			continue;
		}
		if (atomic_load(&map[g / 64]) & (1ull << (g % 64))) {
			*cursor = g + 1;
			return g;
		}
	}
	*cursor = pages;
	return UINT64_MAX;
}

long balloon_populate(struct vcpu *v, uint64_t arg, bool guest_names)
{
	struct domain *d = v->d;
	struct xen_memory_reservation res;
	xen_pfn_t batch[512];
	_Atomic uint64_t *map;
	uint64_t cursor = 0;
	int rc;

	if ((rc = read_reservation(d, arg, &res, &map)))
		return rc;
	unsigned bits = XENMEMF_get_address_bits(res.mem_flags);
	uint64_t base = (uint64_t)(uintptr_t)res.extent_start.p;
	unsigned long done = 0;
	while (done < res.nr_extents) {
		unsigned long n = res.nr_extents - done, i;
		if (n > 512)
			n = 512;
		if (guest_names && gmem_read(&d->mem, batch, base + done * sizeof(xen_pfn_t), n * sizeof(xen_pfn_t)) < 0)
			return (long)done;
		/* The promise first (Xen: no more than the domain may have, else a partial count). */
		if (hostmem__commit(n * KXEN_PAGE_SIZE)) {
			hvlog_limited(&d->log_limit, d->domid,
			              "%s of %lu pages refused: the host's RAM is promised to domains",
			              guest_names ? "populate_physmap" : "increase_reservation", n);
			return (long)done;
		}
		for (i = 0; i < n; i++) {
			uint64_t gfn = guest_names ? batch[i] : next_released(d, map, &cursor);
			/* Identity M2P: the frame Linux names is the one it gave back, or nothing at all. */
			if (gfn == UINT64_MAX || (bits && bits < 64 &&
			                          (gfn + 1) << 12 > 1ull << bits) || !take_back(d, map, gfn))
				break;
			batch[i] = gfn;   /* the machine frame: the same number */
		}
		if (i < n)
			hostmem__uncommit((n - i) * KXEN_PAGE_SIZE);
		if (base && i && gmem_write(&d->mem, base + done * sizeof(xen_pfn_t), batch, i * sizeof(xen_pfn_t)) < 0) {
			/* The guest cannot learn these frames: they go back to the released set. */
			for (unsigned long j = 0; j < i; j++)
				mark_released(d, map, batch[j]);
			return (long)done;
		}
		done += i;
		if (i < n)
			break;
	}
	return (long)done;
}

int balloon_boot_unpopulated(struct domain *d, uint64_t first, uint64_t count)
{
	_Atomic uint64_t *map = released_map(d);

	if (!map)
		return -ENOMEM;
	if (!count)
		return 0;
	if (first + count > d->mem.size / KXEN_PAGE_SIZE)
		return -EINVAL;
	/* Never touched by the builder, so already holes: the punch only makes sure. */
	if (fallocate(d->mem.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(first * KXEN_PAGE_SIZE),
	              (off_t)(count * KXEN_PAGE_SIZE)) < 0)
		return -errno;
	for (uint64_t g = first; g < first + count; g++)
		mark_released(d, map, g);
	return 0;
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
