/* The vif device type on the xenbus layer: Xen's netif keys (as Linux xen-netback), the switch port and TAP set-up. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>
#include <kxen/mac.h>
#include "netback.h"
#include "xenbus.h"

#define DEFAULT_BRIDGE "xenbr0"                  /* libxl's default */

void netback__fatal(struct vif *v, const char *why)
{
	xenbus_dev_fatal(v->xd, why);
}

/* Reads the toolstack's mac and bridge, advertises our features (the layer then says InitWait). */
static int vif_probe(struct xenbus_dev *xd, char *err, size_t len)
{
	struct vif *v = xenbus_priv(xd);
	char *mac = xenbus_read(xd->bd, xd->be, "mac"), *br = xenbus_read(xd->bd, xd->be, "bridge");
	int rc = -EINVAL;

	if (!mac) {
		rc = -EAGAIN;   /* the toolstack is still writing the directory */
		goto out;
	}
	if (kxen_mac_parse_unicast(mac, v->mac) || vswitch__name_ok(br ? br : DEFAULT_BRIDGE)) {
		snprintf(err, len, "bad backend keys (mac '%s', bridge '%s')", mac, br ? br : DEFAULT_BRIDGE);
		goto out;
	}
	v->xd = xd;
	v->domid = xd->domid;
	v->devid = xd->devid;
	v->notify_fd = v->kick_fd = -1;
	snprintf(v->bridge, sizeof(v->bridge), "%s", br ? br : DEFAULT_BRIDGE);
	xenbus_write(xd->bd, xd->be, "feature-sg", "1");
	xenbus_write(xd->bd, xd->be, "feature-rx-copy", "1");
	xenbus_write(xd->bd, xd->be, "feature-rx-flip", "0");
	/* Checksums and GSO are taken from the guest, and given to receivers that say they take them. */
	xenbus_write(xd->bd, xd->be, "feature-no-csum-offload", "0");
	xenbus_write(xd->bd, xd->be, "feature-ipv6-csum-offload", "1");
	xenbus_write(xd->bd, xd->be, "feature-gso-tcpv4", "1");
	xenbus_write(xd->bd, xd->be, "feature-gso-tcpv6", "1");
	xenbus_write(xd->bd, xd->be, "feature-multicast-control", "0");
	/* kxen's own: unannounced rx responses are announced after this much quiet (netback.h). */
	xenbus_write(xd->bd, xd->be, "feature-kxen-rx-quiet-us", "%llu", NB_RX_QUIET_NS / 1000);
	xenbus_write(xd->bd, xd->be, "hotplug-status", "connected");   /* no hotplug script: the switch port is ours */
	v->next = nb.vifs;
	nb.vifs = v;
	rc = 0;
out:
	free(mac);
	free(br);
	return rc;
}

/* The frontend said Initialised/Connected: check its keys and connect. */
static int vif_connect(struct xenbus_dev *xd, char *err, size_t len)
{
	struct vif *v = xenbus_priv(xd);
	struct backd *bd = xd->bd;
	unsigned long tx, rx, port, copy = 0, notify = 0, sg = 0, queues = 1;
	unsigned long nocsum = 0, csum6 = 0, gso4 = 0, gso6 = 0;
	const char *why = NULL;
	int rc;

	if ((rc = xenbus_read_ulong(bd, xd->fe, "tx-ring-ref", UINT32_MAX, &tx)) ||
	    (rc = xenbus_read_ulong(bd, xd->fe, "rx-ring-ref", UINT32_MAX, &rx))) {
		why = xenbus_why();
	} else if ((rc = xenbus_read_ulong(bd, xd->fe, "event-channel", UINT32_MAX, &port)) || port == 0) {
		why = "event-channel missing or invalid (split event channels are not offered)";
	} else if ((rc = xenbus_read_ulong(bd, xd->fe, "request-rx-copy", 1, &copy)) || copy != 1) {
		why = "request-rx-copy is not 1: only copying receive (no page flipping) is supported";
	} else if ((rc = xenbus_read_ulong(bd, xd->fe, "multi-queue-num-queues", 1, &queues)) && rc != -ENOENT) {
		why = "multi-queue-num-queues > 1: multi-queue is not offered";
	} else {
		rc = 0;
		xenbus_read_ulong(bd, xd->fe, "feature-rx-notify", 1, &notify);
		xenbus_read_ulong(bd, xd->fe, "feature-sg", 1, &sg);
		xenbus_read_ulong(bd, xd->fe, "feature-no-csum-offload", 1, &nocsum);
		xenbus_read_ulong(bd, xd->fe, "feature-ipv6-csum-offload", 1, &csum6);
		xenbus_read_ulong(bd, xd->fe, "feature-gso-tcpv4", 1, &gso4);
		xenbus_read_ulong(bd, xd->fe, "feature-gso-tcpv6", 1, &gso6);
		if (!notify)
			why = "feature-rx-notify is not 1 (required, as by Linux netback)";
	}
	if (why) {
		snprintf(err, len, "%s", why);
		return rc ? rc : -EINVAL;
	}
	v->rx_sg = sg;
	/*
	 * As netif.h and Linux's netback: blank checksums unless the frontend
	 * wrote feature-no-csum-offload=1 (IPv6 only with
	 * feature-ipv6-csum-offload); GSO frames (which travel with a blank
	 * checksum, in up to 17 slots) only with feature-sg too.
	 */
	v->rx_offload = (nocsum ? 0 : NB_OFF_CSUM) | (csum6 ? NB_OFF_CSUM6 : 0);
	if (sg && gso4 && (v->rx_offload & NB_OFF_CSUM))
		v->rx_offload |= NB_OFF_GSO4;
	if (sg && gso6 && (v->rx_offload & NB_OFF_CSUM6))
		v->rx_offload |= NB_OFF_GSO6;
	if ((rc = netback_io__connect(v, (grant_ref_t)tx, (grant_ref_t)rx, (uint32_t)port, &why))) {
		snprintf(err, len, "%s", why);
		return rc;
	}
	xenbus_dev_log(xd, "connected to bridge %s (mac %02x:%02x:%02x:%02x:%02x:%02x, sg %s; the guest receives "
	               "blank checksums: ipv4 %s, ipv6 %s; GSO: tcpv4 %s, tcpv6 %s)", v->bridge,
	               v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5], v->rx_sg ? "on" : "off",
	               v->rx_offload & NB_OFF_CSUM ? "on" : "off", v->rx_offload & NB_OFF_CSUM6 ? "on" : "off",
	               v->rx_offload & NB_OFF_GSO4 ? "on" : "off", v->rx_offload & NB_OFF_GSO6 ? "on" : "off");
	return 0;
}

static void vif_disconnect(struct xenbus_dev *xd)
{
	netback_io__disconnect(xenbus_priv(xd));
}

static void vif_remove(struct xenbus_dev *xd)
{
	struct vif *v = xenbus_priv(xd);

	for (struct vif **pp = &nb.vifs; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
}

static void vif_stats(struct xenbus_dev *xd, uint64_t *vals)
{
	struct vif *v = xenbus_priv(xd);

	vals[KXD_VIF_TX_BYTES] = v->st.tx_bytes;
	vals[KXD_VIF_TX_PKTS] = v->st.tx_pkts;
	vals[KXD_VIF_TX_ERR] = v->st.tx_err;
	vals[KXD_VIF_TX_DROP] = v->st.tx_drop;
	vals[KXD_VIF_RX_BYTES] = v->st.rx_bytes;
	vals[KXD_VIF_RX_PKTS] = v->st.rx_pkts;
	vals[KXD_VIF_RX_ERR] = v->st.rx_err;
	vals[KXD_VIF_RX_DROP] = v->st.rx_drop;
}

static void on_tick(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == sizeof(n))
		netback_io__tick();
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
		tap__open(e, eq + 1);
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
		goto out;
	}
	if ((rc = netback_io__init())) {
		kxd_log("net: cannot set up the copy buffer: %s", strerror(-rc));
		goto out;
	}
	nb.tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (nb.tick_fd < 0 || timerfd_settime(nb.tick_fd, 0, &its, NULL) < 0 ||
	    (rc = kxd_loop_add(&bd->loop, nb.tick_fd, EPOLLIN, on_tick, NULL))) {
		rc = rc ? rc : -errno;
		kxd_log("net: tick timer: %s", strerror(-rc));
		goto out;
	}
	open_taps();
	kxd_log("net: serving vifs (stats in %s/%s)", kxd_rundir(), kxd_devstats_vif.dir);
	return 0;
out:
	/* Not retried (the xenbus layer turns the type off): it would log the same thing every scan. */
	return rc;
}

const struct xenbus_type vif_xenbus = {
	.type = "vif",
	.max_devid = 255,
	.priv_size = sizeof(struct vif),
	.stats_kind = &kxd_devstats_vif,
	.init = nb_init,
	.probe = vif_probe,
	.connect = vif_connect,
	.disconnect = vif_disconnect,
	.remove = vif_remove,
	.stats = vif_stats,
};
