/* Grant tables (v1): the per-domain table, dom0 maptracks and copies; internal interface of gnttab.c. */
#ifndef KXEN_GNTTAB_H
#define KXEN_GNTTAB_H

/*
 * The state machine makes no ioctls: the CUnit suite drives it on fake
 * domains. Everything returns a Xen GNTST_* status (int16_t, 0 = okay)
 * where Xen's ABI reports one per operation, and 0 or -errno otherwise.
 *
 * Model (docs/grant-tables.md):
 *  - a domain's grant table is up to d->max_grant_frames (at most gnttab_max_frames) frames of
 *    grant_entry_v1_t living in guest RAM pages the guest chooses
 *    (XENMEM_add_to_physmap, XENMAPSPACE_grant_table, as auto-translated
 *    guests do on Xen); the guest writes entries, kxen-hv only cmpxchg's
 *    GTF_reading/GTF_writing into them, as Xen does;
 *  - kxen-hv keeps its own "active" record per ref in use (pin counts, the
 *    frame and the grantee cached at the first pin) so a guest rewriting an
 *    entry cannot move a mapping that already exists;
 *  - mappers (dom0 control connections) own a maptrack: one handle per
 *    map, each holding a reference on the granting domain, bounded by
 *    gnttab_max_maptrack_frames; releasing the maptrack unmaps everything.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kxen-hv.h"
#include <xen/grant_table.h>
#include <xen/memory.h>

struct domain;
struct vcpu;

#define GNTTAB_DEFAULT_MAX_FRAMES          64     /* Xen's max_grant_frames default */
#define GNTTAB_DEFAULT_MAX_MAPTRACK_FRAMES 1024   /* Xen's max_maptrack_frames default */
#define GNTTAB_ENTRIES_PER_FRAME  (KXEN_PAGE_SIZE / sizeof(grant_entry_v1_t))   /* 512 */
/* Maptrack entries per "frame", as Xen sizes its struct grant_mapping (16 bytes here). */
#define GNTTAB_MAPTRACK_PER_FRAME 256
/* Operations one grant_table_op hypercall or one control request may carry. */
#define GNTTAB_BATCH_MAX          1024
/* Largest dom0 copy buffer (kxen-hv maps it). */
#define GNTTAB_COPYBUF_MAX        (64ull << 20)

/* Limits, set once by kxen-hv's options before any domain exists. */
extern unsigned gnttab_max_frames;
extern unsigned gnttab_max_maptrack_frames;

/* Frees d's table (domain_free; no maptrack can reference d any more). */
void gnttab_free(struct domain *d);

/*
 * XENMEM_add_to_physmap(XENMAPSPACE_grant_table): grant frame idx of d now
 * lives in guest page gpfn. -EINVAL for idx >= the limit, status frames
 * (v2 only) or a page that is not the guest's RAM; -EBUSY if gpfn already
 * holds another grant frame or frame idx has refs in use.
 */
int gnttab_place_frame(struct domain *d, uint64_t idx, uint64_t gpfn);
/* Whether guest page gpa holds one of d's placed grant frames (any thread). */
bool gnttab_holds_gpa(struct domain *d, uint64_t gpa);
/*
 * GNTTABOP_setup_table: grows the table to nr_frames and writes each
 * frame's gfn to gfns[] (~0 for frames not placed yet: auto-translated
 * guests place them with add_to_physmap). Returns a GNTST_* status.
 */
int16_t gnttab_setup_table(struct domain *d, uint32_t nr_frames, uint64_t *gfns);
/*
 * A Xen PV (direct-paging) guest's table, as Xen gives it: all
 * d->max_grant_frames frames are kxen-hv's pages host[] (an mmap of that many
 * pages, which gnttab_free unmaps) at guest-physical gpa, outside the
 * guest's RAM; setup_table returns their frame numbers for the guest to map
 * by PTE and add_to_physmap cannot move them. Before the domain runs;
 * -EBUSY if the table already has frames, -ENOMEM.
 */
int gnttab_fix_frames(struct domain *d, uint64_t gpa, uint8_t *host);
/* GNTTABOP_query_size. */
void gnttab_query_size(struct domain *d, uint32_t *nr_frames, uint32_t *max_frames);

/* A mapper's handle table (one per dom0 control connection). */
struct gnttab_maptrack;

/* A maptrack for mapper domid (dom0: 0). -ENOMEM. */
int gnttab_maptrack_create(domid_t mapper, struct gnttab_maptrack **out);
/* Unmaps every handle still mapped (clearing GTF bits) and frees mt (NULL ok). */
void gnttab_maptrack_destroy(struct gnttab_maptrack *mt);
/* Handles in use. */
unsigned gnttab_maptrack_count(const struct gnttab_maptrack *mt);
/* Whether mt holds a mapping of a grant of domain domid. */
bool gnttab_maptrack_holds(const struct gnttab_maptrack *mt, domid_t domid);

/*
 * GNTTABOP_map_grant_ref for mt's mapper: pins (dom, ref) readonly or
 * writable with Xen's checks (GTF_permit_access, the grantee, GTF_readonly
 * refuses writable maps) and sets GTF_reading (+GTF_writing) by cmpxchg.
 * On GNTST_okay *handle names the map and *gpa is the granted frame's
 * guest-physical address, which is also its offset in the domain's memfd.
 */
int16_t gnttab_map(struct gnttab_maptrack *mt, domid_t dom, grant_ref_t ref, bool readonly,
                   grant_handle_t *handle, uint64_t *gpa);
/* GNTTABOP_unmap_grant_ref: drops the pin; the last one clears the GTF bits. */
int16_t gnttab_unmap(struct gnttab_maptrack *mt, grant_handle_t handle);

/*
 * The caller's own memory for GNTTABOP_copy's non-gref side: a guest's RAM
 * (frames from min_frame up) or a dom0 connection's copy buffer.
 */
struct gnttab_local {
	domid_t domid;
	uint8_t *base;
	uint64_t min_frame, nr_frames;
};
/* One GNTTABOP_copy by self: fills op->status and returns it. */
int16_t gnttab_copy(const struct gnttab_local *self, struct gnttab_copy *op);

/* ---- hc_gnttab.c ---- */

long hc_grant_table_op(struct vcpu *v, const uint64_t a[5]);
/* XENMEM_add_to_physmap with XENMAPSPACE_grant_table (hc_memory.c decodes the struct). */
long hc_gnttab_add_to_physmap(struct vcpu *v, uint64_t idx, uint64_t gpfn);

/* ---- ctl_gnttab.c: the dom0 grant ops of the control socket ---- */

/* Per-connection grant state: a maptrack and an optional copy buffer. */
struct ctl_gnttab {
	struct gnttab_maptrack *mt;
	uint8_t *copybuf;
	uint64_t copybuf_size;
};

/* Unmaps everything the connection mapped and frees its copy buffer. */
void ctl_gnttab_release(struct ctl_gnttab *g);

#endif
