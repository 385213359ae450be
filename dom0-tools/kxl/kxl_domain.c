/* kxl destroy, pause, unpause, shutdown: lifecycle commands on one existing domain. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>   /* the Xen headers assume it */
#include <xen/xen.h>
#include <xen/sched.h>
#include "kxl.h"

#define SHUTDOWN_WAIT_DEFAULT 60
#define SHUTDOWN_POLL_MS 100

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

/* The saved config goes with the domain; its monitor sees it gone and exits. */
static int destroy_and_forget(kxctrl *h, uint32_t domid)
{
	struct kxctl_dominfo info;
	int have = kxctrl_domain_info(h, domid, &info) == 0;
	int r = kxctrl_domain_destroy(h, domid);
	if (!r && have)
		kxl_state_remove(info.uuid);
	return r;
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

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls because the control socket has no event stream yet; 100 ms is cheap and prompt. */
static int wait_shut(kxctrl *h, uint32_t domid, const char *name, int timeout)
{
	double deadline = now_s() + timeout;
	struct timespec pause = { 0, SHUTDOWN_POLL_MS * 1000000L };
	for (;;) {
		struct kxctl_dominfo info;
		int r = kxctrl_domain_info(h, domid, &info);
		if (r == -ESRCH || r == -ENOENT) {
			printf("Domain %s (id=%u) has shut down and is gone\n", name, domid);
			return KXL_OK;
		}
		if (r) {
			kxl_err("cannot query domain %s (id=%u): %s", name, domid, strerror(-r));
			return KXL_FAIL;
		}
		if (info.flags & KXCTL_DOMF_CRASHED) {
			printf("Domain %s (id=%u) crashed while shutting down\n", name, domid);
			return KXL_OK;
		}
		if (info.flags & KXCTL_DOMF_SHUTDOWN) {
			printf("Domain %s (id=%u) has shut down\n", name, domid);
			return KXL_OK;
		}
		if (now_s() >= deadline) {
			kxl_err("domain %s (id=%u) did not shut down within %d s", name, domid, timeout);
			return KXL_FAIL;
		}
		nanosleep(&pause, NULL);
	}
}

/* One domain: ask, then optionally wait. */
static int shut_one(kxctrl *h, uint32_t domid, unsigned reason, const char *verb, int wait,
                    int timeout)
{
	char name[KXCTL_NAME_MAX + 1];
	kxl_dom_name(h, domid, name, sizeof(name));
	if (kxl.dry_run) {
		printf("Would %s domain %s (id=%u)%s\n", verb, name, domid, wait ? ", then wait for it" : "");
		return KXL_OK;
	}
	/* A remote shutdown through kxen-hv; the guest-cooperative xenstore path comes later. */
	int r = kxctrl_domain_shutdown(h, domid, reason);
	if (r) {
		kxl_err("cannot %s domain %s (id=%u): %s", verb, name, domid, strerror(-r));
		return KXL_FAIL;
	}
	kxl_verbose("asked domain %s (id=%u) to %s", name, domid, verb);
	return wait ? wait_shut(h, domid, name, timeout) : KXL_OK;
}

static int shutdown_cmd(int argc, char **argv, unsigned reason, const char *verb)
{
	int opt, code = KXL_USAGE, wait = 0, all = 0, timeout = SHUTDOWN_WAIT_DEFAULT, ret = KXL_FAIL;
	kxctrl *h = NULL;
	uint32_t domid;
	char *end;

	while ((opt = kxl_getopt(argc, argv, "awFt:", &code)) != -1) {
		switch (opt) {
		case 'a':
			all = 1;
			break;
		case 'w':
			wait = 1;
			break;
		case 'F':
			break;   /* see the help text: already the only path */
		case 't':
			errno = 0;
			long t = strtol(optarg, &end, 10);
			if (errno || *end || t < 1 || t > 86400)
				return kxl_usage_error(argv[0], "-t needs a number of seconds from 1 to 86400");
			timeout = (int)t;
			break;
		default:
			return code;
		}
	}
	if (all ? argc != optind : argc - optind != 1)
		return kxl_usage_error(argv[0], all ? "-a takes no DOM" :
		                       argc - optind ? "expected one DOM" : "missing DOM (or -a)");
	if (kxl_connect(&h))
		goto out;
	if (!all) {
		if (kxl_lookup(h, argv[optind], &domid))
			goto out;
		ret = shut_one(h, domid, reason, verb, wait, timeout);
		goto out;
	}
	struct kxctl_dominfo *doms = NULL;
	unsigned n = 0;
	int r = kxctrl_domain_list(h, &doms, &n);
	if (r) {
		kxl_err("cannot list domains: %s", strerror(-r));
		goto out;
	}
	ret = KXL_OK;
	/* Ask them all first, then wait: shutdowns proceed in parallel. */
	for (unsigned i = 0; i < n; i++)
		if (!(doms[i].flags & (KXCTL_DOMF_SHUTDOWN | KXCTL_DOMF_CRASHED | KXCTL_DOMF_DYING)) &&
		    shut_one(h, doms[i].domid, reason, verb, 0, timeout))
			ret = KXL_FAIL;
	for (unsigned i = 0; wait && !kxl.dry_run && i < n; i++) {
		char name[KXCTL_NAME_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)sizeof(doms[i].name), doms[i].name);
		if (wait_shut(h, doms[i].domid, name, timeout))
			ret = KXL_FAIL;
	}
	free(doms);
out:
	kxctrl_close(h);
	return ret;
}

int main_shutdown(int argc, char **argv)
{
	return shutdown_cmd(argc, argv, SHUTDOWN_poweroff, "shut down");
}

int main_reboot(int argc, char **argv)
{
	return shutdown_cmd(argc, argv, SHUTDOWN_reboot, "reboot");
}
