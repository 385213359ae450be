/* balloon.c's interface: memory a domain gives back to the host (XENMEM_decrease_reservation). */
#ifndef KXEN_HV_BALLOON_H
#define KXEN_HV_BALLOON_H

#include <stdint.h>

struct domain;
struct vcpu;

/*
 * XENMEM_decrease_reservation for v's domain, the xen_memory_reservation at
 * guest pointer arg: each extent (order 0 only) names a frame of the
 * domain's own RAM that is not a special page (shared_info, a split page,
 * a placed grant frame, the builder's reserved pages); its page is punched
 * out of the RAM memfd so the host gets it back, and the domain's count
 * goes down once per frame. Returns the number of extents done, as Xen
 * (stopping at the first bad frame), or -EFAULT, -EPERM (another domain),
 * -ENOSYS (extent_order > 0).
 */
long balloon_decrease_reservation(struct vcpu *v, uint64_t arg);
/* Pages d has given back so far (any thread). */
uint64_t balloon_released_pages(struct domain *d);
/* Frees d's record (domain_free). */
void balloon_free(struct domain *d);

#endif
