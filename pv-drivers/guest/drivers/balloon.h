/* The guest's balloon: follows memory/target as Linux's xen-balloon does (decrease_reservation down, populate_physmap up). */
#ifndef GUEST_BALLOON_H
#define GUEST_BALLOON_H

/*
 * Starts the "balloon" thread on vCPU 0 (needs xenbus_init and mm_init
 * first). It advertises control/feature-balloon (kxl mem-set looks for it),
 * then watches memory/target: below the pages it has, it gives free pages
 * back to kxen-hv (XENMEM_decrease_reservation); above, it takes the pages
 * it gave back again (XENMEM_populate_physmap) and frees them to the
 * allocator. Never blocks boot. Returns 0 or -XEN_ENOMEM.
 */
int balloon_init(void);

#endif
