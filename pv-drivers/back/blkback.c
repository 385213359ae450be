/* The vbd backend's xenbus side: finds devices under /local/domain/0/backend/vbd/D, opens their images and walks the XenbusState machine with each frontend. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>
#include <xen/io/protocols.h>
#include "backd.h"
#include "blkback.h"
#include "disk.h"

#define BLKBACK_SLOT BACKD_SLOT_VBD

struct bb_dom;

struct vbd {
	struct bb_dom *dom;
	unsigned devid;
	char be[96], fe[96];
	int state;                 /* our XenbusState as last written, 0 before the probe */
	bool broken;               /* gave up on this frontend until it resets (Initialising) */
	bool fe_watched;
	struct disk *disk;
	bool readonly;
	struct blkio io;
	bool connected;
	int dead_fd;
	uint64_t created_ns;       /* the domain's, in the stats file: tells a new domain from an old one */
	struct vbd *next;
};

struct bb_dom {
	uint32_t domid;
	char token[32];
	struct vbd *vbds;
};

/* Our own xenstore connection: its watches are ours alone, so the domain scan's handle needs no dispatch. */
static struct {
	struct backd *bd;
	struct xs_handle *xs;
	int stats_fd;              /* timerfd: counters published once a second */
	char stats_dir[256];
} bb;

static void vlog(struct vbd *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(struct vbd *v, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	backd_log("d%" PRIu32 ": vbd %u: %s", v->dom->domid, v->devid, msg);
}

static char *rd(const char *dir, const char *key)
{
	char p[160];
	unsigned len;

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return xs_read(bb.xs, XBT_NULL, p, &len);
}

/* An unsigned decimal key: 0, -ENOENT or -EINVAL (the frontend's keys are hostile). */
static int rd_ulong(const char *dir, const char *key, unsigned long *val)
{
	char *v = rd(dir, key), *end;
	int rc = 0;

	if (!v)
		return -ENOENT;
	errno = 0;
	*val = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || v[0] == ' ')
		rc = -EINVAL;
	free(v);
	return rc;
}

static void wr(const char *dir, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void wr(const char *dir, const char *key, const char *fmt, ...)
{
	char p[160], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(p), "%s/%s", dir, key);
	if (!xs_write(bb.xs, XBT_NULL, p, val, (unsigned)strlen(val)))
		backd_log("xenstore: write %s: %s", p, strerror(errno));
}

static int read_state(const char *dir)
{
	unsigned long s;

	return rd_ulong(dir, "state", &s) || s > XenbusStateReconfigured ? -1 : (int)s;
}

static void set_state(struct vbd *v, int s)
{
	if (v->state == s)
		return;
	v->state = s;
	wr(v->be, "state", "%d", s);
}

static void disconnect(struct vbd *v)
{
	if (!v->connected)
		return;
	blkio__stop(&v->io);
	kxctrl_close(v->io.hv);
	v->io.hv = NULL;
	backd_fd_del(bb.bd, v->dead_fd);
	close(v->dead_fd);
	v->dead_fd = -1;
	v->connected = false;
	if (bb.stats_dir[0]) {
		char path[320];
		snprintf(path, sizeof(path), "%s/%" PRIu32 "-%u", bb.stats_dir, v->dom->domid, v->devid);
		unlink(path);
	}
	vlog(v, "disconnected");
}

/* The worker gave up on the ring: the device goes to Closing and stays cut off until the frontend resets. */
static void on_dead(struct backd *bd, int fd, uint32_t ev, void *arg)
{
	struct vbd *v = arg;
	uint64_t cnt;
	char why[sizeof(v->io.dead_why)];

	if (read(fd, &cnt, sizeof(cnt)) < 0)
		return;
	snprintf(why, sizeof(why), "%s", v->io.dead_why);
	vlog(v, "frontend cut off: %s", why);
	disconnect(v);
	v->broken = true;
	set_state(v, XenbusStateClosing);
}

/* Opens the image the toolstack named and advertises what we do (InitWait). */
static int probe(struct vbd *v)
{
	char expect[96], err[256];
	char *fe = rd(v->be, "frontend"), *params = rd(v->be, "params");
	char *format = rd(v->be, "format"), *mode = rd(v->be, "mode");
	unsigned long fe_id;
	int rc = -EINVAL;

	snprintf(expect, sizeof(expect), "/local/domain/%" PRIu32 "/device/vbd/%u", v->dom->domid,
	         v->devid);
	if (!fe || strcmp(fe, expect) || rd_ulong(v->be, "frontend-id", &fe_id) ||
	    fe_id != v->dom->domid) {
		snprintf(err, sizeof(err), "frontend/frontend-id do not name %s", expect);
		goto out;
	}
	if (!params || params[0] != '/') {
		snprintf(err, sizeof(err), "params must be the image's absolute path");
		goto out;
	}
	snprintf(v->fe, sizeof(v->fe), "%s", expect);
	v->readonly = mode && (!strcmp(mode, "r") || !strcmp(mode, "ro"));
	if ((rc = disk_open(&v->disk, params, format ? format : "raw", v->readonly ? DISK_RDONLY : 0,
	                    err, sizeof(err))))
		goto out;
	/* blkif.h's backend keys. */
	uint64_t sectors = disk_size(v->disk) / BLK_SECTOR;
	unsigned long de = 1;
	bool discard = !v->readonly && (rd_ulong(v->be, "discard-enable", &de) || de);

	wr(v->be, "feature-flush-cache", "1");
	wr(v->be, "feature-barrier", "0");
	wr(v->be, "feature-discard", "%d", discard);
	if (discard) {
		wr(v->be, "discard-granularity", "%u", BLK_PAGE);
		wr(v->be, "discard-alignment", "0");
		wr(v->be, "discard-secure", "0");
	}
	wr(v->be, "feature-persistent", "1");
	wr(v->be, "feature-max-indirect-segments", "%u", BLK_MAX_INDIRECT_SEGS);
	wr(v->be, "max-ring-page-order", "%u", BLK_MAX_RING_ORDER);
	wr(v->be, "sectors", "%" PRIu64, sectors);
	wr(v->be, "sector-size", "%u", BLK_SECTOR);
	wr(v->be, "physical-sector-size", "%u", BLK_SECTOR);
	wr(v->be, "info", "%u", v->readonly ? VDISK_READONLY : 0u);
	v->io.lim = (struct blkreq_limits){ .sectors = sectors, .readonly = v->readonly,
	                                     .discard = discard, .max_indirect = BLK_MAX_INDIRECT_SEGS };
	vlog(v, "%s (%s%s, %" PRIu64 " sectors): waiting for the frontend", params,
	     disk_format(v->disk), v->readonly ? ", read-only" : "", sectors);
	set_state(v, XenbusStateInitWait);
	rc = 0;
out:
	if (rc) {
		vlog(v, "cannot serve: %s", err);
		wr(v->be, "hotplug-error", "%s", err);
		v->broken = true;
		set_state(v, XenbusStateClosed);
	}
	free(fe);
	free(params);
	free(format);
	free(mode);
	return rc;
}

/* The frontend published its ring: map it, bind its port, start the worker, Connected. */
static int connect_fe(struct vbd *v)
{
	grant_ref_t refs[1u << BLK_MAX_RING_ORDER];
	unsigned long order = 0, port, pers = 0, ref;
	const char *why = "";
	char *proto;
	unsigned nr;
	int rc;

	if ((rc = rd_ulong(v->fe, "ring-page-order", &order)) && rc != -ENOENT) {
		why = "ring-page-order is not a number";
		goto bad;
	}
	if (order > BLK_MAX_RING_ORDER) {
		why = "ring-page-order above max-ring-page-order";
		rc = -EINVAL;
		goto bad;
	}
	nr = 1u << order;
	for (unsigned i = 0; i < nr; i++) {
		char key[16];

		snprintf(key, sizeof(key), "ring-ref%u", i);
		rc = rd_ulong(v->fe, key, &ref);
		/* A one-page ring may use the old single key. */
		if (rc == -ENOENT && order == 0)
			rc = rd_ulong(v->fe, "ring-ref", &ref);
		if (rc) {
			why = "missing or malformed ring-ref";
			goto bad;
		}
		if (ref > UINT32_MAX) {
			why = "ring-ref out of range";
			rc = -EINVAL;
			goto bad;
		}
		refs[i] = (grant_ref_t)ref;
	}
	if ((rc = rd_ulong(v->fe, "event-channel", &port)) || port > UINT32_MAX) {
		why = "missing or malformed event-channel";
		rc = rc ? rc : -EINVAL;
		goto bad;
	}
	proto = rd(v->fe, "protocol");
	if (proto && strcmp(proto, XEN_IO_PROTO_ABI_X86_64)) {
		free(proto);
		why = "protocol is not x86_64-abi (only the native 64-bit ring is served)";
		rc = -EPROTONOSUPPORT;
		goto bad;
	}
	free(proto);
	rd_ulong(v->fe, "feature-persistent", &pers);
	v->io.domid = v->dom->domid;
	v->io.devid = v->devid;
	v->io.disk = v->disk;
	v->io.persistent = pers == 1;
	v->io.err_logged = 0;
	memset(&v->io.st, 0, sizeof(v->io.st));
	if ((rc = kxctrl_open(bb.bd->opt.hv_socket, &v->io.hv))) {
		why = "cannot connect to kxen-hv";
		goto bad;
	}
	v->dead_fd = v->io.dead_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->dead_fd < 0 || backd_fd_add(bb.bd, v->dead_fd, EPOLLIN, on_dead, v)) {
		why = "eventfd";
		rc = -EMFILE;
		goto bad_hv;
	}
	if ((rc = blkio__start(&v->io, refs, nr, (uint32_t)port, &why))) {
		backd_fd_del(bb.bd, v->dead_fd);
		goto bad_hv;
	}
	v->connected = true;
	{
		struct kxctl_dominfo di;
		v->created_ns = kxctrl_domain_info(v->io.hv, v->dom->domid, &di) ? 0 : di.created_ns;
	}
	vlog(v, "connected: %u-page ring, port %lu, %s grants", nr, port,
	     v->io.persistent ? "persistent" : "per-request");
	set_state(v, XenbusStateConnected);
	return 0;
bad_hv:
	if (v->dead_fd >= 0)
		close(v->dead_fd);
	v->dead_fd = -1;
	kxctrl_close(v->io.hv);
	v->io.hv = NULL;
bad:
	vlog(v, "cannot connect: %s (%s)", why, strerror(-rc));
	v->broken = true;
	set_state(v, XenbusStateClosing);
	return rc;
}

static void vbd_free(struct vbd *v)
{
	disconnect(v);
	if (v->fe_watched)
		xs_unwatch(bb.xs, v->fe, v->dom->token);
	/* The toolstack and tests wait for this line: only now is the image complete and ours no more. */
	if (v->disk) {
		int rc = disk_close(v->disk);

		if (rc)
			vlog(v, "image closed, but its last flush failed: %s", strerror(-rc));
		else
			vlog(v, "image closed");
	}
	free(v);
}

/* Everything the backend does is decided here from the two states; called on every change. */
static void vbd_update(struct vbd *v)
{
	unsigned long online = 1;
	int be_state = read_state(v->be), fe_state;

	rd_ulong(v->be, "online", &online);
	if (v->state == 0) {
		if (probe(v))
			return;
		xs_watch(bb.xs, v->fe, v->dom->token);
		v->fe_watched = true;
	}
	fe_state = read_state(v->fe);
	/* The toolstack asks for the device back (libxl: online=0 and Closing): close, then Closed. */
	if (!online || (be_state == XenbusStateClosing && v->state != XenbusStateClosing &&
	                v->state != XenbusStateClosed)) {
		disconnect(v);
		if (v->state != XenbusStateClosed)
			set_state(v, XenbusStateClosing);
		/* A frontend that never started, or has closed, has nothing more to do. */
		if (fe_state <= XenbusStateInitialising || fe_state == XenbusStateClosed)
			set_state(v, XenbusStateClosed);
		return;
	}
	switch (fe_state) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (v->state == XenbusStateInitWait && !v->broken && !v->connected)
			connect_fe(v);
		break;
	case XenbusStateClosing:
		disconnect(v);
		if (v->state != XenbusStateClosed)
			set_state(v, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		disconnect(v);
		set_state(v, XenbusStateClosed);
		break;
	case XenbusStateInitialising:
		/* A frontend starting over after a close (Linux's "prepare for reconnect"). */
		if (v->state == XenbusStateClosed && v->disk) {
			v->broken = false;
			set_state(v, XenbusStateInitWait);
		}
		break;
	default:
		/* The frontend directory is gone or unreadable: nothing to serve. */
		if (fe_state < 0)
			disconnect(v);
		break;
	}
}

/* Rescans /local/domain/0/backend/vbd/D: new devices probed, gone ones freed, all updated. */
static void dom_scan(struct bb_dom *d)
{
	char dir[64];
	unsigned n = 0;
	char **ents;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%" PRIu32, d->domid);
	ents = xs_directory(bb.xs, XBT_NULL, dir, &n);
	for (struct vbd **pp = &d->vbds; *pp;) {
		struct vbd *v = *pp;
		bool found = false;

		for (unsigned i = 0; ents && i < n && !found; i++)
			found = strtoul(ents[i], NULL, 10) == v->devid;
		if (found) {
			pp = &v->next;
			continue;
		}
		vlog(v, "removed");
		*pp = v->next;
		vbd_free(v);
	}
	for (unsigned i = 0; ents && i < n; i++) {
		char *end;
		unsigned long id = strtoul(ents[i], &end, 10);
		struct vbd *v;

		if (end == ents[i] || *end || id > UINT32_MAX)
			continue;
		for (v = d->vbds; v && v->devid != id; v = v->next)
			;
		if (!v) {
			v = calloc(1, sizeof(*v));
			if (!v)
				continue;
			v->dom = d;
			v->devid = (unsigned)id;
			v->dead_fd = -1;
			snprintf(v->be, sizeof(v->be), "%s/%lu", dir, id);
			v->next = d->vbds;
			d->vbds = v;
		}
		/* A probe that failed stays failed until the toolstack removes the device. */
		if (v->state == XenbusStateClosed && v->broken && !v->disk)
			continue;
		vbd_update(v);
	}
	free(ents);
}

static void on_xs(struct backd *bd, int fd, uint32_t ev, void *arg)
{
	char **vec;

	while ((vec = xs_check_watch(bb.xs))) {
		unsigned long domid = strtoul(vec[XS_WATCH_TOKEN] + 4, NULL, 10);

		free(vec);
		for (struct backd_dom *d = bd->doms; d; d = d->next)
			if (d->domid == domid && d->priv[BLKBACK_SLOT])
				dom_scan(d->priv[BLKBACK_SLOT]);
	}
	if (errno != EAGAIN) {
		backd_log("xenstore: vbd connection lost (%s); exiting", strerror(errno));
		bd->quit = true;
	}
}

/* One small file per connected vbd (dom0-tools/kxtop/devstats.h), replaced atomically. */
static void publish_stats(struct vbd *v)
{
	char path[320], tmp[330];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%" PRIu32 "-%u", bb.stats_dir, v->dom->domid, v->devid);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
	        v->created_ns, (uint64_t)v->io.st.oo_req, (uint64_t)v->io.st.rd_req,
	        (uint64_t)v->io.st.wr_req, (uint64_t)v->io.st.rd_sect, (uint64_t)v->io.st.wr_sect);
	if (fclose(f) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
}

static void on_stats(struct backd *bd, int fd, uint32_t ev, void *arg)
{
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	for (struct backd_dom *d = bd->doms; d; d = d->next) {
		struct bb_dom *b = d->priv[BLKBACK_SLOT];
		for (struct vbd *v = b ? b->vbds : NULL; v; v = v->next)
			if (v->connected)
				publish_stats(v);
	}
}

static void stats_init(struct backd *bd)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	const char *run = getenv("KXEN_RUN_DIR");

	snprintf(bb.stats_dir, sizeof(bb.stats_dir), "%s/vbd", run && *run ? run : "/run/kxen");
	if (mkdir(run && *run ? run : "/run/kxen", 0755) < 0 && errno != EEXIST)
		goto off;
	if (mkdir(bb.stats_dir, 0755) < 0 && errno != EEXIST)
		goto off;
	bb.stats_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (bb.stats_fd >= 0 && timerfd_settime(bb.stats_fd, 0, &its, NULL) == 0 &&
	    backd_fd_add(bd, bb.stats_fd, EPOLLIN, on_stats, NULL) == 0)
		return;
off:
	/* Counters are a convenience: serving disks does not depend on them. */
	backd_log("vbd: no statistics for kxtop in %s: %s", bb.stats_dir, strerror(errno));
	bb.stats_dir[0] = 0;
}

static int bb_init(struct backd *bd)
{
	if (bb.xs)
		return 0;
	bb.bd = bd;
	bb.xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!bb.xs)
		return -errno;
	stats_init(bd);
	return backd_fd_add(bd, xs_fileno(bb.xs), EPOLLIN, on_xs, NULL);
}

static int vbd_attach(struct backd *bd, struct backd_dom *dom)
{
	struct bb_dom *d;
	char dir[64];
	int rc;

	if ((rc = bb_init(bd)))
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->domid = dom->domid;
	snprintf(d->token, sizeof(d->token), "vbd:%" PRIu32, dom->domid);
	snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%" PRIu32, dom->domid);
	/* Fires once at once (Xen's rule), which does the first scan. */
	if (!xs_watch(bb.xs, dir, d->token)) {
		rc = -errno;
		free(d);
		return rc;
	}
	dom->priv[BLKBACK_SLOT] = d;
	return 0;
}

static void vbd_detach(struct backd *bd, struct backd_dom *dom)
{
	struct bb_dom *d = dom->priv[BLKBACK_SLOT];
	char dir[64];

	if (!d)
		return;
	snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%" PRIu32, d->domid);
	xs_unwatch(bb.xs, dir, d->token);
	while (d->vbds) {
		struct vbd *v = d->vbds;

		d->vbds = v->next;
		vbd_free(v);
	}
	free(d);
	dom->priv[BLKBACK_SLOT] = NULL;
}

const struct backend_ops vbd_backend = {
	.name = "vbd",
	.attach = vbd_attach,
	.detach = vbd_detach,
	.reopen = NULL,
};
