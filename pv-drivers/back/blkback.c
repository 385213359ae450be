/* The vbd device type on the xenbus layer: opens the image the toolstack names, advertises blkif's features, connects the ring to a worker. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>
#include <xen/io/protocols.h>
#include "backd.h"
#include "blkback.h"
#include "kxen/disk.h"
#include "xenbus.h"

/* One vbd: xenbus_priv of its device. */
struct vbd {
	struct xenbus_dev *xd;
	struct disk *disk;
	bool readonly;
	struct blkio io;
	int dead_fd;
};

/* The worker gave up on the ring: the device goes to Closing and stays cut off until the frontend resets. */
static void on_dead(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct vbd *v = arg;
	uint64_t cnt;
	char why[sizeof(v->io.dead_why)];

	if (read(fd, &cnt, sizeof(cnt)) < 0)
		return;
	snprintf(why, sizeof(why), "%s", v->io.dead_why);
	xenbus_dev_fatal(v->xd, why);
}

/* Opens the image the toolstack named and advertises what we do (the layer then says InitWait). */
static int vbd_probe(struct xenbus_dev *xd, char *err, size_t len)
{
	struct vbd *v = xenbus_priv(xd);
	struct backd *bd = xd->bd;
	char *params = xenbus_read(bd, xd->be, "params");
	char *format = xenbus_read(bd, xd->be, "format"), *mode = xenbus_read(bd, xd->be, "mode");
	/* Written by the toolstack from the domain XML's <backingStore>; guests cannot write backend keys. */
	char *backing = xenbus_read(bd, xd->be, "backing"), *backing_fmt = xenbus_read(bd, xd->be, "backing-format");
	unsigned long de = 1;
	int rc = -EINVAL;

	v->xd = xd;
	v->dead_fd = -1;
	if (!params || params[0] != '/') {
		snprintf(err, len, "params must be the image's absolute path");
		goto out;
	}
	v->readonly = mode && (!strcmp(mode, "r") || !strcmp(mode, "ro"));
	if ((rc = disk_open_backed(&v->disk, params, format ? format : "raw", v->readonly ? DISK_RDONLY : 0,
	                           backing, backing_fmt, err, len)))
		goto out;
	/* blkif.h's backend keys. */
	uint64_t sectors = disk_size(v->disk) / BLK_SECTOR;
	bool discard = !v->readonly && (xenbus_read_ulong(bd, xd->be, "discard-enable", 1, &de) || de);
	/* qcow2 frees whole clusters only: a smaller unit would promise what it cannot do. */
	uint32_t gran = disk_discard_granularity(v->disk) ? disk_discard_granularity(v->disk) : BLK_PAGE;

	xenbus_write(bd, xd->be, "feature-flush-cache", "1");
	xenbus_write(bd, xd->be, "feature-barrier", "0");
	xenbus_write(bd, xd->be, "feature-discard", "%d", discard);
	if (discard) {
		xenbus_write(bd, xd->be, "discard-granularity", "%u", gran);
		xenbus_write(bd, xd->be, "discard-alignment", "0");
		xenbus_write(bd, xd->be, "discard-secure", "0");
	}
	xenbus_write(bd, xd->be, "feature-persistent", "1");
	xenbus_write(bd, xd->be, "feature-max-indirect-segments", "%u", BLK_MAX_INDIRECT_SEGS);
	xenbus_write(bd, xd->be, "max-ring-page-order", "%u", BLK_MAX_RING_ORDER);
	xenbus_write(bd, xd->be, "sectors", "%" PRIu64, sectors);
	xenbus_write(bd, xd->be, "sector-size", "%u", BLK_SECTOR);
	xenbus_write(bd, xd->be, "physical-sector-size", "%u", BLK_SECTOR);
	xenbus_write(bd, xd->be, "info", "%u", v->readonly ? VDISK_READONLY : 0u);
	v->io.lim = (struct blkreq_limits){ .sectors = sectors, .readonly = v->readonly,
	                                     .discard = discard, .max_indirect = BLK_MAX_INDIRECT_SEGS };
	xenbus_dev_log(xd, "%s (%s%s, %" PRIu64 " sectors, discard granularity %u): waiting for the frontend",
	               params, disk_format(v->disk), v->readonly ? ", read-only" : "", sectors, discard ? gran : 0);
	rc = 0;
out:
	free(params);
	free(format);
	free(mode);
	free(backing);
	free(backing_fmt);
	return rc;
}

/* The frontend published its ring: map it, bind its port, start the worker. */
static int vbd_connect(struct xenbus_dev *xd, char *err, size_t len)
{
	struct vbd *v = xenbus_priv(xd);
	struct backd *bd = xd->bd;
	grant_ref_t refs[1u << BLK_MAX_RING_ORDER];
	unsigned long order = 0, port, pers = 0, ref;
	const char *why = "";
	char *proto;
	unsigned nr;
	int rc;

	if ((rc = xenbus_read_ulong(bd, xd->fe, "ring-page-order", BLK_MAX_RING_ORDER, &order)) &&
	    rc != -ENOENT) {
		snprintf(err, len, "%s (max-ring-page-order is %u)", xenbus_why(), BLK_MAX_RING_ORDER);
		return rc;
	}
	nr = 1u << order;
	for (unsigned i = 0; i < nr; i++) {
		char key[16];

		snprintf(key, sizeof(key), "ring-ref%u", i);
		rc = xenbus_read_ulong(bd, xd->fe, key, UINT32_MAX, &ref);
		/* A one-page ring may use the old single key. */
		if (rc == -ENOENT && order == 0)
			rc = xenbus_read_ulong(bd, xd->fe, "ring-ref", UINT32_MAX, &ref);
		if (rc) {
			snprintf(err, len, "%s", xenbus_why());
			return rc;
		}
		refs[i] = (grant_ref_t)ref;
	}
	if ((rc = xenbus_read_ulong(bd, xd->fe, "event-channel", UINT32_MAX, &port))) {
		snprintf(err, len, "%s", xenbus_why());
		return rc;
	}
	proto = xenbus_read(bd, xd->fe, "protocol");
	if (proto && strcmp(proto, XEN_IO_PROTO_ABI_X86_64)) {
		free(proto);
		snprintf(err, len, "protocol is not x86_64-abi (only the native 64-bit ring is served)");
		return -EPROTONOSUPPORT;
	}
	free(proto);
	xenbus_read_ulong(bd, xd->fe, "feature-persistent", 1, &pers);
	v->io.domid = xd->domid;
	v->io.devid = xd->devid;
	v->io.disk = v->disk;
	v->io.persistent = pers == 1;
	v->io.err_logged = 0;
	memset(&v->io.st, 0, sizeof(v->io.st));
	if ((rc = kxctrl_open(bd->opt.hv_socket, &v->io.hv))) {
		why = "cannot connect to kxen-hv";
		goto out;
	}
	v->dead_fd = v->io.dead_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->dead_fd < 0 || kxd_loop_add(&bd->loop, v->dead_fd, EPOLLIN, on_dead, v)) {
		why = "eventfd";
		rc = -EMFILE;
		goto out;
	}
	if ((rc = blkback_io__start(&v->io, refs, nr, (uint32_t)port, &why))) {
		kxd_loop_del(&bd->loop, v->dead_fd);
		goto out;
	}
	xenbus_dev_log(xd, "connected: %u-page ring, port %lu, %s grants", nr, port,
	               v->io.persistent ? "persistent" : "per-request");
	return 0;
out:
	if (v->dead_fd >= 0)
		close(v->dead_fd);
	v->dead_fd = -1;
	kxctrl_close(v->io.hv);
	v->io.hv = NULL;
	snprintf(err, len, "%s", why);
	return rc;
}

static void vbd_disconnect(struct xenbus_dev *xd)
{
	struct vbd *v = xenbus_priv(xd);

	blkback_io__stop(&v->io);
	kxctrl_close(v->io.hv);
	v->io.hv = NULL;
	kxd_loop_del(&xd->bd->loop, v->dead_fd);
	close(v->dead_fd);
	v->dead_fd = -1;
}

static void vbd_remove(struct xenbus_dev *xd)
{
	struct vbd *v = xenbus_priv(xd);

	/* Its last flush: what the guest wrote is in the image file once this line is logged. */
	if (v->disk) {
		int rc = disk_close(v->disk);

		xenbus_dev_log(xd, "image closed%s%s", rc ? ": last flush failed: " : "", rc ? strerror(-rc) : "");
	}
	v->disk = NULL;
}

static void vbd_stats(struct xenbus_dev *xd, uint64_t *vals)
{
	struct vbd *v = xenbus_priv(xd);

	vals[KXD_VBD_OO_REQ] = v->io.st.oo_req;
	vals[KXD_VBD_RD_REQ] = v->io.st.rd_req;
	vals[KXD_VBD_WR_REQ] = v->io.st.wr_req;
	vals[KXD_VBD_RD_SECT] = v->io.st.rd_sect;
	vals[KXD_VBD_WR_SECT] = v->io.st.wr_sect;
}

const struct xenbus_type vbd_xenbus = {
	.type = "vbd",
	.max_devid = UINT32_MAX,
	.priv_size = sizeof(struct vbd),
	.stats_kind = &kxd_devstats_vbd,
	.probe = vbd_probe,
	.connect = vbd_connect,
	.disconnect = vbd_disconnect,
	.remove = vbd_remove,
	.stats = vbd_stats,
};
