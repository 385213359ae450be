/* Domain discovery (kxen-hv's domain events and list; xenbus.c dispatches xenstore's @introduceDomain/@releaseDomain, as xenconsoled's) and backend dispatch. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "backd.h"
#include "xenbus.h"

/*
 * A rescan this often is a safety net for anything no event reported; a
 * list costs kxen-hv ~25 us, so this is idle-cheap.
 */
#define RESCAN_SEC 2

const struct xenbus_type *const backd_backends[BACKD_NR_BACKENDS] = {
	[BACKD_SLOT_CONSOLE] = &console_xenbus,
	[BACKD_SLOT_VBD] = &vbd_xenbus,
	[BACKD_SLOT_VIF] = &vif_xenbus,
	[BACKD_SLOT_VKBD] = &vkbd_xenbus,
};

/* Domains some backend is still waiting for: watched under /local/domain/N until attached. */
static bool watching(struct backd_dom *d)
{
	for (unsigned i = 0; i < BACKD_NR_BACKENDS; i++)
		if (!d->priv[i])
			return true;
	return false;
}

static void set_watch(struct backd *bd, struct backd_dom *d, bool on)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%" PRIu32, d->domid);
	if (on)
		xs_watch(bd->xs, path, "dom");
	else
		xs_unwatch(bd->xs, path, "dom");
}

static void try_attach(struct backd *bd, struct backd_dom *d)
{
	bool was_waiting = watching(d);

	for (unsigned i = 0; i < BACKD_NR_BACKENDS; i++) {
		const struct xenbus_type *b = backd_backends[i];
		int rc;

		if (d->priv[i])
			continue;
		rc = xenbus__attach(bd, d, i);
		if (rc && rc != -EAGAIN)
			kxd_log("d%" PRIu32 ": %s backend: attach failed: %s", d->domid, b->type,
				  strerror(-rc));
	}
	if (!was_waiting && watching(d))
		set_watch(bd, d, true);
	else if (was_waiting && !watching(d))
		set_watch(bd, d, false);
}

static void dom_free(struct backd *bd, struct backd_dom *d)
{
	bool was_waiting = watching(d);

	for (unsigned i = 0; i < BACKD_NR_BACKENDS; i++)
		if (d->priv[i])
			xenbus__detach(bd, d, i);
	if (was_waiting)
		set_watch(bd, d, false);
	free(d);
}

void backd_domains_scan(struct backd *bd)
{
	struct kxctl_dominfo *list = NULL;
	unsigned n = 0;
	int rc = kxctrl_domain_list(bd->hv, &list, &n);

	if (rc) {
		/* kxen-hv is gone or broken: nothing we serve can work any more. */
		kxd_log("kxen-hv: domain list: %s; exiting", strerror(-rc));
		bd->loop.quit = true;
		return;
	}
	for (struct backd_dom *d = bd->doms; d; d = d->next)
		d->seen = false;
	for (unsigned i = 0; i < n; i++) {
		struct backd_dom *d;

		if (list[i].domid == 0)
			continue;
		for (d = bd->doms; d && d->domid != list[i].domid; d = d->next)
			;
		if (!d) {
			d = calloc(1, sizeof(*d));
			if (!d) {
				kxd_log("d%" PRIu32 ": out of memory", list[i].domid);
				continue;
			}
			d->domid = list[i].domid;
			d->next = bd->doms;
			bd->doms = d;
			set_watch(bd, d, true);   /* every backend starts out waiting */
		}
		d->seen = true;
		try_attach(bd, d);
	}
	for (struct backd_dom **pp = &bd->doms; *pp;) {
		struct backd_dom *d = *pp;

		if (d->seen) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		dom_free(bd, d);
	}
	free(list);
}

/* kxen-hv says a domain came, went or changed state: the list tells which. */
static void on_hv_event(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) == sizeof(cnt))
		backd_domains_scan(bd);
}

static void on_timer(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct backd *bd = backd_of(loop);
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		backd_domains_scan(bd);
}

int backd_domains_start(struct backd *bd)
{
	struct itimerspec its = { .it_interval = { RESCAN_SEC, 0 }, .it_value = { RESCAN_SEC, 0 } };
	int rc, tfd, efd;

	/* Daemons started together at boot come up in any order: give the others 10 s. */
	for (unsigned i = 0; (rc = kxctrl_open(bd->opt.hv_socket, &bd->hv)) && i < BACKD_CONNECT_TRIES; i++)
		usleep(BACKD_CONNECT_WAIT_US);
	if (rc) {
		kxd_log("cannot connect to kxen-hv at %s: %s", kxctrl_socket_path(bd->opt.hv_socket),
			  strerror(-rc));
		return rc;
	}
	if ((rc = xenbus__open(bd)))
		return rc;
	if ((rc = kxctrl_domain_events_fd(bd->hv, &efd)) ||
	    (rc = kxd_loop_add(&bd->loop, efd, EPOLLIN, on_hv_event, NULL))) {
		kxd_log("kxen-hv: domain events: %s", strerror(-rc));
		return rc;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    (rc = kxd_loop_add(&bd->loop, tfd, EPOLLIN, on_timer, NULL))) {
		rc = -errno;
		kxd_log("rescan timer: %s", strerror(errno));
		return rc;
	}
	backd_domains_scan(bd);
	return 0;
}

void backd_domains_stop(struct backd *bd)
{
	while (bd->doms) {
		struct backd_dom *d = bd->doms;

		bd->doms = d->next;
		dom_free(bd, d);
	}
}

void backd_domains_rewatch(struct backd *bd)
{
	for (struct backd_dom *d = bd->doms; d; d = d->next) {
		if (watching(d))
			set_watch(bd, d, true);
		for (unsigned i = 0; i < BACKD_NR_BACKENDS; i++)
			xenbus__rewatch(bd, d, i);
	}
}

void backd_domains_reopen(struct backd *bd)
{
	for (struct backd_dom *d = bd->doms; d; d = d->next)
		for (unsigned i = 0; i < BACKD_NR_BACKENDS; i++)
			if (d->priv[i])
				xenbus__reopen(bd, d, i);
}
