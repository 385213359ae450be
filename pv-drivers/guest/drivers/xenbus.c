/* xenbus comms: the store ring and its event channel, the reader thread, and request/reply matching by req_id. */
#include "xenbus_priv.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "smp.h"

/* One request waiting for its reply, allocated by its sender, which alone frees it. */
struct xb_req {
	struct xb_req *next;
	uint32_t req_id;
	bool done;
	int err;                     /* set instead of a reply when the stream broke */
	struct xsd_sockmsg hdr;
	char *body;
	struct waitq wq;
};

struct xenbus_stats xb_stats;

static struct xenstore_domain_interface *intf;
static evtchn_port_t store_port;
static bool initialised;
/* Set once the stream cannot be trusted (corrupt indices, oversized reply, a message cut short). */
static bool broken;
static struct waitq ring_wq;      /* the store event: replies arrived or request space freed */
static struct waitq writer_wq;    /* one writer at a time, so messages never interleave */
static bool writer_busy;
static struct xb_req *pending;
static uint32_t next_req_id = 1;
static struct xb_rx rx;

/* Kick intervals while waiting for a reply: the daemon may attach to our ring late. */
#define KICK_FIRST_NS (100 * NSEC_PER_MSEC)
#define KICK_MAX_NS   (30 * NSEC_PER_SEC)   /* idle guests without xenstore stay cheap */

static void xb_notify(void)
{
	xb_stats.notifies++;
	evtchn_send(store_port);
}

/* Event handler: runs masked on whatever stack it interrupted, so it only wakes threads. */
static void xb_event(evtchn_port_t port, void *arg)
{
	wake_up(&ring_wq);
}

static void xb_unlink(struct xb_req *req)
{
	for (struct xb_req **pp = &pending; *pp; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			return;
		}
	}
}

static void xb_break(const char *why, int err)
{
	if (!broken)
		printk("xenbus: store connection broken: %s (%d); further requests fail\n", why, err);
	broken = true;
	while (pending) {
		struct xb_req *req = pending;

		pending = req->next;
		req->err = -XEN_EIO;
		req->done = true;
		wake_up(&req->wq);
	}
	wake_up(&ring_wq);
	wake_up(&writer_wq);
}

static void xb_dispatch(void)
{
	if (rx.hdr.type == XS_WATCH_EVENT) {
		xb_stats.watch_events++;
		if (rx.oversize)
			printk("xenbus: dropped a watch event of %u bytes\n", (unsigned)rx.hdr.len);
		else
			xb_watch_queue(rx.body, rx.hdr.len);
		return;
	}
	for (struct xb_req *req = pending; req; req = req->next) {
		if (req->req_id != rx.hdr.req_id)
			continue;
		xb_unlink(req);
		req->hdr = rx.hdr;
		req->body = rx.oversize ? NULL : malloc(rx.hdr.len + 1);
		if (rx.oversize)
			req->err = -XEN_E2BIG;
		else if (req->body)
			memcpy(req->body, rx.body, rx.hdr.len + 1);
		else
			req->err = -XEN_ENOMEM;
		req->done = true;
		xb_stats.replies++;
		wake_up(&req->wq);
		return;
	}
	/* A reply to a request that timed out, or a daemon's invention: nobody wants it. */
	xb_stats.stray++;
}

/* The "xenbus" thread: drains the response ring and hands each message to its owner. */
static void xb_reader(void *arg)
{
	for (;;) {
		int avail;

		wait_event(&ring_wq, broken || xb_ring_rsp_avail(intf) != 0);
		if (broken)
			break;
		avail = xb_ring_rsp_avail(intf);
		int rc = xb_rx_pull(&rx, intf);

		/* As Linux: the daemon only waits for space when the ring was full. */
		if (avail == XENSTORE_RING_SIZE)
			xb_notify();
		if (rc < 0) {
			xb_break("corrupt response ring indices", rc);
			break;
		}
		if (rc == 1) {
			xb_dispatch();
			xb_rx_reset(&rx);
		}
	}
}

/*
 * Writes one whole message. A message that fits the ring goes in only
 * once there is room for all of it, so a timeout never leaves half a
 * message behind; a bigger one is streamed, and a timeout half-way breaks
 * the connection (the daemon would read garbage after it).
 */
static int xb_send(const char *msg, size_t len, uint64_t deadline)
{
	size_t off = 0;
	int rc = 0;
	int flags = evt_save_disable();

	while (writer_busy && !broken) {
		if (sched_wait(&writer_wq, deadline) < 0 && writer_busy) {
			evt_restore(flags);
			return -XEN_ETIMEDOUT;
		}
	}
	writer_busy = true;
	evt_restore(flags);
	while (off < len && !broken) {
		size_t need = len <= XENSTORE_RING_SIZE ? len - off : 1;
		uint64_t now = clock_now_ns();
		int space;

		if (now >= deadline ||
		    wait_event_timeout(&ring_wq, broken || xb_ring_req_space(intf) < 0 ||
				       (size_t)xb_ring_req_space(intf) >= need, deadline - now) < 0) {
			if (off)
				xb_break("request cut short by a timeout", -XEN_ETIMEDOUT);
			rc = -XEN_ETIMEDOUT;
			break;
		}
		space = xb_ring_write(intf, msg + off, len - off);
		if (space < 0) {
			xb_break("corrupt request ring indices", space);
			break;
		}
		off += (size_t)space;
		xb_notify();
	}
	if (!rc && broken)
		rc = -XEN_EIO;
	writer_busy = false;
	wake_up(&writer_wq);
	return rc;
}

int xb_request(uint32_t type, xenbus_transaction_t t, const struct xb_part *parts, unsigned n,
	       char **reply, unsigned *len, uint64_t timeout_ns)
{
	struct xb_req *req = NULL;
	uint64_t deadline, kick, kick_ns = KICK_FIRST_NS;
	size_t size = sizeof(struct xsd_sockmsg);
	char *msg = NULL;
	int rc;

	if (!initialised)
		return -XEN_ENODEV;
	if (broken)
		return -XEN_EIO;
	if (smp_id() != 0)
		return -XEN_EINVAL;   /* the store port only wakes vCPU 0's threads */
	for (unsigned i = 0; i < n; i++)
		size += parts[i].len;
	if (size > XB_MSG_MAX)
		return -XEN_E2BIG;
	deadline = clock_now_ns() + (timeout_ns ? timeout_ns : XENBUS_TIMEOUT_NS);
	msg = malloc(size);
	req = calloc(1, sizeof(*req));
	if (!msg || !req) {
		rc = -XEN_ENOMEM;
		goto out;
	}
	req->req_id = next_req_id++;
	rc = xb_msg_build(msg, size, type, req->req_id, t, parts, n);
	if (rc < 0)
		goto out;
	/* Listed before it is sent: the reader may see the reply as soon as the daemon does. */
	req->next = pending;
	pending = req;
	xb_stats.requests++;
	rc = xb_send(msg, (size_t)rc, deadline);
	if (rc) {
		xb_unlink(req);
		goto out;
	}
	for (;;) {
		uint64_t now = clock_now_ns();

		if (now >= deadline)
			break;
		kick = MIN(deadline, now + kick_ns);
		if (wait_event_timeout(&req->wq, req->done, kick - now) == 0)
			break;
		xb_notify();
		kick_ns = MIN(kick_ns * 2, KICK_MAX_NS);
	}
	if (!req->done) {
		xb_unlink(req);
		xb_stats.timeouts++;
		rc = -XEN_ETIMEDOUT;
		goto out;
	}
	if (req->err) {
		rc = req->err;
		goto out;
	}
	rc = xb_reply_status(&req->hdr, req->body, type);
	if (rc)
		goto out;
	if (reply) {
		*reply = req->body;
		req->body = NULL;
	}
	if (len)
		*len = req->hdr.len;
out:
	if (rc && rc != -XEN_ETIMEDOUT)
		xb_stats.errors++;
	if (req)
		free(req->body);
	free(req);
	free(msg);
	return rc;
}

int xenbus_init(void)
{
	int rc;

	if (initialised)
		return 0;
	if (!start_info->store_mfn || !start_info->store_evtchn)
		return -XEN_ENODEV;
	/* Auto-translated, v == p: the store "mfn" is our own page number. */
	intf = (struct xenstore_domain_interface *)(start_info->store_mfn << PAGE_SHIFT);
	store_port = start_info->store_evtchn;
	xb_rx_reset(&rx);
	initialised = true;
	if (!thread_create("xenbus", xb_reader, NULL)) {
		rc = -XEN_ENOMEM;
		goto out;
	}
	rc = xb_watch_init();
	if (rc)
		goto out;
	/* The builder allocated the port (unbound, for dom0): we only take its events. */
	evtchn_set_handler(store_port, 0, xb_event, NULL);
	evtchn_unmask(store_port);
out:
	if (rc)
		xb_break("initialisation failed", rc);
	return rc;
}

bool xenbus_ready(void)
{
	return initialised && !broken;
}

void xenbus_get_stats(struct xenbus_stats *st)
{
	*st = xb_stats;
}
