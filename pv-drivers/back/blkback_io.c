/* The vbd data path: a dispatcher thread per connected device consumes its ring, maps grants (persistent when negotiated), hands data requests to the I/O pool and answers them in batches. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include "backd.h"
#include "blkback.h"
#include "kxen/disk.h"
#include "kxen/kxctrl_gnttab.h"

#define PGNT_SLOTS (2 * BLK_MAX_PERSISTENT)   /* open addressing at most half full */
#define ERR_LOG_MAX 20                        /* per-request error lines per device */

static void io_log(struct blkio *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void io_log(struct blkio *io, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (io->err_logged >= ERR_LOG_MAX)
		return;
	if (++io->err_logged == ERR_LOG_MAX) {
		kxd_log("d%" PRIu32 ": vbd %u: more request errors; no longer logged", io->domid,
		          io->devid);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kxd_log("d%" PRIu32 ": vbd %u: %s", io->domid, io->devid, msg);
}

/* ---- persistent grants: mapped once, kept until disconnect ---- */

static struct blk_pgnt *pgnt_slot(struct blkio *io, grant_ref_t gref)
{
	unsigned h = (gref * 2654435761u) % PGNT_SLOTS;

	while (io->pgnt[h].page && io->pgnt[h].gref != gref)
		h = (h + 1) % PGNT_SLOTS;
	return &io->pgnt[h];
}

/*
 * Maps the n grefs to pages. Persistent: cached ones are reused, new ones
 * mapped writable in one batch and kept while there is room; *tmp[i] says
 * which pages the caller must unmap afterwards (not kept). Returns 0 or
 * -EFAULT when any grant could not be mapped.
 */
static int map_grefs(struct blkio *io, const grant_ref_t *grefs, unsigned n, bool readonly,
                     void **pages, bool *tmp)
{
	grant_ref_t want[BLK_MAX_INDIRECT_SEGS];
	unsigned idx[BLK_MAX_INDIRECT_SEGS], k = 0;
	void *got[BLK_MAX_INDIRECT_SEGS];
	int16_t status[BLK_MAX_INDIRECT_SEGS];
	int rc = 0;

	for (unsigned i = 0; i < n; i++) {
		tmp[i] = false;
		pages[i] = NULL;
		if (io->persistent) {
			struct blk_pgnt *s = pgnt_slot(io, grefs[i]);
			if (s->page) {
				pages[i] = s->page;
				continue;
			}
		}
		/* The same gref twice in one request is mapped once. */
		unsigned j;
		for (j = 0; j < k && want[j] != grefs[i]; j++)
			;
		if (j == k)
			want[k++] = grefs[i];
		idx[i] = j;
	}
	if (!k)
		return 0;
	/* Persistent grants are granted read-write by the frontend (as Linux's), so they serve both directions. */
	if (kxgnt_map(io->gnt, io->domid, want, k, io->persistent ? false : readonly, got, status))
		return -EFAULT;
	bool used[BLK_MAX_INDIRECT_SEGS] = { false };
	for (unsigned i = 0; i < n; i++) {
		if (pages[i])
			continue;
		unsigned j = idx[i];
		if (status[j] != GNTST_okay) {
			rc = -EFAULT;
			continue;
		}
		pages[i] = got[j];
		if (used[j])
			continue;   /* the first occurrence decides whether it is kept */
		used[j] = true;
		if (io->persistent && io->nr_pgnt < BLK_MAX_PERSISTENT) {
			struct blk_pgnt *s = pgnt_slot(io, want[j]);
			s->gref = want[j];
			s->page = got[j];
			io->nr_pgnt++;
		} else {
			tmp[i] = true;
		}
	}
	/* Pages that failed to map elsewhere in the batch: give back what is not kept. */
	if (rc) {
		for (unsigned i = 0; i < n; i++)
			if (tmp[i]) {
				kxgnt_unmap(io->gnt, &pages[i], 1);
				tmp[i] = false;
			}
	}
	return rc;
}

static void unmap_tmp(struct blkio *io, void **pages, const bool *tmp, unsigned n)
{
	void *un[BLK_MAX_INDIRECT_SEGS];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		if (tmp[i])
			un[k++] = pages[i];
	if (k)
		kxgnt_unmap(io->gnt, un, k);
}

/* ---- requests ---- */

static void count(struct blkio *io, bool write, uint64_t nr_sectors)
{
	if (write) {
		atomic_fetch_add(&io->st.wr_req, 1);
		atomic_fetch_add(&io->st.wr_sect, nr_sectors);
	} else {
		atomic_fetch_add(&io->st.rd_req, 1);
		atomic_fetch_add(&io->st.rd_sect, nr_sectors);
	}
}

/*
 * Maps a checked READ/WRITE's pages into j's iovec (and the pages to unmap
 * at completion into j->tmp). 0, or BLKIF_RSP_ERROR with nothing left mapped.
 */
static int16_t prepare(struct blkio *io, struct blkreq *req, struct blkjob *j)
{
	grant_ref_t grefs[BLK_MAX_INDIRECT_SEGS];
	void *pages[BLK_MAX_INDIRECT_SEGS];
	bool tmp[BLK_MAX_INDIRECT_SEGS];
	bool write = req->op != BLKIF_OP_READ;

	for (unsigned i = 0; i < req->nr_segs; i++)
		grefs[i] = req->seg[i].gref;
	/* A write reads the guest's pages: a read-only map is enough. */
	if (map_grefs(io, grefs, req->nr_segs, write, pages, tmp)) {
		io_log(io, "request %" PRIu64 ": a grant could not be mapped", req->id);
		unmap_tmp(io, pages, tmp, req->nr_segs);
		return BLKIF_RSP_ERROR;
	}
	j->id = req->id;
	j->ring_op = req->ring_op;
	j->write = write;
	j->off = req->sector * BLK_SECTOR;
	j->nr_sectors = req->nr_sectors;
	j->nr_iov = req->nr_segs;
	j->nr_tmp = 0;
	for (unsigned i = 0; i < req->nr_segs; i++) {
		j->iov[i].iov_base = (char *)pages[i] + req->seg[i].first * BLK_SECTOR;
		j->iov[i].iov_len = (size_t)(req->seg[i].last - req->seg[i].first + 1) * BLK_SECTOR;
		if (tmp[i])
			j->tmp[j->nr_tmp++] = pages[i];
	}
	return BLKIF_RSP_OKAY;
}

/* Releases a finished job's per-request maps and logs its failure; its status. */
static int16_t finish(struct blkio *io, struct blkjob *j)
{
	if (j->nr_tmp)
		kxgnt_unmap(io->gnt, j->tmp, j->nr_tmp);
	j->nr_tmp = 0;
	count(io, j->write, j->nr_sectors);
	if (j->rc) {
		io_log(io, "%s at sector %" PRIu64 ": %s", j->write ? "write" : "read",
		       j->off / BLK_SECTOR, j->err);
		return BLKIF_RSP_ERROR;
	}
	return BLKIF_RSP_OKAY;
}

/* Copies an indirect request's segments in (its pages mapped for that only). 0 or a status. */
static int16_t load_indirect(struct blkio *io, struct blkreq *req)
{
	void *pages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	bool tmp[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	const char *why;
	int16_t st;

	if (map_grefs(io, req->indirect_grefs, req->nr_indirect, true, pages, tmp)) {
		io_log(io, "request %" PRIu64 ": an indirect page's grant could not be mapped", req->id);
		unmap_tmp(io, pages, tmp, req->nr_indirect);
		return BLKIF_RSP_ERROR;
	}
	st = (int16_t)blkback_req__indirect(req, &io->lim, pages, &why);
	unmap_tmp(io, pages, tmp, req->nr_indirect);
	if (st)
		io_log(io, "request %" PRIu64 ": %s", req->id, why);
	return st;
}

static void kick(struct blkio *io)
{
	uint64_t one = 1;

	if (write(io->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		io_log(io, "notify: %s", strerror(errno));
}

/* Publishes the responses queued so far: one notification per batch, and only if the frontend waits for it. */
static void push(struct blkio *io)
{
	int notify;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&io->ring, notify);
	if (notify)
		kick(io);
}

/* Answers the request taken at ring position pos, in ring order (blkback_req__answer: what the resume relies on). */
static void answer(struct blkio *io, RING_IDX pos, uint64_t id, uint8_t op, int16_t st)
{
	blkback_req__answer(&io->ring, io->held, pos, id, op, st);
}

/* Answers every job the threads have finished (not pushed). True if there were any. */
static bool reap(struct blkio *io)
{
	struct blkjob *j = blkback_pool__reap(&io->pool), *next;
	bool any = j != NULL;

	for (; j; j = next) {
		int16_t st = finish(io, j);

		next = j->next;
		if (st)
			atomic_fetch_add(&io->st.err_req, 1);
		answer(io, j->pos, j->id, j->ring_op, st);
		blkback_pool__put(&io->pool, j);
	}
	return any;
}

/*
 * Waits until no request is in flight, answering each as it completes.
 * A flush runs after this, so it covers every write acknowledged before it
 * and every write the frontend queued before it; nothing after it starts
 * until it is answered.
 */
static void drain_inflight(struct blkio *io)
{
	while (blkback_pool__inflight(&io->pool)) {
		struct pollfd p = { .fd = io->pool.done_fd, .events = POLLIN };

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			abort();   /* poll on our own eventfd cannot fail: going on would unmap pages under I/O */
		if (reap(io))
			push(io);
	}
}

/* A FLUSH_DISKCACHE or DISCARD, run here after the data requests before it; its status. */
static int16_t run_sync(struct blkio *io, struct blkreq *req)
{
	int16_t st = BLKIF_RSP_OKAY;

	drain_inflight(io);
	if (req->op == BLKIF_OP_DISCARD) {
		if (disk_discard(io->disk, req->sector * BLK_SECTOR, req->nr_sectors * BLK_SECTOR)) {
			io_log(io, "discard at sector %" PRIu64 ": %s", req->sector,
			       disk_last_error(io->disk));
			st = BLKIF_RSP_ERROR;
		}
		atomic_fetch_add(&io->st.ds_req, 1);
		return st;
	}
	if (req->nr_segs) {
		/* Flush with data: the data is written first, here (the pool is idle), then flushed. */
		struct blkjob *j = blkback_pool__get(&io->pool);

		req->op = BLKIF_OP_WRITE;
		st = prepare(io, req, j);
		if (st == BLKIF_RSP_OKAY) {
			blkback_pool__run(&io->pool, j);
			st = finish(io, j);
		}
		blkback_pool__put(&io->pool, j);
	}
	/* The reply goes only after the data is durable: that is the point of the op. */
	if (st == BLKIF_RSP_OKAY && disk_flush(io->disk)) {
		io_log(io, "flush: %s", disk_last_error(io->disk));
		st = BLKIF_RSP_ERROR;
	}
	atomic_fetch_add(&io->st.fl_req, 1);
	return st;
}

/*
 * Takes one request: a data request goes to the pool (answered when it
 * completes), or runs here when it is the last one the frontend produced
 * and nothing is in flight (alone); anything else is answered now. Needs a
 * free job.
 */
static void handle(struct blkio *io, RING_IDX pos, const blkif_request_t *raw, struct blkreq *req, bool alone)
{
	const char *why;
	int16_t st = (int16_t)blkback_req__parse(raw, &io->lim, req, &why);

	if (st) {
		io_log(io, "request %" PRIu64 " (op %u): %s", req->id, raw->operation, why);
		goto respond;
	}
	if (req->op == BLKIF_OP_FLUSH_DISKCACHE || req->op == BLKIF_OP_DISCARD) {
		if ((st = run_sync(io, req)))
			goto respond;
		answer(io, pos, req->id, req->ring_op, st);
		return;
	}
	if (req->nr_indirect && (st = load_indirect(io, req)))
		goto respond;
	struct blkjob *j = blkback_pool__get(&io->pool);
	if ((st = prepare(io, req, j))) {
		blkback_pool__put(&io->pool, j);
		goto respond;
	}
	j->pos = pos;
	/*
	 * A request with no company (a frontend at queue depth 1: Linux's dd
	 * with 1 MiB requests, 4 KiB random I/O) gains nothing from the pool
	 * and pays two thread wake-ups for it (to a pool thread and back), each
	 * milliseconds when the host is loaded: it runs here, answered by the
	 * caller's push. A request behind it waits, which it would anyway.
	 */
	if (alone && io->inline_alone && blkback_pool__inflight(&io->pool) == 1) {
		blkback_pool__run(&io->pool, j);
		st = finish(io, j);
		if (st)
			atomic_fetch_add(&io->st.err_req, 1);
		answer(io, pos, j->id, j->ring_op, st);
		blkback_pool__put(&io->pool, j);
		return;
	}
	blkback_pool__submit(&io->pool, j);
	return;
respond:
	atomic_fetch_add(&io->st.err_req, 1);
	answer(io, pos, req->id, req->ring_op, st);
}

/* Gives up on the frontend: the main thread disconnects the device (Closing) and says why. */
static void die(struct blkio *io, const char *why)
{
	uint64_t one = 1;

	snprintf(io->dead_why, sizeof(io->dead_why), "%s", why);
	if (write(io->dead_fd, &one, sizeof(one)) < 0)
		kxd_log("d%" PRIu32 ": vbd %u: %s (cannot tell the main loop: %s)", io->domid,
		          io->devid, why, strerror(errno));
}

/*
 * Consumes what the frontend produced while jobs are free. False when the
 * ring is broken. With every job busy it stops before the final check: a
 * completion wakes the dispatcher, which comes back here.
 */
static bool consume(struct blkio *io, struct blkreq *req)
{
	int more;

	do {
		RING_IDX rp;

		if (blkback_req__pending(&io->ring, &rp) < 0) {
			die(io, "ring indexes are corrupt (req_prod more than a ring ahead)");
			return false;
		}
		while (io->ring.req_cons != rp) {
			blkif_request_t raw;

			if (!io->pool.nfree)
				return true;
			/* Our copy: a guest rewriting the slot meanwhile changes nothing. */
			RING_COPY_REQUEST(&io->ring, io->ring.req_cons, &raw);
			io->ring.req_cons++;
			handle(io, io->ring.req_cons - 1, &raw, req, io->ring.req_cons == rp);
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&io->ring, more);
	} while (more);
	return true;
}

void (*blkio_worker_hook)(void);

static void *worker(void *arg)
{
	struct blkio *io = arg;

	if (blkio_worker_hook)
		blkio_worker_hook();
	struct blkreq *req = malloc(sizeof(*req));

	if (!req) {
		die(io, "out of memory");
		return NULL;
	}
	for (;;) {
		struct pollfd p[3] = { { .fd = io->notify_fd, .events = POLLIN },
		                       { .fd = io->pool.done_fd, .events = POLLIN },
		                       { .fd = io->stop_fd, .events = POLLIN } };
		uint64_t cnt;

		reap(io);
		/* Requests the frontend queued before we connected are served too. */
		bool ok = consume(io, req);
		push(io);
		if (!ok)
			break;
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if (p[0].revents && read(io->notify_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			break;
	}
	/* Nothing may be under I/O when the pages are unmapped. */
	drain_inflight(io);
	free(req);
	return NULL;
}

/* ---- connect and disconnect ---- */

static int map_ring(struct blkio *io, const grant_ref_t *refs, unsigned nr, const char **why)
{
	struct gnttab_map_grant_ref ops[1u << BLK_MAX_RING_ORDER];
	size_t len = (size_t)nr * BLK_PAGE;
	uint64_t memsize;
	int memfd = -1, rc;
	char *base;

	memset(ops, 0, sizeof(ops));
	for (unsigned i = 0; i < nr; i++)
		ops[i] = (struct gnttab_map_grant_ref){ .flags = GNTMAP_host_map, .ref = refs[i],
		                                        .dom = (domid_t)io->domid };
	if ((rc = kxctrl_gnttab_map(io->hv, ops, nr))) {
		*why = "mapping the ring pages failed (kxen-hv)";
		return rc;
	}
	for (unsigned i = 0; i < nr; i++)
		io->ring_gh[i] = ops[i].status == GNTST_okay ? ops[i].handle : (grant_handle_t)~0u;
	io->nr_ring_pages = nr;
	for (unsigned i = 0; i < nr; i++)
		if (ops[i].status != GNTST_okay) {
			*why = "a ring-ref is not a valid grant";
			return -EINVAL;
		}
	/* Contiguous, as the ring macros need: reserve the range, then put each granted page in it. */
	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		*why = "no address space for the ring";
		return -errno;
	}
	io->ring_base = base;
	if ((rc = kxctrl_gnttab_memfd(io->hv, io->domid, &memfd, &memsize))) {
		*why = "cannot get the domain's memory";
		return rc;
	}
	for (unsigned i = 0; i < nr; i++) {
		if (ops[i].dev_bus_addr + BLK_PAGE > memsize ||
		    mmap(base + (size_t)i * BLK_PAGE, BLK_PAGE, PROT_READ | PROT_WRITE,
		         MAP_SHARED | MAP_FIXED, memfd, (off_t)ops[i].dev_bus_addr) == MAP_FAILED) {
			close(memfd);
			*why = "cannot map a ring page";
			return -EFAULT;
		}
	}
	close(memfd);
	BACK_RING_INIT(&io->ring, (blkif_sring_t *)base, len);
	/*
	 * A ring that was served before (kxen-backd restarted) resumes after its
	 * last response: responses are published in ring order (answer()), so
	 * the requests from rsp_prod on are exactly those never answered.
	 */
	if (RING_SIZE(&io->ring) > BLK_MAX_RING_SLOTS) {
		*why = "ring larger than BLK_MAX_RING_SLOTS";
		return -EINVAL;
	}
	memset(io->held, 0, sizeof(io->held));
	io->ring.req_cons = io->ring.rsp_prod_pvt = __atomic_load_n(&io->ring.sring->rsp_prod, __ATOMIC_RELAXED);
	return 0;
}

static void unmap_ring(struct blkio *io)
{
	struct gnttab_unmap_grant_ref ops[1u << BLK_MAX_RING_ORDER];
	unsigned k = 0;

	if (io->ring_base)
		munmap(io->ring_base, (size_t)io->nr_ring_pages * BLK_PAGE);
	io->ring_base = NULL;
	for (unsigned i = 0; i < io->nr_ring_pages; i++)
		if (io->ring_gh[i] != (grant_handle_t)~0u)
			ops[k++] = (struct gnttab_unmap_grant_ref){ .handle = io->ring_gh[i] };
	if (k)
		kxctrl_gnttab_unmap(io->hv, ops, k);
	io->nr_ring_pages = 0;
}

/* KXEN_BLK_IO_THREADS (1..BLKPOOL_MAX_THREADS) overrides BLK_IO_THREADS, for measurements; a bad value is logged and ignored. */
static unsigned io_threads(void)
{
	const char *e = getenv("KXEN_BLK_IO_THREADS");
	char *end;
	unsigned long v;

	if (!e)
		return BLK_IO_THREADS;
	errno = 0;
	v = strtoul(e, &end, 10);
	if (errno || end == e || *end || v < 1 || v > BLKPOOL_MAX_THREADS) {
		kxd_log("KXEN_BLK_IO_THREADS=%s: not a number from 1 to %u; using %u", e,
		          BLKPOOL_MAX_THREADS, BLK_IO_THREADS);
		return BLK_IO_THREADS;
	}
	return (unsigned)v;
}

int blkback_io__start(struct blkio *io, const grant_ref_t *refs, unsigned nr, uint32_t port,
                      const char **why)
{
	int rc;

	io->notify_fd = io->kick_fd = io->stop_fd = -1;
	io->pgnt = calloc(PGNT_SLOTS, sizeof(*io->pgnt));
	if (!io->pgnt) {
		*why = "out of memory";
		return -ENOMEM;
	}
	io->nr_pgnt = 0;
	if ((rc = kxgnt_open(io->hv, &io->gnt))) {
		*why = "grant mapper";
		goto out;
	}
	if ((rc = map_ring(io, refs, nr, why)))
		goto out;
	if ((rc = kxctrl_evtchn_bind_interdomain(io->hv, io->domid, port, &io->local_port,
	                                         &io->notify_fd, &io->kick_fd))) {
		*why = "cannot bind the event channel";
		goto out;
	}
	io->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->stop_fd < 0) {
		rc = -errno;
		*why = "eventfd";
		goto out;
	}
	/* KXEN_BLK_INLINE=0 sends every data request to the pool, for measurements. */
	io->inline_alone = !getenv("KXEN_BLK_INLINE") || strcmp(getenv("KXEN_BLK_INLINE"), "0");
	if ((rc = blkback_pool__start(&io->pool, io->disk, io_threads(), BLK_MAX_INFLIGHT))) {
		*why = "cannot start the I/O threads";
		goto out;
	}
	if ((rc = -pthread_create(&io->thread, NULL, worker, io))) {
		*why = "cannot start the worker thread";
		goto out;
	}
	io->running = true;
	return 0;
out:
	blkback_io__stop(io);
	return rc;
}

void blkback_io__stop(struct blkio *io)
{
	uint64_t one = 1;

	if (io->running) {
		if (write(io->stop_fd, &one, sizeof(one)) < 0)
			kxd_log("d%" PRIu32 ": vbd %u: cannot stop the worker: %s", io->domid, io->devid,
			          strerror(errno));
		pthread_join(io->thread, NULL);
		io->running = false;
	}
	/* The worker drained its requests: the threads are idle. */
	blkback_pool__stop(&io->pool);
	if (io->stop_fd >= 0)
		close(io->stop_fd);
	if (io->notify_fd >= 0)
		close(io->notify_fd);
	if (io->kick_fd >= 0)
		close(io->kick_fd);
	if (io->local_port)
		kxctrl_evtchn_close(io->hv, io->local_port);
	io->stop_fd = io->notify_fd = io->kick_fd = -1;
	io->local_port = 0;
	/* Data pages before the ring: nothing may touch guest memory after this. */
	if (io->gnt)
		kxgnt_close(io->gnt);
	io->gnt = NULL;
	free(io->pgnt);
	io->pgnt = NULL;
	io->nr_pgnt = 0;
	unmap_ring(io);
}
