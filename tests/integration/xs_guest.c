/* xs_guest: builds a paused guest, gives it /local/domain/N as the toolstack would, INTRODUCEs it to kxenstored and starts it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "kxbuild.h"
#include "kxctrl.h"

/* Writes path=val owned by owner (readable by it too), as libxl does for a guest's home. */
static int put(struct xs_handle *xs, const char *path, const char *val, unsigned owner)
{
	struct xs_permissions p[1] = { { .id = owner, .perms = XS_PERM_NONE } };

	if (!xs_write(xs, XBT_NULL, path, val, (unsigned)strlen(val)) ||
	    !xs_set_permissions(xs, XBT_NULL, path, p, 1)) {
		fprintf(stderr, "xs_guest: write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kxbuild_config cfg = { .mem_bytes = 8 << 20, .vcpus = 1, .paused = 1 };
	struct kxbuild_result res;
	struct xs_handle *xs;
	char err[KXBUILD_ERR_MAX], path[64], val[32];
	kxctrl *h;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: xs_guest NAME KERNEL CMDLINE [MEM_MIB]\n");
		return 2;
	}
	cfg.name = argv[1];
	cfg.kernel = argv[2];
	cfg.cmdline = argv[3];
	if (argc > 4)
		cfg.mem_bytes = strtoull(argv[4], NULL, 10) << 20;
	if ((rc = kxctrl_open(NULL, &h)) < 0) {
		fprintf(stderr, "xs_guest: kxen-hv: %s\n", strerror(-rc));
		return 1;
	}
	if (!(xs = xs_open(0))) {
		fprintf(stderr, "xs_guest: xs_open: %s\n", strerror(errno));
		return 1;
	}
	if (kxbuild_domain(h, &cfg, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "xs_guest: build: %s\n", err);
		return 1;
	}
	unsigned id = res.domid;
	snprintf(path, sizeof(path), "/local/domain/%u", id);
	snprintf(val, sizeof(val), "%u", id);
	if (put(xs, path, "", id) < 0)
		goto fail;
	snprintf(path, sizeof(path), "/local/domain/%u/name", id);
	if (put(xs, path, argv[1], id) < 0)
		goto fail;
	snprintf(path, sizeof(path), "/local/domain/%u/domid", id);
	if (put(xs, path, val, id) < 0)
		goto fail;
	snprintf(path, sizeof(path), "/local/domain/%u/data", id);
	if (put(xs, path, "", id) < 0)
		goto fail;
	if (!xs_introduce_domain(xs, id, res.store_pfn, res.store_evtchn)) {
		fprintf(stderr, "xs_guest: introduce d%u: %s\n", id, strerror(errno));
		goto fail;
	}
	if ((rc = kxctrl_domain_unpause(h, id)) < 0) {
		fprintf(stderr, "xs_guest: unpause d%u: %s\n", id, strerror(-rc));
		goto fail;
	}
	printf("%u\n", id);
	xs_close(xs);
	kxctrl_close(h);
	return 0;
fail:
	kxctrl_domain_destroy(h, id);
	return 1;
}
