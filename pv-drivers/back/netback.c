/* The vif backend: the xenbus handshake (Xen's netif keys and XenbusState sequence, as Linux xen-netback), vif life cycle, TAP set-up. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>
#include <kxen/mac.h>
#include "netback.h"

#define NET_SLOT BACKD_SLOT_VIF
#define BE_ROOT "/local/domain/0/backend/vif"
#define DEFAULT_BRIDGE "xenbr0"                  /* libxl's default */

static char *xs_readf(unsigned *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *xs_readf(unsigned *len, const char *fmt, ...)
{
	char path[256];
	unsigned l;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(nb.xs, XBT_NULL, path, len ? len : &l);
}

/* An unsigned value of at most max; -ENOENT missing, -EINVAL not a number or too big. */
static int read_ulong(const char *dir, const char *key, unsigned long max, unsigned long *val)
{
	char *s = xs_readf(NULL, "%s/%s", dir, key), *end;
	int rc = 0;

	if (!s)
		return -ENOENT;
	errno = 0;
	*val = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *val > max)
		rc = -EINVAL;
	free(s);
	return rc;
}

static void write_key(struct vif *v, const char *key, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", v->bepath, key);
	if (!xs_write(nb.xs, XBT_NULL, path, val, strlen(val)))
		kxd_log("d%" PRIu32 " vif%" PRIu32 ": write %s: %s", v->domid, v->devid, path, strerror(errno));
}

static void set_state(struct vif *v, int state)
{
	char s[8];

	snprintf(s, sizeof(s), "%d", state);
	v->be_state = state;
	write_key(v, "state", s);
}

void netback__fatal(struct vif *v, const char *why)
{
	kxd_log("d%" PRIu32 " vif%" PRIu32 ": disconnected: %s", v->domid, v->devid, why);
	nb_io__disconnect(v);
	v->broken = true;
	write_key(v, "error", why);
	set_state(v, XenbusStateClosing);
}

/* Reads the toolstack's keys, advertises our features, and goes to InitWait. */
static int probe(struct vif *v)
{
	char *fe = xs_readf(NULL, "%s/frontend", v->bepath), *mac, *br;
	unsigned long feid;
	char token[64];
	int rc = -EINVAL;

	mac = xs_readf(NULL, "%s/mac", v->bepath);
	br = xs_readf(NULL, "%s/bridge", v->bepath);
	if (!fe || read_ulong(v->bepath, "frontend-id", UINT16_MAX, &feid) || !mac) {
		rc = -EAGAIN;   /* the toolstack is still writing the directory */
		goto out;
	}
	if (feid != v->domid || strlen(fe) >= sizeof(v->fepath) ||
	    kxen_mac_parse_unicast(mac, v->mac) || vswitch__name_ok(br ? br : DEFAULT_BRIDGE)) {
		kxd_log("d%" PRIu32 " vif%" PRIu32 ": bad backend keys (frontend-id %lu, mac '%s', bridge '%s')",
		          v->domid, v->devid, feid, mac, br ? br : DEFAULT_BRIDGE);
		goto out;
	}
	snprintf(v->fepath, sizeof(v->fepath), "%s", fe);
	snprintf(v->bridge, sizeof(v->bridge), "%s", br ? br : DEFAULT_BRIDGE);
	write_key(v, "feature-sg", "1");
	write_key(v, "feature-rx-copy", "1");
	write_key(v, "feature-rx-flip", "0");
	write_key(v, "feature-gso-tcpv4", "0");
	write_key(v, "feature-multicast-control", "0");
	write_key(v, "hotplug-status", "connected");   /* no hotplug script: the switch port is ours */
	snprintf(token, sizeof(token), "fe/%" PRIu32 "/%" PRIu32, v->domid, v->devid);
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/state", v->fepath);
		xs_watch(nb.xs, path, token);
	}
	set_state(v, XenbusStateInitWait);
	v->probed = true;
	rc = 0;
out:
	free(fe);
	free(mac);
	free(br);
	return rc;
}

/* The frontend said Initialised/Connected: check its keys and connect. */
static void vif_connect(struct vif *v)
{
	unsigned long tx, rx, port, copy = 0, notify = 0, sg = 0, queues = 1;
	const char *why = NULL;
	int rc;

	if (read_ulong(v->fepath, "tx-ring-ref", UINT32_MAX, &tx) ||
	    read_ulong(v->fepath, "rx-ring-ref", UINT32_MAX, &rx)) {
		why = "tx-ring-ref/rx-ring-ref missing or not numbers";
	} else if (read_ulong(v->fepath, "event-channel", UINT32_MAX, &port) || port == 0) {
		why = "event-channel missing or invalid (split event channels are not offered)";
	} else if (read_ulong(v->fepath, "request-rx-copy", 1, &copy) || copy != 1) {
		why = "request-rx-copy is not 1: only copying receive (no page flipping) is supported";
	} else if (read_ulong(v->fepath, "multi-queue-num-queues", 1, &queues) == -EINVAL) {
		why = "multi-queue-num-queues > 1: multi-queue is not offered";
	}
	if (!why) {
		read_ulong(v->fepath, "feature-rx-notify", 1, &notify);
		read_ulong(v->fepath, "feature-sg", 1, &sg);
		if (!notify)
			why = "feature-rx-notify is not 1 (required, as by Linux netback)";
	}
	if (why) {
		netback__fatal(v, why);
		return;
	}
	v->rx_sg = sg;
	rc = nb_io__connect(v, (grant_ref_t)tx, (grant_ref_t)rx, (uint32_t)port, &why);
	if (rc) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%s: %s", why, strerror(-rc));
		netback__fatal(v, msg);
		return;
	}
	kxd_log("d%" PRIu32 " vif%" PRIu32 ": connected to bridge %s (mac %02x:%02x:%02x:%02x:%02x:%02x, sg %s)",
	          v->domid, v->devid, v->bridge, v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4],
	          v->mac[5], v->rx_sg ? "on" : "off");
	set_state(v, XenbusStateConnected);
}

/* One step of the state machine after any change (idempotent). */
static void step(struct vif *v)
{
	unsigned long fs = XenbusStateUnknown, bs = 0;

	if (!v->probed && probe(v))
		return;
	read_ulong(v->fepath, "state", XenbusStateReconfigured, &fs);
	read_ulong(v->bepath, "state", XenbusStateReconfigured, &bs);
	if (bs == XenbusStateClosing && v->be_state != XenbusStateClosing && v->be_state != XenbusStateClosed) {
		/* The toolstack asks us to close (network-detach): the frontend sees it and closes first. */
		v->be_state = XenbusStateClosing;
	}
	switch (fs) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (!v->connected && !v->broken && v->be_state == XenbusStateInitWait)
			vif_connect(v);
		break;
	case XenbusStateClosing:
		if (v->connected)
			kxd_log("d%" PRIu32 " vif%" PRIu32 ": frontend closing: disconnected", v->domid, v->devid);
		nb_io__disconnect(v);
		if (v->be_state != XenbusStateClosing && v->be_state != XenbusStateClosed)
			set_state(v, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		if (v->connected)
			kxd_log("d%" PRIu32 " vif%" PRIu32 ": frontend closed: disconnected", v->domid, v->devid);
		nb_io__disconnect(v);
		if (v->be_state != XenbusStateClosed) {
			set_state(v, XenbusStateClosed);
			kxd_log("d%" PRIu32 " vif%" PRIu32 ": closed", v->domid, v->devid);
		}
		break;
	default:
		/* Initialising or Unknown: a frontend starting (again) after a close. */
		if ((v->be_state == XenbusStateClosed || v->broken) && fs == XenbusStateInitialising) {
			unsigned long online = 1;

			read_ulong(v->bepath, "online", 1, &online);
			if (online) {
				v->broken = false;
				set_state(v, XenbusStateInitWait);
			}
		}
		break;
	}
}

static void vif_free(struct vif *v)
{
	char token[64], path[160];

	nb_io__disconnect(v);
	if (v->probed) {
		snprintf(token, sizeof(token), "fe/%" PRIu32 "/%" PRIu32, v->domid, v->devid);
		snprintf(path, sizeof(path), "%s/state", v->fepath);
		xs_unwatch(nb.xs, path, token);
	}
	free(v);
}

static bool dom_attached(uint32_t domid)
{
	for (struct backd_dom *d = nb.bd->doms; d; d = d->next)
		if (d->domid == domid && d->priv[NET_SLOT])
			return true;
	return false;
}

static bool is_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v <= max;
}

/* Brings our vifs in line with the backend directories and steps each one. */
static void reconcile(void)
{
	unsigned nd = 0;
	char **doms = xs_directory(nb.xs, XBT_NULL, BE_ROOT, &nd);

	for (struct vif *v = nb.vifs; v; v = v->next)
		v->seen = false;
	for (unsigned i = 0; doms && i < nd; i++) {
		unsigned long domid, devid;
		unsigned ndev = 0;
		char path[64], **devs;

		if (!is_num(doms[i], UINT16_MAX, &domid) || !dom_attached((uint32_t)domid))
			continue;
		snprintf(path, sizeof(path), BE_ROOT "/%lu", domid);
		devs = xs_directory(nb.xs, XBT_NULL, path, &ndev);
		for (unsigned j = 0; devs && j < ndev; j++) {
			struct vif *v;

			if (!is_num(devs[j], 255, &devid))
				continue;
			for (v = nb.vifs; v && !(v->domid == domid && v->devid == devid); v = v->next)
				;
			if (!v) {
				v = calloc(1, sizeof(*v));
				if (!v)
					continue;
				v->domid = (uint32_t)domid;
				v->devid = (uint32_t)devid;
				v->notify_fd = v->kick_fd = -1;
				snprintf(v->bepath, sizeof(v->bepath), "%s/%lu", path, devid);
				v->next = nb.vifs;
				nb.vifs = v;
			}
			v->seen = true;
		}
		free(devs);
	}
	free(doms);
	for (struct vif **pp = &nb.vifs; *pp;) {
		struct vif *v = *pp;

		if (v->seen) {
			pp = &v->next;
			continue;
		}
		/* Its backend directory is gone: the toolstack detached it. */
		if (v->connected)
			kxd_log("d%" PRIu32 " vif%" PRIu32 ": removed while connected", v->domid, v->devid);
		*pp = v->next;
		vif_free(v);
	}
	for (struct vif *v = nb.vifs; v; v = v->next)
		step(v);
}

static void on_xs(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	bool any = false;
	char **vec;

	while ((vec = xs_check_watch(nb.xs))) {
		any = true;
		free(vec);
	}
	if (errno != EAGAIN) {
		kxd_log("net: xenstore connection lost (%s); exiting", strerror(errno));
		bd->loop.quit = true;
		return;
	}
	if (any)
		reconcile();
}

static void on_tick(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == sizeof(n))
		nb_io__tick();
}

/* $KXEN_BACKD_TAPS: "BRIDGE=IFNAME[,BRIDGE=IFNAME...]". */
static void open_taps(void)
{
	const char *env = getenv("KXEN_BACKD_TAPS");
	char *copy, *save = NULL;

	if (!env || !*env || !(copy = strdup(env)))
		return;
	for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(e, '=');

		if (!eq) {
			kxd_log("tap: bad entry '%s' in KXEN_BACKD_TAPS (want BRIDGE=IFNAME)", e);
			continue;
		}
		*eq = 0;
		nb_tap__open(e, eq + 1);
	}
	free(copy);
}

static int nb_init(struct backd *bd)
{
	struct itimerspec its = { .it_interval = { 0, NB_TICK_MS * 1000000L },
	                          .it_value = { 0, NB_TICK_MS * 1000000L } };
	int rc;

	nb.bd = bd;
	nb.tick_fd = -1;
	if ((rc = kxctrl_open(bd->opt.hv_socket, &nb.hv)) || (rc = kxgnt_open(nb.hv, &nb.gnt))) {
		kxd_log("net: cannot connect to kxen-hv: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = nb_io__init())) {
		kxd_log("net: cannot set up the copy buffer: %s", strerror(-rc));
		goto fail;
	}
	nb.xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!nb.xs || !xs_watch(nb.xs, BE_ROOT, "be") ||
	    (rc = kxd_loop_add(&bd->loop, xs_fileno(nb.xs), EPOLLIN, on_xs, NULL))) {
		rc = rc ? rc : -errno;
		kxd_log("net: xenstore: %s", strerror(-rc));
		goto fail;
	}
	nb.tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (nb.tick_fd < 0 || timerfd_settime(nb.tick_fd, 0, &its, NULL) < 0 ||
	    (rc = kxd_loop_add(&bd->loop, nb.tick_fd, EPOLLIN, on_tick, NULL))) {
		rc = rc ? rc : -errno;
		kxd_log("net: tick timer: %s", strerror(-rc));
		goto fail;
	}
	open_taps();
	nb.up = true;
	kxd_log("net: serving vifs (stats in %s/%s)", kxd_rundir(), kxd_devstats_vif.dir);
	return 0;
fail:
	/* Not retried: a second attempt would log the same thing every scan. */
	nb.failed = true;
	return rc;
}

static int net_attach(struct backd *bd, struct backd_dom *dom)
{
	if (nb.failed)
		return -EAGAIN;
	if (!nb.up) {
		int rc = nb_init(bd);

		if (rc)
			return rc;
	}
	dom->priv[NET_SLOT] = &nb;
	reconcile();
	return 0;
}

static void net_detach(struct backd *bd, struct backd_dom *dom)
{
	for (struct vif **pp = &nb.vifs; *pp;) {
		struct vif *v = *pp;

		if (v->domid != dom->domid) {
			pp = &v->next;
			continue;
		}
		*pp = v->next;
		if (v->connected)
			kxd_log("d%" PRIu32 " vif%" PRIu32 ": domain gone", v->domid, v->devid);
		vif_free(v);
	}
	dom->priv[NET_SLOT] = NULL;
}

const struct backend_ops net_backend = {
	.name = "vif",
	.attach = net_attach,
	.detach = net_detach,
};
