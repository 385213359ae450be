/* kxl network-attach/-detach/-list and the <interface> devices of a domain's XML: vif frontend/backend directories and the XenbusState close sequence. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>
#include "kxl.h"
#include "kxl_xs.h"
#include "kxconfig.h"

#define VIF_MAX        256       /* devids 0..255, as the backend accepts */
#define WAIT_MS        10000

static void fe_path(char *buf, size_t len, uint32_t domid, unsigned dev)
{
	snprintf(buf, len, "/local/domain/%u/device/vif/%u", domid, dev);
}

static void be_path(char *buf, size_t len, uint32_t domid, unsigned dev)
{
	snprintf(buf, len, "/local/domain/0/backend/vif/%u/%u", domid, dev);
}

static int xs_readint(struct xs_handle *xs, const char *dir, const char *key, long *val)
{
	char path[160], *s, *end;
	unsigned len;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	s = xs_read(xs, XBT_NULL, path, &len);
	if (!s)
		return -ENOENT;
	*val = strtol(s, &end, 10);
	if (end == s || *end)
		rc = -EINVAL;
	free(s);
	return rc;
}

static int put(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(xs, t, path, val, strlen(val)) ? 0 : -errno;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return (mac[0] & 1) ? -EINVAL : 0;
}

/* The first devid with no backend directory. */
static int free_devid(struct xs_handle *xs, uint32_t domid)
{
	for (unsigned d = 0; d < VIF_MAX; d++) {
		char be[96];
		unsigned n;
		char **l;

		be_path(be, sizeof(be), domid, d);
		l = xs_directory(xs, XBT_NULL, be, &n);
		if (!l)
			return (int)d;
		free(l);
	}
	return -ENOSPC;
}

/* Waits until the backend's state satisfies pred, or WAIT_MS. Returns the state, or -ETIMEDOUT. */
static long wait_be_state(struct xs_handle *xs, const char *be, long want_min)
{
	struct timespec ts = { 0, 20 * 1000000L };
	long st = 0;

	for (int i = 0; i < WAIT_MS / 20; i++) {
		if (xs_readint(xs, be, "state", &st) == -ENOENT)
			return -ENOENT;
		if (st >= want_min)
			return st;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

struct vif_spec {
	uint8_t mac[6];
	const char *bridge, *ip;
};

/*
 * Writes a vif's frontend and backend directories in one transaction, with
 * libxl's permissions (frontend: the guest owns it, dom0 reads; backend:
 * dom0 owns it, the guest reads), as XenbusStateInitialising.
 */
static int vif_write(struct xs_handle *xs, uint32_t domid, unsigned dev, const struct vif_spec *v)
{
	char fe[96], be[96], mac[18], num[16];
	struct xs_permissions feperm[2] = { { .id = domid, .perms = XS_PERM_NONE }, { .id = 0, .perms = XS_PERM_READ } };
	struct xs_permissions beperm[2] = { { .id = 0, .perms = XS_PERM_NONE }, { .id = domid, .perms = XS_PERM_READ } };
	int rc;

	fe_path(fe, sizeof(fe), domid, dev);
	be_path(be, sizeof(be), domid, dev);
	kxconfig_mac_format(v->mac, mac);
	for (int tries = 0; tries < 16; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL)
			return -errno;
		rc = 0;
		if (!xs_mkdir(xs, t, fe) || !xs_set_permissions(xs, t, fe, feperm, 2) ||
		    !xs_mkdir(xs, t, be) || !xs_set_permissions(xs, t, be, beperm, 2))
			rc = -errno;
		snprintf(num, sizeof(num), "%u", domid);
		if (!rc)
			rc = put(xs, t, be, "frontend", fe) ?: put(xs, t, be, "frontend-id", num) ?:
			     put(xs, t, be, "online", "1") ?: put(xs, t, be, "mac", mac) ?:
			     put(xs, t, be, "bridge", v->bridge) ?: put(xs, t, be, "type", "vif") ?:
			     (v->ip ? put(xs, t, be, "ip", v->ip) : 0);
		snprintf(num, sizeof(num), "%u", dev);
		if (!rc)
			rc = put(xs, t, be, "handle", num) ?: put(xs, t, fe, "handle", num) ?:
			     put(xs, t, fe, "backend", be) ?: put(xs, t, fe, "backend-id", "0") ?:
			     put(xs, t, fe, "mac", mac) ?: put(xs, t, fe, "state", "1") ?:
			     put(xs, t, be, "state", "1");
		if (!xs_transaction_end(xs, t, rc != 0)) {
			if (!rc && errno == EAGAIN)
				continue;
			rc = rc ? rc : -errno;
		}
		return rc;
	}
	return -EAGAIN;
}

static void vif_remove(struct xs_handle *xs, uint32_t domid, unsigned dev)
{
	char fe[96], be[96];

	fe_path(fe, sizeof(fe), domid, dev);
	be_path(be, sizeof(be), domid, dev);
	xs_rm(xs, XBT_NULL, fe);
	xs_rm(xs, XBT_NULL, be);
}

/* Adds a vif and waits for kxen-backd to take it (backend InitWait or later). Prints the devid. */
static int vif_attach(struct xs_handle *xs, uint32_t domid, const struct vif_spec *v, int *devid)
{
	char be[96];
	int dev = free_devid(xs, domid), rc;
	long st;

	if (dev < 0) {
		kxl_err("domain %u already has %d vifs", domid, VIF_MAX);
		return dev;
	}
	if ((rc = vif_write(xs, domid, (unsigned)dev, v))) {
		kxl_err("cannot write the vif's xenstore directories: %s", strerror(-rc));
		vif_remove(xs, domid, (unsigned)dev);
		return rc;
	}
	be_path(be, sizeof(be), domid, (unsigned)dev);
	st = wait_be_state(xs, be, XenbusStateInitWait);
	if (st < 0) {
		kxl_err("no network backend took vif %u of domain %u within %d s (is kxen-backd running?)",
		        dev, domid, WAIT_MS / 1000);
		vif_remove(xs, domid, (unsigned)dev);
		return -ETIMEDOUT;
	}
	*devid = dev;
	return 0;
}

static int open_dom(const char *dom, uint32_t *domid, struct xs_handle **xs)
{
	kxctrl *h;
	int rc;

	if ((rc = kxl_connect(&h)))
		return rc;
	rc = kxl_lookup(h, dom, domid);
	kxctrl_close(h);
	if (rc)
		return rc;
	*xs = kxl_xs_open();
	return *xs ? 0 : -ENOTCONN;
}

int kxl_network_create_all(const struct kxconfig *cfg, uint32_t domid)
{
	struct xs_handle *xs;
	int rc = 0;

	if (!cfg->nnics)
		return 0;
	xs = kxl_xs_open();
	if (!xs)
		return -ENOTCONN;
	for (unsigned i = 0; i < cfg->nnics && !rc; i++) {
		struct vif_spec v = { .bridge = cfg->nics[i].bridge ? cfg->nics[i].bridge : "xenbr0" };
		int dev;

		memcpy(v.mac, cfg->nics[i].mac, 6);
		if ((rc = vif_attach(xs, domid, &v, &dev)))
			kxl_err("%s:%d: <interface>: cannot attach it", cfg->source, cfg->nics[i].line);
	}
	xs_close(xs);
	return rc;
}

int main_network_attach(int argc, char **argv)
{
	struct vif_spec v = { .bridge = "xenbr0" };
	struct xs_handle *xs;
	uint32_t domid;
	int code = KXL_USAGE, dev, mac_given = 0;

	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (optind >= argc)
		return kxl_usage_error(argv[0], "DOM is missing");
	for (int i = optind + 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "bridge=", 7) && a[7]) {
			v.bridge = a + 7;
		} else if (!strncmp(a, "mac=", 4)) {
			if (parse_mac(a + 4, v.mac))
				return kxl_usage_error(argv[0], "mac= wants a unicast MAC as 00:16:3e:xx:xx:xx");
			mac_given = 1;
		} else if (!strncmp(a, "ip=", 3) && a[3]) {
			v.ip = a + 3;
		} else {
			fprintf(stderr, "kxl: network-attach: unknown setting '%s' (bridge=, mac=, ip=)\n", a);
			return KXL_USAGE;
		}
	}
	if (strlen(v.bridge) >= 64 || strspn(v.bridge, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                      "0123456789_.-") != strlen(v.bridge))
		return kxl_usage_error(argv[0], "bridge= wants 1-63 characters of [A-Za-z0-9_.-]");
	if (!mac_given) {
		/* Xen's OUI and three random bytes, as the XML parser does. */
		FILE *r = fopen("/dev/urandom", "r");

		v.mac[0] = 0x00, v.mac[1] = 0x16, v.mac[2] = 0x3e;
		if (!r || fread(v.mac + 3, 1, 3, r) != 3) {
			kxl_err("cannot read /dev/urandom for a MAC: give mac=");
			if (r)
				fclose(r);
			return KXL_FAIL;
		}
		fclose(r);
		v.mac[3] &= 0x7f;
	}
	if (open_dom(argv[optind], &domid, &xs))
		return KXL_FAIL;
	code = vif_attach(xs, domid, &v, &dev) ? KXL_FAIL : 0;
	if (!code)
		printf("%d\n", dev);
	xs_close(xs);
	return code;
}

/* The vif whose devid or MAC is spec; -ENOENT if none. */
static int find_vif(struct xs_handle *xs, uint32_t domid, const char *spec)
{
	char *end;
	unsigned long d = strtoul(spec, &end, 10);
	uint8_t want[6];

	if (*spec && !*end && d < VIF_MAX) {
		char be[96];
		long st;

		be_path(be, sizeof(be), domid, (unsigned)d);
		return xs_readint(xs, be, "state", &st) == -ENOENT ? -ENOENT : (int)d;
	}
	if (parse_mac(spec, want))
		return -EINVAL;
	for (unsigned i = 0; i < VIF_MAX; i++) {
		char be[96], path[128], *m;
		unsigned len;
		uint8_t mac[6];

		be_path(be, sizeof(be), domid, i);
		snprintf(path, sizeof(path), "%s/mac", be);
		m = xs_read(xs, XBT_NULL, path, &len);
		if (m && !parse_mac(m, mac) && !memcmp(mac, want, 6)) {
			free(m);
			return (int)i;
		}
		free(m);
	}
	return -ENOENT;
}

/*
 * The close sequence as libxl drives it: online=0 and the backend to
 * Closing; the frontend sees it and closes its half (Closing, Closed); the
 * backend then disconnects and reports Closed; only then the directories
 * go. A frontend that never answers is waited for WAIT_MS, then removed.
 */
int main_network_detach(int argc, char **argv)
{
	struct xs_handle *xs;
	uint32_t domid;
	char be[96];
	int code = KXL_USAGE, dev;
	long st;

	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (optind + 2 != argc)
		return kxl_usage_error(argv[0], "want DOM and DEVID|MAC");
	if (open_dom(argv[optind], &domid, &xs))
		return KXL_FAIL;
	dev = find_vif(xs, domid, argv[optind + 1]);
	if (dev < 0) {
		kxl_err("domain %u has no vif '%s'", domid, argv[optind + 1]);
		xs_close(xs);
		return KXL_FAIL;
	}
	be_path(be, sizeof(be), domid, (unsigned)dev);
	put(xs, XBT_NULL, be, "online", "0");
	put(xs, XBT_NULL, be, "state", "5");
	st = wait_be_state(xs, be, XenbusStateClosed);
	if (st < 0)
		fprintf(stderr, "kxl: warning: vif %d of domain %u did not close within %d s; removed anyway\n",
		        dev, domid, WAIT_MS / 1000);
	vif_remove(xs, domid, (unsigned)dev);
	xs_close(xs);
	return 0;
}

int main_network_list(int argc, char **argv)
{
	int code = KXL_USAGE;

	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (optind >= argc)
		return kxl_usage_error(argv[0], "DOM is missing");
	printf("%-5s %-3s %-17s %-10s %-6s %-6s %-7s %-6s %-6s\n", "Idx", "BE", "Mac Addr.", "Bridge",
	       "BE-st", "FE-st", "evt-ch", "tx-ref", "rx-ref");
	for (int a = optind; a < argc; a++) {
		struct xs_handle *xs;
		uint32_t domid;

		if (open_dom(argv[a], &domid, &xs))
			return KXL_FAIL;
		for (unsigned d = 0; d < VIF_MAX; d++) {
			char be[96], fe[96], path[128], *mac, *br;
			long bs = -1, fs = -1, ev = -1, tx = -1, rx = -1;
			unsigned len;

			be_path(be, sizeof(be), domid, d);
			if (xs_readint(xs, be, "state", &bs) == -ENOENT)
				continue;
			fe_path(fe, sizeof(fe), domid, d);
			xs_readint(xs, fe, "state", &fs);
			xs_readint(xs, fe, "event-channel", &ev);
			xs_readint(xs, fe, "tx-ring-ref", &tx);
			xs_readint(xs, fe, "rx-ring-ref", &rx);
			snprintf(path, sizeof(path), "%s/mac", be);
			mac = xs_read(xs, XBT_NULL, path, &len);
			snprintf(path, sizeof(path), "%s/bridge", be);
			br = xs_read(xs, XBT_NULL, path, &len);
			printf("%-5u %-3d %-17s %-10s %-6ld %-6ld %-7ld %-6ld %-6ld\n", d, 0, mac ? mac : "-",
			       br ? br : "-", bs, fs, ev, tx, rx);
			free(mac);
			free(br);
		}
		xs_close(xs);
	}
	return 0;
}
