/* kxen-backd internals: the daemon, the domain table and the table of device types (each a xenbus_type, xenbus.h). */
#ifndef BACKD_H
#define BACKD_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <xenstore.h>
#include "kxen/kxctrl.h"
#include "kxen/kxd.h"

struct backd;
struct backd_dom;
struct xenbus_type;

/*
 * Daemons started together at boot come up in any order: kxen-backd retries
 * kxen-hv's and kxenstored's sockets this often, this long (10 s), before
 * it gives up with the reason.
 */
#define BACKD_CONNECT_TRIES   100
#define BACKD_CONNECT_WAIT_US 100000

/*
 * Each device type's index in backd_backends and in backd_dom.priv: one
 * place, so two cannot collide. A device type is a xenbus_type (xenbus.h);
 * the domain scan attaches every type to every domain it learns of (at
 * start-up, on @introduceDomain, kxen-hv's domain events, and when anything
 * changes under /local/domain/N while a type is not attached), and detaches
 * them when the domain is gone or on exit.
 */
enum backd_slot {
	BACKD_SLOT_CONSOLE,
	BACKD_SLOT_VBD,
	BACKD_SLOT_VIF,
	BACKD_SLOT_VKBD,
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

extern const struct xenbus_type *const backd_backends[BACKD_NR_BACKENDS];
extern const struct xenbus_type console_xenbus;   /* console.c (docs/console.md) */
extern const struct xenbus_type vbd_xenbus;       /* blkback.c (docs/block.md) */
extern const struct xenbus_type vif_xenbus;       /* netback.c: vifs, switches, TAPs (docs/network.md) */
extern const struct xenbus_type vkbd_xenbus;      /* vkbd.c: PV keyboard/pointer, connected, no input (docs/domain-xml.md) */

/*
 * Connects to kxenstored and kxen-hv, watches @introduceDomain,
 * @releaseDomain and /local/domain, and attaches every existing domain.
 * Returns 0 or -errno after logging why.
 */
int backd_domains_start(struct backd *bd);

/* sandbox.c: the daemon's seccomp list on every thread (0 or -errno; 0 too when off); a block I/O thread's and a ring worker's own. */
int sandbox__install(void);
void sandbox__pool(void);
void sandbox__ring(void);
/* Lists kxen-hv's domains: attaches the new ones, detaches the gone ones, retries the not-ready ones. */
void backd_domains_scan(struct backd *bd);
/* Detaches every backend from every domain (on exit). */
void backd_domains_stop(struct backd *bd);
/* xenstore is back after a loss (xenbus.c): every watch of every domain is set again. */
void backd_domains_rewatch(struct backd *bd);
/* SIGHUP: every attached device reopens its files. */
void backd_domains_reopen(struct backd *bd);


#endif
