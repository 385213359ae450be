/* kxl destroy, pause, unpause: lifecycle commands on one existing domain. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>
#include "kxl.h"
#include "kxl_xs.h"

typedef int (*dom_op)(kxctrl *h, uint32_t domid);

/* The shape every single-domain command shares: options, lookup, the operation, messages. */
static int one_domain(int argc, char **argv, const char *verb, const char *done, dom_op op)
{
	int code = KXL_USAGE, ret = KXL_FAIL;
	kxctrl *h = NULL;
	uint32_t domid;
	char name[KXCTL_NAME_MAX + 1];

	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (argc - optind != 1)
		return kxl_usage_error(argv[0], argc - optind ? "expected one DOM" : "missing DOM");
	if (kxl_connect(&h) || kxl_lookup(h, argv[optind], &domid))
		goto out;
	kxl_dom_name(h, domid, name, sizeof(name));
	if (kxl.dry_run) {
		printf("Would %s domain %s (id=%u)\n", verb, name, domid);
		ret = KXL_OK;
		goto out;
	}
	int r = op(h, domid);
	if (r) {
		kxl_err("cannot %s domain %s (id=%u): %s", verb, name, domid, strerror(-r));
		goto out;
	}
	kxl_verbose("%s domain %s (id=%u)", done, name, domid);
	ret = KXL_OK;
out:
	kxctrl_close(h);
	return ret;
}

/*
 * The domain goes first: an admin must be able to kill a domain even when
 * kxenstored is down. Its xenstore paths follow when kxenstored is there.
 */
static int destroy_and_forget(kxctrl *h, uint32_t domid)
{
	int r = kxctrl_domain_destroy(h, domid);
	struct xs_handle *xs;

	if (r)
		return r;
	xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!xs) {
		fprintf(stderr, "kxl: warning: xenstore at %s is unreachable (%s): "
		        "/local/domain/%u is left behind\n", kxl_xs_socket_path(), strerror(errno), domid);
		return 0;
	}
	kxl_xs_forget(xs, domid);
	xs_close(xs);
	return 0;
}

int main_destroy(int argc, char **argv)
{
	return one_domain(argc, argv, "destroy", "destroyed", destroy_and_forget);
}

int main_pause(int argc, char **argv)
{
	return one_domain(argc, argv, "pause", "paused", kxctrl_domain_pause);
}

int main_unpause(int argc, char **argv)
{
	return one_domain(argc, argv, "unpause", "unpaused", kxctrl_domain_unpause);
}
