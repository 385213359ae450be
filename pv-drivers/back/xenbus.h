/* kxen-backd's xenbus backend layer: the one xenstore handle, backend-directory watches and scans, the XenbusState machine, key readers and writers; device types plug in an ops table. */
#ifndef XENBUS_H
#define XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kxen/kxd.h"

struct backd;
struct backd_dom;
struct xenbus_dev;

/*
 * A device type (console, vbd, vif; a fourth is one more of these, in a
 * file of its own, a slot in backd.h and a row in domains.c). The layer
 * finds devices under /local/domain/0/backend/TYPE/DOMID/DEVID, checks
 * their frontend and frontend-id keys, and walks the XenbusState machine
 * (xenbus_state_next); the type only sees these calls. Every callback runs
 * on the loop's thread; err is a buffer of len bytes for a message the
 * layer logs and writes to the device's error key.
 */
struct xenbus_type {
	const char *type;                    /* "vbd": backend/vbd/..., device/vbd/... */
	/*
	 * No backend directory and no XenbusState: one device per domain whose
	 * keys are /local/domain/DOMID/TYPE, probed and connected as soon as
	 * they are there, until cut off or the domain goes. Xen's primary
	 * console is such a device (xenconsoled serves it outside xenbus).
	 */
	bool frontend_only;
	unsigned long max_devid;
	size_t priv_size;                    /* zeroed per device for the type: xenbus_priv */
	const struct kxd_devkind *stats_kind; /* what stats fills; NULL: no counters */
	/* Once, at the first domain: type-wide state. Nonzero (logged by it): the type is off, not retried. May be NULL. */
	int (*init)(struct backd *bd);
	/*
	 * Reads the toolstack's keys, takes what serving needs (opens the
	 * image...) and writes the feature keys; the layer then says InitWait.
	 * -EAGAIN: the toolstack is still writing (retried on the next change);
	 * other -errno: err says why (hotplug-error; Closed until removed).
	 */
	int (*probe)(struct xenbus_dev *d, char *err, size_t len);
	/* The frontend is Initialised/Connected: map its rings, bind its port. 0: Connected; -errno: err says why (Closing). */
	int (*connect)(struct xenbus_dev *d, char *err, size_t len);
	/* Releases what connect took (rings, port, threads). Only called when connected. */
	void (*disconnect)(struct xenbus_dev *d);
	/* The device is gone: releases what probe took. May be NULL. */
	void (*remove)(struct xenbus_dev *d);
	/* Fills vals (stats_kind's counters) of a connected device; the layer publishes them when they change. */
	void (*stats)(struct xenbus_dev *d, uint64_t *vals);
	/* SIGHUP: reopens a connected device's files (logrotate). May be NULL. */
	void (*reopen)(struct xenbus_dev *d);
};

/* One device, owned by the layer; the type's state follows it (xenbus_priv). */
struct xenbus_dev {
	const struct xenbus_type *t;
	struct backd *bd;
	uint32_t domid, devid;
	char be[96], fe[128];                /* backend and frontend directories */
	int state;                           /* our XenbusState as last written; 0 before the probe */
	bool probed;                         /* probe succeeded: InitWait reached once */
	bool connected;
	bool broken;                         /* cut off until the frontend resets (Initialising) */
	bool fe_watched, seen;
	bool state_unwritten;                /* the last state write failed (xenstore away): redone on reconnect */
	char token[32];                      /* of the watches on our backend and frontend directories */
	uint64_t created_ns;                 /* the domain's, in the counter files */
	uint64_t stats_written[KXD_DEVSTATS_MAX];
	bool stats_valid;
	struct xenbus_dev *next;
	max_align_t priv[];
};

static inline void *xenbus_priv(struct xenbus_dev *d)
{
	return d->priv;
}

/* ---- xenbus_state.c: the state machine and the key rule, with no xenstore (unit-tested) ---- */

/* What the machine decides from: our state, the keys, the frontend's state, what we hold. */
struct xenbus_state_in {
	int ours;                            /* our XenbusState as last written (InitWait or later: probed) */
	int be_key;                          /* backend/.../state as read now: the toolstack writes Closing to ask for the device back */
	bool online;                         /* backend/.../online (1 when missing) */
	int fe;                              /* the frontend's state; -1 missing or not a state */
	bool connected, broken;
};

struct xenbus_state_out {
	int state;                           /* ours from now on (the caller writes it if it changed) */
	bool disconnect;                     /* release the connection first */
	bool connect;                        /* then connect; on success state is Connected, on failure Closing */
	bool unbreak;                        /* the frontend reset: forget a cut-off */
};

/*
 * One step, as Linux's xenbus backends and xl's device removal expect:
 * InitWait until the frontend is Initialised or Connected, then connect;
 * frontend Closing -> us Closing, frontend Closed -> us Closed; a frontend
 * back at Initialising after a close or cut-off gets InitWait again. The
 * toolstack's close (online 0, or Closing written to our state key) makes
 * us disconnect and go Closing, then Closed once the frontend has closed
 * or never started. Idempotent: the same input gives no new action.
 */
void xenbus_state_next(const struct xenbus_state_in *in, struct xenbus_state_out *out);

/*
 * The one rule for numbers in keys a guest or toolstack may have written:
 * 1 to 20 decimal digits and nothing else (no sign, space, 0x, empty), a
 * value at most max. 0, or -EINVAL / -ERANGE with why (len bytes) naming
 * key and value.
 */
int xenbus_state_parse_ulong(const char *key, const char *text, unsigned long max, unsigned long *out,
                             char *why, size_t len);

/* ---- xenbus.c: xenstore ---- */

/* Longest value a reader accepts (longer: treated as malformed). */
#define XENBUS_VALUE_MAX 1024

/*
 * Opens the daemon's one xenstore connection (bd->xs), retrying for 10 s
 * as the daemons start in any order, watches @introduceDomain and
 * @releaseDomain, and dispatches every watch event: domain changes to
 * backd_domains_scan, backend and frontend directories to their devices.
 * A connection lost later (kxenstored restarted) is reopened with backoff
 * while connected devices keep running; meanwhile bd->xs is the dead
 * handle, whose calls fail, and then backd_domains_rewatch sets every
 * watch again and the domains are rescanned.
 */
int xenbus__open(struct backd *bd);
/* Whether the xenstore connection is up (not waiting to reconnect). */
bool xenbus__connected(void);
/*
 * After a reconnect: watches the type backd_backends[slot]'s directory of
 * one domain and its devices' frontends again (each watch fires once, which
 * rescans), and writes the states whose writes the loss swallowed.
 */
void xenbus__rewatch(struct backd *bd, struct backd_dom *dom, unsigned slot);

/*
 * The type backd_backends[slot] for one domain (domains.c): attach starts
 * watching its devices (0, or -EAGAIN while the type is off after its
 * init failed), detach lets them go, reopen passes SIGHUP on.
 */
int xenbus__attach(struct backd *bd, struct backd_dom *dom, unsigned slot);
void xenbus__detach(struct backd *bd, struct backd_dom *dom, unsigned slot);
void xenbus__reopen(struct backd *bd, struct backd_dom *dom, unsigned slot);

/* dir/key as a malloc'd string; NULL if missing, unreadable or longer than XENBUS_VALUE_MAX. */
char *xenbus_read(struct backd *bd, const char *dir, const char *key);
/*
 * dir/key by xenbus_state_parse_ulong's rule: 0, -ENOENT if missing, or
 * -EINVAL/-ERANGE with xenbus_why() naming the key and value.
 */
int xenbus_read_ulong(struct backd *bd, const char *dir, const char *key, unsigned long max,
                      unsigned long *val);
/* The message of the last failed xenbus_read_ulong (the loop is single-threaded). */
const char *xenbus_why(void);
/* Writes dir/key = printf(fmt, ...); logs and returns -errno on failure. */
int xenbus_write(struct backd *bd, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Logs "dDOMID: TYPE DEVID: message" ("dDOMID: TYPE: message" for a frontend-only type). */
void xenbus_dev_log(struct xenbus_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The data path found the frontend misbehaving: logs why, disconnects,
 * writes the error key and goes Closing; the device stays cut off until
 * the frontend resets to Initialising (a frontend-only device: for good).
 * The type's disconnect sees d->broken already set.
 */
void xenbus_dev_fatal(struct xenbus_dev *d, const char *why);

#endif
