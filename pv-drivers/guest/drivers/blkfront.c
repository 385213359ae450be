/* blkfront: xenbus handshake with the vbd backend, a multi-page ring, persistent grants, zero-copy and bounced requests (indirect when large), the close sequence. */
#include "blkfront.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "kstring.h"
#include "mm.h"
#include "xenbus.h"
#include <xen/io/xenbus.h>
#include <xen/io/protocols.h>

#define GNT_FRAMES      16                    /* 8192 refs: rings, indirect and bounce pages, zero-copy grants */
#define IO_TIMEOUT_NS   (30 * NSEC_PER_SEC)
#define CLOSE_WAIT_NS   (10 * NSEC_PER_SEC)

static void bf_event(evtchn_port_t port, void *arg)
{
	struct blkfront *bf = arg;

	(void)port;
	bf->events++;
	wake_up(&bf->wq);
}

static int read_state(const char *dir)
{
	char path[128];
	unsigned long s;

	snprintf(path, sizeof(path), "%s/state", dir);
	return xenbus_read_ulong(XBT_NIL, path, &s) < 0 ? -1 : (int)s;
}

static unsigned long read_ul(const char *dir, const char *key, unsigned long dflt)
{
	char path[128];
	unsigned long v;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xenbus_read_ulong(XBT_NIL, path, &v) < 0 ? dflt : v;
}

/* Polls (20 ms) until the backend's state is in [lo, hi]; returns it, -XEN_ENODEV for a closing backend, -XEN_ETIMEDOUT at the deadline. */
static int wait_backend(struct blkfront *bf, int lo, int hi, uint64_t timeout_ns)
{
	uint64_t deadline = clock_now_ns() + timeout_ns;

	for (;;) {
		int s = read_state(bf->backend);

		if (s >= lo && s <= hi)
			return s;
		if (s >= XenbusStateClosing && lo < XenbusStateClosing)
			return -XEN_ENODEV;
		if (clock_now_ns() >= deadline)
			return -XEN_ETIMEDOUT;
		msleep(20);
	}
}

static int set_state(struct blkfront *bf, int s)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/state", bf->node);
	return xenbus_printf(XBT_NIL, path, "%d", s);
}

/* The backend going to Closing (hot-unplug): fail new I/O and walk our half of the close. */
static void backend_changed(const char *path, const char *token, void *arg)
{
	struct blkfront *bf = arg;
	int s = read_state(bf->backend);

	(void)path;
	(void)token;
	if (s != XenbusStateClosing && s != XenbusStateClosed)
		return;
	if (bf->closing)
		return;
	bf->closing = true;
	bf->dead = true;
	wake_up(&bf->wq);
	printk("blkfront: %s: backend is closing; closing\n", bf->node);
	set_state(bf, XenbusStateClosing);
	set_state(bf, XenbusStateClosed);
}

static int publish(xenbus_transaction_t t, void *arg)
{
	struct blkfront *bf = arg;
	char path[96];
	int rc;

#define P(key, ...) do { snprintf(path, sizeof(path), "%s/" key, bf->node); \
	if ((rc = xenbus_printf(t, path, __VA_ARGS__)) < 0) return rc; } while (0)
	if (bf->info.ring_pages == 1) {
		P("ring-ref", "%u", bf->ring_refs[0]);
	} else {
		P("ring-page-order", "%u", __builtin_ctz(bf->info.ring_pages));
		for (unsigned i = 0; i < bf->info.ring_pages; i++) {
			snprintf(path, sizeof(path), "%s/ring-ref%u", bf->node, i);
			if ((rc = xenbus_printf(t, path, "%u", bf->ring_refs[i])) < 0)
				return rc;
		}
	}
	P("event-channel", "%u", bf->port);
	P("protocol", "%s", XEN_IO_PROTO_ABI_X86_64);
	P("feature-persistent", "%u", 1u);
	P("state", "%d", XenbusStateInitialised);
#undef P
	return 0;
}

/* Every slot's indirect page and the bounce slots' data pages, granted once for the device's life (persistent grants). */
static int setup_slots(struct blkfront *bf)
{
	domid_t be = bf->info.backend_id;

	bf->zc = calloc(BLKFRONT_ZC_HASH, sizeof(*bf->zc));
	if (!bf->zc)
		return -XEN_ENOMEM;
	for (unsigned i = 0; i < BLKFRONT_SLOTS; i++) {
		struct blkfront_slot *s = &bf->slot[i];
		unsigned n = i < BLKFRONT_BOUNCE ? bf->info.max_segs : 0;
		int r;

		s->ind = alloc_pages(1, 1);
		if (!s->ind)
			return -XEN_ENOMEM;
		if (n) {
			s->pages = alloc_pages(n, 1);
			s->grefs = malloc(n * sizeof(*s->grefs));
			if (!s->pages || !s->grefs)
				return -XEN_ENOMEM;
		}
		for (unsigned k = 0; k < n; k++) {
			r = gnttab_grant_foreign_access(be, ((uint64_t)s->pages >> PAGE_SHIFT) + k, false);
			if (r < 0)
				return r;
			s->grefs[k] = (grant_ref_t)r;
		}
		/* Read-write like the data pages: a persistent-grant backend maps everything writable (as Linux's). */
		r = gnttab_grant_foreign_access(be, (uint64_t)s->ind >> PAGE_SHIFT, false);
		if (r < 0)
			return r;
		s->ind_gref = (grant_ref_t)r;
	}
	return 0;
}

int blkfront_open(unsigned devid, unsigned ring_order, uint64_t timeout_ns, struct blkfront **out)
{
	struct blkfront *bf = calloc(1, sizeof(*bf));
	char path[96], *val = NULL;
	unsigned long v;
	int rc;

	if (!bf)
		return -XEN_ENOMEM;
	rc = gnttab_init(GNT_FRAMES);
	if (rc < 0 && rc != -XEN_EEXIST) {
		printk("blkfront: grant table: %d\n", rc);
		goto out;
	}
	if (devid == 0) {
		/* The first device, waiting for the toolstack to add one. */
		uint64_t deadline = clock_now_ns() + timeout_ns;
		for (;;) {
			char **list;
			unsigned n;

			if (xenbus_directory(XBT_NIL, "device/vbd", &list, &n) == 0 && n > 0) {
				devid = (unsigned)strtoul(list[0], NULL, 10);
				free(list);
				break;
			}
			if (clock_now_ns() >= deadline) {
				printk("blkfront: no vbd device appeared under device/vbd\n");
				rc = -XEN_ENODEV;
				goto out;
			}
			msleep(20);
		}
	}
	bf->info.devid = devid;
	snprintf(bf->node, sizeof(bf->node), "device/vbd/%u", devid);
	snprintf(path, sizeof(path), "%s/backend", bf->node);
	if ((rc = xenbus_read(XBT_NIL, path, &val, NULL)) < 0) {
		printk("blkfront: %s: no backend key (%d)\n", bf->node, rc);
		goto out;
	}
	strlcpy(bf->backend, val, sizeof(bf->backend));
	free(val);
	snprintf(path, sizeof(path), "%s/backend-id", bf->node);
	if ((rc = xenbus_read_ulong(XBT_NIL, path, &v)) < 0)
		goto out;
	bf->info.backend_id = (domid_t)v;
	if (wait_backend(bf, XenbusStateInitWait, XenbusStateConnected, timeout_ns) < 0) {
		printk("blkfront: %s: backend %s did not reach InitWait\n", bf->node, bf->backend);
		rc = -XEN_ETIMEDOUT;
		goto out;
	}
	/* What the backend offers (blkif.h). */
	unsigned max_order = (unsigned)read_ul(bf->backend, "max-ring-page-order", 0);
	unsigned order = MIN(ring_order, MIN(max_order, 4u));
	unsigned long ind = read_ul(bf->backend, "feature-max-indirect-segments", 0);

	bf->info.max_segs = ind > BLKIF_MAX_SEGMENTS_PER_REQUEST ? (unsigned)MIN(ind, BLKFRONT_MAX_SEGS)
	                                                         : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	bf->info.persistent = read_ul(bf->backend, "feature-persistent", 0) == 1;
	bf->info.ring_pages = 1u << order;
	bf->ring_mem = alloc_pages(bf->info.ring_pages, bf->info.ring_pages);
	if (!bf->ring_mem) {
		rc = -XEN_ENOMEM;
		goto out;
	}
	memset(bf->ring_mem, 0, bf->info.ring_pages * PAGE_SIZE);
	SHARED_RING_INIT((blkif_sring_t *)bf->ring_mem);
	FRONT_RING_INIT(&bf->ring, (blkif_sring_t *)bf->ring_mem, bf->info.ring_pages * PAGE_SIZE);
	for (unsigned i = 0; i < bf->info.ring_pages; i++) {
		rc = gnttab_grant_foreign_access(bf->info.backend_id,
		                                 ((uint64_t)bf->ring_mem >> PAGE_SHIFT) + i, false);
		if (rc < 0)
			goto out;
		bf->ring_refs[i] = (grant_ref_t)rc;
	}
	if ((rc = setup_slots(bf)) < 0) {
		printk("blkfront: cannot set up the request buffers: %d\n", rc);
		goto out;
	}
	rc = evtchn_alloc_unbound(bf->info.backend_id, bf_event, bf);
	if (rc < 0)
		goto out;
	bf->port = (evtchn_port_t)rc;
	if ((rc = xenbus_transaction_run(publish, bf, 0, NULL)) < 0) {
		printk("blkfront: %s: cannot publish the ring: %d\n", bf->node, rc);
		goto out;
	}
	if (wait_backend(bf, XenbusStateConnected, XenbusStateConnected, timeout_ns) < 0) {
		printk("blkfront: %s: backend did not connect (state %d)\n", bf->node,
		       read_state(bf->backend));
		rc = -XEN_EIO;
		goto out;
	}
	bf->info.sectors = read_ul(bf->backend, "sectors", 0);
	bf->info.sector_size = (unsigned)read_ul(bf->backend, "sector-size", 512);
	bf->info.readonly = read_ul(bf->backend, "info", 0) & VDISK_READONLY;
	bf->info.flush = read_ul(bf->backend, "feature-flush-cache", 0) == 1;
	bf->info.discard = read_ul(bf->backend, "feature-discard", 0) == 1;
	snprintf(bf->watch_token, sizeof(bf->watch_token), "blkfront-%u", devid);
	snprintf(path, sizeof(path), "%s/state", bf->backend);
	if ((rc = xenbus_watch(path, bf->watch_token, backend_changed, bf)) < 0)
		goto out;
	if ((rc = set_state(bf, XenbusStateConnected)) < 0)
		goto out;
	*out = bf;
	return 0;
out:
	/* What was granted stays granted: a failed open is the end of this guest's test. */
	return rc < 0 ? rc : -XEN_EIO;
}

/* A free slot: with bounce pages when asked, else preferably one without (they are kept for bounced requests). -1 if none. */
static int free_slot(struct blkfront *bf, bool bounce)
{
	for (unsigned i = bounce ? 0 : BLKFRONT_BOUNCE; i < (bounce ? BLKFRONT_BOUNCE : BLKFRONT_SLOTS); i++)
		if (!bf->slot[i].busy)
			return (int)i;
	if (bounce)
		return -1;
	for (unsigned i = 0; i < BLKFRONT_BOUNCE; i++)
		if (!bf->slot[i].busy)
			return (int)i;
	return -1;
}

/* Takes every response off the ring; a read's data is copied out of its slot. */
static void reap(struct blkfront *bf)
{
	int more;

	do {
		RING_IDX rp = bf->ring.sring->rsp_prod;

		rmb();
		for (RING_IDX i = bf->ring.rsp_cons; i != rp; i++) {
			blkif_response_t *r = RING_GET_RESPONSE(&bf->ring, i);
			uint64_t id = r->id;

			if (id >= BLKFRONT_SLOTS || !bf->slot[id].busy || bf->slot[id].done) {
				printk("blkfront: backend answered unknown request %lu\n", (unsigned long)id);
				continue;
			}
			struct blkfront_slot *s = &bf->slot[id];
			s->status = r->status;
			s->done = true;
			if (s->dst && r->status == BLKIF_RSP_OKAY)   /* bounced read */
				memcpy(s->dst, s->pages, s->len);
		}
		bf->ring.rsp_cons = rp;
		RING_FINAL_CHECK_FOR_RESPONSES(&bf->ring, more);
	} while (more);
}

static void push(struct blkfront *bf)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bf->ring, notify);
	if (notify) {
		bf->notifies++;
		evtchn_send(bf->port);
	}
}

static bool any_done(struct blkfront *bf)
{
	for (unsigned i = 0; i < BLKFRONT_SLOTS; i++)
		if (bf->slot[i].busy && bf->slot[i].done)
			return true;
	return false;
}

/*
 * Polls the ring for up to bf->spin_ns in ring 3 (no exit) with rsp_event
 * moved past every possible response, so the backend does not notify a
 * response that the poll will find anyway. Restores rsp_event either way;
 * true if a response came.
 */
static bool spin_for_response(struct blkfront *bf)
{
	RING_IDX ev = bf->ring.sring->rsp_event;
	uint64_t end = clock_now_ns() + bf->spin_ns;
	bool won = false;

	bf->ring.sring->rsp_event = bf->ring.rsp_cons + RING_SIZE(&bf->ring) + 1;
	mb();
	while (!(won = RING_HAS_UNCONSUMED_RESPONSES(&bf->ring)) && !bf->dead && clock_now_ns() < end)
		__asm__ volatile("pause" ::: "memory");
	bf->ring.sring->rsp_event = ev;
	mb();
	/* A response that landed while the events were off is seen here, not lost. */
	won = won || RING_HAS_UNCONSUMED_RESPONSES(&bf->ring);
	if (won)
		bf->spins_won++;
	else
		bf->spins_lost++;
	return won;
}

/* After a wait that blocked for waited ns (spin included): blkfront.h's spin_auto. */
static void spin_adapt(struct blkfront *bf, uint64_t waited)
{
	if (waited <= BLKFRONT_SPIN_MAX_NS) {
		bf->spin_ns = bf->spin_ns ? bf->spin_ns * 2 : BLKFRONT_SPIN_MIN_NS;
		if (bf->spin_ns > BLKFRONT_SPIN_MAX_NS)
			bf->spin_ns = BLKFRONT_SPIN_MAX_NS;
	} else {
		bf->spin_ns /= 2;
		if (bf->spin_ns < BLKFRONT_SPIN_MIN_NS)
			bf->spin_ns = 0;
	}
}

/*
 * Waits until some slot completes; -XEN_ENODEV once closing, -XEN_ETIMEDOUT.
 * want > 1 asks the backend to notify only once that many more responses
 * are out (rsp_event): a caller that needs them all is woken once, not per
 * response; one already out is still seen without a notification.
 */
static int wait_some(struct blkfront *bf, unsigned want)
{
	for (;;) {
		reap(bf);
		if (any_done(bf))
			return 0;
		if (bf->dead)
			return -XEN_ENODEV;
		if (want > 1) {
			bf->ring.sring->rsp_event = bf->ring.rsp_cons + want;
			mb();
			if (RING_HAS_UNCONSUMED_RESPONSES(&bf->ring))
				continue;
		}
		uint64_t t0 = clock_now_ns();

		if (bf->spin_ns && want <= 1 && spin_for_response(bf))
			continue;
		if (wait_event_timeout(&bf->wq, RING_HAS_UNCONSUMED_RESPONSES(&bf->ring) || bf->dead,
		                       IO_TIMEOUT_NS) < 0)
			return -XEN_ETIMEDOUT;
		if (bf->spin_auto && want <= 1)
			spin_adapt(bf, clock_now_ns() - t0);
	}
}

/* Fills slot si's request of nsegs segments at sector (a write's data already where the segments point). */
static void queue(struct blkfront *bf, unsigned si, uint8_t op, uint64_t sector,
                  const struct blkif_request_segment *seg, unsigned nsegs)
{
	struct blkfront_slot *s = &bf->slot[si];
	blkif_request_t *req = RING_GET_REQUEST(&bf->ring, bf->ring.req_prod_pvt);

	s->busy = true;
	s->done = false;
	if (nsegs > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		blkif_request_indirect_t *ind = (blkif_request_indirect_t *)req;

		memcpy(s->ind, seg, nsegs * sizeof(*seg));
		ind->operation = BLKIF_OP_INDIRECT;
		ind->indirect_op = op;
		ind->nr_segments = (uint16_t)nsegs;
		ind->id = si;
		ind->sector_number = sector;
		ind->handle = (blkif_vdev_t)bf->info.devid;
		ind->indirect_grefs[0] = s->ind_gref;
	} else {
		req->operation = op;
		req->nr_segments = (uint8_t)nsegs;
		req->handle = (blkif_vdev_t)bf->info.devid;
		req->id = si;
		req->sector_number = sector;
		memcpy(req->seg, seg, nsegs * sizeof(*seg));
	}
	bf->ring.req_prod_pvt++;
	bf->inflight++;
	bf->requests++;
}

/* The ref of our page gfn granted for zero copy, granting it now if there is room; -1 if not. */
static long zc_ref(struct blkfront *bf, uint64_t gfn)
{
	unsigned h = (unsigned)((gfn * 0x9e3779b97f4a7c15ULL) >> 51) % BLKFRONT_ZC_HASH;
	int r;

	while (bf->zc[h].gfn && bf->zc[h].gfn != gfn)
		h = (h + 1) % BLKFRONT_ZC_HASH;
	if (bf->zc[h].gfn)
		return bf->zc[h].ref;
	if (bf->nr_zc >= BLKFRONT_MAX_ZC)
		return -XEN_ENOSPC;
	/* Read-write whatever the op: a persistent-grant backend maps everything writable. Never ended: the backend keeps it mapped. */
	r = gnttab_grant_foreign_access(bf->info.backend_id, gfn, false);
	if (r < 0)
		return r;
	bf->zc[h].gfn = gfn;
	bf->zc[h].ref = (grant_ref_t)r;
	bf->nr_zc++;
	return r;
}

/*
 * Segments for n bytes at p (512-aligned) in the caller's own pages;
 * *n is cut to what max_segs pages hold. Their count, or 0 when a page
 * cannot be granted (the caller bounces).
 */
static unsigned zc_segs(struct blkfront *bf, const char *p, size_t *n,
                        struct blkif_request_segment *seg)
{
	uint64_t a = (uint64_t)p, lead = a % PAGE_SIZE;
	size_t room = (size_t)bf->info.max_segs * PAGE_SIZE - lead, left;
	unsigned k = 0;

	if (*n > room)
		*n = room;
	left = *n;
	for (uint64_t pa = a; left; k++) {
		size_t in_page = MIN(left, PAGE_SIZE - pa % PAGE_SIZE);
		long ref = zc_ref(bf, pa >> PAGE_SHIFT);

		if (ref < 0)
			return 0;
		seg[k] = (struct blkif_request_segment){
			.gref = (grant_ref_t)ref, .first_sect = (uint8_t)(pa % PAGE_SIZE / 512),
			.last_sect = (uint8_t)((pa % PAGE_SIZE + in_page) / 512 - 1) };
		pa += in_page;
		left -= in_page;
	}
	return k;
}

/* Segments over bounce slot si's pages for n bytes (at most max_segs pages). */
static unsigned bounce_segs(struct blkfront *bf, unsigned si, size_t n,
                            struct blkif_request_segment *seg)
{
	unsigned segs = (unsigned)((n + PAGE_SIZE - 1) / PAGE_SIZE);

	for (unsigned k = 0; k < segs; k++) {
		size_t left = n - (size_t)k * PAGE_SIZE;
		seg[k] = (struct blkif_request_segment){
			.gref = bf->slot[si].grefs[k], .first_sect = 0,
			.last_sect = (uint8_t)((MIN(left, PAGE_SIZE) + 511) / 512 - 1) };
	}
	return segs;
}

/* Frees completed slots; returns the first error status seen (or 0). */
static int retire(struct blkfront *bf)
{
	int rc = 0;

	for (unsigned i = 0; i < BLKFRONT_SLOTS; i++) {
		struct blkfront_slot *s = &bf->slot[i];

		if (!s->busy || !s->done)
			continue;
		if (s->status != BLKIF_RSP_OKAY && !rc)
			rc = s->status == BLKIF_RSP_EOPNOTSUPP ? -XEN_EOPNOTSUPP : -XEN_EIO;
		s->busy = false;
		s->dst = NULL;
		bf->inflight--;
	}
	return rc;
}

/*
 * Queues the next piece of a transfer at buf (len bytes) in one request:
 * zero copy when buf is 512-aligned and its pages can be granted, else
 * through a bounce slot. Returns the bytes queued, or 0 when no slot fits.
 */
static size_t queue_piece(struct blkfront *bf, bool write, uint64_t sector, char *buf, size_t len)
{
	struct blkif_request_segment seg[BLKFRONT_MAX_SEGS];
	uint8_t op = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
	size_t n = len;
	unsigned nsegs = 0;
	int si;

	if (!bf->zc_off && (uint64_t)buf % 512 == 0 && (si = free_slot(bf, false)) >= 0 &&
	    (nsegs = zc_segs(bf, buf, &n, seg))) {
		bf->slot[si].dst = NULL;
		queue(bf, (unsigned)si, op, sector, seg, nsegs);
		return n;
	}
	if ((si = free_slot(bf, true)) < 0)
		return 0;
	n = MIN(len, (size_t)bf->info.max_segs * PAGE_SIZE);
	struct blkfront_slot *s = &bf->slot[si];
	if (write)
		memcpy(s->pages, buf, n);
	s->dst = write ? NULL : buf;
	s->len = n;
	nsegs = bounce_segs(bf, (unsigned)si, n, seg);
	queue(bf, (unsigned)si, op, sector, seg, nsegs);
	bf->bounced++;
	return n;
}

/*
 * What a transfer still has to queue: one contiguous range (n == 0), or n
 * separate pieces of len bytes each, one request apiece (blkfront_rw_vec).
 */
struct xfer {
	bool write;
	uint64_t sector;
	char *buf;
	size_t len, off;
	const uint64_t *sectors;
	void *const *bufs;
	unsigned n, next;
};

static bool xfer_left(const struct xfer *x)
{
	return x->n ? x->next < x->n : x->off < x->len;
}

/* Queues the transfer's next request; false when no slot fits it now. */
static bool xfer_queue(struct blkfront *bf, struct xfer *x)
{
	if (x->n) {
		if (!queue_piece(bf, x->write, x->sectors[x->next], x->bufs[x->next], x->len))
			return false;
		x->next++;
		return true;
	}
	size_t q = queue_piece(bf, x->write, x->sector + x->off / 512, x->buf + x->off, x->len - x->off);
	x->off += q;
	return q != 0;
}

static int xfer_run(struct blkfront *bf, struct xfer *x)
{
	int rc = 0, r;

	while ((xfer_left(x) || bf->inflight) && !rc) {
		bool queued = false;

		if (bf->dead)
			return -XEN_ENODEV;
		while (xfer_left(x) && !RING_FULL(&bf->ring) && xfer_queue(bf, x))
			queued = true;
		/* One notification for the whole batch, and only if the backend sleeps. */
		if (queued)
			push(bf);
		/* With nothing left to queue, every answer is needed: one wake-up for all of them. */
		if ((r = wait_some(bf, xfer_left(x) ? 1 : bf->inflight)) < 0)
			return r;
		rc = retire(bf);
	}
	/* An error leaves others in flight: wait them out so the slots are free again. */
	while (bf->inflight && wait_some(bf, 1) == 0)
		retire(bf);
	return rc;
}

int blkfront_rw(struct blkfront *bf, bool write, uint64_t sector, void *buf, size_t len)
{
	struct xfer x = { .write = write, .sector = sector, .buf = buf, .len = len };

	if (len % 512)
		return -XEN_EINVAL;
	return xfer_run(bf, &x);
}

int blkfront_rw_vec(struct blkfront *bf, bool write, const uint64_t *sectors, void *const *bufs,
                    size_t len, unsigned n)
{
	struct xfer x = { .write = write, .sectors = sectors, .bufs = bufs, .len = len, .n = n };

	if (len % 512 || len == 0 || len > (size_t)bf->info.max_segs * PAGE_SIZE)
		return -XEN_EINVAL;
	for (unsigned i = 0; i < n; i++)
		if ((uint64_t)bufs[i] % PAGE_SIZE)   /* a piece must be one request: whole pages */
			return -XEN_EINVAL;
	return xfer_run(bf, &x);
}

void blkfront_set_copy(struct blkfront *bf, bool copy)
{
	bf->zc_off = copy;
}

/* One segment-less request (flush, discard), waited for. */
static int simple(struct blkfront *bf, blkif_request_t *tmpl)
{
	int si, rc;

	if (bf->dead)
		return -XEN_ENODEV;
	while ((si = free_slot(bf, false)) < 0)
		if ((rc = wait_some(bf, 1)) < 0)
			return rc;
	struct blkfront_slot *s = &bf->slot[si];
	blkif_request_t *req = RING_GET_REQUEST(&bf->ring, bf->ring.req_prod_pvt);

	memcpy(req, tmpl, sizeof(*req));
	req->id = (uint64_t)si;
	s->busy = true;
	s->done = false;
	s->dst = NULL;
	bf->ring.req_prod_pvt++;
	bf->inflight++;
	bf->requests++;
	push(bf);
	while (!s->done)
		if ((rc = wait_some(bf, 1)) < 0)
			return rc;
	return retire(bf);
}

int blkfront_flush(struct blkfront *bf)
{
	blkif_request_t req = { .operation = BLKIF_OP_FLUSH_DISKCACHE, .nr_segments = 0,
	                        .handle = (blkif_vdev_t)bf->info.devid };

	return simple(bf, &req);
}

int blkfront_discard(struct blkfront *bf, uint64_t sector, uint64_t nr)
{
	blkif_request_t req;
	blkif_request_discard_t *d = (blkif_request_discard_t *)&req;

	memset(&req, 0, sizeof(req));
	d->operation = BLKIF_OP_DISCARD;
	d->handle = (blkif_vdev_t)bf->info.devid;
	d->sector_number = sector;
	d->nr_sectors = nr;
	return simple(bf, &req);
}

int blkfront_raw_submit(struct blkfront *bf, const blkif_request_t *tmpl)
{
	int si = free_slot(bf, false);

	if (si < 0 || bf->dead)
		return -XEN_EBUSY;
	blkif_request_t *req = RING_GET_REQUEST(&bf->ring, bf->ring.req_prod_pvt);
	memcpy(req, tmpl, sizeof(*req));
	req->id = (uint64_t)si;
	bf->slot[si].busy = true;
	bf->slot[si].done = false;
	bf->slot[si].dst = NULL;
	bf->ring.req_prod_pvt++;
	bf->inflight++;
	push(bf);
	return si;
}

int blkfront_raw_wait(struct blkfront *bf, uint64_t timeout_ns)
{
	uint64_t deadline = clock_now_ns() + timeout_ns;

	for (;;) {
		reap(bf);
		for (unsigned i = 0; i < BLKFRONT_SLOTS; i++) {
			struct blkfront_slot *s = &bf->slot[i];
			if (s->busy && s->done) {
				int st = s->status;
				s->busy = false;
				bf->inflight--;
				return st;
			}
		}
		if (bf->dead)
			return -XEN_ENODEV;
		if (clock_now_ns() >= deadline)
			return -XEN_ETIMEDOUT;
		wait_event_timeout(&bf->wq, RING_HAS_UNCONSUMED_RESPONSES(&bf->ring) || bf->dead,
		                   deadline - clock_now_ns());
	}
}

void blkfront_close(struct blkfront *bf)
{
	if (bf->closing)
		return;
	bf->closing = true;
	bf->dead = true;
	xenbus_unwatch(bf->watch_token);
	set_state(bf, XenbusStateClosing);
	if (wait_backend(bf, XenbusStateClosing, XenbusStateClosed, CLOSE_WAIT_NS) < 0)
		printk("blkfront: %s: backend did not close\n", bf->node);
	set_state(bf, XenbusStateClosed);
}
