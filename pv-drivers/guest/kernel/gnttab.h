/* Guest grant tables (v1): table set-up, granting pages to other domains, ending access, copies. */
#ifndef GUEST_GNTTAB_H
#define GUEST_GNTTAB_H

#include "kernel.h"
#include <xen/grant_table.h>

/*
 * The table's frames are pages of our RAM placed with XENMEM_add_to_physmap
 * (XENMAPSPACE_grant_table), as auto-translated guests do on Xen. Refs
 * below GNTTAB_NR_RESERVED_ENTRIES are left to the toolstack (console,
 * xenstore). Functions return 0 / a ref, or a negative Xen errno.
 */

/* Sets up nr_frames frames (512 refs each; capped by the hypervisor's limit) and grant v1. */
int gnttab_init(unsigned nr_frames);
/* Grants domid access to our page at frame (a gfn); returns the ref. -XEN_ENOSPC when full. */
int gnttab_grant_foreign_access(domid_t domid, unsigned long frame, bool readonly);
/*
 * Ends access to ref: -XEN_EBUSY while the grantee still has it mapped
 * (GTF_reading/GTF_writing set by the hypervisor); the ref stays granted
 * then and the caller retries later. On success the ref is freed.
 */
int gnttab_end_foreign_access(grant_ref_t ref);
/* Whether the grantee has ref mapped or in a copy right now. */
bool gnttab_query_foreign_access(grant_ref_t ref);
/* GNTTABOP_copy of count ops (each op's status says how it went). */
int gnttab_copy(struct gnttab_copy *ops, unsigned count);
/* Raw grant_table_op, for tests that probe the ABI. */
long gnttab_op(unsigned cmd, void *uop, unsigned count);
/* Frames in use and the hypervisor's maximum (GNTTABOP_query_size). */
int gnttab_query_size(uint32_t *nr_frames, uint32_t *max_frames);

#endif
