/* The xenbus backend layer's xenstore side: one handle, watches dispatched by token, backend directory scans, device life cycle and counters. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>
#include "backd.h"
#include "xenbus.h"

#define STATS_MS        200      /* counters checked this often, written when they changed */
/*
 * libxenstore's reader thread closes a connection kxenstored dropped
 * without waking the watch pipe we poll, so the connection is asked
 * something this often; once lost, it is reopened after RETRY_MIN_MS,
 * doubling up to RETRY_MAX_MS (kxenstored keeps its tree in LMDB, so a
 * restarted one has every node: only our watches are to be set again).
 */
#define PROBE_MS        1000
#define RETRY_MIN_MS    50
#define RETRY_MAX_MS    2000
#define BE_ROOT         "/local/domain/0/backend"

/* One domain's devices of one type: backd_dom.priv[slot]. */
struct xb_dom {
	unsigned slot;
	uint32_t domid;
	char dir[64];                /* BE_ROOT/TYPE/DOMID */
	char token[32];              /* "be/SLOT/DOMID": its backend and frontend watches */
	struct xenbus_dev *devs;
};

static struct {
	int type_state[BACKD_NR_BACKENDS];   /* 0 not started, 1 up, -1 off (init failed) */
	int stats_fd;
	int watch_fd;                /* bd->xs's watch pipe while in the loop; -1 while the connection is lost */
	int conn_fd;                 /* timerfd: liveness probe while connected, reconnect backoff while not */
	unsigned retry_ms, tries;    /* the next reconnect's wait; attempts since the loss */
	char why[320];               /* a path of up to 256 bytes and what is wrong with it */
} xb = { .stats_fd = -1, .watch_fd = -1, .conn_fd = -1 };

static const struct xenbus_type *type_of(unsigned slot)
{
	return backd_backends[slot];
}

void xenbus_dev_log(struct xenbus_dev *d, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->t->frontend_only)
		kxd_log("d%" PRIu32 ": %s: %s", d->domid, d->t->type, msg);
	else
		kxd_log("d%" PRIu32 ": %s %" PRIu32 ": %s", d->domid, d->t->type, d->devid, msg);
}

char *xenbus_read(struct backd *bd, const char *dir, const char *key)
{
	char path[256];
	unsigned len;
	char *v;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path))
		return NULL;
	v = xs_read(bd->xs, XBT_NULL, path, &len);
	if (v && (len > XENBUS_VALUE_MAX || strlen(v) != len)) {
		free(v);   /* too long, or a NUL inside: no key of ours looks like that */
		return NULL;
	}
	return v;
}

int xenbus_read_ulong(struct backd *bd, const char *dir, const char *key, unsigned long max,
                      unsigned long *val)
{
	char path[256];
	char *v;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	v = xenbus_read(bd, dir, key);
	if (!v) {
		snprintf(xb.why, sizeof(xb.why), "%s: missing", path);
		return -ENOENT;
	}
	rc = xenbus_state_parse_ulong(path, v, max, val, xb.why, sizeof(xb.why));
	free(v);
	return rc;
}

const char *xenbus_why(void)
{
	return xb.why;
}

int xenbus_write(struct backd *bd, const char *dir, const char *key, const char *fmt, ...)
{
	char path[256], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (!xs_write(bd->xs, XBT_NULL, path, val, (unsigned)strlen(val))) {
		int rc = -errno;

		kxd_log("xenstore: write %s: %s", path, strerror(errno));
		return rc;
	}
	return 0;
}

static int read_state(struct xenbus_dev *d, const char *dir)
{
	unsigned long s;

	return xenbus_read_ulong(d->bd, dir, "state", XenbusStateReconfigured, &s) ? -1 : (int)s;
}

static void set_state(struct xenbus_dev *d, int s)
{
	if (d->state == s || d->t->frontend_only)
		return;
	d->state = s;
	/* Lost with the connection: written again when it is back (xenbus__rewatch). */
	d->state_unwritten = xenbus_write(d->bd, d->be, "state", "%d", s) != 0;
	if (s == XenbusStateClosed)
		xenbus_dev_log(d, "closed");
}

static void publish(struct xenbus_dev *d)
{
	uint64_t vals[KXD_DEVSTATS_MAX] = { 0 };
	const struct kxd_devkind *k = d->t->stats_kind;

	d->t->stats(d, vals);
	if (d->stats_valid && !memcmp(vals, d->stats_written, k->n * sizeof(vals[0])))
		return;
	/* No run directory: kxtop simply shows no devices. */
	if (kxd_devstats_write(k, d->domid, d->devid, d->created_ns, vals) == 0) {
		memcpy(d->stats_written, vals, sizeof(vals));
		d->stats_valid = true;
	}
}

/* Keys of ours in the backend directory; a frontend-only device has none. */
static void write_be(struct xenbus_dev *d, const char *key, const char *val)
{
	if (!d->t->frontend_only)
		xenbus_write(d->bd, d->be, key, "%s", val);
}

static void dev_disconnect(struct xenbus_dev *d, const char *why)
{
	if (!d->connected)
		return;
	/* First: a disconnect that finds the ring corrupt cuts off, which must not disconnect again. */
	d->connected = false;
	d->t->disconnect(d);
	if (d->t->stats_kind) {
		kxd_devstats_remove(d->t->stats_kind, d->domid, d->devid);
		d->stats_valid = false;
	}
	xenbus_dev_log(d, "disconnected (%s)", why);
}

void xenbus_dev_fatal(struct xenbus_dev *d, const char *why)
{
	xenbus_dev_log(d, "frontend cut off: %s", why);
	d->broken = true;
	dev_disconnect(d, "cut off");
	write_be(d, "error", why);
	set_state(d, XenbusStateClosing);
}

/* The toolstack's frontend and frontend-id keys must name this device's frontend, as Xen's device paths do. */
static int check_frontend(struct xenbus_dev *d, char *err, size_t len)
{
	char *fe = xenbus_read(d->bd, d->be, "frontend");
	unsigned long id;
	int rc;

	snprintf(d->fe, sizeof(d->fe), "/local/domain/%" PRIu32 "/device/%s/%" PRIu32, d->domid,
	         d->t->type, d->devid);
	rc = xenbus_read_ulong(d->bd, d->be, "frontend-id", UINT16_MAX, &id);
	if (!fe || rc == -ENOENT) {
		rc = -EAGAIN;   /* the toolstack is still writing the directory */
	} else if (rc) {
		snprintf(err, len, "%s", xenbus_why());
	} else if (strcmp(fe, d->fe) || id != d->domid) {
		snprintf(err, len, "frontend '%s' and frontend-id %lu do not name %s", fe, id, d->fe);
		rc = -EINVAL;
	}
	free(fe);
	return rc;
}

static void probe(struct xenbus_dev *d)
{
	char err[320] = "";
	int rc = d->t->frontend_only ? 0 : check_frontend(d, err, sizeof(err));

	if (!rc)
		rc = d->t->probe(d, err, sizeof(err));
	if (rc == -EAGAIN)
		return;
	if (rc) {
		xenbus_dev_log(d, "cannot serve: %s", err);
		write_be(d, "hotplug-error", err);
		d->broken = true;
		set_state(d, XenbusStateClosed);
		return;
	}
	d->probed = true;
	if (d->t->frontend_only)
		return;   /* its directory is already watched */
	d->fe_watched = xs_watch(d->bd->xs, d->fe, d->token);
	/*
	 * A device a killed kxen-backd left Connected is taken over as it is:
	 * the frontend is not shown InitWait (which it would ignore anyway), the
	 * step that follows reconnects the rings and says Connected again.
	 */
	if (d->state == 0 && read_state(d, d->be) == XenbusStateConnected) {
		d->state = XenbusStateInitWait;
		xenbus_dev_log(d, "found Connected (kxen-backd restarted): resuming");
		return;
	}
	set_state(d, XenbusStateInitWait);
}

static void dev_connect(struct xenbus_dev *d)
{
	struct kxctl_dominfo di;
	char err[320] = "";
	int rc = d->t->connect(d, err, sizeof(err));

	if (rc) {
		xenbus_dev_log(d, "cannot connect: %s (%s)", err, strerror(-rc));
		d->broken = true;
		write_be(d, "error", err);
		set_state(d, XenbusStateClosing);
		return;
	}
	d->connected = true;
	d->created_ns = kxctrl_domain_info(d->bd->hv, d->domid, &di) ? 0 : di.created_ns;
	if (d->t->stats_kind)
		publish(d);
	set_state(d, XenbusStateConnected);
}

/* Everything a device does is decided here from the states; called on every change (idempotent). */
static void dev_step(struct xenbus_dev *d)
{
	struct xenbus_state_out out;
	unsigned long online = 1;

	if (d->t->frontend_only) {
		/* Keys there: serve; nothing else to walk. */
		if (d->broken || d->connected)
			return;
		if (!d->probed)
			probe(d);
		if (d->probed)
			dev_connect(d);
		return;
	}
	if (!d->probed) {
		/* A probe that failed stays failed until the toolstack removes the device. */
		if (d->broken)
			return;
		probe(d);
		if (!d->probed)
			return;
	}
	if (xenbus_read_ulong(d->bd, d->be, "online", 1, &online) == -EINVAL)
		online = 1;
	struct xenbus_state_in in = {
		.ours = d->state, .be_key = read_state(d, d->be), .online = online,
		.fe = read_state(d, d->fe), .connected = d->connected, .broken = d->broken,
	};
	xenbus_state_next(&in, &out);
	if (out.disconnect)
		dev_disconnect(d, !online || in.be_key == XenbusStateClosing ? "the toolstack closes it" :
		                  in.fe == XenbusStateClosing ? "frontend closing" :
		                  in.fe == XenbusStateClosed ? "frontend closed" : "frontend gone");
	if (out.unbreak)
		d->broken = false;
	set_state(d, out.state);
	if (out.connect)
		dev_connect(d);
}

static void dev_free(struct xenbus_dev *d, const char *why)
{
	dev_disconnect(d, why);
	if (d->fe_watched)
		xs_unwatch(d->bd->xs, d->fe, d->token);
	if (d->t->remove && d->probed)
		d->t->remove(d);
	free(d);
}

static struct xenbus_dev *dev_new(struct backd *bd, struct xb_dom *x, unsigned long id)
{
	const struct xenbus_type *t = type_of(x->slot);
	struct xenbus_dev *d = calloc(1, sizeof(*d) + t->priv_size);

	if (!d)
		return NULL;
	*d = (struct xenbus_dev){ .t = t, .bd = bd, .domid = x->domid, .devid = (uint32_t)id, .next = x->devs };
	if (t->frontend_only)
		snprintf(d->fe, sizeof(d->fe), "%s", x->dir);
	else
		snprintf(d->be, sizeof(d->be), "%s/%lu", x->dir, id);
	snprintf(d->token, sizeof(d->token), "%s", x->token);
	x->devs = d;
	return d;
}

/* Rescans BE_ROOT/TYPE/DOMID: new devices found, gone ones freed, all stepped. */
static void dom_scan(struct backd *bd, struct xb_dom *x)
{
	const struct xenbus_type *t = type_of(x->slot);
	unsigned n = 0;
	char **ents;

	if (t->frontend_only) {
		dev_step(x->devs);
		return;
	}
	ents = xs_directory(bd->xs, XBT_NULL, x->dir, &n);

	for (struct xenbus_dev *d = x->devs; d; d = d->next)
		d->seen = false;
	for (unsigned i = 0; ents && i < n; i++) {
		struct xenbus_dev *d;
		unsigned long id;
		char why[128];

		if (xenbus_state_parse_ulong("devid", ents[i], t->max_devid, &id, why, sizeof(why)))
			continue;
		for (d = x->devs; d && d->devid != id; d = d->next)
			;
		if (!d && !(d = dev_new(bd, x, id)))
			continue;
		d->seen = true;
	}
	free(ents);
	for (struct xenbus_dev **pp = &x->devs; *pp;) {
		struct xenbus_dev *d = *pp;

		if (d->seen) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		dev_free(d, "removed while connected");
	}
	for (struct xenbus_dev *d = x->devs; d; d = d->next)
		dev_step(d);
}

static struct xb_dom *find_dom(struct backd *bd, unsigned slot, uint32_t domid)
{
	for (struct backd_dom *d = bd->doms; d; d = d->next)
		if (d->domid == domid)
			return d->priv[slot];
	return NULL;
}

static void conn__lost(struct backd *bd, const char *why);

static void on_xs(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	bool domains = false;
	char **vec;

	while ((vec = xs_check_watch(bd->xs))) {
		unsigned slot, domid;
		struct xb_dom *x;

		if (sscanf(vec[XS_WATCH_TOKEN], "be/%u/%u", &slot, &domid) == 2) {
			if (slot < BACKD_NR_BACKENDS && (x = find_dom(bd, slot, domid)))
				dom_scan(bd, x);
		} else {
			domains = true;   /* introduce, release or a domain some backend waits for */
		}
		free(vec);
	}
	if (errno != EAGAIN) {
		conn__lost(bd, strerror(errno));
		return;
	}
	if (domains)
		backd_domains_scan(bd);
}

static void on_stats(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	for (struct backd_dom *bdom = bd->doms; bdom; bdom = bdom->next)
		for (unsigned s = 0; s < BACKD_NR_BACKENDS; s++) {
			struct xb_dom *x = type_of(s) && type_of(s)->stats_kind ? bdom->priv[s] : NULL;

			for (struct xenbus_dev *d = x ? x->devs : NULL; d; d = d->next)
				if (d->connected)
					publish(d);
		}
}

/* One connection with the daemon's two domain watches, its pipe in the loop: bd->xs, or -errno and nothing changed. */
static int conn__open(struct backd *bd)
{
	struct xs_handle *xs = xs_open(XS_OPEN_SOCKETONLY);
	int rc, fd;

	if (!xs)
		return -errno;
	if (!xs_watch(xs, "@introduceDomain", "introduce") || !xs_watch(xs, "@releaseDomain", "release")) {
		rc = -errno;
		kxd_log("xenstore: cannot watch @introduceDomain/@releaseDomain: %s", strerror(errno));
		goto out;
	}
	fd = xs_fileno(xs);
	if ((rc = fd < 0 ? -EMFILE : kxd_loop_add(&bd->loop, fd, EPOLLIN, on_xs, NULL)))
		goto out;
	if (bd->xs)
		xs_close(bd->xs);   /* the lost connection's handle, kept so calls meanwhile failed */
	bd->xs = xs;
	xb.watch_fd = fd;
	return 0;
out:
	xs_close(xs);
	return rc;
}

static void conn__arm(unsigned ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };

	timerfd_settime(xb.conn_fd, 0, &its, NULL);
}

/* The connection is gone: stop reading its pipe, keep the dead handle (its calls fail), reconnect with backoff. */
static void conn__lost(struct backd *bd, const char *why)
{
	if (xb.watch_fd < 0)
		return;
	kxd_log("xenstore: connection lost (%s); connected devices keep running; reconnecting", why);
	kxd_loop_del(&bd->loop, xb.watch_fd);
	xb.watch_fd = -1;
	xb.retry_ms = RETRY_MIN_MS;
	xb.tries = 0;
	conn__arm(xb.retry_ms);
}

static void on_conn_timer(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	uint64_t ticks;
	char *path;
	int rc;

	if (read(fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	if (xb.watch_fd >= 0) {
		/* Any request will do: one kxenstored answers without touching the store. */
		if ((path = xs_get_domain_path(bd->xs, 0))) {
			free(path);
			conn__arm(PROBE_MS);
		} else {
			conn__lost(bd, strerror(errno));
		}
		return;
	}
	xb.tries++;
	if ((rc = conn__open(bd))) {
		/* Logged at the first failures and then every ~minute, not every try. */
		if (xb.tries <= 3 || xb.tries % 30 == 0)
			kxd_log("xenstore: reconnect %u failed: %s (XENSTORED_PATH %s); retrying", xb.tries,
			        strerror(-rc), getenv("XENSTORED_PATH") ? getenv("XENSTORED_PATH") : "unset");
		xb.retry_ms = xb.retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : xb.retry_ms * 2;
		conn__arm(xb.retry_ms);
		return;
	}
	kxd_log("xenstore: reconnected after %u tries; watching again and rescanning", xb.tries);
	conn__arm(PROBE_MS);
	backd_domains_rewatch(bd);
	backd_domains_scan(bd);
}

bool xenbus__connected(void)
{
	return xb.watch_fd >= 0;
}

int xenbus__open(struct backd *bd)
{
	struct itimerspec its = { .it_interval = { 0, STATS_MS * 1000000L }, .it_value = { 0, STATS_MS * 1000000L } };
	const char *xsp = getenv("XENSTORED_PATH");
	int rc;

	/* Daemons started together at boot come up in any order: give kxenstored 10 s. */
	for (unsigned i = 0; (rc = conn__open(bd)) && i < BACKD_CONNECT_TRIES; i++)
		usleep(BACKD_CONNECT_WAIT_US);
	if (rc) {
		kxd_log("cannot connect to xenstore at %s: %s (is kxenstored running? XENSTORED_PATH names its socket)",
		        xsp ? xsp : "/run/xenstored/socket", strerror(-rc));
		return rc;
	}
	xb.conn_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (xb.conn_fd < 0 || (rc = kxd_loop_add(&bd->loop, xb.conn_fd, EPOLLIN, on_conn_timer, NULL))) {
		rc = xb.conn_fd < 0 ? -errno : rc;
		kxd_log("xenstore: connection timer: %s", strerror(-rc));
		return rc;
	}
	conn__arm(PROBE_MS);
	xb.stats_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (xb.stats_fd < 0 || timerfd_settime(xb.stats_fd, 0, &its, NULL) < 0)
		rc = -errno;
	else
		rc = kxd_loop_add(&bd->loop, xb.stats_fd, EPOLLIN, on_stats, NULL);
	/* Counters are a convenience: serving devices does not depend on them. */
	if (rc)
		kxd_log("no device counters for kxtop: %s", strerror(-rc));
	return 0;
}

int xenbus__attach(struct backd *bd, struct backd_dom *dom, unsigned slot)
{
	const struct xenbus_type *t = type_of(slot);
	struct xb_dom *x;

	if (xb.type_state[slot] < 0 || !xenbus__connected())
		return -EAGAIN;   /* logged once when it failed; or attached once xenstore is back */
	if (xb.type_state[slot] == 0) {
		int rc = t->init ? t->init(bd) : 0;

		xb.type_state[slot] = rc ? -1 : 1;
		if (rc)
			return rc;
	}
	if (!(x = calloc(1, sizeof(*x))))
		return -ENOMEM;
	x->slot = slot;
	x->domid = dom->domid;
	if (t->frontend_only)
		snprintf(x->dir, sizeof(x->dir), "/local/domain/%" PRIu32 "/%s", dom->domid, t->type);
	else
		snprintf(x->dir, sizeof(x->dir), BE_ROOT "/%s/%" PRIu32, t->type, dom->domid);
	snprintf(x->token, sizeof(x->token), "be/%u/%" PRIu32, slot, dom->domid);
	if (t->frontend_only && !dev_new(bd, x, 0)) {
		free(x);
		return -ENOMEM;
	}
	/* Fires once at once (Xen's rule), which does the first scan. */
	if (!xs_watch(bd->xs, x->dir, x->token)) {
		int rc = -errno;

		free(x->devs);
		free(x);
		return rc;
	}
	dom->priv[slot] = x;
	return 0;
}

void xenbus__detach(struct backd *bd, struct backd_dom *dom, unsigned slot)
{
	struct xb_dom *x = dom->priv[slot];

	if (!x)
		return;
	xs_unwatch(bd->xs, x->dir, x->token);
	while (x->devs) {
		struct xenbus_dev *d = x->devs;

		x->devs = d->next;
		dev_free(d, "domain gone");
	}
	free(x);
	dom->priv[slot] = NULL;
}

void xenbus__rewatch(struct backd *bd, struct backd_dom *dom, unsigned slot)
{
	struct xb_dom *x = dom->priv[slot];

	if (!x)
		return;
	if (!xs_watch(bd->xs, x->dir, x->token))
		kxd_log("xenstore: watch %s again: %s", x->dir, strerror(errno));
	for (struct xenbus_dev *d = x->devs; d; d = d->next) {
		if (d->fe_watched && !xs_watch(bd->xs, d->fe, d->token))
			kxd_log("xenstore: watch %s again: %s", d->fe, strerror(errno));
		if (d->state_unwritten)
			d->state_unwritten = xenbus_write(bd, d->be, "state", "%d", d->state) != 0;
	}
}

void xenbus__reopen(struct backd *bd, struct backd_dom *dom, unsigned slot)
{
	struct xb_dom *x = dom->priv[slot];

	for (struct xenbus_dev *d = x ? x->devs : NULL; d; d = d->next)
		if (d->connected && d->t->reopen)
			d->t->reopen(d);
}
