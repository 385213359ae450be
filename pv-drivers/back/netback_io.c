/* The network data path: guest tx by batched grant copies into our copy buffer, the switch, rx by batched grant copies into the guests' posted buffers. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "netback.h"
#include "netback_csum.h"

struct netback nb;

#define TX_BATCH      256
#define RX_BATCH      256
#define MAX_OPS       4096
#define TX_ROUNDS     4          /* batches one event may take before others get a turn */

static struct gnttab_copy ops[MAX_OPS];

struct txp {
	struct nb_txpkt pkt;
	struct nb_frame *f;
	unsigned op_first, op_n;
};
static struct txp txps[TX_BATCH];

struct rxs {
	uint16_t id, len;
	bool more;
	uint16_t flags;              /* NETRXF_* of a frame's first slot (csum, extra_info) */
	const struct nb_frame *gso;  /* set on a GSO extra-info slot: the frame it describes */
	unsigned op_first, op_n;
	struct nb_frame *f;          /* set on a frame's last slot */
};
static struct rxs rxss[RX_BATCH];

uint64_t nb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The quiet timer (NB_RX_QUIET_NS): one for every vif, armed while one has unannounced responses. */
static struct { int fd; uint64_t armed; } quiet = { -1, 0 };

static void kick(struct vif *v);

static void quiet_arm(uint64_t at)
{
	struct itimerspec its = { .it_value = { (time_t)(at / 1000000000ull), (long)(at % 1000000000ull) } };

	if (quiet.fd < 0 || (quiet.armed && quiet.armed <= at))
		return;
	if (timerfd_settime(quiet.fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		quiet.armed = at;
}

static void on_quiet(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	uint64_t n, now = now_ns(), next = 0;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	quiet.armed = 0;
	for (struct vif *v = nb.vifs; v; v = v->next) {
		uint64_t due = v->rx_quiet_since + NB_RX_QUIET_NS;

		if (!v->rx_quiet_since || !v->connected)
			continue;
		if (due <= now) {
			v->rx_quiet_since = 0;
			kick(v);
		} else if (!next || due < next) {
			next = due;
		}
	}
	if (next)
		quiet_arm(next);
}

/* After an rx push: announced (notify), or left for the quiet timer. */
static void rx_announce(struct vif *v, bool notify)
{
	if (notify) {
		v->rx_quiet_since = 0;
		kick(v);
		return;
	}
	v->rx_quiet_since = now_ns();
	quiet_arm(v->rx_quiet_since + NB_RX_QUIET_NS);
}

int netback_io__init(void)
{
	void *base;
	int memfd, rc;

	if ((rc = kxctrl_gnttab_copybuf(nb.hv, NB_COPYBUF_BYTES, &memfd, &base)))
		return rc;
	close(memfd);   /* the mapping is what we use; kxen-hv keeps its own */
	nb.copybuf = base;
	nb.frames = calloc(NB_NCHUNKS, sizeof(*nb.frames));
	if (!nb.frames)
		return -ENOMEM;
	for (unsigned i = 0; i < NB_NCHUNKS; i++) {
		nb.free_chunks[i] = NB_NCHUNKS - 1 - i;
		nb.frames[i].next_free = nb.free_frames;
		nb.free_frames = &nb.frames[i];
	}
	nb.nfree = NB_NCHUNKS;
	/* Without it a frontend that asked for batched rx events would wait for a burst's tail: fatal. */
	quiet.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (quiet.fd < 0)
		return -errno;
	if ((rc = kxd_loop_add(&nb.bd->loop, quiet.fd, EPOLLIN, on_quiet, NULL))) {
		close(quiet.fd);
		quiet.fd = -1;
		return rc;
	}
	return 0;
}

struct nb_frame *netback_io__frame_alloc(uint32_t len)
{
	unsigned n = (len + NB_CHUNK - 1) / NB_CHUNK;
	struct nb_frame *f = nb.free_frames;

	if (len == 0 || len > NB_FRAME_MAX || n > nb.nfree || !f)
		return NULL;
	nb.free_frames = f->next_free;
	f->len = len;
	f->nchunks = (uint16_t)n;
	f->refs = 1;
	f->csum = NB_CSUM_FULL;
	f->v6 = false;
	f->gso_type = XEN_NETIF_GSO_TYPE_NONE;
	f->gso_size = 0;
	for (unsigned i = 0; i < n; i++)
		f->chunk[i] = nb.free_chunks[--nb.nfree];
	return f;
}

void netback_io__frame_put(struct nb_frame *f)
{
	if (--f->refs)
		return;
	for (unsigned i = 0; i < f->nchunks; i++)
		nb.free_chunks[nb.nfree++] = f->chunk[i];
	f->next_free = nb.free_frames;
	nb.free_frames = f;
}

static uint8_t *chunk_ptr(uint32_t chunk)
{
	return nb.copybuf + (size_t)chunk * NB_CHUNK;
}

const uint8_t *netback_io__frame_head(const struct nb_frame *f)
{
	return chunk_ptr(f->chunk[0]);
}

void netback_io__frame_write(struct nb_frame *f, const void *buf, uint32_t len)
{
	for (uint32_t pos = 0; pos < len; pos += NB_CHUNK) {
		uint32_t n = len - pos < NB_CHUNK ? len - pos : NB_CHUNK;

		memcpy(chunk_ptr(f->chunk[pos / NB_CHUNK]), (const uint8_t *)buf + pos, n);
	}
}

static void kick(struct vif *v)
{
	uint64_t one = 1;

	if (write(v->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		kxd_log("d%" PRIu32 ": vif %" PRIu32 ": notify: %s", v->domid, v->devid, strerror(errno));
}

/* Our side of a copy: byte pos of frame f. */
static void copybuf_ptr(const struct nb_frame *f, uint32_t pos, struct gnttab_copy_ptr *p)
{
	uint64_t off = (uint64_t)f->chunk[pos / NB_CHUNK] * NB_CHUNK + pos % NB_CHUNK;

	p->u.gmfn = off / NB_PAGE_SIZE;
	p->domid = DOMID_SELF;
	p->offset = (uint16_t)(off % NB_PAGE_SIZE);
}

/* Copy ops moving one guest slot (gref, offset, len) to/from frame bytes [pos, pos+len), split at our chunk edges. */
static unsigned add_ops(unsigned nops, struct nb_frame *f, uint32_t pos, uint32_t len, domid_t dom,
                        grant_ref_t gref, uint16_t goff, bool to_guest)
{
	while (len) {
		uint32_t seg = NB_CHUNK - pos % NB_CHUNK;
		struct gnttab_copy *op = &ops[nops++];

		if (seg > len)
			seg = len;
		memset(op, 0, sizeof(*op));
		if (to_guest) {
			copybuf_ptr(f, pos, &op->source);
			op->dest.u.ref = gref;
			op->dest.domid = dom;
			op->dest.offset = goff;
			op->flags = GNTCOPY_dest_gref;
		} else {
			copybuf_ptr(f, pos, &op->dest);
			op->source.u.ref = gref;
			op->source.domid = dom;
			op->source.offset = goff;
			op->flags = GNTCOPY_source_gref;
		}
		op->len = (uint16_t)seg;
		pos += seg;
		goff = (uint16_t)(goff + seg);
		len -= seg;
	}
	return nops;
}

/* Whether ops [first, first+n) all succeeded; the first failure's status in *st. */
static bool ops_ok(unsigned first, unsigned n, int16_t *st)
{
	for (unsigned i = first; i < first + n; i++) {
		if (ops[i].status != GNTST_okay) {
			*st = ops[i].status;
			return false;
		}
	}
	return true;
}

/* The whole frame in one buffer (frames of more than one chunk are copied into buf). */
static uint8_t *frame_linear(struct nb_frame *f, uint8_t *buf)
{
	if (f->len <= NB_CHUNK)
		return chunk_ptr(f->chunk[0]);
	for (uint32_t pos = 0; pos < f->len; pos += NB_CHUNK)
		memcpy(buf + pos, chunk_ptr(f->chunk[pos / NB_CHUNK]),
		       f->len - pos < NB_CHUNK ? f->len - pos : NB_CHUNK);
	return buf;
}

/* Whether port p's receiver can take f as it is (its checksum blank, or a GSO frame). */
static bool port_takes(const struct nb_port *p, const struct nb_frame *f)
{
	if (f->gso_type == XEN_NETIF_GSO_TYPE_TCPV4 && !(p->offload & NB_OFF_GSO4))
		return false;
	if (f->gso_type == XEN_NETIF_GSO_TYPE_TCPV6 && !(p->offload & NB_OFF_GSO6))
		return false;
	return f->csum != NB_CSUM_BLANK || (p->offload & (f->v6 ? NB_OFF_CSUM6 : NB_OFF_CSUM));
}

struct plain { struct nb_frame *f[128]; unsigned n; };   /* a 64 KiB frame at an MSS of 512 or more */

static int plain_add(const uint8_t *seg, uint32_t len, void *arg)
{
	struct plain *pl = arg;
	struct nb_frame *g;

	if (pl->n == 128 || !(g = netback_io__frame_alloc(len)))
		return -ENOBUFS;
	netback_io__frame_write(g, seg, len);
	pl->f[pl->n++] = g;
	return 0;
}

/*
 * f for receivers without the offloads it uses: its TCP segments (software
 * TSO, checksums whole), or a copy with its checksum completed (f itself
 * stays as the sender left it, for the receivers that take it so). Frames
 * the pool has no room for are missing from the list (lost, as on a NIC).
 */
static void frame_plain(struct nb_frame *f, struct plain *pl)
{
	static uint8_t lin[NB_FRAME_CHUNKS * NB_CHUNK], scratch[NB_FRAME_CHUNKS * NB_CHUNK];
	uint8_t *buf = frame_linear(f, lin);

	pl->n = 0;
	if (f->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
		netback_gso__segment(buf, f->len, f->gso_type == XEN_NETIF_GSO_TYPE_TCPV6, f->gso_size, scratch,
		                     plain_add, pl);
		return;
	}
	if (buf != lin)
		memcpy(lin, buf, f->len);
	netback_csum__complete(lin, f->len);
	plain_add(lin, f->len, pl);
}

/* Queues f on port p (taking a reference); false when p's queue is full. */
static bool port_queue(struct nb_port *p, struct nb_frame *f)
{
	if (p->qlen == NB_QUEUE_LEN) {
		if (p->kind == NB_PORT_VIF)
			((struct vif *)p->owner)->st.rx_drop++;
		return false;
	}
	p->q[(p->qhead + p->qlen++) % NB_QUEUE_LEN] = f;
	f->refs++;
	return true;
}

void netback_io__switch(struct nb_port *in, struct nb_frame *f, struct vif *src)
{
	struct vswitch_port *out[64];
	int n = vswitch__route(&in->sp, netback_io__frame_head(f), f->len, nb_now_ms(), out, 64);
	struct plain pl;   /* only pl.n is read before frame_plain fills it: no 1 KiB zeroing per frame */
	bool plain_done = false;

	pl.n = 0;

	if (n < 0) {
		if (src) {
			src->st.tx_drop++;
			if (n == -EPERM && (in->sp.spoofed & (in->sp.spoofed - 1)) == 0)
				kxd_log("d%" PRIu32 ": vif %" PRIu32 ": dropped a frame with a foreign source MAC "
				          "(%" PRIu64 " so far)", src->domid, src->devid, in->sp.spoofed);
		}
		netback_io__frame_put(f);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct nb_port *p = out[i]->priv;

		if (port_takes(p, f)) {
			port_queue(p, f);
		} else {
			if (!plain_done) {
				frame_plain(f, &pl);
				plain_done = true;
			}
			for (unsigned k = 0; k < pl.n; k++)
				port_queue(p, pl.f[k]);
		}
		/* A unicast sender outrunning its receiver waits for it instead of losing frames. */
		if (n == 1 && src && p->qlen >= NB_QUEUE_HIGH) {
			src->paused_on = p;
			src->tx_more = true;
		}
	}
	for (unsigned k = 0; k < pl.n; k++)
		netback_io__frame_put(pl.f[k]);
	netback_io__frame_put(f);
}

/*
 * What the guest left to us (NETTXF_csum_blank: Linux's netfront sends
 * every CHECKSUM_PARTIAL packet so, since we never write
 * feature-no-csum-offload; a GSO extra-info slot) is recorded on the frame
 * and done, if at all, for the receivers that cannot take it (frame_plain).
 */
static void tx_offload(struct vif *v, struct txp *t)
{
	struct nb_frame *f = t->f;
	uint16_t flags = t->pkt.slot[0].flags;
	struct nb_l4 h;
	bool l4 = netback_csum__parse(netback_io__frame_head(f), f->len, &h) == 0;

	f->v6 = l4 && h.v6;
	if (flags & NETTXF_csum_blank)
		f->csum = l4 ? NB_CSUM_BLANK : NB_CSUM_FULL;   /* not TCP/UDP: nobody could complete it */
	else if (flags & NETTXF_data_validated)
		f->csum = NB_CSUM_VALIDATED;
	if (t->pkt.gso_type == XEN_NETIF_GSO_TYPE_NONE)
		return;
	/* A GSO frame must be TCP of its type's IP version; it is always sent on with a blank checksum. */
	if (!l4 || h.proto != 6 || h.v6 != (t->pkt.gso_type == XEN_NETIF_GSO_TYPE_TCPV6)) {
		if (v->st.tx_err++ == 0)
			kxd_log("d%" PRIu32 ": vif %" PRIu32 ": a GSO frame that is not TCP of its type: sent as it is",
			        v->domid, v->devid);
		return;
	}
	f->gso_type = t->pkt.gso_type;
	f->gso_size = t->pkt.gso_size;
	f->csum = NB_CSUM_BLANK;
	if (!v->gso_seen) {
		v->gso_seen = true;
		kxd_log("d%" PRIu32 ": vif %" PRIu32 ": first GSO frame from the guest: %s, mss %u, %" PRIu32 " bytes",
		        v->domid, v->devid, f->v6 ? "tcpv6" : "tcpv4", f->gso_size, f->len);
	}
}

/* One tx batch; returns 1 when more may be waiting, 0 when the ring is drained, -1 when v was cut off. */
static int tx_batch(struct vif *v)
{
	RING_IDX prod = v->tx.sring->req_prod;
	unsigned np = 0, nops = 0;
	bool partial = false, starved = false;
	int notify, pend;

	rmb();   /* requests after the index */
	pend = netback_ring__pending(v->tx.req_cons, prod, RING_SIZE(&v->tx));
	if (pend < 0) {
		netback__fatal(v, "tx ring req_prod is more than a ring ahead of our consumer");
		return -1;
	}
	while (np < TX_BATCH && v->tx.req_cons != prod) {
		struct txp *t = &txps[np];
		const char *why = NULL;
		uint32_t pos = 0;
		int rc;

		if (nops + NB_FRAME_CHUNKS + NB_TX_MAX_SLOTS > MAX_OPS)
			break;
		if (nb.nfree < NB_FRAME_CHUNKS || !nb.free_frames) {
			starved = true;
			break;
		}
		rc = netback_ring__tx_get(&v->tx, prod, &t->pkt, &why);
		if (rc == -EAGAIN) {
			partial = true;
			break;
		}
		if (rc == -EPROTO) {
			netback__fatal(v, why);
			return -1;
		}
		if (t->pkt.error) {
			netback_ring__tx_respond(&v->tx, &t->pkt, NETIF_RSP_ERROR);
			if (v->st.tx_err++ == 0)
				kxd_log("d%" PRIu32 ": vif %" PRIu32 ": tx error: %s", v->domid, v->devid, t->pkt.error);
			continue;
		}
		t->f = netback_io__frame_alloc(t->pkt.len);
		t->op_first = nops;
		for (unsigned s = 0; s < t->pkt.nslots; s++) {
			const netif_tx_request_t *q = &t->pkt.slot[s];
			uint32_t len = s ? q->size : netback_ring__first_len(&t->pkt);

			nops = add_ops(nops, t->f, pos, len, (domid_t)v->domid, q->gref, q->offset, false);
			pos += len;
		}
		t->op_n = nops - t->op_first;
		np++;
	}
	if (np) {
		int rc = kxctrl_gnttab_copy(nb.hv, ops, nops);

		for (unsigned i = 0; i < np; i++) {
			struct txp *t = &txps[i];
			int16_t st = GNTST_general_error;

			if (rc == 0 && ops_ok(t->op_first, t->op_n, &st)) {
				netback_ring__tx_respond(&v->tx, &t->pkt, NETIF_RSP_OKAY);
				v->st.tx_pkts++;
				v->st.tx_bytes += t->pkt.len;
				tx_offload(v, t);
				netback_io__switch(&v->port, t->f, v);
			} else {
				netback_ring__tx_respond(&v->tx, &t->pkt, NETIF_RSP_ERROR);
				if (v->st.tx_err++ == 0)
					kxd_log("d%" PRIu32 ": vif %" PRIu32 ": tx grant copy failed (%s, status %d): "
					          "answered NETIF_RSP_ERROR", v->domid, v->devid,
					          rc ? strerror(-rc) : "bad grant", st);
				netback_io__frame_put(t->f);
			}
		}
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->tx, notify);
	if (notify)
		kick(v);
	if (starved) {
		v->tx_starved = true;
		return 0;
	}
	if (partial) {
		/* Half a packet is produced: wake us when the guest pushes past it. */
		v->tx.sring->req_event = prod + 1;
		mb();
		return v->tx.sring->req_prod != prod;
	}
	if (np == TX_BATCH || v->tx.req_cons != prod)
		return 1;
	RING_FINAL_CHECK_FOR_REQUESTS(&v->tx, notify);
	return notify;
}

static void tx_run(struct vif *v)
{
	for (unsigned round = 0; v->connected && !v->paused_on; round++) {
		int rc;

		if (round == TX_ROUNDS) {
			/* Others get a turn: the loop calls us again for our own (re-signalled) eventfd. */
			uint64_t one = 1;

			if (write(v->notify_fd, &one, sizeof(one)) < 0)
				v->tx_more = true;
			return;
		}
		rc = tx_batch(v);
		if (rc <= 0)
			return;
		netback_io__flush();
	}
}

/* Delivers v's queued frames into the buffers its guest posted; returns frames delivered. */
static unsigned rx_run(struct vif *v)
{
	unsigned done = 0;

	while (v->connected && v->port.qlen) {
		RING_IDX prod = v->rx.sring->req_prod;
		unsigned ns = 0, nops = 0, nframes = 0;
		int pend, notify;

		rmb();
		pend = netback_ring__pending(v->rx.req_cons, prod, RING_SIZE(&v->rx));
		if (pend < 0) {
			netback__fatal(v, "rx ring req_prod is more than a ring ahead of our consumer");
			return done;
		}
		while (v->port.qlen && ns < RX_BATCH) {
			struct nb_frame *f = v->port.q[v->port.qhead];
			unsigned data = (f->len + NB_PAGE_SIZE - 1) / NB_PAGE_SIZE;
			bool gso = f->gso_type != XEN_NETIF_GSO_TYPE_NONE;   /* only queued here if v takes it */
			unsigned need = data + gso;

			if (data > 1 && !v->rx_sg) {
				/* Bigger than a page and the frontend takes one slot per packet. */
				v->st.rx_drop++;
			} else if ((unsigned)pend < need || ns + need > RX_BATCH ||
			           nops + NB_FRAME_CHUNKS + need > MAX_OPS) {
				break;
			} else {
				for (unsigned k = 0, d = 0; k < need; k++) {
					const volatile netif_rx_request_t *req = RING_GET_REQUEST(&v->rx, v->rx.req_cons);
					struct rxs *s = &rxss[ns++];

					memset(s, 0, sizeof(*s));
					s->id = req->id;
					s->op_first = nops;
					v->rx.req_cons++;
					pend--;
					if (gso && k == 1) {
						/* The extra-info slot right after the first (its buffer stays unused). */
						s->gso = f;
						s->more = true;
						continue;
					}
					uint32_t off = d * NB_PAGE_SIZE;
					uint32_t len = f->len - off < NB_PAGE_SIZE ? f->len - off : NB_PAGE_SIZE;

					s->len = (uint16_t)len;
					s->more = d + 1 < data;   /* data slots follow (the extra-info slot is not one) */
					if (k == 0) {
						s->flags = gso ? NETRXF_extra_info : 0;
						if (f->csum == NB_CSUM_BLANK)
							s->flags |= NETRXF_csum_blank | NETRXF_data_validated;
						else if (f->csum == NB_CSUM_VALIDATED)
							s->flags |= NETRXF_data_validated;
					}
					nops = add_ops(nops, f, off, len, (domid_t)v->domid, req->gref, 0, true);
					s->op_n = nops - s->op_first;
					s->f = s->more ? NULL : f;
					d++;
				}
				f->refs++;   /* held by rxss until the copy is done */
				nframes++;
			}
			v->port.qhead = (v->port.qhead + 1) % NB_QUEUE_LEN;
			v->port.qlen--;
			netback_io__frame_put(f);
		}
		if (ns) {
			int rc = kxctrl_gnttab_copy(nb.hv, ops, nops);
			bool frame_ok = true;

			for (unsigned i = 0; i < ns; i++) {
				struct rxs *s = &rxss[i];
				netif_rx_response_t *rsp = RING_GET_RESPONSE(&v->rx, v->rx.rsp_prod_pvt);
				int16_t st;
				bool ok = rc == 0 && ops_ok(s->op_first, s->op_n, &st);

				v->rx.rsp_prod_pvt++;
				if (s->gso) {
					netif_extra_info_t ex;

					memset(&ex, 0, sizeof(ex));
					ex.type = XEN_NETIF_EXTRA_TYPE_GSO;
					ex.u.gso.size = s->gso->gso_size;
					ex.u.gso.type = s->gso->gso_type;
					memcpy(rsp, &ex, sizeof(ex));
					continue;
				}
				rsp->id = s->id;
				rsp->offset = 0;
				rsp->flags = (uint16_t)(s->flags | (s->more ? NETRXF_more_data : 0));
				rsp->status = ok ? (int16_t)s->len : NETIF_RSP_ERROR;
				frame_ok = frame_ok && ok;
				if (!s->f)
					continue;
				if (frame_ok) {
					v->st.rx_pkts++;
					v->st.rx_bytes += s->f->len;
				} else if (v->st.rx_err++ == 0) {
					kxd_log("d%" PRIu32 ": vif %" PRIu32 ": rx grant copy failed (a bad rx buffer "
					          "grant): frame lost", v->domid, v->devid);
				}
				frame_ok = true;
				netback_io__frame_put(s->f);
			}
			done += nframes;
			RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->rx, notify);
			rx_announce(v, notify);
			continue;
		}
		if (!v->port.qlen)
			break;
		/* Out of buffers: ask the guest to notify when it posts more, then look once more. */
		v->rx.sring->req_event = v->rx.req_cons + 1;
		mb();
		if (v->rx.sring->req_prod == prod)
			break;
	}
	return done;
}

void netback_io__flush(void)
{
	static bool busy;
	bool again = true;

	if (busy)
		return;   /* tx_run called from inside us: the outer loop finishes the job */
	busy = true;
	for (unsigned round = 0; again && round < 16; round++) {
		again = false;
		for (struct vif *v = nb.vifs; v; v = v->next)
			if (v->connected && v->port.qlen)
				rx_run(v);
		for (struct nb_tap *t = nb.taps; t; t = tap__next(t))
			tap__flush(t);
		for (struct vif *v = nb.vifs; v; v = v->next) {
			if (!v->connected)
				continue;
			if (v->paused_on && v->paused_on->qlen <= NB_QUEUE_HIGH / 2)
				v->paused_on = NULL;
			if (!v->paused_on && (v->tx_starved || v->tx_more) && nb.nfree >= NB_FRAME_CHUNKS) {
				v->tx_starved = v->tx_more = false;
				tx_run(v);
				again = true;
			}
		}
	}
	busy = false;
}

static void on_vif(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct vif *v = arg;
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	tx_run(v);
	netback_io__flush();
	if (v->connected && v->port.qlen)
		rx_run(v);
}

int netback_io__connect(struct vif *v, grant_ref_t tx_ref, grant_ref_t rx_ref, uint32_t evtchn, const char **why)
{
	grant_ref_t refs[2] = { tx_ref, rx_ref };
	int16_t st[2];
	struct vswitch *sw;
	int rc;

	rc = kxgnt_map(nb.gnt, v->domid, refs, 2, false, v->ring_pages, st);
	if (rc || st[0] != GNTST_okay || st[1] != GNTST_okay) {
		*why = "cannot map tx-ring-ref/rx-ring-ref (not valid grants for dom0)";
		if (!rc)
			kxgnt_unmap(nb.gnt, v->ring_pages, 2);
		v->ring_pages[0] = v->ring_pages[1] = NULL;
		return rc ? rc : -EINVAL;
	}
	BACK_RING_INIT(&v->tx, (netif_tx_sring_t *)v->ring_pages[0], NB_PAGE_SIZE);
	BACK_RING_INIT(&v->rx, (netif_rx_sring_t *)v->ring_pages[1], NB_PAGE_SIZE);
	/*
	 * Rings served before (kxen-backd restarted) resume after their last
	 * published response: requests taken but not answered are taken again
	 * (a tx frame in flight at the kill may be sent twice; an rx buffer
	 * filled but not published is filled again).
	 */
	v->tx.req_cons = v->tx.rsp_prod_pvt = __atomic_load_n(&v->tx.sring->rsp_prod, __ATOMIC_ACQUIRE);
	v->rx.req_cons = v->rx.rsp_prod_pvt = __atomic_load_n(&v->rx.sring->rsp_prod, __ATOMIC_ACQUIRE);
	rc = kxctrl_evtchn_bind_interdomain(nb.hv, v->domid, evtchn, &v->local_port, &v->notify_fd,
	                                    &v->kick_fd);
	if (rc) {
		*why = "cannot bind event-channel";
		goto out;
	}
	sw = vswitch__get(&nb.switches, v->bridge);
	if (!sw) {
		*why = "out of memory for the switch";
		rc = -ENOMEM;
		goto out;
	}
	memset(&v->port, 0, sizeof(v->port));
	memcpy(v->port.sp.mac, v->mac, 6);
	v->port.sp.check_src = true;
	v->port.sp.priv = &v->port;
	v->port.kind = NB_PORT_VIF;
	v->port.owner = v;
	v->port.offload = v->rx_offload;
	v->gso_seen = false;
	vswitch__port_add(sw, &v->port.sp);
	if ((rc = kxd_loop_add(&nb.bd->loop, v->notify_fd, EPOLLIN, on_vif, v))) {
		*why = "cannot watch the event channel";
		vswitch__port_del(&v->port.sp);
		vswitch__put(&nb.switches, sw);
		goto out;
	}
	memset(&v->st, 0, sizeof(v->st));
	v->connected = true;
	v->paused_on = NULL;
	v->tx_starved = v->tx_more = false;
	v->rx_quiet_since = 0;
	tx_run(v);
	netback_io__flush();
	return 0;
out:
	if (v->notify_fd >= 0)
		close(v->notify_fd);
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	if (v->local_port)
		kxctrl_evtchn_close(nb.hv, v->local_port);
	v->notify_fd = v->kick_fd = -1;
	v->local_port = 0;
	kxgnt_unmap(nb.gnt, v->ring_pages, 2);
	v->ring_pages[0] = v->ring_pages[1] = NULL;
	return rc;
}

void netback_io__disconnect(struct vif *v)
{
	struct vswitch *sw = v->port.sp.sw;

	if (!v->connected)
		return;
	v->connected = false;
	kxd_loop_del(&nb.bd->loop, v->notify_fd);
	close(v->notify_fd);
	close(v->kick_fd);
	kxctrl_evtchn_close(nb.hv, v->local_port);
	v->notify_fd = v->kick_fd = -1;
	v->local_port = 0;
	vswitch__port_del(&v->port.sp);
	vswitch__put(&nb.switches, sw);
	while (v->port.qlen) {
		netback_io__frame_put(v->port.q[v->port.qhead]);
		v->port.qhead = (v->port.qhead + 1) % NB_QUEUE_LEN;
		v->port.qlen--;
	}
	for (struct vif *o = nb.vifs; o; o = o->next)
		if (o->paused_on == &v->port)
			o->paused_on = NULL;
	kxgnt_unmap(nb.gnt, v->ring_pages, 2);
	v->ring_pages[0] = v->ring_pages[1] = NULL;
}

void netback_io__tick(void)
{
	for (struct vif *v = nb.vifs; v; v = v->next) {
		if (!v->connected)
			continue;
		/* A receiver that stopped taking frames holds its senders at most one tick. */
		v->paused_on = NULL;
		if (v->tx_more || v->tx_starved) {
			v->tx_more = v->tx_starved = false;
			tx_run(v);
		}
	}
	netback_io__flush();
}
