/* Test helper: builds a guest paused, introduces it to xenstore with libxl's standard nodes and permissions, unpauses it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "kxbuild.h"
#include "kxctrl.h"

/*
 * Until `kxl create` introduces domains itself this stands in for the
 * toolstack, so the guest xenbus tests run against a real kxenstored now.
 * Usage: xs_guest_create KERNEL NAME CMDLINE; prints the domid.
 */

/* Writes path (value, may be empty) with the given permissions; 0 or -errno. */
static int put(struct xs_handle *xs, const char *path, const char *value,
	       struct xs_permissions *perms, unsigned n)
{
	if (!xs_write(xs, XBT_NULL, path, value, strlen(value)))
		return -errno;
	if (n && !xs_set_permissions(xs, XBT_NULL, path, perms, n))
		return -errno;
	return 0;
}

static int introduce(struct xs_handle *xs, const struct kxbuild_result *res, const char *name)
{
	unsigned id = res->domid;
	/* As libxl: the home is dom0's and readable by the guest; a few nodes are the guest's own. */
	struct xs_permissions ro[2] = { { 0, XS_PERM_NONE }, { id, XS_PERM_READ } };
	struct xs_permissions rw[1] = { { id, XS_PERM_NONE } };
	static const char *const guest_owned[] = {
		"control/shutdown", "control/feature-poweroff", "control/feature-reboot", "data",
	};
	char p[128], v[16];
	int rc;

	if (!xs_introduce_domain(xs, id, res->store_pfn, res->store_evtchn))
		return -errno;
	snprintf(p, sizeof(p), "/local/domain/%u", id);
	if ((rc = put(xs, p, "", ro, 2)))
		return rc;
	snprintf(p, sizeof(p), "/local/domain/%u/name", id);
	if ((rc = put(xs, p, name, NULL, 0)))
		return rc;
	snprintf(p, sizeof(p), "/local/domain/%u/domid", id);
	snprintf(v, sizeof(v), "%u", id);
	if ((rc = put(xs, p, v, NULL, 0)))
		return rc;
	snprintf(p, sizeof(p), "/local/domain/%u/control", id);
	if ((rc = put(xs, p, "", ro, 2)))
		return rc;
	for (size_t i = 0; i < sizeof(guest_owned) / sizeof(guest_owned[0]); i++) {
		snprintf(p, sizeof(p), "/local/domain/%u/%s", id, guest_owned[i]);
		if ((rc = put(xs, p, "", rw, 1)))
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kxbuild_config cfg = {
		.mem_bytes = 8ul << 20, .vcpus = 1, .on_poweroff = KXCTL_ACTION_DESTROY,
		.on_reboot = KXCTL_ACTION_DESTROY, .on_crash = KXCTL_ACTION_DESTROY, .paused = 1,
	};
	struct kxbuild_result res;
	char err[KXBUILD_ERR_MAX];
	struct xs_handle *xs = NULL;
	kxctrl *h = NULL;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: xs_guest_create KERNEL NAME CMDLINE\n");
		return 2;
	}
	cfg.kernel = argv[1];
	cfg.name = argv[2];
	cfg.cmdline = argv[3];
	if ((rc = kxctrl_open(NULL, &h)) < 0) {
		fprintf(stderr, "xs_guest_create: kxen-hv: %s\n", strerror(-rc));
		goto out;
	}
	if (!(xs = xs_open(0))) {
		rc = -errno;
		fprintf(stderr, "xs_guest_create: xs_open: %s\n", strerror(errno));
		goto out;
	}
	if ((rc = kxbuild_domain(h, &cfg, &res, err, sizeof(err))) < 0) {
		fprintf(stderr, "xs_guest_create: %s\n", err);
		goto out;
	}
	if ((rc = introduce(xs, &res, cfg.name)) < 0) {
		fprintf(stderr, "xs_guest_create: introduce d%u: %s\n", res.domid, strerror(-rc));
		kxctrl_domain_destroy(h, res.domid);
		goto out;
	}
	if ((rc = kxctrl_domain_unpause(h, res.domid)) < 0) {
		fprintf(stderr, "xs_guest_create: unpause d%u: %s\n", res.domid, strerror(-rc));
		goto out;
	}
	printf("%u\n", res.domid);
out:
	if (xs)
		xs_close(xs);
	if (h)
		kxctrl_close(h);
	return rc < 0 ? 1 : 0;
}
