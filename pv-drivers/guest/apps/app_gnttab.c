/* `gnttab-test`: grants pages to dom0 and checks Xen's grant protocol with a dom0 peer; `gnttab-grant N` grants N pages for bench_gnttab. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"

#define PEER_WAIT_NS   (60 * NSEC_PER_SEC)
#define END_RETRY_NS   (5 * NSEC_PER_SEC)
#define DOM0_REPLY     "hello from dom0"

struct peer {
	volatile uint64_t events;
	struct waitq wq;
};

static void peer_event(evtchn_port_t port, void *arg)
{
	struct peer *p = arg;

	(void)port;
	p->events++;
	wake_up(&p->wq);
}

static uint8_t pattern(unsigned seed, unsigned i)
{
	return (uint8_t)(i * 7 + seed);
}

static void *pattern_page(unsigned seed)
{
	uint8_t *p = alloc_pages(1, 1);

	if (p)
		for (unsigned i = 0; i < PAGE_SIZE; i++)
			p[i] = pattern(seed, i);
	return p;
}

/* Checks the ABI a guest sees before any peer is involved: versions, sizes, local copies. */
static int selftest(void)
{
	struct gnttab_set_version sv = { .version = 2 };
	uint32_t nr, max;
	long rc;

	if ((rc = gnttab_op(GNTTABOP_set_version, &sv, 1)) != -XEN_ENOSYS) {
		printk("gnttab-test: FAIL set_version(2) = %ld, want -ENOSYS\n", rc);
		return -1;
	}
	if (gnttab_query_size(&nr, &max) < 0 || nr == 0 || nr > max) {
		printk("gnttab-test: FAIL query_size\n");
		return -1;
	}
	printk("gnttab-test: query_size: %u of %u frames\n", nr, max);
	uint8_t *a = pattern_page(1), *b = alloc_pages(1, 1);
	if (!a || !b)
		return -1;
	struct gnttab_copy c[2] = {
		{ .source = { .u.gmfn = (uint64_t)a >> PAGE_SHIFT, .domid = DOMID_SELF, .offset = 100 },
		  .dest = { .u.gmfn = (uint64_t)b >> PAGE_SHIFT, .domid = DOMID_SELF },
		  .len = 1000 },
		/* Our page tables are not ours to copy from. */
		{ .source = { .u.gmfn = 1, .domid = DOMID_SELF },
		  .dest = { .u.gmfn = (uint64_t)b >> PAGE_SHIFT, .domid = DOMID_SELF }, .len = 8 },
	};
	if ((rc = gnttab_copy(c, 2)) < 0 || c[0].status != GNTST_okay || c[1].status != GNTST_bad_page ||
	    memcmp(a + 100, b, 1000) != 0) {
		printk("gnttab-test: FAIL local copy: rc %ld, status %d %d\n", rc, c[0].status, c[1].status);
		return -1;
	}
	printk("gnttab-test: %u of %u frames, v2 refused, local copy ok\n", nr, max);
	free_pages(a, 1);
	free_pages(b, 1);
	return 0;
}

/* end_access is refused while dom0 maps the ref; dom0's unmap may take a moment to land. */
static int end_when_unmapped(grant_ref_t ref)
{
	uint64_t deadline = clock_now_ns() + END_RETRY_NS;
	int rc;

	while ((rc = gnttab_end_foreign_access(ref)) == -XEN_EBUSY && clock_now_ns() < deadline)
		msleep(5);
	return rc;
}

int app_gnttab_test(int argc, char **argv)
{
	static struct peer peer;
	int rc, port;

	if ((rc = gnttab_init(4)) < 0) {
		printk("gnttab-test: FAIL gnttab_init: %d\n", rc);
		return 1;
	}
	if (selftest() < 0)
		return 1;
	uint8_t *rw = pattern_page(3), *ro = pattern_page(5), *other = pattern_page(9);
	if (!rw || !ro || !other)
		return 1;
	int ref_rw = gnttab_grant_foreign_access(0, (uint64_t)rw >> PAGE_SHIFT, false);
	int ref_ro = gnttab_grant_foreign_access(0, (uint64_t)ro >> PAGE_SHIFT, true);
	/* Granted to some other domain: dom0 must not be able to map it. */
	int ref_other = gnttab_grant_foreign_access(4000, (uint64_t)other >> PAGE_SHIFT, false);
	port = evtchn_alloc_unbound(0, peer_event, &peer);
	if (ref_rw < 0 || ref_ro < 0 || ref_other < 0 || port < 0) {
		printk("gnttab-test: FAIL grant/alloc_unbound: %d %d %d %d\n", ref_rw, ref_ro, ref_other, port);
		return 1;
	}
	printk("gnttab-test: port %d rw %d ro %d other %d\n", port, ref_rw, ref_ro, ref_other);

	/* 1: dom0 has mapped and checked both pages and written its reply. */
	if (wait_event_timeout(&peer.wq, peer.events >= 1, PEER_WAIT_NS) < 0) {
		printk("gnttab-test: FAIL no event from dom0\n");
		return 1;
	}
	if (memcmp(rw, DOM0_REPLY, sizeof(DOM0_REPLY)) != 0) {
		printk("gnttab-test: FAIL dom0's reply is not in the rw page\n");
		return 1;
	}
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		if (ro[i] != pattern(5, i)) {
			printk("gnttab-test: FAIL the readonly page changed at byte %u\n", i);
			return 1;
		}
	int busy_rw = gnttab_end_foreign_access(ref_rw), busy_ro = gnttab_end_foreign_access(ref_ro);
	printk("gnttab-test: reply seen; end while mapped: rw %d ro %d\n", busy_rw, busy_ro);
	if (busy_rw != -XEN_EBUSY || busy_ro != -XEN_EBUSY || !gnttab_query_foreign_access(ref_rw)) {
		printk("gnttab-test: FAIL ending a mapped grant was not refused\n");
		return 1;
	}
	evtchn_send(port);

	/* 2: dom0 unmapped rw and closed the connection that still mapped ro. */
	if (wait_event_timeout(&peer.wq, peer.events >= 2, PEER_WAIT_NS) < 0) {
		printk("gnttab-test: FAIL no second event from dom0\n");
		return 1;
	}
	int end_rw = end_when_unmapped(ref_rw), end_ro = end_when_unmapped(ref_ro);
	int end_other = gnttab_end_foreign_access(ref_other);
	printk("gnttab-test: end after unmap: rw %d ro %d other %d\n", end_rw, end_ro, end_other);
	if (end_rw || end_ro || end_other) {
		printk("gnttab-test: FAIL a grant could not be ended after dom0 let go\n");
		return 1;
	}
	evtchn_send(port);
	/* 3: dom0 confirms it can no longer map the ended grant. */
	if (wait_event_timeout(&peer.wq, peer.events >= 3, PEER_WAIT_NS) < 0) {
		printk("gnttab-test: FAIL no final event from dom0\n");
		return 1;
	}
	printk("gnttab-test: OK\n");
	evtchn_close(port);
	return 0;
}

int app_gnttab_grant(int argc, char **argv)
{
	static struct peer peer;
	unsigned long n = 256;
	int port;

	if (argc > 1 && (parse_ulong(argv[1], &n) < 0 || n == 0 || n > 8192)) {
		printk("gnttab-grant: usage: gnttab-grant [PAGES (1-8192)]\n");
		return 1;
	}
	unsigned frames = (unsigned)((n + GNTTAB_NR_RESERVED_ENTRIES) * sizeof(grant_entry_v1_t) +
	                             PAGE_SIZE - 1) / PAGE_SIZE;
	int rc = gnttab_init(frames);
	uint8_t *pages = alloc_pages(n, 1);
	if (rc < 0 || !pages) {
		printk("gnttab-grant: FAIL set-up: %d\n", rc);
		return 1;
	}
	int first = -1;
	for (unsigned long i = 0; i < n; i++) {
		memset(pages + i * PAGE_SIZE, (int)(i & 0xff), PAGE_SIZE);
		int ref = gnttab_grant_foreign_access(0, ((uint64_t)pages >> PAGE_SHIFT) + i, false);
		/* Refs come off the free list in order, so the batch is refs first..first+n-1. */
		if (ref < 0 || (first >= 0 && ref != first + (int)i)) {
			printk("gnttab-grant: FAIL grant %lu: %d\n", i, ref);
			return 1;
		}
		if (first < 0)
			first = ref;
	}
	port = evtchn_alloc_unbound(0, peer_event, &peer);
	if (port < 0)
		return 1;
	printk("gnttab-grant: port %d refs %d-%lu\n", port, first, first + n - 1);
	wait_event(&peer.wq, peer.events >= 1);
	printk("gnttab-grant: done\n");
	return 0;
}
