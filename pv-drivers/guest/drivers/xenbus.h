/* The guest's xenbus client: xenstore requests, watches and transactions over the store ring (docs/guest-xenbus.md). */
#ifndef GUEST_XENBUS_H
#define GUEST_XENBUS_H

#include "kernel.h"

/*
 * Every function returns 0 (or a count) or a negative Xen errno: the
 * daemon's ERROR replies mapped from their names (-XEN_ENOENT, -XEN_EAGAIN,
 * ...), -XEN_ETIMEDOUT when no reply came in time, -XEN_EIO for a broken or
 * malformed stream, -XEN_E2BIG for a request or reply over
 * XENSTORE_PAYLOAD_MAX, -XEN_ENODEV before xenbus_init succeeded.
 *
 * Paths are absolute ("/local/domain/3/name") or relative to the domain's
 * home (/local/domain/<self>), which the daemon resolves as Xen's does.
 * Call these from threads of vCPU 0 only (the store port notifies vCPU 0
 * and the scheduler has no cross-vCPU wake-ups); several threads may have
 * requests in flight at once. They sleep, so never call them from an event
 * handler. Watch callbacks run in the "xenwatch" thread and may call them.
 */

typedef uint32_t xenbus_transaction_t;
#define XBT_NIL ((xenbus_transaction_t)0)

/* Default time a request waits for its reply. */
#define XENBUS_TIMEOUT_NS (10 * 1000000000ULL)

/*
 * Binds the store event channel from start_info and starts the "xenbus"
 * (ring reader) and "xenwatch" (callbacks) threads on vCPU 0. Never blocks
 * on the daemon: a domain nobody introduced simply gets no replies.
 * Returns 0, -XEN_ENODEV (no store page), -XEN_ENOMEM.
 */
int xenbus_init(void);
bool xenbus_ready(void);

/* *value gets a NUL-terminated malloc'd copy (free it); *len, if not NULL, its length. */
int xenbus_read(xenbus_transaction_t t, const char *path, char **value, unsigned *len);
int xenbus_write(xenbus_transaction_t t, const char *path, const char *value);
int xenbus_mkdir(xenbus_transaction_t t, const char *path);
int xenbus_rm(xenbus_transaction_t t, const char *path);
/*
 * *list gets a NULL-terminated array of the children's names in one
 * allocation (a single free(*list)); *n their number.
 */
int xenbus_directory(xenbus_transaction_t t, const char *path, char ***list, unsigned *n);
/* Permissions as xenstored spells them ("n0", "r3", ...), allocated as for xenbus_directory. */
int xenbus_get_perms(xenbus_transaction_t t, const char *path, char ***list, unsigned *n);
/* Reads an unsigned decimal or 0x-hex value; -XEN_EINVAL if the node holds something else. */
int xenbus_read_ulong(xenbus_transaction_t t, const char *path, unsigned long *val);
/* Formats and writes (at most 256 bytes of value). */
__printf(3, 4) int xenbus_printf(xenbus_transaction_t t, const char *path, const char *fmt, ...);

/*
 * The same with an explicit reply timeout (0 = XENBUS_TIMEOUT_NS) for
 * callers that must wait longer, e.g. for a daemon that has not yet
 * introduced the domain.
 */
int xenbus_write_timeout(xenbus_transaction_t t, const char *path, const char *value,
			 uint64_t timeout_ns);

/*
 * Watch callback, run in the xenwatch thread with the path that changed
 * (as the daemon reported it) and the registration's token. Called once
 * when the watch is set (Xen fires every new watch) and on every change
 * at or under the watched path.
 */
typedef void (*xenbus_watch_fn)(const char *path, const char *token, void *arg);

/*
 * Registers a watch. Events name only the token, so tokens must be unique
 * among this guest's watches; path and token are copied. Returns 0,
 * -XEN_EEXIST for a token in use, or the daemon's error (the watch is then
 * not registered).
 */
int xenbus_watch(const char *path, const char *token, xenbus_watch_fn fn, void *arg);
/*
 * Removes the watch with this token; once this returns its callback is not
 * running and will not run again (called from the callback itself, it
 * returns at once and the watch is freed when the callback returns).
 */
int xenbus_unwatch(const char *token);

int xenbus_transaction_start(xenbus_transaction_t *t);
/* Commits (abort false) or discards; a commit may fail with -XEN_EAGAIN on a conflict. */
int xenbus_transaction_end(xenbus_transaction_t t, bool abort);
/*
 * Runs fn in a fresh transaction and commits it, starting over while the
 * commit (or fn) fails with -XEN_EAGAIN, at most max_tries times (0 = 16).
 * fn returning any other nonzero value aborts the transaction and that
 * value is returned.
 * *tries, if not NULL, gets the number of attempts made.
 */
int xenbus_transaction_run(int (*fn)(xenbus_transaction_t t, void *arg), void *arg,
			   unsigned max_tries, unsigned *tries);

/* Counters for benchmarks and tests. */
struct xenbus_stats {
	uint64_t requests, replies, errors, timeouts, watch_events, notifies, stray;
};
void xenbus_get_stats(struct xenbus_stats *st);

#endif
