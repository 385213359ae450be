/* Disk apps over blkfront: `blk-test` (pattern write/read/verify, MB/s, IOPS), `blk-flush` (durability), `blk-loop` (writes across a backend restart), `blk-hostile` (malformed requests), `blk-hotplug`. */
#include "apps.h"
#include "blkfront.h"
#include "clock.h"
#include "events.h"
#include "console.h"
#include "gnttab.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"

#define WAIT_NS     (30 * NSEC_PER_SEC)
#define CHUNK       (1024 * 1024UL)
#define SEQ_CHUNK   (8 * CHUNK)   /* per blkfront_rw call: 8 requests of 1 MiB in flight (zero copy; 4 bounced) */
#define RING_ORDER  2

/* Each 8-byte word names its own byte offset and the seed: a misplaced or stale block cannot pass. */
static void fill(uint64_t *p, size_t len, uint64_t off, uint64_t seed)
{
	for (size_t i = 0; i < len / 8; i++)
		p[i] = (off + i * 8) ^ (seed << 48) ^ 0x6b78656e00000000ULL;
}

static long check(const uint64_t *p, size_t len, uint64_t off, uint64_t seed)
{
	for (size_t i = 0; i < len / 8; i++)
		if (p[i] != ((off + i * 8) ^ (seed << 48) ^ 0x6b78656e00000000ULL))
			return (long)(i * 8);
	return -1;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned long arg_ul(int argc, char **argv, int i, unsigned long dflt)
{
	unsigned long v;

	return i < argc && parse_ulong(argv[i], &v) == 0 ? v : dflt;
}

static bool has_arg(int argc, char **argv, const char *word)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], word))
			return true;
	return false;
}

static void print_info(const char *app, struct blkfront *bf)
{
	const struct blkfront_info *in = &bf->info;

	printk("%s: vbd %u: %lu sectors of %u bytes%s; ring %u pages, %u segments per request, "
	       "%s grants, flush %s, discard %s\n", app, in->devid, (unsigned long)in->sectors,
	       in->sector_size, in->readonly ? ", read-only" : "", in->ring_pages, in->max_segs,
	       in->persistent ? "persistent" : "per-request", in->flush ? "yes" : "no",
	       in->discard ? "yes" : "no");
}

/* MB/s with one decimal, from bytes and ns. */
static void rate(const char *app, const char *what, uint64_t bytes, uint64_t ns)
{
	uint64_t kbs = ns ? bytes * 1000000ULL / ns : 0;   /* bytes/ns*1e6 = KB/s... in 1000s */

	printk("%s: %s %lu MiB in %lu ms: %lu.%lu MB/s\n", app, what, (unsigned long)(bytes >> 20),
	       (unsigned long)(ns / NSEC_PER_MSEC), (unsigned long)(kbs / 1000),
	       (unsigned long)(kbs % 1000 / 100));
	printk("RESULT blk_%s_kbps=%lu\n", what, (unsigned long)kbs);
}

static int random_io(const char *app, struct blkfront *bf, bool write, uint64_t span, unsigned ops,
                     uint8_t *page)
{
	uint64_t t = 0;
	unsigned long iops;

	for (unsigned i = 0; i < ops; i++) {
		uint64_t off = (rnd() % (span / PAGE_SIZE)) * PAGE_SIZE, t0;
		int rc;

		if (write)
			fill((uint64_t *)page, PAGE_SIZE, off, 0);
		t0 = clock_now_ns();
		rc = blkfront_rw(bf, write, off / 512, page, PAGE_SIZE);
		t += clock_now_ns() - t0;
		if (rc) {
			printk("%s: FAIL random %s at %lu: %d\n", app, write ? "write" : "read",
			       (unsigned long)off, rc);
			return -1;
		}
		if (!write && check((uint64_t *)page, PAGE_SIZE, off, 0) >= 0) {
			printk("%s: FAIL random read at %lu: wrong data\n", app, (unsigned long)off);
			return -1;
		}
	}
	iops = t ? (unsigned long)((uint64_t)ops * NSEC_PER_SEC / t) : 0;
	printk("%s: random 4 KiB %s: %u ops, %lu IOPS\n", app, write ? "writes" : "reads", ops, iops);
	printk("RESULT blk_rand%s_iops=%lu\n", write ? "write" : "read", iops);
	return 0;
}

#define QD 32   /* the deep random phase: requests in flight per batch (BLKFRONT_SLOTS) */

/* OPS random 4 KiB requests in batches of QD (queue depth QD, one wake-up per batch), pages from bufs. */
static int random_io_qd(const char *app, struct blkfront *bf, bool write, uint64_t span, unsigned ops,
                        uint8_t *bufs)
{
	uint64_t sectors[QD], t0 = clock_now_ns(), t;
	void *pages[QD];
	unsigned long iops;

	for (unsigned done = 0; done < ops;) {
		unsigned n = MIN(QD, ops - done);
		int rc;

		for (unsigned i = 0; i < n; i++) {
			uint64_t off = (rnd() % (span / PAGE_SIZE)) * PAGE_SIZE;
			pages[i] = bufs + (size_t)i * PAGE_SIZE;
			sectors[i] = off / 512;
			/* The pattern depends on the offset only: two pieces of a batch at one offset agree. */
			if (write)
				fill((uint64_t *)pages[i], PAGE_SIZE, off, 0);
			else
				memset(pages[i], 0, PAGE_SIZE);   /* a read that did not land must not pass */
		}
		if ((rc = blkfront_rw_vec(bf, write, sectors, pages, PAGE_SIZE, n))) {
			printk("%s: FAIL random %s (QD%u): %d\n", app, write ? "write" : "read", QD, rc);
			return -1;
		}
		for (unsigned i = 0; i < n && !write; i++)
			if (check((uint64_t *)pages[i], PAGE_SIZE, sectors[i] * 512, 0) >= 0) {
				printk("%s: FAIL random read (QD%u) at %lu: wrong data\n", app, QD,
				       (unsigned long)(sectors[i] * 512));
				return -1;
			}
		done += n;
	}
	t = clock_now_ns() - t0;
	iops = t ? (unsigned long)((uint64_t)ops * NSEC_PER_SEC / t) : 0;
	printk("%s: random 4 KiB %s (QD%u): %u ops, %lu IOPS\n", app, write ? "writes" : "reads", QD, ops, iops);
	printk("RESULT blk_rand%s_qd%u_iops=%lu\n", write ? "write" : "read", QD, iops);
	return 0;
}

/*
 * blk-test [MIB] [OPS] [ro] [nodiscard] [pause] [copy]: MIB (default 8) written with a
 * pattern, flushed, read back and verified (sequential MB/s); OPS (200)
 * random 4 KiB writes then reads (IOPS) at queue depth 1, then OPS of each in
 * batches of 32 (QD32; reads verified); a discard that must read back as
 * zeros. With ro the disk must refuse a write. With pause it sleeps 1 s
 * after "ready", "flushed", "seq done", "rand qd1 done" and "rand qd32 done", so bench_blk can read the
 * domain's exit counter around the sequential phases and drop the file's
 * cached pages before the reads. With copy every request goes through
 * blkfront's bounce pages instead of granting our buffers (bench_blk -c).
 */
int app_blk_test(int argc, char **argv)
{
	const char *app = "blk-test";
	uint64_t mib = arg_ul(argc, argv, 1, 8), span = mib * CHUNK, tw = 0, tr = 0;
	unsigned ops = (unsigned)arg_ul(argc, argv, 2, 200);
	struct blkfront *bf;
	uint8_t *buf = alloc_pages(SEQ_CHUNK / PAGE_SIZE, 1), *page = alloc_pages(1, 1);
	int rc;

	if (!buf || !page) {
		printk("%s: FAIL out of memory\n", app);
		return 1;
	}
	if ((rc = blkfront_open(0, RING_ORDER, WAIT_NS, &bf)) < 0) {
		printk("%s: FAIL open: %d\n", app, rc);
		return 1;
	}
	if (has_arg(argc, argv, "copy"))
		blkfront_set_copy(bf, true);
	/* spin=US: poll the ring that long before blocking (blkfront.h's spin_ns; 0, the default, never); spin=auto adapts it. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "spin=auto")) {
			bf->spin_auto = true;
		} else if (!strncmp(argv[i], "spin=", 5)) {
			unsigned long us;
			if (parse_ulong(argv[i] + 5, &us) == 0) {
				bf->spin_auto = false;
				bf->spin_ns = us * 1000;
			}
		}
	print_info(app, bf);
	printk("%s: data %s\n", app, bf->zc_off ? "copied through the bounce pages" : "in place (zero copy)");
	if (has_arg(argc, argv, "ro")) {
		rc = blkfront_rw(bf, true, 0, buf, PAGE_SIZE);
		printk("%s: write to the read-only disk: %s (%d)\n", app, rc ? "refused" : "ACCEPTED", rc);
		if (!rc || blkfront_rw(bf, false, 0, buf, CHUNK))
			return 1;
		printk("%s: read of the read-only disk ok\n", app);
		printk("%s: OK\n", app);
		return 0;
	}
	bool pause = has_arg(argc, argv, "pause");
	if (pause) {
		printk("%s: ready\n", app);
		msleep(1000);
	}
	if (span > bf->info.sectors * 512) {
		printk("%s: FAIL disk smaller than %lu MiB\n", app, (unsigned long)mib);
		return 1;
	}
	for (uint64_t off = 0; off < span; off += SEQ_CHUNK) {
		size_t n = MIN(SEQ_CHUNK, span - off);
		uint64_t t0;

		fill((uint64_t *)buf, n, off, 0);
		t0 = clock_now_ns();
		if ((rc = blkfront_rw(bf, true, off / 512, buf, n))) {
			printk("%s: FAIL write at %lu: %d\n", app, (unsigned long)off, rc);
			return 1;
		}
		tw += clock_now_ns() - t0;
		if (off == 0)
			printk("%s: first %lu MiB written in %lu us (grants mapped by the backend on first use)\n", app,
			       (unsigned long)(n >> 20), (unsigned long)((clock_now_ns() - t0) / 1000));
	}
	/* The write figure is for durable data: the flush is timed with it. */
	{
		uint64_t t0 = clock_now_ns();
		if (bf->info.flush && (rc = blkfront_flush(bf))) {
			printk("%s: FAIL flush: %d\n", app, rc);
			return 1;
		}
		tw += clock_now_ns() - t0;
		printk("%s: flush took %lu us\n", app, (unsigned long)((clock_now_ns() - t0) / 1000));
	}
	if (pause) {
		printk("%s: flushed\n", app);
		msleep(1000);
	}
	for (uint64_t off = 0; off < span; off += SEQ_CHUNK) {
		size_t n = MIN(SEQ_CHUNK, span - off);
		uint64_t t0 = clock_now_ns();
		long bad;

		if ((rc = blkfront_rw(bf, false, off / 512, buf, n))) {
			printk("%s: FAIL read at %lu: %d\n", app, (unsigned long)off, rc);
			return 1;
		}
		tr += clock_now_ns() - t0;
		if ((bad = check((uint64_t *)buf, n, off, 0)) >= 0) {
			printk("%s: FAIL verify: wrong data at byte %lu\n", app,
			       (unsigned long)(off + (uint64_t)bad));
			return 1;
		}
		memset(buf, 0, n);   /* a stale buffer must not pass the next check */
	}
	printk("%s: %lu MiB written, flushed, read back and verified\n", app, (unsigned long)mib);
	if (pause) {
		printk("%s: seq done\n", app);
		msleep(1000);
	}
	rate(app, "write", span, tw);
	rate(app, "read", span, tr);
	if (random_io(app, bf, true, span, ops, page) || random_io(app, bf, false, span, ops, page))
		return 1;
	if (pause) {
		printk("%s: rand qd1 done\n", app);
		msleep(1000);
	}
	if (random_io_qd(app, bf, true, span, ops, buf) || random_io_qd(app, bf, false, span, ops, buf))
		return 1;
	if (pause) {
		printk("%s: rand qd32 done\n", app);
		msleep(1000);
	}
	if (bf->info.discard && !has_arg(argc, argv, "nodiscard") && span >= 2 * CHUNK) {
		uint64_t off = span - CHUNK;

		if ((rc = blkfront_discard(bf, off / 512, CHUNK / 512)) ||
		    (rc = blkfront_rw(bf, false, off / 512, buf, CHUNK))) {
			printk("%s: FAIL discard: %d\n", app, rc);
			return 1;
		}
		for (size_t i = 0; i < CHUNK; i++)
			if (buf[i]) {
				printk("%s: FAIL discarded range reads non-zero at %lu\n", app, (unsigned long)i);
				return 1;
			}
		printk("%s: discard of 1 MiB reads back as zeros\n", app);
	}
	/* Requests beyond the end are the backend's to refuse. */
	rc = blkfront_rw(bf, false, bf->info.sectors, page, PAGE_SIZE);
	printk("%s: read past the end: %s (%d)\n", app, rc ? "refused" : "ACCEPTED", rc);
	if (!rc)
		return 1;
	printk("%s: requests %lu (bounced %lu), notifications %lu, events %lu, spins won %lu lost %lu\n", app,
	       (unsigned long)bf->requests, (unsigned long)bf->bounced, (unsigned long)bf->notifies,
	       (unsigned long)bf->events, (unsigned long)bf->spins_won, (unsigned long)bf->spins_lost);
	blkfront_close(bf);
	printk("%s: OK\n", app);
	return 0;
}

/*
 * blk-loop N SEQ [KIB] [MS]: writes blocks 0..N-1 of KIB (32) KiB stamped SEQ,
 * one request each, MS (1) ms apart, printing every 100th ack; a failed
 * write stops it. Then reads every block back and verifies it. For
 * blk_restart.sh: kxen-backd is killed and restarted in the middle.
 */
int app_blk_loop(int argc, char **argv)
{
	unsigned long n = arg_ul(argc, argv, 1, 1000), seq = arg_ul(argc, argv, 2, 1);
	unsigned long kib = arg_ul(argc, argv, 3, 32), ms = arg_ul(argc, argv, 4, 1);
	size_t bs = kib * 1024;
	struct blkfront *bf;
	uint8_t *buf = kib && kib <= 1024 ? alloc_pages(bs / PAGE_SIZE + 1, 1) : NULL;
	int rc;

	if (!buf || (rc = blkfront_open(0, RING_ORDER, WAIT_NS, &bf)) < 0) {
		printk("blk-loop: FAIL open\n");
		return 1;
	}
	if (n * bs / 512 > bf->info.sectors) {
		printk("blk-loop: FAIL %lu blocks of %lu KiB do not fit the disk\n", n, kib);
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		fill((uint64_t *)buf, bs, i * bs, seq);
		if ((rc = blkfront_rw(bf, true, i * bs / 512, buf, bs))) {
			printk("blk-loop: FAIL write of block %lu: %d\n", i, rc);
			return 1;
		}
		if (i % 100 == 99)
			printk("blk-loop: acked %lu\n", i + 1);
		if (ms)
			msleep(ms);
	}
	for (unsigned long i = 0; i < n; i++) {
		long bad;

		if ((rc = blkfront_rw(bf, false, i * bs / 512, buf, bs))) {
			printk("blk-loop: FAIL read of block %lu: %d\n", i, rc);
			return 1;
		}
		if ((bad = check((uint64_t *)buf, bs, i * bs, seq)) >= 0) {
			printk("blk-loop: FAIL block %lu wrong at byte %ld\n", i, bad);
			return 1;
		}
	}
	printk("blk-loop: done %lu blocks written and verified\n", n);
	blkfront_close(bf);
	return 0;
}

/* blk-flush SEQ: writes 1 MiB stamped SEQ at sector 0, flushes, prints the ack, then idles (the test kills everything). */
int app_blk_flush(int argc, char **argv)
{
	uint64_t seq = arg_ul(argc, argv, 1, 1);
	struct blkfront *bf;
	uint8_t *buf = alloc_pages(CHUNK / PAGE_SIZE, 1);
	int rc;

	if (!buf || (rc = blkfront_open(0, RING_ORDER, WAIT_NS, &bf)) < 0) {
		printk("blk-flush: FAIL open\n");
		return 1;
	}
	fill((uint64_t *)buf, CHUNK, 0, seq);
	if ((rc = blkfront_rw(bf, true, 0, buf, CHUNK)) || (rc = blkfront_flush(bf))) {
		printk("blk-flush: FAIL write+flush: %d\n", rc);
		return 1;
	}
	printk("blk-flush: acked %lu\n", (unsigned long)seq);
	for (;;)
		msleep(1000);
}

/* Sends one raw request and prints what came back. */
static int hostile_one(struct blkfront *bf, const char *name, blkif_request_t *req, int want)
{
	int st, rc = blkfront_raw_submit(bf, req);

	if (rc < 0) {
		printk("blk-hostile: FAIL %s: submit %d\n", name, rc);
		return -1;
	}
	st = blkfront_raw_wait(bf, 10 * NSEC_PER_SEC);
	printk("blk-hostile: %s: status %d%s\n", name, st, st == want ? "" : " (UNEXPECTED)");
	return st == want ? 0 : -1;
}

/*
 * blk-hostile: malformed requests (bad grant, past the end, bad segment,
 * unknown op, too many indirect segments) must get errors while the device
 * keeps working; then a corrupt req_prod must get the device cut off.
 */
int app_blk_hostile(int argc, char **argv)
{
	struct blkfront *bf;
	blkif_request_t req;
	blkif_request_indirect_t *ind = (blkif_request_indirect_t *)&req;
	uint8_t *page = alloc_pages(1, 1);
	int rc, fails = 0;

	if ((rc = blkfront_open(0, 0, WAIT_NS, &bf)) < 0) {
		printk("blk-hostile: FAIL open: %d\n", rc);
		return 1;
	}
	struct blkfront_slot *s = &bf->slot[0];
#define RESET(op, n) do { memset(&req, 0, sizeof(req)); req.operation = (op); req.nr_segments = (n); \
	req.handle = (blkif_vdev_t)bf->info.devid; } while (0)
	RESET(BLKIF_OP_READ, 1);
	req.seg[0] = (struct blkif_request_segment){ .gref = 3000000, .first_sect = 0, .last_sect = 7 };
	fails += hostile_one(bf, "invalid grant ref", &req, BLKIF_RSP_ERROR);
	RESET(BLKIF_OP_READ, 1);
	req.seg[0] = (struct blkif_request_segment){ .gref = s->grefs[0], .first_sect = 0, .last_sect = 7 };
	req.sector_number = bf->info.sectors - 4;
	fails += hostile_one(bf, "sectors past the end", &req, BLKIF_RSP_ERROR);
	req.sector_number = ~0ULL - 2;
	fails += hostile_one(bf, "sector near 2^64", &req, BLKIF_RSP_ERROR);
	RESET(BLKIF_OP_WRITE, 1);
	req.seg[0] = (struct blkif_request_segment){ .gref = s->grefs[0], .first_sect = 2, .last_sect = 12 };
	fails += hostile_one(bf, "oversized segment", &req, BLKIF_RSP_ERROR);
	RESET(BLKIF_OP_READ, 1);
	req.seg[0] = (struct blkif_request_segment){ .gref = s->grefs[0], .first_sect = 5, .last_sect = 4 };
	fails += hostile_one(bf, "segment ending before it starts", &req, BLKIF_RSP_ERROR);
	RESET(BLKIF_OP_READ, 200);
	fails += hostile_one(bf, "200 direct segments", &req, BLKIF_RSP_ERROR);
	RESET(99, 0);
	fails += hostile_one(bf, "unknown operation", &req, BLKIF_RSP_EOPNOTSUPP);
	RESET(BLKIF_OP_INDIRECT, 0);
	ind->indirect_op = BLKIF_OP_READ;
	ind->nr_segments = 4000;
	ind->indirect_grefs[0] = s->ind_gref;
	fails += hostile_one(bf, "4000 indirect segments", &req, BLKIF_RSP_ERROR);
	RESET(BLKIF_OP_INDIRECT, 0);
	ind->indirect_op = BLKIF_OP_READ;
	ind->nr_segments = 2;
	ind->indirect_grefs[0] = 2999999;
	fails += hostile_one(bf, "invalid indirect page grant", &req, BLKIF_RSP_ERROR);
	/* A read would write into a page granted read-only: the map must fail. */
	int ro = gnttab_grant_foreign_access(bf->info.backend_id, (uint64_t)page >> PAGE_SHIFT, true);
	RESET(BLKIF_OP_READ, 1);
	req.seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)ro, .first_sect = 0, .last_sect = 7 };
	fails += hostile_one(bf, "read into a read-only grant", &req, BLKIF_RSP_ERROR);
	rc = blkfront_rw(bf, false, 0, page, PAGE_SIZE);
	printk("blk-hostile: a good read afterwards: %d\n", rc);
	if (rc)
		fails++;
	/* Now the ring itself: req_prod far ahead of anything real. */
	bf->ring.sring->req_prod = bf->ring.req_prod_pvt + 100000;
	evtchn_send(bf->port);
	uint64_t deadline = clock_now_ns() + 10 * NSEC_PER_SEC;
	while (!bf->dead && clock_now_ns() < deadline)
		msleep(20);
	printk("blk-hostile: corrupt req_prod: %s\n", bf->dead ? "backend closed the device" : "STILL OPEN");
	if (!bf->dead)
		fails++;
	printk("blk-hostile: %s\n", fails ? "FAILED" : "OK");
	return fails ? 1 : 0;
}

/* blk-hotplug: waits for a vbd, checks it, and follows the backend's close sequence when it is detached. */
int app_blk_hotplug(int argc, char **argv)
{
	struct blkfront *bf;
	uint8_t *buf = alloc_pages(CHUNK / PAGE_SIZE, 1);
	int rc;

	printk("blk-hotplug: waiting for a vbd\n");
	if (!buf || (rc = blkfront_open(0, RING_ORDER, 120 * NSEC_PER_SEC, &bf)) < 0) {
		printk("blk-hotplug: FAIL open\n");
		return 1;
	}
	print_info("blk-hotplug", bf);
	fill((uint64_t *)buf, CHUNK, 0, 7);
	if ((rc = blkfront_rw(bf, true, 0, buf, CHUNK)) || (rc = blkfront_rw(bf, false, 0, buf, CHUNK)) ||
	    check((uint64_t *)buf, CHUNK, 0, 7) >= 0) {
		printk("blk-hotplug: FAIL I/O: %d\n", rc);
		return 1;
	}
	printk("blk-hotplug: connected and verified; waiting for the detach\n");
	while (!bf->dead)
		msleep(20);
	printk("blk-hotplug: detached; I/O now gives %d\n", blkfront_rw(bf, false, 0, buf, PAGE_SIZE));
	for (;;)
		msleep(1000);
}
