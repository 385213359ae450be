/* blkfront: the guest's block frontend (Xen's blkif over xenbus), synchronous I/O for apps (docs/block.md). */
#ifndef GUEST_BLKFRONT_H
#define GUEST_BLKFRONT_H

#include "kernel.h"
#include "sched.h"

/* The barriers <xen/io/ring.h> leaves to its includer at our interface version. x86: loads are not reordered with loads, nor stores with stores. */
#define xen_mb()  mb()
#define xen_rmb() barrier()
#define xen_wmb() barrier()
#define rmb()     barrier()
#include <xen/grant_table.h>
#include <xen/io/ring.h>
#include <xen/io/blkif.h>

#define BLKFRONT_SLOTS      32    /* requests in flight at most */
#define BLKFRONT_BOUNCE     4     /* slots 0..3 also have bounce pages, for buffers that cannot be granted */
#define BLKFRONT_MAX_SEGS   256   /* per request when the backend takes indirect segments */
/* Pages of callers' buffers granted to the backend and kept granted (zero copy); past this, bounce. */
#define BLKFRONT_MAX_ZC     2560
#define BLKFRONT_ZC_HASH    8192  /* open addressing, at most a third full */

/* What the backend offered and we negotiated. */
struct blkfront_info {
	uint64_t sectors;          /* in 512-byte units */
	unsigned sector_size;
	bool readonly, flush, discard, persistent;
	unsigned max_segs;         /* per request: 11, or the indirect maximum we use */
	unsigned ring_pages;
	unsigned devid;
	domid_t backend_id;
};

struct blkfront_slot {
	bool busy;
	int status;                /* BLKIF_RSP_* once done */
	bool done;
	void *pages;               /* bounce slots: max_segs contiguous pages, granted once (persistent); else NULL */
	grant_ref_t *grefs;
	void *ind;                 /* the indirect segment page */
	grant_ref_t ind_gref;
	/* Where a bounced read's data goes when it completes (NULL: zero copy, or a write). */
	void *dst;
	size_t len;
};

struct blkfront {
	struct blkfront_info info;
	char node[48];             /* device/vbd/N */
	char backend[96];
	blkif_front_ring_t ring;
	void *ring_mem;
	grant_ref_t ring_refs[16];
	evtchn_port_t port;
	struct waitq wq;
	volatile bool dead;        /* backend closing or broken: every request fails */
	volatile bool closing;
	char watch_token[32];
	struct blkfront_slot slot[BLKFRONT_SLOTS];
	unsigned inflight;
	/* Callers' pages granted for zero copy: gfn -> ref (gfn 0 = empty slot; page 0 is never a buffer). */
	struct blkfront_zc { uint64_t gfn; grant_ref_t ref; } *zc;
	unsigned nr_zc;
	bool zc_off;               /* every request through the bounce pages (blkfront_set_copy) */
	/*
	 * Before blocking for a response, poll the ring this long with the
	 * backend's notification suppressed (0: block at once). A response in
	 * time then costs no exit; on kvm_pvm a block and its wake-up cost two.
	 */
	uint64_t spin_ns;
	/*
	 * spin_auto: spin_ns adapts as KVM's halt polling does: after a wait
	 * that blocked, it grows (to BLKFRONT_SPIN_MAX_NS at most) if the
	 * response came within that maximum, and halves (to 0) if it did not;
	 * a won spin leaves it. Waits for more than one response never spin.
	 */
	bool spin_auto;
	/* Counters for the apps' reports. */
	uint64_t notifies, requests, events, bounced, spins_won, spins_lost;
};

#define BLKFRONT_SPIN_MIN_NS  10000ull
#define BLKFRONT_SPIN_MAX_NS  200000ull

/*
 * Connects to vbd devid (0: the first device listed under device/vbd),
 * waiting up to timeout_ns for the backend, with a ring of up to
 * 2^ring_order pages. Returns 0 or a negative Xen errno (printed).
 * Call from a thread of vCPU 0 (xenbus).
 */
int blkfront_open(unsigned devid, unsigned ring_order, uint64_t timeout_ns, struct blkfront **out);

/*
 * Reads or writes len bytes (a multiple of 512) at sector through up to
 * BLKFRONT_SLOTS requests in flight, each as large as the backend allows.
 * A 512-aligned buf is used in place: its pages are granted to the backend
 * on first use and stay granted (and mapped by a persistent-grant backend)
 * until the guest ends, so pass buffers that live as long. Others go through
 * the bounce pages (a copy, BLKFRONT_BOUNCE requests in flight).
 * 0, -XEN_EIO when the backend answered an error, -XEN_ENODEV once the
 * device is closing, -XEN_ETIMEDOUT without an answer for 30 s.
 */
int blkfront_rw(struct blkfront *bf, bool write, uint64_t sector, void *buf, size_t len);
/*
 * n separate transfers of len bytes (whole pages, at most max_segs of them)
 * at sectors[i] to or from bufs[i] (page-aligned), one request each, as
 * many in flight as the slots and the ring allow (queue depth up to
 * BLKFRONT_SLOTS): one notification per batch queued, one wake-up when the
 * last answers are all that is left. Returns as blkfront_rw does.
 */
int blkfront_rw_vec(struct blkfront *bf, bool write, const uint64_t *sectors, void *const *bufs,
                    size_t len, unsigned n);
/* copy = true: every request through the bounce pages, never granting the caller's buffer (for measurements). */
void blkfront_set_copy(struct blkfront *bf, bool copy);
/* BLKIF_OP_FLUSH_DISKCACHE: returns once the backend says the data is durable. */
int blkfront_flush(struct blkfront *bf);
/* BLKIF_OP_DISCARD of nr sectors. */
int blkfront_discard(struct blkfront *bf, uint64_t sector, uint64_t nr);
/* The close sequence from our side: Closing, wait for the backend, Closed. */
void blkfront_close(struct blkfront *bf);

/* For the hostile-frontend tests: queue req as it is (id = a slot) and push; 0 or -errno. */
int blkfront_raw_submit(struct blkfront *bf, const blkif_request_t *req);
/* Waits for the response to a raw request; its status, or -XEN_ETIMEDOUT / -XEN_ENODEV. */
int blkfront_raw_wait(struct blkfront *bf, uint64_t timeout_ns);

#endif
