/* Grant tables v1: frames in guest RAM (or kxen's for a Xen PV guest), active entries with pin counts, maptracks and copies (no ioctls). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gnttab.h"
#include "gmem.h"
#include "gmem_window.h"
#include "domain.h"

unsigned gnttab_max_frames = GNTTAB_DEFAULT_MAX_FRAMES;
unsigned gnttab_max_maptrack_frames = GNTTAB_DEFAULT_MAX_MAPTRACK_FRAMES;

/* Xen gives up on an entry the guest keeps changing under our cmpxchg after this many tries. */
#define PIN_RETRIES 4

/* kxen-hv's own record of a ref in use: the guest cannot change it. */
struct active {
	uint32_t pin_ro, pin_rw;   /* maps and in-flight copies */
	domid_t grantee;           /* cached at the first pin */
	uint64_t gpa;              /* the granted frame, cached at the first pin */
};

struct gnttab {
	pthread_mutex_t lock;
	unsigned nr_frames;
	unsigned max_frames;         /* the domain's limit (d->max_grant_frames) */
	uint64_t *frame_gpa;         /* [max_frames], 0 = not placed */
	struct active **active;      /* [max_frames] arrays of ENTRIES_PER_FRAME, lazily */
	unsigned *frame_pins;        /* [max_frames] refs pinned in each frame */
	uint8_t *fixed;              /* a Xen PV guest's kxen-owned frames (gnttab_fix_frames), or NULL */
	uint64_t fixed_gpa;
};

struct maptrack_entry {
	struct domain *d;            /* holds a reference; NULL = free */
	uint64_t gpa;                /* the frame, in d's grant window while mapped */
	grant_ref_t ref;
	bool readonly;
	uint32_t next_free;
};

struct gnttab_maptrack {
	domid_t mapper;
	struct maptrack_entry *e;
	uint32_t nr, cap, used, free_head;   /* free list through next_free; UINT32_MAX ends it */
};

/* d's table, created on first use (d->lock orders the creation). NULL without memory. */
static struct gnttab *gt_get(struct domain *d)
{
	struct gnttab *gt = __atomic_load_n(&d->gt, __ATOMIC_ACQUIRE);

	if (gt || d->is_dom0)
		return gt;
	pthread_mutex_lock(&d->lock);
	gt = d->gt;
	if (!gt && (gt = calloc(1, sizeof(*gt)))) {
		gt->max_frames = d->max_grant_frames;
		gt->frame_gpa = calloc(gt->max_frames, sizeof(*gt->frame_gpa));
		gt->active = calloc(gt->max_frames, sizeof(*gt->active));
		gt->frame_pins = calloc(gt->max_frames, sizeof(*gt->frame_pins));
		if (!gt->frame_gpa || !gt->active || !gt->frame_pins) {
			free(gt->frame_gpa);
			free(gt->active);
			free(gt->frame_pins);
			free(gt);
			gt = NULL;
		} else {
			pthread_mutex_init(&gt->lock, NULL);
			__atomic_store_n(&d->gt, gt, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return gt;
}

void gnttab_free(struct domain *d)
{
	struct gnttab *gt = d->gt;

	if (!gt)
		return;
	for (unsigned i = 0; i < gt->max_frames; i++)
		free(gt->active[i]);
	free(gt->active);
	free(gt->frame_gpa);
	free(gt->frame_pins);
	if (gt->fixed)
		munmap(gt->fixed, (size_t)gt->max_frames * KXEN_PAGE_SIZE);
	pthread_mutex_destroy(&gt->lock);
	free(gt);
	d->gt = NULL;
}

int gnttab_place_frame(struct domain *d, uint64_t idx, uint64_t gpfn)
{
	struct gnttab *gt;
	uint64_t gpa = gpfn << 12;
	int rc = 0;

	if (idx & XENMAPIDX_grant_table_status)
		return -EINVAL;   /* status frames exist only in v2 */
	if (idx >= d->max_grant_frames || gpfn >= (1ull << 40) || !gmem_frame_ptr(&d->mem, gpa, KXEN_PAGE_SIZE))
		return -EINVAL;
	if (!(gt = gt_get(d)))
		return -ENOMEM;
	pthread_mutex_lock(&gt->lock);
	if (gt->fixed) {
		rc = -EINVAL;   /* a PV guest's frames are kxen's and stay where setup_table said */
		goto out;
	}
	for (unsigned i = 0; i < gt->max_frames; i++)
		if (i != idx && gt->frame_gpa[i] == gpa) {
			rc = -EBUSY;
			goto out;
		}
	/* Moving a frame would swap the entries under refs that are mapped. */
	if (gt->frame_pins[idx] && gt->frame_gpa[idx] != gpa) {
		rc = -EBUSY;
		goto out;
	}
	gt->frame_gpa[idx] = gpa;
	if (idx + 1 > gt->nr_frames)
		gt->nr_frames = (unsigned)idx + 1;
out:
	pthread_mutex_unlock(&gt->lock);
	return rc;
}

bool gnttab_holds_gpa(struct domain *d, uint64_t gpa)
{
	struct gnttab *gt = __atomic_load_n(&d->gt, __ATOMIC_ACQUIRE);
	bool held = false;

	if (!gt)
		return false;
	pthread_mutex_lock(&gt->lock);
	for (unsigned i = 0; i < gt->max_frames && !held; i++)
		held = gt->frame_gpa[i] == gpa;
	pthread_mutex_unlock(&gt->lock);
	return held;
}

int16_t gnttab_setup_table(struct domain *d, uint32_t nr_frames, uint64_t *gfns)
{
	struct gnttab *gt;

	if (nr_frames > d->max_grant_frames)
		return GNTST_general_error;
	if (!(gt = gt_get(d)))
		return GNTST_general_error;
	pthread_mutex_lock(&gt->lock);
	if (nr_frames > gt->nr_frames)
		gt->nr_frames = nr_frames;
	for (uint32_t i = 0; i < nr_frames; i++)
		gfns[i] = gt->frame_gpa[i] ? gt->frame_gpa[i] >> 12 : ~0ull;
	pthread_mutex_unlock(&gt->lock);
	return GNTST_okay;
}

int gnttab_fix_frames(struct domain *d, uint64_t gpa, uint8_t *host)
{
	struct gnttab *gt = gt_get(d);
	int rc = 0;

	if (!gt)
		return -ENOMEM;
	pthread_mutex_lock(&gt->lock);
	if (gt->fixed || gt->nr_frames) {
		rc = -EBUSY;
		goto out;
	}
	gt->fixed = host;
	gt->fixed_gpa = gpa;
	for (unsigned i = 0; i < gt->max_frames; i++)
		gt->frame_gpa[i] = gpa + (uint64_t)i * KXEN_PAGE_SIZE;
out:
	pthread_mutex_unlock(&gt->lock);
	return rc;
}

void gnttab_query_size(struct domain *d, uint32_t *nr_frames, uint32_t *max_frames)
{
	struct gnttab *gt = gt_get(d);

	*max_frames = d->max_grant_frames;
	*nr_frames = 0;
	if (gt) {
		pthread_mutex_lock(&gt->lock);
		*nr_frames = gt->nr_frames;
		pthread_mutex_unlock(&gt->lock);
	}
}

/* The shared entry's {flags, domid} word, or NULL for a ref outside placed frames (gt->lock held). */
static uint32_t *entry_word(struct domain *d, struct gnttab *gt, grant_ref_t ref,
                            grant_entry_v1_t **entry)
{
	unsigned frame = ref / GNTTAB_ENTRIES_PER_FRAME;

	if (frame >= gt->nr_frames || !gt->frame_gpa[frame])
		return NULL;
	uint64_t off = (ref % GNTTAB_ENTRIES_PER_FRAME) * sizeof(grant_entry_v1_t);
	grant_entry_v1_t *e = gt->fixed ? (void *)(gt->fixed + (gt->frame_gpa[frame] - gt->fixed_gpa) + off)
	                                : gmem_frame_ptr(&d->mem, gt->frame_gpa[frame] + off, sizeof(*e));
	if (!e)
		return NULL;
	*entry = e;
	/* flags (16 bits) then domid (16 bits): one aligned 32-bit word, as Xen cmpxchg's it. */
	return (uint32_t *)(void *)e;
}

static struct active *active_get(struct gnttab *gt, grant_ref_t ref, bool create)
{
	unsigned frame = ref / GNTTAB_ENTRIES_PER_FRAME;

	if (!gt->active[frame]) {
		if (!create)
			return NULL;
		gt->active[frame] = calloc(GNTTAB_ENTRIES_PER_FRAME, sizeof(struct active));
		if (!gt->active[frame])
			return NULL;
	}
	return &gt->active[frame][ref % GNTTAB_ENTRIES_PER_FRAME];
}

/*
 * Sets GTF_reading (and GTF_writing) in the shared entry if it grants
 * access to grantee, as Xen's _set_status_v1: the guest may rewrite the
 * entry concurrently, so the check and the update are one cmpxchg.
 */
static int16_t set_status(uint32_t *word, domid_t grantee, bool readonly)
{
	uint32_t old = __atomic_load_n(word, __ATOMIC_SEQ_CST);

	for (unsigned tries = 0; tries < PIN_RETRIES; tries++) {
		uint16_t flags = (uint16_t)old;
		domid_t dom = (domid_t)(old >> 16);
		if ((flags & GTF_type_mask) != GTF_permit_access || dom != grantee)
			return GNTST_general_error;
		uint16_t nflags = flags | GTF_reading;
		if (!readonly) {
			if (flags & GTF_readonly)
				return GNTST_general_error;   /* write-pin of a r/o grant */
			nflags |= GTF_writing;
		}
		uint32_t nw = (old & 0xffff0000u) | nflags;
		if (__atomic_compare_exchange_n(word, &old, nw, false, __ATOMIC_SEQ_CST,
		                                __ATOMIC_SEQ_CST))
			return GNTST_okay;
	}
	return GNTST_general_error;   /* "shared grant entry is unstable" */
}

static void clear_flags(uint32_t *word, uint16_t bits)
{
	__atomic_fetch_and(word, ~(uint32_t)bits, __ATOMIC_SEQ_CST);
}

/*
 * Pins ref of d for grantee (a map or a copy): checks the shared entry on
 * the first pin or the first writable pin, as Xen does. *gpa: the frame.
 */
static int16_t pin(struct domain *d, grant_ref_t ref, domid_t grantee, bool readonly,
                   uint64_t *gpa)
{
	struct gnttab *gt = gt_get(d);
	grant_entry_v1_t *e;
	int16_t st = GNTST_okay;

	if (!gt)
		return GNTST_general_error;
	pthread_mutex_lock(&gt->lock);
	uint32_t *word = entry_word(d, gt, ref, &e);
	struct active *act = word ? active_get(gt, ref, true) : NULL;
	if (!word) {
		st = GNTST_bad_gntref;
		goto out;
	}
	if (!act) {
		st = GNTST_no_device_space;
		goto out;
	}
	if (act->pin_ro + act->pin_rw == 0) {
		if ((st = set_status(word, grantee, readonly)) != GNTST_okay)
			goto out;
		uint64_t frame = __atomic_load_n(&e->frame, __ATOMIC_SEQ_CST);
		uint64_t fgpa = frame << 12;
		/* Only the guest's own RAM: never the builder's pages or beyond the memfd. */
		if (frame >= (1ull << 40) || !gmem_frame_ptr(&d->mem, fgpa, KXEN_PAGE_SIZE)) {
			clear_flags(word, GTF_reading | GTF_writing);
			st = GNTST_bad_page;
			goto out;
		}
		act->grantee = grantee;
		act->gpa = fgpa;
		gt->frame_pins[ref / GNTTAB_ENTRIES_PER_FRAME]++;
	} else {
		if (act->grantee != grantee) {
			st = GNTST_general_error;
			goto out;
		}
		if (!readonly && act->pin_rw == 0 &&
		    (st = set_status(word, grantee, false)) != GNTST_okay)
			goto out;
	}
	if (readonly)
		act->pin_ro++;
	else
		act->pin_rw++;
	*gpa = act->gpa;
out:
	pthread_mutex_unlock(&gt->lock);
	return st;
}

static void unpin(struct domain *d, grant_ref_t ref, bool readonly)
{
	struct gnttab *gt = d->gt;
	grant_entry_v1_t *e;

	if (!gt)
		return;
	pthread_mutex_lock(&gt->lock);
	struct active *act = active_get(gt, ref, false);
	uint32_t *word = entry_word(d, gt, ref, &e);
	if (!act || act->pin_ro + act->pin_rw == 0)
		goto out;
	if (readonly && act->pin_ro)
		act->pin_ro--;
	else if (!readonly && act->pin_rw)
		act->pin_rw--;
	/* The frame cannot move while pinned (gnttab_place_frame), so word is the entry we pinned. */
	if (word && act->pin_rw == 0)
		clear_flags(word, GTF_writing);
	if (act->pin_ro + act->pin_rw == 0) {
		if (word)
			clear_flags(word, GTF_reading);
		gt->frame_pins[ref / GNTTAB_ENTRIES_PER_FRAME]--;
	}
out:
	pthread_mutex_unlock(&gt->lock);
}

int gnttab_maptrack_create(domid_t mapper, struct gnttab_maptrack **out)
{
	struct gnttab_maptrack *mt = calloc(1, sizeof(*mt));

	if (!mt)
		return -ENOMEM;
	mt->mapper = mapper;
	mt->free_head = UINT32_MAX;
	*out = mt;
	return 0;
}

void gnttab_maptrack_destroy(struct gnttab_maptrack *mt)
{
	if (!mt)
		return;
	for (uint32_t h = 0; h < mt->nr; h++)
		if (mt->e[h].d)
			gnttab_unmap(mt, h);
	free(mt->e);
	free(mt);
}

unsigned gnttab_maptrack_count(const struct gnttab_maptrack *mt)
{
	return mt ? mt->used : 0;
}

bool gnttab_maptrack_holds(const struct gnttab_maptrack *mt, domid_t domid)
{
	for (uint32_t h = 0; mt && h < mt->nr; h++)
		if (mt->e[h].d && mt->e[h].d->domid == domid)
			return true;
	return false;
}

/* A free handle, growing the table up to the maptrack limit; UINT32_MAX when full. */
static uint32_t handle_alloc(struct gnttab_maptrack *mt)
{
	uint64_t limit = (uint64_t)gnttab_max_maptrack_frames * GNTTAB_MAPTRACK_PER_FRAME;

	if (mt->free_head != UINT32_MAX) {
		uint32_t h = mt->free_head;
		mt->free_head = mt->e[h].next_free;
		return h;
	}
	if (mt->nr >= limit)
		return UINT32_MAX;
	if (mt->nr == mt->cap) {
		uint64_t cap = mt->cap ? (uint64_t)mt->cap * 2 : GNTTAB_MAPTRACK_PER_FRAME;
		if (cap > limit)
			cap = limit;
		struct maptrack_entry *e = realloc(mt->e, cap * sizeof(*e));
		if (!e)
			return UINT32_MAX;
		mt->e = e;
		mt->cap = (uint32_t)cap;
	}
	return mt->nr++;
}

static void handle_free(struct gnttab_maptrack *mt, uint32_t h)
{
	mt->e[h].d = NULL;
	mt->e[h].next_free = mt->free_head;
	mt->free_head = h;
}

int16_t gnttab_map(struct gnttab_maptrack *mt, domid_t dom, grant_ref_t ref, bool readonly,
                   grant_handle_t *handle, uint64_t *gpa)
{
	struct domain *d;
	uint32_t h;
	int16_t st;

	if (dom == mt->mapper || dom >= DOMID_FIRST_RESERVED || !(d = domain_get(dom)))
		return GNTST_bad_domain;
	if (d->is_dom0 || atomic_load(&d->dying)) {
		st = GNTST_bad_domain;
		goto out;
	}
	if ((h = handle_alloc(mt)) == UINT32_MAX) {
		st = GNTST_no_device_space;
		goto out;
	}
	st = pin(d, ref, mt->mapper, readonly, gpa);
	if (st != GNTST_okay) {
		handle_free(mt, h);
		goto out;
	}
	/* Outside gt->lock: the move waits for the vCPUs, which may be in a grant hypercall. */
	if (gmem_window_get(d, *gpa / KXEN_PAGE_SIZE) < 0) {
		unpin(d, ref, readonly);
		handle_free(mt, h);
		st = GNTST_general_error;
		goto out;
	}
	mt->e[h] = (struct maptrack_entry){ .d = d, .gpa = *gpa, .ref = ref, .readonly = readonly };
	mt->used++;
	*handle = h;
	return GNTST_okay;   /* the entry keeps the domain reference */
out:
	domain_put(d);
	return st;
}

int16_t gnttab_unmap(struct gnttab_maptrack *mt, grant_handle_t handle)
{
	if (handle >= mt->nr || !mt->e[handle].d)
		return GNTST_bad_handle;
	struct maptrack_entry e = mt->e[handle];
	handle_free(mt, handle);
	mt->used--;
	/* Home before the grant can be ended: the guest never reuses a page still in the window. */
	gmem_window_put(e.d, e.gpa / KXEN_PAGE_SIZE);
	unpin(e.d, e.ref, e.readonly);
	domain_put(e.d);   /* a destroyed domain is freed with its last mapping, as in Xen */
	return GNTST_okay;
}

/* One side of a copy: a pinned foreign grant or a frame of the caller's own memory. */
struct copy_side {
	uint8_t *page;
	struct domain *d;            /* pinned grant: unpin and put afterwards */
	grant_ref_t ref;
	bool readonly;
};

static int16_t copy_acquire(const struct gnttab_local *self, const struct gnttab_copy_ptr *p,
                            bool gref, bool readonly, struct copy_side *s)
{
	domid_t dom = p->domid == DOMID_SELF ? self->domid : p->domid;
	uint64_t gpa;

	memset(s, 0, sizeof(*s));
	if (!gref) {
		/* A frame of our own: only our own domain may be named. */
		if (dom != self->domid)
			return GNTST_permission_denied;
		if (p->u.gmfn < self->min_frame || p->u.gmfn >= self->nr_frames)
			return GNTST_bad_page;
		s->page = self->base + p->u.gmfn * KXEN_PAGE_SIZE;
		return GNTST_okay;
	}
	if (dom >= DOMID_FIRST_RESERVED)
		return GNTST_bad_domain;
	struct domain *d = domain_get(dom);
	if (!d)
		return GNTST_bad_domain;
	if (d->is_dom0 || atomic_load(&d->dying)) {
		domain_put(d);
		return GNTST_bad_domain;
	}
	int16_t st = pin(d, p->u.ref, self->domid, readonly, &gpa);
	if (st != GNTST_okay) {
		domain_put(d);
		return st;
	}
	*s = (struct copy_side){ .page = gmem_frame_ptr(&d->mem, gpa, KXEN_PAGE_SIZE), .d = d,
	                         .ref = p->u.ref, .readonly = readonly };
	return GNTST_okay;
}

static void copy_release(struct copy_side *s)
{
	if (s->d) {
		unpin(s->d, s->ref, s->readonly);
		domain_put(s->d);
	}
}

int16_t gnttab_copy(const struct gnttab_local *self, struct gnttab_copy *op)
{
	struct copy_side src, dst;
	int16_t st;

	if (op->flags & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref) ||
	    (uint32_t)op->source.offset + op->len > KXEN_PAGE_SIZE ||
	    (uint32_t)op->dest.offset + op->len > KXEN_PAGE_SIZE)
		return op->status = GNTST_bad_copy_arg;
	st = copy_acquire(self, &op->source, op->flags & GNTCOPY_source_gref, true, &src);
	if (st != GNTST_okay)
		return op->status = st;
	st = copy_acquire(self, &op->dest, op->flags & GNTCOPY_dest_gref, false, &dst);
	if (st == GNTST_okay) {
		/* Source and destination may be the same page: memmove. */
		memmove(dst.page + op->dest.offset, src.page + op->source.offset, op->len);
		copy_release(&dst);
	}
	copy_release(&src);
	return op->status = st;
}
