/* kxen-backd internals: the event loop, the domain table and the backend ops table every backend plugs into. */
#ifndef BACKD_H
#define BACKD_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <xenstore.h>
#include "kxctrl.h"
#include "kxen/kxd.h"

struct backd;
struct backd_dom;
struct xenbus_type;

/*
 * One backend. The loop calls attach for every domain it learns of (at
 * start-up and on @introduceDomain), and again when anything changes under
 * /local/domain/N while it is not attached; detach when the domain is gone
 * or on exit. A backend registers its own fds with kxd_loop_add and keeps
 * its per-domain state in dom->priv[i]. Split-driver backends (vbd, vif)
 * name their xenbus_type instead of attach/detach: the xenbus layer
 * (xenbus.h) does the rest.
 */
struct backend_ops {
	const char *name;
	const struct xenbus_type *xenbus;
	/* 0: attached; -EAGAIN: the domain is not ready yet (retried later); other -errno: failed, logged. */
	int (*attach)(struct backd *bd, struct backd_dom *dom);
	/* Releases everything attach took. Must cope with a domain that is already gone. */
	void (*detach)(struct backd *bd, struct backd_dom *dom);
	/* SIGHUP: reopen log files (logrotate). May be NULL. */
	void (*reopen)(struct backd *bd, struct backd_dom *dom);
};

/* Each backend's index in backd_backends and in backd_dom.priv: one place, so two cannot collide. */
enum backd_slot {
	BACKD_SLOT_CONSOLE,
	BACKD_SLOT_VBD,
	BACKD_SLOT_VIF,
	BACKD_NR_BACKENDS
};

struct backd_dom {
	uint32_t domid;
	bool seen;                          /* still listed by kxen-hv at the last scan */
	void *priv[BACKD_NR_BACKENDS];      /* non-NULL: that backend is attached */
	struct backd_dom *next;
};

struct backd_opts {
	const char *hv_socket;              /* NULL: libkxctrl's default */
	const char *console_dir;            /* -o: per-domain console logs */
	const char *log_file;               /* -l: our own messages; else stderr, or kxd_daemon_default_log as a daemon */
	bool foreground;
};

struct backd {
	struct kxd_loop loop;               /* libkxdaemon's: callbacks get it, backd_of finds us */
	struct backd_opts opt;
	kxctrl *hv;
	struct xs_handle *xs;               /* the daemon's one xenstore connection (xenbus.c) */
	struct backd_dom *doms;
};

/* The daemon a loop callback runs in. */
static inline struct backd *backd_of(struct kxd_loop *l)
{
	return (struct backd *)((char *)l - offsetof(struct backd, loop));
}

extern const struct backend_ops *const backd_backends[BACKD_NR_BACKENDS];
extern const struct backend_ops console_backend;
extern const struct backend_ops vbd_backend;
extern const struct backend_ops net_backend;      /* netback.c: vifs, switches, TAPs (docs/network.md) */
extern const struct xenbus_type vbd_xenbus, vif_xenbus;

/*
 * Connects to kxenstored and kxen-hv, watches @introduceDomain,
 * @releaseDomain and /local/domain, and attaches every existing domain.
 * Returns 0 or -errno after logging why.
 */
int backd_domains_start(struct backd *bd);
/* Lists kxen-hv's domains: attaches the new ones, detaches the gone ones, retries the not-ready ones. */
void backd_domains_scan(struct backd *bd);
/* Detaches every backend from every domain (on exit). */
void backd_domains_stop(struct backd *bd);
/* SIGHUP: every attached backend reopens its files. */
void backd_domains_reopen(struct backd *bd);


#endif
