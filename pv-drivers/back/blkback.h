/* The block backend (vbd) of kxen-backd: request parsing, the per-device I/O worker and the xenbus side (docs/block.md). */
#ifndef BLKBACK_H
#define BLKBACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

/* The barriers <xen/io/ring.h> expects its includer to define (x86: stores are ordered, loads after loads too). */
#define mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#include <xen/io/ring.h>
#include <xen/io/blkif.h>

#define BLK_SECTOR            512u
#define BLK_PAGE              4096u
#define BLK_SECTORS_PER_PAGE  (BLK_PAGE / BLK_SECTOR)
/* What we advertise: 16-page rings, 1 MiB requests (one indirect page of segments). */
#define BLK_MAX_RING_ORDER    4u
#define BLK_MAX_RING_SLOTS    512u   /* a 16-page blkif ring: (65536 - 64) / 112 rounded down to 2^n */
#define BLK_MAX_INDIRECT_SEGS 256u
#define BLK_SEGS_PER_IND_PAGE (BLK_PAGE / sizeof(struct blkif_request_segment))
/* Persistent grants kept mapped per device; beyond this, requests map and unmap their pages. */
#define BLK_MAX_PERSISTENT    4096u

/* ---- blkback_req.c: requests and the ring consumer, no I/O (tests/unit/test_blkback) ---- */

/* What a device allows; a request is checked against it before any grant is touched. */
struct blkreq_limits {
	uint64_t sectors;          /* disk size in 512-byte sectors */
	bool readonly;
	bool discard;              /* feature-discard advertised */
	unsigned max_indirect;     /* feature-max-indirect-segments */
};

struct blkreq_seg {
	grant_ref_t gref;
	uint8_t first, last;       /* sectors within the page, first <= last < 8 */
};

/* A request in the backend's own memory (copied off the ring, so the guest cannot change it). */
struct blkreq {
	uint64_t id;
	uint8_t ring_op;           /* the response's op: the request's, an indirect one's indirect_op */
	uint8_t op;                /* READ, WRITE, FLUSH_DISKCACHE or DISCARD */
	uint64_t sector;
	uint64_t nr_sectors;       /* DISCARD: its length; READ/WRITE: the segments' total */
	unsigned nr_segs;
	unsigned nr_indirect;      /* pages of segments to map (indirect requests) */
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct blkreq_seg seg[BLK_MAX_INDIRECT_SEGS];
};

/*
 * Decodes a request copied off the ring. Direct segments are copied and
 * checked at once; an indirect request gets nr_indirect and its grefs (the
 * caller maps those pages and calls blkback_req__indirect). Returns 0, or
 * BLKIF_RSP_EOPNOTSUPP for an op we do not do, BLKIF_RSP_ERROR for a
 * malformed or forbidden request; *why says which (a static string).
 */
int blkback_req__parse(const blkif_request_t *r, const struct blkreq_limits *lim, struct blkreq *out,
                       const char **why);
/*
 * Copies nr_segs segments out of the mapped indirect pages (each page holds
 * BLK_SEGS_PER_IND_PAGE) and checks them and the sector range. 0 or
 * BLKIF_RSP_ERROR with *why.
 */
int blkback_req__indirect(struct blkreq *req, const struct blkreq_limits *lim, void *const *pages,
                          const char **why);

/*
 * How many requests the frontend has produced past req_cons: reads
 * req_prod once (into *rp, with the read barrier after it). -EIO when the
 * index is impossible (more than a ring ahead of our responses): the
 * frontend is broken or hostile.
 */
int blkback_req__pending(blkif_back_ring_t *ring, RING_IDX *rp);
/* Queues a response in the next response slot (pushed by the caller). */
void blkback_req__respond(blkif_back_ring_t *ring, uint64_t id, uint8_t op, int16_t status);
/* A response waiting for the requests before it (blkback_req__answer). */
struct blk_held { uint64_t id; uint8_t op; bool done; int16_t st; };
/*
 * Records the response to the request taken at ring position pos and
 * queues (not pushes), in ring order, every recorded response whose
 * earlier ones are all queued: response slot N then always answers request
 * slot N, so the published responses answer exactly the requests before
 * rsp_prod (what a restarted kxen-backd resumes from). held has
 * RING_SIZE(ring) entries, zeroed when the ring is (re)mapped.
 */
void blkback_req__answer(blkif_back_ring_t *ring, struct blk_held *held, RING_IDX pos, uint64_t id,
                         uint8_t op, int16_t status);

/* ---- blkback_pool.c: a device's I/O threads (disk I/O only: grants and the ring stay with the dispatcher) ---- */

#define BLKPOOL_MAX_THREADS 8
/* Per device: threads running disk I/O at once, and requests in flight (each holds its pages' iovec). */
#define BLK_IO_THREADS      4u
#define BLK_MAX_INFLIGHT    32u

struct disk;

/* One data request in flight: filled by the dispatcher, run by a pool thread, answered by the dispatcher. */
struct blkjob {
	struct blkjob *next;
	uint64_t id;               /* the frontend's */
	uint8_t ring_op;
	RING_IDX pos;              /* its request's ring position: its response is published in this order */
	bool write;
	uint64_t off;              /* bytes */
	uint64_t nr_sectors;
	unsigned nr_iov;
	struct iovec iov[BLK_MAX_INDIRECT_SEGS];
	unsigned nr_tmp;           /* pages mapped for this request only, unmapped at completion */
	void *tmp[BLK_MAX_INDIRECT_SEGS];
	int rc;                    /* 0 or -errno from libkxdisk */
	char err[128];             /* disk_last_error() of a failed job */
};

/*
 * The free list and the in-flight count belong to the dispatcher alone; the
 * queue and the done list are shared under lock.
 */
struct blkpool {
	struct disk *disk;
	struct blkjob *jobs, *free;
	unsigned njobs, nfree;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct blkjob *queue, *queue_tail;   /* submitted, FIFO */
	struct blkjob *done;                 /* completed, any order */
	int done_fd;               /* eventfd: readable when done is not empty */
	bool stop, inited;
	unsigned nthreads;
	pthread_t thr[BLKPOOL_MAX_THREADS];
};

/* Allocates njobs jobs and starts nthreads (1..BLKPOOL_MAX_THREADS) threads on disk. 0 or -errno (nothing left behind). */
int blkback_pool__start(struct blkpool *p, struct disk *disk, unsigned nthreads, unsigned njobs);
/* Called first thing in each I/O thread (main.c: the thread's seccomp filter); may be NULL. */
extern void (*blkpool_thread_hook)(void);
/* Called first thing in each vbd's ring worker thread (main.c: the thread's seccomp filter); may be NULL. */
extern void (*blkio_worker_hook)(void);
/* A free job, or NULL when njobs are in flight. Dispatcher only. */
struct blkjob *blkback_pool__get(struct blkpool *p);
/* Runs j (readv or writev of j->iov at j->off) in the calling thread: j->rc and j->err as a pool thread sets them. */
void blkback_pool__run(struct blkpool *p, struct blkjob *j);
/* Queues j for the threads (readv or writev of j->iov at j->off); it comes back through blkback_pool__reap. */
void blkback_pool__submit(struct blkpool *p, struct blkjob *j);
/* Every job completed since the last call (a list through ->next, any order), or NULL. Poll done_fd to wait. */
struct blkjob *blkback_pool__reap(struct blkpool *p);
/* Gives a reaped (or never submitted) job back. Dispatcher only. */
void blkback_pool__put(struct blkpool *p, struct blkjob *j);
/* Jobs taken and not yet put back. */
unsigned blkback_pool__inflight(const struct blkpool *p);
/* Runs what is queued to the end, joins the threads and frees the jobs (reaped or not). */
void blkback_pool__stop(struct blkpool *p);

/* ---- blkback_io.c: the dispatcher thread per connected device ---- */

struct kxgnt;
typedef struct kxctrl kxctrl;

/* Counters since connect, as kxtop shows them (written by the worker, read by anyone). */
struct blk_stats {
	_Atomic uint64_t oo_req, rd_req, wr_req, rd_sect, wr_sect, fl_req, ds_req, err_req;
};

struct blkio {
	uint32_t domid;
	unsigned devid;
	kxctrl *hv;                /* this device's own connection: the worker is its only user */
	struct kxgnt *gnt;
	struct disk *disk;
	struct blkreq_limits lim;
	bool persistent;           /* feature-persistent negotiated */
	blkif_back_ring_t ring;
	void *ring_base;           /* nr_ring_pages mapped contiguously */
	unsigned nr_ring_pages;
	grant_handle_t ring_gh[1u << BLK_MAX_RING_ORDER];
	int notify_fd, kick_fd;    /* the event channel (kxctrl_evtchn_bind_interdomain) */
	uint32_t local_port;
	int stop_fd;               /* written to stop the worker */
	int dead_fd;               /* the worker writes it when it gave up on the frontend */
	char dead_why[160];
	pthread_t thread;
	bool running;
	struct blk_stats st;
	struct blkpool pool;       /* READ/WRITE run here, BLK_MAX_INFLIGHT at a time */
	/* Persistent grants: gref -> page, open addressing. */
	struct blk_pgnt { grant_ref_t gref; void *page; } *pgnt;
	unsigned nr_pgnt;
	unsigned err_logged;       /* rate limit for per-request error lines */
	bool inline_alone;         /* a data request alone on the ring with nothing in flight runs in the dispatcher */
	/*
	 * Responses held until every earlier request is answered, by ring
	 * position: response slot N then answers request slot N, so a restarted
	 * kxen-backd that resumes at rsp_prod serves exactly the unanswered ones.
	 */
	struct blk_held held[BLK_MAX_RING_SLOTS];
};

/*
 * Maps the nr (a power of two <= 16) ring pages contiguously, binds the
 * event channel and starts the worker. Everything it took is released by
 * blkback_io__stop, also on failure. 0 or -errno (*why says what failed).
 */
int blkback_io__start(struct blkio *io, const grant_ref_t *refs, unsigned nr, uint32_t port,
                      const char **why);
/* Stops the worker (in-flight requests finish first) and releases the ring, the grants and the port. */
void blkback_io__stop(struct blkio *io);

#endif
