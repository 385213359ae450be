/* balloon.c's interface: memory a domain gives back to the host and takes again (XENMEM_decrease_reservation, populate_physmap, increase_reservation). */
#ifndef KXEN_HV_BALLOON_H
#define KXEN_HV_BALLOON_H

#include <stdbool.h>
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
/*
 * XENMEM_populate_physmap (guest_names: each extent names the frame the
 * guest wants back, as Linux's balloon does) or XENMEM_increase_reservation
 * (kxen picks the lowest released frames) for v's domain: machine frames
 * are guest frames here, so only frames the domain gave back (or that
 * started unpopulated) can come back, order 0 only, each below
 * XENMEMF_address_bits when set. Each frame's number is written back into
 * extent_start as its mfn (when the handle is not NULL); its page is a hole
 * and reads as zeroes on first touch. The pages are committed against the
 * host's RAM first (hostmem__commit). Returns the number of extents done,
 * stopping at the first frame that cannot come back (as Xen stops at the
 * domain's maximum), or -EFAULT, -EPERM, -ENOSYS as decrease.
 */
long balloon_populate(struct vcpu *v, uint64_t arg, bool guest_names);
/*
 * count frames from first that a Linux guest starts without (<currentMemory>
 * below <memory>: start_info's nr_pages stops short of its e820), counted
 * as given back from boot so populate_physmap can hand them over later.
 * Control thread, before the guest runs. 0, -EINVAL beyond RAM, -ENOMEM.
 */
int balloon_boot_unpopulated(struct domain *d, uint64_t first, uint64_t count);
/* Pages d has given back so far (any thread). */
uint64_t balloon_released_pages(struct domain *d);
/* Frees d's record (domain_free). */
void balloon_free(struct domain *d);

#endif
