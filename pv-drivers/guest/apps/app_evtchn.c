/* `evtchn-pong PINGDOMID` echoes events; `evtchn-ping DOMID PORT [ROUNDS] [poll|upcall] [REBINDS]` measures round trips. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"

/* Pong gives up after this long without events (longer before the first one: ping boots after us). */
#define PONG_IDLE_NS   (10 * NSEC_PER_SEC)
#define PONG_FIRST_NS  (120 * NSEC_PER_SEC)
#define PING_FIRST_NS  (5 * NSEC_PER_SEC)
#define PING_ROUND_NS  (1 * NSEC_PER_SEC)

struct pong_state {
	volatile uint64_t count;
	struct waitq wq;
};

static void pong_event(evtchn_port_t port, void *arg)
{
	struct pong_state *st = arg;

	/* Echo straight from the upcall: the round trip is not delayed by a thread switch. */
	evtchn_send(port);
	st->count++;
	wake_up(&st->wq);
}

int app_evtchn_pong(int argc, char **argv)
{
	static struct pong_state st;
	unsigned long peer;
	uint64_t seen = 0;
	int port;

	if (argc < 2 || parse_ulong(argv[1], &peer) < 0 || peer >= DOMID_FIRST_RESERVED) {
		printk("evtchn-pong: usage: evtchn-pong PINGDOMID\n");
		return 1;
	}
	port = evtchn_alloc_unbound((domid_t)peer, pong_event, &st);
	if (port < 0) {
		printk("evtchn-pong: alloc_unbound for dom%lu failed: %d\n", peer, port);
		return 1;
	}
	printk("evtchn-pong: port %d\n", port);
	for (;;) {
		uint64_t timeout = seen ? PONG_IDLE_NS : PONG_FIRST_NS;

		if (wait_event_timeout(&st.wq, st.count != seen, timeout) < 0)
			break;
		seen = st.count;
	}
	printk("evtchn-pong: echoed %lu events, idle for %lu s, exiting\n", (unsigned long)st.count,
	       (unsigned long)((seen ? PONG_IDLE_NS : PONG_FIRST_NS) / NSEC_PER_SEC));
	evtchn_close(port);
	return 0;
}

struct ping_state {
	volatile uint64_t count;
	struct waitq wq;
};

static void ping_event(evtchn_port_t port, void *arg)
{
	struct ping_state *st = arg;

	st->count++;
	wake_up(&st->wq);
}

/* Heapsort: no recursion, no allocation, fine for the few thousand samples we keep. */
static void sift_down(uint32_t *a, size_t start, size_t n)
{
	size_t root = start;

	while (2 * root + 1 < n) {
		size_t child = 2 * root + 1;

		if (child + 1 < n && a[child] < a[child + 1])
			child++;
		if (a[root] >= a[child])
			return;
		uint32_t t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

static void sort_u32(uint32_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end > 1; end--) {
		uint32_t t = a[0];
		a[0] = a[end - 1];
		a[end - 1] = t;
		sift_down(a, 0, end - 1);
	}
}

/* One round trip by SCHEDOP_poll with the port masked: no upcall, no bounce frame. */
static int round_poll(evtchn_port_t port, uint64_t timeout_ns)
{
	uint64_t deadline = clock_now_ns() + timeout_ns;
	struct sched_poll poll = { .nr_ports = 1, .timeout = deadline };
	long rc;

	set_xen_guest_handle(poll.ports, &port);
	rc = evtchn_send(port);
	if (rc < 0)
		return rc;
	while (!evtchn_test_and_clear(port)) {
		if (clock_now_ns() >= deadline)
			return -XEN_ETIMEDOUT;
		rc = HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* One round trip through the upcall and the scheduler (what a driver thread would see). */
static int round_upcall(struct ping_state *st, evtchn_port_t port, uint64_t timeout_ns)
{
	uint64_t before = st->count;
	long rc = evtchn_send(port);

	if (rc < 0)
		return rc;
	return wait_event_timeout(&st->wq, st->count != before, timeout_ns) < 0 ? -XEN_ETIMEDOUT : 0;
}

int app_evtchn_ping(int argc, char **argv)
{
	static struct ping_state st;
	unsigned long domid, rport, rounds = 10000, rebinds = 0;
	bool use_poll = true;
	uint32_t *samples;
	int port, rc = 0;

	if (argc < 3 || parse_ulong(argv[1], &domid) < 0 || parse_ulong(argv[2], &rport) < 0 ||
	    (argc > 3 && parse_ulong(argv[3], &rounds) < 0) || rounds == 0 ||
	    (argc > 4 && strcmp(argv[4], "poll") && strcmp(argv[4], "upcall")) ||
	    (argc > 5 && parse_ulong(argv[5], &rebinds) < 0)) {
		printk("evtchn-ping: usage: evtchn-ping DOMID PORT [ROUNDS] [poll|upcall] [REBINDS]\n");
		return 1;
	}
	if (argc > 4 && !strcmp(argv[4], "upcall"))
		use_poll = false;
	samples = malloc(rounds * sizeof(*samples));
	if (!samples) {
		printk("evtchn-ping: no memory for %lu samples\n", rounds);
		return 1;
	}
	/* REBINDS > 0: close and bind again that many times, ROUNDS each (the figures are the last pass's). */
again:
	port = evtchn_bind_interdomain((domid_t)domid, rport, ping_event, &st);
	if (port < 0) {
		printk("evtchn-ping: bind_interdomain dom%lu port %lu failed: %d\n", domid, rport, port);
		return 1;
	}
	if (use_poll)
		evtchn_mask(port);
	printk("evtchn-ping: bound dom%lu port %lu as local port %d, %lu rounds by %s\n", domid,
	       rport, port, rounds, use_poll ? "poll" : "upcall");

	uint64_t start = clock_now_ns();

	for (unsigned long i = 0; i < rounds; i++) {
		uint64_t t0 = clock_now_ns();
		uint64_t timeout = i == 0 ? PING_FIRST_NS : PING_ROUND_NS;

		rc = use_poll ? round_poll(port, timeout) : round_upcall(&st, port, timeout);
		if (rc < 0 && use_poll && i == 0 && rc != -XEN_ETIMEDOUT) {
			/* No SCHEDOP_poll: fall back to upcalls rather than fail the test. */
			printk("evtchn-ping: SCHEDOP_poll failed (%d), using upcalls\n", rc);
			use_poll = false;
			evtchn_test_and_clear(port);
			evtchn_unmask(port);
			i--;
			start = clock_now_ns();
			continue;
		}
		if (rc < 0) {
			printk("evtchn-ping: FAIL round %lu: %s (%d)\n", i,
			       rc == -XEN_ETIMEDOUT ? "no echo" : "hypercall failed", rc);
			return 1;
		}
		uint64_t d = clock_now_ns() - t0;
		samples[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}

	uint64_t total = clock_now_ns() - start;

	sort_u32(samples, rounds);
	uint64_t median = samples[rounds / 2];
	uint64_t rate = total ? rounds * NSEC_PER_SEC / total : 0;

	printk("evtchn-ping: %lu round trips in %lu ms, %lu round trips/s, median %lu.%lu us\n",
	       rounds, total / NSEC_PER_MSEC, rate, median / 1000, (median % 1000) / 100);
	printk("evtchn-ping: min %lu ns, p99 %lu ns, max %lu ns\n", (unsigned long)samples[0],
	       (unsigned long)samples[rounds * 99 / 100], (unsigned long)samples[rounds - 1]);
	if (rebinds) {
		rebinds--;
		evtchn_close(port);
		goto again;
	}
	printk("evtchn-ping: OK\n");
	free(samples);
	evtchn_close(port);
	return 0;
}

/* Does nothing: evtchn-send's port needs a handler, and dom0 never sends on it. */
static void send_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
}

/* `evtchn-send DOMID N`: offers a port to DOMID, waits until it is bound, then times N sends (a notification's cost to the sender). */
int app_evtchn_send(int argc, char **argv)
{
	unsigned long peer, n;
	int port;

	if (argc < 3 || parse_ulong(argv[1], &peer) < 0 || peer >= DOMID_FIRST_RESERVED ||
	    parse_ulong(argv[2], &n) < 0 || n == 0) {
		printk("evtchn-send: usage: evtchn-send DOMID N\n");
		return 1;
	}
	port = evtchn_alloc_unbound((domid_t)peer, send_event, NULL);
	if (port < 0) {
		printk("evtchn-send: alloc_unbound for dom%lu failed: %d\n", peer, port);
		return 1;
	}
	printk("evtchn-send: port %d\n", port);
	uint64_t deadline = clock_now_ns() + 30 * NSEC_PER_SEC;
	for (;;) {
		struct evtchn_status st = { .dom = DOMID_SELF, .port = (evtchn_port_t)port };
		if (HYPERVISOR_event_channel_op(EVTCHNOP_status, &st) == 0 &&
		    st.status == EVTCHNSTAT_interdomain)
			break;
		if (clock_now_ns() > deadline) {
			printk("evtchn-send: FAIL: port %d not bound within 30 s\n", port);
			return 1;
		}
		msleep(1);
	}
	uint64_t t0 = clock_now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (evtchn_send((evtchn_port_t)port) < 0) {
			printk("evtchn-send: FAIL: send %lu failed\n", i);
			return 1;
		}
	uint64_t ns = clock_now_ns() - t0;
	printk("evtchn-send: %lu sends, %lu ns/send\n", n, (unsigned long)(ns / n));
	evtchn_close((evtchn_port_t)port);
	return 0;
}
