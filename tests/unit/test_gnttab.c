/* CUnit suite for gnttab.c and hc_gnttab.c: frames, pins and GTF flags, readonly, limits, copies, races, hostile input. */
#define _GNU_SOURCE
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv_fixture.h"
#include "gnttab.h"
#include "gmem_window.h"

#define GT_GPA      0x300000ull    /* grant frame 0 */
#define PAGE_A      0x400000ull    /* a granted data page */
#define PAGE_B      0x401000ull

static grant_entry_v1_t *entry(struct domain *d, uint64_t frame_gpa, grant_ref_t ref)
{
	return (grant_entry_v1_t *)gmem_ptr(&d->mem, frame_gpa, KXEN_PAGE_SIZE) + ref;
}

/* What a guest does to grant: frame and grantee first, flags last. */
static void grant(grant_entry_v1_t *e, domid_t to, uint64_t gpa, bool readonly)
{
	e->frame = (uint32_t)(gpa >> 12);
	e->domid = to;
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
	                 __ATOMIC_SEQ_CST);
}

/* The guest's gnttab_end_foreign_access_ref: refused while GTF_reading/GTF_writing. */
static bool end_access(grant_entry_v1_t *e)
{
	uint16_t f = __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST);

	do {
		if (f & (GTF_reading | GTF_writing))
			return false;
	} while (!__atomic_compare_exchange_n(&e->flags, &f, 0, false, __ATOMIC_SEQ_CST,
	                                      __ATOMIC_SEQ_CST));
	return true;
}

static struct domain *gt_domain(void)
{
	struct domain *d = fx_domain("gnt", 1, true);

	if (d && gnttab_place_frame(d, 0, GT_GPA >> 12) != 0)
		return NULL;
	return d;
}

static void test_frames(void)
{
	struct domain *d = fx_domain("gnt", 1, true);
	uint32_t nr, max;
	uint64_t gfns[3];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	gnttab_query_size(d, &nr, &max);
	CU_ASSERT_EQUAL(nr, 0);
	CU_ASSERT_EQUAL(max, GNTTAB_DEFAULT_MAX_FRAMES);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 0, GT_GPA >> 12), 0);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 2, (GT_GPA >> 12) + 2), 0);
	gnttab_query_size(d, &nr, &max);
	CU_ASSERT_EQUAL(nr, 3);
	CU_ASSERT_EQUAL(gnttab_setup_table(d, 3, gfns), GNTST_okay);
	CU_ASSERT_EQUAL(gfns[0], GT_GPA >> 12);
	CU_ASSERT_EQUAL(gfns[1], ~0ull);   /* not placed */
	CU_ASSERT_EQUAL(gfns[2], (GT_GPA >> 12) + 2);
	CU_ASSERT_EQUAL(gnttab_setup_table(d, GNTTAB_DEFAULT_MAX_FRAMES + 1, gfns), GNTST_general_error);
	/* Hostile placements. */
	CU_ASSERT_EQUAL(gnttab_place_frame(d, GNTTAB_DEFAULT_MAX_FRAMES, 0x500), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 0 | XENMAPIDX_grant_table_status, 0x500), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 1, KXEN_PV_PML4 >> 12), -EINVAL);   /* builder's page */
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 1, MEM_SIZE >> 12), -EINVAL);       /* past RAM */
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 1, ~0ull), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 1, GT_GPA >> 12), -EBUSY);          /* frame 0's page */
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 0, GT_GPA >> 12), 0);               /* same place again */
	fx_destroy(d);
}

/* A Xen PV guest's table: kxen's frames outside RAM, named by setup_table, never moved; entries work there. */
static void test_fixed_frames(void)
{
	struct domain *d = fx_domain("gnt", 1, true);
	size_t size = (size_t)GNTTAB_DEFAULT_MAX_FRAMES * KXEN_PAGE_SIZE;
	uint8_t *host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct gnttab_maptrack *mt;
	grant_handle_t h;
	uint64_t gfns[2], gpa;
	uint32_t nr, max;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_FATAL(host != MAP_FAILED);
	CU_ASSERT_EQUAL_FATAL(gnttab_fix_frames(d, MEM_SIZE, host), 0);
	CU_ASSERT_EQUAL(gnttab_fix_frames(d, MEM_SIZE, host), -EBUSY);   /* once */
	gnttab_query_size(d, &nr, &max);
	CU_ASSERT_EQUAL(nr, 0);   /* grows with setup_table, as Xen's */
	CU_ASSERT_EQUAL(gnttab_setup_table(d, 2, gfns), GNTST_okay);
	CU_ASSERT_EQUAL(gfns[0], MEM_SIZE >> 12);
	CU_ASSERT_EQUAL(gfns[1], (MEM_SIZE >> 12) + 1);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 0, GT_GPA >> 12), -EINVAL);   /* cannot be moved into RAM */
	/* Ref 513 is frame 1's second entry, in kxen's pages; the granted frame is RAM. */
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	grant_entry_v1_t *e = (grant_entry_v1_t *)(host + KXEN_PAGE_SIZE) + 1;
	grant(e, 0, PAGE_A, false);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 513, false, &h, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(gpa, PAGE_A);
	CU_ASSERT_EQUAL(e->flags, GTF_permit_access | GTF_reading | GTF_writing);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h), GNTST_okay);
	/* A grant naming kxen's own frames (outside RAM) is refused. */
	grant(e, 0, MEM_SIZE, false);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 513, false, &h, &gpa), GNTST_bad_page);
	gnttab_maptrack_destroy(mt);
	fx_destroy(d);   /* gnttab_free unmaps host */
}

static void test_map_unmap(void)
{
	struct domain *d = gt_domain();
	struct gnttab_maptrack *mt;
	grant_handle_t h;
	uint64_t gpa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	grant_entry_v1_t *e = entry(d, GT_GPA, 10);
	grant(e, 0, PAGE_A, false);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 10, false, &h, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(gpa, PAGE_A);
	CU_ASSERT_EQUAL(e->flags, GTF_permit_access | GTF_reading | GTF_writing);
	CU_ASSERT_EQUAL(gnttab_maptrack_count(mt), 1);
	CU_ASSERT(gnttab_maptrack_holds(mt, (domid_t)d->domid));
	/* The guest cannot end the grant while it is mapped... */
	CU_ASSERT_FALSE(end_access(e));
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h), GNTST_okay);
	CU_ASSERT_EQUAL(e->flags, GTF_permit_access);
	CU_ASSERT_FALSE(gnttab_maptrack_holds(mt, (domid_t)d->domid));
	/* ...and can once it is unmapped; then it cannot be mapped again. */
	CU_ASSERT(end_access(e));
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 10, false, &h, &gpa), GNTST_general_error);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h), GNTST_bad_handle);   /* double unmap */
	gnttab_maptrack_destroy(mt);
	fx_destroy(d);
}

/* The first page of data in fd at or after off, or -1 (SEEK_DATA). */
static off_t next_data(int fd, off_t off)
{
	return lseek(fd, off, SEEK_DATA);
}

/* A mapped page lives in the domain's grant window while mapped, at its gpa, and nothing else does. */
static void test_window(void)
{
	struct domain *d = gt_domain();
	struct gnttab_maptrack *mt1, *mt2;
	grant_handle_t h1, h2, h3;
	uint64_t gpa;
	uint8_t page[KXEN_PAGE_SIZE], want[KXEN_PAGE_SIZE], zero[KXEN_PAGE_SIZE] = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt1), 0);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt2), 0);
	uint8_t *a = gmem_ptr(&d->mem, PAGE_A, KXEN_PAGE_SIZE), *b = gmem_ptr(&d->mem, PAGE_B, KXEN_PAGE_SIZE);
	for (unsigned i = 0; i < KXEN_PAGE_SIZE; i++) {
		a[i] = want[i] = (uint8_t)(i * 7 + 1);
		b[i] = (uint8_t)(i * 5 + 2);   /* never granted */
	}
	grant(entry(d, GT_GPA, 10), 0, PAGE_A, false);
	CU_ASSERT_EQUAL(gnttab_map(mt1, (domid_t)d->domid, 10, false, &h1, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(gnttab_map(mt2, (domid_t)d->domid, 10, true, &h2, &gpa), GNTST_okay);
	CU_ASSERT(gmem_window_holds(d, PAGE_A >> 12));
	CU_ASSERT_FALSE(gmem_window_holds(d, PAGE_B >> 12));

	int wfd = gmem_window_fd(d);
	CU_ASSERT_FATAL(wfd >= 0);
	/* The window: the page at its own offset, holes elsewhere (the ungranted page too). */
	CU_ASSERT_EQUAL(next_data(wfd, 0), (off_t)PAGE_A);
	CU_ASSERT_EQUAL(next_data(wfd, (off_t)PAGE_A + KXEN_PAGE_SIZE), -1);
	CU_ASSERT(pread(wfd, page, sizeof(page), (off_t)PAGE_A) == sizeof(page) && !memcmp(page, want, sizeof(page)));
	CU_ASSERT(pread(wfd, page, sizeof(page), (off_t)PAGE_B) == sizeof(page) && !memcmp(page, zero, sizeof(page)));
	/* Sealed: a backend can neither shrink nor grow it. */
	CU_ASSERT(ftruncate(wfd, KXEN_PAGE_SIZE) < 0 && errno == EPERM);
	/* The RAM memfd's copy is released; kxen-hv's mapping (the guest's view) is the window's page. */
	CU_ASSERT(pread(d->mem.memfd, page, sizeof(page), (off_t)PAGE_A) == sizeof(page) &&
	          !memcmp(page, zero, sizeof(page)));
	CU_ASSERT_EQUAL(memcmp(a, want, sizeof(want)), 0);
	memcpy(want, "from dom0", 9);
	CU_ASSERT_EQUAL(pwrite(wfd, want, 9, (off_t)PAGE_A), 9);
	CU_ASSERT_EQUAL(memcmp(a, want, sizeof(want)), 0);
	/* shared_info has other sharers: not moved, so not mapped. */
	grant(entry(d, GT_GPA, 11), 0, SHARED_GPA, false);
	d->shared_gpa = SHARED_GPA;
	CU_ASSERT_EQUAL(gnttab_map(mt1, (domid_t)d->domid, 11, false, &h3, &gpa), GNTST_general_error);
	CU_ASSERT_EQUAL(entry(d, GT_GPA, 11)->flags, GTF_permit_access);

	/* A dump sees the page's current contents in the RAM memfd. */
	gmem_window_sync(d);
	CU_ASSERT(pread(d->mem.memfd, page, sizeof(page), (off_t)PAGE_A) == sizeof(page) &&
	          !memcmp(page, want, sizeof(page)));
	/* One unmap of two: still in the window. The last: home again, and the window empty. */
	CU_ASSERT_EQUAL(gnttab_unmap(mt1, h1), GNTST_okay);
	CU_ASSERT(gmem_window_holds(d, PAGE_A >> 12));
	CU_ASSERT_EQUAL(next_data(wfd, 0), (off_t)PAGE_A);
	a[100] = 0x5a;
	want[100] = 0x5a;
	CU_ASSERT_EQUAL(gnttab_unmap(mt2, h2), GNTST_okay);
	CU_ASSERT_FALSE(gmem_window_holds(d, PAGE_A >> 12));
	CU_ASSERT_EQUAL(next_data(wfd, 0), -1);
	CU_ASSERT(pread(d->mem.memfd, page, sizeof(page), (off_t)PAGE_A) == sizeof(page) &&
	          !memcmp(page, want, sizeof(page)));
	CU_ASSERT_EQUAL(memcmp(a, want, sizeof(want)), 0);
	/* The backend's fd no longer reaches it: writes there are the window's own. */
	CU_ASSERT_EQUAL(pwrite(wfd, "late", 4, (off_t)PAGE_A), 4);
	CU_ASSERT_EQUAL(memcmp(a, want, sizeof(want)), 0);
	close(wfd);
	gnttab_maptrack_destroy(mt1);
	gnttab_maptrack_destroy(mt2);
	fx_destroy(d);
}

static void test_readonly(void)
{
	struct domain *d = gt_domain();
	struct gnttab_maptrack *mt;
	grant_handle_t h1, h2, h3;
	uint64_t gpa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	grant_entry_v1_t *ro = entry(d, GT_GPA, 11), *rw = entry(d, GT_GPA, 12);
	grant(ro, 0, PAGE_A, true);
	grant(rw, 0, PAGE_B, false);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 11, false, &h1, &gpa), GNTST_general_error);
	CU_ASSERT_EQUAL(ro->flags, GTF_permit_access | GTF_readonly);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 11, true, &h1, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(ro->flags, GTF_permit_access | GTF_readonly | GTF_reading);
	/* Mixed pins on one writable grant: GTF_writing goes with the last writable pin. */
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 12, true, &h2, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(rw->flags, GTF_permit_access | GTF_reading);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 12, false, &h3, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(rw->flags, GTF_permit_access | GTF_reading | GTF_writing);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h3), GNTST_okay);
	CU_ASSERT_EQUAL(rw->flags, GTF_permit_access | GTF_reading);
	CU_ASSERT_FALSE(end_access(rw));
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h2), GNTST_okay);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h1), GNTST_okay);
	CU_ASSERT_EQUAL(ro->flags, GTF_permit_access | GTF_readonly);
	CU_ASSERT(end_access(rw));
	CU_ASSERT(end_access(ro));
	gnttab_maptrack_destroy(mt);
	fx_destroy(d);
}

static void test_hostile_refs(void)
{
	struct domain *d = gt_domain();
	struct domain *other = fx_domain("gnt", 1, true);
	struct gnttab_maptrack *mt;
	grant_handle_t h;
	uint64_t gpa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	domid_t id = (domid_t)d->domid;
	grant(entry(d, GT_GPA, 1), (domid_t)other->domid, PAGE_A, false);   /* not for dom0 */
	entry(d, GT_GPA, 2)->flags = GTF_readonly;                          /* no permit_access */
	grant(entry(d, GT_GPA, 3), 0, KXEN_PV_PML4, false);                 /* the page tables */
	grant(entry(d, GT_GPA, 4), 0, MEM_SIZE, false);                     /* past RAM */
	grant(entry(d, GT_GPA, 5), 0, PAGE_A, false);
	entry(d, GT_GPA, 5)->flags |= GTF_accept_transfer;                  /* wrong type */
	CU_ASSERT_EQUAL(gnttab_map(mt, id, 0, false, &h, &gpa), GNTST_general_error);   /* empty */
	CU_ASSERT_EQUAL(gnttab_map(mt, id, 1, true, &h, &gpa), GNTST_general_error);
	CU_ASSERT_EQUAL(gnttab_map(mt, id, 2, true, &h, &gpa), GNTST_general_error);
	CU_ASSERT_EQUAL(gnttab_map(mt, id, 3, true, &h, &gpa), GNTST_bad_page);
	CU_ASSERT_EQUAL(entry(d, GT_GPA, 3)->flags, GTF_permit_access);   /* bits not left set */
	CU_ASSERT_EQUAL(gnttab_map(mt, id, 4, true, &h, &gpa), GNTST_bad_page);
	CU_ASSERT_EQUAL(gnttab_map(mt, id, 5, true, &h, &gpa), GNTST_general_error);
	CU_ASSERT_EQUAL(gnttab_map(mt, id, GNTTAB_ENTRIES_PER_FRAME, true, &h, &gpa), GNTST_bad_gntref);
	CU_ASSERT_EQUAL(gnttab_map(mt, id, 0xffffffffu, true, &h, &gpa), GNTST_bad_gntref);
	/* The other domain has no table at all; dom0, reserved and unknown ids are no granters. */
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)other->domid, 1, true, &h, &gpa), GNTST_bad_gntref);
	CU_ASSERT_EQUAL(gnttab_map(mt, 0, 1, true, &h, &gpa), GNTST_bad_domain);
	CU_ASSERT_EQUAL(gnttab_map(mt, DOMID_SELF, 1, true, &h, &gpa), GNTST_bad_domain);
	CU_ASSERT_EQUAL(gnttab_map(mt, 0x7fef, 1, true, &h, &gpa), GNTST_bad_domain);
	CU_ASSERT_EQUAL(gnttab_maptrack_count(mt), 0);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, 0), GNTST_bad_handle);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, 0xffffffffu), GNTST_bad_handle);
	gnttab_maptrack_destroy(mt);
	fx_destroy(other);
	fx_destroy(d);
}

/* The guest rewrites a mapped entry: the existing pin keeps the frame it was granted. */
static void test_rewrite_while_mapped(void)
{
	struct domain *d = gt_domain();
	struct gnttab_maptrack *mt;
	grant_handle_t h1, h2;
	uint64_t gpa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	grant_entry_v1_t *e = entry(d, GT_GPA, 7);
	grant(e, 0, PAGE_A, false);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 7, true, &h1, &gpa), GNTST_okay);
	e->frame = (uint32_t)(PAGE_B >> 12);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 7, true, &h2, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(gpa, PAGE_A);
	/* Nor can the guest move the table frame under a pinned ref. */
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 0, (GT_GPA >> 12) + 5), -EBUSY);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h1), GNTST_okay);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h2), GNTST_okay);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 0, (GT_GPA >> 12) + 5), 0);
	gnttab_maptrack_destroy(mt);
	fx_destroy(d);
}

static void test_maptrack_limit(void)
{
	struct domain *d = gt_domain();
	struct gnttab_maptrack *mt;
	unsigned saved = gnttab_max_maptrack_frames;
	grant_handle_t h, first = 0;
	uint64_t gpa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	gnttab_max_maptrack_frames = 1;
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	grant(entry(d, GT_GPA, 20), 0, PAGE_A, true);
	for (unsigned i = 0; i < GNTTAB_MAPTRACK_PER_FRAME; i++) {
		CU_ASSERT_EQUAL_FATAL(gnttab_map(mt, (domid_t)d->domid, 20, true, &h, &gpa), GNTST_okay);
		if (i == 0)
			first = h;
	}
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 20, true, &h, &gpa), GNTST_no_device_space);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, first), GNTST_okay);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 20, true, &h, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(h, first);   /* the freed handle is reused */
	CU_ASSERT_EQUAL(gnttab_maptrack_count(mt), GNTTAB_MAPTRACK_PER_FRAME);
	/* Closing the connection unmaps all 256 pins and clears the flags. */
	gnttab_maptrack_destroy(mt);
	CU_ASSERT_EQUAL(entry(d, GT_GPA, 20)->flags, GTF_permit_access | GTF_readonly);
	gnttab_max_maptrack_frames = saved;
	fx_destroy(d);
}

static void test_destroyed_while_mapped(void)
{
	struct domain *d = gt_domain();
	struct gnttab_maptrack *mt;
	grant_handle_t h;
	uint64_t gpa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	grant(entry(d, GT_GPA, 3), 0, PAGE_A, false);
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)d->domid, 3, false, &h, &gpa), GNTST_okay);
	CU_ASSERT_EQUAL(atomic_load(&d->refcnt), 2);   /* the table's and the map's */
	uint32_t id = d->domid;
	fx_destroy(d);
	/* Gone from the table, so no new maps; the old one still unmaps cleanly and frees it. */
	CU_ASSERT_EQUAL(gnttab_map(mt, (domid_t)id, 3, false, &h, &gpa), GNTST_bad_domain);
	CU_ASSERT_EQUAL(gnttab_unmap(mt, h), GNTST_okay);
	gnttab_maptrack_destroy(mt);
}

static void test_copy(void)
{
	struct domain *a = gt_domain(), *b = fx_domain("gnt", 1, true);
	struct gnttab_copy op;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	struct gnttab_local bself = { .domid = (domid_t)b->domid, .base = b->mem.base,
	                              .min_frame = KXEN_PV_RESERVED_END >> 12,
	                              .nr_frames = MEM_SIZE >> 12 };
	uint8_t *pa = gmem_ptr(&a->mem, PAGE_A, 4096), *pb = gmem_ptr(&b->mem, PAGE_B, 4096);
	memset(pa, 0x5a, 4096);
	grant(entry(a, GT_GPA, 1), (domid_t)b->domid, PAGE_A, true);
	grant(entry(a, GT_GPA, 2), (domid_t)b->domid, PAGE_A, false);

	/* b copies from a's grant into its own frame. */
	op = (struct gnttab_copy){ .source = { .u.ref = 1, .domid = (domid_t)a->domid, .offset = 16 },
	                           .dest = { .u.gmfn = PAGE_B >> 12, .domid = DOMID_SELF },
	                           .len = 100, .flags = GNTCOPY_source_gref };
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_okay);
	CU_ASSERT_EQUAL(op.status, GNTST_okay);
	CU_ASSERT_EQUAL(pb[0], 0x5a);
	CU_ASSERT_EQUAL(pb[99], 0x5a);
	CU_ASSERT_EQUAL(pb[100], 0);
	CU_ASSERT_EQUAL(entry(a, GT_GPA, 1)->flags, GTF_permit_access | GTF_readonly);
	/* Into a readonly grant: refused; into the writable one: done. */
	memset(pb, 0x33, 64);
	op = (struct gnttab_copy){ .source = { .u.gmfn = PAGE_B >> 12, .domid = DOMID_SELF },
	                           .dest = { .u.ref = 1, .domid = (domid_t)a->domid },
	                           .len = 64, .flags = GNTCOPY_dest_gref };
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_general_error);
	CU_ASSERT_EQUAL(pa[0], 0x5a);
	op.dest.u.ref = 2;
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_okay);
	CU_ASSERT_EQUAL(pa[0], 0x33);
	CU_ASSERT_EQUAL(pa[64], 0x5a);
	CU_ASSERT_EQUAL(entry(a, GT_GPA, 2)->flags, GTF_permit_access);
	/* Hostile copies. */
	op.dest.offset = 4090;
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_bad_copy_arg);
	op.dest.offset = 0;
	op.flags = 0xff;
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_bad_copy_arg);
	op.flags = GNTCOPY_dest_gref;
	op.source.u.gmfn = KXEN_PV_PML4 >> 12;                     /* b's page tables */
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_bad_page);
	op.source.u.gmfn = MEM_SIZE >> 12;
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_bad_page);
	op.source = (struct gnttab_copy_ptr){ .u.gmfn = PAGE_A >> 12, .domid = (domid_t)a->domid };
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_permission_denied);   /* a's frame, not granted */
	op.source = (struct gnttab_copy_ptr){ .u.gmfn = PAGE_B >> 12, .domid = DOMID_SELF };
	op.dest.domid = 0x7fef;                                     /* no such domain */
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_bad_domain);
	op.dest.domid = DOMID_IO;
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_bad_domain);
	op.dest.domid = (domid_t)a->domid;
	op.dest.u.ref = 3;                                          /* never granted */
	CU_ASSERT_EQUAL(gnttab_copy(&bself, &op), GNTST_general_error);
	fx_destroy(b);
	fx_destroy(a);
}

/* Guest-side grant/end loop racing dom0 map/unmap: a map must never coexist with an ended grant. */
struct race {
	struct domain *d;
	atomic_bool stop;
	atomic_uint ends;
	atomic_uint bad;
};

static void *race_guest(void *arg)
{
	struct race *r = arg;
	grant_entry_v1_t *e = entry(r->d, GT_GPA, 30);

	while (!atomic_load(&r->stop)) {
		grant(e, 0, PAGE_A, false);
		/* A correct guest re-grants an entry only once it has ended it. */
		while (!end_access(e))
			if (atomic_load(&r->stop))
				return NULL;
		atomic_fetch_add(&r->ends, 1);
	}
	return NULL;
}

static void test_race(void)
{
	struct race r = { .d = gt_domain() };
	struct gnttab_maptrack *mt;
	pthread_t t;
	unsigned maps = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r.d);
	CU_ASSERT_EQUAL_FATAL(gnttab_maptrack_create(0, &mt), 0);
	grant_entry_v1_t *e = entry(r.d, GT_GPA, 30);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, race_guest, &r), 0);
	/*
	 * At least 200000 tries, and on until both sides have made progress: on a
	 * loaded host the guest thread may not run at all during the first tries.
	 * The 30 s bound only stops a broken build from hanging.
	 */
	time_t give_up = time(NULL) + 30;
	for (unsigned i = 0; i < 200000 || ((!maps || !atomic_load(&r.ends)) && time(NULL) < give_up); i++) {
		grant_handle_t h;
		uint64_t gpa;
		if (gnttab_map(mt, (domid_t)r.d->domid, 30, false, &h, &gpa) != GNTST_okay)
			continue;
		maps++;
		uint16_t f = __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST);
		if (f != (GTF_permit_access | GTF_reading | GTF_writing))
			atomic_fetch_add(&r.bad, 1);
		gnttab_unmap(mt, h);
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	printf("(%u maps, %u ends) ", maps, atomic_load(&r.ends));
	CU_ASSERT_EQUAL(atomic_load(&r.bad), 0);
	CU_ASSERT(atomic_load(&r.ends) > 0);
	gnttab_maptrack_destroy(mt);
	fx_destroy(r.d);
}

/* The hypercall decoding: setup_table, query_size, versions, add_to_physmap, copy, bad pointers. */
#define ARG 0x500000ull

static long gop(struct vcpu *v, uint64_t cmd, uint64_t uop, uint64_t count)
{
	const uint64_t a[5] = { cmd, uop, count, 0, 0 };
	return hypercall_dispatch(v, __HYPERVISOR_grant_table_op, a);
}

static void test_hypercalls(void)
{
	struct domain *d = fx_domain("gnt", 1, true);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table,
	                                .idx = 0, .gpfn = GT_GPA >> 12 };
	uint64_t ma[5] = { XENMEM_add_to_physmap, ARG, 0, 0, 0 };
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &x, sizeof(x)), 0);
	CU_ASSERT_EQUAL(hypercall_dispatch(v, __HYPERVISOR_memory_op, ma), 0);
	x.idx = 9999;
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &x, sizeof(x)), 0);
	CU_ASSERT_EQUAL(hypercall_dispatch(v, __HYPERVISOR_memory_op, ma), -EINVAL);
	x.idx = 1;
	x.domid = (domid_t)(d->domid + 1);
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &x, sizeof(x)), 0);
	CU_ASSERT_EQUAL(hypercall_dispatch(v, __HYPERVISOR_memory_op, ma), -EPERM);

	struct gnttab_query_size q = { .dom = DOMID_SELF };
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &q, sizeof(q)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_query_size, ARG, 1), 0);
	CU_ASSERT_EQUAL(gmem_read(&d->mem, &q, ARG, sizeof(q)), 0);
	CU_ASSERT_EQUAL(q.status, GNTST_okay);
	CU_ASSERT_EQUAL(q.nr_frames, 1);
	CU_ASSERT_EQUAL(q.max_nr_frames, GNTTAB_DEFAULT_MAX_FRAMES);

	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 2 };
	set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)(ARG + 0x100));
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_setup_table, ARG, 1), 0);
	CU_ASSERT_EQUAL(gmem_read(&d->mem, &st, ARG, sizeof(st)), 0);
	CU_ASSERT_EQUAL(st.status, GNTST_okay);
	uint64_t gfns[2];
	CU_ASSERT_EQUAL(gmem_read(&d->mem, gfns, ARG + 0x100, sizeof(gfns)), 0);
	CU_ASSERT_EQUAL(gfns[0], GT_GPA >> 12);
	CU_ASSERT_EQUAL(gfns[1], ~0ull);
	set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)0x1000);   /* the page tables */
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_setup_table, ARG, 1), 0);
	CU_ASSERT_EQUAL(gmem_read(&d->mem, &st, ARG, sizeof(st)), 0);
	CU_ASSERT_EQUAL(st.status, GNTST_bad_virt_addr);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_setup_table, ARG, 2), -EINVAL);

	struct gnttab_set_version sv = { .version = 2 };
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &sv, sizeof(sv)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_set_version, ARG, 1), -ENOSYS);
	sv.version = 7;
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &sv, sizeof(sv)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_set_version, ARG, 1), -EINVAL);
	sv.version = 1;
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &sv, sizeof(sv)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_set_version, ARG, 1), 0);
	struct gnttab_get_version gv = { .dom = DOMID_SELF };
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &gv, sizeof(gv)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_get_version, ARG, 1), 0);
	CU_ASSERT_EQUAL(gmem_read(&d->mem, &gv, ARG, sizeof(gv)), 0);
	CU_ASSERT_EQUAL(gv.version, 1);

	/* A local copy between two of its own frames, in a batch with a bad one. */
	struct gnttab_copy c[2] = {
		{ .source = { .u.gmfn = PAGE_A >> 12, .domid = DOMID_SELF },
		  .dest = { .u.gmfn = PAGE_B >> 12, .domid = DOMID_SELF, .offset = 8 }, .len = 8 },
		{ .source = { .u.gmfn = 1, .domid = DOMID_SELF },
		  .dest = { .u.gmfn = PAGE_B >> 12, .domid = DOMID_SELF }, .len = 8 },
	};
	memcpy(gmem_ptr(&d->mem, PAGE_A, 8), "grants!", 8);
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, c, sizeof(c)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_copy, ARG, 2), 0);
	CU_ASSERT_EQUAL(gmem_read(&d->mem, c, ARG, sizeof(c)), 0);
	CU_ASSERT_EQUAL(c[0].status, GNTST_okay);
	CU_ASSERT_EQUAL(c[1].status, GNTST_bad_page);
	CU_ASSERT_STRING_EQUAL((char *)gmem_ptr(&d->mem, PAGE_B + 8, 8), "grants!");

	/* Hostile: bad pointers, huge counts, unknown and unsupported ops. */
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_query_size, 0, 1), -EFAULT);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_copy, MEM_SIZE - 8, 1), -EFAULT);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_copy, ARG, 1u << 30), -E2BIG);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_copy, UINT64_MAX - 8, 2), -EFAULT);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_map_grant_ref, ARG, 1), -ENOSYS);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_transfer, ARG, 1), -ENOSYS);
	CU_ASSERT_EQUAL(gop(v, 1u << 31, ARG, 1), -ENOSYS);
	CU_ASSERT_EQUAL(gop(v, UINT64_MAX, ARG, 1), -ENOSYS);
	fx_destroy(d);
}

/* A domain created with maxGrantFrames: its own limit, as GNTTABOP_query_size, setup_table and add_to_physmap see it. */
static void test_domain_limit(void)
{
	struct domain *d = fx_domain("gnt", 1, true);
	struct kxctl_domain_create req = { .name = "toobig", .mem_bytes = 16 << 20, .max_vcpus = 1,
	                                   .max_grant_frames = GNTTAB_DEFAULT_MAX_FRAMES + 1 };
	struct domain *nd = NULL;
	uint32_t nr, max;
	uint64_t gfns[5];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	d->max_grant_frames = 4;
	gnttab_query_size(d, &nr, &max);
	CU_ASSERT_EQUAL(max, 4);
	CU_ASSERT_EQUAL(gnttab_setup_table(d, 4, gfns), GNTST_okay);
	CU_ASSERT_EQUAL(gnttab_setup_table(d, 5, gfns), GNTST_general_error);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 3, GT_GPA >> 12), 0);
	CU_ASSERT_EQUAL(gnttab_place_frame(d, 4, (GT_GPA >> 12) + 1), -EINVAL);

	struct vcpu *v = d->vcpu[0];
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &q, sizeof(q)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_query_size, ARG, 1), 0);
	CU_ASSERT_EQUAL(gmem_read(&d->mem, &q, ARG, sizeof(q)), 0);
	CU_ASSERT_EQUAL(q.max_nr_frames, 4);
	CU_ASSERT_EQUAL(q.nr_frames, 4);
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 5 };
	set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)(ARG + 0x100));
	CU_ASSERT_EQUAL(gmem_write(&d->mem, ARG, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(gop(v, GNTTABOP_setup_table, ARG, 1), 0);
	CU_ASSERT_EQUAL(gmem_read(&d->mem, &st, ARG, sizeof(st)), 0);
	CU_ASSERT_EQUAL(st.status, GNTST_general_error);
	fx_destroy(d);
	/* No domain may ask for more than kxen-hv's limit (checked before any KVM work). */
	CU_ASSERT_EQUAL(domain_create(&req, &nd), -E2BIG);
	CU_ASSERT_PTR_NULL(nd);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "frames: add_to_physmap, setup_table, query_size", test_frames },
		{ "per-domain limit (maxGrantFrames) in query_size, setup_table, add_to_physmap", test_domain_limit },
		{ "a PV guest's fixed frames outside RAM", test_fixed_frames },
		{ "map/unmap sets and clears GTF bits", test_map_unmap },
		{ "readonly grants and mixed pins", test_readonly },
		{ "mapped pages live in the grant window, and only they", test_window },
		{ "hostile refs, domids, frames, handles", test_hostile_refs },
		{ "guest rewrites a mapped entry", test_rewrite_while_mapped },
		{ "maptrack limit, reuse, close cleanup", test_maptrack_limit },
		{ "domain destroyed while mapped", test_destroyed_while_mapped },
		{ "copy between grants and own frames", test_copy },
		{ "guest end_access races dom0 map", test_race },
		{ "grant_table_op decoding", test_hypercalls },
	};

	return fx_run_suite("gnttab", tests, CUNIT_COUNT(tests));
}
