/* <clock> and <features>: the guest's wallclock offset as libvirt's libxl driver sets it, and libvirt's Xen features. */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config_int.h"

/* Xen's time offset is 32-bit seconds; a day is left for the host's UTC offset added at start. */
#define ADJUST_MAX (2147483647ll - 86400)

static int attr_is(xmlNodePtr n, const char *name, const char *value)
{
	char *v = kxc_attr(n, name);
	int r = v && !strcmp(v, value);

	free(v);
	return r;
}

/*
 * libvirt's offsets, as its libxl driver maps them to Xen: utc (adjustment 'reset' or
 * none) adds nothing; localtime adds the host's UTC offset at each start (xl's
 * localtime=1); utc or localtime with a number of seconds is libvirt's shorthand for
 * variable with that basis; variable adds adjustment seconds (rtc_timeoffset), plus the
 * host's UTC offset with basis='localtime'. timezone, absolute and timers are refused,
 * as libvirt's libxl driver refuses them.
 */
static int load_clock(struct kxc_ld *l, xmlNodePtr clock)
{
	struct kxconfig *c = l->c;
	char *offset = kxc_attr(clock, "offset"), *adj = kxc_attr(clock, "adjustment");
	char *basis = kxc_attr(clock, "basis");
	xmlNodePtr timer = kxc_child(clock, "timer");
	int r = -EINVAL;   /* every failure below but out-of-memory (kxc_oom) is an invalid config */

	c->clock = 1;
	c->clock_line = (int)xmlGetLineNo(clock);
	if (!offset) {
		r = kxc_oom(l);
		goto out;
	}
	if (!strcmp(offset, "timezone") || !strcmp(offset, "absolute")) {
		r = kxc_bad(l, clock, "offset '%s' is not supported for Xen guests (nor by libvirt's libxl "
		            "driver): write offset='variable' adjustment='SECONDS' or offset='localtime'", offset);
		goto out;
	}
	if (timer) {
		char *name = kxc_attr(timer, "name"), q[64];

		kxc_shorten(name ? name : "", q, sizeof(q));
		free(name);
		r = kxc_bad(l, timer, "name '%s': kxen sets no timer modes: a PV guest's clock is the "
		            "host's TSC through pvclock", q);
		goto out;
	}
	if (basis && strcmp(offset, "variable")) {
		r = kxc_bad(l, clock, "basis='%s' goes with offset='variable' only", basis);
		goto out;
	}
	if (xmlHasProp(clock, BAD_CAST "timezone") || xmlHasProp(clock, BAD_CAST "start")) {
		r = kxc_bad(l, clock, "timezone and start go with offset='timezone' and 'absolute', "
		            "which kxen does not support");
		goto out;
	}
	if (adj && !strcmp(adj, "reset") && !strcmp(offset, "variable")) {
		r = kxc_bad(l, clock, "adjustment='reset' goes with offset='utc' or 'localtime'; "
		            "offset='variable' takes a number of seconds");
		goto out;
	}
	c->clock_localtime = !strcmp(offset, "localtime") || (basis && !strcmp(basis, "localtime"));
	if (adj && strcmp(adj, "reset")) {
		/* The schema allows at most 18 digits: no overflow here. */
		long long s = strtoll(adj, NULL, 10);

		if (s > ADJUST_MAX || s < -ADJUST_MAX) {
			r = kxc_bad(l, clock, "adjustment '%s' is out of range: at most %lld seconds either "
			            "way (Xen's time offset is 32-bit)", adj, ADJUST_MAX);
			goto out;
		}
		c->clock_adjust_s = (int32_t)s;
	}
	r = 0;
out:
	free(offset);
	free(adj);
	free(basis);
	return r;
}

/* libvirt's <features><xen>: neither the host's e820 map nor PCI passthrough exists under kxen. */
static void load_xen_features(struct kxconfig *c, xmlNodePtr xen)
{
	xmlNodePtr e820 = kxc_child(xen, "e820_host"), pt = kxc_child(xen, "passthrough");

	if (e820 && attr_is(e820, "state", "on"))
		c->e820_host_line = (int)xmlGetLineNo(e820);
	if (pt && attr_is(pt, "state", "on"))
		c->passthrough_line = (int)xmlGetLineNo(pt);
}

int kxc_load_platform(struct kxc_ld *l, xmlNodePtr root)
{
	xmlNodePtr clock = kxc_child(root, "clock");
	int r;

	if (clock && (r = load_clock(l, clock)))
		return r;
	load_xen_features(l->c, kxc_child(kxc_child(root, "features"), "xen"));
	return 0;
}

int kxconfig_wallclock_offset(const struct kxconfig *c, time_t now, int32_t *out)
{
	long long off = c->clock_adjust_s;
	struct tm tm;

	if (c->clock_localtime) {
		if (!localtime_r(&now, &tm))
			return -errno;
		off += tm.tm_gmtoff;
	}
	if (off > 2147483647ll || off < -2147483647ll)
		return -ERANGE;
	*out = (int32_t)off;
	return 0;
}
