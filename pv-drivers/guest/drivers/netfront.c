/* netfront: shared tx/rx rings with persistently granted buffers, the xenbus handshake, rx dispatch from the "netfront" thread. */
#include "netfront.h"
#include "console.h"
#include "clock.h"
#include "events.h"
#include "gnttab.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "xenbus.h"

#define xen_mb() mb()
#define xen_wmb() barrier()
#define xen_rmb() barrier()
#define rmb() barrier()
#define wmb() barrier()
#include <xen/io/ring.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#define NR_TX __CONST_RING_SIZE(netif_tx, 4096)
#define NR_RX __CONST_RING_SIZE(netif_rx, 4096)
#define TX_FREE_END 0xffff

static struct {
	bool up, connected;
	unsigned devid;
	domid_t backend_id;
	char fe[64], be[96];
	uint8_t mac[6];
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	grant_ref_t tx_ring_ref, rx_ring_ref;
	evtchn_port_t port;
	void *tx_buf[NR_TX];
	grant_ref_t tx_gref[NR_TX];
	uint16_t tx_free[NR_TX];      /* stack of free tx buffer ids */
	unsigned tx_nfree;
	void *rx_buf[NR_RX];
	grant_ref_t rx_gref[NR_RX];
	uint8_t *rx_big;              /* multi-slot frames are gathered here */
	netfront_rx_fn rx_fn;
	struct waitq wq_thread, wq_tx, wq_state;
	struct netfront_stats st;
	int be_state;
	bool be_quiet;                /* the backend announces a quiet ring's tail (feature-kxen-rx-quiet-us) */
} nf;

static void on_event(evtchn_port_t port, void *arg)
{
	nf.st.events++;
	wake_up(&nf.wq_thread);
	wake_up(&nf.wq_tx);
}

void netfront_notify(void)
{
	nf.st.notifies++;
	evtchn_send(nf.port);
}

static void rx_post(uint16_t id)
{
	netif_rx_request_t *req = RING_GET_REQUEST(&nf.rx, nf.rx.req_prod_pvt);

	req->id = id;
	req->gref = nf.rx_gref[id];
	nf.rx.req_prod_pvt++;
}

/*
 * Notification thresholds (the rings' rsp_event): each notification the
 * backend sends is a wake-up, and a block before it, on kvm_pvm two exits.
 * Tx responses only return buffers, which a sender needs only once it has
 * none: it asks to be told when three quarters of what is in flight are
 * done (a quarter still in flight keeps the backend busy while we refill).
 * Rx is told at the first response unless the last pass found a stream (at
 * least RX_STREAM frames, or RX_STREAM_KEEP while one lasts); then after
 * RX_BATCH more. The tail of a burst
 * (fewer than RX_BATCH) is announced by kxen's backend after its ring has
 * been quiet feature-kxen-rx-quiet-us; another backend gets a timer of ours
 * instead, RX_LINGER_NS after we block (each one costs exits: set_timer_op,
 * and a kick when it fires while we run).
 */
#define RX_STREAM     32
#define RX_STREAM_KEEP 8            /* a stream slowed down by a busy host stays one until passes get this small */
#define RX_BATCH      (NR_RX * 3 / 4)
#define RX_LINGER_NS  1000000ull
#define RX_QUIET_MAX_US 100000ul    /* a backend's quiet longer than this: our timer instead */
static bool rx_streaming;

/* RING_FINAL_CHECK_FOR_RESPONSES with the event after batch (>= 1) more responses. */
#define FINAL_CHECK_AFTER(r, batch, more) do {                                  \
	(r)->sring->rsp_event = (r)->rsp_cons + (batch);                      \
	mb();                                                                 \
	(more) = RING_HAS_UNCONSUMED_RESPONSES(r);                            \
} while (0)

/* Tx responses: buffers back to the free stack. */
static void tx_reap(void)
{
	RING_IDX prod, i;
	int more;

	do {
		prod = nf.tx.sring->rsp_prod;
		rmb();
		for (i = nf.tx.rsp_cons; i != prod; i++) {
			netif_tx_response_t *rsp = RING_GET_RESPONSE(&nf.tx, i);

			if (rsp->status == NETIF_RSP_NULL)
				continue;
			if (rsp->status != NETIF_RSP_OKAY)
				nf.st.tx_errors++;
			if (rsp->id < NR_TX && nf.tx_nfree < NR_TX)
				nf.tx_free[nf.tx_nfree++] = rsp->id;
		}
		nf.tx.rsp_cons = prod;
		RING_IDX inflight = nf.tx.req_prod_pvt - nf.tx.rsp_cons;
		FINAL_CHECK_AFTER(&nf.tx, inflight > 4 ? inflight * 3 / 4 : 1, more);
	} while (more);
}

/* Rx responses: frames to the stack, buffers re-posted. */
static void rx_process(void)
{
	/* A multi-slot frame may straddle two passes: its gathering state outlives one call. */
	static unsigned big_len;
	static bool big_bad;
	RING_IDX prod, i;
	int more, notify;
	unsigned got = 0;

	do {
		prod = nf.rx.sring->rsp_prod;
		rmb();
		for (i = nf.rx.rsp_cons; i != prod; i++) {
			netif_rx_response_t rsp = *RING_GET_RESPONSE(&nf.rx, i);
			uint16_t id = rsp.id < NR_RX ? rsp.id : 0;
			bool more_data = rsp.flags & NETRXF_more_data;

			if (rsp.status < 0 || rsp.offset + rsp.status > (int)PAGE_SIZE) {
				nf.st.rx_errors++;
				big_bad = true;
			} else if (more_data || big_len) {
				if (big_len + (unsigned)rsp.status <= 65536)
					memcpy(nf.rx_big + big_len, (uint8_t *)nf.rx_buf[id] + rsp.offset, rsp.status);
				else
					big_bad = true;
				big_len += (unsigned)rsp.status;
			} else {
				nf.st.rx_pkts++;
				nf.rx_fn((uint8_t *)nf.rx_buf[id] + rsp.offset, (unsigned)rsp.status);
			}
			if (!more_data && big_len) {
				if (!big_bad) {
					nf.st.rx_pkts++;
					nf.rx_fn(nf.rx_big, big_len);
				}
				big_len = 0;
				big_bad = false;
			}
			rx_post(id);
			got++;
		}
		nf.rx.rsp_cons = prod;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf.rx, notify);
		if (notify)
			netfront_notify();
		rx_streaming = got >= RX_STREAM || (rx_streaming && got >= RX_STREAM_KEEP);
		FINAL_CHECK_AFTER(&nf.rx, rx_streaming ? RX_BATCH : 1, more);
	} while (more);
}

static void netfront_thread(void *arg)
{
	for (;;) {
		rx_process();
		tx_reap();
		wake_up(&nf.wq_tx);
		/* Streaming, the backend tells us after RX_BATCH frames: the tail of a burst waits for its quiet or our linger. */
		uint64_t linger = rx_streaming && !nf.be_quiet ? RX_LINGER_NS : 0;
		wait_event_timeout(&nf.wq_thread,
		                   RING_HAS_UNCONSUMED_RESPONSES(&nf.rx) || RING_HAS_UNCONSUMED_RESPONSES(&nf.tx),
		                   linger);
	}
}

/*
 * What a thread waiting for a tx buffer waits for. The netfront thread reaps
 * tx responses too: by the time a waiter runs, the responses that woke it may
 * already be consumed and their buffers back on the free stack, so a free
 * buffer must satisfy the wait as well (waiting only for unconsumed responses
 * slept until the timeout with every buffer free: the bench_net "got N of 0").
 */
static bool tx_buf_ready(void)
{
	return nf.tx_nfree || RING_HAS_UNCONSUMED_RESPONSES(&nf.tx) || !nf.connected;
}

void *netfront_tx_buf(uint64_t timeout_ns)
{
	uint64_t dl = timeout_ns ? clock_now_ns() + timeout_ns : 0;

	while (!nf.tx_nfree) {
		int more;

		tx_reap();
		if (nf.tx_nfree)
			break;
		/* tx_reap left the event at 3/4 of what is in flight: one wake-up frees many buffers. */
		more = RING_HAS_UNCONSUMED_RESPONSES(&nf.tx);
		if (more)
			continue;
		if (!nf.connected)
			return NULL;
		if (wait_event_timeout(&nf.wq_tx, tx_buf_ready(),
		                       dl ? (dl > clock_now_ns() ? dl - clock_now_ns() : 1) : 0) < 0) {
			nf.st.tx_stalls++;
			return NULL;
		}
	}
	return nf.tx_buf[nf.tx_free[--nf.tx_nfree]];
}

int netfront_tx_send(void *buf, unsigned len)
{
	netif_tx_request_t *req;
	unsigned id;
	int notify;

	for (id = 0; id < NR_TX && nf.tx_buf[id] != buf; id++)
		;
	if (id == NR_TX || len > PAGE_SIZE || len == 0)
		return -XEN_EINVAL;
	req = RING_GET_REQUEST(&nf.tx, nf.tx.req_prod_pvt);
	req->gref = nf.tx_gref[id];
	req->offset = 0;
	req->flags = 0;
	req->id = (uint16_t)id;
	req->size = (uint16_t)len;
	nf.tx.req_prod_pvt++;
	nf.st.tx_pkts++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf.tx, notify);
	if (notify)
		netfront_notify();
	return 0;
}

int netfront_xmit(const void *frame, unsigned len)
{
	void *buf;

	if (len > PAGE_SIZE)
		return -XEN_EINVAL;
	buf = netfront_tx_buf(NSEC_PER_SEC);
	if (!buf)
		return -XEN_EAGAIN;
	memcpy(buf, frame, len);
	return netfront_tx_send(buf, len);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		const char *end;
		unsigned long b = strtoul(s, &end, 16);

		if (end == s || b > 255 || (i < 5 && *end != ':') || (i == 5 && *end))
			return -XEN_EINVAL;
		mac[i] = (uint8_t)b;
		s = end + 1;
	}
	return 0;
}

static void be_state_watch(const char *path, const char *token, void *arg)
{
	unsigned long st = 0;
	char p[128];

	snprintf(p, sizeof(p), "%s/state", nf.be);
	if (xenbus_read_ulong(XBT_NIL, p, &st) == 0)
		nf.be_state = (int)st;
	if (nf.be_state == XenbusStateClosing || nf.be_state == XenbusStateClosed) {
		/* The backend is closing (detach, or it cut us off): finish our half of the close. */
		if (nf.connected) {
			nf.connected = false;
			printk("netfront: vif%u: backend is closing (state %d): disconnecting\n", nf.devid, nf.be_state);
		}
		snprintf(p, sizeof(p), "%s/state", nf.fe);
		xenbus_printf(XBT_NIL, p, "%d", nf.be_state == XenbusStateClosing ? XenbusStateClosing
		                                                               : XenbusStateClosed);
		if (nf.be_state == XenbusStateClosing)
			xenbus_printf(XBT_NIL, p, "%d", XenbusStateClosed);
	}
	wake_up(&nf.wq_state);
	wake_up(&nf.wq_tx);
}

static int fe_write(const char *key, const char *fmt, unsigned long v)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", nf.fe, key);
	return xenbus_printf(XBT_NIL, p, fmt, v);
}

char *netfront_backend_read(const char *key)
{
	char p[160], *v = NULL;

	snprintf(p, sizeof(p), "%s/%s", nf.be, key);
	return xenbus_read(XBT_NIL, p, &v, NULL) ? NULL : v;
}

static int alloc_buffers(void)
{
	int r;

	for (unsigned i = 0; i < NR_TX; i++) {
		nf.tx_buf[i] = alloc_pages(1, 1);
		if (!nf.tx_buf[i])
			return -XEN_ENOMEM;
		r = gnttab_grant_foreign_access(nf.backend_id, (uint64_t)nf.tx_buf[i] >> PAGE_SHIFT, true);
		if (r < 0)
			return r;
		nf.tx_gref[i] = (grant_ref_t)r;
		nf.tx_free[nf.tx_nfree++] = (uint16_t)(NR_TX - 1 - i);
	}
	for (unsigned i = 0; i < NR_RX; i++) {
		nf.rx_buf[i] = alloc_pages(1, 1);
		if (!nf.rx_buf[i])
			return -XEN_ENOMEM;
		r = gnttab_grant_foreign_access(nf.backend_id, (uint64_t)nf.rx_buf[i] >> PAGE_SHIFT, false);
		if (r < 0)
			return r;
		nf.rx_gref[i] = (grant_ref_t)r;
	}
	nf.rx_big = alloc_pages(16, 1);
	return nf.rx_big ? 0 : -XEN_ENOMEM;
}

int netfront_init(unsigned devid, netfront_rx_fn rx, uint64_t timeout_ns)
{
	char p[128], *s = NULL;
	unsigned long beid = 0, quiet_us = 0;
	netif_tx_sring_t *txs;
	netif_rx_sring_t *rxs;
	int rc;

	if (nf.up)
		return -XEN_EEXIST;
	nf.devid = devid;
	nf.rx_fn = rx;
	snprintf(nf.fe, sizeof(nf.fe), "device/vif/%u", devid);
	snprintf(p, sizeof(p), "%s/backend", nf.fe);
	/* The device may be hot-plugged after we boot (kxl network-attach): wait for it. */
	for (uint64_t dl = clock_now_ns() + timeout_ns;;) {
		rc = xenbus_read(XBT_NIL, p, &s, NULL);
		if (rc != -XEN_ENOENT)
			break;
		if (clock_now_ns() >= dl)
			return -XEN_ENODEV;
		msleep(100);
	}
	if (rc < 0)
		return rc;
	strlcpy(nf.be, s, sizeof(nf.be));
	free(s);
	snprintf(p, sizeof(p), "%s/backend-id", nf.fe);
	if ((rc = xenbus_read_ulong(XBT_NIL, p, &beid)) < 0)
		return rc;
	nf.backend_id = (domid_t)beid;
	snprintf(p, sizeof(p), "%s/mac", nf.fe);
	if ((rc = xenbus_read(XBT_NIL, p, &s, NULL)) < 0)
		return rc;
	rc = parse_mac(s, nf.mac);
	free(s);
	if (rc)
		return rc;
	rc = gnttab_init(4);
	if (rc < 0 && rc != -XEN_EEXIST)
		return rc;
	txs = alloc_pages(1, 1);
	rxs = alloc_pages(1, 1);
	if (!txs || !rxs)
		return -XEN_ENOMEM;
	SHARED_RING_INIT(txs);
	FRONT_RING_INIT(&nf.tx, txs, PAGE_SIZE);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&nf.rx, rxs, PAGE_SIZE);
	if ((rc = alloc_buffers()) < 0)
		return rc;
	if ((rc = gnttab_grant_foreign_access(nf.backend_id, (uint64_t)txs >> PAGE_SHIFT, false)) < 0)
		return rc;
	nf.tx_ring_ref = (grant_ref_t)rc;
	if ((rc = gnttab_grant_foreign_access(nf.backend_id, (uint64_t)rxs >> PAGE_SHIFT, false)) < 0)
		return rc;
	nf.rx_ring_ref = (grant_ref_t)rc;
	if ((rc = evtchn_alloc_unbound(nf.backend_id, on_event, NULL)) < 0)
		return rc;
	nf.port = (evtchn_port_t)rc;
	for (unsigned i = 0; i < NR_RX; i++)
		rx_post((uint16_t)i);
	RING_PUSH_REQUESTS(&nf.rx);
	if (!thread_create("netfront", netfront_thread, NULL))
		return -XEN_ENOMEM;
	nf.up = true;
	if ((rc = fe_write("tx-ring-ref", "%lu", nf.tx_ring_ref)) < 0 ||
	    (rc = fe_write("rx-ring-ref", "%lu", nf.rx_ring_ref)) < 0 ||
	    (rc = fe_write("event-channel", "%lu", nf.port)) < 0 ||
	    (rc = fe_write("request-rx-copy", "%lu", 1)) < 0 ||
	    (rc = fe_write("feature-rx-notify", "%lu", 1)) < 0 ||
	    (rc = fe_write("feature-sg", "%lu", 1)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/state", nf.be);
	if ((rc = xenbus_watch(p, "netfront-be", be_state_watch, NULL)) < 0)
		return rc;
	/* As Linux netfront: Connected once our keys are written and the backend waits for them. */
	if (wait_event_timeout(&nf.wq_state, nf.be_state == XenbusStateInitWait ||
	                       nf.be_state == XenbusStateConnected || nf.be_state >= XenbusStateClosing,
	                       timeout_ns) < 0)
		return -XEN_ETIMEDOUT;
	if (nf.be_state >= XenbusStateClosing)
		return -XEN_EIO;
	if ((rc = fe_write("state", "%lu", XenbusStateConnected)) < 0)
		return rc;
	if (wait_event_timeout(&nf.wq_state, nf.be_state == XenbusStateConnected ||
	                       nf.be_state >= XenbusStateClosing, timeout_ns) < 0)
		return -XEN_ETIMEDOUT;
	if (nf.be_state != XenbusStateConnected)
		return -XEN_EIO;
	snprintf(p, sizeof(p), "%s/feature-kxen-rx-quiet-us", nf.be);
	nf.be_quiet = xenbus_read_ulong(XBT_NIL, p, &quiet_us) == 0 && quiet_us > 0 && quiet_us <= RX_QUIET_MAX_US;
	nf.connected = true;
	printk("netfront: vif%u connected (mac %02x:%02x:%02x:%02x:%02x:%02x, backend d%u)\n", devid,
	       nf.mac[0], nf.mac[1], nf.mac[2], nf.mac[3], nf.mac[4], nf.mac[5], nf.backend_id);
	return 0;
}

void netfront_mac(uint8_t mac[6])
{
	memcpy(mac, nf.mac, 6);
}

bool netfront_connected(void)
{
	return nf.connected;
}

void netfront_get_stats(struct netfront_stats *st)
{
	*st = nf.st;
}

struct netif_tx_sring *netfront_tx_sring(void)
{
	return nf.tx.sring;
}

uint32_t netfront_tx_gref(unsigned i)
{
	return i < NR_TX ? nf.tx_gref[i] : 0;
}

int netfront_tx_raw(uint32_t gref, uint16_t offset, uint16_t flags, uint16_t size)
{
	netif_tx_request_t *req = RING_GET_REQUEST(&nf.tx, nf.tx.req_prod_pvt);

	req->gref = gref;
	req->offset = offset;
	req->flags = flags;
	req->id = 0xffff;   /* no buffer of ours: its response frees nothing */
	req->size = size;
	nf.tx.req_prod_pvt++;
	RING_PUSH_REQUESTS(&nf.tx);
	netfront_notify();
	return 0;
}
