/* log.c's interface: the hypervisor log ring that `kxl dmesg` reads. */
#ifndef KXEN_HV_LOG_H
#define KXEN_HV_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Initialises the log; echo_fd >= 0 also receives every line (stderr or a file). Call once, first. */
void hvlog_init(int echo_fd);
/* Appends one line (a trailing newline is added if missing, longer lines cut at 1 KiB). Any thread. */
void hvlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A budget for lines a guest can cause (Xen's printk_ratelimit, but per
 * domain so one guest's flood cannot silence another's): HVLOG_LIMIT_BURST
 * lines at once, then one per HVLOG_LIMIT_MS. Zero-initialised is full.
 */
#define HVLOG_LIMIT_BURST 10
#define HVLOG_LIMIT_MS 5000
struct hvlog_limit {
	uint64_t credit_ms;      /* banked milliseconds; a line costs HVLOG_LIMIT_MS */
	uint64_t last_ns;        /* monotonic time of the last refill; 0: never used (full) */
	uint64_t suppressed;     /* lines refused since the last one logged */
};
/*
 * Appends "(XEN) d<domid>: <text>" if l's budget allows, first a line
 * "(XEN) d<domid>: N messages suppressed" if lines were refused since the
 * last one; else counts the line as suppressed. Any thread (l is guarded by
 * the log's lock). Returns whether the line was logged.
 */
bool hvlog_limited(struct hvlog_limit *l, unsigned domid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Logs l's pending "N messages suppressed" line, if any (a domain's end). */
void hvlog_limit_flush(struct hvlog_limit *l, unsigned domid);
/*
 * Copies log text from *cursor into buf (at most len - 1 bytes, then a
 * NUL) and advances *cursor; *lost counts bytes overwritten before they
 * could be read. Returns the bytes copied. Any thread.
 */
size_t hvlog_read(uint64_t *cursor, char *buf, size_t len, uint64_t *lost);

#endif
