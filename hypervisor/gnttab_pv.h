/* A Xen PV guest's grant-table frames outside its RAM (gnttab_pv.c). */
#ifndef KXEN_HV_GNTTAB_PV_H
#define KXEN_HV_GNTTAB_PV_H

#include <stdint.h>

struct domain;

/*
 * Gives d (a direct-paging guest, before it runs) d->max_grant_frames zeroed
 * grant-table frames at guest-physical gpa through KVM memory slot slot, as
 * Xen keeps a PV guest's table in its own pages (gnttab_fix_frames). 0 or
 * -errno; the pages are d's table's from the first step on (gnttab_free
 * unmaps them), so a caller that fails just lets the domain go.
 */
int gnttab_pv_frames(struct domain *d, unsigned slot, uint64_t gpa);

#endif
