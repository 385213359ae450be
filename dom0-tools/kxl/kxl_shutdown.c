/* kxl shutdown and kxl reboot: ask guests through control/shutdown, as xl does, with the hypervisor as fallback. */
#include <config.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>   /* the Xen headers assume it */
#include <xen/xen.h>
#include <xen/sched.h>
#include <xenstore.h>
#include "kxl.h"
#include "kxl_xs.h"

#define WAIT_DEFAULT_S 60
#define ACK_DEFAULT_S 10

struct shut_req {
	const char *cmd;         /* "shutdown" or "reboot": messages and usage */
	const char *value;       /* written to control/shutdown */
	const char *feature;     /* control/feature-* the guest advertises */
	unsigned reason;         /* SHUTDOWN_* for the hypervisor fallback */
	bool wait, all, fallback;
	int wait_s, ack_s;
};

struct target {
	uint32_t domid;
	char name[KXCTL_NAME_MAX + 1];
	bool done;               /* gone, or shut down and kept */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the domain is gone or shut down; prints how it ended once. */
static bool check_done(kxctrl *h, struct target *t, int *err)
{
	struct kxctl_dominfo info;
	int r;

	if (t->done)
		return true;
	r = kxctrl_domain_info(h, t->domid, &info);
	if (r == -ESRCH || r == -ENOENT) {
		printf("Domain %s (id=%u) has shut down and is gone\n", t->name, t->domid);
		t->done = true;
	} else if (r) {
		kxl_err("cannot query domain %s (id=%u): %s", t->name, t->domid, strerror(-r));
		*err = 1;
		t->done = true;
	} else if (info.flags & KXCTL_DOMF_CRASHED) {
		printf("Domain %s (id=%u) crashed while shutting down (kept by on_crash)\n", t->name,
		       t->domid);
		t->done = true;
	} else if (info.flags & KXCTL_DOMF_SHUTDOWN) {
		printf("Domain %s (id=%u) has shut down (kept by its on_* action)\n", t->name, t->domid);
		t->done = true;
	}
	return t->done;
}

/*
 * Waits until every target is done or the deadline passes, sleeping on
 * kxen-hv's domain-events eventfd (a poll every second covers a kxen-hv
 * without it). Returns KXL_OK or KXL_FAIL.
 */
static int wait_all(kxctrl *h, struct target *t, unsigned n, int timeout_s)
{
	double deadline = now_s() + timeout_s;
	int efd = -1, err = 0;

	if (kxctrl_domain_events_fd(h, &efd) < 0)
		efd = -1;
	for (;;) {
		unsigned left = 0;
		for (unsigned i = 0; i < n; i++)
			left += !check_done(h, &t[i], &err);
		if (!left)
			break;
		double rest = deadline - now_s();
		if (rest <= 0) {
			for (unsigned i = 0; i < n; i++)
				if (!t[i].done)
					kxl_err("domain %s (id=%u) did not shut down within %d s", t[i].name,
					        t[i].domid, timeout_s);
			err = 1;
			break;
		}
		struct pollfd p = { .fd = efd, .events = POLLIN };
		int ms = rest > 1.0 ? 1000 : (int)(rest * 1000) + 1;
		if (poll(&p, efd >= 0 ? 1 : 0, ms) > 0) {
			uint64_t count;
			if (read(efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				break;
		}
	}
	if (efd >= 0)
		close(efd);
	return err ? KXL_FAIL : KXL_OK;
}

/* Waits for the guest to acknowledge (control/shutdown emptied) or to shut down. */
static bool acked(kxctrl *h, struct xs_handle *xs, struct target *t, int ack_s)
{
	double deadline = now_s() + ack_s;
	struct timespec tick = { 0, 50 * 1000000L };
	char val[64];

	do {
		if (kxl_xs_read_control(xs, t->domid, "shutdown", val, sizeof(val)) == 0 && !val[0])
			return true;
		struct kxctl_dominfo info;
		int r = kxctrl_domain_info(h, t->domid, &info);
		if (r || (info.flags & KXCTL_DOMF_SHUTDOWN))
			return true;   /* gone or down: nothing left to fall back for */
		nanosleep(&tick, NULL);
	} while (now_s() < deadline);
	return false;
}

static int hv_fallback(kxctrl *h, const struct shut_req *rq, struct target *t, const char *why)
{
	int r;

	printf("Domain %s (id=%u): %s; %s it through the hypervisor\n", t->name, t->domid, why,
	       rq->reason == SHUTDOWN_reboot ? "rebooting" : "shutting down");
	r = kxctrl_domain_shutdown(h, t->domid, rq->reason);
	if (r) {
		kxl_err("cannot %s domain %s (id=%u): %s", rq->cmd, t->name, t->domid, strerror(-r));
		return KXL_FAIL;
	}
	return KXL_OK;
}

/* Asks one domain; returns KXL_OK once the request is made (or the fallback done). */
static int ask(kxctrl *h, struct xs_handle *xs, const struct shut_req *rq, struct target *t)
{
	char feature[8] = "";
	int r;

	kxl_xs_read_control(xs, t->domid, rq->feature, feature, sizeof(feature));
	if (strcmp(feature, "1")) {
		if (rq->fallback)
			return hv_fallback(h, rq, t, "no PV control interface");
		kxl_err("domain %s (id=%u) has no PV control interface (control/%s is not set):\n"
		        "  it cannot be asked to %s; use -F to %s it through the hypervisor",
		        t->name, t->domid, rq->feature, rq->value, rq->cmd);
		return KXL_FAIL;
	}
	r = kxl_xs_control(xs, t->domid, "shutdown", rq->value);
	if (r) {
		kxl_err("cannot write control/shutdown of domain %s (id=%u): %s", t->name, t->domid,
		        strerror(-r));
		return KXL_FAIL;
	}
	kxl_verbose("asked domain %s (id=%u) to %s through control/shutdown", t->name, t->domid,
	            rq->value);
	if (rq->fallback && !acked(h, xs, t, rq->ack_s)) {
		char why[64];
		snprintf(why, sizeof(why), "no acknowledgement within %d s", rq->ack_s);
		return hv_fallback(h, rq, t, why);
	}
	return KXL_OK;
}

/* Every domain but dom0 and those already shut down, for -a. */
static int all_targets(kxctrl *h, struct target **out, unsigned *n)
{
	struct kxctl_dominfo *doms;
	unsigned count;
	int r = kxctrl_domain_list(h, &doms, &count);

	if (r) {
		kxl_err("cannot list domains: %s", strerror(-r));
		return r;
	}
	*out = calloc(count ? count : 1, sizeof(**out));
	*n = 0;
	for (unsigned i = 0; *out && i < count; i++) {
		if (doms[i].domid == 0 || (doms[i].flags & (KXCTL_DOMF_SHUTDOWN | KXCTL_DOMF_DYING)))
			continue;
		(*out)[*n].domid = doms[i].domid;
		snprintf((*out)[*n].name, sizeof((*out)[*n].name), "%.*s", (int)sizeof(doms[i].name),
		         doms[i].name);
		(*n)++;
	}
	free(doms);
	return *out ? 0 : -ENOMEM;
}

static int parse_seconds(const char *cmd, const char *opt, const char *arg, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || *end || v < 1 || v > 86400) {
		char why[64];
		snprintf(why, sizeof(why), "%s needs a number of seconds from 1 to 86400", opt);
		return kxl_usage_error(cmd, why);
	}
	*out = (int)v;
	return 0;
}

static int shutdown_or_reboot(int argc, char **argv, struct shut_req *rq)
{
	int opt, code = KXL_USAGE, ret = KXL_FAIL;
	kxctrl *h = NULL;
	struct xs_handle *xs = NULL;
	struct target *t = NULL;
	unsigned n = 0;

	while ((opt = kxl_getopt(argc, argv, "awFt:T:", &code)) != -1) {
		switch (opt) {
		case 'a': rq->all = true; break;
		case 'w': rq->wait = true; break;
		case 'F': rq->fallback = true; break;
		case 't':
			if (parse_seconds(rq->cmd, "-t", optarg, &rq->wait_s))
				return KXL_USAGE;
			break;
		case 'T':
			if (parse_seconds(rq->cmd, "-T", optarg, &rq->ack_s))
				return KXL_USAGE;
			break;
		default:
			return code;
		}
	}
	if (rq->all ? argc != optind : argc - optind != 1)
		return kxl_usage_error(rq->cmd, rq->all ? "-a takes no DOM"
		                                : argc - optind ? "expected one DOM" : "missing DOM");
	if (kxl_connect(&h))
		goto out;
	if (rq->all) {
		if (all_targets(h, &t, &n))
			goto out;
	} else {
		t = calloc(1, sizeof(*t));
		if (!t || kxl_lookup(h, argv[optind], &t->domid))
			goto out;
		kxl_dom_name(h, t->domid, t->name, sizeof(t->name));
		n = 1;
	}
	if (kxl.dry_run) {
		for (unsigned i = 0; i < n; i++)
			printf("Would write '%s' to /local/domain/%u/control/shutdown of domain %s%s%s\n",
			       rq->value, t[i].domid, t[i].name,
			       rq->fallback ? ", falling back to the hypervisor" : "",
			       rq->wait ? ", then wait for it" : "");
		ret = KXL_OK;
		goto out;
	}
	xs = kxl_xs_open();
	if (!xs)
		goto out;
	ret = KXL_OK;
	for (unsigned i = 0; i < n; i++)
		if (ask(h, xs, rq, &t[i]) != KXL_OK)
			ret = KXL_FAIL;
	if (rq->wait && ret == KXL_OK)
		ret = wait_all(h, t, n, rq->wait_s);
out:
	if (xs)
		xs_close(xs);
	free(t);
	kxctrl_close(h);
	return ret;
}

int main_shutdown(int argc, char **argv)
{
	struct shut_req rq = { .cmd = "shutdown", .value = "poweroff",
	                       .feature = "feature-poweroff", .reason = SHUTDOWN_poweroff,
	                       .wait_s = WAIT_DEFAULT_S, .ack_s = ACK_DEFAULT_S };
	return shutdown_or_reboot(argc, argv, &rq);
}

int main_reboot(int argc, char **argv)
{
	struct shut_req rq = { .cmd = "reboot", .value = "reboot", .feature = "feature-reboot",
	                       .reason = SHUTDOWN_reboot, .wait_s = WAIT_DEFAULT_S,
	                       .ack_s = ACK_DEFAULT_S };
	return shutdown_or_reboot(argc, argv, &rq);
}
