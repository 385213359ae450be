/* Network interfaces (vif) for the toolstack: network-attach/-detach/-list and the XML's <interface> devices at create, on kxl_dev's xenbus plumbing (docs/network.md). */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>
#include <kxen/mac.h>
#include "kxen/kxconfig.h"
#include "kxl.h"
#include "kxl_dev.h"
#include "kxl_network.h"
#include "kxl_xs.h"

#define VIF_MAX          256       /* devids 0..255, as the backend accepts */
#define ATTACH_WAIT_MS   10000

/* The lowest devid the domain has no vif with (kxl_dev_add refuses one whose directories linger). */
static int free_devid(struct xs_handle *xs, uint32_t domid)
{
	struct kxl_dev_info *v;
	unsigned n, dev = 0;
	int rc = kxl_dev_list(xs, "vif", domid, &v, &n);

	if (rc)
		return rc;
	/* v is sorted by devid. */
	for (unsigned i = 0; i < n && v[i].devid <= dev; i++)
		if (v[i].devid == dev)
			dev++;
	free(v);
	return dev < VIF_MAX ? (int)dev : -ENOSPC;
}

int kxl_network_add(struct xs_handle *xs, uint32_t domid, const struct kxl_vif_spec *v, int *devid)
{
	char mac[18], handle[16], err[256];
	int dev = free_devid(xs, domid), rc;

	if (dev < 0) {
		if (dev == -ENOSPC)
			kxl_err("domain %u already has %d vifs", domid, VIF_MAX);
		else
			kxl_err("cannot list the vifs of domain %u: %s", domid, strerror(-dev));
		return dev;
	}
	kxconfig_mac_format(v->mac, mac);
	snprintf(handle, sizeof(handle), "%d", dev);
	const struct kxl_dev_kv fe[] = {
		{ "handle", handle },
		{ "mac", mac },
	};
	/* libxl's vif backend keys; ip and vifname only when given (the guest may take its address from ip). */
	struct kxl_dev_kv be[6] = {
		{ "handle", handle },
		{ "mac", mac },
		{ "bridge", v->bridge },
		{ "type", "vif" },
	};
	unsigned nbe = 4;
	if (v->ip)
		be[nbe++] = (struct kxl_dev_kv){ "ip", v->ip };
	if (v->vifname)
		be[nbe++] = (struct kxl_dev_kv){ "vifname", v->vifname };
	struct kxl_dev d = {
		.type = "vif", .domid = domid, .backend_domid = 0, .devid = (unsigned)dev,
		.fe = fe, .n_fe = sizeof(fe) / sizeof(fe[0]), .be = be, .n_be = nbe,
	};
	if ((rc = kxl_dev_add(&d)))
		return rc;
	rc = kxl_dev_wait_backend(xs, "vif", domid, (unsigned)dev, ATTACH_WAIT_MS, err, sizeof(err));
	if (rc == -EIO)
		kxl_err("the network backend refused vif %d of domain %u: %s", dev, domid, err);
	else if (rc)
		kxl_err("no network backend took vif %d of domain %u within %d s (is kxen-backd running?)",
		        dev, domid, ATTACH_WAIT_MS / 1000);
	if (rc) {
		kxl_dev_discard(xs, "vif", domid, (unsigned)dev);
		return rc;
	}
	*devid = dev;
	return 0;
}

void kxl_network_vifname(const struct kxconfig *cfg, unsigned i, uint32_t domid, char *out,
                         size_t len)
{
	if (cfg->nics[i].vifname)
		snprintf(out, len, "%s", cfg->nics[i].vifname);
	else
		snprintf(out, len, "vif%u.%u", domid, i);
}

int kxl_network_add_config(struct xs_handle *xs, const struct kxconfig *cfg, uint32_t domid)
{
	for (unsigned i = 0; i < cfg->nnics; i++) {
		const struct kxconfig_nic *n = &cfg->nics[i];
		struct kxl_vif_spec v = { .bridge = n->bridge ? n->bridge : "xenbr0", .vifname = n->vifname };
		char name[32];
		int dev, rc;

		/* ethernet: Xen's unbridged vifD.N becomes a switch of its own by that name. */
		if (n->ethernet) {
			kxl_network_vifname(cfg, i, domid, name, sizeof(name));
			v.bridge = v.vifname = name;
		}
		memcpy(v.mac, n->mac, 6);
		if ((rc = kxl_network_add(xs, domid, &v, &dev))) {
			kxl_err("%s:%d: <interface>: cannot attach it", cfg->source, cfg->nics[i].line);
			return rc;
		}
	}
	return 0;
}

int main_network_attach(int argc, char **argv)
{
	struct kxl_vif_spec v = { .bridge = "xenbr0" };
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
			if (kxen_mac_parse_unicast(a + 4, v.mac))
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
	if (kxl_dev_open_dom(argv[optind], "network interfaces", &domid, &xs))
		return KXL_FAIL;
	code = kxl_network_add(xs, domid, &v, &dev) ? KXL_FAIL : KXL_OK;
	if (code == KXL_OK)
		printf("%d\n", dev);
	xs_close(xs);
	return code;
}

/* The devid of domid's vif named by spec (a devid or the vif's MAC); -ENOENT if none, -EINVAL if spec is neither. */
static int find_vif(struct xs_handle *xs, uint32_t domid, const char *spec)
{
	struct kxl_dev_info *v;
	unsigned n;
	char *end;
	unsigned long d = strtoul(spec, &end, 10);
	uint8_t want[6];
	int rc, found = -ENOENT;

	if (*spec && !*end) {
		if (d >= VIF_MAX)
			return -ENOENT;
	} else if (kxen_mac_parse_unicast(spec, want)) {
		return -EINVAL;
	}
	if ((rc = kxl_dev_list(xs, "vif", domid, &v, &n)))
		return rc;
	for (unsigned i = 0; i < n && found < 0; i++) {
		char m[32];
		uint8_t mac[6];

		if (*spec && !*end)
			found = v[i].devid == d ? (int)d : -ENOENT;
		else if (kxl_dev_read(xs, "vif", domid, v[i].devid, false, "mac", m, sizeof(m)) == 0 &&
		         !kxen_mac_parse_unicast(m, mac) && !memcmp(mac, want, 6))
			found = (int)v[i].devid;
	}
	free(v);
	return found;
}

int main_network_detach(int argc, char **argv)
{
	struct xs_handle *xs;
	unsigned timeout = KXL_DEV_DETACH_TIMEOUT_S;
	uint32_t domid;
	int opt, ec, force = 0, dev, rc = KXL_FAIL;

	while ((opt = kxl_getopt(argc, argv, "ft:", &ec)) != -1) {
		if (opt == KXL_OPT_EXIT)
			return ec;
		if (opt == 'f') {
			force = 1;
		} else if (opt == 't') {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || end == optarg || v > 3600)
				return kxl_usage_error("network-detach", "-t: expected seconds (0-3600)");
			timeout = (unsigned)v;
		}
	}
	if (argc - optind != 2)
		return kxl_usage_error("network-detach", "want DOM and DEVID|MAC");
	if (kxl_dev_open_dom(argv[optind], "network interfaces", &domid, &xs))
		return KXL_FAIL;
	dev = find_vif(xs, domid, argv[optind + 1]);
	if (dev == -EINVAL)
		kxl_err("network-detach: '%s' is neither a devid nor a MAC", argv[optind + 1]);
	else if (dev < 0)
		kxl_err("domain %u has no vif '%s'", domid, argv[optind + 1]);
	else if (kxl_dev_remove(xs, "vif", domid, (unsigned)dev, timeout, force) == 0)
		rc = KXL_OK;
	xs_close(xs);
	return rc;
}

int main_network_list(int argc, char **argv)
{
	int opt, ec, rc = KXL_OK;

	while ((opt = kxl_getopt(argc, argv, "", &ec)) != -1)
		if (opt == KXL_OPT_EXIT)
			return ec;
	if (argc - optind < 1)
		return kxl_usage_error("network-list", "DOM is missing");
	printf("%-5s %-3s %-17s %-10s %-6s %-6s %-7s %-6s %-6s\n", "Idx", "BE", "Mac Addr.", "Bridge",
	       "BE-st", "FE-st", "evt-ch", "tx-ref", "rx-ref");
	for (int a = optind; a < argc; a++) {
		struct kxl_dev_info *v = NULL;
		struct xs_handle *xs;
		uint32_t domid;
		unsigned n = 0;

		if (kxl_dev_open_dom(argv[a], "network interfaces", &domid, &xs)) {
			rc = KXL_FAIL;
			continue;
		}
		if (kxl_dev_list(xs, "vif", domid, &v, &n))
			rc = KXL_FAIL;
		for (unsigned k = 0; k < n; k++) {
			char mac[32], br[64], rx[16];

			if (kxl_dev_read(xs, "vif", domid, v[k].devid, false, "mac", mac, sizeof(mac)))
				snprintf(mac, sizeof(mac), "-");
			if (kxl_dev_read(xs, "vif", domid, v[k].devid, false, "bridge", br, sizeof(br)))
				snprintf(br, sizeof(br), "-");
			if (kxl_dev_read(xs, "vif", domid, v[k].devid, true, "rx-ring-ref", rx, sizeof(rx)))
				snprintf(rx, sizeof(rx), "-");
			printf("%-5u %-3u %-17s %-10s %-6d %-6d %-7s %-6s %-6s\n", v[k].devid, v[k].backend_domid,
			       mac, br, v[k].be_state, v[k].fe_state, v[k].evtchn, v[k].ring_ref, rx);
		}
		free(v);
		xs_close(xs);
	}
	return rc;
}
